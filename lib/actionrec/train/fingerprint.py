"""Code fingerprint of a run: what the code does with a config at its seed, so that a finished run
made by other code is never reused as this code's result.

::

    cfg ─→ train split (first batch only) ─→ seed_everything(cfg.seed) ─→ build_model_from_config
      (+ init_from)
      ├─ structure: every module's path and class name; every state_dict entry's name, shape, dtype
      ├─ init: the initial state_dict (exact bytes → ``init``; per tensor [sum, sum |w|, sum w²]
      │  → ``init_stats``)
      └─ first step: the first training batch exactly as ``fit`` sees it (same data, order, multigrid shape),
         forward in train mode + backward, no optimizer step → ``first_loss``, ``first_grad_norm``,
         per parameter [sum, sum |g|, sum g²] → ``grad_stats``, per float buffer (BatchNorm running
         moments after the forward) → ``buffer_stats``

The record (``run_dir/fingerprint.json``, written by ``fit`` when a run starts from scratch)::

    {"version", "hash", "structure", "init", "init_stats", "first_loss", "first_grad_norm", "grad_stats",
     "buffer_stats", "torch"}

``hash`` (16 hex digits) is SHA-256 of ``(version, structure, init, first_loss rounded to 1e-4, the
gradient norm and the step statistics to 4 significant digits)``. Two records describe the same code
(:func:`same_fingerprint`) when their hashes are equal or, failing that, when the structures are
equal, every init statistic agrees to ``INIT_RTOL`` (|Δ sum| and |Δ sum |w|| relative to ``sum |w|``,
|Δ sum w²| relative to ``sum w²``), the first losses to ``LOSS_TOL`` (absolute) and every gradient
and buffer statistic to ``STEP_RTOL``. The record is computed on one thread (the same on a CPU for
any thread count). The hash is the fast path on one machine; the tolerances make the comparison
hold across CPUs, where torch's vectorised ``normal_`` and the convolution kernels may differ in the
last bits and reductions run in another order (rounding each value before hashing would not: any
value near a rounding boundary flips). ``STEP_RTOL`` is 1 %: one step's gradient statistics of an
MTNet moved by 0.2 % between one and two threads, while the changes it must see move them by tens
of percent.

What changes it: a module's class name or attribute path (renaming a parameter's attribute renames
its state_dict key), a parameter's shape or dtype, the initialisation, the forward computation, the
loss, the data of the first batch or its order. The gradient and buffer statistics see changes the
first loss cannot: a branch behind a zero-initialised scale, or a scale before a train-mode
BatchNorm (normalised away in the forward, but it moves the running moments that evaluation uses).
What does not: renamed functions or local variables, moved code, equal computations. Changes
within the tolerances (first loss within 1e-4, every gradient and buffer statistic within 1 %,
identical initial weights) go unseen.

The fingerprint is computed on the CPU in float32 (no autocast, default memory format) with the
config's data settings, whatever ``cfg.device``; it draws random numbers (the seed, dropout) and
restores every generator's state afterwards (``utils.seeding.rng_state``), so a run computed after
it is bit-identical to one without it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..data import build_dataset
from ..utils.io import read_json, write_json
from ..utils.seeding import rng_state, seed_everything, set_rng_state
from .checkpoint import build_model_from_config, load_matching_weights
from .config import TrainConfig
from .loaders import make_loader, plan_epochs, split_dataset_kwargs
from .multigrid import resample_clip

__all__ = ["code_fingerprint", "same_fingerprint", "read_fingerprint", "write_fingerprint", "short_hash",
           "FINGERPRINT_FILE", "FINGERPRINT_VERSION", "LOSS_TOL", "INIT_RTOL", "STEP_RTOL"]

#: The fingerprint's file in a run directory.
FINGERPRINT_FILE = "fingerprint.json"
#: Bumped when what the record holds changes (records of another version never match).
FINGERPRINT_VERSION = 1
#: Absolute tolerance of the first training loss.
LOSS_TOL = 1e-4
#: Relative tolerance of the per-tensor initial-weight statistics.
INIT_RTOL = 1e-5
#: Relative tolerance of the per-parameter gradient and per-buffer statistics of the first step.
STEP_RTOL = 1e-2


def code_fingerprint(cfg: TrainConfig, *, train_ds: Any = None) -> dict[str, Any]:
    """The fingerprint record of ``cfg`` at ``cfg.seed`` (see the module docstring for its fields).

    ``train_ds``: the train split ``fit`` trains on (``build_datasets(cfg)["train"]``, e.g. the
    rendered one), to avoid building it again; None builds the split without rendering it and reads
    only the first batch's clips (item ``i`` is the same either way: the render cache stores the
    items as built). The global random generators are restored on return.
    """
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    saved, threads = rng_state(), torch.get_num_threads()
    torch.set_num_threads(1)  # reductions in one order: the same record for any thread count on a CPU
    try:
        if train_ds is None:
            train_ds = build_dataset(cfg.dataset, "train", **split_dataset_kwargs(cfg, "train"))
        seed_everything(cfg.seed)  # as fit: seed, then the model, then the first batch
        model = build_model_from_config(cfg, train_ds.num_classes)
        if cfg.init_from is not None:
            load_matching_weights(model, cfg.init_from)
        state = model.state_dict()
        structure = _sha([[name, type(m).__name__] for name, m in model.named_modules()]
                         + [[k, list(t.shape), str(t.dtype)] for k, t in state.items()])
        init = hashlib.sha256()
        stats = []
        for k, t in state.items():
            t = t.detach().cpu().contiguous()
            init.update(k.encode() + b"\0" + t.view(-1).view(torch.uint8).numpy().tobytes())
            stats.append(_stats(t))
        x, y = _first_batch(cfg, train_ds)
        loss, grad_norm = _first_step(model, x, y, cfg.label_smoothing)
        grads = [_stats(p.grad) for p in model.parameters() if p.grad is not None]
        buffers = [_stats(b) for _, b in model.named_buffers() if b.is_floating_point()]
    finally:
        set_rng_state(saved)
        torch.set_num_threads(threads)
    record = {"version": FINGERPRINT_VERSION, "hash": "", "structure": structure, "init": init.hexdigest()[:16],
              "init_stats": stats, "first_loss": loss, "first_grad_norm": grad_norm, "grad_stats": grads,
              "buffer_stats": buffers, "torch": str(torch.__version__)}
    record["hash"] = _sha([FINGERPRINT_VERSION, structure, record["init"], _round(loss, 4), _sig(grad_norm, 4),
                           [[_sig(v, 4) for v in b] for b in grads + buffers]])
    return record


def _stats(t: torch.Tensor) -> list[float | None]:
    """``[sum, sum |t|, sum t²]`` of a tensor, summed in float64, to 7 significant digits (None: not finite)."""
    d = t.detach().cpu().double()
    return [_sig(_finite(v), 7) for v in (d.sum().item(), d.abs().sum().item(), (d * d).sum().item())]


def _first_batch(cfg: TrainConfig, train_ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The first micro-batch of epoch 0 of a one-process run (``fit``'s loader and multigrid shape)."""
    plan = plan_epochs(cfg, train_ds, 1)
    loader = make_loader(train_ds, cfg, train=True, epoch=0, device=torch.device("cpu"),
                         batch_sizes=plan.sizes[0] if plan.sizes is not None else None)
    x, y = next(iter(loader))
    if plan.shapes is not None:
        shape = plan.shapes[0][0]
        if tuple(x.shape[2:]) != (shape.frames, shape.size, shape.size):
            x = resample_clip(x, shape.frames, shape.size)
    return x, y


