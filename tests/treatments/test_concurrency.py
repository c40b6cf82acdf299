"""Signing sessions while the stock of their lot changes (PostgreSQL: real concurrent
transactions, one thread and one database connection each).

Two signatures that both want the last millilitres of a lot are serialised by the stock
row's lock: one signs, the other is refused with the stock it found and stays a draft. A
receipt, a negative adjustment, a consumption and a signature on the same lot and clinic at
once never deadlock (the services take their locks in one order), and the ledger's last
balance is the stock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.inventory.models import Lot, MovementKind, Stock, StockMovement
from mesoclinic.inventory.services import LotUse, lot_receive, stock_adjust, stock_consume
from mesoclinic.scheduling.models import Appointment, AppointmentStatus
from mesoclinic.treatments.models import SessionStatus, TreatmentSession
from mesoclinic.treatments.services import session_open, session_sign, session_update
from tests.conftest import make_patient
from tests.inventory.factories import make_session
from tests.scheduling_fixtures import LONDON, make_ready_patient
from tests.treatments.conftest import TODAY, course_appointment, make_content, start_course

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
EXPIRES = dt.date(2027, 6, 30)  # HC-2401's expiry (tests/treatments/conftest.py)


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        reason = (
            "needs PostgreSQL: SQLite's in-memory test database cannot take concurrent "
            "writers (it serialises every write transaction, so there is no race to test)"
        )
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)


def run_together(work: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run each callable in its own thread, all released at once by a barrier; return
    ("ok", result) or ("refused", DomainError) or ("error", other exception) for each."""
    barrier = threading.Barrier(len(work))
    outcomes: list[tuple[str, Any] | None] = [None] * len(work)

    def attempt(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("ok", job())
        except DomainError as error:
            outcomes[index] = ("refused", error)
        except Exception as error:
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(index, job)) for index, job in enumerate(work)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


def chart(world, appointment: Appointment, stocked, lot: Lot) -> TreatmentSession:
    """A draft of ``appointment`` charted by Paul: the routine 2.5 mL from ``lot``."""
    session = session_open(appointment=appointment, acting_user=world.paul)
    return session_update(
        session=session, content=make_content(stocked, lot=lot), acting_user=world.paul
    )


def second_patients_visit_today(world, calendar) -> Appointment:
    """Another patient's first course session, booked at Acme City later today."""
    patient = make_ready_patient(
        world, calendar.hair, given_name="Sam", family_name="Second", email="sam@example.com"
    )
    appointment = course_appointment(start_course(calendar, patient), 1)
    assert appointment.starts_at.astimezone(LONDON).date() == TODAY
    assert appointment.clinic_id == world.acme_city.pk
    return appointment


def test_two_signatures_wanting_the_last_of_a_lot_one_signs_the_other_stays_a_draft(
    world, calendar, stocked, todays_appointment
):
    require_postgresql()
    # 4 mL: enough for one routine chart (2.5 mL), not for two.
    lot = lot_receive(
        product=stocked.product,
        clinic=world.acme_city,
        lot_number="HC-LAST",
        expires_on=EXPIRES,
        quantity=D("4"),
        acting_user=world.alice,
    )
    sessions = [
        chart(world, todays_appointment, stocked, lot),
        chart(world, second_patients_visit_today(world, calendar), stocked, lot),
    ]
    assert sessions[0].patient_id != sessions[1].patient_id

    outcomes = run_together(
        [
            lambda s=s: session_sign(session=s, acting_user=world.paul, send_aftercare=False)
            for s in sessions
        ]
    )

    assert sorted(kind for kind, _value in outcomes) == ["ok", "refused"], outcomes
    winner = next(i for i, (kind, _v) in enumerate(outcomes) if kind == "ok")
    loser = 1 - winner
    error = outcomes[loser][1]
    assert isinstance(error, Conflict), error
    assert "Only 1.50 mL of Hair cocktail lot HC-LAST are in stock" in error.message, error.message

    stock = Stock.objects.get(lot=lot, clinic=world.acme_city)
    assert stock.quantity == D("1.50")
    assert stock.quantity >= 0
    assert StockMovement.objects.filter(lot=lot, kind=MovementKind.CONSUME).count() == 1
    assert StockMovement.objects.filter(lot=lot).order_by("-pk").first().balance_after == D("1.50")

    signed = TreatmentSession.objects.get(pk=sessions[winner].pk)
    assert signed.status == SessionStatus.SIGNED
    assert Appointment.objects.get(pk=signed.appointment_id).status == AppointmentStatus.COMPLETED
    draft = TreatmentSession.objects.get(pk=sessions[loser].pk)
    assert draft.status == SessionStatus.DRAFT
    assert draft.signed_at is None and draft.signed_by is None
    assert draft.injections.count() == 3, "the loser's chart was kept as charted"
    assert Appointment.objects.get(pk=draft.appointment_id).status in (
        AppointmentStatus.BOOKED,
        AppointmentStatus.CHECKED_IN,
    )
    assert not StockMovement.objects.filter(session=draft).exists()


