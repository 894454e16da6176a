"""MTNet: Multi-Temporal networks (Stergiou & Poppe, "Right on Time", AAAI 2021; Table 1, Fig. 3).

Built from :class:`~actionrec.layers.mtconv.MTConv` (short/long streams, eq. 1-2),
:class:`~actionrec.layers.softpool.SoftPool3d` (eq. 3) and
:class:`~actionrec.layers.squeeze_recursion.SqueezeRecursion` (GRU, eq. 4).

Network (Table 1, default reading; sizes for a 16x320x320 input, long stream at half T, H, W)::

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
layout (4 x (3 + 2 n_i) MTConvs + stem + fc gives 30/38/46/80/114); we follow the table
(:ref:`readings-mtnet-depths`).

Squeeze-and-Recursion, one per stream (hidden = that stream's channels), the features multiplied
by the GRU output without a sigmoid, as the official code does (``recurrent="gru"`` | ``"lstm"`` |
None, ``sr_fusion="residual"`` | ``"mul"``; see ``layers/squeeze_recursion.py``). Shapes: any input
of at least 16x32x32 works (long-stream pools use ``ceil_mode``, a size-1 dimension stays 1; tested
for every depth). Width and init: :class:`MTNet`; CPU memory format: :meth:`MTNet.forward_features`;
builder keywords: :func:`mtnet_32`.

Readings (the paper's text allows each; builder keywords, blocks in ``models/mtblocks.py``):

* ``sr="stage"`` (default) | ``"block"``: a GRU pair after every stage (Table 1's "SR: 2 x GRU"
  row), or inside every repeat block before its residual add ("4 x Conv + 2 x GRU", Sec. "Repeat
  blocks"; the official code's place).
* ``downsample="bottleneck"`` (default) | ``"multiplexer"``: the block drawn above, or MF-Net's
  multiplexer (two 1x1x1 MTConvs, in→out/8→in, added to the input) before 3x3x3 in→out/2 and
  1x1x1 out/2→out (Sec. "Downsample blocks": "two 1x1x1 convolutions at the beginning ... similar
  to Chen et al. (2018)"; Fig. 3: "four MTConvs").
* ``streams="persist"`` (default) | ``"merge"``: the pair runs through the network, or every block
  re-joins the streams (long upsampled and concatenated; the next block splits again; residuals
  on the joined tensor): "at the layer level, not as two pathways throughout a network".

The default is the reading closest to Table 3's parameter counts, scored by rules fixed before
counting (``benchmarks/complexity.py``; ``--readings`` prints all eight). Persist and merge tie
exactly there (a g-grouped 1x1x1 shortcut on the joined tensor holds as many weights as the
per-stream 7 + 1 grouped pair); the tie goes to "persist", the official code's layout and Table 1's.
The scores, and why no reading fits every row: :ref:`readings-mtnet-table3-reading`.

Departures from the official code (``alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates``,
``network/MTnet.py``, read for this): it counts the downsample block among Table 1's repeats, puts a
multiplexer (in→width→in, no add) and a GRU pair in every block, divides the block width by g,
halves the long stream's T by picking frames by cosine similarity, and never calls SoftPool. We
follow the paper's text and tables; SoftPool is used in the downsample blocks
(:ref:`readings-mtnet-official-blocks`). ``zero_init_residual=True`` (default) starts every block as
the identity; the paper says only "standard Kaiming initialization" (:ref:`readings-mtnet-zero-init`).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn

from ..layers.mtconv import Pair, check_ratio, split_channels
from ..layers.softpool import soft_pool3d
from ..utils.checks import check_int
from .factory import get_mtnet_reading, get_sr_layer
from .init import check_width, kaiming_init_, round_channels
from .mtblocks import (DownsampleMTBlock, MergedShortcut, MTShortcut, MTStageSR, MultiplexerMTBlock, RepeatMTBlock,
                       split_streams)

__all__ = [
    "MTNet",
    "DownsampleMTBlock",
    "MultiplexerMTBlock",
    "RepeatMTBlock",
    "MTShortcut",
    "MergedShortcut",
    "MTStageSR",
    "MTNET_DEPTHS",
    "MTNET_READING",
    "mtnet_32",
    "mtnet_48",
    "mtnet_64",
    "mtnet_132",
    "mtnet_200",
]

#: The default reading of the three choices the paper leaves open (module docstring: which and why).
MTNET_READING = {"sr": "stage", "downsample": "bottleneck", "streams": "persist"}
#: Repeat blocks per stage after each stage's downsample block (Table 1), by network depth.
MTNET_DEPTHS = {32: (2, 2, 2, 2), 48: (2, 2, 5, 3), 64: (3, 4, 6, 3), 132: (3, 4, 23, 3), 200: (3, 8, 36, 3)}


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    cl = t.is_contiguous(memory_format=torch.channels_last_3d) and not t.is_contiguous()
    return torch.channels_last_3d if cl else torch.contiguous_format


class MTNet(nn.Module):
    """Multi-Temporal network (Table 1). Use the builders ``mtnet_32`` ... ``mtnet_200``.

    ``forward_features(x)`` returns, after the last stage, the stream pair ``(x_s (B, C_s, T', H',
    W'), x_l or None)`` (``merge=False``) or the joined tensor ``(B, C, T', H', W')`` (``merge=True``);
    ``forward_head(feats)`` pools (each stream), concatenates and classifies.

    The readings (module docstring; the builders take them as strings): ``downsample_block`` (the
    class of each stage's first block: :class:`DownsampleMTBlock` or :class:`MultiplexerMTBlock`),
    ``block_sr`` (``sr_layer`` inside every repeat block instead of after every stage; ``srs`` then
    holds identities, so hooks on ``srs[i]`` still see the stage outputs), ``merge`` (streams re-join
    after every block). ``sr_layer``: ``channels -> module`` (a :class:`SqueezeRecursion`; the
    builders make it from ``recurrent`` and ``sr_fusion``), or None for no Squeeze-and-Recursion.

    Width multiplier ``w``: every channel count ``c`` (stem 64, stages 64/128/256/512) becomes
    ``c * w`` rounded to the nearest multiple of ``2 * lcm(8, g)`` (at least one multiple), so the
    bottleneck's ``out/2`` and every stream split stay divisible by the sub-streams (width 0.25 ->
    16/32/64/128).

    Init: Kaiming normal (fan_out, relu) for convs, BN weight 1 / bias 0 (paper: "standard Kaiming
    initialization"); the GRU and the fc keep PyTorch's defaults. ``zero_init_residual=True`` (default,
    as timm's ``zero_init_last`` and Goyal et al. 2017) also zeroes the BN scales that end each
    residual branch (``bn_s``, ``bn_l``, ``bn_s2l`` of the block's last MTConv, and of the
    multiplexer's second one), so every block starts as the identity. The paper does not say;
    ``zero_init_residual=False`` restores the plain init.
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
        block_sr: bool = False,
        downsample_block: type = DownsampleMTBlock,
        merge: bool = False,
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
        div = 2 * math.lcm(8, g)  # out/2 and the splits stay divisible by the sub-streams
        chans = [round_channels(c * width, div) for c in channels]
        c0 = round_channels(stem_channels * width, div)
        self.channels, self.depths, self.g = tuple(chans), tuple(depths), int(g)
        self.merge, self.block_sr = bool(merge), bool(block_sr)

        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, c0, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
            nn.BatchNorm3d(c0),
            nn.ReLU(inplace=True),
        )
        self.stem_cs = split_channels(c0, r)[0]
        block_sr_layer = sr_layer if block_sr else None
        stages, srs, c_in = [], [], c0
        for i, (c, n) in enumerate(zip(chans, depths)):
            blocks = [downsample_block(c_in, c, stride=1 if i == 0 else 2, r=r, g=g, merge=merge)]
            blocks += [RepeatMTBlock(c, r=r, g=g, merge=merge, sr_layer=block_sr_layer) for _ in range(n)]
            stages.append(nn.Sequential(*blocks))
            stage_sr = sr_layer is not None and not block_sr
            srs.append(MTStageSR(c, r=r, sr_layer=sr_layer) if stage_sr else nn.Identity())
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
                for conv in m.last_convs() if hasattr(m, "last_convs") else ():
                    for bn in (conv.bn_s, getattr(conv, "bn_l", None), getattr(conv, "bn_s2l", None)):
                        if bn is not None:
                            nn.init.zeros_(bn.weight)

    def split(self, x: torch.Tensor) -> Pair:
        """Stem output (B, C, T, H, W) -> (x_s (B, C_s, T, H, W), x_l (B, C_l, T/2, H/2, W/2)) (SoftPool)."""
        return split_streams(x, self.stem_cs, "soft")

    def forward_features(self, x: torch.Tensor):
        """``x (B, C, T, H, W)`` → stream pair ``(x_s, x_l or None)`` after the last stage, or one
        tensor ``(B, C', T', H', W')`` when the streams re-join after every block (``merge``).

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
        feats = x if self.merge else self.split(x)  # merge: each block splits for itself
        for stage, sr in zip(self.stages, self.srs):
            feats = sr(stage(feats))
        return feats

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
                  sr: str = MTNET_READING["sr"], downsample: str = MTNET_READING["downsample"],
                  streams: str = MTNET_READING["streams"], recurrent: Optional[str] = "gru",
                  sr_fusion: str = "residual", in_channels: int = 3, dropout: float = 0.0,
                  zero_init_residual: bool = True) -> MTNet:
    """The config boundary: ``sr``, ``downsample``, ``streams`` (the readings, module docstring) and
    ``recurrent`` ("gru" | "lstm" | None), ``sr_fusion`` ("residual" | "mul") resolved once by
    :func:`actionrec.models.factory.get_mtnet_reading` and :func:`~actionrec.models.factory.get_sr_layer`."""
    return MTNet(depths=MTNET_DEPTHS[depth], num_classes=num_classes, r=r, g=g, width=width,
                 sr_layer=get_sr_layer(recurrent, sr_fusion), **get_mtnet_reading(sr, downsample, streams),
                 in_channels=in_channels, dropout=dropout, zero_init_residual=zero_init_residual)


def mtnet_32(**kwargs) -> MTNet:
    """MTNet-32: repeats (2, 2, 2, 2) (Table 1).

    Keywords (all builders ``mtnet_32`` ... ``mtnet_200``, keyword-only, defaults in brackets):
    num_classes (400), r (0.875), g (1), width (1.0), sr, downsample, streams (the readings,
    :data:`MTNET_READING`), recurrent ("gru"), sr_fusion ("residual"), in_channels (3),
    dropout (0.0), zero_init_residual (True).
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
