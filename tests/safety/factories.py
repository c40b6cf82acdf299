"""A small factory for a clinic's history of signed sessions and side effects, written
row by row (as bench/charting.py does) so a rates test can have dozens of sessions
without charting each through the booking and signing services. Side effects are
recorded through the real service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mesoclinic.inventory.models import Lot
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.safety.models import AdverseEvent, Relation
from mesoclinic.safety.services import EventInput, adverse_event_record
from mesoclinic.scheduling.models import Appointment, AppointmentStatus
from mesoclinic.scheduling.services import SESSION_TYPE_CODE, _type
from mesoclinic.treatments.models import Injection, SessionStatus, TreatmentSession
from tests.conftest import make_patient
from tests.scheduling_fixtures import LONDON


@dataclass(frozen=True)
class Given:
    """One signed session of the history: when, by whom, with which lot, and the side
    effect terms that followed it (none by default)."""

    day: dt.date
    lot: Lot
    practitioner: Any
    version: ProtocolVersion
    terms: tuple[str, ...] = ()
    relation: str = Relation.POSSIBLE
    patient: Any = None  # default: a new patient for each session
    more_lots: tuple[Lot, ...] = ()  # further lines, one per lot (zones after the vertex)


def history(world: Any, sessions: list[Given]) -> list[TreatmentSession]:
    """The sessions (at 10:00 London at Acme City, a new patient's unless given), signed, with
    their side effects recorded the same evening by the session's practitioner."""
    session_type = _type(world.acme, SESSION_TYPE_CODE)
    made = []
    for index, given in enumerate(sessions):
        patient = given.patient or make_patient(
            world.acme, world.fiona, given_name=f"Hist{index}", family_name="Patient"
        )
        starts = dt.datetime.combine(given.day, dt.time(10), tzinfo=LONDON)
        appointment = Appointment.objects.create(
            organisation=world.acme,
            clinic=world.acme_city,
            practitioner=given.practitioner,
            patient=patient,
            appointment_type=session_type,
            starts_at=starts + dt.timedelta(minutes=index % 7),
            ends_at=starts + dt.timedelta(minutes=45),
            status=AppointmentStatus.COMPLETED,
            created_by=world.fiona,
        )
        session = TreatmentSession.objects.create(
            organisation=world.acme,
            patient=patient,
            clinic=world.acme_city,
            practitioner=given.practitioner,
            appointment=appointment,
            protocol_version=given.version,
            area=given.version.area,
            performed_on=given.day,
            status=SessionStatus.SIGNED,
            signed_at=starts + dt.timedelta(minutes=40),
            signed_by=given.practitioner,
            created_by=given.practitioner,
        )
        zones = ("vertex", "mid_scalp", "frontal_hairline", "occipital")
        for position, lot in enumerate((given.lot, *given.more_lots), 1):
            Injection.objects.create(
                organisation=world.acme,
                session=session,
                position=position,
                zone=zones[position - 1],
                technique="nappage",
                volume_ml=Decimal("1.0"),
                product=lot.product,
                lot=lot,
            )
        for term in given.terms:
            record_event(world, session, term=term, relation=given.relation)
        made.append(session)
    return made


def record_event(
    world: Any, session: TreatmentSession, *, term: str = "erythema", **overrides: Any
) -> AdverseEvent:
    fields: dict[str, Any] = {
        "term": term,
        "onset_at": session.appointment.starts_at + dt.timedelta(hours=4),
        "grade": 1,
        "relation": Relation.POSSIBLE,
    }
    fields.update(overrides)
    return adverse_event_record(
        patient=session.patient,
        appointments=[session.appointment],
        data=EventInput(**fields),
        acting_user=session.practitioner,
    )
