"""SRTG cycle consistency and its gates as pictures (eq. 4-5, Fig. 4-5 of "Learn to cycle", Stergiou & Poppe 2021).

Inputs are views from :func:`actionrec.analysis.cycle.cycle_view` (plain dicts of numpy arrays:
``w_ab``, ``w_ba`` (T, T) eq. 4 weights, ``i_ab``, ``i_ba`` (T,) eq. 5 landing frames, ``ok`` (T,)
cycle-consistent frames, ``consistent``, ``score``, ``sentence`` and, for trajectories, ``pa``,
``pb``, ``pt`` (T, 2) in a joint 2-D PCA), temperature sweeps from
:func:`~actionrec.analysis.cycle.cycle_sweep`, gate statistics from
:func:`actionrec.layers.srtg.gate_stats` and the SRTG chapter's records from :mod:`actionrec.papers.srtg`::

    view ─→ plot_cycle_trajectories (A, B and A's soft matches in B; errors ringed)
         ─→ plot_cycle_matrices     (both weight matrices, landing frames marked)
         ─→ plot_cycle_errors       (3 x T strip: A→B, B→A, both)
         ─→ plot_cycle_panel        (the three in a row)
    {name: {"open", "consistent_frames", "score"}} over τ ─→ plot_temperature_sweep
    {gate: {"open", "score", "consistent_frames"}}        ─→ plot_gate_stats
    perturbed_gate_records(...) {perturbation: {top1, stats: {gate: {open, consistent_frames}}}}
                                                          ─→ plot_perturbation_gates
    gate_explorer_view(...) {clip (3, T, H, W), view, clip_title, panel_title}
                                                          ─→ plot_gate_explorer (clip above its gate's panel)

Green marks a frame that cycles back to itself, red a temporal cyclic error. Every function
returns its figure.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .clips import show_clip

__all__ = ["plot_cycle_trajectories", "plot_cycle_matrices", "plot_cycle_errors", "plot_cycle_panel",
           "plot_temperature_sweep", "plot_gate_stats", "plot_perturbation_gates", "plot_gate_explorer"]

_OK, _ERR = "#2ca02c", "#d62728"


def plot_cycle_trajectories(view: Mapping[str, Any], *, ax=None, labels: Sequence[str] = ("A", "B"),
                            show_matches: bool = True, title: str | None = None, legend: bool = True):
    """Two sequences as trajectories (joint 2-D PCA), with each frame of A's cycle into B (Fig. 4).

    ``view``: :func:`~actionrec.analysis.cycle.cycle_view` of ``(a, b)`` (with ``pa``, ``pb``,
    ``pt``). Frames are coloured by time (A: circles, B: squares, ``t`` written next to A's
    points). With ``show_matches``, each ``a_t`` is joined (thin, dashed) to its eq. 4 soft match
    ``b~_t`` (x) and that to the eq. 5 nearest frame of B: green when it is ``b_t``, red (a
    temporal cyclic error) otherwise; a red ring marks frames that are not cycle-consistent in both
    directions. ``legend=False`` drops the legend (small multiples). Returns the figure.
    """
    s = view
    if "pa" not in s:
        raise ValueError("view has no trajectory points: build it with cycle_view(a, b, ...)")
    pa, pb, pt = s["pa"], s["pb"], s["pt"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
    else:
        fig = ax.figure
    T = pa.shape[0]
    cmap = plt.get_cmap("viridis")
    cols = cmap(np.linspace(0, 1, T))
    ax.plot(pa[:, 0], pa[:, 1], "-", color="0.55", lw=1, zorder=1)
    ax.plot(pb[:, 0], pb[:, 1], ":", color="0.55", lw=1, zorder=1)
    if show_matches:
        for t in range(T):
            j = int(s["i_ab"][t])
            c = _OK if j == t else _ERR
            ax.plot([pa[t, 0], pt[t, 0]], [pa[t, 1], pt[t, 1]], "--", color=c, lw=0.7, alpha=0.7, zorder=2)
            ax.plot([pt[t, 0], pb[j, 0]], [pt[t, 1], pb[j, 1]], "-", color=c, lw=1.1, alpha=0.8, zorder=2)
        ax.scatter(pt[:, 0], pt[:, 1], marker="x", s=18, c="k", lw=0.8, zorder=3, label=f"soft match in {labels[1]} (eq. 4)")
    ax.scatter(pa[:, 0], pa[:, 1], marker="o", s=34, c=cols, edgecolor="k", lw=0.5, zorder=4, label=labels[0])
    ax.scatter(pb[:, 0], pb[:, 1], marker="s", s=30, c=cols, edgecolor="k", lw=0.5, zorder=4, label=labels[1])
    bad = ~s["ok"]
    ax.scatter(pa[bad, 0], pa[bad, 1], s=140, facecolors="none", edgecolors=_ERR, lw=1.3, zorder=5,
               label="temporal cyclic error" if bad.any() else None)
    step = max(1, T // 8)
    for t in range(0, T, step):
        ax.annotate(str(t), pa[t], textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        ax.legend(fontsize=6, loc="best", framealpha=0.7)
    ax.set_title(title or f"{labels[0]} (o) and {labels[1]} (□), colour = time", fontsize=9)
    return fig


def plot_cycle_matrices(view: Mapping[str, Any], *, axes=None, labels: Sequence[str] = ("A", "B"),
                        vmax: float | None = 1.0, colorbar: bool = True):
    """The two eq. 4 soft-nearest-neighbour weight matrices of one sample, as heatmaps (Fig. 5).

    Left: row ``t`` = softmax weights of ``a_t`` over the frames of B (``weights_ab``); right: of
    ``b_t`` over A (``weights_ba``). The eq. 5 nearest frame of each row's soft match is marked: a
    white dot on the diagonal when it is the same time ``t``, a red cross elsewhere (a temporal
    cyclic error). ``vmax=1`` keeps both on one absolute scale (a flat softmax looks flat: every
    weight ≈ 1/T); ``None`` scales each to its own maximum (written in the title). ``view``: a
    :func:`~actionrec.analysis.cycle.cycle_view` (or ``cycle_sample``); ``axes``: two existing
    axes. Returns the figure.
    """
    s = view
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4))
    else:
        fig = axes[0].figure
    T = s["w_ab"].shape[0]
    la, lb = labels
    im = None
    for ax, w, idx, (src, dst) in zip(axes, (s["w_ab"], s["w_ba"]), (s["i_ab"], s["i_ba"]), ((la, lb), (lb, la))):
        top = vmax if vmax is not None else max(float(w.max()), 1e-12)
        im = ax.imshow(w, cmap="magma", vmin=0.0, vmax=top, origin="upper", interpolation="nearest")
        ax.plot([-0.5, T - 0.5], [-0.5, T - 0.5], color="w", lw=0.5, alpha=0.4)
        t = np.arange(T)
        hit = idx == t
        ax.scatter(idx[hit], t[hit], s=14, c="w", edgecolor="k", lw=0.4, zorder=3)
        ax.scatter(idx[~hit], t[~hit], s=26, marker="x", c=_ERR, lw=1.4, zorder=3)
        ax.set_xlabel(f"frame i of {dst}")
        ax.set_ylabel(f"frame t of {src}")
        scale = "" if vmax is not None else f" (colour 0–{top:.2f})"
        ax.set_title(f"{src} → {dst}: eq. 4 weights{scale}", fontsize=8)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_ylim(T - 0.5, -0.5)
    if colorbar and im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.8, label="weight z")
    return fig


def plot_cycle_errors(view: Mapping[str, Any], *, ax=None, labels: Sequence[str] = ("A", "B")):
    """Per-frame cycle checks of one sample as a 3 × T strip (green: lands on t, red: error).

    Rows: ``A→B`` (eq. 5 index of ``a_t``'s soft match in B == t), ``B→A``, and both (the frame is
    cycle-consistent; the paper's gate needs every column green). Cells show the landing frame; the
    title is the view's ``sentence``.
    """
    from matplotlib.colors import ListedColormap

    s = view
    T = len(s["ok"])
    t = np.arange(T)
    rows = np.stack([s["i_ab"] == t, s["i_ba"] == t, s["ok"]]).astype(float)  # (3, T)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.0, 0.32 * T + 1.2), 1.5))
    else:
        fig = ax.figure
    ax.imshow(rows, cmap=ListedColormap([_ERR, _OK]), vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    if T <= 24:
        for k, idx in enumerate((s["i_ab"], s["i_ba"])):
            for j in range(T):
                ax.text(j, k, str(int(idx[j])), ha="center", va="center", fontsize=6, color="w")
    la, lb = labels
    ax.set_yticks([0, 1, 2], [f"{la}→{lb}", f"{lb}→{la}", "both"], fontsize=7)
    ax.set_xticks(t if T <= 24 else t[:: max(1, T // 12)])
    ax.tick_params(axis="x", labelsize=6)
    ax.set_xlabel("frame t (cell: frame it lands on)", fontsize=7)
    ax.set_title(s["sentence"], fontsize=8)
    return fig


def plot_cycle_panel(view: Mapping[str, Any], *, labels: Sequence[str] = ("A", "B"), title: str | None = None,
                     axes=None, vmax: float | None = 1.0):
    """Trajectories, both weight matrices and the per-frame checks of one pair, in a row.

    ``view``: :func:`~actionrec.analysis.cycle.cycle_view` of the pair ``(a, b)``. ``axes``: 4
    existing axes (to stack several pairs in one figure); else a new figure with 4 axes (no
    colorbar, the matrices share the absolute scale ``vmax``). Returns the figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 4, figsize=(15.5, 3.6), gridspec_kw=dict(width_ratios=[1.1, 1, 1, 1.5]))
    else:
        fig = axes[0].figure
    plot_cycle_trajectories(view, ax=axes[0], labels=labels)
    plot_cycle_matrices(view, axes=axes[1:3], labels=labels, colorbar=False, vmax=vmax)
    plot_cycle_errors(view, ax=axes[3], labels=labels)
    if title is not None:
        axes[0].set_title(title, fontsize=9, fontweight="bold")
    return fig


