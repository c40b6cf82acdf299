"""Scoring an analysis against the synthetic truth: matching, counts, widths and targets."""

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import pytest

from mesoclinic.trichoscopy.evaluate import (
    COMMON_TARGETS,
    COUNT_ERROR_CLASSES,
    TARGETS,
    ImageScore,
    Summary,
    count_errors,
    misses,
    score,
    scored_truth,
)
from mesoclinic.trichoscopy.result import Hair, Result, Roi
from mesoclinic.trichoscopy.synth import Scene, TruthHair, make_scene

SHAPE = (200, 300)  # height, width
UM_PER_PX = 4.0
ROWS = (20.0, 60.0, 100.0, 140.0)  # far enough apart that no hair can match a neighbour
SAME = object()  # a detection's width: the true one


# --- building truth and results by hand ---------------------------------------------------


def _truth(
    hair_id: int,
    y: float,
    *,
    x0: float = 20.0,
    x1: float = 220.0,
    width_um: float = 70.0,
    exit_in_image: bool = True,
) -> TruthHair:
    """A straight horizontal hair from (x0, y) to (x1, y)."""
    points = tuple((float(x), y) for x in np.arange(x0, x1 + 1e-9, 2.0))
    return TruthHair(
        id=hair_id,
        unit=hair_id,
        exit_px=points[0],
        centreline_px=points,
        width_um=width_um,
        colour="black",
        exit_in_image=exit_in_image,
        visible_length_px=x1 - x0,
    )


def _scene(*hairs: TruthHair) -> Scene:
    return Scene(
        tier="easy",
        seed=0,
        size_px=SHAPE,
        um_per_px=UM_PER_PX,
        skin_tone="light",
        hairs=hairs,
        openings=(),
        dandruff=(),
        vessels=(),
    )


def _found(
    truth: TruthHair,
    *,
    dy: float = 0.0,
    width_um: float | object | None = SAME,
    share: float = 1.0,
) -> Hair:
    """A detection of ``truth``: shifted by ``dy`` pixels, covering its first ``share``."""
    points = truth.centreline_px[: max(2, round(len(truth.centreline_px) * share))]
    return Hair(
        id=truth.id,
        centreline_px=tuple((x, y + dy) for x, y in points),
        width_um=truth.width_um if width_um is SAME else width_um,
        exit_px=(truth.exit_px[0], truth.exit_px[1] + dy),
        counted=truth.exit_in_image,
    )


def _result(*hairs: Hair, shape: tuple[int, int] = SHAPE, um_per_px: float = UM_PER_PX) -> Result:
    return Result(hairs=hairs, um_per_px=um_per_px, roi=Roi.whole(shape), image_shape=shape)


def _rows_scene() -> Scene:
    return _scene(*(_truth(index + 1, y) for index, y in enumerate(ROWS)))


def _seen_part(truth: TruthHair, shape: tuple[int, int]) -> tuple[tuple[float, float], ...]:
    """The part of a true centreline inside the image, every half pixel: what can be seen."""
    points = np.asarray(truth.centreline_px, dtype=float)
    dense = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / 0.5))
        dense.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    every = np.concatenate(dense)
    inside = every[
        (every[:, 0] >= -0.5)
        & (every[:, 0] <= shape[1] - 0.5)
        & (every[:, 1] >= -0.5)
        & (every[:, 1] <= shape[0] - 0.5)
    ]
    return tuple((float(x), float(y)) for x, y in inside)


def _perfect(scene: Scene) -> Result:
    """What a flawless analysis reports: every scored hair, as seen in the image."""
    hairs = tuple(
        Hair(
            id=hair.id,
            centreline_px=_seen_part(hair, scene.size_px),
            width_um=hair.width_um,
            exit_px=hair.exit_px,
            counted=hair.exit_in_image,
        )
        for hair in scored_truth(scene)
    )
    return _result(*hairs, shape=scene.size_px, um_per_px=scene.um_per_px)


def _fully_scored_scene(tier: str) -> Scene:
    """The first seeded scene of the tier whose every hair is visible enough to be scored."""
    for seed in range(30):
        scene = make_scene(seed, tier)
        if len(scored_truth(scene)) == len(scene.hairs):
            return scene
    raise AssertionError(f"no fully scored {tier} scene in 30 seeds")


# --- a perfect result ---------------------------------------------------------------------


