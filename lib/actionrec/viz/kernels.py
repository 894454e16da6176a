"""Learned temporal kernels: how much weight trained temporal convolutions put on each frame offset.

Inputs are plain dicts of per-tap weights computed in :mod:`actionrec.papers` and
:mod:`actionrec.analysis` (no torch here); shares are fractions, drawn in %::

    mixtconv_learned_taps(net) {module: [{kernel, offsets, weight}]}
        ─→ plot_mixtconv_taps    (MixTConv: mean |weight| per tap offset, one line per kernel group)
    learned_filter_taps(...) {config: {appearance, motion: (mean taps, off-diag.), init}}
        ─→ plot_filter_taps      (two-stream temporal filters: diagonal taps vs their init, per stream)
    taps_by_module(rows) {modules, groups: {group: [share per module]}}
        ─→ plot_beyond_one_frame (MixTConv: share of each group's field beyond ±1 frame)

Sources: :func:`actionrec.papers.mixtconv.mixtconv_learned_taps`,
:func:`actionrec.papers.multiplier.learned_filter_taps` and
:func:`actionrec.analysis.trained_fields.taps_by_module`. Each function returns a new figure;
nothing calls ``plt.show``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_mixtconv_taps", "plot_filter_taps", "plot_beyond_one_frame"]


def plot_mixtconv_taps(taps: Mapping[str, Sequence[Mapping[str, Any]]]):
    """Mean |weight| per temporal tap (x: the tap's frame offset), one panel per module and one line
    per channel group (its kernel size in the legend). ``taps``: ``{module: [{"kernel", "offsets",
    "weight"}]}`` (:func:`actionrec.papers.mixtconv.mixtconv_learned_taps`)."""
    if not taps:
        raise ValueError("plot_mixtconv_taps: taps is empty (the network has no MixTConv)")
    fig, axes = plt.subplots(1, len(taps), figsize=(3.2 * len(taps), 2.8), sharey=True, squeeze=False)
    for ax, (name, groups) in zip(axes[0], taps.items()):
        for gi, g in enumerate(groups):
            ax.plot(g["offsets"], np.asarray(g["weight"]), marker="o", color=f"C{gi}", label=f"k = {g['kernel']}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("tap offset (frames)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean |weight|")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_filter_taps(taps: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]):
    """Per stream, the mean diagonal taps each configuration's filters learned (solid, with the
    off-diagonal norm in the legend) and their init (dotted): ``taps`` as
    :func:`actionrec.papers.multiplier.learned_filter_taps` returns it; ``names`` label the configs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    kernel = len(next(iter(taps.values()))["init"])  # T' taps
    k = np.arange(kernel) - kernel // 2  # offsets in time: -1, 0, +1
    for ax, stream in zip(axes, ("appearance", "motion")):
        for i, (c, t) in enumerate(taps.items()):
            mean_taps, off = t[stream]
            ax.plot(k, mean_taps, marker="o", color=f"C{i}", label=f"{names[c]} (off-diag. {off:.2f})")
            ax.plot(k, t["init"], ls=":", color=f"C{i}", alpha=0.6)
        ax.set_xticks(k, [f"t{d:+d}" if d else "t" for d in k])
        ax.set_title(f"{stream} stream: mean diagonal taps after training (dotted: init)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("W[c, c, k], mean over c, filters, seeds")
    fig.tight_layout()
    return fig


def plot_beyond_one_frame(taps: Mapping[str, Any], *, title: str):
    """Bars per MixTConv block and kernel group: the share (%) of the group's field beyond ±1 frame
    (``taps`` of :func:`actionrec.analysis.trained_fields.taps_by_module`). Returns the figure."""
    mods, groups = taps["modules"], taps["groups"]
    fig, ax = plt.subplots(figsize=(10, 3.4))
    wbar = 0.8 / len(groups)
    for gi, (g, vals) in enumerate(groups.items()):
        ax.bar(np.arange(len(mods)) + (gi - (len(groups) - 1) / 2) * wbar, [100 * v for v in vals], width=wbar * 0.95,
               label=g)
    ax.set_xticks(np.arange(len(mods)), [mm.removesuffix(".temporal") for mm in mods])
    ax.set_ylabel("|taps| beyond ±1 frame (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
