"""The outcome charts (outcomes/charts.py): well-formed, escaped, accessible SVG. No database."""

from __future__ import annotations

import ast
import datetime as dt
import math
import random
import re
import statistics
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.core.svg import nice_ticks
from mesoclinic.outcomes import charts
from mesoclinic.outcomes.charts import (
    ChangeRow,
    ChangeSeries,
    DistributionGroup,
    ProgressPoint,
    change_chart,
    distribution_chart,
    dot_limit,
    progress_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
D = dt.date
HOSTILE = "<script>alert(\"x\")</script> & 'q'\x00\x0b"
HOSTILE_SHOWN = "<script>alert(\"x\")</script> & 'q'"  # as read back: control characters gone


# -- Reading the SVG back ---------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def classes(element: ET.Element) -> list[str]:
    return element.get("class", "").split()


def having(root: ET.Element, css_class: str, tag: str = "*") -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}" if tag != "*" else tag) if css_class in classes(e)]


def texts(root: ET.Element, css_class: str) -> list[str]:
    return ["".join(t.itertext()) for t in having(root, css_class, "text")]


def all_text(root: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def tooltip(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None and title.text is not None
    return title.text


def num(element: ET.Element, name: str) -> float:
    return float(element.get(name, "nan"))


def centre(marker: ET.Element) -> tuple[float, float]:
    """A marker's centre: a circle's cx / cy, a path's data-x / data-y."""
    if marker.tag == f"{SVG}circle":
        return num(marker, "cx"), num(marker, "cy")
    return num(marker, "data-x"), num(marker, "data-y")


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    (rect,) = having(root, "plot-area", "rect")
    left, top = num(rect, "x"), num(rect, "y")
    return left, top, left + num(rect, "width"), top + num(rect, "height")


def inside(point: tuple[float, float], area: tuple[float, float, float, float]) -> bool:
    x, y = point
    left, top, right, bottom = area
    slack = 0.11  # coordinates are written with one decimal
    return left - slack <= x <= right + slack and top - slack <= y <= bottom + slack


def check_root(root: ET.Element, label: str) -> None:
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == label
    assert root.get("width") == "100%"
    view_box = (root.get("viewBox") or "").split()
    assert len(view_box) == 4 and view_box[:2] == ["0", "0"]
    assert float(view_box[2]) == 720 and float(view_box[3]) > 0
    assert root[0].tag == f"{SVG}title"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}foreignObject"))


# -- Sample inputs ---------------------------------------------------------------------------


def visits() -> list[ProgressPoint]:
    return [
        ProgressPoint(D(2026, 1, 12), 142.0, is_baseline=True),
        ProgressPoint(D(2026, 3, 2), 148.5, label="Month 2"),
        ProgressPoint(D(2026, 4, 20), 151.25),
        ProgressPoint(D(2026, 2, 9), 139.0),
    ]


def protocol(
    label: str, *rows: tuple[str, int, float | None, float | None, float | None]
) -> ChangeSeries:
    return ChangeSeries(label, [ChangeRow(*row) for row in rows])


PROTOCOL_A = protocol(
    "Protocol A",
    ("Month 3", 12, 5.5, 2.0, 9.0),
    ("Month 6", 9, 8.0, None, None),
    ("Month 12", 0, None, None, None),
)
PROTOCOL_B = protocol(
    "Protocol B",
    ("Month 3", 10, -1.5, -4.0, 1.0),
    ("Month 6", 7, 2.0, -1.0, 5.0),
    ("Month 12", 2, 3.0, 0.5, 6.5),
)

ALL_CHARTS: dict[str, Callable[[str], str]] = {
    "progress": lambda title: progress_chart(
        title=title, unit="hairs/cm²", points=visits(), sessions=[D(2026, 1, 12)]
    ),
    "change": lambda title: change_chart(
        title=title, unit="hairs/cm²", series=[PROTOCOL_A, PROTOCOL_B]
    ),
    "distribution": lambda title: distribution_chart(
        title=title,
        unit="hairs/cm²",
        groups=[DistributionGroup("A", [1.0, 2.0, 3.5])],
        threshold=2.0,
    ),
}


# -- Every chart ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_CHARTS)
def test_each_chart_is_a_standalone_accessible_svg(name: str) -> None:
    svg = ALL_CHARTS[name]("Hair density")
    root = parse(svg)
    check_root(root, "Hair density")
    assert tooltip(root) == "Hair density"
    assert texts(root, "chart-title") == ["Hair density"]
    assert "var(" not in svg and "<style" not in svg


@pytest.mark.parametrize("name", ALL_CHARTS)
def test_each_chart_escapes_its_title_and_drops_what_xml_cannot_hold(name: str) -> None:
    svg = ALL_CHARTS[name](HOSTILE)
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("aria-label") == HOSTILE_SHOWN
    assert tooltip(root) == HOSTILE_SHOWN


def test_the_modules_are_pure() -> None:
    """No Django, nothing outside the standard library but the shared SVG helpers."""
    source_root = Path(charts.__file__).resolve().parents[1]
    for path in (source_root / "outcomes" / "charts.py", source_root / "core" / "svg.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name == "mesoclinic.core.svg", name


# -- Progress of one patient -----------------------------------------------------------------


def test_progress_points_are_dots_joined_by_a_line_in_date_order() -> None:
    root = parse(progress_chart(title="t", unit="hairs/cm²", points=visits()))
    dots = having(root, "point")
    assert len(dots) == 4
    xs = [centre(dot)[0] for dot in dots]
    assert xs == sorted(xs)
    (line,) = having(root, "progress-line", "polyline")
    line_xs = [float(pair.split(",")[0]) for pair in (line.get("points") or "").split()]
    assert line_xs == xs


def test_the_input_order_of_points_and_sessions_does_not_matter() -> None:
    sessions = [D(2026, 2, 2), D(2026, 1, 12), D(2026, 1, 26)]
    one = progress_chart(title="t", unit="u", points=visits(), sessions=sessions)
    other = progress_chart(
        title="t", unit="u", points=list(reversed(visits())), sessions=sorted(sessions)
    )
    assert one == other


def test_each_point_has_a_tooltip_with_its_change_from_baseline() -> None:
    root = parse(progress_chart(title="t", unit="hairs/cm²", points=visits()))
    assert [tooltip(dot) for dot in having(root, "point")] == [
        "2026-01-12: 142 hairs/cm² (Baseline)",
        "2026-02-09: 139 hairs/cm² (change from baseline: -3)",
        "2026-03-02, Month 2: 148.5 hairs/cm² (change from baseline: +6.5)",
        "2026-04-20: 151.2 hairs/cm² (change from baseline: +9.25)",
    ]


def test_the_baseline_is_ringed_labelled_and_drawn_across_the_plot() -> None:
    root = parse(progress_chart(title="t", unit="u", points=visits(), baseline_label="Início"))
    (baseline_dot,) = having(root, "baseline", "circle")
    x, y = centre(baseline_dot)
    (line,) = having(root, "baseline-line", "line")
    assert num(line, "y1") == num(line, "y2") == y
    assert line.get("stroke-dasharray")
    left, _top, right, _bottom = plot_area(root)
    assert (num(line, "x1"), num(line, "x2")) == (left, right)
    (mark,) = having(root, "baseline-mark", "g")
    (ring,) = mark.iter(f"{SVG}circle")
    assert (num(ring, "cx"), num(ring, "cy")) == (x, y)
    assert num(ring, "r") > num(baseline_dot, "r")
    assert texts(root, "baseline-label") == ["Início"]
    assert "Início" in all_text(having(root, "legend", "g")[0])


def test_the_earliest_marked_point_is_the_baseline() -> None:
    points = [
        ProgressPoint(D(2026, 5, 1), 10.0, is_baseline=True),
        ProgressPoint(D(2026, 4, 1), 8.0, is_baseline=True),
        ProgressPoint(D(2026, 6, 1), 12.0),
    ]
    root = parse(progress_chart(title="t", unit="", points=points))
    (baseline_dot,) = having(root, "baseline", "circle")
    assert tooltip(baseline_dot) == "2026-04-01: 8 (Baseline)"
    assert tooltip(having(root, "point")[2]) == "2026-06-01: 12 (change from baseline: +4)"


def test_without_a_baseline_there_is_no_reference_line() -> None:
    points = [ProgressPoint(D(2026, 4, 1), 8.0), ProgressPoint(D(2026, 6, 1), 12.0)]
    root = parse(progress_chart(title="t", unit="mm", points=points))
    assert not having(root, "baseline-line") and not having(root, "baseline-mark")
    assert tooltip(having(root, "point")[1]) == "2026-06-01: 12 mm"


def test_each_session_is_a_marker_on_the_shared_time_axis() -> None:
    sessions = [D(2026, 1, 12), D(2026, 1, 26), D(2026, 1, 26), D(2026, 9, 1)]
    root = parse(progress_chart(title="t", unit="u", points=visits(), sessions=sessions))
    markers = having(root, "session", "path")
    assert len(markers) == len(sessions)
    assert [tooltip(m) for m in markers] == [
        "Session: 2026-01-12",
        "Session: 2026-01-26",
        "Session: 2026-01-26",
        "Session: 2026-09-01",
    ]
    # The first session is the baseline's day: the same x. The last is after every point,
    # yet inside the plot: the axis covers the sessions too.
    (baseline_dot,) = having(root, "baseline", "circle")
    first_x = float((markers[0].get("d") or "").split(",")[0][1:])
    assert first_x == centre(baseline_dot)[0]
    _left, _top, right, _bottom = plot_area(root)
    last_x = float((markers[-1].get("d") or "").split(",")[0][1:])
    assert max(centre(dot)[0] for dot in having(root, "point")) < last_x <= right
    assert "Session" in all_text(having(root, "legend", "g")[0])


def test_no_sessions_no_session_markers_or_legend_entry() -> None:
    root = parse(progress_chart(title="t", unit="u", points=visits(), session_label="Séance"))
    assert not having(root, "session")
    assert "Séance" not in all_text(root)


def test_a_single_point_is_drawn_in_the_middle_of_a_real_axis() -> None:
    points = [ProgressPoint(D(2026, 3, 12), 120.0, is_baseline=True)]
    root = parse(progress_chart(title="t", unit="u", points=points))
    (dot,) = having(root, "point")
    left, top, right, bottom = plot_area(root)
    x, y = centre(dot)
    assert x == pytest.approx((left + right) / 2, abs=0.2)
    assert y == pytest.approx((top + bottom) / 2, abs=0.2)
    assert not having(root, "progress-line")
    ticks = texts(root, "y-tick")
    assert len(set(ticks)) == len(ticks) >= 3
    assert texts(root, "x-tick")  # a few days either side


def test_equal_values_get_a_span_and_zero_gets_minus_one_to_one() -> None:
    equal = [ProgressPoint(D(2026, 3, d), 0.07) for d in (1, 15, 29)]
    root = parse(progress_chart(title="t", unit="mm", points=equal))
    ys = {centre(dot)[1] for dot in having(root, "point")}
    _left, top, _right, bottom = plot_area(root)
    assert len(ys) == 1
    assert ys.pop() == pytest.approx((top + bottom) / 2, abs=0.2)
    ticks = [float(t) for t in texts(root, "y-tick")]
    assert ticks[0] < 0.07 < ticks[-1]

    zeros = [ProgressPoint(D(2026, 3, d), 0.0) for d in (1, 15)]
    root = parse(progress_chart(title="t", unit="score", points=zeros))
    assert texts(root, "y-tick") == ["-1.0", "-0.5", "0.0", "0.5", "1.0"]


def test_negative_scores_and_decimals() -> None:
    points = [
        ProgressPoint(D(2026, 3, 1), 0, is_baseline=True),
        ProgressPoint(D(2026, 3, 15), -2.5),
        ProgressPoint(D(2026, 3, 29), 1.75),
    ]
    root = parse(progress_chart(title="t", unit="score", points=points))
    ticks = [float(t) for t in texts(root, "y-tick")]
    assert ticks[0] <= -2.5 and ticks[-1] >= 1.75
    assert "-0" not in texts(root, "y-tick")
    lower, higher = having(root, "point")[1:]
    assert centre(lower)[1] > centre(higher)[1]  # lower values lower down
    assert tooltip(lower) == "2026-03-15: -2.5 score (change from baseline: -2.5)"
    assert tooltip(higher) == "2026-03-29: 1.75 score (change from baseline: +1.75)"


def test_two_points_on_the_same_day_are_both_drawn() -> None:
    points = [
        ProgressPoint(D(2026, 3, 1), 10.0, is_baseline=True),
        ProgressPoint(D(2026, 3, 29), 11.0),
        ProgressPoint(D(2026, 3, 29), 13.0),
    ]
    root = parse(progress_chart(title="t", unit="u", points=points))
    _, first, second = having(root, "point")
    assert centre(first)[0] == centre(second)[0]
    assert centre(first)[1] != centre(second)[1]


def test_the_unit_labels_the_y_axis() -> None:
    root = parse(progress_chart(title="t", unit="hairs/cm²", points=visits()))
    assert texts(root, "y-label") == ["hairs/cm²"]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (D(2026, 3, 10), D(2026, 3, 14), "2026-03-10 2026-03-11 2026-03-12 2026-03-13 2026-03-14"),
        (D(2026, 3, 1), D(2026, 3, 31), "2026-03-02 2026-03-09 2026-03-16 2026-03-23 2026-03-30"),
        (D(2026, 1, 5), D(2026, 7, 20), "2026-02 2026-03 2026-04 2026-05 2026-06 2026-07"),
        (D(2020, 6, 1), D(2026, 7, 20), "2021 2022 2023 2024 2025 2026"),
    ],
)
def test_date_ticks_are_round_days_mondays_months_or_years(
    first: dt.date, last: dt.date, expected: str
) -> None:
    ticks, kind = charts._date_ticks(first.toordinal(), last.toordinal())
    assert [charts._date_label(tick, kind) for tick in ticks] == expected.split()


