"""Experiment grids: configs x seeds → one row per run → mean ± CI per config → verdicts.

Every ablation notebook calls this module instead of writing its own loop::

    rows = run_grid({"r=0.5": cfg_a, "r=1": cfg_b}, seeds=[0, 1, 2], out_dir="runs/ratio",
                    extras={"r=0.5": {"r": 0.5, "gmacs": 1.2}, "r=1": {"r": 1.0, "gmacs": 1.5}})
       │  out_dir/<name>/seed_<k>/  (fit(replace(cfg, seed=k), ...); finished runs are skipped)
       ▼
    summary = summarize(rows, by=["name"], metric="top1")  # mean, std, n, Student-t CI per name
    compare(summary, "r=0.5", "r=1")   # "higher" | "lower" | "indistinguishable", plus a sentence
    best(summary)                      # the best mean and the entries it cannot be told apart from
    write_results(rows, summary, out_dir)      # results.csv, summary.csv, results.json
    aggregate_curves(out_dir, "r=0.5")         # val top-1 vs step, mean ± CI over seeds

Statistics: the CI half-width is ``t_{(1+c)/2, n-1} · s / sqrt(n)`` with ``s`` the sample standard
deviation (ddof = 1). The Student-t quantile is computed here (scipy is not a dependency) by
inverting the t CDF, ``F(t) = 1 - I_{ν/(ν+t²)}(ν/2, 1/2) / 2`` for t > 0, with the regularised
incomplete beta function evaluated by its continued fraction (Numerical Recipes §6.4). ``compare``
calls a difference real only when the two CIs do not overlap (conservative; ``method="welch"`` uses
the Welch interval of the difference instead). With n = 1 there is no CI and no verdict beyond
"indistinguishable".
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from tqdm.auto import tqdm

from .train import FINAL_FILE, METRICS_FILE, TrainConfig, _jsonable, _write_json, fit, is_finished

__all__ = [
    "run_grid",
    "summarize",
    "compare",
    "best",
    "write_results",
    "load_curves",
    "aggregate_curves",
    "mean_ci",
    "t_cdf",
    "t_quantile",
    "betainc",
    "config_tag",
    "mtnet_ratio_claim",
    "srtg_placement_claim",
]

# Per-run outcomes: never copied into a summary as if they were properties of the config.
RUN_METRICS = ("top1", "top5", "val_top1", "best_val_top1", "val_auc", "wall_s", "error")
ROW_FIELDS = ("name", "seed", "top1", "top5", "val_top1", "best_val_top1", "val_auc", "params", "wall_s", "steps",
              "epochs", "device", "run_dir", "skipped", "error")
_NAME_RE = re.compile(r"^[A-Za-z0-9._=+,-]+$")


# --------------------------------------------------------------------------------------------
# Student's t
# --------------------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; NR §6.4)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)`` for a, b > 0 and 0 <= x <= 1."""
    if not (a > 0 and b > 0):
        raise ValueError(f"betainc needs a > 0 and b > 0 (got a={a}, b={b})")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc needs 0 <= x <= 1 (got x={x})")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom."""
    if not df > 0:
        raise ValueError(f"df={df} must be > 0")
    if t == 0:
        return 0.5
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse of ``t_cdf``: the t with ``t_cdf(t, df) == p`` (e.g. t_quantile(0.975, 2) = 4.303)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p={p} must be in (0, 1)")
    if not df > 0:
        raise ValueError(f"df={df} must be > 0")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):  # bisection to machine precision
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, sample std, CI half-width)``; std and half-width are NaN when n < 2."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1), e.g. 0.95")
    n = len(values)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std, t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)


