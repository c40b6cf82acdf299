"""The analysis: what it counts and measures, and how it treats input it cannot trust."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.spatial import cKDTree

from mesoclinic.trichoscopy import analysis, analyze, synth
from mesoclinic.trichoscopy.errors import CalibrationError, ImageRejected, RegionError
from mesoclinic.trichoscopy.evaluate import TOLERANCE_PX, score
from mesoclinic.trichoscopy.geometry import densify
from mesoclinic.trichoscopy.result import Hair, Roi

from .conftest import Shaft, build_scene, clean_look

# -- hand-drawn scenes: each hard case of the issue on its own --------------------------


def test_separate_hairs_are_each_counted_with_their_widths(draw):
    image, scene = draw(
        [
            Shaft(60, 80, 10, width_um=70),
            Shaft(80, 250, -15, width_um=45),
            Shaft(300, 300, -80, width_um=20, length_um=600),
        ]
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 3
    widths = sorted(hair.width_um for hair in result.hairs)
    for found, true in zip(widths, (20, 45, 70), strict=True):
        assert found == pytest.approx(true, abs=3.0)
    assert (result.vellus_count, result.intermediate_count, result.terminal_count) == (1, 1, 1)


def test_crossing_hairs_count_as_two(draw):
    image, scene = draw([Shaft(80, 120, 20), Shaft(120, 300, -40)])
    result = analyze(image, scene.um_per_px)
    assert score(result, scene).true_positives == 2
    assert result.count == 2


def _crossing_at_middles(angle_deg: float, length_um: float = 900.0) -> list[Shaft]:
    half_px = length_um / 2 / 4.0
    centre_x, centre_y = 240.0, 180.0
    return [
        Shaft(centre_x - half_px, centre_y, 0, length_um=length_um),
        Shaft(
            centre_x - math.cos(math.radians(angle_deg)) * half_px,
            centre_y - math.sin(math.radians(angle_deg)) * half_px,
            angle_deg,
            length_um=length_um,
        ),
    ]


@pytest.mark.parametrize("angle_deg", [30, 45, 60, 75, 90])
def test_two_hairs_crossing_at_their_middles_count_as_two_at_any_steep_angle(draw, angle_deg):
    # A thick X skeletonises into two forks joined by a stub: still one crossing.
    image, scene = draw(_crossing_at_middles(angle_deg))
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2


def test_a_shallow_crossing_still_counts_two_hairs(draw):
    # At 20 degrees the shafts run merged for a long stretch; which half of the X goes with
    # which is not always right, but neither the count nor the widths double up.
    image, scene = draw(_crossing_at_middles(20))
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert all(hair.width_um == pytest.approx(65, abs=6) for hair in result.hairs)


def test_hair_covering_a_third_of_the_image_is_still_counted(draw):
    shafts = [Shaft(30 + 42 * k, 40, 90, width_um=60, length_um=1100) for k in range(10)]
    image, scene = draw(shafts)
    assert analyze(image, scene.um_per_px).count == 10


def test_hair_hiding_most_of_the_skin_is_flagged_not_silently_zero(draw):
    shafts = [Shaft(30 + 25 * k, 40, 90, width_um=60, length_um=1100) for k in range(16)]
    image, scene = draw(shafts)
    assert "dense_hair" in analyze(image, scene.um_per_px).flags


def test_a_long_chain_of_junctions_is_analysed_without_running_out_of_stack():
    # One line crossed by hundreds of short ones: a skeleton chain far deeper than Python's
    # recursion limit allows a recursive walk.
    image = np.full((300, 4000, 3), 210, np.uint8)
    image[145:155, :, :] = 40
    for x in range(20, 3980, 12):
        image[120:180, x : x + 4, :] = 40
    result = analyze(image, 5.0)
    assert result.count > 0


@pytest.mark.parametrize("width_um", [60, 45, 35, 25])
@pytest.mark.parametrize("angle_deg", [0, 30])
def test_touching_parallel_hairs_are_separated_with_their_own_widths(draw, width_um, angle_deg):
    # Two shafts in contact along their length, one a little shorter, as from one opening.
    offset = width_um / 2 / 4.0
    nx, ny = -math.sin(math.radians(angle_deg)), math.cos(math.radians(angle_deg))
    image, scene = draw(
        [
            Shaft(
                100 + nx * offset, 150 + ny * offset, angle_deg, width_um=width_um, length_um=900
            ),
            Shaft(
                100 - nx * offset, 150 - ny * offset, angle_deg, width_um=width_um, length_um=800
            ),
        ]
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    for hair in result.hairs:
        assert hair.width_um == pytest.approx(width_um, abs=4.0)


def test_a_hair_broken_by_glare_is_bridged_into_one(draw):
    shaft = Shaft(60, 180, 0, length_um=1200)
    # A highlight on the middle of the shaft, as a dermatoscope's light gives.
    look = clean_look(glare=((60 + 600 / 4.0, 180.0, 7.0, 1.0),))
    image, scene = draw([shaft], look=look)
    result = analyze(image, scene.um_per_px)
    assert result.count == 1
    assert len(result.hairs) == 1
    assert result.hairs[0].length_px() > 0.8 * 1200 / 4.0


@pytest.mark.parametrize("noise", [0.01, 0.03])
def test_a_white_hair_touching_a_highlight_is_one_hair_not_glare(draw, noise):
    # A dermatoscope's highlight on the hair's side, as white as the hair: it joins the
    # shaft's own bright band, which is a band and not a round spot, so none of it is
    # masked and the hair stays whole (1.1 masked the shaft where the spot touched it, and
    # the hair came out as two).
    look = replace(clean_look(glare=((160.0, 168.0, 6.0, 1.0),)), noise=noise, blur_sigma_px=1.2)
    image, scene = draw(
        [Shaft(60, 180, 0, colour="white", width_um=70, length_um=1200)],
        skin_tone="brown",
        um_per_px=5.0,
        look=look,
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 1
    assert len(result.hairs) == 1
    assert result.hairs[0].length_px() > 0.8 * 1200 / 5.0


def _parallel_with_a_gap(draw, gap_um: float, blur_px: float):
    offset = (65 + gap_um) / 2 / 4.0
    return draw(
        [Shaft(60, 180 - offset, 0, length_um=1400), Shaft(80, 180 + offset, 0, length_um=1300)],
        look=replace(clean_look(), blur_sigma_px=blur_px),
    )


@pytest.mark.parametrize("blur_px", [1.4, 2.0])
def test_parallel_hairs_with_skin_showing_between_them_keep_their_own_widths(draw, blur_px):
    # Blur lifts the strip of skin between them over the threshold and joins both into one
    # band (read before 1.2 as a touching pair, 8 um too wide); the strip is a valley far
    # below the hairs on either side of it, and is cut.
    image, scene = _parallel_with_a_gap(draw, 20, blur_px)
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2
    for hair in result.hairs:
        assert hair.width_um == pytest.approx(65, abs=5.0)


@pytest.mark.parametrize("gap_um", [8, 12, 30])
def test_a_shallow_valley_between_parallel_hairs_is_cut_along_its_whole_length(draw, gap_um):
    # At heavy blur a narrow gap's valley is shallow, and noise tips parts of it over the
    # cut's threshold; cut in patches, the band made a ladder and three or more 'hairs'.
    image, scene = _parallel_with_a_gap(draw, gap_um, 2.0)
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2


@pytest.mark.parametrize("blur_px", [1.4, 2.0])
def test_parallel_hairs_with_skin_between_them_are_cut_apart_up_to_the_image_edge(draw, blur_px):
    # Both run out of the image: the valley must be cut right to the edge, where before the
    # fix the closing sank below the hairs and left the two joined there.
    offset = (65 + 20) / 2 / 4.0
    image, scene = draw(
        [Shaft(300, 180 - offset, 0, length_um=1400), Shaft(320, 180 + offset, 0, length_um=1300)],
        look=replace(clean_look(), blur_sigma_px=blur_px),
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2
    for hair in result.hairs:
        assert hair.width_um == pytest.approx(65, abs=5.0)


def test_white_hairs_on_dark_skin_are_counted(draw):
    image, scene = draw(
        [Shaft(60, 80, 10, colour="white"), Shaft(80, 250, -15, colour="grey", width_um=45)],
        skin_tone="brown",
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 2


def test_a_hair_whose_exit_lies_beyond_the_edge_is_drawn_but_not_counted(draw):
    # The exit is outside the image: the hair enters from the left edge.
    image, scene = draw([Shaft(-40, 180, 0, length_um=900), Shaft(240, 100, 90, length_um=700)])
    assert scene.count == 1
    result = analyze(image, scene.um_per_px)
    assert result.count == 1
    assert len(result.hairs) == 2


@pytest.mark.parametrize(("radius_px", "beyond_px"), [(28, 28), (32, 32), (32, 28)])
def test_a_hair_whose_opening_only_shows_its_rim_at_the_edge_is_not_counted(radius_px, beyond_px):
    # A wide opening centred beyond the left edge: its fading rim darkens a strip of the
    # image where the hair comes in, fainter than the openings in view. Taken for the exit,
    # it was counted (analysis 1.2.1 counted 4 here).
    shafts = [
        Shaft(-beyond_px, 200, 0),
        Shaft(330, 40, 90, length_um=500),
        Shaft(420, 330, -90, length_um=600),
        Shaft(250, 320, -30, length_um=300),
    ]
    scene = build_scene(shafts)
    scene = replace(scene, openings=((-beyond_px, 200.0, radius_px), *scene.openings[1:]))
    image = synth.render(scene, clean_look())
    result = analyze(image, scene.um_per_px)
    assert scene.count == 3
    assert len(result.hairs) == 4
    assert result.count == 3


@pytest.mark.parametrize("noise_seed", range(1, 13))
def test_a_hair_leaving_its_opening_near_the_rim_is_one_hair(noise_seed):
    # The shaft leaves its opening 16 px from the opening's centre: the opening's darker
    # skin beside the shaft's end joins the mask, and the skeleton runs on from the shaft
    # into it. That line, ending in the opening, was taken for a second hair with its exit
    # in view (analysis 1.2.2 counted two on 7 of these 12 renderings).
    scene = build_scene([Shaft(200, 180, -30, width_um=60)])
    scene = replace(scene, openings=((200.0, 196.0, 24.0),))
    image = synth.render(scene, clean_look(seed=noise_seed))
    result = analyze(image, scene.um_per_px)
    assert result.count == 1
    assert score(result, scene).true_positives == 1


def _kinked_path(hook_px: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A path along y = 50 from x = 10 to 110, then turning down for ``hook_px`` px, with
    the split a kink makes: the straight part and the turn, sharing the corner point."""
    straight = np.stack([np.arange(10.0, 111.0), np.full(101, 50.0)], axis=1)
    turn = np.stack([np.full(hook_px, 110.0), 51.0 + np.arange(hook_px)], axis=1)
    return np.vstack([straight, turn]), [(0, 101), (100, 101 + hook_px)]


