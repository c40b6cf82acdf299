"""Shared fixtures for side effects: Rita's first hair session, signed by Paul today
(Wednesday 2 December 2026, 09:00 at Acme City, Hair cocktail lot HC-2401); the clock is
then moved to 21:00 London, an hour after the evening's itching began.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mesoclinic.safety.models import AdverseEvent, Relation
from mesoclinic.safety.services import EventInput, adverse_event_record
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments.models import TreatmentSession
from mesoclinic.treatments.services import session_open, session_sign, session_update
from tests.api.conftest import api_for  # noqa: F401 - fixture for test_api.py
from tests.scheduling_fixtures import LONDON
from tests.treatments.conftest import (  # noqa: F401 - fixtures used by the tests here
    Stocked,
    chart_content,
    make_content,
    stocked,
    todays_appointment,
)

SESSION_START = dt.datetime(2026, 12, 2, 9, 0, tzinfo=LONDON)
EVENING = dt.datetime(2026, 12, 2, 20, 0, tzinfo=LONDON)
NIGHT = dt.datetime(2026, 12, 2, 21, 0, tzinfo=LONDON)


def sign_visit(world: Any, appointment: Appointment, content: Any) -> TreatmentSession:
    session = session_open(appointment=appointment, acting_user=world.paul)
    session = session_update(session=session, content=content, acting_user=world.paul)
    return session_sign(session=session, acting_user=world.paul, send_aftercare=False)


@pytest.fixture
def signed_visit(
    world,
    stocked,  # noqa: F811
    todays_appointment,  # noqa: F811
    chart_content,  # noqa: F811
    fixed_clock,
) -> TreatmentSession:
    """Rita's first session, signed by Paul (09:00-09:45 today); the clock is then 21:00."""
    session = sign_visit(world, todays_appointment, chart_content())
    fixed_clock.set(NIGHT)
    return session


def itching(**overrides: Any) -> EventInput:
    """Grade 1 itching since this evening, possibly related, reported by the patient."""
    fields: dict[str, Any] = {
        "term": "pruritus",
        "onset_at": EVENING,
        "grade": 1,
        "relation": Relation.POSSIBLE,
        "reported_by": "patient",
    }
    fields.update(overrides)
    return EventInput(**fields)


def record(
    world: Any, session: TreatmentSession, data: EventInput | None = None, **kw: Any
) -> AdverseEvent:
    return adverse_event_record(
        patient=session.patient,
        appointments=[session.appointment],
        data=data or itching(),
        acting_user=kw.pop("acting_user", world.paul),
        **kw,
    )
