"""A chapter's claims decided over paired seeds: holds / reversed / no effect larger than δ / inconclusive.

A :class:`Claim` is data declared before the runs: its variants, the metric, its kind, δ (the
smallest difference in points that matters here) with a one-line reason, and the paper's number.
:func:`evaluate` decides every claim of a chapter on per-run rows (``by`` = variant, ``seed``, metric).

**Paired design, seed as block.** Seed k of every variant shares data and data order, so a claim is
read on the differences ``d_k = s · (a_k − b_k)`` over the seeds that have a value in *every*
variant of the claim (complete blocks; ``s`` = +1, or −1 when lower is better, so d > 0 always means
"a is better"). Over the n blocks: mean d̄, SD of the differences (ddof 1), the two-sided Student-t
CI of the mean difference at the claim's level (``scipy.stats.ttest_rel(...).confidence_interval``),
the paired t-test p (``ttest_rel``, two-sided) and, when n ≥ 6, the Wilcoxon signed-rank p
(``scipy.stats.wilcoxon``) as a secondary check. Identical differences (SD 0) give a point CI.

**Units.** Values are read in points: with ``unit="auto"`` accuracy-like metrics (names holding
"top", "acc" or "auc", fractions of 1 in grid rows) are multiplied by 100, other metrics are taken as
they are; ``unit="fraction"`` / ``"points"`` force it.

**Failed runs are counted, never dropped.** A row is *trained* unless its ``trained`` column is
False (the caller's call, e.g. final top-1 at chance), its ``error`` column is set or it has no
value. Untrained runs with a value (e.g. a network stuck at chance) enter the statistics like any
other; each claim reports "k/n trained" per variant. A run with no value (crashed) cannot be paired:
its seed is listed in ``excluded`` with the reason, as is a seed missing from an arm.

**Verdict rules** on the CI [lo, hi] of the difference (per pair, d = a − b, a better when d > 0),
first matching row wins:

=================  ===========================================================  =====================
kind (variants)    rule                                                         primary p (→ Holm)
=================  ===========================================================  =====================
superiority        lo > 0 → holds; hi < 0 → reversed;                           2 · P_t(d̄ > 0)
(a, b): a > b      −δ < lo and hi < δ → no effect larger than δ; else inconcl.   one-sided, capped at 1
non_inferiority    lo > −δ → holds; hi < −δ → reversed; else inconclusive       2 · P_t(d̄ > −δ)
(a, b): a ≥ b − δ
equivalence        −δ < lo and hi < δ → holds (TOST);                           2 · max(P_t(d̄ > −δ),
(a, b): −δ<a−b<δ   lo > δ or hi < −δ → reversed; else inconclusive                      P_t(d̄ < δ))
ordering           adjacent pairs (v1, v2), (v2, v3), … by the superiority      max over the pairs
(v1, v2, …): v1 >  rule: all hold → holds; any reversed → reversed; every CI
v2 > …             inside (−δ, δ) → no effect larger than δ; else inconclusive
best_of            (c, v) for every other v by the non-inferiority rule: all    max over the pairs
(c, v2, …): c is   hold → holds (c within δ of, or better than, every other);
best               any reversed → reversed (some v beats c by more than δ);
                   else inconclusive
worst_of           (v, c) for every other v by the superiority rule: all hold   max over the pairs
(c, v2, …): c is   → holds (every other beats c); any reversed → reversed (c
below every other  beats some v); every CI inside (−δ, δ) → no effect larger
                   than δ; else inconclusive
=================  ===========================================================  =====================

``P_t(d̄ > m)`` is the one-sided paired t-test p against the mean m (``ttest_1samp``). Doubling it
makes "primary p < α′" equivalent to "the two-sided CI at level 1 − α′ clears the boundary", so the
p-values and the CI rules agree. Non-inferiority and best-of cannot say "no effect larger than δ"
(their *holds* is that statement about the margin); equivalence's *holds* is it.

**Holm within a chapter**, per claim family (``Claim.family``: the paper's claims, and the
setting's checks such as the positive control, each corrected on its own). The m claims' primary
p-values are sorted (ties keep declaration order; NaN counts as 1). ``p_holm`` of rank k is ``max_{j ≤ k} min(1, (m − j + 1) p_(j))``. The CI of the
claim of rank k is read at level ``1 − α / (m − j + 1)`` with ``j = min(k, k*)``, k* the first rank
whose p_(j) ≥ α / (m − j + 1) (the step-down stops there; every later rank keeps that level). Then
"holds" ⇔ ``p_holm < α``, exactly Holm's step-down, and "reversed" / "no effect larger than δ" are
read on the same intervals.

**Power.** Every claim reports ``mde``: the smallest true difference its n seeds detect with
probability ``power`` at its level (:func:`.power.detectable_effect`, at the SD of its differences;
the largest over its pairs). An *inconclusive* claim gets a power line: "≈N seeds would resolve a
difference of the observed size", N = :func:`.power.seeds_needed` for the observed distance of d̄
from the boundary the rule tests (0 for superiority/ordering, −δ for non-inferiority/best-of, the
nearer of ±δ for equivalence; the largest N over the unresolved pairs), or "—" when that distance is
≈ 0 (not even :data:`.power.N_MAX` seeds resolve it). A claim with ``paper_effect`` below its mde
says so in ``note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

from ..utils.checks import check_bool, check_choice, check_float, fail
from .power import N_MAX, detectable_effect, seeds_needed
from .summary import is_accuracy

__all__ = ["Claim", "KINDS", "FAMILIES", "VERDICTS", "VERDICT_COLUMNS", "DIFFERENCE_COLUMNS", "HOLDS", "REVERSED",
           "NO_EFFECT", "INCONCLUSIVE", "holm",
           "evaluate"]

#: Claim families; Holm's correction runs within each (a setting's positive control is not one of
#: the paper's claims, and its verdict does not spend their error rate).
FAMILIES = ("paper", "control")
KINDS = ("superiority", "non_inferiority", "equivalence", "ordering", "best_of", "worst_of")
HOLDS, REVERSED, NO_EFFECT, INCONCLUSIVE = "holds", "reversed", "no effect larger than δ", "inconclusive"
VERDICTS = (HOLDS, REVERSED, NO_EFFECT, INCONCLUSIVE)
_TWO_VARIANTS = ("superiority", "non_inferiority", "equivalence")
#: The columns of :func:`evaluate`'s verdict table, in order.
VERDICT_COLUMNS = ("claim", "kind", "variants", "metric", "paper", "paper_effect", "delta", "delta_reason", "trained",
                   "excluded", "n", "pair", "diff", "sd", "ci_low", "ci_high", "level", "p", "p_wilcoxon", "p_primary",
                   "p_holm", "verdict", "mde", "n_needed", "power_line", "pairs", "note")
#: The columns of :func:`evaluate`'s per-seed differences.
DIFFERENCE_COLUMNS = ("claim", "a", "b", "seed", "value_a", "value_b", "diff", "trained_a", "trained_b")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, declared before the runs (rules: module docstring).

    ``name`` (unique in a chapter), ``kind`` (one of :data:`KINDS`), ``variants`` (variant names as
    in the rows' ``by`` column: (a, b) for superiority / non_inferiority / equivalence; the claimed
    order best first for ordering; the claimed best first for best_of; the claimed worst first for
    worst_of), ``metric`` (a row column,
    e.g. "top1"), ``delta`` (> 0, points: the smallest difference that matters here, also the
    non-inferiority margin and the equivalence bound), ``delta_reason`` (why that δ), ``paper`` (the
    paper's number or sentence), ``higher_is_better``, ``paper_effect`` (optional: the paper's
    difference in points, compared with the run's detectable effect), ``family`` (``"paper"``: the
    paper's claims; ``"control"``: a check of the setting itself, e.g. the positive control; Holm
    corrects within each family).
    """

    name: str
    kind: str
    variants: tuple[str, ...]
    metric: str
    delta: float
    delta_reason: str
    paper: str
    higher_is_better: bool = True
    paper_effect: float | None = None
    family: str = "paper"

    def __post_init__(self) -> None:
        try:
            for field in ("name", "metric", "delta_reason", "paper"):
                value = getattr(self, field)
                if not isinstance(value, str) or not value.strip():
                    fail(field, value, "a non-empty string" + (" saying why δ is the smallest difference that matters"
                                                               if field == "delta_reason" else ""))
            check_choice("kind", self.kind, KINDS)
            variants = self.variants
            if isinstance(variants, str) or not isinstance(variants, (tuple, list)):
                fail("variants", variants, "a tuple of variant names, e.g. ('a', 'b')")
            if not all(isinstance(v, str) and v for v in variants) or len(set(variants)) != len(variants):
                fail("variants", variants, "distinct non-empty variant names")
            if self.kind in _TWO_VARIANTS and len(variants) != 2:
                fail("variants", variants, f"exactly two variants (a, b) for kind={self.kind!r}")
            if len(variants) < 2:
                fail("variants", variants, f"at least two variants for kind={self.kind!r}")
            check_float("delta", self.delta, positive=True)
            check_bool("higher_is_better", self.higher_is_better)
            check_float("paper_effect", self.paper_effect, optional=True)
            check_choice("family", self.family, FAMILIES)
        except ValueError as e:
            raise ValueError(f"Claim {self.name!r}: {e}") from None
        object.__setattr__(self, "variants", tuple(variants))
        object.__setattr__(self, "delta", float(self.delta))

    def pairs(self) -> list[tuple[str, str]]:
        """The (a, b) pairs the rule reads: adjacent ones for ordering, (best, other) for best_of,
        (other, worst) for worst_of."""
        v = self.variants
        if self.kind == "ordering":
            return list(zip(v[:-1], v[1:]))
        if self.kind == "worst_of":
            return [(o, v[0]) for o in v[1:]]
        return [(v[0], o) for o in v[1:]]


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> tuple[list[float], list[float]]:
    """Holm's step-down over ``pvalues`` (NaN counts as 1): ``(p_holm, levels)`` in input order;
    ``levels`` are the CI confidence levels the claims are read at (module docstring)."""
    check_float("alpha", alpha, positive=True, max_value=0.5)
    p = np.array([1.0 if v is None or math.isnan(v) else float(v) for v in pvalues])
    m = len(p)
    order = np.argsort(p, kind="stable")
    p_adj, levels = np.empty(m), np.empty(m)
    running, stop = 0.0, None
    for k, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - k + 1) * p[i]))
        p_adj[i] = running
        if stop is None and not p[i] < alpha / (m - k + 1):
            stop = k
        levels[i] = 1.0 - alpha / (m - min(k, stop or k) + 1)
    return p_adj.tolist(), levels.tolist()


