"""Session date windows for a hair-mesotherapy course, as pure functions.

Nothing here touches the database, Django or time zones: a course is planned in calendar days
with ``datetime.date`` arithmetic only, so the same inputs always give the same plan.

A course has three phases, planned in this position order:

1. Induction: ``induction_sessions`` sessions. Session 1 may happen on any day of
   ``[start, start + first_session_window_days]``; each later session is due an interval of
   ``min..max`` days (aiming at ``target``) after the one before it.
2. Maintenance: ``maintenance_sessions`` recalls, spaced by the maintenance interval, the first
   one counted from the last induction session.
3. Review: one visit per entry of ``review_after_days``, that many days after the last induction
   session, give or take ``review_window_days``.

Re-planning: the window of an induction or maintenance session is counted from the *effective
date* of the session before it, which is the date that session happened or is booked for, or
else its target. So when a session happens late, early, is booked, or is missed (``not_before``),
every later window moves with it. A session outside its window is flagged "off protocol" with a
reason (:class:`OffProtocol`) and by how many days.

Guarantees kept by :func:`plan_course`:

- Every window is well formed: ``earliest <= target <= latest``.
- The window of a position depends only on the shape, ``start``, the facts of earlier positions
  and the position's own ``not_before``. A done position ignores its own ``not_before``, so its
  window depends on earlier positions only, and adding or changing facts for later positions
  can never move it ("re-planning never moves a done session").
- Every induction and maintenance window after the first starts at least one day after the
  effective date of the position before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "MAX_INDUCTION_INTERVAL_DAYS",
    "MAX_INDUCTION_SESSIONS",
    "MAX_MAINTENANCE_INTERVAL_DAYS",
    "MAX_MAINTENANCE_SESSIONS",
    "MAX_REVIEW_AFTER_DAYS",
    "MAX_WINDOW_DAYS",
    "CourseShape",
    "OffProtocol",
    "Phase",
    "PlanError",
    "PlannedSession",
    "SessionFact",
    "plan_course",
    "plan_length",
]

MAX_INDUCTION_SESSIONS = 52
MAX_INDUCTION_INTERVAL_DAYS = 365
MAX_MAINTENANCE_SESSIONS = 12
MAX_MAINTENANCE_INTERVAL_DAYS = 730
MAX_REVIEW_AFTER_DAYS = 730
# The spec bounds these windows below only; a year is far beyond any protocol and keeps the
# date arithmetic clear of ``date.max`` for any realistic start.
MAX_WINDOW_DAYS = 365


class PlanError(ValueError):
    """A shape or input that cannot be planned; the message is user-readable English.

    ``field`` names the offending :class:`CourseShape` attribute (for example
    ``"induction_interval_min_days"``), or ``"facts"`` for a bad :class:`SessionFact`, or is
    ``None`` when no single input is to blame, so a form can attach the error to the right input.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Phase(StrEnum):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"
    REVIEW = "review"


class OffProtocol(StrEnum):
    """Why a session is outside its protocol window."""

    EARLY = "early"
    """It happened, or is booked, before the window opens."""
    LATE = "late"
    """It happened, or is booked, after the window closes."""
    INTERVAL_EXCEEDED = "interval_exceeded"
    """It cannot happen before ``not_before``, which is after the window closed."""


def _require_between(value: object, low: int, high: int, field: str, label: str, unit: str) -> int:
    """Return ``value`` when it is a whole number in ``low..high``, else raise PlanError."""
    # bool is an int subclass, but True sessions is a caller bug, not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"The {label} must be a whole number of {unit}.", field)
    number = value
    if not low <= number <= high:
        raise PlanError(
            f"The {label} must be between {low} and {high} {unit}; got {number}.",
            field,
        )
    return number


