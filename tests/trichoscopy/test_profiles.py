"""Shaft widths from cross profiles: profiles read only what the image shows, the model fit
recovers drawn shafts, and the small bounded least-squares solver behind it keeps to its
bounds and solves what it is given."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.trichoscopy.profiles import (
    STEP_PX,
    Profile,
    _levenberg_marquardt,
    _shapes,
    cross_profile,
    fit_width,
    shaft_model,
)


def _profile(radius, absorbance, sigma, *, centre=0.3, amplitude=0.6, base=0.02, noise=0.0):
    half_span = max(2.5 * 2 * radius, radius + 6)
    offsets = np.arange(-half_span, half_span + 1e-9, STEP_PX)
    values = shaft_model(offsets, centre, radius, amplitude, absorbance, base, sigma)
    values = values + noise * np.random.default_rng(7).standard_normal(len(offsets))
    return Profile(offsets_px=offsets, values=values, colour_change=np.zeros(3), samples=20)


@pytest.mark.parametrize(
    ("radius", "absorbance", "sigma", "tolerance_px"),
    [
        (1.5, 0.8, 0.6, 0.05),  # a vellus hair a few pixels wide, translucent
        (3.0, 0.3, 1.0, 0.05),
        # A dark terminal hair, opaque but at its very edges: a slightly narrower, darker
        # shaft blurs to nearly the same profile, so its width is known less closely (and
        # the search runs out of steps along that valley: scipy's solver did too; the
        # analysis then takes the width at half maximum).
        (6.0, 1.5, 1.4, 0.15),
        (10.0, 0.1, 2.0, 0.05),  # a pale wide shaft under heavy blur
    ],
)
def test_the_fit_recovers_a_drawn_shafts_width_with_the_blur_known(
    radius, absorbance, sigma, tolerance_px
):
    fit = fit_width(
        _profile(radius, absorbance, sigma),
        sigma_px=sigma,
        max_radius_px=30.0,
        initial_width_px=2 * radius,
    )
    assert fit is not None
    assert fit.converged or absorbance * 2 * radius > 10
    assert fit.width_px == pytest.approx(2 * radius, abs=tolerance_px)
    assert fit.residual < 0.01


@pytest.mark.parametrize(("radius", "absorbance", "sigma"), [(4.0, 0.5, 0.8), (7.0, 0.3, 1.6)])
def test_the_fit_recovers_width_and_blur_together(radius, absorbance, sigma):
    fit = fit_width(
        _profile(radius, absorbance, sigma, noise=0.002),
        sigma_px=None,
        max_radius_px=30.0,
        initial_width_px=2 * radius,
    )
    assert fit is not None and fit.converged
    assert fit.width_px == pytest.approx(2 * radius, abs=0.3)
    assert fit.sigma_px == pytest.approx(sigma, abs=0.15)


def test_a_blur_wider_than_the_profile_gives_no_width():
    narrow = _profile(1.0, 0.5, 0.5)  # spans about 14 px
    assert fit_width(narrow, sigma_px=3.9, max_radius_px=30.0, initial_width_px=2.0) is None


def test_a_flat_profile_gives_no_width():
    flat = Profile(np.arange(-10, 10.01, STEP_PX), np.zeros(81), np.zeros(3), samples=5)
    assert fit_width(flat, sigma_px=1.0, max_radius_px=30.0, initial_width_px=4.0) is None


def test_the_solver_solves_a_linear_least_squares_problem():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((40, 3))
    target = rng.standard_normal(40)
    solution, residual, converged = _levenberg_marquardt(
        lambda rows: rows @ matrix.T - target,
        np.zeros(3),
        np.full(3, -100.0),
        np.full(3, 100.0),
    )
    expected = np.linalg.lstsq(matrix, target, rcond=None)[0]
    assert converged
    assert np.allclose(solution, expected, atol=1e-6)
    assert np.allclose(residual, matrix @ solution - target)


@settings(deadline=None)
@given(
    st.lists(st.floats(min_value=-5, max_value=5), min_size=3, max_size=3),
    st.lists(st.floats(min_value=-4, max_value=4), min_size=3, max_size=3),
    st.lists(st.floats(min_value=0.1, max_value=3), min_size=3, max_size=3),
)
def test_the_solver_keeps_every_trial_within_its_bounds(target, start, spans):
    # A separable problem: its bounded minimum is its free minimum clipped to the box.
    lower = np.array(start) - np.array(spans)
    upper = np.array(start) + np.array(spans)
    tried = []

    def residual_rows(rows):
        tried.append(rows.copy())
        return np.concatenate([rows - target, 0.5 * (rows - target) ** 2], axis=1)

    solution, _residual, converged = _levenberg_marquardt(
        residual_rows, np.array(start), lower, upper
    )
    every = np.concatenate(tried)
    assert (every >= lower).all() and (every <= upper).all()
    assert converged
    assert np.allclose(solution, np.clip(target, lower, upper), atol=1e-3)


def test_the_solver_says_when_it_ran_out_of_evaluations():
    def rosenbrock(rows):
        x, y = rows[:, 0], rows[:, 1]
        return np.stack([10 * (y - x**2), 1 - x], axis=1)

    bounds = (np.array([-5.0, -5.0]), np.array([5.0, 5.0]))
    _, _, converged = _levenberg_marquardt(rosenbrock, np.array([-1.2, 1.0]), *bounds, max_nfev=3)
    assert not converged
    solution, _, converged = _levenberg_marquardt(rosenbrock, np.array([-1.2, 1.0]), *bounds)
    assert converged
    assert np.allclose(solution, [1.0, 1.0], atol=1e-4)


def test_a_blur_stopped_at_its_bound_is_not_taken_for_a_measurement():
    # A profile 30 px across lets the blur's kernel grow to 3.75 px at most; a shaft blurred
    # by 5 px leaves the fit at that bound, which is no measurement of the blur.
    wide = np.arange(-60, 60 + 1e-9, STEP_PX)
    drawn = shaft_model(wide, 0.0, 3.5, 0.6, 0.5, 0.0, 5.0)
    middle = np.abs(wide) <= 15
    profile = Profile(wide[middle], drawn[middle], np.zeros(3), samples=20)
    assert len(profile.values) == 121
    fit = fit_width(profile, sigma_px=None, max_radius_px=30.0, initial_width_px=7.0)
    assert fit is not None
    assert fit.sigma_px <= 3.75
    assert not fit.converged


def test_a_profile_too_short_for_any_blur_gives_no_width():
    short = Profile(
        np.arange(-0.75, 0.76, STEP_PX),
        np.array([0, 1, 2, 3, 2, 1, 0.0]) / 10,
        np.zeros(3),
        samples=3,
    )
    assert fit_width(short, sigma_px=None, max_radius_px=30.0, initial_width_px=1.0) is None


def test_the_blurred_shapes_are_each_parameter_rows_own_profile():
    offsets = np.arange(-12, 12 + 1e-9, STEP_PX)
    rows = np.array([[0.0, 2.0, 0.5, 0.7], [1.3, 4.5, 2.0, 1.6], [-0.4, 0.8, 0.05, 1.0]])

    def plain(centre, radius, absorbance, sigma):
        inside = np.clip(radius**2 - (offsets - centre) ** 2, 0.0, None)
        opacity = 1.0 - np.exp(-absorbance * 2.0 * np.sqrt(inside))
        half = int(np.ceil(4 * sigma / STEP_PX))
        taps = np.exp(-0.5 * (np.arange(-half, half + 1) * STEP_PX / sigma) ** 2)
        return np.convolve(opacity, taps / taps.sum(), mode="same")

    free = _shapes(offsets, rows, None)
    fixed = _shapes(offsets, rows[:, :3], 1.6)
    for row, expected in zip(rows, free, strict=True):
        assert np.allclose(expected, plain(*row), atol=1e-12)
    for row, expected in zip(rows, fixed, strict=True):
        assert np.allclose(expected, plain(*row[:3], 1.6), atol=1e-12)


def test_the_solver_steps_back_from_where_the_model_cannot_be_evaluated():
    # The first Gauss-Newton step from -1 lands near 21, where this model gives NaN; the
    # solver must take that as a failed step and damp, not stall.
    def rows_with_a_hole(rows):
        out = np.exp(3.0 * rows) - np.exp(1.2)
        out[rows[:, 0] > 0.45] = np.nan
        return out

    bounds = (np.array([-5.0]), np.array([30.0]))
    solution, residual, converged = _levenberg_marquardt(
        rows_with_a_hole, np.array([-1.0]), *bounds
    )
    assert converged
    assert solution[0] == pytest.approx(0.4, abs=1e-4)
    assert np.isfinite(residual).all()


def test_the_solver_returns_a_start_it_cannot_evaluate_unconverged():
    calls = []

    def nothing_but_nan(rows):
        calls.append(len(rows))
        return np.full((len(rows), 3), np.nan)

    solution, _, converged = _levenberg_marquardt(
        nothing_but_nan, np.array([1.0, 2.0]), np.zeros(2), np.full(2, 5.0)
    )
    assert not converged
    assert np.array_equal(solution, [1.0, 2.0])
    assert calls == [1]


# -- cross profiles at the image's edge --------------------------------------------------


def _shaft_image(shape, point, direction, width_px):
    """A darker straight band (image minus background) of ``width_px`` through ``point``,
    on a background whose brightness is 1 everywhere."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    along = np.asarray(direction, dtype=float) / np.hypot(*direction)
    distance = np.abs((xs - point[0]) * along[1] - (ys - point[1]) * along[0])
    cover = np.clip(width_px / 2 + 0.5 - distance, 0.0, 1.0)
    difference = -0.4 * cover[..., None] * np.ones(3)
    return difference, np.ones(shape), np.ones(shape), along


