"""CSV cells that a spreadsheet opens as text (pure).

Spreadsheets run a cell that starts like a formula (``=``, ``+``, ``-``, ``@``, or a tab or
carriage return before one); every CSV export writes its cells through ``csv_cell`` so a
name or note typed by anyone can never become a formula on an admin's computer.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as text, with a leading quote when it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