# --------------------------------------------------------------------------------------------
# Running a grid
# --------------------------------------------------------------------------------------------


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
    results: device, workers, caching). Put it in a config's name so that changing a notebook
    parameter (epochs, lr, ...) trains new runs instead of colliding with finished ones."""
    import hashlib

    d = cfg.to_dict()
    for k in ("seed", "device", "num_workers", "cache_data"):
        d.pop(k, None)
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
) -> list[dict[str, Any]]:
    """Train every (config, seed) into ``out_dir/name/seed_k`` (finished runs are loaded, not
    retrained) and return one row per run, in config-then-seed order.

    Row: ``name, seed, top1, top5`` (test), ``val_top1`` (last val), ``best_val_top1``, ``val_auc``
    (mean val top-1 over all evaluations: a learning-speed summary), ``params, wall_s, steps,
    epochs, device, run_dir, skipped`` (True when the run was already finished), then
    ``extras[name]`` (e.g. ``{"r": 0.5, "g": 8, "gmacs": 1.2}``). ``on_diverge="record"`` turns a
    NaN/inf loss into a row with ``error`` set and metrics None instead of raising.

    ``workers``: runs trained at once, each in its own process (``spawn``) with
    ``cpu_count // workers`` torch threads; ``"auto"`` = one per CPU core on CPU, 1 when any config
    runs on CUDA (one GPU is not shared between processes). Small networks use cores far better
    this way than one process with several threads (per-op overhead dominates their steps): on the
    2-core machine the ratio notebook's default grid (15 runs) took 9.1 min with 1 worker x 1 thread
    and 6.9 min with 2 workers x 1 thread while another job used one of the cores, with the same
    15 results to the last digit. A run is a pure function of
    its config and seed; with the same number of threads per run the rows are bit-identical for any
    ``workers`` (tested). Interrupting stops the pool; finished runs are kept, partial ones resume.
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
    if on_diverge not in ("raise", "record"):
        raise ValueError(f"on_diverge={on_diverge!r} must be 'raise' or 'record'")
    runs = [(name, cfg, seed, run_dir_of(out_dir, name, seed)) for name, cfg in pairs for seed in seeds]
    todo = [i for i, (_, _, _, rd) in enumerate(runs) if not is_finished(rd)]
    n_workers, threads = _workers(workers, [runs[i][1] for i in todo])
    results: dict[int, dict[str, Any]] = {}
    with tqdm(total=len(runs), desc="grid", disable=not progress) as bar:
        for i, (name, cfg, seed, run_dir) in enumerate(runs):  # finished runs: load in this process
            if i not in todo:
                results[i] = fit(replace(cfg, seed=seed), run_dir, progress=False)
                bar.update(1)
        if n_workers <= 1:
            for i in todo:
                name, cfg, seed, run_dir = runs[i]
                bar.set_postfix(run=f"{name}/seed_{seed}", refresh=False)
                results[i] = _fit_or_record(replace(cfg, seed=seed), run_dir, progress, on_diverge)
                bar.update(1)
        elif todo:
            import concurrent.futures as cf
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                        initargs=(threads,)) as pool:
                futures = {pool.submit(_fit_or_record, replace(runs[i][1], seed=runs[i][2]), runs[i][3], False,
                                       on_diverge): i for i in todo}
                try:
                    for fut in cf.as_completed(futures):
                        i = futures[fut]
                        results[i] = fut.result()  # re-raises a worker's error here
                        bar.set_postfix(done=f"{runs[i][0]}/seed_{runs[i][2]}", refresh=False)
                        bar.update(1)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    return [_row(name, seed, results[i], run_dir, i not in todo, extras.get(name, {}))
            for i, (name, cfg, seed, run_dir) in enumerate(runs)]


