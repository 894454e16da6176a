"""A chapter's reference results as committed files: write them, read them back, compare a rerun.

::

    book/results/<chapter>/
      provenance.json, runs/<name>/seed_<k>/{config,fingerprint}.json, reproduce.txt   (.references)
      rows.csv         one row per run: name, variant, seed, metrics, trained, late_gain, extras
      curves.csv       per run: train lines (step, loss, acc, lr, grad_norm) and val/test lines (top1, loss)
      verdicts.csv     :func:`~.protocol.evaluate`'s verdict table
      differences.csv  its per-seed differences

:func:`publish` writes them from a grid's rows (refusing a dirty git tree, through
:func:`~.references.write_provenance`), :func:`load` reads them (None when the chapter has none),
:func:`mark_trained` flags runs that failed to learn (test top-1 below ``factor`` × chance; they stay
in the statistics) and measures each run's *late gain* (val top-1 at the end minus at three
quarters of training: a run still learning shows it), and :func:`compare_rerun` lines up a rerun's
rows with the committed ones.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..train import CONFIG_FILE, METRICS_FILE, TrainConfig, config_diff
from .protocol import DIFFERENCE_COLUMNS, VERDICT_COLUMNS, Claim
from ..utils.paths import REPO_ROOT
from .references import PROVENANCE_FILE, RESULTS_ROOT, check_reference, write_provenance

__all__ = ["publish", "load", "mark_trained", "compare_rerun", "claims_record", "results_dir", "load_run_curve", "ROWS_FILE", "CURVES_FILE",
           "VERDICTS_FILE", "DIFFERENCES_FILE"]

ROWS_FILE, CURVES_FILE, VERDICTS_FILE, DIFFERENCES_FILE = "rows.csv", "curves.csv", "verdicts.csv", "differences.csv"
_CURVE_FIELDS = ("step", "epoch", "loss", "acc", "top1", "lr", "grad_norm")


def claims_record(claims: Sequence[Claim]) -> list[dict[str, Any]]:
    """The declared claims as plain dicts (what the provenance hashes)."""
    return [dict(name=c.name, kind=c.kind, variants=list(c.variants), metric=c.metric, delta=c.delta,
                 delta_reason=c.delta_reason, paper=c.paper, higher_is_better=c.higher_is_better,
                 paper_effect=c.paper_effect) for c in claims]


def _curve_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    path = Path(row["run_dir"]) / METRICS_FILE
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get("kind") in ("train", "val", "test"):
                out.append({"name": row["name"], "variant": row.get("variant", row["name"]), "seed": row["seed"],
                            "split": rec["kind"], **{k: rec.get(k) for k in _CURVE_FIELDS}})
    return out


def mark_trained(rows: Iterable[Mapping[str, Any]], *, chance: float, factor: float = 2.0) -> list[dict[str, Any]]:
    """``rows`` with ``trained`` (test top-1 >= ``factor`` × ``chance``, and no ``error``) and
    ``late_gain`` (points: the last val top-1 minus the one at 3/4 of the epochs, or the one before
    the last when there are fewer than 4, from the run's ``metrics.jsonl``; None with fewer than 2
    val lines)."""
    out = []
    for row in rows:
        row = dict(row)
        top1 = row.get("top1")
        row["trained"] = bool(top1 is not None and not row.get("error") and top1 >= factor * chance)
        vals = []
        path = Path(row["run_dir"]) / METRICS_FILE if row.get("run_dir") else None
        if path is not None and path.exists():
            vals = [json.loads(s)["top1"] for s in path.read_text().splitlines() if '"kind": "val"' in s]
        k = max(0, min(len(vals) - 2, math.ceil(0.75 * len(vals)) - 1))  # 3/4 of the epochs, at least one before the end
        row["late_gain"] = 100 * (vals[-1] - vals[k]) if len(vals) > 1 else None
        out.append(row)
    return out


def publish(chapter_dir: str | os.PathLike, rows: Sequence[Mapping[str, Any]], *, claims: Sequence[Claim],
            verdicts: pd.DataFrame | None, differences: pd.DataFrame | None, wall_s: float | None = None,
            command: str | None = None,
            repo: str | os.PathLike | None = None, allow_dirty: bool = False, commit: str | None = None,
            threads: int | None = None) -> Path:
    """Write a chapter's reference results (layout: module docstring) and return ``chapter_dir``.

    ``rows``: the grid's rows (``run_dir`` of finished runs; :func:`mark_trained` applied);
    ``claims`` with the ``verdicts`` / ``differences`` :func:`~.protocol.evaluate` made of them (None:
    no claim could be decided yet, e.g. a partial grid; empty tables are written);
    ``wall_s``: the training time (None: the runs' ``wall_s`` summed, as for a grid that spanned
    sessions); ``command``:
    the chapter's command line. The git tree at
    ``repo`` (None: this checkout) must be clean unless ``allow_dirty`` (reference grids run from a
    clean worktree); ``commit`` records a given commit instead of reading git; ``threads``: torch
    threads per run (:func:`~.grid.run_threads`)."""
    chapter_dir = Path(chapter_dir)
    if not rows:
        raise ValueError("rows is empty: pass the rows of the chapter's finished runs")
    repo = repo if repo is not None else (REPO_ROOT or ".")
    if wall_s is None:
        wall_s = float(sum(r.get("wall_s") or 0.0 for r in rows))
    write_provenance(chapter_dir, rows, claims=claims_record(claims), wall_s=wall_s, repo=repo,
                     allow_dirty=allow_dirty, command=command, commit=commit, threads=threads)
    table = pd.DataFrame([{k: v for k, v in r.items() if k not in ("run_dir", "skipped", "device")} for r in rows])
    table.to_csv(chapter_dir / ROWS_FILE, index=False)
    pd.DataFrame([c for r in rows for c in _curve_rows(r)]).to_csv(chapter_dir / CURVES_FILE, index=False)
    if verdicts is None:
        verdicts = pd.DataFrame(columns=VERDICT_COLUMNS)
    if differences is None:
        differences = pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    verdicts.to_csv(chapter_dir / VERDICTS_FILE, index=False)
    differences.to_csv(chapter_dir / DIFFERENCES_FILE, index=False)
    return chapter_dir


def load(chapter_dir: str | os.PathLike, *, claims: Sequence[Claim] | None = None,
         check: bool = True) -> dict[str, Any] | None:
    """The committed results of ``chapter_dir``: ``{"rows", "curves", "verdicts", "differences"}``
    (DataFrames), ``"provenance"`` (dict) and, with ``check``, ``"status"``
    (:func:`~.references.check_reference` against ``claims``: ``stale``, ``reason``); None when the
    chapter has no ``provenance.json`` yet."""
    chapter_dir = Path(chapter_dir)
    if not (chapter_dir / PROVENANCE_FILE).exists():
        return None
    out: dict[str, Any] = {"provenance": json.loads((chapter_dir / PROVENANCE_FILE).read_text())}
    for key, name in (("rows", ROWS_FILE), ("curves", CURVES_FILE), ("verdicts", VERDICTS_FILE),
                      ("differences", DIFFERENCES_FILE)):
        path = chapter_dir / name
        if not path.exists():
            raise ValueError(f"{path} is missing beside {PROVENANCE_FILE}: the reference is incomplete; publish it "
                             "again (the chapter's notebook with -p budget reference -p rerun True -p publish True)")
        out[key] = pd.read_csv(path)
    if check:
        out["status"] = check_reference(chapter_dir, claims=None if claims is None else claims_record(claims))
    return out


def recipe_changes(chapter_dir: str | os.PathLike, declared: Mapping[str, TrainConfig]) -> dict[str, dict[str, tuple]]:
    """Where the committed runs of ``chapter_dir`` were trained with another recipe than the chapter
    now declares: ``{variant: {field: (committed, declared)}}`` over the settings that change results
    (:func:`~actionrec.train.config_diff`; seed and data seed excluded; a differing dict field such as
    ``dataset_kwargs`` by its differing keys, e.g. ``difficulty``), for the variants of ``declared``
    (``{variant: config}``, e.g. a budget's runs) that were committed. Empty: same recipe.
    A reference trained on another recipe is not stale (its code may be current) but no longer the
    chapter's answer: :func:`~actionrec.experiments.chapter.reference_header` says so."""
    prov = json.loads((Path(chapter_dir) / PROVENANCE_FILE).read_text())
    changes: dict[str, dict[str, tuple]] = {}
    for run in prov["runs"].values():
        variant = Path(run["dir"]).parent.name.rsplit("-", 1)[0]
        if variant not in declared or variant in changes:
            continue
        saved = json.loads((Path(chapter_dir) / run["dir"] / CONFIG_FILE).read_text())
        old, new = TrainConfig.from_dict(saved).full_dict(), declared[variant].full_dict()
        diff: dict[str, tuple] = {}
        for k in config_diff(saved, declared[variant]):
            if k in ("seed", "data_seed"):
                continue
            if isinstance(old[k], dict) and isinstance(new[k], dict):
                diff.update({sub: (old[k].get(sub), new[k].get(sub)) for sub in sorted(set(old[k]) | set(new[k]))
                             if old[k].get(sub) != new[k].get(sub)})
            else:
                diff[k] = (old[k], new[k])
        if diff:
            changes[variant] = dict(sorted(diff.items()))
    return changes


def compare_rerun(committed: pd.DataFrame, rows: Sequence[Mapping[str, Any]], *, metric: str = "top1",
                  tolerance: float = 1.0, by: str = "variant") -> tuple[pd.DataFrame, bool]:
    """A rerun's runs beside the committed ones, per (variant, seed): ``committed``, ``rerun`` and
    ``diff`` in points, plus per-variant means; ``ok`` when every variant's mean over the seeds both
    hold is within ``tolerance`` points (runs repeat bit for bit on the same CPU kernels and thread
    count; elsewhere floating-point order differs and single runs drift, means much less)."""
    new = pd.DataFrame(list(rows))[[by, "seed", metric]].rename(columns={metric: "rerun"})
    old = committed[[by, "seed", metric]].rename(columns={metric: "committed"})
    both = old.merge(new, on=[by, "seed"], how="inner")
    both[["committed", "rerun"]] *= 100
    both["diff"] = both["rerun"] - both["committed"]
    means = both.groupby(by, sort=False)[["committed", "rerun", "diff"]].mean().reset_index()
    means["seed"] = "mean"
    table = pd.concat([both, means], ignore_index=True)
    ok = bool(len(means)) and bool((means["diff"].abs() <= tolerance).all())
    return table, ok


def results_dir(chapter: str) -> Path:
    """``<repo>/book/results/<chapter>`` of this checkout (``~/.cache/actionrec/results/<chapter>``
    when the package is installed outside one: there are no committed results there)."""
    return (REPO_ROOT / RESULTS_ROOT / chapter) if REPO_ROOT is not None else \
        Path.home() / ".cache" / "actionrec" / "results" / chapter


def load_run_curve(run_dir: str | os.PathLike, split: str = "val") -> dict[str, list[float]]:
    """``{"epoch", "step", "top1"}`` (top-1 in points) of one run's ``split`` lines in ``metrics.jsonl``."""
    recs = [json.loads(s) for s in (Path(run_dir) / METRICS_FILE).read_text().splitlines() if s.strip()]
    recs = [r for r in recs if r.get("kind") == split]
    return {"epoch": [r["epoch"] for r in recs], "step": [r["step"] for r in recs],
            "top1": [100 * r["top1"] for r in recs]}
