"""Helpers shared by the video CNNs (MTNet, r3d / r(2+1)d ResNets, TSN, MSTI-Net, two-stream nets):
weight init, the width multiplier's channel rounding, and the checks of the arguments every
network takes (``width``, ``dropout``)."""

from __future__ import annotations

import torch.nn as nn

from ..utils.checks import check_float, check_int, fail

__all__ = ["kaiming_init_", "round_channels", "check_width", "check_dropout", "check_network_args"]


def check_network_args(*, num_classes, width, in_channels, dropout) -> None:
    """ValueError naming the first of the arguments every network takes that is invalid: ``num_classes``
    and ``in_channels`` ints >= 1, ``width`` > 0, ``dropout`` in [0, 1)."""
    check_width(width)
    check_int("num_classes", num_classes, min_value=1)
    check_int("in_channels", in_channels, min_value=1)
    check_dropout("dropout", dropout)


def check_width(width) -> float:
    """``width`` (the channel multiplier) as a float if it is a finite number > 0, else ValueError."""
    return check_float("width", width, positive=True)


def check_dropout(name: str, p) -> float:
    """The dropout probability ``p`` (parameter ``name``) as a float if it is in [0, 1), else ValueError."""
    if check_float(name, p, min_value=0.0, max_value=1.0) == 1.0:
        fail(name, p, "a finite number in [0, 1)")
    return float(p)


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
