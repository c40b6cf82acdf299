"""The clinic switcher in the top bar (POST /workspace/clinic/)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.accounts.models import Clinic


def current_clinic(client) -> Clinic | None:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.wsgi_request.workspace.clinic


def test_staff_start_in_their_main_clinic(client_for, world):
    assert current_clinic(client_for("alice")) == world.acme_city
    assert current_clinic(client_for("fiona")) == world.acme_river


def test_the_switcher_lists_the_organisations_clinics_only(client_for, world):
    page = client_for("alice").get(reverse("dashboard")).content.decode()
    assert 'name="clinic_id"' in page
    assert "Acme Riverside" in page
    assert "Other Main" not in page


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona", "audrey"])
def test_switching_to_another_clinic_of_the_organisation_sticks(client_for, world, persona):
    client = client_for(persona)
    target = world.acme_river if persona != "fiona" else world.acme_city
    response = client.post(
        reverse("clinic_switch"), {"clinic_id": target.pk, "next": reverse("patients:list")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:list")
    assert current_clinic(client) == target
    # And on the page after that too.
    assert current_clinic(client) == target


def test_switching_shows_the_chosen_clinic_as_selected(client_for, world):
    client = client_for("alice")
    client.post(reverse("clinic_switch"), {"clinic_id": world.acme_river.pk})
    page = client.get(reverse("dashboard")).content.decode()
    assert f'<option value="{world.acme_river.pk}" selected>' in page
    assert "Appointments at Acme Riverside" in page


def test_switching_to_another_organisations_clinic_is_404(client_for, world):
    client = client_for("alice")
    response = client.post(reverse("clinic_switch"), {"clinic_id": world.other_clinic.pk})
    assert response.status_code == 404
    assert current_clinic(client) == world.acme_city


@pytest.mark.parametrize("clinic_id", ["", "abc", "999999", "-1"])
def test_switching_to_a_clinic_that_does_not_exist_is_404(client_for, world, clinic_id):
    response = client_for("alice").post(reverse("clinic_switch"), {"clinic_id": clinic_id})
    assert response.status_code == 404


def test_switching_to_an_inactive_clinic_is_404(client_for, world):
    Clinic.objects.filter(pk=world.acme_river.pk).update(is_active=False)
    response = client_for("alice").post(
        reverse("clinic_switch"), {"clinic_id": world.acme_river.pk}
    )
    assert response.status_code == 404


def test_the_switcher_does_not_redirect_off_site(client_for, world):
    response = client_for("alice").post(
        reverse("clinic_switch"),
        {"clinic_id": world.acme_river.pk, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_anonymous_switch_is_sent_to_sign_in(client_for, world):
    response = client_for("anonymous").post(
        reverse("clinic_switch"), {"clinic_id": world.acme_river.pk}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_portal_patient_cannot_switch_clinic(client_for, world):
    response = client_for("pat").post(reverse("clinic_switch"), {"clinic_id": world.acme_river.pk})
    assert response.status_code == 403


def test_switching_by_get_is_refused(client_for, world):
    response = client_for("alice").get(reverse("clinic_switch"), {"clinic_id": world.acme_river.pk})
    assert response.status_code == 405
    assert current_clinic(client_for("alice")) == world.acme_city


# --- the organisation of the session ------------------------------------------------------------


def test_sign_in_records_the_organisation_and_the_session_stays_in_it(world):
    from django.test import Client

    from mesoclinic.accounts.access import SESSION_ORGANISATION_KEY
    from mesoclinic.accounts.models import Role
    from mesoclinic.accounts.services import membership_create, organisation_create
    from tests.conftest import PASSWORD

    client = Client()
    client.post(reverse("login"), {"username": "paul@acme.test", "password": PASSWORD})
    assert client.session[SESSION_ORGANISATION_KEY] == world.acme.pk
    # Paul is given a second membership, at an organisation that sorts before Acme.
    aardvark = organisation_create(
        name="Aardvark Aesthetics", slug="aardvark", mrn_prefix="AAR", acting_user=None
    )
    membership_create(
        user=world.paul,
        organisation=aardvark,
        role=Role.PRACTITIONER,
        default_clinic=None,
        acting_user=None,
    )
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.wsgi_request.workspace.organisation == world.acme
    # A new sign-in starts in the first of his organisations, and stays there.
    fresh = Client()
    fresh.post(reverse("login"), {"username": "paul@acme.test", "password": PASSWORD})
    assert fresh.session[SESSION_ORGANISATION_KEY] == aardvark.pk
    assert fresh.get(reverse("dashboard")).wsgi_request.workspace.organisation == aardvark


def test_the_workspace_of_a_membership_ignores_another_organisations_clinic(world):
    from mesoclinic.accounts.access import workspace_for_membership
    from mesoclinic.accounts.models import Membership

    membership = Membership.objects.select_related("user", "organisation").get(user=world.fiona)
    workspace = workspace_for_membership(membership, clinic_id=world.other_clinic.pk)
    assert workspace.user == world.fiona
    assert workspace.organisation == world.acme
    assert workspace.clinic == world.acme_river  # Her main clinic, not Other's.
    assert set(workspace.clinics) == {world.acme_city, world.acme_river}
    assert workspace_for_membership(membership, clinic_id=world.acme_city.pk).clinic == (
        world.acme_city
    )
