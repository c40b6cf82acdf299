"""The synthetic image generator: seeded, with ground truth that matches what it draws."""

import itertools
import json
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from mesoclinic.trichoscopy import synth
from mesoclinic.trichoscopy.result import UM_PER_CM, width_class
from mesoclinic.trichoscopy.synth import (
    HELD_BACK,
    TIERS,
    Scene,
    TruthHair,
    generate,
    make_look,
    make_scene,
    render,
    truth_from_json,
)

SMALL = (240, 320)  # height, width: renders in a few milliseconds
TIER_NAMES = tuple(TIERS)
SEEDS = (0, 1, 2)

seeds = st.integers(min_value=0, max_value=2**31 - 1)
tiers = st.sampled_from(TIER_NAMES)


def _points(hair: TruthHair) -> np.ndarray:
    return np.asarray(hair.centreline_px, dtype=float)


def _dense(points: np.ndarray, step: float = 0.25) -> np.ndarray:
    """The polyline resampled every ``step`` pixels or less."""
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step))
        out.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    return np.concatenate(out)


def _units(scene: Scene) -> dict[int, list[TruthHair]]:
    units: dict[int, list[TruthHair]] = defaultdict(list)
    for hair in scene.hairs:
        units[hair.unit].append(hair)
    return units


def _contrast(colour: str, skin_tone: str) -> float:
    hair = np.asarray(synth.HAIR_COLOURS[colour][0], dtype=float)
    skin = np.asarray(synth.SKIN_TONES[skin_tone], dtype=float)
    return float(np.linalg.norm(hair - skin) / np.linalg.norm(skin))


# --- determinism --------------------------------------------------------------------------


@settings(max_examples=8, deadline=None)
@given(seed=seeds, tier=tiers)
def test_the_same_seed_and_tier_give_the_same_truth_and_pixels(seed: int, tier: str) -> None:
    first = generate(seed, tier, size_px=SMALL)
    second = generate(seed, tier, size_px=SMALL)

    assert first.scene == second.scene
    assert first.look == second.look
    assert np.array_equal(first.image, second.image)


@settings(max_examples=8, deadline=None)
@given(seed=seeds, tier=tiers)
def test_a_different_seed_gives_a_different_scene(seed: int, tier: str) -> None:
    one = make_scene(seed, tier)
    other = make_scene(seed + 1, tier)

    assert one.hairs != other.hairs
    assert one.um_per_px != other.um_per_px


@settings(max_examples=6, deadline=None)
@given(seed=seeds, tier=tiers, look_seed=seeds)
def test_a_new_look_seed_changes_the_pixels_but_not_the_truth(
    seed: int, tier: str, look_seed: int
) -> None:
    plain = generate(seed, tier, size_px=SMALL)
    relit = generate(seed, tier, size_px=SMALL, look_seed=seed + 1 + look_seed)

    assert relit.scene == plain.scene
    assert [(h.id, h.exit_px, h.width_um, h.centreline_px) for h in relit.scene.hairs] == [
        (h.id, h.exit_px, h.width_um, h.centreline_px) for h in plain.scene.hairs
    ]
    assert relit.look != plain.look
    assert not np.array_equal(relit.image, plain.image)


def test_the_look_seed_defaults_to_the_scene_seed() -> None:
    assert np.array_equal(
        generate(5, "medium", size_px=SMALL).image,
        generate(5, "medium", size_px=SMALL, look_seed=5).image,
    )


# --- held-back settings -------------------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_held_back_settings_differ_from_the_tuning_ones(tier: str) -> None:
    held, tuning = HELD_BACK[tier], TIERS[tier]

    assert held != tuning
    assert held.um_per_px != tuning.um_per_px
    assert held.density_per_cm2 != tuning.density_per_cm2
    assert held.skin_tones != tuning.skin_tones


@settings(max_examples=10, deadline=None)
@given(seed=seeds, tier=tiers)
def test_held_back_samples_are_drawn_from_the_held_back_settings(seed: int, tier: str) -> None:
    sample = generate(seed, tier, held_back=True, size_px=SMALL)
    held = HELD_BACK[tier]

    assert sample.settings == held
    assert held.um_per_px[0] <= sample.scene.um_per_px <= held.um_per_px[1]
    assert sample.scene.skin_tone in held.skin_tones
    assert held.blur_sigma_px[0] <= sample.look.blur_sigma_px <= held.blur_sigma_px[1]


