from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.hours import format_week, parse_day
from mesoclinic.accounts.models import Clinic, OpeningHours, Organisation, Role, User
from mesoclinic.patients.validators import clean_address, clean_email, clean_name, clean_phone


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("That email and password do not match an active account."),
        "inactive": _("This account is inactive."),
    }


def _same_email(a: str, b: str) -> bool:
    # As Django's own reset form: compare after Unicode normalisation, so a look-alike
    # address cannot receive someone else's link.
    def fold(value: str) -> str:
        return unicodedata.normalize("NFKC", value).casefold()

    return fold(a) == fold(b)


class InviteAwarePasswordResetForm(PasswordResetForm):
    """Django's reset form, also for active accounts that never chose a password.

    Django skips accounts with an unusable password (meant for single sign-on users).
    Here an unusable password means "invited, link not used yet": without this, a person
    whose invitation expired or never arrived could not get a new link at all.
    """

    def get_users(self, email: str) -> Iterator[User]:
        for user in User.objects.filter(email__iexact=email, is_active=True):
            if _same_email(email, user.email):
                yield user


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=10_000)
    email = forms.CharField(label=_("Email"), max_length=10_000, widget=forms.EmailInput)
    # No default: an admin role should be a deliberate choice.
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("Choose a role")), *Role.choices])
    default_clinic = forms.ModelChoiceField(
        label=_("Main clinic"),
        queryset=Clinic.objects.none(),
        required=False,
        empty_label=_("No main clinic"),
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_clinic"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Clinic.objects.filter(organisation=organisation, is_active=True)

    def clean_full_name(self) -> str:
        try:
            return clean_name(self.cleaned_data["full_name"], label=str(_("Full name")))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_email(self) -> str:
        try:
            email = clean_email(self.cleaned_data["email"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not email:
            raise forms.ValidationError(_("Email is required."))
        return email.lower()


WEEKDAY_FIELDS = [
    (day.value, f"hours_{day.name.lower()}", day.label) for day in OpeningHours.Weekday
]


class ClinicForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=10_000)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=10_000)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=())

    def __init__(
        self, *args: Any, organisation: Organisation, clinic: Clinic | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.clinic = clinic
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]
        for _day, name, label in WEEKDAY_FIELDS:
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                help_text=_("e.g. 09:00-13:00, 14:00-19:00; empty when closed"),
            )
        for field in self.fields.values():
            field.error_messages["required"] = _("%(label)s is required.") % {"label": field.label}

    def clean_name(self) -> str:
        try:
            name = clean_name(self.cleaned_data["name"], label=str(_("Name")))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        others = Clinic.objects.filter(organisation=self.organisation, name__iexact=name)
        if self.clinic is not None:
            others = others.exclude(pk=self.clinic.pk)
        if others.exists():
            raise forms.ValidationError(_("Another clinic of yours has this name."))
        return name

    def clean_address(self) -> str:
        try:
            return clean_address(self.cleaned_data["address"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_phone(self) -> str:
        try:
            return clean_phone(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for _day, name, _label in WEEKDAY_FIELDS:
            if name in self.errors:
                continue
            try:
                data[name] = parse_day(data.get(name, ""))
            except ValueError as exc:
                self.add_error(name, str(exc))
        return data

    def opening_hours(self) -> list[tuple[int, dt.time, dt.time]]:
        return [
            (day, opens, closes)
            for day, name, _label in WEEKDAY_FIELDS
            for opens, closes in self.cleaned_data[name]
        ]

    @staticmethod
    def initial_for(clinic: Clinic) -> dict[str, Any]:
        week = format_week(h.as_interval() for h in clinic.opening_hours.all())
        initial: dict[str, Any] = {
            "name": clinic.name,
            "address": clinic.address,
            "phone": clinic.phone,
            "timezone": clinic.timezone,
        }
        for day, name, _label in WEEKDAY_FIELDS:
            initial[name] = week[day]
        return initial
