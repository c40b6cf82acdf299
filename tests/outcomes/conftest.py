"""Shared fixtures for outcomes: the clock is Wednesday 2 December 2026 (FIXED_NOW, London);
Rita (born 1985) has a hair course starting 5 January 2026 at Acme City with Paul."""

from __future__ import annotations

from typing import Any

import pytest

from mesoclinic.scheduling.models import Course
from tests.api.conftest import api_for  # noqa: F401 - fixture for test_api.py
from tests.conftest import make_patient
from tests.outcomes.factories import course_row


@pytest.fixture
def rita(world: Any) -> Any:
    return make_patient(
        world.acme, world.fiona, given_name="Rita", family_name="Review", email="rita@example.com"
    )


@pytest.fixture
def rita_course(world: Any, calendar: Any, rita: Any) -> Course:
    return course_row(world, rita, calendar.hair)
