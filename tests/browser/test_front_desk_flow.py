"""A front-desk day in a real browser: sign in, register, search, open the chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_front_desk_registers_a_patient_finds_them_and_opens_the_chart(page, shot, world):
    sign_in(page, "fiona@acme.test", PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    shot("dashboard")

    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    shot("patient-list")

    page.get_by_role("link", name="Register a patient").first.click()
    page.get_by_label("Given name").fill("Beatriz")
    page.get_by_label("Family name").fill("Okonkwo-Lindqvist")
    page.get_by_label("Date of birth").fill("1990-07-21")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_label("Email").fill("beatriz@example.com")
    page.get_by_label("Phone").fill("+44 7700 900555")
    shot("patient-new")
    page.get_by_role("button", name="Register patient").click()

    expect(page.get_by_role("heading", name="Beatriz Okonkwo-Lindqvist")).to_be_visible()
    patient = Patient.objects.get(family_name="Okonkwo-Lindqvist")
    expect(page.get_by_text(patient.mrn, exact=True)).to_be_visible()

    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Search patients").fill("okonkwo")
    # htmx swaps the results in as the user types.
    result = page.get_by_role("link", name="Okonkwo-Lindqvist, Beatriz")
    expect(result).to_be_visible()
    expect(page.get_by_role("link", name="Silva, Ana")).to_have_count(0)
    shot("patient-search")
    result.click()

    expect(page.get_by_role("heading", name="Beatriz Okonkwo-Lindqvist")).to_be_visible()
    expect(page.get_by_role("navigation", name="Chart sections")).to_be_visible()
    shot("patient-chart")
    assert AuditEvent.objects.filter(action="patient.create", patient=patient).count() == 1
    assert AuditEvent.objects.filter(action="patient.read", patient=patient).count() >= 1
