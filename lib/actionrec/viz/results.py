"""Result plots of the ablation chapters: accuracy vs GMACs, grouped bars, learning curves, measured
cost, a paper's published numbers, our error beside the paper's.

Inputs are summaries (plain dicts with ``mean``, ``ci`` (95% half-width, NaN with one seed),
``n`` and the grouping keys, as :func:`actionrec.experiments.summary.summarize` writes them), learning
curves (``{name: {"x", "mean", "ci", "n"}}``) and the rows and tables of
:mod:`actionrec.experiments` and :mod:`actionrec.papers`; accuracies are fractions, drawn in %::

    summary [{name, mean, ci, n, gmacs, params_m, ...}]         ─→ plot_accuracy_vs_gmacs (MTNet Fig. 5 style)
    summary [{label_key, group_key, mean, ci, n}]               ─→ plot_grouped_bars
    {name: {x, mean, ci, n}}                                    ─→ plot_learning_curves
    time_vs_macs(...)[g]["rows"] [{key, mac_ratio, time_ratio}] ─→ plot_time_vs_macs (run time vs MACs)
    {series: [value per label]} (a paper's table, in %)         ─→ plot_paper_bars
    error_bars(...) [{label, source, mean, ci, n}]              ─→ plot_error_bars (our error beside the paper's)

Each returns its figure (a new one unless ``ax`` is given); nothing calls ``plt.show``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_accuracy_vs_gmacs", "plot_grouped_bars", "plot_learning_curves", "plot_time_vs_macs",
           "plot_paper_bars", "plot_error_bars"]


def plot_accuracy_vs_gmacs(summary, *, label_key: str = "name", group_key: str | None = None,
                           x_key: str = "gmacs", size_key: str = "params_m", title: str | None = None,
                           ax=None):
    """Accuracy vs GMACs with 95% CI error bars, marker area ∝ parameters (like MTNet's Fig. 5).

    ``summary``: entries from :func:`actionrec.experiments.summary.summarize` carrying ``mean``, ``ci``,
    ``x_key`` and ``size_key`` fields; ``group_key`` colours the groups (e.g. sub-streams g).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    groups = sorted({e.get(group_key) for e in summary}, key=str) if group_key else [None]
    sizes = np.array([float(e[size_key]) for e in summary])
    smax = sizes.max() if len(sizes) and sizes.max() > 0 else 1.0
    for gi, grp in enumerate(groups):
        es = [e for e in summary if group_key is None or e.get(group_key) == grp]
        xs = np.array([float(e[x_key]) for e in es])
        ys = np.array([100 * float(e["mean"]) for e in es])
        cis = np.array([100 * float(e["ci"]) if e["ci"] == e["ci"] else 0.0 for e in es])
        area = 60 + 540 * np.array([float(e[size_key]) for e in es]) / smax
        color = f"C{gi}"
        ax.errorbar(xs, ys, yerr=cis, fmt="none", ecolor=color, alpha=0.6, capsize=3, zorder=1)
        ax.scatter(xs, ys, s=area, color=color, alpha=0.55, edgecolor="k", zorder=2,
                   label=None if group_key is None else f"{group_key} = {grp}")
        for e, x, y in zip(es, xs, ys):
            lab = e.get(label_key)
            ax.annotate(f"{label_key}={lab:g}" if isinstance(lab, float) else f"{lab}", (x, y),
                        textcoords="offset points", xytext=(6, 6), fontsize=8)
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, 0.0), min(hi, 100.0))  # accuracies: CIs of 2 seeds can overshoot [0, 100]
    ax.set_xlabel("GMACs per clip")
    ax.set_ylabel(f"test {summary[0].get('metric', 'top1')} (%) — mean ± 95% CI")
    if title:
        ax.set_title(title, fontsize=10)
    if group_key:
        ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax.text(0.01, 0.01, "marker area ∝ parameters", transform=ax.transAxes, fontsize=7, alpha=0.7)
    return fig


