"""actionrec.viz.chapters_b: each figure of the two-stream, gradient-gating, attribution and
receptive-field chapters draws what it is given (plain arrays and dicts, no torch)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from actionrec.viz import chapters_b as VB  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_flow_panels_and_error_bars():
    flow = np.zeros((3, 8, 8, 2))
    flow[1, 2, 2, 0] = 4.0
    fig = VB.plot_flow_panels([(flow, "exact"), (flow / 2, "farneback")], title="t")
    assert len(fig.axes) == 6 and fig.axes[0].get_ylabel() == "exact" and fig.axes[0].images[0].get_clim() == (-4, 4)
    bars = [dict(label="a", source="ours", mean=0.1, ci=0.02, n=3), dict(label="a", source="paper", mean=0.2, ci=np.nan, n=1),
            dict(label="b", source="ours", mean=0.3, ci=0.01, n=3)]
    fig = VB.plot_error_bars(bars, ["b", "a"], title="err")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["b", "a"] and fig.axes[0].get_xlabel() == ""


def test_learned_taps():
    taps = {"every-centre": {"appearance": (np.array([0.1, 0.8, 0.1]), 0.3), "motion": (np.array([0, 1.0, 0]), 0.0),
                             "init": np.array([0, 1.0, 0])}}
    fig = VB.plot_learned_taps(taps, {"every-centre": "† [0,1,0]"})
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and np.allclose(ax.lines[0].get_ydata(), [0.1, 0.8, 0.1])
    assert ax.get_legend().get_texts()[0].get_text() == "† [0,1,0] (off-diag. 0.30)"


def test_gating_figures():
    maps = [np.zeros((6, 6, 3)), *[np.random.rand(6, 6) for _ in range(4)]]
    fig = VB.plot_unit_maps({"residual_add": maps, "residual_mul": maps}, {"residual_add": "⊕", "residual_mul": "⊙"},
                            frame=2, title="u")
    assert len(fig.axes) == 10 + 8  # 10 maps and 8 colour bars
    row = dict(gate_mean=0.5, gate_q10=0.1, gate_q90=0.9, frac_zero=0.3, grad_scale=1.5, cross_share=0.2,
               moving_ratio=3.0)
    hist = [dict(row, epoch=e, stage=s, receiver="appearance") for e in (0, 1, 2) for s in (1, 2)]
    fig = VB.plot_gate_history(hist, {0: None, 1: 0.4, 2: 0.6}, title="h")
    assert len(fig.axes) == 6 and len(fig.axes[0].lines) == 2 and list(fig.axes[5].lines[0].get_ydata()) == [40, 60]
    fig = VB.plot_gate_maps(np.zeros((16, 8, 8, 3), np.uint8), np.random.rand(16, 8, 8),
                            {0: np.random.rand(16, 4, 4), 2: np.random.rand(16, 4, 4)}, title="g")
    assert len(fig.axes) == 4 * 8 and fig.axes[16].get_ylabel() == "gate, epoch 0"


def test_attribution_figures():
    summary = [dict(model="a", method="ig", mass=0.8, mass_ci=0.05, share=0.6),
               dict(model="b", method="gradcam", mass=0.5, mass_ci=float("nan"), share=0.6)]
    fig = VB.plot_window_mass(summary, ["a", "b"], title="w")
    assert len(fig.axes[0].patches) == 4 and fig.axes[0].patches[0].get_height() == pytest.approx(80)
    profiles = {("a", "ig"): np.ones(3), ("a", "ig (rgb)"): np.ones(3), ("b", "gradcam"): np.arange(3.0)}
    fig = VB.plot_window_profiles(profiles, [0, 1, 2, 3])
    a = fig.axes[0]
    assert a.get_title() == "a" and [ln.get_linestyle() for ln in a.lines[:2]] == ["-", "--"]
    assert np.allclose(a.lines[0].get_xdata(), [0.5, 1.5, 2.5])
    assert VB.shown(fig) is fig


def test_receptive_field_figures():
    rows = [dict(depth=d, theory=2 * d + 1, random_extent=d + 1, random_spread=0.8 * d ** 0.5) for d in (1, 2, 3)]
    fig = VB.plot_depth_extent(rows, {"depth 1": np.array([0, 1.0, 0])}, threshold_pct="50")
    assert len(fig.axes[0].lines) == 3 and list(fig.axes[0].lines[0].get_ydata()) == [3, 5, 7]
    spread = {"mtnet32": {s: {"stages": [1, 2], "before": [1.0, 2.0], "after": [1.5, 2.5]} for s in ("short", "long")},
              "r3d_18": {"-": {"stages": [1, 2], "before": [1.0, 1.0], "after": [0.5, 0.5]}}}
    fig = VB.plot_spread_by_stage(spread, title="s")
    assert [ax.get_title() for ax in fig.axes] == ["mtnet32", "r3d_18"] and len(fig.axes[0].lines) == 4
    taps = {"modules": ["layer1.0.temporal", "layer2.0.temporal"], "groups": {"k=1": [0.0, 0.0], "k=7": [0.1, 0.2]}}
    fig = VB.plot_beyond_one_frame(taps, title="t")
    assert len(fig.axes[0].patches) == 4 and fig.axes[0].get_xticklabels()[0].get_text() == "layer1.0"
    rf = np.zeros((8, 9, 9))
    rf[3:6, 4, 4] = 1.0
    fig = VB.plot_field_view(rf, label="3 fr × 1×1 px", title="x", crop=None, profile={"k=3": rf.sum(axis=(1, 2)) / 3})
    assert len(fig.axes) >= 3
