"""Finding patients: by name, record number, phone and email; paging; htmx fragments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_search
from tests.conftest import make_patient


@pytest.fixture
def people(world):
    """Three Acme patients with distinct contact details (plus the world's two)."""
    return {
        "maria": make_patient(
            world.acme,
            world.fiona,
            given_name="Maria Luisa",
            family_name="Fernández",
            email="Maria.F@Example.org",
            phone="+44 7700 900123",
        ),
        "mario": make_patient(
            world.acme,
            world.fiona,
            given_name="Mario",
            family_name="Rossi",
            email="mario@example.net",
            phone="(020) 7946-0000",
        ),
        "tom": make_patient(
            world.acme,
            world.fiona,
            given_name="Tom",
            family_name="O'Neill",
            email="",
            phone="",
        ),
    }


def found(world, query):
    return {p.full_name for p in patient_search(organisation=world.acme, query=query)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Mario", {"Mario Rossi"}),
        ("mari", {"Maria Luisa Fernández", "Mario Rossi"}),
        ("ROSSI", {"Mario Rossi"}),
        ("rossi mario", {"Mario Rossi"}),
        ("Mario Rossi", {"Mario Rossi"}),
        ("  mario    rossi  ", {"Mario Rossi"}),
        ("Luisa Fernández", {"Maria Luisa Fernández"}),
        ("fernández maria", {"Maria Luisa Fernández"}),
        ("o'neill", {"Tom O'Neill"}),
        ("Mario Silva", set()),
        ("zzz", set()),
    ],
)
def test_search_by_names_matches_every_word_in_any_order_ignoring_case(
    world, people, query, expected
):
    assert found(world, query) == expected


@pytest.mark.parametrize("query", ["ACM-000003", "acm-000003", " ACM-000003 "])
def test_search_by_record_number_ignores_case(world, people, query):
    assert people["maria"].mrn == "ACM-000003"
    assert found(world, query) == {"Maria Luisa Fernández"}


@pytest.mark.parametrize("query", ["maria.f@example.org", "MARIA.F@EXAMPLE.ORG", "maria.f@"])
def test_search_by_email_ignores_case_and_takes_the_start(world, people, query):
    assert found(world, query) == {"Maria Luisa Fernández"}


@pytest.mark.parametrize(
    "query",
    [
        "+44 7700 900123",
        "447700900123",
        "+44-7700-900-123",
        "7700 900123",
        "7700900123",
        "900123",
        "07700 900123",  # dialled nationally
        "07700900123",
        "0044 7700 900123",  # international prefix
        "(07700) 900-123",
        "+44 (0)7700 900123",  # the bracketed trunk zero of UK style
    ],
)
def test_search_by_phone_ignores_formatting_and_the_trunk_zero(world, people, query):
    assert "Maria Luisa Fernández" in found(world, query)
    assert "Mario Rossi" not in found(world, query)


@pytest.mark.parametrize("query", ["(020) 7946-0000", "020 7946 0000", "02079460000", "7946"])
def test_search_finds_numbers_stored_with_brackets_and_dashes(world, people, query):
    assert found(world, query) == {"Mario Rossi"}


@pytest.mark.parametrize("query", ["7700 900124", "0770", "900125"])
def test_search_does_not_match_other_numbers(world, people, query):
    assert "Maria Luisa Fernández" not in found(world, query)


def test_a_few_digits_find_the_record_number_that_contains_them(world, people):
    """The front desk often types only the end of a record number."""
    target = Patient.objects.get(given_name="Mario")
    tail = target.mrn[-3:]
    assert "Mario Rossi" in found(world, tail)


def test_empty_or_blank_search_lists_everyone(world, people):
    everyone = {p.full_name for p in patient_search(organisation=world.acme)}
    assert len(everyone) == 5
    assert found(world, "") == everyone
    assert found(world, "   ") == everyone


@pytest.mark.parametrize(
    ("query", "expected"),
    [("\x00", 5), ("\x00\x01\x1f", 5), ("Mario\x00", 1), ("Ma\x00rio", 1), ("\x00Rossi\x7f", 1)],
)
def test_control_characters_in_a_search_are_ignored_not_an_error(world, people, query, expected):
    result = found(world, query)
    assert len(result) == expected
    if expected == 1:
        assert result == {"Mario Rossi"}


