"""Reads of the audit trail, scoped to one organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from mesoclinic.accounts.models import Organisation
from mesoclinic.core.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    patient_query: str = ""  # record number, exact
    actor_id: int | None = None
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive


def audit_events(
    *, organisation: Organisation, filters: AuditFilter, tz: dt.tzinfo
) -> QuerySet[AuditEvent]:
    """Events of the organisation matching ``filters``; dates are days in ``tz``."""
    events = AuditEvent.objects.filter(organisation=organisation).select_related("patient")
    if filters.patient_query:
        events = events.filter(patient__mrn__iexact=filters.patient_query.strip())
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.date_from is not None:
        start = dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=tz)
        events = events.filter(occurred_at__gte=start)
    if filters.date_to is not None:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-occurred_at", "-id")
