"""SRTG (Stergiou & Poppe, "Learn to cycle", ``shared/papers/srtg.txt``): the placement claims.

Table 1 of the paper adds a Squeeze-and-Recursion Temporal Gate (``actionrec.layers.srtg.SRTGate``)
at one position of every residual block (Fig. 2b: Start, Mid, Res, Final for Simple blocks; also
Top and End for Bottleneck blocks) of r3d / r(2+1)d ResNets and reports top-1. Its claims: every
placement beats the same network without SRTG, and Final is the best placement.
:func:`srtg_model_kwargs` gives the builder kwargs of one placement; :func:`srtg_placement_claim`
decides the claims on a summary with one entry per placement of one backbone
(``summarize(rows, by=("placement",))``); :func:`add_gate_open_rates` and
:func:`gate_open_sentence` say how often the trained gates opened.

The cycle-consistency chapter's pieces: :func:`toy_cycle_cases` (2-D trajectories and the
perturbed copies Fig. 4 discusses), :func:`perturbed_gate_records` (a network's gates on clips
played backwards, shuffled, slower, faster; :data:`actionrec.data.perturb.PERTURBATIONS`),
:func:`perturbation_sentence` and :func:`gate_explorer_view` (one clip, one gate, one τ for the
explorer).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

import torch

from ..analysis.cycle import cycle_view, record_gates
from ..data.perturb import PERTURBATIONS, change_speed, perturb, reverse_time, shuffle_frames
from ..experiments.summary import best, compare, pct
from ..layers.cycle_consistency import cycle_consistency
from ..layers.srtg import gate_stats, srt_gates
from ..train import TrainConfig, load_model

__all__ = ["SRTG_BEST_PLACEMENT", "SRTG_PLACEMENTS", "srtg_placements", "srtg_model_kwargs", "srtg_placement_variants",
           "srtg_placement_claim",
           "add_gate_open_rates", "gate_open_sentence", "toy_cycle_cases", "perturbed_gate_records",
           "perturbation_sentence", "gate_explorer_view"]

#: The placement Table 1 finds best.
SRTG_BEST_PLACEMENT = "final"
#: Where an SRTG can sit (Fig. 2b), with "none" for the network without SRTG: Simple blocks (ResNet-18/34)
#: and Bottleneck blocks (ResNet-50/101, which add Top and End).
SRTG_PLACEMENTS = {"simple": ("none", "start", "mid", "res", "final"),
                   "bottleneck": ("none", "start", "top", "mid", "end", "res", "final")}


def srtg_placements(depth: int) -> list[str]:
    """The placements (and "none") of an r3d / r(2+1)d ResNet of ``depth``: Simple blocks for 18 and 34,
    Bottleneck blocks otherwise."""
    return list(SRTG_PLACEMENTS["simple" if depth in (18, 34) else "bottleneck"])


def srtg_model_kwargs(placement: str, *, width: float, gate: str) -> dict[str, Any]:
    """Builder kwargs of an r3d / r(2+1)d ResNet with an SRTG of kind ``gate`` at ``placement`` in every
    residual block, or without SRTG (``placement="none"``)."""
    if placement == "none":
        return dict(width=width, srtg=None)
    return dict(width=width, srtg=placement, srtg_kwargs={"gate": gate})


def srtg_placement_variants(base: TrainConfig, *, backbones: Sequence[str], depth: int, placements: Sequence[str],
                            width: float, gate: str) -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of Table 1 for :func:`~actionrec.experiments.setup.build_runs`: ``{f"{backbone}-{placement}":
    (base with model f"{backbone}_{depth}" and :func:`srtg_model_kwargs`, {"backbone", "placement"})}``
    for every backbone, then every placement."""
    return {f"{b}-{p}": (replace(base, model=f"{b}_{depth}", model_kwargs=srtg_model_kwargs(p, width=width, gate=gate)),
                         dict(backbone=b, placement=p)) for b in backbones for p in placements}


