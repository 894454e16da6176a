"""Validation of notebook parameters (papermill ``parameters`` cells hold plain
values; these turn a bad value into an error that names the parameter at once)
and path resolution that does not depend on the working directory.

Datasets. ``dataset`` is ``"synthactions"`` (embedded, rendered on the fly) or one of
``REAL_DATASETS`` (videos on disk, :mod:`actionrec.data.videos`). A real dataset needs
``data_root`` (an existing folder; relative paths are taken from the repository root, like
``out_dir``), ``split`` is its official train/test split 1-3 (UCF-101, HMDB-51; the others have
one), clips are square crops (``clip[1] == clip[2]``) and ``train_samples`` / ``test_samples`` = 0
mean "the whole split". ``difficulty`` applies to SynthActions only.
"""

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


def resolve_data_root(data_root: str | None) -> Path | None:
    """Absolute folder of a real dataset, or None for ``""``/``None``.

    ``~`` is expanded; a relative path is taken relative to the repository root (as in
    :func:`resolve_out_dir`), so JupyterLab and papermill agree whatever their working directory.
    """
    if not data_root:
        return None
    p = Path(data_root).expanduser()
    if p.is_absolute():
        return p
    return (REPO_ROOT if REPO_ROOT is not None else Path.cwd()) / p


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


#: Datasets read from video files (``actionrec.data.build_dataset`` names); "synthactions" is embedded.
REAL_DATASETS = ("ucf101", "hmdb51", "kinetics", "ssv2", "folder")
#: Real datasets with three official train/test splits (``split`` = 1, 2 or 3); the others have one.
SPLIT_DATASETS = ("ucf101", "hmdb51")
#: Where the documentation explains how to point the notebooks at videos on disk.
REAL_DATA_DOCS = 'README.md, section "Running on real data"'


def is_real(dataset: str) -> bool:
    """True for a dataset read from video files (``REAL_DATASETS``), False for SynthActions."""
    return dataset in REAL_DATASETS


def _check_str(name: str, value: Any, expected: str) -> str:
    if not isinstance(value, str):
        _fail(name, value, expected)
    return value


def _check_samples(name: str, value: Any) -> int:
    check_int(name, value, min_value=0)
    if 0 < value < 16:
        _fail(name, value, "an integer >= 16 (or 0: the whole split of a real dataset)")
    return value


#: The rules for parameters that several notebooks share (one place to change them). Rules that
#: involve several parameters (a real ``dataset`` needs ``data_root`` ...) are in :func:`check_common`.
COMMON_RULES = {
    "seeds": lambda v: check_int("seeds", v, min_value=1),
    "seed": lambda v: check_int("seed", v, min_value=0),
    "epochs": lambda v: check_int("epochs", v, min_value=1),
    "width": lambda v: check_float("width", v, min_value=0.05, max_value=4.0),
    "clip": lambda v: check_list("clip", v, item="int", length=3, min_value=1, unique=False),
    "train_samples": lambda v: _check_samples("train_samples", v),
    "test_samples": lambda v: _check_samples("test_samples", v),
    "batch_size": lambda v: check_int("batch_size", v, min_value=1),
    "lr": lambda v: check_float("lr", v, min_value=1e-6, max_value=10.0),
    "dataset": lambda v: check_choice("dataset", v, ["synthactions", *REAL_DATASETS]),
    "data_root": lambda v: _check_str("data_root", v, 'a folder path (a string; "" for SynthActions)'),
    "split": lambda v: check_int("split", v, min_value=1, max_value=3),
    "difficulty": lambda v: check_choice("difficulty", v, ["easy", "medium", "hard"]),
    "device": lambda v: check_choice("device", v, ["auto", "cpu", "cuda"]),
    "smoke": lambda v: check_bool("smoke", v),
}


