"""/api/v1/sessions: open a visit's chart, change the draft, sign it and amend it; every
staff role reads, admins and practitioners chart, the front desk and the auditor change
nothing, another organisation sees nothing.

The clock is Wednesday 2 December 2026, 09:30 in London, half an hour into the first
session of Rita's hair course (``todays_appointment``); Acme City holds Hair cocktail lots
HC-2401 (20 mL) and HC-2402 (5 mL) (tests/treatments/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.models import ApiToken
from mesoclinic.accounts.services import api_token_revoke
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import ProductKind, ProductUnit, Stock, StockMovement
from mesoclinic.inventory.services import lot_recall, product_create
from mesoclinic.patients.services import consent_withdraw
from mesoclinic.scheduling.models import Appointment, AppointmentStatus, CourseSession
from mesoclinic.treatments.models import AftercareSheet, Injection, TreatmentSession
from mesoclinic.treatments.services import (
    SessionContent,
    session_amend,
    session_open,
    session_sign,
    session_update,
)
from tests.api.helpers import ApiClient, field_messages, problem
from tests.conftest import STAFF
from tests.treatments.conftest import (
    ContentMaker,
    Stocked,
    course_appointment,
    make_content,
    make_stocked,
    make_todays_appointment,
)

SESSIONS = "/api/v1/sessions"
CHARTERS = ["alice", "paul"]
READ_ONLY = ["fiona", "audrey"]
D = Decimal


# The charting fixtures of tests/treatments/conftest.py, for this directory.
@pytest.fixture
def stocked(world) -> Stocked:
    return make_stocked(world)


@pytest.fixture
def todays_appointment(calendar, ready_patient, fixed_clock) -> Appointment:
    return make_todays_appointment(calendar, ready_patient, fixed_clock)


@pytest.fixture
def chart_content(stocked) -> ContentMaker:
    return lambda **overrides: make_content(stocked, **overrides)


def session_url(session: TreatmentSession | int, suffix: str = "") -> str:
    pk = session if isinstance(session, int) else session.pk
    return f"{SESSIONS}/{pk}{suffix}"


def line(stocked, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "zone": "vertex",
        "technique": "nappage",
        "volume_ml": "1.0",
        "product_id": stocked.product.pk,
        "lot_id": stocked.lot_a.pk,
        "depth_mm": 2,
        "needle_gauge": 30,
        "needle_length_mm": "4",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def content(stocked, *, lines: list[dict[str, Any]] | None = None, **overrides: Any) -> dict:
    """The routine chart: vertex 1.0, mid-scalp 1.0, frontal hairline 0.5 mL of HC-2401."""
    body: dict[str, Any] = {
        "skin_preparation": "chlorhexidine",
        "anaesthesia": "none",
        "pain_score": 2,
        "reactions": ["erythema"],
        "notes": "Tolerated well",
        "lines": lines
        if lines is not None
        else [
            line(stocked, zone="vertex", volume_ml="1.0"),
            line(stocked, zone="mid_scalp", volume_ml=1.0),
            line(stocked, zone="frontal_hairline", volume_ml="0.50"),
        ],
    }
    body.update(overrides)
    return body


def draft(world, appointment) -> TreatmentSession:
    return session_open(appointment=appointment, acting_user=world.paul)


def charted(world, appointment, chart: SessionContent) -> TreatmentSession:
    return session_update(session=draft(world, appointment), content=chart, acting_user=world.paul)


def signed(world, appointment, chart: SessionContent) -> TreatmentSession:
    return session_sign(session=charted(world, appointment, chart), acting_user=world.paul)


def _state() -> tuple[Any, ...]:
    return (
        list(TreatmentSession.objects.order_by("pk").values()),
        list(Injection.objects.order_by("pk").values()),
        list(Stock.objects.order_by("pk").values("pk", "quantity")),
        StockMovement.objects.count(),
        list(Appointment.objects.order_by("pk").values("pk", "status")),
        list(CourseSession.objects.order_by("pk").values("pk", "status")),
        AftercareSheet.objects.count(),
        AuditEvent.objects.count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    """Assert the block writes no chart, line, stock, appointment, sheet or audit event."""
    before = _state()
    yield
    assert _state() == before, "something was written"


# --- Opening ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", CHARTERS)
def test_practitioners_and_admins_open_a_visits_chart_once(
    api_for, world, calendar, stocked, todays_appointment, persona
):
    client = api_for(persona)
    response = client.post(SESSIONS, {"appointment_id": todays_appointment.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    session = TreatmentSession.objects.get()
    assert body["id"] == session.pk
    assert session.created_by == world.persona(persona)
    assert (body["status"], body["revision"], body["current"]) == ("draft", 1, True)
    assert body["appointment_id"] == todays_appointment.pk
    assert body["course_session_id"] == todays_appointment.course_session_id
    assert body["performed_on"] == "2026-12-02"
    assert body["protocol"]["id"] == calendar.hair.pk
    assert body["protocol"]["area"] == "scalp"
    assert body["patient"]["given_name"] == "Rita"
    assert body["lines"] == [] and body["totals"] == []
    assert [c["code"] for c in body["prechecks"]] == ["consent", "screening", "adverse_events"]
    assert all(c["ok"] for c in body["prechecks"])
    assert body["revisions"] == [
        {
            "id": session.pk,
            "revision": 1,
            "status": "draft",
            "current": True,
            "signed_at": None,
            "signed_by": None,
            "amendment_reason": "",
        }
    ]

    again = client.post(SESSIONS, {"appointment_id": todays_appointment.pk})
    assert again.status_code == 200
    assert again.json()["id"] == session.pk
    assert TreatmentSession.objects.count() == 1
    assert AuditEvent.objects.filter(action="session.open").count() == 1


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_front_desk_and_the_auditor_open_no_chart(api_for, world, todays_appointment, persona):
    client = api_for(persona)
    with nothing_written():
        body = problem(client.post(SESSIONS, {"appointment_id": todays_appointment.pk}), 403)
    assert body["detail"] in {
        "Your role is read-only.",
        "Only practitioners and admins chart sessions.",
    }


@pytest.mark.parametrize(
    ("body_in", "field", "message"),
    [
        ({}, "appointment_id", "This field is required."),
        ({"appointment_id": "12"}, "appointment_id", "Input should be a valid integer"),
        (
            {"appointment_id": 999_999},
            "appointment_id",
            "No appointment with this id in your organisation.",
        ),
        ({"appointment_id": 1, "colour": "blue"}, "colour", "Unknown field."),
    ],
    ids=["missing", "text", "unknown", "unknown-field"],
)
def test_opening_needs_an_appointment_of_the_organisation(
    api_for, world, todays_appointment, body_in, field, message
):
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(SESSIONS, body_in), 422)
    assert field_messages(body, field)[0].startswith(message)


def test_a_future_or_cancelled_appointment_opens_no_chart(api_for, world, todays_appointment):
    client = api_for("paul")
    later = course_appointment(todays_appointment.course_session.course, 2)
    with nothing_written():
        body = problem(client.post(SESSIONS, {"appointment_id": later.pk}), 422)
    assert body["detail"] == "A session can be charted from the day of its appointment."
    Appointment.objects.filter(pk=todays_appointment.pk).update(status=AppointmentStatus.CANCELLED)
    with nothing_written():
        body = problem(client.post(SESSIONS, {"appointment_id": todays_appointment.pk}), 409)
    assert body["detail"] == "This appointment is cancelled; there is no session to chart."


def test_another_organisation_opens_nothing_of_acmes(api_for, world, todays_appointment):
    client = api_for("oscar")
    with nothing_written():
        body = problem(client.post(SESSIONS, {"appointment_id": todays_appointment.pk}), 422)
    assert field_messages(body, "appointment_id") == [
        "No appointment with this id in your organisation."
    ]


# --- Reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_read_a_session_and_the_read_is_audited(
    api_for, world, stocked, todays_appointment, chart_content, persona
):
    session = charted(world, todays_appointment, chart_content())
    response = api_for(persona).get(session_url(session))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(x["zone"], x["zone_label"], x["volume_ml"]) for x in body["lines"]] == [
        ("vertex", "Vertex (crown)", "1.00"),
        ("mid_scalp", "Mid-scalp", "1.00"),
        ("frontal_hairline", "Frontal hairline", "0.50"),
    ]
    first = body["lines"][0]
    assert (first["technique"], first["depth_mm"], first["needle_gauge"]) == ("nappage", "2.0", 30)
    assert first["lot"] == {
        "id": stocked.lot_a.pk,
        "lot_number": "HC-2401",
        "expires_on": "2027-06-30",
        "recalled": False,
    }
    assert body["totals"] == [
        {
            "product": {"id": stocked.product.pk, "name": "Hair cocktail", "unit": "ml"},
            "volume_ml": "2.50",
        }
    ]
    assert body["warnings"] == []
    event = AuditEvent.objects.filter(action="session.read").latest("pk")
    assert (event.actor, event.patient, event.object_id) == (
        world.persona(persona),
        todays_appointment.patient,
        str(session.pk),
    )


def test_a_session_shows_its_warnings_and_failing_prechecks(
    api_for, world, stocked, todays_appointment, chart_content
):
    session = session_update(
        session=draft(world, todays_appointment),
        content=chart_content(depth_mm=D("6"), needle_length_mm=D("13")),
        acting_user=world.paul,
    )
    consent_withdraw(
        consent=todays_appointment.patient.consents.get(),
        reason="Changed her mind",
        acting_user=world.paul,
    )
    body = api_for("fiona").get(session_url(session)).json()
    assert len(body["warnings"]) == 3 * 2  # per zone: above 4 mm advised, deep for nappage
    assert body["warnings"][0].startswith("Vertex (crown): Depth 6 mm")
    consent = next(c for c in body["prechecks"] if c["code"] == "consent")
    assert consent["ok"] is False
    assert consent["message"].startswith("The patient has not signed the current consent")


def test_another_organisation_gets_404_for_a_session(api_for, world, todays_appointment):
    session = draft(world, todays_appointment)
    client = api_for("oscar")
    with nothing_written():
        problem(client.get(session_url(session)), 404)


@pytest.mark.parametrize("persona", STAFF)
def test_staff_list_a_patients_sessions_and_the_read_is_audited(
    api_for, world, stocked, todays_appointment, chart_content, persona
):
    session = signed(world, todays_appointment, chart_content())
    patient = todays_appointment.patient
    response = api_for(persona).get(SESSIONS, {"patient_id": patient.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (1, 50, 0)
    [item] = body["items"]
    assert (item["id"], item["status"], item["current"]) == (session.pk, "signed", True)
    assert item["totals"][0]["volume_ml"] == "2.50"
    assert "lines" not in item
    event = AuditEvent.objects.filter(action="patient.read").latest("pk")
    assert (event.actor, event.patient) == (world.persona(persona), patient)


def test_the_list_filters_by_visit_status_and_revision(
    api_for, world, stocked, todays_appointment, chart_content
):
    original = signed(world, todays_appointment, chart_content())
    revision = session_amend(
        session=original, content=chart_content(), reason="Typo", acting_user=world.paul
    )
    client = api_for("paul")

    def ids(**params: Any) -> list[int]:
        response = client.get(SESSIONS, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    visit = {"appointment_id": todays_appointment.pk}
    assert ids(**visit) == [revision.pk, original.pk]
    assert ids(**visit, current="true") == [revision.pk]
    assert ids(**visit, current="false") == [original.pk]
    assert ids(**visit, status="draft") == []
    assert ids(**visit, status="signed", limit=1, offset=1) == [original.pk]
    event = AuditEvent.objects.filter(action="patient.read").latest("pk")
    assert event.patient == todays_appointment.patient


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "patient_id", "Give a patient_id or an appointment_id."),
        ({"patient_id": 999_999}, "patient_id", "No patient with this id in your organisation."),
        (
            {"appointment_id": 999_999},
            "appointment_id",
            "No appointment with this id in your organisation.",
        ),
        ({"patient_id": 1, "status": "final"}, "status", "Use one of draft, signed."),
        ({"patient_id": 1, "limit": 0}, "limit", "Input should be greater than or equal to 1"),
    ],
    ids=["neither", "unknown-patient", "unknown-appointment", "bad-status", "zero-limit"],
)
def test_a_list_needs_a_patient_or_a_visit_of_the_organisation(
    api_for, world, params, field, message
):
    body = problem(api_for("paul").get(SESSIONS, params), 422)
    assert field_messages(body, field)[0].startswith(message)


def test_another_organisation_lists_nothing_of_acmes(api_for, world, todays_appointment):
    draft(world, todays_appointment)
    client = api_for("oscar")
    with nothing_written():
        for params in (
            {"patient_id": todays_appointment.patient_id},
            {"appointment_id": todays_appointment.pk},
        ):
            problem(client.get(SESSIONS, params), 422)


# --- Changing a draft -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", CHARTERS)
def test_charters_replace_a_drafts_content(api_for, world, stocked, todays_appointment, persona):
    session = draft(world, todays_appointment)
    body_in = content(
        stocked,
        anaesthesia="topical",
        home_care_product_ids=[stocked.retail.pk],
        reactions=["erythema", "papules", "erythema"],
    )
    response = api_for(persona).patch(session_url(session), body_in)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [x["zone"] for x in body["lines"]] == ["vertex", "mid_scalp", "frontal_hairline"]
    assert body["totals"][0]["volume_ml"] == "2.50"
    assert (body["pain_score"], body["notes"], body["anaesthesia"]) == (
        2,
        "Tolerated well",
        "topical",
    )
    assert body["reactions"] == ["erythema", "papules"]
    assert body["home_care_products"] == [
        {"id": stocked.retail.pk, "name": "Gentle shampoo", "unit": "piece"}
    ]
    event = AuditEvent.objects.filter(action="session.update").latest("pk")
    assert event.actor == world.persona(persona)

    # The content is replaced whole: one line left, the notes gone.
    response = api_for(persona).patch(
        session_url(session), {"lines": [line(stocked, zone="occipital")]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [x["zone"] for x in body["lines"]] == ["occipital"]
    assert (body["notes"], body["pain_score"], body["reactions"]) == ("", None, [])
    assert Injection.objects.filter(session=session).count() == 1


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_front_desk_and_the_auditor_change_no_draft(
    api_for, world, stocked, todays_appointment, persona
):
    session = draft(world, todays_appointment)
    client = api_for(persona)
    with nothing_written():
        problem(client.patch(session_url(session), content(stocked)), 403)


def test_another_organisation_gets_404_for_a_draft(api_for, world, stocked, todays_appointment):
    session = draft(world, todays_appointment)
    client = api_for("oscar")
    with nothing_written():
        problem(client.patch(session_url(session), {"lines": []}), 404)


def _foreign_product_id(world, stocked) -> int:
    return product_create(
        organisation=world.other,
        name="Their cocktail",
        kind=ProductKind.TREATMENT,
        unit=ProductUnit.ML,
        acting_user=world.oscar,
    ).pk


def _other_product_lot_id(world, stocked) -> int:
    from mesoclinic.inventory.services import lot_receive

    other = product_create(
        organisation=world.acme,
        name="Peptide blend",
        kind=ProductKind.TREATMENT,
        unit=ProductUnit.ML,
        acting_user=world.alice,
    )
    return lot_receive(
        product=other,
        clinic=world.acme_city,
        lot_number="PB-1",
        expires_on=dt.date(2027, 3, 31),
        quantity=D("5"),
        acting_user=world.alice,
    ).pk


def _bad_line(**changes: Any):
    def make(world, stocked) -> dict[str, Any]:
        values = {
            key: (value(world, stocked) if callable(value) else value)
            for key, value in changes.items()
        }
        return {"lines": [line(stocked, zone="mid_scalp"), line(stocked, **values)]}

    return make


def _body(**changes: Any):
    def make(world, stocked) -> dict[str, Any]:
        values = {
            key: (value(world, stocked) if callable(value) else value)
            for key, value in changes.items()
        }
        return content(stocked, **values)

    return make


BAD_CONTENT = [
    pytest.param(_bad_line(technique="jab"), "lines.1.technique", "Use one of nappage", id="tech"),
    pytest.param(
        _bad_line(volume_ml=-1), "lines.1.volume_ml", "Input should be greater than", id="vol-neg"
    ),
    pytest.param(
        _bad_line(volume_ml="a lot"),
        "lines.1.volume_ml",
        "Input should be a valid decimal",
        id="vol-text",
    ),
    pytest.param(
        _bad_line(volume_ml="1.234"),
        "lines.1.volume_ml",
        "Decimal input should have no more than 2 decimal places",
        id="vol-places",
    ),
    pytest.param(_bad_line(volume_ml=True), "lines.1.volume_ml", "Give a number", id="vol-bool"),
    pytest.param(
        _bad_line(volume_ml="25"),
        "lines.1.volume_ml",
        "Volume 25 mL in one zone is more than the 20 mL allowed for the scalp.",
        id="vol-above-limit",
    ),
    pytest.param(
        _bad_line(depth_mm=14, needle_length_mm=13),
        "lines.1.depth_mm",
        "Depth 14 mm is more than the 13 mm allowed for the scalp.",
        id="depth-above-limit",
    ),
    pytest.param(
        _bad_line(depth_mm="2.25"), "lines.1.depth_mm", "Decimal input", id="depth-places"
    ),
    pytest.param(
        _bad_line(needle_gauge=30.5),
        "lines.1.needle_gauge",
        "Input should be a valid integer",
        id="gauge-float",
    ),
    pytest.param(
        _bad_line(zone="Vertex!"), "lines.1.zone", "String should match pattern", id="zone-shape"
    ),
    pytest.param(
        _bad_line(zone="left_ear"),
        "lines.1.zone",
        "left_ear is not a zone of the scalp map.",
        id="zone-not-on-map",
    ),
    pytest.param(
        _bad_line(product_id=999_999),
        "lines.1.product_id",
        "No product with this id in your organisation.",
        id="unknown-product",
    ),
    pytest.param(
        _bad_line(product_id=_foreign_product_id, lot_id=None),
        "lines.1.product_id",
        "No product with this id in your organisation.",
        id="other-organisations-product",
    ),
    pytest.param(
        _bad_line(product_id=lambda world, stocked: stocked.retail.pk, lot_id=None),
        "lines.1.product_id",
        "Gentle shampoo is not a treatment product; it cannot be injected.",
        id="retail-product",
    ),
    pytest.param(
        _bad_line(lot_id=_other_product_lot_id),
        "lines.1.lot_id",
        "Lot PB-1 is not a lot of Hair cocktail.",
        id="lot-of-another-product",
    ),
    pytest.param(
        _bad_line(lot_id=999_999),
        "lines.1.lot_id",
        "No lot with this id in your organisation.",
        id="unknown-lot",
    ),
    pytest.param(
        _bad_line(product_id="1"),
        "lines.1.product_id",
        "Input should be a valid integer",
        id="id-text",
    ),
    pytest.param(
        _body(pain_score=11), "pain_score", "Input should be less than or equal to 10", id="pain"
    ),
    pytest.param(_body(reactions=["sneezing"]), "reactions", "Use one of erythema", id="reaction"),
    pytest.param(_body(skin_preparation="soap"), "skin_preparation", "Use one of", id="skin"),
    pytest.param(_body(anaesthesia="general"), "anaesthesia", "Use one of", id="anaesthesia"),
    pytest.param(
        _body(anaesthesia_product_id=999_999),
        "anaesthesia_product_id",
        "No product with this id in your organisation.",
        id="anaesthesia-product",
    ),
    pytest.param(
        _body(home_care_product_ids=[lambda w, s: s.product.pk]),
        "home_care_product_ids",
        "Home-care recommendations must be this clinic's retail products.",
        id="home-care-not-retail",
    ),
    pytest.param(
        _body(notes="a\x00b"), "notes", "Notes contains control characters", id="notes-nul"
    ),
    pytest.param(_body(colour="blue"), "colour", "Unknown field.", id="unknown-field"),
    pytest.param(
        lambda world, stocked: {"notes": "x"}, "lines", "This field is required.", id="no-lines"
    ),
    pytest.param(
        lambda world, stocked: {"lines": [line(stocked)] * 101},
        "lines",
        "List should have at most 100 items",
        id="too-many-lines",
    ),
]


@pytest.mark.parametrize(("make", "field", "message"), BAD_CONTENT)
def test_bad_content_is_refused_with_a_field_message_and_nothing_written(
    api_for, world, stocked, todays_appointment, chart_content, make, field, message
):
    session = charted(world, todays_appointment, chart_content())
    body_in = make(world, stocked)
    if "home_care_product_ids" in body_in:
        body_in["home_care_product_ids"] = [
            value(world, stocked) if callable(value) else value
            for value in body_in["home_care_product_ids"]
        ]
    client = api_for("paul")
    with nothing_written():
        body = problem(client.patch(session_url(session), body_in), 422)
    messages = field_messages(body, field)
    assert messages and messages[0].startswith(message), body


def test_a_signed_session_is_not_patched(
    api_for, world, stocked, todays_appointment, chart_content
):
    session = signed(world, todays_appointment, chart_content())
    client = api_for("paul")
    with nothing_written():
        body = problem(client.patch(session_url(session), content(stocked)), 409)
    assert body["detail"] == "This session is signed; correct it with an amendment."


# --- Signing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", CHARTERS)
def test_charters_sign_a_draft(
    api_for,
    world,
    stocked,
    todays_appointment,
    chart_content,
    django_capture_on_commit_callbacks,
    persona,
):
    session = charted(world, todays_appointment, chart_content())
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(persona).post(session_url(session, "/sign"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "signed"
    assert body["signed_by"]["id"] == world.persona(persona).pk
    assert body["signed_at"].startswith("2026-12-02T09:30")
    assert all(c["ok"] for c in body["prechecks"])
    assert body["aftercare_sheet_id"] == AftercareSheet.objects.get(session=session).pk
    assert Stock.objects.get(lot=stocked.lot_a).quantity == D("17.50")
    todays_appointment.refresh_from_db()
    assert todays_appointment.status == AppointmentStatus.COMPLETED
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_front_desk_and_the_auditor_sign_nothing(
    api_for, world, stocked, todays_appointment, chart_content, persona
):
    session = charted(world, todays_appointment, chart_content())
    client = api_for(persona)
    with nothing_written():
        problem(client.post(session_url(session, "/sign")), 403)


def test_another_organisation_gets_404_for_signing(
    api_for, world, stocked, todays_appointment, chart_content
):
    session = charted(world, todays_appointment, chart_content())
    client = api_for("oscar")
    with nothing_written():
        problem(client.post(session_url(session, "/sign")), 404)


def test_signing_twice_is_a_conflict(api_for, world, stocked, todays_appointment, chart_content):
    session = signed(world, todays_appointment, chart_content())
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(session_url(session, "/sign")), 409)
    assert body["detail"] == "This session is signed already."


def test_a_failing_precheck_is_a_422_with_its_reason(
    api_for, world, stocked, todays_appointment, chart_content
):
    session = charted(world, todays_appointment, chart_content())
    consent_withdraw(
        consent=todays_appointment.patient.consents.get(),
        reason="Changed her mind",
        acting_user=world.paul,
    )
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(session_url(session, "/sign")), 422)
    [message] = field_messages(body, "prechecks")
    assert message.startswith("Cannot sign: The patient has not signed the current consent")


def test_a_recalled_lot_is_a_422_and_too_little_stock_a_409(
    api_for, world, stocked, todays_appointment, chart_content
):
    client = api_for("paul")
    session = charted(world, todays_appointment, chart_content())
    lot_recall(lot=stocked.lot_a, reason="Supplier notice", acting_user=world.alice)
    with nothing_written():
        body = problem(client.post(session_url(session, "/sign")), 422)
    assert field_messages(body, "lot") == [
        "Lot HC-2401 of Hair cocktail is recalled and cannot be used."
    ]
    session_update(
        session=session,
        content=chart_content(zones=(("vertex", D("6")),), lot="b"),
        acting_user=world.paul,
    )
    with nothing_written():
        body = problem(client.post(session_url(session, "/sign")), 409)
    assert body["detail"].startswith("Only 5.00 mL of Hair cocktail lot HC-2402 are in stock")


# --- Amending ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", CHARTERS)
def test_charters_amend_a_signed_session(
    api_for, world, stocked, todays_appointment, chart_content, persona
):
    original = signed(world, todays_appointment, chart_content())
    body_in = {
        "reason": "Vertex volume misread",
        "content": content(
            stocked,
            lines=[
                line(stocked, zone="vertex", volume_ml="1.5"),
                line(stocked, zone="mid_scalp", volume_ml="1.0"),
                line(stocked, zone="frontal_hairline", volume_ml="0.5"),
            ],
        ),
    }
    response = api_for(persona).post(session_url(original, "/amend"), body_in)
    assert response.status_code == 201, response.content
    body = response.json()
    revision = TreatmentSession.objects.get(pk=body["id"])
    assert (body["revision"], body["status"], body["current"]) == (2, "signed", True)
    assert body["supersedes_id"] == original.pk and body["superseded_by_id"] is None
    assert body["amendment_reason"] == "Vertex volume misread"
    assert body["totals"][0]["volume_ml"] == "3.00"
    assert [(r["id"], r["current"]) for r in body["revisions"]] == [
        (original.pk, False),
        (revision.pk, True),
    ]
    # The sheet given at the visit stays the one shown.
    assert body["aftercare_sheet_id"] == AftercareSheet.objects.get(session=original).pk
    assert Stock.objects.get(lot=stocked.lot_a).quantity == D("17.00")
    event = AuditEvent.objects.get(action="session.amend")
    assert event.actor == world.persona(persona)
    assert event.changes["reason"] == {"new": "Vertex volume misread"}

    old = api_for(persona).get(session_url(original)).json()
    assert (old["current"], old["superseded_by_id"]) == (False, revision.pk)
    assert old["totals"][0]["volume_ml"] == "2.50"


@pytest.mark.parametrize(
    ("reason", "message"),
    [(None, "This field is required."), ("  ", "Say why the session is amended.")],
    ids=["no-reason", "blank-reason"],
)
def test_an_amendment_needs_a_reason(
    api_for, world, stocked, todays_appointment, chart_content, reason, message
):
    original = signed(world, todays_appointment, chart_content())
    body_in: dict[str, Any] = {"content": content(stocked)}
    if reason is not None:
        body_in["reason"] = reason
    client = api_for("paul")
    with nothing_written():
        body = problem(client.post(session_url(original, "/amend"), body_in), 422)
    assert field_messages(body, "reason") == [message]


def test_bad_amended_content_names_its_field_under_content(
    api_for, world, stocked, todays_appointment, chart_content
):
    original = signed(world, todays_appointment, chart_content())
    client = api_for("paul")
    cases = [
        ([line(stocked, zone="left_ear")], "content.lines.0.zone"),
        ([line(stocked, technique="jab")], "content.lines.0.technique"),
        ([line(stocked, lot_id=999_999)], "content.lines.0.lot_id"),
        ([line(stocked, lot_id=None)], "content.lines.0.lot_id"),
    ]
    for lines, field in cases:
        body_in = {"reason": "Fix", "content": content(stocked, lines=lines)}
        with nothing_written():
            body = problem(client.post(session_url(original, "/amend"), body_in), 422)
        assert field_messages(body, field), (field, body)


def test_only_the_current_signed_revision_is_amended(
    api_for, world, stocked, todays_appointment, chart_content
):
    original = signed(world, todays_appointment, chart_content())
    session_amend(session=original, content=chart_content(), reason="Typo", acting_user=world.paul)
    client = api_for("paul")
    body_in = {"reason": "Again", "content": content(stocked)}
    with nothing_written():
        body = problem(client.post(session_url(original, "/amend"), body_in), 409)
    assert body["detail"] == "This revision has been amended already; amend the current one."


def test_a_draft_is_not_amended(api_for, world, stocked, todays_appointment):
    session = draft(world, todays_appointment)
    body_in = {"reason": "Fix", "content": content(stocked)}
    client = api_for("paul")
    with nothing_written():
        problem(client.post(session_url(session, "/amend"), body_in), 409)


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_front_desk_and_the_auditor_amend_nothing(
    api_for, world, stocked, todays_appointment, chart_content, persona
):
    original = signed(world, todays_appointment, chart_content())
    body_in = {"reason": "Fix", "content": content(stocked)}
    client = api_for(persona)
    with nothing_written():
        problem(client.post(session_url(original, "/amend"), body_in), 403)


def test_another_organisation_gets_404_for_amending(
    api_for, world, stocked, todays_appointment, chart_content
):
    original = signed(world, todays_appointment, chart_content())
    body_in = {"reason": "Fix", "content": {"lines": []}}
    client = api_for("oscar")
    with nothing_written():
        problem(client.post(session_url(original, "/amend"), body_in), 404)


# --- Tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["absent", "revoked", "deactivated"])
def test_without_a_valid_token_every_session_endpoint_is_401(
    api_for, token_for, world, stocked, todays_appointment, chart_content, token
):
    session = charted(world, todays_appointment, chart_content())
    if token == "absent":
        client = api_for("anonymous")
    elif token == "revoked":
        client = ApiClient(token_for("paul"))
        api_token_revoke(token=ApiToken.objects.get(user=world.paul), acting_user=world.alice)
    else:
        client = api_for("dora")
    with nothing_written():
        problem(client.get(SESSIONS, {"patient_id": todays_appointment.patient_id}), 401)
        problem(client.get(session_url(session)), 401)
        problem(client.post(SESSIONS, {"appointment_id": todays_appointment.pk}), 401)
        problem(client.patch(session_url(session), content(stocked)), 401)
        problem(client.post(session_url(session, "/sign")), 401)
        problem(
            client.post(session_url(session, "/amend"), {"reason": "x", "content": {"lines": []}}),
            401,
        )


# --- The whole visit through the API ----------------------------------------------------------


def test_a_visit_is_charted_signed_and_amended_through_the_api(
    api_for, world, stocked, todays_appointment, django_capture_on_commit_callbacks
):
    client = api_for("paul")
    opened = client.post(SESSIONS, {"appointment_id": todays_appointment.pk})
    assert opened.status_code == 201
    url = session_url(opened.json()["id"])

    patched = client.patch(url, content(stocked, home_care_product_ids=[stocked.retail.pk]))
    assert patched.status_code == 200, patched.content
    assert client.get(url).json()["lines"] == patched.json()["lines"]

    with django_capture_on_commit_callbacks(execute=True):
        sign = client.post(url + "/sign")
    assert sign.status_code == 200, sign.content
    assert sign.json()["status"] == "signed"
    [email] = mail.outbox
    assert "Vertex (crown)" in email.body and "Gentle shampoo" in email.body

    amended = client.post(
        url + "/amend",
        {
            "reason": "Wrong lot charted",
            "content": content(
                stocked,
                lines=[
                    line(stocked, zone=zone, volume_ml=volume, lot_id=stocked.lot_b.pk)
                    for zone, volume in (
                        ("vertex", "1.0"),
                        ("mid_scalp", "1.0"),
                        ("frontal_hairline", "0.5"),
                    )
                ],
            ),
        },
    )
    assert amended.status_code == 201, amended.content
    assert Stock.objects.get(lot=stocked.lot_a).quantity == D("20.00")
    assert Stock.objects.get(lot=stocked.lot_b).quantity == D("2.50")

    listed = client.get(SESSIONS, {"patient_id": todays_appointment.patient_id, "current": True})
    [item] = listed.json()["items"]
    assert item["id"] == amended.json()["id"]
    assert item["supersedes_id"] == opened.json()["id"]
    assert len(mail.outbox) == 1, "an amendment sends no second sheet"


# --- Query counts and the document ------------------------------------------------------------


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_listing_costs_the_same_with_1_and_6_revisions(
    api_for, world, stocked, todays_appointment, chart_content
):
    client = api_for("paul")
    params = {"patient_id": todays_appointment.patient_id}
    current = signed(world, todays_appointment, chart_content())
    client.get(SESSIONS, params)
    with_1 = _queries(client, SESSIONS, params)
    for number in range(5):
        zones = tuple(
            (zone, D("0.1")) for zone in ("vertex", "mid_scalp", "occipital")[: 1 + number % 3]
        )
        current = session_amend(
            session=current,
            content=chart_content(zones=zones, lot="a" if number % 2 else "b"),
            reason=f"Correction {number}",
            acting_user=world.paul,
        )
    assert client.get(SESSIONS, params).json()["count"] == 6
    assert _queries(client, SESSIONS, params) == with_1


def test_reading_a_session_costs_the_same_with_3_and_12_lines(
    api_for, world, stocked, todays_appointment, chart_content
):
    client = api_for("paul")
    session = charted(world, todays_appointment, chart_content())
    client.get(session_url(session))  # the token's first use of the minute is recorded
    with_3 = _queries(client, session_url(session))
    zones = (
        "frontal_hairline",
        "frontal",
        "mid_scalp",
        "vertex",
        "temporal_left",
        "temporal_right",
        "parietal_left",
        "parietal_right",
        "occipital",
    )
    twelve = tuple((zones[index % len(zones)], D("0.2")) for index in range(12))
    session_update(
        session=session, content=chart_content(zones=twelve, lot="b"), acting_user=world.paul
    )
    assert len(client.get(session_url(session)).json()["lines"]) == 12
    assert _queries(client, session_url(session)) == with_3


def test_the_openapi_document_lists_the_session_paths(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/sessions"]) == {"get", "post"}
    assert set(paths["/api/v1/sessions/{session_id}"]) == {"get", "patch"}
    assert set(paths["/api/v1/sessions/{session_id}/sign"]) == {"post"}
    assert set(paths["/api/v1/sessions/{session_id}/amend"]) == {"post"}
    assert {"200", "201"} <= set(paths["/api/v1/sessions"]["post"]["responses"])
    assert "201" in paths["/api/v1/sessions/{session_id}/amend"]["post"]["responses"]
