"""Every write to a session chart: open a draft, change it, sign it, amend it, photos.

Signing is one transaction: the pre-checks, the stock taken from each lot (locked rows,
``inventory.services.stock_consume``), the signature, the appointment and course moved on
(``scheduling.services.appointment_complete``), the aftercare sheet and the audit event
commit together or not at all. The aftercare email goes after the commit.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mesoclinic.accounts.access import CLINICIANS
from mesoclinic.accounts.models import Membership, User
from mesoclinic.core import clock
from mesoclinic.core.audit import audit_record, created, diff
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.inventory.models import (
    Lot,
    MovementKind,
    Product,
    ProductKind,
    ProductUnit,
    Stock,
)
from mesoclinic.inventory.services import (
    LotUse,
    lot_usable_message,
    stock_consume,
    uses_by_lot,
)
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.scheduling.models import Appointment, AppointmentStatus
from mesoclinic.treatments import aftercare, limits, maps
from mesoclinic.treatments.aftercare_sets import aftercare_set_for
from mesoclinic.treatments.defaults import line_defaults
from mesoclinic.treatments.images import PreparedPhoto
from mesoclinic.treatments.models import (
    AftercareSheet,
    Injection,
    PhotoMoment,
    Reaction,
    SessionPhoto,
    SessionStatus,
    TreatmentSession,
    delete_photo_files_after_commit,
)

# --- What a chart says ------------------------------------------------------------------------


def _places(value: Decimal | None, places: int) -> str | None:
    return None if value is None else f"{value:.{places}f}"


@dataclass(frozen=True)
class LineInput:
    """One charted line as validated at the edge (form or API schema)."""

    zone: str
    technique: str
    volume_ml: Decimal
    product: Product
    lot: Lot | None = None
    depth_mm: Decimal | None = None
    needle_gauge: int | None = None
    needle_length_mm: Decimal | None = None
    points: int | None = None

    @classmethod
    def of(cls, injection: Injection) -> LineInput:
        """A stored line as input (its product and lot as loaded on the row)."""
        return cls(
            zone=injection.zone,
            technique=injection.technique,
            volume_ml=injection.volume_ml,
            product=injection.product,
            lot=injection.lot,
            depth_mm=injection.depth_mm,
            needle_gauge=injection.needle_gauge,
            needle_length_mm=injection.needle_length_mm,
            points=injection.points,
        )

    def as_json(self) -> dict[str, Any]:
        # At the places the columns store (Injection), so 1.0 typed and 1.00 read back are
        # the same value in the audit trail's before/after comparison.
        return {
            "zone": self.zone,
            "technique": self.technique,
            "volume_ml": _places(self.volume_ml, 2),
            "product": self.product.pk,
            "lot": self.lot.pk if self.lot else None,
            "depth_mm": _places(self.depth_mm, 1),
            "needle_gauge": self.needle_gauge,
            "needle_length_mm": _places(self.needle_length_mm, 1),
            "points": self.points,
        }


SCALAR_FIELDS = (
    "skin_preparation",
    "anaesthesia",
    "anaesthesia_product",
    "anaesthesia_note",
    "pain_score",
    "reactions",
    "reactions_note",
    "notes",
    "home_care_product_ids",
)


@dataclass(frozen=True)
class SessionContent:
    """Everything a practitioner charts about one session."""

    skin_preparation: str = "chlorhexidine"
    anaesthesia: str = "none"
    anaesthesia_product: Product | None = None
    anaesthesia_note: str = ""
    pain_score: int | None = None
    reactions: tuple[str, ...] = ()
    reactions_note: str = ""
    notes: str = ""
    lines: tuple[LineInput, ...] = ()
    home_care_product_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, session: TreatmentSession) -> SessionContent:
        """The content stored on a session (its lines with product and lot loaded)."""
        return cls(
            skin_preparation=session.skin_preparation,
            anaesthesia=session.anaesthesia,
            anaesthesia_product=session.anaesthesia_product,
            anaesthesia_note=session.anaesthesia_note,
            pain_score=session.pain_score,
            reactions=tuple(session.reactions),
            reactions_note=session.reactions_note,
            notes=session.notes,
            lines=tuple(
                LineInput.of(i)
                for i in session.injections.select_related("product", "lot", "lot__product")
            ),
            home_care_product_ids=tuple(session.home_care_product_ids),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "skin_preparation": self.skin_preparation,
            "anaesthesia": self.anaesthesia,
            "anaesthesia_product": self.anaesthesia_product.pk
            if self.anaesthesia_product
            else None,
            "anaesthesia_note": self.anaesthesia_note,
            "pain_score": self.pain_score,
            "reactions": list(self.reactions),
            "reactions_note": self.reactions_note,
            "notes": self.notes,
            "home_care_product_ids": list(self.home_care_product_ids),
            "lines": [line.as_json() for line in self.lines],
        }


def volume_by_product(lines: Iterable[LineInput | Injection]) -> list[tuple[Product, Decimal]]:
    """Total volume per product, in the order products first appear."""
    totals: dict[int, tuple[Product, Decimal]] = {}
    for line in lines:
        prior = totals.get(line.product.pk)
        totals[line.product.pk] = (
            line.product,
            line.volume_ml + (prior[1] if prior else Decimal("0")),
        )
    return list(totals.values())


def volume_by_zone(lines: Iterable[LineInput | Injection]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.zone] = totals.get(line.zone, Decimal("0")) + line.volume_ml
    return totals


# --- Pre-checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Precheck:
    code: str
    label: str
    ok: bool
    message: str
    # False for a check that has nothing to check against yet: it does not block, and
    # it is shown as not checked, never as passed.
    checked: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "ok": self.ok,
            "message": self.message,
            "checked": self.checked,
        }


def session_prechecks(*, patient: Patient, protocol_version: ProtocolVersion) -> list[Precheck]:
    """What must hold before a session is given: the protocol's consents signed and
    current, the latest screening for its kind allowing it, and no open serious adverse
    event. Each failing check says why; a session cannot be signed while one fails."""
    from mesoclinic.scheduling.services import check_consents, course_screening

    checks = []
    try:
        check_consents(patient=patient, version=protocol_version)
        checks.append(
            Precheck("consent", _("Consent"), True, _("Signed and current for this protocol."))
        )
    except DomainError as error:
        checks.append(Precheck("consent", _("Consent"), False, error.message))
    try:
        screening = course_screening(patient=patient, version=protocol_version)
        checks.append(
            Precheck(
                "screening",
                _("Screening"),
                True,
                _("Latest screening (%(date)s): %(outcome)s.")
                % {
                    "date": screening.screened_on.isoformat(),
                    "outcome": screening.get_outcome_display(),
                },
            )
        )
    except DomainError as error:
        checks.append(Precheck("screening", _("Screening"), False, error.message))
    checks.append(_side_effects_check(patient))
    return checks


def _side_effects_check(patient: Patient) -> Precheck:
    """An open serious side effect that no practitioner has reviewed blocks the session;
    other open side effects are mentioned, so the practitioner asks about them."""
    from mesoclinic.safety import catalogue
    from mesoclinic.safety.selectors import blocking_events, onset_day, open_events_count

    blocking = blocking_events(patient_id=patient.pk)
    if blocking:
        return Precheck(
            "adverse_events",
            _("Side effects"),
            False,
            _(
                "Open serious side effect not reviewed: %(terms)s. A practitioner must "
                "review it (on the side effect's page) before the next session."
            )
            % {
                "terms": ", ".join(
                    f"{catalogue.term(e.term).label} ({onset_day(e).isoformat()})" for e in blocking
                )
            },
        )
    open_count = open_events_count(patient_id=patient.pk)
    if open_count:
        return Precheck(
            "adverse_events",
            _("Side effects"),
            True,
            ngettext(
                "%(n)d side effect still open (none serious and unreviewed): ask about it.",
                "%(n)d side effects still open (none serious and unreviewed): ask about them.",
                open_count,
            )
            % {"n": open_count},
        )
    return Precheck("adverse_events", _("Side effects"), True, _("No open side effect recorded."))


# --- Validation that needs the database ------------------------------------------------------


@functools.cache
def _overrides(raw: str) -> limits.Overrides | None:
    # Parsed once per value (checked at start-up by TreatmentsConfig.ready), not on every
    # chart saved or shown.
    return limits.load_overrides(raw) if raw else None


def area_limits(area: str) -> limits.AreaLimits:
    """The plausible ranges of an area, with the clinic's CHARTING_LIMITS applied."""
    return limits.limits_for(area, _overrides(settings.CHARTING_LIMITS))


