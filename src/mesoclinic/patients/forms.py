from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.patients import validators
from mesoclinic.patients.intake import (
    ALLERGENS,
    INTAKE_FIELDS,
    PATTERNS,
    PREVIOUS_TREATMENTS,
    SECTIONS,
    SHEDDING,
    TIME_LIMITED,
)
from mesoclinic.patients.models import PatientIntake, SexAtBirth
from mesoclinic.patients.scales import SCALES, SCALP_ZONES
from mesoclinic.patients.services import AssessmentDetails, PatientDetails

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NOTES_MAX_CHARS = 5000


class PatientForm(forms.Form):
    given_name = forms.CharField(label=_("Given name"), max_length=10_000)
    family_name = forms.CharField(label=_("Family name"), max_length=10_000)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )
    sex_at_birth = forms.ChoiceField(label=_("Sex at birth"), choices=SexAtBirth.choices)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=10_000,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=10_000,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    preferred_clinic = forms.ModelChoiceField(
        label=_("Preferred clinic"),
        queryset=Clinic.objects.none(),
        required=False,
        empty_label=_("No preference"),
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = _("%(label)s is required.") % {"label": field.label}
        # Only this organisation's clinics can be chosen; another's id is "not a valid choice".
        field = self.fields["preferred_clinic"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Clinic.objects.filter(organisation=organisation, is_active=True)

    def _clean_with(self, name: str, cleaner: Any, **kwargs: Any) -> Any:
        try:
            return cleaner(self.cleaned_data[name], **kwargs)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_given_name(self) -> str:
        return self._clean_with("given_name", validators.clean_name, label=_("Given name"))

    def clean_family_name(self) -> str:
        return self._clean_with("family_name", validators.clean_name, label=_("Family name"))

    def clean_date_of_birth(self) -> dt.date:
        return self._clean_with(
            "date_of_birth", validators.clean_date_of_birth, today=timezone.localdate()
        )

    def clean_email(self) -> str:
        return self._clean_with("email", validators.clean_email)

    def clean_phone(self) -> str:
        return self._clean_with("phone", validators.clean_phone)

    def clean_address(self) -> str:
        return self._clean_with("address", validators.clean_address)

    def details(self) -> PatientDetails:
        data = self.cleaned_data
        return PatientDetails(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
            sex_at_birth=data["sex_at_birth"],
            email=data["email"],
            phone=data["phone"],
            address=data["address"],
            preferred_clinic=data["preferred_clinic"],
        )


class PatientCreateForm(PatientForm):
    confirm_not_duplicate = forms.BooleanField(
        label=_("I have checked: this is a different person. Create a new record."),
        required=False,
        widget=forms.CheckboxInput,
    )


class PatientEditForm(PatientForm):
    confirm_not_duplicate = forms.BooleanField(
        label=_("I have checked: this is a different person. Save these details."),
        required=False,
        widget=forms.CheckboxInput,
    )
    # When the record was last changed as the form was opened (ISO 8601, to the microsecond):
    # saving over a record changed since is refused. The page always sends it; a submission
    # without it (a script) saves like the API does, last write wins.
    version = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def clean_version(self) -> dt.datetime | None:
        raw = self.cleaned_data["version"]
        if not raw:
            return None
        try:
            version = dt.datetime.fromisoformat(raw)
        except ValueError:
            version = None
        if version is None or version.tzinfo is None:
            # A hidden field: say so at the top of the form, not beside nothing.
            self.add_error(None, _("This form is out of date; reload the page."))
            return None
        return version


def _yes_no_field(
    label: StrOrPromise, help_text: StrOrPromise = "", *, unknown: StrOrPromise = ""
) -> forms.TypedChoiceField:
    """Yes / No / unknown as radio buttons: True, False or None (never a guessed "no")."""
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=[("", unknown or _("Not answered")), ("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class AssessmentForm(forms.Form):
    assessed_on = forms.DateField(
        label=_("Assessed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    affected_zones = forms.MultipleChoiceField(
        label=_("Affected zones"),
        required=False,
        choices=SCALP_ZONES,
        widget=forms.CheckboxSelectMultiple,
    )
    scarring_alopecia_signs = _yes_no_field(
        _("Signs of scarring alopecia"),
        _("Loss of follicular openings, scarring. Seen: refer to a physician first."),
        unknown=_("Not assessed"),
    )
    notes = forms.CharField(
        label=_("Clinician notes"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"].error_messages["required"] = _("Assessed on is required.")
        for scale in SCALES:  # one optional choice per scale, named by its code
            self.fields[scale.code] = forms.ChoiceField(
                label=scale.name, required=False, choices=[("", "—"), *scale.grades]
            )

    def clean_assessed_on(self) -> dt.date:
        day: dt.date = self.cleaned_data["assessed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("An assessment cannot be dated in the future."))
        if day.year < 1900:
            raise forms.ValidationError(_("Check the year."))
        return day

    def clean_notes(self) -> str:
        try:
            return validators.clean_text(
                self.cleaned_data["notes"],
                label=str(_("Clinician notes")),
                max_chars=NOTES_MAX_CHARS,
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def details(self) -> AssessmentDetails:
        data = self.cleaned_data
        return AssessmentDetails(
            assessed_on=data["assessed_on"],
            **{scale.code: data[scale.code] for scale in SCALES},
            affected_zones=tuple(data["affected_zones"]),
            scarring_alopecia_signs=data["scarring_alopecia_signs"],
            notes=data["notes"],
        )


class IntakeForm(forms.Form):
    """The intake questionnaire; unanswered yes/no questions stay "not answered"."""

    onset = forms.CharField(
        label=_("When did the hair loss start?"),
        required=False,
        max_length=100,
        help_text=_("A year or an approximate time, e.g. 2019 or 'two years ago'"),
    )
    patterns = forms.MultipleChoiceField(
        label=_("Pattern"), required=False, choices=PATTERNS, widget=forms.CheckboxSelectMultiple
    )
    shedding = forms.ChoiceField(
        label=_("Shedding"),
        required=False,
        choices=[("", _("Not answered")), *SHEDDING],
        widget=forms.RadioSelect,
    )
    family_history = _yes_no_field(_("Family history of hair loss"))
    previous_treatments = forms.MultipleChoiceField(
        label=_("Previous treatments"),
        required=False,
        choices=PREVIOUS_TREATMENTS,
        widget=forms.CheckboxSelectMultiple,
    )
    previous_treatments_notes = forms.CharField(
        label=_("Previous treatments: details (dose, when, effect)"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    allergy_status = forms.ChoiceField(
        label=_("Allergies to solution components"),
        required=False,
        choices=[
            ("", _("Not asked")),
            ("none", _("None known")),
            ("some", _("Allergic to the components ticked below")),
        ],
        widget=forms.RadioSelect,
    )
    allergen_codes = forms.MultipleChoiceField(
        label=_("Allergic to"),
        required=False,
        choices=ALLERGENS,
        widget=forms.CheckboxSelectMultiple,
    )
    allergy_notes = forms.CharField(
        label=_("Allergies: details"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for section in SECTIONS:
            for question in section.questions:
                self.fields[question.name] = _yes_no_field(question.text, question.help)

    def sections(self) -> list[tuple[str, StrOrPromise, list[forms.BoundField]]]:
        """(code, title, bound fields) of each section of yes/no questions."""
        return [
            (section.code, section.title, [self[q.name] for q in section.questions])
            for section in SECTIONS
        ]

    def _clean_long_text(self, name: str, label: str) -> str:
        try:
            return validators.clean_text(
                self.cleaned_data[name], label=label, max_chars=NOTES_MAX_CHARS
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_onset(self) -> str:
        return self._clean_long_text("onset", str(_("Onset")))

    def clean_previous_treatments_notes(self) -> str:
        return self._clean_long_text("previous_treatments_notes", str(_("Details")))

    def clean_allergy_notes(self) -> str:
        return self._clean_long_text("allergy_notes", str(_("Details")))

    def clean_notes(self) -> str:
        return self._clean_long_text("notes", str(_("Notes")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        status, codes = data.get("allergy_status", ""), data.get("allergen_codes") or []
        if status == "some" and not codes:
            self.add_error("allergen_codes", _("Tick the components the patient is allergic to."))
        elif status != "some" and codes:
            self.add_error(
                "allergy_status",
                _("Components are ticked: choose “Allergic to the components ticked below”."),
            )
        return data

    def answers(self) -> dict[str, Any]:
        answers = {name: self.cleaned_data[name] for name in INTAKE_FIELDS}
        # None: not asked (screening asks); []: asked, none known.
        answers["allergen_codes"] = {"": None, "none": []}.get(
            self.cleaned_data["allergy_status"], answers["allergen_codes"]
        )
        return answers

    @staticmethod
    def initial_from(intake: PatientIntake) -> dict[str, Any]:
        """The last answers, so a routine re-intake only changes what changed; answers that
        are true only for a while (``TIME_LIMITED``) are asked again."""
        initial: dict[str, Any] = {}
        for name in INTAKE_FIELDS:
            value = None if name in TIME_LIMITED else getattr(intake, name)
            if isinstance(value, bool):
                value = "yes" if value else "no"
            initial[name] = value if value is not None else ""
        codes = intake.allergen_codes
        initial["allergy_status"] = "" if codes is None else "some" if codes else "none"
        initial["allergen_codes"] = codes or []
        return initial


class ConsentSignForm(forms.Form):
    signed_name = forms.CharField(
        label=_("Patient's full name, typed by the patient"), max_length=10_000
    )
    signature = forms.CharField(widget=forms.HiddenInput, max_length=400_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signed_name"].error_messages["required"] = _("The patient types their name.")
        self.fields["signature"].error_messages["required"] = _(
            "The patient draws their signature in the box."
        )

    def clean_signed_name(self) -> str:
        try:
            return validators.clean_name(self.cleaned_data["signed_name"], label=str(_("Name")))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_signature(self) -> bytes:
        prefix = "data:image/png;base64,"
        value: str = self.cleaned_data["signature"]
        try:
            if not value.startswith(prefix):
                raise ValueError
            return base64.b64decode(value[len(prefix) :], validate=True)
        except (ValueError, binascii.Error):
            raise forms.ValidationError(
                _("The drawn signature could not be read; draw it again.")
            ) from None


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for withdrawal"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConsentTextForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text the patient reads and signs"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_(
            "Saving publishes a new version. Signatures on earlier versions are kept and flagged "
            "on the chart so the patient can sign the new text."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].error_messages["required"] = _("Title is required.")
        self.fields["body"].error_messages["required"] = _("Text is required.")

    def clean_title(self) -> str:
        try:
            return validators.clean_name(self.cleaned_data["title"], label=str(_("Title")))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_body(self) -> str:
        try:
            return validators.clean_text(
                self.cleaned_data["body"], label=str(_("Text")), max_chars=50_000
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
