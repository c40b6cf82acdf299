from __future__ import annotations

import base64
from dataclasses import asdict

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace, staff_view
from mesoclinic.accounts.models import Role
from mesoclinic.core.errors import DomainError
from mesoclinic.core.pdf import html_to_pdf, pdf_response
from mesoclinic.patients.forms import (
    AssessmentForm,
    ConsentSignForm,
    ConsentTextForm,
    ConsentWithdrawForm,
    IntakeForm,
    PatientCreateForm,
    PatientEditForm,
)
from mesoclinic.patients.intake import SECTIONS
from mesoclinic.patients.models import Patient
from mesoclinic.patients.scales import SCALES
from mesoclinic.patients.selectors import (
    ConsentStatus,
    assessments_of,
    consent_statuses,
    consent_template_get,
    intakes_of,
    patient_get,
    patient_get_for_chart,
    patient_search,
    signed_consent_get,
)
from mesoclinic.patients.services import (
    PatientDetails,
    PossibleDuplicate,
    StaleEdit,
    assessment_record,
    consent_sign,
    consent_template_publish,
    consent_templates_current,
    consent_withdraw,
    intake_record,
    patient_create,
    patient_update,
)
from mesoclinic.screening.models import Screening
from mesoclinic.screening.selectors import screenings_of

# Assessments and intakes shown on the chart, newest first (the API lists them all).
HISTORY_SHOWN = 50

# The chart's tabs; each later part of the product fills its own. Lazy: translated per request.
CHART_TABS = [
    ("overview", gettext_lazy("Overview")),
    ("intake", gettext_lazy("Intake")),
    ("assessment", gettext_lazy("Assessment")),
    ("screening", gettext_lazy("Screening")),
    ("consents", gettext_lazy("Consents")),
    ("course", gettext_lazy("Course")),
    ("sessions", gettext_lazy("Sessions")),
    ("side-effects", gettext_lazy("Side effects")),
    ("outcomes", gettext_lazy("Outcomes")),
    ("photos", gettext_lazy("Photos")),
]


def _recall_alerts(patient: Patient) -> list[dict[str, str]]:
    """One alert per recalled lot the patient received in a signed session (one query)."""
    from mesoclinic.inventory.selectors import recalled_lots_received

    return [
        {
            "level": "error",
            "text": _("Received %(product)s lot %(lot)s on %(date)s, since recalled: %(reason)s")
            % {
                "product": lot.product.name,
                "lot": lot.lot_number,
                "date": day.isoformat(),
                "reason": lot.recall_reason,
            },
        }
        for lot, day in recalled_lots_received(patient_id=patient.pk)
    ]


def _side_effect_alerts(patient: Patient) -> list[dict[str, str]]:
    """The patient's open side effects that need attention: serious and not reviewed
    (blocks the next session), or lasting longer than expected (one query)."""
    from mesoclinic.core import clock
    from mesoclinic.safety.selectors import flagged_of_patient, onset_day

    alerts = []
    for flagged in flagged_of_patient(patient_id=patient.pk, now=clock.now()):
        event = flagged.event
        onset = onset_day(event).isoformat()
        if flagged.needs_review:
            text = _(
                "Serious side effect (%(term)s, grade %(grade)d, since %(onset)s) not "
                "reviewed: the next session is blocked until a practitioner reviews it."
            )
        else:
            text = _(
                "Side effect lasting longer than expected: %(term)s, grade %(grade)d, "
                "since %(onset)s."
            )
        alerts.append(
            {
                "level": "error" if flagged.needs_review else "warn",
                "text": text % {"term": flagged.term_label, "grade": event.grade, "onset": onset},
                "url": reverse("safety_event", args=[event.pk]),
            }
        )
    return alerts


def _add_encoding_error(request: HttpRequest, form: forms.Form) -> None:
    """Refuse a form body that is not UTF-8.

    Browsers percent-encode form fields, and bytes that are not UTF-8 then arrive as U+FFFD,
    which the validators refuse. Raw bytes make Django decode the whole body as Latin-1
    instead, which would save garbled text without a word.
    """
    if request.content_type != "application/x-www-form-urlencoded":
        return
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        form.add_error(
            None,
            _("The form was not sent as UTF-8 text, so it could not be read. Nothing was saved."),
        )


