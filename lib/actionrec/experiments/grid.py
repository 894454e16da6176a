"""Training a grid of configs x seeds, reusing finished runs, one run per core.

::

    run_grid({"r=0.5": cfg_a, "r=1": cfg_b}, seeds=[0, 1, 2], out_dir="runs/ratio", extras=...)
       │  out_dir/<name>/seed_<k>/  (fit(replace(cfg, seed=k), ...); finished runs are loaded, not retrained)
       ▼
    one row per run (config-then-seed order): name, seed, top1, top5, val_top1, best_val_top1, val_auc,
    params, wall_s, steps, epochs, device, run_dir, skipped, [error], extras[name]

:func:`train_grid` is :func:`run_grid` with one worker process per core, the wall time and a log
line. :func:`config_tag` hashes every result-relevant setting of a config, so a run's folder name
changes when a notebook parameter does. :func:`find_finished_run` finds a finished run of a config
under some folders (so one chapter can reuse another's run). A finished run is reused only when its
config matches *and* its ``fingerprint.json`` matches what this code computes for the config and seed
(:mod:`actionrec.train.fingerprint`: model structure, initial weights, first training step); a run
made by other code (or by code from before fingerprints) is moved aside to
``out_dir/<name>/stale-seed_<k>-<hash>`` and retrained (:func:`set_aside_stale`).
:func:`fit_with_snapshots` trains a run epoch by epoch (``fit``'s exact resume) and keeps the weights
after every epoch in ``run_dir/snapshots/epoch_<k>.pt`` (``epoch_0`` = the initialisation ``fit``
starts from).

A run is a pure function of its config and seed: with the same number of torch threads per run the
rows are bit-identical for any number of worker processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import torch
from tqdm.auto import tqdm

from ..train import (CHECKPOINT_FILE, CONFIG_FILE, FINAL_FILE, RUNTIME_FIELDS, TrainConfig, build_model_from_config,
                     computed_fields, fit, is_finished)
from ..train.fingerprint import code_fingerprint, read_fingerprint, same_fingerprint, short_hash
from ..utils import get_device, seed_everything
from ..utils.checks import check_bool, check_choice, check_int
from .progress import GridReport
from .reversal import add_reversal_confusion, has_reversal_pairs

__all__ = ["run_grid", "train_grid", "config_tag", "run_dir_of", "find_finished_run", "same_config",
           "same_code", "set_aside_stale", "trial_config", "run_threads", "fit_with_snapshots", "ROW_FIELDS", "SNAPSHOT_DIR", "STALE_PREFIX"]

#: The fields of a :func:`run_grid` row (``extras`` may not reuse them).
ROW_FIELDS = ("name", "seed", "top1", "top5", "val_top1", "best_val_top1", "val_auc", "params", "wall_s", "steps",
              "epochs", "device", "run_dir", "skipped", "error")
#: Folder of :func:`fit_with_snapshots`' per-epoch weights inside a run directory.
SNAPSHOT_DIR = "snapshots"
#: Prefix of a run set aside as made by other code: ``name/seed_<k>`` → ``name/stale-seed_<k>-<hash>``.
STALE_PREFIX = "stale-"
_NAME_RE = re.compile(r"^[A-Za-z0-9._=+,-]+$")


def _pairs(configs: Mapping[str, TrainConfig] | Iterable[tuple[str, TrainConfig]]) -> list[tuple[str, TrainConfig]]:
    pairs = list(configs.items()) if isinstance(configs, Mapping) else [tuple(p) for p in configs]
    names = [n for n, _ in pairs]
    if not pairs:
        raise ValueError("configs is empty; pass {name: TrainConfig, ...} or [(name, TrainConfig), ...]")
    for name, cfg in pairs:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"config name {name!r} must be a non-empty string of letters, digits and ._=+,- (it names a folder)")
        if not isinstance(cfg, TrainConfig):
            raise ValueError(f"configs[{name!r}] must be a TrainConfig, got {type(cfg).__name__}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"configs has duplicate names {dup}")
    return pairs


def config_tag(cfg: TrainConfig, length: int = 8) -> str:
    """Short stable hash of everything in ``cfg`` except the seed (and settings that do not change
    results: ``train.computed_fields`` drops device, workers, caching, data_root, ...). Put it in a
    config's name so that changing a notebook parameter (epochs, lr, ...) trains new runs instead of
    colliding with finished ones."""
    d = computed_fields(cfg.to_dict())  # without device, workers, caching, data_root, ...
    d.pop("seed", None)
    blob = json.dumps(d, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:length]


def run_dir_of(out_dir: str | os.PathLike, name: str, seed: int) -> Path:
    """Where ``run_grid`` puts the run of config ``name`` with ``seed``: ``out_dir/name/seed_<seed>``."""
    return Path(out_dir) / name / f"seed_{seed}"


def run_grid(
    configs: Mapping[str, TrainConfig] | Iterable[tuple[str, TrainConfig]],
    seeds: Iterable[int],
    out_dir: str | os.PathLike,
    *,
    extras: Mapping[str, Mapping[str, Any]] | None = None,
    on_diverge: str = "raise",
    progress: bool = True,
    workers: int | str = 1,
    log: Callable[[str], Any] | None = print,
    order: str = "config",
    data_seed: str = "config",
    only_finished: bool = False,
    seeds_of: Mapping[str, Iterable[int]] | None = None,
) -> list[dict[str, Any]]:
    """Train every (config, seed) into ``out_dir/name/seed_k`` (finished runs are loaded, not
    retrained) and return one row per run, in config-then-seed order (``order="config"``) or
    seed-then-config order (``"seed"``: runs are also started in that order, so an interrupted grid
    leaves complete seed blocks, every variant of seed k, for paired statistics).

    ``data_seed``: ``"config"`` keeps each config's ``data_seed`` (every seed trains and tests on
    the same rendered clips); ``"seed"`` sets ``data_seed`` to the run's seed, so each trial draws its
    own data and every variant of seed k shares it (the paired design of Bouthillier et al., 2021).
    ``only_finished=True`` trains nothing: it returns the rows of the runs already finished (made by
    this code) and leaves the others out, e.g. to publish a grid that is still running.
    ``seeds_of={name: seeds}`` trains that config on those of ``seeds`` only (e.g. a positive control
    whose effect a few seeds resolve; its claims are then decided on the seeds both arms hold).

    Row: ``name, seed, top1, top5`` (test), ``val_top1`` (last val), ``best_val_top1``, ``val_auc``
    (mean val top-1 over all evaluations: a learning-speed summary), ``params, wall_s, steps,
    epochs, device, run_dir, skipped`` (True when the run was already finished), then
    ``extras[name]`` (e.g. ``{"r": 0.5, "g": 8, "gmacs": 1.2}``). ``on_diverge="record"`` turns a
    NaN/inf loss into a row with ``error`` set and metrics None instead of raising.

    Reuse: a finished (or resumable) run is reused only when its config matches and its
    ``fingerprint.json`` matches the fingerprint this code computes for the config and seed
    (:func:`same_code`); other runs of the same config are moved aside (:func:`set_aside_stale`) and
    retrained, and ``log`` (default ``print``; None: silent) gets one line naming them.

    ``workers``: runs trained at once, each in its own process (``spawn``) with
    ``cpu_count // workers`` torch threads; ``"auto"`` = one per CPU core on CPU, 1 when any config
    runs on CUDA (one GPU is not shared between processes). With the same number of threads per
    run the rows are bit-identical for any ``workers``. Interrupting stops the pool; finished runs
    are kept, partial ones resume. ``progress``: a tqdm bar and, inside a Jupyter kernel (papermill,
    ``make ablation``), one line per finished run (runs done / total, elapsed, ETA) in the terminal
    that started the kernel, not in the notebook (:mod:`.progress`).
    """
    pairs = _pairs(configs)
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds={seeds!r} must be a non-empty list of non-negative ints")
    extras = dict(extras or {})
    unknown = sorted(set(extras) - {n for n, _ in pairs})
    if unknown:
        raise ValueError(f"extras has names {unknown} that are not in configs")
    for name, extra in extras.items():
        clash = sorted(set(extra) & set(ROW_FIELDS))
        if clash:
            raise ValueError(f"extras[{name!r}] keys {clash} clash with row fields; rename them")
    check_choice("on_diverge", on_diverge, ["raise", "record"])
    check_choice("order", order, ["config", "seed"])
    check_choice("data_seed", data_seed, ["config", "seed"])
    check_bool("only_finished", only_finished)
    subsets = {name: list(sub) for name, sub in (seeds_of or {}).items()}
    for name, sub in subsets.items():
        if name not in {n for n, _ in pairs} or not sub or set(sub) - set(seeds):
            raise ValueError(f"seeds_of[{name!r}]={sub!r}: name a config of the grid and a non-empty subset of "
                             f"seeds={seeds!r}")
    runs = [(name, trial_config(cfg, seed, data_seed), seed, run_dir_of(out_dir, name, seed))
            for name, cfg in pairs for seed in seeds if seed in subsets.get(name, seeds)]
    if order == "seed":
        runs.sort(key=lambda run: seeds.index(run[2]))  # stable: config order within a seed
    stale = set_aside_stale([(cfg, rd) for _, cfg, _, rd in runs])
    if stale and log is not None:
        log(f"{len(stale)} finished or started runs were made by other code (fingerprint changed or unknown) and are "
            f"retrained; the old ones are kept beside them as {STALE_PREFIX}seed_<k>-<hash>: "
            + ", ".join(f"{old.parent.name}/{old.name}" for old, _ in stale))
    if only_finished:
        runs = [run for run in runs if is_finished(run[3])]
    todo = [i for i, (_, _, _, rd) in enumerate(runs) if not is_finished(rd)]
    n_workers, threads = _workers(workers, [runs[i][1] for i in todo])
    results: dict[int, dict[str, Any]] = {}
    with tqdm(total=len(runs), desc="grid", disable=not progress) as bar:
        for i, (name, cfg, seed, run_dir) in enumerate(runs):  # finished runs: load in this process
            if i not in todo:
                results[i] = fit(cfg, run_dir, progress=False)
                bar.update(1)
        report = GridReport(len(runs), len(todo), n_workers, enabled=progress)  # lines in the kernel's terminal
        if n_workers <= 1:
            for i in todo:
                name, cfg, seed, run_dir = runs[i]
                bar.set_postfix(run=f"{name}/seed_{seed}", refresh=False)
                results[i] = _fit_or_record(cfg, run_dir, progress, on_diverge)
                bar.update(1)
                report.finished(f"{name}/seed_{seed}", results[i])
        elif todo:
            with cf.ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                        initargs=(threads,)) as pool:
                futures = {pool.submit(_fit_or_record, runs[i][1], runs[i][3], False,
                                       on_diverge): i for i in todo}
                try:
                    for fut in cf.as_completed(futures):
                        i = futures[fut]
                        results[i] = fut.result()  # re-raises a worker's error here
                        bar.set_postfix(done=f"{runs[i][0]}/seed_{runs[i][2]}", refresh=False)
                        bar.update(1)
                        report.finished(f"{runs[i][0]}/seed_{runs[i][2]}", results[i])
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    return [_row(name, seed, results[i], run_dir, i not in todo, extras.get(name, {}))
            for i, (name, cfg, seed, run_dir) in enumerate(runs)]


def trial_config(cfg: TrainConfig, seed: int, data_seed: str = "config") -> TrainConfig:
    """The config of trial ``seed`` of ``cfg`` as :func:`run_grid` trains it: ``seed`` set, and
    ``data_seed`` too when ``data_seed="seed"``."""
    return replace(cfg, seed=seed, **({"data_seed": seed} if data_seed == "seed" else {}))


def run_threads(cfgs: Iterable[TrainConfig], workers: int | str = "auto") -> int:
    """Torch threads each run of ``cfgs`` trains with under ``run_grid(workers=workers)``."""
    return _workers(workers, list(cfgs))[1]


def _workers(workers: int | str, cfgs: Sequence[TrainConfig]) -> tuple[int, int]:
    """``(processes, torch threads per process)`` for ``run_grid(workers=...)``."""
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r} must be an int >= 1 or 'auto'")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cuda = any(get_device(c.device).type == "cuda" for c in cfgs)
    if workers == "auto":
        workers = 1 if cuda else min(cores, max(1, len(cfgs)))
    elif workers > 1 and cuda:
        raise ValueError(f"workers={workers}: runs on CUDA train one at a time (one GPU); use workers=1 or 'auto'")
    return workers, max(1, cores // workers)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _fit_or_record(cfg: TrainConfig, run_dir: Path, progress: bool, on_diverge: str) -> dict[str, Any]:
    try:
        return fit(cfg, run_dir, progress=progress)
    except FloatingPointError as e:
        if on_diverge == "raise":
            raise
        return {"error": str(e)}


def _row(name: str, seed: int, result: dict[str, Any], run_dir: Path, skipped: bool, extra: Mapping[str, Any]) -> dict[str, Any]:
    hist = result.get("val_history") or []
    row = {
        "name": name, "seed": seed, "top1": result.get("top1"), "top5": result.get("top5"),
        "val_top1": hist[-1]["top1"] if hist else None, "best_val_top1": result.get("best_val_top1"),
        "val_auc": sum(h["top1"] for h in hist) / len(hist) if hist else None,
        "params": result.get("params"), "wall_s": result.get("wall_s"), "steps": result.get("steps"),
        "epochs": result.get("epochs"), "device": result.get("device"), "run_dir": str(run_dir), "skipped": skipped,
    }
    if "error" in result:
        row["error"] = result["error"]
    return {**row, **extra}


def train_grid(runs: Mapping[str, TrainConfig], seeds: int | Sequence[int], out_dir: str | os.PathLike, *,
               extras: Mapping[str, Mapping[str, Any]] | None = None, on_diverge: str = "raise",
               reversal: bool = False, log: Callable[[str], Any] | None = print, order: str = "config",
               data_seed: str = "config", only_finished: bool = False,
               seeds_of: Mapping[str, Iterable[int]] | None = None) -> tuple[list[dict[str, Any]], float]:
    """Train every run with seeds ``0 .. seeds-1`` (an int) or the listed seeds (:func:`run_grid`, one
    run per core, finished runs reused; ``order``, ``data_seed``, ``only_finished`` and ``seeds_of`` as there) and return ``(rows,
    wall seconds)``.

    ``log`` (default ``print``) gets one line: runs trained now and reused, and the wall time; one
    more naming the runs made by other code that were set aside and retrained (they count as trained
    now), and one naming the runs that diverged (``on_diverge="record"``: their rows carry ``error``).
    ``reversal=True`` adds ``paired_top1`` / ``swapped`` to each row
    (:func:`~actionrec.experiments.reversal.add_reversal_confusion`) when every run's dataset has
    time-reversed class pairs, and nothing otherwise.
    """
    t0 = time.time()
    seeds = range(seeds) if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
    rows = run_grid(runs, seeds, out_dir, extras=extras, workers="auto", on_diverge=on_diverge, log=log, order=order,
                    data_seed=data_seed, only_finished=only_finished, seeds_of=seeds_of)
    wall = time.time() - t0
    if reversal and all(has_reversal_pairs(cfg.dataset) for cfg in runs.values()):
        add_reversal_confusion(rows)
    if log is not None:
        trained = sum(not r["skipped"] for r in rows)
        log(f"{len(rows)} runs ({trained} trained now, {len(rows) - trained} reused) in {wall / 60:.1f} min")
        failed = [f"{r['name']}/seed_{r['seed']}" for r in rows if r.get("error")]
        if failed:
            log(f"{len(failed)} runs diverged (non-finite loss) and are left out of the means: {', '.join(failed)}")
    return rows, wall


# --------------------------------------------------------------------------------------------
# Reusing finished runs; per-epoch snapshots
# --------------------------------------------------------------------------------------------


def same_config(saved: dict, cfg: TrainConfig) -> bool:
    """True when the saved config dict and ``cfg`` agree in every field but the runtime ones
    (device, workers, caching: ``train.RUNTIME_FIELDS``)."""
    try:
        old = TrainConfig.from_dict(saved).to_dict()
    except (TypeError, ValueError):  # a config of another version of the code
        return False
    new = cfg.to_dict()
    return all(old[k] == new[k] for k in new if k not in RUNTIME_FIELDS)


def same_code(run_dir: str | os.PathLike, cfg: TrainConfig, current: Optional[dict] = None) -> bool:
    """True when ``run_dir/fingerprint.json`` matches what this code computes for ``cfg`` (seed
    included; :func:`~actionrec.train.fingerprint.same_fingerprint`); False when the run has no
    fingerprint (made by older code). ``current``: the record of ``cfg`` if already computed."""
    stored = read_fingerprint(run_dir)
    if stored is None:
        return False
    return same_fingerprint(stored, current if current is not None else code_fingerprint(cfg))


def set_aside_stale(runs: Iterable[tuple[TrainConfig, str | os.PathLike]]) -> list[tuple[Path, Path]]:
    """Move every run of ``runs`` (``(cfg with its seed, run_dir)`` pairs) that was made by other code
    out of the way, so that it is retrained and not lost; return ``[(run_dir, where it went)]``.

    A run is looked at when it holds ``final.json`` or ``checkpoint.pt`` (a run without either
    restarts from scratch anyway) and its ``config.json`` matches ``cfg`` (:func:`same_config`; a
    run of another config is left for ``fit`` to refuse). It is moved to
    ``<parent>/stale-<name>-<hash>`` (``hash``: its fingerprint's first 8 hex digits or
    ``unknown``; ``-2``, ``-3``... when taken) when :func:`same_code` is False. One fingerprint is
    computed per run looked at.
    """
    moved = []
    for cfg, run_dir in runs:
        run_dir = Path(run_dir)
        if not ((run_dir / FINAL_FILE).exists() or (run_dir / CHECKPOINT_FILE).exists()):
            continue
        try:
            saved = json.loads((run_dir / CONFIG_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not same_config(saved, cfg) or same_code(run_dir, cfg):
            continue
        base = f"{STALE_PREFIX}{run_dir.name}-{short_hash(read_fingerprint(run_dir))}"
        aside, k = run_dir.with_name(base), 1
        while aside.exists():
            k += 1
            aside = run_dir.with_name(f"{base}-{k}")
        run_dir.rename(aside)
        moved.append((run_dir, aside))
    return moved


def find_finished_run(cfg: TrainConfig, roots: Iterable[str | os.PathLike], *, max_depth: int = 3) -> Optional[Path]:
    """The first finished run directory (sorted, per root in the order given) under ``roots`` whose
    config equals ``cfg`` (seed included, :func:`same_config`) and that this code made
    (:func:`same_code`; the fingerprint of ``cfg`` is computed once, when the first run of its
    config is found), searching at most ``max_depth`` levels below each root
    (``runs/<name>/seed_<k>`` is 2; folders set aside as ``stale-*`` are skipped); None when there is
    none. Missing roots are skipped. Nothing is copied: the caller loads the model from the folder
    found."""
    check_int("max_depth", max_depth, min_value=0)
    current = None
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        candidates = sorted(p.parent for d in range(max_depth + 1) for p in root.glob("/".join(["*"] * d + [FINAL_FILE])))
        for run in candidates:
            if any(part.startswith(STALE_PREFIX) for part in run.relative_to(root).parts):
                continue
            try:
                saved = json.loads((run / CONFIG_FILE).read_text())
            except (OSError, ValueError):
                continue
            if same_config(saved, cfg) and read_fingerprint(run) is not None:
                current = current if current is not None else code_fingerprint(cfg)
                if same_code(run, cfg, current):
                    return run
    return None


def fit_with_snapshots(cfg: TrainConfig, run_dir: str | os.PathLike, *, num_classes: int,
                       progress: bool = False) -> tuple[dict, dict[int, Path]]:
    """Train ``cfg`` in ``run_dir`` like :func:`~actionrec.train.fit`, saving the weights after every
    epoch; return ``(fit's result, {epoch: snapshot path})`` for epochs ``0 .. cfg.epochs``.

    The run is the ordinary run of ``cfg`` (same weights, metrics and ``final.json`` as ``fit`` in one
    go). ``num_classes``: the dataset's class count (the head of the epoch-0 model, built exactly as
    ``fit`` builds it: ``seed_everything(cfg.seed)`` then the builder). Interrupted runs resume
    from their checkpoint; a run that was finished without snapshots raises (its intermediate
    weights are gone: delete the folder or use another ``run_dir``). ``cfg.max_steps`` must be None.
    """
    if cfg.max_steps is not None:
        raise ValueError("fit_with_snapshots snapshots whole epochs; use a config with max_steps=None")
    run_dir = Path(run_dir)
    snaps = run_dir / SNAPSHOT_DIR
    paths = {e: snaps / f"epoch_{e}.pt" for e in range(cfg.epochs + 1)}
    if all(p.exists() for p in paths.values()):
        return fit(cfg, run_dir, progress=False), paths
    if (run_dir / FINAL_FILE).exists():
        missing = [e for e, p in paths.items() if not p.exists()]
        raise FileNotFoundError(f"{run_dir} holds a finished run without the snapshots of epochs {missing}; "
                                "delete that folder (or use another run_dir) to retrain with snapshots")
    snaps.mkdir(parents=True, exist_ok=True)
    if not paths[0].exists():
        seed_everything(cfg.seed)
        torch.save(build_model_from_config(cfg, num_classes).state_dict(), paths[0])
    ckpt = run_dir / CHECKPOINT_FILE
    result = None
    for e in range(1, cfg.epochs + 1):
        if paths[e].exists():
            continue
        done = torch.load(ckpt, map_location="cpu", weights_only=True)["progress"]["epoch"] if ckpt.exists() else 0
        if done > e:
            raise FileNotFoundError(f"{run_dir}: the checkpoint is at epoch {done}, past the missing snapshot of "
                                    f"epoch {e}; delete the folder to retrain with snapshots")
        if done < e:
            result = fit(cfg, run_dir, progress=progress, stop_after_epoch=e if e < cfg.epochs else None)
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["progress"]["epoch"] != e:
            raise RuntimeError(f"{run_dir}: expected a checkpoint at epoch {e}, found {state['progress']['epoch']}")
        torch.save(state["model"], paths[e])
    if result is None or not result.get("finished"):
        result = fit(cfg, run_dir, progress=False)
    return result, paths
