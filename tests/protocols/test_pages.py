"""The protocol and formulation pages: who may read and edit them, what they show, and bad
input explained with nothing written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.protocols.models import (
    Formulation,
    FormulationIngredient,
    Protocol,
    ProtocolVersion,
)
from mesoclinic.protocols.services import ProtocolContent, protocol_copy, protocol_revise
from mesoclinic.protocols.views import RANGE_DASH
from tests.conftest import STAFF
from tests.patients.helpers import assert_login_redirect, field_errors
from tests.patients.helpers import page_text as raw_page_text

NOT_ADMINS = ["paul", "fiona", "audrey"]


def page_text(response: Any) -> str:
    """The page's text with its spaces collapsed, as a reader sees it."""
    return " ".join(raw_page_text(response).replace(RANGE_DASH, "–").split())


def protocol(world: Any, code: str = "hair-mesotherapy") -> Protocol:
    return Protocol.objects.select_related("current_version").get(
        organisation=world.acme, code=code
    )


def formulation(world: Any, name: str = "Multivitamin cocktail") -> Formulation:
    return Formulation.objects.get(organisation=world.acme, name=name)


def read_urls(world: Any) -> list[str]:
    p = protocol(world)
    return [
        reverse("protocol_detail", args=[p.pk]),
        reverse("protocol_version", args=[p.pk, 1]),
    ]


def admin_urls(world: Any) -> list[str]:
    p = protocol(world)
    return [
        reverse("protocol_edit", args=[p.pk]),
        reverse("protocol_copy", args=[p.pk]),
        reverse("formulation_edit", args=[formulation(world).pk]),
    ]


