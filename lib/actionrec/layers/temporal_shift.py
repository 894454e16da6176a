"""TSM: the temporal shift (a zero-parameter, zero-MAC temporal operation), as a function and a module.

Paper: Lin, Gan & Han, "TSM: Temporal Shift Module for Efficient Video Understanding" (ICCV 2019),
Sec. 3 and Fig. 1b-c; used here as the baseline of MixTConv (Shan et al., ``mixtconv.txt``; decisions
in ``shared/papers/NOTES.md``: "shift 1/8 of channels back, 1/8 forward, zero padded").

For ``C`` channels and ``fold = C // fold_div`` (``fold_div = 8``: 1/8 + 1/8 of the channels move)::

    out[:, c, t] = x[:, c, t + 1]   for c in [0, fold)            "shift left": frame t sees t+1
    out[:, c, t] = x[:, c, t - 1]   for c in [fold, 2 fold)       "shift right": frame t sees t-1
    out[:, c, t] = x[:, c, t]       for c in [2 fold, C)          unchanged
    (frames outside [0, T) are zeros: zero padding, not cyclic)

Data flow over time for the three channel groups (T = 4; ``0`` = zero padding)::

    channels [0, fold):        x1 x2 x3 0       ← moved one frame towards the past
    channels [fold, 2 fold):   0  x0 x1 x2      → moved one frame towards the future
    channels [2 fold, C):      x0 x1 x2 x3      unchanged

Two layouts:

* :func:`temporal_shift` ``(x, *, fold_div=8)``: the pure operation on the library's video layout
  ``(B, C, T, H, W) -> (B, C, T, H, W)`` (what notebooks plot).
* :class:`TemporalShift` ``(channels, num_segments, *, fold_div=8)``: the module the TSN-style 2D
  networks use (``actionrec.models.tsn``). Those fold the frames into the batch, so it takes
  ``(B*T, C, H, W)`` with ``T = num_segments`` (batch index ``b*T + t``, TSN's / TSM's ``(n t)``
  order) and returns the same shape; it views the input as ``(B, T, C, H, W)`` and applies
  :func:`temporal_shift` along T.

Equivalence: this is exactly MixTConv with one kernel-3 group and ``init="tsm"``
(``actionrec.layers.mixtconv``, tested bit for bit). MixTConv's default (the official code's) init
with one kernel-3 group is this shift mirrored in time (channels ``[0, fold)`` read t-1, the next
``fold`` t+1); with kernels 1/3/5/7 neither init is TSM.

Departures from the official code (``mit-han-lab/temporal-shift-module``, ``TemporalShift.shift``):
none in the values. The official code builds ``out = zeros_like(x)`` and writes three slices; so do
we. Its ``inplace`` variant and the "blockres" backbone surgery (``make_temporal_shift``) are not
reproduced: our TSN model places the module itself (``models/tsn.py``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from ..utils.checks import check_int

__all__ = ["temporal_shift", "TemporalShift", "check_fold_div", "check_tsn_input"]


def check_fold_div(fold_div) -> int:
    """``fold_div`` as an int >= 2 (1/fold_div of the channels shift each way; TSM uses 8), else ValueError."""
    return check_int("fold_div", fold_div, min_value=2)


def temporal_shift(x: torch.Tensor, *, fold_div: int = 8) -> torch.Tensor:
    """TSM shift of ``x (B, C, T, H, W)``: channels ``[0, C//fold_div)`` take frame t+1, the next
    ``C//fold_div`` take frame t-1, the rest stay; zero padded at the clip's ends. Same shape out.
    """
    fold_div = check_fold_div(fold_div)
    if x.dim() != 5:
        raise ValueError(f"temporal_shift: x must be (B, C, T, H, W); got shape {tuple(x.shape)}")
    fold = x.shape[1] // fold_div
    out = torch.zeros_like(x)
    out[:, :fold, :-1] = x[:, :fold, 1:]  # shift left: t <- t+1
    out[:, fold : 2 * fold, 1:] = x[:, fold : 2 * fold, :-1]  # shift right: t <- t-1
    out[:, 2 * fold :] = x[:, 2 * fold :]  # unchanged
    return out


class TemporalShift(nn.Module):
    """TSM shift on the TSN layout ``(B*T, C, H, W)`` with ``T = num_segments``; no parameters.

    Args:
        channels: expected ``C`` (checked at forward when given; ``None`` accepts any ``C``). Taken
            so the module has the same ``(channels, num_segments)`` signature as ``MixTConv``.
        num_segments: frames per clip ``T`` folded into the batch.
        fold_div: 1/fold_div of the channels shift each way (8 in TSM).
    """

    def __init__(self, channels: Optional[int], num_segments: int, *, fold_div: int = 8):
        super().__init__()
        check_int("channels", channels, min_value=1, optional=True)
        check_int("num_segments", num_segments, min_value=1)
        self.channels, self.num_segments, self.fold_div = channels, num_segments, check_fold_div(fold_div)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = check_tsn_input(x, self.channels, self.num_segments, "TemporalShift")
        t = self.num_segments
        x5 = x.view(nt // t, t, c, h, w).transpose(1, 2)  # (B*T, C, H, W) -> (B, T, C, H, W) -> (B, C, T, H, W)
        y5 = temporal_shift(x5, fold_div=self.fold_div)  # (B, C, T, H, W)
        return y5.transpose(1, 2).reshape(nt, c, h, w)  # (B, C, T, H, W) -> (B, T, C, H, W) -> (B*T, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_segments={self.num_segments}, fold_div={self.fold_div}"


def check_tsn_input(x: torch.Tensor, channels: Optional[int], num_segments: int, name: str) -> tuple[int, ...]:
    """Validate a TSN-layout input ``(B*T, C, H, W)`` of module ``name`` built for ``channels`` (None:
    any) and ``num_segments`` = T; return its shape ``(B*T, C, H, W)``."""
    if x.dim() != 4:
        raise ValueError(f"{name}: x must be (B*T, C, H, W) (frames folded into the batch); got {tuple(x.shape)}")
    nt, c, h, w = x.shape
    if nt % num_segments:
        raise ValueError(f"{name}: batch {nt} is not a multiple of num_segments={num_segments} (x is (B*T, C, H, W))")
    if channels is not None and c != channels:
        raise ValueError(f"{name}: x has {c} channels but the module was built with channels={channels}")
    return nt, c, h, w
