"""Staff management at /staff/: who may see it, inviting, deactivating and reactivating."""

from __future__ import annotations

import socket

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from mesoclinic.accounts.models import ApiToken, Membership, Role, User
from mesoclinic.accounts.services import (
    membership_create,
    membership_deactivate,
    membership_reactivate,
)
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from tests.conftest import PASSWORD, add_staff

NEW_PASSWORD = "violet kettle under 42 bridges"


def membership_of(user: User, organisation=None) -> Membership:
    if organisation is None:
        return Membership.objects.get(user=user)
    return Membership.objects.get(user=user, organisation=organisation)


def row_counts() -> tuple[int, int, int]:
    return User.objects.count(), Membership.objects.count(), AuditEvent.objects.count()


def sign_in(email: str, password: str = PASSWORD) -> Client:
    client = Client()
    client.post(reverse("login"), {"username": email, "password": password})
    return client


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def api_status(token: str) -> int:
    return Client().get("/api/v1/patients", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


# --- who may see the staff page -----------------------------------------------------------------


def test_admin_sees_the_staff_of_her_organisation_only(client_for, world):
    response = client_for("alice").get(reverse("staff"))
    assert response.status_code == 200
    listed = {m.user.email for m in response.context["memberships"]}
    assert listed == {
        "alice@acme.test",
        "paul@acme.test",
        "fiona@acme.test",
        "audrey@acme.test",
        "dora@acme.test",
    }
    page = response.content.decode()
    assert "Paul Practitioner" in page
    assert "Oscar Other" not in page


def test_other_organisations_admin_sees_only_his_own_staff(client_for, world):
    response = client_for("oscar").get(reverse("staff"))
    assert response.status_code == 200
    assert {m.user.email for m in response.context["memberships"]} == {"oscar@other.test"}
    assert "Alice Admin" not in response.content.decode()


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey", "pat"])
def test_non_admins_get_403_on_the_staff_page(client_for, persona):
    assert client_for(persona).get(reverse("staff")).status_code == 403


def test_anonymous_is_sent_to_sign_in_from_the_staff_page(client_for):
    response = client_for("anonymous").get(reverse("staff"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('staff')}"


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey"])
def test_non_admins_cannot_invite_deactivate_or_reactivate(client_for, world, persona):
    client = client_for(persona)
    before = row_counts()
    invite = client.post(
        reverse("staff"), {"full_name": "Eve Intruder", "email": "eve@acme.test", "role": "admin"}
    )
    deactivate = client.post(reverse("staff_deactivate", args=[membership_of(world.paul).pk]))
    reactivate = client.post(reverse("staff_reactivate", args=[membership_of(world.dora).pk]))
    assert [invite.status_code, deactivate.status_code, reactivate.status_code] == [403] * 3
    assert row_counts() == before
    assert membership_of(world.paul).is_active
    assert not membership_of(world.dora).is_active


def test_other_organisations_admin_gets_404_deactivating_an_acme_member(client_for, world):
    paul_membership = membership_of(world.paul)
    response = client_for("oscar").post(reverse("staff_deactivate", args=[paul_membership.pk]))
    assert response.status_code == 404
    paul_membership.refresh_from_db()
    assert paul_membership.is_active
    assert not AuditEvent.objects.filter(action="staff.deactivate", actor=world.oscar).exists()


def test_other_organisations_admin_gets_404_reactivating_an_acme_member(client_for, world):
    dora_membership = membership_of(world.dora)
    response = client_for("oscar").post(reverse("staff_reactivate", args=[dora_membership.pk]))
    assert response.status_code == 404
    dora_membership.refresh_from_db()
    assert not dora_membership.is_active


def test_deactivate_and_reactivate_only_accept_post(client_for, world):
    client = client_for("alice")
    pk = membership_of(world.paul).pk
    assert client.get(reverse("staff_deactivate", args=[pk])).status_code == 405
    assert client.get(reverse("staff_reactivate", args=[pk])).status_code == 405
    assert membership_of(world.paul).is_active


# --- inviting -----------------------------------------------------------------------------------


def invite(client: Client, **fields: object):
    data = {"full_name": "Nora Newcomer", "email": "nora@acme.test", "role": Role.PRACTITIONER}
    data |= fields
    return client.post(reverse("staff"), data)


def test_invite_creates_the_account_and_emails_a_working_set_password_link(
    client_for, world, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(
            client_for("alice"), email="Nora.Newcomer@Acme.test", default_clinic=world.acme_river.pk
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff")

    nora = User.objects.get(email="nora.newcomer@acme.test")
    assert nora.full_name == "Nora Newcomer"
    assert not nora.has_usable_password()
    membership = membership_of(nora)
    assert membership.organisation == world.acme
    assert membership.role == Role.PRACTITIONER
    assert membership.default_clinic == world.acme_river
    assert membership.is_active

    event = AuditEvent.objects.get(action="membership.create", object_id=str(membership.pk))
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.changes["email"] == {"new": "nora.newcomer@acme.test"}
    assert event.changes["role"] == {"new": "practitioner"}

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.recipients == ["nora.newcomer@acme.test"]
    assert "Acme Hair" in mail.subject
    assert "Alice Admin" in mail.body
    assert "Practitioner" in mail.body

    # The invitee follows the link, chooses a password and signs in.
    invitee = Client()
    landing = invitee.get(mail.link_path())
    assert landing.status_code == 302
    done = invitee.post(
        landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    client = sign_in("nora.newcomer@acme.test", NEW_PASSWORD)
    assert is_signed_in(client)
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.workspace.role == Role.PRACTITIONER
    assert dashboard.wsgi_request.workspace.clinic == world.acme_river


def test_invite_shows_the_invited_person_on_the_staff_page(
    client_for, world, smtp_server, django_capture_on_commit_callbacks
):
    client = client_for("alice")
    with django_capture_on_commit_callbacks(execute=True):
        invite(client)
    page = client.get(reverse("staff")).content.decode()
    assert "Nora Newcomer" in page
    assert "Invited" in page


ACCOUNT_EXISTS = (
    "This address already has a mesoclinic account. Ask the person for another address, "
    "or ask their current clinic's admin."
)


def user_state(user: User) -> tuple[object, ...]:
    user.refresh_from_db()
    return (user.email, user.full_name, user.is_active, user.password, user.last_login)


@pytest.mark.parametrize(
    ("persona", "email", "owner"),
    [
        # Another organisation's admin cannot take over Acme's staff, patients or leavers.
        ("oscar", "alice@acme.test", "alice"),
        ("oscar", "ALICE@acme.test", "alice"),
        ("oscar", "pat@example.com", "pat"),
        ("oscar", "dora@acme.test", "dora"),
        # Nor can Acme's admin take Oscar, or turn her own patient's portal account into staff.
        ("alice", "oscar@other.test", "oscar"),
        ("alice", "pat@example.com", "pat"),
    ],
)
def test_inviting_an_address_that_already_has_an_account_is_refused_neutrally(
    client_for, world, smtp_server, django_capture_on_commit_callbacks, persona, email, owner
):
    owner_user = getattr(world, owner)
    alice_browser = client_for("alice")
    assert alice_browser.get(reverse("dashboard")).wsgi_request.workspace.organisation == world.acme
    admin = alice_browser if persona == "alice" else client_for(persona)
    before = row_counts()
    memberships_before = list(Membership.objects.order_by("pk").values())
    owner_before = user_state(owner_user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(admin, email=email, full_name="Someone Else")

    assert response.status_code == 422
    assert response.context["form"].errors["email"] == [ACCOUNT_EXISTS]
    page = response.content.decode()
    assert "This address already has a mesoclinic account." in page
    # The message shows nothing about the account: not its name, not its organisation.
    assert owner_user.full_name not in page
    assert "Acme Hair" not in page if persona == "oscar" else "Other Clinic" not in page
    # Nothing written, nothing sent.
    assert row_counts() == before
    assert list(Membership.objects.order_by("pk").values()) == memberships_before
    assert user_state(owner_user) == owner_before
    assert callbacks == []
    assert smtp_server.messages == []
    # Alice's own session still works in Acme.
    dashboard = alice_browser.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.workspace.organisation == world.acme


def test_inviting_a_former_member_says_to_reactivate_them_instead(
    client_for, world, smtp_server, django_capture_on_commit_callbacks
):
    alice = client_for("alice")
    before = row_counts()
    dora_before = user_state(world.dora)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(alice, email="Dora@acme.test", role=Role.ADMIN)
    assert response.status_code == 422
    assert response.context["form"].errors["email"] == [
        "dora@acme.test is a former member of this organisation. "
        "Reactivate them in the staff list instead of inviting them again."
    ]
    assert row_counts() == before
    assert user_state(world.dora) == dora_before
    assert not membership_of(world.dora).is_active
    assert membership_of(world.dora).role == Role.FRONTDESK
    assert callbacks == []
    assert smtp_server.messages == []


def test_membership_create_leaves_an_inactive_account_inactive(world):
    # Only membership_reactivate (by the account's own organisation) brings an account back.
    assert not world.dora.is_active
    membership_create(
        user=world.dora,
        organisation=world.other,
        role=Role.FRONTDESK,
        default_clinic=None,
        acting_user=world.oscar,
    )
    world.dora.refresh_from_db()
    assert not world.dora.is_active
    assert not is_signed_in(sign_in("dora@acme.test"))


def test_membership_create_refuses_a_patients_portal_account(world):
    before = row_counts()
    with pytest.raises(Conflict) as refused:
        membership_create(
            user=world.pat,
            organisation=world.acme,
            role=Role.FRONTDESK,
            default_clinic=None,
            acting_user=world.alice,
        )
    assert refused.value.message == ACCOUNT_EXISTS
    assert row_counts() == before


@pytest.mark.parametrize("email", ["paul@acme.test", "PAUL@ACME.TEST"])
def test_inviting_an_existing_member_shows_a_form_error_and_writes_nothing(
    client_for, world, smtp_server, django_capture_on_commit_callbacks, email
):
    alice = client_for("alice")
    before = row_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(alice, email=email, role=Role.ADMIN)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["email"] == [f"{email.lower()} is already a member of this organisation."]
    assert email.lower() in response.content.decode()
    assert row_counts() == before
    assert callbacks == []
    assert smtp_server.messages == []
    assert Membership.objects.get(user__email=email.lower()).role == Role.PRACTITIONER


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "required"),
        ({"full_name": "   "}, "full_name", "required"),
        ({"full_name": "N" * 10_000}, "full_name", "too long"),
        ({"full_name": "Nora\x00Null"}, "full_name", "Null characters"),
        ({"full_name": "Nora\x07Bell"}, "full_name", "control characters"),
        ({"email": "not-an-email"}, "email", "valid email address"),
        ({"email": "nora@@acme.test"}, "email", "valid email address"),
        ({"email": ""}, "email", "required"),
        ({"email": "x" * 300 + "@acme.test"}, "email", "too long"),
        ({"role": "superuser"}, "role", "valid choice"),
        ({"role": ""}, "role", "required"),
    ],
)
def test_invite_with_bad_input_is_refused_with_a_message_and_writes_nothing(
    client_for, world, smtp_server, django_capture_on_commit_callbacks, fields, field, message
):
    alice = client_for("alice")
    before = row_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(alice, **fields)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert row_counts() == before
    assert callbacks == []
    assert smtp_server.messages == []


def test_invite_with_another_organisations_clinic_is_refused(
    client_for, world, smtp_server, django_capture_on_commit_callbacks
):
    alice = client_for("alice")
    before = row_counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(alice, default_clinic=world.other_clinic.pk)
    assert response.status_code == 422
    assert "default_clinic" in response.context["form"].errors
    assert row_counts() == before
    assert smtp_server.messages == []


def test_an_html_looking_name_is_stored_verbatim_and_shown_escaped(
    client_for, world, smtp_server, django_capture_on_commit_callbacks
):
    name = "<script>alert('x')</script> Smith"
    client = client_for("alice")
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(client, full_name=name).status_code == 302
    assert User.objects.get(email="nora@acme.test").full_name == name
    page = client.get(reverse("staff")).content.decode()
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page


def test_an_invite_form_error_does_not_lose_what_was_typed(client_for, world):
    response = invite(client_for("alice"), full_name="Nora Newcomer", email="broken")
    assert response.status_code == 422
    assert 'value="Nora Newcomer"' in response.content.decode()


# --- deactivating -------------------------------------------------------------------------------


def test_deactivated_staff_are_signed_out_lose_tokens_and_cannot_sign_in(
    client_for, token_for, world
):
    token = token_for("paul")
    assert api_status(token) == 200
    paul_browser = sign_in("paul@acme.test")
    assert paul_browser.get(reverse("dashboard")).status_code == 200

    membership = membership_of(world.paul)
    response = client_for("alice").post(reverse("staff_deactivate", args=[membership.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff")

    membership.refresh_from_db()
    assert not membership.is_active
    assert membership.deactivated_at is not None
    world.paul.refresh_from_db()
    assert not world.paul.is_active

    # Their next request is signed out, and the one after too.
    next_request = paul_browser.get(reverse("dashboard"))
    assert next_request.status_code == 302
    assert next_request["Location"].startswith(reverse("login"))
    assert paul_browser.get(reverse("patients:list")).status_code == 302
    # Their API tokens are revoked.
    assert api_status(token) == 401
    assert not ApiToken.objects.filter(user=world.paul, revoked_at=None).exists()
    # They cannot sign in again.
    assert not is_signed_in(sign_in("paul@acme.test"))
    # Reactivating the account does not revive the old browser session.
    membership_reactivate(membership=membership, acting_user=world.alice)
    stale = paul_browser.get(reverse("dashboard"))
    assert stale.status_code == 302
    assert stale["Location"].startswith(reverse("login"))

    event = AuditEvent.objects.get(action="staff.deactivate", object_id=str(membership.pk))
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.changes == {
        "is_active": {"old": True, "new": False},
        "api_tokens_revoked": {"new": 1},
    }


def test_deactivation_message_names_the_person(client_for, world):
    client = client_for("alice")
    client.post(reverse("staff_deactivate", args=[membership_of(world.fiona).pk]))
    page = client.get(reverse("staff")).content.decode()
    assert "Fiona Frontdesk can no longer sign in here." in page


def test_deactivating_an_already_deactivated_member_changes_nothing(client_for, world):
    alice = client_for("alice")
    before = row_counts()
    response = alice.post(reverse("staff_deactivate", args=[membership_of(world.dora).pk]))
    assert response.status_code == 302
    assert row_counts() == before


def test_an_admin_cannot_deactivate_herself(client_for, world):
    client = client_for("alice")
    before = row_counts()
    response = client.post(reverse("staff_deactivate", args=[membership_of(world.alice).pk]))
    assert response.status_code == 302
    assert membership_of(world.alice).is_active
    assert row_counts() == before
    assert "You cannot deactivate your own access." in client.get(reverse("staff")).content.decode()


def test_the_last_active_admin_cannot_be_deactivated(world):
    with pytest.raises(DomainError, match="at least one active admin"):
        membership_deactivate(membership=membership_of(world.alice), acting_user=world.paul)
    assert membership_of(world.alice).is_active
    assert not AuditEvent.objects.filter(action="staff.deactivate", actor=world.paul).exists()


def test_an_admin_can_deactivate_another_admin_while_one_remains(client_for, world):
    bob = add_staff(world.acme, world.acme_city, "bob@acme.test", "Bob Boss", Role.ADMIN, None)
    bob_client = Client()
    bob_client.force_login(bob, backend="mesoclinic.accounts.backends.EmailBackend")
    response = bob_client.post(reverse("staff_deactivate", args=[membership_of(world.alice).pk]))
    assert response.status_code == 302
    assert not membership_of(world.alice).is_active
    # Now Bob is the last admin: nobody can take his access away.
    with pytest.raises(DomainError, match="at least one active admin"):
        membership_deactivate(membership=membership_of(bob), acting_user=world.paul)


def test_staff_deactivated_in_one_organisation_keep_their_other_one(client_for, world):
    membership_create(
        user=world.paul,
        organisation=world.other,
        role=Role.PRACTITIONER,
        default_clinic=world.other_clinic,
        acting_user=world.oscar,
    )
    paul_browser = sign_in("paul@acme.test")
    client_for("alice").post(
        reverse("staff_deactivate", args=[membership_of(world.paul, world.acme).pk])
    )

    world.paul.refresh_from_db()
    assert world.paul.is_active
    dashboard = paul_browser.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.workspace.organisation == world.other
    chart = paul_browser.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    assert chart.status_code == 404


def test_a_signed_in_user_left_without_any_membership_is_signed_out_with_a_message(
    world,
):
    paul_browser = sign_in("paul@acme.test")
    # Withdrawn outside the service (e.g. through the admin site): the user row stays active.
    Membership.objects.filter(user=world.paul).update(is_active=False)
    response = paul_browser.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not is_signed_in(paul_browser)
    login_page = paul_browser.get(response["Location"])
    assert "Your access has been withdrawn" in login_page.content.decode()


# --- reactivating -------------------------------------------------------------------------------


def test_reactivation_restores_access_and_is_audited(client_for, world):
    membership = membership_of(world.dora)
    assert not is_signed_in(sign_in("dora@acme.test"))

    response = client_for("alice").post(reverse("staff_reactivate", args=[membership.pk]))
    assert response.status_code == 302

    membership.refresh_from_db()
    assert membership.is_active
    assert membership.deactivated_at is None
    dora = sign_in("dora@acme.test")
    assert is_signed_in(dora)
    assert dora.get(reverse("dashboard")).status_code == 200

    event = AuditEvent.objects.get(action="staff.reactivate")
    assert event.actor == world.alice
    assert event.organisation == world.acme
    assert event.object_id == str(membership.pk)
    assert event.changes == {"is_active": {"old": False, "new": True}}


def test_reactivating_an_active_member_changes_nothing(client_for, world):
    alice = client_for("alice")
    before = row_counts()
    alice.post(reverse("staff_reactivate", args=[membership_of(world.paul).pk]))
    assert row_counts() == before
    assert not AuditEvent.objects.filter(action="staff.reactivate").exists()


def test_reactivation_does_not_bring_back_revoked_tokens(client_for, token_for, world):
    token = token_for("fiona")
    alice = client_for("alice")
    pk = membership_of(world.fiona).pk
    alice.post(reverse("staff_deactivate", args=[pk]))
    alice.post(reverse("staff_reactivate", args=[pk]))
    assert api_status(token) == 401


@pytest.mark.django_db(transaction=True)
def test_an_invitation_that_cannot_be_emailed_keeps_the_member_and_says_so(client_for, world):
    # Committed for real, so the email goes out (or fails) inside the request as in production.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    alice = client_for("alice")
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed_port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=2,
    ):
        response = invite(alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff")
    nora = User.objects.get(email="nora@acme.test")
    assert membership_of(nora).is_active
    page = alice.get(reverse("staff")).content.decode()
    assert "the invitation email could not be sent" in page
    assert "Invitation sent" not in page


def test_the_deactivate_confirmation_is_escaped_for_javascript(client_for, world, monkeypatch):
    # A translation with an apostrophe or a quote must not break out of the JS string.
    from django.utils import translation

    original = translation._trans.gettext
    question = "Deactivate this person? They are signed out at once."
    translated = 'D\'accord? "Yes" </form><script>alert(1)</script>'
    monkeypatch.setattr(
        translation._trans,
        "gettext",
        lambda message: translated if message == question else original(message),
    )
    page = client_for("alice").get(reverse("staff")).content.decode()
    handlers = [line for line in page.splitlines() if "onsubmit=" in line]
    assert handlers
    for line in handlers:
        assert "return confirm('D\\u0027accord? \\u0022Yes\\u0022 \\u003C/form\\u003E" in line
        assert "D'accord" not in line and "&#x27;" not in line
    assert "<script>alert(1)" not in page
