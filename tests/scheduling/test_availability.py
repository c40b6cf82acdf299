"""Free appointment times (``mesoclinic.scheduling.availability``): pure functions, no database.

Most tests use a winter Monday in London (UTC+0), where local and UTC times agree, so the
expected values read as plain wall-clock times; the daylight-saving tests use the two London
change days of 2026 (both Sundays): 29 March (01:00 -> 02:00) and 25 October (02:00 -> 01:00).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.scheduling.availability import (
    REASON_CLOSED,
    REASON_NO_ROOM,
    REASON_PATIENT_BUSY,
    REASON_PRACTITIONER_BUSY,
    DayRules,
    Interval,
    Slot,
    WeeklyHours,
    check_slot,
    days_by_closeness,
    first_free_slot,
    free_slots,
    working_intervals,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
MONDAY = dt.date(2026, 1, 5)
TUESDAY = dt.date(2026, 1, 6)
SPRING_FORWARD = dt.date(2026, 3, 29)
FALL_BACK = dt.date(2026, 10, 25)
MINUTES_30 = dt.timedelta(minutes=30)


def t(hhmm: str) -> dt.time:
    return dt.time.fromisoformat(hhmm)


def hours(*spans: str, days: Sequence[int] = range(7)) -> WeeklyHours:
    """``hours("09:00-12:00", "13:00-17:00")``: those spans on every weekday."""
    pairs = [(t(span[:5]), t(span[6:])) for span in spans]
    return {weekday: pairs for weekday in days}


def at(hhmm: str, day: dt.date = MONDAY) -> dt.datetime:
    return dt.datetime.combine(day, t(hhmm), tzinfo=LONDON)


def span(text: str, day: dt.date = MONDAY) -> Interval:
    """``span("10:00-10:30")``: an aware London interval on ``day``."""
    return at(text[:5], day), at(text[6:], day)


def rules(**overrides: Any) -> DayRules:
    """A clinic and practitioner both 09:00-17:00 every day, nothing booked, no rooms."""
    values: dict[str, Any] = {
        "tz": LONDON,
        "clinic_hours": hours("09:00-17:00"),
        "practitioner_hours": hours("09:00-17:00"),
    }
    return DayRules(**(values | overrides))


def local_spans(intervals: Sequence[Interval]) -> list[str]:
    return [f"{s.astimezone(LONDON):%H:%M}-{e.astimezone(LONDON):%H:%M}" for s, e in intervals]


def local_starts(slots: Sequence[Slot]) -> list[str]:
    return [f"{slot.starts_at.astimezone(LONDON):%H:%M}" for slot in slots]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """Every ``step`` minutes from ``first`` to ``last`` inclusive, as "HH:MM"."""
    moment, end = at(first), at(last)
    out = []
    while moment <= end:
        out.append(f"{moment:%H:%M}")
        moment += dt.timedelta(minutes=step)
    return out


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC)


# --- Working intervals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clinic", "practitioner", "expected"),
    [
        (["09:00-17:00"], ["09:00-17:00"], ["09:00-17:00"]),
        (["09:00-17:00"], ["08:00-12:00"], ["09:00-12:00"]),
        (["09:00-17:00"], ["10:00-19:00"], ["10:00-17:00"]),
        (["09:00-12:00", "13:00-17:00"], ["08:00-18:00"], ["09:00-12:00", "13:00-17:00"]),
        (["09:00-17:00"], ["14:00-15:00", "11:00-12:00"], ["11:00-12:00", "14:00-15:00"]),
        (["09:00-12:00", "13:00-17:00"], ["11:00-14:00"], ["11:00-12:00", "13:00-14:00"]),
        (["09:00-12:00", "12:00-17:00"], ["09:00-17:00"], ["09:00-17:00"]),
        (["09:00-13:00", "11:00-17:00"], ["09:00-17:00"], ["09:00-17:00"]),
        (["09:00-12:00"], ["13:00-17:00"], []),
        (["09:00-12:00"], ["12:00-17:00"], []),
    ],
    ids=[
        "same hours",
        "practitioner starts earlier",
        "practitioner stays later",
        "split clinic day",
        "practitioner works two blocks, given out of order",
        "practitioner spans the clinic's lunch break",
        "touching clinic hours are one opening",
        "overlapping clinic hours are one opening",
        "no common hours",
        "hours that only touch",
    ],
)
def test_working_hours_are_the_intersection_of_clinic_and_practitioner_hours(
    clinic: list[str], practitioner: list[str], expected: list[str]
) -> None:
    day_rules = rules(clinic_hours=hours(*clinic), practitioner_hours=hours(*practitioner))

    assert local_spans(working_intervals(day_rules, MONDAY)) == expected


@pytest.mark.parametrize(
    ("clinic_days", "practitioner_days"),
    [([1, 2, 3, 4], [0, 1]), ([0, 1], [1, 2]), ([], [0])],
    ids=["clinic closed on mondays", "practitioner off on mondays", "clinic without hours"],
)
def test_no_working_hours_on_a_weekday_either_side_does_not_work(
    clinic_days: list[int], practitioner_days: list[int]
) -> None:
    day_rules = rules(
        clinic_hours=hours("09:00-17:00", days=clinic_days),
        practitioner_hours=hours("09:00-17:00", days=practitioner_days),
    )

    assert working_intervals(day_rules, MONDAY) == []
    assert free_slots(day_rules, MONDAY, MINUTES_30) == []


def test_working_intervals_are_aware_datetimes_in_the_clinic_zone() -> None:
    [(start, end)] = working_intervals(rules(), MONDAY)

    assert start.tzinfo is LONDON and end.tzinfo is LONDON
    assert (start, end) == (at("09:00"), at("17:00"))


def test_hours_that_close_before_they_open_are_refused() -> None:
    with pytest.raises(ValueError, match="not after opening"):
        working_intervals(rules(clinic_hours=hours("17:00-09:00")), MONDAY)


@pytest.mark.parametrize(
    ("closures", "closed"),
    [
        ([(MONDAY, MONDAY)], True),
        ([(dt.date(2025, 12, 24), MONDAY)], True),
        ([(MONDAY, dt.date(2026, 1, 9))], True),
        ([(dt.date(2026, 1, 1), dt.date(2026, 1, 31))], True),
        ([(dt.date(2025, 12, 24), dt.date(2026, 1, 4))], False),
        ([(TUESDAY, dt.date(2026, 1, 9))], False),
        ([(dt.date(2025, 12, 24), dt.date(2025, 12, 26)), (MONDAY, MONDAY)], True),
    ],
    ids=[
        "one-day closure",
        "closure ending that day",
        "closure starting that day",
        "closure around that day",
        "closure ending the day before",
        "closure starting the day after",
        "second of two closures",
    ],
)
def test_a_closure_closes_the_clinic_all_day_including_its_first_and_last_days(
    closures: list[tuple[dt.date, dt.date]], closed: bool
) -> None:
    day_rules = rules(closures=closures)

    assert (working_intervals(day_rules, MONDAY) == []) is closed
    assert (free_slots(day_rules, MONDAY, MINUTES_30) == []) is closed


@pytest.mark.parametrize(
    ("absences", "expected"),
    [
        ([span("10:00-11:30")], ["09:00-10:00", "11:30-17:00"]),
        ([span("08:00-10:00")], ["10:00-17:00"]),
        ([span("16:00-23:00")], ["09:00-16:00"]),
        ([span("08:00-09:00"), span("17:00-18:00")], ["09:00-17:00"]),
        ([span("10:00-11:00"), span("14:00-15:00")], ["09:00-10:00", "11:00-14:00", "15:00-17:00"]),
        ([(at("00:00"), at("00:00", TUESDAY))], []),
        ([(at("00:00", dt.date(2026, 1, 2)), at("12:00"))], ["12:00-17:00"]),
        (
            [(dt.datetime(2026, 1, 5, 5, 0, tzinfo=NEW_YORK), at("12:00"))],
            ["09:00-10:00", "12:00-17:00"],
        ),
    ],
    ids=[
        "mid-morning",
        "until mid-morning",
        "from mid-afternoon",
        "touching the working hours only",
        "two absences",
        "whole day",
        "since last week, until noon",
        "given in another zone (05:00 New York is 10:00 London)",
    ],
)
def test_an_absence_removes_its_time_from_the_working_hours(
    absences: list[Interval], expected: list[str]
) -> None:
    assert local_spans(working_intervals(rules(absences=absences), MONDAY)) == expected


def test_a_naive_datetime_is_refused_rather_than_read_in_the_server_zone() -> None:
    naive = (dt.datetime(2026, 1, 5, 10), dt.datetime(2026, 1, 5, 11))

    with pytest.raises(ValueError, match="naive"):
        working_intervals(rules(absences=[naive]), MONDAY)
    with pytest.raises(ValueError, match="naive"):
        free_slots(rules(patient_busy=[naive]), MONDAY, MINUTES_30)
    with pytest.raises(ValueError, match="naive"):
        check_slot(rules(), *naive)


# --- Free slots: grid, fit and busy people ---------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "minutes", "expected"),
    [
        ({}, 30, grid("09:00", "16:30")),
        ({"step_minutes": 30}, 60, grid("09:00", "16:00", step=30)),
        ({"step_minutes": 20}, 30, grid("09:00", "16:20", step=20)),
        ({}, 45, grid("09:00", "16:15")),
        ({}, 8 * 60, ["09:00"]),
        ({}, 8 * 60 + 1, []),
        (
            {"clinic_hours": hours("09:00-12:00", "13:00-17:00")},
            30,
            grid("09:00", "11:30") + grid("13:00", "16:30"),
        ),
        (
            {"clinic_hours": hours("09:00-12:00", "13:00-17:00")},
            4 * 60,
            ["13:00"],
        ),
        ({"practitioner_hours": hours("09:10-17:00")}, 30, grid("09:10", "16:25")),
        ({"practitioner_hours": hours("09:00-10:00")}, 45, ["09:00", "09:15"]),
        ({"absences": [span("09:00-10:05")]}, 30, grid("10:05", "16:20")),
    ],
    ids=[
        "15-minute grid from opening",
        "30-minute grid",
        "20-minute grid stops before it would overrun",
        "45 minutes: last start 16:15",
        "a duration exactly as long as the day",
        "a duration longer than the day",
        "split day: nothing across the lunch break",
        "split day: only the longer block fits",
        "grid anchored at the practitioner's start",
        "duration that does not fit the end of the day",
        "grid anchored where an absence ends",
    ],
)
def test_free_slots_start_on_the_step_grid_and_fit_inside_one_working_interval(
    overrides: dict[str, Any], minutes: int, expected: list[str]
) -> None:
    slots = free_slots(rules(**overrides), MONDAY, dt.timedelta(minutes=minutes))

    assert local_starts(slots) == expected
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=minutes) for s in slots)


def test_free_slots_are_in_the_clinic_zone() -> None:
    [slot] = free_slots(rules(), MONDAY, MINUTES_30, limit=1)

    assert slot == Slot(at("09:00"), at("09:30"), None)
    assert slot.starts_at.tzinfo is LONDON and slot.ends_at.tzinfo is LONDON


@pytest.mark.parametrize(
    ("limit", "expected"), [(0, []), (1, ["09:00"]), (3, grid("09:00", "09:30"))]
)
def test_limit_keeps_the_earliest_slots(limit: int, expected: list[str]) -> None:
    assert local_starts(free_slots(rules(), MONDAY, MINUTES_30, limit=limit)) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"step_minutes": 0}, "step_minutes"),
        ({"step_minutes": -15}, "step_minutes"),
    ],
)
def test_a_grid_that_never_moves_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        free_slots(rules(**overrides), MONDAY, MINUTES_30)


@pytest.mark.parametrize("duration", [dt.timedelta(0), dt.timedelta(minutes=-30)])
def test_a_duration_that_is_not_positive_is_refused(duration: dt.timedelta) -> None:
    with pytest.raises(ValueError, match="duration"):
        free_slots(rules(), MONDAY, duration)


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        free_slots(rules(), MONDAY, MINUTES_30, limit=-1)


BUSY_10_TO_1030 = [span("10:00-10:30")]
MORNING_AROUND_BUSY = ["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"]


@pytest.mark.parametrize(
    "who",
    ["practitioner_busy", "patient_busy"],
    ids=["practitioner has an appointment", "patient has an appointment"],
)
def test_a_busy_person_blocks_overlapping_slots_but_not_touching_ones(who: str) -> None:
    day_rules = rules(practitioner_hours=hours("09:00-12:00"), **{who: BUSY_10_TO_1030})

    assert local_starts(free_slots(day_rules, MONDAY, MINUTES_30)) == MORNING_AROUND_BUSY


def test_busy_intervals_of_other_days_and_zones_are_compared_in_absolute_time() -> None:
    day_rules = rules(
        practitioner_hours=hours("09:00-12:00"),
        # 05:00-05:30 in New York is 10:00-10:30 in London; the others are on other days.
        practitioner_busy=[
            (
                dt.datetime(2026, 1, 5, 5, 0, tzinfo=NEW_YORK),
                dt.datetime(2026, 1, 5, 5, 30, tzinfo=NEW_YORK),
            ),
            span("10:00-11:00", TUESDAY),
        ],
        patient_busy=[span("09:00-12:00", dt.date(2026, 1, 4))],
    )

    assert local_starts(free_slots(day_rules, MONDAY, MINUTES_30)) == MORNING_AROUND_BUSY


# --- Rooms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room_busy", "expected"),
    [
        ({}, [("09:00", None), ("10:00", None), ("11:00", None)]),
        ({1: [], 2: []}, [("09:00", 1), ("10:00", 1), ("11:00", 1)]),
        ({2: [], 1: []}, [("09:00", 1), ("10:00", 1), ("11:00", 1)]),
        ({1: [span("10:00-11:00")], 2: []}, [("09:00", 1), ("10:00", 2), ("11:00", 1)]),
        ({1: [span("10:00-11:00")], 2: [span("10:30-11:30")]}, [("09:00", 1), ("11:00", 1)]),
        ({7: [span("09:00-12:00")]}, []),
        (
            {3: [span("09:30-10:00")], 5: [span("10:00-10:30")]},
            [("09:00", 5), ("10:00", 3), ("11:00", 3)],
        ),
    ],
    ids=[
        "clinic without rooms: no room needed",
        "lowest room id",
        "lowest room id whatever the mapping order",
        "next room when the lowest is taken",
        "no room free for the whole hour: not offered",
        "the only room taken all morning",
        "each room touches a slot only",
    ],
)
def test_a_slot_gets_the_lowest_room_free_for_its_whole_duration(
    room_busy: dict[int, list[Interval]], expected: list[tuple[str, int | None]]
) -> None:
    day_rules = rules(practitioner_hours=hours("09:00-12:00"), room_busy=room_busy, step_minutes=60)

    slots = free_slots(day_rules, MONDAY, dt.timedelta(hours=1))

    assert [(f"{s.starts_at:%H:%M}", s.room) for s in slots] == expected


# --- check_slot ------------------------------------------------------------------------------

CHECK_RULES = rules(
    clinic_hours=hours("09:00-12:00", "13:00-17:00"),
    absences=[span("15:00-16:00")],
    practitioner_busy=[span("09:30-10:00")],
    patient_busy=[span("10:00-10:30")],
    room_busy={1: [span("11:00-11:30")], 2: [span("11:00-11:45")]},
    closures=[(TUESDAY, TUESDAY)],
)


@pytest.mark.parametrize(
    ("starts", "ends", "day", "ok", "room", "reason"),
    [
        ("09:00", "09:30", MONDAY, True, 1, None),
        ("09:07", "09:22", MONDAY, True, 1, None),
        ("11:30", "11:45", MONDAY, True, 1, None),
        ("11:45", "12:00", MONDAY, True, 1, None),
        ("08:45", "09:15", MONDAY, False, None, REASON_CLOSED),
        ("11:45", "12:15", MONDAY, False, None, REASON_CLOSED),
        ("12:15", "12:45", MONDAY, False, None, REASON_CLOSED),
        ("16:45", "17:15", MONDAY, False, None, REASON_CLOSED),
        ("14:45", "15:15", MONDAY, False, None, REASON_CLOSED),
        ("09:00", "09:30", TUESDAY, False, None, REASON_CLOSED),
        ("09:00", "09:30", dt.date(2026, 1, 10), True, 1, None),
        ("09:15", "09:45", MONDAY, False, None, REASON_PRACTITIONER_BUSY),
        ("09:45", "10:15", MONDAY, False, None, REASON_PRACTITIONER_BUSY),
        ("10:15", "10:45", MONDAY, False, None, REASON_PATIENT_BUSY),
        ("11:15", "11:30", MONDAY, False, None, REASON_NO_ROOM),
        ("10:45", "11:15", MONDAY, False, None, REASON_NO_ROOM),
    ],
    ids=[
        "free, lowest room",
        "off the step grid is still bookable",
        "room 1 free again when its booking ends",
        "ending exactly at the lunch break",
        "starting before opening",
        "running into the lunch break",
        "during the lunch break",
        "running past closing",
        "running into an absence",
        "closure day",
        "saturday (open every day here)",
        "practitioner busy",
        "practitioner and patient busy: practitioner reported first",
        "patient busy",
        "every room busy",
        "every room busy for part of the slot",
    ],
)
def test_check_slot_reports_why_a_time_cannot_be_booked(
    starts: str,
    ends: str,
    day: dt.date,
    ok: bool,
    room: int | None,
    reason: str | None,
) -> None:
    check = check_slot(CHECK_RULES, at(starts, day), at(ends, day))

    assert (check.ok, check.room, check.reason) == (ok, room, reason)


def test_check_slot_accepts_times_in_any_zone() -> None:
    # 10:30-11:00 London in January, written as New York and UTC times.
    starts = dt.datetime(2026, 1, 5, 5, 30, tzinfo=NEW_YORK)
    ends = dt.datetime(2026, 1, 5, 11, 0, tzinfo=UTC)

    assert check_slot(CHECK_RULES, starts, ends).ok


def test_check_slot_without_rooms_books_no_room() -> None:
    check = check_slot(rules(), at("09:00"), at("09:30"))

    assert (check.ok, check.room, check.reason) == (True, None, None)


@pytest.mark.parametrize(("starts", "ends"), [("10:00", "10:00"), ("10:30", "10:00")])
def test_check_slot_refuses_an_empty_or_reversed_interval(starts: str, ends: str) -> None:
    with pytest.raises(ValueError, match="after"):
        check_slot(rules(), at(starts), at(ends))


# --- Daylight saving (Europe/London) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "utc_opening"),
    [
        (SPRING_FORWARD, "08:00"),
        (FALL_BACK, "09:00"),
        (dt.date(2026, 3, 28), "09:00"),
        (dt.date(2026, 10, 24), "08:00"),
    ],
    ids=[
        "spring-forward day",
        "fall-back day",
        "day before spring-forward",
        "day before fall-back",
    ],
)
def test_opening_hours_are_local_wall_time_on_daylight_saving_days(
    day: dt.date, utc_opening: str
) -> None:
    slots = free_slots(rules(), day, MINUTES_30)

    assert f"{slots[0].starts_at:%H:%M}" == "09:00"
    assert f"{utc(slots[0].starts_at):%H:%M}" == utc_opening
    assert f"{slots[-1].starts_at:%H:%M}" == "16:30"
    assert len(slots) == len(grid("09:00", "16:30"))


NIGHT = {"clinic_hours": hours("00:00-04:00"), "practitioner_hours": hours("00:00-04:00")}


def test_no_slot_starts_in_the_hour_skipped_on_the_spring_forward_day() -> None:
    slots = free_slots(rules(**NIGHT), SPRING_FORWARD, MINUTES_30)

    assert local_starts(slots) == grid("00:00", "00:45") + grid("02:00", "03:30")
    # The night lasted three real hours, so 00:45 + 30 minutes is 02:15 by the clock.
    assert f"{slots[3].ends_at:%H:%M}" == "02:15"
    assert [f"{utc(s.starts_at):%H:%M}" for s in slots[3:5]] == ["00:45", "01:00"]


def test_the_repeated_hour_on_the_fall_back_day_gives_each_start_once() -> None:
    slots = free_slots(rules(**NIGHT), FALL_BACK, MINUTES_30)
    starts_utc = [utc(s.starts_at) for s in slots]

    assert local_starts(slots) == grid("00:00", "03:30")
    assert len(set(starts_utc)) == len(starts_utc) == len(grid("00:00", "03:30"))
    # 01:30 is taken at its first occurrence (BST, 00:30 UTC), not the second one an hour later.
    [half_past_one] = [s for s in slots if f"{s.starts_at:%H:%M}" == "01:30"]
    assert utc(half_past_one.starts_at) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert half_past_one.starts_at.fold == 0


@pytest.mark.parametrize(
    ("day", "starts", "real_hours"),
    [(SPRING_FORWARD, "00:00", 3), (FALL_BACK, "00:00", 5), (MONDAY, "00:00", 4)],
)
def test_working_intervals_last_the_real_time_between_local_opening_and_closing(
    day: dt.date, starts: str, real_hours: int
) -> None:
    [(start, end)] = working_intervals(rules(**NIGHT), day)

    assert f"{start:%H:%M}" == starts
    assert utc(end) - utc(start) == dt.timedelta(hours=real_hours)


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
def test_a_slot_lasts_its_duration_in_real_time_across_a_clock_change(day: dt.date) -> None:
    duration = dt.timedelta(minutes=45)

    for slot in free_slots(rules(**NIGHT), day, duration):
        assert utc(slot.ends_at) - utc(slot.starts_at) == duration


def test_hours_inside_the_skipped_hour_give_no_working_time() -> None:
    day_rules = rules(**{k: hours("01:15-01:45") for k in NIGHT})

    assert working_intervals(day_rules, SPRING_FORWARD) == []
    assert free_slots(day_rules, SPRING_FORWARD, dt.timedelta(minutes=15)) == []


def test_hours_opening_in_the_skipped_hour_open_when_the_clocks_jump() -> None:
    day_rules = rules(**{k: hours("01:30-03:00") for k in NIGHT})

    [(start, end)] = working_intervals(day_rules, SPRING_FORWARD)

    assert (utc(start), utc(end)) == (
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
    )
    assert local_starts(free_slots(day_rules, SPRING_FORWARD, MINUTES_30)) == [
        "02:00",
        "02:15",
        "02:30",
    ]


def test_check_slot_accepts_the_second_occurrence_of_a_repeated_hour() -> None:
    # 01:15-01:45 GMT, the second time the clock shows those times on the fall-back night.
    starts = dt.datetime(2026, 10, 25, 1, 15, tzinfo=LONDON, fold=1)
    ends = dt.datetime(2026, 10, 25, 1, 45, tzinfo=LONDON, fold=1)
    busy = rules(**NIGHT, patient_busy=[(starts, ends)])

    assert check_slot(rules(**NIGHT), starts, ends).ok
    assert check_slot(busy, starts, ends).reason == REASON_PATIENT_BUSY
    # The first occurrence, an hour earlier in real time, does not clash with it.
    assert check_slot(busy, starts.replace(fold=0), ends.replace(fold=0)).ok


def test_busy_intervals_across_the_fall_back_change_block_by_absolute_time() -> None:
    # Busy 01:30 BST - 01:15 GMT: 45 real minutes, though the clock reads backwards.
    busy = (
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=0),
        dt.datetime(2026, 10, 25, 1, 15, tzinfo=LONDON, fold=1),
    )
    slots = free_slots(
        rules(**NIGHT, practitioner_busy=[busy]), FALL_BACK, dt.timedelta(minutes=15)
    )

    assert "01:30" not in local_starts(slots) and "01:45" not in local_starts(slots)
    assert "01:15" in local_starts(slots) and "02:00" in local_starts(slots)


# --- Days by closeness and the first free slot -----------------------------------------------


def d(day: int) -> dt.date:
    return dt.date(2026, 1, day)


@pytest.mark.parametrize(
    ("earliest", "target", "latest", "expected"),
    [
        (d(5), d(5), d(5), [5]),
        (d(3), d(5), d(7), [5, 4, 6, 3, 7]),
        (d(3), d(3), d(6), [3, 4, 5, 6]),
        (d(3), d(6), d(6), [6, 5, 4, 3]),
        (d(1), d(3), d(8), [3, 2, 4, 1, 5, 6, 7, 8]),
        (d(1), d(7), d(8), [7, 6, 8, 5, 4, 3, 2, 1]),
    ],
    ids=["one day", "centred", "target first day", "target last day", "more after", "more before"],
)
def test_days_by_closeness_orders_by_distance_then_earlier_first(
    earliest: dt.date, target: dt.date, latest: dt.date, expected: list[int]
) -> None:
    assert [day.day for day in days_by_closeness(earliest, target, latest)] == expected


def test_days_by_closeness_crosses_month_and_year_ends() -> None:
    days = days_by_closeness(dt.date(2025, 12, 30), dt.date(2026, 1, 1), dt.date(2026, 1, 2))

    assert days == [
        dt.date(2026, 1, 1),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 2),
        dt.date(2025, 12, 30),
    ]


@pytest.mark.parametrize(
    ("earliest", "target", "latest"),
    [(d(6), d(6), d(5)), (d(3), d(2), d(5)), (d(3), d(6), d(5))],
    ids=["earliest after latest", "target before earliest", "target after latest"],
)
def test_days_by_closeness_refuses_an_impossible_window(
    earliest: dt.date, target: dt.date, latest: dt.date
) -> None:
    with pytest.raises(ValueError):
        days_by_closeness(earliest, target, latest)


class Calendar:
    """``rules_for_day`` for first_free_slot: every day open 09:00-12:00, some days booked
    solid, and a record of the days asked for."""

    def __init__(self, full: Sequence[dt.date] = (), busy: Sequence[Interval] = ()) -> None:
        self.full = set(full)
        self.busy = list(busy)
        self.asked: list[dt.date] = []

    def __call__(self, day: dt.date) -> DayRules:
        self.asked.append(day)
        busy = self.busy + ([span("00:00-23:59", day)] if day in self.full else [])
        return rules(practitioner_hours=hours("09:00-12:00"), practitioner_busy=busy)


def afternoon_first(slot: Slot) -> float:
    return 0.0 if slot.starts_at.hour >= 11 else 1.0


def test_first_free_slot_takes_the_earliest_slot_of_the_first_day_in_the_given_order() -> None:
    calendar = Calendar(full=[d(7)])

    slot = first_free_slot(calendar, [d(7), d(6), d(8)], MINUTES_30)

    assert slot is not None and slot.starts_at == at("09:00", d(6))
    assert calendar.asked == [d(7), d(6)]  # stops at the first day with a slot


def test_first_free_slot_with_a_preference_picks_the_best_slot_of_that_day() -> None:
    calendar = Calendar(busy=[span("11:00-11:30", d(6))])

    slot = first_free_slot(calendar, [d(6), d(7)], MINUTES_30, prefer=afternoon_first)

    # 11:00 and 11:15 are taken; of the equally good 11:30 and later ones, the earliest wins.
    assert slot is not None and slot.starts_at == at("11:30", d(6))


def test_first_free_slot_does_not_pass_over_a_day_for_a_better_score_later() -> None:
    calendar = Calendar(busy=[span("10:30-12:00", d(6))])

    slot = first_free_slot(calendar, [d(6), d(7)], MINUTES_30, prefer=afternoon_first)

    assert slot is not None and slot.starts_at == at("09:00", d(6))


def test_first_free_slot_is_none_when_no_day_has_room() -> None:
    assert first_free_slot(Calendar(full=[d(6), d(7)]), [d(6), d(7)], MINUTES_30) is None
    assert first_free_slot(Calendar(), [], MINUTES_30) is None
    assert first_free_slot(Calendar(), [d(6)], dt.timedelta(hours=4)) is None


# --- Properties ------------------------------------------------------------------------------

LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # moves its clocks by half an hour
HAVANA = ZoneInfo("America/Havana")  # moves its clocks at midnight
ZONES = [LONDON, NEW_YORK, LORD_HOWE, HAVANA, ZoneInfo("UTC")]
CLOCK_CHANGES = [
    (LONDON, SPRING_FORWARD),
    (LONDON, FALL_BACK),
    (NEW_YORK, dt.date(2026, 3, 8)),
    (NEW_YORK, dt.date(2026, 11, 1)),
    (HAVANA, dt.date(2026, 3, 8)),
    (HAVANA, dt.date(2026, 11, 1)),
    (LORD_HOWE, dt.date(2026, 4, 5)),
    (LORD_HOWE, dt.date(2026, 10, 4)),
]


def minutes_to_time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


@st.composite
def local_span(draw: st.DrawFn) -> tuple[dt.time, dt.time]:
    """Any span of the day, or (as often) one in the small hours, where clocks change."""
    latest_open = draw(st.sampled_from([24 * 60 - 10, 3 * 60]))
    opens = draw(st.integers(0, latest_open // 5)) * 5
    closes = draw(st.integers(opens // 5 + 1, (24 * 60 - 5) // 5)) * 5
    return minutes_to_time(opens), minutes_to_time(closes)


@st.composite
def busy_around(draw: st.DrawFn, day: dt.date) -> list[Interval]:
    """Up to five intervals from the evening before to the morning after ``day`` (UTC)."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
    out = []
    for _ in range(draw(st.integers(0, 5))):
        start = midnight + dt.timedelta(minutes=draw(st.integers(-16 * 60, 40 * 60)))
        out.append((start, start + dt.timedelta(minutes=draw(st.integers(1, 300)))))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DayRules, dt.date, dt.timedelta]:
    """A day's rules, the day and a duration; half the time on a clock-change day."""
    tz, day = draw(
        st.sampled_from(CLOCK_CHANGES)
        | st.tuples(st.sampled_from(ZONES), st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
    )
    weekday = day.weekday()
    room_ids = draw(st.lists(st.integers(1, 9), max_size=3, unique=True))
    day_rules = DayRules(
        tz=tz,
        clinic_hours={weekday: draw(st.lists(local_span(), max_size=3))},
        practitioner_hours={weekday: draw(st.lists(local_span(), max_size=3))},
        absences=draw(busy_around(day)),
        practitioner_busy=draw(busy_around(day)),
        patient_busy=draw(busy_around(day)),
        room_busy={room: draw(busy_around(day)) for room in room_ids},
        step_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
    )
    return day_rules, day, dt.timedelta(minutes=draw(st.integers(5, 180)))


def overlaps(a: Interval, b: Interval) -> bool:
    return utc(a[0]) < utc(b[1]) and utc(b[0]) < utc(a[1])


@settings(deadline=None)
@given(scenarios())
def test_no_slot_overlaps_a_busy_interval_of_the_practitioner_the_patient_or_its_room(
    scenario: tuple[DayRules, dt.date, dt.timedelta],
) -> None:
    day_rules, day, duration = scenario

    for slot in free_slots(day_rules, day, duration):
        booked = (slot.starts_at, slot.ends_at)
        assert not any(overlaps(booked, b) for b in day_rules.practitioner_busy)
        assert not any(overlaps(booked, b) for b in day_rules.patient_busy)
        if day_rules.room_busy:
            assert slot.room is not None
            assert not any(overlaps(booked, b) for b in day_rules.room_busy[slot.room])
            # The lowest free room: every lower room is busy at some point of the slot.
            for lower in (r for r in day_rules.room_busy if r < slot.room):
                assert any(overlaps(booked, b) for b in day_rules.room_busy[lower])
        else:
            assert slot.room is None


@settings(deadline=None)
@given(scenarios())
def test_every_slot_lies_inside_one_working_interval_on_the_grid(
    scenario: tuple[DayRules, dt.date, dt.timedelta],
) -> None:
    day_rules, day, duration = scenario
    intervals = working_intervals(day_rules, day)

    for slot in free_slots(day_rules, day, duration):
        assert slot.starts_at.tzinfo is day_rules.tz
        assert utc(slot.ends_at) - utc(slot.starts_at) == duration
        [(start, _end)] = [
            (s, e)
            for s, e in intervals
            if utc(s) <= utc(slot.starts_at) and utc(slot.ends_at) <= utc(e)
        ]
        wall_offset = slot.starts_at.replace(tzinfo=None) - start.replace(tzinfo=None)
        assert wall_offset >= dt.timedelta(0)
        assert wall_offset % dt.timedelta(minutes=day_rules.step_minutes) == dt.timedelta(0)
        assert not any(overlaps((slot.starts_at, slot.ends_at), a) for a in day_rules.absences)


@settings(deadline=None)
@given(scenarios())
def test_slots_are_sorted_unique_and_each_passes_check_slot_with_the_same_room(
    scenario: tuple[DayRules, dt.date, dt.timedelta],
) -> None:
    day_rules, day, duration = scenario

    slots = free_slots(day_rules, day, duration)
    starts = [utc(s.starts_at) for s in slots]

    assert starts == sorted(set(starts))
    for slot in slots:
        check = check_slot(day_rules, slot.starts_at, slot.ends_at)
        assert (check.ok, check.room, check.reason) == (True, slot.room, None)


@settings(deadline=None)
@given(scenarios())
def test_every_free_time_on_the_grid_is_offered(
    scenario: tuple[DayRules, dt.date, dt.timedelta],
) -> None:
    # Independently of free_slots' own walk: every whole minute of every working interval
    # whose wall time is on the grid (at or after the interval's opening wall time, a whole
    # number of steps on), is the first time that wall time occurs in the interval, fits and
    # passes check_slot, must be among the slots. (All generated times are whole minutes.)
    day_rules, day, duration = scenario
    offered = {utc(slot.starts_at) for slot in free_slots(day_rules, day, duration)}
    step = dt.timedelta(minutes=day_rules.step_minutes)

    for start, end in working_intervals(day_rules, day):
        moment = utc(start)
        while moment + duration <= utc(end):
            local = moment.astimezone(day_rules.tz)
            wall_offset = local.replace(tzinfo=None) - start.replace(tzinfo=None)
            on_grid = wall_offset >= dt.timedelta(0) and wall_offset % step == dt.timedelta(0)
            first_time = local.fold == 0 or utc(local.replace(fold=0)) < utc(start)
            if on_grid and first_time and check_slot(day_rules, moment, moment + duration).ok:
                assert moment in offered
            moment += dt.timedelta(minutes=1)


@settings(deadline=None)
@given(scenarios())
def test_working_intervals_are_sorted_disjoint_and_not_touching(
    scenario: tuple[DayRules, dt.date, dt.timedelta],
) -> None:
    day_rules, day, _duration = scenario

    intervals = [(utc(s), utc(e)) for s, e in working_intervals(day_rules, day)]

    assert all(s < e for s, e in intervals)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(intervals))


