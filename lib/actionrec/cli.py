"""The command line: ``python -m actionrec.train`` (:func:`train_main`), ``python -m actionrec.evaluate``
(:func:`evaluate_main`) and ``python -m actionrec.data.prepare`` (:func:`prepare_main`).

Every :class:`~actionrec.train.TrainConfig` field is a train flag, generated from the dataclass (a new
field gets its flag, type and help text -- its ``field(metadata={"help": ...})`` -- with no change here)::

    foo_bar: int → --foo-bar 3    foo: int | None → --foo none    flag: bool → --flag / --no-flag
    amp: bool | str → --amp auto|true|false    model_kwargs: dict → --model-kwargs '{"r": 4}' --model-kw r=4
    dataset_kwargs: dict → --dataset-kwargs '{...}' --data-kw size=112   (KEY=VALUE: JSON if it parses)

A config is resolved as TrainConfig defaults ─→ ``--config FILE`` (.json/.toml) ─→ field flags ─→
``--data-root``/``--split`` (into ``dataset_kwargs``) ─→ ``TrainConfig(...)`` validates. ``--resume RUN_DIR``
starts from ``RUN_DIR/config.json`` and lets flags change only ``RUNTIME_FIELDS``. Exit codes: 0 done;
2 bad command line (argparse); 1 a value the config or the run rejects (one line ``error: ...``, no
traceback unless ``--traceback``); 130 interrupted. Under ``torchrun`` only rank 0 prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

import torch.distributed as dist

from .data import DATASETS
from .models import MODELS
from .train import (CHECKPOINT_FILE, CONFIG_FILE, FINAL_FILE, METRICS_FILE, RUNTIME_FIELDS, TrainConfig, config_diff,
                    fit, is_finished)
from .train.config import json_or_text, load_config_file, text_parser
from .train.distributed import cleanup
from .train.evaluate import DEFAULT_VIEWS, SINGLE_VIEW_DATASETS, evaluate_run

__all__ = ["FieldFlag", "build_train_parser", "resolve_train_config", "load_config_file", "parse_kv", "field_flags",
           "train_main", "build_evaluate_parser", "evaluate_main"]

# Command-line options that are not TrainConfig fields (a field of the same name would clash).
_CLI_ONLY = ("config", "resume", "run_dir", "data_root", "split", "print_config", "progress", "verbose", "traceback")
# The KEY=VALUE flag of each dict field; other dict fields get --<name>-kw (minus a trailing "_kwargs").
_KV_FLAGS = {"dataset_kwargs": "--data-kw"}


# ---------------------------------------------------------------------------------- Flags from the dataclass


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


def _parser_for(tp: Any) -> tuple[Callable[[str], Any], str]:
    """An argparse ``type`` and a metavar for a field annotation (``int | None`` → ``INT|none``)."""
    parse, names = text_parser(tp)

    def arg_type(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return arg_type, "|".join("true|false" if n == "bool" else n if n == "none" else n.upper() for n in names)


def field_flags(cls: type | None = None) -> list[FieldFlag]:
    """One :class:`FieldFlag` per field of ``cls`` (default: :class:`~actionrec.train.TrainConfig`); the
    help text is the field's ``metadata["help"]``, with the valid names of ``model`` and ``dataset``."""
    cls = TrainConfig if cls is None else cls
    hints = typing.get_type_hints(cls)
    names = {"model": sorted(MODELS), "dataset": sorted(DATASETS)}
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in _CLI_ONLY:
            raise RuntimeError(f"TrainConfig field {f.name!r} clashes with the command-line option {_flag(f.name)}; "
                               "rename one of them in actionrec/cli.py")
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        text = f.metadata.get("help", "") + (": " + ", ".join(names[f.name]) if f.name in names else "")
        text = (text + f" (default: {json.dumps(default)})").strip().replace("%", "%%")
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
    return key.strip(), json_or_text(value)


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


