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
    "mixtconv_kernel_claim",
    "msti_variant_claim",
    "reversal_confusion",
    "paired_difference",
    "MIXTCONV_KERNEL_PAPER",
    "MIXTCONV_BASELINES",
    "MSTI_VARIANT_PAPER",
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
    results: ``train.computed_fields`` drops device, workers, caching, data_root, ...). Put it in a config's name so that changing a notebook
    parameter (epochs, lr, ...) trains new runs instead of colliding with finished ones."""
    import hashlib

    from .train import computed_fields

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


# Issue 4: multi-scale temporal kernels. The papers' numbers (top-1, %) beside the configurations
# the notebooks run, so tables and verdict sentences quote them from one place.

#: MixTConv slides, kernel-size table (Something-Something v1, TSN ResNet-50, 8 segments): top-1 and
#: FLOPs (G; the slides' "FLOPs" are multiply-adds, see benchmarks/temporal_kernels.py). "ks3_d123"
#: is the slides' "TSN+ks357" row: kernel 3 with dilations 1, 2, 3. Not run here: "TSN + ordinary
#: 1D" (a full 1-D temporal conv, 41.0 at 43G).
MIXTCONV_KERNEL_PAPER = {
    "tsn": {"top1": 19.7, "gflops": 33.0, "kernels": None, "dilations": None},
    "tsm": {"top1": 45.6, "gflops": 33.0, "kernels": None, "dilations": None},
    "ks3": {"top1": 45.9, "gflops": 33.13, "kernels": (3,), "dilations": None},
    "ks5": {"top1": 46.3, "gflops": 33.23, "kernels": (5,), "dilations": None},
    "ks7": {"top1": 45.8, "gflops": 33.32, "kernels": (7,), "dilations": None},
    "ks13": {"top1": 45.8, "gflops": 33.09, "kernels": (1, 3), "dilations": None},
    "ks135": {"top1": 46.4, "gflops": 33.13, "kernels": (1, 3, 5), "dilations": None},
    "ks1357": {"top1": 46.7, "gflops": 33.18, "kernels": (1, 3, 5, 7), "dilations": None},
    "ks3_d123": {"top1": 46.4, "gflops": 33.13, "kernels": (3, 3, 3), "dilations": (1, 2, 3)},
}
MIXTCONV_BASELINES = ("tsn", "tsm")

#: MSTI-Net, Table 2 (Kinetics-400 pre-trained, 8-conv backbone): top-1 on UCF-101 and HMDB-51.
MSTI_VARIANT_PAPER = {
    "p3d_b": {"ucf101": 86.9, "hmdb51": 60.8, "name": "P3D-B"},
    "ms_t": {"ucf101": 88.4, "hmdb51": 64.2, "name": "MS(T)"},
    "ms_s": {"ucf101": 89.6, "hmdb51": 64.7, "name": "MS(S)"},
    "ms_st": {"ucf101": 90.7, "hmdb51": 67.3, "name": "MS(ST)"},
    "msti": {"ucf101": 92.8, "hmdb51": 70.4, "name": "MSTI"},
}


def _pct(e: Mapping[str, Any]) -> str:
    """``"74.2% ± 3.1"`` (no ± with n < 2); values are fractions of 1 as in ``summarize``."""
    return f"{100 * e['mean']:.1f}% ± {100 * e['ci']:.1f}" if e["ci"] == e["ci"] else f"{100 * e['mean']:.1f}%"


def _entries_by(summary: Sequence[Mapping[str, Any]], key: str, valid: Sequence[str], fn: str) -> dict[str, Mapping[str, Any]]:
    """Summary entries with a result, keyed by ``str(entry[key]).lower()``; unknown or repeated keys raise."""
    entries = [e for e in summary if e.get("mean") is not None and e.get("mean") == e.get("mean")]
    missing_key = [e.get("label") for e in entries if key not in e]
    if missing_key:
        raise ValueError(f"{fn}: summary entries {missing_key[:5]} have no {key!r} field; summarize with by=({key!r},)")
    keys = [str(e[key]).lower() for e in entries]
    unknown = sorted(set(keys) - set(valid))
    if unknown:
        raise ValueError(f"{fn}: unknown {key} values {unknown}; valid: {list(valid)}")
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"{fn}: several summary entries for {key} {dup}; pass one entry per {key} "
                         "(e.g. filter the summary to one backbone first)")
    return dict(zip(keys, entries))


def _order_claim(entries: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any], *, name_a: str,
                 name_b: str, method: str, paper: str, strict: bool = True) -> dict[str, Any]:
    """Claim "a beats b" (``strict``) or "a >= b": holds on the means, clear beyond the CIs, contradicted
    when b is higher beyond the CIs. ``paper`` is quoted in the sentence."""
    c = compare(entries, a["label"], b["label"], method=method)
    holds = c["diff"] > 0 if strict else c["diff"] >= 0
    clear, contradicted = c["verdict"] == "higher", c["verdict"] == "lower"
    how = ("higher beyond the 95% CIs" if clear else "lower beyond the 95% CIs" if contradicted
           else "within the 95% CIs")
    sentence = (f"{name_a} ({_pct(a)}) vs {name_b} ({_pct(b)}): {100 * c['diff']:+.1f} points, {how} "
                f"(paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": clear, "contradicted": contradicted, "compare": c,
            "sentence": sentence}


def _untested(why: str) -> dict[str, Any]:
    return {"tested": False, "holds": None, "clear": None, "contradicted": None, "sentence": why}


def _claims_verdict(claims: Mapping[str, Mapping[str, Any]], what: str) -> tuple[bool, bool, bool, str]:
    """``(holds, clear, contradicted, sentence)`` over the tested claims (srtg_placement_claim's wording)."""
    tested = [c for c in claims.values() if c["tested"]]
    holds = all(c["holds"] for c in tested)
    clear = holds and all(c["clear"] for c in tested)
    contradicted = any(c["contradicted"] for c in tested)
    if holds:
        verdict = "hold clearly" if clear else "hold nominally (the ordering matches, but within seed noise)"
    elif contradicted:
        verdict = "do not hold"
    else:
        verdict = "are not supported (the ordering differs from the paper's, within seed noise)"
    sentence = f"The paper's {what} claims {verdict} on this data. " + " ".join(c["sentence"] for c in claims.values())
    return holds, clear, contradicted, sentence


def _best_claim(entries: Sequence[Mapping[str, Any]], by_key: Mapping[str, Mapping[str, Any]], claimed: str, *,
                names: Mapping[str, str], among: str, method: str, paper: str) -> dict[str, Any]:
    """Claim "``claimed`` has the best mean among ``by_key``": clear when no other entry is within its
    CIs, contradicted when some entry is higher than it beyond the CIs."""
    top = best(entries, method=method)
    best_key = next(k for k, e in by_key.items() if e["label"] == top["best"])
    holds = best_key == claimed
    above = [k for k in by_key if k != claimed
             and compare(entries, by_key[k]["label"], by_key[claimed]["label"], method=method)["verdict"] == "higher"]
    tied = [k for k, e in by_key.items() if e["label"] in top["tied"]]
    if holds:
        how = (f"clearly ahead of every other {among}" if top["clear"] else
               "but within the 95% CIs of " + ", ".join(names[k] for k in tied))
        sentence = f"Best {among}: {names[claimed]} ({_pct(by_key[claimed])}), {how} (paper: {paper})."
    else:
        sentence = (f"Best {among}: {names[best_key]} ({_pct(top['entry'])}), not {names[claimed]} "
                    f"({_pct(by_key[claimed])}); " + (
                        f"{', '.join(names[k] for k in above)} beat{'s' if len(above) == 1 else ''} "
                        f"{names[claimed]} beyond the 95% CIs" if above else "within the 95% CIs of each other")
                    + f" (paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": holds and top["clear"], "contradicted": bool(above),
            "best": best_key, "above": above, "tied": tied, "sentence": sentence}


def mixtconv_kernel_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MixTConv's kernel-size table — "MixTConv (ks1357) >= TSM > TSN; ks1357 is the best kernel
    setting" — checked on ``summary``.

    ``summary``: one entry per configuration (``summarize(rows, by=("config",))``), each with a
    ``config`` field among :data:`MIXTCONV_KERNEL_PAPER`'s keys: ``"tsn"``, ``"tsm"`` (baselines)
    and the MixTConv settings ``"ks3"``, ``"ks5"``, ``"ks7"``, ``"ks13"``, ``"ks135"``, ``"ks1357"``,
    ``"ks3_d123"`` (kernel 3 with dilations 1, 2, 3). Any subset with at least one baseline and one
    MixTConv setting; claims whose entries are missing are reported as not tested.

    "MixTConv" is ks1357 (the paper's MSTNet); without it the best-mean MixTConv setting stands in.
    Claims (each ``{"tested", "holds", "clear", "contradicted", "sentence", ...}`` in ``claims``):

    * ``mixtconv_ge_tsm``: mean(MixTConv) >= mean(TSM); clear when higher beyond the 95% CIs.
    * ``tsm_gt_tsn``: TSM above TSN.
    * ``mixtconv_gt_tsn``: MixTConv above TSN (implied by the two above; tested when TSN ran).
    * ``ks1357_best``: ks1357 has the best mean among the MixTConv settings (needs ks1357 and
      another setting); clear when beyond every other setting's CI.

    Returns the flat booleans ``mixtconv_ge_tsm``, ``mixtconv_ge_tsm_clear``, ``tsm_gt_tsn``,
    ``tsm_gt_tsn_clear``, ``mixtconv_gt_tsn``, ``mixtconv_gt_tsn_clear``, ``ks1357_best``,
    ``ks1357_best_clear`` (None when not tested), ``mixtconv`` (the config standing for MixTConv),
    ``best_kernel``, ``claims``, ``holds`` (every tested claim holds on the means), ``clear``
    (every tested claim beyond the CIs), ``contradicted`` (some claim reversed beyond the CIs) and
    ``sentence`` ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
    """
    valid = list(MIXTCONV_KERNEL_PAPER)
    by_c = _entries_by(summary, "config", valid, "mixtconv_kernel_claim")
    mix = [k for k in by_c if k not in MIXTCONV_BASELINES]
    missing = []
    if not any(k in by_c for k in MIXTCONV_BASELINES):
        missing.append("a baseline ('tsn' or 'tsm')")
    if not mix:
        missing.append("a MixTConv setting (" + ", ".join(repr(k) for k in valid if k not in MIXTCONV_BASELINES) + ")")
    if missing:
        raise ValueError(f"mixtconv_kernel_claim needs {' and '.join(missing)} with results; got configs {sorted(by_c)}")
    entries = list(by_c.values())
    mix_entries = [by_c[k] for k in mix]
    top_mix = best(mix_entries, method=method)
    best_kernel = next(k for k in mix if by_c[k]["label"] == top_mix["best"])
    rep = "ks1357" if "ks1357" in by_c else best_kernel
    names = {k: k.upper() if k in MIXTCONV_BASELINES else k for k in valid}
    mix_name = "MixTConv (ks1357)" if rep == "ks1357" else f"MixTConv ({rep}, the best setting run; ks1357 was not run)"
    paper = MIXTCONV_KERNEL_PAPER
    claims: dict[str, dict[str, Any]] = {}
    if "tsm" in by_c:
        claims["mixtconv_ge_tsm"] = _order_claim(
            entries, by_c[rep], by_c["tsm"], name_a=mix_name, name_b="TSM", method=method, strict=False,
            paper=f"{paper[rep]['top1']} vs {paper['tsm']['top1']} on Something-Something v1")
    else:
        claims["mixtconv_ge_tsm"] = _untested("MixTConv vs TSM: TSM was not run.")
    if "tsm" in by_c and "tsn" in by_c:
        claims["tsm_gt_tsn"] = _order_claim(entries, by_c["tsm"], by_c["tsn"], name_a="TSM", name_b="TSN", method=method,
                                            paper=f"{paper['tsm']['top1']} vs {paper['tsn']['top1']}")
    else:
        claims["tsm_gt_tsn"] = _untested("TSM vs TSN: " + ("TSN" if "tsm" in by_c else "TSM") + " was not run.")
    if "tsn" in by_c:
        claims["mixtconv_gt_tsn"] = _order_claim(entries, by_c[rep], by_c["tsn"], name_a=f"MixTConv ({rep})",
                                                 name_b="TSN", method=method,
                                                 paper=f"{paper[rep]['top1']} vs {paper['tsn']['top1']}")
    else:
        claims["mixtconv_gt_tsn"] = _untested("MixTConv vs TSN: TSN was not run.")
    if "ks1357" in by_c and len(mix) > 1:
        claims["ks1357_best"] = _best_claim(
            mix_entries, {k: by_c[k] for k in mix}, "ks1357", names=names, among="MixTConv setting", method=method,
            paper="ks1357 " + str(paper["ks1357"]["top1"]) + ", the others " + ", ".join(
                f"{k} {paper[k]['top1']}" for k in mix if k != "ks1357"))
    else:
        claims["ks1357_best"] = _untested("Best kernel setting: " + (
            "ks1357 was not run." if "ks1357" not in by_c else "no other MixTConv setting was run."))
    holds, clear, contradicted, sentence = _claims_verdict(claims, "kernel-size")
    out: dict[str, Any] = {"mixtconv": rep, "best_kernel": best_kernel}
    for k, c in claims.items():
        out[k], out[f"{k}_clear"] = c["holds"], c["clear"]
    out.update(claims=claims, holds=holds, clear=clear, contradicted=contradicted, sentence=sentence)
    return out


def msti_variant_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MSTI-Net Table 2's claims — "every multi-scale variant beats P3D-B; MS(ST) beats MS(T) and
    MS(S); the full MSTI tube (with CAW) is best" — checked on ``summary``.

    ``summary``: one entry per unit variant (``summarize(rows, by=("variant",))``), each with a
    ``variant`` field among ``"p3d_b"``, ``"ms_t"``, ``"ms_s"``, ``"ms_st"``, ``"msti"``; it must
    hold ``"p3d_b"`` and at least one other variant. Claims (in ``claims``; untested when their
    entries are missing):

    * ``all_beat_p3d``: every multi-scale variant run has a higher mean than P3D-B; clear when each
      is higher beyond the 95% CIs; contradicted when one is lower beyond them.
    * ``st_beats_t_s``: MS(ST) above MS(T) and MS(S) (those run).
    * ``msti_best``: MSTI has the best mean of all variants run.

    Returns ``vs_p3d`` ({variant: compare(...)}), ``st_vs`` ({"ms_t"/"ms_s": compare(...)}), ``best``
    (variant with the best mean), the flat booleans ``all_beat_p3d``, ``all_beat_p3d_clear``,
    ``st_beats_t_s``, ``st_beats_t_s_clear``, ``msti_best``, ``msti_best_clear`` (None when not
    tested), ``claims``, ``holds``, ``clear``, ``contradicted`` and ``sentence``.
    """
    valid = list(MSTI_VARIANT_PAPER)
    by_v = _entries_by(summary, "variant", valid, "msti_variant_claim")
    missing = []
    if "p3d_b" not in by_v:
        missing.append("the baseline 'p3d_b'")
    if not any(v != "p3d_b" for v in by_v):
        missing.append("a multi-scale variant ('ms_t', 'ms_s', 'ms_st' or 'msti')")
    if missing:
        raise ValueError(f"msti_variant_claim needs {' and '.join(missing)} with results; got variants {sorted(by_v)}")
    entries = list(by_v.values())
    paper = MSTI_VARIANT_PAPER
    names = {v: p["name"] for v, p in paper.items()}
    pp = lambda v: f"{paper[v]['ucf101']} / {paper[v]['hmdb51']}"  # noqa: E731  UCF-101 / HMDB-51
    claims: dict[str, dict[str, Any]] = {}
    ms = [v for v in by_v if v != "p3d_b"]
    vs_p3d = {v: _order_claim(entries, by_v[v], by_v["p3d_b"], name_a=names[v], name_b="P3D-B", method=method,
                              paper=f"{pp(v)} vs {pp('p3d_b')}") for v in ms}
    above = [v for v in ms if vs_p3d[v]["holds"]]
    claims["all_beat_p3d"] = {
        "tested": True, "holds": len(above) == len(ms), "clear": all(c["clear"] for c in vs_p3d.values()),
        "contradicted": any(c["contradicted"] for c in vs_p3d.values()),
        "sentence": (f"P3D-B: {_pct(by_v['p3d_b'])}; {len(above)}/{len(ms)} multi-scale variants have a higher mean "
                     "(" + ", ".join(f"{names[v]} {100 * vs_p3d[v]['compare']['diff']:+.1f}" for v in ms) + " points), "
                     f"{sum(c['clear'] for c in vs_p3d.values())} beyond the 95% CIs and "
                     f"{sum(c['contradicted'] for c in vs_p3d.values())} below them "
                     f"(paper, UCF-101 / HMDB-51: P3D-B {pp('p3d_b')}, every variant above)."),
    }
    others = [v for v in ("ms_t", "ms_s") if v in by_v]
    st_vs: dict[str, dict[str, Any]] = {}
    if "ms_st" in by_v and others:
        st_vs = {v: _order_claim(entries, by_v["ms_st"], by_v[v], name_a="MS(ST)", name_b=names[v], method=method,
                                 paper=f"{pp('ms_st')} vs {pp(v)}") for v in others}
        claims["st_beats_t_s"] = {
            "tested": True, "holds": all(c["holds"] for c in st_vs.values()),
            "clear": all(c["clear"] for c in st_vs.values()),
            "contradicted": any(c["contradicted"] for c in st_vs.values()),
            "sentence": " ".join(c["sentence"] for c in st_vs.values()),
        }
    else:
        claims["st_beats_t_s"] = _untested("MS(ST) vs MS(T)/MS(S): " + (
            "MS(ST) was not run." if "ms_st" not in by_v else "neither MS(T) nor MS(S) was run."))
    if "msti" in by_v:
        claims["msti_best"] = _best_claim(entries, by_v, "msti", names=names, among="variant", method=method,
                                          paper=f"MSTI {pp('msti')}, best on both datasets")
    else:
        claims["msti_best"] = _untested("Best variant: MSTI was not run.")
    top = best(entries, method=method)
    best_v = next(v for v, e in by_v.items() if e["label"] == top["best"])
    holds, clear, contradicted, sentence = _claims_verdict(claims, "Table 2")
    out: dict[str, Any] = {"vs_p3d": {v: c["compare"] for v, c in vs_p3d.items()},
                           "st_vs": {v: c["compare"] for v, c in st_vs.items()}, "best": best_v}
    for k, c in claims.items():
        out[k], out[f"{k}_clear"] = c["holds"], c["clear"]
    out.update(claims=claims, holds=holds, clear=clear, contradicted=contradicted, sentence=sentence)
    return out


def reversal_confusion(confusion: Sequence[Sequence[int]] | Any, pairs: Sequence[tuple[int, int]] | None = None) -> dict[str, float]:
    """How a classifier handles time-reversed class pairs, from a test confusion matrix.

    ``confusion[i][j]`` counts clips of true class i predicted as j (``evaluate``'s ``"confusion"``,
    stored in a run's ``final.json`` under ``"test"``); ``pairs``: ``(forward, reverse)`` labels,
    default SynthActions' ``REVERSAL_PAIRS``. Returns ``{"paired_top1"}``: recall over the clips of
    paired classes, ``"swapped"``: the fraction of those clips predicted as their pair's *other*
    class (a model blind to frame order swaps about half), ``"other_top1"``: recall over the clips
    of the remaining classes (NaN if none).
    """
    if pairs is None:
        from .data.synthetic import REVERSAL_PAIRS as pairs
    m = [[int(v) for v in row] for row in (confusion.tolist() if hasattr(confusion, "tolist") else confusion)]
    k = len(m)
    if k == 0 or any(len(row) != k for row in m):
        raise ValueError(f"confusion must be a square K x K matrix, got {k} rows of lengths {sorted({len(r) for r in m})}")
    partner: dict[int, int] = {}
    for a, b in pairs:
        if not (0 <= a < k and 0 <= b < k) or a == b or a in partner or b in partner:
            raise ValueError(f"pairs={list(pairs)!r} must be disjoint pairs of distinct labels in [0, {k})")
        partner[a], partner[b] = b, a
    paired = sum(sum(m[i]) for i in partner)
    other = [i for i in range(k) if i not in partner]
    n_other = sum(sum(m[i]) for i in other)
    return {
        "paired_top1": sum(m[i][i] for i in partner) / paired if paired else math.nan,
        "swapped": sum(m[i][j] for i, j in partner.items()) / paired if paired else math.nan,
        "other_top1": sum(m[i][i] for i in other) / n_other if n_other else math.nan,
    }


def paired_difference(rows: Sequence[Mapping[str, Any]], key: str, a: Any, b: Any, *, metric: str = "top1",
                      confidence: float = 0.95) -> dict[str, Any]:
    """Mean ± Student-t CI of the per-seed difference ``metric(a) - metric(b)`` over the seeds both ran.

    For grids where a seed fixes everything the rows share (data order, the initialisation of
    common layers), the per-seed difference removes the seed's common effect, which ``compare``'s
    unpaired CIs keep. ``rows``: ``run_grid`` rows; ``a``/``b``: values of field ``key`` (e.g.
    ``key="config", a="tsm", b="tsn"``). Returns ``{"a", "b", "metric", "diffs", "seeds", "n",
    "mean", "ci", "verdict": "higher" | "lower" | "indistinguishable" (CI excludes 0 or not; n < 2:
    indistinguishable), "sentence"}``.
    """
    def per_seed(v: Any) -> dict[Any, float]:
        got = {r["seed"]: float(r[metric]) for r in rows if r.get(key) == v and r.get(metric) is not None}
        if not got:
            raise ValueError(f"paired_difference: no row with {key}={v!r} and a {metric!r} value; "
                             f"{key} values: {sorted({str(r.get(key)) for r in rows})}")
        return got

    va, vb = per_seed(a), per_seed(b)
    seeds = sorted(set(va) & set(vb))
    if not seeds:
        raise ValueError(f"paired_difference: {key}={a!r} (seeds {sorted(va)}) and {key}={b!r} (seeds {sorted(vb)}) "
                         "share no seed")
    diffs = [va[s] - vb[s] for s in seeds]
    mean, _, ci = mean_ci(diffs, confidence)
    verdict = "indistinguishable"
    if len(diffs) > 1 and mean - ci > 0:
        verdict = "higher"
    elif len(diffs) > 1 and mean + ci < 0:
        verdict = "lower"
    scale = 100.0 if any(s in metric for s in ("top", "acc", "auc", "swapped")) else 1.0
    unit = " points" if scale == 100.0 else ""
    ci_txt = f" ± {scale * ci:.1f}" if len(diffs) > 1 else ""
    how = {"higher": "higher, the CI excludes 0", "lower": "lower, the CI excludes 0",
           "indistinguishable": "the CI contains 0" if len(diffs) > 1 else "one seed, no CI"}[verdict]
    sentence = (f"{a} - {b} ({metric}, paired by seed over {len(diffs)} seeds): {scale * mean:+.1f}{ci_txt}{unit} "
                f"({', '.join(f'{scale * d:+.1f}' for d in diffs)}); {how}.")
    return {"a": a, "b": b, "metric": metric, "diffs": diffs, "seeds": seeds, "n": len(diffs), "mean": mean,
            "ci": ci, "verdict": verdict, "sentence": sentence}


# Issue 5: two-stream ST-Multiplier networks. The paper reports classification ERROR (%, lower is
# better) on split 1 of UCF101 / HMDB51; our summaries hold accuracies (fractions of 1). The two
# functions below compare accuracies (error = 1 - accuracy: the same CIs, the order reversed) and
# write every number as an error in %, as the paper's tables do.

#: ST-Multiplier nets, Table 2 (ResNet-50 streams): error (%) on split 1 of UCF101 / HMDB51 per
#: cross-stream connection. Keys: ``"<kind>_<direction>"`` (kind as
#: :data:`actionrec.layers.fusion.FUSION_KINDS`; direction ``m2a`` = ← motion into appearance,
#: ``a2m`` = → appearance into motion, ``bi`` = ↔).
FUSION_PAPER = {
    "direct_add_m2a": {"ucf101": 24.78, "hmdb51": 54.85, "name": "direct ⊕ ←", "fig": "2(a)"},
    "direct_mul_m2a": {"ucf101": 81.98, "hmdb51": 77.89, "name": "direct ⊙ ←", "fig": "2(b)"},
    "residual_add_m2a": {"ucf101": 9.38, "hmdb51": 41.89, "name": "residual ⊕ ←", "fig": "2(c)"},
    "residual_mul_m2a": {"ucf101": 8.72, "hmdb51": 37.23, "name": "residual ⊙ ←", "fig": "2(d)"},
    "residual_add_a2m": {"ucf101": 16.76, "hmdb51": 49.54, "name": "residual ⊕ →", "fig": "2(c)"},
    "residual_mul_a2m": {"ucf101": 16.68, "hmdb51": 48.43, "name": "residual ⊙ →", "fig": "2(d)"},
    "residual_mul_bi": {"ucf101": 15.15, "hmdb51": 48.56, "name": "residual ⊙ ↔", "fig": "2(e)"},
}
#: Baselines without connections, Table 4 (ResNet-50, accuracy averaged over the three splits,
#: written here as error = 100 - accuracy): not Table 2 rows (other splits), shown for context only.
FUSION_BASELINES_PAPER = {
    "late": {"ucf101": 8.3, "hmdb51": 38.8, "name": "late fusion (no connections)", "fig": "Table 4"},
    "appearance": {"ucf101": 17.7, "hmdb51": 51.1, "name": "appearance stream only", "fig": "Table 4"},
    "motion": {"ucf101": 13.0, "hmdb51": 44.2, "name": "motion stream only", "fig": "Table 4"},
}


def _temporal_filter_key(placement: str | None, init: str | None = None, pool: bool = False) -> str:
    if placement in (None, "none"):
        return "none-pool" if pool else "none"
    return f"{placement}-{init}" + ("-pool" if pool else "")


def temporal_filter_config(placement: str | None, init: str | None = None, pool: bool = False) -> str:
    """Key of one Table 3 configuration: ``"none"`` / ``"none-pool"`` without filters, else
    ``"<placement>-<init>[-pool]"`` with placement ``"last"`` (§), ``"every"`` (†) or
    ``"every+shortcut"`` (‡) (the symbols are accepted) and init ``"avg"`` or ``"centre"``."""
    from .layers.temporal_filter import INITS, canonical_placement

    p = canonical_placement(None if placement == "none" else placement)
    if p is not None and init not in INITS:
        raise ValueError(f"init={init!r} must be one of {list(INITS)} when placement={placement!r}")
    if not isinstance(pool, bool):
        raise ValueError(f"pool={pool!r} must be True or False")
    return _temporal_filter_key(p, init, pool)


_TF_SYMBOL = {"last": "§", "every": "†", "every+shortcut": "‡"}
_TF_TAPS = {"avg": "[⅓,⅓,⅓]", "centre": "[0,1,0]"}
#: Every configuration of the Table 3 grid (placement x init x temporal max-pool, plus no filters),
#: with the paper's error (%) on split 1 of UCF101 / HMDB51 where Table 3 has the row (else None),
#: and the row's name in the paper's notation. All use residual ⊙ ← connections.
TEMPORAL_FILTER_PAPER: dict[str, dict[str, Any]] = {}
for _pool in (False, True):
    TEMPORAL_FILTER_PAPER[_temporal_filter_key(None, None, _pool)] = {
        "placement": None, "init": None, "pool": _pool, "ucf101": None, "hmdb51": None,
        "name": "no filters" + (", pool time" if _pool else "")}
    for _p in ("last", "every", "every+shortcut"):
        for _i in ("avg", "centre"):
            TEMPORAL_FILTER_PAPER[_temporal_filter_key(_p, _i, _pool)] = {
                "placement": _p, "init": _i, "pool": _pool, "ucf101": None, "hmdb51": None,
                "name": f"{_TF_SYMBOL[_p]} {_TF_TAPS[_i]}" + (", pool time" if _pool else "")}
for _k, (_u, _h) in {"none": (8.72, 37.23), "last-avg": (7.85, 35.29), "every-avg": (7.72, 35.96),
                     "every+shortcut-avg": (7.45, 35.94), "every-centre": (7.61, 34.72),
                     "last-centre": (7.74, 34.90), "every+shortcut-centre": (7.79, 34.38),
                     "every-centre-pool": (6.74, 34.05), "every+shortcut-centre-pool": (6.00, 30.98)}.items():
    TEMPORAL_FILTER_PAPER[_k].update(ucf101=_u, hmdb51=_h)
del _pool, _p, _i, _k, _u, _h


def _err(e: Mapping[str, Any]) -> str:
    """``"12.3% ± 2.1"``: the error ``100 · (1 - accuracy)`` of a summary entry (no ± with n < 2)."""
    m = 100 * (1 - e["mean"])
    return f"{m:.1f}% ± {100 * e['ci']:.1f}" if e["ci"] == e["ci"] else f"{m:.1f}%"


def _check_accuracy_metric(entries: Sequence[Mapping[str, Any]], fn: str) -> str:
    metrics = sorted({str(e.get("metric", "top1")) for e in entries})
    if len(metrics) != 1:
        raise ValueError(f"{fn}: the summary mixes metrics {metrics}; pass one metric's summary")
    if not any(s in metrics[0] for s in ("top", "acc", "auc")):
        raise ValueError(f"{fn}: metric {metrics[0]!r} is not an accuracy; the paper's errors are 1 - accuracy, "
                         "so summarize an accuracy (e.g. metric='top1' or 'val_auc')")
    return metrics[0]


def _lower_error_claim(entries: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any], *,
                       name_a: str, name_b: str, method: str, paper: str) -> dict[str, Any]:
    """Claim "a has a lower error than b" (= a higher accuracy): holds on the means, clear beyond the
    CIs, contradicted when a's error is higher beyond the CIs."""
    c = compare(entries, a["label"], b["label"], method=method)
    clear, contradicted = c["verdict"] == "higher", c["verdict"] == "lower"
    how = "lower beyond the 95% CIs" if clear else "higher beyond the 95% CIs" if contradicted else "within the 95% CIs"
    sentence = (f"{name_a} ({_err(a)}) vs {name_b} ({_err(b)}): {0.0 - 100 * c['diff']:+.1f} points of error, {how} "
                f"(paper: {paper}).")
    return {"tested": True, "holds": c["diff"] > 0, "clear": clear, "contradicted": contradicted, "compare": c,
            "sentence": sentence}


def _all_claim(parts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Several pairwise claims read as one: holds / clear when all do, contradicted when any is."""
    return {"tested": True, "holds": all(p["holds"] for p in parts.values()),
            "clear": all(p["clear"] for p in parts.values()),
            "contradicted": any(p["contradicted"] for p in parts.values()),
            "parts": {k: p["compare"] for k, p in parts.items()},
            "sentence": " ".join(p["sentence"] for p in parts.values())}


def _lowest_error_claim(entries: Sequence[Mapping[str, Any]], by_key: Mapping[str, Mapping[str, Any]],
                        claimed: Sequence[str], *, names: Mapping[str, str], among: str, method: str,
                        paper: str, highest: bool = False) -> dict[str, Any]:
    """Claim "the lowest error among ``by_key`` is one of ``claimed``" (``highest``: the highest
    error). Clear when every entry outside ``claimed`` is beyond the CIs of the one with the best
    mean; contradicted when an entry outside ``claimed`` beats every claimed one beyond the CIs."""
    sub = list(by_key.values())
    top = best(sub, method=method, higher_is_better=not highest)  # accuracy: lowest error = highest accuracy
    top_key = next(k for k, e in by_key.items() if e["label"] == top["best"])
    holds = top_key in claimed
    better = "lower" if highest else "higher"  # accuracy verdict of the winner over a rival
    others = [k for k in by_key if k not in claimed]
    clear = holds and all(compare(sub, by_key[top_key]["label"], by_key[k]["label"], method=method)["verdict"] == better
                          for k in others)
    contradicted = not holds and all(
        compare(sub, by_key[top_key]["label"], by_key[k]["label"], method=method)["verdict"] == better
        for k in claimed if k in by_key)
    word = "Highest" if highest else "Lowest"
    tied = [names[k] for k, e in by_key.items() if e["label"] in top["tied"]]
    exp = " / ".join(names[k] for k in claimed)
    if holds:
        rivals = "all the others" if len(claimed) == 1 else f"all but {exp}"
        how = (f"beyond the 95% CIs of {rivals}" if clear else
               "but within the 95% CIs of " + ", ".join(tied) if tied else "but not beyond every CI")
        sentence = f"{word} error among the {among}: {names[top_key]} ({_err(top['entry'])}), {how} (paper: {paper})."
    else:
        sentence = (f"{word} error among the {among}: {names[top_key]} ({_err(top['entry'])}), not {exp}"
                    + (", beyond the 95% CIs" if contradicted else ", within the 95% CIs") + f" (paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": clear, "contradicted": contradicted, "best": top_key,
            "tied": [k for k, e in by_key.items() if e["label"] in top["tied"]], "sentence": sentence}


def _error_note(metric: str) -> str:
    return (f"Errors are 1 − {metric} (in %, lower is better, as in the paper's tables), ± the 95% CI over seeds; "
            "the paper's numbers are single runs on split 1 of UCF101 / HMDB51.")


def fusion_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """ST-Multiplier nets' Table 2 claims on cross-stream connections, checked on ``summary``.

    ``summary``: one entry per connection variant (``summarize(rows, by=("variant",))``), each with a
    ``variant`` field among :data:`FUSION_PAPER`'s keys (``"direct_add_m2a"``, ``"direct_mul_m2a"``,
    ``"residual_add_m2a"``, ``"residual_mul_m2a"``, ``"residual_add_a2m"``, ``"residual_mul_a2m"``,
    ``"residual_mul_bi"``) or a baseline of :data:`FUSION_BASELINES_PAPER` (``"late"``,
    ``"appearance"``, ``"motion"``: reported, never part of a claim). The metric must be an accuracy:
    the paper reports error, and error = 1 - accuracy (same CIs, order reversed; the sentences
    quote errors). It must hold ``"residual_mul_m2a"`` (the paper's design) and one other Table 2
    variant, else ValueError naming what is missing; claims whose entries are missing are "not tested".

    Claims (paper's Table 2: error on UCF101 / HMDB51 split 1; each ``{"tested", "holds", "clear",
    "contradicted", "sentence"}`` in ``claims``):

    * ``residual_mul_best``: residual ⊙ ← has the lowest error of the Table 2 variants run (8.72 / 37.23).
    * ``mul_beats_add``: residual ⊙ below residual ⊕, in each direction run with both (← 8.72 vs 9.38,
      → 16.68 vs 16.76). Only residual connections: directly, ⊙ is far worse (next claim).
    * ``direct_mul_worst``: direct ⊙ ← has the highest error of the variants run (81.98 / 77.89).
    * ``residual_beats_direct``: residual ⊕ ← below direct ⊕ ←, residual ⊙ ← below direct ⊙ ← (pairs run).
    * ``m2a_beats_a2m``: ← (motion into appearance) below → for ⊙ and ⊕ (pairs run).
    * ``m2a_beats_bi``: residual ⊙ ← below residual ⊙ ↔ (8.72 vs 15.15).

    A claim holds when the means are ordered as the paper says, *clearly* when beyond the 95% CIs
    (``method``, see :func:`compare`), and is contradicted when reversed beyond them. Returns the flat
    booleans ``<claim>`` / ``<claim>_clear`` (None when not tested), ``best`` (the variant with the
    lowest error), ``vs_late`` (``compare`` of residual ⊙ ← with late fusion, when both ran; not a
    claim), ``claims``, ``holds``, ``clear``, ``contradicted``, ``metric`` and ``sentence``
    ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
    """
    valid = [*FUSION_PAPER, *FUSION_BASELINES_PAPER]
    by_all = _entries_by(summary, "variant", valid, "fusion_claim")
    by_v = {k: e for k, e in by_all.items() if k in FUSION_PAPER}
    missing = []
    if "residual_mul_m2a" not in by_v:
        missing.append("'residual_mul_m2a' (residual ⊙ ←, the paper's design)")
    if not [k for k in by_v if k != "residual_mul_m2a"]:
        missing.append("another Table 2 variant (" + ", ".join(repr(k) for k in FUSION_PAPER if k != "residual_mul_m2a") + ")")
    if missing:
        raise ValueError(f"fusion_claim needs {' and '.join(missing)} with results; got variants {sorted(by_all)}")
    metric = _check_accuracy_metric(list(by_all.values()), "fusion_claim")
    entries = list(by_v.values())
    paper = FUSION_PAPER
    names = {k: p["name"] for k, p in paper.items()}
    pp = lambda k: f"{paper[k]['ucf101']:.2f} / {paper[k]['hmdb51']:.2f}"  # noqa: E731  UCF101 / HMDB51 error
    pair = lambda a, b: _lower_error_claim(entries, by_v[a], by_v[b], name_a=names[a], name_b=names[b],  # noqa: E731
                                           method=method, paper=f"{pp(a)} vs {pp(b)}")
    claims: dict[str, dict[str, Any]] = {}
    claims["residual_mul_best"] = _lowest_error_claim(
        entries, by_v, ["residual_mul_m2a"], names=names, among="connections", method=method,
        paper="residual ⊙ ← lowest, " + pp("residual_mul_m2a") + " on UCF101 / HMDB51")
    mul_add = {d: pair(f"residual_mul_{d}", f"residual_add_{d}") for d in ("m2a", "a2m", "bi")
               if f"residual_mul_{d}" in by_v and f"residual_add_{d}" in by_v}
    claims["mul_beats_add"] = _all_claim(mul_add) if mul_add else _untested(
        "Residual ⊙ vs ⊕: no direction was run with both.")
    if "direct_mul_m2a" in by_v:
        claims["direct_mul_worst"] = _lowest_error_claim(
            entries, by_v, ["direct_mul_m2a"], names=names, among="connections", method=method, highest=True,
            paper="direct ⊙ ← highest, " + pp("direct_mul_m2a"))
    else:
        claims["direct_mul_worst"] = _untested("Direct ⊙ worst: direct ⊙ ← was not run.")
    res_dir = {op: pair(f"residual_{op}_m2a", f"direct_{op}_m2a") for op in ("add", "mul")
               if f"residual_{op}_m2a" in by_v and f"direct_{op}_m2a" in by_v}
    claims["residual_beats_direct"] = _all_claim(res_dir) if res_dir else _untested(
        "Residual vs direct: no fusion function was run both ways.")
    dirs = {op: pair(f"residual_{op}_m2a", f"residual_{op}_a2m") for op in ("mul", "add")
            if f"residual_{op}_m2a" in by_v and f"residual_{op}_a2m" in by_v}
    claims["m2a_beats_a2m"] = _all_claim(dirs) if dirs else _untested("← vs →: no residual → variant was run.")
    claims["m2a_beats_bi"] = (pair("residual_mul_m2a", "residual_mul_bi") if "residual_mul_bi" in by_v else
                              _untested("← vs ↔: residual ⊙ ↔ was not run."))
    holds, clear, contradicted, sentence = _claims_verdict(claims, "Table 2 (cross-stream connection)")
    vs_late = None
    if "late" in by_all:
        both = [by_all["residual_mul_m2a"], by_all["late"]]
        vs_late = compare(both, both[0]["label"], both[1]["label"], method=method)
    out: dict[str, Any] = {"best": claims["residual_mul_best"]["best"], "vs_late": vs_late, "metric": metric}
    for k, c in claims.items():
        out[k], out[f"{k}_clear"] = c["holds"], c["clear"]
    out.update(claims=claims, holds=holds, clear=clear, contradicted=contradicted,
               sentence=sentence + " " + _error_note(metric))
    return out


def temporal_filter_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """ST-Multiplier nets' Table 3 claims on temporal filters and temporal max-pooling, checked on ``summary``.

    ``summary``: one entry per configuration (``summarize(rows, by=("config",))``), each with a
    ``config`` field among :data:`TEMPORAL_FILTER_PAPER`'s keys (:func:`temporal_filter_config`:
    ``"none"``, ``"none-pool"``, ``"<placement>-<init>[-pool]"`` with placement ``last`` §,
    ``every`` †, ``every+shortcut`` ‡ and init ``avg`` [⅓,⅓,⅓] / ``centre`` [0,1,0]); all with
    residual ⊙ ← connections, as in the paper. The metric must be an accuracy (error = 1 - accuracy;
    the sentences quote errors). It must hold ``"none"`` and one configuration with filters, else
    ValueError naming what is missing; claims whose entries are missing are "not tested".

    Claims (Table 3: error on UCF101 / HMDB51 split 1; in ``claims``):

    * ``filters_help``: every filter configuration without pooling has a lower error than
      ``"none"`` (paper: all six rows below 8.72 / 37.23).
    * ``every_block_best``: among filter configurations without pooling, the lowest error is a †
      or ‡ one (filters at every block), not § (last block only); needs both kinds (paper: ‡ is
      lowest on both datasets, ‡ [⅓,⅓,⅓] 7.45 on UCF101, ‡ [0,1,0] 34.38 on HMDB51).
    * ``centre_beats_avg``: [0,1,0] below [⅓,⅓,⅓] at every placement run with both, without
      pooling (paper: on HMDB51 at all three placements, on UCF101 at two of three).
    * ``pool_helps``: temporal max-pooling lowers the error of every configuration run with and
      without it (paper: † [0,1,0] 7.61 → 6.74, ‡ [0,1,0] 7.79 → 6.00 on UCF101).
    * ``best_overall``: ‡ [0,1,0] with pooling has the lowest error of all configurations run
      (paper: 6.00 / 30.98, the best on both datasets).

    Returns the flat booleans ``<claim>`` / ``<claim>_clear`` (None when not tested), ``best``
    (lowest-error configuration), ``claims``, ``holds``, ``clear``, ``contradicted``, ``metric`` and
    ``sentence`` ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
    """
    paper = TEMPORAL_FILTER_PAPER
    by_c = _entries_by(summary, "config", list(paper), "temporal_filter_claim")
    missing = []
    if "none" not in by_c:
        missing.append("'none' (residual ⊙ ← without filters or pooling, the Table 3 baseline)")
    if not any(paper[k]["placement"] for k in by_c):
        missing.append("a configuration with temporal filters (e.g. 'every+shortcut-centre')")
    if missing:
        raise ValueError(f"temporal_filter_claim needs {' and '.join(missing)} with results; got configs {sorted(by_c)}")
    metric = _check_accuracy_metric(list(by_c.values()), "temporal_filter_claim")
    entries = list(by_c.values())
    names = {k: p["name"] for k, p in paper.items()}
    pp = lambda k: (f"{paper[k]['ucf101']:.2f} / {paper[k]['hmdb51']:.2f}" if paper[k]["ucf101"] is not None  # noqa: E731
                    else "not in Table 3")
    pair = lambda a, b: _lower_error_claim(entries, by_c[a], by_c[b], name_a=names[a], name_b=names[b],  # noqa: E731
                                           method=method, paper=f"{pp(a)} vs {pp(b)}")
    unpooled = [k for k in by_c if paper[k]["placement"] and not paper[k]["pool"]]
    claims: dict[str, dict[str, Any]] = {}
    if unpooled:
        vs_none = {k: pair(k, "none") for k in unpooled}
        c = _all_claim(vs_none)
        n_hold = sum(p["holds"] for p in vs_none.values())
        c["sentence"] = (f"No filters: {_err(by_c['none'])}; {n_hold}/{len(unpooled)} filter configurations without "
                         "pooling have a lower error ("
                         + ", ".join(f"{names[k]} {0.0 - 100 * p['compare']['diff']:+.1f}" for k, p in vs_none.items())
                         + " points), " + f"{sum(p['clear'] for p in vs_none.values())} beyond the 95% CIs and "
                         f"{sum(p['contradicted'] for p in vs_none.values())} above them (paper, UCF101 / HMDB51: "
                         f"no filters {pp('none')}, every filter row lower).")
        claims["filters_help"] = c
    else:
        claims["filters_help"] = _untested("Filters vs none: no filter configuration without pooling was run.")
    deep = [k for k in unpooled if paper[k]["placement"] != "last"]
    if deep and len(deep) < len(unpooled):
        claims["every_block_best"] = _lowest_error_claim(
            entries, {k: by_c[k] for k in unpooled}, deep, names=names, among="filter configurations without pooling",
            method=method, paper="‡ lowest: ‡ [⅓,⅓,⅓] 7.45 on UCF101, ‡ [0,1,0] 34.38 on HMDB51")
    else:
        claims["every_block_best"] = _untested("† / ‡ vs §: " + ("no § configuration" if deep else
                                                                 "no † or ‡ configuration") + " without pooling was run.")
    inits = {p: pair(f"{p}-centre", f"{p}-avg") for p in ("last", "every", "every+shortcut")
             if f"{p}-centre" in by_c and f"{p}-avg" in by_c}
    claims["centre_beats_avg"] = _all_claim(inits) if inits else _untested(
        "[0,1,0] vs [⅓,⅓,⅓]: no placement was run with both inits.")
    pools = {k: pair(f"{k}-pool", k) for k in by_c if not paper[k]["pool"] and f"{k}-pool" in by_c}
    claims["pool_helps"] = _all_claim(pools) if pools else _untested(
        "Temporal max-pooling: no configuration was run with and without it.")
    if "every+shortcut-centre-pool" in by_c:
        claims["best_overall"] = _lowest_error_claim(
            entries, by_c, ["every+shortcut-centre-pool"], names=names, among="configurations", method=method,
            paper="‡ [0,1,0] with pooling lowest, " + pp("every+shortcut-centre-pool"))
    else:
        claims["best_overall"] = _untested("Best overall: ‡ [0,1,0] with pooling was not run.")
    top = best(entries, method=method)
    best_c = next(k for k, e in by_c.items() if e["label"] == top["best"])
    holds, clear, contradicted, sentence = _claims_verdict(claims, "Table 3 (temporal filter)")
    out: dict[str, Any] = {"best": best_c, "metric": metric}
    for k, c in claims.items():
        out[k], out[f"{k}_clear"] = c["holds"], c["clear"]
    out.update(claims=claims, holds=holds, clear=clear, contradicted=contradicted,
               sentence=sentence + " " + _error_note(metric))
    return out


__all__ += ["fusion_claim", "temporal_filter_claim", "temporal_filter_config", "FUSION_PAPER",
            "FUSION_BASELINES_PAPER", "TEMPORAL_FILTER_PAPER"]
