"""Private calendar feeds: a secret URL a practitioner pastes into their calendar app.

The secret is shown once, at creation; only its SHA-256 is stored, so a copy of the
database does not open anyone's feed. A practitioner has at most one working feed:
creating a new one revokes the old, which is also how a leaked URL is replaced.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.access import CLINICIANS
from mesoclinic.accounts.models import Membership, Organisation, User
from mesoclinic.core.audit import audit_record, created
from mesoclinic.core.errors import DomainError
from mesoclinic.scheduling.models import CalendarFeed


def hash_feed_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _revoke(feed: CalendarFeed, *, acting_user: User | None) -> None:
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        action="calendar_feed.revoke",
        actor=acting_user,
        organisation=feed.organisation,
        obj=feed,
        changes={"revoked_at": {"old": None, "new": feed.revoked_at.isoformat()}},
    )


@transaction.atomic
def calendar_feed_create(
    *, practitioner: User, organisation: Organisation, acting_user: User
) -> tuple[CalendarFeed, str]:
    """A new feed of ``practitioner``'s appointments in ``organisation``, and its secret
    token, which is returned this once and never stored. Revokes their previous feed."""
    # The membership row is the lock: two clicks at once must not leave two live feeds.
    membership = (
        Membership.objects.select_for_update()
        .filter(
            user=practitioner,
            organisation=organisation,
            is_active=True,
            role__in=CLINICIANS,
        )
        .first()
    )
    if membership is None:
        raise DomainError(
            _("%(name)s does not see patients at %(organisation)s.")
            % {"name": practitioner.full_name or practitioner.email, "organisation": organisation}
        )
    previous = CalendarFeed.objects.select_for_update().filter(
        practitioner=practitioner, organisation=organisation, revoked_at__isnull=True
    )
    for feed in previous:
        _revoke(feed, acting_user=acting_user)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        organisation=organisation,
        practitioner=practitioner,
        token_sha256=hash_feed_token(token),
    )
    audit_record(
        action="calendar_feed.create",
        actor=acting_user,
        organisation=organisation,
        obj=feed,
        changes=created({"practitioner": practitioner.email}),
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, feed: CalendarFeed, acting_user: User | None) -> CalendarFeed:
    """End the feed at once (its URL answers 404 from now on). Revoking twice is a no-op."""
    feed = CalendarFeed.objects.select_for_update().select_related("organisation").get(pk=feed.pk)
    if feed.revoked_at is None:
        _revoke(feed, acting_user=acting_user)
    return feed


def calendar_feed_active(*, practitioner: User, organisation: Organisation) -> CalendarFeed | None:
    """The practitioner's working feed in the organisation, if they have one."""
    return CalendarFeed.objects.filter(
        practitioner=practitioner, organisation=organisation, revoked_at__isnull=True
    ).first()


def calendar_feed_for_token(token: str) -> CalendarFeed | None:
    """The working feed this secret opens, or None (unknown, revoked, or its owner has
    lost access: a deactivated practitioner's feed stops with their account)."""
    if not token or len(token) > 200:
        return None
    # Looked up by the hash, so comparing secrets byte by byte (and timing it) is moot.
    return (
        CalendarFeed.objects.filter(
            token_sha256=hash_feed_token(token),
            revoked_at__isnull=True,
            practitioner__is_active=True,
            practitioner__memberships__organisation=F("organisation"),
            practitioner__memberships__is_active=True,
            practitioner__memberships__role__in=CLINICIANS,
        )
        .select_related("organisation", "practitioner")
        .first()
    )
