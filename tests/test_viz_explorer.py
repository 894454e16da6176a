"""actionrec.viz.explorer: the explorer draws on every change but not at creation, skips not-ready
selections, and updates linked dropdowns; ``shown`` hands back the figure it shows. The kernel-free
``static_explorer`` writes one player frame per selection, labelled, unequal frames padded with
white, nothing loaded from the network; ``sweep`` builds the selections."""

import base64
import io
import re

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from actionrec.viz import make_explorer, selection_label, shown, static_explorer, sweep  # noqa: E402


def test_draws_on_change_not_at_creation_and_respects_ready_and_links():
    calls = []
    controls = dict(what=widgets.Dropdown(options=["a", "b"], value="a"),
                    member=widgets.Dropdown(options=["a1", "a2"], value="a1"),
                    depth=widgets.IntSlider(value=1, min=1, max=3))
    box = make_explorer(lambda **v: calls.append(v), controls, rows=[["what", "member"], ["depth"]],
                        ready=lambda v: v["member"] is not None,
                        linked={"what": {"member": lambda w: [f"{w}1", f"{w}2"]}})
    assert isinstance(box, widgets.VBox) and len(box.children) == 3  # two rows of controls, then the output
    assert calls == []  # interactive_output's creation-time call draws nothing
    controls["depth"].value = 2
    assert calls == [dict(what="a", member="a1", depth=2)]
    controls["what"].value = "b"
    assert list(controls["member"].options) == ["b1", "b2"]
    assert calls[-1] == dict(what="b", member="b1", depth=2) and all(c["member"] is not None for c in calls)


def test_unknown_names_raise():
    controls = dict(x=widgets.IntSlider())
    with pytest.raises(ValueError, match="rows"):
        make_explorer(lambda **v: None, controls, rows=[["y"]])
    with pytest.raises(ValueError, match="linked"):
        make_explorer(lambda **v: None, controls, linked={"x": {"z": list}})


def test_shown_returns_the_figure():
    fig, _ = plt.subplots()
    assert shown(fig) is fig
    plt.close(fig)


# --- static_explorer: the kernel-free player of the book -------------------------------------------

FRAME = re.compile(r'frames\[(\d+)\] = "data:image/png;base64,(.*?)"', re.S)


def _frames(html):
    """The player's frames, decoded: [(index, (H, W, 3) float array)] in the order written."""
    found = FRAME.findall(html)
    return [(int(i), plt.imread(io.BytesIO(base64.b64decode(data.replace("\\\n", "")))).astype(float)[..., :3])
            for i, data in found]


def _block(width_in, height_in, color):
    """A figure filled with one colour (an axes over all of it, axis off): its pixels are that colour."""
    fig = plt.figure(figsize=(width_in, height_in), facecolor=color)
    fig.add_axes((0, 0, 1, 1), facecolor=color).set_axis_off()
    return fig


