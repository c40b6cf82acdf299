"""Shared personas.

Acme Hair has two clinics and one person in each role:
- Alice is Acme's admin; she can do everything at Acme.
- Paul is a practitioner and Fiona is on the front desk; both can read and write patients.
- Audrey is Acme's auditor: she can read everything and change nothing.
- Dora was on Acme's front desk and has been deactivated: she can do nothing.
- Oscar is the admin of Other Clinic: he must get 404 for anything of Acme's.
- Pat is an Acme patient with a portal account; staff pages are not for him.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from mesoclinic.accounts.models import Clinic, Membership, Organisation, Role, User
from mesoclinic.accounts.services import (
    api_token_create,
    clinic_create,
    membership_create,
    membership_deactivate,
    organisation_create,
)
from mesoclinic.patients.models import Patient, SexAtBirth
from mesoclinic.patients.services import (
    PatientDetails,
    patient_create,
    patient_portal_account_create,
)

# The loopback SMTP server (smtp_server) and the calendar fixtures, for every app's tests.
pytest_plugins = ["tests.smtp", "tests.scheduling_fixtures"]

PASSWORD = "correct horse battery staple"
OPEN_9_TO_5 = [(day, dt.time(9), dt.time(17)) for day in range(5)]


@dataclass
class World:
    acme: Organisation
    acme_city: Clinic
    acme_river: Clinic
    other: Organisation
    other_clinic: Clinic
    alice: User
    paul: User
    fiona: User
    audrey: User
    dora: User
    oscar: User
    pat: User
    pat_patient: Patient
    acme_patient: Patient
    other_patient: Patient

    def persona(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)


def make_user(email: str, full_name: str) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, full_name=full_name)


def add_staff(
    organisation: Organisation, clinic: Clinic, email: str, name: str, role: str, by: User | None
) -> User:
    user = make_user(email, name)
    membership_create(
        user=user, organisation=organisation, role=role, default_clinic=clinic, acting_user=by
    )
    return user


def details(**overrides: object) -> PatientDetails:
    values: dict[str, object] = {
        "given_name": "Jane",
        "family_name": "Doe",
        "date_of_birth": dt.date(1985, 3, 14),
        "sex_at_birth": SexAtBirth.FEMALE,
        "email": "jane.doe@example.com",
        "phone": "+44 7700 900123",
        "address": "1 High Street\nLondon",
        "preferred_clinic": None,
    }
    values.update(overrides)
    return PatientDetails(**values)  # type: ignore[arg-type]


def make_patient(world_org: Organisation, by: User, **overrides: object) -> Patient:
    return patient_create(
        organisation=world_org,
        details=details(**overrides),
        acting_user=by,
        confirm_not_duplicate=True,
    )


@pytest.fixture
def world(db: None) -> World:
    acme = organisation_create(name="Acme Hair", slug="acme", mrn_prefix="ACM", acting_user=None)
    city = clinic_create(
        organisation=acme,
        name="Acme City",
        timezone_name="Europe/London",
        opening_hours=OPEN_9_TO_5,
        acting_user=None,
    )
    river = clinic_create(
        organisation=acme, name="Acme Riverside", timezone_name="Europe/London", acting_user=None
    )
    other = organisation_create(
        name="Other Clinic", slug="other", mrn_prefix="OTH", acting_user=None
    )
    other_clinic = clinic_create(
        organisation=other, name="Other Main", timezone_name="Europe/Madrid", acting_user=None
    )
    alice = add_staff(acme, city, "alice@acme.test", "Alice Admin", Role.ADMIN, None)
    paul = add_staff(acme, city, "paul@acme.test", "Paul Practitioner", Role.PRACTITIONER, alice)
    fiona = add_staff(acme, river, "fiona@acme.test", "Fiona Frontdesk", Role.FRONTDESK, alice)
    audrey = add_staff(acme, city, "audrey@acme.test", "Audrey Auditor", Role.AUDITOR, alice)
    dora = add_staff(acme, city, "dora@acme.test", "Dora Departed", Role.FRONTDESK, alice)
    membership_deactivate(
        membership=Membership.objects.get(user=dora, organisation=acme), acting_user=alice
    )
    dora.refresh_from_db()
    oscar = add_staff(other, other_clinic, "oscar@other.test", "Oscar Other", Role.ADMIN, None)
    acme_patient = make_patient(
        acme, fiona, given_name="Ana", family_name="Silva", preferred_clinic=city
    )
    pat_patient = make_patient(
        acme, fiona, given_name="Pat", family_name="Portal", email="pat@example.com"
    )
    pat = patient_portal_account_create(
        patient=pat_patient, email="pat@example.com", password=PASSWORD, acting_user=alice
    )
    other_patient = make_patient(other, oscar, given_name="Otto", family_name="Outsider")
    return World(
        acme,
        city,
        river,
        other,
        other_clinic,
        alice,
        paul,
        fiona,
        audrey,
        dora,
        oscar,
        pat,
        pat_patient,
        acme_patient,
        other_patient,
    )


@pytest.fixture
def client_for(world: World) -> Callable[[str], Client]:
    """A test client signed in as the named persona ("anonymous" for none)."""

    def make(name: str) -> Client:
        client = Client()
        user = world.persona(name)
        if user is not None:
            client.force_login(user, backend="mesoclinic.accounts.backends.EmailBackend")
        return client

    return make


@pytest.fixture
def token_for(world: World) -> Callable[[str], str]:
    """An API bearer token for the named persona (created before any deactivation)."""

    def make(name: str) -> str:
        user = world.persona(name)
        assert user is not None
        membership = Membership.objects.get(user=user)
        _, secret = (
            api_token_create(user=user, organisation=membership.organisation, acting_user=None)
            if membership.is_active
            else (None, "mc_deactivated-user-has-no-valid-token")
        )
        return secret

    return make


STAFF = ["alice", "paul", "fiona", "audrey"]
WRITERS = ["alice", "paul", "fiona"]