@pytest.mark.parametrize(
    ("hook_px", "hook_darkness", "hook_half_width", "is_hook"),
    [
        (30, 0.3, 10.0, True),  # short, fainter and wider than the shaft: its opening
        (30, 0.7, 10.0, False),  # as dark as the shaft: a hair meeting it at an angle
        (30, 0.3, 3.0, False),  # faint but narrow: a pale thin hair meeting it
        (80, 0.3, 10.0, False),  # faint and wide but long: longer than any opening
    ],
)
def test_a_short_faint_wide_turn_off_a_shaft_is_its_opening_not_a_hair(
    hook_px, hook_darkness, hook_half_width, is_hook
):
    points, split = _kinked_path(hook_px)
    contrast = np.zeros((200, 200))
    half_width = np.zeros((200, 200))
    contrast[45:56, 5:116] = 0.8  # the shaft, 8 px wide in the mask
    half_width[45:56, 5:116] = 4.0
    contrast[51 : 51 + hook_px, 105:116] = hook_darkness
    half_width[51 : 51 + hook_px, 105:116] = hook_half_width
    found = analysis._faint_hooks(contrast, points, split, half_width, 4.0)
    assert found == ({1} if is_hook else set())


@pytest.mark.parametrize("slant_deg", [28, 30])
def test_a_hair_ending_on_the_side_of_another_is_not_carried_onto_it(draw, slant_deg):
    image, scene = draw(
        [
            Shaft(40, 200, 0, length_um=1600),
            Shaft(100, 100, slant_deg, length_um=100 / math.sin(math.radians(slant_deg)) * 4),
        ]
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2


def test_hairs_sharing_a_stem_each_keep_to_their_own_shaft_along_it(draw):
    # Six degrees apart, the two shafts lie side by side for half their length; the
    # skeleton runs between them there, but each hair's line must lie on its own shaft.
    image, scene = draw([Shaft(100, 180, -3, length_um=1200), Shaft(100, 180, 3, length_um=1200)])
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    tolerance = TOLERANCE_PX + 0.15 * 65 / scene.um_per_px  # as the scoring has it
    matched = []
    for hair in result.hairs:
        found = densify(np.asarray(hair.centreline_px))
        on_line = [
            float(
                np.mean(cKDTree(densify(np.asarray(t.centreline_px))).query(found)[0] <= tolerance)
            )
            for t in scene.hairs
        ]
        assert max(on_line) >= 0.85
        matched.append(int(np.argmax(on_line)))
    assert sorted(matched) == [0, 1]  # each on a shaft of its own


@pytest.mark.parametrize("spread_deg", [2.5, 4.0])
def test_hairs_fanning_from_one_opening_within_one_band_each_keep_to_their_own_shaft(
    draw, spread_deg
):
    # So narrow a fan never parts into two bands: the analysis sees one band, one shaft
    # wide at the opening and nearly two at the far end, and must put each line on its
    # shaft and read each shaft's own width. (At 1.5 degrees the band widens by a third of
    # a shaft over 0.9 mm, too little to tell from a thick hair: counted as one.)
    half = spread_deg / 2
    image, scene = draw(
        [Shaft(100, 180, -half, length_um=900), Shaft(100, 180, half, length_um=900)]
    )
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2
    for hair in result.hairs:
        assert hair.width_um == pytest.approx(65, abs=5.0)


def _tapered_hair(
    exit_px: tuple[float, float], angle_deg: float, length_um: float, widths_um: tuple[float, float]
) -> tuple[np.ndarray, synth.Scene]:
    """A dark shaft whose width changes steadily from ``widths_um[0]`` at its opening to
    ``widths_um[1]`` at its far end (the generator draws shafts of one width), on the clean
    look: blur 0.8 px, noise 0.01."""
    um_per_px = 4.0
    scene = build_scene([Shaft(*exit_px, angle_deg, length_um=length_um)], um_per_px=um_per_px)
    bare = replace(clean_look(), blur_sigma_px=0.0, noise=0.0, shot_noise=0.0)
    image = synth.render(replace(scene, hairs=()), bare).astype(np.float32) / 255.0
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(float)
    direction = np.array([math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))])
    length_px = length_um / um_per_px
    along = (xx - exit_px[0]) * direction[0] + (yy - exit_px[1]) * direction[1]
    along = np.clip(along, 0, length_px)
    across = np.hypot(
        xx - exit_px[0] - along * direction[0], yy - exit_px[1] - along * direction[1]
    )
    width_um = widths_um[0] + (widths_um[1] - widths_um[0]) * along / length_px
    radius_px = width_um / 2 / um_per_px
    chord_um = 2.0 * np.sqrt(np.clip(radius_px**2 - across**2, 0.0, None)) * um_per_px
    colour_rgb, absorbance_per_um = synth.HAIR_COLOURS["dark brown"]
    opacity = (1.0 - np.exp(-absorbance_per_um * chord_um))[..., None]
    image = image * (1 - opacity) + np.asarray(colour_rgb) / 255.0 * opacity
    image = ndimage.gaussian_filter(image, (0.8, 0.8, 0))
    image += np.random.default_rng(3).standard_normal(image.shape) * 0.01
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8), scene


