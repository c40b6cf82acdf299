"""Sign-ins, sign-outs and failed sign-ins go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from mesoclinic.accounts.access import account_owner
from mesoclinic.accounts.models import User
from mesoclinic.core.audit import audit_record


def _record(action: str, user: User, *, actor: User | None, **kwargs: Any) -> None:
    organisation, patient = account_owner(user)
    audit_record(
        action=action, actor=actor, organisation=organisation, obj=user, patient=patient, **kwargs
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    _record("auth.login", user, actor=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        _record("auth.logout", user, actor=user)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    email = str(credentials.get("username") or "")[:254]
    user = User.objects.filter(email__iexact=email).first() if email else None
    organisation, patient = account_owner(user)
    audit_record(
        action="auth.login_failed",
        actor=None,
        organisation=organisation,
        obj=user,
        patient=patient,
        changes={"email": {"new": email}},
    )
