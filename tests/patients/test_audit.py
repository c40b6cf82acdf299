"""The audit trail of the patient pages: one event per create, update and chart read."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import AUDITED_FIELDS
from mesoclinic.patients.views import CHART_TABS
from tests.patients.helpers import form_data, last_event_id, new_events


def test_registering_leaves_one_create_event_with_every_field(client_for, world):
    client = client_for("fiona")
    since = last_event_id()
    response = client.post(reverse("patients:new"), form_data(preferred_clinic=world.acme_river.pk))
    assert response.status_code == 302
    patient = Patient.objects.get(given_name="Jane")
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.create"
    assert event.actor == world.fiona
    assert event.actor_email == "fiona@acme.test"
    assert event.organisation == world.acme
    assert event.patient == patient
    assert event.object_type == "patients.patient"
    assert event.object_id == str(patient.pk)
    assert event.source_ip == "127.0.0.1"
    assert event.via == "web"
    assert set(event.changes) == set(AUDITED_FIELDS)
    assert event.changes == {
        "mrn": {"new": "ACM-000003"},
        "given_name": {"new": "Jane"},
        "family_name": {"new": "Doe"},
        "date_of_birth": {"new": "1990-06-01"},
        "sex_at_birth": {"new": "female"},
        "email": {"new": "jane@example.com"},
        "phone": {"new": "+44 7700 900456"},
        "address": {"new": "2 Low Road\nLeeds"},
        "preferred_clinic": {"new": world.acme_river.pk},
    }


def test_a_confirmed_namesake_records_the_confirmation(client_for, world):
    client = client_for("fiona")
    since = last_event_id()
    client.post(
        reverse("patients:new"),
        form_data(
            given_name="Ana",
            family_name="Silva",
            date_of_birth="1985-03-14",
            confirm_not_duplicate="on",
        ),
    )
    (event,) = new_events(since)
    assert event.action == "patient.create"
    assert event.changes["confirmed_not_duplicate"] == {"new": True}


def test_a_refused_registration_leaves_no_event(client_for):
    client = client_for("fiona")
    since = last_event_id()
    client.post(reverse("patients:new"), form_data(given_name=""))
    client.post(
        reverse("patients:new"),
        form_data(given_name="Ana", family_name="Silva", date_of_birth="1985-03-14"),
    )
    assert new_events(since) == []


def test_an_edit_leaves_one_update_event_with_only_the_changed_fields(client_for, world):
    client = client_for("paul")
    patient = world.acme_patient
    since = last_event_id()
    response = client.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "given_name": "Ana",
            "family_name": "Silva-Costa",
            "date_of_birth": "1985-03-14",
            "sex_at_birth": "female",
            "email": "jane.doe@example.com",
            "phone": "+351 912 345 678",
            "address": "1 High Street\nLondon",
            "preferred_clinic": world.acme_river.pk,
        },
    )
    assert response.status_code == 302
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.update"
    assert event.actor == world.paul
    assert event.patient == patient
    assert event.organisation == world.acme
    assert event.source_ip == "127.0.0.1"
    assert event.via == "web"
    assert event.changes == {
        "family_name": {"old": "Silva", "new": "Silva-Costa"},
        "phone": {"old": "+44 7700 900123", "new": "+351 912 345 678"},
        "preferred_clinic": {"old": world.acme_city.pk, "new": world.acme_river.pk},
    }


def test_saving_an_unchanged_form_leaves_no_event(client_for, world):
    client = client_for("paul")
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    unchanged = client.get(url).context["form"].initial
    data = {
        **unchanged,
        "date_of_birth": unchanged["date_of_birth"].isoformat(),
        "preferred_clinic": world.acme_city.pk,
    }
    since = last_event_id()
    before = Patient.objects.filter(pk=world.acme_patient.pk).values().get()
    response = client.post(url, data)
    assert response.status_code == 302
    assert new_events(since) == []
    assert Patient.objects.filter(pk=world.acme_patient.pk).values().get() == before


def test_a_whitespace_only_difference_is_not_a_change(client_for, world):
    client = client_for("paul")
    since = last_event_id()
    client.post(
        reverse("patients:edit", args=[world.acme_patient.pk]),
        {
            "given_name": "  Ana ",
            "family_name": "Silva  ",
            "date_of_birth": "1985-03-14",
            "sex_at_birth": "female",
            "email": " jane.doe@example.com ",
            "phone": "+44  7700 900123",
            "address": "1 High Street\nLondon",
            "preferred_clinic": world.acme_city.pk,
        },
    )
    assert new_events(since) == []


@pytest.mark.parametrize("tab", [None, *(slug for slug, _ in CHART_TABS)])
def test_a_chart_read_leaves_exactly_one_read_event(client_for, world, tab):
    client = client_for("audrey")
    patient = world.acme_patient
    url = (
        reverse("patients:chart", args=[patient.pk])
        if tab is None
        else reverse("patients:chart_tab", args=[patient.pk, tab])
    )
    since = last_event_id()
    assert client.get(url).status_code == 200
    events = new_events(since)
    assert len(events) == 1
    event = events[0]
    assert event.action == "patient.read"
    assert event.actor == world.audrey
    assert event.patient == patient
    assert event.organisation == world.acme
    assert event.source_ip == "127.0.0.1"
    assert event.via == "web"
    assert event.changes == {}


def test_every_chart_read_is_recorded_separately(client_for, world):
    client = client_for("paul")
    since = last_event_id()
    for _ in range(3):
        client.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    assert [e.action for e in new_events(since)] == ["patient.read"] * 3


def test_the_source_ip_comes_from_the_request(client_for, world):
    client = client_for("paul")
    since = last_event_id()
    client.get(reverse("patients:chart", args=[world.acme_patient.pk]), REMOTE_ADDR="203.0.113.9")
    (event,) = new_events(since)
    assert event.source_ip == "203.0.113.9"


@pytest.mark.parametrize("query", [None, "Silva", "ACM-000001"])
def test_the_list_and_search_leave_no_read_event(client_for, query):
    client = client_for("paul")
    since = last_event_id()
    params = {"q": query} if query else {}
    assert client.get(reverse("patients:list"), params).status_code == 200
    assert client.get(reverse("patients:list"), params, HTTP_HX_REQUEST="true").status_code == 200
    assert new_events(since) == []


def test_opening_the_edit_form_is_not_a_chart_read(client_for, world):
    client = client_for("paul")
    since = last_event_id()
    client.get(reverse("patients:edit", args=[world.acme_patient.pk]))
    assert new_events(since) == []


def test_refused_reads_leave_no_event(client_for, world):
    url = reverse("patients:chart", args=[world.acme_patient.pk])
    clients = [client_for(name) for name in ("oscar", "pat", "dora", "anonymous")]
    since = last_event_id()
    for client in clients:
        assert client.get(url).status_code in (302, 403, 404)
    assert new_events(since) == []
