"""Forms of the inventory pages: raw input to clean values, with the reason beside each
field that is wrong. The checks are ``inventory.validators``, shared with the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.inventory.models import Lot, Product, ProductKind, ProductUnit
from mesoclinic.inventory.validators import (
    check_expiry,
    clean_lot_number,
    clean_quantity,
    clean_threshold,
)
from mesoclinic.patients.validators import clean_text
from mesoclinic.protocols.models import Formulation

NAME_MAX_CHARS = 200
SUPPLIER_MAX_CHARS = 200
NOTE_MAX_CHARS = 300
REASON_MAX_CHARS = 2000


def _checked(check: Callable[..., Any], value: Any, **kwargs: Any) -> Any:
    """``check(value)``, its ValueError turned into the field's error."""
    try:
        return check(value, **kwargs)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


def _line(value: str, *, label: str, max_chars: int, required: bool) -> str:
    """One line of text: spaces collapsed, readable, bounded."""
    value = _checked(clean_text, " ".join(value.split()), label=label, max_chars=max_chars)
    if required and not value:
        raise forms.ValidationError(_("%(label)s is required.") % {"label": label})
    return str(value)


def _required_messages(form: forms.Form) -> None:
    for field in form.fields.values():
        if field.required:
            field.error_messages["required"] = _("%(label)s is required.") % {"label": field.label}


def lot_label(lot: Lot) -> str:
    """How a lot is named in a choice list: product, number, expiry, and recalled."""
    label = _("%(product)s · lot %(lot)s · expires %(date)s") % {
        "product": lot.product.name,
        "lot": lot.lot_number,
        "date": lot.expires_on.isoformat(),
    }
    if lot.is_recalled:
        label = _("%(label)s · RECALLED") % {"label": label}
    return str(label)


class LotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return lot_label(obj)


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_unit_display()})"


class ClinicChoiceField(forms.TypedChoiceField):
    """One of the organisation's active clinics (the workspace's list: no query)."""

    def __init__(self, *, clinics: Sequence[Clinic], **kwargs: Any) -> None:
        self.by_id = {c.pk: c for c in clinics}
        super().__init__(
            choices=[("", "—"), *[(c.pk, c.name) for c in clinics]],
            coerce=self._clinic,
            empty_value=None,
            **kwargs,
        )
        self.error_messages["invalid_choice"] = _("Choose one of your organisation's clinics.")

    def _clinic(self, value: Any) -> Clinic:
        try:
            return self.by_id[int(value)]
        except (KeyError, TypeError, ValueError):
            raise forms.ValidationError(
                _("Choose one of your organisation's clinics."), code="invalid_choice"
            ) from None

    def valid_value(self, value: Any) -> bool:
        return str(value) in {str(pk) for pk in self.by_id}


def _quantity_widget() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


# --- products ------------------------------------------------------------------------------


class ProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=10_000)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=ProductKind.choices,
        help_text=_(
            "Treatment products are charted in sessions; retail products can be "
            "recommended on the aftercare sheet."
        ),
    )
    manufacturer = forms.CharField(label=_("Manufacturer"), required=False, max_length=10_000)
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=ProductUnit.choices,
        help_text=_("Stock is counted in this unit; it cannot change once stock is recorded."),
    )
    formulation = forms.ModelChoiceField(
        label=_("Formulation (optional)"),
        queryset=Formulation.objects.none(),
        required=False,
        empty_label="—",
        help_text=_("The formulation of the protocol library this product is."),
    )
    low_stock_threshold = forms.CharField(
        label=_("Warn when a clinic holds less than"),
        required=False,
        max_length=40,
        widget=_quantity_widget(),
        help_text=_("In the product's unit, per clinic; 0 or empty: no warning."),
    )
    home_care_note = forms.CharField(
        label=_("Note for the aftercare sheet"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Retail products: how to use it at home, printed when the product is "
            "recommended. Do not promise results."
        ),
    )
    is_active = forms.BooleanField(
        label=_("In use (offered for receiving and charting)"), required=False
    )

    def __init__(
        self, *args: Any, formulations: QuerySet[Formulation], editing: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        formulation = self.fields["formulation"]
        assert isinstance(formulation, forms.ModelChoiceField)
        formulation.queryset = formulations
        formulation.error_messages["invalid_choice"] = _(
            "Choose a formulation of your organisation's library."
        )
        if not editing:
            # A new product is in use; taking it out of use is an edit.
            del self.fields["is_active"]
        _required_messages(self)

    @staticmethod
    def initial_for(product: Product) -> dict[str, Any]:
        return {
            "name": product.name,
            "kind": product.kind,
            "manufacturer": product.manufacturer,
            "unit": product.unit,
            "formulation": product.formulation_id,
            "low_stock_threshold": format(product.low_stock_threshold.normalize(), "f"),
            "home_care_note": product.home_care_note,
            "is_active": product.is_active,
        }

    def clean_name(self) -> str:
        return _line(
            self.cleaned_data["name"], label=str(_("Name")), max_chars=NAME_MAX_CHARS, required=True
        )

    def clean_manufacturer(self) -> str:
        return _line(
            self.cleaned_data["manufacturer"],
            label=str(_("Manufacturer")),
            max_chars=NAME_MAX_CHARS,
            required=False,
        )

    def clean_low_stock_threshold(self) -> Decimal:
        return Decimal(_checked(clean_threshold, self.cleaned_data["low_stock_threshold"]))

    def clean_home_care_note(self) -> str:
        return _line(
            self.cleaned_data["home_care_note"],
            label=str(_("Note for the aftercare sheet")),
            max_chars=NOTE_MAX_CHARS,
            required=False,
        )


# --- stock ---------------------------------------------------------------------------------


class ReceiveForm(forms.Form):
    product = ProductChoiceField(
        label=_("Product"), queryset=Product.objects.none(), empty_label="—"
    )
    clinic = forms.Field(label=_("Clinic"))  # replaced in __init__
    lot_number = forms.CharField(
        label=_("Lot number"),
        max_length=200,
        help_text=_("As printed on the pack (LOT). Letters, digits, '-', '.' and '/'."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    expires_on = forms.DateField(
        label=_("Expiry date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("As printed on the pack (EXP); the last day the lot may be used."),
    )
    quantity = forms.CharField(
        label=_("Quantity received"), max_length=40, widget=_quantity_widget()
    )
    supplier = forms.CharField(label=_("Supplier"), required=False, max_length=10_000)

    def __init__(
        self,
        *args: Any,
        products: QuerySet[Product],
        clinics: Sequence[Clinic],
        today_at: Callable[[Clinic], dt.date],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        assert isinstance(product, forms.ModelChoiceField)
        product.queryset = products
        product.error_messages["invalid_choice"] = _("Choose a product in use.")
        self.fields["clinic"] = ClinicChoiceField(clinics=clinics, label=_("Received at"))
        self.today_at = today_at
        _required_messages(self)
        self.fields["expires_on"].error_messages["invalid"] = _(
            "Enter the expiry date as YYYY-MM-DD."
        )

    def clean_lot_number(self) -> str:
        return str(_checked(clean_lot_number, self.cleaned_data["lot_number"]))

    def clean_quantity(self) -> Decimal:
        return Decimal(_checked(clean_quantity, self.cleaned_data["quantity"]))

    def clean_supplier(self) -> str:
        return _line(
            self.cleaned_data["supplier"],
            label=str(_("Supplier")),
            max_chars=SUPPLIER_MAX_CHARS,
            required=False,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        clinic, expires_on = data.get("clinic"), data.get("expires_on")
        if clinic is not None and expires_on is not None:
            try:
                check_expiry(expires_on, today=self.today_at(clinic))
            except ValueError as exc:
                self.add_error("expires_on", str(exc))
        return data


class _LotForm(forms.Form):
    lot = LotChoiceField(label=_("Lot"), queryset=Lot.objects.none(), empty_label="—")

    def __init__(self, *args: Any, lots: QuerySet[Lot], clinics: Sequence[Clinic], **kwargs: Any):
        super().__init__(*args, **kwargs)
        lot = self.fields["lot"]
        assert isinstance(lot, forms.ModelChoiceField)
        lot.queryset = lots
        lot.error_messages["invalid_choice"] = _("Choose one of your organisation's lots.")
        self.setup_clinics(clinics)
        _required_messages(self)

    def setup_clinics(self, clinics: Sequence[Clinic]) -> None:
        raise NotImplementedError


class AdjustForm(_LotForm):
    clinic = forms.Field(label=_("Clinic"))
    quantity = forms.CharField(
        label=_("Change"),
        max_length=40,
        widget=_quantity_widget(),
        help_text=_(
            "Positive to add (found in a count), negative to take away (broken, "
            "discarded, counted less), e.g. -2."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the lot's ledger, e.g. “vial broken”, “stock count 3 March”."),
    )

    def setup_clinics(self, clinics: Sequence[Clinic]) -> None:
        self.fields["clinic"] = ClinicChoiceField(clinics=clinics, label=_("Clinic"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = _("Say why the stock is adjusted.")

    def clean_quantity(self) -> Decimal:
        return Decimal(_checked(clean_quantity, self.cleaned_data["quantity"], allow_negative=True))

    def clean_reason(self) -> str:
        reason = _checked(
            clean_text,
            self.cleaned_data["reason"],
            label=str(_("Reason")),
            max_chars=REASON_MAX_CHARS,
        )
        if not reason:
            raise forms.ValidationError(_("Say why the stock is adjusted."))
        return str(reason)


class TransferForm(_LotForm):
    from_clinic = forms.Field(label=_("From"))
    to_clinic = forms.Field(label=_("To"))
    quantity = forms.CharField(label=_("Quantity"), max_length=40, widget=_quantity_widget())
    reason = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def setup_clinics(self, clinics: Sequence[Clinic]) -> None:
        self.fields["from_clinic"] = ClinicChoiceField(clinics=clinics, label=_("From"))
        self.fields["to_clinic"] = ClinicChoiceField(clinics=clinics, label=_("To"))

    def clean_quantity(self) -> Decimal:
        return Decimal(_checked(clean_quantity, self.cleaned_data["quantity"]))

    def clean_reason(self) -> str:
        return str(
            _checked(
                clean_text,
                self.cleaned_data["reason"],
                label=str(_("Note")),
                max_chars=REASON_MAX_CHARS,
            )
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, target = data.get("from_clinic"), data.get("to_clinic")
        if source is not None and target is not None and source.pk == target.pk:
            self.add_error("to_clinic", _("Choose two different clinics."))
        return data


# --- recall --------------------------------------------------------------------------------


class RecallForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the recall"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. the manufacturer's or the authority's notice and its reference."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = _("Say why the lot is recalled.")

    def clean_reason(self) -> str:
        reason = _checked(
            clean_text,
            self.cleaned_data["reason"],
            label=str(_("Reason")),
            max_chars=REASON_MAX_CHARS,
        )
        if not reason:
            raise forms.ValidationError(_("Say why the lot is recalled."))
        return str(reason)


class RecallSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Lot number"),
        max_length=200,
        required=False,
        help_text=_("The whole number or part of it, as on the recall notice."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def clean_q(self) -> str:
        raw = self.cleaned_data["q"]
        if not raw.strip():
            return ""
        return str(_checked(clean_lot_number, raw))
