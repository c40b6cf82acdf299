"""Appointment reminders and maintenance recalls by email, at most once each.

``send_due_messages`` is meant to run every minute (``mesoclinic send_reminders`` from
cron), and two runs may overlap. Each message has a key naming what it is about; a run
first *claims* the key by inserting a ``SentMessage`` in ``sending`` state in its own
transaction (the unique key lets only one run win), then sends the email outside any
transaction (an SMTP conversation must not hold a database transaction open), then marks
it ``sent`` with its audit event, or ``failed``.

- A failed message is claimed again by a later run, at most ``MAX_ATTEMPTS`` times in all;
  the re-claim is a conditional UPDATE on (status, attempts), so only one run retries.
- A message left in ``sending`` (the process died between claim and mark) may or may not
  have reached the patient. It is never sent again automatically: a patient gets each
  message at most once. The report counts it as stuck, for a person to look at.

Which reminder is due: for an appointment still booked, the *smallest* lead time L in
``REMINDER_LEAD_HOURS`` with ``now < starts_at <= now + L``. The key carries L and the start
time, so moving an appointment gets a new reminder, and an appointment booked an hour ahead
gets only the short-lead one instead of every lead at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import dateformat, translation
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.ics import SELECT_RELATED, appointments_calendar, session_label
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    CourseSession,
    CourseStatus,
    MessageKind,
    MessageStatus,
    Phase,
    SentMessage,
    SessionStatus,
)

logger = logging.getLogger(__name__)

# A failed message is tried this many times in all, then left for a person to look at.
MAX_ATTEMPTS = 3
# A claim older than this that is still "sending" belongs to a run that died; a younger
# one is probably a run sending right now (runs overlap), so it is just skipped.
STUCK_AFTER = dt.timedelta(minutes=15)
# Clinics' local dates are within this of the UTC date (UTC-12 to UTC+14).
_ZONE_SPAN = dt.timedelta(hours=14)


class Action(StrEnum):
    SEND = "send"  # never claimed: claim and send
    RETRY = "retry"  # failed before, attempts left: re-claim and send
    DONE = "done"  # sent already
    BUSY = "busy"  # another run claimed it moments ago
    STUCK = "stuck"  # claimed long ago and never marked: maybe sent; never resent
    GAVE_UP = "gave_up"  # failed MAX_ATTEMPTS times


@dataclass(frozen=True)
class DueMessage:
    """One reminder or recall that is due now, whatever became of it before."""

    kind: str
    key: str
    organisation: Organisation
    patient: Patient
    clinic: Clinic
    recipient: str
    appointment: Appointment | None = None
    course_session: CourseSession | None = None
    # treatments.models.AftercareSheet for an aftercare message (the app sits above this one).
    aftercare_sheet: Any = None
    # safety.models.AdverseEvent and the flag ("prolonged"/"serious") for a safety alert.
    adverse_event: Any = None
    flag: str = ""


@dataclass(frozen=True)
class PlannedMessage:
    due: DueMessage
    action: Action
    existing: SentMessage | None = None


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    stuck: int = 0
    # The keys of what was sent and what failed, for callers that want more than counts.
    sent_keys: list[str] = field(default_factory=list)
    failed_keys: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"sent {self.sent}, failed {self.failed}, skipped {self.skipped}, stuck {self.stuck}"


# --- What is due ------------------------------------------------------------------------------


def reminder_lead(*, starts_at: dt.datetime, now: dt.datetime, leads: Iterable[int]) -> int | None:
    """The lead (hours) whose reminder is due for an appointment at ``starts_at``, if any:
    the smallest lead L with ``now < starts_at <= now + L hours``."""
    if starts_at <= now:
        return None
    fitting = [lead for lead in leads if starts_at <= now + dt.timedelta(hours=lead)]
    return min(fitting) if fitting else None


def reminder_key(*, appointment: Appointment, lead_hours: int) -> str:
    """``appointment:<id>:<L>h:<start as UTC epoch seconds>``: a new start, a new key."""
    return f"appointment:{appointment.pk}:{lead_hours}h:{int(appointment.starts_at.timestamp())}"


def recall_key(*, course_session: CourseSession) -> str:
    return f"recall:{course_session.pk}"


def _due_reminders(now: dt.datetime) -> list[DueMessage]:
    leads = list(settings.REMINDER_LEAD_HOURS)
    if not leads:
        return []
    horizon = now + dt.timedelta(hours=max(leads))
    # Bounded by time on the (clinic|practitioner|patient, starts_at) indexes: only the
    # appointments some lead can still cover, never the whole history.
    appointments = (
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED, starts_at__gt=now, starts_at__lte=horizon
        )
        .exclude(patient__email="")
        .select_related("organisation", *SELECT_RELATED)
        .order_by("starts_at", "pk")
    )
    due = []
    for appointment in appointments:
        lead = reminder_lead(starts_at=appointment.starts_at, now=now, leads=leads)
        if lead is None:
            continue
        due.append(
            DueMessage(
                kind=MessageKind.REMINDER,
                key=reminder_key(appointment=appointment, lead_hours=lead),
                organisation=appointment.organisation,
                patient=appointment.patient,
                clinic=appointment.clinic,
                recipient=appointment.patient.email,
                appointment=appointment,
            )
        )
    return due


def _due_recalls(now: dt.datetime) -> list[DueMessage]:
    lead = dt.timedelta(days=settings.RECALL_LEAD_DAYS)
    # A superset by UTC date, narrowed below by each clinic's own date.
    latest_today = (now + _ZONE_SPAN).date()
    earliest_today = (now - _ZONE_SPAN).date()
    sessions = (
        CourseSession.objects.filter(
            phase=Phase.MAINTENANCE,
            status=SessionStatus.PLANNED,
            course__status=CourseStatus.ACTIVE,
            earliest_on__lte=latest_today + lead,
            # A window that has closed is not recalled: the course needs re-planning
            # first, and an invitation to book a date already past helps nobody.
            latest_on__gte=earliest_today,
        )
        .exclude(course__patient__email="")
        .select_related(
            "course__organisation",
            "course__patient",
            "course__clinic",
            "course__protocol_version",
        )
        .order_by("earliest_on", "pk")
    )
    due = []
    for session in sessions:
        course = session.course
        today = now.astimezone(course.clinic.tzinfo).date()
        if not (session.earliest_on - lead <= today <= session.latest_on):
            continue
        due.append(
            DueMessage(
                kind=MessageKind.RECALL,
                key=recall_key(course_session=session),
                organisation=course.organisation,
                patient=course.patient,
                clinic=course.clinic,
                recipient=course.patient.email,
                course_session=session,
            )
        )
    return due


def due_messages(*, now: dt.datetime) -> list[DueMessage]:
    """Every reminder, recall, aftercare sheet and side-effect alert due at ``now``, sent
    before or not. (A serious side effect is flagged when it is recorded, so its alert
    goes out with the next run of ``send_reminders``, not only with ``safety_check``.)"""
    from mesoclinic.safety.mail import due_alerts
    from mesoclinic.treatments.mail import due_aftercare

    return _due_reminders(now) + _due_recalls(now) + due_aftercare(now=now) + due_alerts(now=now)


def plan_messages(*, now: dt.datetime | None = None) -> list[PlannedMessage]:
    """What a run at ``now`` would do with each due message. Claims nothing (--dry-run)."""
    now = now or clock.now()
    due = due_messages(now=now)
    return plan_for(due, now=now)


def _action(row: SentMessage | None, now: dt.datetime) -> Action:
    if row is None:
        return Action.SEND
    if row.status == MessageStatus.SENT:
        return Action.DONE
    if row.status == MessageStatus.FAILED:
        return Action.RETRY if row.attempts < MAX_ATTEMPTS else Action.GAVE_UP
    if row.claimed_at <= now - STUCK_AFTER:
        return Action.STUCK
    return Action.BUSY


# --- The emails -------------------------------------------------------------------------------


def local_day(moment: dt.datetime, clinic: Clinic) -> str:
    """ "Wednesday 2 December 2026" in the clinic's zone (day and month names translated)."""
    return str(dateformat.format(moment.astimezone(clinic.tzinfo), "l j F Y"))


