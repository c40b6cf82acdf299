"""The zone maps (treatments/maps.py): their zones, labels and shading. Pure: no database."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.patients.scales import SCALP_ZONES, ZONE_CODES
from mesoclinic.protocols.models import Area
from mesoclinic.treatments.maps import AREAS, ShadedZone, Zone, ZoneMap, shade, zone_label, zone_map

EXPECTED_CODES = {
    "scalp": [code for code, _label in SCALP_ZONES],
    "face": [
        "forehead",
        "glabella",
        "periorbital_left",
        "periorbital_right",
        "cheek_left",
        "cheek_right",
        "nasolabial_left",
        "nasolabial_right",
        "perioral",
        "chin",
        "jawline_left",
        "jawline_right",
        "neck",
    ],
    "submental": [
        "submental_left",
        "submental_centre",
        "submental_right",
        "jowl_left",
        "jowl_right",
    ],
    "body": [
        "abdomen",
        "flank_left",
        "flank_right",
        "hip_left",
        "hip_right",
        "thigh_left",
        "thigh_right",
        "buttock_left",
        "buttock_right",
        "breast_left",
        "breast_right",
        "upper_arm_left",
        "upper_arm_right",
    ],
}
# Absolute SVG path commands only, numbers with at most one decimal.
PATH_DATA = re.compile(r"^M-?\d+(\.\d)?( -?\d+(\.\d)?|[MLCAQZ ]|[MLCAQ]-?\d+(\.\d)?)*$")


def test_areas_are_the_protocol_areas():
    assert set(AREAS) == set(Area.values)


@pytest.mark.parametrize("area", AREAS)
def test_every_map_has_its_zones_in_order(area):
    the_map = zone_map(area)
    assert the_map.area == area
    assert [zone.code for zone in the_map.zones] == EXPECTED_CODES[area]
    assert the_map.codes == frozenset(EXPECTED_CODES[area])
    assert str(the_map.title)


@pytest.mark.parametrize("area", AREAS)
def test_every_zone_has_a_label_a_shape_and_a_label_spot_in_the_view(area):
    the_map = zone_map(area)
    x0, y0, width, height = map(float, the_map.view_box.split())
    assert PATH_DATA.match(the_map.outline)
    for zone in the_map.zones:
        assert str(zone.label) and str(zone.label) != zone.code
        assert PATH_DATA.match(zone.shape), zone.code
        assert zone.shape.rstrip().endswith("Z"), zone.code
        assert x0 <= zone.label_x <= x0 + width and y0 <= zone.label_y <= y0 + height
    labels = [str(zone.label) for zone in the_map.zones]
    assert len(set(labels)) == len(labels)


def test_scalp_zones_are_the_assessment_zones():
    the_map = zone_map("scalp")
    assert the_map.codes == ZONE_CODES
    assert [(zone.code, str(zone.label)) for zone in the_map.zones] == list(SCALP_ZONES)


def test_paired_zones_have_matching_labels():
    # "_left" zones say "Left", "_right" zones say "Right": the side words never swap.
    for area in AREAS:
        for zone in zone_map(area).zones:
            if zone.code.endswith("_left"):
                assert str(zone.label).startswith("Left"), zone.code
            if zone.code.endswith("_right"):
                assert str(zone.label).startswith("Right"), zone.code


def test_unknown_area_and_zone():
    with pytest.raises(ValueError, match="nope"):
        zone_map("nope")
    with pytest.raises(KeyError):
        zone_map("scalp").zone("chin")
    assert zone_map("scalp").zone("vertex").label == "Vertex (crown)"


def test_duplicate_codes_are_refused():
    zone = Zone("a", "A", "M0 0 L1 1 Z", 0, 0)
    with pytest.raises(ValueError, match="repeat"):
        ZoneMap("scalp", "t", "0 0 1 1", "", (zone, zone))


@pytest.mark.parametrize(
    ("area", "code", "label"),
    [
        ("scalp", "vertex", "Vertex (crown)"),
        ("scalp", "temporal_left", "Left temporal"),
        ("face", "nasolabial_right", "Right nasolabial fold"),
        ("submental", "submental_centre", "Submental centre"),
        ("body", "upper_arm_left", "Left upper arm"),
        ("scalp", "retired_code", "retired_code"),  # unknown zone: the code itself
        ("nope", "vertex", "vertex"),  # unknown area: the code itself
    ],
)
def test_zone_label(area, code, label):
    assert zone_label(area, code) == label


def levels(volumes: dict[str, str], area: str = "scalp") -> dict[str, int]:
    shaded = shade(zone_map(area), {code: Decimal(v) for code, v in volumes.items()})
    return {item.zone.code: item.level for item in shaded if item.level}


@pytest.mark.parametrize(
    ("volumes", "expected"),
    [
        ({}, {}),
        ({"vertex": "0"}, {}),
        ({"vertex": "0.01"}, {"vertex": 4}),  # the only volume is the largest
        ({"vertex": "2", "frontal": "2"}, {"vertex": 4, "frontal": 4}),
        # ceil(4 * v / largest): 0.5/2 -> 1, 1/2 -> 2, 1.2/2 -> 3 (2.4 up), 2/2 -> 4
        (
            {"vertex": "2", "frontal": "0.5", "mid_scalp": "1", "occipital": "1.2"},
            {"vertex": 4, "frontal": 1, "mid_scalp": 2, "occipital": 3},
        ),
        ({"vertex": "100", "frontal": "0.001"}, {"vertex": 4, "frontal": 1}),  # never 0
        ({"vertex": "1", "chin": "50", "nope": "9"}, {"vertex": 4}),  # other codes ignored
    ],
)
def test_shade_levels(volumes, expected):
    assert levels(volumes) == expected


def test_shade_keeps_map_order_volumes_and_selection():
    the_map = zone_map("submental")
    shaded = shade(the_map, {"jowl_left": Decimal("0.8")}, ["jowl_left", "jowl_right", "x"])
    assert [item.zone for item in shaded] == list(the_map.zones)
    assert shaded[3] == ShadedZone(the_map.zones[3], Decimal("0.8"), 4, True)
    assert shaded[4] == ShadedZone(the_map.zones[4], Decimal("0"), 0, True)
    assert [item.selected for item in shaded] == [False, False, False, True, True]


@pytest.mark.parametrize("bad", [Decimal("-0.1"), Decimal("NaN"), Decimal("Infinity"), "x"])
def test_shade_refuses_impossible_volumes(bad):
    with pytest.raises(ValueError, match="vertex"):
        shade(zone_map("scalp"), {"vertex": bad})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("volume", "text"),
    [("1.5", "1.5"), ("2.00", "2"), ("10.0", "10"), ("100", "100"), ("0.25", "0.25")],
)
def test_volume_text(volume, text):
    item = shade(zone_map("scalp"), {"vertex": Decimal(volume)})[3]
    assert item.volume_text == text


volumes_strategy = st.dictionaries(
    st.sampled_from(EXPECTED_CODES["body"] + ["unknown"]),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)


@given(volumes_strategy)
def test_shade_is_monotone(volumes):
    shaded = shade(zone_map("body"), volumes)
    for one in shaded:
        assert (one.level == 0) == (one.volume_ml == 0)
        assert 0 <= one.level <= 4
        for other in shaded:
            if one.volume_ml > other.volume_ml:
                assert one.level >= other.level
    positive = [item for item in shaded if item.volume_ml > 0]
    if positive:
        assert max(item.level for item in positive) == 4
        largest = max(item.volume_ml for item in positive)
        assert all(item.level == 4 for item in positive if item.volume_ml == largest)


def render(**context) -> str:
    return render_to_string("treatments/_zone_map.html", context)


def test_the_include_draws_buttons_and_real_checkboxes():
    the_map = zone_map("scalp")
    html = render(
        map=the_map,
        shaded=shade(the_map, {"vertex": Decimal("1.5")}, ["vertex"]),
        input_name="chart-zones",
    )
    assert 'data-zone-map data-area="scalp" data-input-name="chart-zones"' in html
    assert html.count('role="button" tabindex="0"') == 9
    assert (
        'class="zone zone-level-4 selected" data-zone="vertex" role="button" tabindex="0" '
        'aria-pressed="true" aria-label="Vertex (crown), 1.5 mL"' in html
    )
    assert 'aria-pressed="false" aria-label="Occipital, no volume"' in html
    assert '<input type="checkbox" name="chart-zones" value="vertex" checked>' in html
    assert '<input type="checkbox" name="chart-zones" value="occipital">' in html
    assert "/static/treatments/zone_map.css" in html
    assert "/static/treatments/zone_map.js" in html


def test_a_readonly_include_has_no_controls_and_the_name_defaults_to_zones():
    the_map = zone_map("face")
    html = render(map=the_map, shaded=shade(the_map, {}), readonly=True)
    assert 'data-input-name="zones" data-readonly' in html
    for control in ('role="button"', "tabindex", "aria-pressed", "<input", "<fieldset"):
        assert control not in html
