"""The patient's own pages. A patient sees their own record and nothing else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mesoclinic.accounts.models import User
from mesoclinic.patients.selectors import patient_get_own


@login_required
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    patient = patient_get_own(user=user)
    # Imported here: scheduling depends on patients (and the portal), not the reverse.
    from mesoclinic.core import clock
    from mesoclinic.scheduling.models import ACTIVE_STATUSES, Appointment

    upcoming = list(
        Appointment.objects.filter(
            patient=patient, status__in=ACTIVE_STATUSES, ends_at__gte=clock.now()
        )
        .select_related("clinic", "appointment_type", "course_session")
        .order_by("starts_at")[:20]
    )
    for appointment in upcoming:
        appointment.local_start = appointment.starts_at.astimezone(  # type: ignore[attr-defined]
            appointment.clinic.tzinfo
        )
    return render(request, "portal/home.html", {"patient": patient, "upcoming": upcoming})
