"""Figures of the two-stream and gradient-gating chapters: optical flow, one cross-stream residual
unit, and the gates of a fusion network over training.

Inputs are arrays and dicts computed in :mod:`actionrec.papers.synthactions` (flow) and
:mod:`actionrec.analysis.gating_views` (units, gate histories and maps); no torch here::

    flow_check(...)["panels"] [(flow (T-1, H, W, 2), name)]
        ─→ plot_flow_panels  (horizontal flow dx, exact and estimated, frame by frame)
    unit_panels(...) {kind: [5 maps (H, W)]}
        ─→ plot_unit_maps    (one residual unit, ⊕ vs ⊙: inputs, gate, gradients)
    snapshot_gate_history(...) [{epoch, stage, receiver, gate_mean, ...}] + {epoch: val top-1}
        ─→ plot_gate_history (six panels over the epochs, GATE_HISTORY_PANELS)
    frames (T, H, W, 3), |flow| (T, H, W), gate_maps(...) {epoch: (T, h, w)}
        ─→ plot_gate_maps    (frames, motion and a connection's gate over time)

Each function returns a new figure; nothing calls ``plt.show``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_flow_panels", "plot_unit_maps", "plot_gate_history", "plot_gate_maps"]


def plot_flow_panels(panels: Sequence[tuple[np.ndarray, str]], *, title: str):
    """One row per ``(flow (T-1, H, W, 2), name)`` of ``panels``: the horizontal component dx of every
    frame (red = right, blue = left; one colour scale, set by the first panel). Returns the figure."""
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


def plot_unit_maps(panels: Mapping[str, Sequence[np.ndarray]], names: Mapping[str, str], *, frame: int, title: str):
    """One row per connection kind: the five maps of :func:`actionrec.analysis.gating_views.unit_panels`
    (appearance input, gate, branch input, appearance branch gradient, gradient sent to the motion
    stream), with colour bars; ``names`` label the rows. Returns the figure."""
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