def test_the_truth_itself_scores_perfectly() -> None:
    scene = _scene(_truth(1, 20.0), _truth(2, 60.0, width_um=20.0), _truth(3, 100.0, width_um=45))
    hairs = tuple(
        Hair(
            id=hair.id,
            centreline_px=hair.centreline_px,
            width_um=hair.width_um,
            exit_px=hair.exit_px,
            counted=hair.exit_in_image,
        )
        for hair in scene.hairs
    )

    result = score(_result(*hairs), scene)

    assert (result.true_positives, result.false_positives, result.false_negatives) == (3, 0, 0)
    assert result.count_error == 0
    assert result.width_errors_um == (0.0, 0.0, 0.0)
    assert result.class_agreements == (True, True, True)
    assert Summary("one", [result]).f1 == 1.0


@pytest.mark.parametrize("tier", ["easy", "medium", "hard"])
def test_a_result_made_of_a_generated_truth_scores_perfectly(tier: str) -> None:
    scene = _fully_scored_scene(tier)

    result = score(_perfect(scene), scene)

    assert result.true_positives == len(scene.hairs)
    assert (result.false_positives, result.false_negatives) == (0, 0)
    assert Summary(tier, [result]).f1 == 1.0
    assert result.count_error == 0
    assert result.absolute_percentage_error == 0.0
    assert set(result.width_errors_um) == {0.0}
    assert all(result.class_agreements)
    assert len(result.class_agreements) == sum(
        1 for hair in scene.hairs if not 25.0 <= hair.width_um <= 35.0
    )


def test_finding_a_counted_hair_too_short_to_score_is_no_false_positive() -> None:
    stub = _truth(2, 150.0, x0=280.0, x1=290.0)  # 10 px in view, under two shaft widths
    scene = _scene(_truth(1, 20.0), stub)
    assert [hair.id for hair in scored_truth(scene)] == [1]
    assert scene.count == 2

    result = score(_result(*(_found(hair) for hair in scene.hairs)), scene)

    assert result.count_error == 0
    assert result.false_positives == 0


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_removing_detections_turns_true_positives_into_false_negatives(k: int) -> None:
    scene = _fully_scored_scene("easy")
    full = _perfect(scene)
    fewer = _result(*full.hairs[k:], shape=scene.size_px, um_per_px=scene.um_per_px)

    before, after = score(full, scene), score(fewer, scene)

    assert after.true_positives == before.true_positives - k
    assert after.false_negatives == before.false_negatives + k
    assert after.false_positives == before.false_positives


def _count_error(classes: dict[str, int]) -> int:
    over = classes["counted_exit_beyond"] + classes["false_along_a_hair"]
    over += classes["false_elsewhere"]
    under = classes["found_not_counted"] + sum(
        n for key, n in classes.items() if key.startswith("missed_")
    )
    return over - under


def test_each_count_error_is_put_in_its_class_and_they_add_up_to_the_count_error() -> None:
    # Exits 40 px or more from the edges (25 px is 100 um), but for the one at the edge.
    found_ok = _truth(1, 40.0, x0=40.0)
    at_edge = _truth(2, 80.0, x0=5.0, x1=200.0)  # leaves the skin 5 px from the edge
    under = replace(_truth(3, 120.0, x0=40.0), unit=4)  # on hair 4's shaft, from its opening
    over_it = _truth(4, 123.0, x0=40.0)
    touching = replace(_truth(5, 160.0, x0=40.0), touching=True)
    not_counted = _truth(6, 185.0, x0=40.0)
    from_beyond = _truth(7, 10.0, x0=-30.0, x1=200.0, exit_in_image=False)
    scene = _scene(found_ok, at_edge, under, over_it, touching, not_counted, from_beyond)
    elsewhere = Hair(
        id=90,
        centreline_px=tuple((280.0, float(y)) for y in range(20, 101, 2)),
        width_um=60.0,
        exit_px=(280.0, 20.0),
        counted=True,
    )
    again = replace(_found(found_ok, dy=1.0, share=0.3), id=91, counted=True)
    result = _result(
        _found(found_ok),
        _found(over_it),
        replace(_found(not_counted), counted=False),
        replace(_found(from_beyond), counted=True),
        elsewhere,
        again,
    )

    classes = count_errors(result, scene)

    assert classes == {
        **dict.fromkeys(COUNT_ERROR_CLASSES, 0),
        "missed_at_edge": 1,
        "missed_touching": 1,
        "missed_under_same_opening": 1,
        "found_not_counted": 1,
        "counted_exit_beyond": 1,
        "false_along_a_hair": 1,
        "false_elsewhere": 1,
    }
    assert _count_error(classes) == result.count - scene.count == -1


