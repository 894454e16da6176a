"""SRTG: Squeeze and Recursion Temporal Gate (Stergiou & Poppe, "Learn to cycle", Sec. 3, Fig. 2-5).

Paper: Stergiou & Poppe, "Learn to cycle: Time-consistent feature discovery for action
recognition" (Pattern Recognition Letters 2021). Decisions from ``shared/papers/NOTES.md``.

Squeeze and Recursion (Sec. 3.1, :class:`SqueezeRecursion`, reused here, ``mode="lstm"``) summarises
each frame by a spatial average and runs a 2-layer LSTM over time. The temporal gate (Sec. 3.2)
fuses the LSTM output back into the features only when the squeezed features ``pool(a)`` and the
LSTM output ``a*`` are cycle-consistent (eq. 4-5, both directions, see
:mod:`actionrec.layers.cycle_consistency`). Data flow::

    x (B, C, T, H, W)
      │
      ├─ sr.recur: squeeze (mean over H, W) ─> pooled (B, T, C) ─> 2-layer LSTM ─> a_star (B, T, C)
      │                                           │                                   │
      │                                           └── cycle_consistency(pooled, a_star) ──┘   eq. 4-5
      │                                                  │
      │                            consistent (B,) bool,  soft_score s (B,) in [0, 1]
      │                                                  │
      ├─ sr.fuse(x, a_star) = x * (1 + a_star)  ("residual"; "mul": x * a_star), a_star over H, W
      │
      └─> out (B, C, T, H, W):
            gate="hard"   out_b = fuse_b if consistent_b else x_b     the paper (per sample, no loop)
            gate="soft"   out   = x + s * (fuse - x)                   differentiable in s (ours)
            gate="open"   out   = fuse                                 plain Squeeze and Recursion
            gate="closed" out   = x                                    no SRTG (LSTM not run)

Shapes: input and output ``(B, C, T, H, W)``; ``pooled``, ``a_star`` ``(B, T, C)``; decisions ``(B,)``.

LSTM input apart from the fused tensor (``forward(x, source)``, SRTG's Top placement, Sec. 3.3:
"Activations of the first convolution are used by the LSTM, with fused features being used by the
final convolution")::

    source (B, C, T_s, H_s, W_s) ─ sr.recur ─> pooled, a_star (B, T_s, C)
        ─ if T_s != T: adaptive average pool over time, (B, T_s, C) -> (B, T, C), both of them
        ─ cycle_consistency(pooled, a_star), gate ─> x (B, C, T, H, W) fused as above

Where a strided convolution lies between the two (T = ceil(T_s / 2)), each frame of ``pooled`` and
``a*`` becomes the mean of the frames it covers (``F.adaptive_avg_pool1d``: pairs of frames for an
even ``T_s``), so the gate compares and fuses at the fused tensor's time resolution. The paper does
not say how the two resolutions are matched; this is our reading
(:ref:`readings-srtg-time-match`). What each forward decided (``module.last``, a
:class:`GateRecord`), how the gain is applied and how gradients flow under each gate: :class:`SRTGate`.

Departures from the official code, whose gate can never open: the paper's eq. 4-5 and the
open-iff-consistent gate, which the tests show opening on consistent inputs and closing on
time-reversed or shuffled ones (:ref:`readings-srtg-gate`); the soft gate is ours
(:ref:`readings-srtg-soft-gate`); fusion defaults to ``"residual"``
(``x * (1 + a*)``; ``fusion="mul"`` is the official multiplication,
:ref:`readings-srtg-sr-fusion`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_choice, check_int
from .cycle_consistency import CycleConsistency, check_temperature, cycle_consistency
from .squeeze_recursion import SqueezeRecursion

__all__ = ["SRTGate", "GateRecord", "SqueezeRecursion", "GATES", "PLACEMENTS", "srt_gates", "gate_stats", "pool_time"]

#: The gate modes (module docstring): the paper's ``"hard"``, our ``"soft"``, always ``"open"`` / ``"closed"``.
GATES = ("hard", "soft", "open", "closed")
#: Where a residual block holds its gate (Fig. 2b).
PLACEMENTS = ("start", "top", "mid", "end", "res", "final")


def pool_time(seq: torch.Tensor, frames: int) -> torch.Tensor:
    """``seq (B, T_s, C)`` average-pooled over time to ``(B, frames, C)`` (``F.adaptive_avg_pool1d``:
    frame ``t`` is the mean of input frames ``floor(t T_s / frames) .. ceil((t + 1) T_s / frames) - 1``);
    ``seq`` itself when ``T_s == frames``."""
    if seq.shape[1] == frames:
        return seq
    return F.adaptive_avg_pool1d(seq.transpose(1, 2), frames).transpose(1, 2)  # (B, C, T_s) -> (B, C, frames)


class GateRecord(NamedTuple):
    """What an :class:`SRTGate` decided in its last forward (all tensors detached).

    Attributes:
        open: ``(B,)`` bool, the paper's decision (:class:`SRTGate` for ``"soft"``/``"open"``/``"closed"``).
        score: ``(B,)`` float, weight of the fused features in the output, in [0, 1].
        consistency: the :class:`CycleConsistency` of ``(pooled, a_star)``, or ``None``.
        pooled: ``(B, T, C)`` the squeezed features ``pool(a)`` the gate compared (``None`` for
            ``"closed"``, which computes nothing); for plotting them as a trajectory. T is the fused
            tensor's: pooled over time (:func:`pool_time`) when the LSTM read a longer ``source``.
        a_star: ``(B, T, C)`` the LSTM output ``a*`` (likewise; ``None`` for ``"closed"``).
    """

    open: torch.Tensor
    score: torch.Tensor
    consistency: Optional[CycleConsistency]
    pooled: Optional[torch.Tensor] = None
    a_star: Optional[torch.Tensor] = None


class SRTGate(nn.Module):
    """Squeeze and Recursion with a cycle-consistency temporal gate; ``(B, C, T, H, W)`` in and out.

    Args:
        channels: C of the input (also the LSTM hidden size).
        mode: recurrent cell of the Squeeze and Recursion, ``"lstm"`` (paper) or ``"gru"``.
        gate: ``"hard"`` (paper: fuse iff cycle-consistent), ``"soft"`` (blend by the soft score),
            ``"open"`` (always fuse) or ``"closed"`` (identity); can be changed after construction.
        temperature: ``tau > 0`` of the eq. 4 softmax (paper: 1).
        fusion: ``"residual"`` (``x * (1 + a*)``, default) or ``"mul"`` (``x * a*``, official code).

    Attributes:
        sr: the :class:`SqueezeRecursion` (its ``recur`` and ``fuse`` are used as they are).
        record: keep a detached :class:`GateRecord` of each forward in ``last`` (default True).
        last: the record of the latest forward, ``None`` before the first one.

    Inspection: after each forward, ``module.last`` is a detached :class:`GateRecord`
    ``(open (B,) bool, score (B,), consistency, pooled (B, T, C), a_star (B, T, C))`` where ``score``
    is the weight actually given to the fused features (``out = x + score * (fuse - x)``: 1./0. for
    open/closed samples of the hard gate, ``s`` for the soft gate) and ``open`` is the paper's hard
    decision (forced True for ``"open"``, False for ``"closed"``; for ``"soft"`` it is what the hard
    gate would have decided). ``consistency`` is the full :class:`CycleConsistency` (``None`` for
    ``"closed"``, which runs nothing). Set ``module.record = False`` to skip it (and, for ``"open"``,
    the consistency computation). The record is an attribute of the module: no global state.

    Cost: ``sr.fuse`` is evaluated on a ones tensor to get the per-``(B, C, T)`` gain (both fusions
    are ``x`` times a gain: ``1 + a*`` or ``a*``), the gate acts on that gain, and the full
    ``(B, C, T, H, W)`` tensor is multiplied once (not ``torch.where`` or a blend over two full
    tensors). Outputs are bit-identical to ``sr.fuse(x, a_star)`` for open samples and to ``x`` for
    closed ones (tested).

    Gradients: with the hard gate the LSTM only learns from samples whose gate opened (the decision
    is a boolean); the soft gate passes gradients to the LSTM both through the fused features and
    through ``s``. The consistency is computed in float32 with autocast off, so the gate is the same
    under mixed precision; the output keeps ``x``'s dtype (the gain is cast to it).
    """

    def __init__(
        self,
        channels: int,
        *,
        mode: str = "lstm",
        gate: str = "hard",
        temperature: float = 1.0,
        fusion: str = "residual",
    ):
        super().__init__()
        channels = check_int("channels", channels, min_value=1)
        self.sr = SqueezeRecursion(channels, mode=mode, fusion=fusion)
        self.gate = gate
        self.temperature = temperature
        self.record = True
        self.last: Optional[GateRecord] = None

    @property
    def gate(self) -> str:
        return self._gate

    @gate.setter
    def gate(self, value: str) -> None:
        self._gate = check_choice("gate", value, GATES)

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        try:
            self._temperature = check_temperature(value)
        except (TypeError, ValueError):
            raise ValueError(f"temperature={value!r} must be a finite number > 0 (1.0 in the paper)") from None

    def decide(
        self, pooled: torch.Tensor, a_star: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, Optional[CycleConsistency]]:
        """Gate decision from ``pooled``, ``a_star`` (both ``(B, T, C)``).

        Returns ``(open (B,) bool, score (B,) in [0, 1], consistency)``; ``score`` is the weight of the
        fused features (differentiable for ``"soft"``), in the compute dtype (float32/float64).
        """
        batch, device = pooled.shape[0], pooled.device
        if self.gate == "closed":
            return (
                torch.zeros(batch, dtype=torch.bool, device=device),
                torch.zeros(batch, device=device),
                None,
            )
        if self.gate == "open":
            cc = None
            if self.record:
                with torch.no_grad():
                    cc = cycle_consistency(pooled, a_star, temperature=self.temperature)
            return torch.ones(batch, dtype=torch.bool, device=device), torch.ones(batch, device=device), cc
        if self.gate == "hard":
            # boolean decision: no gradient through the consistency test
            cc = cycle_consistency(pooled.detach(), a_star.detach(), temperature=self.temperature)
            return cc.consistent, cc.consistent.to(cc.soft_score.dtype), cc
        cc = cycle_consistency(pooled, a_star, temperature=self.temperature)  # "soft"
        return cc.consistent, cc.soft_score, cc

    def forward(self, x: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Gate and fuse ``x (B, C, T, H, W)``; the LSTM reads ``source (B, C, T_s, H_s, W_s)`` (default
        ``x``), its ``pooled`` and ``a*`` average-pooled over time to ``T`` when ``T_s != T``
        (:func:`pool_time`; module docstring)."""
        c = self.sr.rnn.input_size
        for name, t in (("x", x), ("source", source)):
            if t is not None and (t.dim() != 5 or t.shape[1] != c or t.shape[0] != x.shape[0]):
                raise ValueError(f"SRTGate({c}) expects {name} of shape (B, {c}, T, H, W) with the batch of x; "
                                 f"got {tuple(t.shape)}")
        if self.gate == "closed":
            if self.record:
                self.last = GateRecord(
                    torch.zeros(x.shape[0], dtype=torch.bool, device=x.device),
                    torch.zeros(x.shape[0], device=x.device),
                    None,
                )
            return x
        pooled, a_star = self.sr.recur(x if source is None else source)  # (B, T_s, C) each
        pooled, a_star = pool_time(pooled, x.shape[2]), pool_time(a_star, x.shape[2])  # (B, T, C) each
        opened, score, cc = self.decide(pooled, a_star)
        # both fusions are x times a gain: fuse(x, a*) = x * fuse(1, a*); get the gain on a
        # (B, C, T, 1, 1) tensor and touch the full (B, C, T, H, W) tensor once
        gain = self.sr.fuse(x.new_ones(1, 1, 1, 1, 1), a_star)  # (B, T, C) -> (B, C, T, 1, 1)
        if self.gate == "hard":
            gain = torch.where(opened[:, None, None, None, None], gain, 1.0)  # closed: x * 1 == x exactly
        elif self.gate == "soft":
            s = score.to(gain.dtype)[:, None, None, None, None]  # (B,) -> (B, 1, 1, 1, 1)
            gain = 1 + s * (gain - 1)  # x * gain == x + s * (fuse(x, a*) - x)
        out = x * gain.to(x.dtype)  # (B, C, T, H, W); "open": == sr.fuse(x, a_star) exactly
        if self.record:
            self.last = GateRecord(opened.detach(), score.detach(), None if cc is None else cc.detach(),
                                   pooled.detach(), a_star.detach())
        return out

    def extra_repr(self) -> str:
        return f"gate={self.gate!r}, temperature={self.temperature}"


