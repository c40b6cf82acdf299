"""Course pages: start a course from a protocol (planned and booked at once), keep it on
track, cancel it; and the chart's Course tab."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.access import Workspace, request_workspace, staff_view
from mesoclinic.accounts.models import Clinic, OpeningHours, User
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.scheduling.models import (
    HELD_STATUSES,
    Appointment,
    Course,
    CourseSession,
    CourseStatus,
    SessionStatus,
    TimeOfDay,
)
from mesoclinic.scheduling.selectors import course_get, courses_of, practitioners_of
from mesoclinic.scheduling.services import BookingResult, course_book, course_cancel, course_create


class CourseForm(forms.Form):
    protocol = forms.ModelChoiceField(
        label=gettext_lazy("Protocol"), queryset=ProtocolVersion.objects.none()
    )
    clinic = forms.ModelChoiceField(label=gettext_lazy("Clinic"), queryset=Clinic.objects.none())
    practitioner = forms.ModelChoiceField(
        label=gettext_lazy("Practitioner"), queryset=User.objects.none()
    )
    start_on = forms.DateField(
        label=gettext_lazy("First session from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    induction_sessions = forms.IntegerField(
        label=gettext_lazy("Induction sessions"),
        required=False,
        min_value=1,
        max_value=52,
        help_text=gettext_lazy("Empty: the protocol's largest number."),
    )
    preferred_weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Patient prefers"),
        choices=OpeningHours.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    preferred_time = forms.ChoiceField(
        label=gettext_lazy("Time of day"), choices=TimeOfDay.choices, initial=TimeOfDay.ANY
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisation = workspace.organisation
        self._set_queryset(
            "protocol",
            ProtocolVersion.objects.filter(
                current_of__organisation=organisation, current_of__is_active=True
            ).order_by("area", "name"),
        )
        self._set_queryset(
            "clinic", Clinic.objects.filter(organisation=organisation, is_active=True)
        )
        ids = [u.pk for u in practitioners_of(organisation=organisation)]
        self._set_queryset("practitioner", User.objects.filter(pk__in=ids).order_by("full_name"))
        self.fields["protocol"].error_messages["required"] = _("Choose the protocol.")
        self.fields["practitioner"].error_messages["required"] = _("Choose the practitioner.")
        self.fields["start_on"].error_messages["required"] = _("Give the first possible date.")

    def _set_queryset(self, name: str, queryset: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset


def _tab(patient_id: int) -> HttpResponse:
    return redirect("patients:chart_tab", patient_id=patient_id, tab="course")


def _booking_message(request: HttpRequest, result: BookingResult) -> None:
    booked, moved, unplaced = len(result.booked), len(result.moved), len(result.unplaced)
    parts = []
    if booked:
        parts.append(_("%(n)d sessions booked") % {"n": booked})
    if moved:
        parts.append(_("%(n)d moved back inside their windows") % {"n": moved})
    if not parts:
        parts.append(_("No session needed booking"))
    text = "; ".join(parts) + "."
    if unplaced:
        messages.warning(
            request,
            text
            + " "
            + _(
                "%(n)d could not be placed inside their windows (no free slot): "
                "book them by hand or change the hours."
            )
            % {"n": unplaced},
        )
    else:
        messages.success(request, text)


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    if request.method == "POST":
        form = CourseForm(request.POST, workspace=workspace)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = course_create(
                    patient=patient,
                    protocol_version=data["protocol"],
                    clinic=data["clinic"],
                    practitioner=data["practitioner"],
                    start_on=data["start_on"],
                    induction_sessions=data["induction_sessions"],
                    preferred_weekdays=data["preferred_weekdays"],
                    preferred_time=data["preferred_time"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                field = {
                    "protocol_id": "protocol",
                    "practitioner_id": "practitioner",
                    "start_on": "start_on",
                    "induction_sessions": "induction_sessions",
                }.get(exc.field or "")
                form.add_error(field, exc.message)
            else:
                _booking_message(request, result)
                return _tab(patient.pk)
    else:
        clinic = patient.preferred_clinic or workspace.clinic
        form = CourseForm(
            workspace=workspace,
            initial={
                "clinic": clinic,
                "start_on": clock.today_in(clinic.tzinfo if clinic else zoneinfo.ZoneInfo("UTC")),
                "practitioner": workspace.user
                if workspace.has_role("admin", "practitioner")
                else None,
            },
        )
    return render(
        request,
        "courses/new.html",
        {"form": form, "patient": patient},
        status=422 if form.errors else 200,
    )


@staff_view(write=True)
@require_POST
def course_book_view(request: HttpRequest, course_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    course = course_get(workspace=workspace, course_id=course_id)
    try:
        result = course_book(course=course, acting_user=workspace.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _booking_message(request, result)
    return _tab(course.patient_id)


@staff_view(write=True)
@require_POST
def course_cancel_view(request: HttpRequest, course_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    course = course_get(workspace=workspace, course_id=course_id)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("Give the reason for cancelling the course."))
    elif len(reason) > 2000:
        messages.error(request, _("The reason is too long (at most 2000 characters)."))
    else:
        try:
            course_cancel(course=course, reason=reason, acting_user=workspace.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Course cancelled; its appointments were cancelled."))
    return _tab(course.patient_id)


OFF_PROTOCOL_TEXT = {
    "early": gettext_lazy("%(days)d days before its window"),
    "late": gettext_lazy("%(days)d days after its window"),
    "interval_exceeded": gettext_lazy(
        "missed: %(days)d days past the longest interval of the protocol"
    ),
}


def off_protocol_text(code: str, days: int) -> str:
    template = OFF_PROTOCOL_TEXT.get(code)
    return str(template) % {"days": days} if template else ""


def course_tab_context(*, workspace: Workspace, patient: Patient) -> dict[str, Any]:
    """What the chart's Course tab shows: each course with its sessions and appointments.

    Three queries however many courses and sessions the patient has.
    """
    courses: list[Course] = courses_of(patient=patient)
    sessions_by_course: dict[int, list[CourseSession]] = {c.pk: [] for c in courses}
    for session in CourseSession.objects.filter(course__in=courses).order_by("course", "position"):
        sessions_by_course[session.course_id].append(session)
    active: dict[int, Appointment] = {}
    # Missed and cancelled appointments stay visible: the session's history.
    history: dict[int, list[Appointment]] = {}
    for a in (
        Appointment.objects.filter(course_session__course__in=courses)
        .select_related("practitioner", "room", "clinic")
        .order_by("starts_at")
    ):
        assert a.course_session_id is not None
        if a.status in HELD_STATUSES:
            active[a.course_session_id] = a
        else:
            a.local_start = a.starts_at.astimezone(a.clinic.tzinfo)  # type: ignore[attr-defined]
            history.setdefault(a.course_session_id, []).append(a)
    rows = []
    for course in courses:
        sessions: list[dict[str, Any]] = []
        unbooked = off = 0
        for session in sessions_by_course[course.pk]:
            appointment = active.get(session.pk)
            unbooked += appointment is None and session.status == SessionStatus.PLANNED
            off += bool(session.off_protocol)
            sessions.append(
                {
                    "session": session,
                    "appointment": appointment,
                    "local_start": appointment.starts_at.astimezone(course.clinic.tzinfo)
                    if appointment
                    else None,
                    "off_protocol": off_protocol_text(session.off_protocol, session.off_by_days),
                    "history": history.get(session.pk, []),
                }
            )
        rows.append(
            {
                "course": course,
                "sessions": sessions,
                "active": course.status == CourseStatus.ACTIVE,
                "unbooked": unbooked,
                "off": off,
            }
        )
    return {"courses": rows, "can_book": workspace.can_write}
