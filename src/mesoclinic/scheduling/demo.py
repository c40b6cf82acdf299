"""Demo calendar: rooms, working hours, closures and courses in every state.

Courses are seeded through the real services. Their history is made by travelling the
scheduling clock (core.clock.travel_to) to each appointment in turn and checking the
patient in, or marking a no-show, as the front desk would have done on that day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    ClinicClosure,
    Course,
    Room,
    WorkingHours,
)
from mesoclinic.scheduling.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_no_show,
    course_cancel,
    course_create,
)
from mesoclinic.screening.models import Screening


def seed_calendar(*, clinics: Sequence[Clinic], practitioners: Sequence[User]) -> None:
    """Rooms at each clinic, everyone's working hours, the winter holidays and one absence."""
    organisation = clinics[0].organisation
    for clinic, count in zip(clinics, (3, 2), strict=False):
        for n in range(1, count + 1):
            Room.objects.create(organisation=organisation, clinic=clinic, name=f"Room {n}")
    for index, person in enumerate(practitioners):
        clinic = clinics[index % len(clinics)]
        WorkingHours.objects.bulk_create(
            WorkingHours(
                organisation=organisation,
                practitioner=person,
                clinic=clinic,
                weekday=day,
                starts_at=dt.time(9),
                ends_at=dt.time(19),
            )
            for day in range(5)
        )
    year = timezone.localdate().year
    for clinic in clinics:
        ClinicClosure.objects.create(
            organisation=organisation,
            clinic=clinic,
            starts_on=dt.date(year, 12, 25),
            ends_on=dt.date(year, 12, 26),
            reason="Christmas",
        )
        ClinicClosure.objects.create(
            organisation=organisation,
            clinic=clinic,
            starts_on=dt.date(year + 1, 1, 1),
            ends_on=dt.date(year + 1, 1, 1),
            reason="New Year's Day",
        )
    first = practitioners[0]
    tz = clinics[0].tzinfo
    monday = timezone.localdate() + dt.timedelta(days=21 - timezone.localdate().weekday())
    Absence.objects.create(
        organisation=organisation,
        practitioner=first,
        starts_at=dt.datetime.combine(monday, dt.time(0), tzinfo=tz),
        ends_at=dt.datetime.combine(monday + dt.timedelta(days=2), dt.time(0), tzinfo=tz),
        reason="Training course",
    )


def _morning(day: dt.date, clinic: Clinic) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), tzinfo=clinic.tzinfo)


def seed_courses(
    *,
    rng: random.Random,
    patients: Sequence[Patient],
    clinics: Sequence[Clinic],
    practitioners: Sequence[User],
    front_desk: User,
) -> int:
    """Start a course for every patient whose screening and consents allow one, some in the
    past so the calendar has history. Returns the number of courses started."""
    protocols = {
        p.code: p.current_version
        for p in Protocol.objects.filter(organisation=clinics[0].organisation)
    }
    real_now = clock.now()
    started = 0
    for index, patient in enumerate(patients):
        screening = Screening.objects.filter(patient=patient).order_by("-created_at", "-pk").first()
        if screening is None or screening.protocol_version_id is None:
            continue
        version = next(
            (v for v in protocols.values() if v and v.pk == screening.protocol_version_id), None
        )
        if version is None:
            continue
        clinic = patient.preferred_clinic or clinics[index % len(clinics)]
        practitioner = practitioners[index % len(practitioners)]
        # Spread the starts over the last fourteen months and the next two weeks, so the
        # demo has completed courses, running ones and ones not started yet.
        start_on = timezone.localdate() - dt.timedelta(days=rng.randint(-14, 420))
        try:
            with clock.travel_to(_morning(start_on, clinic)):
                result = course_create(
                    patient=patient,
                    protocol_version=version,
                    clinic=clinic,
                    practitioner=practitioner,
                    start_on=start_on,
                    preferred_weekdays=rng.choice([[], [], [1, 3], [4]]),
                    preferred_time=rng.choice(["any", "any", "morning", "afternoon"]),
                    acting_user=front_desk,
                )
        except DomainError:
            continue  # screened but not allowed, or consent missing: no course
        started += 1
        course = result.course
        _live_until(course=course, now=real_now, rng=rng, front_desk=front_desk)
        if index % 9 == 4:
            with clock.travel_to(max(real_now, _morning(start_on, clinic))):
                course_cancel(
                    course=course,
                    reason="Patient decided to stop after discussing the plan.",
                    acting_user=front_desk,
                )
    return started


def _live_until(*, course: Course, now: dt.datetime, rng: random.Random, front_desk: User) -> None:
    """Check in (or, now and then, mark missed) every appointment of the course that starts
    before ``now``, in date order, at the time it happened."""
    for _ in range(40):  # bounded: each step settles one appointment
        appointment = (
            Appointment.objects.filter(
                course_session__course=course, status=AppointmentStatus.BOOKED, starts_at__lt=now
            )
            .select_related("clinic", "course_session__course", "patient")
            .order_by("starts_at")
            .first()
        )
        if appointment is None:
            return
        with clock.travel_to(appointment.starts_at):
            if rng.random() < 0.1:
                appointment_no_show(appointment=appointment, acting_user=front_desk)
            else:
                from mesoclinic.treatments.demo import chart_visit

                appointment_check_in(appointment=appointment, acting_user=front_desk)
                if not chart_visit(appointment=appointment, rng=rng):
                    # The chart could not be signed (a pre-check failed): not treated.
                    appointment_cancel(
                        appointment=appointment,
                        reason="Not treated: a pre-check did not pass.",
                        acting_user=front_desk,
                    )
                    continue
        from mesoclinic.safety.demo import record_after

        record_after(appointment=appointment, rng=rng, now=now)
