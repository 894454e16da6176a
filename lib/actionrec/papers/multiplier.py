"""ST-Multiplier networks (Feichtenhofer, Pinz & Wildes, CVPR 2017, ``shared/papers/multiplier.txt``):
Tables 2 and 3, their claims, and the run configs the two-stream chapters share.

The paper reports classification ERROR (%, lower is better) on split 1 of UCF101 / HMDB51; our
summaries hold accuracies (fractions of 1). The claims compare accuracies (error = 1 − accuracy:
the same CIs, the order reversed) and write every number as an error in %, as the paper's tables do.

* Table 2 (:data:`FUSION_PAPER`, :func:`fusion_claim`): the cross-stream connection of a two-stream
  ResNet-50 (``actionrec.layers.fusion``) — direct or residual, additive ⊕ (eq. 2) or multiplicative
  ⊙ (eq. 5), motion into appearance ← / appearance into motion → / both ↔. Baselines without
  connections (Table 4, other splits): :data:`FUSION_BASELINES_PAPER`.
* Table 3 (:data:`TEMPORAL_FILTER_PAPER`, :func:`temporal_filter_claim`): 1-D temporal filters
  (``actionrec.layers.temporal_filter``) after the last block (§), every block (†) or every block
  and the shortcut (‡), initialised as an average [⅓,⅓,⅓] or the identity [0,1,0], with or without
  temporal max-pooling; all with residual ⊙ ←.
* :func:`fusion_model_kwargs`, :func:`temporal_filter_model_kwargs`: ``two_stream_small`` builder
  kwargs of one row of each table; :func:`two_stream_config`: the small SynthActions two-stream run
  the gradient-gating and attribution chapters both use (same settings → same run, trained once).
  These and the tables live in :mod:`actionrec.papers.multiplier_tables` and are re-exported here.
* The chapters' readings of their grids: :func:`score_stream_heads` (each stream's own head, and
  the single-stream baselines of Table 4 from the runs without connections),
  :func:`learned_filter_taps`, :func:`results_table` and :func:`error_bars` (our error beside the
  paper's), :func:`fusion_notes`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from ..analysis.heads import head_top1
from ..experiments.summary import best, compare, pct
from ..experiments.verdicts import (all_claim, check_accuracy_metric, claims_result, entries_by, lower_error_claim,
                                    lowest_error_claim, untested)
from ..layers.temporal_filter import filter_taps
from ..models.two_stream import temporal_filters_of
from ..train import load_model
from .multiplier_tables import (FUSION_BASELINES_PAPER, FUSION_PAPER, TEMPORAL_FILTER_PAPER, fusion_model_kwargs,
                                paper_error, temporal_filter_config, temporal_filter_model_kwargs, two_stream_config)

__all__ = ["FUSION_PAPER", "FUSION_BASELINES_PAPER", "TEMPORAL_FILTER_PAPER", "fusion_claim", "temporal_filter_claim",
           "temporal_filter_config", "paper_error", "fusion_model_kwargs", "temporal_filter_model_kwargs",
           "two_stream_config", "score_stream_heads", "learned_filter_taps", "RESULTS_HEADER", "results_table",
           "error_bars", "fusion_notes"]


def _error_note(metric: str) -> str:
    return (f"Errors are 1 − {metric} (in %, lower is better, as in the paper's tables), ± the 95% CI over seeds; "
            "the paper's numbers are single runs on split 1 of UCF101 / HMDB51.")


def fusion_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """ST-Multiplier nets' Table 2 claims on cross-stream connections, checked on ``summary``.

    ``summary``: one entry per connection variant (``summarize(rows, by=("variant",))``), each with a
    ``variant`` field among :data:`FUSION_PAPER`'s keys (``"direct_add_m2a"``, ``"direct_mul_m2a"``,
    ``"residual_add_m2a"``, ``"residual_mul_m2a"``, ``"residual_add_a2m"``, ``"residual_mul_a2m"``,
    ``"residual_mul_bi"``) or a baseline of :data:`FUSION_BASELINES_PAPER` (``"late"``,
    ``"appearance"``, ``"motion"``: reported, never part of a claim). The metric must be an accuracy.
    It must hold ``"residual_mul_m2a"`` (the paper's design) and one other Table 2 variant, else
    ValueError naming what is missing; claims whose entries are missing are "not tested".

    Claims (paper's Table 2: error on UCF101 / HMDB51 split 1; each ``{"tested", "holds", "clear",
    "contradicted", "sentence"}`` in ``claims``):

    * ``residual_mul_best``: residual ⊙ ← has the lowest error of the Table 2 variants run (8.72 / 37.23).
    * ``mul_beats_add``: residual ⊙ below residual ⊕, in each direction run with both (← 8.72 vs 9.38,
      → 16.68 vs 16.76). Only residual connections: directly, ⊙ is far worse (next claim).
    * ``direct_mul_worst``: direct ⊙ ← has the highest error of the variants run (81.98 / 77.89).
    * ``residual_beats_direct``: residual ⊕ ← below direct ⊕ ←, residual ⊙ ← below direct ⊙ ← (pairs run).
    * ``m2a_beats_a2m``: ← (motion into appearance) below → for ⊙ and ⊕ (pairs run).
    * ``m2a_beats_bi``: residual ⊙ ← below residual ⊙ ↔ (8.72 vs 15.15).

    Returns the flat booleans ``<claim>`` / ``<claim>_clear`` (None when not tested), ``best`` (the
    variant with the lowest error), ``vs_late`` (``compare`` of residual ⊙ ← with late fusion, when
    both ran; not a claim), ``claims``, ``holds``, ``clear``, ``contradicted``, ``metric`` and
    ``sentence`` ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
    """
    valid = [*FUSION_PAPER, *FUSION_BASELINES_PAPER]
    by_all = entries_by(summary, "variant", valid, "fusion_claim")
    by_v = {k: e for k, e in by_all.items() if k in FUSION_PAPER}
    missing = []
    if "residual_mul_m2a" not in by_v:
        missing.append("'residual_mul_m2a' (residual ⊙ ←, the paper's design)")
    if not [k for k in by_v if k != "residual_mul_m2a"]:
        missing.append("another Table 2 variant (" + ", ".join(repr(k) for k in FUSION_PAPER if k != "residual_mul_m2a") + ")")
    if missing:
        raise ValueError(f"fusion_claim needs {' and '.join(missing)} with results; got variants {sorted(by_all)}")
    metric = check_accuracy_metric(list(by_all.values()), "fusion_claim")
    entries = list(by_v.values())
    names = {k: p["name"] for k, p in FUSION_PAPER.items()}
    pp = paper_error
    pair = lambda a, b: lower_error_claim(entries, by_v[a], by_v[b], name_a=names[a], name_b=names[b],  # noqa: E731
                                          method=method, paper=f"{pp(a)} vs {pp(b)}")
    claims: dict[str, dict[str, Any]] = {}
    claims["residual_mul_best"] = lowest_error_claim(
        entries, by_v, ["residual_mul_m2a"], names=names, among="connections", method=method,
        paper="residual ⊙ ← lowest, " + pp("residual_mul_m2a") + " on UCF101 / HMDB51")
    mul_add = {d: pair(f"residual_mul_{d}", f"residual_add_{d}") for d in ("m2a", "a2m", "bi")
               if f"residual_mul_{d}" in by_v and f"residual_add_{d}" in by_v}
    claims["mul_beats_add"] = all_claim(mul_add) if mul_add else untested(
        "Residual ⊙ vs ⊕: no direction was run with both.")
    if "direct_mul_m2a" in by_v:
        claims["direct_mul_worst"] = lowest_error_claim(
            entries, by_v, ["direct_mul_m2a"], names=names, among="connections", method=method, highest=True,
            paper="direct ⊙ ← highest, " + pp("direct_mul_m2a"))
    else:
        claims["direct_mul_worst"] = untested("Direct ⊙ worst: direct ⊙ ← was not run.")
    res_dir = {op: pair(f"residual_{op}_m2a", f"direct_{op}_m2a") for op in ("add", "mul")
               if f"residual_{op}_m2a" in by_v and f"direct_{op}_m2a" in by_v}
    claims["residual_beats_direct"] = all_claim(res_dir) if res_dir else untested(
        "Residual vs direct: no fusion function was run both ways.")
    dirs = {op: pair(f"residual_{op}_m2a", f"residual_{op}_a2m") for op in ("mul", "add")
            if f"residual_{op}_m2a" in by_v and f"residual_{op}_a2m" in by_v}
    claims["m2a_beats_a2m"] = all_claim(dirs) if dirs else untested("← vs →: no residual → variant was run.")
    claims["m2a_beats_bi"] = (pair("residual_mul_m2a", "residual_mul_bi") if "residual_mul_bi" in by_v else
                              untested("← vs ↔: residual ⊙ ↔ was not run."))
    vs_late = None
    if "late" in by_all:
        both = [by_all["residual_mul_m2a"], by_all["late"]]
        vs_late = compare(both, both[0]["label"], both[1]["label"], method=method)
    return claims_result({"best": claims["residual_mul_best"]["best"], "vs_late": vs_late, "metric": metric}, claims,
                         "Table 2 (cross-stream connection)", note=_error_note(metric))


def temporal_filter_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """ST-Multiplier nets' Table 3 claims on temporal filters and temporal max-pooling, checked on ``summary``.

    ``summary``: one entry per configuration (``summarize(rows, by=("config",))``), each with a
    ``config`` field among :data:`TEMPORAL_FILTER_PAPER`'s keys (:func:`temporal_filter_config`:
    ``"none"``, ``"none-pool"``, ``"<placement>-<init>[-pool]"`` with placement ``last`` §,
    ``every`` †, ``every+shortcut`` ‡ and init ``avg`` [⅓,⅓,⅓] / ``centre`` [0,1,0]); all with
    residual ⊙ ← connections, as in the paper. The metric must be an accuracy. It must hold
    ``"none"`` and one configuration with filters, else ValueError naming what is missing; claims
    whose entries are missing are "not tested".

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
    by_c = entries_by(summary, "config", list(paper), "temporal_filter_claim")
    missing = []
    if "none" not in by_c:
        missing.append("'none' (residual ⊙ ← without filters or pooling, the Table 3 baseline)")
    if not any(paper[k]["placement"] for k in by_c):
        missing.append("a configuration with temporal filters (e.g. 'every+shortcut-centre')")
    if missing:
        raise ValueError(f"temporal_filter_claim needs {' and '.join(missing)} with results; got configs {sorted(by_c)}")
    metric = check_accuracy_metric(list(by_c.values()), "temporal_filter_claim")
    entries = list(by_c.values())
    names = {k: p["name"] for k, p in paper.items()}
    pp = lambda k: paper_error(k) if paper[k]["ucf101"] is not None else "not in Table 3"  # noqa: E731
    pair = lambda a, b: lower_error_claim(entries, by_c[a], by_c[b], name_a=names[a], name_b=names[b],  # noqa: E731
                                          method=method, paper=f"{pp(a)} vs {pp(b)}")
    unpooled = [k for k in by_c if paper[k]["placement"] and not paper[k]["pool"]]
    claims: dict[str, dict[str, Any]] = {}
    if unpooled:
        vs_none = {k: pair(k, "none") for k in unpooled}
        c = all_claim(vs_none)
        n_hold = sum(p["holds"] for p in vs_none.values())
        c["sentence"] = (f"No filters: {pct(by_c['none'], True, unit='%')}; {n_hold}/{len(unpooled)} filter "
                         "configurations without pooling have a lower error ("
                         + ", ".join(f"{names[k]} {0.0 - 100 * p['compare']['diff']:+.1f}" for k, p in vs_none.items())
                         + " points), " + f"{sum(p['clear'] for p in vs_none.values())} beyond the 95% CIs and "
                         f"{sum(p['contradicted'] for p in vs_none.values())} above them (paper, UCF101 / HMDB51: "
                         f"no filters {pp('none')}, every filter row lower).")
        claims["filters_help"] = c
    else:
        claims["filters_help"] = untested("Filters vs none: no filter configuration without pooling was run.")
    deep = [k for k in unpooled if paper[k]["placement"] != "last"]
    if deep and len(deep) < len(unpooled):
        claims["every_block_best"] = lowest_error_claim(
            entries, {k: by_c[k] for k in unpooled}, deep, names=names, among="filter configurations without pooling",
            method=method, paper="‡ lowest: ‡ [⅓,⅓,⅓] 7.45 on UCF101, ‡ [0,1,0] 34.38 on HMDB51")
    else:
        claims["every_block_best"] = untested("† / ‡ vs §: " + ("no § configuration" if deep else
                                                                "no † or ‡ configuration") + " without pooling was run.")
    inits = {p: pair(f"{p}-centre", f"{p}-avg") for p in ("last", "every", "every+shortcut")
             if f"{p}-centre" in by_c and f"{p}-avg" in by_c}
    claims["centre_beats_avg"] = all_claim(inits) if inits else untested(
        "[0,1,0] vs [⅓,⅓,⅓]: no placement was run with both inits.")
    pools = {k: pair(f"{k}-pool", k) for k in by_c if not paper[k]["pool"] and f"{k}-pool" in by_c}
    claims["pool_helps"] = all_claim(pools) if pools else untested(
        "Temporal max-pooling: no configuration was run with and without it.")
    if "every+shortcut-centre-pool" in by_c:
        claims["best_overall"] = lowest_error_claim(
            entries, by_c, ["every+shortcut-centre-pool"], names=names, among="configurations", method=method,
            paper="‡ [0,1,0] with pooling lowest, " + pp("every+shortcut-centre-pool"))
    else:
        claims["best_overall"] = untested("Best overall: ‡ [0,1,0] with pooling was not run.")
    top = best(entries, method=method)
    best_c = next(k for k, e in by_c.items() if e["label"] == top["best"])
    return claims_result({"best": best_c, "metric": metric}, claims, "Table 3 (temporal filter)",
                         note=_error_note(metric))


