"""Side effects in a real browser: after Rita's first session the practitioner records her
itching from the chart, with the grade descriptions shown as the grade is chosen; three
days later (the clock moved) the daily check flags it prolonged, emails Paul once over a
real SMTP server on loopback, and the chart, the dashboard and the event page say so; the
practitioner closes it with its outcome. The safety page then shows the rates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from mesoclinic.safety import catalogue
from mesoclinic.safety.models import AdverseEvent, Outcome
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.safety.conftest import EVENING, signed_visit  # noqa: F401 (fixture)
from tests.safety.factories import Given, history
from tests.treatments.conftest import (  # noqa: F401 (fixtures used by signed_visit)
    chart_content,
    stocked,
    todays_appointment,
)
from tests.treatments.test_images import jpeg_with_exif

pytestmark = pytest.mark.browser


def test_itching_is_recorded_flagged_prolonged_three_days_later_and_resolved(
    page,
    live_server,
    shot,
    world,
    signed_visit,  # noqa: F811
    fixed_clock,
    smtp_server,
):
    patient = signed_visit.patient
    itching = catalogue.term("pruritus")

    # 1. From the chart's Sessions tab to the side-effect form of that session.
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/patients/{patient.pk}/sessions/")
    page.get_by_role("link", name="Record a side effect").first.click()
    expect(page.get_by_role("heading", name="Record a side effect")).to_be_visible()
    expect(page.get_by_label(f"{signed_visit.performed_on:%d %b %Y}", exact=False)).to_be_checked()

    # 2. The grade descriptions follow the side effect chosen.
    page.locator("#id_term").select_option("pruritus")
    expect(page.locator('[data-grade-text="1"]')).to_have_text(itching.grade_description(1))
    expect(page.locator('[data-grade-text="3"]')).to_have_text(itching.grade_description(3))
    page.get_by_label("Onset (date and time)").fill("2026-12-02T20:00")
    page.get_by_label("Reported by").select_option("patient")
    page.locator('input[name="grade"][value="1"]').check()
    page.get_by_label("Cold compress").check()
    page.get_by_label("Description").fill("Itching over the vertex since this evening.")
    shot("side-effect-form")
    page.get_by_role("button", name="Record the side effect").click()

    expect(page.get_by_text("Side effect recorded.")).to_be_visible()
    expect(page.get_by_role("heading", name="Pruritus (itching)")).to_be_visible()
    expect(page.get_by_text("Prolonged.")).to_have_count(0)
    expect(page.get_by_text("HC-2401").first).to_be_visible()
    shot("side-effect-recorded")
    event = AdverseEvent.objects.get()
    assert event.onset_at == EVENING and event.grade == 1

    # 3. Three days later the itching is still there: the daily check flags it, once.
    fixed_clock.set(EVENING + dt.timedelta(days=3))
    call_command("safety_check")
    call_command("safety_check")
    assert [m.recipients for m in smtp_server.messages] == [["paul@acme.test"]]
    assert "longer than expected" in smtp_server.messages[0].subject

    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_text("Side effect lasting longer than expected")).to_be_visible()
    shot("side-effect-chart-alert")
    page.goto("/")
    expect(
        page.get_by_role("heading", name="Your patients' side effects needing attention")
    ).to_be_visible()
    expect(page.locator(".badge.warn", has_text="Prolonged")).to_be_visible()
    shot("side-effect-dashboard")

    # 4. The practitioner follows it up and closes it.
    page.get_by_role("link", name="Pruritus (itching)").click()
    expect(page.get_by_text("Prolonged.")).to_be_visible()
    page.get_by_label("Follow-up note").fill("Phoned: much better, a little itch at night.")
    page.get_by_role("button", name="Add the follow-up").click()
    expect(page.get_by_text("Follow-up added.")).to_be_visible()
    page.locator("#id_photo-photo").set_input_files(
        files=[{"name": "itch.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_exif()}]
    )
    page.get_by_label("Caption").fill("Vertex, third evening")
    page.get_by_role("button", name="Add the photo").click()
    expect(page.get_by_text("Photo added (location and camera data removed).")).to_be_visible()
    expect(page.get_by_role("img", name="Vertex, third evening")).to_be_visible()
    page.locator("#id_close-outcome").select_option("resolved")
    page.get_by_label("Resolved on").fill("2026-12-05")
    page.get_by_label("Closing note").fill("Gone this morning.")
    shot("side-effect-prolonged")
    page.get_by_role("button", name="Close the side effect").click()
    expect(page.get_by_text("Side effect closed.")).to_be_visible()
    expect(page.get_by_text("Prolonged.")).to_have_count(0)
    expect(page.get_by_text("Lasted 3 days, longer than expected")).to_be_visible()
    shot("side-effect-resolved")
    event.refresh_from_db()
    assert event.outcome == Outcome.RESOLVED and event.resolved_on == dt.date(2026, 12, 5)

    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_text("Side effect lasting longer than expected")).to_have_count(0)
    page.get_by_role("link", name="Side effects").click()
    expect(page.get_by_role("cell", name="Resolved · 5 Dec 2026")).to_be_visible()
    shot("side-effects-tab")

    # 5. The safety page counts it.
    page.goto("/safety/?start=2026-11-01&end=2026-12-05")
    expect(
        page.get_by_text("1 of 1 signed sessions were followed by at least one side effect")
    ).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()
    shot("safety-page")


def test_the_safety_page_highlights_the_lot_with_clearly_more_side_effects(
    page,
    live_server,
    shot,
    world,
    calendar,
    stocked,  # noqa: F811
):
    # November: Paul gave 20 sessions from lot HC-2401 (one followed by redness), Alice 10
    # from HC-2402 (seven followed by itching).
    nov = dt.date(2026, 11, 2)
    history(
        world,
        [
            Given(
                day=nov + dt.timedelta(days=i % 20),
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                terms=("erythema",) if i == 0 else (),
            )
            for i in range(20)
        ]
        + [
            Given(
                day=nov + dt.timedelta(days=i),
                lot=stocked.lot_b,
                practitioner=world.alice,
                version=calendar.hair,
                terms=("pruritus",) if i < 7 else (),
            )
            for i in range(10)
        ],
    )
    sign_in(page, "audrey@acme.test", PASSWORD)
    page.goto("/safety/?start=2026-11-01&end=2026-11-30")
    expect(page.get_by_text("8 of 30 signed sessions were followed")).to_be_visible()
    lots = page.locator("section", has=page.get_by_role("heading", name="By lot"))
    expect(lots.locator("tr.above")).to_have_count(1)
    expect(lots.locator("tr.above")).to_contain_text("HC-2402")
    expect(lots.locator("svg text", has_text="above")).to_have_count(1)
    shot("safety-page-highlight")
