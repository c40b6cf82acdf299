"""Aftercare instruction sets and the aftercare sheet given after a session (pure).

The shipped sets live in ``protocols/defaults/aftercare.json``: one per treatment area, plus
``prp``, whose lines are added for PRP and combined protocols. Every line carries its source
and an evidence code. No peer-reviewed aftercare protocol exists, so most lines are
``clinic_practice`` (reference/clinical-facts.md section 5), and no line claims that a
treatment works (section 7).

A sheet is built from plain values and stored as JSON (``sheet_to_json``) when it is given
to the patient, so that it can be shown and printed again exactly as given
(``sheet_from_json`` is its exact inverse). ``sheet_text`` renders the email body.

Only ``django.utils`` (translation, date formatting) is imported from Django.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from django.utils import dateformat
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.screening.rules import ProtocolKind
from mesoclinic.treatments.limits import AREAS

__all__ = [
    "AFTERCARE_FILE",
    "EVIDENCE_LABELS",
    "PRP_KINDS",
    "SECTIONS",
    "AftercareLine",
    "AftercareSet",
    "AftercareSheet",
    "HomeCareProduct",
    "TreatedZone",
    "build_sheet",
    "default_set",
    "set_from_json",
    "set_to_json",
    "sheet_from_json",
    "sheet_text",
    "sheet_to_json",
    "shipped_sets",
]

AFTERCARE_FILE = (
    Path(__file__).resolve().parent.parent / "protocols" / "defaults" / "aftercare.json"
)

EVIDENCE_LABELS: Mapping[str, str | Promise] = MappingProxyType(
    {
        "clinic_practice": _("Clinic practice (clinic web pages; no peer-reviewed protocol)"),
        "expert_opinion": _("Expert opinion"),
        "case_report": _("Case reports"),
        "trial": _("Reported in clinical studies"),
    }
)

# The protocol kinds (screening.rules.ProtocolKind, the codes of KIND_CHOICES) that include
# PRP and so get the "prp" lines.
PRP_KINDS: frozenset[str] = frozenset({ProtocolKind.PRP.value, ProtocolKind.COMBINED.value})

# The sections of a set, in the order a sheet shows them.
SECTIONS: tuple[str, ...] = ("lines", "expected_reactions", "call_the_clinic")
_PRP_SET = "prp"
_SHEET_FORMAT = 1


@dataclass(frozen=True)
class AftercareLine:
    """One instruction or remark: a stable ``code``, patient-facing ``text``, its ``source``
    and an ``evidence`` code (a key of ``EVIDENCE_LABELS``)."""

    code: str
    text: str
    source: str
    evidence: str

    @property
    def evidence_label(self) -> str:
        """The evidence code in words, in the active language."""
        return str(EVIDENCE_LABELS[self.evidence])


@dataclass(frozen=True)
class AftercareSet:
    """Instructions, short-lived reactions to expect, and signs to call the clinic about."""

    lines: tuple[AftercareLine, ...]
    expected_reactions: tuple[AftercareLine, ...]
    call_the_clinic: tuple[AftercareLine, ...]


@functools.cache
def shipped_sets() -> Mapping[str, AftercareSet]:
    """The shipped sets by name (the areas and ``prp``), read and validated once.

    Raises ``ValueError`` naming the bad entry if the file lacks a set, a line lacks its
    code, text or source, has an unknown evidence code, or repeats a code within its set.
    """
    data = json.loads(AFTERCARE_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("sets"), Mapping):
        raise ValueError(f"{AFTERCARE_FILE.name}: expected an object with 'sets'.")
    sets = {
        name: _parse_set(raw, where=f"{AFTERCARE_FILE.name} set {name!r}")
        for name, raw in data["sets"].items()
    }
    missing = [name for name in (*AREAS, _PRP_SET) if name not in sets]
    if missing:
        raise ValueError(f"{AFTERCARE_FILE.name}: no set for {', '.join(missing)}.")
    for area in AREAS:
        # An area set plus the PRP lines must still have unique codes (see default_set).
        _merge(sets[area], sets[_PRP_SET], where=f"{AFTERCARE_FILE.name} sets {area!r} + 'prp'")
    return MappingProxyType(sets)


def default_set(*, area: str, kind: str) -> AftercareSet:
    """The shipped set of ``area``; for a kind in ``PRP_KINDS``, the ``prp`` lines follow
    each section's area lines. Raises ``ValueError`` for an unknown area or kind."""
    if area not in AREAS:
        raise ValueError(f"Unknown treatment area {area!r}; known areas: {', '.join(AREAS)}.")
    kinds = [member.value for member in ProtocolKind]
    if kind not in kinds:
        raise ValueError(f"Unknown treatment kind {kind!r}; known kinds: {', '.join(kinds)}.")
    sets = shipped_sets()
    if kind in PRP_KINDS:
        return _merge(sets[area], sets[_PRP_SET], where=f"sets {area!r} + 'prp'")
    return sets[area]


