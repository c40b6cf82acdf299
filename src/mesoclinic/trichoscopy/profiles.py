"""Shaft width from cross profiles, with sub-pixel precision.

Across a hair, the image is the skin seen through a round shaft: the light crossing the
shaft at offset ``t`` from its axis travels a chord ``2 sqrt(r^2 - t^2)`` through it and is
absorbed by Beer-Lambert's law, then the optics blur the profile with a point-spread
function. Twice the distance transform of a thresholded mask quantises the width to whole
pixels and moves with the threshold; the full width at half maximum is biased by blur on
thin hairs and by translucency on pale ones. So the width is the radius of that physical
model fitted to the hair's median cross profile, with the blur measured once per image on
the hairs wide enough to show it. The half-maximum width is kept as a fall-back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .geometry import arc_lengths, in_image

STEP_PX = 0.25  # profile sampling step
# Where the image edge leaves fewer centres than this whole, a profile is not read.
MIN_EDGE_ROWS = 3
EPSILON = float(np.finfo(float).eps)


@dataclass(frozen=True)
class Profile:
    """The median cross profile of one hair and what is read from it."""

    offsets_px: np.ndarray
    values: np.ndarray  # contrast along the hair's own colour direction, 0 = skin
    colour_change: np.ndarray  # mean relative change per channel at the axis (R, G, B)
    samples: int


def resample_path(points: np.ndarray, step_px: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_px`` along the polyline, and their arc length from the start."""
    arc = arc_lengths(points)
    if arc[-1] <= 0:
        return points[:1].astype(float), np.zeros(1)
    s = np.arange(0.0, arc[-1] + 1e-9, step_px)
    x = np.interp(s, arc, points[:, 0])
    y = np.interp(s, arc, points[:, 1])
    return np.stack([x, y], axis=1), s


def tangents(points: np.ndarray, smooth_px: float = 3.0) -> np.ndarray:
    """Unit tangents of an evenly resampled polyline, smoothed over ``smooth_px``."""
    if len(points) < 2:
        return np.tile([1.0, 0.0], (len(points), 1))
    smooth = ndimage.gaussian_filter1d(points, smooth_px, axis=0, mode="nearest")
    d = np.gradient(smooth, axis=0)
    norm = np.hypot(d[:, 0], d[:, 1])[:, None]
    norm[norm < 1e-9] = 1.0
    return d / norm


