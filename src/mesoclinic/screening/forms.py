from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Organisation
from mesoclinic.patients.intake import ALLERGENS
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.screening.models import KIND_CHOICES

# The formulation's ingredients, by the same codes as the intake's allergens (the protocols
# issue will fill these from the chosen protocol's formulation).
INGREDIENT_CHOICES = ALLERGENS


class ScreeningForm(forms.Form):
    protocol = forms.ModelChoiceField(
        label=_("Planned protocol"),
        queryset=ProtocolVersion.objects.none(),
        required=False,
        empty_label=_("None: choose the treatment and ingredients below"),
        help_text=_("A protocol brings its treatment and its formulation's ingredients."),
    )
    protocol_kind = forms.ChoiceField(
        label=_("Planned treatment"),
        choices=KIND_CHOICES,
        widget=forms.RadioSelect,
        required=False,
    )
    ingredients = forms.MultipleChoiceField(
        label=_("Ingredients of the planned formulation"),
        required=False,
        choices=INGREDIENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["protocol"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ProtocolVersion.objects.filter(
            current_of__organisation=organisation, current_of__is_active=True
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("protocol") and not data.get("protocol_kind"):
            self.add_error("protocol_kind", _("Choose the planned protocol or treatment."))
        return data


class OverrideForm(forms.Form):
    justification = forms.CharField(
        label=_("Why go ahead despite the screening?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the screening and shown on the chart."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["justification"].error_messages["required"] = _("Write the justification.")
