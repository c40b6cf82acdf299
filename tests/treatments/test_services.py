"""Charting a visit through the services (the one write path): open a draft, change it,
sign it (stock, appointment, course, aftercare sheet and email), and the refusals that
leave everything as it was.

The clock is Wednesday 2 December 2026, 09:30 in London, half an hour into the first
session of Rita's hair course (``todays_appointment``). Acme City holds Hair cocktail lots
HC-2401 (20 mL, expires 2027-06-30) and HC-2402 (5 mL, expires 2027-01-31).
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
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot, ProductKind, ProductUnit, Stock, StockMovement
from mesoclinic.inventory.services import lot_recall, lot_receive, product_create, stock_adjust
from mesoclinic.patients.services import consent_withdraw
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CourseSession,
    SentMessage,
)
from mesoclinic.scheduling.models import SessionStatus as CourseSessionStatus
from mesoclinic.scheduling.services import appointment_book, appointment_cancel, appointment_no_show
from mesoclinic.screening.models import Screening
from mesoclinic.treatments import mail as aftercare_mail
from mesoclinic.treatments import services
from mesoclinic.treatments.images import prepare_photo
from mesoclinic.treatments.models import (
    AftercareSheet,
    Injection,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatments.services import (
    LineInput,
    SessionContent,
    photo_add,
    session_amend,
    session_open,
    session_prechecks,
    session_sign,
    session_update,
)
from tests.scheduling_fixtures import LONDON
from tests.treatments.conftest import (
    CHART_ZONES,
    TODAY,
    course_appointment,
    make_content,
)

D = Decimal


# --- Helpers ----------------------------------------------------------------------------------


def charted(world, appointment, content) -> TreatmentSession:
    """A draft of ``appointment`` charted with ``content`` by Paul."""
    session = session_open(appointment=appointment, acting_user=world.paul)
    return session_update(session=session, content=content, acting_user=world.paul)


def signed(world, appointment, content) -> TreatmentSession:
    return session_sign(session=charted(world, appointment, content), acting_user=world.paul)


def stock(lot: Lot) -> Decimal:
    return Stock.objects.get(lot=lot).quantity


def lines_of(session: TreatmentSession) -> list[dict[str, Any]]:
    return list(
        Injection.objects.filter(session=session)
        .order_by("position")
        .values(
            "position",
            "zone",
            "technique",
            "depth_mm",
            "needle_gauge",
            "needle_length_mm",
            "points",
            "volume_ml",
            "product_id",
            "lot_id",
        )
    )


def _state() -> dict[str, Any]:
    return {
        "sessions": list(TreatmentSession.objects.order_by("pk").values()),
        "lines": list(Injection.objects.order_by("pk").values()),
        "stock": list(Stock.objects.order_by("pk").values("pk", "quantity")),
        "movements": StockMovement.objects.count(),
        "appointments": list(Appointment.objects.order_by("pk").values("pk", "status")),
        "course_sessions": list(
            CourseSession.objects.order_by("pk").values(
                "pk", "status", "done_on", "earliest_on", "latest_on"
            )
        ),
        "sheets": AftercareSheet.objects.count(),
        "events": AuditEvent.objects.count(),
        "messages": SentMessage.objects.count(),
    }


@contextmanager
def nothing_changed() -> Iterator[None]:
    """Assert the block changes no chart, line, stock, movement, appointment, course
    session, aftercare sheet, message or audit event."""
    before = _state()
    yield
    after = _state()
    for key, value in before.items():
        assert after[key] == value, f"{key} changed"


def second_visit(calendar, fixed_clock) -> Appointment:
    """The course's second appointment, with the clock moved half an hour into it."""
    course = TreatmentSession.objects.get().appointment.course_session.course
    appointment = course_appointment(course, 2)
    fixed_clock.set(appointment.starts_at + dt.timedelta(minutes=30))
    return appointment


# --- Opening a draft --------------------------------------------------------------------------


