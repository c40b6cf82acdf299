"""What the PDF progress report says besides the charts and photos: the treatment received
and the side effects recorded, in words a patient understands (no claim of effect)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min

from mesoclinic.accounts.access import Workspace
from mesoclinic.core import clock
from mesoclinic.outcomes.selectors import Progress
from mesoclinic.patients.models import Patient
from mesoclinic.safety.selectors import events_of_patient, term_label
from mesoclinic.treatments.models import Injection, TreatmentSession


def treatment_summary(patient: Patient) -> dict[str, Any]:
    """The signed sessions in force: how many, first and last date, per protocol, and the
    products given (three queries)."""
    sessions = TreatmentSession.objects.in_force().filter(patient=patient)
    overall = sessions.aggregate(
        count=Count("pk"), first=Min("performed_on"), last=Max("performed_on")
    )
    by_protocol = list(
        sessions.values("protocol_version__name")
        .annotate(count=Count("pk"), first=Min("performed_on"), last=Max("performed_on"))
        .order_by("first")
    )
    products = list(
        Injection.objects.filter(session__in=sessions)
        .values("product__name")
        .annotate(sessions=Count("session", distinct=True))
        .order_by("product__name")
    )
    return {"overall": overall, "by_protocol": by_protocol, "products": products}


def side_effects_summary(patient: Patient) -> list[dict[str, Any]]:
    return [
        {
            "label": term_label(event),
            "onset": event.onset_at.astimezone(event.clinic.tzinfo).date(),
            "grade": event.grade,
            "outcome": event.get_outcome_display(),
            "resolved_on": event.resolved_on,
        }
        for event in reversed(events_of_patient(patient=patient))
    ]


def report_context(*, workspace: Workspace, patient: Patient, progress: Progress) -> dict[str, Any]:
    return {
        "patient": patient,
        "organisation": workspace.organisation,
        "clinic": workspace.clinic,
        "progress": progress,
        "treatment": treatment_summary(patient),
        "side_effects": side_effects_summary(patient),
        "printed_on": clock.now().astimezone(workspace.tzinfo).date(),
        "printed_by": workspace.user,
    }
