"""Command line for training: ``python -m actionrec.train`` (→ :func:`train_main`).

Every :class:`~actionrec.train.TrainConfig` field is a flag, generated from the dataclass (one
source of truth: a new field gets its flag, type and help text -- the field's trailing comment --
with no change here)::

    field foo_bar: int            → --foo-bar 3
    field foo: int | None         → --foo 3  |  --foo none
    field flag: bool              → --flag / --no-flag
    field amp: bool | str         → --amp auto|true|false
    field model_kwargs: dict      → --model-kwargs '{"r": 4}'  and/or  --model-kw r=4 --model-kw recurrent=gru
    field dataset_kwargs: dict    → --dataset-kwargs '{...}'   and/or  --data-kw size=112 ...
    (KEY=VALUE values are parsed as JSON when they parse -- 4, 0.5, true, null, [8, 8] -- else kept as strings)

How a config is resolved (later wins)::

    TrainConfig defaults ─→ --config FILE (.json, or .toml via tomllib; a run's config.json works;
                            TOML has no null: leave a field out to keep its default)
      ─→ field flags (--x-kwargs JSON replaces the dict, then --x-kw KEY=VALUE set single keys)
      ─→ conveniences --data-root DIR → dataset_kwargs["data_root"], --split {1,2,3} → dataset_kwargs["fold"]
      ─→ TrainConfig(...) validates (a ValueError becomes a one-line "error: --flag: ..." and exit 1)

``--resume RUN_DIR`` starts from ``RUN_DIR/config.json`` instead; flags may then only change the
runtime fields (``train.RUNTIME_FIELDS``: device, num_workers, ...), anything else is an error
listing the fields (the check is train's own config diff). Training itself is
:func:`actionrec.train.fit`: a run dir holding a checkpoint of the same config resumes, a finished
one returns its ``final.json`` without training. ``--init-from CKPT_OR_RUN_DIR`` is the
``init_from`` field (fine-tuning; loading is train's). ``--print-config`` prints the resolved
config as JSON (every field; usable as ``--config``) and exits.

Exit codes: 0 done; 2 bad command line (argparse: unknown flag, value of the wrong type); 1 a value
the config or the run rejects (one line ``error: ...`` on stderr, no traceback unless
``--traceback``); 130 interrupted (the last checkpoint stays; ``--resume`` continues).

Under ``torchrun`` every rank runs :func:`train_main`; only rank 0 prints (``fit`` itself decides
who writes files).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import json
import logging
import os
import re
import sys
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["FieldFlag", "build_train_parser", "resolve_train_config", "load_config_file", "parse_kv", "field_flags",
           "train_main"]

# Command-line options that are not TrainConfig fields (a field of the same name would clash).
_CLI_ONLY = ("config", "resume", "run_dir", "data_root", "split", "print_config", "progress", "verbose", "traceback")
# The KEY=VALUE flag of each dict field; other dict fields get --<name>-kw (minus a trailing "_kwargs").
_KV_FLAGS = {"dataset_kwargs": "--data-kw"}
_TRUE, _FALSE, _NONE = ("true", "yes", "on", "1"), ("false", "no", "off", "0"), ("none", "null")


# --------------------------------------------------------------------------------------------
# Flags from the dataclass
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FieldFlag:
    """The command-line form of one TrainConfig field."""

    name: str  # field name, e.g. "batch_size"
    flag: str  # "--batch-size"
    kind: str  # "bool" (--x/--no-x), "dict" (JSON + KEY=VALUE flag) or "value" (parsed by ``parse``)
    parse: Callable[[str], Any]  # str -> value (raises argparse.ArgumentTypeError)
    metavar: str
    help: str
    kv_flag: str | None = None  # dict fields: the repeated KEY=VALUE flag


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_comments(cls) -> dict[str, str]:
    """``{field: trailing comment}`` read from the class source (the dataclass's own documentation)."""
    try:
        src = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (frozen app, interactive class): no help text
        return {}
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(src).readline) if tok.type == tokenize.COMMENT}
    out = {}
    for node in ast.parse(src).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.end_lineno in comments:
            out[node.target.id] = comments[node.end_lineno]
    return out


