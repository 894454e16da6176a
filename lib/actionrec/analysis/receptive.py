"""Receptive fields of video layers: the analytic extent and the gradient-measured (effective) map.

Papers whose mechanisms these measurements make visible (the probes are in :mod:`.probes`): Wu et
al., "MSTI" (IJCAI 2020, Sec. 3.1, eq. 1-2: the stepped branches give channel group i a (2i-1)
receptive field, 1/3/5/7); Shan et al., "MixTConv" (2020, eq. 1-2: one temporal kernel k_m per
channel group, dilated taps at t + d j); Stergiou & Poppe, "MTNet" (AAAI 2021, Sec. 3, Fig. 2: the
long stream runs at T/2 x H/2 x W/2, so "the receptive field is twice as large"); Lin et al., "TSM"
(ICCV 2019: a shifted channel reads frame t+1 or t-1). The *effective* receptive field is Luo, Li,
Urtasun & Zemel, "Understanding the effective receptive field in deep convolutional neural
networks" (NIPS 2016): the gradient of one centre output w.r.t. the input.

Theory (:func:`theoretical_rf`), per axis, for a chain of layers with kernel k_l, stride s_l and
dilation d_l (start r_0 = 1 input position, jump j_0 = 1)::

    r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}        receptive field (input positions)
    j_l = j_{l-1} s_l                            distance between adjacent outputs, in input positions

Measurement (:func:`effective_rf`)::

    x (B, C, T, H, W), requires grad
      → fn(x) = y (B, C', T', H', W')                  any callable; a Module is run in eval mode
      → s = sum_{b, c in channels} y[b, c, t0, h0, w0]  (t0, h0, w0) = out_index, default the centre
      → g = ds/dx (B, C, T, H, W) → |g| → sum over B and C → (T, H, W) / max    ("effective RF map")

A Module's (and its submodules') training flags are restored afterwards and parameters get no
``.grad`` (``torch.autograd.grad`` w.r.t. x only), so measuring a model never changes it.
BatchNorm in eval mode uses running statistics: every sample is measured on its own, as at test time.

Reading a map: :func:`rf_extent` (frames x height x width; at ``thresh = 0`` the exact support),
:func:`temporal_profile`, :func:`best_window_mass`, :func:`mass_outside`, :func:`rf_stats`,
:func:`rf_label` (the extent as a plot label). Claims decided from the maps (sentences for the
notebooks): :func:`theory_check`, :func:`span_ratio_claim` (MTNet's "twice as large"),
:func:`rf_change` (a number before vs after training, paired over seeds, with a Student-t CI
computed by the ``mean_ci`` the caller passes). Plots of the maps: :mod:`actionrec.viz.receptive`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..utils.checks import check_int, fail

__all__ = [
    "effective_rf",
    "check_clip_shape",
    "as_triple",
    "theoretical_rf",
    "Extent",
    "rf_extent",
    "temporal_profile",
    "best_window_mass",
    "mass_outside",
    "rf_stats",
    "rf_label",
    "rf_labels",
    "theory_check",
    "span_ratio_claim",
    "rf_change",
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


def check_clip_shape(input_shape: Any, name: str = "input_shape") -> tuple[int, int, int, int]:
    """``input_shape`` as a tuple if it is ``(C, T, H, W)``: 4 ints >= 1 (one clip, no batch dimension)."""
    ok = (isinstance(input_shape, (tuple, list, torch.Size)) and len(input_shape) == 4
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_shape))
    if not ok:
        fail(name, input_shape, "(C, T, H, W): 4 ints >= 1, the shape of one clip without the batch dimension")
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
        fn: callable ``(B, C, T, H, W) -> (B, C', T', H', W')`` (a Module, a probe's module, a
            :class:`~actionrec.analysis.probes.LayerProbe`; wrap 2D frame-folding modules in
            :class:`~actionrec.analysis.probes.FoldedFrames`).
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
        shape = check_clip_shape(input_shape)
        check_int("batch", batch, min_value=1)
        gen = torch.Generator().manual_seed(int(seed))
        x = 0.5 + torch.rand((batch, *shape), generator=gen)
    else:
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            raise ValueError(f"x must be a (B, C, T, H, W) tensor; got {type(x).__name__} of shape "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else '-'}")
        if input_shape is not None and tuple(check_clip_shape(input_shape)) != tuple(x.shape[1:]):
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


def as_triple(v: Any, name: str) -> Triple:
    """``(T, H, W)`` from an int >= 1 (cubic) or a 3-tuple of ints >= 1 (kernel, stride, dilation)."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v, v)
    if not (isinstance(v, (tuple, list)) and len(v) == 3 and all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in v)):
        fail(name, v, "an int >= 1 or a (T, H, W) tuple of ints >= 1")
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
        fail("kernels", kernels, "a list with one kernel per layer, e.g. [(3, 3, 3)] * 3 "
             "(a bare (T, H, W) tuple is ambiguous: wrap it in a list)")
    ks = [as_triple(k, f"kernels[{i}]") for i, k in enumerate(kernels)]
    n = len(ks)

    def per_layer(vals, name):
        if vals is None:
            return [(1, 1, 1)] * n
        if not isinstance(vals, (list, tuple)) or len(vals) != n:
            fail(name, vals, f"None or a list of {n} entries (one per kernel)")
        return [as_triple(v, f"{name}[{i}]") for i, v in enumerate(vals)]

    ss, ds = per_layer(strides, "strides"), per_layer(dilations, "dilations")
    r, j = [1, 1, 1], [1, 1, 1]
    for k, s, d in zip(ks, ss, ds):
        for a in range(3):
            r[a] += (k[a] - 1) * d[a] * j[a]
            j[a] *= s[a]
    return tuple(r)


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
        fail("thresh", thresh, "a number in [0, 1)")
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


