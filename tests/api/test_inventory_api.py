"""/api/v1/products and /api/v1/lots: every staff role reads; admins, practitioners and the
front desk receive, adjust and move stock; only admins change products and recall lots.
Bad input is 422 with the fields named, clashes with the stock are 409, and nothing is
written by a refused call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot, Product, Stock, StockMovement
from mesoclinic.inventory.services import lot_recall
from mesoclinic.protocols.models import Formulation
from tests.api.helpers import ApiClient, field_messages, problem
from tests.conftest import STAFF, WRITERS
from tests.inventory.factories import make_product, make_session, receive, today

PRODUCTS = "/api/v1/products"
LOTS = "/api/v1/lots"
PRODUCT_KEYS = {
    "id",
    "name",
    "kind",
    "unit",
    "manufacturer",
    "formulation_id",
    "low_stock_threshold",
    "home_care_note",
    "in_use",
    "updated_at",
}
LOT_KEYS = {
    "id",
    "product_id",
    "product",
    "unit",
    "lot_number",
    "expires_on",
    "supplier",
    "recalled",
    "recalled_at",
    "recall_reason",
    "stock",
    "total_quantity",
}
NOT_ADMINS = ["paul", "fiona", "audrey"]


def state() -> tuple[Any, ...]:
    return (
        list(Product.objects.order_by("pk").values()),
        list(Lot.objects.order_by("pk").values()),
        list(Stock.objects.order_by("pk").values()),
        StockMovement.objects.count(),
        AuditEvent.objects.exclude(action="recall.read").count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = state()
    yield
    assert state() == before


@pytest.fixture
def stocked(world):
    product = make_product(world)
    lot = receive(world, product, "A2417", "10")
    return {"product": product, "lot": lot}


@pytest.fixture
def clients(api_for, world):
    """One API client per persona, made up front (tokens are writes of their own)."""
    return {name: api_for(name) for name in [*STAFF, "oscar", "anonymous"]}


def lot_url(lot: Lot | int, suffix: str = "") -> str:
    pk = lot if isinstance(lot, int) else lot.pk
    return f"{LOTS}/{pk}{suffix}"


def receive_body(world, product: Product, **overrides: Any) -> dict[str, Any]:
    body = {
        "product_id": product.pk,
        "clinic_id": world.acme_city.pk,
        "lot_number": "b77-1",
        "expires_on": (today(world) + dt.timedelta(days=300)).isoformat(),
        "quantity": "4.5",
        "supplier": "MesoPharm",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def product_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Biotin serum",
        "kind": "retail",
        "unit": "piece",
        "manufacturer": "Meso Labs",
        "low_stock_threshold": 3,
        "home_care_note": "Apply a few drops each evening.",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


# --- authentication ------------------------------------------------------------------------


def test_every_endpoint_needs_a_token(world, stocked, clients):
    client = clients["anonymous"]
    lot, product = stocked["lot"], stocked["product"]
    with nothing_written():
        for path in [
            PRODUCTS,
            f"{PRODUCTS}/{product.pk}",
            LOTS,
            lot_url(lot),
            lot_url(lot, "/patients"),
        ]:
            problem(client.get(path), 401)
        problem(client.post(PRODUCTS, product_body()), 401)
        problem(client.patch(f"{PRODUCTS}/{product.pk}", {"name": "X"}), 401)
        problem(client.post(f"{LOTS}/receive", receive_body(world, product)), 401)
        for action in ["/adjust", "/transfer", "/recall"]:
            problem(client.post(lot_url(lot, action), {}), 401)
    assert ApiClient(header="Bearer nope").get(LOTS).status_code == 401


# --- products ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_and_read_products(world, stocked, clients, persona):
    product = stocked["product"]
    retired = make_product(world, "Retired", kind="supply", unit="piece")
    retired.is_active = False
    retired.save()
    client = clients[persona]
    items = client.get(PRODUCTS).json()
    assert [item["name"] for item in items] == ["Multivitamin cocktail vial", "Retired"]
    assert set(items[0]) == PRODUCT_KEYS
    assert [i["name"] for i in client.get(PRODUCTS, {"in_use": "false"}).json()] == ["Retired"]
    assert [i["name"] for i in client.get(PRODUCTS, {"kind": "treatment"}).json()] == [
        "Multivitamin cocktail vial"
    ]
    body = client.get(f"{PRODUCTS}/{product.pk}").json()
    assert body["unit"] == "ml"
    assert body["in_use"] is True
    assert body["low_stock_threshold"] == "0.00"


def test_an_unknown_kind_filter_is_422(clients, world):
    body = problem(clients["paul"].get(PRODUCTS, {"kind": "food"}), 422)
    assert "'food'" in field_messages(body, "kind")[0]


def test_an_admin_adds_a_product(world, clients):
    formulation = Formulation.objects.get(organisation=world.acme, name="Multivitamin cocktail")
    response = clients["alice"].post(
        PRODUCTS, product_body(kind="treatment", unit="ml", formulation_id=formulation.pk)
    )
    assert response.status_code == 201
    body = response.json()
    assert body["formulation_id"] == formulation.pk
    assert body["low_stock_threshold"] == "3.00"
    product = Product.objects.get(pk=body["id"])
    assert product.organisation == world.acme
    event = AuditEvent.objects.get(action="product.create")
    assert event.actor == world.alice
    assert event.via == "api"


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_only_admins_add_or_change_products(world, stocked, clients, persona):
    client = clients[persona]
    with nothing_written():
        problem(client.post(PRODUCTS, product_body()), 403)
        problem(client.patch(f"{PRODUCTS}/{stocked['product'].pk}", {"name": "Renamed"}), 403)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": " "}, "name", "Name the product."),
        ({"name": None}, "name", "This field is required."),
        ({"kind": "food"}, "kind", "Unknown kind 'food'"),
        ({"unit": "litre"}, "unit", "Unknown unit 'litre'"),
        ({"low_stock_threshold": -1}, "low_stock_threshold", "cannot be negative"),
        ({"low_stock_threshold": True}, "low_stock_threshold", "as a number"),
        ({"home_care_note": "x" * 301}, "home_care_note", "at most 300 characters"),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_bad_product_input_is_422_with_the_field(clients, world, overrides, field, message):
    with nothing_written():
        body = problem(clients["alice"].post(PRODUCTS, product_body(**overrides)), 422)
    assert any(message in m for m in field_messages(body, field)), body


def test_product_clashes_and_foreign_formulations_are_refused(world, stocked, clients):
    client = clients["alice"]
    theirs = Formulation.objects.get(organisation=world.other, name="Lipolytic solution")
    with nothing_written():
        body = problem(client.post(PRODUCTS, product_body(name="Multivitamin cocktail vial")), 409)
        assert "exists already" in field_messages(body, "name")[0]
        body = problem(client.post(PRODUCTS, product_body(formulation_id=theirs.pk)), 422)
        assert field_messages(body, "formulation_id")
        body = problem(client.patch(f"{PRODUCTS}/{stocked['product'].pk}", {"unit": "g"}), 422)
        assert "count it in mL" in field_messages(body, "unit")[0]
        body = problem(
            client.patch(f"{PRODUCTS}/{stocked['product'].pk}", {"kind": "supply", "unit": "g"}),
            409,
        )
        assert "its unit cannot change" in field_messages(body, "unit")[0]
        body = problem(client.patch(f"{PRODUCTS}/{stocked['product'].pk}", {"name": None}), 422)
        assert field_messages(body, "name") == ["The name cannot be null."]


def test_an_admin_changes_only_the_fields_sent(world, stocked, clients):
    product = stocked["product"]
    response = clients["alice"].patch(
        f"{PRODUCTS}/{product.pk}", {"in_use": False, "low_stock_threshold": "2.5"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["in_use"], body["low_stock_threshold"], body["name"]) == (
        False,
        "2.50",
        "Multivitamin cocktail vial",
    )
    event = AuditEvent.objects.get(action="product.update")
    assert set(event.changes) == {"is_active", "low_stock_threshold"}


def test_another_organisation_gets_404_for_acmes_products(world, stocked, clients):
    client = clients["oscar"]
    product = stocked["product"]
    with nothing_written():
        problem(client.get(f"{PRODUCTS}/{product.pk}"), 404)
        problem(client.patch(f"{PRODUCTS}/{product.pk}", {"name": "Mine"}), 404)
    assert client.get(PRODUCTS).json() == []
    problem(clients["alice"].get(f"{PRODUCTS}/999999"), 404)


# --- lots: reading -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_and_read_lots_with_stock_per_clinic(world, stocked, clients, persona):
    lot = stocked["lot"]
    receive(world, lot.product, lot.lot_number, "2", clinic=world.acme_river)
    client = clients[persona]
    page = client.get(LOTS).json()
    assert (page["count"], page["limit"], page["offset"]) == (1, 100, 0)
    [item] = page["items"]
    assert set(item) == LOT_KEYS
    assert item["stock"] == [
        {"clinic_id": world.acme_city.pk, "clinic": "Acme City", "quantity": "10.00"},
        {"clinic_id": world.acme_river.pk, "clinic": "Acme Riverside", "quantity": "2.00"},
    ]
    assert item["total_quantity"] == "12.00"
    assert client.get(lot_url(lot)).json() == item


def test_lots_filter_by_product_clinic_number_and_recall(world, stocked, clients):
    lot = stocked["lot"]
    peptides = make_product(world, "Peptides")
    river = receive(world, peptides, "P-55", "3", clinic=world.acme_river)
    recalled = receive(world, peptides, "P-56", "3")
    lot_recall(lot=recalled, reason="Notice", acting_user=world.alice)
    client = clients["fiona"]

    def numbers(**params: Any) -> list[str]:
        return [item["lot_number"] for item in client.get(LOTS, params).json()["items"]]

    assert numbers(product_id=peptides.pk) == ["P-55", "P-56"]
    assert numbers(clinic_id=world.acme_river.pk) == [river.lot_number]
    assert numbers(clinic_id=world.acme_city.pk) == [lot.lot_number, "P-56"]
    assert numbers(clinic_id=world.other_clinic.pk) == []
    assert numbers(lot_number="p-5") == ["P-55", "P-56"]
    assert numbers(recalled="true") == ["P-56"]
    assert numbers(recalled="false") == ["A2417", "P-55"]
    page = client.get(LOTS, {"limit": 1, "offset": 1}).json()
    assert (page["count"], [i["lot_number"] for i in page["items"]]) == (3, ["P-55"])
    body = problem(client.get(LOTS, {"lot_number": "P 55"}), 422)
    assert field_messages(body, "lot_number")
    problem(client.get(LOTS, {"limit": 0}), 422)


def test_another_organisation_gets_404_for_acmes_lots(world, stocked, clients):
    client = clients["oscar"]
    lot = stocked["lot"]
    with nothing_written():
        problem(client.get(lot_url(lot)), 404)
        problem(client.get(lot_url(lot, "/patients")), 404)
        problem(
            client.post(
                lot_url(lot, "/adjust"),
                {"clinic_id": world.other_clinic.pk, "quantity": 1, "reason": "x"},
            ),
            404,
        )
        problem(
            client.post(
                lot_url(lot, "/transfer"),
                {
                    "from_clinic_id": world.other_clinic.pk,
                    "to_clinic_id": world.other_clinic.pk,
                    "quantity": 1,
                },
            ),
            404,
        )
        problem(client.post(lot_url(lot, "/recall"), {"reason": "Mine"}), 404)
        body = problem(
            client.post(
                f"{LOTS}/receive", receive_body(world, lot.product, clinic_id=world.other_clinic.pk)
            ),
            422,
        )
        assert field_messages(body, "product_id")
    assert client.get(LOTS).json()["count"] == 0
    problem(clients["alice"].get(lot_url(999_999)), 404)


# --- lots: receiving, adjusting, moving ----------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_receive_adjust_and_transfer(world, stocked, clients, persona):
    client = clients[persona]
    response = client.post(f"{LOTS}/receive", receive_body(world, stocked["product"]))
    assert response.status_code == 201
    body = response.json()
    assert (body["lot_number"], body["total_quantity"]) == ("B77-1", "4.50")
    lot = lot_url(body["id"])
    body = client.post(
        f"{lot}/adjust", {"clinic_id": world.acme_city.pk, "quantity": -0.5, "reason": "Spilt"}
    ).json()
    assert body["total_quantity"] == "4.00"
    response = client.post(
        f"{lot}/transfer",
        {"from_clinic_id": world.acme_city.pk, "to_clinic_id": world.acme_river.pk, "quantity": 1},
    )
    assert response.status_code == 200
    assert [s["quantity"] for s in response.json()["stock"]] == ["3.00", "1.00"]
    actions = list(
        AuditEvent.objects.filter(
            actor=world.persona(persona), object_type="inventory.lot", via="api"
        )
        .order_by("pk")
        .values_list("action", "via")
    )
    assert actions == [("lot.receive", "api"), ("stock.adjust", "api"), ("stock.transfer", "api")]


def test_the_auditor_cannot_change_stock(world, stocked, clients):
    client = clients["audrey"]
    lot = stocked["lot"]
    with nothing_written():
        problem(client.post(f"{LOTS}/receive", receive_body(world, stocked["product"])), 403)
        problem(
            client.post(
                lot_url(lot, "/adjust"),
                {"clinic_id": world.acme_city.pk, "quantity": -1, "reason": "x"},
            ),
            403,
        )
        problem(
            client.post(
                lot_url(lot, "/transfer"),
                {
                    "from_clinic_id": world.acme_city.pk,
                    "to_clinic_id": world.acme_river.pk,
                    "quantity": 1,
                },
            ),
            403,
        )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lot_number": "AB 12"}, "lot_number", "this one contains a space"),
        ({"lot_number": None}, "lot_number", "This field is required."),
        ({"quantity": 0}, "quantity", "A quantity of zero changes nothing."),
        ({"quantity": -1}, "quantity", "The quantity must be more than zero."),
        ({"quantity": "1.001"}, "quantity", "Use at most two decimals."),
        ({"quantity": "1e40"}, "quantity", "more than the 100000 allowed"),
        ({"quantity": True}, "quantity", "as a number"),
        ({"expires_on": "2020-01-01"}, "expires_on", "is already past"),
        ({"expires_on": "31/12/2030"}, "expires_on", "date"),
        ({"expires_on": 1800000000}, "expires_on", "as text, YYYY-MM-DD"),
        ({"product_id": 999999}, "product_id", "No product with this id"),
        ({"clinic_id": 999999}, "clinic_id", "No active clinic with this id"),
        ({"supplier": "Bad\x01name"}, "supplier", "control characters"),
        ({"extra": 1}, "extra", "Unknown field."),
    ],
)
def test_bad_receipts_are_422_with_the_field_and_write_nothing(
    world, stocked, clients, overrides, field, message
):
    with nothing_written():
        body = problem(
            clients["fiona"].post(
                f"{LOTS}/receive", receive_body(world, stocked["product"], **overrides)
            ),
            422,
        )
    assert any(message in m for m in field_messages(body, field)), body


def test_receiving_into_a_known_lot_with_another_expiry_or_a_recalled_lot_is_409(
    world, stocked, clients
):
    lot = stocked["lot"]
    client = clients["paul"]
    with nothing_written():
        body = problem(
            client.post(f"{LOTS}/receive", receive_body(world, lot.product, lot_number="A2417")),
            409,
        )
        assert "received before with expiry" in field_messages(body, "expires_on")[0]
    lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    same = receive_body(
        world, lot.product, lot_number="A2417", expires_on=lot.expires_on.isoformat()
    )
    with nothing_written():
        body = problem(client.post(f"{LOTS}/receive", same), 409)
        assert "is recalled" in field_messages(body, "lot_number")[0]


def test_receiving_a_product_out_of_use_is_422(world, stocked, clients):
    product = stocked["product"]
    product.is_active = False
    product.save()
    with nothing_written():
        body = problem(clients["paul"].post(f"{LOTS}/receive", receive_body(world, product)), 422)
    assert "out of use" in field_messages(body, "product_id")[0]


def test_stock_never_goes_below_zero_through_the_api(world, stocked, clients):
    lot = stocked["lot"]
    client = clients["fiona"]
    with nothing_written():
        body = problem(
            client.post(
                lot_url(lot, "/adjust"),
                {"clinic_id": world.acme_city.pk, "quantity": -10.01, "reason": "Count"},
            ),
            409,
        )
        assert "Only 10.00 mL" in field_messages(body, "quantity")[0]
        body = problem(
            client.post(
                lot_url(lot, "/transfer"),
                {
                    "from_clinic_id": world.acme_river.pk,
                    "to_clinic_id": world.acme_city.pk,
                    "quantity": 1,
                },
            ),
            409,
        )
        assert "Acme Riverside holds none" in body["detail"]


@pytest.mark.parametrize(
    ("path", "payload", "field", "message"),
    [
        ("/adjust", {"quantity": -1, "reason": " "}, "reason", "Say why"),
        ("/adjust", {"quantity": 0, "reason": "x"}, "quantity", "zero changes nothing"),
        (
            "/adjust",
            {"quantity": -1, "reason": "x", "clinic_id": 999999},
            "clinic_id",
            "No active clinic",
        ),
        ("/transfer", {"to_clinic_id": "CITY"}, "to_clinic_id", "two different clinics"),
        ("/transfer", {"quantity": -2}, "quantity", "more than zero"),
        ("/recall", {"reason": ""}, "reason", "Say why the lot is recalled."),
    ],
)
def test_bad_lot_actions_are_422_with_the_field(
    world, stocked, clients, path, payload, field, message
):
    defaults = {
        "/adjust": {"clinic_id": world.acme_city.pk},
        "/transfer": {
            "from_clinic_id": world.acme_city.pk,
            "to_clinic_id": world.acme_river.pk,
            "quantity": 1,
        },
        "/recall": {},
    }[path]
    body_in = {**defaults, **payload}
    body_in = {k: world.acme_city.pk if v == "CITY" else v for k, v in body_in.items()}
    with nothing_written():
        body = problem(clients["alice"].post(lot_url(stocked["lot"], path), body_in), 422)
    assert any(message in m for m in field_messages(body, field)), body


# --- recall --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_only_admins_recall(world, stocked, clients, persona):
    with nothing_written():
        problem(
            clients[persona].post(lot_url(stocked["lot"], "/recall"), {"reason": "Notice"}), 403
        )


def test_an_admin_recalls_a_lot_once(world, stocked, clients):
    lot = stocked["lot"]
    client = clients["alice"]
    response = client.post(lot_url(lot, "/recall"), {"reason": "Manufacturer notice MN-14"})
    assert response.status_code == 200
    body = response.json()
    assert body["recalled"] is True
    assert body["recall_reason"] == "Manufacturer notice MN-14"
    assert body["recalled_at"]
    with nothing_written():
        problem(client.post(lot_url(lot, "/recall"), {"reason": "Again"}), 409)
        body = problem(
            client.post(
                lot_url(lot, "/transfer"),
                {
                    "from_clinic_id": world.acme_city.pk,
                    "to_clinic_id": world.acme_river.pk,
                    "quantity": 1,
                },
            ),
            409,
        )
        assert "recalled" in body["detail"]


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_the_patients_who_received_a_lot_and_each_read_is_audited(
    world, stocked, clients, persona
):
    lot = stocked["lot"]
    session = make_session(
        world, world.acme_patient, lines=[(lot, "0.5", "vertex"), (lot, "1", "frontal")]
    )
    make_session(world, world.pat_patient, lines=[(lot, "1", "vertex")], signed=False)
    response = clients[persona].get(lot_url(lot, "/patients"))
    assert response.status_code == 200
    assert response.json() == [
        {
            "session_id": session.pk,
            "appointment_id": session.appointment_id,
            "patient_id": world.acme_patient.pk,
            "mrn": world.acme_patient.mrn,
            "patient_name": "Ana Silva",
            "date_of_birth": "1985-03-14",
            "email": "jane.doe@example.com",
            "phone": "+44 7700 900123",
            "performed_on": session.performed_on.isoformat(),
            "clinic": "Acme City",
            "practitioner": "Paul Practitioner",
            "volume_ml": "1.50",
            "zones": ["vertex", "frontal"],
        }
    ]
    event = AuditEvent.objects.get(action="recall.read")
    assert (event.actor, event.via, event.object_id) == (world.persona(persona), "api", str(lot.pk))
    assert event.changes["shown_as"] == {"new": "api"}
    assert event.changes["patients"] == {"new": world.acme_patient.mrn}


# --- queries -------------------------------------------------------------------------------


def queries_for(client: ApiClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_listing_lots_and_products_costs_the_same_with_2_and_20(world, clients):
    client = clients["paul"]

    def add(start: int, count: int) -> None:
        for n in range(start, start + count):
            lot = receive(world, make_product(world, f"P{n:03d}"), f"L{n}", "5")
            receive(world, lot.product, lot.lot_number, "1", clinic=world.acme_river)

    add(0, 2)
    client.get(LOTS)  # the token's last use is written once
    small = (queries_for(client, LOTS), queries_for(client, PRODUCTS))
    add(2, 18)
    assert (queries_for(client, LOTS), queries_for(client, PRODUCTS)) == small
