"""Facts for screening tests: a patient with every question answered "no", then changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from mesoclinic.screening.rules import (
    HairLossAssessment,
    IntakeAnswers,
    ProtocolKind,
    ScreeningFacts,
)

SCREENED_ON = dt.date(2026, 11, 20)
ASSESSED_ON = dt.date(2026, 11, 13)

# The yes/no intake answers, and every fact a rule can treat as a risk when it is true.
INTAKE_BOOLEANS = tuple(
    fld.name for fld in dataclasses.fields(IntakeAnswers) if fld.name != "allergen_codes"
)
RISK_FACTS = (*INTAKE_BOOLEANS, "scarring_alopecia_signs")

# Ingredient codes the tests draw formulations and allergies from.
INGREDIENT_CODES = (
    "dutasteride",
    "finasteride",
    "minoxidil",
    "lidocaine",
    "procaine",
    "vitamin_b_complex",
    "hyaluronic_acid",
    "growth_factors",
    "biotin",
)

ALL_NO = IntakeAnswers(
    **{name: False for name in INTAKE_BOOLEANS},
    allergen_codes=frozenset(),
)


def clear_facts(**changes: Any) -> ScreeningFacts:
    """An adult male patient with every answer "no", for plain mesotherapy, with ``changes``.

    ``changes`` may name any field of ``ScreeningFacts`` (``protocol_kind`` as a string,
    ``ingredients`` as any iterable), any intake answer, or ``scarring_alopecia_signs``.
    """
    facts = ScreeningFacts(
        screened_on=SCREENED_ON,
        protocol_kind=ProtocolKind.MESOTHERAPY,
        sex_at_birth="male",
        age_years=40,
        intake=ALL_NO,
        assessment=HairLossAssessment(assessed_on=ASSESSED_ON, scarring_alopecia_signs=False),
    )
    for name, value in changes.items():
        facts = with_fact(facts, name, value)
    return facts


def with_fact(facts: ScreeningFacts, name: str, value: Any) -> ScreeningFacts:
    """``facts`` with one fact changed; a rule fact's name sets what it is read from."""
    if name == "protocol_kind":
        return dataclasses.replace(facts, protocol_kind=ProtocolKind(value))
    if name == "ingredients":
        return dataclasses.replace(facts, ingredients=frozenset(value))
    if name in {"screened_on", "sex_at_birth", "age_years", "assessment"}:
        return dataclasses.replace(facts, **{name: value})
    if name == "scarring_alopecia_signs":
        assessment = facts.assessment or HairLossAssessment(assessed_on=facts.screened_on)
        return dataclasses.replace(
            facts,
            assessment=dataclasses.replace(assessment, scarring_alopecia_signs=value),
        )
    if name == "allergic_to_planned_ingredient":
        # The derived fact is read from the allergy list; only "unknown" can be set directly.
        assert value is None
        name = "allergen_codes"
    if name == "allergen_codes" and value is not None:
        value = frozenset(value)
    return dataclasses.replace(facts, intake=dataclasses.replace(facts.intake, **{name: value}))