def _merge(first: AftercareSet, second: AftercareSet, *, where: str) -> AftercareSet:
    merged = AftercareSet(
        lines=first.lines + second.lines,
        expected_reactions=first.expected_reactions + second.expected_reactions,
        call_the_clinic=first.call_the_clinic + second.call_the_clinic,
    )
    _check_unique_codes(merged, where=where)
    return merged


def set_to_json(s: AftercareSet) -> dict[str, list[dict[str, str]]]:
    """``s`` as JSON-ready data; ``set_from_json`` gives back an equal set."""
    return {
        section: [
            {"code": line.code, "text": line.text, "source": line.source, "evidence": line.evidence}
            for line in getattr(s, section)
        ]
        for section in SECTIONS
    }


def set_from_json(data: Mapping[str, Any]) -> AftercareSet:
    """The set stored as ``data`` (``set_to_json``'s shape), validated like the shipped ones.

    Raises ``ValueError`` naming the bad entry.
    """
    return _parse_set(data, where="aftercare set")


def _parse_set(data: object, *, where: str) -> AftercareSet:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object with {', '.join(SECTIONS)}.")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ValueError(f"{where}: unknown section {unknown[0]!r}.")
    sections: dict[str, tuple[AftercareLine, ...]] = {}
    for section in SECTIONS:
        raw = data.get(section)
        if not isinstance(raw, list):
            raise ValueError(f"{where}: {section!r} must be a list of lines.")
        sections[section] = tuple(
            _parse_line(item, where=f"{where}, {section}[{index}]")
            for index, item in enumerate(raw)
        )
    parsed = AftercareSet(**sections)
    _check_unique_codes(parsed, where=where)
    return parsed


def _parse_line(data: object, *, where: str) -> AftercareLine:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object with code, text, source and evidence.")
    code = data.get("code")
    if isinstance(code, str) and code.strip():
        where = f"{where} ({code!r})"
    values: dict[str, str] = {}
    for key in ("code", "text", "source", "evidence"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: missing {key}.")
        values[key] = value
    unknown = sorted(set(data) - set(values))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}.")
    if values["evidence"] not in EVIDENCE_LABELS:
        raise ValueError(
            f"{where}: unknown evidence code {values['evidence']!r}; "
            f"known codes: {', '.join(EVIDENCE_LABELS)}."
        )
    return AftercareLine(**values)


def _check_unique_codes(s: AftercareSet, *, where: str) -> None:
    # Codes identify a line across edits and translations, so one set never repeats one.
    seen: set[str] = set()
    for section in SECTIONS:
        for line in getattr(s, section):
            if line.code in seen:
                raise ValueError(f"{where}: the code {line.code!r} appears twice.")
            seen.add(line.code)


@dataclass(frozen=True)
class TreatedZone:
    """One treated zone on the sheet: its label, the volume injected there and the products.

    ``volume_ml`` is a finite, non-negative ``Decimal`` (an int or numeric string is turned
    into one; a float is refused, its binary error would show on the sheet).
    """

    label: str
    volume_ml: Decimal
    products: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume_ml", _volume(self.volume_ml, where=self.label))
        object.__setattr__(self, "products", tuple(self.products))


@dataclass(frozen=True)
class HomeCareProduct:
    """A product recommended for home use, with the clinic's note on how to use it."""

    name: str
    note: str


@dataclass(frozen=True)
class AftercareSheet:
    """Everything the patient is given after one session, as given."""

    patient_name: str
    clinic_name: str
    clinic_phone: str
    session_date: dt.date
    protocol_name: str
    practitioner_name: str
    treated: tuple[TreatedZone, ...]
    total_volume_ml: Decimal
    anaesthesia: str
    set: AftercareSet
    home_care: tuple[HomeCareProduct, ...]


