"""r3d and r(2+1)d ResNets 18/34/50/101 with Squeeze-and-Recursion Temporal Gates (SRTG).

Papers: Stergiou & Poppe, "Learn to cycle: Time-consistent feature discovery for action
recognition" (SRTG; Sec. 3.3 and Fig. 2b: the six placements Start, Top, Mid, End, Res, Final);
Hara, Kataoka & Satoh, "Can spatiotemporal 3D CNNs retrace the history of 2D CNNs and ImageNet?"
(CVPR 2018; 3D ResNets, Table 1 layouts); Tran et al., "A closer look at spatiotemporal
convolutions for action recognition" (CVPR 2018; r3d and r(2+1)d, eq. for the (2+1)D mid channels).
The layout follows torchvision's ``VideoResNet`` (no max-pool after the stem, stride 2 in T, H, W
at stages 2-4) and its ``conv_makers`` idea: the block's 3x3x3 convolution is a class passed in
(:class:`Conv3DSimple` for r3d, :class:`Conv2Plus1D` for r(2+1)d), not a flag.

Network (sizes for a 16x224x224 clip, width 1; E = block expansion, 1 Simple / 4 Bottleneck)::

    x (B, 3, 16, 224, 224)
      stem r3d:     conv (3,7,7) x64 stride (1,2,2) → bn → relu                     (B, 64, 16, 112, 112)
      stem r(2+1)d: conv (1,7,7) x45 stride (1,2,2) → bn → relu
                    → conv (3,1,1) x64 → bn → relu                                  (B, 64, 16, 112, 112)
      layer1: n1 blocks, 64 planes,  stride 1                                       (B, 64E, 16, 112, 112)
      layer2: n2 blocks, 128 planes, stride 2 (first block)                         (B, 128E, 8, 56, 56)
      layer3: n3 blocks, 256 planes, stride 2                                       (B, 256E, 4, 28, 28)
      layer4: n4 blocks, 512 planes, stride 2                                       (B, 512E, 2, 14, 14)
      head:   global average pool → dropout → fc                                    (B, num_classes)

    depth 18: Simple (2,2,2,2)   depth 34: Simple (3,4,6,3)
    depth 50: Bottleneck (3,4,6,3)   depth 101: Bottleneck (3,4,23,3)

Blocks (Fig. 2b). ``[name]`` marks where the block's SRTGate sits for placement ``name``; exactly
one of them is used (one gate in every residual block, the same placement in all blocks)::

    SimpleBlock(C_in -> P), expansion 1:

      x ─┬─[start]─ conv (3,3,3) C_in→P, stride → bn → relu ─[mid]─ conv (3,3,3) P→P → bn ─┐
         │                                                                               (+) → relu ─[final]─ out
         └─ shortcut: identity | conv (1,1,1) stride → bn ─────────────────[res]─────────┘

    Bottleneck(C_in -> 4P), expansion 4:

      x ─┬─[start]─ conv (1,1,1) C_in→P → bn → relu ─[top]─ conv (3,3,3) P→P, stride → bn → relu
         │          ─[mid]─ conv (1,1,1) P→4P → bn ─[end]─┐
         │                                              (+) → relu ─[final]─ out
         └─ shortcut: identity | conv (1,1,1) stride → bn ─[res]─┘

    conv (3,3,3) is the block's conv maker: Conv3DSimple = one (3,3,3) conv;
    Conv2Plus1D = conv (1,3,3) N_in→M, stride (1,s,s) → bn → relu → conv (3,1,1) M→N_out, stride (s,1,1).

What each gate sees (channels; T_in / T_out = frames before / after the block's stride)::

    placement | Simple        | Bottleneck    | branch / path it acts on
    start     | C_in, T_in    | C_in, T_in    | residual branch input (the shortcut gets the raw x)
    top       | (ValueError)  | P,    T_in    | after conv1 → bn → relu; fused features feed conv2, conv3
    mid       | P,    T_out   | P,    T_out   | Simple: between the convs; Bottleneck: after conv2 → bn → relu
    end       | (ValueError)  | 4P,   T_out   | after conv3 → bn, before the add
    res       | P,    T_out   | 4P,   T_out   | the shortcut's output (after the projection, if any)
    final     | P,    T_out   | 4P,   T_out   | after add → relu (the block's output)

An SRTGate (``actionrec.layers.srtg``) maps (B, C, T, H, W) to the same shape: squeeze (mean over
H, W) → 2-layer LSTM (hidden C) → fuse back if the clip's pooled features and LSTM outputs are
cycle-consistent (gate "hard", the paper), blended by a soft score ("soft"), always ("open") or
never ("closed"); ``srtg_kwargs`` are passed to it. :func:`srt_gates` lists a model's gates with
their module names (e.g. ``"layer3.1.srtg"``) for inspecting ``gate.last`` after a forward.
Measured at init (r3d/r(2+1)d-18 with every Simple placement and r3d-50 with Top/End/Final, width
0.25, 32 SynthActions clips of 16x32x32, eval mode): not one hard gate opened (most layers have
0-5 % cycle-consistent frames, layer4 up to 50 %, never all of them). A hard gate that stays closed
passes no gradient to its LSTM, so such a network trains as the vanilla one; ``"soft"`` trains the
LSTMs from the start.

Gate size: the LSTM's hidden size is the gate's C, so a gate holds ``16 C^2 + 16 C`` parameters
(2 layers); at width 1 that is 20.2M for r3d-18/34 Final but 322M for r3d-50 Final (C up to 2048)
and 608M for r3d-101 Final, while adding only 0.02-0.6 % MACs (``benchmarks/srtg_complexity.py``).

(2+1)D mid channels (Tran et al. Sec. 3.5): every (3,3,3) conv N_in→N_out becomes (1,3,3) N_in→M
then (3,1,1) M→N_out with ``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (t = d = 3), so
the (2+1)D pair holds (almost exactly) the parameters of the 3D conv (:func:`tran_mid_channels`).

Shapes: any clip of at least 16x32x32 works (every strided conv has padding, so each size
becomes ceil(n / 2) and never 0; 16x32x32 ends at 2x2x2 after layer4; tested for every builder).
Width multiplier ``w``: stage planes 64/128/256/512 and the stem's 64 become ``round(c w / 8) * 8``
(at least 8); the r(2+1)d stem's 45 becomes ``max(1, round(45 w))``.

Init: Kaiming normal (fan_out, relu) for convs, BatchNorm weight 1 / bias 0, fc normal(0, 0.01)
with bias 0 (torchvision's VideoResNet); the gates' LSTMs keep PyTorch's defaults.

Departures:
  * (2+1)D mid channels are computed per conv from that conv's own N_in, N_out (Tran et al.);
    torchvision computes one M per block from the block's input planes and reuses it for both
    (3,3,3) convs of a Simple block (and for the Bottleneck's P→P conv), so its r(2+1)d weights
    do not load here; r3d state dicts use torchvision's names (``stem``, ``layerN.i.conv1.0``,
    ``downsample``, ``fc``) and torchvision's r3d_18 weights would load (with ``strict=False`` for
    gates).
  * Hara et al.'s 3D ResNets use a (7,7,7) stem conv and a max-pool after it; we follow
    torchvision/Tran et al. ((3,7,7), no pool), as the brief (and the SRTG code's r3d) does.
  * The paper does not say whether Start gates the shortcut too, nor where on a projection
    shortcut Res sits: Start acts on the residual branch only, Res after the projection.
  * The official SRTG code builds plain r3d nets in its ``srtg_*`` factories and its gate never
    opens (NOTES.md); here each block holds a working gate (see ``layers/srtg.py``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.srtg import SRTGate, srt_gates
from .init import kaiming_init_, round_channels

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

PLACEMENTS = ("start", "top", "mid", "end", "res", "final")  # Fig. 2b


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


def _shortcut(in_channels: int, out_channels: int, stride: int) -> Optional[nn.Module]:
    """Projection ``conv (1,1,1) stride → bn`` when the shape changes, else None (identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, (1, 1, 1), stride=stride, bias=False),
        nn.BatchNorm3d(out_channels),
    )


