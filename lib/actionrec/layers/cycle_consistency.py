"""Temporal cycle consistency between two frame sequences (SRTG, eq. 4-5, Fig. 4-5).

Paper: Stergiou & Poppe, "Learn to cycle: Time-consistent feature discovery for action
recognition" (Pattern Recognition Letters 2021), Sec. 3.2; soft nearest neighbours after
Goldberger et al. (NCA) and Dwibedi et al. (TCC). Decisions from ``shared/papers/NOTES.md``.

Two embeddings of the same clip, ``A = (a_1 .. a_T)`` and ``B = (b_1 .. b_T)``, each ``(B, T, C)``
(in SRTG: the squeezed features ``pooled`` and the recurrent output ``a_star``).

Eq. 4, soft nearest neighbour of frame ``t`` of A in B (``tau`` = ``temperature``, 1 in the paper)::

    z_ti      = softmax_i( -||a_t - b_i||^2 / tau )        weights_ab  (B, T_a, T_b), rows sum to 1
    b~_t      = sum_i z_ti b_i                             b_tilde     (B, T_a, C)

Eq. 5, the closest actual frame of B to that soft match::

    index_ab_t = argmin_i ||b~_t - b_i||^2                 index_ab    (B, T_a) long

Frame ``t`` is consistent A->B iff ``index_ab_t == t``; the same is repeated from B into A
(``index_ba``). Data flow for one sample::

    a_t ──eq.4 softmax over B──> b~_t ──eq.5 argmin over B──> index_ab_t ──== t ?──┐
    b_t ──eq.4 softmax over A──> a~_t ──eq.5 argmin over A──> index_ba_t ──== t ?──┴─ and ─> consistent_frames_t
    consistent = all_t consistent_frames_t           (the paper's "cycle-consistent": the SRTG gate)
    errors     = not consistent_frames               (the paper's "temporal cyclic errors", Fig. 4)

``soft_score`` (our addition, for a differentiable gate) is the mean, over frames and both
directions, of the soft weight a frame puts on its own time index::

    soft_score = ( mean_t z^{AB}_tt + mean_t z^{BA}_tt ) / 2        in [0, 1], (B,)

Everything is computed in float32 (float64 kept) with autocast off, so it is safe inside
``torch.autocast``; distances are exact at 0 and the softmax cannot overflow (numerics, ties and
what ``soft_score`` measures: :func:`cycle_consistency`).

Departure from the official code, whose softmax is not normalised and whose gate never opens: eq.
4-5 as written (:ref:`readings-srtg-gate`).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = [
    "CycleConsistency",
    "squared_distances",
    "soft_nearest_neighbours",
    "nearest_frames",
    "cycle_consistency",
    "check_temperature",
]


class CycleConsistency(NamedTuple):
    """Result of :func:`cycle_consistency` for a batch of sequence pairs ``(A, B)``, each ``(B, T, C)``.

    Fields (``N`` = batch size, ``T`` = frames):
        weights_ab: ``(N, T, T)`` eq. 4 softmax weights of each frame of A over the frames of B.
        weights_ba: ``(N, T, T)`` the same from B over A.
        index_ab: ``(N, T)`` long, eq. 5: frame of B nearest to the soft match of ``a_t`` in B.
        index_ba: ``(N, T)`` long, frame of A nearest to the soft match of ``b_t`` in A.
        consistent_frames: ``(N, T)`` bool, ``index_ab == t`` and ``index_ba == t``.
        consistent: ``(N,)`` bool, every frame consistent in both directions (the SRTG gate).
        errors: ``(N, T)`` bool, temporal cyclic errors (``~consistent_frames``).
        soft_score: ``(N,)`` in [0, 1], differentiable: mean diagonal weight (module docstring).
    """

    weights_ab: torch.Tensor
    weights_ba: torch.Tensor
    index_ab: torch.Tensor
    index_ba: torch.Tensor
    consistent_frames: torch.Tensor
    consistent: torch.Tensor
    errors: torch.Tensor
    soft_score: torch.Tensor

    def detach(self) -> "CycleConsistency":
        """A copy whose tensors are detached from the autograd graph."""
        return CycleConsistency(*(t.detach() for t in self))


def _no_autocast(device: torch.device):
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()  # e.g. the meta device


def _prepare(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Check ``(N, T, C)`` shapes and cast both to float32 (float64 stays float64)."""
    for t, name in zip((a, b), names):
        if not isinstance(t, torch.Tensor) or t.dim() != 3:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a (batch, frames, channels) tensor; got {shape}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise ValueError(
            f"{names[0]} {tuple(a.shape)} and {names[1]} {tuple(b.shape)} must have the same batch size "
            "and channels (frames may differ)"
        )
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    return a.to(dtype), b.to(dtype)


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float, if it is a finite number > 0 (the ``tau`` of eq. 4), else ValueError."""
    t = float(temperature)
    if not t > 0 or t == float("inf"):
        raise ValueError(f"temperature={temperature!r} must be a finite number > 0 (1.0 in the paper)")
    return t


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_t - b_i||^2`` for ``a (N, T_a, C)``, ``b (N, T_b, C)`` -> ``(N, T_a, T_b)``, exact at 0.

    Inputs are cast to float32 (float64 kept) and autocast is off inside.
    """
    a, b = _prepare(a, b, ("a", "b"))
    with _no_autocast(a.device):
        # direct differences, not the mm expansion: exact 0 for identical frames at any scale
        return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").square()