def line_findings(
    line: LineInput | Injection, *, area: str, bounds: limits.AreaLimits
) -> list[limits.Finding]:
    """``limits.check_line`` of one charted line (input or stored)."""
    return limits.check_line(
        area=area,
        depth_mm=line.depth_mm,
        needle_gauge=line.needle_gauge,
        needle_length_mm=line.needle_length_mm,
        points=line.points,
        volume_ml=line.volume_ml,
        technique=line.technique,
        limits=bounds,
    )


def _refusals(*, area: str, lines: Sequence[LineInput]) -> list[tuple[str, str]]:
    bounds = area_limits(area)
    found = []
    for index, line in enumerate(lines):
        for finding in line_findings(line, area=area, bounds=bounds):
            if finding.level == "refuse":
                found.append((f"lines.{index}.{finding.field}", finding.message))
    # Several lines on one zone (two products, say) are checked on their totals too, so
    # splitting a volume over lines cannot get past the per-zone limits.
    first_index: dict[str, int] = {}
    volume: dict[str, Decimal] = {}
    points: dict[str, int] = {}
    count: dict[str, int] = {}
    for index, line in enumerate(lines):
        first_index.setdefault(line.zone, index)
        count[line.zone] = count.get(line.zone, 0) + 1
        volume[line.zone] = volume.get(line.zone, Decimal("0")) + line.volume_ml
        points[line.zone] = points.get(line.zone, 0) + (line.points or 0)
    for zone, n in count.items():
        if n < 2:
            continue
        for finding in limits.check_line(
            area=area,
            depth_mm=None,
            needle_gauge=None,
            needle_length_mm=None,
            points=points[zone],
            volume_ml=volume[zone],
            technique=lines[first_index[zone]].technique,
            limits=bounds,
        ):
            if finding.level == "refuse":
                found.append(
                    (
                        f"lines.{first_index[zone]}.{finding.field}",
                        _("%(zone)s, all lines together: %(message)s")
                        % {"zone": maps.zone_label(area, zone), "message": finding.message},
                    )
                )
    return found


