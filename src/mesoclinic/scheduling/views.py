"""Calendar pages: the week and day views of a clinic, an appointment's page with its
actions (check in, missed, cancel, move), booking one appointment, and the schedule
settings (rooms, working hours, absences, closures).

Every time is shown in the clinic's own time zone, whatever zone the workspace's clinic
has: pages render under ``timezone.override(clinic.tzinfo)``. Every page costs a fixed
number of queries, however many appointments it shows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import ADMIN_ONLY, Workspace, request_workspace, staff_view
from mesoclinic.accounts.hours import format_week
from mesoclinic.accounts.models import Clinic, OpeningHours, User
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.selectors import patient_get
from mesoclinic.scheduling import services, settings_services
from mesoclinic.scheduling.availability import Slot, free_slots
from mesoclinic.scheduling.forms import (
    AbsenceForm,
    BookForm,
    CancelForm,
    ClosureForm,
    MoveForm,
    NoShowForm,
    RoomForm,
    WorkingHoursForm,
)
from mesoclinic.scheduling.models import (
    ACTIVE_STATUSES,
    Absence,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ClinicClosure,
    CourseSession,
    Phase,
    Room,
    WorkingHours,
)
from mesoclinic.scheduling.selectors import (
    AvailabilityLoader,
    appointment_get,
    appointment_get_for_read,
    appointment_queryset,
    appointments_between,
    clinic_get,
    move_options,
    practitioners_of,
)

ROW_MINUTES = 30
# The grid shown when neither opening hours nor appointments say otherwise.
DEFAULT_GRID = (8 * 60, 18 * 60)
WEEKDAYS = OpeningHours.Weekday

OFF_PROTOCOL_TEXT = {
    "early": gettext_lazy("before its window opens"),
    "late": gettext_lazy("after its window closes"),
    "interval_exceeded": gettext_lazy("cannot happen before its window closes"),
}

STATUS_CLASS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.NO_SHOW: "missed",
    AppointmentStatus.COMPLETED: "done",
    AppointmentStatus.CANCELLED: "cancelled",
}

# A service's field name -> the booking form's field that shows its error.
BOOK_ERROR_FIELDS = {"starts_at": "time", "practitioner_id": "practitioner"}


# --- Shared helpers -----------------------------------------------------------------------


def _int_or_404(value: str | None) -> int | None:
    """An id from the query string: None when absent, 404 when it is not a number."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not an id")
    return int(value)


def _parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    # Far dates overflow when turned into datetimes in a time zone.
    return day if dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31) else None


def _chosen_clinic(workspace: Workspace, data: QueryDict) -> Clinic | None:
    """``clinic`` from the query or form (one of the organisation's active clinics, else
    404), or the workspace's current clinic."""
    clinic_id = _int_or_404(data.get("clinic"))
    if clinic_id is not None:
        return clinic_get(workspace=workspace, clinic_id=clinic_id)
    return workspace.clinic


