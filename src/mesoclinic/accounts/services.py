"""Every write to organisations, clinics, memberships and tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import smtplib
from collections.abc import Sequence
from typing import NoReturn

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from mesoclinic.accounts.access import is_portal_user
from mesoclinic.accounts.models import (
    ApiToken,
    Clinic,
    Membership,
    OpeningHours,
    Organisation,
    Role,
    User,
)
from mesoclinic.core.audit import audit_record, created, diff, snapshot
from mesoclinic.core.errors import Conflict, DomainError

TOKEN_PREFIX = "mc_"

logger = logging.getLogger(__name__)


class InvitationNotSent(DomainError):
    """The membership was committed but its invitation email could not be delivered."""


# (weekday 0=Monday, opens, closes)
OpeningInterval = tuple[int, dt.time, dt.time]


@transaction.atomic
def organisation_create(
    *, name: str, slug: str, mrn_prefix: str, acting_user: User | None
) -> Organisation:
    organisation = Organisation.objects.create(name=name, slug=slug, mrn_prefix=mrn_prefix)
    # Imported here: patients depends on accounts, not the other way round.
    from mesoclinic.patients.services import consent_templates_install

    audit_record(
        action="organisation.create",
        actor=acting_user,
        organisation=organisation,
        obj=organisation,
        changes=created(snapshot(organisation, ["name", "slug", "mrn_prefix"])),
    )
    consent_templates_install(organisation=organisation, acting_user=acting_user)
    from mesoclinic.protocols.services import protocol_defaults_install
    from mesoclinic.scheduling.services import appointment_types_install

    protocol_defaults_install(organisation=organisation, acting_user=acting_user)
    appointment_types_install(organisation=organisation)
    return organisation


def _hours_text(opening_hours: Sequence[OpeningInterval]) -> str:
    return "; ".join(
        f"{day}:{opens:%H:%M}-{closes:%H:%M}" for day, opens, closes in sorted(opening_hours)
    )


@transaction.atomic
def clinic_create(
    *,
    organisation: Organisation,
    name: str,
    address: str = "",
    phone: str = "",
    timezone_name: str,
    opening_hours: Sequence[OpeningInterval] = (),
    acting_user: User | None,
) -> Clinic:
    clinic = Clinic.objects.create(
        organisation=organisation, name=name, address=address, phone=phone, timezone=timezone_name
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(clinic=clinic, weekday=day, opens_at=opens, closes_at=closes)
        for day, opens, closes in opening_hours
    )
    audit_record(
        action="clinic.create",
        actor=acting_user,
        organisation=organisation,
        obj=clinic,
        changes=created(
            snapshot(clinic, ["name", "address", "phone", "timezone"])
            | {"opening_hours": _hours_text(opening_hours)}
        ),
    )
    return clinic


@transaction.atomic
def clinic_update(
    *,
    clinic: Clinic,
    name: str,
    address: str,
    phone: str,
    timezone_name: str,
    opening_hours: Sequence[OpeningInterval],
    acting_user: User,
) -> Clinic:
    """Change a clinic's details and replace its opening hours; audits what changed."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    fields = ["name", "address", "phone", "timezone"]
    before = snapshot(clinic, fields) | {
        "opening_hours": _hours_text([h.as_interval() for h in clinic.opening_hours.all()])
    }
    clinic.name, clinic.address, clinic.phone = name, address, phone
    clinic.timezone = timezone_name
    after = snapshot(clinic, fields) | {"opening_hours": _hours_text(opening_hours)}
    changes = diff(before, after)
    if not changes:
        return clinic
    clinic.save()
    if "opening_hours" in changes:
        clinic.opening_hours.all().delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(clinic=clinic, weekday=day, opens_at=opens, closes_at=closes)
            for day, opens, closes in opening_hours
        )
    audit_record(
        action="clinic.update",
        actor=acting_user,
        organisation=clinic.organisation,
        obj=clinic,
        changes=changes,
    )
    return clinic


