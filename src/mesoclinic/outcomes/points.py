"""Which review point a new outcome visit most likely is (pure): the form's default, which
the practitioner confirms or changes."""

from __future__ import annotations

from collections.abc import Collection

# How far from 3, 6 or 12 months after the baseline a visit still counts as that review.
MONTH_WINDOW_DAYS = 21
_MONTHS = ((91, "month_3"), (182, "month_6"), (365, "month_12"))
_AFTER_SESSIONS = ((6, "after_session_6"), (3, "after_session_3"))


def suggest_point(
    *,
    has_baseline: bool,
    sessions_done: int,
    days_since_baseline: int | None,
    recorded: Collection[str],
) -> str:
    """The point a visit today most likely is: the baseline while the course has none; a
    month review within MONTH_WINDOW_DAYS of 3, 6 or 12 months after the baseline; the review
    after session 6 (or 3) once that many sessions are done; each only if not yet recorded;
    otherwise "other"."""
    if not has_baseline:
        return "baseline"
    if days_since_baseline is not None:
        for days, point in _MONTHS:
            if abs(days_since_baseline - days) <= MONTH_WINDOW_DAYS and point not in recorded:
                return point
    # Only the latest milestone reached: after six sessions, "after session 3" is past.
    reached = next((point for count, point in _AFTER_SESSIONS if sessions_done >= count), None)
    if reached is not None and reached not in recorded:
        return reached
    return "other"
