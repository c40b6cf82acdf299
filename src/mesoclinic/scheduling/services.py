"""Every write to courses, appointments and the clinic calendar.

Booking is race-free. Every booking transaction locks, in this order, the patient row, the
practitioners' user rows (by id) and the clinic row before it checks for clashes and
inserts, so two bookings that could clash run one after the other and the second sees the
first's row; the fixed order means two bookings can never wait on each other. On
PostgreSQL exclusion constraints back this up in the database itself (migration
scheduling 0002); on SQLite every write transaction is IMMEDIATE, which serialises them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mesoclinic.accounts.access import CLINICIANS
from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record, created
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import consent_statuses
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.scheduling import availability, planner
from mesoclinic.scheduling.models import (
    ACTIVE_STATUSES,
    MAX_APPOINTMENT_LENGTH,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    Course,
    CourseSession,
    CourseStatus,
    Phase,
    SessionStatus,
    TimeOfDay,
    WorkingHours,
)
from mesoclinic.scheduling.selectors import AvailabilityLoader, practitioners_of
from mesoclinic.screening.models import Screening

# The appointment types every organisation starts with (code, name, kind, minutes).
DEFAULT_APPOINTMENT_TYPES = (
    ("course-session", "Treatment session", AppointmentKind.SESSION, 45),
    ("review", "Review visit", AppointmentKind.REVIEW, 20),
    ("consultation", "Consultation", AppointmentKind.CONSULTATION, 30),
)
SESSION_TYPE_CODE = "course-session"
# How far ahead a single appointment may be booked (a course's last maintenance visit can be
# more than a year after its start).
BOOKING_HORIZON = dt.timedelta(days=730)
REVIEW_TYPE_CODE = "review"

CLASH_MESSAGES = {
    availability.REASON_PRACTITIONER_BUSY: gettext_lazy(
        "This slot is taken: the practitioner has another appointment then."
    ),
    availability.REASON_PATIENT_BUSY: gettext_lazy(
        "This slot is taken: the patient has another appointment then."
    ),
    availability.REASON_NO_ROOM: gettext_lazy(
        "This slot is taken: no treatment room is free then."
    ),
}


def _clash_message(reason: str | None) -> str:
    if reason == availability.REASON_CLOSED:
        return _(
            "This time is outside the clinic's opening hours or the practitioner's working "
            "hours (or the clinic is closed, or the practitioner is away)."
        )
    message = CLASH_MESSAGES.get(reason or "")
    return str(message) if message is not None else _("This slot is taken.")


@transaction.atomic
def appointment_types_install(*, organisation: Organisation) -> None:
    """Give the organisation the default appointment types it does not have yet."""
    have = set(
        AppointmentType.objects.filter(organisation=organisation).values_list("code", flat=True)
    )
    AppointmentType.objects.bulk_create(
        AppointmentType(
            organisation=organisation, code=code, name=name, kind=kind, duration_minutes=minutes
        )
        for code, name, kind, minutes in DEFAULT_APPOINTMENT_TYPES
        if code not in have
    )


def _type(organisation: Organisation, code: str) -> AppointmentType:
    found = AppointmentType.objects.filter(organisation=organisation, code=code).first()
    if found is None:
        appointment_types_install(organisation=organisation)
        found = AppointmentType.objects.get(organisation=organisation, code=code)
    return found


# --- Locks and clash checks ---------------------------------------------------------------


def _lock(*, patient: Patient, practitioners: Sequence[User], clinic: Clinic) -> None:
    """Take the booking locks in the one fixed order (see the module docstring)."""
    # no_key: a plain FOR UPDATE would also block the foreign-key checks (FOR KEY SHARE)
    # that other transactions make on these rows when they commit (an appointment's
    # created_by, a patient's clinic), which deadlocks against this lock order.
    list(Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk))
    ids = sorted({p.pk for p in practitioners})
    list(User.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    list(Clinic.objects.select_for_update(no_key=True).filter(pk=clinic.pk))


def _is_clinician(*, organisation: Organisation, user: User) -> bool:
    return Membership.objects.filter(
        organisation=organisation, user=user, is_active=True, role__in=CLINICIANS
    ).exists()


def _check_same_organisation(organisation: Organisation, *objects: object) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organisation_id", organisation.pk) != organisation.pk:
            raise DomainError(_("Everything in a booking must belong to one organisation."))


def _insert(appointment: Appointment) -> Appointment:
    """Insert, turning the database's own no-overlap refusal into a clear conflict."""
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as error:
        if "one_active_per_session" in str(error) or "course_session_id" in str(error):
            raise Conflict(_("This session is already booked.")) from error
        if "no_overlap" in str(error):
            raise Conflict(_("This slot is taken: another booking got it first.")) from error
        raise
    return appointment


