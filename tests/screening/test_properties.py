"""Properties of the engine over generated patients (hypothesis).

Monotonicity is stated against what a rule can know:

- a "no" turned into a "yes" never makes the decision more permissive (the issue's
  "adding a contraindication");
- a "no" turned into "not answered" never does either (unknown is never safer than no);
- "not answered" turned into "yes" never does, once the deferral that only asked for that
  answer is set aside: answering a precaution question ("does the patient smoke?" "yes")
  rightly lifts "answer first" to "eligible with precautions".
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.screening.rules import (
    HairLossAssessment,
    IntakeAnswers,
    Outcome,
    ProtocolKind,
    ScreeningFacts,
    facts_from_dict,
    facts_to_dict,
    latest_ruleset,
    screen,
    strictest,
)
from tests.screening.builders import INGREDIENT_CODES, INTAKE_BOOLEANS, RISK_FACTS, with_fact

RULESET = latest_ruleset()

# Two kinds of patient: a few answers away from "all no" (so one change shows in the
# outcome), and anything at all. Hypothesis shrinks towards the first value: "no", "male".
answers = st.sampled_from([False, True, None])
codes = st.frozensets(st.sampled_from(INGREDIENT_CODES), max_size=4)
near_clear_changes = st.dictionaries(
    st.sampled_from(INTAKE_BOOLEANS), st.sampled_from([True, None]), max_size=2
)


@st.composite
def screening_facts(draw: st.DrawFn) -> ScreeningFacts:
    sex: Any
    screened_on = draw(st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
    if draw(st.booleans()):
        given_answers = {name: False for name in INTAKE_BOOLEANS} | draw(near_clear_changes)
        allergen_codes = draw(st.sampled_from([frozenset(), frozenset(), None]) | codes)
        scarring = draw(st.sampled_from([False, False, False, True, None]))
        age = draw(st.sampled_from([40, 40, 40, 17, 18, None]))
        sex = draw(st.sampled_from(["male", "male", "male", "female", "intersex", None]))
        ingredients = draw(st.frozensets(st.sampled_from(INGREDIENT_CODES), max_size=2))
    else:
        given_answers = {name: draw(answers) for name in INTAKE_BOOLEANS}
        allergen_codes = draw(st.none() | codes)
        scarring = draw(answers)
        age = draw(st.none() | st.integers(0, 100))
        sex = draw(st.sampled_from(["male", "female", "intersex", None]))
        ingredients = draw(codes)
    assessment = draw(
        st.builds(
            HairLossAssessment,
            assessed_on=st.dates(screened_on - dt.timedelta(days=365), screened_on),
            scarring_alopecia_signs=st.just(scarring),
        )
        | st.none()
    )
    return ScreeningFacts(
        screened_on=screened_on,
        protocol_kind=draw(st.sampled_from(ProtocolKind)),
        ingredients=ingredients,
        sex_at_birth=sex,
        age_years=age,
        intake=IntakeAnswers(**given_answers, allergen_codes=allergen_codes),
        assessment=assessment,
    )


def rank(facts: ScreeningFacts) -> int:
    return screen(facts, RULESET).outcome.rank


@settings(max_examples=150)
@given(screening_facts())
def test_a_yes_instead_of_a_no_never_makes_the_decision_more_permissive(
    facts: ScreeningFacts,
) -> None:
    for fact in RISK_FACTS:
        assert rank(with_fact(facts, fact, True)) >= rank(with_fact(facts, fact, False)), fact


@settings(max_examples=150)
@given(screening_facts())
def test_an_unanswered_question_is_never_more_permissive_than_a_no(
    facts: ScreeningFacts,
) -> None:
    for fact in RISK_FACTS:
        assert rank(with_fact(facts, fact, None)) >= rank(with_fact(facts, fact, False)), fact


@settings(max_examples=150)
@given(screening_facts())
def test_answering_yes_only_lifts_the_deferral_that_asked_for_the_answer(
    facts: ScreeningFacts,
) -> None:
    for fact in RISK_FACTS:
        before = screen(with_fact(facts, fact, None), RULESET)
        after = screen(with_fact(facts, fact, True), RULESET)
        still_standing = strictest(
            reason.severity for reason in before.reasons if fact not in reason.missing_facts
        )
        assert after.outcome.rank >= still_standing.rank, fact
        if before.outcome.rank > Outcome.DEFER.rank:
            assert after.outcome.rank >= before.outcome.rank, fact


@settings(max_examples=200)
@given(screening_facts())
def test_adding_an_ingredient_never_makes_the_decision_more_permissive(
    facts: ScreeningFacts,
) -> None:
    for code in INGREDIENT_CODES:
        more = with_fact(facts, "ingredients", facts.ingredients | {code})
        assert rank(more) >= rank(facts), code


@settings(max_examples=200)
@given(screening_facts())
def test_a_combined_protocol_is_at_least_as_strict_as_either_part(facts: ScreeningFacts) -> None:
    combined = rank(with_fact(facts, "protocol_kind", "combined"))
    assert combined >= rank(with_fact(facts, "protocol_kind", "mesotherapy"))
    assert combined >= rank(with_fact(facts, "protocol_kind", "prp"))


@settings(max_examples=200)
@given(screening_facts())
def test_the_decision_is_deterministic(facts: ScreeningFacts) -> None:
    first = screen(facts, RULESET).to_dict()
    second = screen(facts, RULESET).to_dict()
    assert first == second
    rebuilt = facts_from_dict(json.loads(json.dumps(facts_to_dict(facts))))
    assert screen(rebuilt, RULESET).to_dict() == first


@settings(max_examples=200)
@given(screening_facts())
def test_facts_round_trip_through_to_dict_and_from_dict(facts: ScreeningFacts) -> None:
    data: dict[str, Any] = json.loads(json.dumps(facts_to_dict(facts)))
    assert facts_from_dict(data) == facts
    assert facts_to_dict(facts_from_dict(data)) == data


@settings(max_examples=200)
@given(screening_facts())
def test_the_decision_agrees_with_its_reasons(facts: ScreeningFacts) -> None:
    decision = screen(facts, RULESET)
    assert decision.outcome is strictest(reason.severity for reason in decision.reasons)
    keys = [(-reason.severity.rank, reason.rule_id) for reason in decision.reasons]
    assert keys == sorted(keys)
    assert len({reason.rule_id for reason in decision.reasons}) == len(decision.reasons)
    asked = {name for reason in decision.reasons for name in reason.missing_facts}
    assert decision.missing_facts == tuple(sorted(asked))
    if decision.missing_facts:
        assert decision.outcome.rank >= Outcome.DEFER.rank
    if decision.recheck_on is not None:
        assert decision.outcome is Outcome.DEFER
        assert decision.recheck_on > decision.screened_on
    json.dumps(decision.to_dict())
