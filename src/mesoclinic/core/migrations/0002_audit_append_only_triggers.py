"""Make the database itself refuse to change audit events.

PostgreSQL refuses UPDATE and DELETE; SQLite refuses UPDATE, and DELETE unless the setting
AUDIT_SQLITE_REFUSES_DELETE is False (the test suite: Django's test flush empties SQLite
tables with DELETE). The SQL lives in core/triggers.py and is idempotent: the app's
post_migrate handler (core/apps.py) runs it again after every migrate, so a later table
rebuild on SQLite cannot silently drop the triggers.
"""

from django.db import migrations

from mesoclinic.core.triggers import install_audit_triggers, remove_audit_triggers


def forward(apps, schema_editor):
    install_audit_triggers(schema_editor.connection)


def backward(apps, schema_editor):
    remove_audit_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
