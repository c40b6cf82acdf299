"""The clinics page: admins add and edit clinics with their opening hours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.accounts.models import Clinic, OpeningHours
from mesoclinic.core.models import AuditEvent

VALID = {
    "name": "Acme Harbour",
    "address": "4 Quay Street\nBristol",
    "phone": "+44 117 496 0000",
    "timezone": "Europe/London",
    "hours_monday": "09:00-13:00, 14:00-19:00",
    "hours_tuesday": "09:00-19:00",
    "hours_wednesday": "",
    "hours_thursday": "closed",
    "hours_friday": "09:00-17:00",
    "hours_saturday": "10:00-14:00",
    "hours_sunday": "",
}


def writes():
    return (Clinic.objects.count(), OpeningHours.objects.count(), AuditEvent.objects.count())


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey"])
def test_only_admins_manage_clinics(client_for, world, persona):
    client = client_for(persona)
    before = writes()
    assert client.get(reverse("clinics")).status_code == 403
    assert client.get(reverse("clinic_new")).status_code == 403
    assert client.post(reverse("clinic_new"), VALID).status_code == 403
    edit = reverse("clinic_edit", args=[world.acme_city.pk])
    assert client.post(edit, VALID).status_code == 403
    assert writes() == before


def test_anonymous_is_sent_to_sign_in(client_for, world):
    response = client_for("anonymous").get(reverse("clinics"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_another_organisations_clinic_is_404(client_for, world):
    client = client_for("oscar")
    edit = reverse("clinic_edit", args=[world.acme_city.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, VALID).status_code == 404
    listing = client.get(reverse("clinics")).content.decode()
    assert "Acme City" not in listing
    assert "Other Main" in listing


def test_admin_sees_every_clinic_with_its_week(client_for, world):
    page = client_for("alice").get(reverse("clinics")).content.decode()
    assert "Acme City" in page and "Acme Riverside" in page
    assert "09:00-17:00" in page  # Acme City opens 9 to 5 on weekdays
    assert "closed" in page


def test_admin_adds_a_clinic_with_split_hours(client_for, world):
    response = client_for("alice").post(reverse("clinic_new"), VALID)
    assert response.status_code == 302
    clinic = Clinic.objects.get(organisation=world.acme, name="Acme Harbour")
    hours = [h.as_interval() for h in clinic.opening_hours.all()]
    assert hours == [
        (0, dt.time(9), dt.time(13)),
        (0, dt.time(14), dt.time(19)),
        (1, dt.time(9), dt.time(19)),
        (4, dt.time(9), dt.time(17)),
        (5, dt.time(10), dt.time(14)),
    ]
    event = AuditEvent.objects.get(action="clinic.create", object_id=str(clinic.pk))
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.changes["name"] == {"new": "Acme Harbour"}


def test_editing_a_clinic_audits_only_what_changed(client_for, world):
    client = client_for("alice")
    edit = reverse("clinic_edit", args=[world.acme_city.pk])
    form = client.get(edit)
    assert form.status_code == 200
    assert 'value="09:00-17:00"' in form.content.decode()
    data = {**VALID, "name": "Acme City", "address": "", "phone": ""}
    data.update({f"hours_{d}": "09:00-17:00" for d in ["monday", "tuesday", "wednesday"]})
    data.update({"hours_thursday": "09:00-17:00", "hours_friday": "09:00-20:00"})
    data.update({"hours_saturday": "", "hours_sunday": "", "timezone": "Europe/Dublin"})
    assert client.post(edit, data).status_code == 302
    world.acme_city.refresh_from_db()
    assert world.acme_city.timezone == "Europe/Dublin"
    event = AuditEvent.objects.get(action="clinic.update")
    assert set(event.changes) == {"timezone", "opening_hours"}
    assert event.changes["timezone"] == {"old": "Europe/London", "new": "Europe/Dublin"}
    assert "4:09:00-20:00" in event.changes["opening_hours"]["new"]


def test_saving_an_unchanged_clinic_writes_no_event(client_for, world):
    client = client_for("alice")
    edit = reverse("clinic_edit", args=[world.acme_city.pk])
    initial = client.get(edit).context["form"].initial
    assert client.post(edit, initial).status_code == 302
    assert not AuditEvent.objects.filter(action="clinic.update").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Name is required."),
        ("name", "x" * 10_000, "too long"),
        ("name", "acme riverside", "Another clinic of yours has this name."),
        ("timezone", "Mars/Olympus", "Select a valid choice"),
        ("phone", "call us", "Enter a phone number"),
        ("hours_monday", "9-5", "is not an interval"),
        ("hours_tuesday", "17:00-09:00", "closing time must be after opening time"),
        ("hours_friday", "09:00-13:00, 12:00-15:00", "overlap"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(client_for, world, field, value, message):
    client = client_for("alice")
    before = writes()
    response = client.post(reverse("clinic_new"), {**VALID, field: value})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert writes() == before


def test_the_clinics_page_uses_the_same_queries_for_two_or_twelve_clinics(client_for, world):
    client = client_for("alice")
    client.get(reverse("clinics"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("clinics"))
    for n in range(10):
        Clinic.objects.create(organisation=world.acme, name=f"Extra {n}", timezone="UTC")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("clinics"))
    assert len(many) == len(few)


def test_deactivated_staff_and_portal_patients_get_nothing(client_for, world):
    before = writes()
    dora = client_for("dora").post(reverse("clinic_new"), VALID)
    assert dora.status_code == 302
    assert dora["Location"].startswith(reverse("login"))
    assert client_for("pat").get(reverse("clinics")).status_code == 403
    assert client_for("pat").post(reverse("clinic_new"), VALID).status_code == 403
    assert writes()[:2] == before[:2]