def _local_date(moment: dt.datetime, clinic: Clinic) -> dt.date:
    return moment.astimezone(clinic.tzinfo).date()


# --- Planning -----------------------------------------------------------------------------


def course_shape(*, version: ProtocolVersion, induction_sessions: int) -> planner.CourseShape:
    return planner.CourseShape(
        induction_sessions=induction_sessions,
        induction_interval_min_days=version.induction_interval_min_days,
        induction_interval_target_days=version.induction_interval_target_days,
        induction_interval_max_days=version.induction_interval_max_days,
        maintenance_sessions=version.maintenance_sessions,
        maintenance_interval_min_days=version.maintenance_interval_min_days,
        maintenance_interval_target_days=version.maintenance_interval_target_days,
        maintenance_interval_max_days=version.maintenance_interval_max_days,
        review_after_days=tuple(version.review_after_days),
    )


def _facts(
    course: Course, sessions: Sequence[CourseSession], booked_on: dict[int, dt.date]
) -> list[planner.SessionFact]:
    facts = []
    for s in sessions:
        if s.status == SessionStatus.DONE and s.done_on is not None:
            facts.append(planner.SessionFact(position=s.position, on=s.done_on, done=True))
        elif s.pk in booked_on:
            facts.append(
                planner.SessionFact(
                    position=s.position, on=booked_on[s.pk], not_before=s.not_before
                )
            )
        elif s.not_before is not None:
            facts.append(planner.SessionFact(position=s.position, not_before=s.not_before))
    return facts


def _booked_dates(course: Course) -> dict[int, dt.date]:
    return {
        session_id: _local_date(starts_at, course.clinic)
        for session_id, starts_at in Appointment.objects.filter(
            course_session__course=course, status__in=ACTIVE_STATUSES
        ).values_list("course_session_id", "starts_at")
    }


def _apply_plan(
    sessions: Sequence[CourseSession], plan: Sequence[planner.PlannedSession]
) -> list[CourseSession]:
    """Copy the plan's windows onto the rows; return the rows that changed."""
    changed = []
    for row, planned in zip(sessions, plan, strict=True):
        values = {
            "earliest_on": planned.earliest,
            "target_on": planned.target,
            "latest_on": planned.latest,
            "off_protocol": planned.off_protocol.value if planned.off_protocol else "",
            "off_by_days": planned.off_by_days,
        }
        if any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    return changed


def _replan(course: Course) -> list[CourseSession]:
    """Re-plan the course from what happened and what is booked; store the new windows.

    Done sessions keep their windows (the planner never moves them); the rest shift from
    the actual dates. Returns the sessions whose window or protocol flag changed.
    """
    sessions = list(course.sessions.order_by("position"))
    plan = planner.plan_course(
        course_shape(version=course.protocol_version, induction_sessions=course.induction_sessions),
        course.start_on,
        _facts(course, sessions, _booked_dates(course)),
    )
    changed = _apply_plan(sessions, plan)
    CourseSession.objects.bulk_update(
        changed, ["earliest_on", "target_on", "latest_on", "off_protocol", "off_by_days"]
    )
    return changed


# --- Courses ------------------------------------------------------------------------------


@dataclass
class BookingResult:
    course: Course
    booked: list[Appointment] = field(default_factory=list)
    moved: list[Appointment] = field(default_factory=list)
    unplaced: list[CourseSession] = field(default_factory=list)


