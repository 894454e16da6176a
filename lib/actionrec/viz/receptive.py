"""Receptive-field maps as heatmaps and profiles (maps from :mod:`actionrec.analysis.receptive`).

A map is the ``(T, H, W)`` array :func:`~actionrec.analysis.receptive.effective_rf` returns (its
absolute value is drawn); each view is normalised to its own peak::

    rf (T, H, W) ─→ sum over H ─→ (T, W) heatmap "time"     (frames × width)
                 ─→ rf[t*]    ─→ (H, W) heatmap "space"    (t* = the frame with the most mass)
    profile (T,) ─→ line over frames                         (plot_temporal_profiles)
    {"short", "long"}: (T, W) ─→ two heatmaps                (plot_stream_receptive_fields)

The receptive-field chapter's own charts take the rows of :mod:`actionrec.analysis.trained_fields`::

    stack_rows [{depth, theory, random_extent, random_spread}] + profiles ─→ plot_depth_extent
    spread_by_stage {net: {stream: {stages, before, after}}}               ─→ plot_spread_by_stage
    field_view {rf, label, title, crop, profile}                           ─→ plot_field_view (the explorer's)

The measured extents printed in the titles are labels computed on the analysis side
(:func:`~actionrec.analysis.receptive.rf_label` / ``rf_labels``); the profiles are
:func:`~actionrec.analysis.receptive.temporal_profile` outputs. Every function returns its figure.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .clips import to_numpy

__all__ = ["plot_rf", "plot_rf_grid", "plot_temporal_profiles", "plot_stream_receptive_fields", "plot_depth_extent",
           "plot_spread_by_stage", "plot_field_view"]


def _as_map(rf: Any) -> np.ndarray:
    """A ``(T, H, W)`` map (array or tensor) as float64 ``|rf|``."""
    a = to_numpy(rf)
    if a.ndim != 3:
        raise ValueError(f"rf must be a (T, H, W) map (from effective_rf); got shape {a.shape}")
    return np.abs(a.astype(np.float64))


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


def plot_rf(rf: Any, *, label: Optional[str] = None, axes=None, title: Optional[str] = None,
            cmap: str = "magma", crop: Optional[int] = None):
    """Two heatmaps of one map: time × width (summed over H) and H × W at the frame with the most mass.

    ``label`` (e.g. ``rf_label(rf, theory)``: the measured and analytic extents) is printed under
    ``title``; ``crop`` shows only that many pixels around the centre of H and W. Returns the figure.
    """
    a = _as_map(rf)
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
    axes[0].set_title("\n".join(t for t in (title, label) if t), fontsize=9)
    return fig


def plot_rf_grid(rfs: Mapping[str, Any], *, labels: Optional[Mapping[str, str]] = None, view: str = "time",
                 ncols: int = 4, suptitle: Optional[str] = None, cmap: str = "magma", inches: float = 2.6,
                 crop: Optional[int] = None):
    """A grid of heatmaps, one per map: ``view="time"`` (T × W, summed over H), ``"space"`` (H × W at
    the frame with the most mass) or ``"both"`` (two rows per map). ``labels``: ``{name: text}``
    printed under each name (``rf_labels(rfs, theories)``). ``crop``: show only ``crop`` pixels
    around the centre in W (and H) so small fields are visible. Returns the figure."""
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
        a = _as_map(rfs[name])
        T, H, W = a.shape
        r, c = divmod(k, ncols)
        (h0, h1), (w0, w1) = _crop_bounds(H, crop), _crop_bounds(W, crop)
        label = (labels or {}).get(name)
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
                ax.set_title(f"{name}\n{label}" if label else name, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def plot_temporal_profiles(profiles: Mapping[str, Any], *, ax=None, normalize: str = "peak",
                           title: Optional[str] = None, styles: Optional[Mapping[str, Mapping[str, Any]]] = None):
    """1-D profiles over time, one line per ``{name: (T,)}`` entry (the sum-1 outputs of
    ``temporal_profile``), drawn with peak 1 (``normalize="peak"``) or as given, sum 1 (``"sum"``).
    Returns the figure."""
    if normalize not in ("peak", "sum"):
        raise ValueError(f"normalize={normalize!r} must be 'peak' or 'sum'")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
    else:
        fig = ax.figure
    for name, prof in profiles.items():
        p = np.asarray(to_numpy(prof), dtype=np.float64)
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


def plot_stream_receptive_fields(maps: Mapping[str, Any], *, num_layers: int = 3, r: float = 0.5):
    """Heatmaps (time × width) of the two streams' maps ``{"short": (T, W), "long": (T, W)}``
    (:func:`actionrec.analysis.probes.stream_receptive_fields`); ``num_layers`` and ``r`` name them
    in the title. A stream's frames and pixels are those where its map exceeds 1e-6."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for ax, (name, m) in zip(axes, maps.items()):
        m = to_numpy(m)
        ax.imshow(m, aspect="auto", cmap="magma", origin="lower")
        support = m > 1e-6
        nt = int(support.any(axis=1).sum())
        nw = int(support.any(axis=0).sum())
        ax.set_title(f"{name} stream: {nt} frames × {nw} px", fontsize=10)
        ax.set_xlabel("input width (px)")
    axes[0].set_ylabel("input frame")
    fig.suptitle(f"Receptive field of one centre output after {num_layers} MTConvs (r = {r:g})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_depth_extent(rows: Sequence[Mapping[str, Any]], profiles: Mapping[str, Any], *, threshold_pct: str):
    """Left: per depth, the theoretical extent, the random stack's frames at ``threshold_pct`` % of the
    peak and 2 × its spread (``rows`` of :func:`actionrec.analysis.trained_fields.stack_rows`); right:
    the random stacks' temporal ``profiles`` ``{name: (T,)}``. Returns the figure."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    ds = np.array([r["depth"] for r in rows], dtype=float)
    axes[0].plot(ds, [r["theory"] for r in rows], "o-", label="theoretical extent (frames)")
    axes[0].plot(ds, [r["random_extent"] for r in rows], "s-", label=f"random weights: frames ≥ {threshold_pct}% of peak")
    axes[0].plot(ds, 2 * np.array([r["random_spread"] for r in rows]), "^-",
                 label="random weights: 2 × spread (std of the profile)")
    axes[0].set_xlabel("depth (3×3×3 layers)")
    axes[0].set_ylabel("frames")
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    axes[0].set_title("Theoretical vs effective temporal extent", fontsize=10)
    plot_temporal_profiles(profiles, ax=axes[1], title="Random-weight stacks: gradient mass per frame")
    fig.tight_layout()
    return fig


def plot_spread_by_stage(spread: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]], *, title: str):
    """One panel per network: the mean temporal spread per stage before (dashed) and after (solid)
    training, per stream (``spread`` of :func:`actionrec.analysis.trained_fields.spread_by_stage`)."""
    fig, axes = plt.subplots(1, len(spread), figsize=(4.2 * len(spread), 3.3), squeeze=False)
    for ax, (m, streams) in zip(axes[0], spread.items()):
        for si, (stream, d) in enumerate(streams.items()):
            for when, ls in (("before", "--"), ("after", "-")):
                ax.plot(d["stages"], d[when], ls, marker="o", color=f"C{si}",
                        label=f"{when}" + ("" if stream == "-" else f", {stream}"))
        ax.set_xticks([1, 2, 3, 4])
        ax.set_xlabel("stage")
        ax.set_ylabel("temporal spread (frames)")
        ax.set_title(m, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_field_view(rf: Any, *, label: str, title: str, crop: Any, profile: Mapping[str, Any]):
    """The explorer's figure: :func:`plot_rf` of one map (time × width,
    height × width) and its temporal ``profile`` (:func:`actionrec.analysis.trained_fields.field_view`)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), gridspec_kw=dict(width_ratios=[1.3, 1, 1.4]))
    plot_rf(rf, label=label, axes=axes[:2], title=title, crop=crop)
    plot_temporal_profiles(profile, ax=axes[2], title="mass per frame")
    fig.tight_layout()
    return fig
