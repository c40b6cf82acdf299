"""The dashboard, the home redirect, and the patient portal, for every persona."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.core.models import AuditEvent
from tests.conftest import STAFF


@pytest.mark.parametrize("persona", [*STAFF, "oscar"])
def test_each_staff_role_sees_the_dashboard(client_for, world, persona):
    response = client_for(persona).get(reverse("dashboard"))
    assert response.status_code == 200
    user = world.persona(persona)
    page = response.content.decode()
    assert user.full_name in page
    assert response.wsgi_request.workspace.user == user


def test_dashboard_lists_recent_patients_of_the_organisation_only(client_for, world):
    page = client_for("fiona").get(reverse("dashboard")).content.decode()
    assert "Ana Silva" in page
    assert "Otto Outsider" not in page
    other_page = client_for("oscar").get(reverse("dashboard")).content.decode()
    assert "Otto Outsider" in other_page
    assert "Ana Silva" not in other_page


def test_dashboard_navigation_follows_the_role(client_for, world):
    admin = client_for("alice").get(reverse("dashboard")).content.decode()
    auditor = client_for("audrey").get(reverse("dashboard")).content.decode()
    frontdesk = client_for("fiona").get(reverse("dashboard")).content.decode()
    assert reverse("staff") in admin
    assert reverse("audit") in admin
    assert reverse("audit") in auditor
    assert reverse("staff") not in auditor
    assert reverse("audit") not in frontdesk
    assert reverse("staff") not in frontdesk
    # Only writers get the "register a patient" button.
    assert reverse("patients:new") in frontdesk
    assert reverse("patients:new") not in auditor


def test_anonymous_is_sent_to_sign_in_from_the_dashboard(client_for, world):
    response = client_for("anonymous").get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('dashboard')}"


def test_deactivated_user_gets_nothing(client_for, world):
    client = client_for("dora")
    for url in [reverse("dashboard"), reverse("patients:list"), reverse("portal:home")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "url", ["dashboard", "staff", "audit", "audit_export", "patients:list", "patients:new"]
)
def test_portal_patient_gets_403_on_staff_pages(client_for, world, url):
    assert client_for("pat").get(reverse(url)).status_code == 403


def test_portal_patient_cannot_open_a_chart(client_for, world):
    for patient in [world.pat_patient, world.acme_patient]:
        response = client_for("pat").get(reverse("patients:chart", args=[patient.pk]))
        assert response.status_code in {403, 404}
    assert not AuditEvent.objects.filter(action="patient.read", actor=world.pat).exists()


def test_portal_shows_the_patient_their_own_record_and_audits_the_read(client_for, world):
    response = client_for("pat").get(reverse("portal:home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Pat Portal" in page
    assert world.pat_patient.mrn in page
    assert "Ana Silva" not in page
    assert world.acme_patient.mrn not in page
    event = AuditEvent.objects.get(action="patient.read")
    assert event.actor == world.pat
    assert event.patient == world.pat_patient
    assert event.organisation == world.acme
    assert event.via == "web"


def test_each_portal_visit_is_one_read_event(client_for, world):
    client = client_for("pat")
    client.get(reverse("portal:home"))
    client.get(reverse("portal:home"))
    assert AuditEvent.objects.filter(action="patient.read", patient=world.pat_patient).count() == 2


@pytest.mark.parametrize("persona", [*STAFF, "oscar"])
def test_staff_without_a_patient_record_get_404_on_the_portal(client_for, world, persona):
    assert client_for(persona).get(reverse("portal:home")).status_code == 404
    assert not AuditEvent.objects.filter(action="patient.read").exists()


def test_anonymous_is_sent_to_sign_in_from_the_portal(client_for, world):
    response = client_for("anonymous").get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "destination"),
    [
        ("anonymous", "login"),
        ("alice", "dashboard"),
        ("audrey", "dashboard"),
        ("pat", "portal:home"),
    ],
)
def test_home_sends_each_person_to_their_start_page(client_for, world, persona, destination):
    response = client_for(persona).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(destination)


def test_home_sends_a_superuser_without_a_membership_to_the_admin_site(world):
    root = User.objects.create_superuser(email="root@example.test", password=None, full_name="Root")
    client = Client()
    client.force_login(root, backend="mesoclinic.accounts.backends.EmailBackend")
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


def test_today_is_the_day_in_the_clinics_time_zone(client_for, world, monkeypatch):
    # 22:30 UTC on 1 July: 23:30 the same day in London, already 2 July in Madrid.
    instant = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)
    alice, oscar = client_for("alice"), client_for("oscar")
    monkeypatch.setattr(timezone, "now", lambda: instant)
    assert alice.get(reverse("dashboard")).context["today"] == dt.date(2026, 7, 1)
    madrid = oscar.get(reverse("dashboard"))
    assert madrid.context["today"] == dt.date(2026, 7, 2)
    assert "Thursday 2 July 2026" in madrid.content.decode()
