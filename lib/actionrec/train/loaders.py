"""The data side of training: the splits (rendered once per process), the epoch order, the loaders
and the plan of every epoch's steps.

::

    TrainConfig ─→ build_datasets: {train, val, test} (cache_data: rendered into tensors, LRU of 6 splits)
    (seed, epoch) ─→ epoch permutation ─→ EpochSampler (one process) | DistributedEpochSampler (rank r)
      ─→ make_loader: batches of batch_size, or each rank's accum_steps micro-batches of every global step
    plan_epochs: steps per epoch, their global batch sizes and multigrid shapes (None: batch_size, no resampling)

Reproducibility: the shuffle of epoch ``e`` is a pure function of ``(seed, e)``, and the DataLoader's
own generator (which seeds the workers) is derived from ``(seed, e, train/eval[, rank])``, so resuming
needs no sampler state: a mid-epoch resume starts the same permutation at ``start_batch``. The render
cache freezes any per-access randomness of a dataset; datasets with ``cacheable = False`` (decoded
videos, whose augmentation draws per access) are never rendered.
"""

from __future__ import annotations

import collections
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from ..data import build_dataset
from ..utils.seeding import mix_seeds
from .config import TrainConfig
from .distributed import DistributedEpochSampler, epoch_permutation, shard_indices
from .multigrid import MultigridSchedule

__all__ = ["build_datasets", "clear_data_cache", "split_dataset_kwargs", "EpochSampler", "make_loader", "Plan",
           "plan_epochs"]

_DATA_CACHE: "collections.OrderedDict[str, TensorDataset]" = collections.OrderedDict()
_DATA_CACHE_SIZE = 6  # splits kept in memory (two dataset configs x three splits)


def clear_data_cache() -> None:
    """Forget every split rendered by ``cache_data=True`` (frees its memory)."""
    _DATA_CACHE.clear()


def split_dataset_kwargs(cfg: TrainConfig, split: str) -> dict[str, Any]:
    """The keyword arguments of ``build_dataset(cfg.dataset, split, ...)``: ``dataset_kwargs`` with the
    config's data seed and the split's sample count."""
    n = {"train": cfg.train_samples, "val": cfg.val_samples, "test": cfg.test_samples}[split]
    kwargs = dict(cfg.dataset_kwargs, seed=cfg.data_seed)
    if n is not None:
        kwargs["num_samples"] = n
    return kwargs


def _render(ds: Dataset, num_workers: int) -> TensorDataset:
    """Materialise every item of ``ds`` into two preallocated tensors (clips, labels)."""
    x0, _ = ds[0]
    clips = torch.empty((len(ds), *x0.shape), dtype=x0.dtype)  # (N, C, T, H, W)
    labels = torch.empty(len(ds), dtype=torch.long)  # (N,)
    i = 0
    for x, y in DataLoader(ds, batch_size=64, shuffle=False, num_workers=num_workers):
        clips[i : i + len(x)], labels[i : i + len(x)] = x, torch.as_tensor(y)
        i += len(x)
    out = TensorDataset(clips, labels)
    out.num_classes = ds.num_classes
    out.classes = getattr(ds, "classes", None)
    return out


def build_datasets(cfg: TrainConfig) -> dict[str, Dataset]:
    """The train/val/test splits of ``cfg.dataset``; rendered once per process if ``cache_data``.

    A dataset whose class has ``cacheable = False`` (decoded videos: too large, and its training
    augmentation draws per access) is returned as built, whatever ``cache_data`` says.
    """
    out = {}
    for split in ("train", "val", "test"):
        kwargs = split_dataset_kwargs(cfg, split)
        if not cfg.cache_data:
            out[split] = build_dataset(cfg.dataset, split, **kwargs)
            continue
        key = json.dumps([cfg.dataset, split, kwargs], sort_keys=True)
        if key not in _DATA_CACHE:
            ds = build_dataset(cfg.dataset, split, **kwargs)
            if not getattr(ds, "cacheable", True):
                out[split] = ds
                continue
            _DATA_CACHE[key] = _render(ds, cfg.num_workers)
            while len(_DATA_CACHE) > _DATA_CACHE_SIZE:
                _DATA_CACHE.popitem(last=False)
        _DATA_CACHE.move_to_end(key)
        out[split] = _DATA_CACHE[key]
    if not hasattr(out["train"], "num_classes"):
        raise ValueError(f"dataset {cfg.dataset!r} has no .num_classes attribute; the model's head needs it")
    return out


