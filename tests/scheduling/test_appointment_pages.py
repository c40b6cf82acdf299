"""The appointment page and its actions (check in, missed, cancel, move), and booking one
appointment: who may do what, each action's effect, and bad input explained with nothing
written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CourseSession,
    SessionStatus,
)
from tests.conftest import STAFF, WRITERS
from tests.patients.helpers import assert_login_redirect, field_errors, page_text
from tests.scheduling_fixtures import LONDON

WEDNESDAY = dt.date(2026, 12, 2)  # the fixed clock's day
THURSDAY = WEDNESDAY + dt.timedelta(days=1)
SIGNED_OUT = ["dora", "anonymous"]
ACTIONS = ["appointment_check_in", "appointment_no_show", "appointment_cancel", "appointment_move"]


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def consultation(world, patient, when, practitioner=None):
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    return services.appointment_book(
        patient=patient,
        clinic=world.acme_city,
        practitioner=practitioner or world.paul,
        appointment_type=kind,
        starts_at=when,
        acting_user=world.fiona,
    )


@pytest.fixture
def session_one(world, calendar, ready_patient) -> Appointment:
    """Rita's course from today: session 1 is booked today (Wednesday) 09:00 with Paul."""
    result = services.course_create(
        patient=ready_patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=WEDNESDAY,
        acting_user=world.paul,
    )
    first = result.booked[0]
    assert first.starts_at == at(WEDNESDAY, 9)
    return first


def _state() -> tuple[Any, ...]:
    return (
        list(Appointment.objects.order_by("pk").values()),
        list(CourseSession.objects.order_by("pk").values()),
        # Signing a test client in is audited; that is not the page writing.
        AuditEvent.objects.exclude(action__startswith="auth.").count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = _state()
    yield
    after = _state()
    assert after[0] == before[0], "an appointment was created or changed"
    assert after[1] == before[1], "a course session was changed"
    assert after[2] == before[2], "an audit event was recorded"


def url(name: str, appointment: Appointment) -> str:
    return reverse(name, args=[appointment.pk])


def action_data(name: str, world, appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_check_in": {},
        "appointment_no_show": {"no_show-rebook": "on"},
        "appointment_cancel": {"cancel-reason": "Patient asked"},
        "appointment_move": {
            "practitioner": world.paul.pk,
            "starts_at": at(THURSDAY, 10).isoformat(),
        },
    }[name]


def slot_values(content: str) -> list[str]:
    return re.findall(r'name="starts_at" value="([^"]+)"', content)


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_see_the_appointment_page(client_for, session_one, persona):
    response = client_for(persona).get(url("appointment_detail", session_one))
    assert response.status_code == 200
    text = page_text(response)
    assert "Session 1 of 8: Rita Ready" in text
    assert session_one.patient.mrn in text
    assert "Wednesday 2 December 2026, 09:00–09:45" in text
    assert "Paul Practitioner" in text
    assert "Room 1" in text
    assert "Treatment session" in text
    assert reverse("patients:chart", args=[session_one.patient_id]) in response.content.decode()
    # The session's window: earliest, target, latest.
    assert "earliest Wed 2 Dec" in " ".join(text.split())
    assert "latest Wed 16 Dec 2026" in " ".join(text.split())


@pytest.mark.parametrize("persona", STAFF)
def test_only_roles_that_write_see_the_actions(client_for, session_one, persona):
    content = client_for(persona).get(url("appointment_detail", session_one)).content.decode()
    for name in ACTIONS:
        assert (url(name, session_one) in content) == (persona in WRITERS)
    assert ("Check in" in content) == (persona in WRITERS)


def test_another_organisation_gets_404_everywhere(client_for, session_one, world):
    client = client_for("oscar")
    with nothing_written():
        assert client.get(url("appointment_detail", session_one)).status_code == 404
        assert client.get(url("appointment_slots", session_one)).status_code == 404
        for name in ACTIONS:
            data = action_data(name, world, session_one)
            assert client.post(url(name, session_one), data).status_code == 404


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_signed_out_people_are_sent_to_login(client_for, session_one, world, persona):
    client = client_for(persona)
    assert_login_redirect(
        client.get(url("appointment_detail", session_one)), url("appointment_detail", session_one)
    )
    with nothing_written():
        for name in ACTIONS:
            response = client.post(url(name, session_one), action_data(name, world, session_one))
            assert response.status_code == 302
            assert response.url.startswith(reverse("login"))


def test_a_portal_patient_gets_403(client_for, session_one, world):
    client = client_for("pat")
    assert client.get(url("appointment_detail", session_one)).status_code == 403
    with nothing_written():
        for name in ACTIONS:
            data = action_data(name, world, session_one)
            assert client.post(url(name, session_one), data).status_code == 403


def test_the_auditor_gets_403_on_every_action_and_the_slot_list(client_for, session_one, world):
    client = client_for("audrey")
    assert client.get(url("appointment_slots", session_one)).status_code == 403
    with nothing_written():
        for name in ACTIONS:
            data = action_data(name, world, session_one)
            assert client.post(url(name, session_one), data).status_code == 403


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_only_answer_post(client_for, session_one, name):
    assert client_for("fiona").get(url(name, session_one)).status_code == 405


def test_an_unknown_appointment_is_404(client_for, world, calendar):
    assert client_for("fiona").get(reverse("appointment_detail", args=[999999])).status_code == 404


# --- Check in -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_check_in_marks_arrival_and_leaves_the_session_to_its_chart(
    client_for, session_one, persona
):
    client = client_for(persona)
    response = client.post(url("appointment_check_in", session_one))
    assert response.status_code == 302
    assert response.url == url("appointment_detail", session_one)
    session_one.refresh_from_db()
    assert session_one.status == AppointmentStatus.CHECKED_IN
    session = CourseSession.objects.get(pk=session_one.course_session_id)
    # Done only once the session's chart is signed (tests/treatments).
    assert session.status == SessionStatus.BOOKED
    assert session.done_on is None
    assert AuditEvent.objects.filter(
        action="appointment.check_in", object_id=str(session_one.pk)
    ).exists()
    page = client.get(response.url)
    assert "Rita Ready is checked in." in page_text(page)
    # Done: nothing more to do on the page.
    assert url("appointment_check_in", session_one) not in page.content.decode()
    assert url("appointment_move", session_one) not in page.content.decode()


