"""Outcome pages: record and correct a visit's measurements, its standardized photos (with
the analysis of a close-up), the patient's progress with the photo comparison, the PDF
progress report, and the cohort page.

Every staff role reads a patient's outcomes; admins and practitioners write. The cohort
page is for admins, practitioners and auditors (as the safety page). Another
organisation's id is a 404. Opening a visit, the progress page, a comparison or the report
is audited as a read of the chart; the cohort page and its CSV as ``outcomes.cohort_read``.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace, staff_view
from mesoclinic.accounts.models import Role, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError
from mesoclinic.core.pdf import html_to_pdf, pdf_response
from mesoclinic.core.spreadsheet import csv_cell, csv_line
from mesoclinic.outcomes import charts, cohort, measures, photography, trichoscopy_hook
from mesoclinic.outcomes.forms import CohortForm, PhotoForm, RemovePhotoForm, VisitForm
from mesoclinic.outcomes.models import OutcomePhoto, OutcomeVisit, ReviewPoint
from mesoclinic.outcomes.points import suggest_point
from mesoclinic.outcomes.selectors import (
    Progress,
    comparison_of,
    courses_of,
    landmarks_of,
    latest_photos,
    photo_get,
    progress_of,
    record_read,
    visit_by_id,
    visit_get,
    visits_of,
)
from mesoclinic.outcomes.services import (
    landmark_create,
    outcome_photo_add,
    outcome_photo_analyse,
    outcome_photo_remove,
    outcome_visit_record,
    outcome_visit_update,
)
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.scheduling.models import Course, CourseStatus, SessionStatus
from mesoclinic.treatments.images import prepare_upload
from mesoclinic.treatments.views import photo_file_response

COHORT_ROLES = (Role.ADMIN, Role.PRACTITIONER, Role.AUDITOR)


def _form_field(name: str | None, form: Any) -> str | None:
    """The form field an error belongs to (None: shown above the form, as for the hidden
    version field of a stale edit)."""
    if name == "version":
        return None
    if name in form.fields:
        return name
    if name and f"m_{name}" in form.fields:
        return f"m_{name}"
    return None


def _visit_form(
    request: HttpRequest, workspace: Workspace, patient: Patient, **kw: Any
) -> VisitForm:
    return VisitForm(
        request.POST or None,
        clinics=workspace.organisation.clinics.order_by("name"),
        courses=courses_of(patient),
        landmarks=landmarks_of(patient),
        **kw,
    )


def _save_visit(
    form: VisitForm,
    *,
    workspace: Workspace,
    patient: Patient,
    visit: OutcomeVisit | None,
    photo: OutcomePhoto | None,
) -> OutcomeVisit | None:
    """Save the form through the services in one transaction (a new landmark and the visit
    together); a refusal lands on the form's field and nothing is written."""
    try:
        with transaction.atomic():
            landmark = None
            new = form.new_landmark()
            if new is not None:
                landmark = landmark_create(patient=patient, acting_user=workspace.user, **new)
            data = form.visit_input(landmark=landmark, photo=photo, visit=visit)
            if visit is None:
                return outcome_visit_record(patient=patient, data=data, acting_user=workspace.user)
            return outcome_visit_update(
                visit=visit,
                data=data,
                expected_version=form.cleaned_data.get("version"),
                acting_user=workspace.user,
            )
    except DomainError as error:
        field = _form_field(error.field, form)
        if error.field == "name":
            field = "landmark_name"
        form.add_error(field, error.message)
        return None


def _suggested_point(course: Course | None, visits: list[OutcomeVisit], today: dt.date) -> str:
    """The form's default point for a visit today in ``course`` (see outcomes.points)."""
    if course is None:
        return ReviewPoint.OTHER if visits else ReviewPoint.BASELINE
    of_course = [v for v in visits if v.course_id == course.pk]
    baseline = next((v for v in of_course if v.point == ReviewPoint.BASELINE), None)
    return suggest_point(
        has_baseline=baseline is not None,
        sessions_done=course.sessions.filter(status=SessionStatus.DONE).count(),
        days_since_baseline=(today - baseline.measured_on).days if baseline else None,
        recorded={v.point for v in of_course},
    )


