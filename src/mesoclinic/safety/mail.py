"""The email that tells the responsible practitioner a side effect was flagged, at most
once per event and flag.

It goes through the reminders' claim-then-send machinery (``scheduling.reminders``) under
the key ``safety:<event id>:<flag>``, so a second run of ``safety_check`` (or two running
at once) never sends it twice, and a failed send is retried by the next run. The email
names the patient only by record number: mail leaves the clinic's systems.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse

from mesoclinic.accounts.models import Membership
from mesoclinic.safety import catalogue
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.safety.rules import Flag
from mesoclinic.scheduling.models import MessageKind
from mesoclinic.scheduling.reminders import DueMessage, SendReport, plan_for, send_planned

# A flag raised longer ago than this is not mailed any more (the practitioner has seen it
# on the dashboard by then); a failed send is retried until then.
ALERT_RETRY_DAYS = 7


def alert_key(event: AdverseEvent, flag: Flag) -> str:
    """One message per raising of a flag: an event that becomes serious again after a
    review (or prolonged again after a corrected onset) is a new alert."""
    raised = event.serious_flagged_at if flag == Flag.SERIOUS else event.prolonged_flagged_at
    assert raised is not None
    return f"safety:{event.pk}:{flag.value}:{int(raised.timestamp())}"


def _due(event: AdverseEvent, flag: Flag) -> DueMessage:
    return DueMessage(
        kind=MessageKind.SAFETY,
        key=alert_key(event, flag),
        organisation=event.organisation,
        patient=event.patient,
        clinic=event.clinic,
        recipient=event.responsible.email,
        adverse_event=event,
        flag=flag.value,
    )


def due_alerts(*, now: dt.datetime) -> list[DueMessage]:
    """One message per flag raised in the last ``ALERT_RETRY_DAYS``; whether it was sent
    already is the machinery's business (it skips those)."""
    since = now - dt.timedelta(days=ALERT_RETRY_DAYS)
    # A responsible practitioner who has left is not mailed: the admins' dashboard lists
    # the event, and it can be given to someone else.
    still_here = Membership.objects.filter(
        user_id=OuterRef("responsible_id"),
        organisation_id=OuterRef("organisation_id"),
        is_active=True,
    )
    events = (
        AdverseEvent.objects.filter(
            Q(prolonged_flagged_at__gte=since, outcome="ongoing") | Q(serious_flagged_at__gte=since)
        )
        .filter(Exists(still_here))
        .select_related("organisation", "patient", "clinic", "responsible")
        .order_by("pk")
    )
    due = []
    for event in events:
        # A serious event reviewed or closed before its email went out needs no alert.
        if (
            event.serious_flagged_at is not None
            and event.serious_flagged_at >= since
            and event.needs_review
        ):
            due.append(_due(event, Flag.SERIOUS))
        if (
            event.prolonged_flagged_at is not None
            and event.prolonged_flagged_at >= since
            and event.is_open
        ):
            due.append(_due(event, Flag.PROLONGED))
    return due


def send_alerts(*, now: dt.datetime) -> SendReport:
    return send_planned(plan_for(due_alerts(now=now), now=now), now=now)


def safety_email(due: DueMessage) -> EmailMessage:
    event: AdverseEvent = due.adverse_event
    term = catalogue.term(event.term)
    tz = event.clinic.tzinfo
    context = {
        "event": event,
        "term": term,
        "flag": due.flag,
        "onset": event.onset_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "expected_end": (
            event.expected_end_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if event.expected_end_at
            else ""
        ),
        "grade_text": term.grade_description(event.grade),
        "link": settings.SITE_URL + reverse("safety_event", args=[event.pk]),
    }
    subject = (
        f"Serious side effect to review: record {event.patient.mrn}"
        if due.flag == Flag.SERIOUS
        else f"Side effect lasting longer than expected: record {event.patient.mrn}"
    )
    return EmailMessage(
        subject=subject,
        body=render_to_string("safety/email/alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.recipient],
    )
