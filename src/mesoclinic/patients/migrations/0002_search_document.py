"""Replace phone_digits with one folded search document per patient, trigram-indexed on PostgreSQL.

The fill uses the pure ``patients.search`` module on purpose: the document must be built exactly
as the services build it today, or search would miss rows written before this migration.
"""

from django.db import migrations, models

from mesoclinic.patients.search import search_document

BATCH = 2000


def fill_search_documents(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    rows = Patient.objects.order_by("pk").only("given_name", "family_name", "mrn", "email", "phone")
    batch = []
    for patient in rows.iterator(chunk_size=BATCH):
        patient.search_document = search_document(
            given_name=patient.given_name,
            family_name=patient.family_name,
            mrn=patient.mrn,
            email=patient.email,
            phone=patient.phone,
        )
        batch.append(patient)
        if len(batch) == BATCH:
            Patient.objects.bulk_update(batch, ["search_document"])
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, ["search_document"])


TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS patient_search_trgm_idx ON patients_patient "
    "USING gin (search_document gin_trgm_ops)"
)


def add_trigram_index(apps, schema_editor):
    # Substring search ("LIKE '%term%'") can use only a trigram index; SQLite scans instead,
    # which is fast enough at one clinic's size.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    schema_editor.execute(TRIGRAM_INDEX, params=None)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_search_trgm_idx", params=None)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="search_document",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_documents, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="patient", name="patient_org_phone_idx"),
        migrations.RemoveField(model_name="patient", name="phone_digits"),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