def _width_at_half_maximum(profile):
    return float((profile.values > 0.5 * profile.values.max()).sum() * STEP_PX)


def _centres_along(point, along, distances):
    centres = np.array([point + t * along for t in distances])
    normals = np.tile([-along[1], along[0]], (len(centres), 1))
    return centres, normals


def _slanting_out_of_the_right_edge(width_px, angle_deg):
    """A shaft crossing the right edge of a 200 x 160 image at ``angle_deg`` to it, and
    centres along its axis from 2 to 60 px in from the edge."""
    shape = (200, 160)
    crossing = np.array([shape[1] - 0.5, 60.0])
    angle = np.radians(angle_deg)
    difference, norm, mean, along = _shaft_image(
        shape, crossing, (-np.sin(angle), np.cos(angle)), width_px
    )
    centres, normals = _centres_along(crossing, along, np.arange(2.0, 62.0, 2.0))
    return shape, difference, norm, mean, centres, normals


def test_a_shaft_meeting_the_edge_at_a_slant_is_read_at_its_own_width():
    # Its profiles there run out of the image on the shaft's own side, where the edge's
    # pixels repeated (dark: the shaft crosses it) made it look three times wider.
    _, difference, norm, mean, centres, normals = _slanting_out_of_the_right_edge(12.0, 10)
    profile = cross_profile(
        difference, norm, mean, centres, normals, half_span_px=30.0, align_within_px=9.0
    )
    assert profile is not None
    assert _width_at_half_maximum(profile) == pytest.approx(12.0, abs=0.75)
    assert np.isfinite(profile.values).all()