def _first_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                label_smoothing: float = 0.0) -> tuple[float | None, float | None]:
    """``fit``'s training loss of ``(x, y)`` (train mode, float32) and the global L2 norm of its gradient."""
    model.train()
    with torch.enable_grad():
        if hasattr(model, "training_loss"):
            _, loss = model.training_loss(x, y)
        else:
            loss = F.cross_entropy(model(x).float(), y, label_smoothing=label_smoothing)
        loss.backward()
    grads = [p.grad.detach().double().pow(2).sum() for p in model.parameters() if p.grad is not None]
    norm = torch.stack(grads).sum().sqrt().item() if grads else 0.0
    return _finite(loss.item()), _finite(norm)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


def _sig(v: float | None, digits: int) -> float | None:
    return None if v is None else float(f"{v:.{digits - 1}e}")


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def same_fingerprint(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """True when records ``a`` and ``b`` describe the same code (equal hashes, or equal structures and
    initial weights, first losses, gradients and buffers within the tolerances); False when either
    is None (unknown: a run made before fingerprints existed) or of another version."""
    if a is None or b is None or a.get("version") != FINGERPRINT_VERSION or b.get("version") != FINGERPRINT_VERSION:
        return False
    if a["hash"] == b["hash"]:
        return True
    return (a["structure"] == b["structure"] and _stats_close(a["init_stats"], b["init_stats"], INIT_RTOL)
            and _close(a["first_loss"], b["first_loss"], LOSS_TOL)
            and _stats_close(a["grad_stats"], b["grad_stats"], STEP_RTOL)
            and _stats_close(a["buffer_stats"], b["buffer_stats"], STEP_RTOL))


def _stats_close(a: list, b: list, rtol: float) -> bool:
    """Per tensor: |Δ sum| and |Δ sum |t|| within ``rtol * sum |t|``, |Δ sum t²| within ``rtol * sum t²``
    (a non-finite statistic, stored as None, only equals another)."""
    if len(a) != len(b):
        return False
    for sa, sb in zip(a, b):
        if None in sa or None in sb:
            if list(sa) != list(sb):
                return False
            continue
        (s1, m1, q1), (s2, m2, q2) = sa, sb
        scale = rtol * max(m1, m2) + 1e-12
        if abs(s1 - s2) > scale or abs(m1 - m2) > scale or abs(q1 - q2) > rtol * max(q1, q2) + 1e-12:
            return False
    return True


def short_hash(record: Mapping[str, Any] | None) -> str:
    """The first 8 hex digits of a record's hash; ``"unknown"`` for None."""
    return "unknown" if record is None else str(record.get("hash", "unknown"))[:8]


def read_fingerprint(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The record in ``run_dir/fingerprint.json``; None when there is none (or it is unreadable)."""
    path = Path(run_dir) / FINGERPRINT_FILE
    try:
        record = read_json(path)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_fingerprint(run_dir: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Atomically write ``record`` to ``run_dir/fingerprint.json``; return the path."""
    path = Path(run_dir) / FINGERPRINT_FILE
    write_json(path, dict(record))
    return path