def srtg_placement_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """SRTG Table 1's claims — "every SRTG placement beats no SRTG; Final is best" — checked on ``summary``.

    ``summary`` holds one entry per placement for one backbone (``summarize(rows, by=("placement",))``),
    each with a ``placement`` field: ``"none"`` for the network without SRTG, else ``"start"``,
    ``"mid"``, ``"res"``, ``"final"`` (any subset with ``"none"``). Returns ``{"vs_none": {placement:
    compare(...)}, "all_beat_none", "all_beat_none_clear", "best", "final_best", "final_best_clear",
    "holds", "clear", "sentence"}``. A claim holds when the means are ordered as the paper says; it
    holds *clearly* when the ordering is beyond the 95% CIs (``method``, see ``compare``).
    """
    final = SRTG_BEST_PLACEMENT
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
    final_best = best_p == final
    final_best_clear = final_best and top["clear"]
    metric = entries[0].get("metric", "top1")
    beat = [p for p in gated if vs_none[p]["diff"] > 0]
    parts = [
        f"No SRTG: {pct(by_p['none'], unit='%')}. Above it: "
        + (", ".join(f"{p} ({100 * vs_none[p]['diff']:+.1f})" for p in beat) or "none")
        + f"; {len(beat)}/{len(gated)} placements have a higher mean"
        + ("" if all_beat_clear else f", {sum(vs_none[p]['verdict'] == 'higher' for p in gated)} beyond the 95% CIs") + ".",
        f"Best {metric}: {best_p} ({pct(top['entry'], unit='%')})"
        + ("" if final in by_p else "; Final was not run")
        + (" — as the paper finds" if final_best else " — the paper has Final best")
        + ("" if final_best_clear or not final_best else ", though not beyond the CIs of the others") + ".",
    ]
    holds = all_beat and (final_best or final not in by_p)
    clear = holds and all_beat_clear and (final_best_clear or final not in by_p)
    if holds:
        verdict = "hold clearly" if clear else "hold nominally (the ordering matches, but within seed noise)"
    elif any(v["verdict"] == "lower" for v in vs_none.values()) or (top["clear"] and not final_best and final in by_p):
        verdict = "do not hold"
    else:
        verdict = "are not supported (the ordering differs from the paper's, within seed noise)"
    sentence = f"The paper's placement claims {verdict} on this data. " + " ".join(parts)
    return {"vs_none": vs_none, "all_beat_none": all_beat, "all_beat_none_clear": all_beat_clear, "best": best_p,
            "final_best": final_best, "final_best_clear": final_best_clear, "holds": holds, "clear": clear,
            "sentence": sentence}


# --------------------------------------------------------------------------------------------
# Trained gates: how often they open
# --------------------------------------------------------------------------------------------


def add_gate_open_rates(rows: Iterable[dict[str, Any]], batches: Iterable) -> None:
    """Add to each grid row its trained network's gate statistics on ``batches`` (e.g. the test
    DataLoader): ``gate_open`` and ``gate_score`` (means over the network's gates of
    :func:`~actionrec.layers.srtg.gate_stats`' ``open`` and ``score``) and ``gate_open_per_layer``
    ({gate: open}). Rows without SRTG (``placement == "none"``) or whose run diverged get
    ``gate_open = None``."""
    for row in rows:
        if row["placement"] == "none" or row.get("error"):
            row["gate_open"] = None
            continue
        stats = gate_stats(load_model(row["run_dir"]), batches)  # per gate: open, score, consistent_frames
        row["gate_open"] = sum(s["open"] for s in stats.values()) / len(stats)
        row["gate_score"] = sum(s["score"] for s in stats.values()) / len(stats)
        row["gate_open_per_layer"] = {name: s["open"] for name, s in stats.items()}


