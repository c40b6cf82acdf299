"""Every write to the patient record."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Organisation, User
from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.patients.consents import SHIPPED as SHIPPED_CONSENTS
from mesoclinic.patients.intake import INTAKE_FIELDS
from mesoclinic.patients.models import (
    ConsentTemplate,
    HairLossAssessment,
    Patient,
    PatientIntake,
    SignedConsent,
)
from mesoclinic.patients.search import search_document
from mesoclinic.patients.selectors import likely_duplicates

AUDITED_FIELDS = [
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "email",
    "phone",
    "address",
    "preferred_clinic",
]


@dataclass(frozen=True)
class PatientDetails:
    """The editable part of a patient record, already validated at the edge."""

    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex_at_birth: str
    email: str = ""
    phone: str = ""
    address: str = ""
    preferred_clinic: Clinic | None = None

    @classmethod
    def of(cls, patient: Patient) -> PatientDetails:
        return cls(**{name: getattr(patient, name) for name in cls.__dataclass_fields__})


class PossibleDuplicate(Conflict):
    """Another patient of the organisation has the same name and date of birth."""

    def __init__(self, duplicates: list[Patient]) -> None:
        super().__init__(
            _(
                "A patient with the same name and date of birth already exists. "
                "Check it is not the same person, then confirm to create a new record."
            )
        )
        self.duplicates = duplicates


def _check_clinic(organisation: Organisation, details: PatientDetails) -> None:
    clinic = details.preferred_clinic
    if clinic is not None and clinic.organisation_id != organisation.pk:
        raise DomainError(
            _("That clinic belongs to another organisation."), field="preferred_clinic"
        )


def _search_document(details: PatientDetails, mrn: str) -> str:
    return search_document(
        given_name=details.given_name,
        family_name=details.family_name,
        mrn=mrn,
        email=details.email,
        phone=details.phone,
    )


def _next_mrn(organisation: Organisation) -> str:
    # The row lock serialises concurrent creates on PostgreSQL; SQLite's IMMEDIATE
    # transactions already admit one writer at a time.
    # no_key: record numbers need the row to themselves, not its key (see scheduling).
    locked = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
    locked.mrn_last_number += 1
    locked.save(update_fields=["mrn_last_number"])
    return f"{locked.mrn_prefix}-{locked.mrn_last_number:06d}"


@transaction.atomic
def patient_create(
    *,
    organisation: Organisation,
    details: PatientDetails,
    acting_user: User,
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Register a patient with the next record number of the organisation.

    Raises ``PossibleDuplicate`` when a patient with the same name and date of birth
    exists, unless the caller confirms this is a different person.
    """
    _check_clinic(organisation, details)
    if not confirm_not_duplicate:
        duplicates = likely_duplicates(
            organisation=organisation,
            given_name=details.given_name,
            family_name=details.family_name,
            date_of_birth=details.date_of_birth,
        )
        if duplicates:
            raise PossibleDuplicate(duplicates)
    mrn = _next_mrn(organisation)
    patient = Patient.objects.create(
        organisation=organisation,
        mrn=mrn,
        search_document=_search_document(details, mrn),
        created_by=acting_user,
        **asdict(details) | {"preferred_clinic": details.preferred_clinic},
    )
    audit_record(
        action="patient.create",
        actor=acting_user,
        organisation=organisation,
        obj=patient,
        patient=patient,
        changes=created(snapshot(patient, AUDITED_FIELDS))
        | ({"confirmed_not_duplicate": {"new": True}} if confirm_not_duplicate else {}),
    )
    return patient


