"""The aftercare set of a protocol version, and the checks every edited set passes (pure).

A protocol version keeps its own aftercare set (``ProtocolVersion.aftercare``, in
``aftercare.set_to_json`` form), edited by admins on the protocol page or through the API.
An empty one means the shipped set for the version's area and kind (``aftercare.default_set``),
so versions written before sets were kept per protocol still give a sheet.

Edited lines are shown to patients, so they pass ``check_set``: bounded lengths, and no text
that claims the treatment works ("guaranteed", "cure", "proven", "will regrow";
reference/clinical-facts.md section 7). Sources are not checked for these words: a source may
well say that something is *not* proven.

Imports no Django models (the version is only a type here).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from mesoclinic.treatments.aftercare import (
    SECTIONS,
    AftercareSet,
    default_set,
    set_from_json,
)

if TYPE_CHECKING:
    from mesoclinic.protocols.models import ProtocolVersion

__all__ = [
    "CLAIM_PATTERN",
    "MAX_LINES_PER_SECTION",
    "SOURCE_MAX_CHARS",
    "TEXT_MAX_CHARS",
    "aftercare_set_for",
    "check_set",
    "claim_in",
]

TEXT_MAX_CHARS = 1000
SOURCE_MAX_CHARS = 5000
MAX_LINES_PER_SECTION = 30

# Words that promise results. Whole words with their usual endings, so that "secure",
# "manicure" or "unproven" pass.
CLAIM_PATTERN = re.compile(
    r"\b(?:guarantee[sd]?|guaranteeing|cure[sd]?|curing|proven|will\s+regrow)\b",
    re.IGNORECASE,
)


def aftercare_set_for(version: ProtocolVersion) -> AftercareSet:
    """The version's own set when it has one, else the shipped set for its area and kind.

    Raises ``ValueError`` naming the bad entry if a stored set is malformed (the services
    write only validated sets)."""
    if version.aftercare:
        return set_from_json(version.aftercare)
    return default_set(area=version.area, kind=version.kind)


def claim_in(text: str) -> str | None:
    """The first word of ``text`` that promises a result, as written; None when there is none."""
    match = CLAIM_PATTERN.search(text)
    return match.group(0) if match else None


def check_set(s: AftercareSet) -> None:
    """Refuse a set that is too long or whose texts claim that a treatment works.

    Raises ``ValueError`` naming the section and line (counted from 1)."""
    for section in SECTIONS:
        lines = getattr(s, section)
        if len(lines) > MAX_LINES_PER_SECTION:
            raise ValueError(
                _("%(section)s: at most %(max)d lines.")
                % {"section": section, "max": MAX_LINES_PER_SECTION}
            )
        for number, line in enumerate(lines, start=1):
            where = f"{section}, line {number} ({line.code!r})"
            if len(line.text) > TEXT_MAX_CHARS:
                raise ValueError(
                    _("%(where)s: the text is too long: at most %(max)d characters.")
                    % {"where": where, "max": TEXT_MAX_CHARS}
                )
            if len(line.source) > SOURCE_MAX_CHARS:
                raise ValueError(
                    _("%(where)s: the source is too long: at most %(max)d characters.")
                    % {"where": where, "max": SOURCE_MAX_CHARS}
                )
            if any(_is_control(char) for char in line.text + line.source):
                raise ValueError(
                    _("%(where)s: text and source are one line each, without control characters.")
                    % {"where": where}
                )
            if "|" in line.text:
                # The protocol page writes a line as "text | source | evidence".
                raise ValueError(_("%(where)s: the text cannot contain “|”.") % {"where": where})
            word = claim_in(line.text)
            if word is not None:
                raise ValueError(
                    _(
                        "%(where)s: “%(word)s” promises a result; aftercare texts must not "
                        "claim that the treatment works."
                    )
                    % {"where": where, "word": word}
                )


def _is_control(char: str) -> bool:
    return ord(char) < 32 or 127 <= ord(char) < 160