def _check_interval(
    phase: str, prefix: str, minimum: object, target: object, maximum: object, limit: int
) -> None:
    """Check one ``min <= target <= max`` interval, each in ``1..limit`` days."""
    low = _require_between(
        minimum, 1, limit, f"{prefix}_min_days", f"{phase} minimum interval", "days"
    )
    aim = _require_between(
        target, 1, limit, f"{prefix}_target_days", f"{phase} target interval", "days"
    )
    high = _require_between(
        maximum, 1, limit, f"{prefix}_max_days", f"{phase} maximum interval", "days"
    )
    if low > high:
        raise PlanError(
            f"The {phase} interval range is empty: minimum {low} days is more than "
            f"maximum {high} days.",
            f"{prefix}_min_days",
        )
    if not low <= aim <= high:
        raise PlanError(
            f"The {phase} target interval of {aim} days is outside its range of "
            f"{low} to {high} days.",
            f"{prefix}_target_days",
        )


@dataclass(frozen=True)
class CourseShape:
    """The protocol of a course: how many sessions of each phase, and how far apart.

    Construction validates every field and raises :class:`PlanError` naming the first bad one,
    so a ``CourseShape`` that exists can always be planned.
    """

    induction_sessions: int
    induction_interval_min_days: int
    induction_interval_target_days: int
    induction_interval_max_days: int
    first_session_window_days: int = 14
    maintenance_sessions: int = 0
    maintenance_interval_min_days: int | None = None
    maintenance_interval_target_days: int | None = None
    maintenance_interval_max_days: int | None = None
    review_after_days: tuple[int, ...] = ()
    review_window_days: int = 7

    def __post_init__(self) -> None:
        _require_between(
            self.induction_sessions,
            1,
            MAX_INDUCTION_SESSIONS,
            "induction_sessions",
            "number of induction sessions",
            "sessions",
        )
        _check_interval(
            "induction",
            "induction_interval",
            self.induction_interval_min_days,
            self.induction_interval_target_days,
            self.induction_interval_max_days,
            MAX_INDUCTION_INTERVAL_DAYS,
        )
        _require_between(
            self.first_session_window_days,
            0,
            MAX_WINDOW_DAYS,
            "first_session_window_days",
            "first session window",
            "days",
        )
        _require_between(
            self.maintenance_sessions,
            0,
            MAX_MAINTENANCE_SESSIONS,
            "maintenance_sessions",
            "number of maintenance sessions",
            "sessions",
        )
        self._check_maintenance_intervals()
        self._check_reviews()

    def _check_maintenance_intervals(self) -> None:
        given = (
            self.maintenance_interval_min_days,
            self.maintenance_interval_target_days,
            self.maintenance_interval_max_days,
        )
        if all(value is None for value in given):
            if self.maintenance_sessions > 0:
                raise PlanError(
                    f"{self.maintenance_sessions} maintenance sessions need a maintenance "
                    "interval: give its minimum, target and maximum days.",
                    "maintenance_interval_min_days",
                )
            return
        # A partly filled interval is a mistake even without maintenance sessions: say so
        # rather than silently ignoring it.
        labels = {"min": "minimum", "target": "target", "max": "maximum"}
        for name, value in zip(labels, given, strict=True):
            if value is None:
                raise PlanError(
                    f"The maintenance interval needs its {labels[name]} days too.",
                    f"maintenance_interval_{name}_days",
                )
        _check_interval(
            "maintenance",
            "maintenance_interval",
            self.maintenance_interval_min_days,
            self.maintenance_interval_target_days,
            self.maintenance_interval_max_days,
            MAX_MAINTENANCE_INTERVAL_DAYS,
        )

    def _check_reviews(self) -> None:
        reviews: object = self.review_after_days
        if isinstance(reviews, str | bytes) or not isinstance(reviews, Sequence):
            raise PlanError(
                "The review offsets must be a list of whole numbers of days.", "review_after_days"
            )
        for offset in reviews:
            _require_between(
                offset,
                1,
                MAX_REVIEW_AFTER_DAYS,
                "review_after_days",
                "review offset",
                "days",
            )
        # Accept any sequence but store a tuple, so the shape stays hashable and immutable.
        object.__setattr__(self, "review_after_days", tuple(reviews))
        _require_between(
            self.review_window_days,
            0,
            MAX_WINDOW_DAYS,
            "review_window_days",
            "review window",
            "days",
        )


