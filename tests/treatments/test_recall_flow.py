"""A recall end to end through the real services: two patients charted and signed with one
lot, a third with another; recalling the first lot lists exactly the two, alerts their
charts, and blocks any further use of the lot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.inventory.selectors import recall_rows, recalled_lots_received
from mesoclinic.inventory.services import lot_recall, lot_receive, stock_transfer
from mesoclinic.treatments.models import SessionStatus
from mesoclinic.treatments.services import (
    SessionContent,
    session_open,
    session_sign,
    session_update,
)
from tests.scheduling_fixtures import LONDON, make_ready_patient
from tests.treatments.conftest import TODAY, course_appointment, make_content, start_course


def todays_visit(world, calendar, name: str):
    patient = make_ready_patient(
        world, calendar.hair, given_name=name, family_name="Recall", email=f"{name}@example.com"
    )
    appointment = course_appointment(start_course(calendar, patient), 1)
    assert appointment.starts_at.astimezone(LONDON).date() == TODAY
    return appointment


def sign_with(world, appointment, content: SessionContent):
    session = session_open(appointment=appointment, acting_user=world.paul)
    session_update(session=session, content=content, acting_user=world.paul)
    return session_sign(session=session, acting_user=world.paul, send_aftercare=False)


def test_recalling_a_lot_lists_exactly_its_patients_and_blocks_further_use(
    world, calendar, stocked, todays_appointment, fixed_clock
):
    # Rita (today's appointment) and Una get lot HC-2401; Vic gets HC-2402.
    una = todays_visit(world, calendar, "Una")
    vic = todays_visit(world, calendar, "Vic")
    latest = max(a.starts_at for a in (todays_appointment, una, vic))
    fixed_clock.set(latest)
    sign_with(world, todays_appointment, make_content(stocked, lot="a"))
    sign_with(world, una, make_content(stocked, lot="a"))
    sign_with(world, vic, make_content(stocked, zones=(("vertex", Decimal("1.0")),), lot="b"))

    lot_recall(lot=stocked.lot_a, reason="Manufacturer notice MN-1", acting_user=world.alice)

    rows = recall_rows(lot=stocked.lot_a)
    assert sorted(r.patient_id for r in rows) == sorted(
        [todays_appointment.patient_id, una.patient_id]
    )
    assert all(r.volume == Decimal("2.5") and r.email for r in rows)
    assert [lot.pk for lot, _day in recalled_lots_received(patient_id=una.patient_id)] == [
        stocked.lot_a.pk
    ]
    assert recalled_lots_received(patient_id=vic.patient_id) == []

    # No further use: not charted, not received, not moved.
    wes = todays_visit(world, calendar, "Wes")
    fixed_clock.set(max(latest, wes.starts_at))
    draft = session_open(appointment=wes, acting_user=world.paul)
    session_update(session=draft, content=make_content(stocked, lot="a"), acting_user=world.paul)
    with pytest.raises(DomainError, match="recalled"):
        session_sign(session=draft, acting_user=world.paul, send_aftercare=False)
    draft.refresh_from_db()
    assert draft.status == SessionStatus.DRAFT
    with pytest.raises(Conflict, match="recalled"):
        lot_receive(
            product=stocked.product,
            clinic=world.acme_city,
            lot_number="HC-2401",
            expires_on=stocked.lot_a.expires_on,
            quantity=Decimal("5"),
            acting_user=world.alice,
        )
    with pytest.raises(Conflict, match="recalled"):
        stock_transfer(
            lot=stocked.lot_a,
            from_clinic=world.acme_city,
            to_clinic=world.acme_river,
            quantity=Decimal("1"),
            acting_user=world.alice,
        )