ROUNDS = 4


def test_receiving_adjusting_consuming_and_signing_one_lot_at_once_never_deadlocks(
    world, calendar, stocked, todays_appointment
):
    require_postgresql()
    lot, clinic = stocked.lot_a, world.acme_city  # HC-2401: 20 mL at Acme City
    start = Stock.objects.get(lot=lot, clinic=clinic).quantity
    first_movement = StockMovement.objects.filter(lot=lot, clinic=clinic).order_by("-pk").first()
    draft = chart(world, todays_appointment, stocked, lot)
    others = [
        make_session(
            world,
            make_patient(world.acme, world.fiona, family_name=f"Racer{n}"),
            signed=False,
        )
        for n in range(ROUNDS * 2)
    ]

    def receive() -> Decimal:
        lot_receive(
            product=stocked.product,
            clinic=clinic,
            lot_number="hc-2401 ",
            expires_on=EXPIRES,
            quantity=D("3"),
            supplier="Meso Labs",
            acting_user=world.fiona,
        )
        return D("3")

    def adjust() -> Decimal:
        stock_adjust(
            lot=lot, clinic=clinic, delta=D("-1"), reason="Broken vial", acting_user=world.fiona
        )
        return D("-1")

    def consume(session: TreatmentSession) -> Decimal:
        with transaction.atomic():
            stock_consume(
                clinic=clinic,
                uses=[LotUse(lot=lot, quantity=D("1.5"))],
                session=session,
                acting_user=world.paul,
                on=session.performed_on,
            )
        return D("-1.5")

    def sign() -> Decimal:
        session_sign(session=draft, acting_user=world.paul, send_aftercare=False)
        return D("-2.5")

    results: list[tuple[str, Any]] = []
    for round_ in range(ROUNDS):
        work: list[Callable[[], Decimal]] = [
            receive,
            adjust,
            receive,
            adjust,
            lambda s=others[2 * round_]: consume(s),
            lambda s=others[2 * round_ + 1]: consume(s),
        ]
        if round_ == 0:
            work.append(sign)
        results += run_together(work)

    errors = [value for kind, value in results if kind == "error"]
    assert errors == [], f"not a DomainError/Conflict (a deadlock?): {errors!r}"
    succeeded = [value for kind, value in results if kind == "ok"]
    final = Stock.objects.get(lot=lot, clinic=clinic).quantity
    assert final >= 0
    assert final == start + sum(succeeded, D("0"))
    # The ledger tells the same story, one movement per success, each balance following
    # from the one before.
    movements = list(
        StockMovement.objects.filter(lot=lot, clinic=clinic, pk__gt=first_movement.pk).order_by(
            "pk"
        )
    )
    assert len(movements) == len(succeeded)
    balance = start
    for movement in movements:
        balance += movement.quantity_delta
        assert movement.balance_after == balance, movement
    assert movements[-1].balance_after == final
    draft.refresh_from_db()
    signed = any(kind == "ok" and value == D("-2.5") for kind, value in results)
    assert signed == (draft.status == SessionStatus.SIGNED)


def test_signing_and_cancelling_one_visit_at_once_queue_and_never_deadlock(
    world, stocked, todays_appointment
):
    # The signature and the cancellation both take the visit's booking locks first, so
    # whichever comes second sees what the first did.
    require_postgresql()
    from mesoclinic.scheduling.services import appointment_cancel

    draft = chart(world, todays_appointment, stocked, stocked.lot_a)
    outcomes = run_together(
        [
            lambda: session_sign(session=draft, acting_user=world.paul, send_aftercare=False),
            lambda: appointment_cancel(
                appointment=Appointment.objects.get(pk=todays_appointment.pk),
                reason="Not treated",
                acting_user=world.fiona,
            ),
        ]
    )
    assert [kind for kind, _ in outcomes].count("error") == 0, outcomes
    assert [kind for kind, _ in outcomes].count("ok") == 1, outcomes
    todays_appointment.refresh_from_db()
    signed = TreatmentSession.objects.filter(pk=draft.pk, status=SessionStatus.SIGNED).exists()
    if signed:
        assert todays_appointment.status == AppointmentStatus.COMPLETED
    else:
        assert todays_appointment.status == AppointmentStatus.CANCELLED
        assert not TreatmentSession.objects.filter(pk=draft.pk).exists()
