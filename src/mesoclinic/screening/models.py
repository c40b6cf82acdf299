"""Stored screening decisions: the facts used, the decision, its rule-set version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.screening.rules import Outcome, ProtocolKind

OUTCOME_CHOICES = [
    (Outcome.ELIGIBLE.value, _("Eligible")),
    (Outcome.ELIGIBLE_WITH_PRECAUTIONS.value, _("Eligible with precautions")),
    (Outcome.DEFER.value, _("Defer")),
    (Outcome.REFER.value, _("Refer to a physician")),
    (Outcome.NOT_ELIGIBLE.value, _("Not eligible")),
]
KIND_CHOICES = [
    (ProtocolKind.MESOTHERAPY.value, _("Mesotherapy")),
    (ProtocolKind.PRP.value, _("PRP")),
    (ProtocolKind.COMBINED.value, _("Mesotherapy with PRP")),
]
OVERRIDABLE = {Outcome.DEFER.value, Outcome.NOT_ELIGIBLE.value}


class Screening(TimeStampedModel):
    """A signed candidacy decision. Never changed: an override is a separate record.

    ``facts`` and ``rule_set_version`` reproduce ``decision`` exactly (rules.screen).
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="screenings"
    )
    screened_on = models.DateField(_("screened on"))
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # What was screened for: the protocol version when one was chosen (its kind and
    # ingredients are copied below), otherwise a kind and ingredients entered by hand.
    protocol_version = models.ForeignKey(
        "protocols.ProtocolVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    protocol_kind = models.CharField(_("treatment"), max_length=16, choices=KIND_CHOICES)
    ingredients = models.JSONField(_("formulation ingredients"), default=list, blank=True)
    outcome = models.CharField(_("decision"), max_length=32, choices=OUTCOME_CHOICES)
    rule_set_version = models.CharField(max_length=32)
    recheck_on = models.DateField(null=True, blank=True)
    facts = models.JSONField()
    decision = models.JSONField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="screening_patient_idx")]

    def __str__(self) -> str:
        return f"Screening of {self.patient} on {self.screened_on:%Y-%m-%d}: {self.outcome}"

    @property
    def reasons(self) -> list[dict[str, object]]:
        return list(self.decision.get("reasons", []))

    @property
    def decisive_reasons(self) -> list[dict[str, object]]:
        """Reasons from rules that decided (not the ones waiting for an answer)."""
        return [r for r in self.reasons if not r.get("missing_facts")]

    @property
    def questions_first(self) -> list[dict[str, object]]:
        """Reasons from rules that need an answer before they can decide."""
        return [r for r in self.reasons if r.get("missing_facts")]

    @property
    def can_be_overridden(self) -> bool:
        return self.outcome in OVERRIDABLE


class ScreeningOverride(TimeStampedModel):
    """A practitioner's written decision to go ahead despite ``defer`` or ``not_eligible``."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="override")
    justification = models.TextField(_("justification"))
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Override of {self.screening}"
