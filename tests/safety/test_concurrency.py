"""A serious side effect recorded while the patient's next session is being signed
(PostgreSQL: real concurrent transactions, one thread and one connection each).

Both take the patient's row first, so they are serialised: the side effect cannot commit
between the signature's pre-check and its commit. The test holds the signature just after
its pre-check has looked for serious side effects (for up to two seconds, or until the side
effect is written) and only then lets the side effect be recorded: with the lock the record
waits for the signature and is written after it; without the lock it would commit inside
that window and the session would be signed past it.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.safety import selectors
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.treatments.services import session_open, session_sign, session_update
from tests.safety.conftest import itching, record
from tests.treatments.conftest import course_appointment
from tests.treatments.test_concurrency import require_postgresql, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_serious_side_effect_cannot_slip_in_while_the_next_session_is_signed(
    world, signed_visit, chart_content, fixed_clock, monkeypatch
):
    require_postgresql()
    course = signed_visit.appointment.course_session.course
    second = course_appointment(course, 2)
    fixed_clock.set(second.starts_at + dt.timedelta(minutes=10))
    draft = session_update(
        session=session_open(appointment=second, acting_user=world.paul),
        content=chart_content(),
        acting_user=world.paul,
    )

    checked, written = threading.Event(), threading.Event()
    original = selectors.blocking_events

    def blocking_events_then_hold(**kwargs):
        found = original(**kwargs)
        checked.set()
        written.wait(timeout=2)  # the window a missing lock would let a side effect into
        return found

    monkeypatch.setattr(selectors, "blocking_events", blocking_events_then_hold)

    def record_once_checked():
        assert checked.wait(timeout=20), "the signature never reached its pre-check"
        event = record(world, signed_visit, itching(grade=3))
        written.set()
        return event

    sign, serious = run_together(
        [
            lambda: session_sign(session=draft, acting_user=world.paul, send_aftercare=False),
            record_once_checked,
        ]
    )

    assert sign[0] == "ok", sign
    assert serious[0] == "ok", serious
    event = AdverseEvent.objects.get()
    recorded = AuditEvent.objects.get(action="adverse_event.record", object_id=str(event.pk))
    signed = AuditEvent.objects.get(action="session.sign", object_id=str(draft.pk))
    # The side effect was written after the signature committed, not inside it.
    assert signed.pk < recorded.pk
