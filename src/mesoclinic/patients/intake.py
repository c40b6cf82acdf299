"""The intake questionnaire's questions (data; labels marked for translation).

Yes/no questions are stored as nullable booleans: ``None`` means "not answered", which the
screening treats as unknown (it asks for the answer instead of assuming "no"). The names
are the screening engine's fact names (``mesoclinic.screening.rules.IntakeAnswers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Question:
    name: str
    text: StrOrPromise
    help: StrOrPromise = ""


@dataclass(frozen=True)
class Section:
    code: str
    title: StrOrPromise
    questions: tuple[Question, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "pregnancy",
        _("Pregnancy"),
        (
            Question("pregnant", _("Pregnant now")),
            Question("breastfeeding", _("Breastfeeding")),
            Question("could_become_pregnant", _("Could become pregnant")),
            Question(
                "planning_pregnancy",
                _("Planning a pregnancy"),
                _("The patient, or with a partner (dutasteride matters for both)."),
            ),
        ),
    ),
    Section(
        "medical",
        _("Medical history"),
        (
            Question("bleeding_or_platelet_disorder", _("Bleeding or platelet disorder")),
            Question("platelet_dysfunction_syndrome", _("Platelet dysfunction syndrome")),
            Question("critical_thrombocytopenia", _("Critically low platelet count")),
            Question(
                "anticoagulant_or_antiplatelet", _("Takes anticoagulant or antiplatelet drugs")
            ),
            Question("nsaid_last_48h", _("NSAIDs (ibuprofen, aspirin...) in the last 48 hours")),
            Question("systemic_steroids_last_2_weeks", _("Systemic steroids in the last 2 weeks")),
            Question(
                "steroid_injection_at_site_last_month",
                _("Steroid injection in the scalp, last month"),
            ),
            Question("recent_fever_or_illness", _("Recent fever or illness")),
            Question(
                "sepsis_or_haemodynamic_instability", _("Septicaemia or haemodynamic instability")
            ),
            Question("autoimmune_disease", _("Autoimmune disease")),
            Question("active_cancer_or_chemotherapy", _("Active cancer or chemotherapy")),
            Question("blood_or_bone_cancer", _("Blood or bone cancer, ever")),
            Question("diabetes", _("Diabetes")),
            Question("chronic_liver_disease", _("Chronic liver disease")),
            Question("heart_failure", _("Heart failure")),
            Question("kidney_disease", _("Kidney disease")),
            Question("smokes_tobacco", _("Smokes or uses tobacco")),
            Question(
                "erectile_or_ejaculatory_dysfunction", _("Erectile or ejaculatory dysfunction")
            ),
            Question("known_abnormal_semen_analysis", _("Abnormal semen analysis")),
        ),
    ),
    Section(
        "allergies",
        _("Allergies"),
        (Question("allergy_local_anaesthetic", _("Allergic to local anaesthetics")),),
    ),
    Section(
        "scalp",
        _("Scalp"),
        (
            Question("scalp_infection", _("Active scalp infection")),
            Question("scalp_folliculitis", _("Folliculitis")),
            Question("scalp_psoriasis", _("Psoriasis of the scalp")),
            Question("seborrhoeic_dermatitis", _("Seborrhoeic dermatitis")),
            Question("scars_in_treatment_area", _("Scars in the area to be treated")),
        ),
    ),
)
# Answers that are true only for a while: a new intake asks them again instead of carrying
# the last answer forward.
TIME_LIMITED: frozenset[str] = frozenset(
    {
        "pregnant",
        "breastfeeding",
        "planning_pregnancy",
        "nsaid_last_48h",
        "systemic_steroids_last_2_weeks",
        "steroid_injection_at_site_last_month",
        "recent_fever_or_illness",
        "scalp_infection",
        "scalp_folliculitis",
    }
)
YES_NO_QUESTIONS: tuple[str, ...] = tuple(q.name for s in SECTIONS for q in s.questions)
QUESTION_TEXT = {q.name: q.text for s in SECTIONS for q in s.questions}

PATTERNS: tuple[tuple[str, StrOrPromise], ...] = (
    ("receding_hairline", _("Receding hairline")),
    ("crown", _("Thinning at the crown")),
    ("diffuse", _("Diffuse thinning")),
    ("widening_part", _("Widening part")),
    ("patchy", _("Patches")),
    ("other", _("Other")),
)
SHEDDING: tuple[tuple[str, StrOrPromise], ...] = (
    ("none", _("No more than usual")),
    ("increased", _("More than usual, gradually")),
    ("sudden_diffuse", _("Sudden, heavy, all over")),
)
PREVIOUS_TREATMENTS: tuple[tuple[str, StrOrPromise], ...] = (
    ("minoxidil_topical", _("Minoxidil, topical")),
    ("minoxidil_oral", _("Minoxidil, oral")),
    ("finasteride", _("Finasteride")),
    ("dutasteride", _("Dutasteride")),
    ("prp", _("PRP")),
    ("mesotherapy", _("Mesotherapy")),
    ("transplant", _("Hair transplant")),
    ("other", _("Other")),
)
# Ingredient codes a patient may be allergic to (the formulations use the same codes).
ALLERGENS: tuple[tuple[str, StrOrPromise], ...] = (
    ("lidocaine", _("Lidocaine")),
    ("procaine", _("Procaine")),
    ("mepivacaine", _("Mepivacaine")),
    ("dutasteride", _("Dutasteride")),
    ("finasteride", _("Finasteride")),
    ("minoxidil", _("Minoxidil")),
    ("hyaluronic_acid", _("Hyaluronic acid")),
    ("vitamin_b_complex", _("B-complex vitamins")),
    ("biotin", _("Biotin")),
    ("vitamin_c", _("Vitamin C")),
    ("vitamin_e", _("Vitamin E")),
    ("amino_acids", _("Amino acids")),
    ("peptides", _("Peptides")),
    ("growth_factors", _("Growth factors")),
    ("dexpanthenol", _("Dexpanthenol")),
)

# Every field of an intake, in the order the form asks them.
INTAKE_FIELDS: tuple[str, ...] = (
    "onset",
    "patterns",
    "shedding",
    "family_history",
    "previous_treatments",
    "previous_treatments_notes",
    *YES_NO_QUESTIONS,
    "allergen_codes",
    "allergy_notes",
    "notes",
)