def gate_open_sentence(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """How often the gates of the rows' networks opened (mean of ``gate_open`` over the rows that have
    it), with a warning when they were almost always closed (< 5%); None when no row has it."""
    open_rates = [r["gate_open"] for r in rows if r.get("gate_open") is not None]
    if not open_rates:
        return None
    mean_open = sum(open_rates) / len(open_rates)
    if mean_open < 0.05:
        return (f"**The gates were almost always closed:** {100 * mean_open:.2f}% of (gate, test clip) pairs were "
                f"open, averaged over the {len(open_rates)} trained networks with SRTG. A closed gate passes its input "
                "unchanged, so these networks compute (almost) the same function as the one without SRTG; differences "
                "between the rows of the table are then differences between random initialisations, not placements.")
    return f"The gates were open for {100 * mean_open:.1f}% of (gate, test clip) pairs on average."


# --------------------------------------------------------------------------------------------
# The cycle-consistency chapter
# --------------------------------------------------------------------------------------------


def toy_cycle_cases(*, frames: int = 12, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A 2-D trajectory A ``(frames, 2)`` (an opening spiral, float64; consecutive points 1-2 apart) and
    the sequences B the chapter compares it with, ``{name: (frames, 2)}``: the same path with noise,
    one glitch (frame 7 next to A's frame 3), time-reversed, shuffled (``seed``), at speed x2 (the
    clip perturbations of :mod:`actionrec.data.perturb` along ``dim=0``), and an "LSTM-like" running
    mean shrunk towards the centre."""
    s = torch.linspace(0, 1, frames, dtype=torch.float64)
    radius, angle = 2.0 + 2.5 * s, 1.6 * math.pi * s
    a = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1)  # (T, 2)
    noisy = a + 0.15 * torch.randn(frames, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    glitch = noisy.clone()
    glitch[7] = a[3] + 0.3  # frame 7 of B lies next to frame 3 of A
    centre = a.mean(0)
    running_mean = noisy.cumsum(0) / torch.arange(1, frames + 1, dtype=torch.float64)[:, None]  # (T, 2)
    return a, {
        "same path + noise": noisy,
        "one glitch (t = 7)": glitch,
        "time-reversed": reverse_time(noisy, dim=0),
        "shuffled": shuffle_frames(noisy, seed=seed, dim=0),
        "speed ×2": change_speed(noisy, 2.0, dim=0),
        "LSTM-like (smoothed, shrunk)": centre + 0.3 * (running_mean - centre),
    }


def perturbed_gate_records(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0,
                           device: torch.device | str | None = None,
                           perturbations: Sequence[str] = PERTURBATIONS) -> dict[str, dict[str, Any]]:
    """``model`` on clips ``x`` (N, 3, T, H, W) with labels ``y`` under each perturbation (``seed``
    for the shuffle): ``{name: {"top1", "stats": {gate: {"open", "score", "consistent_frames"}},
    "recs": record_gates(...)[1]}}``."""
    out = {}
    for name in perturbations:
        xp = perturb(x, name, seed=seed)  # (N, 3, T, H, W)
        logits, recs = record_gates(model, xp, device=device)
        stats = {n: dict(open=r["open"].float().mean().item(), score=r["score"].float().mean().item(),
                         consistent_frames=r["cc"].consistent_frames.float().mean().item()) for n, r in recs.items()}
        out[name] = dict(top1=(logits.argmax(1) == y).float().mean().item(), stats=stats, recs=recs)
    return out


def perturbation_sentence(perturbed: Mapping[str, Mapping[str, Any]]) -> str:
    """For each perturbation of :func:`perturbed_gate_records` but "none": top-1 against the original
    clips', and the largest change over the gates of the open rate and of the consistent frames."""
    ref = perturbed["none"]
    changes = []
    for name, p in perturbed.items():
        if name == "none":
            continue
        d_open = max(abs(p["stats"][n]["open"] - ref["stats"][n]["open"]) for n in ref["stats"])
        d_cf = max(abs(p["stats"][n]["consistent_frames"] - ref["stats"][n]["consistent_frames"]) for n in ref["stats"])
        changes.append(f"{name}: top-1 {100 * ref['top1']:.0f}% → {100 * p['top1']:.0f}%, open rate within "
                       f"{100 * d_open:.0f} pt and consistent frames within {100 * d_cf:.0f} pt of the original")
    return "**In this run**, largest change over the layers: " + "; ".join(changes) + "."


@torch.no_grad()
def gate_explorer_view(model: torch.nn.Module, clips: torch.Tensor, labels: torch.Tensor | None = None, *,
                       clip_index: int = 0, gate_name: str, perturbation: str = "none", temperature: float = 1.0,
                       seed: int = 0, classes: Sequence[str] | None = None,
                       device: torch.device | str | None = None) -> dict[str, Any]:
    """One explorer selection: clip ``clip_index`` of ``clips`` (N, 3, T, H, W) perturbed, run through
    ``model``; gate ``gate_name``'s pool(a) and a* from that forward pass, their cycle consistency
    recomputed at ``temperature`` (the network ran at its own).

    Returns ``{"clip": (3, T, H, W) CPU tensor, "view": cycle_view(...), "pred", "open" (the
    network's own decision), "clip_title", "panel_title"}``; ``labels`` (N,) and ``classes`` name
    the clip and the prediction in the title."""
    gates = dict(srt_gates(model))
    if gate_name not in gates:
        raise ValueError(f"gate_name={gate_name!r} is invalid: expected one of {list(gates)}")
    if device is None:
        device = next(model.parameters()).device
    x = perturb(clips[clip_index][None], perturbation, seed=seed)  # (1, 3, T, H, W)
    pred = int(model(x.to(device)).argmax(1))
    rec = gates[gate_name].last
    cc = cycle_consistency(rec.pooled, rec.a_star, temperature=temperature)
    name = (lambda k: str(k) if classes is None else classes[k])  # noqa: E731
    what = f"clip {clip_index}" + ("" if labels is None else f" ({name(int(labels[clip_index]))})")
    is_open = bool(rec.open[0])
    return dict(clip=x[0].cpu(), view=cycle_view(rec.pooled[0], rec.a_star[0], cc), pred=pred, open=is_open,
                clip_title=f"{what}, {perturbation}: predicted {name(pred)}; the network's own gate at "
                           f"τ = {gates[gate_name].temperature:g}: {'OPEN' if is_open else 'closed'}",
                panel_title=f"{gate_name.removesuffix('.srtg')} at τ = {temperature:g}")