def test_opening_a_visit_creates_one_draft_and_gives_it_back_again(
    world, calendar, todays_appointment
):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)

    assert session.status == SessionStatus.DRAFT
    assert session.revision == 1 and session.is_current
    assert session.performed_on == TODAY
    assert session.protocol_version == calendar.hair
    assert session.area == "scalp"
    assert session.course_session == todays_appointment.course_session
    assert (session.patient, session.clinic, session.practitioner) == (
        todays_appointment.patient,
        world.acme_city,
        world.paul,
    )
    again = session_open(appointment=todays_appointment, acting_user=world.alice)
    assert again.pk == session.pk
    assert TreatmentSession.objects.count() == 1
    event = AuditEvent.objects.get(action="session.open")
    assert (event.actor, event.patient, event.object_id) == (
        world.paul,
        todays_appointment.patient,
        str(session.pk),
    )
    assert event.changes["from_previous_session"] == {"new": False}


@pytest.mark.parametrize("how", ["cancelled", "missed"])
def test_a_cancelled_or_missed_appointment_has_no_session_to_chart(world, todays_appointment, how):
    if how == "cancelled":
        appointment_cancel(appointment=todays_appointment, reason="Unwell", acting_user=world.fiona)
    else:
        appointment_no_show(appointment=todays_appointment, rebook=False, acting_user=world.fiona)
    with nothing_changed(), pytest.raises(Conflict, match="there is no session to chart"):
        session_open(appointment=todays_appointment, acting_user=world.paul)


def test_a_future_appointment_cannot_be_charted_yet(world, todays_appointment):
    course = todays_appointment.course_session.course
    later = course_appointment(course, 2)
    assert later.starts_at.astimezone(LONDON).date() > TODAY
    with (
        nothing_changed(),
        pytest.raises(DomainError, match="from the day of its appointment"),
    ):
        session_open(appointment=later, acting_user=world.paul)


@pytest.mark.parametrize("persona", ["fiona", "audrey"])
def test_only_a_practitioner_or_an_admin_opens_a_chart(world, todays_appointment, persona):
    with nothing_changed(), pytest.raises(DomainError, match="Only a practitioner"):
        session_open(appointment=todays_appointment, acting_user=world.persona(persona))


def test_an_appointment_outside_a_course_needs_the_protocol_given(world, calendar, fixed_clock):
    appointment = _consultation(world, world.acme_patient, fixed_clock)
    with nothing_changed(), pytest.raises(DomainError, match="choose the protocol") as raised:
        session_open(appointment=appointment, acting_user=world.paul)
    assert raised.value.field == "protocol_version"
    session = session_open(
        appointment=appointment, protocol_version=calendar.prp, acting_user=world.paul
    )
    assert session.protocol_version == calendar.prp
    assert session.course_session is None


def _consultation(world, patient, fixed_clock) -> Appointment:
    """A consultation with Alice today at 10:00 (outside any course); the clock 10:15."""
    appointment = appointment_book(
        patient=patient,
        clinic=world.acme_city,
        practitioner=world.alice,
        appointment_type=AppointmentType.objects.get(organisation=world.acme, code="consultation"),
        starts_at=dt.datetime(2026, 12, 2, 10, 0, tzinfo=LONDON),
        acting_user=world.fiona,
    )
    fixed_clock.set(dt.datetime(2026, 12, 2, 10, 15, tzinfo=LONDON))
    return appointment