@given(
    st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 1, 1)),
    st.integers(min_value=1, max_value=60_000),
)
def test_date_ticks_are_few_and_inside_the_range(first: dt.date, days: int) -> None:
    start = first.toordinal()
    ticks, kind = charts._date_ticks(start, start + days)
    assert 2 <= len(ticks) <= (7 if kind == "day" else 8)
    assert ticks == sorted(ticks)
    assert all(start <= tick <= start + days for tick in ticks)


def test_progress_without_points_says_so() -> None:
    root = parse(
        progress_chart(
            title="Density", unit="u", points=[], sessions=[D(2026, 1, 1)], empty_message="Nada"
        )
    )
    check_root(root, "Density: Nada")
    assert texts(root, "empty") == ["Nada"]
    assert not having(root, "point") and not having(root, "session")


def test_progress_escapes_every_label() -> None:
    points = [ProgressPoint(D(2026, 3, 1), 1.0, is_baseline=True, label=HOSTILE)]
    svg = progress_chart(
        title=HOSTILE,
        unit=HOSTILE,
        points=[*points, ProgressPoint(D(2026, 4, 1), 2.0, label=HOSTILE)],
        sessions=[D(2026, 3, 8)],
        baseline_label=HOSTILE,
        session_label=HOSTILE,
        measurement_label=HOSTILE,
        change_label=HOSTILE,
    )
    assert "<script>" not in svg
    root = parse(svg)
    assert texts(root, "y-label") == [HOSTILE_SHOWN]
    assert tooltip(having(root, "point")[0]).startswith(f"2026-03-01, {HOSTILE_SHOWN}: 1 ")
    assert tooltip(having(root, "session")[0]) == f"{HOSTILE_SHOWN}: 2026-03-08"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e13])