def best_window_mass(rf: Any, frames: int = 3) -> float:
    """Largest fraction of the temporal mass inside any ``frames`` consecutive frames (1: all of it).

    The window slides: this is the best placement, not a given window (for the mass inside a
    given action window see :func:`actionrec.analysis.attribution.action_window_mass`)."""
    check_int("frames", frames, min_value=1)
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
    frames) and ``mass_3`` (:func:`best_window_mass` with ``window`` frames; the key is ``mass_<window>``)."""
    sup, half = rf_extent(rf, 0.0), rf_extent(rf, thresh)
    p = temporal_profile(rf)
    t = np.arange(p.size)
    mean = float((p * t).sum())
    spread = float(np.sqrt((p * (t - mean) ** 2).sum()))
    tag = f"{int(round(100 * thresh))}"
    return {
        "support_frames": sup.frames, "support_height": sup.height, "support_width": sup.width,
        f"frames_{tag}": half.frames, f"height_{tag}": half.height, f"width_{tag}": half.width,
        "spread_frames": spread, f"mass_{window}": best_window_mass(rf, window),
    }


def rf_label(rf: Any, theory: Optional[Sequence[int]] = None) -> str:
    """``"7 fr × 7×7 px (theory 7 × 7×7)"``: the map's support (:func:`rf_extent` at 0) and, when
    given, the analytic extent (frames, height, width): the label the receptive-field plots print."""
    e = rf_extent(rf)
    s = f"{e.frames} fr × {e.height}×{e.width} px"
    if theory is not None:
        s += f" (theory {theory[0]} × {theory[1]}×{theory[2]})"
    return s


def rf_labels(rfs: Mapping[str, Any], theories: Optional[Mapping[str, Sequence[int]]] = None) -> dict[str, str]:
    """``{name: rf_label(map, theories.get(name))}`` for a dict of maps (``labels=`` of ``viz.plot_rf_grid``)."""
    return {name: rf_label(rf, (theories or {}).get(name)) for name, rf in rfs.items()}


# --------------------------------------------------------------------------------------------
# Claims, decided from the measurements
# --------------------------------------------------------------------------------------------


def theory_check(probes: Mapping[str, Any], maps: Mapping[str, Any]) -> dict[str, Any]:
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
              mean_ci: Callable[[Sequence[float], float], tuple[float, float, float]], metric: str = "spread_frames",
              label: str = "", confidence: float = 0.95) -> dict[str, Any]:
    """How one :func:`rf_stats` number changed with training, over seeds (paired: seed k before/after).

    ``mean_ci(values, confidence) -> (mean, std, CI half-width)`` is the Student-t interval of the
    paired differences (pass :func:`actionrec.experiments.stats.mean_ci`; the analysis package does
    not depend on the experiment statistics). Returns ``{"before", "after", "diff", "ci", "n",
    "verdict", "sentence"}``; ``verdict`` is "wider" / "narrower" (spread, extents) — or "more
    concentrated" / "less concentrated" for ``mass_*`` — when the CI of the difference excludes 0,
    "unchanged" when the difference is exactly 0 for every seed, else "no clear change" (always so
    with one seed: no CI; the sentence then says which way this one run moved).
    """
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
