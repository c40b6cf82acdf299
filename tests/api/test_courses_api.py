"""/api/v1/courses: plan a course from a protocol's current version, book it, keep it on
track and cancel it; every staff role reads, the auditor writes nothing, another
organisation sees nothing.

The calendar (tests/scheduling_fixtures.py): Acme City is open Monday to Friday 09:00-17:00
(Europe/London), Paul and Alice work there then, two rooms; the clock is Wednesday
2 December 2026, 08:00.
"""

from __future__ import annotations

import datetime as dt
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
from mesoclinic.patients.services import consent_withdraw
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseSession,
    SessionStatus,
)
from mesoclinic.scheduling.services import appointment_cancel, course_cancel, course_create
from tests.api.helpers import ApiClient, field_messages, nothing_written, problem
from tests.conftest import STAFF, WRITERS
from tests.scheduling_fixtures import make_ready_patient

COURSES = "/api/v1/courses"
MONDAY = dt.date(2026, 12, 7)
# Hair mesotherapy v1: 6-8 induction sessions, 2 maintenance sessions, 1 review visit.
HAIR_POSITIONS = list(range(1, 12))


def course_url(course: Course | int, suffix: str = "") -> str:
    pk = course if isinstance(course, int) else course.pk
    return f"{COURSES}/{pk}{suffix}"


def payload(world, calendar, patient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": patient.pk,
        "protocol_id": calendar.hair.protocol_id,
        "clinic_id": world.acme_city.pk,
        "practitioner_id": world.paul.pk,
        "start_on": MONDAY.isoformat(),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def start(world, calendar, patient, *, book: bool = True) -> Course:
    return course_create(
        patient=patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=MONDAY,
        acting_user=world.paul,
        book=book,
    ).course


@contextmanager
def no_course_written() -> Iterator[None]:
    def state() -> tuple[Any, ...]:
        return (
            list(Course.objects.order_by("pk").values()),
            list(CourseSession.objects.order_by("pk").values()),
            list(Appointment.objects.order_by("pk").values()),
        )

    before = state()
    with nothing_written():
        yield
    assert state() == before, "a course, session or appointment was written"


def offset_of(text: str) -> dt.timedelta | None:
    return dt.datetime.fromisoformat(text).utcoffset()


# --- Starting a course ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_start_a_course_and_every_session_is_booked(
    api_for, world, calendar, ready_patient, persona
):
    response = api_for(persona).post(COURSES, payload(world, calendar, ready_patient))
    assert response.status_code == 201, response.content
    body = response.json()
    course = Course.objects.get(pk=body["id"])
    assert course.created_by == world.persona(persona)
    assert course.protocol_version == calendar.hair
    assert body["status"] == "active"
    assert body["timezone"] == "Europe/London"
    assert body["patient"]["id"] == ready_patient.pk
    assert body["protocol"] == {
        "id": calendar.hair.protocol_id,
        "version": 1,
        "name": calendar.hair.name,
        "kind": "mesotherapy",
        "area": "scalp",
    }
    assert body["clinic"] == {"id": world.acme_city.pk, "name": "Acme City"}
    assert body["practitioner"]["id"] == world.paul.pk
    assert body["induction_sessions"] == 8
    sessions = body["sessions"]
    assert [s["position"] for s in sessions] == HAIR_POSITIONS
    assert [s["phase"] for s in sessions] == ["induction"] * 8 + ["maintenance"] * 2 + ["review"]
    assert [s["number"] for s in sessions] == [*range(1, 9), 1, 2, 1]
    assert body["unplaced"] == []
    assert len(body["booked"]) == 11 and body["moved"] == []
    first = sessions[0]
    assert (first["earliest_on"], first["target_on"]) == ("2026-12-07", "2026-12-07")
    assert first["status"] == "booked" and first["off_protocol"] is None
    assert first["appointment"]["starts_at"] == "2026-12-07T09:00:00Z"
    for session in sessions:
        appointment = session["appointment"]
        assert appointment is not None
        assert offset_of(appointment["starts_at"]) is not None
        assert appointment["room"]["name"] in {"Room 1", "Room 2"}
        starts = dt.date.fromisoformat(appointment["starts_at"][:10])
        assert session["earliest_on"] <= starts.isoformat() <= session["latest_on"]
    # Summer times carry the British Summer Time offset.
    assert sessions[8]["appointment"]["starts_at"].endswith("+01:00")
    assert set(body["booked"]) == set(
        Appointment.objects.filter(course_session__course=course).values_list("pk", flat=True)
    )
    assert AuditEvent.objects.filter(action="course.create", object_id=str(course.pk)).exists()


