from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.access import CLINICIANS, request_workspace, staff_view
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.selectors import patient_get
from mesoclinic.screening.forms import OverrideForm, ScreeningForm
from mesoclinic.screening.selectors import screening_get
from mesoclinic.screening.services import screening_override, screening_run


def _tab(patient_id: int) -> HttpResponse:
    return redirect("patients:chart_tab", patient_id=patient_id, tab="screening")


@staff_view(roles=CLINICIANS)
@require_http_methods(["GET", "POST"])
def screening_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    if request.method == "POST":
        form = ScreeningForm(request.POST, organisation=workspace.organisation)
        if form.is_valid():
            screening_run(
                patient=patient,
                protocol_kind=form.cleaned_data["protocol_kind"],
                ingredients=form.cleaned_data["ingredients"],
                protocol_version=form.cleaned_data["protocol"],
                screened_on=timezone.localdate(),
                acting_user=workspace.user,
            )
            messages.success(request, _("Screening signed."))
            return _tab(patient.pk)
    else:
        form = ScreeningForm(organisation=workspace.organisation)
    return render(
        request,
        "screening/new.html",
        {"form": form, "patient": patient},
        status=422 if form.errors else 200,
    )


@staff_view(roles=CLINICIANS)
@require_POST
def screening_override_view(request: HttpRequest, screening_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    screening = screening_get(workspace=workspace, screening_id=screening_id)
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            screening_override(
                screening=screening,
                justification=form.cleaned_data["justification"],
                acting_user=workspace.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return _tab(screening.patient_id)
        messages.success(request, _("Override recorded."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return _tab(screening.patient_id)
