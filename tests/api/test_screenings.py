"""/api/v1/screenings: run (clinicians), list and read (audited), override."""

from __future__ import annotations

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.screening.models import Screening, ScreeningOverride
from tests.api.helpers import field_messages, nothing_written, problem

SCREENINGS = "/api/v1/screenings"


def payload(world, **overrides):
    return {
        "patient_id": world.acme_patient.pk,
        "protocol_kind": "prp",
        "ingredients": [],
        **overrides,
    }


@pytest.mark.parametrize("persona", ["alice", "paul"])
def test_clinicians_screen_and_get_the_stored_decision(api_for, world, persona):
    response = api_for(persona).post(SCREENINGS, payload(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "defer"  # no intake yet: answers asked first
    assert body["rule_set_version"] == "2026-11-1"
    assert body["facts"]["protocol_kind"] == "prp"
    assert body["reasons"] and all("source" in r for r in body["reasons"])
    assert Screening.objects.get().screened_by == world.persona(persona)


@pytest.mark.parametrize("persona", ["fiona", "audrey"])
def test_front_desk_and_auditor_cannot_screen_but_can_read(api_for, world, persona):
    api_for("paul").post(SCREENINGS, payload(world))
    client = api_for(persona)
    with nothing_written():
        problem(client.post(SCREENINGS, payload(world)), 403)
    assert Screening.objects.count() == 1
    listed = client.get(SCREENINGS, {"patient_id": world.acme_patient.pk})
    assert listed.status_code == 200 and len(listed.json()) == 1


def test_reading_is_audited_as_a_chart_read(api_for, world):
    created = api_for("paul").post(SCREENINGS, payload(world)).json()
    client = api_for("audrey")
    before = AuditEvent.objects.filter(action="patient.read").count()
    assert client.get(f"{SCREENINGS}/{created['id']}").status_code == 200
    assert AuditEvent.objects.filter(action="patient.read").count() == before + 1


def test_another_organisation_gets_404(api_for, world):
    created = api_for("paul").post(SCREENINGS, payload(world)).json()
    oscar = api_for("oscar")
    problem(oscar.post(SCREENINGS, payload(world)), 404)
    problem(oscar.get(SCREENINGS, {"patient_id": world.acme_patient.pk}), 404)
    problem(oscar.get(f"{SCREENINGS}/{created['id']}"), 404)
    problem(oscar.post(f"{SCREENINGS}/{created['id']}/override", {"justification": "x" * 30}), 404)
    assert not ScreeningOverride.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"protocol_kind": "surgery"}, "protocol_kind", "Input should be"),
        ({"ingredients": ["plutonium"]}, "ingredients", "Unknown ingredient 'plutonium'"),
        ({"patient_id": "abc"}, "patient_id", "valid integer"),
        ({"extra": 1}, "extra", "Unknown field."),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(api_for, world, change, field, message):
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(SCREENINGS, payload(world, **change)), 422)
    assert any(message in m for m in field_messages(body, field)), body
    assert not Screening.objects.exists()


def test_override_needs_a_justification_and_happens_once(api_for, world):
    client = api_for("paul")
    created = client.post(SCREENINGS, payload(world)).json()
    url = f"{SCREENINGS}/{created['id']}/override"
    body = problem(client.post(url, {"justification": "short"}), 422)
    assert field_messages(body, "justification")
    done = client.post(url, {"justification": "Patient answered at the visit; notes on paper."})
    assert done.status_code == 201
    assert done.json()["override"]["by"] == world.paul.email
    problem(client.post(url, {"justification": "Again, with enough characters to pass."}), 409)
    assert ScreeningOverride.objects.count() == 1
