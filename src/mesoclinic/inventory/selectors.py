"""Reads of products, lots, stock and recalls, always scoped by the organisation.

Another organisation's id is a 404, never a 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404

from mesoclinic.accounts.models import Clinic, Organisation, User
from mesoclinic.core.audit import audit_record
from mesoclinic.inventory.models import Lot, Product, Stock, StockMovement


def products_of(organisation: Organisation) -> QuerySet[Product]:
    return Product.objects.filter(organisation=organisation).order_by("name")


def product_get(*, organisation: Organisation, product_id: int) -> Product:
    product = products_of(organisation).filter(pk=product_id).first()
    if product is None:
        raise Http404("No such product")
    return product


def lots_of(organisation: Organisation) -> QuerySet[Lot]:
    return (
        Lot.objects.filter(organisation=organisation)
        .select_related("product", "recalled_by")
        .order_by("product__name", "expires_on", "lot_number")
    )


def lot_get(*, organisation: Organisation, lot_id: int) -> Lot:
    lot = lots_of(organisation).filter(pk=lot_id).first()
    if lot is None:
        raise Http404("No such lot")
    return lot


def lot_find(*, organisation: Organisation, lot_number: str) -> QuerySet[Lot]:
    """Lots whose number contains ``lot_number`` (any product), for the recall search:
    a recall notice may print the number with a prefix or suffix the pack does not have.
    Numbers are stored upper-cased (``lot_receive``), so the search is too."""
    wanted = lot_number.strip().upper()
    if not wanted:
        return lots_of(organisation).none()
    return lots_of(organisation).filter(lot_number__contains=wanted)


def lots_with_stock(organisation: Organisation) -> QuerySet[Lot]:
    """``lots_of`` with each lot's stock rows and their clinics prefetched
    (``lot.stock.all()``): two queries for any number of lots."""
    return lots_of(organisation).prefetch_related(
        Prefetch("stock", queryset=Stock.objects.select_related("clinic").order_by("clinic__name"))
    )


def lot_stock(*, lot: Lot) -> list[Stock]:
    """Every clinic's row for the lot (empty ones too: the lot was there), by clinic name."""
    return list(Stock.objects.filter(lot=lot).select_related("clinic").order_by("clinic__name"))


def stock_of(*, organisation: Organisation, clinic: Clinic | None = None) -> QuerySet[Stock]:
    """Stock rows with something in them, by product and expiry (first to expire first)."""
    rows = Stock.objects.filter(organisation=organisation, quantity__gt=0)
    if clinic is not None:
        rows = rows.filter(clinic=clinic)
    return rows.select_related("lot", "lot__product", "clinic").order_by(
        "lot__product__name", "lot__expires_on", "lot__lot_number", "clinic__name"
    )


def movements_of(*, lot: Lot, limit: int = 200) -> list[StockMovement]:
    return list(
        StockMovement.objects.filter(lot=lot)
        .select_related("clinic", "counterpart_clinic", "created_by", "session")
        .order_by("-created_at", "-pk")[:limit]
    )


def usable_lots(
    *, organisation: Organisation, clinic: Clinic, on: dt.date, product_ids: list[int] | None = None
) -> list[Stock]:
    """Stock a session at ``clinic`` on ``on`` may be charted from: in stock, not recalled,
    not expired; first to expire first (so the default lot is the one to use up)."""
    rows = (
        Stock.objects.filter(
            organisation=organisation,
            clinic=clinic,
            quantity__gt=0,
            lot__recalled_at__isnull=True,
            lot__expires_on__gte=on,
        )
        .select_related("lot", "lot__product")
        .order_by("lot__product__name", "lot__expires_on", "lot__lot_number")
    )
    if product_ids is not None:
        rows = rows.filter(lot__product_id__in=product_ids)
    return list(rows)


@dataclass(frozen=True)
class LowStock:
    product: Product
    clinic: Clinic
    quantity: Decimal


@dataclass(frozen=True)
class Alerts:
    low_stock: list[LowStock]
    expiring: list[Stock]
    expired: list[Stock]
    expiry_warning_days: int
    # Recalled lots still on a shelf: to set aside and send back or destroy.
    recalled: list[Stock] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.low_stock) + len(self.expiring) + len(self.expired) + len(self.recalled)


def alerts(*, organisation: Organisation, today: dt.date, clinic: Clinic | None = None) -> Alerts:
    """Products below their threshold at a clinic (usable stock only: recalled and expired
    lots do not count), lots in stock that expire within INVENTORY_EXPIRY_WARNING_DAYS
    (today included), lots in stock that have expired, and recalled lots still in stock.
    Six queries whatever the size of the stock."""
    days = settings.INVENTORY_EXPIRY_WARNING_DAYS
    clinics = Clinic.objects.filter(organisation=organisation, is_active=True)
    if clinic is not None:
        clinics = clinics.filter(pk=clinic.pk)
    clinic_list = list(clinics)
    products = list(
        Product.objects.filter(organisation=organisation, is_active=True, low_stock_threshold__gt=0)
    )
    usable = (
        Stock.objects.filter(
            organisation=organisation,
            clinic__in=clinic_list,
            lot__recalled_at__isnull=True,
            lot__expires_on__gte=today,
        )
        .values("lot__product_id", "clinic_id")
        .annotate(total=Sum("quantity"))
    )
    totals = {(r["lot__product_id"], r["clinic_id"]): r["total"] for r in usable}
    low = [
        LowStock(product=p, clinic=c, quantity=totals.get((p.pk, c.pk)) or Decimal("0"))
        for p in products
        for c in clinic_list
        if (totals.get((p.pk, c.pk)) or Decimal("0")) < p.low_stock_threshold
    ]
    all_in_stock = stock_of(organisation=organisation, clinic=clinic)
    in_stock = all_in_stock.filter(lot__recalled_at__isnull=True)
    expiring = list(
        in_stock.filter(
            lot__expires_on__gte=today, lot__expires_on__lte=today + dt.timedelta(days=days)
        )
    )
    expired = list(in_stock.filter(lot__expires_on__lt=today))
    recalled = list(all_in_stock.filter(lot__recalled_at__isnull=False))
    return Alerts(
        low_stock=low,
        expiring=expiring,
        expired=expired,
        expiry_warning_days=days,
        recalled=recalled,
    )


