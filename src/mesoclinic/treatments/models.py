"""Charted treatment sessions: what was injected where, with which product lot.

A session is charted from an appointment as a *draft*, then *signed*. A signed revision is
never changed again: a correction is an *amendment*, a new signed revision that names the
one it corrects and why (``supersedes``, ``amendment_reason``); the corrected revision is
marked ``superseded_at`` and kept as it was. Exactly one revision per appointment is
current (``superseded_at`` is null), which is what the chart, the recall query and stock
follow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel
from mesoclinic.treatments.images import PreparedPhoto


class SessionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED = "signed", _("Signed")


class SkinPreparation(models.TextChoices):
    CHLORHEXIDINE = "chlorhexidine", _("Chlorhexidine")
    POVIDONE_IODINE = "povidone_iodine", _("Povidone-iodine")
    ALCOHOL = "alcohol", _("Alcohol")
    OCTENIDINE = "octenidine", _("Octenidine")
    OTHER = "other", _("Other (see note)")


class Anaesthesia(models.TextChoices):
    NONE = "none", _("None")
    TOPICAL = "topical", _("Topical cream")
    OTHER = "other", _("Other")


class Reaction(models.TextChoices):
    ERYTHEMA = "erythema", _("Redness")
    PINPOINT_BLEEDING = "pinpoint_bleeding", _("Pinpoint bleeding")
    PAPULES = "papules", _("Small bumps at the injection points")
    BRUISING = "bruising", _("Bruising")
    SWELLING = "swelling", _("Swelling")
    PAIN = "pain", _("Pain beyond the injections")
    VASOVAGAL = "vasovagal", _("Faintness (vasovagal)")
    OTHER = "other", _("Other (see note)")


class TreatmentSessionQuerySet(models.QuerySet["TreatmentSession"]):
    def in_force(self) -> TreatmentSessionQuerySet:
        """The signed revisions no amendment has replaced: what was given, as it stands."""
        return self.filter(status=SessionStatus.SIGNED, superseded_at__isnull=True)


class TreatmentSession(TimeStampedModel):
    """One revision of the chart of one visit (appointment)."""

    objects = TreatmentSessionQuerySet.as_manager()

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    course_session = models.ForeignKey(
        "scheduling.CourseSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="treatment_sessions",
    )
    protocol_version = models.ForeignKey(
        "protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    area = models.CharField(_("treatment area"), max_length=16)
    performed_on = models.DateField(_("date given"))
    revision = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.DRAFT
    )
    skin_preparation = models.CharField(
        _("skin preparation"),
        max_length=24,
        choices=SkinPreparation.choices,
        default=SkinPreparation.CHLORHEXIDINE,
    )
    anaesthesia = models.CharField(
        _("anaesthesia"), max_length=16, choices=Anaesthesia.choices, default=Anaesthesia.NONE
    )
    anaesthesia_product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    anaesthesia_note = models.CharField(_("anaesthesia details"), max_length=200, blank=True)
    pain_score = models.PositiveSmallIntegerField(_("pain (0-10)"), null=True, blank=True)
    reactions = models.JSONField(_("immediate reactions"), default=list, blank=True)
    reactions_note = models.TextField(_("reactions, details"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The pre-checks as they stood when the session was signed: [{code, ok, message}].
    prechecks = models.JSONField(default=list, blank=True)
    # Retail products recommended on the aftercare sheet (product ids).
    home_care_product_ids = models.JSONField(default=list, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-performed_on", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-performed_on"], name="tsession_patient_date_idx"),
            models.Index(fields=["appointment", "revision"], name="tsession_appointment_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(superseded_at__isnull=True),
                name="tsession_one_current_per_appointment",
            ),
            models.UniqueConstraint(
                fields=["appointment", "revision"], name="tsession_revision_unique"
            ),
            models.CheckConstraint(
                condition=Q(pain_score__isnull=True) | Q(pain_score__lte=10),
                name="tsession_pain_score_range",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False)),
                name="tsession_signed_has_signature",
            ),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(amendment_reason=""),
                name="tsession_amendment_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(superseded_at__isnull=True) | Q(status="signed"),
                name="tsession_only_signed_superseded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.performed_on:%Y-%m-%d} {self.protocol_version.name} (rev. {self.revision})"

    @property
    def is_signed(self) -> bool:
        return self.status == SessionStatus.SIGNED

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def reaction_labels(self) -> list[str]:
        known = dict(Reaction.choices)
        return [str(known.get(code, code)) for code in self.reactions]


class Technique(models.TextChoices):
    NAPPAGE = "nappage", _("Nappage")
    POINT_BY_POINT = "point_by_point", _("Point-by-point")
    PAPULE = "papule", _("Papule")
    INJECTOR_GUN = "injector_gun", _("Injector gun")
    MICRONEEDLING = "microneedling", _("Microneedling")


class Injection(models.Model):
    """One charted line: a zone treated with one technique and one product lot."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.CASCADE, related_name="injections"
    )
    position = models.PositiveSmallIntegerField()
    zone = models.CharField(_("zone"), max_length=32)
    technique = models.CharField(_("technique"), max_length=16, choices=Technique.choices)
    depth_mm = models.DecimalField(
        _("depth (mm)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    needle_gauge = models.PositiveSmallIntegerField(_("needle (G)"), null=True, blank=True)
    needle_length_mm = models.DecimalField(
        _("needle length (mm)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    points = models.PositiveIntegerField(_("points"), null=True, blank=True)
    volume_ml = models.DecimalField(_("volume (mL)"), max_digits=7, decimal_places=2)
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="injections"
    )
    lot = models.ForeignKey(
        "inventory.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="injections"
    )

    class Meta:
        ordering = ["session", "position"]
        indexes = [models.Index(fields=["lot", "session"], name="injection_lot_session_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="injection_position_unique"
            ),
            models.CheckConstraint(condition=Q(volume_ml__gte=0), name="injection_volume_ml_min"),
            models.CheckConstraint(
                condition=Q(depth_mm__isnull=True) | Q(depth_mm__gte=0),
                name="injection_depth_mm_min",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone}: {self.volume_ml} mL"


def _photo_path(instance: StoredPhoto, filename: str) -> str:
    # Random names: the path says nothing about the patient, and never collides.
    return f"photos/{instance.organisation_id}/{instance.PHOTO_FOLDER}{uuid.uuid4().hex}.jpg"


def _thumb_path(instance: StoredPhoto, filename: str) -> str:
    return f"photos/{instance.organisation_id}/{instance.PHOTO_FOLDER}thumbs/{uuid.uuid4().hex}.jpg"


class StoredPhoto(models.Model):
    """A patient's photo as stored: re-encoded without its EXIF metadata (location, device)
    by ``treatments.images.prepare_photo``, with a thumbnail, under a random name, served
    only through views that check who asks. Session photos and side-effect photos are
    both this."""

    # Below photos/<organisation>/: "" for session photos, "ae/" for side effects.
    PHOTO_FOLDER = ""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    image = models.FileField(upload_to=_photo_path, max_length=200)
    thumbnail = models.FileField(upload_to=_thumb_path, max_length=200)
    width_px = models.PositiveIntegerField()
    height_px = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True

    def store(self, photo: PreparedPhoto) -> None:
        """Write the prepared photo's files and take its measurements (the row is not
        saved). Files come before the row: a failed transaction leaves orphan files on
        disk, never rows pointing at nothing."""
        self.width_px, self.height_px = photo.width_px, photo.height_px
        self.byte_size, self.sha256 = len(photo.jpeg), photo.sha256
        self.image.save("photo.jpg", ContentFile(photo.jpeg), save=False)
        self.thumbnail.save("thumb.jpg", ContentFile(photo.thumbnail), save=False)


def delete_photo_files_after_commit(photos: Iterable[StoredPhoto]) -> None:
    """Delete the photos' stored files once the removal of their rows has committed (a
    rollback keeps rows and files together)."""
    removals = [
        (f.storage, name) for p in photos for f in (p.image, p.thumbnail) if (name := f.name)
    ]

    def delete() -> None:
        for storage, name in removals:
            storage.delete(name)

    transaction.on_commit(delete)


class PhotoMoment(models.TextChoices):
    BEFORE = "before", _("Before")
    AFTER = "after", _("After")


class SessionPhoto(StoredPhoto):
    """A photo taken at a visit (before or after)."""

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="session_photos"
    )
    # The revision the photo was added to (photos can be added only to a draft).
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="photos")
    moment = models.CharField(_("when"), max_length=8, choices=PhotoMoment.choices)

    class Meta:
        ordering = ["moment", "created_at", "pk"]
        indexes = [models.Index(fields=["appointment"], name="photo_appointment_idx")]

    def __str__(self) -> str:
        return f"{self.get_moment_display()} photo {self.pk}"


class AftercareSheet(models.Model):
    """The aftercare sheet given for one signed revision, stored as given so it can be
    shown and printed again exactly (``content`` is ``treatments.aftercare.sheet_to_json``)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, related_name="aftercare_sheet"
    )
    content = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Aftercare sheet for session {self.session_id}"

    def payload(self) -> dict[str, Any]:
        return dict(self.content)


ZERO_ML = Decimal("0")
