"""Shaft widths from cross profiles: the model fit recovers drawn shafts, and the small
bounded least-squares solver behind it keeps to its bounds and solves what it is given."""

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
