"""actionrec.viz.receptive: heatmaps and profiles of receptive-field maps show the maps and labels given; the
receptive-field chapter's depth, stage and explorer figures draw the rows they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from actionrec import viz  # noqa: E402
from actionrec.analysis.probes import mechanism_probes, stream_receptive_fields  # noqa: E402
from actionrec.analysis.receptive import rf_label, rf_labels, temporal_profile  # noqa: E402


@pytest.fixture(scope="module")
def maps():
    return {k: p.measure() for k, p in mechanism_probes("MSTI temporal", frames=16, size=16).items()}


def test_rf_grid_rf_and_profiles(maps):
    fig = viz.plot_rf_grid(maps, labels=rf_labels(maps), view="both", ncols=4, crop=9)
    assert sum(ax.get_visible() for ax in fig.axes) == 8
    assert fig.axes[0].get_title() == f"group 1\n{rf_label(maps['group 1'])}"
    fig2 = viz.plot_rf(maps["group 4"], label=rf_label(maps["group 4"], (7, 1, 1)), title="g4", crop=9)
    assert fig2.axes[0].get_title() == "g4\n7 fr × 1×1 px (theory 7 × 1×1)"
    fig3 = viz.plot_temporal_profiles({k: temporal_profile(m) for k, m in maps.items()})
    lines = fig3.axes[0].lines
    assert len(lines) == 4 and max(lines[3].get_ydata()) == pytest.approx(1.0)  # peak-normalised
    fig4 = viz.plot_temporal_profiles({"g4": temporal_profile(maps["group 4"])}, normalize="sum")
    np.testing.assert_allclose(fig4.axes[0].lines[0].get_ydata(), temporal_profile(maps["group 4"]))
    plt.close("all")
    with pytest.raises(ValueError, match="view"):
        viz.plot_rf_grid(maps, view="nope")
    with pytest.raises(ValueError, match="rf must be"):
        viz.plot_rf(np.ones((3, 3)))


def test_stream_receptive_fields_plot_counts_the_support():
    fig = viz.plot_stream_receptive_fields(stream_receptive_fields(num_layers=2, frames=16, size=16), num_layers=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["short stream: 5 frames × 5 px", "long stream: 10 frames × 10 px"]
    plt.close(fig)


def test_depth_extent_spread_by_stage_and_field_view():
    rows = [dict(depth=d, theory=2 * d + 1, random_extent=d + 1, random_spread=0.8 * d ** 0.5) for d in (1, 2, 3)]
    fig = viz.plot_depth_extent(rows, {"depth 1": np.array([0, 1.0, 0])}, threshold_pct="50")
    assert len(fig.axes[0].lines) == 3 and list(fig.axes[0].lines[0].get_ydata()) == [3, 5, 7]
    spread = {"mtnet32": {s: {"stages": [1, 2], "before": [1.0, 2.0], "after": [1.5, 2.5]} for s in ("short", "long")},
              "r3d_18": {"-": {"stages": [1, 2], "before": [1.0, 1.0], "after": [0.5, 0.5]}}}
    fig = viz.plot_spread_by_stage(spread, title="s")
    assert [ax.get_title() for ax in fig.axes] == ["mtnet32", "r3d_18"] and len(fig.axes[0].lines) == 4
    rf = np.zeros((8, 9, 9))
    rf[3:6, 4, 4] = 1.0
    fig = viz.plot_field_view(rf, label="3 fr × 1×1 px", title="x", crop=None, profile={"k=3": rf.sum(axis=(1, 2)) / 3})
    assert len(fig.axes) >= 3
    plt.close("all")