def test_held_back_pitches_reach_outside_the_tuning_range() -> None:
    # Easy's held-back pitch is 2.5-3.5 um/px against 3.0-4.0 for tuning: over a few seeds
    # some images must be finer than any tuning image.
    tuning_low = TIERS["easy"].um_per_px[0]
    pitches = [
        generate(seed, "easy", held_back=True, size_px=SMALL).scene.um_per_px for seed in range(12)
    ]

    assert min(pitches) < tuning_low


def test_tuning_samples_use_the_tuning_settings() -> None:
    assert generate(0, "hard", size_px=SMALL).settings == TIERS["hard"]


# --- the image ----------------------------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_NAMES)
@pytest.mark.parametrize("size_px", [SMALL, (101, 203)])
def test_the_image_is_height_by_width_by_three_uint8(tier: str, size_px: tuple[int, int]) -> None:
    image = generate(3, tier, size_px=size_px).image

    assert image.shape == (*size_px, 3)
    assert image.dtype == np.uint8


def test_the_default_size_is_the_tiers_size() -> None:
    scene = make_scene(0, "easy")

    assert scene.size_px == TIERS["easy"].size_px == (960, 1280)


# --- truth invariants ---------------------------------------------------------------------

truth_cases = pytest.mark.parametrize(
    ("tier", "seed", "held_back"),
    [(tier, seed, False) for tier in TIER_NAMES for seed in SEEDS]
    + [(tier, 0, True) for tier in TIER_NAMES],
)


def _scene(tier: str, seed: int, held_back: bool) -> Scene:
    return make_scene(seed, HELD_BACK[tier] if held_back else TIERS[tier])


@truth_cases
def test_every_width_is_positive_and_classed_by_width_class(
    tier: str, seed: int, held_back: bool
) -> None:
    scene = _scene(tier, seed, held_back)

    assert scene.hairs
    for hair in scene.hairs:
        assert 0 < hair.width_um <= 100
        assert hair.hair_class == width_class(hair.width_um)
        assert hair.as_json()["class"] == width_class(hair.width_um)


@truth_cases
def test_exit_in_image_agrees_with_the_exit_coordinates(
    tier: str, seed: int, held_back: bool
) -> None:
    scene = _scene(tier, seed, held_back)
    height, width = scene.size_px

    for hair in scene.hairs:
        x, y = hair.exit_px
        assert hair.exit_in_image == (-0.5 <= x < width - 0.5 and -0.5 <= y < height - 0.5)
    # Hairs entering from beyond the border are drawn but not counted.
    assert any(not hair.exit_in_image for hair in scene.hairs)


@truth_cases
def test_the_count_is_the_hairs_exiting_in_the_image(tier: str, seed: int, held_back: bool) -> None:
    scene = _scene(tier, seed, held_back)
    exiting = sum(1 for hair in scene.hairs if hair.exit_in_image)

    assert scene.count == exiting
    assert scene.truth_json()["count"] == exiting
    assert scene.truth_json()["density_per_cm2"] == round(exiting / scene.area_cm2, 2)


@truth_cases
def test_every_centreline_starts_at_its_exit(tier: str, seed: int, held_back: bool) -> None:
    scene = _scene(tier, seed, held_back)

    for hair in scene.hairs:
        assert len(hair.centreline_px) >= 2
        assert hair.centreline_px[0] == pytest.approx(hair.exit_px)


@truth_cases
def test_hairs_of_one_unit_leave_one_opening(tier: str, seed: int, held_back: bool) -> None:
    scene = _scene(tier, seed, held_back)
    widest_opening = max(radius for _x, _y, radius in scene.openings)

    for unit, hairs in _units(scene).items():
        assert 1 <= len(hairs) <= 4, unit
        exits = np.asarray([hair.exit_px for hair in hairs])
        spread = np.hypot(*(exits[:, None, :] - exits[None, :, :]).transpose(2, 0, 1))
        assert spread.max() <= 2 * widest_opening, unit


@truth_cases
def test_hair_ids_are_unique_and_numbered_from_one(tier: str, seed: int, held_back: bool) -> None:
    scene = _scene(tier, seed, held_back)

    assert [hair.id for hair in scene.hairs] == list(range(1, len(scene.hairs) + 1))


@truth_cases
def test_every_hair_is_visible_for_no_more_than_its_length(
    tier: str, seed: int, held_back: bool
) -> None:
    scene = _scene(tier, seed, held_back)

    for hair in scene.hairs:
        length = float(np.hypot(*np.diff(_points(hair), axis=0).T).sum())
        assert hair.visible_length_px > 0
        assert hair.visible_length_px <= length * 1.01 + 1.0


