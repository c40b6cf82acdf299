"""Manual corrections: the corrected figures are the ones that get stored."""

import copy
import json
import math

import pytest

from mesoclinic.trichoscopy import corrections
from mesoclinic.trichoscopy.errors import TrichoscopyError
from mesoclinic.trichoscopy.result import Correction, Hair, Result, Roi

UM_PER_PX = 10.0
SHAPE = (200, 300)
ROI = Roi.rect(49.5, 49.5, 200, 100)  # 2000 x 1000 um = 0.02 cm2


def _hair(hair_id: int, exit_px: tuple[float, float], width_um: float | None, **fields) -> Hair:
    x, y = exit_px
    return Hair(
        id=hair_id,
        centreline_px=((x, y), (x + 10.0, y + 5.0), (x + 20.0, y + 8.0)),
        width_um=width_um,
        exit_px=exit_px,
        counted=ROI.contains(x, y),
        **fields,
    )


@pytest.fixture
def result() -> Result:
    hairs = (
        _hair(1, (60.0, 60.0), 70.0, unit=1),  # terminal
        _hair(2, (80.0, 70.0), 20.0, unit=1),  # vellus
        _hair(3, (120.0, 100.0), 40.0, unit=2),  # intermediate
        _hair(4, (10.0, 10.0), 60.0),  # exit outside the region: not counted
    )
    return Result(hairs=hairs, um_per_px=UM_PER_PX, roi=ROI, image_shape=SHAPE, version="test")


INSIDE = ((150.0, 90.0), (160.0, 95.0), (175.0, 99.0))
OUTSIDE = ((20.0, 20.0), (40.0, 30.0))


def test_the_fixture_counts_three_hairs_in_0_02_cm2(result):
    assert result.count == 3
    assert result.area_cm2 == pytest.approx(0.02)
    assert result.density_per_cm2 == pytest.approx(150.0)


def test_removing_a_hair_lowers_the_count_density_and_its_class(result):
    corrected = corrections.remove(result, 1)
    assert [hair.id for hair in corrected.hairs] == [2, 3, 4]
    assert corrected.count == 2
    assert corrected.density_per_cm2 == pytest.approx(100.0)
    assert corrected.terminal_count == 0
    assert corrected.vellus_count == 1
    assert corrected.terminal_to_vellus_ratio == 0.0
    assert corrected.corrections == (Correction("remove", hair_id=1),)


def test_removing_a_hair_that_was_not_counted_leaves_the_figures(result):
    corrected = corrections.remove(result, 4)
    assert corrected.count == 3
    assert corrected.summary() == result.summary()
    assert len(corrected.hairs) == 3


def test_adding_a_hair_in_the_region_counts_it_as_a_manual_hair(result):
    corrected = corrections.add(result, INSIDE, width_um=65.0)
    added = corrected.hairs[-1]
    assert added == Hair(
        id=5,
        centreline_px=INSIDE,
        width_um=65.0,
        exit_px=INSIDE[0],
        counted=True,
        unit=None,
        manual=True,
    )
    assert corrected.count == 4
    assert corrected.density_per_cm2 == pytest.approx(200.0)
    assert corrected.terminal_count == 2
    assert corrected.corrections == (Correction("add", centreline_px=INSIDE, width_um=65.0),)


def test_an_added_hair_without_a_width_is_counted_as_unmeasured(result):
    corrected = corrections.add(result, INSIDE)
    assert corrected.hairs[-1].width_um is None
    assert corrected.unmeasured_count == 1
    assert corrected.count == 4
    assert corrected.widths_um == result.widths_um


def test_an_added_hair_whose_exit_lies_outside_the_region_is_not_counted(result):
    corrected = corrections.add(result, OUTSIDE, width_um=40.0)
    assert corrected.hairs[-1].counted is False
    assert corrected.count == 3
    assert len(corrected.hairs) == 5


