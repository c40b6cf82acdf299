"""Scoring an analysis against a synthetic scene's ground truth.

Per image: the count error (detected minus true hairs exiting in the image), one-to-one
matches between detected and true hairs by their centrelines, and for matched hairs the
width error and whether the vellus/not-vellus call agrees. ``Summary`` pools images.

A detected hair matches a true one when most of its centreline lies within the tolerance of
the true centreline and it covers at least half of the true hair's visible length; matches
are made one to one, best first (``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from .analysis import analyze
from .geometry import densify, in_image
from .result import VELLUS_UNDER_UM, Result
from .synth import Scene, TruthHair

TOLERANCE_PX = 2.0  # hair-image-analysis.md section 9: centreline F1 at a 2 px tolerance
ON_LINE_FRACTION = 0.6
COVER_FRACTION = 0.5
# Classes are judged only away from the cut-off, where a few micrometres cannot flip them.
CLASS_BAND_UM = (25.0, 35.0)


@dataclass(frozen=True)
class ImageScore:
    true_count: int
    detected_count: int
    true_positives: int
    false_positives: int
    false_negatives: int
    width_errors_um: tuple[float, ...]
    class_agreements: tuple[bool, ...]
    seconds: float = 0.0
    peak_mb: float = 0.0
    # Why the count is off: hairs in each of ``COUNT_ERROR_CLASSES`` (``count_errors``).
    count_errors: dict[str, int] = field(default_factory=dict)

    @property
    def count_error(self) -> int:
        return self.detected_count - self.true_count

    @property
    def absolute_percentage_error(self) -> float:
        if self.true_count == 0:
            return 0.0 if self.detected_count == 0 else 100.0
        return 100.0 * abs(self.count_error) / self.true_count

    @property
    def percentage_error(self) -> float:
        if self.true_count == 0:
            return 0.0
        return 100.0 * self.count_error / self.true_count

    def as_json(self) -> dict[str, Any]:
        return {
            "true_count": self.true_count,
            "detected_count": self.detected_count,
            "count_error": self.count_error,
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
            "width_median_abs_error_um": _median(self.width_errors_um),
            "seconds": round(self.seconds, 3),
            "peak_mb": round(self.peak_mb, 1),
            "count_errors": dict(self.count_errors),
        }


def _median(values: tuple[float, ...] | list[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def scored_truth(scene: Scene) -> list[TruthHair]:
    """True hairs visible enough to be found: at least two shaft widths and 50 um in view."""
    out = []
    for hair in scene.hairs:
        width_px = hair.width_um / scene.um_per_px
        if hair.visible_length_px >= max(2 * width_px, 50.0 / scene.um_per_px):
            out.append(hair)
    return out


def _in_view(hair: TruthHair, shape: tuple[int, int]) -> np.ndarray:
    """The true centreline's points inside the image, about a pixel apart."""
    points = densify(np.asarray(hair.centreline_px))
    return points[in_image(points, shape)]


def _tolerance_px(hair: TruthHair, um_per_px: float) -> float:
    return TOLERANCE_PX + 0.15 * hair.width_um / um_per_px


def match_hairs(result: Result, scene: Scene) -> list[tuple[int, TruthHair]]:
    """One-to-one matches of ``result.hairs`` (by index) to the true hairs in view, in the
    order of the detections.

    A detection can match a hair when ``ON_LINE_FRACTION`` of its centreline lies within
    the tolerance (``TOLERANCE_PX`` plus 15 % of the hair's width) of the hair's, and it
    covers ``COVER_FRACTION`` of the hair's part in view; of the possible pairs, those
    closest overall are taken (``linear_sum_assignment``).
    """
    shape = scene.size_px
    in_view = [hair for hair in scene.hairs if hair.visible_length_px > 0]
    truth_points = [_in_view(hair, shape) for hair in in_view]
    trees = [cKDTree(points) if len(points) else None for points in truth_points]
    detected = [densify(np.asarray(h.centreline_px)) for h in result.hairs]
    cost = np.full((len(detected), len(in_view)), 10.0)
    for i, points in enumerate(detected):
        if len(points) == 0:
            continue
        tree_of_detection = cKDTree(points)
        for j, (hair, tree) in enumerate(zip(in_view, trees, strict=True)):
            if tree is None:
                continue
            tolerance = _tolerance_px(hair, scene.um_per_px)
            distance, _ = tree.query(points, distance_upper_bound=tolerance * 4)
            on_line = float(np.mean(distance <= tolerance))
            if on_line < ON_LINE_FRACTION:
                continue
            # How much of the true hair the detection covers.
            back, _ = tree_of_detection.query(truth_points[j], distance_upper_bound=tolerance * 4)
            covered = float(np.mean(back <= tolerance))
            if covered < COVER_FRACTION:
                continue
            cost[i, j] = 2.0 - on_line - covered
    if cost.size:
        rows, cols = linear_sum_assignment(cost)
    else:
        rows, cols = np.array([], dtype=int), np.array([], dtype=int)
    return [(int(i), in_view[j]) for i, j in zip(rows, cols, strict=True) if cost[i, j] < 10.0]


