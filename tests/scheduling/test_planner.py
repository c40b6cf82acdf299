"""The course planner: session date windows, re-planning from actual dates, and bad input.

Pure functions, so plain pytest: no database, no Django.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.scheduling.planner import (
    CourseShape,
    OffProtocol,
    Phase,
    PlanError,
    PlannedSession,
    SessionFact,
    plan_course,
    plan_length,
)


def d(iso: str) -> date:
    return date.fromisoformat(iso)


# 8 induction sessions every 14-21 days aiming at 14; session 1 within two weeks of the start.
STANDARD = CourseShape(
    induction_sessions=8,
    induction_interval_min_days=14,
    induction_interval_target_days=14,
    induction_interval_max_days=21,
)
STANDARD_START = d("2025-01-06")

# 4 weekly induction sessions, 2 monthly maintenance recalls, reviews at 30 and 90 days.
WITH_MAINTENANCE = CourseShape(
    induction_sessions=4,
    induction_interval_min_days=7,
    induction_interval_target_days=7,
    induction_interval_max_days=10,
    first_session_window_days=7,
    maintenance_sessions=2,
    maintenance_interval_min_days=28,
    maintenance_interval_target_days=30,
    maintenance_interval_max_days=42,
    review_after_days=(30, 90),
)
MAINTENANCE_START = d("2025-03-03")

Row = tuple[date, date, date, OffProtocol | None, int]


def row(session: PlannedSession) -> Row:
    return (
        session.earliest,
        session.target,
        session.latest,
        session.off_protocol,
        session.off_by_days,
    )


# --- Windows -----------------------------------------------------------------------------------

WINDOW_CASES = [
    pytest.param(
        STANDARD,
        STANDARD_START,
        (),
        1,
        (d("2025-01-06"), d("2025-01-06"), d("2025-01-20"), None, 0),
        id="first-session-window-is-start-to-start-plus-14-days",
    ),
    pytest.param(
        replace(STANDARD, first_session_window_days=0),
        STANDARD_START,
        (),
        1,
        (d("2025-01-06"), d("2025-01-06"), d("2025-01-06"), None, 0),
        id="a-zero-day-first-window-is-the-start-day-only",
    ),
    pytest.param(
        STANDARD,
        STANDARD_START,
        (),
        2,
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), None, 0),
        id="second-session-is-14-to-21-days-after-the-first-target",
    ),
    pytest.param(
        STANDARD,
        STANDARD_START,
        (),
        5,
        (d("2025-03-03"), d("2025-03-03"), d("2025-03-10"), None, 0),
        id="fifth-session-chains-from-the-fourth-target",
    ),
    pytest.param(
        STANDARD,
        STANDARD_START,
        (),
        8,
        (d("2025-04-14"), d("2025-04-14"), d("2025-04-21"), None, 0),
        id="eighth-session-is-14-weeks-after-the-start",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (),
        5,
        (d("2025-04-21"), d("2025-04-23"), d("2025-05-05"), None, 0),
        id="first-maintenance-counts-from-the-last-induction-target",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (),
        6,
        (d("2025-05-21"), d("2025-05-23"), d("2025-06-04"), None, 0),
        id="second-maintenance-counts-from-the-first-maintenance-target",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (SessionFact(4, on=d("2025-03-31"), done=True),),
        5,
        (d("2025-04-28"), d("2025-04-30"), d("2025-05-12"), None, 0),
        id="first-maintenance-counts-from-a-late-last-induction-date",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (),
        7,
        (d("2025-04-16"), d("2025-04-23"), d("2025-04-30"), None, 0),
        id="review-30-days-after-the-last-induction-target-plus-minus-7",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (),
        8,
        (d("2025-06-15"), d("2025-06-22"), d("2025-06-29"), None, 0),
        id="review-90-days-after-the-last-induction-target-plus-minus-7",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (SessionFact(4, on=d("2025-03-31"), done=True),),
        7,
        (d("2025-04-23"), d("2025-04-30"), d("2025-05-07"), None, 0),
        id="review-counts-from-the-actual-last-induction-date",
    ),
    pytest.param(
        WITH_MAINTENANCE,
        MAINTENANCE_START,
        (SessionFact(5, on=d("2025-05-15")), SessionFact(6, on=d("2025-07-01"), done=True)),
        7,
        (d("2025-04-16"), d("2025-04-23"), d("2025-04-30"), None, 0),
        id="review-ignores-maintenance-dates",
    ),
    pytest.param(
        replace(WITH_MAINTENANCE, review_after_days=(3,)),
        MAINTENANCE_START,
        (),
        7,
        (d("2025-03-25"), d("2025-03-27"), d("2025-04-03"), None, 0),
        id="review-window-never-opens-before-the-day-after-the-last-induction",
    ),
    pytest.param(
        replace(WITH_MAINTENANCE, review_window_days=0),
        MAINTENANCE_START,
        (),
        7,
        (d("2025-04-23"), d("2025-04-23"), d("2025-04-23"), None, 0),
        id="a-zero-day-review-window-is-the-target-day-only",
    ),
]


@pytest.mark.parametrize(("shape", "start", "facts", "position", "expected"), WINDOW_CASES)
def test_each_position_gets_the_protocol_window(
    shape: CourseShape,
    start: date,
    facts: tuple[SessionFact, ...],
    position: int,
    expected: Row,
) -> None:
    plan = plan_course(shape, start, facts)
    assert row(plan[position - 1]) == expected


def test_positions_run_induction_then_maintenance_then_reviews() -> None:
    plan = plan_course(WITH_MAINTENANCE, MAINTENANCE_START)

    assert [(s.position, s.phase, s.number_in_phase) for s in plan] == [
        (1, Phase.INDUCTION, 1),
        (2, Phase.INDUCTION, 2),
        (3, Phase.INDUCTION, 3),
        (4, Phase.INDUCTION, 4),
        (5, Phase.MAINTENANCE, 1),
        (6, Phase.MAINTENANCE, 2),
        (7, Phase.REVIEW, 1),
        (8, Phase.REVIEW, 2),
    ]
    assert plan_length(WITH_MAINTENANCE) == 8


def test_a_standard_course_without_facts_is_all_on_protocol_every_14_days() -> None:
    plan = plan_course(STANDARD, STANDARD_START)

    assert len(plan) == plan_length(STANDARD) == 8
    assert [s.target for s in plan] == [STANDARD_START + timedelta(days=14 * k) for k in range(8)]
    assert all(s.off_protocol is None and s.off_by_days == 0 for s in plan)
    assert all(s.on is None and not s.done for s in plan)


def test_reviews_keep_the_order_they_were_given_in() -> None:
    shape = replace(WITH_MAINTENANCE, review_after_days=(90, 30))
    plan = plan_course(shape, MAINTENANCE_START)

    assert [s.target for s in plan[-2:]] == [d("2025-06-22"), d("2025-04-23")]


# --- Re-planning from what happened --------------------------------------------------------------

# Each case: facts, then (position, expected row) for the session the fact is about and the one
# after it, which must be counted from the fact's effective date.
REPLAN_CASES = [
    pytest.param(
        (SessionFact(2, on=d("2025-02-03"), done=True),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), OffProtocol.LATE, 7),
        (d("2025-02-17"), d("2025-02-17"), d("2025-02-24"), None, 0),
        id="done-7-days-late",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-01-15"), done=True),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), OffProtocol.EARLY, 5),
        (d("2025-01-29"), d("2025-01-29"), d("2025-02-05"), None, 0),
        id="done-5-days-early",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-01-24"), done=True),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), None, 0),
        (d("2025-02-07"), d("2025-02-07"), d("2025-02-14"), None, 0),
        id="done-inside-the-window",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-01-22")),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), None, 0),
        (d("2025-02-05"), d("2025-02-05"), d("2025-02-12"), None, 0),
        id="booked-inside-the-window",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-01-30")),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), OffProtocol.LATE, 3),
        (d("2025-02-13"), d("2025-02-13"), d("2025-02-20"), None, 0),
        id="booked-3-days-late",
    ),
    pytest.param(
        (SessionFact(2, not_before=d("2025-02-01")),),
        (d("2025-02-01"), d("2025-02-01"), d("2025-02-08"), OffProtocol.INTERVAL_EXCEEDED, 5),
        (d("2025-02-15"), d("2025-02-15"), d("2025-02-22"), None, 0),
        id="missed-until-after-the-window-closed-gets-a-window-as-wide-as-the-protocols",
    ),
    pytest.param(
        (SessionFact(2, not_before=d("2025-01-28")),),
        (d("2025-01-28"), d("2025-01-28"), d("2025-02-04"), OffProtocol.INTERVAL_EXCEEDED, 1),
        (d("2025-02-11"), d("2025-02-11"), d("2025-02-18"), None, 0),
        id="missed-until-the-day-after-the-window-closed",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-02-01"), not_before=d("2025-02-01")),),
        (d("2025-02-01"), d("2025-02-01"), d("2025-02-08"), OffProtocol.INTERVAL_EXCEEDED, 5),
        (d("2025-02-15"), d("2025-02-15"), d("2025-02-22"), None, 0),
        id="missed-then-rebooked-on-the-first-possible-day-still-exceeded-the-interval",
    ),
    pytest.param(
        (SessionFact(2, not_before=d("2025-01-24")),),
        (d("2025-01-24"), d("2025-01-24"), d("2025-01-27"), None, 0),
        (d("2025-02-07"), d("2025-02-07"), d("2025-02-14"), None, 0),
        id="missed-with-days-left-in-the-window",
    ),
    pytest.param(
        (SessionFact(2, not_before=d("2025-01-10")),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), None, 0),
        (d("2025-02-03"), d("2025-02-03"), d("2025-02-10"), None, 0),
        id="not-before-ahead-of-the-window-changes-nothing",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-02-03"), not_before=d("2025-02-01")),),
        (d("2025-02-01"), d("2025-02-01"), d("2025-02-08"), OffProtocol.INTERVAL_EXCEEDED, 5),
        (d("2025-02-17"), d("2025-02-17"), d("2025-02-24"), None, 0),
        id="missed-then-rebooked-inside-the-new-window-stays-flagged",
    ),
    pytest.param(
        (SessionFact(2, on=d("2025-02-03"), done=True, not_before=d("2025-02-01")),),
        (d("2025-01-20"), d("2025-01-20"), d("2025-01-27"), OffProtocol.LATE, 7),
        (d("2025-02-17"), d("2025-02-17"), d("2025-02-24"), None, 0),
        id="a-done-session-ignores-its-not-before",
    ),
]


@pytest.mark.parametrize(("facts", "this_session", "next_session"), REPLAN_CASES)
def test_a_session_date_moves_the_remaining_windows(
    facts: tuple[SessionFact, ...], this_session: Row, next_session: Row
) -> None:
    plan = plan_course(STANDARD, STANDARD_START, facts)

    assert row(plan[1]) == this_session
    assert row(plan[2]) == next_session


def test_a_late_session_shifts_the_remaining_windows_from_its_actual_date() -> None:
    on_time = plan_course(STANDARD, STANDARD_START)
    late = plan_course(STANDARD, STANDARD_START, [SessionFact(3, on=d("2025-02-10"), done=True)])

    # Session 3 was due 2025-02-03 and happened a week later, still inside its window (which
    # closes 2025-02-10): it is on protocol, and everything after it moves a week.
    assert late[:2] == on_time[:2]
    assert row(late[2]) == row(on_time[2])
    for before, after in zip(on_time[3:], late[3:], strict=True):
        assert after.earliest == before.earliest + timedelta(days=7)
        assert after.target == before.target + timedelta(days=7)
        assert after.latest == before.latest + timedelta(days=7)


def test_the_first_session_before_the_start_is_early_not_an_error() -> None:
    plan = plan_course(STANDARD, STANDARD_START, [SessionFact(1, on=d("2025-01-03"), done=True)])

    assert row(plan[0]) == (
        d("2025-01-06"),
        d("2025-01-06"),
        d("2025-01-20"),
        OffProtocol.EARLY,
        3,
    )
    assert plan[1].target == d("2025-01-17")


def test_the_session_carries_its_fact_date_and_done_flag() -> None:
    plan = plan_course(
        STANDARD,
        STANDARD_START,
        [SessionFact(1, on=d("2025-01-06"), done=True), SessionFact(2, on=d("2025-01-21"))],
    )

    assert (plan[0].on, plan[0].done) == (d("2025-01-06"), True)
    assert (plan[1].on, plan[1].done) == (d("2025-01-21"), False)
    assert (plan[2].on, plan[2].done) == (None, False)


def test_facts_may_arrive_in_any_order() -> None:
    facts = [
        SessionFact(1, on=d("2025-01-07"), done=True),
        SessionFact(2, on=d("2025-01-23"), done=True),
        SessionFact(3, on=d("2025-02-10")),
        SessionFact(5, not_before=d("2025-03-20")),
    ]

    assert plan_course(STANDARD, STANDARD_START, facts[::-1]) == plan_course(
        STANDARD, STANDARD_START, facts
    )


def test_a_review_done_late_moves_nothing_else() -> None:
    without = plan_course(WITH_MAINTENANCE, MAINTENANCE_START)
    with_late_review = plan_course(
        WITH_MAINTENANCE, MAINTENANCE_START, [SessionFact(7, on=d("2025-05-10"), done=True)]
    )

    assert with_late_review[6].off_protocol is OffProtocol.LATE
    assert with_late_review[6].off_by_days == 10
    assert with_late_review[:6] == without[:6]
    assert with_late_review[7] == without[7]


# --- Bad input -----------------------------------------------------------------------------------


def shape_with(**changes: object) -> CourseShape:
    fields: dict[str, object] = {
        "induction_sessions": 8,
        "induction_interval_min_days": 14,
        "induction_interval_target_days": 14,
        "induction_interval_max_days": 21,
    }
    fields.update(changes)
    return CourseShape(**fields)  # type: ignore[arg-type]


SHAPE_ERROR_CASES = [
    pytest.param(
        {"induction_sessions": 0},
        "induction_sessions",
        "The number of induction sessions must be between 1 and 52 sessions; got 0.",
        id="zero-sessions",
    ),
    pytest.param(
        {"induction_sessions": 53},
        "induction_sessions",
        "The number of induction sessions must be between 1 and 52 sessions; got 53.",
        id="too-many-sessions",
    ),
    pytest.param(
        {"induction_interval_min_days": 21, "induction_interval_max_days": 14},
        "induction_interval_min_days",
        "The induction interval range is empty: minimum 21 days is more than maximum 14 days.",
        id="empty-interval-range",
    ),
    pytest.param(
        {"induction_interval_min_days": -3},
        "induction_interval_min_days",
        "The induction minimum interval must be between 1 and 365 days; got -3.",
        id="negative-interval",
    ),
    pytest.param(
        {"induction_interval_target_days": 30},
        "induction_interval_target_days",
        "The induction target interval of 30 days is outside its range of 14 to 21 days.",
        id="target-outside-the-range",
    ),
    pytest.param(
        {"induction_interval_max_days": 400},
        "induction_interval_max_days",
        "The induction maximum interval must be between 1 and 365 days; got 400.",
        id="interval-over-a-year",
    ),
    pytest.param(
        {"induction_sessions": "8"},
        "induction_sessions",
        "The number of induction sessions must be a whole number of sessions.",
        id="sessions-not-a-number",
    ),
    pytest.param(
        {"first_session_window_days": -1},
        "first_session_window_days",
        "The first session window must be between 0 and 365 days; got -1.",
        id="negative-first-session-window",
    ),
    pytest.param(
        {"maintenance_sessions": 2},
        "maintenance_interval_min_days",
        "2 maintenance sessions need a maintenance interval: give its minimum, target and "
        "maximum days.",
        id="maintenance-count-without-intervals",
    ),
    pytest.param(
        {"maintenance_sessions": 13},
        "maintenance_sessions",
        "The number of maintenance sessions must be between 0 and 12 sessions; got 13.",
        id="too-many-maintenance-sessions",
    ),
    pytest.param(
        {
            "maintenance_sessions": 2,
            "maintenance_interval_min_days": 28,
            "maintenance_interval_max_days": 42,
        },
        "maintenance_interval_target_days",
        "The maintenance interval needs its target days too.",
        id="maintenance-interval-missing-its-target",
    ),
    pytest.param(
        {
            "maintenance_sessions": 2,
            "maintenance_interval_min_days": 60,
            "maintenance_interval_target_days": 30,
            "maintenance_interval_max_days": 42,
        },
        "maintenance_interval_min_days",
        "The maintenance interval range is empty: minimum 60 days is more than maximum 42 days.",
        id="empty-maintenance-interval-range",
    ),
    pytest.param(
        {
            "maintenance_sessions": 1,
            "maintenance_interval_min_days": 28,
            "maintenance_interval_target_days": 30,
            "maintenance_interval_max_days": 731,
        },
        "maintenance_interval_max_days",
        "The maintenance maximum interval must be between 1 and 730 days; got 731.",
        id="maintenance-interval-over-two-years",
    ),
    pytest.param(
        {"review_after_days": (30, 0)},
        "review_after_days",
        "The review offset must be between 1 and 730 days; got 0.",
        id="review-on-the-day-of-the-last-induction",
    ),
    pytest.param(
        {"review_after_days": 30},
        "review_after_days",
        "The review offsets must be a list of whole numbers of days.",
        id="review-offsets-not-a-list",
    ),
    pytest.param(
        {"review_window_days": -1},
        "review_window_days",
        "The review window must be between 0 and 365 days; got -1.",
        id="negative-review-window",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), SHAPE_ERROR_CASES)
def test_a_shape_that_cannot_be_planned_is_refused_with_a_readable_reason(
    changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(PlanError) as raised:
        shape_with(**changes)

    assert str(raised.value) == message
    assert raised.value.field == field


FACT_ERROR_CASES = [
    pytest.param(
        [SessionFact(3, on=d("2025-02-03")), SessionFact(3, not_before=d("2025-02-05"))],
        "Session 3 is described twice; give one fact per session.",
        id="duplicate-positions",
    ),
    pytest.param(
        [SessionFact(9)],
        "There is no session 9 in this plan: it has 8 sessions (1 to 8).",
        id="position-after-the-last",
    ),
    pytest.param(
        [SessionFact(0)],
        "There is no session 0 in this plan: it has 8 sessions (1 to 8).",
        id="position-zero",
    ),
    pytest.param(
        [SessionFact(2, done=True)],
        "Session 2 is marked done but has no date: give the date it happened.",
        id="done-without-a-date",
    ),
]


@pytest.mark.parametrize(("facts", "message"), FACT_ERROR_CASES)
def test_facts_that_cannot_be_planned_are_refused_with_a_readable_reason(
    facts: list[SessionFact], message: str
) -> None:
    with pytest.raises(PlanError) as raised:
        plan_course(STANDARD, STANDARD_START, facts)

    assert str(raised.value) == message
    assert raised.value.field == "facts"


def test_a_plan_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="induction interval range is empty"):
        shape_with(induction_interval_min_days=21, induction_interval_max_days=14)


def test_a_plan_past_the_end_of_the_calendar_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="outside the supported calendar"):
        plan_course(STANDARD, date.max - timedelta(days=30))


def test_review_offsets_given_as_a_list_are_stored_as_a_tuple() -> None:
    shape = shape_with(review_after_days=[30, 90])

    assert shape.review_after_days == (30, 90)
    assert hash(shape) == hash(shape_with(review_after_days=(30, 90)))


def test_maintenance_intervals_without_maintenance_sessions_are_allowed_when_consistent() -> None:
    shape = shape_with(
        maintenance_interval_min_days=28,
        maintenance_interval_target_days=30,
        maintenance_interval_max_days=42,
    )

    assert plan_length(shape) == 8


# --- Properties ----------------------------------------------------------------------------------


@st.composite
def intervals(draw: st.DrawFn, limit: int) -> tuple[int, int, int]:
    low, aim, high = sorted(draw(st.lists(st.integers(1, limit), min_size=3, max_size=3)))
    return low, aim, high


@st.composite
def shapes(draw: st.DrawFn) -> CourseShape:
    induction = draw(intervals(60))
    maintenance_sessions = draw(st.integers(0, 4))
    maintenance = draw(intervals(120)) if maintenance_sessions else (None, None, None)
    return CourseShape(
        induction_sessions=draw(st.integers(1, 10)),
        induction_interval_min_days=induction[0],
        induction_interval_target_days=induction[1],
        induction_interval_max_days=induction[2],
        first_session_window_days=draw(st.integers(0, 30)),
        maintenance_sessions=maintenance_sessions,
        maintenance_interval_min_days=maintenance[0],
        maintenance_interval_target_days=maintenance[1],
        maintenance_interval_max_days=maintenance[2],
        review_after_days=tuple(draw(st.lists(st.integers(1, 200), max_size=3))),
        review_window_days=draw(st.integers(0, 14)),
    )


starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def near(start: date) -> st.SearchStrategy[date]:
    return st.integers(-60, 3 * 365).map(lambda days: start + timedelta(days=days))


@st.composite
def any_facts(draw: st.DrawFn, shape: CourseShape, start: date) -> list[SessionFact]:
    """A done prefix, then bookings and not-before days, all on arbitrary nearby dates."""
    done_prefix = draw(st.integers(0, plan_length(shape)))
    facts = []
    for position in range(1, plan_length(shape) + 1):
        done = position <= done_prefix
        on = draw(near(start)) if done else draw(st.none() | near(start))
        not_before = draw(st.none() | near(start))
        if done or on is not None or not_before is not None:
            facts.append(SessionFact(position, on=on, done=done, not_before=not_before))
    return draw(st.permutations(facts))


def next_interval(shape: CourseShape, position: int) -> tuple[int, int, int] | None:
    """The (min, target, max) days from ``position`` to the session counted from it, if any."""
    if position < shape.induction_sessions:
        return (
            shape.induction_interval_min_days,
            shape.induction_interval_target_days,
            shape.induction_interval_max_days,
        )
    if position < shape.induction_sessions + shape.maintenance_sessions:
        assert shape.maintenance_interval_min_days is not None
        assert shape.maintenance_interval_target_days is not None
        assert shape.maintenance_interval_max_days is not None
        return (
            shape.maintenance_interval_min_days,
            shape.maintenance_interval_target_days,
            shape.maintenance_interval_max_days,
        )
    return None


@st.composite
def plausible_facts(draw: st.DrawFn, shape: CourseShape, start: date) -> list[SessionFact]:
    """Facts a clinic could really record: each date is read off the plan made so far.

    A session may still be early, late or missed past its window, but never so early that it
    comes before the session it is counted from, which no real course can do.
    """
    length = plan_length(shape)
    done_prefix = draw(st.integers(0, length))
    facts: list[SessionFact] = []
    for position in range(1, length + 1):
        done = position <= done_prefix
        fact = SessionFact(position, done=False)
        if not done and draw(st.booleans()):
            window = plan_course(shape, start, facts)[position - 1]
            shift = timedelta(days=draw(st.integers(-5, 40)))
            fact = replace(fact, not_before=window.earliest + shift)
        if done or draw(st.booleans()):
            window = plan_course(shape, start, [*facts, fact])[position - 1]
            # The next session counts from this date: keep its window after this one's.
            lowest = window.earliest - timedelta(days=10)
            following = next_interval(shape, position)
            if following is not None:
                low, aim, _ = following
                lowest = max(
                    window.earliest - timedelta(days=low),
                    window.target - timedelta(days=aim - 1),
                )
            offset = draw(st.integers(0, (window.latest - lowest).days + 30))
            fact = replace(fact, on=lowest + timedelta(days=offset), done=done)
        if fact != SessionFact(position):
            facts.append(fact)
    return facts


@given(st.data())
@settings(deadline=None)
def test_every_target_lies_inside_its_window(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    plan = plan_course(shape, start, data.draw(any_facts(shape, start)))

    assert all(s.earliest <= s.target <= s.latest for s in plan)


@given(st.data())
@settings(deadline=None)
def test_the_plan_has_one_session_per_position_in_order(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    plan = plan_course(shape, start, data.draw(any_facts(shape, start)))

    assert len(plan) == plan_length(shape)
    assert [s.position for s in plan] == list(range(1, plan_length(shape) + 1))


@given(st.data())
@settings(deadline=None)
def test_off_by_days_is_positive_exactly_when_off_protocol(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    plan = plan_course(shape, start, data.draw(any_facts(shape, start)))

    for session in plan:
        assert session.off_by_days >= 0
        assert (session.off_by_days == 0) == (session.off_protocol is None)


@given(st.data())
@settings(deadline=None)
def test_every_window_after_the_first_opens_after_the_session_it_counts_from(
    data: st.DataObject,
) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    plan = plan_course(shape, start, data.draw(any_facts(shape, start)))

    chained = [s for s in plan if s.phase is not Phase.REVIEW]
    for before, after in pairwise(chained):
        effective = before.on if before.on is not None else before.target
        assert after.earliest > effective


@given(st.data())
@settings(deadline=None)
def test_windows_never_run_out_of_order(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    plan = plan_course(shape, start, data.draw(plausible_facts(shape, start)))

    chained = [s for s in plan if s.phase is not Phase.REVIEW]
    for before, after in pairwise(chained):
        assert before.earliest <= after.earliest
        assert before.target < after.target


@given(st.data())
@settings(deadline=None)
def test_replanning_never_moves_a_done_session(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    facts = data.draw(any_facts(shape, start))
    done = [f.position for f in facts if f.done]
    last_done = max(done, default=0)
    known = {f.position for f in facts}
    free = [p for p in range(last_done + 1, plan_length(shape) + 1) if p not in known]
    extra = [
        SessionFact(
            position,
            on=data.draw(st.none() | near(start)),
            not_before=data.draw(st.none() | near(start)),
        )
        for position in data.draw(
            st.lists(st.sampled_from(free), unique=True) if free else st.just([])
        )
    ]

    before = plan_course(shape, start, facts)
    after = plan_course(shape, start, [*facts, *extra])

    for position in done:
        assert after[position - 1] == before[position - 1]


@given(st.data())
@settings(deadline=None)
def test_a_done_session_depends_only_on_the_sessions_before_it(data: st.DataObject) -> None:
    shape, start = data.draw(shapes()), data.draw(starts)
    facts = data.draw(any_facts(shape, start))
    plan = plan_course(shape, start, facts)

    for fact in facts:
        if fact.done:
            earlier = [f for f in facts if f.position < fact.position]
            alone = SessionFact(fact.position, on=fact.on, done=True)
            replanned = plan_course(shape, start, [*earlier, alone])
            assert replanned[fact.position - 1] == plan[fact.position - 1]
