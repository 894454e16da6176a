"""actionrec.viz.kernels: the learned temporal kernels (MixTConv taps, two-stream temporal filters, the
share beyond ±1 frame) draw the taps they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from actionrec import viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_mixtconv_taps_one_panel_per_module():
    taps = {f"layer{i}.0": [dict(kernel=1, offsets=[0], weight=np.array([0.5])),
                            dict(kernel=3, offsets=[-1, 0, 1], weight=np.array([0.1, 0.4, 0.2]))] for i in (1, 2)}
    fig = viz.plot_mixtconv_taps(taps)
    assert [ax.get_title() for ax in fig.axes] == ["layer1.0", "layer2.0"]
    np.testing.assert_allclose(fig.axes[1].lines[1].get_xydata(), [[-1, 0.1], [0, 0.4], [1, 0.2]])
    with pytest.raises(ValueError, match="empty"):
        viz.plot_mixtconv_taps({})


def test_filter_taps_learned_beside_init():
    taps = {"every-centre": {"appearance": (np.array([0.1, 0.8, 0.1]), 0.3), "motion": (np.array([0, 1.0, 0]), 0.0),
                             "init": np.array([0, 1.0, 0])}}
    fig = viz.plot_filter_taps(taps, {"every-centre": "† [0,1,0]"})
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and np.allclose(ax.lines[0].get_ydata(), [0.1, 0.8, 0.1])
    assert ax.get_legend().get_texts()[0].get_text() == "† [0,1,0] (off-diag. 0.30)"


def test_beyond_one_frame_bars_per_module_and_group():
    taps = {"modules": ["layer1.0.temporal", "layer2.0.temporal"], "groups": {"k=1": [0.0, 0.0], "k=7": [0.1, 0.2]}}
    fig = viz.plot_beyond_one_frame(taps, title="t")
    assert len(fig.axes[0].patches) == 4 and fig.axes[0].get_xticklabels()[0].get_text() == "layer1.0"
