"""Side-effect pages: record one after a session, follow it up, close and review it, and
the safety page with the rates per product, lot, protocol, practitioner and term.

Every staff role reads; admins and practitioners write. Another organisation's id is a
404. Opening an event is a chart read (audited); the safety page and its CSV are audited
as ``safety.read``.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace, staff_view
from mesoclinic.accounts.models import Role
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.core.spreadsheet import csv_cell
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get
from mesoclinic.safety import catalogue, charts, rates, rules
from mesoclinic.safety.forms import (
    EventForm,
    FollowUpForm,
    PhotoForm,
    RatesForm,
    ResolveForm,
    ReviewForm,
)
from mesoclinic.safety.models import ActionTaken, AdverseEvent, SeriousCriterion
from mesoclinic.safety.selectors import (
    clinicians_of,
    event_get,
    event_get_for_read,
    events_of_patient,
    exposures_of,
    follow_ups_of,
    photo_get,
    photos_of,
    signed_visits_of,
    term_label,
)
from mesoclinic.safety.services import (
    adverse_event_follow_up,
    adverse_event_photo_add,
    adverse_event_photo_remove,
    adverse_event_record,
    adverse_event_resolve,
    adverse_event_review,
    adverse_event_update,
)
from mesoclinic.treatments.images import prepare_upload
from mesoclinic.treatments.views import photo_file_response

# The safety page opens on the last twelve months.
DEFAULT_PERIOD_DAYS = 365


def _grade_texts() -> dict[str, dict[str, str]]:
    """Each term's grade descriptions, for the form's script (generic where the term has
    none of its own)."""
    return {t.code: {str(g): text for g, text in t.grade_descriptions()} for t in catalogue.terms()}


def _event_form_context(form: EventForm, patient: Patient) -> dict[str, Any]:
    return {
        "form": form,
        "patient": patient,
        "grade_texts": _grade_texts(),
        "terms": catalogue.terms(),
    }


@staff_view(roles=CLINICIANS, write=True)
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    visits = signed_visits_of(patient=patient)
    tz = workspace.tzinfo
    if not visits:
        messages.error(
            request, _("This patient has no signed session yet: a side effect follows one.")
        )
        return redirect("patients:chart_tab", patient_id=patient.pk, tab="side-effects")
    initial_visit = request.GET.get("visit") or str(visits[0].appointment_id)
    form = EventForm(
        request.POST or None,
        visits=visits,
        clinicians=clinicians_of(workspace=workspace),
        tz=tz,
        initial={
            "sessions": [initial_visit],
            "onset_at": clock.now().astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = adverse_event_record(
                patient=patient,
                appointments=form.appointments(),
                data=form.event_input(),
                acting_user=workspace.user,
                responsible=form.cleaned_data.get("responsible"),
            )
        except DomainError as error:
            form.add_error(_form_field(error.field, form), error.message)
        else:
            messages.success(request, _("Side effect recorded."))
            return redirect("safety_event", event.pk)
    return render(request, "safety/event_form.html", _event_form_context(form, patient))


def _form_field(name: str | None, form: Any) -> str | None:
    return name if name in form.fields else None


@staff_view(roles=CLINICIANS, write=True)
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    event = event_get(workspace=workspace, event_id=event_id)
    tz = event.clinic.tzinfo
    visits = signed_visits_of(patient=event.patient)
    form = EventForm(
        request.POST or None,
        visits=visits,
        clinicians=clinicians_of(workspace=workspace),
        tz=tz,
        initial=EventForm.initial_for(event, tz),
    )
    if request.method == "POST" and form.is_valid():
        try:
            adverse_event_update(
                event=event,
                data=form.event_input(),
                appointments=form.appointments(),
                responsible=form.cleaned_data.get("responsible"),
                expected_updated_at=form.cleaned_data.get("version"),
                acting_user=workspace.user,
            )
        except DomainError as error:
            form.add_error(_form_field(error.field, form), error.message)
        else:
            messages.success(request, _("Side effect changed."))
            return redirect("safety_event", event.pk)
    context = _event_form_context(form, event.patient) | {"event": event}
    return render(request, "safety/event_form.html", context)


def _detail_context(workspace: Workspace, event: AdverseEvent) -> dict[str, Any]:
    term = catalogue.term(event.term)
    now = clock.now()
    tz = event.clinic.tzinfo
    overdue = rules.overdue_by(term=term, onset_at=event.onset_at, now=now)
    return {
        "event": event,
        "patient": event.patient,
        "term": term,
        "term_label": term_label(event),
        "grade_text": term.grade_description(event.grade),
        "course": _course_text(event, term),
        "serious_labels": [
            str(dict(SeriousCriterion.choices).get(c, c)) for c in event.serious_criteria
        ],
        "action_labels": [str(dict(ActionTaken.choices).get(a, a)) for a in event.actions],
        "tz": tz,
        "prolonged": event.is_open
        and rules.is_prolonged(term=term, onset_at=event.onset_at, open=True, now=now),
        "overdue_days": (overdue.total_seconds() / 86400) if overdue else None,
        "exposures": exposures_of(event),
        "follow_ups": follow_ups_of(event),
        "photos": photos_of(event),
        "can_write": workspace.can_write and workspace.has_role(*CLINICIANS),
        "follow_up_form": FollowUpForm(),
        "resolve_form": ResolveForm(initial={"resolved_on": clock.today_in(tz)}),
        "review_form": ReviewForm(),
        "photo_form": PhotoForm(),
    }


@staff_view()
@require_GET
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    event = event_get_for_read(workspace=workspace, event_id=event_id)
    return render(request, "safety/event_detail.html", _detail_context(workspace, event))


def _post_action(
    request: HttpRequest, event_id: int, form_class: type, key: str, action: Any
) -> HttpResponse:
    """Run one of the detail page's forms; errors are shown on the page, nothing saved."""
    workspace = request_workspace(request)
    event = event_get(workspace=workspace, event_id=event_id)
    form = (
        form_class(request.POST, request.FILES)
        if form_class is PhotoForm
        else form_class(request.POST)
    )
    if form.is_valid():
        try:
            message = action(workspace, event, form.cleaned_data)
        except DomainError as error:
            form.add_error(_form_field(error.field, form), error.message)
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, message)
            return redirect("safety_event", event.pk)
    context = _detail_context(workspace, event) | {key: form}
    return render(request, "safety/event_detail.html", context, status=422)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def event_follow_up(request: HttpRequest, event_id: int) -> HttpResponse:
    def act(workspace: Workspace, event: AdverseEvent, data: dict[str, Any]) -> str:
        adverse_event_follow_up(
            event=event, note=data["note"], grade=data.get("grade"), acting_user=workspace.user
        )
        return _("Follow-up added.")

    return _post_action(request, event_id, FollowUpForm, "follow_up_form", act)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def event_resolve(request: HttpRequest, event_id: int) -> HttpResponse:
    def act(workspace: Workspace, event: AdverseEvent, data: dict[str, Any]) -> str:
        adverse_event_resolve(
            event=event,
            outcome=data["outcome"],
            resolved_on=data["resolved_on"],
            sequelae=data.get("sequelae", ""),
            note=data.get("note", ""),
            acting_user=workspace.user,
        )
        return _("Side effect closed.")

    return _post_action(request, event_id, ResolveForm, "resolve_form", act)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def event_review(request: HttpRequest, event_id: int) -> HttpResponse:
    def act(workspace: Workspace, event: AdverseEvent, data: dict[str, Any]) -> str:
        adverse_event_review(event=event, note=data["note"], acting_user=workspace.user)
        return _("Review recorded: the side effect no longer blocks the next session.")

    return _post_action(request, event_id, ReviewForm, "review_form", act)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def event_photo_add(request: HttpRequest, event_id: int) -> HttpResponse:
    def act(workspace: Workspace, event: AdverseEvent, data: dict[str, Any]) -> str:
        adverse_event_photo_add(
            event=event,
            photo=prepare_upload(data["photo"], max_mb=settings.PHOTO_MAX_MB),
            caption=data.get("caption", ""),
            acting_user=workspace.user,
        )
        return _("Photo added (location and camera data removed).")

    return _post_action(request, event_id, PhotoForm, "photo_form", act)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def event_photo_remove(request: HttpRequest, photo_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    try:
        adverse_event_photo_remove(
            photo=photo, reason=request.POST.get("reason", ""), acting_user=workspace.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Photo removed."))
    return redirect("safety_event", photo.event_id)


@staff_view()
@require_GET
def event_photo_file(request: HttpRequest, photo_id: int, variant: str) -> FileResponse:
    """A photo or its thumbnail, only to staff of its organisation (never a public URL)."""
    workspace = request_workspace(request)
    return photo_file_response(
        workspace=workspace,
        photo=photo_get(workspace=workspace, photo_id=photo_id),
        variant=variant,
    )


def _course_text(event: AdverseEvent, term: catalogue.Term) -> str:
    """How the event went, in words: how long it lasted against what was expected."""
    tz = event.clinic.tzinfo
    if event.is_open:
        if event.expected_end_at is None:
            return _("Followed until closed (no expected end)")
        return _("Expected over by %(end)s") % {
            "end": event.expected_end_at.astimezone(tz).strftime("%d %b %H:%M")
        }
    assert event.resolved_on is not None
    days = (event.resolved_on - event.onset_at.astimezone(tz).date()).days
    lasted = (
        _("Over the same day")
        if days == 0
        else ngettext("Lasted %(n)d day", "Lasted %(n)d days", days) % {"n": days}
    )
    longer = event.prolonged_flagged_at is not None or (
        event.expected_end_at is not None
        and event.resolved_on > event.expected_end_at.astimezone(tz).date()
    )
    if longer:
        return _("%(lasted)s, longer than expected") % {"lasted": lasted}
    return lasted


def side_effects_tab_context(*, patient: Patient) -> dict[str, Any]:
    """The chart's Side effects tab (its read is the chart's, audited there)."""
    now = clock.now()
    events = events_of_patient(patient=patient)
    rows = []
    for event in events:
        term = catalogue.term(event.term)
        rows.append(
            {
                "event": event,
                "label": term_label(event),
                "grade_text": term.grade_description(event.grade),
                "prolonged": rules.is_prolonged(
                    term=term, onset_at=event.onset_at, open=event.is_open, now=now
                ),
                "course": _course_text(event, term),
            }
        )
    return {"side_effects": rows}


# --- The safety page --------------------------------------------------------------------------


def _rates_query(request: HttpRequest, workspace: Workspace) -> tuple[RatesForm, Any]:
    today = clock.today_in(workspace.tzinfo)
    clinics = workspace.organisation.clinics.filter(is_active=True).order_by("name")
    data = request.GET.copy()
    data.setdefault("start", (today - dt.timedelta(days=DEFAULT_PERIOD_DAYS)).isoformat())
    data.setdefault("end", today.isoformat())
    form = RatesForm(data, clinics=clinics)
    if not form.is_valid():
        return form, None
    d = form.cleaned_data
    return form, rates.RatesQuery(
        start=d["start"], end=d["end"], clinic=d.get("clinic"), related_only=d["related_only"]
    )


SAFETY_READERS = (Role.ADMIN, Role.PRACTITIONER, Role.AUDITOR)


def _forest(table: list[rates.RateRow], title: str, reference: float | None) -> str:
    rows = [
        charts.ForestRow(
            label=f"{row.group} · {row.label}" if row.group else row.label,
            events=row.rate.events,
            sessions=row.rate.sessions,
            estimate_per_100=row.rate.per_100,
            low_per_100=row.rate.wilson.per_100()[0] if row.rate.wilson else None,
            high_per_100=row.rate.wilson.per_100()[1] if row.rate.wilson else None,
            highlight=row.highlight,
        )
        for row in table
    ]
    return charts.forest_plot(rows, title=title, reference_per_100=reference)


@staff_view(roles=SAFETY_READERS)
@require_GET
def safety_home(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    form, query = _rates_query(request, workspace)
    report = None
    sections = []
    if query is not None:
        report = rates.safety_rates_read(workspace=workspace, query=query, channel="page")
        titles = {
            "product": _("By product"),
            "lot": _("By lot"),
            "protocol": _("By protocol"),
            "practitioner": _("By practitioner"),
            "term": _("By side effect"),
        }
        columns = {
            "product": _("Product"),
            "lot": _("Lot"),
            "protocol": _("Protocol"),
            "practitioner": _("Practitioner"),
            "term": _("Side effect"),
        }
        for key, _label, table in report.tables():
            sections.append(
                {
                    "key": key,
                    "title": titles[key],
                    "column": columns[key],
                    "rows": table,
                    "chart": mark_safe(  # noqa: S308 - charts.forest_plot escapes every label
                        _forest(
                            table,
                            str(titles[key]),
                            # Each term's rate is a part of the clinic's, not comparable.
                            None if key == "term" else report.overall.per_100,
                        )
                    ),
                }
            )
    return render(
        request,
        "safety/home.html",
        {
            "form": form,
            "report": report,
            "sections": sections,
            "alpha": rates.ALPHA,
            "query_string": request.GET.urlencode(),
        },
    )


@staff_view(roles=SAFETY_READERS)
@require_GET
def safety_csv(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    form, query = _rates_query(request, workspace)
    if query is None:
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    report = rates.safety_rates_read(workspace=workspace, query=query, channel="csv")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="side-effect-rates-{query.start}-{query.end}.csv"'
    )
    writer = csv.writer(response)
    for row in rates.csv_rows(report):
        writer.writerow([csv_cell(v) for v in row])
    return response
