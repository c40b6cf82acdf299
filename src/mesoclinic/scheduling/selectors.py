"""Reads for the calendar and courses, scoped to the workspace's organisation, and the
loader that turns the database's hours, closures and appointments into the pure
availability module's ``DayRules``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Q, QuerySet
from django.http import Http404

from mesoclinic.accounts.access import CLINICIANS, Workspace
from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.availability import DayRules, Interval, Slot, WeeklyHours, free_slots
from mesoclinic.scheduling.models import (
    ACTIVE_STATUSES,
    HELD_STATUSES,
    MAX_APPOINTMENT_LENGTH,
    Absence,
    Appointment,
    ClinicClosure,
    Course,
    CourseSession,
    Room,
    WorkingHours,
)


def _minus(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``moment - delta``, or the earliest datetime when that falls before year 1."""
    try:
        return moment - delta
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def practitioners_of(*, organisation: Organisation) -> list[User]:
    """Staff who may treat: active admins and practitioners of the organisation, by name."""
    return [
        m.user
        for m in Membership.objects.filter(
            organisation=organisation, is_active=True, role__in=CLINICIANS, user__is_active=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]


def practitioner_get(*, workspace: Workspace, user_id: int) -> User:
    """A clinician of the workspace's organisation; otherwise 404."""
    found = next(
        (u for u in practitioners_of(organisation=workspace.organisation) if u.pk == user_id),
        None,
    )
    if found is None:
        raise Http404("No such practitioner")
    return found


def clinic_get(*, workspace: Workspace, clinic_id: int) -> Clinic:
    clinic = next((c for c in workspace.clinics if c.pk == clinic_id), None)
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


def course_queryset(*, organisation: Organisation) -> QuerySet[Course]:
    return Course.objects.filter(organisation=organisation).select_related(
        "patient", "protocol_version", "clinic", "practitioner", "screening"
    )


def course_get(*, workspace: Workspace, course_id: int) -> Course:
    """The course if it belongs to the workspace's organisation; otherwise 404."""
    course = course_queryset(organisation=workspace.organisation).filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course")
    return course


def courses_of(*, patient: Patient) -> list[Course]:
    return list(
        course_queryset(organisation=patient.organisation)
        .filter(patient=patient)
        .order_by("-start_on", "-pk")
    )


def appointment_queryset(*, organisation: Organisation) -> QuerySet[Appointment]:
    return Appointment.objects.filter(organisation=organisation).select_related(
        "clinic",
        "practitioner",
        "room",
        "patient",
        "appointment_type",
        "course_session__course__protocol_version",
    )


def appointment_get(*, workspace: Workspace, appointment_id: int) -> Appointment:
    """The appointment if it belongs to the workspace's organisation; otherwise 404."""
    appointment = (
        appointment_queryset(organisation=workspace.organisation).filter(pk=appointment_id).first()
    )
    if appointment is None:
        raise Http404("No such appointment")
    return appointment


def appointment_get_for_read(*, workspace: Workspace, appointment_id: int) -> Appointment:
    """As ``appointment_get``, and records that the user opened it (it shows the patient,
    notes and reasons: a read of the patient's record)."""
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    audit_record(
        action="appointment.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=appointment,
        patient=appointment.patient,
    )
    return appointment


def appointments_between(
    *,
    organisation: Organisation,
    starts: dt.datetime,
    ends: dt.datetime,
    clinic: Clinic | None = None,
    practitioner: User | None = None,
    patient: Patient | None = None,
    include_inactive: bool = True,
) -> QuerySet[Appointment]:
    """Appointments that overlap [starts, ends), in start order."""
    qs = appointment_queryset(organisation=organisation).filter(
        # The lower bound on starts_at lets the (…, starts_at) indexes read only the range.
        starts_at__lt=ends,
        starts_at__gt=_minus(starts, MAX_APPOINTMENT_LENGTH),
        ends_at__gt=starts,
    )
    if clinic is not None:
        qs = qs.filter(clinic=clinic)
    if practitioner is not None:
        qs = qs.filter(practitioner=practitioner)
    if patient is not None:
        qs = qs.filter(patient=patient)
    if not include_inactive:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    return qs.order_by("starts_at", "pk")


def sessions_with_appointments(*, course: Course) -> list[tuple[CourseSession, Appointment | None]]:
    """Each planned session of the course with its active appointment (or None)."""
    sessions = list(course.sessions.order_by("position"))
    active = {
        a.course_session_id: a
        for a in Appointment.objects.filter(
            course_session__course=course, status__in=HELD_STATUSES
        ).select_related("room", "practitioner", "clinic")
    }
    return [(s, active.get(s.pk)) for s in sessions]


def _weekly(rows: Iterable[tuple[int, dt.time, dt.time]]) -> WeeklyHours:
    hours: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for weekday, opens, closes in rows:
        hours[weekday].append((opens, closes))
    return dict(hours)


class AvailabilityLoader:
    """Builds ``DayRules`` for one clinic, practitioner and patient from the database.

    Hours and rooms are read once; closures, absences and appointments are read per span of
    days with ``load(first_day, last_day)`` (three queries), so scanning a session's window
    costs a constant number of queries however many appointments the calendar holds.
    """

    def __init__(
        self,
        *,
        clinic: Clinic,
        practitioner: User,
        patient: Patient | None,
        step_minutes: int,
        ignore_appointment_ids: Sequence[int] = (),
    ) -> None:
        self.clinic = clinic
        self.practitioner = practitioner
        self.patient = patient
        self.step_minutes = step_minutes
        self.ignore = set(ignore_appointment_ids)
        self.tz = clinic.tzinfo
        self.clinic_hours = _weekly(o.as_interval() for o in clinic.opening_hours.all())
        self.practitioner_hours = _weekly(
            (w.weekday, w.starts_at, w.ends_at)
            for w in WorkingHours.objects.filter(clinic=clinic, practitioner=practitioner)
        )
        self.room_ids = list(
            Room.objects.filter(clinic=clinic, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.closures: list[tuple[dt.date, dt.date]] = []
        self.absences: list[Interval] = []
        self.practitioner_busy: list[Interval] = []
        self.patient_busy: list[Interval] = []
        self.room_busy: dict[int, list[Interval]] = {}
        self.loaded: tuple[dt.date, dt.date] | None = None

    def _span(self, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
        # A day before and after: local days differ from UTC days by up to 14 hours.
        starts = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tzinfo=self.tz)
        ends = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), tzinfo=self.tz)
        return starts, ends

    def load(self, first: dt.date, last: dt.date) -> None:
        """Read closures, absences and busy intervals for the local days first..last."""
        starts, ends = self._span(first, last)
        self.closures = list(
            ClinicClosure.objects.filter(
                clinic=self.clinic, starts_on__lte=last, ends_on__gte=first
            ).values_list("starts_on", "ends_on")
        )
        self.absences = list(
            Absence.objects.filter(
                practitioner=self.practitioner, starts_at__lt=ends, ends_at__gt=starts
            ).values_list("starts_at", "ends_at")
        )
        who = Q(practitioner=self.practitioner) | Q(clinic=self.clinic, room__isnull=False)
        if self.patient is not None:
            who |= Q(patient=self.patient)
        rows = (
            Appointment.objects.filter(
                who,
                status__in=HELD_STATUSES,
                starts_at__lt=ends,
                # Without a lower bound on starts_at the indexes would read every earlier
                # appointment of the clinic: the cost would grow with the calendar's history.
                starts_at__gt=starts - MAX_APPOINTMENT_LENGTH,
                ends_at__gt=starts,
            )
            .order_by()
            .exclude(pk__in=self.ignore)
            .values_list("practitioner_id", "patient_id", "room_id", "starts_at", "ends_at")
        )
        self.practitioner_busy, self.patient_busy = [], []
        self.room_busy = {room_id: [] for room_id in self.room_ids}
        for practitioner_id, patient_id, room_id, s, e in rows:
            if practitioner_id == self.practitioner.pk:
                self.practitioner_busy.append((s, e))
            if self.patient is not None and patient_id == self.patient.pk:
                self.patient_busy.append((s, e))
            if room_id in self.room_busy:
                self.room_busy[room_id].append((s, e))
        self.loaded = (first, last)

    def rules_for(self, day: dt.date) -> DayRules:
        if self.loaded is None or not (self.loaded[0] <= day <= self.loaded[1]):
            self.load(day, day)
        absences = self.absences
        day_start = dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
        now = clock.now()
        if day_start <= now:
            # Time that has passed is never free: nothing is offered or booked before now.
            # Rounded up to the step from midnight, so today's grid stays on the usual times.
            local_now = now.astimezone(self.tz)
            minutes = local_now.hour * 60 + local_now.minute + (local_now.second > 0)
            minutes = -(-minutes // self.step_minutes) * self.step_minutes
            until = dt.datetime.combine(day, dt.time(), tzinfo=self.tz) + dt.timedelta(
                minutes=max(minutes, 1)
            )
            absences = [*absences, (day_start, until if day == local_now.date() else now)]
        return DayRules(
            tz=self.tz,
            clinic_hours=self.clinic_hours,
            practitioner_hours=self.practitioner_hours,
            closures=self.closures,
            absences=absences,
            practitioner_busy=self.practitioner_busy,
            patient_busy=self.patient_busy,
            room_busy=self.room_busy,
            step_minutes=self.step_minutes,
        )

    def book_locally(
        self, starts_at: dt.datetime, ends_at: dt.datetime, room_id: int | None
    ) -> None:
        """Mark an interval busy after booking it, without reading the database again."""
        self.practitioner_busy.append((starts_at, ends_at))
        if self.patient is not None:
            self.patient_busy.append((starts_at, ends_at))
        if room_id is not None:
            self.room_busy.setdefault(room_id, []).append((starts_at, ends_at))


def move_options(
    *, appointment: Appointment, practitioner: User | None = None, today: dt.date, step_minutes: int
) -> list[tuple[dt.date, list[Slot]]]:
    """Free start times for moving the appointment (same length), day by day.

    A course session is offered the days of its planned window (from today on); any other
    appointment the next 14 days. The appointment's own time counts as free.
    """
    clinic = appointment.clinic
    session = appointment.course_session
    if session is not None:
        first, last = max(session.earliest_on, today), session.latest_on
    else:
        first, last = today, today + dt.timedelta(days=13)
    if first > last:
        return []
    loader = AvailabilityLoader(
        clinic=clinic,
        practitioner=practitioner or appointment.practitioner,
        patient=appointment.patient,
        step_minutes=step_minutes,
        ignore_appointment_ids=[appointment.pk],
    )
    loader.load(first, last)
    options = []
    day = first
    while day <= last:
        slots = free_slots(loader.rules_for(day), day, appointment.duration)
        if slots:
            options.append((day, slots))
        day += dt.timedelta(days=1)
    return options
