"""/api/v1/sessions: chart a visit (open a draft, change it, sign it) and amend a signed
session.

Every staff role reads; admins and practitioners chart, sign and amend (the front desk and
the auditor: 403). An id in the path of another organisation is a 404; an id in the body or
the query that is not one of the organisation's is a 422 naming the field. Reading a
session is a chart read and is audited (``session.read``); a list is audited as a read of
the patient's chart (``patient.read``), as the course list is, so it needs a patient or an
appointment (which names its patient).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from mesoclinic.accounts.access import Workspace, request_workspace
from mesoclinic.accounts.models import Role
from mesoclinic.api.access import given, writer
from mesoclinic.core.errors import DomainError
from mesoclinic.inventory.models import Lot, Product
from mesoclinic.patients.selectors import patient_get_for_chart
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.selectors import appointment_get
from mesoclinic.treatments.models import TreatmentSession
from mesoclinic.treatments.schemas import (
    AmendIn,
    ContentIn,
    OpenIn,
    SessionListParams,
    SessionOut,
    SessionPage,
    session_brief,
    session_out,
)
from mesoclinic.treatments.selectors import (
    aftercare_sheet_of,
    photos_of,
    revisions_of,
    session_get,
    session_get_for_read,
    session_queryset,
    with_lines,
)
from mesoclinic.treatments.services import (
    LineInput,
    SessionContent,
    line_warnings,
    session_amend,
    session_open,
    session_prechecks,
    session_sign,
    session_update,
)

router = Router()

T = TypeVar("T")

CHARTING_ROLES = (Role.ADMIN, Role.PRACTITIONER)
# Writes are for clinicians; the other roles get 403 with this reason.
_charter = partial(
    writer, roles=CHARTING_ROLES, refusal="Only practitioners and admins chart sessions."
)
# The service's names for the content's fields -> the names this API takes them by.
_EDGE_NAMES = {"product": "product_id", "lot": "lot_id"}
_CONTENT_FIELDS = frozenset(ContentIn.model_fields) | {"anaesthesia_product"}


def _detail(workspace: Workspace, session_id: int, *, audit: bool = False) -> dict[str, Any]:
    """The session as ``SessionOut``: a constant number of queries whatever its size."""
    get = session_get_for_read if audit else session_get
    session = get(workspace=workspace, session_id=session_id)
    lines = list(session.injections.all())
    prechecks = (
        list(session.prechecks)
        if session.is_signed
        else session_prechecks(patient=session.patient, protocol_version=session.protocol_version)
    )
    home_care = (
        list(
            Product.objects.filter(
                organisation=workspace.organisation, pk__in=session.home_care_product_ids
            ).order_by("name")
        )
        if session.home_care_product_ids
        else []
    )
    sheet = aftercare_sheet_of(session) if session.is_signed else None
    return session_out(
        session,
        lines=lines,
        prechecks=prechecks,
        warnings=line_warnings(area=session.area, lines=lines),
        home_care=home_care,
        photos=photos_of(appointment_id=session.appointment_id),
        revisions=revisions_of(session),
        aftercare_sheet_id=None if sheet is None else sheet.pk,
    )


def _edge_field(field: str | None, prefix: str) -> str | None:
    """The input field a service's DomainError names, as this API spells it
    (``lines.0.product`` -> ``lines.0.product_id``), under ``prefix`` for a nested body."""
    if field is None:
        return None
    head, *rest = field.split(".")
    if head not in _CONTENT_FIELDS:
        return field
    if head == "anaesthesia_product":
        head = "anaesthesia_product_id"
    if rest:
        rest[-1] = _EDGE_NAMES.get(rest[-1], rest[-1])
    return prefix + ".".join([head, *rest])


def _charting(prefix: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except DomainError as error:
        field = _edge_field(error.field, prefix)
        if field == error.field:
            raise
        raise type(error)(error.message, field=field) from error


def _content(workspace: Workspace, payload: ContentIn, *, prefix: str = "") -> SessionContent:
    """The schema's ids resolved inside the organisation (two queries for any number of
    lines); an unknown id is a 422 naming its line."""
    organisation = workspace.organisation
    product_ids = {line.product_id for line in payload.lines}
    if payload.anaesthesia_product_id is not None:
        product_ids.add(payload.anaesthesia_product_id)
    products = {
        p.pk: p for p in Product.objects.filter(organisation=organisation, pk__in=product_ids)
    }
    lot_ids = {line.lot_id for line in payload.lines if line.lot_id is not None}
    lots = (
        {
            lot.pk: lot
            for lot in Lot.objects.filter(organisation=organisation, pk__in=lot_ids).select_related(
                "product"
            )
        }
        if lot_ids
        else {}
    )

    def missing(what: str, field: str) -> DomainError:
        return DomainError(
            f"No {what} with this id in your organisation.", field=f"{prefix}{field}"
        )

    lines = []
    for index, line in enumerate(payload.lines):
        product = products.get(line.product_id)
        if product is None:
            raise missing("product", f"lines.{index}.product_id")
        lot = None
        if line.lot_id is not None:
            lot = lots.get(line.lot_id)
            if lot is None:
                raise missing("lot", f"lines.{index}.lot_id")
        lines.append(
            LineInput(
                zone=line.zone,
                technique=line.technique,
                volume_ml=line.volume_ml,
                product=product,
                lot=lot,
                depth_mm=line.depth_mm,
                needle_gauge=line.needle_gauge,
                needle_length_mm=line.needle_length_mm,
                points=line.points,
            )
        )
    anaesthesia_product = None
    if payload.anaesthesia_product_id is not None:
        anaesthesia_product = products.get(payload.anaesthesia_product_id)
        if anaesthesia_product is None:
            raise missing("product", "anaesthesia_product_id")
    return SessionContent(
        skin_preparation=payload.skin_preparation,
        anaesthesia=payload.anaesthesia,
        anaesthesia_product=anaesthesia_product,
        anaesthesia_note=payload.anaesthesia_note,
        pain_score=payload.pain_score,
        reactions=tuple(payload.reactions),
        reactions_note=payload.reactions_note,
        notes=payload.notes,
        lines=tuple(lines),
        home_care_product_ids=tuple(payload.home_care_product_ids),
    )


# --- Reading ----------------------------------------------------------------------------------


@router.get(
    "",
    response=SessionPage,
    summary="A patient's or a visit's session charts, newest first (audited)",
)
def list_sessions(request: HttpRequest, params: Query[SessionListParams]) -> dict[str, Any]:
    """Give `patient_id`, `appointment_id` or both; `status` (draft, signed) and `current`
    (true: the revisions in force; false: the corrected ones) narrow the list. At most
    `limit` (200) per call; page with `offset`. `count` is the total."""
    workspace = request_workspace(request)
    if params.patient_id is None and params.appointment_id is None:
        raise DomainError("Give a patient_id or an appointment_id.", field="patient_id")
    sessions = session_queryset(organisation_id=workspace.organisation.pk).select_related(
        "superseded_by"
    )
    appointment: Appointment | None = None
    if params.appointment_id is not None:
        appointment_id = params.appointment_id
        appointment = given(
            "appointment_id",
            "appointment",
            lambda: appointment_get(workspace=workspace, appointment_id=appointment_id),
        )
        sessions = sessions.filter(appointment=appointment)
    if params.patient_id is not None:
        patient_id = params.patient_id
        patient = given(
            "patient_id",
            "patient",
            lambda: patient_get_for_chart(workspace=workspace, patient_id=patient_id),
        )
        sessions = sessions.filter(patient=patient)
    else:
        assert appointment is not None
        patient_get_for_chart(workspace=workspace, patient_id=appointment.patient_id)
    if params.status is not None:
        sessions = sessions.filter(status=params.status)
    if params.current is not None:
        sessions = sessions.filter(superseded_at__isnull=params.current)
    sessions = sessions.order_by("-performed_on", "-appointment_id", "-revision")
    page = list(with_lines(sessions)[params.offset : params.offset + params.limit])
    return {
        "count": sessions.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [session_brief(s, list(s.injections.all())) for s in page],
    }


@router.get(
    "/{int:session_id}",
    response=SessionOut,
    summary="One session chart: lines, totals, pre-checks, warnings, revisions (audited)",
)
def read_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return _detail(request_workspace(request), session_id, audit=True)


# --- Charting ---------------------------------------------------------------------------------


@router.post(
    "",
    response={200: SessionOut, 201: SessionOut},
    summary="Open the visit's chart: a new draft (201) or the chart it has already (200)",
)
def open_session(request: HttpRequest, payload: OpenIn) -> Status[dict[str, Any]]:
    """The appointment must have started today or earlier and not be cancelled or missed.
    A new draft starts from the patient's previous signed session of the protocol (zones,
    volumes, needles and lots, with a lot no longer usable replaced by the first to
    expire). `protocol_version_id` is needed only for an appointment outside a course."""
    workspace = _charter(request)
    appointment = given(
        "appointment_id",
        "appointment",
        lambda: appointment_get(workspace=workspace, appointment_id=payload.appointment_id),
    )
    version = None
    if payload.protocol_version_id is not None:
        version = (
            ProtocolVersion.objects.filter(
                protocol__organisation=workspace.organisation, pk=payload.protocol_version_id
            )
            .select_related("protocol")
            .first()
        )
        if version is None:
            raise DomainError(
                "No protocol version with this id in your organisation.",
                field="protocol_version_id",
            )
    existed = TreatmentSession.objects.filter(
        appointment=appointment, superseded_at__isnull=True
    ).exists()
    session = session_open(
        appointment=appointment, protocol_version=version, acting_user=workspace.user
    )
    return Status(200 if existed else 201, _detail(workspace, session.pk))


@router.patch(
    "/{int:session_id}",
    response=SessionOut,
    summary="Replace a draft's content (every field; the lines replace the draft's lines)",
)
def update_session(request: HttpRequest, session_id: int, payload: ContentIn) -> dict[str, Any]:
    """A signed session is 409: correct it with an amendment."""
    workspace = _charter(request)
    session = session_get(workspace=workspace, session_id=session_id)
    content = _content(workspace, payload)
    _charting(
        "",
        lambda: session_update(session=session, content=content, acting_user=workspace.user),
    )
    return _detail(workspace, session_id)


@router.post(
    "/{int:session_id}/sign",
    response=SessionOut,
    summary="Sign a draft: stock is taken, the visit is done, the aftercare sheet is sent",
)
def sign_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    """422 when a pre-check fails (consent, screening), a line has no lot, a lot is
    recalled or expired on the session's date; 409 when the session is signed already or a
    lot has too little stock at the clinic. Nothing is written unless all of it succeeds."""
    workspace = _charter(request)
    session = session_get(workspace=workspace, session_id=session_id)
    _charting("", lambda: session_sign(session=session, acting_user=workspace.user))
    return _detail(workspace, session_id)


@router.post(
    "/{int:session_id}/amend",
    response={201: SessionOut},
    summary="Correct a signed session: a new signed revision; the corrected one is kept",
)
def amend_session(request: HttpRequest, session_id: int, payload: AmendIn) -> dict[str, Any]:
    """`content` is the whole corrected chart; every line needs its lot. Stock follows the
    difference. Only the current revision can be amended (409 otherwise)."""
    workspace = _charter(request)
    session = session_get(workspace=workspace, session_id=session_id)
    content = _content(workspace, payload.content, prefix="content.")
    revision = _charting(
        "content.",
        lambda: session_amend(
            session=session, content=content, reason=payload.reason, acting_user=workspace.user
        ),
    )
    return _detail(workspace, revision.pk)