def test_check_in_is_offered_only_on_the_appointments_day(client_for, world, calendar, fixed_clock):
    later = consultation(world, world.acme_patient, at(THURSDAY, 10))
    content = client_for("fiona").get(url("appointment_detail", later)).content.decode()
    assert url("appointment_check_in", later) not in content
    assert url("appointment_no_show", later) not in content  # not before its day either


def test_checking_in_on_another_day_is_explained_and_writes_nothing(client_for, world, calendar):
    later = consultation(world, world.acme_patient, at(THURSDAY, 10))
    with nothing_written():
        response = client_for("fiona").post(url("appointment_check_in", later))
    assert response.status_code == 422
    assert "only on the day of the appointment" in page_text(response)


# --- Missed (no-show) ---------------------------------------------------------------------


def test_a_no_show_rebooks_the_session_inside_its_window_on_another_day(
    client_for, session_one, fixed_clock
):
    client = client_for("fiona")
    fixed_clock.set(at(WEDNESDAY, 10))
    response = client.post(url("appointment_no_show", session_one), {"no_show-rebook": "on"})
    assert response.status_code == 302
    session_one.refresh_from_db()
    assert session_one.status == AppointmentStatus.NO_SHOW
    rebooked = Appointment.objects.get(
        course_session_id=session_one.course_session_id, status=AppointmentStatus.BOOKED
    )
    session = rebooked.course_session
    assert session is not None
    new_day = rebooked.starts_at.astimezone(LONDON).date()
    assert new_day > WEDNESDAY
    assert session.earliest_on <= new_day <= session.latest_on
    assert session.status == SessionStatus.BOOKED
    page = client.get(response.url)
    text = page_text(page)
    assert "Marked as missed (no-show)." in text
    assert "The session is re-booked for" in text
    assert reverse("appointment_detail", args=[rebooked.pk]) in page.content.decode()


