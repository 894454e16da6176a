"""Validation of notebook parameters (papermill ``parameters`` cells hold plain
values; these turn a bad value into an error that names the parameter at once)
and path resolution that does not depend on the working directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import actionrec

#: The source checkout this package lives in (``lib/actionrec`` → repo root), or None when installed elsewhere.
_PKG = Path(actionrec.__file__).resolve().parent
REPO_ROOT: Path | None = _PKG.parent.parent if (_PKG.parent.parent / "pyproject.toml").exists() else None


def resolve_out_dir(out_dir: str | None, default_name: str) -> Path:
    """Absolute output folder for a notebook.

    ``None``/``""`` → ``<repo>/build/<default_name>`` (or ``~/.cache/actionrec/<default_name>``
    outside a checkout). A relative path is taken relative to the repository root, never to the
    working directory, so JupyterLab (cwd ``notebooks/``) and papermill from the root agree.
    """
    base = REPO_ROOT if REPO_ROOT is not None else Path.home() / ".cache" / "actionrec"
    if not out_dir:
        return (base / "build" / default_name) if REPO_ROOT is not None else base / default_name
    p = Path(out_dir).expanduser()
    return p if p.is_absolute() else (base / p)


def _fail(name: str, value: Any, expected: str) -> None:
    raise ValueError(f"parameter {name}={value!r} is invalid: expected {expected}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = list(choices)
    if value not in choices:
        _fail(name, value, f"one of {choices}")
    return value


def check_int(name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(name, value, "an integer")
    if min_value is not None and value < min_value:
        _fail(name, value, f"an integer >= {min_value}")
    if max_value is not None and value > max_value:
        _fail(name, value, f"an integer <= {max_value}")
    return value


def check_float(name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(name, value, "a number")
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        _fail(name, value, f"a number in [{min_value}, {max_value}]")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        _fail(name, value, "True or False")
    return value


def check_list(name: str, value: Any, *, item: str = "float", min_value: float | None = None,
               max_value: float | None = None, choices: Sequence[Any] | None = None, length: int | None = None,
               non_empty: bool = True, unique: bool = True) -> list:
    """A list of numbers (``item`` = "float" | "int") within bounds or among ``choices``, or of
    strings (``item="str"``, usually with ``choices``)."""
    if item not in ("float", "int", "str"):
        raise ValueError(f"check_list: item={item!r} must be 'float', 'int' or 'str'")
    if not isinstance(value, (list, tuple)):
        _fail(name, value, f"a list of {item}s, e.g. [1, 2]")
    if non_empty and len(value) == 0:
        _fail(name, value, "a non-empty list")
    if length is not None and len(value) != length:
        _fail(name, value, f"a list of exactly {length} {item}s")
    out = []
    for v in value:
        if item == "str":
            if not isinstance(v, str):
                _fail(name, value, "a list of strings" + (f" among {list(choices)}" if choices is not None else ""))
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or (item == "int" and not isinstance(v, int)):
            _fail(name, value, f"a list of {item}s")
        if choices is not None and v not in choices:
            _fail(name, value, f"values among {list(choices)}")
        if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
            _fail(name, value, f"values in [{min_value}, {max_value}]")
        out.append(v)
    if unique and len(set(out)) != len(out):
        _fail(name, value, "a list without duplicates")
    return out


#: The rules for parameters that several notebooks share (one place to change them, e.g. when a
#: real dataset becomes a valid ``dataset``).
COMMON_RULES = {
    "seeds": lambda v: check_int("seeds", v, min_value=1),
    "seed": lambda v: check_int("seed", v, min_value=0),
    "epochs": lambda v: check_int("epochs", v, min_value=1),
    "width": lambda v: check_float("width", v, min_value=0.05, max_value=4.0),
    "clip": lambda v: check_list("clip", v, item="int", length=3, min_value=1, unique=False),
    "train_samples": lambda v: check_int("train_samples", v, min_value=16),
    "batch_size": lambda v: check_int("batch_size", v, min_value=1),
    "lr": lambda v: check_float("lr", v, min_value=1e-6, max_value=10.0),
    "dataset": lambda v: check_choice("dataset", v, ["synthactions"]),
    "difficulty": lambda v: check_choice("difficulty", v, ["easy", "medium", "hard"]),
    "device": lambda v: check_choice("device", v, ["auto", "cpu", "cuda"]),
    "smoke": lambda v: check_bool("smoke", v),
}


def check_common(**params: Any) -> None:
    """Validate shared notebook parameters by name (``check_common(seeds=3, lr=3e-3, ...)``).

    Each name must be one of ``COMMON_RULES``; an unknown name is a programming error (TypeError).
    """
    unknown = sorted(set(params) - set(COMMON_RULES))
    if unknown:
        raise TypeError(f"check_common: no rule for {unknown}; known: {sorted(COMMON_RULES)}")
    for name, value in params.items():
        COMMON_RULES[name](value)
