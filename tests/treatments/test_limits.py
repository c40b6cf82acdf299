"""Plausible ranges for a charted zone line (treatments.limits): pure, no database."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.protocols.models import Area
from mesoclinic.treatments.limits import (
    AREAS,
    DEFAULT_LIMITS,
    LIMIT_FIELDS,
    TECHNIQUES,
    Finding,
    Range,
    check_line,
    limits_for,
    load_overrides,
    validate_overrides,
)
from mesoclinic.treatments.models import Technique

D = Decimal

# A line with nothing to say about it on the scalp: every test changes one or two values.
QUIET: dict[str, Any] = {
    "area": "scalp",
    "depth_mm": D("2"),
    "needle_gauge": 30,
    "needle_length_mm": D("13"),
    "points": 100,
    "volume_ml": D("1"),
    "technique": "nappage",
}


def check(**changes: Any) -> list[Finding]:
    return check_line(**{**QUIET, **changes})


def levels(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.field, finding.level) for finding in findings]


def test_codes_match_the_models() -> None:
    assert set(AREAS) == set(Area.values)
    assert set(DEFAULT_LIMITS) == set(AREAS)
    assert [code for code, _label in TECHNIQUES] == list(Technique.values)
    assert [str(label) for _code, label in TECHNIQUES] == [
        "Nappage",
        "Point-by-point",
        "Papule",
        "Injector gun",
        "Microneedling",
    ]


def test_the_quiet_line_has_no_findings_in_any_area() -> None:
    for area in AREAS:
        assert check(area=area) == []


@pytest.mark.parametrize("area", AREAS)
def test_every_area_names_its_sources_honestly(area: str) -> None:
    source = DEFAULT_LIMITS[area].source
    assert "Konda & Thappa" in source
    assert "13 mm" in source
    assert "not from a trial" in source


def test_scalp_defaults_follow_the_brief() -> None:
    scalp = DEFAULT_LIMITS["scalp"]
    assert scalp.depth_mm == Range(warn_above=D(4), refuse_above=D(13), refuse_below=D(0))
    assert scalp.volume_ml_per_zone.refuse_above == D(20)
    assert scalp.points_per_zone.refuse_above == D(500)
    assert (scalp.needle_gauge.refuse_below, scalp.needle_gauge.refuse_above) == (D(18), D(34))
    assert scalp.needle_gauge.warn_below == D(27)
    assert scalp.needle_length_mm.refuse_above == D(13)


# (changes to the quiet scalp line, expected findings): each bound exactly, then just past it.
BOUNDARIES = [
    # depth: warn above 4, refuse above 13, refuse below 0 (point-by-point: no technique remark)
    ({"depth_mm": D("4"), "technique": "point_by_point"}, []),
    ({"depth_mm": D("4.1"), "technique": "point_by_point"}, [("depth_mm", "warn")]),
    (
        {"depth_mm": D("13"), "needle_length_mm": D("13"), "technique": "point_by_point"},
        [("depth_mm", "warn")],
    ),
    (
        {"depth_mm": D("13.1"), "needle_length_mm": D("13"), "technique": "point_by_point"},
        [("depth_mm", "refuse")],
    ),
    ({"depth_mm": D("0")}, []),
    ({"depth_mm": D("-0.1")}, [("depth_mm", "refuse")]),
    # needle length: refuse above 13, below 0
    ({"needle_length_mm": D("13")}, []),
    ({"needle_length_mm": D("13.1")}, [("needle_length_mm", "refuse")]),
    ({"needle_length_mm": D("-1"), "depth_mm": None}, [("needle_length_mm", "refuse")]),
    # gauge: 18-34 accepted, warn below 27
    ({"needle_gauge": 34}, []),
    ({"needle_gauge": 35}, [("needle_gauge", "refuse")]),
    ({"needle_gauge": 27}, []),
    ({"needle_gauge": 26}, [("needle_gauge", "warn")]),
    ({"needle_gauge": 18}, [("needle_gauge", "warn")]),
    ({"needle_gauge": 17}, [("needle_gauge", "refuse")]),
    # points: refuse above 500, below 0
    ({"points": 500}, []),
    ({"points": 501}, [("points", "refuse")]),
    ({"points": 0}, []),
    ({"points": -1}, [("points", "refuse")]),
    # volume: warn above 5, refuse above 20, below 0
    ({"volume_ml": D("5")}, []),
    ({"volume_ml": D("5.01")}, [("volume_ml", "warn")]),
    ({"volume_ml": D("20")}, [("volume_ml", "warn")]),
    ({"volume_ml": D("20.01")}, [("volume_ml", "refuse")]),
    ({"volume_ml": D("0"), "points": 0}, []),
    ({"volume_ml": D("-0.01")}, [("volume_ml", "refuse")]),
    # technique depths: papule up to 2 mm, nappage up to 4 mm
    ({"technique": "papule", "depth_mm": D("2")}, []),
    ({"technique": "papule", "depth_mm": D("2.1")}, [("depth_mm", "warn")]),
    ({"technique": "nappage", "depth_mm": D("4")}, []),
    ({"technique": "nappage", "depth_mm": D("4.1")}, [("depth_mm", "warn"), ("depth_mm", "warn")]),
    ({"technique": "microneedling", "depth_mm": D("3")}, []),
    # zero volume over points
    ({"volume_ml": D("0"), "points": 1}, [("volume_ml", "warn")]),
    # a needle cannot reach past its length
    ({"depth_mm": D("4"), "needle_length_mm": D("4")}, []),
    ({"depth_mm": D("3"), "needle_length_mm": D("2.5")}, [("depth_mm", "refuse")]),
    # an unknown technique is refused like any other bad value
    ({"technique": "laser"}, [("technique", "refuse")]),
]


@pytest.mark.parametrize(("changes", "expected"), BOUNDARIES)
def test_each_bound_is_inclusive(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert levels(check(**changes)) == expected


def test_none_values_produce_no_finding() -> None:
    findings = check(
        depth_mm=None,
        needle_gauge=None,
        needle_length_mm=None,
        points=None,
        volume_ml=None,
        technique=None,
    )
    assert findings == []


@given(
    depth=st.none() | st.decimals(min_value=-5, max_value=30, places=1),
    gauge=st.none() | st.integers(min_value=10, max_value=40),
    length=st.none() | st.decimals(min_value=-5, max_value=30, places=1),
    points=st.none() | st.integers(min_value=-5, max_value=2000),
    volume=st.none() | st.decimals(min_value=-5, max_value=50, places=2),
    technique=st.none() | st.sampled_from([code for code, _label in TECHNIQUES]),
    area=st.sampled_from(AREAS),
)
def test_refusals_come_first_and_a_refused_field_says_nothing_else(
    depth: Decimal | None,
    gauge: int | None,
    length: Decimal | None,
    points: int | None,
    volume: Decimal | None,
    technique: str | None,
    area: str,
) -> None:
    findings = check_line(
        area=area,
        depth_mm=depth,
        needle_gauge=gauge,
        needle_length_mm=length,
        points=points,
        volume_ml=volume,
        technique=technique,
    )
    ranks = [finding.level != "refuse" for finding in findings]
    assert ranks == sorted(ranks)
    # A None value is never the subject of a finding.
    given_values = {
        "depth_mm": depth,
        "needle_gauge": gauge,
        "needle_length_mm": length,
        "points": points,
        "volume_ml": volume,
    }
    for finding in findings:
        assert given_values.get(finding.field, "technique") is not None
        assert finding.message
    # A refused field says nothing else.
    for finding in findings:
        if finding.level == "refuse":
            assert [f.field for f in findings].count(finding.field) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"depth_mm": D("14"), "needle_length_mm": D("13"), "technique": "point_by_point"},
            "Depth 14 mm is more than the 13 mm allowed for the scalp.",
        ),
        (
            {"depth_mm": D("4.5"), "needle_length_mm": D("13"), "technique": "point_by_point"},
            "Depth 4.5 mm is more than the 4 mm advised for the scalp; please check it.",
        ),
        (
            {"volume_ml": D("25.00")},
            "Volume 25 mL in one zone is more than the 20 mL allowed for the scalp.",
        ),
        (
            {"needle_gauge": 25},
            "Needle gauge 25 G is a thicker needle than the 27 G usual for the scalp; "
            "please check it.",
        ),
        (
            {"needle_gauge": 36},
            "Needle gauge 36 G is finer than the 34 G allowed for the scalp.",
        ),
        (
            {"points": 600},
            "600 injection points in one zone is more than the 500 allowed for the scalp.",
        ),
        (
            {"needle_length_mm": D("20"), "depth_mm": None},
            "Needle length 20 mm is more than the 13 mm allowed for the scalp.",
        ),
        (
            {"depth_mm": D("6"), "needle_length_mm": D("4"), "technique": "point_by_point"},
            "Depth 6 mm is more than the needle length of 4 mm.",
        ),
        (
            {"technique": "papule", "depth_mm": D("3")},
            "Depth 3 mm is deeper than the 2 mm usually described for papules; "
            "please check the depth or the technique.",
        ),
        (
            {"volume_ml": D("0.00"), "points": 40},
            "Volume is 0 mL for 40 injection points; please check the volume.",
        ),
    ],
)
def test_messages_name_the_value_the_unit_and_the_bound(
    changes: dict[str, Any], message: str
) -> None:
    assert message in [finding.message for finding in check(**changes)]


def test_messages_name_the_area() -> None:
    findings = check(area="submental", volume_ml=D("21"))
    assert findings[0].message == (
        "Volume 21 mL in one zone is more than the 20 mL allowed for the submental area."
    )


def test_a_refused_depth_gets_no_technique_remark() -> None:
    findings = check(depth_mm=D("14"), needle_length_mm=D("13"), technique="papule")
    assert levels(findings) == [("depth_mm", "refuse")]


def test_findings_keep_the_field_order_within_a_level() -> None:
    findings = check(
        depth_mm=D("6"),
        needle_length_mm=D("4"),
        needle_gauge=40,
        points=9999,
        volume_ml=D("7"),
        technique="papule",
    )
    assert levels(findings) == [
        ("depth_mm", "refuse"),
        ("needle_gauge", "refuse"),
        ("points", "refuse"),
        ("volume_ml", "warn"),
    ]
    findings = check(depth_mm=D("5"), needle_length_mm=D("13"), needle_gauge=25, volume_ml=D("6"))
    assert levels(findings) == [
        ("depth_mm", "warn"),
        ("depth_mm", "warn"),
        ("needle_gauge", "warn"),
        ("volume_ml", "warn"),
    ]


def test_unknown_area_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown treatment area 'scalpp'"):
        check(area="scalpp")
    with pytest.raises(ValueError, match="Unknown treatment area"):
        limits_for("neck")


def test_a_float_is_refused_as_a_programming_error() -> None:
    with pytest.raises(TypeError, match="depth_mm must be a Decimal or an int"):
        check(depth_mm=4.5)


# Overrides ------------------------------------------------------------------------------


def test_overrides_replace_single_numbers() -> None:
    limits = limits_for("scalp", {"scalp": {"depth_mm": {"warn_above": 3, "refuse_above": 6}}})
    assert limits.depth_mm == Range(warn_above=D(3), refuse_above=D(6), refuse_below=D(0))
    # Everything else is the default.
    assert limits.volume_ml_per_zone == DEFAULT_LIMITS["scalp"].volume_ml_per_zone
    assert "Clinic overrides: depth_mm.warn_above = 3, depth_mm.refuse_above = 6." in limits.source
    line = {**QUIET, "depth_mm": D("6.5"), "needle_length_mm": D("13"), "technique": None}
    assert check_line(**{**line, "limits": limits})[0].message == (
        "Depth 6.5 mm is more than the 6 mm allowed for the scalp."
    )
    assert check_line(**line) == [
        Finding(
            field="depth_mm",
            level="warn",
            message="Depth 6.5 mm is more than the 4 mm advised for the scalp; please check it.",
        )
    ]


def test_overrides_for_another_area_leave_this_one_alone() -> None:
    overrides = {"face": {"volume_ml_per_zone": {"refuse_above": "12.5"}}}
    assert limits_for("scalp", overrides) is DEFAULT_LIMITS["scalp"]
    assert limits_for("face", overrides).volume_ml_per_zone.refuse_above == D("12.5")


def test_a_null_warning_removes_it() -> None:
    limits = limits_for("scalp", {"scalp": {"needle_gauge": {"warn_below": None}}})
    assert check_line(**{**QUIET, "needle_gauge": 20, "limits": limits}) == []


def test_load_overrides_parses_json_and_keeps_floats_exact() -> None:
    parsed = load_overrides(json.dumps({"body": {"depth_mm": {"warn_above": 0.1}}}))
    assert parsed == {"body": {"depth_mm": {"warn_above": D("0.1")}}}
    assert limits_for("body", parsed).depth_mm.warn_above == D("0.1")
    assert load_overrides("") == {}
    assert load_overrides("  \n") == {}
    assert load_overrides("{}") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object of areas"),
        ('{"neck": {}}', "unknown area 'neck'; known areas: scalp, face, submental, body"),
        ('{"scalp": []}', "for scalp: expected an object of fields"),
        ('{"scalp": {"depth": {}}}', "unknown field 'scalp.depth'"),
        ('{"scalp": {"depth_mm": 4}}', "for scalp.depth_mm: expected an object"),
        ('{"scalp": {"depth_mm": {"warn": 4}}}', "unknown key scalp.depth_mm.'warn'"),
        ('{"scalp": {"depth_mm": {"warn_above": "four"}}}', "must be a number, got 'four'"),
        ('{"scalp": {"depth_mm": {"warn_above": true}}}', "must be a number, got True"),
        ('{"scalp": {"depth_mm": {"warn_above": [4]}}}', "must be a number"),
        ('{"scalp": {"depth_mm": {"refuse_above": NaN}}}', "must be a finite number"),
        ('{"scalp": {"depth_mm": {"refuse_above": "Infinity"}}}', "must be a finite number"),
        ('{"scalp": {"depth_mm": {"refuse_above": null}}}', "refuse_above cannot be null"),
        (
            '{"scalp": {"depth_mm": {"refuse_below": 20}}}',
            "scalp.depth_mm: refuse_below (20) is above refuse_above (13)",
        ),
        (
            '{"scalp": {"depth_mm": {"warn_above": 14}}}',
            "scalp.depth_mm: warn_above (14) is above refuse_above (13)",
        ),
        (
            '{"scalp": {"depth_mm": {"refuse_above": 3}}}',
            "scalp.depth_mm: warn_above (4) is above refuse_above (3)",
        ),
        (
            '{"scalp": {"needle_gauge": {"warn_below": 10}}}',
            "scalp.needle_gauge: warn_below (10) is below refuse_below (18)",
        ),
    ],
)
def test_malformed_overrides_raise_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_overrides(raw)


def test_limits_for_validates_overrides_too() -> None:
    with pytest.raises(ValueError, match=re.escape("unknown field 'scalp.gauge'")):
        limits_for("scalp", {"scalp": {"gauge": {"refuse_above": 30}}})


@given(
    warn=st.decimals(min_value=0, max_value=13, places=1),
    refuse=st.decimals(min_value=0, max_value=30, places=1),
)
def test_valid_overrides_always_give_valid_limits(warn: Decimal, refuse: Decimal) -> None:
    overrides = {"scalp": {"depth_mm": {"warn_above": str(warn), "refuse_above": str(refuse)}}}
    if warn > refuse:
        with pytest.raises(ValueError, match="warn_above"):
            validate_overrides(overrides)
        return
    limits = limits_for("scalp", overrides)
    assert limits.depth_mm.warn_above == warn
    assert limits.depth_mm.refuse_above == refuse
    for field in LIMIT_FIELDS:
        bounds = getattr(limits, field)
        assert bounds.refuse_below <= bounds.refuse_above