def _password_set_link(user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


ACCOUNT_EXISTS_MESSAGE = _lazy(
    "This address already has a mesoclinic account. Ask the person for another address, "
    "or ask their current clinic's admin."
)


def _refuse_existing_account(user: User, organisation: Organisation) -> NoReturn:
    """Say why an existing account cannot be invited, revealing nothing about another clinic."""
    here = Membership.objects.filter(user=user, organisation=organisation).first()
    if here is not None and not is_portal_user(user):
        if here.is_active:
            raise Conflict(
                _("%(email)s is already a member of this organisation.") % {"email": user.email},
                field="email",
            )
        # Shown on this organisation's own staff list already, so naming them leaks nothing.
        raise Conflict(
            _(
                "%(email)s is a former member of this organisation. Reactivate them in the "
                "staff list instead of inviting them again."
            )
            % {"email": user.email},
            field="email",
        )
    raise Conflict(str(ACCOUNT_EXISTS_MESSAGE), field="email")


@transaction.atomic
def membership_create(
    *,
    user: User,
    organisation: Organisation,
    role: str,
    default_clinic: Clinic | None,
    acting_user: User | None,
) -> Membership:
    """Give ``user`` a role in ``organisation``; an existing membership there is a conflict."""
    if default_clinic is not None and default_clinic.organisation_id != organisation.pk:
        raise DomainError(_("That clinic belongs to another organisation."), field="default_clinic")
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        raise Conflict(
            _("%(email)s is already a member of this organisation.") % {"email": user.email},
            field="email",
        )
    if is_portal_user(user):
        raise Conflict(str(ACCOUNT_EXISTS_MESSAGE), field="email")
    # The user's own is_active is left alone: an inactive account stays inactive until its
    # owner's membership is reactivated (membership_reactivate), never by another clinic.
    membership = Membership.objects.create(
        user=user, organisation=organisation, role=role, default_clinic=default_clinic
    )
    audit_record(
        action="membership.create",
        actor=acting_user,
        organisation=organisation,
        obj=membership,
        changes=created(
            {
                "email": user.email,
                "full_name": user.full_name,
                "role": role,
                "default_clinic": default_clinic.pk if default_clinic else None,
            }
        ),
    )
    return membership


@transaction.atomic
def staff_invite(
    *,
    organisation: Organisation,
    email: str,
    full_name: str,
    role: str,
    default_clinic: Clinic | None,
    acting_user: User | None,
    base_url: str,
) -> Membership:
    """Create an account for a new staff member and email them a link to choose a password.

    Only a new address can be invited. An address that already has an account (staff of
    any organisation, a patient's portal account) is refused with a message that says
    nothing about whose account it is, so an admin can neither attach another clinic's
    staff to their organisation nor learn who uses mesoclinic. A former member of this
    organisation is reactivated from the staff list instead.
    """
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        _refuse_existing_account(user, organisation)
    user = User.objects.create_user(email=email, password=None, full_name=full_name)
    membership = membership_create(
        user=user,
        organisation=organisation,
        role=role,
        default_clinic=default_clinic,
        acting_user=acting_user,
    )
    link = _password_set_link(user, base_url)
    subject = _("You have been invited to %(organisation)s on mesoclinic") % {
        "organisation": organisation.name
    }
    body = _(
        "Hello %(name)s,\n\n%(inviter)s has added you to %(organisation)s as %(role)s.\n"
        "Choose your password here (the link works once and expires in %(hours)d hours):\n\n"
        "%(link)s\n\nYou sign in with this email address.\n"
    ) % {
        "name": user.full_name,
        "inviter": acting_user.full_name if acting_user else _("An administrator"),
        "organisation": organisation.name,
        "role": Role(role).label,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "link": link,
    }

    def send() -> None:
        try:
            send_mail(subject, body, None, [email])
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("Invitation email to %s could not be sent: %s", email, exc)
            raise InvitationNotSent(
                _(
                    "%(email)s was added, but the invitation email could not be sent (%(error)s). "
                    'They can use "Forgotten your password?" on the sign-in page to get a link.'
                )
                % {"email": email, "error": exc.__class__.__name__},
                field="email",
            ) from exc

    # Send only once the membership is committed: a rolled-back invite mails nobody.
    transaction.on_commit(send)
    return membership


@transaction.atomic
def membership_deactivate(*, membership: Membership, acting_user: User) -> Membership:
    """End a staff member's access to the organisation; signs them out on their next request.

    An organisation always keeps one active admin, and admins cannot lock themselves out.
    """
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.user_id == acting_user.pk:
        raise DomainError(_("You cannot deactivate your own access."))
    if not membership.is_active:
        return membership
    if membership.role == Role.ADMIN:
        other_admins = Membership.objects.filter(
            organisation_id=membership.organisation_id, role=Role.ADMIN, is_active=True
        ).exclude(pk=membership.pk)
        if not other_admins.exists():
            raise DomainError(_("The organisation needs at least one active admin."))
    before = snapshot(membership, ["is_active"])
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    revoked = ApiToken.objects.filter(
        user_id=membership.user_id, organisation_id=membership.organisation_id, revoked_at=None
    ).update(revoked_at=membership.deactivated_at)
    # Imported here: scheduling depends on accounts, not the other way round.
    from mesoclinic.scheduling.models import CalendarFeed

    feeds_revoked = CalendarFeed.objects.filter(
        practitioner_id=membership.user_id,
        organisation_id=membership.organisation_id,
        revoked_at=None,
    ).update(revoked_at=membership.deactivated_at)
    user = membership.user
    if not Membership.objects.filter(user=user, is_active=True).exists() and not user.is_superuser:
        user.is_active = False
        user.save(update_fields=["is_active"])
    audit_record(
        action="staff.deactivate",
        actor=acting_user,
        organisation=membership.organisation,
        obj=membership,
        changes=diff(before, snapshot(membership, ["is_active"]))
        | ({"api_tokens_revoked": {"new": revoked}} if revoked else {})
        | ({"calendar_feeds_revoked": {"new": feeds_revoked}} if feeds_revoked else {}),
    )
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, acting_user: User) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
    audit_record(
        action="staff.reactivate",
        actor=acting_user,
        organisation=membership.organisation,
        obj=membership,
        changes={"is_active": {"old": False, "new": True}},
    )
    return membership


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, organisation: Organisation, name: str = "", acting_user: User | None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    if not Membership.objects.filter(user=user, organisation=organisation, is_active=True).exists():
        raise DomainError(
            _("%(email)s has no active membership in %(organisation)s.")
            % {"email": user.email, "organisation": organisation.name}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        prefix=secret[:10],
        token_hash=hash_token(secret),
    )
    audit_record(
        action="api_token.create",
        actor=acting_user,
        organisation=organisation,
        obj=token,
        changes=created({"user": user.email, "name": name, "prefix": token.prefix}),
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, acting_user: User | None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            action="api_token.revoke",
            actor=acting_user,
            organisation=token.organisation,
            obj=token,
            changes={"revoked_at": {"old": None, "new": token.revoked_at.isoformat()}},
        )
    return token
