"""Input and output schemas of /api/v1/sessions.

Input is checked here at the edge: choices, number ranges and decimal places, the shape of
zone codes, whole-number ids. What needs the database (the zone on the area's map, the
product and lot belonging to the organisation, the area's depth and volume limits) is the
service's (``treatments.services``), which names the same fields (``lines.0.zone``).

Volumes, depths and lengths go out as decimal strings ("1.00"), as stored, so no binary
rounding creeps in; they come in as a JSON number or a decimal string.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, field_validator

from mesoclinic.inventory.models import Lot, Product
from mesoclinic.patients import validators
from mesoclinic.treatments import maps
from mesoclinic.treatments.models import (
    Anaesthesia,
    Injection,
    Reaction,
    SessionPhoto,
    SessionStatus,
    SkinPreparation,
    Technique,
    TreatmentSession,
)
from mesoclinic.treatments.services import Precheck, volume_by_product

TEXT_MAX_CHARS = 5000
LINES_MAX = 100
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50
ZONE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _choice(value: str, choices: list[str]) -> str:
    if value not in choices:
        raise ValueError(f"Use one of {', '.join(choices)}.")
    return value


def _number(value: Any) -> Any:
    # JSON true/false is not a measurement, and pydantic would read it as 1/0.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError('Give a number, e.g. 1.5 or "1.5".')
    if isinstance(value, float) and value != value:  # NaN
        raise ValueError("Give a finite number.")
    return value


def _text(label: str) -> Any:
    def clean(value: str) -> str:
        return validators.clean_text(value, label=label, max_chars=TEXT_MAX_CHARS)

    return clean


# --- Input ---------------------------------------------------------------------------------


class OpenIn(_Strict):
    appointment_id: StrictInt = Field(description="The visit to chart")
    protocol_version_id: StrictInt | None = Field(
        None,
        description="Only for an appointment outside a course: the protocol version given",
    )


class LineIn(_Strict):
    zone: str = Field(
        min_length=1,
        max_length=32,
        pattern=ZONE_PATTERN,
        description="A zone code of the area's map (scalp: vertex, mid_scalp, ...)",
    )
    technique: str = Field(description=f"One of {', '.join(Technique.values)}")
    volume_ml: Decimal = Field(ge=0, le=Decimal("99999.99"), max_digits=7, decimal_places=2)
    product_id: StrictInt = Field(description="A treatment product of the organisation")
    lot_id: StrictInt | None = Field(
        None, description="A lot of that product (needed before signing)"
    )
    depth_mm: Decimal | None = Field(None, ge=0, le=Decimal("999.9"), decimal_places=1)
    needle_gauge: StrictInt | None = Field(None, ge=1, le=99)
    needle_length_mm: Decimal | None = Field(None, ge=0, le=Decimal("999.9"), decimal_places=1)
    points: StrictInt | None = Field(None, ge=0, le=100_000)

    _numbers = field_validator("volume_ml", "depth_mm", "needle_length_mm", mode="before")(
        lambda value: value if value is None else _number(value)
    )

    @field_validator("technique")
    @classmethod
    def _technique(cls, value: str) -> str:
        return _choice(value, list(Technique.values))


class ContentIn(_Strict):
    """Everything charted about a session; the lines replace the draft's lines."""

    skin_preparation: str = Field(
        SkinPreparation.CHLORHEXIDINE.value,
        description=f"One of {', '.join(SkinPreparation.values)}",
    )
    anaesthesia: str = Field(
        Anaesthesia.NONE.value, description=f"One of {', '.join(Anaesthesia.values)}"
    )
    anaesthesia_product_id: StrictInt | None = None
    anaesthesia_note: str = Field("", max_length=200)
    pain_score: StrictInt | None = Field(None, ge=0, le=10, description="0-10")
    reactions: list[str] = Field(
        default_factory=list,
        max_length=len(Reaction.values),
        description=f"Immediate reactions: {', '.join(Reaction.values)}",
    )
    reactions_note: str = Field("", max_length=100_000)
    notes: str = Field("", max_length=100_000)
    home_care_product_ids: list[StrictInt] = Field(
        default_factory=list, max_length=20, description="Retail products for the aftercare sheet"
    )
    lines: list[LineIn] = Field(max_length=LINES_MAX)

    _notes = field_validator("notes")(_text("Notes"))
    _reactions_note = field_validator("reactions_note")(_text("Reactions, details"))
    _anaesthesia_note = field_validator("anaesthesia_note")(_text("Anaesthesia details"))

    @field_validator("skin_preparation")
    @classmethod
    def _skin(cls, value: str) -> str:
        return _choice(value, list(SkinPreparation.values))

    @field_validator("anaesthesia")
    @classmethod
    def _anaesthesia(cls, value: str) -> str:
        return _choice(value, list(Anaesthesia.values))

    @field_validator("reactions")
    @classmethod
    def _reactions(cls, value: list[str]) -> list[str]:
        for code in value:
            _choice(code, list(Reaction.values))
        return list(dict.fromkeys(value))

    @field_validator("home_care_product_ids")
    @classmethod
    def _home_care(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class AmendIn(_Strict):
    reason: str = Field(max_length=100_000, description="Why the signed session is corrected")
    content: ContentIn

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = validators.clean_text(value, label="Reason", max_chars=TEXT_MAX_CHARS)
        if not value:
            raise ValueError("Say why the session is amended.")
        return value


class SessionListParams(Schema):
    patient_id: int | None = Field(None, description="A patient's sessions")
    appointment_id: int | None = Field(None, description="The revisions of one visit's chart")
    status: str | None = Field(None, description=f"One of {', '.join(SessionStatus.values)}")
    current: bool | None = Field(
        None, description="true: only current revisions; false: only superseded ones"
    )
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=10_000_000)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return value if value is None else _choice(value, list(SessionStatus.values))


