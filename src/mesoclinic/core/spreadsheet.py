"""CSV cells that a spreadsheet opens as text (pure).

Spreadsheets run a cell that starts like a formula (``=``, ``+``, ``-``, ``@``, or a tab or
carriage return before one); every CSV export writes its cells through ``csv_cell`` so a
name or note typed by anyone can never become a formula on an admin's computer.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as text, with a leading quote when it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    """A file whose write() returns what it is given: csv.writer then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_line(cells: Iterable[object]) -> str:
    """One CSV line (with its line ending) of ``cells``, for a streamed export. The cells
    are written as given: text a person typed goes through ``csv_cell`` first."""
    line: str = csv.writer(_Echo()).writerow(cells)
    return line
