from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.access import (
    SESSION_CLINIC_KEY,
    SESSION_ORGANISATION_KEY,
    is_portal_user,
    workspace_for,
)


class ActiveMembershipMiddleware:
    """Attach ``request.workspace``; sign out a user whose access has been withdrawn.

    Deactivation takes effect on the user's next request, not at their next sign-in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.workspace = None  # type: ignore[attr-defined]
        user = request.user
        if not user.is_authenticated and SESSION_KEY in request.session:
            # The session names a user who can no longer be authenticated (deactivated):
            # end it for good, or reactivating the account would revive this old session.
            request.session.flush()
        if user.is_authenticated and not request.path.startswith("/api/"):
            workspace = workspace_for(
                user,
                organisation_id=request.session.get(SESSION_ORGANISATION_KEY),
                clinic_id=request.session.get(SESSION_CLINIC_KEY),
            )
            if workspace is None and not user.is_superuser and not is_portal_user(user):
                logout(request)
                # MessageMiddleware runs after this one, so request._messages does not exist
                # yet: write the notice into the redirect with a storage of our own.
                storage = default_storage(request)
                storage.add(
                    messages.ERROR, _("Your access has been withdrawn. Ask your clinic admin.")
                )
                response = redirect("login")
                storage.update(response)
                return response
            request.workspace = workspace  # type: ignore[attr-defined]
            if workspace is not None and workspace.clinic is not None:
                timezone.activate(workspace.clinic.tzinfo)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