def test_the_second_visit_starts_from_the_previous_signed_session(
    world, calendar, stocked, todays_appointment, chart_content, fixed_clock
):
    first = signed(
        world,
        todays_appointment,
        chart_content(
            pain_score=4,
            reactions=("erythema",),
            reactions_note="Mild redness",
            notes="Tolerated well",
            anaesthesia="topical",
            skin_preparation="alcohol",
            home_care_product_ids=(stocked.retail.pk,),
        ),
    )
    appointment = second_visit(calendar, fixed_clock)

    draft = session_open(appointment=appointment, acting_user=world.paul)

    assert draft.pk != first.pk and draft.status == SessionStatus.DRAFT
    copied = lines_of(draft)
    assert [(line["zone"], line["volume_ml"]) for line in copied] == list(CHART_ZONES)
    assert {line["lot_id"] for line in copied} == {stocked.lot_a.pk}
    assert {line["technique"] for line in copied} == {"nappage"}
    assert {
        (line["depth_mm"], line["needle_gauge"], line["needle_length_mm"]) for line in copied
    } == {(D("2.0"), 30, D("4.0"))}
    # How it was done is copied; what happened last time is this visit's to chart.
    assert (draft.anaesthesia, draft.skin_preparation) == ("topical", "alcohol")
    assert draft.home_care_product_ids == [stocked.retail.pk]
    assert draft.pain_score is None
    assert draft.reactions == [] and draft.reactions_note == "" and draft.notes == ""
    event = AuditEvent.objects.filter(action="session.open").latest("pk")
    assert event.changes["from_previous_session"] == {"new": True}


@pytest.mark.parametrize("why", ["recalled", "expired", "empty"])
def test_a_previous_lot_no_longer_usable_is_replaced_by_the_first_to_expire(
    world, calendar, stocked, todays_appointment, fixed_clock, why
):
    # HC-2399 expires on 10 December: after the first visit, before the second.
    short = lot_receive(
        product=stocked.product,
        clinic=world.acme_city,
        lot_number="HC-2399",
        expires_on=dt.date(2026, 12, 10),
        quantity=D("10"),
        acting_user=world.alice,
    )
    signed(world, todays_appointment, make_content(stocked, lot=short))
    appointment = second_visit(calendar, fixed_clock)
    assert appointment.starts_at.astimezone(LONDON).date() > short.expires_on
    if why == "recalled":
        lot_recall(lot=short, reason="Supplier notice", acting_user=world.alice)
    elif why == "empty":
        stock_adjust(
            lot=short,
            clinic=world.acme_city,
            delta=-stock(short),
            reason="Broken vial",
            acting_user=world.alice,
        )
    if why != "expired":
        # Recalled or empty while still in date: the replacement is not about expiry.
        short.expires_on = dt.date(2027, 12, 31)
        Lot.objects.filter(pk=short.pk).update(expires_on=short.expires_on)

    draft = session_open(appointment=appointment, acting_user=world.paul)

    # HC-2402 expires before HC-2401: the lot to use up first.
    assert {line["lot_id"] for line in lines_of(draft)} == {stocked.lot_b.pk}
    assert [line["volume_ml"] for line in lines_of(draft)] == [v for _z, v in CHART_ZONES]


def test_a_previous_lot_still_usable_and_in_stock_is_kept(
    world, calendar, stocked, todays_appointment, chart_content, fixed_clock
):
    signed(world, todays_appointment, chart_content(lot="a"))
    draft = session_open(appointment=second_visit(calendar, fixed_clock), acting_user=world.paul)
    # HC-2401 is kept although HC-2402 expires first: the same lot is not switched needlessly.
    assert {line["lot_id"] for line in lines_of(draft)} == {stocked.lot_a.pk}


# --- Changing a draft -------------------------------------------------------------------------


def test_an_update_replaces_the_lines_and_records_what_changed(
    world, stocked, todays_appointment, chart_content
):
    session = charted(world, todays_appointment, chart_content())
    assert [(line["zone"], line["volume_ml"]) for line in lines_of(session)] == list(CHART_ZONES)

    session = session_update(
        session=session,
        content=chart_content(zones=(("occipital", D("0.8")),), lot="b", pain_score=2),
        acting_user=world.paul,
    )

    [line] = lines_of(session)
    assert (line["position"], line["zone"], line["volume_ml"], line["lot_id"]) == (
        1,
        "occipital",
        D("0.80"),
        stocked.lot_b.pk,
    )
    session.refresh_from_db()
    assert session.pain_score == 2
    event = AuditEvent.objects.filter(action="session.update").latest("pk")
    assert event.actor == world.paul and event.patient == todays_appointment.patient
    assert event.changes["pain_score"] == {"old": None, "new": 2}
    assert len(event.changes["lines"]["old"]) == 3 and len(event.changes["lines"]["new"]) == 1


