"""The overlay the practitioner checks an analysis with."""

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from mesoclinic.trichoscopy.errors import TrichoscopyError
from mesoclinic.trichoscopy.overlay import (
    CLASS_COLOURS,
    NOT_COUNTED_COLOUR,
    overlay_png,
    render_overlay,
)
from mesoclinic.trichoscopy.result import Hair, Result, Roi

SKIN = (196, 150, 128)
UM_PER_PX = 8.0


def _skin(height: int = 480, width: int = 640) -> np.ndarray:
    return np.full((height, width, 3), SKIN, dtype=np.uint8)


def _straight(hair_id: int, y: int, x0: int, x1: int, **fields) -> Hair:
    """A horizontal hair along row ``y`` with its exit at ``x0``."""
    points = ((float(x0), float(y)), (float((x0 + x1) / 2), float(y)), (float(x1), float(y)))
    fields.setdefault("counted", True)
    fields.setdefault("width_um", 70.0)
    return Hair(id=hair_id, centreline_px=points, exit_px=points[0], **fields)


def _result(*hairs: Hair, shape=(480, 640), roi: Roi | None = None) -> Result:
    return Result(
        hairs=hairs,
        um_per_px=UM_PER_PX,
        roi=roi or Roi.rect(99.5, 149.5, 440, 180),
        image_shape=shape,
    )