def _alone(fig, dpi):
    """``fig`` as a notebook shows it inline (tight bounding box), (H, W, 3) floats; closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return plt.imread(io.BytesIO(buf.getvalue()))[..., :3].astype(float)


def test_one_frame_per_selection_with_labels_in_the_standard_player():
    def draw(a, b):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, b * (a + 1)])
        return fig

    sels = sweep(dict(a=0, b=1.0), a=[0, 1, 2], b=[0.5, 2.0])
    html = static_explorer(draw, sels, dpi=40)
    frames = _frames(html)
    assert [i for i, _ in frames] == list(range(6))  # one frame per selection, in order
    assert len({im.tobytes() for _, im in frames}) == 6, "every selection draws a different frame"
    # the standard jshtml markup the browser test drives, playing once
    assert re.search(r'<div class="animation">\s*<img id="_anim_img\w+">', html)
    assert re.search(r'<input id="_anim_slider\w+" type="range" class="anim-slider"', html)
    assert re.search(r'value="once"[^>]*\s+checked', html)
    # labels: listed as text, and drawn in the band above each frame (which differs between frames)
    for sel in sels:
        assert f"<li>{selection_label(sel)}</li>" in html
    assert "<li>a=2, b=0.5</li>" in html
    strip = [im[:12] for _, im in frames]
    assert all((s < 0.5).any() for s in strip), "each frame carries a dark label in its top band"
    assert not np.array_equal(strip[0], strip[-1])
    assert plt.get_fignums() == [], "every drawn figure is closed"


def test_nothing_loads_from_the_network():
    html = static_explorer(lambda: _block(1, 1, "white"), [{}], dpi=20)
    assert "http://" not in html and "https://" not in html and "font-awesome" not in html
    assert 'class="fa ' not in html and 'aria-label="Play"' in html  # icons are glyphs, buttons keep their names


def test_unequal_frames_are_padded_with_white_not_scaled():
    dpi = 50
    sizes = {"small": (2, 1), "wide": (4, 1), "tall": (1.1, 2)}  # inches; the frames differ in width and height
    alone = [_alone(_block(*sizes[k], "red"), dpi) for k in sizes]  # each figure by itself
    assert len({a.shape for a in alone}) == 3
    html = static_explorer(lambda which: _block(*sizes[which], "red"), sweep(dict(which="small"), which=list(sizes)),
                           dpi=dpi, label=lambda s: s["which"])
    frames = dict(_frames(html))
    shapes = {im.shape for im in frames.values()}
    assert len(shapes) == 1, "one common frame size"
    height, width, _ = shapes.pop()
    body_h, body_w = max(a.shape[0] for a in alone), max(a.shape[1] for a in alone)
    strip = height - body_h  # the label band above the frame
    assert width == body_w and 0 < strip < 40
    for k, a in enumerate(alone):
        h, w = a.shape[:2]
        im = frames[k][strip:]
        left = (width - w) // 2  # centred horizontally, top-aligned
        assert np.allclose(im[:h, left:left + w], a, atol=0.01), f"frame {k} keeps its pixels, unscaled"
        assert np.allclose(a, [1.0, 0.0, 0.0], atol=0.01)
        pad = np.ones(im.shape[:2], bool)
        pad[:h, left:left + w] = False
        assert pad.any() or (h, w) == (body_h, body_w)
        assert np.allclose(im[pad], 1.0, atol=0.01), f"frame {k} is padded with white"
    assert "<li>wide</li>" in html


def test_sweep_is_the_product_of_the_named_controls():
    sels = sweep(dict(clip=0, method="ig", tau=1.0), method=["ig", "cam"], tau=[0.1, 10.0])
    assert sels == [dict(clip=0, method="ig", tau=0.1), dict(clip=0, method="ig", tau=10.0),
                    dict(clip=0, method="cam", tau=0.1), dict(clip=0, method="cam", tau=10.0)]
    assert sweep(dict(a=1)) == [dict(a=1)]
    with pytest.raises(ValueError, match="not in defaults"):
        sweep(dict(a=1), b=[1, 2])
    with pytest.raises(ValueError, match="non-empty list"):
        sweep(dict(a=1), a=[])
    with pytest.raises(ValueError, match="non-empty list"):
        sweep(dict(a="x"), a="xyz")


def test_static_explorer_errors_are_clear():
    with pytest.raises(ValueError, match="non-empty list"):
        static_explorer(lambda: None, [])
    with pytest.raises(ValueError, match="non-empty list"):
        static_explorer(lambda: None, dict(a=1))
    with pytest.raises(ValueError, match="dict of draw's keyword arguments"):
        static_explorer(lambda a: None, [1, 2])
    with pytest.raises(TypeError, match="returned NoneType, not a matplotlib Figure"):
        static_explorer(lambda a: None, [dict(a=1)])
    with pytest.raises(ValueError, match="dpi"):
        static_explorer(lambda: _block(1, 1, "red"), [{}], dpi=0)
    noisy = lambda seed: _block(3, 3, np.random.default_rng(seed).random(3))  # noqa: E731
    with pytest.raises(ValueError, match="max_mb"):  # matplotlib would silently drop the frames over its limit
        static_explorer(noisy, sweep(dict(seed=0), seed=list(range(4))), max_mb=0.0005)
    plt.close("all")


def test_frames_are_palette_pngs_unless_full_colour_is_asked_for():
    def draw(seed):  # a noisy image: full-colour PNG compresses badly, as the clips of the explorers do
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.imshow(np.random.default_rng(seed).random((40, 60)), cmap="viridis")
        return fig

    sels = sweep(dict(seed=0), seed=[0, 1])
    small, full = static_explorer(draw, sels, dpi=50), static_explorer(draw, sels, dpi=50, colors=None)
    modes = {k: [Image.open(io.BytesIO(base64.b64decode(d.replace("\\\n", "")))).mode for _, d in FRAME.findall(h)]
             for k, h in (("small", small), ("full", full))}
    assert modes == {"small": ["P", "P"], "full": ["RGBA", "RGBA"]}
    assert len(small) < 0.7 * len(full)
    a, b = dict(_frames(small)), dict(_frames(full))
    assert a[0].shape == b[0].shape and np.abs(a[0] - b[0]).mean() < 0.02, "the palette keeps the picture"
    with pytest.raises(ValueError, match="colors"):
        static_explorer(draw, sels, colors=1000)
