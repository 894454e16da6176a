"""MTBlocks (MTNet, Stergiou & Poppe, AAAI 2021, Fig. 3; "MTBlock variants" in Sec. 3).

The blocks of :mod:`actionrec.models.mtnet`, built from :class:`~actionrec.layers.mtconv.MTConv`
(eq. 1-2). Each block is a residual ``branch`` (its MTConvs) plus a ``shortcut``. The paper leaves
three choices open; each is an option here (the network's docstring says which is the default and
why; ``benchmarks/complexity.py --readings`` compares all eight combinations with Table 3):

* Downsample block (Sec. "Downsample blocks"), ``downsample=``:
  ``"bottleneck"`` (:class:`DownsampleMTBlock`): MTConv 1x1x1 in→out/2 → 3x3x3 out/2→out/2 (stride)
  → 1x1x1 out/2→out; ``"multiplexer"`` (:class:`MultiplexerMTBlock`): "two 1x1x1 convolutions at
  the beginning ... a feature amplification, similar to Chen et al. (2018)" — MF-Net's multiplexer
  (``cypw/PyTorch-MFNet``, ``MF_UNIT``: ``x + conv_i2(conv_i1(x))``, 1x1x1 in→mid/4→in) then 3x3x3
  in→mid (stride) and 1x1x1 mid→out: the "four MTConvs" of Fig. 3's caption.
* Squeeze and Recursion (``sr_layer`` of the blocks): inside every repeat block ("4 x Conv + 2 x
  GRU"), on the branch output before the residual add (where the official code puts it), or none
  (the network then applies it per stage).
* Streams (``merge=``): ``False`` — blocks take and return the pair ``(x_s, x_l)``, residuals per
  stream (Table 1: "long stream outputs are decreased by a factor 2"); ``True`` — blocks take and
  return one tensor (MTConvs work "at the layer level, not as two pathways throughout a network",
  Sec. 3): :func:`split_streams` → branch → :func:`join_streams`, residual on the joined tensor::

      x (B, C, T, H, W) ─ split: x_s = x[:, :C_s], x_l = pool2(x[:, C_s:]) ─ branch ─ join ─ + ─ relu
                        └──────────────── shortcut (identity, or pool + 1x1x1 (g groups) + bn) ─┘

  ``join``: the long output upsampled to the short one's size (nearest) and concatenated.
  ``pool2``: SoftPool in downsample blocks, average pooling in repeat blocks (as their laterals).

With ``r = 1`` (no long stream) split and join are the identity, so both stream readings give the
same network, and a repeat block is a plain residual 3D block (tested). Departures from the
official code (``alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates``, ``network/MTnet.py``):
it puts the multiplexer (1x1x1 in→width→in, width = planes / g, no add) and a GRU pair in *every*
block and no SoftPool; we follow the paper's text (multiplexer in downsample blocks, MF-Net widths;
:ref:`readings-mtnet-official-blocks`).
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.mtconv import MTConv, Pair, conv1x1x1, split_channels, split_groups
from ..layers.softpool import soft_pool3d
from ..layers.tiling import avg_pool3d_tiled
from .init import round_channels

__all__ = [
    "split_streams",
    "join_streams",
    "MTShortcut",
    "MergedShortcut",
    "MTStageSR",
    "DownsampleMTBlock",
    "MultiplexerMTBlock",
    "RepeatMTBlock",
]

Streams = Union[Pair, torch.Tensor]


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    cl = t.is_contiguous(memory_format=torch.channels_last_3d) and not t.is_contiguous()
    return torch.channels_last_3d if cl else torch.contiguous_format


def split_streams(x: torch.Tensor, c_s: int, pool: str = "soft") -> Pair:
    """``x (B, C, T, H, W)`` → ``(x_s (B, C_s, T, H, W), x_l (B, C - C_s, ⌈T/2⌉, ⌈H/2⌉, ⌈W/2⌉))``.

    The long part is pooled by 2 with SoftPool (``pool="soft"``) or average pooling (``"avg"``);
    ``c_s == C`` (r = 1) gives ``(x, None)``. Both parts keep ``x``'s memory format.
    """
    if c_s == x.shape[1]:
        return x, None
    fmt = _memory_format(x)
    x_s = x[:, :c_s].contiguous(memory_format=fmt)  # (B, C_s, T, H, W)
    x_l = x[:, c_s:].contiguous(memory_format=fmt)  # (B, C_l, T, H, W)
    if pool == "soft":
        return x_s, soft_pool3d(x_l, 2, 2, ceil_mode=True)  # (B, C_l, T/2, H/2, W/2)
    return x_s, avg_pool3d_tiled(x_l, (2, 2, 2))


def join_streams(pair: Pair) -> torch.Tensor:
    """``(y_s (B, C_s, T, H, W), y_l (B, C_l, T', H', W'))`` → ``(B, C_s + C_l, T, H, W)``: ``y_l``
    upsampled to ``y_s``'s size (nearest) and concatenated after ``y_s``; ``y_l = None`` → ``y_s``."""
    y_s, y_l = pair
    if y_l is None:
        return y_s
    up = F.interpolate(y_l, size=y_s.shape[2:], mode="nearest")  # (B, C_l, T, H, W)
    return torch.cat([y_s, up], dim=1).contiguous(memory_format=_memory_format(y_s))


def _add_relu(a: Pair, b: Pair) -> Pair:
    """Residual add per stream, then relu (in place on the fresh sums)."""
    y_s = F.relu_(a[0] + b[0])
    y_l = None if a[1] is None else F.relu_(a[1] + b[1])
    return y_s, y_l


def _pool_stride(x: torch.Tensor, stride: tuple) -> torch.Tensor:
    return x if max(stride) == 1 else soft_pool3d(x, stride, stride, ceil_mode=True)


class MTShortcut(nn.Module):
    """Projection shortcut per stream (``merge=False``): SoftPool(stride) → conv 1x1x1 → bn.

    ``(x_s, x_l) -> (bn_s(conv_s(pool(x_s))), bn_l(conv_l(pool(x_l))))``; the convs use the
    stream's sub-stream groups. No lateral: the s->l path lives in the residual branch.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride, r: float, g: int = 1):
        super().__init__()
        (cs_in, cl_in), (cs_out, cl_out) = split_channels(in_channels, r), split_channels(out_channels, r)
        g_s, g_l = split_groups(g, r)
        self.stride = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        self.conv_s = nn.Conv3d(cs_in, cs_out, 1, groups=g_s, bias=False)
        self.bn_s = nn.BatchNorm3d(cs_out)
        self.has_long = r < 1
        if self.has_long:
            self.conv_l = nn.Conv3d(cl_in, cl_out, 1, groups=g_l, bias=False)
            self.bn_l = nn.BatchNorm3d(cl_out)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return _pool_stride(x, self.stride)

    def forward(self, x: Pair) -> Pair:
        x_s, x_l = x
        y_s = self.bn_s(conv1x1x1(self.conv_s, self._pool(x_s)))
        y_l = self.bn_l(conv1x1x1(self.conv_l, self._pool(x_l))) if self.has_long else None
        return y_s, y_l


class MergedShortcut(nn.Module):
    """Projection shortcut on the joined tensor (``merge=True``): SoftPool(stride) → conv 1x1x1
    (``g`` groups) → bn, ``(B, C_in, T, H, W) -> (B, C_out, T/s, H/s, W/s)`` (a ResNet projection)."""

    def __init__(self, in_channels: int, out_channels: int, *, stride, g: int = 1):
        super().__init__()
        self.stride = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        self.conv = nn.Conv3d(in_channels, out_channels, 1, groups=g, bias=False)
        self.bn = nn.BatchNorm3d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(conv1x1x1(self.conv, _pool_stride(x, self.stride)))


class MTStageSR(nn.Module):
    """Squeeze-and-Recursion on each stream: ``(SR_s(x_s), SR_l(x_l))``.

    ``sr_layer``: ``channels -> module`` (a :class:`SqueezeRecursion`), built on C_s and C_l. On one
    joined tensor (``merge=True`` networks, after a stage) the channels ``[:C_s]`` and ``[C_s:]``
    (both at full resolution) go through ``SR_s`` and ``SR_l`` and are concatenated again.
    """

    def __init__(self, channels: int, *, r: float, sr_layer: Callable[[int], nn.Module]):
        super().__init__()
        self.c_s, c_l = split_channels(channels, r)
        self.sr_s = sr_layer(self.c_s)
        self.sr_l = sr_layer(c_l) if r < 1 else None

    def forward(self, x: Streams) -> Streams:
        if isinstance(x, torch.Tensor):  # joined streams (B, C_s + C_l, T, H, W)
            if self.sr_l is None:
                return self.sr_s(x)
            return torch.cat([self.sr_s(x[:, : self.c_s]), self.sr_l(x[:, self.c_s :])], dim=1)
        x_s, x_l = x
        return self.sr_s(x_s), (None if self.sr_l is None else self.sr_l(x_l))


class _MTBlock(nn.Module):
    """``relu(branch(x) + shortcut(x))``, per stream (pair) or on the joined tensor (``merge``)."""

    pool = "avg"  # how a merged block pools its long stream (as its laterals)

    def _streams(self, in_channels: int, out_channels: int, *, stride, r: float, g: int, merge: bool) -> None:
        self.merge, self.c_s_in = bool(merge), split_channels(in_channels, r)[0]
        s = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        if in_channels == out_channels and max(s) == 1:
            self.shortcut: nn.Module = nn.Identity()
        elif merge:
            self.shortcut = MergedShortcut(in_channels, out_channels, stride=s, g=g)
        else:
            self.shortcut = MTShortcut(in_channels, out_channels, stride=s, r=r, g=g)

    def branch(self, x: Pair) -> Pair:
        raise NotImplementedError

    def forward(self, x: Streams) -> Streams:
        if not self.merge:
            return _add_relu(self.branch(x), self.shortcut(x))
        y = join_streams(self.branch(split_streams(x, self.c_s_in, self.pool)))  # (B, C_out, T', H', W')
        return F.relu_(y + self.shortcut(x))


class DownsampleMTBlock(_MTBlock):
    """Bottleneck MTBlock (Fig. 3a/c, ``downsample="bottleneck"``): 1x1x1 reduce → 3x3x3 (stride) →
    1x1x1 expand, + shortcut.

    ::

        x ─ MTConv 1x1x1 in→out/2 ─ MTConv 3x3x3 stride ─ MTConv 1x1x1 out/2→out (no relu) ─ + ─ relu
          └──────────────── shortcut (identity, or SoftPool + 1x1x1 + bn) ────────────────┘

    Laterals use SoftPool (paper: downsampling blocks use SoftPool).
    """

    pool = "soft"

    def __init__(self, in_channels: int, out_channels: int, *, stride=2, r: float = 0.875, g: int = 1,
                 merge: bool = False):
        super().__init__()
        mid = out_channels // 2
        kw = dict(r=r, groups=g, lateral_pool="soft")
        self.conv1 = MTConv(in_channels, mid, kernel_size=(1, 1, 1), **kw)
        self.conv2 = MTConv(mid, mid, kernel_size=(3, 3, 3), stride=stride, **kw)
        self.conv3 = MTConv(mid, out_channels, kernel_size=(1, 1, 1), act=False, **kw)
        self._streams(in_channels, out_channels, stride=stride, r=r, g=g, merge=merge)

    def branch(self, x: Pair) -> Pair:
        return self.conv3(self.conv2(self.conv1(x)))

    def last_convs(self) -> tuple[MTConv, ...]:
        """The MTConvs that end a residual branch (zero-initialised BN scales)."""
        return (self.conv3,)


class MultiplexerMTBlock(_MTBlock):
    """Downsample MTBlock with MF-Net's multiplexer (``downsample="multiplexer"``; four MTConvs).

    ::

        x ─ MTConv 1x1x1 in→mux ─ MTConv 1x1x1 mux→in (no relu) ─ + x ─ MTConv 3x3x3 in→mid, stride
          │                                                              ─ MTConv 1x1x1 mid→out (no relu) ─ + ─ relu
          └──────────────────────── shortcut (identity, or SoftPool + 1x1x1 + bn) ─────────────────────────┘

    ``mid = out/2`` and ``mux = mid/4`` as MF-Net's ``num_mid`` / ``num_ix``, rounded to a multiple
    of ``lcm(8, g)`` (at least one) so that every stream split divides by its sub-streams, as ``mid``
    does (at width 1 and g in {1, 8}: exactly mid/4 = 8, 16, 32, 64). MF-Net is pre-activation
    (BN-ReLU-Conv), so its multiplexer output is added unactivated; ours likewise has no relu on
    the second multiplexer conv. Laterals use SoftPool.
    """

    pool = "soft"

    def __init__(self, in_channels: int, out_channels: int, *, stride=2, r: float = 0.875, g: int = 1,
                 merge: bool = False):
        super().__init__()
        mid = out_channels // 2
        mux = round_channels(mid / 4, math.lcm(8, int(g)))
        kw = dict(r=r, groups=g, lateral_pool="soft")
        self.mux1 = MTConv(in_channels, mux, kernel_size=(1, 1, 1), **kw)
        self.mux2 = MTConv(mux, in_channels, kernel_size=(1, 1, 1), act=False, **kw)
        self.conv2 = MTConv(in_channels, mid, kernel_size=(3, 3, 3), stride=stride, **kw)
        self.conv3 = MTConv(mid, out_channels, kernel_size=(1, 1, 1), act=False, **kw)
        self._streams(in_channels, out_channels, stride=stride, r=r, g=g, merge=merge)

    def branch(self, x: Pair) -> Pair:
        m_s, m_l = self.mux2(self.mux1(x))
        x = (x[0] + m_s, None if x[1] is None else x[1] + m_l)  # MF-Net: x_in = x + conv_i2(conv_i1(x))
        return self.conv3(self.conv2(x))

    def last_convs(self) -> tuple[MTConv, ...]:
        return (self.mux2, self.conv3)


class RepeatMTBlock(_MTBlock):
    """Repeat MTBlock (Fig. 3b/d): MTConv 3x3x3 → MTConv 1x3x3 (no relu) [→ SR per stream] → + x → relu.

    ::

        x ─ MTConv (3,3,3) ─ MTConv (1,3,3), no relu ─ [SR_s, SR_l] ─ + ─ relu
          └────────────────────── identity ─────────────────────────┘

    ``sr_layer`` (``channels -> module``): a GRU pair inside the block ("4 x Conv + 2 x GRU"), or
    None. Laterals use average pooling. With ``r = 1`` and no SR this is exactly a plain residual
    3D block.
    """

    def __init__(self, channels: int, *, r: float = 0.875, g: int = 1, merge: bool = False,
                 sr_layer: Optional[Callable[[int], nn.Module]] = None):
        super().__init__()
        self.conv1 = MTConv(channels, channels, kernel_size=(3, 3, 3), r=r, groups=g, lateral_pool="avg")
        self.conv2 = MTConv(channels, channels, kernel_size=(1, 3, 3), r=r, groups=g, lateral_pool="avg", act=False)
        self.sr = MTStageSR(channels, r=r, sr_layer=sr_layer) if sr_layer is not None else None
        self._streams(channels, channels, stride=1, r=r, g=g, merge=merge)

    def branch(self, x: Pair) -> Pair:
        y = self.conv2(self.conv1(x))
        return y if self.sr is None else self.sr(y)

    def last_convs(self) -> tuple[MTConv, ...]:
        return (self.conv2,)
