"""Flag rules for a recorded side effect (safety.rules): serious and prolonged. No database."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.safety.catalogue import CODES, term
from mesoclinic.safety.rules import (
    SERIOUS_GRADE,
    SERIOUSNESS_CRITERIA,
    Flag,
    expected_end,
    flags,
    is_prolonged,
    is_serious,
    overdue_by,
)

ONSET = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
MADRID = ZoneInfo("Europe/Madrid")
HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("code", "after", "is_open", "expected"),
    [
        # Itching: 48 h expected (what patients are told).
        ("pruritus", 47 * HOUR, True, False),
        ("pruritus", 48 * HOUR, True, False),
        ("pruritus", 48 * HOUR + dt.timedelta(seconds=1), True, True),
        ("pruritus", 49 * HOUR, True, True),
        ("pruritus", 49 * HOUR, False, False),
        ("pruritus", 400 * HOUR, False, False),
        # Frontal edema: 96 h, the longest duration in the case series.
        ("frontal_edema", 95 * HOUR, True, False),
        ("frontal_edema", 96 * HOUR, True, False),
        ("frontal_edema", 96 * HOUR + dt.timedelta(minutes=1), True, True),
        ("frontal_edema", 97 * HOUR, False, False),
        # No expected course: never prolonged, however long it stays open.
        ("scarring", 10_000 * HOUR, True, False),
        ("infection", 10_000 * HOUR, True, False),
        ("other", 10_000 * HOUR, True, False),
        # Before onset (a clock or data-entry slip): not prolonged.
        ("pruritus", -HOUR, True, False),
    ],
)
def test_prolonged(code: str, after: dt.timedelta, is_open: bool, expected: bool) -> None:
    assert (
        is_prolonged(term=term(code), onset_at=ONSET, open=is_open, now=ONSET + after) is expected
    )


@pytest.mark.parametrize(
    ("code", "grade", "criteria", "expected"),
    [
        ("pruritus", 1, (), False),
        ("pruritus", 2, (), False),
        ("pruritus", SERIOUS_GRADE, (), True),
        ("pruritus", 4, (), True),
        ("pruritus", 5, (), True),
        ("pruritus", 2, ("hospitalisation",), True),
        ("pruritus", 1, ("medically_important",), True),
        ("pruritus", 1, frozenset({"death", "life_threatening"}), True),
        ("scarring", 1, (), True),
        ("infection", 1, (), True),
        ("angioedema", 1, (), True),
        ("necrosis", 1, (), True),
        ("erythema", 2, (), False),
        ("other", 2, [], False),
    ],
)
def test_serious(code: str, grade: int, criteria: Any, expected: bool) -> None:
    assert is_serious(term=term(code), grade=grade, criteria=criteria) is expected


def test_every_ich_criterion_makes_an_event_serious() -> None:
    assert set(SERIOUSNESS_CRITERIA) == {
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "medically_important",
    }
    for criterion in SERIOUSNESS_CRITERIA:
        assert is_serious(term=term("erythema"), grade=1, criteria={criterion})


def test_a_misspelt_criterion_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="Unknown seriousness criterion 'hospitalization'"):
        is_serious(term=term("pruritus"), grade=1, criteria=["hospitalization"])


@pytest.mark.parametrize("grade", [0, 6, True, 2.5, "3"])
def test_a_grade_outside_1_to_5_is_refused(grade: Any) -> None:
    with pytest.raises(ValueError, match="grade"):
        is_serious(term=term("pruritus"), grade=grade, criteria=())


def test_scarring_is_never_prolonged_but_always_serious() -> None:
    found = flags(
        term=term("scarring"),
        grade=1,
        criteria=(),
        onset_at=ONSET,
        open=True,
        now=ONSET + dt.timedelta(days=3650),
    )
    assert found == frozenset({Flag.SERIOUS})


@pytest.mark.parametrize(
    ("code", "grade", "criteria", "is_open", "after", "expected"),
    [
        ("pruritus", 1, (), True, 47 * HOUR, set()),
        ("pruritus", 1, (), True, 49 * HOUR, {Flag.PROLONGED}),
        ("pruritus", 3, (), True, 49 * HOUR, {Flag.PROLONGED, Flag.SERIOUS}),
        ("pruritus", 3, (), False, 49 * HOUR, {Flag.SERIOUS}),
        ("pruritus", 2, ("hospitalisation",), False, HOUR, {Flag.SERIOUS}),
        ("frontal_edema", 2, (), True, 97 * HOUR, {Flag.PROLONGED}),
    ],
)
def test_flags(
    code: str,
    grade: int,
    criteria: tuple[str, ...],
    is_open: bool,
    after: dt.timedelta,
    expected: set[Flag],
) -> None:
    found = flags(
        term=term(code),
        grade=grade,
        criteria=criteria,
        onset_at=ONSET,
        open=is_open,
        now=ONSET + after,
    )
    assert found == frozenset(expected)
    assert isinstance(found, frozenset)


def test_flag_values_are_plain_strings() -> None:
    assert Flag.PROLONGED == "prolonged"
    assert Flag.SERIOUS == "serious"
    assert str(Flag.SERIOUS) == "serious"


NAIVE = dt.datetime(2026, 11, 2, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: expected_end(term=term("pruritus"), onset_at=NAIVE),
        lambda: expected_end(term=term("scarring"), onset_at=NAIVE),
        lambda: is_prolonged(term=term("pruritus"), onset_at=NAIVE, open=True, now=ONSET),
        lambda: is_prolonged(term=term("pruritus"), onset_at=ONSET, open=True, now=NAIVE),
        lambda: is_prolonged(term=term("scarring"), onset_at=ONSET, open=False, now=NAIVE),
        lambda: overdue_by(term=term("pruritus"), onset_at=NAIVE, now=ONSET),
        lambda: overdue_by(term=term("pruritus"), onset_at=ONSET, now=NAIVE),
        lambda: flags(
            term=term("pruritus"), grade=1, criteria=(), onset_at=NAIVE, open=True, now=ONSET
        ),
    ],
)
def test_a_naive_datetime_is_refused(call: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_expected_end_is_in_the_onset_time_zone() -> None:
    onset = dt.datetime(2026, 11, 2, 18, 30, tzinfo=MADRID)
    end = expected_end(term=term("pruritus"), onset_at=onset)
    assert end == dt.datetime(2026, 11, 4, 18, 30, tzinfo=MADRID)
    assert end is not None and end.tzinfo is MADRID
    assert expected_end(term=term("scarring"), onset_at=onset) is None


def test_the_expected_course_is_elapsed_time_across_a_daylight_saving_change() -> None:
    # Clocks go back in Madrid on 25 October 2026 (03:00 -> 02:00): 48 real hours after
    # Saturday 10:00 is Monday 09:00 on the wall clock, not 10:00.
    onset = dt.datetime(2026, 10, 24, 10, 0, tzinfo=MADRID)
    end = expected_end(term=term("pruritus"), onset_at=onset)
    assert end is not None
    assert (end.hour, end.day) == (9, 26)
    assert end.astimezone(dt.UTC) - onset.astimezone(dt.UTC) == 48 * HOUR
    wall_ten = dt.datetime(2026, 10, 26, 10, 0, tzinfo=MADRID)  # 49 real hours after onset
    assert is_prolonged(term=term("pruritus"), onset_at=onset, open=True, now=wall_ten)
    assert overdue_by(term=term("pruritus"), onset_at=onset, now=wall_ten) == HOUR


def test_times_in_different_zones_compare_as_instants() -> None:
    onset = dt.datetime(2026, 11, 2, 10, 0, tzinfo=MADRID)  # 09:00 UTC
    just_before = dt.datetime(2026, 11, 4, 9, 0, tzinfo=dt.UTC)
    just_after = just_before + dt.timedelta(seconds=1)
    assert not is_prolonged(term=term("pruritus"), onset_at=onset, open=True, now=just_before)
    assert is_prolonged(term=term("pruritus"), onset_at=onset, open=True, now=just_after)


@pytest.mark.parametrize(
    ("code", "after", "expected"),
    [
        ("pruritus", 47 * HOUR, None),
        ("pruritus", 48 * HOUR, None),
        ("pruritus", 50 * HOUR + dt.timedelta(minutes=30), 2 * HOUR + dt.timedelta(minutes=30)),
        ("frontal_edema", 120 * HOUR, 24 * HOUR),
        ("scarring", 10_000 * HOUR, None),
    ],
)
def test_overdue_by(code: str, after: dt.timedelta, expected: dt.timedelta | None) -> None:
    assert overdue_by(term=term(code), onset_at=ONSET, now=ONSET + after) == expected


zones = st.sampled_from([dt.UTC, MADRID, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")])
instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31), timezones=zones
)


@given(
    code=st.sampled_from(CODES),
    onset_at=instants,
    now=instants,
    is_open=st.booleans(),
)
def test_prolonged_exactly_when_open_and_past_the_expected_course(
    code: str, onset_at: dt.datetime, now: dt.datetime, is_open: bool
) -> None:
    t = term(code)
    prolonged = is_prolonged(term=t, onset_at=onset_at, open=is_open, now=now)
    hours = t.expected_course_hours
    past = hours is not None and now.astimezone(dt.UTC) > onset_at.astimezone(
        dt.UTC
    ) + dt.timedelta(hours=hours)
    if prolonged:
        assert is_open
        assert past
    assert prolonged == (is_open and past)
    overdue = overdue_by(term=t, onset_at=onset_at, now=now)
    assert (overdue is not None) == past
    assert overdue is None or overdue > dt.timedelta(0)