def test_a_no_show_without_rebooking_leaves_the_session_unbooked(
    client_for, session_one, fixed_clock
):
    fixed_clock.set(at(WEDNESDAY, 10))
    response = client_for("paul").post(url("appointment_no_show", session_one), {})
    assert response.status_code == 302
    session = CourseSession.objects.get(pk=session_one.course_session_id)
    assert session.status == SessionStatus.PLANNED
    assert session.not_before == THURSDAY
    assert not Appointment.objects.filter(
        course_session=session, status=AppointmentStatus.BOOKED
    ).exists()


def test_rebook_is_checked_by_default_for_a_no_show_but_not_for_a_cancellation(
    client_for, session_one
):
    content = client_for("fiona").get(url("appointment_detail", session_one)).content.decode()
    no_show = re.search(r'<input[^>]*name="no_show-rebook"[^>]*>', content)
    cancel = re.search(r'<input[^>]*name="cancel-rebook"[^>]*>', content)
    assert no_show and "checked" in no_show.group(0)
    assert cancel and "checked" not in cancel.group(0)


# --- Cancel -------------------------------------------------------------------------------


def test_cancel_with_a_reason(client_for, session_one):
    client = client_for("fiona")
    response = client.post(
        url("appointment_cancel", session_one), {"cancel-reason": "  Patient   unwell "}
    )
    assert response.status_code == 302
    session_one.refresh_from_db()
    assert session_one.status == AppointmentStatus.CANCELLED
    assert session_one.status_reason == "Patient unwell"
    session = CourseSession.objects.get(pk=session_one.course_session_id)
    assert session.status == SessionStatus.PLANNED  # not re-booked unless asked
    event = AuditEvent.objects.get(action="appointment.cancel", object_id=str(session_one.pk))
    assert event.changes["reason"] == {"new": "Patient unwell"}
    text = page_text(client.get(response.url))
    assert "Appointment cancelled." in text
    assert "Reason: Patient unwell" in text


def test_cancel_and_rebook_books_the_session_again(client_for, session_one):
    response = client_for("fiona").post(
        url("appointment_cancel", session_one),
        {"cancel-reason": "Clash with work", "cancel-rebook": "on"},
    )
    assert response.status_code == 302
    assert Appointment.objects.filter(
        course_session_id=session_one.course_session_id, status=AppointmentStatus.BOOKED
    ).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_without_a_reason_is_explained_and_writes_nothing(client_for, session_one, reason):
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_cancel", session_one), {"cancel-reason": reason}
        )
    assert response.status_code == 422
    assert "Give a reason for cancelling" in field_errors(response, "cancel-reason")


def test_an_appointment_already_cancelled_cannot_be_cancelled_again(client_for, session_one):
    services.appointment_cancel(
        appointment=session_one, reason="first", acting_user=session_one.created_by
    )
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_cancel", session_one), {"cancel-reason": "again"}
        )
    assert response.status_code == 409
    assert "This appointment is cancelled; it cannot be changed." in page_text(response)


# --- Move ---------------------------------------------------------------------------------


def test_the_slot_fragment_lists_free_times_inside_the_window_by_day(client_for, session_one):
    response = client_for("fiona").get(url("appointment_slots", session_one))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content  # a fragment for htmx
    starts = [dt.datetime.fromisoformat(v) for v in slot_values(content)]
    session = CourseSession.objects.get(pk=session_one.course_session_id)
    assert starts
    assert all(
        session.earliest_on <= s.astimezone(LONDON).date() <= session.latest_on for s in starts
    )
    assert at(THURSDAY, 10) in starts
    # Its own time is shown as the current one, not offered.
    assert at(WEDNESDAY, 9) not in starts
    assert "Thursday 3 Dec" in page_text(response)


