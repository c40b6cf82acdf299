"""Free appointment times for one clinic, practitioner and patient, as pure functions.

Nothing here touches the database or Django: ``selectors.AvailabilityLoader`` reads the rows
and hands them over as a ``DayRules``; these functions only compute.

Time semantics, which every function below keeps:

- Opening and working hours are local wall-clock times in the clinic's zone, so a clinic that
  opens at 09:00 opens at 09:00 local on a daylight-saving change day too.
- Intervals are half-open ``[start, end)`` of aware datetimes; two intervals that merely touch
  (one ends when the other starts) do not overlap.
- Every comparison and every duration is made in UTC. Python compares and subtracts two
  datetimes that share a ``tzinfo`` by their wall-clock fields, which is wrong across a DST
  change, so nothing here compares local datetimes directly.
- Candidate start times are a grid of local wall-clock times. A wall time that does not exist
  (the hour skipped when clocks go forward) gives no slot; a wall time that happens twice (the
  hour repeated when clocks go back) gives one slot, at its first occurrence (``fold=0``).
- A duration is real elapsed time: a 45-minute appointment lasts 45 real minutes even when the
  clocks change during it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "REASON_CLOSED",
    "REASON_NO_ROOM",
    "REASON_PATIENT_BUSY",
    "REASON_PRACTITIONER_BUSY",
    "DayRules",
    "Interval",
    "Prefer",
    "Slot",
    "SlotCheck",
    "WeeklyHours",
    "check_slot",
    "days_by_closeness",
    "first_free_slot",
    "free_slots",
    "working_intervals",
]

Interval = tuple[datetime, datetime]
"""Aware datetimes, ``start < end``, half-open ``[start, end)``."""

WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]
"""Weekday (0 = Monday) to local ``(opens, closes)`` pairs, ``closes > opens``."""

REASON_CLOSED = "outside_opening_hours"
REASON_PRACTITIONER_BUSY = "practitioner_busy"
REASON_PATIENT_BUSY = "patient_busy"
REASON_NO_ROOM = "no_room_free"


@dataclass(frozen=True)
class Slot:
    """A bookable appointment: ``starts_at``/``ends_at`` in the clinic's zone, and the room to
    book (the lowest free room id), or ``None`` when the clinic has no rooms."""

    starts_at: datetime
    ends_at: datetime
    room: int | None


Prefer = Callable[[Slot], float]
"""Scores a slot for ``first_free_slot``; lower is better."""


@dataclass(frozen=True)
class SlotCheck:
    """Whether an explicit time can be booked: ``ok`` with the room to use, or not ``ok`` with
    one of the ``REASON_*`` codes (and ``room`` ``None``)."""

    ok: bool
    room: int | None
    reason: str | None


@dataclass(frozen=True)
class DayRules:
    """Everything that decides availability around one local day at one clinic.

    ``closures`` are inclusive local date ranges on which the clinic is closed all day.
    ``room_busy`` has one key per active room (an empty mapping means the clinic has no rooms,
    so no room is needed). ``step_minutes`` is the spacing of candidate start times, counted
    in local wall-clock time from the start of each working interval.
    """

    tz: ZoneInfo
    clinic_hours: WeeklyHours
    practitioner_hours: WeeklyHours
    closures: Sequence[tuple[date, date]] = ()
    absences: Sequence[Interval] = ()
    practitioner_busy: Sequence[Interval] = ()
    patient_busy: Sequence[Interval] = ()
    room_busy: Mapping[int, Sequence[Interval]] = field(default_factory=dict)
    step_minutes: int = 15


# --- Public functions ------------------------------------------------------------------------


def working_intervals(rules: DayRules, day: date) -> list[Interval]:
    """The times on local ``day`` when the clinic is open and the practitioner works there.

    Guarantees: the intersection of the clinic's and the practitioner's hours for
    ``day.weekday()``, less the practitioner's absences, as aware datetimes in ``rules.tz``;
    sorted, non-empty, pairwise disjoint and not touching. Empty when ``day`` falls in a
    closure. A boundary in the hour skipped by a spring-forward change is moved to the
    moment the clocks jump, so only wall times that exist are covered.

    Raises ``ValueError`` for hours with ``closes <= opens`` or an absence with a naive
    datetime.
    """
    return [(s.astimezone(rules.tz), e.astimezone(rules.tz)) for s, e in _working_utc(rules, day)]


def free_slots(
    rules: DayRules, day: date, duration: timedelta, *, limit: int | None = None
) -> list[Slot]:
    """Every free start time on local ``day`` for an appointment lasting ``duration``.

    Guarantees, for each returned slot: it starts on the step grid of local wall-clock time
    anchored at the start of its working interval; ``[starts_at, ends_at)`` lies inside that
    one working interval and lasts exactly ``duration`` of real time; it overlaps no busy
    interval of the practitioner or the patient; its room (the lowest free id) is free for
    the whole slot, or is ``None`` when the clinic has no rooms. Slots are sorted by start,
    have distinct starts, and number at most ``limit`` (the earliest ones).

    Raises ``ValueError`` if ``duration`` or ``rules.step_minutes`` is not positive, ``limit``
    is negative, or an interval holds a naive datetime.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if rules.step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    if limit == 0:
        return []
    busy = _Busy.of(rules)
    step = timedelta(minutes=rules.step_minutes)
    slots: list[Slot] = []
    for interval_start, interval_end in _working_utc(rules, day):
        for start in _grid(interval_start, interval_end, duration, step, rules.tz):
            end = start + duration  # in UTC, so the duration is real elapsed time
            check = busy.check(start, end)
            if not check.ok:
                continue
            slots.append(Slot(start.astimezone(rules.tz), end.astimezone(rules.tz), check.room))
            if len(slots) == limit:
                return slots
    return slots


