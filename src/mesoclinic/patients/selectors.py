"""Reads of patient data, always scoped to one organisation."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.accounts.models import Organisation, User
from mesoclinic.core.audit import audit_record
from mesoclinic.patients.models import Patient
from mesoclinic.patients.validators import phone_digits


def patient_queryset(*, organisation: Organisation) -> QuerySet[Patient]:
    return Patient.objects.filter(organisation=organisation).select_related("preferred_clinic")


def patient_search(*, organisation: Organisation, query: str = "") -> QuerySet[Patient]:
    """Patients of the organisation matching ``query`` on name, record number, phone or email.

    Every word must match a name (in any order), so "ana silva" finds Ana Maria Silva.
    """
    patients = patient_queryset(organisation=organisation)
    query = " ".join(query.split())
    if not query:
        return patients
    digits = phone_digits(query)
    exact = Q(mrn__iexact=query) | Q(email__iexact=query)
    if len(digits) >= 4 and len(digits) >= len(query.replace(" ", "")) - 2:
        exact |= Q(phone_digits__contains=digits)
    names = Q()
    for word in query.split(" "):
        names &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
    return patients.filter(exact | names | Q(email__istartswith=query))


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
    """Patients with the same given name, family name (ignoring case) and date of birth."""
    matches = Patient.objects.filter(
        organisation=organisation,
        given_name__iexact=given_name.strip(),
        family_name__iexact=family_name.strip(),
        date_of_birth=date_of_birth,
    )
    if exclude_id is not None:
        matches = matches.exclude(pk=exclude_id)
    return list(matches.order_by("pk")[:5])