def test_the_slot_fragment_leaves_out_times_already_past(client_for, session_one, fixed_clock):
    fixed_clock.set(at(WEDNESDAY, 10, 5))
    starts = [
        dt.datetime.fromisoformat(v)
        for v in slot_values(
            client_for("fiona").get(url("appointment_slots", session_one)).content.decode()
        )
    ]
    assert at(WEDNESDAY, 10) not in starts
    assert at(WEDNESDAY, 10, 15) in starts


def test_the_slot_fragment_for_another_practitioner(client_for, session_one, world):
    consultation(world, world.acme_patient, at(THURSDAY, 10), practitioner=world.alice)
    content = (
        client_for("fiona")
        .get(url("appointment_slots", session_one), {"practitioner": world.alice.pk})
        .content.decode()
    )
    starts = [dt.datetime.fromisoformat(v) for v in slot_values(content)]
    assert at(THURSDAY, 10) not in starts  # Alice is busy then
    assert at(THURSDAY, 11) in starts
    assert "Free times with Alice Admin" in content


def test_the_slot_fragment_refuses_a_practitioner_of_another_organisation(
    client_for, session_one, world
):
    response = client_for("fiona").get(
        url("appointment_slots", session_one), {"practitioner": world.oscar.pk}
    )
    assert response.status_code == 404


def test_the_page_loads_the_slots_with_htmx(client_for, session_one):
    content = client_for("fiona").get(url("appointment_detail", session_one)).content.decode()
    assert f'hx-get="{url("appointment_slots", session_one)}?practitioner=' in content
    assert 'hx-trigger="load"' in content


def test_without_javascript_the_page_lists_the_slots_itself(client_for, session_one, world):
    response = client_for("fiona").get(
        url("appointment_detail", session_one), {"practitioner": world.paul.pk}
    )
    assert at(THURSDAY, 10).isoformat() in slot_values(response.content.decode())


def test_move_to_an_offered_slot(client_for, session_one, world):
    client = client_for("fiona")
    content = client.get(url("appointment_slots", session_one)).content.decode()
    chosen = next(v for v in slot_values(content) if v.startswith("2026-12-03T10:00"))
    response = client.post(
        url("appointment_move", session_one),
        {"practitioner": world.paul.pk, "starts_at": chosen},
    )
    assert response.status_code == 302
    session_one.refresh_from_db()
    assert session_one.starts_at == at(THURSDAY, 10)
    assert session_one.ends_at == at(THURSDAY, 10, 45)
    assert AuditEvent.objects.filter(
        action="appointment.move", object_id=str(session_one.pk)
    ).exists()
    assert "Moved to Thu 3 Dec 2026, 10:00 with Paul Practitioner." in page_text(
        client.get(response.url)
    )


def test_move_to_another_practitioner(client_for, session_one, world):
    response = client_for("paul").post(
        url("appointment_move", session_one),
        {"practitioner": world.alice.pk, "starts_at": at(THURSDAY, 11).isoformat()},
    )
    assert response.status_code == 302
    session_one.refresh_from_db()
    assert session_one.practitioner == world.alice


def test_move_into_a_taken_slot_is_explained_and_writes_nothing(client_for, session_one, world):
    consultation(world, world.acme_patient, at(THURSDAY, 10))  # Paul is busy then
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_move", session_one),
            {"practitioner": world.paul.pk, "starts_at": at(THURSDAY, 10).isoformat()},
        )
    assert response.status_code == 409
    assert "This slot is taken: the practitioner has another appointment then." in page_text(
        response
    )