def test_a_course_can_be_planned_without_booking(api_for, world, calendar, ready_patient):
    response = api_for("fiona").post(COURSES, payload(world, calendar, ready_patient, book=False))
    assert response.status_code == 201
    body = response.json()
    assert all(s["appointment"] is None for s in body["sessions"])
    assert all(s["status"] == "planned" for s in body["sessions"])
    assert body["unplaced"] == HAIR_POSITIONS
    assert body["booked"] == []
    assert not Appointment.objects.exists()


def test_preferences_shape_the_booking(api_for, world, calendar, ready_patient):
    response = api_for("paul").post(
        COURSES,
        payload(
            world,
            calendar,
            ready_patient,
            induction_sessions=6,
            preferred_weekdays=[3, 1],
            preferred_time="afternoon",
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["induction_sessions"] == 6
    assert body["preferred_weekdays"] == [1, 3]
    assert body["preferred_time"] == "afternoon"
    assert len(body["sessions"]) == 6 + 2 + 1
    for session in body["sessions"]:
        starts = dt.datetime.fromisoformat(session["appointment"]["starts_at"])
        local = starts.astimezone(world.acme_city.tzinfo)
        assert local.weekday() in {1, 3}, session
        assert local.hour >= 12, session


# --- Refusals ------------------------------------------------------------------------------


def test_an_unscreened_patient_cannot_start_a_course(api_for, world, calendar):
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(COURSES, payload(world, calendar, world.acme_patient)), 422)
    assert field_messages(body, "protocol_id") == [
        "Screen the patient for Mesotherapy before starting a course."
    ]


def test_a_patient_screened_not_eligible_cannot_start_a_course(api_for, world, calendar):
    patient = make_ready_patient(world, calendar.hair, outcome="not_eligible", family_name="No")
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(COURSES, payload(world, calendar, patient)), 422)
    [message] = field_messages(body, "protocol_id")
    assert "does not allow this treatment: Not eligible" in message


def test_a_patient_without_the_consent_cannot_start_a_course(api_for, world, calendar):
    patient = make_ready_patient(world, calendar.hair, family_name="Withdrawn")
    consent_withdraw(
        consent=patient.consents.get(), reason="Changed her mind", acting_user=world.paul
    )
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(COURSES, payload(world, calendar, patient)), 422)
    assert field_messages(body, "protocol_id") == [
        "The patient has not signed the current consent for: Hair mesotherapy."
    ]


BAD_COURSES = [
    pytest.param(
        {"start_on": "2026-11-01"},
        "start_on",
        "The start date is more than 14 days in the past.",
        id="start-far-in-the-past",
    ),
    pytest.param(
        {"start_on": "2028-01-10"},
        "start_on",
        "The start date is more than a year ahead.",
        id="start-too-far-ahead",
    ),
    pytest.param(
        {"start_on": "07/12/2026"}, "start_on", "Input should be a valid date", id="start-not-iso"
    ),
    pytest.param(
        {"start_on": 1796601600}, "start_on", "Give the value as text", id="start-a-number"
    ),
    pytest.param(
        {"induction_sessions": 0},
        "induction_sessions",
        "Give from 1 to 52 induction sessions",
        id="zero-sessions",
    ),
    pytest.param(
        {"induction_sessions": 12},
        "induction_sessions",
        "This protocol plans 6 to 8 induction sessions.",
        id="sessions-outside-protocol",
    ),
    pytest.param(
        {"preferred_weekdays": [7]},
        "preferred_weekdays",
        "Weekdays are 0 (Monday) to 6 (Sunday).",
        id="weekday-7",
    ),
    pytest.param(
        {"preferred_time": "evening"},
        "preferred_time",
        "Use one of any, morning, afternoon.",
        id="evening",
    ),
    pytest.param(
        {"protocol_id": 999_999},
        "protocol_id",
        "No protocol with this id in your organisation.",
        id="unknown-protocol",
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
        "No practitioner with this id in your organisation.",
        id="unknown-practitioner",
    ),
    pytest.param(
        {"patient_id": 999_999},
        "patient_id",
        "No patient with this id in your organisation.",
        id="unknown-patient",
    ),
    pytest.param({"patient_id": None}, "patient_id", "This field is required.", id="no-patient"),
    pytest.param({"book": "yes"}, "book", "Input should be a valid boolean", id="book-text"),
    pytest.param({"colour": "blue"}, "colour", "Unknown field.", id="unknown-field"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_COURSES)
def test_bad_course_input_is_refused_with_a_field_message_and_nothing_written(
    api_for, world, calendar, ready_patient, changes, field, message
):
    client = api_for("fiona")
    body_in = payload(world, calendar, ready_patient, **changes)
    with no_course_written():
        body = problem(client.post(COURSES, body_in), 422)
    messages = field_messages(body, field)
    assert messages and messages[0].startswith(message), body


def test_another_organisations_ids_in_the_body_are_refused_by_field(
    api_for, world, calendar, ready_patient
):
    other_protocol = Protocol.objects.get(organisation=world.other, code="hair-mesotherapy")
    client = api_for("alice")
    cases = {
        "protocol_id": other_protocol.pk,
        "clinic_id": world.other_clinic.pk,
        "practitioner_id": world.oscar.pk,
        "patient_id": world.other_patient.pk,
    }
    with no_course_written():
        for field, value in cases.items():
            body = problem(
                client.post(COURSES, payload(world, calendar, ready_patient, **{field: value})), 422
            )
            assert field_messages(body, field)[0].endswith("with this id in your organisation.")


def test_the_front_desk_is_not_a_practitioner(api_for, world, calendar, ready_patient):
    client = api_for("alice")
    with no_course_written():
        body = problem(
            client.post(
                COURSES, payload(world, calendar, ready_patient, practitioner_id=world.fiona.pk)
            ),
            422,
        )
    assert field_messages(body, "practitioner_id") == [
        "No practitioner with this id in your organisation."
    ]


def test_a_protocol_no_longer_offered_starts_no_course(api_for, world, calendar, ready_patient):
    Protocol.objects.filter(pk=calendar.hair.protocol_id).update(is_active=False)
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(COURSES, payload(world, calendar, ready_patient)), 422)
    assert field_messages(body, "protocol_id") == ["This protocol is no longer offered."]


