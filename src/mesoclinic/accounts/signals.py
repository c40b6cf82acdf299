"""Sign-ins, sign-outs and failed sign-ins go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.dispatch import receiver

from mesoclinic.accounts.access import SESSION_ORGANISATION_KEY, account_owner, workspace_for
from mesoclinic.accounts.models import User
from mesoclinic.core.audit import audit_record

# Stored instead of what was typed when it is not an email address: people type their
# password into the email field, and the audit trail must never keep a password.
NOT_AN_EMAIL = "(not an email address)"


def _record(action: str, user: User, *, actor: User | None, **kwargs: Any) -> None:
    organisation, patient = account_owner(user)
    audit_record(
        action=action, actor=actor, organisation=organisation, obj=user, patient=patient, **kwargs
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        # The organisation the person signs in to stays theirs for the session, even if
        # they are given a membership elsewhere meanwhile.
        workspace = workspace_for(user)
        if workspace is not None:
            session[SESSION_ORGANISATION_KEY] = workspace.organisation.pk
    _record("auth.login", user, actor=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        _record("auth.logout", user, actor=user)


def attempted_email(value: object) -> str:
    """What a failed sign-in typed as its email, or NOT_AN_EMAIL when it is not one."""
    text = str(value or "").strip()
    if not text:
        return ""
    if "@" not in text or len(text) > 254:
        return NOT_AN_EMAIL
    try:
        validate_email(text)
    except ValidationError:
        return NOT_AN_EMAIL
    return text


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    email = attempted_email(credentials.get("username"))
    user = (
        User.objects.filter(email__iexact=email).first()
        if email and email != NOT_AN_EMAIL
        else None
    )
    organisation, patient = account_owner(user)
    audit_record(
        action="auth.login_failed",
        actor=None,
        organisation=organisation,
        obj=user,
        patient=patient,
        changes={"email": {"new": email}},
    )