def line_warnings(*, area: str, lines: Sequence[LineInput | Injection]) -> list[str]:
    """The warnings (not refusals) for the lines, each prefixed with its zone's name."""
    bounds = area_limits(area)
    out = []
    for line in lines:
        for finding in line_findings(line, area=area, bounds=bounds):
            if finding.level == "warn":
                out.append(f"{maps.zone_label(area, line.zone)}: {finding.message}")
    return out


def _validate(*, session: TreatmentSession, content: SessionContent) -> None:
    organisation_id = session.organisation_id
    zone_map = maps.zone_map(session.area)
    for index, line in enumerate(content.lines):
        where = f"lines.{index}"
        if line.zone not in zone_map.codes:
            raise DomainError(
                _("%(zone)s is not a zone of the %(area)s map.")
                % {"zone": line.zone, "area": session.area},
                field=f"{where}.zone",
            )
        if line.product.organisation_id != organisation_id:
            raise DomainError(_("Choose one of this clinic's products."), field=f"{where}.product")
        if line.product.kind != ProductKind.TREATMENT:
            raise DomainError(
                _("%(product)s is not a treatment product; it cannot be injected.")
                % {"product": line.product.name},
                field=f"{where}.product",
            )
        if line.product.unit != ProductUnit.ML:
            # Charted volumes are mL and stock is taken in the product's unit: they must
            # be the same unit (inventory refuses a treatment product in another unit).
            raise DomainError(
                _("%(product)s is not counted in mL; it cannot be charted by volume.")
                % {"product": line.product.name},
                field=f"{where}.product",
            )
        if line.lot is not None and line.lot.product_id != line.product.pk:
            raise DomainError(
                _("Lot %(lot)s is not a lot of %(product)s.")
                % {"lot": line.lot.lot_number, "product": line.product.name},
                field=f"{where}.lot",
            )
    product = content.anaesthesia_product
    if product is not None and product.organisation_id != organisation_id:
        raise DomainError(_("Choose one of this clinic's products."), field="anaesthesia_product")
    unknown = set(content.reactions) - set(Reaction.values)
    if unknown:
        raise DomainError(
            _("Unknown reactions: %(codes)s.") % {"codes": ", ".join(sorted(unknown))},
            field="reactions",
        )
    if content.home_care_product_ids:
        found = set(
            Product.objects.filter(
                organisation_id=organisation_id,
                kind=ProductKind.RETAIL,
                pk__in=content.home_care_product_ids,
            ).values_list("pk", flat=True)
        )
        if found != set(content.home_care_product_ids):
            raise DomainError(
                _("Home-care recommendations must be this clinic's retail products."),
                field="home_care_product_ids",
            )
    refusals = _refusals(area=session.area, lines=content.lines)
    if refusals:
        where, message = refusals[0]
        raise DomainError(message, field=where)


