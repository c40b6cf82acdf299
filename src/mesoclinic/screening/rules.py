"""The screening rules engine: a patient's facts and a rule set in, a decision with reasons out.

Pure Python with no Django import, so the rules are tested without a database and a stored
decision can be reproduced from its stored facts and rule-set version.

How a rule is evaluated:

- A rule applies when the planned protocol includes one of its treatment kinds and, if it
  names ingredients, the formulation contains one of them. Rules that do not apply say nothing.
- Its condition is evaluated in three-valued logic: an unanswered fact (``None``) is unknown,
  ``all`` is false as soon as one part is false, ``any`` is true as soon as one part is true.
  So a rule asks only for the answers that could change its result: a patient male at birth
  is not asked about pregnancy by a rule about people who can be pregnant.
- True: the rule imposes its outcome. False: nothing. Unknown: the rule defers with
  "Answer ... first" and lists the facts it needs, never a silent "eligible". Only the
  ``consistency.*`` rules, which check answers against each other, may skip unknowns.
- The decision is the strictest outcome among the reasons (``eligible`` when there are none).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, Literal, cast

__all__ = [
    "FACTS",
    "Decision",
    "FactsError",
    "HairLossAssessment",
    "IntakeAnswers",
    "Outcome",
    "ProtocolKind",
    "Reason",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "ScreeningFacts",
    "Source",
    "available_versions",
    "facts_from_dict",
    "facts_to_dict",
    "latest_ruleset",
    "load_ruleset",
    "parse_ruleset",
    "screen",
    "strictest",
]


class Outcome(StrEnum):
    """What the screening allows, from most to least permissive."""

    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
    DEFER = "defer"
    REFER = "refer"
    NOT_ELIGIBLE = "not_eligible"

    @property
    def rank(self) -> int:
        """0 for ``eligible`` up to 4 for ``not_eligible``; a higher rank is stricter."""
        return _OUTCOME_ORDER.index(self)


_OUTCOME_ORDER = tuple(Outcome)


def strictest(outcomes: Iterable[Outcome]) -> Outcome:
    """The strictest of ``outcomes``; ``eligible`` when there are none."""
    return max(outcomes, key=lambda outcome: outcome.rank, default=Outcome.ELIGIBLE)


class ProtocolKind(StrEnum):
    """The kind of the planned protocol. A combined protocol gets both kinds' rules."""

    MESOTHERAPY = "mesotherapy"
    PRP = "prp"
    COMBINED = "combined"

    @property
    def treatments(self) -> frozenset[str]:
        """The treatment kinds a rule's ``protocol_kinds`` is matched against."""
        if self is ProtocolKind.COMBINED:
            return frozenset({ProtocolKind.MESOTHERAPY.value, ProtocolKind.PRP.value})
        return frozenset({self.value})


SexAtBirth = Literal["female", "male", "intersex"]
SEXES_AT_BIRTH: tuple[str, ...] = ("female", "male", "intersex")
OLDEST_AGE_YEARS = 130
_CODE = re.compile(r"[a-z][a-z0-9_]*")


class FactsError(ValueError):
    """Facts that cannot be screened: a wrong type, an unknown name or a contradictory date."""