def course_screening(*, patient: Patient, version: ProtocolVersion) -> Screening:
    """The screening that allows this course, or a DomainError saying what is missing.

    The patient's latest screening for the protocol's kind of treatment must allow it
    (eligible, or overridden) and must have covered every ingredient of the protocol that
    screening knows, so an allergy to one of them cannot go unchecked.
    """
    from mesoclinic.protocols.ingredients import SCREENED_CODES

    latest = (
        Screening.objects.filter(patient=patient, protocol_kind=version.kind)
        .select_related("override")
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        raise DomainError(
            _("Screen the patient for %(treatment)s before starting a course.")
            % {"treatment": version.get_kind_display()},
            field="protocol_id",
        )
    allowed = latest.outcome in {"eligible", "eligible_with_precautions"} or hasattr(
        latest, "override"
    )
    if not allowed:
        raise DomainError(
            _("The latest screening (%(date)s) does not allow this treatment: %(outcome)s.")
            % {"date": latest.screened_on.isoformat(), "outcome": latest.get_outcome_display()},
            field="protocol_id",
        )
    needed = {c for c in version.ingredient_codes if c in SCREENED_CODES}
    unscreened = sorted(needed - set(latest.ingredients))
    if unscreened:
        raise DomainError(
            _(
                "The latest screening did not cover %(ingredients)s in this protocol's "
                "formulation; screen again for this protocol."
            )
            % {"ingredients": ", ".join(unscreened)},
            field="protocol_id",
        )
    return latest


def check_consents(*, patient: Patient, version: ProtocolVersion) -> None:
    from mesoclinic.patients.services import consent_templates_current

    templates = [
        t
        for t in consent_templates_current(organisation=patient.organisation)
        if t.code in version.consent_codes
    ]
    missing = [
        s.template.title
        for s in consent_statuses(patient=patient, templates=templates)
        if s.state != "signed"
    ]
    # A required consent with no text in this organisation cannot have been signed.
    missing += sorted(set(version.consent_codes) - {t.code for t in templates})
    if missing:
        raise DomainError(
            _("The patient has not signed the current consent for: %(titles)s.")
            % {"titles": ", ".join(missing)},
            field="protocol_id",
        )


@transaction.atomic
def course_create(
    *,
    patient: Patient,
    protocol_version: ProtocolVersion,
    clinic: Clinic,
    practitioner: User,
    start_on: dt.date,
    induction_sessions: int | None = None,
    preferred_weekdays: Sequence[int] = (),
    preferred_time: str = TimeOfDay.ANY,
    acting_user: User,
    book: bool = True,
) -> BookingResult:
    """Plan a course of the protocol version for a screened, consented patient and, with
    ``book``, book every session into a free slot inside its window.

    Sessions that found no free slot are listed in the result's ``unplaced``.
    """
    organisation = patient.organisation
    _check_same_organisation(organisation, clinic, protocol_version.protocol)
    if not protocol_version.protocol.is_active:
        raise DomainError(_("This protocol is no longer offered."), field="protocol_id")
    if not _is_clinician(organisation=organisation, user=practitioner):
        raise DomainError(_("Choose a practitioner of this organisation."), field="practitioner_id")
    count = induction_sessions or protocol_version.induction_sessions_max
    if not (
        protocol_version.induction_sessions_min <= count <= protocol_version.induction_sessions_max
    ):
        raise DomainError(
            _("This protocol plans %(min)d to %(max)d induction sessions.")
            % {
                "min": protocol_version.induction_sessions_min,
                "max": protocol_version.induction_sessions_max,
            },
            field="induction_sessions",
        )
    today = clock.today_in(clinic.tzinfo)
    grace = settings.COURSE_START_GRACE_DAYS
    if start_on < today - dt.timedelta(days=grace):
        raise DomainError(
            _("The start date is more than %(days)d days in the past.") % {"days": grace},
            field="start_on",
        )
    if start_on > today + dt.timedelta(days=366):
        raise DomainError(_("The start date is more than a year ahead."), field="start_on")
    screening = course_screening(patient=patient, version=protocol_version)
    check_consents(patient=patient, version=protocol_version)
    # All the practitioners the booking may use, locked before the clinic (the lock order).
    _lock(
        patient=patient,
        practitioners=_candidates(practitioner=practitioner, clinic=clinic),
        clinic=clinic,
    )
    if Course.objects.filter(
        patient=patient,
        protocol_version__protocol=protocol_version.protocol,
        status=CourseStatus.ACTIVE,
    ).exists():
        raise Conflict(
            _("The patient already has an active course of this protocol."),
            field="protocol_id",
        )
    try:
        plan = planner.plan_course(
            course_shape(version=protocol_version, induction_sessions=count), start_on
        )
    except planner.PlanError as error:
        # A version the planner cannot plan (written around the edge's checks).
        raise DomainError(str(error), field="protocol_id") from error
    course = Course.objects.create(
        organisation=organisation,
        patient=patient,
        protocol_version=protocol_version,
        clinic=clinic,
        practitioner=practitioner,
        screening=screening,
        start_on=start_on,
        induction_sessions=count,
        preferred_weekdays=sorted(set(preferred_weekdays)),
        preferred_time=preferred_time,
        created_by=acting_user,
    )
    CourseSession.objects.bulk_create(
        CourseSession(
            organisation=organisation,
            course=course,
            position=p.position,
            phase=p.phase.value,
            number_in_phase=p.number_in_phase,
            earliest_on=p.earliest,
            target_on=p.target,
            latest_on=p.latest,
        )
        for p in plan
    )
    audit_record(
        action="course.create",
        actor=acting_user,
        organisation=organisation,
        obj=course,
        patient=patient,
        changes=created(
            {
                "protocol_version": protocol_version.pk,
                "protocol": protocol_version.name,
                "clinic": clinic.pk,
                "practitioner": practitioner.pk,
                "start_on": start_on.isoformat(),
                "induction_sessions": count,
                "screening": screening.pk,
                "sessions_planned": len(plan),
            }
        ),
    )
    result = BookingResult(course=course)
    if book:
        result = _book_course(course=course, acting_user=acting_user, locked=True)
    return result


def _slot_preference(course: Course) -> Callable[[availability.Slot], float] | None:
    if course.preferred_time == TimeOfDay.ANY:
        return None
    morning = course.preferred_time == TimeOfDay.MORNING

    def prefer(slot: availability.Slot) -> float:
        local = slot.starts_at.astimezone(course.clinic.tzinfo)
        return 0.0 if (local.hour < 12) == morning else 1.0

    return prefer


def _days_for(
    session_window: tuple[dt.date, dt.date, dt.date], course: Course, today: dt.date
) -> list[dt.date]:
    earliest, target, latest = session_window
    earliest = max(earliest, today)
    if earliest > latest:
        return []
    target = min(max(target, earliest), latest)
    days = availability.days_by_closeness(earliest, target, latest)
    if course.preferred_weekdays:
        preferred = set(course.preferred_weekdays)
        # Preferred weekdays first, each group still ordered by closeness to the target.
        days = [d for d in days if d.weekday() in preferred] + [
            d for d in days if d.weekday() not in preferred
        ]
    return days


def _candidates(*, practitioner: User, clinic: Clinic) -> list[User]:
    """Who may take a course's sessions: its practitioner first, then the other clinicians
    who work at its clinic (when the first has no free slot inside a window)."""
    working_here = set(
        WorkingHours.objects.filter(clinic=clinic).values_list("practitioner_id", flat=True)
    )
    clinicians = practitioners_of(organisation=clinic.organisation)
    active_ids = {p.pk for p in clinicians}
    others = [p for p in clinicians if p.pk != practitioner.pk and p.pk in working_here]
    # A practitioner who has left keeps their old courses but gets no new sessions.
    return [practitioner, *others] if practitioner.pk in active_ids else others


def _book_course(
    *,
    course: Course,
    acting_user: User,
    locked: bool = False,
    avoid: dict[int, dt.date] | None = None,
) -> BookingResult:
    """Book every session that has no appointment into a free slot inside its window,
    in order, each window re-planned from the sessions booked before it; move a booked
    appointment that lies outside its (re-planned) window when a slot inside it is free."""
    result = BookingResult(course=course)
    practitioners = _candidates(practitioner=course.practitioner, clinic=course.clinic)
    if not locked:
        _lock(patient=course.patient, practitioners=practitioners, clinic=course.clinic)
    version = course.protocol_version
    shape = course_shape(version=version, induction_sessions=course.induction_sessions)
    sessions = list(course.sessions.order_by("position"))
    active: dict[int, Appointment] = {
        a.course_session_id: a
        for a in Appointment.objects.filter(
            course_session__course=course, status__in=ACTIVE_STATUSES
        )
        if a.course_session_id is not None
    }
    booked_on = {sid: _local_date(a.starts_at, course.clinic) for sid, a in active.items()}
    today = clock.today_in(course.clinic.tzinfo)
    step = settings.BOOKING_STEP_MINUTES
    loaders = {
        p.pk: AvailabilityLoader(
            clinic=course.clinic, practitioner=p, patient=course.patient, step_minutes=step
        )
        for p in practitioners
    }
    session_type = _type(course.organisation, SESSION_TYPE_CODE)
    review_type = _type(course.organisation, REVIEW_TYPE_CODE)
    prefer = _slot_preference(course)
    for index, row in enumerate(sessions):
        if row.status in (SessionStatus.DONE, SessionStatus.CANCELLED):
            continue
        plan = planner.plan_course(shape, course.start_on, _facts(course, sessions, booked_on))
        planned = plan[index]
        current = active.get(row.pk)
        if current is not None and planned.off_protocol is None:
            continue  # booked inside its window: leave it
        if current is not None and current.status == AppointmentStatus.CHECKED_IN:
            continue
        if current is not None and current.starts_at < clock.now():
            # Its time has passed and nobody marked it: the front desk checks the patient in
            # or marks a no-show; moving it would lose what happened.
            continue
        is_review = row.phase == Phase.REVIEW
        duration = dt.timedelta(
            minutes=review_type.duration_minutes if is_review else version.session_duration_minutes
        )
        days = _days_for((planned.earliest, planned.target, planned.latest), course, today)
        if avoid and row.pk in avoid:
            # Re-booking after a cancellation: not on the day the patient just cancelled.
            days = [d for d in days if d != avoid[row.pk]]
        slot, chosen = None, None
        for practitioner in practitioners:
            loader = loaders[practitioner.pk]
            loader.ignore = {current.pk} if current is not None else set()
            if days:
                loader.load(min(days), max(days))
            slot = availability.first_free_slot(loader.rules_for, days, duration, prefer=prefer)
            if slot is not None:
                chosen = practitioner
                break
        if slot is None or chosen is None:
            if current is None:
                result.unplaced.append(row)
            continue
        if current is not None:
            before = (current.starts_at, current.practitioner_id)
            current.starts_at, current.ends_at = slot.starts_at, slot.ends_at
            current.practitioner, current.room_id = chosen, slot.room
            _save_move(current)
            audit_record(
                action="appointment.move",
                actor=acting_user,
                organisation=course.organisation,
                obj=current,
                patient=course.patient,
                changes={
                    "starts_at": {"old": before[0].isoformat(), "new": slot.starts_at.isoformat()},
                    "practitioner": {"old": before[1], "new": chosen.pk},
                    "reason": {"new": "outside its re-planned window"},
                },
            )
            result.moved.append(current)
        else:
            appointment = _insert(
                Appointment(
                    organisation=course.organisation,
                    clinic=course.clinic,
                    practitioner=chosen,
                    room_id=slot.room,
                    patient=course.patient,
                    appointment_type=review_type if is_review else session_type,
                    course_session=row,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    created_by=acting_user,
                )
            )
            row.status = SessionStatus.BOOKED
            row.save(update_fields=["status"])
            audit_record(
                action="appointment.book",
                actor=acting_user,
                organisation=course.organisation,
                obj=appointment,
                patient=course.patient,
                changes=created(
                    {
                        "starts_at": slot.starts_at.isoformat(),
                        "practitioner": chosen.pk,
                        "room": slot.room,
                        "course": course.pk,
                        "position": row.position,
                    }
                ),
            )
            active[row.pk] = appointment
            result.booked.append(appointment)
        booked_on[row.pk] = _local_date(slot.starts_at, course.clinic)
    changed = _replan(course)
    if changed:
        audit_record(
            action="course.replan",
            actor=acting_user,
            organisation=course.organisation,
            obj=course,
            patient=course.patient,
            changes={"sessions_changed": {"new": ", ".join(str(s.position) for s in changed)}},
        )
    return result


def _save_move(appointment: Appointment) -> None:
    try:
        with transaction.atomic():
            appointment.save(
                update_fields=["starts_at", "ends_at", "practitioner", "room", "updated_at"]
            )
    except IntegrityError as error:
        raise Conflict(_("This slot is taken: another booking got it first.")) from error


@transaction.atomic
def course_book(*, course: Course, acting_user: User) -> BookingResult:
    """Keep the course on track: book its unbooked sessions and move booked ones that fell
    outside their re-planned windows, each into a free slot inside its window."""
    if course.status != CourseStatus.ACTIVE:
        raise DomainError(_("Only an active course can be booked."))
    return _book_course(course=course, acting_user=acting_user)


@transaction.atomic
def course_cancel(*, course: Course, reason: str, acting_user: User) -> Course:
    """Cancel the course and every appointment it still holds; done sessions stay done."""
    if course.status != CourseStatus.ACTIVE:
        raise DomainError(_("This course is not active."))
    _lock(patient=course.patient, practitioners=[course.practitioner], clinic=course.clinic)
    now = clock.now()
    if Appointment.objects.filter(
        course_session__course=course, status=AppointmentStatus.CHECKED_IN
    ).exists():
        # The patient is here for one of its sessions: that visit is charted and signed, or
        # cancelled as not treated, before the course can end.
        raise Conflict(
            _(
                "The patient is checked in for a session of this course: sign its chart or "
                "cancel that appointment first."
            )
        )
    appointments = list(
        Appointment.objects.filter(course_session__course=course, status=AppointmentStatus.BOOKED)
    )
    for appointment in appointments:
        _discard_draft(appointment, reason=reason, acting_user=acting_user)
    for appointment in appointments:
        appointment.status = AppointmentStatus.CANCELLED
        appointment.status_reason = reason
        appointment.status_changed_at = now
        appointment.status_changed_by = acting_user
    Appointment.objects.bulk_update(
        appointments, ["status", "status_reason", "status_changed_at", "status_changed_by"]
    )
    course.sessions.exclude(status=SessionStatus.DONE).update(status=SessionStatus.CANCELLED)
    course.status = CourseStatus.CANCELLED
    course.cancel_reason = reason
    course.cancelled_at = now
    course.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    audit_record(
        action="course.cancel",
        actor=acting_user,
        organisation=course.organisation,
        obj=course,
        patient=course.patient,
        changes={
            "status": {"old": CourseStatus.ACTIVE, "new": CourseStatus.CANCELLED},
            "reason": {"new": reason},
            "appointments_cancelled": {"new": len(appointments)},
        },
    )
    return course


# --- Single appointments -------------------------------------------------------------------


def _check_slot(
    *,
    clinic: Clinic,
    practitioner: User,
    patient: Patient,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    ignore: Sequence[int] = (),
) -> availability.SlotCheck:
    loader = AvailabilityLoader(
        clinic=clinic,
        practitioner=practitioner,
        patient=patient,
        step_minutes=settings.BOOKING_STEP_MINUTES,
        ignore_appointment_ids=ignore,
    )
    day = _local_date(starts_at, clinic)
    loader.load(day, _local_date(ends_at, clinic))
    return availability.check_slot(loader.rules_for(day), starts_at, ends_at)


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    clinic: Clinic,
    practitioner: User,
    appointment_type: AppointmentType,
    starts_at: dt.datetime,
    duration_minutes: int | None = None,
    course_session: CourseSession | None = None,
    notes: str = "",
    acting_user: User,
) -> Appointment:
    """Book one appointment at an explicit time, in a free room when the clinic has rooms.

    Refused with a clear message when the time is outside opening or working hours, or the
    practitioner, the patient or every room is busy then.
    """
    organisation = patient.organisation
    _check_same_organisation(organisation, clinic, appointment_type, course_session)
    if not _is_clinician(organisation=organisation, user=practitioner):
        raise DomainError(_("Choose a practitioner of this organisation."), field="practitioner_id")
    if starts_at < clock.now() - dt.timedelta(minutes=5):
        raise DomainError(_("An appointment cannot be booked in the past."), field="starts_at")
    if starts_at > clock.now() + BOOKING_HORIZON:
        raise DomainError(
            _("An appointment can be booked at most two years ahead."), field="starts_at"
        )
    if course_session is not None:
        course = course_session.course
        if course.patient_id != patient.pk:
            raise DomainError(_("This session belongs to another patient's course."))
        if course.status != CourseStatus.ACTIVE or course_session.status == SessionStatus.CANCELLED:
            raise Conflict(_("This session's course is not active."))
        if course_session.status != SessionStatus.PLANNED:
            raise Conflict(_("This session is already booked or done."))
        if course.clinic_id != clinic.pk:
            raise DomainError(
                _("A course's sessions are booked at its clinic, %(clinic)s.")
                % {"clinic": course.clinic.name},
                field="clinic_id",
            )
        wanted = (
            AppointmentKind.REVIEW
            if course_session.phase == Phase.REVIEW
            else AppointmentKind.SESSION
        )
        if appointment_type.kind != wanted:
            raise DomainError(
                _("Book this session as a %(kind)s.")
                % {"kind": AppointmentKind(wanted).label.lower()},
                field="appointment_type",
            )
    minutes = duration_minutes or (
        course_session.course.protocol_version.session_duration_minutes
        if course_session is not None and course_session.phase != Phase.REVIEW
        else appointment_type.duration_minutes
    )
    if not 5 <= minutes <= MAX_APPOINTMENT_LENGTH.total_seconds() // 60:
        raise DomainError(
            _("An appointment lasts from 5 to 480 minutes."), field="duration_minutes"
        )
    # In UTC: adding to a local time adds wall-clock time, wrong across a clock change.
    starts_at = starts_at.astimezone(dt.UTC)
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    _lock(patient=patient, practitioners=[practitioner], clinic=clinic)
    if course_session is not None:
        # Read again under the locks: another booking of this session may have won.
        course_session.refresh_from_db(fields=["status"])
        if course_session.status != SessionStatus.PLANNED:
            raise Conflict(_("This session is already booked or done."))
    check = _check_slot(
        clinic=clinic,
        practitioner=practitioner,
        patient=patient,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    if not check.ok:
        error = Conflict if check.reason != availability.REASON_CLOSED else DomainError
        raise error(_clash_message(check.reason), field="starts_at")
    appointment = _insert(
        Appointment(
            organisation=organisation,
            clinic=clinic,
            practitioner=practitioner,
            room_id=check.room,
            patient=patient,
            appointment_type=appointment_type,
            course_session=course_session,
            starts_at=starts_at,
            ends_at=ends_at,
            notes=notes,
            created_by=acting_user,
        )
    )
    audit_record(
        action="appointment.book",
        actor=acting_user,
        organisation=organisation,
        obj=appointment,
        patient=patient,
        changes=created(
            {
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "practitioner": practitioner.pk,
                "room": check.room,
                "type": appointment_type.code,
                "course_session": course_session.pk if course_session else None,
            }
        ),
    )
    if course_session is not None:
        course_session.status = SessionStatus.BOOKED
        course_session.save(update_fields=["status"])
        _replan(course_session.course)
    return appointment


def _require_active(appointment: Appointment) -> None:
    if appointment.status not in ACTIVE_STATUSES:
        raise Conflict(
            _("This appointment is %(status)s; it cannot be changed.")
            % {"status": appointment.get_status_display().lower()}
        )


@transaction.atomic
def appointment_move(
    *,
    appointment: Appointment,
    starts_at: dt.datetime,
    practitioner: User | None = None,
    acting_user: User,
) -> Appointment:
    """Move a booked appointment to another free time (same length), optionally to another
    practitioner; its course is re-planned from the new date."""
    _require_active(appointment)
    if appointment.status == AppointmentStatus.CHECKED_IN:
        raise Conflict(_("The patient has checked in; this appointment cannot be moved."))
    if _has_chart(appointment):
        # The chart's date is the appointment's: moving would re-date a session already
        # being charted.
        raise Conflict(
            _(
                "A session chart is open for this appointment; sign it, or cancel the "
                "appointment (the draft is discarded) and book another."
            )
        )
    practitioner = practitioner or appointment.practitioner
    if not _is_clinician(organisation=appointment.organisation, user=practitioner):
        raise DomainError(_("Choose a practitioner of this organisation."), field="practitioner_id")
    if starts_at < clock.now() - dt.timedelta(minutes=5):
        raise DomainError(_("An appointment cannot be moved into the past."), field="starts_at")
    if starts_at > clock.now() + BOOKING_HORIZON:
        raise DomainError(
            _("An appointment can be booked at most two years ahead."), field="starts_at"
        )
    _lock(
        patient=appointment.patient,
        practitioners=[practitioner, appointment.practitioner],
        clinic=appointment.clinic,
    )
    appointment.refresh_from_db()
    _require_active(appointment)
    starts_at = starts_at.astimezone(dt.UTC)  # real minutes across a clock change
    ends_at = starts_at + appointment.duration
    check = _check_slot(
        clinic=appointment.clinic,
        practitioner=practitioner,
        patient=appointment.patient,
        starts_at=starts_at,
        ends_at=ends_at,
        ignore=[appointment.pk],
    )
    if not check.ok:
        error = Conflict if check.reason != availability.REASON_CLOSED else DomainError
        raise error(_clash_message(check.reason), field="starts_at")
    before = {
        "starts_at": appointment.starts_at.isoformat(),
        "practitioner": appointment.practitioner_id,
        "room": appointment.room_id,
    }
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.practitioner, appointment.room_id = practitioner, check.room
    _save_move(appointment)
    after = {
        "starts_at": starts_at.isoformat(),
        "practitioner": practitioner.pk,
        "room": check.room,
    }
    audit_record(
        action="appointment.move",
        actor=acting_user,
        organisation=appointment.organisation,
        obj=appointment,
        patient=appointment.patient,
        changes={k: {"old": before[k], "new": v} for k, v in after.items() if before[k] != v},
    )
    if appointment.course_session_id is not None:
        _replan(appointment.course_session.course)  # type: ignore[union-attr]
    return appointment


def _set_status(appointment: Appointment, status: str, *, reason: str, acting_user: User) -> None:
    old = appointment.status
    appointment.status = status
    appointment.status_reason = reason
    appointment.status_changed_at = clock.now()
    appointment.status_changed_by = acting_user
    appointment.save(
        update_fields=[
            "status",
            "status_reason",
            "status_changed_at",
            "status_changed_by",
            "updated_at",
        ]
    )
    audit_record(
        action={
            AppointmentStatus.CANCELLED: "appointment.cancel",
            AppointmentStatus.CHECKED_IN: "appointment.check_in",
            AppointmentStatus.NO_SHOW: "appointment.no_show",
            AppointmentStatus.COMPLETED: "appointment.complete",
        }[AppointmentStatus(status)],
        actor=acting_user,
        organisation=appointment.organisation,
        obj=appointment,
        patient=appointment.patient,
        changes={
            "status": {"old": old, "new": status},
            **({"reason": {"new": reason}} if reason else {}),
        },
    )


def appointment_lock(appointment: Appointment) -> Appointment:
    """Take the booking locks of this appointment (patient, practitioners, clinic, in the
    lock order) and re-read it. Charting takes them first too (treatments.services), so a
    signature and a cancellation of the same visit queue instead of deadlocking."""
    return _locked(appointment)


def _locked(appointment: Appointment) -> Appointment:
    """Take the booking locks for a change of this appointment. For a course session that
    means every practitioner a re-booking may use too, all before the clinic (lock order)."""
    practitioners = [appointment.practitioner]
    if appointment.course_session_id is not None:
        course = appointment.course_session.course  # type: ignore[union-attr]
        practitioners += _candidates(practitioner=course.practitioner, clinic=course.clinic)
    _lock(patient=appointment.patient, practitioners=practitioners, clinic=appointment.clinic)
    appointment.refresh_from_db()
    return appointment


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, acting_user: User) -> Appointment:
    """The patient has arrived. Allowed on the appointment's day. The course advances
    when the session is charted and signed (``appointment_complete``), not here: a patient
    who arrives but is not treated (a pre-check failed) has had no session."""
    appointment = _locked(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            _("This appointment is %(status)s; only a booked one can be checked in.")
            % {"status": appointment.get_status_display().lower()}
        )
    day = _local_date(appointment.starts_at, appointment.clinic)
    if clock.today_in(appointment.clinic.tzinfo) != day:
        raise DomainError(_("A patient can be checked in only on the day of the appointment."))
    _set_status(appointment, AppointmentStatus.CHECKED_IN, reason="", acting_user=acting_user)
    return appointment


