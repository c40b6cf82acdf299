"""Session chart pages: start from an appointment, chart on the zone map, sign, amend,
photos, the aftercare sheet (HTML and PDF). Thin: every write is a service call."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace, staff_view
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError
from mesoclinic.core.pdf import pdf_response
from mesoclinic.inventory.selectors import usable_lots
from mesoclinic.protocols.selectors import offered_versions
from mesoclinic.scheduling.selectors import appointment_get
from mesoclinic.treatments import aftercare, maps
from mesoclinic.treatments.forms import (
    ROW_FIELDS,
    AmendForm,
    PhotoForm,
    SessionChartForm,
    StartForm,
    initial_for,
)
from mesoclinic.treatments.images import prepare_upload
from mesoclinic.treatments.mail import render_pdf
from mesoclinic.treatments.models import Injection, StoredPhoto, TreatmentSession
from mesoclinic.treatments.selectors import (
    aftercare_sheet_of,
    photo_get,
    photos_of,
    revisions_of,
    session_get,
    session_get_for_read,
)
from mesoclinic.treatments.services import (
    SessionContent,
    line_warnings,
    new_line_defaults,
    photo_add,
    photo_remove,
    session_amend,
    session_open,
    session_prechecks,
    session_sign,
    session_update,
    volume_by_product,
    volume_by_zone,
)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def session_start(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Open the appointment's chart (a draft prefilled from the previous session)."""
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    version = None
    if appointment.course_session_id is None:
        form = StartForm(request.POST, queryset=offered_versions(workspace.organisation))
        if not form.is_valid():
            messages.error(request, _("Choose the protocol given."))
            return redirect("appointment_detail", appointment.pk)
        version = form.cleaned_data["protocol_version"]
    try:
        session = session_open(
            appointment=appointment, acting_user=workspace.user, protocol_version=version
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("appointment_detail", appointment.pk)
    return redirect("session_detail", session.pk)


def _form(
    session: TreatmentSession, data: Any = None, *, content: SessionContent | None = None
) -> SessionChartForm:
    stock = usable_lots(
        organisation=session.organisation, clinic=session.clinic, on=session.performed_on
    )
    charted = [i.lot for i in session.injections.all() if i.lot is not None]
    content = content or SessionContent.of(session)
    return SessionChartForm(
        data,
        session=session,
        stock=stock,
        extra_lots=charted,
        initial=initial_for(session, content=content, blank=new_line_defaults(session=session)),
    )


def _apply_error(form: SessionChartForm, error: DomainError) -> None:
    """Show a service's refusal on the field at fault (``lines.<i>.<field>`` names a row)."""
    field = error.field or ""
    if field.startswith("lines."):
        parts = field.split(".")
        lines = form.cleaned_data.get("lines", ())
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(lines):
            name = "lot" if parts[2] in ("product", "lot") else parts[2]
            if name in ROW_FIELDS:
                form.add_error(f"{lines[int(parts[1])].zone}-{name}", error.message)
                return
    if field in form.fields:
        form.add_error(field, error.message)
        return
    form.add_error(None, error.message)


def _signed_message(request: HttpRequest, session: TreatmentSession) -> None:
    """Say what became of the aftercare email: it was sent when the signature committed
    (just before this), or it failed and ``send_reminders`` will retry it."""
    from mesoclinic.scheduling.models import MessageStatus, SentMessage

    email = session.patient.email
    sheet = aftercare_sheet_of(session)
    sent = (
        SentMessage.objects.filter(key=f"aftercare:{sheet.pk}")
        .values_list("status", flat=True)
        .first()
        if sheet is not None
        else None
    )
    if not email:
        messages.success(request, _("Signed. The patient has no email address: print the sheet."))
    elif sent == MessageStatus.SENT:
        messages.success(
            request, _("Signed. The aftercare sheet was emailed to %(email)s.") % {"email": email}
        )
    else:
        messages.warning(
            request,
            _(
                "Signed. The aftercare email to %(email)s could not be sent now; it will be "
                "retried. Print the sheet for the patient."
            )
            % {"email": email},
        )


def _chart_context(session: TreatmentSession, form: SessionChartForm | None) -> dict[str, Any]:
    lines: list[Injection] = list(session.injections.all())
    selected: list[str] = []
    volumes: dict[str, Decimal] = volume_by_zone(lines)
    if form is not None:
        selected = (
            form.data.getlist("zones")  # type: ignore[attr-defined]
            if form.is_bound
            else list(form.initial.get("zones", []))
        )
    zone_map = maps.zone_map(session.area)
    return {
        "session": session,
        "patient": session.patient,
        "zone_map": zone_map,
        "shaded": maps.shade(zone_map, volumes, selected or volumes.keys()),
        "totals": volume_by_product(lines),
        "total_ml": sum((line.volume_ml for line in lines), Decimal("0")),
        "lines": lines,
        "zone_labels": {z.code: z.label for z in zone_map.zones},
        "warnings": line_warnings(area=session.area, lines=lines),
        "photos": photos_of(appointment_id=session.appointment_id),
        "form": form,
    }


@staff_view()
@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    """A draft: the chart form (save, or save and sign). Signed: the record, its
    amendments and the aftercare sheet."""
    workspace = request_workspace(request)
    can_chart = workspace.has_role(*CLINICIANS) and workspace.can_write
    form: SessionChartForm | None
    if request.method == "POST":
        if not can_chart:
            return HttpResponse(status=403)
        session = session_get(workspace=workspace, session_id=session_id)
        if session.is_signed:
            messages.error(request, _("This session is signed; correct it with an amendment."))
            return redirect("session_detail", session.pk)
        form = _form(session, request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    session_update(
                        session=session, content=form.to_content(), acting_user=workspace.user
                    )
                    if request.POST.get("action") == "sign":
                        session_sign(session=session, acting_user=workspace.user)
            except DomainError as error:
                _apply_error(form, error)
            else:
                if request.POST.get("action") == "sign":
                    _signed_message(request, session)
                else:
                    messages.success(request, _("Draft saved."))
                return redirect("session_detail", session.pk)
        session = session_get(workspace=workspace, session_id=session_id)
        status = 422
    else:
        session = session_get_for_read(workspace=workspace, session_id=session_id)
        form = _form(session) if not session.is_signed and can_chart else None
        status = 200
    context = _chart_context(session, form)
    context |= {
        "can_chart": can_chart,
        "prechecks": (
            session.prechecks
            if session.is_signed
            else [
                c.as_json()
                for c in session_prechecks(
                    patient=session.patient, protocol_version=session.protocol_version
                )
            ]
        ),
        "revisions": revisions_of(session)
        if session.revision > 1 or not session.is_current
        else [],
        "sheet": aftercare_sheet_of(session) if session.is_signed else None,
        "photo_form": PhotoForm() if can_chart and not session.is_signed else None,
    }
    return render(request, "treatments/session.html", context, status=status)


@staff_view(roles=CLINICIANS, write=True)
@require_http_methods(["GET", "POST"])
def session_amend_view(request: HttpRequest, session_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    if request.method == "GET":
        session = session_get_for_read(workspace=workspace, session_id=session_id)
    else:
        session = session_get(workspace=workspace, session_id=session_id)
    if not session.is_signed or not session.is_current:
        messages.error(request, _("Only the current signed revision can be amended."))
        return redirect("session_detail", session.pk)
    if request.method == "POST":
        form = _form(session, request.POST)
        reason_form = AmendForm(request.POST)
        if form.is_valid() and reason_form.is_valid():
            try:
                revision = session_amend(
                    session=session,
                    content=form.to_content(),
                    reason=reason_form.cleaned_data["reason"],
                    acting_user=workspace.user,
                )
            except DomainError as error:
                if error.field == "reason":
                    reason_form.add_error("reason", error.message)
                else:
                    _apply_error(form, error)
            else:
                messages.success(request, _("Amendment signed; the original is kept."))
                return redirect("session_detail", revision.pk)
        status = 422
    else:
        form = _form(session)
        reason_form = AmendForm()
        status = 200
    context = _chart_context(session, form) | {"reason_form": reason_form, "amending": True}
    return render(request, "treatments/amend.html", context, status=status)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def session_photo_add(request: HttpRequest, session_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    session = session_get(workspace=workspace, session_id=session_id)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("session_detail", session.pk)
    try:
        prepared = prepare_upload(form.cleaned_data["image"], max_mb=settings.PHOTO_MAX_MB)
        photo_add(
            session=session,
            moment=form.cleaned_data["moment"],
            photo=prepared,
            caption=form.cleaned_data.get("caption") or "",
            acting_user=workspace.user,
        )
    except ValueError as error:
        messages.error(request, str(error))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Photo added (location and camera data removed)."))
    return redirect("session_detail", session.pk)


@staff_view(roles=CLINICIANS, write=True)
@require_POST
def session_photo_remove(request: HttpRequest, photo_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    try:
        photo_remove(photo=photo, acting_user=workspace.user)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("session_detail", photo.session_id)


@staff_view()
@require_http_methods(["GET"])
def session_photo_file(request: HttpRequest, photo_id: int, variant: str) -> FileResponse:
    """A photo or its thumbnail, only to staff of its organisation (never a public URL).
    Every fetch is recorded, thumbnails included: the URL can be opened on its own."""
    workspace = request_workspace(request)
    return photo_file_response(
        workspace=workspace,
        photo=photo_get(workspace=workspace, photo_id=photo_id),
        variant=variant,
    )


def photo_file_response(
    *,
    workspace: Workspace,
    photo: StoredPhoto,
    variant: str,
    extra: Mapping[str, tuple[FieldFile, str]] | None = None,
) -> FileResponse:
    """The photo's file ("full") or thumbnail ("thumb"), or one of ``extra``'s (variant:
    file and content type, e.g. an analysis overlay), never cached, its read audited (the
    URL can be opened on its own); any other variant, or an empty file, is a 404.
    ``photo`` was fetched through an organisation-scoped selector."""
    files = {
        "full": (photo.image, "image/jpeg"),
        "thumb": (photo.thumbnail, "image/jpeg"),
        **(extra or {}),
    }
    if variant not in files or not files[variant][0]:
        raise Http404("No such variant")
    audit_record(
        action="photo.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=photo,
        patient=photo.patient,
        changes={"variant": {"new": variant}},
    )
    field, content_type = files[variant]
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def _sheet_or_404(workspace: Workspace, session_id: int) -> tuple[TreatmentSession, Any]:
    session = session_get(workspace=workspace, session_id=session_id)
    row = aftercare_sheet_of(session)
    if row is None:
        raise Http404("No aftercare sheet: the session is not signed")
    audit_record(
        action="aftercare.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=row,
        patient=session.patient,
    )
    return session, row


@staff_view()
@require_http_methods(["GET"])
def session_aftercare(request: HttpRequest, session_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    session, row = _sheet_or_404(workspace, session_id)
    return render(
        request,
        "treatments/aftercare.html",
        {
            "amended_since": row.session_id != session.pk
            or TreatmentSession.objects.filter(
                appointment_id=session.appointment_id, revision__gt=row.session.revision
            ).exists(),
            "session": session,
            "sheet": aftercare.sheet_from_json(row.content),
            "evidence": aftercare.EVIDENCE_LABELS,
        },
    )


@staff_view()
@require_http_methods(["GET"])
def session_aftercare_pdf(request: HttpRequest, session_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    session, row = _sheet_or_404(workspace, session_id)
    return pdf_response(
        lambda: render_pdf(row),
        filename=f"aftercare-{session.patient.mrn}-{session.performed_on.isoformat()}.pdf",
    )


def sessions_tab_context(*, patient: Any) -> dict[str, Any]:
    """The chart's Sessions tab: the current revision of every charted visit."""
    from mesoclinic.treatments.selectors import sessions_of_patient

    sessions = sessions_of_patient(patient=patient)
    rows = []
    for session in sessions:
        lines = list(session.injections.all())
        rows.append(
            {
                "session": session,
                "zones": [maps.zone_label(session.area, code) for code in volume_by_zone(lines)],
                "totals": volume_by_product(lines),
            }
        )
    return {"session_rows": rows}
