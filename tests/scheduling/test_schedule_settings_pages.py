"""The schedule settings page (admins only): rooms, working hours, absences and closures;
each change audited, bad input explained with nothing written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling import services, settings_services
from mesoclinic.scheduling.models import (
    Absence,
    AppointmentType,
    ClinicClosure,
    Room,
    WorkingHours,
)
from tests.patients.helpers import assert_login_redirect, field_errors, page_text
from tests.scheduling_fixtures import LONDON

SETTINGS = "/calendar/settings/"
WEDNESDAY = dt.date(2026, 12, 2)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def _state() -> tuple[Any, ...]:
    return (
        list(Room.objects.order_by("pk").values()),
        list(WorkingHours.objects.order_by("pk").values()),
        list(Absence.objects.order_by("pk").values()),
        list(ClinicClosure.objects.order_by("pk").values()),
        AuditEvent.objects.exclude(action__startswith="auth.").count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = _state()
    yield
    assert _state() == before, "something was written"


def last_schedule_event() -> AuditEvent:
    return AuditEvent.objects.filter(action="schedule.update").latest("pk")


def settings_url(clinic) -> str:
    return f"{SETTINGS}?clinic={clinic.pk}"


# --- Access -------------------------------------------------------------------------------


def post_targets(world, calendar) -> list[tuple[str, dict[str, Any]]]:
    """Every POST of the page, with valid data for Acme City."""
    room = calendar.rooms[0]
    hours = WorkingHours.objects.filter(practitioner=world.paul).first()
    absence = settings_services.absence_create(
        organisation=world.acme,
        practitioner=world.paul,
        starts_at=at(dt.date(2026, 12, 10), 9),
        ends_at=at(dt.date(2026, 12, 10), 12),
        acting_user=world.alice,
    )
    closure = settings_services.clinic_closure_create(
        clinic=world.acme_city,
        starts_on=dt.date(2026, 12, 24),
        ends_on=dt.date(2026, 12, 26),
        acting_user=world.alice,
    )
    clinic = {"clinic": world.acme_city.pk}
    return [
        (reverse("schedule_room_add"), {**clinic, "room-name": "Room 3"}),
        (reverse("schedule_room_deactivate", args=[room.pk]), {}),
        (reverse("schedule_room_reactivate", args=[room.pk]), {}),
        (
            reverse("schedule_hours_add"),
            {
                **clinic,
                "hours-practitioner": world.paul.pk,
                "hours-weekday": 5,
                "hours-starts_at": "09:00",
                "hours-ends_at": "12:00",
            },
        ),
        (reverse("schedule_hours_remove", args=[hours.pk]), {}),
        (
            reverse("schedule_absence_add"),
            {
                **clinic,
                "absence-practitioner": world.paul.pk,
                "absence-starts_at": "2026-12-14T09:00",
                "absence-ends_at": "2026-12-14T17:00",
            },
        ),
        (reverse("schedule_absence_remove", args=[absence.pk]), clinic),
        (
            reverse("schedule_closure_add"),
            {**clinic, "closure-starts_on": "2026-12-31", "closure-ends_on": "2027-01-01"},
        ),
        (reverse("schedule_closure_remove", args=[closure.pk]), {}),
    ]


def test_the_admin_sees_the_settings(client_for, world, calendar):
    response = client_for("alice").get(SETTINGS)
    assert response.status_code == 200
    text = page_text(response)
    assert "Rooms, hours and closures: Acme City" in text
    assert "Room 1" in text and "Room 2" in text
    assert "Paul Practitioner" in text and "Alice Admin" in text
    assert "09:00–17:00" in text


@pytest.mark.parametrize("persona", ["paul", "fiona", "audrey", "pat"])
def test_everyone_else_gets_403(client_for, world, calendar, persona):
    client = client_for(persona)
    assert client.get(SETTINGS).status_code == 403
    targets = post_targets(world, calendar)
    with nothing_written():
        for target, data in targets:
            assert client.post(target, data).status_code == 403, target


@pytest.mark.parametrize("persona", ["dora", "anonymous"])
def test_signed_out_people_are_sent_to_login(client_for, world, calendar, persona):
    client = client_for(persona)
    assert_login_redirect(client.get(SETTINGS), SETTINGS)
    targets = post_targets(world, calendar)
    with nothing_written():
        for target, data in targets:
            response = client.post(target, data)
            assert response.status_code == 302
            assert response.url.startswith(reverse("login"))


def test_another_organisations_admin_gets_404_for_acmes_rows(client_for, world, calendar):
    client = client_for("oscar")
    assert client.get(SETTINGS).status_code == 200  # his own clinic
    assert client.get(settings_url(world.acme_city)).status_code == 404
    targets = post_targets(world, calendar)
    with nothing_written():
        for target, data in targets:
            assert client.post(target, data).status_code == 404, target


def test_the_settings_only_answer_get_and_the_actions_only_post(client_for, world, calendar):
    client = client_for("alice")
    assert client.post(SETTINGS).status_code == 405
    assert client.get(reverse("schedule_room_add")).status_code == 405


def test_another_clinic_of_the_organisation(client_for, world, calendar):
    response = client_for("alice").get(settings_url(world.acme_river))
    assert "Rooms, hours and closures: Acme Riverside" in page_text(response)
    assert "Room 1" not in page_text(response)


# --- Rooms --------------------------------------------------------------------------------


def test_add_a_room(client_for, world, calendar):
    client = client_for("alice")
    response = client.post(
        reverse("schedule_room_add"), {"clinic": world.acme_city.pk, "room-name": "  Room  3 "}
    )
    assert response.status_code == 302
    assert response.url == settings_url(world.acme_city) + "#rooms"
    room = Room.objects.get(clinic=world.acme_city, name="Room 3")
    event = last_schedule_event()
    assert event.object_id == str(room.pk)
    assert event.changes["room"] == {"new": "Room 3"}
    assert "Room Room 3 added." in page_text(client.get(response.url))


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Room name is required."), ("room 1", "already has a room of that name")],
)
def test_a_bad_room_name_is_explained(client_for, world, calendar, name, message):
    with nothing_written():
        response = client_for("alice").post(
            reverse("schedule_room_add"), {"clinic": world.acme_city.pk, "room-name": name}
        )
    assert response.status_code == 422
    assert message in field_errors(response, "room-name")


def test_take_a_room_out_of_use_and_back(client_for, world, calendar):
    room = calendar.rooms[0]
    client = client_for("alice")
    response = client.post(reverse("schedule_room_deactivate", args=[room.pk]))
    assert response.status_code == 302
    room.refresh_from_db()
    assert not room.is_active
    assert last_schedule_event().changes["is_active"] == {"old": True, "new": False}
    assert "Out of use" in page_text(client.get(response.url))
    client.post(reverse("schedule_room_reactivate", args=[room.pk]))
    room.refresh_from_db()
    assert room.is_active


# --- Working hours ------------------------------------------------------------------------


def hours_data(world, **overrides: Any) -> dict[str, Any]:
    data = {
        "clinic": world.acme_city.pk,
        "hours-practitioner": world.paul.pk,
        "hours-weekday": 5,
        "hours-starts_at": "10:00",
        "hours-ends_at": "13:00",
    }
    data.update(overrides)
    return data


def test_add_working_hours(client_for, world, calendar):
    client = client_for("alice")
    response = client.post(reverse("schedule_hours_add"), hours_data(world))
    assert response.status_code == 302
    row = WorkingHours.objects.get(practitioner=world.paul, weekday=5)
    assert (row.starts_at, row.ends_at) == (dt.time(10), dt.time(13))
    assert row.clinic == world.acme_city
    assert last_schedule_event().changes["working_hours"] == {"new": "Saturday 10:00-13:00"}
    assert "Working hours added: Paul Practitioner, Saturday 10:00–13:00." in page_text(
        client.get(response.url)
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"hours-ends_at": "09:00"}, "hours-ends_at", "The end must be after the start."),
        ({"hours-ends_at": "10:00"}, "hours-ends_at", "The end must be after the start."),
        (
            {"hours-weekday": 0, "hours-starts_at": "16:00", "hours-ends_at": "18:00"},
            "hours-starts_at",
            "These hours overlap 09:00–17:00 on the same day.",
        ),
        ({"hours-starts_at": ""}, "hours-starts_at", "From is required."),
        ({"hours-weekday": 9}, "hours-weekday", "Select a valid choice"),
        ({"hours-practitioner": ""}, "hours-practitioner", "Practitioner is required."),
    ],
    ids=["end-before-start", "empty", "overlap", "no-start", "bad-weekday", "no-practitioner"],
)
def test_bad_working_hours_are_explained(client_for, world, calendar, overrides, field, message):
    with nothing_written():
        response = client_for("alice").post(
            reverse("schedule_hours_add"), hours_data(world, **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_front_desk_staff_cannot_be_given_working_hours(client_for, world, calendar):
    with nothing_written():
        response = client_for("alice").post(
            reverse("schedule_hours_add"),
            hours_data(world, **{"hours-practitioner": world.fiona.pk}),
        )
    assert response.status_code == 422
    assert "Select a valid choice" in field_errors(response, "hours-practitioner")


def test_the_same_hours_at_another_clinic_do_not_overlap(client_for, world, calendar):
    response = client_for("alice").post(
        reverse("schedule_hours_add"),
        hours_data(world, clinic=world.acme_river.pk, **{"hours-weekday": 0}),
    )
    assert response.status_code == 302
    assert WorkingHours.objects.filter(clinic=world.acme_river, practitioner=world.paul).exists()


def test_remove_working_hours(client_for, world, calendar):
    row = WorkingHours.objects.get(practitioner=world.paul, weekday=0)
    response = client_for("alice").post(reverse("schedule_hours_remove", args=[row.pk]))
    assert response.status_code == 302
    assert not WorkingHours.objects.filter(pk=row.pk).exists()
    event = last_schedule_event()
    assert event.object_id == str(row.pk)
    assert event.changes["working_hours"] == {"old": "Monday 09:00-17:00", "new": None}


# --- Absences -----------------------------------------------------------------------------


def absence_data(world, **overrides: Any) -> dict[str, Any]:
    data = {
        "clinic": world.acme_city.pk,
        "absence-practitioner": world.paul.pk,
        "absence-starts_at": "2026-12-14T09:00",
        "absence-ends_at": "2026-12-18T17:00",
        "absence-reason": "Holiday",
    }
    data.update(overrides)
    return data


def test_add_an_absence_in_the_clinics_local_time(client_for, world, calendar):
    client = client_for("alice")
    response = client.post(reverse("schedule_absence_add"), absence_data(world))
    assert response.status_code == 302
    absence = Absence.objects.get(practitioner=world.paul)
    assert absence.starts_at == at(dt.date(2026, 12, 14), 9)
    assert absence.ends_at == at(dt.date(2026, 12, 18), 17)
    assert absence.reason == "Holiday"
    assert last_schedule_event().changes["reason"] == {"new": "Holiday"}
    page = page_text(client.get(response.url))
    assert "Absence added for Paul Practitioner." in page
    assert "Holiday" in page


def test_an_absence_over_booked_appointments_warns(client_for, world, calendar):
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    services.appointment_book(
        patient=world.acme_patient,
        clinic=world.acme_city,
        practitioner=world.paul,
        appointment_type=kind,
        starts_at=at(dt.date(2026, 12, 15), 10),
        acting_user=world.fiona,
    )
    client = client_for("alice")
    response = client.post(reverse("schedule_absence_add"), absence_data(world))
    assert "1 booked appointment with Paul Practitioner falls in this absence" in page_text(
        client.get(response.url)
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"absence-ends_at": "2026-12-14T08:00"}, "absence-ends_at", "The end must be after"),
        (
            {"absence-starts_at": "2026-11-01T09:00", "absence-ends_at": "2026-11-02T09:00"},
            "absence-ends_at",
            "already over",
        ),
        ({"absence-starts_at": "soon"}, "absence-starts_at", "Enter a valid date/time."),
        ({"absence-ends_at": ""}, "absence-ends_at", "Back at is required."),
        ({"absence-starts_at": "0001-01-01T00:00"}, "absence-starts_at", "more than a year ago"),
        ({"absence-ends_at": "9999-12-31T23:00"}, "absence-ends_at", "three years ahead"),
    ],
    ids=["end-before-start", "past", "garbage", "no-end", "year-one", "year-9999"],
)
def test_bad_absences_are_explained(client_for, world, calendar, overrides, field, message):
    with nothing_written():
        response = client_for("alice").post(
            reverse("schedule_absence_add"), absence_data(world, **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_remove_an_absence(client_for, world, calendar):
    absence = settings_services.absence_create(
        organisation=world.acme,
        practitioner=world.paul,
        starts_at=at(dt.date(2026, 12, 10), 9),
        ends_at=at(dt.date(2026, 12, 10), 12),
        acting_user=world.alice,
    )
    response = client_for("alice").post(
        reverse("schedule_absence_remove", args=[absence.pk]), {"clinic": world.acme_city.pk}
    )
    assert response.status_code == 302
    assert not Absence.objects.filter(pk=absence.pk).exists()
    assert last_schedule_event().object_id == str(absence.pk)


# --- Closures -----------------------------------------------------------------------------


def closure_data(world, **overrides: Any) -> dict[str, Any]:
    data = {
        "clinic": world.acme_city.pk,
        "closure-starts_on": "2026-12-24",
        "closure-ends_on": "2026-12-28",
        "closure-reason": "Christmas",
    }
    data.update(overrides)
    return data


def test_add_a_closure(client_for, world, calendar):
    client = client_for("alice")
    response = client.post(reverse("schedule_closure_add"), closure_data(world))
    assert response.status_code == 302
    closure = ClinicClosure.objects.get(clinic=world.acme_city)
    assert (closure.starts_on, closure.ends_on) == (dt.date(2026, 12, 24), dt.date(2026, 12, 28))
    assert last_schedule_event().changes["starts_on"] == {"new": "2026-12-24"}
    page = page_text(client.get(response.url))
    assert "Closure added." in page
    assert "Thu 24 Dec – Mon 28 Dec 2026" in page


def test_a_closure_over_booked_appointments_warns(client_for, world, calendar):
    kind = AppointmentType.objects.get(organisation=world.acme, code="consultation")
    services.appointment_book(
        patient=world.acme_patient,
        clinic=world.acme_city,
        practitioner=world.paul,
        appointment_type=kind,
        starts_at=at(dt.date(2026, 12, 24), 16),
        acting_user=world.fiona,
    )
    client = client_for("alice")
    response = client.post(reverse("schedule_closure_add"), closure_data(world))
    assert "1 booked appointment falls on these days" in page_text(client.get(response.url))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"closure-ends_on": "2026-12-23"}, "closure-ends_on", "cannot be before the first"),
        (
            {"closure-starts_on": "2026-11-01", "closure-ends_on": "2026-11-02"},
            "closure-ends_on",
            "These days are in the past.",
        ),
        ({"closure-starts_on": ""}, "closure-starts_on", "Closed from is required."),
        ({"closure-ends_on": "2028-12-31"}, "closure-ends_on", "at most a year"),
    ],
    ids=["end-before-start", "past", "no-start", "too-long"],
)
def test_bad_closures_are_explained(client_for, world, calendar, overrides, field, message):
    with nothing_written():
        response = client_for("alice").post(
            reverse("schedule_closure_add"), closure_data(world, **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_a_one_day_closure_is_allowed(client_for, world, calendar):
    response = client_for("alice").post(
        reverse("schedule_closure_add"),
        closure_data(world, **{"closure-ends_on": "2026-12-24"}),
    )
    assert response.status_code == 302


def test_remove_a_closure(client_for, world, calendar):
    closure = settings_services.clinic_closure_create(
        clinic=world.acme_city,
        starts_on=dt.date(2026, 12, 24),
        ends_on=dt.date(2026, 12, 24),
        acting_user=world.alice,
    )
    response = client_for("alice").post(reverse("schedule_closure_remove", args=[closure.pk]))
    assert response.status_code == 302
    assert not ClinicClosure.objects.filter(pk=closure.pk).exists()
    assert last_schedule_event().changes["starts_on"] == {"old": "2026-12-24", "new": None}


# --- The services refuse what the forms would let through ---------------------------------


def test_the_hours_service_refuses_an_overlap_and_a_non_clinician(world, calendar):
    from mesoclinic.core.errors import Conflict, DomainError

    with pytest.raises(Conflict):
        settings_services.working_hours_create(
            clinic=world.acme_city,
            practitioner=world.paul,
            weekday=0,
            starts_at=dt.time(8),
            ends_at=dt.time(10),
            acting_user=world.alice,
        )
    with pytest.raises(DomainError):
        settings_services.working_hours_create(
            clinic=world.acme_city,
            practitioner=world.fiona,
            weekday=5,
            starts_at=dt.time(8),
            ends_at=dt.time(10),
            acting_user=world.alice,
        )


def test_the_room_service_refuses_a_duplicate_name(world, calendar):
    from mesoclinic.core.errors import Conflict

    with pytest.raises(Conflict):
        settings_services.room_create(
            clinic=world.acme_city, name="ROOM 2", acting_user=world.alice
        )