# ---------------------------------------------------------------- reading the two chapters' grids (Tables 2-4)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:  # small networks: as fast, and a busy second core cannot stall it
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def score_stream_heads(rows: Sequence[dict[str, Any]], loader, *, baselines_from: str | None = None,
                       key: str = "variant") -> list[dict[str, Any]]:
    """Each run's own appearance and motion heads scored on ``loader`` (:func:`~actionrec.analysis.heads.head_top1`).

    Sets ``head_appearance`` / ``head_motion`` (test top-1; None for a row with an ``error``) on
    every grid row in place. The runs whose ``key`` is ``baselines_from`` (``"late"``: no
    connections, so its streams never met) also give the single-stream baselines of Table 4:
    returned as rows ``appearance`` / ``motion`` whose ``top1`` is that head's (``derived_from``
    names the run, ``skipped`` is True), in the order of ``rows``."""
    single = []
    with _one_thread():
        for row in rows:
            if row.get("error"):
                row["head_appearance"] = row["head_motion"] = None
                continue
            top1 = head_top1(load_model(row["run_dir"]), loader)  # {"appearance", "motion", "fused"}
            row["head_appearance"], row["head_motion"] = top1["appearance"], top1["motion"]
            if baselines_from is not None and row[key] == baselines_from:
                for stream in ("appearance", "motion"):
                    single.append({**row, key: stream, "top1": row[f"head_{stream}"], "top5": None, "val_top1": None,
                                   "best_val_top1": None, "val_auc": None, "head_appearance": None,
                                   "head_motion": None, "gmacs": None, "params_m": None,
                                   "derived_from": baselines_from, "skipped": True})
    return single