@dataclass(frozen=True)
class SessionFact:
    """What is known about one position of the plan.

    ``position`` is 1-based. ``on`` is the date the session happened (``done=True``) or is booked
    for (``done=False``). ``not_before`` says the window of a session that is not done may not
    open before that day, e.g. the day after a missed appointment; a done session ignores it.
    Facts are checked by :func:`plan_course`, which knows the plan's length.
    """

    position: int
    on: date | None = None
    done: bool = False
    not_before: date | None = None


@dataclass(frozen=True)
class PlannedSession:
    """One position of a planned course, with its date window.

    ``earliest <= target <= latest`` always. ``off_protocol`` is set when the session's date
    (``on``) lies outside the window, or, for a session without a date, when ``not_before`` has
    pushed it past the window; ``off_by_days`` is then how many days outside (``>= 1``), and
    ``0`` otherwise.
    """

    position: int
    phase: Phase
    number_in_phase: int
    earliest: date
    target: date
    latest: date
    on: date | None
    done: bool
    off_protocol: OffProtocol | None
    off_by_days: int


@dataclass(frozen=True)
class _Slot:
    """One position before any dates: which phase, and how it is spaced."""

    position: int
    phase: Phase
    number_in_phase: int
    # (min, target, max) days after the anchor; None for position 1 and for reviews.
    interval: tuple[int, int, int] | None
    # Days after the last induction session; reviews only.
    review_after: int | None


def plan_length(shape: CourseShape) -> int:
    """The number of positions in a plan of ``shape``: induction, maintenance, then reviews."""
    return shape.induction_sessions + shape.maintenance_sessions + len(shape.review_after_days)


def _slots(shape: CourseShape) -> Iterator[_Slot]:
    induction = (
        shape.induction_interval_min_days,
        shape.induction_interval_target_days,
        shape.induction_interval_max_days,
    )
    position = 0
    for number in range(1, shape.induction_sessions + 1):
        position += 1
        yield _Slot(position, Phase.INDUCTION, number, None if number == 1 else induction, None)
    if shape.maintenance_sessions:
        # CourseShape guarantees all three are set when there are maintenance sessions.
        assert shape.maintenance_interval_min_days is not None
        assert shape.maintenance_interval_target_days is not None
        assert shape.maintenance_interval_max_days is not None
        maintenance = (
            shape.maintenance_interval_min_days,
            shape.maintenance_interval_target_days,
            shape.maintenance_interval_max_days,
        )
        for number in range(1, shape.maintenance_sessions + 1):
            position += 1
            yield _Slot(position, Phase.MAINTENANCE, number, maintenance, None)
    for number, after in enumerate(shape.review_after_days, start=1):
        position += 1
        yield _Slot(position, Phase.REVIEW, number, None, after)


def _add(day: date, days: int) -> date:
    # Date arithmetic is the only thing that can overflow here; report it like any bad input.
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise PlanError(
            "The plan runs outside the supported calendar (years 1 to 9999); "
            "check the start date and session dates."
        ) from None


def _index_facts(facts: Sequence[SessionFact], length: int) -> Mapping[int, SessionFact]:
    """Facts by position, after checking them; order of ``facts`` does not matter."""
    by_position: dict[int, SessionFact] = {}
    for fact in facts:
        position = fact.position
        if isinstance(position, bool) or not isinstance(position, int):
            raise PlanError("A session fact's position must be a whole number.", "facts")
        if not 1 <= position <= length:
            raise PlanError(
                f"There is no session {position} in this plan: it has {length} "
                f"session{'s' if length != 1 else ''} (1 to {length}).",
                "facts",
            )
        if position in by_position:
            raise PlanError(
                f"Session {position} is described twice; give one fact per session.", "facts"
            )
        if fact.done and fact.on is None:
            raise PlanError(
                f"Session {position} is marked done but has no date: give the date it happened.",
                "facts",
            )
        by_position[position] = fact
    return by_position


