"""Plotting helpers shared by the notebooks (a plain module of functions).

Clip display:
  show_clip(clip, ax=None)         one clip, frames side by side in a row
  clip_grid(dataset_or_clips, ...) one row per clip, titled by class
  animate_clip(clip, ...)          matplotlib animation (``anim.to_jshtml()``; GIF via pillow)

Results: plot_accuracy_vs_gmacs, plot_grouped_bars (mean ± CI per config), plot_learning_curves.

SRTG cycle consistency (eq. 4-5): project_2d (joint PCA), plot_cycle_trajectories,
plot_cycle_matrices, plot_cycle_errors, plot_cycle_panel (all three in a row), cycle_sweep /
plot_temperature_sweep (gate vs temperature), plot_gate_stats (per-layer bars of gate_stats).

Every function accepts a clip as a normalised float ``(3, T, H, W)`` tensor/array (as returned by
``SynthActions[i][0]``, un-normalised with ``MEAN``/``STD`` of ``actionrec.data.synthetic``) or as
uint8 ``(T, H, W, 3)`` frames (as returned by ``SynthActions.render``). New figures come from
``pyplot.subplots`` (so notebooks show them inline) and are returned; nothing calls
``plt.show``, so everything also runs under the non-interactive Agg backend. Close figures with
``plt.close(fig)`` in loops.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["to_frames", "show_clip", "clip_grid", "animate_clip", "plot_accuracy_vs_gmacs", "plot_grouped_bars",
           "plot_learning_curves", "stream_receptive_fields", "plot_stream_receptive_fields",
           "project_2d", "gate_sentence", "plot_cycle_trajectories", "plot_cycle_matrices", "plot_cycle_errors",
           "plot_cycle_panel", "cycle_sweep", "plot_temperature_sweep", "plot_gate_stats"]


def to_frames(clip, *, mean: float | None = None, std: float | None = None) -> np.ndarray:
    """Any supported clip -> uint8 ``(T, H, W, 3)``.

    uint8 input must be ``(T, H, W, 3)`` (or ``(T, H, W)`` grey); float input must be
    ``(3, T, H, W)`` normalised with ``mean``/``std`` (default: SynthActions' MEAN/STD), or
    ``(1, T, H, W)`` grey.
    """
    from actionrec.data.synthetic import MEAN, STD

    mean = MEAN if mean is None else mean
    std = STD if std is None else std
    x = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    if x.dtype == np.uint8:
        if x.ndim == 3:
            x = np.repeat(x[..., None], 3, axis=-1)  # (T, H, W) -> (T, H, W, 3)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"clip: uint8 clips must be (T, H, W, 3), got shape {x.shape}.")
        return x
    if x.ndim != 4 or x.shape[0] not in (1, 3):
        raise ValueError(
            f"clip: float clips must be normalised (C, T, H, W) with C in (1, 3), got shape {x.shape}; "
            "pass uint8 (T, H, W, 3) frames for raw renders."
        )
    x = np.transpose(x.astype(np.float32), (1, 2, 3, 0)) * std + mean  # (C, T, H, W) -> (T, H, W, C)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def _strip(frames: np.ndarray, every: int, gap: int) -> np.ndarray:
    """(T, H, W, 3) -> one (H, n*W + (n-1)*gap, 3) image of every ``every``-th frame."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every={every!r} is invalid: expected an int >= 1 (show every k-th frame).")
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
        raise ValueError(f"gap={gap!r} is invalid: expected an int >= 0 (pixels between frames).")
    sel = frames[::every]
    n, H, W, _ = sel.shape
    out = np.full((H, n * W + (n - 1) * gap, 3), 255, dtype=np.uint8)
    for k in range(n):
        out[:, k * (W + gap): k * (W + gap) + W] = sel[k]
    return out


def show_clip(clip, ax=None, *, every: int = 1, gap: int = 1, title: str | None = None,
              frame_width: float = 0.8, mean: float | None = None, std: float | None = None):
    """Show a clip's frames in a row on ``ax`` (a new figure if None); returns the figure.

    ``every``: show every k-th frame; ``gap``: white pixels between frames; ``frame_width``:
    inches per frame when a figure is created.
    """
    frames = to_frames(clip, mean=mean, std=std)
    img = _strip(frames, every, gap)
    created = ax is None
    if created:
        import matplotlib.pyplot as plt

        n = len(frames[::every])
        H, W = frames.shape[1:3]
        fig, ax = plt.subplots(figsize=(max(frame_width * n, 2.0), frame_width * H / W + 0.35))
    ax.imshow(img, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9, loc="left")
    if created:
        fig.tight_layout(pad=0.3)
    return ax.figure