def appointment_complete(*, appointment: Appointment, acting_user: User) -> Appointment:
    """The visit's session was signed (treatments.services.session_sign, whose transaction
    this joins): the appointment is done, its course session is done on the appointment's
    date, the rest of the course is re-planned from it, and a course with nothing left
    is completed."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("appointment_complete must run inside the signature's transaction")
    appointment = _locked(appointment)
    if appointment.status not in ACTIVE_STATUSES:
        raise Conflict(
            _("This appointment is %(status)s; it cannot be completed.")
            % {"status": appointment.get_status_display().lower()}
        )
    _set_status(appointment, AppointmentStatus.COMPLETED, reason="", acting_user=acting_user)
    session = appointment.course_session
    # A course cancelled meanwhile keeps its cancelled sessions and status.
    if session is not None and session.course.status == CourseStatus.ACTIVE:
        session.status = SessionStatus.DONE
        session.done_on = _local_date(appointment.starts_at, appointment.clinic)
        session.not_before = None
        session.save(update_fields=["status", "done_on", "not_before"])
        course = session.course
        _replan(course)
        if not course.sessions.exclude(
            status__in=[SessionStatus.DONE, SessionStatus.CANCELLED]
        ).exists():
            course.status = CourseStatus.COMPLETED
            course.save(update_fields=["status", "updated_at"])
    return appointment


@transaction.atomic
def appointment_no_show(
    *, appointment: Appointment, acting_user: User, rebook: bool = True
) -> BookingResult | None:
    """The patient did not come. A course session goes back to "not booked", may not be
    re-booked before the next day, and (with ``rebook``) the course is kept on track: the
    missed session is re-booked and later ones that fell outside their new windows move."""
    appointment = _locked(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            _("This appointment is %(status)s; only a booked one can be marked missed.")
            % {"status": appointment.get_status_display().lower()}
        )
    day = _local_date(appointment.starts_at, appointment.clinic)
    if clock.now() < appointment.starts_at:
        raise DomainError(_("An appointment can be marked missed only once its time has come."))
    if _has_chart(appointment):
        raise Conflict(_("A session chart was opened for this appointment: the patient was here."))
    _set_status(appointment, AppointmentStatus.NO_SHOW, reason="", acting_user=acting_user)
    return _release_session(
        appointment, not_before=day + dt.timedelta(days=1), rebook=rebook, acting_user=acting_user
    )


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, acting_user: User, rebook: bool = False
) -> BookingResult | None:
    """Cancel with a reason. A course session goes back to "not booked"; with ``rebook``
    the course is booked again inside the re-planned windows.

    A checked-in patient who was not treated (a pre-check failed, they changed their mind)
    is cancelled the same way; a draft chart of the visit is discarded, with the reason.
    A signed visit is done, not active, and cannot be cancelled."""
    appointment = _locked(appointment)
    _require_active(appointment)
    _discard_draft(appointment, reason=reason, acting_user=acting_user)
    _set_status(appointment, AppointmentStatus.CANCELLED, reason=reason, acting_user=acting_user)
    return _release_session(
        appointment,
        not_before=None,
        rebook=rebook,
        acting_user=acting_user,
        avoid_day=_local_date(appointment.starts_at, appointment.clinic),
    )


def _has_chart(appointment: Appointment) -> bool:
    from mesoclinic.treatments.models import TreatmentSession

    return TreatmentSession.objects.filter(appointment=appointment).exists()


def _discard_draft(appointment: Appointment, *, reason: str, acting_user: User) -> None:
    """Discard the appointment's draft chart, if any (treatments sits above this app)."""
    from mesoclinic.treatments.models import TreatmentSession
    from mesoclinic.treatments.services import session_discard

    draft = TreatmentSession.objects.filter(appointment=appointment, status="draft").first()
    if draft is not None:
        session_discard(session=draft, reason=reason, acting_user=acting_user)


def _release_session(
    appointment: Appointment,
    *,
    not_before: dt.date | None,
    rebook: bool,
    acting_user: User,
    avoid_day: dt.date | None = None,
) -> BookingResult | None:
    session = appointment.course_session
    if session is None:
        return None
    session.status = SessionStatus.PLANNED
    if not_before is not None:
        session.not_before = not_before
    session.save(update_fields=["status", "not_before"])
    course = session.course
    _replan(course)
    if rebook and course.status == CourseStatus.ACTIVE:
        avoid = {session.pk: avoid_day} if avoid_day is not None else None
        # _locked took the locks of every practitioner the booking may use.
        return _book_course(course=course, acting_user=acting_user, avoid=avoid, locked=True)
    return BookingResult(course=course)
