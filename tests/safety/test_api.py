"""/api/v1/adverse-events: record, correct, follow up, resolve and review side effects,
list them with filters, and read the rates. Every staff role reads; admins and
practitioners write; the front desk and the auditor write nothing; another organisation
sees nothing (404 in the path, 422 in the body).

Rita's first session was signed by Paul today, 2 December 2026, 09:00 at Acme City; the
clock is 21:00 London (``signed_visit``).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.safety import catalogue
from mesoclinic.safety.models import AdverseEvent, Outcome
from tests.api.helpers import field_messages, problem
from tests.safety.conftest import EVENING, itching, record

EVENTS = "/api/v1/adverse-events"
WRITERS = ["alice", "paul"]
READ_ONLY = ["fiona", "audrey"]


def body(session, **overrides):
    payload = {
        "patient_id": session.patient_id,
        "session_ids": [session.pk],
        "term": "pruritus",
        "onset_at": EVENING.isoformat(),
        "grade": 1,
        "relation": "possible",
        "reported_by": "patient",
        "actions": ["none"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def writes() -> tuple[int, int]:
    return (
        AdverseEvent.objects.count(),
        AuditEvent.objects.exclude(action__endswith=".read")
        .exclude(action__endswith=".list")
        .count(),
    )


@pytest.mark.parametrize("who", WRITERS)
def test_a_clinician_records_a_side_effect(api_for, world, signed_visit, who):
    response = api_for(who).post(EVENTS, body(signed_visit))
    assert response.status_code == 201, response.content
    data = json.loads(response.content)
    assert data["term"] == "pruritus" and data["grade"] == 1
    assert data["is_serious"] is False and data["prolonged"] is False
    assert data["outcome"] == "ongoing"
    assert data["responsible"]["name"] == "Paul Practitioner"
    (visit,) = data["visits"]
    assert visit["session_id"] == signed_visit.pk
    assert [line["lot_number"] for line in visit["lines"]] == ["HC-2401"] * 3
    assert data["grade_description"] == catalogue.term("pruritus").grade_description(1)


@pytest.mark.parametrize("who", READ_ONLY)
def test_front_desk_and_auditor_write_nothing(api_for, world, signed_visit, who):
    event = record(world, signed_visit)
    client = api_for(who)
    before = writes()
    problem(client.post(EVENTS, body(signed_visit)), 403)
    problem(client.patch(f"{EVENTS}/{event.pk}", {"grade": 2}), 403)
    problem(client.post(f"{EVENTS}/{event.pk}/follow-ups", {"note": "x"}), 403)
    problem(
        client.post(
            f"{EVENTS}/{event.pk}/resolve", {"outcome": "resolved", "resolved_on": "2026-12-02"}
        ),
        403,
    )
    assert writes() == before
    assert client.get(f"{EVENTS}/{event.pk}").status_code == 200


def test_anonymous_is_401(api_for, world, signed_visit):
    problem(api_for("anonymous").get(EVENTS), 401)
    problem(api_for("anonymous").post(EVENTS, body(signed_visit)), 401)


def test_another_organisation_sees_nothing(api_for, world, signed_visit):
    event = record(world, signed_visit)
    oscar = api_for("oscar")
    problem(oscar.get(f"{EVENTS}/{event.pk}"), 404)
    problem(oscar.patch(f"{EVENTS}/{event.pk}", {"grade": 2}), 404)
    problem(oscar.post(f"{EVENTS}/{event.pk}/review", {"note": "x" * 20}), 404)
    listed = json.loads(oscar.get(EVENTS).content)
    assert listed["count"] == 0
    error = problem(oscar.post(EVENTS, body(signed_visit)), 422)
    assert field_messages(error, "patient_id")
    assert (
        json.loads(
            oscar.get(f"{EVENTS}/rates", {"start": "2026-11-01", "end": "2026-12-02"}).content
        )["overall"]["sessions"]
        == 0
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"onset_at": "2026-12-02T08:00:00+00:00"}, "onset_at"),  # before the session
        ({"onset_at": "2026-12-02T20:00:00"}, "onset_at"),  # no offset
        ({"onset_at": "0001-01-01T00:00:00+01:00"}, "onset_at"),  # not plausible
        ({"grade": 0}, "grade"),
        ({"grade": 6}, "grade"),
        ({"grade": "2"}, "grade"),
        ({"term": "dizzy"}, "term"),
        ({"relation": "perhaps"}, "relation"),
        ({"session_ids": []}, "session_ids"),
        ({"session_ids": [999999]}, "session_ids.0"),
        ({"term": "other"}, "term_text"),
        ({"serious_criteria": ["bad"]}, "serious_criteria"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_saves_nothing(
    api_for,
    world,
    signed_visit,
    overrides,
    field,
):
    client = api_for("paul")
    before = writes()
    error = problem(client.post(EVENTS, body(signed_visit, **overrides)), 422)
    fields = [item["field"] for item in error["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), error
    assert writes() == before


def test_a_session_of_another_patient_is_refused(api_for, world, signed_visit):
    client = api_for("paul")
    before = writes()
    error = problem(client.post(EVENTS, body(signed_visit, patient_id=world.acme_patient.pk)), 422)
    assert "another patient" in field_messages(error, "session_ids")[0]
    assert writes() == before


def test_patch_changes_only_what_is_sent(api_for, world, signed_visit):
    event = record(world, signed_visit, itching(description="Vertex."))
    response = api_for("paul").patch(f"{EVENTS}/{event.pk}", {"grade": 2})
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert event.grade == 2 and event.description == "Vertex." and event.term == "pruritus"
    error = problem(api_for("paul").patch(f"{EVENTS}/{event.pk}", {"term": None}), 422)
    assert field_messages(error, "term")


def test_follow_up_resolve_and_the_filters(api_for, world, signed_visit, fixed_clock):
    itchy = record(world, signed_visit)
    red = record(world, signed_visit, itching(term="erythema"))
    client = api_for("paul")
    response = client.post(f"{EVENTS}/{itchy.pk}/follow-ups", {"note": "Worse.", "grade": 3})
    assert response.status_code == 201
    detail = json.loads(client.get(f"{EVENTS}/{itchy.pk}").content)
    assert detail["grade"] == 3 and detail["is_serious"] and detail["needs_review"]
    assert [f["note"] for f in detail["follow_ups"]] == ["Worse."]

    response = client.post(
        f"{EVENTS}/{red.pk}/resolve", {"outcome": "resolved", "resolved_on": "2026-12-01"}
    )
    assert "before the onset" in field_messages(problem(response, 422), "resolved_on")[0]
    response = client.post(
        f"{EVENTS}/{red.pk}/resolve", {"outcome": "resolved", "resolved_on": "2026-12-02"}
    )
    assert json.loads(response.content)["outcome"] == Outcome.RESOLVED
    problem(
        client.post(
            f"{EVENTS}/{red.pk}/resolve", {"outcome": "resolved", "resolved_on": "2026-12-02"}
        ),
        409,
    )

    def ids(**params):
        return [item["id"] for item in json.loads(client.get(EVENTS, params).content)["items"]]

    assert ids(open="true") == [itchy.pk]
    assert ids(serious="true") == [itchy.pk]
    assert ids(term="erythema") == [red.pk]
    # Newest onset first: the redness was recorded with the same onset, later (higher id).
    assert ids(patient_id=signed_visit.patient_id) == [red.pk, itchy.pk]
    fixed_clock.set(EVENING + dt.timedelta(days=3))
    assert ids(prolonged="true") == [itchy.pk]

    problem(client.post(f"{EVENTS}/{itchy.pk}/review", {"note": "short"}), 422)
    response = client.post(
        f"{EVENTS}/{itchy.pk}/review", {"note": "Course paused until it settles."}
    )
    assert json.loads(response.content)["needs_review"] is False
    listed = AuditEvent.objects.filter(action="adverse_event.list", patient=signed_visit.patient)
    assert listed.exists()


def test_the_rates_endpoint_gives_counts_intervals_and_no_division_by_zero(
    api_for,
    world,
    signed_visit,
):
    record(world, signed_visit)
    client = api_for("audrey")
    data = json.loads(
        client.get(f"{EVENTS}/rates", {"start": "2026-11-01", "end": "2026-12-02"}).content
    )
    assert data["overall"]["sessions"] == 1
    assert data["overall"]["sessions_with_side_effect"] == 1
    assert data["overall"]["per_100_sessions"] == 100.0
    assert data["overall"]["wilson_95"]["high_per_100"] == 100.0
    assert data["by_lot"][0]["label"] == "HC-2401"
    assert "Fisher" in data["method"]
    empty = json.loads(
        client.get(f"{EVENTS}/rates", {"start": "2025-01-01", "end": "2025-01-31"}).content
    )
    assert empty["overall"]["per_100_sessions"] is None and empty["overall"]["wilson_95"] is None
    problem(
        api_for("fiona").get(f"{EVENTS}/rates", {"start": "2026-11-01", "end": "2026-12-02"}), 403
    )
    error = problem(
        client.get(f"{EVENTS}/rates", {"start": "2026-12-02", "end": "2026-11-01"}), 422
    )
    assert field_messages(error, "end")