# --------------------------------------------------------------------------------------------
# Rows → per-variant values
# --------------------------------------------------------------------------------------------


def _table(rows: Any, by: str, metrics: set[str], unit: str) -> pd.DataFrame:
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty:
        raise ValueError("evaluate: rows is empty: pass one row per run (variant, seed, metric)")
    missing = [c for c in (by, "seed", *sorted(metrics)) if c not in df.columns]
    if missing:
        raise ValueError(f"evaluate: rows have no column(s) {missing}; columns: {list(df.columns)} "
                         "(by= names the variant column)")
    dup = df[df.duplicated([by, "seed"], keep=False)]
    if len(dup):
        pairs = dup[[by, "seed"]].drop_duplicates().values.tolist()
        raise ValueError(f"evaluate: repeated (variant, seed) rows: {pairs[:5]}: one row per run")
    trained = pd.Series(True, index=df.index)
    if "trained" in df.columns:  # only an explicit False counts; a row without the flag is trained
        trained &= df["trained"].map(lambda t: bool(pd.isna(t)) or bool(t))
    if "error" in df.columns:
        trained &= df["error"].map(lambda e: bool(pd.isna(e)) or not e)
    df["_trained"] = trained
    for metric in metrics:
        values = pd.to_numeric(df[metric], errors="coerce").astype(float)
        scale = 100.0 if unit == "fraction" or (unit == "auto" and is_accuracy(metric)) else 1.0
        if unit == "auto" and scale == 100.0 and (values.abs() > 1.0).any():
            raise ValueError(f"evaluate: {metric!r} has values above 1 ({values.max():g}), but accuracy-like metrics "
                             "are read as fractions of 1: pass unit='points' if the rows hold points")
        df[metric] = values * scale
    return df