def _json_value(s: str) -> Any:
    """``s`` parsed as JSON when it parses, else ``s`` itself (so ``gru`` needs no quotes)."""
    try:
        return json.loads(s)
    except ValueError:
        return s


def _parser_for(tp: Any) -> tuple[Callable[[str], Any], str]:
    """A ``str -> value`` parser and a metavar for a field annotation (``int | None``, ``bool | str``...)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        choices = list(args)

        def parse_literal(s: str) -> Any:
            for c in choices:
                if s == str(c) or (isinstance(c, bool) and s.lower() in (_TRUE if c else _FALSE)):
                    return c
            raise argparse.ArgumentTypeError(f"invalid choice {s!r} (choose from {', '.join(map(str, choices))})")

        return parse_literal, "{" + ",".join(map(str, choices)) + "}"
    members = list(args) if origin in (typing.Union, types.UnionType) else [tp]
    optional = type(None) in members
    members = [m for m in members if m is not type(None)]
    rank = {bool: 0, int: 1, float: 2, str: 9}  # try the strict parsers first, str (accepts all) last
    members.sort(key=lambda m: rank.get(m, rank.get(typing.get_origin(m), 5)))

    def one(m: Any, s: str) -> Any:
        base = typing.get_origin(m) or m
        if base is bool:
            if s.lower() in _TRUE + _FALSE:
                return s.lower() in _TRUE
            raise ValueError
        if base in (int, float, str):
            return base(s)
        if base in (dict, list, tuple):
            v = json.loads(s)
            if not isinstance(v, dict if base is dict else list):
                raise ValueError
            return tuple(v) if base is tuple else v
        return _json_value(s)  # anything else: JSON if it parses

    names = [getattr(typing.get_origin(m) or m, "__name__", str(m)) for m in members] + (["none"] if optional else [])
    expected = " or ".join("true/false" if n == "bool" else "JSON " + n if n in ("dict", "list", "tuple") else n
                           for n in names)

    def parse(s: str) -> Any:
        if optional and s.lower() in _NONE:
            return None
        for m in members:
            try:
                return one(m, s)
            except ValueError:
                continue
        raise argparse.ArgumentTypeError(f"invalid value {s!r}: expected {expected}")

    return parse, "|".join(n.upper() if n not in ("none", "bool") else ("true|false" if n == "bool" else n)
                           for n in names)


def field_flags(cls: type | None = None) -> list[FieldFlag]:
    """One :class:`FieldFlag` per field of ``cls`` (default: ``actionrec.train.TrainConfig``)."""
    if cls is None:
        from actionrec.train import TrainConfig as cls  # the package module, also under ``python -m actionrec.train``
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in _CLI_ONLY:
            raise RuntimeError(f"TrainConfig field {f.name!r} clashes with the command-line option {_flag(f.name)}; "
                               "rename one of them in actionrec/cli.py")
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        text = (comments.get(f.name, "") + f" (default: {json.dumps(default)})").strip().replace("%", "%%")
        base = typing.get_origin(tp) or tp
        if tp is bool:
            out.append(FieldFlag(f.name, _flag(f.name), "bool", _parser_for(bool)[0], "", text))
        elif base is dict:
            kv = _KV_FLAGS.get(f.name, _flag(f.name.removesuffix("_kwargs")) + "-kw")
            out.append(FieldFlag(f.name, _flag(f.name), "dict", _parser_for(dict)[0], "JSON",
                                 text + f"; replaces the whole dict, {kv} KEY=VALUE sets one key", kv_flag=kv))
        else:
            parse, metavar = _parser_for(tp)
            out.append(FieldFlag(f.name, _flag(f.name), "value", parse, metavar, text))
    return out


def parse_kv(s: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, JSON value or string)``: ``r=4`` -> ``("r", 4)``,
    ``recurrent=gru`` -> ``("recurrent", "gru")``."""
    key, sep, value = s.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {s!r}")
    return key.strip(), _json_value(value)