class StaleEdit(Conflict):
    """The record changed after the form was opened; saving would undo someone's change."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Someone else changed this patient's details after you opened the form, so "
                "nothing was saved. Check the details below and save again."
            )
        )


_DUPLICATE_FIELDS = {"given_name", "family_name", "date_of_birth"}


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    changes: Mapping[str, Any],
    acting_user: User,
    expected_updated_at: dt.datetime | None = None,
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Apply ``changes`` (some fields of ``PatientDetails``) to the locked patient row.

    Only the named fields change, read and written under the row lock, so two people
    editing different fields do not undo each other. ``expected_updated_at`` (when the
    form was opened) refuses an edit of a record changed since, with ``StaleEdit``. A new
    name or date of birth that matches another patient raises ``PossibleDuplicate`` unless
    confirmed. The audit event lists each changed field, old and new; no change, no event.
    """
    unknown = set(changes) - set(PatientDetails.__dataclass_fields__)
    if unknown:
        raise ValueError(f"patient_update got unknown fields: {sorted(unknown)}")
    patient = Patient.objects.select_for_update().select_related("organisation").get(pk=patient.pk)
    if expected_updated_at is not None and patient.updated_at != expected_updated_at:
        raise StaleEdit()
    details = replace(PatientDetails.of(patient), **changes)
    _check_clinic(patient.organisation, details)
    before = snapshot(patient, AUDITED_FIELDS)
    for name, value in asdict(details).items():
        setattr(patient, name, value)
    patient.preferred_clinic = details.preferred_clinic
    changed = diff(before, snapshot(patient, AUDITED_FIELDS))
    if not changed:
        return patient
    if _DUPLICATE_FIELDS & set(changed) and not confirm_not_duplicate:
        duplicates = likely_duplicates(
            organisation=patient.organisation,
            given_name=details.given_name,
            family_name=details.family_name,
            date_of_birth=details.date_of_birth,
            exclude_id=patient.pk,
        )
        if duplicates:
            raise PossibleDuplicate(duplicates)
    patient.search_document = _search_document(details, patient.mrn)
    patient.save()
    audit_record(
        action="patient.update",
        actor=acting_user,
        organisation=patient.organisation,
        obj=patient,
        patient=patient,
        changes=changed
        | (
            {"confirmed_not_duplicate": {"new": True}}
            if confirm_not_duplicate and _DUPLICATE_FIELDS & set(changed)
            else {}
        ),
    )
    return patient


@transaction.atomic
def patient_portal_account_create(
    *, patient: Patient, email: str, password: str | None, acting_user: User | None
) -> User:
    """Give the patient a sign-in for the portal, where they see only their own record."""
    if patient.user_id is not None:
        raise Conflict(_("This patient already has a portal account."))
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("Another account uses this email address."), field="email")
    user = User.objects.create_user(email=email, password=password, full_name=patient.full_name)
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])
    audit_record(
        action="patient.portal_account_create",
        actor=acting_user,
        organisation=patient.organisation,
        obj=patient,
        patient=patient,
        changes={"portal_email": {"new": user.email}},
    )
    return user


@dataclass(frozen=True)
class AssessmentDetails:
    """One hair-loss assessment, validated at the edge (codes from patients.scales)."""

    assessed_on: dt.date
    norwood: str = ""
    ludwig: str = ""
    sinclair: str = ""
    basp_basic: str = ""
    basp_frontal: str = ""
    basp_vertex: str = ""
    affected_zones: tuple[str, ...] = ()
    scarring_alopecia_signs: bool | None = None
    notes: str = ""

    @property
    def is_empty(self) -> bool:
        return not any(
            [
                self.norwood,
                self.ludwig,
                self.sinclair,
                self.basp_basic,
                self.basp_frontal,
                self.basp_vertex,
                self.affected_zones,
                self.notes,
                self.scarring_alopecia_signs is not None,
            ]
        )


@transaction.atomic
def assessment_record(
    *, patient: Patient, details: AssessmentDetails, acting_user: User
) -> HairLossAssessment:
    """Add an assessment to the patient's history (assessments are never edited)."""
    if details.is_empty:
        raise DomainError(_("Record at least one stage, an affected zone or a note."), field="body")
    assessment = HairLossAssessment.objects.create(
        organisation=patient.organisation,
        patient=patient,
        assessed_by=acting_user,
        **asdict(details) | {"affected_zones": list(details.affected_zones)},
    )
    audit_record(
        action="assessment.create",
        actor=acting_user,
        organisation=patient.organisation,
        obj=assessment,
        patient=patient,
        changes=created(
            snapshot(assessment, ASSESSMENT_FIELDS)
            | {"affected_zones": ", ".join(details.affected_zones)}
        ),
    )
    return assessment


ASSESSMENT_FIELDS = [
    "assessed_on",
    "norwood",
    "ludwig",
    "sinclair",
    "basp_basic",
    "basp_frontal",
    "basp_vertex",
    "scarring_alopecia_signs",
    "notes",
]


