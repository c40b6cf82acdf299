"""The picture a practitioner checks an analysis with: every hair drawn over the image.

Each hair is drawn along its centreline as a translucent band as wide as its measured width
(so a width that does not match the visible shaft stands out), with a crisp centre line, a
ring at its exit from the skin and its number. Colours give the width class; the four
class colours are from the Okabe-Ito palette, which stays distinguishable with the common
colour-vision deficiencies. Hairs that are not counted (exit outside the region) are grey
with a dashed centre line; hairs added by hand carry a "+" after their number. A legend
gives the counts, the density and a reminder to check and correct before saving.

Text uses only ASCII ("um", "cm2"): the font Pillow embeds has no micro or superscript sign.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import TrichoscopyError
from .imageio import as_rgb_array
from .result import TERMINAL_FROM_UM, VELLUS_UNDER_UM, Hair, HairClass, Result, Roi

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Point = tuple[float, float]

# Okabe-Ito colours: light enough to show on dark hair, apart for protan, deutan and tritan.
CLASS_COLOURS: dict[HairClass, RGB] = {
    "terminal": (213, 94, 0),  # vermillion
    "intermediate": (240, 228, 66),  # yellow
    "vellus": (86, 180, 233),  # sky blue
    "unmeasured": (0, 158, 115),  # bluish green
}
NOT_COUNTED_COLOUR: RGB = (175, 175, 175)
CLASS_LEGEND: dict[HairClass, str] = {
    "terminal": f"terminal ({TERMINAL_FROM_UM:g} um and over)",
    "intermediate": f"intermediate ({VELLUS_UNDER_UM:g} to {TERMINAL_FROM_UM:g} um)",
    "vellus": f"vellus (under {VELLUS_UNDER_UM:g} um)",
    "unmeasured": "width not measured",
}
FILL_ALPHA = 0.35
_DARK: RGB = (0, 0, 0)
_WHITE: RGB = (255, 255, 255)


def render_overlay(image: np.ndarray, result: Result) -> Image.Image:
    """``image`` as an RGB picture of the same size with ``result``'s hairs, region and a
    legend drawn over it. Accepts any array ``as_rgb_array`` accepts, of any size; raises
    ``TrichoscopyError`` if the image is not the size the result was computed on."""
    rgb = as_rgb_array(image, min_side_px=1)
    height, width = rgb.shape[:2]
    if (height, width) != tuple(result.image_shape[:2]):
        raise TrichoscopyError(
            f"The image is {width}x{height} pixels but the result is for a "
            f"{result.image_shape[1]}x{result.image_shape[0]} image: draw it on the image "
            "that was analysed."
        )
    style = _Style.for_size(width, height)
    picture = _draw_bands(Image.fromarray(rgb, "RGB"), result)
    draw = ImageDraw.Draw(picture, "RGBA")
    _draw_roi(draw, result.roi, style)
    for hair in result.hairs:
        _draw_centreline(draw, hair, style)
    for hair in result.hairs:
        _draw_exit_and_label(draw, hair, style, (width, height))
    _draw_legend(draw, result, style, (width, height))
    return picture


def overlay_png(image: np.ndarray, result: Result) -> bytes:
    """``render_overlay`` encoded as a PNG file."""
    out = io.BytesIO()
    render_overlay(image, result).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class _Style:
    """Sizes in pixels, scaled so that the overlay reads the same on a 640x480 image shown
    at full size and on a 4000x3000 image shown scaled to a screen."""

    font_px: int
    line_px: int  # centre lines
    ring_px: int  # radius of the exit ring
    roi_px: int

    @classmethod
    def for_size(cls, width: int, height: int) -> _Style:
        longest = max(width, height)
        font_px = min(72, max(11, round(longest / 58)))
        return cls(
            font_px=font_px,
            line_px=max(1, round(longest / 1400)),
            ring_px=max(3, round(font_px * 0.35)),
            roi_px=max(2, round(longest / 700)),
        )

    @property
    def font(self) -> Font:
        return _font(self.font_px)

    @property
    def halo_px(self) -> int:
        return max(1, round(self.font_px / 7))


@lru_cache(maxsize=8)
def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        # Pillow before 10.1 (no size argument) or without FreeType: the small bitmap font.
        return ImageFont.load_default()


def _colour(hair: Hair) -> RGB:
    return CLASS_COLOURS[hair.hair_class] if hair.counted else NOT_COUNTED_COLOUR


def _points(hair: Hair) -> list[Point]:
    return [(float(x), float(y)) for x, y in hair.centreline_px]


def _draw_bands(picture: Image.Image, result: Result) -> Image.Image:
    """The hairs' measured widths as translucent bands. They are drawn opaque on a separate
    layer, then blended once, so that a band's overlapping segments do not darken."""
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    alpha = round(FILL_ALPHA * 255)
    for hair in result.hairs:
        width_px = 2
        if hair.width_um is not None and math.isfinite(hair.width_um):
            width_px = max(2, round(hair.width_um / result.um_per_px))
        points = _points(hair)
        fill = (*_colour(hair), alpha)
        if len(points) >= 2:
            draw.line(points, fill=fill, width=width_px, joint="curve")
        elif points:
            (x, y), radius = points[0], width_px / 2
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    return Image.alpha_composite(picture.convert("RGBA"), layer).convert("RGB")


