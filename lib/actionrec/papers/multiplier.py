"""ST-Multiplier networks (Feichtenhofer, Pinz & Wildes, CVPR 2017, ``shared/papers/multiplier.txt``):
Tables 2 and 3, the claims of the two chapters that re-run them, and the run configs they share.

**Error and top-1.** The paper reports classification ERROR (%, lower is better) on split 1 of
UCF101 / HMDB51; our rows hold test top-1. The claims are decided on top-1 (``metric="top1"``,
higher is better): error = 100 − top-1 in points, so a difference of top-1 is the same difference of
error with the sign reversed, with the same CI. ``paper_effect`` is therefore the paper's error of
the claimed-worse variant minus that of the claimed-better one, in points; where the two datasets
differ it is the smaller of the two (the effect the claim must at least show).

* Table 2 (:data:`FUSION_PAPER`, :data:`FUSION_CLAIMS`): the cross-stream connection of a two-stream
  ResNet-50 (``actionrec.layers.fusion``) — direct or residual, additive ⊕ (eq. 2) or multiplicative
  ⊙ (eq. 5), motion into appearance ← / appearance into motion → / both ↔. Baselines without
  connections (Table 4, other splits): :data:`FUSION_BASELINES_PAPER`.
* Table 3 (:data:`TEMPORAL_FILTER_PAPER`, :data:`TEMPORAL_FILTER_CLAIMS`): 1-D temporal filters
  (``actionrec.layers.temporal_filter``) after the last block (§), every block (†) or every block
  and the shortcut (‡), initialised as an average [⅓,⅓,⅓] or the identity [0,1,0], with or without
  temporal max-pooling; all with residual ⊙ ←.
* **Protocol** (issue 15; :mod:`actionrec.experiments.protocol`): each chapter's claims are declared
  here before any reference run, with δ and the paper's numbers, and decided by
  :func:`~actionrec.experiments.protocol.evaluate` over paired seeds; each has a positive control
  (the two-stream network against the order-blind RGB network :data:`ORDER_BLIND`, which cannot
  exceed 9/16 of SynthActions' classes; ``family="control"``, corrected apart from the paper's claims).
  Budgets and runs: :data:`FUSION_BUDGETS`, :data:`TEMPORAL_FILTER_BUDGETS`, :func:`fusion_runs`,
  :func:`temporal_filter_runs`, :data:`TWO_STREAM_RECIPE`; the notebooks' custom defaults
  :data:`FUSION_CUSTOM`, :data:`TEMPORAL_FILTER_CUSTOM`.
* :func:`fusion_model_kwargs`, :func:`temporal_filter_model_kwargs`: ``two_stream_small`` builder
  kwargs of one row of each table; :func:`two_stream_config`: the small SynthActions two-stream run
  the gradient-gating and attribution chapters both use (same settings → same run, trained once).
  These, the tables and the budgets live in :mod:`actionrec.papers.multiplier_tables` and are
  re-exported here.
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
from ..experiments.protocol import Claim
from ..experiments.summary import pct
from ..layers.temporal_filter import filter_taps
from ..models.two_stream import temporal_filters_of
from ..train import load_model
from .multiplier_tables import (FUSION_BASELINES_PAPER, FUSION_BUDGETS, FUSION_CUSTOM, FUSION_PAPER, ORDER_BLIND,
                                TEMPORAL_FILTER_BUDGETS, TEMPORAL_FILTER_CUSTOM, TEMPORAL_FILTER_PAPER,
                                TWO_STREAM_RECIPE, fusion_model_kwargs, fusion_runs, paper_error,
                                temporal_filter_config, temporal_filter_model_kwargs, temporal_filter_runs,
                                two_stream_config)

__all__ = ["FUSION_PAPER", "FUSION_BASELINES_PAPER", "TEMPORAL_FILTER_PAPER", "FUSION_CLAIMS", "TEMPORAL_FILTER_CLAIMS",
           "FUSION_BUDGETS", "TEMPORAL_FILTER_BUDGETS", "FUSION_CUSTOM", "TEMPORAL_FILTER_CUSTOM", "TWO_STREAM_RECIPE",
           "ORDER_BLIND", "fusion_runs", "temporal_filter_runs", "temporal_filter_config", "paper_error",
           "fusion_model_kwargs", "temporal_filter_model_kwargs", "two_stream_config", "score_stream_heads",
           "learned_filter_taps", "RESULTS_HEADER", "results_table", "error_bars", "fusion_notes"]


def _effect(better: str, worse: Sequence[str] | str, table: Mapping[str, Mapping[str, Any]]) -> float:
    """The paper's smallest error gap (points) between ``better`` and the best of ``worse``, over both datasets."""
    worse = [worse] if isinstance(worse, str) else list(worse)
    return round(min(min(table[w][ds] for w in worse) - table[better][ds] for ds in ("ucf101", "hmdb51")), 2)