def clip_grid(dataset_or_clips, indices: Sequence[int] | None = None, *, labels: Sequence | None = None,
              classes: Sequence[str] | None = None, per_class: int = 1, every: int = 1,
              frame_width: float = 0.7, title: str | None = None, mean: float | None = None,
              std: float | None = None):
    """Rows of clips, each titled ``"label: class"``; returns the figure.

    ``dataset_or_clips`` is either a dataset yielding ``(clip, label)`` (SynthActions, a cached
    TensorDataset, ...; ``classes`` default to its ``.classes``; by default ``per_class`` items of
    every class, else the given ``indices``; uses ``render(i)``/``label(i)`` when it has them), or
    a sequence of clips or of ``(clip, label)`` pairs (with optional ``labels`` and ``classes``).
    """
    import matplotlib.pyplot as plt
    from torch.utils.data import Dataset

    def name(lab) -> str:
        if lab is None:
            return ""
        lab = int(lab)
        return f"{lab}: {classes[lab]}" if classes is not None else str(lab)

    rows: list[tuple[np.ndarray, str]] = []
    if isinstance(dataset_or_clips, Dataset) or hasattr(dataset_or_clips, "render"):
        ds = dataset_or_clips
        classes = classes if classes is not None else getattr(ds, "classes", None)
        label_of = ds.label if hasattr(ds, "label") else (lambda i: int(ds[i][1]))
        if indices is None:
            if classes is None:  # unknown classes: the first few items
                indices = list(range(min(len(ds), 8)))
            else:
                count = dict.fromkeys(range(len(classes)), 0)
                indices = []
                for i in range(len(ds)):
                    c = label_of(i)
                    if count.get(c, per_class) < per_class:
                        count[c] += 1
                        indices.append(i)
                        if all(v >= per_class for v in count.values()):
                            break
                indices.sort(key=label_of)
        for i in indices:
            frames = ds.render(i) if hasattr(ds, "render") else to_frames(ds[i][0], mean=mean, std=std)
            rows.append((frames, f"{name(label_of(i))}  (#{i})"))
    else:
        items = list(dataset_or_clips)
        if indices is not None:
            items = [items[i] for i in indices]
            labels = None if labels is None else [labels[i] for i in indices]
        for k, item in enumerate(items):
            clip, lab = item if isinstance(item, (tuple, list)) and len(item) == 2 else (item, None)
            lab = labels[k] if labels is not None else lab
            rows.append((to_frames(clip, mean=mean, std=std), name(lab)))
    if not rows:
        raise ValueError("dataset_or_clips: nothing to show (empty dataset, indices or clip list).")
    strips = [(_strip(f, every, 1), n) for f, n in rows]
    n_frames = len(rows[0][0][::every])
    aspect = strips[0][0].shape[0] / strips[0][0].shape[1]
    width = max(frame_width * n_frames, 3.0)
    fig, axes = plt.subplots(len(strips), 1, figsize=(width, len(strips) * (width * aspect + 0.3) + 0.3),
                             squeeze=False)
    for ax, (img, n) in zip(axes[:, 0], strips):
        ax.imshow(img, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(n, fontsize=8, loc="left", pad=2)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def animate_clip(clip, *, fps: float = 8.0, inches: float = 3.0, title: str | None = None,
                 path: str | None = None, as_html: bool = False, mean: float | None = None,
                 std: float | None = None):
    """A ``matplotlib.animation.FuncAnimation`` playing the clip (``inches``: longer side).

    With ``path`` (e.g. "walk.gif") it is also saved as a GIF with the pillow writer. Returns the
    animation, or with ``as_html=True`` an ``IPython.display.HTML`` of ``anim.to_jshtml()`` (what
    a notebook cell shows as a player). The figure is closed so that inline backends do not also
    draw a static copy.
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation

    if not fps > 0:
        raise ValueError(f"fps={fps!r} is invalid: expected a positive number of frames per second.")
    frames = to_frames(clip, mean=mean, std=std)
    T, H, W, _ = frames.shape
    fig, ax = plt.subplots(figsize=(inches * W / max(H, W), inches * H / max(H, W) + (0.3 if title else 0.0)))
    im = ax.imshow(frames[0], interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.2)

    def update(t):
        im.set_data(frames[t])
        return (im,)

    anim = animation.FuncAnimation(fig, update, frames=T, interval=1000.0 / fps, blit=True)
    if path is not None:
        anim.save(path, writer=animation.PillowWriter(fps=fps))
    plt.close(fig)
    if as_html:
        from IPython.display import HTML

        return HTML(anim.to_jshtml())
    return anim


# --------------------------------------------------------------------------------------------
# Result plots shared by the ablation notebooks
# --------------------------------------------------------------------------------------------


def plot_accuracy_vs_gmacs(summary, *, label_key: str = "name", group_key: str | None = None,
                           x_key: str = "gmacs", size_key: str = "params_m", title: str | None = None,
                           ax=None):
    """Accuracy vs GMACs with 95% CI error bars, marker area ∝ parameters (like MTNet's Fig. 5).

    ``summary``: entries from :func:`actionrec.experiments.summarize` carrying ``mean``, ``ci``,
    ``x_key`` and ``size_key`` fields; ``group_key`` colours the groups (e.g. sub-streams g).
    """
    import matplotlib.pyplot as plt

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

    ``summary``: entries from :func:`actionrec.experiments.summarize` (``mean``, ``ci``, ``n`` and
    the two keys). ``labels`` fixes the order of the bars (default: first seen); ``scale`` multiplies
    values (100: fractions to %). Each bar is annotated with its mean and the number of seeds.
    """
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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


def stream_receptive_fields(*, num_layers: int = 3, frames: int = 16, size: int = 32, r: float = 0.5,
                            channels: int = 8) -> dict[str, np.ndarray]:
    """Measured receptive fields of MTConv's short and long streams.

    Builds ``num_layers`` MTConvs (3×3×3, ratio ``r``) with all-positive weights, feeds a clip of
    ``frames × size × size``, and takes the gradient of one centre output of each stream w.r.t. the
    input. Returns ``{"short": (T, W), "long": (T, W)}`` maps (summed over channels and height),
    normalised to max 1: where each stream's output can "see".
    """
    import torch
    from torch import nn

    from actionrec.layers.mtconv import MTConv, split_channels

    torch.manual_seed(0)
    layers = nn.ModuleList(MTConv(channels, channels, kernel_size=(3, 3, 3), r=r) for _ in range(num_layers))
    for m in layers.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
    layers.eval()
    x = torch.ones(1, channels, frames, size, size, requires_grad=True)
    out = {}
    for stream in ("short", "long"):
        cs, _ = split_channels(channels, r)
        # the stem's split: long part pooled by 2 in T, H, W (as MTNet.split does)
        pair = (x[:, :cs], torch.nn.functional.avg_pool3d(x[:, cs:], 2, ceil_mode=True))
        for layer in layers:
            pair = layer(pair)
        y = pair[0] if stream == "short" else pair[1]
        _, _, t, h, w = y.shape
        (grad,) = torch.autograd.grad(y[0, :, t // 2, h // 2, w // 2].sum(), x)
        g = grad[0].abs().sum(dim=(0, 2))  # (T, W): summed over channels and height
        out[stream] = (g / g.max()).numpy()
    return out


def plot_stream_receptive_fields(*, num_layers: int = 3, frames: int = 16, size: int = 32, r: float = 0.5):
    """Heatmaps (time × width) of :func:`stream_receptive_fields` for the two streams."""
    import matplotlib.pyplot as plt

    rf = stream_receptive_fields(num_layers=num_layers, frames=frames, size=size, r=r)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for ax, (name, m) in zip(axes, rf.items()):
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


# --------------------------------------------------------------------------------------------
# SRTG: cycle consistency between two frame sequences (eq. 4-5, Fig. 4-5 of "Learn to cycle")
# --------------------------------------------------------------------------------------------
#
# A sequence is a (T, C) or (1, T, C) tensor/array, e.g. one clip's squeezed features ``pooled``
# and LSTM output ``a_star`` from ``SRTGate.last``; ``cc`` is the
# :class:`actionrec.layers.cycle_consistency.CycleConsistency` of a batch (``sample`` picks one).

_OK, _ERR = "#2ca02c", "#d62728"


def _seq(x, name: str) -> torch.Tensor:
    """(T, C) or (1, T, C) tensor/array -> float64 (T, C) tensor."""
    t = torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)
    if t.dim() == 3 and t.shape[0] == 1:
        t = t[0]  # (1, T, C) -> (T, C)
    if t.dim() != 2:
        raise ValueError(f"{name} must be one sequence (T, C) or (1, T, C); got shape {tuple(t.shape)}")
    return t


def project_2d(*seqs, fit_on: int | None = None) -> list[np.ndarray]:
    """Project sequences ``(T_k, C)`` jointly onto their first two principal components.

    The basis (mean and top-2 right singular vectors, ``torch.linalg.svd``) is fitted on all
    sequences together, or on the first ``fit_on`` of them (the rest, e.g. soft matches, are only
    projected), so distances in the plot approximate the Euclidean distances eq. 4 uses. ``C <= 2``
    is returned unprojected (``C = 1`` padded with a zero column). Returns ``(T_k, 2)`` arrays.
    """
    if not seqs:
        raise ValueError("project_2d: give at least one (T, C) sequence")
    ts = [_seq(s, f"seqs[{i}]") for i, s in enumerate(seqs)]
    C = ts[0].shape[1]
    if any(t.shape[1] != C for t in ts):
        raise ValueError(f"project_2d: all sequences must have the same C; got {[t.shape[1] for t in ts]}")
    if C <= 2:
        return [torch.nn.functional.pad(t, (0, 2 - C)).numpy() for t in ts]
    fit = torch.cat(ts[: fit_on or len(ts)])  # (sum T, C)
    mean = fit.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(fit - mean, full_matrices=False)  # vh (min(N, C), C)
    basis = vh[:2].T  # (C, 2)
    if basis.shape[1] < 2:  # a single point: nothing to project onto
        basis = torch.nn.functional.pad(basis, (0, 2 - basis.shape[1]))
    return [((t - mean) @ basis).numpy() for t in ts]


def _pick(cc, sample: int):
    """One sample of a CycleConsistency as numpy arrays."""
    if cc.weights_ab.dim() != 3:
        raise ValueError("cc must be a batched CycleConsistency (weights (N, T, T))")
    n = cc.weights_ab.shape[0]
    if not -n <= sample < n:
        raise ValueError(f"sample={sample} is out of range for a batch of {n}")
    get = lambda t: t[sample].detach().cpu().numpy()  # noqa: E731
    return dict(w_ab=get(cc.weights_ab), w_ba=get(cc.weights_ba), i_ab=get(cc.index_ab), i_ba=get(cc.index_ba),
                ok=get(cc.consistent_frames), consistent=bool(cc.consistent[sample]), score=float(cc.soft_score[sample]))


def gate_sentence(cc, sample: int = 0) -> str:
    """``"cycle-consistent 16/16 frames -> gate OPEN, soft score 0.81"`` for one sample."""
    s = _pick(cc, sample)
    T = len(s["ok"])
    verdict = "gate OPEN" if s["consistent"] else "gate CLOSED"
    return f"{int(s['ok'].sum())}/{T} frames cycle back → {verdict}, soft score {s['score']:.2f}"


def plot_cycle_trajectories(a, b, cc=None, *, temperature: float = 1.0, sample: int = 0, ax=None,
                            labels: Sequence[str] = ("A", "B"), show_matches: bool = True, title: str | None = None,
                            legend: bool = True):
    """Two sequences as trajectories (joint 2-D PCA), with each frame of A's cycle into B (Fig. 4).

    ``a``, ``b``: ``(T, C)`` (or ``(1, T, C)``). Frames are coloured by time (A: circles, B:
    squares, ``t`` written next to A's points). With ``show_matches``, each ``a_t`` is joined (thin,
    dashed) to its eq. 4 soft match ``b~_t`` (x) and that to the eq. 5 nearest frame of B: green
    when it is ``b_t``, red (a temporal cyclic error) otherwise; a red ring marks frames that are
    not cycle-consistent in both directions. ``cc`` is computed (at ``temperature``) if not given;
    ``sample`` picks it out of a batched ``cc``. ``legend=False`` drops the legend (small multiples).
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    from actionrec.layers.cycle_consistency import cycle_consistency

    A, B = _seq(a, "a"), _seq(b, "b")
    if A.shape != B.shape:
        raise ValueError(f"a {tuple(A.shape)} and b {tuple(B.shape)} must have the same (T, C)")
    if cc is None:
        cc, sample = cycle_consistency(A[None], B[None], temperature=temperature), 0
    s = _pick(cc, sample)
    b_tilde = torch.as_tensor(s["w_ab"], dtype=torch.float64) @ B  # (T, T) @ (T, C) -> (T, C): eq. 4
    pa, pb, pt = project_2d(A, B, b_tilde, fit_on=2)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
    else:
        fig = ax.figure
    T = A.shape[0]
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


def plot_cycle_matrices(cc, *, sample: int = 0, axes=None, labels: Sequence[str] = ("A", "B"),
                        vmax: float | None = 1.0, colorbar: bool = True):
    """The two eq. 4 soft-nearest-neighbour weight matrices of one sample, as heatmaps (Fig. 5).

    Left: row ``t`` = softmax weights of ``a_t`` over the frames of B (``weights_ab``); right: of
    ``b_t`` over A (``weights_ba``). The eq. 5 nearest frame of each row's soft match is marked: a
    white dot on the diagonal when it is the same time ``t``, a red cross elsewhere (a temporal
    cyclic error). ``vmax=1`` keeps both on one absolute scale (a flat softmax looks flat: every
    weight ≈ 1/T); ``None`` scales each to its own maximum (written in the title). ``axes``: two
    existing axes. Returns the figure.
    """
    import matplotlib.pyplot as plt

    s = _pick(cc, sample)
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


def plot_cycle_errors(cc, *, sample: int = 0, ax=None, labels: Sequence[str] = ("A", "B")):
    """Per-frame cycle checks of one sample as a 3 × T strip (green: lands on t, red: error).

    Rows: ``A→B`` (eq. 5 index of ``a_t``'s soft match in B == t), ``B→A``, and both (the frame is
    cycle-consistent; the paper's gate needs every column green). Cells show the landing frame.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    s = _pick(cc, sample)
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
    ax.set_title(gate_sentence(cc, sample), fontsize=8)
    return fig


def plot_cycle_panel(a, b, *, temperature: float = 1.0, cc=None, sample: int = 0,
                     labels: Sequence[str] = ("A", "B"), title: str | None = None, axes=None, vmax: float | None = 1.0):
    """Trajectories, both weight matrices and the per-frame checks of one pair ``(a, b)``, in a row.

    ``a``, ``b``: ``(T, C)``; ``cc`` (batched, pick ``sample``) is computed at ``temperature`` if not
    given. ``axes``: 4 existing axes (to stack several pairs in one figure); else a new figure with
    4 axes (no colorbar, the matrices share the absolute scale ``vmax``). Returns the figure.
    """
    import matplotlib.pyplot as plt

    from actionrec.layers.cycle_consistency import cycle_consistency

    A, B = _seq(a, "a"), _seq(b, "b")
    if cc is None:
        cc, sample = cycle_consistency(A[None], B[None], temperature=temperature), 0
    if axes is None:
        fig, axes = plt.subplots(1, 4, figsize=(15.5, 3.6), gridspec_kw=dict(width_ratios=[1.1, 1, 1, 1.5]))
    else:
        fig = axes[0].figure
    plot_cycle_trajectories(A, B, cc, sample=sample, ax=axes[0], labels=labels)
    plot_cycle_matrices(cc, sample=sample, axes=axes[1:3], labels=labels, colorbar=False, vmax=vmax)
    plot_cycle_errors(cc, sample=sample, ax=axes[3], labels=labels)
    if title is not None:
        axes[0].set_title(title, fontsize=9, fontweight="bold")
    return fig


def cycle_sweep(pairs, temperatures: Sequence[float]) -> dict[str, dict[str, np.ndarray]]:
    """Gate statistics of ``{name: (a, b)}`` pairs (``(T, C)`` or batches ``(N, T, C)``) per temperature.

    Returns ``{name: {"open", "consistent_frames", "score"}}``, each an array over ``temperatures``:
    fraction of samples whose gate opens, mean fraction of cycle-consistent frames, mean soft score.
    """
    from actionrec.layers.cycle_consistency import cycle_consistency

    out = {}
    for name, (a, b) in pairs.items():
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        a, b = (a[None] if a.dim() == 2 else a), (b[None] if b.dim() == 2 else b)  # (T, C) -> (1, T, C)
        rows = [cycle_consistency(a, b, temperature=float(tau)) for tau in temperatures]
        out[name] = {
            "open": np.array([cc.consistent.float().mean().item() for cc in rows]),
            "consistent_frames": np.array([cc.consistent_frames.float().mean().item() for cc in rows]),
            "score": np.array([cc.soft_score.float().mean().item() for cc in rows]),
        }
    return out


def plot_temperature_sweep(pairs, temperatures: Sequence[float], *, title: str | None = None, axes=None):
    """Gate open rate, cycle-consistent-frame fraction and soft score vs the eq. 4 temperature τ.

    ``pairs``: ``{name: (a, b)}`` as for :func:`cycle_sweep`; one line per pair, log-x. Returns the
    figure (3 axes).
    """
    import matplotlib.pyplot as plt

    temps = [float(t) for t in temperatures]
    if not temps or min(temps) <= 0:
        raise ValueError(f"temperatures={temperatures!r} must be a non-empty list of numbers > 0")
    stats = cycle_sweep(pairs, temps)
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
    import matplotlib.pyplot as plt

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
