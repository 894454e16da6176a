"""Building blocks: the 2D residual bottleneck and stems of the frame networks (TSN / TSM / MSTNet,
two-stream nets), and the 3D conv makers and stems of the r3d / r(2+1)d ResNets.

2D bottleneck. Paper: He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), the ResNet-50
bottleneck in torchvision's layout (stride on the 3x3 conv, "v1.5"). The networks that use it fold
the T frames of a clip into the batch, ``(B*T, C, H, W)``, and put their temporal operation into
one of three slots of the block, each a callable ``channels -> nn.Module`` (None: empty)::

    Bottleneck2d(C_in -> 4P):
      x ─┬─ [temporal] → conv 1x1 C_in→P → bn → relu → conv 3x3 P→P, stride → bn → relu
         │                → [residual_filter] → conv 1x1 P→4P → bn ─┐
         │                                                        (+) → relu → out
         └─ shortcut: identity | conv 1x1 stride → bn → [shortcut_filter] ─┘

    temporal          TSM's TemporalShift / MixTConv (built for num_segments), on the residual
                      branch only (TSM's "blockres"; the shortcut sees the raw x): ``m(y)``
    residual_filter   ST-Multiplier temporal filter after the 3x3 conv (Feichtenhofer et al. eq. 8,
                      † / ‡): ``m.forward_frames(y, t)``
    shortcut_filter   the same on the shortcut (‡): ``m.forward_frames(identity, t)``

``forward(x, branch=None, *, t=None)``: ``x`` feeds the shortcut and, unless ``branch`` is given, the
residual branch (a cross-stream connection hands the two paths different inputs); ``t`` = frames per
clip, needed by the filter slots only. Shapes ``(B*T, C_in, H, W) -> (B*T, 4P, ceil(H/s), ceil(W/s))``.

Stems (``stem(in_channels, out_channels)``): :class:`ImageNetStem2d` ``conv 7x7 /2 → bn → relu →
max-pool 3x3 /2`` (H/4) and :class:`SmallStem2d` ``conv 3x3 /2 → bn → relu`` (H/2; the CPU-sized
networks).

3D conv makers (torchvision's ``conv_makers``: the (3,3,3) convolution of a video ResNet block,
``maker(N_in, N_out, stride=s)``): :class:`Conv3DSimple` (r3d) and :class:`Conv2Plus1D` (r(2+1)d;
Tran et al., "A closer look at spatiotemporal convolutions for action recognition", CVPR 2018,
Sec. 3.5): every (3,3,3) conv N_in→N_out becomes (1,3,3) N_in→M then (3,1,1) M→N_out with
``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (t = d = 3), so the pair holds (almost
exactly) the parameters of the 3D conv (:func:`tran_mid_channels`). Departure: torchvision computes
one M per block from the block's input planes and reuses it for both convs of a Simple block, so
its r(2+1)d weights do not load here. Stems :class:`BasicStem` (r3d) and :class:`R2Plus1dStem`.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

__all__ = ["Bottleneck2d", "ImageNetStem2d", "SmallStem2d", "TemporalSlot", "tran_mid_channels", "Conv3DSimple",
           "Conv2Plus1D", "BasicStem", "R2Plus1dStem"]

TemporalSlot = Optional[Callable[[int], nn.Module]]  # channels -> module, or None for an empty slot


class ImageNetStem2d(nn.Sequential):
    """ResNet stem: conv 7x7 in→C, stride 2 → bn → relu → max-pool 3x3 stride 2. ``(N, in, H, W) -> (N, C, H/4, W/4)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1),
        )


class SmallStem2d(nn.Sequential):
    """Light stem for small frames: conv 3x3 in→C, stride 2 → bn → relu. ``(N, in, H, W) -> (N, C, H/2, W/2)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Bottleneck2d(nn.Module):
    """torchvision's ResNet Bottleneck on folded frames with three temporal slots (module docstring).

    Args:
        in_channels: C_in; planes: P (output 4P).
        stride: of the 3x3 conv and the projection shortcut.
        temporal, residual_filter, shortcut_filter: ``channels -> module`` or None; built on C_in,
            P and 4P channels.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, *, stride: int = 1, temporal: TemporalSlot = None,
                 residual_filter: TemporalSlot = None, shortcut_filter: TemporalSlot = None):
        super().__init__()
        c_out = planes * self.expansion
        self.c_in, self.c_out = in_channels, c_out
        self.temporal = temporal(in_channels) if temporal is not None else None
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (None if stride == 1 and in_channels == c_out else
                           nn.Sequential(nn.Conv2d(in_channels, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)))
        self.tf_residual = residual_filter(planes) if residual_filter is not None else None
        self.tf_shortcut = shortcut_filter(c_out) if shortcut_filter is not None else None

    def forward(self, x: torch.Tensor, branch: Optional[torch.Tensor] = None, *, t: Optional[int] = None) -> torch.Tensor:
        y = x if branch is None else branch  # (B*T, C_in, H, W)
        if self.temporal is not None:
            y = self.temporal(y)  # residual branch only ("blockres")
        y = self.relu(self.bn1(self.conv1(y)))
        y = self.relu(self.bn2(self.conv2(y)))  # (B*T, P, H', W')
        if self.tf_residual is not None:
            y = self.tf_residual.forward_frames(y, t)
        y = self.bn3(self.conv3(y))  # (B*T, 4P, H', W')
        identity = x if self.downsample is None else self.downsample(x)
        if self.tf_shortcut is not None:
            identity = self.tf_shortcut.forward_frames(identity, t)
        return self.relu(y + identity)


