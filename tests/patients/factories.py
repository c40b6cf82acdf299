"""Fixtures shared by the patient page tests and the API tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mesoclinic.accounts.models import Organisation, User
from mesoclinic.patients.models import Patient
from tests.conftest import World, make_patient

FIRST_NAMES = ["Ana", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jon"]


@pytest.fixture
def add_patients(world: World) -> Callable[..., list[Patient]]:
    """Register ``count`` distinct patients through the service (the one write path)."""
    made = {"n": 0}

    def add(count: int, organisation: Organisation | None = None, by: User | None = None):
        organisation = organisation or world.acme
        by = by or world.fiona
        clinics = [world.acme_city, world.acme_river, None]
        patients = []
        for _ in range(count):
            n = made["n"] = made["n"] + 1
            patients.append(
                make_patient(
                    organisation,
                    by,
                    given_name=FIRST_NAMES[n % len(FIRST_NAMES)],
                    family_name=f"Family{n:04d}",
                    email=f"p{n}@example.com",
                    phone=f"+34 600 {n:06d}",
                    preferred_clinic=clinics[n % 3] if organisation == world.acme else None,
                )
            )
        return patients

    return add
