"""Input and output schemas of /api/v1/measurements, /api/v1/photos and /api/v1/outcomes.

Checked here: the measure codes, each number within its measure's plausible range
(``measures.check_value``, whose message names the measure), a method the measure is taken
by, the visit and photo choices, text lengths, and dates between 1900 and 2100. What needs
the patient, the course or the clinic's calendar (a visit before birth or in the future, one
baseline per course) is the service's, which names the same fields.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any

from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from mesoclinic.core.forms import EARLIEST_DATE, LATEST_DATE
from mesoclinic.outcomes import measures, photography
from mesoclinic.outcomes.cohort import Cohort, Comparison, Counts, PointResult
from mesoclinic.outcomes.models import (
    FOLLOW_UP_POINTS,
    Measurement,
    OutcomePhoto,
    OutcomeVisit,
    ReviewPoint,
)
from mesoclinic.outcomes.selectors import Progress, latest_photos
from mesoclinic.outcomes.services import STAGE_SCALES
from mesoclinic.outcomes.stats import Difference
from mesoclinic.patients import validators
from mesoclinic.patients.models import SexAtBirth
from mesoclinic.safety.stats import Interval

TEXT_MAX_CHARS = 4000
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _choice(value: str, choices: list[str] | tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"Use one of {', '.join(choices)}.")
    return value


def _measure(value: str) -> str:
    if not measures.is_known(value):
        raise ValueError(f"Unknown measure; use one of {', '.join(measures.CODES)}.")
    return value


def _change_measure(value: str) -> str:
    if value not in measures.CHANGE_MEASURES:
        raise ValueError(
            f"Cohorts compare a change from baseline; use one of "
            f"{', '.join(measures.CHANGE_MEASURES)}."
        )
    return value


def _plausible_day(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError("Give a date between the years 1900 and 2100.")
    return value


def _text(label: str, max_chars: int) -> Callable[[str], str]:
    def clean(value: str) -> str:
        return validators.clean_text(value, label=label, max_chars=max_chars)

    return clean


def _stage_filter(value: str) -> str:
    """A stage as ``scale:grade`` (``ludwig:II``), as the cohort page writes it."""
    scale_code, _sep, grade = value.partition(":")
    scale = STAGE_SCALES.get(scale_code)
    if scale is None or grade not in dict(scale.grades):
        raise ValueError(
            "Give a stage as scale:grade, for example ludwig:II "
            f"(scales: {', '.join(STAGE_SCALES)})."
        )
    return value


MeasureCode = Annotated[str, AfterValidator(_measure)]
ChangeMeasureCode = Annotated[str, AfterValidator(_change_measure)]
PointCode = Annotated[str, AfterValidator(lambda v: _choice(v, ReviewPoint.values))]
ViewCode = Annotated[str, AfterValidator(lambda v: _choice(v, photography.CODES))]
MethodCode = Annotated[
    str, AfterValidator(lambda v: _choice(v, [m.value for m in measures.Method]))
]
ScaleCode = Annotated[str, AfterValidator(lambda v: _choice(v, ["", *STAGE_SCALES]))]
StageFilter = Annotated[str, AfterValidator(_stage_filter)]
SexCode = Annotated[
    str,
    AfterValidator(lambda v: _choice(v, [s for s in SexAtBirth.values if s != "unknown"])),
]
Day = Annotated[dt.date, AfterValidator(_plausible_day)]
Notes = Annotated[str, AfterValidator(_text("The notes", TEXT_MAX_CHARS))]
Device = Annotated[str, AfterValidator(_text("The device", 120))]
Caption = Annotated[str, AfterValidator(_text("The caption", 200))]
Reason = Annotated[str, AfterValidator(_text("The reason", 500))]


# --- Input ------------------------------------------------------------------------------------


class MeasurementIn(_Strict):
    measure: MeasureCode = Field(description=", ".join(measures.CODES))
    value: StrictFloat = Field(description="In the measure's unit, within its plausible range")
    method: MethodCode = Field(
        "", description="How it was measured (default: the measure's usual method)"
    )
    device: Device = Field("", description="The instrument, for example FotoFinder 20x")

    @field_validator("value")
    @classmethod
    def _in_range(cls, value: float, info: ValidationInfo) -> float:
        if not math.isfinite(value):
            raise ValueError("Enter a finite number.")
        code = info.data.get("measure")
        if code is not None:
            problem = measures.check_value(measures.get(code), float(value))
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("method")
    @classmethod
    def _method_of_measure(cls, value: str, info: ValidationInfo) -> str:
        code = info.data.get("measure")
        if value and code is not None:
            measure = measures.get(code)
            if value not in measure.methods:
                raise ValueError(
                    f"{measure.short_label} is measured by "
                    f"{', '.join(m.value for m in measure.methods)}."
                )
        return value


def _one_per_measure(items: list[MeasurementIn]) -> list[MeasurementIn]:
    seen: set[str] = set()
    for item in items:
        if item.measure in seen:
            raise ValueError(f"{measures.get(item.measure).short_label} is entered twice.")
        seen.add(item.measure)
    return items


Measurements = Annotated[
    list[MeasurementIn],
    Field(max_length=len(measures.MEASURES)),
    AfterValidator(_one_per_measure),
]


class VisitIn(_Strict):
    patient: StrictInt
    point: PointCode = Field(description=", ".join(ReviewPoint.values))
    measured_on: Day = Field(description="Not before the patient's birth nor in the future")
    clinic: StrictInt
    course: StrictInt | None = Field(None, description="Reviews are compared with its baseline")
    stage_scale: ScaleCode = Field("", description=", ".join(STAGE_SCALES))
    stage: str = Field("", max_length=16, description="A grade of the scale")
    landmark: StrictInt | None = Field(None, description="One of the patient's landmarks")
    notes: Notes = ""
    measurements: Measurements = Field(
        default_factory=list, description="Any measure may be left out"
    )


class VisitPatch(_Strict):
    """Only the fields sent change; ``measurements``, when sent, replace the set."""

    version: StrictInt | None = Field(
        None, description="The version read; a visit changed since is a 409"
    )
    point: PointCode | None = None
    measured_on: Day | None = None
    clinic: StrictInt | None = None
    course: StrictInt | None = Field(None, description="null: not part of a course")
    stage_scale: ScaleCode | None = None
    stage: str | None = Field(None, max_length=16)
    landmark: StrictInt | None = Field(None, description="null: no landmark")
    notes: Notes | None = None
    measurements: Measurements | None = None


class MeasurementListParams(Schema):
    patient: int | None = None
    measure: MeasureCode | None = None
    point: PointCode | None = None
    course: int | None = None
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=10_000_000)


class PhotoIn(Schema):
    """The form fields sent with the photo's file (multipart/form-data)."""

    visit: int
    view: ViewCode = Field(description=", ".join(photography.CODES))
    caption: Caption = ""
    # A form left blank sends "": no calibration.
    um_per_px: Annotated[float | None, BeforeValidator(lambda v: None if v == "" else v)] = Field(
        None, gt=0, le=100, description="Calibration of a close-up (micrometres per pixel)"
    )


