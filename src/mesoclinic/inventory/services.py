"""Every write to products, lots and stock.

Stock changes lock the ``Stock`` row (``SELECT ... FOR UPDATE``), check, write the new
quantity and a ``StockMovement`` in one transaction; the CHECK constraint
``stock_not_negative`` backs the check, so two sessions taking the last millilitres at once
cannot both succeed. Rows are locked in (lot id, clinic id) order, a lot's row before its
stock rows (``lot_receive``, ``stock_consume``), so that two transactions touching the same
lots never wait on each other in a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Organisation, Role, User
from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.inventory.models import (
    Lot,
    MovementKind,
    Product,
    ProductKind,
    ProductUnit,
    Stock,
    StockMovement,
)

if TYPE_CHECKING:
    from mesoclinic.treatments.models import TreatmentSession

# Who may receive, adjust and move stock (pages and API); products and recalls are the
# admins'. The auditor reads only.
STOCK_WRITERS = (Role.ADMIN, Role.PRACTITIONER, Role.FRONTDESK)

PRODUCT_FIELDS = (
    "name",
    "kind",
    "manufacturer",
    "unit",
    "formulation",
    "low_stock_threshold",
    "home_care_note",
    "is_active",
)


def _check_organisation(organisation: Organisation, *objects: object) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organisation_id", organisation.pk) != organisation.pk:
            raise DomainError(_("That belongs to another organisation."))


def _check_treatment_unit(*, kind: str, unit: str) -> None:
    # Sessions chart injected volumes in mL and take them from stock as they are: a
    # treatment product counted in pieces or grams would be decremented by millilitres.
    if kind == ProductKind.TREATMENT and unit != ProductUnit.ML:
        raise DomainError(
            _("A treatment product is injected by volume: count it in mL."), field="unit"
        )


@transaction.atomic
def product_create(
    *,
    organisation: Organisation,
    name: str,
    kind: str,
    unit: str,
    manufacturer: str = "",
    formulation: object | None = None,
    low_stock_threshold: Decimal = Decimal("0"),
    home_care_note: str = "",
    acting_user: User,
) -> Product:
    _check_organisation(organisation, formulation)
    _check_treatment_unit(kind=kind, unit=unit)
    if low_stock_threshold < 0:
        raise DomainError(_("The threshold cannot be negative."), field="low_stock_threshold")
    if Product.objects.filter(organisation=organisation, name=name).exists():
        raise Conflict(_("A product named %(name)s exists already.") % {"name": name}, field="name")
    try:
        # A savepoint: two admins adding the same name at once meet the unique constraint,
        # and the loser gets the same answer as above instead of a broken transaction.
        with transaction.atomic():
            product = Product.objects.create(
                organisation=organisation,
                name=name,
                kind=kind,
                unit=unit,
                manufacturer=manufacturer,
                formulation=formulation,  # type: ignore[misc]
                low_stock_threshold=low_stock_threshold,
                home_care_note=home_care_note,
            )
    except IntegrityError:
        raise Conflict(
            _("A product named %(name)s exists already.") % {"name": name}, field="name"
        ) from None
    audit_record(
        action="product.create",
        actor=acting_user,
        organisation=organisation,
        obj=product,
        changes=created(snapshot(product, PRODUCT_FIELDS)),
    )
    return product


@transaction.atomic
def product_update(*, product: Product, acting_user: User, **fields: object) -> Product:
    """Change the given fields (names from PRODUCT_FIELDS). The unit cannot change once
    the product has lots: every quantity already recorded is in the old unit."""
    product = Product.objects.select_for_update(no_key=True).get(pk=product.pk)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"product_update: unknown fields {sorted(unknown)}")
    _check_organisation(product.organisation, fields.get("formulation"))
    _check_treatment_unit(
        kind=str(fields.get("kind", product.kind)), unit=str(fields.get("unit", product.unit))
    )
    threshold = fields.get("low_stock_threshold")
    if isinstance(threshold, Decimal) and threshold < 0:
        raise DomainError(_("The threshold cannot be negative."), field="low_stock_threshold")
    name = fields.get("name")
    if (
        name is not None
        and Product.objects.filter(organisation_id=product.organisation_id, name=name)
        .exclude(pk=product.pk)
        .exists()
    ):
        raise Conflict(_("A product named %(name)s exists already.") % {"name": name}, field="name")
    if "unit" in fields and fields["unit"] != product.unit and product.lots.exists():
        raise Conflict(
            _("This product has stock recorded in %(unit)s; its unit cannot change.")
            % {"unit": product.get_unit_display()},
            field="unit",
        )
    before = snapshot(product, PRODUCT_FIELDS)
    for name_, value in fields.items():
        setattr(product, name_, value)
    product.save()
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        audit_record(
            action="product.update",
            actor=acting_user,
            organisation=product.organisation,
            obj=product,
            changes=changes,
        )
    return product


def _locked_stock(*, lot: Lot, clinic: Clinic, create: bool) -> Stock | None:
    """The (lot, clinic) stock row, locked; created at zero when ``create``."""
    # OF self and no ordering: .first() would otherwise order by the lot's and clinic's
    # fields, join them and lock their rows too, out of the lot-then-stock order (a
    # deadlock with stock_consume on PostgreSQL, reproduced by tests/treatments/
    # test_concurrency.py).
    stock = (
        Stock.objects.select_for_update(of=("self",))
        .filter(lot=lot, clinic=clinic)
        .order_by()
        .first()
    )
    if stock is None and create:
        # get_or_create under the unique constraint: a concurrent first receipt waits on the
        # other's insert and then finds its row.
        Stock.objects.get_or_create(
            lot=lot, clinic=clinic, defaults={"organisation_id": lot.organisation_id}
        )
        stock = Stock.objects.select_for_update(of=("self",)).get(lot=lot, clinic=clinic)
    if stock is not None:
        # The caller's objects: no query to reach them again for the movement or a message.
        stock.lot = lot
        stock.clinic = clinic
    return stock


def _positive(quantity: Decimal) -> None:
    # The edges (forms, schemas) refuse these already; a zero or negative amount reaching a
    # service is a programming error that must not write a movement the wrong way round.
    if quantity <= 0:
        raise DomainError(_("The quantity must be more than zero."), field="quantity")


def _move(
    *,
    stock: Stock,
    kind: str,
    delta: Decimal,
    acting_user: User,
    reason: str = "",
    counterpart: Clinic | None = None,
    session: TreatmentSession | None = None,
) -> StockMovement:
    new_quantity = stock.quantity + delta
    if new_quantity < 0:
        lot = stock.lot
        raise Conflict(
            _(
                "Only %(have)s %(unit)s of %(product)s lot %(lot)s are in stock at "
                "%(clinic)s; %(need)s %(unit)s were asked for."
            )
            % {
                "have": stock.quantity,
                "unit": lot.product.get_unit_display(),
                "product": lot.product.name,
                "lot": lot.lot_number,
                "clinic": stock.clinic.name,
                "need": -delta,
            },
            field="quantity",
        )
    stock.quantity = new_quantity
    stock.save(update_fields=["quantity", "updated_at"])
    return StockMovement.objects.create(
        organisation_id=stock.organisation_id,
        lot=stock.lot,
        clinic=stock.clinic,
        kind=kind,
        quantity_delta=delta,
        balance_after=new_quantity,
        reason=reason,
        counterpart_clinic=counterpart,
        session=session,
        created_by=acting_user,
    )


@transaction.atomic
def lot_receive(
    *,
    product: Product,
    clinic: Clinic,
    lot_number: str,
    expires_on: dt.date,
    quantity: Decimal,
    supplier: str = "",
    acting_user: User,
) -> Lot:
    """Stock arrives at a clinic. A lot number seen before for this product is the same
    lot (its expiry must match, and it must not be recalled); a new one creates the lot.

    The lot number is stored trimmed and upper-cased, as ``validators.clean_lot_number``
    gives it, so the recall search finds it whoever typed it. Whether the expiry is already
    past is checked at the edges (``validators.check_expiry``), where "today" is the
    clinic's, so seeding and tests can still record history.
    """
    _check_organisation(product.organisation, clinic)
    _positive(quantity)
    lot_number = lot_number.strip().upper()
    lot = (
        Lot.objects.select_for_update(no_key=True, of=("self",))
        .filter(product=product, lot_number=lot_number)
        .order_by()
        .first()
    )
    if lot is None:
        try:
            # A savepoint: a concurrent first receipt of the same number waits on the unique
            # index, then fails here and takes the row the other transaction created.
            with transaction.atomic():
                lot = Lot.objects.create(
                    organisation_id=product.organisation_id,
                    product=product,
                    lot_number=lot_number,
                    expires_on=expires_on,
                    supplier=supplier,
                )
        except IntegrityError:
            lot = Lot.objects.select_for_update(no_key=True).get(
                product=product, lot_number=lot_number
            )
    if lot.is_recalled:
        raise Conflict(
            _("Lot %(lot)s is recalled; it cannot be received.") % {"lot": lot_number},
            field="lot_number",
        )
    if lot.expires_on != expires_on:
        raise Conflict(
            _(
                "Lot %(lot)s of %(product)s was received before with expiry %(expiry)s; "
                "check the date on the pack."
            )
            % {"lot": lot_number, "product": product.name, "expiry": lot.expires_on.isoformat()},
            field="expires_on",
        )
    lot.product = product
    stock = _locked_stock(lot=lot, clinic=clinic, create=True)
    assert stock is not None
    movement = _move(
        stock=stock,
        kind=MovementKind.RECEIVE,
        delta=quantity,
        acting_user=acting_user,
        reason=supplier,
    )
    audit_record(
        action="lot.receive",
        actor=acting_user,
        organisation=product.organisation,
        obj=lot,
        changes={
            "product": {"new": product.pk},
            "lot_number": {"new": lot.lot_number},
            "expires_on": {"new": lot.expires_on.isoformat()},
            "clinic": {"new": clinic.pk},
            "quantity": {"new": str(quantity)},
            "balance_after": {"new": str(movement.balance_after)},
        },
    )
    return lot


@transaction.atomic
def stock_adjust(
    *, lot: Lot, clinic: Clinic, delta: Decimal, reason: str, acting_user: User
) -> StockMovement:
    """Correct a clinic's count of a lot (breakage, a stock take) with a reason; never
    below zero."""
    _check_organisation(lot.organisation, clinic)
    if delta == 0:
        raise DomainError(_("A quantity of zero changes nothing."), field="quantity")
    if not reason.strip():
        raise DomainError(_("Say why the stock is adjusted."), field="reason")
    if delta > 0 and Lot.objects.filter(pk=lot.pk, recalled_at__isnull=False).exists():
        # Adding to a recalled lot would be receiving it by another door.
        raise Conflict(
            _("Lot %(lot)s is recalled; its stock can only go down.") % {"lot": lot.lot_number},
            field="quantity",
        )
    stock = _locked_stock(lot=lot, clinic=clinic, create=delta > 0)
    if stock is None:
        raise Conflict(
            _("%(clinic)s holds none of lot %(lot)s.")
            % {"clinic": clinic.name, "lot": lot.lot_number},
            field="quantity",
        )
    movement = _move(
        stock=stock, kind=MovementKind.ADJUST, delta=delta, acting_user=acting_user, reason=reason
    )
    audit_record(
        action="stock.adjust",
        actor=acting_user,
        organisation=lot.organisation,
        obj=lot,
        changes={
            "clinic": {"new": clinic.pk},
            "quantity": {
                "old": str(movement.balance_after - delta),
                "new": str(movement.balance_after),
            },
            "reason": {"new": reason},
        },
    )
    return movement


@transaction.atomic
def stock_transfer(
    *,
    lot: Lot,
    from_clinic: Clinic,
    to_clinic: Clinic,
    quantity: Decimal,
    acting_user: User,
    reason: str = "",
) -> tuple[StockMovement, StockMovement]:
    """Move stock of one lot between two clinics of the organisation, both sides in one
    transaction."""
    _check_organisation(lot.organisation, from_clinic, to_clinic)
    _positive(quantity)
    if from_clinic.pk == to_clinic.pk:
        raise DomainError(_("Choose two different clinics."), field="to_clinic")
    # Read the recall under the lot's lock, not from the caller's copy: a recall
    # committed since that copy was loaded must stop the transfer (lot, then stock: the
    # module's lock order).
    if (
        Lot.objects.select_for_update(no_key=True)
        .filter(pk=lot.pk, recalled_at__isnull=False)
        .order_by()
        .exists()
    ):
        raise Conflict(_("Lot %(lot)s is recalled; it cannot be moved.") % {"lot": lot.lot_number})
    # Lock both rows in clinic-id order (see the module doc).
    first, second = sorted((from_clinic, to_clinic), key=lambda c: c.pk)
    stocks = {
        c.pk: _locked_stock(lot=lot, clinic=c, create=c.pk == to_clinic.pk) for c in (first, second)
    }
    source = stocks[from_clinic.pk]
    if source is None:
        raise Conflict(
            _("%(clinic)s holds none of lot %(lot)s.")
            % {"clinic": from_clinic.name, "lot": lot.lot_number},
            field="quantity",
        )
    target = stocks[to_clinic.pk]
    assert target is not None
    out = _move(
        stock=source,
        kind=MovementKind.TRANSFER_OUT,
        delta=-quantity,
        acting_user=acting_user,
        reason=reason,
        counterpart=to_clinic,
    )
    into = _move(
        stock=target,
        kind=MovementKind.TRANSFER_IN,
        delta=quantity,
        acting_user=acting_user,
        reason=reason,
        counterpart=from_clinic,
    )
    audit_record(
        action="stock.transfer",
        actor=acting_user,
        organisation=lot.organisation,
        obj=lot,
        changes={
            "from_clinic": {"new": from_clinic.pk},
            "to_clinic": {"new": to_clinic.pk},
            "quantity": {"new": str(quantity)},
        },
    )
    return out, into


@transaction.atomic
def lot_recall(*, lot: Lot, reason: str, acting_user: User) -> Lot:
    """Mark a lot recalled: from now on it cannot be charted, received or moved, and the
    charts of the patients who received it show an alert."""
    # NO KEY: the stock movements that reference the lot take KEY SHARE locks on it.
    lot = Lot.objects.select_for_update(no_key=True).get(pk=lot.pk)
    if lot.is_recalled:
        raise Conflict(_("Lot %(lot)s is recalled already.") % {"lot": lot.lot_number})
    if not reason.strip():
        raise DomainError(_("Say why the lot is recalled."), field="reason")
    lot.recalled_at = timezone.now()
    lot.recall_reason = reason
    lot.recalled_by = acting_user
    lot.save(update_fields=["recalled_at", "recall_reason", "recalled_by", "updated_at"])
    audit_record(
        action="lot.recall",
        actor=acting_user,
        organisation=lot.organisation,
        obj=lot,
        changes={"recalled_at": {"new": lot.recalled_at.isoformat()}, "reason": {"new": reason}},
    )
    return lot


# --- Used by session charting (treatments.services) -------------------------------------------


@dataclass(frozen=True)
class LotUse:
    """How much of one lot a session takes (positive) or gives back (negative)."""

    lot: Lot
    quantity: Decimal


def lot_usable_message(*, lot: Lot, on: dt.date) -> str | None:
    """Why ``lot`` cannot be charted for a session given on ``on``, or None."""
    if lot.is_recalled:
        return _("Lot %(lot)s of %(product)s is recalled and cannot be used.") % {
            "lot": lot.lot_number,
            "product": lot.product.name,
        }
    if lot.is_expired_on(on):
        return _("Lot %(lot)s of %(product)s expired on %(date)s.") % {
            "lot": lot.lot_number,
            "product": lot.product.name,
            "date": lot.expires_on.isoformat(),
        }
    return None


def stock_consume(
    *,
    clinic: Clinic,
    uses: Iterable[LotUse],
    session: TreatmentSession,
    kind: str = MovementKind.CONSUME,
    acting_user: User,
    on: dt.date,
) -> list[StockMovement]:
    """Take (or give back) the given quantities of lots at ``clinic`` for a session.

    Must run inside the caller's transaction (the signature or amendment it belongs to).
    Lots that are taken from must be usable on ``on`` (not recalled, not expired) and in
    stock; the first that is not raises a DomainError/Conflict naming it, and the caller's
    transaction rolls back whatever was taken before it. The lots are read again under a
    lock, so the ``Lot`` objects in ``uses`` may be stale: a recall committed since they were
    loaded is honoured.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_consume must run inside the session's transaction")
    merged: dict[int, LotUse] = {}
    for use in uses:
        if use.quantity == 0:
            continue
        prior = merged.get(use.lot.pk)
        merged[use.lot.pk] = LotUse(
            lot=use.lot, quantity=use.quantity + (prior.quantity if prior else Decimal("0"))
        )
    wanted = sorted(lot_id for lot_id, use in merged.items() if use.quantity != 0)
    # The lots as they are now, locked in id order (before their stock rows, as lot_receive
    # does): a recall committed after the caller loaded its Lot objects is seen, and a recall
    # arriving now waits for this session to commit (then lists it). NO KEY: rows that only
    # reference the lot (injections of other drafts) are not held up. OF self: the lots'
    # rows only, not their product's, which every signature of that product would queue on.
    fresh = {
        lot.pk: lot
        for lot in Lot.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk__in=wanted)
        .select_related("product")
        .order_by("pk")
    }
    movements = []
    for lot_id in wanted:
        use = merged[lot_id]
        lot = fresh.get(lot_id)
        if lot is None or lot.organisation_id != clinic.organisation_id:
            raise DomainError(_("That belongs to another organisation."), field="lot")
        if use.quantity > 0:
            message = lot_usable_message(lot=lot, on=on)
            if message:
                raise DomainError(message, field="lot")
        stock = _locked_stock(lot=lot, clinic=clinic, create=use.quantity < 0)
        if stock is None:
            raise Conflict(
                _("%(clinic)s holds none of %(product)s lot %(lot)s.")
                % {
                    "clinic": clinic.name,
                    "product": lot.product.name,
                    "lot": lot.lot_number,
                },
                field="lot",
            )
        movements.append(
            _move(
                stock=stock,
                kind=kind,
                delta=-use.quantity,
                acting_user=acting_user,
                session=session,
            )
        )
    return movements


def uses_by_lot(lines: Iterable[tuple[Lot | None, Decimal]]) -> Mapping[int, LotUse]:
    """Sum (lot, quantity) pairs per lot; lines without a lot are left out."""
    totals: dict[int, LotUse] = {}
    for lot, quantity in lines:
        if lot is None:
            continue
        prior = totals.get(lot.pk)
        totals[lot.pk] = LotUse(
            lot=lot, quantity=quantity + (prior.quantity if prior else Decimal("0"))
        )
    return totals