def test_progress_refuses_values_it_cannot_draw(bad: float) -> None:
    with pytest.raises(ValueError, match="measurement"):
        progress_chart(title="t", unit="u", points=[ProgressPoint(D(2026, 1, 1), bad)])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            ProgressPoint,
            day=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
            value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
            is_baseline=st.booleans(),
            label=st.text(max_size=20),
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.dates(min_value=D(1990, 1, 1), max_value=D(2110, 1, 1)), max_size=8),
    st.text(max_size=30),
)
def test_any_progress_gives_well_formed_svg_with_dots_in_the_plot(
    points: list[ProgressPoint], sessions: list[dt.date], unit: str
) -> None:
    root = parse(progress_chart(title="t", unit=unit, points=points, sessions=sessions))
    area = plot_area(root)
    dots = having(root, "point")
    assert len(dots) == len(points)
    assert all(inside(centre(dot), area) for dot in dots)
    assert len(having(root, "session")) == len(sessions)
    baseline = having(root, "baseline-line")
    if baseline:
        (ring,) = having(root, "baseline", "circle")
        assert num(baseline[0], "y1") == centre(ring)[1]


# -- Mean change at the review points ------------------------------------------------------


def marks(root: ET.Element) -> list[ET.Element]:
    return having(root, "change", "g")