@dataclass(frozen=True)
class IntakeAnswers:
    """The intake questionnaire's answers. ``None`` means not answered (unknown).

    ``allergen_codes`` holds the ingredient codes the patient is allergic to; an empty set
    means "no known allergy", ``None`` means not asked.
    """

    # Pregnancy. Asked of patients female or intersex at birth; "planning a pregnancy" is
    # asked of everyone (with a partner, for a patient male at birth).
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    could_become_pregnant: bool | None = None
    planning_pregnancy: bool | None = None
    # Hair-loss history.
    sudden_diffuse_shedding: bool | None = None
    # Medical history.
    bleeding_or_platelet_disorder: bool | None = None
    platelet_dysfunction_syndrome: bool | None = None
    critical_thrombocytopenia: bool | None = None
    anticoagulant_or_antiplatelet: bool | None = None
    nsaid_last_48h: bool | None = None
    systemic_steroids_last_2_weeks: bool | None = None
    steroid_injection_at_site_last_month: bool | None = None
    recent_fever_or_illness: bool | None = None
    sepsis_or_haemodynamic_instability: bool | None = None
    autoimmune_disease: bool | None = None
    active_cancer_or_chemotherapy: bool | None = None
    blood_or_bone_cancer: bool | None = None
    diabetes: bool | None = None
    chronic_liver_disease: bool | None = None
    heart_failure: bool | None = None
    kidney_disease: bool | None = None
    smokes_tobacco: bool | None = None
    erectile_or_ejaculatory_dysfunction: bool | None = None
    known_abnormal_semen_analysis: bool | None = None
    # Allergies.
    allergy_local_anaesthetic: bool | None = None
    allergen_codes: frozenset[str] | None = None
    # Scalp.
    scalp_infection: bool | None = None
    scalp_folliculitis: bool | None = None
    scalp_psoriasis: bool | None = None
    seborrhoeic_dermatitis: bool | None = None
    scars_in_treatment_area: bool | None = None

    def __post_init__(self) -> None:
        for fld in dataclasses.fields(self):
            value = getattr(self, fld.name)
            if fld.name == "allergen_codes":
                if value is not None:
                    object.__setattr__(self, fld.name, _codes(value, where=f"intake.{fld.name}"))
            elif value is not None and not isinstance(value, bool):
                raise FactsError(f"intake.{fld.name} must be true, false or null, not {value!r}.")


_QUESTIONS: dict[str, str] = {
    "pregnant": "whether the patient is pregnant",
    "breastfeeding": "whether the patient is breastfeeding",
    "could_become_pregnant": "whether the patient could become pregnant",
    "planning_pregnancy": (
        "whether the patient is planning a pregnancy (or trying for one with a partner)"
    ),
    "sudden_diffuse_shedding": "whether the patient reports sudden diffuse shedding",
    "bleeding_or_platelet_disorder": "whether the patient has a bleeding or platelet disorder",
    "platelet_dysfunction_syndrome": "whether the patient has a platelet dysfunction syndrome",
    "critical_thrombocytopenia": (
        "whether the patient has critical thrombocytopenia (a very low platelet count)"
    ),
    "anticoagulant_or_antiplatelet": (
        "whether the patient takes an anticoagulant or antiplatelet drug"
    ),
    "nsaid_last_48h": "whether the patient took an NSAID in the last 48 hours",
    "systemic_steroids_last_2_weeks": (
        "whether the patient took systemic steroids in the last 2 weeks"
    ),
    "steroid_injection_at_site_last_month": (
        "whether the patient had a steroid injection in the scalp in the last month"
    ),
    "recent_fever_or_illness": "whether the patient has had a recent fever or illness",
    "sepsis_or_haemodynamic_instability": (
        "whether the patient has septicaemia or is haemodynamically unstable"
    ),
    "autoimmune_disease": "whether the patient has an autoimmune disease",
    "active_cancer_or_chemotherapy": "whether the patient has active cancer or is on chemotherapy",
    "blood_or_bone_cancer": "whether the patient has ever had a blood or bone cancer",
    "diabetes": "whether the patient has diabetes",
    "chronic_liver_disease": "whether the patient has chronic liver disease",
    "heart_failure": "whether the patient has heart failure",
    "kidney_disease": "whether the patient has kidney disease",
    "smokes_tobacco": "whether the patient smokes or uses tobacco",
    "erectile_or_ejaculatory_dysfunction": (
        "whether the patient has erectile or ejaculatory dysfunction"
    ),
    "known_abnormal_semen_analysis": "whether the patient has had an abnormal semen analysis",
    "allergy_local_anaesthetic": "whether the patient is allergic to local anaesthetics",
    "allergen_codes": "which formulation ingredients, if any, the patient is allergic to",
    "scalp_infection": "whether the patient has an active scalp infection",
    "scalp_folliculitis": "whether the patient has folliculitis of the scalp",
    "scalp_psoriasis": "whether the patient has psoriasis of the scalp",
    "seborrhoeic_dermatitis": "whether the patient has seborrhoeic dermatitis of the scalp",
    "scars_in_treatment_area": "whether there are scars in the area to be treated",
}


