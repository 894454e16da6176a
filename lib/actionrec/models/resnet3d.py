"""r3d and r(2+1)d ResNets 18/34/50/101 with Squeeze-and-Recursion Temporal Gates (SRTG).

Papers: Stergiou & Poppe, "Learn to cycle: Time-consistent feature discovery for action
recognition" (SRTG; Sec. 3.3 and Fig. 2b: the six placements Start, Top, Mid, End, Res, Final);
Hara, Kataoka & Satoh, "Can spatiotemporal 3D CNNs retrace the history of 2D CNNs and ImageNet?"
(CVPR 2018; 3D ResNets, Table 1 layouts); Tran et al., "A closer look at spatiotemporal
convolutions for action recognition" (CVPR 2018; r3d and r(2+1)d). Layout of torchvision's
``VideoResNet``; the block's (3,3,3) conv is a class passed in (``conv_maker``), not a flag.

Network (16x224x224, width 1; E = expansion: 1 Simple, 4 Bottleneck; n1..n4: RESNET3D_DEPTHS)::

    x (B, 3, 16, 224, 224)
      stem r3d:     conv (3,7,7) x64 stride (1,2,2) → bn → relu                     (B, 64, 16, 112, 112)
      stem r(2+1)d: conv (1,7,7) x45 stride (1,2,2) → bn → relu
                    → conv (3,1,1) x64 → bn → relu                                  (B, 64, 16, 112, 112)
      layer1: n1 blocks, 64 planes,  stride 1                                       (B, 64E, 16, 112, 112)
      layer2: n2 blocks, 128 planes, stride 2 (first block)                         (B, 128E, 8, 56, 56)
      layer3: n3 blocks, 256 planes, stride 2                                       (B, 256E, 4, 28, 28)
      layer4: n4 blocks, 512 planes, stride 2                                       (B, 512E, 2, 14, 14)
      head:   global average pool → dropout → fc                                    (B, num_classes)

Gates (Sec. 3.3, Fig. 2b; drawings in :class:`SimpleBlock` and :class:`Bottleneck`, the gate itself in
:class:`VideoResNet`): one SRTGate per residual block, at the same placement in all blocks. Where its
LSTM reads and where it fuses (channels, frames; T_in / T_out = frames before / after the block's
stride; "the block configurations only differ in the relative locations of the SRTG and the LSTM
input", Sec. 3.3)::

    placement  | LSTM input                        | fusion site (the gated tensor)        | Simple     | Bottleneck
    start      | block input x                     | = LSTM input, residual branch only    | C_in, T_in | C_in, T_in
    top        | conv1 → bn → relu                 | conv2 → bn → relu, i.e. conv3's input | (error)    | P, T_in → T_out
    top conv2  | conv1 → bn → relu                 | = LSTM input, i.e. conv2's input      | (error)    | P, T_in
    mid        | Simple: conv1 → bn → relu; Bottleneck: conv2 → bn → relu; fusion = LSTM input | P, T_out | P, T_out
    end        | conv3 → bn, before the add        | = LSTM input                          | (error)    | 4P, T_out
    res        | the shortcut's output (projection)| = LSTM input                          | P, T_out   | 4P, T_out
    final      | add → relu (the block's output)   | = LSTM input                          | P, T_out   | 4P, T_out

Top (``srtg_top_fusion``, :ref:`readings-srtg-top`): "Activations of the first convolution are used by
the LSTM, with fused features being used by the final convolution" (Sec. 3.3) is the default
``"conv3"``: the LSTM reads conv1's output, the gate compares and fuses on conv2's output, the input of
conv3, so Top and Mid fuse at the same tensor and differ only in the LSTM input, as the sentence above
says. Where conv2 strides in time (the first block of stages 2-4) the LSTM runs over T_in frames and its
output and ``pool(a)`` are average-pooled over time to T_out (:func:`actionrec.layers.srtg.pool_time`)
before the gate. ``"conv2"`` ("top conv2" above) is the official code's Top: LSTM input and fusion both
at conv1's output, the fused features feeding conv2.

Checked against Sec. 3.3 and the official code (``network/srtg_resnet.py``; Fig. 2b's drawing is not in
our copy of the text): Mid, End, Final agree with both (the official Simple block names our Mid
``"top"``). Start: the official code gates the block's
input before the shortcut splits off (both paths); we gate the residual branch only, so the shortcut
keeps the raw x (the text: "the very first process in the block"; it does not name the shortcut).
Res: the official code gates the shortcut only in blocks with a projection; we gate it in every
block ("applied to the residual connection"; :ref:`readings-srtg-start-res`).

Shapes: any clip of at least 16x32x32 (each strided size becomes ceil(n / 2); 16x32x32 ends at 2x2x2).
Departures: (2+1)D mid channels per conv (Tran et al.), not per block as torchvision, so its r(2+1)d
weights do not load (its r3d_18 weights would, ``strict=False`` for gates); the stem is torchvision's /
Tran et al.'s (3,7,7) without max-pool, as the SRTG code's r3d, not Hara et al.'s (7,7,7) + max-pool
(:ref:`readings-srtg-backbones`); Start and Res as above. The official code's gate never opens
(NOTES.md); its ``srtg_*`` factories build SR networks with ``gates=False`` (the LSTM output always
fused, our ``gate="open"``; NOTES.md says plain r3d nets), Final in every block. Here each block holds a
working gate (``layers/srtg.py``).
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.srtg import PLACEMENTS, srt_gates
from ..utils.checks import check_choice
from .blocks import BasicStem, Conv2Plus1D, Conv3DSimple, R2Plus1dStem, resnet_stages, tran_mid_channels
from .factory import get_srtg_gates
from .init import check_network_args, kaiming_init_, round_channels

__all__ = [
    "VideoResNet",
    "SimpleBlock",
    "Bottleneck",
    "Conv3DSimple",
    "Conv2Plus1D",
    "BasicStem",
    "R2Plus1dStem",
    "tran_mid_channels",
    "srt_gates",
    "PLACEMENTS",
    "TOP_FUSIONS",
    "RESNET3D_DEPTHS",
    "r3d_18",
    "r3d_34",
    "r3d_50",
    "r3d_101",
    "r2plus1d_18",
    "r2plus1d_34",
    "r2plus1d_50",
    "r2plus1d_101",
]

GateMakers = Mapping[str, Callable[[int], nn.Module]]  # {placement: channels -> gate}, at most one entry
#: Top's fusion site: conv3's input (the paper, default) or conv2's input (official code).
TOP_FUSIONS = ("conv3", "conv2")


def _shortcut(in_channels: int, out_channels: int, stride: int) -> Optional[nn.Module]:
    """Projection ``conv (1,1,1) stride → bn`` when the shape changes, else None (identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, (1, 1, 1), stride=stride, bias=False),
        nn.BatchNorm3d(out_channels),
    )


