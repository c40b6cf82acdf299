"""Forms of the calendar pages: appointment actions, booking, and the schedule settings.

They turn raw input into clean values and explain what is wrong; the services then enforce
what needs the database (a taken slot, a time outside opening hours).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import OpeningHours, User
from mesoclinic.scheduling.models import AppointmentType, Room, WorkingHours

REASON_MAX_CHARS = 500
NOTES_MAX_CHARS = 2000
SETTINGS_REASON_MAX_CHARS = 200


def _practitioner_choices(practitioners: Iterable[User]) -> list[tuple[int, str]]:
    return [(p.pk, p.full_name or p.email) for p in practitioners]


def _required_message(form: forms.Form) -> None:
    for field in form.fields.values():
        field.error_messages["required"] = _("%(label)s is required.") % {"label": field.label}


def local_datetime(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """``day`` at wall-clock ``at`` in ``tz``; None when that wall time does not exist there
    (the hour skipped when the clocks go forward)."""
    moment = dt.datetime.combine(day, at, tzinfo=tz)
    there_and_back = moment.astimezone(dt.UTC).astimezone(tz)
    if there_and_back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None
    return moment


class _TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class _TypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _("%(name)s (%(minutes)d min)") % {
            "name": obj.name,
            "minutes": obj.duration_minutes,
        }


# --- Appointment actions ------------------------------------------------------------------


class CancelForm(forms.Form):
    prefix = "cancel"

    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the appointment and in the audit trail."),
    )
    rebook = forms.BooleanField(
        label=_("Re-book this session inside its new window"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = _(
            "Give a reason for cancelling (it is kept with the appointment)."
        )

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data["reason"]).split())
        if not reason:
            raise forms.ValidationError(
                _("Give a reason for cancelling (it is kept with the appointment).")
            )
        return reason


class NoShowForm(forms.Form):
    prefix = "no_show"

    rebook = forms.BooleanField(
        label=_("Re-book this session inside its new window"), required=False, initial=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class MoveForm(forms.Form):
    """The chosen free start (an ISO datetime from the slot list) and practitioner."""

    starts_at = forms.CharField(label=_("New start"), max_length=40)
    practitioner = forms.TypedChoiceField(label=_("Practitioner"), coerce=int)

    def __init__(self, *args: Any, practitioners: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        self.fields["starts_at"].error_messages["required"] = _("Choose one of the free times.")
        field = self.fields["practitioner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _practitioner_choices(practitioners)
        self._practitioners = {p.pk: p for p in practitioners}

    def clean_starts_at(self) -> dt.datetime:
        text = str(self.cleaned_data["starts_at"]).strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(_("Choose one of the free times.")) from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise forms.ValidationError(_("Choose one of the free times."))
        return moment

    def chosen_practitioner(self) -> User:
        return self._practitioners[self.cleaned_data["practitioner"]]


class BookForm(forms.Form):
    """One appointment for one patient: who, what, which day, and a free start time."""

    practitioner = forms.TypedChoiceField(label=_("Practitioner"), coerce=int)
    appointment_type = _TypeChoiceField(
        label=_("Type"), queryset=AppointmentType.objects.none(), empty_label=None
    )
    date = forms.DateField(label=_("Day"), widget=_DateInput())
    time = forms.TimeField(
        label=_("Start time"),
        required=False,
        widget=_TimeInput(attrs={"step": 300}),
        help_text=_("Or pick one of the free times below."),
    )
    # A free time clicked in the list of slots (HH:MM); it wins over the time field.
    slot = forms.TimeField(required=False, widget=forms.HiddenInput)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=NOTES_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        practitioners: Sequence[User],
        types: Any,
        tz: zoneinfo.ZoneInfo,
        today: dt.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        field = self.fields["practitioner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _practitioner_choices(practitioners)
        type_field = self.fields["appointment_type"]
        assert isinstance(type_field, forms.ModelChoiceField)
        type_field.queryset = types
        self.fields["date"].widget.attrs["min"] = today.isoformat()
        self._practitioners = {p.pk: p for p in practitioners}
        self.tz = tz
        self.today = today

    def clean_date(self) -> dt.date:
        day: dt.date = self.cleaned_data["date"]
        if day < self.today:
            raise forms.ValidationError(_("This day is in the past; choose today or later."))
        if day > self.today + dt.timedelta(days=366):
            raise forms.ValidationError(_("Book at most a year ahead."))
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        at = data.get("slot") or data.get("time")
        day = data.get("date")
        if at is None:
            if "time" not in self.errors:
                self.add_error("time", _("Choose a start time, or one of the free times."))
            return data
        if day is None:
            return data
        starts_at = local_datetime(day, at, self.tz)
        if starts_at is None:
            self.add_error(
                "time", _("This time does not exist that day: the clocks go forward then.")
            )
            return data
        data["starts_at"] = starts_at
        return data

    def chosen_practitioner(self) -> User:
        return self._practitioners[self.cleaned_data["practitioner"]]


# --- Schedule settings --------------------------------------------------------------------


class RoomForm(forms.Form):
    prefix = "room"

    name = forms.CharField(label=_("Room name"), max_length=100)

    def __init__(self, *args: Any, rooms: Sequence[Room], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        self._names = {r.name.casefold() for r in rooms}

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        if not name:
            raise forms.ValidationError(_("Room name is required."))
        if name.casefold() in self._names:
            raise forms.ValidationError(_("This clinic already has a room of that name."))
        return name


class WorkingHoursForm(forms.Form):
    prefix = "hours"

    practitioner = forms.TypedChoiceField(label=_("Practitioner"), coerce=int)
    weekday = forms.TypedChoiceField(
        label=_("Weekday"), coerce=int, choices=OpeningHours.Weekday.choices
    )
    starts_at = forms.TimeField(label=_("From"), widget=_TimeInput(attrs={"step": 900}))
    ends_at = forms.TimeField(label=_("To"), widget=_TimeInput(attrs={"step": 900}))

    def __init__(
        self,
        *args: Any,
        practitioners: Sequence[User],
        existing: Sequence[WorkingHours],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        field = self.fields["practitioner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _practitioner_choices(practitioners)
        self._practitioners = {p.pk: p for p in practitioners}
        self._existing = existing

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is None or ends is None:
            return data
        if ends <= starts:
            self.add_error("ends_at", _("The end must be after the start."))
            return data
        who, day = data.get("practitioner"), data.get("weekday")
        for row in self._existing:
            same_day = row.practitioner_id == who and row.weekday == day
            if same_day and row.starts_at < ends and starts < row.ends_at:
                self.add_error(
                    "starts_at",
                    _("These hours overlap %(start)s–%(end)s on the same day.")
                    % {"start": f"{row.starts_at:%H:%M}", "end": f"{row.ends_at:%H:%M}"},
                )
                break
        return data

    def chosen_practitioner(self) -> User:
        return self._practitioners[self.cleaned_data["practitioner"]]


class AbsenceForm(forms.Form):
    prefix = "absence"

    practitioner = forms.TypedChoiceField(label=_("Practitioner"), coerce=int)
    starts_at = forms.DateTimeField(label=_("Away from"), widget=_DateTimeInput())
    ends_at = forms.DateTimeField(label=_("Back at"), widget=_DateTimeInput())
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=SETTINGS_REASON_MAX_CHARS
    )

    def __init__(
        self, *args: Any, practitioners: Sequence[User], now: dt.datetime, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        field = self.fields["practitioner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _practitioner_choices(practitioners)
        self._practitioners = {p.pk: p for p in practitioners}
        self._now = now

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is None or ends is None:
            return data
        if ends <= starts:
            self.add_error("ends_at", _("The end must be after the start."))
        elif ends <= self._now:
            self.add_error("ends_at", _("This absence is already over."))
        elif starts < self._now - dt.timedelta(days=366):
            self.add_error("starts_at", _("The start is more than a year ago."))
        elif ends > self._now + dt.timedelta(days=3 * 366):
            self.add_error("ends_at", _("The end is more than three years ahead."))
        return data

    def chosen_practitioner(self) -> User:
        return self._practitioners[self.cleaned_data["practitioner"]]


class ClosureForm(forms.Form):
    prefix = "closure"

    starts_on = forms.DateField(label=_("Closed from"), widget=_DateInput())
    ends_on = forms.DateField(label=_("Closed until (inclusive)"), widget=_DateInput())
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=SETTINGS_REASON_MAX_CHARS
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _required_message(self)
        self._today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts is None or ends is None:
            return data
        if ends < starts:
            self.add_error("ends_on", _("The last day cannot be before the first."))
        elif ends < self._today:
            self.add_error("ends_on", _("These days are in the past."))
        elif (ends - starts).days > 366:
            self.add_error("ends_on", _("A closure can last at most a year."))
        return data
