"""The notebooks' interactive explorer: ipywidgets controls that redraw a figure.

::

    controls {name: widget} ─→ rows of HBoxes ┐
                                              ├─→ VBox (display it) ; a change of any control
    draw(**{name: value}) ─→ Output widget ───┘      → draw(**values) inside the Output

``make_explorer`` wires ``ipywidgets.interactive_output`` with one guard: the call it makes at
creation, inside its Output widget, draws nothing. Executed headless (papermill / nbclient), output
written into an Output widget makes the client send widget-state messages back to the kernel
mid-cell, which intermittently deadlocks (jupyter/nbclient#312); so a notebook draws its default
selection statically, outside the widget (``draw(**defaults)``), for JupyterLab; the book shows the
player of ``static_explorer`` (below) instead. ``linked`` updates the options of dependent dropdowns, and
``ready`` skips a redraw while they are being updated (their value is None in between).

``shown(fig)`` shows a figure and returns it, so a ``draw`` written as a lambda can both display
its figure and hand it back (``draw = lambda **sel: shown(plot_field_view(**view(**sel)))``).

Without a kernel (the book: no widget manager, nothing loaded from a CDN) the controls are dead, so
``static_explorer`` precomputes a few selections and returns matplotlib's JavaScript player
(``Animation.to_jshtml``: inline JS/CSS and base64 PNG frames, no network) as an HTML string::

    sweep(defaults, name=values, ...) ─→ [selection, ...]       (cartesian product of the named controls)
    draw(**selection) ─→ figure ─→ pixels at ``dpi``, tight bbox (closed) ─→ padded with white to the
      largest frame ─→ one frame of an ArtistAnimation, the label above it ─→ ``to_jshtml()`` ─→ CDN link
      dropped (icons as glyphs), frames re-encoded with a palette

Size: one PNG frame per selection (base64, ×4/3) plus ~10 kB of player. The frames are re-encoded
with a 256-colour palette (``colors``; Pillow's octree quantiser, no dithering: plots and colour maps
look the same, and a frame is 3-5 times smaller than matplotlib's full-colour PNG). At the default
``dpi=72`` a notebook explorer figure (about 14-17 × 3-5 in, i.e. 1000-1250 × 230-390 px) then makes
frames of roughly 15-50 kB: the book's three players measured 0.5-1.4 MB for 24-30 frames at their
default parameters; ``max_mb`` caps the total.
"""

from __future__ import annotations

import base64
import html as _html
import io
import itertools
import re
from typing import Any, Callable, Mapping, Optional, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import ArtistAnimation
from matplotlib.figure import Figure
from PIL import Image  # Pillow: a dependency of matplotlib itself

__all__ = ["make_explorer", "shown", "static_explorer", "sweep", "selection_label"]

# matplotlib's player loads Font Awesome from a CDN for its button icons; the book loads nothing from
# the network, so the link goes and each icon becomes a plain Unicode glyph (the buttons keep their
# titles and aria-labels)
_ICON_GLYPHS = {"fa-minus": "\u2212", "fa-fast-backward": "\u21e4", "fa-step-backward": "\u2039",
                "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u275a\u275a", "fa-play": "\u25b6",
                "fa-step-forward": "\u203a", "fa-fast-forward": "\u21e5", "fa-plus": "+"}
_FRAME = re.compile(r'(frames\[\d+\] = "data:image/png;base64,)([^"]*)"')  # a frame, as matplotlib writes it
_STYLE = ("<style>.static-explorer .animation {display: block;} "
          ".static-explorer .animation img {max-width: 100%; height: auto;}</style>")


def shown(fig):
    """``plt.show()``, then ``fig`` (so an explorer's ``draw`` can show and return its figure in one call)."""
    plt.show()
    return fig