def test_centres_whose_shaft_the_edge_cuts_are_left_out_and_the_rest_read():
    shape, difference, norm, mean, centres, normals = _slanting_out_of_the_right_edge(12.0, 10)
    profile = cross_profile(
        difference,
        norm,
        mean,
        centres,
        normals,
        half_span_px=30.0,
        align_within_px=9.0,
        in_image_within_px=8.0,
    )
    assert profile is not None
    # Only the centres whose normals stay in the image for 8 px either side are used.
    room = (shape[1] - 0.5 - centres[:, 0]) / np.abs(normals[:, 0])
    assert profile.samples == int((room >= 8.0).sum())
    assert 0 < profile.samples < len(centres)
    assert _width_at_half_maximum(profile) == pytest.approx(12.0, abs=0.75)


def test_a_band_lying_along_the_edge_gives_no_profile():
    # Half a shaft's width from the top edge, along it: the rim of an opening cut by the
    # edge looks like this, and no width can be read from it.
    shape, width_px = (120, 200), 10.0
    point = np.array([20.0, 3.0])
    difference, norm, mean, along = _shaft_image(shape, point, (1.0, 0.0), width_px)
    centres, normals = _centres_along(point, along, np.arange(0.0, 120.0, 2.0))
    profile = cross_profile(
        difference,
        norm,
        mean,
        centres,
        normals,
        half_span_px=25.0,
        align_within_px=7.5,
        in_image_within_px=width_px / 2 + 2,
    )
    assert profile is None
