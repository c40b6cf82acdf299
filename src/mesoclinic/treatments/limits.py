"""Plausible ranges for a charted zone line, per treatment area (pure: plain data in and out).

A charted line (depth, needle, points, volume, technique) is checked against the limits of
its treatment area and gets a list of findings:

- ``refuse``: the value is outside what the product accepts (a typing slip such as 40 mm for
  4 mm, a negative volume). The form refuses to save it.
- ``warn``: the value is accepted but unusual; the practitioner confirms it.

Bounds are inclusive: a value equal to ``refuse_above`` is accepted, one above it is refused;
a value equal to ``warn_above`` is accepted silently, one above it warns.

The sources say there are no standardized regimens (Gupta 2023; reference/clinical-facts.md
section 7, item 7), so few numbers here come from a study. Each area's ``source`` names the
reference for every number that has one and calls the rest what they are: the product's
sanity bounds. A clinic replaces any number with overrides (a JSON settings value, read with
``load_overrides`` and applied with ``limits_for``); the override is named in ``source``.

Only ``django.utils`` (translation, the lazy-string type) is imported from Django: the
messages are for people, in the active language.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

__all__ = [
    "AREAS",
    "DEFAULT_LIMITS",
    "LIMIT_FIELDS",
    "RANGE_KEYS",
    "TECHNIQUES",
    "AreaLimits",
    "Finding",
    "Range",
    "check_line",
    "limits_for",
    "load_overrides",
    "validate_overrides",
]

# The codes of protocols.models.Area, repeated here so this module stays free of models
# (a test keeps the two in step).
AREAS: tuple[str, ...] = ("scalp", "face", "submental", "body")

# The codes of treatments.models.Technique (a test keeps the two in step).
TECHNIQUES: tuple[tuple[str, str | Promise], ...] = (
    ("nappage", _("Nappage")),
    ("point_by_point", _("Point-by-point")),
    ("papule", _("Papule")),
    ("injector_gun", _("Injector gun")),
    ("microneedling", _("Microneedling")),
)
_TECHNIQUE_CODES = frozenset(code for code, _label in TECHNIQUES)

# Technique-specific depths, from training sites only, which conflict with each other
# (reference/clinical-facts.md section 1, "Technique"): deeper than these warns.
_TECHNIQUE_MAX_DEPTH_MM: Mapping[str, tuple[Decimal, str | Promise]] = MappingProxyType(
    {
        "papule": (
            Decimal(2),
            _(
                "Depth %(value)s mm is deeper than the %(bound)s mm usually described for "
                "papules; please check the depth or the technique."
            ),
        ),
        "nappage": (
            Decimal(4),
            _(
                "Depth %(value)s mm is deeper than the %(bound)s mm usually described for "
                "nappage; please check the depth or the technique."
            ),
        ),
    }
)


@dataclass(frozen=True)
class Range:
    """Inclusive bounds for one number.

    A value above ``refuse_above`` or below ``refuse_below`` is refused; otherwise a value
    above ``warn_above`` or below ``warn_below`` warns (``None``: no such warning).
    ``warn_below`` exists for the needle gauge, where a *lower* number is a thicker needle.
    Construction guarantees ``refuse_below <= refuse_above`` and that each warning bound
    lies inside the accepted range, so every bound can be reached.
    """

    warn_above: Decimal | None
    refuse_above: Decimal
    refuse_below: Decimal
    warn_below: Decimal | None = None

    def __post_init__(self) -> None:
        if self.refuse_below > self.refuse_above:
            raise ValueError(
                f"refuse_below ({_num(self.refuse_below)}) is above "
                f"refuse_above ({_num(self.refuse_above)})."
            )
        for key in ("warn_above", "warn_below"):
            bound = getattr(self, key)
            if bound is None:
                continue
            if bound > self.refuse_above:
                raise ValueError(
                    f"{key} ({_num(bound)}) is above refuse_above ({_num(self.refuse_above)})."
                )
            if bound < self.refuse_below:
                raise ValueError(
                    f"{key} ({_num(bound)}) is below refuse_below ({_num(self.refuse_below)})."
                )


@dataclass(frozen=True)
class AreaLimits:
    """The ranges for one treatment area, with where each number comes from."""

    depth_mm: Range
    volume_ml_per_zone: Range
    points_per_zone: Range
    needle_gauge: Range
    needle_length_mm: Range
    source: str


# The Range fields of AreaLimits, in the order findings are reported.
LIMIT_FIELDS: tuple[str, ...] = (
    "depth_mm",
    "needle_length_mm",
    "needle_gauge",
    "points_per_zone",
    "volume_ml_per_zone",
)
RANGE_KEYS: tuple[str, ...] = ("warn_above", "warn_below", "refuse_above", "refuse_below")


def _range(
    refuse_below: int | str,
    refuse_above: int | str,
    *,
    warn_above: int | str | None = None,
    warn_below: int | str | None = None,
) -> Range:
    return Range(
        warn_above=None if warn_above is None else Decimal(warn_above),
        refuse_above=Decimal(refuse_above),
        refuse_below=Decimal(refuse_below),
        warn_below=None if warn_below is None else Decimal(warn_below),
    )


_KONDA = (
    "Depth: warn above 4 mm, Konda & Thappa, IJDVL 2013: needle penetration 'should not "
    "exceed 4 mm'"
)
_LONGEST_NEEDLE = (
    "refuse above 13 mm (depth and needle length): the longest mesotherapy needle in the "
    "sources, 13 mm 30/32G (text attributed to the Italian Society of Mesotherapy, read in a "
    "secondary copy; not scalp-specific)"
)
_GAUGE = (
    "Needle gauge: 18-34 G accepted (product sanity bound, not from a trial); warn below 27 G "
    "because the thickest mesotherapy needle in the sources is 27G (same Italian Society "
    "text)"
)
_NO_TRIAL_VOLUMES = (
    "No trial gives per-zone volume or point-count limits (Gupta 2023: no standardized "
    "regimens), so volume and points bounds are the product's sanity bounds, not from a "
    "trial, and configurable"
)
_SOURCES = "reference/clinical-facts.md sections 1 and 7"

DEFAULT_LIMITS: Mapping[str, AreaLimits] = MappingProxyType(
    {
        "scalp": AreaLimits(
            depth_mm=_range(0, 13, warn_above=4),
            volume_ml_per_zone=_range(0, 20, warn_above=5),
            points_per_zone=_range(0, 500),
            needle_gauge=_range(18, 34, warn_below=27),
            needle_length_mm=_range(0, 13),
            source=(
                f"{_KONDA}; {_LONGEST_NEEDLE}. {_GAUGE}. {_NO_TRIAL_VOLUMES}: volume warn "
                f"above 5 mL, refuse above 20 mL; points refuse above 500. ({_SOURCES})"
            ),
        ),
        "face": AreaLimits(
            depth_mm=_range(0, 13, warn_above=4),
            volume_ml_per_zone=_range(0, 10, warn_above=3),
            points_per_zone=_range(0, 500),
            needle_gauge=_range(18, 34, warn_below=27),
            needle_length_mm=_range(0, 13),
            source=(
                f"{_KONDA} (a general mesotherapy statement; no face-specific depth was "
                f"found); {_LONGEST_NEEDLE}. {_GAUGE}. {_NO_TRIAL_VOLUMES}: volume warn "
                f"above 3 mL, refuse above 10 mL; points refuse above 500. ({_SOURCES})"
            ),
        ),
        "submental": AreaLimits(
            depth_mm=_range(0, 13, warn_above=4),
            volume_ml_per_zone=_range(0, 20, warn_above=5),
            points_per_zone=_range(0, 500),
            needle_gauge=_range(18, 34, warn_below=27),
            needle_length_mm=_range(0, 13),
            source=(
                f"{_KONDA} (a general mesotherapy statement; no submental depth was found; "
                f"a clinic whose product is meant for the fat layer raises it with an "
                f"override); {_LONGEST_NEEDLE}. {_GAUGE}. {_NO_TRIAL_VOLUMES}: volume warn "
                f"above 5 mL, refuse above 20 mL; points refuse above 500. ({_SOURCES})"
            ),
        ),
        "body": AreaLimits(
            depth_mm=_range(0, 13, warn_above=4),
            volume_ml_per_zone=_range(0, 30, warn_above=10),
            points_per_zone=_range(0, 1000),
            needle_gauge=_range(18, 34, warn_below=27),
            needle_length_mm=_range(0, 13),
            source=(
                f"{_KONDA} (a general mesotherapy statement; no body-specific depth was "
                f"found); {_LONGEST_NEEDLE}. {_GAUGE}. {_NO_TRIAL_VOLUMES}: volume warn "
                f"above 10 mL, refuse above 30 mL; points refuse above 1000 (body zones are "
                f"larger). ({_SOURCES})"
            ),
        ),
    }
)

# Overrides: {area: {field: {key: number | numeric string | null}}}
Overrides = Mapping[str, Mapping[str, Mapping[str, Decimal | str | float | int | None]]]


def validate_overrides(overrides: Any) -> dict[str, dict[str, dict[str, Decimal | None]]]:
    """Check ``overrides`` and return them with every number as a ``Decimal``.

    Raises ``ValueError`` naming the bad entry for an unknown area, field or key, a value
    that is not a finite number, a ``null`` refuse bound, or bounds that contradict each
    other once merged with the defaults (``refuse_below`` above ``refuse_above``, a warning
    bound outside the accepted range). Valid overrides always give valid ``AreaLimits``.
    """
    if not isinstance(overrides, Mapping):
        raise ValueError("Treatment limit overrides must be an object of areas.")
    clean: dict[str, dict[str, dict[str, Decimal | None]]] = {}
    for area, fields in overrides.items():
        if area not in DEFAULT_LIMITS:
            raise ValueError(
                f"Treatment limit overrides: unknown area {area!r}; "
                f"known areas: {', '.join(AREAS)}."
            )
        if not isinstance(fields, Mapping):
            raise ValueError(f"Treatment limit overrides for {area}: expected an object of fields.")
        clean[area] = {}
        for field, keys in fields.items():
            where = f"{area}.{field}"
            if field not in LIMIT_FIELDS:
                raise ValueError(
                    f"Treatment limit overrides: unknown field {where!r}; "
                    f"known fields: {', '.join(LIMIT_FIELDS)}."
                )
            if not isinstance(keys, Mapping):
                raise ValueError(
                    f"Treatment limit overrides for {where}: expected an object such as "
                    '{"warn_above": 3, "refuse_above": 6}.'
                )
            clean[area][field] = {}
            for key, value in keys.items():
                if key not in RANGE_KEYS:
                    raise ValueError(
                        f"Treatment limit overrides: unknown key {where}.{key!r}; "
                        f"known keys: {', '.join(RANGE_KEYS)}."
                    )
                clean[area][field][key] = _override_number(value, where=f"{where}.{key}")
        # Merge now, so contradicting bounds fail when the settings are read, not mid-session.
        _apply(area, clean[area])
    return clean


def _override_number(value: object, *, where: str) -> Decimal | None:
    if value is None:
        if where.endswith(("refuse_above", "refuse_below")):
            raise ValueError(f"Treatment limit overrides: {where} cannot be null.")
        return None
    # bool is an int in Python, but true/false is never a meant limit.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"Treatment limit overrides: {where} must be a number, got {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"Treatment limit overrides: {where} must be a finite number.")
    try:
        # str() first: Decimal(0.1) would carry the float's binary error into the bound.
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(
            f"Treatment limit overrides: {where} must be a number, got {value!r}."
        ) from None
    if not number.is_finite():
        raise ValueError(f"Treatment limit overrides: {where} must be a finite number.")
    return number


def _apply(area: str, fields: Mapping[str, Mapping[str, Decimal | None]]) -> AreaLimits:
    limits = DEFAULT_LIMITS[area]
    changes: dict[str, Range] = {}
    notes: list[str] = []
    for field, keys in fields.items():
        try:
            changes[field] = dataclasses.replace(getattr(limits, field), **keys)
        except ValueError as exc:
            raise ValueError(f"Treatment limit overrides for {area}.{field}: {exc}") from None
        notes.extend(
            f"{field}.{key} = {'none' if value is None else _num(value)}"
            for key, value in keys.items()
        )
    if not changes:
        return limits
    source = f"{limits.source} Clinic overrides: {', '.join(notes)}."
    return dataclasses.replace(limits, source=source, **changes)


def load_overrides(raw: str) -> dict[str, dict[str, dict[str, Decimal | None]]]:
    """Parse a JSON text of overrides and validate it (see ``validate_overrides``).

    An empty or blank text means no overrides. Raises ``ValueError`` with a clear message
    for anything malformed, including text that is not JSON.
    """
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Treatment limit overrides are not valid JSON: {exc}.") from None
    return validate_overrides(data)


def limits_for(area: str, overrides: Overrides | None = None) -> AreaLimits:
    """The limits of ``area``: the defaults with any of the area's ``overrides`` applied.

    Raises ``ValueError`` for an unknown area or malformed overrides.
    """
    if area not in DEFAULT_LIMITS:
        raise ValueError(f"Unknown treatment area {area!r}; known areas: {', '.join(AREAS)}.")
    if not overrides:
        return DEFAULT_LIMITS[area]
    clean = validate_overrides(overrides)
    return _apply(area, clean.get(area, {}))


@dataclass(frozen=True)
class Finding:
    """One remark on one field of a charted line; ``field`` is the line's field name."""

    field: str
    level: Literal["warn", "refuse"]
    message: str