def make_explorer(draw: Callable[..., Any], controls: Mapping[str, Any], *,
                  rows: Optional[Sequence[Sequence[str]]] = None,
                  ready: Optional[Callable[[Mapping[str, Any]], bool]] = None,
                  linked: Optional[Mapping[str, Mapping[str, Callable[[Any], Sequence[Any]]]]] = None):
    """An explorer widget: the ``controls`` laid out in ``rows``, and the output of ``draw``.

    Args:
        draw: called as ``draw(**{name: control.value})`` whenever a control changes (not at
            creation, see the module doc); it draws a figure (and may return it).
        controls: ``{name: ipywidgets control}``; the names are ``draw``'s keyword arguments.
        rows: control names per row (one ``HBox`` each); default: all controls in one row.
        ready: ``ready(values) -> bool``; when False the change draws nothing (e.g. a dependent
            dropdown whose value is None while its options are replaced).
        linked: ``{source: {target: options_of}}``: when ``source`` changes to ``v``,
            ``controls[target].options = options_of(v)``.

    Returns an ``ipywidgets.VBox`` (control rows, then the output area) to ``display``.
    """
    import ipywidgets as widgets

    names = list(controls)
    for row in rows or [names]:
        unknown = [n for n in row if n not in controls]
        if unknown:
            raise ValueError(f"rows name controls {unknown} that are not in controls {names}")
    for source, targets in (linked or {}).items():
        unknown = [n for n in (source, *targets) if n not in controls]
        if unknown:
            raise ValueError(f"linked names controls {unknown} that are not in controls {names}")

        def relink(change, targets=targets):
            for target, options_of in targets.items():
                controls[target].options = options_of(change["new"])

        controls[source].observe(relink, names="value")

    drawing = {"live": False}  # the creation-time call draws nothing (nbclient#312)

    def on_change(**values):
        if drawing["live"] and (ready is None or ready(values)):
            draw(**values)

    output = widgets.interactive_output(on_change, dict(controls))
    drawing["live"] = True
    ui = [widgets.HBox([controls[n] for n in row]) for row in (rows or [names])]
    return widgets.VBox([*ui, output])


def sweep(defaults: Mapping[str, Any], **values: Sequence[Any]) -> list[dict[str, Any]]:
    """Selections for :func:`static_explorer`: ``defaults`` with the named controls varied over the
    cartesian product of their ``values`` (the first name varies slowest, the last fastest).

    ``sweep(dict(a=1, b="x", c=0.5), b=["x", "y"], c=[0.1, 1])`` →
    ``[{a: 1, b: "x", c: 0.1}, {a: 1, b: "x", c: 1}, {a: 1, b: "y", c: 0.1}, {a: 1, b: "y", c: 1}]``.
    """
    unknown = [n for n in values if n not in defaults]
    if unknown:
        raise ValueError(f"sweep names controls {unknown} that are not in defaults {list(defaults)}")
    for name, vals in values.items():
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or len(vals) == 0:
            raise ValueError(f"sweep values of {name!r} must be a non-empty list, got {vals!r}")
    return [{**defaults, **dict(zip(values, combo))} for combo in itertools.product(*values.values())]


def selection_label(selection: Mapping[str, Any]) -> str:
    """``"name=value, ..."`` (floats with ``:g``): the default frame label of :func:`static_explorer`."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in selection.items())


def _rasterise(fig: Figure, dpi: float) -> np.ndarray:
    """The figure's pixels at ``dpi``, ``(H, W, 3)`` uint8 over white, cropped as the notebook shows it
    inline (``bbox_inches="tight"``: no empty margins, nothing clipped at the edges); the figure is closed."""
    buf = io.BytesIO()  # an uncompressed PNG: the canvas's RGBA, but with the tight bounding box
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05, pil_kwargs={"compress_level": 0})
    plt.close(fig)
    rgba = np.asarray(Image.open(buf).convert("RGBA"), dtype=np.float32) / 255.0  # (H, W, 4)
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # alpha over white
    return np.round(255 * rgb).astype(np.uint8)


def _pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (h, w, 3) centred horizontally at the top of a white (height, width, 3) canvas."""
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = image.shape[:2]
    left = (width - w) // 2
    out[:h, left:left + w] = image
    return out


