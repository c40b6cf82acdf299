"""/api/v1/protocols: every staff role reads the templates and their history; only admins
write a new version, copy a protocol or stop offering it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.models import ApiToken
from mesoclinic.accounts.services import api_token_revoke
from mesoclinic.core.models import AuditEvent
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.protocols.services import ProtocolContent, protocol_create
from mesoclinic.scheduling.models import Course
from mesoclinic.scheduling.services import course_create
from tests.api.helpers import ApiClient, field_messages, nothing_written, problem
from tests.conftest import STAFF

PROTOCOLS = "/api/v1/protocols"
PROTOCOL_KEYS = {
    "id",
    "code",
    "offered",
    "name",
    "area",
    "kind",
    "current_version",
    "updated_at",
}


def url(protocol: Protocol | int, suffix: str = "") -> str:
    pk = protocol if isinstance(protocol, int) else protocol.pk
    return f"{PROTOCOLS}/{pk}{suffix}"


def hair(world) -> Protocol:
    return Protocol.objects.get(organisation=world.acme, code="hair-mesotherapy")


def version_body(protocol: Protocol, **changes: Any) -> dict[str, Any]:
    """A valid POST .../versions body: the current content with ``changes`` and a note.
    ``None`` values leave the key out."""
    assert protocol.current_version is not None
    body: dict[str, Any] = {
        name: getattr(protocol.current_version, name)
        for name in ProtocolContent.__dataclass_fields__
    }
    body["change_note"] = "Sessions three weeks apart at most, as the clinic does."
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


@contextmanager
def no_version_written() -> Iterator[None]:
    before = (
        ProtocolVersion.objects.count(),
        Protocol.objects.count(),
        list(Protocol.objects.order_by("pk").values()),
    )
    with nothing_written():
        yield
    after = (
        ProtocolVersion.objects.count(),
        Protocol.objects.count(),
        list(Protocol.objects.order_by("pk").values()),
    )
    assert after == before, "a protocol or version was written"


# --- Reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_every_protocol_offered_or_not(api_for, world, persona):
    Protocol.objects.filter(organisation=world.acme, code="prp-hair").update(is_active=False)
    response = api_for(persona).get(PROTOCOLS)
    assert response.status_code == 200
    items = response.json()
    codes = {item["code"] for item in items}
    assert {"hair-mesotherapy", "prp-hair", "face-mesotherapy"} <= codes
    assert set(items[0]) == PROTOCOL_KEYS
    by_code = {item["code"]: item for item in items}
    assert by_code["prp-hair"]["offered"] is False
    assert by_code["hair-mesotherapy"]["offered"] is True
    assert by_code["hair-mesotherapy"]["current_version"] == 1
    assert by_code["hair-mesotherapy"]["area"] == "scalp"
    assert len(items) == Protocol.objects.filter(organisation=world.acme).count()


def test_the_list_filters_by_treatment_area(api_for, world):
    items = api_for("fiona").get(PROTOCOLS, {"area": "face"}).json()
    assert [item["code"] for item in items] == ["face-mesotherapy"]
    assert api_for("fiona").get(PROTOCOLS, {"area": "scalp"}).json()
    assert all(
        item["area"] == "scalp"
        for item in api_for("fiona").get(PROTOCOLS, {"area": "scalp"}).json()
    )


def test_an_unknown_area_is_refused_with_the_choices(api_for, world):
    body = problem(api_for("fiona").get(PROTOCOLS, {"area": "moon"}), 422)
    [message] = field_messages(body, "area")
    assert "'moon'" in message and "scalp" in message and "face" in message


def test_another_organisation_lists_only_its_own_protocols(api_for, world):
    items = api_for("oscar").get(PROTOCOLS).json()
    mine = set(Protocol.objects.filter(organisation=world.other).values_list("pk", flat=True))
    assert {item["id"] for item in items} == mine
    assert hair(world).pk not in mine


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_a_protocol_with_its_current_version_and_history(api_for, world, persona):
    protocol = hair(world)
    body = api_for(persona).get(url(protocol)).json()
    assert body["id"] == protocol.pk
    assert body["code"] == "hair-mesotherapy"
    assert body["copied_from"] is None
    current = body["current"]
    assert current["number"] == 1
    assert current["induction_sessions_min"] == 6
    assert current["induction_sessions_max"] == 8
    assert current["maintenance_interval_target_days"] == 90
    assert current["consent_codes"] == ["hair_mesotherapy"]
    assert current["formulations"][0]["name"] == "Multivitamin cocktail"
    assert {i["code"] for i in current["formulations"][0]["ingredients"]} >= {"vitamin_c"}
    assert "induction" in current["sources"]
    assert [v["number"] for v in body["versions"]] == [1]
    version = api_for(persona).get(url(protocol, "/versions/1")).json()
    assert version == current


def test_one_version_is_read_by_its_number(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    client.post(url(protocol, "/versions"), version_body(protocol, induction_sessions_max=7))
    first = client.get(url(protocol, "/versions/1")).json()
    second = client.get(url(protocol, "/versions/2")).json()
    assert (first["number"], first["induction_sessions_max"]) == (1, 8)
    assert (second["number"], second["induction_sessions_max"]) == (2, 7)
    assert second["created_by"] == "alice@acme.test"
    problem(client.get(url(protocol, "/versions/3")), 404)


# --- Access --------------------------------------------------------------------------------


def _reads(protocol: Protocol) -> list[str]:
    return [url(protocol), url(protocol, "/versions/1")]


def _writes(protocol: Protocol) -> list[tuple[str, dict[str, Any]]]:
    return [
        (url(protocol, "/versions"), version_body(protocol, induction_sessions_max=7)),
        (url(protocol, "/copy"), {"code": "hair-short", "name": "Hair, short course"}),
        (url(protocol, "/offered"), {"offered": False}),
    ]


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey"])
def test_only_admins_change_protocols(api_for, world, persona):
    protocol = hair(world)
    client = api_for(persona)
    with no_version_written():
        for path, payload in _writes(protocol):
            body = problem(client.post(path, payload), 403)
            assert body["detail"] == "Only admins change protocols."


def test_another_organisation_gets_404_for_every_protocol_endpoint(api_for, world):
    protocol = hair(world)
    client = api_for("oscar")
    with no_version_written():
        for path in _reads(protocol):
            problem(client.get(path), 404)
        for path, payload in _writes(protocol):
            problem(client.post(path, payload), 404)


@pytest.mark.parametrize("token", ["absent", "revoked", "garbage"])
def test_without_a_valid_token_every_protocol_endpoint_is_401(api_for, token_for, world, token):
    protocol = hair(world)
    if token == "absent":
        client = api_for("anonymous")
    elif token == "garbage":
        client = ApiClient("mc_not-a-token")
    else:
        client = ApiClient(token_for("alice"))
        api_token_revoke(token=ApiToken.objects.get(user=world.alice), acting_user=world.alice)
    paths = [(PROTOCOLS, None), *[(p, None) for p in _reads(protocol)], *_writes(protocol)]
    with no_version_written():
        for path, payload in paths:
            response = client.get(path) if payload is None else client.post(path, payload)
            problem(response, 401)


# --- A new version -------------------------------------------------------------------------


def test_an_admin_writes_a_new_version_that_becomes_current(api_for, world):
    protocol = hair(world)
    response = api_for("alice").post(
        url(protocol, "/versions"),
        version_body(
            protocol,
            induction_sessions_min=4,
            induction_interval_max_days=28,
            formulations=[
                {
                    "name": "House cocktail",
                    "source": "The clinic's supplier sheet",
                    "ingredients": [
                        {"code": "dutasteride", "concentration": "0.01", "unit": "percent"},
                        {"code": "biotin", "concentration": 2.5, "unit": "mg_per_ml"},
                        {"code": "hyaluronic_acid"},
                    ],
                }
            ],
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 2
    assert body["protocol_id"] == protocol.pk
    assert body["induction_sessions_min"] == 4
    assert body["change_note"] == "Sessions three weeks apart at most, as the clinic does."
    assert body["formulations"][0]["ingredients"] == [
        {"code": "dutasteride", "concentration": "0.01", "unit": "percent"},
        {"code": "biotin", "concentration": "2.5", "unit": "mg_per_ml"},
        {"code": "hyaluronic_acid", "concentration": None, "unit": ""},
    ]
    protocol.refresh_from_db()
    assert protocol.current_version is not None
    assert protocol.current_version.number == 2
    assert protocol.current_version.created_by == world.alice
    detail = api_for("audrey").get(url(protocol)).json()
    assert detail["current_version"] == 2
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert event.actor == world.alice
    assert "induction_sessions_min" in event.changes


def test_a_running_course_keeps_the_version_it_was_planned_from(
    api_for, world, calendar, ready_patient
):
    protocol = hair(world)
    course = course_create(
        patient=ready_patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=dt.date(2026, 12, 7),
        acting_user=world.paul,
        book=False,
    ).course
    response = api_for("alice").post(
        url(protocol, "/versions"), version_body(protocol, induction_sessions_max=7)
    )
    assert response.status_code == 201
    assert Course.objects.get(pk=course.pk).protocol_version.number == 1


def test_the_same_content_again_is_refused_as_nothing_changed(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    with no_version_written():
        body = problem(client.post(url(protocol, "/versions"), version_body(protocol)), 409)
    assert "Nothing changed" in body["detail"]


BAD_CONTENT = [
    pytest.param(
        {"induction_sessions_min": 0, "induction_sessions_max": 0},
        {
            "induction_sessions_min": "Give the fewest induction sessions from 1 to 52.",
            "induction_sessions_max": "Give the most induction sessions from 1 to 52.",
        },
        id="zero-sessions",
    ),
    pytest.param(
        {"induction_sessions_min": 8, "induction_sessions_max": 6},
        {"induction_sessions_max": "The most induction sessions must be at least the fewest (8)."},
        id="sessions-max-below-min",
    ),
    pytest.param(
        {"induction_interval_min_days": 21, "induction_interval_target_days": 14},
        {"induction_interval_target_days": "The usual interval must be at least the shortest (21"},
        id="empty-interval-range",
    ),
    pytest.param(
        {"induction_interval_target_days": 21, "induction_interval_max_days": 15},
        {"induction_interval_max_days": "The longest interval must be at least the usual (21"},
        id="interval-max-below-target",
    ),
    pytest.param(
        {"induction_interval_min_days": 0},
        {"induction_interval_min_days": "Give the shortest interval in days from 1 to 365."},
        id="zero-interval",
    ),
    pytest.param(
        {
            "maintenance_sessions": 2,
            "maintenance_interval_min_days": None,
            "maintenance_interval_target_days": None,
            "maintenance_interval_max_days": None,
        },
        {
            "maintenance_interval_min_days": "Required when maintenance sessions are planned.",
            "maintenance_interval_target_days": "Required when maintenance sessions are planned.",
            "maintenance_interval_max_days": "Required when maintenance sessions are planned.",
        },
        id="maintenance-without-intervals",
    ),
    pytest.param(
        {"maintenance_sessions": 0},
        {
            "maintenance_interval_min_days": (
                "Leave this empty (null) when no maintenance sessions are planned."
            )
        },
        id="intervals-without-maintenance",
    ),
    pytest.param(
        {"maintenance_interval_min_days": 100, "maintenance_interval_target_days": 90},
        {"maintenance_interval_target_days": "The usual interval must be at least the shortest"},
        id="empty-maintenance-range",
    ),
    pytest.param(
        {"session_duration_minutes": 0},
        {"session_duration_minutes": "Give the session length in minutes from 5 to 480."},
        id="zero-minutes",
    ),
    pytest.param(
        {"area": "elbow"},
        {"area": "Unknown area 'elbow'; use scalp, face, submental, body."},
        id="unknown-area",
    ),
    pytest.param(
        {"kind": "botox"},
        {"kind": "Unknown treatment kind 'botox'; use mesotherapy, prp, combined."},
        id="unknown-kind",
    ),
    pytest.param(
        {"formulations": [{"name": "Mix", "ingredients": [{"code": "unobtainium"}]}]},
        {"formulations.0.ingredients.0.code": "Unknown ingredient 'unobtainium'"},
        id="unknown-ingredient",
    ),
    pytest.param(
        {
            "formulations": [
                {
                    "name": "Mix",
                    "ingredients": [{"code": "biotin", "concentration": 1, "unit": "gallons"}],
                }
            ]
        },
        {"formulations.0.ingredients.0.unit": "Unknown unit 'gallons'; use percent, mg_per_ml"},
        id="unknown-unit",
    ),
    pytest.param(
        {
            "formulations": [
                {"name": "Mix", "ingredients": [{"code": "biotin", "concentration": 1}]}
            ]
        },
        {"formulations.0.ingredients.0.unit": "Give the unit of the concentration."},
        id="concentration-without-unit",
    ),
    pytest.param(
        {
            "formulations": [
                {
                    "name": "Mix",
                    "ingredients": [{"code": "biotin", "concentration": -1, "unit": "ml"}],
                }
            ]
        },
        {"formulations.0.ingredients.0.concentration": "Give a concentration above 0"},
        id="negative-concentration",
    ),
    pytest.param(
        {"review_after_days": [0]},
        {"review_after_days": "Give each review day from 1 to 730."},
        id="review-day-zero",
    ),
    pytest.param(
        {"change_note": "  "}, {"change_note": "Say what changed in this version."}, id="no-note"
    ),
    pytest.param({"name": ""}, {"name": "Name the protocol."}, id="no-name"),
    pytest.param(
        {"induction_sessions_min": "6"},
        {"induction_sessions_min": "Input should be a valid integer"},
        id="text-number",
    ),
    pytest.param({"colour": "blue"}, {"colour": "Unknown field."}, id="unknown-field"),
]


@pytest.mark.parametrize(("changes", "expected"), BAD_CONTENT)
def test_bad_content_is_refused_with_field_messages_and_nothing_written(
    api_for, world, changes, expected
):
    protocol = hair(world)
    client = api_for("alice")
    payload = version_body(protocol, **{k: v for k, v in changes.items() if v is not None})
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
    with no_version_written():
        body = problem(client.post(url(protocol, "/versions"), payload), 422)
    for field, message in expected.items():
        messages = field_messages(body, field)
        assert messages, (field, body)
        assert messages[0].startswith(message), (field, messages)


def test_a_missing_change_note_is_required(api_for, world):
    protocol = hair(world)
    payload = version_body(protocol)
    del payload["change_note"]
    client = api_for("alice")
    with no_version_written():
        body = problem(client.post(url(protocol, "/versions"), payload), 422)
    assert field_messages(body, "change_note") == ["This field is required."]


def test_consent_codes_must_be_the_organisations_consent_texts(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    with no_version_written():
        body = problem(
            client.post(
                url(protocol, "/versions"),
                version_body(protocol, consent_codes=["hair_mesotherapy", "tattoo"]),
            ),
            422,
        )
    [message] = field_messages(body, "consent_codes")
    assert message.startswith("Unknown consent text 'tattoo'")
    assert "hair_mesotherapy" in message and "prp" in message


def test_a_new_version_may_require_another_of_the_organisations_consents(api_for, world):
    protocol = hair(world)
    response = api_for("alice").post(
        url(protocol, "/versions"),
        version_body(protocol, consent_codes=["hair_mesotherapy", "photography"]),
    )
    assert response.status_code == 201
    assert response.json()["consent_codes"] == ["hair_mesotherapy", "photography"]


# --- Copy and offered ----------------------------------------------------------------------


def test_an_admin_copies_a_protocol_under_a_new_code(api_for, world):
    protocol = hair(world)
    response = api_for("alice").post(
        url(protocol, "/copy"), {"code": "hair-short", "name": "Hair mesotherapy, six sessions"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "hair-short"
    assert body["name"] == "Hair mesotherapy, six sessions"
    assert body["current"]["number"] == 1
    assert body["current"]["induction_sessions_max"] == 8
    assert body["copied_from"] == {
        "protocol_id": protocol.pk,
        "code": "hair-mesotherapy",
        "version": 1,
    }
    copy = Protocol.objects.get(pk=body["id"])
    assert copy.organisation == world.acme
    assert AuditEvent.objects.filter(action="protocol.create", object_id=str(copy.pk)).exists()


def test_a_copy_needs_a_code_not_taken_in_the_organisation(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    with no_version_written():
        body = problem(
            client.post(url(protocol, "/copy"), {"code": "prp-hair", "name": "Copy"}), 409
        )
    assert field_messages(body, "code") == ["A protocol with the code prp-hair exists already."]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"code": "Hair Short", "name": "Copy"}, "code", "Use up to 60 lowercase letters"),
        ({"code": "hair-short", "name": " "}, "name", "Name the copy."),
        ({"code": "hair-short"}, "name", "This field is required."),
    ],
    ids=["bad-code", "blank-name", "no-name"],
)
def test_a_copy_with_bad_input_writes_nothing(api_for, world, payload, field, message):
    protocol = hair(world)
    client = api_for("alice")
    with no_version_written():
        body = problem(client.post(url(protocol, "/copy"), payload), 422)
    assert field_messages(body, field)[0].startswith(message)


def test_an_admin_stops_offering_a_protocol_and_offers_it_again(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    body = client.post(url(protocol, "/offered"), {"offered": False}).json()
    assert body["offered"] is False
    assert Protocol.objects.get(pk=protocol.pk).is_active is False
    assert AuditEvent.objects.filter(action="protocol.update").count() == 1
    assert client.post(url(protocol, "/offered"), {"offered": True}).json()["offered"] is True


def test_offered_takes_a_real_boolean(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    with no_version_written():
        body = problem(client.post(url(protocol, "/offered"), {"offered": "no"}), 422)
    assert field_messages(body, "offered") == ["Input should be a valid boolean"]


# --- Query counts --------------------------------------------------------------------------


def _add_protocols(world, count: int) -> None:
    base = ProtocolContent.of(hair(world).current_version)
    start = Protocol.objects.filter(organisation=world.acme, code__startswith="extra-").count()
    for n in range(start, start + count):
        protocol_create(
            organisation=world.acme, code=f"extra-{n}", content=base, acting_user=world.alice
        )


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("params", [None, {"area": "scalp"}], ids=["all", "area"])
def test_listing_protocols_costs_the_same_with_2_and_10_more(api_for, world, params):
    client = api_for("paul")
    _add_protocols(world, 2)
    client.get(PROTOCOLS, params)  # the token's last-used time is written once
    with_2 = _queries(client, PROTOCOLS, params)
    _add_protocols(world, 8)
    assert _queries(client, PROTOCOLS, params) == with_2


def test_reading_a_protocol_costs_the_same_with_2_and_10_versions(api_for, world):
    protocol = hair(world)
    client = api_for("alice")
    for n in range(1, 3):
        client.post(url(protocol, "/versions"), version_body(protocol, description=f"v{n + 1}"))
    client.get(url(protocol))
    with_2 = _queries(client, url(protocol))
    for n in range(3, 11):
        client.post(url(protocol, "/versions"), version_body(protocol, description=f"v{n + 1}"))
    assert len(client.get(url(protocol)).json()["versions"]) == 11
    assert _queries(client, url(protocol)) == with_2
