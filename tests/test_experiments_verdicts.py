"""actionrec.experiments.verdicts: the generic claim helpers on fabricated summaries (the papers'
claims built from them are tested in tests/test_papers_*.py)."""

from __future__ import annotations

import pytest

from actionrec.experiments.verdicts import (all_claim, best_claim, check_accuracy_metric, claims_result, entries_by,
                                            lower_error_claim, lowest_error_claim, order_claim, untested)
from claim_helpers import summary_of, tight


def test_order_and_error_claims():
    s = summary_of("k", {"a": tight(0.9), "b": tight(0.7), "c": [0.5, 0.95, 0.7]})
    by = entries_by(s, "k", ["a", "b", "c"], "test")
    c = order_claim(s, by["a"], by["b"], name_a="A", name_b="B", method="overlap", paper="1 vs 2")
    assert c["holds"] and c["clear"] and not c["contradicted"]
    assert c["sentence"] == "A (90.0% ± 2.5) vs B (70.0% ± 2.5): +20.0 points, higher beyond the 95% CIs (paper: 1 vs 2)."
    e = lower_error_claim(s, by["b"], by["a"], name_a="B", name_b="A", method="overlap", paper="p")
    assert not e["holds"] and e["contradicted"] and "B (30.0% ± 2.5) vs A (10.0% ± 2.5): +20.0 points of error" in e["sentence"]
    names = {k: k.upper() for k in by}
    b = best_claim(s, by, "a", names=names, among="thing", method="overlap", paper="p")
    assert b["holds"] and not b["clear"] and b["tied"] == ["c"]  # c's CI is wide
    low = lowest_error_claim(s, by, ["a"], names=names, among="things", method="overlap", paper="p")
    assert low["holds"] and not low["clear"] and low["best"] == "a"
    both = all_claim({"x": c, "y": e})
    assert not both["holds"] and both["contradicted"] and set(both["parts"]) == {"x", "y"}


def test_claims_result_flattens_and_words_the_verdict():
    s = summary_of("k", {"a": tight(0.9), "b": tight(0.7)})
    by = entries_by(s, "k", ["a", "b"], "test")
    c = order_claim(s, by["a"], by["b"], name_a="A", name_b="B", method="overlap", paper="p")
    out = claims_result({"best": "a"}, {"ab": c, "zz": untested("Z was not run.")}, "Table 9", note="Note.")
    assert list(out)[:5] == ["best", "ab", "ab_clear", "zz", "zz_clear"] and out["zz"] is None
    assert out["holds"] and out["clear"] and not out["contradicted"]
    assert out["sentence"].startswith("The paper's Table 9 claims hold clearly on this data. A (90.0%")
    assert out["sentence"].endswith("Z was not run. Note.")


def test_entries_by_and_accuracy_metric_checks():
    s = summary_of("k", {"a": tight(0.9)})
    with pytest.raises(ValueError, match=r"fn: unknown k values \['a'\]"):
        entries_by(s, "k", ["b"], "fn")
    with pytest.raises(ValueError, match="no 'variant' field"):
        entries_by(s, "variant", ["a"], "fn")
    assert check_accuracy_metric(s, "fn") == "top1"
    with pytest.raises(ValueError, match="not an accuracy"):
        check_accuracy_metric(summary_of("k", {"a": [1.0, 2.0]}, metric="loss"), "fn")
