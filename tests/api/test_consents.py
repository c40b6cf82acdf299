"""/api/v1/consents: texts, signatures, withdrawals."""

from __future__ import annotations

import base64

import pytest

from mesoclinic.patients.models import ConsentTemplate, SignedConsent
from tests.api.helpers import field_messages, nothing_written, problem

CONSENTS = "/api/v1/consents"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
SIGNATURE = "data:image/png;base64," + base64.b64encode(PNG).decode()


def body(world, **overrides):
    text = ConsentTemplate.objects.get(organisation=world.acme, code="prp")
    return {
        "patient_id": world.acme_patient.pk,
        "template_id": text.pk,
        "signed_name": "Ana Silva",
        "signature": SIGNATURE,
        **overrides,
    }


def test_the_templates_are_listed_with_their_fingerprints(api_for, world):
    listed = api_for("audrey").get(f"{CONSENTS}/templates").json()
    assert {t["code"] for t in listed} == {
        "hair_mesotherapy",
        "prp",
        "aesthetic_mesotherapy",
        "photography",
    }
    assert all(len(t["body_sha256"]) == 64 for t in listed)


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona"])
def test_writers_sign_and_withdraw(api_for, world, persona):
    client = api_for(persona)
    created = client.post(CONSENTS, body(world))
    assert created.status_code == 201, created.content
    consent_id = created.json()["id"]
    assert bytes(SignedConsent.objects.get(pk=consent_id).signature_png) == PNG
    problem(client.post(CONSENTS, body(world)), 409)  # the same version twice
    withdrawn = client.post(f"{CONSENTS}/{consent_id}/withdraw", {"reason": "Changed mind."})
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    problem(client.post(f"{CONSENTS}/{consent_id}/withdraw", {"reason": "Again."}), 409)
    listed = api_for("audrey").get(CONSENTS, {"patient_id": world.acme_patient.pk}).json()
    assert [c["id"] for c in listed] == [consent_id]


def test_the_auditor_cannot_sign(api_for, world):
    client = api_for("audrey")
    with nothing_written():
        problem(client.post(CONSENTS, body(world)), 403)
    assert not SignedConsent.objects.exists()


def test_another_organisation_gets_404(api_for, world):
    client = api_for("oscar")
    with nothing_written():
        problem(client.post(CONSENTS, body(world)), 404)
        problem(client.get(CONSENTS, {"patient_id": world.acme_patient.pk}), 404)
    created = api_for("paul").post(CONSENTS, body(world)).json()
    problem(client.post(f"{CONSENTS}/{created['id']}/withdraw", {"reason": "x"}), 404)
    assert SignedConsent.objects.get().withdrawn_at is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"signature": "data:image/gif;base64,R0lG"}, "signature", "PNG data URL"),
        ({"signature": "data:image/png;base64,@@@"}, "signature", "PNG data URL"),
        ({"signed_name": ""}, "signed_name", "Name is required."),
        ({"template_id": "x"}, "template_id", "valid integer"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api_for, world, change, field, message):
    client = api_for("paul")
    with nothing_written():
        response = client.post(CONSENTS, body(world, **change))
    found = problem(response, 422)
    assert any(message in m for m in field_messages(found, field)), found
    assert not SignedConsent.objects.exists()


def test_a_valid_data_url_that_is_not_a_png_is_refused(api_for, world):
    gif = "data:image/png;base64," + base64.b64encode(b"GIF89a...").decode()
    client = api_for("paul")
    with nothing_written():
        found = problem(client.post(CONSENTS, body(world, signature=gif)), 422)
    assert field_messages(found, "signature")