def learned_filter_taps(rows: Sequence[Mapping[str, Any]], *, key: str = "config") -> dict[str, dict[str, Any]]:
    """What the temporal filters of each configuration learned, per stream, averaged over its filters and seeds.

    Per filter: the mean over channels of its diagonal taps ``W[c, c, :]`` (what channel c takes
    from frames t-1, t, t+1; the init puts all of f there) and the norm of its off-diagonal weights
    relative to the diagonal's (mixing channels across time). Returns ``{config: {"appearance":
    (taps (T',), off-diagonal), "motion": (...), "init": the init's taps (T',)}}`` for the
    configurations with filters (rows with an ``error`` are left out)."""
    taps: dict[str, dict[str, list]] = {}
    with _one_thread():
        for row in rows:
            if row.get("error"):
                continue
            for name, tf in temporal_filters_of(load_model(row["run_dir"])):
                w = tf.weight.detach()[..., 0, 0]  # (C, C, T', 1, 1) -> (C, C, T')
                diag = torch.diagonal(w, dim1=0, dim2=1).T  # (C, T'): W[c, c, :]
                off = (w.pow(2).sum() - diag.pow(2).sum()).clamp_min(0).sqrt() / diag.norm()
                stream = name.split(".")[0]  # "appearance" | "motion"
                taps.setdefault(row[key], {}).setdefault(stream, []).append((diag.mean(0).numpy(), float(off)))
    out = {}
    for c, streams in taps.items():
        out[c] = {s: (np.mean([d for d, _ in v], axis=0), float(np.mean([o for _, o in v]))) for s, v in streams.items()}
        out[c]["init"] = filter_taps(TEMPORAL_FILTER_PAPER[c]["init"], len(out[c]["appearance"][0])).numpy()
    return out