@staff_view()
@require_http_methods(["GET"])
def patient_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    query = request.GET.get("q", "")[:200]
    paginator = Paginator(
        patient_search(organisation=workspace.organisation, query=query),
        settings.PATIENTS_PER_PAGE,
    )
    page = paginator.get_page(request.GET.get("page"))
    # htmx swaps in the results alone; a history restore or a plain visit gets the page.
    fragment = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    response = render(
        request,
        "patients/_results.html" if fragment else "patients/list.html",
        {"page": page, "query": query, "today": timezone.localdate()},
    )
    # The same URL answers a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    duplicates = []
    if request.method == "POST":
        form = PatientCreateForm(request.POST, organisation=workspace.organisation)
        _add_encoding_error(request, form)
        if form.is_valid():
            try:
                patient = patient_create(
                    organisation=workspace.organisation,
                    details=form.details(),
                    acting_user=workspace.user,
                    confirm_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                )
            except PossibleDuplicate as exc:
                duplicates = exc.duplicates
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("%(name)s registered with record number %(mrn)s.")
                    % {"name": patient.full_name, "mrn": patient.mrn},
                )
                return redirect("patients:chart", patient_id=patient.pk)
    else:
        initial = {"preferred_clinic": workspace.clinic}
        form = PatientCreateForm(initial=initial, organisation=workspace.organisation)
    return render(
        request,
        "patients/form.html",
        {"form": form, "duplicates": duplicates, "patient": None},
        status=200 if not form.errors else 422,
    )


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    duplicates: list[Patient] = []
    conflict = ""
    if request.method == "POST":
        form = PatientEditForm(request.POST, organisation=workspace.organisation)
        _add_encoding_error(request, form)
        if form.is_valid():
            try:
                patient_update(
                    patient=patient,
                    changes=asdict(form.details()),
                    acting_user=workspace.user,
                    expected_updated_at=form.cleaned_data["version"],
                    confirm_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                )
            except StaleEdit as exc:
                conflict = exc.message
                form = _current_details_form(patient, workspace)
            except PossibleDuplicate as exc:
                duplicates = exc.duplicates
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Details saved."))
                return redirect("patients:chart", patient_id=patient.pk)
    else:
        form = _current_details_form(patient, workspace)
    status = 409 if conflict else 422 if form.errors else 200
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "duplicates": duplicates, "conflict": conflict},
        status=status,
    )


def _screening_alerts(screenings: list[Screening]) -> list[dict[str, str]]:
    """One alert per kind of treatment whose latest screening does not simply allow it."""
    alerts = []
    seen: set[str] = set()
    for screening in screenings:  # newest first
        if screening.protocol_kind in seen:
            continue
        seen.add(screening.protocol_kind)
        if screening.outcome == "eligible":
            continue
        override = getattr(screening, "override", None)
        text = _("Screening for %(kind)s on %(day)s: %(outcome)s") % {
            "kind": screening.get_protocol_kind_display(),
            "day": screening.screened_on.strftime("%d %b %Y"),
            "outcome": screening.get_outcome_display(),
        }
        if override is not None:
            text += " · " + _("overridden")
        level = "warn" if screening.outcome == "eligible_with_precautions" else "error"
        alerts.append({"level": level, "text": text})
    return alerts


# The consents a treatment needs; a patient screened for it is expected to have them.
CONSENTS_FOR_KIND = {
    "mesotherapy": ("hair_mesotherapy",),
    "prp": ("prp",),
    "combined": ("hair_mesotherapy", "prp"),
}


