"""Writing outcomes: record and correct an outcome visit with its measurements, mark a
landmark, add and remove standardized photos, run the trichoscopy analysis on a close-up.

Every function is keyword-only, runs in one transaction and writes its audit event (a
correction keeps the old and the new value of every number it changes). Writes are for
clinicians (admins and practitioners). Input is validated at the edge (forms, schemas);
what needs the database, the patient or the catalogue is checked here and refused with a
``DomainError`` naming the field, before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mesoclinic.accounts.access import CLINICIANS
from mesoclinic.accounts.models import Clinic, Membership, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.outcomes import measures, photography, trichoscopy_hook
from mesoclinic.outcomes.models import (
    FOLLOW_UP_POINTS,
    Landmark,
    Measurement,
    OutcomePhoto,
    OutcomeVisit,
    ReviewPoint,
)
from mesoclinic.patients.models import Patient
from mesoclinic.patients.scales import LUDWIG, NORWOOD, SINCLAIR
from mesoclinic.scheduling.models import Course, CourseSession, SessionStatus
from mesoclinic.treatments.images import PreparedPhoto
from mesoclinic.treatments.models import delete_photo_files_after_commit

# The stages the issue asks for at each visit (BASP describes a shape, not a stage).
STAGE_SCALES = {scale.code: scale for scale in (NORWOOD, LUDWIG, SINCLAIR)}

_AUDITED = ("point", "measured_on", "clinic", "course", "stage_scale", "stage", "landmark", "notes")


@dataclass(frozen=True)
class MeasurementInput:
    """One number as entered: a code of ``outcomes.measures``, its value, how and with
    what it was measured. ``photo`` is the close-up an automatic analysis read."""

    measure: str
    value: float
    method: str = ""
    device: str = ""
    photo: OutcomePhoto | None = None


@dataclass(frozen=True)
class VisitInput:
    point: str
    measured_on: dt.date
    clinic: Clinic
    course: Course | None = None
    stage_scale: str = ""
    stage: str = ""
    landmark: Landmark | None = None
    notes: str = ""
    measurements: Sequence[MeasurementInput] = field(default_factory=tuple)


def _require_clinician(user: User, organisation_id: int) -> None:
    if not Membership.objects.filter(
        user=user, organisation_id=organisation_id, is_active=True, role__in=CLINICIANS
    ).exists():
        raise DomainError(_("Only a practitioner can record or change outcome measurements."))


def _check_measurements(items: Sequence[MeasurementInput]) -> None:
    seen: set[str] = set()
    for item in items:
        if not measures.is_known(item.measure):
            raise DomainError(_("Unknown measure %s.") % item.measure, field="measurements")
        if item.measure in seen:
            raise DomainError(
                _("%s is entered twice.") % measures.get(item.measure).short_label,
                field=item.measure,
            )
        seen.add(item.measure)
        measure = measures.get(item.measure)
        problem = measures.check_value(measure, item.value)
        if problem:
            raise DomainError(problem, field=item.measure)
        if item.method and item.method not in measure.methods:
            raise DomainError(
                _("%(measure)s is not measured by %(method)s.")
                % {"measure": measure.short_label, "method": item.method},
                field=item.measure,
            )


def _check_visit(patient: Patient, data: VisitInput, *, visit: OutcomeVisit | None) -> None:
    """The checks that need the patient, the course and the clinic's calendar."""
    if data.point not in ReviewPoint.values:
        raise DomainError(_("Choose which visit this is."), field="point")
    if data.clinic.organisation_id != patient.organisation_id:
        raise DomainError(_("Choose one of your clinics."), field="clinic")
    if data.measured_on < patient.date_of_birth:
        raise DomainError(
            _("The visit is dated before the patient's date of birth (%(dob)s).")
            % {"dob": patient.date_of_birth.isoformat()},
            field="measured_on",
        )
    today = clock.now().astimezone(data.clinic.tzinfo).date()
    if data.measured_on > today:
        raise DomainError(
            _("The visit is dated in the future; measurements are recorded when taken."),
            field="measured_on",
        )
    if data.landmark is not None and data.landmark.patient_id != patient.pk:
        raise DomainError(_("Choose one of this patient's landmarks."), field="landmark")
    if data.stage_scale or data.stage:
        scale = STAGE_SCALES.get(data.stage_scale)
        if scale is None or data.stage not in dict(scale.grades):
            raise DomainError(_("Choose a stage of the scale."), field="stage")
    _check_measurements(data.measurements)
    if data.course is not None:
        _check_course(data, course=data.course, patient=patient, visit=visit)