def test_an_update_that_changes_nothing_records_nothing(world, todays_appointment, chart_content):
    session = charted(world, todays_appointment, chart_content())
    count = AuditEvent.objects.filter(action="session.update").count()
    session_update(session=session, content=chart_content(), acting_user=world.paul)
    assert AuditEvent.objects.filter(action="session.update").count() == count


def _other_product_lot(world, stocked):
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
    )


def _foreign_product(world, stocked):
    return product_create(
        organisation=world.other,
        name="Hair cocktail",
        kind=ProductKind.TREATMENT,
        unit=ProductUnit.ML,
        acting_user=world.oscar,
    )


def _line(stocked, **changes: Any) -> LineInput:
    values: dict[str, Any] = {
        "zone": "vertex",
        "technique": "nappage",
        "volume_ml": D("1.0"),
        "product": stocked.product,
        "lot": stocked.lot_a,
        "depth_mm": D("2"),
        "needle_gauge": 30,
        "needle_length_mm": D("4"),
    }
    values.update(changes)
    return LineInput(**values)


BAD_LINES = [
    pytest.param(
        lambda world, stocked: {"zone": "left_ear"},
        "lines.1.zone",
        "left_ear is not a zone of the scalp map.",
        id="zone-not-on-the-map",
    ),
    pytest.param(
        lambda world, stocked: {"lot": _other_product_lot(world, stocked)},
        "lines.1.lot",
        "Lot PB-1 is not a lot of Hair cocktail.",
        id="lot-of-another-product",
    ),
    pytest.param(
        lambda world, stocked: {"product": stocked.retail, "lot": None},
        "lines.1.product",
        "Gentle shampoo is not a treatment product; it cannot be injected.",
        id="retail-product",
    ),
    pytest.param(
        lambda world, stocked: {"product": _foreign_product(world, stocked), "lot": None},
        "lines.1.product",
        "Choose one of this clinic's products.",
        id="another-organisations-product",
    ),
    pytest.param(
        lambda world, stocked: {"depth_mm": D("14"), "needle_length_mm": D("13")},
        "lines.1.depth_mm",
        "Depth 14 mm is more than the 13 mm allowed for the scalp.",
        id="depth-above-the-refuse-limit",
    ),
    pytest.param(
        lambda world, stocked: {"volume_ml": D("25")},
        "lines.1.volume_ml",
        "Volume 25 mL in one zone is more than the 20 mL allowed for the scalp.",
        id="volume-above-the-refuse-limit",
    ),
    pytest.param(
        lambda world, stocked: {"technique": "jab"},
        "lines.1.technique",
        "Unknown technique 'jab'",
        id="unknown-technique",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_LINES)
def test_a_bad_line_is_refused_with_its_field_and_nothing_changes(
    world, stocked, todays_appointment, chart_content, change, field, message
):
    session = charted(world, todays_appointment, chart_content())
    bad = change(world, stocked)
    content = SessionContent(
        lines=(_line(stocked, zone="mid_scalp"), _line(stocked, **bad)), notes="Changed"
    )
    with nothing_changed(), pytest.raises(DomainError) as raised:
        session_update(session=session, content=content, acting_user=world.paul)
    assert raised.value.field == field
    assert raised.value.message.startswith(message)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (lambda stocked: SessionContent(reactions=("sneezing",)), "reactions"),
        (
            lambda stocked: SessionContent(home_care_product_ids=(stocked.product.pk,)),
            "home_care_product_ids",
        ),
    ],
    ids=["unknown-reaction", "home-care-not-retail"],
)
def test_bad_session_details_are_refused(world, stocked, todays_appointment, content, field):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    with nothing_changed(), pytest.raises(DomainError) as raised:
        session_update(session=session, content=content(stocked), acting_user=world.paul)
    assert raised.value.field == field


