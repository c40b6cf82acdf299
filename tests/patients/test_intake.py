"""The intake questionnaire: versioned, unanswered kept as unknown, shown on the chart."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.intake import YES_NO_QUESTIONS
from mesoclinic.patients.models import PatientIntake
from mesoclinic.patients.services import intake_record
from tests.conftest import WRITERS

FILLED = {
    "onset": "2019",
    "patterns": ["crown", "diffuse"],
    "shedding": "increased",
    "family_history": "yes",
    "previous_treatments": ["minoxidil_topical"],
    "previous_treatments_notes": "5% foam for a year.",
    "allergy_status": "some",
    "allergen_codes": ["lidocaine"],
    "allergy_notes": "Rash after dental anaesthetic.",
    "notes": "",
    **{name: "no" for name in YES_NO_QUESTIONS},
    "pregnant": "yes",
    "could_become_pregnant": "yes",
}


def new_url(patient):
    return reverse("patients:intake_new", args=[patient.pk])


def tab_url(patient):
    return reverse("patients:chart_tab", args=[patient.pk, "intake"])


def counts():
    return PatientIntake.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("persona", WRITERS)
def test_staff_who_write_save_an_intake(client_for, world, persona):
    client = client_for(persona)
    assert client.get(new_url(world.acme_patient)).status_code == 200
    response = client.post(new_url(world.acme_patient), FILLED)
    assert response.status_code == 302
    intake = PatientIntake.objects.get(patient=world.acme_patient)
    assert intake.pregnant is True and intake.diabetes is False
    assert intake.patterns == ["crown", "diffuse"]
    assert intake.allergen_codes == ["lidocaine"]
    assert intake.recorded_by == world.persona(persona)
    event = AuditEvent.objects.get(action="intake.create")
    assert event.patient == world.acme_patient
    assert event.changes["pregnant"] == {"new": True}
    assert event.changes["diabetes"] == {"new": False}


def test_unanswered_questions_are_unknown_not_no(client_for, world):
    client = client_for("paul")
    assert client.post(new_url(world.acme_patient), {"onset": "2020"}).status_code == 302
    intake = PatientIntake.objects.get()
    assert all(getattr(intake, name) is None for name in YES_NO_QUESTIONS)
    assert intake.family_history is None
    answers = intake.answers()
    assert answers["pregnant"] is None
    assert answers["sudden_diffuse_shedding"] is None
    page = client.get(tab_url(world.acme_patient)).content.decode()
    # Every yes/no question, plus shedding and allergies.
    assert f"{len(YES_NO_QUESTIONS) + 2} questions not answered" in page
    assert intake.allergen_codes is None


def test_saving_again_keeps_the_earlier_intake_and_the_chart_shows_the_latest(client_for, world):
    client = client_for("paul")
    client.post(new_url(world.acme_patient), FILLED)
    form = client.get(new_url(world.acme_patient)).context["form"]
    assert form.initial["diabetes"] == "no"  # prefilled from the latest
    assert form.initial["allergy_status"] == "some"
    assert form.initial["allergen_codes"] == ["lidocaine"]
    # Answers that hold only for a while are asked again, not carried forward.
    assert form.initial["pregnant"] == ""
    assert form.initial["nsaid_last_48h"] == ""
    assert client.post(new_url(world.acme_patient), {**FILLED, "pregnant": "no"}).status_code == 302
    first, second = PatientIntake.objects.order_by("pk")
    assert first.pregnant is True and second.pregnant is False
    page = client.get(tab_url(world.acme_patient)).content.decode()
    assert "Earlier intakes" in page
    overview = client.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    text = overview.content.decode()
    assert '<li class="flag">Pregnant now</li>' not in text  # the latest says no
    assert '<li class="flag">Could become pregnant</li>' in text


def test_the_chart_flags_yes_answers(client_for, world):
    client = client_for("fiona")
    client.post(new_url(world.acme_patient), FILLED)
    overview = client.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    assert overview.status_code == 200
    text = overview.content.decode()
    assert '<li class="flag">Pregnant now</li>' in text
    assert '<li class="flag">Could become pregnant</li>' in text


def test_the_auditor_reads_but_cannot_write(client_for, world):
    client = client_for("audrey")
    before = counts()
    assert client.get(tab_url(world.acme_patient)).status_code == 200
    assert client.get(new_url(world.acme_patient)).status_code == 403
    assert client.post(new_url(world.acme_patient), FILLED).status_code == 403
    assert counts()[0] == before[0]


def test_another_organisation_gets_404(client_for, world):
    client = client_for("oscar")
    assert client.get(new_url(world.acme_patient)).status_code == 404
    assert client.post(new_url(world.acme_patient), FILLED).status_code == 404
    assert not PatientIntake.objects.exists()


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_or_deactivated_go_to_sign_in(client_for, world, persona):
    response = client_for(persona).post(new_url(world.acme_patient), FILLED)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not PatientIntake.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pregnant": "maybe"}, "Select a valid choice"),
        ({"patterns": ["bald"]}, "Select a valid choice"),
        ({"shedding": "lots"}, "Select a valid choice"),
        ({"allergen_codes": ["peanuts"]}, "Select a valid choice"),
        ({"allergy_status": "none"}, "Components are ticked"),
        ({"allergy_status": "some", "allergen_codes": []}, "Tick the components"),
        ({"notes": "x" * 5001}, "too long"),
        ({"onset": "x" * 101}, "at most 100 characters"),
        ({"allergy_notes": "bell\x07"}, "control characters"),
    ],
)
def test_bad_answers_are_explained_and_nothing_is_written(client_for, world, change, message):
    client = client_for("paul")
    before = counts()
    response = client.post(new_url(world.acme_patient), {**FILLED, **change})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert counts() == before


def test_the_intake_tab_costs_the_same_with_1_and_25_intakes(client_for, world):
    client = client_for("paul")
    intake_record(patient=world.acme_patient, answers={"pregnant": True}, acting_user=world.paul)
    client.get(tab_url(world.acme_patient))
    with CaptureQueriesContext(connection) as few:
        client.get(tab_url(world.acme_patient))
    for _ in range(24):
        intake_record(
            patient=world.acme_patient, answers={"diabetes": True}, acting_user=world.fiona
        )
    with CaptureQueriesContext(connection) as many:
        client.get(tab_url(world.acme_patient))
    assert len(many) == len(few)


def test_the_service_refuses_unknown_fields(world):
    with pytest.raises(ValueError, match="colour"):
        intake_record(patient=world.acme_patient, answers={"colour": "red"}, acting_user=world.paul)


@pytest.mark.parametrize(
    ("status", "codes", "stored"),
    [("", [], None), ("none", [], []), ("some", ["procaine"], ["procaine"])],
)
def test_allergies_are_not_asked_none_known_or_listed(client_for, world, status, codes, stored):
    data = {**FILLED, "allergy_status": status, "allergen_codes": codes}
    assert client_for("paul").post(new_url(world.acme_patient), data).status_code == 302
    assert PatientIntake.objects.get().allergen_codes == stored


def test_opening_the_form_with_earlier_answers_is_a_chart_read(client_for, world):
    client = client_for("paul")
    client.get(new_url(world.acme_patient))
    assert (
        AuditEvent.objects.filter(
            action="patient.read", patient=world.acme_patient, actor=world.paul
        ).count()
        == 1
    )


def test_a_form_body_that_is_not_utf8_is_refused(client_for, world):
    client = client_for("paul")
    before = counts()
    response = client.post(
        new_url(world.acme_patient),
        "onset=caf\xe9".encode("latin-1"),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 422
    assert "not sent as UTF-8" in response.content.decode()
    assert counts() == before
