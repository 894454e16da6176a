"""actionrec.train.metrics: TensorBoard events equal metrics.jsonl's scalars, survive a crash without
duplicate steps, and a missing tensorboard package is named."""

from __future__ import annotations

import json
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from actionrec.train import fit
from actionrec.train.metrics import MetricsLog
from train_helpers import crash_at_step_8, metric_lines, tiny_cfg

pytestmark = pytest.mark.usefixtures("one_thread")


def test_tensorboard_missing_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r"tensorboard=True needs the `tensorboard` package.*tensorboard==2\.21\.0"):
        fit(tiny_cfg(epochs=1, tensorboard=True), tmp_path, progress=False)


def test_tensorboard_has_the_scalars_of_metrics_jsonl(tmp_path):
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
    cfg = tiny_cfg(epochs=3, checkpoint_every=3, log_every=1, tensorboard=True)
    real_write = MetricsLog.write
    monkeypatch.setattr(MetricsLog, "write", crash_at_step_8(real_write))
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(cfg, tmp_path, progress=False)  # wrote train lines 7 (after the step-6 checkpoint) to tb
    monkeypatch.setattr(MetricsLog, "write", real_write)
    fit(cfg, tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    got = [(e.step, e.value) for e in events.Scalars("train/loss")]
    lines = [(d["step"], d["loss"]) for d in metric_lines(tmp_path) if d["kind"] == "train"]
    assert [s for s, _ in got] == [s for s, _ in lines] == list(range(1, 13))
    assert [v for _, v in got] == pytest.approx([v for _, v in lines], rel=1e-6)
