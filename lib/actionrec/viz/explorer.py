"""The notebooks' interactive explorer: ipywidgets controls that redraw a figure.

::

    controls {name: widget} ─→ rows of HBoxes ┐
                                              ├─→ VBox (display it) ; a change of any control
    draw(**{name: value}) ─→ Output widget ───┘      → draw(**values) inside the Output

``make_explorer`` wires ``ipywidgets.interactive_output`` with one guard: the call it makes at
creation, inside its Output widget, draws nothing. Executed headless (papermill / nbclient), output
written into an Output widget makes the client send widget-state messages back to the kernel
mid-cell, which intermittently deadlocks (jupyter/nbclient#312); so a notebook draws its default
selection statically, outside the widget (``draw(**defaults)``), which is also what a static
rendering such as the book shows. ``linked`` updates the options of dependent dropdowns, and
``ready`` skips a redraw while they are being updated (their value is None in between).

``shown(fig)`` shows a figure and returns it, so a ``draw`` written as a lambda can both display
its figure and hand it back (``draw = lambda **sel: shown(plot_field_view(**view(**sel)))``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import matplotlib.pyplot as plt

__all__ = ["make_explorer", "shown"]


def shown(fig):
    """``plt.show()``, then ``fig`` (so an explorer's ``draw`` can show and return its figure in one call)."""
    plt.show()
    return fig


def make_explorer(draw: Callable[..., Any], controls: Mapping[str, Any], *,
                  rows: Optional[Sequence[Sequence[str]]] = None,
                  ready: Optional[Callable[[Mapping[str, Any]], bool]] = None,
                  linked: Optional[Mapping[str, Mapping[str, Callable[[Any], Sequence[Any]]]]] = None):
    """An explorer widget: the ``controls`` laid out in ``rows``, and the output of ``draw``.

    Args:
        draw: called as ``draw(**{name: control.value})`` whenever a control changes (not at
            creation, see the module doc); it draws a figure (and may return it).
        controls: ``{name: ipywidgets control}``; the names are ``draw``'s keyword arguments.
        rows: control names per row (one ``HBox`` each); default: all controls in one row.
        ready: ``ready(values) -> bool``; when False the change draws nothing (e.g. a dependent
            dropdown whose value is None while its options are replaced).
        linked: ``{source: {target: options_of}}``: when ``source`` changes to ``v``,
            ``controls[target].options = options_of(v)``.

    Returns an ``ipywidgets.VBox`` (control rows, then the output area) to ``display``.
    """
    import ipywidgets as widgets

    names = list(controls)
    for row in rows or [names]:
        unknown = [n for n in row if n not in controls]
        if unknown:
            raise ValueError(f"rows name controls {unknown} that are not in controls {names}")
    for source, targets in (linked or {}).items():
        unknown = [n for n in (source, *targets) if n not in controls]
        if unknown:
            raise ValueError(f"linked names controls {unknown} that are not in controls {names}")

        def relink(change, targets=targets):
            for target, options_of in targets.items():
                controls[target].options = options_of(change["new"])

        controls[source].observe(relink, names="value")

    drawing = {"live": False}  # the creation-time call draws nothing (nbclient#312)

    def on_change(**values):
        if drawing["live"] and (ready is None or ready(values)):
            draw(**values)

    output = widgets.interactive_output(on_change, dict(controls))
    drawing["live"] = True
    ui = [widgets.HBox([controls[n] for n in row]) for row in (rows or [names])]
    return widgets.VBox([*ui, output])
