"""actionrec.experiments.stats: mean ± CI and the Welch interval against textbook t tables and direct
scipy.stats computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from actionrec.experiments.stats import mean_ci, welch_ci


@pytest.mark.parametrize("n,t_table", [(2, 12.706), (3, 4.303), (4, 3.182), (5, 2.776), (6, 2.571), (10, 2.262),
                                       (11, 2.228), (21, 2.086), (31, 2.042), (121, 1.980)])
def test_mean_ci_half_width_is_t_table_times_sd_over_root_n(n, t_table):
    values = [0.0, 1.0] * (n // 2) + [0.5] * (n % 2)  # any sample: the ratio half-width / (s / sqrt(n)) is t
    mean, std, ci = mean_ci(values)
    assert std == pytest.approx(np.std(values, ddof=1))
    assert ci / (std / math.sqrt(n)) == pytest.approx(t_table, abs=5e-4)
    assert mean == pytest.approx(np.mean(values))


def test_mean_ci_on_known_sample_and_levels():
    mean, std, ci = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and std == pytest.approx(math.sqrt(2.5))
    assert ci == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)  # t_{.975,4} = 2.776445
    _, _, ci90 = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0], 0.90)
    assert ci90 == pytest.approx(2.131847 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)  # t_{.95,4}
    # the numbers: the 95% half-width is 2.48 x SD at n = 3 and 0.84 x SD at n = 8
    assert mean_ci([0.0, 1.0, 2.0])[2] / 1.0 == pytest.approx(2.48, abs=5e-3)
    x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert mean_ci(x)[2] / np.std(x, ddof=1) == pytest.approx(0.84, abs=5e-3)
    m1, s1, c1 = mean_ci([0.7])
    assert m1 == 0.7 and math.isnan(s1) and math.isnan(c1)


def test_mean_ci_matches_scipy_interval():
    rng = np.random.default_rng(0)
    x = rng.normal(70, 5, 9)
    lo, hi = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    mean, _, ci = mean_ci(x.tolist())
    assert (mean - ci, mean + ci) == pytest.approx((lo, hi), abs=1e-9)


@pytest.mark.parametrize("bad", [95, 0.0, 1.0, -0.5, True, "0.95"])
def test_mean_ci_rejects_bad_confidence(bad):
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=bad)
    with pytest.raises(ValueError, match="empty"):
        mean_ci([])


def test_welch_ci_of_a_difference():
    a = {"n": 3, "std": 1.0, "confidence": 0.95}
    assert welch_ci(a, dict(a)) == pytest.approx(2.776445 * math.sqrt(2 / 3), rel=1e-6)  # equal variances: df = 4
    assert math.isnan(welch_ci(a, dict(a, n=1))) and welch_ci(dict(a, std=0.0), dict(a, std=0.0)) == 0.0
    # unequal variances: Welch–Satterthwaite df by hand, quantile from scipy
    ea, eb = {"n": 4, "std": 2.0, "confidence": 0.9}, {"n": 7, "std": 0.5, "confidence": 0.9}
    va, vb = 4.0 / 4, 0.25 / 7
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 6)
    assert welch_ci(ea, eb) == pytest.approx(st.t.ppf(0.95, df) * math.sqrt(va + vb), rel=1e-12)
    # and the same interval as scipy's Welch test on samples with those moments
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(0, 1, 5), rng.normal(0, 3, 8)
    ci = st.ttest_ind(xa, xb, equal_var=False).confidence_interval(0.95)
    entry = lambda x: {"n": len(x), "std": float(np.std(x, ddof=1)), "confidence": 0.95}  # noqa: E731
    assert welch_ci(entry(xa), entry(xb)) == pytest.approx((ci.high - ci.low) / 2, rel=1e-9)
