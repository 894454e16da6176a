"""``TrainConfig``: everything that defines a run (nanoGPT style), and how two configs are compared.

The whole config is written to ``run_dir/config.json`` and into every checkpoint. Each field's help
text lives in ``field(metadata={"help": ...})``; the command line (:mod:`actionrec.cli`) builds its
flags from it. Values are checked at construction (``actionrec.utils.checks``: a ``ValueError``
naming the field).

Comparing configs::

    config dict ─→ computed_fields (drop RUNTIME_FIELDS and RUNTIME_DATASET_KWARGS) ─→ compare

A run directory, a checkpoint or a finished run is resumed / reused only when the computed fields
match (:func:`config_diff`); runtime fields (device, workers, caching, memory format, TensorBoard,
where the data lies) may differ. ``to_dict`` leaves out the fields added after runs were made
(``LATER_FIELDS``) while they hold their default, so older ``config.json`` files and the run tags
hashed from ``to_dict`` stay valid.

Configs also come from files (:func:`load_config_file`: JSON or TOML) and from text
(:func:`text_parser`: a field's value from a command-line string, by its annotation).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..data import DATASETS
from ..models import ALIASES, MODELS
from ..utils.checks import check_bool, check_choice, check_float, check_int, check_kwargs, fail

__all__ = ["TrainConfig", "ConfigMismatchError", "computed_fields", "config_diff", "check_same_config",
           "load_config_file", "json_or_text", "text_parser", "CONFIG_FILE", "METRICS_FILE", "CHECKPOINT_FILE",
           "FINAL_FILE", "BAD_VIDEOS_FILE", "OPTIMIZERS", "SCHEDULERS", "MULTIGRID_MODES", "RUNTIME_FIELDS",
           "RUNTIME_DATASET_KWARGS", "LATER_FIELDS"]

# The files of a run directory.
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_FILE = "final.json"
BAD_VIDEOS_FILE = "bad_videos.jsonl"

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("cosine", "step", "none")
MULTIGRID_MODES = ("none", "long", "short", "long+short")
# Fields that only change how a run executes, not what it computes: they may differ on resume.
RUNTIME_FIELDS = ("device", "num_workers", "cache_data", "channels_last", "tensorboard")
# dataset_kwargs that only say where the data is, where failures are logged or where estimated flow
# is cached (the same flow either way): the same videos from another folder are the same run (so a
# moved dataset can still resume).
RUNTIME_DATASET_KWARGS = ("data_root", "failures_file", "flow_cache_dir")
# Fields added after runs were made: ``to_dict`` leaves them out while they hold their default.
LATER_FIELDS = ("accum_steps", "channels_last", "sync_bn", "multigrid", "init_from", "tensorboard", "label_smoothing")
# dataset_kwargs the config sets through its own fields.
_RESERVED_DATASET_KWARGS = {"split": "the split", "num_samples": "train_samples/val_samples/test_samples",
                            "seed": "data_seed"}


class ConfigMismatchError(ValueError):
    """A run directory holds a run of a different config."""


def _f(default: Any, help: str) -> Any:
    """A dataclass field with its command-line help (a dict default becomes a factory)."""
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Everything that defines a run. Written to ``config.json`` and into every checkpoint."""

    # model
    model: str = _f("c3d_small", "a name in actionrec.models.MODELS")
    model_kwargs: dict = _f({}, "builder kwargs (num_classes comes from the data)")
    # data
    dataset: str = _f("synthactions", "a name in actionrec.data.DATASETS")
    dataset_kwargs: dict = _f({}, 'e.g. {"frames": 16, "size": 32, "difficulty": "medium"}')
    train_samples: int | None = _f(None, "num_samples of the train split (None = dataset default)")
    val_samples: int | None = _f(None, "num_samples of the val split (None = dataset default)")
    test_samples: int | None = _f(None, "num_samples of the test split (None = dataset default)")
    data_seed: int = _f(0, "the dataset's seed (what is rendered), independent of the training seed")
    # optimisation
    epochs: int = _f(10, "passes over the train split")
    batch_size: int = _f(32, "clips per optimizer step (the global batch: over all processes and accum_steps)")
    optimizer: str = _f("adamw", '"adamw" | "sgd" (momentum 0.9, nesterov off)')
    lr: float = _f(3e-3, "peak learning rate")
    weight_decay: float = _f(0.05, "decoupled (AdamW) or L2 (SGD) weight decay")
    scheduler: str = _f("cosine", '"cosine" | "step" (x0.1 at 1/2 and 3/4 of training) | "none"')
    warmup_steps: int = _f(0, "linear warm-up steps before the schedule")
    clip_grad: float | None = _f(None, "max global grad norm (None = no clipping)")
    max_steps: int | None = _f(None, "stop after this many steps (None = epochs * steps per epoch)")
    # runtime
    seed: int = _f(0, "init + shuffle + dropout seed")
    device: str = _f("auto", '"auto" (CUDA if present) | "cpu" | "cuda" | "cuda:1" ...')
    amp: bool | str = _f("auto", 'autocast on CUDA only: "auto"/True = bf16 if supported else fp16+GradScaler')
    num_workers: int = _f(0, "DataLoader workers (0 = main process)")
    cache_data: bool = _f(True, "render each split once per process into memory (N*3*T*H*W*4 bytes per split)")
    eval_every: int = _f(1, "validate every N epochs (and always after the last)")
    log_every: int = _f(10, "one train line in metrics.jsonl every N steps")
    checkpoint_every: int | None = _f(None, "also checkpoint every N steps (None = end of epoch only)")
    # scale (the defaults run exactly the plain single-process loop)
    accum_steps: int = _f(1, "micro-batches per optimizer step; batch_size stays the effective global batch")
    channels_last: bool = _f(False, "channels_last_3d memory format for the model and the clips")
    sync_bn: bool = _f(False, "BatchNorm statistics over all processes (nn.SyncBatchNorm, GPUs only; "
                              "no-op in one process)")
    multigrid: str = _f("none", '"none" | "long" | "short" | "long+short" (Wu et al. 2020, '
                                "actionrec.train.multigrid)")
    init_from: str | None = _f(None, "fine-tune from a run dir or checkpoint file: equal name+shape weights loaded")
    tensorboard: bool = _f(False, "also write metrics.jsonl's scalars to run_dir/tb (needs the tensorboard package)")
    label_smoothing: float = _f(0.0, "cross-entropy label smoothing in [0, 1) (0: plain cross-entropy); "
                                     "models with their own training_loss (two_stream_*) take only 0")

    def __post_init__(self) -> None:
        check_choice("model", self.model, sorted(MODELS) + sorted(ALIASES))  # old names still load
        check_choice("dataset", self.dataset, sorted(DATASETS))
        check_kwargs("model_kwargs", self.model_kwargs)
        if "num_classes" in self.model_kwargs:
            raise ValueError("model_kwargs['num_classes'] is set from the dataset's num_classes; remove it from model_kwargs")
        check_kwargs("dataset_kwargs", self.dataset_kwargs)
        for key, instead in _RESERVED_DATASET_KWARGS.items():
            if key in self.dataset_kwargs:
                raise ValueError(f"dataset_kwargs[{key!r}] is set by the config; use {instead} instead")
        for name in ("train_samples", "val_samples", "test_samples", "max_steps", "checkpoint_every"):
            setattr(self, name, check_int(name, getattr(self, name), min_value=1, optional=True))
        for name, minimum in (("data_seed", 0), ("epochs", 1), ("batch_size", 1), ("warmup_steps", 0),
                              ("seed", 0), ("num_workers", 0), ("eval_every", 1), ("log_every", 1)):
            setattr(self, name, check_int(name, getattr(self, name), min_value=minimum))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        check_float("lr", self.lr, positive=True)
        check_float("weight_decay", self.weight_decay, min_value=0)
        check_float("clip_grad", self.clip_grad, positive=True, optional=True)
        check_float("label_smoothing", self.label_smoothing, min_value=0)
        if self.label_smoothing >= 1:
            fail("label_smoothing", self.label_smoothing, "a float in [0, 1), e.g. 0.1")
        check_choice("amp", self.amp, (True, False, "auto"))
        check_bool("cache_data", self.cache_data)
        if not isinstance(self.device, str) or not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            fail("device", self.device, "'auto', 'cpu', 'cuda' or 'cuda:N'")
        self.accum_steps = check_int("accum_steps", self.accum_steps, min_value=1)
        if self.batch_size % self.accum_steps:
            raise ValueError(f"batch_size={self.batch_size} must be divisible by accum_steps={self.accum_steps} "
                             "(batch_size is the effective batch; each micro-step takes batch_size / accum_steps clips)")
        for name in ("channels_last", "sync_bn", "tensorboard"):
            check_bool(name, getattr(self, name))
        check_choice("multigrid", self.multigrid, MULTIGRID_MODES)
        if isinstance(self.init_from, os.PathLike):
            self.init_from = os.fspath(self.init_from)
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from):
            fail("init_from", self.init_from, "None or the path of a run dir / checkpoint file")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists, as they would after a JSON round trip).

        Fields in ``LATER_FIELDS`` are left out while they hold their default, so older runs'
        config.json and config tags are unchanged; indexing the dict still gives their value.
        """
        d = _ConfigDict(self.full_dict())
        for name, default in _LATER_DEFAULTS.items():
            if d[name] == default:
                del d[name]
        return d

    def full_dict(self) -> dict[str, Any]:
        """Every field, JSON round-tripped (what :func:`config_diff` compares and ``--print-config`` prints)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict``; unknown keys raise, missing keys take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; valid fields: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_run_dir(cls, run_dir: str | os.PathLike) -> "TrainConfig":
        """The config saved in ``run_dir/config.json``."""
        return cls.from_dict(json.loads((Path(run_dir) / CONFIG_FILE).read_text()))