def _check_course(
    data: VisitInput, *, course: Course, patient: Patient, visit: OutcomeVisit | None
) -> None:
    if course.patient_id != patient.pk:
        raise DomainError(_("Choose one of this patient's courses."), field="course")
    others = OutcomeVisit.objects.filter(course=course, point=ReviewPoint.BASELINE)
    if visit is not None:
        others = others.exclude(pk=visit.pk)
    baseline = others.order_by().first()
    if data.point == ReviewPoint.BASELINE:
        if baseline is not None:
            raise DomainError(
                _(
                    "This course already has a baseline, measured on %(date)s; "
                    "record this visit as a review."
                )
                % {"date": baseline.measured_on.isoformat()},
                field="point",
            )
        first_done = (
            CourseSession.objects.filter(course=course, status=SessionStatus.DONE)
            .order_by("done_on")
            .values_list("done_on", flat=True)
            .first()
        )
        if first_done is not None and data.measured_on > first_done:
            raise DomainError(
                _(
                    "A baseline is measured before the first session, which was on "
                    "%(date)s; record this visit as a review."
                )
                % {"date": first_done.isoformat()},
                field="point",
            )
        later = OutcomeVisit.objects.filter(course=course).exclude(point=ReviewPoint.BASELINE)
        if visit is not None:
            later = later.exclude(pk=visit.pk)
        earliest_review = (
            later.order_by("measured_on").values_list("measured_on", flat=True).first()
        )
        if earliest_review is not None and data.measured_on > earliest_review:
            raise DomainError(
                _(
                    "The course already has a review on %(date)s; its baseline must be "
                    "measured on or before that day."
                )
                % {"date": earliest_review.isoformat()},
                field="measured_on",
            )
    else:
        _check_review_is_new(data, course=course, visit=visit)
    if data.point != ReviewPoint.BASELINE and (
        baseline is not None and data.measured_on < baseline.measured_on
    ):
        raise DomainError(
            _("A review cannot be dated before the course's baseline (%(date)s).")
            % {"date": baseline.measured_on.isoformat()},
            field="measured_on",
        )


def _check_review_is_new(data: VisitInput, *, course: Course, visit: OutcomeVisit | None) -> None:
    """One visit per review point of a course: a repeat is a correction of that visit."""
    if data.point not in FOLLOW_UP_POINTS:
        return
    same = OutcomeVisit.objects.filter(course=course, point=data.point)
    if visit is not None:
        same = same.exclude(pk=visit.pk)
    existing = same.first()
    if existing is not None:
        raise DomainError(
            _(
                "This course already has its %(point)s review, measured on %(date)s; "
                "correct that visit instead."
            )
            % {"point": ReviewPoint(data.point).label, "date": existing.measured_on.isoformat()},
            field="point",
        )


def _measurement_rows(visit: OutcomeVisit, items: Sequence[MeasurementInput]) -> list[Measurement]:
    return [
        Measurement(
            organisation_id=visit.organisation_id,
            visit=visit,
            patient_id=visit.patient_id,
            course_id=visit.course_id,
            point=visit.point,
            measure=item.measure,
            value=float(item.value),
            method=item.method or measures.get(item.measure).default_method().value,
            device=item.device.strip(),
            photo=item.photo,
        )
        for item in items
    ]


def _values(rows: Sequence[Measurement]) -> dict[str, Any]:
    return {
        f"measurement.{r.measure}": {"value": r.value, "method": r.method, "device": r.device}
        for r in rows
    }


def _lock_patient(patient_id: int) -> None:
    # Two people recording the baseline of one course at once: the second waits, then
    # sees the first and is refused (the unique constraint is the last line of defence).
    list(Patient.objects.select_for_update(no_key=True).filter(pk=patient_id))


@transaction.atomic
def outcome_visit_record(*, patient: Patient, data: VisitInput, acting_user: User) -> OutcomeVisit:
    """Record an outcome visit with the measurements taken (any may be left out)."""
    _require_clinician(acting_user, patient.organisation_id)
    _lock_patient(patient.pk)
    _check_visit(patient, data, visit=None)
    visit = OutcomeVisit.objects.create(
        organisation_id=patient.organisation_id,
        patient=patient,
        clinic=data.clinic,
        course=data.course,
        point=data.point,
        measured_on=data.measured_on,
        stage_scale=data.stage_scale,
        stage=data.stage,
        landmark=data.landmark,
        notes=data.notes.strip(),
        recorded_by=acting_user,
    )
    rows = Measurement.objects.bulk_create(_measurement_rows(visit, data.measurements))
    audit_record(
        action="outcome_visit.record",
        actor=acting_user,
        organisation=patient.organisation,
        obj=visit,
        patient=patient,
        changes=created({**snapshot(visit, _AUDITED), **_values(rows)}),
    )
    return visit


