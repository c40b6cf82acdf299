"""Writing the audit trail.

``audit_record`` must be called inside the transaction of the write it describes, so the
event and the change commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from mesoclinic.core.context import current_origin
from mesoclinic.core.models import AuditEvent

if TYPE_CHECKING:
    from mesoclinic.accounts.models import Organisation, User
    from mesoclinic.patients.models import Patient

JSONValue = str | int | float | bool | None


def _json_value(value: Any) -> JSONValue:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, JSONValue]:
    """The JSON-safe values of ``fields`` on ``instance`` (foreign keys as their ids)."""
    result: dict[str, JSONValue] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = _json_value(getattr(instance, attname))
    return result


def diff(
    before: Mapping[str, JSONValue], after: Mapping[str, JSONValue]
) -> dict[str, dict[str, JSONValue]]:
    """Only the fields whose value changed, as ``{"field": {"old": ..., "new": ...}}``."""
    return {
        name: {"old": before.get(name), "new": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def created(after: Mapping[str, JSONValue]) -> dict[str, dict[str, JSONValue]]:
    return {name: {"new": value} for name, value in after.items() if value not in ("", None)}


def audit_record(
    *,
    action: str,
    actor: User | None,
    organisation: Organisation | None,
    obj: models.Model | None = None,
    patient: Patient | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    # A write's audit event must share the write's transaction; a read's may stand alone.
    standalone = action.endswith(".read") or action.startswith("auth.")
    if not standalone and not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"audit_record({action!r}) must run inside the write's transaction")
    where = current_origin()
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        patient=patient,
        occurred_at=timezone.now(),
        source_ip=where.source_ip,
        via=where.via,
        changes=dict(changes or {}),
    )