class PhotoListParams(Schema):
    visit: int | None = None
    patient: int | None = None
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=10_000_000)


class PhotoRemoveIn(_Strict):
    reason: Reason = Field(min_length=5, description="Why the photo is removed")


class CohortParams(Schema):
    protocol: int | None = None
    compare_with: int | None = Field(None, description="A second protocol, compared point by point")
    formulation: str = Field("", max_length=200)
    practitioner: int | None = None
    sex: SexCode | None = None
    stage: StageFilter | None = Field(None, description="At baseline, as scale:grade (ludwig:II)")
    started_from: Day | None = None
    started_to: Day | None = None
    measure: ChangeMeasureCode = "density_per_cm2"
    threshold_percent: float = Field(
        10, ge=0.1, le=1000, description="Responder: a change of at least this, in per cent"
    )


# --- Output -----------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class PatientRef(Schema):
    id: int
    mrn: str
    name: str


class MeasurementOut(Schema):
    id: int
    measure: str
    label: str
    value: float
    unit: str
    method: str
    device: str
    photo_id: int | None = Field(description="The close-up an automatic analysis read")


class VisitOut(Schema):
    id: int
    patient: PatientRef
    clinic: Ref
    course_id: int | None
    point: str
    point_label: str
    measured_on: dt.date
    stage_scale: str
    stage: str
    landmark: Ref | None
    notes: str
    recorded_by: Ref
    version: int = Field(description="Send it back with a PATCH")
    created_at: dt.datetime
    updated_at: dt.datetime
    measurements: list[MeasurementOut]


