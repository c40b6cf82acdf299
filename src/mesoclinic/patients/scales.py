"""Hair-loss classification scales and scalp zones, with their sources (pure data).

Source for the scales: reference/clinical-facts.md section 2, "Classifications".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    code: str
    name: str
    grades: tuple[tuple[str, str], ...]  # (stored code, label shown)
    source: str


NORWOOD = Scale(
    code="norwood",
    name="Hamilton-Norwood",
    grades=tuple(
        (grade, grade)
        for grade in [
            "I",
            "II",
            "IIa",
            "III",
            "IIIa",
            "III vertex",
            "IV",
            "IVa",
            "V",
            "Va",
            "VI",
            "VII",
        ]
    ),
    source="Hamilton-Norwood I-VII with the anterior (a) and vertex variants; "
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC3927169/",
)
LUDWIG = Scale(
    code="ludwig",
    name="Ludwig",
    grades=(("I", "I"), ("II", "II"), ("III", "III")),
    source="Ludwig I-III; https://pmc.ncbi.nlm.nih.gov/articles/PMC3927169/",
)
SINCLAIR = Scale(
    code="sinclair",
    name="Sinclair",
    grades=tuple((str(n), str(n)) for n in range(1, 6)),
    # The grade descriptors were not retrieved, so only the numbers are shown.
    source="Sinclair 1999, a 5-grade scale (grade descriptors not retrieved)",
)
BASP_BASIC = Scale(
    code="basp_basic",
    name="BASP basic type",
    grades=tuple(
        (code, code)
        for code in ["L", "M0", "M1", "M2", "M3", "C0", "C1", "C2", "C3", "U1", "U2", "U3"]
    ),
    source="BASP (Lee 2007): basic types L, M, C, U describe the hairline; "
    "https://www.jaad.org/article/S0190-9622(07)00021-7/fulltext",
)
BASP_FRONTAL = Scale(
    code="basp_frontal",
    name="BASP specific type F (frontal density)",
    grades=(("F1", "F1"), ("F2", "F2"), ("F3", "F3")),
    source=BASP_BASIC.source,
)
BASP_VERTEX = Scale(
    code="basp_vertex",
    name="BASP specific type V (vertex density)",
    grades=(("V1", "V1"), ("V2", "V2"), ("V3", "V3")),
    source=BASP_BASIC.source,
)
SCALES = (NORWOOD, LUDWIG, SINCLAIR, BASP_BASIC, BASP_FRONTAL, BASP_VERTEX)

# The scalp map's zones (the session chart uses the same codes).
SCALP_ZONES: tuple[tuple[str, str], ...] = (
    ("frontal_hairline", "Frontal hairline"),
    ("frontal", "Frontal"),
    ("mid_scalp", "Mid-scalp"),
    ("vertex", "Vertex (crown)"),
    ("temporal_left", "Left temporal"),
    ("temporal_right", "Right temporal"),
    ("parietal_left", "Left parietal"),
    ("parietal_right", "Right parietal"),
    ("occipital", "Occipital"),
)
ZONE_CODES = frozenset(code for code, _label in SCALP_ZONES)
