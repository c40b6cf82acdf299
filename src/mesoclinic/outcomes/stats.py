"""Statistics of the outcomes page: changes from baseline, responders, cohort differences (pure).

Plain Python (the standard library only): numbers in, numbers out, no Django, no database.

A cohort's result at a review point comes from pairs ``(baseline, follow_up)``, one per
patient's course that has both numbers:

- ``summarise``: count, mean, standard deviation, median, quartiles, range of a list.
- ``paired_change``: the mean change from baseline with a paired t interval, and the mean
  percentage change (over the patients whose baseline is not 0) with its own t interval.
- ``responders``: how many patients changed by at least a threshold percentage in the
  better direction, with a Wilson interval (``safety.stats.wilson``).
- ``welch_difference``: two cohorts' mean changes compared, first minus second, with a
  Welch-Satterthwaite t interval (no assumption that the two spreads are equal).
- ``newcombe_difference``: two responder rates compared, first minus second, with
  Newcombe's hybrid score interval (1998, method 10), built from the two Wilson intervals.

Intervals are two-sided at ``confidence`` (0.95 by default) and reuse ``safety.stats.Interval``
(``low <= high``; here the bounds are in the unit of the estimate, not necessarily 0..1).
Means and standard deviations are computed with ``math.fsum`` (an exactly rounded sum; a
second pass over the deviations, scaled so nothing overflows), the mean clamped to the data's
range, so equal values have that value as their mean and a standard deviation of exactly 0;
exact fraction arithmetic (``statistics.mean``) was several times slower on a cohort of
100,000 pairs. Every interval contains its estimate. With fewer than 2 patients in a group
there is no interval (``None``): the page shows the counts alone. Every function refuses NaN
and infinities (``ValueError``) rather than spreading them into the page, and a confidence
outside (0, 1).

The t quantiles come from the regularised incomplete beta function (``core.special``),
solved for the quantile by Newton's method on the log of the tail, kept bracketed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from mesoclinic.core.special import log_beta, regularized_incomplete_beta
from mesoclinic.safety.stats import Interval, wilson

__all__ = [
    "CORNISH_FISHER_DF",
    "THRESHOLD_TOLERANCE",
    "Difference",
    "PairedChange",
    "Responders",
    "Summary",
    "newcombe_difference",
    "paired_change",
    "percent_change",
    "responders",
    "summarise",
    "t_quantile",
    "welch_difference",
]


# --- Student's t quantile -----------------------------------------------------------------

# The solver works on u = log t between the smallest and the largest positive double.
_LOG_T_MIN = math.log(5e-324)
_LOG_T_MAX = math.log(1.7976931348623157e308)
_U_TOL = 1e-15  # a relative change of t below this ends the search
_MAX_STEPS = 300
# From this many degrees of freedom on, t_quantile uses the Cornish-Fisher expansion: the
# terms it leaves out are below 1e-13 relative even for a tail of 1e-300 (checked against
# 60-digit arithmetic).
CORNISH_FISHER_DF = 1e5


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom.

    ``0 < p < 1`` and ``df > 0`` (not necessarily whole: Welch's df is not); ``df`` may be
    ``math.inf``, which gives the standard normal quantile. ``ValueError`` otherwise, NaN
    included. Accurate to better than 1e-12 relative, about 1e-14 for a few degrees of
    freedom (checked against 40-digit arithmetic for df from 0.5 to 30 000 and p from 1e-12
    to 1 - 1e-12, and against the closed forms at 1 and 2 df). ``t_quantile(0.5, df)`` is
    0, and ``t_quantile(1 - p, df) == -t_quantile(p, df)`` exactly when ``1 - p`` is exact.
    Where the quantile is beyond the largest double (a ``df`` far below 1 and an extreme
    ``p``) the result is ``±math.inf``.

    Up to ``CORNISH_FISHER_DF`` degrees of freedom the tail of the distribution is solved
    for the quantile; beyond, the incomplete beta's continued fraction loses digits (its
    argument is within 1e-4 of 1) while the expansion of the quantile in powers of 1/df
    about the normal quantile is accurate to 1e-13 or better, so that is used.
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, exclusive (got {p}).")
    if not df > 0:
        raise ValueError(f"The degrees of freedom must be positive (got {df}).")
    if p == 0.5:
        return 0.0
    if math.isinf(df):
        return statistics.NormalDist().inv_cdf(p)
    # Solve for the upper tail q < 1/2 (exact: 1 - p has no rounding error for p > 1/2).
    q = 1 - p if p > 0.5 else p
    t = _cornish_fisher(q, df) if df >= CORNISH_FISHER_DF else _upper_tail_quantile(q, df)
    return t if p > 0.5 else -t


def _upper_tail_quantile(q: float, df: float) -> float:
    """The t > 0 with P(T > t) = q, for 0 < q < 1/2.

    Works on u = log t, where log P(T > e**u) falls from log(1/2) to about log(C) - df * u, so
    Newton's steps are nearly exact far out in the tail (a heavy-tailed t with 1 or 2
    degrees of freedom) and quadratic near the normal. Each evaluation narrows a bracket of
    the root and a step that would leave it is replaced by bisection, so the search ends
    whatever the start; from the Cornish-Fisher guess it takes three or four steps.
    """
    log_q = math.log(q)
    log_b = log_beta(0.5, df / 2)

    def g(u: float) -> tuple[float, float]:
        """log P(T > e**u) - log q, and its slope in u."""
        log_tail, log_density = _log_t_tail(u, df, log_b)
        # d/du log P(T > t) = -t f(t) / P(T > t).
        slope = -math.exp(min(log_density + u - log_tail, 700.0))
        return log_tail - log_q, slope

    lo, hi = _LOG_T_MIN, _LOG_T_MAX
    if g(hi)[0] > 0:  # even the largest double is not far enough out
        return math.inf
    if df < 2:  # heavy tails: P(T > t) is close to its power law from t = 5 or so
        u = (_log_power_law(df, log_b) - log_q) / df
    else:
        u = math.log(max(_cornish_fisher(q, df), 1e-300))
    if not lo < u < hi:
        u = (lo + hi) / 2
    for _ in range(_MAX_STEPS):
        value, slope = g(u)
        if value == 0:
            break
        if value > 0:  # the tail at e**u is still heavier than q: the root is further out
            lo = u
        else:
            hi = u
        nxt = u - value / slope if slope < 0 else math.nan
        if not lo < nxt < hi:  # also catches NaN
            nxt = (lo + hi) / 2
        if abs(nxt - u) <= _U_TOL or hi - lo <= _U_TOL:
            u = nxt
            break
        u = nxt
    return math.exp(u)


# Beyond t**2 / df = e**70 (1e30), x = df / (df + t**2) is below 1e-30 and the first term of
# I_x(a, b) = x**a / (a B(a, b)) (1 + O(x)) is the tail to the last bit.
_LOG_R2_POWER_LAW = 70.0


def _log_t_tail(u: float, df: float, log_b: float) -> tuple[float, float]:
    """``log P(T > t)`` and ``log f(t)`` (the density) at t = e**u; ``log_b = log B(1/2, df/2)``.

    P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t**2) = 1 - y. The smaller of x and y
    is formed directly (no ``1 - (almost 1)``) and passed to the incomplete beta, on its side
    of the symmetry I_x(a, b) = 1 - I_{1-x}(b, a). Far out (t beyond 1e15 sqrt(df)) the tail's
    power law is used in logs, so neither t**2 overflows nor the tail underflows.
    """
    log_r2 = 2 * u - math.log(df)  # log(t**2 / df)
    if log_r2 > _LOG_R2_POWER_LAW:
        log_tail = _log_power_law(df, log_b) - df * u
        log_density = -(df + 1) / 2 * log_r2 - 0.5 * math.log(df) - log_b
        return log_tail, log_density
    r2 = math.exp(log_r2)
    if r2 <= 1:
        two_sided = regularized_incomplete_beta(r2 / (1 + r2), 0.5, df / 2, upper=True)
    else:
        two_sided = regularized_incomplete_beta(1 / (1 + r2), df / 2, 0.5)
    log_tail = math.log(two_sided / 2) if two_sided > 0 else -math.inf
    log_density = -(df + 1) / 2 * math.log1p(r2) - 0.5 * math.log(df) - log_b
    return log_tail, log_density


def _log_power_law(df: float, log_b: float) -> float:
    """``log C`` with P(T > t) ~ C t**-df for large t: C = df**(df/2) / (df B(1/2, df/2))."""
    return df / 2 * math.log(df) - math.log(df) - log_b


def _cornish_fisher(q: float, df: float) -> float:
    """The upper-tail t quantile from the normal quantile's expansion in powers of 1/df.

    (Abramowitz and Stegun 26.7.5, four terms.) Accurate to 1e-13 relative or better from
    ``CORNISH_FISHER_DF``; within 1e-6 relative from 30 degrees of freedom at the usual
    levels and within 1 % at 2, where it is the solver's first guess.
    """
    z = -statistics.NormalDist().inv_cdf(q)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    inv = 1 / df
    return z + inv * (g1 + inv * (g2 + inv * (g3 + inv * g4)))


# --- Checks ---------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    """The mean (``values`` not empty), never outside the values' range."""
    mean = math.fsum(values) / len(values)
    return min(max(mean, min(values)), max(values))