# Area names as they sit inside a sentence ("allowed for the scalp").
_AREA_PHRASES: Mapping[str, str | Promise] = MappingProxyType(
    {
        "scalp": _("the scalp"),
        "face": _("the face"),
        "submental": _("the submental area"),
        "body": _("the body"),
    }
)

# One whole sentence per field and direction, so a translator sees each one in full.
_Messages = Mapping[str, str | Promise]
_MESSAGES: Mapping[str, _Messages] = MappingProxyType(
    {
        "depth_mm": {
            "refuse_above": _(
                "Depth %(value)s mm is more than the %(bound)s mm allowed for %(area)s."
            ),
            "refuse_below": _("Depth %(value)s mm is less than the %(bound)s mm allowed."),
            "warn_above": _(
                "Depth %(value)s mm is more than the %(bound)s mm advised for %(area)s; "
                "please check it."
            ),
            "warn_below": _(
                "Depth %(value)s mm is less than the %(bound)s mm usual for %(area)s; "
                "please check it."
            ),
        },
        "needle_length_mm": {
            "refuse_above": _(
                "Needle length %(value)s mm is more than the %(bound)s mm allowed for %(area)s."
            ),
            "refuse_below": _("Needle length %(value)s mm is less than the %(bound)s mm allowed."),
            "warn_above": _(
                "Needle length %(value)s mm is more than the %(bound)s mm usual for %(area)s; "
                "please check it."
            ),
            "warn_below": _(
                "Needle length %(value)s mm is less than the %(bound)s mm usual for %(area)s; "
                "please check it."
            ),
        },
        "needle_gauge": {
            "refuse_above": _(
                "Needle gauge %(value)s G is finer than the %(bound)s G allowed for %(area)s."
            ),
            "refuse_below": _(
                "Needle gauge %(value)s G is thicker than the %(bound)s G allowed for %(area)s."
            ),
            "warn_above": _(
                "Needle gauge %(value)s G is finer than the %(bound)s G usual for %(area)s; "
                "please check it."
            ),
            "warn_below": _(
                "Needle gauge %(value)s G is a thicker needle than the %(bound)s G usual for "
                "%(area)s; please check it."
            ),
        },
        "points": {
            "refuse_above": _(
                "%(value)s injection points in one zone is more than the %(bound)s allowed "
                "for %(area)s."
            ),
            "refuse_below": _("%(value)s injection points is less than the %(bound)s allowed."),
            "warn_above": _(
                "%(value)s injection points in one zone is more than the %(bound)s usual for "
                "%(area)s; please check it."
            ),
            "warn_below": _(
                "%(value)s injection points in one zone is less than the %(bound)s usual for "
                "%(area)s; please check it."
            ),
        },
        "volume_ml": {
            "refuse_above": _(
                "Volume %(value)s mL in one zone is more than the %(bound)s mL allowed for "
                "%(area)s."
            ),
            "refuse_below": _("Volume %(value)s mL is less than the %(bound)s mL allowed."),
            "warn_above": _(
                "Volume %(value)s mL in one zone is more than the %(bound)s mL usual for "
                "%(area)s; please check it."
            ),
            "warn_below": _(
                "Volume %(value)s mL in one zone is less than the %(bound)s mL usual for "
                "%(area)s; please check it."
            ),
        },
    }
)

