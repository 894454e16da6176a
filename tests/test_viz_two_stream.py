"""actionrec.viz.two_stream: the flow panels and the gradient-gating figures (one unit, the gate history,
the gate maps) draw what they are given (plain arrays and dicts, no torch)."""

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


def test_flow_panels():
    flow = np.zeros((3, 8, 8, 2))
    flow[1, 2, 2, 0] = 4.0
    fig = viz.plot_flow_panels([(flow, "exact"), (flow / 2, "farneback")], title="t")
    assert len(fig.axes) == 6 and fig.axes[0].get_ylabel() == "exact" and fig.axes[0].images[0].get_clim() == (-4, 4)


def test_gating_figures():
    maps = [np.zeros((6, 6, 3)), *[np.random.rand(6, 6) for _ in range(4)]]
    fig = viz.plot_unit_maps({"residual_add": maps, "residual_mul": maps}, {"residual_add": "⊕", "residual_mul": "⊙"},
                             frame=2, title="u")
    assert len(fig.axes) == 10 + 8  # 10 maps and 8 colour bars
    row = dict(gate_mean=0.5, gate_q10=0.1, gate_q90=0.9, frac_zero=0.3, grad_scale=1.5, cross_share=0.2,
               moving_ratio=3.0)
    hist = [dict(row, epoch=e, stage=s, receiver="appearance") for e in (0, 1, 2) for s in (1, 2)]
    fig = viz.plot_gate_history(hist, {0: None, 1: 0.4, 2: 0.6}, title="h")
    assert len(fig.axes) == 6 and len(fig.axes[0].lines) == 2 and list(fig.axes[5].lines[0].get_ydata()) == [40, 60]
    fig = viz.plot_gate_maps(np.zeros((16, 8, 8, 3), np.uint8), np.random.rand(16, 8, 8),
                             {0: np.random.rand(16, 4, 4), 2: np.random.rand(16, 4, 4)}, title="g")
    assert len(fig.axes) == 4 * 8 and fig.axes[16].get_ylabel() == "gate, epoch 0"