class MeasurementRowOut(Schema):
    id: int
    visit_id: int
    patient_id: int
    course_id: int | None
    point: str
    measured_on: dt.date
    measure: str
    value: float
    unit: str
    method: str
    device: str


class MeasurementPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[MeasurementRowOut]


class PhotoOut(Schema):
    id: int
    visit_id: int
    patient_id: int
    view: str
    view_label: str
    caption: str
    um_per_px: float | None
    width_px: int
    height_px: int
    sha256: str
    created_at: dt.datetime
    url: str = Field(description="The JPEG (authorised, audited, never cached)")
    thumbnail_url: str


class PhotoPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PhotoOut]


class ProgressPointOut(Schema):
    visit: int
    date: dt.date
    point: str
    value: float
    method: str
    device: str
    change: float | None = Field(description="From the baseline compared with; null without")
    change_percent: float | None
    is_baseline: bool


class ProgressMeasureOut(Schema):
    code: str
    label: str
    unit: str
    higher_is_better: bool | None
    points: list[ProgressPointOut]


class ProgressVisitOut(Schema):
    id: int
    date: dt.date
    point: str
    course_id: int | None
    photos: list[PhotoOut] = Field(description="The latest photo of each view")


class ProgressOut(Schema):
    patient: PatientRef
    measures: list[ProgressMeasureOut]
    visits: list[ProgressVisitOut]
    session_dates: list[dt.date]


IntervalOut = tuple[float, float]


class RespondersOut(Schema):
    responders: int
    n: int
    proportion: float | None = Field(description="0..1; null when n is 0")
    interval: IntervalOut | None = Field(description="[low, high], Wilson 95 %; null when n < 2")


class CohortPointOut(Schema):
    point: str
    n: int = Field(description="Courses with both a baseline and this point")
    mean_baseline: float | None
    mean_follow_up: float | None
    mean_change: float | None
    interval: IntervalOut | None = Field(
        description="[low, high] of the mean change, paired t 95 %; null when n < 2"
    )
    mean_percent_change: float | None
    percent_change_interval: IntervalOut | None
    responders: RespondersOut | None = Field(
        description="null when no course has both numbers or the measure has no better direction"
    )


class CountsOut(Schema):
    patients: int
    courses: int
    started: int
    patients_started: int
    completed: int
    dropped_out: int
    active: int
    not_started: int
    with_baseline: int


class CohortOut(Schema):
    label: str
    protocol_id: int | None
    counts: CountsOut
    points: list[CohortPointOut]


class DifferenceOut(Schema):
    estimate: float
    interval: IntervalOut | None = Field(description="[low, high] 95 %; null when a group n < 2")


class ComparisonRowOut(Schema):
    point: str
    change_difference: DifferenceOut | None = Field(description="First minus second (Welch)")
    responder_difference: DifferenceOut | None = Field(
        description="First minus second, a proportion (Newcombe)"
    )


class MeasureOut(Schema):
    code: str
    label: str
    unit: str
    higher_is_better: bool | None


