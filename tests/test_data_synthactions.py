"""SynthActions (actionrec.data.synthactions) and the clip-display helpers of actionrec.viz on its clips."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import animation  # noqa: E402

from actionrec import viz  # noqa: E402
from actionrec.data import build_dataset  # noqa: E402
from actionrec.data.synthactions import (  # noqa: E402
    ACTIONS,
    CLASSES,
    DEFAULT_NUM_SAMPLES,
    MEAN,
    ONE_SHOT_SECONDS,
    ORDERLESS_CEILING,
    REVERSAL_PAIRS,
    SPEED_RANGE,
    STD,
    TIME_SYMMETRIC,
    WINDOW_RANGE,
    SynthActions,
    clip_to_frames,
    frames_to_clip,
)

C = len(CLASSES)


def _first_of_class(ds, label):
    return next(i for i in range(len(ds)) if ds.label(i) == label)


# ------------------------------------------------------------------------------------------
# Classes and the frame-order-blind ceiling
# ------------------------------------------------------------------------------------------
def test_classes_pairs_and_ceiling():
    assert C >= 10 and len(set(CLASSES)) == C
    covered = [c for pair in REVERSAL_PAIRS for c in pair] + list(TIME_SYMMETRIC)
    assert sorted(covered) == list(range(C))  # every class is in exactly one pair or single
    assert ORDERLESS_CEILING == (len(REVERSAL_PAIRS) + len(TIME_SYMMETRIC)) / C
    assert ORDERLESS_CEILING <= 0.6
    assert SynthActions.num_classes == C and SynthActions.classes == CLASSES
    assert CLASSES[:2] == ["walk_left", "walk_right"]


# ------------------------------------------------------------------------------------------
# Shapes, dtypes, normalisation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames,size,hw", [(4, 16, (16, 16)), (8, (24, 40), (24, 40)), (16, 32, (32, 32))])
def test_shapes_and_dtypes(frames, size, hw):
    ds = SynthActions("val", 20, frames=frames, size=size, difficulty="hard")
    clip, label = ds[3]
    assert clip.shape == (3, frames, *hw) and clip.dtype == torch.float32
    assert isinstance(label, int) and label == 3 % C
    raw = ds.render(3)
    assert raw.shape == (frames, *hw, 3) and raw.dtype == np.uint8
    x, y = ds.get_batch([0, 5, 7])
    assert x.shape == (3, 3, frames, *hw) and y.tolist() == [0, 5, 7]
    assert len(ds) == 20


def test_default_sizes_and_repr():
    for split, n in DEFAULT_NUM_SAMPLES.items():
        assert len(SynthActions(split)) == n
    assert "difficulty='medium'" in repr(SynthActions())


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_tensor_is_normalised_render_and_batch_equals_single(difficulty):
    ds = SynthActions("train", 64, frames=16, size=32, difficulty=difficulty)
    idx = list(range(0, 64, 7)) + [1, 2, 3]  # 12 clips = 192 frames: the batched rasteriser path
    x, y = ds.get_batch(idx)
    for k, i in enumerate(idx):
        clip, label = ds[i]
        assert torch.equal(x[k], clip) and int(y[k]) == label
        raw = ds.render(i)
        assert torch.equal(frames_to_clip(raw), clip)
        assert np.array_equal(clip_to_frames(clip), raw)
    assert np.array_equal(ds.render_batch(idx)[3], ds.render(idx[3]))
    # documented normalisation: (x / 255 - MEAN) / STD
    assert torch.allclose(x.min(), torch.tensor((0 - MEAN) / STD), atol=1.0)
    assert float(x.max()) <= (1 - MEAN) / STD + 1e-6 and float(x.min()) >= -MEAN / STD - 1e-6


# ------------------------------------------------------------------------------------------
# Determinism and balance
# ------------------------------------------------------------------------------------------
def test_determinism_and_disjoint_splits():
    a = SynthActions("train", 40, seed=3, size=24, frames=8)
    b = SynthActions("train", 40, seed=3, size=24, frames=8)
    for i in (0, 17, 39):
        assert torch.equal(a[i][0], b[i][0])
    assert torch.equal(a[-1][0], a[39][0])
    val = SynthActions("val", 40, seed=3, size=24, frames=8)
    other_seed = SynthActions("train", 40, seed=4, size=24, frames=8)
    for i in (0, 17):
        assert not torch.equal(a[i][0], val[i][0])
        assert not torch.equal(a[i][0], other_seed[i][0])
    with pytest.raises(IndexError):
        a[40]


def test_labels_balanced():
    ds = SynthActions("train", 10 * C, size=16, frames=4)
    counts = np.bincount([ds.label(i) for i in range(len(ds))], minlength=C)
    assert counts.tolist() == [10] * C
    assert [ds[i][1] for i in range(C)] == list(range(C))


def test_dataloader_uses_batches_and_workers_agree():
    ds = SynthActions("train", 24, size=16, frames=4)
    ref = torch.stack([ds[i][0] for i in range(24)])
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=False, num_workers=workers)
        xs, ys = zip(*loader)
        assert torch.equal(torch.cat(xs), ref)
        assert torch.cat(ys).tolist() == [i % C for i in range(24)]


def test_build_dataset_registry():
    ds = build_dataset("synthactions", "val", num_samples=5, size=16, frames=4)
    assert isinstance(ds, SynthActions) and ds.split == "val" and len(ds) == 5


# ------------------------------------------------------------------------------------------
# Time reversal pairs
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_reversal_pairs_are_exact_time_reversals(difficulty):
    ds = SynthActions("test", 64, frames=12, size=32, difficulty=difficulty)
    for fwd, rev in REVERSAL_PAIRS:
        for i in (fwd, fwd + C, fwd + 2 * C):  # draws of items of the forward class
            u = ds.draw(i)[None]
            a = ds.render_draws([fwd], u)[0]
            b = ds.render_draws([rev], u)[0]
            assert np.array_equal(b, a[::-1]), (CLASSES[fwd], CLASSES[rev], i)  # noise included
            assert not np.array_equal(a, a[::-1])


def test_reverse_class_metadata():
    ds = SynthActions("train", 2 * C)
    for fwd, rev in REVERSAL_PAIRS:
        assert ds.meta(rev)["reverse_of"] == CLASSES[fwd]
        assert ds.meta(fwd)["reverse_of"] is None


# ------------------------------------------------------------------------------------------
# Temporal variation metadata
# ------------------------------------------------------------------------------------------
def test_speed_and_window_metadata_ranges():
    ds = SynthActions("train", 20 * C, frames=16)
    speeds = {True: [], False: []}
    for i in range(len(ds)):
        m = ds.meta(i)
        assert m["action"] == CLASSES[m["label"]]
        assert WINDOW_RANGE[0] <= m["window_length"] <= WINDOW_RANGE[1]
        assert 0.0 <= m["window_start"] <= 1.0 - m["window_length"] + 1e-12
        assert SPEED_RANGE[0] <= m["speed"] <= SPEED_RANGE[1]
        speeds[m["periodic"]].append(m["speed"])
        if m["periodic"]:
            rate = next(a.rate for a in ACTIONS if m["action"] in (a.name, a.reverse_name))
            assert m["cycles_per_second"] == pytest.approx(rate * m["speed"])
        else:
            assert m["speed"] == pytest.approx(ONE_SHOT_SECONDS / m["duration_s"])
    # the draw really spreads speed over the range (x0.5-x2 periodic, x0.6-x2 one-shot)
    assert min(speeds[True]) < 0.6 and max(speeds[True]) > 1.7
    assert min(speeds[False]) < 0.7 and max(speeds[False]) > 1.5


# ------------------------------------------------------------------------------------------
# The figure renders and moves
# ------------------------------------------------------------------------------------------
def _figure_mask(raw):
    """Figure pixels of an easy clip: far from the (plain) background colour."""
    frames = raw.astype(np.float32)
    bg = np.median(frames.reshape(-1, 3), axis=0)
    return np.abs(frames - bg).sum(axis=-1) > 60  # (T, H, W)


def test_every_class_renders_a_moving_figure():
    ds = SynthActions("train", 2 * C, frames=16, size=48, difficulty="easy")
    for c in range(C):
        raw = ds.render(c)
        mask = _figure_mask(raw)
        area = mask.sum(axis=(1, 2))
        assert (area > 20).all() and (area < 0.5 * 48 * 48).all(), CLASSES[c]
        assert np.abs(np.diff(mask.astype(np.int8), axis=0)).sum() > 20, CLASSES[c]  # it moves


@pytest.mark.parametrize("name,sign", [("walk_left", -1), ("walk_right", 1), ("run_left", -1), ("run_right", 1)])
def test_walkers_move_in_their_direction(name, sign):
    ds = SynthActions("train", 4 * C, frames=16, size=64, difficulty="easy")
    label = CLASSES.index(name)
    xs = np.arange(64)
    for i in (label, label + C, label + 2 * C):
        mask = _figure_mask(ds.render(i))
        cx = (mask * xs).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))
        assert sign * (cx[-1] - cx[0]) > 2.0, (name, i, cx)


# ------------------------------------------------------------------------------------------
# Bad arguments
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,word",
    [
        (dict(difficulty="extreme"), "difficulty"),
        (dict(frames=3), "frames"),
        (dict(frames=8.0), "frames"),
        (dict(size=8), "size"),
        (dict(size=(32,)), "size"),
        (dict(size="64"), "size"),
        (dict(size=(32, 10)), "size"),
        (dict(split="training"), "split"),
        (dict(seed=-1), "seed"),
        (dict(num_samples=0), "num_samples"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, word):
    kw = dict(kwargs)
    split = kw.pop("split", "train")
    with pytest.raises(ValueError, match=word):
        SynthActions(split, **kw)


def test_invalid_difficulty_lists_valid_values():
    with pytest.raises(ValueError, match="easy.*medium.*hard"):
        SynthActions(difficulty="Hard")


# ------------------------------------------------------------------------------------------
# viz
# ------------------------------------------------------------------------------------------
def test_viz_functions_on_agg(tmp_path):
    ds = SynthActions("val", C, frames=6, size=24)
    clip, _ = ds[2]
    fig = viz.show_clip(clip, title="tensor")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert np.array_equal(viz.to_frames(clip), ds.render(2))
    fig2, ax = plt.subplots()
    assert viz.show_clip(ds.render(2), ax=ax, every=2) is fig2
    grid = viz.clip_grid(ds)  # one row per class
    assert len(grid.axes) == C and grid.axes[0].get_title(loc="left").startswith("0: walk_left")
    grid2 = viz.clip_grid([ds[i][0] for i in range(3)], labels=[0, 1, 2], classes=CLASSES)
    assert len(grid2.axes) == 3
    anim = viz.animate_clip(clip, path=str(tmp_path / "clip.gif"))
    assert isinstance(anim, animation.Animation)
    assert (tmp_path / "clip.gif").stat().st_size > 0
    assert "<script" in anim.to_jshtml()
    assert "<script" in viz.animate_clip(ds.render(3), as_html=True, title="t").data
    with pytest.raises(ValueError, match="clip"):
        viz.show_clip(np.zeros((4, 4), dtype=np.float32))
    plt.close("all")


def test_clip_grid_accepts_cached_tensordataset_and_pairs():
    ds = SynthActions("val", C, frames=4, size=16)
    x, y = ds.get_batch(range(C))
    cached = torch.utils.data.TensorDataset(x, y)
    cached.classes = CLASSES
    fig = viz.clip_grid(cached)  # no render(): frames from the normalised tensors
    assert len(fig.axes) == C and fig.axes[5].get_title(loc="left").startswith(f"5: {CLASSES[5]}")
    fig2 = viz.clip_grid([cached[0], cached[1]], classes=CLASSES)  # (clip, label) pairs
    assert fig2.axes[1].get_title(loc="left") == f"1: {CLASSES[1]}"
    plt.close("all")


def test_temporal_preset_draws_its_own_durations_and_speeds():
    # "temporal" keeps medium's pixels and widens the duration and speed ranges; the other presets keep
    # WINDOW_RANGE / SPEED_RANGE, so their clips do not change.
    from actionrec.data.synthactions import DIFFICULTIES
    cfg = DIFFICULTIES["temporal"]
    assert {k: v for k, v in cfg.items() if k not in ("window", "speed")} == \
        {k: v for k, v in DIFFICULTIES["medium"].items() if k not in ("window", "speed")}
    assert all(DIFFICULTIES[d]["window"] == WINDOW_RANGE and DIFFICULTIES[d]["speed"] == SPEED_RANGE
               for d in ("easy", "medium", "hard"))
    ds = SynthActions("train", 400, seed=1, frames=16, size=32, difficulty="temporal")
    metas = [ds.meta(i) for i in range(400)]
    wl = np.array([m["window_length"] for m in metas])
    assert cfg["window"][0] <= wl.min() < WINDOW_RANGE[0] and wl.max() <= cfg["window"][1] < WINDOW_RANGE[1]
    sp = np.array([m["speed"] for m in metas if m["periodic"]])
    assert cfg["speed"][0] <= sp.min() < SPEED_RANGE[0] and sp.max() <= cfg["speed"][1]
    assert "difficulty='temporal'" in repr(ds)
