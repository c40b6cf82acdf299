"""Opening hours written as text, one line per weekday (pure).

"09:00-13:00, 14:00-19:00" is two intervals; "" or "closed" is a closed day. Times are
24-hour HH:MM (9:00 is fine); an interval must end after it starts and intervals may not
overlap.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable

Interval = tuple[dt.time, dt.time]

_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$")
CLOSED_WORDS = {"", "closed", "-", "–"}
MAX_INTERVALS_PER_DAY = 4


def _time(hours: str, minutes: str, text: str) -> dt.time:
    try:
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 23:59.") from None


def parse_day(text: str) -> list[Interval]:
    """The intervals of one day, sorted; raises ValueError with a message for people."""
    cleaned = " ".join(text.split()).lower()
    if cleaned in CLOSED_WORDS:
        return []
    intervals: list[Interval] = []
    for part in cleaned.split(","):
        part = part.strip()
        match = _INTERVAL.match(part)
        if match is None:
            raise ValueError(
                f"{part!r} is not an interval like 09:00-17:00 (use commas between intervals, "
                "or leave empty for closed)."
            )
        opens = _time(match[1], match[2], part)
        closes = _time(match[3], match[4], part)
        if closes <= opens:
            raise ValueError(f"{part}: closing time must be after opening time.")
        intervals.append((opens, closes))
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        raise ValueError(f"At most {MAX_INTERVALS_PER_DAY} intervals a day.")
    intervals.sort()
    for (_, first_close), (second_open, _) in itertools.pairwise(intervals):
        if second_open < first_close:
            raise ValueError("Intervals overlap.")
    return intervals


def format_day(intervals: list[Interval]) -> str:
    """The inverse of ``parse_day``: "" for a closed day."""
    return ", ".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in sorted(intervals))


def format_week(rows: Iterable[tuple[int, dt.time, dt.time]]) -> dict[int, str]:
    """``{weekday: "09:00-13:00, 14:00-19:00"}`` for weekdays 0-6 (Monday first), "" if closed."""
    by_day: dict[int, list[Interval]] = {day: [] for day in range(7)}
    for day, opens, closes in rows:
        by_day[day].append((opens, closes))
    return {day: format_day(intervals) for day, intervals in by_day.items()}
