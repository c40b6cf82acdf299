"""Hair-loss assessments on the chart: recorded, kept as history, shown newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import HairLossAssessment
from mesoclinic.patients.services import AssessmentDetails, assessment_record
from tests.conftest import STAFF, WRITERS

VALID = {
    "assessed_on": "2026-10-01",
    "norwood": "IIIa",
    "basp_basic": "M2",
    "basp_vertex": "V1",
    "affected_zones": ["frontal_hairline", "vertex"],
    "notes": "Recession at both temples.\nMild vertex thinning.",
}


def new_url(patient):
    return reverse("patients:assessment_new", args=[patient.pk])


def tab_url(patient):
    return reverse("patients:chart_tab", args=[patient.pk, "assessment"])


def writes():
    return HairLossAssessment.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("persona", WRITERS)
def test_staff_who_write_record_an_assessment(client_for, world, persona):
    client = client_for(persona)
    assert client.get(new_url(world.acme_patient)).status_code == 200
    response = client.post(new_url(world.acme_patient), VALID)
    assert response.status_code == 302
    assert response["Location"] == tab_url(world.acme_patient)
    assessment = HairLossAssessment.objects.get(patient=world.acme_patient)
    assert assessment.organisation == world.acme
    assert assessment.assessed_by == world.persona(persona)
    assert assessment.norwood == "IIIa"
    assert assessment.affected_zones == ["frontal_hairline", "vertex"]
    event = AuditEvent.objects.get(action="assessment.create")
    assert event.patient == world.acme_patient
    assert event.changes["norwood"] == {"new": "IIIa"}
    assert event.changes["affected_zones"] == {"new": "frontal_hairline, vertex"}


def test_the_auditor_reads_the_history_but_cannot_record(client_for, world):
    client = client_for("audrey")
    before = writes()
    assert client.get(tab_url(world.acme_patient)).status_code == 200
    assert client.get(new_url(world.acme_patient)).status_code == 403
    assert client.post(new_url(world.acme_patient), VALID).status_code == 403
    assert writes()[0] == before[0]
    assert "Record an assessment" not in client.get(tab_url(world.acme_patient)).content.decode()


def test_another_organisation_gets_404_and_writes_nothing(client_for, world):
    client = client_for("oscar")
    before = writes()
    assert client.get(new_url(world.acme_patient)).status_code == 404
    assert client.post(new_url(world.acme_patient), VALID).status_code == 404
    assert client.get(tab_url(world.acme_patient)).status_code == 404
    assert writes()[0] == before[0]


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_and_deactivated_people_are_sent_to_sign_in(client_for, world, persona):
    client = client_for(persona)
    response = client.post(new_url(world.acme_patient), VALID)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not HairLossAssessment.objects.exists()


def test_a_portal_patient_gets_403(client_for, world):
    assert client_for("pat").get(new_url(world.pat_patient)).status_code == 403


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"assessed_on": ""}, "Assessed on is required."),
        ({"assessed_on": "2999-01-01"}, "cannot be dated in the future"),
        ({"assessed_on": "yesterday"}, "Enter a valid date"),
        ({"norwood": "VIII"}, "Select a valid choice"),
        ({"sinclair": "7"}, "Select a valid choice"),
        ({"affected_zones": ["knee"]}, "Select a valid choice"),
        ({"notes": "x" * 5001}, "too long"),
        ({"notes": "bad\x00byte"}, "Null characters are not allowed."),
        ({"notes": "bell\x07"}, "control characters"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(client_for, world, change, message):
    client = client_for("paul")
    before = writes()
    response = client.post(new_url(world.acme_patient), {**VALID, **change})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert writes() == before


def test_an_empty_assessment_is_refused(client_for, world):
    client = client_for("paul")
    before = writes()
    response = client.post(new_url(world.acme_patient), {"assessed_on": "2026-10-01"})
    assert response.status_code == 422
    assert "Record at least one stage, an affected zone or a note." in response.content.decode()
    assert writes() == before


def test_history_is_newest_first_and_the_overview_shows_the_latest(client_for, world):
    for day, grade in [(dt.date(2025, 1, 10), "II"), (dt.date(2026, 3, 2), "III")]:
        assessment_record(
            patient=world.acme_patient,
            details=AssessmentDetails(assessed_on=day, norwood=grade),
            acting_user=world.paul,
        )
    client = client_for("fiona")
    page = client.get(tab_url(world.acme_patient)).content.decode()
    assert page.index("2 Mar 2026") < page.index("10 Jan 2025")
    overview = client.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    text = overview.content.decode()
    assert "Latest assessment" in text and "2 Mar 2026" in text
    assert "10 Jan 2025" not in text


def test_html_in_notes_is_shown_escaped(client_for, world):
    client = client_for("paul")
    client.post(new_url(world.acme_patient), {**VALID, "notes": "<script>alert(1)</script>"})
    page = client.get(tab_url(world.acme_patient)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize("persona", STAFF)
def test_the_assessment_tab_costs_the_same_with_2_and_30_assessments(client_for, world, persona):
    client = client_for(persona)

    def add(n):
        for i in range(n):
            assessment_record(
                patient=world.acme_patient,
                details=AssessmentDetails(
                    assessed_on=dt.date(2024, 1, 1) + dt.timedelta(days=i),
                    ludwig="II",
                    affected_zones=("vertex",),
                ),
                acting_user=[world.paul, world.fiona][i % 2],
            )

    add(2)
    client.get(tab_url(world.acme_patient))
    with CaptureQueriesContext(connection) as few:
        assert client.get(tab_url(world.acme_patient)).status_code == 200
    add(28)
    with CaptureQueriesContext(connection) as many:
        assert client.get(tab_url(world.acme_patient)).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(("answer", "stored"), [("yes", True), ("no", False), ("", None)])
def test_signs_of_scarring_alopecia_are_recorded_as_yes_no_or_not_assessed(
    client_for, world, answer, stored
):
    client = client_for("paul")
    response = client.post(
        new_url(world.acme_patient), {**VALID, "scarring_alopecia_signs": answer}
    )
    assert response.status_code == 302
    assert HairLossAssessment.objects.get().scarring_alopecia_signs is stored
    page = client.get(reverse("patients:chart", args=[world.acme_patient.pk])).content.decode()
    assert ("Yes: refer before treatment" in page) is (stored is True)


def test_scarring_signs_alone_make_an_assessment(client_for, world):
    response = client_for("paul").post(
        new_url(world.acme_patient), {"assessed_on": "2026-10-01", "scarring_alopecia_signs": "no"}
    )
    assert response.status_code == 302