def _settle(
    slot: _Slot, earliest: date, target: date, latest: date, fact: SessionFact | None
) -> PlannedSession:
    """Apply a position's own fact to its protocol window and flag it if off protocol."""
    on = fact.on if fact is not None else None
    done = fact.done if fact is not None else False
    off: OffProtocol | None = None
    off_by = 0
    not_before = fact.not_before if fact is not None and not fact.done else None
    # A done session ignores not_before so that its window depends on earlier positions only.
    if not_before is not None and earliest < not_before:
        original_earliest, original_latest = earliest, latest
        earliest = not_before
        target = max(target, earliest)
        if latest < earliest:
            # The protocol's interval is exceeded whatever happens now; the session still
            # gets a window as wide as the protocol's, so it can be booked again.
            latest = earliest + (original_latest - original_earliest)
            off = OffProtocol.INTERVAL_EXCEEDED
            off_by = (not_before - original_latest).days
    if on is not None:
        # The actual or booked date is what the clinic acts on, so it decides the flag.
        if on < earliest:
            off, off_by = OffProtocol.EARLY, (earliest - on).days
        elif on > latest:
            off, off_by = OffProtocol.LATE, (on - latest).days
        elif off is not OffProtocol.INTERVAL_EXCEEDED:
            off, off_by = None, 0
    return PlannedSession(
        position=slot.position,
        phase=slot.phase,
        number_in_phase=slot.number_in_phase,
        earliest=earliest,
        target=target,
        latest=latest,
        on=on,
        done=done,
        off_protocol=off,
        off_by_days=off_by,
    )


def plan_course(
    shape: CourseShape, start: date, facts: Sequence[SessionFact] = ()
) -> list[PlannedSession]:
    """Plan every position of a course that starts on ``start``, given what is known so far.

    Returns ``plan_length(shape)`` sessions ordered by position: induction ``1..N``, then
    maintenance, then one review per ``shape.review_after_days`` entry in that order.

    Windows:

    - Position 1: ``[start, start + first_session_window_days]``, target ``start``.
    - Any other induction or maintenance position: ``anchor + (min, target, max)`` of its phase's
      interval, where ``anchor`` is the effective date of the position before it (``on`` when
      its fact gives one, else its target). The first maintenance session therefore counts from
      the last induction session.
    - Review ``r``: target ``anchor + review_after_days[r]`` with ``anchor`` the effective date
      of the last induction session; the window is target ± ``review_window_days`` but never
      opens before ``anchor + 1``. Reviews anchor nothing.
    - ``not_before`` on a position that is not done opens its window no earlier than that day
      (moving the target up with it); if that is past the window's close, the window collapses
      to that one day and is flagged ``INTERVAL_EXCEEDED`` by the days past the original close.
    - A position with ``on`` is flagged ``EARLY`` or ``LATE`` when ``on`` is outside its window
      (this replaces any ``INTERVAL_EXCEEDED``), and is not flagged when inside it.

    Raises :class:`PlanError` for a fact whose position is outside ``1..plan_length(shape)``,
    two facts for one position, a done fact without a date, or dates beyond the calendar.
    """
    by_position = _index_facts(facts, plan_length(shape))
    plan: list[PlannedSession] = []
    anchor = start  # effective date of the previous induction/maintenance position
    last_induction = start
    for slot in _slots(shape):
        if slot.review_after is not None:
            target = _add(last_induction, slot.review_after)
            earliest = max(_add(last_induction, 1), _add(target, -shape.review_window_days))
            latest = _add(target, shape.review_window_days)
        elif slot.interval is None:
            earliest = target = start
            latest = _add(start, shape.first_session_window_days)
        else:
            low, aim, high = slot.interval
            earliest, target, latest = _add(anchor, low), _add(anchor, aim), _add(anchor, high)
        session = _settle(slot, earliest, target, latest, by_position.get(slot.position))
        plan.append(session)
        if slot.phase is not Phase.REVIEW:
            anchor = session.on if session.on is not None else session.target
            if slot.phase is Phase.INDUCTION:
                last_induction = anchor
    return plan
