"""actionrec.viz.cycle: cycle-consistency panels, temperature sweeps, per-layer gate bars, gates under
perturbations and the gate explorer's figure draw the arrays of the views they are given."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from actionrec import viz  # noqa: E402
from actionrec.analysis.cycle import cycle_sample, cycle_sweep, cycle_view  # noqa: E402
from actionrec.layers.cycle_consistency import cycle_consistency  # noqa: E402

T = 10


def path(C=2):
    """A well-separated open curve (T, C); consecutive frames ~1 apart."""
    s = torch.linspace(0, 1, T)
    xy = torch.stack([(2 + 2 * s) * torch.cos(1.5 * math.pi * s), (2 + 2 * s) * torch.sin(1.5 * math.pi * s)], -1)
    return torch.cat([xy, torch.zeros(T, C - 2)], -1) if C > 2 else xy


def images(ax):
    return ax.get_images()


def test_matrices_show_both_directions_and_mark_errors():
    a = path()
    cc = cycle_consistency(torch.stack([a, a]), torch.stack([a + 0.01, a.flip(0)]))
    fig = viz.plot_cycle_matrices(cycle_sample(cc, 1))
    axes = [ax for ax in fig.axes if images(ax)]
    assert len(axes) == 2 and len(fig.axes) == 3  # two heatmaps and a shared colorbar
    np.testing.assert_allclose(images(axes[0])[0].get_array(), cc.weights_ab[1].numpy(), rtol=1e-6)
    np.testing.assert_allclose(images(axes[1])[0].get_array(), cc.weights_ba[1].numpy(), rtol=1e-6)
    # reversed pair: every row's landing frame is an error cross (no white dot on the diagonal)
    dots, crosses = axes[0].collections
    assert len(dots.get_offsets()) == 0 and len(crosses.get_offsets()) == T
    plt.close(fig)
    fig = viz.plot_cycle_matrices(cycle_sample(cc, 0), colorbar=False)
    assert len(fig.axes) == 2
    dots, crosses = fig.axes[0].collections
    assert len(dots.get_offsets()) == T and len(crosses.get_offsets()) == 0
    plt.close(fig)


def test_error_strip_shows_the_checks_and_the_sentence():
    a = path()
    b = a.clone()
    b[6] = a[2] + 0.2  # one glitch: frame 6 of B sits next to frame 2 of A
    cc = cycle_consistency(a[None], b[None])
    view = cycle_sample(cc)
    fig = viz.plot_cycle_errors(view)
    (ax,) = fig.axes
    strip = images(ax)[0].get_array()
    assert strip.shape == (3, T)
    assert strip[2].tolist() == (~cc.errors[0]).float().tolist()
    assert ax.get_title() == view["sentence"]
    plt.close(fig)


@pytest.mark.parametrize("C", [2, 5])
def test_panel_and_trajectories(C):
    a = path(C)
    fig = viz.plot_cycle_panel(cycle_view(a, a.flip(0)), title="reversed")
    assert len(fig.axes) == 4
    assert [len(images(ax)) for ax in fig.axes] == [0, 1, 1, 1]
    assert fig.axes[0].get_title() == "reversed"
    plt.close(fig)
    fig = viz.plot_cycle_trajectories(cycle_view(a, a + 0.01))
    (ax,) = fig.axes
    # soft matches, A, B, and no error ring for a consistent pair
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [T, T, T, 0]
    plt.close(fig)
    with pytest.raises(ValueError, match="trajectory"):
        viz.cycle.plot_cycle_trajectories(cycle_view(cc=cycle_consistency(a[None], a[None])))


def test_temperature_sweep_draws_the_stats():
    a = path()
    temps = [0.1, 1.0, 100.0]
    st = cycle_sweep({"same": (a, a + 0.01), "reversed": (a, a.flip(0))}, temps)
    fig = viz.plot_temperature_sweep(st, temps)
    assert len(fig.axes) == 3 and all(len(ax.get_lines()) == 2 for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), st["same"]["score"])
    plt.close(fig)
    with pytest.raises(ValueError, match="temperatures"):
        viz.plot_temperature_sweep(st, [0.0, 1.0])


def test_gate_stats_bars():
    stats = {"layer1.0.srtg": {"open": 0.0, "score": 0.06, "consistent_frames": 0.01},
             "layer4.1.srtg": {"open": 0.25, "score": 0.75, "consistent_frames": float("nan")}}
    fig = viz.plot_gate_stats(stats)
    (ax,) = fig.axes
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [0.0, 25.0, 6.0, 75.0, 1.0, 0.0]  # grouped by key, NaN drawn as 0 and labelled n/a
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer1.0", "layer4.1"]
    assert "n/a" in [t.get_text() for t in ax.texts]
    plt.close(fig)
    with pytest.raises(ValueError, match="stats"):
        viz.plot_gate_stats({})


def test_perturbation_gates_bars_per_gate_and_perturbation():
    stats = lambda o: {"l1.srtg": {"open": o, "consistent_frames": 0.5},  # noqa: E731
                       "l2.srtg": {"open": 0.0, "consistent_frames": 1.0}}
    fig = viz.plot_perturbation_gates({"none": {"top1": 0.8, "stats": stats(0.25)},
                                       "reverse": {"top1": 0.4, "stats": stats(1.0)}})
    a0, a1 = fig.axes
    assert sorted(p.get_height() for p in a0.patches) == [0.0, 0.0, 25.0, 100.0]
    assert [t.get_text() for t in a0.get_xticklabels()] == ["l1", "l2"]
    assert [t.get_text() for t in a1.get_legend().get_texts()] == ["none (top-1 80%)", "reverse (top-1 40%)"]
    plt.close(fig)


def test_gate_explorer_clip_and_panel():
    t = torch.linspace(0, 1, 6)
    a = torch.stack([t, t ** 2], -1)  # (T, 2)
    sel = dict(clip=torch.zeros(3, 6, 8, 8), view=cycle_view(a, a + 0.01), clip_title="clip 0: predicted x",
               panel_title="layer1 at τ = 1")
    fig = viz.plot_gate_explorer(sel)
    assert len(fig.axes) == 5 and fig.axes[0].get_title(loc="left") == "clip 0: predicted x"
    assert fig.axes[1].get_title() == "layer1 at τ = 1"
    plt.close(fig)
