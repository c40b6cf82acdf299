from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace
from mesoclinic.patients.selectors import patient_get, patient_get_for_chart
from mesoclinic.screening.models import Screening
from mesoclinic.screening.schemas import OverrideIn, ScreeningIn, ScreeningOut
from mesoclinic.screening.selectors import screening_get, screenings_of
from mesoclinic.screening.services import screening_override, screening_run

router = Router()


def _clinician(request: HttpRequest) -> Workspace:
    workspace = request_workspace(request)
    if not workspace.has_role(*CLINICIANS):
        raise PermissionDenied("Only practitioners and admins screen patients.")
    return workspace


class ListParams(Schema):
    patient_id: int


@router.get("", response=list[ScreeningOut], summary="A patient's screenings (audited)")
def list_screenings(request: HttpRequest, params: Query[ListParams]) -> list[dict[str, object]]:
    workspace = request_workspace(request)
    patient = patient_get_for_chart(workspace=workspace, patient_id=params.patient_id)
    return [ScreeningOut.from_screening(s) for s in screenings_of(patient=patient)]


@router.post("", response={201: ScreeningOut}, summary="Screen a patient and sign the result")
def create_screening(request: HttpRequest, payload: ScreeningIn) -> dict[str, object]:
    workspace = _clinician(request)
    patient = patient_get(workspace=workspace, patient_id=payload.patient_id)
    screening = screening_run(
        patient=patient,
        protocol_kind=payload.protocol_kind,
        ingredients=payload.ingredients,
        screened_on=timezone.localdate(),
        acting_user=workspace.user,
    )
    return ScreeningOut.from_screening(screening)


def _one(workspace: Workspace, screening_id: int) -> Screening:
    found = screening_get(workspace=workspace, screening_id=screening_id)
    return screenings_of(patient=found.patient).get(pk=found.pk)


@router.get("/{int:screening_id}", response=ScreeningOut, summary="One screening (audited)")
def read_screening(request: HttpRequest, screening_id: int) -> dict[str, object]:
    workspace = request_workspace(request)
    screening = _one(workspace, screening_id)
    patient_get_for_chart(workspace=workspace, patient_id=screening.patient_id)
    return ScreeningOut.from_screening(screening)


@router.post(
    "/{int:screening_id}/override",
    response={201: ScreeningOut},
    summary="Override a defer or not-eligible screening with a written justification",
)
def override_screening(
    request: HttpRequest, screening_id: int, payload: OverrideIn
) -> dict[str, object]:
    workspace = _clinician(request)
    screening = screening_get(workspace=workspace, screening_id=screening_id)
    screening_override(
        screening=screening, justification=payload.justification, acting_user=workspace.user
    )
    return ScreeningOut.from_screening(_one(workspace, screening_id))
