"""actionrec.viz.results: the bars and error bars show the numbers they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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
