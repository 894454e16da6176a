"""Sphinx extension of the offline book: the site loads nothing it cannot serve itself.

Jupyter Book 1.x always loads ``sphinx_thebe``, whose page script declares ``const THEBE_JS_URL``
(unpkg.com) twice, a console error on every page, and would fetch thebe from unpkg.com and a kernel
from Binder when activated. The book has neither (``launch_buttons.thebe: false``, no network), so
its page scripts are not added. The kernel-free explorers (matplotlib's inline JavaScript player)
need no kernel.
"""

from __future__ import annotations


def _drop_thebe_scripts(app) -> None:
    for listener in list(app.events.listeners.get("env-before-read-docs", [])):
        if getattr(listener.handler, "__name__", "") == "init_thebe_core":
            app.disconnect(listener.id)


def setup(app):
    app.connect("builder-inited", _drop_thebe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
