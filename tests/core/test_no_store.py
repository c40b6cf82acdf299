"""Patient data must not linger in caches: no-store on signed-in pages and the whole API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse


def no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def test_a_patient_chart_is_not_stored(client_for, world):
    response = client_for("fiona").get(reverse("patients:chart", args=[world.acme_patient.pk]))
    assert response.status_code == 200
    assert no_store(response)


@pytest.mark.parametrize("url", ["dashboard", "patients:list", "audit", "staff", "portal:home"])
def test_signed_in_pages_are_not_stored(client_for, world, url):
    persona = "pat" if url.startswith("portal") else "alice"
    response = client_for(persona).get(reverse(url))
    assert response.status_code == 200
    assert no_store(response)


def test_the_audit_csv_export_is_not_stored(client_for, world):
    response = client_for("audrey").get(reverse("audit_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert no_store(response)
    b"".join(response.streaming_content)


def test_an_api_answer_is_not_stored(token_for, world):
    token = token_for("alice")
    listing = Client().get("/api/v1/patients", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listing.status_code == 200
    assert no_store(listing)
    one = Client().get(
        f"/api/v1/patients/{world.acme_patient.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert one.status_code == 200
    assert no_store(one)


def test_api_errors_are_not_stored_either(world):
    assert no_store(Client().get("/api/v1/patients"))
    assert no_store(Client().get("/api/v1/openapi.json"))


def test_the_response_that_signs_someone_in_is_not_stored(world):
    from tests.conftest import PASSWORD

    response = Client().post(reverse("login"), {"username": "paul@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert no_store(response)


def test_htmx_keeps_no_history_snapshot_of_pages(client_for, world):
    page = client_for("fiona").get(reverse("patients:list")).content.decode()
    assert (
        '<meta name="htmx-config" content=\'{"historyCacheSize":0,"refreshOnHistoryMiss":true}\'>'
        in page
    )