@staff_view(roles=CLINICIANS, write=True)
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    if request.method == "GET":
        # The form shows the chart (the previous visit's landmark, methods and devices).
        record_read(workspace=workspace, patient=patient, what="visit_new")
    visits = visits_of(patient)
    courses = courses_of(patient)
    today = clock.now().astimezone(workspace.tzinfo).date()
    course = next((c for c in courses if c.status == CourseStatus.ACTIVE), None)
    initial = {
        "point": _suggested_point(course, visits, today),
        "measured_on": today,
        "clinic": workspace.clinic.pk if workspace.clinic else None,
        "course": course.pk if course else None,
        **VisitForm.carry_over(visits[-1] if visits else None),
    }
    form = _visit_form(request, workspace, patient, initial=initial)
    if request.method == "POST" and form.is_valid():
        visit = _save_visit(form, workspace=workspace, patient=patient, visit=None, photo=None)
        if visit is not None:
            messages.success(request, _("Outcome visit recorded. Add its photos below."))
            return redirect("outcome_visit", visit.pk)
    return render(
        request,
        "outcomes/visit_form.html",
        {"form": form, "patient": patient, "visit": None, "findings": None},
    )


@staff_view(roles=CLINICIANS, write=True)
@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, visit_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    visit = visit_get(workspace=workspace, visit_id=visit_id)
    patient = visit.patient
    if request.method == "GET":
        record_read(workspace=workspace, patient=patient, what="visit_edit")
    initial = VisitForm.initial_for(visit)
    # Numbers read by the trichoscopy analysis of one of this visit's close-ups, offered
    # for the practitioner to confirm or correct.
    source = request.GET.get("analysis") or request.POST.get("analysis_photo")
    photo = None
    findings = None
    if source:
        photo = next((p for p in visit.photos.all() if str(p.pk) == source), None)
        if photo is not None and photo.analysis:
            findings = trichoscopy_hook.findings_from_json(photo.analysis)
            for code, value in findings.prefill().items():
                initial[f"m_{code}"] = value
                initial[f"method_{code}"] = measures.Method.TRICHOSCOPY_AUTO.value
    form = _visit_form(request, workspace, patient, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _save_visit(form, workspace=workspace, patient=patient, visit=visit, photo=photo)
        if saved is not None:
            messages.success(request, _("Outcome visit saved."))
            return redirect("outcome_visit", saved.pk)
    return render(
        request,
        "outcomes/visit_form.html",
        {"form": form, "patient": patient, "visit": visit, "findings": findings, "photo": photo},
    )


def _previous_visit(visit: OutcomeVisit, visits: list[OutcomeVisit]) -> OutcomeVisit | None:
    earlier = [v for v in visits if (v.measured_on, v.pk) < (visit.measured_on, visit.pk)]
    return earlier[-1] if earlier else None


@staff_view()
@require_GET
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    visit = visit_get(workspace=workspace, visit_id=visit_id)
    record_read(workspace=workspace, patient=visit.patient, what="visit")
    visits = visits_of(visit.patient)
    this = visit_by_id(visits, visit.pk)
    assert this is not None
    previous = _previous_visit(this, visits)
    latest = latest_photos(this)
    reference = latest_photos(previous) if previous else {}
    can_write = workspace.can_write and workspace.has_role(*CLINICIANS)
    slots = []
    for view in photography.VIEWS:
        photos = [p for p in this.photos.all() if p.view == view.code]
        slots.append(
            {
                "view": view,
                "photo": latest.get(view.code),
                "earlier": photos[1:],
                "reference": reference.get(view.code),
                "form": PhotoForm(initial={"view": view.code}, prefix=view.code)
                if can_write
                else None,
            }
        )
    rows = []
    for measure in measures.MEASURES:
        m = next((x for x in this.measurements.all() if x.measure == measure.code), None)
        if m is not None:
            rows.append(
                {
                    "measure": measure,
                    "m": m,
                    "method": measures.METHOD_LABELS[measures.Method(m.method)],
                }
            )
    return render(
        request,
        "outcomes/visit_detail.html",
        {
            "visit": this,
            "patient": this.patient,
            "rows": rows,
            "slots": slots,
            "previous": previous,
            "can_write": can_write,
            "general_guidance": photography.GENERAL,
            "guidance_source": photography.SOURCE,
            "analysis_available": trichoscopy_hook.available(),
            "remove_form": RemovePhotoForm(),
        },
    )


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def photo_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    visit = visit_get(workspace=workspace, visit_id=visit_id)
    prefix = request.POST.get("prefix", "")
    if prefix not in photography.CODES:
        raise Http404("No such view")
    form = PhotoForm(request.POST, request.FILES, prefix=prefix)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(
                    request, f"{form.fields[field].label if field in form.fields else ''}: {error}"
                )
        return redirect("outcome_visit", visit.pk)
    try:
        prepared = prepare_upload(form.cleaned_data["image"], max_mb=settings.PHOTO_MAX_MB)
        outcome_photo_add(
            visit=visit,
            view=form.cleaned_data["view"],
            photo=prepared,
            caption=form.cleaned_data.get("caption") or "",
            um_per_px=form.cleaned_data.get("um_per_px"),
            acting_user=workspace.user,
        )
    except ValueError as error:
        messages.error(request, str(error))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(view)s photo added.") % {"view": photography.get(form.cleaned_data["view"]).label},
        )
    return redirect(f"{reverse('outcome_visit', args=[visit.pk])}#view-{prefix}")


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def photo_remove(request: HttpRequest, photo_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    form = RemovePhotoForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the photo is removed (at least 5 characters)."))
        return redirect("outcome_visit", photo.visit_id)
    try:
        outcome_photo_remove(
            photo=photo, reason=form.cleaned_data["reason"], acting_user=workspace.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Photo removed."))
    return redirect("outcome_visit", photo.visit_id)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def photo_analyse(request: HttpRequest, photo_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    try:
        outcome_photo_analyse(photo=photo, acting_user=workspace.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("outcome_visit", photo.visit_id)
    messages.info(
        request, _("Check the numbers the analysis found, correct them if needed, and save.")
    )
    return redirect(f"{reverse('outcome_visit_edit', args=[photo.visit_id])}?analysis={photo.pk}")


def _not_found_without_staff_access(view: Any) -> Any:
    """Photo URLs answer 404 to anyone who is not staff of an organisation (signed out,
    a portal account): a photo's address must not even confirm that it exists."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "workspace", None) is None:
            raise Http404("No such photo")
        return view(request, *args, **kwargs)

    return wrapper


@_not_found_without_staff_access
@staff_view()
@require_GET
def photo_file(request: HttpRequest, photo_id: int, variant: str) -> FileResponse:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    return photo_file_response(
        workspace=workspace,
        photo=photo,
        variant=variant,
        extra={"overlay": (photo.overlay, "image/png")},
    )


# --- Progress, comparison, report ---------------------------------------------------------


def _charts(progress: Progress, *, for_patient: bool = False) -> list[dict[str, Any]]:
    """One chart per measure recorded, with its table rows (titled in the patient's words
    for the report)."""
    out = []
    for series in progress.series:
        m = series.measure
        out.append(
            {
                "series": series,
                "svg": mark_safe(  # noqa: S308 - charts.py escapes every text it draws
                    charts.progress_chart(
                        title=m.plain_label if for_patient else m.label,
                        unit=m.unit,
                        points=[
                            charts.ProgressPoint(
                                day=p.day,
                                value=p.value,
                                is_baseline=p.is_baseline,
                                label=str(p.visit.get_point_display()),
                            )
                            for p in series.points
                        ],
                        sessions=progress.session_days,
                        baseline_label=_("Baseline"),
                        session_label=_("Session"),
                        measurement_label=_("Measurement"),
                        change_label=_("change from baseline"),
                        empty_message=_("No measurement recorded"),
                        y_range=(m.minimum, m.maximum) if m.is_score else None,
                    )
                ),
            }
        )
    return out


def _pair(
    progress: Progress, request: HttpRequest
) -> tuple[OutcomeVisit | None, OutcomeVisit | None]:
    """The two visits to compare: as chosen, else the first and the last with photos."""
    visits = progress.comparable_visits()
    before = visit_by_id(visits, request.GET.get("before"))
    after = visit_by_id(visits, request.GET.get("after"))
    if before is None and visits:
        before = visits[0]
    if after is None and len(visits) > 1:
        after = visits[-1]
    return before, after


@staff_view()
@require_GET
def progress(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    record_read(workspace=workspace, patient=patient, what="progress")
    data = progress_of(patient)
    before, after = _pair(data, request)
    return render(
        request,
        "outcomes/progress.html",
        {
            "patient": patient,
            "progress": data,
            "charts": _charts(data),
            "before": before,
            "after": after,
            "comparable": data.comparable_visits(),
            "pairs": comparison_of(before, after) if before and after else [],
            "can_write": workspace.can_write and workspace.has_role(*CLINICIANS),
        },
    )


def _data_uri(field: Any, content_type: str) -> str:
    with field.open("rb") as handle:
        return f"data:{content_type};base64,{base64.b64encode(handle.read()).decode('ascii')}"


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@staff_view()
@require_GET
def report_pdf(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The progress report as a PDF: charts, the chosen photo comparison, the treatment
    summary and side effects, in plain words and without any claim of effect."""
    from mesoclinic.outcomes.report import report_context

    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    record_read(workspace=workspace, patient=patient, what="report")
    data = progress_of(patient)
    before, after = _pair(data, request)
    views = set(request.GET.getlist("view")) or set(photography.CODES)
    pairs = [
        {
            "view": pair.view,
            "before": _data_uri(pair.before.image, "image/jpeg") if pair.before else None,
            "after": _data_uri(pair.after.image, "image/jpeg") if pair.after else None,
        }
        for pair in (comparison_of(before, after) if before and after else [])
        if pair.view.code in views
    ]
    context = report_context(workspace=workspace, patient=patient, progress=data)
    context.update(
        {
            "charts": [
                {"series": c["series"], "uri": _svg_uri(str(c["svg"]))}
                for c in _charts(data, for_patient=True)
            ],
            "pairs": pairs,
            "before": before,
            "after": after,
        }
    )
    html = render_to_string("outcomes/report_pdf.html", context, request=request)
    return pdf_response(
        lambda: html_to_pdf(html), filename=f"progress-{patient.mrn}.pdf", download=True
    )


def outcomes_tab_context(*, patient: Patient, workspace: Workspace) -> dict[str, object]:
    """The chart's Outcomes and Photos tabs: the visits with their numbers and photos."""
    visits = visits_of(patient)
    return {
        "outcome_visits": list(reversed(visits)),
        "can_record_outcome": workspace.can_write and workspace.has_role(*CLINICIANS),
        "outcome_photo_views": photography.VIEWS,
        "outcome_latest": {v.pk: latest_photos(v) for v in visits},
    }


# --- Cohorts ------------------------------------------------------------------------------


# The cohort page opens on these (every course, density, +10 %, at 6 months).
COHORT_DEFAULTS = {"measure": "density_per_cm2", "threshold_percent": "10", "point": "month_6"}


def _cohort_form(request: HttpRequest, workspace: Workspace) -> CohortForm:
    """The filter as asked, the defaults filling what is not asked (a bound form either
    way, so the page always shows a cohort)."""
    organisation = workspace.organisation
    protocols = (
        Protocol.objects.filter(organisation=organisation)
        .select_related("current_version")
        .order_by("current_version__name", "pk")
    )
    practitioners = (
        User.objects.filter(
            memberships__organisation=organisation,
            memberships__role__in=CLINICIANS,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )
    formulations = sorted(
        {
            f.get("name", "")
            for rows in ProtocolVersion.objects.filter(
                protocol__organisation=organisation
            ).values_list("formulations", flat=True)
            for f in rows or []
            if f.get("name")
        }
    )
    data = request.GET.copy()
    for key, value in COHORT_DEFAULTS.items():
        data.setdefault(key, value)
    return CohortForm(
        data,
        protocols=protocols,
        practitioners=practitioners,
        formulations=formulations,
    )


def _filter(form: CohortForm, protocol: Protocol | None) -> cohort.CohortFilter:
    data = form.cleaned_data
    scale, _sep, stage = (data.get("stage") or "").partition(":")
    practitioner = data.get("practitioner")
    return cohort.CohortFilter(
        protocol_id=protocol.pk if protocol else None,
        formulation=data.get("formulation") or "",
        practitioner_id=practitioner.pk if practitioner else None,
        sex=data.get("sex") or "",
        stage_scale=scale,
        stage=stage,
        started_from=data.get("started_from"),
        started_to=data.get("started_to"),
    )


@staff_view(roles=COHORT_ROLES)
@require_GET
def cohort_page(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    form = _cohort_form(request, workspace)
    context: dict[str, Any] = {"form": form, "result": None}
    if not form.is_valid():
        return render(request, "outcomes/cohort.html", context)
    data = form.cleaned_data
    measure = measures.get(data.get("measure") or "density_per_cm2")
    threshold = float(data.get("threshold_percent") or 10)
    point = ReviewPoint(data.get("point") or ReviewPoint.MONTH_6)
    first = cohort.cohort_outcomes(
        organisation_id=workspace.organisation.pk,
        cohort=_filter(form, data.get("protocol")),
        measure=measure,
        threshold_percent=threshold,
        label=cohort.protocol_label(data.get("protocol")),
        distribution_at=point,
    )
    second = None
    comparison = None
    if data.get("compare_with") is not None:
        second = cohort.cohort_outcomes(
            organisation_id=workspace.organisation.pk,
            cohort=_filter(form, data["compare_with"]),
            measure=measure,
            threshold_percent=threshold,
            label=cohort.protocol_label(data["compare_with"]),
            distribution_at=point,
        )
        comparison = cohort.compare(first, second)
    audit_record(
        action="outcomes.cohort_read",
        actor=workspace.user,
        organisation=workspace.organisation,
        changes={"query": {"new": request.GET.urlencode()}},
    )
    cohorts = [c for c in (first, second) if c is not None]
    unit = measure.unit
    change_svg = charts.change_chart(
        title=_("Mean change from baseline, %(measure)s") % {"measure": measure.short_label},
        unit=unit,
        series=[
            charts.ChangeSeries(
                label=c.label,
                rows=[
                    charts.ChangeRow(
                        label=str(p.point.label),
                        n=p.change.n if p.change else 0,
                        estimate=p.change.mean_change if p.change else None,
                        low=p.change.change_interval.low
                        if p.change and p.change.change_interval
                        else None,
                        high=p.change.change_interval.high
                        if p.change and p.change.change_interval
                        else None,
                    )
                    for p in c.points
                ],
            )
            for c in cohorts
        ],
        zero_label=_("No change"),
        interval_label=_("95 % confidence interval"),
        no_data_label=_("no data"),
        empty_message=_("No data for this cohort"),
    )
    # Percentage changes, so the responder threshold can be drawn on the same axis.
    distribution_title = _("Change from baseline at %(point)s (%%), one dot per course") % {
        "point": point.label
    }
    distribution_svg = charts.distribution_chart(
        title=distribution_title,
        unit="%",
        groups=[charts.DistributionGroup(label=c.label, values=c.distribution) for c in cohorts],
        threshold=(
            None
            if measure.higher_is_better is None
            else threshold
            if measure.higher_is_better
            else -threshold
        ),
        threshold_label=_("Responder threshold"),
        quartiles_label=_("Middle half (quartiles)"),
        median_label=_("Median"),
        no_data_label=_("no data"),
        empty_message=_("No data for this cohort"),
    )
    context.update(
        {
            "result": first,
            "second": second,
            "comparison": comparison,
            "measure": measure,
            "threshold": threshold,
            "change_svg": SafeString(change_svg),
            "distribution_svg": SafeString(distribution_svg),
            "distribution_title": distribution_title,
            "point": point,
            "query_string": request.GET.urlencode(),
        }
    )
    return render(request, "outcomes/cohort.html", context)


@staff_view(roles=COHORT_ROLES)
@require_GET
def cohort_csv(request: HttpRequest) -> HttpResponseBase:
    workspace = request_workspace(request)
    form = _cohort_form(request, workspace)
    if not form.is_valid():
        return HttpResponse(
            _("The filter is not valid; go back to the cohort page."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        rows = cohort.deidentified_rows(
            organisation_id=workspace.organisation.pk,
            cohort=_filter(form, form.cleaned_data.get("protocol")),
        )
    except cohort.TooFewToExport:
        messages.error(
            request,
            _(
                "Fewer than %(n)d courses with a baseline match this filter: a de-identified "
                "export that small could single out a patient. Widen the filter."
            )
            % {"n": cohort.MIN_EXPORT_COURSES},
        )
        return redirect(f"{reverse('outcome_cohort')}?{request.GET.urlencode()}")
    audit_record(
        action="outcomes.cohort_read",
        actor=workspace.user,
        organisation=workspace.organisation,
        changes={"query": {"new": request.GET.urlencode()}, "export": {"new": "csv"}},
    )
    response = StreamingHttpResponse(
        # Texts through csv_cell (never read as a formula); numbers as numbers.
        (csv_line([csv_cell(c) if isinstance(c, str) else c for c in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="outcomes-deidentified-{clock.now():%Y%m%d}.csv"'
    )
    return response
