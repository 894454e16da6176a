"""actionrec.viz.chapters_a: the MTNet, SRTG, MixTConv and MSTI chapters' own plots draw the numbers
they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from actionrec.analysis.cycle import cycle_view  # noqa: E402
from actionrec.viz.chapters_a import (plot_gate_explorer, plot_learned_taps, plot_paper_bars,  # noqa: E402
                                      plot_perturbation_gates, plot_time_vs_macs)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_time_vs_macs_points_and_labels():
    rows = [{"r": 0.5, "mac_ratio": 0.6, "time_ratio": 1.2}, {"r": 1.0, "mac_ratio": 1.0, "time_ratio": 1.0}]
    fig = plot_time_vs_macs(rows, title="g = 1: measured cost")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0.6, 1.2], [1.0, 1.0]])
    assert [t.get_text() for t in ax.texts] == ["r = 0.5", "r = 1"]
    assert ax.get_title() == "g = 1: measured cost" and ax.get_xlabel() == "MACs / MACs at r = 1"


def test_paper_bars_one_and_two_series():
    fig = plot_paper_bars(["a", "b", "c"], {"top-1": [19.7, 45.6, 46.7]}, rotation=45, title="paper")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [19.7, 45.6, 46.7] and ax.get_legend() is None
    assert [t.get_text() for t in ax.texts] == ["19.7", "45.6", "46.7"]
    fig, ax = plt.subplots()
    plot_paper_bars(["x", "y"], {"UCF-101": [86.9, 92.8], "HMDB-51": [60.8, 70.4]}, ax=ax, ylim=(50, 100))
    xs = sorted(p.get_x() + p.get_width() / 2 for p in ax.patches)
    np.testing.assert_allclose(xs, [-0.2, 0.2, 0.8, 1.2])
    assert ax.get_ylim() == (50, 100) and [t.get_text() for t in ax.get_legend().get_texts()] == ["UCF-101", "HMDB-51"]
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        plot_paper_bars(["a", "b", "c"], {"s": [1, 2]})


def test_learned_taps_one_panel_per_module():
    taps = {f"layer{i}.0": [dict(kernel=1, offsets=[0], weight=np.array([0.5])),
                            dict(kernel=3, offsets=[-1, 0, 1], weight=np.array([0.1, 0.4, 0.2]))] for i in (1, 2)}
    fig = plot_learned_taps(taps)
    assert [ax.get_title() for ax in fig.axes] == ["layer1.0", "layer2.0"]
    np.testing.assert_allclose(fig.axes[1].lines[1].get_xydata(), [[-1, 0.1], [0, 0.4], [1, 0.2]])
    with pytest.raises(ValueError, match="empty"):
        plot_learned_taps({})


def test_perturbation_gates_bars_per_gate_and_perturbation():
    stats = lambda o: {"l1.srtg": {"open": o, "consistent_frames": 0.5},  # noqa: E731
                       "l2.srtg": {"open": 0.0, "consistent_frames": 1.0}}
    fig = plot_perturbation_gates({"none": {"top1": 0.8, "stats": stats(0.25)},
                                   "reverse": {"top1": 0.4, "stats": stats(1.0)}})
    a0, a1 = fig.axes
    assert sorted(p.get_height() for p in a0.patches) == [0.0, 0.0, 25.0, 100.0]
    assert [t.get_text() for t in a0.get_xticklabels()] == ["l1", "l2"]
    assert [t.get_text() for t in a1.get_legend().get_texts()] == ["none (top-1 80%)", "reverse (top-1 40%)"]


def test_gate_explorer_clip_and_panel():
    t = torch.linspace(0, 1, 6)
    a = torch.stack([t, t ** 2], -1)  # (T, 2)
    sel = dict(clip=torch.zeros(3, 6, 8, 8), view=cycle_view(a, a + 0.01), clip_title="clip 0: predicted x",
               panel_title="layer1 at τ = 1")
    fig = plot_gate_explorer(sel)
    assert len(fig.axes) == 5 and fig.axes[0].get_title(loc="left") == "clip 0: predicted x"
    assert fig.axes[1].get_title() == "layer1 at τ = 1"
