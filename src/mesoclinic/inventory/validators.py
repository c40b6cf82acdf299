"""Field checks shared by the inventory forms and API schemas (pure)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# Lot numbers as printed on packs: letters, digits and the separators manufacturers use.
# Anything else (spaces inside, quotes, control characters) is almost always a typo or a
# scanner artefact, and would make the recall search miss the lot.
LOT_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-./]{0,39}$")
# The largest quantity anyone receives or moves in one go; more is a typo.
MAX_QUANTITY = Decimal("100000")


def clean_lot_number(raw: str) -> str:
    """The lot number trimmed and upper-cased, or ValueError saying what is wrong."""
    value = (raw or "").strip().upper()
    if not value:
        raise ValueError(_("Enter the lot number printed on the pack."))
    if LOT_NUMBER_RE.match(value):
        return value
    bad = next((c for c in value if not (c.isascii() and (c.isalnum() or c in "-./"))), None)
    if bad is not None:
        what = (
            _("a space")
            if bad.isspace()
            else repr(bad)
            if bad.isprintable()
            else _("a control character")
        )
        raise ValueError(
            _(
                "A lot number has only letters, digits, '-', '.' and '/'; this one "
                "contains %(what)s."
            )
            % {"what": what}
        )
    if len(value) > 40:
        raise ValueError(
            _("A lot number has at most 40 characters; this one has %(count)d.")
            % {"count": len(value)}
        )
    raise ValueError(_("A lot number starts with a letter or a digit."))


def clean_quantity(raw: object, *, allow_negative: bool = False) -> Decimal:
    """A quantity with at most two decimals, non-zero, within +-MAX_QUANTITY."""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("Enter a number, e.g. 10 or 2.5.")) from None
    if not value.is_finite():
        raise ValueError(_("Enter a number, e.g. 10 or 2.5."))
    if value == 0:
        raise ValueError(_("A quantity of zero changes nothing."))
    if value < 0 and not allow_negative:
        raise ValueError(_("The quantity must be more than zero."))
    # Before the decimals: quantizing a huge number (1E+30) exceeds the decimal context.
    if abs(value) > MAX_QUANTITY:
        raise ValueError(
            _("%(value)s is more than the %(max)s allowed at once.")
            % {"value": value, "max": MAX_QUANTITY}
        )
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("Use at most two decimals."))
    return value


def clean_threshold(raw: object) -> Decimal:
    """A low-stock threshold: zero (no warning) or more, at most two decimals."""
    if raw is None or str(raw).strip() == "":
        return Decimal("0")
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("Enter a number, e.g. 10 or 2.5; 0 for no warning.")) from None
    if not value.is_finite():
        raise ValueError(_("Enter a number, e.g. 10 or 2.5; 0 for no warning."))
    if value < 0:
        raise ValueError(_("The threshold cannot be negative; 0 means no warning."))
    if value > MAX_QUANTITY:
        raise ValueError(_("Enter at most %(max)s.") % {"max": MAX_QUANTITY})
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("Use at most two decimals."))
    return value


def check_expiry(expires_on: dt.date, *, today: dt.date) -> dt.date:
    """The expiry date of stock being received, or ValueError when it is already past:
    expired stock cannot be used, so receiving it is almost always a misread date."""
    if expires_on < today:
        raise ValueError(
            _(
                "This expiry date (%(date)s) is already past: expired stock cannot be used. "
                "Check the date on the pack; return expired stock to the supplier."
            )
            % {"date": expires_on.isoformat()}
        )
    return expires_on
