"""Reads of outcome visits, photos and a patient's progress, scoped by organisation (any
other organisation's id is a 404).

A patient's progress is built from four queries whatever the number of visits: visits,
their measurements, their photos, and the sessions done. Reads made for a page the
patient's chart does not already audit go through ``record_read``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.core.audit import audit_record
from mesoclinic.outcomes import measures, photography, stats
from mesoclinic.outcomes.models import (
    Landmark,
    OutcomePhoto,
    OutcomeVisit,
    ReviewPoint,
)
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Course, CourseSession, SessionStatus


def visit_queryset(*, organisation_id: int) -> QuerySet[OutcomeVisit]:
    return OutcomeVisit.objects.filter(organisation_id=organisation_id).select_related(
        "patient", "clinic", "course__protocol_version", "landmark", "recorded_by"
    )


def visit_get(*, workspace: Workspace, visit_id: int) -> OutcomeVisit:
    """One visit of the workspace's organisation, its measurements loaded; else 404."""
    visit = (
        visit_queryset(organisation_id=workspace.organisation.pk)
        .prefetch_related("measurements")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise Http404("No such outcome visit")
    return visit


def photo_get(*, workspace: Workspace, photo_id: int) -> OutcomePhoto:
    """One outcome photo of the workspace's organisation; else 404."""
    photo = (
        OutcomePhoto.objects.filter(organisation_id=workspace.organisation.pk, pk=photo_id)
        .select_related("patient", "visit__clinic")
        .first()
    )
    if photo is None:
        raise Http404("No such photo")
    return photo


def record_read(*, workspace: Workspace, patient: Patient, what: str) -> None:
    """Audit a read of the patient's outcomes (``what``: visit, progress, comparison, report)."""
    audit_record(
        action="outcomes.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        obj=patient,
        patient=patient,
        changes={"what": {"new": what}},
    )


def landmarks_of(patient: Patient) -> list[Landmark]:
    return list(Landmark.objects.filter(patient=patient).order_by("name"))


def courses_of(patient: Patient) -> list[Course]:
    return list(
        Course.objects.filter(patient=patient)
        .select_related("protocol_version")
        .order_by("-start_on", "-pk")
    )


def visits_of(patient: Patient) -> list[OutcomeVisit]:
    """The patient's visits, oldest first, with measurements and photos (three queries)."""
    return list(
        visit_queryset(organisation_id=patient.organisation_id)
        .filter(patient=patient)
        .prefetch_related(
            "measurements",
            Prefetch(
                "photos", queryset=OutcomePhoto.objects.order_by("view", "-created_at", "-pk")
            ),
        )
        .order_by("measured_on", "pk")
    )


def latest_photos(visit: OutcomeVisit) -> dict[str, OutcomePhoto]:
    """The latest photo of each view of a visit whose photos were prefetched newest first."""
    latest: dict[str, OutcomePhoto] = {}
    for photo in visit.photos.all():
        latest.setdefault(photo.view, photo)
    return latest


def session_days_of(patient: Patient) -> list[dt.date]:
    """The days the patient's course sessions were done (one query)."""
    days = CourseSession.objects.filter(
        course__patient=patient, status=SessionStatus.DONE, done_on__isnull=False
    ).values_list("done_on", flat=True)
    return sorted(day for day in days if day is not None)


@dataclass(frozen=True)
class SeriesPoint:
    visit: OutcomeVisit
    day: dt.date
    value: float
    method: str
    device: str
    is_baseline: bool
    change: float | None  # from the baseline it is compared with; None without one
    change_percent: float | None


@dataclass(frozen=True)
class Series:
    measure: measures.Measure
    points: list[SeriesPoint]

    @property
    def baseline(self) -> SeriesPoint | None:
        return next((p for p in self.points if p.is_baseline), None)

    @property
    def latest(self) -> SeriesPoint:
        return self.points[-1]


@dataclass(frozen=True)
class Progress:
    patient: Patient
    visits: list[OutcomeVisit]
    series: list[Series]
    session_days: list[dt.date]

    def comparable_visits(self) -> list[OutcomeVisit]:
        """Visits with at least one photo, oldest first."""
        return [v for v in self.visits if v.photos.all()]


def progress_of(patient: Patient) -> Progress:
    """Every measure over time. A number is compared with its own course's baseline of the
    same measure (a visit outside any course, with the latest such baseline before it); a
    course whose baseline lacks the measure has no change for it. Scores that already
    compare with baseline (the -3..+3 assessments) and satisfaction carry no change."""
    visits = visits_of(patient)
    series = []
    for measure in measures.MEASURES:
        rows = [
            (visit, m)
            for visit in visits
            for m in visit.measurements.all()
            if m.measure == measure.code
        ]
        if not rows:
            continue
        baselines = {
            visit.course_id: m.value
            for visit, m in rows
            if visit.point == ReviewPoint.BASELINE and visit.course_id is not None
        }
        points: list[SeriesPoint] = []
        outside: float | None = None  # the latest baseline of a visit without a course
        for visit, m in rows:
            is_baseline = visit.point == ReviewPoint.BASELINE
            if visit.course_id is None:
                if is_baseline:
                    outside = m.value
                reference = outside
            else:
                reference = baselines.get(visit.course_id)
            with_change = measure.code in measures.CHANGE_MEASURES and reference is not None
            points.append(
                SeriesPoint(
                    visit=visit,
                    day=visit.measured_on,
                    value=m.value,
                    method=m.method,
                    device=m.device,
                    is_baseline=is_baseline,
                    change=(m.value - reference) if with_change and reference is not None else None,
                    change_percent=(
                        stats.percent_change(reference, m.value)
                        if with_change and reference is not None
                        else None
                    ),
                )
            )
        series.append(Series(measure=measure, points=points))
    return Progress(
        patient=patient, visits=visits, series=series, session_days=session_days_of(patient)
    )


@dataclass(frozen=True)
class ViewPair:
    view: photography.View
    before: OutcomePhoto | None
    after: OutcomePhoto | None


def comparison_of(before: OutcomeVisit, after: OutcomeVisit) -> list[ViewPair]:
    """View by view, the latest photo of each of two visits (prefetched by ``visits_of``);
    views neither visit has are left out."""
    first, second = latest_photos(before), latest_photos(after)
    return [
        ViewPair(view=view, before=first.get(view.code), after=second.get(view.code))
        for view in photography.VIEWS
        if view.code in first or view.code in second
    ]


def visit_by_id(visits: Iterable[OutcomeVisit], visit_id: str | int | None) -> OutcomeVisit | None:
    """The visit with that id among ``visits`` (already scoped to one patient), or None."""
    try:
        wanted = int(visit_id) if visit_id not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return next((v for v in visits if v.pk == wanted), None)