@dataclass(frozen=True)
class HairLossAssessment:
    """The facts the rules need from the latest hair-loss assessment."""

    assessed_on: dt.date
    scarring_alopecia_signs: bool | None = None

    def __post_init__(self) -> None:
        _check_date(self.assessed_on, where="assessment.assessed_on")
        if self.scarring_alopecia_signs is not None and not isinstance(
            self.scarring_alopecia_signs, bool
        ):
            raise FactsError("assessment.scarring_alopecia_signs must be true, false or null.")


@dataclass(frozen=True)
class ScreeningFacts:
    """Everything a screening looks at, as it stood on ``screened_on``."""

    screened_on: dt.date
    protocol_kind: ProtocolKind
    ingredients: frozenset[str] = frozenset()
    sex_at_birth: SexAtBirth | None = None
    age_years: int | None = None
    intake: IntakeAnswers = IntakeAnswers()
    assessment: HairLossAssessment | None = None

    def __post_init__(self) -> None:
        _check_date(self.screened_on, where="screened_on")
        try:
            object.__setattr__(self, "protocol_kind", ProtocolKind(self.protocol_kind))
        except ValueError:
            raise FactsError(
                f"protocol_kind must be one of {', '.join(ProtocolKind)}, "
                f"not {self.protocol_kind!r}."
            ) from None
        object.__setattr__(self, "ingredients", _codes(self.ingredients, where="ingredients"))
        if self.sex_at_birth is not None and self.sex_at_birth not in SEXES_AT_BIRTH:
            raise FactsError(
                f"sex_at_birth must be one of {', '.join(SEXES_AT_BIRTH)} or null (not recorded), "
                f"not {self.sex_at_birth!r}."
            )
        if self.age_years is not None and (
            isinstance(self.age_years, bool)
            or not isinstance(self.age_years, int)
            or not 0 <= self.age_years <= OLDEST_AGE_YEARS
        ):
            raise FactsError(
                f"age_years must be a whole number from 0 to {OLDEST_AGE_YEARS} or null, "
                f"not {self.age_years!r}."
            )
        if not isinstance(self.intake, IntakeAnswers):
            raise FactsError("intake must be IntakeAnswers.")
        if self.assessment is not None:
            if not isinstance(self.assessment, HairLossAssessment):
                raise FactsError("assessment must be a HairLossAssessment or null.")
            if self.assessment.assessed_on > self.screened_on:
                raise FactsError(
                    f"The assessment ({self.assessment.assessed_on.isoformat()}) is dated after "
                    f"the screening ({self.screened_on.isoformat()})."
                )


def _check_date(value: object, *, where: str) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise FactsError(f"{where} must be a date, not {value!r}.")


def _codes(value: object, *, where: str) -> frozenset[str]:
    if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
        raise FactsError(f"{where} must be a list of ingredient codes, not {value!r}.")
    items = list(value)
    for code in items:
        # Checked before hashing: a nested list would raise TypeError, not FactsError.
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise FactsError(
                f"{where}: {code!r} is not an ingredient code (lower-case letters, digits and _)."
            )
    return frozenset(items)


# --- Facts the rules can name ---------------------------------------------------------------

FactKind = Literal["bool", "int", "choice"]
FactValue = bool | int | str | None


@dataclass(frozen=True)
class FactSpec:
    """A fact a rule's condition can test, how to read it, and how to ask for it."""

    name: str
    kind: FactKind
    question: str
    read: Callable[[ScreeningFacts], FactValue]
    choices: tuple[str, ...] = ()
    # The stored answer to ask for when this fact is unknown (differs for derived facts).
    asks_for: str = ""


def _intake_reader(name: str) -> Callable[[ScreeningFacts], FactValue]:
    def read(facts: ScreeningFacts) -> FactValue:
        value: FactValue = getattr(facts.intake, name)
        return value

    return read


def _scarring_signs(facts: ScreeningFacts) -> FactValue:
    return None if facts.assessment is None else facts.assessment.scarring_alopecia_signs


def _allergic_to_planned_ingredient(facts: ScreeningFacts) -> FactValue:
    if not facts.ingredients:
        return False  # nothing in the formulation to be allergic to
    if facts.intake.allergen_codes is None:
        return None
    return bool(facts.intake.allergen_codes & facts.ingredients)