def check_slot(rules: DayRules, starts_at: datetime, ends_at: datetime) -> SlotCheck:
    """Whether ``[starts_at, ends_at)`` can be booked, for validating an explicit time.

    ``starts_at`` and ``ends_at`` may be in any zone; the step grid is not required. The
    working intervals are those of the local day (in ``rules.tz``) on which ``starts_at``
    falls. Reasons are checked in this order, the first that applies is returned:
    ``REASON_CLOSED`` (not inside one working interval: clinic closed, practitioner not
    working, a closure or an absence), ``REASON_PRACTITIONER_BUSY``, ``REASON_PATIENT_BUSY``,
    ``REASON_NO_ROOM``. When ``ok``, ``room`` is the lowest free room id (``None`` without
    rooms), the same room ``free_slots`` would choose.

    Raises ``ValueError`` if either datetime is naive or ``ends_at <= starts_at``.
    """
    start, end = _to_utc(starts_at), _to_utc(ends_at)
    if end <= start:
        raise ValueError("ends_at must be after starts_at")
    day = start.astimezone(rules.tz).date()
    if not any(s <= start and end <= e for s, e in _working_utc(rules, day)):
        return SlotCheck(ok=False, room=None, reason=REASON_CLOSED)
    return _Busy.of(rules).check(start, end)


def first_free_slot(
    rules_for_day: Callable[[date], DayRules],
    days: Sequence[date],
    duration: timedelta,
    *,
    prefer: Prefer | None = None,
) -> Slot | None:
    """The best free slot of the first day in ``days`` (scanned in the given order) that has
    any, or ``None`` when no day has one.

    "Best" is the lowest ``prefer(slot)``, ties going to the earliest start; with ``prefer``
    ``None`` it is simply the earliest. A later day is never chosen over an earlier one in
    ``days``, however much better it scores: callers encode their priorities in the order
    of ``days`` (see ``days_by_closeness``).
    """
    for day in days:
        rules = rules_for_day(day)
        # Without a preference the first slot wins, so there is no need to find the others.
        slots = free_slots(rules, day, duration, limit=1 if prefer is None else None)
        if not slots:
            continue
        if prefer is None:
            return slots[0]
        # min() keeps the first of equal keys, and slots are sorted by start: ties -> earliest.
        return min(slots, key=prefer)
    return None


