"""Reads of adverse events, always scoped by the organisation (404 for any other).

Reading one event is a read of the patient's chart and is audited; lists made for the
chart are audited by the chart's own read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.accounts.models import Role, User
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient
from mesoclinic.safety import catalogue
from mesoclinic.safety.models import (
    AdverseEvent,
    AdverseEventFollowUp,
    AdverseEventPhoto,
    AdverseEventVisit,
    Outcome,
)
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments import maps
from mesoclinic.treatments.models import Injection, TreatmentSession


def event_queryset(*, organisation_id: int) -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.filter(organisation_id=organisation_id).select_related(
        "patient", "clinic", "responsible", "recorded_by", "reviewed_by"
    )


def with_visits(events: QuerySet[AdverseEvent]) -> QuerySet[AdverseEvent]:
    return events.prefetch_related(
        Prefetch(
            "visits",
            queryset=AdverseEventVisit.objects.select_related("appointment").order_by(
                "appointment__starts_at"
            ),
        )
    )


def event_get(*, workspace: Workspace, event_id: int) -> AdverseEvent:
    """One event of the workspace's organisation (visits loaded); else 404."""
    event = (
        with_visits(event_queryset(organisation_id=workspace.organisation.pk))
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        raise Http404("No such side effect")
    return event


def event_get_for_read(*, workspace: Workspace, event_id: int) -> AdverseEvent:
    """As ``event_get``, recording the read of the patient's chart."""
    event = event_get(workspace=workspace, event_id=event_id)
    audit_record(
        action="adverse_event.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=event,
        patient=event.patient,
    )
    return event


def events_of_patient(*, patient: Patient, limit: int = 200) -> list[AdverseEvent]:
    """The patient's events, newest onset first, with their visits (three queries)."""
    return list(
        with_visits(
            event_queryset(organisation_id=patient.organisation_id).filter(patient=patient)
        ).order_by("-onset_at", "-pk")[:limit]
    )


def follow_ups_of(event: AdverseEvent) -> list[AdverseEventFollowUp]:
    return list(event.follow_ups.select_related("recorded_by").order_by("noted_at", "pk"))


def photos_of(event: AdverseEvent) -> list[AdverseEventPhoto]:
    return list(event.photos.order_by("created_at", "pk"))


def photo_get(*, workspace: Workspace, photo_id: int) -> AdverseEventPhoto:
    photo = (
        AdverseEventPhoto.objects.filter(organisation=workspace.organisation, pk=photo_id)
        .select_related("patient", "event")
        .first()
    )
    if photo is None:
        raise Http404("No such photo")
    return photo


@dataclass(frozen=True)
class Exposure:
    """What one related visit gave: its current signed revision and its lines."""

    appointment: Appointment
    session: TreatmentSession | None
    lines: list[Injection] = field(default_factory=list)


def exposures_of(event: AdverseEvent) -> list[Exposure]:
    """The products and lots given at each visit the event followed, from each visit's
    current signed revision (an amendment is followed without re-linking)."""
    visits = [v.appointment for v in event.visits.all()]
    sessions = {
        s.appointment_id: s
        for s in TreatmentSession.objects.in_force()
        .filter(appointment__in=[a.pk for a in visits])
        .select_related("practitioner", "protocol_version")
        .prefetch_related(
            Prefetch(
                "injections",
                queryset=Injection.objects.select_related("product", "lot").order_by("position"),
            )
        )
    }
    result = []
    for appointment in visits:
        session = sessions.get(appointment.pk)
        if session is not None:
            for line in session.injections.all():
                line.zone_label = maps.zone_label(session.area, line.zone)  # type: ignore[attr-defined]
        result.append(
            Exposure(
                appointment=appointment,
                session=session,
                lines=list(session.injections.all()) if session else [],
            )
        )
    return result


def signed_visits_of(*, patient: Patient, limit: int = 50) -> list[TreatmentSession]:
    """The patient's current signed sessions, newest first: the visits a side effect can
    be related to."""
    return list(
        TreatmentSession.objects.in_force()
        .filter(patient=patient)
        .select_related("appointment", "protocol_version", "practitioner", "clinic")
        .order_by("-performed_on", "-pk")[:limit]
    )


# --- What needs attention ---------------------------------------------------------------------


def _attention(now: dt.datetime) -> Q:
    """Open events that are prolonged (past their expected course) or serious and not
    reviewed yet."""
    return Q(outcome=Outcome.ONGOING) & (
        Q(expected_end_at__lt=now) | Q(is_serious=True, reviewed_at__isnull=True)
    )


@dataclass(frozen=True)
class Flagged:
    event: AdverseEvent
    prolonged: bool
    needs_review: bool

    @property
    def term_label(self) -> str:
        return term_label(self.event)


def onset_day(event: AdverseEvent) -> dt.date:
    """The onset's date where the event was recorded (its clinic's time zone)."""
    return event.onset_at.astimezone(event.clinic.tzinfo).date()


def term_label(event: AdverseEvent) -> str:
    label = catalogue.term(event.term).label
    return f"{label}: {event.term_text}" if event.term_text else label


def _flagged(events: Iterable[AdverseEvent], now: dt.datetime) -> list[Flagged]:
    return [
        Flagged(
            event=e,
            prolonged=e.is_open and e.expected_end_at is not None and e.expected_end_at < now,
            needs_review=e.needs_review,
        )
        for e in events
    ]


def flagged_of_patient(*, patient_id: int, now: dt.datetime) -> list[Flagged]:
    """The patient's open events that need attention (one query): the chart header."""
    return _flagged(
        AdverseEvent.objects.filter(_attention(now), patient_id=patient_id)
        .select_related("clinic")
        .order_by("-onset_at", "-pk"),
        now,
    )


def flagged_for(*, workspace: Workspace, now: dt.datetime, limit: int = 20) -> list[Flagged]:
    """The dashboard's list: a practitioner's own flagged events; an admin's, the whole
    organisation's. One query."""
    events = AdverseEvent.objects.filter(
        _attention(now), organisation=workspace.organisation
    ).select_related("patient", "responsible", "clinic")
    if not workspace.has_role(Role.ADMIN):
        events = events.filter(responsible=workspace.user)
    return _flagged(events.order_by("-is_serious", "expected_end_at", "pk")[:limit], now)


def blocking_events(*, patient_id: int) -> list[AdverseEvent]:
    """Open serious events nobody has reviewed: they block the patient's next session."""
    return list(
        AdverseEvent.objects.filter(
            patient_id=patient_id,
            outcome=Outcome.ONGOING,
            is_serious=True,
            reviewed_at__isnull=True,
        )
        .select_related("clinic")
        .order_by("onset_at", "pk")
    )


def open_events_count(*, patient_id: int) -> int:
    return AdverseEvent.objects.filter(patient_id=patient_id, outcome=Outcome.ONGOING).count()


# --- Lists (API) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    patient_id: int | None = None
    term: str | None = None
    open: bool | None = None
    serious: bool | None = None
    prolonged: bool | None = None
    responsible_id: int | None = None
    onset_from: dt.date | None = None
    onset_to: dt.date | None = None


def events_filtered(
    *, workspace: Workspace, filters: EventFilter, now: dt.datetime, tz: dt.tzinfo
) -> QuerySet[AdverseEvent]:
    """The filtered events, newest onset first; onset dates are days in ``tz``."""
    events = with_visits(event_queryset(organisation_id=workspace.organisation.pk))
    if filters.patient_id is not None:
        events = events.filter(patient_id=filters.patient_id)
    if filters.term:
        events = events.filter(term=filters.term)
    if filters.open is not None:
        events = (
            events.filter(outcome=Outcome.ONGOING)
            if filters.open
            else events.exclude(outcome=Outcome.ONGOING)
        )
    if filters.serious is not None:
        events = events.filter(is_serious=filters.serious)
    if filters.prolonged is not None:
        prolonged = Q(outcome=Outcome.ONGOING, expected_end_at__lt=now)
        events = events.filter(prolonged) if filters.prolonged else events.exclude(prolonged)
    if filters.responsible_id is not None:
        events = events.filter(responsible_id=filters.responsible_id)
    if filters.onset_from is not None:
        events = events.filter(onset_at__gte=dt.datetime.combine(filters.onset_from, dt.time(), tz))
    if filters.onset_to is not None:
        day_after = filters.onset_to + dt.timedelta(days=1)
        events = events.filter(onset_at__lt=dt.datetime.combine(day_after, dt.time(), tz))
    return events.order_by("-onset_at", "-pk")


def clinicians_of(*, workspace: Workspace) -> QuerySet[User]:
    """The organisation's active practitioners and admins: who can be responsible."""
    return User.objects.filter(
        memberships__organisation=workspace.organisation,
        memberships__is_active=True,
        memberships__role__in=(Role.ADMIN, Role.PRACTITIONER),
    ).order_by("full_name", "pk")
