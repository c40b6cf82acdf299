"""/api/v1/patients/{id}/intakes: list (audited) and save a new version."""

from __future__ import annotations

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.intake import YES_NO_QUESTIONS
from mesoclinic.patients.models import PatientIntake
from tests.api.helpers import field_messages, nothing_written, patient_url, problem
from tests.conftest import WRITERS

ANSWERS = {
    "onset": "2021",
    "patterns": ["crown"],
    "pregnant": False,
    "diabetes": True,
    "allergen_codes": [],
}


def url(patient):
    return patient_url(patient.pk) + "/intakes"


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_save_a_version_and_staff_read_them(api_for, world, persona):
    response = api_for(persona).post(url(world.acme_patient), ANSWERS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["answers"]["diabetes"] is True
    assert body["answers"]["kidney_disease"] is None  # not sent: not answered
    assert body["answers"]["allergen_codes"] == []
    assert body["answered_yes"] == ["Diabetes"]
    # All yes/no questions but the two sent, plus shedding (allergies were answered: none).
    assert body["unanswered"] == len(YES_NO_QUESTIONS) - 2 + 1
    listed = api_for("audrey").get(url(world.acme_patient)).json()
    assert [i["id"] for i in listed] == [body["id"]]


def test_listing_is_a_chart_read(api_for, world):
    api_for("paul").get(url(world.acme_patient))
    assert AuditEvent.objects.filter(action="patient.read", actor=world.paul).count() == 1


def test_the_auditor_cannot_save(api_for, world):
    client = api_for("audrey")
    with nothing_written():
        problem(client.post(url(world.acme_patient), ANSWERS), 403)
    assert not PatientIntake.objects.exists()


def test_another_organisation_gets_404(api_for, world):
    client = api_for("oscar")
    with nothing_written():
        problem(client.post(url(world.acme_patient), ANSWERS), 404)
        problem(client.get(url(world.acme_patient)), 404)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"pregnant": "yes"}, "pregnant", "valid boolean"),
        ({"patterns": ["bald"]}, "patterns", "Unknown pattern 'bald'"),
        ({"shedding": "lots"}, "shedding", "Unknown shedding 'lots'"),
        ({"allergen_codes": ["peanuts"]}, "allergen_codes", "Unknown allergen 'peanuts'"),
        ({"notes": "x" * 5001}, "notes", "too long"),
        ({"favourite_colour": "red"}, "favourite_colour", "Unknown field."),
    ],
)
def test_bad_answers_are_a_problem_naming_the_field(api_for, world, change, field, message):
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(url(world.acme_patient), {**ANSWERS, **change}), 422)
    assert any(message in m for m in field_messages(body, field)), body
    assert not PatientIntake.objects.exists()
