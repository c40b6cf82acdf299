"""Writing adverse events: record, change, follow up, close, review, photos, and the
flags the daily ``safety_check`` raises.

Every function is keyword-only, runs in one transaction and writes its audit event.
Writes are for clinicians (admins and practitioners): grading and relating a side effect
to a treatment is a clinical judgement. Input is validated at the edge (forms, schemas);
what needs the database or the catalogue is checked here and refused with a
``DomainError`` naming the field, before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mesoclinic.accounts.access import CLINICIANS
from mesoclinic.accounts.models import Membership, User
from mesoclinic.core import clock
from mesoclinic.core.audit import JSONValue, audit_record, created, diff, snapshot
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.safety import catalogue, rules
from mesoclinic.safety.models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventFollowUp,
    AdverseEventPhoto,
    AdverseEventVisit,
    Outcome,
    Relation,
    Reporter,
    SeriousCriterion,
)
from mesoclinic.scheduling.models import Appointment
from mesoclinic.treatments.images import PreparedPhoto
from mesoclinic.treatments.models import TreatmentSession, delete_photo_files_after_commit

# An onset a few minutes ahead of the server's clock is a clock difference, not the future.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Earlier than this is a typing error, not a side effect of a session recorded here.
EARLIEST_PLAUSIBLE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# The fields whose changes the audit trail records.
_AUDITED = (
    "term",
    "term_text",
    "description",
    "onset_at",
    "reported_by",
    "grade",
    "serious_criteria",
    "relation",
    "actions",
    "action_note",
    "outcome",
    "resolved_on",
    "sequelae",
    "responsible",
    "clinic",
    "is_serious",
    "expected_end_at",
    "serious_flagged_at",
    "prolonged_flagged_at",
    "reviewed_at",
    "reviewed_by",
    "review_note",
)


@dataclass(frozen=True)
class EventInput:
    """What a person says about a side effect (forms and the API build it)."""

    term: str
    onset_at: dt.datetime
    grade: int
    relation: str
    reported_by: str = Reporter.PRACTITIONER
    term_text: str = ""
    description: str = ""
    serious_criteria: tuple[str, ...] = field(default_factory=tuple)
    actions: tuple[str, ...] = field(default_factory=tuple)
    action_note: str = ""


# --- Checks -----------------------------------------------------------------------------------


def _require_clinician(user: User, organisation_id: int) -> None:
    if not Membership.objects.filter(
        user=user, organisation_id=organisation_id, is_active=True, role__in=CLINICIANS
    ).exists():
        raise DomainError(_("Only a practitioner can record or change side effects."))


def _check_input(data: EventInput) -> catalogue.Term:
    try:
        term = catalogue.term(data.term)
    except catalogue.UnknownTerm:
        raise DomainError(_("Choose a side effect from the list."), field="term") from None
    if term.requires_text and not data.term_text.strip():
        raise DomainError(_("Say what the side effect is."), field="term_text")
    if data.grade not in catalogue.GRADES:
        raise DomainError(_("The grade must be between 1 and 5."), field="grade")
    if data.relation not in Relation.values:
        raise DomainError(
            _("Choose how the side effect relates to the treatment."), field="relation"
        )
    if data.reported_by not in Reporter.values:
        raise DomainError(_("Say who reported the side effect."), field="reported_by")
    if unknown := set(data.serious_criteria) - set(SeriousCriterion.values):
        raise DomainError(
            _("Unknown seriousness criterion: %(c)s.") % {"c": ", ".join(sorted(unknown))},
            field="serious_criteria",
        )
    if unknown := set(data.actions) - set(ActionTaken.values):
        raise DomainError(
            _("Unknown action: %(a)s.") % {"a": ", ".join(sorted(unknown))}, field="actions"
        )
    if ActionTaken.NONE in data.actions and len(set(data.actions)) > 1:
        raise DomainError(_("'None' cannot be combined with another action."), field="actions")
    if data.onset_at.tzinfo is None:
        raise DomainError(_("The onset needs a time zone."), field="onset_at")
    if data.onset_at < EARLIEST_PLAUSIBLE:
        raise DomainError(_("The onset date is not plausible; check the year."), field="onset_at")
    if data.onset_at > clock.now() + CLOCK_SKEW:
        raise DomainError(_("The onset cannot be in the future."), field="onset_at")
    return term


def _check_visits(
    *, patient: Patient, appointments: Sequence[Appointment], onset_at: dt.datetime
) -> dict[int, TreatmentSession]:
    """The visits' current signed sessions, by appointment id, once every visit is this
    patient's, signed, and not after the onset."""
    if not appointments:
        raise DomainError(_("Choose the session the side effect followed."), field="sessions")
    for appointment in appointments:
        if (
            appointment.patient_id != patient.pk
            or appointment.organisation_id != patient.organisation_id
        ):
            raise DomainError(
                _("One of the sessions chosen is another patient's."), field="sessions"
            )
    sessions = {
        s.appointment_id: s
        for s in TreatmentSession.objects.in_force()
        .filter(appointment__in=[a.pk for a in appointments])
        .select_related("practitioner", "clinic")
    }
    for appointment in appointments:
        if appointment.pk not in sessions:
            raise DomainError(
                _("The visit of %(day)s has no signed session to relate a side effect to.")
                % {"day": appointment.starts_at.date().isoformat()},
                field="sessions",
            )
        if onset_at < appointment.starts_at:
            tz = sessions[appointment.pk].clinic.tzinfo
            raise DomainError(
                _("The onset (%(onset)s) is before the session of %(when)s it is related to.")
                % {
                    "onset": onset_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "when": appointment.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                },
                field="onset_at",
            )
    return sessions


