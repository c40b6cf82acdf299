"""Recording side effects through the services: what is stored, the flags, the refusals
that save nothing, the pre-check that blocks the next session, and the daily check."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from django.core.management import call_command

from mesoclinic.accounts.models import Membership
from mesoclinic.accounts.services import membership_deactivate
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.safety.models import (
    AdverseEvent,
    AdverseEventFollowUp,
    AdverseEventVisit,
    Outcome,
)
from mesoclinic.safety.services import (
    adverse_event_follow_up,
    adverse_event_record,
    adverse_event_resolve,
    adverse_event_review,
    adverse_event_update,
    adverse_events_flag,
)
from mesoclinic.scheduling.models import SentMessage
from mesoclinic.treatments.services import (
    session_open,
    session_prechecks,
    session_sign,
    session_update,
)
from tests.conftest import make_patient
from tests.safety.conftest import EVENING, NIGHT, SESSION_START, itching, record
from tests.scheduling_fixtures import LONDON
from tests.treatments.conftest import course_appointment


@contextmanager
def nothing_saved():
    counts = (
        AdverseEvent.objects.count(),
        AdverseEventVisit.objects.count(),
        AdverseEventFollowUp.objects.count(),
        AuditEvent.objects.count(),
    )
    yield
    assert counts == (
        AdverseEvent.objects.count(),
        AdverseEventVisit.objects.count(),
        AdverseEventFollowUp.objects.count(),
        AuditEvent.objects.count(),
    )


def test_recording_itching_stores_the_event_with_its_expected_course_and_audit(world, signed_visit):
    event = record(world, signed_visit)

    event.refresh_from_db()
    assert event.patient == signed_visit.patient
    assert event.responsible == world.paul  # who gave the session
    assert event.recorded_by == world.paul
    assert event.outcome == Outcome.ONGOING and event.is_open
    assert not event.is_serious and event.serious_flagged_at is None
    # Itching is expected to be over within 48 hours of its onset.
    assert event.expected_end_at == EVENING + dt.timedelta(hours=48)
    assert event.prolonged_flagged_at is None
    assert list(event.visits.values_list("appointment_id", flat=True)) == [
        signed_visit.appointment_id
    ]
    audit = AuditEvent.objects.get(action="adverse_event.record")
    assert audit.patient == signed_visit.patient
    assert audit.actor == world.paul
    assert audit.changes["term"] == {"new": "pruritus"}
    assert audit.changes["grade"] == {"new": 1}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"onset_at": SESSION_START - dt.timedelta(hours=1)}, "onset_at", "before the session"),
        ({"onset_at": dt.datetime(2026, 12, 3, 9, 0, tzinfo=LONDON)}, "onset_at", "future"),
        ({"grade": 0}, "grade", "between 1 and 5"),
        ({"grade": 6}, "grade", "between 1 and 5"),
        ({"term": "dizziness"}, "term", "from the list"),
        ({"term": "other", "term_text": "  "}, "term_text", "Say what"),
        ({"relation": "maybe"}, "relation", "relates"),
        ({"serious_criteria": ("boring",)}, "serious_criteria", "Unknown"),
        ({"actions": ("none", "cold_compress")}, "actions", "cannot be combined"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_saved(
    world, signed_visit, overrides, field, message
):
    with nothing_saved(), pytest.raises(DomainError, match=message) as error:
        record(world, signed_visit, itching(**overrides))
    assert error.value.field == field


def test_a_session_of_another_patient_is_refused(world, signed_visit):
    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Else")
    with nothing_saved(), pytest.raises(DomainError, match="another patient") as error:
        adverse_event_record(
            patient=other,
            appointments=[signed_visit.appointment],
            data=itching(),
            acting_user=world.paul,
        )
    assert error.value.field == "sessions"


def test_a_visit_without_a_signed_session_cannot_be_related(
    world, stocked, todays_appointment, fixed_clock
):
    session_open(appointment=todays_appointment, acting_user=world.paul)  # a draft only
    fixed_clock.set(EVENING + dt.timedelta(hours=1))
    with nothing_saved(), pytest.raises(DomainError, match="no signed session"):
        adverse_event_record(
            patient=todays_appointment.patient,
            appointments=[todays_appointment],
            data=itching(),
            acting_user=world.paul,
        )


@pytest.mark.parametrize("who", ["fiona", "audrey"])
def test_only_clinicians_record_side_effects(world, signed_visit, who):
    with nothing_saved(), pytest.raises(DomainError, match="practitioner"):
        record(world, signed_visit, acting_user=getattr(world, who))


def test_grade_three_is_serious_at_once_and_blocks_the_next_session_until_reviewed(
    world, signed_visit, fixed_clock
):
    event = record(world, signed_visit, itching(grade=3))
    assert event.is_serious and event.needs_review
    assert event.serious_flagged_at is not None

    checks = session_prechecks(
        patient=signed_visit.patient, protocol_version=signed_visit.protocol_version
    )
    side_effects = next(c for c in checks if c.code == "adverse_events")
    assert not side_effects.ok and side_effects.checked
    assert "not reviewed" in side_effects.message

    with pytest.raises(DomainError, match="10 characters"):
        adverse_event_review(event=event, note="ok", acting_user=world.paul)
    adverse_event_review(
        event=event, note="Course paused until the itching settles.", acting_user=world.paul
    )
    checks = session_prechecks(
        patient=signed_visit.patient, protocol_version=signed_visit.protocol_version
    )
    side_effects = next(c for c in checks if c.code == "adverse_events")
    assert side_effects.ok
    assert "still open" in side_effects.message
    with pytest.raises(Conflict):
        adverse_event_review(event=event, note="Reviewed once more.", acting_user=world.paul)


def test_a_serious_term_is_serious_whatever_its_grade(world, signed_visit):
    event = record(world, signed_visit, itching(term="necrosis", grade=1))
    assert event.is_serious and event.expected_end_at is None


def test_a_seriousness_criterion_makes_a_grade_two_event_serious(world, signed_visit):
    event = record(world, signed_visit, itching(grade=2, serious_criteria=("hospitalisation",)))
    assert event.is_serious


def test_a_follow_up_that_raises_the_grade_makes_the_event_serious(world, signed_visit):
    event = record(world, signed_visit)
    adverse_event_follow_up(
        event=event, note="Scratching, skin broken.", grade=3, acting_user=world.paul
    )
    event.refresh_from_db()
    assert event.grade == 3 and event.needs_review
    follow_up = event.follow_ups.get()
    assert follow_up.grade == 3
    audit = AuditEvent.objects.filter(action="adverse_event.follow_up").get()
    assert audit.changes["grade"] == {"old": 1, "new": 3}


def test_a_follow_up_before_the_onset_is_refused(world, signed_visit):
    event = record(world, signed_visit)
    with nothing_saved(), pytest.raises(DomainError, match="before the onset"):
        adverse_event_follow_up(
            event=event,
            note="Called.",
            noted_at=EVENING - dt.timedelta(hours=2),
            acting_user=world.paul,
        )


def test_resolution_before_onset_or_in_the_future_is_refused(world, signed_visit):
    event = record(world, signed_visit)
    with nothing_saved(), pytest.raises(DomainError, match="before the onset") as error:
        adverse_event_resolve(
            event=event,
            outcome=Outcome.RESOLVED,
            resolved_on=dt.date(2026, 12, 1),
            acting_user=world.paul,
        )
    assert error.value.field == "resolved_on"
    with nothing_saved(), pytest.raises(DomainError, match="future"):
        adverse_event_resolve(
            event=event,
            outcome=Outcome.RESOLVED,
            resolved_on=dt.date(2026, 12, 9),
            acting_user=world.paul,
        )
    with nothing_saved(), pytest.raises(DomainError, match="sequelae"):
        adverse_event_resolve(
            event=event,
            outcome=Outcome.RESOLVED_WITH_SEQUELAE,
            resolved_on=dt.date(2026, 12, 2),
            acting_user=world.paul,
        )


def test_resolving_closes_the_event_once(world, signed_visit):
    event = record(world, signed_visit)
    adverse_event_resolve(
        event=event,
        outcome=Outcome.RESOLVED,
        resolved_on=dt.date(2026, 12, 2),
        note="Gone by the morning.",
        acting_user=world.paul,
    )
    event.refresh_from_db()
    assert event.outcome == Outcome.RESOLVED and event.resolved_on == dt.date(2026, 12, 2)
    assert event.follow_ups.get().note == "Gone by the morning."
    with pytest.raises(Conflict, match="closed already"):
        adverse_event_resolve(
            event=event,
            outcome=Outcome.RESOLVED,
            resolved_on=dt.date(2026, 12, 2),
            acting_user=world.paul,
        )


def test_an_update_is_audited_field_by_field_and_rechecks_the_onset(world, signed_visit):
    event = record(world, signed_visit)
    later = EVENING - dt.timedelta(hours=3)
    adverse_event_update(event=event, data=itching(onset_at=later, grade=2), acting_user=world.paul)
    event.refresh_from_db()
    assert event.grade == 2 and event.onset_at == later
    audit = AuditEvent.objects.get(action="adverse_event.update")
    assert audit.changes["grade"] == {"old": 1, "new": 2}
    assert set(audit.changes) >= {"grade", "onset_at", "expected_end_at"}
    with nothing_saved(), pytest.raises(DomainError, match="before the session"):
        adverse_event_update(
            event=event,
            data=itching(onset_at=SESSION_START - dt.timedelta(days=1)),
            acting_user=world.paul,
        )


# --- The daily check ------------------------------------------------------------------------


def test_itching_open_past_48_hours_is_flagged_prolonged_once_and_emailed_once(
    world, signed_visit, fixed_clock, smtp_server
):
    event = record(world, signed_visit)

    fixed_clock.set(EVENING + dt.timedelta(hours=47))
    assert adverse_events_flag(now=fixed_clock.now()).prolonged == []

    fixed_clock.set(EVENING + dt.timedelta(hours=49))
    call_command("safety_check")
    event.refresh_from_db()
    assert event.prolonged_flagged_at == EVENING + dt.timedelta(hours=49)
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.recipients == ["paul@acme.test"]
    assert "longer than expected" in mail.subject
    assert signed_visit.patient.mrn in mail.body
    # The name stays out of the email.
    assert signed_visit.patient.family_name not in mail.body

    fixed_clock.set(EVENING + dt.timedelta(hours=73))
    call_command("safety_check")
    event.refresh_from_db()
    assert event.prolonged_flagged_at == EVENING + dt.timedelta(hours=49)
    assert len(smtp_server.messages) == 1
    assert AuditEvent.objects.filter(action="adverse_event.flag").count() == 1
    assert SentMessage.objects.filter(key__startswith=f"safety:{event.pk}:prolonged:").count() == 1


def test_a_resolved_event_is_never_flagged_prolonged(world, signed_visit, fixed_clock):
    event = record(world, signed_visit)
    adverse_event_resolve(
        event=event,
        outcome=Outcome.RESOLVED,
        resolved_on=dt.date(2026, 12, 2),
        acting_user=world.paul,
    )
    fixed_clock.set(EVENING + dt.timedelta(days=5))
    assert adverse_events_flag(now=fixed_clock.now()).prolonged == []


def test_a_serious_event_is_emailed_to_the_responsible_practitioner_once(
    world, signed_visit, fixed_clock, smtp_server
):
    event = record(
        world, signed_visit, itching(term="angioedema", grade=2), acting_user=world.alice
    )
    assert event.responsible == world.paul
    call_command("safety_check")
    call_command("safety_check")
    subjects = [m.subject for m in smtp_server.messages]
    assert subjects == [f"Serious side effect to review: record {event.patient.mrn}"]


def test_the_alert_links_to_the_event_at_the_site_url(
    world, signed_visit, fixed_clock, smtp_server, settings
):
    settings.SITE_URL = "https://clinic.example.com"
    event = record(world, signed_visit, itching(grade=3))
    call_command("safety_check")
    (mail,) = smtp_server.messages
    assert f"https://clinic.example.com/safety/events/{event.pk}/" in mail.body


def test_a_practitioner_who_has_left_is_not_mailed(world, signed_visit, fixed_clock, smtp_server):
    event = record(world, signed_visit, itching(grade=3))
    assert event.responsible == world.paul
    membership_deactivate(
        membership=Membership.objects.get(user=world.paul, organisation=world.acme),
        acting_user=world.alice,
    )
    call_command("safety_check")
    assert smtp_server.messages == []
    event.refresh_from_db()
    # Still flagged, so the admins' dashboard lists it.
    assert event.serious_flagged_at is not None and event.needs_review


def test_an_implausible_onset_is_refused_before_anything_else(world, signed_visit):
    with nothing_saved(), pytest.raises(DomainError, match="not plausible") as error:
        record(world, signed_visit, itching(onset_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC)))
    assert error.value.field == "onset_at"


def test_an_event_that_becomes_serious_again_is_emailed_again(
    world, signed_visit, fixed_clock, smtp_server
):
    event = record(world, signed_visit, itching(grade=3))
    call_command("safety_check")
    adverse_event_review(event=event, note="Seen; next session as planned.", acting_user=world.paul)
    fixed_clock.set(NIGHT + dt.timedelta(hours=2))
    adverse_event_follow_up(event=event, note="Better.", grade=1, acting_user=world.paul)
    fixed_clock.set(NIGHT + dt.timedelta(hours=4))
    adverse_event_follow_up(event=event, note="Much worse.", grade=4, acting_user=world.paul)
    event.refresh_from_db()
    assert event.needs_review
    call_command("safety_check")
    assert [m.subject.split(":")[0] for m in smtp_server.messages] == [
        "Serious side effect to review",
        "Serious side effect to review",
    ]


def test_a_serious_event_reviewed_before_the_check_is_not_emailed(
    world, signed_visit, fixed_clock, smtp_server
):
    event = record(world, signed_visit, itching(grade=3))
    adverse_event_review(event=event, note="Seen at once; course paused.", acting_user=world.paul)
    call_command("safety_check")
    assert smtp_server.messages == []


def test_a_closed_event_cannot_change_grade_by_a_follow_up(world, signed_visit):
    event = record(world, signed_visit)
    adverse_event_resolve(
        event=event,
        outcome=Outcome.RESOLVED,
        resolved_on=dt.date(2026, 12, 2),
        acting_user=world.paul,
    )
    with nothing_saved(), pytest.raises(Conflict, match="closed"):
        adverse_event_follow_up(event=event, note="Worse.", grade=3, acting_user=world.paul)


def test_an_edit_started_before_another_change_is_refused(world, signed_visit, fixed_clock):
    event = record(world, signed_visit)
    opened = event.updated_at
    adverse_event_update(event=event, data=itching(grade=2), acting_user=world.alice)
    with nothing_saved(), pytest.raises(Conflict, match="Someone else changed"):
        adverse_event_update(
            event=event,
            data=itching(description="Also the neck."),
            expected_updated_at=opened,
            acting_user=world.paul,
        )
    event.refresh_from_db()
    assert event.grade == 2 and event.description == ""


def test_an_onset_moved_after_a_follow_up_is_refused(world, signed_visit):
    event = record(world, signed_visit)
    adverse_event_follow_up(event=event, note="Called.", acting_user=world.paul)  # 21:00
    with nothing_saved(), pytest.raises(DomainError, match="follow-up was noted before"):
        adverse_event_update(
            event=event,
            data=itching(onset_at=NIGHT + dt.timedelta(minutes=1)),
            acting_user=world.paul,
        )


def test_an_open_serious_event_stops_the_next_session_being_signed_until_reviewed(
    world, signed_visit, chart_content, fixed_clock
):
    event = record(world, signed_visit, itching(grade=3))
    course = signed_visit.appointment.course_session.course
    second = course_appointment(course, 2)
    fixed_clock.set(second.starts_at + dt.timedelta(minutes=10))
    draft = session_update(
        session=session_open(appointment=second, acting_user=world.paul),
        content=chart_content(),
        acting_user=world.paul,
    )
    with pytest.raises(DomainError, match="Open serious side effect not reviewed") as error:
        session_sign(session=draft, acting_user=world.paul, send_aftercare=False)
    assert error.value.field == "prechecks"
    adverse_event_review(event=event, note="Reviewed: settled, go ahead.", acting_user=world.paul)
    signed = session_sign(session=draft, acting_user=world.paul, send_aftercare=False)
    assert signed.is_signed
    check = next(c for c in signed.prechecks if c["code"] == "adverse_events")
    assert check["ok"] and "1 side effect still open" in check["message"]


def test_the_onset_day_is_the_clinic_s_local_day():
    from mesoclinic.accounts.models import Clinic
    from mesoclinic.safety.selectors import onset_day

    auckland = Clinic(name="Far", timezone="Pacific/Auckland")
    event = AdverseEvent(clinic=auckland, onset_at=dt.datetime(2026, 12, 2, 12, 30, tzinfo=dt.UTC))
    # 12:30 UTC is 01:30 the next day in Auckland (UTC+13 in December).
    assert onset_day(event) == dt.date(2026, 12, 3)