def test_a_signed_session_cannot_be_updated(world, todays_appointment, chart_content):
    session = signed(world, todays_appointment, chart_content())
    with nothing_changed(), pytest.raises(Conflict, match="correct it with an amendment"):
        session_update(
            session=session, content=chart_content(notes="Later"), acting_user=world.paul
        )


def test_the_front_desk_cannot_change_a_draft(world, todays_appointment, chart_content):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    with nothing_changed(), pytest.raises(DomainError, match="Only a practitioner"):
        session_update(session=session, content=chart_content(), acting_user=world.fiona)


# --- Signing ----------------------------------------------------------------------------------


def _split_content(stocked) -> SessionContent:
    """Vertex and mid-scalp from HC-2401 (2.0 mL), frontal hairline from HC-2402 (0.5 mL)."""
    return SessionContent(
        lines=(
            _line(stocked, zone="vertex", volume_ml=D("1.0")),
            _line(stocked, zone="mid_scalp", volume_ml=D("1.0")),
            _line(stocked, zone="frontal_hairline", volume_ml=D("0.5"), lot=stocked.lot_b),
        )
    )


def test_signing_takes_exactly_the_charted_volume_from_each_lot(world, stocked, todays_appointment):
    session = signed(world, todays_appointment, _split_content(stocked))

    assert stock(stocked.lot_a) == D("18.00")
    assert stock(stocked.lot_b) == D("4.50")
    used = StockMovement.objects.filter(session=session).order_by("lot_id")
    assert [(m.lot_id, m.kind, m.quantity_delta, m.balance_after, m.clinic) for m in used] == [
        (stocked.lot_a.pk, "consume", D("-2.00"), D("18.00"), world.acme_city),
        (stocked.lot_b.pk, "consume", D("-0.50"), D("4.50"), world.acme_city),
    ]
    assert {m.created_by for m in used} == {world.paul}
    session.refresh_from_db()
    assert session.status == SessionStatus.SIGNED
    assert session.signed_by == world.paul and session.signed_at is not None
    assert [c["code"] for c in session.prechecks] == ["consent", "screening", "adverse_events"]
    assert all(c["ok"] for c in session.prechecks)
    event = AuditEvent.objects.get(action="session.sign")
    assert event.changes["volume_ml"] == {"new": {"Hair cocktail": "2.50"}}
    assert event.changes["lines"] == {"new": 3}


def test_signing_completes_the_visit_and_moves_the_course_on(
    world, stocked, todays_appointment, chart_content
):
    course_session = todays_appointment.course_session
    course = course_session.course
    second = CourseSession.objects.get(course=course, position=2)
    # A stale stored window: signing re-plans the course from the session's actual date.
    CourseSession.objects.filter(pk=second.pk).update(
        earliest_on=dt.date(2027, 1, 1),
        target_on=dt.date(2027, 1, 2),
        latest_on=dt.date(2027, 1, 3),
    )

    signed(world, todays_appointment, chart_content())

    todays_appointment.refresh_from_db()
    assert todays_appointment.status == AppointmentStatus.COMPLETED
    course_session.refresh_from_db()
    assert course_session.status == CourseSessionStatus.DONE
    assert course_session.done_on == TODAY
    second.refresh_from_db()
    assert second.earliest_on == TODAY + dt.timedelta(days=14)
    assert second.latest_on == TODAY + dt.timedelta(days=21)
    assert AuditEvent.objects.filter(action="appointment.complete").count() == 1


def _pdf_available() -> bool:
    try:
        import weasyprint

        weasyprint.HTML(string="<p>x</p>").write_pdf()
    except (ImportError, OSError):
        return False
    return True