def test_the_score_carries_its_count_errors_and_the_summary_sums_them() -> None:
    scene = _scene(_truth(1, 40.0, x0=40.0), _truth(2, 100.0, x0=40.0))
    result = _result(_found(scene.hairs[0]))  # the second hair missed, away from others
    scored = score(result, scene)
    assert scored.count_errors == count_errors(result, scene)
    assert scored.as_json()["count_errors"]["missed_elsewhere"] == 1
    summary = Summary("two", [scored, scored])
    assert summary.count_errors["missed_elsewhere"] == 2
    assert summary.as_json()["count_errors"] == summary.count_errors


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (_truth(2, 103.0, x0=40.0), "missed_under_other"),  # all of it on another shaft
        (_truth(2, 103.0, x0=140.0, x1=290.0), "missed_partly_under"),  # half of it
        (_truth(2, 160.0), "missed_elsewhere"),  # nowhere near another hair
    ],
)
def test_a_missed_hair_is_classed_by_how_much_of_it_lies_on_another(
    other: TruthHair, expected: str
) -> None:
    missed = _truth(1, 100.0, x0=40.0, x1=240.0)
    scene = _scene(missed, other)
    classes = count_errors(_result(_found(other)), scene)
    assert {key: n for key, n in classes.items() if n} == {expected: 1}


@pytest.mark.parametrize("tier", ["easy", "medium", "hard"])
def test_a_perfect_result_has_no_count_errors(tier: str) -> None:
    scene = _fully_scored_scene(tier)
    assert set(count_errors(_perfect(scene), scene).values()) == {0}


@pytest.mark.parametrize("k", [1, 3, 5])
def test_count_errors_add_up_to_the_count_error_when_hairs_are_left_out(k: int) -> None:
    scene = _fully_scored_scene("medium")
    full = _perfect(scene)
    fewer = _result(*full.hairs[k:], shape=scene.size_px, um_per_px=scene.um_per_px)
    classes = count_errors(fewer, scene)
    assert _count_error(classes) == fewer.count - scene.count
    assert _count_error(classes) == -sum(hair.exit_in_image for hair in scene.hairs[:k])


def test_a_spurious_hair_far_from_any_truth_is_one_false_positive() -> None:
    scene = _rows_scene()
    found = [_found(hair) for hair in scene.hairs]
    spurious = Hair(
        id=99,
        centreline_px=((250.0, 180.0), (290.0, 170.0)),
        width_um=60.0,
        exit_px=(250.0, 180.0),
        counted=True,
    )

    before = score(_result(*found), scene)
    after = score(_result(*found, spurious), scene)

    assert after.false_positives == before.false_positives + 1 == 1
    assert after.true_positives == before.true_positives == len(ROWS)
    assert after.false_negatives == before.false_negatives == 0
    assert after.count_error == before.count_error + 1


def test_a_detection_one_pixel_off_still_matches() -> None:
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth, dy=1.0)), _scene(truth))

    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 0, 0)


def test_a_detection_ten_pixels_off_does_not_match() -> None:
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth, dy=10.0)), _scene(truth))

    assert (result.true_positives, result.false_positives, result.false_negatives) == (0, 1, 1)


@pytest.mark.parametrize(
    ("dy", "matches"),
    [(0.0, True), (-1.0, True), (3.0, True), (-6.0, False), (10.0, False), (30.0, False)],
)
def test_a_detection_matches_only_within_the_tolerance(dy: float, matches: bool) -> None:
    # Tolerance: 2 px plus 15 % of the shaft width (70 um at 4 um/px: 2.6 px).
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth, dy=dy)), _scene(truth))

    assert result.true_positives == int(matches)


@pytest.mark.parametrize(("share", "matches"), [(0.2, False), (0.4, False), (0.6, True)])
def test_a_detection_must_cover_half_of_the_true_hair(share: float, matches: bool) -> None:
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth, share=share)), _scene(truth))

    assert result.true_positives == int(matches)
    assert result.false_negatives == int(not matches)


def test_a_detection_covering_a_fifth_of_a_hair_does_not_match() -> None:
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth, share=0.2)), _scene(truth))

    assert (result.true_positives, result.false_positives, result.false_negatives) == (0, 1, 1)


