"""Cohort analytics: what happened to the clinic's own patients on a protocol.

A cohort is a set of courses (a protocol, a formulation, a practitioner, the patients' sex,
their stage at baseline, and the period the courses started in). For one measure, each
course's number at a review point is paired with the same course's baseline; the mean
change has a paired t interval, the responder rate a Wilson interval (``outcomes.stats``).
Two cohorts are compared by the difference of their mean changes (Welch) and of their
responder rates (Newcombe). The data are observational: patients chose their protocol, and
those who stopped are missing from the later points, which the page says next to the numbers.

Cost: three queries per cohort whatever its size (the courses with their status, the
numbers of the measure paired in Python, nothing per course).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from mesoclinic.outcomes import measures, stats
from mesoclinic.outcomes.models import FOLLOW_UP_POINTS, Measurement, OutcomeVisit, ReviewPoint
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import Course, CourseSession, CourseStatus, SessionStatus


@dataclass(frozen=True)
class CohortFilter:
    protocol_id: int | None = None
    formulation: str = ""
    practitioner_id: int | None = None
    sex: str = ""
    stage_scale: str = ""
    stage: str = ""
    started_from: dt.date | None = None
    started_to: dt.date | None = None


@dataclass(frozen=True)
class Counts:
    """``patients`` and ``courses`` are everything the filter selects; a course has
    *started* once one of its sessions is done; *dropped out* is a started course that was
    cancelled (one cancelled before its first session is in ``not_started``)."""

    patients: int
    courses: int
    started: int
    patients_started: int
    completed: int
    dropped_out: int
    active: int
    not_started: int
    with_baseline: int


@dataclass(frozen=True)
class PointResult:
    point: ReviewPoint
    change: stats.PairedChange | None
    responders: stats.Responders | None
    changes: list[float]  # per course, for the distribution chart
    changes_percent: list[float]


@dataclass(frozen=True)
class Cohort:
    label: str
    counts: Counts
    measure: measures.Measure
    threshold_percent: float
    points: list[PointResult]

    def at(self, point: ReviewPoint) -> PointResult:
        return next(p for p in self.points if p.point == point)


@dataclass(frozen=True)
class PointComparison:
    point: ReviewPoint
    change_difference: stats.Difference | None
    responder_difference: stats.Difference | None


@dataclass(frozen=True)
class Comparison:
    first: Cohort
    second: Cohort
    points: list[PointComparison] = field(default_factory=list)


def protocol_label(protocol: Protocol | None) -> str:
    """How a cohort is named: its protocol's current name, or all protocols."""
    if protocol is None:
        return _("All protocols")
    return protocol.current_version.name if protocol.current_version else str(protocol.pk)


def courses_of_cohort(*, organisation_id: int, cohort: CohortFilter) -> QuerySet[Course]:
    """The courses the filter selects, in one organisation."""
    courses = Course.objects.filter(organisation_id=organisation_id)
    if cohort.protocol_id is not None:
        courses = courses.filter(protocol_version__protocol_id=cohort.protocol_id)
    if cohort.formulation:
        # Formulations are copied into each version as JSON (read in Python: JSON
        # containment is not portable to SQLite); versions are few.
        courses = courses.filter(
            protocol_version_id__in=_versions_with_formulation(organisation_id, cohort.formulation)
        )
    if cohort.practitioner_id is not None:
        courses = courses.filter(practitioner_id=cohort.practitioner_id)
    if cohort.sex:
        courses = courses.filter(patient__sex_at_birth=cohort.sex)
    if cohort.started_from is not None:
        courses = courses.filter(start_on__gte=cohort.started_from)
    if cohort.started_to is not None:
        courses = courses.filter(start_on__lte=cohort.started_to)
    if cohort.stage_scale:
        courses = courses.filter(
            outcome_visits__point=ReviewPoint.BASELINE,
            outcome_visits__stage_scale=cohort.stage_scale,
            outcome_visits__stage=cohort.stage,
        )
    return courses


