"""The decision as a whole: strictest reason wins, order, re-check dates, storage and replay."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from mesoclinic.screening.rules import (
    FactsError,
    HairLossAssessment,
    IntakeAnswers,
    Outcome,
    ProtocolKind,
    ScreeningFacts,
    facts_from_dict,
    facts_to_dict,
    latest_ruleset,
    load_ruleset,
    screen,
)
from tests.screening.builders import SCREENED_ON, clear_facts

RULESET = latest_ruleset()


def test_outcomes_are_ordered_by_strictness() -> None:
    assert [outcome.value for outcome in sorted(Outcome, key=lambda o: o.rank)] == [
        "eligible",
        "eligible_with_precautions",
        "defer",
        "refer",
        "not_eligible",
    ]


def test_the_strictest_reason_wins_and_reasons_come_strictest_first() -> None:
    facts = clear_facts(
        protocol_kind="combined",
        sex_at_birth="female",
        ingredients=["finasteride"],
        nsaid_last_48h=True,
        smokes_tobacco=True,
        diabetes=True,
        scalp_infection=True,
    )
    decision = screen(facts, RULESET)
    assert decision.outcome is Outcome.NOT_ELIGIBLE
    assert [(reason.severity.value, reason.rule_id) for reason in decision.reasons] == [
        ("not_eligible", "finasteride.women"),
        ("refer", "general.diabetes"),
        ("defer", "general.scalp_infection"),
        ("defer", "prp.infection_at_site"),
        ("defer", "prp.nsaids_48h"),
        ("eligible_with_precautions", "prp.tobacco"),
    ]
    assert decision.recheck_on is None  # only a deferral has a re-check date


def test_a_deferral_is_rechecked_when_the_longest_wait_ends() -> None:
    facts = clear_facts(
        protocol_kind="prp", nsaid_last_48h=True, systemic_steroids_last_2_weeks=True
    )
    decision = screen(facts, RULESET)
    assert decision.outcome is Outcome.DEFER
    assert decision.recheck_on == SCREENED_ON + dt.timedelta(days=14)


def test_nsaids_alone_are_rechecked_after_two_days() -> None:
    decision = screen(clear_facts(protocol_kind="prp", nsaid_last_48h=True), RULESET)
    assert decision.recheck_on == dt.date(2026, 11, 22)
    [reason] = decision.reasons
    assert reason.recheck_on == dt.date(2026, 11, 22)


def test_a_deferral_without_a_date_leaves_the_recheck_open() -> None:
    facts = clear_facts(
        sex_at_birth="female",
        protocol_kind="prp",
        pregnant=True,
        could_become_pregnant=True,
        nsaid_last_48h=True,
    )
    decision = screen(facts, RULESET)
    assert decision.outcome is Outcome.DEFER
    assert decision.recheck_on is None


def test_a_missing_answer_does_not_hide_the_recheck_date() -> None:
    facts = clear_facts(protocol_kind="prp", nsaid_last_48h=True, diabetes=None)
    decision = screen(facts, RULESET)
    assert decision.outcome is Outcome.DEFER
    assert decision.missing_facts == ("diabetes",)
    assert decision.recheck_on == dt.date(2026, 11, 22)


def test_an_unanswered_intake_is_never_eligible() -> None:
    for kind in ProtocolKind:
        facts = ScreeningFacts(screened_on=SCREENED_ON, protocol_kind=kind)
        decision = screen(facts, RULESET)
        assert decision.outcome is Outcome.DEFER
        assert all(reason.needs_answers for reason in decision.reasons)
        assert {"pregnant", "sex_at_birth", "age_years", "scarring_alopecia_signs"} <= set(
            decision.missing_facts
        )


def test_a_pregnant_patient_is_not_eligible_for_dutasteride_with_the_reason_and_source() -> None:
    facts = clear_facts(
        sex_at_birth="female",
        age_years=32,
        pregnant=True,
        could_become_pregnant=True,
        ingredients=["dutasteride", "vitamin_b_complex"],
    )
    decision = screen(facts)
    assert decision.outcome is Outcome.NOT_ELIGIBLE
    reason = decision.reasons[0]
    assert reason.rule_id == "dutasteride.pregnancy_potential"
    assert "dutasteride" in reason.message
    assert reason.source.url == "http://www.drugs.com/pregnancy/dutasteride.html"
    assert "category X" in reason.source.text


def test_screen_uses_the_latest_rule_set_by_default() -> None:
    decision = screen(clear_facts())
    assert decision.rule_set_version == latest_ruleset().version


def test_a_stored_decision_is_reproduced_from_its_facts_and_rule_set_version() -> None:
    facts = clear_facts(
        sex_at_birth="female",
        protocol_kind="combined",
        ingredients=["dutasteride", "lidocaine"],
        allergy_local_anaesthetic=None,
        recent_fever_or_illness=True,
        allergen_codes=["biotin"],
    )
    decision = screen(facts, RULESET)
    stored = json.dumps(
        {
            "facts": facts_to_dict(facts),
            "rule_set_version": decision.rule_set_version,
            "decision": decision.to_dict(),
        }
    )

    row = json.loads(stored)
    replayed = screen(facts_from_dict(row["facts"]), load_ruleset(row["rule_set_version"]))
    assert replayed.to_dict() == row["decision"]
    assert replayed == decision


def test_the_decision_dict_names_everything_a_page_needs() -> None:
    facts = clear_facts(protocol_kind="prp", nsaid_last_48h=True, diabetes=None)
    data = screen(facts, RULESET).to_dict()
    assert data["outcome"] == "defer"
    assert data["rule_set_version"] == RULESET.version
    assert data["screened_on"] == "2026-11-20"
    assert data["recheck_on"] == "2026-11-22"
    assert data["missing_facts"] == ["diabetes"]
    asked, waited = data["reasons"]
    assert asked["rule_id"] == "general.diabetes"
    assert (
        asked["message"] == "Answer whether the patient has diabetes first. Needed for: Diabetes."
    )
    assert asked["missing_facts"] == ["diabetes"]
    assert waited == {
        "rule_id": "prp.nsaids_48h",
        "rule_version": 1,
        "title": "NSAIDs in the last 48 hours (PRP)",
        "severity": "defer",
        "message": RULESET.rule("prp.nsaids_48h").message,
        "source": {
            "text": RULESET.rule("prp.nsaids_48h").source.text,
            "url": "https://www.medscape.com/answers/1997643-101173/",
        },
        "missing_facts": [],
        "recheck_on": "2026-11-22",
    }


def test_facts_round_trip_through_json() -> None:
    facts = clear_facts(
        ingredients=["minoxidil", "biotin"], allergen_codes=["lidocaine"], diabetes=None
    )
    data = json.loads(json.dumps(facts_to_dict(facts)))
    assert data["ingredients"] == ["biotin", "minoxidil"]
    assert data["intake"]["allergen_codes"] == ["lidocaine"]
    assert data["intake"]["diabetes"] is None
    assert data["assessment"] == {"assessed_on": "2026-11-13", "scarring_alopecia_signs": False}
    assert facts_from_dict(data) == facts


def test_answers_missing_from_stored_facts_read_back_as_unknown() -> None:
    """Facts stored before a question existed still load; the new answer is unknown."""
    data = facts_to_dict(clear_facts())
    del data["intake"]["smokes_tobacco"]
    assert facts_from_dict(data).intake.smokes_tobacco is None


def _facts_dict(**changes: Any) -> dict[str, Any]:
    data = facts_to_dict(clear_facts())
    for key, value in changes.items():
        if key.startswith("intake__"):
            data["intake"][key.removeprefix("intake__")] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_facts_dict(weight_kg=80), "Unknown fact(s): weight_kg."),
        (_facts_dict(intake__pregnnant=True), "Unknown intake answer(s): pregnnant."),
        (_facts_dict(intake__diabetes="yes"), "intake.diabetes must be true, false or null"),
        (_facts_dict(intake__diabetes=1), "intake.diabetes must be true, false or null"),
        (_facts_dict(screened_on="20/11/2026"), "screened_on must be an ISO date"),
        (_facts_dict(screened_on=None), "screened_on must be an ISO date"),
        (_facts_dict(protocol_kind="laser"), "protocol_kind must be one of mesotherapy, prp"),
        (_facts_dict(sex_at_birth="unknown"), "sex_at_birth must be one of female, male, intersex"),
        (_facts_dict(age_years=-1), "age_years must be a whole number from 0 to 130 or null"),
        (_facts_dict(age_years="40"), "age_years must be a whole number from 0 to 130"),
        (_facts_dict(age_years=True), "age_years must be a whole number from 0 to 130"),
        (_facts_dict(ingredients="dutasteride"), "ingredients must be a list of ingredient codes"),
        (_facts_dict(ingredients=["Dutasteride"]), "'Dutasteride' is not an ingredient code"),
        (_facts_dict(ingredients=["biotin\n"]), "'biotin\\n' is not an ingredient code"),
        (_facts_dict(intake__allergen_codes="lidocaine"), "intake.allergen_codes must be a list"),
        (_facts_dict(intake=[]), "intake must be an object."),
        (_facts_dict(assessment={"stage": "III"}), "assessment must be an object with"),
        (
            _facts_dict(assessment={"assessed_on": "2026-12-01", "scarring_alopecia_signs": False}),
            "The assessment (2026-12-01) is dated after the screening (2026-11-20).",
        ),
    ],
)
def test_bad_facts_are_refused_with_a_clear_message(data: dict[str, Any], message: str) -> None:
    with pytest.raises(FactsError, match=re.escape(message)):
        facts_from_dict(data)


def test_facts_missing_their_date_or_protocol_are_refused() -> None:
    data = facts_to_dict(clear_facts())
    del data["protocol_kind"]
    with pytest.raises(FactsError, match=re.escape("Facts need protocol_kind.")):
        facts_from_dict(data)


def test_facts_built_in_code_are_checked_too() -> None:
    with pytest.raises(FactsError, match="screened_on must be a date"):
        ScreeningFacts(
            screened_on=dt.datetime(2026, 11, 20, 9),  # type: ignore[arg-type]
            protocol_kind=ProtocolKind.PRP,
        )
    with pytest.raises(FactsError, match=re.escape("intake.pregnant must be true, false or null")):
        IntakeAnswers(pregnant="no")  # type: ignore[arg-type]
    with pytest.raises(FactsError, match=re.escape("assessment.scarring_alopecia_signs")):
        HairLossAssessment(assessed_on=SCREENED_ON, scarring_alopecia_signs=0)  # type: ignore[arg-type]
    facts = ScreeningFacts(
        screened_on=SCREENED_ON,
        protocol_kind="prp",  # type: ignore[arg-type]
        ingredients=["lidocaine"],  # type: ignore[arg-type]
    )
    assert facts.protocol_kind is ProtocolKind.PRP
    assert facts.ingredients == frozenset({"lidocaine"})


def test_facts_are_immutable() -> None:
    facts = clear_facts()
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.age_years = 12  # type: ignore[misc]


# Words that would claim a treatment works (reference/clinical-facts.md section 7).
EFFICACY_CLAIM = re.compile(
    r"\b(effective|efficacy|efficacious|works?|proven|regrow\w*|cures?|guarantee\w*|"
    r"WHO|approved|no side effects|improve\w*|results?|benefits?)\b",
    re.IGNORECASE,
)


def test_no_message_claims_that_a_treatment_works() -> None:
    for rule in RULESET.rules:
        for text in (rule.title, rule.message):
            assert not EFFICACY_CLAIM.search(text), f"{rule.id}: {text}"


def test_every_rule_says_what_it_rests_on() -> None:
    for rule in RULESET.rules:
        assert rule.source.text.strip()
        if rule.source.url is None:
            text = rule.source.text.lower()
            assert "no source" in text or "not a clinical rule" in text, rule.id


def test_the_engine_does_not_import_django() -> None:
    code = (
        "import sys, mesoclinic.screening.rules as rules; rules.latest_ruleset(); "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "bad",
    [[["x"]], [{"a": 1}], {"lidocaine": True}, "lidocaine", [1]],
)
def test_malformed_ingredient_lists_are_facts_errors_not_type_errors(bad):
    with pytest.raises(FactsError):
        IntakeAnswers(allergen_codes=bad)


def test_intake_keys_must_be_strings():
    data = facts_to_dict(clear_facts())
    data["intake"] = {1: True}
    with pytest.raises(FactsError, match="named by strings"):
        facts_from_dict(data)
