"""Grid rows → mean ± CI per config, learning curves, result files and tables (a chapter's claims are
decided by :mod:`.protocol` on paired seeds, not here).

::

    summary = summarize(rows, by=["name"], metric="top1")  # mean, std, n, Student-t CI per name
    write_results(rows, summary, out_dir)             # results.csv, summary.csv, results.json
    aggregate_curves(out_dir, "r=0.5")                # val top-1 vs step, mean ± CI over seeds
    pct(entry), markdown_table(header, lines)         # the notebooks' table cells and tables

With n = 1 there is no CI. Accuracy-like metrics (names holding "top", "acc" or "auc") are
fractions of 1 in rows and summaries, shown in percent.
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
from .stats import mean_ci

__all__ = ["summarize", "summarize_by", "load_curves", "aggregate_curves", "write_results", "pct", "is_accuracy", "markdown_table", "RUN_METRICS"]

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
