"""Protocol and formulation services: versions are immutable, copies start from a version,
an unchanged edit is refused, a formulation's lines are replaced as a whole."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.forms.models import model_to_dict

from mesoclinic.core.errors import Conflict
from mesoclinic.core.models import AuditEvent
from mesoclinic.protocols.models import (
    Formulation,
    FormulationIngredient,
    Protocol,
    ProtocolVersion,
)
from mesoclinic.protocols.services import (
    IngredientLine,
    ProtocolContent,
    formulation_save,
    protocol_copy,
    protocol_revise,
    protocol_set_offered,
)


def hair(world: Any) -> Protocol:
    return Protocol.objects.get(organisation=world.acme, code="hair-mesotherapy")


def current(protocol: Protocol) -> ProtocolVersion:
    protocol.refresh_from_db()
    assert protocol.current_version is not None
    return protocol.current_version


def as_row(version: ProtocolVersion) -> dict[str, Any]:
    return model_to_dict(ProtocolVersion.objects.get(pk=version.pk)) | {
        "created_at": ProtocolVersion.objects.get(pk=version.pk).created_at
    }


def test_revising_writes_a_new_version_and_leaves_the_old_one_as_it_was(world):
    protocol = hair(world)
    first = current(protocol)
    before = as_row(first)
    content = replace(ProtocolContent.of(first), induction_interval_max_days=28)

    second = protocol_revise(
        protocol=protocol,
        content=content,
        change_note="Longer gap allowed",
        acting_user=world.alice,
    )

    assert second.number == 2
    assert second.pk != first.pk
    assert current(protocol) == second
    assert second.induction_interval_max_days == 28
    assert second.change_note == "Longer gap allowed"
    assert second.created_by == world.alice
    assert as_row(first) == before
    assert list(protocol.versions.order_by("number").values_list("number", flat=True)) == [1, 2]
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert event.changes["induction_interval_max_days"] == {"old": 21, "new": 28}
    assert event.changes["version"] == {"old": 1, "new": 2}


def test_the_version_a_course_was_planned_from_never_changes(world):
    """A course holds a ProtocolVersion row; however often the protocol is edited, withdrawn
    or copied, that row says what it said when the course was planned."""
    protocol = hair(world)
    planned_from = current(protocol)
    before = as_row(planned_from)
    content = ProtocolContent.of(planned_from)
    for number, sessions in enumerate([7, 9, 8], start=2):
        content = replace(content, induction_sessions_max=sessions, description=f"Edit {number}")
        protocol_revise(
            protocol=protocol,
            content=content,
            change_note=f"edit {number}",
            acting_user=world.alice,
        )
    protocol_set_offered(protocol=protocol, offered=False, acting_user=world.alice)
    protocol_copy(version=current(protocol), code="hair-copy", name="Copy", acting_user=world.alice)

    assert as_row(planned_from) == before
    assert current(protocol).number == 4
    assert ProtocolVersion.objects.filter(protocol=protocol).count() == 4


def test_an_edit_that_changes_nothing_is_refused_and_writes_nothing(world):
    protocol = hair(world)
    version = current(protocol)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict, match="Nothing changed"):
        protocol_revise(
            protocol=protocol,
            content=ProtocolContent.of(version),
            change_note="no change",
            acting_user=world.alice,
        )
    assert ProtocolVersion.objects.filter(protocol=protocol).count() == 1
    assert AuditEvent.objects.count() == events


def test_a_copy_starts_from_the_version_and_keeps_its_own_history(world):
    protocol = hair(world)
    source = current(protocol)

    copy = protocol_copy(
        version=source, code="hair-short", name="Hair, short course", acting_user=world.alice
    )

    assert copy.organisation == world.acme
    assert copy.copied_from == source
    assert copy.code == "hair-short"
    copied = current(copy)
    assert copied.number == 1
    assert copied.name == "Hair, short course"
    assert replace(ProtocolContent.of(copied), name=source.name) == ProtocolContent.of(source)
    assert current(protocol) == source  # the original is untouched


def test_a_copy_needs_a_code_of_its_own(world):
    protocol = hair(world)
    count = Protocol.objects.count()
    with pytest.raises(Conflict) as caught:
        protocol_copy(
            version=current(protocol), code="prp-hair", name="Clash", acting_user=world.alice
        )
    assert caught.value.field == "code"
    assert Protocol.objects.count() == count


def test_withdrawing_and_offering_again(world):
    protocol = hair(world)
    protocol_set_offered(protocol=protocol, offered=False, acting_user=world.alice)
    protocol.refresh_from_db()
    assert not protocol.is_active
    events = AuditEvent.objects.count()
    protocol_set_offered(protocol=protocol, offered=False, acting_user=world.alice)
    assert AuditEvent.objects.count() == events  # no change, no event
    protocol_set_offered(protocol=protocol, offered=True, acting_user=world.alice)
    protocol.refresh_from_db()
    assert protocol.is_active


def test_saving_a_formulation_replaces_its_lines_and_no_protocol_changes(world):
    formulation = Formulation.objects.get(organisation=world.acme, name="Multivitamin cocktail")
    old_lines = set(formulation.ingredients.values_list("pk", flat=True))
    versions_before = [as_row(v) for v in ProtocolVersion.objects.order_by("pk")]

    saved = formulation_save(
        organisation=world.acme,
        formulation=formulation,
        name="Multivitamin cocktail",
        source="The product's leaflet",
        ingredients=[
            IngredientLine("biotin", Decimal("0.5"), "mg_per_ml"),
            IngredientLine("hyaluronic_acid"),
        ],
        acting_user=world.alice,
    )

    lines = list(saved.ingredients.order_by("pk").values_list("code", "concentration", "unit"))
    assert lines == [("biotin", Decimal("0.5"), "mg_per_ml"), ("hyaluronic_acid", None, "")]
    assert not FormulationIngredient.objects.filter(pk__in=old_lines).exists()
    assert [as_row(v) for v in ProtocolVersion.objects.order_by("pk")] == versions_before
    event = AuditEvent.objects.filter(action="formulation.save").latest("pk")
    assert event.object_id == str(saved.pk)
    assert event.actor == world.alice


def test_formulation_names_are_unique_in_an_organisation_only(world):
    with pytest.raises(Conflict) as caught:
        formulation_save(
            organisation=world.acme,
            name="Lipolytic solution",
            ingredients=[],
            acting_user=world.alice,
        )
    assert caught.value.field == "name"
    # Other Clinic has its own library: the same name is its own business.
    mine = Formulation.objects.get(organisation=world.other, name="Lipolytic solution")
    saved = formulation_save(
        organisation=world.other,
        formulation=mine,
        name="Lipolytic solution",
        ingredients=[IngredientLine("phosphatidylcholine")],
        acting_user=world.oscar,
    )
    assert saved.organisation == world.other


def test_a_revision_based_on_an_older_version_is_refused_under_the_lock(world):
    protocol = Protocol.objects.get(organisation=world.acme, code="hair-mesotherapy")
    content = ProtocolContent.of(protocol.current_version)
    changed = replace(content, session_duration_minutes=40)
    protocol_revise(
        protocol=protocol,
        content=changed,
        change_note="40 min",
        acting_user=world.alice,
        based_on=1,
    )
    again = replace(content, session_duration_minutes=35)
    with pytest.raises(Conflict, match="Version 2 was saved while you were editing"):
        protocol_revise(
            protocol=protocol, content=again, change_note="35", acting_user=world.alice, based_on=1
        )
    assert protocol.versions.count() == 2
