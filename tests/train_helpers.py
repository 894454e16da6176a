"""Shared pieces of the tests of actionrec.train: a tiny config (c3d_small width 0.125, 11k params, on
SynthActions of 8 frames of 16x16: 64 train / 32 val / 32 test clips; each fit < 1 s), readers of a run
directory, a model without BatchNorm, a stand-in video dataset and a simulated crash."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from actionrec.data import DATASETS
from actionrec.models import MODELS
from actionrec.train import TrainConfig


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


class NoBNNet(nn.Module):
    """conv 3^3 → ReLU → conv 3^3 (stride 2) → ReLU → mean over (T, H, W) → linear: no BatchNorm, so a
    batch split into micro-batches (or processes) computes the same gradient (BatchNorm would normalise
    per micro-batch)."""

    def __init__(self, *, num_classes: int, width: int = 8):
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, width, 3, padding=1), nn.ReLU(),
                                      nn.Conv3d(width, width, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3, 4))  # (B, C, T', H', W') -> (B, C)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc(feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def nobn_net(*, num_classes: int, width: int = 8) -> NoBNNet:
    return NoBNNet(num_classes=num_classes, width=width)


@pytest.fixture
def nobn(monkeypatch):
    monkeypatch.setitem(MODELS, "nobn_net", nobn_net)
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
    made = []

    def build(split, **kwargs):
        made.append(FakeVideos(split, **kwargs))
        return made[-1]

    monkeypatch.setitem(DATASETS, "fakevideos", build)
    return made


def crash_at_step_8(real_write):
    """A ``MetricsLog.write`` that raises when it is asked to log train step 8 (a simulated crash)."""

    def crashing_write(self, kind, **rec):
        if rec["step"] == 8 and kind == "train":
            raise RuntimeError("simulated crash")
        return real_write(self, kind, **rec)

    return crashing_write