def plot_temperature_sweep(stats: Mapping[str, Mapping[str, Any]], temperatures: Sequence[float], *,
                           title: str | None = None, axes=None):
    """Gate open rate, cycle-consistent-frame fraction and soft score vs the eq. 4 temperature τ.

    ``stats``: :func:`~actionrec.analysis.cycle.cycle_sweep` output over ``temperatures``; one line
    per pair, log-x. Returns the figure (3 axes).
    """
    temps = [float(t) for t in temperatures]
    if not temps or min(temps) <= 0:
        raise ValueError(f"temperatures={temperatures!r} must be a non-empty list of numbers > 0")
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.3), sharex=True)
    else:
        fig = axes[0].figure
    what = [("open", "gate open (fraction of samples)"), ("consistent_frames", "cycle-consistent frames"),
            ("score", "soft score (mean diagonal weight)")]
    for ax, (key, label) in zip(axes, what):
        for i, (name, st) in enumerate(stats.items()):
            ax.plot(temps, st[key], marker="o", ms=3, color=f"C{i}", label=name)
        ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("temperature τ")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_gate_stats(stats, *, keys: Sequence[str] = ("open", "score", "consistent_frames"), title: str | None = None,
                    ax=None):
    """Grouped bars per gate (layer) of :func:`actionrec.layers.srtg.gate_stats` output.

    ``stats``: ``{gate name: {"open", "score", "consistent_frames", ...}}`` (fractions in [0, 1]);
    one bar per key, in % and annotated. Returns the figure (one axes).
    """
    if not stats:
        raise ValueError("stats is empty: give gate_stats(model, batches) output")
    names = list(stats)
    nice = {"open": "gate open (hard decision)", "score": "mean weight of fused features",
            "consistent_frames": "cycle-consistent frames"}
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 3.6))
    else:
        fig = ax.figure
    width = 0.8 / len(keys)
    x = np.arange(len(names))
    for k, key in enumerate(keys):
        vals = np.array([100 * float(stats[n].get(key, float("nan"))) for n in names])
        xs = x + (k - (len(keys) - 1) / 2) * width
        ax.bar(xs, np.nan_to_num(vals), width=width * 0.95, color=f"C{k}", alpha=0.8, label=nice.get(key, key))
        for xi, v in zip(xs, vals):
            ax.annotate("n/a" if v != v else f"{v:.0f}", (xi, 0 if v != v else v), textcoords="offset points",
                        xytext=(0, 2), ha="center", fontsize=6)
    ax.set_xticks(x, [n.replace(".srtg", "") for n in names], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 108)
    ax.set_ylabel("%")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_perturbation_gates(perturbed: Mapping[str, Mapping[str, Any]], *,
                            keys: Sequence[tuple[str, str]] = (("open", "hard gate open (%)"),
                                                               ("consistent_frames", "cycle-consistent frames (%)"))):
    """Per gate (x) and perturbation (bar colour, with its top-1 in the legend), one panel per ``keys``
    entry ``(stat, title)``. ``perturbed``: ``{perturbation: {"top1", "stats": {gate: {stat: fraction}}}}``
    (:func:`actionrec.papers.srtg.perturbed_gate_records`)."""
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
    fig = plt.figure(figsize=(15.5, 5.2))
    grid = fig.add_gridspec(2, 4, height_ratios=[0.55, 1.6], width_ratios=[1.1, 1, 1, 1.5])
    show_clip(selection["clip"], ax=fig.add_subplot(grid[0, :]), title=selection["clip_title"])
    plot_cycle_panel(selection["view"], labels=labels, vmax=None, axes=[fig.add_subplot(grid[1, k]) for k in range(4)],
                     title=selection["panel_title"])
    fig.tight_layout()
    return fig