def srt_gates(model: nn.Module) -> list[tuple[str, SRTGate]]:
    """``[(module name, SRTGate), ...]`` of ``model`` in registration (forward) order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, SRTGate)]


@torch.no_grad()
def gate_stats(model: nn.Module, batches, *, max_batches: Optional[int] = None) -> dict[str, dict[str, float]]:
    """How each :class:`SRTGate` of ``model`` decided over ``batches`` (e.g. a test DataLoader).

    Runs ``model`` (switched to eval mode, on the device of its parameters) on every batch
    (``(clips, labels)`` pairs or bare clip tensors) and returns, per gate name, the fraction of clips
    whose gate was open (``"open"``: :class:`GateRecord`'s ``open``, i.e. the paper's hard decision for
    ``"hard"`` and ``"soft"`` gates, always 1 for ``"open"`` and 0 for ``"closed"``), the mean weight
    given to the fused features (``"score"``), the fraction of cycle-consistent clips (``"consistent"``:
    what the hard gate would decide, whatever the gate mode) and of cycle-consistent frames
    (``"consistent_frames"``); the last two are NaN for a ``"closed"`` gate, which computes nothing.
    Raises ``ValueError`` when ``model`` has no SRTGate.
    """
    gates = srt_gates(model)
    if not gates:
        raise ValueError(f"gate_stats: {type(model).__name__} has no SRTGate (was it built with srtg=None?)")
    for _, g in gates:
        g.record = True
    model.eval()
    device = next(model.parameters()).device
    sums = {n: {"open": 0.0, "score": 0.0, "consistent": 0.0, "consistent_frames": 0.0, "clips_checked": 0}
            for n, _ in gates}
    clips = 0
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        model(x.to(device))
        clips += x.shape[0]
        for name, g in gates:
            rec, acc = g.last, sums[name]
            acc["open"] += rec.open.float().sum().item()
            acc["score"] += rec.score.float().sum().item()
            if rec.consistency is not None:
                acc["consistent"] += rec.consistency.consistent.float().sum().item()
                acc["consistent_frames"] += rec.consistency.consistent_frames.float().mean(1).sum().item()
                acc["clips_checked"] += x.shape[0]
    if clips == 0:
        raise ValueError("gate_stats: batches is empty")
    nan = float("nan")
    return {n: {"open": a["open"] / clips, "score": a["score"] / clips,
                "consistent": a["consistent"] / a["clips_checked"] if a["clips_checked"] else nan,
                "consistent_frames": a["consistent_frames"] / a["clips_checked"] if a["clips_checked"] else nan}
            for n, a in sums.items()}
