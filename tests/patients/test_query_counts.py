"""Pages run the same number of SQL queries however many patients the organisation has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def queries_for(client, url, **extra):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    ("url_name", "params", "extra"),
    [
        ("patients:list", {}, {}),
        ("patients:list", {"q": "family"}, {}),
        ("patients:list", {"q": "family", "page": "2"}, {}),
        ("patients:list", {"q": "+34 600"}, {"HTTP_HX_REQUEST": "true"}),
    ],
    ids=["list", "search", "search-page-2", "htmx-phone-search"],
)
def test_the_patient_list_costs_the_same_with_10_and_200_patients(
    client_for, world, add_patients, url_name, params, extra
):
    client = client_for("fiona")
    url = reverse(url_name) + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    )
    add_patients(10)
    client.get(url, **extra)  # warm up: session, first-request work
    with_10 = queries_for(client, url, **extra)
    add_patients(190)
    with_200 = queries_for(client, url, **extra)
    assert with_10 == with_200
    assert with_10 > 0


@pytest.mark.parametrize("tab", [None, "sessions"])
def test_the_chart_costs_the_same_with_10_and_200_patients(client_for, world, add_patients, tab):
    client = client_for("paul")
    patient = add_patients(10)[0]
    url = (
        reverse("patients:chart", args=[patient.pk])
        if tab is None
        else reverse("patients:chart_tab", args=[patient.pk, tab])
    )
    client.get(url)
    with_10 = queries_for(client, url)
    add_patients(190)
    with_200 = queries_for(client, url)
    assert with_10 == with_200
    assert with_10 > 0


def test_the_list_shows_each_patients_clinic_without_a_query_per_row(
    client_for, world, add_patients, settings
):
    settings.PATIENTS_PER_PAGE = 50
    client = client_for("fiona")
    add_patients(3)
    client.get(reverse("patients:list"))
    few = queries_for(client, reverse("patients:list"))
    add_patients(40)
    response = client.get(reverse("patients:list"))
    assert "Acme Riverside" in response.content.decode()
    assert queries_for(client, reverse("patients:list")) == few
