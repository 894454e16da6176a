"""MTNet: Multi-Temporal networks (Stergiou & Poppe, "Right on Time", AAAI 2021; Table 1, Fig. 3).

Built from :class:`~actionrec.layers.mtconv.MTConv` (short/long streams, eq. 1-2),
:class:`~actionrec.layers.softpool.SoftPool3d` (eq. 3) and
:class:`~actionrec.layers.squeeze_recursion.SqueezeRecursion` (GRU, eq. 4).

Network (Table 1; sizes for a 16x320x320 input, long stream at half T, H, W)::

    x (B, 3, 16, 320, 320)
      stem: conv (3,7,7) x64 stride (1,2,2) → bn → relu → SoftPool (1,2,2)     (B, 64, 16, 80, 80)
      split once: x_s = first C_s channels, x_l = SoftPool2(last C_l channels)
      stage 1: DownsampleMTBlock(64, stride 1)  + n1 x RepeatMTBlock(64)  → SR_s, SR_l   16x80x80
      stage 2: DownsampleMTBlock(128, stride 2) + n2 x RepeatMTBlock(128) → SR_s, SR_l    8x40x40
      stage 3: DownsampleMTBlock(256, stride 2) + n3 x RepeatMTBlock(256) → SR_s, SR_l    4x20x20
      stage 4: DownsampleMTBlock(512, stride 2) + n4 x RepeatMTBlock(512) → SR_s, SR_l    2x10x10
      head: global avg pool each stream → concat (C) → dropout → fc                      (B, K)

Blocks (Fig. 3a/b): :class:`DownsampleMTBlock` (1x1x1 → 3x3x3, stride → 1x1x1 bottleneck, SoftPool
laterals, shortcut SoftPool → grouped 1x1x1 → bn) and :class:`RepeatMTBlock` (3x3x3 → 1x3x3, average
laterals), each ``+ shortcut → relu`` per stream. Repeats (n1..n4, :data:`MTNET_DEPTHS`) are read
from Table 1 (mtnet.txt lines 90-107; one downsample block per stage is listed separately):
MTNet-32 (2,2,2,2), -48 (2,2,5,3), -64 (3,4,6,3), -132 (3,4,23,3), -200 (3,8,36,3); the table's
channel counts are both streams combined. The names do not follow from a simple layer count of this
layout (4 x (3 + 2 n_i) MTConvs + stem + fc gives 30/38/46/80/114); we follow the table.

Squeeze-and-Recursion after every stage, one per stream (hidden = that stream's channels), the
features multiplied by the GRU output without a sigmoid, as the official code does
(``recurrent="gru"`` | ``"lstm"`` | None, ``sr_fusion="residual"`` | ``"mul"``; see
``layers/squeeze_recursion.py``). Shapes: any input of at least 16x32x32 works (long-stream pools
use ``ceil_mode``, a size-1 dimension stays 1; tested for every depth). Width and init:
:class:`MTNet`; CPU memory format: :meth:`MTNet.forward_features`; builder keywords: :func:`mtnet_32`.

Departures from the official code (NOTES.md): SoftPool is actually used in the downsample blocks
(the official code never calls it); the two streams persist between blocks and only the stem
splits; see the layer files for SoftPool and Squeeze-and-Recursion. ``zero_init_residual=True``
(default) starts every block as the identity; the paper says only "standard Kaiming initialization".
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.mtconv import MTConv, Pair, check_ratio, conv1x1x1, split_channels, split_groups
from ..layers.softpool import soft_pool3d
from ..utils.checks import check_int
from .factory import get_sr_layer
from .init import check_width, kaiming_init_, round_channels

__all__ = [
    "MTNet",
    "DownsampleMTBlock",
    "RepeatMTBlock",
    "MTShortcut",
    "MTStageSR",
    "MTNET_DEPTHS",
    "mtnet_32",
    "mtnet_48",
    "mtnet_64",
    "mtnet_132",
    "mtnet_200",
]

MTNET_DEPTHS = {32: (2, 2, 2, 2), 48: (2, 2, 5, 3), 64: (3, 4, 6, 3), 132: (3, 4, 23, 3), 200: (3, 8, 36, 3)}  # Table 1


def _add_relu(a: Pair, b: Pair) -> Pair:
    """Residual add per stream, then relu (in place on the fresh sums)."""
    y_s = F.relu_(a[0] + b[0])
    y_l = None if a[1] is None else F.relu_(a[1] + b[1])
    return y_s, y_l


class MTShortcut(nn.Module):
    """Projection shortcut per stream: SoftPool(stride) → conv 1x1x1 → bn (shape changes only).

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
        return x if max(self.stride) == 1 else soft_pool3d(x, self.stride, self.stride, ceil_mode=True)

    def forward(self, x: Pair) -> Pair:
        x_s, x_l = x
        y_s = self.bn_s(conv1x1x1(self.conv_s, self._pool(x_s)))
        y_l = self.bn_l(conv1x1x1(self.conv_l, self._pool(x_l))) if self.has_long else None
        return y_s, y_l


