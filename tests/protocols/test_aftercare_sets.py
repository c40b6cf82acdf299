"""Aftercare instruction sets per protocol version: installed with the shipped protocols,
edited by admins on the protocol page and through the API (every line with its source and
strength of evidence), refused when a line is malformed or promises results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.services import organisation_create
from mesoclinic.core.models import AuditEvent
from mesoclinic.protocols.defaults import shipped_protocols
from mesoclinic.protocols.forms import build_aftercare_set, parse_aftercare_lines
from mesoclinic.protocols.models import Formulation, Protocol, ProtocolVersion
from mesoclinic.protocols.services import ProtocolContent, protocol_revise
from mesoclinic.treatments.aftercare import (
    EVIDENCE_LABELS,
    SECTIONS,
    AftercareLine,
    AftercareSet,
    default_set,
    set_from_json,
    set_to_json,
)
from mesoclinic.treatments.aftercare_sets import aftercare_set_for, check_set, claim_in
from tests.api.helpers import ApiClient, field_messages, problem
from tests.patients.helpers import field_errors
from tests.patients.helpers import page_text as raw_page_text

FIELDS = {
    "lines": "aftercare_lines",
    "expected_reactions": "aftercare_expected_reactions",
    "call_the_clinic": "aftercare_call_the_clinic",
}


def page_text(response: Any) -> str:
    return " ".join(raw_page_text(response).split())


def hair(world: Any) -> Protocol:
    return Protocol.objects.select_related("current_version").get(
        organisation=world.acme, code="hair-mesotherapy"
    )


def current(protocol: Protocol) -> ProtocolVersion:
    protocol.refresh_from_db()
    version = protocol.current_version
    assert version is not None
    return version


def state() -> tuple[Any, ...]:
    return (
        list(Protocol.objects.order_by("pk").values()),
        list(ProtocolVersion.objects.order_by("pk").values()),
        list(Formulation.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = state()
    yield
    assert state() == before


def edit_data(client: Client, p: Protocol, **overrides: Any) -> dict[str, Any]:
    """The edit form as the page fills it, with a change note."""
    response = client.get(reverse("protocol_edit", args=[p.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    data["change_note"] = "Aftercare edited"
    data.update(overrides)
    return data


def lines_of(data: dict[str, Any], section: str) -> list[str]:
    return [line for line in data[FIELDS[section]].split("\n") if line.strip()]


# --- installing ----------------------------------------------------------------------------


def test_installing_gives_every_shipped_protocol_its_set_with_sources_and_evidence(db):
    fresh = organisation_create(name="Fresh", slug="fresh", mrn_prefix="FRS", acting_user=None)
    versions = [
        p.current_version
        for p in Protocol.objects.filter(organisation=fresh).select_related("current_version")
    ]
    assert len(versions) == len(shipped_protocols())
    for version in versions:
        assert version is not None
        assert version.aftercare, version.name
        stored = set_from_json(version.aftercare)
        assert stored == default_set(area=version.area, kind=version.kind)
        assert stored.lines and stored.call_the_clinic, version.name
        for section in SECTIONS:
            for line in getattr(stored, section):
                assert line.source.strip() and line.evidence in EVIDENCE_LABELS
    prp = next(v for v in versions if v is not None and v.kind == "prp")
    assert "prp" in json.dumps(prp.aftercare).lower()


# --- aftercare_set_for ---------------------------------------------------------------------


def test_an_empty_set_falls_back_to_the_shipped_set_for_the_area_and_kind():
    for area, kind in [("scalp", "mesotherapy"), ("face", "prp"), ("body", "mesotherapy")]:
        version = ProtocolVersion(area=area, kind=kind, aftercare={})
        assert aftercare_set_for(version) == default_set(area=area, kind=kind)
    # The PRP kinds get the PRP lines after the area's.
    scalp, prp = (
        default_set(area="scalp", kind="mesotherapy"),
        default_set(area="scalp", kind="prp"),
    )
    assert len(prp.lines) > len(scalp.lines) and prp.lines[: len(scalp.lines)] == scalp.lines


def test_a_stored_set_is_used_as_it_is():
    own = AftercareSet(
        lines=(AftercareLine("rest", "Rest today.", "Clinic practice", "clinic_practice"),),
        expected_reactions=(),
        call_the_clinic=(),
    )
    version = ProtocolVersion(area="scalp", kind="mesotherapy", aftercare=set_to_json(own))
    assert aftercare_set_for(version) == own


def test_an_empty_version_set_is_stored_and_followed(world):
    p = hair(world)
    content = replace(ProtocolContent.of(current(p)), aftercare={})
    version = protocol_revise(
        protocol=p, content=content, change_note="Follow the shipped set", acting_user=world.alice
    )
    assert version.aftercare == {}
    assert aftercare_set_for(version) == default_set(area="scalp", kind="mesotherapy")


# --- claims and limits (pure) ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Results are GUARANTEED.",
        "This will cure hair loss.",
        "A proven treatment.",
        "Your hair will regrow.",
        "It cures thinning.",
        "Your hair will  Regrow in weeks.",
    ],
)
def test_claims_are_found(text):
    assert claim_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Keep the dressing secure.",
        "No manicure or pedicure today.",
        "Its benefit is unproven.",
        "Hair may or may not grow back.",
    ],
)
def test_ordinary_words_pass(text):
    assert claim_in(text) is None


def test_check_set_refuses_a_claim_and_a_pipe_in_the_text():
    line = AftercareLine("x", "Rest today.", "Clinic practice", "clinic_practice")
    good = AftercareSet(lines=(line,), expected_reactions=(), call_the_clinic=())
    check_set(good)
    for text, message in [("Guaranteed growth.", "promises a result"), ("a | b", "“|”")]:
        bad = replace(good, lines=(replace(line, text=text),))
        with pytest.raises(ValueError, match=message):
            check_set(bad)


def test_parsing_splits_text_source_and_evidence_and_keeps_pipes_in_the_source():
    [entry] = parse_aftercare_lines(
        "  Rest  today. | Clinic page | https://x.test/a|b | clinic_practice \n\n",
        label="Aftercare: instructions",
    )
    assert (entry.text, entry.source, entry.evidence) == (
        "Rest today.",
        "Clinic page | https://x.test/a|b",
        "clinic_practice",
    )


def test_codes_are_kept_for_unchanged_texts_and_generated_unique_otherwise():
    base = default_set(area="scalp", kind="mesotherapy")
    taken = replace(
        base,
        lines=(
            *base.lines,
            AftercareLine("custom-lines-1", "Old custom.", "Clinic practice", "clinic_practice"),
        ),
    )
    first = base.lines[0]
    text = "\n".join(
        [
            "A brand new line. | Clinic practice | expert_opinion",
            f"{first.text} | Another source | trial",
        ]
    )
    entries = {
        "lines": parse_aftercare_lines(text, label="x"),
        "expected_reactions": [],
        "call_the_clinic": [],
    }
    built = build_aftercare_set(entries, current=taken)
    new, kept = built.lines
    assert new.code == "custom-lines-2"  # custom-lines-1 belongs to a line of the current set
    assert (kept.code, kept.source, kept.evidence) == (first.code, "Another source", "trial")


# --- the protocol pages --------------------------------------------------------------------


def test_the_edit_page_fills_the_three_parts_from_the_versions_set(client_for, world):
    client = client_for("alice")
    p = hair(world)
    data = edit_data(client, p)
    shipped = default_set(area="scalp", kind="mesotherapy")
    for section in SECTIONS:
        assert lines_of(data, section) == [
            f"{line.text} | {line.source} | {line.evidence}" for line in getattr(shipped, section)
        ]
    text = page_text(client.get(reverse("protocol_edit", args=[p.pk])))
    for label in (
        "Aftercare: instructions",
        "Aftercare: reactions that usually pass",
        "Aftercare: when to call the clinic",
    ):
        assert label in text
    for code, label in EVIDENCE_LABELS.items():
        assert f"{code}: {label}" in text


def test_the_detail_and_version_pages_show_each_line_with_source_and_evidence(client_for, world):
    p = hair(world)
    shipped = default_set(area="scalp", kind="mesotherapy")
    for url in [
        reverse("protocol_detail", args=[p.pk]),
        reverse("protocol_version", args=[p.pk, 1]),
    ]:
        text = page_text(client_for("paul").get(url))
        assert "Aftercare sheet" in text
        assert "When to call the clinic" in text
        for section in SECTIONS:
            for line in getattr(shipped, section):
                assert " ".join(line.text.split()) in text
                assert " ".join(line.source.split()) in text
        assert "Evidence: Clinic practice" in text


def test_an_admin_edits_the_set_and_a_new_version_keeps_it_with_an_audit_diff(client_for, world):
    client = client_for("alice")
    p = hair(world)
    first = current(p)
    data = edit_data(client, p)
    kept = lines_of(data, "lines")
    data[FIELDS["lines"]] = "\n".join(
        [
            "Sleep on a clean pillowcase tonight. | Clinic practice, Acme 2026 | clinic_practice",
            *kept[1:],
        ]
    )
    response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 302, field_errors(response, FIELDS["lines"])
    second = current(p)
    assert second.number == 2
    edited = set_from_json(second.aftercare)
    shipped = default_set(area="scalp", kind="mesotherapy")
    assert edited.lines[0] == AftercareLine(
        "custom-lines-1",
        "Sleep on a clean pillowcase tonight.",
        "Clinic practice, Acme 2026",
        "clinic_practice",
    )
    # The other lines keep their codes, sources and evidence.
    assert edited.lines[1:] == shipped.lines[1:]
    assert edited.call_the_clinic == shipped.call_the_clinic
    # The version the course may follow is untouched.
    assert ProtocolVersion.objects.get(pk=first.pk).aftercare == set_to_json(shipped)
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert event.object_id == str(second.pk)
    change = event.changes["aftercare"]
    assert "Sleep on a clean pillowcase tonight." in change["new"]
    assert "Sleep on a clean pillowcase tonight." not in change["old"]
    text = page_text(client.get(reverse("protocol_detail", args=[p.pk])))
    assert "Sleep on a clean pillowcase tonight." in text
    assert "Clinic practice, Acme 2026" in text


def test_saving_another_field_keeps_the_set_unchanged(client_for, world):
    client = client_for("alice")
    p = hair(world)
    before = current(p).aftercare
    data = edit_data(client, p, session_duration_minutes=50)
    assert client.post(reverse("protocol_edit", args=[p.pk]), data).status_code == 302
    version = current(p)
    assert version.number == 2 and version.aftercare == before
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert "aftercare" not in event.changes


def test_a_version_following_the_shipped_set_goes_on_following_it(client_for, world):
    p = hair(world)
    protocol_revise(
        protocol=p,
        content=replace(ProtocolContent.of(current(p)), aftercare={}),
        change_note="Follow the shipped set",
        acting_user=world.alice,
    )
    client = client_for("alice")
    data = edit_data(client, p, kind="prp")
    assert client.post(reverse("protocol_edit", args=[p.pk]), data).status_code == 302
    version = current(p)
    assert version.kind == "prp" and version.aftercare == {}
    assert aftercare_set_for(version) == default_set(area="scalp", kind="prp")


BAD_LINES = [
    pytest.param(
        "lines",
        "Rest today. | clinic_practice",
        3,
        "write text | source | evidence",
        id="missing-part",
    ),
    pytest.param(
        "expected_reactions",
        "Redness. | Clinic practice | anecdote",
        2,
        "“anecdote” is not an evidence level; use one of clinic_practice, expert_opinion",
        id="unknown-evidence",
    ),
    pytest.param(
        "call_the_clinic",
        "Results are guaranteed. | Clinic practice | clinic_practice",
        1,
        "“guaranteed” promises a result",
        id="claim-guaranteed",
    ),
    pytest.param(
        "lines",
        "Your hair will regrow within weeks. | Clinic practice | trial",
        3,
        "“will regrow” promises a result",
        id="claim-regrow",
    ),
    pytest.param(
        "lines",
        "Rest today. |  | clinic_practice",
        3,
        "name the source",
        id="empty-source",
    ),
    pytest.param(
        "lines",
        " | Clinic practice | clinic_practice",
        3,
        "the text is empty",
        id="empty-text",
    ),
]

SECTION_LABELS = {
    "lines": "Aftercare: instructions",
    "expected_reactions": "Aftercare: reactions that usually pass",
    "call_the_clinic": "Aftercare: when to call the clinic",
}


@pytest.mark.parametrize(("section", "bad", "number", "message"), BAD_LINES)
def test_a_bad_line_is_explained_by_number_and_section_and_nothing_is_saved(
    client_for, world, section, bad, number, message
):
    client = client_for("alice")
    p = hair(world)
    data = edit_data(client, p)
    lines = lines_of(data, section)
    assert len(lines) >= number - 1
    lines.insert(number - 1, bad)
    data[FIELDS[section]] = "\n".join(lines)
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 422
    errors = " ".join(field_errors(response, FIELDS[section]).split())
    assert f"Line {number} of “{SECTION_LABELS[section]}”" in errors, errors
    assert message in errors, errors


def test_every_bad_line_is_reported_at_once(client_for, world):
    client = client_for("alice")
    p = hair(world)
    data = edit_data(
        client,
        p,
        aftercare_lines="Rest. | Clinic practice | clinic_practice\n\nNo source | | trial\nCured!",
    )
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 422
    errors = field_errors(response, FIELDS["lines"])
    assert "Line 3 of" in errors and "name the source" in errors
    assert "Line 4 of" in errors and "write text | source | evidence" in errors
    assert "Line 1 of" not in errors


def test_lines_with_only_spaces_are_skipped_and_a_part_may_be_empty(client_for, world):
    client = client_for("alice")
    p = hair(world)
    data = edit_data(client, p, aftercare_expected_reactions="  \n \n")
    assert client.post(reverse("protocol_edit", args=[p.pk]), data).status_code == 302
    assert set_from_json(current(p).aftercare).expected_reactions == ()


# --- the API -------------------------------------------------------------------------------


def api(token_for: Any, name: str = "alice") -> ApiClient:
    return ApiClient(token_for(name))


def version_body(protocol: Protocol, **changes: Any) -> dict[str, Any]:
    version = current(protocol)
    body: dict[str, Any] = {
        name: getattr(version, name) for name in ProtocolContent.__dataclass_fields__
    }
    body["change_note"] = "Aftercare from the API"
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def own_set(**line: str) -> dict[str, Any]:
    fields = {
        "code": "rest",
        "text": "Rest today.",
        "source": "Clinic practice",
        "evidence": "clinic_practice",
    }
    return {
        "lines": [{**fields, **line}],
        "expected_reactions": [],
        "call_the_clinic": [
            {
                "code": "fever",
                "text": "Call us if you have a fever.",
                "source": "Clinic practice",
                "evidence": "expert_opinion",
            }
        ],
    }


def test_the_api_shows_the_versions_set(token_for, world):
    p = hair(world)
    body = api(token_for, "paul").get(f"/api/v1/protocols/{p.pk}").json()
    assert body["current"]["aftercare"] == set_to_json(
        default_set(area="scalp", kind="mesotherapy")
    )
    one = api(token_for, "paul").get(f"/api/v1/protocols/{p.pk}/versions/1").json()
    assert one["aftercare"] == body["current"]["aftercare"]


def test_the_api_accepts_a_valid_set(token_for, world):
    p = hair(world)
    response = api(token_for).post(
        f"/api/v1/protocols/{p.pk}/versions", version_body(p, aftercare=own_set())
    )
    assert response.status_code == 201, response.content
    assert response.json()["aftercare"] == own_set()
    version = current(p)
    assert version.number == 2 and version.aftercare == own_set()
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert "Rest today." in event.changes["aftercare"]["new"]


def test_the_api_left_out_set_means_the_shipped_one(token_for, world):
    p = hair(world)
    body = version_body(p)
    del body["aftercare"]
    response = api(token_for).post(f"/api/v1/protocols/{p.pk}/versions", body)
    assert response.status_code == 201, response.content
    version = current(p)
    assert version.aftercare == {}
    assert aftercare_set_for(version) == default_set(area="scalp", kind="mesotherapy")


@pytest.mark.parametrize(
    ("aftercare", "message"),
    [
        pytest.param(
            own_set(evidence="anecdote"), "unknown evidence code 'anecdote'", id="evidence"
        ),
        pytest.param(own_set(source=""), "missing source", id="source"),
        pytest.param({"lines": []}, "'expected_reactions' must be a list", id="section"),
        pytest.param(own_set(text="A proven cure for thinning."), "promises a result", id="claim"),
        pytest.param(own_set(code="fever"), "appears twice", id="repeated-code"),
        pytest.param(own_set(extra="x"), "unknown key 'extra'", id="unknown-key"),
    ],
)
def test_the_api_refuses_a_bad_set_with_422(token_for, world, aftercare, message):
    p = hair(world)
    client = api(token_for)
    with nothing_written():
        body = problem(
            client.post(f"/api/v1/protocols/{p.pk}/versions", version_body(p, aftercare=aftercare)),
            422,
        )
    messages = field_messages(body, "aftercare")
    assert messages and message in messages[0], body


def test_asdict_of_content_carries_the_set(world):
    version = current(hair(world))
    assert asdict(ProtocolContent.of(version))["aftercare"] == version.aftercare
