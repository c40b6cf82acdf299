"""Consent: versioned texts, signed with typed name and drawn signature, withdrawn, printed."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import ConsentTemplate, SignedConsent
from mesoclinic.patients.services import (
    consent_sign,
    consent_template_publish,
    consent_withdraw,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
SIGNATURE = "data:image/png;base64," + base64.b64encode(PNG).decode()


def template(world, code="hair_mesotherapy"):
    return ConsentTemplate.objects.filter(organisation=world.acme, code=code).latest("version")


def sign_url(world, code="hair_mesotherapy"):
    return reverse("patients:consent_sign", args=[world.acme_patient.pk, template(world, code).pk])


def tab(world):
    return reverse("patients:chart_tab", args=[world.acme_patient.pk, "consents"])


def writes():
    return SignedConsent.objects.count(), AuditEvent.objects.count()


def test_every_organisation_starts_with_the_shipped_texts(world):
    codes = set(
        ConsentTemplate.objects.filter(organisation=world.acme).values_list("code", flat=True)
    )
    assert codes == {"hair_mesotherapy", "prp", "aesthetic_mesotherapy", "photography"}
    text = template(world)
    assert text.version == 1
    assert text.body_sha256 == hashlib.sha256(text.body.encode()).hexdigest()
    assert "cannot promise" in text.body  # the text never claims that the treatment works
    assert AuditEvent.objects.filter(action="consent_template.publish").count() >= 6


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona"])
def test_staff_who_write_record_a_signature(client_for, world, persona):
    client = client_for(persona)
    page = client.get(sign_url(world))
    assert page.status_code == 200
    assert template(world).body_sha256 in page.content.decode()
    response = client.post(sign_url(world), {"signed_name": "Ana Silva", "signature": SIGNATURE})
    assert response.status_code == 302
    consent = SignedConsent.objects.get()
    assert consent.body_sha256 == template(world).body_sha256
    assert bytes(consent.signature_png) == PNG
    assert consent.witnessed_by == world.persona(persona)
    assert AuditEvent.objects.filter(action="consent.sign", patient=world.acme_patient).exists()
    assert "Signed" in client.get(tab(world)).content.decode()


def test_signing_the_same_version_twice_is_refused(client_for, world):
    client = client_for("paul")
    data = {"signed_name": "Ana Silva", "signature": SIGNATURE}
    client.post(sign_url(world), data)
    before = writes()
    response = client.post(sign_url(world), data)
    assert response.status_code == 422
    assert "already signed this version" in response.content.decode()
    assert writes() == before


def test_an_outdated_version_cannot_be_signed_and_old_signatures_are_flagged(client_for, world):
    client = client_for("paul")
    old_url = sign_url(world)
    client.post(old_url, {"signed_name": "Ana Silva", "signature": SIGNATURE})
    consent_template_publish(
        organisation=world.acme,
        code="hair_mesotherapy",
        title="Hair mesotherapy",
        body=template(world).body + "\nA new paragraph.",
        acting_user=world.alice,
    )
    chart = client.get(reverse("patients:chart", args=[world.acme_patient.pk])).content.decode()
    assert "signed against version 1; the current text is version 2" in chart
    before = writes()
    response = client.post(old_url, {"signed_name": "Ana Silva", "signature": SIGNATURE})
    assert response.status_code == 422
    assert "outdated" in response.content.decode()
    assert writes() == before


def test_withdrawal_keeps_the_record_and_cannot_happen_twice(client_for, world):
    client = client_for("fiona")
    client.post(
        sign_url(world, "photography"), {"signed_name": "Ana Silva", "signature": SIGNATURE}
    )
    consent = SignedConsent.objects.get()
    url = reverse("patients:consent_withdraw", args=[consent.pk])
    client.post(url, {"reason": ""})
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert client.post(url, {"reason": "Does not want photographs."}).status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawn_by == world.fiona
    response = client.post(url, {"reason": "again"}, follow=True)
    assert "already withdrawn" in response.content.decode()
    assert SignedConsent.objects.count() == 1
    chart = client.get(reverse("patients:chart", args=[world.acme_patient.pk])).content.decode()
    assert "Photographs of the scalp: consent withdrawn." in chart
    assert AuditEvent.objects.filter(action="consent.withdraw").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"signed_name": "", "signature": SIGNATURE}, "The patient types their name."),
        ({"signed_name": "Ana Silva", "signature": ""}, "draws their signature"),
        (
            {"signed_name": "Ana Silva", "signature": "data:image/png;base64,!!!"},
            "could not be read",
        ),
        (
            {"signed_name": "Ana Silva", "signature": "data:text/html;base64,PGI+"},
            "could not be read",
        ),
        (
            {
                "signed_name": "Ana Silva",
                "signature": "data:image/png;base64," + base64.b64encode(b"GIF89a").decode(),
            },
            "could not be read",
        ),
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_written(client_for, world, data, message):
    client = client_for("paul")
    before = writes()
    response = client.post(sign_url(world), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert writes() == before


def test_the_auditor_reads_but_cannot_sign_or_withdraw(client_for, world):
    consent = consent_sign(
        patient=world.acme_patient,
        template=template(world),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    client = client_for("audrey")
    assert client.get(tab(world)).status_code == 200
    assert client.get(sign_url(world, "prp")).status_code == 403
    url = reverse("patients:consent_withdraw", args=[consent.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_another_organisation_gets_404_everywhere(client_for, world):
    consent = consent_sign(
        patient=world.acme_patient,
        template=template(world),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    client = client_for("oscar")
    assert client.get(sign_url(world)).status_code == 404
    assert client.get(reverse("patients:consent_pdf", args=[consent.pk])).status_code == 404
    url = reverse("patients:consent_withdraw", args=[consent.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_or_deactivated_go_to_sign_in(client_for, world, persona):
    response = client_for(persona).post(
        sign_url(world), {"signed_name": "A", "signature": SIGNATURE}
    )
    assert response.status_code == 302
    assert not SignedConsent.objects.exists()


def test_the_pdf_holds_the_text_and_is_a_chart_read(client_for, world):
    consent = consent_sign(
        patient=world.acme_patient,
        template=template(world),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    client = client_for("audrey")
    before = AuditEvent.objects.filter(action="patient.read").count()
    response = client.get(reverse("patients:consent_pdf", args=[consent.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="patient.read").count() == before + 1


def test_a_signature_on_another_organisations_text_is_refused(world):
    from mesoclinic.core.errors import DomainError

    other_text = ConsentTemplate.objects.filter(organisation=world.other).first()
    with pytest.raises(DomainError):
        consent_sign(
            patient=world.acme_patient,
            template=other_text,
            signed_name="Ana",
            signature_png=PNG,
            acting_user=world.paul,
        )


def test_the_consents_tab_costs_the_same_with_one_or_ten_signatures(client_for, world):
    client = client_for("paul")
    first = consent_sign(
        patient=world.acme_patient,
        template=template(world, "prp"),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    client.get(tab(world))
    with CaptureQueriesContext(connection) as few:
        client.get(tab(world))
    consent_withdraw(consent=first, reason="changed mind", acting_user=world.paul)
    for _ in range(9):
        signed = consent_sign(
            patient=world.acme_patient,
            template=template(world, "prp"),
            signed_name="Ana Silva",
            signature_png=PNG,
            acting_user=world.paul,
        )
        consent_withdraw(consent=signed, reason="again", acting_user=world.paul)
    with CaptureQueriesContext(connection) as many:
        client.get(tab(world))
    assert len(many) == len(few)


def test_a_treatment_screened_for_needs_its_consent_and_the_chart_says_so(client_for, world):
    from django.utils import timezone

    from mesoclinic.screening.services import screening_run

    client = client_for("paul")
    chart = reverse("patients:chart", args=[world.acme_patient.pk])
    assert "consent not signed yet" not in client.get(chart).content.decode()
    screening_run(
        patient=world.acme_patient,
        protocol_kind="combined",
        ingredients=[],
        screened_on=timezone.localdate(),
        acting_user=world.paul,
    )
    page = client.get(chart).content.decode()
    assert "Hair mesotherapy: consent not signed yet." in page
    assert "Platelet-rich plasma (PRP): consent not signed yet." in page
    consent_sign(
        patient=world.acme_patient,
        template=template(world, "prp"),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    page = client.get(chart).content.decode()
    assert "Platelet-rich plasma (PRP): consent not signed yet." not in page
    assert "Hair mesotherapy: consent not signed yet." in page


def text_url(code="prp"):
    return reverse("consent_text_edit", args=[code])


def test_an_admin_publishes_a_new_version_and_old_signatures_are_flagged(client_for, world):
    consent_sign(
        patient=world.acme_patient,
        template=template(world, "prp"),
        signed_name="Ana Silva",
        signature_png=PNG,
        acting_user=world.paul,
    )
    client = client_for("alice")
    form = client.get(text_url())
    assert form.status_code == 200
    body = template(world, "prp").body + "\n\nWe now also record your platelet count."
    response = client.post(text_url(), {"title": "Platelet-rich plasma (PRP)", "body": body})
    assert response.status_code == 302
    assert template(world, "prp").version == 2
    assert template(world, "prp").body == body
    chart = client.get(reverse("patients:chart", args=[world.acme_patient.pk])).content.decode()
    assert "signed against version 1; the current text is version 2" in chart
    assert AuditEvent.objects.filter(action="consent_template.publish", actor=world.alice).exists()


def test_publishing_an_unchanged_text_is_refused(client_for, world):
    client = client_for("alice")
    current = template(world, "prp")
    response = client.post(text_url(), {"title": current.title, "body": current.body})
    assert response.status_code == 422
    assert "Nothing changed" in response.content.decode()
    assert template(world, "prp").version == 1


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey"])
def test_only_admins_edit_consent_texts(client_for, world, persona):
    client = client_for(persona)
    assert client.get(text_url()).status_code == 403
    assert client.post(text_url(), {"title": "X", "body": "Y"}).status_code == 403
    assert template(world, "prp").version == 1


def test_an_unknown_text_is_404_and_another_organisations_admin_edits_only_its_own(
    client_for, world
):
    assert client_for("alice").get(text_url("no-such-text")).status_code == 404
    oscar = client_for("oscar")
    oscar.post(text_url(), {"title": "Other PRP", "body": "Other clinic's text."})
    assert template(world, "prp").version == 1  # Acme's text untouched
    others = ConsentTemplate.objects.filter(organisation=world.other, code="prp")
    assert others.latest("version").version == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "body": "x"}, "Title is required."),
        ({"title": "PRP", "body": ""}, "required"),
    ],
)
def test_a_blank_title_or_text_is_refused(client_for, world, data, message):
    response = client_for("alice").post(text_url(), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert template(world, "prp").version == 1