def tran_mid_channels(in_channels: int, out_channels: int, *, t: int = 3, d: int = 3) -> int:
    """``floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (Tran et al.): the (2+1)D mid channels M.

    With ``M`` the pair (1,d,d) N_in→M + (t,1,1) M→N_out holds ``M (d^2 N_in + t N_out)`` weights,
    at most (and within one M-step of) the ``t d^2 N_in N_out`` of the (t,d,d) conv it replaces.
    """
    return (t * d * d * in_channels * out_channels) // (d * d * in_channels + t * out_channels)


class Conv3DSimple(nn.Conv3d):
    """r3d's conv maker: one (3,3,3) conv, padding 1, ``stride`` in T, H, W, no bias.

    ``(B, N_in, T, H, W) -> (B, N_out, ceil(T/s), ceil(H/s), ceil(W/s))``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1):
        super().__init__(in_channels, out_channels, (3, 3, 3), stride=stride, padding=(1, 1, 1), bias=False)


class Conv2Plus1D(nn.Sequential):
    """r(2+1)d's conv maker (Tran et al.): spatial (1,3,3) → bn → relu → temporal (3,1,1).

    ::

        x (B, N_in, T, H, W) → conv (1,3,3) N_in→M, stride (1,s,s) → bn → relu
                             → conv (3,1,1) M→N_out, stride (s,1,1)      (B, N_out, T/s, H/s, W/s)

    ``M = tran_mid_channels(N_in, N_out)`` unless ``mid_channels`` is given. Like
    :class:`Conv3DSimple`, its output still goes through the block's bn (→ relu).
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1, mid_channels: Optional[int] = None):
        mid = tran_mid_channels(in_channels, out_channels) if mid_channels is None else int(mid_channels)
        if mid < 1:
            raise ValueError(f"mid_channels={mid} must be >= 1")
        super().__init__(
            nn.Conv3d(in_channels, mid, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, out_channels, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
        )


class BasicStem(nn.Sequential):
    """r3d stem: conv (3,7,7) in→C, stride (1,2,2), padding (1,3,3) → bn → relu. (B, C, T, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv3d(in_channels, out_channels, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(out_channels),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """r(2+1)d stem (torchvision): conv (1,7,7) in→M, stride (1,2,2) → bn → relu → conv (3,1,1) M→C → bn → relu.

    ``M = 45`` at width 1 (torchvision's constant). ``(B, in, T, H, W) -> (B, C, T, H/2, W/2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, mid_channels: int = 45):
        super().__init__(
            nn.Conv3d(in_channels, mid_channels, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid_channels, out_channels, (3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(out_channels),
            nn.ReLU(inplace=True),
        )


def resnet_stages(make_block: Callable[[int, int, object], nn.Module], c_in: int, planes: Sequence[int],
                  layers: Sequence[int], *, expansion: int, first_strides: Sequence[object] = (1, 2, 2, 2),
                  unit_stride: object = 1) -> tuple[list[nn.Sequential], int]:
    """The stages of a ResNet-style network, built in order.

    Stage ``i`` holds ``layers[i]`` blocks ``make_block(c_in, planes[i], stride)`` with ``planes[i] *
    expansion`` output channels; its first block has stride ``first_strides[i]``, the others
    ``unit_stride``. Returns the stages (``nn.Sequential`` each) and the output channels of the last.
    """
    stages = []
    for p, n, s in zip(planes, layers, first_strides):
        blocks = []
        for j in range(n):
            blocks.append(make_block(c_in, p, s if j == 0 else unit_stride))
            c_in = p * expansion
        stages.append(nn.Sequential(*blocks))
    return stages, c_in