def test_two_series_have_a_legend_with_both_labels_and_differ_in_shape() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_A, PROTOCOL_B]))
    (legend,) = having(root, "legend", "g")
    shown = all_text(legend)
    assert "Protocol A" in shown and "Protocol B" in shown
    a_marks = having(root, "series-0")
    b_marks = having(root, "series-1")
    assert len(a_marks) == 2 and len(b_marks) == 3
    assert {m.tag for m in a_marks} == {f"{SVG}circle"}
    assert {m.tag for m in b_marks} == {f"{SVG}path"}
    assert a_marks[0].get("fill") != b_marks[0].get("fill")


def test_the_series_sit_side_by_side_within_a_review_point() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_A, PROTOCOL_B]))
    a_x = [centre(m)[0] for m in having(root, "series-0")]
    b_x = [centre(m)[0] for m in having(root, "series-1")]
    assert a_x[0] < b_x[0] < a_x[1] < b_x[1] < b_x[2]
    assert texts(root, "category-label") == ["Month 3", "Month 6", "Month 12"]


def test_each_review_point_shows_n_for_each_series() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_A, PROTOCOL_B]))
    assert texts(root, "n") == ["n=12", "n=10", "n=9", "n=7", "n=0", "n=2"]
    assert len(having(root, "n-marker")) == 6  # the series' shape beside its n