@truth_cases
def test_the_pitch_lies_in_the_tiers_range(tier: str, seed: int, held_back: bool) -> None:
    settings_ = HELD_BACK[tier] if held_back else TIERS[tier]
    scene = _scene(tier, seed, held_back)

    assert settings_.um_per_px[0] <= scene.um_per_px <= settings_.um_per_px[1]
    assert scene.skin_tone in settings_.skin_tones
    assert scene.area_cm2 == pytest.approx(960 * 1280 * (scene.um_per_px / UM_PER_CM) ** 2)


@truth_cases
def test_touching_hairs_come_in_pairs(tier: str, seed: int, held_back: bool) -> None:
    scene = _scene(tier, seed, held_back)

    for hairs in _units(scene).values():
        if any(hair.touching for hair in hairs):
            assert len(hairs) <= 2
            assert all(hair.touching for hair in hairs)
    if TIERS[tier].touching_pairs == 0:
        assert not any(hair.touching for hair in scene.hairs)


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_the_density_is_of_the_tiers_order(tier: str) -> None:
    # One image holds only 15-120 hairs, so single images scatter; the mean over a few
    # seeds lies well within the tier's density range widened by half.
    low, high = TIERS[tier].density_per_cm2
    densities = [scene.count / scene.area_cm2 for scene in (make_scene(s, tier) for s in SEEDS)]

    assert 0.5 * low <= float(np.mean(densities)) <= 1.5 * high


def test_harder_tiers_are_denser() -> None:
    def mean_density(tier: str) -> float:
        return float(
            np.mean([(s := make_scene(seed, tier)).count / s.area_cm2 for seed in range(6)])
        )

    assert mean_density("easy") < mean_density("hard")


# --- colours ------------------------------------------------------------------------------


def test_light_hairs_are_never_too_close_to_the_skin() -> None:
    light_seen = 0
    tones_seen = set()
    for settings_ in (TIERS["hard"], HELD_BACK["hard"]):
        for seed in range(25):
            scene = make_scene(seed, settings_, size_px=(480, 640))
            tones_seen.add(scene.skin_tone)
            for hair in scene.hairs:
                if hair.colour in synth.LIGHT_COLOURS:
                    light_seen += 1
                    assert _contrast(hair.colour, scene.skin_tone) >= synth.MIN_COLOUR_CONTRAST, (
                        seed,
                        scene.skin_tone,
                        hair.colour,
                    )
    assert light_seen > 20
    assert len(tones_seen) >= 4


def test_the_contrast_rule_rules_out_some_light_colours() -> None:
    # Otherwise the test above would prove nothing: white on very light skin is too faint.
    assert _contrast("white", "very light") < synth.MIN_COLOUR_CONTRAST
    assert _contrast("blond", "medium") < synth.MIN_COLOUR_CONTRAST


def test_the_easy_tier_draws_only_dark_hairs() -> None:
    for seed in SEEDS:
        for hair in make_scene(seed, "easy").hairs:
            assert hair.colour in synth.DARK_COLOURS


# --- spacing in the easy tier -------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_easy_hairs_of_different_units_do_not_overlap(seed: int) -> None:
    scene = make_scene(seed, "easy")
    assert TIERS["easy"].crossings == 0
    dense = {hair.id: _dense(_points(hair)) for hair in scene.hairs}
    trees = {hair_id: cKDTree(points) for hair_id, points in dense.items()}
    tolerance_px = 1.0
    overlaps = []
    for i, a in enumerate(scene.hairs):
        for b in scene.hairs[i + 1 :]:
            if a.unit == b.unit:
                continue
            reach = (a.width_um + b.width_um) / 2 / scene.um_per_px
            gap = float(trees[a.id].query(dense[b.id])[0].min())
            if gap <= reach - tolerance_px:
                overlaps.append((a.id, b.id, gap, reach))

    assert overlaps == []


# --- JSON round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_the_truth_survives_a_json_round_trip(tier: str) -> None:
    scene = make_scene(4, tier, size_px=(480, 640))

    back = truth_from_json(json.loads(json.dumps(scene.truth_json())))

    assert (back.tier, back.seed, back.size_px, back.skin_tone) == (
        scene.tier,
        scene.seed,
        scene.size_px,
        scene.skin_tone,
    )
    assert back.um_per_px == scene.um_per_px
    assert back.count == scene.count
    assert len(back.hairs) == len(scene.hairs)
    for old, new in zip(scene.hairs, back.hairs, strict=True):
        assert (new.id, new.unit, new.colour) == (old.id, old.unit, old.colour)
        assert (new.exit_in_image, new.touching) == (old.exit_in_image, old.touching)
        assert new.exit_px == old.exit_px
        assert new.width_um == pytest.approx(old.width_um, abs=5e-4)
        assert new.hair_class == old.hair_class
        assert new.visible_length_px == pytest.approx(old.visible_length_px, abs=5e-3)
        assert np.allclose(_points(new), _points(old), atol=5e-4, rtol=0)
    # Distractors are not part of the truth file.
    assert (back.openings, back.dandruff, back.vessels) == ((), (), ())


