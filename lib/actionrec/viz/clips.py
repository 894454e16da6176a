"""Clips as pictures: frames in a row, a grid of clips, an animation, an attribution overlay.

Every function accepts a clip as a normalised float ``(3, T, H, W)`` tensor/array (as returned by
``SynthActions[i][0]``; un-normalised with ``mean``/``std``, by default SynthActions'
:data:`SYNTH_MEAN` / :data:`SYNTH_STD`) or as uint8 ``(T, H, W, 3)`` frames (as returned by
``SynthActions.render``)::

    clip (3, T, H, W) float ─→ to_frames ─→ (T, H, W, 3) uint8 ─→ show_clip / clip_grid / animate_clip
    frames (T, H, W, 3) + heat (T, H, W) + curves {label: (T,)} ─→ plot_clip_attribution

New figures come from ``pyplot.subplots`` (so notebooks show them inline) and are returned;
nothing calls ``plt.show``, so everything also runs under the non-interactive Agg backend. Close
figures with ``plt.close(fig)`` in loops. Tensors are read with ``.detach().cpu().numpy()``;
this module imports neither torch nor any model code.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["SYNTH_MEAN", "SYNTH_STD", "to_numpy", "to_frames", "show_clip", "clip_grid", "animate_clip",
           "plot_clip_attribution"]

#: SynthActions' normalisation, ``clip = (uint8 / 255 - MEAN) / STD`` (``actionrec.data.synthactions.MEAN``
#: / ``STD``; a test keeps them equal): the default of ``mean`` / ``std`` below.
SYNTH_MEAN, SYNTH_STD = 0.5, 0.25


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (``.detach().cpu().numpy()``, any device) or array-like as a numpy array."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _is_torch_dataset(obj: Any) -> bool:
    """``isinstance(obj, torch.utils.data.Dataset)`` without importing torch (a Dataset implies torch is loaded)."""
    data = sys.modules.get("torch.utils.data")
    return data is not None and isinstance(obj, data.Dataset)


def to_frames(clip, *, mean: float | None = None, std: float | None = None) -> np.ndarray:
    """Any supported clip -> uint8 ``(T, H, W, 3)``.

    uint8 input must be ``(T, H, W, 3)`` (or ``(T, H, W)`` grey); float input must be
    ``(3, T, H, W)`` normalised with ``mean``/``std`` (default: SynthActions' MEAN/STD), or
    ``(1, T, H, W)`` grey.
    """
    mean = SYNTH_MEAN if mean is None else mean
    std = SYNTH_STD if std is None else std
    x = to_numpy(clip)
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
    def name(lab) -> str:
        if lab is None:
            return ""
        lab = int(lab)
        return f"{lab}: {classes[lab]}" if classes is not None else str(lab)

    rows: list[tuple[np.ndarray, str]] = []
    if _is_torch_dataset(dataset_or_clips) or hasattr(dataset_or_clips, "render"):
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


def plot_clip_attribution(frames: np.ndarray, heat, *, window: Optional[tuple[float, float]] = None,
                          curves: Optional[Mapping[str, Sequence[float]]] = None, every: int = 1,
                          title: Optional[str] = None, fig=None, alpha: float = 0.55, cmap: str = "inferno"):
    """Frames ``(T, H, W, 3)`` uint8 with a heatmap ``(T, H, W)`` overlaid (one colour scale for the
    clip), and below them the per-frame curves (``{label: (T,)}``) with the action window shaded.
    Returns the figure."""
    heat = np.asarray(to_numpy(heat), dtype=np.float64)
    frames = np.asarray(frames)
    if frames.ndim != 4 or heat.shape != frames.shape[:3]:
        raise ValueError(f"frames {frames.shape} must be (T, H, W, 3) and heat {heat.shape} (T, H, W)")
    ts = list(range(0, frames.shape[0], every))
    fig = fig or plt.figure(figsize=(1.05 * len(ts) + 0.6, 3.3))
    gs = fig.add_gridspec(2, len(ts), height_ratios=[1, 1.15], hspace=0.08, wspace=0.04)
    vmax = heat.max() if heat.max() > 0 else 1.0
    for k, t in enumerate(ts):
        ax = fig.add_subplot(gs[0, k])
        ax.imshow(frames[t])
        ax.imshow(heat[t], cmap=cmap, alpha=alpha, vmin=0, vmax=vmax)
        inside = window is not None and window[0] - 0.5 < t < window[1] + 0.5
        ax.set_title(f"{t}", fontsize=7, color="C2" if inside else "0.3", fontweight="bold" if inside else None)
        ax.set_xticks([])
        ax.set_yticks([])
        if inside:
            for sp in ax.spines.values():
                sp.set_color("C2")
                sp.set_linewidth(2)
    ax = fig.add_subplot(gs[1, :])
    if window is not None:
        ax.axvspan(window[0], window[1], color="C2", alpha=0.15, label="action window")
    for label, c in (curves or {"attribution": heat.sum(axis=(1, 2)) / max(heat.sum(), 1e-12)}).items():
        c = np.asarray(to_numpy(c), dtype=np.float64)
        ax.plot(np.arange(len(c)), c, marker="o", ms=3, label=label)
    ax.set_xlim(-0.5, frames.shape[0] - 0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("share of attribution")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
