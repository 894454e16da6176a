"""Optimizer and per-step learning-rate schedules.

``lr(step) = cfg.lr * lr_factor(step)``: a linear warm-up over ``warmup_steps``, then cosine decay to 0,
step decay (x0.1 at 1/2 and 3/4 of the steps after warm-up) or constant. ``scheduler.step()`` runs
after every optimizer step. With multigrid the same shape is laid over the clips seen, in units of
``batch_size`` clips, and multiplied by the step's ``lr_scale`` (the linear scaling rule), so the LR at
a given epoch is the plain run's times ``lr_scale``. Weight decay skips 1-D parameters (biases, norms).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig
from .loaders import Plan

__all__ = ["build_optimizer", "lr_factor", "build_scheduler", "build_multigrid_scheduler"]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, or SGD with momentum 0.9; no weight decay on biases and norm parameters (1-D)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # fused: one kernel over all parameters instead of ~10 ops per tensor (CPU and CUDA; benchmarks/speed.py)
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in decay + no_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=fused)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, fused=fused)


def lr_factor(step: float, *, total_steps: float, warmup_steps: int, scheduler: str) -> float:
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


def build_multigrid_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                              plan: Plan) -> torch.optim.lr_scheduler.LambdaLR:
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