def _check_resolution(*, event: AdverseEvent, resolved_on: dt.date) -> None:
    tz = event.clinic.tzinfo
    onset_day = event.onset_at.astimezone(tz).date()
    if resolved_on < onset_day:
        raise DomainError(
            _("The resolution (%(resolved)s) is before the onset (%(onset)s).")
            % {"resolved": resolved_on.isoformat(), "onset": onset_day.isoformat()},
            field="resolved_on",
        )
    if resolved_on > clock.today_in(tz):
        raise DomainError(_("The resolution date cannot be in the future."), field="resolved_on")


def _latest_session(sessions: dict[int, TreatmentSession]) -> TreatmentSession:
    return max(sessions.values(), key=lambda s: (s.performed_on, s.pk))


def _derive(event: AdverseEvent, *, now: dt.datetime) -> None:
    """Write the derived flags from the catalogue and the rules. An event that becomes
    serious is flagged at once and needs a (new) review; one that is open past its
    expected course is flagged prolonged."""
    term = catalogue.term(event.term)
    was_serious = event.is_serious if event.pk else False
    event.is_serious = rules.is_serious(
        term=term, grade=event.grade, criteria=event.serious_criteria
    )
    event.expected_end_at = rules.expected_end(term=term, onset_at=event.onset_at)
    if event.is_serious and not was_serious:
        event.serious_flagged_at = now
        event.reviewed_at, event.reviewed_by, event.review_note = None, None, ""
    if not event.is_serious:
        event.serious_flagged_at = None
    if rules.is_prolonged(term=term, onset_at=event.onset_at, open=event.is_open, now=now):
        event.prolonged_flagged_at = event.prolonged_flagged_at or now
    elif event.expected_end_at is None or event.expected_end_at >= now:
        # A corrected onset or term can take the event back inside its expected course.
        event.prolonged_flagged_at = None
    event.catalogue_version = catalogue.catalogue_version()


def _apply(event: AdverseEvent, data: EventInput) -> None:
    event.term = data.term
    event.term_text = data.term_text.strip()
    event.description = data.description.strip()
    event.onset_at = data.onset_at
    event.reported_by = data.reported_by
    event.grade = data.grade
    event.serious_criteria = sorted(set(data.serious_criteria))
    event.relation = data.relation
    event.actions = sorted(set(data.actions))
    event.action_note = data.action_note.strip()


def _lock_patient(patient_id: int) -> None:
    """The patient's row first, as every booking and signature takes it: a side effect
    recorded (or made serious) while the patient's next session is being signed either
    commits before the signature's pre-check reads it, or waits for the signature."""
    list(Patient.objects.select_for_update(no_key=True).filter(pk=patient_id))


def _locked(event: AdverseEvent) -> AdverseEvent:
    _lock_patient(event.patient_id)
    locked = (
        AdverseEvent.objects.select_for_update(of=("self",))
        .select_related("patient", "clinic", "organisation", "responsible")
        .filter(pk=event.pk)
        .order_by()
        .first()
    )
    if locked is None:
        raise Conflict(_("This side effect no longer exists."))
    return locked


