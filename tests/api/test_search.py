"""GET /api/v1/patients: search, count, limit and offset."""

from __future__ import annotations

import pytest

from tests.api.helpers import PATIENTS, problem
from tests.conftest import make_patient


@pytest.fixture
def many(world):
    """25 more Acme patients, Family01..Family25, and one with distinct contact details."""
    for n in range(1, 26):
        make_patient(
            world.acme,
            world.fiona,
            given_name="Many",
            family_name=f"Family{n:02d}",
            email=f"many{n}@example.com",
            phone=f"+34 600 0000{n:02d}",
        )
    return make_patient(
        world.acme,
        world.fiona,
        given_name="Maria Luisa",
        family_name="Fernández",
        email="Maria.F@Example.org",
        phone="+44 7700 900999",
    )


def test_the_count_covers_every_match_and_the_page_is_cut_by_limit_and_offset(api_for, many):
    client = api_for("paul")
    body = client.get(PATIENTS, {"q": "many", "limit": 10, "offset": 20}).json()
    assert body["count"] == 25
    assert (body["limit"], body["offset"]) == (10, 20)
    assert [item["family_name"] for item in body["items"]] == [
        f"Family{n:02d}" for n in range(21, 26)
    ]


def test_the_default_page_is_25(api_for, many):
    body = api_for("paul").get(PATIENTS).json()
    assert body["count"] == 28
    assert (body["limit"], body["offset"]) == (25, 0)
    assert len(body["items"]) == 25


def test_pages_do_not_overlap_and_cover_everyone(api_for, many):
    client = api_for("paul")
    seen = []
    for offset in range(0, 28, 9):
        seen += [
            item["id"]
            for item in client.get(PATIENTS, {"limit": 9, "offset": offset}).json()["items"]
        ]
    assert len(seen) == len(set(seen)) == 28


def test_an_offset_past_the_end_is_an_empty_page(api_for, many):
    body = api_for("paul").get(PATIENTS, {"offset": 1000}).json()
    assert body["count"] == 28
    assert body["items"] == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("maria", {"Fernández"}),
        ("fernández maria luisa", {"Fernández"}),
        ("acm-000028", {"Fernández"}),
        ("maria.f@example.org", {"Fernández"}),
        ("07700 900999", {"Fernández"}),
        ("+44 (0)7700 900-999", {"Fernández"}),
        ("447700900999", {"Fernández"}),
        ("Family07", {"Family07"}),
        ("nobody", set()),
    ],
)
def test_search_by_name_record_number_email_and_phone(api_for, many, query, expected):
    body = api_for("paul").get(PATIENTS, {"q": query}).json()
    assert {item["family_name"] for item in body["items"]} == expected
    assert body["count"] == len(expected)


def test_search_ignores_the_case_of_accented_capitals(api_for, many):
    body = api_for("paul").get(PATIENTS, {"q": "FERNÁNDEZ"}).json()
    assert [item["family_name"] for item in body["items"]] == ["Fernández"]


def test_a_nul_byte_in_the_search_is_not_a_server_error(api_for, many):
    response = api_for("paul").get(PATIENTS, {"q": "Fernández\x00"})
    assert response.status_code == 200
    assert [item["family_name"] for item in response.json()["items"]] == ["Fernández"]


@pytest.mark.parametrize("offset", ["100000000000000000000", "-1", "abc"])
def test_an_impossible_offset_is_a_clear_422(api_for, offset):
    response = api_for("paul").get(PATIENTS, {"offset": offset})
    body = problem(response, 422)
    assert body["errors"][0]["field"] == "offset"
