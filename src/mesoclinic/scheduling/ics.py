"""iCalendar (RFC 5545) views of appointments: a patient's own, a practitioner's feed.

Times are written in the clinic's own zone with a TZID and the matching VTIMEZONE, not in
UTC, so a calendar shows 09:00 at the clinic whatever zone the reader's device is in, and
a change of summer time between booking and visit cannot shift the hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from icalendar import Calendar, Event  # type: ignore[import-untyped]  # ships no types

from mesoclinic.scheduling.models import AppointmentStatus, Phase

if TYPE_CHECKING:
    from mesoclinic.accounts.models import Clinic
    from mesoclinic.scheduling.models import Appointment

PRODID = "-//mesoclinic//EN"
# Related rows every appointment given to this module should carry (select_related), so
# a calendar of any length costs one query.
SELECT_RELATED = (
    "clinic",
    "patient",
    "appointment_type",
    "room",
    "course_session__course",
)


def appointment_uid(appointment: Appointment) -> str:
    """Stable across moves and cancellation, so a calendar updates the event it has."""
    return f"appointment-{appointment.pk}@mesoclinic"


def clinic_location(clinic: Clinic) -> str:
    """The clinic's name and address on one line (calendar apps show LOCATION as one)."""
    lines = [line.strip() for line in clinic.address.splitlines() if line.strip()]
    return ", ".join([clinic.name, *lines])


def session_label(appointment: Appointment) -> str:
    """What the visit is: "Hair mesotherapy, session 3 of 8" or just the type's name."""
    kind = appointment.appointment_type.name
    session = appointment.course_session
    if session is None:
        return kind
    if session.phase == Phase.INDUCTION:
        position = _("session %(number)d of %(total)d") % {
            "number": session.number_in_phase,
            "total": session.course.induction_sessions,
        }
    elif session.phase == Phase.MAINTENANCE:
        position = _("maintenance session %(number)d") % {"number": session.number_in_phase}
    else:
        position = _("review %(number)d") % {"number": session.number_in_phase}
    return _("%(kind)s, %(position)s") % {"kind": kind, "position": position}


def _summary(appointment: Appointment, *, for_patient: bool) -> str:
    if for_patient:
        summary = _("%(what)s — %(clinic)s") % {
            "what": session_label(appointment),
            "clinic": appointment.clinic.name,
        }
    else:
        # A practitioner's feed is read through a secret URL that calendar apps sync to
        # phones and third-party servers; such URLs leak. So the feed names the patient by
        # record number only: useful to the clinic, meaningless to anyone else.
        summary = _("%(mrn)s — %(what)s") % {
            "mrn": appointment.patient.mrn,
            "what": session_label(appointment),
        }
    if appointment.status == AppointmentStatus.CANCELLED:
        # Many calendar apps ignore STATUS:CANCELLED and keep showing the event.
        summary = _("Cancelled: %(summary)s") % {"summary": summary}
    return summary


def _description(appointment: Appointment, *, for_patient: bool) -> str:
    clinic = appointment.clinic
    if for_patient:
        lines = [clinic_location(clinic)]
        if clinic.phone:
            lines.append(
                _("To change or cancel this appointment, call the clinic on %(phone)s.")
                % {"phone": clinic.phone}
            )
        else:
            lines.append(_("To change or cancel this appointment, call the clinic."))
        return "\n".join(lines)
    room = appointment.room.name if appointment.room is not None else _("no room")
    # No notes here: they are clinical text, and this leaves the clinic (see _summary).
    return "\n".join(
        [
            _("Room: %(room)s") % {"room": room},
            _("Clinic: %(clinic)s") % {"clinic": clinic.name},
        ]
    )


def _event(appointment: Appointment, *, for_patient: bool) -> Event:
    tz = appointment.clinic.tzinfo
    event = Event()
    event.add("uid", appointment_uid(appointment))
    # Without METHOD, DTSTAMP is when the event's information last changed (RFC 5545
    # 3.8.7.2), which also keeps an unchanged feed byte-for-byte stable between polls.
    event.add("dtstamp", appointment.updated_at.astimezone(dt.UTC))
    event.add("created", appointment.created_at.astimezone(dt.UTC))
    event.add("last-modified", appointment.updated_at.astimezone(dt.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(tz))
    event.add("dtend", appointment.ends_at.astimezone(tz))
    event.add("summary", _summary(appointment, for_patient=for_patient))
    event.add("location", clinic_location(appointment.clinic))
    event.add("description", _description(appointment, for_patient=for_patient))
    event.add(
        "status",
        "CANCELLED" if appointment.status == AppointmentStatus.CANCELLED else "CONFIRMED",
    )
    event.add("transp", "OPAQUE")
    return event


def appointments_calendar(
    appointments: Iterable[Appointment], *, name: str, for_patient: bool
) -> bytes:
    """An iCalendar file of ``appointments`` (give them with ``SELECT_RELATED`` loaded).

    ``for_patient``: written for the patient (their clinic, how to change it); otherwise
    for the practitioner's feed (record number and room, never the patient's name).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    starts: list[dt.date] = []
    for appointment in appointments:
        calendar.add_component(_event(appointment, for_patient=for_patient))
        starts.append(appointment.starts_at.date())
    if starts:
        # The zone's rules only for the years the events need: the default range
        # (1970-2038) adds kilobytes of transitions to every poll of a feed.
        calendar.add_missing_timezones(
            first_date=dt.date(min(starts).year - 1, 1, 1),
            last_date=dt.date(max(starts).year + 2, 1, 1),
        )
    return calendar.to_ical()