class DownsampleMTBlock(nn.Module):
    """Bottleneck MTBlock (Fig. 3a/c): 1x1x1 reduce → 3x3x3 (stride) → 1x1x1 expand, + shortcut.

    ::

        (x_s, x_l) ─ MTConv 1x1x1 in→out/2 ─ MTConv 3x3x3 stride ─ MTConv 1x1x1 out/2→out (no relu) ─ + ─ relu
                   └──────────────── shortcut (identity, or SoftPool + 1x1x1 + bn) ────────────────┘

    Laterals use SoftPool (paper: downsampling blocks use SoftPool).
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride=2, r: float = 0.875, g: int = 1):
        super().__init__()
        mid = out_channels // 2
        kw = dict(r=r, groups=g, lateral_pool="soft")
        self.conv1 = MTConv(in_channels, mid, kernel_size=(1, 1, 1), **kw)
        self.conv2 = MTConv(mid, mid, kernel_size=(3, 3, 3), stride=stride, **kw)
        self.conv3 = MTConv(mid, out_channels, kernel_size=(1, 1, 1), act=False, **kw)
        s = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        if in_channels != out_channels or max(s) > 1:
            self.shortcut: nn.Module = MTShortcut(in_channels, out_channels, stride=s, r=r, g=g)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Pair) -> Pair:
        return _add_relu(self.conv3(self.conv2(self.conv1(x))), self.shortcut(x))


class RepeatMTBlock(nn.Module):
    """Repeat MTBlock (Fig. 3b/d): MTConv 3x3x3 → MTConv 1x3x3 (no relu) → + x → relu.

    ::

        (x_s, x_l) ─ MTConv (3,3,3) ─ MTConv (1,3,3), no relu ─ + ─ relu
                   └────────────────── identity ──────────────┘

    Laterals use average pooling. With ``r = 1`` this is exactly a plain residual 3D block.
    """

    def __init__(self, channels: int, *, r: float = 0.875, g: int = 1):
        super().__init__()
        self.conv1 = MTConv(channels, channels, kernel_size=(3, 3, 3), r=r, groups=g, lateral_pool="avg")
        self.conv2 = MTConv(channels, channels, kernel_size=(1, 3, 3), r=r, groups=g, lateral_pool="avg", act=False)

    def forward(self, x: Pair) -> Pair:
        return _add_relu(self.conv2(self.conv1(x)), x)


class MTStageSR(nn.Module):
    """Squeeze-and-Recursion on each stream after a stage: ``(SR_s(x_s), SR_l(x_l))``.

    ``sr_layer``: ``channels -> module`` (a :class:`SqueezeRecursion`), built on C_s and C_l.
    """

    def __init__(self, channels: int, *, r: float, sr_layer: Callable[[int], nn.Module]):
        super().__init__()
        c_s, c_l = split_channels(channels, r)
        self.sr_s = sr_layer(c_s)
        self.sr_l = sr_layer(c_l) if r < 1 else None

    def forward(self, x: Pair) -> Pair:
        x_s, x_l = x
        return self.sr_s(x_s), (None if self.sr_l is None else self.sr_l(x_l))


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    cl = t.is_contiguous(memory_format=torch.channels_last_3d) and not t.is_contiguous()
    return torch.channels_last_3d if cl else torch.contiguous_format


class MTNet(nn.Module):
    """Multi-Temporal network (Table 1). Use the builders ``mtnet_32`` ... ``mtnet_200``.

    ``forward_features(x)`` returns the stream pair ``(x_s (B, C_s, T', H', W'), x_l or None)``
    after the last stage; ``forward_head(pair)`` pools both, concatenates and classifies.
    ``sr_layer``: ``channels -> module`` applied to each stream after every stage (a
    :class:`SqueezeRecursion`; the builders make it from ``recurrent`` and ``sr_fusion``), or None
    for no Squeeze-and-Recursion.

    Width multiplier ``w``: every channel count ``c`` (stem 64, stages 64/128/256/512) becomes
    ``c * w`` rounded to the nearest multiple of ``2 * lcm(8, g)`` (at least one multiple), so the
    bottleneck's ``out/2`` and every stream split stay divisible by the sub-streams (width 0.25 ->
    16/32/64/128).

    Init: Kaiming normal (fan_out, relu) for convs, BN weight 1 / bias 0 (paper: "standard Kaiming
    initialization"); the GRU and the fc keep PyTorch's defaults. ``zero_init_residual=True`` (default,
    as timm's ``zero_init_last`` and Goyal et al. 2017) also zeroes the BN scale that ends each residual
    branch (``bn_s``, ``bn_l`` and ``bn_s2l`` of the block's last MTConv), so every block starts as the
    identity. The paper does not say; ``zero_init_residual=False`` restores the plain init.
    """

    def __init__(
        self,
        *,
        depths=(2, 2, 2, 2),
        num_classes: int = 400,
        r: float = 0.875,
        g: int = 1,
        width: float = 1.0,
        sr_layer: Optional[Callable[[int], nn.Module]] = None,
        in_channels: int = 3,
        dropout: float = 0.0,
        channels=(64, 128, 256, 512),
        stem_channels: int = 64,
        zero_init_residual: bool = True,
    ):
        super().__init__()
        self.r = check_ratio(r)
        check_int("g", g, min_value=1)
        check_width(width)
        check_int("num_classes", num_classes, min_value=1)
        if len(depths) != len(channels):
            raise ValueError(f"depths={depths} and channels={channels} must have the same length")
        div = 2 * (8 * g // math.gcd(8, g))  # 2 * lcm(8, g): out/2 and the splits stay divisible
        chans = [round_channels(c * width, div) for c in channels]
        c0 = round_channels(stem_channels * width, div)
        self.channels, self.depths, self.g = tuple(chans), tuple(depths), int(g)

        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, c0, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
            nn.BatchNorm3d(c0),
            nn.ReLU(inplace=True),
        )
        self.stem_cs = split_channels(c0, r)[0]
        stages, srs, c_in = [], [], c0
        for i, (c, n) in enumerate(zip(chans, depths)):
            blocks = [DownsampleMTBlock(c_in, c, stride=1 if i == 0 else 2, r=r, g=g)]
            blocks += [RepeatMTBlock(c, r=r, g=g) for _ in range(n)]
            stages.append(nn.Sequential(*blocks))
            srs.append(MTStageSR(c, r=r, sr_layer=sr_layer) if sr_layer is not None else nn.Identity())
            c_in = c
        self.stages = nn.ModuleList(stages)
        self.srs = nn.ModuleList(srs)
        self.num_features = c_in
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool = True) -> None:
        kaiming_init_(self)
        if zero_init_residual:  # every residual branch starts as zero: each block is the identity
            for m in self.modules():
                last = m.conv3 if isinstance(m, DownsampleMTBlock) else m.conv2 if isinstance(m, RepeatMTBlock) else None
                for bn in () if last is None else (last.bn_s, getattr(last, "bn_l", None), getattr(last, "bn_s2l", None)):
                    if bn is not None:
                        nn.init.zeros_(bn.weight)

    def split(self, x: torch.Tensor) -> Pair:
        """Stem output (B, C, T, H, W) -> (x_s (B, C_s, T, H, W), x_l (B, C_l, T/2, H/2, W/2))."""
        if self.r == 1.0:
            return x, None
        fmt = _memory_format(x)
        x_s = x[:, : self.stem_cs].contiguous(memory_format=fmt)  # (B, C_s, T, H, W)
        x_l = x[:, self.stem_cs :].contiguous(memory_format=fmt)  # (B, C_l, T, H, W)
        return x_s, soft_pool3d(x_l, 2, 2, ceil_mode=True)  # x_l: (B, C_l, T/2, H/2, W/2)

    def forward_features(self, x: torch.Tensor) -> Pair:
        """``x (B, C, T, H, W)`` → stream pair ``(x_s, x_l or None)`` after the last stage.

        Memory format: on CPU the input is converted to ``channels_last_3d`` and every layer keeps
        that format (a CPU speed choice, measured with ``benchmarks/speed.py``; see
        ``benchmarks/README.md``), so callers need no ``model.to(memory_format=...)``; on other
        devices the input follows the model's memory format. Same values either way (tested).
        """
        if x.dim() != 5:
            raise ValueError(f"MTNet expects (B, C, T, H, W); got {tuple(x.shape)}")
        # On CPU every activation is channels_last_3d (docstring above): converting the input is
        # enough, each conv/BN/pool keeps the format. Elsewhere follow the model
        # (model.to(memory_format=...) converts the input too).
        fmt = torch.channels_last_3d if x.device.type == "cpu" else _memory_format(self.stem[0].weight)
        x = x.contiguous(memory_format=fmt)  # (B, 3, T, H, W)
        x = self.stem(x)
        x = soft_pool3d(x, (1, 2, 2), (1, 2, 2), ceil_mode=True)  # (B, C0, T, H/4, W/4)
        pair = self.split(x)
        for stage, sr in zip(self.stages, self.srs):
            pair = sr(stage(pair))
        return pair

    def forward_head(self, feats, *, pre_logits: bool = False) -> torch.Tensor:
        """Pair ``(x_s, x_l)`` (or one tensor) → global average pool each → concat → dropout → fc."""
        if isinstance(feats, torch.Tensor):
            feats = (feats, None)
        x_s, x_l = feats
        pooled = x_s.mean(dim=(2, 3, 4))  # (B, C_s)
        if x_l is not None:
            pooled = torch.cat([pooled, x_l.mean(dim=(2, 3, 4))], dim=1)  # (B, C_s + C_l)
        pooled = self.dropout(pooled)
        return pooled if pre_logits else self.fc(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _create_mtnet(*, depth: int, num_classes: int = 400, r: float = 0.875, g: int = 1, width: float = 1.0,
                  recurrent: Optional[str] = "gru", sr_fusion: str = "residual", in_channels: int = 3,
                  dropout: float = 0.0, zero_init_residual: bool = True) -> MTNet:
    """The config boundary: ``recurrent`` ("gru" | "lstm" | None) and ``sr_fusion`` ("residual" | "mul")
    resolved to a Squeeze-and-Recursion layer by :func:`actionrec.models.factory.get_sr_layer`."""
    return MTNet(depths=MTNET_DEPTHS[depth], num_classes=num_classes, r=r, g=g, width=width,
                 sr_layer=get_sr_layer(recurrent, sr_fusion), in_channels=in_channels, dropout=dropout,
                 zero_init_residual=zero_init_residual)


def mtnet_32(**kwargs) -> MTNet:
    """MTNet-32: repeats (2, 2, 2, 2) (Table 1).

    Keywords (all builders ``mtnet_32`` ... ``mtnet_200``, keyword-only, defaults in brackets):
    num_classes (400), r (0.875), g (1), width (1.0), recurrent ("gru"), sr_fusion ("residual"),
    in_channels (3), dropout (0.0), zero_init_residual (True).
    """
    return _create_mtnet(depth=32, **kwargs)


def mtnet_48(**kwargs) -> MTNet:
    """MTNet-48: repeats (2, 2, 5, 3) (Table 1)."""
    return _create_mtnet(depth=48, **kwargs)


def mtnet_64(**kwargs) -> MTNet:
    """MTNet-64: repeats (3, 4, 6, 3) (Table 1)."""
    return _create_mtnet(depth=64, **kwargs)


def mtnet_132(**kwargs) -> MTNet:
    """MTNet-132: repeats (3, 4, 23, 3) (Table 1)."""
    return _create_mtnet(depth=132, **kwargs)


def mtnet_200(**kwargs) -> MTNet:
    """MTNet-200: repeats (3, 8, 36, 3) (Table 1)."""
    return _create_mtnet(depth=200, **kwargs)

