"""Student-t intervals of a mean and of a difference of means, from ``scipy.stats.t``.

* :func:`mean_ci` — the CI half-width of a mean over n seeds, ``t_{(1+c)/2, n-1} · s / sqrt(n)``
  with ``s`` the sample standard deviation (ddof = 1).
* :func:`welch_ci` — the Welch–Satterthwaite half-width of ``mean_a - mean_b`` (unequal variances),
  ``t_{(1+c)/2, ν} · sqrt(s_a²/n_a + s_b²/n_b)`` with
  ``ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1))``.

The paired-seed protocol (tests, verdicts, power) is in :mod:`.protocol` and :mod:`.power`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as st

from ..utils.checks import fail

__all__ = ["mean_ci", "welch_ci"]


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, sample std, CI half-width)`` of ``values`` at ``confidence`` (in (0, 1), e.g. 0.95);
    std and half-width are NaN when n < 2."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        fail("confidence", confidence, "a number in (0, 1), e.g. 0.95")
    n = len(values)
    if n == 0:
        raise ValueError("mean_ci: values is empty: pass at least one value")
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    std = float(x.std(ddof=1))
    return mean, std, float(st.t.ppf(0.5 + confidence / 2.0, n - 1)) * std / math.sqrt(n)


def welch_ci(ea: Mapping[str, Any], eb: Mapping[str, Any]) -> float:
    """Half-width of the Welch–Satterthwaite CI of ``mean_a - mean_b`` for two summary entries
    (``n``, ``std``, ``confidence``; :func:`actionrec.experiments.summary.summarize`); NaN if n < 2
    on a side, 0 when both standard deviations are 0."""
    if min(ea["n"], eb["n"]) < 2:
        return math.nan
    va, vb = ea["std"] ** 2 / ea["n"], eb["std"] ** 2 / eb["n"]
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (ea["n"] - 1) + vb**2 / (eb["n"] - 1))
    return float(st.t.ppf(0.5 + ea["confidence"] / 2.0, df)) * math.sqrt(va + vb)
