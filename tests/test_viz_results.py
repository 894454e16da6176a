"""actionrec.viz.results: the bars, error bars, cost points and paper bars show the numbers they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from actionrec import viz  # noqa: E402


def _e(backbone, placement, mean, ci, n=3):
    return {"backbone": backbone, "placement": placement, "mean": mean, "ci": ci, "n": n, "metric": "top1"}


def test_grouped_bars_heights_order_and_errors():
    summary = [_e("r3d", "none", 0.5, 0.1), _e("r3d", "final", 0.7, 0.05),
               _e("r2plus1d", "final", 0.6, float("nan"), n=1), _e("r2plus1d", "none", 0.4, 0.02)]
    fig = viz.plot_grouped_bars(summary, label_key="placement", group_key="backbone", labels=["none", "final"])
    ax = fig.axes[0]
    bars = [p for p in ax.patches]
    assert [round(b.get_height(), 6) for b in bars] == [50.0, 70.0, 40.0, 60.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "final"]
    # r2plus1d bars sit to the right of r3d's at the same placement
    assert bars[2].get_x() > bars[0].get_x() and bars[3].get_x() > bars[1].get_x()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["r3d", "r2plus1d"]
    plt.close(fig)


@pytest.mark.parametrize("group_key", [None, "backbone"])
def test_grouped_bars_single_group(group_key):
    fig = viz.plot_grouped_bars([_e("r3d", "none", 0.5, 0.1), _e("r3d", "mid", 0.55, 0.1)],
                                label_key="placement", group_key=group_key)
    assert len(fig.axes[0].patches) == 2
    plt.close(fig)


def test_time_vs_macs_points_and_labels():
    rows = [{"r": 0.5, "mac_ratio": 0.6, "time_ratio": 1.2}, {"r": 1.0, "mac_ratio": 1.0, "time_ratio": 1.0}]
    fig = viz.plot_time_vs_macs(rows, title="g = 1: measured cost")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0.6, 1.2], [1.0, 1.0]])
    assert [t.get_text() for t in ax.texts] == ["r = 0.5", "r = 1"]
    assert ax.get_title() == "g = 1: measured cost" and ax.get_xlabel() == "MACs / MACs at r = 1"
    plt.close("all")


def test_paper_bars_one_and_two_series():
    fig = viz.plot_paper_bars(["a", "b", "c"], {"top-1": [19.7, 45.6, 46.7]}, rotation=45, title="paper")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [19.7, 45.6, 46.7] and ax.get_legend() is None
    assert [t.get_text() for t in ax.texts] == ["19.7", "45.6", "46.7"]
    fig, ax = plt.subplots()
    viz.plot_paper_bars(["x", "y"], {"UCF-101": [86.9, 92.8], "HMDB-51": [60.8, 70.4]}, ax=ax, ylim=(50, 100))
    xs = sorted(p.get_x() + p.get_width() / 2 for p in ax.patches)
    np.testing.assert_allclose(xs, [-0.2, 0.2, 0.8, 1.2])
    assert ax.get_ylim() == (50, 100) and [t.get_text() for t in ax.get_legend().get_texts()] == ["UCF-101", "HMDB-51"]
    plt.close("all")
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        viz.plot_paper_bars(["a", "b", "c"], {"s": [1, 2]})
    plt.close("all")


def test_error_bars_in_the_order_of_labels():
    bars = [dict(label="a", source="ours", mean=0.1, ci=0.02, n=3), dict(label="a", source="paper", mean=0.2, ci=np.nan, n=1),
            dict(label="b", source="ours", mean=0.3, ci=0.01, n=3)]
    fig = viz.plot_error_bars(bars, ["b", "a"], title="err")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["b", "a"] and fig.axes[0].get_xlabel() == ""
    plt.close("all")
