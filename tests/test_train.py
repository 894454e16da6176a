"""Tests of actionrec.train: config validation, evaluate's metrics on a hand-made example,
determinism, exact resume (at an epoch boundary and mid-epoch), skipping finished runs,
NaN handling and atomic checkpoint writes. Tiny model (c3d_small width 0.125, 11k params) on
tiny SynthActions (8 frames of 16x16, 64 train / 32 val / 32 test clips): each fit < 1 s."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actionrec.train as train
from actionrec.train import (
    ConfigMismatchError,
    NonFiniteLossError,
    TrainConfig,
    atomic_save,
    build_datasets,
    evaluate,
    fit,
    is_finished,
    load_model,
    lr_factor,
)


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_cfg(**overrides) -> TrainConfig:
    base = dict(model="c3d_small", model_kwargs={"width": 0.125}, dataset="synthactions",
                dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"},
                train_samples=64, val_samples=32, test_samples=32, epochs=3, batch_size=16,
                log_every=2, warmup_steps=2, device="cpu")
    return TrainConfig(**{**base, **overrides})


def weights(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]


def metric_lines(run_dir) -> list[dict]:
    """metrics.jsonl without the wall-clock field."""
    lines = [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in d.items() if k != "time"} for d in lines]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ---------------------------------------------------------------------------------- config


@pytest.mark.parametrize("field,value", [
    ("model", "resnet9000"), ("dataset", "kinetics"), ("epochs", 0), ("batch_size", -1),
    ("optimizer", "adam"), ("scheduler", "linear"), ("lr", 0.0), ("lr", float("nan")),
    ("weight_decay", -0.1), ("warmup_steps", -1), ("amp", "fp16"), ("eval_every", 0),
    ("log_every", 0), ("clip_grad", 0.0), ("max_steps", 0), ("train_samples", 0),
    ("num_workers", -1), ("seed", 1.5), ("epochs", True), ("cache_data", "yes"), ("device", "tpu"),
    ("checkpoint_every", 0),
])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        tiny_cfg(**{field: value})


@pytest.mark.parametrize("field,kwargs,match", [
    ("model_kwargs", {"num_classes": 3}, "num_classes"),
    ("dataset_kwargs", {"seed": 3}, "data_seed"),
    ("dataset_kwargs", {"num_samples": 3}, "train_samples"),
    ("model_kwargs", {"act": nn.ReLU}, "model_kwargs"),
])
def test_invalid_kwargs_explain_what_to_do(field, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_cfg(**{field: kwargs})


def test_config_round_trip_and_unknown_field():
    cfg = tiny_cfg(model_kwargs={"width": 0.125, "dropout": 0.1}, clip_grad=1.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict({**cfg.to_dict(), "learning_rate": 1.0})


def test_lr_schedule_shapes():
    kw = dict(total_steps=100, warmup_steps=10)
    assert lr_factor(0, scheduler="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(9, scheduler="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(10, scheduler="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(55, scheduler="cosine", **kw) == pytest.approx(0.5)
    assert lr_factor(100, scheduler="cosine", **kw) == pytest.approx(0.0)
    assert [lr_factor(s, scheduler="step", **kw) for s in (10, 54, 55, 77, 78)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert lr_factor(99, scheduler="none", **kw) == 1.0


def test_amp_is_never_used_on_cpu():
    cpu = torch.device("cpu")
    assert train._amp_dtype("auto", cpu) is None and train._amp_dtype(True, cpu) is None


# ---------------------------------------------------------------------------------- evaluate


def test_evaluate_on_hand_made_logits():
    # The "model" is the identity: inputs are the logits. 7 classes, class 6 never occurs.
    logits = torch.tensor([
        [9, 8, 7, 6, 5, 4, 0],  # y=0: top1 right
        [9, 8, 7, 6, 5, 4, 0],  # y=1: top1 wrong (pred 0), in top5
        [9, 8, 7, 6, 5, 4, 0],  # y=5: top1 wrong (pred 0), not in top5 (rank 6)
        [0, 1, 9, 2, 3, 4, 5],  # y=2: right
        [0, 1, 2, 9, 3, 4, 5],  # y=2: wrong (pred 3), in top5
        [5, 0, 0, 0, 0, 0, 0],  # y=4: wrong (pred 0); top5 = {0, 1..4 tie}: torch picks lowest indices
    ], dtype=torch.float32)
    y = torch.tensor([0, 1, 5, 2, 2, 4])
    loader = [(logits[:4], y[:4]), (logits[4:], y[4:])]
    m = evaluate(nn.Identity(), loader, device="cpu", num_classes=7)
    top5 = logits.topk(5, dim=1).indices
    expected_top5 = (top5 == y[:, None]).any(1).float().mean().item()
    assert m["n"] == 6
    assert m["top1"] == pytest.approx(2 / 6)
    assert m["top5"] == pytest.approx(expected_top5)
    assert m["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    conf = [[0] * 7 for _ in range(7)]
    for t, p in [(0, 0), (1, 0), (5, 0), (2, 2), (2, 3), (4, 0)]:
        conf[t][p] += 1
    assert m["confusion"] == conf
    assert m["per_class"] == [1.0, 0.0, 0.5, None, 0.0, 0.0, None]


def test_evaluate_restores_train_mode_and_top5_with_few_classes():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    net.train()
    m = evaluate(net, [(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))], device="cpu", num_classes=3)
    assert net.training and m["top5"] == 1.0  # top-min(5, K) with K = 3 is always right


# ---------------------------------------------------------------------------------- fit


def test_same_seed_gives_identical_runs(tmp_path):
    cfg = tiny_cfg(epochs=2)
    a, b = fit(cfg, tmp_path / "a", progress=False), fit(cfg, tmp_path / "b", progress=False)
    for key in ("top1", "top5", "test", "val_history", "params", "steps"):
        assert a[key] == b[key], key
    assert_same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert metric_lines(tmp_path / "a") == metric_lines(tmp_path / "b")
    c = fit(dataclasses.replace(cfg, seed=1), tmp_path / "c", progress=False)
    assert not torch.equal(weights(tmp_path / "a")["fc.weight"], weights(tmp_path / "c")["fc.weight"])
    assert c["params"] == a["params"]


def test_run_dir_contents(tmp_path):
    res = fit(tiny_cfg(epochs=2), tmp_path, progress=False)
    assert is_finished(tmp_path) and res["finished"]
    assert TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == tiny_cfg(epochs=2)
    assert json.loads((tmp_path / "final.json").read_text())["top1"] == res["top1"]
    kinds = [d["kind"] for d in metric_lines(tmp_path)]
    # 4 steps/epoch, log_every=2: train, train, epoch, val per epoch, then test
    assert kinds == ["train", "train", "epoch", "val"] * 2 + ["test"]
    assert res["steps"] == 8 and res["epochs"] == 2 and len(res["val_history"]) == 2
    assert res["num_classes"] == 16 and len(res["test"]["confusion"]) == 16
    model = load_model(tmp_path)
    assert not model.training
    assert_same_weights(model.state_dict(), weights(tmp_path))


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

    real_write = train._MetricsLog.write

    def crashing_write(self, kind, **rec):
        if rec["step"] == 8 and kind == "train":
            raise RuntimeError("simulated crash")
        return real_write(self, kind, **rec)

    monkeypatch.setattr(train._MetricsLog, "write", crashing_write)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(cfg, tmp_path / "cut", progress=False)
    ckpt = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 6 and ckpt["progress"]["step_in_epoch"] == 2
    monkeypatch.setattr(train._MetricsLog, "write", real_write)
    fit(cfg, tmp_path / "cut", progress=False)
    assert_same_weights(weights(tmp_path / "full"), weights(tmp_path / "cut"))
    assert metric_lines(tmp_path / "full") == metric_lines(tmp_path / "cut")


def test_finished_run_is_skipped_and_config_mismatch_is_named(tmp_path, monkeypatch):
    cfg = tiny_cfg(epochs=1)
    first = fit(cfg, tmp_path, progress=False)
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}

    def no_training(*a, **k):
        raise AssertionError("a finished run must not build data or train")

    monkeypatch.setattr(train, "build_datasets", no_training)
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


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = tiny_cfg(epochs=3)
    fit(cfg, tmp_path, progress=False, stop_after_epoch=1)  # good checkpoint after epoch 1 (step 4)
    good = (tmp_path / "checkpoint.pt").read_bytes()

    real_ce = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda *a, **k: real_ce(*a, **k) * float("nan"))
    with pytest.raises(FloatingPointError, match=r"nan at step 5 \(epoch 2.*Lower lr") as info:
        fit(cfg, tmp_path, progress=False)
    assert isinstance(info.value, NonFiniteLossError)
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not is_finished(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "config.json", "metrics.jsonl"]


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, tmp_path, progress=False, stop_after_epoch=1)
    good = (tmp_path / "checkpoint.pt").read_bytes()
    model = load_model(tmp_path)
    with torch.no_grad():
        model.fc.weight[0, 0] = float("inf")
    opt = train.build_optimizer(model, cfg)
    sched = train.build_scheduler(opt, cfg, 8)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    with pytest.raises(FloatingPointError, match="non-finite"):
        train.save_checkpoint(tmp_path / "checkpoint.pt", cfg, model, opt, sched, scaler, train._Progress(16))
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


def test_data_cache_renders_each_split_once():
    cfg = tiny_cfg()
    a, b = build_datasets(cfg), build_datasets(dataclasses.replace(cfg, seed=5, lr=1.0))
    assert all(a[s] is b[s] for s in ("train", "val", "test"))  # training seed/lr do not change the data
    c = build_datasets(dataclasses.replace(cfg, data_seed=1))
    assert c["train"] is not a["train"] and not torch.equal(c["train"].tensors[0], a["train"].tensors[0])
    assert len(a["train"]) == 64 and len(a["val"]) == 32 and a["train"].num_classes == 16
    uncached = build_datasets(dataclasses.replace(cfg, cache_data=False))
    x, y = uncached["val"][3]
    assert torch.equal(x, a["val"].tensors[0][3]) and y == a["val"].tensors[1][3].item()


def test_cache_and_workers_do_not_change_results(tmp_path):
    cfg = tiny_cfg(epochs=1)
    fit(cfg, tmp_path / "cached", progress=False)
    fit(dataclasses.replace(cfg, cache_data=False, num_workers=2), tmp_path / "workers", progress=False)
    assert_same_weights(weights(tmp_path / "cached"), weights(tmp_path / "workers"))


def test_max_steps_and_step_scheduler(tmp_path):
    res = fit(tiny_cfg(epochs=3, max_steps=6, scheduler="step", optimizer="sgd", clip_grad=1.0, eval_every=2),
              tmp_path, progress=False)
    assert res["steps"] == 6 and res["epochs"] == 2
    assert [v["epoch"] for v in res["val_history"]] == [2]  # eval_every=2, and always after the last epoch
    assert math.isfinite(res["test"]["loss"])
