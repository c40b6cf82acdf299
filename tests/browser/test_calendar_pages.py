"""The calendar pages in a real browser: the week, an appointment moved by clicking a free
time, and the schedule settings, each with a screenshot (test-artifacts/screenshots)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from mesoclinic.scheduling import services, settings_services
from mesoclinic.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.scheduling_fixtures import FIXED_NOW, LONDON

pytestmark = pytest.mark.browser

WEDNESDAY = dt.date(2026, 12, 2)  # the fixed clock's day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def consultation(world, patient, when, practitioner):
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    return services.appointment_book(
        patient=patient,
        clinic=world.acme_city,
        practitioner=practitioner,
        appointment_type=kind,
        starts_at=when,
        acting_user=world.fiona,
    )


@pytest.fixture
def busy_week(world, calendar, ready_patient, fixed_clock):
    """Rita's course (session 1 today at 09:00 with Paul) and a realistic week around it."""
    course = services.course_create(
        patient=ready_patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=WEDNESDAY,
        acting_user=world.paul,
    )
    first = course.booked[0]
    # Side by side with Rita's session: Ana sees Alice at the same time.
    consultation(world, world.acme_patient, at(WEDNESDAY, 9, 15), world.alice)
    missed = consultation(world, world.pat_patient, at(WEDNESDAY, 11), world.paul)
    # Marked missed once its time had passed; then back to the morning for the test.
    fixed_clock.set(missed.starts_at + dt.timedelta(minutes=30))
    services.appointment_no_show(appointment=missed, acting_user=world.fiona)
    fixed_clock.set(FIXED_NOW)
    thursday = WEDNESDAY + dt.timedelta(days=1)
    consultation(world, world.pat_patient, at(thursday, 14), world.alice)
    cancelled = consultation(world, world.acme_patient, at(thursday, 10), world.paul)
    services.appointment_cancel(
        appointment=cancelled, reason="Patient unwell", acting_user=world.fiona
    )
    settings_services.absence_create(
        organisation=world.acme,
        practitioner=world.alice,
        starts_at=at(WEDNESDAY + dt.timedelta(days=2), 13),
        ends_at=at(WEDNESDAY + dt.timedelta(days=2), 17),
        reason="Training",
        acting_user=world.alice,
    )
    settings_services.clinic_closure_create(
        clinic=world.acme_city,
        starts_on=WEDNESDAY - dt.timedelta(days=2),
        ends_on=WEDNESDAY - dt.timedelta(days=2),
        reason="Staff day",
        acting_user=world.alice,
    )
    return first


def test_week_view_then_move_an_appointment_by_clicking_a_free_time(page, shot, world, busy_week):
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.get_by_role("link", name="Calendar", exact=True).click()
    expect(page.get_by_role("heading", name="Week of 30 Nov to 6 Dec 2026")).to_be_visible()
    # Fiona works at Acme Riverside; she looks at Acme City's week.
    page.get_by_label("Clinic", exact=True).last.select_option(label="Acme City")
    page.get_by_role("button", name="Show").click()
    wednesday = page.get_by_role("region", name="Wed 2 Dec")
    expect(wednesday.get_by_role("link", name="Rita Ready")).to_be_visible()
    expect(page.get_by_text("Closed: Staff day")).to_be_visible()
    expect(page.get_by_text("Alice Admin away: Training")).to_be_visible()
    expect(page.get_by_role("heading", name="1 cancelled appointment")).to_be_visible()
    shot("calendar-week")

    wednesday.get_by_role("link", name="Rita Ready").click()
    expect(page.get_by_role("heading", name="Session 1 of 8: Rita Ready")).to_be_visible()
    target = page.get_by_role("button", name="Move to Thursday 3 December, 10:00")
    expect(target).to_be_visible()
    shot("appointment")
    # Another practitioner's free times replace the list (htmx), and back again.
    move = page.get_by_role("region", name="Move to another time")
    move.get_by_role("combobox", name="Practitioner").select_option(label="Alice Admin")
    expect(page.get_by_text("Free times with Alice Admin")).to_be_visible()
    move.get_by_role("combobox", name="Practitioner").select_option(label="Paul Practitioner")
    expect(page.get_by_text("Free times with Paul Practitioner")).to_be_visible()

    target.click()
    expect(
        page.get_by_text("Moved to Thu 3 Dec 2026, 10:00 with Paul Practitioner.")
    ).to_be_visible()
    busy_week.refresh_from_db()
    assert busy_week.starts_at == at(WEDNESDAY + dt.timedelta(days=1), 10)
    assert busy_week.status == AppointmentStatus.BOOKED
    # The page loads the free times again (htmx); let it finish before the test ends.
    expect(page.get_by_text("Free times with Paul Practitioner")).to_be_visible()
    shot("appointment-moved")


