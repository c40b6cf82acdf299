"""/api/v1/adverse-events: record side effects, change them, follow them up, close and
review them; and the rates per 100 sessions.

Every staff role reads events; admins and practitioners write (front desk and auditor:
403). The rates are for admins, practitioners and auditors. An id in the path of another
organisation is a 404; an id in the body or the query that is not the organisation's is a
422 naming the field. Reading an event is audited (``adverse_event.read``); a list is
audited as ``adverse_event.list`` (with the patient when filtered by one).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router
from ninja.responses import Status

from mesoclinic.accounts.access import CLINICIANS, Workspace, request_workspace
from mesoclinic.accounts.models import Role, User
from mesoclinic.api.access import given, writer
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.selectors import patient_get
from mesoclinic.safety import rates
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.safety.schemas import (
    EventIn,
    EventListParams,
    EventOut,
    EventPage,
    EventPatch,
    FollowUpIn,
    FollowUpOut,
    RatesOut,
    RatesParams,
    ResolveIn,
    ReviewIn,
    event_brief,
    event_out,
    rates_out,
    user_ref,
)
from mesoclinic.safety.selectors import (
    EventFilter,
    clinicians_of,
    event_get,
    event_get_for_read,
    events_filtered,
    exposures_of,
    follow_ups_of,
    photos_of,
)
from mesoclinic.safety.services import (
    EventInput,
    adverse_event_follow_up,
    adverse_event_record,
    adverse_event_resolve,
    adverse_event_review,
    adverse_event_update,
)
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments.models import TreatmentSession

router = Router()
# Writes are for clinicians; the other roles get 403 with this reason.
_writer = partial(
    writer, roles=CLINICIANS, refusal="Only practitioners and admins record side effects."
)

T = TypeVar("T")
RATE_READERS = (Role.ADMIN, Role.PRACTITIONER, Role.AUDITOR)


def _edge(call: Callable[[], T]) -> T:
    """The service's field names as this API takes them."""
    try:
        return call()
    except DomainError as error:
        if error.field == "sessions":
            raise type(error)(error.message, field="session_ids") from error
        raise


def _appointments(workspace: Workspace, session_ids: list[int]) -> list[Appointment]:
    """The visits of these session revisions (any revision names its visit), inside the
    organisation; an unknown id is a 422."""
    sessions = {
        s.pk: s
        for s in TreatmentSession.objects.filter(
            organisation=workspace.organisation, pk__in=session_ids
        ).select_related("appointment")
    }
    visits: dict[int, Appointment] = {}
    for index, pk in enumerate(session_ids):
        if pk not in sessions:
            raise DomainError(
                "No session with this id in your organisation.", field=f"session_ids.{index}"
            )
        appointment = sessions[pk].appointment
        visits[appointment.pk] = appointment
    return list(visits.values())


