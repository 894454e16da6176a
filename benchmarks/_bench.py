"""Timing helpers the benchmark scripts share (``from _bench import ...``; scripts run as
``python benchmarks/NAME.py``, so this folder is on ``sys.path``)."""

from __future__ import annotations

import statistics
import time

import torch.nn.functional as F

__all__ = ["train_step", "interleaved_medians"]


def train_step(net, opt, x, y) -> float:
    """Seconds for one training step: zero_grad, forward, cross-entropy, backward, optimizer step."""
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()
    return time.perf_counter() - t


def interleaved_medians(nets: dict, x, y, *, warmup: int, reps: int) -> dict:
    """``nets``: key -> ``(net, optimizer)``. Every network is warmed up (``warmup`` steps: the first
    steps pay oneDNN primitive creation), then timed in ``reps`` rounds, each round timing every
    network once, the order reversed every other round (no position bias; ratios stay meaningful
    while the machine's load drifts). Returns key -> median seconds per step."""
    for net, opt in nets.values():
        net.train()
        for _ in range(warmup):
            train_step(net, opt, x, y)
    times = {k: [] for k in nets}
    for r in range(reps):
        order = list(nets.items()) if r % 2 == 0 else list(nets.items())[::-1]
        for k, (net, opt) in order:
            times[k].append(train_step(net, opt, x, y))
    return {k: statistics.median(t) for k, t in times.items()}
