"""One training loop for every experiment: ``TrainConfig`` → ``fit(cfg, run_dir)``.

``fit`` reads top to bottom like PySlowFast's ``train()``::

    config.json ─→ process group (torchrun's env; none for one process) ─→ data (rendered once,
    cached in-process) ─→ seed ─→ build model (+ ``init_from``: matching weights of another run),
    optimizer, per-step LR schedule, GradScaler ─→ resume from run_dir/checkpoint.pt if present
      ─→ for each epoch: train steps ─→ val every ``eval_every`` epochs ─→ atomic checkpoint
      ─→ test ─→ final.json

One optimizer step (global batch ``B = batch_size``, ``R`` processes, ``A = accum_steps``)::

    A micro-batches of B/(R·A) clips per process ─→ [multigrid: resample_clip to the step's shape]
      ─→ [channels_last_3d] ─→ autocast forward ─→ loss / A ─→ (scaled) backward; DDP all-reduces
      the gradients on the last micro-batch only (no_sync before) ─→ loss/acc summed over ranks
      ─→ [scaler.unscale_ + clip_grad, once] ─→ scaler.step ─→ scaler.update ─→ scheduler.step

A run directory holds::

    run_dir/config.json     the whole TrainConfig (nanoGPT style), written first
    run_dir/metrics.jsonl   one JSON object per line, "kind" in {train, epoch, val, test}:
                            train = mean loss/acc over the last ``log_every`` steps,
                            epoch = the epoch's train loss/acc (+ "bad_videos": the train set's
                            ``failure_count()`` when it has one), val/test = evaluate(...) output;
                            every line has step, epoch, lr and time (s) so notebooks plot curves
    run_dir/tb/             (``tensorboard=True``) the same scalars as TensorBoard events
    run_dir/bad_videos.jsonl  (datasets with a ``failures_file`` attribute left None, i.e.
                            ``VideoDataset``) the train videos that failed to decode, one JSON line
                            per failed read from every DataLoader worker and rank: what
                            "bad_videos" counts
    run_dir/checkpoint.pt   model, optimizer, scheduler, scaler, epoch, step, RNG states, config
                            (written to a temp file, fsynced, then os.replace'd: never partial)
    run_dir/final.json      written only when the run finished; ``fit`` on a finished run_dir
                            returns it without training (``is_finished(run_dir)``)

Scale (``actionrec.distributed``, ``actionrec.multigrid``):

- Several processes: ``torchrun --nproc_per_node N ...`` runs ``fit`` in every process; each joins
  the group (nccl on GPUs, one per process; gloo on CPU), wraps the model in
  ``DistributedDataParallel`` and trains on its slice of each global batch
  (``DistributedEpochSampler``: the same global batches as one process). Only rank 0 writes
  config/metrics/tb/checkpoints/final.json; validation and test are sharded over the ranks and their
  counts summed, so every rank returns the same result. Without BatchNorm, a run on ``R``
  processes equals the one-process run of the same config up to float summation order (tested
  with 2 CPU processes); BatchNorm normalises per process unless ``sync_bn=True``
  (``nn.SyncBatchNorm``, which torch 2.13 only runs on GPUs: refused on CPU).
- ``accum_steps``: ``batch_size`` stays the effective global batch; each process runs
  ``accum_steps`` micro-batches of ``batch_size / (world_size * accum_steps)`` clips per step.
  Without BatchNorm the weights equal those of ``accum_steps=1`` (tested).
- ``multigrid`` (Wu et al. 2020): per epoch the loader cuts the schedule's global batch sizes, per
  step the batch is resampled to the schedule's (frames, size) and the lr multiplied by its
  ``lr_scale``; the warm-up/decay shape of ``scheduler`` is laid over the clips seen (in steps of
  ``batch_size`` clips), so the LR at a given epoch is the plain run's times ``lr_scale``.
  ``multigrid="none"`` runs exactly the plain loop.
- ``channels_last``: channels_last_3d weights (channels_last for 4-D ones) and clips; ``init_from``:
  every weight of another run (or checkpoint file) whose name and shape match is loaded, the rest
  (a classifier head of another class count) keeps its initialisation; the report (loaded /
  skipped with the reason / unused) is logged and returned as ``result["init_from"]``.

Reproducibility (stated, and tested on CPU):

- Same config + seed in the same environment (torch version, thread count, device, number of
  processes) gives bit-identical weights and metrics on CPU. The shuffle of epoch ``e`` is a pure
  function of ``(seed, e)`` (``EpochSampler``), so no sampler-generator state has to be carried; the
  DataLoader's own generator (which seeds workers) is also derived from ``(seed, e)``.
- Resume is exact on CPU: the checkpoint restores weights, optimizer moments, the LR schedule's
  step, the GradScaler and the torch / CUDA / NumPy / ``random`` RNG states, and training continues
  from the next batch of the same epoch permutation. ``metrics.jsonl`` is truncated back to the
  byte offset recorded in the checkpoint, so a resumed run's log equals the uninterrupted one's.
  (A mid-epoch resume, from ``checkpoint_every``, is exact for datasets whose items are pure
  functions of their index, as SynthActions' are; random per-item augmentation inside DataLoader
  workers would see shifted worker streams.) Under DDP the checkpoint holds rank 0's RNG state;
  ranks > 0 draw from streams seeded by ``(seed, rank, step)``, so resume is exact for models without
  randomness in the forward (dropout) and close otherwise.
- On CUDA, cuDNN / atomics make runs close but not bit-identical; we do not force
  ``torch.use_deterministic_algorithms`` (a global side effect).
- ``cache_data=True`` renders each split once per process (keyed by dataset, split and kwargs) into
  in-memory tensors; any per-access randomness of a dataset would be frozen by the cache. Datasets
  with ``cacheable = False`` (decoded videos, ``VideoDataset``) are never rendered; their
  ``set_epoch(e)`` (if any) is called before every epoch.

Loss: ``cross_entropy(model(x), y)``, unless the model has ``training_loss(x, y) -> (logits, loss)``
(models with several heads, e.g. the two-stream nets' one loss per stream); ``logits`` feed the
train accuracy. Evaluation always uses ``model(x)``.

Departures from PySlowFast: no mixup; ``DistributedSampler``'s interleaved, padded shards are
replaced by slices of the single-process global batches; multigrid's LR decay follows our
``scheduler`` (PySlowFast moves its step decays to the phase boundaries); a NaN/inf loss on any
rank stops training with ``NonFiniteLossError`` (a ``FloatingPointError``) instead of being
skipped, and a checkpoint is never written from non-finite weights.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset
from tqdm.auto import tqdm

from . import distributed
from .utils import get_device, seed_everything

__all__ = [
    "TrainConfig",
    "fit",
    "evaluate",
    "is_finished",
    "load_model",
    "build_datasets",
    "build_optimizer",
    "build_scheduler",
    "make_loader",
    "EpochSampler",
    "load_matching_weights",
    "atomic_save",
    "clear_data_cache",
    "ConfigMismatchError",
    "NonFiniteLossError",
]

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_FILE = "final.json"
BAD_VIDEOS_FILE = "bad_videos.jsonl"

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("cosine", "step", "none")
# Fields that only change how a run executes, not what it computes: they may differ on resume.
RUNTIME_FIELDS = ("device", "num_workers", "cache_data", "channels_last", "tensorboard")
# dataset_kwargs that only say where the data is or where failures are logged: the same videos from
# another folder are the same run (so a moved dataset can still resume).
RUNTIME_DATASET_KWARGS = ("data_root", "failures_file")
MULTIGRID_MODES = ("none", "long", "short", "long+short")
# Fields added after runs were made. ``to_dict`` leaves them out while they hold their default, so
# the config.json / final.json of older runs and ``experiments.config_tag`` (a hash of to_dict) stay
# valid; the dict it returns still reads them as their defaults (``d["accum_steps"] == 1``).
_LATER_FIELDS = ("accum_steps", "channels_last", "sync_bn", "multigrid", "init_from", "tensorboard")
# dataset_kwargs the config sets through its own fields.
_RESERVED_DATASET_KWARGS = {"split": "the split", "num_samples": "train_samples/val_samples/test_samples", "seed": "data_seed"}


class ConfigMismatchError(ValueError):
    """A run directory holds a run of a different config."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or inf."""


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Everything that defines a run. Written to ``config.json`` and into every checkpoint."""

    # model
    model: str = "c3d_small"  # a name in actionrec.models.MODELS
    model_kwargs: dict = field(default_factory=dict)  # builder kwargs (num_classes comes from the data)
    # data
    dataset: str = "synthactions"  # a name in actionrec.data.DATASETS
    dataset_kwargs: dict = field(default_factory=dict)  # e.g. {"frames": 16, "size": 32, "difficulty": "medium"}
    train_samples: int | None = None  # num_samples of the train split (None = dataset default)
    val_samples: int | None = None  # num_samples of the val split (None = dataset default)
    test_samples: int | None = None  # num_samples of the test split (None = dataset default)
    data_seed: int = 0  # the dataset's seed (what is rendered), independent of the training seed
    # optimisation
    epochs: int = 10  # passes over the train split
    batch_size: int = 32  # clips per optimizer step (the global batch: over all processes and accum_steps)
    optimizer: str = "adamw"  # "adamw" | "sgd" (momentum 0.9, nesterov off)
    lr: float = 3e-3  # peak learning rate
    weight_decay: float = 0.05  # decoupled (AdamW) or L2 (SGD) weight decay
    scheduler: str = "cosine"  # "cosine" | "step" (x0.1 at 1/2 and 3/4 of training) | "none"
    warmup_steps: int = 0  # linear warm-up steps before the schedule
    clip_grad: float | None = None  # max global grad norm (None = no clipping)
    max_steps: int | None = None  # stop after this many steps (None = epochs * steps per epoch)
    # runtime
    seed: int = 0  # init + shuffle + dropout seed
    device: str = "auto"  # "auto" (CUDA if present) | "cpu" | "cuda" | "cuda:1" ...
    amp: bool | str = "auto"  # autocast on CUDA only: "auto"/True = bf16 if supported else fp16+GradScaler
    num_workers: int = 0  # DataLoader workers (0 = main process)
    cache_data: bool = True  # render each split once per process into memory (N*3*T*H*W*4 bytes per split)
    eval_every: int = 1  # validate every N epochs (and always after the last)
    log_every: int = 10  # one train line in metrics.jsonl every N steps
    checkpoint_every: int | None = None  # also checkpoint every N steps (None = end of epoch only)
    # scale (see the module docstring; the defaults run exactly the plain single-process loop)
    accum_steps: int = 1  # micro-batches per optimizer step; batch_size stays the effective global batch
    channels_last: bool = False  # channels_last_3d memory format for the model and the clips
    sync_bn: bool = False  # BatchNorm statistics over all processes (nn.SyncBatchNorm, GPUs only; no-op in one process)
    multigrid: str = "none"  # "none" | "long" | "short" | "long+short" (Wu et al. 2020, actionrec.multigrid)
    init_from: str | None = None  # fine-tune from a run dir or checkpoint file: equal name+shape weights loaded
    tensorboard: bool = False  # also write metrics.jsonl's scalars to run_dir/tb (needs the tensorboard package)

    def __post_init__(self) -> None:
        from .data import DATASETS
        from .models import MODELS

        _check_choice("model", self.model, sorted(MODELS))
        _check_choice("dataset", self.dataset, sorted(DATASETS))
        _check_kwargs("model_kwargs", self.model_kwargs)
        if "num_classes" in self.model_kwargs:
            raise ValueError("model_kwargs['num_classes'] is set from the dataset's num_classes; remove it from model_kwargs")
        _check_kwargs("dataset_kwargs", self.dataset_kwargs)
        for key, instead in _RESERVED_DATASET_KWARGS.items():
            if key in self.dataset_kwargs:
                raise ValueError(f"dataset_kwargs[{key!r}] is set by the config; use {instead} instead")
        for name in ("train_samples", "val_samples", "test_samples", "max_steps", "checkpoint_every"):
            _check_int(name, getattr(self, name), minimum=1, optional=True)
        for name, minimum in (("data_seed", 0), ("epochs", 1), ("batch_size", 1), ("warmup_steps", 0),
                              ("seed", 0), ("num_workers", 0), ("eval_every", 1), ("log_every", 1)):
            _check_int(name, getattr(self, name), minimum=minimum)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_float("lr", self.lr, positive=True)
        _check_float("weight_decay", self.weight_decay)
        if self.clip_grad is not None:
            _check_float("clip_grad", self.clip_grad, positive=True)
        if self.amp not in (True, False, "auto"):
            raise ValueError(f"amp={self.amp!r} must be True, False or 'auto'")
        if not isinstance(self.cache_data, bool):
            raise ValueError(f"cache_data={self.cache_data!r} must be True or False")
        if not isinstance(self.device, str) or not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            raise ValueError(f"device={self.device!r} must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
        _check_int("accum_steps", self.accum_steps, minimum=1)
        if self.batch_size % self.accum_steps:
            raise ValueError(f"batch_size={self.batch_size} must be divisible by accum_steps={self.accum_steps} "
                             "(batch_size is the effective batch; each micro-step takes batch_size / accum_steps clips)")
        for name in ("channels_last", "sync_bn", "tensorboard"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be True or False")
        _check_choice("multigrid", self.multigrid, MULTIGRID_MODES)
        if isinstance(self.init_from, os.PathLike):
            self.init_from = os.fspath(self.init_from)
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from):
            raise ValueError(f"init_from={self.init_from!r} must be None or the path of a run dir / checkpoint file")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists, as they would after a JSON round trip).

        Fields added later (``_LATER_FIELDS``) are left out while they hold their default, so older
        runs' config.json and config tags are unchanged; indexing the dict still gives their value.
        """
        d = _ConfigDict(self._full_dict())
        for name, default in _LATER_DEFAULTS.items():
            if d[name] == default:
                del d[name]
        return d

    def _full_dict(self) -> dict[str, Any]:
        """Every field, JSON round-tripped (what ``_config_diff`` compares)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict``; unknown keys raise, missing keys take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; valid fields: {sorted(known)}")
        return cls(**d)


class _ConfigDict(dict):
    """``TrainConfig.to_dict()``'s result: a later field left out (at its default) reads as its default.

    Only indexing falls back (``d["sync_bn"]``); ``in``, ``.get``, iteration and JSON see the stored keys.
    """

    def __missing__(self, key: str) -> Any:
        if key in _LATER_DEFAULTS:
            return _LATER_DEFAULTS[key]
        raise KeyError(key)


_LATER_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in _LATER_FIELDS}


def _check_choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of: {', '.join(map(str, choices))}")


def _check_int(name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or None" if optional else ""
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}{extra}")


def _check_float(name: str, value: Any, *, positive: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        raise ValueError(f"{name}={value!r} must be a finite number {'> 0' if positive else '>= 0'}")


def _check_kwargs(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{name}={value!r} must be a dict of keyword arguments")
    try:
        json.dumps(value)
    except TypeError as e:
        raise ValueError(f"{name} must hold plain JSON values (numbers, strings, lists, dicts): {e}") from None


def computed_fields(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` (a config dict) without what does not change the result: RUNTIME_FIELDS and the
    RUNTIME_DATASET_KWARGS inside ``dataset_kwargs``. Used for resume checks and run tags."""
    out = {k: v for k, v in d.items() if k not in RUNTIME_FIELDS}
    if isinstance(out.get("dataset_kwargs"), dict):
        out["dataset_kwargs"] = {k: v for k, v in out["dataset_kwargs"].items() if k not in RUNTIME_DATASET_KWARGS}
    return out


