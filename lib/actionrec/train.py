"""One training loop for every experiment: ``TrainConfig`` → ``fit(cfg, run_dir)``.

``fit`` reads top to bottom like PySlowFast's ``train()``::

    config.json ─→ data (rendered once, cached in-process) ─→ seed ─→ build model, optimizer,
    per-step LR schedule, GradScaler ─→ resume from run_dir/checkpoint.pt if present
      ─→ for each epoch: train steps ─→ val every ``eval_every`` epochs ─→ atomic checkpoint
      ─→ test ─→ final.json

A run directory holds::

    run_dir/config.json     the whole TrainConfig (nanoGPT style), written first
    run_dir/metrics.jsonl   one JSON object per line, "kind" in {train, epoch, val, test}:
                            train = mean loss/acc over the last ``log_every`` steps,
                            epoch = the epoch's train loss/acc, val/test = evaluate(...) output;
                            every line has step, epoch, lr and time (s) so notebooks plot curves
    run_dir/checkpoint.pt   model, optimizer, scheduler, scaler, epoch, step, RNG states, config
                            (written to a temp file, fsynced, then os.replace'd: never partial)
    run_dir/final.json      written only when the run finished; ``fit`` on a finished run_dir
                            returns it without training (``is_finished(run_dir)``)

Reproducibility (stated, and tested on CPU):

- Same config + seed in the same environment (torch version, thread count, device) gives
  bit-identical weights and metrics on CPU. The shuffle of epoch ``e`` is a pure function of
  ``(seed, e)`` (``EpochSampler``), so no sampler-generator state has to be carried; the DataLoader's
  own generator (which seeds workers) is also derived from ``(seed, e)``.
- Resume is exact on CPU: the checkpoint restores weights, optimizer moments, the LR schedule's
  step, the GradScaler and the torch / CUDA / NumPy / ``random`` RNG states, and training continues
  from the next batch of the same epoch permutation. ``metrics.jsonl`` is truncated back to the
  byte offset recorded in the checkpoint, so a resumed run's log equals the uninterrupted one's.
  (A mid-epoch resume, from ``checkpoint_every``, is exact for datasets whose items are pure
  functions of their index, as SynthActions' are; random per-item augmentation inside DataLoader
  workers would see shifted worker streams.)
- On CUDA, cuDNN / atomics make runs close but not bit-identical; we do not force
  ``torch.use_deterministic_algorithms`` (a global side effect).
- ``cache_data=True`` renders each split once per process (keyed by dataset, split and kwargs) into
  in-memory tensors; any per-access randomness of a dataset would be frozen by the cache.

Loss: ``cross_entropy(model(x), y)``, unless the model has ``training_loss(x, y) -> (logits, loss)``
(models with several heads, e.g. the two-stream nets' one loss per stream); ``logits`` feed the
train accuracy. Evaluation always uses ``model(x)``.

Departures from PySlowFast: no distributed training, no multigrid, no mixup; a NaN/inf loss
stops training with ``NonFiniteLossError`` (a ``FloatingPointError``) instead of being skipped,
and a checkpoint is never written from non-finite weights.
"""

from __future__ import annotations

import collections
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

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("cosine", "step", "none")
# Fields that only change how a run executes, not what it computes: they may differ on resume.
RUNTIME_FIELDS = ("device", "num_workers", "cache_data")
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
    batch_size: int = 32  # clips per step
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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists, as they would after a JSON round trip)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict``; unknown keys raise, missing keys take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; valid fields: {sorted(known)}")
        return cls(**d)


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