def cross_profile(
    difference: np.ndarray,
    background_norm: np.ndarray,
    background_mean: np.ndarray,
    centres: np.ndarray,
    normals: np.ndarray,
    half_span_px: float,
    align_within_px: float,
    in_image_within_px: float = 0.0,
) -> Profile | None:
    """The median profile across the hair at ``centres``, each re-centred on its own axis.

    Samples beyond the image's edge are unknown and take no part in the median; a centre
    whose profile leaves the image within ``in_image_within_px`` of the axis is not used
    (near the edge only part of a shaft shows, and its width cannot be read there). None
    when the edge leaves fewer than ``MIN_EDGE_ROWS`` centres (or all, if there are fewer):
    a piece lying along the edge, or a stub at it.

    ``difference`` is image minus background (H x W x 3); the profile is its projection on
    the hair's mean colour change, divided by the background's brightness
    (``background_norm``, the length of its RGB vector), so that it is linear in the
    shaft's opacity whatever the hair's colour (dark, grey or white). ``background_mean`` is
    the background's mean over channels, for the relative colour change at the axis.
    """
    if len(centres) == 0:
        return None
    offsets = np.arange(-half_span_px, half_span_px + 1e-9, STEP_PX)
    xs = centres[:, 0:1] + normals[:, 0:1] * offsets[None, :]
    ys = centres[:, 1:2] + normals[:, 1:2] * offsets[None, :]
    coords = np.stack([ys.ravel(), xs.ravel()])
    channels = [
        ndimage.map_coordinates(difference[..., c], coords, order=1, mode="nearest").reshape(
            xs.shape
        )
        for c in range(3)
    ]
    stack = np.stack(channels, axis=-1)  # samples x offsets x 3
    # Beyond the image nothing is known. Read as the edge's own pixels repeated, a shaft
    # meeting the edge at a slant would seem to go on across the whole profile there.
    outside = ~in_image(np.stack([xs.ravel(), ys.ravel()], axis=1), difference.shape).reshape(
        xs.shape
    )
    stack[outside] = np.nan
    whole = ~(outside & (np.abs(offsets) <= in_image_within_px)[None, :]).any(axis=1)
    if whole.sum() < min(MIN_EDGE_ROWS, len(centres)):
        return None  # a piece along the edge, or a stub at it: its width is not in view
    centres, stack = centres[whole], stack[whole]
    scale = ndimage.map_coordinates(
        background_norm, [centres[:, 1], centres[:, 0]], order=1, mode="nearest"
    )
    scale = np.maximum(scale, 0.05)
    middle = np.abs(offsets) <= max(1.0, align_within_px * 0.3)
    # The centres lie in the image, so the middle is known (but for a sample beyond the
    # edge of a centre on it, taken for no change).
    axis_change = np.nan_to_num(stack[:, middle, :]).mean(axis=1)
    direction = axis_change.mean(axis=0)
    norm = float(np.linalg.norm(direction))
    if norm < 1e-6:
        return None
    direction /= norm
    signed = (stack @ direction) / scale[:, None]
    # Re-centre each profile on its own axis (the skeleton wanders by a pixel or so).
    aligned = []
    near = np.abs(offsets) <= align_within_px
    for row in signed:
        peak = np.nanmax(row[near])
        if not peak > 0:
            continue
        weights = np.nan_to_num(np.clip(row - 0.5 * peak, 0.0, None)) * near
        if weights.sum() <= 0:
            continue
        shift = float((weights * offsets).sum() / weights.sum())
        aligned.append(np.interp(offsets, offsets - shift, row, left=np.nan, right=np.nan))
    if not aligned:
        return None
    rows = np.vstack(aligned)
    # Offsets no shifted profile reaches (or only beyond the image's edge) stay unknown;
    # they are far out on the skin, so 0.
    filled = np.isfinite(rows).any(axis=0)
    values = np.zeros(len(offsets))
    values[filled] = np.nanmedian(rows[:, filled], axis=0)
    bg_mean = ndimage.map_coordinates(
        background_mean, [centres[:, 1], centres[:, 0]], order=1, mode="nearest"
    )
    relative = axis_change.mean(axis=0) / max(float(bg_mean.mean()), 0.05)
    return Profile(offsets_px=offsets, values=values, colour_change=relative, samples=len(aligned))


@functools.lru_cache(maxsize=64)
def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    """The blur's kernel at the profile step (read-only: it is shared between calls, as one
    image's widths are all fitted with its one measured blur)."""
    sigma = max(sigma_px, 0.05) / STEP_PX
    half = math.ceil(4 * sigma)
    t = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    kernel.flags.writeable = False
    return kernel


def shaft_model(
    offsets: np.ndarray,
    centre: float,
    radius: float,
    amplitude: float,
    absorbance: float,
    base: float,
    sigma: float,
) -> np.ndarray:
    """A round shaft's opacity profile (Beer-Lambert along the chord), blurred by the optics."""
    shape = _shapes(offsets, np.array([[centre, radius, absorbance, sigma]]), None)
    return base + amplitude * shape[0]


def _shapes(offsets: np.ndarray, params: np.ndarray, sigma_px: float | None) -> np.ndarray:
    """The blurred opacity profile (unit amplitude, no base) for each row of ``params``:
    centre, radius, absorbance, and the blur when ``sigma_px`` is None. One row per trial,
    so that a Jacobian's trials cost one call. Each row is ``np.convolve(..., "same")``'s,
    which needs a kernel no longer than the profile."""
    centre, radius, absorbance = params[:, 0:1], params[:, 1:2], params[:, 2:3]
    chord = 2.0 * np.sqrt(np.clip(radius**2 - (offsets[None, :] - centre) ** 2, 0.0, None))
    opacity = 1.0 - np.exp(-absorbance * chord)
    if sigma_px is not None:
        return ndimage.convolve1d(opacity, _gaussian_kernel(sigma_px), axis=1, mode="constant")
    return np.stack(
        [
            np.convolve(row, _gaussian_kernel(float(sigma)), mode="same")
            for row, sigma in zip(opacity, params[:, 3], strict=True)
        ]
    )


