"""Changes from baseline, responders and cohort differences (outcomes/stats.py). Pure: no database.

Expected values are worked out by hand in the comments, taken from published tables, closed
forms, or computed outside the project and written down here, never by the code under test:

- t quantiles: 40-digit arithmetic (mpmath 1.4: ``findroot`` on
  ``betainc(df/2, 1/2, 0, df/(df+t**2), regularized=True)/2 - (1 - p)``), rounded to 25
  digits.
- paired and Welch intervals: scipy 1.17.1 in a throwaway virtual environment, not a
  dependency of the project (the calls are written next to the numbers).
- Newcombe's interval: Newcombe (1998), Statistics in Medicine 17:873-890, Table II.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mesoclinic.core.special import regularized_incomplete_beta
from mesoclinic.outcomes.stats import (
    CORNISH_FISHER_DF,
    Difference,
    PairedChange,
    Responders,
    Summary,
    newcombe_difference,
    paired_change,
    percent_change,
    responders,
    summarise,
    t_quantile,
    welch_difference,
)
from mesoclinic.safety.stats import Interval, wilson

Z975 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution

# Plausible measurements (hair counts, densities, diameters) and changes of them.
values = st.floats(min_value=-1e4, max_value=1e4, allow_subnormal=False)
pairs_of = st.lists(st.tuples(values, values), min_size=2, max_size=30)
groups = st.lists(values, min_size=2, max_size=30)


@st.composite
def two_confidences(draw: st.DrawFn) -> tuple[float, float]:
    """A confidence and a clearly larger one."""
    low = draw(st.floats(min_value=0.05, max_value=0.9))
    return low, low + draw(st.floats(min_value=0.01, max_value=0.09))


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    """``(k, n)`` with ``0 <= k <= n`` and ``n >= 2``."""
    n = draw(st.integers(min_value=2, max_value=500))
    return draw(st.integers(min_value=0, max_value=n)), n


def assert_interval(interval: Interval | None, low: float, high: float, *, rel: float) -> None:
    """``interval`` has the bounds ``low`` and ``high``, each to ``rel`` relative."""
    assert interval is not None
    assert interval.low == pytest.approx(low, rel=rel)
    assert interval.high == pytest.approx(high, rel=rel)


# --- Student's t quantile -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.70620473617470464602168),
        (0.975, 2, 4.302652729749463852320944),
        (0.975, 4, 2.776445105197794357803105),
        (0.975, 5, 2.570581835636315514696246),
        (0.975, 7, 2.364624251592785341680901),
        (0.975, 10, 2.228138851986274748395491),
        (0.975, 30, 2.042272456301238309958042),
        # scipy 1.17.1's t.ppf(0.975, 100) gives 1.9839715184496334, 7e-11 too low: its own
        # t.sf at that point is 0.025000000004, and 40-digit arithmetic agrees with this.
        (0.975, 100, 1.983971518523552286595185),
        (0.95, 4, 2.131846786326650318346867),
        (0.995, 3, 5.840909309733357260681947),
        (0.9, 2.5, 1.730250928807176589590124),  # Welch's df is not whole
    ],
)
def test_t_quantile_matches_40_digit_values(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.999, 1 - 1e-9, 0.3, 1e-6])
def test_t_quantile_matches_the_closed_forms_at_1_and_2_degrees_of_freedom(p: float) -> None:
    """1 df is the Cauchy distribution: tan(pi (p - 1/2)); 2 df: (2p - 1) / sqrt(2p(1 - p))."""
    # tan(pi (p - 1/2)) = ±1 / tan(pi q) for the smaller tail q, which keeps its digits
    # near the pole.
    q = min(p, 1 - p)
    cauchy = math.copysign(1 / math.tan(math.pi * q), p - 0.5)
    assert t_quantile(p, 1) == pytest.approx(cauchy, rel=1e-12)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-12)


def test_t_quantile_far_out_in_a_heavy_tail() -> None:
    # Cauchy: P(T < t) = 1e-300 at t = -1 / tan(pi 1e-300) = -1 / (pi 1e-300).
    assert t_quantile(1e-300, 1) == pytest.approx(-1 / (math.pi * 1e-300), rel=1e-12)
    # With 0.001 df, P(T > t) is about t**-0.001 / 2: the 97.5th percentile is near 20**1000.
    assert t_quantile(0.975, 0.001) == math.inf
    assert t_quantile(0.025, 0.001) == -math.inf


def test_t_quantile_median_is_zero() -> None:
    assert t_quantile(0.5, 3) == 0.0
    assert t_quantile(0.5, math.inf) == 0.0


def test_t_quantile_approaches_the_normal_quantile() -> None:
    # The first term of the expansion in 1/df is (z**3 + z) / (4 df): 2.4e-6 at df = 1e6.
    assert t_quantile(0.975, 1e6) - Z975 == pytest.approx((Z975**3 + Z975) / 4e6, rel=1e-5)
    assert t_quantile(0.975, 1e12) == pytest.approx(Z975, abs=1e-11)
    assert t_quantile(0.975, math.inf) == NormalDist().inv_cdf(0.975)
    assert t_quantile(0.975, 1e300) == pytest.approx(Z975, rel=1e-15)


def test_t_quantile_is_continuous_where_it_switches_to_the_expansion() -> None:
    below = t_quantile(0.975, CORNISH_FISHER_DF * (1 - 1e-12))
    assert below == pytest.approx(t_quantile(0.975, CORNISH_FISHER_DF), rel=1e-12)


# p a multiple of 2**-40, so that 1 - p is exact.
@given(st.integers(1, 2**40 - 1).map(lambda k: k / 2**40), st.floats(min_value=0.5, max_value=1e6))
def test_t_quantile_is_antisymmetric(p: float, df: float) -> None:
    assert t_quantile(1 - p, df) == -t_quantile(p, df)


@given(
    st.floats(min_value=0.5, max_value=0.999),
    st.floats(min_value=1.0, max_value=1e4),
    st.floats(min_value=1.001, max_value=10),
)
def test_t_quantile_falls_towards_the_normal_as_df_grows(
    p: float, df: float, factor: float
) -> None:
    assume(p > 0.5 + 1e-6)
    more = t_quantile(p, df * factor)
    assert NormalDist().inv_cdf(p) <= more <= t_quantile(p, df)


@given(st.floats(min_value=1e-9, max_value=0.98), st.floats(min_value=0.5, max_value=1e6))
def test_t_quantile_rises_with_p(p: float, df: float) -> None:
    assert t_quantile(p, df) < t_quantile(p + 0.01, df)


@pytest.mark.parametrize(
    ("p", "df"), [(0, 5), (1, 5), (-0.1, 5), (math.nan, 5), (0.9, 0), (0.9, -1), (0.9, math.nan)]
)
def test_t_quantile_refuses_bad_input(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, df)


# The incomplete beta function it rests on (core/special.py), against closed forms.


@given(
    st.floats(min_value=0.001, max_value=0.999),
    st.floats(min_value=0.1, max_value=50),
)
def test_incomplete_beta_closed_forms(x: float, a: float) -> None:
    # I_x(a, 1) = x**a and I_x(1, b) = 1 - (1 - x)**b.
    assert regularized_incomplete_beta(x, a, 1) == pytest.approx(x**a, rel=1e-12)
    assert regularized_incomplete_beta(x, 1, a) == pytest.approx(-math.expm1(a * math.log1p(-x)))
    # The complement, computed directly: 1 - I_x(a, 1) = 1 - x**a.
    upper = regularized_incomplete_beta(x, a, 1, upper=True)
    assert upper == pytest.approx(-math.expm1(a * math.log(x)), rel=1e-12)


def test_incomplete_beta_keeps_a_tiny_tail() -> None:
    # 1 - I_x(1, 1) = 1 - x for x = 1 - 2**-52 is 2**-52 exactly, not 1 - (almost 1) = 0.
    x = 1 - 2**-52
    assert regularized_incomplete_beta(x, 1, 1, upper=True) == pytest.approx(2**-52, rel=1e-12)
    assert regularized_incomplete_beta(0.5, 3, 3) == pytest.approx(0.5, rel=1e-14)  # symmetric
    assert regularized_incomplete_beta(0, 2, 3) == 0
    assert regularized_incomplete_beta(1, 2, 3, upper=True) == 0
    with pytest.raises(ValueError):
        regularized_incomplete_beta(1.5, 2, 3)
    with pytest.raises(ValueError):
        regularized_incomplete_beta(0.5, 0, 3)


# --- summarise ------------------------------------------------------------------------------


def test_summarise_one_to_ten() -> None:
    # Inclusive quartiles: rank (n - 1) / 4 = 2.25 from 0, i.e. 3 + 0.25 * (4 - 3) = 3.25;
    # median 5.5; rank 6.75, i.e. 7 + 0.75 = 7.75. Mean 5.5; sum of squares about it 82.5,
    # so sd = sqrt(82.5 / 9).
    summary = summarise([7, 3, 10, 1, 5, 2, 8, 4, 9, 6])
    assert summary is not None
    assert summary.sd == pytest.approx(math.sqrt(82.5 / 9), rel=1e-15)
    assert replace(summary, sd=None) == Summary(
        n=10, mean=5.5, sd=None, median=5.5, q1=3.25, q3=7.75, min=1, max=10
    )


def test_summarise_small_lists() -> None:
    assert summarise([]) is None
    assert summarise([4.5]) == Summary(
        n=1, mean=4.5, sd=None, median=4.5, q1=4.5, q3=4.5, min=4.5, max=4.5
    )
    # Two values: the quartiles lie a quarter of the way in from each end.
    two = summarise([10, 20])
    assert two is not None
    assert two.sd == pytest.approx(math.sqrt(50), rel=1e-15)
    assert replace(two, sd=None) == Summary(
        n=2, mean=15, sd=None, median=15, q1=12.5, q3=17.5, min=10, max=20
    )


@given(st.lists(values, min_size=1, max_size=50))
def test_summarise_is_ordered(data: list[float]) -> None:
    s = summarise(data)
    assert s is not None
    assert s.n == len(data)
    assert s.min <= s.q1 <= s.median <= s.q3 <= s.max
    assert s.min <= s.mean <= s.max


# --- percent_change -------------------------------------------------------------------------


def test_percent_change() -> None:
    assert percent_change(100, 110) == 10
    assert percent_change(80, 60) == -25
    assert percent_change(0, 5) is None
    assert percent_change(0, 0) is None
    # The sign is the change's even below 0: -50 to -40 is an increase of 20 % of 50.
    assert percent_change(-50, -40) == 20
    # A baseline so near 0 that the percentage is beyond the largest float has none either.
    assert percent_change(1e-320, 5) is None


# --- paired_change --------------------------------------------------------------------------


def test_paired_change_by_hand() -> None:
    # Five patients' hair density (hairs/cm2), baseline and follow-up:
    #   changes 104-100=4, 126-120=6, 98-90=8, 160-150=10, 122-110=12; mean 40/5 = 8;
    #   deviations -4, -2, 0, 2, 4; sum of squares 40; variance 40/4 = 10; sd sqrt(10);
    #   standard error sqrt(10)/sqrt(5) = sqrt(2);
    #   95 %: 8 ± t_0.975(4) * sqrt(2) = 8 ± 2.7764451051977944 * 1.4142135623730951
    #   = 8 ± 3.926486322955115 (the product in 40 digits).
    #   means: baseline 570/5 = 114, follow-up 610/5 = 122.
    #   percentages: 4/100 = 4, 6/120 = 5, 8/90 = 80/9, 10/150 = 20/3, 12/110 = 120/11 (%);
    #   sum 9 + 140/9 + 120/11 = (891 + 1540 + 1080)/99 = 3511/99; mean 3511/495.
    pairs = [(100, 104), (120, 126), (90, 98), (150, 160), (110, 122)]
    change = paired_change(pairs)
    assert change is not None
    assert change.n == 5
    assert change.mean_baseline == 114
    assert change.mean_follow_up == 122
    assert change.mean_change == 8
    assert change.sd_change == pytest.approx(math.sqrt(10), rel=1e-15)
    assert change.change_interval is not None
    assert change.change_interval.low == pytest.approx(8 - 3.926486322955115, rel=1e-13)
    assert change.change_interval.high == pytest.approx(8 + 3.926486322955115, rel=1e-13)
    assert change.n_percent == 5
    assert change.mean_percent_change == pytest.approx(float(Fraction(3511, 495)), rel=1e-15)


def test_paired_change_against_scipy() -> None:
    baseline = [142.0, 128.5, 155.0, 119.0, 137.5, 161.0, 124.0, 133.0]
    follow_up = [151.5, 130.0, 171.0, 117.5, 149.0, 166.5, 138.0, 135.5]
    pairs = list(zip(baseline, follow_up, strict=True))
    change = paired_change(pairs)
    assert change is not None
    assert change.mean_change == 7.375
    assert change.sd_change == pytest.approx(6.32878909654694, rel=1e-13)  # np.std(ddof=1)
    # scipy.stats.ttest_rel(follow_up, baseline).confidence_interval(0.95)
    assert_interval(change.change_interval, 2.0839999067047597, 12.66600009329524, rel=1e-12)
    # ... .confidence_interval(0.90)
    at_90 = paired_change(pairs, confidence=0.90)
    assert at_90 is not None
    assert_interval(at_90.change_interval, 3.1357575201285384, 11.61424247987146, rel=1e-12)
    # pct = 100 * (f - b) / b; scipy.stats.t.interval(0.95, 7, loc=pct.mean(),
    # scale=scipy.stats.sem(pct))
    assert change.n_percent == 8
    assert change.mean_percent_change == pytest.approx(5.233667465546641, rel=1e-13)
    assert_interval(change.percent_change_interval, 1.392646294437295, 9.074688636655987, rel=1e-12)


def test_paired_change_with_one_patient_has_counts_and_no_interval() -> None:
    assert paired_change([(100, 112)]) == PairedChange(
        n=1,
        mean_baseline=100,
        mean_follow_up=112,
        mean_change=12,
        sd_change=None,
        change_interval=None,
        n_percent=1,
        mean_percent_change=12,
        percent_change_interval=None,
    )


def test_paired_change_without_pairs() -> None:
    assert paired_change([]) is None


def test_paired_change_equal_changes_give_a_point_interval() -> None:
    change = paired_change([(100, 105), (80, 85), (120, 125)])
    assert change is not None
    assert change.sd_change == 0
    assert change.change_interval == Interval(low=5, high=5)


def test_paired_change_leaves_zero_baselines_out_of_the_percentages() -> None:
    change = paired_change([(0, 3), (50, 60), (0, 0), (40, 44)])
    assert change is not None
    assert change.n == 4
    assert change.mean_change == pytest.approx((3 + 10 + 0 + 4) / 4)
    assert change.n_percent == 2
    assert change.mean_percent_change == pytest.approx(15)  # 20 % and 10 %
    assert change.percent_change_interval is not None

    one = paired_change([(0, 3), (50, 60)])
    assert one is not None
    assert (one.n_percent, one.mean_percent_change, one.percent_change_interval) == (1, 20, None)

    none = paired_change([(0, 3), (0, 4)])
    assert none is not None
    assert (none.n_percent, none.mean_percent_change, none.percent_change_interval) == (
        0,
        None,
        None,
    )
    assert none.change_interval is not None  # the change itself still has its interval


@given(st.lists(values, min_size=1, max_size=30))
def test_paired_change_of_identical_pairs_is_zero(data: list[float]) -> None:
    change = paired_change([(v, v) for v in data])
    assert change is not None
    assert change.mean_change == 0
    if len(data) >= 2:
        assert change.change_interval == Interval(low=0, high=0)


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=30),
    st.integers(-1000, 1000),
)
def test_paired_change_ignores_a_constant_added_to_both(
    data: list[tuple[int, int]], shift: int
) -> None:
    # Whole numbers: the changes are exactly the same, so are their mean and interval.
    before = paired_change([(float(b), float(f)) for b, f in data])
    after = paired_change([(float(b + shift), float(f + shift)) for b, f in data])
    assert before is not None and after is not None
    assert after.mean_change == before.mean_change
    assert after.sd_change == before.sd_change
    assert after.change_interval == before.change_interval
    assert after.mean_baseline == pytest.approx(before.mean_baseline + shift)


@given(pairs_of, st.floats(min_value=-1e3, max_value=1e3))
def test_paired_change_shift_invariance_with_fractions(
    pairs: list[tuple[float, float]], shift: float
) -> None:
    before = paired_change(pairs)
    after = paired_change([(b + shift, f + shift) for b, f in pairs])
    assert before is not None and after is not None
    assert after.mean_change == pytest.approx(before.mean_change, abs=1e-9)


@given(pairs_of)
def test_paired_change_intervals_contain_their_estimates(pairs: list[tuple[float, float]]) -> None:
    change = paired_change(pairs)
    assert change is not None and change.change_interval is not None
    assert change.change_interval.low <= change.mean_change <= change.change_interval.high
    if change.percent_change_interval is not None:
        assert change.mean_percent_change is not None
        interval = change.percent_change_interval
        assert interval.low <= change.mean_percent_change <= interval.high


@given(pairs_of, two_confidences())
def test_paired_change_interval_widens_with_confidence(
    pairs: list[tuple[float, float]], confidences: tuple[float, float]
) -> None:
    narrow = paired_change(pairs, confidence=confidences[0])
    wide = paired_change(pairs, confidence=confidences[1])
    assert narrow is not None and wide is not None
    assert narrow.change_interval is not None and wide.change_interval is not None
    assert wide.change_interval.low <= narrow.change_interval.low
    assert wide.change_interval.high >= narrow.change_interval.high


# --- responders -----------------------------------------------------------------------------


def test_responders_count_the_threshold_itself() -> None:
    result = responders(
        [(100, 110), (100, 109.99), (0.3, 0.33), (30, 33), (50, 80), (40, 30)],
        threshold_percent=10,
    )
    # 100 -> 110 is 10 %, 0.30 -> 0.33 is 10 % in decimal (10.000000000000009 in binary),
    # 30 -> 33 is 10 %, 50 -> 80 is 60 %; 109.99 and the fall are not.
    assert result == Responders(
        responders=4, n=6, proportion=4 / 6, interval=wilson(4, 6), excluded=0
    )


def test_responders_when_lower_is_better() -> None:
    # Shedding (hairs lost in a pull test): a fall of 10 % or more responds.
    result = responders(
        [(30, 27), (30, 27.5), (10, 6), (20, 25), (0.3, 0.27)],
        threshold_percent=10,
        higher_is_better=False,
    )
    assert result is not None
    assert (result.responders, result.n) == (3, 5)  # 30 -> 27, 10 -> 6, 0.30 -> 0.27


def test_responders_exclude_zero_baselines() -> None:
    result = responders([(0, 5), (0, 0), (10, 12), (10, 10), (20, 30)], threshold_percent=10)
    assert result == Responders(
        responders=2, n=3, proportion=2 / 3, interval=wilson(2, 3), excluded=2
    )


def test_responders_with_fewer_than_two_patients_have_no_interval() -> None:
    assert responders([(10, 12)], threshold_percent=10) == Responders(
        responders=1, n=1, proportion=1.0, interval=None, excluded=0
    )
    assert responders([(0, 12), (10, 12)], threshold_percent=10) == Responders(
        responders=1, n=1, proportion=1.0, interval=None, excluded=1
    )
    assert responders([(0, 12)], threshold_percent=10) == Responders(
        responders=0, n=0, proportion=None, interval=None, excluded=1
    )
    assert responders([], threshold_percent=10) is None


def test_responders_interval_is_wilson_at_the_confidence() -> None:
    pairs = [(10, 12)] * 7 + [(10, 10)] * 13
    result = responders(pairs, threshold_percent=10, confidence=0.9)
    assert result is not None
    assert result.interval == wilson(7, 20, confidence=0.9)


def test_responders_refuse_a_bad_threshold() -> None:
    for threshold in (-1, math.nan, math.inf):
        with pytest.raises(ValueError, match="threshold"):
            responders([(10, 12)], threshold_percent=threshold)


# --- welch_difference -----------------------------------------------------------------------

CHANGES_A = [9.5, 1.5, 16.0, -1.5, 11.5, 5.5, 14.0, 2.5]
CHANGES_B = [3.0, -2.0, 6.5, 0.0, 4.5, -4.0, 2.0, 1.0, 5.5, -1.5]


def test_welch_difference_against_scipy() -> None:
    result = welch_difference(CHANGES_A, CHANGES_B)
    # r = scipy.stats.ttest_ind(CHANGES_A, CHANGES_B, equal_var=False)
    # r.confidence_interval(0.95), r.df
    assert result is not None
    assert result.estimate == 5.875
    assert_interval(result.interval, 0.35002722630177807, 11.399972773698222, rel=1e-11)
    assert result.df == pytest.approx(10.254400882892067, rel=1e-13)
    # r.confidence_interval(0.80)
    at_80 = welch_difference(CHANGES_A, CHANGES_B, confidence=0.8)
    assert at_80 is not None
    assert_interval(at_80.interval, 2.4670082883464977, 9.282991711653501, rel=1e-12)


def test_welch_difference_small_groups_against_scipy() -> None:
    # scipy.stats.ttest_ind([1, 3], [10, 10.5, 12], equal_var=False): df 1.739 (not whole)
    result = welch_difference([1.0, 3.0], [10.0, 10.5, 12.0])
    assert result is not None
    assert result.df == pytest.approx(1.7392249185077873, rel=1e-13)
    assert_interval(result.interval, -14.648057294681088, -3.0186093719855807, rel=1e-12)


def test_welch_difference_without_enough_values() -> None:
    assert welch_difference([], [1.0, 2.0]) is None
    assert welch_difference([1.0, 2.0], []) is None
    assert welch_difference([4.0], [1.0, 2.0]) == Difference(estimate=2.5, interval=None, df=None)


def test_welch_difference_when_neither_group_varies() -> None:
    assert welch_difference([3.0, 3.0, 3.0], [1.0, 1.0]) == Difference(
        estimate=2.0, interval=Interval(2.0, 2.0), df=None
    )
    # One group varying: the other adds nothing to the error, df is the varying group's n - 1.
    result = welch_difference([3.0, 3.0, 3.0], [0.0, 1.0, 2.0, 3.0])
    assert result is not None
    assert result.df == pytest.approx(3)
    assert result.interval is not None
    assert result.interval.low < result.estimate < result.interval.high


@given(groups, groups)
def test_welch_difference_properties(a: list[float], b: list[float]) -> None:
    result = welch_difference(a, b)
    swapped = welch_difference(b, a)
    assert result is not None and swapped is not None
    assert swapped.estimate == -result.estimate
    assert result.interval is not None and swapped.interval is not None
    assert result.interval.low <= result.estimate <= result.interval.high
    assert swapped.interval == Interval(low=-result.interval.high, high=-result.interval.low)
    if result.df is not None:
        # Welch-Satterthwaite lies between the smaller group's n - 1 and na + nb - 2.
        assert min(len(a), len(b)) - 1 - 1e-9 <= result.df <= len(a) + len(b) - 2 + 1e-9


@given(groups, groups, two_confidences())
def test_welch_interval_widens_with_confidence(
    a: list[float], b: list[float], confidences: tuple[float, float]
) -> None:
    narrow = welch_difference(a, b, confidence=confidences[0])
    wide = welch_difference(a, b, confidence=confidences[1])
    assert narrow is not None and wide is not None
    assert narrow.interval is not None and wide.interval is not None
    assert wide.interval.low <= narrow.interval.low
    assert wide.interval.high >= narrow.interval.high


# --- newcombe_difference --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "low", "high"),
    [
        # Newcombe 1998, Table II, method 10 (the first two are also the R package
        # propint's tests of its implementation).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_newcombe_difference_matches_the_published_table(
    k1: int, n1: int, k2: int, n2: int, low: float, high: float
) -> None:
    result = newcombe_difference(k1, n1, k2, n2)
    assert result is not None
    assert result.estimate == pytest.approx(k1 / n1 - k2 / n2)
    assert result.interval is not None
    assert round(result.interval.low, 4) == low
    assert round(result.interval.high, 4) == high
    assert result.df is None


def test_newcombe_difference_is_built_from_the_wilson_intervals() -> None:
    # 56/70 - 48/80 at 90 %: d - sqrt((p1 - l1)**2 + (u2 - p2)**2), d + sqrt(...).
    w1, w2 = wilson(56, 70, confidence=0.9), wilson(48, 80, confidence=0.9)
    assert w1 is not None and w2 is not None
    d = 0.8 - 0.6
    result = newcombe_difference(56, 70, 48, 80, confidence=0.9)
    assert result is not None and result.interval is not None
    assert result.interval.low == pytest.approx(d - math.hypot(0.8 - w1.low, w2.high - 0.6))
    assert result.interval.high == pytest.approx(d + math.hypot(w1.high - 0.8, 0.6 - w2.low))


def test_newcombe_difference_without_enough_patients() -> None:
    assert newcombe_difference(0, 0, 3, 10) is None
    assert newcombe_difference(3, 10, 0, 0) is None
    assert newcombe_difference(1, 1, 3, 10) == Difference(estimate=0.7, interval=None, df=None)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(-1, 10, 3, 10), (11, 10, 3, 10), (3, 10, 4, 3)]
)
def test_newcombe_difference_refuses_impossible_counts(k1: int, n1: int, k2: int, n2: int) -> None:
    with pytest.raises(ValueError):
        newcombe_difference(k1, n1, k2, n2)


@given(counts(), counts())
def test_newcombe_difference_properties(first: tuple[int, int], second: tuple[int, int]) -> None:
    result = newcombe_difference(*first, *second)
    swapped = newcombe_difference(*second, *first)
    assert result is not None and swapped is not None
    assert result.interval is not None and swapped.interval is not None
    assert -1 <= result.interval.low <= result.estimate <= result.interval.high <= 1
    assert swapped.estimate == -result.estimate
    assert swapped.interval.low == pytest.approx(-result.interval.high, abs=1e-15)
    assert swapped.interval.high == pytest.approx(-result.interval.low, abs=1e-15)


@given(counts(), counts(), two_confidences())
def test_newcombe_interval_widens_with_confidence(
    first: tuple[int, int], second: tuple[int, int], confidences: tuple[float, float]
) -> None:
    narrow = newcombe_difference(*first, *second, confidence=confidences[0])
    wide = newcombe_difference(*first, *second, confidence=confidences[1])
    assert narrow is not None and wide is not None
    assert narrow.interval is not None and wide.interval is not None
    assert wide.interval.low <= narrow.interval.low + 1e-15
    assert wide.interval.high >= narrow.interval.high - 1e-15


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        summarise([1.0, bad])
    with pytest.raises(ValueError, match="finite"):
        percent_change(bad, 1.0)
    with pytest.raises(ValueError, match="finite"):
        percent_change(1.0, bad)
    with pytest.raises(ValueError, match="finite"):
        paired_change([(1.0, 2.0), (bad, 2.0)])
    with pytest.raises(ValueError, match="finite"):
        paired_change([(1.0, bad)])
    with pytest.raises(ValueError, match="finite"):
        responders([(1.0, bad)], threshold_percent=10)
    with pytest.raises(ValueError, match="finite"):
        welch_difference([1.0, 2.0], [3.0, bad])
    with pytest.raises(ValueError, match="finite"):
        welch_difference([bad], [3.0, 4.0])


@pytest.mark.parametrize("confidence", [0, 1, -0.5, 1.5, math.nan])
def test_confidence_outside_zero_to_one_is_refused(confidence: float) -> None:
    pairs = [(10.0, 12.0), (10.0, 11.0)]
    with pytest.raises(ValueError, match="confidence"):
        paired_change(pairs, confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        responders(pairs, threshold_percent=10, confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        welch_difference([1.0, 2.0], [3.0, 4.0], confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        newcombe_difference(3, 10, 4, 10, confidence=confidence)
    # Also when there is nothing to compute an interval for.
    with pytest.raises(ValueError, match="confidence"):
        paired_change([], confidence=confidence)
