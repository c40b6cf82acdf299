from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.patients.models import Patient
from mesoclinic.screening.models import Screening


def screenings_of(*, patient: Patient) -> QuerySet[Screening]:
    """The patient's screenings, newest first, with who signed and any override."""
    return (
        Screening.objects.filter(patient=patient)
        .select_related("screened_by", "override", "override__overridden_by")
        .order_by("-created_at", "-pk")
    )


def screening_get(*, workspace: Workspace, screening_id: int) -> Screening:
    """The screening if it belongs to the workspace's organisation; otherwise 404."""
    screening = (
        Screening.objects.filter(organisation=workspace.organisation, pk=screening_id)
        .select_related("patient", "patient__organisation")
        .first()
    )
    if screening is None:
        raise Http404("No such screening")
    return screening


def screening_permits(*, patient: Patient, protocol_kind: str) -> bool:
    """Whether the latest screening for this kind of treatment allows starting a course:
    eligible (with or without precautions), or overridden."""
    latest = screenings_of(patient=patient).filter(protocol_kind=protocol_kind).first()
    if latest is None:
        return False
    allowed = {"eligible", "eligible_with_precautions"}
    return latest.outcome in allowed or hasattr(latest, "override")
