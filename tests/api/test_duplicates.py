"""A likely duplicate answers 409 with the candidates until the caller confirms."""

from __future__ import annotations

import pytest

from mesoclinic.patients.models import Patient
from tests.api.helpers import (
    PATIENTS,
    last_event_id,
    new_events,
    new_patient,
    nothing_written,
    patient_url,
    problem,
)

NAMESAKE = {"given_name": "ana", "family_name": "SILVA", "date_of_birth": "1985-03-14"}


def test_a_likely_duplicate_is_409_with_the_candidates_and_nothing_saved(api_for, world):
    client = api_for("fiona")
    with nothing_written():
        response = client.post(PATIENTS, new_patient(**NAMESAKE))
    body = problem(response, 409)
    assert body["title"] == "Conflict"
    assert "same name and date of birth" in body["detail"]
    assert body["possible_duplicates"] == [
        {
            "id": world.acme_patient.pk,
            "mrn": "ACM-000001",
            "given_name": "Ana",
            "family_name": "Silva",
            "date_of_birth": "1985-03-14",
        }
    ]


def test_confirming_not_a_duplicate_creates_the_record(api_for, world):
    client = api_for("fiona")
    problem(client.post(PATIENTS, new_patient(**NAMESAKE)), 409)
    since = last_event_id()
    response = client.post(PATIENTS, new_patient(**NAMESAKE, confirm_not_duplicate=True))
    assert response.status_code == 201
    body = response.json()
    assert body["mrn"] == "ACM-000003"
    assert (body["given_name"], body["family_name"]) == ("ana", "SILVA")
    (event,) = new_events(since)
    assert event.action == "patient.create"
    assert event.changes["confirmed_not_duplicate"] == {"new": True}


def test_every_candidate_is_listed(api_for, world):
    client = api_for("fiona")
    client.post(PATIENTS, new_patient(**NAMESAKE, confirm_not_duplicate=True))
    body = problem(client.post(PATIENTS, new_patient(**NAMESAKE)), 409)
    assert [d["mrn"] for d in body["possible_duplicates"]] == ["ACM-000001", "ACM-000003"]


@pytest.mark.parametrize(
    "changes",
    [{"date_of_birth": "1985-03-15"}, {"given_name": "Anabela"}, {"family_name": "Silvas"}],
)
def test_a_different_name_or_birth_date_is_not_a_duplicate(api_for, changes):
    response = api_for("fiona").post(PATIENTS, new_patient(**{**NAMESAKE, **changes}))
    assert response.status_code == 201


def test_accented_capitals_are_matched_too(api_for):
    client = api_for("fiona")
    first = client.post(
        PATIENTS, new_patient(given_name="Élodie", family_name="Ørsted", date_of_birth="1970-01-01")
    )
    assert first.status_code == 201
    with nothing_written():
        again = client.post(
            PATIENTS,
            new_patient(given_name="ÉLODIE", family_name="ØRSTED", date_of_birth="1970-01-01"),
        )
    assert [d["id"] for d in problem(again, 409)["possible_duplicates"]] == [first.json()["id"]]


def test_a_namesake_in_another_organisation_is_not_revealed(api_for, world):
    response = api_for("oscar").post(PATIENTS, new_patient(**NAMESAKE))
    assert response.status_code == 201
    assert b"ACM-" not in response.content
    assert Patient.objects.get(pk=response.json()["id"]).organisation == world.other


def test_an_auditor_gets_403_not_the_candidates(api_for):
    response = api_for("audrey").post(PATIENTS, new_patient(**NAMESAKE))
    body = problem(response, 403)
    assert "possible_duplicates" not in body


def test_a_change_into_a_namesake_answers_409_until_confirmed(api_for, world):
    client = api_for("paul")
    url = patient_url(world.pat_patient.pk)
    change = {"given_name": "Ana", "family_name": "Silva", "date_of_birth": "1985-03-14"}
    body = problem(client.patch(url, change), 409)
    assert [d["mrn"] for d in body["possible_duplicates"]] == [world.acme_patient.mrn]
    world.pat_patient.refresh_from_db()
    assert world.pat_patient.given_name == "Pat"
    response = client.patch(url, {**change, "confirm_not_duplicate": True})
    assert response.status_code == 200
    assert response.json()["family_name"] == "Silva"
