from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from mesoclinic.patients import validators
from mesoclinic.patients.schemas import known_codes
from mesoclinic.screening.forms import INGREDIENT_CHOICES
from mesoclinic.screening.models import Screening

INGREDIENT_CODES = [code for code, _label in INGREDIENT_CHOICES]


class ScreeningIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    protocol_kind: Literal["mesotherapy", "prp", "combined"]
    ingredients: list[str] = Field(default_factory=list, max_length=len(INGREDIENT_CODES))

    @field_validator("ingredients")
    @classmethod
    def _ingredients(cls, value: list[str]) -> list[str]:
        return known_codes(value, INGREDIENT_CHOICES, "ingredient")


class OverrideIn(Schema):
    model_config = ConfigDict(extra="forbid")

    justification: str = Field(max_length=5000)

    @field_validator("justification")
    @classmethod
    def _text(cls, value: str) -> str:
        return validators.clean_text(value, label="Justification", max_chars=5000)


class ScreeningOut(Schema):
    id: int
    patient_id: int
    screened_on: dt.date
    screened_by: str
    protocol_kind: str
    ingredients: list[str]
    outcome: str
    rule_set_version: str
    recheck_on: dt.date | None
    reasons: list[dict[str, Any]]
    facts: dict[str, Any]
    override: dict[str, Any] | None

    @staticmethod
    def from_screening(screening: Screening) -> dict[str, Any]:
        override = getattr(screening, "override", None)
        return {
            "id": screening.pk,
            "patient_id": screening.patient_id,
            "screened_on": screening.screened_on,
            "screened_by": screening.screened_by.email,
            "protocol_kind": screening.protocol_kind,
            "ingredients": list(screening.ingredients),
            "outcome": screening.outcome,
            "rule_set_version": screening.rule_set_version,
            "recheck_on": screening.recheck_on,
            "reasons": screening.reasons,
            "facts": screening.facts,
            "override": None
            if override is None
            else {
                "justification": override.justification,
                "by": override.overridden_by.email,
                "at": override.created_at.isoformat(),
            },
        }
