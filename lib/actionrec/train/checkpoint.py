"""Checkpoints: everything needed for an exact resume, loading a finished run's model, and
fine-tuning from another run's weights.

``run_dir/checkpoint.pt`` holds ``{"model", "optimizer", "scheduler", "scaler", "progress", "rng",
"config", "torch_version"}``, written atomically (temp file, fsync, ``os.replace``: never partial) and
never from non-finite weights. Resume is exact on CPU: weights, optimizer moments, the LR schedule's
step, the GradScaler and the torch / CUDA / NumPy / ``random`` RNG states are restored, and
:class:`Progress` says where in which epoch to continue (and how many bytes of ``metrics.jsonl``
belong to this state). Under DDP the checkpoint holds rank 0's RNG state; ranks > 0 reseed from
``(seed, rank, step)``.

``init_from`` (:func:`load_matching_weights`)::

    source state_dict ─→ keep (name in model and same shape) ─→ model.load_state_dict(strict=False)

so a classifier head of another class count keeps its initialisation, as when fine-tuning Kinetics
weights on UCF-101.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models import build_model
from ..utils.device import get_device
from ..utils.io import atomic_save
from ..utils.seeding import rng_state, set_rng_state
from .config import CHECKPOINT_FILE, FINAL_FILE, TrainConfig, check_same_config

__all__ = ["NonFiniteLossError", "Progress", "all_finite", "save_checkpoint", "load_checkpoint",
           "load_matching_weights", "build_model_from_config", "load_model", "is_finished"]

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or inf."""


@dataclass
class Progress:
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


def all_finite(model: nn.Module) -> bool:
    """True when every floating-point tensor of ``model.state_dict()`` is finite."""
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


def save_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler, prog: Progress) -> None:
    """Atomically write everything needed for an exact resume; refuse non-finite weights."""
    if not all_finite(model):
        raise NonFiniteLossError(f"weights became non-finite at step {prog.step} (epoch {prog.epoch + 1}); "
                                 f"not overwriting {path}. Lower lr (now {cfg.lr}), add warmup_steps or clip_grad.")
    atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                 "progress": dataclasses.asdict(prog), "rng": rng_state(), "config": dict(cfg.to_dict()),
                 "torch_version": str(torch.__version__)}, path)


def load_checkpoint(path: Path, cfg: TrainConfig, model, optimizer, scheduler, scaler) -> Progress:
    """Restore modules and RNG states from ``path``; the config must match (RUNTIME_FIELDS aside)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    check_same_config(ckpt["config"], cfg, path.parent, "checkpoint")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    _match_param_layout(optimizer)
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    return Progress(**ckpt["progress"])


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
    prefix (DDP-saved elsewhere) is stripped. Tensors whose shape differs or that the checkpoint lacks
    keep the model's initialisation.

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


def build_model_from_config(cfg: TrainConfig, num_classes: int) -> nn.Module:
    """The network of ``cfg`` with a ``num_classes``-way head (``cfg.model`` and ``cfg.model_kwargs``)."""
    return build_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs)


def load_model(run_dir: str | os.PathLike, *, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model of a run from its ``config.json`` and load the checkpoint's weights (eval mode)."""
    run_dir = Path(run_dir)
    cfg = TrainConfig.from_run_dir(run_dir)
    ckpt = torch.load(run_dir / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    model = build_model_from_config(cfg, ckpt["progress"]["num_classes"])
    model.load_state_dict(ckpt["model"])
    return model.to(get_device(device)).eval()