def _build_fact_specs() -> dict[str, FactSpec]:
    specs = [
        FactSpec(
            "sex_at_birth",
            "choice",
            "the patient's sex at birth",
            lambda facts: facts.sex_at_birth,
            choices=SEXES_AT_BIRTH,
        ),
        FactSpec("age_years", "int", "the patient's age", lambda facts: facts.age_years),
        FactSpec(
            "scarring_alopecia_signs",
            "bool",
            "whether the hair-loss assessment found signs of scarring alopecia",
            _scarring_signs,
        ),
        FactSpec(
            "allergic_to_planned_ingredient",
            "bool",
            "which formulation ingredients, if any, the patient is allergic to",
            _allergic_to_planned_ingredient,
            asks_for="allergen_codes",
        ),
    ]
    for fld in dataclasses.fields(IntakeAnswers):
        if fld.name != "allergen_codes":
            specs.append(FactSpec(fld.name, "bool", _QUESTIONS[fld.name], _intake_reader(fld.name)))
    return {
        spec.name: dataclasses.replace(spec, asks_for=spec.asks_for or spec.name) for spec in specs
    }


FACTS: Mapping[str, FactSpec] = _build_fact_specs()


# --- Conditions -----------------------------------------------------------------------------

Truth = bool | None  # None: unknown, because an answer the condition needs is missing
Comparison = Literal["is", "in", "lt", "le", "gt", "ge"]
_COMPARISONS_BY_KIND: dict[FactKind, frozenset[str]] = {
    "bool": frozenset({"is"}),
    "choice": frozenset({"in"}),
    "int": frozenset({"lt", "le", "gt", "ge"}),
}


@dataclass(frozen=True)
class FactTest:
    fact: str
    op: Comparison
    value: bool | int | tuple[str, ...]

    def evaluate(self, values: Mapping[str, FactValue]) -> tuple[Truth, frozenset[str]]:
        actual = values[self.fact]
        if actual is None:
            return None, frozenset({self.fact})
        match self.op:
            case "is":
                return actual == self.value, frozenset()
            case "in":
                assert isinstance(self.value, tuple)
                return actual in self.value, frozenset()
        assert isinstance(actual, int) and isinstance(self.value, int)
        compared = {
            "lt": actual < self.value,
            "le": actual <= self.value,
            "gt": actual > self.value,
            "ge": actual >= self.value,
        }[self.op]
        return compared, frozenset()

    def facts(self) -> tuple[str, ...]:
        return (self.fact,)


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def evaluate(self, values: Mapping[str, FactValue]) -> tuple[Truth, frozenset[str]]:
        missing: set[str] = set()
        for part in self.parts:
            truth, part_missing = part.evaluate(values)
            if truth is False:
                return False, frozenset()
            missing |= part_missing
        return (None, frozenset(missing)) if missing else (True, frozenset())

    def facts(self) -> tuple[str, ...]:
        return _in_order(name for part in self.parts for name in part.facts())


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def evaluate(self, values: Mapping[str, FactValue]) -> tuple[Truth, frozenset[str]]:
        missing: set[str] = set()
        for part in self.parts:
            truth, part_missing = part.evaluate(values)
            if truth is True:
                return True, frozenset()
            missing |= part_missing
        return (None, frozenset(missing)) if missing else (False, frozenset())

    def facts(self) -> tuple[str, ...]:
        return _in_order(name for part in self.parts for name in part.facts())


Condition = FactTest | AllOf | AnyOf


def _in_order(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


# --- Rules and rule sets --------------------------------------------------------------------


class RuleSetError(ValueError):
    """A rule set file that cannot be used; the message names the rule and the problem."""


@dataclass(frozen=True)
class Source:
    """What a rule rests on. ``text`` says plainly how strong it is; ``url`` may be absent."""

    text: str
    url: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"text": self.text, "url": self.url}


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    title: str
    protocol_kinds: frozenset[str]  # empty: every kind
    ingredients: frozenset[str]  # empty: whatever the formulation
    condition: Condition
    outcome: Outcome
    message: str
    source: Source
    recheck_days: int | None = None
    # "ask": an unknown fact defers with "Answer ... first". "skip": unknown means not
    # triggered; only for consistency checks between answers that other rules ask for.
    when_unknown: Literal["ask", "skip"] = "ask"

    def applies_to(self, facts: ScreeningFacts) -> bool:
        if self.protocol_kinds and not self.protocol_kinds & facts.protocol_kind.treatments:
            return False
        return not self.ingredients or bool(self.ingredients & facts.ingredients)

    def facts(self) -> tuple[str, ...]:
        """The names of the facts this rule's condition tests, in the order it tests them."""
        return self.condition.facts()


