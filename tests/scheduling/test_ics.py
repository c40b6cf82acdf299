"""iCalendar output: parses back, clinic-local times with TZID across summer time, and the
practitioner's feed never names a patient.

Also holds the small scheduling factory (``build_scene``, ``make_course``,
``make_appointment``) the reminder and feed tests import: rows made through the ORM, so
these tests do not depend on the booking service.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import pytest
from icalendar import Calendar

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.scheduling.ics import SELECT_RELATED, appointments_calendar
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    Course,
    CourseSession,
    Phase,
    Room,
    SessionStatus,
)
from mesoclinic.screening.models import Screening
from tests.conftest import World

LONDON = zoneinfo.ZoneInfo("Europe/London")
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


# --- the factory ------------------------------------------------------------------------------


@dataclass
class Scene:
    world: World
    room: Room
    kind: AppointmentType
    version: ProtocolVersion


def build_scene(world: World) -> Scene:
    Clinic.objects.filter(pk=world.acme_city.pk).update(
        address="12 Harley Lane\nLondon W1 2AB", phone="+44 20 7946 0000"
    )
    world.acme_city.refresh_from_db()
    room = Room.objects.create(organisation=world.acme, clinic=world.acme_city, name="Room 1")
    kind = AppointmentType.objects.create(
        organisation=world.acme,
        code="meso",
        name="Hair mesotherapy",
        kind=AppointmentKind.SESSION,
        duration_minutes=30,
    )
    protocol = Protocol.objects.create(organisation=world.acme, code="hair-meso")
    version = ProtocolVersion.objects.create(
        protocol=protocol,
        number=1,
        name="Hair mesotherapy (standard)",
        area="scalp",
        kind="mesotherapy",
        session_duration_minutes=30,
        induction_sessions_min=4,
        induction_sessions_max=8,
        induction_interval_min_days=7,
        induction_interval_target_days=7,
        induction_interval_max_days=14,
        maintenance_sessions=2,
        maintenance_interval_min_days=28,
        maintenance_interval_target_days=30,
        maintenance_interval_max_days=60,
    )
    return Scene(world=world, room=room, kind=kind, version=version)


def make_course(
    scene: Scene,
    patient: Patient,
    *,
    induction: int = 8,
    practitioner: User | None = None,
    clinic: Clinic | None = None,
    start_on: dt.date = dt.date(2026, 1, 5),
    status: str = "active",
) -> Course:
    world = scene.world
    practitioner = practitioner or world.paul
    screening = Screening.objects.create(
        organisation=patient.organisation,
        patient=patient,
        screened_on=start_on,
        screened_by=practitioner,
        protocol_kind="mesotherapy",
        outcome="eligible",
        rule_set_version="test",
        facts={},
        decision={},
    )
    return Course.objects.create(
        organisation=patient.organisation,
        patient=patient,
        protocol_version=scene.version,
        clinic=clinic or world.acme_city,
        practitioner=practitioner,
        screening=screening,
        start_on=start_on,
        induction_sessions=induction,
        status=status,
        created_by=practitioner,
    )


def make_session(
    course: Course,
    *,
    position: int,
    phase: str = Phase.INDUCTION,
    number: int | None = None,
    earliest_on: dt.date = dt.date(2026, 1, 5),
    window_days: int = 7,
    status: str = SessionStatus.PLANNED,
) -> CourseSession:
    return CourseSession.objects.create(
        organisation=course.organisation,
        course=course,
        position=position,
        phase=phase,
        number_in_phase=number if number is not None else position,
        earliest_on=earliest_on,
        target_on=earliest_on + dt.timedelta(days=window_days // 2),
        latest_on=earliest_on + dt.timedelta(days=window_days),
        status=status,
    )


def make_appointment(
    scene: Scene,
    *,
    patient: Patient,
    starts_at: dt.datetime,
    minutes: int = 30,
    practitioner: User | None = None,
    clinic: Clinic | None = None,
    room: Room | None = None,
    session: CourseSession | None = None,
    status: str = AppointmentStatus.BOOKED,
) -> Appointment:
    world = scene.world
    practitioner = practitioner or world.paul
    return Appointment.objects.create(
        organisation=patient.organisation,
        clinic=clinic or world.acme_city,
        practitioner=practitioner,
        room=room if room is not None else (scene.room if clinic is None else None),
        patient=patient,
        appointment_type=scene.kind,
        course_session=session,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes),
        status=status,
        created_by=practitioner,
    )


def loaded(*appointments: Appointment) -> list[Appointment]:
    """The appointments as the views and reminders load them."""
    return list(
        Appointment.objects.filter(pk__in=[a.pk for a in appointments])
        .select_related(*SELECT_RELATED)
        .order_by("starts_at", "pk")
    )


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


# --- the tests --------------------------------------------------------------------------------


@pytest.fixture
def scene(world):
    return build_scene(world)


@pytest.fixture
def third_session(scene, world):
    course = make_course(scene, world.acme_patient, induction=8)
    session = make_session(course, position=3, earliest_on=dt.date(2026, 3, 27))
    return make_appointment(
        scene, patient=world.acme_patient, starts_at=london(2026, 3, 30, 9), session=session
    )


def test_patient_calendar_parses_back_with_clinic_local_time_after_summer_time_starts(
    third_session,
):
    calendar = parse(appointments_calendar(loaded(third_session), name="Mine", for_patient=True))

    assert str(calendar["PRODID"]) == "-//mesoclinic//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Mine"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{third_session.pk}@mesoclinic"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTEND"].params["TZID"] == "Europe/London"
    start = event.decoded("DTSTART")
    # 30 March 2026 is after the clocks went forward (29 March): 09:00 BST is 08:00 UTC.
    assert (start.hour, start.minute) == (9, 0)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND").astimezone(dt.UTC) == dt.datetime(
        2026, 3, 30, 8, 30, tzinfo=dt.UTC
    )
    assert "DTSTAMP" in event


def test_a_winter_and_a_summer_appointment_keep_their_wall_clock_hour(scene, world):
    winter = make_appointment(scene, patient=world.acme_patient, starts_at=london(2026, 3, 27, 9))
    summer = make_appointment(scene, patient=world.acme_patient, starts_at=london(2026, 3, 30, 9))
    calendar = parse(appointments_calendar(loaded(winter, summer), name="x", for_patient=True))

    starts = {str(e["UID"]): e.decoded("DTSTART") for e in calendar.events}
    assert starts[f"appointment-{winter.pk}@mesoclinic"].astimezone(dt.UTC).hour == 9
    assert starts[f"appointment-{summer.pk}@mesoclinic"].astimezone(dt.UTC).hour == 8
    assert {s.hour for s in starts.values()} == {9}


def test_calendar_carries_the_vtimezone_of_every_zone_used(scene, world):
    madrid_patient = world.other_patient
    other_type = AppointmentType.objects.create(
        organisation=world.other,
        code="meso",
        name="Mesoterapia",
        kind="session",
        duration_minutes=30,
    )
    london_visit = make_appointment(
        scene, patient=world.acme_patient, starts_at=london(2026, 3, 30, 9)
    )
    madrid_visit = Appointment.objects.create(
        organisation=world.other,
        clinic=world.other_clinic,
        practitioner=world.oscar,
        patient=madrid_patient,
        appointment_type=other_type,
        starts_at=dt.datetime(2026, 3, 30, 10, tzinfo=MADRID),
        ends_at=dt.datetime(2026, 3, 30, 10, 30, tzinfo=MADRID),
        created_by=world.oscar,
    )
    body = appointments_calendar(loaded(london_visit, madrid_visit), name="x", for_patient=True)
    calendar = parse(body)

    assert {str(tz["TZID"]) for tz in calendar.timezones} == {"Europe/London", "Europe/Madrid"}
    madrid_event = next(e for e in calendar.events if "Mesoterapia" in str(e["SUMMARY"]))
    assert madrid_event["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert madrid_event.decoded("DTSTART").astimezone(dt.UTC).hour == 8


def test_patient_summary_names_the_treatment_session_and_clinic(third_session):
    calendar = parse(appointments_calendar(loaded(third_session), name="x", for_patient=True))
    [event] = calendar.events

    assert str(event["SUMMARY"]) == "Hair mesotherapy, session 3 of 8 — Acme City"
    assert str(event["LOCATION"]) == "Acme City, 12 Harley Lane, London W1 2AB"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "+44 20 7946 0000" in str(event["DESCRIPTION"])


def test_maintenance_and_unplanned_visits_have_their_own_summaries(scene, world):
    course = make_course(scene, world.acme_patient)
    maintenance = make_session(course, position=9, phase=Phase.MAINTENANCE, number=2)
    visit = make_appointment(
        scene, patient=world.acme_patient, starts_at=london(2026, 5, 4, 9), session=maintenance
    )
    walk_in = make_appointment(scene, patient=world.acme_patient, starts_at=london(2026, 5, 5, 9))
    calendar = parse(appointments_calendar(loaded(visit, walk_in), name="x", for_patient=True))

    assert [str(e["SUMMARY"]) for e in calendar.events] == [
        "Hair mesotherapy, maintenance session 2 — Acme City",
        "Hair mesotherapy — Acme City",
    ]


def test_cancelled_appointment_is_marked_cancelled(scene, world):
    cancelled = make_appointment(
        scene,
        patient=world.acme_patient,
        starts_at=london(2026, 3, 30, 9),
        status=AppointmentStatus.CANCELLED,
    )
    [event] = parse(appointments_calendar(loaded(cancelled), name="x", for_patient=True)).events

    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("Cancelled: ")


@pytest.mark.parametrize("status", [AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN])
def test_active_appointments_are_confirmed(scene, world, status):
    visit = make_appointment(
        scene, patient=world.acme_patient, starts_at=london(2026, 3, 30, 9), status=status
    )
    [event] = parse(appointments_calendar(loaded(visit), name="x", for_patient=True)).events
    assert str(event["STATUS"]) == "CONFIRMED"


def test_practitioner_feed_shows_record_number_and_room_but_no_patient_name(third_session, world):
    body = appointments_calendar(loaded(third_session), name="Paul", for_patient=False)
    [event] = parse(body).events

    patient = world.acme_patient
    assert str(event["SUMMARY"]) == f"{patient.mrn} — Hair mesotherapy, session 3 of 8"
    assert "Room: Room 1" in str(event["DESCRIPTION"])
    text = body.decode()
    for name in (patient.given_name, patient.family_name, patient.email):
        assert name not in text


def test_empty_calendar_is_still_a_valid_calendar():
    calendar = parse(appointments_calendar([], name="Nothing yet", for_patient=False))
    assert calendar.events == []
    assert str(calendar["X-WR-CALNAME"]) == "Nothing yet"


def test_building_a_calendar_runs_no_query_per_appointment(scene, world, django_assert_num_queries):
    course = make_course(scene, world.acme_patient)
    for day in range(1, 6):
        session = make_session(course, position=day)
        make_appointment(
            scene, patient=world.acme_patient, starts_at=london(2026, 6, day, 9), session=session
        )
    appointments = list(
        Appointment.objects.filter(patient=world.acme_patient).select_related(*SELECT_RELATED)
    )
    with django_assert_num_queries(0):
        body = appointments_calendar(appointments, name="x", for_patient=True)
        body += appointments_calendar(appointments, name="x", for_patient=False)
    assert body.count(b"BEGIN:VEVENT") == 10
