"""MixTConv: mixed depthwise temporal convolutions over channel groups (MSTNet's temporal operation).

Paper: Shan, Wang, Tang, Chen & Li, "MixTConv: Mixed Temporal Convolutional Kernels for Efficient
Action Recognition" (2020; slides in ``shared/papers/mixtconv.txt``, eq. 1-2). Official code:
``VDIGPKU/MixTConv`` (= ``shankyle/MixTConv``), ``ops/operations.py``, class ``MsGroupConv1d``.

The ``C`` channels are split into ``g = len(kernels)`` groups (:func:`mixtconv_split`: ``C // g``
each, the first group takes the remainder; at least one channel each); group ``m`` (``C_m``
channels) gets a depthwise 1-D temporal convolution with kernel ``k_m`` (eq. 1), the outputs are
concatenated (eq. 2)::

    Z^m[i, t] = sum_j F^m[i, t + j] W^m[i, (k_m - 1)/2 + j],   j in [-(k_m-1)/2, (k_m-1)/2]   (1)
    Z = Concat(Z^1, ..., Z^g)                                                              (2)

i.e. tap ``j`` of a kernel (index ``0 .. k_m - 1``, PyTorch's cross-correlation) reads frame
``t + d_m (j - (k_m - 1)/2)``: tap 0 the earliest frame. Dilation ``d_m`` spaces the taps; zero
padding keeps T. Default kernels {1, 3, 5, 7}. Parameters: ``sum_m C_m k_m`` (no bias); MACs per
clip: the same times ``T H W``.

Data flow, on the TSN layout the 2D networks use (frames folded into the batch)::

    x (B*T, C, H, W) → view (B, T, C, H, W) → (B, C, T, H, W)
        ├─ channels [0, C_1)          → depthwise conv (k_1,1,1), dilation (d_1,1,1) ─┐
        ├─ channels [C_1, C_1+C_2)    → depthwise conv (k_2,1,1), dilation (d_2,1,1) ─┤ concat
        ⋮                                                                             ⋮
        └─ last C_g channels          → depthwise conv (k_g,1,1), dilation (d_g,1,1) ─┘
      → (B, C, T, H, W) → (B, T, C, H, W) → (B*T, C, H, W)

Computed as one banded ``(T, T)`` matrix per channel (same values, tested; the conv form runs on
the ``meta`` device so GMACs count the operation's own cost; :class:`MixTConv`). Shapes:
``(B*T, C, H, W) -> (B*T, C, H, W)``, ``T = num_segments``; any T >= 1 (taps past the clip's ends
read zeros, as the official conv's zero padding).

Init (:class:`MixTConv`): ``"official"`` (default) is ``MsGroupConv1d.weight_init``: with
``fold = C_m // 8`` per group, kernel 1 identity; kernel 3 ``[:fold]`` reads t-1, ``[fold:2 fold]``
t+1; kernels 5 and 7 start as *sums* of the 2 / 3 frames on one side (taps ``[1,1,0,0,0]``,
``[1,1,1,0,0,0,0]`` and mirrored); the rest the centre. With kernels {1, 3, 5, 7} that moves
``3 groups x 2 x (C/4)/8 = 3C/16`` channels (TSM moves C/4), some by up to 3 frames, so MSTNet
does *not* start as TSM. ``"tsm"`` puts TSM's single ±1 shift in every group; with kernels
``(3,)`` it is :func:`~actionrec.layers.temporal_shift.temporal_shift` bit for bit (tested), the
official init with kernels ``(3,)`` is that shift mirrored in time. ``"identity"``, ``"random"``.

Departures from the official code: it hard-codes four groups (``x.split([c // 4] * 4)``, which
raises unless 4 divides C) with kernels 1/3/5/7 (and, in ``shankyle/MixTConv``, ``GroupConv1d``:
one kernel 3, 5 or 7 on all channels, the same init; our ``kernels=(k,)``); we take any odd kernels and dilations (the init's taps sit in index space, so with
dilation ``d`` they read frames ``t ± d ...``; for ``k >= 9`` the one-sided sum covers all
``(k - 1)/2`` taps, as for 5 and 7) and any C (remainder to the first group, MixConv's rule;
:ref:`readings-mixtconv-groups`). The placement (before each bottleneck's first 1x1 conv, residual
branch only: ``make_operations``, ``ms_group1douter``) is ``models/tsn.py``'s
(:ref:`readings-mixtconv-placement`). Departure from NOTES.md, which calls the official init
"TSM-like" and says MixTConv starts as TSM: the official code shows otherwise (above); its init is
the default, TSM's is ``init="tsm"`` (:ref:`readings-mixtconv-init`).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_choice, check_int
from .temporal_shift import check_fold_div, check_tsn_input

__all__ = ["MixTConv", "mixtconv_split", "INITS"]

#: The inits of :class:`MixTConv` (module docstring; default ``"official"``).
INITS = ("official", "tsm", "identity", "random")


def mixtconv_split(channels: int, groups: int) -> list[int]:
    """Channels per group: ``channels // groups`` each, the first group takes the remainder (MixConv)."""
    sizes = [channels // groups] * groups
    sizes[0] += channels - sum(sizes)
    return sizes


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class MixTConv(nn.Module):
    """Mixed depthwise temporal convolution on ``(B*T, C, H, W)``, ``T = num_segments``.

    Args:
        channels: ``C``.
        num_segments: frames per clip ``T`` folded into the batch.
        kernels: odd temporal kernel sizes, one channel group each (default ``(1, 3, 5, 7)``).
        dilations: temporal dilation per kernel (default all 1), same length as ``kernels``.
        init: ``"official"`` | ``"tsm"`` | ``"identity"`` | ``"random"`` (below).
        fold_div: for ``init="official"`` / ``"tsm"``: ``1/fold_div`` of each group's channels read
            each side (the official ``n_div``, 8).

    Computed as one batched matrix product: the depthwise temporal convs of all groups are a banded
    ``(T, T)`` matrix per channel (:meth:`temporal_matrix`, built from the weights), applied with
    ``einsum("cts,bschw->btchw")`` directly on the ``(B, T, C, H, W)`` view of the TSN layout (no
    transpose). Same values as one depthwise ``F.conv3d`` per kernel group (tested against a naive
    per-channel loop), at ``C T^2 H W`` multiply-adds instead of ``sum_m C_m k_m T H W``; on the
    ``meta`` device (complexity counting) the conv form :meth:`forward_conv` runs instead, so GMACs
    report the operation's own cost. The weights are plain ``nn.Parameter`` s ``weight{m}`` of shape
    ``(C_m, 1, k_m, 1, 1)`` (not ``nn.Conv3d`` modules, so a network's ``kaiming_init_`` leaves
    MixTConv's init alone).

    Init (``init=``; per group ``m`` with ``mid = (k_m - 1) // 2`` and ``f_m = C_m // fold_div``,
    ``fold_div = 8``; ``k_m = 1`` groups start as the identity in every init but ``"random"``):

    * ``"official"`` (default; ``MsGroupConv1d.weight_init`` of the official code, run there with
      ``--n_div 8``): channels ``[0, f_m)`` weight 1 on every tap left of the centre (taps
      ``0 .. mid-1``: the sum of frames ``t - mid d .. t - d``; kernel 3 reads t-1), channels
      ``[f_m, 2 f_m)`` on every tap right of it (frames ``t + d .. t + mid d``), the rest the
      centre tap (own frame); all other taps 0. Kernels 1/3/5/7 at ``C = 64``: taps ``[1]``;
      ``[1,0,0]``/``[0,0,1]``/``[0,1,0]``; ``[1,1,0,0,0]``/``[0,0,0,1,1]``/``[0,0,1,0,0]``;
      ``[1,1,1,0,0,0,0]``/``[0,0,0,0,1,1,1]``/``[0,0,0,1,0,0,0]`` for 2/2/12 channels each. Chosen
      as the default because it is what the paper's networks were trained from.
    * ``"tsm"`` (TSM's shift in every group): channels ``[0, f_m)`` copy frame
      ``t + d`` (tap ``mid + 1``), ``[f_m, 2 f_m)`` frame ``t - d`` (tap ``mid - 1``), the rest their
      own frame, in every group with ``k_m >= 3``. Kernels ``(3,)`` (one group of all C channels)
      then reproduce :func:`~actionrec.layers.temporal_shift.temporal_shift` bit for bit, zero
      padding included (tested); with several groups it is *not* TSM (kernels 1/3/5/7 move 3/16
      of the channels, TSM 1/4). The official init differs in the direction of each fold and, for
      ``k_m >= 5``, in reading the sum of ``mid`` frames instead of one.
    * ``"identity"``: centre tap 1, others 0 (the module starts as the identity).
    * ``"random"``: PyTorch's default conv init (Kaiming uniform, ``a = sqrt(5)``).
    """

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        kernels: Sequence[int] = (1, 3, 5, 7),
        dilations: Optional[Sequence[int]] = None,
        init: str = "official",
        fold_div: int = 8,
    ):
        super().__init__()
        check_int("channels", channels, min_value=1)
        check_int("num_segments", num_segments, min_value=1)
        try:
            kernels = tuple(kernels)
        except TypeError:
            raise ValueError(f"kernels={kernels!r} must be a sequence of odd ints >= 1, e.g. (1, 3, 5, 7)") from None
        if not kernels or not all(_is_int(k) and k >= 1 and k % 2 == 1 for k in kernels):
            raise ValueError(f"kernels={kernels!r} must be a non-empty sequence of odd ints >= 1, e.g. (1, 3, 5, 7)")
        if dilations is None:
            dilations = (1,) * len(kernels)
        try:
            dilations = tuple(dilations)
        except TypeError:
            raise ValueError(f"dilations={dilations!r} must be None or a sequence of ints >= 1") from None
        if len(dilations) != len(kernels) or not all(_is_int(d) and d >= 1 for d in dilations):
            raise ValueError(
                f"dilations={dilations!r} must be None or {len(kernels)} ints >= 1 (one per kernel in kernels={kernels})"
            )
        if channels < len(kernels):
            raise ValueError(f"channels={channels} must be >= len(kernels)={len(kernels)} (one channel group per kernel)")
        check_choice("init", init, INITS)
        self.channels, self.num_segments = channels, num_segments
        self.kernels, self.dilations, self.init = kernels, dilations, init
        self.fold_div = check_fold_div(fold_div)
        self.splits = tuple(mixtconv_split(channels, len(kernels)))
        for m, (c, k) in enumerate(zip(self.splits, kernels)):
            self.register_parameter(f"weight{m}", nn.Parameter(torch.empty(c, 1, k, 1, 1)))
        self.reset_parameters()

    def weights(self) -> list[torch.Tensor]:
        """The per-group weights ``(C_m, 1, k_m, 1, 1)``, in channel order."""
        return [getattr(self, f"weight{m}") for m in range(len(self.kernels))]

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for w, k in zip(self.weights(), self.kernels):
            if self.init == "random":
                nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # nn.Conv3d's default
                continue
            w.zero_()
            c, mid = w.shape[0], (k - 1) // 2
            w[:, 0, mid] = 1.0  # identity: own frame
            if k == 1 or self.init == "identity":
                continue
            fold = c // self.fold_div
            w[: 2 * fold, 0, mid] = 0.0
            if self.init == "official":  # MsGroupConv1d.weight_init
                w[:fold, 0, :mid] = 1.0  # taps 0 .. mid-1: the sum of frames t - mid d .. t - d
                w[fold : 2 * fold, 0, mid + 1 :] = 1.0  # taps mid+1 .. k-1: frames t + d .. t + mid d
            else:  # "tsm": TSM's shift in every group
                w[:fold, 0, mid + 1] = 1.0  # frame t + d (TSM's shift left)
                w[fold : 2 * fold, 0, mid - 1] = 1.0  # frame t - d (TSM's shift right)

    def temporal_matrix(self, frames: Optional[int] = None) -> torch.Tensor:
        """The depthwise temporal convs as one banded matrix per channel: ``M (C, T, T)`` with
        ``y[.., t, c] = sum_s M[c, t, s] x[.., s, c]`` (zero padding = the missing taps).

        Tap ``j`` of group ``m`` sits at offset ``j d_m - d_m (k_m - 1) // 2`` (as ``F.conv3d`` with
        that padding and dilation), i.e. ``M[c] = sum_j w[c, j] S_offset`` with ``S_o`` the 0/1 matrix
        of the ``o``-th diagonal. Built from the weights on every call (differentiable, tiny).
        """
        t = self.num_segments if frames is None else frames
        mats = []
        for w, c, k, d in zip(self.weights(), self.splits, self.kernels, self.dilations):
            offs = [j * d - d * (k - 1) // 2 for j in range(k)]
            shifts = torch.stack([torch.diag(torch.ones(t - abs(o), device=w.device, dtype=w.dtype), o)
                                  if abs(o) < t else torch.zeros(t, t, device=w.device, dtype=w.dtype)
                                  for o in offs])  # (k, T, T): S[j, t, s] = 1 iff s == t + offset_j
            mats.append(torch.einsum("cj,jts->cts", w.view(c, k), shifts))  # (C_m, T, T)
        return torch.cat(mats)  # (C, T, T)

    def forward_conv(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 1-2 literally, one depthwise ``F.conv3d`` per kernel group, on ``(B, C, T, H, W)``.

        Same values as :meth:`forward_video`; used on the ``meta`` device so that
        ``actionrec.analysis.complexity.count_macs`` counts the operation's own ``sum_m C_m k_m T H W``
        multiply-adds rather than those of the faster matrix form.
        """
        outs, start = [], 0
        for w, c, k, d in zip(self.weights(), self.splits, self.kernels, self.dilations):
            xm = x[:, start : start + c]  # (B, C_m, T, H, W)
            outs.append(F.conv3d(xm, w, padding=(d * (k - 1) // 2, 0, 0), dilation=(d, 1, 1), groups=c))
            start += c
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)  # (B, C, T, H, W)

    def forward_video(self, x: torch.Tensor) -> torch.Tensor:
        """The same operation on the video layout ``(B, C, T, H, W) -> (B, C, T, H, W)``."""
        if x.device.type == "meta":
            return self.forward_conv(x)
        return torch.einsum("cts,bcshw->bcthw", self.temporal_matrix(x.shape[2]).to(x.dtype), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = check_tsn_input(x, self.channels, self.num_segments, "MixTConv")
        t = self.num_segments
        if x.device.type == "meta":  # complexity counting: the conv form (see forward_conv)
            x5 = x.view(nt // t, t, c, h, w).transpose(1, 2)  # (B*T, C, H, W) -> (B, C, T, H, W)
            return self.forward_conv(x5).transpose(1, 2).reshape(nt, c, h, w)  # -> (B*T, C, H, W)
        x5 = x.view(nt // t, t, c, h, w)  # (B*T, C, H, W) -> (B, T, C, H, W), no copy
        y5 = torch.einsum("cts,bschw->btchw", self.temporal_matrix().to(x.dtype), x5)  # (B, T, C, H, W)
        return y5.reshape(nt, c, h, w)  # -> (B*T, C, H, W)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, num_segments={self.num_segments}, kernels={self.kernels}, "
            f"dilations={self.dilations}, splits={self.splits}, init={self.init!r}"
        )