def build_sheet(
    *,
    patient_name: str,
    clinic_name: str,
    clinic_phone: str,
    session_date: dt.date,
    protocol_name: str,
    practitioner_name: str,
    treated: Iterable[TreatedZone],
    anaesthesia: str,
    aftercare_set: AftercareSet,
    home_care: Iterable[HomeCareProduct] = (),
) -> AftercareSheet:
    """The sheet for one session; ``total_volume_ml`` is the exact sum of the zone volumes.

    ``session_date`` must be a date, not a datetime (the sheet shows the clinic's day).
    """
    zones = tuple(treated)
    return AftercareSheet(
        patient_name=patient_name,
        clinic_name=clinic_name,
        clinic_phone=clinic_phone,
        session_date=_date(session_date),
        protocol_name=protocol_name,
        practitioner_name=practitioner_name,
        treated=zones,
        total_volume_ml=sum((zone.volume_ml for zone in zones), Decimal(0)),
        anaesthesia=anaesthesia,
        set=aftercare_set,
        home_care=tuple(home_care),
    )


def sheet_to_json(sheet: AftercareSheet) -> dict[str, Any]:
    """``sheet`` as JSON-ready data: Decimals as strings (their digits kept), the date in
    ISO format. ``sheet_from_json`` of the result equals ``sheet``, digit for digit."""
    return {
        "format": _SHEET_FORMAT,
        "patient_name": sheet.patient_name,
        "clinic_name": sheet.clinic_name,
        "clinic_phone": sheet.clinic_phone,
        "session_date": sheet.session_date.isoformat(),
        "protocol_name": sheet.protocol_name,
        "practitioner_name": sheet.practitioner_name,
        "treated": [
            {"label": zone.label, "volume_ml": str(zone.volume_ml), "products": list(zone.products)}
            for zone in sheet.treated
        ],
        "total_volume_ml": str(sheet.total_volume_ml),
        "anaesthesia": sheet.anaesthesia,
        "set": set_to_json(sheet.set),
        "home_care": [{"name": item.name, "note": item.note} for item in sheet.home_care],
    }


def sheet_from_json(data: Mapping[str, Any]) -> AftercareSheet:
    """The sheet stored as ``data`` by ``sheet_to_json``, exactly as it was given.

    Raises ``ValueError`` naming the bad entry for a missing or mistyped field, an unknown
    format, or a stored total that is not the sum of the zone volumes.
    """
    if not isinstance(data, Mapping):
        raise ValueError("Aftercare sheet: expected an object.")
    if data.get("format") != _SHEET_FORMAT:
        raise ValueError(f"Aftercare sheet: unknown format {data.get('format')!r}.")
    texts = {
        key: _text(data, key, where="Aftercare sheet")
        for key in (
            "patient_name",
            "clinic_name",
            "clinic_phone",
            "protocol_name",
            "practitioner_name",
            "anaesthesia",
        )
    }
    raw_date = _text(data, "session_date", where="Aftercare sheet")
    try:
        session_date = dt.date.fromisoformat(raw_date)
    except ValueError:
        raise ValueError(f"Aftercare sheet: session_date {raw_date!r} is not a date.") from None
    zones = tuple(
        _zone_from_json(item, where=f"Aftercare sheet, treated[{index}]")
        for index, item in enumerate(_list(data, "treated"))
    )
    home_care = tuple(
        HomeCareProduct(
            name=_text(item, "name", where=f"Aftercare sheet, home_care[{index}]"),
            note=_text(item, "note", where=f"Aftercare sheet, home_care[{index}]"),
        )
        for index, item in enumerate(_list(data, "home_care"))
    )
    total = _volume(_text(data, "total_volume_ml", where="Aftercare sheet"), where="total")
    if total != sum((zone.volume_ml for zone in zones), Decimal(0)):
        raise ValueError(
            f"Aftercare sheet: total_volume_ml {total} is not the sum of the zone volumes."
        )
    return AftercareSheet(
        session_date=session_date,
        treated=zones,
        # The stored total, not a recomputed one: equal in value, and its digits are kept.
        total_volume_ml=total,
        set=_parse_set(data.get("set"), where="Aftercare sheet, set"),
        home_care=home_care,
        **texts,
    )


def _zone_from_json(data: object, *, where: str) -> TreatedZone:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object with label, volume_ml and products.")
    products = data.get("products")
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        raise ValueError(f"{where}: products must be a list of names.")
    return TreatedZone(
        label=_text(data, "label", where=where),
        volume_ml=_volume(_text(data, "volume_ml", where=where), where=where),
        products=tuple(products),
    )


