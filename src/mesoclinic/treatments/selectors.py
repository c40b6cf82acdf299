"""Reads of session charts, always scoped by the organisation (404 for any other)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient
from mesoclinic.treatments.models import (
    AftercareSheet,
    Injection,
    SessionPhoto,
    TreatmentSession,
)


def session_queryset(*, organisation_id: int) -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.filter(organisation_id=organisation_id).select_related(
        "patient",
        "clinic",
        "practitioner",
        "appointment",
        "protocol_version",
        "anaesthesia_product",
        "signed_by",
    )


def with_lines(sessions: QuerySet[TreatmentSession]) -> QuerySet[TreatmentSession]:
    return sessions.prefetch_related(
        Prefetch(
            "injections",
            queryset=Injection.objects.select_related("product", "lot", "lot__product").order_by(
                "position"
            ),
        )
    )


def session_get(*, workspace: Workspace, session_id: int) -> TreatmentSession:
    """One session revision of the workspace's organisation, lines loaded; else 404."""
    session = (
        with_lines(session_queryset(organisation_id=workspace.organisation.pk))
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise Http404("No such session")
    return session


def session_get_for_read(*, workspace: Workspace, session_id: int) -> TreatmentSession:
    """As ``session_get``, recording the read of the patient's chart."""
    session = session_get(workspace=workspace, session_id=session_id)
    audit_record(
        action="session.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=session,
        patient=session.patient,
    )
    return session


def revisions_of(session: TreatmentSession) -> list[TreatmentSession]:
    """Every revision of the session's visit, oldest first (the history of amendments)."""
    return list(
        with_lines(
            TreatmentSession.objects.filter(appointment_id=session.appointment_id).select_related(
                "signed_by", "anaesthesia_product"
            )
        ).order_by("revision")
    )


def current_session_of(*, appointment_id: int) -> TreatmentSession | None:
    return (
        TreatmentSession.objects.filter(appointment_id=appointment_id, superseded_at__isnull=True)
        .select_related("signed_by")
        .first()
    )


def photos_of(*, appointment_id: int) -> list[SessionPhoto]:
    return list(
        SessionPhoto.objects.filter(appointment_id=appointment_id).order_by(
            "moment", "created_at", "pk"
        )
    )


def photo_get(*, workspace: Workspace, photo_id: int) -> SessionPhoto:
    photo = (
        SessionPhoto.objects.filter(organisation=workspace.organisation, pk=photo_id)
        .select_related("patient", "session")
        .first()
    )
    if photo is None:
        raise Http404("No such photo")
    return photo


def sessions_of_patient(*, patient: Patient, limit: int = 100) -> list[TreatmentSession]:
    """The patient's current session revisions (drafts and signed), newest first, with
    their lines: the chart's Sessions tab. Three queries whatever the history's size."""
    return list(
        with_lines(
            session_queryset(organisation_id=patient.organisation_id).filter(
                patient=patient, superseded_at__isnull=True
            )
        ).order_by("-performed_on", "-pk")[:limit]
    )


def aftercare_sheet_of(session: TreatmentSession) -> AftercareSheet | None:
    """The sheet given when the visit was first signed (amendments do not re-issue it)."""
    return (
        AftercareSheet.objects.filter(session__appointment_id=session.appointment_id)
        .order_by("pk")
        .first()
    )
