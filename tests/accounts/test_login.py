"""Signing in and out through the real login page, the lockout, and the idle log-out."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from tests.conftest import PASSWORD

BAD_LOGIN = "That email and password do not match an active account."


def sign_in(client: Client, email: str, password: str = PASSWORD, **extra: str):
    return client.post(reverse("login"), {"username": email, "password": password, **extra})


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


# --- signing in ---------------------------------------------------------------------------------


def test_login_page_shows_an_email_and_password_form(world):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'type="email"' in response.content
    assert b'name="password"' in response.content


@pytest.mark.parametrize(
    "email", ["alice@acme.test", "ALICE@ACME.TEST", "Alice@Acme.Test", "  alice@acme.test  "]
)
def test_staff_signs_in_by_email_case_insensitively(world, email):
    client = Client()
    response = sign_in(client, email)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user_id(client) == str(world.alice.pk)
    assert client.get(reverse("dashboard")).status_code == 200


def test_login_follows_a_local_next_url(world):
    client = Client()
    response = sign_in(client, "alice@acme.test", next=reverse("audit"))
    assert response.status_code == 302
    assert response["Location"] == reverse("audit")


def test_login_ignores_a_next_url_on_another_site(world):
    client = Client()
    response = sign_in(client, "alice@acme.test", next="https://evil.example/phish")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_signed_in_user_visiting_the_login_page_is_sent_on(client_for):
    response = client_for("paul").get(reverse("login"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    "next_url", ["/login/", "/login/?next=/login/", "/login/?x=1", "http://testserver/login/"]
)
def test_signed_in_user_sent_back_to_the_login_page_goes_home_instead(client_for, next_url):
    # Django raises "Redirection loop for authenticated user detected" (a 500) here.
    response = client_for("paul").get(reverse("login"), {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_signed_in_user_still_follows_another_next_url(client_for):
    response = client_for("paul").get(reverse("login"), {"next": reverse("patients:list")})
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:list")


def test_wrong_password_shows_a_clear_message_and_does_not_sign_in(world):
    client = Client()
    response = sign_in(client, "alice@acme.test", "not the password")
    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert signed_in_user_id(client) is None


def test_unknown_email_gets_the_same_message_as_a_wrong_password(world):
    client = Client()
    response = sign_in(client, "nobody@acme.test")
    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert signed_in_user_id(client) is None


def test_deactivated_user_cannot_sign_in(world):
    client = Client()
    response = sign_in(client, "dora@acme.test")
    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert signed_in_user_id(client) is None
    assert client.get(reverse("dashboard")).status_code == 302


def test_empty_login_form_shows_field_errors(world):
    response = Client().post(reverse("login"), {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"username", "password"}


# --- audit of sign-ins --------------------------------------------------------------------------


def test_sign_in_leaves_an_auth_login_event(world):
    sign_in(Client(), "alice@acme.test")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.source_ip == "127.0.0.1"
    assert event.via == "web"


def test_failed_sign_in_leaves_an_auth_login_failed_event_without_the_password(world):
    sign_in(Client(), "Alice@acme.test", "hunter2-wrong")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.organisation == world.acme
    assert event.object_id == str(world.alice.pk)
    assert event.changes == {"email": {"new": "Alice@acme.test"}}
    assert "hunter2" not in str(event.changes)
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_failed_sign_in_for_an_unknown_email_is_recorded_without_an_organisation(world):
    sign_in(Client(), "ghost@nowhere.test", "whatever-it-is")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.organisation is None
    assert event.object_id == ""
    assert event.changes == {"email": {"new": "ghost@nowhere.test"}}


@pytest.mark.parametrize(
    "typed",
    [
        "correct horse battery staple",
        "hunter2-Secret!",
        "p@ss",
        "my@pass word",
        "@",
        "secret@",
        "<script>@x",
    ],
)
def test_a_failed_sign_in_with_something_that_is_not_an_email_does_not_record_it(world, typed):
    # People type their password into the email field; it must not reach the audit trail.
    client = Client()
    response = sign_in(client, typed, "whatever-it-is")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.changes == {"email": {"new": "(not an email address)"}}
    assert event.organisation is None
    assert event.object_id == ""
    assert typed not in str(event.changes)


# --- signing out --------------------------------------------------------------------------------


def test_sign_out_by_post_ends_the_session_and_is_audited(world):
    client = Client()
    sign_in(client, "fiona@acme.test")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("dashboard")).status_code == 302
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor == world.fiona
    assert event.organisation == world.acme


def test_sign_out_by_get_is_refused_and_keeps_the_session(world):
    client = Client()
    sign_in(client, "fiona@acme.test")
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in_user_id(client) == str(world.fiona.pk)
    assert not AuditEvent.objects.filter(action="auth.logout").exists()


# --- lockout after repeated failures (django-axes) ----------------------------------------------


def fail_until_locked(client: Client, email: str) -> list[int]:
    return [
        sign_in(client, email, f"wrong-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)
    ]


def test_account_is_locked_after_the_failure_limit_even_with_the_right_password(world):
    client = Client()
    statuses = fail_until_locked(client, "alice@acme.test")
    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    response = sign_in(client, "alice@acme.test")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert AccessAttempt.objects.filter(username="alice@acme.test").exists()


def test_lockout_holds_from_another_browser(world):
    fail_until_locked(Client(), "alice@acme.test")
    other_browser = Client(REMOTE_ADDR="192.0.2.10")
    assert sign_in(other_browser, "alice@acme.test").status_code == 429
    assert signed_in_user_id(other_browser) is None


def test_lockout_is_per_account_so_colleagues_behind_the_same_address_can_sign_in(world):
    client = Client()
    fail_until_locked(client, "alice@acme.test")
    colleague = Client()
    response = sign_in(colleague, "paul@acme.test")
    assert response.status_code == 302
    assert signed_in_user_id(colleague) == str(world.paul.pk)


def test_a_successful_sign_in_resets_the_failure_count(world):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "paul@acme.test", f"wrong-{n}")
    assert sign_in(client, "paul@acme.test").status_code == 302
    client.post(reverse("logout"))
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "paul@acme.test", f"again-{n}").status_code == 200
    assert sign_in(client, "paul@acme.test").status_code == 302


def test_lockout_cannot_be_dodged_by_changing_the_case_of_the_email(world):
    client = Client()
    fail_until_locked(client, "alice@acme.test")
    fail_until_locked(client, "ALICE@acme.test")
    response = sign_in(client, "Alice@Acme.Test")
    assert response.status_code == 429


# --- automatic log-out after inactivity ---------------------------------------------------------


def test_idle_timeout_is_the_session_age_and_every_request_renews_it():
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_session_cookie_is_http_only_and_same_site(world):
    response = sign_in(Client(), "alice@acme.test")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_each_request_pushes_the_idle_deadline_forward(world):
    client = Client()
    sign_in(client, "paul@acme.test")
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + dt.timedelta(minutes=1)
    )
    assert client.get(reverse("dashboard")).status_code == 200
    deadline = Session.objects.get(session_key=key).expire_date
    expected = timezone.now() + dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    assert abs((deadline - expected).total_seconds()) < 30


def test_a_session_idle_past_the_limit_is_signed_out(world):
    client = Client()
    sign_in(client, "paul@acme.test")
    assert client.get(reverse("dashboard")).status_code == 200
    # Time travel: the last request was longer ago than the idle limit.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert signed_in_user_id(client) is None


def test_a_session_just_inside_the_limit_is_still_signed_in(world):
    client = Client()
    sign_in(client, "paul@acme.test")
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=20)
    )
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize(
    ("credentials", "posted", "expected"),
    [
        ({"username": "  Alice@Acme.TEST "}, {}, "alice@acme.test"),
        (None, {"username": "PAUL@acme.test"}, "paul@acme.test"),
        (None, {}, None),
    ],
)
def test_lockout_username_is_the_normalised_email(rf, credentials, posted, expected):
    from mesoclinic.accounts.backends import lockout_username

    assert lockout_username(rf.post("/login/", posted), credentials) == expected


@override_settings(AXES_USERNAME_CALLABLE="mesoclinic.accounts.backends.lockout_username")
def test_with_lockout_username_wired_up_case_changes_do_not_dodge_the_lockout(world):
    client = Client()
    for n, email in enumerate(["alice@acme.test", "ALICE@acme.test", "Alice@Acme.test"] * 2):
        if n >= settings.AXES_FAILURE_LIMIT:
            break
        sign_in(client, email, f"wrong-{n}")
    response = sign_in(client, "aLiCe@acme.TEST")
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_a_portal_patients_sign_ins_show_on_their_clinics_audit_trail(world):
    client = Client()
    sign_in(client, "pat@example.com")
    client.post(reverse("logout"))
    sign_in(Client(), "pat@example.com", "wrong password")
    events = AuditEvent.objects.filter(actor_email__in=["pat@example.com", ""]).filter(
        action__in=["auth.login", "auth.logout", "auth.login_failed"]
    )
    assert sorted(e.action for e in events) == ["auth.login", "auth.login_failed", "auth.logout"]
    for event in events:
        assert event.organisation == world.acme
        assert event.patient == world.pat_patient


def test_a_deactivated_users_attempts_show_on_their_former_clinics_audit_trail(world):
    sign_in(Client(), "dora@acme.test")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.organisation == world.acme
    assert event.object_id == str(world.dora.pk)
