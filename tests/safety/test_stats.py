"""Rates, intervals and the lot comparison (safety/stats.py). Pure: no database.

Expected values are worked out by hand in the comments, taken from published tables, or
recomputed here by brute force (the binomial and hypergeometric probabilities summed exactly
with math.comb and Fraction, the bounds found by bisection), never by the code under test.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.safety.stats import (
    Comparison,
    Interval,
    Rate,
    clopper_pearson,
    compare_with_rest,
    fisher_greater,
    rate,
    wilson,
)

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution


# --- Independent reference computations ----------------------------------------------------


def binomial_at_least(k: int, n: int, p: float) -> Fraction:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly (p taken as the exact binary float)."""
    q = Fraction(p)
    return sum((math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k, n + 1)), Fraction(0))


def bisect(is_high_enough: Callable[[float], bool], lo: float = 0.0, hi: float = 1.0) -> float:
    """The boundary of an up-closed predicate on [0, 1], to the last bit (plain bisection)."""
    while True:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            return hi
        if is_high_enough(mid):
            hi = mid
        else:
            lo = mid


def brute_force_clopper_pearson(k: int, n: int, tail: float = 0.025) -> tuple[float, float]:
    """The exact bounds by definition: P(X >= k) = tail and P(X <= k) = tail."""
    t = Fraction(tail)
    low = 0.0 if k == 0 else bisect(lambda p: binomial_at_least(k, n, p) >= t)
    high = 1.0 if k == n else bisect(lambda p: 1 - binomial_at_least(k + 1, n, p) <= t)
    return low, high


def brute_force_wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson bounds by definition: where the score statistic |k/n - p| / se(p) equals z."""
    phat = k / n

    def score(p: float) -> float:
        return abs(phat - p) / math.sqrt(p * (1 - p) / n) if 0 < p < 1 else math.inf

    low = 0.0 if k == 0 else bisect(lambda p: p >= phat or score(p) <= z, 0.0, phat)
    high = 1.0 if k == n else bisect(lambda p: score(p) >= z, phat, 1.0)
    return low, high


def hypergeometric_at_least(a: int, n_a: int, b: int, n_b: int) -> Fraction:
    """The one-sided Fisher p-value by definition: P(X >= a) with the table's margins."""
    events, total = a + b, n_a + n_b
    favourable = sum(
        math.comb(events, x) * math.comb(total - events, n_a - x)
        for x in range(a, min(events, n_a) + 1)
    )
    return Fraction(favourable, math.comb(total, n_a))


# --- Wilson by hand ----------------------------------------------------------------------------


def test_wilson_1_of_10_by_hand() -> None:
    # z = 1.959964, z^2 = 3.841459, n = 10, p = 0.1:
    #   z^2/n  = 0.384146            denominator = 1 + 0.384146 = 1.384146
    #   centre = (p + z^2/2n) / den = (0.1 + 0.192073) / 1.384146 = 0.292073 / 1.384146
    #          = 0.211013
    #   half   = z / den * sqrt(p(1 - p)/n + z^2/4n^2)
    #          = 1.416010 * sqrt(0.009 + 0.009604) = 1.416010 * 0.136395 = 0.193137
    #   bounds = 0.211013 -+ 0.193137 = (0.017876, 0.404150)
    interval = wilson(1, 10)
    assert interval is not None
    assert interval.low == pytest.approx(0.017876, abs=1e-6)
    assert interval.high == pytest.approx(0.404150, abs=1e-6)


def test_wilson_0_of_20_by_hand() -> None:
    # n = 20, p = 0: z^2/n = 0.192073, denominator = 1.192073,
    #   centre = (0 + 0.096036) / 1.192073 = 0.080563
    #   half   = z / den * sqrt(0 + z^2/4n^2) = 1.644164 * 0.048999 = 0.080563 (= centre)
    #   bounds = (0, 0.161125); the high bound is z^2 / (n + z^2) = 3.841459 / 23.841459.
    interval = wilson(0, 20)
    assert interval is not None
    assert interval.low == 0.0
    assert interval.high == pytest.approx(0.161125, abs=1e-6)
    assert interval.high == pytest.approx(Z95**2 / (20 + Z95**2), rel=1e-12)


