"""The inventory pages: who may read and change what, what they show, bad input explained
with nothing written, and query counts that do not grow with the stock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot, Product, Stock, StockMovement
from mesoclinic.inventory.services import lot_recall, stock_adjust
from mesoclinic.protocols.models import Formulation
from tests.conftest import STAFF, WRITERS, make_patient
from tests.inventory.factories import make_product, make_session, receive, today
from tests.patients.helpers import assert_login_redirect, field_errors, page_text

NOT_ADMINS = ["paul", "fiona", "audrey"]


def text_of(response: Any) -> str:
    return " ".join(page_text(response).split())


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
    """Acme's Multivitamin vial: lot A2417 (10 mL at City, expiring in a year) and
    lot E100 (2 mL at Riverside, expiring in 10 days)."""
    product = make_product(world, threshold="5")
    lot = receive(world, product, "A2417", "10")
    soon = receive(world, product, "E100", "2", clinic=world.acme_river, expires_in_days=10)
    return {"product": product, "lot": lot, "soon": soon}


def receive_data(world, product_, **overrides: Any) -> dict[str, Any]:
    data = {
        "product": product_.pk,
        "clinic": world.acme_city.pk,
        "lot_number": "n123-4",
        "expires_on": (today(world) + dt.timedelta(days=200)).isoformat(),
        "quantity": "5",
        "supplier": "MesoPharm",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def adjust_data(world, lot_, **overrides: Any) -> dict[str, Any]:
    data = {"lot": lot_.pk, "clinic": world.acme_city.pk, "quantity": "-1", "reason": "Broken"}
    data.update(overrides)
    return data


def transfer_data(world, lot_, **overrides: Any) -> dict[str, Any]:
    data = {
        "lot": lot_.pk,
        "from_clinic": world.acme_city.pk,
        "to_clinic": world.acme_river.pk,
        "quantity": "3",
        "reason": "",
    }
    data.update(overrides)
    return data


def product_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Biotin serum",
        "kind": "retail",
        "manufacturer": "Meso Labs",
        "unit": "piece",
        "formulation": "",
        "low_stock_threshold": "3",
        "home_care_note": "Apply a few drops each evening.",
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def read_urls(stocked) -> list[str]:
    return [
        reverse("inventory_home"),
        reverse("inventory_home") + "?clinic=all",
        reverse("inventory_products"),
        reverse("inventory_lot", args=[stocked["lot"].pk]),
        reverse("inventory_lot_recall_csv", args=[stocked["lot"].pk]),
        reverse("inventory_recall_search") + "?q=a24",
    ]


def stock_urls() -> list[str]:
    return [
        reverse("inventory_receive"),
        reverse("inventory_adjust"),
        reverse("inventory_transfer"),
    ]


def admin_urls(stocked) -> list[str]:
    return [
        reverse("inventory_product_new"),
        reverse("inventory_product_edit", args=[stocked["product"].pk]),
    ]


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_all_staff_read_every_inventory_page(client_for, stocked, persona):
    client = client_for(persona)
    for url in read_urls(stocked):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", WRITERS)
def test_admins_practitioners_and_front_desk_receive_adjust_and_transfer(
    client_for, world, stocked, persona
):
    client = client_for(persona)
    for url in stock_urls():
        assert client.get(url).status_code == 200, url
    response = client.post(reverse("inventory_receive"), receive_data(world, stocked["product"]))
    lot = Lot.objects.get(lot_number="N123-4")
    assert response.status_code == 302
    assert response.url == reverse("inventory_lot", args=[lot.pk])
    response = client.post(reverse("inventory_adjust"), adjust_data(world, lot))
    assert response.url == reverse("inventory_lot", args=[lot.pk])
    response = client.post(reverse("inventory_transfer"), transfer_data(world, lot))
    assert response.url == reverse("inventory_lot", args=[lot.pk])
    assert dict(Stock.objects.filter(lot=lot).values_list("clinic_id", "quantity")) == {
        world.acme_city.pk: Decimal("1"),
        world.acme_river.pk: Decimal("3"),
    }
    actor = world.persona(persona)
    assert set(
        AuditEvent.objects.filter(
            actor=actor, object_type="inventory.lot", object_id=str(lot.pk)
        ).values_list("action", flat=True)
    ) == {"lot.receive", "stock.adjust", "stock.transfer"}
    shown = text_of(client.get(reverse("inventory_lot", args=[lot.pk])))
    assert "Moved 3 mL of lot N123-4 from Acme City to Acme Riverside." in shown


def test_the_auditor_gets_403_on_every_write_page_and_post(client_for, world, stocked):
    client = client_for("audrey")
    lot = stocked["lot"]
    with nothing_written():
        for url in [*stock_urls(), *admin_urls(stocked)]:
            assert client.get(url).status_code == 403, url
        posts = [
            (reverse("inventory_receive"), receive_data(world, stocked["product"])),
            (reverse("inventory_adjust"), adjust_data(world, lot)),
            (reverse("inventory_transfer"), transfer_data(world, lot)),
            (reverse("inventory_product_new"), product_data()),
            (reverse("inventory_lot_recall", args=[lot.pk]), {"reason": "Notice"}),
        ]
        for url, data in posts:
            assert client.post(url, data).status_code == 403, url


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_only_admins_add_and_edit_products_and_recall_lots(client_for, world, stocked, persona):
    client = client_for(persona)
    lot = stocked["lot"]
    with nothing_written():
        for url in admin_urls(stocked):
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("inventory_product_new"), product_data()).status_code == 403
        edit = reverse("inventory_product_edit", args=[stocked["product"].pk])
        assert client.post(edit, product_data()).status_code == 403
        recall = reverse("inventory_lot_recall", args=[lot.pk])
        assert client.post(recall, {"reason": "Notice"}).status_code == 403
    lot_page = client.get(reverse("inventory_lot", args=[lot.pk])).content.decode()
    assert reverse("inventory_lot_recall", args=[lot.pk]) not in lot_page
    assert "Only an admin can recall a lot." in lot_page
    listing = client.get(reverse("inventory_products")).content.decode()
    assert reverse("inventory_product_new") not in listing
    assert reverse("inventory_product_edit", args=[stocked["product"].pk]) not in listing


def test_the_auditor_sees_no_buttons_that_change_stock(client_for, stocked):
    client = client_for("audrey")
    for url in [reverse("inventory_home"), reverse("inventory_lot", args=[stocked["lot"].pk])]:
        content = client.get(url).content.decode()
        for write_url in stock_urls():
            assert write_url not in content, (url, write_url)


def test_another_organisation_gets_404_for_acmes_ids(client_for, world, stocked):
    client = client_for("oscar")
    lot, product = stocked["lot"], stocked["product"]
    with nothing_written():
        for url in [
            reverse("inventory_lot", args=[lot.pk]),
            reverse("inventory_lot_recall_csv", args=[lot.pk]),
            reverse("inventory_product_edit", args=[product.pk]),
            reverse("inventory_home") + f"?clinic={world.acme_city.pk}",
        ]:
            assert client.get(url).status_code == 404, url
        recall = reverse("inventory_lot_recall", args=[lot.pk])
        assert client.post(recall, {"reason": "Notice"}).status_code == 404
        edit = reverse("inventory_product_edit", args=[product.pk])
        assert client.post(edit, product_data()).status_code == 404
        # Acme's product and lot are not among Oscar's choices.
        data = receive_data(world, product, clinic=world.other_clinic.pk)
        response = client.post(reverse("inventory_receive"), data)
        assert response.status_code == 422
        assert "Choose a product in use." in field_errors(response, "product")
        response = client.post(
            reverse("inventory_adjust"), adjust_data(world, lot, clinic=world.other_clinic.pk)
        )
        assert "Choose one of your organisation's lots." in field_errors(response, "lot")
    # His own pages show none of Acme's stock.
    assert "A2417" not in client.get(reverse("inventory_home") + "?clinic=all").content.decode()
    found = text_of(client.get(reverse("inventory_recall_search") + "?q=A2417"))
    assert "No lot has a number like this." in found


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_people_are_sent_to_sign_in(client_for, stocked, persona):
    client = client_for(persona)
    for url in [*read_urls(stocked), *stock_urls(), *admin_urls(stocked)]:
        assert_login_redirect(client.get(url), url.split("?")[0])
    with nothing_written():
        url = reverse("inventory_lot_recall", args=[stocked["lot"].pk])
        assert_login_redirect(client.post(url, {"reason": "Notice"}), url)


def test_a_patients_portal_account_gets_403(client_for, stocked):
    client = client_for("pat")
    for url in [*read_urls(stocked), *stock_urls(), *admin_urls(stocked)]:
        assert client.get(url).status_code == 403, url


def test_unknown_ids_are_404_and_methods_are_checked(client_for, stocked):
    client = client_for("alice")
    assert client.get(reverse("inventory_lot", args=[999_999])).status_code == 404
    assert client.get(reverse("inventory_lot_recall_csv", args=[999_999])).status_code == 404
    assert client.get(reverse("inventory_product_edit", args=[999_999])).status_code == 404
    assert (
        client.post(reverse("inventory_lot_recall", args=[999_999]), {"reason": "x"}).status_code
        == 404
    )
    assert client.get(reverse("inventory_home") + "?clinic=999999").status_code == 404
    with nothing_written():
        assert (
            client.get(reverse("inventory_lot_recall", args=[stocked["lot"].pk])).status_code == 405
        )
        assert client.post(reverse("inventory_home")).status_code == 405
        assert client.post(reverse("inventory_lot", args=[stocked["lot"].pk])).status_code == 405


# --- what the pages show ------------------------------------------------------------------


def test_the_stock_page_shows_the_current_clinic_grouped_by_product(client_for, world, stocked):
    text = text_of(client_for("paul").get(reverse("inventory_home")))
    assert "Stock · Acme City" in text
    assert "Multivitamin cocktail vial" in text
    assert "A2417" in text and "10 mL" in text
    assert "E100" not in text.split("Alerts")[0]  # Riverside's lot is not in City's stock
    # Riverside's short-dated lot is not City's alert; City is low on nothing but E100 is not here.
    everywhere = text_of(client_for("paul").get(reverse("inventory_home") + "?clinic=all"))
    assert "Stock · all clinics" in everywhere
    assert "Acme Riverside" in everywhere and "E100" in everywhere
    river = text_of(
        client_for("paul").get(reverse("inventory_home") + f"?clinic={world.acme_river.pk}")
    )
    assert "Stock · Acme Riverside" in river
    assert "A2417" not in river


def test_the_alerts_say_in_plain_words_what_to_do(client_for, world, stocked):
    product = stocked["product"]
    expired = receive(world, product, "OLD1", "4", expires_on=today(world) - dt.timedelta(days=2))
    recalled = receive(world, product, "R1", "1")
    lot_recall(lot=recalled, reason="Notice", acting_user=world.alice)
    text = text_of(client_for("fiona").get(reverse("inventory_home") + "?clinic=all"))
    soon = stocked["soon"].expires_on
    assert (
        f"Multivitamin cocktail vial lot E100 expires on {soon:%-d %b %Y}: 2 mL at Acme "
        "Riverside. Use it first."
    ) in text
    assert (
        f"Multivitamin cocktail vial lot OLD1 expired on {expired.expires_on:%-d %b %Y}, and "
        "4 mL are still at Acme City. It can no longer be used"
    ) in text
    assert "lot R1 is recalled, and 1 mL are still at Acme City. Set them aside" in text
    # Riverside has only 2 usable mL, below the 5 to keep.
    assert (
        "Multivitamin cocktail vial: 2 mL usable at Acme Riverside, below the 5 mL to keep."
    ) in text
    assert "“Expires soon” means within 30 days." in text


def test_a_clinic_with_nothing_to_act_on_says_so(client_for, world):
    make_product(world)
    text = text_of(client_for("paul").get(reverse("inventory_home")))
    assert "Nothing to act on" in text
    assert "No stock at Acme City." in text


def test_the_lot_page_shows_stock_per_clinic_and_the_ledger(client_for, world, stocked):
    lot = stocked["lot"]
    stock_adjust(
        lot=lot,
        clinic=world.acme_city,
        delta=Decimal("-2"),
        reason="Vial broken",
        acting_user=world.fiona,
    )
    text = text_of(client_for("audrey").get(reverse("inventory_lot", args=[lot.pk])))
    assert "Multivitamin cocktail vial · lot A2417" in text
    assert "Acme City 8 mL" in text
    assert "Adjusted -2 mL 8 mL Fiona Frontdesk Vial broken" in text
    assert "Received +10 mL 10 mL Paul Practitioner Supplier: MesoPharm" in text


def test_recalling_a_lot_shows_the_banner_and_blocks_further_moves(client_for, world, stocked):
    lot = stocked["lot"]
    client = client_for("alice")
    url = reverse("inventory_lot_recall", args=[lot.pk])
    response = client.post(url, {"reason": "Manufacturer notice MN-2026-14"}, follow=True)
    text = text_of(response)
    assert "Lot A2417 is recalled: it can no longer be charted, received or moved." in text
    assert "Recalled on" in text and "by Alice Admin." in text
    assert "Reason: Manufacturer notice MN-2026-14" in text
    assert "Recall this lot" not in text
    lot.refresh_from_db()
    assert lot.is_recalled
    # Receiving it again is refused on the form; it is no longer offered for transfer.
    with nothing_written():
        response = client.post(
            reverse("inventory_receive"),
            receive_data(
                world, lot.product, lot_number="A2417", expires_on=lot.expires_on.isoformat()
            ),
        )
        assert response.status_code == 422
        assert "Lot A2417 is recalled; it cannot be received." in field_errors(
            response, "lot_number"
        )
        response = client.post(reverse("inventory_transfer"), transfer_data(world, lot))
        assert "Choose one of your organisation's lots." in field_errors(response, "lot")
        assert client.post(url, {"reason": "Again"}).status_code == 422


def test_the_recall_search_finds_lots_by_part_of_their_number(client_for, world, stocked):
    other = receive(world, make_product(world, "Peptide complex"), "XA24-9")
    client = client_for("fiona")
    text = text_of(client.get(reverse("inventory_recall_search") + "?q=a24"))
    assert "A2417" in text and "XA24-9" in text and "Peptide complex" in text
    assert "E100" not in text
    response = client.get(reverse("inventory_recall_search") + "?q=A2417")
    assert reverse("inventory_lot", args=[stocked["lot"].pk]) in response.content.decode()
    assert reverse("inventory_lot", args=[other.pk]) not in response.content.decode()
    response = client.get(reverse("inventory_recall_search") + "?q=%27%3B--")
    assert response.status_code == 422
    assert "this one contains" in field_errors(response, "q")
    empty = text_of(client.get(reverse("inventory_recall_search") + "?q=ZZZ"))
    assert "No lot has a number like this." in empty


def test_the_products_page_lists_products_and_an_admin_adds_and_edits_one(client_for, world):
    client = client_for("alice")
    formulation = Formulation.objects.get(organisation=world.acme, name="Multivitamin cocktail")
    response = client.post(
        reverse("inventory_product_new"),
        product_data(kind="treatment", unit="ml", formulation=formulation.pk),
    )
    assert response.status_code == 302
    product = Product.objects.get(organisation=world.acme, name="Biotin serum")
    assert (product.kind, product.formulation, product.low_stock_threshold) == (
        "treatment",
        formulation,
        Decimal("3"),
    )
    assert product.is_active
    edit = reverse("inventory_product_edit", args=[product.pk])
    form = client.get(edit).context["form"]
    assert form["low_stock_threshold"].value() == "3"
    response = client.post(edit, product_data(kind="treatment", unit="ml", is_active=None))
    product.refresh_from_db()
    assert not product.is_active
    event = AuditEvent.objects.filter(action="product.update").get()
    assert event.changes["is_active"] == {"old": True, "new": False}
    text = text_of(client_for("paul").get(reverse("inventory_products")))
    assert "Biotin serum Apply a few drops each evening." in text
    assert "Out of use" in text


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lot_number": "AB 12"}, "lot_number", "this one contains a space"),
        ({"lot_number": ""}, "lot_number", "Lot number is required."),
        ({"quantity": "0"}, "quantity", "A quantity of zero changes nothing."),
        ({"quantity": "-2"}, "quantity", "The quantity must be more than zero."),
        ({"quantity": "lots"}, "quantity", "Enter a number"),
        ({"quantity": "1.234"}, "quantity", "Use at most two decimals."),
        ({"quantity": "1e30"}, "quantity", "more than the 100000 allowed"),
        ({"expires_on": "2020-01-01"}, "expires_on", "is already past"),
        ({"expires_on": "31/12/2030"}, "expires_on", "Enter the expiry date as YYYY-MM-DD."),
        ({"product": "999999"}, "product", "Choose a product in use."),
        ({"clinic": "999999"}, "clinic", "Choose one of your organisation's clinics."),
        ({"clinic": None}, "clinic", "Received at is required."),
        ({"supplier": "Bad\x01name"}, "supplier", "control characters"),
    ],
)
def test_receiving_bad_input_is_explained_and_writes_nothing(
    client_for, world, stocked, overrides, field, message
):
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("inventory_receive"), receive_data(world, stocked["product"], **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field)
    assert "Please correct the fields marked below." in response.content.decode()


def test_receiving_a_product_out_of_use_or_another_expiry_is_refused(client_for, world, stocked):
    client = client_for("fiona")
    lot = stocked["lot"]
    with nothing_written():
        response = client.post(
            reverse("inventory_receive"),
            receive_data(world, lot.product, lot_number="a2417"),
        )
        assert response.status_code == 422
        assert "was received before with expiry" in field_errors(response, "expires_on")
    retired = make_product(world, "Retired vial")
    retired.is_active = False
    retired.save()
    with nothing_written():
        response = client.post(reverse("inventory_receive"), receive_data(world, retired))
        assert "Choose a product in use." in field_errors(response, "product")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": "  "}, "reason", "Say why the stock is adjusted."),
        ({"quantity": "-11"}, "quantity", "Only 10.00 mL of Multivitamin cocktail vial lot A2417"),
        ({"quantity": "0"}, "quantity", "A quantity of zero changes nothing."),
        ({"lot": "999999"}, "lot", "Choose one of your organisation's lots."),
    ],
)
def test_adjusting_bad_input_is_explained_and_writes_nothing(
    client_for, world, stocked, overrides, field, message
):
    client = client_for("paul")
    with nothing_written():
        response = client.post(
            reverse("inventory_adjust"), adjust_data(world, stocked["lot"], **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field) + page_text(response)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"to_clinic": "CITY"}, "to_clinic", "Choose two different clinics."),
        ({"quantity": "10.5"}, "quantity", "Only 10.00 mL"),
        ({"quantity": "-1"}, "quantity", "The quantity must be more than zero."),
        ({"from_clinic": "RIVER", "to_clinic": "CITY"}, "quantity", "Acme Riverside holds none"),
    ],
)
def test_transferring_bad_input_is_explained_and_writes_nothing(
    client_for, world, stocked, overrides, field, message
):
    names = {"CITY": world.acme_city.pk, "RIVER": world.acme_river.pk}
    overrides = {k: names.get(v, v) for k, v in overrides.items()}
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("inventory_transfer"), transfer_data(world, stocked["lot"], **overrides)
        )
    assert response.status_code == 422
    assert message in field_errors(response, field)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "Multivitamin cocktail vial"}, "name", "exists already"),
        ({"name": "  "}, "name", "Name is required."),
        ({"low_stock_threshold": "-1"}, "low_stock_threshold", "cannot be negative"),
        ({"unit": "litre"}, "unit", "Select a valid choice"),
        ({"home_care_note": "x" * 301}, "home_care_note", "at most 300 characters"),
    ],
)
def test_product_bad_input_is_explained_and_writes_nothing(
    client_for, world, stocked, overrides, field, message
):
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("inventory_product_new"), product_data(**overrides))
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_another_organisations_formulation_cannot_be_linked(client_for, world):
    theirs = Formulation.objects.get(organisation=world.other, name="Lipolytic solution")
    client = client_for("alice")
    with nothing_written():
        response = client.post(
            reverse("inventory_product_new"), product_data(formulation=theirs.pk)
        )
    assert "Choose a formulation of your organisation's library." in field_errors(
        response, "formulation"
    )


def test_the_unit_of_a_product_with_stock_cannot_change(client_for, stocked):
    product = stocked["product"]
    client = client_for("alice")
    with nothing_written():
        response = client.post(
            reverse("inventory_product_edit", args=[product.pk]),
            product_data(name=product.name, unit="piece"),
        )
    assert response.status_code == 422
    assert "its unit cannot change" in field_errors(response, "unit")


def test_a_recall_needs_a_reason(client_for, stocked):
    lot = stocked["lot"]
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("inventory_lot_recall", args=[lot.pk]), {"reason": "   "})
    assert response.status_code == 422
    assert "Say why the lot is recalled." in field_errors(response, "reason")


# --- queries -------------------------------------------------------------------------------


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def add_stock(world, count: int, start: int) -> None:
    for n in range(start, start + count):
        product = make_product(world, f"Product {n:03d}", threshold="50")
        receive(world, product, f"L{n:03d}", "10", expires_in_days=n % 40)
        receive(world, product, f"M{n:03d}", "5", clinic=world.acme_river, expires_in_days=400)
        if n % 3 == 0:
            lot_recall(
                lot=Lot.objects.get(lot_number=f"M{n:03d}"), reason="x", acting_user=world.alice
            )


@pytest.mark.parametrize("suffix", ["", "?clinic=all"])
def test_the_stock_page_costs_the_same_with_2_and_20_products(client_for, world, suffix):
    client = client_for("paul")
    url = reverse("inventory_home") + suffix
    add_stock(world, 2, 0)
    client.get(url)
    small = queries_for(client, url)
    add_stock(world, 18, 2)
    assert queries_for(client, url) == small


def test_the_products_page_costs_the_same_with_2_and_20_products(client_for, world):
    client = client_for("alice")
    url = reverse("inventory_products")
    add_stock(world, 2, 0)
    small = queries_for(client, url)
    add_stock(world, 18, 2)
    assert queries_for(client, url) == small


def test_the_lot_page_costs_the_same_with_a_short_and_a_long_history(client_for, world):
    client = client_for("paul")
    product = make_product(world)
    lot = receive(world, product, "A1", "100")
    url = reverse("inventory_lot", args=[lot.pk])

    def history(n: int) -> None:
        for i in range(n):
            stock_adjust(
                lot=lot,
                clinic=world.acme_city,
                delta=Decimal("-1"),
                reason=f"n{i}",
                acting_user=world.paul,
            )
            patient = make_patient(world.acme, world.fiona, family_name=f"Given{n}x{i}")
            make_session(world, patient, lines=[(lot, "0.5", "vertex"), (lot, "0.5", "crown")])

    history(1)
    small = queries_for(client, url)
    history(12)
    assert queries_for(client, url) == small


def test_the_forms_cost_the_same_with_2_and_20_lots(client_for, world):
    client = client_for("paul")
    add_stock(world, 2, 0)
    urls = [*stock_urls(), reverse("inventory_recall_search") + "?q=L0"]
    small = [queries_for(client, url) for url in urls]
    add_stock(world, 18, 2)
    assert [queries_for(client, url) for url in urls] == small


def test_the_lot_pages_links_preselect_the_lot(client_for, world, stocked):
    lot = stocked["lot"]
    client = client_for("fiona")
    form = client.get(reverse("inventory_receive") + f"?lot={lot.pk}").context["form"]
    assert (form["product"].value(), form["lot_number"].value()) == (lot.product_id, "A2417")
    assert form["expires_on"].value() == lot.expires_on
    assert form["clinic"].value() == world.acme_river.pk  # Fiona's clinic
    for name in ["inventory_adjust", "inventory_transfer"]:
        form = client.get(reverse(name) + f"?lot={lot.pk}").context["form"]
        assert form["lot"].value() == lot.pk
    # Another organisation's or an unknown lot preselects nothing.
    theirs = client_for("oscar").get(reverse("inventory_adjust") + f"?lot={lot.pk}")
    assert theirs.context["form"]["lot"].value() is None