def _write_content(session: TreatmentSession, content: SessionContent) -> None:
    session.skin_preparation = content.skin_preparation
    session.anaesthesia = content.anaesthesia
    session.anaesthesia_product = content.anaesthesia_product
    session.anaesthesia_note = content.anaesthesia_note
    session.pain_score = content.pain_score
    session.reactions = list(content.reactions)
    session.reactions_note = content.reactions_note
    session.notes = content.notes
    session.home_care_product_ids = list(content.home_care_product_ids)
    session.injections.all().delete()
    Injection.objects.bulk_create(
        Injection(
            organisation_id=session.organisation_id,
            session=session,
            position=position,
            zone=line.zone,
            technique=line.technique,
            depth_mm=line.depth_mm,
            needle_gauge=line.needle_gauge,
            needle_length_mm=line.needle_length_mm,
            points=line.points,
            volume_ml=line.volume_ml,
            product=line.product,
            lot=line.lot,
        )
        for position, line in enumerate(content.lines, start=1)
    )


def _is_clinician(user: User, organisation_id: int) -> bool:
    return Membership.objects.filter(
        user=user, organisation_id=organisation_id, is_active=True, role__in=CLINICIANS
    ).exists()


def _locked(session: TreatmentSession) -> TreatmentSession:
    # OF self: only the session's row. The joined rows are read, not locked: PostgreSQL
    # refuses FOR UPDATE on the nullable side of an outer join (anaesthesia_product), and
    # locking the patient and clinic here would take the booking locks out of their order
    # (appointment_complete takes them, in order, during the signature).
    locked = (
        TreatmentSession.objects.select_for_update(of=("self",))
        .select_related(
            "patient",
            "clinic",
            "appointment",
            "protocol_version",
            "anaesthesia_product",
            "practitioner",
        )
        .filter(pk=session.pk)
        .order_by()
        .first()
    )
    if locked is None:
        # Discarded meanwhile: the visit was cancelled as not treated.
        raise Conflict(_("This draft was discarded: the visit was cancelled. Reload the page."))
    return locked


# --- Open a draft -----------------------------------------------------------------------------


def _first_usable_lot(*, product: Product, clinic_id: int, on: dt.date) -> Lot | None:
    stock = (
        Stock.objects.filter(
            lot__product=product,
            clinic_id=clinic_id,
            quantity__gt=0,
            lot__recalled_at__isnull=True,
            lot__expires_on__gte=on,
        )
        .select_related("lot", "lot__product")
        .order_by("lot__expires_on", "lot__lot_number")
        .first()
    )
    return stock.lot if stock else None


def _lot_or_replacement(*, line: LineInput, clinic_id: int, on: dt.date) -> Lot | None:
    """The previous session's lot if it can still be used here and is in stock, otherwise
    the product's lot that expires first: lot numbers are never retyped."""
    lot = line.lot
    if (
        lot is not None
        and lot_usable_message(lot=lot, on=on) is None
        and Stock.objects.filter(lot=lot, clinic_id=clinic_id, quantity__gt=0).exists()
    ):
        return lot
    return _first_usable_lot(product=line.product, clinic_id=clinic_id, on=on)


def new_line_defaults(*, session: TreatmentSession) -> LineInput | None:
    """What a zone clicked on for the first time is charted with: the technique and needle
    of the session's other lines or the protocol's defaults, and the product (and lot that
    expires first) that the other lines use or that the protocol's formulation names."""
    version = session.protocol_version
    existing = list(session.injections.select_related("product", "lot")[:1])
    if existing:
        return replace(LineInput.of(existing[0]), zone="")
    defaults = line_defaults(area=session.area, kind=version.kind)
    names = [f.get("name") for f in version.formulations if isinstance(f, dict)]
    products = Product.objects.filter(
        organisation_id=session.organisation_id, kind=ProductKind.TREATMENT, is_active=True
    )
    product = (
        products.filter(formulation__name__in=names).order_by("name").first()
        or products.filter(lots__stock__clinic_id=session.clinic_id, lots__stock__quantity__gt=0)
        .order_by("name")
        .first()
    )
    if product is None:
        return None
    return LineInput(
        zone="",
        technique=defaults.technique,
        volume_ml=Decimal("0"),
        product=product,
        lot=_first_usable_lot(
            product=product, clinic_id=session.clinic_id, on=session.performed_on
        ),
        depth_mm=defaults.depth_mm,
        needle_gauge=defaults.needle_gauge,
        needle_length_mm=defaults.needle_length_mm,
    )