def test_one_detection_cannot_match_two_true_hairs() -> None:
    # Two thin hairs a pixel apart: one detection between them lies on both.
    upper, lower = _truth(1, 100.0, width_um=20.0), _truth(2, 101.0, width_um=20.0)
    scene = _scene(upper, lower)
    between = _found(upper, dy=0.5)

    one = score(_result(between), scene)
    two = score(_result(between, _found(lower)), scene)

    assert (one.true_positives, one.false_positives, one.false_negatives) == (1, 0, 1)
    assert (two.true_positives, two.false_positives, two.false_negatives) == (2, 0, 0)


def test_two_detections_of_one_hair_give_one_match_and_one_false_positive() -> None:
    truth = _truth(1, 60.0)

    result = score(_result(_found(truth), _found(truth, dy=0.5)), _scene(truth))

    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 1, 0)


def test_an_empty_result_on_an_empty_scene_scores_nothing() -> None:
    result = score(_result(), _scene())

    assert (result.true_positives, result.false_positives, result.false_negatives) == (0, 0, 0)
    assert result.width_errors_um == ()
    assert result.absolute_percentage_error == 0.0


def test_true_hairs_too_short_in_view_are_not_scored() -> None:
    long, short = _truth(1, 20.0), _truth(2, 60.0, x0=100.0, x1=110.0)

    assert scored_truth(_scene(long, short)) == [long]
    assert score(_result(), _scene(long, short)).false_negatives == 1


# --- widths and classes -------------------------------------------------------------------


def test_the_width_error_is_the_absolute_difference_in_micrometres() -> None:
    thick, thin = _truth(1, 20.0, width_um=70.0), _truth(2, 60.0, width_um=40.0)

    result = score(
        _result(_found(thick, width_um=64.5), _found(thin, width_um=43.0)), _scene(thick, thin)
    )

    assert sorted(result.width_errors_um) == pytest.approx([3.0, 5.5])


def test_an_unmeasured_detection_matches_without_a_width_error() -> None:
    truth = _truth(1, 20.0)

    result = score(_result(_found(truth, width_um=None)), _scene(truth))

    assert result.true_positives == 1
    assert result.width_errors_um == ()
    assert result.class_agreements == ()


@pytest.mark.parametrize(
    ("true_um", "found_um", "agreements"),
    [
        (20.0, 24.0, (True,)),
        (20.0, 31.0, (False,)),
        (70.0, 29.0, (False,)),
        (70.0, 40.0, (True,)),  # intermediate and terminal are both "not vellus"
        (24.9, 31.0, (False,)),
        (25.0, 40.0, ()),  # the band 25-35 um is ignored, ends included
        (28.0, 20.0, ()),
        (35.0, 20.0, ()),
        (35.1, 20.0, (False,)),
    ],
)
def test_class_agreement_ignores_true_widths_near_the_cut_off(
    true_um: float, found_um: float, agreements: tuple[bool, ...]
) -> None:
    truth = _truth(1, 60.0, width_um=true_um)

    result = score(_result(_found(truth, width_um=found_um)), _scene(truth))

    assert result.true_positives == 1
    assert result.class_agreements == agreements
    assert result.width_errors_um == pytest.approx((abs(found_um - true_um),))


# --- one image's count errors -------------------------------------------------------------


def _image(
    true: int = 10,
    detected: int = 10,
    *,
    tp: int = 0,
    fp: int = 0,
    fn: int = 0,
    widths: tuple[float, ...] = (),
    agreements: tuple[bool, ...] = (),
    seconds: float = 0.0,
    peak_mb: float = 0.0,
) -> ImageScore:
    return ImageScore(
        true_count=true,
        detected_count=detected,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        width_errors_um=widths,
        class_agreements=agreements,
        seconds=seconds,
        peak_mb=peak_mb,
    )


@pytest.mark.parametrize(
    ("true", "detected", "ape", "pe"),
    [
        (100, 100, 0.0, 0.0),
        (100, 95, 5.0, -5.0),
        (100, 110, 10.0, 10.0),
        (8, 6, 25.0, -25.0),
        (4, 0, 100.0, -100.0),
        (0, 0, 0.0, 0.0),
        (0, 3, 100.0, 0.0),  # no true hair: any detection is a full miss, with no sign
    ],
)
def test_count_percentage_errors(true: int, detected: int, ape: float, pe: float) -> None:
    image = _image(true, detected)

    assert image.count_error == detected - true
    assert image.absolute_percentage_error == pytest.approx(ape)
    assert image.percentage_error == pytest.approx(pe)


