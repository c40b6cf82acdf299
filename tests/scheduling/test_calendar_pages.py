"""The calendar's week and day views: who may see them, what they show and where, local
times across a daylight-saving change, and a query count that does not grow with the
number of appointments."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.accounts.models import Clinic, OpeningHours
from mesoclinic.scheduling import services, settings_services
from mesoclinic.scheduling.models import Appointment, AppointmentType, CourseSession
from tests.conftest import STAFF, make_patient
from tests.patients.helpers import assert_login_redirect, page_text
from tests.scheduling_fixtures import LONDON

WEDNESDAY = dt.date(2026, 12, 2)  # the fixed clock's day
CALENDAR = "/calendar/"


def at(day: dt.date, hour: int, minute: int = 0, tz: zoneinfo.ZoneInfo = LONDON) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def book(world, patient, when, practitioner=None, code="consultation"):
    kind = AppointmentType.objects.get(organisation=world.acme, code=code)
    return services.appointment_book(
        patient=patient,
        clinic=world.acme_city,
        practitioner=practitioner or world.paul,
        appointment_type=kind,
        starts_at=when,
        acting_user=world.fiona,
    )


def insert(world, patient, starts_at, minutes=30, clinic=None, practitioner=None):
    """An appointment written straight to the table, for times the booking service refuses
    (outside opening hours, in the past): the calendar must still show it."""
    return Appointment.objects.create(
        organisation=world.acme,
        clinic=clinic or world.acme_city,
        practitioner=practitioner or world.paul,
        patient=patient,
        appointment_type=AppointmentType.objects.get(organisation=world.acme, code="consultation"),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes),
        created_by=world.fiona,
    )


def course(world, calendar, patient, start_on=WEDNESDAY):
    return services.course_create(
        patient=patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=start_on,
        acting_user=world.paul,
    )


def column_titles(response) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", m).split("today")[0].strip()
        for m in re.findall(
            r'<h2 class="cal-head"[^>]*>(.*?)</h2>', response.content.decode(), re.S
        )
    ]


def column_html(response, title: str) -> str:
    """The HTML of the column headed ``title``."""
    content = response.content.decode()
    for section in re.findall(r'<section class="cal-col.*?</section>', content, re.S):
        if title in re.search(r"<h2.*?</h2>", section, re.S).group(0):
            return section
    raise AssertionError(f"no column {title!r}")


def item_style(section: str, patient_name: str) -> str:
    match = re.search(
        r'<li class="cal-item[^"]*" style="([^"]+)">\s*<a[^>]*>(?:(?!</li>).)*?'
        + re.escape(patient_name),
        section,
        re.S,
    )
    assert match, f"{patient_name} not in the column"
    return match.group(1)


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("view", ["week", "day"])
def test_staff_see_the_calendar(client_for, world, calendar, persona, view):
    response = client_for(persona).get(CALENDAR, {"view": view, "clinic": world.acme_city.pk})
    assert response.status_code == 200
    assert "scheduling/calendar.html" in [t.name for t in response.templates]


@pytest.mark.parametrize("persona", ["dora", "anonymous"])
def test_signed_out_people_are_sent_to_login(client_for, world, persona):
    assert_login_redirect(client_for(persona).get(CALENDAR), CALENDAR)


def test_a_portal_patient_gets_403(client_for, world):
    assert client_for("pat").get(CALENDAR).status_code == 403


def test_another_organisation_sees_only_its_own_calendar(
    client_for, world, calendar, ready_patient
):
    course(world, calendar, ready_patient)
    client = client_for("oscar")
    response = client.get(CALENDAR)
    assert response.status_code == 200
    assert "Other Main" in page_text(response)
    assert "Rita Ready" not in page_text(response)
    assert client.get(CALENDAR, {"clinic": world.acme_city.pk}).status_code == 404
    assert client.get(CALENDAR, {"practitioner": world.paul.pk}).status_code == 404


@pytest.mark.parametrize("params", [{"clinic": "abc"}, {"practitioner": "x1"}, {"clinic": "99999"}])
def test_bad_ids_are_404(client_for, world, params):
    assert client_for("fiona").get(CALENDAR, params).status_code == 404


def test_a_practitioner_filter_must_be_a_clinician(client_for, world):
    # Fiona is on the front desk: she has no calendar of her own.
    assert client_for("paul").get(CALENDAR, {"practitioner": world.fiona.pk}).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_calendar_only_answers_get(client_for, world, method):
    assert getattr(client_for("alice"), method)(CALENDAR).status_code == 405


def test_only_admins_get_the_link_to_the_schedule_settings(client_for, world, calendar):
    for persona in STAFF:
        content = client_for(persona).get(CALENDAR).content.decode()
        assert (reverse("schedule_settings") in content) == (persona == "alice")


# --- The week -----------------------------------------------------------------------------


def test_the_week_shows_each_appointment_with_its_details(
    client_for, world, calendar, ready_patient
):
    first = course(world, calendar, ready_patient).booked[0]
    response = client_for("paul").get(CALENDAR)
    assert response.status_code == 200
    text = page_text(response)
    assert "Week of 30 Nov to 6 Dec 2026" in text
    wednesday = column_html(response, "Wed 2 Dec")
    assert "09:00–09:45" in wednesday
    assert "Rita Ready" in wednesday
    assert ready_patient.mrn in wednesday
    assert "Session 1 of 8 · Room 1" in wednesday
    assert reverse("appointment_detail", args=[first.pk]) in wednesday
    assert 'aria-current="date"' in wednesday  # today


def test_the_week_has_the_days_the_clinic_opens_and_any_day_with_appointments(
    client_for, world, calendar
):
    response = client_for("paul").get(CALENDAR, {"date": "2026-12-02"})
    assert column_titles(response) == [
        "Mon 30 Nov",
        "Tue 1 Dec",
        "Wed 2 Dec",
        "Thu 3 Dec",
        "Fri 4 Dec",
    ]
    insert(world, world.acme_patient, at(dt.date(2026, 12, 5), 10))  # a Saturday
    response = client_for("paul").get(CALENDAR, {"date": "2026-12-02"})
    assert column_titles(response)[-1] == "Sat 5 Dec"
    assert "Ana Silva" in column_html(response, "Sat 5 Dec")


def test_appointments_are_placed_by_their_local_start_and_length(client_for, world, calendar):
    book(world, world.acme_patient, at(WEDNESDAY, 10, 30))
    response = client_for("paul").get(CALENDAR)
    style = item_style(column_html(response, "Wed 2 Dec"), "Ana Silva")
    # The grid starts at 09:00 (opening time): 10:30 is 90 minutes down, 30 minutes long.
    assert "--top: 90;" in style
    assert "--len: 30;" in style
    assert "--lanes: 1;" in style


def test_overlapping_appointments_sit_side_by_side(client_for, world, calendar, ready_patient):
    course(world, calendar, ready_patient)  # Rita with Paul 09:00-09:45
    book(world, world.acme_patient, at(WEDNESDAY, 9, 15), practitioner=world.alice)
    wednesday = column_html(client_for("paul").get(CALENDAR), "Wed 2 Dec")
    rita, ana = item_style(wednesday, "Rita Ready"), item_style(wednesday, "Ana Silva")
    assert "--lane: 0; --lanes: 2;" in rita
    assert "--lane: 1; --lanes: 2;" in ana


def test_statuses_are_shown_and_cancelled_ones_listed_apart(
    client_for, world, calendar, fixed_clock
):
    checked = book(world, world.acme_patient, at(WEDNESDAY, 9))
    missed = book(world, world.pat_patient, at(WEDNESDAY, 10))
    cancelled = book(world, world.acme_patient, at(WEDNESDAY, 14))
    services.appointment_check_in(appointment=checked, acting_user=world.fiona)
    fixed_clock.set(missed.starts_at + dt.timedelta(minutes=20))  # the patient did not come
    services.appointment_no_show(appointment=missed, acting_user=world.fiona)
    services.appointment_cancel(appointment=cancelled, reason="Moved away", acting_user=world.fiona)
    response = client_for("fiona").get(CALENDAR, {"clinic": world.acme_city.pk})
    wednesday = column_html(response, "Wed 2 Dec")
    assert 'class="cal-item checked-in' in wednesday
    assert "Checked in" in wednesday
    assert 'class="cal-item missed' in wednesday
    assert "Missed (no-show)" in wednesday
    assert "14:00" not in wednesday  # cancelled: not in the grid
    text = page_text(response)
    assert "1 cancelled appointment" in text
    assert "Moved away" in text
    assert reverse("appointment_detail", args=[cancelled.pk]) in response.content.decode()


def test_an_off_protocol_session_is_flagged(client_for, world, calendar, ready_patient):
    first = course(world, calendar, ready_patient).booked[0]
    CourseSession.objects.filter(pk=first.course_session_id).update(
        off_protocol="early", off_by_days=2
    )
    wednesday = column_html(client_for("paul").get(CALENDAR), "Wed 2 Dec")
    assert "off-protocol" in wednesday
    assert "Off protocol: before its window opens (2 days)" in wednesday


def test_closures_and_absences_are_shaded(client_for, world, calendar):
    settings_services.clinic_closure_create(
        clinic=world.acme_city,
        starts_on=dt.date(2026, 12, 3),
        ends_on=dt.date(2026, 12, 3),
        reason="Staff training",
        acting_user=world.alice,
    )
    settings_services.absence_create(
        organisation=world.acme,
        practitioner=world.paul,
        starts_at=at(dt.date(2026, 12, 4), 13),
        ends_at=at(dt.date(2026, 12, 4), 15),
        reason="Dentist",
        acting_user=world.alice,
    )
    response = client_for("paul").get(CALENDAR)
    thursday = column_html(response, "Thu 3 Dec")
    assert "is-closed" in thursday
    assert "Closed: Staff training" in thursday
    assert "cal-open" not in thursday
    friday = column_html(response, "Fri 4 Dec")
    assert "Paul Practitioner away: Dentist" in friday
    assert re.search(r'class="cal-absence" style="--top: 240; --len: 120;"', friday)
    assert "cal-open" in column_html(response, "Wed 2 Dec")


def test_previous_next_and_today_links(client_for, world, calendar):
    content = client_for("paul").get(CALENDAR, {"date": "2026-12-10"}).content.decode()
    assert 'href="/calendar/?view=week&amp;date=2026-12-03"' in content
    assert 'href="/calendar/?view=week&amp;date=2026-12-17"' in content
    assert 'href="/calendar/?view=week"' in content
    content = (
        client_for("paul")
        .get(CALENDAR, {"view": "day", "date": "2026-12-10", "practitioner": world.paul.pk})
        .content.decode()
    )
    pk = world.paul.pk
    assert f'href="/calendar/?view=day&amp;date=2026-12-09&amp;practitioner={pk}"' in content
    assert f'href="/calendar/?view=day&amp;date=2026-12-11&amp;practitioner={pk}"' in content
    assert (
        f'href="/calendar/?view=day&amp;date=2026-12-10&amp;practitioner={pk}" aria-current="page"'
        in content
    )


def test_a_day_of_the_week_links_to_its_day_view(client_for, world, calendar):
    content = client_for("paul").get(CALENDAR).content.decode()
    assert 'href="/calendar/?view=day&amp;date=2026-12-03"' in content


@pytest.mark.parametrize("date", ["garbage", "2026-13-01", "0001-01-01", ""])
def test_a_bad_date_shows_this_week(client_for, world, calendar, date):
    response = client_for("paul").get(CALENDAR, {"date": date})
    assert response.status_code == 200
    assert "Week of 30 Nov to 6 Dec 2026" in page_text(response)


def test_an_unknown_view_is_the_week(client_for, world, calendar):
    assert "Week of" in page_text(client_for("paul").get(CALENDAR, {"view": "month"}))


def test_one_practitioners_week(client_for, world, calendar):
    book(world, world.acme_patient, at(WEDNESDAY, 10), practitioner=world.alice)
    book(world, world.pat_patient, at(WEDNESDAY, 11), practitioner=world.paul)
    response = client_for("paul").get(CALENDAR, {"practitioner": world.paul.pk})
    text = page_text(response)
    assert "Pat Portal" in text
    assert "Ana Silva" not in text


# --- The day ------------------------------------------------------------------------------


def test_the_day_has_one_column_per_practitioner_working_that_day(client_for, world, calendar):
    book(world, world.acme_patient, at(WEDNESDAY, 10), practitioner=world.alice)
    response = client_for("fiona").get(
        CALENDAR, {"view": "day", "date": "2026-12-02", "clinic": world.acme_city.pk}
    )
    assert "Wednesday 2 December 2026" in page_text(response)
    assert column_titles(response) == ["Alice Admin", "Paul Practitioner"]
    assert "Ana Silva" in column_html(response, "Alice Admin")
    assert "Ana Silva" not in column_html(response, "Paul Practitioner")


def test_one_practitioners_day(client_for, world, calendar):
    response = client_for("paul").get(
        CALENDAR, {"view": "day", "date": "2026-12-02", "practitioner": world.alice.pk}
    )
    assert column_titles(response) == ["Alice Admin"]


def test_a_day_nobody_works_says_so(client_for, world, calendar):
    response = client_for("paul").get(CALENDAR, {"view": "day", "date": "2026-12-05"})
    assert column_titles(response) == []
    assert "Nobody works at this clinic on this day" in page_text(response)


def test_the_day_shows_a_practitioner_with_appointments_outside_their_hours(
    client_for, world, calendar
):
    insert(world, world.acme_patient, at(dt.date(2026, 12, 5), 10), practitioner=world.alice)
    response = client_for("paul").get(CALENDAR, {"view": "day", "date": "2026-12-05"})
    assert column_titles(response) == ["Alice Admin"]


# --- Time zones ---------------------------------------------------------------------------


def test_today_and_times_are_the_clinics_own(client_for, world, calendar, fixed_clock):
    # 23:30 on Wednesday in London is already Thursday 12:30 in Auckland.
    Clinic.objects.filter(pk=world.acme_river.pk).update(timezone="Pacific/Auckland")
    OpeningHours.objects.create(
        clinic=world.acme_river, weekday=3, opens_at=dt.time(9), closes_at=dt.time(17)
    )
    fixed_clock.set(at(WEDNESDAY, 23, 30))
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    insert(
        world,
        world.acme_patient,
        at(dt.date(2026, 12, 3), 14, tz=auckland),
        clinic=world.acme_river,
    )
    # Paul's workspace clinic is Acme City (London); he looks at Riverside.
    response = client_for("paul").get(CALENDAR, {"view": "day", "clinic": world.acme_river.pk})
    text = page_text(response)
    assert "Thursday 3 December 2026" in text
    assert "times in Pacific/Auckland" in text
    assert "14:00–14:30" in text


def test_a_week_with_a_daylight_saving_change_shows_local_times(
    client_for, world, calendar, fixed_clock
):
    # Clocks go back in London on Sunday 25 October 2026 (02:00 BST -> 01:00 GMT).
    fixed_clock.set(dt.datetime(2026, 10, 19, 8, tzinfo=LONDON))
    friday, sunday, monday = dt.date(2026, 10, 23), dt.date(2026, 10, 25), dt.date(2026, 10, 26)
    book(world, world.acme_patient, at(friday, 10))  # 09:00 UTC (BST)
    insert(world, world.pat_patient, at(sunday, 10))  # 10:00 UTC (GMT), clinic closed
    insert(world, world.pat_patient, at(sunday, 22, 30))  # the last evening of the week
    book(world, world.acme_patient, at(monday, 10))  # 10:00 UTC, the week after
    assert at(friday, 10).astimezone(dt.UTC).hour == 9
    assert at(sunday, 10).astimezone(dt.UTC).hour == 10

    response = client_for("paul").get(CALENDAR, {"date": "2026-10-21"})
    assert column_titles(response)[-1] == "Sun 25 Oct"
    friday_html, sunday_html = (
        column_html(response, "Fri 23 Oct"),
        column_html(response, "Sun 25 Oct"),
    )
    assert "10:00–10:30" in friday_html
    assert "10:00–10:30" in sunday_html
    assert "22:30–23:00" in sunday_html
    # Same local time, same row (60 minutes below 09:00), although an hour apart in UTC.
    assert "--top: 60;" in item_style(friday_html, "Ana Silva")
    assert "--top: 60;" in item_style(sunday_html, "Pat Portal")
    assert "26 Oct" not in "".join(column_titles(response))

    following = client_for("paul").get(CALENDAR, {"date": "2026-10-26"})
    monday_html = column_html(following, "Mon 26 Oct")
    assert "10:00–10:30" in monday_html
    assert "--top: 60;" in item_style(monday_html, "Ana Silva")
    assert "Pat Portal" not in page_text(following)


# --- Query counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"view": "day", "date": "2026-12-03"}, {"practitioner": "paul"}],
    ids=["week", "day", "practitioner-week"],
)
def test_the_calendar_costs_the_same_with_2_and_20_appointments(
    client_for, world, calendar, ready_patient, params
):
    params = {k: (world.paul.pk if v == "paul" else v) for k, v in params.items()}
    client = client_for("paul")
    course(world, calendar, ready_patient)  # session 1: Wednesday 09:00
    book(world, world.acme_patient, at(dt.date(2026, 12, 3), 9), practitioner=world.alice)
    client.get(CALENDAR, params)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(CALENDAR, params)
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode().count("cal-item ")

    queries_2, shown_2 = count()
    patients = [
        make_patient(world.acme, world.fiona, given_name=f"P{n}", family_name="Many")
        for n in range(18)
    ]
    made = 0
    for day in (dt.date(2026, 12, 2), dt.date(2026, 12, 3), dt.date(2026, 12, 4)):
        for hour in (11, 13, 15):
            for person in (world.paul, world.alice):
                appointment = book(world, patients[made], at(day, hour), practitioner=person)
                if made % 5 == 4:
                    services.appointment_cancel(
                        appointment=appointment, reason="test", acting_user=world.fiona
                    )
                made += 1
    week = (at(dt.date(2026, 11, 30), 0), at(dt.date(2026, 12, 7), 0))
    assert Appointment.objects.filter(starts_at__range=week).count() == 20
    queries_20, shown_20 = count()
    assert shown_20 > shown_2
    assert queries_20 == queries_2


def test_absences_of_people_who_do_not_work_here_are_left_out(client_for, world, calendar):
    from mesoclinic.accounts.models import Role
    from tests.conftest import add_staff

    visitor = add_staff(
        world.acme, world.acme_river, "vera@acme.test", "Vera Visiting", Role.PRACTITIONER, None
    )
    settings_services.absence_create(
        organisation=world.acme,
        practitioner=visitor,
        starts_at=at(WEDNESDAY, 9),
        ends_at=at(WEDNESDAY, 17),
        reason="Conference",
        acting_user=world.alice,
    )
    assert "Vera Visiting away" not in page_text(client_for("paul").get(CALENDAR))