def _day_start(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def _wall_minutes(moment: dt.datetime) -> int:
    return moment.hour * 60 + moment.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _when(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """The moment as "Mon 7 Dec 2026, 10:00" in the clinic's zone."""
    local = moment.astimezone(tz)
    return f"{formats.date_format(local, 'D j M Y')}, {local:%H:%M}"


def session_label(appointment: Appointment) -> str:
    """What the visit is: "Session 3 of 8", "Maintenance 1 of 3", "Review visit 1", or the
    appointment type's name for a visit outside a course."""
    session = appointment.course_session
    if session is None:
        return appointment.appointment_type.name
    course = session.course
    if session.phase == Phase.INDUCTION:
        return _("Session %(n)d of %(total)d") % {
            "n": session.number_in_phase,
            "total": course.induction_sessions,
        }
    if session.phase == Phase.MAINTENANCE:
        return _("Maintenance %(n)d of %(total)d") % {
            "n": session.number_in_phase,
            "total": course.protocol_version.maintenance_sessions,
        }
    return _("Review visit %(n)d") % {"n": session.number_in_phase}


def off_protocol_text(session: CourseSession | None) -> str:
    """Why a session is off protocol, for people ("" when it is on protocol)."""
    if session is None or not session.off_protocol:
        return ""
    reason = OFF_PROTOCOL_TEXT.get(session.off_protocol, session.off_protocol)
    return ngettext(
        "Off protocol: %(reason)s (%(days)d day)",
        "Off protocol: %(reason)s (%(days)d days)",
        session.off_by_days,
    ) % {"reason": reason, "days": session.off_by_days}


# --- The calendar -------------------------------------------------------------------------


@dataclass
class Placed:
    """One appointment in a column of the grid, in minutes from the grid's first row."""

    appointment: Appointment
    start: dt.datetime
    end: dt.datetime
    top: int
    height: int
    label: str
    off_protocol: str
    status_class: str
    lane: int = 0
    lanes: int = 1

    @property
    def compact(self) -> bool:
        # Under 25 minutes there is room for one line only.
        return self.height < 25


@dataclass
class Band:
    """A shaded stretch of a column (open hours, an absence), in minutes from the top."""

    top: int
    height: int
    label: str = ""


@dataclass
class Column:
    key: str
    title: str
    day: dt.date
    is_today: bool = False
    href: str = ""
    closure: str | None = None
    open_bands: list[Band] = field(default_factory=list)
    absences: list[Band] = field(default_factory=list)
    items: list[Placed] = field(default_factory=list)


def _assign_lanes(items: list[Placed]) -> None:
    """Side by side for overlapping appointments: each group of overlapping items shares
    the column's width in as few lanes as fit them."""
    items.sort(key=lambda p: (p.top, -p.height, p.appointment.pk))
    group: list[Placed] = []
    lane_ends: list[int] = []
    group_end = -1

    def close_group() -> None:
        for member in group:
            member.lanes = max(len(lane_ends), 1)

    for item in items:
        if group and item.top >= group_end:
            close_group()
            group, lane_ends = [], []
        end = item.top + item.height
        for index, lane_end in enumerate(lane_ends):
            if lane_end <= item.top:
                item.lane, lane_ends[index] = index, end
                break
        else:
            item.lane = len(lane_ends)
            lane_ends.append(end)
        group.append(item)
        group_end = max(group_end, end)
    close_group()


def _intersect(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    result = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if lo < hi:
                result.append((lo, hi))
    return sorted(result)


def _minutes(rows: Iterable[tuple[dt.time, dt.time]]) -> list[tuple[int, int]]:
    return sorted((o.hour * 60 + o.minute, (c.hour * 60 + c.minute) or 24 * 60) for o, c in rows)


@dataclass
class CalendarData:
    view: str
    day: dt.date
    days: list[dt.date]
    clinic: Clinic
    practitioner: User | None
    columns: list[Column]
    rows: list[tuple[int, str, bool]]
    grid_start: int
    grid_minutes: int
    cancelled: list[Placed]
    today: dt.date


def _calendar(
    *,
    workspace: Workspace,
    clinic: Clinic,
    practitioner: User | None,
    view: str,
    day: dt.date,
    practitioners: Sequence[User],
) -> CalendarData:
    tz = clinic.tzinfo
    today = clock.today_in(tz)
    if view == "week":
        monday = day - dt.timedelta(days=day.weekday())
        days = [monday + dt.timedelta(days=n) for n in range(7)]
    else:
        days = [day]
    starts, ends = _day_start(days[0], tz), _day_start(days[-1] + dt.timedelta(days=1), tz)
    organisation = workspace.organisation

    appointments = list(
        appointments_between(
            organisation=organisation,
            starts=starts,
            ends=ends,
            clinic=clinic,
            practitioner=practitioner,
        )
    )
    opening: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for row in clinic.opening_hours.all():
        opening[row.weekday].append((row.opens_at, row.closes_at))
    closures = list(
        ClinicClosure.objects.filter(
            clinic=clinic, starts_on__lte=days[-1], ends_on__gte=days[0]
        ).order_by("starts_on")
    )
    absence_rows = Absence.objects.filter(
        organisation=organisation, starts_at__lt=ends, ends_at__gt=starts
    ).select_related("practitioner")
    hours_rows = WorkingHours.objects.filter(clinic=clinic)
    if practitioner is not None:
        absence_rows = absence_rows.filter(practitioner=practitioner)
        hours_rows = hours_rows.filter(practitioner=practitioner)
    working: dict[tuple[int, int], list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for w in hours_rows:
        working[(w.practitioner_id, w.weekday)].append((w.starts_at, w.ends_at))
    # Only the absences of people who work here or have appointments here this week.
    here = {person for person, _day in working} | {a.practitioner_id for a in appointments}
    absences = [a for a in absence_rows.order_by("starts_at") if a.practitioner_id in here]

    def closure_on(d: dt.date) -> str | None:
        for c in closures:
            if c.starts_on <= d <= c.ends_on:
                return c.reason or _("Clinic closed")
        return None

    # Place every appointment by its local start; cancelled ones are listed apart.
    placed: list[tuple[Placed, dt.date, int]] = []
    cancelled: list[Placed] = []
    for appointment in appointments:
        local_start = appointment.starts_at.astimezone(tz)
        local_end = appointment.ends_at.astimezone(tz)
        item = Placed(
            appointment=appointment,
            start=local_start,
            end=local_end,
            top=_wall_minutes(local_start),
            height=max(int(appointment.duration.total_seconds() // 60), 1),
            label=session_label(appointment),
            off_protocol=off_protocol_text(appointment.course_session),
            status_class=STATUS_CLASS.get(AppointmentStatus(appointment.status), ""),
        )
        if appointment.status == AppointmentStatus.CANCELLED:
            cancelled.append(item)
        else:
            placed.append((item, local_start.date(), appointment.practitioner_id))

    # Columns: days (week) or practitioners (day).
    columns: list[Column] = []
    open_minutes: dict[str, list[tuple[int, int]]] = {}
    if view == "week":
        busy_days = {d for _item, d, _p in placed}
        for d in days:
            if not opening.get(d.weekday()) and d not in busy_days:
                continue
            column = Column(
                key=d.isoformat(),
                title=formats.date_format(d, "D j M"),
                day=d,
                is_today=d == today,
                closure=closure_on(d),
            )
            spans = _minutes(opening.get(d.weekday(), []))
            if practitioner is not None:
                spans = _intersect(spans, _minutes(working.get((practitioner.pk, d.weekday()), [])))
            open_minutes[column.key] = spans
            columns.append(column)
    else:
        weekday = day.weekday()
        chosen = [practitioner] if practitioner is not None else list(practitioners)
        with_appointments = {p for _item, _d, p in placed}
        for person in chosen:
            hours = working.get((person.pk, weekday), [])
            if practitioner is None and not hours and person.pk not in with_appointments:
                continue
            column = Column(
                key=str(person.pk),
                title=person.full_name or person.email,
                day=day,
                is_today=day == today,
                closure=closure_on(day),
            )
            open_minutes[column.key] = _intersect(
                _minutes(opening.get(weekday, [])), _minutes(hours)
            )
            columns.append(column)
    by_key = {c.key: c for c in columns}
    for item, d, person_id in placed:
        key = d.isoformat() if view == "week" else str(person_id)
        if key in by_key:
            by_key[key].items.append(item)

    # The grid: from the earliest opening or appointment to the latest, in 30-minute rows.
    lows = [s for spans in open_minutes.values() for s, _e in spans]
    highs = [e for spans in open_minutes.values() for _s, e in spans]
    for column in columns:
        for item in column.items:
            lows.append(item.top)
            highs.append(min(item.top + item.height, 24 * 60))
    low, high = (min(lows), max(highs)) if lows else DEFAULT_GRID
    grid_start = low // ROW_MINUTES * ROW_MINUTES
    grid_end = max(-(-high // ROW_MINUTES) * ROW_MINUTES, grid_start + ROW_MINUTES)
    grid_minutes = grid_end - grid_start

    for column in columns:
        column.open_bands = [
            Band(top=s - grid_start, height=e - s) for s, e in open_minutes.get(column.key, [])
        ]
        day_start = _day_start(column.day, tz)
        day_end = _day_start(column.day + dt.timedelta(days=1), tz)
        for absence in absences:
            if view == "day" and str(absence.practitioner_id) != column.key:
                continue
            a_start, a_end = max(absence.starts_at, day_start), min(absence.ends_at, day_end)
            if a_start >= a_end:
                continue
            top = (_wall_minutes(a_start.astimezone(tz)) if a_start > day_start else 0) - grid_start
            bottom = (
                _wall_minutes(a_end.astimezone(tz)) if a_end < day_end else 24 * 60
            ) - grid_start
            top, bottom = max(top, 0), min(bottom, grid_minutes)
            if bottom <= top:
                continue
            who = absence.practitioner.full_name
            label = (
                _("%(who)s away: %(reason)s") % {"who": who, "reason": absence.reason}
                if absence.reason
                else _("%(who)s away") % {"who": who}
            )
            column.absences.append(Band(top=top, height=bottom - top, label=label))
        for item in column.items:
            item.top -= grid_start
            item.height = max(min(item.height, grid_minutes - item.top), 1)
        _assign_lanes(column.items)

    rows = [
        (m - grid_start, _hhmm(m), m % 60 == 0) for m in range(grid_start, grid_end, ROW_MINUTES)
    ]
    return CalendarData(
        view=view,
        day=day,
        days=days,
        clinic=clinic,
        practitioner=practitioner,
        columns=columns,
        rows=rows,
        grid_start=grid_start,
        grid_minutes=grid_minutes,
        cancelled=cancelled,
        today=today,
    )


def _chart_context(
    appointment: Appointment, *, workspace: Workspace, today: dt.date, local_day: dt.date
) -> dict[str, Any]:
    """The appointment's session chart, and whether one can be opened now (by a clinician,
    from the appointment's day on, while it is booked or checked in)."""
    from mesoclinic.accounts.access import CLINICIANS
    from mesoclinic.protocols.selectors import offered_versions
    from mesoclinic.treatments.selectors import current_session_of

    chart = current_session_of(appointment_id=appointment.pk)
    can_chart = (
        chart is None
        and workspace.can_write
        and workspace.has_role(*CLINICIANS)
        and appointment.status in ACTIVE_STATUSES
        and local_day <= today
    )
    versions = []
    if can_chart and appointment.course_session_id is None:
        versions = list(offered_versions(workspace.organisation))
    return {"chart": chart, "can_chart": can_chart, "chart_versions": versions}


def _calendar_url(**params: Any) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return reverse("calendar") + ("?" + urlencode(query) if query else "")


@staff_view()
@require_GET
def calendar_view(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _chosen_clinic(workspace, request.GET)
    view = "day" if request.GET.get("view") == "day" else "week"
    practitioners = practitioners_of(organisation=workspace.organisation)
    practitioner_id = _int_or_404(request.GET.get("practitioner"))
    practitioner = None
    if practitioner_id is not None:
        practitioner = next((p for p in practitioners if p.pk == practitioner_id), None)
        if practitioner is None:
            raise Http404("No such practitioner")
    if clinic is None:
        return render(request, "scheduling/calendar.html", {"data": None})
    tz = clinic.tzinfo
    today = clock.today_in(tz)
    day = _parse_date(request.GET.get("date")) or today
    data = _calendar(
        workspace=workspace,
        clinic=clinic,
        practitioner=practitioner,
        view=view,
        day=day,
        practitioners=practitioners,
    )
    # Links keep the clinic when it is not the workspace's, and the practitioner.
    keep: dict[str, Any] = {
        "clinic": clinic.pk if clinic != workspace.clinic else None,
        "practitioner": practitioner.pk if practitioner else None,
    }
    step = dt.timedelta(days=7 if view == "week" else 1)
    for column in data.columns:
        if view == "week":
            column.href = _calendar_url(view="day", date=column.day.isoformat(), **keep)
    context = {
        "data": data,
        "practitioners": practitioners,
        "clinics": workspace.clinics,
        "is_week": view == "week",
        "show_today": today not in data.days,
        "prev_url": _calendar_url(view=view, date=(day - step).isoformat(), **keep),
        "next_url": _calendar_url(view=view, date=(day + step).isoformat(), **keep),
        "today_url": _calendar_url(view=view, **keep),
        "week_url": _calendar_url(view="week", date=day.isoformat(), **keep),
        "day_url": _calendar_url(view="day", date=day.isoformat(), **keep),
        "can_book": workspace.can_write,
    }
    with timezone.override(tz):
        return render(request, "scheduling/calendar.html", context)


# --- The appointment page -----------------------------------------------------------------


def _slot_groups(
    options: Iterable[tuple[dt.date, Sequence[Slot]]], now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> list[tuple[dt.date, list[dt.datetime]]]:
    """Free starts grouped by day, in the clinic's zone, without those already past."""
    groups = []
    for day, slots in options:
        starts = [s.starts_at.astimezone(tz) for s in slots if s.starts_at >= now]
        if starts:
            groups.append((day, starts))
    return groups


def _move_slots_context(appointment: Appointment, practitioner: User) -> dict[str, Any]:
    tz = appointment.clinic.tzinfo
    today = clock.today_in(tz)
    options = move_options(
        appointment=appointment,
        practitioner=practitioner,
        today=today,
        step_minutes=settings.BOOKING_STEP_MINUTES,
    )
    current = appointment.starts_at.astimezone(tz)
    return {
        "appointment": appointment,
        "slot_practitioner": practitioner,
        "groups": _slot_groups(options, clock.now(), tz),
        "current_start": current if practitioner.pk == appointment.practitioner_id else None,
    }


def _appointment_page(
    request: HttpRequest,
    workspace: Workspace,
    appointment: Appointment,
    *,
    cancel_form: CancelForm | None = None,
    no_show_form: NoShowForm | None = None,
    action_error: str = "",
    move_error: str = "",
    status: int = 200,
) -> HttpResponse:
    tz = appointment.clinic.tzinfo
    today = clock.today_in(tz)
    local_start = appointment.starts_at.astimezone(tz)
    is_booked = appointment.status == AppointmentStatus.BOOKED
    can_write = workspace.can_write
    session = appointment.course_session
    chart = _chart_context(
        appointment, workspace=workspace, today=today, local_day=local_start.date()
    )
    # A visit whose chart is open happened (or is happening): not moved, not missed.
    charted = chart["chart"] is not None
    context: dict[str, Any] = {
        **chart,
        "appointment": appointment,
        "session": session,
        "course": session.course if session else None,
        "label": session_label(appointment),
        "off_protocol": off_protocol_text(session),
        "status_class": STATUS_CLASS.get(AppointmentStatus(appointment.status), ""),
        "local_start": local_start,
        "local_end": appointment.ends_at.astimezone(tz),
        "calendar_url": _calendar_url(
            view="day",
            date=local_start.date().isoformat(),
            clinic=appointment.clinic_id
            if appointment.clinic_id != getattr(workspace.clinic, "pk", None)
            else None,
        ),
        "can_check_in": can_write and is_booked and local_start.date() == today,
        "can_no_show": can_write and is_booked and today >= local_start.date() and not charted,
        # A checked-in patient who was not treated is cancelled too (the draft is discarded).
        "can_cancel": can_write and appointment.status in ACTIVE_STATUSES,
        "can_move": can_write and is_booked and not charted,
        "cancel_form": cancel_form or CancelForm(),
        "no_show_form": no_show_form or NoShowForm(),
        "action_error": action_error,
        "move_error": move_error,
        "now_booked_as": None,
    }
    if session is not None and not appointment.is_active:
        context["now_booked_as"] = (
            appointment_queryset(organisation=workspace.organisation)
            .filter(course_session=session, status__in=ACTIVE_STATUSES)
            .first()
        )
    if context["can_move"]:
        practitioners = practitioners_of(organisation=workspace.organisation)
        chosen_id = _int_or_404(request.GET.get("practitioner"))
        chosen = next((p for p in practitioners if p.pk == chosen_id), None)
        context["practitioners"] = practitioners
        context["move_practitioner_id"] = chosen.pk if chosen else appointment.practitioner_id
        if chosen is not None:
            # Without JavaScript the page lists the free times itself (?practitioner=).
            context.update(_move_slots_context(appointment, chosen))
            context["slots_inline"] = True
    with timezone.override(tz):
        return render(request, "scheduling/appointment.html", context, status=status)


@staff_view()
@require_GET
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    appointment = appointment_get_for_read(workspace=workspace, appointment_id=appointment_id)
    return _appointment_page(request, workspace, appointment)


@staff_view(write=True)
@require_GET
def appointment_slots(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """The free start times to move the appointment to (an htmx fragment)."""
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    practitioners = practitioners_of(organisation=workspace.organisation)
    chosen_id = _int_or_404(request.GET.get("practitioner")) or appointment.practitioner_id
    practitioner = next((p for p in practitioners if p.pk == chosen_id), None)
    if practitioner is None:
        raise Http404("No such practitioner")
    tz = appointment.clinic.tzinfo
    if appointment.status != AppointmentStatus.BOOKED:
        context: dict[str, Any] = {"appointment": appointment, "not_movable": True}
    else:
        context = _move_slots_context(appointment, practitioner)
    with timezone.override(tz):
        return render(request, "scheduling/_move_slots.html", context)


def _after_release(
    request: HttpRequest, appointment: Appointment, result: services.BookingResult | None
) -> None:
    """Say what happened to the course after a missed or cancelled session."""
    if result is None or appointment.course_session_id is None:
        return
    tz = appointment.clinic.tzinfo
    rebooked = next(
        (a for a in result.booked if a.course_session_id == appointment.course_session_id), None
    )
    if rebooked is not None:
        messages.success(
            request,
            _("The session is re-booked for %(when)s with %(who)s.")
            % {"when": _when(rebooked.starts_at, tz), "who": rebooked.practitioner.full_name},
        )
    elif any(s.pk == appointment.course_session_id for s in result.unplaced):
        messages.warning(
            request,
            _(
                "No free time was found inside the session's window: book it by hand "
                "(see the patient's course)."
            ),
        )
    if result.moved:
        messages.info(
            request,
            ngettext(
                "%(n)d later appointment moved to stay inside its window.",
                "%(n)d later appointments moved to stay inside their windows.",
                len(result.moved),
            )
            % {"n": len(result.moved)},
        )


@staff_view(write=True)
@require_POST
def appointment_check_in_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    try:
        services.appointment_check_in(appointment=appointment, acting_user=workspace.user)
    except DomainError as exc:
        appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
        return _appointment_page(
            request, workspace, appointment, action_error=exc.message, status=exc.status
        )
    messages.success(
        request, _("%(name)s is checked in.") % {"name": appointment.patient.full_name}
    )
    return redirect("appointment_detail", appointment_id=appointment_id)


@staff_view(write=True)
@require_POST
def appointment_no_show_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    form = NoShowForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    try:
        result = services.appointment_no_show(
            appointment=appointment,
            acting_user=workspace.user,
            rebook=bool(form.cleaned_data.get("rebook")),
        )
    except DomainError as exc:
        appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
        return _appointment_page(
            request,
            workspace,
            appointment,
            no_show_form=form,
            action_error=exc.message,
            status=exc.status,
        )
    messages.success(request, _("Marked as missed (no-show)."))
    _after_release(request, appointment, result)
    return redirect("appointment_detail", appointment_id=appointment_id)


@staff_view(write=True)
@require_POST
def appointment_cancel_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _appointment_page(request, workspace, appointment, cancel_form=form, status=422)
    try:
        result = services.appointment_cancel(
            appointment=appointment,
            reason=form.cleaned_data["reason"],
            rebook=form.cleaned_data["rebook"],
            acting_user=workspace.user,
        )
    except DomainError as exc:
        appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
        return _appointment_page(
            request,
            workspace,
            appointment,
            cancel_form=form,
            action_error=exc.message,
            status=exc.status,
        )
    messages.success(request, _("Appointment cancelled."))
    _after_release(request, appointment, result)
    return redirect("appointment_detail", appointment_id=appointment_id)


@staff_view(write=True)
@require_POST
def appointment_move_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    practitioners = practitioners_of(organisation=workspace.organisation)
    form = MoveForm(request.POST, practitioners=practitioners)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _appointment_page(
            request, workspace, appointment, move_error=" ".join(problems), status=422
        )
    practitioner = form.chosen_practitioner()
    try:
        services.appointment_move(
            appointment=appointment,
            starts_at=form.cleaned_data["starts_at"],
            practitioner=practitioner,
            acting_user=workspace.user,
        )
    except DomainError as exc:
        appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
        return _appointment_page(
            request, workspace, appointment, move_error=exc.message, status=exc.status
        )
    messages.success(
        request,
        _("Moved to %(when)s with %(who)s.")
        % {
            "when": _when(form.cleaned_data["starts_at"], appointment.clinic.tzinfo),
            "who": practitioner.full_name,
        },
    )
    return redirect("appointment_detail", appointment_id=appointment_id)


# --- Booking one appointment --------------------------------------------------------------


def _types(workspace: Workspace) -> Any:
    return AppointmentType.objects.filter(
        organisation=workspace.organisation, is_active=True
    ).order_by("name")


def _free_times(
    *,
    clinic: Clinic,
    practitioner: User,
    patient: Any,
    day: dt.date,
    minutes: int,
) -> list[dt.datetime]:
    loader = AvailabilityLoader(
        clinic=clinic,
        practitioner=practitioner,
        patient=patient,
        step_minutes=settings.BOOKING_STEP_MINUTES,
    )
    loader.load(day, day)
    slots = free_slots(loader.rules_for(day), day, dt.timedelta(minutes=minutes))
    now = clock.now()
    return [s.starts_at.astimezone(clinic.tzinfo) for s in slots if s.starts_at >= now]


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def appointment_book_view(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    data = request.POST if request.method == "POST" else request.GET
    patient_id = _int_or_404(data.get("patient"))
    clinic = _chosen_clinic(workspace, data)
    if patient_id is None or clinic is None:
        return render(request, "scheduling/book.html", {"patient": None, "clinic": clinic})
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    if not data.get("clinic") and patient.preferred_clinic in workspace.clinics:
        # By default the patient's own clinic, else the one the user works at.
        clinic = patient.preferred_clinic
    assert clinic is not None
    tz = clinic.tzinfo
    today = clock.today_in(tz)
    practitioners = practitioners_of(organisation=workspace.organisation)
    kwargs = {"practitioners": practitioners, "types": _types(workspace), "tz": tz, "today": today}
    status = 200
    if request.method == "POST":
        form = BookForm(request.POST, **kwargs)
        status = 422
        if form.is_valid():
            try:
                appointment = services.appointment_book(
                    patient=patient,
                    clinic=clinic,
                    practitioner=form.chosen_practitioner(),
                    appointment_type=form.cleaned_data["appointment_type"],
                    starts_at=form.cleaned_data["starts_at"],
                    notes=form.cleaned_data["notes"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                form.add_error(BOOK_ERROR_FIELDS.get(exc.field or ""), exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("%(type)s booked for %(name)s on %(when)s.")
                    % {
                        "type": appointment.appointment_type.name,
                        "name": patient.full_name,
                        "when": _when(appointment.starts_at, tz),
                    },
                )
                return redirect("appointment_detail", appointment_id=appointment.pk)
    else:
        initial: dict[str, Any] = {"date": _parse_date(request.GET.get("date")) or today}
        chosen = _int_or_404(request.GET.get("practitioner"))
        if chosen is None and workspace.user in practitioners:
            chosen = workspace.user.pk
        if chosen is not None:
            initial["practitioner"] = chosen
        form = BookForm(initial=initial, **kwargs)
    context = {
        "form": form,
        "patient": patient,
        "clinic": clinic,
        "clinics": workspace.clinics,
    }
    with timezone.override(tz):
        return render(request, "scheduling/book.html", context, status=status)


@staff_view(write=True)
@require_GET
def appointment_book_slots(request: HttpRequest) -> HttpResponse:
    """Free start times for a booking (an htmx fragment of the booking form)."""
    workspace = request_workspace(request)
    patient_id = _int_or_404(request.GET.get("patient"))
    clinic = _chosen_clinic(workspace, request.GET)
    if patient_id is None or clinic is None:
        raise Http404("No patient")
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    practitioners = practitioners_of(organisation=workspace.organisation)
    practitioner_id = _int_or_404(request.GET.get("practitioner"))
    practitioner = next((p for p in practitioners if p.pk == practitioner_id), None)
    type_id = _int_or_404(request.GET.get("appointment_type"))
    appointment_type = _types(workspace).filter(pk=type_id).first() if type_id else None
    tz = clinic.tzinfo
    day = _parse_date(request.GET.get("date"))
    context: dict[str, Any] = {"day": day, "times": None}
    if practitioner is None or appointment_type is None or day is None:
        context["hint"] = _("Choose a practitioner, a type and a day to see the free times.")
    elif day < clock.today_in(tz):
        context["hint"] = _("This day is in the past; choose today or later.")
    else:
        context["times"] = _free_times(
            clinic=clinic,
            practitioner=practitioner,
            patient=patient,
            day=day,
            minutes=appointment_type.duration_minutes,
        )
        context["practitioner"] = practitioner
    with timezone.override(tz):
        return render(request, "scheduling/_book_slots.html", context)


# --- Schedule settings --------------------------------------------------------------------


def _settings_url(clinic: Clinic, anchor: str = "") -> str:
    return reverse("schedule_settings") + "?" + urlencode({"clinic": clinic.pk}) + anchor


def _week_of_hours(
    practitioners: Sequence[User], rows: Sequence[WorkingHours]
) -> list[tuple[User, list[tuple[str, list[WorkingHours]]]]]:
    by_person: dict[int, dict[int, list[WorkingHours]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_person[row.practitioner_id][row.weekday].append(row)
    return [
        (person, [(str(label), by_person[person.pk][day]) for day, label in WEEKDAYS.choices])
        for person in practitioners
    ]


def _settings_page(
    request: HttpRequest,
    workspace: Workspace,
    clinic: Clinic | None,
    forms_given: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    if clinic is None:
        return render(request, "scheduling/settings.html", {"clinic": None})
    tz = clinic.tzinfo
    now = clock.now()
    today = clock.today_in(tz)
    organisation = workspace.organisation
    practitioners = practitioners_of(organisation=organisation)
    rooms = list(Room.objects.filter(clinic=clinic).order_by("-is_active", "name"))
    hours = list(
        WorkingHours.objects.filter(clinic=clinic).order_by("practitioner", "weekday", "starts_at")
    )
    absences = list(
        Absence.objects.filter(organisation=organisation, ends_at__gt=now)
        .select_related("practitioner")
        .order_by("starts_at", "pk")
    )
    closures = list(
        ClinicClosure.objects.filter(clinic=clinic, ends_on__gte=today).order_by("starts_on")
    )
    given = dict(forms_given or {})
    week = format_week(h.as_interval() for h in clinic.opening_hours.all())
    context = {
        "clinic": clinic,
        "clinics": workspace.clinics,
        "opening": [(label, week[day]) for day, label in WEEKDAYS.choices],
        "rooms": rooms,
        "hours_by_person": _week_of_hours(practitioners, hours),
        "weekday_labels": WEEKDAYS.choices,
        "absences": absences,
        "closures": closures,
        "room_form": given.get("room") or RoomForm(rooms=rooms),
        "hours_form": given.get("hours")
        or WorkingHoursForm(practitioners=practitioners, existing=hours),
        "absence_form": given.get("absence") or AbsenceForm(practitioners=practitioners, now=now),
        "closure_form": given.get("closure") or ClosureForm(today=today),
    }
    with timezone.override(tz):
        return render(request, "scheduling/settings.html", context, status=status)


@staff_view(roles=ADMIN_ONLY)
@require_GET
def schedule_settings(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    return _settings_page(request, workspace, _chosen_clinic(workspace, request.GET))


def _posted_clinic(workspace: Workspace, request: HttpRequest) -> Clinic:
    clinic = _chosen_clinic(workspace, request.POST)
    if clinic is None:
        raise Http404("No clinic")
    return clinic


def _org_row(model: Any, workspace: Workspace, pk: int) -> Any:
    row = model.objects.filter(organisation=workspace.organisation, pk=pk).first()
    if row is None:
        raise Http404("Not found")
    return row


def _clinic_of(workspace: Workspace, clinic_id: int) -> Clinic:
    return clinic_get(workspace=workspace, clinic_id=clinic_id)


def _booked_in(
    workspace: Workspace,
    starts: dt.datetime,
    ends: dt.datetime,
    *,
    clinic: Clinic | None = None,
    practitioner: User | None = None,
) -> int:
    return appointments_between(
        organisation=workspace.organisation,
        starts=starts,
        ends=ends,
        clinic=clinic,
        practitioner=practitioner,
        include_inactive=False,
    ).count()


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_room_add(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _posted_clinic(workspace, request)
    form = RoomForm(request.POST, rooms=list(Room.objects.filter(clinic=clinic)))
    if form.is_valid():
        try:
            settings_services.room_create(
                clinic=clinic, name=form.cleaned_data["name"], acting_user=workspace.user
            )
        except DomainError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, _("Room %(name)s added.") % form.cleaned_data)
            return redirect(_settings_url(clinic, "#rooms"))
    return _settings_page(request, workspace, clinic, {"room": form}, status=422)


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_room_deactivate(request: HttpRequest, room_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    room = _org_row(Room, workspace, room_id)
    clinic = _clinic_of(workspace, room.clinic_id)
    settings_services.room_deactivate(room=room, acting_user=workspace.user)
    messages.success(
        request,
        _("%(name)s is out of use: new bookings do not get it.") % {"name": room.name},
    )
    return redirect(_settings_url(clinic, "#rooms"))


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_room_reactivate(request: HttpRequest, room_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    room = _org_row(Room, workspace, room_id)
    clinic = _clinic_of(workspace, room.clinic_id)
    settings_services.room_reactivate(room=room, acting_user=workspace.user)
    messages.success(request, _("%(name)s is in use again.") % {"name": room.name})
    return redirect(_settings_url(clinic, "#rooms"))


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_hours_add(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _posted_clinic(workspace, request)
    form = WorkingHoursForm(
        request.POST,
        practitioners=practitioners_of(organisation=workspace.organisation),
        existing=list(WorkingHours.objects.filter(clinic=clinic)),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            settings_services.working_hours_create(
                clinic=clinic,
                practitioner=form.chosen_practitioner(),
                weekday=data["weekday"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                acting_user=workspace.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Working hours added: %(who)s, %(day)s %(start)s–%(end)s.")
                % {
                    "who": form.chosen_practitioner().full_name,
                    "day": WEEKDAYS(data["weekday"]).label,
                    "start": f"{data['starts_at']:%H:%M}",
                    "end": f"{data['ends_at']:%H:%M}",
                },
            )
            return redirect(_settings_url(clinic, "#hours"))
    return _settings_page(request, workspace, clinic, {"hours": form}, status=422)


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_hours_remove(request: HttpRequest, hours_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    row = _org_row(WorkingHours, workspace, hours_id)
    clinic = _clinic_of(workspace, row.clinic_id)
    text = f"{row.get_weekday_display()} {row.starts_at:%H:%M}–{row.ends_at:%H:%M}"
    settings_services.working_hours_delete(row=row, acting_user=workspace.user)
    messages.success(
        request,
        _("Working hours removed: %(hours)s. Appointments already booked stay booked.")
        % {"hours": text},
    )
    return redirect(_settings_url(clinic, "#hours"))


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_absence_add(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _posted_clinic(workspace, request)
    form = AbsenceForm(
        request.POST,
        practitioners=practitioners_of(organisation=workspace.organisation),
        now=clock.now(),
    )
    # The times typed are the clinic's local times.
    with timezone.override(clinic.tzinfo):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        practitioner = form.chosen_practitioner()
        try:
            settings_services.absence_create(
                organisation=workspace.organisation,
                practitioner=practitioner,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                acting_user=workspace.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Absence added for %(who)s.") % {"who": practitioner.full_name}
            )
            booked = _booked_in(
                workspace, data["starts_at"], data["ends_at"], practitioner=practitioner
            )
            if booked:
                messages.warning(
                    request,
                    ngettext(
                        "%(n)d booked appointment with %(who)s falls in this absence: "
                        "move or cancel it.",
                        "%(n)d booked appointments with %(who)s fall in this absence: "
                        "move or cancel them.",
                        booked,
                    )
                    % {"n": booked, "who": practitioner.full_name},
                )
            return redirect(_settings_url(clinic, "#absences"))
    return _settings_page(request, workspace, clinic, {"absence": form}, status=422)


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_absence_remove(request: HttpRequest, absence_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    absence = _org_row(Absence, workspace, absence_id)
    clinic = _posted_clinic(workspace, request)
    settings_services.absence_delete(absence=absence, acting_user=workspace.user)
    messages.success(request, _("Absence removed."))
    return redirect(_settings_url(clinic, "#absences"))


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_closure_add(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _posted_clinic(workspace, request)
    tz = clinic.tzinfo
    form = ClosureForm(request.POST, today=clock.today_in(tz))
    if form.is_valid():
        data = form.cleaned_data
        try:
            settings_services.clinic_closure_create(
                clinic=clinic,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
                acting_user=workspace.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Closure added."))
            booked = _booked_in(
                workspace,
                _day_start(data["starts_on"], tz),
                _day_start(data["ends_on"] + dt.timedelta(days=1), tz),
                clinic=clinic,
            )
            if booked:
                messages.warning(
                    request,
                    ngettext(
                        "%(n)d booked appointment falls on these days: move or cancel it.",
                        "%(n)d booked appointments fall on these days: move or cancel them.",
                        booked,
                    )
                    % {"n": booked},
                )
            return redirect(_settings_url(clinic, "#closures"))
    return _settings_page(request, workspace, clinic, {"closure": form}, status=422)


@staff_view(roles=ADMIN_ONLY)
@require_POST
def schedule_closure_remove(request: HttpRequest, closure_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    closure = _org_row(ClinicClosure, workspace, closure_id)
    clinic = _clinic_of(workspace, closure.clinic_id)
    settings_services.clinic_closure_delete(closure=closure, acting_user=workspace.user)
    messages.success(request, _("Closure removed."))
    return redirect(_settings_url(clinic, "#closures"))