def test_signing_stores_the_aftercare_sheet_and_emails_it_once(
    world, stocked, todays_appointment, chart_content, django_capture_on_commit_callbacks
):
    session = charted(
        world, todays_appointment, chart_content(home_care_product_ids=(stocked.retail.pk,))
    )
    with django_capture_on_commit_callbacks(execute=True):
        session_sign(session=session, acting_user=world.paul)

    sheet = AftercareSheet.objects.get(session=session)
    assert sheet.patient == todays_appointment.patient
    content = sheet.content
    assert content["session_date"] == "2026-12-02"
    assert [(z["label"], z["volume_ml"]) for z in content["treated"]] == [
        ("Vertex (crown)", "1.00"),
        ("Mid-scalp", "1.00"),
        ("Frontal hairline", "0.50"),
    ]
    assert content["total_volume_ml"] == "2.50"
    assert content["home_care"] == [
        {"name": "Gentle shampoo", "note": "Wash gently from the day after the session."}
    ]
    [email] = mail.outbox
    assert email.to == ["rita@example.com"]
    assert email.subject == "Aftercare after your treatment on 2026-12-02"
    for zone in ("Vertex (crown)", "Mid-scalp", "Frontal hairline"):
        assert zone in email.body
    assert "Gentle shampoo" in email.body
    if _pdf_available():
        [(name, data, kind)] = email.attachments
        assert (name, kind) == ("aftercare-2026-12-02.pdf", "application/pdf")
        assert data.startswith(b"%PDF")

    # Sending again (a retry, the cron run) sends nothing more.
    aftercare_mail.send_aftercare(sheet_id=sheet.pk)
    assert len(mail.outbox) == 1
    assert SentMessage.objects.get().status == "sent"


def test_a_patient_without_an_email_gets_the_sheet_on_paper_only(
    world, stocked, todays_appointment, chart_content, django_capture_on_commit_callbacks
):
    patient = todays_appointment.patient
    patient.email = ""
    patient.save(update_fields=["email"])
    session = charted(world, todays_appointment, chart_content())
    with django_capture_on_commit_callbacks(execute=True):
        session_sign(session=session, acting_user=world.paul)
    assert AftercareSheet.objects.filter(session=session).exists()
    assert mail.outbox == []


def test_signing_twice_is_a_conflict_and_takes_nothing_twice(
    world, stocked, todays_appointment, chart_content
):
    draft = charted(world, todays_appointment, chart_content())
    session_sign(session=draft, acting_user=world.paul)
    assert stock(stocked.lot_a) == D("17.50")
    with nothing_changed(), pytest.raises(Conflict, match="signed already"):
        # The caller's object still says "draft": the row under the lock says otherwise.
        session_sign(session=draft, acting_user=world.paul)
    assert stock(stocked.lot_a) == D("17.50")


def _withdraw_consent(world, calendar, appointment, fixed_clock):
    patient = appointment.patient
    consent_withdraw(
        consent=patient.consents.get(), reason="Changed her mind", acting_user=world.paul
    )
    return appointment


def _screen_not_eligible(world, calendar, appointment, fixed_clock):
    Screening.objects.create(
        organisation=world.acme,
        patient=appointment.patient,
        screened_on=TODAY,
        screened_by=world.paul,
        protocol_kind=calendar.hair.kind,
        protocol_version=calendar.hair,
        ingredients=calendar.hair.ingredient_codes,
        outcome="not_eligible",
        rule_set_version="2026-11-1",
        facts={},
        decision={"reasons": []},
    )
    return appointment


def _never_screened(world, calendar, appointment, fixed_clock):
    # Ana was never screened: a consultation treated with the hair protocol.
    consultation = _consultation(world, world.acme_patient, fixed_clock)
    session_open(appointment=consultation, protocol_version=calendar.hair, acting_user=world.paul)
    return consultation


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_withdraw_consent, "The patient has not signed the current consent for: Hair"),
        (_screen_not_eligible, "does not allow this treatment: Not eligible"),
        (_never_screened, "Screen the patient for Mesotherapy"),
    ],
    ids=["consent-withdrawn", "screened-not-eligible", "never-screened"],
)
def test_a_failing_precheck_blocks_signing_with_the_reason(
    world, calendar, stocked, todays_appointment, chart_content, fixed_clock, make, reason
):
    appointment = make(world, calendar, todays_appointment, fixed_clock)
    session = charted(world, appointment, chart_content())
    checks = {
        c.code: c
        for c in session_prechecks(
            patient=session.patient, protocol_version=session.protocol_version
        )
    }
    assert not all(c.ok for c in checks.values())
    with nothing_changed(), pytest.raises(DomainError) as raised:
        session_sign(session=session, acting_user=world.paul)
    assert raised.value.field == "prechecks"
    assert raised.value.message.startswith("Cannot sign:")
    assert reason in raised.value.message