def _previous_content(
    *, patient: Patient, version: ProtocolVersion, clinic_id: int, on: dt.date
) -> SessionContent | None:
    previous = (
        TreatmentSession.objects.in_force()
        .filter(patient=patient, protocol_version__protocol_id=version.protocol_id)
        .select_related("anaesthesia_product")
        .order_by("-performed_on", "-pk")
        .first()
    )
    if previous is None:
        return None
    content = SessionContent.of(previous)
    lines = tuple(
        replace(line, lot=_lot_or_replacement(line=line, clinic_id=clinic_id, on=on))
        for line in content.lines
    )
    # What happened last time (pain, reactions, notes) is not copied: it is this visit's.
    return SessionContent(
        skin_preparation=content.skin_preparation,
        anaesthesia=content.anaesthesia,
        anaesthesia_product=content.anaesthesia_product,
        anaesthesia_note=content.anaesthesia_note,
        lines=lines,
        home_care_product_ids=content.home_care_product_ids,
    )


@transaction.atomic
def session_open(
    *,
    appointment: Appointment,
    acting_user: User,
    protocol_version: ProtocolVersion | None = None,
) -> TreatmentSession:
    """The appointment's current chart, opening a draft if there is none yet.

    A draft starts from the patient's previous signed session of the same protocol (zones,
    techniques, needles, volumes, products, and the same lots while they are usable and in
    stock, otherwise the lot that expires first), so a routine visit needs only a check
    and a signature. The appointment must have started today or earlier and not be
    cancelled or missed.
    """
    from mesoclinic.scheduling.services import appointment_lock

    # The booking locks first (the lock order), so opening a chart and cancelling the
    # visit queue behind each other: the later one sees what the earlier one did.
    appointment_lock(appointment)
    appointment = Appointment.objects.select_related(
        "clinic", "patient", "course_session__course__protocol_version"
    ).get(pk=appointment.pk)
    current = TreatmentSession.objects.filter(
        appointment=appointment, superseded_at__isnull=True
    ).first()
    if current is not None:
        return current
    if not _is_clinician(acting_user, appointment.organisation_id):
        raise DomainError(_("Only a practitioner can chart a session."))
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
        raise Conflict(
            _("This appointment is %(status)s; there is no session to chart.")
            % {"status": appointment.get_status_display().lower()}
        )
    clinic = appointment.clinic
    performed_on = appointment.starts_at.astimezone(clinic.tzinfo).date()
    if performed_on > clock.today_in(clinic.tzinfo):
        raise DomainError(_("A session can be charted from the day of its appointment."))
    course_session = appointment.course_session
    if course_session is not None and course_session.status == "cancelled":
        raise Conflict(_("This session's course was cancelled; there is nothing to chart."))
    if course_session is not None:
        version = course_session.course.protocol_version
    elif protocol_version is not None:
        if protocol_version.protocol.organisation_id != appointment.organisation_id:
            raise DomainError(_("Choose one of this clinic's protocols."), field="protocol_version")
        version = protocol_version
    else:
        raise DomainError(
            _("This appointment is not part of a course: choose the protocol given."),
            field="protocol_version",
        )
    session = TreatmentSession(
        organisation_id=appointment.organisation_id,
        patient=appointment.patient,
        clinic=clinic,
        practitioner=appointment.practitioner,
        appointment=appointment,
        course_session=course_session,
        protocol_version=version,
        area=version.area,
        performed_on=performed_on,
        created_by=acting_user,
    )
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError:
        raise Conflict(_("This session is being charted already; reload the page.")) from None
    previous = _previous_content(
        patient=appointment.patient, version=version, clinic_id=clinic.pk, on=performed_on
    )
    if previous is not None:
        _write_content(session, previous)
        session.save()
    audit_record(
        action="session.open",
        actor=acting_user,
        organisation=appointment.organisation,
        obj=session,
        patient=appointment.patient,
        changes=created(
            {
                "appointment": appointment.pk,
                "protocol_version": version.pk,
                "performed_on": performed_on.isoformat(),
                "from_previous_session": previous is not None,
            }
        ),
    )
    return session


# --- Change a draft ---------------------------------------------------------------------------


