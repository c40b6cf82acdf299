"""Every shipped rule, case by case: when it triggers, when it stays silent, what it asks for.

A rule added to the rule set without cases here fails ``test_every_rule_has_both_cases``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from mesoclinic.screening.rules import FACTS, Outcome, Reason, Rule, latest_ruleset, screen
from tests.screening.builders import clear_facts, with_fact

RULESET = latest_ruleset()
RULE_IDS = [rule.id for rule in RULESET.rules]


@dataclass(frozen=True)
class Case:
    rule_id: str
    triggers: bool
    label: str
    facts: dict[str, Any] = field(default_factory=dict)


def fires(rule_id: str, label: str, **facts: Any) -> Case:
    return Case(rule_id, True, label, facts)


def silent(rule_id: str, label: str, **facts: Any) -> Case:
    return Case(rule_id, False, label, facts)


def _simple(rule_id: str, fact: str, *, prp_only: bool = False) -> list[Case]:
    """Cases for a rule that triggers on one yes/no answer."""
    kind = "prp" if prp_only else "mesotherapy"
    cases = [
        fires(rule_id, f"{fact} yes", protocol_kind=kind, **{fact: True}),
        fires(rule_id, f"{fact} yes, combined protocol", protocol_kind="combined", **{fact: True}),
        silent(rule_id, f"{fact} no", protocol_kind=kind, **{fact: False}),
    ]
    if prp_only:
        cases.append(
            silent(rule_id, "mesotherapy only", protocol_kind="mesotherapy", **{fact: True})
        )
    else:
        cases.append(fires(rule_id, f"{fact} yes, PRP", protocol_kind="prp", **{fact: True}))
    return cases


CASES: list[Case] = [
    # General mesotherapy (and PRP by extension).
    fires("general.pregnancy", "pregnant woman", sex_at_birth="female", pregnant=True),
    fires(
        "general.pregnancy",
        "pregnant, intersex, PRP",
        sex_at_birth="intersex",
        pregnant=True,
        could_become_pregnant=True,
        protocol_kind="prp",
    ),
    silent("general.pregnancy", "woman not pregnant", sex_at_birth="female"),
    silent("general.pregnancy", "male at birth", sex_at_birth="male", pregnant=True),
    fires("general.breastfeeding", "breastfeeding", sex_at_birth="female", breastfeeding=True),
    silent("general.breastfeeding", "not breastfeeding", sex_at_birth="female"),
    *_simple("general.scalp_infection", "scalp_infection"),
    *_simple("general.folliculitis", "scalp_folliculitis"),
    *_simple("general.scalp_psoriasis", "scalp_psoriasis"),
    *_simple("general.seborrhoeic_dermatitis", "seborrhoeic_dermatitis"),
    *_simple("general.scars_in_area", "scars_in_treatment_area"),
    *_simple("general.bleeding_disorder", "bleeding_or_platelet_disorder"),
    *_simple("general.anticoagulants", "anticoagulant_or_antiplatelet"),
    *_simple("general.active_cancer", "active_cancer_or_chemotherapy"),
    *_simple("general.autoimmune_disease", "autoimmune_disease"),
    *_simple("general.diabetes", "diabetes"),
    *_simple("general.heart_failure", "heart_failure"),
    *_simple("general.kidney_disease", "kidney_disease"),
    fires(
        "general.local_anaesthetic_allergy",
        "allergic, lidocaine in the formulation",
        ingredients=["lidocaine", "vitamin_b_complex"],
        allergy_local_anaesthetic=True,
    ),
    fires(
        "general.local_anaesthetic_allergy",
        "allergic, procaine in PRP",
        protocol_kind="prp",
        ingredients=["procaine"],
        allergy_local_anaesthetic=True,
    ),
    silent(
        "general.local_anaesthetic_allergy",
        "not allergic",
        ingredients=["lidocaine"],
        allergy_local_anaesthetic=False,
    ),
    silent(
        "general.local_anaesthetic_allergy",
        "allergic, no anaesthetic in the formulation",
        ingredients=["vitamin_b_complex"],
        allergy_local_anaesthetic=True,
    ),
    fires(
        "general.component_allergy",
        "allergic to an ingredient",
        ingredients=["hyaluronic_acid", "vitamin_b_complex"],
        allergen_codes=["hyaluronic_acid"],
    ),
    silent(
        "general.component_allergy",
        "allergic to something not in the formulation",
        ingredients=["hyaluronic_acid"],
        allergen_codes=["minoxidil"],
    ),
    silent(
        "general.component_allergy",
        "PRP with no added ingredient, allergies not asked",
        protocol_kind="prp",
        ingredients=[],
        allergen_codes=None,
    ),
    fires("general.under_18", "17 years old", age_years=17),
    silent("general.under_18", "18 years old", age_years=18),
    # PRP.
    *_simple("prp.platelet_dysfunction", "platelet_dysfunction_syndrome", prp_only=True),
    *_simple("prp.critical_thrombocytopenia", "critical_thrombocytopenia", prp_only=True),
    *_simple("prp.sepsis_or_instability", "sepsis_or_haemodynamic_instability", prp_only=True),
    *_simple("prp.infection_at_site", "scalp_infection", prp_only=True),
    *_simple("prp.nsaids_48h", "nsaid_last_48h", prp_only=True),
    *_simple("prp.systemic_steroids_2_weeks", "systemic_steroids_last_2_weeks", prp_only=True),
    *_simple(
        "prp.steroid_injection_1_month", "steroid_injection_at_site_last_month", prp_only=True
    ),
    *_simple("prp.recent_fever_or_illness", "recent_fever_or_illness", prp_only=True),
    *_simple("prp.chronic_liver_disease", "chronic_liver_disease", prp_only=True),
    *_simple("prp.tobacco", "smokes_tobacco", prp_only=True),
    fires("prp.cancer", "active cancer", protocol_kind="prp", active_cancer_or_chemotherapy=True),
    fires("prp.cancer", "past bone cancer", protocol_kind="combined", blood_or_bone_cancer=True),
    silent("prp.cancer", "no cancer", protocol_kind="prp"),
    silent("prp.cancer", "mesotherapy only", blood_or_bone_cancer=True),
    # Dutasteride.
    *[
        fires(
            "dutasteride.pregnancy_potential",
            f"woman, {answer}",
            sex_at_birth="female",
            ingredients=["dutasteride"],
            **{answer: True},
        )
        for answer in ("pregnant", "could_become_pregnant", "planning_pregnancy", "breastfeeding")
    ],
    fires(
        "dutasteride.pregnancy_potential",
        "intersex, could become pregnant",
        sex_at_birth="intersex",
        ingredients=["dutasteride", "lidocaine"],
        could_become_pregnant=True,
    ),
    silent(
        "dutasteride.pregnancy_potential",
        "woman who cannot become pregnant",
        sex_at_birth="female",
        ingredients=["dutasteride"],
    ),
    silent(
        "dutasteride.pregnancy_potential",
        "pregnant, no dutasteride",
        sex_at_birth="female",
        ingredients=["minoxidil"],
        pregnant=True,
    ),
    silent(
        "dutasteride.pregnancy_potential",
        "man planning a pregnancy with a partner",
        sex_at_birth="male",
        ingredients=["dutasteride"],
        planning_pregnancy=True,
    ),
    fires("dutasteride.women", "woman", sex_at_birth="female", ingredients=["dutasteride"]),
    fires("dutasteride.women", "intersex", sex_at_birth="intersex", ingredients=["dutasteride"]),
    silent("dutasteride.women", "man", sex_at_birth="male", ingredients=["dutasteride"]),
    silent("dutasteride.women", "woman, no dutasteride", sex_at_birth="female"),
    fires(
        "dutasteride.male_conception",
        "trying for a pregnancy",
        ingredients=["dutasteride"],
        planning_pregnancy=True,
    ),
    fires(
        "dutasteride.male_conception",
        "abnormal semen analysis",
        ingredients=["dutasteride"],
        known_abnormal_semen_analysis=True,
    ),
    silent("dutasteride.male_conception", "neither", ingredients=["dutasteride"]),
    silent(
        "dutasteride.male_conception",
        "woman planning a pregnancy",
        sex_at_birth="female",
        ingredients=["dutasteride"],
        planning_pregnancy=True,
    ),
    silent(
        "dutasteride.male_conception",
        "trying for a pregnancy, no dutasteride",
        ingredients=["minoxidil"],
        planning_pregnancy=True,
    ),
    fires(
        "dutasteride.male_sexual_dysfunction",
        "erectile dysfunction",
        ingredients=["dutasteride"],
        erectile_or_ejaculatory_dysfunction=True,
    ),
    silent("dutasteride.male_sexual_dysfunction", "none", ingredients=["dutasteride"]),
    silent(
        "dutasteride.male_sexual_dysfunction",
        "erectile dysfunction, no dutasteride",
        ingredients=["minoxidil"],
        erectile_or_ejaculatory_dysfunction=True,
    ),
    # Finasteride.
    fires("finasteride.women", "woman", sex_at_birth="female", ingredients=["finasteride"]),
    silent("finasteride.women", "man", sex_at_birth="male", ingredients=["finasteride"]),
    silent("finasteride.women", "woman, no finasteride", sex_at_birth="female"),
    # Referrals.
    fires("referral.sudden_diffuse_shedding", "shedding", sudden_diffuse_shedding=True),
    fires(
        "referral.sudden_diffuse_shedding",
        "shedding, PRP",
        protocol_kind="prp",
        sudden_diffuse_shedding=True,
    ),
    silent("referral.sudden_diffuse_shedding", "no shedding"),
    fires("referral.scarring_alopecia", "scarring signs", scarring_alopecia_signs=True),
    silent("referral.scarring_alopecia", "no scarring signs", scarring_alopecia_signs=False),
    # Consistency checks.
    fires("consistency.male_pregnancy_answers", "pregnant man", pregnant=True),
    fires("consistency.male_pregnancy_answers", "breastfeeding man", breastfeeding=True),
    silent(
        "consistency.male_pregnancy_answers", "pregnant woman", sex_at_birth="female", pregnant=True
    ),
    silent(
        "consistency.male_pregnancy_answers", "man, not asked", pregnant=None, breastfeeding=None
    ),
    fires(
        "consistency.pregnant_cannot_become_pregnant",
        "pregnant but cannot be",
        sex_at_birth="female",
        pregnant=True,
        could_become_pregnant=False,
    ),
    silent(
        "consistency.pregnant_cannot_become_pregnant",
        "pregnant and could be",
        sex_at_birth="female",
        pregnant=True,
        could_become_pregnant=True,
    ),
    silent(
        "consistency.pregnant_cannot_become_pregnant",
        "pregnant, other answer unknown",
        sex_at_birth="female",
        pregnant=True,
        could_become_pregnant=None,
    ),
]


def reasons_of(rule_id: str, facts: dict[str, Any]) -> list[Reason]:
    decision = screen(clear_facts(**facts), RULESET)
    return [reason for reason in decision.reasons if reason.rule_id == rule_id]


def first_trigger(rule: Rule) -> Case:
    return next(case for case in CASES if case.rule_id == rule.id and case.triggers)


def test_every_rule_has_both_cases() -> None:
    for rule_id in RULE_IDS:
        kinds = {case.triggers for case in CASES if case.rule_id == rule_id}
        assert kinds == {True, False}, f"{rule_id} needs a triggering and a silent case"
    assert {case.rule_id for case in CASES} <= set(RULE_IDS), "cases for rules not shipped"


def test_the_baseline_patient_is_eligible_for_every_kind() -> None:
    for kind in ("mesotherapy", "prp", "combined"):
        decision = screen(clear_facts(protocol_kind=kind, ingredients=["minoxidil"]), RULESET)
        assert decision.outcome is Outcome.ELIGIBLE
        assert decision.reasons == ()


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case.triggers],
    ids=lambda case: f"{case.rule_id}: {case.label}",
)
def test_rule_triggers(case: Case) -> None:
    """The rule imposes its outcome, message, source and re-check date."""
    rule = RULESET.rule(case.rule_id)
    facts = clear_facts(**case.facts)
    decision = screen(facts, RULESET)
    [reason] = [reason for reason in decision.reasons if reason.rule_id == rule.id]
    assert reason.needs_answers is False
    assert reason.severity is rule.outcome
    assert reason.message == rule.message
    assert reason.source == rule.source
    assert reason.rule_version == rule.version
    expected_recheck = (
        facts.screened_on + dt.timedelta(days=rule.recheck_days) if rule.recheck_days else None
    )
    assert reason.recheck_on == expected_recheck
    assert decision.outcome.rank >= rule.outcome.rank


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if not case.triggers],
    ids=lambda case: f"{case.rule_id}: {case.label}",
)
def test_rule_stays_silent(case: Case) -> None:
    assert reasons_of(case.rule_id, case.facts) == []


def _asking_rules() -> list[Rule]:
    return [rule for rule in RULESET.rules if rule.when_unknown == "ask"]


@pytest.mark.parametrize("rule", _asking_rules(), ids=lambda rule: rule.id)
def test_rule_asks_for_every_missing_answer(rule: Rule) -> None:
    """With none of its answers, the rule defers with "Answer ... first", never eligible."""
    facts = clear_facts(**first_trigger(rule).facts)
    for name in rule.facts():
        facts = with_fact(facts, name, None)
    decision = screen(facts, RULESET)
    [reason] = [reason for reason in decision.reasons if reason.rule_id == rule.id]
    assert reason.severity is Outcome.DEFER
    assert reason.needs_answers
    assert reason.message.startswith("Answer ")
    assert f" first. Needed for: {rule.title}." in reason.message
    for name in rule.facts():
        assert FACTS[name].question in reason.message
    assert set(reason.missing_facts) == {FACTS[name].asks_for for name in rule.facts()}
    assert set(reason.missing_facts) <= set(decision.missing_facts)
    assert decision.outcome.rank >= Outcome.DEFER.rank
    assert reason.recheck_on is None


@pytest.mark.parametrize(
    ("rule", "fact"),
    [(rule, name) for rule in _asking_rules() for name in rule.facts()],
    ids=lambda value: value.id if isinstance(value, Rule) else value,
)
def test_one_missing_answer_never_silences_a_rule(rule: Rule, fact: str) -> None:
    """From a case that triggers, forgetting one answer keeps the rule or makes it ask."""
    facts = with_fact(clear_facts(**first_trigger(rule).facts), fact, None)
    [reason] = [reason for reason in screen(facts, RULESET).reasons if reason.rule_id == rule.id]
    if reason.needs_answers:
        assert FACTS[fact].asks_for in reason.missing_facts
        assert reason.message.startswith("Answer ")
    else:
        assert reason.severity is rule.outcome


def test_rules_ask_only_for_answers_that_matter() -> None:
    """A man is not asked about pregnancy; a woman is not asked about semen analysis."""
    man = clear_facts(ingredients=["dutasteride"], pregnant=None, breastfeeding=None)
    man = with_fact(man, "could_become_pregnant", None)
    assert screen(man, RULESET).outcome is Outcome.ELIGIBLE
    woman = clear_facts(
        sex_at_birth="female",
        ingredients=["dutasteride"],
        known_abnormal_semen_analysis=None,
        erectile_or_ejaculatory_dysfunction=None,
    )
    assert screen(woman, RULESET).missing_facts == ()


def test_a_pregnancy_answer_with_unknown_sex_asks_for_the_sex() -> None:
    facts = clear_facts(sex_at_birth=None, pregnant=True, ingredients=["dutasteride"])
    decision = screen(facts, RULESET)
    assert "sex_at_birth" in decision.missing_facts
    assert decision.outcome is Outcome.DEFER


def test_consistency_rules_are_the_only_ones_that_skip_unknowns() -> None:
    skipping = {rule.id for rule in RULESET.rules if rule.when_unknown == "skip"}
    assert skipping == {rule_id for rule_id in RULE_IDS if rule_id.startswith("consistency.")}
