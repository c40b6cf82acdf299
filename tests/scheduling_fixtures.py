"""Shared fixtures for courses and the calendar: a fixed clock, a clinic with rooms and
working hours, and a patient screened and consented for hair mesotherapy.

Registered for the whole suite in tests/conftest.py (``pytest_plugins``), so the page, API
and browser tests use the same calendar.
"""

from __future__ import annotations

import base64
import datetime as dt
import zoneinfo
from dataclasses import dataclass

import pytest

from mesoclinic.core import clock
from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import consent_sign, consent_templates_current
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.scheduling.models import Room, WorkingHours
from mesoclinic.screening.models import Screening
from tests.conftest import World, make_patient

LONDON = zoneinfo.ZoneInfo("Europe/London")
# Wednesday 2 December 2026, 08:00 in London (= 08:00 UTC): before the clinic opens.
FIXED_NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=LONDON)
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class FixedClock:
    """The scheduling clock (mesoclinic.core.clock), set by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def set(self, now: dt.datetime) -> None:
        self.current = now

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)

    def now(self) -> dt.datetime:
        return self.current.astimezone(dt.UTC)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    fixed = FixedClock(FIXED_NOW)
    monkeypatch.setattr(clock, "now", fixed.now)
    return fixed


@dataclass
class CalendarWorld:
    world: World
    rooms: list[Room]
    hair: ProtocolVersion  # hair-mesotherapy, version 1
    prp: ProtocolVersion

    def protocol(self, code: str) -> ProtocolVersion:
        version = Protocol.objects.get(organisation=self.world.acme, code=code).current_version
        assert version is not None
        return version


@pytest.fixture
def calendar(world: World, fixed_clock: FixedClock) -> CalendarWorld:
    """Acme City (open Monday to Friday 09:00-17:00, Europe/London) with two rooms; Paul
    and Alice work there Monday to Friday 09:00-17:00. The clock is FIXED_NOW."""
    rooms = [
        Room.objects.create(organisation=world.acme, clinic=world.acme_city, name=f"Room {n}")
        for n in (1, 2)
    ]
    WorkingHours.objects.bulk_create(
        WorkingHours(
            organisation=world.acme,
            practitioner=person,
            clinic=world.acme_city,
            weekday=day,
            starts_at=dt.time(9),
            ends_at=dt.time(17),
        )
        for person in (world.paul, world.alice)
        for day in range(5)
    )
    versions = {
        p.code: p.current_version
        for p in Protocol.objects.filter(organisation=world.acme).select_related("current_version")
    }
    return CalendarWorld(
        world=world, rooms=rooms, hair=versions["hair-mesotherapy"], prp=versions["prp-hair"]
    )


def make_ready(
    world: World, patient: Patient, version: ProtocolVersion, *, outcome: str = "eligible"
) -> Patient:
    """Screen ``patient`` for ``version`` with ``outcome`` and sign its current consents."""
    Screening.objects.create(
        organisation=world.acme,
        patient=patient,
        screened_on=clock.now().date(),
        screened_by=world.paul,
        protocol_kind=version.kind,
        protocol_version=version,
        ingredients=version.ingredient_codes,
        outcome=outcome,
        rule_set_version="2026-11-1",
        facts={},
        decision={"reasons": []},
    )
    templates = {t.code: t for t in consent_templates_current(organisation=world.acme)}
    for code in version.consent_codes:
        consent_sign(
            patient=patient,
            template=templates[code],
            signed_name=patient.full_name,
            signature_png=TINY_PNG,
            acting_user=world.paul,
        )
    return patient


def make_ready_patient(
    world: World, version: ProtocolVersion, *, outcome: str = "eligible", **details: object
) -> Patient:
    """A new patient screened for ``version`` with ``outcome`` who signed its consents."""
    return make_ready(
        world, make_patient(world.acme, world.fiona, **details), version, outcome=outcome
    )


@pytest.fixture
def ready_patient(world: World, calendar: CalendarWorld) -> Patient:
    """Screened eligible for hair mesotherapy and consented; has an email for reminders."""
    return make_ready_patient(
        world, calendar.hair, given_name="Rita", family_name="Ready", email="rita@example.com"
    )
