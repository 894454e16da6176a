"""actionrec.viz.explorer: the explorer draws on every change but not at creation, skips not-ready
selections, and updates linked dropdowns; ``shown`` hands back the figure it shows."""

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from actionrec.viz import make_explorer, shown  # noqa: E402


def test_draws_on_change_not_at_creation_and_respects_ready_and_links():
    calls = []
    controls = dict(what=widgets.Dropdown(options=["a", "b"], value="a"),
                    member=widgets.Dropdown(options=["a1", "a2"], value="a1"),
                    depth=widgets.IntSlider(value=1, min=1, max=3))
    box = make_explorer(lambda **v: calls.append(v), controls, rows=[["what", "member"], ["depth"]],
                        ready=lambda v: v["member"] is not None,
                        linked={"what": {"member": lambda w: [f"{w}1", f"{w}2"]}})
    assert isinstance(box, widgets.VBox) and len(box.children) == 3  # two rows of controls, then the output
    assert calls == []  # interactive_output's creation-time call draws nothing
    controls["depth"].value = 2
    assert calls == [dict(what="a", member="a1", depth=2)]
    controls["what"].value = "b"
    assert list(controls["member"].options) == ["b1", "b2"]
    assert calls[-1] == dict(what="b", member="b1", depth=2) and all(c["member"] is not None for c in calls)


def test_unknown_names_raise():
    controls = dict(x=widgets.IntSlider())
    with pytest.raises(ValueError, match="rows"):
        make_explorer(lambda **v: None, controls, rows=[["y"]])
    with pytest.raises(ValueError, match="linked"):
        make_explorer(lambda **v: None, controls, linked={"x": {"z": list}})


def test_shown_returns_the_figure():
    fig, _ = plt.subplots()
    assert shown(fig) is fig
    plt.close(fig)
