"""Errors the trichoscopy library raises for input it will not analyse.

Every refusal is a ``TrichoscopyError`` (a ``ValueError``) whose message can be shown to the
person who supplied the input as it stands: it says what is wrong and what to do instead.
"""


class TrichoscopyError(ValueError):
    """Input the library refuses, with a message fit to show as it stands."""


class ImageRejected(TrichoscopyError):
    """The file or array is not an image the analysis can read (empty, corrupt, too large)."""


class CalibrationError(TrichoscopyError):
    """No usable micrometres-per-pixel figure: missing, not positive, or not found on a ruler."""


class RegionError(TrichoscopyError):
    """The region of interest does not lie inside the image or is too small to count in."""