@transaction.atomic
def intake_record(
    *, patient: Patient, answers: Mapping[str, Any], acting_user: User
) -> PatientIntake:
    """Save a filled-in intake as a new version; earlier ones stay as they were answered.

    ``answers`` holds fields of ``INTAKE_FIELDS`` (validated at the edge); any left out is
    stored as not answered.
    """
    unknown = set(answers) - set(INTAKE_FIELDS)
    if unknown:
        raise ValueError(f"intake_record got unknown fields: {sorted(unknown)}")
    intake = PatientIntake.objects.create(
        organisation=patient.organisation, patient=patient, recorded_by=acting_user, **answers
    )
    values = {name: getattr(intake, name) for name in INTAKE_FIELDS}
    audit_record(
        action="intake.create",
        actor=acting_user,
        organisation=patient.organisation,
        obj=intake,
        patient=patient,
        changes=created(
            {
                name: ", ".join(value) if isinstance(value, list) else value
                for name, value in values.items()
                if value not in ([], None, "")
            }
        ),
    )
    return intake


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIGNATURE_MAX_BYTES = 200_000


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@transaction.atomic
def consent_templates_install(
    *, organisation: Organisation, acting_user: User | None
) -> list[ConsentTemplate]:
    """Give the organisation version 1 of every shipped consent text it does not have yet."""
    have = {template.code for template in consent_templates_current(organisation=organisation)}
    for shipped in SHIPPED_CONSENTS:
        if shipped.code not in have:
            consent_template_publish(
                organisation=organisation,
                code=shipped.code,
                title=shipped.title,
                body=shipped.body,
                acting_user=acting_user,
            )
    return consent_templates_current(organisation=organisation)


def consent_templates_current(*, organisation: Organisation) -> list[ConsentTemplate]:
    """The newest version of each of the organisation's templates, shipped ones first."""
    latest: dict[str, ConsentTemplate] = {}
    for template in ConsentTemplate.objects.filter(organisation=organisation).order_by(
        "code", "-version"
    ):
        latest.setdefault(template.code, template)
    order = {shipped.code: index for index, shipped in enumerate(SHIPPED_CONSENTS)}
    return sorted(latest.values(), key=lambda t: (order.get(t.code, len(order)), t.code))


@transaction.atomic
def consent_template_publish(
    *, organisation: Organisation, code: str, title: str, body: str, acting_user: User | None
) -> ConsentTemplate:
    """A new version of a template; signatures on older versions are flagged as outdated."""
    last = (
        ConsentTemplate.objects.select_for_update()
        .filter(organisation=organisation, code=code)
        .order_by("-version")
        .first()
    )
    template = ConsentTemplate.objects.create(
        organisation=organisation,
        code=code,
        version=(last.version + 1) if last else 1,
        title=title,
        body=body,
        body_sha256=_sha256(body),
    )
    audit_record(
        action="consent_template.publish",
        actor=acting_user,
        organisation=organisation,
        obj=template,
        changes={"version": {"new": template.version}, "sha256": {"new": template.body_sha256}},
    )
    return template


@transaction.atomic
def consent_sign(
    *,
    patient: Patient,
    template: ConsentTemplate,
    signed_name: str,
    signature_png: bytes,
    acting_user: User,
) -> SignedConsent:
    """Record the patient's signature on ``template``, which must be the current version."""
    if template.organisation_id != patient.organisation_id:
        raise DomainError(_("That consent belongs to another organisation."))
    newest = (
        ConsentTemplate.objects.filter(organisation=patient.organisation, code=template.code)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    if newest != template.version:
        raise Conflict(
            _(
                "This consent text is outdated (version %(old)d; current %(new)d). "
                "Sign the current version."
            )
            % {"old": template.version, "new": newest or 0}
        )
    if not signature_png.startswith(PNG_SIGNATURE) or len(signature_png) > SIGNATURE_MAX_BYTES:
        raise DomainError(
            _("The drawn signature could not be read; draw it again."), field="signature"
        )
    if SignedConsent.objects.filter(patient=patient, template=template, withdrawn_at=None).exists():
        raise Conflict(_("The patient has already signed this version of this consent."))
    consent = SignedConsent.objects.create(
        organisation=patient.organisation,
        patient=patient,
        template=template,
        body_sha256=template.body_sha256,
        signed_name=signed_name,
        signature_png=signature_png,
        signed_at=timezone.now(),
        witnessed_by=acting_user,
    )
    audit_record(
        action="consent.sign",
        actor=acting_user,
        organisation=patient.organisation,
        obj=consent,
        patient=patient,
        changes={
            "template": {"new": f"{template.code} v{template.version}"},
            "sha256": {"new": template.body_sha256},
            "signed_name": {"new": signed_name},
        },
    )
    return consent


@transaction.atomic
def consent_withdraw(*, consent: SignedConsent, reason: str, acting_user: User) -> SignedConsent:
    """Mark a signed consent withdrawn; it is kept, with who, when and why."""
    consent = SignedConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise Conflict(_("This consent was already withdrawn."))
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = acting_user
    consent.withdrawal_reason = reason
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason", "updated_at"])
    audit_record(
        action="consent.withdraw",
        actor=acting_user,
        organisation=consent.organisation,
        obj=consent,
        patient=consent.patient,
        changes={
            "withdrawn_at": {"old": None, "new": consent.withdrawn_at.isoformat()},
            "reason": {"new": reason},
        },
    )
    return consent