@pytest.mark.parametrize("widths_um", [(64, 32), (64, 36), (80, 40)])
def test_a_shaft_tapering_away_from_its_opening_is_one_hair(widths_um, monkeypatch):
    # A regrowing hair's tip narrows steadily, as a fan of two hairs widens: but a fan is
    # narrow at its opening and a tapering shaft is wide there.
    image, scene = _tapered_hair((100, 180), 10, 1200, widths_um)
    fans = []
    original = analysis._fan

    def spy(*args, **kwargs):
        fans.append(original(*args, **kwargs))
        return fans[-1]

    monkeypatch.setattr(analysis, "_fan", spy)
    result = analyze(image, scene.um_per_px)
    assert any(fan is not None for fan in fans)  # the band does widen like a fan's
    assert result.count == 1
    assert len(result.hairs) == 1
    assert min(widths_um) - 4 <= result.hairs[0].width_um <= max(widths_um) + 4


def test_hairs_leaving_one_opening_form_one_follicular_unit(draw):
    image, scene = draw([Shaft(100, 180, -20, length_um=900), Shaft(100, 180, 25, length_um=900)])
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert result.follicular_units() == {2: 1}


def test_the_counting_frame_counts_each_hair_in_exactly_one_of_two_halves():
    sample = synth.generate(7, "medium", size_px=(480, 640))
    um = sample.scene.um_per_px
    whole = analyze(sample.image, um)
    left = analyze(sample.image, um, Roi.rect(-0.5, -0.5, 320, 480))
    right = analyze(sample.image, um, Roi.rect(319.5, -0.5, 320, 480))
    assert left.count + right.count == whole.count
    assert left.area_cm2 + right.area_cm2 == pytest.approx(whole.area_cm2)


def test_a_circular_region_counts_only_exits_inside_it(draw):
    image, scene = draw([Shaft(100, 100, 0), Shaft(380, 300, 180)])
    result = analyze(image, scene.um_per_px, "circle:100,100,60")
    assert result.count == 1
    assert result.area_cm2 == pytest.approx(math.pi * 60**2 * (4.0 / 10_000) ** 2)


