from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic, Organisation, Role
from mesoclinic.patients.validators import clean_email, clean_name


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


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=10_000)
    email = forms.CharField(label=_("Email"), max_length=10_000, widget=forms.EmailInput)
    # No default: an admin role should be a deliberate choice.
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("Choose a role"))] + Role.choices)
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