def test_day_view_shows_one_column_per_practitioner(page, shot, world, busy_week):
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto("/calendar/?view=day&date=2026-12-02")
    expect(page.get_by_role("region", name="Paul Practitioner")).to_be_visible()
    expect(page.get_by_role("region", name="Alice Admin")).to_be_visible()
    expect(
        page.get_by_role("region", name="Paul Practitioner").get_by_role("link", name="Rita Ready")
    ).to_be_visible()
    shot("calendar-day")


def test_schedule_settings_add_hours_and_a_closure(page, shot, world, calendar):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.goto("/calendar/")
    page.get_by_role("link", name="Rooms, hours and closures").click()
    expect(page.get_by_role("heading", name="Treatment rooms")).to_be_visible()

    hours = page.locator("#hours")
    hours.get_by_role("combobox", name="Practitioner").select_option(label="Paul Practitioner")
    hours.get_by_label("Weekday").select_option(label="Saturday")
    hours.get_by_label("From").fill("10:00")
    hours.get_by_label("To").fill("09:00")
    hours.get_by_role("button", name="Add hours").click()
    expect(page.get_by_text("The end must be after the start.")).to_be_visible()
    page.locator("#hours").get_by_label("To").fill("13:00")
    page.locator("#hours").get_by_role("button", name="Add hours").click()
    expect(
        page.get_by_text("Working hours added: Paul Practitioner, Saturday 10:00–13:00.")
    ).to_be_visible()

    closures = page.locator("#closures")
    closures.get_by_label("Closed from").fill("2026-12-24")
    closures.get_by_label("Closed until (inclusive)").fill("2026-12-28")
    closures.get_by_label("Reason").fill("Christmas")
    closures.get_by_role("button", name="Add closure").click()
    expect(page.get_by_role("cell", name="Christmas")).to_be_visible()
    shot("calendar-settings")
    assert Appointment.objects.count() == 0


def test_book_one_appointment_by_clicking_a_free_time(page, shot, world, calendar):
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto(f"/calendar/book/?patient={world.acme_patient.pk}")
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    # Ana's own clinic (Acme City) is chosen for her, though Fiona works at Riverside.
    expect(page.get_by_label("Clinic", exact=True).last).to_have_value(str(world.acme_city.pk))
    page.get_by_role("combobox", name="Practitioner").select_option(label="Alice Admin")
    page.get_by_label("Day").fill("2026-12-03")
    page.get_by_label("Day").dispatch_event("change")
    expect(page.get_by_text("Free on Thursday 3 December with Alice Admin")).to_be_visible()
    shot("calendar-book")
    page.get_by_role("button", name="Book at 11:30").click()
    expect(
        page.get_by_text("Consultation booked for Ana Silva on Thu 3 Dec 2026, 11:30.")
    ).to_be_visible()
    expect(page.get_by_text("Free times with Alice Admin")).to_be_visible()
    booked = Appointment.objects.get(patient=world.acme_patient)
    assert booked.starts_at == at(WEDNESDAY + dt.timedelta(days=1), 11, 30)
    assert booked.practitioner == world.alice
