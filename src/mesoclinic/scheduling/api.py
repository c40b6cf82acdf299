"""/api/v1/courses and /api/v1/appointments: plan, book and keep courses on track; the
calendar's appointments.

Every staff role reads; admins, practitioners and the front desk write (auditors: 403).
An id in the path of another organisation is a 404; an id in the body or the query that is
not one of the organisation's is a 422 naming the field. Reading a course is a chart read
and is audited, as screenings are.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router

from mesoclinic.accounts.access import Workspace, request_workspace
from mesoclinic.accounts.models import Clinic, User
from mesoclinic.api.access import given, writer
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_get, patient_get_for_chart
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.scheduling.models import (
    HELD_STATUSES,
    Appointment,
    AppointmentType,
    Course,
    CourseSession,
    Room,
)
from mesoclinic.scheduling.schemas import (
    AppointmentChangeOut,
    AppointmentIn,
    AppointmentListParams,
    AppointmentOut,
    AppointmentPage,
    CancelIn,
    CourseBookingOut,
    CourseIn,
    CourseListParams,
    CourseOut,
    MoveIn,
    NoShowIn,
    ReasonIn,
    SlotParams,
    SlotsOut,
    appointment_out,
    course_out,
    slots_out,
)
from mesoclinic.scheduling.selectors import (
    appointment_get,
    appointment_get_for_read,
    appointments_between,
    clinic_get,
    course_get,
    courses_of,
    move_options,
    practitioner_get,
    sessions_with_appointments,
)
from mesoclinic.scheduling.services import (
    BookingResult,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_move,
    appointment_no_show,
    course_book,
    course_cancel,
    course_create,
)

courses_router = Router()
appointments_router = Router()

T = TypeVar("T")


def _patient(workspace: Workspace, patient_id: int, field: str = "patient_id") -> Patient:
    return given(field, "patient", lambda: patient_get(workspace=workspace, patient_id=patient_id))


def _clinic(workspace: Workspace, clinic_id: int) -> Clinic:
    return given(
        "clinic_id", "clinic", lambda: clinic_get(workspace=workspace, clinic_id=clinic_id)
    )


def _practitioner(workspace: Workspace, user_id: int) -> User:
    return given(
        "practitioner_id",
        "practitioner",
        lambda: practitioner_get(workspace=workspace, user_id=user_id),
    )


def _protocol_version(workspace: Workspace, protocol_id: int) -> ProtocolVersion:
    protocol = (
        Protocol.objects.filter(organisation=workspace.organisation, pk=protocol_id)
        .select_related("current_version__protocol")
        .first()
    )
    if protocol is None or protocol.current_version is None:
        raise DomainError("No protocol with this id in your organisation.", field="protocol_id")
    return protocol.current_version


def _appointment_type(workspace: Workspace, wanted: int | str) -> AppointmentType:
    types = list(
        AppointmentType.objects.filter(organisation=workspace.organisation, is_active=True)
    )
    found = next(
        (t for t in types if (t.pk == wanted if isinstance(wanted, int) else t.code == wanted)),
        None,
    )
    if found is None:
        raise DomainError(
            f"Unknown appointment type {wanted!r}; use one of "
            f"{', '.join(t.code for t in types)} (or its id).",
            field="appointment_type",
        )
    return found


def _course_session(workspace: Workspace, session_id: int) -> CourseSession:
    session = (
        CourseSession.objects.filter(organisation=workspace.organisation, pk=session_id)
        .select_related("course")
        .first()
    )
    if session is None:
        raise DomainError(
            "No course session with this id in your organisation.", field="course_session_id"
        )
    return session


def _course(course: Course) -> dict[str, Any]:
    return course_out(course, sessions_with_appointments(course=course))


def _booking(workspace: Workspace, result: BookingResult) -> dict[str, Any]:
    course = course_get(workspace=workspace, course_id=result.course.pk)
    return {
        **_course(course),
        "booked": [a.pk for a in result.booked],
        "moved": [a.pk for a in result.moved],
    }


def _appointment(workspace: Workspace, appointment_id: int) -> dict[str, Any]:
    return appointment_out(
        appointment_get_for_read(workspace=workspace, appointment_id=appointment_id)
    )


# --- Courses -------------------------------------------------------------------------------


@courses_router.post(
    "",
    response={201: CourseBookingOut},
    summary="Plan a course of a protocol's current version and book its sessions",
)
def create_course(request: HttpRequest, payload: CourseIn) -> dict[str, Any]:
    """The patient must be screened for the protocol's treatment (eligible, or overridden)
    and have signed its consents. With `book` (the default) each session is booked into a
    free slot inside its window; `unplaced` lists the ones that found none."""
    workspace = writer(request)
    patient = _patient(workspace, payload.patient_id)
    version = _protocol_version(workspace, payload.protocol_id)
    clinic = _clinic(workspace, payload.clinic_id)
    practitioner = _practitioner(workspace, payload.practitioner_id)
    result = course_create(
        patient=patient,
        protocol_version=version,
        clinic=clinic,
        practitioner=practitioner,
        start_on=payload.start_on,
        induction_sessions=payload.induction_sessions,
        preferred_weekdays=payload.preferred_weekdays,
        preferred_time=payload.preferred_time,
        acting_user=workspace.user,
        book=payload.book,
    )
    return _booking(workspace, result)


@courses_router.get("", response=list[CourseOut], summary="A patient's courses (audited)")
def list_courses(request: HttpRequest, params: Query[CourseListParams]) -> list[dict[str, Any]]:
    workspace = request_workspace(request)
    patient = given(
        "patient_id",
        "patient",
        lambda: patient_get_for_chart(workspace=workspace, patient_id=params.patient_id),
    )
    courses = courses_of(patient=patient)
    sessions: dict[int, list[CourseSession]] = {c.pk: [] for c in courses}
    for session in CourseSession.objects.filter(course__in=courses).order_by("course", "position"):
        sessions[session.course_id].append(session)
    active = {
        a.course_session_id: a
        for a in Appointment.objects.filter(
            course_session__course__in=courses, status__in=HELD_STATUSES
        ).select_related("room", "practitioner")
    }
    return [course_out(c, [(s, active.get(s.pk)) for s in sessions[c.pk]]) for c in courses]


@courses_router.get("/{int:course_id}", response=CourseOut, summary="One course (audited)")
def read_course(request: HttpRequest, course_id: int) -> dict[str, Any]:
    workspace = request_workspace(request)
    course = course_get(workspace=workspace, course_id=course_id)
    patient_get_for_chart(workspace=workspace, patient_id=course.patient_id)
    return _course(course)


@courses_router.post(
    "/{int:course_id}/book",
    response=CourseBookingOut,
    summary="Keep the course on track: re-plan, book unbooked sessions, move stray ones",
)
def book_course(request: HttpRequest, course_id: int) -> dict[str, Any]:
    workspace = writer(request)
    course = course_get(workspace=workspace, course_id=course_id)
    return _booking(workspace, course_book(course=course, acting_user=workspace.user))


@courses_router.post(
    "/{int:course_id}/cancel",
    response=CourseOut,
    summary="Cancel the course and every appointment it still holds",
)
def cancel_course(request: HttpRequest, course_id: int, payload: ReasonIn) -> dict[str, Any]:
    workspace = writer(request)
    course = course_get(workspace=workspace, course_id=course_id)
    course_cancel(course=course, reason=payload.reason, acting_user=workspace.user)
    return _course(course_get(workspace=workspace, course_id=course_id))


# --- Appointments --------------------------------------------------------------------------


@appointments_router.get(
    "",
    response=AppointmentPage,
    by_alias=True,
    summary="Appointments overlapping a time range (at most 62 days), in start order",
)
def list_appointments(request: HttpRequest, params: Query[AppointmentListParams]) -> dict[str, Any]:
    """`from` and `to` are ISO 8601 datetimes with their UTC offset. At most `limit` (500)
    appointments per call; page with `offset`. `count` is the total in the range."""
    workspace = request_workspace(request)
    appointments = appointments_between(
        organisation=workspace.organisation,
        starts=params.starts,
        ends=params.ends,
        clinic=None if params.clinic_id is None else _clinic(workspace, params.clinic_id),
        practitioner=(
            None
            if params.practitioner_id is None
            else _practitioner(workspace, params.practitioner_id)
        ),
        patient=None if params.patient_id is None else _patient(workspace, params.patient_id),
        include_inactive=not params.active_only,
    )
    page = list(appointments[params.offset : params.offset + params.limit])
    return {
        "count": appointments.count(),
        "limit": params.limit,
        "offset": params.offset,
        "from": params.starts,
        "to": params.ends,
        "items": [appointment_out(a) for a in page],
    }


@appointments_router.get(
    "/{int:appointment_id}", response=AppointmentOut, summary="One appointment"
)
def read_appointment(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    return _appointment(request_workspace(request), appointment_id)


@appointments_router.post(
    "",
    response={201: AppointmentOut},
    summary="Book one appointment at an explicit time",
)
def book_appointment(request: HttpRequest, payload: AppointmentIn) -> dict[str, Any]:
    """Refused with 422 outside opening or working hours, 409 when the slot is taken."""
    workspace = writer(request)
    patient = _patient(workspace, payload.patient_id)
    clinic = _clinic(workspace, payload.clinic_id)
    practitioner = _practitioner(workspace, payload.practitioner_id)
    appointment_type = _appointment_type(workspace, payload.appointment_type)
    session = (
        None
        if payload.course_session_id is None
        else _course_session(workspace, payload.course_session_id)
    )
    appointment = appointment_book(
        patient=patient,
        clinic=clinic,
        practitioner=practitioner,
        appointment_type=appointment_type,
        starts_at=payload.starts_at,
        course_session=session,
        notes=payload.notes,
        acting_user=workspace.user,
    )
    return _appointment(workspace, appointment.pk)


@appointments_router.post(
    "/{int:appointment_id}/move",
    response=AppointmentOut,
    summary="Move to another free time (same length), optionally to another practitioner",
)
def move_appointment(request: HttpRequest, appointment_id: int, payload: MoveIn) -> dict[str, Any]:
    workspace = writer(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    practitioner = (
        None
        if payload.practitioner_id is None
        else _practitioner(workspace, payload.practitioner_id)
    )
    appointment_move(
        appointment=appointment,
        starts_at=payload.starts_at,
        practitioner=practitioner,
        acting_user=workspace.user,
    )
    return _appointment(workspace, appointment_id)


def _changed(
    workspace: Workspace, appointment_id: int, result: BookingResult | None
) -> dict[str, Any]:
    return {
        "appointment": _appointment(workspace, appointment_id),
        "course": None if result is None else _booking(workspace, result),
    }


@appointments_router.post(
    "/{int:appointment_id}/cancel",
    response=AppointmentChangeOut,
    summary="Cancel with a reason; a course session can be re-booked at once",
)
def cancel_appointment(
    request: HttpRequest, appointment_id: int, payload: CancelIn
) -> dict[str, Any]:
    workspace = writer(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    result = appointment_cancel(
        appointment=appointment,
        reason=payload.reason,
        rebook=payload.rebook,
        acting_user=workspace.user,
    )
    return _changed(workspace, appointment_id, result)


@appointments_router.post(
    "/{int:appointment_id}/check-in",
    response=AppointmentOut,
    summary="The patient has arrived (on the appointment's day)",
)
def check_in(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    workspace = writer(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    appointment_check_in(appointment=appointment, acting_user=workspace.user)
    return _appointment(workspace, appointment_id)


@appointments_router.post(
    "/{int:appointment_id}/no-show",
    response=AppointmentChangeOut,
    summary="The patient did not come; a course session is re-booked unless rebook is false",
)
def no_show(
    request: HttpRequest, appointment_id: int, payload: NoShowIn | None = None
) -> dict[str, Any]:
    workspace = writer(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    result = appointment_no_show(
        appointment=appointment,
        rebook=True if payload is None else payload.rebook,
        acting_user=workspace.user,
    )
    return _changed(workspace, appointment_id, result)


@appointments_router.get(
    "/{int:appointment_id}/slots",
    response=SlotsOut,
    summary="Free times to move the appointment to, day by day",
)
def move_slots(
    request: HttpRequest, appointment_id: int, params: Query[SlotParams]
) -> dict[str, Any]:
    """A course session: the days of its planned window from today; any other appointment:
    the next 14 days. The appointment's own time counts as free."""
    workspace = request_workspace(request)
    appointment = appointment_get(workspace=workspace, appointment_id=appointment_id)
    practitioner = (
        appointment.practitioner
        if params.practitioner_id is None
        else _practitioner(workspace, params.practitioner_id)
    )
    options = move_options(
        appointment=appointment,
        practitioner=practitioner,
        today=clock.today_in(appointment.clinic.tzinfo),
        step_minutes=settings.BOOKING_STEP_MINUTES,
    )
    rooms = {r.pk: r for r in Room.objects.filter(clinic=appointment.clinic)}
    return slots_out(
        appointment=appointment, practitioner=practitioner, options=options, rooms=rooms
    )
