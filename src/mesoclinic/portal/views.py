"""The patient's own pages. A patient sees their own record and nothing else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient


@login_required
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    patient = (
        Patient.objects.filter(user__pk=request.user.pk or 0)
        .select_related("organisation", "preferred_clinic")
        .first()
    )
    if patient is None:
        raise Http404("No patient record is linked to this account")
    audit_record(
        action="patient.read",
        actor=patient.user,
        organisation=patient.organisation,
        obj=patient,
        patient=patient,
    )
    return render(request, "portal/home.html", {"patient": patient})
