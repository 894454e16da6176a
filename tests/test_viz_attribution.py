"""actionrec.viz.attribution: the attribution chapter's window mass and window-relative profiles draw the
summaries they are given (plain dicts and arrays, no torch)."""

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


def test_window_mass_and_profiles():
    summary = [dict(model="a", method="ig", mass=0.8, mass_ci=0.05, share=0.6),
               dict(model="b", method="gradcam", mass=0.5, mass_ci=float("nan"), share=0.6)]
    fig = viz.plot_window_mass(summary, ["a", "b"], title="w")
    assert len(fig.axes[0].patches) == 4 and fig.axes[0].patches[0].get_height() == pytest.approx(80)
    profiles = {("a", "ig"): np.ones(3), ("a", "ig (rgb)"): np.ones(3), ("b", "gradcam"): np.arange(3.0)}
    fig = viz.plot_window_profiles(profiles, [0, 1, 2, 3])
    a = fig.axes[0]
    assert a.get_title() == "a" and [ln.get_linestyle() for ln in a.lines[:2]] == ["-", "--"]
    assert np.allclose(a.lines[0].get_xdata(), [0.5, 1.5, 2.5])
