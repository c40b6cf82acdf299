"""Polyline helpers: resampling keeps the line and its points; nearest distances are exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.trichoscopy.geometry import densify, distance_to_nearest

coordinates = st.floats(min_value=-500, max_value=500, allow_nan=False)
polylines = st.lists(st.tuples(coordinates, coordinates), min_size=0, max_size=12)


@pytest.mark.parametrize(
    ("points", "step", "expected"),
    [
        ([], 0.5, []),
        ([(3.0, 4.0)], 0.5, [(3.0, 4.0)]),
        ([(0.0, 0.0), (1.2, 0.0)], 0.5, [(0.0, 0.0), (0.4, 0.0), (0.8, 0.0), (1.2, 0.0)]),
        ([(0.0, 0.0), (0.0, 0.0), (0.0, 1.0)], 1.0, [(0.0, 0.0), (0.0, 0.0), (0.0, 1.0)]),
    ],
)
def test_densify_splits_each_segment_into_equal_steps(points, step, expected):
    out = densify(np.asarray(points, dtype=float).reshape(-1, 2), step)
    assert out.shape == (len(expected), 2)
    assert np.allclose(out, np.asarray(expected).reshape(-1, 2))


@settings(deadline=None)  # the first call may wait for a busy core
@given(polylines, st.sampled_from([0.35, 0.5, 1.0, 2.0]))
def test_densify_keeps_every_point_and_leaves_no_gap_over_the_step(raw, step):
    points = np.asarray(raw, dtype=float).reshape(-1, 2)
    out = densify(points, step)
    if len(points) < 2:
        assert np.array_equal(out, points)
        return
    gaps = np.hypot(*np.diff(out, axis=0).T)
    assert (gaps <= step * (1 + 1e-9) + 1e-9).all()
    # Every original point comes back, in order (up to rounding: a + (b - a) may differ
    # from b in the last bit).
    kept = iter(range(len(out)))
    for point in points:
        assert any(np.allclose(out[i], point, rtol=0, atol=1e-9) for i in kept)
    assert np.allclose(out[-1], points[-1], rtol=0, atol=1e-9)


@settings(deadline=None)
@given(polylines.filter(len), polylines.filter(len))
def test_distance_to_nearest_is_the_least_distance_to_any_other_point(raw_points, raw_others):
    points = np.asarray(raw_points, dtype=float).reshape(-1, 2)
    others = np.asarray(raw_others, dtype=float).reshape(-1, 2)
    every = np.hypot(
        points[:, None, 0] - others[None, :, 0], points[:, None, 1] - others[None, :, 1]
    )
    assert np.allclose(distance_to_nearest(points, others), every.min(axis=1), rtol=1e-12)