def _responsible(workspace: Workspace, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = clinicians_of(workspace=workspace).filter(pk=user_id).first()
    if user is None:
        raise DomainError(
            "No practitioner with this id in your organisation.", field="responsible_id"
        )
    return user


def _photo_url(photo_id: int, variant: str) -> str:
    return reverse("safety_photo_file", args=[photo_id, variant])


def _detail(workspace: Workspace, event_id: int, *, audit: bool = False) -> dict[str, Any]:
    get = event_get_for_read if audit else event_get
    event = get(workspace=workspace, event_id=event_id)
    return event_out(
        event,
        now=clock.now(),
        exposures=exposures_of(event),
        follow_ups=follow_ups_of(event),
        photos=photos_of(event),
        photo_url=_photo_url,
    )


@router.get("", response=EventPage, summary="Side effects, newest onset first (audited)")
def list_events(request: HttpRequest, params: Query[EventListParams]) -> dict[str, Any]:
    """Filter by patient, term, open, serious, prolonged (open past its expected course),
    responsible practitioner and onset dates. At most `limit` (200) per call; page with
    `offset`; `count` is the total."""
    workspace = request_workspace(request)
    patient = None
    if params.patient_id is not None:
        patient_id = params.patient_id
        patient = given(
            "patient_id",
            "patient",
            lambda: patient_get(workspace=workspace, patient_id=patient_id),
        )
    now = clock.now()
    events = events_filtered(
        workspace=workspace,
        filters=EventFilter(
            patient_id=params.patient_id,
            term=params.term,
            open=params.open,
            serious=params.serious,
            prolonged=params.prolonged,
            responsible_id=params.responsible_id,
            onset_from=params.onset_from,
            onset_to=params.onset_to,
        ),
        now=now,
        tz=workspace.tzinfo,
    )
    page = list(events[params.offset : params.offset + params.limit])
    audit_record(
        action="adverse_event.list",
        actor=workspace.user,
        organisation=workspace.organisation,
        patient=patient,
        changes={
            "filters": {"new": params.model_dump_json(exclude_none=True)},
            "returned": {"new": len(page)},
        },
    )
    return {
        "count": events.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [event_brief(e, now=now) for e in page],
    }


@router.get("/rates", response=RatesOut, summary="Side-effect rates per 100 sessions")
def read_rates(request: HttpRequest, params: Query[RatesParams]) -> dict[str, Any]:
    """By product, lot, protocol, practitioner and term for the period, with the counts
    behind each rate, 95 % Wilson and exact intervals, and for lots and practitioners the
    one-sided Fisher test against the rest (see `method`). A rate with no sessions is
    null, never a division by zero."""
    workspace = request_workspace(request)
    if not workspace.has_role(*RATE_READERS):
        raise PermissionDenied("The front desk does not see the safety rates.")
    if params.end < params.start:
        raise DomainError("The end of the period is before its start.", field="end")
    clinic = None
    if params.clinic_id is not None:
        clinic = workspace.organisation.clinics.filter(pk=params.clinic_id).first()
        if clinic is None:
            raise DomainError("No clinic with this id in your organisation.", field="clinic_id")
    query = rates.RatesQuery(
        start=params.start, end=params.end, clinic=clinic, related_only=params.related_only
    )
    report = rates.safety_rates_read(workspace=workspace, query=query, channel="api")
    return rates_out(report)


@router.get("/{int:event_id}", response=EventOut, summary="One side effect (audited)")
def read_event(request: HttpRequest, event_id: int) -> dict[str, Any]:
    return _detail(request_workspace(request), event_id, audit=True)


@router.post("", response={201: EventOut}, summary="Record a side effect")
def create_event(request: HttpRequest, payload: EventIn) -> Status[dict[str, Any]]:
    """`session_ids` are the signed sessions it followed (any revision id names its
    visit); the onset may not be before any of them nor in the future. A grade of 3 or
    more, a serious term or a seriousness criterion flags it serious at once."""
    workspace = _writer(request)
    patient = given(
        "patient_id",
        "patient",
        lambda: patient_get(workspace=workspace, patient_id=payload.patient_id),
    )
    appointments = _appointments(workspace, payload.session_ids)
    responsible = _responsible(workspace, payload.responsible_id)
    data = EventInput(
        term=payload.term,
        term_text=payload.term_text,
        description=payload.description,
        onset_at=payload.onset_at,
        reported_by=payload.reported_by,
        grade=payload.grade,
        serious_criteria=tuple(payload.serious_criteria),
        relation=payload.relation,
        actions=tuple(payload.actions),
        action_note=payload.action_note,
    )
    event = _edge(
        lambda: adverse_event_record(
            patient=patient,
            appointments=appointments,
            data=data,
            acting_user=workspace.user,
            responsible=responsible,
        )
    )
    return Status(201, _detail(workspace, event.pk))


def _current_input(event: AdverseEvent, payload: EventPatch) -> EventInput:
    sent = payload.model_dump(exclude_unset=True)
    sent.pop("session_ids", None)
    sent.pop("responsible_id", None)
    if sent.get("serious_criteria") is not None:
        sent["serious_criteria"] = tuple(sent["serious_criteria"])
    if sent.get("actions") is not None:
        sent["actions"] = tuple(sent["actions"])
    current: dict[str, Any] = {
        "term": event.term,
        "term_text": event.term_text,
        "description": event.description,
        "onset_at": event.onset_at,
        "reported_by": event.reported_by,
        "grade": event.grade,
        "serious_criteria": tuple(event.serious_criteria),
        "relation": event.relation,
        "actions": tuple(event.actions),
        "action_note": event.action_note,
    }
    for name, value in sent.items():
        if value is None:
            raise DomainError("This field cannot be null.", field=name)
        current[name] = value
    return EventInput(**current)


@router.patch("/{int:event_id}", response=EventOut, summary="Correct a side effect")
def update_event(request: HttpRequest, event_id: int, payload: EventPatch) -> dict[str, Any]:
    """Only the fields sent change; `session_ids` replaces the related sessions."""
    workspace = _writer(request)
    event = event_get(workspace=workspace, event_id=event_id)
    data = _current_input(event, payload)
    appointments = (
        _appointments(workspace, payload.session_ids) if payload.session_ids is not None else None
    )
    responsible = _responsible(workspace, payload.responsible_id)
    _edge(
        lambda: adverse_event_update(
            event=event,
            data=data,
            appointments=appointments,
            responsible=responsible,
            # The merge above read the event without a lock: a change made since is a 409.
            expected_updated_at=event.updated_at,
            acting_user=workspace.user,
        )
    )
    return _detail(workspace, event.pk)


@router.post("/{int:event_id}/follow-ups", response={201: FollowUpOut}, summary="Add a follow-up")
def add_follow_up(
    request: HttpRequest, event_id: int, payload: FollowUpIn
) -> Status[dict[str, Any]]:
    """A `grade` changes the event's grade from then on."""
    workspace = _writer(request)
    event = event_get(workspace=workspace, event_id=event_id)
    follow_up = adverse_event_follow_up(
        event=event,
        note=payload.note,
        grade=payload.grade,
        noted_at=payload.noted_at,
        acting_user=workspace.user,
    )
    return Status(
        201,
        {
            "id": follow_up.pk,
            "noted_at": follow_up.noted_at,
            "note": follow_up.note,
            "grade": follow_up.grade,
            "recorded_by": user_ref(workspace.user),
        },
    )


@router.post("/{int:event_id}/resolve", response=EventOut, summary="Close with an outcome")
def resolve_event(request: HttpRequest, event_id: int, payload: ResolveIn) -> dict[str, Any]:
    """The date may not be before the onset nor in the future; a closed event is 409."""
    workspace = _writer(request)
    event = event_get(workspace=workspace, event_id=event_id)
    adverse_event_resolve(
        event=event,
        outcome=payload.outcome,
        resolved_on=payload.resolved_on,
        sequelae=payload.sequelae,
        note=payload.note,
        acting_user=workspace.user,
    )
    return _detail(workspace, event.pk)


@router.post(
    "/{int:event_id}/review",
    response=EventOut,
    summary="Review a serious side effect (it then no longer blocks the next session)",
)
def review_event(request: HttpRequest, event_id: int, payload: ReviewIn) -> dict[str, Any]:
    workspace = _writer(request)
    event = event_get(workspace=workspace, event_id=event_id)
    adverse_event_review(event=event, note=payload.note, acting_user=workspace.user)
    return _detail(workspace, event.pk)