def score(
    result: Result, scene: Scene, *, seconds: float = 0.0, peak_mb: float = 0.0
) -> ImageScore:
    """How well ``result`` found the hairs of ``scene`` (whole-image counting frame).

    Detections are matched against every hair in view (``match_hairs``). A match with a hair too
    little in view to be scored (``scored_truth``) is neither a hit nor a false positive:
    finding it is not required, and finding it is not wrong.
    """
    scored_ids = {hair.id for hair in scored_truth(scene)}
    matches = match_hairs(result, scene)
    errors = _count_errors(result, scene, dict(matches))
    hits = [(i, true) for i, true in matches if true.id in scored_ids]
    excused = len(matches) - len(hits)
    width_errors = []
    agreements = []
    for i, true in hits:
        found = result.hairs[i]
        if found.width_um is None:
            continue
        width_errors.append(abs(found.width_um - true.width_um))
        if not CLASS_BAND_UM[0] <= true.width_um <= CLASS_BAND_UM[1]:
            agreements.append(
                (found.width_um < VELLUS_UNDER_UM) == (true.width_um < VELLUS_UNDER_UM)
            )
    return ImageScore(
        true_count=scene.count,
        detected_count=result.count,
        true_positives=len(hits),
        false_positives=len(result.hairs) - len(hits) - excused,
        false_negatives=len(scored_ids) - len(hits),
        width_errors_um=tuple(width_errors),
        class_agreements=tuple(agreements),
        seconds=seconds,
        peak_mb=peak_mb,
        count_errors=errors,
    )


# Why a count is off, one class per error (``count_errors``), with its label in a report.
# Misses: true hairs leaving the skin in the image that no detection matches. Exits: hairs
# found whose exit was judged on the wrong side of the frame. False: counted detections
# that match no true hair.
COUNT_ERROR_LABELS = {
    "missed_at_edge": "missed at edge",
    "missed_touching": "missed touching",
    "missed_under_same_opening": "missed under a hair of its opening",
    "missed_under_other": "missed under another",
    "missed_partly_under": "missed partly under",
    "missed_elsewhere": "missed elsewhere",
    "found_not_counted": "found, exit missed",
    "counted_exit_beyond": "counted, exit beyond",
    "false_along_a_hair": "false along a hair",
    "false_elsewhere": "false elsewhere",
}
COUNT_ERROR_CLASSES = tuple(COUNT_ERROR_LABELS)
# A missed hair leaving the skin this near the image's edge: little of it may be in view.
EDGE_REACH_UM = 100.0
# A missed hair lying this share of its length in view on another's shaft is under it.
UNDER_SHARE = 0.7
PARTLY_UNDER_SHARE = 0.3


class _TrueLines:
    """The true centrelines, each with its bounding box and (made when first asked for)
    a tree of its points, so that a line is compared only with those that come near it."""

    def __init__(self, scene: Scene, *, in_view_only: bool) -> None:
        self.hairs = list(scene.hairs)
        if in_view_only:
            self.points = [_in_view(hair, scene.size_px) for hair in self.hairs]
        else:
            self.points = [densify(np.asarray(hair.centreline_px)) for hair in self.hairs]
        empty = np.full(2, np.nan)
        self.low = np.array([p.min(axis=0) if len(p) else empty for p in self.points])
        self.high = np.array([p.max(axis=0) if len(p) else empty for p in self.points])
        self._trees: dict[int, cKDTree] = {}

    def near(self, points: np.ndarray, reach_px: float) -> list[tuple[TruthHair, cKDTree]]:
        """The true hairs whose line's box lies within ``reach_px`` of ``points``' box."""
        if not len(self.hairs) or not len(points):
            return []
        low, high = points.min(axis=0) - reach_px, points.max(axis=0) + reach_px
        close = np.nonzero(np.all(self.high >= low, axis=1) & np.all(self.low <= high, axis=1))[0]
        out = []
        for k in close:
            if int(k) not in self._trees:
                self._trees[int(k)] = cKDTree(self.points[k])
            out.append((self.hairs[k], self._trees[int(k)]))
        return out


