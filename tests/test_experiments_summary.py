"""actionrec.experiments.summary: grouping rows into mean ± CI, verdicts of compare / best on
constructed summaries, paired differences, and the notebooks' table cells and markdown tables."""

from __future__ import annotations

import math

import pytest

from actionrec.experiments.summary import (best, compare, is_accuracy, markdown_table, paired_difference, pct,
                                           summarize, summarize_by)


def rows_of(values: dict[str, list[float]], **extra) -> list[dict]:
    return [{"name": n, "seed": s, "top1": v, "run_dir": f"x/{n}/seed_{s}", **extra.get(n, {})}
            for n, vs in values.items() for s, v in enumerate(vs)]


def test_summarize_groups_and_carries_constant_fields():
    rows = rows_of({"a": [0.6, 0.7, 0.8], "b": [0.5, 0.5]}, a={"r": 0.5, "gmacs": 1.2}, b={"r": 1.0, "gmacs": 1.5})
    rows[0]["params"], rows[1]["params"], rows[2]["params"] = 10, 10, 11  # not constant in "a"
    s = summarize(rows)
    assert [e["label"] for e in s] == ["a", "b"]
    a, b = s
    assert a["mean"] == pytest.approx(0.7) and a["n"] == 3 and a["std"] == pytest.approx(0.1)
    assert a["ci"] == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)
    assert a["lo"] == pytest.approx(0.7 - a["ci"]) and a["seeds"] == [0, 1, 2]
    assert a["r"] == 0.5 and a["gmacs"] == 1.2 and "params" not in a and "seed" not in a
    assert b["std"] == 0.0 and b["ci"] == 0.0
    by_r = summarize(rows, by=["r"], metric="top1")
    assert [e["label"] for e in by_r] == ["r=0.5", "r=1.0"]
    with pytest.raises(ValueError, match="'top9'"):
        summarize(rows, metric="top9")


def test_summarize_counts_failed_runs():
    rows = rows_of({"a": [0.6, 0.7, 0.8]})
    rows[1]["top1"] = None
    (a,) = summarize(rows)
    assert a["n"] == 2 and a["n_failed"] == 1 and a["mean"] == pytest.approx(0.7)


def test_compare_verdicts():
    s = summarize(rows_of({
        "hi": [0.80, 0.81, 0.82], "lo": [0.50, 0.51, 0.52], "near": [0.79, 0.81, 0.84],
        "single": [0.9], "w_a": [10.0, 11.0, 12.0], "w_b": [7.0, 8.0, 9.0],
    }))
    c = compare(s, "hi", "lo")
    assert c["verdict"] == "higher" and c["better"] == "hi" and c["diff"] == pytest.approx(0.3)
    assert "higher than" in c["sentence"] and "do not overlap" in c["sentence"] and "81.0%" in c["sentence"]
    assert compare(s, "lo", "hi")["verdict"] == "lower"
    assert compare(s, "lo", "hi", higher_is_better=False)["better"] == "lo"
    n = compare(s, "hi", "near")
    assert n["verdict"] == "indistinguishable" and n["better"] is None and "overlap" in n["sentence"]
    one = compare(s, "single", "lo")
    assert one["verdict"] == "indistinguishable" and "fewer than 2" in one["sentence"]
    # CIs overlap ([8.52, 13.48] vs [5.52, 10.48]) but the Welch CI of the difference, 3 ± 2.27, excludes 0
    assert compare(s, "w_a", "w_b")["verdict"] == "indistinguishable"
    w = compare(s, "w_a", "w_b", method="welch")
    assert w["verdict"] == "higher" and w["diff_ci"] == pytest.approx(2.776445 * math.sqrt(2 / 3), rel=1e-5)
    assert compare(s, {"name": "hi"}, "lo")["verdict"] == "higher"
    with pytest.raises(ValueError, match="labels"):
        compare(s, "hi", "missing")


def test_best_reports_ties_and_clear_winners():
    s = summarize(rows_of({"a": [0.80, 0.81, 0.82], "b": [0.79, 0.81, 0.84], "c": [0.5, 0.51, 0.52]}))
    r = best(s)
    assert r["best"] == "b" and r["tied"] == ["a"] and not r["clear"]
    assert "indistinguishable from a (CIs overlap)" in r["sentence"]
    r2 = best(s[::2])  # a vs c
    assert r2["best"] == "a" and r2["clear"] and "clearly ahead" in r2["sentence"]
    assert best(s, higher_is_better=False)["best"] == "c"


