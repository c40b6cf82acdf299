"""Aftercare sets and the aftercare sheet (treatments.aftercare): pure, no database."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.protocols.defaults import shipped_protocols
from mesoclinic.screening.models import KIND_CHOICES
from mesoclinic.treatments.aftercare import (
    EVIDENCE_LABELS,
    PRP_KINDS,
    SECTIONS,
    AftercareLine,
    AftercareSet,
    AftercareSheet,
    HomeCareProduct,
    TreatedZone,
    build_sheet,
    default_set,
    set_from_json,
    set_to_json,
    sheet_from_json,
    sheet_text,
    sheet_to_json,
    shipped_sets,
)
from mesoclinic.treatments.limits import AREAS

D = Decimal
KINDS = [code for code, _label in KIND_CHOICES]
# Words that would promise results (reference/clinical-facts.md section 7).
CLAIMS = re.compile(r"\b(guarantee\w*|will grow|regrow\w*|proven|cure[sd]?)\b", re.IGNORECASE)


def all_lines(s: AftercareSet) -> list[AftercareLine]:
    return [line for section in SECTIONS for line in getattr(s, section)]


def codes(s: AftercareSet) -> set[str]:
    return {line.code for line in all_lines(s)}


# Shipped sets ---------------------------------------------------------------------------


def test_there_is_a_set_for_every_area_and_for_prp() -> None:
    assert set(shipped_sets()) == {*AREAS, "prp"}
    for area in AREAS:
        s = shipped_sets()[area]
        assert s.lines
        assert s.expected_reactions
        assert s.call_the_clinic


@pytest.mark.parametrize("name", [*AREAS, "prp"])
def test_every_shipped_line_has_text_source_and_a_known_evidence_code(name: str) -> None:
    for line in all_lines(shipped_sets()[name]):
        assert line.code.strip()
        assert line.text.strip()
        assert line.source.strip()
        assert line.evidence in EVIDENCE_LABELS
        assert line.evidence_label


@pytest.mark.parametrize("name", [*AREAS, "prp"])
def test_no_shipped_text_promises_results(name: str) -> None:
    for line in all_lines(shipped_sets()[name]):
        assert not CLAIMS.search(line.text), line.code


def test_every_evidence_code_has_a_label() -> None:
    assert set(EVIDENCE_LABELS) == {"clinic_practice", "expert_opinion", "case_report", "trial"}
    assert all(str(label) for label in EVIDENCE_LABELS.values())


def test_the_clinic_page_rules_are_shipped_for_the_scalp() -> None:
    scalp = shipped_sets()["scalp"]
    texts = {line.code: line for line in scalp.lines}
    assert "24 to 48 hours" in texts["no_washing"].text
    assert "72 hours" in texts["no_massage_pressure"].text
    assert "sauna" in texts["no_swimming_exercise_heat"].text
    assert "2 weeks" in texts["no_dye_chemicals"].text
    assert "sun" in texts["avoid_sun"].text
    # The only evidence-based step, with its evidence level.
    assert texts["cold_compress_forehead"].evidence == "case_report"
    assert "Melo 2022" in texts["cold_compress_forehead"].source
    # Every clinic-page rule says it is clinic practice and notes the contradicting page.
    for code in ("no_washing", "no_massage_pressure", "no_swimming_exercise_heat"):
        assert texts[code].evidence == "clinic_practice"
        assert "drtherianou.com" in texts[code].source


def test_only_the_scalp_gets_hair_rules() -> None:
    for area in ("face", "submental", "body"):
        s = shipped_sets()[area]
        assert "no_washing" not in codes(s)
        assert "new_patchy_hair_loss" not in codes(s)
        assert not any(re.search(r"your hair|scalp", line.text) for line in s.lines)
        # The adapted lines say so.
        assert all("adapted" in line.source or "analogy" in line.source for line in s.lines)


def test_the_scalp_lists_when_to_call_the_clinic() -> None:
    calls = {line.code for line in shipped_sets()["scalp"].call_the_clinic}
    assert calls == {
        "swelling_spreading",
        "worsening_redness_pain",
        "infection_signs",
        "skin_colour_blisters",
        "rash_hives",
        "breathing_lips_tongue",
        "new_patchy_hair_loss",
    }
    emergency = next(
        line
        for line in shipped_sets()["scalp"].call_the_clinic
        if line.code == "breathing_lips_tongue"
    )
    assert "emergency" in emergency.text


# default_set ----------------------------------------------------------------------------


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize("kind", KINDS)
def test_prp_kinds_get_the_nsaid_line_and_others_do_not(area: str, kind: str) -> None:
    s = default_set(area=area, kind=kind)
    has_nsaid_line = "no_nsaids_before_prp" in codes(s)
    assert has_nsaid_line is (kind in PRP_KINDS)
    # The area's own lines always come first.
    area_set = shipped_sets()[area]
    assert s.lines[: len(area_set.lines)] == area_set.lines


def test_the_prp_kinds_are_prp_and_combined() -> None:
    assert sorted(PRP_KINDS) == ["combined", "prp"]
    assert PRP_KINDS.issubset(KINDS)


def test_every_shipped_protocol_has_a_default_set() -> None:
    for protocol in shipped_protocols():
        s = default_set(area=protocol["area"], kind=protocol["kind"])
        assert s.lines


@pytest.mark.parametrize(
    ("area", "kind", "message"),
    [
        ("neck", "mesotherapy", "Unknown treatment area 'neck'"),
        ("scalp", "meso_prp", "Unknown treatment kind 'meso_prp'"),
    ],
)
def test_default_set_refuses_unknown_codes(area: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        default_set(area=area, kind=kind)


# set_from_json validation ---------------------------------------------------------------

GOOD_LINE = {"code": "x", "text": "Text.", "source": "Somewhere.", "evidence": "trial"}


def a_set(**line_changes: Any) -> dict[str, Any]:
    line = {**GOOD_LINE, **line_changes}
    return {"lines": [line], "expected_reactions": [], "call_the_clinic": []}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (a_set(text=""), "aftercare set, lines[0] ('x'): missing text"),
        (a_set(source="  "), "aftercare set, lines[0] ('x'): missing source"),
        (a_set(evidence="anecdote"), "unknown evidence code 'anecdote'"),
        (
            {**a_set(), "lines": [{k: v for k, v in GOOD_LINE.items() if k != "source"}]},
            "missing source",
        ),
        (a_set(code=""), "aftercare set, lines[0]: missing code"),
        (a_set(colour="red"), "unknown key 'colour'"),
        ({"lines": [GOOD_LINE], "expected_reactions": []}, "'call_the_clinic' must be a list"),
        ({**a_set(), "extra": []}, "unknown section 'extra'"),
        ({**a_set(), "call_the_clinic": [GOOD_LINE]}, "the code 'x' appears twice"),
        ({**a_set(), "lines": ["Do not wash."]}, "lines[0]: expected an object"),
        ([], "expected an object"),
    ],
)
def test_a_bad_set_is_refused_naming_the_entry(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        set_from_json(data)


# Sheet ----------------------------------------------------------------------------------


def a_sheet(**changes: Any) -> AftercareSheet:
    values: dict[str, Any] = {
        "patient_name": "Ana Silva",
        "clinic_name": "Acme Hair",
        "clinic_phone": "+44 20 7946 0000",
        "session_date": dt.date(2026, 3, 12),
        "protocol_name": "Hair mesotherapy",
        "practitioner_name": "Dr Paul Jones",
        "treated": [
            TreatedZone(label="Vertex", volume_ml=D("1.5"), products=("Cocktail A",)),
            TreatedZone(label="Frontal hairline", volume_ml=D("0.75"), products=()),
        ],
        "anaesthesia": "Topical cream",
        "aftercare_set": default_set(area="scalp", kind="mesotherapy"),
        "home_care": [HomeCareProduct(name="Gentle shampoo", note="From day 3.")],
    }
    return build_sheet(**{**values, **changes})


def test_the_total_volume_is_the_sum_of_the_zones() -> None:
    assert a_sheet().total_volume_ml == D("2.25")
    assert a_sheet(treated=[]).total_volume_ml == D("0")
    zones = [TreatedZone(label=str(n), volume_ml=D("0.1"), products=()) for n in range(10)]
    assert a_sheet(treated=zones).total_volume_ml == D("1.0")


def test_a_zone_takes_ints_and_numeric_strings_but_not_floats_or_negatives() -> None:
    # Any: the point is what happens with values the annotation does not allow.
    good: list[tuple[Any, Decimal]] = [(2, D("2")), ("0.50", D("0.50"))]
    for value, expected in good:
        assert str(TreatedZone(label="A", volume_ml=value, products=()).volume_ml) == str(expected)
    bad_values: list[Any] = [0.5, D("-0.1"), "abc", D("NaN"), True]
    for bad in bad_values:
        with pytest.raises(ValueError, match="volume"):
            TreatedZone(label="A", volume_ml=bad, products=())


def test_the_session_date_is_a_date() -> None:
    with pytest.raises(ValueError, match="session_date must be a date"):
        a_sheet(session_date=dt.datetime(2026, 3, 12, 10, 0, tzinfo=dt.UTC))


def test_sheet_text_says_what_was_done_and_whom_to_call() -> None:
    text = sheet_text(a_sheet())
    assert "Dear Ana Silva," in text
    assert "12 March 2026" in text
    assert "- Vertex: 1.5 mL (Cocktail A)" in text
    assert "- Frontal hairline: 0.75 mL" in text
    assert "Total volume: 2.25 mL" in text
    assert "Hair mesotherapy" in text
    assert "Dr Paul Jones" in text
    assert "Topical cream" in text
    assert "Call Acme Hair on +44 20 7946 0000 if you notice:" in text
    assert "usually fade within a day or two" in text
    assert "- Gentle shampoo: From day 3." in text
    assert "not a promise of results" in text
    assert not CLAIMS.search(text)
    s = default_set(area="scalp", kind="mesotherapy")
    for line in all_lines(s):
        assert f"- {line.text}" in text
    # The order a patient reads: what was done, instructions, reactions, when to call.
    positions = [
        text.index("What was done"),
        text.index("After your session"),
        text.index("What you may notice"),
        text.index("When to call the clinic"),
        text.index("Products for use at home"),
        text.index("general guidance"),
    ]
    assert positions == sorted(positions)


def test_sheet_text_leaves_out_empty_parts() -> None:
    empty = AftercareSet(lines=(), expected_reactions=(), call_the_clinic=())
    text = sheet_text(a_sheet(aftercare_set=empty, home_care=(), anaesthesia=""))
    assert "After your session" not in text
    assert "Products for use at home" not in text
    assert "Numbing" not in text
    # The phone number is there even without a call-the-clinic list.
    assert "call Acme Hair on +44 20 7946 0000" in text


def test_sheet_text_never_writes_an_exponent() -> None:
    zone = TreatedZone(label="Vertex", volume_ml=D("1E+1"), products=())
    assert "- Vertex: 10 mL" in sheet_text(a_sheet(treated=[zone]))


def test_a_stored_sheet_with_a_wrong_total_is_refused() -> None:
    data = sheet_to_json(a_sheet())
    data["total_volume_ml"] = "9.99"
    with pytest.raises(ValueError, match="not the sum of the zone volumes"):
        sheet_from_json(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "unknown format 2"),
        ({"session_date": "12/03/2026"}, "session_date '12/03/2026' is not a date"),
        ({"patient_name": None}, "patient_name must be a string"),
        ({"treated": "Vertex"}, "treated must be a list"),
        ({"treated": [{"label": "V", "volume_ml": "1", "products": "A"}]}, "products must be"),
        ({"treated": [{"label": "V", "volume_ml": 1, "products": []}]}, "volume_ml must be"),
        ({"set": {"lines": []}}, "Aftercare sheet, set"),
    ],
)
def test_a_malformed_stored_sheet_is_refused(change: dict[str, Any], message: str) -> None:
    data = {**sheet_to_json(a_sheet()), **change}
    with pytest.raises(ValueError, match=re.escape(message)):
        sheet_from_json(data)


# Round trips (hypothesis) ---------------------------------------------------------------

texts = st.text(min_size=1, max_size=40).filter(str.strip)
lines = st.builds(
    AftercareLine,
    code=texts,
    text=texts,
    source=texts,
    evidence=st.sampled_from(sorted(EVIDENCE_LABELS)),
)


@st.composite
def aftercare_sets(draw: st.DrawFn) -> AftercareSet:
    drawn = draw(st.lists(lines, max_size=9, unique_by=lambda line: line.code))
    a, b = sorted(draw(st.lists(st.integers(0, len(drawn)), min_size=2, max_size=2)))
    return AftercareSet(
        lines=tuple(drawn[:a]),
        expected_reactions=tuple(drawn[a:b]),
        call_the_clinic=tuple(drawn[b:]),
    )


volumes = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
zones = st.builds(
    TreatedZone,
    label=st.text(max_size=20),
    volume_ml=volumes,
    products=st.lists(st.text(max_size=20), max_size=3).map(tuple),
)


@st.composite
def sheets(draw: st.DrawFn) -> AftercareSheet:
    return build_sheet(
        patient_name=draw(st.text(max_size=30)),
        clinic_name=draw(st.text(max_size=30)),
        clinic_phone=draw(st.text(max_size=20)),
        session_date=draw(st.dates()),
        protocol_name=draw(st.text(max_size=30)),
        practitioner_name=draw(st.text(max_size=30)),
        treated=draw(st.lists(zones, max_size=6)),
        anaesthesia=draw(st.text(max_size=20)),
        aftercare_set=draw(aftercare_sets()),
        home_care=draw(
            st.lists(st.builds(HomeCareProduct, name=st.text(), note=st.text()), max_size=3)
        ),
    )


@given(aftercare_sets())
def test_a_set_survives_json(s: AftercareSet) -> None:
    stored = json.loads(json.dumps(set_to_json(s)))
    assert set_from_json(stored) == s


@given(sheets())
def test_a_sheet_survives_json_digit_for_digit(sheet: AftercareSheet) -> None:
    stored = json.loads(json.dumps(sheet_to_json(sheet)))
    again = sheet_from_json(stored)
    assert again == sheet
    # Equal Decimals may differ in digits (1.5 == 1.50); the sheet must show the same ones.
    assert str(again.total_volume_ml) == str(sheet.total_volume_ml)
    assert [str(z.volume_ml) for z in again.treated] == [str(z.volume_ml) for z in sheet.treated]
    assert sheet_text(again) == sheet_text(sheet)


def test_the_shipped_sets_survive_json() -> None:
    for area in AREAS:
        for kind in KINDS:
            s = default_set(area=area, kind=kind)
            assert set_from_json(json.loads(json.dumps(set_to_json(s)))) == s
