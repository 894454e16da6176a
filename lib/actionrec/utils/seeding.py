"""Seeding: one call seeds Python, NumPy and torch; ``mix_seeds`` derives independent seeds from tuples
(data order, workers, runs) as a pure function; RNG state capture for exact resume.

:func:`seed_everything` seeds Python's ``random``, NumPy's global generator and torch (CPU and every
CUDA device); it does not switch on deterministic algorithms. :func:`mix_seeds` is integer
arithmetic only, so a tuple gives the same 63-bit seed in every process, on every machine (data
order per epoch, DataLoader workers, per-rank streams). :func:`rng_state` / :func:`set_rng_state`
capture and restore all of these generators (torch CPU and CUDA, NumPy, Python; a
``torch.save``-able dict), so a resumed run continues the random streams where the checkpoint left
them.

What is bit-reproducible: the random draws, for the same seed and library versions; on CPU, with
the same torch version and thread count, also what is computed from them (weights, metrics). On
CUDA, cuDNN and atomic adds make results close but not bit-identical
(``torch.use_deterministic_algorithms`` is not set here: a global side effect).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def mix_seeds(*ints: int) -> int:
    """A 63-bit seed that is a pure function of ``ints`` (SplitMix64-style hashing)."""
    h = 0x9E3779B97F4A7C15
    for i in ints:
        h = ((h ^ (i & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


def rng_state() -> dict[str, Any]:
    """The state of every generator :func:`seed_everything` seeds (torch.save-able)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss),
            "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