@pytest.mark.parametrize(
    ("starts_at", "status", "message"),
    [
        (at(THURSDAY, 18), 422, "outside the clinic's opening hours"),
        (at(WEDNESDAY - dt.timedelta(days=1), 10), 422, "cannot be moved into the past"),
        (at(WEDNESDAY + dt.timedelta(days=3), 10), 422, "outside the clinic's opening hours"),
    ],
    ids=["after-closing", "past", "saturday"],
)
def test_bad_move_times_are_explained_and_write_nothing(
    client_for, session_one, world, starts_at, status, message
):
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_move", session_one),
            {"practitioner": world.paul.pk, "starts_at": starts_at.isoformat()},
        )
    assert response.status_code == status
    assert message in page_text(response)


@pytest.mark.parametrize(
    "data",
    [{"starts_at": "tomorrow"}, {"starts_at": "2026-12-03T10:00"}, {"starts_at": ""}],
    ids=["garbage", "no-zone", "empty"],
)
def test_a_move_without_a_valid_time_is_explained(client_for, session_one, world, data):
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_move", session_one), {"practitioner": world.paul.pk, **data}
        )
    assert response.status_code == 422
    assert "Choose one of the free times." in page_text(response)


def test_a_move_to_another_organisations_practitioner_is_refused(client_for, session_one, world):
    with nothing_written():
        response = client_for("fiona").post(
            url("appointment_move", session_one),
            {"practitioner": world.oscar.pk, "starts_at": at(THURSDAY, 10).isoformat()},
        )
    assert response.status_code == 422


# --- Off protocol, and query counts ------------------------------------------------------


def test_an_off_protocol_session_says_why(client_for, session_one, world):
    CourseSession.objects.filter(pk=session_one.course_session_id).update(
        off_protocol="late", off_by_days=3
    )
    text = page_text(client_for("fiona").get(url("appointment_detail", session_one)))
    assert "Off protocol: after its window closes (3 days)" in text


def test_the_appointment_page_costs_the_same_however_busy_the_calendar(
    client_for, session_one, world, calendar
):
    client = client_for("fiona")
    target = url("appointment_detail", session_one)
    client.get(target)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(target).status_code == 200
        return len(captured.captured_queries)

    few = count()
    for n in range(8):
        consultation(world, world.acme_patient, at(THURSDAY, 9 + n), practitioner=world.alice)
    assert count() == few


# --- Booking one appointment --------------------------------------------------------------


def book_url(patient) -> str:
    return reverse("appointment_book") + f"?patient={patient.pk}"