def _state(event: AdverseEvent) -> dict[str, JSONValue]:
    state = snapshot(event, _AUDITED)
    # JSON lists are not JSON values for snapshot(): keep them as text.
    state["serious_criteria"] = ",".join(event.serious_criteria)
    state["actions"] = ",".join(event.actions)
    return state


def _link(event: AdverseEvent, appointments: Sequence[Appointment]) -> list[int]:
    wanted = {a.pk for a in appointments}
    existing = set(event.visits.values_list("appointment_id", flat=True))
    AdverseEventVisit.objects.filter(event=event, appointment_id__in=existing - wanted).delete()
    AdverseEventVisit.objects.bulk_create(
        AdverseEventVisit(organisation_id=event.organisation_id, event=event, appointment_id=pk)
        for pk in sorted(wanted - existing)
    )
    return sorted(wanted)


# --- Record and change ------------------------------------------------------------------------


@transaction.atomic
def adverse_event_record(
    *,
    patient: Patient,
    appointments: Sequence[Appointment],
    data: EventInput,
    acting_user: User,
    responsible: User | None = None,
) -> AdverseEvent:
    """Record a side effect after one or more signed sessions of ``patient``. The
    responsible practitioner is the one who gave the latest of them unless given."""
    _require_clinician(acting_user, patient.organisation_id)
    _check_input(data)
    _lock_patient(patient.pk)
    sessions = _check_visits(patient=patient, appointments=appointments, onset_at=data.onset_at)
    latest = _latest_session(sessions)
    now = clock.now()
    event = AdverseEvent(
        organisation_id=patient.organisation_id,
        patient=patient,
        clinic=latest.clinic,
        responsible=responsible or latest.practitioner,
        recorded_by=acting_user,
    )
    _apply(event, data)
    _derive(event, now=now)
    event.save()
    visits = _link(event, appointments)
    audit_record(
        action="adverse_event.record",
        actor=acting_user,
        organisation=patient.organisation,
        obj=event,
        patient=patient,
        changes=created(_state(event)) | {"visits": {"new": ",".join(map(str, visits))}},
    )
    return event


@transaction.atomic
def adverse_event_update(
    *,
    event: AdverseEvent,
    data: EventInput,
    acting_user: User,
    appointments: Sequence[Appointment] | None = None,
    responsible: User | None = None,
    expected_updated_at: dt.datetime | None = None,
) -> AdverseEvent:
    """Correct what was recorded (term, onset, grade, relation, actions...). The visits
    change only when ``appointments`` is given (the clinic follows the latest of them).
    With ``expected_updated_at`` (the version the editor started from), a change made by
    someone else in between is refused rather than overwritten. Changes are kept in the
    audit trail."""
    event = _locked(event)
    _require_clinician(acting_user, event.organisation_id)
    if expected_updated_at is not None and event.updated_at != expected_updated_at:
        raise Conflict(_("Someone else changed this side effect since you opened it; reload it."))
    _check_input(data)
    if appointments is None:
        appointments = list(
            Appointment.objects.filter(adverse_event_links__event=event).order_by("pk")
        )
    sessions = _check_visits(
        patient=event.patient, appointments=appointments, onset_at=data.onset_at
    )
    if event.follow_ups.filter(noted_at__lt=data.onset_at).exists():
        raise DomainError(
            _("A follow-up was noted before this onset; check the onset."), field="onset_at"
        )
    before = _state(event)
    before_visits = sorted(event.visits.values_list("appointment_id", flat=True))
    _apply(event, data)
    event.clinic = _latest_session(sessions).clinic
    if responsible is not None:
        event.responsible = responsible
    if not event.is_open and event.resolved_on is not None:
        _check_resolution(event=event, resolved_on=event.resolved_on)
    _derive(event, now=clock.now())
    event.save()
    visits = _link(event, appointments)
    changes: dict[str, dict[str, JSONValue]] = diff(before, _state(event))
    if visits != before_visits:
        changes["visits"] = {
            "old": ",".join(map(str, before_visits)),
            "new": ",".join(map(str, visits)),
        }
    if changes:
        audit_record(
            action="adverse_event.update",
            actor=acting_user,
            organisation=event.organisation,
            obj=event,
            patient=event.patient,
            changes=changes,
        )
    return event


