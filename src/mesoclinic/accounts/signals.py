"""Sign-ins, sign-outs and failed sign-ins go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from mesoclinic.accounts.models import Membership, Organisation, User
from mesoclinic.core.audit import audit_record


def _organisation_of(user: User | None) -> Organisation | None:
    if user is None:
        return None
    membership = (
        Membership.objects.filter(user=user, is_active=True).select_related("organisation").first()
    )
    return membership.organisation if membership else None


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit_record(action="auth.login", actor=user, organisation=_organisation_of(user), obj=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            action="auth.logout", actor=user, organisation=_organisation_of(user), obj=user
        )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    email = str(credentials.get("username") or "")[:254]
    user = User.objects.filter(email__iexact=email).first() if email else None
    audit_record(
        action="auth.login_failed",
        actor=None,
        organisation=_organisation_of(user),
        obj=user,
        changes={"email": {"new": email}},
    )
