"""MTNet (Stergiou & Poppe, "Right on Time", ``shared/papers/mtnet.txt``): the channel-ratio claim.

Table 2 of the paper varies the ratio ``r`` of channels in the short stream of every MTConv
(``C_s = floor(r·C)``, eq. 1; ``r = 1`` is a plain 3D convolution) and reports HACS top-1. The
text reads it as: the best ratios are ``r = 0.75`` and ``r = 0.875``, ``r = 0.5`` is the lowest,
and ``r = 0.875`` is on average 1.9 points above ``r = 1``. :data:`MTNET_RATIO_PAPER` holds those
statements; :func:`mtnet_ratio_claim` decides them on a summary with one entry per ratio
(``summarize(rows, by=("r",))`` for one sub-stream count g); :func:`mtnet_ratio_variants` gives
the runs of the table, one per (r, g).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from ..experiments.summary import best, compare, pct
from ..train import TrainConfig

__all__ = ["MTNET_RATIO_PAPER", "mtnet_ratio_variants", "mtnet_ratio_claim"]

#: MTNet's Table 2 as the text summarises it: the best ratios, the worst, and the mean top-1 gain
#: (points) of r = 0.875 over r = 1 (plain 3D convolutions) across the four networks tested.
MTNET_RATIO_PAPER = {"best_r": (0.75, 0.875), "worst_r": 0.5, "r0875_minus_r1": 1.9}


def mtnet_ratio_variants(base: TrainConfig, *, ratios: Sequence[float], substreams: Sequence[int],
                         width: float) -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of Table 2 for :func:`~actionrec.experiments.setup.build_runs`: ``{f"r{r:g}_g{g}":
    (base with model_kwargs {r, g, width}, {"r": r, "g": g})}`` for every g of ``substreams``, then
    every r of ``ratios`` (``base`` names the MTNet depth, e.g. ``model="mtnet32"``)."""
    return {f"r{r:g}_g{g}": (replace(base, model_kwargs=dict(r=r, g=g, width=width)), dict(r=r, g=g))
            for g in substreams for r in ratios}


def mtnet_ratio_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MTNet Table 2's claim — "r ≈ 0.75–0.875 is best, r = 0.5 is worst" — checked on ``summary``.

    ``summary`` holds one entry per ratio (``summarize(rows, by=("r",))`` for one g), each with an
    ``r`` field. Returns ``{"best_r", "best_in_range", "best_clear", "worst_r", "half_is_worst",
    "half_worst_clear", "r0875_vs_r1": compare(...) or None, "holds", "sentence"}``. The claim
    ``holds`` when the best mean is at r ∈ {0.75, 0.875} and the lowest at r = 0.5; it holds
    *clearly* only when those positions are beyond the 95% CIs of the others (``method``).
    """
    paper_best, paper_worst = MTNET_RATIO_PAPER["best_r"], MTNET_RATIO_PAPER["worst_r"]
    entries = [e for e in summary if e.get("mean") is not None and e.get("mean") == e.get("mean")]
    if len(entries) < 2:
        raise ValueError("mtnet_ratio_claim needs at least two ratios with results")
    by_r = {float(e["r"]): e for e in entries}
    top = best(entries, method=method)
    bottom = best(entries, method=method, higher_is_better=False)
    best_r, worst_r = float(top["entry"]["r"]), float(bottom["entry"]["r"])
    best_in_range = best_r in paper_best
    half_is_worst = paper_worst in by_r and worst_r == paper_worst
    # "clear": the best (worst) is separated from every ratio outside the claimed set.
    tied_best = {float(e["r"]) for e in entries if e["label"] in top["tied"]}
    best_clear = best_in_range and tied_best <= set(paper_best)
    half_worst_clear = half_is_worst and bottom["clear"]
    vs1 = None
    if 0.875 in by_r and 1.0 in by_r:
        vs1 = compare(entries, by_r[0.875]["label"], by_r[1.0]["label"], method=method)
    metric = entries[0].get("metric", "top1")
    holds = best_in_range and half_is_worst
    parts = [
        f"Best {metric}: r = {best_r:g} ({pct(top['entry'], unit='%')}); "
        + ("inside" if best_in_range else "outside") + f" the paper's best range {paper_best[0]:g}–{paper_best[1]:g}"
        + ("" if best_clear or not best_in_range else ", but not beyond the 95% CIs of the other ratios") + ".",
        f"Lowest: r = {worst_r:g} ({pct(bottom['entry'], unit='%')})"
        + (f" — as the paper finds for r = {paper_worst:g}" if half_is_worst else
           f" — the paper has r = {paper_worst:g} lowest")
        + ("" if half_worst_clear or not half_is_worst else ", though not beyond the CIs") + ".",
    ]
    if vs1 is not None:
        parts.append(f"r = 0.875 vs r = 1 (plain 3D conv): {vs1['verdict']} (difference {100 * vs1['diff']:+.1f} "
                     f"points; paper: {MTNET_RATIO_PAPER['r0875_minus_r1']:+.1f}).")
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