def days_by_closeness(earliest: date, target: date, latest: date) -> list[date]:
    """Every date from ``earliest`` to ``latest`` inclusive, ordered by distance from
    ``target``, the earlier of two equally distant dates first (so ``target`` comes first).

    Raises ``ValueError`` if ``earliest > latest`` or ``target`` is outside that range.
    """
    if earliest > latest:
        raise ValueError("earliest must not be after latest")
    if not earliest <= target <= latest:
        raise ValueError("target must lie between earliest and latest")
    days = [earliest + timedelta(days=n) for n in range((latest - earliest).days + 1)]
    return sorted(days, key=lambda d: (abs((d - target).days), d))


# --- Working intervals -----------------------------------------------------------------------


def _working_utc(rules: DayRules, day: date) -> list[Interval]:
    """``working_intervals`` in UTC, which is what every comparison here is made in."""
    if any(first <= day <= last for first, last in rules.closures):
        return []
    weekday = day.weekday()
    local = _intersect(
        _merge(rules.clinic_hours.get(weekday, ())),
        _merge(rules.practitioner_hours.get(weekday, ())),
    )
    intervals: list[Interval] = []
    for opens, closes in local:
        start, end = _wall_to_utc(day, opens, rules.tz), _wall_to_utc(day, closes, rules.tz)
        # An interval wholly inside a spring-forward gap covers no real time at all.
        if start < end:
            intervals.append((start, end))
    absences = sorted((_to_utc(s), _to_utc(e)) for s, e in rules.absences)
    return _subtract(intervals, absences)


