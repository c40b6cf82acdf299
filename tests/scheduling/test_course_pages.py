"""The course pages: start a course from the chart, the Course tab, keep on track, cancel;
the portal's appointment list; feeds end with the membership."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.models import Appointment, Course, CourseStatus
from mesoclinic.scheduling.services import course_create
from tests.scheduling_fixtures import FIXED_NOW, make_ready, make_ready_patient

TODAY = FIXED_NOW.date()


def new_url(patient):
    return reverse("course_new", args=[patient.pk])


def tab_url(patient):
    return reverse("patients:chart_tab", args=[patient.pk, "course"])


def form(calendar, **overrides):
    data = {
        "protocol": calendar.hair.pk,
        "clinic": calendar.world.acme_city.pk,
        "practitioner": calendar.world.paul.pk,
        "start_on": TODAY.isoformat(),
        "induction_sessions": "",
        "preferred_time": "any",
    }
    data.update(overrides)
    return data


def start(calendar, patient):
    return course_create(
        patient=patient,
        protocol_version=calendar.hair,
        clinic=calendar.world.acme_city,
        practitioner=calendar.world.paul,
        start_on=TODAY,
        acting_user=calendar.world.fiona,
    ).course


def test_the_front_desk_starts_a_course_and_sees_every_session_booked(
    client_for, calendar, ready_patient
):
    client = client_for("fiona")
    response = client.post(new_url(ready_patient), form(calendar))
    assert response.status_code == 302
    assert response["Location"] == tab_url(ready_patient)
    course = Course.objects.get(patient=ready_patient)
    assert Appointment.objects.filter(course_session__course=course).count() == 11

    page = client.get(tab_url(ready_patient)).content.decode()
    assert "11 sessions booked." in page
    assert "Hair mesotherapy" in page
    assert page.count("/calendar/appointments/") == 11
    assert "Wed 2 Dec 2026, 09:00" in page
    assert "Keep on track" in page


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 200),
        ("paul", 200),
        ("fiona", 200),
        ("audrey", 403),
        ("oscar", 404),
        ("pat", 403),
    ],
)
def test_who_may_open_the_start_a_course_page(client_for, calendar, ready_patient, persona, status):
    assert client_for(persona).get(new_url(ready_patient)).status_code == status


def test_signed_out_users_go_to_sign_in(client, calendar, ready_patient):
    response = client.get(new_url(ready_patient))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"protocol": ""}, "Choose the protocol."),
        ({"start_on": ""}, "Give the first possible date."),
        ({"start_on": "2026-01-01"}, "more than 14 days in the past"),
        ({"induction_sessions": "3"}, "6 to 8 induction sessions"),
        ({"induction_sessions": "0"}, "greater than or equal to 1"),
        ({"practitioner": "999999"}, "Select a valid choice"),
    ],
    ids=["no-protocol", "no-date", "past", "too-few", "zero", "unknown-practitioner"],
)
def test_bad_course_input_is_explained_and_nothing_is_written(
    client_for, calendar, ready_patient, overrides, message
):
    client = client_for("fiona")
    response = client.post(new_url(ready_patient), form(calendar, **overrides))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Course.objects.exists()


def test_an_unconsented_patient_is_told_what_is_missing(client_for, calendar, world):
    from mesoclinic.patients.models import SignedConsent

    patient = make_ready_patient(world, calendar.hair, family_name="Nosign")
    SignedConsent.objects.filter(patient=patient).delete()
    response = client_for("fiona").post(new_url(patient), form(calendar))
    assert response.status_code == 422
    assert "has not signed the current consent for: Hair mesotherapy" in response.content.decode()
    assert not Course.objects.exists()


def test_keep_on_track_and_cancel_from_the_course_tab(client_for, calendar, ready_patient):
    course = start(calendar, ready_patient)
    client = client_for("fiona")
    response = client.post(reverse("course_book", args=[course.pk]), follow=True)
    assert "No session needed booking." in response.content.decode()

    response = client.post(reverse("course_cancel", args=[course.pk]), {"reason": ""}, follow=True)
    assert "Give the reason" in response.content.decode()
    course.refresh_from_db()
    assert course.status == CourseStatus.ACTIVE

    client.post(reverse("course_cancel", args=[course.pk]), {"reason": "Moving abroad"})
    course.refresh_from_db()
    assert course.status == CourseStatus.CANCELLED
    assert AuditEvent.objects.filter(action="course.cancel", patient=ready_patient).exists()


@pytest.mark.parametrize("persona", ["audrey", "oscar", "pat"])
def test_only_staff_who_may_write_keep_on_track_or_cancel(
    client_for, calendar, ready_patient, persona
):
    course = start(calendar, ready_patient)
    client = client_for(persona)
    expected = 404 if persona == "oscar" else 403
    assert client.post(reverse("course_book", args=[course.pk])).status_code == expected
    assert (
        client.post(reverse("course_cancel", args=[course.pk]), {"reason": "x"}).status_code
        == expected
    )
    course.refresh_from_db()
    assert course.status == CourseStatus.ACTIVE


def test_the_course_tab_costs_the_same_queries_for_one_or_three_courses(
    client_for, calendar, world
):
    from mesoclinic.scheduling.services import course_cancel

    client = client_for("fiona")
    patient = make_ready_patient(world, calendar.hair, family_name="One")
    first = start(calendar, patient)
    client.get(tab_url(patient))
    with CaptureQueriesContext(connection) as one:
        assert client.get(tab_url(patient)).status_code == 200
    course_cancel(course=first, reason="Restarted later", acting_user=world.alice)
    start(calendar, patient)
    make_ready(world, patient, calendar.prp)
    course_create(
        patient=patient,
        protocol_version=calendar.prp,
        clinic=world.acme_city,
        practitioner=world.alice,
        start_on=TODAY + dt.timedelta(days=60),
        acting_user=world.fiona,
    )
    assert Course.objects.filter(patient=patient).count() == 3
    with CaptureQueriesContext(connection) as three:
        assert client.get(tab_url(patient)).status_code == 200
    assert len(three) == len(one)


def test_the_portal_lists_the_patients_own_upcoming_appointments(client_for, calendar, world):
    patient = make_ready(world, world.pat_patient, calendar.hair)
    start(calendar, patient)
    other = make_ready_patient(world, calendar.hair, family_name="Else")
    start(calendar, other)
    page = client_for("pat").get(reverse("portal:home")).content.decode()
    assert "Wednesday 2 December 2026, 09:00" in page
    assert page.count("Treatment session") == 10
    assert page.count("Review visit") == 1
    assert "Else" not in page
    assert reverse("portal_ics") in page


def test_deactivating_a_practitioner_revokes_their_calendar_feed(world, calendar):
    from mesoclinic.accounts.models import Membership
    from mesoclinic.accounts.services import membership_deactivate
    from mesoclinic.scheduling.feeds import calendar_feed_create, calendar_feed_for_token

    feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )
    membership = Membership.objects.get(user=world.paul, organisation=world.acme)
    membership_deactivate(membership=membership, acting_user=world.alice)
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    assert calendar_feed_for_token(token) is None
    event = AuditEvent.objects.filter(action="staff.deactivate").latest("id")
    assert event.changes["calendar_feeds_revoked"] == {"new": 1}


def test_the_dashboard_lists_todays_appointments_at_the_current_clinic(client_for, calendar, world):
    client = client_for("paul")  # Paul's default clinic is Acme City
    for n in range(2):
        start(calendar, make_ready_patient(world, calendar.hair, family_name=f"Today{n}"))
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as two:
        page = client.get(reverse("dashboard")).content.decode()
    assert "Today0" in page and "Today1" in page
    assert page.count("/calendar/appointments/") == 2
    for n in range(2, 6):
        start(calendar, make_ready_patient(world, calendar.hair, family_name=f"Today{n}"))
    with CaptureQueriesContext(connection) as six:
        page = client.get(reverse("dashboard")).content.decode()
    assert page.count("/calendar/appointments/") == 6
    assert len(six) == len(two)