def test_rate_3_of_150_by_hand() -> None:
    # 3 / 150 = 0.02, so 2.0 per 100 sessions. Wilson: z^2/n = 0.025610, den = 1.025610,
    #   centre = (0.02 + 0.012805) / 1.025610 = 0.031986
    #   half   = 1.911023 * sqrt(0.02 * 0.98 / 150 + 3.841459 / 90000)
    #          = 1.911023 * sqrt(0.000130667 + 0.000042683) = 1.911023 * 0.013166 = 0.025161
    #   bounds = (0.006825, 0.057147), so 0.68 to 5.71 per 100.
    r = rate(3, 150)
    assert r.per_100 == 2.0
    assert r.has_data is True
    assert r.wilson is not None
    low, high = r.wilson.per_100()
    assert low == pytest.approx(0.6825, abs=1e-4)
    assert high == pytest.approx(5.7147, abs=1e-4)
    # Clopper-Pearson is wider on both sides here (the conservative one).
    assert r.exact is not None
    assert r.exact.low < r.wilson.low
    assert r.exact.high > r.wilson.high


# --- Published reference values ---------------------------------------------------------------

# Clopper-Pearson: 0/10 has the closed form 1 - 0.025^(1/10) = 0.308497; the others as tabled
# in the literature (and by R's binom.test) to six decimals. Wilson 1/10 is usually published
# as (0.0179, 0.4042); to six decimals it is (0.017876, 0.404150), not the (0.017875, 0.404155)
# sometimes quoted: see the hand computation above and the brute force below.
PUBLISHED = [
    (clopper_pearson, 0, 10, 0.0, 0.30850, 5e-6),
    (clopper_pearson, 1, 10, 0.002529, 0.445016, 5e-7),
    (clopper_pearson, 5, 10, 0.187086, 0.812914, 5e-7),
    (wilson, 1, 10, 0.017876, 0.404150, 5e-7),
]


@pytest.mark.parametrize(("method", "k", "n", "low", "high", "tolerance"), PUBLISHED)
def test_published_values(
    method: Callable[[int, int], Interval | None],
    k: int,
    n: int,
    low: float,
    high: float,
    tolerance: float,
) -> None:
    interval = method(k, n)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=tolerance)
    assert interval.high == pytest.approx(high, abs=tolerance)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (5, 10)])
def test_published_clopper_pearson_values_match_the_brute_force(k: int, n: int) -> None:
    low, high = brute_force_clopper_pearson(k, n)
    expected = {
        (0, 10): (0.0, 0.30850),
        (1, 10): (0.002529, 0.445016),
        (5, 10): (0.187086, 0.812914),
    }
    assert (low, high) == pytest.approx(expected[(k, n)], abs=5e-6)


def test_published_wilson_value_matches_the_brute_force() -> None:
    low, high = brute_force_wilson(1, 10)
    assert (low, high) == pytest.approx((0.017876, 0.404150), abs=5e-7)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 24])
