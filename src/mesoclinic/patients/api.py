from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from mesoclinic.accounts.access import Workspace, request_workspace
from mesoclinic.accounts.models import Clinic
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.patients.schemas import (
    AssessmentIn,
    AssessmentOut,
    IntakeIn,
    IntakeOut,
    PatientIn,
    PatientOut,
    PatientPage,
    PatientPatch,
)
from mesoclinic.patients.selectors import (
    assessments_of,
    intakes_of,
    patient_get,
    patient_get_for_chart,
    patient_list_record,
    patient_search,
)
from mesoclinic.patients.services import (
    AssessmentDetails,
    PatientDetails,
    PossibleDuplicate,
    assessment_record,
    intake_record,
    patient_create,
    patient_update,
)

router = Router()


def _workspace(request: HttpRequest, *, write: bool = False) -> Workspace:
    workspace = request_workspace(request)
    if write and not workspace.can_write:
        raise PermissionDenied("Your role is read-only.")
    return workspace


def _clinic(workspace: Workspace, clinic_id: int | None) -> Clinic | None:
    if clinic_id is None:
        return None
    clinic = next((c for c in workspace.clinics if c.pk == clinic_id), None)
    if clinic is None:
        raise DomainError(
            "No clinic with this id in your organisation.", field="preferred_clinic_id"
        )
    return clinic


class SearchParams(Schema):
    q: str = Field("", max_length=200, description="Name, record number, phone or email")
    limit: int = Field(25, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


@router.get("", response=PatientPage, summary="List or search patients")
def list_patients(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    """Integrations read many records at once this way, so each call is audited."""
    workspace = _workspace(request)
    patients = patient_search(organisation=workspace.organisation, query=params.q)
    page = list(patients[params.offset : params.offset + params.limit])
    patient_list_record(
        workspace=workspace, query=params.q, offset=params.offset, returned=len(page)
    )
    return {
        "count": patients.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [PatientOut.from_patient(p) for p in page],
    }


def _raise_duplicate(exc: PossibleDuplicate) -> None:
    exc.problem_extra = {  # type: ignore[attr-defined]
        "possible_duplicates": [
            {
                "id": p.pk,
                "mrn": p.mrn,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "date_of_birth": p.date_of_birth.isoformat(),
            }
            for p in exc.duplicates
        ],
    }
    raise exc


@router.post("", response={201: PatientOut}, summary="Register a patient")
def create_patient(request: HttpRequest, payload: PatientIn) -> dict[str, object]:
    """A likely duplicate (same name and date of birth) answers 409 with the candidates,
    unless `confirm_not_duplicate` is true."""
    # The one response status declared (201) is the status of a plain return value; a
    # (status, body) tuple is deprecated in django-ninja 1.5+.
    workspace = _workspace(request, write=True)
    details = PatientDetails(
        given_name=payload.given_name,
        family_name=payload.family_name,
        date_of_birth=payload.date_of_birth,
        sex_at_birth=payload.sex_at_birth.value,
        email=payload.email,
        phone=payload.phone,
        address=payload.address,
        preferred_clinic=_clinic(workspace, payload.preferred_clinic_id),
    )
    try:
        patient = patient_create(
            organisation=workspace.organisation,
            details=details,
            acting_user=workspace.user,
            confirm_not_duplicate=payload.confirm_not_duplicate,
        )
    except PossibleDuplicate as exc:
        _raise_duplicate(exc)
    return PatientOut.from_patient(patient)


@router.get("/{int:patient_id}", response=PatientOut, summary="Read a patient (audited)")
def read_patient(request: HttpRequest, patient_id: int) -> dict[str, object]:
    workspace = _workspace(request)
    return PatientOut.from_patient(
        patient_get_for_chart(workspace=workspace, patient_id=patient_id)
    )


@router.patch("/{int:patient_id}", response=PatientOut, summary="Change a patient's details")
def update_patient(
    request: HttpRequest, patient_id: int, payload: PatientPatch
) -> dict[str, object]:
    """Only the fields sent change. A new name or date of birth matching another patient
    answers 409 with the candidates, unless `confirm_not_duplicate` is true."""
    workspace = _workspace(request, write=True)
    patient: Patient = patient_get(workspace=workspace, patient_id=patient_id)
    given = payload.model_dump(exclude_unset=True)
    confirm = bool(given.pop("confirm_not_duplicate", False))
    changes: dict[str, object] = {}
    for name, value in given.items():
        if name == "preferred_clinic_id":
            changes["preferred_clinic"] = _clinic(workspace, value)
        elif name == "sex_at_birth":
            changes[name] = str(value)
        else:
            changes[name] = value
    try:
        updated = patient_update(
            patient=patient,
            changes=changes,
            acting_user=workspace.user,
            confirm_not_duplicate=confirm,
        )
    except PossibleDuplicate as exc:
        _raise_duplicate(exc)
    return PatientOut.from_patient(updated)


@router.get(
    "/{int:patient_id}/assessments",
    response=list[AssessmentOut],
    summary="A patient's hair-loss assessments, newest first (audited)",
)
def list_assessments(request: HttpRequest, patient_id: int) -> list[dict[str, object]]:
    workspace = _workspace(request)
    patient = patient_get_for_chart(workspace=workspace, patient_id=patient_id)
    return [AssessmentOut.from_assessment(a) for a in assessments_of(patient=patient)]


@router.post(
    "/{int:patient_id}/assessments",
    response={201: AssessmentOut},
    summary="Record a hair-loss assessment",
)
def create_assessment(
    request: HttpRequest, patient_id: int, payload: AssessmentIn
) -> dict[str, object]:
    workspace = _workspace(request, write=True)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    assessment = assessment_record(
        patient=patient,
        details=AssessmentDetails(
            **payload.model_dump(exclude={"affected_zones"}),
            affected_zones=tuple(payload.affected_zones),
        ),
        acting_user=workspace.user,
    )
    return AssessmentOut.from_assessment(assessment)


@router.get(
    "/{int:patient_id}/intakes",
    response=list[IntakeOut],
    summary="A patient's intake questionnaires, newest first (audited)",
)
def list_intakes(request: HttpRequest, patient_id: int) -> list[dict[str, object]]:
    workspace = _workspace(request)
    patient = patient_get_for_chart(workspace=workspace, patient_id=patient_id)
    return [IntakeOut.from_intake(i) for i in intakes_of(patient=patient)]


@router.post(
    "/{int:patient_id}/intakes",
    response={201: IntakeOut},
    summary="Save an intake questionnaire (a new version; unanswered questions stay null)",
)
def create_intake(request: HttpRequest, patient_id: int, payload: IntakeIn) -> dict[str, object]:
    workspace = _workspace(request, write=True)
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    intake = intake_record(
        patient=patient, answers=payload.model_dump(), acting_user=workspace.user
    )
    return IntakeOut.from_intake(intake)
