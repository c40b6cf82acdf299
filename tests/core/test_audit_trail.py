"""The audit trail is append-only, in the application and in the database itself."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client, override_settings
from django.utils import timezone

from mesoclinic.core.apps import install_audit_triggers_after_migrate
from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.middleware import client_ip
from mesoclinic.core.models import AppendOnlyError, AuditEvent, AuditEventQuerySet


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


def test_the_base_manager_refuses_update_and_delete_too(event):
    # Django's own machinery (related lookups, refresh_from_db, deletion collectors) goes
    # through _base_manager, not objects: it must be the append-only queryset as well.
    assert isinstance(AuditEvent._base_manager.all(), AuditEventQuerySet)
    with pytest.raises(AppendOnlyError):
        AuditEvent._base_manager.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent._base_manager.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent._base_manager.all().delete()
    assert unchanged(event)
    assert AuditEvent._base_manager.filter(pk=event.pk).exists()


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
        pytest.skip("The test suite lets SQLite DELETE (its flush needs it); see below")
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent")
    assert AuditEvent.objects.count() == count


def _sqlite_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            ["core_auditevent"],
        )
        return {row[0] for row in cursor.fetchall()}


def test_after_migrate_the_database_refuses_delete_when_the_setting_says_so(event, settings):
    # What `migrate` does at its end (post_migrate), run twice: the triggers are idempotent.
    settings.AUDIT_SQLITE_REFUSES_DELETE = True
    install_audit_triggers_after_migrate(sender=apps.get_app_config("core"), using="default")
    install_audit_triggers_after_migrate(sender=apps.get_app_config("core"), using="default")
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.count() == count
    assert unchanged(event)
    if connection.vendor == "sqlite":
        assert _sqlite_triggers() == {"core_auditevent_no_update", "core_auditevent_no_delete"}
        # Turned off (the test suite's setting): the DELETE trigger is dropped, UPDATE stays.
        settings.AUDIT_SQLITE_REFUSES_DELETE = False
        install_audit_triggers_after_migrate(sender=apps.get_app_config("core"), using="default")
        assert _sqlite_triggers() == {"core_auditevent_no_update"}


def _mesoclinic(*args: str, var_dir: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY_FILE", "EMAIL_URL", "TIME_ZONE"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "mesoclinic.settings",
        "MESOCLINIC_VAR_DIR": str(var_dir),
        "SECRET_KEY": "migrate-test-" + "k" * 40,
        "DEBUG": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mesoclinic", *args],
        env=env,
        cwd=var_dir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


_INSERT = (
    "INSERT INTO core_auditevent (actor_email, action, object_type, object_id, object_repr,"
    " occurred_at, via, changes) VALUES ('', 'test.raw', '', '', '', '2026-01-01 00:00:00',"
    " 'cli', '{}')"
)


def test_a_migrated_sqlite_database_refuses_update_and_delete_from_any_client(tmp_path):
    """The product's own settings, a real `mesoclinic migrate`, then plain sqlite3."""
    _mesoclinic("migrate", "--no-input", var_dir=tmp_path)
    database = tmp_path / "mesoclinic.sqlite3"
    with closing(sqlite3.connect(database)) as db:
        db.execute(_INSERT)
        db.commit()
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE core_auditevent SET action = 'tampered'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM core_auditevent")
        db.rollback()
        assert db.execute("SELECT action FROM core_auditevent").fetchall() == [("test.raw",)]
        # A table rebuild by a later migration drops the table's triggers (simulated here):
        db.execute("DROP TRIGGER core_auditevent_no_update")
        db.execute("DROP TRIGGER core_auditevent_no_delete")
        db.commit()
    # ... and the next migrate, even with nothing to apply, puts them back.
    _mesoclinic("migrate", "--no-input", var_dir=tmp_path)
    with closing(sqlite3.connect(database)) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE core_auditevent SET action = 'tampered'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM core_auditevent")
        db.rollback()
        assert db.execute("SELECT count(*) FROM core_auditevent").fetchone() == (1,)


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


@override_settings(AXES_IPWARE_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("6.6.6.6, 203.0.113.9:8080", "203.0.113.9"),
        ("unknown", None),
        ("_hidden", None),
        ("203.0.113.300", None),
        ("[2001:db8::1", None),
        ("[2001:db8::1]x", None),
        ("203.0.113.9; DROP TABLE x", None),
        ("x" * 5000, None),
    ],
)
def test_a_forwarded_hop_is_read_as_an_address_or_not_at_all(rf, forwarded, expected):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize("remote", ["", "unix:", "garbage"])
def test_a_socket_address_that_is_not_an_ip_gives_none(rf, remote):
    assert client_ip(rf.get("/", REMOTE_ADDR=remote)) is None


@override_settings(AXES_IPWARE_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("forwarded", "stored"),
    [
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("unknown", None),
        ("not an address at all", None),
    ],
)
def test_a_sign_in_behind_a_proxy_stores_only_a_real_address(world, forwarded, stored):
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    response = client.post("/login/", {"username": "alice@acme.test", "password": "wrong one!"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.source_ip == stored
