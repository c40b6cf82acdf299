"""Starting, booking and re-planning courses through the services (the one write path)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction

from mesoclinic.core.audit import ACTIONS
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Course,
    CourseSession,
    CourseStatus,
    SessionStatus,
)
from mesoclinic.scheduling.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_move,
    appointment_no_show,
    course_book,
    course_cancel,
    course_create,
)
from tests.scheduling_fixtures import FIXED_NOW, LONDON, make_ready_patient

TODAY = FIXED_NOW.date()


def start(calendar, patient, **overrides):
    values = {
        "patient": patient,
        "protocol_version": calendar.hair,
        "clinic": calendar.world.acme_city,
        "practitioner": calendar.world.paul,
        "start_on": TODAY,
        "acting_user": calendar.world.fiona,
    }
    values.update(overrides)
    return course_create(**values)


def local(appointment):
    return appointment.starts_at.astimezone(LONDON)


def sessions(course):
    return list(CourseSession.objects.filter(course=course).order_by("position"))


def active_appointment(session):
    return Appointment.objects.get(course_session=session, status__in=ACTIVE_STATUSES)


def test_a_course_books_every_session_inside_its_window(calendar, ready_patient):
    result = start(calendar, ready_patient)

    # 8 induction + 2 maintenance + 1 review for the shipped hair protocol.
    rows = sessions(result.course)
    assert len(rows) == 11
    assert result.unplaced == []
    assert len(result.booked) == 11
    for row in rows:
        appointment = active_appointment(row)
        day = local(appointment).date()
        assert row.earliest_on <= day <= row.latest_on, row.position
        assert row.status == SessionStatus.BOOKED
        assert row.off_protocol == ""
        # Inside opening hours, on a weekday, with a room.
        assert day.weekday() < 5
        assert dt.time(9) <= local(appointment).time() < dt.time(17)
        assert appointment.room is not None
    first = active_appointment(rows[0])
    assert local(first) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=LONDON)
    assert first.ends_at - first.starts_at == dt.timedelta(minutes=45)
    assert AuditEvent.objects.filter(action="course.create", patient=ready_patient).count() == 1
    assert AuditEvent.objects.filter(action="appointment.book", patient=ready_patient).count() == 11


def test_windows_follow_the_booked_dates_of_earlier_sessions(calendar, ready_patient):
    rows = sessions(start(calendar, ready_patient).course)
    for previous, row in itertools.pairwise(rows[:8]):
        booked = local(active_appointment(previous)).date()
        assert row.earliest_on == booked + dt.timedelta(days=14)
        assert row.latest_on == booked + dt.timedelta(days=21)


def test_the_patients_preferred_weekday_and_time_are_used_where_possible(calendar, ready_patient):
    result = start(calendar, ready_patient, preferred_weekdays=[3], preferred_time="afternoon")
    for appointment in result.booked:
        assert local(appointment).weekday() == 3
        assert local(appointment).hour >= 12


def test_a_patient_without_a_screening_cannot_start_a_course(calendar, world):
    from tests.conftest import make_patient

    patient = make_patient(world.acme, world.fiona, given_name="Una", family_name="Screened")
    with pytest.raises(DomainError, match="Screen the patient"):
        start(calendar, patient)
    assert not Course.objects.exists()


def test_a_screening_that_says_not_eligible_blocks_the_course(calendar, world):
    patient = make_ready_patient(world, calendar.hair, outcome="not_eligible", family_name="No")
    with pytest.raises(DomainError, match="does not allow"):
        start(calendar, patient)
    assert not Course.objects.exists()


def test_a_screening_that_missed_an_ingredient_of_the_protocol_blocks_it(calendar, world):
    # Screened for PRP (no ingredients) but the combined protocol has the cocktail.
    patient = make_ready_patient(world, calendar.prp, family_name="Prp")
    dutasteride = calendar.protocol("dutasteride-mesotherapy")
    from mesoclinic.screening.models import Screening

    Screening.objects.filter(patient=patient).update(protocol_kind="mesotherapy", ingredients=[])
    with pytest.raises(DomainError, match="dutasteride"):
        start(calendar, patient, protocol_version=dutasteride)


def test_a_patient_who_has_not_signed_the_consent_cannot_start(calendar, world):
    from mesoclinic.patients.models import SignedConsent

    patient = make_ready_patient(world, calendar.hair, family_name="Unsigned")
    SignedConsent.objects.filter(patient=patient).delete()
    with pytest.raises(DomainError, match="consent"):
        start(calendar, patient)
    assert not Course.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_on": TODAY - dt.timedelta(days=15)}, "in the past"),
        ({"start_on": TODAY + dt.timedelta(days=400)}, "a year ahead"),
        ({"induction_sessions": 0}, "6 to 8"),
        ({"induction_sessions": 9}, "6 to 8"),
    ],
    ids=["past-beyond-grace", "far-future", "zero-sessions", "too-many-sessions"],
)
def test_bad_course_input_is_refused_with_a_clear_message_and_nothing_written(
    calendar, ready_patient, overrides, message
):
    if overrides.get("induction_sessions") == 0:
        # Zero means "not given" to the service; the edge refuses it. Here: below minimum.
        overrides = {"induction_sessions": 5}
    with pytest.raises(DomainError, match=message):
        start(calendar, ready_patient, **overrides)
    assert not Course.objects.exists()
    assert not Appointment.objects.exists()


def test_a_start_inside_the_grace_period_plans_from_that_date_and_books_from_today(
    calendar, ready_patient
):
    result = start(calendar, ready_patient, start_on=TODAY - dt.timedelta(days=5))
    first = sessions(result.course)[0]
    assert first.earliest_on == TODAY - dt.timedelta(days=5)
    assert local(active_appointment(first)).date() >= TODAY


def test_a_second_active_course_of_the_same_protocol_is_refused(calendar, ready_patient):
    start(calendar, ready_patient)
    with pytest.raises(Conflict, match="already has an active course"):
        start(calendar, ready_patient)


def test_a_practitioner_of_another_organisation_is_refused(calendar, ready_patient, world):
    with pytest.raises(DomainError, match="practitioner"):
        start(calendar, ready_patient, practitioner=world.oscar)


def test_sessions_without_a_free_slot_are_listed_as_unplaced(calendar, ready_patient, world):
    from mesoclinic.scheduling.models import ClinicClosure

    # The clinic is closed for the whole window of session 2 and beyond.
    ClinicClosure.objects.create(
        organisation=world.acme,
        clinic=world.acme_city,
        starts_on=TODAY + dt.timedelta(days=10),
        ends_on=TODAY + dt.timedelta(days=30),
    )
    result = start(calendar, ready_patient)
    assert [s.position for s in result.unplaced] == [2]
    row = sessions(result.course)[1]
    assert row.status == SessionStatus.PLANNED
    assert not Appointment.objects.filter(course_session=row).exists()


def test_a_missed_session_is_rebooked_and_the_rest_replanned(calendar, ready_patient, fixed_clock):
    course = start(calendar, ready_patient).course
    second = sessions(course)[1]
    missed = active_appointment(second)
    fixed_clock.set(missed.starts_at + dt.timedelta(hours=2))
    old_third_window = (sessions(course)[2].earliest_on, sessions(course)[2].latest_on)

    result = appointment_no_show(appointment=missed, acting_user=calendar.world.fiona)

    missed.refresh_from_db()
    assert missed.status == AppointmentStatus.NO_SHOW
    second.refresh_from_db()
    assert second.not_before == local(missed).date() + dt.timedelta(days=1)
    rebooked = active_appointment(second)
    assert local(rebooked).date() > local(missed).date()
    assert result is not None and rebooked in result.booked
    third = sessions(course)[2]
    # The third session's window now follows the re-booked second one.
    assert third.earliest_on == local(rebooked).date() + dt.timedelta(days=14)
    assert (third.earliest_on, third.latest_on) != old_third_window
    assert local(active_appointment(third)).date() >= third.earliest_on
    assert AuditEvent.objects.filter(action="appointment.no_show").count() == 1


def test_a_late_session_shifts_the_remaining_windows_from_its_actual_date(
    calendar, ready_patient, fixed_clock
):
    course = start(calendar, ready_patient).course
    first_appointment = active_appointment(sessions(course)[0])
    # Move the first session three days later (still within its 14-day window), check in.
    later = first_appointment.starts_at + dt.timedelta(days=2)
    appointment_move(
        appointment=first_appointment, starts_at=later, acting_user=calendar.world.fiona
    )
    fixed_clock.set(later - dt.timedelta(minutes=10))
    appointment_check_in(appointment=first_appointment, acting_user=calendar.world.fiona)
    # Arrival alone does not advance the course: the signed chart does.
    assert sessions(course)[0].status == SessionStatus.BOOKED
    complete(first_appointment, by=calendar.world.paul)

    first, second = sessions(course)[:2]
    assert first.status == SessionStatus.DONE
    assert first.done_on == later.astimezone(LONDON).date()
    assert second.earliest_on == first.done_on + dt.timedelta(days=14)
    assert second.latest_on == first.done_on + dt.timedelta(days=21)


def test_check_in_is_only_possible_on_the_day(calendar, ready_patient):
    course = start(calendar, ready_patient).course
    second = active_appointment(sessions(course)[1])
    with pytest.raises(DomainError, match="on the day"):
        appointment_check_in(appointment=second, acting_user=calendar.world.fiona)
    second.refresh_from_db()
    assert second.status == AppointmentStatus.BOOKED


def test_a_future_appointment_cannot_be_marked_missed(calendar, ready_patient):
    course = start(calendar, ready_patient).course
    with pytest.raises(DomainError, match="once its time has come"):
        appointment_no_show(
            appointment=active_appointment(sessions(course)[1]), acting_user=calendar.world.fiona
        )


def test_a_booking_moved_outside_its_window_is_flagged_off_protocol(calendar, ready_patient):
    course = start(calendar, ready_patient).course
    second = sessions(course)[1]
    appointment = active_appointment(second)
    too_late = dt.datetime.combine(
        second.latest_on + dt.timedelta(days=5), dt.time(10), tzinfo=LONDON
    )
    while too_late.weekday() >= 5:
        too_late += dt.timedelta(days=1)
    appointment_move(appointment=appointment, starts_at=too_late, acting_user=calendar.world.fiona)
    second.refresh_from_db()
    assert second.off_protocol == "late"
    assert second.off_by_days >= 5
    # Keeping the course on track moves it back inside its window.
    result = course_book(course=course, acting_user=calendar.world.fiona)
    assert [a.pk for a in result.moved] == [appointment.pk]
    second.refresh_from_db()
    assert second.off_protocol == ""


def test_cancelling_an_appointment_keeps_the_reason_and_frees_the_session(calendar, ready_patient):
    course = start(calendar, ready_patient).course
    appointment = active_appointment(sessions(course)[2])
    appointment_cancel(
        appointment=appointment, reason="Patient on holiday", acting_user=calendar.world.fiona
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.status_reason == "Patient on holiday"
    assert sessions(course)[2].status == SessionStatus.PLANNED
    with pytest.raises(Conflict):
        appointment_cancel(
            appointment=appointment, reason="again", acting_user=calendar.world.fiona
        )


def test_cancelling_a_course_cancels_its_appointments_and_keeps_done_sessions(
    calendar, ready_patient, fixed_clock
):
    course = start(calendar, ready_patient).course
    first = active_appointment(sessions(course)[0])
    fixed_clock.set(first.starts_at)
    appointment_check_in(appointment=first, acting_user=calendar.world.fiona)
    complete(first, by=calendar.world.paul)
    course_cancel(course=course, reason="Patient moved away", acting_user=calendar.world.alice)
    course.refresh_from_db()
    assert course.status == CourseStatus.CANCELLED
    assert not Appointment.objects.filter(
        course_session__course=course, status=AppointmentStatus.BOOKED
    ).exists()
    rows = sessions(course)
    assert rows[0].status == SessionStatus.DONE
    assert {r.status for r in rows[1:]} == {SessionStatus.CANCELLED}


def complete(appointment, *, by):
    """What signing the session's chart does to the appointment (treatments.session_sign)."""
    with transaction.atomic():
        appointment_complete(appointment=appointment, acting_user=by)


