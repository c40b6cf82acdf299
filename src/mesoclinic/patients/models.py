"""The patient record."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
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