@settings(deadline=None)
@given(scenarios(), st.integers(0, 24 * 60 - 1))
def test_check_slot_blames_a_busy_party_only_when_it_really_overlaps(
    scenario: tuple[DayRules, dt.date, dt.timedelta], minute: int
) -> None:
    day_rules, day, duration = scenario
    starts = dt.datetime.combine(day, dt.time(), tzinfo=day_rules.tz).astimezone(UTC)
    starts += dt.timedelta(minutes=minute)
    booked = (starts, starts + duration)

    check = check_slot(day_rules, *booked)

    practitioner = any(overlaps(booked, b) for b in day_rules.practitioner_busy)
    patient = any(overlaps(booked, b) for b in day_rules.patient_busy)
    rooms_full = bool(day_rules.room_busy) and all(
        any(overlaps(booked, b) for b in busy) for busy in day_rules.room_busy.values()
    )
    local_day = starts.astimezone(day_rules.tz).date()
    inside = any(
        utc(s) <= booked[0] and booked[1] <= utc(e)
        for s, e in working_intervals(day_rules, local_day)
    )
    assert (check.reason == REASON_CLOSED) is not inside
    if check.ok:
        assert not (practitioner or patient or rooms_full)
    elif check.reason == REASON_PRACTITIONER_BUSY:
        assert practitioner
    elif check.reason == REASON_PATIENT_BUSY:
        assert patient and not practitioner
    elif check.reason == REASON_NO_ROOM:
        assert rooms_full and not (practitioner or patient)
    else:
        assert check.reason == REASON_CLOSED
        assert check.room is None
