"""Helpers shared by the video CNNs (MTNet, r3d / r(2+1)d ResNets, TSN, MSTI-Net): weight init and
the width multiplier's channel rounding."""

from __future__ import annotations

import torch.nn as nn

__all__ = ["kaiming_init_", "round_channels"]


def kaiming_init_(module: nn.Module) -> nn.Module:
    """In place: Kaiming normal (fan_out, relu) for every 2D/3D conv, batch norm weight 1 / bias 0.

    The "standard Kaiming initialization" both papers state (He et al. 2015; torchvision's video
    ResNets do the same). Linear layers and recurrent cells are left as they are. Returns ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def round_channels(c: float, divisor: int = 8) -> int:
    """``c`` (a channel count times a width multiplier) rounded to the nearest multiple of
    ``divisor``, at least ``divisor``."""
    return max(divisor, int(round(c / divisor)) * divisor)