def _share_under(hair: TruthHair, lines: _TrueLines, scene: Scene) -> tuple[float, bool]:
    """How much of ``hair`` in view lies on another true hair's shaft (the two shafts
    overlap or touch there), and whether the hair it lies on most leaves the same opening."""
    points = _in_view(hair, scene.size_px)
    if not len(points):
        return 0.0, False
    under = np.zeros(len(points), dtype=bool)
    most, same_opening = 0.0, False
    widest_um = max(other.width_um for other in scene.hairs)
    for other, tree in lines.near(points, (hair.width_um + widest_um) / 2 / scene.um_per_px):
        if other.id == hair.id:
            continue
        reach = (hair.width_um + other.width_um) / 2 / scene.um_per_px
        gap, _ = tree.query(points, distance_upper_bound=reach + 1.0)
        on = gap <= reach
        if float(on.mean()) > most:
            most, same_opening = float(on.mean()), other.unit == hair.unit
        under |= on
    return float(under.mean()), same_opening


def count_errors(result: Result, scene: Scene) -> dict[str, int]:
    """The errors behind ``result``'s count against ``scene``'s (whole-image frame), by
    ``COUNT_ERROR_CLASSES``. The detected minus the true count is the sum of the
    ``counted_exit_beyond`` and ``false_*`` classes less the ``missed_*`` and
    ``found_not_counted`` ones.

    A missed hair is put in the first class it fits: it leaves the skin within
    ``EDGE_REACH_UM`` of the edge; it was drawn touching another; ``UNDER_SHARE`` of it
    lies on the shaft of a hair from its own opening, or of another hair; at least
    ``PARTLY_UNDER_SHARE`` does; or none of these. A false hair lies along a true one when
    ``ON_LINE_FRACTION`` of its line is within the tolerance of a true line (a piece or a
    second finding of a hair), else elsewhere (an opening, a flake, a vessel, skin).
    """
    return _count_errors(result, scene, dict(match_hairs(result, scene)))


def _count_errors(result: Result, scene: Scene, matched: dict[int, TruthHair]) -> dict[str, int]:
    """``count_errors`` with the matches (detection index to true hair) already made."""
    classes = dict.fromkeys(COUNT_ERROR_CLASSES, 0)
    height, width = scene.size_px
    edge_px = EDGE_REACH_UM / scene.um_per_px
    drawn = _TrueLines(scene, in_view_only=False)
    found_by_truth = {true.id: result.hairs[i] for i, true in matched.items()}
    for hair in scene.hairs:
        if not hair.exit_in_image:
            continue
        found = found_by_truth.get(hair.id)
        if found is not None:
            if not found.counted:
                classes["found_not_counted"] += 1
            continue
        x, y = hair.exit_px
        if min(x + 0.5, y + 0.5, width - 0.5 - x, height - 0.5 - y) < edge_px:
            classes["missed_at_edge"] += 1
        elif hair.touching:
            classes["missed_touching"] += 1
        else:
            share, same_opening = _share_under(hair, drawn, scene)
            if share >= UNDER_SHARE:
                key = "missed_under_same_opening" if same_opening else "missed_under_other"
                classes[key] += 1
            elif share >= PARTLY_UNDER_SHARE:
                classes["missed_partly_under"] += 1
            else:
                classes["missed_elsewhere"] += 1
    seen = _TrueLines(scene, in_view_only=True)
    widest_px = max((_tolerance_px(hair, scene.um_per_px) for hair in scene.hairs), default=0.0)
    for i, found in enumerate(result.hairs):
        if not found.counted:
            continue
        true = matched.get(i)
        if true is not None:
            if not true.exit_in_image:
                classes["counted_exit_beyond"] += 1
            continue
        points = densify(np.asarray(found.centreline_px))
        along = any(
            float(np.mean(tree.query(points)[0] <= _tolerance_px(hair, scene.um_per_px)))
            >= ON_LINE_FRACTION
            for hair, tree in seen.near(points, widest_px)
        )
        classes["false_along_a_hair" if along else "false_elsewhere"] += 1
    return classes