def build_train_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m actionrec.train`` (field flags default to "not given")."""
    p = argparse.ArgumentParser(
        prog="python -m actionrec.train",
        description="Train a model (actionrec.train.fit). Every TrainConfig field is a flag; --config FILE\n"
                    "supplies a base config and flags override it. A run dir holding a checkpoint of the same\n"
                    "config resumes; a finished one is not trained again.",
        epilog="examples:\n"
               "  python -m actionrec.train --model mtnet64 --dataset ucf101 --data-root /data/UCF-101 --split 1 \\\n"
               "      --epochs 30 --run-dir runs/mtnet64_ucf101_s1\n"
               "  python -m actionrec.train --config base.toml --lr 0.01 --model-kw recurrent=gru --run-dir runs/x\n"
               "  python -m actionrec.train --resume runs/x --num-workers 8\n"
               "  torchrun --nproc-per-node 4 -m actionrec.train --config k400.toml --run-dir runs/k400\n"
               "then: python -m actionrec.evaluate --run-dir runs/x --clips 10 --crops 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    run = p.add_argument_group("run")
    run.add_argument("--run-dir", metavar="DIR", help="where config.json, metrics.jsonl, checkpoint.pt and final.json go")
    run.add_argument("--config", metavar="FILE", help="base config: a .json or .toml file of TrainConfig fields "
                                                      "(a run's config.json works); flags override it")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its config.json; flags may "
                                                         "only change runtime fields (device, num_workers, ...)")
    run.add_argument("--data-root", metavar="DIR", help="dataset root: sets dataset_kwargs['data_root']")
    run.add_argument("--split", type=int, choices=(1, 2, 3), help="official train/test fold (UCF-101, HMDB-51): "
                                                                  "sets dataset_kwargs['fold']")
    run.add_argument("--print-config", action="store_true", default=False,
                     help="print the resolved config as JSON and exit")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar (rank 0)")
    run.add_argument("--verbose", action="store_true", default=False, help="log every train/val line (INFO)")
    run.add_argument("--traceback", action="store_true", default=False, help="show tracebacks of errors")
    cfg = p.add_argument_group("TrainConfig fields (override --config; dict values as JSON)")
    for ff in field_flags():
        if ff.kind == "bool":
            cfg.add_argument(ff.flag, dest=ff.name, action=argparse.BooleanOptionalAction, help=ff.help)
        elif ff.kind == "dict":
            cfg.add_argument(ff.flag, dest=ff.name, type=ff.parse, metavar=ff.metavar, help=ff.help)
            cfg.add_argument(ff.kv_flag, dest=ff.name + "__kv", type=parse_kv, action="append", metavar="KEY=VALUE",
                             help=f"set {ff.name}[KEY] (repeatable; VALUE parsed as JSON when possible)")
        else:
            cfg.add_argument(ff.flag, dest=ff.name, type=ff.parse, metavar=ff.metavar, help=ff.help)
    return p


# --------------------------------------------------------------------------------------------
# Resolving a config
# --------------------------------------------------------------------------------------------


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The dict of TrainConfig fields in a ``.json`` or ``.toml`` file (ValueError naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"--config {path}: not valid JSON: {e}") from None
    elif suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            raise ValueError(f"--config {path}: TOML configs need Python >= 3.11 (tomllib); use a .json file") from None
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"--config {path}: not valid TOML: {e}") from None
    else:
        raise ValueError(f"--config {path}: unknown config format {suffix!r}; use a .json or .toml file")
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a table/object of TrainConfig fields, got {type(data).__name__}")
    return data


def _overrides(args: argparse.Namespace, flags: list[FieldFlag]) -> dict[str, Any]:
    """Field values given on the command line, and the dict fields' KEY=VALUE items (``name__kv``)."""
    given = vars(args)
    out = {ff.name: given[ff.name] for ff in flags if ff.name in given}
    out.update({ff.name + "__kv": given[ff.name + "__kv"] for ff in flags if ff.kind == "dict" and ff.name + "__kv" in given})
    return out


