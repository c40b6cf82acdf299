from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import (
    ADMIN_ONLY,
    SESSION_CLINIC_KEY,
    Workspace,
    account_owner,
    request_workspace,
    staff_view,
)
from mesoclinic.accounts.forms import (
    WEEKDAY_FIELDS,
    ClinicForm,
    EmailAuthenticationForm,
    InviteAwarePasswordResetForm,
    StaffInviteForm,
)
from mesoclinic.accounts.hours import format_week
from mesoclinic.accounts.models import Clinic, Membership
from mesoclinic.accounts.services import (
    InvitationNotSent,
    clinic_create,
    clinic_update,
    membership_deactivate,
    membership_reactivate,
    staff_invite,
)
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:  # type: ignore[override]  # stubs differ from Django 5.2
        """The safe ``next`` URL, unless it leads back to this page.

        Django refuses (with a 500) to send a signed-in user to ``?next=/login/``, since
        that would loop; such a user goes to the home page instead.
        """
        url = super().get_redirect_url()
        if url and urlsplit(url).path == self.request.path:
            return ""
        return url


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("password_change_done")

    @method_decorator(transaction.atomic)
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        workspace = getattr(self.request, "workspace", None)
        organisation, patient = account_owner(form.user)
        audit_record(
            action="auth.password_change",
            actor=form.user,
            organisation=workspace.organisation if workspace else organisation,
            obj=form.user,
            patient=patient,
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Also sends a link to staff who were invited but never chose a password."""

    form_class = InviteAwarePasswordResetForm


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    @method_decorator(transaction.atomic)
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        organisation, patient = account_owner(form.user)
        audit_record(
            action="auth.password_reset",
            actor=form.user,
            organisation=organisation,
            obj=form.user,
            patient=patient,
        )
        return response


@staff_view()
@require_POST
def clinic_switch(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    wanted = request.POST.get("clinic_id", "")
    clinic = next((c for c in workspace.clinics if str(c.pk) == wanted), None)
    if clinic is None:
        raise Http404("No such clinic")
    request.session[SESSION_CLINIC_KEY] = clinic.pk
    next_url = request.POST.get("next", "")
    from django.utils.http import url_has_allowed_host_and_scheme

    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("dashboard")
    return redirect(next_url)


@staff_view(roles=ADMIN_ONLY)
def staff_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    if request.method == "POST":
        form = StaffInviteForm(request.POST, organisation=workspace.organisation)
        if form.is_valid():
            try:
                membership = staff_invite(
                    organisation=workspace.organisation,
                    email=form.cleaned_data["email"],
                    full_name=form.cleaned_data["full_name"],
                    role=form.cleaned_data["role"],
                    default_clinic=form.cleaned_data["default_clinic"],
                    acting_user=workspace.user,
                    base_url=request.build_absolute_uri("/"),
                )
            except InvitationNotSent as exc:
                # The membership is saved; only the email failed. Say so, without a 500.
                messages.warning(request, exc.message)
                return redirect("staff")
            except DomainError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": membership.user.email},
                )
                return redirect("staff")
    else:
        form = StaffInviteForm(organisation=workspace.organisation)
    memberships = (
        Membership.objects.filter(organisation=workspace.organisation)
        .select_related("user", "default_clinic")
        .order_by("-is_active", "user__full_name")
    )
    return render(
        request,
        "accounts/staff.html",
        {
            "form": form,
            "memberships": memberships,
            # Plain text for the template's escapejs: {% translate ... as %} would give
            # HTML-escaped text, which a confirm() dialog would show as entities.
            "deactivate_question": _("Deactivate this person? They are signed out at once."),
        },
        status=422 if form.errors else 200,
    )


def _membership_of_org(workspace: Workspace, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(organisation=workspace.organisation, pk=membership_id)
        .select_related("user", "organisation")
        .first()
    )
    if membership is None:
        raise Http404("No such staff member")
    return membership


@staff_view(roles=ADMIN_ONLY)
@require_POST
def staff_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    membership = _membership_of_org(workspace, membership_id)
    try:
        membership_deactivate(membership=membership, acting_user=workspace.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(name)s can no longer sign in here.") % {"name": membership.user.full_name}
        )
    return redirect("staff")


@staff_view(roles=ADMIN_ONLY)
@require_POST
def staff_reactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    membership = _membership_of_org(workspace, membership_id)
    membership_reactivate(membership=membership, acting_user=workspace.user)
    messages.success(request, _("%(name)s has access again.") % {"name": membership.user.full_name})
    return redirect("staff")


def _clinic_of_org(workspace: Workspace, clinic_id: int) -> Clinic:
    clinic = (
        Clinic.objects.filter(organisation=workspace.organisation, pk=clinic_id)
        .prefetch_related("opening_hours")
        .first()
    )
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


@staff_view(roles=ADMIN_ONLY)
@require_GET
def clinic_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinics = (
        Clinic.objects.filter(organisation=workspace.organisation)
        .prefetch_related("opening_hours")
        .order_by("name")
    )
    rows = []
    for clinic in clinics:
        week = format_week(h.as_interval() for h in clinic.opening_hours.all())
        rows.append((clinic, [(label, week[day]) for day, _name, label in WEEKDAY_FIELDS]))
    return render(request, "accounts/clinics.html", {"rows": rows})


@staff_view(roles=ADMIN_ONLY)
@require_http_methods(["GET", "POST"])
def clinic_edit(request: HttpRequest, clinic_id: int | None = None) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _clinic_of_org(workspace, clinic_id) if clinic_id is not None else None
    if request.method == "POST":
        form = ClinicForm(request.POST, organisation=workspace.organisation, clinic=clinic)
        if form.is_valid():
            data = form.cleaned_data
            values = {
                "name": data["name"],
                "address": data["address"],
                "phone": data["phone"],
                "timezone_name": data["timezone"],
                "opening_hours": form.opening_hours(),
                "acting_user": workspace.user,
            }
            if clinic is None:
                clinic_create(organisation=workspace.organisation, **values)
                messages.success(request, _("Clinic added."))
            else:
                clinic_update(clinic=clinic, **values)
                messages.success(request, _("Clinic saved."))
            return redirect("clinics")
    else:
        initial = (
            ClinicForm.initial_for(clinic)
            if clinic is not None
            else {"timezone": workspace.clinic.timezone if workspace.clinic else "UTC"}
        )
        form = ClinicForm(initial=initial, organisation=workspace.organisation, clinic=clinic)
    return render(
        request,
        "accounts/clinic_form.html",
        {
            "form": form,
            "clinic": clinic,
            "weekday_fields": [form[name] for _day, name, _label in WEEKDAY_FIELDS],
        },
        status=422 if form.errors else 200,
    )
