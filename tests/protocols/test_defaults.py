"""The shipped protocol templates: installed for every new organisation, every default with
its source, valid ranges, and no claim that a treatment works."""

from __future__ import annotations

import re
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mesoclinic.accounts.services import organisation_create
from mesoclinic.patients.consents import SHIPPED as SHIPPED_CONSENTS
from mesoclinic.protocols.defaults import DEFAULTS_FILE, shipped_protocols
from mesoclinic.protocols.forms import ProtocolForm
from mesoclinic.protocols.ingredients import INGREDIENT_LABELS
from mesoclinic.protocols.models import Area, Formulation, Protocol, ProtocolVersion, Unit
from mesoclinic.protocols.services import ProtocolContent, protocol_defaults_install
from mesoclinic.scheduling.planner import CourseShape
from mesoclinic.screening.models import KIND_CHOICES
from mesoclinic.treatments.aftercare import default_set, set_to_json

CLAIMS = ("effective", "proven", "guaranteed", "regrow")
TEMPLATES = Path(__file__).resolve().parents[2] / "src/mesoclinic/templates/protocols"
SHIPPED = shipped_protocols()


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings(item)]
    return []


def sourced_groups(data: dict[str, Any]) -> list[str]:
    """The groups of defaults a template sets, each of which must name its source."""
    groups = ["induction", "session_duration_minutes"]
    if data["maintenance_sessions"]:
        groups.append("maintenance")
    if data["review_after_days"]:
        groups.append("review_after_days")
    return groups


# --- the shipped data ---------------------------------------------------------------------


def test_the_shipped_data_covers_every_area_with_unique_codes():
    codes = [data["code"] for data in SHIPPED]
    assert len(codes) == len(set(codes))
    assert {data["area"] for data in SHIPPED} == set(Area.values)


@pytest.mark.parametrize("data", SHIPPED, ids=lambda d: d["code"])
def test_shipped_ranges_are_valid(data):
    assert data["area"] in Area.values
    assert data["kind"] in {code for code, _label in KIND_CHOICES}
    assert 5 <= data["session_duration_minutes"] <= 480
    assert 1 <= data["induction_sessions_min"] <= data["induction_sessions_max"]
    assert (
        1
        <= data["induction_interval_min_days"]
        <= data["induction_interval_target_days"]
        <= data["induction_interval_max_days"]
    )
    intervals = [
        data["maintenance_interval_min_days"],
        data["maintenance_interval_target_days"],
        data["maintenance_interval_max_days"],
    ]
    if data["maintenance_sessions"]:
        assert data["maintenance_sessions"] >= 1
        assert None not in intervals
        assert 1 <= intervals[0] <= intervals[1] <= intervals[2]
    else:
        assert intervals == [None, None, None]
    assert all(isinstance(day, int) and day >= 1 for day in data["review_after_days"])
    assert data["review_after_days"] == sorted(set(data["review_after_days"]))
    assert set(data["consent_codes"]) <= {c.code for c in SHIPPED_CONSENTS}
    assert data["consent_codes"], "every treatment asks for a consent"
    for formulation in data["formulations"]:
        for line in formulation["ingredients"]:
            assert line["code"] in INGREDIENT_LABELS
            if line["concentration"] is None:
                assert line["unit"] == ""
            else:
                assert Decimal(line["concentration"]) > 0
                assert line["unit"] in Unit.values
    # Every course planned from it, shortest and longest, can be planned.
    for sessions in (data["induction_sessions_min"], data["induction_sessions_max"]):
        CourseShape(
            induction_sessions=sessions,
            induction_interval_min_days=data["induction_interval_min_days"],
            induction_interval_target_days=data["induction_interval_target_days"],
            induction_interval_max_days=data["induction_interval_max_days"],
            maintenance_sessions=data["maintenance_sessions"],
            maintenance_interval_min_days=intervals[0],
            maintenance_interval_target_days=intervals[1],
            maintenance_interval_max_days=intervals[2],
            review_after_days=tuple(data["review_after_days"]),
        )