def _consent_alerts(
    consents: list[ConsentStatus], screenings: list[Screening]
) -> list[dict[str, str]]:
    """Required consents that are missing (a treatment the patient was screened for),
    signatures that no longer cover the current text, and withdrawals."""
    required = {code for s in screenings for code in CONSENTS_FOR_KIND.get(s.protocol_kind, ())}
    alerts = []
    for status in consents:
        if status.state == "missing" and status.template.code in required:
            alerts.append(
                {
                    "level": "error",
                    "text": _("%(title)s: consent not signed yet.")
                    % {"title": status.template.title},
                }
            )
        if status.state == "outdated" and status.consent is not None:
            alerts.append(
                {
                    "level": "warn",
                    "text": _(
                        "%(title)s: signed against version %(old)d; "
                        "the current text is version %(new)d."
                    )
                    % {
                        "title": status.template.title,
                        "old": status.consent.template.version,
                        "new": status.template.version,
                    },
                }
            )
        elif status.state == "withdrawn":
            alerts.append(
                {
                    "level": "error",
                    "text": _("%(title)s: consent withdrawn.") % {"title": status.template.title},
                }
            )
    return alerts


def _current_details_form(patient: Patient, workspace: Workspace) -> PatientEditForm:
    """The edit form filled with the record as it is now in the database."""
    patient.refresh_from_db()
    return PatientEditForm(
        initial=asdict(PatientDetails.of(patient)) | {"version": patient.updated_at.isoformat()},
        organisation=workspace.organisation,
    )


