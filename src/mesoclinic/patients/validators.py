"""Checks on patient details shared by the pages' forms and the API's schemas.

Each function returns the cleaned value or raises ``ValueError`` with a message fit to
show a person.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from mesoclinic.patients.search import PHONE_NOTATION, digits_of

# The digits of a phone number, as search indexes them.
phone_digits = digits_of

NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254
ADDRESS_MAX_CHARS = 500
OLDEST_AGE_YEARS = 130


def _has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    for char in value:
        if allow_newlines and char in "\r\n":
            continue
        if unicodedata.category(char) in {"Cc", "Cs"}:
            return True
    return False


def _check_readable(value: str, *, label: str) -> None:
    # Bytes that were not UTF-8 arrive as U+FFFD; storing them would lose the original text.
    if "\ufffd" in value:
        raise ValueError(
            _("%(label)s contains characters that could not be read; send text as UTF-8.")
            % {"label": label}
        )


def clean_name(value: str, *, label: str) -> str:
    _check_readable(value, label=label)
    value = " ".join(value.split())
    if not value:
        raise ValueError(_("%(label)s is required.") % {"label": label})
    if len(value) > NAME_MAX_CHARS:
        raise ValueError(
            _("%(label)s is too long: %(count)d characters, at most %(max)d.")
            % {"label": label, "count": len(value), "max": NAME_MAX_CHARS}
        )
    if _has_control_characters(value):
        raise ValueError(_("%(label)s contains control characters.") % {"label": label})
    return value


def clean_date_of_birth(value: dt.date, *, today: dt.date) -> dt.date:
    if value > today:
        raise ValueError(_("Date of birth cannot be in the future."))
    if value.year < today.year - OLDEST_AGE_YEARS:
        raise ValueError(
            _("Date of birth is more than %(years)d years ago; check the year.")
            % {"years": OLDEST_AGE_YEARS}
        )
    return value


def clean_email(value: str) -> str:
    _check_readable(value, label=_("Email address"))
    value = value.strip()
    if not value:
        return ""
    if len(value) > EMAIL_MAX_CHARS:
        raise ValueError(_("Email address is too long."))
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(_("Enter a valid email address, like name@example.com.")) from None
    return value


def clean_phone(value: str) -> str:
    _check_readable(value, label=_("Phone"))
    value = " ".join(value.split())
    if not value:
        return ""
    digits = digits_of(value)
    if not PHONE_NOTATION.match(value) or not 6 <= len(digits) <= 15:
        raise ValueError(
            _(
                "Enter a phone number of 6 to 15 digits; it may start with + and use spaces, "
                "dashes, dots or brackets."
            )
        )
    return value


def clean_text(value: str, *, label: str, max_chars: int) -> str:
    """Free text over several lines (an address, a note): readable, bounded, no control codes."""
    _check_readable(value, label=label)
    value = value.strip()
    if len(value) > max_chars:
        raise ValueError(
            _("%(label)s is too long: at most %(max)d characters.")
            % {"label": label, "max": max_chars}
        )
    if _has_control_characters(value, allow_newlines=True):
        raise ValueError(_("%(label)s contains control characters.") % {"label": label})
    return value


def clean_address(value: str) -> str:
    return clean_text(value, label=_("Address"), max_chars=ADDRESS_MAX_CHARS)