@dataclass(frozen=True)
class WidthFit:
    width_px: float
    sigma_px: float
    amplitude: float
    fwhm_px: float | None
    residual: float
    converged: bool


def _skin_level(values: np.ndarray) -> float:
    """The profile's level on the skin: the median of its outer eighths."""
    edges = np.concatenate([values[: len(values) // 8], values[-len(values) // 8 :]])
    return float(np.median(edges)) if len(edges) else 0.0


def _crossing(offsets: np.ndarray, values: np.ndarray, i: int, j: int, level: float) -> float:
    """Where the profile crosses ``level`` between samples ``i`` and ``j`` (linear)."""
    vi, vj = values[i], values[j]
    fraction = (level - vi) / (vj - vi) if vj != vi else 0.0
    return float(offsets[i] + fraction * (offsets[j] - offsets[i]))


def half_maximum_width(offsets: np.ndarray, values: np.ndarray) -> float | None:
    """Full width at half maximum, by linear interpolation between samples."""
    centre = len(values) // 2
    window = max(1, len(values) // 3)
    lo, hi = max(0, centre - window), min(len(values), centre + window)
    peak_index = lo + int(np.argmax(values[lo:hi]))
    peak = values[peak_index]
    base = _skin_level(values)
    if peak - base <= 1e-6:
        return None
    half = base + (peak - base) / 2
    left = peak_index
    while left > 0 and values[left] > half:
        left -= 1
    right = peak_index
    while right < len(values) - 1 and values[right] > half:
        right += 1
    if values[left] > half or values[right] > half:
        return None
    return _crossing(offsets, values, right - 1, right, half) - _crossing(
        offsets, values, left, left + 1, half
    )


def outer_half_maximum_width(profile: Profile) -> float | None:
    """The span between the outermost half-maximum crossings (a dip between crests is
    crossed over), by linear interpolation; ``None`` for a profile with no crest."""
    offsets, values = profile.offsets_px, profile.values
    base = _skin_level(values)
    peak = float(values.max(initial=0.0))
    if peak - base <= 1e-6:
        return None
    half = base + (peak - base) / 2
    above = np.nonzero(values >= half)[0]
    first, last = int(above[0]), int(above[-1])
    if first == 0 or last == len(values) - 1:
        return None
    return _crossing(offsets, values, last, last + 1, half) - _crossing(
        offsets, values, first - 1, first, half
    )


def _linear_fit(shapes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``shapes``: the least-squares amplitude and base of
    ``base + amplitude * shape`` against ``values``, in closed form (amplitude 0 where the
    shape is flat)."""
    n = len(values)
    sx, sy = shapes.sum(axis=1), float(values.sum())
    sxx, sxy = (shapes * shapes).sum(axis=1), shapes @ values
    det = n * sxx - sx * sx
    solvable = np.abs(det) >= 1e-12
    amplitude = np.where(solvable, (n * sxy - sx * sy) / np.where(solvable, det, 1.0), 0.0)
    base = np.where(solvable, (sy - amplitude * sx) / n, sy / max(n, 1))
    return amplitude, base


def _projected_residuals(shapes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row of ``shapes``: ``base + amplitude * shape - values`` with the least-squares
    amplitude (no lower than 0) and base solved in closed form (variable projection)."""
    amplitude, base = _linear_fit(shapes, values)
    return base[:, None] + np.maximum(amplitude, 0.0)[:, None] * shapes - values[None, :]


def _levenberg_marquardt(
    residual_rows: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    xtol: float = 1e-5,
    ftol: float = 1e-6,
    max_nfev: int = 120,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bounded least squares for a handful of parameters: the minimiser, its residuals and
    whether it converged (False: ``max_nfev`` evaluations, Jacobians' trials not counted,
    ran out first).

    ``residual_rows`` maps parameter rows to residual rows, so a forward-difference
    Jacobian costs one call. Damped Gauss-Newton steps, each parameter scaled by its
    Jacobian column at the current point (scipy's ``x_scale="jac"`` keeps the largest
    column seen so far, which here held a parameter still after one spurious derivative),
    the damping eased after a step that did what the linear model promised and stiffened
    after one that did not (or that the model could not evaluate); a parameter held at a
    bound by its gradient sits the step out, and steps are clipped to the bounds, so every
    point tried lies within them wherever each range is wider than the difference step
    (about 1.5e-8 of the value). Stops, as MINPACK does, when a step or its gain is
    negligible; a start the model cannot evaluate is returned at once, unconverged. For
    the shaft fits this takes half the time of scipy's trust-region solver, whose own work
    per iteration dominates on so small a problem, and reaches about the same minima
    (decision 0006).
    """
    x = np.clip(start.astype(float), lower, upper)
    residual = residual_rows(x[None, :])[0]
    cost = 0.5 * float(residual @ residual)
    if not math.isfinite(cost):
        return x, residual, False
    nfev = 1
    damping = 1e-3
    size = len(x)
    diagonal = np.arange(size)
    while nfev < max_nfev:
        step_size = math.sqrt(EPSILON) * np.where(x >= 0, 1.0, -1.0) * np.maximum(1.0, np.abs(x))
        step_size = np.where(
            (x + step_size > upper) | (x + step_size < lower), -step_size, step_size
        )
        trials = np.repeat(x[None, :], size, axis=0)
        trials[diagonal, diagonal] = x + step_size
        taken = trials[diagonal, diagonal] - x
        jacobian = ((residual_rows(trials) - residual[None, :]) / taken[:, None]).T
        normal = jacobian.T @ jacobian
        gradient = jacobian.T @ residual
        scale = np.maximum(np.diag(normal), 1e-24)
        while True:
            free = ~(((x <= lower) & (gradient > 0)) | ((x >= upper) & (gradient < 0)))
            step = np.zeros(size)
            try:
                step[free] = np.linalg.solve(
                    normal[np.ix_(free, free)] + damping * np.diag(scale[free]), -gradient[free]
                )
            except np.linalg.LinAlgError:
                damping *= 10.0
                if damping > 1e12:
                    return x, residual, False
                continue
            trial = np.clip(x + step, lower, upper)
            step = trial - x
            trial_residual = residual_rows(trial[None, :])[0]
            nfev += 1
            trial_cost = 0.5 * float(trial_residual @ trial_residual)
            if not math.isfinite(trial_cost):
                trial_cost = math.inf  # a step into a region the model cannot evaluate
            predicted = -float(gradient @ step) - 0.5 * float(step @ normal @ step)
            actual = cost - trial_cost
            ratio = actual / predicted if predicted > 0 else -1.0
            if ratio > 0.75:
                # Eased fast: along the long, flat valleys of this model (an edge held while
                # centre and radius trade off) short damped steps only creep.
                damping /= 10.0
            elif ratio < 0.25:
                damping *= 2.0 if ratio > 0 else 4.0
            weights = np.sqrt(scale)
            small_step = float(np.linalg.norm(weights * step)) <= xtol * (
                xtol + float(np.linalg.norm(weights * x))
            )
            if actual > 0:
                x, residual, cost_before, cost = trial, trial_residual, cost, trial_cost
                if small_step or (actual < ftol * cost_before and predicted < ftol * cost_before):
                    return x, residual, True
                break
            if small_step:
                return x, residual, True
            if nfev >= max_nfev:
                return x, residual, False
    return x, residual, False


def fit_width(
    profile: Profile, *, sigma_px: float | None, max_radius_px: float, initial_width_px: float
) -> WidthFit | None:
    """The shaft model fitted to a median profile; ``sigma_px`` None fits the blur as well.

    Amplitude and base enter the model linearly, so they are solved in closed form for each
    trial of the shape parameters (variable projection): the search runs over centre,
    radius and absorbance (and blur) only, which halves the model evaluations.
    """
    offsets, values = profile.offsets_px, profile.values
    peak = float(values[np.abs(offsets) <= max(1.0, initial_width_px)].max(initial=0.0))
    if peak <= 0:
        return None
    if sigma_px is not None and len(_gaussian_kernel(sigma_px)) > len(values):
        return None  # a blur wider than the profile's span: no width can be read from it
    fwhm = half_maximum_width(offsets, values)
    r0 = float(np.clip((fwhm or initial_width_px) / 2, 0.5, max_radius_px * 0.95))
    start = [0.0, r0, 1.5 / max(r0, 0.5)]
    lower = [-r0 - 1, 0.3, 0.005]
    upper = [r0 + 1, max_radius_px, 20.0]
    if sigma_px is None:
        # The blur's kernel is as long as the profile at most (see above).
        widest = ((len(values) - 1) // 2) * STEP_PX / 4.0
        if widest < 0.25:
            return None  # too short a profile to tell blur from width
        start.append(1.0)
        lower.append(0.2)
        upper.append(min(4.0, widest))
    low, high = np.array(lower), np.array(upper)
    first = np.clip(np.array(start), low + 1e-6, high - 1e-6)
    solution, residual, converged = _levenberg_marquardt(
        lambda rows: _projected_residuals(_shapes(offsets, rows, sigma_px), values),
        first,
        low,
        high,
    )
    shape = _shapes(offsets, solution[None, :], sigma_px)[0]
    amplitude = float(_linear_fit(shape[None, :], values)[0][0])
    radius = float(solution[1])
    absorbance = float(solution[2])
    sigma = float(sigma_px) if sigma_px is not None else float(solution[3])
    rms = float(np.sqrt(np.mean(residual**2)))
    # A radius or blur stopped at its bound is where the search gave up, not a measurement.
    blur_at_bound = sigma_px is None and sigma >= high[3] * 0.999
    return WidthFit(
        width_px=2 * radius,
        sigma_px=sigma,
        amplitude=max(amplitude, 0.0) * (1.0 - math.exp(-absorbance * 2 * radius)),
        fwhm_px=fwhm,
        residual=rms / max(peak, 1e-6),
        converged=converged
        and radius < max_radius_px * 0.999
        and not blur_at_bound
        and amplitude > 0,
    )


def two_peaks(profile: Profile, width_px: float) -> bool:
    """Whether the profile shows two shafts side by side: two crests with a dip between.

    Where two round shafts touch, the light crosses almost no hair, so even opaque shafts
    leave a narrow bright line between them that blur turns into a shallow dip in the
    middle of the combined profile. A highlight on a single shaft dips it off-centre.
    """
    offsets, values = profile.offsets_px, profile.values
    smooth = ndimage.gaussian_filter1d(values, 0.5 / STEP_PX)
    near = np.abs(offsets) <= width_px
    index = np.nonzero(near)[0]
    if len(index) < 5:
        return False
    local = smooth[index]
    local_offsets = offsets[index]
    peaks = [
        i for i in range(1, len(local) - 1) if local[i] >= local[i - 1] and local[i] > local[i + 1]
    ]
    top = local.max()
    peaks = [i for i in peaks if local[i] >= 0.5 * top]
    if len(peaks) < 2:
        return False
    first, last = peaks[0], peaks[-1]
    between = first + int(np.argmin(local[first : last + 1]))
    dip = local[between]
    # The crests' half-maximum centre: the middle of the combined profile.
    above = local_offsets[local >= 0.5 * top]
    middle = (above.min() + above.max()) / 2
    separation = (last - first) * STEP_PX
    return bool(
        dip <= 0.92 * min(local[first], local[last])
        and separation >= 0.35 * width_px
        and abs(local_offsets[between] - middle) <= 0.1 * width_px
    )
