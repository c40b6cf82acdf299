"""Protocols and the formulation library in a real browser, with screenshots to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mesoclinic.protocols.models import Formulation, Protocol
from mesoclinic.protocols.views import RANGE_DASH
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def phrase(text: str) -> str:
    """A schedule as the page writes it: ranges held together by word joiners."""
    return text.replace("–", RANGE_DASH)


HAIR = "Hair mesotherapy (vitamin, amino-acid, peptide and hyaluronic acid cocktail)"


def test_admin_reads_edits_and_versions_a_protocol(page, shot, world):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.goto("/protocols/")
    expect(page.get_by_role("heading", name="Protocols", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Submental (double chin)")).to_be_visible()
    expect(page.get_by_text(phrase("6–8 sessions every 14–21 days (usually 14)"))).to_be_visible()
    shot("protocols")

    page.get_by_role("link", name=HAIR, exact=True).click()
    expect(page.get_by_role("heading", name=HAIR)).to_be_visible()
    expect(page.get_by_role("heading", name="Version history")).to_be_visible()
    expect(page.get_by_text("B-complex vitamins: dose not set")).to_be_visible()
    shot("protocol-detail")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Fewest induction sessions")).to_have_value("6")
    shot("protocol-edit")
    page.get_by_label("Longest induction interval (days)").fill("10")
    page.get_by_label("Maintenance sessions").fill("2")
    page.get_by_label("Shortest maintenance interval (days)").fill("")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(
        page.get_by_text("The longest induction interval is shorter than the shortest")
    ).to_be_visible()
    expect(page.get_by_text("Needed when maintenance sessions are planned.")).to_be_visible()
    expect(page.get_by_text("Say what changed")).to_be_visible()
    shot("protocol-edit-errors")

    page.get_by_label("Longest induction interval (days)").fill("28")
    page.get_by_label("Shortest maintenance interval (days)").fill("60")
    page.get_by_label("What changed").fill("Allow up to four weeks between sessions")
    page.get_by_role("button", name="Save as version 2").click()
    expect(
        page.get_by_text("Version 2 saved. Courses already planned keep their version.")
    ).to_be_visible()
    expect(page.get_by_text(phrase("6–8 sessions every 14–28 days (usually 14)"))).to_be_visible()
    page.get_by_role("link", name="Version 1").click()
    expect(page.get_by_text("An earlier version, kept exactly as it was written")).to_be_visible()
    expect(page.get_by_text(phrase("6–8 sessions every 14–21 days (usually 14)"))).to_be_visible()
    shot("protocol-version-old")
    protocol = Protocol.objects.get(organisation=world.acme, code="hair-mesotherapy")
    assert protocol.versions.count() == 2


def test_admin_edits_a_formulation_and_a_bad_line_is_explained(page, shot, world):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.goto("/protocols/formulations/")
    expect(page.get_by_role("heading", name="Formulation library")).to_be_visible()
    shot("formulations")
    page.get_by_role("link", name="Edit Multivitamin cocktail").click()
    expect(page.get_by_role("heading", name="Edit Multivitamin cocktail")).to_be_visible()
    page.get_by_label("Concentration, line 1").fill("0.5")
    page.get_by_label("Ingredient, line 7").select_option("vitamin_c")
    page.get_by_role("button", name="Save formulation").click()
    expect(page.get_by_text("Choose the unit of the concentration.")).to_be_visible()
    expect(page.get_by_text("Vitamin C is listed twice; keep one line.")).to_be_visible()
    shot("formulation-edit")
    page.get_by_label("Unit, line 1").select_option("mg_per_ml")
    page.get_by_label("Ingredient, line 7").select_option("biotin")
    page.get_by_role("button", name="Save formulation").click()
    expect(page.get_by_text("“Multivitamin cocktail” saved.")).to_be_visible()
    expect(page.get_by_text("B-complex vitamins: 0.5 mg/mL")).to_be_visible()
    formulation = Formulation.objects.get(organisation=world.acme, name="Multivitamin cocktail")
    assert [line.code for line in formulation.ingredients.all()][-1] == "biotin"


def test_a_practitioner_reads_but_sees_no_edit_buttons(page, shot, world):
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto("/protocols/")
    expect(page.get_by_role("link", name="PRP for hair")).to_be_visible()
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Withdraw PRP for hair")).to_have_count(0)
    shot("protocols-practitioner")
