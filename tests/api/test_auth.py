"""Bearer tokens: anything but a live token of an active member is 401 problem+json."""

from __future__ import annotations

import pytest

from mesoclinic.accounts.models import ApiToken, Membership, User
from mesoclinic.accounts.services import api_token_create, api_token_revoke, membership_deactivate
from tests.api.helpers import (
    PATIENTS,
    ApiClient,
    new_patient,
    nothing_written,
    patient_url,
    problem,
)


def endpoints(world):
    pk = world.acme_patient.pk
    return [
        ("get", PATIENTS, None),
        ("post", PATIENTS, new_patient()),
        ("get", patient_url(pk), None),
        ("patch", patient_url(pk), {"given_name": "Hacked"}),
    ]


def assert_refused_everywhere(client: ApiClient, world) -> None:
    for method, path, payload in endpoints(world):
        with nothing_written():
            send = getattr(client, method)
            response = send(path, payload) if payload is not None else send(path)
        body = problem(response, 401)
        assert body["title"] == "Not authenticated"
        assert "Bearer" in body["detail"]
        assert response["WWW-Authenticate"] == 'Bearer realm="mesoclinic"'
        assert b"Silva" not in response.content


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer mc_not-a-real-token",
        "Bearer " + "x" * 201,
        "Basic YWxpY2VAYWNtZS50ZXN0OnBhc3N3b3Jk",
        "Token mc_whatever",
        "bearer\x00mc_nul",
    ],
    ids=[
        "none",
        "empty",
        "scheme-only",
        "scheme-space",
        "unknown",
        "too-long",
        "basic",
        "token-scheme",
        "nul",
    ],
)
def test_missing_or_bad_credentials_are_401(world, header):
    client = ApiClient(header=header) if header is not None else ApiClient()
    assert_refused_everywhere(client, world)


def test_a_revoked_token_is_401(world, token_for):
    secret = token_for("paul")
    client = ApiClient(secret)
    assert client.get(PATIENTS).status_code == 200
    api_token_revoke(token=ApiToken.objects.get(user=world.paul), acting_user=world.alice)
    assert_refused_everywhere(client, world)


def test_a_deactivated_users_token_is_401(world, token_for):
    client = ApiClient(token_for("fiona"))
    assert client.get(PATIENTS).status_code == 200
    membership_deactivate(
        membership=Membership.objects.get(user=world.fiona), acting_user=world.alice
    )
    assert_refused_everywhere(client, world)


def test_a_token_of_a_user_deactivated_behind_the_services_back_is_401(world, token_for):
    client = ApiClient(token_for("paul"))
    User.objects.filter(pk=world.paul.pk).update(is_active=False)
    assert ApiToken.objects.get(user=world.paul).revoked_at is None
    assert_refused_everywhere(client, world)


def test_a_token_whose_membership_ended_is_401(world, token_for):
    client = ApiClient(token_for("paul"))
    Membership.objects.filter(user=world.paul).update(is_active=False)
    assert_refused_everywhere(client, world)


def test_the_deactivated_personas_token_is_401(world, token_for):
    assert_refused_everywhere(ApiClient(token_for("dora")), world)


def test_a_session_cookie_is_not_an_api_credential(world, client_for):
    client = client_for("alice")
    response = client.get(PATIENTS)
    problem(response, 401)


def test_the_token_is_tied_to_the_organisation_it_was_made_for(world):
    _, secret = api_token_create(user=world.oscar, organisation=world.other, acting_user=None)
    body = ApiClient(secret).get(PATIENTS).json()
    assert {item["mrn"][:3] for item in body["items"]} == {"OTH"}


def test_using_a_token_records_when_it_was_last_used(world, token_for):
    client = ApiClient(token_for("paul"))
    token = ApiToken.objects.get(user=world.paul)
    assert token.last_used_at is None
    client.get(PATIENTS)
    token.refresh_from_db()
    assert token.last_used_at is not None