def test_the_exit_is_the_first_point_so_the_direction_decides_whether_it_counts(result):
    # Drawn from inside the region out, then from outside in.
    line = ((240.0, 100.0), (280.0, 100.0))
    assert corrections.add(result, line).hairs[-1].counted is True
    assert corrections.add(result, line[::-1]).hairs[-1].counted is False


def test_adding_and_removing_in_one_batch(result):
    corrected = corrections.apply(
        result,
        [
            Correction("remove", hair_id=2),
            Correction("add", centreline_px=INSIDE, width_um=25.0),
            Correction("add", centreline_px=OUTSIDE),
        ],
    )
    assert [hair.id for hair in corrected.hairs] == [1, 3, 4, 5, 6]
    assert corrected.count == 3
    assert corrected.vellus_count == 1
    assert [hair.manual for hair in corrected.hairs] == [False, False, False, True, True]


def test_the_input_result_is_left_unchanged(result):
    before = copy.deepcopy(result)
    corrections.apply(
        result,
        [Correction("remove", hair_id=1), Correction("add", centreline_px=INSIDE)],
    )
    assert result == before
    assert result.count == 3
    assert result.corrections == ()


def test_a_hair_added_after_a_removal_does_not_reuse_its_number(result):
    without_last = corrections.remove(result, 4)
    corrected = corrections.add(without_last, INSIDE)
    assert corrected.hairs[-1].id == 5
    again = corrections.remove(corrected, 5)
    assert corrections.add(again, INSIDE).hairs[-1].id == 6


def test_applying_in_two_steps_equals_applying_at_once(result):
    first = [Correction("remove", hair_id=3), Correction("add", centreline_px=INSIDE)]
    second = [Correction("remove", hair_id=5), Correction("add", centreline_px=OUTSIDE)]
    stepwise = corrections.apply(corrections.apply(result, first), second)
    at_once = corrections.apply(result, first + second)
    assert stepwise == at_once
    assert stepwise.summary() == at_once.summary()
    assert stepwise.corrections == tuple(first + second)


def test_the_corrections_log_keeps_earlier_entries_first(result):
    corrected = corrections.remove(corrections.remove(result, 1), 2)
    assert corrected.corrections == (
        Correction("remove", hair_id=1),
        Correction("remove", hair_id=2),
    )


def test_points_are_stored_as_floats(result):
    corrected = corrections.add(result, [[150, 90], [160, 95]])
    assert corrected.hairs[-1].centreline_px == ((150.0, 90.0), (160.0, 95.0))
    assert all(
        isinstance(value, float) for point in corrected.hairs[-1].centreline_px for value in point
    )


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([Correction("remove", hair_id=99)], "there is no hair 99"),
        ([Correction("remove", hair_id=1), Correction("remove", hair_id=1)], "removed twice"),
        ([Correction("remove", hair_id=None)], "whole number"),
        ([Correction("remove", hair_id=True)], "whole number"),
        ([Correction("add", centreline_px=((150.0, 90.0),))], "at least two points"),
        ([Correction("add", centreline_px=())], "at least two points"),
        (
            [Correction("add", centreline_px=((150.0, 90.0), (300.0, 95.0)))],
            r"\(300, 95\) lies outside the 300x200",
        ),
        ([Correction("add", centreline_px=((-1.0, 90.0), (20.0, 95.0)))], "outside"),
        ([Correction("add", centreline_px=((150.0, 90.0), (160.0, math.nan)))], "finite"),
        ([Correction("add", centreline_px=((150.0, 90.0), (math.inf, 95.0)))], "finite"),
        ([Correction("add", centreline_px=INSIDE, width_um=0.0)], "width"),
        ([Correction("add", centreline_px=INSIDE, width_um=-5.0)], "width"),
        ([Correction("add", centreline_px=INSIDE, width_um=500.0)], "less than 500 um"),
        ([Correction("add", centreline_px=INSIDE, width_um=math.nan)], "width"),
        ([Correction("grow", hair_id=1)], "'grow' is not known"),
    ],
)
def test_a_bad_correction_is_refused_with_a_reason(result, batch, message):
    with pytest.raises(TrichoscopyError, match=message):
        corrections.apply(result, batch)


