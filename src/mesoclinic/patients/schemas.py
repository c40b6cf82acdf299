from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Schema
from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    create_model,
    field_validator,
)

from mesoclinic.patients import validators
from mesoclinic.patients.intake import (
    ALLERGENS,
    INTAKE_FIELDS,
    PATTERNS,
    PREVIOUS_TREATMENTS,
    QUESTION_TEXT,
    SHEDDING,
    YES_NO_QUESTIONS,
)
from mesoclinic.patients.models import HairLossAssessment, Patient, PatientIntake, SexAtBirth
from mesoclinic.patients.scales import (
    SCALES,
    SCALP_ZONES,
    Scale,
)


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _name(value: str, label: str) -> str:
    return validators.clean_name(value, label=label)


def _date_text(value: Any) -> Any:
    # Pydantic would read a number as a Unix timestamp: 0 would be born on 1 January 1970.
    if value is not None and not isinstance(value, str | dt.date):
        raise ValueError("Enter the date of birth as text, YYYY-MM-DD.")
    return value


class PatientIn(_Strict):
    given_name: str = Field(max_length=10_000)
    family_name: str = Field(max_length=10_000)
    date_of_birth: dt.date
    sex_at_birth: SexAtBirth
    email: str = Field("", max_length=10_000)
    phone: str = Field("", max_length=10_000)
    address: str = Field("", max_length=10_000)
    preferred_clinic_id: int | None = None
    confirm_not_duplicate: bool = Field(
        False, description="Set after checking that a likely duplicate is a different person."
    )

    @field_validator("given_name")
    @classmethod
    def _given_name(cls, value: str) -> str:
        return _name(value, "Given name")

    @field_validator("family_name")
    @classmethod
    def _family_name(cls, value: str) -> str:
        return _name(value, "Family name")

    _dob_text = field_validator("date_of_birth", mode="before")(_date_text)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: dt.date) -> dt.date:
        return validators.clean_date_of_birth(value, today=timezone.localdate())

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return validators.clean_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return validators.clean_phone(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return validators.clean_address(value)


class PatientPatch(_Strict):
    """Only the fields present are changed."""

    given_name: str | None = Field(None, max_length=10_000)
    family_name: str | None = Field(None, max_length=10_000)
    date_of_birth: dt.date | None = None
    sex_at_birth: SexAtBirth | None = None
    email: str | None = Field(None, max_length=10_000)
    phone: str | None = Field(None, max_length=10_000)
    address: str | None = Field(None, max_length=10_000)
    preferred_clinic_id: int | None = None
    confirm_not_duplicate: bool = Field(
        False, description="Set after checking that a likely duplicate is a different person."
    )

    @field_validator("given_name")
    @classmethod
    def _given_name(cls, value: str | None) -> str:
        return _name(value or "", "Given name")

    @field_validator("family_name")
    @classmethod
    def _family_name(cls, value: str | None) -> str:
        return _name(value or "", "Family name")

    _dob_text = field_validator("date_of_birth", mode="before")(_date_text)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: dt.date | None) -> dt.date | None:
        if value is None:
            raise ValueError("Date of birth cannot be removed.")
        return validators.clean_date_of_birth(value, today=timezone.localdate())

    @field_validator("sex_at_birth")
    @classmethod
    def _sex(cls, value: SexAtBirth | None) -> SexAtBirth | None:
        if value is None:
            raise ValueError("Sex at birth cannot be removed; use 'unknown'.")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str:
        return validators.clean_email(value or "")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str:
        return validators.clean_phone(value or "")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str:
        return validators.clean_address(value or "")


class PatientOut(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex_at_birth: str
    email: str
    phone: str
    address: str
    preferred_clinic_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def from_patient(patient: Patient) -> dict[str, Any]:
        return {
            "id": patient.pk,
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "date_of_birth": patient.date_of_birth,
            "sex_at_birth": patient.sex_at_birth,
            "email": patient.email,
            "phone": patient.phone,
            "address": patient.address,
            "preferred_clinic_id": patient.preferred_clinic_id,
            "created_at": patient.created_at,
            "updated_at": patient.updated_at,
        }


class PatientPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PatientOut]


SCALES_BY_CODE = {scale.code: scale for scale in SCALES}


def _choice(value: str, scale: Scale) -> str:
    allowed = [code for code, _label in scale.grades]
    if value and value not in allowed:
        raise ValueError(f"{scale.name}: use one of {', '.join(allowed)}.")
    return value