def state() -> tuple[Any, ...]:
    return (
        list(Protocol.objects.order_by("pk").values()),
        list(ProtocolVersion.objects.order_by("pk").values()),
        list(Formulation.objects.order_by("pk").values()),
        list(FormulationIngredient.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = state()
    yield
    assert state() == before


def edit_data(client: Client, p: Protocol, **overrides: Any) -> dict[str, Any]:
    """The edit form as the page fills it, with a change note; ``None`` leaves a field out."""
    response = client.get(reverse("protocol_edit", args=[p.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    data["change_note"] = "Adjusted"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def formulation_data(name: str = "Biotin boost", *lines: tuple[str, str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "source": "Product leaflet",
        "notes": "",
        "ingredients-TOTAL_FORMS": str(max(len(lines), 3)),
        "ingredients-INITIAL_FORMS": "0",
        "ingredients-MIN_NUM_FORMS": "0",
        "ingredients-MAX_NUM_FORMS": "30",
    }
    for index, (code, concentration, unit) in enumerate(lines):
        data[f"ingredients-{index}-code"] = code
        data[f"ingredients-{index}-concentration"] = concentration
        data[f"ingredients-{index}-unit"] = unit
    return data


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_all_staff_read_the_list_detail_versions_and_library(client_for, world, persona):
    client = client_for(persona)
    for url in [reverse("protocol_list"), reverse("formulation_list"), *read_urls(world)]:
        response = client.get(url)
        assert response.status_code == 200, url
    listing = page_text(client.get(reverse("protocol_list")))
    assert "PRP for hair" in listing
    assert "6–8 sessions every 14–21 days (usually 14)" in listing


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_only_admins_see_the_edit_buttons(client_for, world, persona):
    p = protocol(world)
    for url in [reverse("protocol_list"), reverse("protocol_detail", args=[p.pk])]:
        content = client_for(persona).get(url).content.decode()
        assert reverse("protocol_edit", args=[p.pk]) not in content
        assert reverse("protocol_copy", args=[p.pk]) not in content
        assert reverse("protocol_offered", args=[p.pk]) not in content
    library = client_for(persona).get(reverse("formulation_list")).content.decode()
    assert reverse("formulation_new") not in library
    assert reverse("formulation_edit", args=[formulation(world).pk]) not in library
    admin_page = client_for("alice").get(reverse("protocol_list")).content.decode()
    assert reverse("protocol_edit", args=[p.pk]) in admin_page
    assert reverse("protocol_offered", args=[p.pk]) in admin_page


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_other_roles_get_403_on_every_edit_page_and_post(client_for, world, persona):
    client = client_for(persona)
    p = protocol(world)
    valid = edit_data(client_for("alice"), p, induction_sessions_max=9)
    with nothing_written():
        for url in [*admin_urls(world), reverse("formulation_new")]:
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("protocol_edit", args=[p.pk]), valid).status_code == 403
        copy = {"code": "mine", "name": "Mine"}
        assert client.post(reverse("protocol_copy", args=[p.pk]), copy).status_code == 403
        offered = reverse("protocol_offered", args=[p.pk])
        assert client.post(offered, {"offered": "no"}).status_code == 403
        new = formulation_data("Mine", ("biotin", "", ""))
        assert client.post(reverse("formulation_new"), new).status_code == 403
        edit = reverse("formulation_edit", args=[formulation(world).pk])
        assert client.post(edit, new).status_code == 403


def test_another_organisation_gets_404_for_everything_of_acme(client_for, world):
    client = client_for("oscar")
    p = protocol(world)
    valid = edit_data(client_for("alice"), p, induction_sessions_max=9)
    with nothing_written():
        for url in [*read_urls(world), *admin_urls(world)]:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("protocol_edit", args=[p.pk]), valid).status_code == 404
        copy = {"code": "mine", "name": "Mine"}
        assert client.post(reverse("protocol_copy", args=[p.pk]), copy).status_code == 404
        offered = reverse("protocol_offered", args=[p.pk])
        assert client.post(offered, {"offered": "no"}).status_code == 404
        edit = reverse("formulation_edit", args=[formulation(world).pk])
        assert client.post(edit, formulation_data("X")).status_code == 404
    # Oscar's own pages list only his organisation's rows.
    listing = client.get(reverse("protocol_list")).content.decode()
    assert reverse("protocol_detail", args=[p.pk]) not in listing
    mine = Protocol.objects.get(organisation=world.other, code="hair-mesotherapy")
    assert reverse("protocol_detail", args=[mine.pk]) in listing
    library = client.get(reverse("formulation_list")).content.decode()
    assert reverse("formulation_edit", args=[formulation(world).pk]) not in library


def test_another_organisations_formulation_cannot_be_ticked(client_for, world):
    theirs = Formulation.objects.get(organisation=world.other, name="Lipolytic solution")
    p = protocol(world)
    client = client_for("alice")
    data = edit_data(client, p, formulations=[f"f:{theirs.pk}"])
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 422
    assert "not one of the available choices" in field_errors(response, "formulations")


@pytest.mark.parametrize("persona", ["anonymous", "dora"])
def test_signed_out_people_are_sent_to_sign_in(client_for, world, persona):
    client = client_for(persona)
    for url in [
        reverse("protocol_list"),
        reverse("formulation_list"),
        reverse("formulation_new"),
        *read_urls(world),
        *admin_urls(world),
    ]:
        assert_login_redirect(client.get(url), url)
    with nothing_written():
        url = reverse("protocol_offered", args=[protocol(world).pk])
        assert_login_redirect(client.post(url, {"offered": "no"}), url)


def test_a_patients_portal_account_gets_403(client_for, world):
    client = client_for("pat")
    for url in [
        reverse("protocol_list"),
        reverse("formulation_list"),
        *read_urls(world),
        *admin_urls(world),
    ]:
        assert client.get(url).status_code == 403, url


def test_read_pages_answer_get_only_and_offering_post_only(client_for, world):
    client = client_for("alice")
    with nothing_written():
        for url in [reverse("protocol_list"), reverse("formulation_list"), *read_urls(world)]:
            assert client.post(url).status_code == 405, url
        assert client.get(reverse("protocol_offered", args=[protocol(world).pk])).status_code == 405


def test_unknown_ids_and_versions_are_404(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    assert client.get(reverse("protocol_detail", args=[999_999])).status_code == 404
    assert client.get(reverse("protocol_version", args=[p.pk, 2])).status_code == 404
    assert client.get(reverse("formulation_edit", args=[999_999])).status_code == 404


# --- what the pages show ------------------------------------------------------------------


def test_the_list_groups_protocols_by_area_with_their_phases(client_for, world):
    text = page_text(client_for("paul").get(reverse("protocol_list")))
    assert text.index("Scalp") < text.index("Face") < text.index("Submental")
    assert "2 sessions every 60–120 days (usually 90)" in text
    assert "1 session 90–240 days after induction (usually 180)" in text  # PRP maintenance
    assert "None planned" in text  # submental: no maintenance
    assert "45 minutes" in text
    assert "Offered" in text


def test_the_detail_page_shows_each_default_with_its_source(client_for, world):
    p = protocol(world, "dutasteride-mesotherapy")
    text = page_text(client_for("fiona").get(reverse("protocol_detail", args=[p.pk])))
    assert "4–7 sessions every 7–28 days (usually 14)" in text
    assert "Abdallah 2009 pilot RCT" in text
    assert "Saceda-Corralo 2022" in text
    assert "28 days after induction" in text
    assert "Dutasteride: 0.01%" in text
    assert "Hair mesotherapy" in text  # the consent's title
    assert "No source given" not in text
    assert "Version 1" in text


def test_an_ingredient_without_a_dose_says_so_and_a_missing_source_is_shown(client_for, world):
    p = protocol(world)
    content = ProtocolContent.of(p.current_version)
    sources = {k: v for k, v in content.sources.items() if k != "maintenance"}
    protocol_revise(
        protocol=p,
        content=ProtocolContent(**{**content.__dict__, "sources": sources}),
        change_note="Source withdrawn",
        acting_user=world.alice,
    )
    text = page_text(client_for("paul").get(reverse("protocol_detail", args=[p.pk])))
    assert "B-complex vitamins: dose not set" in text
    assert text.count("No source given") == 1
    assert "Source withdrawn" in text
    assert "Alice Admin" in text


def test_an_old_version_reads_as_it_was_written(client_for, world):
    p = protocol(world)
    content = ProtocolContent.of(p.current_version)
    protocol_revise(
        protocol=p,
        content=ProtocolContent(**{**content.__dict__, "induction_sessions_max": 10}),
        change_note="Up to ten",
        acting_user=world.alice,
    )
    client = client_for("audrey")
    old = page_text(client.get(reverse("protocol_version", args=[p.pk, 1])))
    assert "6–8 sessions" in old
    assert "An earlier version" in old
    assert "The current version is 2" in old
    new = page_text(client.get(reverse("protocol_detail", args=[p.pk])))
    assert "6–10 sessions" in new
    assert "Up to ten" in new
    assert (
        reverse("protocol_version", args=[p.pk, 1])
        in client.get(reverse("protocol_detail", args=[p.pk])).content.decode()
    )


def test_the_edit_form_is_filled_with_the_current_version(client_for, world):
    p = protocol(world, "mesotherapy-prp")
    response = client_for("alice").get(reverse("protocol_edit", args=[p.pk]))
    form = response.context["form"]
    assert form["induction_interval_target_days"].value() == 21
    assert form["review_after_days"].value() == "28"
    assert form["consent_codes"].value() == ["hair_mesotherapy", "prp"]
    assert "Gressenberger 2020" in form["source_induction"].value()
    choices = form.formulation_choices()
    ticked = {o.snapshot["name"]: o for o, on in choices if on}
    assert set(ticked) == {"Multivitamin cocktail", "Autologous platelet-rich plasma"}
    assert not any(o.kept_copy for o in ticked.values())
    # Once the library's cocktail changes, the version's own copy is offered as kept and
    # ticked; the library's new one is offered beside it, not ticked.
    from mesoclinic.protocols.services import IngredientLine, formulation_save

    cocktail = formulation(world, "Multivitamin cocktail")
    formulation_save(
        organisation=world.acme,
        name=cocktail.name,
        ingredients=[IngredientLine(code="biotin")],
        formulation=cocktail,
        acting_user=world.alice,
    )
    response = client_for("alice").get(reverse("protocol_edit", args=[p.pk]))
    choices = response.context["form"].formulation_choices()
    kept = [o for o, on in choices if on and o.snapshot["name"] == "Multivitamin cocktail"]
    assert len(kept) == 1 and kept[0].kept_copy and kept[0].in_library
    library = [o for o, on in choices if not on and o.snapshot["name"] == "Multivitamin cocktail"]
    assert len(library) == 1 and not library[0].kept_copy
    assert "copy kept in version 1" in page_text(response)
    dutasteride = protocol(world, "dutasteride-mesotherapy")
    form = client_for("alice").get(reverse("protocol_edit", args=[dutasteride.pk])).context["form"]
    # The same as the library's (0.01 and 0.0100 are one concentration): the library's box.
    assert [(o.value, o.kept_copy) for o, on in form.formulation_choices() if on] == [
        (f"f:{formulation(world, 'Dutasteride 0.01%').pk}", False)
    ]


# --- editing --------------------------------------------------------------------------------


def test_saving_the_form_writes_a_new_version(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    first = p.current_version
    data = edit_data(
        client,
        p,
        induction_interval_max_days="28",
        review_after_days="84, 28",
        source_induction="Our audit of 2025",
        consent_codes=["hair_mesotherapy", "photography"],
        change_note="Allow four weeks",
    )
    response = client.post(reverse("protocol_edit", args=[p.pk]), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("protocol_detail", args=[p.pk])
    assert "Version 2 saved. Courses already planned keep their version." in page_text(response)
    p.refresh_from_db()
    second = p.current_version
    assert second.number == 2
    assert second.induction_interval_max_days == 28
    assert second.review_after_days == [28, 84]
    assert second.sources["induction"] == "Our audit of 2025"
    assert second.sources["maintenance"] == first.sources["maintenance"]
    assert second.consent_codes == ["hair_mesotherapy", "photography"]
    assert second.formulations == first.formulations
    assert second.change_note == "Allow four weeks"
    assert second.created_by == world.alice
    assert ProtocolVersion.objects.get(pk=first.pk).induction_interval_max_days == 21
    event = AuditEvent.objects.filter(action="protocol.version_create").latest("pk")
    assert (event.actor, event.via, event.object_id) == (world.alice, "web", str(second.pk))
    assert event.changes["review_after_days"] == {"old": "[28]", "new": "[28, 84]"}


def test_ticking_a_library_formulation_stores_its_copy(client_for, world):
    client = client_for("alice")
    p = protocol(world, "prp-hair")
    lipolytic = formulation(world, "Lipolytic solution")
    prp = formulation(world, "Autologous platelet-rich plasma")
    data = edit_data(client, p, formulations=[f"f:{prp.pk}", f"f:{lipolytic.pk}"])
    response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 302
    p.refresh_from_db()
    assert [f["name"] for f in p.current_version.formulations] == [
        "Autologous platelet-rich plasma",
        "Lipolytic solution",
    ]
    assert p.current_version.formulations[1] == lipolytic.as_snapshot()


def test_a_kept_copy_and_the_librarys_formulation_of_the_same_name_cannot_both_be_ticked(
    client_for, world
):
    from mesoclinic.protocols.services import IngredientLine, formulation_save

    client = client_for("alice")
    p = protocol(world, "mesotherapy-prp")
    library = formulation(world, "Multivitamin cocktail")
    # The library's cocktail changes after version 1 copied it: the version keeps its copy.
    formulation_save(
        organisation=world.acme,
        name=library.name,
        ingredients=[IngredientLine(code="biotin")],
        formulation=library,
        acting_user=world.alice,
    )
    data = edit_data(client, p)
    data["formulations"] = [*data["formulations"], f"f:{library.pk}"]
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 422
    assert "ticked twice" in field_errors(response, "formulations")


def test_an_unchanged_form_is_refused(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), edit_data(client, p))
    assert response.status_code == 422
    assert "Nothing changed" in page_text(response)


def test_an_edit_over_a_newer_version_is_refused(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    stale = edit_data(client, p, induction_sessions_max="9")
    content = ProtocolContent.of(p.current_version)
    protocol_revise(
        protocol=p,
        content=ProtocolContent(**{**content.__dict__, "session_duration_minutes": 50}),
        change_note="Longer sessions",
        acting_user=world.alice,
    )
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), stale)
    assert response.status_code == 422
    assert "Version 2 was saved while you were editing" in page_text(response)


BAD_EDITS = [
    ({"name": "   "}, "name", "Name is required."),
    ({"induction_sessions_min": ""}, "induction_sessions_min", "is required"),
    ({"induction_sessions_min": "0"}, "induction_sessions_min", "at least 1"),
    ({"induction_sessions_min": "-3"}, "induction_sessions_min", "at least 1"),
    ({"induction_sessions_min": "six"}, "induction_sessions_min", "whole number"),
    ({"induction_sessions_max": "4"}, "induction_sessions_max", "fewer than the fewest (6)"),
    ({"induction_interval_max_days": "10"}, "induction_interval_max_days", "shorter than"),
    ({"induction_interval_target_days": "30"}, "induction_interval_target_days", "between"),
    ({"induction_interval_min_days": "-1"}, "induction_interval_min_days", "at least 1"),
    ({"induction_interval_min_days": "400"}, "induction_interval_min_days", "at most 365"),
    ({"maintenance_sessions": "-1"}, "maintenance_sessions", "at least 0"),
    (
        {"maintenance_interval_min_days": ""},
        "maintenance_interval_min_days",
        "Needed when maintenance sessions are planned.",
    ),
    ({"maintenance_interval_max_days": "30"}, "maintenance_interval_max_days", "shorter than"),
    ({"session_duration_minutes": "0"}, "session_duration_minutes", "at least 5"),
    ({"session_duration_minutes": "600"}, "session_duration_minutes", "at most 480"),
    ({"review_after_days": "28, soon"}, "review_after_days", "not a whole number"),
    ({"review_after_days": "0"}, "review_after_days", "1 to 730"),
    ({"change_note": "  "}, "change_note", "Say what changed"),
    ({"change_note": ""}, "change_note", "Say what changed"),
    ({"consent_codes": ["nonsense"]}, "consent_codes", "not one of the available choices"),
    ({"area": "elbow"}, "area", "not one of the available choices"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_EDITS)
def test_bad_input_is_explained_beside_its_field_and_nothing_is_written(
    client_for, world, change, field, message
):
    client = client_for("alice")
    p = protocol(world)
    data = edit_data(client, p, **change)
    with nothing_written():
        response = client.post(reverse("protocol_edit", args=[p.pk]), data)
    assert response.status_code == 422
    assert message in field_errors(response, field), field_errors(response, field)
    assert "Please correct the fields marked below." in page_text(response)


def test_no_maintenance_leaves_the_intervals_out(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    data = edit_data(client, p, maintenance_sessions="0", source_maintenance="")
    assert client.post(reverse("protocol_edit", args=[p.pk]), data).status_code == 302
    p.refresh_from_db()
    version = p.current_version
    assert version.maintenance_sessions == 0
    assert version.maintenance_interval_min_days is None
    assert version.maintenance_interval_max_days is None
    assert "maintenance" not in version.sources
    text = page_text(client.get(reverse("protocol_detail", args=[p.pk])))
    assert "None planned" in text
    assert "No source given" not in text


# --- copying and offering ---------------------------------------------------------------------


def test_copying_makes_a_new_protocol_from_the_current_version(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    form = client.get(reverse("protocol_copy", args=[p.pk])).context["form"]
    assert form["code"].value() == "hair-mesotherapy-copy"
    response = client.post(
        reverse("protocol_copy", args=[p.pk]), {"code": "hair-short", "name": "Hair, short"}
    )
    copy = Protocol.objects.get(organisation=world.acme, code="hair-short")
    assert response.status_code == 302
    assert response.url == reverse("protocol_detail", args=[copy.pk])
    assert copy.copied_from == p.current_version
    assert copy.current_version.name == "Hair, short"
    text = page_text(client.get(response.url))
    assert "Copied from “Hair mesotherapy" in text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "prp-hair", "name": "X"}, "code", "exists already"),
        ({"code": "Not a code!", "name": "X"}, "code", "lowercase letters and digits"),
        ({"code": "", "name": "X"}, "code", "Code is required."),
        ({"code": "fine", "name": " "}, "name", "Name is required."),
    ],
)
def test_a_bad_copy_is_explained_and_nothing_written(client_for, world, data, field, message):
    p = protocol(world)
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("protocol_copy", args=[p.pk]), data)
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_withdrawing_and_offering_again(client_for, world):
    client = client_for("alice")
    p = protocol(world)
    url = reverse("protocol_offered", args=[p.pk])
    response = client.post(url, {"offered": "no"}, follow=True)
    assert "is withdrawn: new courses cannot use it" in page_text(response)
    assert "Withdrawn" in page_text(response)
    p.refresh_from_db()
    assert not p.is_active
    response = client.post(url, {"offered": "yes", "back": "detail"})
    assert response.url == reverse("protocol_detail", args=[p.pk])
    p.refresh_from_db()
    assert p.is_active


# --- the formulation library -----------------------------------------------------------------


def test_admin_adds_a_formulation_with_doses(client_for, world):
    client = client_for("alice")
    empty = client.get(reverse("formulation_new")).context["lines"]
    assert len(empty.forms) == 6
    data = formulation_data(
        "Biotin boost", ("biotin", "0.5", "mg_per_ml"), ("dexpanthenol", "", ""), ("", "", "")
    )
    response = client.post(reverse("formulation_new"), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("formulation_list")
    saved = Formulation.objects.get(organisation=world.acme, name="Biotin boost")
    assert list(saved.ingredients.values_list("code", "concentration", "unit")) == [
        ("biotin", Decimal("0.5"), "mg_per_ml"),
        ("dexpanthenol", None, ""),
    ]
    event = AuditEvent.objects.filter(action="formulation.save").latest("pk")
    assert (event.actor, event.via, event.object_id) == (world.alice, "web", str(saved.pk))
    text = page_text(response)
    assert "Biotin: 0.5 mg/mL" in text
    assert "Dexpanthenol: dose not set" in text


def test_editing_a_formulation_replaces_its_lines_and_leaves_protocols_alone(client_for, world):
    client = client_for("alice")
    f = formulation(world, "Dutasteride 0.01%")
    form = client.get(reverse("formulation_edit", args=[f.pk])).context["lines"]
    assert form.forms[0]["concentration"].value() == "0.01"
    versions = list(ProtocolVersion.objects.order_by("pk").values())
    data = formulation_data("Dutasteride 0.005%", ("dutasteride", "0.005", "percent"))
    assert client.post(reverse("formulation_edit", args=[f.pk]), data).status_code == 302
    f.refresh_from_db()
    assert f.name == "Dutasteride 0.005%"
    assert list(f.ingredients.values_list("concentration", flat=True)) == [Decimal("0.005")]
    assert list(ProtocolVersion.objects.order_by("pk").values()) == versions


BAD_LINES = [
    (("biotin", "0.5", ""), "ingredients-0-unit", "Choose the unit of the concentration."),
    (("biotin", "", "percent"), "ingredients-0-concentration", "Enter the concentration"),
    (("biotin", "0", "percent"), "ingredients-0-concentration", "more than 0"),
    (("biotin", "-1", "percent"), "ingredients-0-concentration", "more than 0"),
    (("biotin", "lots", "percent"), "ingredients-0-concentration", "Enter a number"),
    (("biotin", "0.000001", "percent"), "ingredients-0-concentration", "4 decimal places"),
    (("", "1", "percent"), "ingredients-0-code", "Choose the ingredient"),
    (("snake_oil", "", ""), "ingredients-0-code", "not one of the available choices"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD_LINES)
def test_a_bad_ingredient_line_is_explained_and_nothing_written(
    client_for, world, line, field, message
):
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("formulation_new"), formulation_data("New", line))
    assert response.status_code == 422
    assert message in field_errors(response, field), page_text(response)[-2000:]
    # The input says it is wrong and points at its message.
    content = response.content.decode()
    tag = re.search(rf'<[^>]+name="{field.removeprefix("id_")}"[^>]*>', content)
    assert tag is not None
    assert 'aria-invalid="true"' in tag.group(0)
    assert f'aria-describedby="id_{field}_error"' in tag.group(0)


def test_an_ingredient_listed_twice_is_refused(client_for, world):
    data = formulation_data("New", ("biotin", "1", "percent"), ("biotin", "", ""))
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("formulation_new"), data)
    assert response.status_code == 422
    assert "Biotin is listed twice" in field_errors(response, "ingredients-1-code")


def test_a_formulation_name_in_use_is_refused(client_for, world):
    data = formulation_data("Lipolytic solution", ("biotin", "", ""))
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("formulation_new"), data)
    assert response.status_code == 422
    assert "exists already" in field_errors(response, "name")


def test_a_tampered_line_count_is_refused(client_for, world):
    data = formulation_data("New", ("biotin", "", ""))
    data["ingredients-TOTAL_FORMS"] = "500"
    client = client_for("alice")
    with nothing_written():
        response = client.post(reverse("formulation_new"), data)
    assert response.status_code == 422


# --- queries ----------------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    client.get(url)  # warm the session and any caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_and_library_cost_the_same_with_more_protocols(client_for, world):
    client = client_for("paul")
    few = count_queries(client, reverse("protocol_list"))
    few_library = count_queries(client, reverse("formulation_list"))
    source = protocol(world).current_version
    for n in range(10):
        protocol_copy(version=source, code=f"extra-{n}", name=f"Extra {n}", acting_user=world.alice)
    assert count_queries(client, reverse("protocol_list")) == few
    assert count_queries(client, reverse("formulation_list")) == few_library


def test_the_detail_page_costs_the_same_with_more_versions(client_for, world):
    client = client_for("paul")
    p = protocol(world)
    url = reverse("protocol_detail", args=[p.pk])
    few = count_queries(client, url)
    old = reverse("protocol_version", args=[p.pk, 1])
    few_old = count_queries(client, old)
    content = ProtocolContent.of(p.current_version)
    for n in range(10):
        content = ProtocolContent(**{**content.__dict__, "description": f"Edit {n}"})
        protocol_revise(protocol=p, content=content, change_note=f"n{n}", acting_user=world.alice)
    assert count_queries(client, url) == few
    assert count_queries(client, old) == few_old
