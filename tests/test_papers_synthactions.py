"""actionrec.papers.synthactions: the shared RGB run equals the MTNet ratio chapter's run, and one
chapter finds (instead of retraining) a run another chapter trained."""

import pytest

from actionrec.data.synthactions import SynthActions
from actionrec.experiments.grid import config_tag
from actionrec.experiments.setup import base_config, data_kwargs
from actionrec.papers import synthactions as S
from actionrec.papers.mtnet import mtnet_ratio_variants


def test_rgb_run_config_is_the_ratio_chapters_run():
    ratio = base_config(model="mtnet32", dataset="synthactions", dataset_kwargs=data_kwargs("synthactions", [16, 32, 32]),
                        train_samples=640, epochs=7, batch_size=32, lr=0.003, device="auto")
    ratio, _ = mtnet_ratio_variants(ratio, ratios=[0.875], substreams=[1], width=0.25)["r0.875_g1"]
    ours = S.rgb_run_config("mtnet32")
    assert ours == ratio and config_tag(ours) == config_tag(ratio)
    assert S.rgb_run_config("r3d_18", width=0.5).model_kwargs == {"width": 0.5}


def test_shared_runs_trains_what_is_missing_and_finds_another_chapters_run(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(S, "resolve_out_dir", lambda out_dir, name: tmp_path / "build" / name)
    cfg = S.rgb_run_config("c3d_small", width=0.125, epochs=1, train_samples=16, batch_size=16, clip=(4, 16, 16),
                           device="cpu")
    other = tmp_path / "build" / "ablation_ratio" / "runs"
    found, trained = S.shared_runs({"c3d": cfg}, other, seed=0)
    assert trained == ["c3d"] and found["c3d"] == other / f"c3d-{config_tag(cfg)}" / "seed_0"
    assert (found["c3d"] / "final.json").exists()
    again, trained = S.shared_runs({"c3d": cfg}, tmp_path / "attribution" / "runs", seed=0)
    assert trained == [] and again == found
    assert not (tmp_path / "attribution").exists()


def test_flow_check_measures_the_estimate_against_the_exact_flow():
    kw = dict(frames=4, size=(32, 32), difficulty="easy", modality="rgb+flow")
    exact = SynthActions("train", 4, seed=0, flow_method="gt", **kw)
    c = S.flow_check(exact, 3, real=False, method="gt")
    assert c["epe"] < 0.2 and c["epe_figure"] < 0.2  # the 8-bit quantisation of the exact flow only
    assert [(f.shape, name) for f, name in c["panels"]] == [((3, 32, 32, 2), "exact"), ((3, 32, 32, 2), "gt")]
    assert c["label"] == exact.label(0) and "vs ground truth, 3 clips" in c["sentence"]
    real = S.flow_check(exact, 2, real=True, method="farneback", dataset="UCF-101")  # as a loader of videos reads it
    assert real["epe"] is None and real["epe_figure"] is None and len(real["panels"]) == 1
    assert "of 2 UCF-101 clips** (no exact flow" in real["sentence"]


def test_recipe_config_takes_a_chapter_setting_per_budget():
    from actionrec.papers.synthactions import SYNTH_RECIPE, recipe_config
    setting = dict(SYNTH_RECIPE, difficulty="temporal", train_samples={"quick": 512, "reference": 2048},
                   epochs={"quick": 1, "reference": 5})
    quick = recipe_config("mtnet32", {"r": 0.875}, budget="quick", recipe=setting)
    ref = recipe_config("mtnet32", {"r": 0.875}, budget="reference", recipe=setting)
    assert (quick.train_samples, quick.epochs, ref.train_samples, ref.epochs) == (512, 1, 2048, 5)
    assert quick.dataset_kwargs["difficulty"] == ref.dataset_kwargs["difficulty"] == "temporal"
    assert ref.val_samples == 512 and ref.test_samples == SYNTH_RECIPE["test_samples"]
    shared = recipe_config("mtnet32", {"r": 0.875}, budget="reference")  # no setting: the shared recipe
    assert (shared.train_samples, shared.epochs) == (SYNTH_RECIPE["train_samples"], SYNTH_RECIPE["epochs"]["reference"])
    with pytest.raises(ValueError, match=r"recipe lacks \['lr'\]"):
        recipe_config("mtnet32", {}, recipe={k: v for k, v in setting.items() if k != "lr"})
