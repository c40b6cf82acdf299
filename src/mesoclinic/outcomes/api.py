"""/api/v1/measurements, /api/v1/photos and /api/v1/outcomes: record and correct outcome
visits with their measurements, upload and remove standardized photos, read a patient's
progress and the cohort analytics.

Every staff role reads a patient's outcomes; admins and practitioners write (front desk and
auditor: 403). The cohort is for admins, practitioners and auditors. An id in the path of
another organisation is a 404; an id in the body or the query that is not the
organisation's is a 422 naming the field. Reading a visit, a patient's progress, their
measurements or photos is audited as ``outcomes.read``; a photo's file as ``photo.read``;
the cohort as ``outcomes.cohort_read``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace
from mesoclinic.accounts.models import Clinic, Role, User
from mesoclinic.api.access import given, writer
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError
from mesoclinic.outcomes import cohort, measures
from mesoclinic.outcomes.models import Landmark, Measurement, OutcomePhoto, OutcomeVisit
from mesoclinic.outcomes.schemas import (
    CohortParams,
    CohortResultOut,
    MeasurementIn,
    MeasurementListParams,
    MeasurementPage,
    PhotoIn,
    PhotoListParams,
    PhotoOut,
    PhotoPage,
    PhotoRemoveIn,
    ProgressOut,
    VisitIn,
    VisitOut,
    VisitPatch,
    cohort_result_out,
    measurement_row_out,
    photo_out,
    progress_out,
    visit_out,
)
from mesoclinic.outcomes.selectors import photo_get, progress_of, record_read, visit_get
from mesoclinic.outcomes.services import (
    MeasurementInput,
    VisitInput,
    outcome_photo_add,
    outcome_photo_remove,
    outcome_visit_record,
    outcome_visit_update,
)
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import Course
from mesoclinic.treatments.images import prepare_upload
from mesoclinic.treatments.views import photo_file_response

measurements_router = Router()
# Writes are for clinicians; the other roles get 403 with this reason.
_writer = partial(
    writer, roles=CLINICIANS, refusal="Only practitioners and admins record outcomes."
)
photos_router = Router()
outcomes_router = Router()

T = TypeVar("T")
COHORT_READERS = (Role.ADMIN, Role.PRACTITIONER, Role.AUDITOR)


# --- Access and ids -------------------------------------------------------------------------


def _first_or_404(row: T | None) -> T:
    if row is None:
        raise Http404
    return row


def _patient(workspace: Workspace, field: str, patient_id: int) -> Patient:
    return given(field, "patient", lambda: patient_get(workspace=workspace, patient_id=patient_id))


def _clinic(workspace: Workspace, clinic_id: int) -> Clinic:
    return given(
        "clinic",
        "clinic",
        lambda: _first_or_404(workspace.organisation.clinics.filter(pk=clinic_id).first()),
    )


def _course(workspace: Workspace, field: str, course_id: int | None) -> Course | None:
    if course_id is None:
        return None
    return given(
        field,
        "course",
        lambda: _first_or_404(
            Course.objects.filter(organisation=workspace.organisation, pk=course_id).first()
        ),
    )


def _landmark(workspace: Workspace, landmark_id: int | None) -> Landmark | None:
    if landmark_id is None:
        return None
    return given(
        "landmark",
        "landmark",
        lambda: _first_or_404(
            Landmark.objects.filter(organisation=workspace.organisation, pk=landmark_id).first()
        ),
    )


def _visit(workspace: Workspace, field: str, visit_id: int) -> OutcomeVisit:
    return given(field, "visit", lambda: visit_get(workspace=workspace, visit_id=visit_id))


def _edge(call: Callable[[], T], sent: Sequence[MeasurementIn] = ()) -> T:
    """The service's field names as this API takes them: a measure code names the item of
    ``measurements`` that carries it."""
    try:
        return call()
    except DomainError as error:
        index = next((i for i, m in enumerate(sent) if m.measure == error.field), None)
        if index is not None:
            raise type(error)(error.message, field=f"measurements.{index}") from error
        raise


def _photo_url(photo_id: int, variant: str) -> str:
    return f"{reverse('api:read_photo_image', args=[photo_id])}?variant={variant}"


def _audit_read(workspace: Workspace, patient: Patient | None, what: str, **changes: Any) -> None:
    """A read of outcomes: of one patient (``record_read``'s event with the filters), or a
    list across patients (no patient)."""
    audit_record(
        action="outcomes.read" if patient is not None else "outcomes.list",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=patient,
        patient=patient,
        changes={"what": {"new": what}, **{k: {"new": v} for k, v in changes.items()}},
    )


# --- Measurements and visits ----------------------------------------------------------------


@measurements_router.get(
    "", response=MeasurementPage, summary="Measurements, oldest visit first (audited)"
)
def list_measurements(request: HttpRequest, params: Query[MeasurementListParams]) -> dict[str, Any]:
    """Filter by patient, measure, review point and course. At most `limit` (200) per call;
    page with `offset`; `count` is the total."""
    workspace = request_workspace(request)
    rows = Measurement.objects.filter(organisation=workspace.organisation).select_related("visit")
    patient = None
    if params.patient is not None:
        patient = _patient(workspace, "patient", params.patient)
        rows = rows.filter(patient=patient)
    if params.course is not None:
        rows = rows.filter(course=_course(workspace, "course", params.course))
    if params.measure is not None:
        rows = rows.filter(measure=params.measure)
    if params.point is not None:
        rows = rows.filter(point=params.point)
    rows = rows.order_by("patient_id", "visit__measured_on", "visit_id", "measure", "pk")
    page = list(rows[params.offset : params.offset + params.limit])
    _audit_read(
        workspace,
        patient,
        "measurements",
        filters=params.model_dump_json(exclude_none=True),
        returned=len(page),
    )
    return {
        "count": rows.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [measurement_row_out(m) for m in page],
    }


def _inputs(items: Sequence[MeasurementIn]) -> tuple[MeasurementInput, ...]:
    return tuple(
        MeasurementInput(measure=m.measure, value=float(m.value), method=m.method, device=m.device)
        for m in items
    )


def _read_visit(workspace: Workspace, visit_id: int) -> dict[str, Any]:
    return visit_out(visit_get(workspace=workspace, visit_id=visit_id))


@measurements_router.post(
    "/visits", response={201: VisitOut}, summary="Record an outcome visit with its measurements"
)
def create_visit(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    """One baseline per course, measured before its first session; a review is not dated
    before its course's baseline; no visit before the patient's birth or in the future."""
    workspace = _writer(request)
    patient = _patient(workspace, "patient", payload.patient)
    data = VisitInput(
        point=payload.point,
        measured_on=payload.measured_on,
        clinic=_clinic(workspace, payload.clinic),
        course=_course(workspace, "course", payload.course),
        stage_scale=payload.stage_scale,
        stage=payload.stage,
        landmark=_landmark(workspace, payload.landmark),
        notes=payload.notes,
        measurements=_inputs(payload.measurements),
    )
    visit = _edge(
        lambda: outcome_visit_record(patient=patient, data=data, acting_user=workspace.user),
        payload.measurements,
    )
    return Status(201, _read_visit(workspace, visit.pk))


@measurements_router.get(
    "/visits/{int:visit_id}", response=VisitOut, summary="One outcome visit (audited)"
)
def read_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    workspace = request_workspace(request)
    visit = visit_get(workspace=workspace, visit_id=visit_id)
    record_read(workspace=workspace, patient=visit.patient, what="visit")
    return visit_out(visit)


_NOT_NULL = ("point", "measured_on", "clinic", "stage_scale", "stage", "notes", "measurements")


def _current_measurements(visit: OutcomeVisit) -> tuple[MeasurementInput, ...]:
    rows = list(visit.measurements.all())
    photos = {
        p.pk: p
        for p in OutcomePhoto.objects.filter(pk__in=[m.photo_id for m in rows if m.photo_id])
    }
    return tuple(
        MeasurementInput(
            measure=m.measure,
            value=m.value,
            method=m.method,
            device=m.device,
            photo=photos.get(m.photo_id) if m.photo_id else None,
        )
        for m in rows
    )


def _sent_measurements(
    visit: OutcomeVisit, items: Sequence[MeasurementIn]
) -> tuple[MeasurementInput, ...]:
    """The new set; a number still taken by automatic analysis keeps the close-up it was
    read from."""
    kept = {m.measure: m for m in _current_measurements(visit) if m.photo is not None}
    out = []
    for m in items:
        old = kept.get(m.measure)
        method = m.method or measures.get(m.measure).default_method().value
        photo = old.photo if old is not None and old.method == method else None
        out.append(
            MeasurementInput(
                measure=m.measure,
                value=float(m.value),
                method=m.method,
                device=m.device,
                photo=photo,
            )
        )
    return tuple(out)


def _merged(workspace: Workspace, visit: OutcomeVisit, payload: VisitPatch) -> VisitInput:
    """The visit as it is, with the fields sent (``course`` and ``landmark`` may be null)."""
    sent = payload.model_fields_set - {"version"}
    for name in sorted(sent):
        if name in _NOT_NULL and getattr(payload, name) is None:
            raise DomainError("This field cannot be null.", field=name)

    def value(name: str) -> Any:
        return getattr(payload, name) if name in sent else getattr(visit, name)

    return VisitInput(
        point=value("point"),
        measured_on=value("measured_on"),
        clinic=_clinic(workspace, payload.clinic) if payload.clinic is not None else visit.clinic,
        course=_course(workspace, "course", payload.course) if "course" in sent else visit.course,
        stage_scale=value("stage_scale"),
        stage=value("stage"),
        landmark=_landmark(workspace, payload.landmark) if "landmark" in sent else visit.landmark,
        notes=value("notes"),
        measurements=(
            _sent_measurements(visit, payload.measurements)
            if payload.measurements is not None
            else _current_measurements(visit)
        ),
    )


@measurements_router.patch(
    "/visits/{int:visit_id}", response=VisitOut, summary="Correct an outcome visit"
)
def update_visit(request: HttpRequest, visit_id: int, payload: VisitPatch) -> dict[str, Any]:
    """Only the fields sent change; `measurements`, when sent, replace the set. Send the
    `version` you read: a visit changed since is a 409 (without it, a change made while
    this request merged is a 409 too)."""
    workspace = _writer(request)
    visit = visit_get(workspace=workspace, visit_id=visit_id)
    data = _merged(workspace, visit, payload)
    _edge(
        lambda: outcome_visit_update(
            visit=visit,
            data=data,
            # The merge above read the visit without a lock: a change made since is a 409.
            expected_version=payload.version if payload.version is not None else visit.version,
            acting_user=workspace.user,
        ),
        payload.measurements or (),
    )
    return _read_visit(workspace, visit.pk)


# --- Photos ---------------------------------------------------------------------------------


@photos_router.post(
    "", response={201: PhotoOut}, summary="Upload a standardized photo of a visit (multipart)"
)
def upload_photo(
    request: HttpRequest, data: Form[PhotoIn], file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    """The photo is re-encoded without its metadata (EXIF, location) and thumbnailed. A
    retake of a view keeps the earlier photo. At most PHOTO_MAX_MB megabytes."""
    workspace = _writer(request)
    visit = _visit(workspace, "visit", data.visit)
    try:
        prepared = prepare_upload(file, max_mb=settings.PHOTO_MAX_MB)
    except ValueError as error:
        raise DomainError(str(error), field="file") from None
    photo = outcome_photo_add(
        visit=visit,
        view=data.view,
        photo=prepared,
        caption=data.caption,
        um_per_px=data.um_per_px,
        acting_user=workspace.user,
    )
    return Status(201, photo_out(photo, photo_url=_photo_url))


@photos_router.get("", response=PhotoPage, summary="Photos of a visit or a patient (audited)")
def list_photos(request: HttpRequest, params: Query[PhotoListParams]) -> dict[str, Any]:
    """Give `visit` or `patient` (or both); newest first within each visit and view."""
    workspace = request_workspace(request)
    if params.visit is None and params.patient is None:
        raise DomainError("Give a visit or a patient.", field="visit")
    photos = OutcomePhoto.objects.filter(organisation=workspace.organisation)
    patient = None
    if params.patient is not None:
        patient = _patient(workspace, "patient", params.patient)
        photos = photos.filter(patient=patient)
    if params.visit is not None:
        visit = _visit(workspace, "visit", params.visit)
        patient = patient or visit.patient
        photos = photos.filter(visit=visit)
    photos = photos.order_by("visit__measured_on", "visit_id", "view", "-created_at", "-pk")
    page = list(photos[params.offset : params.offset + params.limit])
    _audit_read(
        workspace,
        patient,
        "photos",
        filters=params.model_dump_json(exclude_none=True),
        returned=len(page),
    )
    return {
        "count": photos.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [photo_out(p, photo_url=_photo_url) for p in page],
    }


@photos_router.get("/{int:photo_id}", response=PhotoOut, summary="A photo's details (audited)")
def read_photo(request: HttpRequest, photo_id: int) -> dict[str, Any]:
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    record_read(workspace=workspace, patient=photo.patient, what="photo")
    return photo_out(photo, photo_url=_photo_url)


@photos_router.get(
    "/{int:photo_id}/image",
    summary="The photo as a JPEG (audited, never cached)",
    url_name="read_photo_image",
    openapi_extra={
        "responses": {
            200: {
                "description": "The JPEG",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def read_photo_image(
    request: HttpRequest, photo_id: int, variant: Literal["full", "thumb"] = "full"
) -> FileResponse:
    """`variant=full` (default) or `thumb` (at most 320 px)."""
    workspace = request_workspace(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    return photo_file_response(workspace=workspace, photo=photo, variant=variant)


@photos_router.delete("/{int:photo_id}", response={204: None}, summary="Remove a photo")
def remove_photo(request: HttpRequest, photo_id: int, payload: PhotoRemoveIn) -> Status[None]:
    """For a photo taken by mistake: the audit keeps who, when, why and its SHA-256; the
    files are deleted. A number read from it stays, without its link to the photo."""
    workspace = _writer(request)
    photo = photo_get(workspace=workspace, photo_id=photo_id)
    outcome_photo_remove(photo=photo, reason=payload.reason, acting_user=workspace.user)
    return Status(204, None)


# --- Progress and cohorts -------------------------------------------------------------------


@outcomes_router.get(
    "/patients/{int:patient_id}/progress",
    response=ProgressOut,
    summary="A patient's measures over time, with the change from baseline (audited)",
)
def read_progress(request: HttpRequest, patient_id: int) -> dict[str, Any]:
    """Each number is compared with the latest baseline dated on or before it; the -3..+3
    assessments and satisfaction carry no change. `session_dates` are the days sessions
    were done. The same number of queries whatever the number of visits."""
    workspace = request_workspace(request)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    record_read(workspace=workspace, patient=patient, what="progress")
    return progress_out(progress_of(patient), photo_url=_photo_url)


def _protocol(workspace: Workspace, field: str, protocol_id: int | None) -> Protocol | None:
    if protocol_id is None:
        return None
    return given(
        field,
        "protocol",
        lambda: _first_or_404(
            Protocol.objects.filter(organisation=workspace.organisation, pk=protocol_id)
            .select_related("current_version")
            .first()
        ),
    )


def _practitioner(workspace: Workspace, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = (
        User.objects.filter(
            pk=user_id,
            memberships__organisation=workspace.organisation,
            memberships__role__in=CLINICIANS,
        )
        .distinct()
        .first()
    )
    if user is None:
        raise DomainError(
            "No practitioner with this id in your organisation.", field="practitioner"
        )
    return user


@outcomes_router.get(
    "/cohort",
    response=CohortResultOut,
    summary="Outcomes of a cohort of courses, optionally compared with another protocol",
)
def read_cohort(request: HttpRequest, params: Query[CohortParams]) -> dict[str, Any]:
    """Each course's number at a review point is paired with its baseline: mean change with
    a paired t interval, responders (a change of at least `threshold_percent` in the better
    direction) with a Wilson interval; with `compare_with`, the differences (first minus
    second) by Welch and Newcombe. Observational data: see `note`."""
    workspace = request_workspace(request)
    if not workspace.has_role(*COHORT_READERS):
        raise PermissionDenied("The front desk does not see the cohort outcomes.")
    if params.started_from and params.started_to and params.started_to < params.started_from:
        raise DomainError("The end of the period is before its start.", field="started_to")
    first = _protocol(workspace, "protocol", params.protocol)
    second = _protocol(workspace, "compare_with", params.compare_with)
    if second is not None and first is None:
        raise DomainError("Choose the protocol to compare.", field="protocol")
    if second is not None and first is not None and second.pk == first.pk:
        raise DomainError("Choose a different protocol to compare with.", field="compare_with")
    practitioner = _practitioner(workspace, params.practitioner)
    scale, _sep, stage = (params.stage or "").partition(":")
    measure = measures.get(params.measure)

    def outcomes_of(protocol: Protocol | None) -> cohort.Cohort:
        return cohort.cohort_outcomes(
            organisation_id=workspace.organisation.pk,
            cohort=cohort.CohortFilter(
                protocol_id=protocol.pk if protocol else None,
                formulation=params.formulation,
                practitioner_id=practitioner.pk if practitioner else None,
                sex=params.sex or "",
                stage_scale=scale,
                stage=stage,
                started_from=params.started_from,
                started_to=params.started_to,
            ),
            measure=measure,
            threshold_percent=params.threshold_percent,
            label=cohort.protocol_label(protocol),
        )

    result = outcomes_of(first)
    other = outcomes_of(second) if second is not None else None
    audit_record(
        action="outcomes.cohort_read",
        actor=workspace.user,
        organisation=workspace.organisation,
        changes={"query": {"new": request.GET.urlencode()}, "via": {"new": "api"}},
    )
    return cohort_result_out(
        first=result,
        first_protocol=first.pk if first else None,
        second=other,
        second_protocol=second.pk if second else None,
        comparison=cohort.compare(result, other) if other is not None else None,
    )
