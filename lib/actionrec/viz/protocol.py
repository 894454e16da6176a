"""Plots of the statistical protocol: per-seed values over mean ± CI, claim differences against ±δ,
every run's learning curve.

Inputs are plain data (the notebooks build them from :mod:`actionrec.experiments.protocol`'s
tables), in points::

    {variant: [value per seed]}, {variant: (mean, lo, hi)}        ─→ plot_strip
    [{claim, diff, ci_low, ci_high, delta, verdict}], {claim: [d]} ─→ plot_claims
    {variant: {seed: (x, y)}}                                      ─→ plot_run_curves
    {panel: {(seed, epochs): (x, y)}}                              ─→ plot_doubling
    all three (``actionrec.experiments.chapter.plot_data``)         ─→ plot_protocol: {name: figure}

Each returns its figure(s); nothing calls ``plt.show``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_strip", "plot_claims", "plot_run_curves", "plot_doubling", "plot_protocol", "save_figures"]

_VERDICT_COLOURS = {"holds": "C2", "reversed": "C3", "no effect larger than δ": "C0", "inconclusive": "0.5"}


def plot_strip(values: Mapping[str, Sequence[float]], intervals: Mapping[str, tuple[float, float, float]], *,
               ylabel: str = "test top-1 (%)", title: str | None = None, ax=None, seeds: Sequence[Any] | None = None):
    """One column per variant: every seed's value as a dot (jittered; drawn in seed order, so the
    same seed has the same horizontal offset in every column) over the mean and its CI
    (``intervals[v] = (mean, lo, hi)``). ``seeds`` labels the offsets in the caption only."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(values) + 1.5), 3.8))
    else:
        fig = ax.figure
    for i, (name, vals) in enumerate(values.items()):
        vals = np.asarray(vals, dtype=float)
        offsets = np.linspace(-0.18, 0.18, len(vals)) if len(vals) > 1 else np.zeros(1)
        ax.scatter(i + offsets, vals, s=16, color=f"C{i % 10}", alpha=0.75, zorder=3)
        if name in intervals:
            m, lo, hi = intervals[name]
            ax.hlines(m, i - 0.3, i + 0.3, color="k", lw=2, zorder=4)
            if np.isfinite(lo) and np.isfinite(hi):
                ax.vlines(i + 0.32, lo, hi, color="k", lw=1.5, zorder=4)
    ax.set_xticks(range(len(values)), list(values), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    note = "dots: seeds" + (f" {', '.join(map(str, seeds))}" if seeds is not None else "") + "; bar: mean, line: 95% CI"
    ax.set_title((title + "\n" if title else "") + note, fontsize=9)
    fig.tight_layout()
    return fig


def plot_claims(claims: Sequence[Mapping[str, Any]], differences: Mapping[str, Sequence[float]] | None = None, *,
                title: str | None = None):
    """One row per claim: the CI of the difference shown (``ci_low``..``ci_high`` around ``diff``, at
    the claim's Holm level) against 0 and the ±``delta`` band, coloured by ``verdict``, with the
    per-seed differences (``differences[claim]``) as dots."""
    n = len(claims)
    fig, ax = plt.subplots(figsize=(7.0, 0.55 * n + 1.2))
    for i, c in enumerate(claims):
        y = n - 1 - i
        colour = _VERDICT_COLOURS.get(c["verdict"], "k")
        ax.add_patch(plt.Rectangle((-c["delta"], y - 0.35), 2 * c["delta"], 0.7, color="C0", alpha=0.08, lw=0))
        if differences and c["claim"] in differences:
            d = np.asarray(differences[c["claim"]], dtype=float)
            ax.scatter(d, np.full(len(d), y + 0.18), s=9, color=colour, alpha=0.5)
        if np.isfinite(c["ci_low"]):
            ax.hlines(y, c["ci_low"], c["ci_high"], color=colour, lw=3)
        ax.plot([c["diff"]], [y], "o", color=colour)
        ax.text(1.01, y, c["verdict"], transform=ax.get_yaxis_transform(), va="center", fontsize=8, color=colour)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(n), [c["claim"] for c in claims][::-1], fontsize=8)
    ax.set_xlabel("difference (points; > 0: the claim's direction); shaded: ±δ")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_run_curves(curves: Mapping[str, Mapping[Any, tuple[Sequence[float], Sequence[float]]]], *,
                    ylabel: str = "val top-1 (%)", xlabel: str = "epoch", title: str | None = None):
    """One panel per variant, one line per seed (``curves[variant][seed] = (x, y)``): every run's
    learning curve, so a run that fails to learn or is still rising at the end shows."""
    k = len(curves)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k + 0.6, 2.8), sharey=True, squeeze=False)
    for ax, (name, runs) in zip(axes[0], curves.items()):
        for j, (seed, (x, y)) in enumerate(runs.items()):
            ax.plot(x, y, lw=1, color=f"C{j % 10}", alpha=0.8, label=str(seed))
        ax.set_title(f"{name} (n={len(runs)})", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_doubling(curves: Mapping[str, Mapping[tuple[Any, int], tuple[Sequence[float], Sequence[float]]]], *,
                  ylabel: str = "val top-1 (%)", xlabel: str = "epoch", title: str | None = None,
                  ylim: tuple[float, float] | None = None):
    """A convergence pilot's curves: one panel per variant (``curves[panel][(seed, epochs)] = (x,
    y)``), colour per seed, one line style per schedule length (solid the shortest of the figure,
    then dashed, dotted), so a schedule and its doubling can be read at the same epoch. ``ylim``
    defaults to the range of the second half of every curve (where a one-point gain shows)."""
    k = len(curves)
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k + 0.6, 2.9), sharey=True, squeeze=False)
    lengths = sorted({e for runs in curves.values() for _, e in runs})
    tails = [v for runs in curves.values() for x, y in runs.values() for v in y[len(y) // 2:]]
    for ax, (name, runs) in zip(axes[0], curves.items()):
        seeds = sorted({s for s, _ in runs}, key=str)
        for (seed, epochs), (x, y) in sorted(runs.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            ax.plot(x, y, lw=1.1, color=f"C{seeds.index(seed) % 10}", ls=("-", "--", ":", "-.")[lengths.index(epochs) % 4],
                    label=f"seed {seed}, {epochs} ep")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    if ylim is None and tails:
        ylim = (min(tails) - 1.0, max(tails) + 0.5)
    if ylim is not None:
        axes[0][0].set_ylim(*ylim)
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_protocol(values: Mapping[str, Sequence[float]], intervals: Mapping[str, tuple[float, float, float]],
                  claims: Sequence[Mapping[str, Any]] = (), differences: Mapping[str, Sequence[float]] | None = None,
                  curves: Mapping[str, Mapping[Any, tuple[Sequence[float], Sequence[float]]]] | None = None, *,
                  seeds: Sequence[Any] | None = None, title: str = "", ylabel: str = "test top-1 (%)") -> dict[str, Any]:
    """A chapter's protocol figures, each titled ``title: ...``: ``"strip"`` (:func:`plot_strip`),
    ``"claims"`` (:func:`plot_claims`, when there are ``claims``) and ``"run_curves"``
    (:func:`plot_run_curves`, when there are ``curves``). Returns ``{name: figure}``."""
    head = f"{title}: " if title else ""
    figs = {"strip": plot_strip(values, intervals, seeds=seeds, ylabel=ylabel, title=f"{head}{ylabel} per seed")}
    if claims:
        figs["claims"] = plot_claims(claims, differences, title=f"{head}verdicts")
    if curves:
        figs["run_curves"] = plot_run_curves(curves, title=f"{head}every run's validation top-1")
    return figs


def save_figures(figs: Mapping[str, Any], out_dir: str | os.PathLike, *, dpi: int = 120) -> list[Path]:
    """Write each figure of ``figs`` to ``out_dir/<name>.png``; returns the paths."""
    paths = []
    for name, fig in figs.items():
        paths.append(Path(out_dir) / f"{name}.png")
        fig.savefig(paths[-1], dpi=dpi, bbox_inches="tight")
    return paths