class CohortResultOut(Schema):
    observational: bool
    note: str
    measure: MeasureOut
    threshold_percent: float
    points: list[str] = Field(description="The review points, in time order")
    cohort: CohortOut
    compared_with: CohortOut | None
    comparison: list[ComparisonRowOut] | None


# --- Builders ---------------------------------------------------------------------------------


def user_ref(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.full_name or user.email}


def patient_ref(patient: Any) -> dict[str, Any]:
    return {"id": patient.pk, "mrn": patient.mrn, "name": patient.full_name}


def measurement_out(m: Measurement) -> dict[str, Any]:
    definition = measures.get(m.measure)
    return {
        "id": m.pk,
        "measure": m.measure,
        "label": definition.label,
        "value": m.value,
        "unit": definition.unit,
        "method": m.method,
        "device": m.device,
        "photo_id": m.photo_id,
    }


def visit_out(visit: OutcomeVisit) -> dict[str, Any]:
    """``visit`` comes from ``selectors.visit_get`` (relations and measurements loaded)."""
    order = {code: i for i, code in enumerate(measures.CODES)}
    rows = sorted(visit.measurements.all(), key=lambda m: order.get(m.measure, len(order)))
    return {
        "id": visit.pk,
        "patient": patient_ref(visit.patient),
        "clinic": {"id": visit.clinic.pk, "name": visit.clinic.name},
        "course_id": visit.course_id,
        "point": visit.point,
        "point_label": str(visit.get_point_display()),
        "measured_on": visit.measured_on,
        "stage_scale": visit.stage_scale,
        "stage": visit.stage,
        "landmark": (
            {"id": visit.landmark.pk, "name": visit.landmark.name} if visit.landmark else None
        ),
        "notes": visit.notes,
        "recorded_by": user_ref(visit.recorded_by),
        "version": visit.version,
        "created_at": visit.created_at,
        "updated_at": visit.updated_at,
        "measurements": [measurement_out(m) for m in rows],
    }


def measurement_row_out(m: Measurement) -> dict[str, Any]:
    """``m`` with its visit loaded (for the date)."""
    return {
        "id": m.pk,
        "visit_id": m.visit_id,
        "patient_id": m.patient_id,
        "course_id": m.course_id,
        "point": m.point,
        "measured_on": m.visit.measured_on,
        "measure": m.measure,
        "value": m.value,
        "unit": measures.get(m.measure).unit,
        "method": m.method,
        "device": m.device,
    }


def photo_out(photo: OutcomePhoto, *, photo_url: Callable[[int, str], str]) -> dict[str, Any]:
    return {
        "id": photo.pk,
        "visit_id": photo.visit_id,
        "patient_id": photo.patient_id,
        "view": photo.view,
        "view_label": photography.get(photo.view).label,
        "caption": photo.caption,
        "um_per_px": photo.um_per_px,
        "width_px": photo.width_px,
        "height_px": photo.height_px,
        "sha256": photo.sha256,
        "created_at": photo.created_at,
        "url": photo_url(photo.pk, "full"),
        "thumbnail_url": photo_url(photo.pk, "thumb"),
    }


def _progress_visit(visit: OutcomeVisit, *, photo_url: Callable[[int, str], str]) -> dict[str, Any]:
    latest = latest_photos(visit)
    return {
        "id": visit.pk,
        "date": visit.measured_on,
        "point": visit.point,
        "course_id": visit.course_id,
        "photos": [
            photo_out(latest[view.code], photo_url=photo_url)
            for view in photography.VIEWS
            if view.code in latest
        ],
    }