def _pair(d: np.ndarray, level: float) -> dict[str, float]:
    """n, mean, sd, CI at ``level``, two-sided paired t p and Wilcoxon p of the differences ``d``."""
    n = len(d)
    out = dict(n=n, diff=float(d.mean()) if n else math.nan, sd=math.nan, lo=math.nan, hi=math.nan,
               p=math.nan, p_wilcoxon=math.nan)
    if n < 2:
        return out
    out["sd"] = float(d.std(ddof=1))
    if np.all(d == d[0]):  # SD 0: the CI is the point; t is ±inf (or 0/0 when all differences are 0)
        out.update(lo=out["diff"], hi=out["diff"], p=1.0 if d[0] == 0 else 0.0)
    else:
        res = st.ttest_rel(d, np.zeros(n))
        ci = res.confidence_interval(level)
        out.update(lo=float(ci.low), hi=float(ci.high), p=float(res.pvalue))
    if n >= 6:
        out["p_wilcoxon"] = 1.0 if np.all(d == 0) else float(st.wilcoxon(d).pvalue)
    return out


def _p_one_sided(d: np.ndarray, m0: float, alternative: str) -> float:
    """One-sided paired t p of mean(d) > m0 (``alternative="greater"``) or < m0 (``"less"``)."""
    if len(d) < 2:
        return math.nan
    if np.all(d == d[0]):
        return 0.0 if (d[0] > m0 if alternative == "greater" else d[0] < m0) else 1.0
    return float(st.ttest_1samp(d, m0, alternative=alternative).pvalue)


