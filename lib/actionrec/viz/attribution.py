"""Figures of the attribution chapter: how much of a network's attribution falls inside the
action window, and when in the window it falls.

Inputs are the summaries and profiles computed in :mod:`actionrec.analysis.attribution` (fractions,
drawn in %; no torch here)::

    summarize_window_mass(...) [{model, method, mass, mass_ci, share}]
        ─→ plot_window_mass     (mass inside the action window, mean ± CI, beside the window's share)
    window_profiles(...) {(network, method): importance per bin}, PROFILE_EDGES
        ─→ plot_window_profiles (importance in window-relative time: 0 = start, 1 = end; 1 = uniform)

A single clip's attribution overlay is :func:`actionrec.viz.clips.plot_clip_attribution`. Each
function returns a new figure; nothing calls ``plt.show``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_window_mass", "plot_window_profiles"]


def plot_window_mass(summary: Sequence[Mapping[str, Any]], models: Sequence[str], *, title: str):
    """Per (network, method) entry of ``summary`` (``model, method, mass, mass_ci, share``, fractions):
    the attribution mass inside the action window (mean ± CI, coloured by the network's place in
    ``models``) beside the window's share of the frames. Returns the figure."""
    fig, ax = plt.subplots(figsize=(max(7, 0.75 * len(summary)), 4))
    xs = np.arange(len(summary))
    ax.bar(xs - 0.2, [100 * e["mass"] for e in summary], width=0.4,
           yerr=[100 * np.nan_to_num(e["mass_ci"]) for e in summary], capsize=3,
           color=[f"C{list(models).index(e['model'])}" for e in summary], label="attribution mass in the window")
    ax.bar(xs + 0.2, [100 * e["share"] for e in summary], width=0.4, color="0.75", label="window's share of the frames")
    ax.set_xticks(xs, [f"{e['model']}\n{e['method']}".replace("integrated_gradients", "IG") for e in summary], fontsize=7,
                  rotation=30, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_window_profiles(profiles: Mapping[tuple[str, str], Sequence[float]], edges: Sequence[float], *,
                         dashed: Sequence[str] = ("(rgb)", "(flow)")):
    """One panel per network: the frame importance of each ``(network, method)`` of ``profiles`` in
    window-relative time (bins ``edges``; 0 = the action starts, 1 = it ends; 1 = uniform); methods
    ending in one of ``dashed`` (channel groups) are dashed. Returns the figure."""
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    models = list(dict.fromkeys(m for m, _ in profiles))
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 3.8), squeeze=False, sharey=True)
    for ax, m in zip(axes[0], models):
        for (mm, method), prof in profiles.items():
            if mm == m:
                ax.plot(centres, prof, marker="o", ms=3, label=method, ls="--" if method.endswith(tuple(dashed)) else "-")
        ax.axvspan(0, 1, color="C2", alpha=0.12)
        ax.axhline(1, color="0.5", lw=0.8)
        ax.set_xlabel("time relative to the action window (0 = start, 1 = end)")
        ax.set_title(m, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("importance × T (1 = uniform)")
    fig.tight_layout()
    return fig
