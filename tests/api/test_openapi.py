"""The OpenAPI document describes the patient endpoints and bearer authentication."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def schema(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_the_document_is_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "mesoclinic API"


def test_the_patient_paths_and_methods_are_listed(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/patients"]) >= {"get", "post"}
    assert set(paths["/api/v1/patients/{patient_id}"]) >= {"get", "patch"}
    assert "delete" not in paths["/api/v1/patients/{patient_id}"]


def test_bearer_authentication_is_declared_and_required(schema):
    schemes = schema["components"]["securitySchemes"]
    bearer = [
        s for s in schemes.values() if s.get("type") == "http" and s.get("scheme") == "bearer"
    ]
    assert len(bearer) == 1
    name = next(k for k, v in schemes.items() if v is bearer[0])
    for path in ("/api/v1/patients", "/api/v1/patients/{patient_id}"):
        for operation in schema["paths"][path].values():
            assert {name: []} in operation["security"]


def test_list_parameters_and_the_201_response_are_described(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/patients"]["get"]["parameters"]}
    assert params == {"q", "limit", "offset"}
    assert "201" in schema["paths"]["/api/v1/patients"]["post"]["responses"]


def test_the_catch_all_path_is_not_in_the_document(schema):
    routers = (
        "/api/v1/patients",
        "/api/v1/screenings",
        "/api/v1/consents",
        "/api/v1/protocols",
        "/api/v1/courses",
        "/api/v1/appointments",
        "/api/v1/sessions",
        "/api/v1/products",
        "/api/v1/lots",
        "/api/v1/adverse-events",
        "/api/v1/measurements",
        "/api/v1/photos",
        "/api/v1/outcomes",
    )
    assert all(path.startswith(routers) for path in schema["paths"])
    assert not any("*" in path or "^" in path for path in schema["paths"])


def test_the_interactive_docs_page_is_served(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