def test_density_is_the_count_over_the_region_area(draw):
    image, scene = draw([Shaft(60, 80, 10), Shaft(80, 250, -15)])
    result = analyze(image, scene.um_per_px)
    area_cm2 = 360 * 480 * (4.0 / 10_000) ** 2
    assert result.area_cm2 == pytest.approx(area_cm2)
    assert result.density_per_cm2 == pytest.approx(result.count / area_cm2)


def test_grey_and_rgba_arrays_are_analysed_like_rgb(draw):
    image, _scene = draw([Shaft(60, 80, 10), Shaft(80, 250, -15)])
    grey = image.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    assert analyze(grey, 4.0).count == 2
    assert analyze(rgba, 4.0).count == analyze(image, 4.0).count


def test_coarse_calibration_is_flagged_as_under_resolved(draw):
    image, _scene = draw([Shaft(60, 80, 10)])
    assert "under_resolved" in analyze(image, 8.0).flags
    assert "under_resolved" not in analyze(image, 4.0).flags


def test_the_result_carries_the_library_version_and_serialises_to_json(draw):
    import json

    image, scene = draw([Shaft(60, 80, 10)])
    data = json.loads(json.dumps(analyze(image, scene.um_per_px).as_json()))
    assert data["summary"]["count"] == 1
    assert data["version"]
    assert data["hairs"][0]["class"] == "terminal"


# -- bad input: a clear refusal or a flagged result, never a crash or a hang -------------


@pytest.mark.parametrize("um_per_px", [0, -1, -0.5, float("nan"), float("inf"), None, "four"])
def test_the_analysis_refuses_to_run_without_a_usable_calibration(um_per_px):
    image = np.full((64, 64, 3), 200, np.uint8)
    with pytest.raises(CalibrationError):
        analyze(image, um_per_px)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 5), np.uint8),
        np.zeros((64, 64, 3), np.int64),
        "not an image",
    ],
    ids=["1x1", "empty", "five channels", "int64", "string"],
)
def test_arrays_that_are_not_images_are_refused(image):
    with pytest.raises(ImageRejected):
        analyze(image, 4.0)


def test_a_20000_by_20000_image_is_refused_without_touching_its_pixels():
    # A zero-stride view: the array claims 1.2 GB but holds three bytes.
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20_000, 20_000, 3))
    with pytest.raises(ImageRejected, match="pixels"):
        analyze(huge, 4.0)


@pytest.mark.parametrize("value", [0, 255])
def test_an_all_black_or_all_white_image_gives_a_flagged_empty_result(value):
    result = analyze(np.full((480, 640, 3), value, np.uint8), 4.0)
    assert result.count == 0
    assert "uniform_image" in result.flags


def test_pure_noise_gives_a_result_without_hairs_worth_counting():
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    result = analyze(noise, 4.0)
    # Noise has no elongated structure a shaft's length; a few chance chains at most.
    assert result.count <= 2


def test_a_region_of_the_wrong_type_is_refused_with_a_message():
    image = np.full((100, 100, 3), 200, np.uint8)
    with pytest.raises(RegionError, match="not understood"):
        analyze(image, 4.0, (10, 10, 50, 50))  # type: ignore[arg-type]
    with pytest.raises(RegionError):
        Roi("ellipse", 10, 10)  # type: ignore[arg-type]


def test_a_region_outside_the_image_is_refused():
    image = np.full((100, 100, 3), 200, np.uint8)
    with pytest.raises(RegionError):
        analyze(image, 4.0, Roi.rect(50, 50, 100, 100))
    with pytest.raises(RegionError):
        analyze(image, 4.0, "circle:50,50,0")
    with pytest.raises(RegionError):
        analyze(image, 4.0, "a,b,c")


# -- properties ---------------------------------------------------------------------------

_SMALL = (360, 480)


def _free_spot(scene: synth.Scene, x: float, y: float, angle: float, length_px: float) -> bool:
    """Whether a new 65 um shaft there keeps clear of every hair and opening already drawn."""
    new = np.array(
        [[x + t * math.cos(angle), y + t * math.sin(angle)] for t in np.linspace(0, length_px, 40)]
    )
    clearance = 40.0 / scene.um_per_px + 65.0 / scene.um_per_px
    for hair in scene.hairs:
        points = np.asarray(hair.centreline_px)
        distance = np.min(
            np.hypot(new[:, None, 0] - points[None, :, 0], new[:, None, 1] - points[None, :, 1])
        )
        if distance < clearance + hair.width_um / 2 / scene.um_per_px:
            return False
    for ox, oy, radius in scene.openings:
        if np.min(np.hypot(new[:, 0] - ox, new[:, 1] - oy)) < radius + clearance:
            return False
    margin = 15
    end = new[-1]
    return bool(
        margin < x < _SMALL[1] - margin
        and margin < y < _SMALL[0] - margin
        and 0 <= end[0] < _SMALL[1]
        and 0 <= end[1] < _SMALL[0]
    )


# Derandomised: the same examples on every run, so the suite gives the same answer on every
# machine (the heuristics are deterministic, the example draw is what would vary).
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(
    seed=st.integers(0, 10_000),
    x=st.floats(20, 460),
    y=st.floats(20, 340),
    angle=st.floats(0, 2 * math.pi),
)
def test_adding_a_hair_to_a_scene_never_lowers_the_count(seed, x, y, angle):
    scene = synth.make_scene(seed, "easy", size_px=_SMALL)
    length_px = 600.0 / scene.um_per_px
    from hypothesis import assume

    assume(_free_spot(scene, x, y, angle, length_px))
    look = synth.make_look(seed, "easy", scene=scene)
    points = synth._curve(np.array([x, y]), angle, length_px, 0.0)
    added = synth.TruthHair(
        id=len(scene.hairs) + 1,
        unit=10_000,
        exit_px=(x, y),
        centreline_px=tuple((float(px), float(py)) for px, py in points[::4]),
        width_um=65.0,
        colour="dark brown",
        exit_in_image=True,
        visible_length_px=length_px,
    )
    with_opening = synth.Scene(
        **{
            **scene.__dict__,
            "hairs": (*scene.hairs, added),
            "openings": (*scene.openings, (x, y, 95.0 / scene.um_per_px)),
        }
    )
    before = analyze(synth.render(scene, look), scene.um_per_px).count
    after = analyze(synth.render(with_opening, look), scene.um_per_px).count
    assert after >= before


