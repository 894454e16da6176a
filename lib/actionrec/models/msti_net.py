"""MSTI-Net: a ResNet-50 layout whose residual units are MSTI tubes (Wu et al., IJCAI 2020, Table 1).

Paper: Wu, Liu, Zhu, Wang & Zha, "Multi-Scale Spatial-Temporal Integration Convolutional Tube for
Human Action Recognition" (IJCAI 2020), Sec. 3.2 and Table 1; tube in ``actionrec.layers.msti``.
No public code exists.

Network (Table 1; sizes for a 16x224x224 clip at width 1; P = planes, units output 4P)::

    x (B, 3, 16, 224, 224)
      stem:    conv (3,7,7) x64 stride (1,2,2) → bn → relu                 (B, 64, 16, 112, 112)
               max-pool (3,3,3) stride (1,2,2), padding 1                  (B, 64, 16, 56, 56)
      layer1:  3 units, P=64,  first stride (2,1,1)                        (B, 256, 8, 56, 56)
      layer2:  4 units, P=128, first stride (1,2,2)                        (B, 512, 8, 28, 28)
      layer3:  6 units, P=256, first stride (1,2,2)                        (B, 1024, 8, 14, 14)
      layer4:  3 units, P=512, first stride (1,2,2)                        (B, 2048, 8, 7, 7)
      head:    global average pool → dropout → fc                          (B, num_classes)

Table 1's "Repeat 1 / 2, 3, 5, 2" rows are the first (strided) unit plus the repeats: (3, 4, 6, 3)
units, ResNet-50. No temporal striding after conv2_x ("we don't apply the temporal pooling in the
last three convolutional blocks"), so T stays 8.

Units: the builders' ``variant`` "msti" (MSTITube), "ms_st", "ms_s", "ms_t" (MSTITube ablation
variants, Table 2: P3D-B's two parallel branches with one or both made multi-scale, see
``layers/msti.py``), "p3d_b" (P3DBBlock, the baseline), or "ms_s_only" / "ms_t_only" (one stepped
branch alone; not Table 2 rows), with ``groups`` = N (4, Sec. 3.1), resolved by
:func:`actionrec.models.factory.get_msti_unit` into the ``unit`` callable :class:`MSTINet` takes;
all share the bottleneck interface ``unit(C_in, P, stride=...)`` with output 4P.

Scaling for CPU runs: ``width`` multiplies the stem's 64 and the planes 64/128/256/512 (each
rounded to a multiple of 8, at least 8, so divisible by the N = 4 groups); ``depths`` sets units per
stage (:func:`msti_net_small`). Any clip of at least 16x32x32 works: strided convs and the pool are
padded so each size becomes ceil(n / 2); 16x32x32 ends at 8x1x1 after layer4 (tested).

Init: Kaiming normal (fan_out, relu) for all convs incl. the CAW 1x1x1 convs, bn 1 / 0
(``kaiming_init_``); CAW fc layers keep PyTorch's default; classifier normal(0, 0.01), bias 0.

Departures / open choices: the stride of a stage's first unit is an average pool before its
reduce (1,1,1) conv (see ``layers/msti.py``); the stem conv has padding (1,3,3) and the max-pool padding 1 (the paper gives
neither; these give Table 1's output sizes). Sec. 4.2 runs the ablation on an 8-conv backbone we do
not have the details of; our ablation swaps the unit type inside this network instead
(:ref:`readings-msti-network`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn

from ..layers.msti import MSTITube
from ..utils.checks import check_int
from .blocks import resnet_stages
from .factory import MSTI_UNITS, get_msti_unit
from .init import check_network_args, kaiming_init_, round_channels

__all__ = ["MSTINet", "MSTI_NET_VARIANTS", "msti_net_50", "msti_net_small"]

MSTI_NET_VARIANTS = MSTI_UNITS
_STRIDES = ((2, 1, 1), (1, 2, 2), (1, 2, 2), (1, 2, 2))  # first unit of conv2_x..conv5_x (Table 1)


class MSTINet(nn.Module):
    """MSTI-Net (Table 1) with a choice of residual unit; use :func:`msti_net_50` / :func:`msti_net_small`.

    Args:
        unit: ``(C_in, P, *, stride) -> module`` with output 4P: an MSTITube variant (a
            ``functools.partial``) or :class:`~actionrec.layers.msti.P3DBBlock`.
        depths: units per stage, e.g. ``(3, 4, 6, 3)``.

    ``forward_features(x (B, C, T, H, W)) -> (B, 2048 w, T/2, H/32, W/32)`` (after layer4);
    ``forward_head(feats)``: global average pool → dropout → fc (``pre_logits=True``: pooled only).
    """

    def __init__(self, *, unit: Callable[..., nn.Module] = MSTITube, depths: Sequence[int] = (3, 4, 6, 3),
                 num_classes: int = 400, width: float = 1.0, in_channels: int = 3, dropout: float = 0.0):
        super().__init__()
        check_network_args(num_classes=num_classes, width=width, in_channels=in_channels, dropout=dropout)
        if not (isinstance(depths, (tuple, list)) and len(depths) == 4
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in depths)):
            raise ValueError(f"depths={depths!r} must be 4 ints >= 1 (units per stage), e.g. (3, 4, 6, 3)")
        c0 = round_channels(64 * width)
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, c0, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(c0),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1)),
        )
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        stages, c_in = resnet_stages(lambda ci, p, s: unit(ci, p, stride=s), c0, planes, depths,
                                     expansion=MSTITube.expansion, first_strides=_STRIDES, unit_stride=(1, 1, 1))
        for i, stage in enumerate(stages):
            setattr(self, f"layer{i + 1}", stage)
        self.depths, self.planes, self.num_features = tuple(depths), tuple(planes), c_in
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)
        kaiming_init_(self)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"MSTINet expects (B, C, T, H, W); got {tuple(x.shape)}")
        x = self.stem(x)  # (B, 64w, T, H/4, W/4)
        x = self.layer1(x)  # (B, 256w, T/2, H/4, W/4)
        x = self.layer2(x)  # (B, 512w, T/2, H/8, W/8)
        x = self.layer3(x)  # (B, 1024w, T/2, H/16, W/16)
        return self.layer4(x)  # (B, 2048w, T/2, H/32, W/32)

    def forward_head(self, feats: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """``(B, C, T', H', W')`` → global average pool ``(B, C)`` → dropout → fc ``(B, num_classes)``."""
        pooled = self.dropout(feats.mean(dim=(2, 3, 4)))  # (B, C)
        return pooled if pre_logits else self.fc(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _create_msti_net(*, depths: Sequence[int], variant: str = "msti", groups: int = 4, num_classes: int = 400,
                     width: float = 1.0, in_channels: int = 3, dropout: float = 0.0) -> MSTINet:
    """The config boundary: ``variant`` (msti | ms_st | ms_s | ms_t | p3d_b | ms_s_only | ms_t_only,
    case-insensitive) and ``groups`` (N of eq. 1-3; unused by p3d_b) resolved to the unit by
    :func:`actionrec.models.factory.get_msti_unit`."""
    check_int("groups", groups, min_value=1)
    return MSTINet(unit=get_msti_unit(variant, groups=groups), depths=depths, num_classes=num_classes, width=width,
                   in_channels=in_channels, dropout=dropout)


_SMALL = dict(width=0.25, depths=(1, 1, 1, 1))


def msti_net_50(**kwargs) -> MSTINet:
    """MSTI-Net-50 (Table 1): units (3, 4, 6, 3). Keywords: num_classes (400), variant ("msti"; also
    ms_st, ms_s, ms_t, p3d_b, ms_s_only, ms_t_only), groups (4), width (1.0), in_channels (3),
    dropout (0.0)."""
    return _create_msti_net(depths=(3, 4, 6, 3), **kwargs)


def msti_net_small(**kwargs) -> MSTINet:
    """CPU-sized MSTI-Net: Table 1's layout at ``width`` 0.25 (planes 16/32/64/128) and ``depths``
    ((1, 1, 1, 1)) units per stage; other keywords as :func:`msti_net_50`."""
    return _create_msti_net(**dict(_SMALL, **kwargs))
