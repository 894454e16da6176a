"""Receptive fields of video layers: analytic extents, gradient-measured (effective) maps, probes, plots.

Papers whose mechanisms this module makes visible: Wu et al., "MSTI" (IJCAI 2020, Sec. 3.1, eq. 1-2:
the stepped branches give channel group i a (2i-1) receptive field, 1/3/5/7); Shan et al.,
"MixTConv" (2020, eq. 1-2: one temporal kernel k_m per channel group, dilated taps at t + d j);
Stergiou & Poppe, "MTNet" (AAAI 2021, Sec. 3, Fig. 2: the long stream runs at T/2 x H/2 x W/2, so
"the receptive field is twice as large"); Lin et al., "TSM" (ICCV 2019: a shifted channel reads
frame t+1 or t-1). The *effective* receptive field is Luo, Li, Urtasun & Zemel, "Understanding the
effective receptive field in deep convolutional neural networks" (NIPS 2016): the gradient of one
centre output w.r.t. the input, which is concentrated well inside the theoretical one.

Theory (:func:`theoretical_rf`), per axis, for a chain of layers with kernel k_l, stride s_l and
dilation d_l (start r_0 = 1 input position, jump j_0 = 1)::

    r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}        receptive field (input positions)
    j_l = j_{l-1} s_l                            distance between adjacent outputs, in input positions

so a stack of L 3x3x3 convs sees 2L+1 frames x 2L+1 px, and one kernel-k conv with dilation d sees
(k-1)d+1 frames (with holes: only k of them). :func:`conv_chain` reads k, s, d off a module whose
convs / pools form a chain.

Measurement (:func:`effective_rf`)::

    x (B, C, T, H, W), requires grad
      → fn(x) = y (B, C', T', H', W')                  any callable; a Module is run in eval mode
      → s = sum_{b, c in channels} y[b, c, t0, h0, w0]  (t0, h0, w0) = out_index, default the centre
      → g = ds/dx (B, C, T, H, W) → |g| → sum over B and C → (T, H, W) / max    ("effective RF map")

A Module's (and its submodules') training flags are restored afterwards and parameters get no
``.grad`` (``torch.autograd.grad`` w.r.t. x only), so measuring a model never changes it (tested).
BatchNorm in eval mode uses running statistics: every sample is measured on its own, as at test time.
:func:`rf_extent` turns a map into the measured extent (frames x height x width; at ``thresh = 0``
the exact support, equal to the theory for positive-weight probes, tested); :func:`rf_stats` adds
concentration numbers (temporal spread, the mass in the best 3-frame window).

Probes (each a :class:`Probe`: a module, its input shape, the output channels probed and, where
it exists, the analytic extent):

* :func:`conv_stack_probe`: ``depth`` x [conv (3,3,3) → relu], optional dilation / stride;
* :func:`mtconv_stream_probes`: ``num_layers`` MTConvs, short vs long stream (the general form of
  :func:`actionrec.viz.stream_receptive_fields`, which keeps working and is tested equal);
* :func:`msti_probes`: the four channel groups of MSTI's stepped spatial or temporal branch
  (``SteppedConv``), or of the whole ``MultiScaleConv`` (both branches, with or without CAW);
* :func:`mixtconv_probes`: one probe per MixTConv kernel group (optionally dilated);
* :func:`tsm_probes`: the three TSM channel groups (reads t+1, reads t-1, unshifted);
* :func:`layer_probe` / :class:`LayerProbe`: the output of a named layer of a (trained) network,
  e.g. ``"layer3"``; the forward stops right after that layer. 2D networks that fold frames into
  the batch are unfolded back to ``(B, C, T, H, W)`` (:class:`FoldedFrames` does the same for a
  bare TSN-layout module such as :class:`~actionrec.layers.mixtconv.MixTConv`).

"Positive" probes (``positive=True``, the default for the mechanism probes) set every weight to
``1 / fan_in`` and feed a positive input, so nothing cancels and no ReLU is dead: the measured
support then *is* the architecture's receptive field. Random-weight probes (``positive=False``,
Kaiming init, seeded) show the effective, centre-heavy one.

:func:`mechanism_probes` builds any of these by family name (:data:`PROBE_FAMILIES`, what the
notebook's explorer lists); :func:`stage_layers` names a network's stage outputs.

Claims decided from the maps (sentences for the notebooks, never hand-written):
:func:`theory_check` (measured support = analytic extent?), :func:`span_ratio_claim` (MTNet's
"twice as large"), :func:`rf_change` (how a number moved with training, paired over seeds, with a
Student-t CI).

Plots (:func:`plot_rf`, :func:`plot_rf_grid`, :func:`plot_temporal_profiles`): heatmaps over time
(T x W, summed over H) and space (H x W at the frame with the most mass), and 1-D profiles over time.

Departures: none from the papers; the MTConv probe splits the input with an average pool (as
``viz.stream_receptive_fields``), where MTNet's stem uses SoftPool: same support.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "effective_rf",
    "theoretical_rf",
    "conv_chain",
    "theoretical_rf_of",
    "Extent",
    "rf_extent",
    "temporal_profile",
    "window_mass",
    "mass_outside",
    "rf_stats",
    "FoldedFrames",
    "LayerProbe",
    "Probe",
    "conv_stack",
    "conv_stack_probe",
    "mtconv_stream_probes",
    "msti_probes",
    "mixtconv_probes",
    "tsm_probes",
    "layer_probe",
    "probe_layers",
    "stage_layers",
    "PROBE_FAMILIES",
    "mechanism_probes",
    "theory_check",
    "span_ratio_claim",
    "rf_change",
    "make_positive_",
    "plot_rf",
    "plot_rf_grid",
    "plot_temporal_profiles",
]

Triple = tuple[int, int, int]


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def _device_of(fn: Any) -> torch.device:
    if isinstance(fn, nn.Module):
        for t in fn.parameters():
            return t.device
        for t in fn.buffers():
            return t.device
    return torch.device("cpu")


def _check_shape(input_shape: Any) -> tuple[int, int, int, int]:
    ok = (isinstance(input_shape, (tuple, list, torch.Size)) and len(input_shape) == 4
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_shape))
    if not ok:
        raise ValueError(f"input_shape={input_shape!r} must be (C, T, H, W): 4 ints >= 1, the shape of one clip "
                         "without the batch dimension")
    return tuple(input_shape)


def _channel_index(channels: Any, c_out: int):
    if channels is None:
        return slice(None)
    if isinstance(channels, slice):
        idx = range(c_out)[channels]
    elif isinstance(channels, int) and not isinstance(channels, bool):
        idx = [channels]
    elif isinstance(channels, (list, tuple, range)) and all(isinstance(c, int) and not isinstance(c, bool) for c in channels):
        idx = list(channels)
    else:
        raise ValueError(f"channels={channels!r} must be None, an int, a slice or a list of ints (output channels)")
    if len(idx) == 0 or any(not -c_out <= c < c_out for c in idx):
        raise ValueError(f"channels={channels!r} selects no valid output channel; the output has {c_out} channels")
    return channels if isinstance(channels, slice) else list(idx)


def effective_rf(
    fn: Callable[[torch.Tensor], torch.Tensor],
    input_shape: Optional[Sequence[int]] = None,
    *,
    out_index: Optional[Sequence[int]] = None,
    batch: int = 1,
    absolute: bool = True,
    x: Optional[torch.Tensor] = None,
    channels: Any = None,
    seed: int = 0,
    eval_mode: bool = True,
) -> np.ndarray:
    """Gradient map of one output position of ``fn`` w.r.t. its input: ``(T, H, W)``, max 1.

    Args:
        fn: callable ``(B, C, T, H, W) -> (B, C', T', H', W')`` (a Module, a :class:`Probe`'s
            module, a :class:`LayerProbe`; wrap 2D frame-folding modules in :class:`FoldedFrames`).
        input_shape: ``(C, T, H, W)`` of one clip (may be omitted when ``x`` is given).
        out_index: ``(t, h, w)`` of the output position (default: the centre ``(T'//2, H'//2, W'//2)``).
        batch: clips drawn when ``x`` is None: ``0.5 + U[0, 1)`` (positive; seeded by ``seed``).
        absolute: sum ``|grad|`` (True, the support and its weights) or the signed gradient.
        x: the clips to differentiate at, ``(B, C, T, H, W)`` (e.g. real test clips for a trained net).
        channels: output channels whose values are summed (None: all; an int, slice or list).
        eval_mode: run a Module in eval mode (BatchNorm with running statistics, no dropout); the
            training flags of the module and every submodule are restored afterwards.

    Returns a float numpy array ``(T, H, W)``: ``sum_{b, c_in} |d sum_{c in channels} y[b, c, t, h, w] / dx[b, c_in]|``
    divided by its largest absolute value (all zeros if the output does not depend on x at all).
    """
    if x is None:
        shape = _check_shape(input_shape)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch={batch!r} must be an int >= 1 (clips drawn when x is None)")
        gen = torch.Generator().manual_seed(int(seed))
        x = 0.5 + torch.rand((batch, *shape), generator=gen)
    else:
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            raise ValueError(f"x must be a (B, C, T, H, W) tensor; got {type(x).__name__} of shape "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else '-'}")
        if input_shape is not None and tuple(_check_shape(input_shape)) != tuple(x.shape[1:]):
            raise ValueError(f"input_shape={tuple(input_shape)} does not match x.shape[1:]={tuple(x.shape[1:])}")
    if not callable(fn):
        raise ValueError(f"fn={fn!r} must be callable: (B, C, T, H, W) -> (B, C', T', H', W')")
    x = x.detach().to(_device_of(fn), torch.float32).clone().requires_grad_(True)
    flags = [(m, m.training) for m in fn.modules()] if isinstance(fn, nn.Module) else []
    try:
        if eval_mode and isinstance(fn, nn.Module):
            fn.eval()
        with torch.enable_grad():
            y = fn(x)
            if isinstance(y, (tuple, list)):
                raise ValueError(f"fn returned a {type(y).__name__} of {len(y)} items; effective_rf needs one "
                                 "(B, C', T', H', W') tensor: pick one (e.g. LayerProbe(..., stream='short'))")
            if not isinstance(y, torch.Tensor) or y.dim() != 5 or y.shape[0] != x.shape[0]:
                raise ValueError(f"fn must return (B, C', T', H', W') with B = {x.shape[0]}; got "
                                 f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__} "
                                 "(wrap 2D modules on the (B*T, C, H, W) layout in FoldedFrames)")
            sizes = tuple(y.shape[2:])
            idx = tuple(s // 2 for s in sizes) if out_index is None else tuple(out_index)
            if len(idx) != 3 or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < s
                                        for i, s in zip(idx, sizes)):
                raise ValueError(f"out_index={out_index!r} must be (t, h, w) inside the output grid {sizes}")
            sel = y[:, _channel_index(channels, y.shape[1]), idx[0], idx[1], idx[2]]
            if not sel.requires_grad:
                raise ValueError("the selected output does not depend on x (no gradient path)")
            (g,) = torch.autograd.grad(sel.sum(), x)
    finally:
        for m, flag in flags:
            m.training = flag
    g = g.detach().float()
    if absolute:
        g = g.abs()
    m = g.sum(dim=(0, 1))  # (T, H, W)
    peak = m.abs().max()
    return (m / peak if peak > 0 else m).cpu().numpy()


# --------------------------------------------------------------------------------------------
# Theory
# --------------------------------------------------------------------------------------------


def _triple(v: Any, name: str) -> Triple:
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v, v)
    if not (isinstance(v, (tuple, list)) and len(v) == 3 and all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in v)):
        raise ValueError(f"{name}={v!r} must be an int >= 1 or a (T, H, W) tuple of ints >= 1")
    return tuple(v)


def theoretical_rf(kernels: Sequence[Any], *, strides: Optional[Sequence[Any]] = None,
                   dilations: Optional[Sequence[Any]] = None) -> Triple:
    """Analytic receptive field ``(frames, height, width)`` of a chain of convs / pools.

    ``kernels``: one entry per layer, an int (cubic) or a ``(T, H, W)`` tuple; ``strides``,
    ``dilations``: None (all 1) or one entry per layer likewise. Per axis ``r_l = r_{l-1} +
    (k_l - 1) d_l j_{l-1}``, ``j_l = j_{l-1} s_l`` from ``r_0 = j_0 = 1``. E.g. three (3,3,3) convs:
    (7, 7, 7); one kernel-3 conv with dilation 2: (5, 1, 1) for kernel (3, 1, 1).
    """
    if not isinstance(kernels, (list, tuple)) or (isinstance(kernels, tuple) and any(isinstance(k, int) for k in kernels)):
        raise ValueError(f"kernels={kernels!r} must be a list with one kernel per layer, e.g. [(3, 3, 3)] * 3 "
                         "(a bare (T, H, W) tuple is ambiguous: wrap it in a list)")
    ks = [_triple(k, f"kernels[{i}]") for i, k in enumerate(kernels)]
    n = len(ks)

    def per_layer(vals, name):
        if vals is None:
            return [(1, 1, 1)] * n
        if not isinstance(vals, (list, tuple)) or len(vals) != n:
            raise ValueError(f"{name}={vals!r} must be None or a list of {n} entries (one per kernel)")
        return [_triple(v, f"{name}[{i}]") for i, v in enumerate(vals)]

    ss, ds = per_layer(strides, "strides"), per_layer(dilations, "dilations")
    r, j = [1, 1, 1], [1, 1, 1]
    for k, s, d in zip(ks, ss, ds):
        for a in range(3):
            r[a] += (k[a] - 1) * d[a] * j[a]
            j[a] *= s[a]
    return tuple(r)


def conv_chain(module: nn.Module) -> dict[str, list[Triple]]:
    """``{"kernels", "strides", "dilations"}`` of every conv / max / avg pool in ``module``, in
    registration order, as ``(T, H, W)`` triples (2D layers get T = 1). Only meaningful when those
    layers form a chain (a plain stack); feed it to :func:`theoretical_rf` (:func:`theoretical_rf_of`)."""
    out: dict[str, list[Triple]] = {"kernels": [], "strides": [], "dilations": []}
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.Conv2d, nn.MaxPool3d, nn.AvgPool3d, nn.MaxPool2d, nn.AvgPool2d)):
            two_d = isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
            vals = []
            for attr in ("kernel_size", "stride", "dilation"):
                v = getattr(m, attr, 1)
                v = (v,) * (2 if two_d else 3) if isinstance(v, int) else tuple(v)
                vals.append(((1,) + v) if two_d else v)
            for key, v in zip(("kernels", "strides", "dilations"), vals):
                out[key].append(v)
    return out


def theoretical_rf_of(module: nn.Module) -> Triple:
    """:func:`theoretical_rf` of :func:`conv_chain` ``(module)`` (a plain stack of convs / pools)."""
    chain = conv_chain(module)
    if not chain["kernels"]:
        return (1, 1, 1)
    return theoretical_rf(chain["kernels"], strides=chain["strides"], dilations=chain["dilations"])


# --------------------------------------------------------------------------------------------
# Reading a map
# --------------------------------------------------------------------------------------------


class Extent(NamedTuple):
    """Measured extent of an RF map: spans (last - first + 1) along T, H, W and the index ranges."""

    frames: int
    height: int
    width: int
    t_range: tuple[int, int]
    h_range: tuple[int, int]
    w_range: tuple[int, int]

    @property
    def size(self) -> Triple:
        """``(frames, height, width)``, comparable with :func:`theoretical_rf`."""
        return (self.frames, self.height, self.width)


def _check_map(rf: Any) -> np.ndarray:
    a = rf.detach().cpu().numpy() if isinstance(rf, torch.Tensor) else np.asarray(rf)
    if a.ndim != 3:
        raise ValueError(f"rf must be a (T, H, W) map (from effective_rf); got shape {a.shape}")
    return np.abs(a.astype(np.float64))


def rf_extent(rf: Any, thresh: float = 0.0) -> Extent:
    """The span of an RF map along each axis: indices whose marginal (sum over the two other axes,
    divided by its peak) exceeds ``thresh``. ``thresh = 0``: the exact support (any nonzero
    gradient); ``0.5``: the part carrying at least half the peak's weight."""
    if isinstance(thresh, bool) or not isinstance(thresh, (int, float)) or not 0.0 <= thresh < 1.0:
        raise ValueError(f"thresh={thresh!r} must be a number in [0, 1)")
    a = _check_map(rf)
    spans, ranges = [], []
    for axis in range(3):
        marg = a.sum(axis=tuple(i for i in range(3) if i != axis))
        peak = marg.max()
        idx = np.nonzero(marg > thresh * peak)[0] if peak > 0 else np.array([], dtype=int)
        if idx.size == 0:
            spans.append(0)
            ranges.append((-1, -1))
        else:
            spans.append(int(idx[-1] - idx[0] + 1))
            ranges.append((int(idx[0]), int(idx[-1])))
    return Extent(*spans, *ranges)


def temporal_profile(rf: Any) -> np.ndarray:
    """``(T,)``: the map's mass per frame (sum over H, W of |rf|), normalised to sum 1."""
    a = _check_map(rf).sum(axis=(1, 2))
    total = a.sum()
    return a / total if total > 0 else a


def window_mass(rf: Any, frames: int = 3) -> float:
    """Largest fraction of the temporal mass inside ``frames`` consecutive frames (1: all of it)."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames={frames!r} must be an int >= 1")
    p = temporal_profile(rf)
    if frames >= p.size:
        return float(p.sum())
    c = np.concatenate([[0.0], np.cumsum(p)])
    return float((c[frames:] - c[:-frames]).max())


def mass_outside(rf: Any, radius: int = 1, centre: Optional[int] = None) -> float:
    """Fraction of the temporal mass more than ``radius`` frames from ``centre`` (default: T // 2,
    the centre output's frame for probes that keep T). E.g. ``radius=1``: what a TSM-like ±1 frame
    operation could not have seen."""
    p = temporal_profile(rf)
    c = p.size // 2 if centre is None else centre
    return float(p[np.abs(np.arange(p.size) - c) > radius].sum())


def rf_stats(rf: Any, *, thresh: float = 0.5, window: int = 3) -> dict[str, float]:
    """Numbers for one map: ``support_frames / _height / _width`` (thresh 0), ``frames_50 / height_50 /
    width_50`` (at ``thresh``), ``spread_frames`` (standard deviation of the temporal profile, in
    frames) and ``mass_3`` (:func:`window_mass` with ``window`` frames; the key is ``mass_<window>``)."""
    sup, half = rf_extent(rf, 0.0), rf_extent(rf, thresh)
    p = temporal_profile(rf)
    t = np.arange(p.size)
    mean = float((p * t).sum())
    spread = float(np.sqrt((p * (t - mean) ** 2).sum()))
    tag = f"{int(round(100 * thresh))}"
    return {
        "support_frames": sup.frames, "support_height": sup.height, "support_width": sup.width,
        f"frames_{tag}": half.frames, f"height_{tag}": half.height, f"width_{tag}": half.width,
        "spread_frames": spread, f"mass_{window}": window_mass(rf, window),
    }


# --------------------------------------------------------------------------------------------
# Adaptors and probes
# --------------------------------------------------------------------------------------------


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
    from .layers.mixtconv import MixTConv

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


def _check_pos_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{name}={v!r} must be an int >= {minimum}")
    return v


def conv_stack(depth: int, *, channels: int = 4, in_channels: Optional[int] = None, kernel_size: Any = (3, 3, 3),
               dilation: Any = 1, stride: Any = 1, positive: bool = True, seed: int = 0) -> nn.Sequential:
    """``depth`` x [conv kernel_size (dilation, stride; "same" padding, no bias) → relu].

    ::

        x (B, C_in, T, H, W) → conv → relu → conv → relu ... → (B, channels, T/s^depth, ...)

    ``positive``: weights ``1 / fan_in`` (exact support); else Kaiming normal (fan_in, relu), seeded.
    """
    _check_pos_int("depth", depth)
    _check_pos_int("channels", channels)
    k, d, s = _triple(kernel_size, "kernel_size"), _triple(dilation, "dilation"), _triple(stride, "stride")
    c_in = channels if in_channels is None else _check_pos_int("in_channels", in_channels)
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
    k, d, s = _triple(kernel_size, "kernel_size"), _triple(dilation, "dilation"), _triple(stride, "stride")
    theory = theoretical_rf([k] * depth, strides=[s] * depth, dilations=[d] * depth)
    return Probe(f"{depth} x conv {k}" + (f" dil {d}" if d != (1, 1, 1) else ""), net,
                 (channels, _check_pos_int("frames", frames), _check_pos_int("size", size), size), theory=theory,
                 info=dict(depth=depth, kernel_size=k, dilation=d, stride=s))


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
    narrower). The positive version with a ones input is :func:`actionrec.viz.stream_receptive_fields`.
    """
    from .layers.mtconv import MTConv, split_channels

    _check_pos_int("num_layers", num_layers)
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
    shape = (channels, _check_pos_int("frames", frames), _check_pos_int("size", size), size)
    short = 2 * num_layers + 1
    long = 2 + 4 * num_layers
    return {
        "short": Probe("MTConv short", _MTStreams(layers, cs, "short"), shape, theory=(short,) * 3,
                       info=dict(num_layers=num_layers, r=r)),
        "long": Probe("MTConv long", _MTStreams(layers, cs, "long"), shape, theory=(long,) * 3,
                      info=dict(num_layers=num_layers, r=r)),
    }


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
    from .layers.msti import SPATIAL, TEMPORAL, MultiScaleConv, SteppedConv

    if branch not in ("spatial", "temporal", "both"):
        raise ValueError(f"branch={branch!r} must be 'spatial', 'temporal' or 'both'")
    if caw and branch != "both":
        raise ValueError("caw=True needs branch='both' (the CAW blocks weigh each branch by the other)")
    _check_pos_int("groups", groups)
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
    shape = (channels, _check_pos_int("frames", frames), _check_pos_int("size", size), size)
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
    from .layers.mixtconv import MixTConv

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
    shape = (module.channels, module.num_segments, _check_pos_int("size", size), size)
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
    from .layers.temporal_shift import TemporalShift

    _check_pos_int("channels", channels)
    fold = channels // fold_div
    if fold < 1:
        raise ValueError(f"channels={channels} must be >= fold_div={fold_div} so that some channels shift")
    net = FoldedFrames(TemporalShift(channels, _check_pos_int("frames", frames), fold_div=fold_div))
    shape = (channels, frames, _check_pos_int("size", size), size)
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
                 _check_shape(tuple(input_shape)), info=dict(layer=layer, stream=stream))


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
    effective field). "MixTConv (TSM init)" is MixTConv as it starts training (TSM-like taps).
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


# --------------------------------------------------------------------------------------------
# Claims, decided from the measurements
# --------------------------------------------------------------------------------------------


def theory_check(probes: Mapping[str, Probe], maps: Mapping[str, Any]) -> dict[str, Any]:
    """Does the measured support (:func:`rf_extent` at 0) equal each probe's analytic extent?

    Returns ``{"all_match", "rows": [{name, measured, theory, match}], "sentence"}``; probes without
    a theory are listed as "no analytic value" and do not count.
    """
    rows = []
    for name, probe in probes.items():
        measured = rf_extent(maps[name]).size
        rows.append(dict(name=name, measured=measured, theory=probe.theory,
                         match=None if probe.theory is None else tuple(probe.theory) == measured))
    checked = [r for r in rows if r["match"] is not None]
    ok = bool(checked) and all(r["match"] for r in checked)
    fmt = lambda e: "×".join(str(v) for v in e)  # noqa: E731
    parts = [f"{r['name']} {fmt(r['measured'])}" + ("" if r["match"] in (True, None) else f" (theory {fmt(r['theory'])})")
             for r in rows]
    if not checked:
        head = "No analytic extent to compare with."
    elif ok:
        head = f"The measured support equals the analytic extent (frames×height×width) for all {len(checked)} probes:"
    else:
        bad = sum(not r["match"] for r in checked)
        head = f"The measured support differs from the analytic extent for {bad} of {len(checked)} probes:"
    return {"all_match": ok, "rows": rows, "sentence": head + " " + ", ".join(parts) + "."}


def span_ratio_claim(short: Any, long: Any, *, expected: float = 2.0, thresh: float = 0.0,
                     tolerance: float = 0.15) -> dict[str, Any]:
    """MTNet's "the long stream's receptive field is twice as large" on two maps (frames and width).

    The claim *holds* when the long/short ratio of the :func:`rf_extent` spans (at ``thresh``) is
    within ``tolerance`` (relative) of ``expected`` along T and W. Returns ``{"ratio_frames",
    "ratio_width", "holds", "sentence"}``.
    """
    es, el = rf_extent(short, thresh), rf_extent(long, thresh)
    rt = el.frames / es.frames if es.frames else math.nan
    rw = el.width / es.width if es.width else math.nan
    holds = all(abs(r - expected) <= tolerance * expected for r in (rt, rw))
    where = "support" if thresh == 0 else f"extent at {100 * thresh:.0f}% of the peak"
    sentence = (f"Long vs short stream ({where}): {el.frames} vs {es.frames} frames (×{rt:.2f}) and {el.width} vs "
                f"{es.width} px (×{rw:.2f}); the paper's \"twice as large\" "
                + ("holds" if holds else "does not hold") + " here.")
    return {"ratio_frames": rt, "ratio_width": rw, "holds": holds, "sentence": sentence}


def rf_change(before: Sequence[Mapping[str, float]], after: Sequence[Mapping[str, float]], *,
              metric: str = "spread_frames", label: str = "", confidence: float = 0.95) -> dict[str, Any]:
    """How one :func:`rf_stats` number changed with training, over seeds (paired: seed k before/after).

    Returns ``{"before", "after", "diff", "ci", "n", "verdict", "sentence"}``; ``verdict`` is
    "wider" / "narrower" (spread, extents) — or "more concentrated" / "less concentrated" for
    ``mass_*`` — when the paired Student-t CI of the difference excludes 0, "unchanged" when the
    difference is exactly 0 for every seed, else "no clear change" (always so with one seed: no CI;
    the sentence then says which way this one run moved).
    """
    from .experiments import mean_ci

    if len(before) != len(after) or not before:
        raise ValueError(f"before and after must be non-empty lists of rf_stats of the same seeds; got "
                         f"{len(before)} and {len(after)}")
    if any(metric not in d for d in [*before, *after]):
        raise ValueError(f"metric={metric!r} is not in the rf_stats dicts; keys: {sorted(before[0])}")
    b = [float(d[metric]) for d in before]
    a = [float(d[metric]) for d in after]
    diffs = [y - x for x, y in zip(b, a)]
    mb, ma = sum(b) / len(b), sum(a) / len(a)
    md, _, ci = mean_ci(diffs, confidence)
    mass = metric.startswith("mass")
    if md == 0:
        direction = "unchanged"
    elif mass:
        direction = "more concentrated" if md > 0 else "less concentrated"
    else:
        direction = "wider" if md > 0 else "narrower"
    if all(d == 0 for d in diffs):
        verdict = "unchanged"
    elif len(diffs) >= 2 and abs(md) > ci:
        verdict = direction
    else:
        verdict = "no clear change"
    unit = " frames" if "frames" in metric else ""
    if len(diffs) >= 2:
        tail = f"({md:+.3g} ± {ci:.2g}, {len(diffs)} seeds, paired {confidence:.0%} CI): {verdict}"
    else:
        tail = f"({md:+.3g}, one seed, no CI): {direction} in this run"
    sentence = f"{label + ': ' if label else ''}{metric} {mb:.3g} → {ma:.3g}{unit} {tail}"
    return {"before": mb, "after": ma, "diff": md, "ci": ci, "n": len(diffs), "verdict": verdict, "sentence": sentence}


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _label(rf: np.ndarray, theory: Optional[Sequence[int]]) -> str:
    e = rf_extent(rf)
    s = f"{e.frames} fr × {e.height}×{e.width} px"
    if theory is not None:
        s += f" (theory {theory[0]} × {theory[1]}×{theory[2]})"
    return s


def _integer_ticks(*axes, y: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if y:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _best_frame(a: np.ndarray) -> int:
    """The frame with the most mass; among (near-)ties the one closest to the centre frame T // 2."""
    mass = a.sum(axis=(1, 2))
    ties = np.nonzero(mass >= mass.max() * (1 - 1e-6))[0]
    return int(ties[np.abs(ties - a.shape[0] // 2).argmin()])


def _crop_bounds(n: int, crop: Optional[int]) -> tuple[int, int]:
    if crop is None or crop >= n:
        return 0, n
    lo = n // 2 - crop // 2
    return lo, lo + crop


def plot_rf(rf: Any, *, axes=None, title: Optional[str] = None, theory: Optional[Sequence[int]] = None,
            cmap: str = "magma", crop: Optional[int] = None):
    """Two heatmaps of one map: time × width (summed over H) and H × W at the frame with the most mass.

    ``theory`` (frames, height, width) is printed beside the measured extent; ``crop`` shows only
    that many pixels around the centre of H and W. Returns the figure.
    """
    import matplotlib.pyplot as plt

    a = _check_map(rf)
    T, H, W = a.shape
    (h0, h1), (w0, w1) = _crop_bounds(H, crop), _crop_bounds(W, crop)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.0), gridspec_kw=dict(width_ratios=[1.3, 1]))
    else:
        fig = axes[0].figure
    tw = a.sum(axis=1)[:, w0:w1]
    axes[0].imshow(tw / max(tw.max(), 1e-30), aspect="auto", cmap=cmap, origin="lower", vmin=0, vmax=1,
                   interpolation="nearest", extent=(w0 - 0.5, w1 - 0.5, -0.5, T - 0.5))
    axes[0].set_xlabel("input width (px)")
    axes[0].set_ylabel("input frame")
    _integer_ticks(*axes[:2])
    t_best = _best_frame(a)
    hw = a[t_best, h0:h1, w0:w1]
    axes[1].imshow(hw / max(hw.max(), 1e-30), cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                   extent=(w0 - 0.5, w1 - 0.5, h1 - 0.5, h0 - 0.5))
    axes[1].set_xlabel("width (px)")
    axes[1].set_ylabel("height (px)")
    axes[1].set_title(f"H×W at frame {t_best}", fontsize=9)
    axes[0].set_title((title + "\n" if title else "") + _label(a, theory), fontsize=9)
    return fig


def plot_rf_grid(rfs: Mapping[str, Any], *, view: str = "time", ncols: int = 4,
                 theories: Optional[Mapping[str, Sequence[int]]] = None, suptitle: Optional[str] = None,
                 cmap: str = "magma", inches: float = 2.6, crop: Optional[int] = None):
    """A grid of heatmaps, one per map: ``view="time"`` (T × W, summed over H), ``"space"`` (H × W at
    the frame with the most mass) or ``"both"`` (two rows per map). ``crop``: show only ``crop``
    pixels around the centre in W (and H) so small fields are visible. Returns the figure."""
    import matplotlib.pyplot as plt

    if view not in ("time", "space", "both"):
        raise ValueError(f"view={view!r} must be 'time', 'space' or 'both'")
    if not rfs:
        raise ValueError("rfs is empty: pass {name: map}")
    names = list(rfs)
    ncols = max(1, min(ncols, len(names)))
    blocks = math.ceil(len(names) / ncols)
    rows_per = 2 if view == "both" else 1
    fig, axes = plt.subplots(blocks * rows_per, ncols, figsize=(inches * ncols, inches * 0.95 * blocks * rows_per),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for k, name in enumerate(names):
        a = _check_map(rfs[name])
        T, H, W = a.shape
        r, c = divmod(k, ncols)
        (h0, h1), (w0, w1) = _crop_bounds(H, crop), _crop_bounds(W, crop)
        theory = (theories or {}).get(name)
        views = ["time", "space"] if view == "both" else [view]
        for v_i, v in enumerate(views):
            ax = axes[r * rows_per + v_i, c]
            ax.set_visible(True)
            if v == "time":
                img = a.sum(axis=1)[:, w0:w1]
                ax.imshow(img / max(img.max(), 1e-30), aspect="auto", cmap=cmap, origin="lower", vmin=0, vmax=1,
                          interpolation="nearest", extent=(w0 - 0.5, w1 - 0.5, -0.5, T - 0.5))
                ax.set_xlabel("width (px)", fontsize=8)
                ax.set_ylabel("frame", fontsize=8)
            else:
                t_best = _best_frame(a)
                img = a[t_best, h0:h1, w0:w1]
                ax.imshow(img / max(img.max(), 1e-30), cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                          extent=(w0 - 0.5, w1 - 0.5, h1 - 0.5, h0 - 0.5))
                ax.set_xlabel(f"width (px), frame {t_best}", fontsize=8)
                ax.set_ylabel("height (px)", fontsize=8)
            ax.tick_params(labelsize=7)
            _integer_ticks(ax)
            if v_i == 0:
                ax.set_title(f"{name}\n{_label(a, theory)}", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def plot_temporal_profiles(rfs: Mapping[str, Any], *, ax=None, normalize: str = "peak", title: Optional[str] = None,
                           styles: Optional[Mapping[str, Mapping[str, Any]]] = None):
    """1-D profiles over time (:func:`temporal_profile`), one line per map, normalised to peak 1
    (``normalize="peak"``) or sum 1 (``"sum"``). Returns the figure."""
    import matplotlib.pyplot as plt

    if normalize not in ("peak", "sum"):
        raise ValueError(f"normalize={normalize!r} must be 'peak' or 'sum'")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
    else:
        fig = ax.figure
    for name, rf in rfs.items():
        p = temporal_profile(rf)
        if normalize == "peak" and p.max() > 0:
            p = p / p.max()
        ax.plot(np.arange(p.size), p, marker="o", ms=3, label=name, **dict((styles or {}).get(name, {})))
    ax.set_xlabel("input frame")
    _integer_ticks(ax, y=False)
    ax.set_ylabel("gradient mass per frame" + (" (peak = 1)" if normalize == "peak" else " (sum = 1)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