def test_the_interval_is_a_vertical_bar_around_the_estimate() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_A]))
    first = marks(root)[0]
    (interval,) = having(first, "interval", "g")
    bar = interval[0]
    x, y = centre(having(first, "estimate")[0])
    assert num(bar, "x1") == num(bar, "x2") == x
    assert num(bar, "y1") < y < num(bar, "y2")  # high above, low below
    assert tooltip(first) == "Protocol A, Month 3: +5.5 u [+2, +9], n=12"


def test_a_row_without_interval_shows_only_the_dot_and_without_estimate_no_data() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_A], no_data_label="s.d."))
    _, month_6, month_12 = marks(root)
    assert having(month_6, "estimate") and not having(month_6, "interval")
    assert tooltip(month_6) == "Protocol A, Month 6: +8 u, n=9"
    assert not having(month_12, "estimate")
    assert texts(month_12, "no-data") == ["s.d."]
    assert tooltip(month_12) == "Protocol A, Month 12: s.d. (n=0)"


def test_a_review_point_missing_from_one_series_is_no_data_there() -> None:
    short = protocol("Short", ("Month 3", 4, 1.0, 0.0, 2.0))
    root = parse(change_chart(title="t", unit="u", series=[short, PROTOCOL_B]))
    assert texts(root, "category-label") == ["Month 3", "Month 6", "Month 12"]
    assert len(texts(root, "no-data")) == 2
    assert texts(root, "n") == ["n=4", "n=10", "n=0", "n=7", "n=0", "n=2"]


def test_the_zero_line_is_solid_and_at_zero() -> None:
    root = parse(change_chart(title="t", unit="u", series=[PROTOCOL_B], zero_label="Sin cambio"))
    (zero,) = having(root, "zero", "g")
    line = zero.find(f"{SVG}line")
    assert line is not None and not line.get("stroke-dasharray")
    ticks = having(root, "y-tick", "text")
    (zero_tick,) = [t for t in ticks if t.text in ("0", "0.0")]
    assert num(line, "y1") == pytest.approx(num(zero_tick, "y") - 4, abs=0.11)
    assert texts(root, "zero-label") == ["Sin cambio"]
    ys = [float(t.text or "nan") for t in ticks]
    assert ys[0] <= -4.0 and ys[-1] >= 6.5


def test_change_escapes_every_label() -> None:
    hostile = protocol(HOSTILE, (HOSTILE, 3, 1.0, 0.0, 2.0), ("b", 0, None, None, None))
    svg = change_chart(
        title=HOSTILE,
        unit=HOSTILE,
        series=[hostile],
        zero_label=HOSTILE,
        interval_label=HOSTILE,
        no_data_label=HOSTILE,
    )
    assert "<script>" not in svg
    root = parse(svg)
    assert texts(root, "y-label") == [HOSTILE_SHOWN]
    assert tooltip(having(root, "category", "g")[0]) == HOSTILE_SHOWN
    assert tooltip(marks(root)[0]).startswith(f"{HOSTILE_SHOWN}, {HOSTILE_SHOWN}: +1 ")


def test_change_without_data_says_so() -> None:
    for series in ([], [ChangeSeries("A", [])]):
        root = parse(change_chart(title="t", unit="u", series=series))
        check_root(root, "t: No data for this cohort")
        assert texts(root, "empty") == ["No data for this cohort"]


def test_change_with_only_missing_estimates_still_draws_the_review_points() -> None:
    series = [protocol("A", ("Month 3", 1, None, None, None))]
    root = parse(change_chart(title="t", unit="u", series=series))
    assert texts(root, "no-data") == ["no data"]
    assert texts(root, "n") == ["n=1"]