#: Columns of :func:`results_table` after the first (the grid's key).
RESULTS_HEADER = ("paper", "error (%)", "top-1 (%)", "val AUC (%)", "appearance head (%)", "motion head (%)",
                  "paper error UCF101 / HMDB51", "GMACs", "params (M)", "n")


def results_table(keys: Sequence[str], summary: Mapping[str, Mapping[str, Any]], auc: Mapping[str, Any],
                  heads: Mapping[str, Mapping[str, Any]], *, key: str) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)`` for :func:`~actionrec.experiments.summary.markdown_table`: per Table 2 / 3 /
    4 key of ``keys``, our error and top-1 (mean ± 95% CI, ``summary[k]``), val AUC, each stream
    head's top-1 (``heads["head_appearance" | "head_motion"][k]``), the paper's error, the cost."""
    paper = {**FUSION_PAPER, **FUSION_BASELINES_PAPER, **TEMPORAL_FILTER_PAPER}
    num = lambda x, digits: "—" if x is None else f"{x:.{digits}f}"  # noqa: E731
    rows = []
    for k in keys:
        e, p = summary[k], paper[k]
        rows.append([f"`{k}`", p["name"] + (f" ({p['fig']})" if "fig" in p else ""), f"**{pct(e, True)}**", pct(e),
                     pct(auc.get(k)), pct(heads["head_appearance"].get(k)), pct(heads["head_motion"].get(k)),
                     paper_error(k), num(e.get("gmacs"), 4), num(e.get("params_m"), 3), e["n"]])
    return [key, *RESULTS_HEADER], rows


def error_bars(keys: Sequence[str], summary: Mapping[str, Mapping[str, Any]], names: Mapping[str, str],
               source: str) -> list[dict[str, Any]]:
    """Bars for ``viz.plot_grouped_bars(label_key="label", group_key="source")``: per key our test error
    (1 − top-1, ± CI, ``source``) and the paper's on UCF101 and HMDB51 where it has the row."""
    paper = {**FUSION_PAPER, **FUSION_BASELINES_PAPER, **TEMPORAL_FILTER_PAPER}
    bars = []
    for k in keys:
        e = summary[k]
        bars.append(dict(label=names[k], source=source, mean=1 - e["mean"], ci=e["ci"], n=e["n"]))
        for ds in ("ucf101", "hmdb51"):
            if paper[k][ds] is not None:
                bars.append(dict(label=names[k], source=f"paper, {ds.upper()}", mean=paper[k][ds] / 100,
                                 ci=float("nan"), n=1))
    return bars


