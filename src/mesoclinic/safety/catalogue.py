"""The side-effect (adverse event) term catalogue: the data in ``safety/terms.json`` (pure).

Each term carries staff and patient wording, the closest CTCAE v5.0 term, the course it is
expected to take (``expected_course_hours``; ``None`` when no time-based expectation
applies, e.g. a permanent scar), whether it is always serious, and its sources. Durations
come from a source only where one exists; the others are clinic conventions or what patients
are told, and their notes say so (reference/clinical-facts.md section 3). Nothing here claims
that a treatment works.

Grades follow CTCAE v5.0: a term has its own description for a grade where CTCAE has one
(``Term.grades``), and the general CTCAE definition applies otherwise
(``Term.grade_description``).

The file ships inside the package, is read with ``importlib.resources`` and validated once
(``validate``): a broken file raises ``ValueError`` naming the term and the problem. Standard
library only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "CODES",
    "GRADES",
    "TERMS_FILE",
    "Source",
    "Term",
    "UnknownTerm",
    "catalogue_version",
    "choices",
    "generic_grades",
    "term",
    "terms",
    "validate",
]

TERMS_FILE = "terms.json"

GRADES = range(1, 6)

# The term codes in display order. Other modules and stored events refer to these codes, so
# the file must list exactly these, in this order (a new term is added here and there).
CODES: tuple[str, ...] = (
    "erythema",
    "pruritus",
    "papules",
    "pain",
    "burning",
    "edema",
    "frontal_edema",
    "hematoma",
    "headache",
    "infection",
    "urticaria",
    "angioedema",
    "necrosis",
    "scarring",
    "hair_loss",
    "vasovagal",
    "other",
)

_TERM_KEYS = (
    "code",
    "label",
    "patient_label",
    "ctcae_term",
    "expected_course_hours",
    "always_serious",
    "requires_text",
    "expected_course_note",
    "sources",
    "grades",
)
_SOURCE_KEYS = ("title", "url", "note")
_TOP_KEYS = (
    "catalogue_version",
    "always_serious_note",
    "generic_grades",
    "generic_grades_sources",
    "terms",
)
_OPTIONAL_TOP_KEYS = ("_comment",)
_CODE = re.compile(r"[a-z][a-z_]*")
_WEB_URL = re.compile(r"https?://\S+")


class UnknownTerm(KeyError):
    """No term with this code in the catalogue."""

    def __str__(self) -> str:
        # KeyError's own str() wraps the message in quotes.
        return str(self.args[0]) if self.args else "Unknown side-effect term."


@dataclass(frozen=True)
class Source:
    """What an entry rests on. ``url`` is an http(s) address, or ``""`` for a text with no
    public address (the clinic's patient text); ``note`` says plainly how strong it is."""

    title: str
    url: str
    note: str


@dataclass(frozen=True)
class Term:
    """One side-effect term. ``grades`` holds only the term's own CTCAE-style descriptions;
    ``generic_grades`` is the catalogue's general definitions, used for the other grades."""

    code: str
    label: str
    patient_label: str
    ctcae_term: str | None
    expected_course_hours: int | None
    always_serious: bool
    requires_text: bool
    expected_course_note: str
    sources: tuple[Source, ...]
    grades: Mapping[int, str] = field(hash=False)
    generic_grades: Mapping[int, str] = field(hash=False, compare=False, repr=False)

    def grade_description(self, grade: int) -> str:
        """The term's own description of ``grade``, else the general CTCAE definition.

        Raises ``ValueError`` for anything but a whole number from 1 to 5.
        """
        _check_grade(grade)
        own = self.grades.get(grade)
        return own if own is not None else self.generic_grades[grade]

    def grade_descriptions(self) -> list[tuple[int, str]]:
        """All five grades with their descriptions, in order, for a form's choices."""
        return [(grade, self.grade_description(grade)) for grade in GRADES]


def _check_grade(grade: object) -> None:
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise ValueError(f"A grade is a whole number from 1 to 5, got {grade!r}.")


@dataclass(frozen=True)
class _Catalogue:
    version: str
    generic_grades: Mapping[int, str]
    terms: tuple[Term, ...]
    by_code: Mapping[str, Term]


def catalogue_version() -> str:
    """The shipped catalogue's version (store it with each recorded event)."""
    return _shipped().version


def terms() -> tuple[Term, ...]:
    """Every shipped term, in display order (``CODES``); read and validated once."""
    return _shipped().terms


def term(code: str) -> Term:
    """The shipped term ``code``; raises ``UnknownTerm`` (a ``KeyError``) if there is none."""
    try:
        return _shipped().by_code[code]
    except (KeyError, TypeError):
        raise UnknownTerm(
            f"Unknown side-effect term {code!r}; known terms: {', '.join(CODES)}."
        ) from None


def choices() -> list[tuple[str, str]]:
    """``(code, label)`` for every term, in display order, for a form's choices."""
    return [(t.code, t.label) for t in terms()]


def generic_grades() -> Mapping[int, str]:
    """The general CTCAE v5.0 grade definitions, 1 to 5 (read-only)."""
    return _shipped().generic_grades


@functools.cache
def _shipped() -> _Catalogue:
    text = (resources.files(__package__ or "mesoclinic.safety") / TERMS_FILE).read_text(
        encoding="utf-8"
    )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{TERMS_FILE} is not valid JSON: {exc}.") from None
    try:
        version, generic, parsed = _parse(data)
    except ValueError as exc:
        raise ValueError(f"{TERMS_FILE}: {exc}") from None
    return _Catalogue(
        version=version,
        generic_grades=generic,
        terms=tuple(parsed),
        by_code=MappingProxyType({t.code: t for t in parsed}),
    )


def validate(data: dict[str, Any]) -> list[Term]:
    """The terms of the catalogue ``data`` (the shape of ``terms.json``), in file order.

    Checks every required key and no unknown one; ``catalogue_version`` and the general
    grades 1-5; per term: text fields non-empty, ``ctcae_term`` text or null,
    ``expected_course_hours`` a positive whole number or null, the flags true or false,
    ``grades`` keys among "1".."5" with non-empty text, at least one source, every source
    with a title, a note and an http(s) URL or "" (none), and at least one http(s) URL;
    codes unique and exactly ``CODES`` in that order. Raises ``ValueError`` naming the term
    and the problem.
    """
    return _parse(data)[2]


def _parse(data: object) -> tuple[str, Mapping[int, str], list[Term]]:
    if not isinstance(data, Mapping):
        raise ValueError("The catalogue must be an object.")
    _check_keys(data, required=_TOP_KEYS, optional=_OPTIONAL_TOP_KEYS, where="The catalogue")
    version = _text(data, "catalogue_version", where="The catalogue")
    _text(data, "always_serious_note", where="The catalogue")
    generic = _grades(data["generic_grades"], where="generic_grades")
    missing = [str(grade) for grade in GRADES if grade not in generic]
    if missing:
        raise ValueError(f"generic_grades: no description for grade {', '.join(missing)}.")
    _sources(data["generic_grades_sources"], where="generic_grades_sources")

    raw_terms = data["terms"]
    if not isinstance(raw_terms, list):
        raise ValueError("'terms' must be a list.")
    frozen_generic = MappingProxyType(dict(sorted(generic.items())))
    parsed: list[Term] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_terms):
        item = _term(raw, index=index, generic=frozen_generic)
        if item.code in seen:
            raise ValueError(f"term {item.code!r}: the code {item.code!r} appears twice.")
        seen.add(item.code)
        parsed.append(item)
    codes = tuple(item.code for item in parsed)
    if codes != CODES:
        missing_codes = [code for code in CODES if code not in seen]
        unknown = [code for code in codes if code not in CODES]
        if missing_codes:
            problem = f"no term {', '.join(repr(c) for c in missing_codes)}"
        elif unknown:
            problem = f"unknown term {', '.join(repr(c) for c in unknown)} (add it to CODES)"
        else:
            problem = "the terms are out of order"
        raise ValueError(f"{problem}; expected exactly, in order: {', '.join(CODES)}.")
    return version, frozen_generic, parsed