class _SRTGBlock(nn.Module):
    """Shared placement logic: one optional SRTGate ``self.srtg`` applied at ``self.placement``."""

    expansion = 1
    placements: tuple[str, ...] = ()

    def _make_gate(self, placement: Optional[str], channels: dict, srtg_kwargs: Optional[dict]) -> None:
        self.placement = _check_placement(placement, self.placements, type(self).__name__)
        self.srtg = None if self.placement is None else SRTGate(channels[self.placement], **(srtg_kwargs or {}))

    def _at(self, where: str, x: torch.Tensor) -> torch.Tensor:
        """The gate's output if the block's placement is ``where``, else ``x`` unchanged."""
        return self.srtg(x) if where == self.placement else x

    def extra_repr(self) -> str:
        return f"placement={self.placement!r}"


class SimpleBlock(_SRTGBlock):
    """Simple residual block (two (3,3,3) convs; Fig. 2b left). Placements: start, mid, res, final.

    ::

        x ─┬─[start]─ conv_maker C_in→P, stride → bn → relu ─[mid]─ conv_maker P→P → bn ─┐
           └─ shortcut (identity | conv (1,1,1) stride → bn) ─[res]──────────────────────(+) → relu ─[final]─

    ``(B, C_in, T, H, W) -> (B, P, ceil(T/s), ceil(H/s), ceil(W/s))``.
    """

    expansion = 1
    placements = ("start", "mid", "res", "final")

    def __init__(self, in_channels: int, planes: int, *, stride: int = 1, conv_maker: Callable[..., nn.Module] = Conv3DSimple,
                 srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None):
        super().__init__()
        self.conv1 = nn.Sequential(conv_maker(in_channels, planes, stride=stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_maker(planes, planes, stride=1), nn.BatchNorm3d(planes))
        self.downsample = _shortcut(in_channels, planes, stride)
        self._make_gate(srtg, {"start": in_channels, "mid": planes, "res": planes, "final": planes}, srtg_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self._at("start", x))
        out = self.conv2(self._at("mid", out))
        shortcut = self._at("res", x if self.downsample is None else self.downsample(x))
        return self._at("final", F.relu(out + shortcut))


class Bottleneck(_SRTGBlock):
    """Bottleneck block (1x1x1 → (3,3,3) → 1x1x1, expansion 4; Fig. 2b right). All six placements.

    ::

        x ─┬─[start]─ conv (1,1,1) C_in→P → bn → relu ─[top]─ conv_maker P→P, stride → bn → relu
           │        ─[mid]─ conv (1,1,1) P→4P → bn ─[end]─┐
           └─ shortcut (identity | conv (1,1,1) stride → bn) ─[res]─(+) → relu ─[final]─

    ``(B, C_in, T, H, W) -> (B, 4P, ceil(T/s), ceil(H/s), ceil(W/s))``; stride in the (3,3,3) conv.
    """

    expansion = 4
    placements = PLACEMENTS

    def __init__(self, in_channels: int, planes: int, *, stride: int = 1, conv_maker: Callable[..., nn.Module] = Conv3DSimple,
                 srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Sequential(nn.Conv3d(in_channels, planes, (1, 1, 1), bias=False), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_maker(planes, planes, stride=stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv3 = nn.Sequential(nn.Conv3d(planes, out, (1, 1, 1), bias=False), nn.BatchNorm3d(out))
        self.downsample = _shortcut(in_channels, out, stride)
        self._make_gate(srtg, {"start": in_channels, "top": planes, "mid": planes, "end": out, "res": out, "final": out},
                        srtg_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self._at("start", x))
        out = self.conv2(self._at("top", out))
        out = self.conv3(self._at("mid", out))
        out = self._at("end", out)
        shortcut = self._at("res", x if self.downsample is None else self.downsample(x))
        return self._at("final", F.relu(out + shortcut))


def _check_placement(placement: Optional[str], allowed: Sequence[str], block: str) -> Optional[str]:
    if placement is None:
        return None
    if not isinstance(placement, str) or placement.lower() not in PLACEMENTS:
        raise ValueError(f"srtg={placement!r} must be None or one of {', '.join(PLACEMENTS)} (case-insensitive)")
    p = placement.lower()
    if p not in allowed:
        raise ValueError(
            f"srtg={placement!r}: placement {p!r} needs a Bottleneck block (Fig. 2b); {block}s "
            f"(depths 18/34) allow only {', '.join(allowed)}; use depth 50/101 for {p!r}"
        )
    return p


def _check_srtg_kwargs(srtg_kwargs) -> dict:
    if srtg_kwargs is None:
        return {}
    if not isinstance(srtg_kwargs, dict):
        raise ValueError(f"srtg_kwargs={srtg_kwargs!r} must be a dict of SRTGate keyword arguments or None")
    params = inspect.signature(SRTGate.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
        bad = sorted(set(srtg_kwargs) - set(valid))
        if bad:
            raise ValueError(f"srtg_kwargs: unknown SRTGate argument(s) {bad}; valid: {', '.join(valid)}")
    return dict(srtg_kwargs)


class VideoResNet(nn.Module):
    """r3d / r(2+1)d ResNet with an optional SRTGate in every residual block. Use the builders.

    Args:
        block: :class:`SimpleBlock` (depths 18/34) or :class:`Bottleneck` (50/101).
        conv_maker: the blocks' (3,3,3) conv class, :class:`Conv3DSimple` or :class:`Conv2Plus1D`.
        stem: called as ``stem(in_channels, C0)``: :class:`BasicStem`, or :class:`R2Plus1dStem`
            (the builders pass its mid channels scaled by ``width`` via ``functools.partial``).
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)``.
        srtg: placement of the gates (``None`` = vanilla network), see the module docstring.
        srtg_kwargs: keyword arguments of every :class:`SRTGate` (ignored when ``srtg`` is None).

    ``forward_features(x (B, C, T, H, W)) -> (B, 512 E w, T', H', W')`` (after layer4);
    ``forward_head(feats)``: global average pool → dropout → fc (``pre_logits=True``: pooled only).
    """

    def __init__(
        self,
        *,
        block: type[_SRTGBlock],
        conv_maker: Callable[..., nn.Module],
        stem: Callable[..., nn.Module],
        layers: Sequence[int],
        num_classes: int = 400,
        srtg: Optional[str] = None,
        srtg_kwargs: Optional[dict] = None,
        width: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        if not (isinstance(width, (int, float)) and width > 0):
            raise ValueError(f"width={width!r} must be a number > 0")
        if int(num_classes) < 1:
            raise ValueError(f"num_classes={num_classes} must be >= 1")
        if int(in_channels) < 1:
            raise ValueError(f"in_channels={in_channels} must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must be in [0, 1)")
        self.placement = _check_placement(srtg, block.placements, block.__name__)
        kw = _check_srtg_kwargs(srtg_kwargs) if self.placement else {}
        c0 = round_channels(64 * width)
        self.stem = stem(in_channels, c0)
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        c_in = c0
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(c_in, p, stride=stride, conv_maker=conv_maker, srtg=self.placement, srtg_kwargs=kw))
                c_in = p * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
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
        if x.device.type == "cpu":  # oneDNN: small-channel convs are 1.3-1.7x faster channels_last_3d
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


RESNET3D_DEPTHS = {  # depth: (block, blocks per stage) (Hara et al. Table 1 / He et al.)
    18: (SimpleBlock, (2, 2, 2, 2)),
    34: (SimpleBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
}


def _build(depth: int, kind: str, **kwargs) -> VideoResNet:
    block, layers = RESNET3D_DEPTHS[depth]
    if kind == "r3d":
        conv_maker, stem = Conv3DSimple, BasicStem
    else:
        width = kwargs.get("width", 1.0)
        mid = max(1, round(45 * width)) if isinstance(width, (int, float)) and width > 0 else 45  # bad width: VideoResNet raises
        conv_maker, stem = Conv2Plus1D, functools.partial(R2Plus1dStem, mid_channels=mid)
    return VideoResNet(block=block, conv_maker=conv_maker, stem=stem, layers=layers, **kwargs)


def r3d_18(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None, width: float = 1.0,
           in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r3d-18: Simple blocks (2, 2, 2, 2), (3,3,3) convs. 33.4M params at width 1, 400 classes."""
    return _build(18, "r3d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r3d_34(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None, width: float = 1.0,
           in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r3d-34: Simple blocks (3, 4, 6, 3), (3,3,3) convs."""
    return _build(34, "r3d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r3d_50(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None, width: float = 1.0,
           in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r3d-50: Bottleneck blocks (3, 4, 6, 3), (3,3,3) middle convs."""
    return _build(50, "r3d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r3d_101(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None, width: float = 1.0,
            in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r3d-101: Bottleneck blocks (3, 4, 23, 3), (3,3,3) middle convs."""
    return _build(101, "r3d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r2plus1d_18(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None,
                width: float = 1.0, in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r(2+1)d-18: Simple blocks (2, 2, 2, 2), (1,3,3)+(3,1,1) convs."""
    return _build(18, "r2plus1d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r2plus1d_34(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None,
                width: float = 1.0, in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r(2+1)d-34: Simple blocks (3, 4, 6, 3), (1,3,3)+(3,1,1) convs."""
    return _build(34, "r2plus1d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r2plus1d_50(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None,
                width: float = 1.0, in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r(2+1)d-50: Bottleneck blocks (3, 4, 6, 3), (1,3,3)+(3,1,1) middle convs."""
    return _build(50, "r2plus1d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)


def r2plus1d_101(*, num_classes: int = 400, srtg: Optional[str] = None, srtg_kwargs: Optional[dict] = None,
                 width: float = 1.0, in_channels: int = 3, dropout: float = 0.0) -> VideoResNet:
    """r(2+1)d-101: Bottleneck blocks (3, 4, 23, 3), (1,3,3)+(3,1,1) middle convs."""
    return _build(101, "r2plus1d", num_classes=num_classes, srtg=srtg, srtg_kwargs=srtg_kwargs, width=width,
                  in_channels=in_channels, dropout=dropout)
