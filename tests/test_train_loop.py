"""actionrec.train.loop (fit): determinism, the run directory's contents, NaN handling, max_steps, and the
scale options (accumulation, the fp16 GradScaler path, channels_last, multigrid with exact resume)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F

from actionrec.train import NonFiniteLossError, TrainConfig, fit, is_finished, load_model
from actionrec.train import loop
from actionrec.train.checkpoint import build_model_from_config
from actionrec.train.loop import to_channels_last
from actionrec.train.multigrid import MultigridSchedule
from actionrec.utils.device import amp_dtype
from train_helpers import assert_same_weights, metric_lines, nobn, tiny_cfg, weights  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


def test_amp_is_never_used_on_cpu():
    cpu = torch.device("cpu")
    assert amp_dtype("auto", cpu) is None and amp_dtype(True, cpu) is None


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "config.json", "fingerprint.json", "metrics.jsonl"]


def test_max_steps_and_step_scheduler(tmp_path):
    res = fit(tiny_cfg(epochs=3, max_steps=6, scheduler="step", optimizer="sgd", clip_grad=1.0, eval_every=2),
              tmp_path, progress=False)
    assert res["steps"] == 6 and res["epochs"] == 2
    assert [v["epoch"] for v in res["val_history"]] == [2]  # eval_every=2, and always after the last epoch
    assert math.isfinite(res["test"]["loss"])


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
    monkeypatch.setattr(loop, "amp_dtype", lambda amp, device: torch.float16)
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
    model = build_model_from_config(cl, 16)
    to_channels_last(model)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last_3d)


def test_multigrid_follows_the_schedule_and_resumes_exactly(tmp_path, nobn):
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


def test_label_smoothing_is_a_later_field_and_smooths_the_training_loss(tmp_path):
    cfg = tiny_cfg(epochs=1, log_every=1)
    assert "label_smoothing" not in cfg.to_dict()  # at its default: older configs and run tags unchanged
    smooth = dataclasses.replace(cfg, label_smoothing=0.2)
    assert smooth.to_dict()["label_smoothing"] == 0.2
    fit(cfg, tmp_path / "plain", progress=False)
    fit(smooth, tmp_path / "smooth", progress=False)
    first = [next(d for d in metric_lines(tmp_path / run) if d["kind"] == "train") for run in ("plain", "smooth")]
    model = build_model_from_config(cfg, 16)  # the first step's loss by hand, at the same init
    x, y = torch.randn(4, 3, 8, 16, 16), torch.tensor([0, 1, 2, 3])
    logits = model(x)
    assert not math.isclose(first[0]["loss"], first[1]["loss"])
    assert loop._WithLoss(model, 0.2)(x, y)[1].item() == pytest.approx(
        F.cross_entropy(logits, y, label_smoothing=0.2).item(), rel=1e-6)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="label_smoothing"):
            tiny_cfg(label_smoothing=bad)
    with pytest.raises(ValueError, match="label_smoothing=0.1 is invalid for .*training_loss"):
        loop._WithLoss(_two_stream_model(), 0.1)


def _two_stream_model():  # a model with its own training_loss
    return build_model_from_config(TrainConfig(model="two_stream_small", model_kwargs={"width": 0.125},
                                               dataset_kwargs={"frames": 8, "size": 32}), 4)


def test_train_lines_log_the_gradient_norm_and_logging_does_not_change_the_run(tmp_path):
    cfg = tiny_cfg(epochs=1, log_every=1)
    fit(cfg, tmp_path / "every", progress=False)
    fit(dataclasses.replace(cfg, log_every=1000), tmp_path / "never", progress=False)
    assert_same_weights(weights(tmp_path / "every"), weights(tmp_path / "never"))  # the norm only reads the grads
    norms = [d["grad_norm"] for d in metric_lines(tmp_path / "every") if d["kind"] == "train"]
    assert len(norms) == 4 and all(math.isfinite(n) and n > 0 for n in norms)
    clipped = dataclasses.replace(cfg, clip_grad=1e-3)  # far below the norms: the logged one is before clipping
    fit(clipped, tmp_path / "clipped", progress=False)
    first = next(d for d in metric_lines(tmp_path / "clipped") if d["kind"] == "train")
    assert first["grad_norm"] == pytest.approx(norms[0], rel=1e-5) and first["grad_norm"] > 1e-3
