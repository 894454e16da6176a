"""Grid rows → mean ± CI per config → comparisons, learning curves, result files and tables.

::

    summary = summarize(rows, by=["name"], metric="top1")  # mean, std, n, Student-t CI per name
    compare(summary, "r=0.5", "r=1")   # "higher" | "lower" | "indistinguishable", plus a sentence
    best(summary)                      # the best mean and the entries it cannot be told apart from
    paired_difference(rows, "config", "tsm", "tsn")   # per-seed differences, mean ± CI
    write_results(rows, summary, out_dir)             # results.csv, summary.csv, results.json
    aggregate_curves(out_dir, "r=0.5")                # val top-1 vs step, mean ± CI over seeds
    pct(entry), markdown_table(header, lines)         # the notebooks' table cells and tables

``compare`` calls a difference real only when the two CIs do not overlap (conservative;
``method="welch"`` uses the Welch interval of the difference instead). With n = 1 there is no CI
and no verdict beyond "indistinguishable". Accuracy-like metrics (names holding "top", "acc" or
"auc") are fractions of 1 in rows and summaries, shown in percent.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..train import METRICS_FILE
from ..utils.io import write_csv, write_json
from .grid import run_dir_of
from .stats import mean_ci, welch_ci

__all__ = ["summarize", "summarize_by", "compare", "best", "paired_difference", "load_curves", "aggregate_curves",
           "write_results", "pct", "is_accuracy", "markdown_table", "RUN_METRICS"]

#: Per-run outcomes: never copied into a summary as if they were properties of the config.
RUN_METRICS = ("top1", "top5", "val_top1", "best_val_top1", "val_auc", "wall_s", "error")


def is_accuracy(metric: str) -> bool:
    """Whether ``metric`` is a fraction of 1 shown in percent (its name holds "top", "acc" or "auc")."""
    return any(s in metric for s in ("top", "acc", "auc"))


def pct(e: Mapping[str, Any] | float | None, error: bool = False, *, unit: str = "") -> str:
    """A fraction of 1 in percent with one decimal: a number (``pct(0.742) == "74.2"``) or a summary
    entry as ``"mean ± ci"`` (just the mean without a CI, i.e. for one seed; "—" for None or an
    entry with no value). ``error=True`` shows 100 − the value (classification error, as the
    two-stream paper reports); ``unit="%"`` puts a percent sign after the mean (``"74.2% ± 3.1"``)."""
    if e is None:
        return "—"
    if not isinstance(e, Mapping):
        return f"{100 * (1 - e) if error else 100 * e:.1f}{unit}"
    if e["n"] == 0:
        return "—"
    m = 100 * (1 - e["mean"]) if error else 100 * e["mean"]
    return f"{m:.1f}{unit} ± {100 * e['ci']:.1f}" if e["ci"] == e["ci"] else f"{m:.1f}{unit}"


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> str:
    """A markdown table (``display(Markdown(markdown_table(...)))`` in a notebook): the ``header``
    line, ``|---|---|``, then one line per row; cells are ``str()``-ed; a Mapping row is read in the
    order of ``header``."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r[h] for h in header] if isinstance(r, Mapping) else list(r)
        if len(cells) != len(header):
            raise ValueError(f"markdown_table: a row has {len(cells)} cells for {len(header)} columns: {cells!r}")
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


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


def summarize_by(rows: Sequence[Mapping[str, Any]], by: Sequence[str], metric: str, *,
                 present_only: bool = False) -> dict[Any, dict[str, Any]]:
    """:func:`summarize` keyed by the ``by`` value (one field) or tuple of values. ``present_only``:
    only rows whose ``metric`` is set (not None) count; {} if there are none."""
    if present_only:
        rows = [r for r in rows if r.get(metric) is not None]
        if not rows:
            return {}
    key = (lambda e: e[by[0]]) if len(by) == 1 else (lambda e: tuple(e[k] for k in by))
    return {key(e): e for e in summarize(rows, by=tuple(by), metric=metric)}


# --------------------------------------------------------------------------------------------
# Comparing
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
    """``x`` in the unit of ``entry``'s metric: percent for accuracies, else 4 significant digits."""
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    return pct(x, unit="%") if is_accuracy(entry["metric"]) else f"{x:.4g}"


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
    diff_ci = welch_ci(ea, eb)
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
    scale = 100.0 if is_accuracy(metric) or "swapped" in metric else 1.0
    unit = " points" if scale == 100.0 else ""
    ci_txt = f" ± {scale * ci:.1f}" if len(diffs) > 1 else ""
    how = {"higher": "higher, the CI excludes 0", "lower": "lower, the CI excludes 0",
           "indistinguishable": "the CI contains 0" if len(diffs) > 1 else "one seed, no CI"}[verdict]
    sentence = (f"{a} - {b} ({metric}, paired by seed over {len(diffs)} seeds): {scale * mean:+.1f}{ci_txt}{unit} "
                f"({', '.join(f'{scale * d:+.1f}' for d in diffs)}); {how}.")
    return {"a": a, "b": b, "metric": metric, "diffs": diffs, "seeds": seeds, "n": len(diffs), "mean": mean,
            "ci": ci, "verdict": verdict, "sentence": sentence}


# --------------------------------------------------------------------------------------------
# Files and curves
# --------------------------------------------------------------------------------------------


def write_results(rows: Sequence[Mapping[str, Any]], summary: Sequence[Mapping[str, Any]],
                  out_dir: str | os.PathLike, *, extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write ``results.csv`` (one row per run), ``summary.csv`` and ``results.json`` (both, NaN → null).

    ``extra`` (e.g. verdict sentences, wall time) is stored in ``results.json`` beside rows and summary.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results_csv": out / "results.csv", "summary_csv": out / "summary.csv", "results_json": out / "results.json"}
    write_csv(paths["results_csv"], rows)
    write_csv(paths["summary_csv"], summary)
    write_json(paths["results_json"], {"rows": list(rows), "summary": list(summary), **dict(extra or {})})
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
