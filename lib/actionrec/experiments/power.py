"""Power of the paired t-test over n seeds: the detectable effect at n, and the n an effect needs.

With n paired differences of standard deviation σ and true mean Δ, the t statistic
``T = d̄ / (s / sqrt(n))`` follows a noncentral t with ``df = n - 1`` and noncentrality
``λ = Δ · sqrt(n) / σ`` (``scipy.stats.nct``). At level α the power is

* two-sided: ``P(T > t_{1-α/2, df}) + P(T < -t_{1-α/2, df})``,
* one-sided (Δ > 0 claimed): ``P(T > t_{1-α, df})``.

* :func:`power` — that probability for given Δ, σ, n, α.
* :func:`detectable_effect` — the smallest Δ whose power reaches ``power`` (root of ``power(Δ) =
  target`` by ``scipy.optimize.brentq``): the minimum detectable effect (MDE) of a run.
* :func:`seeds_needed` — the smallest n ≥ 2 whose power for Δ reaches the target.
* :func:`pilot_n` — n for a reference grid from a pilot σ and the claim's δ, never below ``min_n``.

Effects and σ share one unit (points of the metric). A two-sided test at α matches the protocol's
verdicts, which read a two-sided CI at level 1 − α (:mod:`.protocol`).
"""

from __future__ import annotations

import math

from scipy import optimize
from scipy import stats as st

from ..utils.checks import check_choice, check_float, check_int

__all__ = ["power", "detectable_effect", "seeds_needed", "pilot_n", "N_MAX"]

#: The largest n :func:`seeds_needed` searches; beyond it an effect counts as unresolvable.
N_MAX = 100_000


def _check(sd: float, alpha: float, target: float | None, sided: str) -> None:
    check_float("sd", sd, min_value=0.0)
    check_float("alpha", alpha, positive=True, max_value=0.5)
    if target is not None:
        check_float("power", target, max_value=0.999999)
        if target <= alpha:
            raise ValueError(f"power={target!r} is invalid: expected a probability above alpha={alpha}")
    check_choice("sided", sided, ("two", "one"))


def power(effect: float, sd: float, n: int, alpha: float = 0.05, *, sided: str = "two") -> float:
    """Power of the paired t-test over ``n`` differences (SD ``sd``) to detect a true mean difference
    ``effect`` (≥ 0) at level ``alpha``; ``sided`` = "two" | "one". 1 when ``sd`` is 0 and effect > 0."""
    _check(sd, alpha, None, sided)
    check_float("effect", effect, min_value=0.0)
    check_int("n", n, min_value=2)
    df = n - 1
    if sd == 0:
        return 1.0 if effect > 0 else alpha
    nc = effect * math.sqrt(n) / sd
    if sided == "one":
        return float(st.nct.sf(st.t.ppf(1 - alpha, df), df, nc))
    tc = st.t.ppf(1 - alpha / 2, df)
    # P(T < -tc | λ) = P(T > tc | -λ): nct.cdf returns NaN far in the left tail, sf does not
    return float(st.nct.sf(tc, df, nc) + st.nct.sf(tc, df, -nc))


_power = power  # the functions below take a ``power`` argument (the target) that shadows the name


def detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8, *, sided: str = "two") -> float:
    """The smallest true mean paired difference that ``n`` seeds detect with probability ``power``
    at level ``alpha`` (same unit as ``sd``; 0 when ``sd`` is 0)."""
    _check(sd, alpha, power, sided)
    check_int("n", n, min_value=2)
    if sd == 0:
        return 0.0
    hi = sd
    while _power(hi, sd, n, alpha, sided=sided) < power:
        hi *= 2.0
    return float(optimize.brentq(lambda e: _power(e, sd, n, alpha, sided=sided) - power, 0.0, hi,
                                 xtol=1e-12 * sd, rtol=1e-12))


def seeds_needed(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8, *, sided: str = "two",
                 n_max: int = N_MAX) -> int | None:
    """The smallest n ≥ 2 paired seeds whose test detects a true mean difference ``effect`` with
    probability ``power`` at level ``alpha``; None when not even ``n_max`` seeds do (an effect ≈ 0
    next to ``sd``). Power grows with n, so the search doubles n then bisects."""
    _check(sd, alpha, power, sided)
    check_float("effect", effect, min_value=0.0)
    check_int("n_max", n_max, min_value=2)
    target = power - 1e-9  # detectable_effect(sd, n) solves power = target to ~1e-12

    def ok(n: int) -> bool:
        return _power(effect, sd, n, alpha, sided=sided) >= target

    if effect == 0 or not ok(n_max):
        return None
    lo, hi = 1, 2  # invariant: not ok(lo) (n = 1 has no test), ok(hi) once found
    while not ok(hi):
        lo, hi = hi, min(2 * hi, n_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def pilot_n(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8, *, sided: str = "two",
            min_n: int = 6, n_max: int = N_MAX) -> int | None:
    """Seeds for a reference grid: :func:`seeds_needed` for an effect of ``delta`` (the claim's
    smallest difference that matters) at the pilot's SD of paired differences ``sd``, and at least
    ``min_n``; None when even ``n_max`` seeds cannot resolve ``delta``."""
    check_int("min_n", min_n, min_value=2)
    check_float("delta", delta, positive=True)
    n = seeds_needed(sd, delta, alpha, power, sided=sided, n_max=n_max)
    return None if n is None else max(n, min_n)