def progress_out(progress: Progress, *, photo_url: Callable[[int, str], str]) -> dict[str, Any]:
    return {
        "patient": patient_ref(progress.patient),
        "measures": [
            {
                "code": s.measure.code,
                "label": s.measure.label,
                "unit": s.measure.unit,
                "higher_is_better": s.measure.higher_is_better,
                "points": [
                    {
                        "visit": p.visit.pk,
                        "date": p.day,
                        "point": p.visit.point,
                        "value": p.value,
                        "method": p.method,
                        "device": p.device,
                        "change": p.change,
                        "change_percent": p.change_percent,
                        "is_baseline": p.is_baseline,
                    }
                    for p in s.points
                ],
            }
            for s in progress.series
        ],
        "visits": [_progress_visit(v, photo_url=photo_url) for v in progress.visits],
        "session_dates": progress.session_days,
    }


def _interval(interval: Interval | None) -> tuple[float, float] | None:
    return None if interval is None else (interval.low, interval.high)


def _point_out(result: PointResult) -> dict[str, Any]:
    change, responders = result.change, result.responders
    return {
        "point": result.point.value,
        "n": change.n if change else 0,
        "mean_baseline": change.mean_baseline if change else None,
        "mean_follow_up": change.mean_follow_up if change else None,
        "mean_change": change.mean_change if change else None,
        "interval": _interval(change.change_interval) if change else None,
        "mean_percent_change": change.mean_percent_change if change else None,
        "percent_change_interval": _interval(change.percent_change_interval) if change else None,
        "responders": (
            {
                "responders": responders.responders,
                "n": responders.n,
                "proportion": responders.proportion,
                "interval": _interval(responders.interval),
            }
            if responders is not None
            else None
        ),
    }


def _counts_out(counts: Counts) -> dict[str, int]:
    return {
        "patients": counts.patients,
        "courses": counts.courses,
        "started": counts.started,
        "patients_started": counts.patients_started,
        "completed": counts.completed,
        "dropped_out": counts.dropped_out,
        "active": counts.active,
        "not_started": counts.not_started,
        "with_baseline": counts.with_baseline,
    }


def cohort_out(cohort: Cohort, *, protocol_id: int | None) -> dict[str, Any]:
    return {
        "label": cohort.label,
        "protocol_id": protocol_id,
        "counts": _counts_out(cohort.counts),
        "points": [_point_out(p) for p in cohort.points],
    }


def _difference(difference: Difference | None) -> dict[str, Any] | None:
    if difference is None:
        return None
    return {"estimate": difference.estimate, "interval": _interval(difference.interval)}


COHORT_NOTE = (
    "Observational data: these are the clinic's own patients, not a trial. Patients were not "
    "assigned to protocols at random, those who stopped are missing from the later points, "
    "and nobody was blinded; a difference between protocols can come from who chose them. "
    "Each course's number at a review point is paired with the same course's baseline: the "
    "mean change has a 95 % paired t interval, the responder rate a 95 % Wilson interval; "
    "two protocols are compared by Welch's interval for the difference of mean changes and "
    "Newcombe's for the difference of responder rates (first minus second). With fewer than "
    "2 courses there is no interval (null)."
)


def cohort_result_out(
    *,
    first: Cohort,
    first_protocol: int | None,
    second: Cohort | None,
    second_protocol: int | None,
    comparison: Comparison | None,
) -> dict[str, Any]:
    measure = first.measure
    return {
        "observational": True,
        "note": COHORT_NOTE,
        "measure": {
            "code": measure.code,
            "label": measure.label,
            "unit": measure.unit,
            "higher_is_better": measure.higher_is_better,
        },
        "threshold_percent": first.threshold_percent,
        "points": [p.value for p in FOLLOW_UP_POINTS],
        "cohort": cohort_out(first, protocol_id=first_protocol),
        "compared_with": (
            cohort_out(second, protocol_id=second_protocol) if second is not None else None
        ),
        "comparison": (
            [
                {
                    "point": row.point.value,
                    "change_difference": _difference(row.change_difference),
                    "responder_difference": _difference(row.responder_difference),
                }
                for row in comparison.points
            ]
            if comparison is not None
            else None
        ),
    }
