"""The seam between outcome visits and the trichoscopy analysis library.

``mesoclinic.trichoscopy`` is built separately and may be absent from an installation;
until it is present the numbers of a close-up are entered by hand and the page says so.
When it is present, ``analyse`` decodes the close-up, calls the library and returns its
findings in the units of ``outcomes.measures``, ready to prefill the visit form, where the
practitioner confirms or corrects them before anything is stored as a measurement.

What the library must provide (its issue builds to this):

- ``analyze(image, um_per_px, roi=None) -> result``: ``image`` a ``numpy`` array (H x W x 3,
  uint8); the result has ``count`` (hairs exiting the skin in the region), ``density_per_cm2``,
  ``widths_um`` (one width per hair), ``vellus_count``, ``flags`` (a sequence of quality
  warnings as short strings) and ``at_least_30um_count``, the trials' "terminal" hairs
  (30 um or wider; the library's own ``terminal_count`` is its narrower class from 55 um,
  used only when the first is absent);
- optionally ``render_overlay(image, result)``: an image (array or Pillow image) with every
  detected hair outlined, shown to the practitioner beside the photo;
- optionally ``__version__``, stored with the findings.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import logging
import math
import statistics
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

from django.utils.translation import gettext as _
from PIL import Image

logger = logging.getLogger(__name__)

LIBRARY = "mesoclinic.trichoscopy"
# Width under which a hair is vellus in the trials' definition (clinical-facts.md section 2).
VELLUS_UNDER_UM = 30.0


class Unavailable(Exception):
    """The analysis cannot run here (library absent or failing on this image)."""


@dataclass(frozen=True)
class Findings:
    count: int
    density_per_cm2: float
    mean_width_um: float | None
    terminal_count: int
    vellus_count: int
    thin_hair_percent: float | None
    flags: tuple[str, ...]
    library_version: str
    overlay_png: bytes | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("overlay_png")
        data["flags"] = list(self.flags)
        return data

    def prefill(self) -> dict[str, float]:
        """The measurement values to offer, by measure code (widths only when measured)."""
        values: dict[str, float] = {
            "target_area_count": self.count,
            "density_per_cm2": round(self.density_per_cm2, 1),
            "terminal_count": self.terminal_count,
            "vellus_count": self.vellus_count,
        }
        if self.mean_width_um is not None:
            values["shaft_width_um"] = round(self.mean_width_um, 1)
        if self.thin_hair_percent is not None:
            values["thin_hair_percent"] = round(self.thin_hair_percent, 1)
        return values


def findings_from_json(data: dict[str, Any]) -> Findings:
    """The findings stored with a photo, read back."""
    return Findings(**{**data, "flags": tuple(data.get("flags", ()))})


def _library() -> ModuleType | None:
    """The analysis library, or None when it is absent or cannot be imported (a missing
    dependency of it is logged, and the pages fall back to counting by hand)."""
    try:
        if importlib.util.find_spec(LIBRARY) is None:
            return None
        module = importlib.import_module(LIBRARY)
    except ImportError:
        logger.exception("The trichoscopy library is present but cannot be imported")
        return None
    return module if callable(getattr(module, "analyze", None)) else None


def available() -> bool:
    """Whether close-ups can be analysed in this installation."""
    return _library() is not None


def analyse(data: bytes, *, um_per_px: float) -> Findings:
    """The library's findings on the photo ``data`` (a stored, metadata-free JPEG)."""
    library = _library()
    if library is None:
        raise Unavailable(
            _("Automatic trichoscopy analysis is not installed here; enter the numbers by hand.")
        )
    numpy = importlib.import_module("numpy")
    with Image.open(io.BytesIO(data)) as picture:
        pixels = numpy.asarray(picture.convert("RGB"))
    # Whatever goes wrong inside the library (a bug, an image it cannot handle, numbers
    # that are not numbers) is the analysis failing on this image, never a broken page.
    try:
        result = library.analyze(pixels, um_per_px)
        widths = [float(w) for w in getattr(result, "widths_um", ())]
        findings = Findings(
            count=int(result.count),
            density_per_cm2=float(result.density_per_cm2),
            mean_width_um=statistics.fmean(widths) if widths else None,
            # The visit's "terminal hairs" measure is the trials' definition, 30 um or wider.
            terminal_count=int(getattr(result, "at_least_30um_count", result.terminal_count)),
            vellus_count=int(result.vellus_count),
            thin_hair_percent=(
                100 * sum(w < VELLUS_UNDER_UM for w in widths) / len(widths) if widths else None
            ),
            flags=tuple(str(f) for f in getattr(result, "flags", ())),
            library_version=str(getattr(library, "__version__", "")),
            overlay_png=_overlay(library, pixels, result),
        )
    except Exception as error:
        logger.exception("The trichoscopy analysis failed")
        raise Unavailable(_("The analysis could not read this image: %s") % error) from None
    numbers = [findings.density_per_cm2, findings.mean_width_um, findings.thin_hair_percent]
    if (
        any(n is not None and not math.isfinite(n) for n in numbers)
        or min(findings.count, findings.terminal_count, findings.vellus_count) < 0
    ):
        raise Unavailable(_("The analysis gave numbers that are not measurements; count by hand."))
    return findings


def _overlay(library: ModuleType, pixels: Any, result: Any) -> bytes | None:
    render = getattr(library, "render_overlay", None)
    if not callable(render):
        return None
    overlay = render(pixels, result)
    image = overlay if isinstance(overlay, Image.Image) else Image.fromarray(overlay)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