def static_explorer(draw: Callable[..., Any], selections: Sequence[Mapping[str, Any]], *,
                    label: Optional[Callable[[Mapping[str, Any]], str]] = None, dpi: float = 72,
                    interval_ms: int = 800, fontsize: float = 14, colors: Optional[int] = 256,
                    max_mb: float = 20.0) -> str:
    """A kernel-free explorer: ``draw(**selection)`` for every selection, as the frames of
    matplotlib's JavaScript animation player (slider, step and play buttons; plays once).

    Args:
        draw: called as ``draw(**selection)``; must return a matplotlib ``Figure`` and must not show it
            (e.g. ``plot_field_view(...)``, not ``shown(...)``). Each figure is rasterised at ``dpi``
            and closed.
        selections: keyword dicts, one per frame, in slider order (:func:`sweep` builds them).
        label: ``label(selection) -> str`` written above each frame; default :func:`selection_label`.
        dpi: pixels per inch of the frames (72: about 1100 px across for a 15 in figure).
        interval_ms: time per frame when played.
        fontsize: of the label, in points (bold; a book page shrinks a wide frame to its ~700 px column).
        colors: palette size of the PNG frames (2-256); None keeps matplotlib's full-colour frames.
        max_mb: largest HTML accepted, counted on matplotlib's full-colour frames (its
            ``animation.embed_limit``, beyond which it would silently drop frames): exceeding it is an error.

    Frames of different sizes are padded with white to the largest width and height (centred
    horizontally, top-aligned), never scaled. Returns the player's HTML (standard jshtml markup: a
    ``<div class="animation">`` with an ``<img>`` and an ``<input type="range" class="anim-slider">``);
    a notebook displays it with ``IPython.display.HTML``.
    """
    if isinstance(selections, Mapping) or not isinstance(selections, Sequence) or len(selections) == 0:
        raise ValueError(f"selections must be a non-empty list of keyword dicts, got {selections!r}")
    bad = [s for s in selections if not isinstance(s, Mapping)]
    if bad:
        raise ValueError(f"every selection must be a dict of draw's keyword arguments; got {bad[0]!r}")
    if not dpi > 0 or not interval_ms > 0 or not max_mb > 0:
        raise ValueError(f"dpi, interval_ms and max_mb must be > 0, got {dpi!r}, {interval_ms!r}, {max_mb!r}")
    if colors is not None and not (isinstance(colors, int) and 2 <= colors <= 256):
        raise ValueError(f"colors must be None or an int in 2..256, got {colors!r}")
    label = label or selection_label
    images, texts = [], []
    for sel in selections:
        fig = draw(**sel)
        if not isinstance(fig, Figure):
            raise TypeError(f"draw(**{dict(sel)!r}) returned {type(fig).__name__}, not a matplotlib Figure: "
                            "static_explorer needs the figure back (return it; do not only show it)")
        images.append(_rasterise(fig, dpi))
        texts.append(str(label(sel)))
    height, width = max(im.shape[0] for im in images), max(im.shape[1] for im in images)
    strip = int(np.ceil(1.8 * fontsize * dpi / 72))  # the label's band above the frame, in pixels
    # +1e-3 px: the figure's size in inches times dpi must not round down to one pixel less
    player = Figure(figsize=((width + 1e-3) / dpi, (height + strip + 1e-3) / dpi), dpi=dpi, facecolor="white")
    ax = player.add_axes((0, 0, 1, height / (height + strip)))
    ax.set_axis_off()
    frames = []
    for im, text in zip(images, texts):
        shown_im = ax.imshow(_pad(im, height, width), interpolation="none", aspect="auto")
        caption = player.text(4 / width, 1 - 0.5 * strip / (height + strip), text, fontsize=fontsize,
                              fontweight="bold", ha="left", va="center")
        frames.append([shown_im, caption])
    anim = ArtistAnimation(player, frames, interval=interval_ms, repeat=False, blit=False)
    # codec: not "h264", for which matplotlib's writers (HTMLWriter included) round the figure to even pixels
    with mpl.rc_context({"animation.embed_limit": max_mb, "animation.codec": "png"}):
        html = anim.to_jshtml(default_mode="once")
    written = html.count('"data:image/png;base64,')
    if written != len(selections):
        raise ValueError(f"the player holds {written} of {len(selections)} frames: the HTML would exceed "
                         f"max_mb={max_mb} MB; lower dpi or the number of selections")
    if colors is not None:
        html = _FRAME.sub(lambda m: m.group(1) + _palette_png(m.group(2), colors) + '"', html)
    return _offline(html, texts)


def _palette_png(data: str, colors: int) -> str:
    """One base64 PNG frame (lines joined by ``\\`` + newline, as matplotlib writes them) re-encoded with
    a ``colors``-colour palette, base64 on one line."""
    image = Image.open(io.BytesIO(base64.b64decode(data.replace("\\\n", "")))).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, format="png")
    return base64.b64encode(out.getvalue()).decode("ascii")


def _offline(player: str, texts: Sequence[str]) -> str:
    """The jshtml ``player`` without its CDN stylesheet (icons as glyphs), wrapped with a small style
    (the image shrinks to the page's width) and the list of the frames' labels (text, for search
    and screen readers)."""
    player = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", player)
    for icon, glyph in _ICON_GLYPHS.items():
        player = player.replace(f'<i class="fa {icon}"></i>', glyph)
    remote = re.findall(r"https?://[^\s\"'<>]*", player)
    if remote or 'class="fa ' in player:
        raise RuntimeError(f"matplotlib's player still loads {remote or 'Font Awesome icons'}: this matplotlib "
                           f"({mpl.__version__}) writes a template static_explorer does not know")
    items = "".join(f"<li>{_html.escape(t)}</li>" for t in texts)
    return (f'<div class="static-explorer">{_STYLE}{player}<details><summary>The {len(texts)} precomputed '
            f"selections</summary><ol>{items}</ol></details></div>")
