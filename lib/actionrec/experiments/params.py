"""Validation of notebook parameters: a bad value fails at once with an error naming the parameter.

A papermill ``parameters`` cell holds plain values. :func:`check_common` checks the parameters
several notebooks share by name (``COMMON_RULES``) and returns them normalised — a list given as a
string by papermill's ``-p clip '[16, 112, 112]'`` comes back as the list ``[16, 112, 112]`` — so a
notebook uses what it returns::

    seeds, clip, lr = P.check_common(seeds=seeds, clip=clip, lr=lr).values()

Numbers come back as given (an int ``width=1`` stays an int: configs are hashed into run names by
:func:`~actionrec.experiments.grid.config_tag`). The single-parameter validators are
:mod:`actionrec.utils.checks`; folders are resolved by :mod:`actionrec.utils.paths`.

Datasets. ``dataset`` is ``"synthactions"`` (embedded, rendered on the fly) or one of
``REAL_DATASETS`` (videos on disk, :mod:`actionrec.data.videos`). A real dataset needs
``data_root`` (an existing folder; relative paths are taken from the repository root, like
``out_dir``), ``split`` is its official train/test split 1-3 (UCF-101, HMDB-51; the others have
one), clips are square crops (``clip[1] == clip[2]``) and ``train_samples`` / ``test_samples`` = 0
mean "the whole split". ``difficulty`` applies to SynthActions only.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..data.flow import available_methods
from ..data.synthactions import DIFFICULTIES
from ..utils.checks import check_bool, check_choice, check_float, check_int, check_list, fail
from ..utils.paths import resolve_data_root

__all__ = ["REAL_DATASETS", "SPLIT_DATASETS", "REAL_DATA_DOCS", "COMMON_RULES", "is_real", "check_common", "budget_params",
           "check_synthactions_only", "check_clip", "check_flow"]

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
        fail(name, value, expected)
    return value


def _check_samples(name: str, value: Any) -> int:
    value = check_int(name, value, min_value=0)
    if 0 < value < 16:
        fail(name, value, "an integer >= 16 (or 0: the whole split of a real dataset)")
    return value


def _number(name: str, min_value: float, max_value: float) -> Callable[[Any], Any]:
    """Rule for a number in ``[min_value, max_value]``, returned as given (an int stays an int)."""
    def rule(value: Any) -> Any:
        check_float(name, value, min_value=min_value, max_value=max_value)
        return value
    return rule


#: The rules for parameters that several notebooks share (one place to change them); each returns
#: the normalised value. Rules that involve several parameters (a real ``dataset`` needs
#: ``data_root`` ...) are in :func:`check_common`.
COMMON_RULES: dict[str, Callable[[Any], Any]] = {
    "seeds": lambda v: check_int("seeds", v, min_value=1),
    "seed": lambda v: check_int("seed", v, min_value=0),
    "epochs": lambda v: check_int("epochs", v, min_value=1),
    "width": _number("width", 0.05, 4.0),
    "clip": lambda v: check_list("clip", v, item="int", length=3, min_value=1, unique=False),
    "train_samples": lambda v: _check_samples("train_samples", v),
    "test_samples": lambda v: _check_samples("test_samples", v),
    "batch_size": lambda v: check_int("batch_size", v, min_value=1),
    "lr": _number("lr", 1e-6, 10.0),
    "dataset": lambda v: check_choice("dataset", v, ["synthactions", *REAL_DATASETS]),
    "data_root": lambda v: _check_str("data_root", v, 'a folder path (a string; "" for SynthActions)'),
    "split": lambda v: check_int("split", v, min_value=1, max_value=3),
    "difficulty": lambda v: check_choice("difficulty", v, list(DIFFICULTIES)),
    "device": lambda v: check_choice("device", v, ["auto", "cpu", "cuda"]),
    "smoke": lambda v: check_bool("smoke", v),
}


def check_common(**params: Any) -> dict[str, Any]:
    """Validate shared notebook parameters by name (``check_common(seeds=3, lr=3e-3, ...)``) and return
    them normalised, in the order given (a list passed as a string, ``"[16, 32, 32]"``, is parsed).

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
    out = {name: COMMON_RULES[name](value) for name, value in params.items()}
    if "dataset" not in out:
        return out
    dataset = out["dataset"]
    if is_real(dataset):
        if "data_root" not in out:
            raise TypeError(f"check_common: dataset={dataset!r} is read from disk; pass data_root= too")
        root = resolve_data_root(out["data_root"])
        if root is None:
            raise ValueError(f"data_root='' is invalid: dataset={dataset!r} reads videos from disk; set "
                             f"data_root to the folder that holds them (see {REAL_DATA_DOCS})")
        if not root.is_dir():
            raise ValueError(f"data_root={out['data_root']!r} is invalid: {str(root)!r} is not a folder; "
                             f"set data_root to the folder that holds the {dataset} videos (see {REAL_DATA_DOCS})")
        if out.get("split", 1) != 1 and dataset not in SPLIT_DATASETS:
            fail("split", out["split"], f"1: {dataset} has one official split (2 and 3 exist for "
                 f"{' and '.join(SPLIT_DATASETS)})")
        clip = out.get("clip")
        if clip is not None and clip[1] != clip[2]:
            fail("clip", clip, f"square frames (H == W) for dataset={dataset!r}: videos are resized and cropped "
                 "to size x size")
    else:
        for name in ("train_samples", "test_samples"):
            if out.get(name) == 0:
                fail(name, 0, f"an integer >= 16 for dataset={dataset!r} (0, the whole split, applies to real "
                     "datasets)")
    return out


