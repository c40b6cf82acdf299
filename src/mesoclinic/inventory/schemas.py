"""Input and output schemas of /api/v1/products and /api/v1/lots.

Every check that needs no database runs here, with the same rules as the pages
(``inventory.validators``); ids are resolved in ``inventory.api`` within the organisation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, field_validator

from mesoclinic.inventory.models import Lot, Product, ProductKind, ProductUnit
from mesoclinic.inventory.selectors import RecallRow
from mesoclinic.inventory.validators import (
    clean_lot_number,
    clean_quantity,
    clean_threshold,
)
from mesoclinic.patients import validators
from mesoclinic.patients.schemas import known_codes

NAME_MAX_CHARS = 200
NOTE_MAX_CHARS = 300
REASON_MAX_CHARS = 2000
CENTS = Decimal("0.01")
QUANTITY_DESCRIPTION = (
    "A number (JSON number or string) with at most two decimals, in the product's unit"
)


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _quantity_text(value: Any) -> Any:
    # true would read as 1: a quantity is a number or the text of one, nothing else.
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("Give the quantity as a number, e.g. 10 or 2.5.")
    return value


def _date_text(value: Any) -> Any:
    # Pydantic would read a number as a Unix timestamp.
    if value is not None and not isinstance(value, str | dt.date):
        raise ValueError("Give the date as text, YYYY-MM-DD.")
    return value


def _name(value: str) -> str:
    value = validators.clean_text(" ".join(value.split()), label="Name", max_chars=NAME_MAX_CHARS)
    if not value:
        raise ValueError("Name the product.")
    return value


def _line(value: str, label: str, max_chars: int) -> str:
    return validators.clean_text(" ".join(value.split()), label=label, max_chars=max_chars)


# --- products ------------------------------------------------------------------------------


class ProductIn(_Strict):
    name: str = Field(max_length=10_000)
    kind: str = Field(max_length=32, description="One of " + ", ".join(ProductKind.values))
    unit: str = Field(
        max_length=16,
        description="One of " + ", ".join(ProductUnit.values) + "; fixed once stock is recorded",
    )
    manufacturer: str = Field("", max_length=10_000)
    formulation_id: int | None = Field(None, description="A formulation of the library")
    low_stock_threshold: Decimal = Field(
        Decimal("0"), description="Warn when a clinic holds less (usable stock); 0: no warning"
    )
    home_care_note: str = Field(
        "", max_length=10_000, description="Printed on the aftercare sheet (retail products)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _name(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return known_codes([value], tuple(ProductKind.choices), "kind")[0]

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        return known_codes([value], tuple(ProductUnit.choices), "unit")[0]

    @field_validator("manufacturer")
    @classmethod
    def _manufacturer(cls, value: str) -> str:
        return _line(value, "Manufacturer", NAME_MAX_CHARS)

    @field_validator("low_stock_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Decimal:
        return clean_threshold(_quantity_text(value))

    @field_validator("home_care_note")
    @classmethod
    def _note(cls, value: str) -> str:
        return _line(value, "Note for the aftercare sheet", NOTE_MAX_CHARS)


class ProductPatch(_Strict):
    """Only the fields present change."""

    name: str | None = Field(None, max_length=10_000)
    kind: str | None = Field(None, max_length=32)
    unit: str | None = Field(None, max_length=16)
    manufacturer: str | None = Field(None, max_length=10_000)
    formulation_id: int | None = Field(None, description="null removes the link")
    low_stock_threshold: Decimal | None = None
    home_care_note: str | None = Field(None, max_length=10_000)
    in_use: StrictBool | None = Field(None, description="false: no longer offered for receiving")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("The name cannot be null.")
        return _name(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str:
        return known_codes([value or ""], tuple(ProductKind.choices), "kind")[0]

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str | None) -> str:
        return known_codes([value or ""], tuple(ProductUnit.choices), "unit")[0]

    @field_validator("manufacturer")
    @classmethod
    def _manufacturer(cls, value: str | None) -> str:
        return _line(value or "", "Manufacturer", NAME_MAX_CHARS)

    @field_validator("low_stock_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Decimal:
        if value is None:
            raise ValueError("Give a number; 0 for no warning.")
        return clean_threshold(_quantity_text(value))

    @field_validator("home_care_note")
    @classmethod
    def _note(cls, value: str | None) -> str:
        return _line(value or "", "Note for the aftercare sheet", NOTE_MAX_CHARS)

    @field_validator("in_use")
    @classmethod
    def _in_use(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("Give true or false.")
        return value


class ProductOut(Schema):
    id: int
    name: str
    kind: str
    unit: str
    manufacturer: str
    formulation_id: int | None
    low_stock_threshold: Decimal
    home_care_note: str
    in_use: bool
    updated_at: dt.datetime

    @staticmethod
    def of(product: Product) -> dict[str, Any]:
        return {
            "id": product.pk,
            "name": product.name,
            "kind": product.kind,
            "unit": product.unit,
            "manufacturer": product.manufacturer,
            "formulation_id": product.formulation_id,
            # As stored (two decimals), also for an instance not read back from the database.
            "low_stock_threshold": Decimal(product.low_stock_threshold).quantize(CENTS),
            "home_care_note": product.home_care_note,
            "in_use": product.is_active,
            "updated_at": product.updated_at,
        }


class ProductListParams(Schema):
    kind: str | None = Field(
        None, max_length=32, description="One of " + ", ".join(ProductKind.values)
    )
    in_use: bool | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return known_codes([value], tuple(ProductKind.choices), "kind")[0]


# --- lots ----------------------------------------------------------------------------------


class LotListParams(Schema):
    product_id: int | None = None
    clinic_id: int | None = Field(None, description="Only lots in stock at this clinic")
    lot_number: str | None = Field(None, max_length=200, description="Part of the lot number")
    recalled: bool | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)

    @field_validator("lot_number")
    @classmethod
    def _lot_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return clean_lot_number(value)


class ReceiveIn(_Strict):
    product_id: int
    clinic_id: int
    lot_number: str = Field(
        max_length=200, description="As printed on the pack; stored upper-cased"
    )
    expires_on: dt.date = Field(description="YYYY-MM-DD; a date already past is refused")
    quantity: Decimal = Field(description=QUANTITY_DESCRIPTION)
    supplier: str = Field("", max_length=10_000)

    @field_validator("lot_number")
    @classmethod
    def _lot_number(cls, value: str) -> str:
        return clean_lot_number(value)

    _expiry_text = field_validator("expires_on", mode="before")(_date_text)

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Decimal:
        return clean_quantity(_quantity_text(value))

    @field_validator("supplier")
    @classmethod
    def _supplier(cls, value: str) -> str:
        return _line(value, "Supplier", NAME_MAX_CHARS)


class AdjustIn(_Strict):
    clinic_id: int
    quantity: Decimal = Field(
        description="The change: positive adds, negative takes away; " + QUANTITY_DESCRIPTION
    )
    reason: str = Field(max_length=10_000, description="Why (kept in the lot's ledger)")

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Decimal:
        return clean_quantity(_quantity_text(value), allow_negative=True)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = validators.clean_text(value, label="Reason", max_chars=REASON_MAX_CHARS)
        if not value:
            raise ValueError("Say why the stock is adjusted.")
        return value


class TransferIn(_Strict):
    from_clinic_id: int
    to_clinic_id: int
    quantity: Decimal = Field(description=QUANTITY_DESCRIPTION)
    reason: str = Field("", max_length=10_000)

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Decimal:
        return clean_quantity(_quantity_text(value))

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return validators.clean_text(value, label="Note", max_chars=REASON_MAX_CHARS)


class RecallIn(_Strict):
    reason: str = Field(max_length=10_000, description="The notice and its reference")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = validators.clean_text(value, label="Reason", max_chars=REASON_MAX_CHARS)
        if not value:
            raise ValueError("Say why the lot is recalled.")
        return value


class StockOut(Schema):
    clinic_id: int
    clinic: str
    quantity: Decimal


class LotOut(Schema):
    id: int
    product_id: int
    product: str
    unit: str
    lot_number: str
    expires_on: dt.date
    supplier: str
    recalled: bool
    recalled_at: dt.datetime | None
    recall_reason: str
    stock: list[StockOut]
    total_quantity: Decimal

    @staticmethod
    def of(lot: Lot) -> dict[str, Any]:
        """``lot`` from ``selectors.lots_with_stock`` (its stock rows prefetched)."""
        rows = list(lot.stock.all())
        return {
            "id": lot.pk,
            "product_id": lot.product_id,
            "product": lot.product.name,
            "unit": lot.product.unit,
            "lot_number": lot.lot_number,
            "expires_on": lot.expires_on,
            "supplier": lot.supplier,
            "recalled": lot.is_recalled,
            "recalled_at": lot.recalled_at,
            "recall_reason": lot.recall_reason,
            "stock": [
                {"clinic_id": s.clinic_id, "clinic": s.clinic.name, "quantity": s.quantity}
                for s in rows
            ],
            "total_quantity": sum((s.quantity for s in rows), Decimal("0")),
        }


class LotPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[LotOut]


class RecallRowOut(Schema):
    session_id: int
    appointment_id: int
    patient_id: int
    mrn: str
    patient_name: str
    date_of_birth: dt.date | None
    email: str
    phone: str
    performed_on: dt.date
    clinic: str
    practitioner: str
    volume_ml: Decimal
    zones: list[str]

    @staticmethod
    def of(row: RecallRow) -> dict[str, Any]:
        return {
            "session_id": row.session_id,
            "appointment_id": row.appointment_id,
            "patient_id": row.patient_id,
            "mrn": row.mrn,
            "patient_name": row.patient_name,
            "date_of_birth": row.date_of_birth,
            "email": row.email,
            "phone": row.phone,
            "performed_on": row.performed_on,
            "clinic": row.clinic,
            "practitioner": row.practitioner,
            "volume_ml": row.volume,
            "zones": list(row.zones),
        }