def test_an_image_score_reports_its_figures_as_json() -> None:
    data = _image(10, 12, tp=9, fp=3, fn=1, widths=(1.0, 3.0, 8.0), seconds=1.23456).as_json()

    assert data == {
        "true_count": 10,
        "detected_count": 12,
        "count_error": 2,
        "tp": 9,
        "fp": 3,
        "fn": 1,
        "width_median_abs_error_um": 3.0,
        "seconds": 1.235,
        "peak_mb": 0.0,
        "count_errors": {},
    }
    assert _image().as_json()["width_median_abs_error_um"] is None


# --- pooling images -----------------------------------------------------------------------


def test_the_mape_is_the_mean_of_the_images_absolute_errors() -> None:
    summary = Summary("set", [_image(100, 90), _image(50, 65)])

    assert summary.count_mape == pytest.approx(20.0)  # mean of 10 % and 30 %
    assert summary.count_bias == pytest.approx(10.0)  # mean of -10 % and +30 %


def test_f1_is_pooled_over_matches_not_averaged_over_images() -> None:
    good, poor = _image(tp=9, fp=1, fn=0), _image(tp=1, fp=0, fn=9)
    per_image = [Summary("one", [image]).f1 for image in (good, poor)]

    pooled = Summary("set", [good, poor]).f1

    assert pooled == pytest.approx(2 * 10 / (2 * 10 + 1 + 9))
    assert pooled != pytest.approx(float(np.mean(per_image)))


def test_widths_and_classes_are_pooled_over_hairs() -> None:
    summary = Summary(
        "set",
        [
            _image(widths=(1.0, 2.0, 3.0), agreements=(True, True, True, False)),
            _image(widths=(10.0,), agreements=(False,)),
        ],
        repeat_cvs=[1.0, 2.0, 6.0],
    )

    assert summary.width_mae_um == pytest.approx(2.5)  # median of all four errors
    assert summary.class_accuracy == pytest.approx(0.6)
    assert summary.repeatability_cv == pytest.approx(3.0)


def test_time_is_the_median_and_memory_the_peak() -> None:
    summary = Summary(
        "set", [_image(seconds=s, peak_mb=m) for s, m in ((1.0, 90.0), (9.0, 120.0), (2.0, 80.0))]
    )

    assert summary.seconds_per_image == 2.0
    assert summary.peak_mb == 120.0


SUMMARY_KEYS = {
    "name",
    "images",
    "true_hairs",
    "count_mape_percent",
    "count_bias_percent",
    "f1",
    "width_median_abs_error_um",
    "vellus_terminal_accuracy",
    "repeatability_cv_percent",
    "seconds_per_image",
    "peak_mb",
    "count_errors",
}


def test_an_empty_summary_is_nan_and_reports_none() -> None:
    summary = Summary("nothing")
    figures = (
        summary.count_mape,
        summary.count_bias,
        summary.f1,
        summary.width_mae_um,
        summary.class_accuracy,
        summary.repeatability_cv,
        summary.seconds_per_image,
        summary.peak_mb,
    )

    assert all(math.isnan(value) for value in figures)
    data = summary.as_json()
    assert set(data) == SUMMARY_KEYS
    assert (data["name"], data["images"], data["true_hairs"]) == ("nothing", 0, 0)
    assert data["count_errors"] == dict.fromkeys(COUNT_ERROR_CLASSES, 0)
    figures = SUMMARY_KEYS - {"name", "images", "true_hairs", "count_errors"}
    assert all(data[key] is None for key in figures)


def test_a_summary_of_images_without_hairs_has_no_f1_or_width() -> None:
    data = Summary("bare", [_image(0, 0)]).as_json()

    assert data["f1"] is None
    assert data["width_median_abs_error_um"] is None
    assert data["vellus_terminal_accuracy"] is None
    assert data["count_mape_percent"] == 0.0


def test_the_summary_json_rounds_its_figures() -> None:
    summary = Summary(
        "set",
        [_image(3, 4, tp=2, fp=1, fn=1, widths=(1.23456,), agreements=(True, False, False))],
    )

    data = summary.as_json()

    assert set(data) == SUMMARY_KEYS
    assert data["images"] == 1
    assert data["true_hairs"] == 3
    assert data["count_mape_percent"] == 33.33
    assert data["f1"] == 0.6667
    assert data["width_median_abs_error_um"] == 1.23
    assert data["vellus_terminal_accuracy"] == 0.3333


