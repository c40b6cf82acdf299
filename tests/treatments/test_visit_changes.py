"""What happens to a visit around its chart: a checked-in patient who is not treated, a
move or a no-show once a chart is open, a course cancelled mid-visit, and the per-zone and
amendment rules that the API could otherwise get round."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Stock
from mesoclinic.scheduling.models import AppointmentStatus, CourseStatus
from mesoclinic.scheduling.models import SessionStatus as CourseSessionStatus
from mesoclinic.scheduling.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_move,
    appointment_no_show,
    course_cancel,
)
from mesoclinic.treatments.models import Injection, TreatmentSession
from mesoclinic.treatments.services import (
    session_amend,
    session_open,
    session_sign,
    session_update,
)


def open_draft(appointment, world, content=None):
    session = session_open(appointment=appointment, acting_user=world.paul)
    if content is not None:
        session_update(session=session, content=content, acting_user=world.paul)
    return session


def test_a_checked_in_patient_who_is_not_treated_is_cancelled_and_the_draft_discarded(
    world, stocked, todays_appointment, chart_content
):
    appointment_check_in(appointment=todays_appointment, acting_user=world.fiona)
    draft = open_draft(todays_appointment, world, chart_content())
    before = Stock.objects.get(lot=stocked.lot_a, clinic=world.acme_city).quantity

    appointment_cancel(
        appointment=todays_appointment,
        reason="Scalp infection found at the pre-check",
        acting_user=world.paul,
    )

    todays_appointment.refresh_from_db()
    assert todays_appointment.status == AppointmentStatus.CANCELLED
    assert todays_appointment.course_session.status == CourseSessionStatus.PLANNED
    assert not TreatmentSession.objects.filter(pk=draft.pk).exists()
    assert not Injection.objects.filter(session_id=draft.pk).exists()
    assert Stock.objects.get(lot=stocked.lot_a, clinic=world.acme_city).quantity == before
    event = AuditEvent.objects.get(action="session.discard", object_id=str(draft.pk))
    assert event.changes["reason"]["new"] == "Scalp infection found at the pre-check"
    assert len(event.changes["content"]["old"]["lines"]) == 3


def test_a_signed_visit_cannot_be_cancelled(world, stocked, todays_appointment, chart_content):
    session = open_draft(todays_appointment, world, chart_content())
    session_sign(session=session, acting_user=world.paul, send_aftercare=False)
    with pytest.raises(Conflict):
        appointment_cancel(appointment=todays_appointment, reason="oops", acting_user=world.alice)
    assert TreatmentSession.objects.get(pk=session.pk).status == "signed"


def test_an_appointment_with_an_open_chart_is_neither_moved_nor_marked_missed(
    world, stocked, todays_appointment, chart_content
):
    open_draft(todays_appointment, world, chart_content())
    with pytest.raises(Conflict, match="chart is open"):
        appointment_move(
            appointment=todays_appointment,
            starts_at=todays_appointment.starts_at + dt.timedelta(days=7),
            acting_user=world.fiona,
        )
    with pytest.raises(Conflict, match="the patient was here"):
        appointment_no_show(appointment=todays_appointment, acting_user=world.fiona)
    todays_appointment.refresh_from_db()
    assert todays_appointment.status == AppointmentStatus.BOOKED


def test_a_course_is_not_cancelled_while_its_patient_is_checked_in(
    world, stocked, todays_appointment
):
    appointment_check_in(appointment=todays_appointment, acting_user=world.fiona)
    course = todays_appointment.course_session.course
    with pytest.raises(Conflict, match="checked in"):
        course_cancel(course=course, reason="Moving abroad", acting_user=world.alice)
    course.refresh_from_db()
    assert course.status == CourseStatus.ACTIVE


def test_cancelling_a_course_discards_draft_charts_of_its_booked_visits(
    world, stocked, todays_appointment, chart_content
):
    draft = open_draft(todays_appointment, world, chart_content())
    course = todays_appointment.course_session.course
    course_cancel(course=course, reason="Moving abroad", acting_user=world.alice)
    assert not TreatmentSession.objects.filter(pk=draft.pk).exists()
    with pytest.raises(Conflict):
        session_open(appointment=todays_appointment, acting_user=world.paul)


def test_lines_on_one_zone_are_checked_on_their_total(
    world, stocked, todays_appointment, chart_content
):
    # Three lines of 8 mL on the vertex: each under the 20 mL refusal, together over it.
    draft = open_draft(todays_appointment, world)
    content = chart_content(zones=(("vertex", Decimal("8")),) * 3)
    with pytest.raises(DomainError, match="all lines together") as caught:
        session_update(session=draft, content=content, acting_user=world.paul)
    assert caught.value.field == "lines.0.volume_ml"
    assert not Injection.objects.filter(session=draft).exists()


def test_an_amendment_keeps_at_least_one_line_with_a_volume(
    world, stocked, todays_appointment, chart_content
):
    session = open_draft(todays_appointment, world, chart_content())
    session_sign(session=session, acting_user=world.paul, send_aftercare=False)
    with pytest.raises(DomainError, match="at least one treated zone"):
        session_amend(
            session=session,
            content=chart_content(zones=()),
            reason="charted in error",
            acting_user=world.paul,
        )
    with pytest.raises(DomainError, match="Enter the volume"):
        session_amend(
            session=session,
            content=chart_content(zones=(("vertex", Decimal("0")),)),
            reason="no volume",
            acting_user=world.paul,
        )
    assert TreatmentSession.objects.filter(appointment=todays_appointment).count() == 1
