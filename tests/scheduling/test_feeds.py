"""Calendar feeds and iCalendar downloads: the feed services, the secret feed URL, the
practitioner's feed page, the staff download of a patient's appointments and the portal's
own download, for every persona."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from mesoclinic.accounts.models import Membership
from mesoclinic.accounts.services import membership_deactivate
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.feeds import (
    calendar_feed_active,
    calendar_feed_create,
    calendar_feed_for_token,
    calendar_feed_revoke,
)
from mesoclinic.scheduling.models import AppointmentStatus, CalendarFeed
from tests.scheduling.test_ics import build_scene, london, make_appointment

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
SIGNED_OUT = ["dora", "anonymous"]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def scene(world):
    return build_scene(world)


@pytest.fixture
def visits(scene, world):
    """Paul sees Ana and Pat; Alice sees Ana. Plus what a feed must leave out."""
    ana, pat = world.acme_patient, world.pat_patient
    return {
        "paul_ana": make_appointment(scene, patient=ana, starts_at=london(2026, 12, 2, 9)),
        "paul_pat": make_appointment(
            scene, patient=pat, starts_at=london(2026, 12, 3, 10), room=None
        ),
        "paul_cancelled": make_appointment(
            scene,
            patient=ana,
            starts_at=london(2026, 12, 4, 9),
            status=AppointmentStatus.CANCELLED,
        ),
        "paul_no_show": make_appointment(
            scene, patient=ana, starts_at=london(2026, 11, 20, 9), status=AppointmentStatus.NO_SHOW
        ),
        "paul_long_ago": make_appointment(scene, patient=ana, starts_at=london(2026, 10, 1, 9)),
        "paul_far_ahead": make_appointment(scene, patient=ana, starts_at=london(2028, 1, 10, 9)),
        "alice_ana": make_appointment(
            scene,
            patient=ana,
            practitioner=world.alice,
            starts_at=london(2026, 12, 9, 14),
            room=None,
        ),
    }


def uids(body: bytes) -> set[str]:
    return {str(e["UID"]) for e in Calendar.from_ical(body).events}


def uid(appointment) -> str:
    return f"appointment-{appointment.pk}@mesoclinic"


def feed_path(token: str) -> str:
    return reverse("calendar_feed_ics", kwargs={"token": token})


def assert_login_redirect(response):
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- services ---------------------------------------------------------------------------------


def test_creating_a_feed_returns_the_secret_once_and_stores_only_its_hash(world):
    feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    assert len(token) >= 43
    assert feed.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    assert calendar_feed_for_token(token) == feed
    event = AuditEvent.objects.get(action="calendar_feed.create")
    assert (event.actor, event.organisation, event.object_id) == (
        world.paul,
        world.acme,
        str(feed.pk),
    )
    assert token not in str(event.changes)


def test_a_new_feed_revokes_the_previous_one(world):
    first, first_token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )
    second, second_token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    assert calendar_feed_for_token(first_token) is None
    assert calendar_feed_for_token(second_token) == second
    assert calendar_feed_active(practitioner=world.paul, organisation=world.acme) == second
    first.refresh_from_db()
    assert first.revoked_at is not None
    revoked = AuditEvent.objects.get(action="calendar_feed.revoke")
    assert revoked.object_id == str(first.pk)


def test_revoking_ends_the_feed_and_is_audited_once(world):
    feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    calendar_feed_revoke(feed=feed, acting_user=world.paul)
    calendar_feed_revoke(feed=feed, acting_user=world.paul)

    assert calendar_feed_for_token(token) is None
    assert calendar_feed_active(practitioner=world.paul, organisation=world.acme) is None
    assert AuditEvent.objects.filter(action="calendar_feed.revoke").count() == 1


def test_only_clinicians_of_the_organisation_get_a_feed(world):
    for user, organisation in [(world.fiona, world.acme), (world.paul, world.other)]:
        with pytest.raises(DomainError):
            calendar_feed_create(practitioner=user, organisation=organisation, acting_user=user)
    assert not CalendarFeed.objects.exists()
    assert not AuditEvent.objects.filter(action="calendar_feed.create").exists()


def test_a_deactivated_practitioners_feed_stops_working(world):
    _feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    membership_deactivate(
        membership=Membership.objects.get(user=world.paul, organisation=world.acme),
        acting_user=world.alice,
    )

    assert calendar_feed_for_token(token) is None


@pytest.mark.parametrize("token", ["", "x" * 43, "x" * 500])
def test_unknown_tokens_open_nothing(world, token):
    calendar_feed_create(practitioner=world.paul, organisation=world.acme, acting_user=world.paul)
    assert calendar_feed_for_token(token) is None


# --- the feed URL -----------------------------------------------------------------------------


def test_feed_url_works_without_signing_in_and_shows_the_practitioners_window(world, visits):
    _feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    response = Client().get(feed_path(token))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "no-store" in response["Cache-Control"]
    assert uids(response.content) == {
        uid(visits["paul_ana"]),
        uid(visits["paul_pat"]),
        uid(visits["paul_cancelled"]),
    }
    cancelled = next(
        e
        for e in Calendar.from_ical(response.content).events
        if str(e["UID"]) == uid(visits["paul_cancelled"])
    )
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_feed_never_names_a_patient(world, visits):
    _feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    text = Client().get(feed_path(token)).content.decode()

    for patient in (world.acme_patient, world.pat_patient):
        assert patient.mrn in text
        for value in (patient.given_name, patient.family_name, patient.email):
            assert value not in text


def test_another_practitioners_token_shows_only_their_appointments(world, visits):
    calendar_feed_create(practitioner=world.paul, organisation=world.acme, acting_user=world.paul)
    _feed, alice_token = calendar_feed_create(
        practitioner=world.alice, organisation=world.acme, acting_user=world.alice
    )

    response = Client().get(feed_path(alice_token))

    assert uids(response.content) == {uid(visits["alice_ana"])}


def test_revoked_or_unknown_feed_url_is_404(world, visits):
    feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )
    calendar_feed_revoke(feed=feed, acting_user=world.paul)

    assert Client().get(feed_path(token)).status_code == 404
    assert Client().get(feed_path("A" * 43)).status_code == 404
    assert Client().get("/calendar/feeds/short.ics").status_code == 404


def test_every_feed_read_is_audited_as_an_export(world, visits):
    feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )

    Client().get(feed_path(token), REMOTE_ADDR="198.51.100.7")

    event = AuditEvent.objects.get(action="calendar.export")
    assert event.actor == world.paul
    assert event.organisation == world.acme
    assert event.source_ip == "198.51.100.7"
    assert (event.object_type, event.object_id) == ("scheduling.calendarfeed", str(feed.pk))
    assert event.changes == {"appointments": {"new": 3}, "feed": {"new": feed.pk}}


def test_feed_costs_the_same_queries_for_few_or_many_appointments(world, scene):
    _feed, token = calendar_feed_create(
        practitioner=world.paul, organisation=world.acme, acting_user=world.paul
    )
    make_appointment(scene, patient=world.acme_patient, starts_at=london(2026, 12, 2, 9))
    client = Client()
    with CaptureQueriesContext(connection) as one:
        client.get(feed_path(token))
    for day in range(3, 10):
        make_appointment(scene, patient=world.acme_patient, starts_at=london(2026, 12, day, 9))
    with CaptureQueriesContext(connection) as many:
        response = client.get(feed_path(token))

    assert len(uids(response.content)) == 8
    assert len(many) == len(one)


# --- the feed page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 200),
        ("paul", 200),
        ("oscar", 200),  # his own feed, in his own organisation
        ("fiona", 403),
        ("audrey", 403),
        ("pat", 403),
    ],
)
def test_feed_page_is_for_clinicians(client_for, persona, status):
    response = client_for(persona).get(reverse("calendar_feed_page"))
    assert response.status_code == status


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_feed_page_sends_signed_out_users_to_login(client_for, persona):
    assert_login_redirect(client_for(persona).get(reverse("calendar_feed_page")))


@pytest.mark.parametrize("persona", ["fiona", "audrey", "pat"])
def test_feed_page_refuses_changes_from_other_roles(client_for, persona):
    response = client_for(persona).post(reverse("calendar_feed_page"), {"action": "create"})
    assert response.status_code == 403
    assert not CalendarFeed.objects.exists()


def test_opening_the_feed_page_creates_nothing(client_for):
    response = client_for("paul").get(reverse("calendar_feed_page"))

    assert response.status_code == 200
    assert "You have no active feed." in response.content.decode()
    assert not CalendarFeed.objects.exists()


def test_creating_a_feed_shows_its_full_url_once_and_the_url_works(client_for, world, visits):
    client = client_for("paul")

    response = client.post(reverse("calendar_feed_page"), {"action": "create"})

    assert response.status_code == 200
    url = response.context["feed_url"]
    assert url.startswith("http://testserver/calendar/feeds/") and url.endswith(".ics")
    assert url in response.content.decode()
    assert "shown only this once" in response.content.decode()
    path = url.removeprefix("http://testserver")
    assert Client().get(path).status_code == 200
    again = client.get(reverse("calendar_feed_page")).content.decode()
    assert path not in again
    assert "Revoke" in again


def test_replacing_the_feed_from_the_page_stops_the_old_url(client_for, world):
    client = client_for("paul")
    first = client.post(reverse("calendar_feed_page"), {"action": "create"}).context["feed_url"]
    second = client.post(reverse("calendar_feed_page"), {"action": "create"}).context["feed_url"]

    assert first != second
    assert Client().get(first.removeprefix("http://testserver")).status_code == 404
    assert Client().get(second.removeprefix("http://testserver")).status_code == 200


def test_revoking_from_the_page_ends_only_the_own_feed(client_for, world):
    _alice_feed, alice_token = calendar_feed_create(
        practitioner=world.alice, organisation=world.acme, acting_user=world.alice
    )
    client = client_for("paul")
    url = client.post(reverse("calendar_feed_page"), {"action": "create"}).context["feed_url"]

    response = client.post(reverse("calendar_feed_page"), {"action": "revoke"})

    assert response.status_code == 302
    assert Client().get(url.removeprefix("http://testserver")).status_code == 404
    assert calendar_feed_for_token(alice_token) is not None
    assert AuditEvent.objects.filter(action="calendar_feed.revoke", actor=world.paul).count() == 1


def test_feed_page_refuses_an_unknown_action(client_for):
    response = client_for("paul").post(reverse("calendar_feed_page"), {"action": "steal"})
    assert response.status_code == 400
    assert not CalendarFeed.objects.exists()


# --- a patient's appointments, downloaded by staff --------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona", "audrey"])
def test_staff_download_a_patients_appointments(client_for, world, visits, persona):
    response = client_for(persona).get(reverse("patient_ics", args=[world.acme_patient.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{world.acme_patient.mrn}.ics"'
    )
    assert uids(response.content) == {
        uid(visits[key])
        for key in ("paul_ana", "paul_cancelled", "paul_long_ago", "paul_far_ahead", "alice_ana")
    }
    event = AuditEvent.objects.get(action="calendar.export")
    assert (event.actor, event.patient) == (world.persona(persona), world.acme_patient)
    assert event.object_id == str(world.acme_patient.pk)
    assert event.changes == {"appointments": {"new": 5}}


def test_other_organisation_gets_404_for_acme_patient(client_for, world, visits):
    response = client_for("oscar").get(reverse("patient_ics", args=[world.acme_patient.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="calendar.export").exists()


def test_other_organisation_downloads_its_own_patient(client_for, world):
    response = client_for("oscar").get(reverse("patient_ics", args=[world.other_patient.pk]))
    assert response.status_code == 200


def test_portal_patient_cannot_use_the_staff_download(client_for, world):
    response = client_for("pat").get(reverse("patient_ics", args=[world.pat_patient.pk]))
    assert response.status_code == 403


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_staff_download_sends_signed_out_users_to_login(client_for, world, persona):
    response = client_for(persona).get(reverse("patient_ics", args=[world.acme_patient.pk]))
    assert_login_redirect(response)


# --- the portal's own download ----------------------------------------------------------------


def test_portal_patient_downloads_only_their_own_appointments(client_for, world, visits):
    response = client_for("pat").get(reverse("portal_ics"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert uids(response.content) == {uid(visits["paul_pat"])}
    [event] = Calendar.from_ical(response.content).events
    assert str(event["SUMMARY"]) == "Hair mesotherapy — Acme City"
    audit = AuditEvent.objects.get(action="calendar.export")
    assert (audit.actor, audit.patient) == (world.pat, world.pat_patient)


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona", "audrey", "oscar"])
def test_staff_have_no_portal_download(client_for, persona):
    assert client_for(persona).get(reverse("portal_ics")).status_code == 404


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_portal_download_sends_signed_out_users_to_login(client_for, persona):
    assert_login_redirect(client_for(persona).get(reverse("portal_ics")))
