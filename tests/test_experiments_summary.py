"""actionrec.experiments.summary: grouping rows into mean ± CI, and the notebooks' table cells and
markdown tables."""

from __future__ import annotations

import math

import pytest

from actionrec.experiments.summary import is_accuracy, markdown_table, pct, summarize, summarize_by


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