def _workers(workers: int | str, cfgs: Sequence[TrainConfig]) -> tuple[int, int]:
    """``(processes, torch threads per process)`` for ``run_grid(workers=...)``."""
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r} must be an int >= 1 or 'auto'")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    from .utils import get_device

    cuda = any(get_device(c.device).type == "cuda" for c in cfgs)
    if workers == "auto":
        workers = 1 if cuda else min(cores, max(1, len(cfgs)))
    elif workers > 1 and cuda:
        raise ValueError(f"workers={workers}: runs on CUDA train one at a time (one GPU); use workers=1 or 'auto'")
    return workers, max(1, cores // workers)


def _init_worker(threads: int) -> None:
    import torch

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


# --------------------------------------------------------------------------------------------
# Aggregating
# --------------------------------------------------------------------------------------------


def _label(entry: Mapping[str, Any], by: Sequence[str]) -> str:
    if list(by) == ["name"]:
        return str(entry["name"])
    return ", ".join(f"{k}={entry[k]}" for k in by)


def summarize(rows: Sequence[Mapping[str, Any]], by: Sequence[str] | str = ("name",), metric: str = "top1", *,
              confidence: float = 0.95) -> list[dict[str, Any]]:
    """Group ``rows`` by the fields ``by`` (first-seen order) and aggregate ``metric`` over seeds.

    Each entry: the ``by`` fields, ``label``, ``metric``, ``mean``, ``std`` (ddof 1), ``n``,
    ``ci`` (half-width of the ``confidence`` Student-t CI), ``lo``/``hi`` (mean ∓ ci),
    ``confidence``, ``values``, ``seeds``, ``n_failed`` (rows whose metric is None, e.g. diverged),
    and every other field that is identical across the group (params, extras such as r or gmacs).
    """
    by = [by] if isinstance(by, str) else list(by)
    if not rows:
        raise ValueError("summarize: rows is empty")
    for key in [*by, metric]:
        missing = [r.get("name", i) for i, r in enumerate(rows) if key not in r]
        if missing:
            raise ValueError(f"field {key!r} (from by/metric) is missing in rows {missing[:5]}; row fields: {sorted(rows[0])}")
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(json.dumps(r[k], sort_keys=True, default=str) for k in by), []).append(r)
    out = []
    for members in groups.values():
        ok = [r for r in members if r[metric] is not None]
        values = [float(r[metric]) for r in ok]
        mean, std, ci = mean_ci(values, confidence) if values else (math.nan, math.nan, math.nan)
        entry = {k: members[0][k] for k in by}
        entry.update(label=_label(entry, by), metric=metric, mean=mean, std=std, n=len(values), ci=ci,
                     lo=mean - ci, hi=mean + ci, confidence=confidence, values=values,
                     seeds=[r.get("seed") for r in ok], n_failed=len(members) - len(ok))
        for k in members[0]:
            if k in entry or k in by or k in RUN_METRICS or k in ("seed", "run_dir", "skipped", metric):
                continue
            v = members[0][k]
            if isinstance(v, (int, float, str, bool, type(None))) and all(r.get(k) == v for r in members):
                entry[k] = v
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def _find(summary: Sequence[Mapping[str, Any]], sel: str | Mapping[str, Any], metric: str | None) -> Mapping[str, Any]:
    cands = [e for e in summary if metric is None or e["metric"] == metric]
    if isinstance(sel, str):
        hits = [e for e in cands if e["label"] == sel]
    else:
        hits = [e for e in cands if all(e.get(k) == v for k, v in sel.items())]
    if len(hits) != 1:
        what = "no entry" if not hits else f"{len(hits)} entries"
        raise ValueError(f"{what} of the summary match {sel!r}" + (f" (metric {metric!r})" if metric else "") +
                         f"; labels: {[e['label'] for e in cands]}")
    return hits[0]


def _fmt(entry: Mapping[str, Any], x: float) -> str:
    metric = entry["metric"]
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    if any(s in metric for s in ("top", "acc", "auc")):
        return f"{100 * x:.1f}%"
    return f"{x:.4g}"


def _describe(e: Mapping[str, Any]) -> str:
    ci = "" if e["n"] < 2 else f" ± {_fmt(e, e['ci']).rstrip('%')}"
    return f"{e['label']} ({e['metric']} {_fmt(e, e['mean'])}{ci}, n={e['n']})"


