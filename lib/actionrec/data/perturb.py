"""Temporal clip perturbations: time reversal, frame shuffling, speed change (pure functions).

Used to probe temporal models (SRTG's cycle-consistency gate, the notebook
``srtg_cycle_consistency``): the perturbations keep every frame's content and change only the
order or the timing of the frames. Each is a frame index ``(T,)`` long tensor applied along the
time axis, so the same index can be applied to anything with a time axis (a clip, a feature
sequence ``(B, T, C)``, a trajectory ``(T, 2)``) with :func:`select_frames` and ``dim``::

    clip (C, T, H, W) or (B, C, T, H, W)          time is dim -3 (the house layout)
      reverse_time       index = [T-1, ..., 1, 0]
      shuffle_frames     index = a random permutation of 0..T-1 (torch.Generator seeded by ``seed``)
      change_speed       index_t = floor(t * factor), then wrapped (``mode="loop"``) or clamped
                         (``mode="hold"``) into 0..T-1; T is kept
      ─> select_frames(clip, index)  (same shape and dtype as clip; a new tensor, input untouched)

``change_speed`` anchors the resampling at frame 0: ``factor=2`` shows frames 0, 2, 4, ... (the
clip played twice as fast; with ``"loop"`` the second half of the output replays it from the
start, with ``"hold"`` it freezes on the last frame), ``factor=0.5`` shows 0, 0, 1, 1, ... (the
first half of the clip, each frame twice). All functions are deterministic; a batch gets the
same index for every clip. Nothing is done in place.
"""

from __future__ import annotations

import torch

from ..utils.checks import check_choice, check_float, check_int

__all__ = [
    "PERTURBATIONS",
    "reverse_index",
    "shuffle_index",
    "speed_index",
    "select_frames",
    "reverse_time",
    "shuffle_frames",
    "change_speed",
    "perturb",
    "perturbation_index",
]

SPEED_MODES = ("loop", "hold")
#: Names understood by :func:`perturb` / :func:`perturbation_index`.
PERTURBATIONS = ("none", "reverse", "shuffle", "speed x0.5", "speed x2")


def _time_dim(x: torch.Tensor, dim: int | None) -> int:
    """The time axis: ``dim`` if given, else -3 of a ``(C, T, H, W)`` / ``(B, C, T, H, W)`` clip."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"clip must be a torch.Tensor (C, T, H, W) or (B, C, T, H, W); got {type(x).__name__}")
    if dim is None:
        if x.dim() not in (4, 5):
            raise ValueError(
                f"clip must be (C, T, H, W) or (B, C, T, H, W); got shape {tuple(x.shape)} "
                "(pass dim= for other layouts, e.g. dim=1 for (B, T, C) features)"
            )
        return x.dim() - 3
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} is out of range for a tensor of shape {tuple(x.shape)}")
    return dim % x.dim()


def reverse_index(frames: int) -> torch.Tensor:
    """``[T-1, ..., 0]``, ``(T,)`` long."""
    return torch.arange(check_int("frames", frames, min_value=1) - 1, -1, -1)


def shuffle_index(frames: int, *, seed: int) -> torch.Tensor:
    """A random permutation of ``0..T-1``, ``(T,)`` long; a pure function of ``(frames, seed)``.

    It can be the identity (probability ``1/T!``), e.g. always for ``T=1``.
    """
    g = torch.Generator().manual_seed(check_int("seed", seed))
    return torch.randperm(check_int("frames", frames, min_value=1), generator=g)


def speed_index(frames: int, factor: float, *, mode: str = "loop") -> torch.Tensor:
    """Frame ``t`` of the output shows input frame ``floor(t * factor)``, ``(T,)`` long (module docstring).

    Args:
        frames: T.
        factor: playback speed > 0 (2: twice as fast, 0.5: half as fast; 1: identity).
        mode: ``"loop"`` wraps indices past the end (``t * factor mod T``), ``"hold"`` clamps them
            to the last frame.
    """
    frames = check_int("frames", frames, min_value=1)
    check_float("factor", factor, positive=True)
    check_choice("mode", mode, SPEED_MODES)
    # float64 and a tiny epsilon so that e.g. 3 * (1/3) lands on 1, not 0.999...
    idx = torch.floor(torch.arange(frames, dtype=torch.float64) * float(factor) + 1e-9).long()  # (T,)
    return idx % frames if mode == "loop" else idx.clamp(max=frames - 1)


def select_frames(x: torch.Tensor, index: torch.Tensor, *, dim: int | None = None) -> torch.Tensor:
    """``x`` with its frames taken at ``index`` (``(T_out,)`` long) along the time axis.

    ``dim`` defaults to -3 of a clip ``(C, T, H, W)`` / ``(B, C, T, H, W)``; pass ``dim`` for other
    layouts (``dim=1`` for ``(B, T, C)`` features, ``dim=0`` for a ``(T, C)`` trajectory).
    """
    d = _time_dim(x, dim)
    index = torch.as_tensor(index, dtype=torch.long, device=x.device)
    if index.dim() != 1:
        raise ValueError(f"index must be a 1-D tensor of frame indices; got shape {tuple(index.shape)}")
    T = x.shape[d]
    if index.numel() and (index.min() < 0 or index.max() >= T):
        raise ValueError(f"index must lie in [0, {T - 1}] (T = {T}); got min {index.min().item()}, max {index.max().item()}")
    return x.index_select(d, index)  # (.., T_out, ..) on the time axis


def reverse_time(clip: torch.Tensor, *, dim: int | None = None) -> torch.Tensor:
    """The clip played backwards: ``(C, T, H, W)`` / ``(B, C, T, H, W)`` -> same shape."""
    d = _time_dim(clip, dim)
    return clip.flip(d)  # (.., T, ..) reversed on the time axis


def shuffle_frames(clip: torch.Tensor, *, seed: int, dim: int | None = None) -> torch.Tensor:
    """The clip's frames in a random order fixed by ``seed`` (same order for every clip of a batch)."""
    d = _time_dim(clip, dim)
    return select_frames(clip, shuffle_index(clip.shape[d], seed=seed), dim=d)


def change_speed(clip: torch.Tensor, factor: float, *, mode: str = "loop", dim: int | None = None) -> torch.Tensor:
    """The clip played ``factor`` times as fast, resampled to the same T (:func:`speed_index`)."""
    d = _time_dim(clip, dim)
    return select_frames(clip, speed_index(clip.shape[d], factor, mode=mode), dim=d)


def perturbation_index(name: str, frames: int, *, seed: int = 0) -> torch.Tensor:
    """The frame index of perturbation ``name`` (one of :data:`PERTURBATIONS`) for ``frames`` frames."""
    if name == "none":
        return torch.arange(check_int("frames", frames, min_value=1))
    if name == "reverse":
        return reverse_index(frames)
    if name == "shuffle":
        return shuffle_index(frames, seed=seed)
    if name == "speed x0.5":
        return speed_index(frames, 0.5)
    if name == "speed x2":
        return speed_index(frames, 2.0)
    raise ValueError(f"perturbation={name!r} must be one of {PERTURBATIONS}")


def perturb(clip: torch.Tensor, name: str, *, seed: int = 0, dim: int | None = None) -> torch.Tensor:
    """Apply perturbation ``name`` (``"none"``, ``"reverse"``, ``"shuffle"``, ``"speed x0.5"``,
    ``"speed x2"``; speeds use ``mode="loop"``) to a clip; same shape as ``clip``."""
    d = _time_dim(clip, dim)
    return select_frames(clip, perturbation_index(name, clip.shape[d], seed=seed), dim=d)
