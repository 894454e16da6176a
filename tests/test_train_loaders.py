"""actionrec.train.loaders: the render cache (each split once; seed/lr do not change the data), workers and
caching do not change results, uncacheable video datasets (set_epoch, the bad-video counter), and the epoch
order: a function of (seed, epoch) only, never of the global RNG (the paired design)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from actionrec.train import build_datasets, fit, make_loader
from train_helpers import FakeVideos, assert_same_weights, fake_videos, metric_lines, tiny_cfg, weights  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


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


def test_loader_order_is_a_function_of_seed_and_epoch_only():
    # the paired design (tests/test_experiments_pairing.py end to end): the order never reads torch's
    # global RNG, which model initialisation consumes differently per architecture
    cfg = tiny_cfg()
    train = build_datasets(cfg)["train"]

    def labels(c, epoch, global_seed):
        torch.manual_seed(global_seed)
        torch.rand(global_seed)  # another amount of global draws, like another architecture's init
        return torch.cat([y for _, y in make_loader(train, c, train=True, epoch=epoch)])

    first = labels(cfg, 0, 1)
    assert torch.equal(first, labels(cfg, 0, 7))
    assert torch.equal(first, labels(dataclasses.replace(cfg, model="frame_avg2d", lr=1.0), 0, 3))
    assert not torch.equal(first, labels(dataclasses.replace(cfg, seed=1), 0, 1))
    assert not torch.equal(first, labels(cfg, 1, 1))
    assert sorted(first.tolist()) == sorted(labels(dataclasses.replace(cfg, seed=1), 0, 1).tolist())
