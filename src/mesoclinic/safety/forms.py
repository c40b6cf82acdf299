"""Forms for recording a side effect, following it up, closing and reviewing it, and the
safety page's filter. They turn raw input into clean values; the services check what
needs the database (the sessions, the onset against them)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.core import clock
from mesoclinic.safety import catalogue
from mesoclinic.safety.models import (
    ActionTaken,
    AdverseEvent,
    Outcome,
    Relation,
    Reporter,
    SeriousCriterion,
)
from mesoclinic.safety.services import EventInput
from mesoclinic.treatments.models import TreatmentSession

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read in the clinic's time zone (not the server's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
        )
        kwargs.setdefault("input_formats", [DATETIME_LOCAL, "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)
        self.tz: zoneinfo.ZoneInfo | None = None

    def to_python(self, value: Any) -> dt.datetime | None:
        result = super().to_python(value)
        if result is not None and self.tz is not None:
            result = result.replace(tzinfo=None).replace(tzinfo=self.tz)
        return result


def _session_label(session: TreatmentSession) -> str:
    return (
        f"{session.performed_on:%d %b %Y} · {session.protocol_version.name} · "
        f"{session.practitioner.full_name}"
    )


class EventForm(forms.Form):
    term = forms.ChoiceField(label=_("Side effect"))
    term_text = forms.CharField(
        label=_("Details of the side effect"),
        required=False,
        max_length=200,
        help_text=_("Required for 'Other'; otherwise optional (where, how large)."),
    )
    sessions = forms.MultipleChoiceField(
        label=_("After which session(s)"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The signed sessions the side effect followed."),
    )
    onset_at = LocalDateTimeField(label=_("Onset (date and time)"))
    reported_by = forms.ChoiceField(
        label=_("Reported by"), choices=Reporter.choices, initial=Reporter.PRACTITIONER
    )
    grade = forms.TypedChoiceField(
        label=_("Grade (CTCAE)"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("The grade must be between 1 and 5.")},
    )
    serious_criteria = forms.MultipleChoiceField(
        label=_("Seriousness criteria (any one makes it serious)"),
        choices=SeriousCriterion.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    relation = forms.ChoiceField(
        label=_("Relation to the treatment"),
        choices=Relation.choices,
        initial=Relation.POSSIBLE,
    )
    actions = forms.MultipleChoiceField(
        label=_("Action taken"),
        choices=ActionTaken.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    action_note = forms.CharField(
        label=_("Action taken, details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The version the editor started from (edits only): a change made meanwhile by someone
    # else is refused rather than overwritten.
    version = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    responsible = forms.ModelChoiceField(
        label=_("Responsible practitioner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Who gave the latest related session"),
        help_text=_(
            "Told by email when the side effect is flagged. Default: who gave the "
            "latest related session."
        ),
    )

    def __init__(
        self,
        *args: Any,
        visits: list[TreatmentSession],
        clinicians: Any,
        tz: zoneinfo.ZoneInfo,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.visits = {str(s.appointment_id): s for s in visits}
        fields: dict[str, Any] = self.fields
        fields["term"].choices = [("", _("Choose…")), *catalogue.choices()]
        fields["sessions"].choices = [(str(s.appointment_id), _session_label(s)) for s in visits]
        fields["grade"].choices = [
            (g, text) for g, text in sorted(catalogue.generic_grades().items())
        ]
        fields["responsible"].queryset = clinicians
        onset = self.fields["onset_at"]
        assert isinstance(onset, LocalDateTimeField)
        onset.tz = tz

    def clean_term(self) -> str:
        code: str = self.cleaned_data["term"]
        try:
            catalogue.term(code)
        except catalogue.UnknownTerm:
            raise forms.ValidationError(_("Choose a side effect from the list.")) from None
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        onset: dt.datetime | None = data.get("onset_at")
        chosen = [self.visits[pk] for pk in data.get("sessions") or [] if pk in self.visits]
        if onset is not None and chosen:
            # The time typed is the wall time where the side effect followed the session:
            # the latest chosen session's clinic, not necessarily the one the user works at.
            latest = max(chosen, key=lambda v: (v.performed_on, v.pk))
            wall = onset.astimezone(self.tz).replace(tzinfo=None)
            data["onset_at"] = onset = wall.replace(tzinfo=latest.clinic.tzinfo)
        if onset is not None and onset > clock.now() + dt.timedelta(minutes=5):
            self.add_error("onset_at", _("The onset cannot be in the future."))
        code = data.get("term")
        if code and catalogue.term(code).requires_text and not data.get("term_text", "").strip():
            self.add_error("term_text", _("Say what the side effect is."))
        actions = data.get("actions") or []
        if ActionTaken.NONE in actions and len(actions) > 1:
            self.add_error("actions", _("'None' cannot be combined with another action."))
        return data

    def event_input(self) -> EventInput:
        d = self.cleaned_data
        return EventInput(
            term=d["term"],
            term_text=d.get("term_text", ""),
            description=d.get("description", ""),
            onset_at=d["onset_at"],
            reported_by=d["reported_by"],
            grade=d["grade"],
            serious_criteria=tuple(d.get("serious_criteria") or ()),
            relation=d["relation"],
            actions=tuple(d.get("actions") or ()),
            action_note=d.get("action_note", ""),
        )

    def appointments(self) -> list[Any]:
        return [self.visits[pk].appointment for pk in self.cleaned_data["sessions"]]

    @staticmethod
    def initial_for(event: AdverseEvent, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
        return {
            "term": event.term,
            "term_text": event.term_text,
            "sessions": [str(v.appointment_id) for v in event.visits.all()],
            "onset_at": event.onset_at.astimezone(tz).strftime(DATETIME_LOCAL),
            "reported_by": event.reported_by,
            "grade": event.grade,
            "serious_criteria": event.serious_criteria,
            "relation": event.relation,
            "actions": event.actions,
            "action_note": event.action_note,
            "description": event.description,
            "responsible": event.responsible_id,
            "version": event.updated_at.isoformat(),
        }


class FollowUpForm(forms.Form):
    # Several forms share the event's page: the prefix keeps their field ids apart.
    prefix = "follow_up"

    note = forms.CharField(
        label=_("Follow-up note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    grade = forms.TypedChoiceField(
        label=_("Grade now (leave unchanged if the same)"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[("", _("Unchanged")), *[(g, str(g)) for g in catalogue.GRADES]],
        error_messages={"invalid_choice": _("The grade must be between 1 and 5.")},
    )


class ResolveForm(forms.Form):
    # Several forms share the event's page: the prefix keeps their field ids apart.
    prefix = "close"

    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(v, label) for v, label in Outcome.choices if v != Outcome.ONGOING],
        initial=Outcome.RESOLVED,
    )
    resolved_on = forms.DateField(
        label=_("Resolved on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    sequelae = forms.CharField(
        label=_("Sequelae"),
        required=False,
        max_length=2000,
        help_text=_("Required when the outcome is 'resolved with sequelae'."),
    )
    note = forms.CharField(
        label=_("Closing note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("outcome") == Outcome.RESOLVED_WITH_SEQUELAE
            and not data.get("sequelae", "").strip()
        ):
            self.add_error("sequelae", _("Describe the sequelae."))
        return data


class ReviewForm(forms.Form):
    # Several forms share the event's page: the prefix keeps their field ids apart.
    prefix = "review"

    note = forms.CharField(
        label=_("Decision about further sessions"),
        min_length=10,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "For example: course paused until the swelling is gone; next session without lidocaine."
        ),
    )


class PhotoForm(forms.Form):
    # Several forms share the event's page: the prefix keeps their field ids apart.
    prefix = "photo"

    photo = forms.FileField(label=_("Photo"))
    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)


class RatesForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    clinic = forms.ModelChoiceField(
        label=_("Clinic"),
        queryset=Clinic.objects.none(),
        required=False,
        empty_label=_("All clinics"),
    )
    related_only = forms.BooleanField(
        label=_("Only side effects possibly, probably or certainly related"), required=False
    )

    def __init__(self, *args: Any, clinics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["clinic"].queryset = clinics

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the period is before its start."))
        if start and end and (end - start).days > 366 * 10:
            self.add_error("start", _("Choose a period of at most ten years."))
        return data
