"""The search document and query plan, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.patients.search import MAX_TERMS, fold, query_terms, search_document

DOCUMENT = search_document(
    given_name="José Ángel",
    family_name="Müller-O'Brien",
    mrn="ACM-000042",
    email="Jose.Muller@Example.com",
    phone="+44 7700 900123",
)


def matches(query: str) -> bool:
    return all(term in DOCUMENT for term in query_terms(query))


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  José  MÜLLER ", "jose muller"),
        ("Ångström", "angstrom"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("a\x00b", "ab"),
        ("", ""),
    ],
)
def test_fold_lowercases_strips_accents_and_spaces(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    "query",
    [
        "jose",
        "JOSÉ",
        "muller",
        "Müller",
        "angel jose",
        "müller-o'brien",
        "acm-000042",
        "ACM-000042",
        "000042",
        "jose.muller@example.com",
        "+44 7700 900123",
        "07700 900123",
        "0044 7700 900123",
        "900123",
        "(0)7700-900-123",
    ],
)
def test_a_patient_is_found_by_any_of_their_identifiers(query):
    assert matches(query), query_terms(query)


@pytest.mark.parametrize(
    "query",
    ["maria", "jose smith", "ACM-000043", "07700 900124", "other@example.com"],
)
def test_other_queries_do_not_match(query):
    assert not matches(query)


def test_a_blank_query_has_no_terms():
    assert query_terms("   \t ") == []


def test_repeated_words_count_once_and_terms_are_capped():
    assert query_terms("ana ana ANA") == ["ana"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(50)))) == MAX_TERMS


def test_a_short_number_is_searched_as_typed():
    assert query_terms("0042") == ["0042"]
    assert query_terms("12") == ["12"]


@given(st.text(max_size=300))
def test_every_term_is_folded_nonempty_and_within_the_cap(query):
    terms = query_terms(query)
    assert len(terms) <= MAX_TERMS
    for term in terms:
        assert term
        assert term == fold(term)
        assert " " not in term


@given(st.text(min_size=1, max_size=40).filter(lambda s: fold(s) and " " not in fold(s)))
def test_a_name_is_always_found_by_itself(name):
    document = search_document(given_name=name, family_name="X", mrn="", email="", phone="")
    assert all(term in document for term in query_terms(name))