def _recall_a(world, stocked):
    lot_recall(lot=stocked.lot_a, reason="Contamination notice", acting_user=world.alice)
    return make_content(stocked, lot="a")


def _expired_before_the_session(world, stocked):
    old = lot_receive(
        product=stocked.product,
        clinic=world.acme_city,
        lot_number="HC-2300",
        expires_on=dt.date(2026, 12, 1),
        quantity=D("10"),
        acting_user=world.alice,
    )
    return make_content(stocked, lot=old)


def _not_enough(world, stocked):
    # 2.0 mL from HC-2401 (enough) and 6 mL from HC-2402 (5 mL held): nothing is taken.
    return SessionContent(
        lines=(
            _line(stocked, zone="vertex", volume_ml=D("2.0")),
            _line(stocked, zone="mid_scalp", volume_ml=D("3.5"), lot=stocked.lot_b),
            _line(stocked, zone="occipital", volume_ml=D("2.5"), lot=stocked.lot_b),
        )
    )


def _no_lot(world, stocked):
    return make_content(stocked, lot=None)


def _held_elsewhere(world, stocked):
    elsewhere = lot_receive(
        product=stocked.product,
        clinic=world.acme_river,
        lot_number="HC-2600",
        expires_on=dt.date(2027, 8, 31),
        quantity=D("10"),
        acting_user=world.alice,
    )
    return make_content(stocked, lot=elsewhere)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (_recall_a, DomainError, "Lot HC-2401 of Hair cocktail is recalled and cannot be used."),
        (
            _expired_before_the_session,
            DomainError,
            "Lot HC-2300 of Hair cocktail expired on 2026-12-01.",
        ),
        (
            _not_enough,
            Conflict,
            "Only 5.00 mL of Hair cocktail lot HC-2402 are in stock at Acme City; 6.00 mL were "
            "asked for.",
        ),
        (_no_lot, DomainError, "Choose the lot of Hair cocktail used on Vertex (crown)."),
        (_held_elsewhere, Conflict, "Acme City holds none of Hair cocktail lot HC-2600."),
    ],
    ids=["recalled", "expired-before-the-session", "not-enough-stock", "no-lot", "other-clinic"],
)
def test_a_lot_that_cannot_be_used_blocks_signing_and_nothing_changes(
    world, stocked, todays_appointment, django_capture_on_commit_callbacks, make, error, message
):
    session = charted(world, todays_appointment, make(world, stocked))
    with (
        nothing_changed(),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(error) as raised,
    ):
        session_sign(session=session, acting_user=world.paul)
    assert raised.value.message == message
    assert type(raised.value) is error
    assert mail.outbox == []


def test_a_lot_expired_by_the_next_visit_cannot_be_signed_then(
    world, calendar, stocked, todays_appointment, fixed_clock
):
    short = lot_receive(
        product=stocked.product,
        clinic=world.acme_city,
        lot_number="HC-2399",
        expires_on=dt.date(2026, 12, 10),
        quantity=D("10"),
        acting_user=world.alice,
    )
    signed(world, todays_appointment, make_content(stocked, lot=short))
    appointment = second_visit(calendar, fixed_clock)  # time has moved past 10 December
    session = charted(world, appointment, make_content(stocked, lot=short))
    with nothing_changed(), pytest.raises(DomainError, match=r"HC-2399 .* expired on 2026-12-10"):
        session_sign(session=session, acting_user=world.paul)