def check_synthactions_only(dataset: Any, why: str) -> str:
    """For notebooks that need what only SynthActions has (ground-truth flow, action windows, ...):
    a clear error naming ``dataset`` for anything else; ``why`` says what is missing."""
    if dataset != "synthactions":
        raise ValueError(f"dataset={dataset!r} is invalid: this notebook runs on SynthActions only "
                         f"(dataset='synthactions'): {why}")
    return dataset


def check_clip(clip: Sequence[int] | str, *, min_size: Sequence[int], why: str) -> list:
    """``clip`` (T, H, W; a string ``"[16, 32, 32]"`` is parsed) at least ``min_size`` (T, H, W) in
    every dimension, else an error naming ``clip`` and saying ``why`` (e.g. "MTNet needs T >= 16
    and H, W >= 32"); returns it as a list."""
    clip = check_list("clip", clip, item="int", length=3, min_value=1, unique=False)
    if any(c < m for c, m in zip(clip, min_size)):
        raise ValueError(f"clip={list(clip)!r} is invalid: {why}")
    return list(clip)


def check_flow(flow_channels: Any, flow_method: Any = None) -> None:
    """Two-stream parameters: ``flow_channels`` = 2L, an even number >= 2 (x and y of L flow fields);
    ``flow_method`` (if given) ``"gt"`` or a method this OpenCV build has (``actionrec.data.flow``)."""
    check_int("flow_channels", flow_channels, min_value=2)
    if flow_channels % 2:
        fail("flow_channels", flow_channels, "an even number (2L: x and y of L flow fields)")
    if flow_method is not None:
        check_choice("flow_method", flow_method, ["gt", *available_methods()])


def budget_params(budget: Any, defaults: dict[str, Any], **given: Any) -> tuple[str, dict[str, Any]]:
    """``(budget, values)`` of a notebook whose ``budget`` is ``"quick"`` | ``"reference"`` |
    ``"custom"``: the budget-only parameters ``given`` default to None ("the budget decides"). Under
    ``"custom"`` each None takes its value from ``defaults`` (the chapter's custom defaults); under
    quick / reference any non-None one is an error naming it (the budget fixes variants, seeds and
    recipe, so a silently ignored ``-p seeds 5`` cannot happen). Every name of ``given`` must be in
    ``defaults`` (TypeError otherwise)."""
    budget = check_choice("budget", budget, ["quick", "reference", "custom"])
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"budget_params: no default for {unknown}; known: {sorted(defaults)}")
    set_ = [k for k, v in given.items() if v is not None]
    if budget != "custom" and set_:
        raise ValueError(f"{', '.join(set_)} = {', '.join(repr(given[k]) for k in set_)} applies to budget='custom' only: "
                         f"budget={budget!r} fixes the variants, seeds and training recipe. Add -p budget custom to "
                         "train your own settings, or drop the parameter")
    return budget, {k: defaults[k] if v is None else v for k, v in given.items()}