@dataclass(frozen=True)
class RecallRow:
    """One signed session (current revision) that used the lot."""

    session_id: int
    appointment_id: int
    patient_id: int
    mrn: str
    patient_name: str
    date_of_birth: dt.date | None
    email: str
    phone: str
    performed_on: dt.date
    clinic: str
    practitioner: str
    volume: Decimal
    zones: tuple[str, ...]
    # The session's treatment area: the zone codes are that area's (treatments.maps).
    area: str = ""


def recall_rows(*, lot: Lot) -> list[RecallRow]:
    """Every patient and session that received ``lot``, newest first: the current signed
    revision of each session (an amendment that corrected the lot away removes it, one that
    corrected it in adds it). One query on the (lot, session) index, reading only the
    columns the list shows: a popular lot has tens of thousands of lines, and building a
    model object per line and per joined row cost ten times the query itself."""
    from mesoclinic.treatments.models import Injection, SessionStatus

    lines = (
        Injection.objects.filter(
            lot=lot,
            session__status=SessionStatus.SIGNED,
            session__superseded_at__isnull=True,
        )
        .order_by("-session__performed_on", "-session_id", "position")
        .values_list(
            "session_id",
            "session__appointment_id",
            "session__patient_id",
            "session__patient__mrn",
            "session__patient__given_name",
            "session__patient__family_name",
            "session__patient__date_of_birth",
            "session__patient__email",
            "session__patient__phone",
            "session__performed_on",
            "session__clinic__name",
            "session__practitioner__full_name",
            "session__practitioner__email",
            "session__area",
            "volume_ml",
            "zone",
        )
    )
    rows: dict[int, RecallRow] = {}
    volumes: dict[int, Decimal] = {}
    zones: dict[int, list[str]] = {}
    for (
        session_id,
        appointment_id,
        patient_id,
        mrn,
        given_name,
        family_name,
        date_of_birth,
        email,
        phone,
        performed_on,
        clinic,
        practitioner_name,
        practitioner_email,
        area,
        volume,
        zone,
    ) in lines:
        if session_id not in rows:
            rows[session_id] = RecallRow(
                session_id=session_id,
                appointment_id=appointment_id,
                patient_id=patient_id,
                mrn=mrn,
                patient_name=f"{given_name} {family_name}",
                date_of_birth=date_of_birth,
                email=email,
                phone=phone,
                performed_on=performed_on,
                clinic=clinic,
                practitioner=practitioner_name or practitioner_email,
                volume=Decimal("0"),
                zones=(),
                area=area,
            )
            volumes[session_id] = Decimal("0")
            zones[session_id] = []
        volumes[session_id] += volume
        if zone not in zones[session_id]:
            zones[session_id].append(zone)
    return [replace(row, volume=volumes[sid], zones=tuple(zones[sid])) for sid, row in rows.items()]


def recalled_lots_received(*, patient_id: int) -> list[tuple[Lot, dt.date]]:
    """Recalled lots this patient received in a current signed session, with the date:
    the chart's recall alert. One query."""
    from mesoclinic.treatments.models import Injection, SessionStatus

    lines = (
        Injection.objects.filter(
            session__patient_id=patient_id,
            session__status=SessionStatus.SIGNED,
            session__superseded_at__isnull=True,
            lot__recalled_at__isnull=False,
        )
        .select_related("lot", "lot__product", "session")
        .order_by("-session__performed_on")
    )
    seen: dict[int, tuple[Lot, dt.date]] = {}
    for line in lines:
        assert line.lot is not None
        seen.setdefault(line.lot.pk, (line.lot, line.session.performed_on))
    return list(seen.values())


def recall_list_record(
    *, organisation: Organisation, actor: User, lot: Lot, rows: list[RecallRow], shown_as: str
) -> None:
    """Audit a read of a lot's recall list (``shown_as``: "page", "csv" or "api"): patients'
    contact details were shown, so the event names the lot and the record numbers listed."""
    with transaction.atomic():
        audit_record(
            action="recall.read",
            actor=actor,
            organisation=organisation,
            obj=lot,
            changes={
                "shown_as": {"new": shown_as},
                "rows": {"new": len(rows)},
                "patients": {"new": ", ".join(dict.fromkeys(row.mrn for row in rows))},
            },
        )