def _config_diff(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """Names of the fields (not counting RUNTIME_FIELDS) where ``saved`` and ``cfg`` differ."""
    old = TrainConfig.from_dict(saved).to_dict()
    new = cfg.to_dict()
    return [k for k in new if k not in RUNTIME_FIELDS and old[k] != new[k]]


def _check_same_config(saved: dict[str, Any], cfg: TrainConfig, run_dir: Path, what: str) -> None:
    diff = _config_diff(saved, cfg)
    if diff:
        old = TrainConfig.from_dict(saved).to_dict()
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
    """The train/val/test splits of ``cfg.dataset``; rendered once per process if ``cache_data``."""
    from .data import build_dataset

    out = {}
    for split in ("train", "val", "test"):
        kwargs = _dataset_kwargs(cfg, split)
        if not cfg.cache_data:
            out[split] = build_dataset(cfg.dataset, split, **kwargs)
            continue
        key = json.dumps([cfg.dataset, split, kwargs], sort_keys=True)
        if key not in _DATA_CACHE:
            _DATA_CACHE[key] = _render(build_dataset(cfg.dataset, split, **kwargs), cfg.num_workers)
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


def make_loader(ds: Dataset, cfg: TrainConfig, *, train: bool, epoch: int = 0, start_batch: int = 0,
                device: torch.device | None = None) -> DataLoader:
    """Train loader (epoch permutation, drop_last when the split has a full batch) or eval loader."""
    drop_last = train and len(ds) >= cfg.batch_size
    sampler = EpochSampler(len(ds), seed=cfg.seed, epoch=epoch, start=start_batch * cfg.batch_size) if train else None
    g = torch.Generator().manual_seed(_mix(cfg.seed, epoch, 1 if train else 2))  # seeds the workers
    return DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, shuffle=False, drop_last=drop_last,
                      num_workers=cfg.num_workers, worker_init_fn=_worker_init, generator=g,
                      pin_memory=device is not None and device.type == "cuda")


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
             amp: bool | torch.dtype = False) -> dict[str, Any]:
    """Loss and accuracies of ``model`` over ``loader`` (iterable of ``(clips, labels)``).

    Returns ``{"loss", "top1", "top5", "per_class", "confusion", "n"}``: accuracies are fractions
    in [0, 1]; ``top5`` is top-min(5, K); ``per_class[k]`` is the recall of class k (None when the
    split has no clip of class k); ``confusion[i][j]`` counts clips of true class i predicted as j.
    ``amp`` (True or a dtype) autocasts on CUDA only. The model's train/eval mode is restored.
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


def _all_finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


def save_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler, prog: _Progress) -> None:
    """Atomically write everything needed for an exact resume; refuse non-finite weights."""
    if not _all_finite(model):
        raise NonFiniteLossError(f"weights became non-finite at step {prog.step} (epoch {prog.epoch + 1}); "
                                 f"not overwriting {path}. Lower lr (now {cfg.lr}), add warmup_steps or clip_grad.")
    atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                 "progress": dataclasses.asdict(prog), "rng": _rng_state(), "config": cfg.to_dict(),
                 "torch_version": str(torch.__version__)}, path)


def load_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler) -> _Progress:
    """Restore modules and RNG states from ``path``; the config must match (RUNTIME_FIELDS aside)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    _check_same_config(ckpt["config"], cfg, path.parent, "checkpoint")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"])
    return _Progress(**ckpt["progress"])


class _MetricsLog:
    """Append-only JSONL file, truncated to ``offset`` bytes on open (drops lines after a checkpoint)."""

    def __init__(self, path: Path, offset: int):
        self.path = path
        with open(path, "ab") as f:  # creates the file; never pads it (a lost log restarts empty)
            f.truncate(min(offset, f.seek(0, os.SEEK_END)))

    def write(self, kind: str, **record) -> int:
        with open(self.path, "ab") as f:
            f.write((json.dumps(_jsonable({"kind": kind, **record})) + "\n").encode())
            return f.tell()


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


