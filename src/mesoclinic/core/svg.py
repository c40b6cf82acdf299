"""Helpers shared by the server-side SVG charts (pure: standard library only, no Django).

The charts (``safety/charts.py``, ``outcomes/charts.py``) write SVG markup as strings. They
use these helpers so that they all escape text the same way, format coordinates the same way,
pick round axis ticks the same way and share one sober palette and font.

Guarantees: :func:`escape` returns text that is safe inside XML text and inside a single- or
double-quoted attribute, whatever the input (characters XML cannot hold at all are dropped);
:func:`nice_ticks` always returns at least two ticks, round steps, covering the range asked.
"""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = [
    "AXIS",
    "FONT_FAMILY",
    "GRID",
    "MUTED",
    "SVG_NAMESPACE",
    "TEXT",
    "coord",
    "escape",
    "nice_ticks",
    "shorten",
    "strip_invalid",
    "svg_start",
    "text_ems",
]

SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# Generic families only: the same markup renders in browsers and in WeasyPrint PDFs.
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

# A sober palette: dark blue-grey text, muted grey for secondary text, light grid lines.
TEXT = "#1f2d3d"
MUTED = "#5f6b7a"
GRID = "#e3e8ee"
AXIS = "#9aa5b1"

# Characters XML 1.0 cannot contain, even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Characters much narrower or wider than most, for the width estimate.
_NARROW = frozenset("fijlrtI.,:;'|!()[] ")
_WIDE = frozenset("mwMW@%—")


def strip_invalid(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold (control characters, surrogates)."""
    return _NOT_XML.sub("", value)


def escape(value: str) -> str:
    """``value`` escaped for XML text or a double- or single-quoted attribute.

    Characters XML cannot hold at all are dropped, so the result is always well-formed.
    """
    return (
        strip_invalid(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def coord(value: float) -> str:
    """A coordinate with one decimal (enough at chart sizes, and keeps the markup small)."""
    return f"{value:.1f}"


def _char_ems(char: str) -> float:
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


def text_ems(text: str) -> float:
    """A rough width of ``text`` in ems of a sans-serif font: multiply by the font size."""
    return sum(_char_ems(char) for char in text)


def shorten(text: str, max_ems: float) -> str:
    """``text`` cut to at most ``max_ems`` wide, ending in an ellipsis if it was cut.

    Characters XML cannot hold are dropped first; the result is not escaped yet.
    """
    text = strip_invalid(text)
    if text_ems(text) <= max_ems:
        return text
    width = _char_ems("…")
    kept: list[str] = []
    for char in text:
        width += _char_ems(char)
        if width > max_ems:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def nice_ticks(maximum: float, *, minimum: float = 0.0) -> tuple[list[float], int]:
    """Round tick values covering ``minimum`` to ``maximum``, step 1, 2 or 5 x 10^e.

    The ticks start at a multiple of the step at or below ``minimum`` and end at one at or
    above ``maximum``, with at most 5 intervals. From 0 (the default minimum) that is always
    4 to 6 ticks; for a range that does not start at a tick it is 3 to 6. Returns the ticks
    and the number of decimals their labels need (``f"{tick:.{decimals}f}"`` loses nothing);
    a tick at zero is ``0.0``, never ``-0.0``.

    A bound that is not a finite number counts as 0 (``minimum``) or 1 (``maximum``), and an
    empty range (``maximum <= minimum``) is taken as ``minimum`` to ``minimum + 1``.
    """
    if not math.isfinite(minimum):
        minimum = 0.0
    if not (math.isfinite(maximum) and maximum > minimum):
        maximum = minimum + 1.0
    exponent = math.floor(math.log10((maximum - minimum) / 5))
    # The first step of 1, 2, 5, 10, 20... with at most 5 intervals over the range. The step
    # before it needed more than 5, and steps grow at most 2.5-fold, so from 0 this one needs
    # at least 3: 4 to 6 ticks. (A range not starting on a tick loses up to one interval.)
    while True:
        for multiple in (1, 2, 5):
            step = multiple * 10.0**exponent
            first = math.floor(minimum / step + 1e-9)
            last = math.ceil(maximum / step - 1e-9)
            intervals = max(last - first, 1)
            if intervals <= 5:
                decimals = max(0, -exponent)
                ticks = [round((first + i) * step, decimals) + 0.0 for i in range(intervals + 1)]
                return ticks, decimals
        exponent += 1


def svg_start(*, width: int, height: int, label: str, css_class: str) -> str:
    """The opening tag of a standalone, accessible chart: ``</svg>`` must close it.

    It carries the namespace, a ``viewBox`` of ``width`` x ``height`` (so the aspect ratio is
    fixed), ``width="100%"`` (it scales with its container), ``role="img"`` with ``label`` as
    its accessible name, and the chart font. ``label`` is escaped here.
    """
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="{escape(label)}" class="{escape(css_class)}" '
        f'font-family="{FONT_FAMILY}" '
        f'font-size="12" fill="{TEXT}">'
    )