def test_a_second_active_course_of_the_same_protocol_is_a_conflict(
    api_for, world, calendar, ready_patient
):
    start(world, calendar, ready_patient, book=False)
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(COURSES, payload(world, calendar, ready_patient)), 409)
    assert field_messages(body, "protocol_id") == [
        "The patient already has an active course of this protocol."
    ]


# --- Reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_a_patients_courses_and_the_read_is_audited(
    api_for, world, calendar, ready_patient, persona
):
    course = start(world, calendar, ready_patient)
    client = api_for(persona)
    response = client.get(COURSES, {"patient_id": ready_patient.pk})
    assert response.status_code == 200
    [item] = response.json()
    assert item["id"] == course.pk
    assert len(item["sessions"]) == 11
    assert all(s["appointment"] is not None for s in item["sessions"])
    event = AuditEvent.objects.filter(action="patient.read").latest("pk")
    assert (event.actor, event.patient) == (world.persona(persona), ready_patient)


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_one_course(api_for, world, calendar, ready_patient, persona):
    course = start(world, calendar, ready_patient)
    body = api_for(persona).get(course_url(course)).json()
    assert body["id"] == course.pk
    assert body["unplaced"] == []
    assert body["sessions"][0]["appointment"]["practitioner"] == {
        "id": world.paul.pk,
        "name": "Paul Practitioner",
    }
    assert "booked" not in body


def test_the_list_needs_a_patient_of_the_organisation(api_for, world, calendar):
    client = api_for("paul")
    assert field_messages(problem(client.get(COURSES), 422), "patient_id") == [
        "This field is required."
    ]
    body = problem(client.get(COURSES, {"patient_id": world.other_patient.pk}), 422)
    assert field_messages(body, "patient_id") == ["No patient with this id in your organisation."]


# --- Access --------------------------------------------------------------------------------


def _writes(course: Course) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        (course_url(course, "/book"), None),
        (course_url(course, "/cancel"), {"reason": "Moving abroad"}),
    ]


def test_the_auditor_starts_books_and_cancels_nothing(api_for, world, calendar, ready_patient):
    other = make_ready_patient(world, calendar.hair, family_name="Second")
    course = start(world, calendar, ready_patient)
    client = api_for("audrey")
    with no_course_written():
        problem(client.post(COURSES, payload(world, calendar, other)), 403)
        for path, body in _writes(course):
            assert problem(client.post(path, body), 403)["detail"] == "Your role is read-only."


def test_another_organisation_gets_404_for_a_course(api_for, world, calendar, ready_patient):
    course = start(world, calendar, ready_patient)
    client = api_for("oscar")
    with no_course_written():
        problem(client.get(course_url(course)), 404)
        for path, body in _writes(course):
            problem(client.post(path, body), 404)
        body = problem(client.post(COURSES, payload(world, calendar, ready_patient)), 422)
        assert field_messages(body, "patient_id")
        problem(client.get(COURSES, {"patient_id": ready_patient.pk}), 422)