def test_clopper_pearson_matches_the_brute_force_for_every_count(n: int) -> None:
    for k in range(n + 1):
        interval = clopper_pearson(k, n)
        assert interval is not None
        low, high = brute_force_clopper_pearson(k, n)
        assert interval.low == pytest.approx(low, rel=1e-10, abs=1e-15)
        assert interval.high == pytest.approx(high, rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("n", [1, 2, 10, 57, 1000])
def test_wilson_matches_the_brute_force(n: int) -> None:
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        interval = wilson(k, n)
        assert interval is not None
        low, high = brute_force_wilson(k, n)
        assert interval.low == pytest.approx(low, rel=1e-9, abs=1e-15)
        assert interval.high == pytest.approx(high, rel=1e-9, abs=1e-15)


# Ten million trials, where the brute force is too slow: the bounds recomputed with mpmath at
# 45 significant digits (the binomial tail summed term by term, the root by its secant method).
LARGE = [
    (1, 10**7, 2.5317807952240305e-9, 5.5716421173607312e-7),
    (2, 10**7, 2.4220928772116276e-8, 7.2246857803873791e-7),
    (10, 10**7, 4.7953897042701136e-7, 1.8390348326936414e-6),
    (1000, 10**7, 9.3897583667030844e-5, 1.0639487338387987e-4),
    (10**6, 10**7, 0.099814127304905881, 0.1001861043221587),
    (5 * 10**6, 10**7, 0.49969005252137109, 0.50030994747862891),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), LARGE)
def test_clopper_pearson_for_ten_million_trials(k: int, n: int, low: float, high: float) -> None:
    interval = clopper_pearson(k, n)
    assert interval is not None
    assert interval.low == pytest.approx(low, rel=1e-10)
    assert interval.high == pytest.approx(high, rel=1e-10)
    mirrored = clopper_pearson(n - k, n)
    assert mirrored is not None
    assert mirrored.low == pytest.approx(1 - high, rel=1e-10)
    assert mirrored.high == pytest.approx(1 - low, rel=1e-10)


def test_clopper_pearson_is_fast_for_ten_million_trials() -> None:
    # About 0.2 ms each on a laptop; the bound is loose so that a slow CI machine passes, but
    # an algorithm that sums ten million terms would not.
    counts = [0, 1, 2, 7, 150, 10**4, 10**6, 5 * 10**6, 10**7 - 3]
    start = time.perf_counter()
    for k in counts:
        clopper_pearson(k, 10**7)
    assert (time.perf_counter() - start) / len(counts) < 0.02


def test_other_confidence_levels() -> None:
    # 0 of n at confidence c: the exact high bound is 1 - ((1 - c) / 2)^(1/n).
    interval = clopper_pearson(0, 30, confidence=0.9)
    assert interval is not None
    assert interval.high == pytest.approx(1 - 0.05 ** (1 / 30), rel=1e-12)
    z90 = NormalDist().inv_cdf(0.95)
    w = wilson(0, 30, confidence=0.9)
    assert w is not None
    assert w.high == pytest.approx(z90**2 / (30 + z90**2), rel=1e-12)
    wide, narrow = wilson(4, 40, confidence=0.99), wilson(4, 40, confidence=0.8)
    assert wide is not None and narrow is not None
    assert wide.low < narrow.low and narrow.high < wide.high


def test_all_events_and_no_events_have_exact_ends() -> None:
    for method in (wilson, clopper_pearson):
        none = method(0, 8)
        every = method(8, 8)
        assert none is not None and every is not None
        assert none.low == 0.0
        assert every.high == 1.0


# --- Rates -----------------------------------------------------------------------------------


def test_zero_sessions_give_a_rate_without_data() -> None:
    r = rate(0, 0)
    assert r == Rate(events=0, sessions=0, wilson=None, exact=None)
    assert r.per_100 is None
    assert r.has_data is False
    assert wilson(0, 0) is None
    assert clopper_pearson(0, 0) is None


def test_interval_per_100() -> None:
    assert Interval(low=0.0125, high=0.25).per_100() == (1.25, 25.0)


def test_a_rate_carries_both_intervals() -> None:
    r = rate(1, 10)
    assert r.wilson == wilson(1, 10)
    assert r.exact == clopper_pearson(1, 10)
    assert r.per_100 == 10.0


BAD_COUNTS = [(-1, 10), (0, -1), (11, 10), (1, 0)]


