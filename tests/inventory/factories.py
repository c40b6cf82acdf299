"""Small factories for inventory tests: products and lots through the services, and the
minimum treatment rows (appointment, session revisions, injection lines) that charting
would write, so stock consumption and the recall list can be tested before and apart from
the charting pages."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.core import clock
from mesoclinic.inventory.models import Lot, Product
from mesoclinic.inventory.services import lot_receive, product_create
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from mesoclinic.treatments.models import Injection, SessionStatus, TreatmentSession
from tests.conftest import World

# Distinct appointment times, so no two rows look like a double booking.
_slots = itertools.count()


def today(world: World) -> dt.date:
    """Today at Acme City, as the pages and the API see it."""
    return clock.today_in(world.acme_city.tzinfo)


def make_product(
    world: World,
    name: str = "Multivitamin cocktail vial",
    *,
    unit: str = "ml",
    kind: str = "treatment",
    threshold: str | Decimal = "0",
    by: User | None = None,
) -> Product:
    return product_create(
        organisation=world.acme,
        name=name,
        kind=kind,
        unit=unit,
        low_stock_threshold=Decimal(threshold),
        acting_user=by or world.alice,
    )


def receive(
    world: World,
    product: Product,
    lot_number: str = "A2417",
    quantity: str | Decimal = "10",
    *,
    clinic: Clinic | None = None,
    expires_in_days: int = 365,
    expires_on: dt.date | None = None,
    by: User | None = None,
) -> Lot:
    return lot_receive(
        product=product,
        clinic=clinic or world.acme_city,
        lot_number=lot_number,
        expires_on=expires_on or today(world) + dt.timedelta(days=expires_in_days),
        quantity=Decimal(quantity),
        supplier="MesoPharm",
        acting_user=by or world.paul,
    )


def make_appointment(
    world: World, patient: Patient, *, clinic: Clinic | None = None, day: dt.date
) -> Appointment:
    """A finished visit (not active, so it holds no slot)."""
    slot = next(_slots)
    starts_at = timezone.make_aware(
        dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=slot % 400),
        world.acme_city.tzinfo,
    )
    return Appointment.objects.create(
        organisation=world.acme,
        clinic=clinic or world.acme_city,
        practitioner=world.paul,
        patient=patient,
        appointment_type=AppointmentType.objects.get(
            organisation=world.acme, code="course-session"
        ),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=45),
        status=AppointmentStatus.COMPLETED,
        created_by=world.fiona,
    )


def make_session(
    world: World,
    patient: Patient,
    *,
    lines: Sequence[tuple[Lot | None, str | Decimal, str]] = (),
    signed: bool = True,
    performed_on: dt.date | None = None,
    clinic: Clinic | None = None,
    practitioner: User | None = None,
    appointment: Appointment | None = None,
) -> TreatmentSession:
    """A session revision with injection lines ``(lot, volume in mL, zone)``; signed or a
    draft. Written directly: stock is not touched (see ``stock_consume`` tests for that)."""
    performed_on = performed_on or today(world)
    appointment = appointment or make_appointment(world, patient, clinic=clinic, day=performed_on)
    version = Protocol.objects.get(organisation=world.acme, code="hair-mesotherapy")
    practitioner = practitioner or world.paul
    session = TreatmentSession.objects.create(
        organisation=world.acme,
        patient=patient,
        clinic=clinic or world.acme_city,
        practitioner=practitioner,
        appointment=appointment,
        protocol_version_id=version.current_version_id,
        area="scalp",
        performed_on=performed_on,
        status=SessionStatus.SIGNED if signed else SessionStatus.DRAFT,
        signed_at=timezone.now() if signed else None,
        signed_by=practitioner if signed else None,
        created_by=practitioner,
    )
    _add_lines(world, session, lines)
    return session


def amend(
    world: World,
    session: TreatmentSession,
    *,
    lines: Sequence[tuple[Lot | None, str | Decimal, str]],
    reason: str = "Wrong lot charted",
) -> TreatmentSession:
    """A signed amendment of ``session``, which becomes superseded."""
    TreatmentSession.objects.filter(pk=session.pk).update(superseded_at=timezone.now())
    amendment = TreatmentSession.objects.create(
        organisation=session.organisation,
        patient=session.patient,
        clinic=session.clinic,
        practitioner=session.practitioner,
        appointment=session.appointment,
        protocol_version=session.protocol_version,
        area=session.area,
        performed_on=session.performed_on,
        revision=session.revision + 1,
        supersedes=session,
        amendment_reason=reason,
        status=SessionStatus.SIGNED,
        signed_at=timezone.now(),
        signed_by=session.practitioner,
        created_by=session.practitioner,
    )
    _add_lines(world, amendment, lines)
    return amendment


def _add_lines(
    world: World,
    session: TreatmentSession,
    lines: Sequence[tuple[Lot | None, str | Decimal, str]],
) -> None:
    fallback = None
    for position, (lot, volume, zone) in enumerate(lines, start=1):
        if lot is None and fallback is None:
            fallback = Product.objects.filter(
                organisation=world.acme, name="Saline (no lot)"
            ).first() or make_product(world, "Saline (no lot)")
        Injection.objects.create(
            organisation=session.organisation,
            session=session,
            position=position,
            zone=zone,
            technique="nappage",
            volume_ml=Decimal(volume),
            product=lot.product if lot is not None else fallback,  # type: ignore[misc]
            lot=lot,
        )
