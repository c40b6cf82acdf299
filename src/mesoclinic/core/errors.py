"""Errors that services raise when an action would break an invariant.

Pages show them as form errors; the API answers them as ``application/problem+json``.
"""

from __future__ import annotations


class DomainError(Exception):
    """An action that cannot be carried out as asked. ``field`` names the input at fault."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(DomainError):
    """The action clashes with existing data (a duplicate, an existing membership)."""

    status = 409
