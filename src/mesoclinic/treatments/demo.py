"""Demo stock and charted sessions, written through the services like real ones."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal

from mesoclinic.accounts.models import Clinic, Organisation, User
from mesoclinic.core.errors import DomainError
from mesoclinic.inventory.models import ProductKind, ProductUnit
from mesoclinic.inventory.services import lot_receive, product_create
from mesoclinic.protocols.models import Formulation
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments import maps
from mesoclinic.treatments.services import (
    SessionContent,
    new_line_defaults,
    session_open,
    session_sign,
    session_update,
)

# name, kind, unit, formulation name (if the shipped one exists), lots
DEMO_PRODUCTS = [
    ("Hair multivitamin cocktail", ProductKind.TREATMENT, ProductUnit.ML, "Multivitamin cocktail"),
    ("Dutasteride 0.01% solution", ProductKind.TREATMENT, ProductUnit.ML, None),
    ("PRP preparation kit (autologous plasma)", ProductKind.TREATMENT, ProductUnit.ML, None),
    ("Face multivitamin cocktail", ProductKind.TREATMENT, ProductUnit.ML, None),
    ("Lidocaine 5% cream", ProductKind.SUPPLY, ProductUnit.G, None),
    ("Gentle pH-balanced shampoo", ProductKind.RETAIL, ProductUnit.PIECE, None),
]


def seed_inventory(
    *, organisation: Organisation, clinics: Sequence[Clinic], admin: User, today: dt.date
) -> None:
    """Products and lots at every clinic: one lot that expires soon (an alert), one
    later, and a low-stock retail product."""
    formulations = {f.name: f for f in Formulation.objects.filter(organisation=organisation)}
    for index, (name, kind, unit, formulation) in enumerate(DEMO_PRODUCTS):
        product = product_create(
            organisation=organisation,
            name=name,
            kind=kind,
            unit=unit,
            manufacturer="Demo Pharma",
            formulation=formulations.get(formulation or ""),
            low_stock_threshold=Decimal("20") if kind == ProductKind.TREATMENT else Decimal("5"),
            home_care_note=(
                "Use from the third day after treatment, gently, without scrubbing."
                if kind == ProductKind.RETAIL
                else ""
            ),
            acting_user=admin,
        )
        for clinic_index, clinic in enumerate(clinics):
            lot_receive(
                product=product,
                clinic=clinic,
                lot_number=f"D{index}{clinic_index}-{today:%y}01",
                expires_on=today + dt.timedelta(days=20),
                quantity=Decimal("40") if kind != ProductKind.RETAIL else Decimal("3"),
                supplier="Demo Pharma Ltd",
                acting_user=admin,
            )
            if kind != ProductKind.RETAIL:
                lot_receive(
                    product=product,
                    clinic=clinic,
                    lot_number=f"D{index}{clinic_index}-{today:%y}02",
                    expires_on=today + dt.timedelta(days=400),
                    quantity=Decimal("2000"),
                    supplier="Demo Pharma Ltd",
                    acting_user=admin,
                )


def chart_visit(*, appointment: Appointment, rng: random.Random) -> bool:
    """Chart and sign the appointment's session as its practitioner would: three to five
    zones from the defaults (or the previous session). False when it could not be signed
    (a pre-check failed, no stock): the appointment then stays checked in."""
    practitioner = appointment.practitioner
    try:
        session = session_open(appointment=appointment, acting_user=practitioner)
        content = SessionContent.of(session)
        if not content.lines:
            blank = new_line_defaults(session=session)
            if blank is None:
                return False
            codes = [z.code for z in maps.zone_map(session.area).zones]
            chosen = rng.sample(codes, k=min(len(codes), rng.randint(3, 5)))
            content = SessionContent(
                lines=tuple(
                    blank.__class__(
                        **{
                            **blank.__dict__,
                            "zone": code,
                            "volume_ml": Decimal(rng.choice(["0.5", "1.0", "1.5"])),
                        }
                    )
                    for code in chosen
                )
            )
        content = SessionContent(
            **{**content.__dict__, "pain_score": rng.randint(1, 5), "reactions": ("erythema",)}
        )
        session_update(session=session, content=content, acting_user=practitioner)
        session_sign(session=session, acting_user=practitioner, send_aftercare=False)
    except DomainError:
        return False
    return True