def _primary_p(kind: str, d: np.ndarray, delta: float) -> float:
    if kind in ("superiority", "ordering", "worst_of"):
        p = _p_one_sided(d, 0.0, "greater")
    elif kind in ("non_inferiority", "best_of"):
        p = _p_one_sided(d, -delta, "greater")
    else:
        p = max(_p_one_sided(d, -delta, "greater"), _p_one_sided(d, delta, "less"))
    return min(1.0, 2.0 * p)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


def _rule(kind: str, lo: float, hi: float, delta: float) -> str:
    """The pair rule of ``kind`` (superiority for ordering pairs, non-inferiority for best_of pairs)."""
    if math.isnan(lo):
        return INCONCLUSIVE
    if kind in ("superiority", "ordering", "worst_of"):
        return HOLDS if lo > 0 else REVERSED if hi < 0 else NO_EFFECT if -delta < lo and hi < delta else INCONCLUSIVE
    if kind in ("non_inferiority", "best_of"):
        return HOLDS if lo > -delta else REVERSED if hi < -delta else INCONCLUSIVE
    return HOLDS if -delta < lo and hi < delta else REVERSED if lo > delta or hi < -delta else INCONCLUSIVE


def _verdict(kind: str, pairs: list[dict[str, Any]], delta: float) -> str:
    rules = [p["rule"] for p in pairs]
    if len(rules) == 1:
        return rules[0]
    if all(r == HOLDS for r in rules):
        return HOLDS
    if any(r == REVERSED for r in rules):
        return REVERSED
    if kind in ("ordering", "worst_of") and all(-delta < p["lo"] and p["hi"] < delta for p in pairs):
        return NO_EFFECT
    return INCONCLUSIVE


def _boundary(kind: str, diff: float, delta: float) -> tuple[float, str]:
    """Distance of the observed mean difference from the boundary the rule tests, and its name."""
    if kind in ("superiority", "ordering", "worst_of"):
        return abs(diff), "0"
    if kind in ("non_inferiority", "best_of"):
        return abs(diff + delta), "−δ"
    return abs(delta - abs(diff)), "±δ"