def _train_epoch(model, optimizer, scheduler, scaler, *, loader, cfg: TrainConfig, prog: _Progress, device, amp_dtype,
                 steps_per_epoch: int, total_steps: int, log: _MetricsLog, bar, clock: Callable[[], float]) -> float:
    """Run the remaining steps of epoch ``prog.epoch``, updating ``prog`` in place; return the last lr used."""
    model.train()
    ckpt_path = log.path.parent / CHECKPOINT_FILE
    lr = scheduler.get_last_lr()[0]
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        lr = scheduler.get_last_lr()[0]
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            if hasattr(model, "training_loss"):  # multi-head models (two_stream_*): fused logits + summed head losses
                logits, loss = model.training_loss(x, y)
            else:
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            kept = f"{ckpt_path} still holds the last good state" if ckpt_path.exists() else "no checkpoint was written yet"
            raise NonFiniteLossError(
                f"loss is {loss_value} at step {prog.step + 1} (epoch {prog.epoch + 1}, lr {lr:.3g}): training diverged; "
                f"{kept}. Lower lr, add warmup_steps or clip_grad, and train into a new run_dir (or delete this one).")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.clip_grad is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        prog.step += 1
        prog.step_in_epoch += 1
        correct = (logits.argmax(1) == y).sum().item()
        for m in prog.meters.values():  # [loss_sum, correct, n]
            m[0] += loss_value * y.numel()
            m[1] += correct
            m[2] += y.numel()
        bar.update(1)
        bar.set_postfix(epoch=prog.epoch + 1, loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", refresh=False)
        if prog.step % cfg.log_every == 0:
            prog.metrics_offset = _log_meter(log, "train", prog, "interval", lr=lr, time=clock())
        epoch_end = prog.step_in_epoch >= steps_per_epoch or prog.step >= total_steps
        if cfg.checkpoint_every and prog.step % cfg.checkpoint_every == 0 and not epoch_end:
            prog.elapsed = clock()
            save_checkpoint(ckpt_path, cfg, model, optimizer, scheduler, scaler, prog)
        if prog.step >= total_steps:
            break
    return lr


def _log_meter(log: _MetricsLog, kind: str, prog: _Progress, meter: str, **extra) -> int:
    """Write the mean loss/acc of ``prog.meters[meter]`` as one line, reset it; return the file size."""
    loss_sum, correct, n = prog.meters[meter]
    prog.meters[meter] = [0.0, 0, 0]
    line = dict(step=prog.step, epoch=prog.epoch + 1, loss=loss_sum / max(n, 1), acc=correct / max(n, 1), n=n, **extra)
    logger.info("%s %s", kind, " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in line.items()))
    return log.write(kind, **line)


def fit(cfg: TrainConfig, run_dir: str | os.PathLike, *, progress: bool = True,
        stop_after_epoch: int | None = None) -> dict[str, Any]:
    """Train ``cfg`` in ``run_dir`` (resuming if it holds a checkpoint); return the final result.

    ``stop_after_epoch=k`` returns ``{"finished": False, "epoch": k, ...}`` right after epoch k's
    checkpoint, as if the process had been interrupted there; calling ``fit`` again resumes (this
    is how the tests check exact resume, and how a long run is split across sessions without
    touching the config). On a finished run_dir, returns the saved ``final.json`` without training.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_finished(run_dir):
        result = json.loads((run_dir / FINAL_FILE).read_text())
        _check_same_config(result["config"], cfg, run_dir, "finished run")
        return result
    if (run_dir / CONFIG_FILE).exists():  # a started run: refuse another config before any work
        _check_same_config(json.loads((run_dir / CONFIG_FILE).read_text()), cfg, run_dir, "started run")
    _write_json(run_dir / CONFIG_FILE, cfg.to_dict())

    # data → seed → build
    data = build_datasets(cfg)
    num_classes = data["train"].num_classes
    seed_everything(cfg.seed)
    device = get_device(cfg.device)
    amp_dtype = _amp_dtype(cfg.amp, device)
    model = _build_model(cfg, num_classes).to(device)
    steps_per_epoch = _steps_per_epoch(len(data["train"]), cfg.batch_size)
    total_steps = min(cfg.epochs * steps_per_epoch, cfg.max_steps or math.inf)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    modules = (model, optimizer, scheduler, scaler)

    # resume if a checkpoint exists
    ckpt_path = run_dir / CHECKPOINT_FILE
    prog = load_checkpoint(ckpt_path, cfg, *modules) if ckpt_path.exists() else _Progress(num_classes)
    log = _MetricsLog(run_dir / METRICS_FILE, prog.metrics_offset)
    t_start = time.time() - prog.elapsed
    clock = lambda: time.time() - t_start  # noqa: E731  (seconds of this run, all sessions)
    eval_split = lambda split: evaluate(model, make_loader(data[split], cfg, train=False, device=device),  # noqa: E731
                                        device=device, num_classes=num_classes, amp=amp_dtype or False)

    # epochs with evaluation → checkpoint
    desc = f"{run_dir.parent.name}/{run_dir.name}"
    with tqdm(total=total_steps, initial=prog.step, disable=not progress, desc=desc, leave=False) as bar:
        while prog.step < total_steps:
            loader = make_loader(data["train"], cfg, train=True, epoch=prog.epoch, start_batch=prog.step_in_epoch,
                                 device=device)
            lr = _train_epoch(*modules, loader=loader, cfg=cfg, prog=prog, device=device, amp_dtype=amp_dtype, log=log,
                              bar=bar, clock=clock, steps_per_epoch=steps_per_epoch, total_steps=total_steps)
            prog.metrics_offset = _log_meter(log, "epoch", prog, "epoch", lr=lr, time=clock())
            prog.epoch, prog.step_in_epoch = prog.epoch + 1, 0
            if prog.epoch % cfg.eval_every == 0 or prog.step >= total_steps:
                val = eval_split("val")
                prog.val_history.append(dict(epoch=prog.epoch, step=prog.step, loss=val["loss"], top1=val["top1"],
                                             top5=val["top5"]))
                prog.metrics_offset = log.write("val", step=prog.step, epoch=prog.epoch, lr=lr, time=clock(), **val)
                logger.info("val epoch=%d step=%d top1=%.4f top5=%.4f loss=%.4g",
                            prog.epoch, prog.step, val["top1"], val["top5"], val["loss"])
            prog.elapsed = clock()
            save_checkpoint(ckpt_path, cfg, *modules, prog)
            if stop_after_epoch is not None and prog.epoch >= stop_after_epoch and prog.step < total_steps:
                return {"finished": False, "epoch": prog.epoch, "step": prog.step, "run_dir": str(run_dir)}

    # test → final.json
    test = eval_split("test")
    prog.elapsed = clock()
    log.write("test", step=prog.step, epoch=prog.epoch, time=prog.elapsed, **test)
    return _finish(run_dir, cfg, model, prog, test, device, amp_dtype, num_classes)


def _build_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    from .models import build_model

    return build_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs)


def _finish(run_dir: Path, cfg: TrainConfig, model: nn.Module, prog: _Progress, test: dict, device, amp_dtype,
            num_classes: int) -> dict[str, Any]:
    """Assemble the result, write final.json (marks the run finished) and return it."""
    best = max(prog.val_history, key=lambda v: v["top1"])
    result = {
        "finished": True, "run_dir": str(run_dir), "config": cfg.to_dict(),
        "top1": test["top1"], "top5": test["top5"], "test": test,
        "val": prog.val_history[-1], "val_history": prog.val_history,
        "best_val_top1": best["top1"], "best_val_epoch": best["epoch"],
        "params": sum(p.numel() for p in model.parameters()), "num_classes": num_classes,
        "epochs": prog.epoch, "steps": prog.step, "wall_s": prog.elapsed,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else None, "torch": str(torch.__version__),
    }
    _write_json(run_dir / FINAL_FILE, result)
    return result
