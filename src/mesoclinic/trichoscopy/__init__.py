"""Trichoscopy analysis: hair count, density and shaft widths from calibrated scalp images.

A pure library (numpy, scipy, scikit-image, Pillow; no Django), used by outcome visits
through ``outcomes/trichoscopy_hook.py`` and on its own through ``mesoclinic trichoscopy``.

- ``analyze(image, um_per_px, roi=None) -> Result`` counts and measures (``analysis.py``);
- ``render_overlay(image, result)`` draws what was found, for the practitioner to check;
- ``corrections.apply`` adds or removes hairs so that the corrected figures are stored;
- ``calibration`` turns a device profile or a ruler image into micrometres per pixel;
- ``synth`` draws images with ground truth and ``evaluate`` scores an analysis against it.
"""

from .analysis import VERSION, analyze
from .errors import CalibrationError, ImageRejected, RegionError, TrichoscopyError
from .overlay import render_overlay
from .result import Correction, Hair, Result, Roi

__version__ = VERSION

__all__ = [
    "CalibrationError",
    "Correction",
    "Hair",
    "ImageRejected",
    "RegionError",
    "Result",
    "Roi",
    "TrichoscopyError",
    "__version__",
    "analyze",
    "render_overlay",
]