@transaction.atomic
def adverse_event_follow_up(
    *,
    event: AdverseEvent,
    note: str,
    acting_user: User,
    grade: int | None = None,
    noted_at: dt.datetime | None = None,
) -> AdverseEventFollowUp:
    """Add a note on the event's course; a ``grade`` changes the event's grade from now
    on (a worsening can make it serious at once)."""
    event = _locked(event)
    _require_clinician(acting_user, event.organisation_id)
    now = clock.now()
    noted_at = noted_at or now
    if not note.strip():
        raise DomainError(_("Write what was found or said."), field="note")
    if grade is not None and grade not in catalogue.GRADES:
        raise DomainError(_("The grade must be between 1 and 5."), field="grade")
    if grade is not None and grade != event.grade and not event.is_open:
        raise Conflict(_("This side effect is closed; correct it instead of changing its grade."))
    if noted_at < event.onset_at:
        raise DomainError(_("A follow-up cannot be before the onset."), field="noted_at")
    if noted_at > now + CLOCK_SKEW:
        raise DomainError(_("A follow-up cannot be in the future."), field="noted_at")
    follow_up = AdverseEventFollowUp.objects.create(
        organisation_id=event.organisation_id,
        event=event,
        noted_at=noted_at,
        note=note.strip(),
        grade=grade,
        recorded_by=acting_user,
    )
    changes: dict[str, dict[str, JSONValue]] = {
        "follow_up": {"new": follow_up.pk},
        "note": {"new": follow_up.note},
    }
    if grade is not None and grade != event.grade:
        before = _state(event)
        event.grade = grade
        _derive(event, now=now)
        event.save()
        changes |= diff(before, _state(event))
    audit_record(
        action="adverse_event.follow_up",
        actor=acting_user,
        organisation=event.organisation,
        obj=event,
        patient=event.patient,
        changes=changes,
    )
    return follow_up


@transaction.atomic
def adverse_event_resolve(
    *,
    event: AdverseEvent,
    outcome: str,
    resolved_on: dt.date,
    acting_user: User,
    sequelae: str = "",
    note: str = "",
) -> AdverseEvent:
    """Close the event with its outcome and date. Sequelae must be described when the
    outcome says there are some. Closing twice is refused (correct it with an update)."""
    event = _locked(event)
    _require_clinician(acting_user, event.organisation_id)
    if not event.is_open:
        raise Conflict(_("This side effect is closed already."))
    if outcome not in Outcome.values or outcome == Outcome.ONGOING:
        raise DomainError(_("Choose how the side effect ended."), field="outcome")
    if outcome == Outcome.RESOLVED_WITH_SEQUELAE and not sequelae.strip():
        raise DomainError(_("Describe the sequelae."), field="sequelae")
    _check_resolution(event=event, resolved_on=resolved_on)
    before = _state(event)
    event.outcome = outcome
    event.resolved_on = resolved_on
    event.sequelae = sequelae.strip()
    _derive(event, now=clock.now())
    event.save()
    changes = diff(before, _state(event))
    if note.strip():
        follow_up = AdverseEventFollowUp.objects.create(
            organisation_id=event.organisation_id,
            event=event,
            noted_at=clock.now(),
            note=note.strip(),
            recorded_by=acting_user,
        )
        changes["follow_up"] = {"new": follow_up.pk}
    audit_record(
        action="adverse_event.resolve",
        actor=acting_user,
        organisation=event.organisation,
        obj=event,
        patient=event.patient,
        changes=changes,
    )
    return event


@transaction.atomic
def adverse_event_review(*, event: AdverseEvent, note: str, acting_user: User) -> AdverseEvent:
    """A practitioner has looked at a serious event and decided about further sessions:
    the event no longer blocks the next one. The decision is written down."""
    event = _locked(event)
    _require_clinician(acting_user, event.organisation_id)
    if not event.is_serious:
        raise Conflict(_("Only a serious side effect needs a review."))
    if event.reviewed_at is not None:
        raise Conflict(_("This side effect was reviewed already."))
    if len(note.strip()) < 10:
        raise DomainError(
            _("Write the decision about further sessions (at least 10 characters)."),
            field="note",
        )
    event.reviewed_at = clock.now()
    event.reviewed_by = acting_user
    event.review_note = note.strip()
    event.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    audit_record(
        action="adverse_event.review",
        actor=acting_user,
        organisation=event.organisation,
        obj=event,
        patient=event.patient,
        changes={"review_note": {"new": event.review_note}},
    )
    return event


