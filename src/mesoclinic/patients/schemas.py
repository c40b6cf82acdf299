from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from mesoclinic.patients import validators
from mesoclinic.patients.models import Patient, SexAtBirth


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
