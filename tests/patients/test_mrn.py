"""Medical record numbers: per organisation, prefixed, zero-padded, unique, never reused."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from mesoclinic.accounts.services import organisation_create
from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import PossibleDuplicate, _next_mrn, patient_create
from tests.conftest import details, make_patient
from tests.patients.helpers import form_data


def test_record_numbers_carry_the_prefix_and_a_six_digit_sequence(world):
    made = [make_patient(world.acme, world.fiona, family_name=f"N{i}") for i in range(3)]
    assert [p.mrn for p in made] == ["ACM-000003", "ACM-000004", "ACM-000005"]
    assert all(re.fullmatch(r"ACM-\d{6}", p.mrn) for p in made)


def test_a_new_organisation_starts_at_one(world):
    fresh = organisation_create(name="Fresh", slug="fresh", mrn_prefix="FRSH", acting_user=None)
    assert make_patient(fresh, world.alice).mrn == "FRSH-000001"
    assert make_patient(fresh, world.alice, family_name="Two").mrn == "FRSH-000002"


def test_sequences_of_different_organisations_are_independent(world):
    acme = [make_patient(world.acme, world.fiona, family_name=f"A{i}").mrn for i in range(2)]
    other = make_patient(world.other, world.oscar, family_name="O").mrn
    acme.append(make_patient(world.acme, world.fiona, family_name="A3").mrn)
    assert acme == ["ACM-000003", "ACM-000004", "ACM-000005"]
    assert other == "OTH-000002"
    world.acme.refresh_from_db()
    world.other.refresh_from_db()
    assert world.acme.mrn_last_number == 5
    assert world.other.mrn_last_number == 2


def test_the_same_number_cannot_be_stored_twice_in_one_organisation(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            organisation=world.acme,
            mrn=world.acme_patient.mrn,
            given_name="Copy",
            family_name="Cat",
            date_of_birth=world.acme_patient.date_of_birth,
            sex_at_birth="female",
        )


def test_a_number_is_never_handed_out_again_after_its_record_is_gone(world):
    with transaction.atomic():
        mrn = _next_mrn(world.acme)
        ghost = Patient.objects.create(
            organisation=world.acme,
            mrn=mrn,
            given_name="Ghost",
            family_name="Record",
            date_of_birth=world.acme_patient.date_of_birth,
            sex_at_birth="unknown",
        )
    assert mrn == "ACM-000003"
    ghost.delete()
    assert make_patient(world.acme, world.fiona, family_name="Next").mrn == "ACM-000004"


def test_a_refused_registration_does_not_use_up_a_number(world):
    with pytest.raises(PossibleDuplicate):
        patient_create(
            organisation=world.acme,
            details=details(given_name="Ana", family_name="Silva"),
            acting_user=world.fiona,
        )
    assert make_patient(world.acme, world.fiona, family_name="Next").mrn == "ACM-000003"


def test_the_record_number_cannot_be_changed_by_an_edit(client_for, world):
    client_for("paul").post(
        reverse("patients:edit", args=[world.acme_patient.pk]), form_data(mrn="ACM-999999")
    )
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.mrn == "ACM-000001"


THREADS = 8
PER_THREAD = 5


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need PostgreSQL; SQLite admits one writer at a time anyway",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_consecutive_numbers(world):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    mrns: list[str] = []
    lock = threading.Lock()

    def register(thread_no: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(PER_THREAD):
                patient = make_patient(
                    world.acme, world.fiona, family_name=f"T{thread_no}", given_name=f"G{i}"
                )
                with lock:
                    mrns.append(patient.mrn)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    expected = {f"ACM-{n:06d}" for n in range(3, 3 + THREADS * PER_THREAD)}
    assert len(mrns) == THREADS * PER_THREAD
    assert set(mrns) == expected
    stored = list(Patient.objects.filter(organisation=world.acme).values_list("mrn", flat=True))
    assert len(stored) == len(set(stored)) == 2 + THREADS * PER_THREAD
    world.acme.refresh_from_db()
    assert world.acme.mrn_last_number == 2 + THREADS * PER_THREAD