def _term(raw: object, *, index: int, generic: Mapping[int, str]) -> Term:
    where = f"term #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object.")
    code = raw.get("code")
    if isinstance(code, str) and code:
        where = f"term {code!r}"
    _check_keys(raw, required=_TERM_KEYS, where=where)
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError(f"{where}: code must be lower-case letters and underscores.")

    ctcae_term = raw["ctcae_term"]
    if ctcae_term is not None and (not isinstance(ctcae_term, str) or not ctcae_term.strip()):
        raise ValueError(f"{where}: ctcae_term must be a term name or null.")
    hours = raw["expected_course_hours"]
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int) or hours <= 0):
        raise ValueError(
            f"{where}: expected_course_hours must be a positive whole number of hours or "
            f"null, got {hours!r}."
        )
    flags = {}
    for key in ("always_serious", "requires_text"):
        if not isinstance(raw[key], bool):
            raise ValueError(f"{where}: {key} must be true or false.")
        flags[key] = raw[key]

    return Term(
        code=code,
        label=_text(raw, "label", where=where),
        patient_label=_text(raw, "patient_label", where=where),
        ctcae_term=ctcae_term,
        expected_course_hours=hours,
        always_serious=flags["always_serious"],
        requires_text=flags["requires_text"],
        expected_course_note=_text(raw, "expected_course_note", where=where),
        sources=_sources(raw["sources"], where=where),
        grades=MappingProxyType(dict(sorted(_grades(raw["grades"], where=where).items()))),
        generic_grades=generic,
    )


def _sources(raw: object, *, where: str) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: sources must be a non-empty list.")
    sources: list[Source] = []
    for index, item in enumerate(raw):
        at = f"{where}, source #{index + 1}"
        if not isinstance(item, Mapping):
            raise ValueError(f"{at}: expected an object with title, url and note.")
        _check_keys(item, required=_SOURCE_KEYS, where=at)
        url = item["url"]
        if not isinstance(url, str) or (url and not _WEB_URL.fullmatch(url)):
            raise ValueError(
                f'{at}: url {url!r} must start with http:// or https:// (or be "" for none).'
            )
        sources.append(
            Source(
                title=_text(item, "title", where=at), url=url, note=_text(item, "note", where=at)
            )
        )
    if not any(source.url for source in sources):
        raise ValueError(f"{where}: at least one source needs an http(s) url.")
    return tuple(sources)


def _grades(raw: object, *, where: str) -> dict[int, str]:
    if not isinstance(raw, Mapping):
        raise ValueError(f'{where}: grades must be an object keyed "1" to "5".')
    grades: dict[int, str] = {}
    for key, text in raw.items():
        if key not in {str(grade) for grade in GRADES}:
            raise ValueError(f"{where}: grades key {key!r} is not a grade from 1 to 5.")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: grade {key} needs a description.")
        grades[int(key)] = text
    return grades


def _check_keys(
    raw: Mapping[str, Any], *, required: Sequence[str], optional: Sequence[str] = (), where: str
) -> None:
    missing = [key for key in required if key not in raw]
    if missing:
        raise ValueError(f"{where}: missing key {', '.join(repr(k) for k in missing)}.")
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        raise ValueError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}.")


def _text(raw: Mapping[str, Any], key: str, *, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be non-empty text.")
    return value
