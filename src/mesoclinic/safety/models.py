"""Side effects recorded as adverse events, tied to the visits they followed.

An event is linked to one or more *visits* (appointments), not to a chart revision: an
amendment makes a new revision of the same visit, and the event follows the visit's current
signed revision (its products, lots and practitioner) without being re-linked.

The flags are stored as well as computable: ``is_serious`` and ``expected_end_at`` are
written by every service from the catalogue (``safety/catalogue.py``) and the rules
(``safety/rules.py``), so the dashboard, the chart and the pre-checks find what needs
attention with an indexed query; ``prolonged_flagged_at`` and ``serious_flagged_at`` record
when the daily ``safety_check`` raised each flag (and emailed about it once).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.treatments.models import StoredPhoto


class Reporter(models.TextChoices):
    PRACTITIONER = "practitioner", _("Practitioner (seen at the clinic)")
    PATIENT = "patient", _("Patient (reported by phone, message or portal)")
    STAFF = "staff", _("Other staff")


class Relation(models.TextChoices):
    # The WHO-UMC causality categories, in increasing order of likelihood.
    UNRELATED = "unrelated", _("Unrelated")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    CERTAIN = "certain", _("Certain")


class Outcome(models.TextChoices):
    ONGOING = "ongoing", _("Ongoing")
    RESOLVED = "resolved", _("Resolved")
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae", _("Resolved with sequelae")
    FATAL = "fatal", _("Fatal")


class SeriousCriterion(models.TextChoices):
    # ICH E2A: what makes an adverse event serious whatever its grade.
    DEATH = "death", _("Resulted in death")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")
    HOSPITALISATION = "hospitalisation", _("Required or prolonged hospitalisation")
    DISABILITY = "disability", _("Persistent or significant disability")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Congenital anomaly or birth defect")
    MEDICALLY_IMPORTANT = "medically_important", _("Other medically important event")


class ActionTaken(models.TextChoices):
    NONE = "none", _("None (observation)")
    COLD_COMPRESS = "cold_compress", _("Cold compress")
    TOPICAL = "topical", _("Topical treatment")
    ORAL_MEDICATION = "oral_medication", _("Oral medication (e.g. antihistamine, analgesic)")
    ANTIBIOTICS = "antibiotics", _("Antibiotics")
    PROCEDURE = "procedure", _("Procedure (e.g. drainage)")
    TREATMENT_PAUSED = "treatment_paused", _("Course paused")
    TREATMENT_STOPPED = "treatment_stopped", _("Course stopped")
    REFERRAL = "referral", _("Referred (dermatologist, GP)")
    EMERGENCY = "emergency", _("Emergency care")


class AdverseEvent(TimeStampedModel):
    """One side effect of one patient, graded, followed up and closed with an outcome."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="adverse_events"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    term = models.CharField(_("side effect"), max_length=32)
    term_text = models.CharField(_("details of the term"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    onset_at = models.DateTimeField(_("onset"))
    reported_by = models.CharField(_("reported by"), max_length=16, choices=Reporter.choices)
    grade = models.PositiveSmallIntegerField(_("grade"))
    serious_criteria = models.JSONField(_("seriousness criteria"), default=list, blank=True)
    relation = models.CharField(
        _("relation to the treatment"), max_length=16, choices=Relation.choices
    )
    actions = models.JSONField(_("action taken"), default=list, blank=True)
    action_note = models.TextField(_("action taken, details"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=24, choices=Outcome.choices, default=Outcome.ONGOING
    )
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    sequelae = models.TextField(_("sequelae"), blank=True)
    # The practitioner who is told when the event is flagged (the one who gave the latest
    # related session, unless chosen otherwise).
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Derived on every write from the catalogue and the rules (see the module doc).
    is_serious = models.BooleanField(default=False)
    expected_end_at = models.DateTimeField(null=True, blank=True)
    serious_flagged_at = models.DateTimeField(null=True, blank=True)
    prolonged_flagged_at = models.DateTimeField(null=True, blank=True)
    # A serious event blocks the next session until a practitioner has reviewed it.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.TextField(_("review"), blank=True)
    catalogue_version = models.CharField(max_length=32)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-onset_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-onset_at"], name="ae_patient_onset_idx"),
            models.Index(
                fields=["organisation", "outcome", "expected_end_at"], name="ae_open_expected_idx"
            ),
            models.Index(fields=["responsible", "outcome"], name="ae_responsible_idx"),
            # The alerts due (send_reminders reads them every minute).
            models.Index(fields=["serious_flagged_at"], name="ae_serious_flagged_idx"),
            models.Index(fields=["prolonged_flagged_at"], name="ae_prolonged_flagged_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=5), name="ae_grade_range"
            ),
            models.CheckConstraint(
                condition=(Q(outcome="ongoing") & Q(resolved_on__isnull=True))
                | (~Q(outcome="ongoing") & Q(resolved_on__isnull=False)),
                name="ae_resolved_has_date",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | Q(reviewed_by__isnull=False),
                name="ae_review_has_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term} (grade {self.grade}) from {self.onset_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.outcome == Outcome.ONGOING

    @property
    def needs_review(self) -> bool:
        """An open serious event nobody has reviewed since it became serious."""
        return self.is_open and self.is_serious and self.reviewed_at is None


class AdverseEventVisit(models.Model):
    """A visit (appointment) the event followed."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(AdverseEvent, on_delete=models.CASCADE, related_name="visits")
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="adverse_event_links"
    )

    class Meta:
        ordering = ["event", "appointment"]
        indexes = [models.Index(fields=["appointment"], name="ae_visit_appointment_idx")]
        constraints = [
            models.UniqueConstraint(fields=["event", "appointment"], name="ae_visit_unique")
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} after visit {self.appointment_id}"


class AdverseEventFollowUp(models.Model):
    """A note on the event's course: a call, a review visit, a change of grade."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="follow_ups")
    noted_at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"))
    # The grade from then on, when the follow-up changed it.
    grade = models.PositiveSmallIntegerField(_("new grade"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["noted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | (Q(grade__gte=1) & Q(grade__lte=5)),
                name="ae_follow_up_grade_range",
            )
        ]

    def __str__(self) -> str:
        return f"follow-up of event {self.event_id} at {self.noted_at:%Y-%m-%d %H:%M}"


class AdverseEventPhoto(StoredPhoto):
    """A photo of the side effect."""

    PHOTO_FOLDER = "ae/"

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="photos")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"photo {self.pk} of event {self.event_id}"