# The charted line's field name -> the AreaLimits range that bounds it.
_LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("depth_mm", "depth_mm"),
    ("needle_length_mm", "needle_length_mm"),
    ("needle_gauge", "needle_gauge"),
    ("points", "points_per_zone"),
    ("volume_ml", "volume_ml_per_zone"),
)

_FIELD_ORDER: tuple[str, ...] = (*(line for line, _range in _LINE_FIELDS), "technique")

Number = Decimal | int


def check_line(
    *,
    area: str,
    depth_mm: Number | None,
    needle_gauge: int | None,
    needle_length_mm: Number | None,
    points: int | None,
    volume_ml: Number | None,
    technique: str | None,
    limits: AreaLimits | None = None,
) -> list[Finding]:
    """The findings for one charted zone line, refusals first, then warnings.

    Guarantees: a ``None`` value produces no finding; a field has at most one refusal, and a
    refused field gets no warning (the slip is corrected first); within a level the order
    is depth, needle length, gauge, points, volume, technique. Beyond the area's ranges, a
    depth greater than the needle length is refused (a needle cannot reach past its length),
    papule deeper than 2 mm and nappage deeper than 4 mm warn, and zero volume over one or
    more points warns.
    ``limits`` defaults to ``DEFAULT_LIMITS[area]``. Raises ``ValueError`` for an unknown
    area; an unknown technique is a refusal, so a form shows it like any other.
    """
    if area not in DEFAULT_LIMITS:
        raise ValueError(f"Unknown treatment area {area!r}; known areas: {', '.join(AREAS)}.")
    limits = limits if limits is not None else DEFAULT_LIMITS[area]
    area_phrase = str(_AREA_PHRASES[area])
    values: dict[str, Decimal | None] = {
        "depth_mm": _decimal(depth_mm, "depth_mm"),
        "needle_length_mm": _decimal(needle_length_mm, "needle_length_mm"),
        "needle_gauge": _decimal(needle_gauge, "needle_gauge"),
        "points": _decimal(points, "points"),
        "volume_ml": _decimal(volume_ml, "volume_ml"),
    }
    findings: list[Finding] = []

    def add(field: str, level: Literal["warn", "refuse"], message: str) -> None:
        findings.append(Finding(field=field, level=level, message=message))

    for line_field, range_field in _LINE_FIELDS:
        value = values[line_field]
        if value is None:
            continue
        outcome = _compare(value, getattr(limits, range_field))
        if outcome is None:
            continue
        key, bound = outcome
        template = _MESSAGES[line_field][key]
        level: Literal["warn", "refuse"] = "refuse" if key.startswith("refuse") else "warn"
        add(
            line_field,
            level,
            str(template) % {"value": _num(value), "bound": _num(bound), "area": area_phrase},
        )

    depth, length = values["depth_mm"], values["needle_length_mm"]
    if depth is not None and length is not None and depth > length:
        add(
            "depth_mm",
            "refuse",
            gettext("Depth %(depth)s mm is more than the needle length of %(length)s mm.")
            % {"depth": _num(depth), "length": _num(length)},
        )

    if technique is not None:
        _check_technique(technique, depth, add)

    volume, points_value = values["volume_ml"], values["points"]
    if volume is not None and points_value is not None and volume == 0 and points_value > 0:
        add(
            "volume_ml",
            "warn",
            gettext("Volume is 0 mL for %(points)s injection points; please check the volume.")
            % {"points": _num(points_value)},
        )

    # A refused value is a slip to correct first: one refusal says so, and remarks on the
    # same field (a warning, a second refusal) would only be noise until it is corrected.
    refused: set[str] = set()
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda finding: finding.level != "refuse"):
        if finding.field in refused:
            continue
        if finding.level == "refuse":
            refused.add(finding.field)
        kept.append(finding)
    # Refusals first; inside a level, the line's field order (stable for one field).
    return sorted(
        kept,
        key=lambda finding: (finding.level != "refuse", _FIELD_ORDER.index(finding.field)),
    )


