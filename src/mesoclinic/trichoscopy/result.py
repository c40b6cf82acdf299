"""What an analysis finds: hairs, the region they were counted in, and the figures derived.

Every summary figure (count, densities, widths, ratio, histogram, follicular units) is
computed from ``Result.hairs`` on demand, so a result with manual corrections applied
(``corrections.apply``) gives corrected figures without a second code path.

Units are in the names: ``_um`` micrometres, ``_px`` image pixels, ``_cm2`` square
centimetres. Pixel coordinates are ``(x, y)`` with the origin at the top-left pixel's centre.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from .errors import RegionError
from .geometry import polyline_length

# Shaft-width classes (hair-image-analysis.md section 5): under 30 um is thin or vellus-like
# [Rakowska 2009, S15; S16]; terminal from 55 um [S16, S17]; in between is intermediate.
VELLUS_UNDER_UM = 30.0
TERMINAL_FROM_UM = 55.0
# Widths this close to the vellus cut-off are reported as uncertain: the measurement error of
# a few micrometres can move them across it.
UNCERTAIN_WITHIN_UM = 5.0
# Bins of the width histogram (upper edges exclusive); the last bin is open-ended.
HISTOGRAM_EDGES_UM = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)

UM_PER_CM = 10_000.0

# What each quality flag of a result means, in words for the practitioner checking it.
FLAG_EXPLANATIONS = {
    "under_resolved": (
        "fewer than 5 pixels across a 30 µm hair: widths, and so the vellus/terminal split, "
        "are unreliable. Use a higher magnification or a larger image."
    ),
    "small_region": (
        "the counting region is under 1 mm2: a few hairs more or less change the density a lot."
    ),
    "uniform_image": "the image is almost uniform (blank, lens cap on?): nothing was counted.",
    "overexposed": "much of the image is blown out to white: hairs there cannot be seen.",
    "underexposed": "much of the image is nearly black: hairs there cannot be seen.",
    "glare": (
        "bright reflections were masked; hairs crossing them were bridged, but some under "
        "them may be missed. Use more immersion fluid or polarised light."
    ),
    "dense_hair": (
        "hair hides most of the skin here, so the skin's colour could not be read and hairs "
        "may be missed or merged: part or clip the hair, or image a sparser area."
    ),
    "no_hairs_found": "no hair was found: check the image and its calibration.",
    "blur_not_measured": (
        "the optics' blur could not be measured on any hair, so a typical value was assumed "
        "for the widths."
    ),
    "blurred": "the image is out of focus: thin hairs may be missed and widths overstated.",
    "overlapping_hairs": (
        "some hairs lie over each other along most of their length (often two leaving one "
        "opening); each was counted from the width of the band, and its own width could not "
        "be measured: check those hairs on the overlay."
    ),
    "low_contrast": (
        "hairs stand out little from the skin (light hair or poor lighting): expect missed hairs."
    ),
}

HairClass = Literal["vellus", "intermediate", "terminal", "unmeasured"]


def width_class(width_um: float | None) -> HairClass:
    """The class of a shaft width: vellus under 30 um, terminal from 55 um."""
    if width_um is None or not math.isfinite(width_um):
        return "unmeasured"
    if width_um < VELLUS_UNDER_UM:
        return "vellus"
    if width_um < TERMINAL_FROM_UM:
        return "intermediate"
    return "terminal"


@dataclass(frozen=True)
class Roi:
    """A region of interest in pixels: a rectangle or a circle (the trials' 1 cm2 circle)."""

    kind: Literal["rect", "circle"]
    x: float  # rect: left edge; circle: centre
    y: float  # rect: top edge; circle: centre
    width: float = 0.0  # rect only
    height: float = 0.0  # rect only
    radius: float = 0.0  # circle only

    def __post_init__(self) -> None:
        if self.kind not in ("rect", "circle"):
            raise RegionError(f"A region is a rect or a circle, not {self.kind!r}.")

    @classmethod
    def rect(cls, x: float, y: float, width: float, height: float) -> Roi:
        return cls("rect", float(x), float(y), width=float(width), height=float(height))

    @classmethod
    def circle(cls, cx: float, cy: float, radius: float) -> Roi:
        return cls("circle", float(cx), float(cy), radius=float(radius))

    @classmethod
    def whole(cls, shape: tuple[int, ...]) -> Roi:
        """The whole image: pixel centres run from 0 to size - 1, edges from -0.5."""
        return cls.rect(-0.5, -0.5, shape[1], shape[0])

    @classmethod
    def parse(cls, text: str) -> Roi:
        """``x,y,w,h`` (rectangle) or ``circle:cx,cy,r``, in pixels."""
        body = text.strip()
        kind = "rect"
        if body.lower().startswith("circle:"):
            kind, body = "circle", body[len("circle:") :]
        try:
            numbers = [float(part) for part in body.split(",")]
        except ValueError:
            raise RegionError(
                f"Region {text!r} is not understood: give x,y,width,height or circle:cx,cy,r "
                "in pixels."
            ) from None
        if kind == "circle" and len(numbers) == 3:
            return cls.circle(*numbers)
        if kind == "rect" and len(numbers) == 4:
            return cls.rect(*numbers)
        raise RegionError(
            f"Region {text!r} is not understood: give x,y,width,height or circle:cx,cy,r in pixels."
        )

    @property
    def area_px(self) -> float:
        if self.kind == "circle":
            return math.pi * self.radius**2
        return self.width * self.height

    def contains(self, x: float, y: float) -> bool:
        if self.kind == "circle":
            return (x - self.x) ** 2 + (y - self.y) ** 2 <= self.radius**2
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height

    def check_inside(self, shape: tuple[int, ...]) -> None:
        """Raise ``RegionError`` unless the region is non-empty and lies within the image."""
        height, width = shape[0], shape[1]
        if self.kind == "circle":
            left, top = self.x - self.radius, self.y - self.radius
            right, bottom = self.x + self.radius, self.y + self.radius
            empty = self.radius <= 0
        else:
            left, top = self.x, self.y
            right, bottom = self.x + self.width, self.y + self.height
            empty = self.width <= 0 or self.height <= 0
        if empty or not all(map(math.isfinite, (left, top, right, bottom))):
            raise RegionError("The region of interest is empty.")
        tolerance = 0.5 + 1e-6
        if left < -tolerance or top < -tolerance or right > width - 0.5 + 1e-6:
            raise RegionError(f"The region of interest reaches outside the {width}x{height} image.")
        if bottom > height - 0.5 + 1e-6:
            raise RegionError(f"The region of interest reaches outside the {width}x{height} image.")

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Boolean mask of the pixels whose centres lie inside the region."""
        ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
        if self.kind == "circle":
            return (xs - self.x) ** 2 + (ys - self.y) ** 2 <= self.radius**2
        return (
            (xs >= self.x)
            & (xs < self.x + self.width)
            & (ys >= self.y)
            & (ys < self.y + self.height)
        )

    def as_json(self) -> dict[str, Any]:
        if self.kind == "circle":
            return {"kind": "circle", "cx": self.x, "cy": self.y, "radius_px": self.radius}
        return {
            "kind": "rect",
            "x": self.x,
            "y": self.y,
            "width_px": self.width,
            "height_px": self.height,
        }


@dataclass(frozen=True)
class Hair:
    """One hair as detected (or added by hand).

    ``centreline_px`` runs from the end judged to be the exit from the skin to the other end.
    ``counted`` says whether the exit lies inside the region (the counting frame): a hair
    whose visible exit lies outside, or that enters from beyond the image edge, is drawn
    but not counted, so that neighbouring regions never count a hair twice.
    """

    id: int
    centreline_px: tuple[tuple[float, float], ...]
    width_um: float | None
    exit_px: tuple[float, float]
    counted: bool
    unit: int | None = None  # follicular unit (hairs sharing one opening)
    exit_seen: bool = True  # False: the hair runs out of the image; its exit was not seen
    manual: bool = False  # added by a practitioner's correction

    @property
    def hair_class(self) -> HairClass:
        return width_class(self.width_um)

    @property
    def width_uncertain(self) -> bool:
        return (
            self.width_um is not None
            and abs(self.width_um - VELLUS_UNDER_UM) <= UNCERTAIN_WITHIN_UM
        )

    def length_px(self) -> float:
        if len(self.centreline_px) < 2:
            return 0.0
        return polyline_length(np.asarray(self.centreline_px, dtype=float))

    def as_json(self, um_per_px: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "counted": self.counted,
            "class": self.hair_class,
            "width_um": None if self.width_um is None else round(self.width_um, 2),
            "width_uncertain": self.width_uncertain,
            "length_um": round(self.length_px() * um_per_px, 1),
            "exit_px": [round(self.exit_px[0], 2), round(self.exit_px[1], 2)],
            "exit_seen": self.exit_seen,
            "follicular_unit": self.unit,
            "manual": self.manual,
            "centreline_px": [[round(x, 2), round(y, 2)] for x, y in self.centreline_px],
        }


@dataclass(frozen=True)
class Correction:
    """A practitioner's change to a result: a hair added (its centreline) or removed (its id)."""

    action: Literal["add", "remove"]
    hair_id: int | None = None
    centreline_px: tuple[tuple[float, float], ...] = ()
    width_um: float | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action}
        if self.action == "remove":
            data["hair_id"] = self.hair_id
        else:
            data["centreline_px"] = [list(point) for point in self.centreline_px]
            data["width_um"] = self.width_um
        return data


