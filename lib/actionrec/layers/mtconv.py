"""MTConv: multi-temporal convolution with a short and a long stream (MTNet, eq. 1-2, Fig. 2-3).

Paper: Stergiou & Poppe, "Right on Time: Multi-Temporal Convolutions for Human Action Recognition
in Videos" (AAAI 2021). Decisions from ``shared/papers/NOTES.md``.

Channel split (eq. 1), for a layer of ``C`` channels and ratio ``0.5 <= r <= 1``::

    C_s = floor(r * C)      short stream, full resolution      (B, C_s, T,   H,   W)
    C_l = C - C_s           long stream, half resolution       (B, C_l, T/2, H/2, W/2)

(the paper writes ``C_l = floor((1 - r) C)``; we take the remainder so no channel is lost: reading
:ref:`readings-mtnet-channel-split`.) Sizes halve with ``ceil``, so a size-1 dimension stays 1. An
MTConv takes and returns the pair ``(x_s, x_l)``; where the pair is split and joined is the network's
choice (MTNet: once, after the stem and in the head, or around every block; ``models/mtblocks.py``).

Data flow (eq. 2), for stride ``s`` and kernel ``k``::

    x_s ─ conv_s (k, stride s) → bn_s → relu ──────────────────────────────→ y_s  (T/s)
    x_l ─ conv_l (k, stride s) → bn_l ────────────┐
    x_s ─ pool (2s, ceil) → conv_s2l (1x1x1) → bn_s2l ─ + → relu ──────────→ y_l  (T/2s)

``pool`` is average pooling in repeat blocks and SoftPool in downsample blocks
(``lateral_pool="avg"|"soft"``). With stride ``s`` it pools by ``2s`` so the lateral lands on the
long stream's output grid (``ceil(ceil(T/2)/s) == ceil(T/2s)``). ``act=False`` drops both relus
(the last MTConv of a block, before the residual add).

Sub-streams (Fig. 3c/d, Table 2): ``groups = g`` splits into ``g_s = round(g r)`` grouped sub-streams in
the short stream and ``g_l = g - g_s`` in the long one (at least 1 each when that stream exists;
``g = 1`` means no grouping). The s->l lateral uses ``g_l`` groups; when ``g_l`` does not divide both
``C_s`` and ``C_l`` (e.g. r = 0.625, g = 8: 5x3 sub-streams with C_s = 5C/8), the lateral falls back to
``gcd(g_l, C_s, C_l)`` groups (the paper does not say; reading :ref:`readings-mtnet-lateral-groups`).
Short and long convs must divide exactly or a ``ValueError`` names r, g and the channels.

``r = 1`` has no long stream (``x_l`` is ``None``) and the module is exactly ``conv3d -> bn ->
relu`` (tested with copied weights). Implementation (exact pooling kernels, commuted average
laterals, 1x1x1 convs as matmuls on ``channels_last_3d``): :class:`MTConv`.

Departures from the official code (``network/MTnet.py`` of the SRTG repository): the lateral follows eq.
2 (``pool(a_s^{[i-1]})``, its own BN), not the official pooling of the short stream's output
(:ref:`readings-mtnet-lateral`); SoftPool is computed per channel (:ref:`readings-mtnet-softpool`). The
readings and departures, with their evidence: :mod:`actionrec.papers.readings`.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_choice
from .softpool import soft_pool3d
from .tiling import avg_pool3d_tiled, triple

__all__ = ["MTConv", "split_channels", "split_groups", "check_ratio", "conv1x1x1", "Pair"]

Pair = tuple[torch.Tensor, Optional[torch.Tensor]]


def conv1x1x1(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``; a dense 1x1x1 conv on a channels_last_3d tensor runs as one matmul instead.

    (B, C, T, H, W) in channels_last_3d is (B, T, H, W, C) in memory, so the 1x1x1 conv is
    ``F.linear`` over the last dimension: the same map with less per-call overhead than a conv3d
    call on small tensors. Anything else calls ``conv``.
    """
    if (
        conv.kernel_size == (1, 1, 1)
        and conv.stride == (1, 1, 1)
        and conv.groups == 1
        and conv.bias is None
        and x.permute(0, 2, 3, 4, 1).is_contiguous()
        and not x.is_contiguous()
    ):
        w = conv.weight.view(conv.out_channels, conv.in_channels)
        return F.linear(x.permute(0, 2, 3, 4, 1), w).permute(0, 4, 1, 2, 3)  # (B,T,H,W,C') -> (B,C',T,H,W)
    return conv(x)


