"""Demo side effects after some of the demo sessions, written through the services at the
time they would have been reported (``clock.travel_to``), so the safety page, the chart's
Side effects tab and the flags have something to show."""

from __future__ import annotations

import datetime as dt
import random

from mesoclinic.accounts.models import User
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.safety.models import ActionTaken, AdverseEvent, Outcome, Relation, Reporter
from mesoclinic.safety.services import (
    EventInput,
    adverse_event_follow_up,
    adverse_event_record,
    adverse_event_resolve,
    adverse_event_review,
)
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments.models import TreatmentSession

# About one session in eight is followed by a recorded side effect.
SHARE_WITH_SIDE_EFFECT = 0.125
# (term, grade, hours after the session, hours it lasted, relation, actions)
DEMO_EVENTS = [
    ("erythema", 1, 1, 20, Relation.PROBABLE, (ActionTaken.NONE,)),
    ("erythema", 1, 1, 30, Relation.PROBABLE, (ActionTaken.COLD_COMPRESS,)),
    ("pruritus", 1, 4, 36, Relation.POSSIBLE, (ActionTaken.NONE,)),
    ("pruritus", 1, 6, 90, Relation.POSSIBLE, (ActionTaken.ORAL_MEDICATION,)),
    ("papules", 1, 1, 40, Relation.PROBABLE, (ActionTaken.NONE,)),
    ("pain", 1, 2, 24, Relation.PROBABLE, (ActionTaken.ORAL_MEDICATION,)),
    ("headache", 1, 3, 10, Relation.POSSIBLE, (ActionTaken.ORAL_MEDICATION,)),
    ("hematoma", 1, 2, 150, Relation.PROBABLE, (ActionTaken.COLD_COMPRESS,)),
    ("frontal_edema", 2, 20, 70, Relation.PROBABLE, (ActionTaken.COLD_COMPRESS,)),
    ("urticaria", 2, 2, 30, Relation.POSSIBLE, (ActionTaken.ORAL_MEDICATION,)),
]


def record_after(*, appointment: Appointment, rng: random.Random, now: dt.datetime) -> None:
    """Maybe record a side effect after this signed visit, and follow it to its end when
    that end is in the past. A refusal (a visit no longer signed) is skipped."""
    if rng.random() >= SHARE_WITH_SIDE_EFFECT:
        return
    session = (
        TreatmentSession.objects.in_force()
        .filter(appointment=appointment)
        .select_related("patient", "practitioner", "clinic")
        .first()
    )
    if session is None:
        return
    term, grade, after_h, lasted_h, relation, actions = rng.choice(DEMO_EVENTS)
    onset = appointment.starts_at + dt.timedelta(hours=after_h)
    reported = onset + dt.timedelta(hours=rng.choice([1, 3, 18]))
    if reported > now:
        return
    try:
        with clock.travel_to(reported):
            event = adverse_event_record(
                patient=session.patient,
                appointments=[appointment],
                data=EventInput(
                    term=term,
                    onset_at=onset,
                    grade=grade,
                    relation=relation,
                    reported_by=rng.choice(
                        [Reporter.PATIENT, Reporter.PATIENT, Reporter.PRACTITIONER]
                    ),
                    actions=actions,
                    description="Reported after the session; see the follow-up notes.",
                ),
                acting_user=session.practitioner,
            )
        ended = onset + dt.timedelta(hours=lasted_h)
        if ended > now:
            return  # still open: shows on the dashboard when past its expected course
        with clock.travel_to(ended):
            adverse_event_follow_up(
                event=event,
                note="Phoned the patient: settling.",
                acting_user=session.practitioner,
            )
            if event.needs_review:
                adverse_event_review(
                    event=event,
                    note="Reviewed; next session as planned, with a cold compress after it.",
                    acting_user=session.practitioner,
                )
            adverse_event_resolve(
                event=event,
                outcome=Outcome.RESOLVED,
                resolved_on=ended.astimezone(session.clinic.tzinfo).date(),
                acting_user=session.practitioner,
            )
    except DomainError:
        return


def seed_open_example(*, practitioner: User, now: dt.datetime) -> AdverseEvent | None:
    """One itching still open days after its expected 48 hours, after the practitioner's
    latest session given three or more days ago: the demo dashboard, chart header and
    Side effects tab then show a prolonged side effect to follow up."""
    session = (
        TreatmentSession.objects.in_force()
        .filter(practitioner=practitioner, appointment__starts_at__lte=now - dt.timedelta(days=3))
        .select_related("patient", "appointment")
        .order_by("-appointment__starts_at")
        .first()
    )
    if session is None:
        return None
    onset = session.appointment.starts_at + dt.timedelta(hours=5)
    with clock.travel_to(onset + dt.timedelta(hours=14)):
        return adverse_event_record(
            patient=session.patient,
            appointments=[session.appointment],
            data=EventInput(
                term="pruritus",
                onset_at=onset,
                grade=1,
                relation=Relation.POSSIBLE,
                reported_by=Reporter.PATIENT,
                actions=(ActionTaken.ORAL_MEDICATION,),
                action_note="Antihistamine tablet at night, as advised by phone.",
                description="Itching over the vertex since the evening after the session.",
            ),
            acting_user=practitioner,
        )