@transaction.atomic
def outcome_visit_update(
    *, visit: OutcomeVisit, data: VisitInput, expected_version: int | None, acting_user: User
) -> OutcomeVisit:
    """Correct a visit and its numbers. A form opened before another person's save is
    refused (``expected_version``); the audit event keeps every old and new value."""
    _require_clinician(acting_user, visit.organisation_id)
    _lock_patient(visit.patient_id)
    locked = (
        OutcomeVisit.objects.select_for_update(of=("self",))
        .select_related("patient", "organisation")
        .get(pk=visit.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            _("Someone else changed this visit since you opened it; reload and try again."),
            field="version",
        )
    _check_visit(locked.patient, data, visit=locked)
    before = snapshot(locked, _AUDITED)
    old_rows = list(locked.measurements.all())
    locked.point, locked.measured_on, locked.clinic = data.point, data.measured_on, data.clinic
    locked.course, locked.landmark = data.course, data.landmark
    locked.stage_scale, locked.stage, locked.notes = (
        data.stage_scale,
        data.stage,
        data.notes.strip(),
    )
    locked.version += 1
    locked.save()
    new_rows = _measurement_rows(locked, data.measurements)
    changes = diff(before, snapshot(locked, _AUDITED))
    old_values, new_values = _values(old_rows), _values(new_rows)
    for key in sorted(old_values.keys() | new_values.keys()):
        if old_values.get(key) != new_values.get(key):
            changes[key] = {"old": old_values.get(key), "new": new_values.get(key)}
    # Replaced as a set: the copies of point and course must follow the visit anyway.
    locked.measurements.all().delete()
    Measurement.objects.bulk_create(new_rows)
    audit_record(
        action="outcome_visit.update",
        actor=acting_user,
        organisation=locked.organisation,
        obj=locked,
        patient=locked.patient,
        changes=changes,
    )
    return locked


@transaction.atomic
def landmark_create(
    *,
    patient: Patient,
    name: str,
    acting_user: User,
    description: str = "",
    from_glabella_mm: int | None = None,
    from_midline_mm: int | None = None,
    tattooed: bool = False,
) -> Landmark:
    """Mark the spot where the target area is measured (names are unique per patient)."""
    _require_clinician(acting_user, patient.organisation_id)
    name = name.strip()
    if not name:
        raise DomainError(_("Name the landmark (for example: vertex target area)."), field="name")
    if Landmark.objects.filter(patient=patient, name=name).exists():
        raise Conflict(_("This patient already has a landmark named %s.") % name, field="name")
    try:
        # A savepoint: two people naming a landmark at once, the second gets the Conflict.
        with transaction.atomic():
            landmark = Landmark.objects.create(
                organisation_id=patient.organisation_id,
                patient=patient,
                name=name,
                description=description.strip(),
                from_glabella_mm=from_glabella_mm,
                from_midline_mm=from_midline_mm,
                tattooed=tattooed,
                created_by=acting_user,
            )
    except IntegrityError:
        raise Conflict(
            _("This patient already has a landmark named %s.") % name, field="name"
        ) from None
    audit_record(
        action="landmark.create",
        actor=acting_user,
        organisation=patient.organisation,
        obj=landmark,
        patient=patient,
        changes=created(
            snapshot(
                landmark,
                ("name", "description", "from_glabella_mm", "from_midline_mm", "tattooed"),
            )
        ),
    )
    return landmark


def _locked_visit(visit: OutcomeVisit) -> OutcomeVisit:
    _lock_patient(visit.patient_id)
    return (
        OutcomeVisit.objects.select_for_update(of=("self",))
        .select_related("patient", "organisation")
        .get(pk=visit.pk)
    )


@transaction.atomic
def outcome_photo_add(
    *,
    visit: OutcomeVisit,
    view: str,
    photo: PreparedPhoto,
    acting_user: User,
    caption: str = "",
    um_per_px: float | None = None,
) -> OutcomePhoto:
    """Attach a standardized photo of ``view`` (already stripped of metadata by
    ``images.prepare_photo``). A retake of a view keeps the earlier photo."""
    visit = _locked_visit(visit)
    _require_clinician(acting_user, visit.organisation_id)
    if view not in photography.CODES:
        raise DomainError(_("Choose which view the photo shows."), field="view")
    if um_per_px is not None and not 0 < um_per_px <= 100:
        raise DomainError(
            _("The calibration must be between 0 and 100 micrometres per pixel."),
            field="um_per_px",
        )
    row = OutcomePhoto(
        organisation_id=visit.organisation_id,
        patient=visit.patient,
        visit=visit,
        view=view,
        caption=caption.strip(),
        um_per_px=um_per_px,
        created_by=acting_user,
    )
    row.store(photo)
    row.save()
    audit_record(
        action="outcome_photo.add",
        actor=acting_user,
        organisation=visit.organisation,
        obj=visit,
        patient=visit.patient,
        changes=created({"photo": row.pk, "view": view, "sha256": photo.sha256}),
    )
    return row


@transaction.atomic
def outcome_photo_remove(*, photo: OutcomePhoto, reason: str, acting_user: User) -> None:
    """Remove a photo taken by mistake (another patient, a failed shot). The audit event
    keeps who, when, why and the photo's SHA-256; the files go after the commit. A number
    an analysis read from the photo stays, without its link to the photo."""
    visit = _locked_visit(photo.visit)
    _require_clinician(acting_user, visit.organisation_id)
    if len(reason.strip()) < 5:
        raise DomainError(_("Say why the photo is removed."), field="reason")
    # Read again under the visit's lock: a second click of the same removal finds nothing.
    current = OutcomePhoto.objects.filter(pk=photo.pk).first()
    if current is None:
        raise DomainError(_("This photo has already been removed."), field="photo")
    photo = current
    audit_record(
        action="outcome_photo.remove",
        actor=acting_user,
        organisation=visit.organisation,
        obj=visit,
        patient=visit.patient,
        changes={
            "photo": {"old": photo.pk, "new": None},
            "view": {"old": photo.view},
            "sha256": {"old": photo.sha256},
            "reason": {"new": reason.strip()},
        },
    )
    delete_photo_files_after_commit([photo])
    overlay_name = photo.overlay.name or ""
    if overlay_name:
        storage = photo.overlay.storage
        transaction.on_commit(lambda: storage.delete(overlay_name))
    photo.delete()


def outcome_photo_analyse(*, photo: OutcomePhoto, acting_user: User) -> trichoscopy_hook.Findings:
    """Run the trichoscopy analysis on a calibrated close-up and keep what it found (and
    its overlay) with the photo. Nothing is written to the measurements: the practitioner
    confirms or corrects the numbers in the visit form, which is what gets stored.

    The analysis runs outside any transaction (it may take seconds, and a write
    transaction holds SQLite's database lock); its result is then saved in a short one,
    if the photo still exists."""
    _require_clinician(acting_user, photo.organisation_id)
    if not photography.get(photo.view).close_up:
        raise DomainError(_("Only a trichoscopy close-up can be analysed."), field="photo")
    if photo.um_per_px is None:
        raise DomainError(
            _("Enter the close-up's calibration (micrometres per pixel) to analyse it."),
            field="um_per_px",
        )
    with photo.image.open("rb") as handle:
        data = handle.read()
    try:
        findings = trichoscopy_hook.analyse(data, um_per_px=photo.um_per_px)
    except trichoscopy_hook.Unavailable as error:
        raise DomainError(str(error), field="photo") from None
    with transaction.atomic():
        visit = _locked_visit(photo.visit)
        current = OutcomePhoto.objects.filter(pk=photo.pk).first()
        if current is None:
            raise DomainError(_("This photo has been removed."), field="photo")
        old_overlay = current.overlay.name or ""
        current.analysis = findings.as_json()
        if findings.overlay_png:
            current.overlay.save("overlay.png", ContentFile(findings.overlay_png), save=False)
        else:
            current.overlay = ""
        current.save(update_fields=["analysis", "overlay"])
        if old_overlay and old_overlay != current.overlay.name:
            storage = current.overlay.storage
            transaction.on_commit(lambda: storage.delete(old_overlay))
        audit_record(
            action="outcome_photo.analyse",
            actor=acting_user,
            organisation=visit.organisation,
            obj=visit,
            patient=visit.patient,
            changes={"photo": {"new": current.pk}, "analysis": {"new": current.analysis}},
        )
    return findings