@pytest.mark.parametrize("data", SHIPPED, ids=lambda d: d["code"])
def test_every_shipped_default_names_its_source(data):
    for group in sourced_groups(data):
        assert data["sources"].get(group, "").strip(), f"{data['code']}: no source for {group}"
    assert set(data["sources"]) <= {
        "induction",
        "maintenance",
        "session_duration_minutes",
        "review_after_days",
    }
    for formulation in data["formulations"]:
        assert formulation["source"].strip(), f"{formulation['name']}: no source"


def test_no_shipped_text_claims_that_a_treatment_works():
    texts = strings({"file": DEFAULTS_FILE.read_text(encoding="utf-8")})
    texts += [path.read_text(encoding="utf-8") for path in sorted(TEMPLATES.glob("*.html"))]
    assert len(texts) > 5
    for text in texts:
        for word in CLAIMS:
            assert not re.search(word, text, flags=re.IGNORECASE), f"{word!r} in {text[:80]!r}"


@pytest.mark.parametrize("data", SHIPPED, ids=lambda d: d["code"])
def test_the_edit_form_accepts_every_shipped_template_as_it_is(world, data):
    """The page's checks are no stricter than the shipped data: an admin can save a template
    after changing only its name."""
    version = ProtocolVersion(number=1, **asdict(ProtocolContent.from_data(data)))
    library = list(Formulation.objects.filter(organisation=world.acme))
    consents = [(c.code, c.title) for c in SHIPPED_CONSENTS]
    initial = ProtocolForm(version=version, library=library, consent_choices=consents)
    posted: dict[str, Any] = {}
    for name in initial.fields:
        value = initial[name].value()
        posted[name] = "" if value is None else value
    posted["change_note"] = "renamed"
    posted["name"] = data["name"] + " (ours)"
    form = ProtocolForm(posted, version=version, library=library, consent_choices=consents)
    assert form.is_valid(), form.errors
    content = form.content()
    assert asdict(content) == asdict(ProtocolContent.from_data(data)) | {"name": posted["name"]}


# --- installing -------------------------------------------------------------------------


def test_a_new_organisation_gets_every_shipped_protocol_with_its_sources(db):
    fresh = organisation_create(name="Fresh", slug="fresh", mrn_prefix="FRS", acting_user=None)
    protocols = Protocol.objects.filter(organisation=fresh).select_related("current_version")
    assert sorted(p.code for p in protocols) == sorted(d["code"] for d in SHIPPED)
    by_code = {d["code"]: d for d in SHIPPED}
    for protocol in protocols:
        version = protocol.current_version
        assert version is not None
        assert version.number == 1
        assert protocol.is_active
        data = by_code[protocol.code]
        # The shipped aftercare set for its area and kind is stored with the version.
        aftercare = set_to_json(default_set(area=data["area"], kind=data["kind"]))
        assert asdict(ProtocolContent.of(version)) == asdict(
            ProtocolContent.from_data({**data, "aftercare": aftercare})
        )
        for group in sourced_groups(data):
            assert version.source_of(group)
        for snapshot in version.formulations:
            assert snapshot["source"]
    library = set(Formulation.objects.filter(organisation=fresh).values_list("name", flat=True))
    assert library == {f["name"] for d in SHIPPED for f in d["formulations"]}


def test_installing_again_adds_nothing(db):
    fresh = organisation_create(name="Fresh", slug="fresh", mrn_prefix="FRS", acting_user=None)
    counts = (
        Protocol.objects.count(),
        ProtocolVersion.objects.count(),
        Formulation.objects.count(),
    )
    assert protocol_defaults_install(organisation=fresh, acting_user=None) == []
    assert counts == (
        Protocol.objects.count(),
        ProtocolVersion.objects.count(),
        Formulation.objects.count(),
    )
