"""The standardized photo views of an outcome visit and the guidance shown for each (pure).

Global photographs are only comparable when head position, camera distance, lighting and
hair preparation are the same at every visit (reference/clinic-software-and-hair-measurement.md,
"Global photography": vertex, midline, frontal and temporal views; fixed head and camera
position; washed, dry hair). The guidance is shown beside the upload field of each view, and
the previous visit's photo of the same view is shown next to it as a framing reference.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = (
    "Standardized global photography (vertex, mid-scalp, frontal and temporal views; fixed "
    "head and camera position; washed, dry hair): reference/clinic-software-and-hair-"
    "measurement.md; trichoscopy close-ups at the tattooed landmark: reference/clinical-facts.md "
    "section 2"
)

GENERAL = (
    "Hair washed and dry, no styling products; the same parting and the same lighting "
    "as at baseline.",
    "Camera on a fixed stand at the marked distance; the patient seated on the same chair "
    "with the head in the rest.",
    "No flash reflections on the scalp; fill the frame with the view described.",
)


@dataclass(frozen=True)
class View:
    code: str
    label: str
    guidance: str
    close_up: bool = False


VIEWS: tuple[View, ...] = (
    View(
        "vertex",
        "Vertex",
        "From directly above the crown, head tilted forward about 30 degrees, the whorl "
        "in the centre of the frame.",
    ),
    View(
        "frontal",
        "Frontal hairline",
        "From the front at eye level, hair combed back off the forehead, eyebrows at the "
        "bottom edge of the frame.",
    ),
    View(
        "mid_scalp",
        "Mid-scalp",
        "From above and in front, a central parting from hairline to crown, the parting "
        "running straight up the middle of the frame.",
    ),
    View(
        "left_temporal",
        "Left temporal",
        "From the patient's left at eye level, hair combed back, the ear at the bottom "
        "corner of the frame.",
    ),
    View(
        "right_temporal",
        "Right temporal",
        "From the patient's right at eye level, hair combed back, the ear at the bottom "
        "corner of the frame.",
    ),
    View(
        "trichoscopy",
        "Trichoscopy close-up",
        "At the tattooed landmark, hair clipped as at baseline, the same magnification and "
        "the same device; the dot in the centre of the field.",
        close_up=True,
    ),
)

_BY_CODE = {v.code: v for v in VIEWS}
CODES = tuple(_BY_CODE)


def get(code: str) -> View:
    """The view with ``code``; KeyError for an unknown code."""
    return _BY_CODE[code]
