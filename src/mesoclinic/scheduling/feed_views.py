"""iCalendar downloads and the practitioner's private feed.

- ``/calendar/feeds/<token>.ics``: the feed a calendar app polls. No sign-in (calendar apps
  cannot); the secret token in the URL is the credential. Every poll is audited.
- ``/calendar/feed/``: where a practitioner creates, replaces or revokes their feed.
- ``/calendar/patients/<id>.ics``: staff download of one patient's appointments.
- ``/calendar/portal.ics``: a patient's own appointments, from the portal.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from mesoclinic.accounts.access import CLINICIANS, request_workspace, staff_view
from mesoclinic.accounts.models import Organisation, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get
from mesoclinic.scheduling.feeds import (
    calendar_feed_active,
    calendar_feed_create,
    calendar_feed_for_token,
    calendar_feed_revoke,
)
from mesoclinic.scheduling.ics import SELECT_RELATED, appointments_calendar
from mesoclinic.scheduling.models import (
    HELD_STATUSES,
    Appointment,
    AppointmentStatus,
    CalendarFeed,
)

# What a feed shows: recent history for context, a year ahead for planning.
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=365)
# Active and cancelled: a cancellation must reach calendars that already hold the event.
SHOWN_STATUSES = (*HELD_STATUSES, AppointmentStatus.CANCELLED)


def _appointments(organisation: Organisation) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(organisation=organisation, status__in=SHOWN_STATUSES)
        .select_related(*SELECT_RELATED)
        .order_by("starts_at", "pk")
    )


def _ics_response(body: bytes, *, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    if filename is not None:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Appointments are health data: no shared cache keeps a copy, signed in or not.
    patch_cache_control(response, no_store=True, private=True)
    return response


def _record_export(
    *,
    actor: User,
    organisation: Organisation,
    count: int,
    patient: Patient | None = None,
    feed: CalendarFeed | None = None,
) -> None:
    """A standalone event (a read): who exported how many appointments, of whom or by
    which feed."""
    changes: dict[str, dict[str, object]] = {"appointments": {"new": count}}
    if feed is not None:
        changes["feed"] = {"new": feed.pk}
    audit_record(
        action="calendar.export",
        actor=actor,
        organisation=organisation,
        obj=feed if feed is not None else patient,
        patient=patient,
        changes=changes,
    )


@require_GET
def calendar_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    feed = calendar_feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar feed")
    now = clock.now()
    appointments = list(
        _appointments(feed.organisation).filter(
            practitioner=feed.practitioner,
            starts_at__gte=now - FEED_PAST,
            starts_at__lte=now + FEED_AHEAD,
        )
    )
    name = _("%(name)s — %(organisation)s") % {
        "name": feed.practitioner.full_name,
        "organisation": feed.organisation.name,
    }
    body = appointments_calendar(appointments, name=name, for_patient=False)
    # The actor is the feed's owner: the token is their credential, as an API token is.
    # The source IP in the event tells their calendar service from someone else.
    _record_export(
        actor=feed.practitioner,
        organisation=feed.organisation,
        count=len(appointments),
        feed=feed,
    )
    return _ics_response(body)


@staff_view(roles=CLINICIANS)
@require_http_methods(["GET", "POST"])
def calendar_feed_page(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    user, organisation = workspace.user, workspace.organisation
    feed_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            try:
                _feed, token = calendar_feed_create(
                    practitioner=user, organisation=organisation, acting_user=user
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("calendar_feed_page")
            # Rendered in this response and nowhere else (not the session, not a message):
            # the secret exists only here and in the practitioner's calendar app.
            feed_url = request.build_absolute_uri(
                reverse("calendar_feed_ics", kwargs={"token": token})
            )
        elif action == "revoke":
            feed = calendar_feed_active(practitioner=user, organisation=organisation)
            if feed is not None:
                calendar_feed_revoke(feed=feed, acting_user=user)
                messages.success(
                    request, _("Your calendar feed is revoked. Its address no longer works.")
                )
            return redirect("calendar_feed_page")
        else:
            return HttpResponseBadRequest(_("Unknown action."))
    feed = calendar_feed_active(practitioner=user, organisation=organisation)
    return render(request, "scheduling/feed.html", {"feed": feed, "feed_url": feed_url})


@staff_view()
@require_GET
def patient_ics(request: HttpRequest, patient_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    appointments = list(_appointments(workspace.organisation).filter(patient=patient))
    name = _("Appointments — %(mrn)s") % {"mrn": patient.mrn}
    body = appointments_calendar(appointments, name=name, for_patient=True)
    _record_export(
        actor=workspace.user,
        organisation=workspace.organisation,
        count=len(appointments),
        patient=patient,
    )
    return _ics_response(body, filename=f"{patient.mrn}.ics")


@login_required
@require_GET
def portal_ics(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    # Only the record linked to this account; staff accounts have none and get 404.
    patient = Patient.objects.filter(user=user).select_related("organisation").first()
    if patient is None:
        raise Http404("No patient record is linked to this account")
    appointments = list(_appointments(patient.organisation).filter(patient=patient))
    name = _("My appointments — %(organisation)s") % {"organisation": patient.organisation.name}
    body = appointments_calendar(appointments, name=name, for_patient=True)
    _record_export(
        actor=user, organisation=patient.organisation, count=len(appointments), patient=patient
    )
    return _ics_response(body, filename="appointments.ics")
