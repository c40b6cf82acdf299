"""Every API error is application/problem+json, routing errors and crashes included."""

from __future__ import annotations

import pytest
from django.test import Client

from mesoclinic.api.problems import field_errors
from mesoclinic.api.problems import problem as make_problem
from tests.api.helpers import PATIENTS, nothing_written, patient_url, problem


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "one"),
        ("put", "one"),
        ("delete", "list"),
        ("patch", "list"),
        ("put", "list"),
    ],
)
def test_a_method_a_path_does_not_allow_is_405_problem(api_for, world, method, path):
    client = api_for("alice")
    url = patient_url(world.acme_patient.pk) if path == "one" else PATIENTS
    with nothing_written():
        response = getattr(client, method)(url)
    body = problem(response, 405)
    assert body["title"] == "Method not allowed"
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert allowed == ({"GET", "PATCH"} if path == "one" else {"GET", "POST"})


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/patients/abc",
        "/api/v1/patients/1/extra",
        "/api/v1/patients/-1",
    ],
)
def test_an_unknown_api_path_is_404_problem(api_for, path):
    problem(api_for("alice").get(path), 404)


def test_an_unknown_api_path_is_404_problem_even_for_a_post_without_csrf(db):
    response = Client(enforce_csrf_checks=True).post("/api/v1/nope", {"a": 1})
    problem(response, 404)


def test_an_unexpected_error_is_a_500_problem_without_details(api_for, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("mesoclinic.patients.api.patient_search", explode)
    response = api_for("alice").get(PATIENTS)
    body = problem(response, 500)
    assert b"secret internals" not in response.content
    assert body["detail"] == "The error has been logged."


def test_problem_bodies_carry_extra_members():
    response = make_problem(status=409, title="Conflict", errors=[], possible_duplicates=[1])
    assert response["Content-Type"] == "application/problem+json"
    assert response.status_code == 409
    assert b'"possible_duplicates": [1]' in response.content
    assert b'"errors"' not in response.content


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "loc": ("body", "payload", "given_name"),
                "msg": "Value error, Given name is required.",
                "type": "value_error",
            },
            {"field": "given_name", "message": "Given name is required."},
        ),
        (
            {"loc": ("body", "payload", "family_name"), "msg": "Field required", "type": "missing"},
            {"field": "family_name", "message": "This field is required."},
        ),
        (
            {
                "loc": ("body", "payload", "mrn"),
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            },
            {"field": "mrn", "message": "Unknown field."},
        ),
        (
            {
                "loc": ("query", "limit"),
                "msg": "Input should be greater than or equal to 1",
                "type": "greater_than_equal",
            },
            {"field": "limit", "message": "Input should be greater than or equal to 1"},
        ),
        ({"loc": ("body",), "type": "model_type"}, {"field": "body", "message": "Invalid value"}),
        (
            {"loc": ("body", "payload", "items", 0, "name"), "msg": "bad", "type": "x"},
            {"field": "items.0.name", "message": "bad"},
        ),
    ],
)
def test_field_errors_name_the_field_and_keep_the_message_readable(error, expected):
    assert field_errors([error]) == [expected]
