"""Treatment areas, formulations and protocol templates.

A protocol is a family (``Protocol``) of immutable versions (``ProtocolVersion``). Editing a
protocol writes a new version; a course keeps the version it was planned from, so nothing
changes under a running course.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.screening.models import KIND_CHOICES


class Area(models.TextChoices):
    SCALP = "scalp", _("Scalp")
    FACE = "face", _("Face")
    SUBMENTAL = "submental", _("Submental (double chin)")
    BODY = "body", _("Body (stretch marks)")


class Unit(models.TextChoices):
    PERCENT = "percent", "%"
    MG_PER_ML = "mg_per_ml", "mg/mL"
    UG_PER_ML = "ug_per_ml", "µg/mL"
    IU_PER_ML = "iu_per_ml", "IU/mL"
    ML = "ml", "mL"


class Formulation(TimeStampedModel):
    """A mixture the clinic injects, from its own library. Protocol versions keep a copy of
    the formulations they use, so editing one here never changes a planned course."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="formulations"
    )
    name = models.CharField(_("name"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    source = models.TextField(_("source"), blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="formulation_name_unique_in_organisation"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def as_snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "ingredients": [
                {
                    "code": i.code,
                    "concentration": str(i.concentration) if i.concentration is not None else None,
                    "unit": i.unit,
                }
                for i in self.ingredients.all()
            ],
        }


class FormulationIngredient(models.Model):
    formulation = models.ForeignKey(
        Formulation, on_delete=models.CASCADE, related_name="ingredients"
    )
    # One of patients.intake.ALLERGENS codes, so screening can match allergies to it.
    code = models.CharField(_("ingredient"), max_length=32)
    concentration = models.DecimalField(
        _("concentration"), max_digits=9, decimal_places=4, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["formulation", "code"], name="formulation_ingredient_unique"
            ),
            models.CheckConstraint(
                condition=Q(concentration__isnull=True) | Q(concentration__gt=0),
                name="formulation_ingredient_concentration_positive",
            ),
        ]

    def __str__(self) -> str:
        if self.concentration is None:
            return self.code
        return f"{self.code} {self.concentration.normalize()} {self.get_unit_display()}"


class Protocol(TimeStampedModel):
    """A protocol template of one organisation; its content lives in its versions."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="protocols"
    )
    # Shipped defaults keep their code so a clinic's copy can say where it came from.
    code = models.SlugField(_("code"), max_length=60)
    copied_from = models.ForeignKey(
        "ProtocolVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("offered"), default=True)
    current_version = models.ForeignKey(
        "ProtocolVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="current_of",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="protocol_code_unique_in_organisation"
            )
        ]

    def __str__(self) -> str:
        return self.current_version.name if self.current_version else self.code


class ProtocolVersion(models.Model):
    """One immutable version of a protocol: phases, intervals, duration, formulations, the
    aftercare set and the source of each default. ``sources`` maps a field name to where its
    value came from."""

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(_("name"), max_length=200)
    area = models.CharField(_("treatment area"), max_length=16, choices=Area.choices)
    kind = models.CharField(_("treatment"), max_length=16, choices=KIND_CHOICES)
    description = models.TextField(_("description"), blank=True)
    session_duration_minutes = models.PositiveSmallIntegerField(_("session length (minutes)"))
    induction_sessions_min = models.PositiveSmallIntegerField(_("induction sessions, fewest"))
    induction_sessions_max = models.PositiveSmallIntegerField(_("induction sessions, most"))
    induction_interval_min_days = models.PositiveSmallIntegerField(_("interval, shortest (days)"))
    induction_interval_target_days = models.PositiveSmallIntegerField(_("interval, usual (days)"))
    induction_interval_max_days = models.PositiveSmallIntegerField(_("interval, longest (days)"))
    maintenance_sessions = models.PositiveSmallIntegerField(
        _("maintenance sessions planned"), default=0
    )
    maintenance_interval_min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    maintenance_interval_target_days = models.PositiveSmallIntegerField(null=True, blank=True)
    maintenance_interval_max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    review_after_days = models.JSONField(_("review visits (days after induction)"), default=list)
    formulations = models.JSONField(_("formulations"), default=list, blank=True)
    # The consent texts (patients.ConsentTemplate codes) a patient signs before the course.
    consent_codes = models.JSONField(_("consents required"), default=list, blank=True)
    sources = models.JSONField(_("sources"), default=dict, blank=True)
    # The aftercare instruction set (treatments.aftercare.set_to_json form), each line with
    # its source and evidence code; empty: the shipped set for the area and kind
    # (treatments.aftercare_sets.aftercare_set_for).
    aftercare = models.JSONField(_("aftercare instructions"), default=dict, blank=True)
    change_note = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["protocol", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "number"], name="protocol_version_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(induction_sessions_min__gte=1)
                & Q(induction_sessions_max__gte=F("induction_sessions_min")),
                name="protocol_version_session_range",
            ),
            models.CheckConstraint(
                condition=Q(induction_interval_min_days__gte=1)
                & Q(induction_interval_target_days__gte=F("induction_interval_min_days"))
                & Q(induction_interval_max_days__gte=F("induction_interval_target_days")),
                name="protocol_version_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_sessions=0)
                | (
                    Q(maintenance_interval_min_days__gte=1)
                    & Q(maintenance_interval_target_days__gte=F("maintenance_interval_min_days"))
                    & Q(maintenance_interval_max_days__gte=F("maintenance_interval_target_days"))
                ),
                name="protocol_version_maintenance_range",
            ),
            models.CheckConstraint(
                condition=Q(session_duration_minutes__gte=5) & Q(session_duration_minutes__lte=480),
                name="protocol_version_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.number})"

    @property
    def ingredient_codes(self) -> list[str]:
        """Every ingredient of every formulation, once, in order of first appearance."""
        seen: list[str] = []
        for formulation in self.formulations:
            for ingredient in formulation.get("ingredients", []):
                if ingredient["code"] not in seen:
                    seen.append(ingredient["code"])
        return seen

    def source_of(self, field: str) -> str:
        return str(self.sources.get(field, ""))