@dataclass(frozen=True)
class RuleSet:
    version: str
    description: str
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


_VERSION = re.compile(r"\d{4}-\d{2}-\d+")
_RULE_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_RULE_KEYS = {
    "id",
    "version",
    "title",
    "applies_to",
    "condition",
    "outcome",
    "message",
    "recheck_days",
    "source",
    "when_unknown",
}
_REQUIRED_RULE_KEYS = _RULE_KEYS - {"recheck_days", "when_unknown"}
_RULE_OUTCOMES = tuple(outcome.value for outcome in Outcome if outcome is not Outcome.ELIGIBLE)
_RULE_KINDS = (ProtocolKind.MESOTHERAPY.value, ProtocolKind.PRP.value)


def parse_ruleset(data: object) -> RuleSet:
    """Check a rule set read from JSON and build it; raise ``RuleSetError`` on any problem."""
    if not isinstance(data, dict):
        raise RuleSetError("A rule set must be a JSON object.")
    _check_keys(
        data,
        allowed={"version", "description", "rules"},
        required={"version", "rules"},
        where="rule set",
    )
    version = data["version"]
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise RuleSetError(f"Rule set version {version!r} is not of the form YYYY-MM-N.")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise RuleSetError("The rule set's description must be text.")
    raw_rules = data["rules"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleSetError("A rule set needs a non-empty list of rules.")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, where=f"rule {index + 1}")
        if rule.id in seen:
            raise RuleSetError(f"Rule {rule.id}: the id is used twice.")
        seen.add(rule.id)
        rules.append(rule)
    return RuleSet(version=version, description=description, rules=tuple(rules))


def _check_keys(
    data: Mapping[str, object], *, allowed: set[str], required: set[str], where: str
) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RuleSetError(f"{where}: unknown key(s) {', '.join(unknown)}.")
    absent = sorted(required - set(data))
    if absent:
        raise RuleSetError(f"{where}: missing key(s) {', '.join(absent)}.")