def _draw_roi(draw: ImageDraw.ImageDraw, roi: Roi, style: _Style) -> None:
    """The region's outline, white on a dark edge so it shows on light and dark skin."""
    if roi.kind == "circle":
        box = [roi.x - roi.radius, roi.y - roi.radius, roi.x + roi.radius, roi.y + roi.radius]
        draw.ellipse(box, outline=_DARK, width=style.roi_px + 2)
        inset = [box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1]
        draw.ellipse(inset, outline=_WHITE, width=style.roi_px)
        return
    # Pixel centres are integers; the region's edges lie half a pixel outside its pixels.
    box = [
        round(roi.x + 0.5),
        round(roi.y + 0.5),
        round(roi.x + roi.width - 0.5),
        round(roi.y + roi.height - 0.5),
    ]
    draw.rectangle(box, outline=_DARK, width=style.roi_px + 2)
    inset = [box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1]
    if inset[0] < inset[2] and inset[1] < inset[3]:
        draw.rectangle(inset, outline=_WHITE, width=style.roi_px)


def _draw_centreline(draw: ImageDraw.ImageDraw, hair: Hair, style: _Style) -> None:
    points = _points(hair)
    if len(points) < 2:
        return
    if hair.counted:
        draw.line(points, fill=_colour(hair), width=style.line_px, joint="curve")
        return
    dash = 3 * style.line_px + 3
    for segment in _dashes(points, on=dash, off=dash):
        draw.line(segment, fill=_colour(hair), width=style.line_px)


