from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic, Organisation, Role, User
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
