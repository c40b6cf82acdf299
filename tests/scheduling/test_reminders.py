"""Reminders and recalls: due at the right lead, over real SMTP, each at most once, retried
after a failure, never resent after a crash, and once only when two runs overlap."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from mesoclinic.core import clock
from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.models import (
    Appointment,
    AppointmentStatus,
    MessageKind,
    MessageStatus,
    Phase,
    SentMessage,
    SessionStatus,
)
from mesoclinic.scheduling.reminders import (
    MAX_ATTEMPTS,
    Action,
    _claim_retry,
    plan_messages,
    reminder_lead,
    send_due_messages,
)
from tests.conftest import make_patient
from tests.scheduling.test_ics import (
    build_scene,
    london,
    make_appointment,
    make_course,
    make_session,
)
from tests.smtp import _free_port

UTC = dt.UTC
# Tuesday 1 December 2026, 09:00 in London (winter: London = UTC).
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Wednesday 2 December 2026, 09:00 in London: 24 hours after NOW.
TOMORROW_9 = london(2026, 12, 2, 9)
NO_EFFICACY_CLAIMS = ("result", "regrow", "effective", "guarantee", "cure", "work")


@pytest.fixture
def scene(world):
    return build_scene(world)


@pytest.fixture
def ana(world):
    patient = world.acme_patient
    patient.email = "ana.silva@example.com"
    patient.save(update_fields=["email"])
    return patient


@pytest.fixture
def closed_smtp_port():
    """An SMTP backend pointed at a port where nothing listens: every send fails."""
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=_free_port(),
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=2,
    ):
        yield


def book(scene, patient, starts_at, **kwargs):
    return make_appointment(scene, patient=patient, starts_at=starts_at, **kwargs)


def attachment_calendar(received) -> Calendar:
    [part] = [
        p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    content = part.get_content()
    return Calendar.from_ical(content if isinstance(content, bytes) else content.encode())


# --- reminders over SMTP ----------------------------------------------------------------------


def test_reminder_reaches_the_patient_over_smtp_with_local_time_and_calendar_file(
    scene, ana, world, smtp_server, settings
):
    appointment = book(scene, ana, TOMORROW_9)

    report = send_due_messages(now=NOW)

    assert (report.sent, report.failed, report.skipped, report.stuck) == (1, 0, 0, 0)
    [received] = smtp_server.messages
    assert received.recipients == ["ana.silva@example.com"]
    assert settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">") in received.sender
    assert "Acme City" in received.subject
    body = received.body
    assert "Wednesday 2 December 2026 at 09:00 (Europe/London)" in body
    assert "Dear Ana," in body
    assert "Hair mesotherapy" in body
    assert "12 Harley Lane" in body and "London W1 2AB" in body
    assert "call the clinic on +44 20 7946 0000" in body
    assert not any(word in body.lower() for word in NO_EFFICACY_CLAIMS)
    [event] = attachment_calendar(received).events
    assert str(event["UID"]) == f"appointment-{appointment.pk}@mesoclinic"
    assert event["DTSTART"].params["TZID"] == "Europe/London"


def test_summer_appointment_is_announced_at_the_clinics_wall_clock_time(scene, ana, smtp_server):
    # 1 July 2026 09:00 in London is 08:00 UTC: the email must say 09:00.
    book(scene, ana, london(2026, 7, 1, 9))

    send_due_messages(now=dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC))

    [received] = smtp_server.messages
    assert "Wednesday 1 July 2026 at 09:00 (Europe/London)" in received.body


def test_sent_reminder_is_recorded_and_audited(scene, ana, smtp_server):
    appointment = book(scene, ana, TOMORROW_9)

    send_due_messages(now=NOW)

    message = SentMessage.objects.get()
    assert message.status == MessageStatus.SENT
    assert message.kind == MessageKind.REMINDER
    assert message.key == f"appointment:{appointment.pk}:48h:{int(TOMORROW_9.timestamp())}"
    assert message.appointment == appointment
    assert message.recipient == "ana.silva@example.com"
    assert message.attempts == 1
    assert message.sent_at is not None
    event = AuditEvent.objects.get(action="message.send")
    assert event.actor is None
    assert event.patient == ana
    assert event.organisation == ana.organisation
    assert event.object_id == str(message.pk)
    assert event.changes["key"] == {"new": message.key}


def test_running_twice_sends_nothing_more(scene, ana, smtp_server):
    book(scene, ana, TOMORROW_9)

    first = send_due_messages(now=NOW)
    second = send_due_messages(now=NOW + dt.timedelta(minutes=1))

    assert (first.sent, second.sent, second.skipped) == (1, 0, 1)
    assert len(smtp_server.messages) == 1
    assert AuditEvent.objects.filter(action="message.send").count() == 1


def test_moved_appointment_is_reminded_again(scene, ana, smtp_server):
    appointment = book(scene, ana, TOMORROW_9)
    send_due_messages(now=NOW)

    moved_to = TOMORROW_9 + dt.timedelta(hours=3)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=moved_to, ends_at=moved_to + dt.timedelta(minutes=30)
    )
    report = send_due_messages(now=NOW + dt.timedelta(minutes=5))

    assert report.sent == 1
    assert len(smtp_server.messages) == 2
    assert "at 12:00 (Europe/London)" in smtp_server.messages[1].body
    assert SentMessage.objects.count() == 2


def test_late_booking_gets_a_single_reminder(scene, ana, smtp_server):
    # Booked one hour ahead: inside both the 48 h and the 2 h lead; only the 2 h one goes.
    appointment = book(scene, ana, NOW + dt.timedelta(hours=1))

    first = send_due_messages(now=NOW)
    second = send_due_messages(now=NOW + dt.timedelta(minutes=30))

    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.messages) == 1
    [message] = SentMessage.objects.all()
    assert message.key.startswith(f"appointment:{appointment.pk}:2h:")


def test_each_lead_sends_once_as_the_appointment_approaches(scene, ana, smtp_server):
    starts_at = NOW + dt.timedelta(days=3)
    book(scene, ana, starts_at)

    sent = []
    for hours_before in (72, 49, 47, 30, 3, 1.9, 1, 0.1, 0):
        moment = starts_at - dt.timedelta(hours=hours_before)
        sent.append(send_due_messages(now=moment).sent)

    assert sent == [0, 0, 1, 0, 0, 1, 0, 0, 0]
    keys = sorted(SentMessage.objects.values_list("key", flat=True))
    assert [k.split(":")[2] for k in keys] == ["2h", "48h"]


@pytest.mark.parametrize(
    ("hours_ahead", "leads", "expected"),
    [
        (72, [48, 2], None),
        (48.01, [48, 2], None),
        (48, [48, 2], 48),
        (47.5, [48, 2], 48),
        (2.01, [48, 2], 48),
        (2, [48, 2], 2),
        (0.5, [48, 2], 2),
        (0, [48, 2], None),
        (-1, [48, 2], None),
        (20, [72, 24, 2], 24),
        (30, [72, 24, 2], 72),
        (1, [24], 24),
        (30, [24], None),
    ],
)
def test_lead_time_is_the_smallest_lead_that_covers_the_start(hours_ahead, leads, expected):
    starts_at = NOW + dt.timedelta(hours=hours_ahead)
    assert reminder_lead(starts_at=starts_at, now=NOW, leads=leads) == expected


@override_settings(REMINDER_LEAD_HOURS=[72, 24, 2])
def test_configured_leads_decide_the_key(scene, ana, world, smtp_server):
    other = make_patient(world.acme, world.fiona, given_name="Bea", email="bea@example.com")
    book(scene, ana, NOW + dt.timedelta(hours=20))
    book(scene, other, NOW + dt.timedelta(hours=30), room=None)

    send_due_messages(now=NOW)

    leads = sorted(k.split(":")[2] for k in SentMessage.objects.values_list("key", flat=True))
    assert leads == ["24h", "72h"]


def test_patient_without_email_is_not_reminded(scene, world, smtp_server):
    silent = make_patient(world.acme, world.fiona, given_name="Nomail", email="")
    book(scene, silent, TOMORROW_9)

    report = send_due_messages(now=NOW)

    assert (report.sent, report.skipped) == (0, 0)
    assert smtp_server.messages == []
    assert not SentMessage.objects.exists()


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.CHECKED_IN],
)
def test_only_booked_appointments_are_reminded(scene, ana, smtp_server, status):
    book(scene, ana, TOMORROW_9, status=status)

    assert send_due_messages(now=NOW).sent == 0
    assert smtp_server.messages == []


def test_past_and_far_future_appointments_are_not_reminded(scene, ana, smtp_server):
    book(scene, ana, NOW - dt.timedelta(hours=1))
    book(scene, ana, NOW + dt.timedelta(days=10))

    assert send_due_messages(now=NOW).sent == 0
    assert not SentMessage.objects.exists()


def test_finding_due_messages_costs_the_same_queries_for_one_or_many(scene, ana, world):
    book(scene, ana, TOMORROW_9)
    with CaptureQueriesContext(connection) as one:
        plan_messages(now=NOW)
    for hour in range(10, 16):
        patient = make_patient(world.acme, world.fiona, given_name=f"P{hour}", email=f"{hour}@x.t")
        book(scene, patient, london(2026, 12, 2, hour), room=None)
    with CaptureQueriesContext(connection) as many:
        planned = plan_messages(now=NOW)

    assert len(planned) == 7
    assert len(many) == len(one)


# --- recalls ----------------------------------------------------------------------------------


def maintenance_course(
    scene, patient, *, earliest_on, status=SessionStatus.PLANNED, course_status="active"
):
    course = make_course(scene, patient, status=course_status)
    return make_session(
        course,
        position=9,
        phase=Phase.MAINTENANCE,
        number=1,
        earliest_on=earliest_on,
        window_days=30,
        status=status,
    )


@override_settings(RECALL_LEAD_DAYS=14)
def test_recall_is_sent_once_when_the_maintenance_window_is_near(scene, ana, smtp_server):
    session = maintenance_course(scene, ana, earliest_on=dt.date(2026, 12, 11))

    first = send_due_messages(now=NOW)
    second = send_due_messages(now=NOW + dt.timedelta(days=1))

    assert (first.sent, second.sent) == (1, 0)
    [received] = smtp_server.messages
    assert received.recipients == ["ana.silva@example.com"]
    assert "maintenance session" in received.subject
    body = received.body
    assert "Friday 11 December 2026" in body
    assert "Sunday 10 January 2027" in body
    assert "call Acme City on +44 20 7946 0000" in body
    assert not any(word in body.lower() for word in NO_EFFICACY_CLAIMS)
    message = SentMessage.objects.get()
    assert (message.kind, message.key) == (MessageKind.RECALL, f"recall:{session.pk}")
    assert message.course_session == session


@override_settings(RECALL_LEAD_DAYS=14)
def test_recall_waits_until_the_window_is_within_the_lead(scene, ana, smtp_server):
    # The window opens 16 days ahead: the recall goes in two days' time, not now.
    maintenance_course(scene, ana, earliest_on=dt.date(2026, 12, 17))

    assert send_due_messages(now=NOW).sent == 0
    assert send_due_messages(now=NOW + dt.timedelta(days=2)).sent == 1


@override_settings(RECALL_LEAD_DAYS=14)
def test_recall_uses_the_clinics_date_not_utcs(scene, ana, smtp_server):
    # 23:30 UTC on 26 June is already 27 June in London (BST), which is 14 days before.
    maintenance_course(scene, ana, earliest_on=dt.date(2026, 7, 11))

    assert send_due_messages(now=dt.datetime(2026, 6, 26, 22, 30, tzinfo=UTC)).sent == 0
    assert send_due_messages(now=dt.datetime(2026, 6, 26, 23, 30, tzinfo=UTC)).sent == 1


def _booked_maintenance(scene, patient):
    return maintenance_course(
        scene, patient, earliest_on=dt.date(2026, 12, 11), status=SessionStatus.BOOKED
    )


def _cancelled_course_maintenance(scene, patient):
    return maintenance_course(
        scene, patient, earliest_on=dt.date(2026, 12, 11), course_status="cancelled"
    )


def _induction_session(scene, patient):
    return make_session(make_course(scene, patient), position=2, earliest_on=dt.date(2026, 12, 11))


def _closed_window(scene, patient):
    # 1 to 31 October: closed two months before NOW.
    return maintenance_course(scene, patient, earliest_on=dt.date(2026, 10, 1))


@pytest.mark.parametrize(
    "make",
    [_booked_maintenance, _cancelled_course_maintenance, _induction_session, _closed_window],
    ids=["booked", "course cancelled", "induction", "window closed"],
)
def test_no_recall_for_sessions_that_need_none(scene, ana, smtp_server, make):
    make(scene, ana)
    assert send_due_messages(now=NOW).sent == 0
    assert smtp_server.messages == []


def test_no_recall_for_a_patient_without_email(scene, world, smtp_server):
    silent = make_patient(world.acme, world.fiona, given_name="Nomail", email="")
    maintenance_course(scene, silent, earliest_on=dt.date(2026, 12, 11))

    assert send_due_messages(now=NOW).sent == 0


# --- failures, retries, crashes ---------------------------------------------------------------


def test_failed_send_is_marked_failed_and_retried_by_a_later_run(scene, ana, smtp_server):
    book(scene, ana, TOMORROW_9)

    with override_settings(EMAIL_PORT=_free_port()):
        failed = send_due_messages(now=NOW)

    assert (failed.sent, failed.failed) == (0, 1)
    message = SentMessage.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert message.error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"
    assert message.sent_at is None
    assert not AuditEvent.objects.filter(action="message.send").exists()

    retried = send_due_messages(now=NOW + dt.timedelta(minutes=1))

    assert (retried.sent, retried.failed) == (1, 0)
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (MessageStatus.SENT, 2, "")


def test_failed_message_is_given_up_after_three_attempts(scene, ana, closed_smtp_port):
    book(scene, ana, TOMORROW_9)

    reports = [send_due_messages(now=NOW + dt.timedelta(minutes=m)) for m in range(5)]

    assert [r.failed for r in reports] == [1, 1, 1, 0, 0]
    assert [r.skipped for r in reports] == [0, 0, 0, 1, 1]
    message = SentMessage.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)


def test_a_failed_message_is_retried_by_only_one_of_two_runs(scene, ana, closed_smtp_port):
    book(scene, ana, TOMORROW_9)
    send_due_messages(now=NOW)
    [planned] = plan_messages(now=NOW)
    assert planned.action == Action.RETRY
    stale = planned.existing

    # Both runs read attempts=1; the conditional UPDATE lets only the first take it.
    first = _claim_retry(planned.due, SentMessage.objects.get(pk=stale.pk), NOW)
    second = _claim_retry(planned.due, stale, NOW)

    assert first is not None and second is None
    assert SentMessage.objects.get().attempts == 2


def test_message_stuck_in_sending_after_a_crash_is_never_resent(scene, ana, world, smtp_server):
    appointment = book(scene, ana, TOMORROW_9)
    [planned] = plan_messages(now=NOW)
    SentMessage.objects.create(
        organisation=world.acme,
        patient=ana,
        kind=MessageKind.REMINDER,
        key=planned.due.key,
        appointment=appointment,
        recipient=ana.email,
        status=MessageStatus.SENDING,
        attempts=1,
        claimed_at=NOW - dt.timedelta(hours=1),
    )

    reports = [send_due_messages(now=NOW + dt.timedelta(minutes=m)) for m in range(3)]

    assert [(r.sent, r.stuck) for r in reports] == [(0, 1)] * 3
    assert smtp_server.messages == []
    assert SentMessage.objects.get().status == MessageStatus.SENDING


def test_message_being_sent_by_another_run_right_now_is_skipped_not_stuck(
    scene, ana, world, smtp_server
):
    appointment = book(scene, ana, TOMORROW_9)
    [planned] = plan_messages(now=NOW)
    SentMessage.objects.create(
        organisation=world.acme,
        patient=ana,
        kind=MessageKind.REMINDER,
        key=planned.due.key,
        appointment=appointment,
        recipient=ana.email,
        status=MessageStatus.SENDING,
        attempts=1,
        claimed_at=NOW - dt.timedelta(seconds=10),
    )

    report = send_due_messages(now=NOW)

    assert (report.sent, report.skipped, report.stuck) == (0, 1, 0)
    assert smtp_server.messages == []


# --- two runs at once (PostgreSQL) ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_message_once(world, smtp_server):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serialises writers, so the runs would not overlap; "
            "run with DATABASE_URL=postgres://..."
        )
    scene = build_scene(world)
    for hour in range(9, 17):
        patient = make_patient(
            world.acme, world.fiona, given_name=f"Patient{hour}", email=f"p{hour}@example.com"
        )
        book(scene, patient, london(2026, 12, 2, hour), room=None)
    maintenance_course(scene, world.pat_patient, earliest_on=dt.date(2026, 12, 11))

    runs = 4
    barrier = threading.Barrier(runs)
    reports = []
    errors = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            reports.append(send_due_messages(now=NOW))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.sent for r in reports) == 9
    assert sum(r.failed for r in reports) == 0
    assert sum(r.sent + r.skipped for r in reports) == 9 * runs
    assert len(smtp_server.messages) == 9
    assert sorted(m.recipients[0] for m in smtp_server.messages) == sorted(
        [f"p{hour}@example.com" for hour in range(9, 17)] + ["pat@example.com"]
    )
    assert SentMessage.objects.filter(status=MessageStatus.SENT).count() == 9
    assert AuditEvent.objects.filter(action="message.send").count() == 9


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def test_command_prints_a_one_line_summary(scene, ana, smtp_server, fixed_clock):
    book(scene, ana, TOMORROW_9)
    out = io.StringIO()

    call_command("send_reminders", stdout=out)

    assert out.getvalue().strip() == "sent 1, failed 0, skipped 0, stuck 0"
    assert len(smtp_server.messages) == 1


def test_command_dry_run_lists_messages_without_claiming_or_sending(
    scene, ana, smtp_server, fixed_clock
):
    appointment = book(scene, ana, TOMORROW_9)
    out = io.StringIO()

    call_command("send_reminders", "--dry-run", stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert lines[0] == (
        f"would send reminder appointment:{appointment.pk}:48h:{int(TOMORROW_9.timestamp())}"
        f" to {ana.mrn} at Acme City"
    )
    assert lines[-1] == "dry run: would send 1, skipped 0, stuck 0"
    assert "ana.silva@example.com" not in out.getvalue()
    assert not SentMessage.objects.exists()
    assert smtp_server.messages == []


def test_command_exits_1_when_a_message_failed(scene, ana, closed_smtp_port, fixed_clock):
    book(scene, ana, TOMORROW_9)
    out = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("send_reminders", stdout=out)

    assert exit_info.value.code == 1
    assert out.getvalue().strip() == "sent 0, failed 1, skipped 0, stuck 0"
