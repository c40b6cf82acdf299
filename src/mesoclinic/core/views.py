from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from mesoclinic.accounts.access import (
    CLINICIANS,
    Workspace,
    is_portal_user,
    request_workspace,
    staff_view,
)
from mesoclinic.accounts.models import AUDIT_READERS
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.core.forms import AuditFilterForm
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.selectors import AuditFilter, audit_events
from mesoclinic.core.spreadsheet import csv_cell, csv_line
from mesoclinic.patients.selectors import patient_queryset


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers a query, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    """Send staff to their dashboard, patients to the portal, a superuser without a
    membership to the admin site, everyone else to sign in."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if getattr(request, "workspace", None) is not None:
        return redirect("dashboard")
    if user.is_superuser and not is_portal_user(user):
        return redirect("admin:index")
    return redirect("portal:home")


@staff_view()
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    recent = patient_queryset(organisation=workspace.organisation).order_by("-created_at")[:5]
    appointments: list[Any] = []
    today = timezone.localdate()
    if workspace.clinic is not None:
        # Imported here: scheduling depends on core, not the other way round.
        from mesoclinic.scheduling.selectors import appointments_between

        tz = workspace.clinic.tzinfo
        today = clock.today_in(tz)
        starts = dt.datetime.combine(today, dt.time(), tzinfo=tz)
        appointments = list(
            appointments_between(
                organisation=workspace.organisation,
                clinic=workspace.clinic,
                starts=starts,
                ends=starts + dt.timedelta(days=1),
            )
        )
        for appointment in appointments:
            appointment.local_start = appointment.starts_at.astimezone(tz)
    stock_alerts = None
    if workspace.clinic is not None:
        from mesoclinic.inventory.selectors import alerts

        stock_alerts = alerts(
            organisation=workspace.organisation, today=today, clinic=workspace.clinic
        )
    flagged_side_effects = []
    if workspace.has_role(*CLINICIANS):
        from mesoclinic.safety.selectors import flagged_for

        flagged_side_effects = flagged_for(workspace=workspace, now=clock.now())
    return render(
        request,
        "core/dashboard.html",
        {
            "today": today,
            "flagged_side_effects": flagged_side_effects,
            "recent_patients": recent,
            "appointments": appointments,
            "stock_alerts": stock_alerts,
        },
    )


def _filter_from(
    request: HttpRequest, workspace: Workspace
) -> tuple[AuditFilterForm, AuditFilter | None]:
    """The filter form and its filter; None when the form has errors (show no events)."""
    form = AuditFilterForm(request.GET or None, organisation=workspace.organisation)
    if not form.is_bound:
        return form, AuditFilter()
    return form, (form.to_filter() if form.is_valid() else None)


@staff_view(roles=AUDIT_READERS)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    form, filters = _filter_from(request, workspace)
    # A filter that cannot be read shows nothing rather than everything: an auditor who
    # mistyped a date must not take the unfiltered list for the answer.
    events = (
        AuditEvent.objects.none()
        if filters is None
        else audit_events(
            organisation=workspace.organisation,
            filters=filters,
            tz=timezone.get_current_timezone(),
        )
    )
    page = Paginator(events, settings.AUDIT_EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {"form": form, "page": page, "query_string": query.urlencode()},
        status=422 if form.errors else 200,
    )


@staff_view(roles=AUDIT_READERS)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponseBase:
    workspace = request_workspace(request)
    _form, filters = _filter_from(request, workspace)
    if filters is None:
        # The page with the form's errors and no events (422); nothing is exported.
        return audit_list(request)
    tz = timezone.get_current_timezone()
    events = audit_events(organisation=workspace.organisation, filters=filters, tz=tz)
    with transaction.atomic():
        audit_record(
            action="audit.export",
            actor=workspace.user,
            organisation=workspace.organisation,
            changes={"filters": {"new": request.GET.urlencode()}},
        )

    def rows() -> Iterator[str]:
        yield csv_line(
            [
                "time",
                "user",
                "action",
                "object_type",
                "object_id",
                "object",
                "patient_mrn",
                "source_ip",
                "via",
                "changes",
            ]
        )
        event: AuditEvent
        for event in events.iterator(chunk_size=2000):
            yield csv_line(
                csv_cell(v)
                for v in [
                    timezone.localtime(event.occurred_at, tz).isoformat(),
                    event.actor_email,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.object_repr,
                    event.patient.mrn if event.patient else "",
                    event.source_ip,
                    event.via,
                    _json(event.changes),
                ]
            )

    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
