"""Polylines in image pixels (resampling, what lies inside the image) and a union-find root.

Points are ``(x, y)`` rows of an ``(n, 2)`` array; pixel centres run from 0 to size - 1, so
the image spans -0.5 to size - 0.5 on each axis.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def densify(points: np.ndarray, step_px: float = 0.5) -> np.ndarray:
    """The polyline with points added so that no two neighbours are over ``step_px`` apart.

    Every original point is kept; a polyline of fewer than two points comes back as it is.
    """
    if len(points) < 2:
        return points
    # All segments at once (a loop over segments cost a third of a second an image): the
    # i-th segment gets n_i points at fractions k / n_i, k = 1..n_i, the last exactly at
    # its end, computed as numpy's linspace computes them, so the points are the same.
    steps = np.diff(points, axis=0)
    counts = np.maximum(1, np.ceil(np.hypot(steps[:, 0], steps[:, 1]) / step_px).astype(int))
    segment = np.repeat(np.arange(len(steps)), counts)
    k = np.arange(1, int(counts.sum()) + 1) - np.repeat(np.cumsum(counts) - counts, counts)
    n = counts[segment]
    fraction = k * (1.0 / n)
    fraction[k == n] = 1.0
    return np.concatenate([points[:1], points[segment] + steps[segment] * fraction[:, None]])


def arc_lengths(points: np.ndarray) -> np.ndarray:
    """The distance along the polyline from its first point to each point (0 for the first)."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])


def polyline_length(points: np.ndarray) -> float:
    """The polyline's length in pixels (0 for fewer than two points)."""
    return float(np.hypot(*np.diff(points, axis=0).T).sum())


def distance_to_nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each point, the distance to the nearest of ``others`` (which must not be empty;
    all finite: the k-d tree refuses NaN and infinity)."""
    # Found by k-d tree (a points x others matrix costs milliseconds on a long hair in a
    # tangle); the distance itself is measured again, the same way as everywhere else here.
    _, index = cKDTree(others).query(points)
    nearest = others[index]
    return np.hypot(points[:, 0] - nearest[:, 0], points[:, 1] - nearest[:, 1])


def in_image(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean per point: whether it lies within the image of ``shape`` (height, width)."""
    return (
        (points[:, 0] >= -0.5)
        & (points[:, 0] <= shape[1] - 0.5)
        & (points[:, 1] >= -0.5)
        & (points[:, 1] <= shape[0] - 0.5)
    )


def visible_length(points: np.ndarray, shape: tuple[int, ...]) -> float:
    """Length in pixels of the polyline's segments whose both ends lie within the image."""
    if len(points) < 2:
        return 0.0
    inside = in_image(points, shape)
    segments = np.hypot(*np.diff(points, axis=0).T)
    return float(segments[inside[1:] & inside[:-1]].sum())


def union_root(parent: dict[int, int], node: int) -> int:
    """The representative of ``node`` in a union-find forest held in ``parent`` (each item
    maps to its parent, roots to themselves); halves the path on the way up."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node
