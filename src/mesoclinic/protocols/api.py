"""/api/v1/protocols: the organisation's protocol templates and their version history.

Every staff role reads; only admins write (a new version, a copy, offered or not).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Query, Router

from mesoclinic.accounts.access import ADMIN_ONLY, Workspace, request_workspace
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.services import consent_templates_current
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.protocols.schemas import (
    CopyIn,
    ListParams,
    OfferedIn,
    ProtocolOut,
    ProtocolSummaryOut,
    ProtocolVersionIn,
    VersionOut,
)
from mesoclinic.protocols.services import (
    protocol_copy,
    protocol_revise,
    protocol_set_offered,
)

router = Router()


def _admin(request: HttpRequest) -> Workspace:
    workspace = request_workspace(request)
    if not workspace.has_role(*ADMIN_ONLY):
        raise PermissionDenied("Only admins change protocols.")
    return workspace


def _protocol(workspace: Workspace, protocol_id: int) -> Protocol:
    """The protocol if it belongs to the workspace's organisation; otherwise 404."""
    protocol = (
        Protocol.objects.filter(organisation=workspace.organisation, pk=protocol_id)
        .select_related("current_version", "copied_from__protocol")
        .first()
    )
    if protocol is None:
        raise Http404("No such protocol")
    return protocol


def _detail(protocol: Protocol) -> dict[str, Any]:
    versions = list(
        ProtocolVersion.objects.filter(protocol=protocol)
        .select_related("created_by")
        .order_by("-number")
    )
    return ProtocolOut.of_protocol(protocol, versions)


def _check_consent_codes(workspace: Workspace, codes: list[str]) -> None:
    known = [t.code for t in consent_templates_current(organisation=workspace.organisation)]
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise DomainError(
            f"Unknown consent text {unknown[0]!r}; use one of your organisation's: "
            f"{', '.join(known)}.",
            field="consent_codes",
        )


@router.get("", response=list[ProtocolSummaryOut], summary="Every protocol, offered or not")
def list_protocols(request: HttpRequest, params: Query[ListParams]) -> list[dict[str, Any]]:
    workspace = request_workspace(request)
    protocols = Protocol.objects.filter(organisation=workspace.organisation).select_related(
        "current_version"
    )
    if params.area:
        protocols = protocols.filter(current_version__area=params.area)
    return [ProtocolSummaryOut.of(p) for p in protocols.order_by("code")]


@router.get(
    "/{int:protocol_id}",
    response=ProtocolOut,
    summary="A protocol: its current version in full and the list of its versions",
)
def read_protocol(request: HttpRequest, protocol_id: int) -> dict[str, Any]:
    return _detail(_protocol(request_workspace(request), protocol_id))


@router.get(
    "/{int:protocol_id}/versions/{int:number}",
    response=VersionOut,
    summary="One version of a protocol, as written",
)
def read_version(request: HttpRequest, protocol_id: int, number: int) -> dict[str, Any]:
    protocol = _protocol(request_workspace(request), protocol_id)
    version = (
        ProtocolVersion.objects.filter(protocol=protocol, number=number)
        .select_related("created_by")
        .first()
    )
    if version is None:
        raise Http404("No such version")
    return VersionOut.of(version)


@router.post(
    "/{int:protocol_id}/versions",
    response={201: VersionOut},
    summary="Write a new version (the whole content) and make it current (admins)",
)
def create_version(
    request: HttpRequest, protocol_id: int, payload: ProtocolVersionIn
) -> dict[str, Any]:
    """Courses already planned keep the version they were planned from."""
    workspace = _admin(request)
    protocol = _protocol(workspace, protocol_id)
    _check_consent_codes(workspace, payload.consent_codes)
    version = protocol_revise(
        protocol=protocol,
        content=payload.content(),
        change_note=payload.change_note,
        acting_user=workspace.user,
    )
    return VersionOut.of(version)


@router.post(
    "/{int:protocol_id}/copy",
    response={201: ProtocolOut},
    summary="A new protocol starting as a copy of this one's current version (admins)",
)
def copy_protocol(request: HttpRequest, protocol_id: int, payload: CopyIn) -> dict[str, Any]:
    workspace = _admin(request)
    protocol = _protocol(workspace, protocol_id)
    if protocol.current_version is None:
        raise DomainError("This protocol has no version to copy.")
    copy = protocol_copy(
        version=protocol.current_version,
        code=payload.code,
        name=payload.name,
        acting_user=workspace.user,
    )
    return _detail(_protocol(workspace, copy.pk))


@router.post(
    "/{int:protocol_id}/offered",
    response=ProtocolOut,
    summary="Offer the protocol for new courses, or stop offering it (admins)",
)
def set_offered(request: HttpRequest, protocol_id: int, payload: OfferedIn) -> dict[str, Any]:
    workspace = _admin(request)
    protocol = _protocol(workspace, protocol_id)
    protocol_set_offered(protocol=protocol, offered=payload.offered, acting_user=workspace.user)
    return _detail(_protocol(workspace, protocol_id))