def soft_nearest_neighbours(
    a: torch.Tensor, b: torch.Tensor, *, temperature: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 4: soft nearest neighbour in ``b`` of every frame of ``a``.

    Args:
        a: ``(N, T_a, C)`` query frames.
        b: ``(N, T_b, C)`` frames to match against.
        temperature: ``tau > 0`` in ``softmax_i(-||a_t - b_i||^2 / tau)`` (paper: 1).

    Returns:
        ``(b_tilde (N, T_a, C), weights (N, T_a, T_b))``, float32 (float64 if an input is float64);
        each row of ``weights`` sums to 1.
    """
    tau = check_temperature(temperature)
    a, b = _prepare(a, b, ("a", "b"))
    with _no_autocast(a.device):
        d2 = squared_distances(a, b)  # (N, T_a, T_b)
        weights = F.softmax(-d2 / tau, dim=-1)  # max-subtracted: stable for any magnitude
        b_tilde = torch.bmm(weights, b)  # (N, T_a, T_b) @ (N, T_b, C) -> (N, T_a, C)
    return b_tilde, weights


def nearest_frames(a_tilde: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ``argmin_i ||a_tilde_t - b_i||^2`` -> ``(N, T_a)`` long (ties: lowest index)."""
    return squared_distances(a_tilde, b).argmin(dim=-1)


def cycle_consistency(a: torch.Tensor, b: torch.Tensor, *, temperature: float = 1.0) -> CycleConsistency:
    """Cycle consistency of ``a`` and ``b`` (both ``(N, T, C)``) in both directions (eq. 4-5).

    See the module docstring for the definitions; returns a :class:`CycleConsistency`.
    Only ``weights_*`` and ``soft_score`` carry gradients.

    ``soft_score`` is 1 when every frame's softmax is concentrated on the frame at the same time in
    the other sequence (then every frame is consistent), near ``1/T`` when the sequences are
    unrelated, and near 0 when each frame is clearly closest to another time (e.g. B
    time-reversed). It is smooth in both inputs, so gradients flow into whatever produced A and B.
    ``temperature`` sharpens (< 1) or flattens (> 1) both the soft matches and this score.

    Numerics: squared distances come from ``torch.cdist`` without the matrix-multiply expansion
    (``||a||^2 + ||b||^2 - 2 a.b`` cancels catastrophically for features of magnitude 1e4: a frame's
    distance to itself would not be 0) and are squared afterwards; the softmax is ``F.softmax`` of
    negative distances (max-subtracted, so no overflow at any scale). All arithmetic runs in float32
    (float64 stays float64) with CUDA/CPU autocast switched off locally, so the functions are safe
    inside ``torch.autocast``; outputs are float32 (or float64). No Python loops over frames or
    samples. Ties in eq. 5 (identical frames) go to the lowest index (``argmin``), so a sequence
    with repeated frames is not consistent at the later copies.
    """
    tau = check_temperature(temperature)
    a, b = _prepare(a, b, ("a", "b"))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a {tuple(a.shape)} and b {tuple(b.shape)} must have the same number of frames")
    with _no_autocast(a.device):
        b_tilde, weights_ab = soft_nearest_neighbours(a, b, temperature=tau)  # (N, T, C), (N, T, T)
        a_tilde, weights_ba = soft_nearest_neighbours(b, a, temperature=tau)
        index_ab = nearest_frames(b_tilde, b)  # (N, T): where a_t lands in B
        index_ba = nearest_frames(a_tilde, a)  # (N, T): where b_t lands in A
        t = torch.arange(a.shape[1], device=a.device)  # (T,)
        consistent_frames = (index_ab == t) & (index_ba == t)  # (N, T)
        diag_ab = weights_ab.diagonal(dim1=1, dim2=2)  # (N, T): weight of a_t on b_t
        diag_ba = weights_ba.diagonal(dim1=1, dim2=2)
        soft_score = 0.5 * (diag_ab.mean(dim=1) + diag_ba.mean(dim=1))  # (N,)
    return CycleConsistency(
        weights_ab=weights_ab,
        weights_ba=weights_ba,
        index_ab=index_ab,
        index_ba=index_ba,
        consistent_frames=consistent_frames,
        consistent=consistent_frames.all(dim=1),
        errors=~consistent_frames,
        soft_score=soft_score,
    )