@pytest.mark.parametrize("token", ["absent", "revoked"])
def test_without_a_valid_token_every_course_endpoint_is_401(
    api_for, token_for, world, calendar, ready_patient, token
):
    course = start(world, calendar, ready_patient)
    if token == "absent":
        client = api_for("anonymous")
    else:
        client = ApiClient(token_for("paul"))
        api_token_revoke(token=ApiToken.objects.get(user=world.paul), acting_user=world.alice)
    with no_course_written():
        problem(client.get(COURSES, {"patient_id": ready_patient.pk}), 401)
        problem(client.get(course_url(course)), 401)
        problem(client.post(COURSES, payload(world, calendar, ready_patient)), 401)
        for path, body in _writes(course):
            problem(client.post(path, body), 401)


# --- Keeping on track and cancelling --------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_booking_a_course_books_the_sessions_that_lost_their_appointment(
    api_for, world, calendar, ready_patient, persona
):
    course = start(world, calendar, ready_patient)
    third = Appointment.objects.get(course_session__course=course, course_session__position=3)
    appointment_cancel(appointment=third, reason="Ill", acting_user=world.fiona)
    client = api_for(persona)
    before = client.get(course_url(course)).json()
    assert before["unplaced"] == [3]
    assert before["sessions"][2]["appointment"] is None
    response = client.post(course_url(course, "/book"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unplaced"] == []
    [booked] = body["booked"]
    assert body["sessions"][2]["appointment"]["id"] == booked
    assert Appointment.objects.get(pk=booked).course_session.position == 3


@pytest.mark.parametrize("persona", WRITERS)
def test_a_course_is_cancelled_with_a_reason_and_its_appointments_with_it(
    api_for, world, calendar, ready_patient, persona
):
    course = start(world, calendar, ready_patient)
    response = api_for(persona).post(course_url(course, "/cancel"), {"reason": "Moving abroad"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancel_reason"] == "Moving abroad"
    assert body["cancelled_at"] is not None
    assert body["unplaced"] == []
    assert all(s["status"] == "cancelled" and s["appointment"] is None for s in body["sessions"])
    statuses = set(
        Appointment.objects.filter(course_session__course=course).values_list("status", flat=True)
    )
    assert statuses == {AppointmentStatus.CANCELLED}
    assert set(CourseSession.objects.filter(course=course).values_list("status", flat=True)) == {
        SessionStatus.CANCELLED
    }
    event = AuditEvent.objects.filter(action="course.cancel").latest("pk")
    assert event.actor == world.persona(persona)


@pytest.mark.parametrize(
    ("body_in", "message"),
    [({}, "This field is required."), ({"reason": "   "}, "Give a reason.")],
    ids=["no-reason", "blank-reason"],
)
def test_cancelling_a_course_needs_a_reason(
    api_for, world, calendar, ready_patient, body_in, message
):
    course = start(world, calendar, ready_patient)
    client = api_for("paul")
    with no_course_written():
        body = problem(client.post(course_url(course, "/cancel"), body_in), 422)
    assert field_messages(body, "reason") == [message]


def test_a_cancelled_course_is_neither_booked_nor_cancelled_again(
    api_for, world, calendar, ready_patient
):
    course = start(world, calendar, ready_patient, book=False)
    course_cancel(course=course, reason="Stopped", acting_user=world.paul)
    client = api_for("paul")
    with no_course_written():
        assert problem(client.post(course_url(course, "/book")), 422)["detail"] == (
            "Only an active course can be booked."
        )
        assert problem(client.post(course_url(course, "/cancel"), {"reason": "Again"}), 422)[
            "detail"
        ] == ("This course is not active.")


# --- Query counts and the document ----------------------------------------------------------


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add_courses(world, calendar, patient, count: int) -> None:
    """``count`` more courses: the active one is cancelled and a new active one started
    (booked), so the patient always has one active, booked course."""
    for _ in range(count):
        active = Course.objects.filter(patient=patient, status="active").first()
        if active is not None:
            course_cancel(course=active, reason="Restart", acting_user=world.paul)
        start(world, calendar, patient)


def test_listing_courses_costs_the_same_with_2_and_10_courses(
    api_for, world, calendar, ready_patient
):
    client = api_for("paul")
    params = {"patient_id": ready_patient.pk}
    _add_courses(world, calendar, ready_patient, 2)
    client.get(COURSES, params)
    with_2 = _queries(client, COURSES, params)
    _add_courses(world, calendar, ready_patient, 8)
    assert len(client.get(COURSES, params).json()) == 10
    assert _queries(client, COURSES, params) == with_2


def test_the_openapi_document_lists_the_course_paths(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/courses"]) == {"get", "post"}
    assert set(paths["/api/v1/courses/{course_id}"]) == {"get"}
    assert set(paths["/api/v1/courses/{course_id}/book"]) == {"post"}
    assert set(paths["/api/v1/courses/{course_id}/cancel"]) == {"post"}
    assert "201" in paths["/api/v1/courses"]["post"]["responses"]