def test_one_bad_correction_refuses_the_whole_batch(result):
    before = copy.deepcopy(result)
    batch = [
        Correction("remove", hair_id=1),
        Correction("add", centreline_px=INSIDE),
        Correction("remove", hair_id=42),
    ]
    with pytest.raises(TrichoscopyError, match="Correction 3: there is no hair 42"):
        corrections.apply(result, batch)
    assert result == before
    # The good corrections alone still apply: nothing of the refused batch stuck anywhere.
    assert corrections.apply(result, batch[:2]).corrections == tuple(batch[:2])


def test_a_hair_removed_earlier_cannot_be_removed_again(result):
    corrected = corrections.remove(result, 2)
    with pytest.raises(TrichoscopyError, match="hair 2 has already been removed"):
        corrections.remove(corrected, 2)


def test_a_hair_added_and_removed_in_one_batch_is_gone(result):
    corrected = corrections.apply(
        result, [Correction("add", centreline_px=INSIDE), Correction("remove", hair_id=5)]
    )
    assert [hair.id for hair in corrected.hairs] == [1, 2, 3, 4]
    assert corrections.add(corrected, INSIDE).hairs[-1].id == 6


def test_removing_nothing_changes_nothing(result):
    assert corrections.remove(result) == result


# -- the corrections file --------------------------------------------------------------------


def test_corrections_survive_a_json_round_trip(result):
    corrected = corrections.apply(
        result,
        [
            Correction("remove", hair_id=2),
            Correction("add", centreline_px=INSIDE, width_um=33.5),
            Correction("add", centreline_px=OUTSIDE),
        ],
    )
    text = json.dumps([correction.as_json() for correction in corrected.corrections])
    parsed = corrections.from_json(json.loads(text))
    assert parsed == corrected.corrections
    assert corrections.apply(result, parsed) == corrected


def test_the_result_json_carries_the_corrections(result):
    corrected = corrections.remove(result, 1)
    data = json.loads(json.dumps(corrected.as_json()))
    assert corrections.from_json(data["corrections"]) == corrected.corrections
    assert data["summary"]["count"] == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "remove", "hair_id": 1}, "must be a list"),
        ("remove 1", "must be a list"),
        ([["remove", 1]], "Correction 1 is not an object"),
        ([{"hair_id": 1}], "action must be add or remove, not None"),
        ([{"action": "delete", "hair_id": 1}], "not 'delete'"),
        ([{"action": "remove"}], "needs the hair_id"),
        ([{"action": "remove", "hair_id": "3"}], "whole number"),
        ([{"action": "remove", "hair_id": 3.0}], "whole number"),
        ([{"action": "remove", "hair_id": 3, "width_um": 20}], "unknown field 'width_um'"),
        ([{"action": "add", "centreline_px": "10,10 20,20"}], r"list of \[x, y\]"),
        ([{"action": "add"}], r"list of \[x, y\]"),
        ([{"action": "add", "centreline_px": [[1, 2, 3], [4, 5, 6]]}], r"list of \[x, y\]"),
        ([{"action": "add", "centreline_px": [["1", "2"], [4, 5]]}], r"list of \[x, y\]"),
        ([{"action": "add", "centreline_px": [[1, 2], [4, 5]], "width_um": "thin"}], "width_um"),
        (
            [{"action": "add", "centreline_px": [[1, 2], [4, 5]], "width": 30}],
            "unknown field 'width'",
        ),
        (
            [{"action": "remove", "hair_id": 1}, {"action": "remove", "hair_id": True}],
            "Correction 2",
        ),
    ],
)
def test_a_malformed_corrections_file_is_refused(data, message):
    with pytest.raises(TrichoscopyError, match=message):
        corrections.from_json(data)


def test_an_empty_corrections_file_means_no_corrections():
    assert corrections.from_json([]) == ()