def _versions_with_formulation(organisation_id: int, name: str) -> list[int]:
    from mesoclinic.protocols.models import ProtocolVersion

    return [
        pk
        for pk, formulations in ProtocolVersion.objects.filter(
            protocol__organisation_id=organisation_id
        ).values_list("pk", "formulations")
        if any(f.get("name") == name for f in formulations or [])
    ]


def _counts(courses: QuerySet[Course]) -> Counts:
    done = CourseSession.objects.filter(course=OuterRef("pk"), status=SessionStatus.DONE)
    row = courses.annotate(has_started=Exists(done)).aggregate(
        courses=Count("pk"),
        patients=Count("patient", distinct=True),
        started=Count("pk", filter=Q(has_started=True)),
        patients_started=Count("patient", distinct=True, filter=Q(has_started=True)),
        completed=Count("pk", filter=Q(status=CourseStatus.COMPLETED)),
        dropped_out=Count("pk", filter=Q(status=CourseStatus.CANCELLED, has_started=True)),
        active=Count("pk", filter=Q(status=CourseStatus.ACTIVE)),
        not_started=Count("pk", filter=Q(has_started=False)),
    )
    with_baseline = OutcomeVisit.objects.filter(
        course__in=courses.values("pk"), point=ReviewPoint.BASELINE
    ).count()
    return Counts(with_baseline=with_baseline, **row)


def _paired(
    courses: QuerySet[Course], measure: measures.Measure
) -> dict[ReviewPoint, list[tuple[float, float]]]:
    """Per review point, (baseline, value) of every course that has both. A course measured
    twice at one point (a visit repeated) counts once, with the measurement recorded last."""
    rows = (
        Measurement.objects.filter(
            course__in=courses.values("pk"),
            measure=measure.code,
            point__in=[ReviewPoint.BASELINE, *FOLLOW_UP_POINTS],
        )
        .order_by()
        .values_list("course_id", "point", "value", "visit_id")
    )
    baseline: dict[int, float] = {}
    later: dict[str, dict[int, tuple[int, float]]] = {p.value: {} for p in FOLLOW_UP_POINTS}
    for course_id, point, value, visit_id in rows.iterator(chunk_size=10_000):
        if point == ReviewPoint.BASELINE:
            baseline[course_id] = value
        else:
            # Visit ids grow with recording; the later recording of a repeated point wins.
            seen = later[point].get(course_id)
            if seen is None or visit_id > seen[0]:
                later[point][course_id] = (visit_id, value)
    return {
        ReviewPoint(point): [
            (baseline[c], v) for c, (_visit, v) in sorted(values.items()) if c in baseline
        ]
        for point, values in later.items()
    }


def cohort_outcomes(
    *,
    organisation_id: int,
    cohort: CohortFilter,
    measure: measures.Measure,
    threshold_percent: float,
    label: str = "",
) -> Cohort:
    courses = courses_of_cohort(organisation_id=organisation_id, cohort=cohort)
    paired = _paired(courses, measure)
    higher = measure.higher_is_better is not False
    points = []
    for point in FOLLOW_UP_POINTS:
        pairs = paired[point]
        points.append(
            PointResult(
                point=point,
                change=stats.paired_change(pairs),
                responders=stats.responders(
                    pairs, threshold_percent=threshold_percent, higher_is_better=higher
                )
                if measure.higher_is_better is not None
                else None,
                changes=[after - before for before, after in pairs],
                changes_percent=[
                    pct
                    for before, after in pairs
                    if (pct := stats.percent_change(before, after)) is not None
                ],
            )
        )
    return Cohort(
        label=label,
        counts=_counts(courses),
        measure=measure,
        threshold_percent=threshold_percent,
        points=points,
    )


def compare(first: Cohort, second: Cohort) -> Comparison:
    """Point by point, first minus second: mean change (Welch) and responders (Newcombe)."""
    rows = []
    for a, b in zip(first.points, second.points, strict=True):
        responder_difference = None
        if a.responders is not None and b.responders is not None:
            responder_difference = stats.newcombe_difference(
                a.responders.responders, a.responders.n, b.responders.responders, b.responders.n
            )
        rows.append(
            PointComparison(
                point=a.point,
                change_difference=stats.welch_difference(a.changes, b.changes),
                responder_difference=responder_difference,
            )
        )
    return Comparison(first=first, second=second, points=rows)


