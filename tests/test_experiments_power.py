"""actionrec.experiments.power: noncentral-t power of the paired t-test against G*Power's published
sample sizes and a simulation; detectable effect and seeds needed invert each other."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from actionrec.experiments.power import detectable_effect, pilot_n, power, seeds_needed


@pytest.mark.parametrize("dz,sided,n,achieved", [
    (0.5, "two", 34, 0.8077775),  # G*Power, t tests: matched pairs, two tails, α = .05, power .80
    (0.8, "two", 15, 0.8213105),
    (0.5, "one", 27, 0.8118),     # one tail
])
def test_seeds_needed_matches_gpower(dz, sided, n, achieved):
    assert seeds_needed(1.0, dz, 0.05, 0.8, sided=sided) == n
    assert seeds_needed(4.0, 4 * dz, 0.05, 0.8, sided=sided) == n  # only effect / sd matters
    assert power(dz, 1.0, n, 0.05, sided=sided) == pytest.approx(achieved, abs=5e-4)
    assert power(dz, 1.0, n - 1, 0.05, sided=sided) < 0.8


def test_power_matches_a_simulation():
    rng = np.random.default_rng(0)
    n, sd = 8, 3.0
    effect = detectable_effect(sd, n)
    d = rng.normal(effect, sd, (20000, n))
    rejected = (st.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05).mean()
    assert rejected == pytest.approx(0.8, abs=0.012)  # binomial SE 0.003
    assert power(0.0, sd, n) == pytest.approx(0.05)  # no effect: the test's level


@pytest.mark.parametrize("n", [2, 3, 4, 6, 8, 12, 30])
def test_detectable_effect_and_seeds_needed_invert_each_other(n):
    e = detectable_effect(2.5, n)
    assert power(e, 2.5, n) == pytest.approx(0.8, abs=1e-9)
    assert seeds_needed(2.5, e) == n


def test_monotonicity_and_edges():
    es = [detectable_effect(2.0, n) for n in range(2, 20)]
    assert all(a > b for a, b in zip(es, es[1:]))  # more seeds resolve smaller effects
    assert detectable_effect(4.0, 8) == pytest.approx(2 * detectable_effect(2.0, 8))  # linear in sd
    assert detectable_effect(2.0, 8, power=0.9) > detectable_effect(2.0, 8) > detectable_effect(2.0, 8, alpha=0.1)
    assert detectable_effect(2.0, 8, sided="one") < detectable_effect(2.0, 8)
    ns = [seeds_needed(1.0, e) for e in (0.3, 0.5, 1.0, 2.0)]
    assert ns == sorted(ns, reverse=True)
    assert detectable_effect(0.0, 5) == 0.0 and seeds_needed(0.0, 1.0) == 2
    assert seeds_needed(1.0, 0.0) is None and seeds_needed(1.0, 1e-4) is None  # ≈ 0: no n resolves it
    assert seeds_needed(1.0, 0.01, n_max=1000) is None


def test_pilot_n_floors_at_min_n():
    assert pilot_n(1.0, 3.0) == 6  # seeds_needed is 4; the floor wins
    assert pilot_n(1.0, 3.0, min_n=3) == seeds_needed(1.0, 3.0) == 4
    assert pilot_n(3.0, 1.5) == seeds_needed(3.0, 1.5) == 34
    assert pilot_n(1.0, 1e-4) is None


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="n=1"):
        detectable_effect(1.0, 1)
    with pytest.raises(ValueError, match="sd=-1"):
        seeds_needed(-1.0, 1.0)
    with pytest.raises(ValueError, match="power=0.01"):
        detectable_effect(1.0, 5, power=0.01)
    with pytest.raises(ValueError, match="sided='both'"):
        power(1.0, 1.0, 5, sided="both")
    with pytest.raises(ValueError, match="delta=0"):
        pilot_n(1.0, 0.0)