def compare(summary: Sequence[Mapping[str, Any]], a: str | Mapping[str, Any], b: str | Mapping[str, Any], *,
            metric: str | None = None, method: str = "overlap", higher_is_better: bool = True) -> dict[str, Any]:
    """Is entry ``a`` higher, lower, or indistinguishable from ``b`` on their metric?

    ``a``/``b`` are labels (the config name when grouping by name) or dicts of field values.
    ``method="overlap"``: a difference only when the two CIs do not overlap (conservative).
    ``method="welch"``: when the Welch CI of ``mean_a - mean_b`` excludes 0.
    Returns ``{"verdict": "higher" | "lower" | "indistinguishable", "a", "b", "metric", "mean_a",
    "mean_b", "diff", "diff_ci", "method", "better": label or None, "sentence"}``.
    """
    if method not in ("overlap", "welch"):
        raise ValueError(f"method={method!r} must be 'overlap' or 'welch'")
    ea, eb = _find(summary, a, metric), _find(summary, b, metric)
    if ea["metric"] != eb["metric"]:
        raise ValueError(f"{ea['label']!r} summarises {ea['metric']!r} but {eb['label']!r} summarises "
                         f"{eb['metric']!r}; pass metric=")
    diff = ea["mean"] - eb["mean"]
    diff_ci = _welch_ci(ea, eb)
    verdict, why = "indistinguishable", ""
    if min(ea["n"], eb["n"]) < 2:
        why = "fewer than 2 runs on one side, so no CI"
    elif method == "overlap":
        if ea["lo"] > eb["hi"]:
            verdict = "higher"
        elif ea["hi"] < eb["lo"]:
            verdict = "lower"
        why = f"the {ea['confidence']:.0%} CIs {'overlap' if verdict == 'indistinguishable' else 'do not overlap'}"
    else:
        if diff - diff_ci > 0:
            verdict = "higher"
        elif diff + diff_ci < 0:
            verdict = "lower"
        why = f"the Welch {ea['confidence']:.0%} CI of the difference ({_fmt(ea, diff)} ± {_fmt(ea, diff_ci).rstrip('%')}) " + (
            "contains 0" if verdict == "indistinguishable" else "excludes 0")
    better = None if verdict == "indistinguishable" else (ea if (verdict == "higher") == higher_is_better else eb)["label"]
    relation = {"higher": "higher than", "lower": "lower than", "indistinguishable": "indistinguishable from"}[verdict]
    sentence = f"{_describe(ea)} is {relation} {_describe(eb)}: {why}."
    return {"verdict": verdict, "a": ea["label"], "b": eb["label"], "metric": ea["metric"], "mean_a": ea["mean"],
            "mean_b": eb["mean"], "diff": diff, "diff_ci": diff_ci, "method": method, "better": better, "sentence": sentence}


def _welch_ci(ea: Mapping[str, Any], eb: Mapping[str, Any]) -> float:
    """Half-width of the Welch–Satterthwaite CI of ``mean_a - mean_b`` (NaN if n < 2 on a side)."""
    if min(ea["n"], eb["n"]) < 2:
        return math.nan
    va, vb = ea["std"] ** 2 / ea["n"], eb["std"] ** 2 / eb["n"]
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (ea["n"] - 1) + vb**2 / (eb["n"] - 1))
    return t_quantile(0.5 + ea["confidence"] / 2.0, df) * math.sqrt(va + vb)


def best(summary: Sequence[Mapping[str, Any]], *, metric: str | None = None, higher_is_better: bool = True,
         method: str = "overlap") -> dict[str, Any]:
    """The entry with the best mean, and the entries ``compare`` cannot tell apart from it.

    Returns ``{"best": label, "entry", "tied": [labels], "clear": bool (no ties), "sentence"}``.
    """
    cands = [e for e in summary if (metric is None or e["metric"] == metric) and not math.isnan(e["mean"])]
    if not cands:
        raise ValueError("best: no summary entry" + (f" for metric {metric!r}" if metric else "") + " has a value")
    if len({e["metric"] for e in cands}) > 1:
        raise ValueError(f"summary mixes metrics {sorted({e['metric'] for e in cands})}; pass metric=")
    top = (max if higher_is_better else min)(cands, key=lambda e: e["mean"])
    tied, reasons = [], []
    for e in cands:
        if e is not top and compare(cands, top["label"], e["label"], method=method)["verdict"] == "indistinguishable":
            tied.append(e["label"])
            why = "n < 2" if min(e["n"], top["n"]) < 2 else ("CIs overlap" if method == "overlap" else "Welch CI contains 0")
            reasons.append(f"{e['label']} ({why})")
    sentence = f"{_describe(top)} has the {'highest' if higher_is_better else 'lowest'} mean"
    if tied:
        sentence += f", but it is indistinguishable from {', '.join(reasons)}."
    elif len(cands) > 1:
        sentence += ", clearly ahead of every other entry."
    else:
        sentence += " (the only entry)."
    return {"best": top["label"], "entry": top, "tied": tied, "clear": not tied, "sentence": sentence}


