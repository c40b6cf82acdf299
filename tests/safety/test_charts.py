"""The forest plot (safety/charts.py): a well-formed, escaped, accessible SVG. Pure: no database."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.safety.charts import (
    EMPTY_MESSAGE,
    ESTIMATE,
    HIGHLIGHT,
    HIGHLIGHT_MARKER,
    NO_DATA,
    ForestRow,
    _nice_ticks,
    forest_plot,
)

SVG = "{http://www.w3.org/2000/svg}"


def row(label: str = "Lot A1", estimate: float | None = 2.0, **overrides: object) -> ForestRow:
    values: dict[str, object] = {
        "label": label,
        "events": 3,
        "sessions": 150,
        "estimate_per_100": estimate,
        "low_per_100": None if estimate is None else estimate * 0.4,
        "high_per_100": None if estimate is None else estimate * 2.5,
    }
    values.update(overrides)
    return ForestRow(**values)  # type: ignore[arg-type]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def rows_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "forest-row" in g.get("class", "").split()]


def texts(element: ET.Element, css_class: str) -> list[str]:
    return [
        "".join(t.itertext())
        for t in element.iter(f"{SVG}text")
        if css_class in t.get("class", "").split()
    ]


def test_the_svg_is_standalone_and_accessible() -> None:
    root = parse(forest_plot([row(), row("Lot B2", 4.0)], title="Side effects by lot"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Side effects by lot"
    assert root.get("width") == "100%"
    view_box = root.get("viewBox")
    assert view_box is not None and view_box.startswith("0 0 ")
    first = root[0]
    assert first.tag == f"{SVG}title"
    assert first.text == "Side effects by lot"
    assert len(rows_of(root)) == 2


def test_labels_and_titles_are_escaped() -> None:
    label = "<script>alert(\"x\")</script> & 'lot'"
    svg = forest_plot([row(label)], title="<b>Lots</b> & 'more'", x_label='per "100"')
    assert "<script>" not in svg
    assert "<b>" not in svg
    root = parse(svg)
    assert root.get("aria-label") == "<b>Lots</b> & 'more'"
    (g,) = rows_of(root)
    title = g.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert title.text.startswith(label)  # the full label, as the user typed it
    assert texts(root, "x-label") == ['per "100"']
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_characters_xml_cannot_hold_are_dropped() -> None:
    root = parse(forest_plot([row("Lot\x00 7\x1b")], title="Lots\x0b"))
    assert texts(root, "label") == ["Lot 7"]


def test_a_higher_estimate_is_drawn_further_right() -> None:
    root = parse(forest_plot([row("low", 1.0), row("high", 5.0), row("zero", 0.0)], title="t"))
    xs = {}
    for g in rows_of(root):
        (dot,) = g.iter(f"{SVG}circle")
        xs[texts(g, "label")[0]] = float(dot.get("cx", "nan"))
    assert xs["zero"] < xs["low"] < xs["high"]


def test_the_interval_is_drawn_around_the_estimate() -> None:
    root = parse(forest_plot([row("a", 2.0, low_per_100=1.0, high_per_100=6.0)], title="t"))
    (g,) = rows_of(root)
    (dot,) = g.iter(f"{SVG}circle")
    interval = next(e for e in g.iter(f"{SVG}g") if e.get("class") == "interval")
    whisker = interval[0]
    assert float(whisker.get("x1", "nan")) < float(dot.get("cx", "nan"))
    assert float(dot.get("cx", "nan")) < float(whisker.get("x2", "nan"))


def test_rows_without_data_say_so() -> None:
    root = parse(
        forest_plot(
            [row("has data"), row("empty", None, events=0, sessions=0)], title="Side effects"
        )
    )
    with_data, without = rows_of(root)
    assert texts(without, "no-data") == [NO_DATA]
    assert not list(without.iter(f"{SVG}circle"))
    assert texts(without, "counts") == ["0 / 0"]
    assert texts(with_data, "no-data") == []
    assert texts(with_data, "counts") == ["3 / 150"]


def test_a_non_finite_estimate_is_shown_as_no_data() -> None:
    root = parse(forest_plot([row("odd", math.nan)], title="t"))
    (g,) = rows_of(root)
    assert texts(g, "no-data") == [NO_DATA]


def test_highlighted_rows_are_marked_without_relying_on_colour() -> None:
    root = parse(forest_plot([row("plain"), row("flagged", 9.0, highlight=True)], title="t"))
    plain, flagged = rows_of(root)
    assert texts(flagged, "marker") == [HIGHLIGHT_MARKER]
    assert texts(plain, "marker") == []
    flagged_label = next(t for t in flagged.iter(f"{SVG}text") if t.get("class") == "label")
    plain_label = next(t for t in plain.iter(f"{SVG}text") if t.get("class") == "label")
    assert flagged_label.get("font-weight") == "bold"
    assert plain_label.get("font-weight") is None
    (flagged_dot,) = flagged.iter(f"{SVG}circle")
    (plain_dot,) = plain.iter(f"{SVG}circle")
    assert flagged_dot.get("fill") == HIGHLIGHT
    assert plain_dot.get("fill") == ESTIMATE


def test_the_reference_line_is_dashed_and_labelled() -> None:
    root = parse(forest_plot([row()], title="t", reference_per_100=3.2, reference_label="Clinic"))
    reference = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "reference")
    (line,) = reference.iter(f"{SVG}line")
    assert line.get("stroke-dasharray")
    assert line.get("x1") == line.get("x2")
    assert "".join(reference.find(f"{SVG}text").itertext()) == "Clinic 3.2"  # type: ignore[union-attr]


def test_no_reference_line_without_a_reference() -> None:
    root = parse(forest_plot([row()], title="t"))
    assert not [g for g in root.iter(f"{SVG}g") if g.get("class") == "reference"]


def test_the_reference_widens_the_axis_when_it_is_the_largest_value() -> None:
    root = parse(forest_plot([row("a", 1.0)], title="t", reference_per_100=12.0))
    ticks = [float(t) for t in texts(root, "tick")]
    assert ticks[-1] >= 12.0


def test_the_axis_has_round_ticks_from_zero() -> None:
    root = parse(forest_plot([row("a", 2.0, high_per_100=7.3)], title="t"))
    assert texts(root, "tick") == ["0", "2", "4", "6", "8"]


def test_empty_input_says_there_is_no_data() -> None:
    root = parse(forest_plot([], title="Side effects, March"))
    assert root.get("role") == "img"
    assert texts(root, "empty") == [EMPTY_MESSAGE]
    assert rows_of(root) == []


def test_long_labels_are_shortened_but_kept_whole_in_the_title() -> None:
    label = "Hyaluronic acid 1.5 % with vitamins, lot 2024-0001-XYZ"
    root = parse(forest_plot([row(label)], title="t"))
    (g,) = rows_of(root)
    (shown,) = texts(g, "label")
    assert shown.endswith("…")
    assert len(shown) < len(label)
    assert label.startswith(shown[:-1])
    title = g.find(f"{SVG}title")
    assert title is not None and title.text is not None and title.text.startswith(label)


def test_labels_are_cut_by_their_width_not_their_length() -> None:
    root = parse(forest_plot([row("W" * 60), row("i" * 60), row("short")], title="t"))
    wide, narrow, short = (texts(g, "label")[0] for g in rows_of(root))
    assert wide.endswith("…") and narrow.endswith("…")
    assert len(wide) < len(narrow)
    assert short == "short"


def test_the_height_grows_with_the_rows() -> None:
    def height(n: int) -> float:
        view_box = parse(forest_plot([row(f"r{i}") for i in range(n)], title="t")).get("viewBox")
        assert view_box is not None
        return float(view_box.split()[3])

    assert height(1) < height(2) < height(10)


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (5.0, [0, 1, 2, 3, 4, 5]),
        (5.01, [0, 2, 4, 6]),
        (12.0, [0, 5, 10, 15]),
        (26.0, [0, 10, 20, 30]),
        (100.0, [0, 20, 40, 60, 80, 100]),
        (0.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # nothing to show: 0 to 1
    ],
)
def test_nice_ticks(maximum: float, expected: list[float]) -> None:
    ticks, _decimals = _nice_ticks(maximum)
    assert ticks == pytest.approx(expected)


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_nice_ticks_are_four_to_six_round_steps_from_zero_covering_the_maximum(
    maximum: float,
) -> None:
    ticks, decimals = _nice_ticks(maximum)
    assert 4 <= len(ticks) <= 6
    assert ticks[0] == 0
    assert ticks[-1] >= maximum * (1 - 1e-9)
    step = ticks[1]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 5)
    for i, tick in enumerate(ticks):
        assert tick == pytest.approx(i * step)
    # The labels have just the decimals the step needs (0.2 -> one), and lose nothing.
    assert decimals == max(0, -math.floor(math.log10(step) + 1e-9))
    for tick in ticks:
        assert float(f"{tick:.{decimals}f}") == pytest.approx(tick, rel=1e-12, abs=1e-15)


@given(
    st.lists(
        st.builds(
            ForestRow,
            label=st.text(),
            events=st.integers(min_value=0, max_value=10**6),
            sessions=st.integers(min_value=0, max_value=10**6),
            estimate_per_100=st.none() | st.floats(allow_nan=True, allow_infinity=True),
            low_per_100=st.none() | st.floats(min_value=-1, max_value=1e4),
            high_per_100=st.none() | st.floats(min_value=0, max_value=1e4),
            highlight=st.booleans(),
        ),
        max_size=8,
    ),
    st.text(),
    st.none() | st.floats(),
)
def test_any_input_gives_well_formed_svg(
    rows: list[ForestRow], title: str, reference: float | None
) -> None:
    root = parse(forest_plot(rows, title=title, reference_per_100=reference))
    assert root.tag == f"{SVG}svg"
    assert len(rows_of(root)) == len(rows)
    for g in rows_of(root):
        for dot in g.iter(f"{SVG}circle"):
            assert 0 <= float(dot.get("cx", "nan")) <= 720
