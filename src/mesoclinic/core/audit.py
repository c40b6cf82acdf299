"""Writing the audit trail.

``audit_record`` must be called inside the transaction of the write it describes, so the
event and the change commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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


def _storable(value: Any) -> Any:
    """``value`` with NUL characters replaced: PostgreSQL refuses them in text and JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {str(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def created(after: Mapping[str, JSONValue]) -> dict[str, dict[str, JSONValue]]:
    return {name: {"new": value} for name, value in after.items() if value not in ("", None)}


@dataclass(frozen=True)
class ActionInfo:
    label: str | Promise
    # A write's event must be recorded in the write's own transaction; a read's or a
    # sign-in's event may stand alone.
    standalone: bool = False


# Every action the audit trail knows. audit_record refuses any other name, so a typo fails
# in tests instead of producing an event nobody can filter for.
ACTIONS: dict[str, ActionInfo] = {
    "organisation.create": ActionInfo(_("Organisation created")),
    "clinic.create": ActionInfo(_("Clinic added")),
    "clinic.update": ActionInfo(_("Clinic changed")),
    "membership.create": ActionInfo(_("Staff member added")),
    "staff.deactivate": ActionInfo(_("Staff member deactivated")),
    "staff.reactivate": ActionInfo(_("Staff member reactivated")),
    "api_token.create": ActionInfo(_("API token created")),
    "api_token.revoke": ActionInfo(_("API token revoked")),
    "patient.create": ActionInfo(_("Patient registered")),
    "patient.update": ActionInfo(_("Patient details changed")),
    "patient.portal_account_create": ActionInfo(_("Portal account created")),
    "assessment.create": ActionInfo(_("Hair-loss assessment recorded")),
    "intake.create": ActionInfo(_("Intake questionnaire saved")),
    "screening.create": ActionInfo(_("Screening signed")),
    "consent.sign": ActionInfo(_("Consent signed")),
    "consent.withdraw": ActionInfo(_("Consent withdrawn")),
    "consent_template.publish": ActionInfo(_("Consent text published")),
    "screening.override": ActionInfo(_("Screening overridden")),
    "protocol.create": ActionInfo(_("Protocol created")),
    "protocol.version_create": ActionInfo(_("Protocol version written")),
    "protocol.update": ActionInfo(_("Protocol changed")),
    "formulation.save": ActionInfo(_("Formulation saved")),
    "schedule.update": ActionInfo(_("Rooms, hours or closures changed")),
    "course.create": ActionInfo(_("Course started")),
    "course.replan": ActionInfo(_("Course re-planned")),
    "course.cancel": ActionInfo(_("Course cancelled")),
    "appointment.book": ActionInfo(_("Appointment booked")),
    "appointment.move": ActionInfo(_("Appointment moved")),
    "appointment.cancel": ActionInfo(_("Appointment cancelled")),
    "appointment.check_in": ActionInfo(_("Patient checked in")),
    "appointment.no_show": ActionInfo(_("Appointment missed")),
    "appointment.complete": ActionInfo(_("Appointment done (session signed)")),
    "calendar_feed.create": ActionInfo(_("Calendar feed created")),
    "calendar_feed.revoke": ActionInfo(_("Calendar feed revoked")),
    "message.send": ActionInfo(_("Reminder, recall or aftercare sheet sent")),
    "product.create": ActionInfo(_("Product added")),
    "product.update": ActionInfo(_("Product changed")),
    "lot.receive": ActionInfo(_("Stock received")),
    "stock.adjust": ActionInfo(_("Stock adjusted")),
    "stock.transfer": ActionInfo(_("Stock transferred")),
    "lot.recall": ActionInfo(_("Lot recalled")),
    "session.open": ActionInfo(_("Session chart opened as a draft")),
    "session.update": ActionInfo(_("Session draft changed")),
    "session.sign": ActionInfo(_("Session signed")),
    "session.amend": ActionInfo(_("Signed session amended")),
    "session.discard": ActionInfo(_("Session draft discarded")),
    "photo.add": ActionInfo(_("Photo added")),
    "photo.remove": ActionInfo(_("Photo removed from a draft")),
    "adverse_event.record": ActionInfo(_("Side effect recorded")),
    "adverse_event.update": ActionInfo(_("Side effect changed")),
    "adverse_event.follow_up": ActionInfo(_("Side effect followed up")),
    "adverse_event.resolve": ActionInfo(_("Side effect closed with an outcome")),
    "adverse_event.review": ActionInfo(_("Serious side effect reviewed")),
    "adverse_event.flag": ActionInfo(_("Side effect flagged (prolonged or serious)")),
    "adverse_event.photo_add": ActionInfo(_("Photo of a side effect added")),
    "adverse_event.photo_remove": ActionInfo(_("Photo of a side effect removed")),
    "outcome_visit.record": ActionInfo(_("Outcome visit recorded")),
    "outcome_visit.update": ActionInfo(_("Outcome visit corrected")),
    "landmark.create": ActionInfo(_("Scalp landmark marked")),
    "outcome_photo.add": ActionInfo(_("Outcome photo added")),
    "outcome_photo.remove": ActionInfo(_("Outcome photo removed")),
    "outcome_photo.analyse": ActionInfo(_("Trichoscopy close-up analysed")),
    "appointment.read": ActionInfo(_("Appointment opened"), standalone=True),
    "calendar.export": ActionInfo(_("Appointments exported as iCalendar"), standalone=True),
    "patient.read": ActionInfo(_("Chart opened"), standalone=True),
    "session.read": ActionInfo(_("Session chart read"), standalone=True),
    "photo.read": ActionInfo(_("Photo viewed"), standalone=True),
    "aftercare.read": ActionInfo(_("Aftercare sheet viewed or printed"), standalone=True),
    "recall.read": ActionInfo(_("Recall list viewed or exported"), standalone=True),
    "adverse_event.read": ActionInfo(_("Side effect opened"), standalone=True),
    "adverse_event.list": ActionInfo(_("Side effects listed"), standalone=True),
    "safety.read": ActionInfo(_("Safety rates viewed or exported"), standalone=True),
    "outcomes.read": ActionInfo(
        _("Outcomes viewed (visit, progress, comparison or report)"), standalone=True
    ),
    "outcomes.list": ActionInfo(
        _("Outcome measurements or photos listed through the API"), standalone=True
    ),
    "outcomes.cohort_read": ActionInfo(_("Cohort outcomes viewed or exported"), standalone=True),
    "patient.list": ActionInfo(_("Patients listed through the API"), standalone=True),
    "audit.export": ActionInfo(_("Audit trail exported"), standalone=True),
    "auth.login": ActionInfo(_("Signed in"), standalone=True),
    "auth.logout": ActionInfo(_("Signed out"), standalone=True),
    "auth.login_failed": ActionInfo(_("Sign-in failed"), standalone=True),
    "auth.password_change": ActionInfo(_("Password changed")),
    "auth.password_reset": ActionInfo(_("Password reset")),
}


def action_label(action: str) -> str:
    info = ACTIONS.get(action)
    return str(info.label) if info else action


def audit_record(
    *,
    action: str,
    actor: User | None,
    organisation: Organisation | None,
    obj: models.Model | None = None,
    patient: Patient | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    info = ACTIONS.get(action)
    if info is None:
        raise ValueError(f"Unknown audit action {action!r}; add it to core.audit.ACTIONS")
    if not info.standalone and not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"audit_record({action!r}) must run inside the write's transaction")
    where = current_origin()
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=_storable(str(obj)[:200]) if obj is not None else "",
        patient=patient,
        occurred_at=timezone.now(),
        source_ip=where.source_ip,
        via=where.via,
        changes=_storable(dict(changes or {})),
    )
