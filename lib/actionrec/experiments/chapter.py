"""What an ablation chapter shows of its runs under the protocol: the per-variant table with every
seed's value, the claims its variants can decide, the verdicts as sentences, the plots' inputs.

::

    rows ─→ variant_table(rows)            DataFrame: variant, n, trained k/n, mean, CI, SD, per seed, late gain
    claims, rows ─→ decidable(claims, rows) (claims whose variants all ran, [(claim, why not)])
    evaluate(...) ─→ verdict_lines(verdicts)  one markdown line per claim (verdict, difference, CI, δ, power)
    rows ─→ strip_data(rows)               ({variant: [per seed]}, {variant: (mean, lo, hi)}) for viz.plot_strip

What the six ablation notebooks share, one call each::

    published.load(...) ─→ reference_header(ref, where, notebook)   markdown: provenance, STALE / partial
    claims, rows ─→ decide(claims, rows)      (verdicts, differences, markdown of the verdicts and the undecided)
    rows (+ verdicts, differences, curves) ─→ plot_data(...)          keyword arguments of viz.plot_protocol
    committed rows, rows ─→ rerun_report(...) (per-seed table, markdown: matches or not within the tolerance)

Values are in points (accuracy-like metrics, fractions of 1 in the rows, times 100).
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

import pandas as pd

from .protocol import INCONCLUSIVE, Claim, evaluate
from .published import compare_rerun, load_run_curve, recipe_changes
from .stats import mean_ci
from .summary import is_accuracy

__all__ = ["variant_table", "decidable", "verdict_lines", "strip_data", "claims_table", "reference_header", "decide",
           "verdict_text", "plot_data", "rerun_report", "reference_command"]


def _frame(rows: Any) -> pd.DataFrame:
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty:
        raise ValueError("rows is empty: pass one row per run")
    return df


def strip_data(rows: Any, *, by: str = "variant", metric: str = "top1",
               order: Sequence[str] | None = None) -> tuple[dict[str, list[float]], dict[str, tuple[float, float, float]]]:
    """``({variant: values by seed}, {variant: (mean, lo, hi)})`` in points, for :func:`actionrec.viz.plot_strip`
    (95% Student-t CI of the mean; lo = hi = NaN with one seed)."""
    df = _frame(rows)
    scale = 100.0 if is_accuracy(metric) else 1.0
    names = list(order) if order is not None else list(dict.fromkeys(df[by]))
    values, intervals = {}, {}
    for name in names:
        v = df[df[by] == name].sort_values("seed")[metric].dropna().astype(float) * scale
        if v.empty:
            continue
        values[name] = v.tolist()
        m, _, half = mean_ci(v.tolist())
        intervals[name] = (m, m - half, m + half) if half == half else (m, math.nan, math.nan)
    return values, intervals


def variant_table(rows: Any, *, by: str = "variant", metric: str = "top1", order: Sequence[str] | None = None,
                  extra: Sequence[str] = ()) -> pd.DataFrame:
    """One row per variant: ``n``, ``trained`` ("k/n"; rows without a ``trained`` column count as
    trained), ``mean``, ``ci_low``, ``ci_high`` (95% t), ``sd``, ``per seed`` ("seed: value" in
    seed order), ``max late gain`` (when rows hold ``late_gain``), then the ``extra`` columns' first
    value (e.g. GMACs)."""
    df = _frame(rows)
    values, intervals = strip_data(df, by=by, metric=metric, order=order)
    scale = 100.0 if is_accuracy(metric) else 1.0
    out = []
    for name, vals in values.items():
        sub = df[df[by] == name].sort_values("seed")
        trained = int(sub["trained"].fillna(True).astype(bool).sum()) if "trained" in sub else len(sub)
        m, lo, hi = intervals[name]
        row = {by: name, "n": len(vals), "trained": f"{trained}/{len(sub)}", "mean": m, "ci_low": lo, "ci_high": hi,
               "sd": pd.Series(vals).std(ddof=1) if len(vals) > 1 else math.nan,
               "per seed": ", ".join(f"{s}: {scale * v:.1f}" for s, v in zip(sub["seed"], sub[metric]) if v == v)}
        if "late_gain" in sub and sub["late_gain"].notna().any():
            row["max late gain"] = float(sub["late_gain"].max())
        for col in extra:
            row[col] = sub[col].iloc[0] if col in sub else None
        out.append(row)
    return pd.DataFrame(out)


def decidable(claims: Sequence[Claim], rows: Any, *, by: str = "variant") -> tuple[list[Claim], list[tuple[Claim, str]]]:
    """The claims whose variants all have runs in ``rows``, and the others with why not ("not run at
    this budget: r0.875_g1, ...")."""
    present = set(_frame(rows)[by])
    ok, not_ok = [], []
    for c in claims:
        missing = [v for v in c.variants if v not in present]
        (not_ok.append((c, "not run at this budget: " + ", ".join(missing))) if missing else ok.append(c))
    return ok, not_ok


def verdict_lines(verdicts: pd.DataFrame) -> list[str]:
    """One markdown line per claim: **name**: verdict — difference [CI] at its level, δ, n, detectable
    effect, and the power line (inconclusive) or the note."""
    lines = []
    for _, v in verdicts.iterrows():
        ci = "no interval" if v["ci_low"] != v["ci_low"] else f"[{v['ci_low']:+.2f}, {v['ci_high']:+.2f}]"
        mde = f"{v['mde']:.2f} points" if v["mde"] == v["mde"] else "not estimable yet"
        line = (f"**{v['claim']}**: *{v['verdict']}* — {v['pair']}: {v['diff']:+.2f} points, {100 * v['level']:.1f}% CI "
                f"{ci} (Holm), δ = {v['delta']:g}, n = {v['n']} paired seeds, detectable effect "
                f"{mde}. Paper: {v['paper']}.")
        if v["verdict"] == INCONCLUSIVE and isinstance(v["power_line"], str) and v["power_line"]:
            line += f" {v['power_line']}."
        if isinstance(v["note"], str) and v["note"]:
            line += f" Note: {v['note']}."
        lines.append(line)
    return lines


def verdict_text(verdicts: pd.DataFrame | None) -> str:
    """:func:`verdict_lines` as one markdown string, or a line saying no claim could be decided
    (``verdicts`` None or empty: no claim has runs of all its variants)."""
    if verdicts is None or not len(verdicts):
        return "*No claim can be decided yet: no claim has runs of all its variants.*"
    return "\n\n".join(verdict_lines(verdicts))


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The declared claims as a table: name, kind, variants, δ, why δ, the paper's number."""
    return pd.DataFrame([{"claim": c.name, "kind": c.kind.replace("_", "-"), "variants": ", ".join(c.variants),
                          "δ (points)": c.delta, "why δ": c.delta_reason, "paper": c.paper} for c in claims])


def reference_command(notebook: str) -> str:
    """The command line that retrains and publishes ``notebook``'s reference (run from a clean worktree)."""
    return f"papermill notebooks/{notebook}.ipynb out.ipynb -p budget reference -p rerun True -p publish True"


def reference_header(ref: Mapping[str, Any] | None, where: str | os.PathLike, notebook: str, *,
                     declared_seeds: Sequence[int] | None = None,
                     declared_configs: Mapping[str, Any] | None = None) -> str:
    """Markdown above a chapter's committed reference (``ref``: :func:`~.published.load`'s result):
    where none is committed yet, how to make it; otherwise **STALE** (the code fingerprints no longer
    match, and why) or current, **Another recipe** when the committed runs were trained with other
    settings than ``declared_configs`` (``{variant: TrainConfig}``, the reference budget's runs;
    :func:`~.published.recipe_changes`), **Partial** when fewer seeds than ``declared_seeds`` are in,
    and the provenance (commit, date, CPU, threads, torch, training time summed over runs)."""
    if ref is None:
        return (f"*No committed reference results under `{where}` yet.* They are made by "
                f"`{reference_command(notebook)}` from a clean worktree.")
    prov, status = ref["provenance"], ref["status"]
    done = sorted(int(s) for s in set(ref["rows"]["seed"]))
    text = (f"**STALE:** {status['reason']}. The numbers below were made by other code. " if status["stale"]
            else "Current: the code fingerprints match. ")
    if declared_configs is not None:
        changes = recipe_changes(where, declared_configs)
        if changes:
            fields = {k: v for diff in changes.values() for k, v in diff.items()}
            text += ("**Another recipe:** these runs were trained with "
                     + ", ".join(f"{k} {a}" for k, (a, _) in fields.items()) + "; the chapter now declares "
                     + ", ".join(f"{k} {b}" for k, (_, b) in fields.items())
                     + ". They are not the chapter's answer; its reference grid restarts at the declared recipe. ")
    if declared_seeds is not None and len(done) < len(declared_seeds):
        text += f"**Partial:** seeds {done} of the {len(declared_seeds)} declared; the grid resumes. "
    return text + (f"Made at commit `{prov['commit'][:10]}` on {prov['date']}, {prov['cpu']}, {prov['threads']} threads "
                   f"per run, torch {prov['torch']}, {prov['wall_s'] / 3600:.1f} h of training (summed over runs).")


def decide(claims: Sequence[Claim], rows: Any, *, by: str = "variant",
           reference_hint: bool = True) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str]:
    """``(verdicts, differences, markdown)``: :func:`~.protocol.evaluate` on the claims whose variants
    all ran (None, None when none did), and the markdown of :func:`verdict_lines` followed by the
    claims this budget cannot decide, each with why (``reference_hint``: point to ``budget reference``)."""
    ok, not_ok = decidable(claims, rows, by=by)
    verdicts = differences = None
    if ok:
        verdicts, differences = evaluate(ok, rows, by=by)
    parts = [verdict_text(verdicts)]
    if not_ok:
        parts.append("**Not decided at this budget:** " + "; ".join(f"*{c.name}* ({why})" for c, why in not_ok)
                     + (". `-p budget reference` shows them." if reference_hint else "."))
    return verdicts, differences, "\n\n".join(parts)


