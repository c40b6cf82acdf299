"""Who may call which patient endpoint: every role and another organisation."""

from __future__ import annotations

import pytest

from mesoclinic.patients.models import Patient
from tests.api.helpers import PATIENTS, new_patient, nothing_written, patient_url, problem
from tests.conftest import STAFF, WRITERS

PATIENT_KEYS = {
    "id",
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "email",
    "phone",
    "address",
    "preferred_clinic_id",
    "created_at",
    "updated_at",
}


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_their_organisations_patients(api_for, world, persona):
    response = api_for(persona).get(PATIENTS)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["count"] == 2
    assert {item["mrn"] for item in body["items"]} == {"ACM-000001", "ACM-000002"}
    assert set(body["items"][0]) == PATIENT_KEYS


def test_another_organisation_never_lists_acme_patients(api_for, world):
    client = api_for("oscar")
    for query in ["", "Silva", "ACM-000001", "jane.doe@example.com", "7700 900123"]:
        body = client.get(PATIENTS, {"q": query}).json()
        assert all(item["mrn"].startswith("OTH-") for item in body["items"]), query
        assert world.acme_patient.pk not in {item["id"] for item in body["items"]}


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_one_patient(api_for, world, persona):
    response = api_for(persona).get(patient_url(world.acme_patient.pk))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PATIENT_KEYS
    assert body["id"] == world.acme_patient.pk
    assert body["mrn"] == "ACM-000001"
    assert body["given_name"] == "Ana"
    assert body["family_name"] == "Silva"
    assert body["date_of_birth"] == "1985-03-14"
    assert body["preferred_clinic_id"] == world.acme_city.pk


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_register_a_patient(api_for, world, persona):
    response = api_for(persona).post(PATIENTS, new_patient(preferred_clinic_id=world.acme_river.pk))
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert patient.organisation == world.acme
    assert patient.created_by == world.persona(persona)
    assert body["mrn"] == patient.mrn == "ACM-000003"
    assert body["given_name"] == "Jane"
    assert body["address"] == "2 Low Road\nLeeds"
    assert body["preferred_clinic_id"] == world.acme_river.pk


def test_a_registration_needs_only_names_birth_date_and_sex(api_for, world):
    response = api_for("fiona").post(
        PATIENTS,
        {
            "given_name": "Min",
            "family_name": "Imal",
            "date_of_birth": "2000-01-01",
            "sex_at_birth": "unknown",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["phone"], body["address"]) == ("", "", "")
    assert body["preferred_clinic_id"] is None


def test_another_organisations_admin_registers_into_his_own(api_for, world):
    response = api_for("oscar").post(PATIENTS, new_patient())
    assert response.status_code == 201
    assert response.json()["mrn"] == "OTH-000002"
    assert Patient.objects.get(pk=response.json()["id"]).organisation == world.other


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_change_a_patient(api_for, world, persona):
    response = api_for(persona).patch(
        patient_url(world.acme_patient.pk), {"family_name": "Silva-Costa", "phone": ""}
    )
    assert response.status_code == 200
    assert response.json()["family_name"] == "Silva-Costa"
    assert response.json()["given_name"] == "Ana"
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.family_name == "Silva-Costa"
    assert world.acme_patient.phone == ""
    assert "7700" not in world.acme_patient.search_document
    assert world.acme_patient.preferred_clinic == world.acme_city


def test_auditor_cannot_register(api_for):
    client = api_for("audrey")
    with nothing_written():
        response = client.post(PATIENTS, new_patient())
    body = problem(response, 403)
    assert body["title"] == "Forbidden"
    assert "read-only" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"given_name": "Changed"}, 403),
        ({}, 403),
        # The body is checked before the role: still refused, and nothing is revealed.
        ({"nonsense": 1}, 422),
    ],
    ids=["change", "empty", "bad"],
)
def test_auditor_cannot_change_a_patient(api_for, world, payload, status):
    client = api_for("audrey")
    with nothing_written():
        response = client.patch(patient_url(world.acme_patient.pk), payload)
    problem(response, status)
    assert b"Silva" not in response.content


def test_auditor_patching_a_missing_patient_is_still_403(api_for):
    client = api_for("audrey")
    problem(client.patch(patient_url(999_999), {"given_name": "X"}), 403)


def test_another_organisation_gets_404_for_acme_ids(api_for, world):
    client = api_for("oscar")
    for patient in (world.acme_patient, world.pat_patient):
        with nothing_written():
            body = problem(client.get(patient_url(patient.pk)), 404)
            assert body["title"] == "Not found"
            problem(client.patch(patient_url(patient.pk), {"given_name": "Hacked"}), 404)
            problem(client.patch(patient_url(patient.pk), {}), 404)


def test_a_missing_patient_is_the_same_404_as_another_organisations(api_for, world):
    client = api_for("oscar")
    missing = client.get(patient_url(999_999))
    foreign = client.get(patient_url(world.acme_patient.pk))
    assert missing.content == foreign.content


@pytest.mark.parametrize(
    "path", ["/api/v1/patients/99999999999999999999999999", "/api/v1/patients/0"]
)
def test_ids_out_of_range_are_404(api_for, path):
    problem(api_for("alice").get(path), 404)
    problem(api_for("alice").patch(path, {"given_name": "X"}), 404)


def test_another_organisations_clinic_cannot_be_chosen_by_id(api_for, world):
    client = api_for("oscar")
    with nothing_written():
        response = client.post(PATIENTS, new_patient(preferred_clinic_id=world.acme_city.pk))
    body = problem(response, 422)
    assert body["errors"] == [
        {"field": "preferred_clinic_id", "message": "No clinic with this id in your organisation."}
    ]
