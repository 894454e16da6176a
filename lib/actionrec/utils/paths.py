"""Paths that do not depend on the working directory: the source checkout's root, output folders and
dataset roots (a relative path is taken from the repository root, so JupyterLab, whose working
directory is ``notebooks/``, and papermill from the root agree)."""

from __future__ import annotations

from pathlib import Path

#: The source checkout this package lives in (``lib/actionrec`` → repo root), or None when installed elsewhere.
_PKG = Path(__file__).resolve().parent.parent
REPO_ROOT: Path | None = _PKG.parent.parent if (_PKG.parent.parent / "pyproject.toml").exists() else None


def resolve_out_dir(out_dir: str | None, default_name: str) -> Path:
    """Absolute output folder for a notebook.

    ``None``/``""`` → ``<repo>/build/<default_name>`` (or ``~/.cache/actionrec/<default_name>``
    outside a checkout). A relative path is taken relative to the repository root, never to the
    working directory.
    """
    base = REPO_ROOT if REPO_ROOT is not None else Path.home() / ".cache" / "actionrec"
    if not out_dir:
        return (base / "build" / default_name) if REPO_ROOT is not None else base / default_name
    p = Path(out_dir).expanduser()
    return p if p.is_absolute() else (base / p)


def make_out_dir(out_dir: str | None, default_name: str) -> Path:
    """:func:`resolve_out_dir`, created if missing."""
    out = resolve_out_dir(out_dir, default_name)
    out.mkdir(parents=True, exist_ok=True)
    return out


def resolve_data_root(data_root: str | None) -> Path | None:
    """Absolute folder of a real dataset, or None for ``""``/``None``.

    ``~`` is expanded; a relative path is taken relative to the repository root (as in
    :func:`resolve_out_dir`).
    """
    if not data_root:
        return None
    p = Path(data_root).expanduser()
    if p.is_absolute():
        return p
    return (REPO_ROOT if REPO_ROOT is not None else Path.cwd()) / p