@pytest.mark.parametrize(
    "row",
    [
        ChangeRow("m", 3, math.nan, None, None),
        ChangeRow("m", 3, 1.0, -math.inf, 2.0),
        ChangeRow("m", 3, 1.0, 0.0, math.nan),
        ChangeRow("m", 3, None, math.nan, None),
    ],
)
def test_change_refuses_numbers_it_cannot_draw(row: ChangeRow) -> None:
    with pytest.raises(ValueError, match="finite"):
        change_chart(title="t", unit="u", series=[ChangeSeries("A", [row])])


def test_change_refuses_too_many_series_and_repeated_review_points() -> None:
    with pytest.raises(ValueError, match="At most 4"):
        change_chart(title="t", unit="u", series=[PROTOCOL_A] * 5)
    twice = protocol("A", ("Month 3", 1, 1.0, None, None), ("Month 3", 2, 2.0, None, None))
    with pytest.raises(ValueError, match="twice"):
        change_chart(title="t", unit="u", series=[twice])


def test_many_review_points_keep_their_counts_readable() -> None:
    rows = [(f"Week {4 * i}", 1000 + i, 0.1 * i, None, None) for i in range(12)]
    root = parse(change_chart(title="t", unit="u", series=[protocol("A", *rows)] * 2))
    (size,) = {t.get("font-size") for t in having(root, "n", "text")}
    assert 8 <= float(size or "nan") < 11


finite_change = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=10**6),
                st.none() | finite_change,
                st.none() | finite_change,
                st.none() | finite_change,
            ),
            max_size=8,
        ),
        min_size=1,
        max_size=4,
    ),
    st.text(max_size=30),
)
def test_any_change_gives_well_formed_svg_with_marks_in_the_plot(
    raw: list[list[tuple[int, float | None, float | None, float | None]]], label: str
) -> None:
    series = [
        ChangeSeries(f"{label}{s}", [ChangeRow(f"p{i}", *row) for i, row in enumerate(rows)])
        for s, rows in enumerate(raw)
    ]
    root = parse(change_chart(title="t", unit=label, series=series))
    if not any(rows for rows in raw):
        assert texts(root, "empty")
        return
    area = plot_area(root)
    estimates = having(root, "estimate")
    assert len(estimates) == sum(row[1] is not None for rows in raw for row in rows)
    assert all(inside(centre(m), area) for m in estimates)
    for interval in having(root, "interval", "g"):
        for line in interval:
            assert inside((num(line, "x1"), num(line, "y1")), area)
            assert inside((num(line, "x2"), num(line, "y2")), area)


# -- Distribution of the per-patient changes -----------------------------------------------


def dots(group: ET.Element) -> list[ET.Element]:
    return [c for g in having(group, "dots", "g") for c in g.iter(f"{SVG}circle")]


def test_every_value_is_a_dot_in_its_groups_row() -> None:
    groups = [
        DistributionGroup("A", [1.0, 2.0, 3.0, 4.0]),
        DistributionGroup("B", [-2.0, 0.5]),
    ]
    root = parse(distribution_chart(title="t", unit="u", groups=groups))
    a, b = having(root, "group", "g")
    assert len(dots(a)) == 4 and len(dots(b)) == 2
    assert max(num(c, "cy") for c in dots(a)) < min(num(c, "cy") for c in dots(b))
    assert texts(root, "label") == ["A", "B"]
    assert texts(root, "n") == ["n=4", "n=2"]