def check_ratio(r: float) -> float:
    """Validate the channel ratio ``r`` (eq. 1: 0.5 <= r <= 1)."""
    r = float(r)
    if not (0.5 <= r <= 1.0):
        raise ValueError(f"r={r} must satisfy 0.5 <= r <= 1 (eq. 1: the short stream holds at least half the channels)")
    return r


def split_channels(channels: int, r: float) -> tuple[int, int]:
    """``(C_s, C_l) = (floor(r C), C - floor(r C))`` (eq. 1, remainder to the long stream)."""
    r = check_ratio(r)
    c_s = math.floor(r * channels + 1e-9)  # 1e-9: r*C such as 0.7*10 must not floor to 6
    if c_s < 1:
        raise ValueError(f"channels={channels} with r={r} leaves the short stream empty; use more channels")
    return c_s, channels - c_s


def split_groups(g: int, r: float) -> tuple[int, int]:
    """Sub-streams ``(g_s, g_l)``: ``g_s = round(g r)``, ``g_l = g - g_s``, each >= 1 if its stream exists.

    ``g = 1`` -> ``(1, 1)`` (no grouping). ``r = 1`` -> ``(g, 0)``. Rounding is half-up.
    """
    r = check_ratio(r)
    g = int(g)
    if g < 1:
        raise ValueError(f"g={g} (number of sub-streams) must be >= 1")
    if r == 1.0:
        return g, 0
    if g == 1:
        return 1, 1
    g_s = min(max(math.floor(g * r + 0.5), 1), g - 1)
    return g_s, g - g_s


