"""The outcome measures recorded at baseline, review and maintenance visits (pure data).

Each measure has a stable code (stored with every number), a unit in its name, the range a
plausible value lies in (anything outside is refused as a typing or device error), whether a
higher value is the better direction (``None`` where neither is: vellus hairs may rise as
terminal hairs miniaturise or as new hairs grow), the methods it may be measured by, and its
source. Trials use these measures; the product records them and never says what a change
means for a patient beyond the number.

Sources: reference/clinical-facts.md section 2 ("Outcome measures"), and
reference/clinic-software-and-hair-measurement.md (phototrichogram, trichoscopy).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    """How a number was obtained (stored with it, so a change of method is visible)."""

    MACROPHOTOGRAPHY = "macrophotography"
    TRICHOSCOPY_MANUAL = "trichoscopy_manual"
    TRICHOSCOPY_AUTO = "trichoscopy_auto"
    PHOTOTRICHOGRAM = "phototrichogram"
    MICROMETER = "micrometer"
    CLINICAL = "clinical"
    GLOBAL_PHOTOS = "global_photos"
    PATIENT = "patient"


METHOD_LABELS: dict[Method, str] = {
    Method.MACROPHOTOGRAPHY: "Macrophotograph of the target area, counted by hand",
    Method.TRICHOSCOPY_MANUAL: "Trichoscopy image, counted by hand",
    Method.TRICHOSCOPY_AUTO: "Trichoscopy image, automatic analysis checked by the practitioner",
    Method.PHOTOTRICHOGRAM: "Phototrichogram (clipped area, imaged again after 2-3 days)",
    Method.MICROMETER: "Micrometer or caliper",
    Method.CLINICAL: "Clinical examination",
    Method.GLOBAL_PHOTOS: "Rating of the standardized photographs against baseline",
    Method.PATIENT: "Patient's own answer",
}

IMAGE_METHODS = (
    Method.TRICHOSCOPY_MANUAL,
    Method.TRICHOSCOPY_AUTO,
    Method.PHOTOTRICHOGRAM,
    Method.MACROPHOTOGRAPHY,
)


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    short_label: str
    unit: str  # shown after the number; "" for scores
    minimum: float
    maximum: float
    decimals: int  # 0: whole numbers only
    higher_is_better: bool | None
    methods: tuple[Method, ...]
    help: str
    source: str
    # Counted in the marked 1 cm2 target area: the landmark is recorded with the number.
    at_landmark: bool = False
    # Printed wording of each point of a score, lowest first (the 7-point scales).
    wording: tuple[str, ...] = ()
    # The measure in a patient's words (the PDF report); the label when empty.
    plain: str = ""

    @property
    def plain_label(self) -> str:
        return self.plain or self.label

    @property
    def is_score(self) -> bool:
        return bool(self.wording) or self.unit == ""

    def default_method(self) -> Method:
        return self.methods[0]

    def format(self, value: float) -> str:
        """The value as shown: its decimals, a sign on the -3..+3 scales."""
        text = f"{value:.{self.decimals}f}"
        if self.minimum < 0 and value > 0:
            text = "+" + text
        return text


SEVEN_POINT = (
    "Greatly decreased",
    "Moderately decreased",
    "Slightly decreased",
    "No change",
    "Slightly increased",
    "Moderately increased",
    "Greatly increased",
)

_TRIALS = (
    "Target area hair count in a 1 cm2 circle at a tattooed landmark, as in registration "
    "trials (NCT03004469); reference/clinical-facts.md section 2"
)
_TRICHOSCOPY = (
    "Trichoscopy and phototrichogram measures: terminal, vellus and total counts on 1 cm2, "
    "density and diameter (Gressenberger 2020; reference/clinical-facts.md section 2)"
)

MEASURES: tuple[Measure, ...] = (
    Measure(
        code="target_area_count",
        label="Target area hair count (1 cm2 circle)",
        short_label="Target area count",
        unit="hairs",
        minimum=0,
        maximum=1000,
        decimals=0,
        higher_is_better=True,
        methods=(Method.MACROPHOTOGRAPHY, *IMAGE_METHODS[:3]),
        help="Hairs counted in the 1 cm2 circle centred on the marked landmark.",
        source=_TRIALS,
        at_landmark=True,
        plain="Hairs counted in the marked 1 cm2 circle",
    ),
    Measure(
        code="density_per_cm2",
        label="Hair density",
        short_label="Density",
        unit="hairs/cm2",
        minimum=0,
        maximum=1000,
        decimals=1,
        higher_is_better=True,
        methods=(Method.TRICHOSCOPY_MANUAL, Method.TRICHOSCOPY_AUTO, Method.PHOTOTRICHOGRAM),
        help="All hairs per cm2 in the measured field.",
        source=_TRICHOSCOPY,
        at_landmark=True,
        plain="Hair density (hairs per square centimetre)",
    ),
    Measure(
        code="terminal_count",
        label="Terminal hairs (width 30 um or more) in 1 cm2",
        short_label="Terminal hairs",
        unit="hairs",
        minimum=0,
        maximum=1000,
        decimals=0,
        higher_is_better=True,
        methods=(Method.TRICHOSCOPY_MANUAL, Method.TRICHOSCOPY_AUTO, Method.PHOTOTRICHOGRAM),
        help="Hairs 30 um wide or wider, the trials' terminal hair.",
        source=_TRICHOSCOPY,
        at_landmark=True,
        plain="Thick (terminal) hairs in the marked circle",
    ),
    Measure(
        code="vellus_count",
        label="Vellus hairs (width under 30 um) in 1 cm2",
        short_label="Vellus hairs",
        unit="hairs",
        minimum=0,
        maximum=1000,
        decimals=0,
        higher_is_better=None,
        methods=(Method.TRICHOSCOPY_MANUAL, Method.TRICHOSCOPY_AUTO, Method.PHOTOTRICHOGRAM),
        help="Hairs narrower than 30 um.",
        source=_TRICHOSCOPY,
        at_landmark=True,
        plain="Fine (vellus) hairs in the marked circle",
    ),
    Measure(
        code="shaft_width_um",
        label="Mean hair shaft width",
        short_label="Shaft width",
        unit="um",
        minimum=5,
        maximum=200,
        decimals=1,
        higher_is_better=True,
        methods=(Method.TRICHOSCOPY_MANUAL, Method.TRICHOSCOPY_AUTO, Method.MICROMETER),
        help="Mean width of the hairs measured, in micrometres.",
        source=_TRICHOSCOPY,
        at_landmark=True,
        plain="Average hair thickness (micrometres)",
    ),
    Measure(
        code="thin_hair_percent",
        label="Thin hairs (under 30 um)",
        short_label="Thin hairs",
        unit="%",
        minimum=0,
        maximum=100,
        decimals=1,
        higher_is_better=False,
        methods=(Method.TRICHOSCOPY_MANUAL, Method.TRICHOSCOPY_AUTO, Method.PHOTOTRICHOGRAM),
        help="Share of the hairs measured that are narrower than 30 um.",
        source=_TRICHOSCOPY,
        at_landmark=True,
        plain="Share of fine hairs",
    ),
    Measure(
        code="count_60s",
        label="60-second hair count",
        short_label="60-second count",
        unit="hairs",
        minimum=0,
        maximum=1000,
        decimals=0,
        higher_is_better=False,
        methods=(Method.PATIENT, Method.CLINICAL),
        help="Hairs shed while combing for 60 s before shampooing, over a contrasting sheet.",
        source="Wasko 2008: healthy men shed about 10 hairs (0-78 at ages 20-40); "
        "reference/clinical-facts.md section 2",
        plain="Hairs shed while combing for 60 seconds",
    ),
    Measure(
        code="pull_test_hairs",
        label="Pull test: hairs pulled out of about 50 grasped",
        short_label="Pull test",
        unit="hairs",
        minimum=0,
        maximum=60,
        decimals=0,
        higher_is_better=False,
        methods=(Method.CLINICAL,),
        help="No shampoo for 24 h before; 40-60 hairs grasped. 6 or fewer is usually "
        "called normal.",
        source="Pull test: fpnotebook.com/Derm/Exam/HrPlTst.htm; "
        "reference/clinical-facts.md section 2",
        plain="Hairs that came out in the pull test",
    ),
    Measure(
        code="investigator_global",
        label="Investigator global photographic assessment",
        short_label="Investigator assessment",
        unit="",
        minimum=-3,
        maximum=3,
        decimals=0,
        higher_is_better=True,
        methods=(Method.GLOBAL_PHOTOS,),
        help="The practitioner compares today's standardized photographs with baseline.",
        source="Global photographic assessment of vertex, mid-scalp and hairlines against "
        "baseline (finasteride 1 mg programme); the 7-point wording is used by analogy with "
        "the self-assessment. reference/clinical-facts.md section 2",
        wording=SEVEN_POINT,
        plain="Your practitioner's rating of your photos against the start",
    ),
    Measure(
        code="self_assessment",
        label="Patient self-assessment since baseline",
        short_label="Self-assessment",
        unit="",
        minimum=-3,
        maximum=3,
        decimals=0,
        higher_is_better=True,
        methods=(Method.PATIENT,),
        help="The patient's answer: how has your hair changed since before treatment?",
        source="7-point subject self-assessment (NCT03004469, NCT02279823); "
        "reference/clinical-facts.md section 2",
        wording=SEVEN_POINT,
        plain="Your own rating of the change since the start",
    ),
    Measure(
        code="satisfaction",
        label="Patient satisfaction",
        short_label="Satisfaction",
        unit="",
        minimum=0,
        maximum=10,
        decimals=0,
        higher_is_better=True,
        methods=(Method.PATIENT,),
        help="0 = not at all satisfied, 10 = completely satisfied.",
        source="A 0-10 rating; satisfaction is reported by mesotherapy reviews "
        "(Aledani 2024) without a standard instrument.",
        plain="How satisfied you are (0 to 10)",
    ),
)

_BY_CODE = {m.code: m for m in MEASURES}
CODES = tuple(_BY_CODE)
# Measures whose change is meaningful as a change from baseline (the scores -3..+3 are
# already a comparison with baseline; satisfaction is a level).
CHANGE_MEASURES = tuple(m.code for m in MEASURES if not m.wording and m.code != "satisfaction")


def get(code: str) -> Measure:
    """The measure with ``code``; KeyError for an unknown code."""
    return _BY_CODE[code]


def is_known(code: str) -> bool:
    return code in _BY_CODE


def check_value(measure: Measure, value: float) -> str | None:
    """Why ``value`` cannot be a reading of ``measure`` (None when it can): outside the
    plausible range, a fraction where only whole numbers exist, not a finite number."""
    if value != value or value in (float("inf"), float("-inf")):
        return "Enter a number."
    if not measure.minimum <= value <= measure.maximum:
        unit = f" {measure.unit}" if measure.unit else ""
        return (
            f"{measure.short_label} must be between {measure.format(measure.minimum)} and "
            f"{measure.format(measure.maximum)}{unit}."
        )
    if measure.decimals == 0 and value != int(value):
        return f"{measure.short_label} is a whole number."
    return None