def plot_grouped_bars(summary, *, label_key: str, group_key: str | None = None, labels: Sequence | None = None,
                      ylabel: str | None = None, title: str | None = None, ax=None, scale: float = 100.0):
    """Mean ± 95% CI bars: one bar per ``label_key`` value, side by side per ``group_key`` value.

    ``summary``: entries from :func:`actionrec.experiments.summary.summarize` (``mean``, ``ci``, ``n`` and
    the two keys). ``labels`` fixes the order of the bars (default: first seen); ``scale`` multiplies
    values (100: fractions to %). Each bar is annotated with its mean and the number of seeds.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 3.8))
    else:
        fig = ax.figure
    if labels is None:
        labels = list(dict.fromkeys(e[label_key] for e in summary))
    groups = list(dict.fromkeys(e.get(group_key) for e in summary)) if group_key else [None]
    width = 0.8 / len(groups)
    for gi, grp in enumerate(groups):
        by = {e[label_key]: e for e in summary if group_key is None or e.get(group_key) == grp}
        xs = [i + (gi - (len(groups) - 1) / 2) * width for i, lab in enumerate(labels) if lab in by]
        es = [by[lab] for lab in labels if lab in by]
        ys = [scale * float(e["mean"]) for e in es]
        cis = [scale * float(e["ci"]) if e["ci"] == e["ci"] else 0.0 for e in es]
        ax.bar(xs, ys, width=width * 0.95, yerr=cis, capsize=3, color=f"C{gi}", alpha=0.75,
               label=None if group_key is None else f"{grp}")
        for x, y, e in zip(xs, ys, es):
            ax.annotate(f"{y:.1f}\nn={e['n']}", (x, y), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=7)
    ax.set_xticks(range(len(labels)), [str(lab) for lab in labels])
    ax.set_xlabel(label_key)
    ax.set_ylabel(ylabel or f"test {summary[0].get('metric', 'top1')} (%) — mean ± 95% CI")
    if scale == 100.0:
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(lo, 0.0), min(hi, 105.0))
    if title:
        ax.set_title(title, fontsize=10)
    if group_key:
        ax.legend(fontsize=8, title=group_key, title_fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return fig


def plot_learning_curves(curves, *, title: str | None = None, ax=None, ylabel: str = "val top-1 (%)"):
    """Mean ± 95% CI learning curves, one line per config.

    ``curves``: ``{name: actionrec.experiments.aggregate_curves(...)}``.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    for i, (name, c) in enumerate(curves.items()):
        x = np.asarray(c["x"], dtype=float)
        if x.size == 0:
            continue
        m = 100 * np.asarray(c["mean"], dtype=float)
        ci = 100 * np.nan_to_num(np.asarray(c["ci"], dtype=float))
        ax.plot(x, m, marker="o", ms=3, color=f"C{i}", label=f"{name} (n={c['n']})")
        ax.fill_between(x, m - ci, m + ci, color=f"C{i}", alpha=0.15)
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, 0.0), min(hi, 100.0))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_time_vs_macs(rows: Sequence[Mapping[str, Any]], *, key: str = "r", baseline: Any = 1.0,
                      title: str | None = None, ax=None):
    """Run time against MACs, both as ratios to the ``key = baseline`` run, one point per ``key`` value,
    beside the line "time ∝ MACs". ``rows``: ``[{key, "mac_ratio", "time_ratio"}]``
    (:func:`actionrec.experiments.setup.time_vs_macs`, one group)."""
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


def plot_error_bars(bars: Sequence[Mapping[str, Any]], labels: Sequence[str], *, title: str):
    """Test error (%) per row, our mean ± 95% CI beside the paper's single runs
    (:func:`actionrec.papers.multiplier.error_bars`), bars in the order of ``labels``."""
    fig, ax = plt.subplots(figsize=(max(8.0, 1.45 * len(labels)), 4.2))
    plot_grouped_bars(bars, label_key="label", group_key="source", labels=list(labels), ax=ax,
                      ylabel="test error (%) — mean ± 95% CI", title=title)
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig
