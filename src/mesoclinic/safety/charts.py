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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mesoclinic.core.svg import (
    AXIS,
    GRID,
    MUTED,
    coord,
    escape,
    nice_ticks,
    shorten,
    svg_start,
)

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


# The shared sober palette (core/svg.py), with blue estimates and red-orange for what needs
# a look.
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


def _shorten(label: str, *, bold: bool) -> str:
    """The label cut to fit the label column, ending in an ellipsis if cut."""
    return shorten(label, _LABEL_EMS / (1.1 if bold else 1.0))


def _rate(value: float) -> str:
    """A rate as people read it: per 100 sessions, one decimal."""
    return f"{value:.1f}"


def _finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, floored at 0 (rates are never negative); else None."""
    if value is None or not math.isfinite(value):
        return None
    return max(value, 0.0)


# The name the ticks had here before they moved to core/svg.py (the tests use it).
_nice_ticks = nice_ticks


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
    ticks, decimals = nice_ticks(maximum)
    top_value = ticks[-1]

    def x_of(value: float) -> float:
        share = min(max(value / top_value, 0.0), 1.0)
        return _PLOT_LEFT + share * (_PLOT_RIGHT - _PLOT_LEFT)

    axis_y = _TOP + len(rows) * _ROW_HEIGHT + 6
    height = axis_y + 48
    parts = [
        svg_start(width=_WIDTH, height=height, label=title, css_class="forest-plot"),
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{_LABEL_X}" y="{_TITLE_Y}" font-size="14" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<text x="{_COUNTS_RIGHT}" y="{_TOP - 8}" text-anchor="end" fill="{MUTED}" '
        f'font-size="11">sessions: with / all</text>',
    ]

    # Grid lines and the axis first, so the rows are drawn over them.
    parts.append('<g class="axis">')
    for tick in ticks:
        tick_x = coord(x_of(tick))
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
        f'<text class="x-label" x="{coord((_PLOT_LEFT + _PLOT_RIGHT) / 2)}" y="{axis_y + 38}" '
        f'text-anchor="middle" fill="{MUTED}">{escape(x_label)}</text>'
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
            f'<g class="reference"><title>{escape(reference_label)}: '
            f"{_rate(reference)} per 100 sessions</title>"
            f'<line x1="{coord(x)}" y1="{_TOP - 16}" x2="{coord(x)}" y2="{axis_y}" '
            f'stroke="{REFERENCE}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{coord(x)}" y="{_TOP - 21}" text-anchor="{anchor}" fill="{REFERENCE}">'
            f"{escape(reference_label)} {_rate(reference)}</text></g>"
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
    cy = coord(y)
    text_y = coord(y + 4)  # baseline that centres 12px text on the row

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
        f"<title>{escape(summary)}</title>",
        f'<text class="label" x="{_LABEL_X}" y="{text_y}"{label_style}>'
        f"{escape(_shorten(row.label, bold=row.highlight))}</text>",
    ]
    if estimate is None:
        out.append(
            f'<text class="no-data" x="{_PLOT_LEFT + 6}" y="{text_y}" fill="{MUTED}" '
            f'font-style="italic">{NO_DATA}</text>'
        )
    else:
        if low is not None and high is not None:
            x1, x2 = coord(x_of(min(low, high))), coord(x_of(max(low, high)))
            out.append(
                f'<g class="interval" stroke="{colour}" stroke-width="2">'
                f'<line x1="{x1}" y1="{cy}" x2="{x2}" y2="{cy}"/>'
                f'<line x1="{x1}" y1="{coord(y - _CAP)}" x2="{x1}" y2="{coord(y + _CAP)}"/>'
                f'<line x1="{x2}" y1="{coord(y - _CAP)}" x2="{x2}" y2="{coord(y + _CAP)}"/>'
                "</g>"
            )
        out.append(
            f'<circle class="estimate" cx="{coord(x_of(estimate))}" cy="{cy}" '
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
            svg_start(
                width=_WIDTH,
                height=height,
                label=f"{title}: {EMPTY_MESSAGE}",
                css_class="forest-plot",
            ),
            f"<title>{escape(title)}</title>",
            f'<text class="chart-title" x="{_LABEL_X}" y="{_TITLE_Y}" font-size="14" '
            f'font-weight="bold">{escape(title)}</text>',
            f'<text class="empty" x="{_WIDTH / 2:.0f}" y="{height / 2 + 12:.0f}" '
            f'text-anchor="middle" fill="{MUTED}">{EMPTY_MESSAGE}</text>',
            "</svg>",
        ]
    )