def _merge(hours: Iterable[tuple[time, time]]) -> list[tuple[time, time]]:
    """Sorted, disjoint local intervals; overlapping or touching ones are joined, because
    09:00-12:00 plus 12:00-17:00 means open without a break."""
    merged: list[tuple[time, time]] = []
    for opens, closes in sorted(hours):
        if closes <= opens:
            raise ValueError(f"closing time {closes} is not after opening time {opens}")
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _intersect(
    a: Sequence[tuple[time, time]], b: Sequence[tuple[time, time]]
) -> list[tuple[time, time]]:
    """Intersection of two sorted, disjoint lists of local intervals (a linear merge)."""
    result: list[tuple[time, time]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        opens, closes = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if opens < closes:
            result.append((opens, closes))
        # The interval that ends first cannot meet anything further on in the other list.
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _subtract(intervals: list[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """``intervals`` less every hole (all in UTC); pieces stay sorted and disjoint."""
    for hole_start, hole_end in holes:
        pieces: list[Interval] = []
        for start, end in intervals:
            if hole_end <= start or end <= hole_start:  # touching is not overlapping
                pieces.append((start, end))
                continue
            if start < hole_start:
                pieces.append((start, hole_start))
            if hole_end < end:
                pieces.append((hole_end, end))
        intervals = pieces
    return intervals


# --- Local wall time <-> UTC -----------------------------------------------------------------


def _to_utc(moment: datetime) -> datetime:
    # astimezone() on a naive datetime silently assumes the server's zone: refuse it instead.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: an aware datetime is required")
    return moment.astimezone(UTC)


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether the naive local ``wall`` time happens at all in ``tz`` (it does not in the hour
    skipped when clocks go forward). A real time survives the round trip through UTC."""
    there_and_back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return there_and_back.replace(tzinfo=None) == wall


def _occurrences(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the naive local ``wall`` time happens, earliest first: none in
    a spring-forward gap, two in a fall-back repeated hour, otherwise one."""
    if not _exists(wall, tz):
        return []
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return [first] if second == first else [first, second]


def _wall_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local ``at`` on ``day`` as an interval boundary.

    An ambiguous time is taken at its first occurrence (``fold=0``). A time in a
    spring-forward gap is moved to the moment the clocks jump: that keeps exactly the wall
    times that exist between two boundaries (zoneinfo's own ``fold=0`` reading of a gap time
    would land up to an hour after the jump and cut off real opening time).
    """
    local = datetime.combine(day, at, tzinfo=tz)
    if _exists(local.replace(tzinfo=None), tz):
        return local.astimezone(UTC)
    # In a gap, fold=0 reads the time with the offset from before the jump (an instant after
    # it) and fold=1 with the offset from after (an instant before it): the jump lies between.
    after = local.replace(fold=0).astimezone(UTC)
    before = local.replace(fold=1).astimezone(UTC)
    return _transition_between(before, after, tz)


def _transition_between(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant in ``(before, after]`` at which ``tz``'s UTC offset changes, by bisection
    over whole seconds (tz database transitions fall on whole seconds)."""
    lo, hi = math.floor(before.timestamp()), math.ceil(after.timestamp())
    offset_after = datetime.fromtimestamp(hi, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset_after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _grid(
    start: datetime, end: datetime, duration: timedelta, step: timedelta, tz: ZoneInfo
) -> Iterable[datetime]:
    """UTC start times on the local wall-clock grid from ``start`` (UTC) by ``step`` whose
    ``[t, t + duration)`` lies inside ``[start, end)``, in increasing order, each once."""
    wall = start.astimezone(tz).replace(tzinfo=None, fold=0)
    while True:
        instants = _occurrences(wall, tz)
        wall += step
        if not instants:
            continue  # skipped by a spring-forward change: no such time today
        # The first occurrence of successive existing wall times only moves forward, so once
        # it no longer fits, no later grid time can fit either.
        if instants[0] + duration > end:
            return
        # A repeated wall time is offered once: at its first occurrence inside the interval
        # (fold=0, unless the interval only begins during the repeated hour).
        candidate = next((t for t in instants if t >= start), None)
        if candidate is not None and candidate + duration <= end:
            yield candidate


# --- Busy intervals --------------------------------------------------------------------------


def _overlaps(busy: Sequence[Interval], start: datetime, end: datetime) -> bool:
    # Half-open intervals: one that ends exactly when the slot starts leaves it free.
    return any(b_start < end and start < b_end for b_start, b_end in busy)


@dataclass(frozen=True)
class _Busy:
    """The busy intervals of ``DayRules`` converted to UTC once, for checking many slots."""

    practitioner: list[Interval]
    patient: list[Interval]
    rooms: list[tuple[int, list[Interval]]]  # sorted by room id, so the lowest free one wins

    @classmethod
    def of(cls, rules: DayRules) -> _Busy:
        def utc(intervals: Iterable[Interval]) -> list[Interval]:
            return [(_to_utc(s), _to_utc(e)) for s, e in intervals]

        return cls(
            practitioner=utc(rules.practitioner_busy),
            patient=utc(rules.patient_busy),
            rooms=sorted((room, utc(busy)) for room, busy in rules.room_busy.items()),
        )

    def check(self, start: datetime, end: datetime) -> SlotCheck:
        """Who is busy during ``[start, end)`` (UTC); assumes the time is within hours."""
        if _overlaps(self.practitioner, start, end):
            return SlotCheck(ok=False, room=None, reason=REASON_PRACTITIONER_BUSY)
        if _overlaps(self.patient, start, end):
            return SlotCheck(ok=False, room=None, reason=REASON_PATIENT_BUSY)
        if not self.rooms:
            return SlotCheck(ok=True, room=None, reason=None)
        for room, busy in self.rooms:
            if not _overlaps(busy, start, end):
                return SlotCheck(ok=True, room=room, reason=None)
        return SlotCheck(ok=False, room=None, reason=REASON_NO_ROOM)
