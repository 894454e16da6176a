"""Figures of the two-stream, gradient-gating, attribution and receptive-field chapters: arrays and
dicts in (computed by :mod:`actionrec.papers.multiplier`, :mod:`actionrec.papers.synthactions` and
:mod:`actionrec.analysis`), matplotlib figures out.

* :func:`plot_flow_panels` — horizontal flow of one clip, exact and estimated, frame by frame.
* :func:`plot_error_bars` — our test error beside the paper's (:func:`~actionrec.papers.multiplier.error_bars`).
* :func:`plot_learned_taps` — the diagonal taps temporal filters learned, against their init.
* :func:`plot_unit_maps` — one cross-stream residual unit, ⊕ vs ⊙: inputs, gate, gradients.
* :func:`plot_gate_history` — gate statistics per connection over the epochs of a run.
* :func:`plot_gate_maps` — frames, flow magnitude and a connection's gate over time.
* :func:`plot_window_mass` — attribution mass inside the action window vs the window's share.
* :func:`plot_window_profiles` — frame importance in window-relative time, per network.
* :func:`plot_depth_extent`, :func:`plot_spread_by_stage`, :func:`plot_beyond_one_frame` — the
  receptive-field chapter's line and bar charts; :func:`plot_field_view` — its explorer's figure.
* :func:`shown` — ``plt.show()`` a figure and return it (for explorer callables).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .receptive import plot_rf, plot_temporal_profiles
from .results import plot_grouped_bars

__all__ = ["plot_flow_panels", "plot_error_bars", "plot_learned_taps", "plot_unit_maps", "plot_gate_history",
           "plot_gate_maps", "plot_window_mass", "plot_window_profiles", "plot_depth_extent", "plot_spread_by_stage",
           "plot_beyond_one_frame", "plot_field_view", "shown"]


def shown(fig):
    """``plt.show()``, then ``fig`` (so an explorer's ``draw`` can show and return its figure in one call)."""
    import matplotlib.pyplot as plt

    plt.show()
    return fig


def plot_flow_panels(panels: Sequence[tuple[np.ndarray, str]], *, title: str):
    """One row per ``(flow (T-1, H, W, 2), name)`` of ``panels``: the horizontal component dx of every
    frame (red = right, blue = left; one colour scale, set by the first panel). Returns the figure."""
    import matplotlib.pyplot as plt

    steps = panels[0][0].shape[0]
    fig, axes = plt.subplots(len(panels), steps, figsize=(1.3 * steps, 1.45 * len(panels)), squeeze=False)
    lim = max(1.0, float(np.abs(panels[0][0][..., 0]).max()))
    for t in range(steps):
        for r, (f, name) in enumerate(panels):
            axes[r, t].imshow(f[t, ..., 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[r, t].set_xticks([]), axes[r, t].set_yticks([])
            if t == 0:
                axes[r, t].set_ylabel(name, fontsize=8)
        axes[0, t].set_title(f"dx, t={t}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


def plot_error_bars(bars: Sequence[Mapping[str, Any]], labels: Sequence[str], *, title: str):
    """Test error (%) per row, our mean ± 95% CI beside the paper's single runs
    (:func:`actionrec.papers.multiplier.error_bars`), bars in the order of ``labels``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(8.0, 1.45 * len(labels)), 4.2))
    plot_grouped_bars(bars, label_key="label", group_key="source", labels=list(labels), ax=ax,
                      ylabel="test error (%) — mean ± 95% CI", title=title)
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def plot_learned_taps(taps: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]):
    """Per stream, the mean diagonal taps each configuration's filters learned (solid, with the
    off-diagonal norm in the legend) and their init (dotted): ``taps`` as
    :func:`actionrec.papers.multiplier.learned_filter_taps` returns it; ``names`` label the configs."""
    import matplotlib.pyplot as plt

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


def plot_unit_maps(panels: Mapping[str, Sequence[np.ndarray]], names: Mapping[str, str], *, frame: int, title: str):
    """One row per connection kind: the five maps of :func:`actionrec.analysis.gating_views.unit_panels`
    (appearance input, gate, branch input, appearance branch gradient, gradient sent to the motion
    stream), with colour bars; ``names`` label the rows. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 5, figsize=(15, 3.2 * len(panels)), squeeze=False)
    for row, (kind, maps) in zip(axes, panels.items()):
        titles = [(f"appearance input $x^a$ (frame {frame})", None), ("gate $f(x^m)$ (mean over channels)", "viridis"),
                  (f"branch input $u$ ({names[kind]})", "viridis"),
                  ("|∂L/∂$x^a$ − δ|: appearance branch gradient", "magma"),
                  ("|gradient sent to $x^m$| (via the branch)", "magma")]
        for ax, img, (t, cmap) in zip(row, maps, titles):
            im = ax.imshow(img, cmap=cmap)
            ax.set_title(t, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            if cmap is not None:
                fig.colorbar(im, ax=ax, fraction=0.046)
        row[0].set_ylabel(names[kind], fontsize=11)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


#: Panels of :func:`plot_gate_history`: (statistic, title).
GATE_HISTORY_PANELS = (("gate_mean", "gate mean (band: q10–q90)"), ("frac_zero", "closed gates (s = 0)"),
                       ("grad_scale", "gradient scale ‖g⊙s‖/‖g‖"), ("cross_share", "cross share at the sender"),
                       ("moving_ratio", "gate on moving / static cells"), ("val_top1", "validation top-1"))


def plot_gate_history(history: Sequence[Mapping[str, Any]], val_top1: Mapping[int, Any], *, title: str):
    """Gate statistics per (stage, receiver) over the epochs (rows of
    :func:`actionrec.analysis.gating_views.snapshot_gate_history`), and the validation top-1
    ``{epoch: fraction or None}``: six panels (:data:`GATE_HISTORY_PANELS`). Returns the figure."""
    import matplotlib.pyplot as plt

    stages = sorted({(r["stage"], r["receiver"]) for r in history})
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    for ax, (key, name) in zip(axes.flat, GATE_HISTORY_PANELS):
        if key == "val_top1":
            ep = [e for e in sorted(val_top1) if val_top1[e] is not None]
            ax.plot(ep, [100 * val_top1[e] for e in ep], marker="o", color="k")
            ax.set_ylabel("%")
        else:
            for k, (st, recv) in enumerate(stages):
                rs = [r for r in history if r["stage"] == st and r["receiver"] == recv]
                xs = [r["epoch"] for r in rs]
                ax.plot(xs, [r[key] for r in rs], marker="o", ms=3, color=f"C{k}", label=f"stage {st} ({recv[0]})")
                if key == "gate_mean":
                    ax.fill_between(xs, [r["gate_q10"] for r in rs], [r["gate_q90"] for r in rs], color=f"C{k}",
                                    alpha=0.12)
        if key in ("grad_scale", "moving_ratio"):
            ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_gate_maps(frames: np.ndarray, flow_magnitude: np.ndarray, maps: Mapping[int, np.ndarray], *, title: str,
                   columns: int = 8):
    """Rows: the frames (T, H, W, 3), the flow magnitude (T, H, W) and a gate map (T, h, w) per epoch of
    ``maps`` (one colour scale per row), at most ``columns`` frames evenly spaced. Returns the figure."""
    import matplotlib.pyplot as plt

    steps = frames.shape[0]
    ts = list(range(0, steps, max(1, steps // columns)))
    rows = [("frame", None), ("|flow|", None), *((f"gate, epoch {ep}", ep) for ep in maps)]
    fig, axes = plt.subplots(len(rows), len(ts), figsize=(1.35 * len(ts) + 1, 1.55 * len(rows)), squeeze=False)
    for i, (label, ep) in enumerate(rows):
        vmax = None if ep is None else maps[ep].max()
        for j, t in enumerate(ts):
            ax = axes[i, j]
            if label == "frame":
                ax.imshow(frames[t])
                ax.set_title(f"t = {t}", fontsize=8)
            elif label == "|flow|":
                ax.imshow(flow_magnitude[t], cmap="magma", vmin=0, vmax=max(flow_magnitude.max(), 1e-6))
            else:
                ax.imshow(maps[ep][t], cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_window_mass(summary: Sequence[Mapping[str, Any]], models: Sequence[str], *, title: str):
    """Per (network, method) entry of ``summary`` (``model, method, mass, mass_ci, share``, fractions):
    the attribution mass inside the action window (mean ± CI, coloured by the network's place in
    ``models``) beside the window's share of the frames. Returns the figure."""
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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


def plot_depth_extent(rows: Sequence[Mapping[str, Any]], profiles: Mapping[str, Any], *, threshold_pct: str):
    """Left: per depth, the theoretical extent, the random stack's frames at ``threshold_pct`` % of the
    peak and 2 × its spread (``rows`` of :func:`actionrec.analysis.trained_fields.stack_rows`); right:
    the random stacks' temporal ``profiles`` ``{name: (T,)}``. Returns the figure."""
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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


def plot_beyond_one_frame(taps: Mapping[str, Any], *, title: str):
    """Bars per MixTConv block and kernel group: the share (%) of the group's field beyond ±1 frame
    (``taps`` of :func:`actionrec.analysis.trained_fields.taps_by_module`). Returns the figure."""
    import matplotlib.pyplot as plt

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


def plot_field_view(rf: Any, *, label: str, title: str, crop: Any, profile: Mapping[str, Any]):
    """The explorer's figure: :func:`~actionrec.viz.receptive.plot_rf` of one map (time × width,
    height × width) and its temporal ``profile`` (:func:`actionrec.analysis.trained_fields.field_view`)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), gridspec_kw=dict(width_ratios=[1.3, 1, 1.4]))
    plot_rf(rf, label=label, axes=axes[:2], title=title, crop=crop)
    plot_temporal_profiles(profile, ax=axes[2], title="mass per frame")
    fig.tight_layout()
    return fig