@dataclass
class Summary:
    """Scores pooled over images of one set (a tier, or a tier's held-back settings)."""

    name: str
    images: list[ImageScore] = field(default_factory=list)
    repeat_cvs: list[float] = field(default_factory=list)

    @property
    def count_mape(self) -> float:
        return (
            float(np.mean([s.absolute_percentage_error for s in self.images]))
            if self.images
            else math.nan
        )

    @property
    def count_bias(self) -> float:
        return (
            float(np.mean([s.percentage_error for s in self.images])) if self.images else math.nan
        )

    @property
    def f1(self) -> float:
        tp = sum(s.true_positives for s in self.images)
        fp = sum(s.false_positives for s in self.images)
        fn = sum(s.false_negatives for s in self.images)
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan

    @property
    def width_mae_um(self) -> float:
        errors = [e for s in self.images for e in s.width_errors_um]
        return float(np.median(errors)) if errors else math.nan

    @property
    def class_accuracy(self) -> float:
        agreements = [a for s in self.images for a in s.class_agreements]
        return float(np.mean(agreements)) if agreements else math.nan

    @property
    def repeatability_cv(self) -> float:
        return float(np.mean(self.repeat_cvs)) if self.repeat_cvs else math.nan

    @property
    def seconds_per_image(self) -> float:
        return float(np.median([s.seconds for s in self.images])) if self.images else math.nan

    @property
    def peak_mb(self) -> float:
        return float(max(s.peak_mb for s in self.images)) if self.images else math.nan

    @property
    def count_errors(self) -> dict[str, int]:
        """Hairs in each of ``COUNT_ERROR_CLASSES``, summed over the images."""
        return {
            key: sum(s.count_errors.get(key, 0) for s in self.images) for key in COUNT_ERROR_CLASSES
        }

    def as_json(self) -> dict[str, Any]:
        def r(value: float, digits: int = 3) -> float | None:
            return None if math.isnan(value) else round(value, digits)

        return {
            "name": self.name,
            "images": len(self.images),
            "true_hairs": sum(s.true_count for s in self.images),
            "count_mape_percent": r(self.count_mape, 2),
            "count_bias_percent": r(self.count_bias, 2),
            "f1": r(self.f1, 4),
            "width_median_abs_error_um": r(self.width_mae_um, 2),
            "vellus_terminal_accuracy": r(self.class_accuracy, 4),
            "repeatability_cv_percent": r(self.repeatability_cv, 2),
            "seconds_per_image": r(self.seconds_per_image, 3),
            "peak_mb": r(self.peak_mb, 1),
            "count_errors": self.count_errors,
        }


def timed_analyze(image: np.ndarray, um_per_px: float) -> tuple[Result, float]:
    """``analyze`` and its wall time in seconds (``time.perf_counter``)."""
    started = time.perf_counter()
    result = analyze(image, um_per_px)
    return result, time.perf_counter() - started


def peak_memory_mb(image: np.ndarray, um_per_px: float) -> float:
    """The peak memory (MB) ``analyze`` allocates on this image, traced by ``tracemalloc``.

    numpy reports its array buffers to tracemalloc, so the peak includes every image-sized
    array. Tracing slows the analysis 1.5 to 4 times, so this is a run of its own, never
    the timed one.
    """
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        analyze(image, um_per_px)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not tracing:
            tracemalloc.stop()
    return (peak - base) / 1e6


def count_cv(counts: Sequence[int]) -> float:
    """Coefficient of variation (%) of repeated counts: sample SD over mean."""
    if len(counts) < 2:
        return math.nan
    mean = float(np.mean(counts))
    if mean == 0:
        return 0.0
    return 100.0 * float(np.std(counts, ddof=1)) / mean


# Targets of the issue (synthetic images with known truth).
TARGETS: dict[str, dict[str, float]] = {
    "easy": {"count_mape_percent": 2.0, "f1": 0.98, "width_median_abs_error_um": 3.0},
    "medium": {"count_mape_percent": 5.0, "f1": 0.95, "width_median_abs_error_um": 4.0},
    "hard": {"count_mape_percent": 10.0, "f1": 0.90, "width_median_abs_error_um": 5.0},
}
COMMON_TARGETS = {
    "repeatability_cv_percent": 3.0,
    "vellus_terminal_accuracy": 0.95,
    "seconds_per_image": 2.0,
    "peak_mb": 500.0,
}


def misses(summary: Summary, tier: str) -> list[str]:
    """The targets a summary misses, in words (empty when all are met)."""
    data = summary.as_json()
    out = []
    for key, limit in {**TARGETS.get(tier, {}), **COMMON_TARGETS}.items():
        value = data.get(key)
        if value is None:
            continue
        higher_is_better = key in ("f1", "vellus_terminal_accuracy")
        if (value < limit) if higher_is_better else (value > limit):
            out.append(f"{key} {value} (target {'>=' if higher_is_better else '<='} {limit})")
    return out