@dataclass(frozen=True)
class Result:
    """The hairs found in one image and every figure derived from the counted ones."""

    hairs: tuple[Hair, ...]
    um_per_px: float
    roi: Roi
    image_shape: tuple[int, int]
    flags: tuple[str, ...] = ()
    corrections: tuple[Correction, ...] = ()
    version: str = ""
    blur_sigma_px: float | None = None

    # -- the counting frame --------------------------------------------------------------

    @property
    def area_cm2(self) -> float:
        return self.roi.area_px * (self.um_per_px / UM_PER_CM) ** 2

    @property
    def counted_hairs(self) -> tuple[Hair, ...]:
        return tuple(hair for hair in self.hairs if hair.counted)

    @property
    def count(self) -> int:
        return len(self.counted_hairs)

    @property
    def density_per_cm2(self) -> float:
        return self.count / self.area_cm2 if self.area_cm2 > 0 else 0.0

    # -- widths and classes ----------------------------------------------------------------

    @property
    def widths_um(self) -> tuple[float, ...]:
        """One width per counted hair whose width was measured."""
        return tuple(hair.width_um for hair in self.counted_hairs if hair.width_um is not None)

    def _class_count(self, name: str) -> int:
        return sum(1 for hair in self.counted_hairs if hair.hair_class == name)

    @property
    def vellus_count(self) -> int:
        return self._class_count("vellus")

    @property
    def intermediate_count(self) -> int:
        return self._class_count("intermediate")

    @property
    def terminal_count(self) -> int:
        return self._class_count("terminal")

    @property
    def at_least_30um_count(self) -> int:
        """Hairs 30 um wide or wider: the trials' "terminal" hair count (TAHC)."""
        return self.intermediate_count + self.terminal_count

    @property
    def unmeasured_count(self) -> int:
        return self._class_count("unmeasured")

    @property
    def uncertain_count(self) -> int:
        return sum(1 for hair in self.counted_hairs if hair.width_uncertain)

    @property
    def terminal_density_per_cm2(self) -> float:
        return self.terminal_count / self.area_cm2 if self.area_cm2 > 0 else 0.0

    @property
    def vellus_density_per_cm2(self) -> float:
        return self.vellus_count / self.area_cm2 if self.area_cm2 > 0 else 0.0

    @property
    def terminal_to_vellus_ratio(self) -> float | None:
        """Terminal over vellus hairs; ``None`` when there is no vellus hair to divide by."""
        return self.terminal_count / self.vellus_count if self.vellus_count else None

    @property
    def mean_width_um(self) -> float | None:
        widths = self.widths_um
        return float(np.mean(widths)) if widths else None

    @property
    def thin_hair_percent(self) -> float | None:
        widths = self.widths_um
        if not widths:
            return None
        return 100.0 * sum(1 for width in widths if width < VELLUS_UNDER_UM) / len(widths)

    @property
    def cumulative_thickness_mm_per_cm2(self) -> float:
        """Sum of the counted hairs' widths in mm, per cm2 (TrichoScan's cumulative thickness)."""
        if self.area_cm2 <= 0:
            return 0.0
        return sum(self.widths_um) / 1000.0 / self.area_cm2

    def width_histogram(self) -> list[dict[str, Any]]:
        """Counted hairs per width bin of 10 um; the last bin is open-ended."""
        edges = HISTOGRAM_EDGES_UM
        bins = [0] * len(edges)
        for width in self.widths_um:
            index = min(int(width // 10), len(edges) - 1)
            bins[index] += 1
        rows = []
        for index, low in enumerate(edges):
            high = edges[index + 1] if index + 1 < len(edges) else None
            rows.append({"from_um": low, "to_um": high, "hairs": bins[index]})
        return rows

    def follicular_units(self) -> dict[int, int]:
        """How many follicular units hold 1, 2, 3, ... counted hairs (units seen in the image)."""
        sizes = Counter(hair.unit for hair in self.counted_hairs if hair.unit is not None)
        return dict(sorted(Counter(sizes.values()).items()))

    # -- output --------------------------------------------------------------------------

    def with_hairs(self, hairs: tuple[Hair, ...], corrections: tuple[Correction, ...]) -> Result:
        return replace(self, hairs=hairs, corrections=corrections)

    def summary(self) -> dict[str, Any]:
        ratio = self.terminal_to_vellus_ratio
        mean_width = self.mean_width_um
        thin = self.thin_hair_percent
        return {
            "count": self.count,
            "area_cm2": round(self.area_cm2, 5),
            "density_per_cm2": round(self.density_per_cm2, 1),
            "terminal_count": self.terminal_count,
            "intermediate_count": self.intermediate_count,
            "vellus_count": self.vellus_count,
            "unmeasured_count": self.unmeasured_count,
            "at_least_30um_count": self.at_least_30um_count,
            "width_uncertain_count": self.uncertain_count,
            "terminal_density_per_cm2": round(self.terminal_density_per_cm2, 1),
            "vellus_density_per_cm2": round(self.vellus_density_per_cm2, 1),
            "terminal_to_vellus_ratio": None if ratio is None else round(ratio, 2),
            "mean_width_um": None if mean_width is None else round(mean_width, 2),
            "thin_hair_percent": None if thin is None else round(thin, 1),
            "cumulative_thickness_mm_per_cm2": round(self.cumulative_thickness_mm_per_cm2, 3),
            "width_histogram": self.width_histogram(),
            "follicular_units": {
                str(size): units for size, units in self.follicular_units().items()
            },
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "um_per_px": self.um_per_px,
            "image": {"width_px": self.image_shape[1], "height_px": self.image_shape[0]},
            "roi": self.roi.as_json(),
            "blur_sigma_px": None if self.blur_sigma_px is None else round(self.blur_sigma_px, 2),
            "flags": list(self.flags),
            "summary": self.summary(),
            "hairs": [hair.as_json(self.um_per_px) for hair in self.hairs],
            "corrections": [correction.as_json() for correction in self.corrections],
        }
