"""Inventory services: every stock change is locked, checked, written with its movement and
audit event, or refused with a clear message and nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot, MovementKind, Product, Stock, StockMovement
from mesoclinic.inventory.selectors import alerts
from mesoclinic.inventory.services import (
    LotUse,
    lot_recall,
    lot_usable_message,
    product_update,
    stock_adjust,
    stock_consume,
    stock_transfer,
    uses_by_lot,
)
from mesoclinic.inventory.validators import (
    check_expiry,
    clean_lot_number,
    clean_quantity,
    clean_threshold,
)
from tests.inventory.factories import make_product, make_session, receive, today

D = Decimal


def held(lot: Lot, clinic) -> Decimal:
    row = Stock.objects.filter(lot=lot, clinic=clinic).first()
    return row.quantity if row is not None else D("0")


def ledger() -> tuple[int, int, int, list[tuple[int, int, Decimal]]]:
    """What a refused call must leave as it was."""
    return (
        Lot.objects.count(),
        StockMovement.objects.count(),
        AuditEvent.objects.count(),
        sorted(Stock.objects.values_list("lot_id", "clinic_id", "quantity")),
    )


# --- receiving -----------------------------------------------------------------------------


def test_receiving_creates_the_lot_its_stock_a_movement_and_an_audit_event(world):
    product = make_product(world)
    lot = receive(world, product, "a2417-b", "12.5")
    assert lot.lot_number == "A2417-B"
    assert lot.product == product
    assert lot.supplier == "MesoPharm"
    assert held(lot, world.acme_city) == D("12.5")
    [movement] = StockMovement.objects.filter(lot=lot)
    assert (movement.kind, movement.quantity_delta, movement.balance_after) == (
        MovementKind.RECEIVE,
        D("12.5"),
        D("12.5"),
    )
    assert movement.created_by == world.paul
    event = AuditEvent.objects.get(action="lot.receive")
    assert event.actor == world.paul
    assert event.object_id == str(lot.pk)
    assert event.changes["quantity"] == {"new": "12.5"}
    assert event.changes["clinic"] == {"new": world.acme_city.pk}


def test_receiving_the_same_lot_number_again_adds_to_that_lot(world):
    product = make_product(world)
    first = receive(world, product, "A2417", "10")
    again = receive(world, product, " a2417 ", "5")
    elsewhere = receive(world, product, "A2417", "2", clinic=world.acme_river)
    assert first.pk == again.pk == elsewhere.pk
    assert Lot.objects.count() == 1
    assert held(first, world.acme_city) == D("15")
    assert held(first, world.acme_river) == D("2")
    balances = list(
        StockMovement.objects.filter(lot=first, clinic=world.acme_city)
        .order_by("pk")
        .values_list("balance_after", flat=True)
    )
    assert balances == [D("10"), D("15")]


def test_the_same_lot_number_of_another_product_is_another_lot(world):
    one = receive(world, make_product(world, "Biotin"), "X1")
    other = receive(world, make_product(world, "Peptides"), "X1")
    assert one.pk != other.pk


def test_receiving_a_known_lot_with_another_expiry_is_refused_and_writes_nothing(world):
    product = make_product(world)
    lot = receive(world, product, "A2417", expires_in_days=200)
    before = ledger()
    with pytest.raises(Conflict, match="received before with expiry") as caught:
        receive(world, product, "A2417", expires_in_days=201)
    assert caught.value.field == "expires_on"
    assert ledger() == before
    assert held(lot, world.acme_city) == D("10")


def test_a_zero_or_negative_receipt_is_refused(world):
    product = make_product(world)
    for quantity in ("0", "-3"):
        with pytest.raises(DomainError, match="more than zero"):
            receive(world, product, "A1", quantity)
    assert not Lot.objects.exists()


# --- adjusting -----------------------------------------------------------------------------


def test_adjusting_needs_a_reason(world):
    lot = receive(world, make_product(world))
    before = ledger()
    with pytest.raises(DomainError, match="Say why") as caught:
        stock_adjust(
            lot=lot, clinic=world.acme_city, delta=D("-1"), reason="  ", acting_user=world.fiona
        )
    assert caught.value.field == "reason"
    assert ledger() == before


def test_adjusting_writes_the_change_with_its_reason_and_audit_event(world):
    lot = receive(world, make_product(world))
    movement = stock_adjust(
        lot=lot,
        clinic=world.acme_city,
        delta=D("-1.5"),
        reason="Vial broken",
        acting_user=world.fiona,
    )
    assert (movement.kind, movement.quantity_delta, movement.balance_after) == (
        MovementKind.ADJUST,
        D("-1.5"),
        D("8.5"),
    )
    assert movement.reason == "Vial broken"
    assert held(lot, world.acme_city) == D("8.5")
    event = AuditEvent.objects.get(action="stock.adjust")
    assert event.changes["quantity"] == {"old": "10.00", "new": "8.50"}
    assert event.changes["reason"] == {"new": "Vial broken"}


def test_adjusting_never_goes_below_zero(world):
    lot = receive(world, make_product(world), quantity="3")
    before = ledger()
    with pytest.raises(Conflict, match=r"Only 3\.00 mL .* are in stock at Acme City"):
        stock_adjust(
            lot=lot, clinic=world.acme_city, delta=D("-4"), reason="Count", acting_user=world.paul
        )
    with pytest.raises(Conflict, match="Acme Riverside holds none"):
        stock_adjust(
            lot=lot,
            clinic=world.acme_river,
            delta=D("-1"),
            reason="Count",
            acting_user=world.paul,
        )
    assert ledger() == before
    # Down to exactly zero is fine.
    stock_adjust(
        lot=lot, clinic=world.acme_city, delta=D("-3"), reason="Count", acting_user=world.paul
    )
    assert held(lot, world.acme_city) == 0


def test_adjusting_up_at_a_clinic_without_the_lot_creates_its_stock(world):
    lot = receive(world, make_product(world))
    stock_adjust(
        lot=lot, clinic=world.acme_river, delta=D("2"), reason="Found", acting_user=world.paul
    )
    assert held(lot, world.acme_river) == D("2")


# --- transferring --------------------------------------------------------------------------


def test_a_transfer_moves_both_sides_together(world):
    lot = receive(world, make_product(world), quantity="10")
    out, into = stock_transfer(
        lot=lot,
        from_clinic=world.acme_city,
        to_clinic=world.acme_river,
        quantity=D("4"),
        acting_user=world.fiona,
        reason="Riverside ran out",
    )
    assert held(lot, world.acme_city) == D("6")
    assert held(lot, world.acme_river) == D("4")
    assert (out.kind, out.quantity_delta, out.counterpart_clinic) == (
        MovementKind.TRANSFER_OUT,
        D("-4"),
        world.acme_river,
    )
    assert (into.kind, into.quantity_delta, into.counterpart_clinic) == (
        MovementKind.TRANSFER_IN,
        D("4"),
        world.acme_city,
    )
    assert AuditEvent.objects.filter(action="stock.transfer").count() == 1


def test_a_transfer_of_more_than_held_changes_neither_side(world):
    lot = receive(world, make_product(world), quantity="3")
    receive(world, lot.product, lot.lot_number, "1", clinic=world.acme_river)
    before = ledger()
    with pytest.raises(Conflict, match=r"Only 3\.00 mL"):
        stock_transfer(
            lot=lot,
            from_clinic=world.acme_city,
            to_clinic=world.acme_river,
            quantity=D("3.01"),
            acting_user=world.fiona,
        )
    with pytest.raises(DomainError, match="two different clinics"):
        stock_transfer(
            lot=lot,
            from_clinic=world.acme_city,
            to_clinic=world.acme_city,
            quantity=D("1"),
            acting_user=world.fiona,
        )
    assert ledger() == before


def test_another_organisations_clinic_is_refused(world):
    lot = receive(world, make_product(world))
    with pytest.raises(DomainError, match="another organisation"):
        stock_transfer(
            lot=lot,
            from_clinic=world.acme_city,
            to_clinic=world.other_clinic,
            quantity=D("1"),
            acting_user=world.alice,
        )
    assert held(lot, world.acme_city) == D("10")


# --- recall --------------------------------------------------------------------------------


def test_a_recall_blocks_receiving_moving_and_charting_the_lot(world):
    lot = receive(world, make_product(world))
    recalled = lot_recall(lot=lot, reason="Manufacturer notice 2026-14", acting_user=world.alice)
    assert recalled.is_recalled
    assert recalled.recalled_by == world.alice
    event = AuditEvent.objects.get(action="lot.recall")
    assert event.changes["reason"] == {"new": "Manufacturer notice 2026-14"}
    before = ledger()
    with pytest.raises(Conflict, match="is recalled; it cannot be received"):
        receive(world, lot.product, lot.lot_number, "1")
    with pytest.raises(Conflict, match="is recalled; it cannot be moved"):
        stock_transfer(
            lot=recalled,
            from_clinic=world.acme_city,
            to_clinic=world.acme_river,
            quantity=D("1"),
            acting_user=world.paul,
        )
    assert ledger() == before
    assert lot_usable_message(lot=recalled, on=today(world)) == (
        "Lot A2417 of Multivitamin cocktail vial is recalled and cannot be used."
    )
    # What is left can still be counted out (returned to the supplier, destroyed).
    stock_adjust(
        lot=recalled,
        clinic=world.acme_city,
        delta=D("-10"),
        reason="Returned to supplier",
        acting_user=world.paul,
    )


def test_a_lot_is_recalled_once_and_with_a_reason(world):
    lot = receive(world, make_product(world))
    with pytest.raises(DomainError, match="Say why"):
        lot_recall(lot=lot, reason=" ", acting_user=world.alice)
    lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    with pytest.raises(Conflict, match="recalled already"):
        lot_recall(lot=lot, reason="Again", acting_user=world.alice)
    assert AuditEvent.objects.filter(action="lot.recall").count() == 1


def test_lot_usable_message_names_expiry_on_the_session_date(world):
    lot = receive(world, make_product(world), expires_in_days=10)
    expiry = lot.expires_on
    assert lot_usable_message(lot=lot, on=expiry) is None
    assert lot_usable_message(lot=lot, on=expiry + dt.timedelta(days=1)) == (
        f"Lot A2417 of Multivitamin cocktail vial expired on {expiry.isoformat()}."
    )


# --- consumption by a session ------------------------------------------------------------


def consume(world, session, *uses: tuple[Lot, str], on: dt.date | None = None, kind=None):
    return stock_consume(
        clinic=world.acme_city,
        uses=[LotUse(lot=lot, quantity=D(q)) for lot, q in uses],
        session=session,
        acting_user=world.paul,
        on=on or session.performed_on,
        **({"kind": kind} if kind else {}),
    )


def test_a_session_takes_its_quantities_with_movements_that_name_it(world):
    lot = receive(world, make_product(world), quantity="10")
    session = make_session(world, world.acme_patient, signed=False)
    with transaction.atomic():
        [movement] = consume(world, session, (lot, "1.5"), (lot, "0.5"))
    assert (movement.kind, movement.quantity_delta, movement.session) == (
        MovementKind.CONSUME,
        D("-2"),
        session,
    )
    assert held(lot, world.acme_city) == D("8")


def test_consuming_an_expired_lot_is_refused_on_the_session_date(world):
    lot = receive(world, make_product(world), quantity="10", expires_in_days=5)
    session = make_session(world, world.acme_patient, signed=False)
    before = ledger()
    later = lot.expires_on + dt.timedelta(days=1)
    with pytest.raises(DomainError, match="expired on") as caught, transaction.atomic():
        consume(world, session, (lot, "1"), on=later)
    assert caught.value.field == "lot"
    assert ledger() == before
    # On its expiry date it may still be used.
    with transaction.atomic():
        consume(world, session, (lot, "1"), on=lot.expires_on)
    assert held(lot, world.acme_city) == D("9")


def test_consuming_a_recalled_lot_is_refused_even_with_a_stale_lot_object(world):
    lot = receive(world, make_product(world), quantity="10")
    stale = Lot.objects.get(pk=lot.pk)
    lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    session = make_session(world, world.acme_patient, signed=False)
    before = ledger()
    with pytest.raises(DomainError, match="is recalled and cannot be used"), transaction.atomic():
        consume(world, session, (stale, "1"))
    assert ledger() == before


def test_consuming_more_than_held_is_refused_and_nothing_is_taken(world):
    plenty = receive(world, make_product(world, "Biotin"), "B1", "10")
    scarce = receive(world, make_product(world, "Peptides"), "P1", "1")
    session = make_session(world, world.acme_patient, signed=False)
    before = ledger()
    # The first lot (lower id) is taken before the second one fails: the rollback undoes it.
    with pytest.raises(Conflict, match=r"Only 1\.00 mL of Peptides lot P1"), transaction.atomic():
        consume(world, session, (plenty, "2"), (scarce, "1.5"))
    assert ledger() == before
    assert held(plenty, world.acme_city) == D("10")


def test_consuming_from_a_clinic_without_the_lot_is_refused(world):
    lot = receive(world, make_product(world), clinic=world.acme_river)
    session = make_session(world, world.acme_patient, signed=False)
    with pytest.raises(Conflict, match="Acme City holds none"), transaction.atomic():
        consume(world, session, (lot, "1"))


def test_an_amendment_gives_back_even_a_recalled_lot(world):
    lot = receive(world, make_product(world), quantity="10")
    session = make_session(world, world.acme_patient, signed=False)
    with transaction.atomic():
        consume(world, session, (lot, "3"))
    lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    with transaction.atomic():
        [back] = consume(world, session, (lot, "-3"), kind=MovementKind.CORRECT)
    assert (back.kind, back.quantity_delta) == (MovementKind.CORRECT, D("3"))
    assert held(lot, world.acme_city) == D("10")


def test_uses_by_lot_sums_lines_per_lot_and_skips_lines_without_one(world):
    one = receive(world, make_product(world, "Biotin"), "B1")
    two = receive(world, make_product(world, "Peptides"), "P1")
    totals = uses_by_lot([(one, D("1")), (None, D("5")), (two, D("0.5")), (one, D("0.25"))])
    assert {pk: use.quantity for pk, use in totals.items()} == {
        one.pk: D("1.25"),
        two.pk: D("0.5"),
    }


# --- products ------------------------------------------------------------------------------


def test_a_products_unit_cannot_change_once_it_has_stock(world):
    product = make_product(world, kind="supply", unit="piece")
    product_update(product=product, unit="unit", acting_user=world.alice)
    receive(world, product)
    with pytest.raises(Conflict, match="its unit cannot change"):
        product_update(product=product, unit="g", acting_user=world.alice)
    product_update(product=product, name="Renamed", acting_user=world.alice)
    product.refresh_from_db()
    assert (product.name, product.unit) == ("Renamed", "unit")


@pytest.mark.parametrize("unit", ["unit", "piece", "g"])
def test_a_treatment_product_is_counted_in_ml(world, unit):
    # Charted volumes are taken from stock as they are: a treatment in pieces would be
    # decremented by millilitres.
    with pytest.raises(DomainError, match="count it in mL"):
        make_product(world, "Cocktail", kind="treatment", unit=unit)
    supply = make_product(world, "Cream", kind="supply", unit=unit)
    with pytest.raises(DomainError, match="count it in mL"):
        product_update(product=supply, kind="treatment", acting_user=world.alice)
    assert Product.objects.filter(name="Cocktail").count() == 0


def test_a_recalled_lots_stock_can_only_go_down(world):
    product = make_product(world)
    lot = receive(world, product)
    lot_recall(lot=lot, reason="Manufacturer notice", acting_user=world.alice)
    with pytest.raises(Conflict, match="can only go down"):
        stock_adjust(
            lot=lot,
            clinic=world.acme_city,
            delta=Decimal("1"),
            reason="found",
            acting_user=world.alice,
        )
    stock_adjust(
        lot=lot,
        clinic=world.acme_city,
        delta=Decimal("-1"),
        reason="set aside",
        acting_user=world.alice,
    )


def test_product_names_are_unique_in_the_organisation(world):
    make_product(world, "Biotin")
    with pytest.raises(Conflict, match="exists already"):
        make_product(world, "Biotin")
    second = make_product(world, "Biotin 2")
    with pytest.raises(Conflict, match="exists already"):
        product_update(product=second, name="Biotin", acting_user=world.alice)


# --- validators ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A2417", "A2417"),
        ("  a2417-b ", "A2417-B"),
        ("24/117.3", "24/117.3"),
        ("X" * 40, "X" * 40),
        ("", "Enter the lot number"),
        ("   ", "Enter the lot number"),
        ("AB 12", "contains a space"),
        ("AB'12", 'contains "\'"'),
        ("AB\x0012", "contains a control character"),
        ("ÄB12", "contains 'Ä'"),
        ("-AB12", "starts with a letter or a digit"),
        ("X" * 41, "at most 40 characters; this one has 41"),
    ],
)
def test_clean_lot_number(raw, expected):
    if raw.strip() and expected == raw.strip().upper():
        assert clean_lot_number(raw) == expected
    else:
        with pytest.raises(ValueError) as caught:
            clean_lot_number(raw)
        assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "allow_negative", "expected"),
    [
        ("10", False, D("10")),
        (" 2.5 ", False, D("2.5")),
        (0.1, False, D("0.1")),
        ("-2", True, D("-2")),
        ("100000", False, D("100000")),
        ("-2", False, "more than zero"),
        ("0", True, "zero changes nothing"),
        ("-0", True, "zero changes nothing"),
        ("1.005", False, "two decimals"),
        ("100000.01", False, "more than the 100000"),
        ("1e30", False, "more than the 100000"),
        ("NaN", False, "Enter a number"),
        ("Infinity", False, "Enter a number"),
        ("ten", False, "Enter a number"),
        ("", False, "Enter a number"),
    ],
)
def test_clean_quantity(raw, allow_negative, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            clean_quantity(raw, allow_negative=allow_negative)
    else:
        assert clean_quantity(raw, allow_negative=allow_negative) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", D("0")), ("0", D("0")), ("2.5", D("2.5")), ("-1", "negative"), ("x", "number")],
)
def test_clean_threshold(raw, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            clean_threshold(raw)
    else:
        assert clean_threshold(raw) == expected


def test_check_expiry_refuses_only_a_past_date():
    day = dt.date(2026, 12, 2)
    assert check_expiry(day, today=day) == day
    with pytest.raises(ValueError, match="already past"):
        check_expiry(day - dt.timedelta(days=1), today=day)


# --- alerts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "quantity", "expires_in_days", "recall", "expected"),
    [
        ("5", "10", 365, False, set()),
        ("5", "5", 365, False, set()),
        ("5", "4.99", 365, False, {"low"}),
        ("0", "1", 30, False, {"expiring"}),
        ("0", "1", 31, False, set()),
        ("0", "1", 0, False, {"expiring"}),
        ("0", "1", -1, False, {"expired"}),
        # Expired and recalled stock is not usable: it does not count towards the threshold.
        ("5", "10", -1, False, {"expired", "low"}),
        ("0", "10", 365, True, {"recalled"}),
        ("5", "10", 365, True, {"recalled", "low"}),
    ],
    ids=[
        "plenty",
        "at-threshold",
        "below-threshold",
        "expires-in-30-days",
        "expires-in-31-days",
        "expires-today",
        "expired-yesterday",
        "expired-not-counted",
        "recalled",
        "recalled-not-counted",
    ],
)
def test_alerts(world, settings, threshold, quantity, expires_in_days, recall, expected):
    settings.INVENTORY_EXPIRY_WARNING_DAYS = 30
    product = make_product(world, threshold=threshold)
    lot = receive(world, product, quantity=quantity, expires_in_days=expires_in_days)
    if recall:
        lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    found = alerts(organisation=world.acme, today=today(world), clinic=world.acme_city)
    kinds = {
        name
        for name, rows in [
            ("low", found.low_stock),
            ("expiring", found.expiring),
            ("expired", found.expired),
            ("recalled", found.recalled),
        ]
        if rows
    }
    assert kinds == expected
    assert found.count == len(expected)
    assert found.expiry_warning_days == 30


def test_a_clinic_without_any_of_a_product_is_low_on_it(world):
    product = make_product(world, threshold="2")
    receive(world, product, quantity="10", clinic=world.acme_river)
    at_city = alerts(organisation=world.acme, today=today(world), clinic=world.acme_city)
    assert [(row.product, row.clinic, row.quantity) for row in at_city.low_stock] == [
        (product, world.acme_city, D("0"))
    ]
    everywhere = alerts(organisation=world.acme, today=today(world))
    assert [row.clinic for row in everywhere.low_stock] == [world.acme_city]
    # Products out of use and other organisations' clinics raise nothing.
    product_update(product=product, is_active=False, acting_user=world.alice)
    assert not alerts(organisation=world.acme, today=today(world)).low_stock
