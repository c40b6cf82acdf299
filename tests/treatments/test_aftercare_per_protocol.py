"""The aftercare sheet of a signed session comes from the set of the protocol version its
course follows: an admin's edited set reaches the sheet and the email, and a course planned
from an earlier version keeps that version's set.

The clock is Wednesday 2 December 2026, 09:30 in London (tests/treatments/conftest.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.core import mail

from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.protocols.services import ProtocolContent, protocol_revise
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.services import course_create
from mesoclinic.treatments.aftercare import (
    AftercareLine,
    default_set,
    set_from_json,
    set_to_json,
    sheet_from_json,
)
from mesoclinic.treatments.models import AftercareSheet
from mesoclinic.treatments.services import session_open, session_sign, session_update
from tests.scheduling_fixtures import CalendarWorld, FixedClock, make_ready_patient
from tests.treatments.conftest import (
    SESSION_UNDER_WAY,
    TODAY,
    ContentMaker,
    course_appointment,
)

EDITED = AftercareLine(
    code="custom-lines-1",
    text="Sleep on a clean pillowcase tonight.",
    source="Clinic practice at Acme (2026)",
    evidence="clinic_practice",
)
EDITED_CALL = AftercareLine(
    code="custom-call-the-clinic-1",
    text="Call us if the redness spreads after two days.",
    source="Expert opinion of the clinic's dermatologist",
    evidence="expert_opinion",
)


def edit_hair_set(calendar: CalendarWorld) -> ProtocolVersion:
    """Version 2 of the hair protocol: its first instruction and its first "call the clinic"
    line replaced by Acme's own."""
    world = calendar.world
    version = calendar.hair
    shipped = default_set(area=version.area, kind=version.kind)
    edited = replace(
        shipped,
        lines=(EDITED, *shipped.lines[1:]),
        call_the_clinic=(EDITED_CALL, *shipped.call_the_clinic[1:]),
    )
    return protocol_revise(
        protocol=version.protocol,
        content=replace(ProtocolContent.of(version), aftercare=set_to_json(edited)),
        change_note="Acme's own aftercare",
        acting_user=world.alice,
    )


@pytest.fixture
def edited_version(calendar: CalendarWorld) -> ProtocolVersion:
    return edit_hair_set(calendar)


@pytest.fixture
def edited_appointment(
    calendar: CalendarWorld, edited_version: ProtocolVersion, fixed_clock: FixedClock
) -> Appointment:
    """The first session of Erin's course planned from the edited version 2, today 09:00
    with Paul at Acme City; the clock is 09:30."""
    world = calendar.world
    patient = make_ready_patient(
        world, edited_version, given_name="Erin", family_name="Edited", email="erin@example.com"
    )
    course = course_create(
        patient=patient,
        protocol_version=edited_version,
        clinic=world.acme_city,
        practitioner=world.paul,
        start_on=TODAY,
        acting_user=world.fiona,
    ).course
    assert course.protocol_version_id == edited_version.pk
    appointment = course_appointment(course, 1)
    fixed_clock.set(SESSION_UNDER_WAY)
    return appointment


def sign(world: Any, appointment: Appointment, content: ContentMaker) -> AftercareSheet:
    session = session_open(appointment=appointment, acting_user=world.paul)
    session = session_update(session=session, content=content(), acting_user=world.paul)
    session = session_sign(session=session, acting_user=world.paul)
    return AftercareSheet.objects.get(session=session)


def test_a_session_of_an_edited_protocol_gets_the_edited_lines_on_its_sheet(
    world,
    stocked,
    edited_version,
    edited_appointment,
    chart_content,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        sheet = sign(world, edited_appointment, chart_content)

    stored = sheet_from_json(sheet.content)
    assert stored.set == set_from_json(edited_version.aftercare)
    assert stored.set.lines[0] == EDITED
    assert stored.set.call_the_clinic[0] == EDITED_CALL
    # Each line keeps its source and evidence on the stored sheet.
    assert sheet.content["set"]["lines"][0] == {
        "code": "custom-lines-1",
        "text": "Sleep on a clean pillowcase tonight.",
        "source": "Clinic practice at Acme (2026)",
        "evidence": "clinic_practice",
    }
    shipped = default_set(area="scalp", kind="mesotherapy")
    assert shipped.lines[0].text not in [line.text for line in stored.set.lines]
    [email] = mail.outbox
    assert email.to == ["erin@example.com"]
    assert EDITED.text in email.body
    assert EDITED_CALL.text in email.body


def test_a_course_planned_before_the_edit_keeps_its_versions_set(
    world, calendar, stocked, todays_appointment, chart_content
):
    # Rita's course was planned from version 1; the edit writes version 2.
    edit_hair_set(calendar)
    sheet = sign(world, todays_appointment, chart_content)
    stored = sheet_from_json(sheet.content)
    assert stored.set == set_from_json(calendar.hair.aftercare)
    assert EDITED.text not in [line.text for line in stored.set.lines]


def test_a_version_without_its_own_set_gives_the_shipped_one(
    world, calendar, stocked, todays_appointment, chart_content
):
    # A version written before sets were kept per protocol stores none.
    ProtocolVersion.objects.filter(pk=calendar.hair.pk).update(aftercare={})
    sheet = sign(world, todays_appointment, chart_content)
    assert sheet_from_json(sheet.content).set == default_set(area="scalp", kind="mesotherapy")
