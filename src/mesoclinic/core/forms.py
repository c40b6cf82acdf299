from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Organisation, User
from mesoclinic.core.audit import ACTIONS
from mesoclinic.core.selectors import AuditFilter

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Dates outside these years are typing mistakes, and at the edges of the calendar (year 1,
# year 9999) turning a day into a time range in the clinic's time zone overflows.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
_DATE_RANGE_MESSAGE = _("Enter a date between 1900 and 2100.")


def _date_field(label: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "min": EARLIEST_DATE.isoformat(),
                "max": LATEST_DATE.isoformat(),
            }
        ),
        validators=[
            MinValueValidator(EARLIEST_DATE, message=_DATE_RANGE_MESSAGE),
            MaxValueValidator(LATEST_DATE, message=_DATE_RANGE_MESSAGE),
        ],
    )


def action_choices() -> list[tuple[str, str]]:
    """Every action the audit trail knows, by its label; no query of the events."""
    return sorted(((name, str(info.label)) for name, info in ACTIONS.items()), key=lambda c: c[1])


class AuditFilterForm(forms.Form):
    patient = forms.CharField(label=_("Patient record no."), required=False, max_length=20)
    actor = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.none(), required=False, empty_label=_("Any user")
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = _date_field(_("From"))
    date_to = _date_field(_("To"))

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor = self.fields["actor"]
        assert isinstance(actor, forms.ModelChoiceField)
        actor.queryset = User.objects.filter(memberships__organisation=organisation).order_by(
            "full_name"
        )
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", _("Any action")), *action_choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            patient_query=data.get("patient") or "",
            actor_id=data["actor"].pk if data.get("actor") else None,
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