def _stdev(values: Sequence[float], mean: float) -> float:
    """The sample standard deviation (n - 1; at least 2 values): 0 exactly when all are
    equal. The deviations are scaled by the largest before squaring, so extreme values
    (a percentage change from a baseline near 0) neither overflow nor underflow."""
    if min(values) == max(values):
        return 0.0
    deviations = [v - mean for v in values]
    scale = max(abs(d) for d in deviations)
    if not math.isfinite(scale):  # beyond float range: exact arithmetic
        return statistics.stdev(values)
    return scale * math.sqrt(math.fsum((d / scale) ** 2 for d in deviations) / (len(values) - 1))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:  # also refuses NaN
        raise ValueError(f"The confidence must be between 0 and 1, exclusive (got {confidence}).")


def _finite(values: Sequence[float], what: str) -> list[float]:
    """``values`` as floats; ``ValueError`` naming the first that is NaN or infinite."""
    out = [float(v) for v in values]
    for i, v in enumerate(out):
        if not math.isfinite(v):
            raise ValueError(f"{what} must be finite numbers (got {v} at position {i}).")
    return out


def _finite_pairs(pairs: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for i, (baseline, follow_up) in enumerate(pairs):
        b, f = float(baseline), float(follow_up)
        if not (math.isfinite(b) and math.isfinite(f)):
            raise ValueError(
                f"Baseline and follow-up must be finite numbers (got ({b}, {f}) at position {i})."
            )
        out.append((b, f))
    return out


def _t_interval(mean: float, sd: float, n: int, confidence: float) -> Interval:
    """``mean ± t_{(1+c)/2}(n - 1) * sd / sqrt(n)``; the point ``(mean, mean)`` when sd is 0."""
    half = t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(low=mean - half, high=mean + half)


# --- Moments: what a database can sum ---------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """The count, mean and sample standard deviation (None under 2 values) of a list of
    numbers: all a t interval or a Welch difference needs, so a cohort of 100,000 courses
    can be summed by the database instead of sent to Python value by value."""

    n: int
    mean: float
    sd: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Moments | None:
        """Of a list of finite numbers (``math.fsum``, the most exact); None when empty."""
        if not values:
            return None
        mean = _mean(values)
        return cls(len(values), mean, _stdev(values, mean) if len(values) >= 2 else None)

    @classmethod
    def from_sums(cls, n: int, total: float, total_of_squares: float) -> Moments | None:
        """From ``n``, the sum and the sum of squares (as SQL's SUM gives them); None for
        n = 0. The variance is ``(sum of squares - total**2 / n) / (n - 1)``, never below 0:
        exact enough for hair counts and widths (values under 10**4, n under 10**7), where
        the rounding of the sums is far below any spread a clinic measures."""
        if n <= 0:
            return None
        for value in (total, total_of_squares):
            if not math.isfinite(value):
                raise ValueError("The sums must be finite numbers.")
        mean = total / n
        if n < 2:
            return cls(n, mean, None)
        variance = max(0.0, (total_of_squares - total * total / n) / (n - 1))
        return cls(n, mean, math.sqrt(variance))


# --- One list of numbers --------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Count, centre and spread of a list of numbers.

    ``sd`` is the sample standard deviation (divisor n - 1), ``None`` for a single value.
    The quartiles are those of ``statistics.quantiles(values, n=4, method="inclusive")``
    (linear interpolation between order statistics, the default of R, NumPy and
    spreadsheets' QUARTILE.INC): ``q1`` is the value at rank ``(n - 1) / 4`` counted from 0,
    ``q3`` at ``3 (n - 1) / 4``; with one value all three quartiles are that value.
    ``min <= q1 <= median <= q3 <= max``.
    """

    n: int
    mean: float
    sd: float | None
    median: float
    q1: float
    q3: float
    min: float
    max: float


def summarise(values: Sequence[float]) -> Summary | None:
    """The ``Summary`` of ``values``; ``None`` when there are none.

    ``ValueError`` for NaN or an infinity among the values.
    """
    data = sorted(_finite(values, "Values"))
    if not data:
        return None
    if len(data) == 1:
        v = data[0]
        return Summary(n=1, mean=v, sd=None, median=v, q1=v, q3=v, min=v, max=v)
    q1, median, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return Summary(
        n=len(data),
        mean=(mean := _mean(data)),
        sd=_stdev(data, mean) if len(data) >= 2 else None,
        median=median,
        q1=q1,
        q3=q3,
        min=data[0],
        max=data[-1],
    )


# --- Change from baseline -------------------------------------------------------------------


def percent_change(baseline: float, follow_up: float) -> float | None:
    """The change from ``baseline`` to ``follow_up`` in per cent of the baseline's size.

    ``100 * (follow_up - baseline) / abs(baseline)``: the usual ``(f - b) / b`` for the
    measures here, which are never negative, and with the change's sign for any baseline.
    ``None`` when the baseline is 0, so no percentage exists (or so close to 0, below 1e-300
    or so, that the percentage would be beyond the largest float). ``ValueError`` for NaN or
    infinities.
    """
    ((b, f),) = _finite_pairs([(baseline, follow_up)])
    return _percent(b, f)


def _percent(baseline: float, follow_up: float) -> float | None:
    if baseline == 0:
        return None
    pct = 100 * (follow_up - baseline) / abs(baseline)
    return pct if math.isfinite(pct) else None


def _percents(pairs: list[tuple[float, float]]) -> list[float]:
    """The percentage changes of the pairs that have one (``percent_change`` not None)."""
    return [pct for b, f in pairs if (pct := _percent(b, f)) is not None]


@dataclass(frozen=True)
class PairedChange:
    """The change from baseline of ``n`` patients (``follow_up - baseline`` each).

    ``change_interval`` is the paired t interval of ``mean_change`` (the one-sample t
    interval of the per-patient changes, n - 1 degrees of freedom); ``None`` when ``n < 2``.
    When every patient changed by the same amount (``sd_change == 0``) it is the point
    ``low == high == mean_change``: the data show no spread to widen it.

    ``mean_percent_change`` is the mean of the per-patient percentage changes
    (``percent_change``) of the ``n_percent`` patients who have one (baseline not 0), in per cent
    (12.5 for +12.5 %), with ``percent_change_interval`` its t interval in the same way:
    ``None`` when ``n_percent`` is 0 (no mean) or below 2 (no interval). It is not the
    percentage change of the means.
    """

    n: int
    mean_baseline: float
    mean_follow_up: float
    mean_change: float
    sd_change: float | None  # None when n < 2
    change_interval: Interval | None
    n_percent: int
    mean_percent_change: float | None
    percent_change_interval: Interval | None


def paired_change(
    pairs: Sequence[tuple[float, float]], *, confidence: float = 0.95
) -> PairedChange | None:
    """The change from baseline of ``pairs`` of ``(baseline, follow_up)``, one per patient.

    ``None`` when there are no pairs. Guarantees ``low <= mean <= high`` for each interval.
    ``ValueError`` for NaN or infinities, or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    data = _finite_pairs(pairs)
    change = Moments.of([f - b for b, f in data])
    if change is None:
        return None
    return paired_change_from_moments(
        mean_baseline=_mean([b for b, _ in data]),
        mean_follow_up=_mean([f for _, f in data]),
        change=change,
        percent=Moments.of(_percents(data)),
        confidence=confidence,
    )


def paired_change_from_moments(
    *,
    mean_baseline: float,
    mean_follow_up: float,
    change: Moments,
    percent: Moments | None,
    confidence: float = 0.95,
) -> PairedChange:
    """As ``paired_change``, from the moments of the per-patient changes and of their
    percentage changes (the pairs whose baseline is not 0): what a database sums."""
    _check_confidence(confidence)
    return PairedChange(
        n=change.n,
        mean_baseline=mean_baseline,
        mean_follow_up=mean_follow_up,
        mean_change=change.mean,
        sd_change=change.sd,
        change_interval=(
            _t_interval(change.mean, change.sd, change.n, confidence)
            if change.sd is not None
            else None
        ),
        n_percent=percent.n if percent else 0,
        mean_percent_change=percent.mean if percent else None,
        percent_change_interval=(
            _t_interval(percent.mean, percent.sd, percent.n, confidence)
            if percent is not None and percent.sd is not None
            else None
        ),
    )


# --- Responders -----------------------------------------------------------------------------

# A percentage change within this many percentage points of the threshold counts as reaching
# it: 0.30 to 0.33 is 10 % in decimal but 10.000000000000009 or 9.99999999999999 in binary.
THRESHOLD_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Responders:
    """How many (``responders``) of ``n`` patients changed by the threshold percentage or more.

    ``n`` leaves out the ``excluded`` patients whose baseline is 0 (they have no percentage
    change: ``percent_change`` is None). ``proportion`` is ``responders / n`` (0..1),
    ``None`` when ``n`` is 0; ``interval`` its Wilson score interval (within 0..1), ``None``
    when ``n < 2``.
    """

    responders: int
    n: int
    proportion: float | None
    interval: Interval | None
    excluded: int


def responders(
    pairs: Sequence[tuple[float, float]],
    *,
    threshold_percent: float,
    higher_is_better: bool = True,
    confidence: float = 0.95,
) -> Responders | None:
    """How many of ``pairs`` (``(baseline, follow_up)``) changed enough in the better direction.

    A responder's ``percent_change`` is at least ``threshold_percent`` (an increase of 10 %
    or more for 10), or at most ``-threshold_percent`` when lower is better; exactly the
    threshold counts (to ``THRESHOLD_TOLERANCE``). ``None`` when there are no pairs.
    ``ValueError`` for NaN or infinities, a negative or non-finite threshold, or a
    confidence outside (0, 1).
    """
    _check_confidence(confidence)
    if not (math.isfinite(threshold_percent) and threshold_percent >= 0):
        raise ValueError(
            f"The threshold must be a finite percentage, 0 or more (got {threshold_percent})."
        )
    data = _finite_pairs(pairs)
    if not data:
        return None
    percents = _percents(data)
    edge = responder_edge(threshold_percent, higher_is_better=higher_is_better)
    if higher_is_better:
        count = sum(1 for pct in percents if pct >= edge)
    else:
        count = sum(1 for pct in percents if pct <= edge)
    return responders_from_counts(
        responders=count, n=len(percents), excluded=len(data) - len(percents), confidence=confidence
    )


def responder_edge(threshold_percent: float, *, higher_is_better: bool) -> float:
    """The percentage change a responder reaches: at least this when higher is better, at
    most this when lower is better (the threshold itself counts, to THRESHOLD_TOLERANCE)."""
    edge = threshold_percent - THRESHOLD_TOLERANCE
    return edge if higher_is_better else -edge


def responders_from_counts(
    *, responders: int, n: int, excluded: int = 0, confidence: float = 0.95
) -> Responders:
    """``responders`` of ``n`` patients (with a percentage change), Wilson interval from 2."""
    _check_confidence(confidence)
    if not 0 <= responders <= n:
        raise ValueError(f"{responders} responders cannot be counted among {n} patients.")
    return Responders(
        responders=responders,
        n=n,
        proportion=responders / n if n else None,
        interval=wilson(responders, n, confidence=confidence) if n >= 2 else None,
        excluded=excluded,
    )


# --- Two cohorts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A difference between two cohorts, first minus second, with its interval.

    ``interval`` contains ``estimate``; ``None`` when a group has fewer than 2 patients.
    ``df`` is the Welch-Satterthwaite degrees of freedom of ``welch_difference`` (``None``
    when there is no interval, when the interval is a point, and for
    ``newcombe_difference``).
    """

    estimate: float
    interval: Interval | None
    df: float | None


def welch_difference(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95
) -> Difference | None:
    """The difference of the means of ``a`` and ``b`` (``mean(a) - mean(b)``), Welch's interval.

    The interval is ``estimate ± t_{(1+c)/2}(df) * se`` with ``se**2 = va/na + vb/nb``
    (sample variances) and the Welch-Satterthwaite ``df = se**4 / ((va/na)**2 / (na - 1) +
    (vb/nb)**2 / (nb - 1))``, which lies between ``min(na, nb) - 1`` and ``na + nb - 2``.
    ``None`` when either group is empty; no interval when either has fewer than 2 values.
    When neither group varies (both variances 0) the interval is the point
    ``low == high == estimate`` and ``df`` is ``None`` (0/0). ``ValueError`` for NaN or
    infinities, or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    first = Moments.of(_finite(a, "Values"))
    second = Moments.of(_finite(b, "Values"))
    if first is None or second is None:
        return None
    return welch_from_moments(first, second, confidence=confidence)


def welch_from_moments(a: Moments, b: Moments, *, confidence: float = 0.95) -> Difference:
    """As ``welch_difference``, from the two groups' moments."""
    _check_confidence(confidence)
    estimate = a.mean - b.mean
    na, nb = a.n, b.n
    if a.sd is None or b.sd is None:
        return Difference(estimate=estimate, interval=None, df=None)
    # Standard errors, never squared on their own: nothing under- or overflows.
    se_a = a.sd / math.sqrt(na)
    se_b = b.sd / math.sqrt(nb)
    se = math.hypot(se_a, se_b)
    if se == 0:
        return Difference(estimate=estimate, interval=Interval(estimate, estimate), df=None)
    # se**4 / ((se_a**2)**2 / (na - 1) + (se_b**2)**2 / (nb - 1)), with shares in 0..1.
    share_a, share_b = (se_a / se) ** 2, (se_b / se) ** 2
    df = 1 / (share_a**2 / (na - 1) + share_b**2 / (nb - 1))
    half = t_quantile((1 + confidence) / 2, df) * se
    return Difference(estimate=estimate, interval=Interval(estimate - half, estimate + half), df=df)


def newcombe_difference(
    k1: int, n1: int, k2: int, n2: int, *, confidence: float = 0.95
) -> Difference | None:
    """The difference of two proportions ``k1/n1 - k2/n2``, Newcombe's hybrid score interval.

    Newcombe (1998, Statistics in Medicine 17:873, method 10): with Wilson intervals
    ``(l1, u1)`` and ``(l2, u2)``, ``low = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)`` and
    ``high = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)``; it stays within -1..1, is not zero-width
    at 0 or all responders, and keeps near its nominal coverage at small counts. ``None``
    when either group is empty; no interval when either has fewer than 2 patients; ``df`` is
    ``None``. ``ValueError`` for negative counts, more responders than patients, or a
    confidence outside (0, 1).
    """
    # wilson checks the counts and the confidence, and gives None for an empty group.
    w1 = wilson(k1, n1, confidence=confidence)
    w2 = wilson(k2, n2, confidence=confidence)
    if w1 is None or w2 is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    estimate = p1 - p2
    if n1 < 2 or n2 < 2:
        return Difference(estimate=estimate, interval=None, df=None)
    low = estimate - math.hypot(p1 - w1.low, w2.high - p2)
    high = estimate + math.hypot(w1.high - p1, p2 - w2.low)
    return Difference(estimate=estimate, interval=Interval(low, high), df=None)
