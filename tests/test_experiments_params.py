"""actionrec.experiments.params: the notebooks' shared parameter rules (check_common returns the
normalised values), plus the validators and paths they build on (actionrec.utils.checks / .paths)."""

from pathlib import Path

import pytest

from actionrec.experiments import params as P
from actionrec.utils.checks import check_bool, check_choice, check_int, check_list
from actionrec.utils.paths import make_out_dir, resolve_data_root, resolve_out_dir


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"ratios=\[0.3\]"):
        check_list("ratios", [0.3], min_value=0.5, max_value=1.0)
    with pytest.raises(ValueError, match="difficulty"):
        check_choice("difficulty", "extreme", ["easy", "medium", "hard"])
    with pytest.raises(ValueError, match="seeds"):
        check_int("seeds", 0, min_value=1)
    with pytest.raises(ValueError, match="seeds"):
        check_int("seeds", 2.5)
    with pytest.raises(ValueError, match="clip"):
        check_list("clip", [16, 32], item="int", length=3)
    with pytest.raises(ValueError, match="substreams"):
        check_list("substreams", [1, 1], item="int")
    with pytest.raises(ValueError, match="smoke"):
        check_bool("smoke", "yes")
    assert check_list("ratios", [0.5, 1], min_value=0.5, max_value=1.0) == [0.5, 1]
    with pytest.raises(ValueError, match=r"placements=\['none', 'top'\].*among"):
        check_list("placements", ["none", "top"], item="str", choices=["none", "final"])
    with pytest.raises(ValueError, match="backbones.*strings"):
        check_list("backbones", ["r3d", 3], item="str")
    assert check_list("placements", ["none", "final"], item="str", choices=["none", "final"]) == ["none", "final"]


def test_out_dir_does_not_depend_on_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = resolve_out_dir("", "x")
    b = resolve_out_dir("build/x", "x")
    assert a.is_absolute() and a == b
    assert not str(a).startswith(str(tmp_path))
    assert resolve_out_dir(str(tmp_path / "o"), "x") == tmp_path / "o"


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
    out = make_out_dir(str(tmp_path / "a" / "b"), "x")
    assert out.is_dir() and out == tmp_path / "a" / "b"


def test_data_root_does_not_depend_on_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root("") is None
    rel = resolve_data_root("data/UCF-101")
    assert rel.is_absolute() and not str(rel).startswith(str(tmp_path))
    assert rel == resolve_out_dir("data/UCF-101", "unused")  # same base as out_dir
    assert resolve_data_root(str(tmp_path)) == tmp_path
    assert resolve_data_root("~/videos") == Path.home() / "videos"


def test_check_flow_names_the_parameter():
    P.check_flow(8, "gt")
    P.check_flow(2)
    with pytest.raises(ValueError, match=r"flow_channels=7.*even"):
        P.check_flow(7)
    with pytest.raises(ValueError, match="flow_channels=0"):
        P.check_flow(0)
    with pytest.raises(ValueError, match="flow_method='optical'"):
        P.check_flow(8, "optical")


def test_check_common_returns_the_values_and_parses_lists_given_as_strings():
    """papermill's ``-p clip '[16, 112, 112]'`` passes the list as a string: it comes back parsed."""
    got = P.check_common(seeds=3, clip="[16, 32, 32]", lr=0.01, width=1, dataset="synthactions", smoke=False)
    assert got == dict(seeds=3, clip=[16, 32, 32], lr=0.01, width=1, dataset="synthactions", smoke=False)
    assert list(got) == ["seeds", "clip", "lr", "width", "dataset", "smoke"] and type(got["width"]) is int
    assert P.check_common() == {}
    with pytest.raises(ValueError, match=r"clip=\[16, 32\]"):
        P.check_common(clip="[16, 32]")
    with pytest.raises(ValueError, match=r"clip=\[16, 32, 48\].*square"):  # checked after parsing
        P.check_common(dataset="kinetics", data_root=".", clip="[16, 32, 48]")
    assert check_list("substreams", "[1, 8]", item="int") == [1, 8]
    assert P.check_clip("[16, 32, 32]", min_size=(16, 32, 32), why="w") == [16, 32, 32]

