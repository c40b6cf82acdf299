"""Count hairs and measure their shafts in a calibrated trichoscopy or phototrichogram image.

The pipeline (hair-image-analysis.md section 6), each step for a physical reason:

1. **Background**: the skin's own colour at every point, from a median over a window a few
   shafts wide, so that uneven lighting, vignetting and skin tone drop out.
2. **Contrast**: how far each pixel's colour lies from that background, relative to its
   brightness. Unsigned, so dark, grey and white hairs all stand out.
3. **Glare**: bright, round, colourless spots are masked; a hair broken by one is bridged.
4. **Mask and skeleton**: hysteresis thresholds set from the image's own noise, then a
   one-pixel skeleton with the spurs of thick shafts pruned.
5. **Hairs**: branch chains through junctions by continuity of direction, so crossings
   make two hairs and hairs leaving one opening share their stem (``skeleton.py``).
6. **Each hair**: its median cross profile gives its width (``profiles.py``) and colour;
   red-shifted lines (vessels, whose haemoglobin absorbs green far more than red) and
   short or stubby pieces (dandruff, empty openings) are dropped; a profile twice as wide
   as any shaft, or with two crests, is two touching hairs.
7. **Counting frame**: each hair's exit is the end that leaves a follicle opening (the
   darker skin around it); a hair counts when its exit lies inside the region, so that a
   hair cut by the region's edge is counted in exactly one of two neighbouring regions.
   At the image's edge, a shaft running out of the image at full width came in from beyond
   it, and a hair of which only the root shows, cut off by the edge, is still counted.

Nothing here reads what made the image besides its pixels and the calibration.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.filters import apply_hysteresis_threshold
from skimage.measure import regionprops
from skimage.morphology import remove_small_objects, skeletonize

from . import profiles
from .calibration import check_um_per_px
from .errors import RegionError
from .geometry import arc_lengths, densify, distance_to_nearest, polyline_length, union_root
from .imageio import as_rgb_array
from .result import Hair, Result, Roi
from .skeleton import Path, build_graph, hair_paths, prune_spurs

VERSION = "1.2.7"

# Physical limits of scalp hair shafts and of the phototrichogram protocol.
MAX_SHAFT_UM = 110.0  # the widest terminal shafts are about 100 um [S16, S17]
MIN_SHAFT_UM = 5.0
# Hairs are clipped to about 1 mm before a phototrichogram; shorter pieces are debris unless
# the image edge or the region cuts them.
MIN_LENGTH_UM = 200.0
# Beyond this share of the image in the hair mask, too little skin shows for its colour.
DENSE_MASK_SHARE = 0.4
# The shortest piece of a hair cut by the image edge that is taken for a hair.
MIN_EDGE_PIECE_UM = 60.0
# At least five pixels across a 30 um hair to tell vellus from intermediate (section 6).
MIN_PX_PER_30UM = 5.0
# A piece a path's kink cuts off at its end, shorter than this, less than this share as
# dark as the shaft it turns off and no narrower, is the skeleton running on into the
# shaft's opening. The length is 1.5 times the least hair's: hairs are clipped to about
# 1 mm, and a pale hair meeting a dark one at an angle is long.
HOOK_MAX_UM = 1.5 * MIN_LENGTH_UM
HOOK_CONTRAST_SHARE = 0.5
# How far a follicle opening's disc reaches beyond a shaft's edge (generous).
OPENING_REACH_UM = 50.0
# A hair leaving its opening just inside the edge and running straight out of the image
# (``_edge_stubs``) is counted when its opening shows at least this share of the contrast of
# the image's openings wholly in view: most of its opening is in view, while the tip of a
# hair from beyond the edge has only skin, or the rim of another opening, around it.
STUB_OPENING_SHARE = 0.35
# A band this much wider on one stretch than on the rest holds a second shaft there.
OVERLAP_WIDTH_RATIO = 1.3
# ... held on each side for three of that side's widths and at least this long.
STEP_LEAST_HOLD_PX = 8
# A band widening steadily to this many times its width at the other end holds two shafts
# fanning out from one opening.
FAN_WIDTH_RATIO = 1.35
# A band's widening side is straight when its widths lie this share of one shaft's width
# (root mean square) off a line.
WEDGE_LINE_ERROR = 0.1
# ... and its narrow side, the longer hair's tip past the shorter one's, is held for this
# many of its widths.
WEDGE_TAIL_HOLD = 1.5
# Contrast under this share of the level of the hairs either side is skin between two
# hairs; a cut that starts there runs on along contrast under the second share.
VALLEY_SEED = 0.4
VALLEY_GROW = 0.55
# A line lying this share of its length within this share of a shaft width of a longer
# line's axis is that hair found twice.
DUPLICATE_SHARE = 0.85
DUPLICATE_REACH = 0.35
# A profile this much wider than the widest shaft is two shafts touching side by side.
PAIR_WIDTH_UM = 105.0
# A white hair through a fleck leaves a circle round it in two arcs facing each other: the
# circle is sampled at these angles, arcs of fewer samples are noise, and an arc wider than
# this is not a shaft's cross-section (a shaft as wide as the circle's radius spans 60).
BAND_ANGLES = np.linspace(0.0, 2 * math.pi, 72, endpoint=False)
BAND_MIN_RUN = 4
BAND_MAX_ARC_DEG = 100.0


@dataclass(frozen=True)
class _Candidate:
    points: np.ndarray  # centreline, x, y
    width_px: float | None
    contrast: float
    start_node: int | None
    end_node: int | None
    pair: bool
    overlap: np.ndarray | None = None  # part of the path where a second shaft lies along it
    # The overlap is a band widening from the opening: the two shafts part steadily there.
    parting: bool = False
    shared: np.ndarray | None = None  # per point: on a stretch another hair runs along too
    # A band widening steadily, read as two shafts fanning out: which end is narrow (0 the
    # path's start, 1 its end) and the width of the band read as one shaft, should the
    # opening turn out to lie at the wide end (a single shaft tapering to its tip).
    fan_narrow_end: int | None = None
    single_width_px: float | None = None
    # A hair seen only where it leaves the skin just inside the edge (``_edge_stubs``): the
    # path runs from its exit to the edge, and ``single_width_px`` is the width its band
    # crosses the edge with (its own width is not measured).
    edge_stub: bool = False


def _channel_min(rgb: np.ndarray) -> np.ndarray:
    """``rgb.min(axis=-1)``, the same values: numpy reduces a three-long last axis some
    thirty times slower than it takes the minimum of the three planes."""
    return np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def _channel_mean(rgb: np.ndarray) -> np.ndarray:
    """``rgb.mean(axis=-1)``, the same values (summed in the same order), about ten times
    faster."""
    return (rgb[..., 0] + rgb[..., 1] + rgb[..., 2]) / rgb.dtype.type(3)


def _channel_norm(rgb: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(rgb, axis=-1)``, the same values, about seven times faster."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.sqrt(red * red + green * green + blue * blue)


def _background(rgb: np.ndarray, window_px: float) -> np.ndarray:
    """The skin's colour under each pixel: a median a few shafts wide, at low resolution."""
    height, width = rgb.shape[:2]
    # Blocks of a twelfth of the window, but at least four blocks across the smaller side.
    factor = max(1, min(int(window_px / 12), min(height, width) // 4))
    h, w = -(-height // factor), -(-width // factor)
    # Padded by reflection to whole blocks, so that the last rows and columns have a
    # background of their own (cropping them made the image's sides unequal: a hair's fate
    # then depended on which way up the image was).
    padded = np.pad(
        rgb, ((0, h * factor - height), (0, w * factor - width), (0, 0)), mode="reflect"
    )
    # The median of each block, not its mean: where hair covers much of a block, the mean
    # darkens the background and the skin between hairs then stands out as 'contrast'.
    blocks = padded.reshape(h, factor, w, factor, 3).transpose(0, 2, 4, 1, 3)
    small = np.median(blocks.reshape(h, w, 3, factor * factor), axis=-1)
    size = max(3, round(window_px / factor) | 1)
    filtered = np.stack(
        [ndimage.median_filter(small[..., c], size=size, mode="reflect") for c in range(3)], axis=-1
    )
    filtered = ndimage.gaussian_filter(filtered, (size / 4, size / 4, 0))
    # Back to full size by bilinear interpolation of block centres, one axis at a time (the
    # grid is regular: a tenth of the time of interpolating each pixel in two dimensions).
    y_low, y_high, y_share = _linear_weights((np.arange(height) + 0.5) / factor - 0.5, h)
    x_low, x_high, x_share = _linear_weights((np.arange(width) + 0.5) / factor - 0.5, w)
    out = np.empty((height, width, 3), dtype=np.float32)
    for c in range(3):
        plane = filtered[..., c].astype(np.float64)
        rows = plane[y_low] * (1.0 - y_share)[:, None] + plane[y_high] * y_share[:, None]
        # In place: two full-size temporaries rather than four (a 4000 x 3000 image's are
        # 96 MB each).
        full = rows[:, x_low]
        full *= 1.0 - x_share
        upper = rows[:, x_high]
        upper *= x_share
        full += upper
        out[..., c] = full
    return out


def _linear_weights(positions: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sample positions along an axis of ``size`` samples (clipped to it): the sample
    below, the one above and the share of the one above in a linear interpolation."""
    positions = np.clip(positions, 0.0, size - 1)
    low = np.floor(positions).astype(np.intp)
    high = np.minimum(low + 1, size - 1)
    return low, high, positions - low


def _glare(rgb: np.ndarray, background: np.ndarray, shaft_px: float) -> np.ndarray:
    """Specular highlights: near-white, colourless, round spots brighter than the skin."""
    lum = _channel_mean(rgb)
    bg_lum = _channel_mean(background)
    core = (_channel_min(rgb) > 0.82) & (lum > bg_lum + 0.12)
    labels, count = ndimage.label(core)
    glare = np.zeros(core.shape, dtype=bool)
    if not count:
        return glare
    bright = lum > bg_lum + 0.04
    reach = np.zeros(core.shape, dtype=bool)  # how far each spot's halo may spread
    for region in regionprops(labels):
        if region.area < 4:
            continue
        # A highlight is a round spot: its area is close to that of the largest disc inside
        # it. A white hair is a long band, many such discs long.
        inside = np.pad(region.image, 1)
        depth = ndimage.distance_transform_edt(inside)
        radius = max(float(depth.max()), 1.0)
        if region.area <= 3.0 * math.pi * radius**2:
            # A round fleck no wider than a shaft may be a brighter stretch of a white hair,
            # broken up by noise; one wider than a shaft cannot be.
            if radius <= 0.75 * shaft_px and _along_a_band(
                bright, region.centroid, max(3.0 * radius, shaft_px)
            ):
                continue
            spot = region.image
        elif radius > 0.75 * shaft_px:
            # A spot wider than any shaft, touching white hair: only the spot itself, the
            # pixels deeper inside than a shaft's half width could be, and what lies within
            # that depth of them. The bands leaving it are hair.
            deep = depth[1:-1, 1:-1] > 0.75 * shaft_px
            spot = region.image & ndimage.binary_dilation(
                deep, iterations=math.ceil(0.75 * shaft_px)
            )
        else:
            continue
        glare[region.slice][spot] = True
        grown = ndimage.binary_dilation(
            np.pad(spot, 2 * math.ceil(radius) + 2), iterations=2 * math.ceil(radius) + 2
        )
        top, left = region.slice[0].start, region.slice[1].start
        pad = 2 * math.ceil(radius) + 2
        y0, x0 = top - pad, left - pad
        ys, xs = np.nonzero(grown)
        ys, xs = ys + y0, xs + x0
        inside_image = (ys >= 0) & (ys < core.shape[0]) & (xs >= 0) & (xs < core.shape[1])
        reach[ys[inside_image], xs[inside_image]] = True
    if glare.any():
        # The halo around the core is lighter skin too; take it in, but only near the spot:
        # spreading through all lighter pixels would run along a white hair the spot
        # touches (or through lighter skin texture) and hide it.
        halo = bright & reach
        grown = ndimage.binary_dilation(glare, iterations=2)
        glare = ndimage.binary_propagation(grown, mask=halo | grown)
        glare = ndimage.binary_dilation(glare, iterations=1)
    return glare


def _along_a_band(bright: np.ndarray, centre: tuple[float, float], radius_px: float) -> bool:
    """Whether the bright pixels on a circle round ``centre`` (row, column) show a band
    passing through it: a highlight's halo fades all round, a white hair leaves the circle
    in two narrow arcs facing each other, and skin texture makes scattered short ones."""
    samples = len(BAND_ANGLES)
    rows = np.round(centre[0] + radius_px * np.sin(BAND_ANGLES)).astype(int)
    cols = np.round(centre[1] + radius_px * np.cos(BAND_ANGLES)).astype(int)
    inside = (rows >= 0) & (rows < bright.shape[0]) & (cols >= 0) & (cols < bright.shape[1])
    on = np.zeros(samples, dtype=bool)
    on[inside] = bright[rows[inside], cols[inside]]
    if on.all() or not on.any():
        return False
    # Runs of bright samples round the circle (joined across the wrap).
    start = int(np.argmin(on))
    labels, count = ndimage.label(np.roll(on, -start))
    runs = []
    for label in range(1, count + 1):
        where = np.nonzero(labels == label)[0]
        if len(where) >= BAND_MIN_RUN:  # shorter ones are noise
            runs.append((len(where), BAND_ANGLES[(int(where.mean()) + start) % samples]))
    if len(runs) != 2:
        return False
    (size_a, a), (size_b, b) = runs
    # Each no wider than a band seen from its middle, the two alike (a band is as wide where
    # it enters the circle as where it leaves), and facing each other across the centre
    # (within 30 degrees of opposite).
    widest = samples * BAND_MAX_ARC_DEG / 360.0
    return (
        max(size_a, size_b) <= widest
        and min(size_a, size_b) >= 0.5 * max(size_a, size_b)
        and abs(math.pi - abs((a - b) % (2 * math.pi))) < math.radians(30)
    )


def _bridge_glare_gaps(
    skeleton: np.ndarray, glare: np.ndarray, width_px: float, reach_px: float
) -> np.ndarray:
    """The skeleton with straight bridges across highlights that broke a hair in two."""
    if not glare.any():
        return skeleton
    graph = build_graph(skeleton)
    near_glare = ndimage.binary_dilation(glare, iterations=max(2, int(width_px)))
    ends = []
    for branch in graph.branches:
        for side, node in enumerate(branch.ends):
            if node is None:
                point = branch.end_point(side)
                if near_glare[round(point[1]), round(point[0])]:
                    # Skip the hook a skeleton makes where the mask was bitten away: the
                    # bridge starts from the last straight stretch, and the hook is dropped.
                    outward = -branch.direction_from(side, 0.75 * width_px, max(6.0, 2 * width_px))
                    ordered = branch.points if side == 0 else branch.points[::-1]
                    arc = arc_lengths(ordered)
                    hook = ordered[arc < min(0.75 * width_px, arc[-1] / 3)]
                    anchor = ordered[len(hook)] if len(hook) < len(ordered) else ordered[-1]
                    ends.append((branch.index, anchor, outward, hook))
    bridged = skeleton.copy()
    used: set[int] = set()
    for i, (bi, pi, di, hook_i) in enumerate(ends):
        best = None
        for j, (bj, pj, dj, hook_j) in enumerate(ends):
            if j <= i or bi == bj or i in used or j in used:
                continue
            gap = pj - pi
            distance = float(np.hypot(*gap))
            if distance < 1.0 or distance > reach_px:
                continue
            # The two pieces point at each other along one line: parallel, facing, and the
            # second end lies within about a shaft's width of the first piece's line.
            lateral = abs(float(di[0] * gap[1] - di[1] * gap[0]))
            if (
                float(np.dot(di, -dj)) < math.cos(math.radians(30))
                or float(np.dot(gap, di)) <= 0
                or lateral > max(0.75 * width_px, 4.0)
            ):
                continue
            if best is None or distance < best[0]:
                best = (distance, j, pj, hook_j)
        if best is None:
            continue
        _, j, pj, hook_j = best
        used.update((i, j))
        for x, y in (*hook_i, *hook_j):
            bridged[round(y), round(x)] = False
        steps = math.ceil(best[0]) * 2 + 1
        for t in np.linspace(0.0, 1.0, steps):
            x, y = pi + (pj - pi) * t
            bridged[round(y), round(x)] = True
    return skeletonize(bridged)


def _octagon_closing(values: np.ndarray, width_px: float, *, outside: float) -> np.ndarray:
    """Grey closing of ``values`` by a regular octagon ``width_px`` across, as four line
    segments in turn (each pass costs a few operations per pixel; a disc's footprint would
    cost hundreds). Beyond the image the values are ``outside``. An octagon reaches about
    as far in every direction; a square reaches 1.4 times further along its diagonals and
    bridged a hair's end to the opening of another lying that far off."""
    side = width_px / (1 + math.sqrt(2))
    straight = max(1, round(side)) | 1
    slanted = max(1, round(side / math.sqrt(2))) | 1
    lines = (
        np.ones((1, straight), dtype=bool),
        np.ones((straight, 1), dtype=bool),
        np.eye(slanted, dtype=bool),
        np.fliplr(np.eye(slanted, dtype=bool)),
    )
    # Padded with ``outside`` beyond the octagon's reach and cropped after: eroding with
    # ``outside`` taken for what lies past the edge would pull the closing below the values
    # in a strip along the edges (a closing never does), and no valley there would be cut.
    pad = straight + 2 * slanted + 1
    out = np.pad(values, pad, mode="constant", constant_values=outside)
    for footprint in lines:
        out = ndimage.grey_dilation(out, footprint=footprint, mode="nearest")
    for footprint in lines:
        out = ndimage.grey_erosion(out, footprint=footprint, mode="nearest")
    return out[pad:-pad, pad:-pad]


def _noise_levels(contrast: np.ndarray) -> tuple[float, float]:
    """The skin's median contrast and its robust spread (mostly skin, so robust statistics)."""
    sample = contrast[::2, ::2]
    median = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - median)))
    return median, max(spread, 1e-3)


def _ostium_score(
    contrast: np.ndarray,
    centreline: np.ndarray,
    half_width_px: float,
    point: np.ndarray,
    radius_px: float,
) -> float:
    """Median contrast of the skin around ``point``, leaving out the hair's own shaft.

    A follicle opening is a darker disc a little wider than the shaft, centred where the
    shaft leaves it; beyond a clipped tip there is only skin.
    """
    height, width = contrast.shape
    r = math.ceil(radius_px)
    x, y = round(point[0]), round(point[1])
    y0, y1, x0, x1 = max(0, y - r), min(height, y + r + 1), max(0, x - r), min(width, x + r + 1)
    if y0 >= y1 or x0 >= x1:
        return 0.0
    ys, xs = np.mgrid[y0:y1, x0:x1]
    disk = (xs - point[0]) ** 2 + (ys - point[1]) ** 2 <= radius_px**2
    near = centreline[
        np.hypot(centreline[:, 0] - point[0], centreline[:, 1] - point[1])
        <= radius_px + half_width_px + 2
    ]
    if len(near):
        # Distances from the disc's pixels to the shaft's axis, without a pixels x points
        # matrix (a wide shaft at a fine calibration would make that one huge).
        gap, _ = cKDTree(densify(near, 0.5)).query(np.stack([xs[disk], ys[disk]], axis=1))
        inside = np.zeros_like(disk)
        inside[disk] = gap > half_width_px + 1.5
        disk = inside
    if disk.sum() < 3:
        return 0.0
    return float(np.median(contrast[y0:y1, x0:x1][disk]))


def _outward(
    points: np.ndarray, at_start: bool, steps: int = 6
) -> tuple[np.ndarray, np.ndarray | None]:
    """A path's end point and the unit direction it leaves the path by (over its last
    ``steps`` steps), or None for the direction where the path has none."""
    end = points[0] if at_start else points[-1]
    if len(points) < 2:
        return end, None
    inner = (
        points[min(len(points) - 1, steps)] if at_start else points[max(0, len(points) - 1 - steps)]
    )
    direction = end - inner
    norm = float(np.hypot(*direction))
    return end, (direction / norm if norm > 1e-9 else None)


def _extend(points: np.ndarray, distance_px: float, at_start: bool) -> np.ndarray:
    """The end point pushed ``distance_px`` further along the path's own direction."""
    end, direction = _outward(points, at_start)
    return end if direction is None else end + direction * distance_px


def _at(grid: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``grid``'s values at the pixels nearest ``points`` (x, y), clipped into the grid."""
    rows = np.clip(points[:, 1].round().astype(int), 0, grid.shape[0] - 1)
    cols = np.clip(points[:, 0].round().astype(int), 0, grid.shape[1] - 1)
    return grid[rows, cols]


def _split_at_kinks(
    points: np.ndarray, width_px: float, nodes: np.ndarray, max_turn_deg: float = 25.0
) -> list[tuple[int, int]]:
    """Where to cut the path: at sharp turns (a shaft bends gently; two hairs meet at an angle).

    Returns (start, stop) index ranges of ``points``, one per piece.

    ``points`` are one pixel apart. The turn at each point is measured between the chords
    a shaft and a half wide before and after it, so that pixel noise does not count. Turns
    near a junction (``nodes``) were already judged when the path was chained through it.
    """
    span = int(max(8, 1.5 * width_px))
    n = len(points)
    if n < 2 * span + 3:
        return [(0, n)]
    before = points[span:-span] - points[: n - 2 * span]
    after = points[2 * span :] - points[span:-span]
    cosine = (before * after).sum(axis=1) / (np.hypot(*before.T) * np.hypot(*after.T) + 1e-9)
    turn = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    sharp = turn > max_turn_deg
    if len(nodes):
        # Chaining allowed gentler turns through a junction, but the skeleton's detour via
        # the junction's centre bends the path there; only a corner sharper than both is cut.
        middle = points[span:-span]
        gap = distance_to_nearest(middle, nodes)
        sharp &= (gap > 2.0 * width_px + 4) | (turn > 2 * max_turn_deg)
    cuts = []
    labels, count = ndimage.label(sharp)
    for label in range(1, count + 1):
        run = np.nonzero(labels == label)[0]
        cuts.append(int(run[np.argmax(turn[run])]) + span)
    if not cuts:
        return [(0, n)]
    bounds = [0, *cuts, n - 1]
    # Each piece runs from one cut to the next, sharing the cut point with its neighbour.
    return [(start, stop + 1) for start, stop in itertools.pairwise(bounds) if stop > start]


def _faint_hooks(
    contrast: np.ndarray,
    points: np.ndarray,
    split: list[tuple[int, int]],
    half_width: np.ndarray,
    um_per_px: float,
) -> set[int]:
    """Which pieces of a path cut at its kinks (indices into ``split``) are the skeleton
    running on from a shaft into the fainter skin of its opening, not a hair: shorter than
    ``HOOK_MAX_UM``, at an end of the path, under ``HOOK_CONTRAST_SHARE`` as dark along
    the outer half of their axis as the piece they turn off, and no narrower in the mask.

    A shaft keeps its pigment along its length. Where a shaft leaves its opening near the
    opening's rim, the darker skin of the opening joins the mask beside the shaft's end, and
    the skeleton turns off the shaft into it: a short line of the opening's darkness,
    ending in the opening, which would pass for a short hair with its exit in view.
    """
    if len(split) < 2:
        return set()
    faint = set()
    for index, neighbour in ((0, 1), (len(split) - 1, len(split) - 2)):
        start, stop = split[index]
        piece = points[start:stop]
        width_px = float(np.median(2 * _at(half_width, piece)))
        length_um = (polyline_length(piece) + width_px) * um_per_px
        if length_um >= HOOK_MAX_UM:
            continue
        # The half away from the kink: the blur of the shaft's end darkens the other.
        outer = piece[: max(1, len(piece) // 2)] if index == 0 else piece[len(piece) // 2 :]
        shaft = points[split[neighbour][0] : split[neighbour][1]]
        # An opening is wider than its shaft; a pale hair fainter than a dark one it meets
        # is a thin one (vellus hairs carry little pigment), and narrower.
        if float(np.median(_at(contrast, outer))) < HOOK_CONTRAST_SHARE * float(
            np.median(_at(contrast, shaft))
        ) and width_px >= float(np.median(2 * _at(half_width, shaft))):
            faint.add(index)
    return faint


def _ends_left_out(width_px: float, end_skip_px: float) -> int:
    """How many path points at each end a band's width is not read on: half a shaft's
    width plus ``end_skip_px`` and 2 px, where the skeleton runs into a rounded tip or an
    opening's disc."""
    return int(0.5 * width_px + end_skip_px) + 2


def _overlap_step(
    points: np.ndarray, half_width: np.ndarray, end_skip_px: float
) -> tuple[int, bool] | None:
    """Where a band two shafts wide narrows to one: the index, and whether the wide part
    comes first. ``None`` when the band keeps its width.

    Hairs leaving one opening at nearly the same angle lie over each other for most of
    their length; the skeleton sees one band. Where the shorter one ends the band narrows
    by a shaft's width and stays narrow: that step, held on each side for three of that
    side's widths (and ``STEP_LEAST_HOLD_PX``), tells two hairs from one.
    """
    widths = 2.0 * _at(half_width, points)
    n = len(widths)
    narrow = float(np.median(widths))
    # Leave out the ends, where the skeleton runs into a rounded tip or an opening's disc.
    skip = _ends_left_out(narrow, end_skip_px)
    hold = STEP_LEAST_HOLD_PX
    if n < 2 * hold + 2 * skip:
        return None
    inner = slice(skip, n - skip)
    best: tuple[float, int, bool] | None = None
    for cut in range(skip + hold, n - skip - hold, 2):
        head = (
            float(np.median(widths[inner][: max(1, cut - inner.start)]))
            if cut > inner.start
            else 0.0
        )
        tail = float(np.median(widths[cut : inner.stop])) if inner.stop > cut else 0.0
        if min(head, tail) <= 0:
            continue
        # Each side is held for three of its own widths, not of the band's median: a
        # thin hair running on past a thick one's tip shows for three of its own widths
        # long before it shows for three of the thick one's.
        if cut - skip < 3.0 * head or n - skip - cut < 3.0 * tail:
            continue
        ratio = max(head, tail) / min(head, tail)
        if best is None or ratio > best[0]:
            best = (ratio, cut, head > tail)
    if best is None or best[0] < OVERLAP_WIDTH_RATIO:
        return None
    return best[1], best[2]


def _wedge_step(
    points: np.ndarray, half_width: np.ndarray, end_skip_px: float
) -> tuple[int, bool, int] | None:
    """Where a band widening steadily from one end narrows at once to one shaft: the
    index, whether the widening part comes first, and how many points before (or after)
    the index show it widest. ``None`` for any other band.

    Two hairs leaving one opening a few degrees apart lie in one band one shaft wide at
    the opening that widens as they part, until the shorter one's tip, where it drops to
    the longer one's width. Over the whole wide side the band is too narrow on average
    for ``_overlap_step``, and the drop spoils the straight line of ``_fan``.
    """
    widths = 2.0 * _at(half_width, points)
    n = len(widths)
    narrow = float(np.percentile(widths, 25))
    # The widening side ends in the opening; the narrow side in the longer hair's tip.
    skip = _ends_left_out(narrow, end_skip_px)
    tip_skip = _ends_left_out(narrow, 0.0)
    hold = max(STEP_LEAST_HOLD_PX, round(3 * narrow))
    tail_hold = max(STEP_LEAST_HOLD_PX, round(WEDGE_TAIL_HOLD * narrow))
    best: tuple[float, int, bool, int] | None = None
    for wide_first in (True, False):
        ordered = widths if wide_first else widths[::-1]
        y = ordered[skip : n - tip_skip]
        m = len(y)
        x = np.arange(m, dtype=float)
        sx, sxx = np.cumsum(x), np.cumsum(x * x)
        sy, sxy, syy = np.cumsum(y), np.cumsum(x * y), np.cumsum(y * y)
        for cut in range(2 * hold, m - tail_hold + 1):
            k = cut - 1
            denominator = cut * sxx[k] - sx[k] ** 2
            if denominator <= 0:
                continue
            slope = (cut * sxy[k] - sx[k] * sy[k]) / denominator
            if slope <= 0:
                continue
            intercept = (sy[k] - slope * sx[k]) / cut
            head_error = max(float(syy[k] - intercept * sy[k] - slope * sxy[k]), 0.0)
            tail = y[cut:]
            single = float(np.median(tail))
            top = intercept + slope * k
            if single <= 1.0 or top < OVERLAP_WIDTH_RATIO * single:
                continue
            near = max(STEP_LEAST_HOLD_PX, round(2 * single))
            if float(np.median(y[max(0, cut - near) : cut])) < OVERLAP_WIDTH_RATIO * single:
                continue
            # The wide side is a straight widening, not a bump or a second step.
            if math.sqrt(head_error / cut) > WEDGE_LINE_ERROR * single:
                continue
            error = head_error + float(np.sum((tail - tail.mean()) ** 2))
            if best is None or error < best[0]:
                index = skip + cut if wide_first else n - skip - cut
                best = (error, index, wide_first, near)
    if best is None:
        return None
    return best[1], best[2], best[3]


def _fan(
    points: np.ndarray, half_width: np.ndarray, end_skip_px: float
) -> tuple[bool, slice, float] | None:
    """Whether the band widens steadily from one end to the other: whether the narrow end
    is the path's start, the stretch of path indices nearest it (away from the end's
    opening) where one shaft can best be measured, and by how many px the two shafts
    stand apart there on average. ``None`` for a band that keeps its
    width, or changes it in one step (``_overlap_step``'s case).

    Two hairs leaving one opening a few degrees apart lie in one band that is one shaft
    wide at the opening and widens with the distance from it; a single clipped shaft keeps
    its width (it tapers only towards a tip it no longer has).
    """
    widths = 2.0 * _at(half_width, points)
    n = len(widths)
    shaft = float(np.percentile(widths, 25))
    skip = _ends_left_out(shaft, end_skip_px)
    inner = widths[skip : n - skip]
    m = len(inner)
    if m < max(16, 6 * shaft):
        return None
    index = np.arange(m, dtype=float)
    slope, intercept = np.polyfit(index, inner, 1)
    first, last = intercept, intercept + slope * (m - 1)
    narrow, wide = min(first, last), max(first, last)
    if narrow <= 1.0 or wide < FAN_WIDTH_RATIO * narrow:
        return None
    line_error = float(np.mean((inner - (intercept + slope * index)) ** 2))
    # The best one-step fit: two constant stretches, split anywhere (cumulative sums).
    total, squares = np.cumsum(inner), np.cumsum(inner**2)
    cut = np.arange(1, m)
    head = squares[cut - 1] - total[cut - 1] ** 2 / cut
    tail = (squares[-1] - squares[cut - 1]) - (total[-1] - total[cut - 1]) ** 2 / (m - cut)
    step_error = float(np.min(head + tail)) / m
    if line_error >= step_error:
        return None
    narrow_first = bool(last > first)
    third = max(3, m // 3)
    near = slice(skip, skip + third) if narrow_first else slice(n - skip - third, n - skip)
    # The shafts part by ``slope`` px per px along the path, so over that stretch the band
    # is, on average, this much wider than one shaft.
    return narrow_first, near, abs(float(slope)) * (skip + third / 2)


def _off_the_stem(
    points: np.ndarray, shared: np.ndarray, half_width: np.ndarray, width_px: float
) -> np.ndarray:
    """The centreline moved off the middle of a band it shares with another hair, to its
    own side of the band.

    Where two hairs leave one opening at a small angle they lie side by side in one band,
    and the skeleton runs down the band's middle, between them. Each hair's own axis lies
    half its width in from the band's edge on the side its unshared part leaves towards
    (the band's half width is the distance to its edge from the middle). A stretch whose
    two unshared neighbours leave towards opposite sides (a shallow crossing) is kept.
    """
    n = len(points)
    if n < 3 or not shared.any():
        return points
    out = points.copy()
    tangent = profiles.tangents(points)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    band = _at(half_width, points)
    reach = max(3, round(3 * width_px))
    labels, count = ndimage.label(shared)
    for label in range(1, count + 1):
        run = np.nonzero(labels == label)[0]
        first, last = int(run[0]), int(run[-1])
        direction = points[last] - points[first]
        norm = float(np.hypot(*direction))
        if norm < 1.0:
            continue
        sides = []
        # The unshared neighbour on each side of the run: where it heads, off the run's line.
        for anchor, beyond in ((last, min(n - 1, last + reach)), (first, max(0, first - reach))):
            if beyond == anchor:
                continue
            away = points[beyond] - points[anchor]
            cross = float(direction[0] * away[1] - direction[1] * away[0]) / norm
            if abs(cross) >= 0.5:
                sides.append(1.0 if cross > 0 else -1.0)
        if not sides or min(sides) != max(sides):
            continue
        offset = np.clip(band[run] - width_px / 2, 0.0, width_px / 2)
        # The distance map steps by whole pixels; a running median steadies it.
        span = max(1, round(width_px)) | 1
        offset = ndimage.median_filter(offset, size=span, mode="nearest")
        out[run] = points[run] + sides[0] * normal[run] * offset[:, None]
    # Moved off a band at the image's edge, a point must not leave the image.
    height, width = half_width.shape
    out[:, 0] = np.clip(out[:, 0], -0.5, width - 0.5)
    out[:, 1] = np.clip(out[:, 1], -0.5, height - 0.5)
    return out


def _parting(
    points: np.ndarray, cut: int, margin: int, most_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """The lines of two hairs that leave one opening in one band widening steadily from
    it (``points``, the band's middle, from the exit) until the shorter one ends at index
    ``cut``: the longer one's, running on alone beyond, and the shorter one's.

    The two part steadily from the opening, so along the band each lies off its middle
    by a share of the longer one's offset where it runs on alone (``margin`` points past
    the cut, beyond the skeleton's jog there) that grows with the distance from the
    opening, the shorter one to the other side; never by more than ``most_px`` (the room
    one shaft has in the band beside the other). The jog itself is left out.
    """
    n = len(points)
    beyond = cut + margin
    if cut < 2 or beyond >= n:
        return points, points[: cut + 1]
    # The band's middle is read short of the cut, where the skeleton already bends
    # towards the longer hair running on.
    anchor = max(0, cut - margin)
    base = max(0, anchor - 2 * margin)
    direction = points[anchor] - points[base]
    norm = float(np.hypot(*direction))
    if norm < 1.0:
        return points, points[: cut + 1]
    direction = direction / norm
    away = points[beyond] - points[anchor]
    lateral = float(np.clip(direction[0] * away[1] - direction[1] * away[0], -most_px, most_px))
    tangent = profiles.tangents(points[: cut + 1])
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    arc = arc_lengths(points[: beyond + 1])
    shift = normal * (lateral * arc[: cut + 1] / max(float(arc[beyond]), 1e-9))[:, None]
    return np.vstack([points[: cut + 1] + shift, points[beyond:]]), points[: cut + 1] - shift


def _pair_offsets(points: np.ndarray, half_width: np.ndarray, shaft_px: float) -> np.ndarray:
    """How far each of two shafts lying side by side in one band sits off the band's middle,
    per point of the middle line.

    Each shaft's axis lies half its width in from the band's edge; where the band is only
    one shaft wide (at a shared opening) the two axes meet. Read from the band itself, not
    from one width for the whole path: a pair fanning out from one opening is narrow at the
    opening and wide further on.
    """
    band = _at(half_width, points).astype(float)
    span = max(1, round(shaft_px)) | 1
    band = ndimage.median_filter(band, size=span, mode="nearest")
    return np.clip(band - shaft_px / 2, 0.0, shaft_px / 2)


def _shaft_runs_out(
    contrast: np.ndarray, points: np.ndarray, side: int, width_px: float, core: float
) -> bool:
    """Whether the shaft leaves the image at full width at its ``side`` end.

    A shaft whose start lies inside the image ends there in a round cap, so the image edge
    cuts at most the cap, narrower than the shaft; a shaft cut by the edge crosses it at
    full width. The width where the axis meets the edge is read on the shaft's dark core
    (``core``: half the shaft's own contrast), so that the paler opening around it does
    not count, and corrected for the angle at which the shaft meets the edge.
    """
    height, width = contrast.shape
    # The direction over two widths of the path: over a few pixels it follows the bend of
    # the skeleton at the shaft's end, and may seem to run along the edge.
    end, direction = _outward(points, at_start=side == 0, steps=max(6, round(2 * width_px)))
    if direction is None:
        return False
    # The edge the shaft heads into: the first one its axis meets going on from the end, as
    # (distance, axis of the coordinate the edge fixes, its value). Ties go to the x edges,
    # whichever way up the image is.
    hits = []
    for axis, limit in ((0, width - 1.0), (1, height - 1.0)):
        step = float(direction[axis])
        if abs(step) > 1e-9:
            value = limit if step > 0 else 0.0
            hits.append((max(0.0, (value - float(end[axis])) / step), axis, value))
    t, axis, value = min(hits)
    along = abs(float(direction[axis]))
    if along < 0.2:  # running along the edge, not into it: the width there says nothing
        return False
    if t > 2 * width_px:
        return False
    meet = end + t * direction
    reach = math.ceil(1.5 * width_px / along) + 2
    other = 1 - axis
    centre = round(float(meet[other]))
    limit = width if other == 0 else height
    lo, hi = max(0, centre - reach), min(limit, centre + reach + 1)
    if lo >= hi:
        return False
    line = contrast[round(value), lo:hi] if axis == 1 else contrast[lo:hi, round(value)]
    runs, count = ndimage.label(line >= core)
    label = runs[min(max(centre - lo, 0), len(runs) - 1)]
    if not label and count:
        # The axis met the edge beside the band (a path's end bends a little where the
        # skeleton runs into the shaft's end or its opening): the band nearest it.
        label = _nearest_run(runs, range(1, count + 1), centre - lo)
    if not label:
        return False
    return int(np.count_nonzero(runs == label)) * along >= 0.75 * width_px


def _nearest_run(runs: np.ndarray, labels: Iterable[int], position: float) -> int:
    """Of the ``labels`` of ``runs`` (a line labelled by ``ndimage.label``), the one with a
    pixel nearest ``position`` (the first of those as near)."""
    offsets = np.abs(np.arange(len(runs)) - position)
    return int(min(labels, key=lambda label: float(offsets[runs == label].min())))


def _red_shifted(change: np.ndarray) -> bool:
    """Whether a line's colour change from the skin (red, green, blue) is a vessel's:
    haemoglobin takes green far more than red, melanin takes all colours alike."""
    magnitude = float(np.linalg.norm(change))
    return bool(magnitude > 0 and change[1] < 0 and (change[1] - change[0]) / magnitude < -0.2)


def _nearest_edge(point: np.ndarray, shape: tuple[int, int]) -> tuple[int, int]:
    """The image edge nearest ``point`` (x, y): its axis (0 for the left and right edges,
    whose x is fixed; 1 for the top and bottom) and its row or column index."""
    height, width = shape
    x, y = float(point[0]), float(point[1])
    _, axis, index = min(
        (x, 0, 0), (width - 1 - x, 0, width - 1), (y, 1, 0), (height - 1 - y, 1, height - 1)
    )
    return axis, index


def _edge_run(
    contrast: np.ndarray, axis: int, index: int, foot: float, reach_px: float, level: float
) -> tuple[np.ndarray, float] | None:
    """Where a dark band meets an image edge (``axis`` and ``index`` as ``_nearest_edge``
    gives them) near ``foot`` (the position along that edge): the middle of the run of edge
    pixels at or over ``level`` nearest the foot (x, y), and the run's whole length in
    pixels (a band meeting the edge at a slant crosses it over a long run). None when no
    such run comes within ``reach_px`` of the foot."""
    line = contrast[:, index] if axis == 0 else contrast[index, :]
    runs, count = ndimage.label(line >= level)
    if not count:
        return None
    lo, hi = max(0, math.floor(foot - reach_px)), min(len(line), math.ceil(foot + reach_px) + 1)
    near = np.unique(runs[lo:hi])
    near = near[near > 0]
    if not len(near):
        return None
    where = np.nonzero(runs == _nearest_run(runs, near, foot))[0]
    middle = float(where.mean())
    meet = np.array([index, middle]) if axis == 0 else np.array([middle, index])
    return meet.astype(float), float(len(where))


def _edge_stubs(
    contrast: np.ndarray,
    difference: np.ndarray,
    unread: list[tuple[np.ndarray, float]],
    candidates: list[_Candidate],
    core_level: float,
    max_shaft_px: float,
) -> list[_Candidate]:
    """The hairs among the pieces at the image's edge that were not taken for hairs
    (``unread``: centreline and the mask's width along it; each has an end within half that
    width and 3 px of the edge) that leave the skin just inside the edge and run straight
    out of it.

    Of such a hair only its root shows: a short dark band with a rounded end in its
    opening, cut off by the edge. The skeleton of so short a band follows its visible
    middle, not its axis, and no profile can be read across it, yet a practitioner counts
    it (its exit is in view). The root is the piece's point furthest from the edge it lies
    nearest. A piece is taken for one when, along a straight line from its root to the
    middle of the band where the band meets the edge: the band crosses the edge at about
    a shaft's width (no wider than ``max_shaft_px``), the line is at least half as long as
    that width (a rounded root's reach), it is darker than the skin and not red-shifted (a
    flake, a highlight, a vessel), at least ``core_level`` in contrast (an opening cut by
    the edge is far paler than a shaft), and no shaft goes on past the root (else it is a
    piece of a longer hair); and it lies along no hair already found nor another such
    root. Its path is that line, from the root; its width is not measured (its class is
    'unmeasured'). Whether its opening shows is judged with the other exits.
    """
    height, width = contrast.shape
    taken = [c.points for c in candidates]
    found = cKDTree(np.vstack(taken)) if taken else None
    out: list[_Candidate] = []
    for points, band_px in unread:
        # Measured from the edge the piece lies nearest: the root is its point furthest
        # from it (the skeleton of so short a band may run along the edge, or meet it).
        axis, index = _nearest_edge(points.mean(axis=0), (height, width))
        depth = np.abs(points[:, axis] - index)
        inner = points[int(np.argmax(depth))]
        outer = points[int(np.argmin(depth))]
        hit = _edge_run(
            contrast, axis, index, float(outer[1 - axis]), 1.5 * band_px + 3, core_level
        )
        if hit is None:
            continue
        meet, run_px = hit
        direction = meet - inner
        length_px = float(np.hypot(*direction))
        if length_px < 1.0:
            continue
        # The band's width across the shaft: the run along the edge times the sine of the
        # angle at which the axis meets it.
        crossing = abs(float(direction[axis])) / length_px
        if not 0.3 * band_px <= run_px * crossing <= min(1.5 * band_px, max_shaft_px):
            continue
        # The root's end: where the band's dark core, followed in from the edge, ends. The
        # skeleton may run on past it into the opening, paler than any shaft, and a line
        # through the opening would put the exit an opening's width too far in.
        line = densify(np.vstack([inner, meet]), 1.0)
        darkness_along = _at(contrast, line)
        pale = darkness_along < core_level
        gaps = np.nonzero(pale[1:] & pale[:-1])[0]  # a pixel of noise is not the end
        if len(gaps):
            line = line[gaps[-1] + 2 :]
            darkness_along = darkness_along[gaps[-1] + 2 :]
            if len(line) < 2:
                continue
            inner = line[0]
            length_px = float(np.hypot(*(meet - inner)))
        # The root's rounded cap reaches half a shaft's width in from where its band meets
        # the edge, at least: a shorter piece is a fleck on the edge.
        if length_px < 0.5 * run_px * crossing:
            continue
        change = _at(difference, line).mean(axis=0)
        # Darker than the skin: a bright fleck on the edge (a flake of dandruff, a highlight)
        # has as much contrast, and a flake is far more common there than a white root.
        if float(change.sum()) >= 0 or _red_shifted(change):
            continue
        darkness = float(np.median(darkness_along))
        if darkness < core_level:
            continue
        # A root ends inside in its rounded cap; a shaft going on past the inner end is a
        # longer hair whose piece at the edge lost its profile (its exit lies beyond).
        inward = -direction / float(np.hypot(*direction))
        beyond = inner + inward * np.arange(0.75, 1.51, 0.25)[:, None] * band_px
        if float(np.median(_at(contrast, beyond))) >= core_level:
            continue
        if found is not None:
            gap, _ = found.query(line, distance_upper_bound=band_px)
            if float(np.mean(gap <= band_px / 2)) >= 0.5:
                continue
        if any(
            float(np.mean(distance_to_nearest(line, other.points) <= band_px / 2)) >= 0.5
            for other in out
        ):
            continue  # the same root, reached by a second piece of its band
        out.append(
            _Candidate(
                points=line,
                width_px=None,
                contrast=darkness,
                start_node=None,
                end_node=None,
                pair=False,
                single_width_px=max(run_px * crossing, 0.5 * band_px),
                edge_stub=True,
            )
        )
    return out


def _edge_shapes_without_path(
    mask: np.ndarray, skeleton: np.ndarray, paths: list[Path], half_width: np.ndarray
) -> list[tuple[np.ndarray, float]]:
    """The shapes of the mask that meet the image's edge and hold no hair path, as pieces
    for ``_edge_stubs``: the skeleton's pixels in each (x, y) and the mask's widest width
    at them.

    A root cut by the edge close to where its hair leaves the skin shows little more than
    its cap, a shape about as long as it is wide: its skeleton is a pixel or two, shorter
    than any branch a path is made of, and it would be lost before any test.
    """
    height, width = mask.shape
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if not count:
        return []
    at_edge = np.zeros(count + 1, dtype=bool)
    for line in (labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]):
        at_edge[line] = True
    for path in paths:
        cols = np.clip(np.rint(path.points[:, 0]).astype(int), 0, width - 1)
        rows = np.clip(np.rint(path.points[:, 1]).astype(int), 0, height - 1)
        at_edge[labels[rows, cols]] = False
    at_edge[0] = False
    rows, cols = np.nonzero(skeleton & at_edge[labels])
    out = []
    for label in np.unique(labels[rows, cols]):
        mine = labels[rows, cols] == label
        points = np.stack([cols[mine], rows[mine]], axis=1).astype(float)
        out.append((points, max(float(np.max(2 * half_width[rows[mine], cols[mine]])), 1.0)))
    return out


def _near_border(point: np.ndarray, shape: tuple[int, int], margin_px: float) -> bool:
    return bool(
        point[0] < margin_px
        or point[1] < margin_px
        or point[0] > shape[1] - 1 - margin_px
        or point[1] > shape[0] - 1 - margin_px
    )


def analyze(image: np.ndarray, um_per_px: float, roi: Roi | str | None = None) -> Result:
    """The hairs in ``image`` and the figures of those whose exit lies in ``roi``.

    ``image`` is an H x W (grey) or H x W x 3 array; ``um_per_px`` the calibration, without
    which nothing runs; ``roi`` a ``Roi``, its text form, or None for the whole image.
    Raises ``TrichoscopyError`` for input it cannot analyse; returns a result with flags
    (and possibly no hairs) for an image it can read but not trust.
    """
    pixels = as_rgb_array(image)
    scale = check_um_per_px(um_per_px)
    shape = (pixels.shape[0], pixels.shape[1])
    if roi is None:
        region = Roi.whole(shape)
    elif isinstance(roi, str):
        region = Roi.parse(roi)
    elif isinstance(roi, Roi):
        region = roi
    else:
        raise RegionError(
            f"The region {roi!r} is not understood: give a Roi or its text form "
            "(x,y,width,height or circle:cx,cy,r in pixels)."
        )
    region.check_inside(shape)
    flags: list[str] = []

    def finish(hairs: tuple[Hair, ...] = (), sigma: float | None = None) -> Result:
        return Result(
            hairs=hairs,
            um_per_px=scale,
            roi=region,
            image_shape=shape,
            flags=tuple(dict.fromkeys(flags)),
            version=VERSION,
            blur_sigma_px=sigma,
        )

    if 30.0 / scale < MIN_PX_PER_30UM:
        flags.append("under_resolved")
    if region.area_px * (scale / 10_000.0) ** 2 < 0.01:
        flags.append("small_region")
    rgb = pixels.astype(np.float32) / 255.0
    lum = _channel_mean(rgb)
    if float(lum.std()) < 0.01:
        flags.append("uniform_image")
        return finish()
    if float((_channel_min(rgb) > 0.97).mean()) > 0.25:
        flags.append("overexposed")
    if float((lum < 0.05).mean()) > 0.5:
        flags.append("underexposed")

    max_shaft_px = MAX_SHAFT_UM / scale
    background = _background(rgb, window_px=6.0 * max_shaft_px)
    difference = rgb - background
    bg_norm = np.maximum(_channel_norm(background), 0.05)
    bg_mean = _channel_mean(background)
    contrast = ndimage.gaussian_filter(_channel_norm(difference) / bg_norm, 0.8)
    typical_shaft_px = 60.0 / scale
    glare = _glare(rgb, background, typical_shaft_px)
    if glare.mean() > 0.005:
        flags.append("glare")
    skin_level, spread = _noise_levels(contrast)
    low = skin_level + max(4.0 * spread, 0.04)
    high = skin_level + max(8.0 * spread, 0.09)
    mask = apply_hysteresis_threshold(contrast, low, high) & ~glare
    min_area = (MIN_SHAFT_UM / scale) * (MIN_LENGTH_UM / scale) * 0.5
    mask = remove_small_objects(mask, max_size=max(4, int(min_area)))
    # Skin showing between two hairs that lie close: blur lifts it over the threshold and
    # joins the two into one band, but it is a valley, far below the hairs on either side.
    # Closing the contrast over a shaft's width fills each valley to the level of the hairs
    # that flank it; a pixel well under that level is skin. Closing leaves a convex shape
    # as it is, so the skin round a lone hair's rounded end (its opening) is not raised,
    # and the image's edge is taken for skin, so a hair is never flanked by its mirror.
    flanks = _octagon_closing(contrast, typical_shaft_px, outside=skin_level)
    # Cut by hysteresis, so that along a shallow valley noise cannot leave bridges across
    # it (a ladder the skeleton would turn into extra pieces).
    level = (contrast - skin_level) / np.maximum(flanks - skin_level, 1e-6)
    mask &= ~apply_hysteresis_threshold(-level, -VALLEY_GROW, -VALLEY_SEED)
    # Holes are filled after the cut: skin wholly enclosed by hair (two hairs from nearby
    # openings crossing) stays part of one shape, as the chaining through junctions
    # expects, and a highlight's pit inside a shaft is shaft. (So is a masked highlight
    # lying on a shaft, where its halo's ring of contrast encloses it: filled, it joins the
    # shaft's two sides. Keeping such highlights out of the mask broke more hairs than it
    # saved, hard tier count MAPE 14.2 to 15.0 % on the tuning seeds.)
    mask = ndimage.binary_fill_holes(mask) if mask.any() else mask
    # The skin's colour is read where hair is not: where hair hides most of the skin the
    # background (and so everything after it) cannot be trusted.
    if float(mask.mean()) > DENSE_MASK_SHARE or (not mask.any() and float(lum.std()) > 0.08):
        flags.append("dense_hair")
    if not mask.any():
        flags.append("no_hairs_found")
        return finish()

    half_width = ndimage.distance_transform_edt(mask)
    skeleton = skeletonize(mask, method="lee")
    skeleton = prune_spurs(skeleton, half_width)
    skeleton = _bridge_glare_gaps(
        skeleton, glare, typical_shaft_px, reach_px=4 * typical_shaft_px + 20
    )
    graph = build_graph(skeleton)
    widths_at_skeleton = 2 * half_width[skeleton]
    median_width_px = (
        float(np.median(widths_at_skeleton)) if widths_at_skeleton.size else typical_shaft_px
    )
    paths = hair_paths(graph, width_px=median_width_px)
    nodes = np.array(list(graph.nodes.values())) if graph.nodes else np.zeros((0, 2))

    def profile_along(
        points: np.ndarray, keep: np.ndarray, local: float
    ) -> profiles.Profile | None:
        """The median cross profile of a path at every other one of the ``keep`` points."""
        tangent = profiles.tangents(points)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        chosen = np.nonzero(keep)[0][::2]
        return profiles.cross_profile(
            difference,
            bg_norm,
            bg_mean,
            points[chosen],
            normal[chosen],
            half_span_px=max(2.5 * local, local / 2 + 6),
            align_within_px=max(2.0, 0.75 * local),
            in_image_within_px=local / 2 + 2,
        )

    # Profiles along each path, away from junctions (where another hair would widen them).
    measured = []
    pieces = []
    for path in paths:
        points, arc = profiles.resample_path(path.points, 1.0)
        if len(points) < 2:
            continue
        shared = np.interp(arc, arc_lengths(path.points), path.shared.astype(float)) > 0.5
        local = max(float(np.median(2 * _at(half_width, points))), 1.0)
        split = _split_at_kinks(points, local, nodes)
        faint = _faint_hooks(contrast, points, split, half_width, scale)
        for index, (start, stop) in enumerate(split):
            if index in faint:
                continue
            # Only the path's own ends keep its junctions; cut ends are free.
            start_node = path.start_node if index == 0 else None
            end_node = path.end_node if index == len(split) - 1 else None
            pieces.append((points[start:stop], shared[start:stop], start_node, end_node))
    for points, shared, start_node, end_node in pieces:
        if len(points) < 2:
            continue
        # The band's width here sets how far from the ends and junctions a profile is
        # read, how far across, and the width a fit starts from. A stretch this hair shares
        # with another (hairs of one opening leaving in one band) is two shafts wide; where
        # the band runs on alone past their fork it is this hair's own. Taken over the
        # whole path, a short branch past a shallow fork had no point left to read, was
        # read on the shared stem instead, and was taken for a touching pair (3 hairs).
        own = ~shared if np.count_nonzero(~shared) >= 3 else np.ones(len(points), dtype=bool)
        local = max(float(np.median(2 * _at(half_width, points[own]))), 1.0)
        arc_px = polyline_length(points)
        if arc_px > 3 * local and float(np.hypot(*(points[-1] - points[0]))) < 0.8 * arc_px:
            continue  # curled round on itself: an opening's rim or a flake, not a shaft
        keep = np.ones(len(points), dtype=bool)
        end_margin = math.ceil(0.75 * local + 2)
        keep[:end_margin] = False
        keep[-end_margin:] = False
        if len(nodes):
            keep &= distance_to_nearest(points, nodes) > 1.2 * local + 3
        # A stretch another hair runs along too (a shared stem, a shallow crossing) is two
        # shafts wide: it would pass for a touching pair or a thick hair.
        keep &= ~shared
        if keep.sum() < 3:
            keep = np.ones(len(points), dtype=bool)
            keep[: max(1, len(points) // 4)] = False
            keep[-max(1, len(points) // 4) :] = False
        profile = profile_along(points, keep, local)
        measured.append((start_node, end_node, points, local, profile, shared))

    def profile_widens(
        points: np.ndarray, cut: int, wide_first: bool, local: float, near: int | None = None
    ) -> bool:
        """Whether the cross profile, not only the mask, is ``OVERLAP_WIDTH_RATIO`` times
        as wide (its span at half its height) on the wide side of ``cut`` as on the other.

        The mask's width follows where the threshold cuts the blurred edges of a band, which
        uneven lighting and the blur move along a single shaft; the profile's span at half
        its height does not move with them, and a second shaft widens it.
        """
        skip = _ends_left_out(local, OPENING_REACH_UM / scale)
        index = np.arange(len(points))
        head = (index >= skip) & (index < cut)
        tail = (index >= cut) & (index < len(points) - skip)
        if near is not None:
            # Only the stretch next to the cut is wide (a band widening towards it).
            if wide_first:
                head &= index >= cut - near
            else:
                tail &= index < cut + near
        spans = []
        for keep in (head, tail) if wide_first else (tail, head):
            profile = profile_along(points, keep, local) if keep.sum() >= 3 else None
            span = None if profile is None else profiles.outer_half_maximum_width(profile)
            if not span:
                return False
            spans.append(span)
        return spans[0] >= OVERLAP_WIDTH_RATIO * spans[1]

    def width_where(points: np.ndarray, keep: np.ndarray) -> float:
        """A shaft's width read from the profile over the ``keep`` points alone (where
        it lies alone in a band it shares elsewhere); the band's width there if no
        profile fits."""
        band = max(float(np.median(2 * _at(half_width, points[keep]))), 1.0)
        profile = profile_along(points, keep, band)
        fit = (
            None
            if profile is None
            else profiles.fit_width(
                profile, sigma_px=sigma, max_radius_px=max_shaft_px, initial_width_px=band
            )
        )
        return fit.width_px if fit is not None and fit.converged and fit.residual < 0.35 else band

    # The optics' blur, measured on the hairs wide enough to show it apart from their width.
    sigmas = []
    # The longest few of the wide hairs suffice (each fit costs milliseconds); short pieces
    # and blobs give few profiles and a poor fit.
    wide = [
        (profile.samples, local, profile)
        for _start, _end, _points, local, profile, _shared in measured
        if profile is not None and local >= 6 and profile.samples >= 10
    ]
    for _samples, local, profile in sorted(wide, key=lambda m: -m[0])[:8]:
        fit = profiles.fit_width(
            profile, sigma_px=None, max_radius_px=max_shaft_px, initial_width_px=local
        )
        if fit is not None and fit.converged and fit.residual < 0.05 and 0.25 < fit.sigma_px < 3.9:
            sigmas.append(fit.sigma_px)
    sigma = float(np.median(sigmas)) if sigmas else 1.0
    if not sigmas:
        flags.append("blur_not_measured")
    elif sigma * scale > 8.0:
        flags.append("blurred")

    candidates: list[_Candidate] = []
    # Pieces at the edge not taken for hairs, perhaps roots cut by the edge: to start with,
    # those too short to make a path.
    unread = _edge_shapes_without_path(mask, skeleton, paths, half_width)
    contrasts = []
    for start_node, end_node, points, local, profile, shared in measured:
        has_shared = bool(shared.any())
        length_px = polyline_length(points) + local
        touches_border = _near_border(points[0], shape, local / 2 + 3) or _near_border(
            points[-1], shape, local / 2 + 3
        )
        # A piece cut by the edge may be short, but not shorter than a hair's least view.
        least_um = MIN_EDGE_PIECE_UM if touches_border else MIN_LENGTH_UM
        # A skeleton stops about the mask's half width short of its shape's end, which may
        # be the edge: where a root's opening joins the mask there, the shape is far wider
        # than the shaft, and its skeleton ends further in than the piece's width allows.
        reaches_edge = touches_border or any(
            _near_border(end, shape, float(_at(half_width, end[None])[0]) + 3)
            for end in (points[0], points[-1])
        )
        if length_px * scale < least_um or profile is None:
            # Too short, or cut by the edge across or along so that no width can be read:
            # at the edge it may still be a hair leaving the skin just inside it.
            if reaches_edge:
                unread.append((points, local))  # perhaps a root cut by the edge
            continue
        if _red_shifted(profile.colour_change):
            continue
        fit = profiles.fit_width(
            profile, sigma_px=sigma, max_radius_px=max_shaft_px, initial_width_px=local
        )
        width_px: float | None = None
        contrast_value = float(profile.values[np.abs(profile.offsets_px) <= 1].mean())
        if fit is not None and fit.converged and fit.residual < 0.35:
            width_px = fit.width_px
        elif fit is not None and fit.fwhm_px:
            width_px = fit.fwhm_px
        if width_px is not None and length_px < (2 if touches_border else 3) * width_px:
            if reaches_edge:
                unread.append((points, local))  # perhaps a root cut by the edge
            continue  # a blob (dandruff flake, an opening), not a shaft
        # The skeleton stops about half a shaft's width short of each end, so the length
        # above adds a width, read from the mask. There it takes in whatever darker skin the
        # mask joined to the line: a skeleton's hook into a follicle opening, or a line
        # through the dark skin between two openings, passed for a short hair (about a
        # third of the false hairs on easy tuning images). The shaft's own width is what
        # is missing.
        if width_px is not None and (polyline_length(points) + width_px) * scale < least_um:
            if reaches_edge:
                unread.append((points, local))  # perhaps a root cut by the edge
            continue
        pair = bool(
            width_px is not None
            and (width_px * scale > PAIR_WIDTH_UM or profiles.two_peaks(profile, width_px))
        )
        if pair:
            # One round shaft fits two side by side poorly; the span of their joint profile
            # at half its height is the sum of their widths.
            width_px = profiles.outer_half_maximum_width(profile) or width_px
        contrasts.append(contrast_value)
        overlap = None
        step = None
        fan = None
        parting = False
        # Should the opening show at the wide end: one shaft, as wide as measured (or, if no
        # width could be read, as the band), never a line without a width of its own.
        single_width_px = width_px if width_px is not None else local
        if not pair and not has_shared:
            fan = _fan(points, half_width, OPENING_REACH_UM / scale)
        if fan is not None:
            # Two shafts fanning out from one opening: each one's width is read where the
            # band holds it alone, near the opening.
            _narrow_first, near, apart_px = fan
            keep = np.zeros(len(points), dtype=bool)
            keep[near] = True
            joint_px = width_where(points, keep)
            # Near the opening the two shafts still overlap: the band there is one shaft
            # plus their parting.
            shaft_px = max(joint_px - apart_px, 0.5 * joint_px)
            pair, width_px = True, 2.0 * shaft_px
        elif not pair and not has_shared:
            step = _overlap_step(points, half_width, OPENING_REACH_UM / scale)
            if step is not None and not profile_widens(points, *step, local):
                step = None
            if step is None:
                wedge = _wedge_step(points, half_width, OPENING_REACH_UM / scale)
                if wedge is not None and profile_widens(points, *wedge[:2], local, wedge[2]):
                    step, parting = wedge[:2], True
        if step is not None:
            cut, wide_first = step
            overlap = points[: cut + 1] if wide_first else points[cut:]
            # The hair running on past the step lies alone on the narrow side: its width
            # is read there, not over the stretch it shares with the second shaft.
            lone = np.zeros(len(points), dtype=bool)
            skip = _ends_left_out(local, 0.0)
            if wide_first:
                lone[cut + skip : len(points) - skip] = True
            else:
                lone[skip : cut - skip] = True
            if lone.sum() >= 3:
                width_px = width_where(points, lone)
        candidates.append(
            _Candidate(
                points=points,
                width_px=width_px,
                contrast=contrast_value,
                start_node=start_node,
                end_node=end_node,
                pair=pair,
                overlap=overlap,
                parting=parting,
                shared=shared if has_shared else None,
                fan_narrow_end=None if fan is None else (0 if fan[0] else 1),
                single_width_px=single_width_px,
            )
        )
    if contrasts and unread:
        # A root is a shaft's end: at least half as dark as the image's median hair, the
        # share under which a line is an opening's skin (``_faint_hooks``).
        core_level = HOOK_CONTRAST_SHARE * float(np.median(contrasts))
        candidates.extend(
            _edge_stubs(contrast, difference, unread, candidates, core_level, max_shaft_px)
        )
    if contrasts and float(np.median(contrasts)) < 0.12:
        flags.append("low_contrast")

    # Exits: the end leaving a follicle opening, i.e. with darker skin around it.
    opening_shows = skin_level + max(2.0 * spread, 0.02)  # an opening's skin, in contrast
    judged = []
    for candidate in candidates:
        points = candidate.points
        w = candidate.width_px or median_width_px
        if candidate.edge_stub and candidate.single_width_px:
            w = candidate.single_width_px  # its band's width at the edge: none was measured
        # The skeleton stops about half a width short of a shaft's end; an opening dark
        # enough to join the mask pulls the end back into it instead.
        ends = [_extend(points, w / 4, True), _extend(points, w / 4, False)]
        margin = w / 2 + 3
        at_edge = [_near_border(end, shape, margin) for end in ends]
        radius = w / 2 + 30.0 / scale
        # Judged at the skeleton's end and half a width in from it, taking the darker: where
        # exactly a skeleton stops varies by a pixel or two (even with the image turned).
        inward = min(len(points) - 1, max(1, round(w / 2)))
        scores = [
            max(_ostium_score(contrast, points, w / 2, point, radius) for point in pair)
            for pair in ((points[0], points[inward]), (points[-1], points[-1 - inward]))
        ]
        judged.append((candidate, w, ends, at_edge, scores))
    # How dark this image's openings show where they are wholly in view: the darker end of
    # each hair lying inside the image.
    in_view = [max(scores) for _, _, _, at_edge, scores in judged if not any(at_edge)]
    typical_opening = float(np.median(in_view)) if in_view else skin_level
    stub_opening_shows = skin_level + max(
        1.5 * spread, 0.01, STUB_OPENING_SHARE * (typical_opening - skin_level)
    )
    hairs: list[Hair] = []
    exits: list[np.ndarray] = []
    for candidate, w, ends, at_edge, scores in judged:
        points = candidate.points
        if candidate.edge_stub:
            # Its path starts at the rounded root inside and runs straight out of the image.
            exit_index, seen = 0, scores[0] > stub_opening_shows
            if not seen:
                continue  # the tip of a hair from beyond the edge, or a flake: not counted
        elif at_edge[0] and at_edge[1]:
            # A short piece between two edges: a hair cut twice, or one that leaves the image
            # just after leaving its opening. It is the latter only where an opening shows
            # at one end, the shaft does not run out of the image there, and it does at the
            # other end (a piece lying along the edge does neither).
            exit_index = 0 if scores[0] >= scores[1] else 1
            core = 0.5 * candidate.contrast
            seen = (
                scores[exit_index] > opening_shows
                and scores[exit_index] > scores[1 - exit_index] + 0.01
                and not _shaft_runs_out(contrast, points, exit_index, w, core)
                and _shaft_runs_out(contrast, points, 1 - exit_index, w, core)
            )
        elif at_edge[0] or at_edge[1]:
            inner = 1 if at_edge[0] else 0
            # The end at the edge is the exit when the shaft's rounded root shows there:
            # its opening shows, darker than at the other end, and the shaft does not run
            # out of the image at full width (a shaft coming in from an opening beyond the
            # edge does, whatever of that opening's rim darkens the edge). Else the end in
            # view is, if its opening shows; else the exit lies beyond the edge. A root
            # centred within about a third of a shaft's width of the edge, either side of
            # it, cannot be told apart (docs/decisions/0006, item 19).
            edge = scores[1 - inner]
            if (
                edge > scores[inner] + 0.01
                and edge > opening_shows
                and not _shaft_runs_out(contrast, points, 1 - inner, w, 0.5 * candidate.contrast)
            ):
                exit_index, seen = 1 - inner, True
            else:
                exit_index, seen = inner, scores[inner] > opening_shows
        else:
            exit_index, seen = (0 if scores[0] >= scores[1] else 1), True
        if candidate.fan_narrow_end is not None and exit_index != candidate.fan_narrow_end:
            # Two hairs fanning from one opening are narrow there; a band narrowing away
            # from its opening is one shaft tapering to its tip (a regrowing hair's). (``w``
            # above was the pair's width; it only placed the ends and judged the openings.)
            candidate = replace(candidate, pair=False, width_px=candidate.single_width_px)
        # The path from its exit; ``ordered`` may be moved off it below, ``axis`` is not.
        axis = ordered = points if exit_index == 0 else points[::-1]
        exit_point = ends[exit_index]
        parted: np.ndarray | None = None  # the second shaft's line, where it was placed
        if candidate.pair and candidate.width_px:
            # Two shafts side by side: each is half as wide, a quarter-width off the axis.
            half = candidate.width_px / 2
            tangent = profiles.tangents(ordered, smooth_px=max(3.0, half))
            normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
            offset = _pair_offsets(ordered, half_width, half)
            for sign in (1.0, -1.0):
                line = ordered + sign * normal * offset[:, None]
                start = exit_point + sign * normal[0] * offset[0]
                hairs.append(_hair(len(hairs) + 1, line, half * scale, start, seen, region, shape))
                exits.append(start)
        else:
            width_um = None if candidate.width_px is None else candidate.width_px * scale
            if candidate.shared is not None and candidate.width_px is not None:
                shared = candidate.shared if exit_index == 0 else candidate.shared[::-1]
                ordered = _off_the_stem(ordered, shared, half_width, candidate.width_px)
            elif (
                candidate.parting
                and candidate.overlap is not None
                and np.array_equal(candidate.overlap[0], points[0]) == (exit_index == 0)
            ):
                cut = len(candidate.overlap) - 1
                single = candidate.width_px or w
                margin = max(3, round(single))
                band = float(np.median(_at(half_width, axis[max(0, cut - margin) : cut + 1])))
                ordered, parted = _parting(axis, cut, margin, max(0.0, band - single / 2))
            hairs.append(_hair(len(hairs) + 1, ordered, width_um, exit_point, seen, region, shape))
            exits.append(exit_point)
        if candidate.overlap is not None:
            # The second shaft lying along the wide stretch. It leaves the same opening when
            # the stretch reaches the exit; its own width cannot be read under the first.
            part = candidate.overlap
            at_exit = (
                float(np.hypot(*(part[0] - axis[0]))) < 2
                or float(np.hypot(*(part[-1] - axis[0]))) < 2
            )
            if parted is not None:
                line, second_exit, second_seen = parted, exit_point, seen
            elif at_exit:
                line = part if float(np.hypot(*(part[0] - axis[0]))) < 2 else part[::-1]
                second_exit, second_seen = exit_point, seen
            else:
                line = part if float(np.hypot(*(part[-1] - axis[-1]))) < 2 else part[::-1]
                second_exit, second_seen = line[0], not _near_border(line[0], shape, w / 2 + 3)
            hairs.append(_hair(len(hairs) + 1, line, None, second_exit, second_seen, region, shape))
            exits.append(second_exit)
            flags.append("overlapping_hairs")

    hairs, exits = _without_duplicates(hairs, exits, scale)
    hairs = _follicular_units(hairs, exits, max(2.0 * median_width_px, 80.0 / scale))
    if not hairs:
        flags.append("no_hairs_found")
    return finish(tuple(hairs), sigma=sigma)


def _hair(
    number: int,
    points: np.ndarray,
    width_um: float | None,
    exit_point: np.ndarray,
    seen: bool,
    region: Roi,
    shape: tuple[int, int],
) -> Hair:
    step = max(1, len(points) // 64)
    thinned = points[::step]
    if len(points) and (len(thinned) == 0 or not np.array_equal(thinned[-1], points[-1])):
        thinned = np.vstack([thinned, points[-1:]])
    x = float(np.clip(exit_point[0], -0.5, shape[1] - 0.5))
    y = float(np.clip(exit_point[1], -0.5, shape[0] - 0.5))
    return Hair(
        id=number,
        centreline_px=tuple((float(px), float(py)) for px, py in thinned),
        width_um=width_um,
        exit_px=(x, y),
        counted=bool(seen and region.contains(x, y)),
        exit_seen=bool(seen),
    )


def _without_duplicates(
    hairs: list[Hair], exits: list[np.ndarray], um_per_px: float
) -> tuple[list[Hair], list[np.ndarray]]:
    """The hairs less any whose line lies, for nearly all its length, near the axis of a
    longer one: two lines that close are one shaft found twice (a highlight along it split
    its band, or two pieces of the skeleton ran along it), not two hairs. Lines drawn for a
    second shaft under another (no width of their own) are kept. Hairs are renumbered,
    and ``exits`` follow them."""
    if not hairs:
        return hairs, exits
    lines = [densify(np.asarray(h.centreline_px)) for h in hairs]
    lengths = np.array([polyline_length(np.asarray(h.centreline_px)) for h in hairs])
    widths = np.array([np.nan if h.width_um is None else h.width_um for h in hairs])
    low = np.array([line.min(axis=0) if len(line) else np.full(2, np.inf) for line in lines])
    high = np.array([line.max(axis=0) if len(line) else np.full(2, -np.inf) for line in lines])
    trees: dict[int, cKDTree] = {}
    dropped = np.zeros(len(hairs), dtype=bool)
    # Candidates first by the boxes' centres: a hair is dropped only if most of its points
    # lie within reach of the other's line, so the two boxes' centres are no further apart
    # than their half diagonals and the reach together.
    finite = np.isfinite(low).all(axis=1)
    centres = np.where(finite[:, None], (low + high) / 2, -1e9)  # an empty line is near nothing
    half_diagonal = np.where(finite, np.hypot(*(high - low).T) / 2, 0.0)
    most_reach = DUPLICATE_REACH * float(np.nanmax(widths, initial=0.0)) / um_per_px
    nearby = cKDTree(centres).query_ball_point(
        centres, r=half_diagonal + float(np.max(half_diagonal)) + most_reach + 1.0
    )
    for i in np.argsort(lengths, kind="stable"):
        if np.isnan(widths[i]) or not len(lines[i]):
            continue
        others = np.array(sorted(nearby[i]), dtype=int)
        reach = DUPLICATE_REACH * np.fmax(widths[others], widths[i]) / um_per_px
        near = (
            ~dropped[others]
            & ~np.isnan(widths[others])
            & (lengths[others] >= lengths[i])
            & (others != i)
            & (low[others, 0] <= high[i, 0] + reach)
            & (low[others, 1] <= high[i, 1] + reach)
            & (high[others, 0] >= low[i, 0] - reach)
            & (high[others, 1] >= low[i, 1] - reach)
        )
        for j, reach_j in zip(others[near], reach[near], strict=True):
            if j not in trees:
                trees[j] = cKDTree(lines[j])
            gap, _ = trees[j].query(lines[i], distance_upper_bound=reach_j + 1)
            if float(np.mean(gap <= reach_j)) >= DUPLICATE_SHARE:
                dropped[i] = True
                break
    kept = [k for k in range(len(hairs)) if not dropped[k]]
    return (
        [replace(hairs[k], id=n) for n, k in enumerate(kept, start=1)],
        [exits[k] for k in kept],
    )


def _follicular_units(hairs: list[Hair], exits: list[np.ndarray], reach_px: float) -> list[Hair]:
    """Hairs whose exits lie within ``reach_px`` of each other share a follicular unit."""
    if not hairs:
        return hairs
    points = np.array(exits)
    parent = {i: i for i in range(len(points))}
    for i in range(len(points)):
        if not hairs[i].exit_seen:
            continue
        for j in range(i + 1, len(points)):
            if hairs[j].exit_seen and np.hypot(*(points[i] - points[j])) <= reach_px:
                parent[union_root(parent, i)] = union_root(parent, j)
    roots: dict[int, int] = {}
    out = []
    for i, hair in enumerate(hairs):
        if not hair.exit_seen:
            out.append(hair)
            continue
        out.append(replace(hair, unit=roots.setdefault(union_root(parent, i), len(roots) + 1)))
    return out