def _config_diff(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """Names of the fields where ``saved`` and ``cfg`` differ in what they compute (``computed_fields``)."""
    old = computed_fields(TrainConfig.from_dict(saved)._full_dict())
    new = computed_fields(cfg._full_dict())
    return [k for k in new if old[k] != new[k]]


def _check_same_config(saved: dict[str, Any], cfg: TrainConfig, run_dir: Path, what: str) -> None:
    diff = _config_diff(saved, cfg)
    if diff:
        old = TrainConfig.from_dict(saved)._full_dict()
        details = "; ".join(f"{k}: saved {old[k]!r} != given {getattr(cfg, k)!r}" for k in diff)
        raise ConfigMismatchError(
            f"{run_dir} holds a {what} of a different config (fields {diff}: {details}). "
            "Use a new run_dir for the new config, or delete the old one to retrain."
        )


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

_DATA_CACHE: "collections.OrderedDict[str, TensorDataset]" = collections.OrderedDict()
_DATA_CACHE_SIZE = 6  # splits kept in memory (two dataset configs x three splits)


def clear_data_cache() -> None:
    """Forget every split rendered by ``cache_data=True`` (frees its memory)."""
    _DATA_CACHE.clear()


def _dataset_kwargs(cfg: TrainConfig, split: str) -> dict[str, Any]:
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
    from .data import build_dataset

    out = {}
    for split in ("train", "val", "test"):
        kwargs = _dataset_kwargs(cfg, split)
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


def _mix(*ints: int) -> int:
    """A 63-bit seed that is a pure function of ``ints`` (SplitMix64-style hashing)."""
    h = 0x9E3779B97F4A7C15
    for i in ints:
        h = ((h ^ (i & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


class EpochSampler(Sampler[int]):
    """Random permutation of ``range(n)`` that is a pure function of ``(seed, epoch)``.

    ``start`` skips the first ``start`` indices (mid-epoch resume skips the batches already seen),
    so resume needs no generator state.
    """

    def __init__(self, n: int, *, seed: int, epoch: int, start: int = 0):
        self.n, self.seed, self.epoch, self.start = n, seed, epoch, start

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
        return iter(torch.randperm(self.n, generator=g)[self.start:].tolist())

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
    g = torch.Generator().manual_seed(_mix(*seed_ints))  # seeds the workers
    common = dict(num_workers=cfg.num_workers, worker_init_fn=_worker_init, generator=g,
                  pin_memory=device is not None and device.type == "cuda")
    parts = world_size * cfg.accum_steps
    if not train:
        if world_size == 1 and cfg.accum_steps == 1:
            return DataLoader(ds, batch_size=cfg.batch_size, shuffle=False, **common)
        shard = distributed.shard_indices(len(ds), rank=rank, world_size=world_size)
        return DataLoader(ds, batch_size=max(1, cfg.batch_size // parts), sampler=shard, shuffle=False, **common)
    if parts == 1 and batch_sizes is None:
        drop_last = len(ds) >= cfg.batch_size
        sampler = EpochSampler(len(ds), seed=cfg.seed, epoch=epoch, start=start_batch * cfg.batch_size)
        return DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, shuffle=False, drop_last=drop_last, **common)
    sizes = _global_batches(len(ds), cfg, world_size) if batch_sizes is None else list(batch_sizes)
    _check_divisible(sizes, cfg, world_size)
    sampler = distributed.DistributedEpochSampler(len(ds), seed=cfg.seed, epoch=epoch, batch_size=sizes, rank=rank,
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


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return n // batch_size if n >= batch_size else 1


# --------------------------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------------------------


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, or SGD with momentum 0.9; no weight decay on biases and norm parameters (1-D)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # fused: one kernel over all parameters instead of ~10 ops per tensor; AdamW on MTNet-32 (width
    # 0.25, 339 tensors) 29.7 -> 3.8 ms per step on one CPU core (benchmarks/speed.py). CPU and CUDA.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in decay + no_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=fused)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, fused=fused)


def lr_factor(step: int, *, total_steps: int, warmup_steps: int, scheduler: str) -> float:
    """Multiplier of the peak lr at ``step`` (0-based): linear warm-up, then the schedule."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    if scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if scheduler == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR of ``lr_factor`` (``scheduler.step()`` after every optimizer step)."""
    kw = dict(total_steps=total_steps, warmup_steps=cfg.warmup_steps, scheduler=cfg.scheduler)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, **kw))


def _amp_dtype(amp: bool | str, device: torch.device) -> torch.dtype | None:
    """bf16 (or fp16 where bf16 is unsupported) autocast on CUDA; None (fp32) on CPU."""
    if device.type != "cuda" or amp is False:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: nn.Module, loader, *, device: torch.device | str, num_classes: int,
             amp: bool | torch.dtype = False, reduce: bool = False) -> dict[str, Any]:
    """Loss and accuracies of ``model`` over ``loader`` (iterable of ``(clips, labels)``).

    Returns ``{"loss", "top1", "top5", "per_class", "confusion", "n"}``: accuracies are fractions
    in [0, 1]; ``top5`` is top-min(5, K); ``per_class[k]`` is the recall of class k (None when the
    split has no clip of class k); ``confusion[i][j]`` counts clips of true class i predicted as j.
    ``amp`` (True or a dtype) autocasts on CUDA only. The model's train/eval mode is restored.
    ``reduce=True``: each process of the group evaluated its own shard (``make_loader(train=False,
    rank=..., world_size=...)``); the sums (loss, hits, count, confusion matrix) are added over all
    ranks before the means are taken, so every rank returns the numbers of the whole split.
    """
    device = get_device(device)
    dtype = (_amp_dtype(True, device) if amp is True else amp) if amp else None
    if device.type != "cuda":
        dtype = None
    was_training = model.training
    model.eval()
    k = min(5, num_classes)
    loss_sum, top1, topk, n = 0.0, 0, 0, 0
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), torch.as_tensor(y).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(x)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        pred_k = logits.topk(k, dim=1).indices  # (B, k)
        top1 += (pred_k[:, 0] == y).sum().item()
        topk += (pred_k == y[:, None]).any(dim=1).sum().item()
        n += y.numel()
        pairs = (y * num_classes + pred_k[:, 0]).cpu()  # (B,) index of (true, predicted)
        confusion += torch.bincount(pairs, minlength=num_classes**2).view(num_classes, num_classes)  # (K, K)
    model.train(was_training)
    if reduce:
        sums = distributed.all_reduce_sum(torch.tensor([loss_sum, top1, topk, n], dtype=torch.float64))
        loss_sum, top1, topk, n = sums[0].item(), int(sums[1].item()), int(sums[2].item()), int(sums[3].item())
        confusion = distributed.all_reduce_sum(confusion)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    support = confusion.sum(dim=1)
    per_class = [None if s == 0 else confusion[i, i].item() / s.item() for i, s in enumerate(support)]
    return {"loss": loss_sum / n, "top1": top1 / n, "top5": topk / n, "per_class": per_class,
            "confusion": confusion.tolist(), "n": n}


# --------------------------------------------------------------------------------------------
# Checkpoint IO
# --------------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` via a temp file in the same directory + fsync + os.replace (never partial)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` that leaves either the old file or the complete new one, never a partial one."""
    _atomic_write(Path(path), lambda f: torch.save(obj, f))


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write(path, lambda f: f.write((json.dumps(_jsonable(obj), indent=1) + "\n").encode()))


def _jsonable(obj: Any) -> Any:
    """Replace NaN/inf by None so files stay strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _rng_state() -> dict[str, Any]:
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss),
            "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


@dataclass
class _Progress:
    """Loop state carried by the checkpoint besides the modules."""

    num_classes: int = 0  # head size (from the dataset), so load_model can rebuild the net
    epoch: int = 0  # completed epochs
    step: int = 0  # completed optimizer steps
    step_in_epoch: int = 0  # steps done in the current (incomplete) epoch
    elapsed: float = 0.0  # seconds of training + evaluation, summed over sessions
    metrics_offset: int = 0  # bytes of metrics.jsonl that belong to this state
    val_history: list = field(default_factory=list)  # [{epoch, step, loss, top1, top5}]
    meters: dict = field(default_factory=lambda: {"interval": [0.0, 0, 0], "epoch": [0.0, 0, 0]})  # [loss_sum, correct, n]
    init_from: dict | None = None  # load_matching_weights' report when cfg.init_from is set


def _all_finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


def save_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler, prog: _Progress) -> None:
    """Atomically write everything needed for an exact resume; refuse non-finite weights."""
    if not _all_finite(model):
        raise NonFiniteLossError(f"weights became non-finite at step {prog.step} (epoch {prog.epoch + 1}); "
                                 f"not overwriting {path}. Lower lr (now {cfg.lr}), add warmup_steps or clip_grad.")
    atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                 "progress": dataclasses.asdict(prog), "rng": _rng_state(), "config": dict(cfg.to_dict()),
                 "torch_version": str(torch.__version__)}, path)


def load_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler) -> _Progress:
    """Restore modules and RNG states from ``path``; the config must match (RUNTIME_FIELDS aside)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    _check_same_config(ckpt["config"], cfg, path.parent, "checkpoint")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    _match_param_layout(optimizer)
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"])
    return _Progress(**ckpt["progress"])


@torch.no_grad()
def _match_param_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter optimizer state tensor its parameter's strides.

    A checkpoint written with ``channels_last`` holds channels-last moments; resumed without it (a
    runtime field) the fused optimizer would walk the moments and the weights in different
    element orders. Copying into ``empty_like(param)`` fixes the layout, whatever it is.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, v in state.items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=v.dtype).copy_(v)


class _MetricsLog:
    """Append-only JSONL file, truncated to ``offset`` bytes on open (drops lines after a checkpoint).

    ``tb_dir``: also write every numeric field of every line (but ``step``, the x axis) as the
    TensorBoard scalar ``"<kind>/<field>"`` at ``step``; ``purge_step`` hides the events a crashed
    session wrote past the checkpoint, as the truncation drops its lines.
    """

    def __init__(self, path: Path, offset: int, *, tb_dir: Path | None = None, purge_step: int | None = None):
        self.path = path
        with open(path, "ab") as f:  # creates the file; never pads it (a lost log restarts empty)
            f.truncate(min(offset, f.seek(0, os.SEEK_END)))
        self.tb = _summary_writer(tb_dir, purge_step) if tb_dir is not None else None

    def write(self, kind: str, **record) -> int:
        line = _jsonable({"kind": kind, **record})
        with open(self.path, "ab") as f:
            f.write((json.dumps(line) + "\n").encode())
            end = f.tell()
        if self.tb is not None:
            for key, value in line.items():
                if key not in ("kind", "step") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.tb.add_scalar(f"{kind}/{key}", value, global_step=record["step"])
        return end

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class _NullLog:
    """What ranks > 0 log to: nothing (rank 0 writes the run's files)."""

    def write(self, kind: str, **record) -> int:
        return 0

    def close(self) -> None:
        pass


def _summary_writer(log_dir: Path, purge_step: int | None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ImportError("tensorboard=True needs the `tensorboard` package: pip install tensorboard==2.21.0 (pinned "
                          f"in requirements.txt), or set tensorboard=False ({type(e).__name__}: {e})") from e
    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)


def _resolve_checkpoint(path: str | os.PathLike, what: str = "init_from") -> Path:
    """A checkpoint file: ``path`` itself, or ``path/checkpoint.pt`` for a run directory."""
    p = Path(path).expanduser()
    if p.is_dir():
        if not (p / CHECKPOINT_FILE).is_file():
            raise FileNotFoundError(f"{what}={os.fspath(path)!r} is a directory without {CHECKPOINT_FILE}; "
                                    "give a run directory of actionrec.train or a checkpoint file")
        return p / CHECKPOINT_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{what}={os.fspath(path)!r} does not exist; give a run directory or a checkpoint file")
    return p


def load_matching_weights(model: nn.Module, path: str | os.PathLike) -> dict[str, Any]:
    """Load every tensor of a checkpoint whose name and shape match ``model``'s; return the report.

    ``path``: a run directory (its ``checkpoint.pt``), one of our checkpoints (``{"model": state_dict,
    ...}``) or a bare ``state_dict`` file (e.g. ``runs.fit_with_snapshots``' snapshots); a ``module.``
    prefix (DDP-saved elsewhere) is stripped. Tensors whose shape differs (the classifier head when
    the class count differs, as when fine-tuning Kinetics/HACS weights on UCF-101 / HMDB-51) or that
    the checkpoint lacks keep the model's initialisation::

        source state_dict ─→ keep (name in model and same shape) ─→ model.load_state_dict(strict=False)

    Returns ``{"path", "loaded": [names], "skipped": {name: reason}, "unused": [checkpoint names the
    model does not have]}``. Raises ValueError when nothing matches (another architecture).
    """
    src_path = _resolve_checkpoint(path)
    ckpt = torch.load(src_path, map_location="cpu", weights_only=True)
    state = ckpt["model"] if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict) else ckpt
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"init_from={os.fspath(path)!r}: {src_path} holds neither a checkpoint of actionrec.train "
                         "nor a state_dict (name -> tensor)")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    own = model.state_dict()
    loaded, skipped = [], {}
    for name, t in own.items():
        if name not in state:
            skipped[name] = "not in the checkpoint"
        elif tuple(state[name].shape) != tuple(t.shape):
            skipped[name] = f"shape {tuple(state[name].shape)} in the checkpoint != {tuple(t.shape)} in the model"
        else:
            loaded.append(name)
    if not loaded:
        raise ValueError(f"init_from={os.fspath(path)!r}: no tensor of {src_path} matches the model by name and shape "
                         f"(model has e.g. {list(own)[:3]}, checkpoint {list(state)[:3]}); is it another architecture?")
    model.load_state_dict({k: state[k] for k in loaded}, strict=False)
    unused = [k for k in state if k not in own]
    report = {"path": str(src_path), "loaded": loaded, "skipped": skipped, "unused": unused}
    logger.info("init_from %s: loaded %d of %d tensors; skipped %s; unused %s", src_path, len(loaded), len(own),
                "; ".join(f"{k}: {r}" for k, r in skipped.items()) or "none", unused or "none")
    return report


