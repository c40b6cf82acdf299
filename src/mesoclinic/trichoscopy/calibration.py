"""Micrometres per pixel: from a device profile, a number given, or a ruler image.

Every width and density depends on this one figure, so the library never guesses it: a
missing or implausible value is refused with a message saying where to get a right one.

``from_ruler`` measures the scale on an image of a calibration ruler or grid (dark lines at
a known spacing, such as a 10 um-division stage micrometer or a 0.1 mm grid) taken with the
same device and magnification as the patient images.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar

from .errors import CalibrationError
from .imageio import as_rgb_array

# Outside this range the figure is almost certainly a unit slip (mm or nm per pixel, pixels
# per um): at 0.5 um/px a 100 um hair is 200 px wide; at 50 um/px a 30 um vellus hair is
# under one pixel and cannot be measured.
PLAUSIBLE_UM_PER_PX = (0.5, 50.0)

# A ruler fit must explain at least this share of the image's line-to-line variation (after
# removing uneven lighting) to be trusted; clean rulers score above 0.9, noise below 0.1.
MIN_RULER_CONFIDENCE = 0.5
# At least this many lines must be visible across the shorter side, and the lines must be
# this far apart, to measure their spacing.
_MIN_LINES = 4
_MIN_PERIOD_PX = 4.0
# Harmonics of the line pattern are fitted up to this frequency (cycles per pixel): finer
# detail is blurred by the optics and aliased by the pixels.
_MAX_HARMONIC_FREQUENCY = 0.45
_MAX_HARMONICS = 48
# The finest sub-pixel grid (pixels) a ruler profile is sampled on.
_PROFILE_BIN_PX = 0.25


@dataclass(frozen=True)
class DeviceProfile:
    """A named micrometres-per-pixel figure for one device at one magnification and size."""

    name: str
    label: str
    um_per_px: float
    source: str


_GENERIC = (
    "Generic example, not a vendor figure: verify with a ruler image taken on your own "
    "device (calibration.from_ruler) before using it for patients."
)

# Generic examples only. The figures follow from a typical field of view at each
# magnification and the image width; real devices differ by tens of percent, so a clinic
# must measure its own device with a ruler image and record that figure instead.
DEVICE_PROFILES: dict[str, DeviceProfile] = {
    profile.name: profile
    for profile in (
        DeviceProfile(
            name="dermatoscope-20x-1280",
            label="Dermatoscope at 20x, 1280 px wide image (generic example)",
            um_per_px=6.6,
            source=f"Field about 8.5 mm wide over 1280 px. {_GENERIC}",
        ),
        DeviceProfile(
            name="dermatoscope-20x-4000",
            label="Dermatoscope at 20x, 4000 px wide image (generic example)",
            um_per_px=2.1,
            source=f"Field about 8.5 mm wide over 4000 px. {_GENERIC}",
        ),
        DeviceProfile(
            name="dermatoscope-50x-1280",
            label="Dermatoscope at 50x, 1280 px wide image (generic example)",
            um_per_px=2.7,
            source=f"Field about 3.4 mm wide over 1280 px. {_GENERIC}",
        ),
        DeviceProfile(
            name="dermatoscope-70x-1280",
            label="Dermatoscope at 70x, 1280 px wide image (generic example)",
            um_per_px=1.9,
            source=f"Field about 2.4 mm wide over 1280 px. {_GENERIC}",
        ),
    )
}


def from_profile(name: str) -> float:
    """The micrometres per pixel of a named profile in ``DEVICE_PROFILES``.

    Raises ``CalibrationError`` listing the known names when there is no such profile.
    """
    profile = DEVICE_PROFILES.get(name)
    if profile is None:
        known = ", ".join(sorted(DEVICE_PROFILES))
        raise CalibrationError(f"There is no device profile {name!r}. Known profiles: {known}.")
    return profile.um_per_px


def check_um_per_px(value: object) -> float:
    """``value`` as a float, if it is a finite number of micrometres per pixel in the
    plausible range ``PLAUSIBLE_UM_PER_PX`` (exclusive); ``CalibrationError`` otherwise."""
    if value is None:
        raise CalibrationError(
            "The image has no calibration: give micrometres per pixel from the device "
            "profile or a ruler image; the analysis will not guess."
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CalibrationError(
            f"The calibration {value!r} is not a number: give micrometres per pixel, "
            "for example 6.6."
        )
    number = float(value)
    if not math.isfinite(number):
        raise CalibrationError(
            f"The calibration {number} is not a finite number: give micrometres per pixel "
            "from the device profile or a ruler image."
        )
    if number <= 0:
        raise CalibrationError(
            f"The calibration must be a positive number of micrometres per pixel; got {number:g}."
        )
    low, high = PLAUSIBLE_UM_PER_PX
    if not low < number < high:
        raise CalibrationError(
            f"{number:g} µm per pixel is not plausible for a trichoscopy image (expected "
            f"between {low:g} and {high:g}, both excluded). Check the unit (micrometres, not "
            "millimetres) and the device profile, or measure a ruler image."
        )
    return number


@dataclass(frozen=True)
class RulerCalibration:
    """The scale measured on a ruler image.

    ``period_px`` is the distance between neighbouring lines measured at right angles to
    them (so a tilted ruler gives the same figure as a straight one); ``axis`` is the image
    axis the lines' spacing runs along ("x": the lines are roughly vertical); ``angle_deg``
    is the lines' tilt from that axis's perpendicular (positive: turned clockwise on
    screen); ``confidence`` (0..1) is the share of the line-to-line variation the fitted
    periodic pattern explains.
    """

    um_per_px: float
    period_px: float
    axis: Literal["x", "y"]
    confidence: float
    angle_deg: float


def from_ruler(
    image: np.ndarray, spacing_um: float, *, min_confidence: float = MIN_RULER_CONFIDENCE
) -> RulerCalibration:
    """The micrometres per pixel of an image of parallel lines ``spacing_um`` apart.

    Method: the strongest peak of the image's 2-D power spectrum gives the direction across
    the lines. The image is averaged along the lines into a sub-pixel profile across them,
    which measures the spacing at right angles to the lines: a tilted ruler is corrected
    for, not given the cosine error of a row or column projection. The first strong peak
    of the profile's autocorrelation gives a first period; a periodic pattern (fundamental
    and harmonics, over a smooth lighting trend) is then fitted to the profile by least
    squares and the period refined to the best fit, adding harmonics in stages for
    precision. Finally a half or a third of the period is tried, in case the first period
    spanned two or three lines. ``spacing_um`` must be the spacing of the finest lines. On
    synthetic rulers (periods 5-120 px, tilts to 3 degrees) the period is found to within
    0.01 %.

    Raises ``CalibrationError`` when ``spacing_um`` is not a positive number, when fewer
    than four lines fit across the image, when the periodic fit explains less than
    ``min_confidence`` of the variation (not a ruler, or too blurred or noisy), or when the
    result is outside the plausible range.
    """
    if (
        isinstance(spacing_um, bool)
        or not isinstance(spacing_um, numbers.Real)
        or not math.isfinite(spacing_um)
        or spacing_um <= 0
    ):
        raise CalibrationError(
            f"The ruler spacing must be a positive number of micrometres; got {spacing_um!r}."
        )
    rgb = as_rgb_array(image)
    grey = rgb.astype(np.float64).mean(axis=2) / 255.0
    max_period = min(grey.shape) / _MIN_LINES
    peak = _strongest_peak(grey, max_period=max_period)
    if peak is None:
        raise _no_ruler()
    # The peak may be a harmonic of the line spacing (thin lines have many of nearly equal
    # strength), but it points across the lines either way: it gives the direction only.
    angle = math.atan2(peak[1], peak[0])
    first_period = _Profile.along(grey, angle, bin_px=1.0).first_period(max_period=max_period)
    if first_period is None:
        raise _no_ruler()
    # Finer bins than needed only cost time: a fortieth of the period, 0.25 to 1 px.
    bin_px = min(1.0, max(_PROFILE_BIN_PX, first_period / 40))
    profile = _Profile.along(grey, angle, bin_px=bin_px)
    frequency, confidence = profile.fit_frequency(1.0 / first_period)
    frequency, confidence = _finest_spacing(profile, frequency, confidence)
    if confidence < min_confidence:
        raise _no_ruler(confidence)
    period_px = 1.0 / frequency
    # Lines whose spacing runs along x are near-vertical; report the tilt from vertical.
    axis: Literal["x", "y"] = "x" if abs(math.cos(angle)) >= abs(math.sin(angle)) else "y"
    reference = 0.0 if axis == "x" else math.pi / 2
    tilt = (angle - reference + math.pi / 2) % math.pi - math.pi / 2
    um_per_px = float(spacing_um) / period_px
    low, high = PLAUSIBLE_UM_PER_PX
    if not low < um_per_px < high:
        raise CalibrationError(
            f"Lines {spacing_um:g} µm apart, found {period_px:.1f} pixels apart, give "
            f"{um_per_px:.3g} µm per pixel, which is not plausible for a trichoscopy image "
            f"(expected between {low:g} and {high:g}). Check the spacing is in micrometres "
            "(100 for a 0.1 mm grid) and is that of the finest lines."
        )
    return RulerCalibration(
        um_per_px=um_per_px,
        period_px=period_px,
        axis=axis,
        confidence=round(confidence, 4),
        angle_deg=math.degrees(tilt),
    )


def ruler_image(
    period_px: float,
    *,
    size: tuple[int, int] = (480, 640),
    angle_deg: float = 0.0,
    line_width_px: float = 2.0,
    noise: float = 0.02,
    seed: int = 0,
) -> np.ndarray:
    """A synthetic ruler: dark lines ``period_px`` apart (measured at right angles to them)
    on a light background, as an HxWx3 ``uint8`` image of ``size`` (height, width).

    At ``angle_deg`` 0 the lines are vertical; a positive angle turns them clockwise on
    screen. Lines are anti-aliased (each pixel darkened by the share of it a line covers),
    the phase is drawn from ``seed``, and Gaussian noise of standard deviation ``noise``
    (on a 0..1 scale) is added.
    """
    rng = np.random.default_rng(seed)
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = math.radians(angle_deg)
    across = xs * math.cos(angle) + ys * math.sin(angle) - rng.uniform(0.0, period_px)
    # Distance from each pixel centre to the nearest line centre, across the lines.
    offset = np.abs((across + period_px / 2) % period_px - period_px / 2)
    half = line_width_px / 2
    covered = np.clip(np.minimum(offset + 0.5, half) - np.maximum(offset - 0.5, -half), 0, 1)
    grey = 0.8 - 0.6 * covered + rng.normal(0.0, noise, size=covered.shape)
    pixels = np.rint(np.clip(grey, 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(pixels[:, :, np.newaxis], 3, axis=2)


def _no_ruler(confidence: float | None = None) -> CalibrationError:
    found = "" if confidence is None else f" (the best fit explains {confidence:.0%})"
    return CalibrationError(
        "No evenly spaced lines were found in the ruler image"
        f"{found}. Take a sharp, evenly lit image of the ruler or grid, with at least four "
        "lines across the picture, or enter micrometres per pixel from the device profile."
    )


def _finest_spacing(profile: _Profile, frequency: float, confidence: float) -> tuple[float, float]:
    """The highest multiple of ``frequency`` (x2, x3, repeatedly) whose fit explains nearly
    as much (90 %): a pattern with period P also fits at 2P, so the shortest such period is
    the spacing of the finest lines. At half the true spacing only the even harmonics fit,
    typically half of the variation. (A straight ruler with a half-integer period, say
    4.5 px, is sampled alike only every other line, and is caught here.)"""
    improved = True
    while improved:
        improved = False
        for multiple in (2, 3):
            if multiple * frequency > 1.0 / _MIN_PERIOD_PX:
                continue
            candidate, explained = profile.fit_frequency(multiple * frequency)
            if explained >= 0.9 * confidence:
                frequency, confidence, improved = candidate, explained, True
                break
    return frequency, confidence


def _strongest_peak(grey: np.ndarray, *, max_period: float) -> tuple[float, float] | None:
    """The frequency vector (cycles per pixel, x then y) of the strongest periodic pattern
    with a period between ``_MIN_PERIOD_PX`` and ``max_period``, to a fraction of a bin."""
    height, width = grey.shape
    # The Hann window keeps the image's edges from smearing the peak; applied per axis, it
    # needs no second image-sized array.
    windowed = (grey - grey.mean()) * np.hanning(width)[np.newaxis, :]
    windowed *= np.hanning(height)[:, np.newaxis]
    power = np.abs(np.fft.rfft2(windowed)) ** 2
    freq_y = np.fft.fftfreq(height)[:, np.newaxis]
    freq_x = np.fft.rfftfreq(width)[np.newaxis, :]
    radius = np.hypot(freq_x, freq_y)
    allowed = (radius >= 1.0 / max_period) & (radius <= 1.0 / _MIN_PERIOD_PX)
    if not allowed.any():
        return None
    candidates = np.where(allowed, power, -1.0)
    row, col = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    if candidates[row, col] <= 0:
        return None

    def at(ky: int, kx: int) -> float:
        # The spectrum of a real image is symmetric: P(-kx, -ky) = P(kx, ky).
        if kx < 0:
            ky, kx = -ky, -kx
        return float(power[ky % height, kx]) + 1e-300

    ky = int(row) if row <= height // 2 else int(row) - height
    kx = int(col)
    # Gaussian (log-parabola) interpolation: close to exact for a Hann-windowed peak.
    dx = _vertex(math.log(at(ky, kx - 1)), math.log(at(ky, kx)), math.log(at(ky, kx + 1)))
    dy = _vertex(math.log(at(ky - 1, kx)), math.log(at(ky, kx)), math.log(at(ky + 1, kx)))
    return (kx + dx) / width, (ky + dy) / height


def _vertex(left: float, centre: float, right: float) -> float:
    """Offset (-0.5..0.5) of the vertex of the parabola through three equally spaced values."""
    curvature = left - 2 * centre + right
    if curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


@dataclass(frozen=True)
class _Profile:
    """The image averaged along the lines: positions across them (pixels), the mean grey at
    each, how many pixels each mean is of (its weight), and smooth-lighting terms."""

    position: np.ndarray
    grey: np.ndarray
    weight: np.ndarray
    trend: np.ndarray  # one column per term of a cubic over the profile

    @classmethod
    def along(cls, grey: np.ndarray, angle: float, *, bin_px: float) -> _Profile:
        """Pixels binned by their position across lines whose normal points at ``angle``.

        Each bin's position is the mean of its pixels' positions, so sub-pixel detail is
        kept; empty bins (a straight ruler sampled finer than its pixels) are left out.
        """
        height, width = grey.shape
        across = (
            np.arange(height, dtype=np.float64)[:, np.newaxis] * math.sin(angle)
            + np.arange(width, dtype=np.float64)[np.newaxis, :] * math.cos(angle)
        ).ravel()
        index = ((across - across.min()) / bin_px).astype(np.intp)
        counts = np.bincount(index).astype(np.float64)
        filled = counts > 0
        weight = counts[filled]
        position = np.bincount(index, weights=across)[filled] / weight
        mean_grey = np.bincount(index, weights=grey.ravel())[filled] / weight
        centred = (position - position.mean()) / max(float(np.ptp(position)) / 2, 1.0)
        # Uneven lighting and vignetting vary slowly across the image: a cubic absorbs them.
        trend = np.stack([centred**power for power in range(4)], axis=1)
        return cls(position, mean_grey, weight, trend)

    def first_period(self, *, max_period: float) -> float | None:
        """The lag of the first strong peak of the profile's autocorrelation (pixels, to a
        fraction of a pixel), for a profile sampled every pixel: about the line spacing.

        The first peak, not the highest: a ruler's long ticks every fifth or tenth line
        raise later peaks, and the spacing wanted is that of the finest lines.
        """
        residual = self.grey - self.trend @ _weighted_lstsq(self.trend, self.grey, self.weight)
        size = len(residual)
        spectrum = np.fft.rfft(residual, n=2 * size)
        correlation = np.fft.irfft(np.abs(spectrum) ** 2)[:size]
        if correlation[0] <= 0:
            return None
        correlation /= correlation[0]
        # Skip the central peak: start where the correlation first turns negative.
        negative = np.flatnonzero(correlation < 0)
        start = max(int(negative[0]) if len(negative) else size, 2)
        stop = min(int(max_period) + 1, size - 1)
        lags = np.arange(start, stop)
        if len(lags) == 0:
            return None
        middle = correlation[lags]
        peaks = lags[(middle > correlation[lags - 1]) & (middle >= correlation[lags + 1])]
        peaks = peaks[correlation[peaks] > 0]
        if len(peaks) == 0:
            return None
        strong = peaks[correlation[peaks] >= 0.8 * correlation[peaks].max()]
        lag = int(strong[0])
        shift = _vertex(correlation[lag - 1], correlation[lag], correlation[lag + 1])
        return max(lag + shift, _MIN_PERIOD_PX)

    def fit_frequency(self, frequency: float) -> tuple[float, float]:
        """The frequency near ``frequency`` at which a periodic pattern fits the profile
        best, and the share of the detrended variation that pattern explains (0..1).

        The fit starts with the fundamental alone, whose broad optimum the first estimate
        lies within, and fits four times the harmonics at each stage, each stage searching
        a range about its own optimum's width around the previous stage's answer, so that
        no stage is caught by a side lobe.
        """
        harmonics = max(1, min(_MAX_HARMONICS, int(_MAX_HARMONIC_FREQUENCY / frequency)))
        span = float(np.ptp(self.position))
        found = frequency
        order, half_width, samples = 1, max(0.04 * frequency, 0.5 / span), 17
        while True:
            grid = found + np.linspace(-half_width, half_width, samples)
            grid = grid[grid > 0]
            residuals = [self._residual(value, order) for value in grid]
            best = int(np.argmin(residuals))
            low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
            found = float(
                minimize_scalar(
                    lambda value, order=order: self._residual(float(value), order),
                    bounds=(low, high),
                    method="bounded",
                    options={"xatol": frequency * 1e-6},
                ).x
            )
            if order == harmonics:
                break
            order = min(4 * order, harmonics)
            # This stage's optimum is about 1 / (order * span) wide.
            half_width, samples = 1.0 / (order * span), 9
        explained = 1.0 - self._residual(found, harmonics) / self._residual(None, 0)
        return found, float(np.clip(explained, 0.0, 1.0))

    def _residual(self, frequency: float | None, harmonics: int) -> float:
        """Weighted residual sum of squares of the trend plus ``harmonics`` harmonics."""
        columns = [self.trend]
        if frequency is not None:
            # Harmonics as powers of one complex exponential: cheaper than K cosines.
            turn = np.exp(2j * math.pi * frequency * self.position)
            powers = np.cumprod(np.repeat(turn[:, np.newaxis], harmonics, axis=1), axis=1)
            columns += [powers.real, powers.imag]
        design = np.concatenate(columns, axis=1)
        misfit = self.grey - design @ _weighted_lstsq(design, self.grey, self.weight)
        return float((misfit * misfit) @ self.weight)


def _weighted_lstsq(design: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Coefficients minimising the weighted squared misfit of ``design @ c`` to ``target``.

    Normal equations: the columns (a cubic on [-1, 1], sines and cosines) are well
    conditioned, and this is several times faster than an SVD.
    """
    weighted = design * weight[:, np.newaxis]
    try:
        return np.linalg.solve(design.T @ weighted, weighted.T @ target)
    except np.linalg.LinAlgError:
        # A degenerate profile (too few positions for the terms): the minimum-norm fit.
        coefficients, *_ = np.linalg.lstsq(design.T @ weighted, weighted.T @ target)
        return np.asarray(coefficients)
