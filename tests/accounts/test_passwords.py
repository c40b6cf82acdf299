"""Changing a password, and resetting a forgotten one by email through a real SMTP server."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.forms import InviteAwarePasswordResetForm
from mesoclinic.accounts.models import Role, User
from mesoclinic.accounts.services import membership_create
from mesoclinic.accounts.views import PasswordResetView
from mesoclinic.core.models import AuditEvent
from tests.conftest import PASSWORD

NEW_PASSWORD = "violet kettle under 42 bridges"


def can_sign_in(email: str, password: str) -> bool:
    client = Client()
    client.post(reverse("login"), {"username": email, "password": password})
    return "_auth_user_id" in client.session


# --- password change ----------------------------------------------------------------------------


def change_password(client: Client, old: str, new1: str, new2: str | None = None):
    return client.post(
        reverse("password_change"),
        {
            "old_password": old,
            "new_password1": new1,
            "new_password2": new1 if new2 is None else new2,
        },
    )


def test_password_change_takes_effect_and_is_audited(client_for, world):
    client = client_for("alice")
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    event = AuditEvent.objects.get(action="auth.password_change")
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.object_id == str(world.alice.pk)
    assert NEW_PASSWORD not in str(event.changes)
    assert can_sign_in("alice@acme.test", NEW_PASSWORD)
    assert not can_sign_in("alice@acme.test", PASSWORD)


def test_a_portal_patients_password_change_is_on_their_clinics_audit_trail(client_for, world):
    response = change_password(client_for("pat"), PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.password_change")
    assert event.actor == world.pat
    assert event.organisation == world.acme
    assert event.patient == world.pat_patient


def test_password_change_keeps_the_current_session_signed_in(client_for, world):
    client = client_for("alice")
    change_password(client, PASSWORD, NEW_PASSWORD)
    assert client.get(reverse("dashboard")).status_code == 200


def test_password_change_signs_out_the_users_other_sessions(client_for, world):
    other_browser = Client()
    other_browser.post(reverse("login"), {"username": "alice@acme.test", "password": PASSWORD})
    assert other_browser.get(reverse("dashboard")).status_code == 200
    change_password(client_for("alice"), PASSWORD, NEW_PASSWORD)
    response = other_browser.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_password_change_with_the_wrong_current_password_changes_nothing(client_for, world):
    client = client_for("paul")
    response = change_password(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action="auth.password_change").exists()
    assert can_sign_in("paul@acme.test", PASSWORD)


def test_password_change_refuses_a_weak_or_mismatched_password(client_for, world):
    client = client_for("paul")
    for new1, new2 in [("short", "short"), ("12345678901", "12345678901"), (NEW_PASSWORD, "x")]:
        response = change_password(client, PASSWORD, new1, new2)
        assert response.status_code == 200
        assert "new_password2" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action="auth.password_change").exists()
    world.paul.refresh_from_db()
    assert world.paul.check_password(PASSWORD)


def test_password_change_page_needs_a_signed_in_user(world):
    response = Client().get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- password reset by email --------------------------------------------------------------------


def request_reset(client: Client, email: str):
    return client.post(reverse("password_reset"), {"email": email})


def test_password_reset_by_email_lets_the_user_choose_a_new_password(smtp_server, world):
    client = Client()
    response = request_reset(client, "Paul@ACME.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.recipients == ["paul@acme.test"]
    assert mail.sender == "no-reply@localhost"
    assert "paul@acme.test" in mail.body

    link = mail.link_path()
    landing = client.get(link)
    assert landing.status_code == 302  # Django swaps the token into the session first.
    form_page = client.get(landing["Location"])
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True

    done = client.post(
        landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    assert can_sign_in("paul@acme.test", NEW_PASSWORD)
    assert not can_sign_in("paul@acme.test", PASSWORD)
    event = AuditEvent.objects.get(action="auth.password_reset")
    assert event.actor == world.paul
    assert event.organisation == world.acme


def test_a_password_reset_signs_out_existing_sessions(smtp_server, world):
    stolen_session = Client()
    stolen_session.post(reverse("login"), {"username": "paul@acme.test", "password": PASSWORD})
    assert stolen_session.get(reverse("dashboard")).status_code == 200
    client = Client()
    request_reset(client, "paul@acme.test")
    landing = client.get(smtp_server.messages[0].link_path())
    client.post(landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert stolen_session.get(reverse("dashboard")).status_code == 302


def test_a_reset_link_works_only_once(smtp_server, world):
    client = Client()
    request_reset(client, "paul@acme.test")
    link = smtp_server.messages[0].link_path()
    landing = client.get(link)
    client.post(landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(link, follow=True)
    assert again.status_code == 200
    assert again.context["validlink"] is False
    assert "This link cannot be used" in again.content.decode()


def test_a_tampered_reset_link_is_refused(smtp_server, world):
    client = Client()
    request_reset(client, "paul@acme.test")
    link = smtp_server.messages[0].link_path()
    tampered = link[:-3] + ("a" if link[-2] != "a" else "b") + "/"
    response = client.get(tampered, follow=True)
    assert response.context["validlink"] is False
    world.paul.refresh_from_db()
    assert world.paul.check_password(PASSWORD)


def test_reset_for_an_unknown_email_sends_nothing_but_looks_the_same(smtp_server, world):
    known = request_reset(Client(), "paul@acme.test")
    unknown = request_reset(Client(), "stranger@acme.test")
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert [m.recipients for m in smtp_server.messages] == [["paul@acme.test"]]


def test_reset_for_a_deactivated_user_sends_nothing(smtp_server, world):
    response = request_reset(Client(), "dora@acme.test")
    assert response.status_code == 302
    assert smtp_server.messages == []


def test_reset_with_a_malformed_email_shows_a_form_error(smtp_server, world):
    response = request_reset(Client(), "not-an-email")
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert smtp_server.messages == []


def test_reset_form_refuses_mismatched_passwords(smtp_server, world):
    client = Client()
    request_reset(client, "paul@acme.test")
    landing = client.get(smtp_server.messages[0].link_path())
    response = client.post(
        landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": "different"}
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    assert User.objects.get(pk=world.paul.pk).check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_reset").exists()


# --- invited staff who never chose a password ----------------------------------------------------


@pytest.fixture
def invited(world) -> User:
    user = User.objects.create_user(email="nora@acme.test", password=None, full_name="Nora N")
    membership_create(
        user=user,
        organisation=world.acme,
        role=Role.FRONTDESK,
        default_clinic=world.acme_city,
        acting_user=world.alice,
    )
    return user


def test_reset_form_finds_invited_staff_who_never_chose_a_password(invited, world):
    form = InviteAwarePasswordResetForm(data={"email": "NORA@acme.test"})
    assert form.is_valid()
    assert list(form.get_users("NORA@acme.test")) == [invited]
    assert list(form.get_users("dora@acme.test")) == []  # Deactivated: still nothing.
    assert list(form.get_users("paul@acme.test")) == [world.paul]


def test_reset_view_sends_invited_staff_a_working_link(invited, smtp_server, rf):
    request = rf.post(reverse("password_reset"), {"email": "nora@acme.test"})
    request._dont_enforce_csrf_checks = True
    response = PasswordResetView.as_view()(request)
    assert response.status_code == 302
    assert [m.recipients for m in smtp_server.messages] == [["nora@acme.test"]]

    client = Client()
    landing = client.get(smtp_server.messages[0].link_path())
    client.post(landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert can_sign_in("nora@acme.test", NEW_PASSWORD)


def test_invited_staff_whose_link_expired_can_ask_for_a_new_one(invited, smtp_server):
    response = request_reset(Client(), "nora@acme.test")
    assert response.status_code == 302
    assert [m.recipients for m in smtp_server.messages] == [["nora@acme.test"]]