def test_the_box_spans_the_inclusive_quartiles_and_the_line_is_the_median() -> None:
    values = [0.0, 1.0, 2.0, 4.0, 7.0, 10.0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    root = parse(distribution_chart(title="t", unit="u", groups=[DistributionGroup("A", values)]))
    assert texts(root, "x-tick") == ["0", "2", "4", "6", "8", "10"]
    left, _top, right, _bottom = plot_area(root)

    def x_of(value: float) -> float:
        return left + value / 10 * (right - left)

    (box,) = having(root, "box", "rect")
    assert num(box, "x") == pytest.approx(x_of(q1), abs=0.11)
    assert num(box, "x") + num(box, "width") == pytest.approx(x_of(q3), abs=0.2)
    (line,) = having(root, "median", "line")
    assert num(line, "x1") == num(line, "x2") == pytest.approx(x_of(median), abs=0.11)
    assert sorted(num(c, "cx") for c in dots(root)) == pytest.approx(
        [x_of(v) for v in values], abs=0.11
    )


def test_the_jitter_is_fixed_whatever_the_order_of_the_values() -> None:
    values = [random.Random(7).gauss(0, 5) for _ in range(200)]
    shuffled = list(values)
    random.Random(8).shuffle(shuffled)
    first = distribution_chart(title="t", unit="u", groups=[DistributionGroup("A", values)])
    second = distribution_chart(title="t", unit="u", groups=[DistributionGroup("A", shuffled)])
    assert first == second
    ys = {num(c, "cy") for c in dots(parse(first))}
    assert len(ys) > 50  # spread, not on one line


def test_a_single_value_is_its_own_box_and_median() -> None:
    root = parse(distribution_chart(title="t", unit="u", groups=[DistributionGroup("A", [3.0])]))
    (box,) = having(root, "box", "rect")
    assert num(box, "width") == 0
    assert len(dots(root)) == 1


def test_a_group_without_values_says_no_data() -> None:
    groups = [DistributionGroup("A", [1.0]), DistributionGroup("Empty", [])]
    root = parse(distribution_chart(title="t", unit="u", groups=groups, no_data_label="vide"))
    _, empty = having(root, "group", "g")
    assert texts(empty, "no-data") == ["vide"]
    assert texts(empty, "n") == ["n=0"]
    assert not dots(empty) and not having(empty, "box")


def test_zero_and_the_threshold_are_lines_across_the_rows() -> None:
    groups = [DistributionGroup("A", [2.0, 6.0, 9.0])]
    root = parse(
        distribution_chart(
            title="t", unit="u", groups=groups, threshold=5.0, threshold_label="Répondeur"
        )
    )
    (zero,) = having(root, "zero", "line")
    assert not zero.get("stroke-dasharray")
    (threshold,) = having(root, "threshold", "g")
    line = threshold.find(f"{SVG}line")
    assert line is not None and line.get("stroke-dasharray")
    assert num(zero, "x1") < num(line, "x1")
    assert "Répondeur +5" in all_text(threshold)
    assert "Répondeur" in all_text(having(root, "legend", "g")[0])

    root = parse(distribution_chart(title="t", unit="u", groups=groups))
    assert not having(root, "threshold")


def test_negative_values_widen_the_axis_past_zero() -> None:
    groups = [DistributionGroup("A", [5.0, 8.0])]
    root = parse(distribution_chart(title="t", unit="u", groups=groups, threshold=-3.0))
    ticks = [float(t) for t in texts(root, "x-tick")]
    assert ticks[0] <= -3.0 and ticks[-1] >= 8.0


def test_ten_thousand_values_stay_small_as_a_density_band() -> None:
    rng = random.Random(1)
    values = [rng.gauss(5, 6) for _ in range(10_000)]
    svg = distribution_chart(title="t", unit="u", groups=[DistributionGroup("All", values)])
    assert len(svg.encode()) < 200_000
    root = parse(svg)
    assert not dots(root)
    (band,) = having(root, "density", "path")
    assert texts(root, "n") == ["n=10000"]
    left, top, right, bottom = plot_area(root)
    path = band.get("d") or ""
    xs = [float(x) for x in re.findall(r"[MH](-?[\d.]+)", path)]
    ys = [float(y) for y in re.findall(r"(?:V|,)(-?[\d.]+)", path)]
    assert xs and ys
    assert all(left <= x <= right for x in xs) and all(top <= y <= bottom for y in ys)


@pytest.mark.parametrize("groups", [1, 2, 3, 10, 80, 100])
def test_the_dot_rule_keeps_the_chart_under_200_kb(groups: int) -> None:
    limit = dot_limit(groups)
    rng = random.Random(groups)
    data = [
        DistributionGroup(f"G{g}", [rng.uniform(-99.99, 99.99) for _ in range(limit)])
        for g in range(groups)
    ]
    svg = distribution_chart(title="t", unit="u", groups=data, threshold=10)
    assert len(svg.encode()) < 200_000
    assert len(dots(parse(svg))) == groups * limit  # at the limit: still every dot

    data[0] = DistributionGroup("G0", [*data[0].values, 1.0])
    root = parse(distribution_chart(title="t", unit="u", groups=data))
    first = having(root, "group", "g")[0]
    assert not dots(first) and having(first, "density", "path")


def test_dot_limit() -> None:
    limits = [dot_limit(n) for n in (0, 1, 2, 3, 10, 80, 1000)]
    assert limits == [2000, 2000, 1500, 1000, 300, 37, 30]


def test_distribution_escapes_every_label() -> None:
    svg = distribution_chart(
        title=HOSTILE,
        unit=HOSTILE,
        groups=[DistributionGroup(HOSTILE, [1.0]), DistributionGroup("e", [])],
        threshold=1.0,
        threshold_label=HOSTILE,
        quartiles_label=HOSTILE,
        median_label=HOSTILE,
        no_data_label=HOSTILE,
    )
    assert "<script>" not in svg
    root = parse(svg)
    assert texts(root, "x-label") == [HOSTILE_SHOWN]
    assert tooltip(having(root, "group", "g")[0]).startswith(f"{HOSTILE_SHOWN}: n=1")


def test_distribution_without_groups_says_so() -> None:
    root = parse(distribution_chart(title="t", unit="u", groups=[], empty_message="Rien"))
    check_root(root, "t: Rien")
    assert texts(root, "empty") == ["Rien"]


def test_distribution_refuses_numbers_it_cannot_draw() -> None:
    with pytest.raises(ValueError, match="finite"):
        distribution_chart(title="t", unit="u", groups=[DistributionGroup("A", [1.0, math.nan])])
    with pytest.raises(ValueError, match="finite"):
        distribution_chart(
            title="t", unit="u", groups=[DistributionGroup("A", [1.0])], threshold=math.inf
        )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(min_value=-1e5, max_value=1e5, allow_nan=False), max_size=40),
        min_size=1,
        max_size=5,
    ),
    st.none() | st.floats(min_value=-1e5, max_value=1e5, allow_nan=False),
    st.text(max_size=30),
)
def test_any_distribution_gives_well_formed_svg_with_dots_in_the_plot(
    values: list[list[float]], threshold: float | None, label: str
) -> None:
    groups = [DistributionGroup(f"{label}{i}", v) for i, v in enumerate(values)]
    root = parse(distribution_chart(title=label, unit=label, groups=groups, threshold=threshold))
    area = plot_area(root)
    circles = dots(root)
    assert len(circles) == sum(len(v) for v in values)
    assert all(inside((num(c, "cx"), num(c, "cy")), area) for c in circles)
    for box in having(root, "box", "rect"):
        assert inside((num(box, "x"), num(box, "y")), area)