def _power_line(claim: Claim, pairs: list[dict[str, Any]], alpha: float, power: float) -> tuple[float, str]:
    """(seeds needed or NaN, the power line) of an inconclusive claim."""
    if pairs[0]["n"] < 2:
        return math.nan, "— (fewer than 2 paired seeds: no interval)"
    open_ = [p for p in pairs if p["rule"] == INCONCLUSIVE] or [p for p in pairs if p["rule"] != HOLDS]
    need, worst = 0, None
    for p in open_:
        dist, name = _boundary(claim.kind, p["diff"], claim.delta)
        n = seeds_needed(p["sd"], dist, alpha, power) if dist > 0 else None
        if n is None:
            return math.nan, (f"— (the observed difference is ≈ {name} next to its SD: "
                              f"more than {N_MAX} seeds would not resolve it)")
        if n > need:
            need, worst = n, (dist, name)
    return float(need), (f"≈{need} seeds would resolve a difference of the observed size "
                         f"({worst[0]:.2f} points from {worst[1]}, {power:.0%} power)")


# --------------------------------------------------------------------------------------------
# A chapter
# --------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:+.2f}"


def _blocks(c: Claim, df: pd.DataFrame, by: str) -> tuple[dict[str, pd.DataFrame], list, str, str]:
    """The claim's arms (rows by seed), its complete blocks (seeds with a value in every variant),
    the excluded seeds with reasons, and "variant: k/n" trained counts."""
    arms = {v: df[df[by] == v].set_index("seed") for v in c.variants}
    valid = {v: set(a.index[a[c.metric].notna()]) for v, a in arms.items()}
    blocks = sorted(set.intersection(*valid.values()))
    excluded = []
    for s in sorted(set().union(*(set(a.index) for a in arms.values())) - set(blocks)):
        why = [f"{'missing' if s not in arms[v].index else 'no value'} in {v}" for v in c.variants if s not in valid[v]]
        excluded.append(f"seed {s}: {', '.join(why)}")
    trained = "; ".join(f"{v}: {int((a['_trained'] & a[c.metric].notna()).sum())}/{len(a)}" for v, a in arms.items())
    return arms, blocks, "; ".join(excluded), trained


def _claim_row(c: Claim, ds: dict[tuple[str, str], np.ndarray], level: float, power: float) -> dict[str, Any]:
    """The verdict columns of one claim from its per-pair differences ``ds`` at CI ``level``."""
    pairs = []
    for (a, b), d in ds.items():
        p = _pair(d, level)
        p.update(a=a, b=b, rule=_rule(c.kind, p["lo"], p["hi"], c.delta))
        pairs.append(p)
    verdict = _verdict(c.kind, pairs, c.delta)
    shown = min(pairs, key=lambda p: math.inf if math.isnan(p["lo"]) else p["lo"])
    n, a_level = shown["n"], 1.0 - level
    mde = max(detectable_effect(p["sd"], n, a_level, power) for p in pairs) if n >= 2 else math.nan
    n_needed, line = _power_line(c, pairs, a_level, power) if verdict == INCONCLUSIVE else (math.nan, "")
    note = ""
    if c.paper_effect is not None and not math.isnan(mde) and abs(c.paper_effect) < mde:
        note = (f"the paper's effect ({c.paper_effect:.2f} points) is below this run's detectable effect "
                f"({mde:.2f} points at {power:.0%} power): the run cannot resolve it")
    return dict(n=n, pair=f"{shown['a']} − {shown['b']}", diff=shown["diff"], sd=shown["sd"], ci_low=shown["lo"],
                ci_high=shown["hi"], level=level, p=max(p["p"] for p in pairs),
                p_wilcoxon=max(p["p_wilcoxon"] for p in pairs), verdict=verdict, mde=mde, n_needed=n_needed,
                power_line=line, note=note,
                pairs="; ".join(f"{p['a']} − {p['b']}: {_fmt(p['diff'])} [{_fmt(p['lo'])}, {_fmt(p['hi'])}]"
                                for p in pairs))


