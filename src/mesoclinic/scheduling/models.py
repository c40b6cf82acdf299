"""Rooms, working hours, absences, closures, appointment types, courses, their planned
sessions, appointments, calendar feeds and the messages sent about them.

No double booking: a practitioner, a room or a patient is never in two overlapping active
appointments. ``services.appointment_book`` locks the patient, practitioner and clinic rows
before it checks and inserts, and on PostgreSQL exclusion constraints (migration 0002)
refuse an overlapping row whatever code writes it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import OpeningHours
from mesoclinic.core.models import TimeStampedModel

Weekday = OpeningHours.Weekday


class Room(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["clinic", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="room_name_unique_in_clinic")
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One interval a practitioner works at a clinic on a weekday (0 = Monday)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="working_hours"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["practitioner", "weekday", "starts_at"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="working_hours_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{Weekday(self.weekday).label} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class Absence(TimeStampedModel):
    """A practitioner away (holiday, training, illness): no booking in this interval."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="absences"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="absence_end_after_start"
            )
        ]


class ClinicClosure(TimeStampedModel):
    """Whole days a clinic is closed (public holidays, works), inclusive."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="closure_end_not_before_start"
            )
        ]


class AppointmentKind(models.TextChoices):
    SESSION = "session", _("Treatment session")
    REVIEW = "review", _("Review visit")
    CONSULTATION = "consultation", _("Consultation")


class AppointmentType(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=AppointmentKind.choices)
    duration_minutes = models.PositiveSmallIntegerField(_("length (minutes)"))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="appointment_type_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=480),
                name="appointment_type_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CourseStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class TimeOfDay(models.TextChoices):
    ANY = "any", _("Any time")
    MORNING = "morning", _("Mornings (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoons (from 12:00)")


class Course(TimeStampedModel):
    """One patient's planned course of one protocol version, at one clinic."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol_version = models.ForeignKey(
        "protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="courses"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The screening that allowed the start (screening.selectors.screening_permits).
    screening = models.ForeignKey(
        "screening.Screening", on_delete=models.PROTECT, related_name="courses"
    )
    start_on = models.DateField(_("first session from"))
    induction_sessions = models.PositiveSmallIntegerField(_("induction sessions"))
    status = models.CharField(
        max_length=16, choices=CourseStatus.choices, default=CourseStatus.ACTIVE
    )
    preferred_weekdays = models.JSONField(_("preferred weekdays"), default=list, blank=True)
    preferred_time = models.CharField(
        _("preferred time"), max_length=16, choices=TimeOfDay.choices, default=TimeOfDay.ANY
    )
    cancel_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-start_on", "-pk"]
        indexes = [models.Index(fields=["patient", "-start_on"], name="course_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(induction_sessions__gte=1), name="course_induction_sessions_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.protocol_version.name} from {self.start_on:%Y-%m-%d}"


class Phase(models.TextChoices):
    INDUCTION = "induction", _("Induction")
    MAINTENANCE = "maintenance", _("Maintenance")
    REVIEW = "review", _("Review")


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("Not booked")
    BOOKED = "booked", _("Booked")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CourseSession(models.Model):
    """One position of a course plan with its date window, as last planned.

    The window is the planner's output (scheduling.planner), stored so pages and the
    calendar read it without re-planning. ``not_before`` carries a missed session forward.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    position = models.PositiveSmallIntegerField()
    phase = models.CharField(max_length=16, choices=Phase.choices)
    number_in_phase = models.PositiveSmallIntegerField()
    earliest_on = models.DateField()
    target_on = models.DateField()
    latest_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    done_on = models.DateField(null=True, blank=True)
    not_before = models.DateField(null=True, blank=True)
    off_protocol = models.CharField(max_length=24, blank=True)
    off_by_days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["course", "position"]
        indexes = [
            # The courses that have started (a session done), read by the cohort counts.
            models.Index(fields=["status", "course"], name="course_session_status_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "position"], name="course_session_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(earliest_on__lte=F("target_on")) & Q(target_on__lte=F("latest_on")),
                name="course_session_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} {self.number_in_phase}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    # The session was charted and signed (treatments.services.session_sign).
    COMPLETED = "completed", _("Done")
    NO_SHOW = "no_show", _("Missed (no-show)")
    CANCELLED = "cancelled", _("Cancelled")


# No appointment is longer (appointment types and protocol sessions are capped at 480
# minutes); range queries use it as the lower bound of starts_at, so they stay index ranges.
MAX_APPOINTMENT_LENGTH = dt.timedelta(minutes=480)

# The statuses that hold a slot: the no-double-booking rule covers exactly these.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
# The statuses of an appointment that is or was the session's visit: the active ones plus
# done (signed). Pages showing "the appointment of this session" and busy times use these.
HELD_STATUSES = (*ACTIVE_STATUSES, AppointmentStatus.COMPLETED)


class Appointment(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="+"
    )
    course_session = models.ForeignKey(
        CourseSession, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="appointment_clinic_time_idx"),
            models.Index(fields=["practitioner", "starts_at"], name="appointment_pract_time_idx"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_time_idx"),
            models.Index(fields=["room", "starts_at"], name="appointment_room_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="appointment_end_after_start"
            ),
            # A planned session has at most one appointment holding a slot.
            models.UniqueConstraint(
                fields=["course_session"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="appointment_one_active_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.patient}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self) -> dt.timedelta:
        return self.ends_at - self.starts_at


class CalendarFeed(TimeStampedModel):
    """A private iCalendar feed of one practitioner's appointments. The URL carries a
    secret; only its SHA-256 is stored. Revoking ends it at once."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calendar_feeds"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class MessageKind(models.TextChoices):
    REMINDER = "reminder", _("Appointment reminder")
    RECALL = "recall", _("Maintenance recall")
    AFTERCARE = "aftercare", _("Aftercare sheet")
    SAFETY = "safety", _("Side-effect alert to the practitioner")


class MessageStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SentMessage(models.Model):
    """One reminder or recall, claimed before it is sent so that no run sends it twice.

    ``key`` names what it is about: ``appointment:<id>:<lead hours>h`` or
    ``recall:<course session id>``.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    key = models.CharField(max_length=80)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    course_session = models.ForeignKey(
        CourseSession, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    recipient = models.EmailField()
    status = models.CharField(max_length=16, choices=MessageStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [models.UniqueConstraint(fields=["key"], name="sent_message_key_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"