def _text(value: object, *, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleSetError(f"{where} must be non-empty text.")
    return value


def _parse_rule(raw: object, *, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleSetError(f"{where} must be a JSON object.")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
        raise RuleSetError(f"{where}: id {rule_id!r} must look like group.name (lower case).")
    where = f"Rule {rule_id}"
    _check_keys(raw, allowed=_RULE_KEYS, required=_REQUIRED_RULE_KEYS, where=where)
    version = raw["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RuleSetError(f"{where}: version must be a whole number from 1.")
    outcome = raw["outcome"]
    if outcome not in _RULE_OUTCOMES:
        raise RuleSetError(
            f"{where}: unknown outcome {outcome!r}; "
            f"a rule imposes one of {', '.join(_RULE_OUTCOMES)}."
        )
    recheck_days = raw.get("recheck_days")
    if recheck_days is not None:
        if isinstance(recheck_days, bool) or not isinstance(recheck_days, int) or recheck_days < 1:
            raise RuleSetError(f"{where}: recheck_days must be a whole number of days from 1.")
        if outcome != Outcome.DEFER:
            raise RuleSetError(f"{where}: recheck_days only makes sense for a defer rule.")
    when_unknown = raw.get("when_unknown", "ask")
    if when_unknown not in ("ask", "skip"):
        raise RuleSetError(f"{where}: when_unknown must be 'ask' or 'skip'.")
    if when_unknown == "skip" and not rule_id.startswith("consistency."):
        raise RuleSetError(
            f"{where}: only consistency.* rules may skip unknown answers; a clinical rule "
            "must ask for what it needs."
        )
    protocol_kinds, ingredients = _parse_applies_to(raw["applies_to"], where=where)
    source = raw["source"]
    if not isinstance(source, dict):
        raise RuleSetError(f"{where}: source must be an object with text and url.")
    _check_keys(source, allowed={"text", "url"}, required={"text", "url"}, where=f"{where} source")
    url = source["url"]
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("https://", "http://"))
    ):
        raise RuleSetError(f"{where}: source url must be an http(s) address or null.")
    return Rule(
        id=rule_id,
        version=version,
        title=_text(raw["title"], where=f"{where}: title"),
        protocol_kinds=protocol_kinds,
        ingredients=ingredients,
        condition=_parse_condition(raw["condition"], where=f"{where} condition"),
        outcome=Outcome(outcome),
        message=_text(raw["message"], where=f"{where}: message"),
        source=Source(text=_text(source["text"], where=f"{where}: source text"), url=url),
        recheck_days=recheck_days,
        when_unknown=when_unknown,
    )


def _parse_applies_to(raw: object, *, where: str) -> tuple[frozenset[str], frozenset[str]]:
    if not isinstance(raw, dict):
        raise RuleSetError(f"{where}: applies_to must be an object.")
    _check_keys(
        raw, allowed={"protocol_kinds", "ingredients"}, required=set(), where=f"{where} applies_to"
    )
    kinds = raw.get("protocol_kinds", [])
    if not isinstance(kinds, list) or any(kind not in _RULE_KINDS for kind in kinds):
        raise RuleSetError(
            f"{where}: protocol_kinds must list {' and/or '.join(_RULE_KINDS)} "
            "(a combined protocol gets the rules of both)."
        )
    ingredients = raw.get("ingredients", [])
    if not isinstance(ingredients, list) or not all(
        isinstance(code, str) and _CODE.fullmatch(code) for code in ingredients
    ):
        raise RuleSetError(f"{where}: ingredients must be a list of ingredient codes.")
    return frozenset(kinds), frozenset(ingredients)


def _parse_condition(raw: object, *, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise RuleSetError(f"{where} must be an object.")
    for combinator in ("all", "any"):
        if combinator in raw:
            if len(raw) != 1:
                raise RuleSetError(f"{where}: '{combinator}' takes no other keys.")
            parts = raw[combinator]
            if not isinstance(parts, list) or not parts:
                raise RuleSetError(f"{where}: '{combinator}' needs a non-empty list.")
            parsed = tuple(
                _parse_condition(part, where=f"{where} > {combinator}[{index}]")
                for index, part in enumerate(parts)
            )
            return AllOf(parsed) if combinator == "all" else AnyOf(parsed)
    if "fact" not in raw:
        raise RuleSetError(f"{where}: expected 'all', 'any' or 'fact', got {sorted(raw)}.")
    name = raw["fact"]
    spec = FACTS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise RuleSetError(f"{where}: unknown fact {name!r}.")
    ops = sorted(set(raw) - {"fact"})
    if len(ops) != 1:
        raise RuleSetError(f"{where}: a fact test needs exactly one operator, got {ops}.")
    op = ops[0]
    allowed = _COMPARISONS_BY_KIND[spec.kind]
    if op not in allowed:
        raise RuleSetError(
            f"{where}: unknown operator {op!r} for fact {name!r}; use {', '.join(sorted(allowed))}."
        )
    value = raw[op]
    if op == "is":
        if not isinstance(value, bool):
            raise RuleSetError(f"{where}: 'is' takes true or false.")
        return FactTest(name, "is", value)
    if op == "in":
        if not isinstance(value, list) or not value or any(v not in spec.choices for v in value):
            raise RuleSetError(
                f"{where}: 'in' takes a non-empty list of {', '.join(spec.choices)}."
            )
        return FactTest(name, "in", tuple(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleSetError(f"{where}: {op!r} takes a whole number.")
    return FactTest(name, cast(Comparison, op), value)


_RULESETS = "rulesets"


def available_versions() -> tuple[str, ...]:
    """The versions of the rule sets shipped in the package, oldest first."""
    folder = resources.files(__package__ or "mesoclinic.screening") / _RULESETS
    versions = [
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json") and _VERSION.fullmatch(entry.name.removesuffix(".json"))
    ]
    return tuple(sorted(versions, key=_version_key))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-"))


@functools.cache
def load_ruleset(version: str) -> RuleSet:
    """The shipped rule set ``version``; ``RuleSetError`` if there is none or it is invalid."""
    if not _VERSION.fullmatch(version) or version not in available_versions():
        raise RuleSetError(
            f"No rule set {version!r}; shipped: {', '.join(available_versions()) or 'none'}."
        )
    folder = resources.files(__package__ or "mesoclinic.screening") / _RULESETS
    text = (folder / f"{version}.json").read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"Rule set {version} is not valid JSON: {exc}.") from None
    ruleset = parse_ruleset(data)
    if ruleset.version != version:
        raise RuleSetError(
            f"The file {version}.json says it is version {ruleset.version}; they must match."
        )
    return ruleset


def latest_ruleset() -> RuleSet:
    """The newest shipped rule set."""
    versions = available_versions()
    if not versions:
        raise RuleSetError("No rule set is shipped.")
    return load_ruleset(versions[-1])


# --- The decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One rule's say in a decision: its outcome imposed, or the answers it needs first."""

    rule_id: str
    rule_version: int
    title: str
    severity: Outcome
    message: str
    source: Source
    missing_facts: tuple[str, ...] = ()  # non-empty: the rule could not decide
    recheck_on: dt.date | None = None

    @property
    def needs_answers(self) -> bool:
        return bool(self.missing_facts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "title": self.title,
            "severity": self.severity.value,
            "message": self.message,
            "source": self.source.to_dict(),
            "missing_facts": list(self.missing_facts),
            "recheck_on": _iso(self.recheck_on),
        }


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    rule_set_version: str
    screened_on: dt.date
    recheck_on: dt.date | None = None
    missing_facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "rule_set_version": self.rule_set_version,
            "screened_on": self.screened_on.isoformat(),
            "recheck_on": _iso(self.recheck_on),
            "missing_facts": list(self.missing_facts),
            "reasons": [reason.to_dict() for reason in self.reasons],
        }


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _answer_first(rule: Rule, missing: frozenset[str]) -> str:
    questions = _in_order(FACTS[name].question for name in rule.facts() if name in missing)
    listed = questions[-1]
    if len(questions) > 1:
        listed = ", ".join(questions[:-1]) + " and " + listed
    return f"Answer {listed} first. Needed for: {rule.title}."


def screen(facts: ScreeningFacts, ruleset: RuleSet | None = None) -> Decision:
    """Screen ``facts`` against ``ruleset`` (the latest shipped one by default).

    The same facts and rule set always give an equal decision: reasons come strictest first,
    then by rule id.
    """
    ruleset = ruleset or latest_ruleset()
    values = {name: spec.read(facts) for name, spec in FACTS.items()}
    reasons: list[Reason] = []
    for rule in ruleset.rules:
        if not rule.applies_to(facts):
            continue
        truth, missing = rule.condition.evaluate(values)
        if truth is True:
            recheck_on = (
                facts.screened_on + dt.timedelta(days=rule.recheck_days)
                if rule.recheck_days
                else None
            )
            reasons.append(
                Reason(
                    rule_id=rule.id,
                    rule_version=rule.version,
                    title=rule.title,
                    severity=rule.outcome,
                    message=rule.message,
                    source=rule.source,
                    recheck_on=recheck_on,
                )
            )
        elif truth is None and rule.when_unknown == "ask":
            asked = tuple(sorted({FACTS[name].asks_for for name in missing}))
            reasons.append(
                Reason(
                    rule_id=rule.id,
                    rule_version=rule.version,
                    title=rule.title,
                    severity=Outcome.DEFER,
                    message=_answer_first(rule, missing),
                    source=rule.source,
                    missing_facts=asked,
                )
            )
    reasons.sort(key=lambda reason: (-reason.severity.rank, reason.rule_id))
    outcome = strictest(reason.severity for reason in reasons)
    return Decision(
        outcome=outcome,
        reasons=tuple(reasons),
        rule_set_version=ruleset.version,
        screened_on=facts.screened_on,
        recheck_on=_recheck_on(outcome, reasons),
        missing_facts=tuple(sorted({name for reason in reasons for name in reason.missing_facts})),
    )


def _recheck_on(outcome: Outcome, reasons: Sequence[Reason]) -> dt.date | None:
    """When to screen again after a deferral, if every deferral has a date.

    Deferrals for missing answers are lifted by answering, not by waiting, so they do not
    count. One dated-less deferral (pregnancy, say) means no date makes sense.
    """
    if outcome is not Outcome.DEFER:
        return None
    waits = [r for r in reasons if r.severity is Outcome.DEFER and not r.needs_answers]
    if not waits or any(r.recheck_on is None for r in waits):
        return None
    return max(r.recheck_on for r in waits if r.recheck_on is not None)


# --- Facts to and from JSON -----------------------------------------------------------------


def facts_to_dict(facts: ScreeningFacts) -> dict[str, Any]:
    """``facts`` as JSON-ready data; ``facts_from_dict`` reads it back to equal facts."""
    intake: dict[str, Any] = {}
    for fld in dataclasses.fields(IntakeAnswers):
        value = getattr(facts.intake, fld.name)
        intake[fld.name] = sorted(value) if isinstance(value, frozenset) else value
    assessment = None
    if facts.assessment is not None:
        assessment = {
            "assessed_on": facts.assessment.assessed_on.isoformat(),
            "scarring_alopecia_signs": facts.assessment.scarring_alopecia_signs,
        }
    return {
        "screened_on": facts.screened_on.isoformat(),
        "protocol_kind": facts.protocol_kind.value,
        "ingredients": sorted(facts.ingredients),
        "sex_at_birth": facts.sex_at_birth,
        "age_years": facts.age_years,
        "intake": intake,
        "assessment": assessment,
    }


_INTAKE_FIELDS = frozenset(fld.name for fld in dataclasses.fields(IntakeAnswers))


def facts_from_dict(data: Mapping[str, Any]) -> ScreeningFacts:
    """Read facts written by ``facts_to_dict``; raise ``FactsError`` on anything else.

    An intake answer absent from ``data`` is unknown, so facts stored before a question was
    added still read back.
    """
    if not isinstance(data, Mapping):
        raise FactsError("Facts must be an object.")
    allowed = {
        "screened_on",
        "protocol_kind",
        "ingredients",
        "sex_at_birth",
        "age_years",
        "intake",
        "assessment",
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise FactsError(f"Unknown fact(s): {', '.join(unknown)}.")
    for key in ("screened_on", "protocol_kind"):
        if key not in data:
            raise FactsError(f"Facts need {key}.")
    raw_intake = data.get("intake")
    if raw_intake is None:
        raw_intake = {}
    if not isinstance(raw_intake, Mapping):
        raise FactsError("intake must be an object.")
    if not all(isinstance(key, str) for key in raw_intake):
        raise FactsError("intake answers must be named by strings.")
    unknown = sorted(set(raw_intake) - _INTAKE_FIELDS)
    if unknown:
        raise FactsError(f"Unknown intake answer(s): {', '.join(unknown)}.")
    answers = dict(raw_intake)
    allergens = answers.get("allergen_codes")
    if allergens is not None:
        answers["allergen_codes"] = _codes(allergens, where="intake.allergen_codes")
    assessment = None
    raw_assessment = data.get("assessment")
    if raw_assessment is not None:
        if not isinstance(raw_assessment, Mapping) or set(raw_assessment) - {
            "assessed_on",
            "scarring_alopecia_signs",
        }:
            raise FactsError(
                "assessment must be an object with assessed_on and scarring_alopecia_signs."
            )
        assessment = HairLossAssessment(
            assessed_on=_date(raw_assessment.get("assessed_on"), where="assessment.assessed_on"),
            scarring_alopecia_signs=raw_assessment.get("scarring_alopecia_signs"),
        )
    ingredients = data.get("ingredients", [])
    if not isinstance(ingredients, list):
        raise FactsError("ingredients must be a list of ingredient codes.")
    try:
        kind = ProtocolKind(data["protocol_kind"])
    except ValueError:
        raise FactsError(
            f"protocol_kind must be one of {', '.join(ProtocolKind)}, "
            f"not {data['protocol_kind']!r}."
        ) from None
    return ScreeningFacts(
        screened_on=_date(data["screened_on"], where="screened_on"),
        protocol_kind=kind,
        ingredients=_codes(ingredients, where="ingredients"),
        sex_at_birth=data.get("sex_at_birth"),
        age_years=data.get("age_years"),
        intake=IntakeAnswers(**answers),
        assessment=assessment,
    )


def _date(value: object, *, where: str) -> dt.date:
    if not isinstance(value, str):
        raise FactsError(f"{where} must be an ISO date (YYYY-MM-DD), not {value!r}.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FactsError(f"{where} must be an ISO date (YYYY-MM-DD), not {value!r}.") from None