def check_common(**params: Any) -> None:
    """Validate shared notebook parameters by name (``check_common(seeds=3, lr=3e-3, ...)``).

    Each name must be one of ``COMMON_RULES``; an unknown name is a programming error (TypeError).
    Then the rules between parameters, when ``dataset`` is given:

    * a real dataset (``REAL_DATASETS``) needs ``data_root``, an existing folder;
    * ``split`` 2 or 3 only for datasets with three official splits (``SPLIT_DATASETS``);
    * real clips are square crops: ``clip[1] == clip[2]``;
    * ``train_samples`` / ``test_samples`` = 0 ("the whole split") only for a real dataset.
    """
    unknown = sorted(set(params) - set(COMMON_RULES))
    if unknown:
        raise TypeError(f"check_common: no rule for {unknown}; known: {sorted(COMMON_RULES)}")
    for name, value in params.items():
        COMMON_RULES[name](value)
    if "dataset" not in params:
        return
    dataset = params["dataset"]
    if is_real(dataset):
        if "data_root" not in params:
            raise TypeError(f"check_common: dataset={dataset!r} is read from disk; pass data_root= too")
        root = resolve_data_root(params["data_root"])
        if root is None:
            raise ValueError(f"parameter data_root='' is invalid: dataset={dataset!r} reads videos from disk; set "
                             f"data_root to the folder that holds them (see {REAL_DATA_DOCS})")
        if not root.is_dir():
            raise ValueError(f"parameter data_root={params['data_root']!r} is invalid: {str(root)!r} is not a folder; "
                             f"set data_root to the folder that holds the {dataset} videos (see {REAL_DATA_DOCS})")
        if params.get("split", 1) != 1 and dataset not in SPLIT_DATASETS:
            _fail("split", params["split"], f"1: {dataset} has one official split (2 and 3 exist for "
                  f"{' and '.join(SPLIT_DATASETS)})")
        clip = params.get("clip")
        if clip is not None and clip[1] != clip[2]:
            _fail("clip", clip, f"square frames (H == W) for dataset={dataset!r}: videos are resized and cropped "
                  "to size x size")
    else:
        for name in ("train_samples", "test_samples"):
            if params.get(name) == 0:
                _fail(name, 0, f"an integer >= 16 for dataset={dataset!r} (0, the whole split, applies to real "
                      "datasets)")


def check_synthactions_only(dataset: Any, why: str) -> str:
    """For notebooks that need what only SynthActions has (ground-truth flow, action windows, ...):
    a clear error naming ``dataset`` for anything else; ``why`` says what is missing."""
    if dataset != "synthactions":
        raise ValueError(f"parameter dataset={dataset!r} is invalid: this notebook runs on SynthActions only "
                         f"(dataset='synthactions'): {why}")
    return dataset


def check_clip(clip: Sequence[int], *, min_size: Sequence[int], why: str) -> list:
    """``clip`` (T, H, W) at least ``min_size`` (T, H, W) in every dimension, else an error naming
    ``clip`` and saying ``why`` (e.g. "MTNet needs T >= 16 and H, W >= 32")."""
    if any(c < m for c, m in zip(clip, min_size)):
        raise ValueError(f"parameter clip={list(clip)!r} is invalid: {why}")
    return list(clip)


def check_flow(flow_channels: Any, flow_method: Any = None) -> None:
    """Two-stream parameters: ``flow_channels`` = 2L, an even number >= 2 (x and y of L flow fields);
    ``flow_method`` (if given) ``"gt"`` or a method this OpenCV build has (``actionrec.data.flow``)."""
    check_int("flow_channels", flow_channels, min_value=2)
    if flow_channels % 2:
        _fail("flow_channels", flow_channels, "an even number (2L: x and y of L flow fields)")
    if flow_method is not None:
        from .data.flow import available_methods

        check_choice("flow_method", flow_method, ["gt", *available_methods()])


def make_out_dir(out_dir: str | None, default_name: str) -> Path:
    """:func:`resolve_out_dir`, created if missing."""
    out = resolve_out_dir(out_dir, default_name)
    out.mkdir(parents=True, exist_ok=True)
    return out
