"""The ingredient vocabulary of formulations.

It starts with the intake's allergen list, so screening can match a patient's allergies to
a protocol's formulation, and adds ingredients used outside the scalp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from mesoclinic.patients.intake import ALLERGENS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

INGREDIENTS: tuple[tuple[str, StrOrPromise], ...] = (
    *ALLERGENS,
    ("phosphatidylcholine", _("Phosphatidylcholine")),
    ("deoxycholic_acid", _("Deoxycholic acid")),
    ("organic_silicon", _("Organic silicon")),
    ("other", _("Other")),
)
INGREDIENT_LABELS = dict(INGREDIENTS)
# The codes screening knows (allergen codes): only these go into a screening's facts.
SCREENED_CODES = frozenset(code for code, _label in ALLERGENS)