def test_a_lot_in_date_on_the_session_day_can_be_signed_the_day_after(
    world, stocked, todays_appointment, fixed_clock
):
    """A chart records what was given: a lot expiring on the session's day was in date then,
    so signing the chart the next morning is not refused."""
    today_only = lot_receive(
        product=stocked.product,
        clinic=world.acme_city,
        lot_number="HC-2412",
        expires_on=TODAY,
        quantity=D("10"),
        acting_user=world.alice,
    )
    session = charted(world, todays_appointment, make_content(stocked, lot=today_only))
    fixed_clock.advance(days=1)
    session = session_sign(session=session, acting_user=world.paul)
    assert session.status == SessionStatus.SIGNED
    assert stock(today_only) == D("7.50")


def _open(world, appointment, chart_content):
    return lambda: session_open(appointment=appointment, acting_user=world.paul)


def _update(world, appointment, chart_content):
    session = session_open(appointment=appointment, acting_user=world.paul)
    return lambda: session_update(session=session, content=chart_content(), acting_user=world.paul)


def _sign(world, appointment, chart_content):
    session = charted(world, appointment, chart_content())
    return lambda: session_sign(session=session, acting_user=world.paul)


def _amend(world, appointment, chart_content):
    session = signed(world, appointment, chart_content())
    return lambda: session_amend(
        session=session, content=chart_content(lot="b"), reason="Lot", acting_user=world.paul
    )


def _photo(world, appointment, chart_content):
    from tests.treatments.test_images import LIMIT, png

    session = session_open(appointment=appointment, acting_user=world.paul)
    photo = prepare_photo(png((10, 10)), max_bytes=LIMIT)
    return lambda: photo_add(session=session, moment="before", photo=photo, acting_user=world.paul)


@pytest.mark.parametrize(
    ("prepare", "action"),
    [
        (_open, "session.open"),
        (_update, "session.update"),
        (_sign, "session.sign"),
        (_amend, "session.amend"),
        (_photo, "photo.add"),
    ],
    ids=["open", "update", "sign", "amend", "photo"],
)
def test_each_write_and_its_audit_event_commit_together(
    world, stocked, todays_appointment, chart_content, monkeypatch, prepare, action
):
    write = prepare(world, todays_appointment, chart_content)
    real = services.audit_record
    recorded: list[str] = []

    def broken(**kwargs: Any) -> None:
        recorded.append(kwargs["action"])
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with nothing_changed(), pytest.raises(RuntimeError):
        write()
    assert recorded[-1] == action

    # With the audit trail working the same call writes, with exactly its one event.
    monkeypatch.setattr(services, "audit_record", real)
    events = AuditEvent.objects.count()
    write()
    assert AuditEvent.objects.count() == events + 1 + (action == "session.sign")
    assert AuditEvent.objects.filter(action=action).exists()


def _content_of(stocked, count: int) -> SessionContent:
    zones = [
        "frontal_hairline",
        "frontal",
        "mid_scalp",
        "vertex",
        "temporal_left",
        "temporal_right",
        "parietal_left",
        "parietal_right",
        "occipital",
    ]
    return SessionContent(
        lines=tuple(
            _line(
                stocked,
                zone=zones[index % len(zones)],
                volume_ml=D("0.2"),
                lot=stocked.lot_a if index % 2 else stocked.lot_b,
            )
            for index in range(count)
        ),
        home_care_product_ids=(stocked.retail.pk,),
    )


def _sign_queries(world, calendar, stocked, appointment, count: int) -> int:
    session = charted(world, appointment, _content_of(stocked, count))
    with CaptureQueriesContext(connection) as captured:
        session_sign(session=session, acting_user=world.paul)
    return len(captured.captured_queries)


def test_signing_12_lines_costs_the_same_queries_as_3(
    world, calendar, stocked, todays_appointment, fixed_clock
):
    with_3 = _sign_queries(world, calendar, stocked, todays_appointment, 3)
    appointment = second_visit(calendar, fixed_clock)
    with_12 = _sign_queries(world, calendar, stocked, appointment, 12)
    assert with_12 == with_3, (with_3, with_12)