# Two hairs wholly in view, so that the image has typical hairs and openings to compare with.
_IN_VIEW = [Shaft(200, 150, 20, length_um=800), Shaft(300, 300, -60, length_um=700)]


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
@pytest.mark.parametrize(
    "root",
    [
        Shaft(10, 200, 180),  # straight out of the left edge, 10 px from it
        Shaft(240, 8, -70),  # out of the top edge at a slant
        Shaft(6, 60, 200, width_um=80),  # 6 px from the edge: little more than its cap shows
        Shaft(150, 352, 100, width_um=45),  # out of the bottom edge, a thinner hair
        # Wide roots, their openings joined to them in the mask: the shape at the edge is
        # about as long as it is wide, so its skeleton is a pixel or two (no path is made of
        # it) or runs on into the opening and stops further from the edge than the shaft's
        # half width (analysis 1.2.4 missed each on one rendering of three).
        Shaft(15, 200, 180, width_um=80),
        Shaft(461, 250, 5, width_um=90),
    ],
    ids=["left", "top-slanted", "cap-only", "bottom-thin", "wide-left", "wide-right"],
)
def test_a_hair_leaving_its_opening_just_inside_the_edge_and_running_out_is_counted(
    root, noise_seed
):
    # Only its root shows: a short dark band with a rounded end in its opening, cut off by
    # the edge. No profile can be read across it, and analysis 1.2.3 dropped it (with 1.2.4
    # the hairs missed at the edge on 60 easy tuning images fell from 31 to 15, with 1.2.5
    # to 10). It is counted, at its root, with its width unmeasured.
    scene = build_scene([root, *_IN_VIEW])
    image = synth.render(scene, clean_look(seed=noise_seed))
    result = analyze(image, scene.um_per_px)
    assert scene.count == 3
    assert result.count == 3
    stubs = [hair for hair in result.hairs if hair.width_um is None]
    assert len(stubs) == 1
    assert stubs[0].counted
    assert stubs[0].hair_class == "unmeasured"
    width_px = root.width_um / scene.um_per_px
    assert math.dist(stubs[0].exit_px, (root.x, root.y)) <= width_px


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
def test_a_shorter_hair_lying_along_a_longer_one_from_its_opening_is_counted(draw, noise_seed):
    # Two hairs leaving one opening 6 degrees apart, the second half as long: one band, a
    # shaft and a half wide where both lie, narrowing where the shorter one ends.
    image, scene = draw(
        [
            Shaft(100, 180, 0, length_um=1300, width_um=70),
            Shaft(100, 180, 6, length_um=650, width_um=60),
        ],
        look=clean_look(seed=noise_seed),
    )
    assert analyze(image, scene.um_per_px).count == 2


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
@pytest.mark.parametrize(("apart_deg", "length_um"), [(6, 800), (9, 600)])
def test_a_shorter_hair_forking_off_a_longer_one_from_its_opening_counts_once(
    noise_seed, apart_deg, length_um
):
    # Two hairs of one opening, the second shorter, part a little before it ends: the
    # skeleton forks, and the second hair's branch past the fork is short. Measured with
    # the margins of the band's width taken over its whole path (two shafts wide along the
    # shared stem), the branch left no point to read a profile on; read on the stem, it
    # was a touching pair, and analysis 1.2.5 counted three hairs on every rendering.
    image, scene = draw_unit(apart_deg, length_um, noise_seed)
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2
    assert all(hair.width_um is not None and hair.width_um < 90 for hair in result.hairs)


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
@pytest.mark.parametrize(("apart_deg", "length_um"), [(0.5, 780), (2, 800)])
def test_a_thin_hair_running_on_past_a_thick_ones_tip_from_its_opening_is_counted(
    noise_seed, apart_deg, length_um
):
    # A 25 um hair lying along a 75 um one from their opening and running on 180-200 um
    # past its tip: the band narrows to a third where the thick hair ends. Analysis 1.2.5
    # asked each side of that step to hold for three of the band's median widths (the
    # thick hair's), 60 px here, and the thin tail (45-50 px) never did: one hair.
    scene = build_scene(
        [
            Shaft(90, 120, 20, length_um=600, width_um=75),
            Shaft(90, 120, 20 + apart_deg, length_um=length_um, width_um=25),
        ]
    )
    result = analyze(synth.render(scene, clean_look(seed=noise_seed)), scene.um_per_px)
    assert result.count == 2
    assert score(result, scene).true_positives == 2


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
@pytest.mark.parametrize("length_um", [800, 600])
def test_a_shorter_hair_parting_from_a_longer_one_at_a_few_degrees_is_counted(
    noise_seed, length_um
):
    # Two hairs 4 degrees apart from one opening lie in one band that widens from one
    # shaft at the opening to about 1.5 at the shorter one's tip, then drops to one. On
    # average the wide side is under 1.3 times the narrow one, the drop spoils a straight
    # widening: analysis 1.2.6 counted one hair, 93 um wide, on every rendering.
    image, scene = draw_unit(4, length_um, noise_seed)
    result = analyze(image, scene.um_per_px)
    assert result.count == 2
    # Each on its own line: the two part steadily from the band's middle.
    assert score(result, scene).true_positives == 2
    # The longer hair's width is read where it runs on alone, not over the wide band.
    longer = max(result.hairs, key=lambda hair: len(hair.centreline_px))
    assert longer.width_um == pytest.approx(70, abs=5)