@transaction.atomic
def session_update(
    *, session: TreatmentSession, content: SessionContent, acting_user: User
) -> TreatmentSession:
    """Replace a draft's content. A signed session is refused: it can only be amended."""
    session = _locked(session)
    if session.is_signed:
        raise Conflict(_("This session is signed; correct it with an amendment."))
    if not _is_clinician(acting_user, session.organisation_id):
        raise DomainError(_("Only a practitioner can chart a session."))
    _validate(session=session, content=content)
    # A product taken out of use is not charted any more; an amendment of an older
    # session may still name it (it is what was given then).
    for index, line in enumerate(content.lines):
        if not line.product.is_active:
            raise DomainError(
                _("%(product)s is no longer in use.") % {"product": line.product.name},
                field=f"lines.{index}.product",
            )
    before = SessionContent.of(session).as_json()
    _write_content(session, content)
    session.save()
    changes = diff(before, content.as_json())
    if changes:
        audit_record(
            action="session.update",
            actor=acting_user,
            organisation=session.organisation,
            obj=session,
            patient=session.patient,
            changes=changes,
        )
    return session


# --- Sign -------------------------------------------------------------------------------------


def _uses(session: TreatmentSession) -> dict[int, LotUse]:
    return dict(
        uses_by_lot(
            (line.lot, line.volume_ml) for line in session.injections.select_related("lot__product")
        )
    )


def _check_lots_charted(session: TreatmentSession) -> list[Injection]:
    lines = list(session.injections.select_related("product", "lot", "lot__product"))
    if not lines:
        raise DomainError(_("Chart at least one treated zone before signing."), field="lines")
    for index, line in enumerate(lines):
        if line.lot is None:
            raise DomainError(
                _("Choose the lot of %(product)s used on %(zone)s.")
                % {
                    "product": line.product.name,
                    "zone": maps.zone_label(session.area, line.zone),
                },
                field=f"lines.{index}.lot",
            )
        if line.volume_ml <= 0:
            raise DomainError(
                _("Enter the volume given on %(zone)s.")
                % {"zone": maps.zone_label(session.area, line.zone)},
                field=f"lines.{index}.volume_ml",
            )
    return lines


def _sheet_for(session: TreatmentSession, lines: Sequence[Injection]) -> AftercareSheet:
    by_zone: dict[str, tuple[Decimal, list[str]]] = {}
    for line in lines:
        volume, products = by_zone.get(line.zone, (Decimal("0"), []))
        if line.product.name not in products:
            products.append(line.product.name)
        by_zone[line.zone] = (volume + line.volume_ml, products)
    home_care = [
        aftercare.HomeCareProduct(name=p.name, note=p.home_care_note)
        for p in Product.objects.filter(
            organisation_id=session.organisation_id, pk__in=session.home_care_product_ids
        ).order_by("name")
    ]
    version = session.protocol_version
    anaesthesia = session.get_anaesthesia_display()
    if session.anaesthesia_product is not None:
        anaesthesia = f"{anaesthesia} ({session.anaesthesia_product.name})"
    practitioner = session.practitioner
    sheet = aftercare.build_sheet(
        patient_name=f"{session.patient.given_name} {session.patient.family_name}",
        clinic_name=session.clinic.name,
        clinic_phone=session.clinic.phone,
        session_date=session.performed_on,
        protocol_name=version.name,
        practitioner_name=practitioner.get_full_name() or practitioner.email,
        treated=tuple(
            aftercare.TreatedZone(
                label=str(maps.zone_label(session.area, zone)),
                volume_ml=volume,
                products=tuple(products),
            )
            for zone, (volume, products) in by_zone.items()
        ),
        anaesthesia=str(anaesthesia),
        aftercare_set=aftercare_set_for(version),
        home_care=tuple(home_care),
    )
    return AftercareSheet.objects.create(
        organisation_id=session.organisation_id,
        patient=session.patient,
        session=session,
        content=aftercare.sheet_to_json(sheet),
    )


