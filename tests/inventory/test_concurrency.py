"""Sessions taking the last units of a lot at the same moment: the row lock serialises them,
so exactly the affordable number succeed and stock never goes below zero (PostgreSQL: real
concurrent transactions)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.inventory.models import Lot, MovementKind, Stock, StockMovement
from mesoclinic.inventory.services import LotUse, lot_recall, stock_consume
from tests.conftest import make_patient
from tests.inventory.factories import make_product, make_session, receive

pytestmark = pytest.mark.django_db(transaction=True)


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        reason = (
            "needs PostgreSQL: SQLite's in-memory test database cannot take concurrent "
            "writers (it serialises every write transaction, so there is no race to test)"
        )
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)


def run_together(targets: list[threading.Thread]) -> None:
    for thread in targets:
        thread.start()
    for thread in targets:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in targets), "a thread is stuck (deadlock?)"


def test_concurrent_sessions_take_only_what_is_in_stock(world):
    require_postgresql()
    contenders, in_stock, each = 8, Decimal("3"), Decimal("1")
    lot = receive(world, make_product(world), quantity=in_stock)
    sessions = [
        make_session(world, make_patient(world.acme, world.fiona, family_name=f"Racer{n}"))
        for n in range(contenders)
    ]
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []
    guard = threading.Lock()

    def attempt(session) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                stock_consume(
                    clinic=world.acme_city,
                    uses=[LotUse(lot=lot, quantity=each)],
                    session=session,
                    acting_user=world.paul,
                    on=session.performed_on,
                )
            result = "taken"
        except Conflict as error:
            result = "refused" if "Only" in error.message else f"other: {error.message}"
        except Exception as error:
            result = f"error: {error!r}"
        finally:
            connections.close_all()
        with guard:
            outcomes.append(result)

    run_together([threading.Thread(target=attempt, args=(s,)) for s in sessions])

    affordable = int(in_stock / each)
    assert sorted(outcomes) == ["refused"] * (contenders - affordable) + ["taken"] * affordable
    stock = Stock.objects.get(lot=lot, clinic=world.acme_city)
    assert stock.quantity == 0
    consumed = StockMovement.objects.filter(lot=lot, kind=MovementKind.CONSUME)
    assert consumed.count() == affordable
    # The ledger is a consistent sequence: each balance is the one before minus one.
    assert sorted(consumed.values_list("balance_after", flat=True)) == [
        Decimal(n) for n in range(affordable)
    ]


def test_a_recall_waits_for_a_session_taking_the_lot_and_blocks_the_next(world):
    require_postgresql()
    lot = receive(world, make_product(world), quantity="5")
    first = make_session(world, make_patient(world.acme, world.fiona, family_name="First"))
    second = make_session(world, make_patient(world.acme, world.fiona, family_name="Second"))
    consumed = threading.Event()
    order: list[str] = []

    def session_taking_the_lot() -> None:
        try:
            with transaction.atomic():
                stock_consume(
                    clinic=world.acme_city,
                    uses=[LotUse(lot=lot, quantity=Decimal("1"))],
                    session=first,
                    acting_user=world.paul,
                    on=first.performed_on,
                )
                consumed.set()
                time.sleep(0.5)  # the recall now waits on this transaction's lock
                order.append("session committed")
        finally:
            connections.close_all()

    def recall() -> None:
        try:
            consumed.wait(10)
            lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
            order.append("recalled")
        finally:
            connections.close_all()

    run_together([threading.Thread(target=session_taking_the_lot), threading.Thread(target=recall)])

    assert order == ["session committed", "recalled"]
    assert Lot.objects.get(pk=lot.pk).is_recalled
    with pytest.raises(DomainError, match="recalled"), transaction.atomic():
        stock_consume(
            clinic=world.acme_city,
            uses=[LotUse(lot=lot, quantity=Decimal("1"))],
            session=second,
            acting_user=world.paul,
            on=second.performed_on,
        )
    assert Stock.objects.get(lot=lot, clinic=world.acme_city).quantity == Decimal("4")