def test_every_scheduling_action_is_a_registered_audit_action():
    for action in (
        "course.create",
        "course.replan",
        "course.cancel",
        "appointment.book",
        "appointment.move",
        "appointment.cancel",
        "appointment.check_in",
        "appointment.no_show",
        "appointment.complete",
    ):
        assert action in ACTIONS


def test_a_course_across_the_clock_change_keeps_local_times_and_real_lengths(
    calendar, ready_patient, fixed_clock
):
    # Europe/London moves to summer time on Sunday 28 March 2027.
    fixed_clock.set(dt.datetime(2027, 3, 15, 8, 0, tzinfo=LONDON))
    result = start(calendar, ready_patient, start_on=dt.date(2027, 3, 15))
    before, after = (active_appointment(s) for s in sessions(result.course)[:2])
    assert local(before) == dt.datetime(2027, 3, 15, 9, 0, tzinfo=LONDON)
    assert local(after).date() >= dt.date(2027, 3, 29)
    assert local(after).time() == dt.time(9, 0)
    # Same wall-clock time, one hour apart in UTC: GMT before, BST after.
    assert local(before).utcoffset() == dt.timedelta(0)
    assert local(after).utcoffset() == dt.timedelta(hours=1)
    for appointment in (before, after):
        assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=45)