# --- targets ------------------------------------------------------------------------------


@dataclass
class _Figures(Summary):
    """A summary whose pooled figures are set directly (they shadow Summary's properties)."""

    count_mape: float = 1.0
    count_bias: float = 0.0
    f1: float = 0.99
    width_mae_um: float = 2.0
    class_accuracy: float = 0.97
    repeatability_cv: float = 1.0
    seconds_per_image: float = 1.0
    peak_mb: float = 100.0


def test_a_summary_meeting_every_target_misses_none() -> None:
    assert misses(_Figures("easy"), "easy") == []


@pytest.mark.parametrize(
    ("figure", "value", "missed"),
    [
        ("count_mape", 2.5, "count_mape_percent 2.5 (target <= 2.0)"),
        ("f1", 0.97, "f1 0.97 (target >= 0.98)"),
        ("width_mae_um", 3.25, "width_median_abs_error_um 3.25 (target <= 3.0)"),
        ("class_accuracy", 0.9, "vellus_terminal_accuracy 0.9 (target >= 0.95)"),
        ("repeatability_cv", 3.5, "repeatability_cv_percent 3.5 (target <= 3.0)"),
        ("seconds_per_image", 2.5, "seconds_per_image 2.5 (target <= 2.0)"),
        ("peak_mb", 600.0, "peak_mb 600.0 (target <= 500.0)"),
    ],
)
def test_misses_names_each_failed_target_with_its_direction(
    figure: str, value: float, missed: str
) -> None:
    summary = _Figures("easy", **{figure: value})

    assert misses(summary, "easy") == [missed]


@pytest.mark.parametrize(
    ("figure", "value"),
    [
        ("count_mape", 2.0),
        ("f1", 0.98),
        ("width_mae_um", 3.0),
        ("class_accuracy", 0.95),
        ("repeatability_cv", 3.0),
        ("seconds_per_image", 2.0),
        ("peak_mb", 500.0),
    ],
)
def test_a_figure_exactly_on_its_target_meets_it(figure: str, value: float) -> None:
    assert misses(_Figures("easy", **{figure: value}), "easy") == []


def test_better_than_target_in_either_direction_is_no_miss() -> None:
    summary = _Figures("easy", count_mape=0.0, f1=1.0, class_accuracy=1.0, peak_mb=1.0)

    assert misses(summary, "easy") == []


def test_misses_lists_every_failed_target_in_order() -> None:
    summary = _Figures("easy", count_mape=9.0, f1=0.5, class_accuracy=0.5, peak_mb=900.0)

    assert misses(summary, "easy") == [
        "count_mape_percent 9.0 (target <= 2.0)",
        "f1 0.5 (target >= 0.98)",
        "vellus_terminal_accuracy 0.5 (target >= 0.95)",
        "peak_mb 900.0 (target <= 500.0)",
    ]


@pytest.mark.parametrize(
    ("tier", "missed"),
    [
        (
            "easy",
            [
                "count_mape_percent 4.0 (target <= 2.0)",
                "f1 0.96 (target >= 0.98)",
                "width_median_abs_error_um 3.5 (target <= 3.0)",
            ],
        ),
        ("medium", []),
        ("hard", []),
        ("unknown", []),  # only the common targets apply
    ],
)
def test_the_targets_depend_on_the_tier(tier: str, missed: list[str]) -> None:
    summary = _Figures(tier, count_mape=4.0, f1=0.96, width_mae_um=3.5)

    assert misses(summary, tier) == missed


def test_an_unknown_tier_is_still_held_to_the_common_targets() -> None:
    assert misses(_Figures("x", count_mape=50.0, seconds_per_image=3.0), "x") == [
        "seconds_per_image 3.0 (target <= 2.0)"
    ]


def test_figures_that_could_not_be_measured_are_not_misses() -> None:
    summary = _Figures("easy", f1=math.nan, repeatability_cv=math.nan, peak_mb=math.nan)

    assert misses(summary, "easy") == []


def test_every_tier_has_count_f1_and_width_targets() -> None:
    for targets in TARGETS.values():
        assert set(targets) == {"count_mape_percent", "f1", "width_median_abs_error_um"}
    assert set(COMMON_TARGETS) <= SUMMARY_KEYS