class _GatedBlock(nn.Module):
    """Shared gate logic: one optional gate ``self.srtg`` applied at ``self.placement``."""

    expansion = 1
    placements: tuple[str, ...] = ()

    def _make_gate(self, gates: Optional[GateMakers], channels: dict) -> None:
        gates = dict(gates or {})
        if len(gates) > 1 or not set(gates) <= set(self.placements):
            raise ValueError(f"gates={list(gates)} must hold at most one of {', '.join(self.placements)} "
                             f"({type(self).__name__})")
        self.placement = next(iter(gates), None)
        self.srtg = None if self.placement is None else gates[self.placement](channels[self.placement])

    def _at(self, where: str, x: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The gate's output on ``x`` (its LSTM reading ``source``, default ``x``) if the block's
        placement is ``where``, else ``x`` unchanged."""
        if where != self.placement:
            return x
        return self.srtg(x) if source is None else self.srtg(x, source)

    def extra_repr(self) -> str:
        return f"placement={self.placement!r}"


class SimpleBlock(_GatedBlock):
    """Simple residual block (two (3,3,3) convs; Fig. 2b left). Placements: start, mid, res, final.

    ::

        x ─┬─[start]─ conv_maker C_in→P, stride → bn → relu ─[mid]─ conv_maker P→P → bn ─┐
           └─ shortcut (identity | conv (1,1,1) stride → bn) ─[res]──────────────────────(+) → relu ─[final]─

    ``gates``: ``{placement: channels -> gate}`` (at most one; ``[name]`` above marks each slot).
    ``(B, C_in, T, H, W) -> (B, P, ceil(T/s), ceil(H/s), ceil(W/s))``.
    """

    expansion = 1
    placements = ("start", "mid", "res", "final")

    def __init__(self, in_channels: int, planes: int, *, stride: int = 1, conv_maker: Callable[..., nn.Module] = Conv3DSimple,
                 gates: Optional[GateMakers] = None):
        super().__init__()
        self.conv1 = nn.Sequential(conv_maker(in_channels, planes, stride=stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_maker(planes, planes, stride=1), nn.BatchNorm3d(planes))
        self.downsample = _shortcut(in_channels, planes, stride)
        self._make_gate(gates, {"start": in_channels, "mid": planes, "res": planes, "final": planes})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self._at("start", x))
        out = self.conv2(self._at("mid", out))
        shortcut = self._at("res", x if self.downsample is None else self.downsample(x))
        return self._at("final", F.relu(out + shortcut))


class Bottleneck(_GatedBlock):
    """Bottleneck block (1x1x1 → (3,3,3) → 1x1x1, expansion 4; Fig. 2b right). All six placements.

    ::

        x ─┬─[start]─ conv (1,1,1) C_in→P → bn → relu ─[top "conv2"]─ conv_maker P→P, stride → bn → relu
           │        ─[mid | top "conv3"]─ conv (1,1,1) P→4P → bn ─[end]─┐
           └─ shortcut (identity | conv (1,1,1) stride → bn) ─[res]─(+) → relu ─[final]─

    Top (``top_fusion``): ``"conv3"`` (the paper, default) gates conv2's output, the input of conv3,
    with the LSTM reading conv1's output (``srtg(conv2_out, source=conv1_out)``; T_in frames pooled to
    T_out where conv2 strides); ``"conv2"`` (the official code) gates conv1's output, read by the LSTM
    too. Module docstring: why. ``gates`` as :class:`SimpleBlock`. ``(B, C_in, T, H, W) -> (B, 4P,
    ceil(T/s), ceil(H/s), ceil(W/s))``; stride in the (3,3,3) conv.
    """

    expansion = 4
    placements = PLACEMENTS

    def __init__(self, in_channels: int, planes: int, *, stride: int = 1, conv_maker: Callable[..., nn.Module] = Conv3DSimple,
                 gates: Optional[GateMakers] = None, top_fusion: str = "conv3"):
        super().__init__()
        self.top_fusion = check_choice("top_fusion", top_fusion, TOP_FUSIONS)
        out = planes * self.expansion
        self.conv1 = nn.Sequential(nn.Conv3d(in_channels, planes, (1, 1, 1), bias=False), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_maker(planes, planes, stride=stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv3 = nn.Sequential(nn.Conv3d(planes, out, (1, 1, 1), bias=False), nn.BatchNorm3d(out))
        self.downsample = _shortcut(in_channels, out, stride)
        self._make_gate(gates, {"start": in_channels, "top": planes, "mid": planes, "end": out, "res": out, "final": out})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a1 = self.conv1(self._at("start", x))  # (B, P, T, H, W): Top's LSTM input
        out = self.conv2(a1 if self.top_fusion == "conv3" else self._at("top", a1))  # (B, P, T', H', W')
        if self.top_fusion == "conv3":
            out = self._at("top", out, source=a1)  # fused features feed the final conv; the LSTM read conv1's output
        out = self.conv3(self._at("mid", out))
        out = self._at("end", out)
        shortcut = self._at("res", x if self.downsample is None else self.downsample(x))
        return self._at("final", F.relu(out + shortcut))

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", top_fusion={self.top_fusion!r}" if self.placement == "top" else "")


class VideoResNet(nn.Module):
    """r3d / r(2+1)d ResNet with an optional gate in every residual block. Use the builders.

    Args:
        block: :class:`SimpleBlock` (depths 18/34) or :class:`Bottleneck` (50/101).
        conv_maker: the blocks' (3,3,3) conv class, :class:`Conv3DSimple` or :class:`Conv2Plus1D`.
        stem: called as ``stem(in_channels, C0)``: :class:`BasicStem`, or :class:`R2Plus1dStem`
            (the builders pass its mid channels scaled by ``width`` via ``functools.partial``).
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)``.
        gates: ``{placement: channels -> gate}`` for every block (``{}``: the vanilla network).
        top_fusion: where a Top gate fuses, ``"conv3"`` (the paper) or ``"conv2"`` (official code);
            Bottleneck blocks only (:class:`Bottleneck`).

    ``forward_features(x (B, C, T, H, W)) -> (B, 512 E w, T', H', W')`` (after layer4);
    ``forward_head(feats)``: global average pool → dropout → fc (``pre_logits=True``: pooled only).

    Layout: torchvision's ``VideoResNet`` (no max-pool after the stem, stride 2 in T, H, W at stages
    2-4) and its ``conv_makers``: the block's (3,3,3) convolution is the class passed as
    ``conv_maker``, not a flag. (2+1)D mid channels are computed per conv (Tran et al.,
    :func:`tran_mid_channels`), not per block as torchvision does, so its r(2+1)d weights do not
    load here; r3d state dicts use torchvision's names and its r3d_18 weights would load (with
    ``strict=False`` for gates).

    Gates: an SRTGate (``actionrec.layers.srtg``) maps (B, C, T, H, W) to the same shape: squeeze →
    2-layer LSTM (hidden C, ``16 C^2 + 16 C`` parameters) → fuse back if cycle-consistent ("hard",
    the paper), blended by a soft score ("soft"), always ("open") or never ("closed"). The builders
    take ``srtg`` (the placement or None) and ``srtg_kwargs`` (for every gate) and hand the blocks
    ``gates = {placement: channels -> SRTGate}`` (:func:`actionrec.models.factory.get_srtg_gates`).
    :func:`srt_gates` lists a model's gates by module name (e.g. ``"layer3.1.srtg"``). A hard gate
    that stays closed passes no gradient to its LSTM; ``"soft"`` and ``"open"`` train the LSTMs from
    the start. ``"open"`` is the gate state Fig. 2a calls *inactive* (main and LSTM streams fused) and
    what the official ``srtg_*`` networks and the authors' released models use (``gates=False``).

    Width ``w``: planes 64/128/256/512 and the stem's 64 become ``round(c w / 8) * 8`` (at least
    8); the r(2+1)d stem's 45 becomes ``max(1, round(45 w))``. Init: Kaiming normal (fan_out, relu)
    for convs, BatchNorm 1 / 0, fc normal(0, 0.01) with bias 0 (torchvision); the LSTMs keep
    PyTorch's.
    """

    def __init__(
        self,
        *,
        block: type[_GatedBlock],
        conv_maker: Callable[..., nn.Module],
        stem: Callable[..., nn.Module],
        layers: Sequence[int],
        num_classes: int = 400,
        gates: Optional[GateMakers] = None,
        top_fusion: str = "conv3",
        width: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        check_network_args(num_classes=num_classes, width=width, in_channels=in_channels, dropout=dropout)
        gates = dict(gates or {})
        self.placement = next(iter(gates), None)
        c0 = round_channels(64 * width)
        self.stem = stem(in_channels, c0)
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        extra = {"top_fusion": top_fusion} if "top" in block.placements else {}  # Bottleneck only
        stages, c_in = resnet_stages(lambda ci, p, s: block(ci, p, stride=s, conv_maker=conv_maker, gates=gates, **extra),
                                     c0, planes, layers, expansion=block.expansion)
        for i, stage in enumerate(stages):
            setattr(self, f"layer{i + 1}", stage)
        self.layers, self.planes, self.num_features = tuple(layers), tuple(planes), c_in
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        kaiming_init_(self)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"VideoResNet expects (B, C, T, H, W); got {tuple(x.shape)}")
        if x.device.type == "cpu":  # oneDNN runs small-channel convs faster channels_last_3d
            x = x.contiguous(memory_format=torch.channels_last_3d)  # same values; layers keep the format
        x = self.stem(x)  # (B, C0, T, H/2, W/2)
        x = self.layer1(x)  # (B, 64 E w, T, H/2, W/2)
        x = self.layer2(x)  # (B, 128 E w, T/2, H/4, W/4)
        x = self.layer3(x)  # (B, 256 E w, T/4, H/8, W/8)
        return self.layer4(x)  # (B, 512 E w, T/8, H/16, W/16)

    def forward_head(self, feats: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """``(B, C, T', H', W')`` → global average pool ``(B, C)`` → dropout → fc ``(B, num_classes)``."""
        pooled = self.dropout(feats.mean(dim=(2, 3, 4)))  # (B, C)
        return pooled if pre_logits else self.fc(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


#: depth -> (block, blocks per stage) (Hara et al. Table 1 / He et al.).
RESNET3D_DEPTHS = {
    18: (SimpleBlock, (2, 2, 2, 2)),
    34: (SimpleBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
}


def _create_resnet3d(*, depth: int, conv_maker: Callable[..., nn.Module], stem: Callable[..., nn.Module],
                     num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None,
                     srtg_top_fusion: str = "conv3", width: float = 1.0, in_channels: int = 3,
                     dropout: float = 0.0) -> VideoResNet:
    """The config boundary: ``srtg`` (a placement or None) and ``srtg_kwargs`` resolved to the blocks'
    gates by :func:`actionrec.models.factory.get_srtg_gates`; ``srtg_top_fusion`` (Top's fusion site,
    :data:`TOP_FUSIONS`) checked; the r(2+1)d stem's mid channels (45 at width 1) scaled by ``width``."""
    block, layers = RESNET3D_DEPTHS[depth]
    gates = get_srtg_gates(srtg, srtg_kwargs, block=block)
    top_fusion = check_choice("srtg_top_fusion", srtg_top_fusion, TOP_FUSIONS)
    if stem is R2Plus1dStem:  # a bad width keeps 45 here: VideoResNet raises for it
        ok = isinstance(width, (int, float)) and width > 0
        stem = functools.partial(R2Plus1dStem, mid_channels=max(1, round(45 * width)) if ok else 45)
    return VideoResNet(block=block, conv_maker=conv_maker, stem=stem, layers=layers, num_classes=num_classes,
                       gates=gates, top_fusion=top_fusion, width=width, in_channels=in_channels, dropout=dropout)


_R3D = dict(conv_maker=Conv3DSimple, stem=BasicStem)
_R2PLUS1D = dict(conv_maker=Conv2Plus1D, stem=R2Plus1dStem)


def r3d_18(**kwargs) -> VideoResNet:
    """r3d-18: Simple blocks (2, 2, 2, 2), (3,3,3) convs. 33.4M params at width 1, 400 classes.
    Keywords: num_classes (400), srtg (None), srtg_kwargs (None), srtg_top_fusion ("conv3"; Bottleneck Top only),
    width (1.0), in_channels (3), dropout (0.0)."""
    return _create_resnet3d(depth=18, **_R3D, **kwargs)


def r3d_34(**kwargs) -> VideoResNet:
    """r3d-34: Simple blocks (3, 4, 6, 3), (3,3,3) convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=34, **_R3D, **kwargs)


def r3d_50(**kwargs) -> VideoResNet:
    """r3d-50: Bottleneck blocks (3, 4, 6, 3), (3,3,3) middle convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=50, **_R3D, **kwargs)


def r3d_101(**kwargs) -> VideoResNet:
    """r3d-101: Bottleneck blocks (3, 4, 23, 3), (3,3,3) middle convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=101, **_R3D, **kwargs)


def r2plus1d_18(**kwargs) -> VideoResNet:
    """r(2+1)d-18: Simple blocks (2, 2, 2, 2), (1,3,3)+(3,1,1) convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=18, **_R2PLUS1D, **kwargs)


def r2plus1d_34(**kwargs) -> VideoResNet:
    """r(2+1)d-34: Simple blocks (3, 4, 6, 3), (1,3,3)+(3,1,1) convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=34, **_R2PLUS1D, **kwargs)


def r2plus1d_50(**kwargs) -> VideoResNet:
    """r(2+1)d-50: Bottleneck blocks (3, 4, 6, 3), (1,3,3)+(3,1,1) middle convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=50, **_R2PLUS1D, **kwargs)


def r2plus1d_101(**kwargs) -> VideoResNet:
    """r(2+1)d-101: Bottleneck blocks (3, 4, 23, 3), (1,3,3)+(3,1,1) middle convs. Keywords as :func:`r3d_18`."""
    return _create_resnet3d(depth=101, **_R2PLUS1D, **kwargs)
