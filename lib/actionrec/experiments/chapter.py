"""What an ablation chapter shows of its runs under the protocol: the per-variant table with every
seed's value, the claims its variants can decide, the verdicts as sentences, the plots' inputs.

::

    rows ─→ variant_table(rows)            DataFrame: variant, n, trained k/n, mean, CI, SD, per seed, late gain
    claims, rows ─→ decidable(claims, rows) (claims whose variants all ran, [(claim, why not)])
    evaluate(...) ─→ verdict_lines(verdicts)  one markdown line per claim (verdict, difference, CI, δ, power)
    rows ─→ strip_data(rows)               ({variant: [per seed]}, {variant: (mean, lo, hi)}) for viz.plot_strip

Values are in points (accuracy-like metrics, fractions of 1 in the rows, times 100).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from .protocol import INCONCLUSIVE, Claim
from .stats import mean_ci
from .summary import is_accuracy

__all__ = ["variant_table", "decidable", "verdict_lines", "strip_data", "claims_table"]


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
        line = (f"**{v['claim']}**: *{v['verdict']}* — {v['pair']}: {v['diff']:+.2f} points, {100 * v['level']:.1f}% CI "
                f"{ci} (Holm), δ = {v['delta']:g}, n = {v['n']} paired seeds, detectable effect "
                f"{v['mde']:.2f} points. Paper: {v['paper']}.")
        if v["verdict"] == INCONCLUSIVE and isinstance(v["power_line"], str) and v["power_line"]:
            line += f" {v['power_line']}."
        if isinstance(v["note"], str) and v["note"]:
            line += f" Note: {v['note']}."
        lines.append(line)
    return lines


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The declared claims as a table: name, kind, variants, δ, why δ, the paper's number."""
    return pd.DataFrame([{"claim": c.name, "kind": c.kind.replace("_", "-"), "variants": ", ".join(c.variants),
                          "δ (points)": c.delta, "why δ": c.delta_reason, "paper": c.paper} for c in claims])