class _ConfigDict(dict):
    """``TrainConfig.to_dict()``'s result: a later field left out (at its default) reads as its default.

    Only indexing falls back (``d["sync_bn"]``); ``in``, ``.get``, iteration and JSON see the stored keys.
    """

    def __missing__(self, key: str) -> Any:
        if key in _LATER_DEFAULTS:
            return _LATER_DEFAULTS[key]
        raise KeyError(key)


_LATER_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in LATER_FIELDS}


def computed_fields(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` (a config dict) without what does not change the result: RUNTIME_FIELDS and the
    RUNTIME_DATASET_KWARGS inside ``dataset_kwargs``. Used for resume checks and run tags."""
    out = {k: v for k, v in d.items() if k not in RUNTIME_FIELDS}
    if isinstance(out.get("dataset_kwargs"), dict):
        out["dataset_kwargs"] = {k: v for k, v in out["dataset_kwargs"].items() if k not in RUNTIME_DATASET_KWARGS}
    return out


def config_diff(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """Names of the fields where ``saved`` and ``cfg`` differ in what they compute (``computed_fields``)."""
    old = computed_fields(TrainConfig.from_dict(saved).full_dict())
    new = computed_fields(cfg.full_dict())
    return [k for k in new if old[k] != new[k]]


def check_same_config(saved: dict[str, Any], cfg: TrainConfig, run_dir: Path, what: str) -> None:
    """Raise :class:`ConfigMismatchError` naming the fields when ``saved`` computes something else than ``cfg``."""
    diff = config_diff(saved, cfg)
    if diff:
        old = TrainConfig.from_dict(saved).full_dict()
        details = "; ".join(f"{k}: saved {old[k]!r} != given {getattr(cfg, k)!r}" for k in diff)
        raise ConfigMismatchError(
            f"{run_dir} holds a {what} of a different config (fields {diff}: {details}). "
            "Use a new run_dir for the new config, or delete the old one to retrain."
        )


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The dict of TrainConfig fields in a ``.json`` or ``.toml`` file (a run's config.json works; TOML has
    no null: leave a field out to keep its default). A ``ValueError`` names the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON: {e}") from None
    elif suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            raise ValueError(f"{path}: TOML configs need Python >= 3.11 (tomllib); use a .json file") from None
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid TOML: {e}") from None
    else:
        raise ValueError(f"{path}: unknown config format {suffix!r}; use a .json or .toml file")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table/object of TrainConfig fields, got {type(data).__name__}")
    return data


# Values given as text (command-line flags): bool words, "none", JSON dicts.
_TRUE, _FALSE, _NONE = ("true", "yes", "on", "1"), ("false", "no", "off", "0"), ("none", "null")


def json_or_text(s: str) -> Any:
    """``s`` parsed as JSON when it parses, else ``s`` itself (so ``gru`` needs no quotes)."""
    try:
        return json.loads(s)
    except ValueError:
        return s


def text_parser(tp: Any) -> tuple[Callable[[str], Any], list[str]]:
    """A ``str -> value`` parser for a field annotation (``int | None``, ``bool | str``, ``dict`` ...) and
    the names of the types it accepts (``["int", "none"]``); the parser raises ``ValueError`` naming them.

    The strict types are tried first (bool words, int, float), ``str`` (which accepts all) last.
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    members = list(args) if origin in (typing.Union, types.UnionType) else [tp]
    optional = type(None) in members
    members = [m for m in members if m is not type(None)]
    rank = {bool: 0, int: 1, float: 2, str: 9}
    members.sort(key=lambda m: rank.get(m, rank.get(typing.get_origin(m), 5)))

    def one(m: Any, s: str) -> Any:
        base = typing.get_origin(m) or m
        if base is bool:
            if s.lower() in _TRUE + _FALSE:
                return s.lower() in _TRUE
            raise ValueError
        if base in (int, float, str):
            return base(s)
        if base is not dict:
            return json_or_text(s)  # anything else: JSON if it parses
        if not isinstance(v := json.loads(s), dict):
            raise ValueError
        return v

    names = [getattr(typing.get_origin(m) or m, "__name__", str(m)) for m in members] + (["none"] if optional else [])
    expected = " or ".join("true/false" if n == "bool" else "JSON dict" if n == "dict" else n for n in names)

    def parse(s: str) -> Any:
        if optional and s.lower() in _NONE:
            return None
        for m in members:
            try:
                return one(m, s)
            except ValueError:
                continue
        raise ValueError(f"invalid value {s!r}: expected {expected}")

    return parse, names