def test_search_is_scoped_to_the_organisation(world, people):
    make_patient(world.other, world.oscar, given_name="Mario", family_name="Rossi")
    assert {p.organisation_id for p in patient_search(organisation=world.other)} == {world.other.pk}
    assert found(world, "Mario Rossi") == {"Mario Rossi"}
    acme_results = patient_search(organisation=world.acme, query="Mario Rossi")
    assert [p.organisation_id for p in acme_results] == [world.acme.pk]
    assert found(world, "OTH-000001") == set()


def test_results_are_ordered_by_family_then_given_name(world, people):
    names = [p.family_name for p in patient_search(organisation=world.acme)]
    assert names == ["Fernández", "O'Neill", "Portal", "Rossi", "Silva"]


# --- the page ---------------------------------------------------------------------------


def test_the_list_page_searches_and_keeps_the_query_in_the_box(client_for, people):
    response = client_for("fiona").get(reverse("patients:list"), {"q": "rossi"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Rossi, Mario" in content
    assert "Silva, Ana" not in content
    assert 'value="rossi"' in content


def test_a_search_with_no_match_says_so(client_for, people):
    response = client_for("fiona").get(reverse("patients:list"), {"q": "Nobody"})
    assert "No patient matches “Nobody”." in response.content.decode()


def test_a_very_long_search_is_cut_not_refused(client_for, people):
    response = client_for("fiona").get(reverse("patients:list"), {"q": "Mario" + "x" * 5000})
    assert response.status_code == 200
    assert len(response.context["query"]) == 200


def test_a_search_with_a_nul_byte_is_not_a_server_error(client_for, people):
    response = client_for("fiona").get(reverse("patients:list"), {"q": "Rossi\x00"})
    assert response.status_code == 200
    assert "Rossi, Mario" in response.content.decode()


def test_htmx_search_returns_only_the_results_fragment(client_for, people):
    response = client_for("fiona").get(
        reverse("patients:list"), {"q": "Mario"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.templates[0].name == "patients/_results.html"
    content = response.content.decode()
    assert "<html" not in content
    assert '<nav class="pagination"' in content
    assert "Rossi, Mario" in content
    assert 'id="patient-search"' not in content


def test_a_full_page_request_has_the_layout_and_search_box(client_for, people):
    content = client_for("fiona").get(reverse("patients:list"), {"q": "Mario"}).content.decode()
    assert "<html" in content
    assert 'id="patient-search"' in content
    assert 'id="results"' in content


@pytest.fixture
def five_per_page(settings):
    settings.PATIENTS_PER_PAGE = 5
    return 5


def test_the_list_is_paginated_by_patients_per_page(client_for, world, add_patients, five_per_page):
    add_patients(10)  # 12 with the world's two
    client = client_for("fiona")
    first = client.get(reverse("patients:list"))
    assert len(first.context["page"].object_list) == 5
    assert "1–5 of 12" in first.content.decode()
    assert "page=2" in first.content.decode()
    third = client.get(reverse("patients:list"), {"page": 3})
    assert len(third.context["page"].object_list) == 2
    assert "11–12 of 12" in third.content.decode()
    assert "page=4" not in third.content.decode()
    all_ids = set()
    for number in (1, 2, 3):
        page = client.get(reverse("patients:list"), {"page": number}).context["page"]
        all_ids |= {p.pk for p in page.object_list}
    assert len(all_ids) == 12


@pytest.mark.parametrize(("asked", "shown"), [("99", 3), ("abc", 1), ("-1", 3), ("", 1)])
def test_out_of_range_or_invalid_page_numbers_fall_back(
    client_for, world, add_patients, five_per_page, asked, shown
):
    add_patients(10)
    response = client_for("fiona").get(reverse("patients:list"), {"page": asked})
    assert response.status_code == 200
    assert response.context["page"].number == shown


def test_pagination_links_keep_the_search(client_for, world, add_patients, five_per_page):
    add_patients(10)
    response = client_for("fiona").get(reverse("patients:list"), {"q": "family"})
    assert response.context["page"].paginator.count == 10
    assert "?q=family&amp;page=2" in response.content.decode()


def test_the_list_tells_caches_that_htmx_gets_a_fragment(client_for, world):
    client = client_for("fiona")
    fragment = client.get(reverse("patients:list"), {"q": "silva"}, HTTP_HX_REQUEST="true")
    assert "<header" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]
    # Going back in history asks again with HX-History-Restore-Request: it needs the page.
    restored = client.get(
        reverse("patients:list"),
        {"q": "silva"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<header" in restored.content.decode()
