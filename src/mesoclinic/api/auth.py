from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from mesoclinic.accounts.access import workspace_for_membership
from mesoclinic.accounts.models import ApiToken, Membership, User
from mesoclinic.accounts.services import hash_token

# Recording every use would turn each read into a write; a minute's precision is enough.
_LAST_USED_PRECISION = dt.timedelta(minutes=1)


class BearerToken(HttpBearer):
    """``Authorization: Bearer TOKEN``: a live token of an active user with an active membership.

    Sets ``request.workspace`` to the token's organisation and the user's role there.
    """

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or len(token) > 200:
            return None
        api_token = (
            ApiToken.objects.filter(token_hash=hash_token(token), revoked_at=None)
            .select_related("user", "organisation")
            .first()
        )
        if api_token is None or not api_token.user.is_active:
            return None
        membership = (
            Membership.objects.filter(
                user_id=api_token.user_id, organisation_id=api_token.organisation_id, is_active=True
            )
            .select_related("organisation")
            .first()
        )
        if membership is None:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > _LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        membership.user = api_token.user
        request.workspace = workspace_for_membership(membership)  # type: ignore[attr-defined]
        request.user = api_token.user
        return api_token.user