class MTConv(nn.Module):
    """Multi-temporal convolution (eq. 2) on the stream pair ``(x_s, x_l)``.

    Args:
        in_channels, out_channels: combined channels C of both streams (split by ``r``, eq. 1).
        kernel_size: ``(T, H, W)`` kernel of both streams; padding is ``k // 2`` ("same").
        stride: int or ``(T, H, W)`` stride of both streams.
        r: channel ratio, ``0.5 <= r <= 1``; 1 = plain conv3d (no long stream).
        groups: number of sub-streams g (Fig. 3c/d); ``round(g r)`` short, the rest long.
        act: apply ReLU at the end of both streams (``False`` before a residual add).
        lateral_pool: ``"avg"`` (repeat blocks) or ``"soft"`` (SoftPool, downsample blocks).
        norm_layer, act_layer: classes, ``nn.BatchNorm3d`` and ``nn.ReLU`` by default.

    Input/output: ``(x_s (B, C_s_in, T, H, W), x_l (B, C_l_in, T2, H2, W2) or None)`` ->
    ``(y_s (B, C_s_out, T/s, ...), y_l (B, C_l_out, T2/s, ...) or None)``.

    Implementation: the streams are never split, concatenated or upsampled per layer. The lateral
    ``pool`` runs as an exact custom autograd function over non-overlapping windows
    (:func:`~actionrec.layers.tiling.avg_pool3d_tiled`; same values as ``F.avg_pool3d(ceil_mode=True)``
    / :func:`soft_pool3d`, tested) that keeps ``channels_last_3d`` tensors in that format.
    Average-pool laterals run as ``pool(conv_s2l(x_s))`` (linear maps commute; the pool then covers
    C_l instead of C_s channels; tested equal in values and gradients; :meth:`lateral`). On
    ``channels_last_3d`` tensors every dense 1x1x1 conv (lateral, bottleneck reduce/expand,
    shortcuts) runs as one ``F.linear`` over the channel dimension (:func:`conv1x1x1`, tested
    equal). Timings: ``benchmarks/speed.py``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size=(3, 3, 3),
        stride=1,
        r: float = 0.875,
        groups: int = 1,
        act: bool = True,
        lateral_pool: str = "avg",
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d,
        act_layer: Callable[..., nn.Module] = nn.ReLU,
    ):
        super().__init__()
        self.r = check_ratio(r)
        k = triple(kernel_size, "kernel_size")
        s = triple(stride, "stride")
        pad = tuple(kk // 2 for kk in k)
        check_choice("lateral_pool", lateral_pool, ("avg", "soft"))
        self.kernel_size, self.stride, self.lateral_pool = k, s, lateral_pool
        self.in_channels, self.out_channels = in_channels, out_channels
        self.cs_in, self.cl_in = split_channels(in_channels, r)
        self.cs_out, self.cl_out = split_channels(out_channels, r)
        self.g_s, self.g_l = split_groups(groups, r)
        self.groups = int(groups)

        def need(c: int, gg: int, what: str):
            if c % gg:
                raise ValueError(
                    f"MTConv({in_channels}->{out_channels}, r={r}, g={groups}): {what} has {c} channels, "
                    f"not divisible by its {gg} sub-streams; choose channels/width, r or g so that "
                    f"floor(r*C) divides by round(g*r) and the remainder by g-round(g*r)"
                )

        need(self.cs_in, self.g_s, "short-stream input")
        need(self.cs_out, self.g_s, "short-stream output")
        self.conv_s = nn.Conv3d(self.cs_in, self.cs_out, k, s, pad, groups=self.g_s, bias=False)
        self.bn_s = norm_layer(self.cs_out)
        self.has_long = self.r < 1.0
        if self.has_long:
            need(self.cl_in, self.g_l, "long-stream input")
            need(self.cl_out, self.g_l, "long-stream output")
            self.g_lat = math.gcd(self.g_l, math.gcd(self.cs_in, self.cl_out))
            self.conv_l = nn.Conv3d(self.cl_in, self.cl_out, k, s, pad, groups=self.g_l, bias=False)
            self.bn_l = norm_layer(self.cl_out)
            self.conv_s2l = nn.Conv3d(self.cs_in, self.cl_out, 1, groups=self.g_lat, bias=False)
            self.bn_s2l = norm_layer(self.cl_out)
            self.lateral_kernel = tuple(2 * ss for ss in s)  # halve T, H, W and follow the stride
        self.act = act_layer(inplace=True) if act else nn.Identity()

    # -- the lateral s -> l connection ------------------------------------------------------------
    def pool(self, x_s: torch.Tensor) -> torch.Tensor:
        """``pool`` of eq. 2: (B, C_s, T, H, W) -> (B, C_s, ceil(T/2s), ceil(H/2s), ceil(W/2s))."""
        k = self.lateral_kernel
        if self.lateral_pool == "soft":
            return soft_pool3d(x_s, k, k, ceil_mode=True)
        return avg_pool3d_tiled(x_s, k)

    def lateral(self, x_s: torch.Tensor) -> torch.Tensor:
        """``conv_s2l(pool(x_s))`` of eq. 2, before its BN: (B, C_s, T, H, W) -> (B, C_l, T/2s, ...).

        With average pooling the two linear maps commute (the 1x1x1 conv mixes channels at each
        position, the pool averages positions per channel), so it is computed as
        ``pool(conv_s2l(x_s))``: the pool then runs over C_l instead of C_s channels (2 instead of
        14 at r = 0.875, width 0.25). Same function; only the floating-point summation order
        differs (tested). SoftPool is not linear and keeps the order of eq. 2.
        """
        if self.lateral_pool == "avg" and self.conv_s2l.groups == 1:
            return avg_pool3d_tiled(conv1x1x1(self.conv_s2l, x_s), self.lateral_kernel)
        return conv1x1x1(self.conv_s2l, self.pool(x_s))

    def forward(self, x: Pair) -> Pair:
        x_s, x_l = x
        y_s = self.act(self.bn_s(conv1x1x1(self.conv_s, x_s)))
        if not self.has_long:
            return y_s, None
        if x_l is None:
            raise ValueError(f"MTConv with r={self.r} needs the long stream x_l; got None")
        y_l = self.bn_l(conv1x1x1(self.conv_l, x_l)) + self.bn_s2l(self.lateral(x_s))
        return y_s, self.act(y_l)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}->{self.out_channels}, r={self.r}, short {self.cs_in}->{self.cs_out} "
            f"(g={self.g_s})"
        )
        if self.has_long:
            s += f", long {self.cl_in}->{self.cl_out} (g={self.g_l}), lateral pool={self.lateral_pool}"
        return s
