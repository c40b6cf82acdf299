"""``mesoclinic token create|list|revoke``: manage API bearer tokens."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.accounts.models import ApiToken, Membership, User
from mesoclinic.accounts.services import api_token_create, api_token_revoke
from mesoclinic.core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. `create` prints the new token once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for a user")
        create.add_argument("--email", required=True)
        create.add_argument("--organisation", help="Organisation slug (when the user has several)")
        create.add_argument("--name", default="", help="A label, e.g. the integration's name")
        listing = sub.add_parser("list", help="List a user's tokens")
        listing.add_argument("--email", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list(options)
        else:
            self._revoke(options)

    def _user(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with email {email}.")
        if not user.is_active:
            raise CommandError(f"{email} is deactivated; a token would not work.")
        return user

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["email"])
        memberships = Membership.objects.filter(user=user, is_active=True).select_related(
            "organisation"
        )
        if options.get("organisation"):
            memberships = memberships.filter(organisation__slug=options["organisation"])
        found = list(memberships)
        if not found:
            raise CommandError(f"{user.email} has no active membership to use a token with.")
        if len(found) > 1:
            slugs = ", ".join(m.organisation.slug for m in found)
            raise CommandError(
                f"{user.email} belongs to several organisations; "
                f"pass --organisation (one of: {slugs})."
            )
        try:
            _, secret = api_token_create(
                user=user,
                organisation=found[0].organisation,
                name=options["name"],
                acting_user=None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)

    def _list(self, options: dict[str, Any]) -> None:
        user = self._user(options["email"])
        for token in ApiToken.objects.filter(user=user).select_related("organisation"):
            state = "revoked" if token.revoked_at else "active"
            used = token.last_used_at.isoformat() if token.last_used_at else "never used"
            self.stdout.write(
                f"{token.prefix}  {state:8}  {token.organisation.slug}  {token.name}  {used}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        matches = list(ApiToken.objects.filter(prefix=options["prefix"]))
        if len(matches) != 1:
            raise CommandError("No single token has that prefix; see `mesoclinic token list`.")
        api_token_revoke(token=matches[0], acting_user=None)
        self.stdout.write(f"Revoked {matches[0].prefix}.")
