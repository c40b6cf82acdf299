"""Loading rule sets: the shipped files load, and a broken rule is refused with a clear message."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

import pytest

from mesoclinic.screening.rules import (
    Outcome,
    RuleSetError,
    _version_key,
    available_versions,
    latest_ruleset,
    load_ruleset,
    parse_ruleset,
)

VALID: dict[str, Any] = {
    "version": "2030-01-1",
    "description": "A test rule set.",
    "rules": [
        {
            "id": "test.pregnancy",
            "version": 1,
            "title": "Pregnancy",
            "applies_to": {"protocol_kinds": ["mesotherapy"], "ingredients": ["dutasteride"]},
            "condition": {
                "all": [
                    {"fact": "sex_at_birth", "in": ["female"]},
                    {"any": [{"fact": "pregnant", "is": True}, {"fact": "age_years", "lt": 18}]},
                ]
            },
            "outcome": "defer",
            "recheck_days": 7,
            "message": "Wait.",
            "source": {"text": "A test source.", "url": "https://example.org/source"},
        }
    ],
}


def rule_with(**fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["rules"][0].update(fields)
    return data


def rule_without(key: str) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    del data["rules"][0][key]
    return data


def test_a_valid_rule_set_parses() -> None:
    ruleset = parse_ruleset(VALID)
    [rule] = ruleset.rules
    assert ruleset.version == "2030-01-1"
    assert rule.outcome is Outcome.DEFER
    assert rule.protocol_kinds == frozenset({"mesotherapy"})
    assert rule.ingredients == frozenset({"dutasteride"})
    assert rule.facts() == ("sex_at_birth", "pregnant", "age_years")
    assert rule.when_unknown == "ask"


def test_every_shipped_rule_set_loads_and_is_named_after_its_version() -> None:
    versions = available_versions()
    assert versions, "no rule set shipped"
    for version in versions:
        assert load_ruleset(version).version == version
    assert latest_ruleset().version == versions[-1]


def test_the_shipped_file_is_in_the_package() -> None:
    folder = resources.files("mesoclinic.screening") / "rulesets"
    data = json.loads((folder / f"{latest_ruleset().version}.json").read_text(encoding="utf-8"))
    assert parse_ruleset(data) == latest_ruleset()


def test_versions_sort_by_number_not_text() -> None:
    # 2026-11-10 is newer than 2026-11-9 although it sorts first as text.
    assert sorted(["2026-11-10", "2026-11-9", "2027-01-1"], key=_version_key) == [
        "2026-11-9",
        "2026-11-10",
        "2027-01-1",
    ]


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(RuleSetError, match=re.escape("No rule set '1999-01-1'; shipped: ")):
        load_ruleset("1999-01-1")
    with pytest.raises(RuleSetError, match=re.escape("No rule set '../secrets'")):
        load_ruleset("../secrets")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "A rule set must be a JSON object."),
        ({**VALID, "version": "v1"}, "Rule set version 'v1' is not of the form YYYY-MM-N."),
        (
            {**VALID, "version": "2030-01-1\n"},
            "Rule set version '2030-01-1\\n' is not of the form YYYY-MM-N.",
        ),
        ({**VALID, "rules": []}, "A rule set needs a non-empty list of rules."),
        ({**VALID, "extra": 1}, "rule set: unknown key(s) extra."),
        (
            rule_with(condition={"fact": "pregnnant", "is": True}),
            "Rule test.pregnancy condition: unknown fact 'pregnnant'.",
        ),
        (
            rule_with(condition={"fact": "pregnant", "equals": True}),
            "Rule test.pregnancy condition: unknown operator 'equals' for fact 'pregnant'; use is.",
        ),
        (
            rule_with(condition={"fact": "age_years", "is": True}),
            "unknown operator 'is' for fact 'age_years'; use ge, gt, le, lt.",
        ),
        (
            rule_with(condition={"fact": "pregnant", "is": True, "in": [True]}),
            "a fact test needs exactly one operator, got ['in', 'is'].",
        ),
        (rule_with(condition={"fact": "pregnant", "is": "yes"}), "'is' takes true or false."),
        (rule_with(condition={"fact": "age_years", "lt": "18"}), "'lt' takes a whole number."),
        (
            rule_with(condition={"fact": "sex_at_birth", "in": ["woman"]}),
            "'in' takes a non-empty list of female, male, intersex.",
        ),
        (rule_with(condition={"all": []}), "'all' needs a non-empty list."),
        (
            rule_with(condition={"any": [{"fact": "pregnant", "is": True}], "fact": "diabetes"}),
            "'any' takes no other keys.",
        ),
        (
            rule_with(condition={"all": [{"not": {"fact": "pregnant", "is": True}}]}),
            "Rule test.pregnancy condition > all[0]: expected 'all', 'any' or 'fact'",
        ),
        (
            rule_with(outcome="banned"),
            "Rule test.pregnancy: unknown outcome 'banned'; a rule imposes one of "
            "eligible_with_precautions, defer, refer, not_eligible.",
        ),
        (rule_with(outcome="eligible"), "unknown outcome 'eligible'"),
        (rule_with(id="Pregnancy"), "rule 1: id 'Pregnancy' must look like group.name"),
        (rule_with(version=0), "Rule test.pregnancy: version must be a whole number from 1."),
        (rule_with(severity="defer"), "Rule test.pregnancy: unknown key(s) severity."),
        (rule_without("source"), "Rule test.pregnancy: missing key(s) source."),
        (rule_with(message="  "), "Rule test.pregnancy: message must be non-empty text."),
        (
            rule_with(outcome="refer"),
            "Rule test.pregnancy: recheck_days only makes sense for a defer rule.",
        ),
        (rule_with(recheck_days=0), "recheck_days must be a whole number of days from 1."),
        (
            rule_with(when_unknown="skip"),
            "Rule test.pregnancy: only consistency.* rules may skip unknown answers",
        ),
        (rule_with(when_unknown="guess"), "when_unknown must be 'ask' or 'skip'."),
        (
            rule_with(applies_to={"protocol_kinds": ["combined"]}),
            "protocol_kinds must list mesotherapy and/or prp (a combined protocol gets the "
            "rules of both).",
        ),
        (
            rule_with(applies_to={"ingredients": ["Dutasteride 0.01%"]}),
            "ingredients must be a list of ingredient codes.",
        ),
        (rule_with(applies_to={"zones": ["vertex"]}), "applies_to: unknown key(s) zones."),
        (
            rule_with(source={"text": "x", "url": "ftp://example.org"}),
            "source url must be an http(s) address or null.",
        ),
        (rule_with(source={"text": "x"}), "Rule test.pregnancy source: missing key(s) url."),
        (rule_with(source={"text": "", "url": None}), "source text must be non-empty text."),
        (
            {**VALID, "rules": VALID["rules"] * 2},
            "Rule test.pregnancy: the id is used twice.",
        ),
    ],
)
def test_a_broken_rule_set_is_refused_with_a_clear_message(data: Any, message: str) -> None:
    with pytest.raises(RuleSetError, match=re.escape(message)):
        parse_ruleset(data)


def test_a_skipping_consistency_rule_is_accepted() -> None:
    data = rule_with(id="consistency.test", when_unknown="skip")
    assert parse_ruleset(data).rules[0].when_unknown == "skip"


def test_a_source_may_have_no_address() -> None:
    data = rule_with(source={"text": "General clinical practice; no source.", "url": None})
    assert parse_ruleset(data).rules[0].source.url is None
