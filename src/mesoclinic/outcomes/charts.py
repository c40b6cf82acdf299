"""Charts of measured outcomes, drawn as server-side SVG (pure: values in, a string out).

- :func:`progress_chart`: one measure of one patient over time, with the baseline as a
  dashed reference line and the treatment sessions marked along the time axis.
- :func:`change_chart`: the mean change from baseline at each review point with its
  confidence interval, for one protocol or two side by side.
- :func:`distribution_chart`: the per-patient changes at one review point, one row per
  group: every patient as a dot, a box for the middle half and a line for the median.

What every chart guarantees (the same as ``safety/charts.py``):

- The result is one standalone ``<svg>`` element: namespace, a ``viewBox`` with a fixed
  height (so the aspect ratio is fixed) and ``width="100%"``, so a page can inline it with
  ``|safe`` and a PDF can embed it as ``<img src="data:image/svg+xml;base64,...">``. Only
  basic SVG 1.1 is used (no CSS, no ``foreignObject``), which WeasyPrint draws.
- It is always well-formed: every text is escaped and characters XML cannot hold are
  dropped (``core/svg.py``). It is ``role="img"`` with an ``aria-label`` and a ``<title>``.
- No data gives a short message in place of a broken chart.
- Nothing is told by colour alone: the baseline is a ring with a label, sessions are
  triangles, a second series has another marker shape, lines differ by dash.
- Every visible word comes from the caller, already translated; the English defaults are
  for tests and the shell. Dates are written as ISO 8601 ("2026-03-12", or "2026-03" for a
  month tick), which reads the same in every language.
- Numbers must be finite: NaN or an infinity raises ``ValueError``, and so does a magnitude
  over 1e12 (no clinical measure comes near; it means a bug upstream).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mesoclinic.core.svg import (
    AXIS,
    GRID,
    MUTED,
    TEXT,
    coord,
    escape,
    nice_ticks,
    shorten,
    strip_invalid,
    svg_start,
    text_ems,
)

__all__ = [
    "ChangeRow",
    "ChangeSeries",
    "DistributionGroup",
    "ProgressPoint",
    "change_chart",
    "distribution_chart",
    "progress_chart",
]


@dataclass(frozen=True)
class ProgressPoint:
    """One measurement of the measure: its day, its value and whether it is the baseline."""

    day: dt.date
    value: float
    is_baseline: bool = False
    label: str = ""  # e.g. "Month 3 review": added to the point's tooltip


@dataclass(frozen=True)
class ChangeRow:
    """The change at one review point. ``estimate`` is ``None`` when there is no data."""

    label: str  # the review point, e.g. "Month 3"
    n: int
    estimate: float | None
    low: float | None  # the interval; ``None`` when there is none (e.g. n = 1)
    high: float | None


@dataclass(frozen=True)
class ChangeSeries:
    """One protocol (or cohort): its label for the legend and one row per review point."""

    label: str
    rows: Sequence[ChangeRow]


@dataclass(frozen=True)
class DistributionGroup:
    """One row of the distribution chart: a group's per-patient changes."""

    label: str
    values: Sequence[float]


# The shared palette (core/svg.py) plus the series colours: blue and amber stay apart for
# the common colour-vision deficiencies; shapes and dashes tell them apart anyway.
SERIES_COLOURS = ("#2563a6", "#b45309", "#0f766e", "#7c3aed")
SERIES_SHAPES = ("circle", "square", "diamond", "triangle")
POINT = SERIES_COLOURS[0]
SESSION = "#0f766e"
REFERENCE = MUTED
ZERO = "#4b5563"
BOX_FILL = "#dbe7f5"
DENSITY = "#a3bddf"  # the dots' blue at about half strength, opaque

NO_DATA = "no data"
MAX_MAGNITUDE = 1e12

# Layout, in viewBox units: a 720-wide box (the SVG itself is as wide as its container).
_WIDTH = 720
_MARGIN = 8
_TITLE_Y = 20
_LEGEND_Y = 42
_TICK_FONT = 11  # tick labels are a little smaller than the 12px text


# -- Shared pieces --------------------------------------------------------------------------


