from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.patients.intake import ALLERGENS
from mesoclinic.screening.models import KIND_CHOICES

# The formulation's ingredients, by the same codes as the intake's allergens (the protocols
# issue will fill these from the chosen protocol's formulation).
INGREDIENT_CHOICES = ALLERGENS


class ScreeningForm(forms.Form):
    protocol_kind = forms.ChoiceField(
        label=_("Planned treatment"), choices=KIND_CHOICES, widget=forms.RadioSelect
    )
    ingredients = forms.MultipleChoiceField(
        label=_("Ingredients of the planned formulation"),
        required=False,
        choices=INGREDIENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol_kind"].error_messages["required"] = _("Choose the planned treatment.")


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
