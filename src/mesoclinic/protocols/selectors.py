"""Reads of protocols and formulations, always scoped by the organisation.

Another organisation's id is a 404, never a 403: a page cannot tell whether it exists.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from mesoclinic.accounts.access import Workspace
from mesoclinic.accounts.models import Organisation
from mesoclinic.protocols.models import Formulation, Protocol, ProtocolVersion


def protocols_of(organisation: Organisation) -> QuerySet[Protocol]:
    """The organisation's protocols with their current version, by area and name."""
    return (
        Protocol.objects.filter(organisation=organisation)
        .select_related("current_version")
        .order_by("current_version__area", "current_version__name", "code")
    )


def offered_versions(organisation: Organisation) -> QuerySet[ProtocolVersion]:
    """The current version of each protocol the organisation offers, by name."""
    return ProtocolVersion.objects.filter(
        protocol__organisation=organisation, protocol__is_active=True, current_of__isnull=False
    ).order_by("name")


def protocol_get(*, workspace: Workspace, protocol_id: int) -> Protocol:
    """One of the workspace organisation's protocols, with its current version and the
    version it was copied from; 404 for any other id."""
    protocol = (
        Protocol.objects.filter(organisation=workspace.organisation, pk=protocol_id)
        .select_related("current_version", "copied_from", "copied_from__protocol")
        .first()
    )
    if protocol is None or protocol.current_version is None:
        raise Http404("No such protocol")
    return protocol


def protocol_versions(protocol: Protocol) -> QuerySet[ProtocolVersion]:
    """Every version of the protocol, newest first, with who wrote it."""
    return (
        ProtocolVersion.objects.filter(protocol=protocol)
        .select_related("created_by")
        .order_by("-number")
    )


def protocol_version_get(*, protocol: Protocol, number: int) -> ProtocolVersion:
    """Version ``number`` of a protocol already fetched through ``protocol_get``."""
    version = (
        ProtocolVersion.objects.filter(protocol=protocol, number=number)
        .select_related("created_by")
        .first()
    )
    if version is None:
        raise Http404("No such version")
    return version


def formulations_of(organisation: Organisation) -> QuerySet[Formulation]:
    """The organisation's formulation library, by name, with the ingredient lines."""
    return (
        Formulation.objects.filter(organisation=organisation)
        .prefetch_related("ingredients")
        .order_by("name")
    )


def formulation_get(*, workspace: Workspace, formulation_id: int) -> Formulation:
    """One of the workspace organisation's formulations with its lines; 404 for any other."""
    formulation = formulations_of(workspace.organisation).filter(pk=formulation_id).first()
    if formulation is None:
        raise Http404("No such formulation")
    return formulation
