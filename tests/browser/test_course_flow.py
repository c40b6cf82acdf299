"""The course, end to end in a real browser: the front desk starts a course for a screened,
consented patient and sees every session booked on the calendar, moves one, marks one
missed and sees the rest re-planned; the patient gets a reminder over SMTP; the
practitioner's calendar client subscribes to the private feed."""

from __future__ import annotations

import datetime as dt
import re
import urllib.request

import icalendar
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from mesoclinic.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Course,
    CourseSession,
)
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import PASSWORD
from tests.scheduling_fixtures import FIXED_NOW, LONDON

pytestmark = pytest.mark.browser


def active(session: CourseSession) -> Appointment:
    return Appointment.objects.get(course_session=session, status__in=ACTIVE_STATUSES)


def sessions(course: Course) -> list[CourseSession]:
    return list(course.sessions.order_by("position"))


def local_day(appointment: Appointment) -> dt.date:
    return appointment.starts_at.astimezone(LONDON).date()


def test_a_course_from_start_to_reminder_and_feed(
    page, browser, live_server, shot, calendar, ready_patient, smtp_server, fixed_clock
):
    # 1. The front desk starts the course from the chart.
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto(f"/patients/{ready_patient.pk}/course/")
    page.get_by_role("link", name="Start a course").click()
    page.get_by_label("Protocol").select_option(value=str(calendar.hair.pk))
    page.locator("#id_clinic").select_option(label="Acme City")
    page.locator("#id_practitioner").select_option(label="Paul Practitioner")
    expect(page.get_by_label("First session from")).to_have_value(FIXED_NOW.date().isoformat())
    shot("course-new")
    page.get_by_role("button", name="Plan and book the course").click()

    expect(page.get_by_text("11 sessions booked.")).to_be_visible()
    course = Course.objects.get(patient=ready_patient)
    rows = sessions(course)
    assert all(r.status == "booked" for r in rows)
    expect(page.locator("table.course-sessions tbody tr")).to_have_count(11)
    shot("course-tab")

    # 2. Every session is on the calendar: this week's first one, and a later week's.
    page.get_by_role("link", name="Calendar", exact=True).click()
    page.locator("main").get_by_label("Clinic").select_option(label="Acme City")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Rita Ready").first).to_be_visible()
    shot("course-calendar-week")
    fourth_day = local_day(active(rows[3]))
    page.goto(f"/calendar/?clinic={calendar.world.acme_city.pk}&date={fourth_day.isoformat()}")
    expect(page.get_by_text("Rita Ready")).to_have_count(1)

    # 3. Move the second session to another free time inside its window.
    second = active(rows[1])
    page.goto(f"/calendar/appointments/{second.pk}/")
    slot = page.locator("#move-slots button.slot").nth(5)
    expect(slot).to_be_visible()
    new_start = dt.datetime.fromisoformat(slot.get_attribute("value") or "")
    slot.click()
    expect(page.get_by_text(re.compile("moved", re.IGNORECASE)).first).to_be_visible()
    second.refresh_from_db()
    assert second.starts_at == new_start
    rows = sessions(course)
    assert rows[1].earliest_on <= local_day(second) <= rows[1].latest_on
    assert rows[2].earliest_on == local_day(second) + dt.timedelta(days=14)
    shot("course-appointment-moved")

    # 4. The first session is missed: it is re-booked and the rest is re-planned.
    first = active(rows[0])
    assert local_day(first) == FIXED_NOW.date()
    fixed_clock.set(first.starts_at + dt.timedelta(minutes=30))  # the patient has not come
    page.goto(f"/calendar/appointments/{first.pk}/")
    page.get_by_role("button", name="Mark missed (no-show)").click()
    expect(page.get_by_text(re.compile("missed", re.IGNORECASE)).first).to_be_visible()
    first.refresh_from_db()
    assert first.status == AppointmentStatus.NO_SHOW
    rows = sessions(course)
    rebooked = active(rows[0])
    assert local_day(rebooked) > FIXED_NOW.date()
    # The second session now follows the re-booked first one.
    assert rows[1].earliest_on == local_day(rebooked) + dt.timedelta(days=14)
    assert rows[1].earliest_on <= local_day(active(rows[1])) <= rows[1].latest_on
    page.goto(f"/patients/{ready_patient.pk}/course/")
    expect(page.locator("table.course-sessions tbody tr").first).to_contain_text(
        f"{local_day(rebooked):%a %-d %b %Y}"
    )
    expect(page.locator("table.course-sessions tbody tr").first).to_contain_text("missed (no-show)")
    shot("course-tab-replanned")

    # 5. The reminder goes to the patient over SMTP (the re-booked session is within 48 h).
    assert (local_day(rebooked) - FIXED_NOW.date()).days <= 2
    call_command("send_reminders")
    to_rita = [m for m in smtp_server.messages if "rita@example.com" in m.recipients]
    assert len(to_rita) == 1
    assert "Reminder: your appointment at Acme City" in to_rita[0].subject
    local = rebooked.starts_at.astimezone(LONDON)
    assert f"{local:%H:%M}" in to_rita[0].body
    call_command("send_reminders")  # idempotent: nothing more
    assert len([m for m in smtp_server.messages if "rita@example.com" in m.recipients]) == 1

    # 6. The practitioner creates a private feed; a calendar client subscribes to it.
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    paul = context.new_page()
    sign_in(paul, "paul@acme.test", PASSWORD)
    paul.goto("/calendar/feed/")
    paul.get_by_role("button", name="Create my feed address").click()
    feed_url = paul.get_by_label("Feed address").input_value()
    assert feed_url.startswith("http") and feed_url.endswith(".ics")
    paul.screenshot(path=str(SCREENSHOTS / "course-feed.png"), full_page=True)
    with urllib.request.urlopen(feed_url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/calendar")
        feed = icalendar.Calendar.from_ical(response.read())
    events = [c for c in feed.walk("VEVENT")]
    starts = {e.decoded("DTSTART") for e in events if str(e.get("STATUS")) == "CONFIRMED"}
    assert rebooked.starts_at in starts
    assert all("Rita" not in str(e.get("SUMMARY")) for e in events)  # no names in a feed
    assert feed.walk("VTIMEZONE"), "the feed carries its time zone"
    context.close()
