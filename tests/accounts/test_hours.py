"""Opening hours as text, without a database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.accounts.hours import format_day, format_week, parse_day

T = dt.time


@pytest.mark.parametrize(
    ("text", "intervals"),
    [
        ("", []),
        ("closed", []),
        ("  Closed ", []),
        ("09:00-17:00", [(T(9), T(17))]),
        ("9:00 - 17:30", [(T(9), T(17, 30))]),
        ("09:00–13:00, 14:00–19:00", [(T(9), T(13)), (T(14), T(19))]),
        ("14:00-19:00, 09:00-13:00", [(T(9), T(13)), (T(14), T(19))]),
        ("09:00-13:00,13:00-17:00", [(T(9), T(13)), (T(13), T(17))]),
        ("00:00-23:59", [(T(0), T(23, 59))]),
    ],
)
def test_valid_days_parse_to_sorted_intervals(text, intervals):
    assert parse_day(text) == intervals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9-5", "is not an interval"),
        ("9am-5pm", "is not an interval"),
        ("09:00", "is not an interval"),
        ("25:00-26:00", "is not a time of day"),
        ("09:60-10:00", "is not a time of day"),
        ("17:00-09:00", "closing time must be after opening time"),
        ("09:00-09:00", "closing time must be after opening time"),
        ("09:00-13:00, 12:00-15:00", "overlap"),
        ("08:00-09:00, 10:00-11:00, 12:00-13:00, 14:00-15:00, 16:00-17:00", "At most 4"),
        ("09:00-13:00,", "is not an interval"),
    ],
)
def test_invalid_days_are_refused_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_day(text)


def test_a_week_lists_every_day_closed_ones_empty():
    week = format_week([(0, T(9), T(13)), (0, T(14), T(19)), (5, T(10), T(14))])
    assert week == {
        0: "09:00-13:00, 14:00-19:00",
        1: "",
        2: "",
        3: "",
        4: "",
        5: "10:00-14:00",
        6: "",
    }


@given(
    st.lists(st.tuples(st.integers(0, 23 * 60 + 58), st.integers(1, 600)), min_size=0, max_size=4)
)
def test_formatting_then_parsing_gives_the_same_day(raw):
    intervals = []
    for start, length in sorted(raw):
        end = min(start + length, 23 * 60 + 59)
        if intervals and start < intervals[-1][1]:
            continue  # keep the generated day free of overlaps
        intervals.append((start, end))
    day = [(T(s // 60, s % 60), T(e // 60, e % 60)) for s, e in intervals]
    assert parse_day(format_day(day)) == day