class EpochSampler(Sampler[int]):
    """Random permutation of ``range(n)`` that is a pure function of ``(seed, epoch)``.

    ``start`` skips the first ``start`` indices (mid-epoch resume skips the batches already seen),
    so resume needs no generator state.
    """

    def __init__(self, n: int, *, seed: int, epoch: int, start: int = 0):
        self.n, self.seed, self.epoch, self.start = n, seed, epoch, start

    def __iter__(self) -> Iterator[int]:
        return iter(epoch_permutation(self.n, self.seed, self.epoch)[self.start:].tolist())

    def __len__(self) -> int:
        return max(0, self.n - self.start)


def _worker_init(worker_id: int) -> None:
    """Seed NumPy and ``random`` in a worker from its torch seed (base seed + worker id)."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


class _ChunkBatchSampler(Sampler[list[int]]):
    """Cut the index stream of ``sampler`` into consecutive batches of the given ``sizes``."""

    def __init__(self, sampler: Sampler[int], sizes: list[int]):
        self.sampler, self.sizes = sampler, sizes

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        for b in self.sizes:
            batch = [next(it) for _ in range(b)]
            yield batch

    def __len__(self) -> int:
        return len(self.sizes)


def make_loader(ds: Dataset, cfg: TrainConfig, *, train: bool, epoch: int = 0, start_batch: int = 0,
                device: torch.device | None = None, rank: int = 0, world_size: int = 1,
                batch_sizes: list[int] | None = None) -> DataLoader:
    """Train loader of epoch ``epoch`` (from global step ``start_batch`` on) or eval loader, for one
    process (``rank`` of ``world_size``).

    One process, ``accum_steps=1``, no ``batch_sizes``: batches of ``batch_size`` of the epoch
    permutation (``drop_last`` when the split has a full batch), the eval loader batches of
    ``batch_size`` in order. Otherwise the train loader yields this rank's ``accum_steps``
    micro-batches of every global step (``DistributedEpochSampler``; ``batch_sizes`` lists the
    epoch's global batch per step, e.g. multigrid's, default ``batch_size`` while a full batch is
    left) and the eval loader this rank's strided shard in batches of
    ``batch_size / (world_size * accum_steps)``.
    """
    seed_ints = (cfg.seed, epoch, 1 if train else 2) + ((rank,) if rank else ())
    g = torch.Generator().manual_seed(mix_seeds(*seed_ints))  # seeds the workers
    common = dict(num_workers=cfg.num_workers, worker_init_fn=_worker_init, generator=g,
                  pin_memory=device is not None and device.type == "cuda")
    parts = world_size * cfg.accum_steps
    if not train:
        if world_size == 1 and cfg.accum_steps == 1:
            return DataLoader(ds, batch_size=cfg.batch_size, shuffle=False, **common)
        shard = shard_indices(len(ds), rank=rank, world_size=world_size)
        return DataLoader(ds, batch_size=max(1, cfg.batch_size // parts), sampler=shard, shuffle=False, **common)
    if parts == 1 and batch_sizes is None:
        drop_last = len(ds) >= cfg.batch_size
        sampler = EpochSampler(len(ds), seed=cfg.seed, epoch=epoch, start=start_batch * cfg.batch_size)
        return DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, shuffle=False, drop_last=drop_last, **common)
    sizes = _global_batches(len(ds), cfg, world_size) if batch_sizes is None else list(batch_sizes)
    _check_divisible(sizes, cfg, world_size)
    sampler = DistributedEpochSampler(len(ds), seed=cfg.seed, epoch=epoch, batch_size=sizes, rank=rank,
                                      world_size=world_size, start_batch=start_batch)
    micro = [b // parts for b in sizes[start_batch:] for _ in range(cfg.accum_steps)]
    return DataLoader(ds, batch_sampler=_ChunkBatchSampler(sampler, micro), **common)


def _global_batches(n: int, cfg: TrainConfig, world_size: int) -> list[int]:
    """Global batch sizes of one epoch without multigrid: ``batch_size`` while a full batch is left."""
    if n < cfg.batch_size and (world_size > 1 or cfg.accum_steps > 1):
        raise ValueError(f"the train split has {n} clips, fewer than batch_size={cfg.batch_size}: with "
                         f"accum_steps={cfg.accum_steps} and {world_size} process(es) every step needs a whole "
                         "global batch; lower batch_size or use more train_samples")
    return [cfg.batch_size] * (n // cfg.batch_size)


def _check_divisible(sizes: list[int], cfg: TrainConfig, world_size: int) -> None:
    parts = world_size * cfg.accum_steps
    bad = sorted({b for b in sizes if b % parts})
    if bad:
        of = f"batch_size={cfg.batch_size}" + (f", multigrid={cfg.multigrid!r}" if cfg.multigrid != "none" else "")
        raise ValueError(f"global batch {bad[0]} ({of}) "
                         f"is not divisible by world_size * accum_steps = {world_size} * {cfg.accum_steps}: every "
                         "process runs accum_steps equal micro-batches; choose batch_size divisible by "
                         f"{parts} (or change accum_steps / --nproc_per_node)")


@dataclass
class Plan:
    """The steps of every epoch: ``steps[e]`` optimizer steps; ``sizes[e]`` their global batch sizes
    (None: ``batch_size``) and ``shapes[e]`` their multigrid shapes (None without multigrid)."""

    steps: list[int]
    total_steps: int
    sizes: list[list[int]] | None = None
    shapes: list[list[Any]] | None = None


def plan_epochs(cfg: TrainConfig, train_ds: Dataset, world_size: int) -> Plan:
    """The :class:`Plan` of ``cfg`` on ``train_ds`` with ``world_size`` processes (``max_steps`` caps the total)."""
    n = len(train_ds)
    if cfg.multigrid == "none":
        if world_size == 1 and cfg.accum_steps == 1:  # the plain loop (a split smaller than a batch: one step)
            spe = n // cfg.batch_size if n >= cfg.batch_size else 1
        else:
            sizes = _global_batches(n, cfg, world_size)
            _check_divisible(sizes, cfg, world_size)
            spe = len(sizes)
        return Plan([spe] * cfg.epochs, min(cfg.epochs * spe, cfg.max_steps or math.inf))
    clip = train_ds[0][0]
    if not isinstance(clip, torch.Tensor) or clip.dim() != 4 or clip.shape[-1] != clip.shape[-2]:
        got = tuple(clip.shape) if isinstance(clip, torch.Tensor) else type(clip).__name__
        raise ValueError(f"multigrid={cfg.multigrid!r} resamples clips (C, T, S, S) with square frames; the train "
                         f"split's item 0 is {got}. Use multigrid='none' or a square crop (dataset_kwargs size)")
    frames, size = int(clip.shape[1]), int(clip.shape[2])
    sched = MultigridSchedule(frames, size, cfg.batch_size, cfg.epochs, long="long" in cfg.multigrid,
                              short="short" in cfg.multigrid)
    shapes = []
    for e in range(cfg.epochs):
        k = sched.steps_per_epoch(e, n)
        if k == 0:
            raise ValueError(f"multigrid={cfg.multigrid!r}: epoch {e + 1}'s batch of {sched.at(e, 0).batch} clips "
                             f"(batch_size={cfg.batch_size} x the phase's multiplier) exceeds the train split "
                             f"({n} clips); lower batch_size or use more train_samples")
        shapes.append([sched.at(e, i) for i in range(k)])
    sizes = [[s.batch for s in epoch] for epoch in shapes]
    for epoch_sizes in sizes:
        _check_divisible(epoch_sizes, cfg, world_size)
    steps = [len(s) for s in sizes]
    return Plan(steps, min(sum(steps), cfg.max_steps or math.inf), sizes, shapes)
