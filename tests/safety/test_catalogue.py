"""The side-effect term catalogue (safety.catalogue): the shipped file loads, every term is
sourced and gradable, and broken data is refused naming the problem. No database."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

import pytest

from mesoclinic.safety.catalogue import (
    CODES,
    GRADES,
    TERMS_FILE,
    Term,
    UnknownTerm,
    catalogue_version,
    choices,
    generic_grades,
    term,
    terms,
    validate,
)


def shipped_data() -> dict[str, Any]:
    text = (resources.files("mesoclinic.safety") / TERMS_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def with_term_change(code: str, /, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(shipped_data())
    entry = next(item for item in data["terms"] if item["code"] == code)
    entry.update(changes)
    return data


def test_every_shipped_term_loads_in_display_order() -> None:
    assert tuple(t.code for t in terms()) == CODES
    assert [code for code, _label in choices()] == list(CODES)
    assert catalogue_version() == shipped_data()["catalogue_version"]


def test_the_fixed_codes_are_the_ones_others_code_against() -> None:
    assert CODES == (
        "erythema",
        "pruritus",
        "papules",
        "pain",
        "burning",
        "edema",
        "frontal_edema",
        "hematoma",
        "headache",
        "infection",
        "urticaria",
        "angioedema",
        "necrosis",
        "scarring",
        "hair_loss",
        "vasovagal",
        "other",
    )


@pytest.mark.parametrize("code", CODES)
def test_every_term_has_a_web_source_and_a_description_for_each_grade(code: str) -> None:
    t = term(code)
    assert t.sources
    assert any(s.url.startswith(("http://", "https://")) for s in t.sources)
    assert all(s.title and s.note for s in t.sources)
    assert t.label and t.patient_label and t.expected_course_note
    described = t.grade_descriptions()
    assert [grade for grade, _text in described] == list(GRADES)
    assert all(text.strip() for _grade, text in described)


def test_a_grade_without_its_own_description_falls_back_to_the_general_one() -> None:
    hematoma = term("hematoma")
    assert set(hematoma.grades) == {1, 2}
    assert hematoma.grade_description(1) == hematoma.grades[1]
    assert hematoma.grade_description(3) == generic_grades()[3]
    assert term("other").grade_descriptions() == sorted(generic_grades().items())


@pytest.mark.parametrize("grade", [0, 6, -1, True, "3", 2.0])
def test_a_grade_outside_1_to_5_is_refused(grade: Any) -> None:
    with pytest.raises(ValueError, match="grade"):
        term("pruritus").grade_description(grade)


def test_the_general_grades_are_the_ctcae_ones() -> None:
    grades = generic_grades()
    assert sorted(grades) == list(GRADES)
    assert grades[1].startswith("Mild")
    assert grades[2].startswith("Moderate")
    assert grades[3].startswith("Severe")
    assert grades[4].startswith("Life-threatening")
    assert grades[5].startswith("Death")


def test_only_other_requires_text() -> None:
    assert term("other").requires_text is True
    assert [t.code for t in terms() if t.requires_text] == ["other"]


def test_the_always_serious_set_is_infection_angioedema_necrosis_scarring() -> None:
    assert {t.code for t in terms() if t.always_serious} == {
        "infection",
        "angioedema",
        "necrosis",
        "scarring",
    }


@pytest.mark.parametrize(
    ("code", "hours"),
    [
        ("erythema", 48),
        ("pruritus", 48),
        ("papules", 48),
        ("frontal_edema", 96),
        ("scarring", None),
        ("infection", None),
        ("other", None),
    ],
)
def test_expected_courses(code: str, hours: int | None) -> None:
    assert term(code).expected_course_hours == hours


def test_a_convention_says_so_and_the_clinic_text_is_not_cited_as_evidence() -> None:
    # Durations without a source must say they are a convention, not borrow authority.
    for t in terms():
        sourced = t.code == "frontal_edema" or t.expected_course_hours is None
        if not sourced:
            assert "convention" in t.expected_course_note, t.code
        for s in t.sources:
            if "patient text" in s.title:
                assert "not evidence" in s.note
    assert "Melo" in term("frontal_edema").expected_course_note


def test_an_unknown_code_raises_unknown_term() -> None:
    with pytest.raises(UnknownTerm, match="Unknown side-effect term 'rash'"):
        term("rash")
    with pytest.raises(KeyError):
        term("rash")


def test_terms_are_hashable_and_immutable() -> None:
    t = term("pruritus")
    assert hash(t) == hash(term("pruritus"))
    with pytest.raises(TypeError):
        t.grades[4] = "x"  # type: ignore[index]


def test_validate_accepts_the_shipped_data() -> None:
    parsed = validate(shipped_data())
    assert all(isinstance(t, Term) for t in parsed)
    assert parsed == list(terms())


def _drop(data: dict[str, Any], code: str, key: str) -> dict[str, Any]:
    entry = next(item for item in data["terms"] if item["code"] == code)
    del entry[key]
    return data


def _duplicate(data: dict[str, Any]) -> dict[str, Any]:
    data["terms"].insert(1, copy.deepcopy(data["terms"][0]))
    return data


def _bad_source_url(data: dict[str, Any]) -> dict[str, Any]:
    entry = next(item for item in data["terms"] if item["code"] == "pruritus")
    entry["sources"][1]["url"] = "ftp://example.org/ctcae.pdf"
    return data


def _no_web_source(data: dict[str, Any]) -> dict[str, Any]:
    entry = next(item for item in data["terms"] if item["code"] == "pruritus")
    entry["sources"] = [entry["sources"][0]]  # the clinic's text, which has no address
    return data


def _drop_generic(data: dict[str, Any]) -> dict[str, Any]:
    del data["generic_grades"]["4"]
    return data


def _drop_term(data: dict[str, Any]) -> dict[str, Any]:
    data["terms"] = [item for item in data["terms"] if item["code"] != "vasovagal"]
    return data


def _swap(data: dict[str, Any]) -> dict[str, Any]:
    data["terms"][0], data["terms"][1] = data["terms"][1], data["terms"][0]
    return data


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            lambda: _drop(shipped_data(), "pruritus", "label"),
            "term 'pruritus': missing key 'label'",
        ),
        (lambda: _drop(shipped_data(), "hematoma", "sources"), "term 'hematoma': missing key"),
        (lambda: _duplicate(shipped_data()), "the code 'erythema' appears twice"),
        (
            lambda: with_term_change("pruritus", grades={"1": "Mild", "7": "Worse"}),
            "term 'pruritus': grades key '7' is not a grade from 1 to 5",
        ),
        (
            lambda: with_term_change("pruritus", expected_course_hours=-48),
            "term 'pruritus': expected_course_hours must be a positive",
        ),
        (
            lambda: with_term_change("pruritus", expected_course_hours=0),
            "term 'pruritus': expected_course_hours must be a positive",
        ),
        (
            lambda: with_term_change("pruritus", expected_course_hours=True),
            "expected_course_hours",
        ),
        (
            lambda: with_term_change("pruritus", expected_course_hours=48.5),
            "expected_course_hours",
        ),
        (lambda: _bad_source_url(shipped_data()), "must start with http"),
        (lambda: _no_web_source(shipped_data()), "at least one source needs an http"),
        (lambda: with_term_change("pruritus", sources=[]), "sources must be a non-empty list"),
        (lambda: with_term_change("pruritus", always_serious="no"), "always_serious must be"),
        (lambda: with_term_change("pruritus", label="  "), "label must be non-empty"),
        (lambda: with_term_change("pruritus", ctcae_term=""), "ctcae_term must be"),
        (lambda: with_term_change("pruritus", grades={"2": ""}), "grade 2 needs a description"),
        (lambda: with_term_change("pruritus", colour="red"), "unknown key 'colour'"),
        (lambda: with_term_change("pruritus", code="Pruritus!"), "code must be lower-case"),
        (lambda: _drop_generic(shipped_data()), "generic_grades: no description for grade 4"),
        (lambda: _drop_term(shipped_data()), "no term 'vasovagal'"),
        (lambda: _swap(shipped_data()), "out of order"),
    ],
)
def test_broken_data_is_refused_naming_the_problem(broken: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate(broken())


def test_an_unknown_term_code_in_the_data_is_refused() -> None:
    data = shipped_data()
    extra = copy.deepcopy(data["terms"][0])
    extra["code"] = "rash"
    data["terms"].append(extra)
    with pytest.raises(ValueError, match="unknown term 'rash'"):
        validate(data)


def test_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        validate([])  # type: ignore[arg-type]