def _check_technique(
    technique: str,
    depth: Decimal | None,
    add: Callable[[str, Literal["warn", "refuse"], str], None],
) -> None:
    if technique not in _TECHNIQUE_CODES:
        add(
            "technique",
            "refuse",
            gettext("Unknown technique %(technique)s; choose one of: %(choices)s.")
            % {
                "technique": repr(technique),
                "choices": ", ".join(str(label) for _code, label in TECHNIQUES),
            },
        )
        return
    rule = _TECHNIQUE_MAX_DEPTH_MM.get(technique)
    if depth is not None and rule is not None and depth > rule[0]:
        deepest, template = rule
        add(
            "depth_mm",
            "warn",
            str(template) % {"value": _num(depth), "bound": _num(deepest)},
        )


def _compare(value: Decimal, bounds: Range) -> tuple[str, Decimal] | None:
    """Which bound ``value`` crosses, strictest first; ``None`` when it crosses none."""
    if value > bounds.refuse_above:
        return "refuse_above", bounds.refuse_above
    if value < bounds.refuse_below:
        return "refuse_below", bounds.refuse_below
    if bounds.warn_above is not None and value > bounds.warn_above:
        return "warn_above", bounds.warn_above
    if bounds.warn_below is not None and value < bounds.warn_below:
        return "warn_below", bounds.warn_below
    return None


def _decimal(value: object, field: str) -> Decimal | None:
    if value is None:
        return None
    # A float would hide binary error in the comparison, a bool is never a measurement:
    # both are programming errors, not input to report.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{field} must be a Decimal or an int, got {type(value).__name__}.")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{field} must be a finite number.")
    return number


def _num(value: Decimal) -> str:
    """``value`` as people write it: no exponent, no trailing zeros (4.0 -> "4")."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text
