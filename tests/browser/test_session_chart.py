"""Charting in a real browser: the practitioner opens today's appointment, charts three
scalp zones on the map with a product lot, signs; the aftercare sheet reaches a real SMTP
server on loopback and stock went down by what was charted. The next visit is charted
from the previous one with two clicks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mesoclinic.inventory.models import Stock
from mesoclinic.scheduling.models import AppointmentStatus, SessionStatus
from mesoclinic.treatments.models import TreatmentSession
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.treatments.conftest import (  # noqa: F401 (fixtures used below)
    course_appointment,
    stocked,
    todays_appointment,
)

pytestmark = pytest.mark.browser


def stock_of(lot, clinic) -> Decimal:
    return Stock.objects.get(lot=lot, clinic=clinic).quantity


def test_a_session_is_charted_on_the_map_signed_and_its_aftercare_emailed(
    page,
    live_server,
    shot,
    calendar,
    stocked,  # noqa: F811
    todays_appointment,  # noqa: F811
    smtp_server,
    fixed_clock,
):
    world = calendar.world
    appointment = todays_appointment
    before = stock_of(stocked.lot_b, world.acme_city)

    # 1. From today's appointment to a draft chart.
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/calendar/appointments/{appointment.pk}/")
    page.get_by_role("button", name="Chart this session").click()
    expect(page.get_by_role("heading", name="Pre-checks")).to_be_visible()
    expect(page.locator(".checks li.fail")).to_have_count(0)

    # 2. Three zones on the map: one by mouse, two by keyboard.
    page.locator('[data-zone="vertex"]').click()
    page.locator('[data-zone="mid_scalp"]').focus()
    page.keyboard.press("Enter")
    page.locator('[data-zone="frontal_hairline"]').focus()
    page.keyboard.press(" ")
    for code, volume in (("vertex", "1.0"), ("mid_scalp", "1.0"), ("frontal_hairline", "0.5")):
        row = page.locator(f'[data-zone-row="{code}"]')
        expect(row).to_be_visible()
        # The protocol's defaults fill the row; the lot is the one that expires first.
        expect(row.get_by_label("Technique")).to_have_value("nappage")
        expect(row.get_by_label("Product and lot")).to_have_value(str(stocked.lot_b.pk))
        row.get_by_label("Volume (mL)").fill(volume)
    expect(page.locator('[data-zone-row="occipital"]')).to_be_hidden()
    page.get_by_label("Pain reported (0-10)").fill("3")
    page.get_by_label("Redness").check()
    page.get_by_label("Gentle shampoo").check()
    shot("session-chart-draft")

    # 3. Sign: one transaction takes the stock, closes the appointment, writes the sheet.
    page.get_by_role("button", name="Sign and send aftercare").click()
    expect(page.get_by_text("Signed. The aftercare sheet was emailed to")).to_be_visible()
    expect(page.get_by_role("link", name="Amend")).to_be_visible()
    shot("session-chart-signed")

    session = TreatmentSession.objects.get(appointment=appointment)
    assert session.status == "signed"
    assert {i.zone: i.volume_ml for i in session.injections.all()} == {
        "vertex": Decimal("1.00"),
        "mid_scalp": Decimal("1.00"),
        "frontal_hairline": Decimal("0.50"),
    }
    assert stock_of(stocked.lot_b, world.acme_city) == before - Decimal("2.5")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    assert appointment.course_session.status == SessionStatus.DONE

    to_rita = [m for m in smtp_server.messages if "rita@example.com" in m.recipients]
    assert len(to_rita) == 1
    assert to_rita[0].subject == "Aftercare after your treatment on 2026-12-02"
    assert "Vertex (crown)" in to_rita[0].body
    assert "Gentle shampoo" in to_rita[0].body

    page.get_by_role("link", name="Aftercare sheet").click()
    expect(page.get_by_role("heading", name="Call the clinic if")).to_be_visible()
    shot("session-aftercare-sheet")

    # 4. The next visit: the chart opens prefilled from this one; two clicks to sign.
    second = course_appointment(appointment.course_session.course, 2)
    fixed_clock.set(second.starts_at + dt.timedelta(minutes=20))
    page.goto(f"/calendar/appointments/{second.pk}/")
    page.get_by_role("button", name="Chart this session").click()
    expect(page.locator('[data-zone-row="vertex"]').get_by_label("Volume (mL)")).to_have_value(
        "1.00"
    )
    page.get_by_role("button", name="Sign and send aftercare").click()
    expect(page.get_by_text("Signed.")).to_be_visible()
    assert stock_of(stocked.lot_b, world.acme_city) == before - Decimal("5.0")
    assert len([m for m in smtp_server.messages if "rita@example.com" in m.recipients]) == 2

    # 5. The chart lists both sessions.
    page.goto(f"/patients/{appointment.patient_id}/sessions/")
    expect(page.locator("table tbody tr")).to_have_count(2)
    shot("session-chart-tab")
