"""Plots of the MTNet, SRTG, MixTConv and MSTI chapters that the generic result plots do not cover.

Inputs are plain dicts and arrays computed in :mod:`actionrec.experiments` and
:mod:`actionrec.papers`; accuracies and rates are fractions, drawn in %::

    time_vs_macs(rows)[g]["rows"] [{key, mac_ratio, time_ratio}] ─→ plot_time_vs_macs
    {series: [value per label]} (a paper's table)                 ─→ plot_paper_bars
    mixtconv_learned_taps(net) {module: [{kernel, offsets, weight}]} ─→ plot_learned_taps
    perturbed_gate_records(...) {perturbation: {top1, stats: {gate: {open, consistent_frames}}}}
                                                                  ─→ plot_perturbation_gates
    gate_explorer_view(...) {clip (3, T, H, W), view, clip_title, panel_title} ─→ plot_gate_explorer

Each returns its figure (a new one unless ``ax`` is given); nothing calls ``plt.show``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .clips import show_clip
from .cycle import plot_cycle_panel

__all__ = ["plot_time_vs_macs", "plot_paper_bars", "plot_learned_taps", "plot_perturbation_gates",
           "plot_gate_explorer"]


def plot_time_vs_macs(rows: Sequence[Mapping[str, Any]], *, key: str = "r", baseline: Any = 1.0,
                      title: str | None = None, ax=None):
    """Run time against MACs, both as ratios to the ``key = baseline`` run, one point per ``key`` value,
    beside the line "time ∝ MACs". ``rows``: ``[{key, "mac_ratio", "time_ratio"}]``
    (:func:`actionrec.experiments.setup.time_vs_macs`, one group)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    else:
        fig = ax.figure
    xs = [e["mac_ratio"] for e in rows]
    ys = [e["time_ratio"] for e in rows]
    lo = min(xs + [0.5])
    ax.plot([lo, 1.05], [lo, 1.05], "k:", lw=1, label="time ∝ MACs")
    ax.scatter(xs, ys, zorder=3)
    for e in rows:
        ax.annotate(f"{key} = {e[key]:g}", (e["mac_ratio"], e["time_ratio"]), textcoords="offset points", xytext=(4, 4))
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(xlabel=f"MACs / MACs at {key} = {baseline:g}", ylabel=f"run time / run time at {key} = {baseline:g}",
           title=title or "measured cost")
    ax.legend(loc="upper left")
    return fig


def plot_paper_bars(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, ax=None,
                    ylim: tuple[float, float] | None = None, title: str | None = None, ylabel: str = "top-1 (%)",
                    rotation: float = 0):
    """A paper's published numbers as bars: one group per label, one bar per series (``{series name:
    [value per label]}``, already in %), each annotated with its value; a legend when there are
    several series."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        fig = ax.figure
    n = len(series)
    if n == 0:
        raise ValueError("plot_paper_bars: series is empty")
    w = 0.8 / n
    for k, (name, values) in enumerate(series.items()):
        if len(values) != len(labels):
            raise ValueError(f"plot_paper_bars: series {name!r} has {len(values)} values for {len(labels)} labels")
        xs = [i + (k - (n - 1) / 2) * w for i in range(len(labels))]
        ax.bar(xs, values, width=w if n == 1 else w * 0.95, color=f"C{k + 7}", alpha=0.75, label=name)
        for x, y in zip(xs, values):
            ax.annotate(f"{y}", (x, y), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=7)
    ax.set_xticks(range(len(labels)), labels, rotation=rotation)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if n > 1:
        ax.legend(fontsize=8)
    return fig


def plot_learned_taps(taps: Mapping[str, Sequence[Mapping[str, Any]]]):
    """Mean |weight| per temporal tap (x: the tap's frame offset), one panel per module and one line
    per channel group (its kernel size in the legend). ``taps``: ``{module: [{"kernel", "offsets",
    "weight"}]}`` (:func:`actionrec.papers.mixtconv.mixtconv_learned_taps`)."""
    import matplotlib.pyplot as plt

    if not taps:
        raise ValueError("plot_learned_taps: taps is empty (the network has no MixTConv)")
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


def plot_perturbation_gates(perturbed: Mapping[str, Mapping[str, Any]], *,
                            keys: Sequence[tuple[str, str]] = (("open", "hard gate open (%)"),
                                                               ("consistent_frames", "cycle-consistent frames (%)"))):
    """Per gate (x) and perturbation (bar colour, with its top-1 in the legend), one panel per ``keys``
    entry ``(stat, title)``. ``perturbed``: ``{perturbation: {"top1", "stats": {gate: {stat: fraction}}}}``
    (:func:`actionrec.papers.srtg.perturbed_gate_records`)."""
    import matplotlib.pyplot as plt

    if not perturbed:
        raise ValueError("plot_perturbation_gates: perturbed is empty")
    gate_names = list(next(iter(perturbed.values()))["stats"])
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 3.6), sharey=True, squeeze=False)
    axes = axes[0]
    xs = np.arange(len(gate_names))
    wbar = 0.8 / len(perturbed)
    for k, (name, p) in enumerate(perturbed.items()):
        for ax, (key, _) in zip(axes, keys):
            ax.bar(xs + (k - (len(perturbed) - 1) / 2) * wbar, [100 * p["stats"][n][key] for n in gate_names],
                   width=wbar * 0.95, color=f"C{k}", label=f"{name} (top-1 {100 * p['top1']:.0f}%)")
    for ax, (_, what) in zip(axes, keys):
        ax.set_xticks(xs, [n.removesuffix(".srtg") for n in gate_names], rotation=30, ha="right", fontsize=8)
        ax.set_title(what, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylim(0, 105)
    axes[-1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_gate_explorer(selection: Mapping[str, Any], *, labels: Sequence[str] = ("pool(a)", "a*")):
    """One explorer selection: the (perturbed) clip's frames on top, the gate's cycle panel below
    (trajectories, both weight matrices on their own colour scales, per-frame checks).
    ``selection``: :func:`actionrec.papers.srtg.gate_explorer_view` (``clip``, ``view``,
    ``clip_title``, ``panel_title``)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(15.5, 5.2))
    grid = fig.add_gridspec(2, 4, height_ratios=[0.55, 1.6], width_ratios=[1.1, 1, 1, 1.5])
    show_clip(selection["clip"], ax=fig.add_subplot(grid[0, :]), title=selection["clip_title"])
    plot_cycle_panel(selection["view"], labels=labels, vmax=None, axes=[fig.add_subplot(grid[1, k]) for k in range(4)],
                     title=selection["panel_title"])
    fig.tight_layout()
    return fig
