"""Shared fixtures for session charting: a stocked clinic, today's appointment of a course,
and a routine chart of three scalp zones.

The clock (tests/scheduling_fixtures.py) starts at Wednesday 2 December 2026, 08:00 in
London; ``todays_appointment`` moves it to 09:30, half an hour into the course's first
session (09:00-09:45 at Acme City with Paul).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from mesoclinic.inventory.models import Lot, Product, ProductKind, ProductUnit
from mesoclinic.inventory.services import lot_receive, product_create
from mesoclinic.scheduling.models import Appointment, Course
from mesoclinic.scheduling.services import course_create
from mesoclinic.treatments.services import LineInput, SessionContent
from tests.conftest import World
from tests.scheduling_fixtures import FIXED_NOW, LONDON, CalendarWorld, FixedClock

TODAY = FIXED_NOW.date()  # Wednesday 2 December 2026
# Half an hour into the first session of the course booked from FIXED_NOW (09:00).
SESSION_UNDER_WAY = dt.datetime(2026, 12, 2, 9, 30, tzinfo=LONDON)
CHART_ZONES = (
    ("vertex", Decimal("1.0")),
    ("mid_scalp", Decimal("1.0")),
    ("frontal_hairline", Decimal("0.5")),
)
CHARTED_ML = sum((volume for _zone, volume in CHART_ZONES), Decimal("0"))  # 2.5 mL


@dataclass
class Stocked:
    """Acme's charting stock at Acme City."""

    product: Product  # "Hair cocktail", a treatment product in mL
    retail: Product  # "Gentle shampoo", recommended on aftercare sheets
    lot_a: Lot  # HC-2401, expires 2027-06-30, 20 mL received
    lot_b: Lot  # HC-2402, expires 2027-01-31, 5 mL received (the first to expire)


def make_stocked(world: World) -> Stocked:
    """See ``stocked``."""
    product = product_create(
        organisation=world.acme,
        name="Hair cocktail",
        kind=ProductKind.TREATMENT,
        unit=ProductUnit.ML,
        manufacturer="Meso Labs",
        acting_user=world.alice,
    )
    retail = product_create(
        organisation=world.acme,
        name="Gentle shampoo",
        kind=ProductKind.RETAIL,
        unit=ProductUnit.PIECE,
        home_care_note="Wash gently from the day after the session.",
        acting_user=world.alice,
    )
    lot_a = lot_receive(
        product=product,
        clinic=world.acme_city,
        lot_number="HC-2401",
        expires_on=dt.date(2027, 6, 30),
        quantity=Decimal("20"),
        supplier="Meso Labs",
        acting_user=world.alice,
    )
    lot_b = lot_receive(
        product=product,
        clinic=world.acme_city,
        lot_number="HC-2402",
        expires_on=dt.date(2027, 1, 31),
        quantity=Decimal("5"),
        supplier="Meso Labs",
        acting_user=world.alice,
    )
    return Stocked(product=product, retail=retail, lot_a=lot_a, lot_b=lot_b)


@pytest.fixture
def stocked(world: World) -> Stocked:
    """Acme's Hair cocktail (lots HC-2401 and HC-2402 at Acme City) and Gentle shampoo."""
    return make_stocked(world)


def start_course(calendar: CalendarWorld, patient: Any, *, start_on: dt.date = TODAY) -> Course:
    """A booked course of the hair protocol at Acme City with Paul, from ``start_on``."""
    world = calendar.world
    return course_create(
        patient=patient,
        protocol_version=calendar.hair,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=start_on,
        acting_user=world.fiona,
    ).course


def course_appointment(course: Course, position: int) -> Appointment:
    """The appointment held by the course's session at ``position`` (1 = the first)."""
    return Appointment.objects.select_related("clinic", "patient").get(
        course_session__course=course,
        course_session__position=position,
        status__in=("booked", "checked_in", "completed"),
    )


def make_todays_appointment(
    calendar: CalendarWorld, patient: Any, fixed_clock: FixedClock
) -> Appointment:
    """See ``todays_appointment``."""
    course = start_course(calendar, patient)
    appointment = course_appointment(course, 1)
    assert appointment.starts_at.astimezone(LONDON) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=LONDON)
    fixed_clock.set(SESSION_UNDER_WAY)
    return appointment


@pytest.fixture
def todays_appointment(
    calendar: CalendarWorld, ready_patient: Any, fixed_clock: FixedClock
) -> Appointment:
    """The first session of Rita's hair course, today 09:00 with Paul; the clock is 09:30."""
    return make_todays_appointment(calendar, ready_patient, fixed_clock)


ContentMaker = Callable[..., SessionContent]


def make_content(
    stocked: Stocked,
    *,
    zones: tuple[tuple[str, Decimal], ...] = CHART_ZONES,
    lot: Lot | str | None = "a",
    product: Product | None = None,
    **fields: Any,
) -> SessionContent:
    """A chart of ``zones`` (code, mL): nappage 2 mm deep with a 4 mm 30 G needle, Hair
    cocktail from ``lot`` ("a": HC-2401, "b": HC-2402, a Lot, or None)."""
    chosen = {"a": stocked.lot_a, "b": stocked.lot_b}[lot] if isinstance(lot, str) else lot
    line_fields = {
        key: fields.pop(key)
        for key in ("technique", "depth_mm", "needle_gauge", "needle_length_mm", "points")
        if key in fields
    }
    lines = tuple(
        LineInput(
            zone=zone,
            technique=line_fields.get("technique", "nappage"),
            volume_ml=volume,
            product=product or stocked.product,
            lot=chosen,
            depth_mm=line_fields.get("depth_mm", Decimal("2")),
            needle_gauge=line_fields.get("needle_gauge", 30),
            needle_length_mm=line_fields.get("needle_length_mm", Decimal("4")),
            points=line_fields.get("points"),
        )
        for zone, volume in zones
    )
    return SessionContent(lines=lines, **fields)


@pytest.fixture
def chart_content(stocked: Stocked) -> ContentMaker:
    """``chart_content(**overrides)``: the routine chart (vertex 1.0 mL, mid-scalp 1.0 mL,
    frontal hairline 0.5 mL of Hair cocktail lot HC-2401), see ``make_content``."""

    def make(**overrides: Any) -> SessionContent:
        return make_content(stocked, **overrides)

    return make