def _straight_band(widths_px: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A path along row 20 and a half-width map giving the band ``widths_px`` along it."""
    widths = np.asarray(widths_px, dtype=float)
    points = np.stack([np.arange(len(widths), dtype=float), np.full(len(widths), 20.0)], axis=1)
    return points, np.tile(widths / 2, (40, 1))


@pytest.mark.parametrize("reverse", [False, True])
def test_a_band_widening_from_its_opening_then_dropping_to_one_shaft_is_a_wedge(reverse):
    rng = np.random.default_rng(0)
    widths = np.concatenate([np.linspace(18, 30, 200), np.full(60, 18.0)]) + rng.normal(0, 0.4, 260)
    points, half_width = _straight_band(list(widths[::-1] if reverse else widths))
    found = analysis._wedge_step(points, half_width, 12.0)
    assert found is not None
    cut, wide_first, near = found
    assert abs(cut - (60 if reverse else 200)) <= 3
    assert wide_first is (not reverse)
    assert near >= analysis.STEP_LEAST_HOLD_PX


@pytest.mark.parametrize(
    "widths",
    [
        [18.0] * 260,  # one shaft
        [18.0] * 100 + [30.0] * 40 + [18.0] * 120,  # a bump: an opening or a flake beside it
        [*np.linspace(18, 30, 260)],  # widening to the end: a fan, ``_fan``'s case
        [*np.linspace(18, 22, 200), *np.full(60, 18.0)],  # too little wider at the drop
    ],
    ids=["constant", "bump", "fan", "slight"],
)
def test_a_band_that_does_not_widen_steadily_and_drop_is_no_wedge(widths):
    points, half_width = _straight_band(widths)
    assert analysis._wedge_step(points, half_width, 12.0) is None


def draw_unit(apart_deg: float, length_um: float, noise_seed: int):
    """A 70 um hair 1000 um long and a 60 um one ``apart_deg`` off it, from one opening."""
    scene = build_scene(
        [
            Shaft(90, 120, 20, length_um=1000, width_um=70),
            Shaft(90, 120, 20 + apart_deg, length_um=length_um, width_um=60),
        ]
    )
    return synth.render(scene, clean_look(seed=noise_seed)), scene


def test_a_single_shaft_whose_mask_widens_along_it_is_one_hair():
    # Easy tuning image 3000: a 74 um hair whose mask is over 1.3 times wider on one
    # stretch than on the rest, while its cross profile keeps its span. Analysis 1.2.4 read
    # the wide stretch as a second hair lying along it, from the same opening (on 60 easy
    # tuning images, 6 of the 7 second hairs read from a widening mask matched no hair).
    sample = synth.generate(3000, "easy")
    result = analyze(sample.image, sample.scene.um_per_px)
    hair = min(sample.scene.hairs, key=lambda h: math.dist(h.exit_px, (500, 55)))
    reach_px = 2 * hair.width_um / sample.scene.um_per_px
    near = [h for h in result.hairs if h.counted and math.dist(h.exit_px, hair.exit_px) <= reach_px]
    assert len(near) == 1
    assert near[0].width_um == pytest.approx(hair.width_um, abs=5)
    assert result.count == sample.scene.count


def test_only_shapes_at_the_edge_that_no_path_runs_through_are_handed_on_as_pieces():
    mask = np.zeros((60, 80), dtype=bool)
    mask[0:12, 20:34] = True  # a root's cap at the top edge, no path
    mask[30:42, 66:80] = True  # one at the right edge, a path through it
    mask[25:35, 30:40] = True  # inside the image, no path
    skeleton = np.zeros_like(mask)
    skeleton[5:7, 27] = True
    skeleton[36, 70:75] = True
    skeleton[30, 35] = True
    half_width = ndimage.distance_transform_edt(mask)
    path = SimpleNamespace(points=np.array([[70.0, 36.0], [74.0, 36.0]]))
    pieces = analysis._edge_shapes_without_path(mask, skeleton, [path], half_width)
    assert len(pieces) == 1
    points, width_px = pieces[0]
    assert sorted(map(tuple, points.tolist())) == [(27.0, 5.0), (27.0, 6.0)]
    assert width_px == pytest.approx(2 * float(half_width[5:7, 27].max()))


@pytest.mark.parametrize("noise_seed", [1, 2, 3])
@pytest.mark.parametrize(
    "tip",
    [
        Shaft(-100, 20, 10, length_um=560),  # from the left, its tip 38 px in
        Shaft(-60, 300, -15, length_um=400),
        Shaft(150, -80, 80, length_um=420),  # from above, only its tip in view
        Shaft(520, 200, 190, length_um=300),  # from the right
    ],
    ids=["left", "left-rising", "top-tip", "right"],
)
def test_the_rounded_tip_of_a_hair_from_beyond_the_edge_is_not_taken_for_a_root(tip, noise_seed):
    # A tip coming in from beyond the edge is a short dark band with a rounded end too,
    # but no opening shows round it. (While the rule for roots was being made, the run
    # where the band meets the edge was read only near the path's end: a tip meeting the
    # edge at a slant then seemed a thin shaft, its own darkness beside that thin line was
    # read as an opening, and 7 tips were counted on 60 easy tuning images.)
    scene = build_scene([tip, *_IN_VIEW])
    image = synth.render(scene, clean_look(seed=noise_seed))
    result = analyze(image, scene.um_per_px)
    assert scene.count == 2
    assert result.count == 2


@pytest.mark.parametrize(
    ("values", "foot", "expected"),
    [
        # A band 6 px wide meeting the edge at 20-25: its middle and its length.
        ({20: 0.8, 21: 0.8, 22: 0.9, 23: 0.9, 24: 0.8, 25: 0.8}, 22.0, (22.5, 6.0)),
        # A slanted band crosses the edge over a long run: read whole, past the reach.
        ({k: 0.8 for k in range(10, 60)}, 12.0, (34.5, 50.0)),
        # Of two bands, the one nearer the foot.
        ({5: 0.8, 6: 0.8, 30: 0.8, 31: 0.8, 32: 0.8}, 28.0, (31.0, 3.0)),
        # None within reach (8 px) of the foot, or nothing dark enough.
        ({50: 0.8, 51: 0.8}, 20.0, None),
        ({20: 0.3, 21: 0.3}, 20.0, None),
    ],
)
def test_the_run_where_a_band_meets_the_edge_is_the_nearest_one_read_whole(values, foot, expected):
    contrast = np.zeros((80, 100))
    for row, value in values.items():
        contrast[row, 0] = value  # the left edge: x fixed at 0, rows along it
    found = analysis._edge_run(contrast, 0, 0, foot, reach_px=8.0, level=0.5)
    if expected is None:
        assert found is None
        return
    assert found is not None
    meet, run_px = found
    assert meet[0] == 0.0
    assert meet[1] == pytest.approx(expected[0])
    assert run_px == expected[1]


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000))
def test_rotating_the_image_by_90_degrees_changes_the_count_by_at_most_one(seed):
    # Full-size easy images (separate hairs). Where hairs overlap (medium and hard tiers)
    # this does not hold yet: a turned image can count up to 3 or 4 hairs more or fewer
    # (docs/status.md). On small images most hairs touch an edge, where the exit judgement
    # is least sure.
    sample = synth.generate(seed, "easy")
    um = sample.scene.um_per_px
    upright = analyze(sample.image, um).count
    turned = analyze(np.ascontiguousarray(np.rot90(sample.image)), um).count
    assert abs(upright - turned) <= 1


# -- golden images: fixed generated scenes, today's numbers pinned -------------------------

# Full-size (1280 x 960) images of fixed seeds: seed, tier, the count found when these
# numbers were recorded (scikit-image 0.26), the truth's count, how far the count may be
# from the truth, and the most the median width error may be (um). A recorded count
# changed by more than one means the analysis changed: look at why before re-recording.
# One either way is allowed: CPUs with other vector units round float32 sums differently,
# and on a hard image that can tip one borderline hair (seed 16 gave 70 on one machine
# and 69 on a later machine with the same code).
GOLDEN = [
    # 1.2.4: 27 to 26. A hair from an opening just past the edge was counted (since 1.1);
    # now its shaft is seen to run out of the image at full width. Still one false hair
    # and one missed at the edge.
    (11, "easy", 26, 26, 1, 3.0),
    (12, "easy", 19, 19, 0, 3.0),
    (14, "medium", 11, 11, 1, 4.0),
    # 1.2.2: 74 to 69. Four hairs coming in from beyond the edge were counted before (the
    # rim of their openings taken for the exit, or a width read off the edge's repeated
    # pixels let a piece along the edge pass); a 22 um hair leaving the image 30 px from its
    # opening is now missed. 1.2.3: 70 to 68 on the machine that re-recorded it (1.2.2 gave
    # 70 there): two false hairs gone (lines read as 13 and 4 um wide), both shorter than
    # a hair once their own width is added to the skeleton's length instead of the mask's.
    # 1.2.5: 68 to 65. Three false hairs gone, each read as a second shaft along a hair
    # from a stretch where the mask widened but the cross profile did not (per-hair F1
    # 0.723 to 0.737); the hairs they offset are still missed, so the truth bound is 9 (8
    # plus the one either way that other CPUs may give). 1.2.6: 65 to 63. A chain sharing
    # its stem with another is measured on its own branch: two read as touching pairs are
    # one hair each (a false hair gone, a hair partly under another no longer matched;
    # F1 0.737 to 0.733; with the step held for each side's own widths, 0.747), so the
    # truth bound is 11.
    (16, "hard", 63, 73, 11, 6.5),
]


@pytest.mark.parametrize(
    ("seed", "tier", "recorded", "true_count", "count_tolerance", "width_tolerance"), GOLDEN
)
def test_golden_images_keep_their_counts_and_widths(
    seed, tier, recorded, true_count, count_tolerance, width_tolerance
):
    sample = synth.generate(seed, tier)
    result = analyze(sample.image, sample.scene.um_per_px)
    image_score = score(result, sample.scene)
    assert sample.scene.count == true_count, "the generator drew another scene: re-record"
    assert abs(result.count - recorded) <= 1, "the analysis changed its count on a pinned image"
    assert abs(result.count - true_count) <= count_tolerance
    assert float(np.median(image_score.width_errors_um)) <= width_tolerance


def test_every_flag_the_analysis_raises_is_explained_for_the_practitioner():
    import re
    from pathlib import Path

    from mesoclinic.trichoscopy import analysis
    from mesoclinic.trichoscopy.result import FLAG_EXPLANATIONS

    source = Path(analysis.__file__).read_text()
    raised = set(re.findall(r'flags\.append\("([a-z_]+)"\)', source))
    assert raised, "the analysis raises flags through flags.append"
    assert raised <= set(FLAG_EXPLANATIONS)


def _line_hair(number: int, y: float, x0: float, x1: float, width_um: float | None) -> Hair:
    return Hair(
        id=number,
        centreline_px=((x0, y), (x1, y)),
        width_um=width_um,
        exit_px=(x0, y),
        counted=True,
    )


def test_a_line_lying_along_a_longer_hairs_axis_is_that_hair_found_twice():
    # 4 um/px, 60 um shafts (15 px): 2 px off the axis is inside the shaft; 15 px off is a
    # neighbour touching it side by side.
    hairs = [
        _line_hair(1, 100.0, 10.0, 210.0, 60.0),
        _line_hair(2, 102.0, 40.0, 180.0, 60.0),  # along the first one's axis: a duplicate
        _line_hair(3, 115.0, 20.0, 200.0, 60.0),  # a touching neighbour
        _line_hair(4, 101.0, 30.0, 150.0, None),  # a second shaft drawn under the first
        _line_hair(5, 100.0, 190.0, 260.0, 60.0),  # overlaps the first only at its end
    ]
    exits = [np.array(h.exit_px) for h in hairs]
    kept, kept_exits = analysis._without_duplicates(hairs, exits, 4.0)
    assert [h.centreline_px[0] for h in kept] == [
        (10.0, 100.0),
        (20.0, 115.0),
        (30.0, 101.0),
        (190.0, 100.0),
    ]
    assert [h.id for h in kept] == [1, 2, 3, 4]
    assert [tuple(e) for e in kept_exits] == [
        (10.0, 100.0),
        (20.0, 115.0),
        (30.0, 101.0),
        (190.0, 100.0),
    ]


def _circle_test(bright: np.ndarray) -> bool:
    return analysis._along_a_band(bright, (50.0, 50.0), 12.0)


def test_a_band_through_a_fleck_shows_as_two_facing_arcs():
    bright = np.zeros((100, 100), dtype=bool)
    bright[46:55, :] = True  # a white shaft 9 px wide through the fleck
    assert _circle_test(bright)
    turned = np.zeros((100, 100), dtype=bool)
    yy, xx = np.mgrid[0:100, 0:100]
    turned[np.abs((xx - 50) - (yy - 50)) <= 6] = True  # the same at 45 degrees
    assert _circle_test(turned)


def test_a_halo_a_half_plane_or_skin_texture_is_no_band():
    yy, xx = np.mgrid[0:100, 0:100]
    assert not _circle_test(np.hypot(xx - 50, yy - 50) < 20)  # a halo all round
    assert not _circle_test(yy < 50)  # lighter skin on one side: one wide arc
    bend = np.zeros((100, 100), dtype=bool)
    bend[46:55, :55] = True
    bend[:55, 46:55] = True  # two arcs at right angles, not facing each other
    assert not _circle_test(bend)
    rng = np.random.default_rng(5)
    speckled = 0
    for _ in range(200):  # texture: scattered lighter pixels, a third of the skin
        speckled += _circle_test(rng.random((100, 100)) < 0.33)
    assert speckled <= 4


def test_a_highlight_is_masked_without_its_halo_running_along_a_white_hair(draw):
    # The spot lies a few pixels off a white shaft; its lighter halo reaches the shaft,
    # which is as light. Only the shaft near the spot may be taken for glare.
    look = replace(clean_look(glare=((160.0, 158.0, 6.0, 1.0),)), blur_sigma_px=1.2)
    image, scene = draw(
        [Shaft(60, 180, 0, colour="white", width_um=70, length_um=1200)],
        skin_tone="brown",
        um_per_px=5.0,
        look=look,
    )
    rgb = image.astype(np.float32) / 255.0
    background = analysis._background(rgb, 6 * analysis.MAX_SHAFT_UM / 5.0)
    glare = analysis._glare(rgb, background, 60.0 / 5.0)
    assert glare[158, 160]
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    shaft = (np.abs(yy - 180) <= 6) & (xx >= 60) & (xx < 300)
    assert not (glare & shaft & (np.hypot(xx - 160, yy - 158) > 30)).any()
    result = analyze(image, scene.um_per_px)
    assert result.count == 1
    assert "glare" in result.flags


def test_closing_fills_a_valley_between_two_bands_but_nothing_round_a_lone_disc():
    values = np.zeros((100, 80))
    values[10:25, 10:70] = 1.0  # two bands with a 4 px valley between them
    values[29:44, 10:70] = 1.0
    yy, xx = np.mgrid[0:100, 0:80]
    disc = (yy - 75) ** 2 + (xx - 40) ** 2 <= 8**2
    values[disc] = 1.0  # a lone disc, further from the bands than the closing reaches
    closed = analysis._octagon_closing(values, 15.0, outside=0.0)
    assert closed[25:29, 20:60].min() == 1.0  # the valley is raised to the bands' level
    assert closed[~disc & (yy > 50)].max() == 0.0  # nothing round the disc is
    assert closed[0:8, :].max() == 0.0  # beyond the edge counts as skin, not as hair
    assert (closed >= values).all()  # a closing never lowers anything


def test_closing_fills_a_valley_between_bands_right_up_to_the_image_edge():
    # Two bands running off the left and right edges: the valley between them must be
    # raised all the way along, or no cut is made near the edges (and the hairs' ends there
    # stay joined).
    values = np.zeros((60, 80))
    values[10:25, :] = 1.0
    values[29:44, :] = 1.0
    closed = analysis._octagon_closing(values, 15.0, outside=0.0)
    assert closed[25:29, :].min() == 1.0
    assert (closed >= values).all()


# The per-pixel helpers stand in for numpy's reductions over the colour axis, which are many
# times slower: they must give the very same values, or the analysis would change with them.
colour_planes = st.integers(min_value=0, max_value=2**32 - 1).map(
    lambda seed: (
        np.random.default_rng(seed).random((7, 9, 3)).astype(np.float32)
        * np.float32(np.random.default_rng(seed + 1).choice([1e-3, 1.0, 300.0]))
    )
)


@settings(deadline=None)
@given(colour_planes)
def test_the_colour_helpers_give_numpys_reductions_exactly(rgb):
    assert np.array_equal(analysis._channel_min(rgb), rgb.min(axis=-1))
    assert np.array_equal(analysis._channel_mean(rgb), rgb.mean(axis=-1))
    assert np.array_equal(analysis._channel_norm(rgb), np.linalg.norm(rgb, axis=-1))
    assert analysis._channel_mean(rgb).dtype == np.float32


@pytest.mark.parametrize("shape", [(96, 128), (100, 131), (37, 53)])
def test_the_background_is_interpolated_between_block_centres_as_in_two_dimensions(shape):
    # One axis at a time, the bilinear interpolation must agree with scipy's
    # two-dimensional one up to rounding (the order of the products differs).
    rng = np.random.default_rng(shape[0])
    rgb = (0.5 + 0.3 * ndimage.gaussian_filter(rng.random((*shape, 3)), (6, 6, 0))).astype(
        np.float32
    )
    window = 90.0
    background = analysis._background(rgb, window)
    height, width = shape
    factor = max(1, min(int(window / 12), min(height, width) // 4))
    h, w = -(-height // factor), -(-width // factor)
    # The low-resolution grid itself, rebuilt the way _background builds it.
    padded = np.pad(rgb, ((0, h * factor - height), (0, w * factor - width), (0, 0)), "reflect")
    small = np.median(
        padded.reshape(h, factor, w, factor, 3).transpose(0, 2, 4, 1, 3).reshape(h, w, 3, -1),
        axis=-1,
    )
    size = max(3, round(window / factor) | 1)
    filtered = np.stack(
        [ndimage.median_filter(small[..., c], size=size, mode="reflect") for c in range(3)],
        axis=-1,
    )
    filtered = ndimage.gaussian_filter(filtered, (size / 4, size / 4, 0))
    ys = np.clip((np.arange(height) + 0.5) / factor - 0.5, 0, h - 1)
    xs = np.clip((np.arange(width) + 0.5) / factor - 0.5, 0, w - 1)
    grid = np.meshgrid(ys, xs, indexing="ij")
    expected = np.stack(
        [ndimage.map_coordinates(filtered[..., c], grid, order=1) for c in range(3)], axis=-1
    )
    assert background.shape == rgb.shape
    assert background.dtype == np.float32
    assert np.allclose(background, expected, rtol=1e-6, atol=0)
