"""What a first session's chart starts from when the patient has no previous session of
the protocol: a technique and needle per kind of treatment and area (pure data, sourced).

A patient's previous signed session always wins over these (``services.session_open``):
the clinic's own way of doing it is the best default for the next visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LineDefaults:
    technique: str
    depth_mm: Decimal | None
    needle_gauge: int | None
    needle_length_mm: Decimal | None
    source: str


_GENERAL_NEEDLE = (
    "Needle: general mesotherapy practice is a 4 mm 27G or 13 mm 30/32G needle (Italian "
    "Society of Mesotherapy, read in a secondary copy; reference/clinical-facts.md, "
    "'Technique'). "
)

DEFAULTS: dict[tuple[str, str], LineDefaults] = {
    ("scalp", "mesotherapy"): LineDefaults(
        technique="nappage",
        depth_mm=Decimal("2.0"),
        needle_gauge=30,
        needle_length_mm=Decimal("4.0"),
        source=_GENERAL_NEEDLE
        + "Nappage 2-4 mm deep (training sites, which conflict); the depth is the lower end "
        "and penetration should not exceed 4 mm (Konda & Thappa, IJDVL 2013). Product "
        "defaults, not trial figures.",
    ),
    ("scalp", "prp"): LineDefaults(
        technique="nappage",
        depth_mm=Decimal("2.0"),
        needle_gauge=30,
        needle_length_mm=Decimal("4.0"),
        source="PRP injected intradermally with a 4 mm needle or an injector (NCT05129800; "
        "Legiawati 2023: 1 mL intradermal). No trial defines the technique further; "
        "product defaults.",
    ),
    ("face", "mesotherapy"): LineDefaults(
        technique="papule",
        depth_mm=Decimal("1.5"),
        needle_gauge=32,
        needle_length_mm=Decimal("4.0"),
        source=_GENERAL_NEEDLE
        + "Micropapules 1.5-2 mm deep (a training site, mesoderm.es). Product defaults.",
    ),
    ("submental", "mesotherapy"): LineDefaults(
        technique="point_by_point",
        depth_mm=Decimal("4.0"),
        needle_gauge=30,
        needle_length_mm=Decimal("13.0"),
        source=_GENERAL_NEEDLE
        + "Point-by-point 4-12 mm deep (a training site); the shallowest is the default. "
        "Product defaults, not trial figures.",
    ),
    ("body", "mesotherapy"): LineDefaults(
        technique="nappage",
        depth_mm=Decimal("2.0"),
        needle_gauge=30,
        needle_length_mm=Decimal("4.0"),
        source=_GENERAL_NEEDLE + "Nappage 2-4 mm deep (training sites). Product defaults.",
    ),
}


def line_defaults(*, area: str, kind: str) -> LineDefaults:
    """The defaults for an area and kind; mesotherapy with PRP charts like PRP, and an
    area without its own entry falls back to the scalp's mesotherapy line."""
    kind = "prp" if kind in ("prp", "combined") else kind
    return (
        DEFAULTS.get((area, kind))
        or DEFAULTS.get((area, "mesotherapy"))
        or DEFAULTS[("scalp", "mesotherapy")]
    )
