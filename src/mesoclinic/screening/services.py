"""Running, signing and overriding screenings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import User
from mesoclinic.core.audit import audit_record
from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.ingredients import SCREENED_CODES
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.screening import rules
from mesoclinic.screening.facts import build_facts
from mesoclinic.screening.models import Screening, ScreeningOverride

JUSTIFICATION_MIN_CHARS = 20


@transaction.atomic
def screening_run(
    *,
    patient: Patient,
    protocol_kind: str = "",
    ingredients: Iterable[str] = (),
    protocol_version: ProtocolVersion | None = None,
    screened_on: dt.date,
    acting_user: User,
) -> Screening:
    """Screen the patient on their latest intake and assessment, and store the signed result.

    With ``protocol_version`` the treatment kind and ingredients are the protocol's (its
    formulations' ingredients that screening knows); otherwise the ones given.
    The stored facts and rule-set version reproduce the decision exactly.
    """
    if protocol_version is not None:
        protocol_kind = protocol_version.kind
        ingredients = [c for c in protocol_version.ingredient_codes if c in SCREENED_CODES]
    intake = patient.intakes.order_by("-created_at", "-pk").first()
    assessment = patient.assessments.order_by("-assessed_on", "-pk").first()
    facts = build_facts(
        patient=patient,
        intake=intake,
        assessment=assessment,
        protocol_kind=protocol_kind,
        ingredients=frozenset(ingredients),
        screened_on=screened_on,
    )
    ruleset = rules.latest_ruleset()
    decision = rules.screen(facts, ruleset)
    screening = Screening.objects.create(
        organisation=patient.organisation,
        patient=patient,
        screened_on=screened_on,
        screened_by=acting_user,
        protocol_kind=protocol_kind,
        protocol_version=protocol_version,
        ingredients=sorted(facts.ingredients),
        outcome=decision.outcome.value,
        rule_set_version=decision.rule_set_version,
        recheck_on=decision.recheck_on,
        facts=rules.facts_to_dict(facts),
        decision=decision.to_dict(),
    )
    audit_record(
        action="screening.create",
        actor=acting_user,
        organisation=patient.organisation,
        obj=screening,
        patient=patient,
        changes={
            "outcome": {"new": screening.outcome},
            "rule_set_version": {"new": screening.rule_set_version},
            "protocol_kind": {"new": protocol_kind},
            "protocol_version": {"new": protocol_version.pk if protocol_version else None},
            "ingredients": {"new": ", ".join(screening.ingredients)},
            "reasons": {"new": ", ".join(r.rule_id for r in decision.reasons)},
        },
    )
    return screening


@transaction.atomic
def screening_override(
    *, screening: Screening, justification: str, acting_user: User
) -> ScreeningOverride:
    """Record a practitioner's decision to go ahead despite ``defer`` or ``not_eligible``."""
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if not screening.can_be_overridden:
        raise DomainError(_("Only a screening that says defer or not eligible can be overridden."))
    if ScreeningOverride.objects.filter(screening=screening).exists():
        raise Conflict(_("This screening has already been overridden."))
    if len(justification.strip()) < JUSTIFICATION_MIN_CHARS:
        raise DomainError(
            _("Write the justification in at least %(n)d characters.")
            % {"n": JUSTIFICATION_MIN_CHARS},
            field="justification",
        )
    override = ScreeningOverride.objects.create(
        organisation=screening.organisation,
        screening=screening,
        justification=justification.strip(),
        overridden_by=acting_user,
    )
    audit_record(
        action="screening.override",
        actor=acting_user,
        organisation=screening.organisation,
        obj=screening,
        patient=screening.patient,
        changes={
            "outcome": {"new": screening.outcome},
            "justification": {"new": override.justification},
        },
    )
    return override


def screening_replay(screening: Screening) -> rules.Decision:
    """The decision again, from the stored facts and rule-set version (an audit check)."""
    facts = rules.facts_from_dict(screening.facts)
    return rules.screen(facts, rules.load_ruleset(screening.rule_set_version))
