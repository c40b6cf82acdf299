"""Inventory in a real browser: an admin receives a lot, sees it on the stock page with its
expiry alert, recalls it and reads the list of patients who received it; screenshots of
each page to look at (test-artifacts/screenshots/)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_patient
from tests.inventory.factories import make_product, make_session, receive, today

pytestmark = pytest.mark.browser


def test_admin_receives_sees_the_alert_recalls_and_reads_the_recall_list(page, shot, world):
    vial = make_product(world, "Multivitamin cocktail vial", threshold="5")
    make_product(world, "Biotin home serum", kind="retail", unit="piece")
    dutasteride = make_product(world, "Dutasteride 0.01% ampoule", threshold="20")
    receive(world, dutasteride, "DU-5520", "12", expires_in_days=240)
    receive(world, vial, "MV-0990", "3", expires_in_days=400)
    day = today(world)
    soon = day + dt.timedelta(days=12)

    sign_in(page, "alice@acme.test", PASSWORD)
    page.goto("/inventory/receive/")
    expect(page.get_by_role("heading", name="Receive stock")).to_be_visible()
    page.get_by_label("Product").select_option(label="Multivitamin cocktail vial (mL)")
    page.get_by_label("Lot number").fill("a2417 b")
    page.get_by_label("Expiry date").fill((day - dt.timedelta(days=3)).isoformat())
    page.get_by_label("Quantity received").fill("0")
    page.get_by_label("Supplier").fill("MesoPharm Ltd")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(page.get_by_text("this one contains a space")).to_be_visible()
    expect(page.get_by_text("is already past: expired stock cannot be used")).to_be_visible()
    expect(page.get_by_text("A quantity of zero changes nothing.")).to_be_visible()
    shot("inventory-receive-errors")
    assert not Lot.objects.filter(lot_number__startswith="A2417").exists()

    page.get_by_label("Lot number").fill("a2417-b")
    page.get_by_label("Expiry date").fill(soon.isoformat())
    page.get_by_label("Quantity received").fill("10")
    shot("inventory-receive")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(
        page.get_by_text("Received 10 mL of Multivitamin cocktail vial lot A2417-B at Acme City.")
    ).to_be_visible()
    lot = Lot.objects.get(lot_number="A2417-B")

    page.get_by_role("link", name="← Stock").click()
    expect(page.get_by_role("heading", name="Stock · Acme City")).to_be_visible()
    alerts = page.locator("section", has=page.get_by_role("heading", name="Alerts"))
    expect(alerts).to_contain_text(
        f"Multivitamin cocktail vial lot A2417-B expires on {soon.day} {soon:%b %Y}: "
        "10 mL at Acme City. Use it first."
    )
    expect(alerts).to_contain_text(
        "Dutasteride 0.01% ampoule: 12 mL usable at Acme City, below the 20 mL to keep."
    )
    expect(page.get_by_role("cell", name="Expires in 12 days")).to_be_visible()
    shot("inventory-home")

    # Two patients were treated with the lot in signed sessions; a third only in a draft.
    ana = world.acme_patient
    make_session(world, ana, lines=[(lot, "0.5", "vertex"), (lot, "0.5", "frontal")])
    ben = make_patient(
        world.acme,
        world.fiona,
        given_name="Ben",
        family_name="Okafor",
        email="ben.okafor@example.com",
        phone="+44 7700 900456",
        date_of_birth=dt.date(1990, 7, 2),
    )
    make_session(
        world,
        ben,
        lines=[(lot, "1.5", "mid_scalp")],
        performed_on=day,
        practitioner=world.alice,
        clinic=world.acme_river,
    )
    draft_only = make_patient(world.acme, world.fiona, given_name="Dee", family_name="Draft")
    make_session(world, draft_only, lines=[(lot, "1", "vertex")], signed=False)

    page.get_by_role("link", name="A2417-B").click()
    expect(
        page.get_by_role("heading", name="Multivitamin cocktail vial · lot A2417-B")
    ).to_be_visible()
    page.get_by_label("Reason for the recall").fill(
        "Manufacturer notice MN-2026-14: possible contamination"
    )
    page.get_by_role("button", name="Recall this lot").click()
    expect(page.get_by_role("alert")).to_contain_text("Recalled on")
    expect(page.get_by_role("alert")).to_contain_text("by Alice Admin.")
    expect(page.get_by_role("alert")).to_contain_text("possible contamination")
    patients = page.locator(
        "section", has=page.get_by_role("heading", name="Patients who received this lot")
    )
    expect(patients.get_by_role("link", name="Ana Silva")).to_be_visible()
    expect(patients.get_by_role("link", name="Ben Okafor")).to_be_visible()
    expect(patients).to_contain_text("ben.okafor@example.com")
    expect(patients).not_to_contain_text("Dee Draft")
    expect(page.get_by_role("link", name="Download the list (CSV)")).to_be_visible()
    expect(page.get_by_role("button", name="Recall this lot")).to_have_count(0)
    shot("inventory-lot-recalled")
    assert Lot.objects.get(pk=lot.pk).is_recalled
    assert AuditEvent.objects.filter(action="recall.read", actor=world.alice).exists()

    page.goto("/inventory/")
    alerts = page.locator("section", has=page.get_by_role("heading", name="Alerts"))
    expect(alerts).to_contain_text("lot A2417-B is recalled, and 10 mL are still at Acme City.")
    page.goto("/inventory/recall/?q=a24")
    expect(page.get_by_role("link", name="A2417-B")).to_be_visible()
    shot("inventory-recall-search")

    page.get_by_role("link", name="A2417-B").click()
    patients = page.locator(
        "section", has=page.get_by_role("heading", name="Patients who received this lot")
    )
    patients.get_by_role("link", name="Ben Okafor").click()
    expect(page).to_have_url(f"{page.url.split('/patients/')[0]}/patients/{ben.pk}/")


def test_a_front_desk_member_sees_stock_but_no_recall_form(page, shot, world):
    lot = receive(world, make_product(world), "FD-1", "4", expires_in_days=90)
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto(f"/inventory/lots/{lot.pk}/")
    expect(page.get_by_text("Only an admin can recall a lot.")).to_be_visible()
    expect(page.get_by_role("button", name="Recall this lot")).to_have_count(0)
    expect(page.get_by_role("link", name="Adjust")).to_be_visible()
    shot("inventory-lot-front-desk")