# --------------------------------------------------------------------------------------------
# Files and curves
# --------------------------------------------------------------------------------------------


def _write_csv(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    fields: list[str] = []
    for r in records:
        fields += [k for k in r if k not in fields]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in records:
            w.writerow({k: (json.dumps(_jsonable(v)) if isinstance(v, (list, dict)) else "" if v is None else v)
                        for k, v in r.items()})


def write_results(rows: Sequence[Mapping[str, Any]], summary: Sequence[Mapping[str, Any]],
                  out_dir: str | os.PathLike, *, extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write ``results.csv`` (one row per run), ``summary.csv`` and ``results.json`` (both, NaN → null).

    ``extra`` (e.g. verdict sentences, wall time) is stored in ``results.json`` beside rows and summary.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results_csv": out / "results.csv", "summary_csv": out / "summary.csv", "results_json": out / "results.json"}
    _write_csv(paths["results_csv"], rows)
    _write_csv(paths["summary_csv"], summary)
    _write_json(paths["results_json"], {"rows": list(rows), "summary": list(summary), **dict(extra or {})})
    return paths


def load_curves(run_dir: str | os.PathLike) -> dict[str, dict[str, list]]:
    """Learning curves of one run from its ``metrics.jsonl``, as columns per line kind.

    ``{"train": {"step": [...], "epoch": [...], "loss": [...], "acc": [...], "lr": [...], "time": [...]},
    "epoch": {...}, "val": {"step", "epoch", "loss", "top1", "top5", ...}, "test": {...}}``; only scalar
    fields (per-class lists and confusion matrices are left out). Plot with
    ``plt.plot(c["val"]["step"], c["val"]["top1"])``.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; has this run started? (fit writes it)")
    curves: dict[str, dict[str, list]] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        cols = curves.setdefault(rec.pop("kind"), {})
        for k, v in rec.items():
            if not isinstance(v, (list, dict)):
                cols.setdefault(k, []).append(v)
    return curves


def aggregate_curves(out_dir: str | os.PathLike, name: str, *, seeds: Iterable[int] | None = None, split: str = "val",
                     metric: str = "top1", x: str = "step", confidence: float = 0.95) -> dict[str, Any]:
    """Mean ± CI over seeds of one config's learning curve (``split`` lines of metrics.jsonl).

    ``seeds=None`` takes every ``out_dir/name/seed_*`` folder. Only x values present in every seed's
    curve are kept. Returns ``{"name", "x": [...], "mean", "std", "ci", "n", "seeds", "metric", "split"}``.
    """
    base = Path(out_dir) / name
    if seeds is None:
        seeds = sorted(int(p.name.split("_", 1)[1]) for p in base.glob("seed_*") if (p / METRICS_FILE).exists())
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"no runs with {METRICS_FILE} under {base}")
    per_seed = []
    for s in seeds:
        cols = load_curves(run_dir_of(out_dir, name, s)).get(split, {})
        if metric not in cols or x not in cols:
            raise ValueError(f"{run_dir_of(out_dir, name, s)}: no {split!r} lines with {x!r} and {metric!r}")
        per_seed.append(dict(zip(cols[x], cols[metric])))
    xs = sorted(set.intersection(*(set(c) for c in per_seed)))
    stats = [mean_ci([c[v] for c in per_seed], confidence) for v in xs]
    return {"name": name, "split": split, "metric": metric, "x": xs, "mean": [m for m, _, _ in stats],
            "std": [s for _, s, _ in stats], "ci": [c for _, _, c in stats], "n": len(seeds), "seeds": seeds}


def finished_runs(out_dir: str | os.PathLike) -> list[Path]:
    """Every finished run folder under ``out_dir`` (those holding ``final.json``)."""
    return sorted(p.parent for p in Path(out_dir).glob(f"*/seed_*/{FINAL_FILE}"))


# --------------------------------------------------------------------------------------------
# Paper claims, decided from the numbers
# --------------------------------------------------------------------------------------------


def mtnet_ratio_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MTNet Table 2's claim — "r ≈ 0.75–0.875 is best, r = 0.5 is worst" — checked on ``summary``.

    ``summary`` holds one entry per ratio (``summarize(rows, by=("r",))`` for one g), each with an
    ``r`` field. Returns ``{"best_r", "best_in_range", "best_clear", "worst_r", "half_is_worst",
    "half_worst_clear", "r0875_vs_r1": compare(...) or None, "holds", "sentence"}``. The claim
    ``holds`` when the best mean is at r ∈ {0.75, 0.875} and the lowest at r = 0.5; it holds
    *clearly* only when those positions are beyond the 95% CIs of the others (``method``).
    """
    entries = [e for e in summary if e.get("mean") is not None and e.get("mean") == e.get("mean")]
    if len(entries) < 2:
        raise ValueError("mtnet_ratio_claim needs at least two ratios with results")
    by_r = {float(e["r"]): e for e in entries}
    top = best(entries, method=method)
    bottom = best(entries, method=method, higher_is_better=False)
    best_r, worst_r = float(top["entry"]["r"]), float(bottom["entry"]["r"])
    best_in_range = best_r in (0.75, 0.875)
    half_is_worst = 0.5 in by_r and worst_r == 0.5
    # "clear": the best (worst) is separated from every ratio outside the claimed set.
    tied_best = {float(by_r_e["r"]) for by_r_e in entries if by_r_e["label"] in top["tied"]}
    best_clear = best_in_range and tied_best <= {0.75, 0.875}
    half_worst_clear = half_is_worst and bottom["clear"]
    vs1 = None
    if 0.875 in by_r and 1.0 in by_r:
        vs1 = compare(entries, by_r[0.875]["label"], by_r[1.0]["label"], method=method)
    metric = entries[0].get("metric", "top1")
    pct = lambda e: f"{100 * e['mean']:.1f}% ± {100 * e['ci']:.1f}" if e["ci"] == e["ci"] else f"{100 * e['mean']:.1f}%"  # noqa: E731
    holds = best_in_range and half_is_worst
    parts = [
        f"Best {metric}: r = {best_r:g} ({pct(top['entry'])}); "
        + ("inside" if best_in_range else "outside") + " the paper's best range 0.75–0.875"
        + ("" if best_clear or not best_in_range else ", but not beyond the 95% CIs of the other ratios") + ".",
        f"Lowest: r = {worst_r:g} ({pct(bottom['entry'])})"
        + (" — as the paper finds for r = 0.5" if half_is_worst else " — the paper has r = 0.5 lowest")
        + ("" if half_worst_clear or not half_is_worst else ", though not beyond the CIs") + ".",
    ]
    if vs1 is not None:
        parts.append(f"r = 0.875 vs r = 1 (plain 3D conv): {vs1['verdict']} (difference {100 * vs1['diff']:+.1f} points; paper: +1.9).")
    clear = holds and best_clear and half_worst_clear
    if holds:
        verdict = "holds clearly" if clear else "holds nominally (the ordering matches, but within seed noise)"
    elif top["clear"]:
        verdict = "does not hold"
    else:
        verdict = "is not supported (the ordering differs from the paper's, within seed noise)"
    sentence = f"The paper's ratio claim {verdict} on this data. " + " ".join(parts)
    return {"best_r": best_r, "best_in_range": best_in_range, "best_clear": best_clear, "worst_r": worst_r,
            "half_is_worst": half_is_worst, "half_worst_clear": half_worst_clear, "r0875_vs_r1": vs1,
            "holds": holds, "clear": clear, "sentence": sentence}


def srtg_placement_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """SRTG Table 1's claims — "every SRTG placement beats no SRTG; Final is best" — checked on ``summary``.

    ``summary`` holds one entry per placement for one backbone (``summarize(rows, by=("placement",))``),
    each with a ``placement`` field: ``"none"`` for the network without SRTG, else ``"start"``,
    ``"mid"``, ``"res"``, ``"final"`` (any subset with ``"none"``). Returns ``{"vs_none": {placement:
    compare(...)}, "all_beat_none", "all_beat_none_clear", "best", "final_best", "final_best_clear",
    "holds", "clear", "sentence"}``. A claim holds when the means are ordered as the paper says; it
    holds *clearly* when the ordering is beyond the 95% CIs (``method``, see ``compare``).
    """
    entries = [e for e in summary if e.get("mean") is not None and e.get("mean") == e.get("mean")]
    by_p = {str(e["placement"]).lower(): e for e in entries}
    if "none" not in by_p or len(by_p) < 2:
        raise ValueError("srtg_placement_claim needs the 'none' entry and at least one SRTG placement, "
                         f"got placements {sorted(by_p)}")
    gated = [p for p in by_p if p != "none"]
    vs_none = {p: compare(entries, by_p[p]["label"], by_p["none"]["label"], method=method) for p in gated}
    all_beat = all(vs_none[p]["diff"] > 0 for p in gated)
    all_beat_clear = all(vs_none[p]["verdict"] == "higher" for p in gated)
    top = best(entries, method=method)
    best_p = str(top["entry"]["placement"]).lower()
    final_best = best_p == "final"
    final_best_clear = final_best and top["clear"]
    pct = lambda e: f"{100 * e['mean']:.1f}% ± {100 * e['ci']:.1f}" if e["ci"] == e["ci"] else f"{100 * e['mean']:.1f}%"  # noqa: E731
    metric = entries[0].get("metric", "top1")
    beat = [p for p in gated if vs_none[p]["diff"] > 0]
    parts = [
        f"No SRTG: {pct(by_p['none'])}. Above it: " + (", ".join(f"{p} ({100 * vs_none[p]['diff']:+.1f})" for p in beat) or "none")
        + f"; {len(beat)}/{len(gated)} placements have a higher mean"
        + ("" if all_beat_clear else f", {sum(vs_none[p]['verdict'] == 'higher' for p in gated)} beyond the 95% CIs") + ".",
        f"Best {metric}: {best_p} ({pct(top['entry'])})"
        + ("" if "final" in by_p else "; Final was not run")
        + (" — as the paper finds" if final_best else " — the paper has Final best")
        + ("" if final_best_clear or not final_best else ", though not beyond the CIs of the others") + ".",
    ]
    holds = all_beat and (final_best or "final" not in by_p)
    clear = holds and all_beat_clear and (final_best_clear or "final" not in by_p)
    if holds:
        verdict = "hold clearly" if clear else "hold nominally (the ordering matches, but within seed noise)"
    elif any(v["verdict"] == "lower" for v in vs_none.values()) or (top["clear"] and not final_best and "final" in by_p):
        verdict = "do not hold"
    else:
        verdict = "are not supported (the ordering differs from the paper's, within seed noise)"
    sentence = f"The paper's placement claims {verdict} on this data. " + " ".join(parts)
    return {"vs_none": vs_none, "all_beat_none": all_beat, "all_beat_none_clear": all_beat_clear, "best": best_p,
            "final_best": final_best, "final_best_clear": final_best_clear, "holds": holds, "clear": clear,
            "sentence": sentence}
