"""Input and output schemas of /api/v1/protocols.

Every check that needs no database runs here (ranges, choices, ingredient codes, units); the
consent codes are checked against the organisation's templates in ``protocols.api``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, ValidationInfo, field_validator

from mesoclinic.patients import validators
from mesoclinic.patients.schemas import known_codes
from mesoclinic.protocols.ingredients import INGREDIENTS
from mesoclinic.protocols.models import Area, Protocol, ProtocolVersion, Unit
from mesoclinic.protocols.services import ProtocolContent
from mesoclinic.scheduling import planner
from mesoclinic.screening.models import KIND_CHOICES
from mesoclinic.treatments.aftercare import EVIDENCE_LABELS, SECTIONS, set_from_json, set_to_json
from mesoclinic.treatments.aftercare_sets import check_set

# The planner's own bounds (scheduling.planner), so every version written can be planned.
SESSIONS_MAX = planner.MAX_INDUCTION_SESSIONS
INTERVAL_DAYS_MAX = {
    "induction": planner.MAX_INDUCTION_INTERVAL_DAYS,
    "maintenance": planner.MAX_MAINTENANCE_INTERVAL_DAYS,
}
MAINTENANCE_SESSIONS_MAX = planner.MAX_MAINTENANCE_SESSIONS
REVIEW_DAYS_MAX = planner.MAX_REVIEW_AFTER_DAYS
DURATION_MINUTES = (5, 480)
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
CONCENTRATION_MAX = Decimal("99999.9999")


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _whole(value: int, *, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"Give {what} from {low} to {high}.")
    return value


def _days_max(info: ValidationInfo) -> int:
    return INTERVAL_DAYS_MAX[str(info.field_name).split("_", 1)[0]]


def _earlier(info: ValidationInfo, name: str) -> int | None:
    """The value of an earlier field, when it was given and valid."""
    value = info.data.get(name)
    return value if isinstance(value, int) else None


class IngredientIn(_Strict):
    code: str = Field(max_length=64, description="An ingredient code (protocols.ingredients)")
    concentration: Decimal | None = Field(
        None, description="Positive, with its unit; null when the product does not say"
    )
    unit: str = Field(
        "", max_length=16, validate_default=True, description="One of " + ", ".join(Unit.values)
    )

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return known_codes([value], INGREDIENTS, "ingredient")[0]

    @field_validator("concentration", mode="before")
    @classmethod
    def _concentration_text(cls, value: Any) -> Any:
        if isinstance(value, bool) or not (value is None or isinstance(value, str | int | float)):
            raise ValueError("Give the concentration as a number, e.g. 0.01.")
        return value

    @field_validator("concentration")
    @classmethod
    def _concentration(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        try:
            if not value.is_finite() or value <= 0 or value > CONCENTRATION_MAX:
                raise ValueError
            if value != value.quantize(Decimal("0.0001")):
                raise ValueError
        except (ValueError, InvalidOperation):
            raise ValueError(
                "Give a concentration above 0 and below 100000, with at most 4 decimals."
            ) from None
        return value

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str, info: ValidationInfo) -> str:
        if value:
            value = known_codes([value], tuple(Unit.choices), "unit")[0]
        concentration = info.data.get("concentration")
        if concentration is not None and not value:
            raise ValueError("Give the unit of the concentration.")
        if concentration is None and value and "concentration" in info.data:
            raise ValueError("A unit needs a concentration; leave it empty.")
        return value

    def as_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "concentration": (
                None if self.concentration is None else format(self.concentration.normalize(), "f")
            ),
            "unit": self.unit,
        }


class FormulationIn(_Strict):
    name: str = Field(max_length=10_000)
    source: str = Field("", max_length=10_000)
    ingredients: list[IngredientIn] = Field(default_factory=list, max_length=30)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = validators.clean_text(value, label="Formulation name", max_chars=200)
        if not value:
            raise ValueError("Name the formulation.")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return validators.clean_text(value, label="Source", max_chars=5000)

    @field_validator("ingredients")
    @classmethod
    def _distinct(cls, value: list[IngredientIn]) -> list[IngredientIn]:
        codes = [i.code for i in value]
        repeated = next((c for c in codes if codes.count(c) > 1), None)
        if repeated is not None:
            raise ValueError(f"The ingredient {repeated!r} is listed twice.")
        return value

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "ingredients": [i.as_data() for i in self.ingredients],
        }


class ProtocolVersionIn(_Strict):
    """The whole content of a new version, and what changed. Fields in the order they are
    checked: each range is checked against the fields before it."""

    name: str = Field(max_length=10_000)
    area: str = Field(max_length=32, description="One of " + ", ".join(Area.values))
    kind: str = Field(
        max_length=32, description="One of " + ", ".join(code for code, _ in KIND_CHOICES)
    )
    description: str = Field("", max_length=100_000)
    session_duration_minutes: StrictInt
    induction_sessions_min: StrictInt
    induction_sessions_max: StrictInt
    induction_interval_min_days: StrictInt
    induction_interval_target_days: StrictInt
    induction_interval_max_days: StrictInt
    maintenance_sessions: StrictInt = 0
    maintenance_interval_min_days: StrictInt | None = Field(None, validate_default=True)
    maintenance_interval_target_days: StrictInt | None = Field(None, validate_default=True)
    maintenance_interval_max_days: StrictInt | None = Field(None, validate_default=True)
    review_after_days: list[StrictInt] = Field(default_factory=list, max_length=10)
    formulations: list[FormulationIn] = Field(default_factory=list, max_length=10)
    consent_codes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Codes of the organisation's consent texts the patient signs first",
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        max_length=30,
        description="Where a value came from, by field name (e.g. 'induction')",
    )
    aftercare: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "The aftercare set given to patients: an object with "
            + ", ".join(SECTIONS)
            + ", each a list of lines {code, text, source, evidence}; evidence one of "
            + ", ".join(EVIDENCE_LABELS)
            + ". Codes are unique in the set; texts must not promise results. "
            "Empty or left out: the shipped set for the area and treatment."
        ),
    )
    change_note: str = Field(max_length=100_000, description="What changed, for the history")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = validators.clean_text(value, label="Name", max_chars=200)
        if not value:
            raise ValueError("Name the protocol.")
        return value

    @field_validator("area")
    @classmethod
    def _area(cls, value: str) -> str:
        return known_codes([value], tuple(Area.choices), "area")[0]

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return known_codes([value], tuple(KIND_CHOICES), "treatment kind")[0]

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return validators.clean_text(value, label="Description", max_chars=5000)

    @field_validator("session_duration_minutes")
    @classmethod
    def _duration(cls, value: int) -> int:
        low, high = DURATION_MINUTES
        return _whole(value, low=low, high=high, what="the session length in minutes")

    @field_validator("induction_sessions_min")
    @classmethod
    def _sessions_min(cls, value: int) -> int:
        return _whole(value, low=1, high=SESSIONS_MAX, what="the fewest induction sessions")

    @field_validator("induction_sessions_max")
    @classmethod
    def _sessions_max(cls, value: int, info: ValidationInfo) -> int:
        value = _whole(value, low=1, high=SESSIONS_MAX, what="the most induction sessions")
        fewest = _earlier(info, "induction_sessions_min")
        if fewest is not None and value < fewest:
            raise ValueError(f"The most induction sessions must be at least the fewest ({fewest}).")
        return value

    @field_validator("induction_interval_min_days", "maintenance_interval_min_days")
    @classmethod
    def _interval_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        value = cls._maintenance_given(value, info)
        if value is None:
            return None
        return _whole(value, low=1, high=_days_max(info), what="the shortest interval in days")

    @field_validator("induction_interval_target_days", "maintenance_interval_target_days")
    @classmethod
    def _interval_target(cls, value: int | None, info: ValidationInfo) -> int | None:
        value = cls._maintenance_given(value, info)
        if value is None:
            return None
        value = _whole(value, low=1, high=_days_max(info), what="the usual interval in days")
        shortest = _earlier(info, str(info.field_name).replace("_target_", "_min_"))
        if shortest is not None and value < shortest:
            raise ValueError(f"The usual interval must be at least the shortest ({shortest} days).")
        return value

    @field_validator("induction_interval_max_days", "maintenance_interval_max_days")
    @classmethod
    def _interval_max(cls, value: int | None, info: ValidationInfo) -> int | None:
        value = cls._maintenance_given(value, info)
        if value is None:
            return None
        value = _whole(value, low=1, high=_days_max(info), what="the longest interval in days")
        name = str(info.field_name)
        usual = _earlier(info, name.replace("_max_", "_target_"))
        shortest = _earlier(info, name.replace("_max_", "_min_"))
        if usual is not None and value < usual:
            raise ValueError(f"The longest interval must be at least the usual ({usual} days).")
        if shortest is not None and value < shortest:
            raise ValueError(
                f"The longest interval must be at least the shortest ({shortest} days)."
            )
        return value

    @staticmethod
    def _maintenance_given(value: int | None, info: ValidationInfo) -> int | None:
        """Maintenance intervals are required exactly when maintenance sessions are planned.
        Induction intervals pass through (pydantic already requires them)."""
        if not str(info.field_name).startswith("maintenance_"):
            return value
        if "maintenance_sessions" not in info.data:
            return value  # maintenance_sessions itself was invalid; reported there
        planned = info.data["maintenance_sessions"] > 0
        if planned and value is None:
            raise ValueError("Required when maintenance sessions are planned.")
        if not planned and value is not None:
            raise ValueError("Leave this empty (null) when no maintenance sessions are planned.")
        return value

    @field_validator("maintenance_sessions")
    @classmethod
    def _maintenance_sessions(cls, value: int) -> int:
        return _whole(value, low=0, high=MAINTENANCE_SESSIONS_MAX, what="the maintenance sessions")

    @field_validator("review_after_days")
    @classmethod
    def _reviews(cls, value: list[int]) -> list[int]:
        for day in value:
            _whole(day, low=1, high=REVIEW_DAYS_MAX, what="each review day")
        if len(set(value)) != len(value):
            raise ValueError("List each review day once.")
        return sorted(value)

    @field_validator("formulations")
    @classmethod
    def _formulation_names(cls, value: list[FormulationIn]) -> list[FormulationIn]:
        names = [f.name for f in value]
        repeated = next((n for n in names if names.count(n) > 1), None)
        if repeated is not None:
            raise ValueError(f"The formulation {repeated!r} is listed twice.")
        return value

    @field_validator("consent_codes")
    @classmethod
    def _consents(cls, value: list[str]) -> list[str]:
        for code in value:
            if not code or len(code) > 32:
                raise ValueError("Give consent codes of 1 to 32 characters.")
        return list(dict.fromkeys(value))

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = {}
        for key, text in value.items():
            if not SOURCE_KEY_PATTERN.match(key):
                raise ValueError(
                    f"Source key {key!r}: use a field name of lowercase letters, digits and _."
                )
            cleaned[key] = validators.clean_text(text, label=f"Source {key!r}", max_chars=5000)
        return cleaned

    @field_validator("aftercare")
    @classmethod
    def _aftercare(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            return {}
        parsed = set_from_json(value)  # ValueError naming the bad entry: a 422
        check_set(parsed)
        return set_to_json(parsed)

    @field_validator("change_note")
    @classmethod
    def _change_note(cls, value: str) -> str:
        value = validators.clean_text(value, label="Change note", max_chars=5000)
        if not value:
            raise ValueError("Say what changed in this version.")
        return value

    def content(self) -> ProtocolContent:
        data = self.model_dump(exclude={"change_note", "formulations"})
        data["formulations"] = [f.as_data() for f in self.formulations]
        return ProtocolContent.from_data(data)


class CopyIn(_Strict):
    code: str = Field(max_length=200, description="A new code: lowercase letters, digits, -")
    name: str = Field(max_length=10_000)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip()
        if not CODE_PATTERN.match(value) or len(value) > 60:
            raise ValueError(
                "Use up to 60 lowercase letters and digits, words joined by '-' "
                "(e.g. hair-mesotherapy-short)."
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = validators.clean_text(value, label="Name", max_chars=200)
        if not value:
            raise ValueError("Name the copy.")
        return value


class OfferedIn(_Strict):
    offered: StrictBool = Field(description="false: no new course can start from it")


class ListParams(Schema):
    area: str | None = Field(None, max_length=32, description="One of " + ", ".join(Area.values))

    @field_validator("area")
    @classmethod
    def _area(cls, value: str | None) -> str | None:
        if not value:
            return None
        return known_codes([value], tuple(Area.choices), "area")[0]


class VersionSummaryOut(Schema):
    number: int
    name: str
    change_note: str
    created_at: dt.datetime
    created_by: str | None


class VersionOut(Schema):
    protocol_id: int
    number: int
    name: str
    area: str
    kind: str
    description: str
    session_duration_minutes: int
    induction_sessions_min: int
    induction_sessions_max: int
    induction_interval_min_days: int
    induction_interval_target_days: int
    induction_interval_max_days: int
    maintenance_sessions: int
    maintenance_interval_min_days: int | None
    maintenance_interval_target_days: int | None
    maintenance_interval_max_days: int | None
    review_after_days: list[int]
    formulations: list[dict[str, Any]]
    consent_codes: list[str]
    sources: dict[str, str]
    aftercare: dict[str, Any] = Field(
        description="The version's aftercare set; {} when it follows the shipped set"
    )
    change_note: str
    created_at: dt.datetime
    created_by: str | None

    @staticmethod
    def of(version: ProtocolVersion) -> dict[str, Any]:
        content = ProtocolContent.of(version)
        return {
            "protocol_id": version.protocol_id,
            "number": version.number,
            **{name: getattr(content, name) for name in ProtocolContent.__dataclass_fields__},
            "change_note": version.change_note,
            "created_at": version.created_at,
            "created_by": version.created_by.email if version.created_by else None,
        }


class ProtocolSummaryOut(Schema):
    id: int
    code: str
    offered: bool
    name: str
    area: str
    kind: str
    current_version: int | None
    updated_at: dt.datetime

    @staticmethod
    def of(protocol: Protocol) -> dict[str, Any]:
        version = protocol.current_version
        return {
            "id": protocol.pk,
            "code": protocol.code,
            "offered": protocol.is_active,
            "name": version.name if version else protocol.code,
            "area": version.area if version else "",
            "kind": version.kind if version else "",
            "current_version": version.number if version else None,
            "updated_at": protocol.updated_at,
        }


class CopiedFromOut(Schema):
    protocol_id: int
    code: str
    version: int


class ProtocolOut(ProtocolSummaryOut):
    copied_from: CopiedFromOut | None
    current: VersionOut | None
    versions: list[VersionSummaryOut]

    @staticmethod
    def of_protocol(protocol: Protocol, versions: list[ProtocolVersion]) -> dict[str, Any]:
        """``versions``: every version of the protocol, newest first, with created_by."""
        current = next((v for v in versions if v.pk == protocol.current_version_id), None)
        source = protocol.copied_from
        return {
            **ProtocolSummaryOut.of(protocol),
            "copied_from": None
            if source is None
            else {
                "protocol_id": source.protocol_id,
                "code": source.protocol.code,
                "version": source.number,
            },
            "current": VersionOut.of(current) if current is not None else None,
            "versions": [
                {
                    "number": v.number,
                    "name": v.name,
                    "change_note": v.change_note,
                    "created_at": v.created_at,
                    "created_by": v.created_by.email if v.created_by else None,
                }
                for v in versions
            ],
        }