def _vs(a: str, b: str) -> str:
    return f"error {paper_error(a)} vs {paper_error(b)} (UCF101 / HMDB51, split 1)"


_CONTROL_REASON = ("positive control: an order-blind network cannot exceed 56.25% (9/16) on SynthActions' 7 time-reversed "
                   "class pairs; a two-stream network that does not beat it by 10 points has not used the direction of "
                   "motion, so the setting would have no power")
_CONTROL_PAPER = "(not in the paper: the setting's check)"
_DELTA = 1.0
_FUSION_REASON = ("the smallest difference that would change the choice of a connection: Table 2's smallest gap a claim "
                  "rests on is 0.66 points of error (⊙ vs ⊕ ←, UCF101); 1 point is 1.3x the binomial SE of 2,048 test "
                  "clips at 85% top-1 (0.79)")
_TF_REASON = ("the smallest difference that would change the choice of a temporal design: most of Table 3's gaps are "
              "0.1-2 points of error on UCF101; 1 point is 1.3x the binomial SE of 2,048 test clips at 85% top-1 (0.79)")
_T2 = FUSION_PAPER
_OTHER_FUSION = tuple(k for k in FUSION_PAPER if k != "residual_mul_m2a")

#: The fusion chapter's claims (Table 2 and Sec. 5.1), declared before the reference runs. Variants:
#: :data:`FUSION_PAPER` keys and :data:`ORDER_BLIND`; metric test top-1 (module docstring: error = 100 − top-1).
FUSION_CLAIMS = (
    Claim("control: two-stream > order-blind", "superiority", ("residual_mul_m2a", ORDER_BLIND), "top1", 10.0,
          _CONTROL_REASON, _CONTROL_PAPER, family="control"),
    Claim("residual ⊙ ← beats residual ⊕ ←", "superiority", ("residual_mul_m2a", "residual_add_m2a"), "top1", _DELTA,
          _FUSION_REASON, _vs("residual_mul_m2a", "residual_add_m2a") + ": 'merely changing the interaction to "
          "multiplicative gating reduces that error' (Sec. 5.1)", paper_effect=_effect("residual_mul_m2a", "residual_add_m2a", _T2)),
    Claim("residual ⊕ ← beats direct ⊕ ←", "superiority", ("residual_add_m2a", "direct_add_m2a"), "top1", _DELTA,
          _FUSION_REASON, _vs("residual_add_m2a", "direct_add_m2a") + ": 'injecting into the skip path breaks the "
          "identity shortcut'", paper_effect=_effect("residual_add_m2a", "direct_add_m2a", _T2)),
    Claim("direct ⊙ ← is worst", "worst_of", ("direct_mul_m2a", *(k for k in FUSION_PAPER if k != "direct_mul_m2a")),
          "top1", _DELTA, _FUSION_REASON, "error 81.98 / 77.89, the highest of Table 2: 'the detriment is exacerbated "
          "when directly multiplying'",
          paper_effect=_effect("direct_add_m2a", "direct_mul_m2a", _T2)),  # the next-worst row vs direct ⊙
    Claim("← beats → (residual ⊙)", "superiority", ("residual_mul_m2a", "residual_mul_a2m"), "top1", _DELTA,
          _FUSION_REASON, _vs("residual_mul_m2a", "residual_mul_a2m") + ": 'inferior results ... overfitting of the "
          "network to appearance information'", paper_effect=_effect("residual_mul_m2a", "residual_mul_a2m", _T2)),
    Claim("← beats → (residual ⊕)", "superiority", ("residual_add_m2a", "residual_add_a2m"), "top1", _DELTA,
          _FUSION_REASON, _vs("residual_add_m2a", "residual_add_a2m") + ": 'both for additive and multiplicative "
          "residual fusion'", paper_effect=_effect("residual_add_m2a", "residual_add_a2m", _T2)),
    Claim("← beats ↔ (residual ⊙)", "superiority", ("residual_mul_m2a", "residual_mul_bi"), "top1", _DELTA,
          _FUSION_REASON, _vs("residual_mul_m2a", "residual_mul_bi") + ": bidirectional 'also suffers under the "
          "effect of appearance dominating training'", paper_effect=_effect("residual_mul_m2a", "residual_mul_bi", _T2)),
    Claim("residual ⊙ ← is best", "best_of", ("residual_mul_m2a", *_OTHER_FUSION), "top1", _DELTA, _FUSION_REASON,
          "error 8.72 / 37.23, the lowest of Table 2: 'the superior performance of multiplicative cross-stream residual "
          "connections ... compared to the alternatives considered'",
          paper_effect=_effect("residual_mul_m2a", _OTHER_FUSION, _T2)),
)

