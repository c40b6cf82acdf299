"""The default review point of a new outcome visit (outcomes/points.py, pure)."""

from __future__ import annotations

import pytest

from mesoclinic.outcomes.points import suggest_point


@pytest.mark.parametrize(
    ("has_baseline", "sessions", "days", "recorded", "expected"),
    [
        (False, 0, None, set(), "baseline"),
        (False, 4, None, {"other"}, "baseline"),  # a course without a baseline still needs one
        (True, 1, 14, {"baseline"}, "other"),
        (True, 3, 45, {"baseline"}, "after_session_3"),
        (True, 3, 45, {"baseline", "after_session_3"}, "other"),
        (True, 6, 60, {"baseline", "after_session_3"}, "after_session_6"),
        (True, 6, 60, {"baseline", "after_session_6"}, "other"),  # session 3's review is past
        (True, 6, 91, {"baseline"}, "month_3"),  # the month review comes first
        (True, 6, 70, {"baseline", "after_session_3", "after_session_6"}, "month_3"),
        (True, 6, 69, {"baseline", "after_session_3", "after_session_6"}, "other"),
        (True, 6, 203, {"baseline", "month_3"}, "month_6"),
        (True, 6, 204, {"baseline", "month_3", "after_session_6"}, "other"),
        (True, 6, 370, {"baseline", "month_6"}, "month_12"),
        (True, 6, 182, {"baseline", "month_6", "after_session_6"}, "other"),
    ],
)
def test_the_suggested_point_follows_the_course(has_baseline, sessions, days, recorded, expected):
    assert (
        suggest_point(
            has_baseline=has_baseline,
            sessions_done=sessions,
            days_since_baseline=days,
            recorded=recorded,
        )
        == expected
    )
