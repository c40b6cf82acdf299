"""Screening a patient from the chart: stored, signed, reproducible, overridable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.services import intake_record
from mesoclinic.screening.models import Screening, ScreeningOverride
from mesoclinic.screening.selectors import screening_permits
from mesoclinic.screening.services import screening_replay, screening_run

DUTASTERIDE = {"protocol_kind": "mesotherapy", "ingredients": ["dutasteride", "lidocaine"]}


def new_url(patient):
    return reverse("screening:new", args=[patient.pk])


def tab_url(patient):
    return reverse("patients:chart_tab", args=[patient.pk, "screening"])


@pytest.fixture
def pregnant_intake(world):
    """Ana is pregnant, answered today; everything else answered no."""
    from mesoclinic.patients.intake import YES_NO_QUESTIONS

    answers = {name: False for name in YES_NO_QUESTIONS}
    answers.update(pregnant=True, could_become_pregnant=True, shedding="none", allergen_codes=[])
    return intake_record(patient=world.acme_patient, answers=answers, acting_user=world.paul)


def test_a_pregnant_patient_is_not_eligible_for_dutasteride_with_reason_and_source(
    client_for, world, pregnant_intake
):
    client = client_for("paul")
    response = client.post(new_url(world.acme_patient), DUTASTERIDE)
    assert response.status_code == 302
    screening = Screening.objects.get(patient=world.acme_patient)
    assert screening.outcome == "not_eligible"
    assert screening.screened_by == world.paul
    assert screening.rule_set_version == "2026-11-1"
    rule_ids = [r["rule_id"] for r in screening.reasons]
    assert "dutasteride.pregnancy_potential" in rule_ids
    page = client.get(tab_url(world.acme_patient)).content.decode()
    assert "Not eligible" in page
    assert "drugs.com" in page  # the reason's source is shown
    assert not screening_permits(patient=world.acme_patient, protocol_kind="mesotherapy")
    event = AuditEvent.objects.get(action="screening.create")
    assert event.changes["outcome"] == {"new": "not_eligible"}


def test_the_stored_facts_and_rule_set_reproduce_the_decision(world, pregnant_intake):
    screening = screening_run(
        patient=world.acme_patient,
        protocol_kind="prp",
        ingredients=[],
        screened_on=timezone.localdate(),
        acting_user=world.paul,
    )
    assert screening_replay(screening).to_dict() == screening.decision


def test_without_an_intake_the_screening_asks_instead_of_saying_eligible(world):
    screening = screening_run(
        patient=world.acme_patient,
        protocol_kind="mesotherapy",
        ingredients=[],
        screened_on=timezone.localdate(),
        acting_user=world.paul,
    )
    assert screening.outcome == "defer"
    assert any("first" in r["message"] for r in screening.reasons)


def test_answers_that_hold_only_for_a_while_are_not_trusted_from_an_old_intake(
    world, pregnant_intake
):
    later = timezone.localdate() + dt.timedelta(days=30)
    screening = screening_run(
        patient=world.acme_patient,
        protocol_kind="mesotherapy",
        ingredients=["dutasteride"],
        screened_on=later,
        acting_user=world.paul,
    )
    assert screening.facts["intake"].get("pregnant") is None
    assert screening.outcome != "eligible"


def test_an_override_needs_a_justification_and_is_shown_in_red(client_for, world, pregnant_intake):
    client = client_for("paul")
    client.post(new_url(world.acme_patient), {"protocol_kind": "mesotherapy", "ingredients": []})
    screening = Screening.objects.get()
    assert screening.outcome in {"defer", "not_eligible"}
    url = reverse("screening:override", args=[screening.pk])
    client.post(url, {"justification": "too short"})
    assert not ScreeningOverride.objects.exists()
    text = "Obstetrician agreed in writing; treatment after delivery only."
    assert client.post(url, {"justification": text}).status_code == 302
    override = ScreeningOverride.objects.get()
    assert override.overridden_by == world.paul
    assert screening_permits(patient=world.acme_patient, protocol_kind="mesotherapy")
    page = client.get(tab_url(world.acme_patient)).content.decode()
    assert "Overridden" in page and text in page
    assert AuditEvent.objects.filter(action="screening.override").count() == 1
    # A second override of the same screening is refused.
    client.post(url, {"justification": text + " again"})
    assert ScreeningOverride.objects.count() == 1


def test_an_eligible_screening_cannot_be_overridden(world):
    from mesoclinic.core.errors import DomainError
    from mesoclinic.screening.services import screening_override

    screening = Screening.objects.create(
        organisation=world.acme,
        patient=world.acme_patient,
        screened_on=timezone.localdate(),
        screened_by=world.paul,
        protocol_kind="prp",
        outcome="eligible",
        rule_set_version="2026-11-1",
        facts={},
        decision={"reasons": []},
    )
    with pytest.raises(DomainError):
        screening_override(screening=screening, justification="x" * 40, acting_user=world.paul)


@pytest.mark.parametrize("persona", ["fiona", "audrey"])
def test_front_desk_and_auditor_cannot_screen(client_for, world, persona):
    client = client_for(persona)
    assert client.get(new_url(world.acme_patient)).status_code == 403
    assert client.post(new_url(world.acme_patient), DUTASTERIDE).status_code == 403
    assert not Screening.objects.exists()
    assert client.get(tab_url(world.acme_patient)).status_code == 200


def test_another_organisation_gets_404(client_for, world):
    client = client_for("oscar")
    assert client.post(new_url(world.acme_patient), DUTASTERIDE).status_code == 404
    screening = screening_run(
        patient=world.acme_patient,
        protocol_kind="prp",
        ingredients=[],
        screened_on=timezone.localdate(),
        acting_user=world.paul,
    )
    url = reverse("screening:override", args=[screening.pk])
    assert client.post(url, {"justification": "x" * 40}).status_code == 404
    assert not ScreeningOverride.objects.exists()


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_or_deactivated_go_to_sign_in(client_for, world, persona):
    response = client_for(persona).post(new_url(world.acme_patient), DUTASTERIDE)
    assert response.status_code == 302
    assert not Screening.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the planned protocol or treatment."),
        ({"protocol_kind": "surgery"}, "Select a valid choice"),
        ({"protocol_kind": "prp", "ingredients": ["plutonium"]}, "Select a valid choice"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(client_for, world, data, message):
    client = client_for("paul")
    before = AuditEvent.objects.count()
    response = client.post(new_url(world.acme_patient), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Screening.objects.exists()
    assert AuditEvent.objects.count() == before


def test_the_chart_alerts_on_a_screening_that_does_not_allow_treatment(
    client_for, world, pregnant_intake
):
    client = client_for("fiona")
    screening_run(
        patient=world.acme_patient,
        protocol_kind="mesotherapy",
        ingredients=["dutasteride"],
        screened_on=timezone.localdate(),
        acting_user=world.paul,
    )
    page = client.get(reverse("patients:chart", args=[world.acme_patient.pk])).content.decode()
    assert "Screening for Mesotherapy on" in page and "Not eligible" in page


def test_screening_for_a_protocol_reads_its_treatment_and_formulation(
    client_for, world, pregnant_intake
):
    from mesoclinic.protocols.models import Protocol

    version = Protocol.objects.get(
        organisation=world.acme, code="dutasteride-mesotherapy"
    ).current_version
    client = client_for("paul")
    page = client.get(new_url(world.acme_patient)).content.decode()
    assert "Dutasteride-containing hair mesotherapy" in page  # offered in the form
    response = client.post(new_url(world.acme_patient), {"protocol": version.pk})
    assert response.status_code == 302
    screening = Screening.objects.get(patient=world.acme_patient)
    assert screening.protocol_version == version
    assert screening.protocol_kind == "mesotherapy"
    assert screening.ingredients == ["dutasteride"]
    assert screening.outcome == "not_eligible"
    assert "dutasteride.pregnancy_potential" in [r["rule_id"] for r in screening.reasons]


def test_another_organisations_protocol_cannot_be_chosen(client_for, world, pregnant_intake):
    from mesoclinic.protocols.models import Protocol

    theirs = Protocol.objects.get(organisation=world.other, code="hair-mesotherapy")
    response = client_for("paul").post(
        new_url(world.acme_patient), {"protocol": theirs.current_version_id}
    )
    assert response.status_code == 422
    assert not Screening.objects.exists()
