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
    ("model", "resnet9000"), ("dataset", "kinetics9000"), ("epochs", 0), ("batch_size", -1),
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
    monkeypatch.setattr(train._MetricsLog, "write", _crash_at_step_8(real_write))
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


# ---------------------------------------------------------------------------------- scale options


class NoBNNet(nn.Module):
    """conv 3^3 → ReLU → conv 3^3 (stride 2) → ReLU → mean over (T, H, W) → linear: no BatchNorm, so a
    batch split into micro-batches computes the same gradient (BatchNorm would normalise per micro-batch)."""

    def __init__(self, *, num_classes: int, width: int = 8):
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, width, 3, padding=1), nn.ReLU(),
                                      nn.Conv3d(width, width, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x):
        return self.features(x).mean(dim=(2, 3, 4))  # (B, C, T', H', W') -> (B, C)

    def forward_head(self, feats):
        return self.fc(feats)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


@pytest.fixture
def nobn(monkeypatch):
    from actionrec.models import MODELS

    monkeypatch.setitem(MODELS, "nobn_net", lambda *, num_classes, width=8: NoBNNet(num_classes=num_classes, width=width))
    return "nobn_net"


class FakeVideos(torch.utils.data.Dataset):
    """Stands in for VideoDataset: ``cacheable = False``, ``set_epoch`` and ``failure_count`` (which
    reports 10 * epoch + 3 so the test can tell when it was read). 4 classes, clips (3, 4, 8, 8)."""

    cacheable = False
    failures_file = None  # fit points it into the run dir
    num_classes = 4
    classes = ["a", "b", "c", "d"]

    def __init__(self, split, num_samples=24, seed=0):
        g = torch.Generator().manual_seed(seed * 10 + ("train", "val", "test").index(split))
        self.y = torch.arange(num_samples) % 4
        self.x = torch.randn(num_samples, 3, 4, 8, 8, generator=g) + self.y[:, None, None, None, None] * 0.5
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def failure_count(self):
        return 10 * self.epochs[-1] + 3 if self.epochs else 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


@pytest.fixture
def fake_videos(monkeypatch):
    from actionrec.data import DATASETS

    made = []

    def build(split, **kwargs):
        made.append(FakeVideos(split, **kwargs))
        return made[-1]

    monkeypatch.setitem(DATASETS, "fakevideos", build)
    return made


def test_new_fields_at_defaults_keep_config_files_and_tags():
    from actionrec.experiments import config_tag

    # tags computed before accum_steps & co existed
    assert config_tag(TrainConfig()) == "36dc32ce"
    cfg = TrainConfig(model="mtnet32", model_kwargs={"width": 0.25}, epochs=3, lr=1e-3,
                      dataset_kwargs={"frames": 8, "size": 32})
    assert config_tag(cfg) == "bf08a2fb"
    d = cfg.to_dict()
    assert not set(train._LATER_FIELDS) & set(d) and "accum_steps" not in json.dumps(d)
    assert d["accum_steps"] == 1 and d["multigrid"] == "none" and d["init_from"] is None  # still readable
    later = dataclasses.replace(cfg, accum_steps=2, tensorboard=True, init_from="runs/x")
    assert later.to_dict()["accum_steps"] == 2 and config_tag(later) != config_tag(cfg)
    assert TrainConfig.from_dict(json.loads(json.dumps(later.to_dict()))) == later
    assert train._config_diff(cfg.to_dict(), later) == ["accum_steps", "init_from"]  # tensorboard: runtime


@pytest.mark.parametrize("field,value,match", [
    ("accum_steps", 0, "accum_steps"), ("accum_steps", 3, "divisible by accum_steps=3"),
    ("multigrid", "medium", "multigrid"), ("init_from", "", "init_from"), ("init_from", 3, "init_from"),
    ("channels_last", "yes", "channels_last"), ("tensorboard", 1, "tensorboard"), ("sync_bn", None, "sync_bn"),
])
def test_invalid_scale_fields_name_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        tiny_cfg(**{field: value})


def test_accum_steps_equals_one_big_batch_without_batchnorm(tmp_path, nobn):
    """batch_size 8 as 2 micro-batches of 4 (loss / 2 each, clipping once per step) = one batch of 8."""
    cfg = tiny_cfg(model=nobn, model_kwargs={}, batch_size=8, epochs=2, clip_grad=0.5)
    one = fit(cfg, tmp_path / "one", progress=False)
    two = fit(dataclasses.replace(cfg, accum_steps=2), tmp_path / "two", progress=False)
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6
    assert one["steps"] == two["steps"] == 16
    lines_a, lines_b = metric_lines(tmp_path / "one"), metric_lines(tmp_path / "two")
    assert [(d["kind"], d["step"], d.get("n")) for d in lines_a] == [(d["kind"], d["step"], d.get("n")) for d in lines_b]
    assert [d["loss"] for d in lines_a] == pytest.approx([d["loss"] for d in lines_b], rel=1e-5)
    assert two["test"]["confusion"] == one["test"]["confusion"]
    with pytest.raises(ValueError, match="fewer than batch_size"):
        fit(tiny_cfg(batch_size=128, accum_steps=2), tmp_path / "big", progress=False)