@transaction.atomic
def session_sign(
    *, session: TreatmentSession, acting_user: User, send_aftercare: bool = True
) -> TreatmentSession:
    """Sign a draft: pre-checks pass, every line has a usable lot with enough stock at the
    clinic (taken now), the appointment is done and the course moves on, the aftercare
    sheet is written and, after the commit, emailed (unless ``send_aftercare`` is false:
    the demo's history). Signing twice is refused."""
    from mesoclinic.scheduling.services import appointment_complete, appointment_lock

    # Lock order: the visit's booking locks (patient, practitioners, clinic), then the
    # session row, then stock rows by lot. A cancellation takes the booking locks and then
    # the session (to discard a draft): the same order, so the two never deadlock.
    appointment_lock(
        Appointment.objects.select_related("patient", "clinic", "practitioner").get(
            pk=session.appointment_id
        )
    )
    session = _locked(session)
    if session.is_signed:
        raise Conflict(_("This session is signed already."))
    if not _is_clinician(acting_user, session.organisation_id):
        raise DomainError(_("Only a practitioner can sign a session."))
    prechecks = session_prechecks(
        patient=session.patient, protocol_version=session.protocol_version
    )
    failing = [c for c in prechecks if not c.ok]
    if failing:
        raise DomainError(
            _("Cannot sign: %(reasons)s") % {"reasons": " ".join(c.message for c in failing)},
            field="prechecks",
        )
    appointment_day = session.appointment.starts_at.astimezone(session.clinic.tzinfo).date()
    if appointment_day != session.performed_on:
        raise Conflict(_("The appointment's date changed since the chart was opened; reload it."))
    lines = _check_lots_charted(session)
    refusals = _refusals(
        area=session.area,
        lines=[LineInput.of(i) for i in lines],
    )
    if refusals:
        raise DomainError(refusals[0][1], field=refusals[0][0])
    stock_consume(
        clinic=session.clinic,
        uses=_uses(session).values(),
        session=session,
        acting_user=acting_user,
        on=session.performed_on,
    )
    session.status = SessionStatus.SIGNED
    session.signed_at = clock.now()
    session.signed_by = acting_user
    session.prechecks = [c.as_json() for c in prechecks]
    session.save()
    appointment_complete(appointment=session.appointment, acting_user=acting_user)
    sheet = _sheet_for(session, lines)
    audit_record(
        action="session.sign",
        actor=acting_user,
        organisation=session.organisation,
        obj=session,
        patient=session.patient,
        changes={
            "status": {"old": SessionStatus.DRAFT, "new": SessionStatus.SIGNED},
            "lines": {"new": len(lines)},
            "volume_ml": {
                "new": {p.name: str(v) for p, v in volume_by_product(lines)},
            },
            "aftercare_sheet": {"new": sheet.pk},
        },
    )
    sheet_id = sheet.pk
    if send_aftercare:
        transaction.on_commit(lambda: _send_aftercare_quietly(sheet_id))
    return session


def _send_aftercare_quietly(sheet_id: int) -> None:
    # A mail server that is down must not turn a committed signature into an error page:
    # the message stays "failed" and `send_reminders` retries it.
    from mesoclinic.treatments.mail import send_aftercare

    send_aftercare(sheet_id=sheet_id)


# --- Amend ------------------------------------------------------------------------------------


@transaction.atomic
def session_amend(
    *, session: TreatmentSession, content: SessionContent, reason: str, acting_user: User
) -> TreatmentSession:
    """Correct a signed session: a new signed revision with ``content`` and the reason,
    the corrected one kept unchanged and marked superseded. Stock follows the difference
    (more of a lot is taken, less is given back); a lot newly taken from must be usable."""
    session = _locked(session)
    if not session.is_signed:
        raise Conflict(_("This session is a draft; change it directly."))
    if not session.is_current:
        raise Conflict(_("This revision has been amended already; amend the current one."))
    if not reason.strip():
        raise DomainError(_("Say why the session is amended."), field="reason")
    if not _is_clinician(acting_user, session.organisation_id):
        raise DomainError(_("Only a practitioner can amend a session."))
    _validate(session=session, content=content)
    if not content.lines:
        raise DomainError(_("A signed session keeps at least one treated zone."), field="lines")
    for index, line in enumerate(content.lines):
        if line.lot is None:
            raise DomainError(
                _("Every line of a signed session needs its lot."), field=f"lines.{index}.lot"
            )
        if line.volume_ml <= 0:
            raise DomainError(
                _("Enter the volume given on %(zone)s.")
                % {"zone": maps.zone_label(session.area, line.zone)},
                field=f"lines.{index}.volume_ml",
            )
    before = SessionContent.of(session)
    old_uses = _uses(session)
    session.superseded_at = clock.now()
    session.save(update_fields=["superseded_at", "updated_at"])
    revision = TreatmentSession.objects.create(
        organisation_id=session.organisation_id,
        patient=session.patient,
        clinic=session.clinic,
        practitioner=session.practitioner,
        appointment=session.appointment,
        course_session=session.course_session,
        protocol_version=session.protocol_version,
        area=session.area,
        performed_on=session.performed_on,
        revision=session.revision + 1,
        supersedes=session,
        amendment_reason=reason.strip(),
        status=SessionStatus.SIGNED,
        prechecks=session.prechecks,
        signed_at=clock.now(),
        signed_by=acting_user,
        created_by=acting_user,
    )
    _write_content(revision, content)
    revision.save()
    new_uses = _uses(revision)
    deltas = []
    for lot_id in set(old_uses) | set(new_uses):
        lot = (new_uses.get(lot_id) or old_uses[lot_id]).lot
        delta = (new_uses[lot_id].quantity if lot_id in new_uses else Decimal("0")) - (
            old_uses[lot_id].quantity if lot_id in old_uses else Decimal("0")
        )
        if delta:
            deltas.append(LotUse(lot=lot, quantity=delta))
    stock_consume(
        clinic=session.clinic,
        uses=deltas,
        session=revision,
        kind=MovementKind.CORRECT,
        acting_user=acting_user,
        on=session.performed_on,
    )
    audit_record(
        action="session.amend",
        actor=acting_user,
        organisation=session.organisation,
        obj=revision,
        patient=session.patient,
        changes={
            "reason": {"new": reason.strip()},
            "supersedes": {"new": session.pk},
            "revision": {"old": session.revision, "new": revision.revision},
            **diff(before.as_json(), content.as_json()),
        },
    )
    return revision


