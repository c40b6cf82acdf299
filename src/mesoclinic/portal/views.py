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
    return render(request, "portal/home.html", {"patient": patient_get_own(user=user)})