def fusion_notes(verdict: Mapping[str, Any], summary: Mapping[str, Mapping[str, Any]],
                 heads: Mapping[str, Mapping[str, Any]], keys: Sequence[str], *,
                 orderless_ceiling: float | None = None) -> str:
    """What Table 2's claims do not say, computed: residual ⊙ ← against late fusion (``verdict`` of
    :func:`fusion_claim`), the single-stream baselines beside Table 4, and (``orderless_ceiling``:
    the best top-1 without frame order, for data with time-reversed class pairs) the appearance head
    of the ← variants against the one without connections. "" when there is nothing to say."""
    notes = []
    if verdict["vs_late"] is not None:
        c = verdict["vs_late"]
        notes.append(f"Not a Table 2 claim, but the reason for the connections: residual ⊙ ← vs late fusion without "
                     f"connections: {100 * (1 - c['mean_a']):.1f}% vs {100 * (1 - c['mean_b']):.1f}% error, "
                     + {"higher": "lower beyond the 95% CIs", "lower": "higher beyond the 95% CIs",
                        "indistinguishable": "within the 95% CIs"}[c["verdict"]] + ".")
    if "appearance" in summary and "motion" in summary:
        a, m = summary["appearance"], summary["motion"]
        pa, pm = FUSION_BASELINES_PAPER["appearance"], FUSION_BASELINES_PAPER["motion"]
        notes.append(f"Single streams (the heads of the `late` networks): appearance {pct(a, True)}% error, motion "
                     f"{pct(m, True)}% (paper, Table 4 over three splits: appearance {pa['ucf101']} / {pa['hmdb51']}, "
                     f"motion {pm['ucf101']} / {pm['hmdb51']}).")
    m2a = [v for v in keys if v.endswith("_m2a")]
    app = heads["head_appearance"]
    if "late" in app and m2a and orderless_ceiling is not None:
        notes.append(f"Appearance head, which on its own cannot see frame order (at most {100 * orderless_ceiling:.1f}%): "
                     f"{pct(app['late'])}% without connections; with motion gating it: "
                     + ", ".join(f"{FUSION_PAPER[v]['name']} {pct(app[v])}%" for v in m2a) + ".")
    return " ".join(notes)
