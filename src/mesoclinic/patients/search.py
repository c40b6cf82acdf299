"""How patients are found: a folded search document per patient and a plan per query (pure).

Every patient row keeps ``search_document``: given and family name folded (lower case,
accents removed), record number, email and the phone's digits. A query becomes a list of
terms that must all appear in it, so "ana silva", "SILVA ana", "Müller" (finds "Muller"),
"ACM-000042", "jane@example.com" and "07700 900123" (finds "+44 7700 900123") each work with
one indexed condition per term (a trigram index on PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata

MAX_TERMS = 8
# What phone numbers are written with: an optional +, then digits, spaces and ()./-.
PHONE_NOTATION = re.compile(r"^\+?[0-9 ()./-]+$")
_MIN_PHONE_DIGITS = 4


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced text: "  José  MÜLLER " -> "jose muller"."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char) and unicodedata.category(char) not in {"Cc", "Cs"}
    )
    return " ".join(kept.casefold().split())


def digits_of(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def search_document(*, given_name: str, family_name: str, mrn: str, email: str, phone: str) -> str:
    parts = [fold(given_name), fold(family_name), fold(mrn), fold(email), digits_of(phone)]
    return " ".join(part for part in parts if part)


def query_terms(query: str) -> list[str]:
    """The terms that must all occur in a matching patient's search document.

    A phone-like query is one term of digits, leading zeros dropped so a number dialled
    nationally or with a 00 prefix finds the stored international form. Anything else is
    split into words. An empty list means "no filter".
    """
    cleaned = fold(query)
    if not cleaned:
        return []
    if PHONE_NOTATION.match(cleaned):
        # "+44 (0)20 7946 0000": the bracketed trunk zero is not dialled after a country code.
        digits = digits_of(cleaned.replace("(0)", ""))
        if len(digits) >= _MIN_PHONE_DIGITS:
            significant = digits.lstrip("0")
            return [significant if len(significant) >= _MIN_PHONE_DIGITS else digits]
    terms: list[str] = []
    for word in cleaned.split(" "):
        if word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]
