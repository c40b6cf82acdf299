"""/api/v1/appointments: the calendar's appointments. Every staff role reads; admins,
practitioners and the front desk book, move, cancel, check in and mark no-shows; the
auditor writes nothing; another organisation sees nothing.

The calendar (tests/scheduling_fixtures.py): Acme City is open Monday to Friday 09:00-17:00
(Europe/London), Paul and Alice work there then, two rooms; the clock is Wednesday
2 December 2026, 08:00.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.models import ApiToken
from mesoclinic.accounts.services import api_token_revoke
from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Course,
    CourseSession,
    SessionStatus,
)
from mesoclinic.scheduling.services import appointment_book, course_create
from tests.api.helpers import ApiClient, field_messages, nothing_written, problem
from tests.conftest import STAFF, WRITERS, make_patient
from tests.scheduling_fixtures import LONDON

APPOINTMENTS = "/api/v1/appointments"
MONDAY = dt.date(2026, 12, 7)
TODAY = dt.date(2026, 12, 2)  # the fixed clock's Wednesday
OFFSET_NEEDED = "Include a UTC offset"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def appointment_url(appointment: Appointment | int, suffix: str = "") -> str:
    pk = appointment if isinstance(appointment, int) else appointment.pk
    return f"{APPOINTMENTS}/{pk}{suffix}"


def booking(world, patient=None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": (patient or world.acme_patient).pk,
        "clinic_id": world.acme_city.pk,
        "practitioner_id": world.paul.pk,
        "appointment_type": "consultation",
        "starts_at": iso(at(MONDAY, 10)),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def book(world, starts_at: dt.datetime, patient=None, practitioner=None) -> Appointment:
    return appointment_book(
        patient=patient or world.acme_patient,
        clinic=world.acme_city,
        practitioner=practitioner or world.paul,
        appointment_type=AppointmentType.objects.get(organisation=world.acme, code="consultation"),
        starts_at=starts_at,
        acting_user=world.fiona,
    )


def course_for(world, calendar, patient, *, book_sessions: bool = True) -> Course:
    return course_create(
        patient=patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=MONDAY,
        acting_user=world.paul,
        book=book_sessions,
    ).course


@contextmanager
def no_appointment_written() -> Iterator[None]:
    def state() -> tuple[Any, ...]:
        return (
            list(Appointment.objects.order_by("pk").values()),
            list(CourseSession.objects.order_by("pk").values()),
        )

    before = state()
    with nothing_written():
        yield
    assert state() == before, "an appointment or course session was written"


# --- Booking -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_book_an_appointment_at_a_free_time(api_for, world, calendar, persona):
    response = api_for(persona).post(APPOINTMENTS, booking(world, notes="First visit"))
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.created_by == world.persona(persona)
    assert body["status"] == "booked"
    assert body["starts_at"] == "2026-12-07T10:00:00Z"
    assert body["ends_at"] == "2026-12-07T10:30:00Z"
    assert body["timezone"] == "Europe/London"
    assert body["clinic"] == {"id": world.acme_city.pk, "name": "Acme City"}
    assert body["practitioner"] == {"id": world.paul.pk, "name": "Paul Practitioner"}
    assert body["room"] == {"id": calendar.rooms[0].pk, "name": "Room 1"}
    assert body["patient"]["mrn"] == "ACM-000001"
    assert body["appointment_type"]["code"] == "consultation"
    assert body["course_session"] is None
    assert body["notes"] == "First visit"
    assert AuditEvent.objects.filter(
        action="appointment.book", object_id=str(appointment.pk)
    ).exists()


def test_the_type_may_be_given_by_id(api_for, world, calendar):
    review = AppointmentType.objects.get(organisation=world.acme, code="review")
    response = api_for("fiona").post(APPOINTMENTS, booking(world, appointment_type=review.pk))
    assert response.status_code == 201
    assert response.json()["appointment_type"]["code"] == "review"
    assert response.json()["ends_at"] == "2026-12-07T10:20:00Z"


def test_a_time_in_another_offset_is_the_same_instant(api_for, world, calendar):
    response = api_for("fiona").post(
        APPOINTMENTS, booking(world, starts_at="2026-12-07T11:00:00+01:00")
    )
    assert response.status_code == 201
    assert response.json()["starts_at"] == "2026-12-07T10:00:00Z"


def test_a_course_session_is_booked_by_hand(api_for, world, calendar, ready_patient):
    course = course_for(world, calendar, ready_patient, book_sessions=False)
    session = course.sessions.get(position=1)
    response = api_for("fiona").post(
        APPOINTMENTS,
        booking(
            world,
            ready_patient,
            appointment_type="course-session",
            course_session_id=session.pk,
            starts_at=iso(at(MONDAY, 14)),
        ),
    )
    assert response.status_code == 201, response.content
    assert response.json()["course_session"] == {
        "id": session.pk,
        "course_id": course.pk,
        "position": 1,
        "phase": "induction",
        "number": 1,
    }
    session.refresh_from_db()
    assert session.status == SessionStatus.BOOKED


BAD_BOOKINGS = [
    pytest.param({"starts_at": "2026-12-07T10:00:00"}, "starts_at", OFFSET_NEEDED, id="naive"),
    pytest.param({"starts_at": 1796637600}, "starts_at", "Give the value as text", id="a-number"),
    pytest.param(
        {"starts_at": "next monday"}, "starts_at", "Input should be a valid datetime", id="words"
    ),
    pytest.param({"starts_at": None}, "starts_at", "This field is required.", id="no-time"),
    pytest.param(
        {"starts_at": iso(at(dt.date(2026, 12, 5), 10))},
        "starts_at",
        "This time is outside the clinic's opening hours",
        id="saturday",
    ),
    pytest.param(
        {"starts_at": iso(at(MONDAY, 8))},
        "starts_at",
        "This time is outside the clinic's opening hours",
        id="before-opening",
    ),
    pytest.param(
        {"starts_at": iso(at(MONDAY, 16, 45))},
        "starts_at",
        "This time is outside the clinic's opening hours",
        id="runs-past-closing",
    ),
    pytest.param(
        {"starts_at": iso(at(dt.date(2026, 11, 30), 10))},
        "starts_at",
        "An appointment cannot be booked in the past.",
        id="in-the-past",
    ),
    pytest.param(
        {"appointment_type": "massage"},
        "appointment_type",
        "Unknown appointment type 'massage'; use",
        id="unknown-type",
    ),
    pytest.param(
        {"appointment_type": 999_999},
        "appointment_type",
        "Unknown appointment type 999999",
        id="unknown-type-id",
    ),
    pytest.param(
        {"patient_id": 999_999},
        "patient_id",
        "No patient with this id in your organisation.",
        id="unknown-patient",
    ),
    pytest.param(
        {"clinic_id": 999_999},
        "clinic_id",
        "No clinic with this id in your organisation.",
        id="unknown-clinic",
    ),
    pytest.param(
        {"practitioner_id": 999_999},
        "practitioner_id",
        "No practitioner with this id",
        id="unknown-practitioner",
    ),
    pytest.param(
        {"course_session_id": 999_999},
        "course_session_id",
        "No course session with this id",
        id="unknown-session",
    ),
    pytest.param({"notes": "x" * 5001}, "notes", "Notes is too long", id="long-notes"),
    pytest.param({"room_id": 1}, "room_id", "Unknown field.", id="unknown-field"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_BOOKINGS)
def test_bad_bookings_are_refused_with_a_field_message_and_nothing_written(
    api_for, world, calendar, changes, field, message
):
    client = api_for("fiona")
    body_in = booking(world, **{k: v for k, v in changes.items() if v is not None})
    for key, value in changes.items():
        if value is None:
            body_in.pop(key)
    with no_appointment_written():
        body = problem(client.post(APPOINTMENTS, body_in), 422)
    messages = field_messages(body, field)
    assert messages and messages[0].startswith(message), body


def test_the_front_desk_and_other_organisations_are_not_practitioners(api_for, world, calendar):
    client = api_for("alice")
    with no_appointment_written():
        for practitioner in (world.fiona, world.audrey, world.oscar):
            body = problem(
                client.post(APPOINTMENTS, booking(world, practitioner_id=practitioner.pk)), 422
            )
            assert field_messages(body, "practitioner_id") == [
                "No practitioner with this id in your organisation."
            ]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("practitioner", "This slot is taken: the practitioner has another appointment then."),
        ("patient", "This slot is taken: the patient has another appointment then."),
    ],
)
def test_a_taken_slot_is_a_conflict(api_for, world, calendar, who, message):
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    if who == "practitioner":
        book(world, at(MONDAY, 9, 45), patient=other)
    else:
        book(world, at(MONDAY, 9, 45), practitioner=world.alice)
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(APPOINTMENTS, booking(world)), 409)
    assert body["title"] == "Conflict"
    assert field_messages(body, "starts_at") == [message]


def test_a_session_of_another_patients_course_is_refused(api_for, world, calendar, ready_patient):
    course = course_for(world, calendar, ready_patient, book_sessions=False)
    session = course.sessions.get(position=1)
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(APPOINTMENTS, booking(world, course_session_id=session.pk)), 422)
    assert body["detail"] == "This session belongs to another patient's course."


# --- Access --------------------------------------------------------------------------------


def _writes(appointment: Appointment) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        (appointment_url(appointment, "/move"), {"starts_at": iso(at(MONDAY, 11))}),
        (appointment_url(appointment, "/cancel"), {"reason": "Ill"}),
        (appointment_url(appointment, "/check-in"), None),
        (appointment_url(appointment, "/no-show"), {"rebook": False}),
    ]


def _reads(appointment: Appointment) -> list[str]:
    return [appointment_url(appointment), appointment_url(appointment, "/slots")]


def test_the_auditor_reads_but_books_and_changes_nothing(api_for, world, calendar):
    appointment = book(world, at(TODAY, 10))
    client = api_for("audrey")
    for path in _reads(appointment):
        assert client.get(path).status_code == 200
    with no_appointment_written():
        problem(client.post(APPOINTMENTS, booking(world)), 403)
        for path, body in _writes(appointment):
            assert problem(client.post(path, body), 403)["detail"] == "Your role is read-only."


def test_another_organisation_gets_404_for_an_appointment(api_for, world, calendar):
    appointment = book(world, at(TODAY, 10))
    client = api_for("oscar")
    with no_appointment_written():
        for path in _reads(appointment):
            problem(client.get(path), 404)
        for path, body in _writes(appointment):
            problem(client.post(path, body), 404)
        body = problem(client.post(APPOINTMENTS, booking(world)), 422)
        assert field_messages(body, "patient_id") == [
            "No patient with this id in your organisation."
        ]
    listed = client.get(
        APPOINTMENTS, {"from": "2026-12-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}
    ).json()
    assert listed["count"] == 0 and listed["items"] == []


@pytest.mark.parametrize("token", ["absent", "revoked"])
def test_without_a_valid_token_every_appointment_endpoint_is_401(
    api_for, token_for, world, calendar, token
):
    appointment = book(world, at(TODAY, 10))
    if token == "absent":
        client = api_for("anonymous")
    else:
        client = ApiClient(token_for("fiona"))
        api_token_revoke(token=ApiToken.objects.get(user=world.fiona), acting_user=world.alice)
    with no_appointment_written():
        problem(
            client.get(APPOINTMENTS, {"from": iso(at(TODAY, 0)), "to": iso(at(MONDAY, 0))}), 401
        )
        for path in _reads(appointment):
            problem(client.get(path), 401)
        problem(client.post(APPOINTMENTS, booking(world)), 401)
        for path, body in _writes(appointment):
            problem(client.post(path, body), 401)


# --- Listing -------------------------------------------------------------------------------


def _range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {"from": iso(at(first, 0)), "to": iso(at(last, 0))}


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_the_appointments_of_a_range(api_for, world, calendar, persona):
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    monday = book(world, at(MONDAY, 10))
    tuesday = book(
        world, at(MONDAY + dt.timedelta(days=1), 10), patient=other, practitioner=world.alice
    )
    book(world, at(MONDAY + dt.timedelta(days=14), 10))  # outside the range
    response = api_for(persona).get(APPOINTMENTS, _range(MONDAY, MONDAY + dt.timedelta(days=7)))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert (body["limit"], body["offset"]) == (200, 0)
    assert body["from"] == "2026-12-07T00:00:00Z" and body["to"] == "2026-12-14T00:00:00Z"
    assert [item["id"] for item in body["items"]] == [monday.pk, tuesday.pk]
    assert body["items"][1]["patient"]["given_name"] == "Olga"


def test_the_list_filters_by_practitioner_patient_and_clinic(api_for, world, calendar):
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    mine = book(world, at(MONDAY, 10))
    theirs = book(world, at(MONDAY, 11), patient=other, practitioner=world.alice)
    client = api_for("paul")
    week = _range(MONDAY, MONDAY + dt.timedelta(days=7))

    def ids(**filters: Any) -> list[int]:
        return [
            item["id"] for item in client.get(APPOINTMENTS, {**week, **filters}).json()["items"]
        ]

    assert ids(practitioner_id=world.paul.pk) == [mine.pk]
    assert ids(patient_id=other.pk) == [theirs.pk]
    assert ids(clinic_id=world.acme_city.pk) == [mine.pk, theirs.pk]
    assert ids(clinic_id=world.acme_river.pk) == []


def test_cancelled_appointments_are_listed_unless_only_active_ones_are_asked_for(
    api_for, world, calendar
):
    kept = book(world, at(MONDAY, 10))
    gone = book(world, at(MONDAY, 11))
    api_for("fiona").post(appointment_url(gone, "/cancel"), {"reason": "Ill"})
    client = api_for("paul")
    week = _range(MONDAY, MONDAY + dt.timedelta(days=7))
    every = client.get(APPOINTMENTS, week).json()["items"]
    assert [(i["id"], i["status"]) for i in every] == [(kept.pk, "booked"), (gone.pk, "cancelled")]
    active = client.get(APPOINTMENTS, {**week, "active_only": "true"}).json()["items"]
    assert [i["id"] for i in active] == [kept.pk]


def test_the_list_is_paged_with_a_cap(api_for, world, calendar):
    made = [book(world, at(MONDAY, hour)) for hour in (9, 10, 11, 12)]
    client = api_for("paul")
    week = _range(MONDAY, MONDAY + dt.timedelta(days=7))
    page = client.get(APPOINTMENTS, {**week, "limit": 2, "offset": 1}).json()
    assert page["count"] == 4
    assert [i["id"] for i in page["items"]] == [made[1].pk, made[2].pk]
    body = problem(client.get(APPOINTMENTS, {**week, "limit": 501}), 422)
    assert field_messages(body, "limit") == ["Input should be less than or equal to 500"]


BAD_RANGES = [
    pytest.param({"from": None}, "from", "This field is required.", id="no-from"),
    pytest.param({"to": None}, "to", "This field is required.", id="no-to"),
    pytest.param({"from": "2026-12-07T00:00:00"}, "from", OFFSET_NEEDED, id="naive-from"),
    pytest.param({"to": "2026-12-14"}, "to", OFFSET_NEEDED, id="a-date-only"),
    pytest.param(
        {"to": "2027-02-08T00:00:01Z"},
        "to",
        "The range is too long: at most 62 days",
        id="too-long",
    ),
    pytest.param({"to": "2026-12-07T00:00:00Z"}, "to", "'to' must be after 'from'.", id="empty"),
    pytest.param(
        {"clinic_id": "999999"}, "clinic_id", "No clinic with this id", id="unknown-clinic"
    ),
    pytest.param(
        {"practitioner_id": "999999"},
        "practitioner_id",
        "No practitioner with this id",
        id="unknown-practitioner",
    ),
    pytest.param(
        {"patient_id": "999999"}, "patient_id", "No patient with this id", id="unknown-patient"
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_RANGES)
def test_a_bad_range_or_filter_is_refused_with_a_field_message(
    api_for, world, calendar, changes, field, message
):
    params = {"from": "2026-12-07T00:00:00Z", "to": "2026-12-14T00:00:00Z", **changes}
    params = {k: v for k, v in params.items() if v is not None}
    body = problem(api_for("paul").get(APPOINTMENTS, params), 422)
    messages = field_messages(body, field)
    assert messages and messages[0].startswith(message), body


def test_a_range_of_exactly_62_days_is_allowed(api_for, world, calendar):
    params = {"from": "2026-12-07T00:00:00Z", "to": "2027-02-07T00:00:00Z"}
    assert api_for("paul").get(APPOINTMENTS, params).status_code == 200


def test_another_organisations_ids_in_the_filters_are_refused(api_for, world, calendar):
    client = api_for("paul")
    week = {"from": "2026-12-07T00:00:00Z", "to": "2026-12-14T00:00:00Z"}
    for field, value in [
        ("clinic_id", world.other_clinic.pk),
        ("practitioner_id", world.oscar.pk),
        ("patient_id", world.other_patient.pk),
    ]:
        body = problem(client.get(APPOINTMENTS, {**week, field: value}), 422)
        assert field_messages(body, field)[0].endswith("with this id in your organisation.")


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_one_appointment(api_for, world, calendar, persona):
    appointment = book(world, at(MONDAY, 10))
    body = api_for(persona).get(appointment_url(appointment)).json()
    assert body["id"] == appointment.pk
    assert body["starts_at"] == "2026-12-07T10:00:00Z"
    assert body["timezone"] == "Europe/London"


# --- Moving --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_move_an_appointment_to_a_free_time(api_for, world, calendar, persona):
    appointment = book(world, at(MONDAY, 10))
    response = api_for(persona).post(
        appointment_url(appointment, "/move"),
        {"starts_at": iso(at(MONDAY, 14)), "practitioner_id": world.alice.pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["starts_at"], body["ends_at"]) == ("2026-12-07T14:00:00Z", "2026-12-07T14:30:00Z")
    assert body["practitioner"]["id"] == world.alice.pk
    assert AuditEvent.objects.filter(action="appointment.move").count() == 1


@pytest.mark.parametrize(
    ("body_in", "status", "field", "message"),
    [
        ({"starts_at": "2026-12-07T14:00:00"}, 422, "starts_at", OFFSET_NEEDED),
        ({}, 422, "starts_at", "This field is required."),
        ({"starts_at": iso(at(MONDAY, 18))}, 422, "starts_at", "This time is outside"),
        ({"starts_at": iso(at(MONDAY, 11))}, 409, "starts_at", "This slot is taken"),
        (
            {"starts_at": iso(at(MONDAY, 14)), "practitioner_id": "FIONA"},
            422,
            "practitioner_id",
            "No practitioner",
        ),
    ],
    ids=["naive", "no-time", "after-closing", "taken", "not-a-practitioner"],
)
def test_a_bad_move_is_refused_and_nothing_moves(
    api_for, world, calendar, body_in, status, field, message
):
    appointment = book(world, at(MONDAY, 10))
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    book(world, at(MONDAY, 11), patient=other)
    if body_in.get("practitioner_id") == "FIONA":
        body_in = {**body_in, "practitioner_id": world.fiona.pk}
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(appointment_url(appointment, "/move"), body_in), status)
    assert field_messages(body, field)[0].startswith(message), body


def test_moving_a_course_session_re_plans_the_course(api_for, world, calendar, ready_patient):
    course = course_for(world, calendar, ready_patient)
    first = Appointment.objects.get(course_session__course=course, course_session__position=1)
    second_window = course.sessions.get(position=2).earliest_on
    response = api_for("fiona").post(
        appointment_url(first, "/move"), {"starts_at": iso(at(dt.date(2026, 12, 10), 10))}
    )
    assert response.status_code == 200, response.content
    assert course.sessions.get(position=2).earliest_on > second_window


# --- Cancelling, check-in, no-show ---------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_cancel_an_appointment_with_a_reason(api_for, world, calendar, persona):
    appointment = book(world, at(MONDAY, 10))
    response = api_for(persona).post(appointment_url(appointment, "/cancel"), {"reason": "Ill"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appointment"]["status"] == "cancelled"
    assert body["appointment"]["status_reason"] == "Ill"
    assert body["course"] is None
    # The slot is free again.
    again = api_for("fiona").post(APPOINTMENTS, booking(world))
    assert again.status_code == 201


@pytest.mark.parametrize(
    ("body_in", "message"),
    [({}, "This field is required."), ({"reason": ""}, "Give a reason.")],
    ids=["no-reason", "empty-reason"],
)
def test_cancelling_needs_a_reason(api_for, world, calendar, body_in, message):
    appointment = book(world, at(MONDAY, 10))
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(appointment_url(appointment, "/cancel"), body_in), 422)
    assert field_messages(body, "reason") == [message]


def test_a_cancelled_course_session_is_rebooked_on_request(api_for, world, calendar, ready_patient):
    course = course_for(world, calendar, ready_patient)
    third = Appointment.objects.get(course_session__course=course, course_session__position=3)
    response = api_for("fiona").post(
        appointment_url(third, "/cancel"), {"reason": "Away that week", "rebook": True}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appointment"]["status"] == "cancelled"
    course_body = body["course"]
    assert course_body["id"] == course.pk
    [rebooked] = course_body["booked"]
    assert course_body["sessions"][2]["appointment"]["id"] == rebooked
    assert course_body["unplaced"] == []


def test_rebooking_a_cancelled_course_session_does_not_give_back_the_cancelled_time(
    api_for, world, calendar, ready_patient
):
    course = course_for(world, calendar, ready_patient)
    third = Appointment.objects.get(course_session__course=course, course_session__position=3)
    body = (
        api_for("fiona")
        .post(appointment_url(third, "/cancel"), {"reason": "Away that week", "rebook": True})
        .json()
    )
    rebooked = body["course"]["sessions"][2]["appointment"]
    new_start = dt.datetime.fromisoformat(rebooked["starts_at"])
    # Not back on the day the patient cancelled, and still inside the session's window.
    assert new_start.date() != third.starts_at.astimezone(new_start.tzinfo).date()
    session = third.course_session
    session.refresh_from_db()
    assert session.earliest_on <= new_start.date() <= session.latest_on


def test_a_cancelled_course_session_without_rebooking_waits_unplaced(
    api_for, world, calendar, ready_patient
):
    course = course_for(world, calendar, ready_patient)
    third = Appointment.objects.get(course_session__course=course, course_session__position=3)
    body = api_for("fiona").post(appointment_url(third, "/cancel"), {"reason": "Away"}).json()
    assert body["course"]["booked"] == []
    assert body["course"]["unplaced"] == [3]


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_check_a_patient_in_on_the_day(api_for, world, calendar, fixed_clock, persona):
    appointment = book(world, at(TODAY, 10))
    fixed_clock.set(at(TODAY, 9, 55))
    response = api_for(persona).post(appointment_url(appointment, "/check-in"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "checked_in"
    assert AuditEvent.objects.filter(action="appointment.check_in").count() == 1


def test_check_in_is_refused_on_another_day_and_twice(api_for, world, calendar):
    monday = book(world, at(MONDAY, 10))
    today = book(world, at(TODAY, 10))
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(appointment_url(monday, "/check-in")), 422)
    assert body["detail"] == "A patient can be checked in only on the day of the appointment."
    assert client.post(appointment_url(today, "/check-in")).status_code == 200
    body = problem(client.post(appointment_url(today, "/check-in")), 409)
    assert "only a booked one can be checked in" in body["detail"]


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_mark_a_missed_appointment_without_a_body(
    api_for, world, calendar, fixed_clock, persona
):
    appointment = book(world, at(TODAY, 10))
    fixed_clock.set(at(TODAY, 11))
    response = api_for(persona).post(appointment_url(appointment, "/no-show"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appointment"]["status"] == "no_show"
    assert body["course"] is None


def test_a_missed_course_session_is_rebooked_from_the_next_day(
    api_for, world, calendar, fixed_clock, ready_patient
):
    course = course_for(world, calendar, ready_patient)
    first = Appointment.objects.get(course_session__course=course, course_session__position=1)
    fixed_clock.set(first.starts_at + dt.timedelta(hours=2))
    response = api_for("fiona").post(appointment_url(first, "/no-show"), {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appointment"]["status"] == "no_show"
    session = body["course"]["sessions"][0]
    assert session["appointment"] is not None
    assert session["appointment"]["id"] != first.pk
    assert session["appointment"]["starts_at"][:10] > first.starts_at.date().isoformat()


def test_a_missed_course_session_stays_unplaced_when_asked(
    api_for, world, calendar, fixed_clock, ready_patient
):
    course = course_for(world, calendar, ready_patient)
    first = Appointment.objects.get(course_session__course=course, course_session__position=1)
    fixed_clock.set(first.starts_at + dt.timedelta(hours=2))
    body = api_for("fiona").post(appointment_url(first, "/no-show"), {"rebook": False}).json()
    assert body["course"]["unplaced"] == [1]
    assert body["course"]["booked"] == []


def test_no_show_is_refused_before_the_day(api_for, world, calendar):
    appointment = book(world, at(MONDAY, 10))
    client = api_for("fiona")
    with no_appointment_written():
        body = problem(client.post(appointment_url(appointment, "/no-show"), {"rebook": "no"}), 422)
        assert field_messages(body, "rebook") == ["Input should be a valid boolean"]
        body = problem(client.post(appointment_url(appointment, "/no-show")), 422)
    assert body["detail"] == "An appointment can be marked missed only once its time has come."


# --- Free times to move to -----------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_see_the_free_times_to_move_to(api_for, world, calendar, persona):
    appointment = book(world, at(MONDAY, 10))
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    book(world, at(MONDAY, 11), patient=other)  # Paul is busy 11:00-11:30
    response = api_for(persona).get(appointment_url(appointment, "/slots"))
    assert response.status_code == 200
    body = response.json()
    assert body["appointment_id"] == appointment.pk
    assert body["timezone"] == "Europe/London"
    assert body["duration_minutes"] == 30
    assert body["practitioner"]["id"] == world.paul.pk
    days = {day["date"]: day["slots"] for day in body["days"]}
    # The next 14 days from today, working days only.
    assert min(days) == "2026-12-02" and max(days) == "2026-12-15"
    assert "2026-12-05" not in days  # a Saturday
    monday = [slot["starts_at"] for slot in days["2026-12-07"]]
    assert "2026-12-07T10:00:00Z" in monday  # its own time counts as free
    assert "2026-12-07T11:00:00Z" not in monday
    assert "2026-12-07T10:45:00Z" not in monday
    assert all(dt.datetime.fromisoformat(s).utcoffset() is not None for s in monday)
    assert days["2026-12-07"][0]["room"] == {"id": calendar.rooms[0].pk, "name": "Room 1"}


def test_a_course_sessions_free_times_stay_inside_its_window(
    api_for, world, calendar, ready_patient
):
    course = course_for(world, calendar, ready_patient)
    second = Appointment.objects.get(course_session__course=course, course_session__position=2)
    session = second.course_session
    body = api_for("paul").get(appointment_url(second, "/slots")).json()
    assert body["days"]
    assert all(
        session.earliest_on.isoformat() <= day["date"] <= session.latest_on.isoformat()
        for day in body["days"]
    )


def test_free_times_of_another_practitioner(api_for, world, calendar):
    appointment = book(world, at(MONDAY, 10))
    client = api_for("paul")
    body = client.get(appointment_url(appointment, "/slots"), {"practitioner_id": world.alice.pk})
    assert body.json()["practitioner"]["id"] == world.alice.pk
    refused = problem(
        client.get(appointment_url(appointment, "/slots"), {"practitioner_id": world.oscar.pk}), 422
    )
    assert field_messages(refused, "practitioner_id")


# --- Query counts, the document, concurrency -----------------------------------------------


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add_appointments(world, count: int, first_hour: int) -> None:
    for n in range(count):
        patient = make_patient(
            world.acme, world.fiona, given_name=f"P{first_hour}x{n}", family_name="Many"
        )
        book(world, at(MONDAY + dt.timedelta(days=n % 4), first_hour + n // 4), patient=patient)


@pytest.mark.parametrize(
    "filters",
    [{}, {"clinic_id": "clinic"}, {"practitioner_id": "paul"}],
    ids=["all", "clinic", "practitioner"],
)
def test_listing_appointments_costs_the_same_with_2_and_10(api_for, world, calendar, filters):
    client = api_for("fiona")
    values = {"clinic": world.acme_city.pk, "paul": world.paul.pk}
    params = {**_range(MONDAY, MONDAY + dt.timedelta(days=7))}
    params.update({k: values[v] for k, v in filters.items()})
    _add_appointments(world, 2, 9)
    client.get(APPOINTMENTS, params)
    with_2 = _queries(client, APPOINTMENTS, params)
    _add_appointments(world, 8, 12)
    assert client.get(APPOINTMENTS, params).json()["count"] == 10
    assert _queries(client, APPOINTMENTS, params) == with_2


def test_the_openapi_document_lists_the_appointment_paths(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/appointments"]) == {"get", "post"}
    assert set(paths["/api/v1/appointments/{appointment_id}"]) == {"get"}
    for action in ("move", "cancel", "check-in", "no-show"):
        assert set(paths[f"/api/v1/appointments/{{appointment_id}}/{action}"]) == {"post"}
    assert set(paths["/api/v1/appointments/{appointment_id}/slots"]) == {"get"}
    params = {p["name"] for p in paths["/api/v1/appointments"]["get"]["parameters"]}
    assert {"from", "to", "clinic_id", "practitioner_id", "patient_id", "limit", "offset"} <= params
    assert "/api/v1/protocols/{protocol_id}/versions" in paths


THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(world, calendar, token_for):
    """Several clients book the same practitioner at the same time for different patients:
    one gets 201, every other 409 "slot taken", and one appointment exists."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: the SQLite test database is in memory with a shared cache, "
            "where concurrent writers fail with 'database table is locked' instead of waiting"
        )
    patients = [
        make_patient(world.acme, world.fiona, given_name=f"Racer{n}", family_name="Same")
        for n in range(THREADS)
    ]
    clients = [ApiClient(token_for("fiona")) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = clients[n].post(APPOINTMENTS, booking(world, patients[n]))
            with lock:
                results.append((response.status_code, response.json()))
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] + [409] * (THREADS - 1), results
    for status, body in results:
        if status == 409:
            assert body["detail"].startswith("This slot is taken"), body
    booked = Appointment.objects.filter(
        practitioner=world.paul, starts_at=at(MONDAY, 10), status=AppointmentStatus.BOOKED
    )
    assert booked.count() == 1
