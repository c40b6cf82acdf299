"""The current time for scheduling decisions.

Booking, check-in, no-show and reminders ask this module rather than ``timezone.now()``, so
the demo can seed a course's history by travelling through its dates (``travel_to``) and
tests, including the browser tests' live server that runs in the test process, can fix the
clock to a known weekday morning (``monkeypatch.setattr(clock, "now", ...)``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_travelled_to: dt.datetime | None = None


def now() -> dt.datetime:
    """The current aware datetime, or the moment ``travel_to`` set."""
    return _travelled_to if _travelled_to is not None else timezone.now()


def today_in(tz: zoneinfo.ZoneInfo) -> dt.date:
    """Today's date in the given time zone (a clinic's)."""
    return now().astimezone(tz).date()


@contextmanager
def travel_to(moment: dt.datetime) -> Iterator[None]:
    """Let scheduling act as if it were ``moment`` (aware) inside the block.

    For seeding history in one thread (the demo command); not for request handling.
    """
    global _travelled_to
    if moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    previous, _travelled_to = _travelled_to, moment
    try:
        yield
    finally:
        _travelled_to = previous
