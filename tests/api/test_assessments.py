"""/api/v1/patients/{id}/assessments: list (audited) and record."""

from __future__ import annotations

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import HairLossAssessment
from tests.api.helpers import field_messages, nothing_written, patient_url, problem
from tests.conftest import WRITERS

VALID = {
    "assessed_on": "2026-09-15",
    "ludwig": "II",
    "sinclair": "3",
    "affected_zones": ["mid_scalp", "vertex", "vertex"],
    "notes": "Widened part.",
}


def url(patient):
    return patient_url(patient.pk) + "/assessments"


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_record_and_everyone_on_staff_reads(api_for, world, persona):
    response = api_for(persona).post(url(world.acme_patient), VALID)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ludwig"] == "II"
    assert body["affected_zones"] == ["mid_scalp", "vertex"]  # repeats dropped
    assert body["assessed_by"] == world.persona(persona).email
    listed = api_for("audrey").get(url(world.acme_patient))
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [body["id"]]
    assert AuditEvent.objects.filter(action="assessment.create").count() == 1


def test_reading_the_history_is_a_chart_read(api_for, world):
    client = api_for("paul")
    client.get(url(world.acme_patient))
    assert (
        AuditEvent.objects.filter(
            action="patient.read", patient=world.acme_patient, actor=world.paul
        ).count()
        == 1
    )


def test_the_auditor_cannot_record(api_for, world):
    client = api_for("audrey")
    with nothing_written():
        problem(client.post(url(world.acme_patient), VALID), 403)


def test_another_organisation_gets_404(api_for, world):
    client = api_for("oscar")
    with nothing_written():
        problem(client.post(url(world.acme_patient), VALID), 404)
        problem(client.get(url(world.acme_patient)), 404)


def test_no_token_is_401(api_for, world):
    problem(api_for("anonymous").get(url(world.acme_patient)), 401)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"assessed_on": "2999-01-01"}, "assessed_on", "cannot be dated in the future"),
        ({"assessed_on": 20260101}, "assessed_on", "Give the date as text"),
        ({"norwood": "VIII"}, "norwood", "use one of"),
        ({"sinclair": 3}, "sinclair", "valid string"),
        ({"affected_zones": ["knee"]}, "affected_zones", "Unknown zone 'knee'"),
        ({"affected_zones": "vertex"}, "affected_zones", "valid list"),
        ({"notes": "x" * 5001}, "notes", "too long"),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_bad_input_is_a_problem_with_the_field_and_writes_nothing(
    api_for, world, change, field, message
):
    client = api_for("paul")
    with nothing_written():
        response = client.post(url(world.acme_patient), {**VALID, **change})
    body = problem(response, 422)
    assert any(message in m for m in field_messages(body, field)), body
    assert not HairLossAssessment.objects.exists()


def test_an_empty_assessment_is_refused(api_for, world):
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(url(world.acme_patient), {"assessed_on": "2026-09-15"}), 422)
    assert "at least one stage" in body["detail"]


def test_scarring_signs_round_trip_and_must_be_a_boolean(api_for, world):
    client = api_for("paul")
    created = client.post(url(world.acme_patient), {**VALID, "scarring_alopecia_signs": True})
    assert created.status_code == 201
    assert created.json()["scarring_alopecia_signs"] is True
    with nothing_written():
        body = problem(
            client.post(url(world.acme_patient), {**VALID, "scarring_alopecia_signs": "yes"}),
            422,
        )
    assert field_messages(body, "scarring_alopecia_signs")