def _apply(base: dict[str, Any], args: argparse.Namespace, flags: list[FieldFlag]) -> dict[str, Any]:
    """``base`` (field dict) with the command line applied: field flags, KEY=VALUE items, conveniences."""
    cfg = dict(base)
    over = _overrides(args, flags)
    for ff in flags:
        if ff.name in over:
            cfg[ff.name] = over[ff.name]
        if ff.kind == "dict" and ff.name + "__kv" in over:
            cfg[ff.name] = {**(cfg.get(ff.name) or {}), **dict(over[ff.name + "__kv"])}
    extra = {}
    if getattr(args, "data_root", None) is not None:
        extra["data_root"] = str(args.data_root)
    if getattr(args, "split", None) is not None:
        extra["fold"] = args.split
    if extra:
        dk = cfg.get("dataset_kwargs") or {}
        if not isinstance(dk, dict):
            raise ValueError(f"dataset_kwargs={dk!r} must be a dict of keyword arguments")
        cfg["dataset_kwargs"] = {**dk, **extra}
    return cfg


def _flag_error(e: Exception, flags: list[FieldFlag]) -> str:
    """A TrainConfig error message prefixed with the flag of the field it names (``--epochs: epochs=0 must...``)."""
    msg = str(e)
    m = re.match(r"(\w+)", msg)
    ff = next((ff for ff in flags if m and ff.name == m.group(1)), None)
    if ff is None:
        return msg
    return f"{ff.flag}{'/' + ff.kv_flag if ff.kv_flag else ''}: {msg}"