def _text(data: object, key: str, *, where: str) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key} must be a string.")
    return value


def _list(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise ValueError(f"Aftercare sheet: {key} must be a list.")
    return value


def _volume(value: object, *, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"{where}: volume must be a Decimal, got {type(value).__name__}.")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{where}: volume {value!r} is not a number.") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{where}: volume {value!r} must be a finite number of mL, 0 or more.")
    return number


def _date(value: object) -> dt.date:
    # A datetime is a date subclass; its time would be lost or shifted on the sheet.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"session_date must be a date, got {type(value).__name__}.")
    return value


def sheet_text(sheet: AftercareSheet) -> str:
    """The plain-text email body of ``sheet``, in the active language.

    It always contains the session date, each treated zone with its volume, the
    instructions, the expected reactions, when to call the clinic with the clinic's phone
    number, any home-care products, and a closing line saying the sheet is general
    guidance, not a promise of results. It makes no claim that the treatment works.
    """
    date_text = dateformat.format(sheet.session_date, "j F Y")
    parts: list[str] = [
        gettext("Dear %(name)s,") % {"name": sheet.patient_name},
        gettext(
            "Thank you for your visit to %(clinic)s on %(date)s. This sheet explains how to "
            "look after the treated area over the next few days."
        )
        % {"clinic": sheet.clinic_name, "date": date_text},
    ]

    done = [
        gettext("What was done on %(date)s") % {"date": date_text},
        gettext("Treatment: %(protocol)s") % {"protocol": sheet.protocol_name},
        gettext("Practitioner: %(name)s") % {"name": sheet.practitioner_name},
    ]
    for zone in sheet.treated:
        if zone.products:
            done.append(
                gettext("- %(zone)s: %(volume)s mL (%(products)s)")
                % {
                    "zone": zone.label,
                    "volume": _ml(zone.volume_ml),
                    "products": ", ".join(zone.products),
                }
            )
        else:
            done.append(
                gettext("- %(zone)s: %(volume)s mL")
                % {"zone": zone.label, "volume": _ml(zone.volume_ml)}
            )
    done.append(gettext("Total volume: %(volume)s mL") % {"volume": _ml(sheet.total_volume_ml)})
    if sheet.anaesthesia:
        done.append(gettext("Numbing: %(anaesthesia)s") % {"anaesthesia": sheet.anaesthesia})
    parts.append("\n".join(done))

    if sheet.set.lines:
        parts.append(_section(gettext("After your session"), sheet.set.lines))
    if sheet.set.expected_reactions:
        parts.append(
            _section(
                gettext(
                    "What you may notice. These short-lived reactions can happen and usually "
                    "fade within a day or two:"
                ),
                sheet.set.expected_reactions,
            )
        )
    names = {"clinic": sheet.clinic_name, "phone": sheet.clinic_phone}
    # A clinic without a phone number on record: name the clinic, never "call X on ".
    if sheet.clinic_phone:
        when = gettext("When to call the clinic. Call %(clinic)s on %(phone)s if you notice:")
        worry = gettext("If anything worries you, call %(clinic)s on %(phone)s.")
    else:
        when = gettext("When to call the clinic. Contact %(clinic)s if you notice:")
        worry = gettext("If anything worries you, contact %(clinic)s.")
    parts.append(
        _section(when % names, sheet.set.call_the_clinic)
        if sheet.set.call_the_clinic
        else worry % names
    )

    if sheet.home_care:
        products = [gettext("Products for use at home")]
        products.extend(
            f"- {item.name}: {item.note}" if item.note else f"- {item.name}"
            for item in sheet.home_care
        )
        parts.append("\n".join(products))

    parts.append(
        gettext(
            "This sheet is general guidance for the days after your session. It is not a "
            "promise of results: people respond differently, and the clinic reviews your "
            "progress with you."
        )
    )
    parts.append(f"{sheet.clinic_name}\n{sheet.clinic_phone}")
    return "\n\n".join(parts) + "\n"


def _section(heading: str, lines: Sequence[AftercareLine]) -> str:
    return "\n".join([heading, *(f"- {line.text}" for line in lines)])


def _ml(value: Decimal) -> str:
    # As charted, but never in exponent form ("1E+1" would puzzle a patient).
    return format(value, "f")
