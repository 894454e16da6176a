"""actionrec.experiments.stats: Student-t quantiles against table values, identities of the t CDF and
the incomplete beta function, and mean ± CI on a known sample."""

from __future__ import annotations

import math

import pytest

from actionrec.experiments.stats import betainc, mean_ci, t_cdf, t_quantile, welch_ci


@pytest.mark.parametrize("p,df,expected", [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.975, 4, 2.776), (0.975, 5, 2.571),
    (0.975, 9, 2.262), (0.975, 10, 2.228), (0.975, 20, 2.086), (0.975, 30, 2.042), (0.975, 120, 1.980),
    (0.95, 3, 2.353), (0.995, 5, 4.032), (0.9, 1, 3.078), (0.975, 10**7, 1.960),
])
def test_t_quantile_matches_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=5e-4)


def test_t_distribution_identities():
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-12)
    for df in (1, 2.5, 8, 50):
        for p in (0.6, 0.9, 0.99):
            assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi
    assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3)
    assert betainc(2.5, 2.5, 0.5) == pytest.approx(0.5)
    assert betainc(2.0, 3.0, 0.4) == pytest.approx(0.5248)  # 1 - sum_{j<2} C(4,j) .4^j .6^(4-j)
    with pytest.raises(ValueError, match="p="):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df="):
        t_quantile(0.9, 0)


def test_mean_ci_on_known_sample():
    mean, std, ci = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and std == pytest.approx(math.sqrt(2.5))
    assert ci == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-5)  # 1.9632
    m1, s1, c1 = mean_ci([0.7])
    assert m1 == 0.7 and math.isnan(s1) and math.isnan(c1)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=95)


def test_welch_ci_of_a_difference():
    a = {"n": 3, "std": 1.0, "confidence": 0.95}
    assert welch_ci(a, dict(a)) == pytest.approx(2.776445 * math.sqrt(2 / 3), rel=1e-5)  # equal variances: df = 4
    assert math.isnan(welch_ci(a, dict(a, n=1))) and welch_ci(dict(a, std=0.0), dict(a, std=0.0)) == 0.0
