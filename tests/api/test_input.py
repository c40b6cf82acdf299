"""Bad input to the API: 400/422 problem+json naming each field, and nothing written."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import (
    PATIENTS,
    field_messages,
    future_date,
    new_patient,
    nothing_written,
    patient_url,
    problem,
    years_ago,
)

LONG_AGO = years_ago(200).isoformat()

BAD_FIELDS = [
    # (field, value, part of the message for that field); value None = leave the field out
    ("given_name", "", "Given name is required."),
    ("given_name", "   ", "Given name is required."),
    ("family_name", "\t\n", "Family name is required."),
    ("given_name", "x" * 10_000, "Given name is too long: 10000 characters, at most 100."),
    ("family_name", "y" * 10_001, "at most 10000 characters"),
    ("given_name", "Ana\x00", "Given name contains control characters."),
    ("given_name", "\ud800", "Input should be a valid string"),
    ("given_name", "Ana\ufffd", "could not be read"),
    ("given_name", 123, "Input should be a valid string"),
    ("family_name", None, "This field is required."),
    ("given_name", None, "This field is required."),
    ("date_of_birth", None, "This field is required."),
    ("sex_at_birth", None, "This field is required."),
    ("given_name", ["Ana"], "Input should be a valid string"),
    ("date_of_birth", future_date(), "Date of birth cannot be in the future."),
    ("date_of_birth", LONG_AGO, "Date of birth is more than 130 years ago; check the year."),
    ("date_of_birth", "yesterday", "Input should be a valid date"),
    ("date_of_birth", "1990-02-30", "Input should be a valid date"),
    ("date_of_birth", "14/03/1985", "Input should be a valid date"),
    ("date_of_birth", 19850314, "Enter the date of birth as text, YYYY-MM-DD."),
    ("date_of_birth", 0, "Enter the date of birth as text, YYYY-MM-DD."),
    ("date_of_birth", 479606400, "Enter the date of birth as text, YYYY-MM-DD."),
    ("sex_at_birth", "robot", "Input should be 'female', 'male', 'intersex' or 'unknown'"),
    ("sex_at_birth", "", "Input should be 'female', 'male', 'intersex' or 'unknown'"),
    ("email", "not-an-email", "Enter a valid email address"),
    ("email", "ana@", "Enter a valid email address"),
    ("email", 5, "Input should be a valid string"),
    ("phone", "call me", "Enter a phone number of 6 to 15 digits"),
    ("phone", "12345", "Enter a phone number of 6 to 15 digits"),
    ("phone", "07700 900abc", "Enter a phone number of 6 to 15 digits"),
    ("phone", 7700900123, "Input should be a valid string"),
    ("address", "x" * 501, "Address is too long: at most 500 characters."),
    ("preferred_clinic_id", "x", "Input should be a valid integer"),
    ("preferred_clinic_id", 1.5, "Input should be a valid integer"),
    ("preferred_clinic_id", 999_999, "No clinic with this id in your organisation."),
    ("confirm_not_duplicate", "maybe", "Input should be a valid boolean"),
    ("mrn", "ACM-999999", "Unknown field."),
    ("organisation_id", 2, "Unknown field."),
    ("id", 1, "Unknown field."),
]


def _case_id(case):
    field, value, _ = case
    return f"{field}={'missing' if value is None else repr(value)[:16]}"


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_FIELDS, ids=[_case_id(c) for c in BAD_FIELDS]
)
def test_registration_refuses_bad_fields_naming_each_one(api_for, field, value, message):
    client = api_for("fiona")
    payload = new_patient(**{field: value})
    if value is None:
        payload.pop(field, None)
    with nothing_written():
        response = client.post(PATIENTS, payload)
    body = problem(response, 422)
    assert any(message in m for m in field_messages(body, field)), body


PATCH_BAD_FIELDS = [case for case in BAD_FIELDS if case[1] is not None] + [
    ("given_name", None, "Given name is required."),
    ("date_of_birth", None, "Date of birth cannot be removed."),
    ("sex_at_birth", None, "Sex at birth cannot be removed; use 'unknown'."),
    ("mrn", "ACM-999999", "Unknown field."),
]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    PATCH_BAD_FIELDS,
    ids=[_case_id(c).replace("missing", "null") for c in PATCH_BAD_FIELDS],
)
def test_a_change_refuses_bad_fields_and_leaves_the_record_alone(
    api_for, world, field, value, message
):
    client = api_for("paul")
    with nothing_written():
        response = client.patch(patient_url(world.acme_patient.pk), {field: value})
    body = problem(response, 422)
    assert any(message in m for m in field_messages(body, field)), body


def test_every_bad_field_is_listed_at_once(api_for):
    client = api_for("fiona")
    with nothing_written():
        response = client.post(
            PATIENTS,
            {
                "given_name": "",
                "date_of_birth": "yesterday",
                "sex_at_birth": "robot",
                "email": "x",
                "shoe_size": 44,
            },
        )
    body = problem(response, 422)
    fields = {item["field"] for item in body["errors"]}
    assert fields == {
        "given_name",
        "family_name",
        "date_of_birth",
        "sex_at_birth",
        "email",
        "shoe_size",
    }
    assert body["title"] == "Invalid input"


NON_UTF8 = (
    b'{"given_name": "\xff\xfe", "family_name": "Doe", '
    b'"date_of_birth": "1990-06-01", "sex_at_birth": "female"}'
)
LATIN1 = (
    '{"given_name": "Jos\u00e9", "family_name": "Doe", "date_of_birth": "1990-06-01", '
    '"sex_at_birth": "male"}'.encode("latin-1")
)

BAD_BODIES = [
    (NON_UTF8, 400),
    (LATIN1, 400),
    (b"given_name=Jane&family_name=Doe", 400),
    (b"{not json", 400),
    (b'{"given_name": "Jane",', 400),
    (b"", 422),
    (b"null", 422),
    (b"[]", 422),
    (b'"Jane Doe"', 422),
    (b"42", 422),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES, ids=[repr(b)[:24] for b, _ in BAD_BODIES])
def test_registration_refuses_a_body_that_is_not_a_json_object(api_for, body, status):
    client = api_for("fiona")
    with nothing_written():
        response = client.post(PATIENTS, body=body)
    problem_body = problem(response, status)
    assert field_messages(problem_body, "body")
    if status == 400:
        assert problem_body["title"] == "Unreadable request body"
        assert "UTF-8" in problem_body["detail"]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES, ids=[repr(b)[:24] for b, _ in BAD_BODIES])
def test_a_change_refuses_a_body_that_is_not_a_json_object(api_for, world, body, status):
    client = api_for("paul")
    with nothing_written():
        response = client.patch(patient_url(world.acme_patient.pk), body=body)
    problem(response, status)


def test_a_form_encoded_body_is_refused(api_for):
    client = api_for("fiona")
    with nothing_written():
        response = client.post(
            PATIENTS,
            body="given_name=Jane&family_name=Doe&date_of_birth=1990-06-01&sex_at_birth=female",
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code in (400, 422)
    problem(response, response.status_code)


def test_json_escapes_for_non_ascii_are_accepted(api_for):
    body = json.dumps(new_patient(given_name="José", family_name="Nuñez"), ensure_ascii=True)
    response = api_for("fiona").post(PATIENTS, body=body)
    assert response.status_code == 201
    assert response.json()["given_name"] == "José"


def test_utf8_names_are_accepted(api_for):
    body = json.dumps(new_patient(given_name="Zoë", family_name="Ødegård"), ensure_ascii=False)
    response = api_for("fiona").post(PATIENTS, body=body.encode("utf-8"))
    assert response.status_code == 201
    assert response.json()["family_name"] == "Ødegård"


def test_names_are_trimmed_and_single_spaced(api_for):
    response = api_for("fiona").post(
        PATIENTS, new_patient(given_name="  Ana   Maria ", family_name=" Costa ")
    )
    assert (response.json()["given_name"], response.json()["family_name"]) == (
        "Ana Maria",
        "Costa",
    )


SQL_NAME = "Robert'); DROP TABLE patients_patient;--"
HTML_NAME = "<script>alert(1)</script>"


def test_sql_and_html_looking_names_are_stored_and_returned_verbatim(api_for, client_for):
    client = api_for("fiona")
    response = client.post(PATIENTS, new_patient(given_name=SQL_NAME, family_name=HTML_NAME))
    assert response.status_code == 201
    created = response.json()
    assert created["given_name"] == SQL_NAME
    assert created["family_name"] == HTML_NAME
    read = client.get(patient_url(created["id"])).json()
    assert (read["given_name"], read["family_name"]) == (SQL_NAME, HTML_NAME)
    listed = client.get(PATIENTS, {"q": "Robert"}).json()
    assert [item["family_name"] for item in listed["items"]] == [HTML_NAME]
    # ... and the pages show them escaped.
    page = client_for("paul").get(f"/patients/{created['id']}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HTML_NAME not in page
    assert "Robert&#x27;); DROP TABLE patients_patient;--" in page


def test_an_empty_change_changes_nothing(api_for, world):
    client = api_for("paul")
    with nothing_written():
        response = client.patch(patient_url(world.acme_patient.pk), {})
    assert response.status_code == 200
    assert response.json()["family_name"] == "Silva"


def test_a_change_can_clear_optional_fields_with_null(api_for, world):
    response = api_for("paul").patch(
        patient_url(world.acme_patient.pk),
        {"email": None, "phone": None, "address": None, "preferred_clinic_id": None},
    )
    assert response.status_code == 200
    world.acme_patient.refresh_from_db()
    assert (world.acme_patient.email, world.acme_patient.phone) == ("", "")
    assert world.acme_patient.address == ""
    assert world.acme_patient.preferred_clinic is None


def test_a_change_to_another_organisations_clinic_is_refused(api_for, world):
    client = api_for("paul")
    with nothing_written():
        response = client.patch(
            patient_url(world.acme_patient.pk), {"preferred_clinic_id": world.other_clinic.pk}
        )
    body = problem(response, 422)
    assert field_messages(body, "preferred_clinic_id") == [
        "No clinic with this id in your organisation."
    ]


def test_an_inactive_clinic_cannot_be_chosen(api_for, world):
    world.acme_river.is_active = False
    world.acme_river.save()
    client = api_for("fiona")
    with nothing_written():
        response = client.post(PATIENTS, new_patient(preferred_clinic_id=world.acme_river.pk))
    problem(response, 422)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(api_for, params, field):
    body = problem(api_for("paul").get(PATIENTS, params), 422)
    assert field_messages(body, field)
