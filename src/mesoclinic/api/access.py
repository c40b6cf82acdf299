"""Who may call an endpoint, and ids sent in a body or a query: the checks every app's API
shares (the path's own ids go through the apps' selectors, where another organisation's is
a 404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from mesoclinic.accounts.access import Workspace, request_workspace
from mesoclinic.core.errors import DomainError

T = TypeVar("T")


def writer(
    request: HttpRequest, *, roles: tuple[str, ...] | None = None, refusal: str = ""
) -> Workspace:
    """The caller's workspace if they may write: not a read-only role (403), and one of
    ``roles`` when given (403 with ``refusal``)."""
    workspace = request_workspace(request)
    if not workspace.can_write:
        raise PermissionDenied("Your role is read-only.")
    if roles is not None and not workspace.has_role(*roles):
        raise PermissionDenied(refusal or "Your role cannot do this.")
    return workspace


def given(field: str, what: str, get: Callable[[], T]) -> T:
    """Resolve an id from the body or the query through an organisation-scoped selector: an
    unknown id, or another organisation's, is a 422 naming the field (the same answer for
    both, so nothing is revealed about other organisations)."""
    try:
        return get()
    except Http404:
        raise DomainError(f"No {what} with this id in your organisation.", field=field) from None