def is_finished(run_dir: str | os.PathLike) -> bool:
    """True when ``run_dir`` holds a finished run (its ``final.json``)."""
    return (Path(run_dir) / FINAL_FILE).exists()


def load_model(run_dir: str | os.PathLike, *, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model of a run from its ``config.json`` and load the checkpoint's weights (eval mode)."""
    run_dir = Path(run_dir)
    cfg = TrainConfig.from_dict(json.loads((run_dir / CONFIG_FILE).read_text()))
    ckpt = torch.load(run_dir / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    model = _build_model(cfg, ckpt["progress"]["num_classes"])
    model.load_state_dict(ckpt["model"])
    return model.to(get_device(device)).eval()


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


class _WithLoss(nn.Module):
    """``(x, y) -> (logits, loss)``: the module DDP wraps, so that its forward (and the gradient
    all-reduce it arms) also runs for models that compute their own ``training_loss``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if hasattr(self.model, "training_loss"):  # multi-head models (two_stream_*): fused logits + summed head losses
            return self.model.training_loss(x, y)
        logits = self.model(x)
        return logits, F.cross_entropy(logits.float(), y)


@dataclass
class _Plan:
    """The steps of every epoch: ``steps[e]`` optimizer steps; ``sizes[e]`` their global batch sizes
    (None: ``batch_size``) and ``shapes[e]`` their multigrid shapes (None without multigrid)."""

    steps: list[int]
    total_steps: int
    sizes: list[list[int]] | None = None
    shapes: list[list[Any]] | None = None


def _plan(cfg: TrainConfig, train_ds: Dataset, world_size: int) -> _Plan:
    n = len(train_ds)
    if cfg.multigrid == "none":
        if world_size == 1 and cfg.accum_steps == 1:  # the plain loop (a split smaller than a batch: one step)
            spe = _steps_per_epoch(n, cfg.batch_size)
        else:
            sizes = _global_batches(n, cfg, world_size)
            _check_divisible(sizes, cfg, world_size)
            spe = len(sizes)
        return _Plan([spe] * cfg.epochs, min(cfg.epochs * spe, cfg.max_steps or math.inf))
    from .multigrid import MultigridSchedule

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
    return _Plan(steps, min(sum(steps), cfg.max_steps or math.inf), sizes, shapes)


def _multigrid_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                         plan: _Plan) -> torch.optim.lr_scheduler.LambdaLR:
    """``lr_factor`` at the clips seen (in ``batch_size`` units) times the step's ``lr_scale``.

    Step ``i`` sits at ``pos_i = (clips before step i) / batch_size``, so warm-up and decay span the
    same epochs as in the plain run, whatever the phases' batch sizes.
    """
    flat = [s for epoch in plan.shapes for s in epoch][: plan.total_steps]
    pos = [0.0]
    for s in flat:
        pos.append(pos[-1] + s.batch / cfg.batch_size)
    scale = [s.lr_scale for s in flat] + [flat[-1].lr_scale]
    kw = dict(total_steps=pos[-1], warmup_steps=cfg.warmup_steps, scheduler=cfg.scheduler)
    last = len(flat)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: lr_factor(pos[min(i, last)], **kw) * scale[min(i, last)])


def _check_runtime(cfg: TrainConfig, info: distributed.DistInfo) -> None:
    if cfg.sync_bn and info.world_size > 1 and info.device.type != "cuda":
        raise ValueError(f"sync_bn=True with {info.world_size} processes on {info.device}: torch's nn.SyncBatchNorm "
                         "only runs on GPUs (it raises for CPU tensors); train on CUDA, or set sync_bn=False "
                         "(each process then normalises with its own batch statistics)")


def _prepare_model(model: nn.Module, cfg: TrainConfig, info: distributed.DistInfo) -> nn.Module:
    """SyncBatchNorm (several processes), device, memory format."""
    if cfg.sync_bn and info.world_size > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(info.device)
    if cfg.channels_last:
        _to_channels_last(model)
    return model


@torch.no_grad()
def _to_channels_last(model: nn.Module) -> None:
    """channels_last_3d for 5-D tensors (Conv3d weights), channels_last for 4-D ones (Conv2d), in place."""
    for t in list(model.parameters()) + list(model.buffers()):
        if t.dim() == 5:
            t.data = t.data.contiguous(memory_format=torch.channels_last_3d)
        elif t.dim() == 4:
            t.data = t.data.contiguous(memory_format=torch.channels_last)


@dataclass
class _Run:
    """What one process's training steps use (built once in ``fit``)."""

    cfg: TrainConfig
    model: nn.Module  # the network (its state_dict is what checkpoints hold)
    net: nn.Module  # _WithLoss(model), DDP-wrapped with several processes
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    device: torch.device
    amp_dtype: torch.dtype | None
    log: Any  # _MetricsLog on rank 0, _NullLog elsewhere
    bar: Any
    clock: Callable[[], float]
    ckpt_path: Path
    total_steps: int
    ddp: bool
    main: bool


def _train_epoch(r: _Run, prog: _Progress, loader, *, steps_in_epoch: int, shapes: list | None) -> float:
    """Run the remaining steps of epoch ``prog.epoch``, updating ``prog`` in place; return the last lr used.

    ``loader`` yields ``accum_steps`` micro-batches per step; ``shapes[k]``: the multigrid shape of
    step k of the epoch (None: train on the clips as loaded).
    """
    cfg, accum = r.cfg, r.cfg.accum_steps
    if shapes is not None:
        from .multigrid import resample_clip
    r.model.train()
    lr = r.scheduler.get_last_lr()[0]
    shape, stats = None, [0.0, 0, 0]
    for i, (x, y) in enumerate(loader):
        micro = i % accum
        if micro == 0:
            lr = r.scheduler.get_last_lr()[0]
            shape = shapes[prog.step_in_epoch] if shapes is not None else None
            stats = [0.0, 0, 0]  # this rank's [loss_sum, correct, n] of the step
            r.optimizer.zero_grad(set_to_none=True)
        x, y = x.to(r.device, non_blocking=True), y.to(r.device, non_blocking=True)
        if shape is not None and tuple(x.shape[2:]) != (shape.frames, shape.size, shape.size):
            x = resample_clip(x, shape.frames, shape.size)  # (B, C, T, H, W) -> (B, C, frames, size, size)
        if cfg.channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        # DDP all-reduces gradients in backward; skip it on every micro-batch but the step's last
        sync = contextlib.nullcontext() if micro == accum - 1 or not r.ddp else r.net.no_sync()
        with sync:
            with torch.autocast(r.device.type, dtype=r.amp_dtype, enabled=r.amp_dtype is not None):
                logits, loss = r.net(x, y)
            r.scaler.scale(loss / accum).backward()
        stats[0] += loss.item() * y.numel()
        stats[1] += (logits.argmax(1) == y).sum().item()
        stats[2] += y.numel()
        if micro < accum - 1:
            continue
        if r.ddp:  # the step's loss/acc over all ranks (and a NaN on one rank stops every rank)
            t = distributed.all_reduce_sum(torch.tensor(stats, dtype=torch.float64))
            stats = [t[0].item(), int(t[1].item()), int(t[2].item())]
        loss_sum, correct, n = stats
        loss_value = loss_sum / n
        if not math.isfinite(loss_value):
            kept = (f"{r.ckpt_path} still holds the last good state" if r.ckpt_path.exists()
                    else "no checkpoint was written yet")
            raise NonFiniteLossError(
                f"loss is {loss_value} at step {prog.step + 1} (epoch {prog.epoch + 1}, lr {lr:.3g}): training diverged; "
                f"{kept}. Lower lr, add warmup_steps or clip_grad, and train into a new run_dir (or delete this one).")
        if cfg.clip_grad is not None:
            r.scaler.unscale_(r.optimizer)  # once per optimizer step, after all micro-batches
            nn.utils.clip_grad_norm_(r.model.parameters(), cfg.clip_grad)
        r.scaler.step(r.optimizer)
        r.scaler.update()
        r.scheduler.step()
        prog.step += 1
        prog.step_in_epoch += 1
        for m in prog.meters.values():  # [loss_sum, correct, n]
            m[0] += loss_sum
            m[1] += correct
            m[2] += n
        r.bar.update(1)
        r.bar.set_postfix(epoch=prog.epoch + 1, loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", refresh=False)
        if prog.step % cfg.log_every == 0:
            prog.metrics_offset = _log_meter(r.log, "train", prog, "interval", lr=lr, time=r.clock())
        epoch_end = prog.step_in_epoch >= steps_in_epoch or prog.step >= r.total_steps
        if cfg.checkpoint_every and prog.step % cfg.checkpoint_every == 0 and not epoch_end:
            prog.elapsed = r.clock()
            _save(r, prog)
        if prog.step >= r.total_steps:
            break
    return lr


def _save(r: _Run, prog: _Progress) -> None:
    """Rank 0 writes the checkpoint; every rank checks the (identical) weights first, so all stop together."""
    if r.ddp and not _all_finite(r.model):
        raise NonFiniteLossError(f"weights became non-finite at step {prog.step} (epoch {prog.epoch + 1}); "
                                 f"not overwriting {r.ckpt_path}. Lower lr (now {r.cfg.lr}), add warmup_steps or "
                                 "clip_grad.")
    if r.main:
        save_checkpoint(r.ckpt_path, r.cfg, r.model, r.optimizer, r.scheduler, r.scaler, prog)


def _log_meter(log: _MetricsLog, kind: str, prog: _Progress, meter: str, **extra) -> int:
    """Write the mean loss/acc of ``prog.meters[meter]`` as one line, reset it; return the file size."""
    loss_sum, correct, n = prog.meters[meter]
    prog.meters[meter] = [0.0, 0, 0]
    line = dict(step=prog.step, epoch=prog.epoch + 1, loss=loss_sum / max(n, 1), acc=correct / max(n, 1), n=n, **extra)
    if not isinstance(log, _NullLog):
        logger.info("%s %s", kind, " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in line.items()))
    return log.write(kind, **line)


def fit(cfg: TrainConfig, run_dir: str | os.PathLike, *, progress: bool = True,
        stop_after_epoch: int | None = None) -> dict[str, Any]:
    """Train ``cfg`` in ``run_dir`` (resuming if it holds a checkpoint); return the final result.

    ``stop_after_epoch=k`` returns ``{"finished": False, "epoch": k, ...}`` right after epoch k's
    checkpoint, as if the process had been interrupted there; calling ``fit`` again resumes (this
    is how the tests check exact resume, and how a long run is split across sessions without
    touching the config). On a finished run_dir, returns the saved ``final.json`` without training.

    Under ``torchrun`` every process calls ``fit`` with the same arguments (and a ``run_dir`` they
    all see); the process group is joined from the environment (``distributed.init_from_env``) and
    left to the caller to close (``distributed.cleanup()``). Every rank returns the same result.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_finished(run_dir):
        result = json.loads((run_dir / FINAL_FILE).read_text())
        _check_same_config(result["config"], cfg, run_dir, "finished run")
        return result
    if (run_dir / CONFIG_FILE).exists():  # a started run: refuse another config before any work
        _check_same_config(json.loads((run_dir / CONFIG_FILE).read_text()), cfg, run_dir, "started run")
    info = distributed.init_from_env(cfg.device)
    _check_runtime(cfg, info)
    ckpt_path = run_dir / CHECKPOINT_FILE
    resume = ckpt_path.exists()  # read by every rank before rank 0 can write one
    distributed.barrier()
    if info.is_main:
        _write_json(run_dir / CONFIG_FILE, cfg.to_dict())

    # data → seed → build
    data = build_datasets(cfg)
    num_classes = data["train"].num_classes
    if getattr(data["train"], "failures_file", False) is None:  # decoded videos: count failed reads of all
        data["train"].failures_file = os.fspath(run_dir / BAD_VIDEOS_FILE)  # DataLoader workers and ranks
    seed_everything(cfg.seed)
    device = info.device
    amp_dtype = _amp_dtype(cfg.amp, device)
    model = _build_model(cfg, num_classes)
    init_report = load_matching_weights(model, cfg.init_from) if cfg.init_from is not None and not resume else None
    model = _prepare_model(model, cfg, info)
    plan = _plan(cfg, data["train"], info.world_size)
    total_steps = plan.total_steps
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps) if plan.shapes is None else \
        _multigrid_scheduler(optimizer, cfg, plan)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    modules = (model, optimizer, scheduler, scaler)

    # resume if a checkpoint exists
    prog = load_checkpoint(ckpt_path, cfg, *modules) if resume else _Progress(num_classes, init_from=init_report)
    if info.rank > 0:  # other dropout/augmentation draws than rank 0's (which the checkpoint restores)
        seed_everything(_mix(cfg.seed, info.rank, prog.step))
    net = _WithLoss(model)
    if info.distributed:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    log = _NullLog()
    if info.is_main:
        log = _MetricsLog(run_dir / METRICS_FILE, prog.metrics_offset, tb_dir=run_dir / "tb" if cfg.tensorboard else None,
                          purge_step=prog.step + 1 if prog.step else None)
    t_start = time.time() - prog.elapsed
    clock = lambda: time.time() - t_start  # noqa: E731  (seconds of this run, all sessions)

    def eval_split(split: str) -> dict[str, Any]:
        distributed.broadcast_buffers(model)  # every rank evaluates rank 0's BatchNorm statistics
        if split == "test" and callable(getattr(data[split], "video_index", None)):
            # multi-view test set (clips x crops per video): softmax scores averaged per video
            from .evaluate import evaluate_views

            return evaluate_views(model, data[split], batch_size=max(1, cfg.batch_size // info.world_size),
                                  device=device, num_workers=cfg.num_workers, amp=amp_dtype or False,
                                  channels_last=cfg.channels_last)
        loader = make_loader(data[split], cfg, train=False, device=device, rank=info.rank, world_size=info.world_size)
        return evaluate(model, loader, device=device, num_classes=num_classes, amp=amp_dtype or False,
                        reduce=info.distributed)

    # epochs with evaluation → checkpoint
    desc = f"{run_dir.parent.name}/{run_dir.name}"
    try:
        with tqdm(total=total_steps, initial=prog.step, disable=not (progress and info.is_main), desc=desc,
                  leave=False) as bar:
            r = _Run(cfg, model, net, optimizer, scheduler, scaler, device, amp_dtype, log, bar, clock, ckpt_path,
                     total_steps, info.distributed, info.is_main)
            while prog.step < total_steps:
                e = prog.epoch
                if hasattr(data["train"], "set_epoch"):  # e.g. per-epoch augmentation draws of decoded videos
                    data["train"].set_epoch(e)
                loader = make_loader(data["train"], cfg, train=True, epoch=e, start_batch=prog.step_in_epoch,
                                     device=device, rank=info.rank, world_size=info.world_size,
                                     batch_sizes=plan.sizes[e] if plan.sizes is not None else None)
                lr = _train_epoch(r, prog, loader, steps_in_epoch=plan.steps[e],
                                  shapes=plan.shapes[e] if plan.shapes is not None else None)
                bad = {}
                if info.is_main and hasattr(data["train"], "failure_count"):  # videos that failed to decode so far
                    bad["bad_videos"] = int(data["train"].failure_count())
                prog.metrics_offset = _log_meter(log, "epoch", prog, "epoch", lr=lr, time=clock(), **bad)
                prog.epoch, prog.step_in_epoch = prog.epoch + 1, 0
                if prog.epoch % cfg.eval_every == 0 or prog.step >= total_steps:
                    val = eval_split("val")
                    prog.val_history.append(dict(epoch=prog.epoch, step=prog.step, loss=val["loss"], top1=val["top1"],
                                                 top5=val["top5"]))
                    prog.metrics_offset = log.write("val", step=prog.step, epoch=prog.epoch, lr=lr, time=clock(), **val)
                    if info.is_main:
                        logger.info("val epoch=%d step=%d top1=%.4f top5=%.4f loss=%.4g",
                                    prog.epoch, prog.step, val["top1"], val["top5"], val["loss"])
                prog.elapsed = clock()
                _save(r, prog)
                if stop_after_epoch is not None and prog.epoch >= stop_after_epoch and prog.step < total_steps:
                    distributed.barrier()  # the checkpoint exists when any rank returns
                    return {"finished": False, "epoch": prog.epoch, "step": prog.step, "run_dir": str(run_dir)}

        # test → final.json
        test = eval_split("test")
        prog.elapsed = clock()
        log.write("test", step=prog.step, epoch=prog.epoch, time=prog.elapsed, **test)
        result = _finish(run_dir, cfg, model, prog, test, device, amp_dtype, num_classes, world_size=info.world_size,
                         write=info.is_main)
        distributed.barrier()  # final.json exists when any rank returns
        return result
    finally:
        log.close()


def _build_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    from .models import build_model

    return build_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs)


def _finish(run_dir: Path, cfg: TrainConfig, model: nn.Module, prog: _Progress, test: dict, device, amp_dtype,
            num_classes: int, *, world_size: int = 1, write: bool = True) -> dict[str, Any]:
    """Assemble the result, write final.json (marks the run finished; rank 0 only) and return it."""
    best = max(prog.val_history, key=lambda v: v["top1"])
    result = {
        "finished": True, "run_dir": str(run_dir), "config": dict(cfg.to_dict()),  # as final.json gives it back
        "top1": test["top1"], "top5": test["top5"], "test": test,
        "val": prog.val_history[-1], "val_history": prog.val_history,
        "best_val_top1": best["top1"], "best_val_epoch": best["epoch"],
        "params": sum(p.numel() for p in model.parameters()), "num_classes": num_classes,
        "epochs": prog.epoch, "steps": prog.step, "wall_s": prog.elapsed,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else None, "torch": str(torch.__version__),
        "world_size": world_size,
    }
    if cfg.init_from is not None:
        result["init_from"] = prog.init_from
    if write:
        _write_json(run_dir / FINAL_FILE, result)
    return result


if __name__ == "__main__":  # python -m actionrec.train
    from actionrec.cli import train_main

    raise SystemExit(train_main())