# ---------------------------------------------------------------------------------- Resolving a config


def _apply(base: dict[str, Any], args: argparse.Namespace, flags: list[FieldFlag]) -> dict[str, Any]:
    """``base`` (field dict) with the command line applied: field flags, KEY=VALUE items (``name__kv``),
    conveniences."""
    cfg, over = dict(base), vars(args)
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


def resolve_train_config(args: argparse.Namespace):
    """``(TrainConfig, run_dir or None)`` from parsed arguments (ValueError with a one-line message)."""
    flags = field_flags()
    if getattr(args, "resume", None) is not None:
        run_dir = Path(args.resume)
        if getattr(args, "config", None) is not None:
            raise ValueError(f"--resume {run_dir} cannot be combined with --config (the run dir holds its config)")
        other = getattr(args, "run_dir", None)
        if other is not None and Path(other).resolve() != run_dir.resolve():
            raise ValueError(f"--resume {run_dir} continues the run in {run_dir}; drop --run-dir {other}")
        cfg_path = run_dir / CONFIG_FILE
        if not cfg_path.is_file():
            raise ValueError(f"--resume {run_dir}: no {CONFIG_FILE} there; is it a run directory written by "
                             "python -m actionrec.train?")
        saved = json.loads(cfg_path.read_text())
        try:
            cfg = TrainConfig.from_dict(_apply(saved, args, flags))
        except ValueError as e:
            raise ValueError(_flag_error(e, flags)) from None
        diff = config_diff(saved, cfg)
        if diff:
            old, new = TrainConfig.from_dict(saved).full_dict(), cfg.full_dict()
            details = "; ".join(f"{_flag(k)}: saved {json.dumps(old[k])}, given {json.dumps(new[k])}" for k in diff)
            raise ValueError(f"--resume {run_dir}: only runtime fields ({', '.join(RUNTIME_FIELDS)}) may change "
                             f"on resume, not {', '.join(diff)} ({details}); train the new config into a new --run-dir")
        return cfg, run_dir
    try:
        base = load_config_file(args.config) if getattr(args, "config", None) is not None else {}
    except ValueError as e:
        raise ValueError(f"--config {e}") from None
    try:
        cfg = TrainConfig.from_dict(_apply(base, args, flags))
    except ValueError as e:
        where = f"--config {args.config}: " if getattr(args, "config", None) and str(e).startswith("unknown") else ""
        raise ValueError(where + _flag_error(e, flags)) from None
    return cfg, (Path(args.run_dir) if getattr(args, "run_dir", None) is not None else None)


# ---------------------------------------------------------------------------------- Entry point


def _is_rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _group_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def _say(*lines: str) -> None:
    if _is_rank0():
        print("\n".join(lines), flush=True)


def _error(msg: str) -> int:
    first = msg.strip().splitlines()[0] if msg.strip() else "failed"
    print(f"error: {first}", file=sys.stderr, flush=True)
    return 1


def _summary(result: dict[str, Any], run_dir: Path) -> list[str]:
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
              f"config:     {run_dir / CONFIG_FILE}",
              f"metrics:    {run_dir / METRICS_FILE}",
              f"checkpoint: {run_dir / CHECKPOINT_FILE}"]
    if result.get("finished"):
        views = "" if result["config"]["dataset"] in SINGLE_VIEW_DATASETS else "   (multi-view test: --clips 10 --crops 3)"
        lines += [f"final:      {run_dir / FINAL_FILE}",
                  f"next:       python -m actionrec.evaluate --run-dir {run_dir}{views}"]
    return lines


