"""Writes of a clinic's schedule settings: rooms, practitioners' working hours, absences
and clinic closures.

Each is keyword-only, one transaction, and records a ``schedule.update`` audit event with
the values it changed. Forms check the input first (an end after its start, no overlapping
working hours); the services enforce what needs the database and refuse another
organisation's rows.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
from mesoclinic.core.audit import audit_record, created
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.scheduling.models import Absence, ClinicClosure, Room, WorkingHours

ACTION = "schedule.update"
_CLINICAL_ROLES = ("admin", "practitioner")


def _require_clinician(organisation: Organisation, practitioner: User) -> None:
    if not Membership.objects.filter(
        organisation=organisation, user=practitioner, is_active=True, role__in=_CLINICAL_ROLES
    ).exists():
        raise DomainError(_("Choose a practitioner of this organisation."), field="practitioner")


# --- Rooms --------------------------------------------------------------------------------


@transaction.atomic
def room_create(*, clinic: Clinic, name: str, acting_user: User) -> Room:
    """Add a treatment room to the clinic; names are unique within a clinic (any case)."""
    # The clinic row lock serialises two admins adding the same name at once.
    list(Clinic.objects.select_for_update().filter(pk=clinic.pk))
    if Room.objects.filter(clinic=clinic, name__iexact=name).exists():
        raise Conflict(_("This clinic already has a room of that name."), field="name")
    room = Room.objects.create(organisation=clinic.organisation, clinic=clinic, name=name)
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=clinic.organisation,
        obj=room,
        changes=created({"room": name, "clinic": clinic.pk, "is_active": True}),
    )
    return room


def _room_set_active(room: Room, is_active: bool, acting_user: User) -> Room:
    if room.is_active == is_active:
        return room
    room.is_active = is_active
    room.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=room.organisation,
        obj=room,
        changes={
            "room": {"old": room.name, "new": room.name},
            "is_active": {"old": not is_active, "new": is_active},
        },
    )
    return room


@transaction.atomic
def room_deactivate(*, room: Room, acting_user: User) -> Room:
    """Take a room out of use: no new booking gets it; booked appointments keep it."""
    return _room_set_active(room, False, acting_user)


@transaction.atomic
def room_reactivate(*, room: Room, acting_user: User) -> Room:
    return _room_set_active(room, True, acting_user)


# --- Working hours ------------------------------------------------------------------------


def _hours_text(row: WorkingHours) -> str:
    return f"{row.get_weekday_display()} {row.starts_at:%H:%M}-{row.ends_at:%H:%M}"


@transaction.atomic
def working_hours_create(
    *,
    clinic: Clinic,
    practitioner: User,
    weekday: int,
    starts_at: dt.time,
    ends_at: dt.time,
    acting_user: User,
) -> WorkingHours:
    """Add one interval the practitioner works at the clinic on a weekday (0 = Monday)."""
    organisation = clinic.organisation
    _require_clinician(organisation, practitioner)
    if not 0 <= weekday <= 6:
        raise DomainError(_("Choose a weekday."), field="weekday")
    if ends_at <= starts_at:
        raise DomainError(_("The end must be after the start."), field="ends_at")
    # Lock the practitioner (the booking services' lock order takes users before clinics).
    list(User.objects.select_for_update().filter(pk=practitioner.pk))
    clash = (
        WorkingHours.objects.filter(
            clinic=clinic,
            practitioner=practitioner,
            weekday=weekday,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        raise Conflict(
            _("These hours overlap %(start)s–%(end)s on the same day.")
            % {"start": f"{clash.starts_at:%H:%M}", "end": f"{clash.ends_at:%H:%M}"},
            field="starts_at",
        )
    row = WorkingHours.objects.create(
        organisation=organisation,
        practitioner=practitioner,
        clinic=clinic,
        weekday=weekday,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=organisation,
        obj=row,
        changes=created(
            {
                "working_hours": _hours_text(row),
                "practitioner": practitioner.pk,
                "clinic": clinic.pk,
            }
        ),
    )
    return row


@transaction.atomic
def working_hours_delete(*, row: WorkingHours, acting_user: User) -> None:
    """Remove one interval; appointments already booked in it stay booked."""
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=row.organisation,
        obj=row,
        changes={
            "working_hours": {"old": _hours_text(row), "new": None},
            "practitioner": {"old": row.practitioner_id, "new": None},
            "clinic": {"old": row.clinic_id, "new": None},
        },
    )
    row.delete()


# --- Absences -----------------------------------------------------------------------------


@transaction.atomic
def absence_create(
    *,
    organisation: Organisation,
    practitioner: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    acting_user: User,
) -> Absence:
    """The practitioner is away from ``starts_at`` to ``ends_at``: nothing new is booked
    with them then. Appointments already booked in it stay (the page says how many)."""
    _require_clinician(organisation, practitioner)
    if ends_at <= starts_at:
        raise DomainError(_("The end must be after the start."), field="ends_at")
    absence = Absence.objects.create(
        organisation=organisation,
        practitioner=practitioner,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
    )
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=organisation,
        obj=absence,
        changes=created(
            {
                "absence_practitioner": practitioner.pk,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "reason": reason,
            }
        ),
    )
    return absence


@transaction.atomic
def absence_delete(*, absence: Absence, acting_user: User) -> None:
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=absence.organisation,
        obj=absence,
        changes={
            "absence_practitioner": {"old": absence.practitioner_id, "new": None},
            "starts_at": {"old": absence.starts_at.isoformat(), "new": None},
            "ends_at": {"old": absence.ends_at.isoformat(), "new": None},
            "reason": {"old": absence.reason, "new": None},
        },
    )
    absence.delete()


# --- Clinic closures ----------------------------------------------------------------------


@transaction.atomic
def clinic_closure_create(
    *,
    clinic: Clinic,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str = "",
    acting_user: User,
) -> ClinicClosure:
    """Close the clinic for whole days, ``starts_on`` to ``ends_on`` inclusive."""
    if ends_on < starts_on:
        raise DomainError(_("The last day cannot be before the first."), field="ends_on")
    closure = ClinicClosure.objects.create(
        organisation=clinic.organisation,
        clinic=clinic,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
    )
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=clinic.organisation,
        obj=closure,
        changes=created(
            {
                "closure_clinic": clinic.pk,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "reason": reason,
            }
        ),
    )
    return closure


@transaction.atomic
def clinic_closure_delete(*, closure: ClinicClosure, acting_user: User) -> None:
    audit_record(
        action=ACTION,
        actor=acting_user,
        organisation=closure.organisation,
        obj=closure,
        changes={
            "closure_clinic": {"old": closure.clinic_id, "new": None},
            "starts_on": {"old": closure.starts_on.isoformat(), "new": None},
            "ends_on": {"old": closure.ends_on.isoformat(), "new": None},
            "reason": {"old": closure.reason, "new": None},
        },
    )
    closure.delete()