_T3 = TEMPORAL_FILTER_PAPER
_CENTRE_ROWS = ("last-centre", "every-centre", "every+shortcut-centre")
_TF_BEST_OTHERS = tuple(v for v in TEMPORAL_FILTER_BUDGETS["reference"]["variants"]
                        if v not in ("every+shortcut-centre-pool", ORDER_BLIND))

#: The temporal-filter chapter's claims (Table 3 and Sec. 5.2), declared before the reference runs.
#: Variants: :data:`TEMPORAL_FILTER_PAPER` keys and :data:`ORDER_BLIND`; metric test top-1.
TEMPORAL_FILTER_CLAIMS = (
    Claim("control: two-stream > order-blind", "superiority", ("none", ORDER_BLIND), "top1", 10.0, _CONTROL_REASON,
          _CONTROL_PAPER, family="control"),
    Claim("† [0,1,0] with time pooling beats no filters", "superiority", ("every-centre-pool", "none"), "top1", _DELTA,
          _TF_REASON, _vs("every-centre-pool", "none") + " (Table 3)", paper_effect=_effect("every-centre-pool", "none", _T3)),
    Claim("identity-init filters help at every placement", "worst_of", ("none", *_CENTRE_ROWS), "top1", _DELTA,
          _TF_REASON + "; [0,1,0] rows, the paper's identity-mapping kernels",
          "no filters 8.72 / 37.23 vs § 7.74 / 34.90, † 7.61 / 34.72, ‡ 7.79 / 34.38: 'benefit is had even if just a "
          "single temporal layer is injected into each stream (§)'",
          paper_effect=min(_effect(k, "none", _T3) for k in _CENTRE_ROWS)),
    Claim("[0,1,0] init beats [⅓,⅓,⅓] init (†)", "superiority", ("every-centre", "every-avg"), "top1", _DELTA,
          _TF_REASON, _vs("every-centre", "every-avg") + ": 'particular benefit of a centre initialization on HMDB51'",
          paper_effect=_effect("every-centre", "every-avg", _T3)),
    Claim("time pooling helps (‡ [0,1,0])", "superiority", ("every+shortcut-centre-pool", "every+shortcut-centre"),
          "top1", _DELTA, _TF_REASON, _vs("every+shortcut-centre-pool", "every+shortcut-centre")
          + ": 'a further decrease in error rates'",
          paper_effect=_effect("every+shortcut-centre-pool", "every+shortcut-centre", _T3)),
    Claim("‡ [0,1,0] with time pooling is best", "best_of", ("every+shortcut-centre-pool", *_TF_BEST_OTHERS), "top1",
          _DELTA, _TF_REASON, "error 6.00 / 30.98, the lowest of Table 3 on both datasets",
          paper_effect=_effect("every+shortcut-centre-pool", _TF_BEST_OTHERS, _T3)),
)


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


def fusion_notes(summary: Mapping[str, Mapping[str, Any]], heads: Mapping[str, Mapping[str, Any]],
                 keys: Sequence[str], *, orderless_ceiling: float | None = None) -> str:
    """What Table 2's claims do not say, computed from ``summary`` (``{key: summarize entry}``) and
    ``heads`` (``{"head_appearance" | "head_motion": {key: entry}}``): residual ⊙ ← beside late fusion
    (means ± 95% CI; not a declared claim, so no verdict), the single-stream baselines beside Table 4,
    and (``orderless_ceiling``: the best top-1 without frame order, for data with time-reversed class
    pairs) the appearance head of the ← variants against the one without connections. "" when there
    is nothing to say."""
    notes = []
    if "residual_mul_m2a" in summary and "late" in summary:
        notes.append(f"Not a declared claim, but the reason for the connections: residual ⊙ ← "
                     f"{pct(summary['residual_mul_m2a'], True)}% error, late fusion without connections "
                     f"{pct(summary['late'], True)}% (mean ± 95% CI over seeds).")
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