# -- The shared ticks, over ranges that do not start at zero ------------------------------------


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected"),
    [
        (-3.0, 3.0, [-4, -2, 0, 2, 4]),
        (1.8, 2.2, [1.8, 1.9, 2.0, 2.1, 2.2]),
        (139.0, 151.25, [135, 140, 145, 150, 155]),
        (-2.5, -0.5, [-2.5, -2.0, -1.5, -1.0, -0.5]),
    ],
)
def test_nice_ticks_over_a_range(minimum: float, maximum: float, expected: list[float]) -> None:
    ticks, _decimals = nice_ticks(maximum, minimum=minimum)
    assert ticks == pytest.approx(expected)


@given(
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(min_value=1e-3, max_value=1e6),
)
def test_nice_ticks_cover_any_range_in_three_to_six_round_steps(low: float, span: float) -> None:
    ticks, decimals = nice_ticks(low + span, minimum=low)
    assert 3 <= len(ticks) <= 6
    slack = 1e-8 * max(abs(low), abs(low + span), span)
    assert ticks[0] <= low + slack and ticks[-1] >= low + span - slack
    assert all(str(tick) != "-0.0" for tick in ticks)
    labels = [f"{tick:.{decimals}f}" for tick in ticks]
    assert len(set(labels)) == len(labels)


def test_a_scores_whole_scale_is_on_the_axis_even_for_one_answer():
    svg = charts.progress_chart(
        title="Self-assessment",
        unit="",
        points=[charts.ProgressPoint(day=dt.date(2026, 7, 6), value=1)],
        y_range=(-3, 3),
    )
    ET.fromstring(svg)
    labels = {t.strip() for t in re.findall(r">([^<>]+)</text>", svg)}
    assert {"-3", "3"} <= labels or {"-4", "4"} <= labels


def test_an_axis_range_must_be_finite():
    with pytest.raises(ValueError):
        charts.progress_chart(
            title="t",
            unit="",
            points=[charts.ProgressPoint(day=dt.date(2026, 1, 1), value=1)],
            y_range=(float("nan"), 3),
        )
