"""No double booking: a practitioner, a room or a patient is never in two overlapping
active appointments, enforced inside the database transaction."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from mesoclinic.core.errors import Conflict
from mesoclinic.scheduling.models import Appointment, AppointmentType
from mesoclinic.scheduling.services import appointment_book
from tests.conftest import make_patient
from tests.scheduling_fixtures import LONDON

SLOT = dt.datetime(2026, 12, 3, 10, 0, tzinfo=LONDON)  # Thursday 10:00


def consultation(world):
    return AppointmentType.objects.get(organisation=world.acme, code="consultation")


def book(world, patient, practitioner, starts_at=SLOT):
    return appointment_book(
        patient=patient,
        clinic=world.acme_city,
        practitioner=practitioner,
        appointment_type=consultation(world),
        starts_at=starts_at,
        acting_user=world.fiona,
    )


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has no exclusion constraints, and its in-memory test "
            "database cannot take concurrent writers (IMMEDIATE transactions serialise them "
            "on a file database instead)"
        )


@pytest.mark.parametrize(
    "clash",
    ["same-practitioner", "same-patient", "overlapping-end"],
)
def test_an_overlapping_booking_is_refused_with_slot_taken(calendar, world, clash):
    first_patient = make_patient(world.acme, world.fiona, family_name="First")
    second_patient = make_patient(world.acme, world.fiona, family_name="Second")
    book(world, first_patient, world.paul)
    with pytest.raises(Conflict, match="slot is taken"):
        if clash == "same-practitioner":
            book(world, second_patient, world.paul)
        elif clash == "same-patient":
            book(world, first_patient, world.alice)
        else:
            book(world, second_patient, world.paul, SLOT + dt.timedelta(minutes=15))
    assert Appointment.objects.count() == 1


def test_when_every_room_is_taken_the_slot_is_refused(calendar, world):
    patients = [make_patient(world.acme, world.fiona, family_name=f"P{n}") for n in range(3)]
    from mesoclinic.accounts.models import Role
    from tests.conftest import add_staff

    third = add_staff(world.acme, world.acme_city, "tom@acme.test", "Tom", Role.PRACTITIONER, None)
    from mesoclinic.scheduling.models import WorkingHours

    WorkingHours.objects.create(
        organisation=world.acme,
        practitioner=third,
        clinic=world.acme_city,
        weekday=SLOT.weekday(),
        starts_at=dt.time(9),
        ends_at=dt.time(17),
    )
    book(world, patients[0], world.paul)
    book(world, patients[1], world.alice)
    with pytest.raises(Conflict, match="no treatment room"):
        book(world, patients[2], third)


def test_back_to_back_appointments_do_not_clash(calendar, world):
    first = book(world, make_patient(world.acme, world.fiona, family_name="A"), world.paul)
    second = book(
        world, make_patient(world.acme, world.fiona, family_name="B"), world.paul, first.ends_at
    )
    assert second.starts_at == first.ends_at


def test_a_booking_outside_opening_hours_is_explained(calendar, world):
    from mesoclinic.core.errors import DomainError

    patient = make_patient(world.acme, world.fiona, family_name="Late")
    with pytest.raises(DomainError, match="outside the clinic's opening hours"):
        book(world, patient, world.paul, SLOT.replace(hour=18))
    saturday = SLOT + dt.timedelta(days=2)
    with pytest.raises(DomainError, match="outside the clinic's opening hours"):
        book(world, patient, world.paul, saturday)
    assert not Appointment.objects.exists()


def test_the_database_itself_refuses_an_overlapping_row_on_postgresql(calendar, world):
    require_postgresql()
    first = book(world, make_patient(world.acme, world.fiona, family_name="A"), world.paul)
    other = make_patient(world.acme, world.fiona, family_name="B")
    # Written past the service, as a buggy script would: the exclusion constraint refuses it.
    with (
        pytest.raises(IntegrityError, match="appointment_practitioner_no_overlap"),
        transaction.atomic(),
    ):
        Appointment.objects.create(
            organisation=world.acme,
            clinic=world.acme_city,
            practitioner=world.paul,
            patient=other,
            appointment_type=first.appointment_type,
            starts_at=first.starts_at + dt.timedelta(minutes=5),
            ends_at=first.ends_at + dt.timedelta(minutes=5),
            created_by=world.fiona,
        )
    # A cancelled appointment does not hold its slot.
    Appointment.objects.filter(pk=first.pk).update(status="cancelled")
    Appointment.objects.create(
        organisation=world.acme,
        clinic=world.acme_city,
        practitioner=world.paul,
        patient=other,
        appointment_type=first.appointment_type,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        created_by=world.fiona,
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(calendar, world):
    require_postgresql()
    contenders = 6
    patients = [
        make_patient(world.acme, world.fiona, family_name=f"Racer{n}") for n in range(contenders)
    ]
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(patient):
        try:
            barrier.wait(timeout=10)
            book(world, patient, world.paul)
            result = "booked"
        except Conflict as error:
            result = "taken" if "slot is taken" in error.message else f"other: {error.message}"
        except Exception as error:
            result = f"error: {error!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["booked"] + ["taken"] * (contenders - 1), outcomes
    assert Appointment.objects.filter(practitioner=world.paul).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_clinician_booking_while_being_booked_does_not_deadlock(calendar, world, monkeypatch):
    """Paul books Alice's consultation while Fiona books Paul. Paul's commit checks his own
    row (created_by, audit actor) while Fiona's booking holds it: with plain FOR UPDATE
    locks that check waited on Fiona, who waited on the clinic Paul held."""
    require_postgresql()
    import time

    from mesoclinic.scheduling import services

    first = make_patient(world.acme, world.fiona, family_name="One")
    second = make_patient(world.acme, world.fiona, family_name="Two")
    holds_clinic = threading.Event()
    real_check = services._check_slot

    def slow_check(**kwargs):
        result = real_check(**kwargs)
        if threading.current_thread().name == "paul":
            holds_clinic.set()
            time.sleep(1.0)  # Fiona's booking now locks Paul's row and waits for the clinic
        return result

    monkeypatch.setattr(services, "_check_slot", slow_check)
    outcomes: dict[str, str] = {}

    def run(name, **kwargs):
        try:
            if name == "fiona":
                holds_clinic.wait(10)
            appointment_book(
                clinic=world.acme_city,
                appointment_type=consultation(world),
                **kwargs,
            )
            outcomes[name] = "booked"
        except Exception as error:
            outcomes[name] = repr(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(
            target=run,
            name="paul",
            args=("paul",),
            kwargs={
                "patient": first,
                "practitioner": world.alice,
                "starts_at": SLOT,
                "acting_user": world.paul,
            },
        ),
        threading.Thread(
            target=run,
            name="fiona",
            args=("fiona",),
            kwargs={
                "patient": second,
                "practitioner": world.paul,
                "starts_at": SLOT + dt.timedelta(hours=4),
                "acting_user": world.fiona,
            },
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"paul": "booked", "fiona": "booked"}, outcomes
