"""actionrec.viz.protocol: the strip, claims and run-curve plots draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from actionrec import viz  # noqa: E402


def test_strip_draws_every_seed_and_the_interval():
    fig = viz.plot_strip({"a": [50.0, 52.0, 51.0], "b": [60.0]}, {"a": (51.0, 48.5, 53.5), "b": (60.0, np.nan, np.nan)},
                         seeds=[0, 1, 2], title="t")
    ax = fig.axes[0]
    dots = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if c.get_offsets().size and
                           type(c).__name__ == "PathCollection"])
    assert sorted(dots.tolist()) == [50.0, 51.0, 52.0, 60.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"] and "seeds 0, 1, 2" in ax.get_title()


def test_claims_plot_one_row_per_claim_coloured_by_verdict():
    claims = [dict(claim="x", diff=2.0, ci_low=1.0, ci_high=3.0, delta=1.0, verdict="holds"),
              dict(claim="y", diff=0.1, ci_low=float("nan"), ci_high=float("nan"), delta=1.0, verdict="inconclusive")]
    fig = viz.plot_claims(claims, {"x": [1.5, 2.5]})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "x"]
    assert {t.get_text() for t in ax.texts} == {"holds", "inconclusive"}


def test_run_curves_one_panel_per_variant_one_line_per_seed():
    fig = viz.plot_run_curves({"a": {0: ([1, 2], [10, 20]), 1: ([1, 2], [12, 22])}, "b": {0: ([1, 2], [5, 6])}})
    assert [len(ax.lines) for ax in fig.axes] == [2, 1] and fig.axes[0].get_title() == "a (n=2)"


def test_protocol_figures_by_name_and_saved(tmp_path):
    args = dict(values={"a": [50.0, 52.0]}, intervals={"a": (51.0, 40.0, 62.0)})
    assert list(viz.plot_protocol(**args, claims=[], curves={})) == ["strip"]
    claims = [dict(claim="x", diff=2.0, ci_low=1.0, ci_high=3.0, delta=1.0, verdict="holds")]
    figs = viz.plot_protocol(**args, claims=claims, differences={"x": [1.0, 3.0]}, curves={"a": {0: ([1, 2], [1, 2])}},
                             seeds=[0, 1], title="Mine")
    assert list(figs) == ["strip", "claims", "run_curves"] and figs["strip"].axes[0].get_title().startswith("Mine: ")
    paths = viz.save_figures(figs, tmp_path)
    assert [p.name for p in paths] == ["strip.png", "claims.png", "run_curves.png"] and all(p.stat().st_size for p in paths)


def test_doubling_plot_colours_seeds_and_styles_schedule_lengths_across_panels():
    curves = {"a": {(0, 2): ([1, 2], [50, 60]), (0, 4): ([1, 2, 3, 4], [40, 55, 62, 64]), (1, 4): ([1, 2, 3, 4], [30, 50, 61, 63])},
              "b": {(0, 4): ([1, 2, 3, 4], [45, 58, 66, 67])}}
    fig = viz.plot_doubling(curves, title="t")
    a, b = fig.axes
    style = {ln.get_label(): (ln.get_color(), ln.get_linestyle()) for ln in a.lines}
    assert style["seed 0, 2 ep"][1] == "-" and style["seed 0, 4 ep"][1] == "--" and style["seed 1, 4 ep"][1] == "--"
    assert style["seed 0, 2 ep"][0] == style["seed 0, 4 ep"][0] != style["seed 1, 4 ep"][0]
    assert b.lines[0].get_linestyle() == "--"  # 4 epochs is the longer schedule in every panel
    assert a.get_ylim() == (59.0, 67.5)  # the second halves of the curves: 60 ... 67, less 1 and plus 0.5
