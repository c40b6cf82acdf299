"""The session chart form: session-wide fields plus one row of fields per zone of the map.

The map's checkboxes (``zones``) say which rows count; a row's fields are prefixed with its
zone code (``vertex-volume_ml``). Each row is checked against the area's plausible ranges
(``treatments.limits``) here, at the edge, so a refusal is shown on the field at fault;
warnings are shown above the form and do not block.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.inventory.models import Lot, Product, ProductKind, Stock
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.treatments import limits, maps
from mesoclinic.treatments.models import (
    Anaesthesia,
    Reaction,
    SkinPreparation,
    Technique,
    TreatmentSession,
)
from mesoclinic.treatments.services import LineInput, SessionContent, area_limits

ROW_FIELDS = (
    "technique",
    "depth_mm",
    "needle_gauge",
    "needle_length_mm",
    "points",
    "volume_ml",
    "lot",
)


def _decimal(
    label: Any, *, max_value: str, places: int = 1, required: bool = False
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=Decimal(max_value),
        decimal_places=places,
        max_digits=7,
        widget=forms.NumberInput(
            attrs={"step": "0.1" if places == 1 else "0.05", "inputmode": "decimal"}
        ),
    )


def lot_label(stock: Stock) -> str:
    lot = stock.lot
    return (
        f"{lot.product.name} · {lot.lot_number} · "
        f"{_('exp.')} {lot.expires_on:%d %b %Y} · {stock.quantity} {lot.product.get_unit_display()}"
    )


class SessionChartForm(forms.Form):
    """``stock`` lists the lots usable at the session's clinic and date (first to expire
    first); lots already on the session but no longer usable are offered too, marked, so
    the practitioner sees why the signature will refuse them."""

    zones = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    skin_preparation = forms.ChoiceField(
        label=_("Skin preparation"), choices=SkinPreparation.choices
    )
    anaesthesia = forms.ChoiceField(
        label=_("Anaesthesia"), choices=Anaesthesia.choices, widget=forms.RadioSelect
    )
    anaesthesia_product = forms.ModelChoiceField(
        label=_("Anaesthetic product"),
        queryset=Product.objects.none(),
        required=False,
        empty_label=_("(none)"),
    )
    anaesthesia_note = forms.CharField(
        label=_("Anaesthesia details"), required=False, max_length=200
    )
    pain_score = forms.IntegerField(
        label=_("Pain reported (0-10)"),
        required=False,
        min_value=0,
        max_value=10,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    reactions = forms.MultipleChoiceField(
        label=_("Immediate reactions"),
        choices=Reaction.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reactions_note = forms.CharField(
        label=_("Reactions, details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    home_care = forms.ModelMultipleChoiceField(
        label=_("Home-care products on the aftercare sheet"),
        queryset=Product.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        session: TreatmentSession,
        stock: list[Stock],
        extra_lots: list[Lot] = (),  # type: ignore[assignment]
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.zone_map = maps.zone_map(session.area)
        organisation_id = session.organisation_id
        self.fields["zones"].choices = [(z.code, z.label) for z in self.zone_map.zones]  # type: ignore[attr-defined]
        self.fields["anaesthesia_product"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organisation_id=organisation_id, kind=ProductKind.SUPPLY, is_active=True
        ).order_by("name")
        self.fields["home_care"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organisation_id=organisation_id, kind=ProductKind.RETAIL, is_active=True
        ).order_by("name")
        self.lots: dict[int, Lot] = {s.lot.pk: s.lot for s in stock}
        lot_choices = [(str(s.lot.pk), lot_label(s)) for s in stock]
        for lot in extra_lots:
            if lot.pk not in self.lots:
                self.lots[lot.pk] = lot
                lot_choices.append(
                    (
                        str(lot.pk),
                        f"{lot.product.name} · {lot.lot_number} · {_('not usable here now')}",
                    )
                )
        for zone in self.zone_map.zones:
            prefix = zone.code
            self.fields[f"{prefix}-technique"] = forms.ChoiceField(
                label=_("Technique"), choices=Technique.choices, required=False
            )
            self.fields[f"{prefix}-depth_mm"] = _decimal(_("Depth (mm)"), max_value="99")
            self.fields[f"{prefix}-needle_gauge"] = forms.IntegerField(
                label=_("Needle (G)"), required=False, min_value=1, max_value=99
            )
            self.fields[f"{prefix}-needle_length_mm"] = _decimal(
                _("Needle length, mm"), max_value="99"
            )
            self.fields[f"{prefix}-points"] = forms.IntegerField(
                label=_("Points"), required=False, min_value=0, max_value=100000
            )
            self.fields[f"{prefix}-volume_ml"] = _decimal(
                _("Volume (mL)"), max_value="999", places=2
            )
            self.fields[f"{prefix}-lot"] = forms.ChoiceField(
                label=_("Product and lot"),
                choices=[("", _("Choose a lot")), *lot_choices],
                required=False,
            )

    def rows(self) -> list[dict[str, Any]]:
        """Each zone with its bound fields, for the template."""
        selected = (
            set(self.data.getlist("zones"))  # type: ignore[attr-defined]
            if self.is_bound
            else set(self.initial.get("zones", []))
        )
        return [
            {
                "zone": zone,
                "selected": zone.code in selected,
                "fields": [self[f"{zone.code}-{name}"] for name in ROW_FIELDS],
            }
            for zone in self.zone_map.zones
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        bounds = area_limits(self.session.area)
        lines = []
        for code in data.get("zones", []):
            row = {name: data.get(f"{code}-{name}") for name in ROW_FIELDS}
            if any(f"{code}-{name}" in self.errors for name in ROW_FIELDS):
                continue
            if not row["technique"]:
                self.add_error(f"{code}-technique", _("Choose the technique."))
                continue
            if row["volume_ml"] is None:
                self.add_error(f"{code}-volume_ml", _("Enter the volume given."))
                continue
            lot = self.lots.get(int(row["lot"])) if row["lot"] else None
            if lot is None:
                self.add_error(f"{code}-lot", _("Choose the product lot used."))
                continue
            refused = False
            for finding in limits.check_line(
                area=self.session.area,
                depth_mm=row["depth_mm"],
                needle_gauge=row["needle_gauge"],
                needle_length_mm=row["needle_length_mm"],
                points=row["points"],
                volume_ml=row["volume_ml"],
                technique=row["technique"],
                limits=bounds,
            ):
                if finding.level == "refuse":
                    self.add_error(f"{code}-{finding.field}", finding.message)
                    refused = True
            if refused:
                continue
            lines.append(
                LineInput(
                    zone=code,
                    technique=row["technique"],
                    volume_ml=row["volume_ml"],
                    product=lot.product,
                    lot=lot,
                    depth_mm=row["depth_mm"],
                    needle_gauge=row["needle_gauge"],
                    needle_length_mm=row["needle_length_mm"],
                    points=row["points"],
                )
            )
        data["lines"] = tuple(lines)
        return data

    def to_content(self) -> SessionContent:
        data = self.cleaned_data
        return SessionContent(
            skin_preparation=data["skin_preparation"],
            anaesthesia=data["anaesthesia"],
            anaesthesia_product=data.get("anaesthesia_product"),
            anaesthesia_note=data.get("anaesthesia_note") or "",
            pain_score=data.get("pain_score"),
            reactions=tuple(data.get("reactions") or ()),
            reactions_note=data.get("reactions_note") or "",
            notes=data.get("notes") or "",
            lines=data["lines"],
            home_care_product_ids=tuple(p.pk for p in data.get("home_care") or ()),
        )


def initial_for(
    session: TreatmentSession, *, content: SessionContent, blank: LineInput | None
) -> dict[str, Any]:
    """The form's initial values: the session's content, and for zones not charted yet the
    defaults a first click gives them (``services.new_line_defaults``)."""
    initial: dict[str, Any] = {
        "zones": [line.zone for line in content.lines],
        "skin_preparation": content.skin_preparation,
        "anaesthesia": content.anaesthesia,
        "anaesthesia_product": content.anaesthesia_product,
        "anaesthesia_note": content.anaesthesia_note,
        "pain_score": content.pain_score,
        "reactions": list(content.reactions),
        "reactions_note": content.reactions_note,
        "notes": content.notes,
        "home_care": list(content.home_care_product_ids),
    }
    charted = {line.zone: line for line in content.lines}
    for zone in maps.zone_map(session.area).zones:
        line = charted.get(zone.code) or blank
        if line is None:
            continue
        initial[f"{zone.code}-technique"] = line.technique
        initial[f"{zone.code}-depth_mm"] = line.depth_mm
        initial[f"{zone.code}-needle_gauge"] = line.needle_gauge
        initial[f"{zone.code}-needle_length_mm"] = line.needle_length_mm
        initial[f"{zone.code}-points"] = line.points
        initial[f"{zone.code}-volume_ml"] = line.volume_ml if zone.code in charted else None
        initial[f"{zone.code}-lot"] = str(line.lot.pk) if line.lot else ""
    return initial


class AmendForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the signed session corrected?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PhotoForm(forms.Form):
    moment = forms.ChoiceField(
        label=_("Taken"),
        choices=[("before", _("Before")), ("after", _("After"))],
        widget=forms.RadioSelect,
    )
    image = forms.FileField(
        label=_("Photo"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)


class StartForm(forms.Form):
    """Only for an appointment outside a course: which protocol is given."""

    protocol_version: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Protocol given"), queryset=ProtocolVersion.objects.none()
    )

    def __init__(self, *args: Any, queryset: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol_version"].queryset = queryset  # type: ignore[attr-defined]
