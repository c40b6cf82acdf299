"""A forest plot of side-effect rates, drawn as server-side SVG (pure: strings in, a string out).

One row per lot, product or clinic: its label on the left, a dot for the rate per 100
sessions and a horizontal line for its confidence interval, the counts ("3 / 120") on the
right. A dashed vertical line marks a reference rate (the clinic's, say). The x axis starts at
0 and has 4 to 6 round ticks.

The result is one standalone ``<svg>`` element (namespace, ``viewBox``, ``width="100%"``), so a
template can inline it with ``|safe`` and it scales with its container. Every text comes from
the caller and may come from users (a lot number, a product name), so all of it is escaped,
and characters that XML cannot hold at all are dropped; the SVG is always well-formed.

Accessibility: the SVG is ``role="img"`` with an ``aria-label`` and a ``<title>``; each row
keeps its full label and its numbers in a ``<title>`` (a tooltip when the label is cut short);
highlighted rows are marked by colour and also by a bold label and a "▲ above" marker, so
the mark does not depend on seeing colour.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["ForestRow", "forest_plot"]


@dataclass(frozen=True)
class ForestRow:
    """One row of the plot. ``estimate_per_100`` is ``None`` when there is no data."""

    label: str
    events: int
    sessions: int
    estimate_per_100: float | None  # None = no data
    low_per_100: float | None
    high_per_100: float | None
    highlight: bool = False  # e.g. a lot clearly above its product's rate


# A sober palette: dark blue-grey text, blue estimates, red-orange for what needs a look.
TEXT = "#1f2d3d"
MUTED = "#5f6b7a"
GRID = "#e3e8ee"
AXIS = "#9aa5b1"
ESTIMATE = "#2563a6"
HIGHLIGHT = "#c2410c"
REFERENCE = "#5f6b7a"

HIGHLIGHT_MARKER = "▲ above"
NO_DATA = "no data"
EMPTY_MESSAGE = "No data for this period"

# Layout, in viewBox units (a 720-wide box; the SVG itself is as wide as its container).
_WIDTH = 720
_LABEL_X = 8
_PLOT_LEFT = 220
_LABEL_EMS = (_PLOT_LEFT - 12 - _LABEL_X) / 12  # the label column, in ems of the 12px font
_PLOT_RIGHT = 550
_COUNTS_RIGHT = 624  # counts are right-aligned here
_MARKER_X = 634
_TITLE_Y = 20
_TOP = 58  # first row's top edge: below the title and the reference label
_ROW_HEIGHT = 28
_DOT_RADIUS = 4.5
_CAP = 4  # half-height of the interval's end caps

_Scale = Callable[[float], float]  # a rate per 100 -> an x coordinate

# Characters XML 1.0 cannot contain, even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` escaped for XML text or a double- or single-quoted attribute."""
    cleaned = _NOT_XML.sub("", value)
    return (
        cleaned.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


# Characters much narrower or wider than most, for the label-width estimate.
_NARROW = frozenset("fijlrtI.,:;'|!()[] ")
_WIDE = frozenset("mwMW@%—")


def _em(char: str) -> float:
    """A rough width of ``char`` in ems in a sans-serif font (enough to fit a label)."""
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char in _NARROW:
        return 0.32
    if char in _WIDE:
        return 0.95
    if char.isupper():
        return 0.7
    return 0.58


def _shorten(label: str, *, bold: bool) -> str:
    """The label cut to fit the label column, ending in an ellipsis if cut."""
    label = _NOT_XML.sub("", label)
    budget = _LABEL_EMS / (1.1 if bold else 1.0)
    if sum(_em(c) for c in label) <= budget:
        return label
    width = _em("…")
    kept: list[str] = []
    for char in label:
        width += _em(char)
        if width > budget:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def _num(value: float) -> str:
    """A coordinate with one decimal (enough at this size, and keeps the markup small)."""
    return f"{value:.1f}"


def _rate(value: float) -> str:
    """A rate as people read it: per 100 sessions, one decimal."""
    return f"{value:.1f}"


def _finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, floored at 0 (rates are never negative); else None."""
    if value is None or not math.isfinite(value):
        return None
    return max(value, 0.0)


def _nice_ticks(maximum: float) -> tuple[list[float], int]:
    """Round tick values from 0 to at least ``maximum``: 4 to 6 of them, step 1, 2 or 5 x 10^e.

    Returns the ticks and the number of decimals their labels need. A maximum that is not a
    positive finite number is taken as 1.
    """
    if not (math.isfinite(maximum) and maximum > 0):
        maximum = 1.0
    exponent = math.floor(math.log10(maximum / 5))
    # The first step of 1, 2, 5, 10, 20... with at most 5 intervals up to the maximum. The
    # step before it needed more than 5, and steps grow at most 2.5-fold, so this one needs
    # at least 3: always 4 to 6 ticks.
    while True:
        for multiple in (1, 2, 5):
            step = multiple * 10.0**exponent
            intervals = math.ceil(maximum / step - 1e-9)
            if intervals <= 5:
                decimals = max(0, -exponent)
                ticks = [round(i * step, decimals) for i in range(max(intervals, 1) + 1)]
                return ticks, decimals
        exponent += 1


def forest_plot(
    rows: Sequence[ForestRow],
    *,
    title: str,
    reference_per_100: float | None = None,
    reference_label: str = "Clinic rate",
    x_label: str = "Side effects per 100 sessions",
) -> str:
    """The rows as a forest plot: one standalone, well-formed ``<svg>`` element.

    Rows are drawn in the order given; a row whose estimate is ``None`` (or not a finite
    number) shows "no data". Without rows the SVG says "No data for this period". All text is
    escaped; long labels are shortened with an ellipsis, the full label staying in the row's
    ``<title>``. The height grows with the number of rows; the width follows the container.
    """
    if not rows:
        return _empty(title)

    reference = _finite(reference_per_100)
    maximum = 0.0
    for row in rows:
        if _finite(row.estimate_per_100) is None:
            continue  # drawn as "no data": its other numbers do not count
        for value in (row.estimate_per_100, row.low_per_100, row.high_per_100):
            finite = _finite(value)
            if finite is not None:
                maximum = max(maximum, finite)
    if reference is not None:
        maximum = max(maximum, reference)
    ticks, decimals = _nice_ticks(maximum)
    top_value = ticks[-1]

    def x_of(value: float) -> float:
        share = min(max(value / top_value, 0.0), 1.0)
        return _PLOT_LEFT + share * (_PLOT_RIGHT - _PLOT_LEFT)

    axis_y = _TOP + len(rows) * _ROW_HEIGHT + 6
    height = axis_y + 48
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="{_text(title)}" class="forest-plot" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'font-size="12" fill="{TEXT}">',
        f"<title>{_text(title)}</title>",
        f'<text class="chart-title" x="{_LABEL_X}" y="{_TITLE_Y}" font-size="14" '
        f'font-weight="bold">{_text(title)}</text>',
        f'<text x="{_COUNTS_RIGHT}" y="{_TOP - 8}" text-anchor="end" fill="{MUTED}" '
        f'font-size="11">sessions: with / all</text>',
    ]

    # Grid lines and the axis first, so the rows are drawn over them.
    parts.append('<g class="axis">')
    for tick in ticks:
        tick_x = _num(x_of(tick))
        parts.append(
            f'<line x1="{tick_x}" y1="{_TOP}" x2="{tick_x}" y2="{axis_y}" stroke="{GRID}"/>'
            f'<line x1="{tick_x}" y1="{axis_y}" x2="{tick_x}" y2="{axis_y + 5}" stroke="{AXIS}"/>'
            f'<text class="tick" x="{tick_x}" y="{axis_y + 18}" text-anchor="middle" '
            f'fill="{MUTED}">{tick:.{decimals}f}</text>'
        )
    parts.append(
        f'<line x1="{_PLOT_LEFT}" y1="{axis_y}" x2="{_PLOT_RIGHT}" y2="{axis_y}" stroke="{AXIS}"/>'
    )
    parts.append(
        f'<text class="x-label" x="{_num((_PLOT_LEFT + _PLOT_RIGHT) / 2)}" y="{axis_y + 38}" '
        f'text-anchor="middle" fill="{MUTED}">{_text(x_label)}</text>'
    )
    parts.append("</g>")

    if reference is not None:
        x = x_of(reference)
        # Keep the label inside the box when the line is near an edge.
        anchor = "middle"
        if x - _PLOT_LEFT < 60:
            anchor = "start"
        elif _PLOT_RIGHT - x < 60:
            anchor = "end"
        parts.append(
            f'<g class="reference"><title>{_text(reference_label)}: '
            f"{_rate(reference)} per 100 sessions</title>"
            f'<line x1="{_num(x)}" y1="{_TOP - 16}" x2="{_num(x)}" y2="{axis_y}" '
            f'stroke="{REFERENCE}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{_num(x)}" y="{_TOP - 21}" text-anchor="{anchor}" fill="{REFERENCE}">'
            f"{_text(reference_label)} {_rate(reference)}</text></g>"
        )

    for index, row in enumerate(rows):
        parts.append(_row(row, _TOP + index * _ROW_HEIGHT + _ROW_HEIGHT / 2, x_of))

    parts.append("</svg>")
    return "\n".join(parts)


def _row(row: ForestRow, y: float, x_of: _Scale) -> str:
    estimate = _finite(row.estimate_per_100)
    low = _finite(row.low_per_100)
    high = _finite(row.high_per_100)
    colour = HIGHLIGHT if row.highlight else ESTIMATE
    cy = _num(y)
    text_y = _num(y + 4)  # baseline that centres 12px text on the row

    # The row's tooltip and accessible name: the full label, then what the row shows.
    if estimate is None:
        shown = NO_DATA
    elif low is not None and high is not None:
        shown = f"{_rate(estimate)} per 100 sessions (interval {_rate(low)} to {_rate(high)})"
    else:
        shown = f"{_rate(estimate)} per 100 sessions"
    summary = f"{row.label}: {shown}, {row.events} / {row.sessions} sessions"
    if row.highlight:
        summary += ", marked above"

    classes = "forest-row highlight" if row.highlight else "forest-row"
    label_style = f' font-weight="bold" fill="{HIGHLIGHT}"' if row.highlight else ""
    out = [
        f'<g class="{classes}">',
        f"<title>{_text(summary)}</title>",
        f'<text class="label" x="{_LABEL_X}" y="{text_y}"{label_style}>'
        f"{_text(_shorten(row.label, bold=row.highlight))}</text>",
    ]
    if estimate is None:
        out.append(
            f'<text class="no-data" x="{_PLOT_LEFT + 6}" y="{text_y}" fill="{MUTED}" '
            f'font-style="italic">{NO_DATA}</text>'
        )
    else:
        if low is not None and high is not None:
            x1, x2 = _num(x_of(min(low, high))), _num(x_of(max(low, high)))
            out.append(
                f'<g class="interval" stroke="{colour}" stroke-width="2">'
                f'<line x1="{x1}" y1="{cy}" x2="{x2}" y2="{cy}"/>'
                f'<line x1="{x1}" y1="{_num(y - _CAP)}" x2="{x1}" y2="{_num(y + _CAP)}"/>'
                f'<line x1="{x2}" y1="{_num(y - _CAP)}" x2="{x2}" y2="{_num(y + _CAP)}"/>'
                "</g>"
            )
        out.append(
            f'<circle class="estimate" cx="{_num(x_of(estimate))}" cy="{cy}" '
            f'r="{_DOT_RADIUS}" fill="{colour}" stroke="#ffffff" stroke-width="1"/>'
        )
    out.append(
        f'<text class="counts" x="{_COUNTS_RIGHT}" y="{text_y}" text-anchor="end">'
        f"{row.events} / {row.sessions}</text>"
    )
    if row.highlight:
        out.append(
            f'<text class="marker" x="{_MARKER_X}" y="{text_y}" font-weight="bold" '
            f'fill="{HIGHLIGHT}">{HIGHLIGHT_MARKER}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _empty(title: str) -> str:
    height = 96
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-label="{_text(title)}: {EMPTY_MESSAGE}" class="forest-plot" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
            f'font-size="12" fill="{TEXT}">',
            f"<title>{_text(title)}</title>",
            f'<text class="chart-title" x="{_LABEL_X}" y="{_TITLE_Y}" font-size="14" '
            f'font-weight="bold">{_text(title)}</text>',
            f'<text class="empty" x="{_WIDTH / 2:.0f}" y="{height / 2 + 12:.0f}" '
            f'text-anchor="middle" fill="{MUTED}">{EMPTY_MESSAGE}</text>',
            "</svg>",
        ]
    )