# --- Photos -----------------------------------------------------------------------------------


@transaction.atomic
def photo_add(
    *,
    session: TreatmentSession,
    moment: str,
    photo: PreparedPhoto,
    caption: str = "",
    acting_user: User,
) -> SessionPhoto:
    """Attach a photo (already stripped of metadata by ``images.prepare_photo``) to a
    draft. A signed session's photos are part of what was signed."""
    session = _locked(session)
    if not _is_clinician(acting_user, session.organisation_id):
        raise DomainError(_("Only a practitioner can add photos to a chart."))
    if session.is_signed:
        raise Conflict(_("This session is signed; photos can no longer be added."))
    if moment not in PhotoMoment.values:
        raise DomainError(_("Say whether the photo is from before or after."), field="moment")
    row = SessionPhoto(
        organisation_id=session.organisation_id,
        patient=session.patient,
        appointment=session.appointment,
        session=session,
        moment=moment,
        caption=caption,
        created_by=acting_user,
    )
    row.store(photo)
    row.save()
    audit_record(
        action="photo.add",
        actor=acting_user,
        organisation=session.organisation,
        obj=row,
        patient=session.patient,
        changes=created(
            {
                "session": session.pk,
                "moment": moment,
                "width_px": photo.width_px,
                "height_px": photo.height_px,
                "sha256": photo.sha256,
            }
        ),
    )
    return row


@transaction.atomic
def photo_remove(*, photo: SessionPhoto, acting_user: User) -> None:
    """Remove a photo from a draft (a wrong patient, a blurred shot)."""
    session = _locked(photo.session)
    if not _is_clinician(acting_user, session.organisation_id):
        raise DomainError(_("Only a practitioner can remove photos from a chart."))
    if session.is_signed:
        raise Conflict(_("This session is signed; its photos cannot be removed."))
    audit_record(
        action="photo.remove",
        actor=acting_user,
        organisation=session.organisation,
        obj=photo,
        patient=session.patient,
        changes={"sha256": {"old": photo.sha256, "new": None}},
    )
    delete_photo_files_after_commit([photo])
    photo.delete()


@transaction.atomic
def session_discard(*, session: TreatmentSession, reason: str, acting_user: User) -> None:
    """Throw a draft away (the visit was cancelled: the patient was not treated). Its lines
    and photos go with it; the audit event keeps what it said. A signed session is never
    discarded."""
    session = _locked(session)
    if session.is_signed:
        raise Conflict(_("This session is signed; it cannot be discarded."))
    photos = list(session.photos.all())
    audit_record(
        action="session.discard",
        actor=acting_user,
        organisation=session.organisation,
        obj=session,
        patient=session.patient,
        changes={
            "reason": {"new": reason},
            "content": {"old": SessionContent.of(session).as_json(), "new": None},
            "photos": {"old": [p.sha256 for p in photos], "new": None},
        },
    )
    SessionPhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()
    session.injections.all().delete()
    session.delete()
    delete_photo_files_after_commit(photos)


__all__ = [
    "LineInput",
    "Precheck",
    "SessionContent",
    "line_warnings",
    "new_line_defaults",
    "photo_add",
    "photo_remove",
    "session_amend",
    "session_discard",
    "session_open",
    "session_prechecks",
    "session_sign",
    "session_update",
    "volume_by_product",
    "volume_by_zone",
]
