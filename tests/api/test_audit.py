"""The audit trail of the API: one event per create, update and read of one patient."""

from __future__ import annotations

import pytest

from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import AUDITED_FIELDS
from tests.api.helpers import (
    PATIENTS,
    last_event_id,
    new_events,
    new_patient,
    patient_url,
)


def test_a_create_leaves_one_event_with_every_field(api_for, world):
    client = api_for("paul")
    since = last_event_id()
    response = client.post(PATIENTS, new_patient(preferred_clinic_id=world.acme_city.pk))
    assert response.status_code == 201
    patient = Patient.objects.get(pk=response.json()["id"])
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.create"
    assert event.actor == world.paul
    assert event.actor_email == "paul@acme.test"
    assert event.organisation == world.acme
    assert event.patient == patient
    assert event.object_id == str(patient.pk)
    assert event.source_ip == "127.0.0.1"
    assert event.via == "api"
    assert set(event.changes) == set(AUDITED_FIELDS)
    assert event.changes["given_name"] == {"new": "Jane"}
    assert event.changes["date_of_birth"] == {"new": "1990-06-01"}
    assert event.changes["mrn"] == {"new": "ACM-000003"}
    assert event.changes["preferred_clinic"] == {"new": world.acme_city.pk}
    assert event.changes["address"] == {"new": "2 Low Road\nLeeds"}


def test_a_create_without_optional_fields_records_only_what_was_given(api_for):
    client = api_for("paul")
    since = last_event_id()
    client.post(
        PATIENTS,
        {
            "given_name": "Min",
            "family_name": "Imal",
            "date_of_birth": "2000-01-01",
            "sex_at_birth": "unknown",
        },
    )
    (event,) = new_events(since)
    assert set(event.changes) == {
        "mrn",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex_at_birth",
    }


def test_an_update_leaves_one_event_with_only_the_changed_fields(api_for, world):
    client = api_for("fiona")
    since = last_event_id()
    response = client.patch(
        patient_url(world.acme_patient.pk),
        {
            "given_name": "Ana",  # unchanged
            "family_name": "Silva-Costa",
            "sex_at_birth": "intersex",
            "date_of_birth": "1985-03-15",
            "preferred_clinic_id": None,
        },
    )
    assert response.status_code == 200
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.update"
    assert event.actor == world.fiona
    assert event.patient == world.acme_patient
    assert event.organisation == world.acme
    assert event.source_ip == "127.0.0.1"
    assert event.via == "api"
    assert event.changes == {
        "family_name": {"old": "Silva", "new": "Silva-Costa"},
        "sex_at_birth": {"old": "female", "new": "intersex"},
        "date_of_birth": {"old": "1985-03-14", "new": "1985-03-15"},
        "preferred_clinic": {"old": world.acme_city.pk, "new": None},
    }


@pytest.mark.parametrize(
    "payload",
    [{}, {"given_name": "Ana"}, {"family_name": " Silva "}, {"phone": "+44  7700 900123"}],
)
def test_an_update_that_changes_nothing_leaves_no_event(api_for, world, payload):
    client = api_for("fiona")
    since = last_event_id()
    assert client.patch(patient_url(world.acme_patient.pk), payload).status_code == 200
    assert new_events(since) == []


def test_reading_one_patient_leaves_one_read_event(api_for, world):
    client = api_for("audrey")
    since = last_event_id()
    assert client.get(patient_url(world.acme_patient.pk)).status_code == 200
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.read"
    assert event.actor == world.audrey
    assert event.patient == world.acme_patient
    assert event.organisation == world.acme
    assert event.source_ip == "127.0.0.1"
    assert event.via == "api"


def test_listing_and_searching_leave_one_list_event_each_and_no_chart_read(api_for, world):
    client = api_for("audrey")
    since = last_event_id()
    client.get(PATIENTS)
    client.get(PATIENTS, {"q": "Silva", "offset": 0})
    events = new_events(since)
    assert [e.action for e in events] == ["patient.list", "patient.list"]
    searched = events[1]
    assert searched.actor == world.audrey
    assert searched.organisation == world.acme
    assert searched.patient is None
    assert searched.changes == {
        "query": {"new": "Silva"},
        "offset": {"new": 0},
        "returned": {"new": 1},
    }


def test_refused_calls_leave_no_event(api_for, world):
    oscar, audrey = api_for("oscar"), api_for("audrey")
    since = last_event_id()
    oscar.get(patient_url(world.acme_patient.pk))
    oscar.patch(patient_url(world.acme_patient.pk), {"given_name": "X"})
    audrey.post(PATIENTS, new_patient())
    audrey.patch(patient_url(world.acme_patient.pk), {"given_name": "X"})
    assert new_events(since) == []
