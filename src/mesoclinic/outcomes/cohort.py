"""Cohort analytics: what happened to the clinic's own patients on a protocol.

A cohort is a set of courses (a protocol, a formulation, a practitioner, the patients' sex,
their stage at baseline, and the period the courses started in). For one measure, each
course's number at a review point is paired with the same course's baseline; the mean
change has a paired t interval, the responder rate a Wilson interval (``outcomes.stats``).
Two cohorts are compared by the difference of their mean changes (Welch) and of their
responder rates (Newcombe). The data are observational: patients chose their protocol, and
those who stopped are missing from the later points, which the page says next to the numbers.

Cost: a fixed number of queries per cohort whatever its size; the pairing and the sums
behind every mean, standard deviation and responder count are made by the database (one
join of the reviews to their baselines, grouped by review point), so 100,000 courses never
travel to Python one by one (bench/outcomes.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
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
    # The moments of the per-course changes, for the comparison of two cohorts.
    change_moments: stats.Moments | None


@dataclass(frozen=True)
class Cohort:
    label: str
    counts: Counts
    measure: measures.Measure
    threshold_percent: float
    points: list[PointResult]
    # Per course, the percentage change at ``distribution_at`` (the distribution chart).
    distribution_at: ReviewPoint | None = None
    distribution: list[float] = field(default_factory=list)

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
    """Three aggregates: all the courses, the started ones (a session done), baselines.
    (Two plain aggregates instead of one with an EXISTS per FILTER: PostgreSQL ran the
    subquery once per filtered count, a third of a second on 100,000 courses.)"""
    everything = courses.aggregate(
        courses=Count("pk"),
        patients=Count("patient", distinct=True),
        completed=Count("pk", filter=Q(status=CourseStatus.COMPLETED)),
        active=Count("pk", filter=Q(status=CourseStatus.ACTIVE)),
    )
    started = courses.filter(
        pk__in=CourseSession.objects.filter(status=SessionStatus.DONE).values("course_id")
    ).aggregate(
        started=Count("pk"),
        patients_started=Count("patient", distinct=True),
        dropped_out=Count("pk", filter=Q(status=CourseStatus.CANCELLED)),
    )
    with_baseline = OutcomeVisit.objects.filter(
        course__in=courses.values("pk"), point=ReviewPoint.BASELINE
    ).count()
    return Counts(
        not_started=everything["courses"] - started["started"],
        with_baseline=with_baseline,
        **everything,
        **started,
    )


# Each review measurement of the cohort joined to its course's baseline of the same measure
# (one per course: one baseline visit per course, one number per measure and visit; one
# visit per review point, so each course pairs once per point). Percentages only where the
# baseline is not 0. Portable SQL: SQLite and PostgreSQL.
_PAIRED = """
    FROM {table} r
    JOIN {table} b
      ON b.course_id = r.course_id AND b.measure = r.measure AND b.point = 'baseline'
    WHERE r.measure = %s AND r.course_id IN ({courses})
"""
_PCT = "(100.0 * (r.value - b.value) / ABS(b.value))"


def _paired_sql(courses: QuerySet[Course]) -> tuple[str, list[Any]]:
    inner, params = courses.values("pk").query.sql_with_params()
    return _PAIRED.format(table=Measurement._meta.db_table, courses=inner), list(params)


def _point_sums(
    courses: QuerySet[Course], measure: measures.Measure, edge: float, *, higher: bool
) -> dict[str, tuple[Any, ...]]:
    """Per review point, the sums the statistics need, summed by the database (one query):
    pairs, baseline and follow-up sums, the changes' sum and sum of squares, the same for
    the percentage changes, and the responders (percentage at or beyond the edge)."""
    paired, params = _paired_sql(courses)
    reach = f"{_PCT} >= %s" if higher else f"{_PCT} <= %s"
    points = [p.value for p in FOLLOW_UP_POINTS]
    sql = f"""
        SELECT r.point, COUNT(*), SUM(b.value), SUM(r.value),
               SUM(r.value - b.value), SUM((r.value - b.value) * (r.value - b.value)),
               SUM(CASE WHEN b.value <> 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.value <> 0 THEN {_PCT} END),
               SUM(CASE WHEN b.value <> 0 THEN {_PCT} * {_PCT} END),
               SUM(CASE WHEN b.value <> 0 AND {reach} THEN 1 ELSE 0 END)
        {paired} AND r.point IN ({", ".join(["%s"] * len(points))})
        GROUP BY r.point
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [edge, measure.code, *params, *points])
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _percent_changes(
    courses: QuerySet[Course], measure: measures.Measure, point: ReviewPoint
) -> list[float]:
    """Per course, the percentage change at ``point`` (the distribution chart; one query)."""
    paired, params = _paired_sql(courses)
    sql = f"SELECT {_PCT} {paired} AND r.point = %s AND b.value <> 0"
    with connection.cursor() as cursor:
        cursor.execute(sql, [measure.code, *params, point.value])
        return [row[0] for row in cursor.fetchall()]


def _point_result(
    point: ReviewPoint, sums: tuple[Any, ...] | None, *, with_responders: bool
) -> PointResult:
    if sums is None:
        return PointResult(point=point, change=None, responders=None, change_moments=None)
    n, sum_base, sum_follow, sum_d, sum_d2, n_pct, sum_pct, sum_pct2, reached = sums
    change = stats.Moments.from_sums(n, sum_d, sum_d2)
    assert change is not None  # a row of the GROUP BY has at least one pair
    percent = stats.Moments.from_sums(n_pct, sum_pct or 0.0, sum_pct2 or 0.0)
    return PointResult(
        point=point,
        change=stats.paired_change_from_moments(
            mean_baseline=sum_base / n,
            mean_follow_up=sum_follow / n,
            change=change,
            percent=percent,
        ),
        responders=stats.responders_from_counts(responders=reached, n=n_pct, excluded=n - n_pct)
        if with_responders
        else None,
        change_moments=change,
    )


def cohort_outcomes(
    *,
    organisation_id: int,
    cohort: CohortFilter,
    measure: measures.Measure,
    threshold_percent: float,
    label: str = "",
    distribution_at: ReviewPoint | None = None,
) -> Cohort:
    """The cohort's counts and, at each review point, the change of ``measure`` from the
    same course's baseline and its responders (``threshold_percent`` in the measure's better
    direction; none for a measure without one); with ``distribution_at``, every course's
    percentage change there. Five queries, whatever the cohort's size: the statistics are
    computed from sums the database makes (``stats.Moments.from_sums``)."""
    courses = courses_of_cohort(organisation_id=organisation_id, cohort=cohort)
    with_responders = measure.higher_is_better is not None
    higher = measure.higher_is_better is not False
    edge = stats.responder_edge(threshold_percent, higher_is_better=higher)
    sums = _point_sums(courses, measure, edge, higher=higher)
    return Cohort(
        label=label,
        counts=_counts(courses),
        measure=measure,
        threshold_percent=threshold_percent,
        points=[
            _point_result(point, sums.get(point.value), with_responders=with_responders)
            for point in FOLLOW_UP_POINTS
        ],
        distribution_at=distribution_at,
        distribution=(
            _percent_changes(courses, measure, distribution_at) if distribution_at else []
        ),
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
                change_difference=(
                    stats.welch_from_moments(a.change_moments, b.change_moments)
                    if a.change_moments is not None and b.change_moments is not None
                    else None
                ),
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