def _dashes(points: Sequence[Point], *, on: float, off: float) -> list[list[Point]]:
    """The polyline cut into pieces ``on`` pixels long with ``off``-pixel gaps."""
    pieces: list[list[Point]] = []
    current: list[Point] = [points[0]]
    drawing, left = True, on
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        travelled = 0.0
        while length - travelled > left:
            travelled += left
            t = travelled / length
            here = (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            if drawing:
                current.append(here)
                pieces.append(current)
            else:
                current = [here]
            drawing, left = not drawing, (off if drawing else on)
        left -= length - travelled
        if drawing:
            current.append((x1, y1))
    if drawing and len(current) >= 2:
        pieces.append(current)
    return pieces


def _draw_exit_and_label(
    draw: ImageDraw.ImageDraw, hair: Hair, style: _Style, size: tuple[int, int]
) -> None:
    colour = _colour(hair)
    x, y = hair.exit_px
    radius = style.ring_px
    ring = [x - radius, y - radius, x + radius, y + radius]
    if hair.exit_seen:
        draw.ellipse(ring, outline=_DARK, width=style.line_px + 2)
        draw.ellipse(
            [ring[0] + 1, ring[1] + 1, ring[2] - 1, ring[3] - 1],
            outline=colour,
            width=style.line_px,
        )
    # The number goes behind the exit, away from the shaft, so it hides none of the hair.
    away_x, away_y = _away_from_shaft(hair)
    distance = radius + 0.75 * style.font_px
    text = f"{hair.id}+" if hair.manual else str(hair.id)
    font = style.font
    left, top, right, bottom = draw.textbbox(
        (0, 0), text, font=font, anchor="mm", stroke_width=style.halo_px
    )
    width, height = size
    # Keep the label inside the image.
    cx = min(max(x + away_x * distance, -left), width - right)
    cy = min(max(y + away_y * distance, -top), height - bottom)
    draw.text(
        (cx, cy),
        text,
        font=font,
        anchor="mm",
        fill=colour,
        stroke_width=style.halo_px,
        stroke_fill=_DARK,
    )


def _away_from_shaft(hair: Hair) -> Point:
    """Unit vector from the shaft's first few pixels back past the exit."""
    points = np.asarray(hair.centreline_px, dtype=float)
    if len(points) < 2:
        return (0.0, -1.0)
    start = points[0]
    along = np.hypot(*(points - start).T)
    # A point a few pixels along, so that a kink at the very end does not decide.
    target = points[min(int(np.searchsorted(along, 8.0)), len(points) - 1)]
    dx, dy = start - target
    norm = math.hypot(dx, dy)
    if norm == 0:
        return (0.0, -1.0)
    return (float(dx / norm), float(dy / norm))


def _legend_lines(result: Result) -> list[tuple[str, RGB | None, bool]]:
    """(text, swatch colour or None, dashed swatch) for each line of the legend."""
    count = result.count
    hairs = "hair" if count == 1 else "hairs"
    lines: list[tuple[str, RGB | None, bool]] = [
        (
            f"{count} {hairs} in {result.area_cm2:.3g} cm2 = {result.density_per_cm2:.0f} /cm2",
            None,
            False,
        )
    ]
    class_counts = {
        "terminal": result.terminal_count,
        "intermediate": result.intermediate_count,
        "vellus": result.vellus_count,
        "unmeasured": result.unmeasured_count,
    }
    for name, label in CLASS_LEGEND.items():
        lines.append((f"{label}: {class_counts[name]}", CLASS_COLOURS[name], False))
    not_counted = len(result.hairs) - count
    if not_counted:
        lines.append(
            (f"not counted (exit outside region): {not_counted}", NOT_COUNTED_COLOUR, True)
        )
    manual = sum(1 for hair in result.hairs if hair.manual)
    if manual:
        lines.append((f"added by hand (number+): {manual}", None, False))
    lines.append(("Check and correct before saving.", None, False))
    return lines


def _draw_legend(
    draw: ImageDraw.ImageDraw, result: Result, style: _Style, size: tuple[int, int]
) -> None:
    """A dark translucent box of counts at the corner that covers fewest hairs; left out
    when the image is too small to hold it."""
    font = style.font
    lines = _legend_lines(result)
    pad = max(4, round(style.font_px * 0.5))
    line_height = round(style.font_px * 1.35)
    swatch = round(style.font_px * 1.6)
    text_widths = [draw.textlength(text, font=font) for text, _, _ in lines]
    box_width = round(pad * 2 + swatch + pad + max(text_widths))
    box_height = pad * 2 + line_height * len(lines)
    width, height = size
    margin = max(2, style.roi_px + 2)
    if box_width + 2 * margin > width or box_height + 2 * margin > height:
        return
    left, top = _emptiest_corner(result, (box_width, box_height), size, margin)
    draw.rectangle(
        [left, top, left + box_width - 1, top + box_height - 1],
        fill=(0, 0, 0, 190),
        outline=(255, 255, 255, 200),
    )
    for row, (text, colour, dashed) in enumerate(lines):
        y = top + pad + row * line_height + line_height / 2
        text_x = left + pad
        if colour is not None:
            ends = [(left + pad, y), (left + pad + swatch, y)]
            thickness = max(3, round(style.font_px * 0.4))
            segments = _dashes(ends, on=swatch * 0.4, off=swatch * 0.2) if dashed else [ends]
            for segment in segments:
                draw.line(segment, fill=colour, width=thickness)
            text_x += swatch + pad
        draw.text((text_x, y), text, font=font, anchor="lm", fill=_WHITE)


def _emptiest_corner(
    result: Result, box: tuple[int, int], size: tuple[int, int], margin: int
) -> tuple[int, int]:
    """Top-left of the corner box position that covers the fewest centreline points."""
    box_width, box_height = box
    width, height = size
    corners = [
        (margin, margin),
        (width - margin - box_width, margin),
        (margin, height - margin - box_height),
        (width - margin - box_width, height - margin - box_height),
    ]
    points = [point for hair in result.hairs for point in hair.centreline_px]
    if not points:
        return corners[0]
    xs, ys = np.asarray(points, dtype=float).T

    def covered(corner: tuple[int, int]) -> int:
        left, top = corner
        inside = (xs >= left) & (xs < left + box_width) & (ys >= top) & (ys < top + box_height)
        return int(inside.sum())

    return min(corners, key=covered)
