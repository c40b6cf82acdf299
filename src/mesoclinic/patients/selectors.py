"""Reads of patient data, always scoped to one organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.accounts.models import Organisation, User
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import (
    ConsentTemplate,
    HairLossAssessment,
    Patient,
    PatientIntake,
    SignedConsent,
)
from mesoclinic.patients.search import fold, query_terms


def patient_queryset(*, organisation: Organisation) -> QuerySet[Patient]:
    return Patient.objects.filter(organisation=organisation).select_related("preferred_clinic")


def patient_search(*, organisation: Organisation, query: str = "") -> QuerySet[Patient]:
    """Patients of the organisation whose search document holds every term of ``query``.

    Names in any order and without accents, record number, email or phone number in any
    common notation (see ``patients.search``).
    """
    patients = patient_queryset(organisation=organisation)
    for term in query_terms(query):
        patients = patients.filter(search_document__contains=term)
    return patients


def patient_get(*, workspace: Workspace, patient_id: int) -> Patient:
    """The patient, if they belong to the workspace's organisation; otherwise 404."""
    patient = patient_queryset(organisation=workspace.organisation).filter(pk=patient_id).first()
    if patient is None:
        raise Http404("No such patient")
    return patient


def patient_get_for_chart(*, workspace: Workspace, patient_id: int) -> Patient:
    """As ``patient_get``, and records that the user read this patient's chart."""
    patient = patient_get(workspace=workspace, patient_id=patient_id)
    _record_read(patient=patient, actor=workspace.user)
    return patient


def patient_get_own(*, user: User) -> Patient:
    """The patient record linked to a portal account, with a chart-read event; else 404."""
    patient = (
        Patient.objects.filter(user__pk=user.pk or 0)
        .select_related("organisation", "preferred_clinic")
        .first()
    )
    if patient is None:
        raise Http404("No patient record is linked to this account")
    _record_read(patient=patient, actor=user)
    return patient


def patient_list_record(*, workspace: Workspace, query: str, offset: int, returned: int) -> None:
    """Record a bulk read (an API page of patients): who, which search, how many rows."""
    audit_record(
        action="patient.list",
        actor=workspace.user,
        organisation=workspace.organisation,
        changes={
            "query": {"new": query},
            "offset": {"new": offset},
            "returned": {"new": returned},
        },
    )


def _record_read(*, patient: Patient, actor: User) -> None:
    audit_record(
        action="patient.read",
        actor=actor,
        organisation=patient.organisation,
        obj=patient,
        patient=patient,
    )


def likely_duplicates(
    *,
    organisation: Organisation,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    exclude_id: int | None = None,
) -> list[Patient]:
    """Patients with the same given name, family name (ignoring case) and date of birth.

    Names are compared folded (case and accents ignored) in Python: SQLite's case-insensitive
    matching covers ASCII only. Few patients share a date of birth, so few rows are read.
    """
    candidates = Patient.objects.filter(organisation=organisation, date_of_birth=date_of_birth)
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    given, family = fold(given_name), fold(family_name)
    matches = [
        patient
        for patient in candidates.order_by("pk")
        if fold(patient.given_name) == given and fold(patient.family_name) == family
    ]
    return matches[:5]


def assessments_of(*, patient: Patient) -> QuerySet[HairLossAssessment]:
    """The patient's assessments, newest first, with who recorded them."""
    return patient.assessments.select_related("assessed_by").order_by("-assessed_on", "-pk")


def intakes_of(*, patient: Patient) -> QuerySet[PatientIntake]:
    """The patient's intake questionnaires, newest first, with who recorded them."""
    return patient.intakes.select_related("recorded_by").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class ConsentStatus:
    template: ConsentTemplate
    state: str  # "signed", "outdated", "withdrawn" or "missing"
    consent: SignedConsent | None  # the signature the state is about


def consent_statuses(*, patient: Patient, templates: list[ConsentTemplate]) -> list[ConsentStatus]:
    """For each current template: an active signature on it, one on an older version only,
    only a withdrawn one, or none."""
    signatures = list(
        SignedConsent.objects.filter(patient=patient)
        .select_related("template", "witnessed_by", "withdrawn_by")
        .order_by("-signed_at", "-pk")
    )
    statuses = []
    for template in templates:
        mine = [c for c in signatures if c.template.code == template.code]
        active = [c for c in mine if c.is_active]
        current = next((c for c in active if c.template_id == template.pk), None)
        if current is not None:
            statuses.append(ConsentStatus(template, "signed", current))
        elif active:
            statuses.append(ConsentStatus(template, "outdated", active[0]))
        elif mine:
            statuses.append(ConsentStatus(template, "withdrawn", mine[0]))
        else:
            statuses.append(ConsentStatus(template, "missing", None))
    return statuses


def signed_consent_get(*, workspace: Workspace, consent_id: int) -> SignedConsent:
    """The signed consent if it belongs to the workspace's organisation; otherwise 404."""
    consent = (
        SignedConsent.objects.filter(organisation=workspace.organisation, pk=consent_id)
        .select_related("patient", "template", "witnessed_by")
        .first()
    )
    if consent is None:
        raise Http404("No such consent")
    return consent


def consent_template_get(*, workspace: Workspace, template_id: int) -> ConsentTemplate:
    """The template if it belongs to the workspace's organisation; otherwise 404."""
    template = ConsentTemplate.objects.filter(
        organisation=workspace.organisation, pk=template_id
    ).first()
    if template is None:
        raise Http404("No such consent")
    return template
