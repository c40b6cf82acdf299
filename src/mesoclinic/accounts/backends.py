from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from mesoclinic.accounts.models import User


class EmailBackend(ModelBackend):
    """Sign in by email address, case-insensitively; inactive users are refused."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (username or kwargs.get("email") or "").strip()
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            # Hash anyway so a missing account takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def lockout_username(
    request: HttpRequest | None, credentials: dict[str, Any] | None = None
) -> str | None:
    """The name django-axes counts failed sign-ins under: the email as ``EmailBackend`` matches it.

    Without this, axes counts ``Alice@acme.test`` and ``alice@acme.test`` separately, so
    changing the case of the address would start a fresh count. Wire it up with
    ``AXES_USERNAME_CALLABLE = "mesoclinic.accounts.backends.lockout_username"``.
    """
    raw: object = None
    if credentials:
        raw = credentials.get("username") or credentials.get("email")
    if raw is None and request is not None:
        raw = getattr(request, "data", request.POST).get("username")
    return str(raw or "").strip().lower() or None