def book_data(world, **overrides: Any) -> dict[str, Any]:
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    data = {
        "patient": world.acme_patient.pk,
        "clinic": world.acme_city.pk,
        "practitioner": world.paul.pk,
        "appointment_type": kind.pk,
        "date": THURSDAY.isoformat(),
        "time": "10:00",
        "notes": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_get_the_booking_form(client_for, world, calendar, persona):
    response = client_for(persona).get(book_url(world.acme_patient))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ana Silva" in content
    assert 'name="practitioner"' in content
    assert 'name="appointment_type"' in content
    assert 'name="date"' in content
    assert reverse("appointment_book_slots") in content


@pytest.mark.parametrize("persona", ["audrey", "pat"])
def test_readers_and_patients_cannot_book(client_for, world, calendar, persona):
    client = client_for(persona)
    assert client.get(book_url(world.acme_patient)).status_code == 403
    with nothing_written():
        assert client.post(reverse("appointment_book"), book_data(world)).status_code == 403


def test_booking_another_organisations_patient_is_404(client_for, world, calendar):
    response = client_for("oscar").get(book_url(world.acme_patient))
    assert response.status_code == 404


def test_anonymous_is_sent_to_login_from_booking(client_for, world, calendar):
    assert_login_redirect(
        client_for("anonymous").get(book_url(world.acme_patient)), reverse("appointment_book")
    )


def test_without_a_patient_the_booking_page_says_where_to_start(client_for, world, calendar):
    response = client_for("fiona").get(reverse("appointment_book"))
    assert response.status_code == 200
    assert "Open the patient's chart" in page_text(response)


def test_book_at_a_typed_time(client_for, world, calendar):
    client = client_for("fiona")
    response = client.post(reverse("appointment_book"), book_data(world, notes="First visit"))
    assert response.status_code == 302
    appointment = Appointment.objects.get(patient=world.acme_patient)
    assert response.url == reverse("appointment_detail", args=[appointment.pk])
    assert appointment.starts_at == at(THURSDAY, 10)
    assert appointment.ends_at == at(THURSDAY, 10, 30)
    assert appointment.practitioner == world.paul
    assert appointment.notes == "First visit"
    assert appointment.room is not None
    assert "Consultation booked for Ana Silva on Thu 3 Dec 2026, 10:00." in page_text(
        client.get(response.url)
    )


def test_book_by_clicking_a_free_time(client_for, world, calendar):
    response = client_for("fiona").post(
        reverse("appointment_book"), book_data(world, time="", slot="14:15")
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(patient=world.acme_patient)
    assert appointment.starts_at == at(THURSDAY, 14, 15)


def test_the_booking_slot_fragment_lists_free_times(client_for, world, calendar):
    consultation(world, world.pat_patient, at(THURSDAY, 10))
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    response = client_for("fiona").get(
        reverse("appointment_book_slots"),
        {
            "patient": world.acme_patient.pk,
            "clinic": world.acme_city.pk,
            "practitioner": world.paul.pk,
            "appointment_type": kind.pk,
            "date": THURSDAY.isoformat(),
        },
    )
    assert response.status_code == 200
    times = re.findall(r'name="slot" value="([^"]+)"', response.content.decode())
    assert times[0] == "09:00"
    assert "10:00" not in times and "09:45" not in times  # Paul is busy 10:00-10:30
    assert "10:30" in times
    assert times[-1] == "16:30"


def test_the_booking_slot_fragment_asks_for_what_is_missing(client_for, world, calendar):
    response = client_for("fiona").get(
        reverse("appointment_book_slots"),
        {"patient": world.acme_patient.pk, "clinic": world.acme_city.pk},
    )
    assert response.status_code == 200
    assert "Choose a practitioner, a type and a day" in page_text(response)


@pytest.mark.parametrize(
    ("overrides", "field", "message", "status"),
    [
        ({"time": "18:00"}, "time", "outside the clinic's opening hours", 422),
        ({"date": "2026-12-05"}, "time", "outside the clinic's opening hours", 422),
        ({"date": "2026-12-01"}, "date", "This day is in the past", 422),
        ({"time": ""}, "time", "Choose a start time", 422),
        ({"date": ""}, "date", "Day is required.", 422),
        ({"practitioner": "999999"}, "practitioner", "Select a valid choice", 422),
    ],
    ids=["after-closing", "saturday", "past-day", "no-time", "no-day", "unknown-practitioner"],
)
def test_bad_booking_input_is_explained_and_writes_nothing(
    client_for, world, calendar, overrides, field, message, status
):
    with nothing_written():
        response = client_for("fiona").post(
            reverse("appointment_book"), book_data(world, **overrides)
        )
    assert response.status_code == status
    assert message in field_errors(response, field)


def test_booking_a_taken_time_is_a_conflict(client_for, world, calendar):
    consultation(world, world.pat_patient, at(THURSDAY, 10))
    with nothing_written():
        response = client_for("fiona").post(reverse("appointment_book"), book_data(world))
    assert response.status_code == 409
    assert "This slot is taken" in field_errors(response, "time")


def test_a_time_skipped_by_the_clocks_going_forward_is_explained(
    client_for, world, calendar, fixed_clock
):
    fixed_clock.set(dt.datetime(2027, 3, 20, 8, tzinfo=LONDON))
    with nothing_written():
        response = client_for("fiona").post(
            reverse("appointment_book"), book_data(world, date="2027-03-28", time="01:30")
        )
    assert response.status_code == 422
    assert "the clocks go forward" in field_errors(response, "time")