def _all_fields(cfg) -> dict[str, Any]:
    """Every field of ``cfg`` as plain JSON values (``to_dict`` may leave fields at their default out)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def resolve_train_config(args: argparse.Namespace):
    """``(TrainConfig, run_dir or None)`` from parsed arguments (ValueError with a one-line message)."""
    from actionrec import train

    flags = field_flags()
    if getattr(args, "resume", None) is not None:
        run_dir = Path(args.resume)
        if getattr(args, "config", None) is not None:
            raise ValueError(f"--resume {run_dir} cannot be combined with --config (the run dir holds its config)")
        other = getattr(args, "run_dir", None)
        if other is not None and Path(other).resolve() != run_dir.resolve():
            raise ValueError(f"--resume {run_dir} continues the run in {run_dir}; drop --run-dir {other}")
        cfg_path = run_dir / train.CONFIG_FILE
        if not cfg_path.is_file():
            raise ValueError(f"--resume {run_dir}: no {train.CONFIG_FILE} there; is it a run directory written by "
                             "python -m actionrec.train?")
        saved = json.loads(cfg_path.read_text())
        try:
            cfg = train.TrainConfig.from_dict(_apply(saved, args, flags))
        except ValueError as e:
            raise ValueError(_flag_error(e, flags)) from None
        diff = train._config_diff(saved, cfg)
        if diff:
            old, new = _all_fields(train.TrainConfig.from_dict(saved)), _all_fields(cfg)
            details = "; ".join(f"{_flag(k)}: saved {json.dumps(old[k])}, given {json.dumps(new[k])}" for k in diff)
            raise ValueError(f"--resume {run_dir}: only runtime fields ({', '.join(train.RUNTIME_FIELDS)}) may change "
                             f"on resume, not {', '.join(diff)} ({details}); train the new config into a new --run-dir")
        return cfg, run_dir
    base = load_config_file(args.config) if getattr(args, "config", None) is not None else {}
    try:
        cfg = train.TrainConfig.from_dict(_apply(base, args, flags))
    except ValueError as e:
        where = f"--config {args.config}: " if getattr(args, "config", None) and str(e).startswith("unknown") else ""
        raise ValueError(where + _flag_error(e, flags)) from None
    return cfg, (Path(args.run_dir) if getattr(args, "run_dir", None) is not None else None)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _is_rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _say(*lines: str) -> None:
    if _is_rank0():
        print("\n".join(lines), flush=True)


def _error(msg: str) -> int:
    first = msg.strip().splitlines()[0] if msg.strip() else "failed"
    print(f"error: {first}", file=sys.stderr, flush=True)
    return 1


def _summary(result: dict[str, Any], run_dir: Path) -> list[str]:
    from actionrec import train

    lines = []
    if result.get("finished"):
        test = result.get("test", {})
        lines.append(f"test: top-1 {result['top1']:.4f}  top-5 {result['top5']:.4f}  ({test.get('n', '?')} clips, "
                     f"one view each); best val top-1 {result['best_val_top1']:.4f} at epoch {result['best_val_epoch']}; "
                     f"{result['epochs']} epoch(s), {result['steps']} steps, {result['wall_s']:.0f} s")
    init = result.get("init_from")
    if init:
        lines.append(f"init from:  {init['path']}: loaded {len(init['loaded'])} of "
                     f"{len(init['loaded']) + len(init['skipped'])} tensors"
                     + (f"; re-initialised {', '.join(init['skipped'])}" if init["skipped"] else ""))
    lines += [f"run dir:    {run_dir}",
              f"config:     {run_dir / train.CONFIG_FILE}",
              f"metrics:    {run_dir / train.METRICS_FILE}",
              f"checkpoint: {run_dir / train.CHECKPOINT_FILE}"]
    if result.get("finished"):
        from actionrec.evaluate import _SINGLE_VIEW_DATASETS

        views = "" if result["config"]["dataset"] in _SINGLE_VIEW_DATASETS else "   (multi-view test: --clips 10 --crops 3)"
        lines += [f"final:      {run_dir / train.FINAL_FILE}",
                  f"next:       python -m actionrec.evaluate --run-dir {run_dir}{views}"]
    return lines


def train_main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.train [flags]``: resolve the config, ``fit`` it, print where results went.

    Returns the exit code (0 done, 1 rejected value / failed run, 130 interrupted); argparse errors
    and ``--help`` raise ``SystemExit`` (code 2 / 0) as usual.
    """
    from actionrec import train  # never __main__'s copy of train.py: config classes must be the package's

    parser = build_train_parser()
    args = parser.parse_args(argv)
    show_tb = args.traceback
    try:
        cfg, run_dir = resolve_train_config(args)
    except ValueError as e:
        if show_tb:
            raise
        return _error(str(e))
    if args.print_config:
        print(json.dumps(_all_fields(cfg), indent=2))
        return 0
    if run_dir is None:
        parser.error("--run-dir DIR is required (or --resume RUN_DIR, or --print-config)")
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    finished_before = train.is_finished(run_dir)
    resumed = (run_dir / train.CHECKPOINT_FILE).exists() and not finished_before
    if finished_before:
        _say(f"{run_dir} already holds a finished run of this config: not training again")
    else:
        _say(f"{'resuming' if resumed else 'training'} {cfg.model} on {cfg.dataset} for {cfg.epochs} epochs -> {run_dir}")
    from actionrec import distributed

    had_group = distributed.get_world_size() > 1 or _group_initialized()
    try:
        result = train.fit(cfg, run_dir, progress=args.progress and _is_rank0())
    except KeyboardInterrupt:
        _say(f"interrupted; the last checkpoint is kept: continue with python -m actionrec.train --resume {run_dir}")
        return 130
    except (ValueError, FileNotFoundError, NotADirectoryError, FloatingPointError) as e:
        if show_tb:
            raise
        msg = _flag_error(e, field_flags())
        return _error(f"{type(e).__name__}: {msg}" if isinstance(e, FloatingPointError) else msg)
    finally:
        if not had_group:  # fit() opened the torchrun process group: leave it before exiting
            distributed.cleanup()
    _say(*_summary(result, run_dir))
    return 0


def _group_initialized() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()
