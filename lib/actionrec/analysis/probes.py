"""Probes for :func:`~actionrec.analysis.receptive.effective_rf`: the modules whose receptive
fields the book measures, each a :class:`Probe` (module, clip shape, output channels probed and,
where it exists, the analytic extent).

* :func:`conv_stack_probe`: ``depth`` x [conv (3,3,3) → relu]; theory ``2L + 1`` per axis.
* :func:`mtconv_stream_probes`: ``L`` MTConvs (MTNet, AAAI 2021, eq. 1-2), short vs long stream;
  the long one runs at half resolution: theory ``2L + 1`` vs ``2 + 4L`` ("twice as large").
  :func:`stream_receptive_fields` is their (T, W) view.
* :func:`msti_probes`: the channel groups of MSTI's stepped branches (IJCAI 2020, eq. 1-2: group
  i sees 2i - 1), or of the whole ``MultiScaleConv`` (with CAW, whose pools see the whole clip).
* :func:`mixtconv_probes`: one probe per MixTConv kernel group (eq. 1-2: ``(k_m - 1) d_m + 1`` frames).
* :func:`tsm_probes`: the three TSM channel groups (ICCV 2019: reads t+1, reads t-1, unshifted).
* :func:`layer_probe` / :class:`LayerProbe`: a named layer of a (trained) network; the forward
  stops after it, and TSN-layout outputs ``(B*T, C, H, W)`` are unfolded to ``(B, C, T, H, W)``
  (:class:`FoldedFrames` wraps a bare TSN-layout module the same way).

"Positive" probes (:func:`make_positive_`: every weight ``1 / fan_in``, positive input) cancel
nothing and have no dead ReLU, so the measured support *is* the architecture's receptive field;
random-weight probes (Kaiming, seeded) show the effective, centre-heavy one.
:func:`mechanism_probes` builds any family of :data:`PROBE_FAMILIES` by name.

Departure: the MTConv probe splits the input with an average pool where MTNet's stem uses
SoftPool: same support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.mixtconv import MixTConv
from ..layers.msti import SPATIAL, TEMPORAL, MultiScaleConv, SteppedConv
from ..layers.mtconv import MTConv, split_channels
from ..layers.temporal_shift import TemporalShift
from ..utils.checks import check_int
from .receptive import Triple, as_triple, check_clip_shape, effective_rf, theoretical_rf

__all__ = ["FoldedFrames", "LayerProbe", "Probe", "make_positive_", "conv_stack", "conv_stack_probe",
           "mtconv_stream_probes", "stream_receptive_fields", "msti_probes", "mixtconv_probes", "tsm_probes",
           "probe_layers", "layer_probe", "stage_layers", "PROBE_FAMILIES", "mechanism_probes"]


class FoldedFrames(nn.Module):
    """Run a TSN-layout module ``(B*T, C, H, W) -> (B*T, C', H', W')`` on a video ``(B, C, T, H, W)``.

    ::

        x (B, C, T, H, W) → (B, T, C, H, W) → (B*T, C, H, W) → module → (B*T, C', H', W')
          → (B, T, C', H', W') → (B, C', T, H', W')

    If the module has ``num_segments`` (TemporalShift, MixTConv), the clip's T must equal it.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"FoldedFrames expects (B, C, T, H, W); got {tuple(x.shape)}")
        b, c, t, h, w = x.shape
        seg = getattr(self.module, "num_segments", None)
        if seg is not None and seg != t:
            raise ValueError(f"the wrapped {type(self.module).__name__} has num_segments={seg} but the clip has T={t}")
        y = self.module(x.transpose(1, 2).reshape(b * t, c, h, w))  # (B, C, T, H, W) -> (B*T, C, H, W)
        _, c2, h2, w2 = y.shape
        return y.view(b, t, c2, h2, w2).transpose(1, 2)  # (B*T, C', H', W') -> (B, T, C', H', W') -> (B, C', T, H', W')


class _StopForward(Exception):
    """Raised by LayerProbe's hook to skip the rest of the network's forward."""


class LayerProbe(nn.Module):
    """``x (B, C, T, H, W)`` → the output of ``model``'s submodule ``layer`` as ``(B, C', T', H', W')``.

    The forward of ``model`` stops right after ``layer`` (a hook raises), so deep heads cost nothing.
    Outputs on the TSN layout ``(B*T, C', H', W')`` are unfolded with the clip's T; a pair (MTNet's
    streams) is reduced to ``stream`` ("short" | "long", or 0 | 1). ``model`` is held as a submodule
    (not copied), so :func:`effective_rf` switches it to eval mode and back.
    """

    def __init__(self, model: nn.Module, layer: str, *, stream: Any = None):
        super().__init__()
        if not isinstance(layer, str):
            raise ValueError(f"layer={layer!r} must be a submodule name such as 'layer3'")
        try:
            target = model.get_submodule(layer)
        except AttributeError:
            raise ValueError(f"layer={layer!r} is not a submodule of {type(model).__name__}; "
                             f"try one of {probe_layers(model)}") from None
        if stream not in (None, "short", "long", 0, 1):
            raise ValueError(f"stream={stream!r} must be None, 'short' or 'long'")
        self.model, self.layer, self.stream = model, layer, stream
        self._target = [target]  # a list, so the target is not registered twice

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        captured: dict[str, Any] = {}

        def hook(_mod, _inp, out):
            captured["out"] = out
            raise _StopForward

        handle = self._target[0].register_forward_hook(hook)
        try:
            self.model(x)
        except _StopForward:
            pass
        finally:
            handle.remove()
        if "out" not in captured:
            raise RuntimeError(f"layer {self.layer!r} was not called by {type(self.model).__name__}.forward")
        out = captured["out"]
        if isinstance(out, (tuple, list)):
            i = {None: 0, "short": 0, "long": 1, 0: 0, 1: 1}[self.stream]
            out = out[i]
            if out is None:
                raise ValueError(f"layer {self.layer!r} has no {self.stream!r} stream (r = 1?)")
        if out.dim() == 4:  # TSN layout (B*T, C, H, W)
            b, t = x.shape[0], x.shape[2]
            if out.shape[0] != b * t:
                raise ValueError(f"layer {self.layer!r} returned {tuple(out.shape)}: batch is not B*T = {b * t}")
            _, c, h, w = out.shape
            out = out.reshape(b, t, c, h, w).transpose(1, 2)  # (B*T, C, H, W) -> (B, T, C, H, W) -> (B, C, T, H, W)
        return out

    def extra_repr(self) -> str:
        return f"layer={self.layer!r}, stream={self.stream!r}"


@dataclass
class Probe:
    """A module to measure, the clip shape it takes, the output channels probed, the analytic extent."""

    name: str
    module: nn.Module
    input_shape: tuple[int, int, int, int]
    channels: Any = None  # None: all output channels; else an int, slice or list
    theory: Optional[Triple] = None  # (frames, height, width), when the analytic value is known
    info: dict = field(default_factory=dict)

    def measure(self, **kwargs) -> np.ndarray:
        """:func:`effective_rf` of this probe (kwargs: ``x``, ``batch``, ``absolute``, ``out_index``...)."""
        kwargs.setdefault("channels", self.channels)
        shape = None if kwargs.get("x") is not None else self.input_shape
        return effective_rf(self.module, shape, **kwargs)


def make_positive_(module: nn.Module) -> nn.Module:
    """In place: every conv / linear weight (and MixTConv tap) = ``1 / fan_in``, biases 0.

    With a positive input nothing cancels and no ReLU is dead, so the gradient's support is exactly
    the set of input positions the architecture connects to the output. Returns ``module``.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, MixTConv):
                for w in m.weights():
                    w.fill_(1.0 / w.shape[2])
    return module


def _seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return build()
    finally:
        torch.random.set_rng_state(state)


def conv_stack(depth: int, *, channels: int = 4, in_channels: Optional[int] = None, kernel_size: Any = (3, 3, 3),
               dilation: Any = 1, stride: Any = 1, positive: bool = True, seed: int = 0) -> nn.Sequential:
    """``depth`` x [conv kernel_size (dilation, stride; "same" padding, no bias) → relu].

    ::

        x (B, C_in, T, H, W) → conv → relu → conv → relu ... → (B, channels, T/s^depth, ...)

    ``positive``: weights ``1 / fan_in`` (exact support); else Kaiming normal (fan_in, relu), seeded.
    """
    check_int("depth", depth, min_value=1)
    check_int("channels", channels, min_value=1)
    k, d, s = as_triple(kernel_size, "kernel_size"), as_triple(dilation, "dilation"), as_triple(stride, "stride")
    c_in = channels if in_channels is None else check_int("in_channels", in_channels, min_value=1)
    pad = tuple(dd * (kk - 1) // 2 for kk, dd in zip(k, d))

    def build() -> nn.Sequential:
        layers, c = [], c_in
        for _ in range(depth):
            conv = nn.Conv3d(c, channels, k, stride=s, padding=pad, dilation=d, bias=False)
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
            layers += [conv, nn.ReLU()]
            c = channels
        return nn.Sequential(*layers)

    stack = _seeded(seed, build)
    return make_positive_(stack) if positive else stack


def conv_stack_probe(depth: int, *, kernel_size: Any = (3, 3, 3), dilation: Any = 1, stride: Any = 1,
                     channels: int = 4, frames: int = 16, size: int = 32, positive: bool = True, seed: int = 0) -> Probe:
    """:func:`conv_stack` as a :class:`Probe` on ``(channels, frames, size, size)`` clips, with its theory."""
    net = conv_stack(depth, channels=channels, kernel_size=kernel_size, dilation=dilation, stride=stride,
                     positive=positive, seed=seed)
    k, d, s = as_triple(kernel_size, "kernel_size"), as_triple(dilation, "dilation"), as_triple(stride, "stride")
    theory = theoretical_rf([k] * depth, strides=[s] * depth, dilations=[d] * depth)
    return Probe(f"{depth} x conv {k}" + (f" dil {d}" if d != (1, 1, 1) else ""), net,
                 (channels, check_int("frames", frames, min_value=1), check_int("size", size, min_value=1), size),
                 theory=theory, info=dict(depth=depth, kernel_size=k, dilation=d, stride=s))


class _MTStreams(nn.Module):
    """``x (B, C, T, H, W)`` → split (short: first C_s channels; long: avg-pool 2 of the rest)
    → ``num_layers`` MTConvs → the chosen stream's output ``(B, C_s, T, H, W)`` or ``(B, C_l, T/2, H/2, W/2)``."""

    def __init__(self, layers: nn.ModuleList, cs: int, stream: str):
        super().__init__()
        self.layers, self.cs, self.stream = layers, cs, stream

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pair = (x[:, : self.cs], F.avg_pool3d(x[:, self.cs :], 2, ceil_mode=True))  # long: (B, C_l, T/2, H/2, W/2)
        for layer in self.layers:
            pair = layer(pair)
        return pair[0] if self.stream == "short" else pair[1]


def mtconv_stream_probes(*, num_layers: int = 3, r: float = 0.5, channels: int = 8, frames: int = 16, size: int = 32,
                         positive: bool = True, seed: int = 0) -> dict[str, Probe]:
    """``{"short": Probe, "long": Probe}``: ``num_layers`` MTConvs (3,3,3), ratio ``r`` (eq. 1-2).

    The long stream starts from an average pool by 2 (as MTNet's stem split) and its 3x3x3 convs
    run at half resolution, so each layer adds 4 input frames / pixels instead of 2: theory
    ``2L + 1`` for the short stream and ``2 + 4L`` for the long one (the lateral s→l path is
    narrower). :func:`stream_receptive_fields` measures both with a ones input.
    """
    check_int("num_layers", num_layers, min_value=1)
    if not 0.5 <= r < 1:
        raise ValueError(f"r={r!r} must be in [0.5, 1) so that there is a long stream")

    def build() -> nn.ModuleList:
        return nn.ModuleList(MTConv(channels, channels, kernel_size=(3, 3, 3), r=r) for _ in range(num_layers))

    layers = _seeded(seed, build)
    if positive:
        for m in layers.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
    cs, _ = split_channels(channels, r)
    shape = (channels, check_int("frames", frames, min_value=1), check_int("size", size, min_value=1), size)
    short = 2 * num_layers + 1
    long = 2 + 4 * num_layers
    return {
        "short": Probe("MTConv short", _MTStreams(layers, cs, "short"), shape, theory=(short,) * 3,
                       info=dict(num_layers=num_layers, r=r)),
        "long": Probe("MTConv long", _MTStreams(layers, cs, "long"), shape, theory=(long,) * 3,
                      info=dict(num_layers=num_layers, r=r)),
    }


def stream_receptive_fields(*, num_layers: int = 3, frames: int = 16, size: int = 32, r: float = 0.5,
                            channels: int = 8) -> dict[str, np.ndarray]:
    """Measured receptive fields of MTConv's short and long streams as ``{"short": (T, W), "long": (T, W)}``.

    The positive :func:`mtconv_stream_probes` measured at a clip of ones ``(1, channels, frames,
    size, size)``, summed over height and normalised to max 1: where one centre output of each
    stream can "see" over time x width.
    """
    probes = mtconv_stream_probes(num_layers=num_layers, r=r, channels=channels, frames=frames, size=size)
    x = torch.ones(1, channels, frames, size, size)
    out = {}
    for stream, probe in probes.items():
        tw = probe.measure(x=x).sum(axis=1)  # (T, H, W) -> (T, W)
        out[stream] = tw / tw.max()
    return out


class _GroupOutputs(nn.Module):
    """``SteppedConv`` → ``concat(S_1..S_N)`` ``(B, C, T, H, W)`` (group i = channels [(i-1)C/N, iC/N))."""

    def __init__(self, stepped: nn.Module):
        super().__init__()
        self.stepped = stepped

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.stepped(x), dim=1)


def msti_probes(*, branch: str = "spatial", caw: bool = False, channels: int = 8, groups: int = 4, frames: int = 15,
                size: int = 15, positive: bool = True, seed: int = 0) -> dict[str, Probe]:
    """One probe per channel group of MSTI's multi-scale block (eq. 1-2): ``{"group 1": ..., ...}``.

    ``branch="spatial"``: the stepped (1,3,3) branch, group i sees 1 x (2i-1) x (2i-1);
    ``"temporal"``: the (3,1,1) branch, (2i-1) x 1 x 1; ``"both"``: the whole ``MultiScaleConv``
    (``concat(S) + concat(T)``: group i sees the union of both, a cross), with the CAW blocks when
    ``caw`` (variant "msti": their global average pools make every output depend, weakly, on the
    whole clip) or without (variant "ms_st").
    """
    if branch not in ("spatial", "temporal", "both"):
        raise ValueError(f"branch={branch!r} must be 'spatial', 'temporal' or 'both'")
    if caw and branch != "both":
        raise ValueError("caw=True needs branch='both' (the CAW blocks weigh each branch by the other)")
    check_int("groups", groups, min_value=1)
    if channels % groups:
        raise ValueError(f"channels={channels} must be divisible by groups={groups}")

    def build() -> nn.Module:
        if branch == "both":
            return MultiScaleConv(channels, variant="msti" if caw else "ms_st", groups=groups)
        return _GroupOutputs(SteppedConv(channels, kernel_size=SPATIAL if branch == "spatial" else TEMPORAL, groups=groups))

    net = _seeded(seed, build)
    if positive:
        make_positive_(net)
    cg = channels // groups
    shape = (channels, check_int("frames", frames, min_value=1), check_int("size", size, min_value=1), size)
    probes = {}
    for i in range(1, groups + 1):
        n = 2 * i - 1
        theory = {"spatial": (1, n, n), "temporal": (n, 1, 1), "both": (n, n, n)}[branch]
        if caw:
            theory = None  # global through the CAW pools
        probes[f"group {i}"] = Probe(f"MSTI {branch}{' + CAW' if caw else ''} group {i}", net, shape,
                                     channels=slice((i - 1) * cg, i * cg), theory=theory,
                                     info=dict(branch=branch, group=i, caw=caw))
    return probes


def mixtconv_probes(*, kernels: Sequence[int] = (1, 3, 5, 7), dilations: Optional[Sequence[int]] = None,
                    channels: int = 8, frames: int = 16, size: int = 8, init: str = "positive",
                    module: Optional[nn.Module] = None) -> dict[str, Probe]:
    """One probe per MixTConv kernel group (eq. 1-2): ``{"k=3": ..., "k=3 d=2": ...}``.

    Group m sees ``(k_m - 1) d_m + 1`` frames (``k_m`` of them, the others are holes) x 1 x 1 px.
    ``init``: "positive" (every tap ``1/k``: the full kernel), or a MixTConv init ("tsm": only t±1
    at the start of training, "identity", "random"). ``module``: measure this (e.g. a trained
    network's) MixTConv instead of a new one (its kernels, dilations and num_segments are used).
    """
    if module is None:
        if init not in ("positive", "tsm", "identity", "random"):
            raise ValueError(f"init={init!r} must be 'positive', 'tsm', 'identity' or 'random'")
        module = _seeded(0, lambda: MixTConv(channels, frames, kernels=kernels, dilations=dilations,
                                             init="identity" if init == "positive" else init))
        if init == "positive":
            make_positive_(module)
    elif not isinstance(module, MixTConv):
        raise ValueError(f"module must be a MixTConv; got {type(module).__name__}")
    net = FoldedFrames(module)
    shape = (module.channels, module.num_segments, check_int("size", size, min_value=1), size)
    probes, start = {}, 0
    for c, k, d in zip(module.splits, module.kernels, module.dilations):
        name = f"k={k}" + (f" d={d}" if d > 1 else "")
        probes[name] = Probe(f"MixTConv {name}", net, shape, channels=slice(start, start + c),
                             theory=((k - 1) * d + 1, 1, 1), info=dict(kernel=k, dilation=d))
        start += c
    return probes


def tsm_probes(*, channels: int = 8, frames: int = 16, size: int = 8, fold_div: int = 8) -> dict[str, Probe]:
    """TSM's three channel groups: ``{"reads t+1": ..., "reads t-1": ..., "unshifted": ...}``.

    Channels ``[0, C/8)`` read frame t+1, ``[C/8, 2C/8)`` frame t-1, the rest frame t (zero padded):
    each sees exactly one frame, but not the same one.
    """
    check_int("channels", channels, min_value=1)
    fold = channels // fold_div
    if fold < 1:
        raise ValueError(f"channels={channels} must be >= fold_div={fold_div} so that some channels shift")
    net = FoldedFrames(TemporalShift(channels, check_int("frames", frames, min_value=1), fold_div=fold_div))
    shape = (channels, frames, check_int("size", size, min_value=1), size)
    return {
        "reads t+1": Probe("TSM reads t+1", net, shape, channels=slice(0, fold), theory=(1, 1, 1), info=dict(offset=+1)),
        "reads t-1": Probe("TSM reads t-1", net, shape, channels=slice(fold, 2 * fold), theory=(1, 1, 1),
                           info=dict(offset=-1)),
        "unshifted": Probe("TSM unshifted", net, shape, channels=slice(2 * fold, channels), theory=(1, 1, 1),
                           info=dict(offset=0)),
    }


def probe_layers(model: nn.Module) -> list[str]:
    """Names of the layers worth probing in ``model``: ``stem``, ``layerN``, ``layerN.i`` (ResNets,
    TSN, MSTI-Net), ``stages.N[.i]`` / ``srs.N`` (MTNet), the ReLUs of ``features`` (C3D / frame-avg)."""
    names = []
    for n, m in model.named_modules():
        if re.fullmatch(r"stem|layer\d+(\.\d+)?|stages\.\d+(\.\d+)?|srs\.\d+", n):
            names.append(n)
        elif re.fullmatch(r"features\.\d+", n) and isinstance(m, nn.ReLU):
            names.append(n)
    return names


def layer_probe(model: nn.Module, layer: str, input_shape: Sequence[int], *, stream: Any = None,
                name: Optional[str] = None) -> Probe:
    """A :class:`Probe` of ``model``'s submodule ``layer`` (:class:`LayerProbe`), all channels."""
    return Probe(name or f"{type(model).__name__}.{layer}", LayerProbe(model, layer, stream=stream),
                 check_clip_shape(tuple(input_shape)), info=dict(layer=layer, stream=stream))


def stage_layers(model: nn.Module) -> list[str]:
    """The stage outputs of ``model``: ``layer1..layer4`` (ResNets, TSN, MSTI-Net), ``stages.0..``
    (MTNet, before each stage's Squeeze-and-Recursion), or the ReLU after each conv of ``features``."""
    names = probe_layers(model)
    for pattern in (r"layer\d+", r"stages\.\d+", r"features\.\d+"):
        hits = [n for n in names if re.fullmatch(pattern, n)]
        if hits:
            return hits
    raise ValueError(f"no stage layers found in {type(model).__name__}; probe_layers gives {names}")


#: Mechanism families of :func:`mechanism_probes` (the notebook's explorer lists these).
PROBE_FAMILIES = ("conv stack", "MTConv", "MSTI spatial", "MSTI temporal", "MSTI both", "MSTI both + CAW",
                  "MixTConv", "MixTConv dilated", "MixTConv (TSM init)", "TSM")


def mechanism_probes(family: str, *, depth: int = 3, positive: bool = True, frames: int = 16,
                     size: int = 32) -> dict[str, Probe]:
    """The probes of one mechanism family (:data:`PROBE_FAMILIES`), keyed by member (group / stream).

    ``depth``: layers of the conv stack and of the MTConv stack (ignored otherwise). ``positive``:
    ``1 / fan_in`` weights (the exact support) or random (Kaiming / MixTConv "random") weights (the
    effective field). "MixTConv (TSM init)" is MixTConv built with ``init="tsm"`` (±1 taps, not the default).
    """
    if family not in PROBE_FAMILIES:
        raise ValueError(f"family={family!r} must be one of {PROBE_FAMILIES}")
    kw = dict(frames=frames, size=size)
    if family == "conv stack":
        return {f"{depth} layers": conv_stack_probe(depth, positive=positive, **kw)}
    if family == "MTConv":
        return mtconv_stream_probes(num_layers=depth, positive=positive, **kw)
    if family.startswith("MSTI"):
        branch = family.split()[1]
        return msti_probes(branch=branch, caw=family.endswith("CAW"), positive=positive, **kw)
    if family == "MixTConv":
        return mixtconv_probes(channels=32, init="positive" if positive else "random", **kw)
    if family == "MixTConv dilated":
        return mixtconv_probes(kernels=(3, 3, 3), dilations=(1, 2, 3), channels=24,
                               init="positive" if positive else "random", **kw)
    if family == "MixTConv (TSM init)":
        return mixtconv_probes(channels=64, init="tsm", **kw)
    return tsm_probes(channels=32, **kw)
