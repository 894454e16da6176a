"""actionrec.experiments.protocol: each verdict rule on constructed paired data, the CI / p-values
against direct scipy computations, Holm on a hand-worked example, failed-seed counting, pairing by
seed, power lines, and clear errors for bad claims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from actionrec.experiments.power import detectable_effect, seeds_needed
from actionrec.experiments.protocol import (HOLDS, INCONCLUSIVE, NO_EFFECT, REVERSED, VERDICT_COLUMNS, Claim, evaluate,
                                           holm)

BASE = np.array([60.0, 72.0, 55.0, 80.0, 66.0, 70.0])  # per-seed level shared by every arm (the block)
TIGHT = np.array([0.1, -0.1, 0.2, -0.2, 0.05, -0.05])  # small seed-to-seed spread of a difference
WIDE = np.array([3.0, -2.0, 4.0, -3.0, 1.0, -2.5])


def rows_of(**arms):
    """Rows in points: variant name -> per-seed offsets from BASE."""
    return [dict(name=v, seed=s, top1=float(BASE[s] + off[s])) for v, off in arms.items() for s in range(len(BASE))]


def claim(kind="superiority", variants=("a", "b"), delta=1.0, **kw):
    return Claim(name=kw.pop("name", kind), kind=kind, variants=variants, metric=kw.pop("metric", "top1"), delta=delta,
                 delta_reason="one point is below the seed noise that matters here", paper="+2.0 points", **kw)


def verdict(the_claim, **arms):
    v, _ = evaluate([the_claim], rows_of(**arms), unit="points")
    return v.iloc[0]


@pytest.mark.parametrize("diff,expected", [(3 + TIGHT, HOLDS), (-3 + TIGHT, REVERSED), (TIGHT, NO_EFFECT), (WIDE, INCONCLUSIVE)])
def test_superiority_rule(diff, expected):
    assert verdict(claim(), a=diff, b=0 * diff)["verdict"] == expected


@pytest.mark.parametrize("diff,expected", [(-0.3 + TIGHT, HOLDS), (-3 + TIGHT, REVERSED), (WIDE, INCONCLUSIVE)])
def test_non_inferiority_rule(diff, expected):
    assert verdict(claim("non_inferiority"), a=diff, b=0 * diff)["verdict"] == expected


@pytest.mark.parametrize("diff,expected", [(TIGHT, HOLDS), (3 + TIGHT, REVERSED), (-3 + TIGHT, REVERSED), (WIDE, INCONCLUSIVE)])
def test_equivalence_rule(diff, expected):
    assert verdict(claim("equivalence"), a=diff, b=0 * diff)["verdict"] == expected


@pytest.mark.parametrize("a,b,expected", [
    (6 + TIGHT, 3 - TIGHT, HOLDS),       # a > b > c
    (3 + TIGHT, 6 - TIGHT, REVERSED),    # b > a
    (TIGHT, -TIGHT, NO_EFFECT),          # all within ±δ
    (6 + TIGHT, WIDE, INCONCLUSIVE),     # a > b clear, b vs c unresolved
])
def test_ordering_rule(a, b, expected):
    c = claim("ordering", ("a", "b", "c"))
    assert verdict(c, a=a, b=b, c=0 * a)["verdict"] == expected


@pytest.mark.parametrize("b,c,expected", [
    (-3 + TIGHT, -0.2 + TIGHT, HOLDS),  # a beats b, within δ of c
    (-3 + TIGHT, 4 + TIGHT, REVERSED),  # c beats a by more than δ
    (-3 + TIGHT, WIDE, INCONCLUSIVE),
])
def test_best_of_rule(b, c, expected):
    assert verdict(claim("best_of", ("a", "b", "c")), a=0 * b, b=b, c=c)["verdict"] == expected


@pytest.mark.parametrize("b,c,expected", [
    (3 + TIGHT, 5 + TIGHT, HOLDS),       # every other beats a
    (3 + TIGHT, -4 + TIGHT, REVERSED),   # a beats c
    (TIGHT, -TIGHT, NO_EFFECT),          # all within ±δ of a
    (3 + TIGHT, WIDE, INCONCLUSIVE),     # b beats a clearly, c vs a unresolved
])
def test_worst_of_rule(b, c, expected):
    the_claim = claim("worst_of", ("a", "b", "c"))
    assert the_claim.pairs() == [("b", "a"), ("c", "a")]
    v = verdict(the_claim, a=0 * b, b=b, c=c)
    assert v["verdict"] == expected
    if expected == HOLDS:  # the primary p is the largest one-sided superiority p over the pairs, doubled
        p = max(st.ttest_1samp(x, 0.0, alternative="greater").pvalue for x in (b, c))
        assert v["p_primary"] == pytest.approx(min(1.0, 2 * p))


def test_lower_is_better_flips_the_sign():
    rows = [dict(r, err=100 - r["top1"]) for r in rows_of(a=3 + TIGHT, b=0 * TIGHT)]
    v, d = evaluate([claim(variants=("a", "b"), metric="err", higher_is_better=False)], rows, unit="points")
    assert v.iloc[0]["verdict"] == HOLDS and v.iloc[0]["diff"] == pytest.approx(3.0)  # a's error is 3 points lower
    assert (d["diff"] == -(d["value_a"] - d["value_b"])).all()
    v, _ = evaluate([claim(variants=("b", "a"), metric="err", higher_is_better=False)], rows, unit="points")
    assert v.iloc[0]["verdict"] == REVERSED and v.iloc[0]["diff"] == pytest.approx(-3.0)


def test_ci_and_p_values_match_scipy():
    a, b = BASE + WIDE + 1.0, BASE
    v, d = evaluate([claim()], rows_of(a=WIDE + 1.0, b=0 * WIDE), unit="points")
    r, diffs = v.iloc[0], a - b
    ref = st.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    half = st.t.ppf(0.975, 5) * diffs.std(ddof=1) / math.sqrt(6)  # by hand
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert r["ci_high"] - r["diff"] == pytest.approx(half, abs=1e-9) and r["level"] == 0.95
    assert r["p"] == pytest.approx(ref.pvalue, abs=1e-12)
    assert r["p_wilcoxon"] == pytest.approx(st.wilcoxon(a, b).pvalue, abs=1e-12)
    assert r["p_primary"] == pytest.approx(2 * st.ttest_1samp(diffs, 0, alternative="greater").pvalue, abs=1e-12)
    assert r["n"] == 6 and r["diff"] == pytest.approx(diffs.mean()) and r["sd"] == pytest.approx(diffs.std(ddof=1))
    assert d["diff"].to_numpy() == pytest.approx(diffs)
    # Wilcoxon only from n = 6
    short = [x for x in rows_of(a=WIDE + 1.0, b=0 * WIDE) if x["seed"] < 5]
    assert math.isnan(evaluate([claim()], short, unit="points")[0].iloc[0]["p_wilcoxon"])
    # non-inferiority and equivalence: doubled one-sided tests against the margins (TOST)
    r = verdict(claim("non_inferiority"), a=WIDE + 1.0, b=0 * WIDE)
    assert r["p_primary"] == pytest.approx(2 * st.ttest_1samp(diffs, -1.0, alternative="greater").pvalue)
    r = verdict(claim("equivalence"), a=WIDE + 1.0, b=0 * WIDE)
    tost = max(st.ttest_1samp(diffs, -1.0, alternative="greater").pvalue, st.ttest_1samp(diffs, 1.0, alternative="less").pvalue)
    assert r["p_primary"] == pytest.approx(min(1.0, 2 * tost))


def test_holm_hand_worked_example():
    # sorted: .005 (x4 = .02), .01 (x3 = .03), .03 (x2 = .06), .04 (x1 -> running max .06)
    p_adj, levels = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert p_adj == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # ranks 1, 2 reject (.005 < .05/4, .01 < .05/3); rank 3 stops (.03 >= .05/2): ranks 3 and 4 keep level 1 - .05/2
    assert levels == pytest.approx([1 - 0.05 / 3, 0.975, 0.975, 1 - 0.05 / 4])
    assert holm([0.001, float("nan")])[0] == pytest.approx([0.002, 1.0])
    assert holm([0.02, 0.02]) == (pytest.approx([0.04, 0.04]), pytest.approx([0.975, 0.95]))  # ties: declaration order
    assert holm([0.03, 0.04])[1] == pytest.approx([0.975, 0.975])  # .03 >= .05/2 stops at rank 1


def test_holm_in_a_chapter_agrees_with_the_verdicts():
    rng = np.random.default_rng(3)
    for _ in range(20):
        effects = rng.uniform(0, 4, 4)
        arms = {f"v{i}": e + rng.normal(0, 2.0, 6) for i, e in enumerate(effects)}
        claims = [claim(name=f"c{i}", variants=(f"v{i}", "ref"), delta=0.5) for i in range(4)]
        v, _ = evaluate(claims, rows_of(ref=np.zeros(6), **arms), unit="points")
        assert ((v["verdict"] == HOLDS) == (v["p_holm"] < 0.05)).all()
        for _, r in v.iterrows():  # each CI is read at its Holm level
            half = st.t.ppf(0.5 + r["level"] / 2, r["n"] - 1) * r["sd"] / math.sqrt(r["n"])
            assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * half)
        assert set(v["level"]) <= {1 - 0.05 / k for k in (1, 2, 3, 4)}


def test_failed_seeds_are_counted_and_kept():
    rows = rows_of(a=3 + TIGHT, b=0 * TIGHT)
    rows[0]["trained"] = False  # a, seed 0: stuck at chance but has a value -> enters the statistics
    rows[7].update(top1=None, error="diverged")  # b, seed 1: no value -> its seed cannot be paired
    rows[2]["trained"] = True  # a row without the flag counts as trained
    v, d = evaluate([claim()], rows, unit="points")
    r = v.iloc[0]
    assert r["trained"] == "a: 5/6; b: 5/6" and r["n"] == 5
    assert r["excluded"] == "seed 1: no value in b"
    assert 0 in d["seed"].tolist() and not d.set_index("seed").loc[0, "trained_a"]
    assert r["diff"] == pytest.approx(np.delete(3 + TIGHT, 1).mean())


def test_pairing_uses_only_seeds_in_every_arm():
    rows = [r for r in rows_of(a=WIDE + 2, b=0 * WIDE, c=-WIDE) if not (r["name"] == "b" and r["seed"] == 5)]
    rows = [r for r in rows if not (r["name"] == "a" and r["seed"] == 2)]
    v, d = evaluate([claim(), claim("ordering", ("a", "b", "c"), name="ord")], rows, unit="points")
    assert v.set_index("claim").loc["superiority", "n"] == 4
    assert v.set_index("claim").loc["superiority", "excluded"] == "seed 2: missing in a; seed 5: missing in b"
    sup = d[d["claim"] == "superiority"]
    assert sup["seed"].tolist() == [0, 1, 3, 4] and sup["diff"].to_numpy() == pytest.approx((WIDE + 2)[[0, 1, 3, 4]])
    assert set(d[d["claim"] == "ord"]["b"]) == {"b", "c"}  # adjacent pairs a − b, b − c


def test_power_line_and_detectable_effect():
    r = verdict(claim(delta=0.5), a=WIDE + 0.8, b=0 * WIDE)
    assert r["verdict"] == INCONCLUSIVE
    n = seeds_needed(r["sd"], abs(r["diff"]), 0.05, 0.8)
    assert r["n_needed"] == n and r["power_line"].startswith(f"≈{n} seeds would resolve a difference of the observed size")
    assert r["mde"] == pytest.approx(detectable_effect(r["sd"], 6, 0.05, 0.8))
    zero = WIDE - WIDE.mean()  # observed difference exactly 0, wide CI
    r = verdict(claim(delta=0.5), a=zero, b=0 * zero)
    assert r["verdict"] == INCONCLUSIVE and r["power_line"].startswith("—") and math.isnan(r["n_needed"])
    assert verdict(claim(), a=3 + TIGHT, b=0 * TIGHT)["power_line"] == ""  # decided: no power line
    r = verdict(claim(paper_effect=0.5), a=WIDE, b=0 * WIDE)
    assert "below this run's detectable effect" in r["note"]


def test_units_auto_reads_accuracy_fractions_as_points():
    rows = [dict(r, top1=r["top1"] / 100) for r in rows_of(a=3 + TIGHT, b=0 * TIGHT)]
    v, d = evaluate([claim()], pd.DataFrame(rows))
    assert v.iloc[0]["diff"] == pytest.approx(3.0) and d["value_a"].max() > 1
    with pytest.raises(ValueError, match="unit='points'"):
        evaluate([claim()], rows_of(a=3 + TIGHT, b=0 * TIGHT))


@pytest.mark.parametrize("kw,match", [
    (dict(kind="better"), "kind='better'"),
    (dict(delta=0.0), "delta=0.0"),
    (dict(delta=-1.0), "delta=-1.0"),
    (dict(delta_reason=""), "delta_reason"),
    (dict(paper=" "), "paper"),
    (dict(variants=("a",)), "exactly two"),
    (dict(variants=("a", "b", "c")), "exactly two"),
    (dict(variants=("a", "a")), "distinct"),
    (dict(variants="ab"), "tuple of variant names"),
    (dict(kind="ordering", variants=("a",)), "at least two"),
    (dict(higher_is_better="yes"), "higher_is_better"),
])
def test_bad_claims_fail_clearly(kw, match):
    base = dict(name="x", kind="superiority", variants=("a", "b"), metric="top1", delta=1.0, delta_reason="why", paper="p")
    with pytest.raises(ValueError, match=match):
        Claim(**{**base, **kw})


def test_bad_evaluate_inputs_fail_clearly():
    rows = rows_of(a=TIGHT, b=TIGHT)
    with pytest.raises(ValueError, match=r"variant\(s\) \['z'\] are not in rows"):
        evaluate([claim(variants=("a", "z"))], rows, unit="points")
    with pytest.raises(ValueError, match="distinct names"):
        evaluate([claim(), claim()], rows, unit="points")
    with pytest.raises(ValueError, match="repeated"):
        evaluate([claim()], rows + rows[:1], unit="points")
    with pytest.raises(ValueError, match="no column"):
        evaluate([claim(metric="top5")], rows, unit="points")
    with pytest.raises(ValueError, match="unit="):
        evaluate([claim()], rows, unit="percent")
    c = claim(variants=["a", "b"])
    assert c.variants == ("a", "b") and c.pairs() == [("a", "b")]
    assert claim("ordering", ("a", "b", "c")).pairs() == [("a", "b"), ("b", "c")]
    assert claim("best_of", ("a", "b", "c")).pairs() == [("a", "b"), ("a", "c")]


def test_tables_and_rule_order(tmp_path):
    # a real but small effect: lo > 0 wins over "inside ±δ" (first matching rule), as the table says
    r = verdict(claim(delta=2.0), a=0.5 + TIGHT, b=0 * TIGHT)
    assert r["verdict"] == HOLDS and -2.0 < r["ci_low"] and r["ci_high"] < 2.0
    rows = [dict(r, top1=r["top1"] / 100) for r in rows_of(a=3 + TIGHT, b=0 * TIGHT)]
    v, d = evaluate([claim(), claim("equivalence", name="eq")], rows, unit="fraction")
    assert list(v.columns) == list(VERDICT_COLUMNS) and len(d) == 12
    v.to_csv(tmp_path / "verdicts.csv", index=False)
    back = pd.read_csv(tmp_path / "verdicts.csv")
    assert back["verdict"].tolist() == [HOLDS, REVERSED] and back["trained"].tolist() == ["a: 6/6; b: 6/6"] * 2


def test_holm_runs_within_each_claim_family():
    rows = rows_of(a=3 + WIDE / 3, b=0 * TIGHT, c=2 + WIDE / 2)
    paper = [claim(name="a>b", variants=("a", "b")), claim(name="c>b", variants=("c", "b"))]
    control = claim(name="control", variants=("a", "b"), family="control")
    v, _ = evaluate(paper + [control], rows, unit="points")
    alone, _ = evaluate([control], rows, unit="points")
    pair, _ = evaluate(paper, rows, unit="points")
    assert v.iloc[2]["p_holm"] == pytest.approx(alone.iloc[0]["p_holm"]) and v.iloc[2]["level"] == 0.95
    assert v.iloc[:2]["p_holm"].tolist() == pytest.approx(pair["p_holm"].tolist())
    with pytest.raises(ValueError, match="family"):
        claim(family="extra")