# ---------------------------------------------------------------------------------- paired differences


def test_paired_difference_removes_the_shared_seed_effect():
    # seed effects (0, -0.3, +0.2) shared by both configs; a is 0.05-0.06 above b at every seed
    b = {0: 0.60, 1: 0.30, 2: 0.80}
    a = {0: 0.65, 1: 0.36, 2: 0.85}
    rows = [{"config": c, "seed": s, "top1": v[s]} for c, v in (("a", a), ("b", b)) for s in range(3)]
    p = paired_difference(rows, "config", "a", "b")
    assert p["seeds"] == [0, 1, 2] and p["n"] == 3
    assert p["diffs"] == pytest.approx([0.05, 0.06, 0.05]) and p["mean"] == pytest.approx(0.16 / 3)
    assert p["verdict"] == "higher" and "+5.3" in p["sentence"] and "CI excludes 0" in p["sentence"]
    s = summarize(rows, by=("config",))
    assert compare(s, {"config": "a"}, {"config": "b"})["verdict"] == "indistinguishable"  # unpaired CIs overlap
    assert paired_difference(rows, "config", "b", "a")["verdict"] == "lower"


def test_paired_difference_uses_common_seeds_and_names_missing_values():
    rows = [{"config": "a", "seed": 0, "top1": 0.5}, {"config": "a", "seed": 1, "top1": 0.6},
            {"config": "b", "seed": 1, "top1": 0.4}, {"config": "b", "seed": 2, "top1": 0.4},
            {"config": "c", "seed": 5, "top1": None}]
    p = paired_difference(rows, "config", "a", "b")
    assert p["seeds"] == [1] and p["verdict"] == "indistinguishable" and "one seed, no CI" in p["sentence"]
    with pytest.raises(ValueError, match=r"no row with config='c'"):
        paired_difference(rows, "config", "a", "c")
    with pytest.raises(ValueError, match="share no seed"):
        paired_difference(rows + [{"config": "d", "seed": 9, "top1": 0.1}], "config", "a", "d")


def test_summarize_by_and_pct():
    rows = [dict(name="a", seed=s, g=1, r=r, top1=0.5 + 0.1 * s, swapped=None if r == 1.0 else 0.2)
            for r in (0.5, 1.0) for s in range(3)]
    by_tuple = summarize_by(rows, ("g", "r"), "top1")
    assert set(by_tuple) == {(1, 0.5), (1, 1.0)} and by_tuple[(1, 0.5)]["n"] == 3
    by_one = summarize_by(rows, ("r",), "swapped", present_only=True)
    assert list(by_one) == [0.5] and by_one[0.5]["mean"] == pytest.approx(0.2)
    assert summarize_by([r for r in rows if r["r"] == 1.0], ("r",), "swapped", present_only=True) == {}
    e = by_tuple[(1, 0.5)]
    assert pct(e) == f"{100 * e['mean']:.1f} ± {100 * e['ci']:.1f}" == "60.0 ± 24.8"
    assert pct(e, error=True) == "40.0 ± 24.8"
    assert pct({"mean": 0.25, "ci": float("nan"), "n": 1}) == "25.0"
    assert pct(None) == pct({"mean": float("nan"), "ci": float("nan"), "n": 0}) == "—"


def test_pct_of_numbers_and_with_a_unit():
    e = {"mean": 0.742, "ci": 0.031, "n": 3}
    assert pct(e, unit="%") == "74.2% ± 3.1" and pct(e, True, unit="%") == "25.8% ± 3.1"
    assert pct(0.742) == "74.2" and pct(0.742, unit="%") == "74.2%" and pct(0.742, error=True) == "25.8"
    assert is_accuracy("top1") and is_accuracy("val_auc") and not is_accuracy("loss")


def test_markdown_table():
    t = markdown_table(["a", "b"], [[1, "x"], {"b": 2.5, "a": "—"}])
    assert t == "| a | b |\n|---|---|\n| 1 | x |\n| — | 2.5 |"
    with pytest.raises(ValueError, match="2 columns"):
        markdown_table(["a", "b"], [[1]])
