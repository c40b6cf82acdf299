"""The side-effect pages and the safety page: who may do what (every persona), bad input
shown on the field with nothing saved, the audit of reads, the chart's tab and header,
the dashboard, and query counts that do not grow with the data.

Rita's first session was signed by Paul today, 2 December 2026, 09:00 at Acme City; the
clock is 21:00 London (``signed_visit``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from mesoclinic.core.models import AuditEvent
from mesoclinic.safety.models import AdverseEvent, AdverseEventPhoto, Outcome
from mesoclinic.safety.services import adverse_event_follow_up
from tests.patients.helpers import assert_login_redirect, field_errors, page_text
from tests.safety.conftest import EVENING, itching, record
from tests.treatments.test_images import jpeg_with_exif

SIGNED_OUT = ["anonymous", "dora"]
CLINICIANS = ["paul", "alice"]
NO_CLINICAL_WRITES = ["fiona", "audrey"]


def event_form(session, **overrides):
    data = {
        "term": "pruritus",
        "term_text": "",
        "sessions": [str(session.appointment_id)],
        "onset_at": "2026-12-02T20:00",
        "reported_by": "patient",
        "grade": "1",
        "relation": "possible",
        "actions": ["none"],
        "action_note": "",
        "description": "Itching over the vertex.",
        "responsible": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("who", SIGNED_OUT)
def test_signed_out_people_are_sent_to_the_login_page(client_for, world, signed_visit, who):
    event = record(world, signed_visit)
    for path in (
        reverse("safety_event", args=[event.pk]),
        reverse("safety_event_new", args=[signed_visit.patient_id]),
        reverse("safety_home"),
    ):
        assert_login_redirect(client_for(who).get(path), path)


def test_another_organisation_gets_404_everywhere(client_for, world, signed_visit):
    event = record(world, signed_visit)
    oscar = client_for("oscar")
    assert oscar.get(reverse("safety_event", args=[event.pk])).status_code == 404
    assert oscar.get(reverse("safety_event_edit", args=[event.pk])).status_code == 404
    assert oscar.get(reverse("safety_event_new", args=[signed_visit.patient_id])).status_code == 404
    for name in ("safety_follow_up", "safety_resolve", "safety_review", "safety_photo_add"):
        response = oscar.post(reverse(name, args=[event.pk]), {"note": "x" * 20})
        assert response.status_code == 404, name
    # Oscar's own safety page counts nothing of Acme's.
    response = oscar.get(reverse("safety_home"))
    assert response.status_code == 200
    assert "No data: no signed session in this period." in page_text(response)


@pytest.mark.parametrize("who", NO_CLINICAL_WRITES)
def test_front_desk_and_auditor_read_but_never_write(client_for, world, signed_visit, who):
    event = record(world, signed_visit)
    client = client_for(who)
    response = client.get(reverse("safety_event", args=[event.pk]))
    assert response.status_code == 200
    assert "Add a follow-up" not in page_text(response)
    assert (
        client.get(reverse("safety_event_new", args=[signed_visit.patient_id])).status_code == 403
    )
    assert client.get(reverse("safety_event_edit", args=[event.pk])).status_code == 403
    response = client.post(
        reverse("safety_resolve", args=[event.pk]),
        {"close-outcome": "resolved", "close-resolved_on": "2026-12-02"},
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.is_open


def test_the_safety_page_is_for_clinicians_and_auditors_not_the_front_desk(client_for, world):
    assert client_for("fiona").get(reverse("safety_home")).status_code == 403
    assert client_for("fiona").get(reverse("safety_csv")).status_code == 403
    for who in ("paul", "alice", "audrey"):
        assert client_for(who).get(reverse("safety_home")).status_code == 200, who


# --- Recording on the page --------------------------------------------------------------------


@pytest.mark.parametrize("who", CLINICIANS)
def test_a_clinician_records_a_side_effect_on_the_page(client_for, world, signed_visit, who):
    client = client_for(who)
    page = client.get(
        reverse("safety_event_new", args=[signed_visit.patient_id])
        + f"?visit={signed_visit.appointment_id}"
    )
    assert page.status_code == 200
    text = page_text(page)
    # The CTCAE grades are described where they are chosen.
    assert "Grade 1" in text and "Grade 5" in text and "Death" in text
    response = client.post(
        reverse("safety_event_new", args=[signed_visit.patient_id]), event_form(signed_visit)
    )
    event = AdverseEvent.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("safety_event", args=[event.pk])
    assert event.term == "pruritus" and event.grade == 1
    # The onset was read in the clinic's time zone.
    assert event.onset_at == EVENING
    assert event.recorded_by == getattr(world, who)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"onset_at": "2026-12-02T08:00"}, "onset_at", "before the session"),
        ({"onset_at": "2026-12-05T08:00"}, "onset_at", "future"),
        ({"grade": "7"}, "grade", "between 1 and 5"),
        ({"grade": None}, "grade", "required"),
        ({"term": "other"}, "term_text", "Say what"),
        ({"sessions": None}, "sessions", "required"),
        ({"actions": ["none", "cold_compress"]}, "actions", "cannot be combined"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_nothing_is_saved(
    client_for, world, signed_visit, overrides, field, message
):
    before = AuditEvent.objects.exclude(action__startswith="auth.").count()
    response = client_for("paul").post(
        reverse("safety_event_new", args=[signed_visit.patient_id]),
        event_form(signed_visit, **overrides),
    )
    assert response.status_code == 200
    text = field_errors(response, field) or page_text(response)
    assert message in text
    assert AdverseEvent.objects.count() == 0
    assert AuditEvent.objects.exclude(action__startswith="auth.").count() == before


def test_a_session_of_another_patient_cannot_be_chosen(client_for, world, signed_visit):
    other = world.acme_patient
    response = client_for("paul").post(
        reverse("safety_event_new", args=[other.pk]), event_form(signed_visit)
    )
    # Ana has no signed session at all: the page says so and saves nothing.
    assert response.status_code == 302
    assert AdverseEvent.objects.count() == 0


def test_follow_up_and_close_on_the_detail_page(client_for, world, signed_visit):
    event = record(world, signed_visit)
    client = client_for("paul")
    response = client.post(
        reverse("safety_follow_up", args=[event.pk]),
        {"follow_up-note": "Phoned: less itchy.", "follow_up-grade": ""},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("safety_resolve", args=[event.pk]),
        {"close-outcome": "resolved", "close-resolved_on": "2026-12-01"},
    )
    assert response.status_code == 422
    assert "before the onset" in field_errors(response, "close-resolved_on")
    response = client.post(
        reverse("safety_resolve", args=[event.pk]),
        {"close-outcome": "resolved", "close-resolved_on": "2026-12-02", "close-note": "Gone."},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.outcome == Outcome.RESOLVED
    page = page_text(client.get(reverse("safety_event", args=[event.pk])))
    assert "Phoned: less itchy." in page and "Gone." in page


def test_opening_a_side_effect_is_a_chart_read(client_for, world, signed_visit):
    event = record(world, signed_visit)
    client_for("audrey").get(reverse("safety_event", args=[event.pk]))
    read = AuditEvent.objects.get(action="adverse_event.read")
    assert read.actor == world.audrey and read.patient == signed_visit.patient


# --- The chart and the dashboard --------------------------------------------------------------


def test_the_chart_header_and_dashboard_show_a_prolonged_side_effect(
    client_for, world, signed_visit, fixed_clock
):
    event = record(world, signed_visit)
    chart = reverse("patients:chart", args=[signed_visit.patient_id])
    client = client_for("paul")
    assert "longer than expected" not in page_text(client.get(chart))
    fixed_clock.set(EVENING + dt.timedelta(days=3))
    text = page_text(client.get(chart))
    assert "Side effect lasting longer than expected: Pruritus (itching)" in text
    dashboard = page_text(client.get(reverse("dashboard")))
    assert "Prolonged" in dashboard and signed_visit.patient.full_name in dashboard
    # Alice is an admin: she sees the organisation's; Fiona (front desk) sees no such card.
    assert "Prolonged" in page_text(client_for("alice").get(reverse("dashboard")))
    assert "Prolonged" not in page_text(client_for("fiona").get(reverse("dashboard")))
    tab = page_text(
        client.get(reverse("patients:chart_tab", args=[event.patient_id, "side-effects"]))
    )
    assert "Prolonged" in tab and "Grade 1" in tab


def test_a_serious_side_effect_shows_on_the_chart_as_blocking(client_for, world, signed_visit):
    record(world, signed_visit, itching(grade=3))
    text = page_text(
        client_for("fiona").get(reverse("patients:chart", args=[signed_visit.patient_id]))
    )
    assert "next session is blocked" in text


def test_the_side_effects_tab_costs_the_same_queries_for_one_event_or_many(
    client_for, world, signed_visit
):
    client = client_for("paul")
    path = reverse("patients:chart_tab", args=[signed_visit.patient_id, "side-effects"])
    record(world, signed_visit)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for term in ("erythema", "papules", "headache", "pain"):
        event = record(world, signed_visit, itching(term=term))
        adverse_event_follow_up(event=event, note="Called.", acting_user=world.paul)
    assert queries() == one


def test_the_event_page_costs_the_same_queries_with_more_follow_ups(
    client_for, world, signed_visit
):
    client = client_for("paul")
    event = record(world, signed_visit)
    path = reverse("safety_event", args=[event.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    adverse_event_follow_up(event=event, note="Called.", acting_user=world.paul)
    one = queries()
    for n in range(5):
        adverse_event_follow_up(event=event, note=f"Called again {n}.", acting_user=world.paul)
    assert queries() == one


# --- The safety page --------------------------------------------------------------------------


def test_the_safety_page_shows_rates_with_counts_and_the_csv_has_every_number(
    client_for, world, signed_visit
):
    record(world, signed_visit)
    client = client_for("alice")
    response = client.get(reverse("safety_home"), {"start": "2026-11-01", "end": "2026-12-02"})
    text = page_text(response)
    assert "1 of 1 signed sessions were followed by at least one side effect" in text
    assert "HC-2401" in text and "Paul Practitioner" in text
    assert "<svg" in response.content.decode()
    assert AuditEvent.objects.filter(action="safety.read").count() == 1

    response = client.get(reverse("safety_csv"), {"start": "2026-11-01", "end": "2026-12-02"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["table", "group", "label", "sessions_with_side_effect", "sessions"]
    overall = rows[1]
    assert overall[:6] == ["overall", "", "All sessions", "1", "1", "100.00"]
    lots = [r for r in rows if r[0] == "lot"]
    assert lots == [[*lots[0][:3], "1", "1", *lots[0][5:]]]
    assert lots[0][1:3] == ["Hair cocktail", "HC-2401"]


def test_a_period_that_ends_before_it_starts_is_explained(client_for, world):
    response = client_for("paul").get(
        reverse("safety_home"), {"start": "2026-12-02", "end": "2026-11-01"}
    )
    assert "before its start" in field_errors(response, "end")
    assert (
        client_for("paul")
        .get(reverse("safety_csv"), {"start": "2026-12-02", "end": "2026-11-01"})
        .status_code
        == 400
    )


def test_the_safety_page_costs_the_same_queries_whatever_the_number_of_events(
    client_for, world, signed_visit
):
    client = client_for("paul")
    params = {"start": "2026-11-01", "end": "2026-12-02"}

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("safety_home"), params).status_code == 200
        return len(ctx.captured_queries)

    record(world, signed_visit)
    one = queries()
    for term in ("erythema", "papules", "headache"):
        record(world, signed_visit, itching(term=term))
    assert queries() == one


# --- Photos -----------------------------------------------------------------------------------


def test_a_photo_of_the_side_effect_is_stored_without_exif_and_shown_only_to_staff(
    client_for, world, signed_visit
):
    event = record(world, signed_visit)
    upload = SimpleUploadedFile("itch.jpg", jpeg_with_exif(), content_type="image/jpeg")
    response = client_for("paul").post(
        reverse("safety_photo_add", args=[event.pk]),
        {"photo-photo": upload, "photo-caption": "Vertex, evening"},
    )
    assert response.status_code == 302
    photo = AdverseEventPhoto.objects.get()
    with photo.image.open("rb") as stored, Image.open(stored) as image:
        assert len(image.getexif()) == 0
    path = reverse("safety_photo_file", args=[photo.pk, "full"])
    assert client_for("fiona").get(path).status_code == 200
    assert client_for("oscar").get(path).status_code == 404
    assert_login_redirect(client_for("anonymous").get(path), path)
    assert AuditEvent.objects.filter(action="photo.read", patient=event.patient).count() == 1


def test_a_file_that_is_not_a_photo_is_refused_with_a_message(client_for, world, signed_visit):
    event = record(world, signed_visit)
    upload = SimpleUploadedFile("notes.jpg", b"not an image at all", content_type="image/jpeg")
    response = client_for("paul").post(
        reverse("safety_photo_add", args=[event.pk]), {"photo-photo": upload}
    )
    assert response.status_code == 422
    assert "not a photo" in page_text(response)
    assert AdverseEventPhoto.objects.count() == 0


def test_an_edit_form_that_went_stale_is_refused_and_nothing_is_overwritten(
    client_for, world, signed_visit
):
    event = record(world, signed_visit)
    stale_version = event.updated_at.isoformat()
    adverse_event_follow_up(event=event, note="Worse.", grade=2, acting_user=world.alice)
    response = client_for("paul").post(
        reverse("safety_event_edit", args=[event.pk]),
        event_form(signed_visit, grade="1", version=stale_version, description="Edited."),
    )
    assert response.status_code == 200
    assert "Someone else changed this side effect" in page_text(response)
    event.refresh_from_db()
    assert event.grade == 2 and event.description == ""


def test_a_clinician_corrects_a_side_effect_on_the_edit_page(client_for, world, signed_visit):
    event = record(world, signed_visit)
    client = client_for("paul")
    page = client.get(reverse("safety_event_edit", args=[event.pk]))
    assert page.status_code == 200
    version = page.context["form"].initial["version"]
    response = client.post(
        reverse("safety_event_edit", args=[event.pk]),
        event_form(signed_visit, grade="2", version=version, description="Edited."),
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.grade == 2 and event.description == "Edited."
    audit = AuditEvent.objects.get(action="adverse_event.update")
    assert audit.changes["grade"] == {"old": 1, "new": 2}


def test_a_photo_added_by_mistake_is_removed_with_a_reason_and_audited(
    client_for, world, signed_visit
):
    event = record(world, signed_visit)
    upload = SimpleUploadedFile("itch.jpg", jpeg_with_exif(), content_type="image/jpeg")
    client_for("paul").post(reverse("safety_photo_add", args=[event.pk]), {"photo-photo": upload})
    photo = AdverseEventPhoto.objects.get()
    path = reverse("safety_photo_remove", args=[photo.pk])
    assert client_for("fiona").post(path, {"reason": "Wrong patient"}).status_code == 403
    assert client_for("oscar").post(path, {"reason": "Wrong patient"}).status_code == 404
    client_for("paul").post(path, {"reason": ""})
    assert AdverseEventPhoto.objects.count() == 1
    response = client_for("paul").post(path, {"reason": "Wrong patient"})
    assert response.status_code == 302
    assert AdverseEventPhoto.objects.count() == 0
    removed = AuditEvent.objects.get(action="adverse_event.photo_remove")
    assert removed.changes["reason"] == {"new": "Wrong patient"}
    assert removed.changes["sha256"]["old"] == photo.sha256