def train_main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.train [flags]``: resolve the config, ``fit`` it, print where results went.

    Returns the exit code (0 done, 1 rejected value / failed run, 130 interrupted); argparse errors
    and ``--help`` raise ``SystemExit`` (code 2 / 0) as usual.
    """
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
        print(json.dumps(cfg.full_dict(), indent=2))
        return 0
    if run_dir is None:
        parser.error("--run-dir DIR is required (or --resume RUN_DIR, or --print-config)")
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    finished_before = is_finished(run_dir)
    resumed = (run_dir / CHECKPOINT_FILE).exists() and not finished_before
    if finished_before:
        _say(f"{run_dir} already holds a finished run of this config: not training again")
    else:
        _say(f"{'resuming' if resumed else 'training'} {cfg.model} on {cfg.dataset} for {cfg.epochs} epochs -> {run_dir}")
    had_group = _group_initialized()
    try:
        result = fit(cfg, run_dir, progress=args.progress and _is_rank0())
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
            cleanup()
    _say(*_summary(result, run_dir))
    return 0


# ---------------------------------------------------------------------------------- python -m actionrec.evaluate


def build_evaluate_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m actionrec.evaluate``."""
    p = argparse.ArgumentParser(
        prog="python -m actionrec.evaluate",
        description="Multi-view testing of a finished run: softmax scores of each test video's clips x crops "
                    "are averaged; video-level top-1/top-5, per-class accuracy and the confusion matrix are "
                    "written to RUN_DIR/eval_<clips>x<crops>.json.",
        epilog="example: python -m actionrec.evaluate --run-dir runs/mtnet64_ucf101_s1 --clips 10 --crops 3",
    )
    p.add_argument("--run-dir", required=True, metavar="DIR", help="a finished run of python -m actionrec.train")
    p.add_argument("--clips", type=int, default=None, metavar="K",
                   help=f"temporal clips per video (default {DEFAULT_VIEWS[0]}; 1 for one-view datasets)")
    p.add_argument("--crops", type=int, default=None, choices=(1, 3),
                   help=f"spatial crops per clip (default {DEFAULT_VIEWS[1]}; 1 for one-view datasets)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="views per batch (default: the run's)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present) | cpu | cuda | cuda:N")
    p.add_argument("--num-workers", type=int, default=None, metavar="N", help="DataLoader workers (default: the run's)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="autocast on CUDA (default: the run's amp setting)")
    p.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    return p


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.evaluate`` (:func:`actionrec.train.evaluate_run`): exit 0 done, 1 rejected
    input (one line on stderr), 2 bad flags."""
    args = build_evaluate_parser().parse_args(argv)
    had_group = _group_initialized()
    try:
        r = evaluate_run(args.run_dir, clips=args.clips, crops=args.crops, batch_size=args.batch_size,
                         device=args.device, num_workers=args.num_workers, amp=args.amp)
    except (ValueError, FileNotFoundError, NotADirectoryError) as e:
        if args.traceback:
            raise
        print(f"error: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}", file=sys.stderr)
        return 1
    finally:
        if not had_group:
            cleanup()  # leave the process group evaluate_run joined under torchrun
    if _is_rank0():
        print(f"{r['videos']} videos x {r['views_per_video']} views ({r['clips']} clips x {r['crops']} crops): "
              f"video top-1 {r['top1']:.4f}  top-5 {r['top5']:.4f}  mean class acc {r['mean_class_acc']:.4f}  "
              f"(single view top-1 {r['view_top1']:.4f}), {r['wall_s']:.0f} s")
        if r["label_conflicts"] or r["bad_videos"]:
            print(f"warning: {r['bad_videos']} unreadable video(s) replaced, {r['label_conflicts']} video(s) with "
                  "mixed view labels")
        print(f"written: {r['path']}")
    return 0


# ------------------------------------------------------------------------------------------------
# python -m actionrec.data.prepare: the pre-decoded frame cache (actionrec.data.videos.prepare)
# ------------------------------------------------------------------------------------------------

from .data.videos.annotations import ANNOTATIONS as VIDEO_ANNOTATIONS  # noqa: E402
from .data.videos.prepare import DEFAULT_SUBSETS, prepare_cache  # noqa: E402
from .data.videos.video_io import VideoReadError  # noqa: E402


def build_prepare_parser() -> argparse.ArgumentParser:
    """The argparse of ``python -m actionrec.data.prepare`` (arguments of :func:`prepare_cache`)."""
    ap = argparse.ArgumentParser(
        prog="python -m actionrec.data.prepare",
        description="Decode every video of a dataset once into a memory-mapped frame cache "
                    "(read it with VideoDataset(cache_dir=OUT) / dataset_kwargs={'cache_dir': OUT}).")
    ap.add_argument("--dataset", required=True, choices=sorted(VIDEO_ANNOTATIONS))
    ap.add_argument("--data-root", required=True, help="the folder holding the dataset's videos and annotations")
    ap.add_argument("--out", required=True, help="cache folder (created; an existing cache is extended / resumed)")
    ap.add_argument("--fold", type=int, default=1, help="official split (ucf101, hmdb51)")
    ap.add_argument("--subsets", nargs="+", default=None,
                    help="annotation subsets (default: " + "; ".join(
                        f"{k} {' '.join(v) if v else 'the subset folders'}" for k, v in DEFAULT_SUBSETS.items())
                    + "; folder: 'none' = the root's class folders)")
    ap.add_argument("--short-side", type=int, default=128,
                    help="shorter side of the stored frames, never upsampled (0: original size); use the "
                         "dataset's short_side (the hi of a jitter range)")
    ap.add_argument("--shard-size-mb", type=float, default=1024, help="shard size (MiB)")
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="decoding processes (0: none)")
    ap.add_argument("--decode-mb", type=float, default=256, help="RGB MiB decoded per read (memory per worker)")
    ap.add_argument("--strict", action="store_true", help="stop at the first unreadable or missing video")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--annotation-dir", help="ucf101 / hmdb51 split folder (default: inside --data-root)")
    ap.add_argument("--csv", help="kinetics csv")
    ap.add_argument("--labels-json", help="ssv2 labels json")
    ap.add_argument("--split-json", help="ssv2 split json")
    return ap


def prepare_main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.data.prepare``; returns the exit status (0 done, problems listed; 2 bad
    arguments or a ``--strict`` failure)."""
    args = build_prepare_parser().parse_args(argv)
    ann = {k: getattr(args, k) for k in ("annotation_dir", "csv", "labels_json", "split_json") if getattr(args, k)}
    subsets = None if args.subsets is None else [None if s in ("none", "None", ".") else s for s in args.subsets]
    logging.basicConfig(level=logging.ERROR, format="%(message)s")  # the summary below says it all
    try:
        res = prepare_cache(args.dataset, args.data_root, args.out, fold=args.fold, subsets=subsets,
                            short_side=args.short_side or None, shard_size_mb=args.shard_size_mb,
                            workers=args.workers, strict=args.strict, progress=not args.no_progress,
                            decode_mb=args.decode_mb, annotation_kwargs=ann)
    except (ValueError, FileNotFoundError, RuntimeError, VideoReadError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{res['out']}: {res['videos']} videos cached ({res['new']} decoded now, {res['already_cached']} already "
          f"cached), {res['frames']} frames in {res['shards']} shard(s), {res['bytes'] / 2**30:.2f} GiB, "
          f"short side {res['short_side'] or 'original'}; {res['seconds']:.1f} s")
    probs = [p for p in res["problems"] if p["stage"] != "short"]
    held = [p for p in res["problems"] if p["stage"] == "short"]
    if probs:
        print(f"{len(probs)} video(s) NOT cached (listed in {Path(res['out']) / 'problems.jsonl'}):")
        for p in probs[:50]:
            print(f"  {p['path']}: {p['reason']}")
        if len(probs) > 50:
            print(f"  ... and {len(probs) - 50} more")
    if held:
        print(f"{len(held)} video(s) cached with their last frame held (a few frames short of the header's count)")
    print(f"use it: VideoDataset(..., cache_dir={res['out']!r}, short_side={res['short_side']})")
    return 0