class AssessmentIn(_Strict):
    assessed_on: dt.date
    norwood: str = Field("", max_length=12)
    ludwig: str = Field("", max_length=4)
    sinclair: str = Field("", max_length=1)
    basp_basic: str = Field("", max_length=2)
    basp_frontal: str = Field("", max_length=2)
    basp_vertex: str = Field("", max_length=2)
    affected_zones: list[str] = Field(default_factory=list, max_length=len(SCALP_ZONES))
    scarring_alopecia_signs: StrictBool | None = Field(
        None, description="Loss of follicular openings or scarring seen; null: not assessed."
    )
    notes: str = Field("", max_length=100_000)

    @field_validator("assessed_on", mode="before")
    @classmethod
    def _date_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("Give the date as text, YYYY-MM-DD.")
        return value

    @field_validator("assessed_on")
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        if value > timezone.localdate():
            raise ValueError("An assessment cannot be dated in the future.")
        if value.year < 1900:
            raise ValueError("Check the year.")
        return value

    @field_validator(*(scale.code for scale in SCALES))
    @classmethod
    def _grade(cls, value: str, info: ValidationInfo) -> str:
        return _choice(value, SCALES_BY_CODE[str(info.field_name)])

    @field_validator("affected_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        return known_codes(value, SCALP_ZONES, "zone")

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        return validators.clean_text(value, label="Clinician notes", max_chars=5000)


class AssessmentOut(Schema):
    id: int
    assessed_on: dt.date
    assessed_by: str
    norwood: str
    ludwig: str
    sinclair: str
    basp_basic: str
    basp_frontal: str
    basp_vertex: str
    affected_zones: list[str]
    scarring_alopecia_signs: bool | None
    notes: str
    created_at: dt.datetime

    @staticmethod
    def from_assessment(assessment: HairLossAssessment) -> dict[str, Any]:
        return {
            "id": assessment.pk,
            "assessed_on": assessment.assessed_on,
            "assessed_by": assessment.assessed_by.email,
            "norwood": assessment.norwood,
            "ludwig": assessment.ludwig,
            "sinclair": assessment.sinclair,
            "basp_basic": assessment.basp_basic,
            "basp_frontal": assessment.basp_frontal,
            "basp_vertex": assessment.basp_vertex,
            "affected_zones": list(assessment.affected_zones),
            "scarring_alopecia_signs": assessment.scarring_alopecia_signs,
            "notes": assessment.notes,
            "created_at": assessment.created_at,
        }


def known_codes(value: list[str], choices: tuple[tuple[str, Any], ...], label: str) -> list[str]:
    """``value`` without repeats, or ValueError naming the first code not in ``choices``."""
    allowed = [code for code, _label in choices]
    unknown = [code for code in value if code not in allowed]
    if unknown:
        raise ValueError(f"Unknown {label} {unknown[0]!r}; use {', '.join(allowed)}.")
    return list(dict.fromkeys(value))


class _IntakeBase(_Strict):
    onset: str = Field("", max_length=100)
    patterns: list[str] = Field(default_factory=list, max_length=len(PATTERNS))
    shedding: str = Field("", max_length=16)
    family_history: StrictBool | None = None
    previous_treatments: list[str] = Field(
        default_factory=list, max_length=len(PREVIOUS_TREATMENTS)
    )
    previous_treatments_notes: str = Field("", max_length=100_000)
    allergen_codes: list[str] | None = Field(
        None, max_length=len(ALLERGENS), description="null: not asked; []: no known allergy"
    )
    allergy_notes: str = Field("", max_length=100_000)
    notes: str = Field("", max_length=100_000)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return known_codes(value, PATTERNS, "pattern")

    @field_validator("shedding")
    @classmethod
    def _shedding(cls, value: str) -> str:
        return known_codes([value], SHEDDING, "shedding")[0] if value else ""

    @field_validator("previous_treatments")
    @classmethod
    def _treatments(cls, value: list[str]) -> list[str]:
        return known_codes(value, PREVIOUS_TREATMENTS, "treatment")

    @field_validator("allergen_codes")
    @classmethod
    def _allergens(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else known_codes(value, ALLERGENS, "allergen")

    @field_validator("onset", "previous_treatments_notes", "allergy_notes", "notes")
    @classmethod
    def _text(cls, value: str) -> str:
        return validators.clean_text(value, label="Text", max_chars=5000)


# Every yes/no question: true, false or null ("not answered"); no "yes"/"1" guessing.
IntakeIn = create_model(  # type: ignore[call-overload]
    "IntakeIn",
    __base__=_IntakeBase,
    **{
        name: (StrictBool | None, Field(None, description=str(QUESTION_TEXT[name])))
        for name in YES_NO_QUESTIONS
    },
)


class IntakeOut(Schema):
    id: int
    recorded_at: dt.datetime
    recorded_by: str
    answers: dict[str, Any]
    answered_yes: list[str]
    unanswered: int

    @staticmethod
    def from_intake(intake: PatientIntake) -> dict[str, Any]:
        answers = {name: getattr(intake, name) for name in INTAKE_FIELDS}
        return {
            "id": intake.pk,
            "recorded_at": intake.created_at,
            "recorded_by": intake.recorded_by.email,
            "answers": answers,
            "answered_yes": intake.answered_yes,
            "unanswered": intake.unanswered_count,
        }
