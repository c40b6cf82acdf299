"""`mesoclinic token create|list|revoke`."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from mesoclinic.accounts.models import ApiToken, Role
from mesoclinic.accounts.services import membership_create
from mesoclinic.core.models import AuditEvent


def token(*args: str) -> str:
    out = StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue().strip()


def api_get(secret: str, path: str = "/api/v1/patients"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_token_create_prints_a_token_that_works_on_the_api(world):
    secret = token("create", "--email", "paul@acme.test")
    assert secret.startswith("mc_")
    assert len(secret.splitlines()) == 1
    response = api_get(secret)
    assert response.status_code == 200
    # It is tied to Paul's organisation: Acme's patients, not Other Clinic's.
    body = response.content.decode()
    assert "Silva" in body
    assert "Outsider" not in body


def test_token_create_accepts_the_email_in_any_case(world):
    assert api_get(token("create", "--email", "PAUL@Acme.Test")).status_code == 200


def test_only_the_hash_of_the_token_is_stored(world):
    secret = token("create", "--email", "fiona@acme.test", "--name", "lab import")
    stored = ApiToken.objects.get(user=world.fiona)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.token_hash
    assert stored.prefix == secret[:10]
    assert stored.name == "lab import"
    assert not ApiToken.objects.filter(token_hash=secret).exists()
    for event in AuditEvent.objects.filter(action="api_token.create"):
        assert secret not in str(event.changes)


def test_token_create_is_audited(world):
    secret = token("create", "--email", "fiona@acme.test")
    event = AuditEvent.objects.get(action="api_token.create")
    assert event.organisation == world.acme
    assert event.via == "cli"
    assert event.changes["user"] == {"new": "fiona@acme.test"}
    assert event.changes["prefix"] == {"new": secret[:10]}


def test_token_revoke_makes_it_401(world):
    secret = token("create", "--email", "paul@acme.test")
    assert api_get(secret).status_code == 200
    output = token("revoke", secret[:10])
    assert output == f"Revoked {secret[:10]}."
    response = api_get(secret)
    assert response.status_code == 401
    assert ApiToken.objects.get(prefix=secret[:10]).revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_revoking_one_token_leaves_the_others_working(world):
    first = token("create", "--email", "paul@acme.test")
    second = token("create", "--email", "paul@acme.test")
    token("revoke", first[:10])
    assert api_get(first).status_code == 401
    assert api_get(second).status_code == 200


def test_token_revoke_with_an_unknown_prefix_fails(world):
    with pytest.raises(CommandError, match="No single token has that prefix"):
        token("revoke", "mc_nothing")


def test_token_list_shows_prefixes_and_state_but_never_the_token(world):
    first = token("create", "--email", "paul@acme.test")
    second = token("create", "--email", "paul@acme.test")
    token("revoke", first[:10])
    listing = token("list", "--email", "paul@acme.test")
    lines = listing.splitlines()
    assert len(lines) == 2
    assert any(line.startswith(first[:10]) and "revoked" in line for line in lines)
    assert any(line.startswith(second[:10]) and "active" in line for line in lines)
    assert first not in listing
    assert second not in listing


def test_token_create_for_an_unknown_email_fails(world):
    with pytest.raises(CommandError, match=r"No user with email ghost@acme\.test"):
        token("create", "--email", "ghost@acme.test")
    assert not ApiToken.objects.exists()


def test_token_create_for_a_deactivated_user_fails(world):
    with pytest.raises(CommandError, match="deactivated"):
        token("create", "--email", "dora@acme.test")
    assert not ApiToken.objects.filter(user=world.dora).exists()


def test_token_create_for_a_portal_patient_fails(world):
    with pytest.raises(CommandError, match="no active membership"):
        token("create", "--email", "pat@example.com")
    assert not ApiToken.objects.exists()


def test_token_create_for_a_member_of_two_organisations_needs_the_organisation(world):
    membership_create(
        user=world.paul,
        organisation=world.other,
        role=Role.PRACTITIONER,
        default_clinic=None,
        acting_user=world.oscar,
    )
    with pytest.raises(CommandError, match="pass --organisation"):
        token("create", "--email", "paul@acme.test")
    secret = token("create", "--email", "paul@acme.test", "--organisation", "other")
    assert ApiToken.objects.get(prefix=secret[:10]).organisation == world.other
    body = api_get(secret).content.decode()
    assert "Outsider" in body
    assert "Silva" not in body


def test_token_create_with_an_organisation_the_user_is_not_in_fails(world):
    with pytest.raises(CommandError, match="no active membership"):
        token("create", "--email", "paul@acme.test", "--organisation", "other")


def test_token_of_an_auditor_can_read_but_not_write(world):
    secret = token("create", "--email", "audrey@acme.test")
    assert api_get(secret).status_code == 200
    response = Client().post(
        "/api/v1/patients",
        data={
            "given_name": "New",
            "family_name": "Person",
            "date_of_birth": "1990-01-01",
            "sex_at_birth": "female",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="patient.create", actor=world.audrey).exists()
