"""Micrometres per pixel: device profiles, figures given by hand, and ruler images."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.trichoscopy.calibration import (
    DEVICE_PROFILES,
    RulerCalibration,
    check_um_per_px,
    from_profile,
    from_ruler,
    ruler_image,
)
from mesoclinic.trichoscopy.errors import CalibrationError

# -- a figure given by hand ------------------------------------------------------------------


@pytest.mark.parametrize("value", [6.6, 3, np.float32(2.5), np.int64(10), 0.51, 49.9])
def test_a_plausible_figure_is_returned_as_a_float(value):
    checked = check_um_per_px(value)
    assert type(checked) is float
    assert checked == pytest.approx(float(value))


def test_a_missing_figure_is_refused_rather_than_guessed():
    with pytest.raises(CalibrationError) as refused:
        check_um_per_px(None)
    assert str(refused.value) == (
        "The image has no calibration: give micrometres per pixel from the device profile "
        "or a ruler image; the analysis will not guess."
    )


@pytest.mark.parametrize("value", ["6.6", True, [6.6], object()])
def test_a_figure_that_is_not_a_number_is_refused(value):
    with pytest.raises(CalibrationError, match="not a number"):
        check_um_per_px(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_a_figure_that_is_not_finite_is_refused(value):
    with pytest.raises(CalibrationError, match="not a finite number"):
        check_um_per_px(value)


@pytest.mark.parametrize("value", [0, 0.0, -6.6, -1])
def test_zero_and_negative_figures_are_refused(value):
    with pytest.raises(CalibrationError, match="must be a positive number"):
        check_um_per_px(value)


@pytest.mark.parametrize("value", [0.0066, 0.5, 50, 66.0, 6600])
def test_implausible_figures_are_refused_as_probable_unit_slips(value):
    with pytest.raises(CalibrationError, match=r"not plausible.*between 0\.5 and 50"):
        check_um_per_px(value)


# -- device profiles -------------------------------------------------------------------------


def test_each_profile_is_plausible_and_labelled_as_a_generic_example():
    assert DEVICE_PROFILES
    for name, profile in DEVICE_PROFILES.items():
        assert profile.name == name
        assert from_profile(name) == check_um_per_px(profile.um_per_px)
        assert "generic example" in profile.label
        assert "verify with a ruler image" in profile.source


def test_an_unknown_profile_is_refused_listing_the_known_ones():
    with pytest.raises(CalibrationError, match="no device profile 'fotofinder'") as refused:
        from_profile("fotofinder")
    for name in DEVICE_PROFILES:
        assert name in str(refused.value)


# -- ruler images ----------------------------------------------------------------------------


def _relative_error(found: float, true: float) -> float:
    return abs(found - true) / true


@pytest.mark.parametrize("period", [10.0, 23.7, 37.25, 52.9, 80.0])
@pytest.mark.parametrize("angle", [0.0, 1.2, -3.0, 3.0])
def test_the_ruler_period_is_found_within_half_a_percent(period, angle):
    calibration = from_ruler(ruler_image(period, angle_deg=angle), 100.0)
    assert _relative_error(calibration.period_px, period) < 0.005
    assert calibration.um_per_px == pytest.approx(100.0 / calibration.period_px)
    assert calibration.axis == "x"
    assert calibration.confidence > 0.9


@settings(max_examples=25, deadline=None)
@given(
    period=st.floats(min_value=10.0, max_value=80.0),
    angle=st.floats(min_value=-3.0, max_value=3.0),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_any_ruler_period_from_10_to_80_px_is_recovered_within_half_a_percent(period, angle, seed):
    calibration = from_ruler(ruler_image(period, angle_deg=angle, seed=seed), 50.0)
    assert _relative_error(calibration.period_px, period) < 0.005


def test_a_tilted_ruler_is_measured_across_its_lines_not_along_the_rows():
    # Along the rows, lines 40 px apart tilted by 3 degrees are 40 / cos(3 deg) = 40.055 px
    # apart; the spacing wanted is the 40 px at right angles to them.
    calibration = from_ruler(ruler_image(40.0, angle_deg=3.0), 100.0)
    assert _relative_error(calibration.period_px, 40.0) < 0.0005
    assert calibration.angle_deg == pytest.approx(3.0, abs=0.2)


def test_horizontal_lines_are_measured_along_y():
    vertical = ruler_image(23.7, size=(640, 480), angle_deg=-1.0)
    horizontal = np.ascontiguousarray(vertical.transpose(1, 0, 2))
    calibration = from_ruler(horizontal, 100.0)
    assert calibration.axis == "y"
    assert _relative_error(calibration.period_px, 23.7) < 0.005


def test_a_grid_gives_its_spacing():
    across = ruler_image(20.0, angle_deg=1.0).astype(int)
    down = ruler_image(20.0, size=(640, 480), angle_deg=1.0, seed=1).transpose(1, 0, 2)
    grid = np.minimum(across, down).astype(np.uint8)
    assert _relative_error(from_ruler(grid, 100.0).period_px, 20.0) < 0.005


def test_uneven_lighting_and_noise_do_not_move_the_period():
    ruler = ruler_image(31.4, angle_deg=-2.0, noise=0.1).astype(float) / 255
    ys, xs = np.mgrid[0:480, 0:640]
    vignette = 1 - 0.5 * (((xs - 320) / 320) ** 2 + ((ys - 240) / 240) ** 2)
    dim = np.clip(ruler * vignette[:, :, None], 0, 1)
    assert _relative_error(from_ruler(dim, 100.0).period_px, 31.4) < 0.005


def test_long_ticks_every_fifth_line_do_not_change_the_spacing():
    # A stage micrometer: short ticks, longer every fifth and tenth, in a band of the image.
    rng = np.random.default_rng(3)
    image = np.full((480, 640), 0.85)
    xs = np.arange(640)
    for tick in range(26):
        centre = 12 + tick * 23.7
        length = 120 if tick % 10 == 0 else 90 if tick % 5 == 0 else 60
        image[200 : 200 + length] -= 0.6 * np.clip(1.5 - np.abs(xs - centre), 0, 1)
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1)
    assert _relative_error(from_ruler(image, 100.0).period_px, 23.7) < 0.005


def test_a_fine_ruler_is_not_taken_for_one_twice_as_coarse():
    # A straight 4.5 px ruler is sampled alike only every other line (every 9 px).
    assert _relative_error(from_ruler(ruler_image(4.5), 10.0).period_px, 4.5) < 0.005


def test_the_result_records_what_was_measured():
    calibration = from_ruler(ruler_image(25.0), 100.0)
    assert isinstance(calibration, RulerCalibration)
    assert calibration.um_per_px == pytest.approx(4.0, rel=0.005)
    assert 0.9 < calibration.confidence <= 1.0


@pytest.mark.parametrize("seed", range(4))
def test_a_ruler_image_of_pure_noise_is_refused(seed):
    noise = np.random.default_rng(seed).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with pytest.raises(CalibrationError, match="No evenly spaced lines"):
        from_ruler(noise, 100.0)


def test_a_blank_ruler_image_is_refused():
    with pytest.raises(CalibrationError, match="No evenly spaced lines"):
        from_ruler(np.full((480, 640), 0.5), 100.0)


@pytest.mark.parametrize("spacing", [0, -100, math.nan, math.inf, None, "100"])
def test_a_ruler_spacing_that_is_not_positive_is_refused(spacing):
    with pytest.raises(CalibrationError, match="spacing must be a positive number"):
        from_ruler(ruler_image(20.0), spacing)


def test_a_ruler_giving_an_implausible_scale_is_refused():
    # 100 um lines 20 px apart is 5 um/px; a spacing typed in mm (0.1) gives 0.005 um/px.
    with pytest.raises(CalibrationError, match="not plausible"):
        from_ruler(ruler_image(20.0), 0.1)


def test_the_synthetic_ruler_is_reproducible_and_has_its_lines_where_asked():
    first = ruler_image(23.7, angle_deg=2.0, seed=5)
    assert first.shape == (480, 640, 3)
    assert first.dtype == np.uint8
    np.testing.assert_array_equal(first, ruler_image(23.7, angle_deg=2.0, seed=5))
    clean = ruler_image(20.0, noise=0.0)
    # Straight lines every 20 px: each row repeats every 20 px, and all rows are alike.
    np.testing.assert_array_equal(clean[:, :-20], clean[:, 20:])
    assert (clean == clean[:1]).all()
    assert clean.min() < 100 < 200 < clean.max()
