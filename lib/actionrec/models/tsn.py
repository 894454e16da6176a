"""TSN-style 2D ResNets over N segments, with an optional temporal operation (TSN, TSM, MSTNet).

Papers: Wang et al., "Temporal Segment Networks" (ECCV 2016; N segments, one frame each, a shared
2D CNN, consensus = average); Lin, Gan & Han, "TSM" (ICCV 2019; the shift in the residual branch,
"blockres"); Shan et al., "MixTConv" (2020, ``mixtconv.txt``; MSTNet = the TSN ResNet-50 with a
:class:`~actionrec.layers.mixtconv.MixTConv` before each bottleneck's first 1x1 conv). Decisions in
``shared/papers/NOTES.md``. Backbone: He et al.'s ResNet-50 in torchvision's layout (stride on the
3x3 conv, "v1.5"), so TSN-R50 holds torchvision's 25,557,032 parameters at 1000 classes, 24,327,632
at 400 (paper: 24.3M); the temporal op adds ``sum_m C_m k_m`` weights per block for MixTConv
(52,480 in all for kernels 1/3/5/7 in R50) and none for TSM.

Network (sizes for 8 segments of 224x224, width 1, ResNet-50)::

    x (B, 3, T, 224, 224) → (B, T, 3, H, W) → (B*T, 3, 224, 224)       frames folded into the batch
      stem:   conv 7x7 x64 stride 2 → bn → relu → max-pool 3x3 stride 2     (B*T, 64, 56, 56)
      layer1: 3 Bottlenecks, 64 planes, stride 1                            (B*T, 256, 56, 56)
      layer2: 4 Bottlenecks, 128 planes, stride 2                           (B*T, 512, 28, 28)
      layer3: 6 Bottlenecks, 256 planes, stride 2                           (B*T, 1024, 14, 14)
      layer4: 3 Bottlenecks, 512 planes, stride 2                           (B*T, 2048, 7, 7)
      → (B, 2048, T, 7, 7)                                                  forward_features
      head:   average over H, W → dropout → fc per segment (B, T, K) → mean over T (consensus) (B, K)

Blocks; ``temporal`` is ``None`` (TSN: identity), ``"tsm"`` (:class:`TemporalShift`) or ``"mixtconv"``
(:class:`MixTConv`), built on the block's input channels ``C_in`` with ``num_segments``::

    Bottleneck(C_in -> 4P):
      x ─┬─ temporal → conv 1x1 C_in→P → bn → relu → conv 3x3 P→P, stride → bn → relu
         │            → conv 1x1 P→4P → bn ─┐
         │                                (+) → relu → out
         └─ shortcut: identity | conv 1x1 stride → bn ─┘

    BasicBlock(C_in -> P) (small backbones only):
      x ─┬─ temporal → conv 3x3 C_in→P, stride → bn → relu → conv 3x3 P→P → bn ─┐
         │                                                                    (+) → relu → out
         └─ shortcut: identity | conv 1x1 stride → bn ─────────────────────────┘

The temporal op acts on the residual branch only (TSM's "blockres"; the shortcut sees the raw x).

Small backbone for CPU runs (``*_small``): the same blocks, one Bottleneck per stage
(``layers=(1, 1, 1, 1)``), and a light stem ``conv 3x3 x C0 stride 2 → bn → relu`` without the
max-pool (a 32x32 frame ends at 2x2 after layer4 instead of 1x1). Width multiplier ``w``: the
stem's 64 and the planes 64/128/256/512 become ``round(c w / 8) * 8`` (at least 8).

Segments: the model is built for ``num_segments`` frames (the temporal ops need T to unfold the
batch) and raises a ValueError at forward when the clip's T differs (build with ``num_segments=T``).
TSN (``temporal=None``) has no such need and accepts any T. Any H, W >= 32 (tested at 32x32).

Init: Kaiming normal (fan_out, relu) for convs, BN weight 1 / bias 0 (``kaiming_init_``), fc
normal(0, 0.001) bias 0 (TSN/TSM's ``normal_(0, 0.001)``); MixTConv keeps its own init (TSM-like by
default, so MSTNet starts as TSM).

Departures: ImageNet pre-training (used by both papers) is not loaded (no torchvision here).
TSM/MixTConv use dropout 0.5 (0.8 in TSN) before the fc; our default is 0.0 (pass ``dropout``).
The head averages per-segment logits, i.e. fc of the per-segment features then mean over T, as TSN.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from ..layers.mixtconv import MixTConv
from ..layers.temporal_shift import TemporalShift
from .init import kaiming_init_, round_channels

__all__ = [
    "TSN",
    "Bottleneck2d",
    "BasicBlock2d",
    "TEMPORAL_OPS",
    "temporal_maker",
    "temporal_modules",
    "tsn_r50",
    "tsm_r50",
    "mstnet_r50",
    "tsn_small",
    "tsm_small",
    "mstnet_small",
]

TEMPORAL_OPS = (None, "tsm", "mixtconv")


def temporal_maker(
    temporal: Optional[str], *, kernels: Sequence[int] = (1, 3, 5, 7), dilations: Optional[Sequence[int]] = None,
    fold_div: int = 8,
) -> Optional[Callable[[int, int], nn.Module]]:
    """``(channels, num_segments) -> module`` for ``temporal`` (None: no temporal op)."""
    if temporal is None:
        return None
    if temporal == "tsm":
        return functools.partial(TemporalShift, fold_div=fold_div)
    if temporal == "mixtconv":
        return functools.partial(MixTConv, kernels=tuple(kernels), dilations=dilations, fold_div=fold_div)
    raise ValueError(f"temporal={temporal!r} must be None, 'tsm' or 'mixtconv'")


def _shortcut(c_in: int, c_out: int, stride: int) -> Optional[nn.Module]:
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))


class Bottleneck2d(nn.Module):
    """torchvision's ResNet Bottleneck (stride on the 3x3) with ``temporal`` before conv1. (B*T, C, H, W)."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, *, stride: int = 1, num_segments: int = 8,
                 temporal: Optional[Callable[[int, int], nn.Module]] = None):
        super().__init__()
        c_out = planes * self.expansion
        self.temporal = temporal(c_in, num_segments) if temporal is not None else None
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.temporal(x) if self.temporal is not None else x  # residual branch only ("blockres")
        y = self.relu(self.bn1(self.conv1(y)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(y + identity)


class BasicBlock2d(nn.Module):
    """torchvision's ResNet BasicBlock with ``temporal`` before conv1. (B*T, C, H, W)."""

    expansion = 1

    def __init__(self, c_in: int, planes: int, *, stride: int = 1, num_segments: int = 8,
                 temporal: Optional[Callable[[int, int], nn.Module]] = None):
        super().__init__()
        self.temporal = temporal(c_in, num_segments) if temporal is not None else None
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.temporal(x) if self.temporal is not None else x  # residual branch only ("blockres")
        y = self.relu(self.bn1(self.conv1(y)))
        y = self.bn2(self.conv2(y))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(y + identity)


class TSN(nn.Module):
    """TSN-style 2D ResNet over ``num_segments`` frames with an optional temporal op. Use the builders.

    Args:
        block: :class:`Bottleneck2d` or :class:`BasicBlock2d`.
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        stem: ``"imagenet"`` (7x7 stride 2 + max-pool, ResNet-50) or ``"small"`` (3x3 stride 2, no pool).
        temporal: ``None`` | ``"tsm"`` | ``"mixtconv"``.
        num_segments: frames per clip T (must equal the input's T when ``temporal`` is set).
        kernels, dilations: MixTConv's (ignored otherwise). fold_div: TSM's / the TSM-like init's.

    ``forward_features(x (B, C, T, H, W)) -> (B, C', T, H', W')``; ``forward_head(feats)``: spatial
    average → dropout → fc per segment → mean over T (``pre_logits=True``: the pooled ``(B, C')``).
    """

    def __init__(
        self,
        *,
        block: type[nn.Module] = Bottleneck2d,
        layers: Sequence[int] = (3, 4, 6, 3),
        stem: str = "imagenet",
        num_classes: int = 400,
        num_segments: int = 8,
        temporal: Optional[str] = None,
        kernels: Sequence[int] = (1, 3, 5, 7),
        dilations: Optional[Sequence[int]] = None,
        fold_div: int = 8,
        width: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        if isinstance(width, bool) or not (isinstance(width, (int, float)) and width > 0):
            raise ValueError(f"width={width!r} must be a number > 0")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} must be an int >= 1")
        if isinstance(num_segments, bool) or not isinstance(num_segments, int) or num_segments < 1:
            raise ValueError(f"num_segments={num_segments!r} must be an int >= 1 (frames per clip)")
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels={in_channels!r} must be an int >= 1")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
        if temporal not in TEMPORAL_OPS:
            raise ValueError(f"temporal={temporal!r} must be None, 'tsm' or 'mixtconv'")
        if stem not in ("imagenet", "small"):
            raise ValueError(f"stem={stem!r} must be 'imagenet' or 'small'")
        maker = temporal_maker(temporal, kernels=kernels, dilations=dilations, fold_div=fold_div)
        self.temporal, self.num_segments = temporal, num_segments
        c0 = round_channels(64 * width)
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, c0, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, c0, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True),
            )
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        c_in = c0
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(c_in, p, stride=stride, num_segments=num_segments, temporal=maker))
                c_in = p * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.layers, self.planes, self.num_features = tuple(layers), tuple(planes), c_in
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)
        kaiming_init_(self)  # convs and BNs; MixTConv's weights are Parameters, not convs: untouched
        nn.init.normal_(self.fc.weight, 0, 0.001)
        nn.init.zeros_(self.fc.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"TSN expects x of shape (B, C, T, H, W); got {tuple(x.shape)}")
        b, c, t, h, w = x.shape
        if self.temporal is not None and t != self.num_segments:
            raise ValueError(
                f"TSN with temporal={self.temporal!r} was built for num_segments={self.num_segments} frames "
                f"but x has T={t}; build it with num_segments={t}"
            )
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B, C, T, H, W) -> (B, T, C, H, W) -> (B*T, C, H, W)
        x = self.stem(x)  # (B*T, C0, H/4, W/4) imagenet stem, (B*T, C0, H/2, W/2) small
        x = self.layer1(x)  # (B*T, 64 E w, ., .)
        x = self.layer2(x)  # (B*T, 128 E w, ., .) /2
        x = self.layer3(x)  # (B*T, 256 E w, ., .) /4
        x = self.layer4(x)  # (B*T, 512 E w, H', W') /8
        _, cf, hf, wf = x.shape
        return x.view(b, t, cf, hf, wf).transpose(1, 2)  # (B*T, C', H', W') -> (B, T, C', H', W') -> (B, C', T, H', W')

    def forward_head(self, feats: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """``(B, C', T, H', W')`` → spatial mean ``(B, T, C')`` → dropout → fc ``(B, T, K)`` → mean over T."""
        pooled = feats.mean(dim=(3, 4)).transpose(1, 2)  # (B, C', T) -> (B, T, C')
        if pre_logits:
            return pooled.mean(dim=1)  # (B, C')
        return self.fc(self.dropout(pooled)).mean(dim=1)  # (B, T, K) -> consensus (B, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def temporal_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every TemporalShift / MixTConv in ``model`` (e.g. ``"layer1.0.temporal"``)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (TemporalShift, MixTConv))]


_R50 = dict(block=Bottleneck2d, layers=(3, 4, 6, 3), stem="imagenet")
_SMALL = dict(block=Bottleneck2d, layers=(1, 1, 1, 1), stem="small")


def tsn_r50(*, num_classes: int = 400, num_segments: int = 8, width: float = 1.0, in_channels: int = 3,
            dropout: float = 0.0) -> TSN:
    """TSN ResNet-50 (no temporal op): 24,327,632 params at 400 classes (paper: 24.3M)."""
    return TSN(**_R50, num_classes=num_classes, num_segments=num_segments, width=width, in_channels=in_channels,
               dropout=dropout)


def tsm_r50(*, num_classes: int = 400, num_segments: int = 8, width: float = 1.0, in_channels: int = 3,
            dropout: float = 0.0, fold_div: int = 8) -> TSN:
    """TSM ResNet-50: TemporalShift (1/8 + 1/8) before each bottleneck's conv1. Params as TSN."""
    return TSN(**_R50, temporal="tsm", fold_div=fold_div, num_classes=num_classes, num_segments=num_segments,
               width=width, in_channels=in_channels, dropout=dropout)


def mstnet_r50(*, num_classes: int = 400, num_segments: int = 8, width: float = 1.0,
               kernels: Sequence[int] = (1, 3, 5, 7), dilations: Optional[Sequence[int]] = None,
               in_channels: int = 3, dropout: float = 0.0) -> TSN:
    """MSTNet ResNet-50: MixTConv before each bottleneck's conv1 (+52,480 params for kernels 1/3/5/7)."""
    return TSN(**_R50, temporal="mixtconv", kernels=kernels, dilations=dilations, num_classes=num_classes,
               num_segments=num_segments, width=width, in_channels=in_channels, dropout=dropout)


def tsn_small(*, num_classes: int = 10, num_segments: int = 8, width: float = 1.0, in_channels: int = 3,
              dropout: float = 0.0) -> TSN:
    """Small TSN for CPU runs: one Bottleneck per stage, 3x3 stride-2 stem without max-pool."""
    return TSN(**_SMALL, num_classes=num_classes, num_segments=num_segments, width=width, in_channels=in_channels,
               dropout=dropout)


def tsm_small(*, num_classes: int = 10, num_segments: int = 8, width: float = 1.0, in_channels: int = 3,
              dropout: float = 0.0, fold_div: int = 8) -> TSN:
    """Small TSM: :func:`tsn_small` with TemporalShift before each bottleneck's conv1."""
    return TSN(**_SMALL, temporal="tsm", fold_div=fold_div, num_classes=num_classes, num_segments=num_segments,
               width=width, in_channels=in_channels, dropout=dropout)


def mstnet_small(*, num_classes: int = 10, num_segments: int = 8, width: float = 1.0,
                 kernels: Sequence[int] = (1, 3, 5, 7), dilations: Optional[Sequence[int]] = None,
                 in_channels: int = 3, dropout: float = 0.0) -> TSN:
    """Small MSTNet: :func:`tsn_small` with MixTConv before each bottleneck's conv1."""
    return TSN(**_SMALL, temporal="mixtconv", kernels=kernels, dilations=dilations, num_classes=num_classes,
               num_segments=num_segments, width=width, in_channels=in_channels, dropout=dropout)