def _curves_of(curves: pd.DataFrame | None, rows: pd.DataFrame, by: str) -> dict[str, dict[Any, tuple[list, list]]]:
    if curves is not None:  # a committed reference's curves.csv
        val = curves[curves["split"] == "val"]
        return {v: {s: (g["epoch"].tolist(), (100 * g["top1"]).tolist()) for s, g in vg.groupby("seed")}
                for v, vg in val.groupby(by, sort=False)}
    out: dict[str, dict[Any, tuple[list, list]]] = {}
    for _, r in rows.iterrows():  # this run's metrics.jsonl files
        if isinstance(r.get("run_dir"), str) and os.path.isdir(r["run_dir"]):
            c = load_run_curve(r["run_dir"])
            out.setdefault(r[by], {})[r["seed"]] = (c["epoch"], c["top1"])
    return out


def plot_data(rows: Any, *, verdicts: pd.DataFrame | None = None, differences: pd.DataFrame | None = None,
              curves: pd.DataFrame | None = None, by: str = "variant", metric: str = "top1",
              order: Sequence[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`actionrec.viz.plot_protocol`: ``values`` and ``intervals``
    (:func:`strip_data`), ``claims`` (the verdict rows as dicts; empty without verdicts),
    ``differences`` (``{claim: per-seed differences}``) and ``curves`` (``{variant: {seed: (epoch,
    val top-1 %)}}``, from ``curves`` (a committed ``curves.csv``) or else each row's ``run_dir``);
    ``order``: the variants' order (default: first appearance)."""
    df = _frame(rows)
    values, intervals = strip_data(df, by=by, metric=metric, order=order)
    has_verdicts = verdicts is not None and len(verdicts)
    return {"values": values, "intervals": intervals,
            "claims": verdicts.to_dict("records") if has_verdicts else [],
            "differences": ({c: g["diff"].tolist() for c, g in differences.groupby("claim", sort=False)}
                            if has_verdicts and differences is not None else {}),
            "curves": _curves_of(curves, df, by)}


def rerun_report(committed: pd.DataFrame, rows: Any, *, tolerance: float) -> tuple[pd.DataFrame, str]:
    """A rerun beside the committed reference (:func:`~.published.compare_rerun`: per seed and per
    variant mean, points) and one markdown line: matches or not within ``tolerance`` points."""
    table, same = compare_rerun(committed, rows, tolerance=tolerance)
    return table, (f"**Rerun {'matches' if same else 'does NOT match'} the committed reference** "
                   f"(tolerance {tolerance:g} points on each variant's mean).")