@staff_view()
@require_http_methods(["GET"])
def patient_chart(request: HttpRequest, patient_id: int, tab: str = "overview") -> HttpResponse:
    workspace = request_workspace(request)
    tabs = dict(CHART_TABS)
    if tab not in tabs:
        raise Http404("No such chart section")
    patient = patient_get_for_chart(workspace=workspace, patient_id=patient_id)
    today = timezone.localdate()
    assessments = list(assessments_of(patient=patient)[:HISTORY_SHOWN])
    intakes = list(intakes_of(patient=patient)[:HISTORY_SHOWN])
    screenings = list(screenings_of(patient=patient)[:HISTORY_SHOWN])
    consents = consent_statuses(
        patient=patient,
        templates=consent_templates_current(organisation=workspace.organisation),
    )
    extra: dict[str, object] = {}
    if tab == "course":
        # Imported here: scheduling depends on patients, not the other way round.
        from mesoclinic.scheduling.course_views import course_tab_context

        extra = course_tab_context(workspace=workspace, patient=patient)
    elif tab == "sessions":
        from mesoclinic.treatments.views import sessions_tab_context

        extra = sessions_tab_context(patient=patient)
    elif tab == "side-effects":
        from mesoclinic.safety.views import side_effects_tab_context

        extra = side_effects_tab_context(patient=patient)
    elif tab in ("outcomes", "photos"):
        from mesoclinic.outcomes.views import outcomes_tab_context

        extra = outcomes_tab_context(patient=patient, workspace=workspace)
    return render(
        request,
        "patients/chart.html",
        {
            **extra,
            "patient": patient,
            "age": patient.age_on(today),
            "tabs": CHART_TABS,
            "tab": tab,
            "tab_label": tabs[tab],
            "alerts": _side_effect_alerts(patient)
            + _recall_alerts(patient)
            + _screening_alerts(screenings)
            + _consent_alerts(consents, screenings),
            "consents": consents,
            "screenings": screenings,
            "can_screen": workspace.has_role(*CLINICIANS),
            "can_record_side_effect": workspace.can_write and workspace.has_role(*CLINICIANS),
            "assessments": assessments,
            "intakes": intakes,
            "intake_answers": intakes[0].yes_no_answers if intakes else {},
            "intake_labels": intakes[0].chosen_labels if intakes else {},
            "intake_sections": SECTIONS,
            "scales": SCALES,
        },
    )


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def assessment_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    if request.method == "POST":
        form = AssessmentForm(request.POST)
        _add_encoding_error(request, form)
        if form.is_valid():
            try:
                assessment_record(
                    patient=patient, details=form.details(), acting_user=workspace.user
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Assessment recorded."))
                return redirect("patients:chart_tab", patient_id=patient.pk, tab="assessment")
    else:
        form = AssessmentForm(initial={"assessed_on": timezone.localdate()})
    return render(
        request,
        "patients/assessment_form.html",
        {"form": form, "patient": patient, "scales": SCALES},
        status=422 if form.errors else 200,
    )


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def intake_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    # The form shows the last answers: opening it reads the chart.
    patient = (
        patient_get_for_chart(workspace=workspace, patient_id=patient_id)
        if request.method == "GET"
        else patient_get(workspace=workspace, patient_id=patient_id)
    )
    latest = intakes_of(patient=patient).first()
    if request.method == "POST":
        form = IntakeForm(request.POST)
        _add_encoding_error(request, form)
        if form.is_valid():
            intake_record(patient=patient, answers=form.answers(), acting_user=workspace.user)
            messages.success(request, _("Intake saved."))
            return redirect("patients:chart_tab", patient_id=patient.pk, tab="intake")
    else:
        form = IntakeForm(initial=IntakeForm.initial_from(latest) if latest else None)
    return render(
        request,
        "patients/intake_form.html",
        {"form": form, "patient": patient, "latest": latest},
        status=422 if form.errors else 200,
    )


@staff_view(write=True)
@require_http_methods(["GET", "POST"])
def consent_sign_view(request: HttpRequest, patient_id: int, template_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    template = consent_template_get(workspace=workspace, template_id=template_id)
    if request.method == "POST":
        form = ConsentSignForm(request.POST)
        _add_encoding_error(request, form)
        if form.is_valid():
            try:
                consent_sign(
                    patient=patient,
                    template=template,
                    signed_name=form.cleaned_data["signed_name"],
                    signature_png=form.cleaned_data["signature"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Consent signed."))
                return redirect("patients:chart_tab", patient_id=patient.pk, tab="consents")
    else:
        form = ConsentSignForm()  # the patient types their own name
    return render(
        request,
        "patients/consent_sign.html",
        {"form": form, "patient": patient, "template": template},
        status=422 if form.errors else 200,
    )


@staff_view(write=True)
@require_POST
def consent_withdraw_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    consent = signed_consent_get(workspace=workspace, consent_id=consent_id)
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the withdrawal."))
    else:
        try:
            consent_withdraw(
                consent=consent, reason=form.cleaned_data["reason"], acting_user=workspace.user
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Consent withdrawn; it stays in the record."))
    return redirect("patients:chart_tab", patient_id=consent.patient_id, tab="consents")


@staff_view()
@require_http_methods(["GET"])
def consent_pdf(request: HttpRequest, consent_id: int) -> HttpResponse:
    """The signed consent as a printable PDF (text, hash, typed name, drawn signature)."""
    workspace = request_workspace(request)
    consent = signed_consent_get(workspace=workspace, consent_id=consent_id)
    patient_get_for_chart(workspace=workspace, patient_id=consent.patient_id)
    html = render_to_string(
        "patients/consent_pdf.html",
        {
            "consent": consent,
            "signature_data": base64.b64encode(bytes(consent.signature_png)).decode("ascii"),
        },
        request=request,
    )
    return pdf_response(
        lambda: html_to_pdf(html),
        filename=f"consent-{consent.patient.mrn}-{consent.template.code}.pdf",
    )


@staff_view(roles=(Role.ADMIN,))
@require_http_methods(["GET", "POST"])
def consent_text_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Admins publish a new version of one of the organisation's consent texts."""
    workspace = request_workspace(request)
    current = next(
        (
            t
            for t in consent_templates_current(organisation=workspace.organisation)
            if t.code == code
        ),
        None,
    )
    if current is None:
        raise Http404("No such consent text")
    if request.method == "POST":
        form = ConsentTextForm(request.POST)
        _add_encoding_error(request, form)
        if form.is_valid():
            if (form.cleaned_data["title"], form.cleaned_data["body"]) == (
                current.title,
                current.body,
            ):
                form.add_error(None, _("Nothing changed: no new version was published."))
            else:
                published = consent_template_publish(
                    organisation=workspace.organisation,
                    code=code,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    acting_user=workspace.user,
                )
                messages.success(
                    request,
                    _("Version %(v)d of “%(title)s” published.")
                    % {"v": published.version, "title": published.title},
                )
                return redirect("consent_text_edit", code=code)
    else:
        form = ConsentTextForm(initial={"title": current.title, "body": current.body})
    return render(
        request,
        "patients/consent_text_edit.html",
        {
            "form": form,
            "current": current,
            "texts": consent_templates_current(organisation=workspace.organisation),
        },
        status=422 if form.errors else 200,
    )