@pytest.mark.parametrize(("events", "trials"), BAD_COUNTS)
def test_bad_counts_are_refused(events: int, trials: int) -> None:
    with pytest.raises(ValueError):
        wilson(events, trials)
    with pytest.raises(ValueError):
        clopper_pearson(events, trials)
    with pytest.raises(ValueError):
        rate(events, trials)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, math.nan, 95])
def test_bad_confidence_is_refused(confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson(1, 10, confidence=confidence)
    with pytest.raises(ValueError):
        clopper_pearson(1, 10, confidence=confidence)
    with pytest.raises(ValueError):
        rate(1, 10, confidence=confidence)


# --- Fisher and Bonferroni ---------------------------------------------------------------------


def test_fisher_tea_tasting() -> None:
    # Fisher's lady tasting tea: 3 of 4 cups right against 1 of 4, margins 4 and 4 of 8.
    # P(X >= 3) = [C(4,3) C(4,1) + C(4,4) C(4,0)] / C(8,4) = (16 + 1) / 70 = 0.242857.
    assert fisher_greater(3, 4, 1, 4) == pytest.approx(17 / 70, rel=1e-12)
    assert fisher_greater(3, 4, 1, 4) == pytest.approx(0.2429, abs=5e-5)


def test_fisher_no_events_in_the_lot_is_p_1() -> None:
    assert fisher_greater(0, 100, 5, 1000) == 1.0
    assert fisher_greater(0, 100, 0, 1000) == 1.0


def test_fisher_with_large_groups() -> None:
    # 12 of 1,000 (1.2 %) against 20 of 20,000 (0.1 %): the exact value is about 1.19e-8.
    p = fisher_greater(12, 1000, 20, 20000)
    assert p == pytest.approx(float(hypergeometric_at_least(12, 1000, 20, 20000)), rel=1e-9)
    assert p < 1e-7


def test_fisher_is_fast_with_a_million_sessions_per_group() -> None:
    start = time.perf_counter()
    p = fisher_greater(300, 10**6, 200, 10**6)
    assert time.perf_counter() - start < 0.1
    assert 0 < p < 1e-4


def test_fisher_with_an_empty_group_is_p_1() -> None:
    assert fisher_greater(0, 0, 3, 10) == 1.0
    assert fisher_greater(3, 10, 0, 0) == 1.0


@pytest.mark.parametrize(("a", "n_a", "b", "n_b"), [(-1, 5, 0, 5), (6, 5, 0, 5), (0, 5, 6, 5)])
def test_fisher_refuses_bad_counts(a: int, n_a: int, b: int, n_b: int) -> None:
    with pytest.raises(ValueError):
        fisher_greater(a, n_a, b, n_b)
    with pytest.raises(ValueError):
        compare_with_rest(a, n_a, b, n_b)


def test_bonferroni_threshold() -> None:
    # 4 of 100 against 10 of 1,000: p = 0.0316, below 0.05 but not below 0.05 / 2.
    alone = compare_with_rest(4, 100, 10, 1000)
    assert alone.threshold == 0.05
    assert alone.p_value == pytest.approx(
        float(hypergeometric_at_least(4, 100, 10, 1000)), rel=1e-9
    )
    assert alone.above is True
    among_two = compare_with_rest(4, 100, 10, 1000, comparisons=2)
    assert among_two.threshold == 0.025
    assert among_two.above is False
    assert compare_with_rest(4, 100, 10, 1000, alpha=0.01).above is False
    # 12 of 1,000 against 20 of 20,000 stays above among 5 lots (p ~ 1e-8 < 0.01).
    clear = compare_with_rest(12, 1000, 20, 20000, comparisons=5)
    assert clear.threshold == pytest.approx(0.01)
    assert clear.above is True


def test_a_lot_at_or_below_the_rest_is_never_above() -> None:
    assert compare_with_rest(1, 100, 10, 1000).above is False  # the same proportion
    assert compare_with_rest(0, 100, 10, 1000) == Comparison(
        p_value=1.0, threshold=0.05, above=False
    )
    assert compare_with_rest(3, 10, 0, 0).above is False  # no rest to compare with


@pytest.mark.parametrize(("alpha", "comparisons"), [(0.0, 1), (1.0, 1), (0.05, 0), (0.05, -2)])
def test_compare_refuses_bad_settings(alpha: float, comparisons: int) -> None:
    with pytest.raises(ValueError):
        compare_with_rest(1, 10, 1, 10, alpha=alpha, comparisons=comparisons)


# --- Properties ----------------------------------------------------------------------------------


@st.composite
def counts(draw: st.DrawFn, max_trials: int = 10**6) -> tuple[int, int]:
    n = draw(st.integers(min_value=1, max_value=max_trials))
    k = draw(st.integers(min_value=0, max_value=n))
    return k, n


@given(counts())
def test_intervals_contain_the_observed_proportion(kn: tuple[int, int]) -> None:
    k, n = kn
    for method in (wilson, clopper_pearson):
        interval = method(k, n)
        assert interval is not None
        assert 0.0 <= interval.low <= k / n <= interval.high <= 1.0


@given(counts())
def test_exact_interval_contains_wilsons_centre(kn: tuple[int, int]) -> None:
    k, n = kn
    w, exact = wilson(k, n), clopper_pearson(k, n)
    assert w is not None and exact is not None
    centre = (w.low + w.high) / 2  # (k/n + z^2/2n) / (1 + z^2/n)
    assert exact.low <= centre <= exact.high


@given(counts(max_trials=10**5), st.integers(min_value=2, max_value=20))
def test_intervals_narrow_as_trials_grow(kn: tuple[int, int], factor: int) -> None:
    k, n = kn
    for method in (wilson, clopper_pearson):
        small, large = method(k, n), method(k * factor, n * factor)
        assert small is not None and large is not None
        assert large.high - large.low < small.high - small.low


@given(counts(max_trials=10**6))
def test_clopper_pearson_lower_bound_grows_with_the_count(kn: tuple[int, int]) -> None:
    k, n = kn
    if k == n:
        k -= 1
    this, next_ = clopper_pearson(k, n), clopper_pearson(k + 1, n)
    assert this is not None and next_ is not None
    assert this.low <= next_.low
    assert this.high <= next_.high


@st.composite
def margins(draw: st.DrawFn) -> tuple[int, int, int]:
    n_a = draw(st.integers(min_value=1, max_value=10**6))
    n_b = draw(st.integers(min_value=1, max_value=10**6))
    events = draw(st.integers(min_value=0, max_value=min(n_a + n_b, 150)))
    return n_a, n_b, events


@given(margins())
def test_fisher_p_is_a_probability_that_falls_as_a_rises(m: tuple[int, int, int]) -> None:
    # With the margins fixed (group sizes and total events), moving one event from the rest
    # to the lot can only make "the lot is above" less surprising to chance: P(X >= a) falls.
    n_a, n_b, events = m
    smallest, largest = max(0, events - n_b), min(events, n_a)
    previous = 1.0
    for a in range(smallest, largest + 1):
        p = fisher_greater(a, n_a, events - a, n_b)
        assert 0.0 <= p <= 1.0
        assert p <= previous
        previous = p
    assert fisher_greater(smallest, n_a, events - smallest, n_b) == 1.0


@given(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
    st.data(),
)
def test_fisher_matches_the_exact_sum(n_a: int, n_b: int, data: st.DataObject) -> None:
    a = data.draw(st.integers(min_value=0, max_value=n_a))
    b = data.draw(st.integers(min_value=0, max_value=n_b))
    expected = 1.0 if n_a == 0 or n_b == 0 else float(hypergeometric_at_least(a, n_a, b, n_b))
    assert fisher_greater(a, n_a, b, n_b) == pytest.approx(expected, rel=1e-9, abs=1e-300)