def test_a_course_started_in_the_afternoon_is_not_booked_into_the_morning_gone_by(
    calendar, ready_patient, fixed_clock
):
    fixed_clock.set(FIXED_NOW.replace(hour=15, minute=5))
    first = active_appointment(sessions(start(calendar, ready_patient).course)[0])
    assert local(first) >= FIXED_NOW.replace(hour=15, minute=15)


def test_a_session_missed_after_its_window_closed_can_still_be_booked(
    calendar, ready_patient, fixed_clock
):
    course = start(calendar, ready_patient)
    first = sessions(course.course)[0]
    appointment = active_appointment(first)
    last_day = dt.datetime.combine(first.latest_on, dt.time(16), tzinfo=LONDON)
    appointment_move(appointment=appointment, starts_at=last_day, acting_user=calendar.world.fiona)
    fixed_clock.set(last_day + dt.timedelta(hours=1))
    appointment_no_show(appointment=appointment, acting_user=calendar.world.fiona)
    first.refresh_from_db()
    assert first.off_protocol == "interval_exceeded"
    assert first.latest_on > first.earliest_on  # a real window, not a single closed day
    rebooked = active_appointment(first)
    assert first.earliest_on <= local(rebooked).date() <= first.latest_on


def test_a_practitioner_who_left_gets_no_new_sessions(calendar, ready_patient, world):
    from mesoclinic.accounts.models import Membership
    from mesoclinic.accounts.services import membership_deactivate

    course = start(calendar, ready_patient).course
    appointment = active_appointment(sessions(course)[3])
    appointment_cancel(appointment=appointment, reason="Paul leaves", acting_user=world.fiona)
    membership_deactivate(
        membership=Membership.objects.get(user=world.paul, organisation=world.acme),
        acting_user=world.alice,
    )
    result = course_book(course=course, acting_user=world.fiona)
    assert [a.practitioner for a in result.booked] == [world.alice]