def _pixels(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB")).astype(int)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return (np.abs(before.astype(int) - after.astype(int)).sum(axis=2)) > 0


# Hairs well inside the middle band: the legend takes a corner, away from them.
TERMINAL = _straight(1, 200, 150, 300, width_um=80.0)  # 10 px wide at 8 um/px
VELLUS = _straight(2, 240, 150, 300, width_um=20.0)
INTERMEDIATE = _straight(3, 280, 150, 300, width_um=40.0)
UNMEASURED = _straight(4, 200, 360, 500, width_um=None)
OUTSIDE = _straight(5, 300, 360, 500, counted=False)


def test_the_overlay_is_an_rgb_image_of_the_same_size():
    picture = render_overlay(_skin(), _result(TERMINAL, OUTSIDE))
    assert picture.mode == "RGB"
    assert picture.size == (640, 480)


@pytest.mark.parametrize("hair", [TERMINAL, VELLUS, INTERMEDIATE, UNMEASURED])
def test_the_centreline_of_a_counted_hair_takes_its_class_colour(hair):
    pixels = _pixels(render_overlay(_skin(), _result(hair)))
    y = int(hair.centreline_px[0][1])
    x = int(hair.centreline_px[1][0])
    assert tuple(pixels[y, x]) == CLASS_COLOURS[hair.hair_class]


def test_the_four_classes_have_four_different_colours():
    assert len(set(CLASS_COLOURS.values())) == 4
    assert NOT_COUNTED_COLOUR not in CLASS_COLOURS.values()


def test_the_band_is_as_wide_as_the_measured_width_and_translucent():
    pixels = _pixels(render_overlay(_skin(), _result(TERMINAL)))
    column = pixels[:, 225]
    tinted = np.flatnonzero((column != SKIN).any(axis=1))
    # 80 um at 8 um/px: 10 px wide around row 200.
    assert set(range(196, 205)) <= set(tinted)
    assert not set(range(207, 230)) & set(tinted)
    blended = np.array(SKIN) * 0.65 + np.array(CLASS_COLOURS["terminal"]) * 0.35
    assert np.abs(column[197] - blended).max() <= 2


def test_a_not_counted_hair_is_drawn_grey_and_dashed():
    pixels = _pixels(render_overlay(_skin(), _result(OUTSIDE)))
    row = pixels[300, 380:480]
    grey = (row == NOT_COUNTED_COLOUR).all(axis=1)
    # Dashes: grey pixels and gaps between them along the centreline.
    assert 0.3 < grey.mean() < 0.8
    counted = _pixels(render_overlay(_skin(), _result(replace(OUTSIDE, counted=True))))
    assert (counted[300, 380:480] == CLASS_COLOURS["terminal"]).all()


def _label_pixels(hair: Hair, **changes) -> int:
    """How many pixels around the hair's exit change when only ``changes`` change."""
    first = _pixels(render_overlay(_skin(), _result(hair)))
    second = _pixels(render_overlay(_skin(), _result(replace(hair, **changes))))
    x, y = (int(value) for value in hair.exit_px)
    window = (slice(y - 40, y + 40), slice(x - 60, x + 20))
    return int(_changed(first[window], second[window]).sum())


def test_the_hair_number_is_written_next_to_its_exit():
    assert _label_pixels(TERMINAL, id=88) > 20


def test_a_hair_added_by_hand_is_marked():
    assert _label_pixels(TERMINAL, manual=True) > 10


def test_the_exit_is_marked_with_a_ring():
    base = _skin()
    pixels = _pixels(render_overlay(base, _result(TERMINAL)))
    x, y = (int(value) for value in TERMINAL.exit_px)
    # Behind the exit (left of it) there is no band, only the ring and the label.
    ring = _changed(base[y - 8 : y + 9, x - 8 : x], pixels[y - 8 : y + 9, x - 8 : x])
    assert ring.sum() > 5


def test_the_region_is_outlined():
    base = _skin()
    roi = Roi.rect(99.5, 149.5, 440, 180)
    pixels = _pixels(render_overlay(base, _result(roi=roi)))
    edge_columns = pixels[240, 98:104]
    assert any(tuple(colour) == (255, 255, 255) for colour in edge_columns)
    assert any(tuple(colour) == (0, 0, 0) for colour in edge_columns)
    assert (pixels[240, 300] == SKIN).all()


def test_a_circular_region_is_outlined():
    base = _skin()
    roi = Roi.circle(320, 240, 150)
    pixels = _pixels(render_overlay(base, _result(roi=roi)))
    assert _changed(base[236:245, 165:176], pixels[236:245, 165:176]).any()
    assert (pixels[240, 320] == SKIN).all()


def test_a_legend_is_drawn_in_a_corner_away_from_the_hairs():
    base = _skin()
    hairs = (TERMINAL, VELLUS, INTERMEDIATE, UNMEASURED, OUTSIDE)
    pixels = _pixels(render_overlay(base, _result(*hairs)))
    corners = [
        pixels[5:60, 5:60],
        pixels[5:60, -60:-5],
        pixels[-60:-5, 5:60],
        pixels[-60:-5, -60:-5],
    ]
    darkened = [int((corner.sum(axis=2) < sum(SKIN) / 2).sum()) for corner in corners]
    assert max(darkened) > 1000
    assert sorted(darkened)[-2] == 0


def test_the_legend_changes_with_the_counts():
    base = _skin()
    one = _pixels(render_overlay(base, _result(TERMINAL)))
    two = _pixels(render_overlay(base, _result(TERMINAL, VELLUS)))
    assert _changed(one[:150, :320], two[:150, :320]).sum() > 20


def test_a_grey_image_is_drawn_in_colour():
    grey = np.full((480, 640), 128, dtype=np.uint8)
    pixels = _pixels(render_overlay(grey, _result(TERMINAL)))
    assert pixels.shape == (480, 640, 3)
    assert tuple(pixels[200, 225]) == CLASS_COLOURS["terminal"]


def test_a_tiny_image_is_drawn_without_failing():
    hair = Hair(
        id=1,
        centreline_px=((2.0, 3.0), (12.0, 9.0)),
        width_um=40.0,
        exit_px=(2.0, 3.0),
        counted=True,
    )
    result = _result(hair, shape=(16, 20), roi=Roi.whole((16, 20)))
    picture = render_overlay(np.zeros((16, 20, 3), dtype=np.uint8), result)
    assert picture.size == (20, 16)


def test_a_hair_without_points_beyond_its_exit_is_drawn_without_failing():
    dot = Hair(
        id=9, centreline_px=((320.0, 240.0),), width_um=40.0, exit_px=(320.0, 240.0), counted=True
    )
    assert render_overlay(_skin(), _result(dot)).size == (640, 480)


def test_the_input_image_is_left_unchanged():
    base = _skin()
    render_overlay(base, _result(TERMINAL, OUTSIDE))
    assert (base == SKIN).all()


def test_an_image_of_another_size_is_refused():
    with pytest.raises(TrichoscopyError, match="640x480 pixels but the result is for a 320x240"):
        render_overlay(_skin(), _result(shape=(240, 320), roi=Roi.whole((240, 320))))


def test_labels_grow_with_the_image():
    def label_size(scale: int) -> int:
        hair = Hair(
            id=1,
            centreline_px=((300.0 * scale, 200.0 * scale), (400.0 * scale, 200.0 * scale)),
            width_um=40.0,
            exit_px=(300.0 * scale, 200.0 * scale),
            counted=True,
        )
        shape = (480 * scale, 640 * scale)
        base = np.full((*shape, 3), SKIN, dtype=np.uint8)
        result = _result(hair, shape=shape, roi=Roi.whole(shape))
        first = _pixels(render_overlay(base, result))
        second = _pixels(render_overlay(base, replace(result, hairs=(replace(hair, id=7),))))
        return int(_changed(first, second).sum())

    assert label_size(4) > 8 * label_size(1)


def test_overlay_png_is_a_png_of_the_same_size():
    data = overlay_png(_skin(), _result(TERMINAL))
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (640, 480)


def test_every_one_of_60_hairs_on_a_1280x960_image_is_drawn():
    # How long drawing takes is measured by bench/trichoscopy.py, not asserted here.
    rng = np.random.default_rng(0)
    hairs = []
    for number in range(1, 61):
        x, y = rng.uniform(50, 1200), rng.uniform(50, 900)
        points = tuple((x + step * 8.0, y + step * 3.0) for step in range(12))
        hairs.append(
            Hair(
                id=number,
                centreline_px=points,
                width_um=[20.0, 40.0, 70.0, None][number % 4],
                exit_px=points[0],
                counted=number % 5 != 0,
                manual=number % 9 == 0,
            )
        )
    shape = (960, 1280)
    result = _result(*hairs, shape=shape, roi=Roi.rect(39.5, 39.5, 1200, 880))
    image = np.full((*shape, 3), SKIN, dtype=np.uint8)
    picture = np.asarray(render_overlay(image, result))
    assert picture.shape == (*shape, 3)
    changed = np.any(picture != SKIN, axis=-1)
    for hair in hairs:
        x, y = hair.centreline_px[6]
        assert changed[round(y), round(x)], f"hair {hair.id} is not drawn"
