"""patient_update changes only what it is given, under the row lock."""

from __future__ import annotations

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import StaleEdit, patient_update


def test_a_partial_change_keeps_a_concurrent_change_to_another_field(world):
    """Two people editing different fields do not undo each other (the API's PATCH)."""
    seen_by_paul = Patient.objects.get(pk=world.acme_patient.pk)
    patient_update(
        patient=world.acme_patient, changes={"email": "new@example.com"}, acting_user=world.fiona
    )
    patient_update(
        patient=seen_by_paul, changes={"phone": "+44 7700 900222"}, acting_user=world.paul
    )
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.email == "new@example.com"
    assert world.acme_patient.phone == "+44 7700 900222"
    pauls = AuditEvent.objects.filter(action="patient.update", actor=world.paul).get()
    assert set(pauls.changes) == {"phone"}


def test_an_expected_version_that_is_stale_is_refused(world):
    opened_at = world.acme_patient.updated_at
    patient_update(patient=world.acme_patient, changes={"phone": ""}, acting_user=world.fiona)
    with pytest.raises(StaleEdit):
        patient_update(
            patient=world.acme_patient,
            changes={"family_name": "Silva-Costa"},
            acting_user=world.paul,
            expected_updated_at=opened_at,
        )
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.family_name == "Silva"


def test_unknown_fields_are_a_programming_error(world):
    with pytest.raises(ValueError, match="mrn"):
        patient_update(patient=world.acme_patient, changes={"mrn": "X"}, acting_user=world.paul)