# --- Output --------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class PatientRef(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str


class ProtocolRef(Schema):
    id: int = Field(description="The protocol version's id")
    protocol_id: int
    version: int
    name: str
    kind: str
    area: str


class ProductRef(Schema):
    id: int
    name: str
    unit: str


class LotRef(Schema):
    id: int
    lot_number: str
    expires_on: dt.date
    recalled: bool


class LineOut(Schema):
    position: int
    zone: str
    zone_label: str
    technique: str
    depth_mm: Decimal | None
    needle_gauge: int | None
    needle_length_mm: Decimal | None
    points: int | None
    volume_ml: Decimal
    product: ProductRef
    lot: LotRef | None


class TotalOut(Schema):
    product: ProductRef
    volume_ml: Decimal


class PrecheckOut(Schema):
    code: str
    label: str
    ok: bool
    message: str


class PhotoOut(Schema):
    id: int
    moment: str
    caption: str
    width_px: int
    height_px: int
    created_at: dt.datetime


class RevisionOut(Schema):
    id: int
    revision: int
    status: str
    current: bool
    signed_at: dt.datetime | None
    signed_by: Ref | None
    amendment_reason: str


class SessionBriefOut(Schema):
    id: int
    revision: int
    status: str
    current: bool
    appointment_id: int
    course_session_id: int | None
    patient: PatientRef
    clinic: Ref
    practitioner: Ref
    protocol: ProtocolRef
    area: str
    performed_on: dt.date
    supersedes_id: int | None
    superseded_by_id: int | None
    superseded_at: dt.datetime | None
    amendment_reason: str
    signed_at: dt.datetime | None
    signed_by: Ref | None
    created_at: dt.datetime
    totals: list[TotalOut] = Field(description="Volume per product, over all lines")


class SessionOut(SessionBriefOut):
    skin_preparation: str
    anaesthesia: str
    anaesthesia_product: ProductRef | None
    anaesthesia_note: str
    pain_score: int | None
    reactions: list[str]
    reactions_note: str
    notes: str
    home_care_products: list[ProductRef]
    lines: list[LineOut]
    prechecks: list[PrecheckOut] = Field(
        description="A draft: as they stand now; a signed revision: as they stood at signing"
    )
    warnings: list[str] = Field(description="Unusual values, accepted (each names its zone)")
    photos: list[PhotoOut]
    aftercare_sheet_id: int | None
    revisions: list[RevisionOut] = Field(description="Every revision of this visit's chart")


class SessionPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[SessionBriefOut]


# --- Building the output --------------------------------------------------------------------


def user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.full_name or user.email}


def product_ref(product: Product) -> dict[str, Any]:
    return {"id": product.pk, "name": product.name, "unit": product.unit}


def lot_ref(lot: Lot | None) -> dict[str, Any] | None:
    if lot is None:
        return None
    return {
        "id": lot.pk,
        "lot_number": lot.lot_number,
        "expires_on": lot.expires_on,
        "recalled": lot.is_recalled,
    }


def session_brief(session: TreatmentSession, lines: list[Injection]) -> dict[str, Any]:
    """Needs ``patient``, ``clinic``, ``practitioner``, ``protocol_version``, ``signed_by``
    and the reverse ``superseded_by`` loaded, and ``lines`` with their products."""
    patient = session.patient
    version = session.protocol_version
    successor = getattr(session, "superseded_by", None)
    return {
        "id": session.pk,
        "revision": session.revision,
        "status": session.status,
        "current": session.is_current,
        "appointment_id": session.appointment_id,
        "course_session_id": session.course_session_id,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
        },
        "clinic": {"id": session.clinic.pk, "name": session.clinic.name},
        "practitioner": user_ref(session.practitioner),
        "protocol": {
            "id": version.pk,
            "protocol_id": version.protocol_id,
            "version": version.number,
            "name": version.name,
            "kind": version.kind,
            "area": version.area,
        },
        "area": session.area,
        "performed_on": session.performed_on,
        "supersedes_id": session.supersedes_id,
        "superseded_by_id": successor.pk if successor is not None else None,
        "superseded_at": session.superseded_at,
        "amendment_reason": session.amendment_reason,
        "signed_at": session.signed_at,
        "signed_by": user_ref(session.signed_by),
        "created_at": session.created_at,
        "totals": [
            {"product": product_ref(product), "volume_ml": volume}
            for product, volume in volume_by_product(lines)
        ],
    }


def session_out(
    session: TreatmentSession,
    *,
    lines: list[Injection],
    prechecks: list[Precheck] | list[dict[str, Any]],
    warnings: list[str],
    home_care: list[Product],
    photos: list[SessionPhoto],
    revisions: list[TreatmentSession],
    aftercare_sheet_id: int | None,
) -> dict[str, Any]:
    return {
        **session_brief(session, lines),
        "skin_preparation": session.skin_preparation,
        "anaesthesia": session.anaesthesia,
        "anaesthesia_product": (
            None
            if session.anaesthesia_product is None
            else product_ref(session.anaesthesia_product)
        ),
        "anaesthesia_note": session.anaesthesia_note,
        "pain_score": session.pain_score,
        "reactions": list(session.reactions),
        "reactions_note": session.reactions_note,
        "notes": session.notes,
        "home_care_products": [product_ref(p) for p in home_care],
        "lines": [
            {
                "position": line.position,
                "zone": line.zone,
                "zone_label": maps.zone_label(session.area, line.zone),
                "technique": line.technique,
                "depth_mm": line.depth_mm,
                "needle_gauge": line.needle_gauge,
                "needle_length_mm": line.needle_length_mm,
                "points": line.points,
                "volume_ml": line.volume_ml,
                "product": product_ref(line.product),
                "lot": lot_ref(line.lot),
            }
            for line in lines
        ],
        "prechecks": [c.as_json() if isinstance(c, Precheck) else c for c in prechecks],
        "warnings": warnings,
        "photos": [
            {
                "id": p.pk,
                "moment": p.moment,
                "caption": p.caption,
                "width_px": p.width_px,
                "height_px": p.height_px,
                "created_at": p.created_at,
            }
            for p in photos
        ],
        "aftercare_sheet_id": aftercare_sheet_id,
        "revisions": [
            {
                "id": r.pk,
                "revision": r.revision,
                "status": r.status,
                "current": r.is_current,
                "signed_at": r.signed_at,
                "signed_by": user_ref(r.signed_by),
                "amendment_reason": r.amendment_reason,
            }
            for r in revisions
        ],
    }
