"""The audit trail is append-only, in the application and in the database itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client, override_settings
from django.utils import timezone

from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.middleware import client_ip
from mesoclinic.core.models import AppendOnlyError, AuditEvent


@pytest.fixture
def event(world) -> AuditEvent:
    return AuditEvent.objects.filter(organisation=world.acme).earliest("id")


def unchanged(event: AuditEvent) -> bool:
    fresh = AuditEvent.objects.get(pk=event.pk)
    return (fresh.action, fresh.actor_email, fresh.changes) == (
        event.action,
        event.actor_email,
        event.changes,
    )


# --- in the application -------------------------------------------------------------------------


def test_saving_an_existing_event_is_refused(event):
    original_action = event.action
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == original_action


def test_updating_events_through_a_queryset_is_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(actor_email="nobody@example.com")
    assert unchanged(event)


def test_bulk_update_of_events_is_refused(event):
    event.action = "tampered"
    # bulk_update opens an atomic block without a savepoint; give it one of its own.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action != "tampered"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_events_through_a_queryset_is_refused(event):
    count = AuditEvent.objects.count()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == count


def test_new_events_can_still_be_added(world):
    before = AuditEvent.objects.count()
    AuditEvent(organisation=world.acme, action="test.added", occurred_at=timezone.now()).save()
    AuditEvent.objects.create(
        organisation=world.acme, action="test.added", occurred_at=timezone.now()
    )
    assert AuditEvent.objects.count() == before + 2


def test_a_patient_with_audit_history_cannot_be_deleted(world):
    with pytest.raises(ProtectedError):
        world.acme_patient.delete()
    assert AuditEvent.objects.filter(patient=world.acme_patient).exists()


# --- in the database ----------------------------------------------------------------------------


def test_the_database_refuses_a_raw_update(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x'")
    assert unchanged(event)
    assert not AuditEvent.objects.filter(action="x").exists()


def test_the_database_refuses_a_raw_update_of_one_row(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET actor_email = %s WHERE id = %s", ["x@x.test", event.pk]
        )
    assert unchanged(event)


def test_the_database_refuses_a_raw_delete_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE possible: Django's test flush empties tables with it")
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent")
    assert AuditEvent.objects.count() == count


# --- writing events -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_write_event_outside_a_transaction_is_refused(world):
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside the write's transaction"):
        audit_record(action="patient.update", actor=world.alice, organisation=world.acme)
    # Reads and sign-ins may stand alone.
    audit_record(action="patient.read", actor=world.alice, organisation=world.acme)
    audit_record(action="auth.login", actor=world.alice, organisation=world.acme)
    assert AuditEvent.objects.filter(action__in=["patient.read", "auth.login"]).count() >= 2


def test_a_rolled_back_write_leaves_no_event(world):
    before = AuditEvent.objects.count()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(action="patient.update", actor=world.alice, organisation=world.acme)
        1 / 0
    assert AuditEvent.objects.count() == before


def test_audit_record_keeps_the_actor_object_and_changes(world):
    with transaction.atomic():
        event = audit_record(
            action="patient.update",
            actor=world.fiona,
            organisation=world.acme,
            obj=world.acme_patient,
            patient=world.acme_patient,
            changes={"phone": {"old": "1", "new": "2"}},
        )
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_email == "fiona@acme.test"
    assert event.object_type == "patients.patient"
    assert event.object_id == str(world.acme_patient.pk)
    assert event.object_repr == str(world.acme_patient)
    assert event.patient == world.acme_patient
    assert event.changes == {"phone": {"old": "1", "new": "2"}}
    assert event.via == "cli"
    assert event.source_ip is None


def test_snapshot_diff_and_created_describe_changes(world):
    before = snapshot(world.acme_patient, ["given_name", "preferred_clinic", "date_of_birth"])
    assert before == {
        "given_name": "Ana",
        "preferred_clinic": world.acme_city.pk,
        "date_of_birth": "1985-03-14",
    }
    after = before | {"given_name": "Anna"}
    assert diff(before, after) == {"given_name": {"old": "Ana", "new": "Anna"}}
    assert diff(before, before) == {}
    assert created({"a": "x", "b": "", "c": None, "d": 0}) == {"a": {"new": "x"}, "d": {"new": 0}}


def test_web_requests_record_the_source_address(world):
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.post("/login/", {"username": "alice@acme.test", "password": "wrong password!"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.source_ip == "203.0.113.7"
    assert event.via == "web"


def test_a_forwarded_for_header_is_ignored_without_a_trusted_proxy(rf):
    request = rf.get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "198.51.100.1"


@override_settings(AXES_IPWARE_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_last_forwarded_hop_is_the_client(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


@override_settings(AXES_IPWARE_PROXY_COUNT=2)
def test_with_fewer_forwarded_hops_than_proxies_the_socket_address_is_used(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "10.0.0.2"