def test_a_required_consent_without_a_text_blocks_the_course(calendar, world):
    from mesoclinic.patients.models import ConsentTemplate

    face = calendar.protocol("face-mesotherapy")
    patient = make_ready_patient(world, face, family_name="Face")
    from mesoclinic.patients.models import SignedConsent

    SignedConsent.objects.filter(patient=patient).delete()
    ConsentTemplate.objects.filter(organisation=world.acme, code="aesthetic_mesotherapy").delete()
    with pytest.raises(DomainError, match="aesthetic_mesotherapy"):
        start(calendar, patient, protocol_version=face)


def test_keeping_on_track_leaves_a_past_appointment_nobody_marked(
    calendar, ready_patient, fixed_clock
):
    course = start(calendar, ready_patient).course
    second = sessions(course)[1]
    appointment = active_appointment(second)
    late = dt.datetime.combine(second.latest_on + dt.timedelta(days=3), dt.time(10), tzinfo=LONDON)
    while late.weekday() >= 5:
        late += dt.timedelta(days=1)
    appointment_move(appointment=appointment, starts_at=late, acting_user=calendar.world.fiona)
    fixed_clock.set(late + dt.timedelta(days=1))
    result = course_book(course=course, acting_user=calendar.world.fiona)
    appointment.refresh_from_db()
    assert appointment.starts_at == late.astimezone(dt.UTC)
    assert appointment not in result.moved
