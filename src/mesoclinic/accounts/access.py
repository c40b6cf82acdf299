"""Who is acting, in which organisation and clinic, with which role.

A staff request carries a ``Workspace``: the user, their one active membership (organisation
and role) and the current clinic. ``ActiveMembershipMiddleware`` attaches it to page requests
and the API's bearer-token auth to API requests, both through ``workspace_for_membership``;
staff pages are wrapped in ``staff_view``, and selectors scope every query by the
workspace's organisation. A patient's portal account has no workspace: the portal reads
only the record linked to the account. ``account_owner`` says which organisation's audit
trail shows an account's sign-ins.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from mesoclinic.accounts.models import Clinic, Membership, Organisation, Role, User

if TYPE_CHECKING:
    from mesoclinic.patients.models import Patient

# Written at sign-in (accounts.signals), so a person with several memberships stays in the
# organisation they signed in to; the clinic switcher writes the clinic.
SESSION_ORGANISATION_KEY = "organisation_id"
SESSION_CLINIC_KEY = "clinic_id"


@dataclass(frozen=True)
class Workspace:
    user: User
    membership: Membership
    clinics: list[Clinic] = field(default_factory=list)
    clinic: Clinic | None = None

    @property
    def organisation(self) -> Organisation:
        return self.membership.organisation

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def can_write(self) -> bool:
        return self.membership.can_write

    def has_role(self, *roles: str) -> bool:
        return self.membership.role in roles

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        """The current clinic's time zone (UTC for an organisation without a clinic)."""
        return self.clinic.tzinfo if self.clinic is not None else zoneinfo.ZoneInfo("UTC")


def workspace_for_membership(membership: Membership, *, clinic_id: int | None = None) -> Workspace:
    """The workspace of one active membership (its user and organisation loaded).

    The clinic is ``clinic_id`` when it is an active clinic of the organisation, otherwise
    the membership's default clinic, otherwise the organisation's first active clinic.
    """
    clinics = list(
        Clinic.objects.filter(organisation_id=membership.organisation_id, is_active=True)
    )
    by_id = {c.pk: c for c in clinics}
    clinic = (
        by_id.get(clinic_id)  # type: ignore[arg-type]
        or by_id.get(membership.default_clinic_id)  # type: ignore[arg-type]
        or (clinics[0] if clinics else None)
    )
    return Workspace(user=membership.user, membership=membership, clinics=clinics, clinic=clinic)


def workspace_for(
    user: User, *, organisation_id: int | None = None, clinic_id: int | None = None
) -> Workspace | None:
    """The user's workspace, or None when they have no active membership.

    Takes the requested organisation when the user is an active member of it (the session
    records the one they signed in to), otherwise their first active membership by
    organisation name.
    """
    if not user.is_active:
        return None
    memberships = list(
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organisation")
        .order_by("organisation__name", "pk")
    )
    if not memberships:
        return None
    membership = next(
        (m for m in memberships if m.organisation_id == organisation_id), memberships[0]
    )
    membership.user = user
    return workspace_for_membership(membership, clinic_id=clinic_id)


def request_workspace(request: HttpRequest) -> Workspace:
    """The workspace ``staff_view`` (or the API's token auth) attached to the request."""
    workspace: Workspace | None = getattr(request, "workspace", None)
    if workspace is None:
        raise PermissionDenied
    return workspace


def _patient_of(user: User) -> Patient | None:
    from mesoclinic.patients.models import Patient

    return Patient.objects.filter(user=user).select_related("organisation").first()


def is_portal_user(user: User) -> bool:
    """Whether the account is a patient's portal account (linked to a patient record)."""
    from mesoclinic.patients.models import Patient

    return Patient.objects.filter(user=user).exists()


def account_owner(user: User | None) -> tuple[Organisation | None, Patient | None]:
    """The organisation whose audit trail shows this account's sign-ins, and the patient.

    Staff: their first active membership's organisation. A patient's portal account: the
    organisation that holds their record, so the clinic sees who opened the portal. Former
    staff: the organisation that last deactivated them, so it sees their attempts.
    """
    if user is None:
        return None, None
    membership = (
        Membership.objects.filter(user=user, is_active=True).select_related("organisation").first()
    )
    if membership is not None:
        return membership.organisation, None
    patient = _patient_of(user)
    if patient is not None:
        return patient.organisation, patient
    former = (
        Membership.objects.filter(user=user)
        .select_related("organisation")
        .order_by("-deactivated_at", "-pk")
        .first()
    )
    return (former.organisation if former else None), None


View = Callable[..., HttpResponseBase]


def staff_view(
    *, roles: tuple[str, ...] | None = None, write: bool = False
) -> Callable[[View], View]:
    """Decorate a page: signed in with an active membership, one of ``roles`` if given.

    ``write=True`` marks a page that exists to change data (a form and its submission):
    read-only roles get 403 for every method.
    Anonymous users go to the login page.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            workspace: Workspace | None = getattr(request, "workspace", None)
            if workspace is None:
                if request.user.is_authenticated:
                    # A patient's portal account, or a superuser without a membership.
                    raise PermissionDenied
                return redirect_to_login(request.get_full_path())
            if roles is not None and workspace.role not in roles:
                raise PermissionDenied
            if write and not workspace.can_write:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


ADMIN_ONLY = (Role.ADMIN,)
# Clinical decisions (screening, overrides): practitioners, and admins who may be clinicians.
CLINICIANS = (Role.ADMIN, Role.PRACTITIONER)
