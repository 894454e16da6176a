"""TSN-style 2D ResNets over N segments, with an optional temporal operation (TSN, TSM, MSTNet).

Papers: Wang et al., "Temporal Segment Networks" (ECCV 2016; N segments, one frame each, a shared 2D
CNN, consensus = average); Lin, Gan & Han, "TSM" (ICCV 2019; the shift in the residual branch,
"blockres"); Shan et al., "MixTConv" (2020, ``mixtconv.txt``; MSTNet = the TSN ResNet-50 with a
:class:`~actionrec.layers.mixtconv.MixTConv` before each bottleneck's first 1x1 conv,
:ref:`readings-mixtconv-placement`). Decisions in ``shared/papers/NOTES.md``. Backbone: He et al.'s
ResNet-50 in torchvision's layout (stride on the 3x3 conv, "v1.5"); parameter counts in the builders'
docstrings.

Network (sizes for 8 segments of 224x224, width 1, ResNet-50)::

    x (B, 3, T, 224, 224) → (B, T, 3, H, W) → (B*T, 3, 224, 224)       frames folded into the batch
      stem:   conv 7x7 x64 stride 2 → bn → relu → max-pool 3x3 stride 2     (B*T, 64, 56, 56)
      layer1: 3 Bottlenecks, 64 planes, stride 1                            (B*T, 256, 56, 56)
      layer2: 4 Bottlenecks, 128 planes, stride 2                           (B*T, 512, 28, 28)
      layer3: 6 Bottlenecks, 256 planes, stride 2                           (B*T, 1024, 14, 14)
      layer4: 3 Bottlenecks, 512 planes, stride 2                           (B*T, 2048, 7, 7)
      → (B, 2048, T, 7, 7)                                                  forward_features
      head:   average over H, W → dropout → fc per segment (B, T, K) → mean over T (consensus) (B, K)

Block: :class:`~actionrec.models.blocks.Bottleneck2d` with the temporal op (``temporal="tsm"``:
:class:`TemporalShift`, ``"mixtconv"``: :class:`MixTConv`, None: TSN) on its residual branch only
(TSM's "blockres"; the shortcut sees the raw x), built on the block's input channels ``C_in``::

    x ─┬─ temporal → conv 1x1 C_in→P → bn → relu → conv 3x3 P→P, stride → bn → relu
       │            → conv 1x1 P→4P → bn ─┐
       │                                (+) → relu → out
       └─ shortcut: identity | conv 1x1 stride → bn ─┘

Shapes: the model is built for ``num_segments`` frames (the temporal ops need T to unfold the
batch) and raises a ValueError at forward when the clip's T differs (build with ``num_segments=T``);
TSN (no temporal op) accepts any T. Any H, W >= 32 (tested at 32x32). Small CPU backbone
(``*_small``), width and init: :class:`TSN`.

Departures (:ref:`readings-mixtconv-training`): ImageNet pre-training (used by both papers) is not
loaded (no torchvision here).
TSM/MixTConv use dropout 0.5 (0.8 in TSN) before the fc; our default is 0.0 (pass ``dropout``).
The head averages per-segment logits, i.e. fc of the per-segment features then mean over T, as TSN.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from ..layers.mixtconv import MixTConv
from ..layers.temporal_shift import TemporalShift
from ..utils.checks import check_int
from .blocks import Bottleneck2d, ImageNetStem2d, resnet_stages
from .factory import get_stem2d, get_temporal_layer
from .init import check_network_args, kaiming_init_, round_channels

__all__ = ["TSN", "temporal_modules", "tsn_r50", "tsm_r50", "mstnet_r50", "tsn_small", "tsm_small", "mstnet_small"]


class TSN(nn.Module):
    """TSN-style 2D ResNet over ``num_segments`` frames with an optional temporal op. Use the builders.

    Args:
        layers: Bottleneck2d blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        stem: ``(in_channels, C0) -> module``: :class:`~actionrec.models.blocks.ImageNetStem2d`
            (ResNet-50) or :class:`~actionrec.models.blocks.SmallStem2d` (3x3 stride 2, no pool).
        temporal: ``channels -> module`` for every block's temporal slot (a TemporalShift or MixTConv
            built for ``num_segments``), or None (TSN).
        num_segments: frames per clip T (must equal the input's T when ``temporal`` is set).

    ``forward_features(x (B, C, T, H, W)) -> (B, C', T, H', W')``; ``forward_head(feats)``: spatial
    average → dropout → fc per segment → mean over T (``pre_logits=True``: the pooled ``(B, C')``).

    Small backbone for CPU runs (``*_small`` builders): the same blocks, one Bottleneck per stage
    (``layers=(1, 1, 1, 1)``), and a light stem ``conv 3x3 x C0 stride 2 → bn → relu`` without the
    max-pool (a 32x32 frame ends at 2x2 after layer4 instead of 1x1). Width multiplier ``w``: the
    stem's 64 and the planes 64/128/256/512 become ``round(c w / 8) * 8`` (at least 8).

    Init: Kaiming normal (fan_out, relu) for convs, BN weight 1 / bias 0 (``kaiming_init_``), fc
    normal(0, 0.001) bias 0 (TSN/TSM's ``normal_(0, 0.001)``); MixTConv keeps its own init (``init``:
    the official code's by default, which is *not* TSM: with kernels 1/3/5/7 it moves 3/16 of each
    block's channels, some by up to 3 frames, where TSM shifts 1/4 by one; ``init="tsm"`` with
    ``kernels=(3,)`` is the configuration that computes TSM exactly).
    """

    def __init__(
        self,
        *,
        layers: Sequence[int] = (3, 4, 6, 3),
        stem: Callable[[int, int], nn.Module] = ImageNetStem2d,
        temporal: Optional[Callable[[int], nn.Module]] = None,
        num_classes: int = 400,
        num_segments: int = 8,
        width: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        check_network_args(num_classes=num_classes, width=width, in_channels=in_channels, dropout=dropout)
        check_int("num_segments", num_segments, min_value=1)
        self.temporal, self.num_segments = temporal, num_segments
        c0 = round_channels(64 * width)
        self.stem = stem(in_channels, c0)
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        stages, c_in = resnet_stages(lambda ci, p, s: Bottleneck2d(ci, p, stride=s, temporal=temporal), c0, planes,
                                     layers, expansion=Bottleneck2d.expansion)
        for i, stage in enumerate(stages):
            setattr(self, f"layer{i + 1}", stage)
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
            op = getattr(self.temporal, "func", self.temporal).__name__
            raise ValueError(
                f"TSN with temporal op {op} was built for num_segments={self.num_segments} frames "
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


def _create_tsn(*, layers: Sequence[int], stem: str, temporal: Optional[str] = None, num_classes: int = 400,
                num_segments: int = 8, width: float = 1.0, in_channels: int = 3, dropout: float = 0.0,
                kernels: Optional[Sequence[int]] = None, dilations: Optional[Sequence[int]] = None,
                fold_div: Optional[int] = None, init: Optional[str] = None) -> TSN:
    """The config boundary: ``stem`` and ``temporal`` (with MixTConv's ``kernels``, ``dilations`` and
    ``init``, and the ``fold_div`` of TSM / MixTConv's init) resolved by :mod:`actionrec.models.factory`."""
    layer = get_temporal_layer(temporal, num_segments=num_segments, kernels=kernels, dilations=dilations,
                               fold_div=fold_div, init=init)
    return TSN(layers=layers, stem=get_stem2d(stem), temporal=layer, num_classes=num_classes,
               num_segments=num_segments, width=width, in_channels=in_channels, dropout=dropout)


_R50 = dict(layers=(3, 4, 6, 3), stem="imagenet")
_SMALL = dict(layers=(1, 1, 1, 1), stem="small", num_classes=10)


def tsn_r50(**kwargs) -> TSN:
    """TSN ResNet-50 (no temporal op): torchvision's 25,557,032 params at 1000 classes, 24,327,632 at
    400 (paper: 24.3M). Keywords: num_classes (400), num_segments (8), width (1.0), in_channels (3),
    dropout (0.0)."""
    return _create_tsn(**_R50, **kwargs)


def tsm_r50(**kwargs) -> TSN:
    """TSM ResNet-50: TemporalShift (1/8 + 1/8) before each bottleneck's conv1. Params as TSN (the
    shift has none). Keywords as :func:`tsn_r50`, plus fold_div (8)."""
    return _create_tsn(**_R50, temporal="tsm", **kwargs)


def mstnet_r50(**kwargs) -> TSN:
    """MSTNet ResNet-50: MixTConv before each bottleneck's conv1 (``sum_m C_m k_m`` params per block:
    +52,480 in all for kernels 1/3/5/7). Keywords as :func:`tsn_r50`, plus kernels ((1, 3, 5, 7)),
    dilations (None: all 1), init ("official" | "tsm" | "identity" | "random"; None: "official",
    :class:`~actionrec.layers.mixtconv.MixTConv`) and fold_div (8)."""
    return _create_tsn(**_R50, temporal="mixtconv", **kwargs)


def tsn_small(**kwargs) -> TSN:
    """Small TSN for CPU runs: one Bottleneck per stage, 3x3 stride-2 stem without max-pool; 10 classes
    by default, other keywords as :func:`tsn_r50`."""
    return _create_tsn(**dict(_SMALL, **kwargs))


def tsm_small(**kwargs) -> TSN:
    """Small TSM: :func:`tsn_small` with TemporalShift before each bottleneck's conv1 (fold_div, 8)."""
    return _create_tsn(**dict(_SMALL, temporal="tsm", **kwargs))


def mstnet_small(**kwargs) -> TSN:
    """Small MSTNet: :func:`tsn_small` with MixTConv before each bottleneck's conv1 (kernels, dilations,
    init, fold_div as :func:`mstnet_r50`)."""
    return _create_tsn(**dict(_SMALL, temporal="mixtconv", **kwargs))
