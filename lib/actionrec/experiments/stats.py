"""Student's t distribution and the confidence intervals the summaries report.

The CI half-width of a mean over n seeds is ``t_{(1+c)/2, n-1} · s / sqrt(n)`` with ``s`` the sample
standard deviation (ddof = 1). The Student-t quantile inverts the t CDF by bisection::

    F(t) = 1 - I_{ν/(ν+t²)}(ν/2, 1/2) / 2        for t > 0 (symmetric for t < 0)

with the regularised incomplete beta function ``I_x(a, b)`` evaluated by its continued fraction
(modified Lentz; Numerical Recipes §6.4). :func:`welch_ci` is the Welch–Satterthwaite interval of
a difference of two means with unequal variances.

Departure: computed here rather than by ``scipy.stats.t`` because scipy is not a dependency.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

__all__ = ["betainc", "t_cdf", "t_quantile", "mean_ci", "welch_ci"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; NR §6.4)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)`` for a, b > 0 and 0 <= x <= 1."""
    if not (a > 0 and b > 0):
        raise ValueError(f"betainc needs a > 0 and b > 0 (got a={a}, b={b})")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc needs 0 <= x <= 1 (got x={x})")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom."""
    if not df > 0:
        raise ValueError(f"df={df} must be > 0")
    if t == 0:
        return 0.5
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse of ``t_cdf``: the t with ``t_cdf(t, df) == p`` (e.g. t_quantile(0.975, 2) = 4.303)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p={p} must be in (0, 1)")
    if not df > 0:
        raise ValueError(f"df={df} must be > 0")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):  # bisection to machine precision
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, sample std, CI half-width)``; std and half-width are NaN when n < 2."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1), e.g. 0.95")
    n = len(values)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std, t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)


def welch_ci(ea: Mapping[str, Any], eb: Mapping[str, Any]) -> float:
    """Half-width of the Welch–Satterthwaite CI of ``mean_a - mean_b`` for two summary entries
    (``n``, ``std``, ``confidence``; :func:`actionrec.experiments.summary.summarize`); NaN if n < 2
    on a side."""
    if min(ea["n"], eb["n"]) < 2:
        return math.nan
    va, vb = ea["std"] ** 2 / ea["n"], eb["std"] ** 2 / eb["n"]
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (ea["n"] - 1) + vb**2 / (eb["n"] - 1))
    return t_quantile(0.5 + ea["confidence"] / 2.0, df) * math.sqrt(va + vb)
