"""Amending a signed session: a new signed revision with a reason, the corrected one kept
exactly as it was, and stock following the difference.

Rita's first visit (``todays_appointment``) is signed with the routine chart: vertex
1.0 mL, mid-scalp 1.0 mL, frontal hairline 0.5 mL of Hair cocktail lot HC-2401, so
HC-2401 holds 17.5 mL and HC-2402 5 mL when each test starts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import MovementKind, StockMovement
from mesoclinic.inventory.services import lot_recall
from mesoclinic.treatments.models import SessionStatus, TreatmentSession
from mesoclinic.treatments.services import (
    SessionContent,
    session_amend,
    session_open,
    session_sign,
    session_update,
)
from tests.treatments.test_services import lines_of, nothing_changed, stock

D = Decimal


@pytest.fixture
def original(world, stocked, todays_appointment, chart_content) -> TreatmentSession:
    draft = session_open(appointment=todays_appointment, acting_user=world.paul)
    draft = session_update(
        session=draft, content=chart_content(pain_score=3, notes="Routine"), acting_user=world.paul
    )
    session = session_sign(session=draft, acting_user=world.paul)
    assert stock(stocked.lot_a) == D("17.50")
    return session


def amend(world, session, content: SessionContent, reason: str = "Volume misread") -> Any:
    return session_amend(session=session, content=content, reason=reason, acting_user=world.alice)


def frozen(session: TreatmentSession) -> dict[str, Any]:
    """Everything a revision says, as stored."""
    row = TreatmentSession.objects.filter(pk=session.pk).values().get()
    row.pop("superseded_at")
    row.pop("updated_at")
    return {"row": row, "lines": lines_of(session)}


def more_on_the_vertex(chart_content) -> SessionContent:
    return chart_content(
        zones=(("vertex", D("1.5")), ("mid_scalp", D("1.0")), ("frontal_hairline", D("0.5"))),
        pain_score=3,
        notes="Routine",
    )


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_an_amendment_needs_a_reason(world, original, chart_content, reason):
    with nothing_changed(), pytest.raises(DomainError) as raised:
        amend(world, original, more_on_the_vertex(chart_content), reason=reason)
    assert raised.value.field == "reason"
    assert raised.value.message == "Say why the session is amended."


def test_an_amendment_is_a_new_signed_revision_and_the_original_is_kept_as_it_was(
    world, stocked, original, chart_content
):
    before = frozen(original)

    revision = amend(world, original, more_on_the_vertex(chart_content), reason=" Misread ")

    original.refresh_from_db()
    assert frozen(original) == before, "the corrected revision changed"
    assert original.status == SessionStatus.SIGNED
    assert original.superseded_at is not None and not original.is_current
    assert original.superseded_by == revision
    assert revision.revision == 2 and revision.is_current
    assert revision.status == SessionStatus.SIGNED
    assert revision.supersedes == original
    assert revision.amendment_reason == "Misread"
    assert (revision.signed_by, revision.created_by) == (world.alice, world.alice)
    assert revision.signed_at >= original.signed_at
    assert revision.prechecks == original.prechecks
    assert (revision.appointment, revision.performed_on, revision.course_session) == (
        original.appointment,
        original.performed_on,
        original.course_session,
    )
    assert [(line["zone"], line["volume_ml"]) for line in lines_of(revision)] == [
        ("vertex", D("1.50")),
        ("mid_scalp", D("1.00")),
        ("frontal_hairline", D("0.50")),
    ]
    history = TreatmentSession.objects.filter(appointment=original.appointment).order_by("revision")
    assert [(s.pk, s.is_current) for s in history] == [
        (original.pk, False),
        (revision.pk, True),
    ]
    # The appointment stays done; the aftercare sheet given stays the original's.
    original.appointment.refresh_from_db()
    assert original.appointment.status == "completed"
    assert original.aftercare_sheet is not None


def test_the_amendment_is_audited_with_its_reason_and_changes(world, original, chart_content):
    revision = amend(world, original, more_on_the_vertex(chart_content), reason="Misread")
    event = AuditEvent.objects.get(action="session.amend")
    assert (event.actor, event.patient, event.object_id) == (
        world.alice,
        original.patient,
        str(revision.pk),
    )
    assert event.changes["reason"] == {"new": "Misread"}
    assert event.changes["supersedes"] == {"new": original.pk}
    assert event.changes["revision"] == {"old": 1, "new": 2}
    [old_vertex, *_rest] = event.changes["lines"]["old"]
    [new_vertex, *_rest] = event.changes["lines"]["new"]
    assert (old_vertex["volume_ml"], new_vertex["volume_ml"]) == ("1.00", "1.50")
    assert "pain_score" not in event.changes, "unchanged fields are not listed"


def test_more_volume_takes_more_from_the_lot(world, stocked, original, chart_content):
    revision = amend(world, original, more_on_the_vertex(chart_content))
    assert stock(stocked.lot_a) == D("17.00")
    [movement] = StockMovement.objects.filter(session=revision)
    assert (movement.lot, movement.kind, movement.quantity_delta, movement.balance_after) == (
        stocked.lot_a,
        MovementKind.CORRECT,
        D("-0.50"),
        D("17.00"),
    )


def test_less_volume_gives_the_difference_back(world, stocked, original, chart_content):
    amend(
        world,
        original,
        chart_content(zones=(("vertex", D("1.0")), ("mid_scalp", D("0.5")))),
    )
    assert stock(stocked.lot_a) == D("18.50")


def test_a_changed_lot_gives_the_old_lot_back_and_takes_from_the_new(
    world, stocked, original, chart_content
):
    revision = amend(world, original, chart_content(lot="b"), reason="Wrong lot charted")
    assert stock(stocked.lot_a) == D("20.00")
    assert stock(stocked.lot_b) == D("2.50")
    moves = {m.lot_id: m.quantity_delta for m in StockMovement.objects.filter(session=revision)}
    assert moves == {stocked.lot_a.pk: D("2.50"), stocked.lot_b.pk: D("-2.50")}


def test_an_amendment_that_changes_no_volume_moves_no_stock(
    world, stocked, original, chart_content
):
    revision = amend(
        world, original, chart_content(pain_score=5, notes="Pain was 5"), reason="Pain misheard"
    )
    assert not StockMovement.objects.filter(session=revision).exists()
    assert stock(stocked.lot_a) == D("17.50")


def test_a_recalled_lot_cannot_be_newly_taken(world, stocked, original, chart_content):
    lot_recall(lot=stocked.lot_b, reason="Supplier notice", acting_user=world.alice)
    with (
        nothing_changed(),
        pytest.raises(DomainError, match="HC-2402 of Hair cocktail is recalled"),
    ):
        amend(world, original, chart_content(lot="b"), reason="Wrong lot charted")


def test_notes_can_be_corrected_on_a_session_whose_lot_was_recalled_since(
    world, stocked, original, chart_content
):
    """Nothing more is taken from the recalled lot, so the correction is allowed."""
    lot_recall(lot=stocked.lot_a, reason="Supplier notice", acting_user=world.alice)
    revision = amend(world, original, chart_content(pain_score=3, notes="Routine; no bruising"))
    assert revision.notes == "Routine; no bruising"
    assert stock(stocked.lot_a) == D("17.50")


def test_more_than_the_stock_holds_is_refused(world, stocked, original, chart_content):
    with nothing_changed(), pytest.raises(Conflict, match=r"Only 5\.00 mL of Hair cocktail"):
        amend(world, original, chart_content(zones=(("vertex", D("6")),), lot="b"))


def test_every_line_of_an_amendment_needs_its_lot(world, original, chart_content):
    with nothing_changed(), pytest.raises(DomainError) as raised:
        amend(world, original, chart_content(lot=None))
    assert raised.value.field == "lines.0.lot"


def test_an_amendment_is_checked_like_a_draft(world, original, chart_content):
    with nothing_changed(), pytest.raises(DomainError) as raised:
        amend(world, original, chart_content(zones=(("left_ear", D("1")),)))
    assert raised.value.field == "lines.0.zone"


def test_a_superseded_revision_cannot_be_amended(world, original, chart_content):
    amend(world, original, more_on_the_vertex(chart_content))
    with nothing_changed(), pytest.raises(Conflict, match="amend the current one"):
        amend(world, original, chart_content(), reason="Again")


def test_a_second_amendment_supersedes_the_first(world, stocked, original, chart_content):
    first = amend(world, original, more_on_the_vertex(chart_content))
    second = amend(world, first, chart_content(), reason="The first amendment was wrong")
    assert second.revision == 3 and second.supersedes == first
    assert stock(stocked.lot_a) == D("17.50")
    current = TreatmentSession.objects.filter(
        appointment=original.appointment, superseded_at__isnull=True
    )
    assert list(current) == [second]


def test_a_draft_is_changed_directly_not_amended(world, todays_appointment, chart_content):
    draft = session_open(appointment=todays_appointment, acting_user=world.paul)
    with nothing_changed(), pytest.raises(Conflict, match="change it directly"):
        amend(world, draft, chart_content())


@pytest.mark.parametrize("persona", ["fiona", "audrey"])
def test_only_a_practitioner_or_an_admin_amends(world, original, chart_content, persona):
    with nothing_changed(), pytest.raises(DomainError, match="Only a practitioner"):
        session_amend(
            session=original,
            content=chart_content(),
            reason="Misread",
            acting_user=world.persona(persona),
        )