def test_fp16_grad_scaler_composes_with_accumulation(tmp_path, nobn, monkeypatch):
    """The CUDA fp16 path, run on CPU (CPU autocast + GradScaler): scaled micro-batch losses, one
    unscale_ (then clipping) per optimizer step, and the same weights as one batch within fp16 error."""
    monkeypatch.setattr(train, "_amp_dtype", lambda amp, device: torch.float16)
    unscales = []
    real_unscale = torch.amp.GradScaler.unscale_
    monkeypatch.setattr(torch.amp.GradScaler, "unscale_", lambda self, opt: unscales.append(1) or real_unscale(self, opt))
    # SGD: an update proportional to the gradient keeps fp16 rounding small (Adam's m/sqrt(v) would turn
    # the rounding of near-zero gradients into +-lr steps)
    cfg = tiny_cfg(model=nobn, model_kwargs={}, batch_size=8, epochs=1, clip_grad=0.5, train_samples=32,
                   optimizer="sgd", lr=0.05)
    one = fit(cfg, tmp_path / "one", progress=False)
    assert one["amp"] == "float16" and len(unscales) == one["steps"] == 4
    two = fit(dataclasses.replace(cfg, accum_steps=2), tmp_path / "two", progress=False)
    assert len(unscales) == 8  # still once per step, not per micro-batch
    scaler = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)["scaler"]
    assert scaler["scale"] == 2.0**16 and scaler["_growth_tracker"] == two["steps"]  # no overflow skipped a step
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4  # the weights move by ~1e-2


def test_channels_last_is_a_runtime_option(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, tmp_path / "a", progress=False)
    cl = dataclasses.replace(cfg, channels_last=True)
    fit(cl, tmp_path / "b", progress=False, stop_after_epoch=1)
    fit(cfg, tmp_path / "b", progress=False)  # resuming without it is allowed: same computation
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) < 1e-4
    model = train._build_model(cl, 16)
    train._to_channels_last(model)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last_3d)


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
    params = {k for k, _ in train._build_model(src, 16).named_parameters()}  # (BN running stats move with lr 0)
    for k in set(report["loaded"]) & params:
        assert torch.allclose(tuned[k], source[k], atol=1e-6), k
    # a bare state_dict file works too; nothing matching and missing paths are explained
    net = train._build_model(src, 16)
    torch.save(source, tmp_path / "bare.pt")
    assert train.load_matching_weights(net, tmp_path / "bare.pt")["skipped"] == {}
    assert torch.equal(net.fc.weight, source["fc.weight"])
    with pytest.raises(ValueError, match="no tensor .* matches"):
        train.load_matching_weights(nn.Linear(3, 3), tmp_path / "bare.pt")
    with pytest.raises(FileNotFoundError, match="init_from=.*does not exist"):
        fit(dataclasses.replace(cfg, init_from=str(tmp_path / "nope")), tmp_path / "x", progress=False)
    with pytest.raises(FileNotFoundError, match="without checkpoint.pt"):
        fit(dataclasses.replace(cfg, init_from=str(tmp_path)), tmp_path / "y", progress=False)


def test_uncacheable_dataset_epochs_and_bad_video_counter(tmp_path, fake_videos):
    cfg = tiny_cfg(dataset="fakevideos", dataset_kwargs={}, train_samples=32, val_samples=8, test_samples=8,
                   epochs=2, batch_size=8, cache_data=True)
    data = build_datasets(cfg)
    assert all(isinstance(data[s], FakeVideos) for s in data)  # not rendered into a TensorDataset
    assert build_datasets(cfg)["train"] is not data["train"]  # nor kept in the cache
    fake_videos.clear()
    fit(cfg, tmp_path, progress=False)
    train_ds = fake_videos[0]
    assert train_ds.epochs == [0, 1]
    assert train_ds.failures_file == str(tmp_path / "bad_videos.jsonl") and fake_videos[1].failures_file is None
    epochs = [d for d in metric_lines(tmp_path) if d["kind"] == "epoch"]
    assert [d["bad_videos"] for d in epochs] == [3, 13]
    assert all("bad_videos" not in d for d in metric_lines(tmp_path) if d["kind"] != "epoch")


