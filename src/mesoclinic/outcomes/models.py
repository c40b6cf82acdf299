"""Outcome visits with their measurements and standardized photos, and the scalp landmark
where the target area is measured again at every visit.

A visit is one sitting at which outcomes were measured: the baseline before the first
session, a review at a protocol-defined point, a maintenance visit. Measurements are stored
one row per number (``measure`` is a code of ``outcomes.measures``) with the method and the
device that produced it, so a measure left out is simply absent, and the cohort page reads one
measure for many patients from one index. ``patient``, ``course`` and ``point`` are copied
from the visit onto each measurement for that reason; the visit services keep them equal.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.outcomes import measures, photography
from mesoclinic.treatments.models import StoredPhoto


class ReviewPoint(models.TextChoices):
    """When in a course a visit falls. Cohort analytics pair each point with the baseline
    of the same course, so the points are a fixed list every clinic shares."""

    BASELINE = "baseline", _("Baseline (before the first session)")
    AFTER_SESSION_3 = "after_session_3", _("After session 3")
    AFTER_SESSION_6 = "after_session_6", _("After session 6")
    MONTH_3 = "month_3", _("3 months")
    MONTH_6 = "month_6", _("6 months")
    MONTH_12 = "month_12", _("12 months")
    MAINTENANCE = "maintenance", _("Maintenance visit")
    OTHER = "other", _("Other visit")


# The points a cohort is followed at, in time order (maintenance and other visits vary too
# much in timing to be pooled).
FOLLOW_UP_POINTS = (
    ReviewPoint.AFTER_SESSION_3,
    ReviewPoint.AFTER_SESSION_6,
    ReviewPoint.MONTH_3,
    ReviewPoint.MONTH_6,
    ReviewPoint.MONTH_12,
)


class Landmark(TimeStampedModel):
    """The marked spot of a patient's scalp where the 1 cm2 target area is centred, so the
    same area is measured at every visit (a dot tattoo in trials)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="landmarks"
    )
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("where it is"), max_length=300, blank=True)
    # Along the midline from the glabella, and to the side of the midline (negative: left).
    from_glabella_mm = models.PositiveSmallIntegerField(
        _("distance from the glabella (mm)"), null=True, blank=True
    )
    from_midline_mm = models.SmallIntegerField(
        _("distance from the midline (mm, negative to the left)"), null=True, blank=True
    )
    tattooed = models.BooleanField(_("marked with a dot tattoo"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["patient", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "name"], name="outcome_landmark_name_unique_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(from_glabella_mm__isnull=True) | Q(from_glabella_mm__lte=400),
                name="outcome_landmark_glabella_plausible",
            ),
            models.CheckConstraint(
                condition=Q(from_midline_mm__isnull=True)
                | Q(from_midline_mm__gte=-200, from_midline_mm__lte=200),
                name="outcome_landmark_midline_plausible",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def position_text(self) -> str:
        """Where the landmark is, in words ("180 mm behind the glabella, on the midline")."""
        _ = gettext
        parts: list[str] = []
        if self.from_glabella_mm is not None:
            parts.append(_("%(mm)d mm behind the glabella") % {"mm": self.from_glabella_mm})
        if self.from_midline_mm is not None:
            if self.from_midline_mm == 0:
                parts.append(_("on the midline"))
            else:
                side = _("left") if self.from_midline_mm < 0 else _("right")
                parts.append(
                    _("%(mm)d mm %(side)s of the midline")
                    % {"mm": abs(self.from_midline_mm), "side": side}
                )
        if self.tattooed:
            parts.append(_("dot tattoo"))
        return ", ".join(parts)


class OutcomeVisit(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="outcome_visits"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(
        "scheduling.Course",
        on_delete=models.PROTECT,
        related_name="outcome_visits",
        null=True,
        blank=True,
    )
    point = models.CharField(_("visit"), max_length=24, choices=ReviewPoint.choices)
    measured_on = models.DateField(_("date"))
    # The hair-loss stage seen at this visit (a scale of patients.scales and its grade).
    stage_scale = models.CharField(_("scale"), max_length=16, blank=True)
    stage = models.CharField(_("stage"), max_length=16, blank=True)
    landmark = models.ForeignKey(
        Landmark, on_delete=models.PROTECT, related_name="visits", null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Raised by every change: a form opened before someone else's save is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["patient", "measured_on", "pk"]
        indexes = [
            models.Index(fields=["patient", "measured_on"], name="outcome_visit_patient_idx"),
            models.Index(fields=["course", "point"], name="outcome_visit_course_idx"),
        ]
        constraints = [
            # One baseline per course: every review of the course is compared with it.
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(point="baseline", course__isnull=False),
                name="outcome_visit_one_baseline_per_course",
            ),
            # One visit per review point of a course (a repeat is a correction of that
            # visit): each review pairs with the baseline once, in a single SQL join.
            models.UniqueConstraint(
                fields=["course", "point"],
                condition=Q(
                    point__in=[
                        "after_session_3",
                        "after_session_6",
                        "month_3",
                        "month_6",
                        "month_12",
                    ],
                    course__isnull=False,
                ),
                name="outcome_visit_one_review_per_point_per_course",
            ),
            models.CheckConstraint(
                condition=Q(point__in=ReviewPoint.values), name="outcome_visit_point_known"
            ),
            models.CheckConstraint(
                condition=Q(stage="") | ~Q(stage_scale=""),
                name="outcome_visit_stage_has_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_point_display()} {self.measured_on:%Y-%m-%d}"


class Measurement(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(OutcomeVisit, on_delete=models.CASCADE, related_name="measurements")
    # Copies of the visit's, for the cohort queries (kept equal by the services).
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(
        "scheduling.Course", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    point = models.CharField(max_length=24, choices=ReviewPoint.choices)
    measure = models.CharField(max_length=32, choices=[(c, c) for c in measures.CODES])
    value = models.FloatField()
    method = models.CharField(max_length=24, choices=[(m.value, m.value) for m in measures.Method])
    device = models.CharField(_("device"), max_length=120, blank=True)
    # The photo an automatic analysis read, when the number came from one.
    photo = models.ForeignKey(
        "outcomes.OutcomePhoto",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["visit", "measure"]
        indexes = [
            # Covering (value included): the cohort's join of reviews to baselines reads
            # the index alone.
            models.Index(
                fields=["course", "measure", "point", "value"], name="measurement_course_idx"
            ),
            models.Index(fields=["patient", "measure"], name="measurement_patient_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "measure"], name="measurement_one_per_measure_per_visit"
            ),
            models.CheckConstraint(
                condition=Q(measure__in=measures.CODES), name="measurement_measure_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure}={self.value}"

    @property
    def definition(self) -> measures.Measure:
        return measures.get(self.measure)


def _overlay_path(instance: OutcomePhoto, filename: str) -> str:
    return f"photos/{instance.organisation_id}/outcomes/overlays/{uuid.uuid4().hex}.png"


class OutcomePhoto(StoredPhoto):
    """A standardized photo of one view taken at an outcome visit. A retake of a view
    keeps the earlier one; comparisons show the latest of each view."""

    PHOTO_FOLDER = "outcomes/"

    visit = models.ForeignKey(OutcomeVisit, on_delete=models.PROTECT, related_name="photos")
    view = models.CharField(
        _("view"), max_length=24, choices=[(v.code, v.label) for v in photography.VIEWS]
    )
    # The calibration of a close-up (micrometres per pixel), needed for automatic analysis.
    um_per_px = models.FloatField(_("micrometres per pixel"), null=True, blank=True)
    # What the trichoscopy analysis found, as it found it (before the practitioner's check).
    analysis = models.JSONField(null=True, blank=True)
    overlay = models.FileField(upload_to=_overlay_path, max_length=200, blank=True)

    class Meta:
        ordering = ["visit", "view", "-created_at", "-pk"]
        indexes = [models.Index(fields=["visit", "view"], name="outcome_photo_visit_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(view__in=photography.CODES), name="outcome_photo_view_known"
            ),
            models.CheckConstraint(
                condition=Q(um_per_px__isnull=True) | Q(um_per_px__gt=0),
                name="outcome_photo_calibration_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_view_display()} ({self.visit})"
