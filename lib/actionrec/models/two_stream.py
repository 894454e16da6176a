"""Two-stream ST-Multiplier networks: appearance + motion ResNets, cross-stream gating, temporal filters.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017, ``shared/papers/multiplier.txt``): Sec. 3 (eq. 1-10), Table 1 (layout),
Sec. 4.2 (fully convolutional testing), Sec. 5 (Tables 2-4). Decisions in ``shared/papers/NOTES.md``
("ST-Multiplier nets"). Layers: :mod:`actionrec.layers.fusion` (:class:`CrossStreamConnection`),
:mod:`actionrec.layers.temporal_filter` (:class:`TemporalFilter`), :mod:`actionrec.layers.flow_stack`
(per-frame flow → a stack of L flows per frame, centred on it or starting at it). Input:
``(rgb, flow)`` or one tensor ``(B, 3 + 2 | 3 + 2L, T, H, W)`` (:meth:`STMultiplierNet.split_input`).

Network (ResNet-50 layout, Table 1; T frames of 224x224; the streams differ only in conv1's input)::

    rgb (B, 3, T, H, W) ─→ (B*T, 3, H, W)       flow (B, 2, T, H, W) ─→ stacks (B, 2L, T, H, W) ─→ (B*T, 2L, H, W)
      appearance stream                          motion stream
      conv1 7x7 x64 /2 → bn → relu → max-pool 3x3 /2                                (B*T, 64, 56, 56)
      conv2_x: [⊙ unit 0] unit 1 [§†‡] ... 3 Bottlenecks, 64 planes                 (B*T, 256, 56, 56)
      conv3_x: [⊙ unit 0] unit 1 [†‡] ... 4 Bottlenecks, 128 planes, /2              (B*T, 512, 28, 28)
      conv4_x: [⊙ unit 0] unit 1 [†‡] ... 6 Bottlenecks, 256 planes, /2              (B*T, 1024, 14, 14)
      conv5_x: [⊙ unit 0] unit 1 [§†‡] ... 3 Bottlenecks, 512 planes, /2             (B*T, 2048, 7, 7)
      → (B, 2048, T, 7, 7) per stream                                                forward_features
      head per stream: temporal max-pool (eq. 10) → spatial mean → dropout → fc        (B, K) each
                       (temporal_pool=False: spatial mean → fc per frame → mean over T)
      forward: late fusion = (logits_a + w · logits_m) / (1 + w), w = motion_weight   (B, K)

    ResNet-152: (3, 8, 36, 3); "small" (CPU): (1, 1, 1, 1), conv1 3x3 /2, no max-pool; ``width``
    scales every channel count (``round_channels``).

``[⊙ unit 0]``: a :class:`CrossStreamConnection` in front of the first residual unit of every stage
(conv2_x..conv5_x, NOTES), reading both streams' inputs to it; ``fusion`` picks the kind (Table 2),
``direction`` the gated stream(s), ``direct_path`` the path(s) a direct kind feeds. ``[§†‡]``:
temporal filters (``temporal_filters`` = "last" § / "every" † / "every+shortcut" ‡, both streams)
in unit 1, the Table 1 row marked with the symbols (unit 0 in a one-unit stage; drawing in
:class:`ResNetStream`); ``filter_units="all"`` puts them in every middle unit 1 .. n-2 instead.
Per-stream losses (Sec. 5.1), fully convolutional testing (Sec. 4.2), parameters:
:class:`STMultiplierNet`.

Readings where the paper is ambiguous (options; defaults by the evidence in the layers' docstrings and
:mod:`actionrec.papers.readings`):

- ``direct_path`` (:mod:`actionrec.layers.fusion`): ``"skip"`` (default) -- a direct connection
  feeds the skip path only, ``g + F(x_a)`` (Sec. 5.1: "directly multiplying the shortcut paths",
  "injecting into the skip path") -- or ``"both"``, ``g + F(g)``.
- ``filter_units`` (:mod:`actionrec.layers.temporal_filter`): ``"first"`` (default) -- one filtered
  unit per stage (Sec. 4: "into a residual unit at every conv block"; the official code filters
  res2b..res5b) -- or ``"all"``, every middle unit (Table 1's ``x N`` / ``x M`` brackets: 8 per R50
  stream instead of 4).
- ``flow_stacking`` (:mod:`actionrec.layers.flow_stack`): ``"centred"`` (default) -- frame t's stack
  holds flows t-L//2 .. t+L-1-L//2, as the official code reads them -- or ``"forward"``, flows
  t .. t+L-1 (Simonyan & Zisserman, eq. 1); both clamped to the clip.

Departures: no ImageNet pre-training (no torchvision here; the paper initialises both streams from
it and replicates conv1's filters for the flow stack); the cross-stream connections sit at each
stage's first unit (NOTES) while Table 1 can be read as the unit after it (``fusion_unit=1``; the
official ``STMulNet.m`` multiplies the motion output of res2a..res5a into the residual branch of
res2b..res5b, the units it also filters; :ref:`readings-multiplier-fusion-unit`); ResNet-152 uses
He et al.'s (3, 8, 36, 3) -- the paper's "N = 6, M = 32" would give 34 units in conv4_x, which
matches no ResNet-152 (:ref:`readings-multiplier-r152`); the official code's flow input is
mean-subtracted JPEG codes, ours is flow in pixels, stacked from the clip's own per-frame flow and
so clamped at the clip's ends (the official code samples its stacks inside the video); dropout
defaults to 0 (paper: 0.8 in the motion stream; ``motion_dropout``; :ref:`readings-multiplier-training`).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.flow_stack import STACKINGS, stack_flow
from ..layers.temporal_filter import FILTER_UNITS, TemporalFilter, filter_unit_indices
from ..utils.checks import check_bool, check_choice, check_float, check_int, fail
from .blocks import Bottleneck2d, ImageNetStem2d
from .factory import get_connection, get_stem2d, get_temporal_filters
from .init import check_dropout, check_width, kaiming_init_, round_channels

__all__ = [
    "STMultiplierNet",
    "ResNetStream",
    "temporal_filters_of",
    "two_stream_r50",
    "two_stream_r152",
    "two_stream_small",
]

_R50_LAYERS, _R152_LAYERS, _SMALL_LAYERS = (3, 4, 6, 3), (3, 8, 36, 3), (1, 1, 1, 1)
_NO_FILTERS = ((False, False),) * 4
FilterSites = Sequence[tuple[bool, bool]]  # per stage: (residual filter, shortcut filter)


class ResNetStream(nn.Module):
    """One stream: stem + four stages of :class:`~actionrec.models.blocks.Bottleneck2d` + its own
    classifier. Built by :class:`STMultiplierNet`, which runs the stages unit by unit to interleave
    the connections. The temporal filters (``temporal_filter``: ``channels -> module``) sit in the
    units :func:`~actionrec.layers.temporal_filter.filter_unit_indices` picks (``filter_units``:
    "first" → unit 1, "all" → units 1 .. n-2; unit 0 in a one-unit stage) of each stage that
    ``filter_sites`` marks.

    ``stages[s][j]`` is unit j of conv{s+2}_x; ``fc`` the stream's classifier.

    Residual unit (:class:`~actionrec.models.blocks.Bottleneck2d`, stride on the 3x3; ``skip`` and
    ``branch`` come from the connection, both = x when the unit is not gated)::

        branch ─→ conv 1x1 C_in→P → bn → relu → conv 3x3 P→P, stride → bn → relu ─[TF_r]─→ conv 1x1 P→4P → bn ─┐
                                                                                                             (+) → relu → out
        skip ───→ identity | conv 1x1, stride → bn ─────────────────────[TF_s (‡ only)]──────────────────────┘

    TF_r / TF_s are :class:`TemporalFilter` (1x1x3 over the clip's T frames, identity ⊗ f at init);
    they unfold the folded frames ``(B*T, C, H, W) → (B, C, T, H, W)`` and back."""

    def __init__(self, *, in_channels: int, layers: Sequence[int], stem: Callable[[int, int], nn.Module], width: float,
                 num_classes: int, temporal_filter: Optional[Callable[[int], nn.Module]], filter_sites: FilterSites,
                 dropout: float, filter_units: str = "first"):
        super().__init__()
        c0 = round_channels(64 * width)
        self.stem = stem(in_channels, c0)
        planes = [round_channels(c * width) for c in (64, 128, 256, 512)]
        self.stages = nn.ModuleList()
        self.stage_in_channels: list[list[int]] = []  # input channels of every unit
        c_in = c0
        for s, (p, n) in enumerate(zip(planes, layers)):
            units, ins = [], []
            filtered = filter_unit_indices(n, filter_units)
            for j in range(n):
                res, short = filter_sites[s] if j in filtered and temporal_filter is not None else (False, False)
                units.append(Bottleneck2d(c_in, p, stride=2 if (s > 0 and j == 0) else 1,
                                          residual_filter=temporal_filter if res else None,
                                          shortcut_filter=temporal_filter if short else None))
                ins.append(c_in)
                c_in = p * Bottleneck2d.expansion
            self.stages.append(nn.ModuleList(units))
            self.stage_in_channels.append(ins)
        self.num_features = c_in
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)


def _check_layers(name: str, layers) -> tuple[int, ...]:
    ls = tuple(layers)
    if len(ls) != 4 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ls):
        fail(name, layers, "4 ints >= 1 (units in conv2_x..conv5_x)")
    return ls


class STMultiplierNet(nn.Module):
    """Two-stream ResNet with cross-stream connections and temporal filters. Use the builders.

    Args:
        num_classes: K.
        layers / motion_layers: Bottlenecks per stage of the appearance / motion stream (default:
            the same; the paper's final model is R50 appearance + R152 motion).
        stem: ``(in_channels, C0) -> module``, e.g. :class:`~actionrec.models.blocks.ImageNetStem2d`.
        width: channel multiplier (both streams).
        flow_channels: 2L, the motion stream's input channels (default 20, L = 10).
        connection: ``(C_a, C_m) -> module`` (a :class:`CrossStreamConnection` of some kind and
            direction) in front of unit ``fusion_unit`` of every stage, or None (the two-stream
            baseline: late fusion only).
        temporal_filter: ``channels -> module`` (a :class:`TemporalFilter`) or None;
            filter_sites: per stage ``(residual, shortcut)`` filter flags (§ † ‡ placements);
            filter_units: ``"first"`` (default: unit 1 of each marked stage) | ``"all"`` (units 1 .. n-2).
        flow_stacking: ``"centred"`` (default) | ``"forward"``: which L flows make frame t's stack
            when the input holds per-frame flow (:func:`~actionrec.layers.flow_stack.stack_flow`).
        temporal_pool: global max-pool over time before the classifier (eq. 10).
        dropout / motion_dropout: before each stream's fc.
        motion_weight: the motion stream's weight in the late fusion (paper: 3 on HMDB51).
        loss_weights: weights of the appearance and motion losses in ``training_loss``.

    Training and testing. Each stream has its own classifier and loss (Sec. 5.1: "two loss layers");
    ``training_loss(x, y) -> (fused_logits, loss)`` with ``loss = CE(logits_a, y) + CE(logits_m, y)``
    (``loss_weights`` scale the two terms) is what :func:`actionrec.train.fit` calls when a model has
    it. ``forward`` returns the late-fused logits: the weighted mean of the two streams' logits, which
    has the same softmax as the mean of their log-softmaxes (the per-clip log-normalisers cancel);
    ``stream_logits(x)`` gives both. Testing is fully convolutional in time (Sec. 4.2): nothing
    depends on T, so a model trained on short clips classifies a long clip in one pass (eq. 10 pools
    over all its frames; without temporal pooling the per-frame predictions are averaged).

    Parameters: an R50 stream without filters holds torchvision's ResNet-50 count (the motion stream
    ``7·7·64·(2L-3)`` more in conv1); a filter adds ``3 C² + C`` (4 residual filters per R50 stream
    with † and ``filter_units="first"``, 8 with "all"); identity connections add none.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        layers: Sequence[int] = _R50_LAYERS,
        motion_layers: Optional[Sequence[int]] = None,
        stem: Callable[[int, int], nn.Module] = ImageNetStem2d,
        width: float = 1.0,
        flow_channels: int = 20,
        connection: Optional[Callable[[int, int], nn.Module]] = None,
        fusion_unit: int = 0,
        temporal_filter: Optional[Callable[[int], nn.Module]] = None,
        filter_sites: FilterSites = _NO_FILTERS,
        filter_units: str = "first",
        flow_stacking: str = "centred",
        temporal_pool: bool = True,
        dropout: float = 0.0,
        motion_dropout: float = 0.0,
        motion_weight: float = 1.0,
        loss_weights: Sequence[float] = (1.0, 1.0),
    ):
        super().__init__()
        check_int("num_classes", num_classes, min_value=1)
        check_width(width)
        if check_int("flow_channels", flow_channels, min_value=2) % 2:
            fail("flow_channels", flow_channels, "an even int >= 2 (2L: x and y of L flows)")
        motion_layers = _check_layers("motion_layers", layers if motion_layers is None else motion_layers)
        layers = _check_layers("layers", layers)
        check_int("fusion_unit", fusion_unit, min_value=0, max_value=min(min(layers), min(motion_layers)) - 1)
        check_choice("filter_units", filter_units, FILTER_UNITS)
        check_choice("flow_stacking", flow_stacking, STACKINGS)
        check_bool("temporal_pool", temporal_pool)
        check_dropout("dropout", dropout)
        check_dropout("motion_dropout", motion_dropout)
        check_float("motion_weight", motion_weight, min_value=0.0)
        if len(loss_weights) != 2:
            fail("loss_weights", loss_weights, "two numbers >= 0 (appearance, motion)")
        for v in loss_weights:
            check_float("loss_weights", v, min_value=0.0)

        self.num_classes, self.flow_channels, self.L = num_classes, flow_channels, flow_channels // 2
        self.fusion_unit, self.temporal_pool = fusion_unit, temporal_pool
        self.filter_units, self.flow_stacking = filter_units, flow_stacking
        self.motion_weight, self.loss_weights = float(motion_weight), tuple(float(v) for v in loss_weights)
        common = dict(stem=stem, width=width, num_classes=num_classes, temporal_filter=temporal_filter,
                      filter_sites=filter_sites, filter_units=filter_units)
        self.appearance = ResNetStream(in_channels=3, layers=layers, dropout=dropout, **common)
        self.motion = ResNetStream(in_channels=flow_channels, layers=motion_layers, dropout=motion_dropout, **common)
        self.num_features = (self.appearance.num_features, self.motion.num_features)
        self.connections = nn.ModuleList(
            [connection(self.appearance.stage_in_channels[s][fusion_unit], self.motion.stage_in_channels[s][fusion_unit])
             for s in range(4)] if connection is not None else [])
        kaiming_init_(self)  # convs and BNs (TemporalFilter / projections hold plain Parameters: untouched)
        for stream in (self.appearance, self.motion):
            nn.init.normal_(stream.fc.weight, 0, 0.01)
            nn.init.zeros_(stream.fc.bias)

    # ------------------------------------------------------------------------------------------
    def split_input(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` → ``(rgb (B, 3, T, H, W), flow stacks (B, 2L, T, H, W))``.

        ``x`` is either a tuple ``(rgb (B, 3, T, H, W), flow)`` or one tensor with the flow after the
        RGB channels, ``(B, 3 + 2, T, H, W)`` (per-frame flow (dx, dy) from frame t to t+1: what
        ``SynthActions(modality="rgb+flow")`` returns, so :func:`actionrec.train.fit` trains these
        models unchanged) or ``(B, 3 + 2L, T, H, W)`` (flow stacks already built). Per-frame flow
        becomes one stack of L flows per frame with :func:`actionrec.layers.flow_stack.stack_flow`
        (``L = flow_channels / 2``; x/y interleaved; ``flow_stacking``). Frame t of the appearance
        stream sees RGB frame t, frame t of the motion stream the flow stack centred on t
        ("centred") or starting at t ("forward"), clamped to the clip.
        """
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(f"x as a tuple must be (rgb, flow); got {len(x)} items")
            rgb, flow = x
        else:
            if not isinstance(x, torch.Tensor) or x.dim() != 5:
                raise ValueError(f"x must be (B, 3 + 2, T, H, W), (B, 3 + {self.flow_channels}, T, H, W) or a "
                                 f"tuple (rgb, flow); got {type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
            rgb, flow = x[:, :3], x[:, 3:]  # (B, 3, T, H, W), (B, 2 | 2L, T, H, W)
        if rgb.dim() != 5 or rgb.shape[1] != 3:
            raise ValueError(f"rgb must be (B, 3, T, H, W); got {tuple(rgb.shape)}")
        if flow.dim() != 5 or flow.shape[0] != rgb.shape[0] or flow.shape[2:] != rgb.shape[2:]:
            raise ValueError(f"flow {tuple(flow.shape)} must be (B, 2 or {self.flow_channels}, T, H, W) like rgb "
                             f"{tuple(rgb.shape)}")
        if flow.shape[1] == 2:
            flow = stack_flow(flow, self.L, self.flow_stacking)  # (B, 2, T, H, W) -> (B, 2L, T, H, W)
        elif flow.shape[1] != self.flow_channels:
            raise ValueError(f"flow has {flow.shape[1]} channels; this model takes per-frame flow (2) or stacks of "
                             f"flow_channels={self.flow_channels}. Build it with flow_channels={flow.shape[1]} or "
                             "pass per-frame flow (SynthActions(modality='rgb+flow')).")
        return rgb, flow

    def forward_features(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` → ``(feats_a (B, C_a, T, H', W'), feats_m (B, C_m, T, H', W'))``."""
        rgb, flow = self.split_input(x)
        b, _, t, h, w = rgb.shape
        a = rgb.transpose(1, 2).reshape(b * t, 3, h, w)  # (B, 3, T, H, W) -> (B, T, 3, H, W) -> (B*T, 3, H, W)
        m = flow.transpose(1, 2).reshape(b * t, self.flow_channels, h, w)  # (B, 2L, T, H, W) -> (B*T, 2L, H, W)
        a, m = self.appearance.stem(a), self.motion.stem(m)
        for s in range(4):
            units_a, units_m = self.appearance.stages[s], self.motion.stages[s]
            for j in range(max(len(units_a), len(units_m))):
                if len(self.connections) and j == self.fusion_unit:
                    (skip_a, branch_a), (skip_m, branch_m) = self.connections[s](a, m)
                else:
                    skip_a = branch_a = a
                    skip_m = branch_m = m
                if j < len(units_a):
                    a = units_a[j](skip_a, branch_a, t=t)
                if j < len(units_m):
                    m = units_m[j](skip_m, branch_m, t=t)
        return tuple(f.view(b, t, *f.shape[1:]).transpose(1, 2)  # (B*T, C', H', W') -> (B, T, C', H', W') -> (B, C', T, H', W')
                     for f in (a, m))

    def _stream_head(self, feats: torch.Tensor, stream: ResNetStream) -> torch.Tensor:
        if self.temporal_pool:
            pooled = feats.amax(dim=2).mean(dim=(2, 3))  # eq. 10: max over T (B, C', H', W'), then mean over H', W' (B, C')
            return stream.fc(stream.dropout(pooled))  # (B, K)
        per_frame = feats.mean(dim=(3, 4)).transpose(1, 2)  # (B, C', T) -> (B, T, C')
        return stream.fc(stream.dropout(per_frame)).mean(dim=1)  # (B, T, K) -> mean over frames (B, K)

    def forward_head(self, feats, *, per_stream: bool = False):
        """``(feats_a, feats_m)`` → late-fused logits ``(B, K)`` (``per_stream``: ``(logits_a, logits_m)``)."""
        la = self._stream_head(feats[0], self.appearance)
        lm = self._stream_head(feats[1], self.motion)
        if per_stream:
            return la, lm
        return self.late_fusion(la, lm)

    def late_fusion(self, logits_a: torch.Tensor, logits_m: torch.Tensor) -> torch.Tensor:
        """``(logits_a + w · logits_m) / (1 + w)``, w = ``motion_weight``."""
        w = self.motion_weight
        return (logits_a + w * logits_m) / (1.0 + w)

    def stream_logits(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits_a, logits_m)``, each ``(B, K)``."""
        return self.forward_head(self.forward_features(x), per_stream=True)

    def losses(self, x, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-stream cross-entropies plus the fused logits: ``{"appearance", "motion", "total", "logits"}``."""
        la, lm = self.stream_logits(x)
        ca, cm = F.cross_entropy(la.float(), y), F.cross_entropy(lm.float(), y)
        total = self.loss_weights[0] * ca + self.loss_weights[1] * cm
        return {"appearance": ca, "motion": cm, "total": total, "logits": self.late_fusion(la, lm)}

    def training_loss(self, x, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(fused logits (B, K), loss)`` with one loss per stream (the hook ``actionrec.train.fit`` uses)."""
        out = self.losses(x, y)
        return out["logits"], out["total"]

    def forward(self, x) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def temporal_filters_of(model: nn.Module) -> list[tuple[str, TemporalFilter]]:
    """``(name, module)`` of every :class:`TemporalFilter` (e.g. ``"appearance.stages.3.1.tf_residual"``)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, TemporalFilter)]


def _create_two_stream(*, num_classes: int, layers: Sequence[int], motion_layers: Optional[Sequence[int]] = None,
                       stem: str = "imagenet", width: float = 1.0, flow_channels: int = 20,
                       fusion: Optional[str] = "residual_mul", direction: str = "m2a", direct_path: str = "skip",
                       fusion_unit: int = 0, temporal_filters: Optional[str] = "every+shortcut", filter_units: str = "first",
                       temporal_init: Union[str, Sequence[float]] = "centre", temporal_kernel: int = 3,
                       temporal_padding: str = "replicate", flow_stacking: str = "centred", temporal_pool: bool = True,
                       dropout: float = 0.0, motion_dropout: float = 0.0, motion_weight: float = 1.0,
                       loss_weights: Sequence[float] = (1.0, 1.0)) -> STMultiplierNet:
    """The config boundary: ``fusion`` (a kind of :data:`~actionrec.layers.fusion.FUSION_KINDS` or None),
    ``direction`` ("m2a" | "a2m" | "bi" or arrows) and ``direct_path`` ("skip" | "both") →
    ``connection``; ``filter_units`` ("first" | "all") and ``flow_stacking`` ("centred" | "forward")
    are validated by the model; ``temporal_filters`` (None |
    "last" § | "every" † | "every+shortcut" ‡), ``temporal_init`` ("centre" | "avg" | taps),
    ``temporal_kernel`` (T') and ``temporal_padding`` ("replicate" | "zeros") → ``temporal_filter`` and
    ``filter_sites``; ``stem`` ("imagenet" | "small") → a stem class (:mod:`actionrec.models.factory`).
    Defaults: the paper's final design (residual ⊙ motion → appearance, ‡ filters with centre init)."""
    connection = get_connection(fusion, direction, direct_path)
    temporal_filter, sites = get_temporal_filters(temporal_filters, temporal_init, temporal_kernel, temporal_padding)
    return STMultiplierNet(num_classes=num_classes, layers=layers, motion_layers=motion_layers, stem=get_stem2d(stem),
                           width=width, flow_channels=flow_channels, connection=connection, fusion_unit=fusion_unit,
                           temporal_filter=temporal_filter, filter_sites=sites, filter_units=filter_units,
                           flow_stacking=flow_stacking, temporal_pool=temporal_pool,
                           dropout=dropout, motion_dropout=motion_dropout, motion_weight=motion_weight,
                           loss_weights=loss_weights)


_DEEP = dict(num_classes=101)
_SMALL = dict(num_classes=16, layers=_SMALL_LAYERS, width=0.25)


def two_stream_r50(**kwargs) -> STMultiplierNet:
    """Two-stream ST-Multiplier net, ResNet-50 streams (Table 1), 101 classes by default. Keywords:
    num_classes, fusion, direction, direct_path, fusion_unit, temporal_filters, filter_units,
    temporal_init, temporal_kernel, temporal_padding, flow_stacking, temporal_pool, width,
    flow_channels, dropout, motion_dropout, motion_weight, loss_weights, motion_layers. Defaults: the
    paper's final design (residual ⊙ motion → appearance, ‡ filters with centre init in unit 1 of
    every stage, centred flow stacks, temporal max-pool).

    Strings stop at the builders: ``fusion`` + ``direction`` become the ``connection`` callable,
    ``temporal_filters`` + ``temporal_init`` / ``_kernel`` / ``_padding`` the ``temporal_filter``
    callable and its per-stage ``filter_sites``, ``stem`` a stem class (:mod:`actionrec.models.factory`)."""
    return _create_two_stream(**dict(_DEEP, **kwargs), layers=_R50_LAYERS, stem="imagenet")


def two_stream_r152(**kwargs) -> STMultiplierNet:
    """Two-stream ST-Multiplier net, ResNet-152 streams (3, 8, 36, 3); keywords as :func:`two_stream_r50`."""
    return _create_two_stream(**dict(_DEEP, **kwargs), layers=_R152_LAYERS, stem="imagenet")


def two_stream_small(**kwargs) -> STMultiplierNet:
    """Small two-stream net for CPU: one Bottleneck per stage (``layers``), 3x3 /2 stem, width 0.25
    (planes 16/32/64/128), 16 classes by default; keywords as :func:`two_stream_r50`."""
    return _create_two_stream(**dict(_SMALL, **kwargs), stem="small")
