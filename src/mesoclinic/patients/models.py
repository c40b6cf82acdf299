"""The patient record."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.patients.intake import (
    ALLERGENS,
    PATTERNS,
    PREVIOUS_TREATMENTS,
    QUESTION_TEXT,
    SHEDDING,
    YES_NO_QUESTIONS,
)
from mesoclinic.patients.scales import (
    BASP_BASIC,
    BASP_FRONTAL,
    BASP_VERTEX,
    LUDWIG,
    NORWOOD,
    SCALES,
    SCALP_ZONES,
    SINCLAIR,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class SexAtBirth(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    INTERSEX = "intersex", _("Intersex")
    UNKNOWN = "unknown", _("Not recorded")


class Patient(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="patients"
    )
    # Medical record number: the organisation's prefix and a sequence, e.g. DHC-000042.
    mrn = models.CharField(_("record number"), max_length=20, editable=False)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    sex_at_birth = models.CharField(_("sex at birth"), max_length=16, choices=SexAtBirth.choices)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.TextField(_("address"), blank=True)
    preferred_clinic = models.ForeignKey(
        "accounts.Clinic",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("preferred clinic"),
    )
    # The patient's own sign-in for the portal, if they have one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient_record",
    )
    # Folded names, record number, email and phone digits: what search matches against
    # (patients/search.py). Kept in step by the services; trigram-indexed on PostgreSQL.
    search_document = models.TextField(blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "mrn"], name="patient_mrn_unique_in_organisation"
            ),
            models.CheckConstraint(
                condition=~models.Q(given_name="") & ~models.Q(family_name=""),
                name="patient_names_not_empty",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "family_name", "given_name"], name="patient_org_name_idx"
            ),
            models.Index(fields=["organisation", "date_of_birth"], name="patient_org_dob_idx"),
            models.Index(fields=["organisation", "email"], name="patient_org_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: dt.date) -> int:
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - int(before_birthday)


class HairLossAssessment(TimeStampedModel):
    """A clinician's staging of the hair loss on one day. Kept as history, never edited:
    a correction is a new assessment, so stage changes can be followed over time."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    assessed_on = models.DateField(_("assessed on"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    norwood = models.CharField(
        _("Hamilton-Norwood"), max_length=12, blank=True, choices=NORWOOD.grades
    )
    ludwig = models.CharField(_("Ludwig"), max_length=4, blank=True, choices=LUDWIG.grades)
    sinclair = models.CharField(_("Sinclair"), max_length=1, blank=True, choices=SINCLAIR.grades)
    basp_basic = models.CharField(
        _("BASP basic type"), max_length=2, blank=True, choices=BASP_BASIC.grades
    )
    basp_frontal = models.CharField(
        _("BASP F"), max_length=2, blank=True, choices=BASP_FRONTAL.grades
    )
    basp_vertex = models.CharField(
        _("BASP V"), max_length=2, blank=True, choices=BASP_VERTEX.grades
    )
    # Codes from patients.scales.SCALP_ZONES.
    affected_zones = models.JSONField(_("affected zones"), default=list, blank=True)
    # Loss of follicular openings, scarring: a reason to refer before any treatment.
    # None: not assessed.
    scarring_alopecia_signs = models.BooleanField(
        _("signs of scarring alopecia"), null=True, blank=True
    )
    notes = models.TextField(_("clinician notes"), blank=True)

    class Meta:
        ordering = ["-assessed_on", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-assessed_on"], name="assessment_patient_date_idx"),
        ]

    def __str__(self) -> str:
        return f"Assessment of {self.patient} on {self.assessed_on:%Y-%m-%d}"

    @property
    def stages(self) -> list[tuple[str, str]]:
        """(scale name, grade) for each scale recorded, in the scales' order."""
        return [
            (scale.name, getattr(self, scale.code)) for scale in SCALES if getattr(self, scale.code)
        ]

    @property
    def zone_labels(self) -> list[str]:
        labels = dict(SCALP_ZONES)
        return [labels.get(code, code) for code in self.affected_zones]


def _yes_no(text: StrOrPromise) -> models.BooleanField[bool | None, bool | None]:
    return models.BooleanField(text, null=True, blank=True)