def _check(value: float, what: str) -> float:
    """``value`` as a float if it is a finite number of a drawable size; else ValueError."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if abs(number) > MAX_MAGNITUDE:
        raise ValueError(f"{what} is too large to draw: {value!r}")
    return number


def _number(value: float) -> str:
    """A value as people read it: 4 significant digits, whole numbers from 1000 up."""
    text = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def _signed(value: float) -> str:
    """A change: "+3.5", "-2", "0"."""
    text = _number(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _with_unit(value: str, unit: str) -> str:
    return f"{value} {unit}" if unit else value


def _span(low: float, high: float) -> tuple[float, float]:
    """``low`` and ``high`` pulled apart when they are (nearly) equal, so an axis has a span.

    Equal values get 10 % of their size either side (at least 1e-6); zero gets -1 to 1.
    """
    if high - low > 1e-9 * max(1.0, abs(low), abs(high)):
        return low, high
    middle = (low + high) / 2
    pad = abs(middle) * 0.1 if middle else 1.0
    pad = max(pad, 1e-6)
    return middle - pad, middle + pad


def _tick(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _header(*, title: str, label: str, css_class: str, height: int) -> list[str]:
    """The opening tag, the ``<title>`` and the visible title of a chart."""
    return [
        svg_start(width=_WIDTH, height=height, label=label, css_class=css_class),
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{_MARGIN}" y="{_TITLE_Y}" font-size="14" '
        f'font-weight="bold">{escape(shorten(title, (_WIDTH - 2 * _MARGIN) / 14 / 1.1))}</text>',
    ]


def _empty(*, title: str, message: str, css_class: str) -> str:
    height = 96
    parts = _header(title=title, label=f"{title}: {message}", css_class=css_class, height=height)
    parts.append(
        f'<text class="empty" x="{_WIDTH // 2}" y="{height // 2 + 12}" text-anchor="middle" '
        f'fill="{MUTED}">{escape(shorten(message, (_WIDTH - 2 * _MARGIN) / 12))}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


_Symbol = Callable[[float, float], str]  # the legend symbol, centred on (x, y)


def _legend(items: Sequence[tuple[_Symbol, str]], *, y: float) -> str:
    """A one-line legend: for each item its symbol (16 wide) and its label, left to right.

    Labels are cut (with an ellipsis; the full label is the item's tooltip) only when they do
    not all fit, and then the longest first: short labels keep their width.
    """
    if not items:
        return ""
    room = (_WIDTH - 2 * _MARGIN - 39 * len(items)) / 12  # ems for all the labels
    widths = sorted(text_ems(strip_invalid(label)) for _symbol, label in items)
    budget = room
    for index, width in enumerate(widths):  # share what the shorter labels leave
        share = room / (len(widths) - index)
        if width > share:
            budget = share
            break
        room -= width
    out = ['<g class="legend">']
    x = float(_MARGIN)
    for symbol, label in items:
        shown = shorten(label, budget)
        out.append(
            f'<g class="legend-item"><title>{escape(label)}</title>{symbol(x + 8, y - 4)}'
            f'<text x="{coord(x + 21)}" y="{coord(y)}">{escape(shown)}</text></g>'
        )
        x += 21 + text_ems(shown) * 12 + 18
    out.append("</g>")
    return "".join(out)


def _marker(
    shape: str, x: float, y: float, *, size: float, colour: str, css_class: str, title: str = ""
) -> str:
    """A marker of ``shape`` centred on (x, y), ``size`` across, with an optional tooltip."""
    inner = f"<title>{escape(title)}</title>" if title else ""
    common = f'class="{css_class}" fill="{colour}" stroke="#ffffff" stroke-width="1"'
    half = size / 2
    if shape == "circle":
        element = f'<circle {common} cx="{coord(x)}" cy="{coord(y)}" r="{coord(half)}"'
        return f"{element}>{inner}</circle>" if inner else f"{element}/>"
    if shape == "square":
        half *= 0.9  # a square looks bigger than a circle of the same width
        d = (
            f"M{coord(x - half)},{coord(y - half)}H{coord(x + half)}"
            f"V{coord(y + half)}H{coord(x - half)}Z"
        )
    elif shape == "diamond":
        half *= 1.2
        d = (
            f"M{coord(x)},{coord(y - half)}L{coord(x + half)},{coord(y)}"
            f"L{coord(x)},{coord(y + half)}L{coord(x - half)},{coord(y)}Z"
        )
    else:  # a triangle pointing down (up is the session marker)
        half *= 1.15
        d = (
            f"M{coord(x - half)},{coord(y - half * 0.8)}H{coord(x + half)}"
            f"L{coord(x)},{coord(y + half * 0.9)}Z"
        )
    # The centre, for readers of the markup (tests, scripts): a path has no cx / cy.
    centre = f'data-x="{coord(x)}" data-y="{coord(y)}"'
    element = f'<path {common} {centre} d="{d}"'
    return f"{element}>{inner}</path>" if inner else f"{element}/>"


def _y_axis(
    ticks: Sequence[float],
    decimals: int,
    y_of: Callable[[float], float],
    *,
    left: float,
    right: float,
) -> str:
    """Horizontal grid lines and right-aligned labels at the y ticks."""
    out = ['<g class="y-axis">']
    for tick in ticks:
        y = coord(y_of(tick))
        out.append(
            f'<line x1="{coord(left)}" y1="{y}" x2="{coord(right)}" y2="{y}" stroke="{GRID}"/>'
            f'<text class="y-tick" x="{coord(left - 6)}" y="{coord(y_of(tick) + 4)}" '
            f'text-anchor="end" font-size="{_TICK_FONT}" fill="{MUTED}">'
            f"{_tick(tick, decimals)}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _left_edge(ticks: Sequence[float], decimals: int) -> float:
    """The plot's left edge: room for the widest y tick label."""
    widest = max(text_ems(_tick(tick, decimals)) for tick in ticks) * _TICK_FONT
    return max(44.0, _MARGIN + widest + 12)


def _plot_area(left: float, top: float, right: float, bottom: float) -> str:
    """The plot area's frame; tests and scripts read the plot's bounds from it."""
    return (
        f'<rect class="plot-area" x="{coord(left)}" y="{coord(top)}" '
        f'width="{coord(right - left)}" height="{coord(bottom - top)}" fill="none" '
        f'stroke="{GRID}"/>'
    )


def _anchor(x: float, left: float, right: float, half_width: float) -> str:
    """The text-anchor that keeps a label centred on ``x`` inside ``left``..``right``."""
    if x - left < half_width:
        return "start"
    if right - x < half_width:
        return "end"
    return "middle"


# -- Progress of one patient -----------------------------------------------------------------

_P_UNIT_Y = 64
_P_TOP = 76
_P_BOTTOM = 266
_P_RIGHT = _WIDTH - 16
_P_HEIGHT = 304
_DOT = 4.0
_RING = 8.0


def _date_ticks(first: int, last: int) -> tuple[list[int], str]:
    """Round dates (as ordinals) from ``first`` to ``last``, and their label format.

    The finest of: every day, every 2 days, Mondays, every other Monday, the 1st of every
    1, 2, 3 or 6 months, every 1, 2, 5, 10... years, with at most 7 day labels or 8 month or
    year labels ("2026-03-12" is wider than "2026-03"). Formats: "day", "month", "year".
    """
    span = last - first
    candidates: list[tuple[str, int, float]] = [
        ("day", 1, 1),
        ("day", 2, 2),
        ("week", 1, 7),
        ("week", 2, 14),
        ("month", 1, 30.4),
        ("month", 2, 61),
        ("month", 3, 91),
        ("month", 6, 183),
    ]
    years = 1
    while years <= 10_000:
        for multiple in (1, 2, 5):
            candidates.append(("year", years * multiple, 365.25 * years * multiple))
        years *= 10
    for kind, step, days in candidates:
        most = 7 if kind in ("day", "week") else 8
        if span / days > most + 2:
            continue  # clearly too many: skip before listing them
        ticks = _ticks_of(kind, step, first, last)
        if len(ticks) <= most:
            return ticks, "day" if kind in ("day", "week") else kind
    return [first, last], "day"  # not reached: date spans are under 10,000 years


def _ticks_of(kind: str, step: int, first: int, last: int) -> list[int]:
    if kind == "day":
        start = -(-first // step) * step
        return list(range(start, last + 1, step))
    if kind == "week":
        # Ordinal 1 (0001-01-01) is a Monday; every other Monday counts from it.
        start = first + (1 - first) % 7
        if step == 2 and ((start - 1) // 7) % 2:
            start += 7
        return list(range(start, last + 1, 7 * step))
    low, high = dt.date.fromordinal(first), dt.date.fromordinal(last)
    if kind == "year":
        start_year = -(-low.year // step) * step
        if dt.date(start_year, 1, 1) < low:  # only when step is 1 and low is after 1 Jan
            start_year += step
        return [dt.date(year, 1, 1).toordinal() for year in range(start_year, high.year + 1, step)]
    ticks = []
    year, month = low.year, low.month
    while True:
        if (month - 1) % step == 0:
            day = dt.date(year, month, 1)
            if day > high:
                break
            if day >= low:
                ticks.append(day.toordinal())
        month += 1
        if month > 12:
            year, month = year + 1, 1
            if year > dt.MAXYEAR:
                break
    return ticks


def _date_label(ordinal: int, kind: str) -> str:
    day = dt.date.fromordinal(ordinal)
    if kind == "year":
        return f"{day.year:04d}"
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def progress_chart(
    *,
    title: str,
    unit: str,
    points: Sequence[ProgressPoint],
    sessions: Sequence[dt.date] = (),
    baseline_label: str = "Baseline",
    session_label: str = "Session",
    measurement_label: str = "Measurement",
    change_label: str = "change from baseline",
    empty_message: str = "No measurements yet",
    y_range: tuple[float, float] | None = None,
) -> str:
    """One measure of one patient over time, as one standalone, well-formed ``<svg>``.

    The points are sorted by day (input order does not matter) and joined by a line; each is
    a dot whose tooltip reads "2026-03-12: 42.5 unit (change from baseline: +3.5)". The
    baseline is the earliest point marked ``is_baseline``: a ring and ``baseline_label`` mark
    it, and a dashed line at its value runs across the plot (no point marked: neither). Each
    session is a triangle on the time axis; points and sessions share the date scale, which
    covers both. The y axis has round ticks and ``unit`` as its label; equal values (or a
    single point) get a span around them; ``y_range`` (a score's whole scale, say -3 to +3)
    is always inside the axis. Without points the SVG shows ``empty_message``.

    Raises ``ValueError`` for a value that is not a finite number.
    """
    for point in points:
        _check(point.value, "A measurement")
    if not points:
        return _empty(title=title, message=empty_message, css_class="progress-chart")

    ordered = sorted(points, key=lambda p: (p.day, not p.is_baseline))
    baseline = next((p for p in ordered if p.is_baseline), None)
    session_days = sorted(sessions)

    # The date scale: every point and session, a little room either side.
    days = [p.day.toordinal() for p in ordered] + [d.toordinal() for d in session_days]
    pad = max(2, math.ceil((max(days) - min(days)) * 0.03))
    first = max(min(days) - pad, dt.date.min.toordinal())
    last = min(max(days) + pad, dt.date.max.toordinal())
    date_ticks, date_kind = _date_ticks(first, last)

    values = [p.value for p in ordered]
    if y_range is not None:
        values += [_check(y_range[0], "The axis range"), _check(y_range[1], "The axis range")]
    low, high = _span(min(values), max(values))
    ticks, decimals = nice_ticks(high, minimum=low)
    left = _left_edge(ticks, decimals)

    def x_of(ordinal: float) -> float:
        return left + (ordinal - first) / (last - first) * (_P_RIGHT - left)

    def y_of(value: float) -> float:
        share = (value - ticks[0]) / (ticks[-1] - ticks[0])
        return _P_BOTTOM - share * (_P_BOTTOM - _P_TOP)

    parts = _header(title=title, label=title, css_class="progress-chart", height=_P_HEIGHT)

    legend: list[tuple[_Symbol, str]] = [
        (
            lambda x, y: (
                f'<line x1="{coord(x - 8)}" y1="{coord(y)}" x2="{coord(x + 8)}" y2="{coord(y)}" '
                f'stroke="{POINT}" stroke-width="2"/>'
                f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{_DOT}" fill="{POINT}"/>'
            ),
            measurement_label,
        )
    ]
    if baseline is not None:
        legend.append(
            (
                lambda x, y: (
                    f'<line x1="{coord(x - 9)}" y1="{coord(y)}" x2="{coord(x + 9)}" '
                    f'y2="{coord(y)}" stroke="{REFERENCE}" stroke-dasharray="3 2"/>'
                    f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{_RING - 2}" fill="none" '
                    f'stroke="{TEXT}" stroke-width="1.5"/>'
                ),
                baseline_label,
            )
        )
    if session_days:
        legend.append((lambda x, y: _triangle(x, y + 4, css_class="symbol"), session_label))
    parts.append(_legend(legend, y=_LEGEND_Y))

    parts.append(
        f'<text class="y-label" x="{_MARGIN}" y="{_P_UNIT_Y}" fill="{MUTED}">'
        f"{escape(shorten(unit, (_WIDTH - 2 * _MARGIN) / 12))}</text>"
    )
    parts.append(_y_axis(ticks, decimals, y_of, left=left, right=_P_RIGHT))

    # Date ticks: a grid line each and a label under the session lane, kept inside the box.
    parts.append('<g class="x-axis">')
    for ordinal in date_ticks:
        x = x_of(ordinal)
        label = _date_label(ordinal, date_kind)
        half = text_ems(label) * _TICK_FONT / 2
        label_x = min(max(x, half + 2), _WIDTH - half - 2)
        parts.append(
            f'<line x1="{coord(x)}" y1="{_P_TOP}" x2="{coord(x)}" y2="{_P_BOTTOM}" '
            f'stroke="{GRID}"/>'
            f'<text class="x-tick" x="{coord(label_x)}" y="{_P_BOTTOM + 32}" '
            f'text-anchor="middle" font-size="{_TICK_FONT}" fill="{MUTED}">{label}</text>'
        )
    parts.append("</g>")
    parts.append(_plot_area(left, _P_TOP, _P_RIGHT, _P_BOTTOM))
    parts.append(
        f'<line class="axis" x1="{coord(left)}" y1="{_P_BOTTOM}" x2="{_P_RIGHT}" '
        f'y2="{_P_BOTTOM}" stroke="{AXIS}"/>'
    )

    if baseline is not None:
        base_y = coord(y_of(baseline.value))
        parts.append(
            f'<line class="baseline-line" x1="{coord(left)}" y1="{base_y}" x2="{_P_RIGHT}" '
            f'y2="{base_y}" stroke="{REFERENCE}" stroke-width="1.5" stroke-dasharray="6 4">'
            f"<title>{escape(baseline_label)}: "
            f"{escape(_with_unit(_number(baseline.value), unit))}</title></line>"
        )

    if session_days:
        parts.append('<g class="sessions">')
        for day in session_days:
            tooltip = f"{session_label}: {day.isoformat()}"
            parts.append(_triangle(x_of(day.toordinal()), _P_BOTTOM + 9, title=tooltip))
        parts.append("</g>")

    if len(ordered) > 1:
        line = " ".join(f"{coord(x_of(p.day.toordinal()))},{coord(y_of(p.value))}" for p in ordered)
        parts.append(
            f'<polyline class="progress-line" points="{line}" fill="none" stroke="{POINT}" '
            f'stroke-width="2" stroke-linejoin="round"/>'
        )

    if baseline is not None:
        x, y = x_of(baseline.day.toordinal()), y_of(baseline.value)
        label_y = y - 13 if y - _P_TOP > 22 else y + 22
        anchor = _anchor(x, left, _P_RIGHT, text_ems(baseline_label) * 6 + 4)
        label_x = {"start": x - 4, "end": x + 4, "middle": x}[anchor]
        parts.append(
            f'<g class="baseline-mark"><circle cx="{coord(x)}" cy="{coord(y)}" r="{_RING}" '
            f'fill="none" stroke="{TEXT}" stroke-width="1.5"/>'
            f'<text class="baseline-label" x="{coord(label_x)}" y="{coord(label_y)}" '
            f'text-anchor="{anchor}" font-weight="bold">'
            f"{escape(shorten(baseline_label, 20))}</text></g>"
        )

    parts.append('<g class="points">')
    for point in ordered:
        is_baseline = point is baseline
        value = _with_unit(_number(point.value), unit)
        if is_baseline:
            note = baseline_label
        elif baseline is not None:
            note = f"{change_label}: {_signed(point.value - baseline.value)}"
        else:
            note = ""
        when = point.day.isoformat()
        tooltip = f"{when}, {point.label}: {value}" if point.label else f"{when}: {value}"
        if note:
            tooltip += f" ({note})"
        parts.append(
            _marker(
                "circle",
                x_of(point.day.toordinal()),
                y_of(point.value),
                size=2 * _DOT,
                colour=POINT,
                css_class="point baseline" if is_baseline else "point",
                title=tooltip,
            )
        )
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _triangle(x: float, y: float, *, title: str = "", css_class: str = "session") -> str:
    """A session marker: a small triangle pointing up, centred on (x, y)."""
    inner = f"<title>{escape(title)}</title>" if title else ""
    d = f"M{coord(x)},{coord(y - 5)}L{coord(x + 5)},{coord(y + 4)}L{coord(x - 5)},{coord(y + 4)}Z"
    element = f'<path class="{css_class}" d="{d}" fill="{SESSION}"'
    return f"{element}>{inner}</path>" if inner else f"{element}/>"


# -- Mean change at the review points ------------------------------------------------------

_C_UNIT_Y = 64
_C_TOP = 76
_C_BOTTOM = 266
_CAP = 4


def change_chart(
    *,
    title: str,
    unit: str,
    series: Sequence[ChangeSeries],
    zero_label: str = "No change",
    interval_label: str = "Confidence interval",
    no_data_label: str = NO_DATA,
    empty_message: str = "No data for this cohort",
) -> str:
    """The mean change from baseline at each review point, as one well-formed ``<svg>``.

    The review points are the x categories, in the order they first appear in the series
    (rows are matched across series by label). Each series (one to four; two protocols
    compared is the usual case) has its own colour and marker shape, offset side by side
    within a category, and a legend entry. An estimate is a marker with its interval as a
    vertical bar; a row without both ends of an interval shows the marker only, and a row
    whose estimate is ``None`` says ``no_data_label``. Under each category, "n=12" for each
    series. A solid line marks zero. Without series or rows the SVG shows ``empty_message``.

    Raises ``ValueError`` for a number that is not finite, for more than four series and for
    a label used twice in one series.
    """
    if len(series) > len(SERIES_SHAPES):
        raise ValueError(f"At most {len(SERIES_SHAPES)} series, not {len(series)}")
    categories: list[str] = []
    lookups: list[dict[str, ChangeRow]] = []
    values = [0.0]
    any_interval = False
    for one in series:
        lookup: dict[str, ChangeRow] = {}
        for row in one.rows:
            if row.label in lookup:
                raise ValueError(f"Review point {row.label!r} twice in one series")
            lookup[row.label] = row
            if row.label not in categories:
                categories.append(row.label)
            for number in (row.estimate, row.low, row.high):
                if number is not None:
                    _check(number, "A change")
            if row.estimate is not None:
                values.append(row.estimate)
                if row.low is not None and row.high is not None:
                    values += [row.low, row.high]
                    any_interval = True
        lookups.append(lookup)
    if not categories:
        return _empty(title=title, message=empty_message, css_class="change-chart")

    low, high = _span(min(values), max(values))
    ticks, decimals = nice_ticks(high, minimum=low)
    left = _left_edge(ticks, decimals)
    zero_width = min(text_ems(zero_label) * _TICK_FONT, 96)
    right = _WIDTH - _MARGIN - zero_width - 8
    band = (right - left) / len(categories)
    # Side by side within 70 % of the category's width, however many series and categories.
    count = len(series)  # at least one: there are categories
    spacing = min(24.0, band * 0.7 / count)
    cap = min(_CAP, band * 0.12)
    height = int(_C_BOTTOM + 22 + 14 * count + 8)

    def y_of(value: float) -> float:
        share = (value - ticks[0]) / (ticks[-1] - ticks[0])
        return _C_BOTTOM - share * (_C_BOTTOM - _C_TOP)

    parts = _header(title=title, label=title, css_class="change-chart", height=height)

    legend: list[tuple[_Symbol, str]] = []
    for index, one in enumerate(series):
        legend.append((_series_symbol(index), one.label))
    if any_interval:
        legend.append(
            (
                lambda x, y: (
                    f'<g stroke="{MUTED}" stroke-width="1.5">'
                    f'<line x1="{coord(x)}" y1="{coord(y - 7)}" x2="{coord(x)}" '
                    f'y2="{coord(y + 7)}"/>'
                    f'<line x1="{coord(x - 3)}" y1="{coord(y - 7)}" x2="{coord(x + 3)}" '
                    f'y2="{coord(y - 7)}"/><line x1="{coord(x - 3)}" y1="{coord(y + 7)}" '
                    f'x2="{coord(x + 3)}" y2="{coord(y + 7)}"/></g>'
                ),
                interval_label,
            )
        )
    parts.append(_legend(legend, y=_LEGEND_Y))
    parts.append(
        f'<text class="y-label" x="{_MARGIN}" y="{_C_UNIT_Y}" fill="{MUTED}">'
        f"{escape(shorten(unit, (_WIDTH - 2 * _MARGIN) / 12))}</text>"
    )
    parts.append(_y_axis(ticks, decimals, y_of, left=left, right=right))
    parts.append(_plot_area(left, _C_TOP, right, _C_BOTTOM))
    zero_y = y_of(0.0)
    parts.append(
        f'<g class="zero"><line x1="{coord(left)}" y1="{coord(zero_y)}" x2="{coord(right)}" '
        f'y2="{coord(zero_y)}" stroke="{ZERO}" stroke-width="1.5"/>'
        f'<text class="zero-label" x="{coord(right + 6)}" y="{coord(zero_y + 4)}" '
        f'font-size="{_TICK_FONT}" fill="{ZERO}">'
        f"{escape(shorten(zero_label, zero_width / _TICK_FONT))}</text></g>"
    )

    label_ems = max(band - 4, 12) / _TICK_FONT
    # The counts shrink (not below 8px) to fit narrow categories, the same size for all.
    marker_room = 13 if count > 1 else 0
    widest = max(text_ems(f"n={row.n}") for lookup in lookups for row in lookup.values())
    n_font = min(float(_TICK_FONT), max(8.0, (band - 6 - marker_room) / widest))
    for c, category in enumerate(categories):
        centre = left + (c + 0.5) * band
        out = [
            f'<g class="category"><title>{escape(category)}</title>'
            f'<text class="category-label" x="{coord(centre)}" y="{_C_BOTTOM + 18}" '
            f'text-anchor="middle" font-size="{_TICK_FONT}">'
            f"{escape(shorten(category, label_ems))}</text>"
        ]
        for index, one in enumerate(series):
            x = centre + (index - (count - 1) / 2) * spacing
            found = lookups[index].get(category)
            out.append(
                _change_mark(
                    found,
                    index,
                    x,
                    y_of,
                    zero_y,
                    series_label=one.label,
                    category=category,
                    unit=unit,
                    no_data_label=no_data_label,
                    count=count,
                    room=band,
                    cap=cap,
                )
            )
            n_text = f"n={found.n if found is not None else 0}"
            n_y = _C_BOTTOM + 34 + 14 * index
            text_x = centre + marker_room / 2
            if count > 1:  # the series' shape before its count
                out.append(
                    _marker(
                        SERIES_SHAPES[index],
                        text_x - text_ems(n_text) * n_font / 2 - 8,
                        n_y - n_font * 0.35,
                        size=7,
                        colour=SERIES_COLOURS[index],
                        css_class="n-marker",
                    )
                )
            out.append(
                f'<text class="n" x="{coord(text_x)}" y="{n_y}" text-anchor="middle" '
                f'font-size="{n_font:.3g}" fill="{MUTED}">{n_text}</text>'
            )
        out.append("</g>")
        parts.append("".join(out))

    parts.append("</svg>")
    return "\n".join(parts)


def _series_symbol(index: int) -> _Symbol:
    def symbol(x: float, y: float) -> str:
        return _marker(
            SERIES_SHAPES[index], x, y, size=9, colour=SERIES_COLOURS[index], css_class="symbol"
        )

    return symbol


def _change_mark(
    row: ChangeRow | None,
    index: int,
    x: float,
    y_of: Callable[[float], float],
    zero_y: float,
    *,
    series_label: str,
    category: str,
    unit: str,
    no_data_label: str,
    count: int,
    room: float,
    cap: float,
) -> str:
    """One series' estimate and interval in one category, or its "no data" note."""
    colour = SERIES_COLOURS[index]
    n = row.n if row is not None else 0
    if row is None or row.estimate is None:
        tooltip = f"{series_label}, {category}: {no_data_label} (n={n})"
        # Upright when it fits, else turned to run up (or down) from the zero line.
        width = text_ems(no_data_label) * _TICK_FONT
        common = f'class="no-data" font-size="{_TICK_FONT}" font-style="italic" fill="{MUTED}"'
        if count == 1 and width + 8 <= room:
            above = zero_y - _C_TOP > 16
            text = (
                f'<text {common} x="{coord(x)}" y="{coord(zero_y - 6 if above else zero_y + 14)}" '
                f'text-anchor="middle">{escape(no_data_label)}</text>'
            )
        else:
            upward = zero_y - _C_TOP > min(width + 10, (_C_BOTTOM - _C_TOP) / 2)
            start = zero_y - 6 if upward else zero_y + 6
            text = (
                f'<text {common} x="{coord(x + 4)}" y="{coord(start)}" '
                f'text-anchor="{"start" if upward else "end"}" '
                f'transform="rotate(-90 {coord(x + 4)} {coord(start)})">'
                f"{escape(shorten(no_data_label, (_C_BOTTOM - _C_TOP) / 2 / _TICK_FONT))}</text>"
            )
        return f'<g class="change no-data-mark"><title>{escape(tooltip)}</title>{text}</g>'

    estimate = row.estimate
    shown = _with_unit(_signed(estimate), unit)
    out = ['<g class="change">']
    if row.low is not None and row.high is not None:
        low, high = min(row.low, row.high), max(row.low, row.high)
        shown += f" [{_signed(low)}, {_signed(high)}]"
        y1, y2 = coord(y_of(high)), coord(y_of(low))
        out.append(
            f'<g class="interval" stroke="{colour}" stroke-width="2">'
            f'<line x1="{coord(x)}" y1="{y1}" x2="{coord(x)}" y2="{y2}"/>'
            f'<line x1="{coord(x - cap)}" y1="{y1}" x2="{coord(x + cap)}" y2="{y1}"/>'
            f'<line x1="{coord(x - cap)}" y1="{y2}" x2="{coord(x + cap)}" y2="{y2}"/>'
            "</g>"
        )
    tooltip = f"{series_label}, {category}: {shown}, n={n}"
    out.insert(1, f"<title>{escape(tooltip)}</title>")
    out.append(
        _marker(
            SERIES_SHAPES[index],
            x,
            y_of(estimate),
            size=10,
            colour=colour,
            css_class=f"estimate series-{index}",
        )
    )
    out.append("</g>")
    return "".join(out)


# -- Distribution of the per-patient changes -----------------------------------------------

_D_TOP = 72
_D_ROW = 56
_D_LEFT = 168
_D_RIGHT = 652
_D_COUNT_RIGHT = _WIDTH - _MARGIN
_D_SPREAD = _D_ROW * 0.38  # dots spread this far above and below the row's centre
_D_BOX = _D_ROW * 0.26  # half the box's height
_D_DOT = 2.5
_D_BINS = 96

# The dot rule: a group is drawn dot by dot when it has at most
# min(2,000, max(30, 3,000 // number of groups)) values, else as a density band (one path of
# at most 96 steps). A dot is ~41 bytes and a row's other marks ~600, so a chart of up to 100
# groups holds at most 3,000 dots and stays under 200 kB however many values it is given.
DOTS_PER_GROUP = 2000
DOTS_PER_CHART = 3000
DOTS_MIN = 30


def dot_limit(groups: int) -> int:
    """The most values a group can have and still be drawn dot by dot (see the rule above)."""
    return min(DOTS_PER_GROUP, max(DOTS_MIN, DOTS_PER_CHART // max(groups, 1)))


def _jitter(index: int) -> float:
    """A fixed number in [-1, 1) for ``index``: a hash, so the same data draw the same way."""
    digest = hashlib.blake2b(index.to_bytes(8, "little"), digest_size=4).digest()
    return int.from_bytes(digest, "little") / 2**31 - 1.0


def distribution_chart(
    *,
    title: str,
    unit: str,
    groups: Sequence[DistributionGroup],
    threshold: float | None = None,
    threshold_label: str = "Responder threshold",
    quartiles_label: str = "Middle half (quartiles)",
    median_label: str = "Median",
    no_data_label: str = NO_DATA,
    empty_message: str = "No data for this cohort",
) -> str:
    """Per-patient changes at one review point, one row per group, as one ``<svg>``.

    Each row shows every value as a dot, spread up and down by a fixed hash of its rank (not
    at random: the same data always give the same picture), a box from the first to the third
    quartile (``statistics.quantiles(method="inclusive")``) and a bold line at the median; its
    "n=" on the right. A group too large to draw dot by dot (see :func:`dot_limit`) gets a
    density band instead: a mirrored histogram of 96 bins, as tall as the share of values in
    each, so the SVG stays under 200 kB whatever the number of values. A solid line marks
    zero; ``threshold`` adds a dashed, labelled line. A group without values says
    ``no_data_label``; without groups the SVG shows ``empty_message``. ``unit`` labels the
    axis.

    Raises ``ValueError`` for a value or threshold that is not a finite number.
    """
    limits = [0.0]
    if threshold is not None:
        limits.append(_check(threshold, "The threshold"))
    cleaned: list[list[float]] = []
    for group in groups:
        numbers = sorted(_check(value, "A change") for value in group.values)
        cleaned.append(numbers)
        if numbers:
            limits += [numbers[0], numbers[-1]]
    if not groups:
        return _empty(title=title, message=empty_message, css_class="distribution-chart")

    low, high = _span(min(limits), max(limits))
    ticks, decimals = nice_ticks(high, minimum=low)

    def x_of(value: float) -> float:
        share = (value - ticks[0]) / (ticks[-1] - ticks[0])
        return _D_LEFT + share * (_D_RIGHT - _D_LEFT)

    bottom = _D_TOP + len(groups) * _D_ROW
    height = int(bottom + 46)
    parts = _header(title=title, label=title, css_class="distribution-chart", height=height)

    legend: list[tuple[_Symbol, str]] = [
        (
            lambda x, y: (
                f'<rect x="{coord(x - 8)}" y="{coord(y - 5)}" width="16" height="10" '
                f'fill="{BOX_FILL}" stroke="{TEXT}" stroke-width="1.2"/>'
            ),
            quartiles_label,
        ),
        (
            lambda x, y: (
                f'<line x1="{coord(x)}" y1="{coord(y - 7)}" x2="{coord(x)}" y2="{coord(y + 7)}" '
                f'stroke="{TEXT}" stroke-width="3"/>'
            ),
            median_label,
        ),
    ]
    if threshold is not None:
        legend.append(
            (
                lambda x, y: (
                    f'<line x1="{coord(x)}" y1="{coord(y - 7)}" x2="{coord(x)}" '
                    f'y2="{coord(y + 7)}" stroke="{REFERENCE}" stroke-width="1.5" '
                    f'stroke-dasharray="3 2"/>'
                ),
                threshold_label,
            )
        )
    parts.append(_legend(legend, y=_LEGEND_Y))

    parts.append('<g class="x-axis">')
    for tick in ticks:
        tick_x = coord(x_of(tick))
        parts.append(
            f'<line x1="{tick_x}" y1="{_D_TOP}" x2="{tick_x}" y2="{bottom}" stroke="{GRID}"/>'
            f'<line x1="{tick_x}" y1="{bottom}" x2="{tick_x}" y2="{bottom + 5}" '
            f'stroke="{AXIS}"/>'
            f'<text class="x-tick" x="{tick_x}" y="{bottom + 18}" text-anchor="middle" '
            f'font-size="{_TICK_FONT}" fill="{MUTED}">{_tick(tick, decimals)}</text>'
        )
    parts.append(
        f'<text class="x-label" x="{coord((_D_LEFT + _D_RIGHT) / 2)}" y="{bottom + 36}" '
        f'text-anchor="middle" fill="{MUTED}">'
        f"{escape(shorten(unit, (_WIDTH - 2 * _MARGIN) / 12))}</text>"
    )
    parts.append("</g>")
    parts.append(_plot_area(_D_LEFT, _D_TOP, _D_RIGHT, bottom))
    zero_x = coord(x_of(0.0))
    parts.append(
        f'<line class="zero" x1="{zero_x}" y1="{_D_TOP}" x2="{zero_x}" y2="{bottom}" '
        f'stroke="{ZERO}" stroke-width="1.5"/>'
    )

    limit = dot_limit(len(groups))
    for index, (group, numbers) in enumerate(zip(groups, cleaned, strict=True)):
        centre = _D_TOP + (index + 0.5) * _D_ROW
        parts.append(
            _distribution_row(
                group.label,
                numbers,
                centre,
                x_of,
                unit=unit,
                dots=len(numbers) <= limit,
                median_label=median_label,
                quartiles_label=quartiles_label,
                no_data_label=no_data_label,
            )
        )

    if threshold is not None:
        x = x_of(threshold)
        text = f"{threshold_label} {_signed(threshold)}"
        anchor = _anchor(x, _D_LEFT, _WIDTH - _MARGIN, text_ems(text) * 6 + 2)
        parts.append(
            f'<g class="threshold"><title>{escape(_with_unit(text, unit))}</title>'
            f'<line x1="{coord(x)}" y1="{_D_TOP - 8}" x2="{coord(x)}" y2="{bottom}" '
            f'stroke="{REFERENCE}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{coord(x)}" y="{_D_TOP - 11}" text-anchor="{anchor}" fill="{REFERENCE}" '
            f'font-size="{_TICK_FONT}">{escape(shorten(text, 40))}</text></g>'
        )

    parts.append("</svg>")
    return "\n".join(parts)


def _distribution_row(
    label: str,
    numbers: list[float],
    centre: float,
    x_of: Callable[[float], float],
    *,
    unit: str,
    dots: bool,
    median_label: str,
    quartiles_label: str,
    no_data_label: str,
) -> str:
    """One group's row: label, dots (or density band), box, median line and count."""
    cy = coord(centre + 4)  # baseline that centres 12px text on the row
    n = len(numbers)
    out = ['<g class="group">']
    if not numbers:
        out += [
            f"<title>{escape(label)}: {escape(no_data_label)}</title>",
            f'<text class="label" x="{_MARGIN}" y="{cy}">'
            f"{escape(shorten(label, (_D_LEFT - 12 - _MARGIN) / 12))}</text>",
            f'<text class="no-data" x="{_D_LEFT + 8}" y="{cy}" fill="{MUTED}" '
            f'font-style="italic">{escape(no_data_label)}</text>',
            f'<text class="n" x="{_D_COUNT_RIGHT}" y="{cy}" text-anchor="end" '
            f'fill="{MUTED}">n=0</text>',
            "</g>",
        ]
        return "".join(out)

    if n > 1:
        q1, median, q3 = statistics.quantiles(numbers, n=4, method="inclusive")
    else:
        q1 = median = q3 = numbers[0]
    summary = (
        f"{label}: n={n}; {median_label} {_with_unit(_signed(median), unit)}; "
        f"{quartiles_label} [{_signed(q1)}, {_signed(q3)}]"
    )
    out += [
        f"<title>{escape(summary)}</title>",
        f'<text class="label" x="{_MARGIN}" y="{cy}">'
        f"{escape(shorten(label, (_D_LEFT - 12 - _MARGIN) / 12))}</text>",
    ]
    box_x, box_right = x_of(q1), x_of(q3)
    box = (
        f'x="{coord(box_x)}" y="{coord(centre - _D_BOX)}" '
        f'width="{coord(box_right - box_x)}" height="{coord(2 * _D_BOX)}"'
    )
    out.append(f'<rect class="box-fill" {box} fill="{BOX_FILL}" fill-opacity="0.6"/>')
    if dots:
        circles = "".join(
            f'<circle cx="{coord(x_of(value))}" '
            f'cy="{coord(centre + _jitter(rank) * _D_SPREAD)}" r="{_D_DOT}"/>'
            for rank, value in enumerate(numbers)
        )
        out.append(f'<g class="dots" fill="{POINT}" fill-opacity="0.55">{circles}</g>')
    else:
        out.append(_density(numbers, centre, x_of))
    out += [
        f'<rect class="box" {box} fill="none" stroke="{TEXT}" stroke-width="1.2"/>',
        f'<line class="median" x1="{coord(x_of(median))}" y1="{coord(centre - _D_BOX - 3)}" '
        f'x2="{coord(x_of(median))}" y2="{coord(centre + _D_BOX + 3)}" stroke="{TEXT}" '
        f'stroke-width="3"/>',
        f'<text class="n" x="{_D_COUNT_RIGHT}" y="{cy}" text-anchor="end" fill="{MUTED}">'
        f"n={n}</text>",
        "</g>",
    ]
    return "".join(out)


def _density(numbers: Iterable[float], centre: float, x_of: Callable[[float], float]) -> str:
    """A band across the row, as tall at each x as the share of values there (a histogram
    mirrored about the row's centre line), drawn as one outline so no seams show."""
    width = (_D_RIGHT - _D_LEFT) / _D_BINS
    counts = [0] * _D_BINS
    for value in numbers:
        slot = int((x_of(value) - _D_LEFT) / width)
        counts[min(max(slot, 0), _D_BINS - 1)] += 1
    tallest = max(counts)
    used = [slot for slot, count in enumerate(counts) if count]
    first, last = used[0], used[-1]
    # Even a bin with one value shows (half a unit high); an empty bin is flat.
    halves = [max(c / tallest * _D_SPREAD, 0.5) if c else 0.0 for c in counts]
    upper = "".join(
        f"V{coord(centre - halves[slot])}H{coord(_D_LEFT + (slot + 1) * width)}"
        for slot in range(first, last + 1)
    )
    lower = "".join(
        f"V{coord(centre + halves[slot])}H{coord(_D_LEFT + slot * width)}"
        for slot in range(last, first - 1, -1)
    )
    start = f"M{coord(_D_LEFT + first * width)},{coord(centre)}"
    return f'<path class="density" fill="{DENSITY}" d="{start}{upper}V{coord(centre)}{lower}Z"/>'
