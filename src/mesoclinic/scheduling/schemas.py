"""Input and output schemas of /api/v1/courses and /api/v1/appointments.

Times go out as ISO 8601 with the UTC offset, in the clinic's time zone, next to that zone's
name; times come in only with an offset (a time without one is refused, not guessed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, ValidationInfo, field_validator

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.patients import validators
from mesoclinic.scheduling.availability import Slot
from mesoclinic.scheduling.models import (
    Appointment,
    Course,
    CourseSession,
    Room,
    SessionStatus,
    TimeOfDay,
)

LIST_RANGE_MAX_DAYS = 62
LIST_LIMIT_MAX = 500
LIST_LIMIT_DEFAULT = 200
TEXT_MAX_CHARS = 5000


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _text_only(value: Any, example: str) -> Any:
    # Pydantic would read a number as a Unix timestamp.
    if not isinstance(value, str | dt.date):
        raise ValueError(f"Give the value as text, e.g. {example}.")
    return value


def datetime_text(value: Any) -> Any:
    return _text_only(value, "2026-12-07T09:30:00+00:00")


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` if it carries a UTC offset; a time without one is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "Include a UTC offset (e.g. 2026-12-07T09:30:00+00:00 or 2026-12-07T09:30:00Z); "
            "a time without one is ambiguous."
        )
    return value


def _reason(value: str) -> str:
    value = validators.clean_text(value, label="Reason", max_chars=TEXT_MAX_CHARS)
    if not value:
        raise ValueError("Give a reason.")
    return value


# --- Input ---------------------------------------------------------------------------------


class CourseIn(_Strict):
    patient_id: StrictInt
    protocol_id: StrictInt = Field(description="The course uses the protocol's current version")
    clinic_id: StrictInt
    practitioner_id: StrictInt
    start_on: dt.date = Field(description="The first session's earliest day, YYYY-MM-DD")
    induction_sessions: StrictInt | None = Field(
        None, description="null: the protocol's largest number"
    )
    preferred_weekdays: list[StrictInt] = Field(
        default_factory=list, max_length=7, description="0 = Monday ... 6 = Sunday"
    )
    preferred_time: str = Field(
        TimeOfDay.ANY.value, max_length=16, description="any, morning or afternoon"
    )
    book: StrictBool = Field(True, description="Book every session into a free slot now")

    _start_text = field_validator("start_on", mode="before")(
        lambda value: _text_only(value, "2026-12-07")
    )

    @field_validator("induction_sessions")
    @classmethod
    def _sessions(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 52:
            raise ValueError("Give from 1 to 52 induction sessions (or null).")
        return value

    @field_validator("preferred_weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in value):
            raise ValueError("Weekdays are 0 (Monday) to 6 (Sunday).")
        return sorted(set(value))

    @field_validator("preferred_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if value not in TimeOfDay.values:
            raise ValueError(f"Use one of {', '.join(TimeOfDay.values)}.")
        return value


class CourseListParams(Schema):
    patient_id: int


class ReasonIn(_Strict):
    reason: str = Field(max_length=100_000)

    _reason = field_validator("reason")(_reason)


class AppointmentIn(_Strict):
    patient_id: StrictInt
    clinic_id: StrictInt
    practitioner_id: StrictInt
    appointment_type: StrictInt | str = Field(
        description="The type's code (course-session, review, consultation...) or id"
    )
    starts_at: dt.datetime = Field(description="With its UTC offset")
    course_session_id: StrictInt | None = Field(
        None, description="The course session this appointment is for"
    )
    notes: str = Field("", max_length=100_000)

    _starts_text = field_validator("starts_at", mode="before")(datetime_text)
    _starts_aware = field_validator("starts_at")(aware)

    @field_validator("appointment_type", mode="before")
    @classmethod
    def _type_kind(cls, value: Any) -> Any:
        # Checked first, so a wrong kind gets one message rather than one per union member.
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("Give the appointment type's code (text) or id (a whole number).")
        return value

    @field_validator("appointment_type")
    @classmethod
    def _type(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not 1 <= len(value.strip()) <= 40:
            raise ValueError("Give the appointment type's code or id.")
        return value.strip() if isinstance(value, str) else value

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        return validators.clean_text(value, label="Notes", max_chars=TEXT_MAX_CHARS)


class MoveIn(_Strict):
    starts_at: dt.datetime = Field(description="The new start, with its UTC offset")
    practitioner_id: StrictInt | None = Field(None, description="null: the same practitioner")

    _starts_text = field_validator("starts_at", mode="before")(datetime_text)
    _starts_aware = field_validator("starts_at")(aware)


class CancelIn(_Strict):
    reason: str = Field(max_length=100_000)
    rebook: StrictBool = Field(
        False, description="For a course session: book the course again inside its windows"
    )

    _reason = field_validator("reason")(_reason)


class NoShowIn(_Strict):
    rebook: StrictBool = Field(
        True, description="For a course session: book the missed session again"
    )


class AppointmentListParams(Schema):
    model_config = ConfigDict(populate_by_name=True)

    starts: dt.datetime = Field(
        alias="from", description="Start of the range, ISO 8601 with its UTC offset"
    )
    ends: dt.datetime = Field(
        alias="to",
        description=f"End of the range (at most {LIST_RANGE_MAX_DAYS} days after the start)",
    )
    clinic_id: int | None = None
    practitioner_id: int | None = None
    patient_id: int | None = None
    active_only: bool = Field(False, description="Leave out cancelled and missed appointments")
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=10_000_000)

    _aware = field_validator("starts", "ends")(aware)

    @field_validator("ends")
    @classmethod
    def _range(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        starts = info.data.get("starts")
        if starts is None:
            return value
        if value <= starts:
            raise ValueError("'to' must be after 'from'.")
        if value - starts > dt.timedelta(days=LIST_RANGE_MAX_DAYS):
            raise ValueError(
                f"The range is too long: at most {LIST_RANGE_MAX_DAYS} days from 'from'."
            )
        return value


class SlotParams(Schema):
    practitioner_id: int | None = Field(None, description="Another practitioner's free times")


# --- Output --------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class PatientRef(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str


class TypeRef(Schema):
    id: int
    code: str
    name: str
    kind: str


class AppointmentBriefOut(Schema):
    id: int
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    practitioner: Ref
    room: Ref | None


class SessionRef(Schema):
    id: int
    course_id: int
    position: int
    phase: str
    number: int


class AppointmentOut(AppointmentBriefOut):
    timezone: str
    status_reason: str
    clinic: Ref
    patient: PatientRef
    appointment_type: TypeRef
    course_session: SessionRef | None
    notes: str
    created_at: dt.datetime


class SessionOut(Schema):
    id: int
    position: int
    phase: str
    number: int
    earliest_on: dt.date
    target_on: dt.date
    latest_on: dt.date
    status: str
    done_on: dt.date | None
    off_protocol: str | None = Field(description="Why the window is off the protocol, if it is")
    off_by_days: int
    appointment: AppointmentBriefOut | None


class ProtocolRef(Schema):
    id: int
    version: int
    name: str
    kind: str
    area: str


class CourseOut(Schema):
    id: int
    status: str
    timezone: str
    patient: PatientRef
    protocol: ProtocolRef
    clinic: Ref
    practitioner: Ref
    start_on: dt.date
    induction_sessions: int
    preferred_weekdays: list[int]
    preferred_time: str
    cancel_reason: str
    cancelled_at: dt.datetime | None
    created_at: dt.datetime
    sessions: list[SessionOut]
    unplaced: list[int] = Field(
        description="Positions of sessions still to be done that have no appointment"
    )


class CourseBookingOut(CourseOut):
    booked: list[int] = Field(description="Appointments this call booked")
    moved: list[int] = Field(description="Appointments this call moved back into their windows")


class AppointmentChangeOut(Schema):
    appointment: AppointmentOut
    course: CourseBookingOut | None = Field(
        description="For a course session: the course after the change (and any re-booking)"
    )


class AppointmentPage(Schema):
    count: int
    limit: int
    offset: int
    starts: dt.datetime = Field(alias="from")
    ends: dt.datetime = Field(alias="to")
    items: list[AppointmentOut]


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    room: Ref | None


class SlotDayOut(Schema):
    date: dt.date
    slots: list[SlotOut]


class SlotsOut(Schema):
    appointment_id: int
    timezone: str
    practitioner: Ref
    duration_minutes: int
    days: list[SlotDayOut]


# --- Building the output --------------------------------------------------------------------


def local(moment: dt.datetime, clinic: Clinic) -> dt.datetime:
    return moment.astimezone(clinic.tzinfo)


def user_ref(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": user.full_name or user.email}


def room_ref(room: Room | None) -> dict[str, Any] | None:
    return None if room is None else {"id": room.pk, "name": room.name}


def appointment_brief(appointment: Appointment, clinic: Clinic) -> dict[str, Any]:
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "starts_at": local(appointment.starts_at, clinic),
        "ends_at": local(appointment.ends_at, clinic),
        "practitioner": user_ref(appointment.practitioner),
        "room": room_ref(appointment.room),
    }


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    """Needs the relations ``selectors.appointment_queryset`` loads."""
    clinic = appointment.clinic
    patient = appointment.patient
    kind = appointment.appointment_type
    session = appointment.course_session
    return {
        **appointment_brief(appointment, clinic),
        "timezone": clinic.timezone,
        "status_reason": appointment.status_reason,
        "clinic": {"id": clinic.pk, "name": clinic.name},
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
        },
        "appointment_type": {
            "id": kind.pk,
            "code": kind.code,
            "name": kind.name,
            "kind": kind.kind,
        },
        "course_session": None
        if session is None
        else {
            "id": session.pk,
            "course_id": session.course_id,
            "position": session.position,
            "phase": session.phase,
            "number": session.number_in_phase,
        },
        "notes": appointment.notes,
        "created_at": appointment.created_at,
    }


def course_out(
    course: Course, sessions: list[tuple[CourseSession, Appointment | None]]
) -> dict[str, Any]:
    """``sessions``: each session of the course, in order, with its active appointment."""
    clinic = course.clinic
    version = course.protocol_version
    patient = course.patient
    return {
        "id": course.pk,
        "status": course.status,
        "timezone": clinic.timezone,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
        },
        "protocol": {
            "id": version.protocol_id,
            "version": version.number,
            "name": version.name,
            "kind": version.kind,
            "area": version.area,
        },
        "clinic": {"id": clinic.pk, "name": clinic.name},
        "practitioner": user_ref(course.practitioner),
        "start_on": course.start_on,
        "induction_sessions": course.induction_sessions,
        "preferred_weekdays": list(course.preferred_weekdays),
        "preferred_time": course.preferred_time,
        "cancel_reason": course.cancel_reason,
        "cancelled_at": course.cancelled_at,
        "created_at": course.created_at,
        "sessions": [
            {
                "id": s.pk,
                "position": s.position,
                "phase": s.phase,
                "number": s.number_in_phase,
                "earliest_on": s.earliest_on,
                "target_on": s.target_on,
                "latest_on": s.latest_on,
                "status": s.status,
                "done_on": s.done_on,
                "off_protocol": s.off_protocol or None,
                "off_by_days": s.off_by_days,
                "appointment": None if a is None else appointment_brief(a, clinic),
            }
            for s, a in sessions
        ],
        "unplaced": [
            s.position for s, a in sessions if s.status == SessionStatus.PLANNED and a is None
        ],
    }


def slots_out(
    *,
    appointment: Appointment,
    practitioner: User,
    options: list[tuple[dt.date, list[Slot]]],
    rooms: dict[int, Room],
) -> dict[str, Any]:
    clinic = appointment.clinic
    return {
        "appointment_id": appointment.pk,
        "timezone": clinic.timezone,
        "practitioner": user_ref(practitioner),
        "duration_minutes": int(appointment.duration.total_seconds() // 60),
        "days": [
            {
                "date": day,
                "slots": [
                    {
                        "starts_at": local(slot.starts_at, clinic),
                        "ends_at": local(slot.ends_at, clinic),
                        "room": room_ref(rooms.get(slot.room)) if slot.room else None,
                    }
                    for slot in slots
                ],
            }
            for day, slots in options
        ],
    }
