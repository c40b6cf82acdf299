"""Every write to protocols and formulations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Organisation, User
from mesoclinic.core.audit import audit_record, created, diff
from mesoclinic.core.errors import Conflict
from mesoclinic.protocols.defaults import shipped_protocols
from mesoclinic.protocols.models import (
    Formulation,
    FormulationIngredient,
    Protocol,
    ProtocolVersion,
)
from mesoclinic.treatments.aftercare import default_set, set_to_json


@dataclass(frozen=True)
class ProtocolContent:
    """What a protocol version says, validated at the edge (forms, API schemas, the
    shipped data's tests). The database constraints repeat the range checks."""

    name: str
    area: str
    kind: str
    session_duration_minutes: int
    induction_sessions_min: int
    induction_sessions_max: int
    induction_interval_min_days: int
    induction_interval_target_days: int
    induction_interval_max_days: int
    maintenance_sessions: int = 0
    maintenance_interval_min_days: int | None = None
    maintenance_interval_target_days: int | None = None
    maintenance_interval_max_days: int | None = None
    review_after_days: list[int] = field(default_factory=list)
    formulations: list[dict[str, Any]] = field(default_factory=list)
    consent_codes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    description: str = ""
    # The aftercare set (treatments.aftercare.set_to_json form); empty: the shipped set for
    # the area and kind (treatments.aftercare_sets.aftercare_set_for).
    aftercare: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, version: ProtocolVersion) -> ProtocolContent:
        return cls(**{name: getattr(version, name) for name in cls.__dataclass_fields__})

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ProtocolContent:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def _version_create(
    *, protocol: Protocol, content: ProtocolContent, change_note: str, acting_user: User | None
) -> ProtocolVersion:
    previous = protocol.current_version
    number = (previous.number + 1) if previous else 1
    version = ProtocolVersion.objects.create(
        protocol=protocol,
        number=number,
        change_note=change_note,
        created_by=acting_user,
        **asdict(content),
    )
    protocol.current_version = version
    protocol.save(update_fields=["current_version", "updated_at"])
    before = asdict(ProtocolContent.of(previous)) if previous else {}
    after = asdict(content)
    audit_record(
        action="protocol.version_create",
        actor=acting_user,
        organisation=protocol.organisation,
        obj=version,
        changes={
            "version": {"old": previous.number if previous else None, "new": number},
            **{
                name: change
                for name, change in diff(
                    {k: _plain(v) for k, v in before.items()},
                    {k: _plain(v) for k, v in after.items()},
                ).items()
            },
        },
    )
    return version


def _plain(value: Any) -> Any:
    """JSON-comparable text for lists and dicts, so the audit diff can store them."""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


@transaction.atomic
def protocol_create(
    *,
    organisation: Organisation,
    code: str,
    content: ProtocolContent,
    acting_user: User | None,
    copied_from: ProtocolVersion | None = None,
) -> Protocol:
    if Protocol.objects.filter(organisation=organisation, code=code).exists():
        raise Conflict(
            _("A protocol with the code %(code)s exists already.") % {"code": code}, field="code"
        )
    protocol = Protocol.objects.create(
        organisation=organisation, code=code, copied_from=copied_from
    )
    audit_record(
        action="protocol.create",
        actor=acting_user,
        organisation=organisation,
        obj=protocol,
        changes=created({"code": code, "copied_from": copied_from.pk if copied_from else None}),
    )
    _version_create(protocol=protocol, content=content, change_note="", acting_user=acting_user)
    return protocol


@transaction.atomic
def protocol_revise(
    *,
    protocol: Protocol,
    content: ProtocolContent,
    change_note: str,
    acting_user: User,
    based_on: int | None = None,
) -> ProtocolVersion:
    """Write a new version and make it current. Courses keep the version they were planned
    from: a version is never changed once written.

    ``based_on`` is the version number the edit started from; if another version was saved
    meanwhile the edit is refused (checked under the row lock, so two editors cannot both win).
    """
    locked = Protocol.objects.select_for_update().get(pk=protocol.pk)
    current = locked.current_version
    if based_on is not None and current is not None and current.number != based_on:
        raise Conflict(
            _(
                "Version %(number)d was saved while you were editing. Nothing was saved: "
                "open the edit page again to start from it."
            )
            % {"number": current.number}
        )
    if current is not None and ProtocolContent.of(current) == content:
        raise Conflict(
            _("Nothing changed: the new version would be the same as version %(number)d.")
            % {"number": current.number}
        )
    return _version_create(
        protocol=locked, content=content, change_note=change_note, acting_user=acting_user
    )


