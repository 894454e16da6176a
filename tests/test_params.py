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


def test_real_dataset_needs_an_existing_data_root(tmp_path):
    P.check_common(dataset="ucf101", data_root=str(tmp_path), split=3, clip=[16, 32, 32], train_samples=0)
    with pytest.raises(ValueError, match=r"data_root=''.*Running on real data"):
        P.check_common(dataset="hmdb51", data_root="", split=1)
    with pytest.raises(ValueError, match=r"data_root=.*nowhere.*not a folder.*Running on real data"):
        P.check_common(dataset="ucf101", data_root=str(tmp_path / "nowhere"), split=1)
    with pytest.raises(ValueError, match="data_root=3"):
        P.check_common(dataset="ucf101", data_root=3)
    with pytest.raises(TypeError, match="data_root"):  # a notebook that forgets to pass it
        P.check_common(dataset="kinetics")
    P.check_common(dataset="synthactions", data_root="", split=1)  # SynthActions ignores both


def test_split_and_clip_rules_for_real_data(tmp_path):
    with pytest.raises(ValueError, match="split=4"):
        P.check_common(dataset="ucf101", data_root=str(tmp_path), split=4)
    with pytest.raises(ValueError, match=r"split=2.*kinetics has one official split"):
        P.check_common(dataset="kinetics", data_root=str(tmp_path), split=2)
    with pytest.raises(ValueError, match=r"clip=\[16, 32, 48\].*square"):
        P.check_common(dataset="ucf101", data_root=str(tmp_path), clip=[16, 32, 48])
    P.check_common(dataset="synthactions", clip=[16, 32, 48])  # SynthActions renders any H x W


def test_zero_samples_means_the_whole_split_of_real_data_only(tmp_path):
    P.check_common(dataset="ucf101", data_root=str(tmp_path), train_samples=0, test_samples=0)
    with pytest.raises(ValueError, match=r"train_samples=0.*real datasets"):
        P.check_common(dataset="synthactions", train_samples=0)
    with pytest.raises(ValueError, match=r"test_samples=0.*real datasets"):
        P.check_common(dataset="synthactions", test_samples=0)
    with pytest.raises(ValueError, match="train_samples=8"):
        P.check_common(dataset="ucf101", data_root=str(tmp_path), train_samples=8)


def test_synthactions_only_and_clip_and_out_dir_helpers(tmp_path):
    assert P.check_synthactions_only("synthactions", "why") == "synthactions"
    with pytest.raises(ValueError, match=r"dataset='ucf101'.*SynthActions only.*action windows"):
        P.check_synthactions_only("ucf101", "it needs the action windows")
    assert P.check_clip([16, 32, 32], min_size=(16, 32, 32), why="w") == [16, 32, 32]
    with pytest.raises(ValueError, match=r"clip=\[8, 32, 32\] is invalid: MTNet needs T >= 16"):
        P.check_clip([8, 32, 32], min_size=(16, 32, 32), why="MTNet needs T >= 16")
    out = P.make_out_dir(str(tmp_path / "a" / "b"), "x")
    assert out.is_dir() and out == tmp_path / "a" / "b"


def test_data_root_does_not_depend_on_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert P.resolve_data_root("") is None
    rel = P.resolve_data_root("data/UCF-101")
    assert rel.is_absolute() and not str(rel).startswith(str(tmp_path))
    assert rel == P.resolve_out_dir("data/UCF-101", "unused")  # same base as out_dir
    assert P.resolve_data_root(str(tmp_path)) == tmp_path
    assert P.resolve_data_root("~/videos") == Path.home() / "videos"


def test_check_flow_names_the_parameter():
    P.check_flow(8, "gt")
    P.check_flow(2)
    with pytest.raises(ValueError, match=r"flow_channels=7.*even"):
        P.check_flow(7)
    with pytest.raises(ValueError, match="flow_channels=0"):
        P.check_flow(0)
    with pytest.raises(ValueError, match="flow_method='optical'"):
        P.check_flow(8, "optical")