# --- The de-identified dataset ------------------------------------------------------------

CSV_HEADER = (
    "subject",
    "protocol",
    "sex_at_birth",
    "age_band_at_baseline",
    "stage_at_baseline",
    "course_status",
    "visit",
    "days_since_baseline",
    "measure",
    "value",
    "unit",
    "method",
)


# Fewer courses than this and a de-identified export could single out a patient.
MIN_EXPORT_COURSES = 5
OLDEST_BAND = 90  # ages from here are one band ("90+"), as in HIPAA's safe harbour


def _age_band(born: dt.date, on: dt.date) -> str:
    age = on.year - born.year - int((on.month, on.day) < (born.month, born.day))
    if age >= OLDEST_BAND:
        return f"{OLDEST_BAND}+"
    low = (age // 5) * 5
    return f"{low}-{low + 4}"


class TooFewToExport(Exception):
    """The cohort is too small to export without singling out its patients."""


CsvCell = str | int | float


def deidentified_rows(
    *, organisation_id: int, cohort: CohortFilter
) -> Iterator[tuple[CsvCell, ...]]:
    """The cohort's measurements with no name, record number, date or clinic: each course
    is a random subject code (new at every export, so two exports cannot be linked), rows
    in subject order, ages in 5-year bands (90 and over together) and days counted from the
    course's baseline. Numbers stay numbers (texts are the caller's to escape). Courses
    without a baseline are left out (their days cannot be counted). Raises
    ``TooFewToExport`` under MIN_EXPORT_COURSES courses with a baseline, before yielding."""
    courses = courses_of_cohort(organisation_id=organisation_id, cohort=cohort)
    baselines = {
        course_id: (day, scale, stage)
        for course_id, day, scale, stage in OutcomeVisit.objects.filter(
            course__in=courses.values("pk"), point=ReviewPoint.BASELINE
        ).values_list("course_id", "measured_on", "stage_scale", "stage")
    }
    if len(baselines) < MIN_EXPORT_COURSES:
        raise TooFewToExport
    order = list(baselines)
    secrets.SystemRandom().shuffle(order)
    codes = {course_id: f"S{number:06d}" for number, course_id in enumerate(order, start=1)}
    return _rows(courses, baselines, codes, order)


def _rows(
    courses: QuerySet[Course],
    baselines: dict[int, tuple[dt.date, str, str]],
    codes: dict[int, str],
    order: list[int],
) -> Iterator[tuple[CsvCell, ...]]:
    yield CSV_HEADER
    columns = (
        "course__protocol_version__name",
        "course__status",
        "patient__sex_at_birth",
        "patient__date_of_birth",
        "point",
        "visit__measured_on",
        "measure",
        "value",
        "method",
    )
    measurements = Measurement.objects.filter(course__in=courses.values("pk"))
    # Course by course in the shuffled order (chunks of courses, so memory stays flat).
    for start in range(0, len(order), 500):
        chunk = order[start : start + 500]
        grouped: dict[int, list[tuple[Any, ...]]] = {c: [] for c in chunk}
        for course_id, *rest in (
            measurements.filter(course_id__in=chunk)
            .order_by("visit__measured_on", "measure")
            .values_list("course_id", *columns)
        ):
            grouped[course_id].append(tuple(rest))
        for course_id in chunk:
            base_day, scale, stage = baselines[course_id]
            for protocol, status, sex, born, point, day, code, value, method in grouped[course_id]:
                measure = measures.get(code)
                yield (
                    codes[course_id],
                    protocol,
                    sex,
                    _age_band(born, base_day),
                    f"{scale} {stage}".strip(),
                    status,
                    point,
                    (day - base_day).days,
                    code,
                    round(value, measure.decimals) if measure.decimals else int(value),
                    measure.unit,
                    method,
                )