@transaction.atomic
def protocol_copy(*, version: ProtocolVersion, code: str, name: str, acting_user: User) -> Protocol:
    """A new protocol of the same organisation that starts as a copy of ``version``."""
    content = ProtocolContent.of(version)
    content = ProtocolContent(**{**asdict(content), "name": name})
    return protocol_create(
        organisation=version.protocol.organisation,
        code=code,
        content=content,
        acting_user=acting_user,
        copied_from=version,
    )


@transaction.atomic
def protocol_set_offered(*, protocol: Protocol, offered: bool, acting_user: User) -> Protocol:
    if protocol.is_active == offered:
        return protocol
    protocol.is_active = offered
    protocol.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action="protocol.update",
        actor=acting_user,
        organisation=protocol.organisation,
        obj=protocol,
        changes={"is_active": {"old": not offered, "new": offered}},
    )
    return protocol


@dataclass(frozen=True)
class IngredientLine:
    code: str
    concentration: Decimal | None = None
    unit: str = ""


@transaction.atomic
def formulation_save(
    *,
    organisation: Organisation,
    name: str,
    ingredients: Sequence[IngredientLine],
    source: str = "",
    notes: str = "",
    formulation: Formulation | None = None,
    acting_user: User | None,
) -> Formulation:
    """Create a formulation, or replace an existing one's name and ingredient lines.

    Protocol versions hold copies of the formulations they use, so this never changes a
    planned course.
    """
    clash = Formulation.objects.filter(organisation=organisation, name=name)
    if formulation is not None:
        clash = clash.exclude(pk=formulation.pk)
    if clash.exists():
        raise Conflict(
            _("A formulation named %(name)s exists already.") % {"name": name}, field="name"
        )
    before = formulation.as_snapshot() if formulation is not None else None
    if formulation is None:
        formulation = Formulation.objects.create(
            organisation=organisation, name=name, source=source, notes=notes
        )
    else:
        formulation.name, formulation.source, formulation.notes = name, source, notes
        formulation.save()
        formulation.ingredients.all().delete()
    FormulationIngredient.objects.bulk_create(
        FormulationIngredient(
            formulation=formulation,
            code=line.code,
            concentration=line.concentration,
            unit=line.unit,
        )
        for line in ingredients
    )
    after = formulation.as_snapshot()
    audit_record(
        action="formulation.save",
        actor=acting_user,
        organisation=organisation,
        obj=formulation,
        changes=diff(
            {k: _plain(v) for k, v in (before or {}).items()},
            {k: _plain(v) for k, v in after.items()},
        ),
    )
    return formulation


@transaction.atomic
def protocol_defaults_install(
    *, organisation: Organisation, acting_user: User | None
) -> list[Protocol]:
    """Give the organisation every shipped protocol (and its formulations) it lacks.

    Each protocol carries the shipped aftercare set for its area and kind explicitly, so an
    admin edits the set the sheets use, and later changes to the shipped file do not change
    what an organisation's version says."""
    have = set(Protocol.objects.filter(organisation=organisation).values_list("code", flat=True))
    formulations = set(
        Formulation.objects.filter(organisation=organisation).values_list("name", flat=True)
    )
    made = []
    for data in shipped_protocols():
        if data["code"] in have:
            continue
        for snapshot in data["formulations"]:
            if snapshot["name"] not in formulations:
                formulation_save(
                    organisation=organisation,
                    name=snapshot["name"],
                    source=snapshot.get("source", ""),
                    ingredients=[
                        IngredientLine(
                            code=line["code"],
                            concentration=(
                                Decimal(line["concentration"])
                                if line.get("concentration")
                                else None
                            ),
                            unit=line.get("unit", ""),
                        )
                        for line in snapshot["ingredients"]
                    ],
                    acting_user=acting_user,
                )
                formulations.add(snapshot["name"])
        made.append(
            protocol_create(
                organisation=organisation,
                code=data["code"],
                content=ProtocolContent.from_data(
                    {
                        **data,
                        "aftercare": set_to_json(default_set(area=data["area"], kind=data["kind"])),
                    }
                ),
                acting_user=acting_user,
            )
        )
    return made
