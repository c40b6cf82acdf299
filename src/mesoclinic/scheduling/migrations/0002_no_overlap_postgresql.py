"""On PostgreSQL, exclusion constraints refuse overlapping active appointments of one
practitioner, one room or one patient, whatever code writes the row. SQLite has no
exclusion constraints; there ``appointment_book`` runs in an IMMEDIATE transaction, which
holds the database's single write lock from its first statement, so its check and insert
cannot interleave with another booking's."""

from django.db import migrations

ACTIVE = "status IN ('booked', 'checked_in')"
CONSTRAINTS = {
    "appointment_practitioner_no_overlap": "practitioner_id",
    "appointment_room_no_overlap": "room_id",
    "appointment_patient_no_overlap": "patient_id",
}


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE ({ACTIVE})"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT {name}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
