"""Input and output schemas of /api/v1/adverse-events.

Choices, grade range, text lengths and aware datetimes are checked here; what needs the
database (the sessions being this patient's and signed, the onset not before them) is the
service's, which names the same fields (``session_ids`` is ``sessions`` there).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StrictInt

from mesoclinic.patients import validators
from mesoclinic.safety import catalogue, rules
from mesoclinic.safety.models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventFollowUp,
    AdverseEventPhoto,
    Outcome,
    Relation,
    Reporter,
    SeriousCriterion,
)
from mesoclinic.safety.rates import RateRow, RatesReport
from mesoclinic.safety.selectors import Exposure, term_label
from mesoclinic.safety.stats import Rate

TEXT_MAX_CHARS = 5000
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _choice(value: str, choices: list[str]) -> str:
    if value not in choices:
        raise ValueError(f"Use one of {', '.join(choices)}.")
    return value


def _choices(values: list[str], choices: list[str]) -> list[str]:
    for value in values:
        _choice(value, choices)
    return values


# Datetimes outside these years are typing errors (and some cannot be shown in a clinic's
# time zone at all).
PLAUSIBLE_YEARS = range(2000, 2101)


def _plausible(value: dt.datetime) -> dt.datetime:
    if value.year not in PLAUSIBLE_YEARS:
        raise ValueError("Give a date between the years 2000 and 2100.")
    return value


def _clean(value: str, label: str, max_chars: int = TEXT_MAX_CHARS) -> str:
    return validators.clean_text(value, label=label, max_chars=max_chars)


def _term(value: str) -> str:
    try:
        catalogue.term(value)
    except catalogue.UnknownTerm:
        raise ValueError(f"Use one of {', '.join(t.code for t in catalogue.terms())}.") from None
    return value


# The checked types of the fields: the same checks whether a field is required (create) or
# may be left out (PATCH, where ``X | None`` checks only what is sent).
TermCode = Annotated[str, AfterValidator(_term)]
RelationCode = Annotated[str, AfterValidator(lambda v: _choice(v, list(Relation.values)))]
ReporterCode = Annotated[str, AfterValidator(lambda v: _choice(v, list(Reporter.values)))]
OutcomeCode = Annotated[
    str,
    AfterValidator(lambda v: _choice(v, [o for o in Outcome.values if o != Outcome.ONGOING])),
]
Criteria = Annotated[
    list[str], AfterValidator(lambda v: _choices(v, list(SeriousCriterion.values)))
]
Actions = Annotated[list[str], AfterValidator(lambda v: _choices(v, list(ActionTaken.values)))]
TermText = Annotated[str, AfterValidator(lambda v: _clean(v, "The details", 200))]
Text = Annotated[str, AfterValidator(lambda v: _clean(v, "The text"))]
Note = Annotated[str, AfterValidator(lambda v: _clean(v, "The note"))]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]


class EventIn(_Strict):
    patient_id: StrictInt
    session_ids: list[StrictInt] = Field(
        min_length=1, max_length=50, description="The signed sessions the side effect followed"
    )
    term: TermCode = Field(description="A catalogue term code (erythema, pruritus, ... other)")
    term_text: TermText = Field("", description="Required for term 'other'; optional details")
    description: Text = ""
    onset_at: Moment = Field(description="With its UTC offset")
    reported_by: ReporterCode = Field(Reporter.PRACTITIONER, description=", ".join(Reporter.values))
    grade: StrictInt = Field(ge=1, le=5, description="CTCAE grade 1 (mild) to 5 (death)")
    serious_criteria: Criteria = Field(
        default_factory=list, description=", ".join(SeriousCriterion.values)
    )
    relation: RelationCode = Field(description=", ".join(Relation.values))
    actions: Actions = Field(default_factory=list, description=", ".join(ActionTaken.values))
    action_note: Text = ""
    responsible_id: StrictInt | None = Field(
        None,
        description="The practitioner told when it is flagged (default: who gave the "
        "latest related session)",
    )


class EventPatch(_Strict):
    """Only the fields sent change."""

    session_ids: list[StrictInt] | None = Field(None, min_length=1, max_length=50)
    term: TermCode | None = None
    term_text: TermText | None = None
    description: Text | None = None
    onset_at: Moment | None = None
    reported_by: ReporterCode | None = None
    grade: StrictInt | None = Field(None, ge=1, le=5)
    serious_criteria: Criteria | None = None
    relation: RelationCode | None = None
    actions: Actions | None = None
    action_note: Text | None = None
    responsible_id: StrictInt | None = None


class FollowUpIn(_Strict):
    note: Note = Field(min_length=1)
    grade: StrictInt | None = Field(None, ge=1, le=5, description="The grade from now on")
    noted_at: Moment | None = Field(None, description="Default: now")


class ResolveIn(_Strict):
    outcome: OutcomeCode = Field(description="resolved, resolved_with_sequelae or fatal")
    resolved_on: dt.date
    sequelae: Text = ""
    note: Text = ""


class ReviewIn(_Strict):
    note: Note = Field(min_length=10, description="The decision about further sessions")


class EventListParams(Schema):
    patient_id: int | None = None
    term: TermCode | None = None
    open: bool | None = None
    serious: bool | None = None
    prolonged: bool | None = Field(None, description="Open and past its expected course")
    responsible_id: int | None = None
    onset_from: dt.date | None = None
    onset_to: dt.date | None = None
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=10_000_000)


class RatesParams(Schema):
    start: dt.date
    end: dt.date
    clinic_id: int | None = None
    related_only: bool = False


# --- Output -----------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class PatientRef(Schema):
    id: int
    mrn: str
    name: str


class LineOut(Schema):
    product_id: int
    product: str
    lot_id: int | None
    lot_number: str | None
    volume_ml: str
    zone: str


class VisitOut(Schema):
    appointment_id: int
    starts_at: dt.datetime
    session_id: int | None = Field(description="The visit's current signed revision")
    practitioner: Ref | None
    lines: list[LineOut]


class FollowUpOut(Schema):
    id: int
    noted_at: dt.datetime
    note: str
    grade: int | None
    recorded_by: Ref


class PhotoOut(Schema):
    id: int
    caption: str
    url: str
    thumbnail_url: str


class EventBriefOut(Schema):
    id: int
    patient: PatientRef
    term: str
    term_label: str
    term_text: str
    onset_at: dt.datetime
    grade: int
    relation: str
    outcome: str
    resolved_on: dt.date | None
    is_serious: bool
    needs_review: bool
    prolonged: bool
    expected_end_at: dt.datetime | None
    responsible: Ref
    appointment_ids: list[int] = Field(description="The visits (appointments) it followed")


class EventOut(EventBriefOut):
    grade_description: str
    description: str
    reported_by: str
    serious_criteria: list[str]
    actions: list[str]
    action_note: str
    sequelae: str
    serious_flagged_at: dt.datetime | None
    prolonged_flagged_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    reviewed_by: Ref | None
    review_note: str
    recorded_by: Ref
    created_at: dt.datetime
    updated_at: dt.datetime
    catalogue_version: str
    visits: list[VisitOut]
    follow_ups: list[FollowUpOut]
    photos: list[PhotoOut]


class EventPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[EventBriefOut]


class IntervalOut(Schema):
    low_per_100: float
    high_per_100: float


class RateOut(Schema):
    key: str
    label: str
    group: str
    sessions_with_side_effect: int
    sessions: int
    per_100_sessions: float | None = Field(description="null when there are no sessions")
    wilson_95: IntervalOut | None
    exact_95: IntervalOut | None
    fisher_one_sided_p: float | None
    bonferroni_threshold: float | None
    above_rest: bool | None


class RatesOut(Schema):
    start: dt.date
    end: dt.date
    clinic_id: int | None
    related_only: bool
    method: str
    overall: RateOut
    side_effects_recorded: int
    by_product: list[RateOut]
    by_lot: list[RateOut]
    by_protocol: list[RateOut]
    by_practitioner: list[RateOut]
    by_term: list[RateOut]


def user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.full_name or user.email}


def event_brief(event: AdverseEvent, *, now: dt.datetime) -> dict[str, Any]:
    term = catalogue.term(event.term)
    return {
        "id": event.pk,
        "patient": {
            "id": event.patient_id,
            "mrn": event.patient.mrn,
            "name": event.patient.full_name,
        },
        "term": event.term,
        "term_label": term_label(event),
        "term_text": event.term_text,
        "onset_at": event.onset_at,
        "grade": event.grade,
        "relation": event.relation,
        "outcome": event.outcome,
        "resolved_on": event.resolved_on,
        "is_serious": event.is_serious,
        "needs_review": event.needs_review,
        "prolonged": rules.is_prolonged(
            term=term, onset_at=event.onset_at, open=event.is_open, now=now
        ),
        "expected_end_at": event.expected_end_at,
        "responsible": user_ref(event.responsible),
        "appointment_ids": [v.appointment_id for v in event.visits.all()],
    }


def event_out(
    event: AdverseEvent,
    *,
    now: dt.datetime,
    exposures: list[Exposure],
    follow_ups: list[AdverseEventFollowUp],
    photos: list[AdverseEventPhoto],
    photo_url: Any,
) -> dict[str, Any]:
    term = catalogue.term(event.term)
    return event_brief(event, now=now) | {
        "grade_description": term.grade_description(event.grade),
        "description": event.description,
        "reported_by": event.reported_by,
        "serious_criteria": list(event.serious_criteria),
        "actions": list(event.actions),
        "action_note": event.action_note,
        "sequelae": event.sequelae,
        "serious_flagged_at": event.serious_flagged_at,
        "prolonged_flagged_at": event.prolonged_flagged_at,
        "reviewed_at": event.reviewed_at,
        "reviewed_by": user_ref(event.reviewed_by),
        "review_note": event.review_note,
        "recorded_by": user_ref(event.recorded_by),
        "created_at": event.created_at,
        "updated_at": event.updated_at,
        "catalogue_version": event.catalogue_version,
        "visits": [
            {
                "appointment_id": x.appointment.pk,
                "starts_at": x.appointment.starts_at,
                "session_id": x.session.pk if x.session else None,
                "practitioner": user_ref(x.session.practitioner) if x.session else None,
                "lines": [
                    {
                        "product_id": line.product_id,
                        "product": line.product.name,
                        "lot_id": line.lot_id,
                        "lot_number": line.lot.lot_number if line.lot else None,
                        "volume_ml": str(line.volume_ml),
                        "zone": line.zone,
                    }
                    for line in x.lines
                ],
            }
            for x in exposures
        ],
        "follow_ups": [
            {
                "id": f.pk,
                "noted_at": f.noted_at,
                "note": f.note,
                "grade": f.grade,
                "recorded_by": user_ref(f.recorded_by),
            }
            for f in follow_ups
        ],
        "photos": [
            {
                "id": p.pk,
                "caption": p.caption,
                "url": photo_url(p.pk, "full"),
                "thumbnail_url": photo_url(p.pk, "thumb"),
            }
            for p in photos
        ],
    }


def _interval(interval: Any) -> dict[str, float] | None:
    if interval is None:
        return None
    low, high = interval.per_100()
    return {"low_per_100": round(low, 4), "high_per_100": round(high, 4)}


def rate_out(row: RateRow) -> dict[str, Any]:
    rate: Rate = row.rate
    return {
        "key": row.key,
        "label": row.label,
        "group": row.group,
        "sessions_with_side_effect": rate.events,
        "sessions": rate.sessions,
        "per_100_sessions": None if rate.per_100 is None else round(rate.per_100, 4),
        "wilson_95": _interval(rate.wilson),
        "exact_95": _interval(rate.exact),
        "fisher_one_sided_p": row.comparison.p_value if row.comparison else None,
        "bonferroni_threshold": row.comparison.threshold if row.comparison else None,
        "above_rest": row.comparison.above if row.comparison else None,
    }


RATES_METHOD = (
    "Rate = signed sessions followed by at least one recorded side effect per 100 signed "
    "sessions in the period. Intervals: 95 % Wilson score and exact Clopper-Pearson. A lot "
    "(or practitioner) is above the rest when a one-sided Fisher exact test against the "
    "product's other sessions (other practitioners) gives p < 0.05 / number compared "
    "(Bonferroni). Observational data."
)


def rates_out(report: RatesReport) -> dict[str, Any]:
    query = report.query
    return {
        "start": query.start,
        "end": query.end,
        "clinic_id": query.clinic.pk if query.clinic else None,
        "related_only": query.related_only,
        "method": RATES_METHOD,
        "overall": rate_out(RateRow(key="all", label="All sessions", rate=report.overall)),
        "side_effects_recorded": report.events,
        "by_product": [rate_out(r) for r in report.by_product],
        "by_lot": [rate_out(r) for r in report.by_lot],
        "by_protocol": [rate_out(r) for r in report.by_protocol],
        "by_practitioner": [rate_out(r) for r in report.by_practitioner],
        "by_term": [rate_out(r) for r in report.by_term],
    }
