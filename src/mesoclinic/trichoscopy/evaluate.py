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


def score(
    result: Result, scene: Scene, *, seconds: float = 0.0, peak_mb: float = 0.0
) -> ImageScore:
    """How well ``result`` found the hairs of ``scene`` (whole-image counting frame).

    Detections are matched against every hair in view. A match with a hair too little in
    view to be scored (``scored_truth``) is neither a hit nor a false positive: finding it
    is not required, and finding it is not wrong.
    """
    scored_ids = {hair.id for hair in scored_truth(scene)}
    shape = scene.size_px
    in_view = [hair for hair in scene.hairs if hair.visible_length_px > 0]
    truth_points = []
    for hair in in_view:
        points = densify(np.asarray(hair.centreline_px))
        truth_points.append(points[in_image(points, shape)])
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
            tolerance = TOLERANCE_PX + 0.15 * hair.width_um / scene.um_per_px
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
    matches = [(i, j) for i, j in zip(rows, cols, strict=True) if cost[i, j] < 10.0]
    hits = [(i, j) for i, j in matches if in_view[j].id in scored_ids]
    excused = len(matches) - len(hits)
    width_errors = []
    agreements = []
    for i, j in hits:
        found, true = result.hairs[i], in_view[j]
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
        false_positives=len(detected) - len(hits) - excused,
        false_negatives=len(scored_ids) - len(hits),
        width_errors_um=tuple(width_errors),
        class_agreements=tuple(agreements),
        seconds=seconds,
        peak_mb=peak_mb,
    )


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
