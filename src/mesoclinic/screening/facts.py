"""Turn a patient's record into the screening engine's facts.

The engine (``rules.py``) stays free of Django; this module reads the models.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from mesoclinic.patients.intake import TIME_LIMITED
from mesoclinic.patients.models import HairLossAssessment, Patient, PatientIntake
from mesoclinic.screening import rules

# Answers that hold only for a while count when the intake is at most this old; older ones
# are unknown, so the screening asks for them again instead of trusting a stale "no".
TIME_LIMITED_VALID_DAYS = 1


def build_facts(
    *,
    patient: Patient,
    intake: PatientIntake | None,
    assessment: HairLossAssessment | None,
    protocol_kind: str,
    ingredients: frozenset[str],
    screened_on: dt.date,
) -> rules.ScreeningFacts:
    answers: dict[str, object] = intake.answers() if intake is not None else {}
    if intake is not None:
        recorded_on = timezone.localdate(intake.created_at)
        if (screened_on - recorded_on).days > TIME_LIMITED_VALID_DAYS:
            for name in TIME_LIMITED:
                answers[name] = None
    sex = patient.sex_at_birth if patient.sex_at_birth in rules.SEXES_AT_BIRTH else None
    return rules.ScreeningFacts(
        screened_on=screened_on,
        protocol_kind=rules.ProtocolKind(protocol_kind),
        ingredients=ingredients,
        sex_at_birth=sex,  # type: ignore[arg-type]
        age_years=patient.age_on(screened_on),
        intake=rules.IntakeAnswers(**answers),  # type: ignore[arg-type]
        assessment=(
            rules.HairLossAssessment(
                assessed_on=assessment.assessed_on,
                scarring_alopecia_signs=assessment.scarring_alopecia_signs,
            )
            if assessment is not None
            else None
        ),
    )
