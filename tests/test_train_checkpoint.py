"""actionrec.train.checkpoint: exact resume (at an epoch boundary and mid-epoch after a crash), skipping
finished runs, config mismatches named, no checkpoint from non-finite weights, atomic writes and
init_from (matching weights loaded, the head replaced)."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import torch
from torch import nn

from actionrec.train import ConfigMismatchError, TrainConfig, fit, is_finished, load_model
from actionrec.train import loop
from actionrec.train.checkpoint import Progress, build_model_from_config, load_matching_weights, save_checkpoint
from actionrec.train.metrics import MetricsLog
from actionrec.train.optim import build_optimizer, build_scheduler
from actionrec.utils.io import atomic_save
from train_helpers import (assert_same_weights, crash_at_step_8, fake_videos, metric_lines, tiny_cfg,  # noqa: F401
                           weights)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_resume_after_epoch_is_exact(tmp_path):
    """Interrupt with stop_after_epoch=1 (same config, so it resumes), then finish."""
    cfg = tiny_cfg(epochs=3, model_kwargs={"width": 0.125, "dropout": 0.5})  # dropout draws from the RNG
    full = fit(cfg, tmp_path / "full", progress=False)
    part = fit(cfg, tmp_path / "cut", progress=False, stop_after_epoch=1)
    assert part == {"finished": False, "epoch": 1, "step": 4, "run_dir": str(tmp_path / "cut")}
    assert not is_finished(tmp_path / "cut")
    resumed = fit(cfg, tmp_path / "cut", progress=False)
    assert_same_weights(weights(tmp_path / "full"), weights(tmp_path / "cut"))
    assert resumed["test"] == full["test"] and resumed["val_history"] == full["val_history"]
    assert metric_lines(tmp_path / "full") == metric_lines(tmp_path / "cut")


def test_resume_mid_epoch_after_crash_is_exact(tmp_path, monkeypatch):
    """checkpoint_every=3 saves at step 6 (mid epoch 2); a crash at step 8 loses lines 7-8 of
    metrics.jsonl, which resume truncates and rewrites identically."""
    cfg = tiny_cfg(epochs=3, checkpoint_every=3, log_every=1, model_kwargs={"width": 0.125, "dropout": 0.5})
    fit(cfg, tmp_path / "full", progress=False)

    real_write = MetricsLog.write
    monkeypatch.setattr(MetricsLog, "write", crash_at_step_8(real_write))
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(cfg, tmp_path / "cut", progress=False)
    ckpt = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 6 and ckpt["progress"]["step_in_epoch"] == 2
    monkeypatch.setattr(MetricsLog, "write", real_write)
    fit(cfg, tmp_path / "cut", progress=False)
    assert_same_weights(weights(tmp_path / "full"), weights(tmp_path / "cut"))
    assert metric_lines(tmp_path / "full") == metric_lines(tmp_path / "cut")


def test_finished_run_is_skipped_and_config_mismatch_is_named(tmp_path, monkeypatch):
    cfg = tiny_cfg(epochs=1)
    first = fit(cfg, tmp_path, progress=False)
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}

    def no_training(*a, **k):
        raise AssertionError("a finished run must not build data or train")

    monkeypatch.setattr(loop, "build_datasets", no_training)
    again = fit(dataclasses.replace(cfg, num_workers=1), tmp_path, progress=False)  # runtime field: fine
    assert again == json.loads(json.dumps(first))
    assert stamp == {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(ConfigMismatchError, match=r"lr.*0\.1"):
        fit(dataclasses.replace(cfg, lr=0.1), tmp_path, progress=False)


def test_resume_with_different_config_raises(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, tmp_path, progress=False, stop_after_epoch=1)
    with pytest.raises(ConfigMismatchError, match=r"\['batch_size', 'weight_decay'\]"):
        fit(dataclasses.replace(cfg, batch_size=8, weight_decay=0.0), tmp_path, progress=False)
    assert TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == cfg  # not overwritten
    (tmp_path / "config.json").unlink()  # the checkpoint itself is checked too
    with pytest.raises(ConfigMismatchError, match=r"checkpoint of a different config \(fields \['lr'\]"):
        fit(dataclasses.replace(cfg, lr=1.0), tmp_path, progress=False)


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, tmp_path, progress=False, stop_after_epoch=1)
    good = (tmp_path / "checkpoint.pt").read_bytes()
    model = load_model(tmp_path)
    with torch.no_grad():
        model.fc.weight[0, 0] = float("inf")
    opt = build_optimizer(model, cfg)
    sched = build_scheduler(opt, cfg, 8)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    with pytest.raises(FloatingPointError, match="non-finite"):
        save_checkpoint(tmp_path / "checkpoint.pt", cfg, model, opt, sched, scaler, Progress(16))
    assert (tmp_path / "checkpoint.pt").read_bytes() == good


def test_atomic_save_leaves_old_file_or_new_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    atomic_save({"w": torch.ones(3)}, path)
    old = path.read_bytes()
    real_save = torch.save

    def dies_halfway(obj, f, *a, **k):
        f.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["checkpoint.pt"]  # no temp file left behind
    monkeypatch.setattr(torch, "save", real_save)
    atomic_save({"w": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.zeros(3))
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_init_from_loads_matching_weights_and_replaces_the_head(tmp_path, fake_videos):
    src = tiny_cfg(epochs=1)  # SynthActions: 16 classes
    fit(src, tmp_path / "src", progress=False)
    source = weights(tmp_path / "src")
    # fine-tune on a 4-class dataset; lr ~0 so the final weights still show what was loaded
    cfg = tiny_cfg(dataset="fakevideos", dataset_kwargs={}, train_samples=32, val_samples=8, test_samples=8,
                   epochs=2, batch_size=8, lr=1e-12, weight_decay=0.0, warmup_steps=0,
                   init_from=str(tmp_path / "src"))
    part = fit(cfg, tmp_path / "ft", progress=False, stop_after_epoch=1)
    assert not part["finished"]
    res = fit(cfg, tmp_path / "ft", progress=False)  # resumed: the report survives in the checkpoint
    report = res["init_from"]
    assert report["path"] == str(tmp_path / "src" / "checkpoint.pt")
    assert set(report["skipped"]) == {"fc.weight", "fc.bias"}
    assert "(16, 16) in the checkpoint != (4, 16) in the model" in report["skipped"]["fc.weight"]
    assert set(report["loaded"]) == set(source) - {"fc.weight", "fc.bias"} and report["unused"] == []
    tuned = weights(tmp_path / "ft")
    assert tuned["fc.weight"].shape == (4, 16)
    params = {k for k, _ in build_model_from_config(src, 16).named_parameters()}  # (BN running stats move with lr 0)
    for k in set(report["loaded"]) & params:
        assert torch.allclose(tuned[k], source[k], atol=1e-6), k
    # a bare state_dict file works too; nothing matching and missing paths are explained
    net = build_model_from_config(src, 16)
    torch.save(source, tmp_path / "bare.pt")
    assert load_matching_weights(net, tmp_path / "bare.pt")["skipped"] == {}
    assert torch.equal(net.fc.weight, source["fc.weight"])
    with pytest.raises(ValueError, match="no tensor .* matches"):
        load_matching_weights(nn.Linear(3, 3), tmp_path / "bare.pt")
    with pytest.raises(FileNotFoundError, match="init_from=.*does not exist"):
        fit(dataclasses.replace(cfg, init_from=str(tmp_path / "nope")), tmp_path / "x", progress=False)
    with pytest.raises(FileNotFoundError, match="without checkpoint.pt"):
        fit(dataclasses.replace(cfg, init_from=str(tmp_path)), tmp_path / "y", progress=False)