def test_the_truth_json_names_size_and_class() -> None:
    data = make_scene(1, "medium", size_px=SMALL).truth_json()

    assert (data["height_px"], data["width_px"]) == SMALL
    assert {hair["class"] for hair in data["hairs"]} <= {"vellus", "intermediate", "terminal"}


# --- rendering the truth ------------------------------------------------------------------


def test_a_hair_added_to_the_scene_is_drawn_along_its_centreline() -> None:
    scene = make_scene(2, "easy", size_px=SMALL)
    look = make_look(2, "easy", scene=scene)
    y = 120.0
    xs = np.arange(40.0, 281.0, 2.0)
    hair = TruthHair(
        id=len(scene.hairs) + 1,
        unit=999,
        exit_px=(40.0, y),
        centreline_px=tuple((float(x), y) for x in xs),
        width_um=80.0,
        colour="black",
        exit_in_image=True,
        visible_length_px=240.0,
    )

    before = render(scene, look).astype(float).mean(axis=2)
    after = render(scene.with_hair(hair), look).astype(float).mean(axis=2)

    along = (slice(int(y) - 1, int(y) + 2), slice(50, 271))
    assert after[along].mean() < before[along].mean() - 60
    assert (after[along] < before[along]).mean() > 0.95
    # Away from the new hair (beyond its half width plus the blur) nothing changes.
    far = np.ones(SMALL, dtype=bool)
    far[int(y) - 25 : int(y) + 26, 15:306] = False
    assert np.array_equal(after[far], before[far])


def test_with_hair_adds_the_hair_and_counts_it() -> None:
    scene = make_scene(2, "easy", size_px=SMALL)
    hair = TruthHair(
        id=999,
        unit=999,
        exit_px=(10.0, 10.0),
        centreline_px=((10.0, 10.0), (60.0, 10.0)),
        width_um=40.0,
        colour="brown",
        exit_in_image=True,
        visible_length_px=50.0,
    )

    grown = scene.with_hair(hair)

    assert grown.hairs[-1] == hair
    assert grown.count == scene.count + 1
    assert (grown.size_px, grown.um_per_px, grown.openings) == (
        scene.size_px,
        scene.um_per_px,
        scene.openings,
    )


# --- bad input ----------------------------------------------------------------------------


def test_an_unknown_tier_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"Unknown tier 'extreme'.*easy, medium, hard"):
        generate(0, "extreme")


def test_shafts_drawn_to_order_from_one_point_make_one_unit_with_one_opening() -> None:
    # The grid of two-hair units (bench/trichoscopy_units.py) and the analysis tests draw
    # hairs by hand; two leaving one point are one follicular unit, as the generator draws
    # them, with one opening as wide as the generator's for the wider shaft.
    scene = synth.scene_from_shafts(
        [
            synth.Shaft(100, 180, 0, width_um=70),
            synth.Shaft(100, 180, 6, width_um=40),
            synth.Shaft(300, 100, 90, width_um=50),
        ],
        um_per_px=4.0,
    )
    assert [hair.unit for hair in scene.hairs] == [1, 1, 2]
    assert scene.openings == ((100.0, 180.0, (35 + 30) / 4), (300.0, 100.0, (25 + 30) / 4))
    assert scene.count == 3
    assert not scene.dandruff and not scene.vessels
    without = synth.scene_from_shafts([synth.Shaft(100, 180, 0)], openings=False)
    assert without.openings == ()


def test_a_shaft_drawn_to_order_runs_its_length_from_its_exit() -> None:
    scene = synth.scene_from_shafts([synth.Shaft(50, 60, 30, length_um=800)], um_per_px=4.0)
    (hair,) = scene.hairs
    line = np.asarray(hair.centreline_px)
    assert tuple(line[0]) == (50.0, 60.0)
    assert math.dist(line[0], line[-1]) == pytest.approx(200.0, abs=0.01)
    assert math.degrees(math.atan2(line[-1][1] - 60, line[-1][0] - 50)) == pytest.approx(30.0)
    assert hair.exit_in_image
    outside = synth.scene_from_shafts([synth.Shaft(-10, 60, 0)], um_per_px=4.0)
    assert not outside.hairs[0].exit_in_image
    assert outside.count == 0
