"""Database triggers that make audit events append-only for every client, not only Django.

PostgreSQL refuses UPDATE and DELETE of ``core_auditevent`` rows. SQLite refuses UPDATE,
and DELETE too unless ``settings.AUDIT_SQLITE_REFUSES_DELETE`` is False (only the test
suite: Django's test flush empties SQLite tables with DELETE; PostgreSQL's uses TRUNCATE,
which row triggers do not see).

Installed by migration 0002 and again after every ``migrate`` (``post_migrate``, see
``core.apps``): every statement is idempotent, and rebuilding the table on SQLite (which
Django does for many schema changes) drops its triggers, so they are put back each time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "core_auditevent"

PG_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    """
    CREATE TRIGGER core_auditevent_append_only
        BEFORE UPDATE OR DELETE ON core_auditevent
        FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()
    """,
]
PG_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_append_only()",
]
SQLITE_NO_UPDATE = """
CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)');
END
"""
SQLITE_NO_DELETE = """
CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)');
END
"""
SQLITE_DROP_NO_UPDATE = "DROP TRIGGER IF EXISTS core_auditevent_no_update"
SQLITE_DROP_NO_DELETE = "DROP TRIGGER IF EXISTS core_auditevent_no_delete"


def _statements(connection: BaseDatabaseWrapper, *, sqlite_refuses_delete: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return PG_INSTALL
    if connection.vendor == "sqlite":
        return [
            SQLITE_NO_UPDATE,
            SQLITE_NO_DELETE if sqlite_refuses_delete else SQLITE_DROP_NO_DELETE,
        ]
    return []


def install_audit_triggers(
    connection: BaseDatabaseWrapper, *, sqlite_refuses_delete: bool | None = None
) -> None:
    """Create (or re-create) the triggers; drops SQLite's DELETE trigger when it is off."""
    if sqlite_refuses_delete is None:
        sqlite_refuses_delete = getattr(settings, "AUDIT_SQLITE_REFUSES_DELETE", True)
    statements = _statements(connection, sqlite_refuses_delete=sqlite_refuses_delete)
    if not statements:
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            return  # Migrated back past core's first migration: nothing to protect.
        for sql in statements:
            cursor.execute(sql)


def remove_audit_triggers(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        statements = PG_REMOVE
    elif connection.vendor == "sqlite":
        statements = [SQLITE_DROP_NO_UPDATE, SQLITE_DROP_NO_DELETE]
    else:
        return
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
