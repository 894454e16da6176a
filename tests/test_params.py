"""Notebook parameter validation and the MTNet ratio-claim verdict."""

from pathlib import Path

import pytest

from actionrec import experiments as ex
from actionrec import params as P


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"ratios=\[0.3\]"):
        P.check_list("ratios", [0.3], min_value=0.5, max_value=1.0)
    with pytest.raises(ValueError, match="difficulty"):
        P.check_choice("difficulty", "extreme", ["easy", "medium", "hard"])
    with pytest.raises(ValueError, match="seeds"):
        P.check_int("seeds", 0, min_value=1)
    with pytest.raises(ValueError, match="seeds"):
        P.check_int("seeds", 2.5)
    with pytest.raises(ValueError, match="clip"):
        P.check_list("clip", [16, 32], item="int", length=3)
    with pytest.raises(ValueError, match="substreams"):
        P.check_list("substreams", [1, 1], item="int")
    with pytest.raises(ValueError, match="smoke"):
        P.check_bool("smoke", "yes")
    assert P.check_list("ratios", [0.5, 1], min_value=0.5, max_value=1.0) == [0.5, 1]
    with pytest.raises(ValueError, match=r"placements=\['none', 'top'\].*among"):
        P.check_list("placements", ["none", "top"], item="str", choices=["none", "final"])
    with pytest.raises(ValueError, match="backbones.*strings"):
        P.check_list("backbones", ["r3d", 3], item="str")
    assert P.check_list("placements", ["none", "final"], item="str", choices=["none", "final"]) == ["none", "final"]


def test_out_dir_does_not_depend_on_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = P.resolve_out_dir("", "x")
    b = P.resolve_out_dir("build/x", "x")
    assert a.is_absolute() and a == b
    assert not str(a).startswith(str(tmp_path))
    assert P.resolve_out_dir(str(tmp_path / "o"), "x") == tmp_path / "o"


def _entry(r, mean, ci, n=3):
    return {"label": f"r={r}", "r": r, "mean": mean, "ci": ci, "n": n, "std": ci, "metric": "top1",
            "lo": mean - ci, "hi": mean + ci, "confidence": 0.95}


def test_ratio_claim_holds_clearly_when_separated():
    s = [_entry(0.5, 0.70, 0.01), _entry(0.75, 0.84, 0.01), _entry(0.875, 0.86, 0.01), _entry(1.0, 0.80, 0.01)]
    v = ex.mtnet_ratio_claim(s)
    assert v["holds"] and v["clear"] and v["best_r"] == 0.875 and v["worst_r"] == 0.5
    assert "holds clearly" in v["sentence"]
    assert v["r0875_vs_r1"]["verdict"] == "higher"


def test_ratio_claim_nominal_within_noise_and_failing():
    noisy = [_entry(0.5, 0.80, 0.05), _entry(0.875, 0.82, 0.05), _entry(1.0, 0.81, 0.05)]
    v = ex.mtnet_ratio_claim(noisy)
    assert v["holds"] and not v["clear"] and "nominally" in v["sentence"]
    wrong = [_entry(0.5, 0.90, 0.01), _entry(0.875, 0.80, 0.01), _entry(1.0, 0.70, 0.01)]
    v = ex.mtnet_ratio_claim(wrong)
    assert not v["holds"] and "does not hold" in v["sentence"] and v["best_r"] == 0.5
    wrong_noisy = [_entry(0.5, 0.83, 0.05), _entry(0.875, 0.82, 0.05), _entry(1.0, 0.81, 0.05)]
    v = ex.mtnet_ratio_claim(wrong_noisy)
    assert not v["holds"] and "not supported" in v["sentence"] and "noise" in v["sentence"]


def _pentry(p, mean, ci, n=3):
    return {**_entry(0, mean, ci, n), "label": f"placement={p}", "placement": p}


def test_placement_claim_clear_nominal_and_failing():
    clear = [_pentry("none", 0.70, 0.01), _pentry("start", 0.75, 0.01), _pentry("mid", 0.76, 0.01),
             _pentry("final", 0.85, 0.01)]
    v = ex.srtg_placement_claim(clear)
    assert v["holds"] and v["clear"] and v["best"] == "final" and "hold clearly" in v["sentence"]
    assert set(v["vs_none"]) == {"start", "mid", "final"}
    noisy = [_pentry("none", 0.70, 0.08), _pentry("res", 0.72, 0.08), _pentry("final", 0.74, 0.08)]
    v = ex.srtg_placement_claim(noisy)
    assert v["holds"] and not v["clear"] and "nominally" in v["sentence"]
    worse = [_pentry("none", 0.80, 0.01), _pentry("start", 0.70, 0.01), _pentry("final", 0.85, 0.01)]
    v = ex.srtg_placement_claim(worse)
    assert not v["holds"] and "do not hold" in v["sentence"] and not v["all_beat_none"]
    mixed = [_pentry("none", 0.70, 0.08), _pentry("start", 0.76, 0.08), _pentry("final", 0.73, 0.08)]
    v = ex.srtg_placement_claim(mixed)
    assert not v["holds"] and "not supported" in v["sentence"] and v["best"] == "start"
    with pytest.raises(ValueError, match="'none'"):
        ex.srtg_placement_claim([_pentry("final", 0.8, 0.01)])


def test_check_common_applies_the_shared_rules_by_name():
    P.check_common(seeds=3, lr=3e-3, clip=[16, 32, 32], dataset="synthactions", smoke=False)
    with pytest.raises(ValueError, match="lr=0"):
        P.check_common(lr=0)
    with pytest.raises(ValueError, match="dataset='ucf'"):
        P.check_common(dataset="ucf")
    with pytest.raises(TypeError, match="no rule for \\['ratio'\\]"):
        P.check_common(ratio=0.5)