def test_multigrid_follows_the_schedule_and_resumes_exactly(tmp_path, nobn):
    from actionrec.multigrid import MultigridSchedule

    cfg = tiny_cfg(model=nobn, model_kwargs={}, multigrid="long+short", epochs=4, batch_size=4, train_samples=96,
                   log_every=1, warmup_steps=0, scheduler="none")
    res = fit(cfg, tmp_path / "full", progress=False)
    sched = MultigridSchedule(8, 16, 4, 4)
    shapes = [sched.at(e, k) for e in range(4) for k in range(sched.steps_per_epoch(e, 96))]
    assert res["steps"] == len(shapes) == sched.total_steps(96)
    lines = metric_lines(tmp_path / "full")
    steps = [d for d in lines if d["kind"] == "train"]
    assert [d["n"] for d in steps] == [s.batch for s in shapes]  # each step's global batch
    assert [d["lr"] for d in steps] == pytest.approx([cfg.lr * s.lr_scale for s in shapes])
    assert res["test"]["n"] == 32  # evaluation at the base shape
    fit(cfg, tmp_path / "cut", progress=False, stop_after_epoch=2)
    fit(cfg, tmp_path / "cut", progress=False)
    assert_same_weights(weights(tmp_path / "full"), weights(tmp_path / "cut"))
    assert metric_lines(tmp_path / "full") == metric_lines(tmp_path / "cut")


def test_multigrid_lr_schedule_spans_the_same_epochs():
    """Warm-up/cosine run over clips seen: at the same clip count the factor equals the plain run's."""
    cfg = tiny_cfg(multigrid="long", epochs=4, batch_size=4, train_samples=96, warmup_steps=5)
    plan = train._plan(cfg, torch.utils.data.TensorDataset(torch.zeros(96, 3, 8, 16, 16), torch.zeros(96)), 1)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = train._multigrid_scheduler(opt, cfg, plan)
    flat = [s for e in plan.shapes for s in e]
    seen, plain_total = 0, 4 * 96 // 4
    for s in flat:
        lr = sched.get_last_lr()[0]
        assert lr == pytest.approx(s.lr_scale * lr_factor(seen / 4, total_steps=plain_total, warmup_steps=5,
                                                           scheduler="cosine"))
        seen += s.batch
        opt.step()
        sched.step()
    assert seen == 4 * 96 and sched.get_last_lr()[0] == pytest.approx(0.0)


def test_tensorboard_missing_package_is_named(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r"tensorboard=True needs the `tensorboard` package.*tensorboard==2\.21\.0"):
        fit(tiny_cfg(epochs=1, tensorboard=True), tmp_path, progress=False)


def test_tensorboard_has_the_scalars_of_metrics_jsonl(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    fit(tiny_cfg(epochs=2, tensorboard=True), tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    expected = {}
    for d in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines()):
        for k, v in d.items():
            if k not in ("kind", "step") and isinstance(v, (int, float)) and not isinstance(v, bool):
                expected.setdefault(f"{d['kind']}/{k}", []).append((d["step"], v))
    assert set(events.Tags()["scalars"]) == set(expected)  # e.g. "train/loss", "val/top1", "epoch/lr", "test/n"
    for tag in ("train/loss", "epoch/acc", "val/top1", "test/top5", "train/lr", "val/time"):
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in expected[tag]]
        assert [v for _, v in got] == pytest.approx([v for _, v in expected[tag]], rel=1e-6)


def test_tensorboard_after_a_crash_has_no_duplicate_steps(tmp_path, monkeypatch):
    """As metrics.jsonl is truncated to the checkpoint, the resumed writer purges the events a crashed
    session wrote after it (SummaryWriter(purge_step=...)), so every step appears once."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_cfg(epochs=3, checkpoint_every=3, log_every=1, tensorboard=True)
    real_write = train._MetricsLog.write
    monkeypatch.setattr(train._MetricsLog, "write", _crash_at_step_8(real_write))
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(cfg, tmp_path, progress=False)  # wrote train lines 7 (after the step-6 checkpoint) to tb
    monkeypatch.setattr(train._MetricsLog, "write", real_write)
    fit(cfg, tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    got = [(e.step, e.value) for e in events.Scalars("train/loss")]
    lines = [(d["step"], d["loss"]) for d in metric_lines(tmp_path) if d["kind"] == "train"]
    assert [s for s, _ in got] == [s for s, _ in lines] == list(range(1, 13))
    assert [v for _, v in got] == pytest.approx([v for _, v in lines], rel=1e-6)


def test_data_root_and_runtime_fields_do_not_change_what_a_run_computes():
    """A dataset moved to another folder (data_root) is the same run: resume accepts it and the
    run tag is unchanged; a changed frame count is a different run."""
    from actionrec.experiments import config_tag
    from actionrec.train import _config_diff

    a = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 8, "data_root": "/a"}, num_workers=0)
    b = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 8, "data_root": "/b"}, num_workers=4,
                    channels_last=True, tensorboard=True)
    c = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 16, "data_root": "/a"})
    assert _config_diff(a.to_dict(), b) == []
    assert config_tag(a) == config_tag(b)
    assert _config_diff(a.to_dict(), c) == ["dataset_kwargs"]
    assert config_tag(a) != config_tag(c)


def _crash_at_step_8(real_write):
    """A ``_MetricsLog.write`` that raises when it is asked to log train step 8 (a simulated crash)."""

    def crashing_write(self, kind, **rec):
        if rec["step"] == 8 and kind == "train":
            raise RuntimeError("simulated crash")
        return real_write(self, kind, **rec)

    return crashing_write