@transaction.atomic
def adverse_event_photo_add(
    *, event: AdverseEvent, photo: PreparedPhoto, acting_user: User, caption: str = ""
) -> AdverseEventPhoto:
    """Attach a photo (already stripped of metadata by ``images.prepare_photo``)."""
    event = _locked(event)
    _require_clinician(acting_user, event.organisation_id)
    row = AdverseEventPhoto(
        organisation_id=event.organisation_id,
        patient=event.patient,
        event=event,
        caption=caption.strip(),
        created_by=acting_user,
    )
    row.store(photo)
    row.save()
    audit_record(
        action="adverse_event.photo_add",
        actor=acting_user,
        organisation=event.organisation,
        obj=event,
        patient=event.patient,
        changes=created({"photo": row.pk, "sha256": photo.sha256}),
    )
    return row


@transaction.atomic
def adverse_event_photo_remove(*, photo: AdverseEventPhoto, reason: str, acting_user: User) -> None:
    """Remove a photo added by mistake (another patient, the wrong side effect). The audit
    event keeps who, when, why and the photo's SHA-256; the file is deleted after the
    commit (a rollback keeps row and file together)."""
    event = _locked(photo.event)
    _require_clinician(acting_user, event.organisation_id)
    if len(reason.strip()) < 5:
        raise DomainError(_("Say why the photo is removed."), field="reason")
    audit_record(
        action="adverse_event.photo_remove",
        actor=acting_user,
        organisation=event.organisation,
        obj=event,
        patient=event.patient,
        changes={
            "photo": {"old": photo.pk, "new": None},
            "sha256": {"old": photo.sha256},
            "reason": {"new": reason.strip()},
        },
    )
    delete_photo_files_after_commit([photo])
    photo.delete()


# --- The daily check --------------------------------------------------------------------------


@dataclass
class FlagReport:
    prolonged: list[int] = field(default_factory=list)
    serious: list[int] = field(default_factory=list)


@transaction.atomic
def adverse_events_flag(*, now: dt.datetime) -> FlagReport:
    """Raise the flags that time has made due: an open event past its expected course is
    flagged prolonged; a serious one that was never flagged (recorded before this check
    existed, say) is flagged serious. Each flag is raised once (the ``*_flagged_at``
    stamp), so running this again changes nothing."""
    due_prolonged = AdverseEvent.objects.filter(
        outcome=Outcome.ONGOING, expected_end_at__lt=now, prolonged_flagged_at__isnull=True
    )
    never_flagged = AdverseEvent.objects.filter(
        is_serious=True,
        serious_flagged_at__isnull=True,
        outcome=Outcome.ONGOING,
        reviewed_at__isnull=True,
    )
    return FlagReport(
        prolonged=_raise_flag(due_prolonged, rules.Flag.PROLONGED, "prolonged_flagged_at", now),
        serious=_raise_flag(never_flagged, rules.Flag.SERIOUS, "serious_flagged_at", now),
    )


def _raise_flag(
    events: QuerySet[AdverseEvent], flag: rules.Flag, stamp: str, now: dt.datetime
) -> list[int]:
    """Stamp ``stamp`` on each of ``events`` (locked) and audit the flag; their ids."""
    raised = []
    for event in (
        events.select_for_update(of=("self",))
        .select_related("organisation", "patient")
        .order_by("pk")
    ):
        setattr(event, stamp, now)
        event.save(update_fields=[stamp, "updated_at"])
        audit_record(
            action="adverse_event.flag",
            actor=None,
            organisation=event.organisation,
            obj=event,
            patient=event.patient,
            changes={"flag": {"new": flag.value}},
        )
        raised.append(event.pk)
    return raised


__all__ = [
    "EventInput",
    "FlagReport",
    "adverse_event_follow_up",
    "adverse_event_photo_add",
    "adverse_event_photo_remove",
    "adverse_event_record",
    "adverse_event_resolve",
    "adverse_event_review",
    "adverse_event_update",
    "adverse_events_flag",
]