class PatientIntake(TimeStampedModel):
    """One filled-in intake questionnaire. Saving again adds a new one: the chart shows the
    latest, and the older ones stay as they were answered.

    Yes/no answers are nullable: ``None`` is "not answered", never "no".
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="intakes")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Hair-loss history
    onset = models.CharField(_("onset"), max_length=100, blank=True)
    patterns = models.JSONField(_("pattern"), default=list, blank=True)
    shedding = models.CharField(_("shedding"), max_length=16, blank=True, choices=SHEDDING)
    family_history = _yes_no(_("family history of hair loss"))
    previous_treatments = models.JSONField(_("previous treatments"), default=list, blank=True)
    previous_treatments_notes = models.TextField(_("previous treatments, details"), blank=True)
    # Pregnancy
    pregnant = _yes_no(_("pregnant"))
    breastfeeding = _yes_no(_("breastfeeding"))
    could_become_pregnant = _yes_no(_("could become pregnant"))
    planning_pregnancy = _yes_no(_("planning a pregnancy"))
    # Medical history
    bleeding_or_platelet_disorder = _yes_no(_("bleeding or platelet disorder"))
    platelet_dysfunction_syndrome = _yes_no(_("platelet dysfunction syndrome"))
    critical_thrombocytopenia = _yes_no(_("critically low platelet count"))
    anticoagulant_or_antiplatelet = _yes_no(_("anticoagulant or antiplatelet drugs"))
    nsaid_last_48h = _yes_no(_("NSAIDs in the last 48 hours"))
    systemic_steroids_last_2_weeks = _yes_no(_("systemic steroids in the last 2 weeks"))
    steroid_injection_at_site_last_month = _yes_no(_("steroid injection at the site, last month"))
    recent_fever_or_illness = _yes_no(_("recent fever or illness"))
    sepsis_or_haemodynamic_instability = _yes_no(_("septicaemia or haemodynamic instability"))
    autoimmune_disease = _yes_no(_("autoimmune disease"))
    active_cancer_or_chemotherapy = _yes_no(_("active cancer or chemotherapy"))
    blood_or_bone_cancer = _yes_no(_("blood or bone cancer"))
    diabetes = _yes_no(_("diabetes"))
    chronic_liver_disease = _yes_no(_("chronic liver disease"))
    heart_failure = _yes_no(_("heart failure"))
    kidney_disease = _yes_no(_("kidney disease"))
    smokes_tobacco = _yes_no(_("smokes or uses tobacco"))
    erectile_or_ejaculatory_dysfunction = _yes_no(_("erectile or ejaculatory dysfunction"))
    known_abnormal_semen_analysis = _yes_no(_("abnormal semen analysis"))
    # Allergies
    allergy_local_anaesthetic = _yes_no(_("allergic to local anaesthetics"))
    # Ingredient codes (patients.intake.ALLERGENS); None: not asked.
    allergen_codes = models.JSONField(_("allergic to"), null=True, blank=True)
    allergy_notes = models.TextField(_("allergies, details"), blank=True)
    # Scalp
    scalp_infection = _yes_no(_("active scalp infection"))
    scalp_folliculitis = _yes_no(_("folliculitis"))
    scalp_psoriasis = _yes_no(_("scalp psoriasis"))
    seborrhoeic_dermatitis = _yes_no(_("seborrhoeic dermatitis"))
    scars_in_treatment_area = _yes_no(_("scars in the treatment area"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="intake_patient_time_idx")]

    def __str__(self) -> str:
        return f"Intake of {self.patient} on {self.created_at:%Y-%m-%d}"

    def answers(self) -> dict[str, object]:
        """The screening engine's intake facts (``screening.rules.IntakeAnswers`` fields)."""
        facts: dict[str, object] = {name: getattr(self, name) for name in YES_NO_QUESTIONS}
        facts["sudden_diffuse_shedding"] = (
            None if not self.shedding else self.shedding == "sudden_diffuse"
        )
        facts["allergen_codes"] = (
            None if self.allergen_codes is None else sorted(self.allergen_codes)
        )
        return facts

    @property
    def answered_yes(self) -> list[str]:
        """The questions answered "yes", as shown to staff."""
        return [
            str(QUESTION_TEXT[name]) for name in YES_NO_QUESTIONS if getattr(self, name) is True
        ]

    @property
    def yes_no_answers(self) -> dict[str, bool | None]:
        return {name: getattr(self, name) for name in YES_NO_QUESTIONS}

    @property
    def chosen_labels(self) -> dict[str, list[str]]:
        """Labels of the multiple-choice answers (pattern, treatments, allergens)."""
        lists = {
            "patterns": (PATTERNS, self.patterns),
            "previous_treatments": (PREVIOUS_TREATMENTS, self.previous_treatments),
            "allergen_codes": (ALLERGENS, self.allergen_codes or []),
        }
        return {
            name: [str(dict(choices).get(code, code)) for code in chosen]
            for name, (choices, chosen) in lists.items()
        }

    @property
    def unanswered_count(self) -> int:
        """Questions screening may ask about: the yes/no ones, shedding and allergies."""
        return (
            sum(1 for name in YES_NO_QUESTIONS if getattr(self, name) is None)
            + (self.shedding == "")
            + (self.allergen_codes is None)
        )


class ConsentTemplate(TimeStampedModel):
    """One version of a consent text. A new text is a new version; old ones stay, so every
    signature keeps the exact words it was given to."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code", "version"], name="consent_template_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class SignedConsent(TimeStampedModel):
    """A patient's signature on one template version. Immutable; withdrawal is recorded on it
    (when, by whom, why) and never removes it."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="+")
    # Copied from the template at signing: what the patient saw, provably.
    body_sha256 = models.CharField(max_length=64)
    signed_name = models.CharField(_("name typed by the patient"), max_length=200)
    signature_png = models.BinaryField(_("drawn signature (PNG)"))
    signed_at = models.DateTimeField()
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-signed_at"], name="consent_patient_time_idx")]

    def __str__(self) -> str:
        return f"{self.template} signed by {self.signed_name}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