def local_day_of(day: dt.date) -> str:
    """ "Wednesday 2 December 2026" for a calendar date (already the clinic's)."""
    return str(dateformat.format(day, "l j F Y"))


def local_when(moment: dt.datetime, clinic: Clinic) -> str:
    """ "Wednesday 2 December 2026 at 09:00 (Europe/London)": the clinic's wall clock, with
    its zone named, so a patient reading abroad knows whose 09:00 it is."""
    local = moment.astimezone(clinic.tzinfo)
    return _("%(day)s at %(time)s (%(zone)s)") % {
        "day": local_day(local, clinic),
        "time": local.strftime("%H:%M"),
        "zone": clinic.timezone,
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _context(due: DueMessage) -> dict[str, Any]:
    clinic = due.clinic
    return {
        "patient": due.patient,
        "clinic": clinic,
        "address": "\n".join(line.strip() for line in clinic.address.splitlines() if line.strip()),
    }


def _reminder_email(due: DueMessage) -> EmailMessage:
    appointment = due.appointment
    assert appointment is not None
    context = _context(due) | {
        "appointment": appointment,
        "what": session_label(appointment),
        "day": local_day(appointment.starts_at, due.clinic),
        "time": appointment.starts_at.astimezone(due.clinic.tzinfo).strftime("%H:%M"),
        "when": local_when(appointment.starts_at, due.clinic),
    }
    email = EmailMessage(
        subject=_one_line(render_to_string("scheduling/email/reminder_subject.txt", context)),
        body=render_to_string("scheduling/email/reminder.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.recipient],
    )
    email.attach(
        "appointment.ics",
        appointments_calendar([appointment], name=due.clinic.name, for_patient=True),
        "text/calendar",
    )
    return email


def _recall_email(due: DueMessage) -> EmailMessage:
    session = due.course_session
    assert session is not None
    context = _context(due) | {
        "session": session,
        "treatment": session.course.protocol_version.name,
        "from_day": local_day_of(session.earliest_on),
        "to_day": local_day_of(session.latest_on),
    }
    return EmailMessage(
        subject=_one_line(render_to_string("scheduling/email/recall_subject.txt", context)),
        body=render_to_string("scheduling/email/recall.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.recipient],
    )


def build_email(due: DueMessage) -> EmailMessage:
    # In the site's language whatever the caller had active (a page's request, a command).
    with translation.override(settings.LANGUAGE_CODE):
        if due.kind == MessageKind.REMINDER:
            return _reminder_email(due)
        if due.kind == MessageKind.AFTERCARE:
            from mesoclinic.treatments.mail import aftercare_email

            return aftercare_email(due)
        if due.kind == MessageKind.SAFETY:
            from mesoclinic.safety.mail import safety_email

            return safety_email(due)
        return _recall_email(due)


# --- Claim, send, mark ------------------------------------------------------------------------


def _claim_new(due: DueMessage, now: dt.datetime) -> SentMessage | None:
    """Insert the claim in its own transaction; None when another run holds the key."""
    try:
        with transaction.atomic():
            return SentMessage.objects.create(
                organisation=due.organisation,
                patient=due.patient,
                kind=due.kind,
                key=due.key,
                appointment=due.appointment,
                course_session=due.course_session,
                recipient=due.recipient,
                status=MessageStatus.SENDING,
                attempts=1,
                claimed_at=now,
            )
    except IntegrityError:
        # On PostgreSQL the losing INSERT waits for the winner's commit, then fails here.
        return None


def _claim_retry(due: DueMessage, row: SentMessage, now: dt.datetime) -> SentMessage | None:
    """Take a failed message back, if no other run took it since we read it."""
    attempts = row.attempts + 1
    taken = SentMessage.objects.filter(
        pk=row.pk, status=MessageStatus.FAILED, attempts=row.attempts
    ).update(
        status=MessageStatus.SENDING,
        attempts=attempts,
        claimed_at=now,
        recipient=due.recipient,  # the address may have been corrected since
        error="",
    )
    if not taken:
        return None
    row.status, row.attempts, row.claimed_at = MessageStatus.SENDING, attempts, now
    row.recipient, row.error = due.recipient, ""
    return row


def _mark_sent(due: DueMessage, row: SentMessage) -> None:
    with transaction.atomic():
        row.status = MessageStatus.SENT
        row.sent_at = clock.now()
        row.error = ""
        row.save(update_fields=["status", "sent_at", "error"])
        audit_record(
            action="message.send",
            actor=None,
            organisation=due.organisation,
            obj=row,
            patient=due.patient,
            changes={
                "kind": {"new": due.kind},
                "key": {"new": due.key},
                "recipient": {"new": due.recipient},
                "attempts": {"new": row.attempts},
            },
        )


def _mark_failed(row: SentMessage, exc: BaseException) -> None:
    row.status = MessageStatus.FAILED
    row.error = f"{exc.__class__.__name__}: {exc}"[:2000]
    row.save(update_fields=["status", "error"])


def send_due_messages(*, now: dt.datetime | None = None) -> SendReport:
    """Send every reminder and recall due at ``now`` (default: the clock) that no run has
    sent or is sending. Safe to run every minute and concurrently; see the module doc."""
    now = now or clock.now()
    return send_planned(plan_messages(now=now), now=now)


def plan_for(due: Iterable[DueMessage], *, now: dt.datetime) -> list[PlannedMessage]:
    """What to do with these particular due messages (one aftercare sheet, say)."""
    items = list(due)
    existing = {m.key: m for m in SentMessage.objects.filter(key__in=[d.key for d in items])}
    return [
        PlannedMessage(
            due=item, action=_action(existing.get(item.key), now), existing=existing.get(item.key)
        )
        for item in items
    ]


def send_planned(plan: Iterable[PlannedMessage], *, now: dt.datetime) -> SendReport:
    """Claim, send and mark each planned message (see the module doc)."""
    report = SendReport()
    connection = get_connection()
    try:
        for planned in plan:
            due = planned.due
            if planned.action == Action.STUCK:
                report.stuck += 1
                continue
            if planned.action == Action.SEND:
                row = _claim_new(due, now)
            elif planned.action == Action.RETRY:
                assert planned.existing is not None
                row = _claim_retry(due, planned.existing, now)
            else:
                row = None
            if row is None:
                report.skipped += 1
                continue
            try:
                email = build_email(due)
                email.connection = connection
                if email.send() != 1:
                    raise RuntimeError("the mail server did not accept the message")
            except Exception as exc:
                # Any error at all: the claim must not stay "sending", which would read as
                # a crash and block the retries this failure deserves.
                logger.warning("Could not send %s (attempt %d): %s", due.key, row.attempts, exc)
                _mark_failed(row, exc)
                report.failed += 1
                report.failed_keys.append(due.key)
                # A broken connection would fail every later message too: reopen it.
                with contextlib.suppress(Exception):
                    connection.close()
                continue
            _mark_sent(due, row)
            report.sent += 1
            report.sent_keys.append(due.key)
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    return report