def evaluate(claims: Sequence[Claim], rows: Any, *, alpha: float = 0.05, power: float = 0.8, by: str = "name",
             unit: str = "auto") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decide a chapter's ``claims`` on per-run ``rows`` (dicts or a DataFrame with columns ``by``,
    ``seed``, each claim's metric, optionally ``trained`` / ``error``), Holm-corrected at ``alpha``
    over the chapter (rules, units and counting: module docstring).

    Returns ``(verdicts, differences)``:

    * ``verdicts``, one row per claim (:data:`VERDICT_COLUMNS`): ``claim, kind, variants, metric,
      paper, paper_effect, delta, delta_reason, trained`` ("a: k/n; b: k/n"), ``excluded`` (seeds left
      out and why), ``n`` (paired seeds), ``pair`` (the pair shown: the one with the lowest CI
      bound), ``diff, sd, ci_low, ci_high`` (points; d > 0: a better), ``level`` (the CI's
      confidence), ``p`` (paired t, two-sided), ``p_wilcoxon`` (n ≥ 6), ``p_primary``, ``p_holm``,
      ``verdict`` (one of :data:`VERDICTS`), ``mde`` (points), ``n_needed``, ``power_line``,
      ``pairs`` (every pair: diff [lo, hi]), ``note``; p and Wilcoxon p are the largest over a
      claim's pairs.
    * ``differences``, one row per claim, pair and paired seed: ``claim, a, b, seed, value_a,
      value_b, diff, trained_a, trained_b`` (the per-seed values a chapter plots).
    """
    claims = list(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        fail("claims", claims, "a non-empty list of Claim")
    names = [c.name for c in claims]
    if len(set(names)) != len(names):
        fail("claims", names, "claims with distinct names")
    check_float("alpha", alpha, positive=True, max_value=0.5)
    check_float("power", power, positive=True, max_value=0.999999)
    check_choice("unit", unit, ("auto", "fraction", "points"))
    df = _table(rows, by, {c.metric for c in claims}, unit)
    present = list(dict.fromkeys(df[by].tolist()))
    for c in claims:
        absent = [v for v in c.variants if v not in present]
        if absent:
            raise ValueError(f"Claim {c.name!r}: variant(s) {absent} are not in rows' {by!r} column; "
                             f"present: {present}")

    heads, all_ds, p_primary, diff_rows = [], [], [], []
    for c in claims:
        arms, blocks, excluded, trained = _blocks(c, df, by)
        sign = 1.0 if c.higher_is_better else -1.0
        ds = {}
        for a, b in c.pairs():
            va, vb = (arms[v].loc[blocks, c.metric].to_numpy(float) for v in (a, b))
            ds[(a, b)] = sign * (va - vb)
            diff_rows += [dict(claim=c.name, a=a, b=b, seed=s, value_a=va[i], value_b=vb[i], diff=ds[(a, b)][i],
                               trained_a=bool(arms[a].loc[s, "_trained"]), trained_b=bool(arms[b].loc[s, "_trained"]))
                          for i, s in enumerate(blocks)]
        all_ds.append(ds)
        p_primary.append(max(_primary_p(c.kind, d, c.delta) for d in ds.values()) if len(blocks) >= 2 else math.nan)
        heads.append(dict(claim=c.name, kind=c.kind, variants=", ".join(c.variants), metric=c.metric, paper=c.paper,
                          paper_effect=c.paper_effect, delta=c.delta, delta_reason=c.delta_reason, trained=trained,
                          excluded=excluded))

    p_holm, levels = [math.nan] * len(claims), [math.nan] * len(claims)
    for family in FAMILIES:  # Holm within each family
        idx = [i for i, c in enumerate(claims) if c.family == family]
        if idx:
            ph, lv = holm([p_primary[i] for i in idx], alpha)
            for i, a, b in zip(idx, ph, lv):
                p_holm[i], levels[i] = a, b
    out = [dict(head, **_claim_row(c, ds, level, power), p_primary=pp, p_holm=ph)
           for c, head, ds, level, pp, ph in zip(claims, heads, all_ds, levels, p_primary, p_holm)]
    return pd.DataFrame(out, columns=VERDICT_COLUMNS), pd.DataFrame(diff_rows, columns=DIFFERENCE_COLUMNS)
