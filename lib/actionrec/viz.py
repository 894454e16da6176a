"""Plotting helpers shared by the notebooks (a plain module of functions).

Clip display:
  show_clip(clip, ax=None)         one clip, frames side by side in a row
  clip_grid(dataset_or_clips, ...) one row per clip, titled by class
  animate_clip(clip, ...)          matplotlib animation (``anim.to_jshtml()``; GIF via pillow)

Results: plot_accuracy_vs_gmacs, plot_grouped_bars (mean ± CI per config), plot_learning_curves.

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
           "plot_learning_curves", "stream_receptive_fields", "plot_stream_receptive_fields"]


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
