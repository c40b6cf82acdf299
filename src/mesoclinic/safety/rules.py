"""Flag rules for a recorded side effect (pure): is it serious, is it lasting longer than
expected.

- **Serious**: CTCAE grade 3 or above (``SERIOUS_GRADE``), or a term the catalogue marks as
  always serious (infection/abscess, angioedema, necrosis, scarring; the reason is in
  ``terms.json``), or any ICH E2A seriousness criterion ticked (``SERIOUSNESS_CRITERIA``).
  Grade 3 is CTCAE's "severe", which is not the same as ICH "serious"; counting it here is
  the clinic's choice, so that a severe event is always looked at.
- **Prolonged**: the event is still open and more time has passed since onset than the
  term's expected course (``Term.expected_course_hours``). Terms without an expected course
  (a scar, an infection) are never prolonged.

Times are compared as elapsed time: every datetime must be timezone-aware (a naive one is
refused with ``ValueError``), and "48 hours after onset" means 48 real hours, also across a
daylight-saving change. Standard library only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from enum import StrEnum
from types import MappingProxyType

from mesoclinic.safety.catalogue import GRADES, Term

__all__ = [
    "SERIOUSNESS_CRITERIA",
    "SERIOUS_GRADE",
    "Flag",
    "expected_end",
    "flags",
    "is_prolonged",
    "is_serious",
    "overdue_by",
]

SERIOUS_GRADE = 3

# ICH E2A's seriousness criteria: code -> label. A form offers them as tick boxes; the codes
# are what is stored and passed as ``criteria``.
SERIOUSNESS_CRITERIA: Mapping[str, str] = MappingProxyType(
    {
        "death": "Resulted in death",
        "life_threatening": "Life-threatening",
        "hospitalisation": "Required or prolonged hospitalisation",
        "disability": "Persistent or significant disability or incapacity",
        "congenital_anomaly": "Congenital anomaly or birth defect",
        "medically_important": "Other medically important event",
    }
)


class Flag(StrEnum):
    """What the rules can say about an event."""

    PROLONGED = "prolonged"
    SERIOUS = "serious"


def is_serious(*, term: Term, grade: int, criteria: Collection[str]) -> bool:
    """True when ``grade`` is ``SERIOUS_GRADE`` or higher, ``term`` is always serious, or
    ``criteria`` holds any seriousness criterion.

    Raises ``ValueError`` for a grade outside 1-5 or a criterion that is not a key of
    ``SERIOUSNESS_CRITERIA`` (a misspelt criterion must not silently count as unticked).
    """
    _check_grade(grade)
    unknown = sorted(set(criteria) - set(SERIOUSNESS_CRITERIA))
    if unknown:
        raise ValueError(
            f"Unknown seriousness criterion {', '.join(repr(c) for c in unknown)}; known: "
            f"{', '.join(SERIOUSNESS_CRITERIA)}."
        )
    return grade >= SERIOUS_GRADE or term.always_serious or bool(criteria)


def expected_end(*, term: Term, onset_at: dt.datetime) -> dt.datetime | None:
    """When the event is expected to be over: ``onset_at`` plus the term's expected course in
    elapsed hours, in ``onset_at``'s time zone; ``None`` when the term has no expected course.

    Raises ``ValueError`` if ``onset_at`` is naive.
    """
    _check_aware(onset_at, name="onset_at")
    hours = term.expected_course_hours
    if hours is None:
        return None
    # Add in UTC: aware arithmetic in a zone with DST adds wall-clock hours, not real ones.
    end = onset_at.astimezone(dt.UTC) + dt.timedelta(hours=hours)
    return end.astimezone(onset_at.tzinfo)


def is_prolonged(*, term: Term, onset_at: dt.datetime, open: bool, now: dt.datetime) -> bool:
    """True only when the event is ``open``, the term has an expected course, and ``now`` is
    strictly after ``expected_end`` (at exactly the expected end it is not yet prolonged).

    A resolved event is never prolonged. Raises ``ValueError`` if a datetime is naive.
    """
    _check_aware(now, name="now")
    end = expected_end(term=term, onset_at=onset_at)
    return open and end is not None and _utc(now) > _utc(end)


def overdue_by(*, term: Term, onset_at: dt.datetime, now: dt.datetime) -> dt.timedelta | None:
    """How long ``now`` is past the expected end (elapsed time, always positive), for
    display; ``None`` when the term has no expected course or ``now`` is not past the end.

    It does not look at whether the event is still open; ``is_prolonged`` does. Raises
    ``ValueError`` if a datetime is naive.
    """
    _check_aware(now, name="now")
    end = expected_end(term=term, onset_at=onset_at)
    if end is None or _utc(now) <= _utc(end):
        return None
    return _utc(now) - _utc(end)


def flags(
    *,
    term: Term,
    grade: int,
    criteria: Collection[str],
    onset_at: dt.datetime,
    open: bool,
    now: dt.datetime,
) -> frozenset[Flag]:
    """The flags of an event: ``SERIOUS`` when ``is_serious``, ``PROLONGED`` when
    ``is_prolonged``; empty when neither. A resolved serious event stays serious.

    Raises ``ValueError`` as ``is_serious`` and ``is_prolonged`` do.
    """
    found: set[Flag] = set()
    if is_serious(term=term, grade=grade, criteria=criteria):
        found.add(Flag.SERIOUS)
    if is_prolonged(term=term, onset_at=onset_at, open=open, now=now):
        found.add(Flag.PROLONGED)
    return frozenset(found)


def _check_grade(grade: object) -> None:
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise ValueError(f"A grade is a whole number from 1 to 5, got {grade!r}.")


def _check_aware(value: object, *, name: str) -> None:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {value.isoformat()}.")


def _utc(value: dt.datetime) -> dt.datetime:
    # Aware datetimes sharing a tzinfo compare by wall clock; in UTC they compare by instant.
    return value.astimezone(dt.UTC)
