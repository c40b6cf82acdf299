"""The rates behind the safety page, computed from the database: counts per product, lot,
protocol, practitioner and term, the lot that stands out, filters, and no division by
zero. (The interval maths are tested on their own in test_stats.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.inventory.models import ProductKind, ProductUnit
from mesoclinic.inventory.services import lot_receive, product_create
from mesoclinic.safety import rates, stats
from mesoclinic.safety.models import Relation
from mesoclinic.safety.services import EventInput, adverse_event_record
from tests.conftest import make_patient
from tests.safety.factories import Given, history

NOV = dt.date(2026, 11, 2)
PERIOD = rates.RatesQuery(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))


@pytest.fixture
def clinic_history(world, calendar, stocked):
    """Thirty November sessions of Hair cocktail: Paul gave 20 from lot HC-2401 (one
    followed by redness), Alice 10 from lot HC-2402 (seven followed by side effects, one of
    them by two)."""
    sessions = [
        Given(
            day=NOV + dt.timedelta(days=i % 20),
            lot=stocked.lot_a,
            practitioner=world.paul,
            version=calendar.hair,
            terms=("erythema",) if i == 0 else (),
        )
        for i in range(20)
    ]
    sessions += [
        Given(
            day=NOV + dt.timedelta(days=i),
            lot=stocked.lot_b,
            practitioner=world.alice,
            version=calendar.hair,
            terms=(("erythema", "pruritus") if i == 0 else ("pruritus",)) if i < 7 else (),
        )
        for i in range(10)
    ]
    return history(world, sessions)


def by_label(rows):
    return {row.label: row for row in rows}


def test_rates_count_sessions_followed_by_a_side_effect_per_group(world, clinic_history):
    report = rates.safety_rates(organisation=world.acme, query=PERIOD)

    # 8 of 30 sessions were followed by at least one side effect; 9 events in all.
    assert (report.overall.events, report.overall.sessions) == (8, 30)
    assert report.overall.per_100 == pytest.approx(800 / 30)
    assert report.events == 9
    assert report.overall.wilson == stats.wilson(8, 30)
    assert report.overall.exact == stats.clopper_pearson(8, 30)

    product = by_label(report.by_product)["Hair cocktail"]
    assert (product.rate.events, product.rate.sessions) == (8, 30)
    lots = by_label(report.by_lot)
    assert (lots["HC-2401"].rate.events, lots["HC-2401"].rate.sessions) == (1, 20)
    assert (lots["HC-2402"].rate.events, lots["HC-2402"].rate.sessions) == (7, 10)
    assert lots["HC-2402"].group == "Hair cocktail"
    protocol = report.by_protocol[0]
    assert (protocol.rate.events, protocol.rate.sessions) == (8, 30)
    people = by_label(report.by_practitioner)
    assert (people["Paul Practitioner"].rate.events, people["Paul Practitioner"].rate.sessions) == (
        1,
        20,
    )
    # By term, every session of the period is the denominator.
    itching = next(row for row in report.by_term if row.key == "pruritus")
    assert (itching.rate.events, itching.rate.sessions) == (7, 30)
    redness = next(row for row in report.by_term if row.key == "erythema")
    assert (redness.rate.events, redness.rate.sessions) == (2, 30)


def test_the_lot_with_clearly_more_side_effects_is_highlighted_with_its_test(world, clinic_history):
    report = rates.safety_rates(organisation=world.acme, query=PERIOD)
    lots = by_label(report.by_lot)
    bad, good = lots["HC-2402"], lots["HC-2401"]
    # One-sided Fisher: 7 of 10 against 1 of 20, Bonferroni over the product's two lots.
    assert bad.comparison is not None
    assert bad.comparison.p_value == pytest.approx(stats.fisher_greater(7, 10, 1, 20))
    assert bad.comparison.threshold == pytest.approx(0.025)
    assert bad.highlight
    assert good.comparison is not None and not good.highlight
    people = by_label(report.by_practitioner)
    assert people["Alice Admin"].highlight and not people["Paul Practitioner"].highlight


def test_a_single_lot_is_not_compared_with_nothing(world, calendar, stocked):
    history(
        world,
        [
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                terms=("erythema",),
            )
        ],
    )
    report = rates.safety_rates(organisation=world.acme, query=PERIOD)
    (lot,) = report.by_lot
    assert lot.comparison is None and not lot.highlight


def test_only_related_side_effects_can_be_counted(world, calendar, stocked):
    history(
        world,
        [
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                terms=("headache",),
                relation=Relation.UNRELATED,
            ),
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                terms=("erythema",),
                relation=Relation.PROBABLE,
            ),
        ],
    )
    everything = rates.safety_rates(organisation=world.acme, query=PERIOD)
    related = rates.safety_rates(
        organisation=world.acme,
        query=rates.RatesQuery(start=PERIOD.start, end=PERIOD.end, related_only=True),
    )
    assert (everything.overall.events, everything.overall.sessions) == (2, 2)
    assert (related.overall.events, related.overall.sessions) == (1, 2)


def test_a_period_without_sessions_has_no_rate_and_no_division_by_zero(world, clinic_history):
    report = rates.safety_rates(
        organisation=world.acme,
        query=rates.RatesQuery(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31)),
    )
    assert report.overall.sessions == 0 and report.overall.per_100 is None
    assert report.overall.wilson is None and not report.overall.has_data
    assert report.by_lot == [] and report.by_term == []
    rows = rates.csv_rows(report)
    assert rows[1][:6] == ["overall", "", "All sessions", "0", "0", ""]


def test_another_organisation_sees_none_of_these_sessions(world, clinic_history):
    report = rates.safety_rates(organisation=world.other, query=PERIOD)
    assert report.overall.sessions == 0


def test_the_rates_cost_the_same_queries_whatever_the_history(world, calendar, stocked):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rates.safety_rates(organisation=world.acme, query=PERIOD)
        return len(ctx.captured_queries)

    history(
        world,
        [
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                terms=("erythema",),
            )
        ],
    )
    few = queries()
    history(
        world,
        [
            Given(
                day=NOV + dt.timedelta(days=i),
                lot=(stocked.lot_a, stocked.lot_b)[i % 2],
                practitioner=(world.paul, world.alice)[i % 2],
                version=calendar.hair,
                terms=("pruritus",) if i % 3 == 0 else (),
            )
            for i in range(12)
        ],
    )
    assert queries() == few


def test_a_side_effect_after_two_sessions_counts_for_both(world, calendar, stocked):
    patient = make_patient(world.acme, world.fiona, given_name="Twice", family_name="Treated")
    first, second = history(
        world,
        [
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                patient=patient,
            ),
            Given(
                day=NOV + dt.timedelta(days=14),
                lot=stocked.lot_b,
                practitioner=world.paul,
                version=calendar.hair,
                patient=patient,
            ),
        ],
    )
    adverse_event_record(
        patient=patient,
        appointments=[first.appointment, second.appointment],
        data=EventInput(
            term="hair_loss",
            onset_at=second.appointment.starts_at + dt.timedelta(days=2),
            grade=2,
            relation=Relation.POSSIBLE,
        ),
        acting_user=world.paul,
    )
    report = rates.safety_rates(organisation=world.acme, query=PERIOD)
    lots = by_label(report.by_lot)
    assert (lots["HC-2401"].rate.events, lots["HC-2402"].rate.events) == (1, 1)
    assert (report.overall.events, report.overall.sessions, report.events) == (2, 2, 1)


def test_a_session_with_several_lines_counts_once_per_product_and_lot(world, calendar, stocked):
    # Three lines: two of lot HC-2401 and one of HC-2402, all Hair cocktail.
    history(
        world,
        [
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                more_lots=(stocked.lot_a, stocked.lot_b),
                terms=("erythema", "pruritus"),
            ),
            Given(
                day=NOV,
                lot=stocked.lot_a,
                practitioner=world.paul,
                version=calendar.hair,
                more_lots=(stocked.lot_a,),
            ),
        ],
    )
    report = rates.safety_rates(organisation=world.acme, query=PERIOD)
    assert (report.overall.events, report.overall.sessions, report.events) == (1, 2, 2)
    (product,) = report.by_product
    assert (product.rate.events, product.rate.sessions) == (1, 2)
    lots = by_label(report.by_lot)
    assert (lots["HC-2401"].rate.events, lots["HC-2401"].rate.sessions) == (1, 2)
    assert (lots["HC-2402"].rate.events, lots["HC-2402"].rate.sessions) == (1, 1)
    (person,) = report.by_practitioner
    assert (person.rate.events, person.rate.sessions) == (1, 2)


def test_the_csv_keeps_a_name_that_looks_like_a_formula_as_text(client_for, world, calendar):
    product = product_create(
        organisation=world.acme,
        name="=HYPERLINK(1)",
        kind=ProductKind.TREATMENT,
        unit=ProductUnit.ML,
        acting_user=world.alice,
    )
    lot = lot_receive(
        product=product,
        clinic=world.acme_city,
        lot_number="@SUM1",
        expires_on=dt.date(2027, 6, 30),
        quantity=Decimal("10"),
        acting_user=world.alice,
    )
    history(world, [Given(day=NOV, lot=lot, practitioner=world.paul, version=calendar.hair)])
    response = client_for("alice").get(
        reverse("safety_csv"), {"start": "2026-11-01", "end": "2026-11-30"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[2][:3] == ["product", "", "'=HYPERLINK(1)"]
    lot_row = next(r for r in rows if r[0] == "lot")
    assert lot_row[1:3] == ["'=HYPERLINK(1)", "'@SUM1"]
