"""SRTG (Stergiou & Poppe, "Learn to cycle", ``shared/papers/srtg.txt``): the placement claims.

Table 1 of the paper adds a Squeeze-and-Recursion Temporal Gate (``actionrec.layers.srtg.SRTGate``)
at one position of every residual block (Fig. 2b: Start, Mid, Res, Final for Simple blocks; also
Top and End for Bottleneck blocks) of r3d / r(2+1)d ResNets and reports top-1. Its claims: every
placement beats the same network without SRTG, the gain is larger the later the gate sits, and
Final is best.

Which gate the placement rows run (:data:`SRTG_PLACEMENT_GATE`; :ref:`readings-srtg-placement-gate`).
The paper's gate ("hard": fuse iff pool(a) and a* are cycle-consistent) passes nothing while it is
closed, and then a placement row is the network without SRTG plus unused LSTMs, which get no gradient.
The authors' gates stayed closed for the first 30-50 epochs (issue #2 of
alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates), i.e. they trained with the LSTM output fused
(Fig. 2a's *inactive* gate); their ``srtg_*`` networks are built with ``gates=False`` and their released
HACS models are named ``srtg_r3d_*_gates_False``. So the placement rows run ``gate="open"`` (fused on
every clip: the same fusion at every placement, so the rows differ in placement only; ``"soft"``, ours,
has no source and its weight depends on T). The paper-literal hard gate is one extra row
(:data:`SRTG_HARD_ROW`); its open rate and its equivalence to the network with every SRTG bypassed are
measured by :func:`hard_gate_check` (:func:`add_gate_open_rates` for grid rows,
:func:`hard_gate_sentence`).

**Protocol** (issue 15; :mod:`actionrec.experiments.protocol`). :data:`SRTG_PLACEMENT_CLAIMS` declares
the chapter's claims (variants ``f"{backbone}-{placement}"``, metric test top-1) with δ and Table 1's
numbers before any reference run, with a positive control (:data:`ORDER_BLIND`, a frame-averaging 2D
network, against the plain r3d); :data:`SRTG_HARD_CHECKS` is our check of the hard-gate row (not a
claim of the paper: the network with never-opening gates is the network without SRTG), decided as a
family of its own. :data:`SRTG_PLACEMENT_BUDGETS` holds the variants and seeds of each budget
(:data:`SRTG_PLACEMENT_CUSTOM`: the notebook's ``budget="custom"`` defaults); the reference's n = 6
is the protocol's minimum, pending the pilot on disjoint seeds (100+) that sizes it when the
reference runs are made (issue 16). :func:`srtg_placement_runs` builds a budget's runs on the
SynthActions recipe (:func:`~actionrec.papers.synthactions.recipe_config`; depth 18 and
width 0.125 by default, the paper's 34-layer networks at full width being out of a CPU's reach).

:func:`srtg_model_kwargs` gives the builder kwargs of one placement; :func:`srtg_placement_variants`
the runs of any grid; :func:`add_gate_open_rates` and :func:`gate_open_sentence` say how often the
trained gates opened.

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
from ..experiments.protocol import Claim
from ..layers.cycle_consistency import cycle_consistency
from ..layers.srtg import gate_stats, srt_gates
from ..train import TrainConfig, load_model
from ..utils.checks import check_choice, check_float
from .synthactions import BUDGETS, recipe_config

__all__ = ["SRTG_BEST_PLACEMENT", "SRTG_PLACEMENTS", "SRTG_PLACEMENT_GATE", "SRTG_HARD_ROW", "ORDER_BLIND",
           "SRTG_TABLE1", "SRTG_PLACEMENT_CLAIMS", "SRTG_HARD_CHECKS", "SRTG_PLACEMENT_BUDGETS",
           "SRTG_PLACEMENT_CUSTOM", "srtg_placements", "srtg_model_kwargs", "srtg_placement_variants",
           "srtg_placement_runs", "hard_gate_check",
           "add_gate_open_rates", "gate_open_sentence", "hard_gate_sentence", "toy_cycle_cases",
           "perturbed_gate_records", "perturbation_sentence", "gate_explorer_view"]

#: The placement Table 1 finds best.
SRTG_BEST_PLACEMENT = "final"
#: The gate of the placement rows (module docstring: why "open").
SRTG_PLACEMENT_GATE = "open"
#: The placement of the one extra row with the paper's hard gate (Table 1's best placement).
SRTG_HARD_ROW = "final"
#: Where an SRTG can sit (Fig. 2b), with "none" for the network without SRTG: Simple blocks (ResNet-18/34)
#: and Bottleneck blocks (ResNet-50/101, which add Top and End).
SRTG_PLACEMENTS = {"simple": ("none", "start", "mid", "res", "final"),
                   "bottleneck": ("none", "start", "top", "mid", "end", "res", "final")}
#: Table 1 (r3d-34 / r(2+1)d-34 on HACS, from scratch): top-1 (%) per placement, "none" = no SRTG.
SRTG_TABLE1 = {"r3d": {"none": 74.818, "start": 75.705, "mid": 75.489, "res": 76.703, "final": 78.599},
               "r2plus1d": {"none": 75.703, "start": 76.438, "mid": 76.685, "res": 77.094, "final": 80.389}}
#: The positive control's variant name: a frame-averaging 2D network (``frame_avg2d``), blind to frame
#: order, so it cannot tell SynthActions' 7 time-reversed class pairs apart (ceiling 9/16).
ORDER_BLIND = "order_blind"

_DELTA = 1.0
_DELTA_REASON = ("Table 1's placements differ by 0.2-3.3 points and Final gains 3.8-4.7: a smaller difference would "
                 "not change which placement to use, and 1 point is about the binomial SE of 2,048 test clips "
                 "(0.7-1.1 points)")
_NAMES = {"r3d": "r3d", "r2plus1d": "r(2+1)d"}


def _claims(b: str) -> tuple[Claim, ...]:
    """The claims of backbone ``b`` (variants ``f"{b}-{placement}"``; δ and paper numbers from Table 1)."""
    t, others = SRTG_TABLE1[b], ("start", "mid", "res")
    v = (lambda p: f"{b}-{p}")  # noqa: E731
    cells = ", ".join(f"{p} {t[p]:.2f}" for p in ("none", "start", "mid", "res", "final"))
    return (
        Claim(f"{_NAMES[b]}: Final beats no SRTG", "superiority", (v("final"), v("none")), "top1", _DELTA, _DELTA_REASON,
              f"Table 1, {_NAMES[b]}-34: Final {t['final']:.2f} vs no SRTG {t['none']:.2f} "
              f"('a top-1 accuracy improvement of {t['final'] - t['none']:.3f}%')",
              paper_effect=round(t["final"] - t["none"], 3)),
        Claim(f"{_NAMES[b]}: Final > Res > no SRTG", "ordering", (v("final"), v("res"), v("none")), "top1", _DELTA,
              _DELTA_REASON, f"Table 1, {_NAMES[b]}-34: {cells}; the order of Final, Res and no SRTG that both backbones "
              "share ('this effect appears to be stronger when the filtering is applied later'; Start and Mid swap "
              "places between the backbones, 0.2 points apart)",
              paper_effect=round(min(t["final"] - t["res"], t["res"] - t["none"]), 3)),
        Claim(f"{_NAMES[b]}: every placement beats no SRTG", "worst_of", (v("none"), *map(v, others), v("final")),
              "top1", _DELTA, _DELTA_REASON, f"'All SRTG blocks perform better than their vanilla counterparts' "
              f"(Table 1, {_NAMES[b]}-34: {cells})",
              paper_effect=round(min(t[p] for p in (*others, "final")) - t["none"], 3)),
        Claim(f"{_NAMES[b]}: Final is best", "best_of", (v("final"), v("none"), *map(v, others)), "top1", _DELTA,
              _DELTA_REASON, f"'the best performing SRTG configuration Final' (Table 1, {_NAMES[b]}-34: {cells})",
              paper_effect=round(t["final"] - max(t[p] for p in ("none", *others)), 3)),
    )


#: The chapter's claims, declared before the reference runs (variants ``f"{backbone}-{placement}"`` of
#: :func:`srtg_placement_variants` with the open gate, and :data:`ORDER_BLIND`; metric: test top-1). The
#: positive control first, then per backbone: Final vs no SRTG (the headline), the order Final > Res >
#: no SRTG, every placement above no SRTG, Final best.
SRTG_PLACEMENT_CLAIMS = (
    Claim("control: r3d > order-blind", "superiority", ("r3d-none", ORDER_BLIND), "top1", 10.0,
          "positive control: an order-blind network cannot exceed 56.25% (9/16) here; a 3D network that does not beat "
          "it by 10 points has not learned frame order, so the setting would have no power",
          "(not in the paper: the setting's check)", family="control"),
    *_claims("r3d"), *_claims("r2plus1d"),
)

#: Our check of the hard-gate rows, a family of its own (not a claim of the paper, not in the provenance's
#: claims hash): a hard-gated Final whose gates never open computes the network without SRTG, so its
#: top-1 should be equivalent to the plain network's within δ (they differ only in initialisation).
SRTG_HARD_CHECKS = tuple(
    Claim(f"{_NAMES[b]}: final-hard ≡ no SRTG", "equivalence", (f"{b}-final-hard", f"{b}-none"), "top1", _DELTA,
          "the claims' δ: a closed gate passes its input unchanged, so any difference is the spread between random "
          "initialisations", "(not in the paper: the paper's gate taken literally, as this chapter measures it)")
    for b in ("r3d", "r2plus1d"))

#: Backbones, placements, hard-gate row and seeds of each budget (every budget adds :data:`ORDER_BLIND`).
#: ``quick``: the headline claim on r3d and the positive control, 3 seeds. ``reference``: every
#: claim-bearing variant and the hard-gate rows; n = 6 seeds, the protocol's minimum, pending the pilot
#: (seeds 100+, disjoint) that sizes it when the reference runs are made (issue 16).
SRTG_PLACEMENT_BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {"backbones": ("r3d",), "placements": ("none", "final"), "hard_row": None, "seeds": (0, 1, 2)},
    "reference": {"backbones": ("r3d", "r2plus1d"), "placements": SRTG_PLACEMENTS["simple"], "hard_row": SRTG_HARD_ROW,
                  "seeds": tuple(range(6))},
}

#: The placement notebook's ``budget="custom"`` defaults (a parameter left at None takes these): the small,
#: easy grid the chapter ran before the protocol (both backbones, every Simple-block placement, 3 seeds).
SRTG_PLACEMENT_CUSTOM: dict[str, Any] = dict(
    backbones=["r3d", "r2plus1d"], depth=18, placements=["none", "start", "mid", "res", "final"], gate="open",
    hard_row="final", seeds=3, epochs=5, width=0.125, clip=[16, 32, 32], train_samples=512, batch_size=32, lr=0.003,
    dataset="synthactions", data_root="", split=1, difficulty="easy")


def srtg_placements(depth: int) -> list[str]:
    """The placements (and "none") of an r3d / r(2+1)d ResNet of ``depth``: Simple blocks for 18 and 34,
    Bottleneck blocks otherwise."""
    return list(SRTG_PLACEMENTS["simple" if depth in (18, 34) else "bottleneck"])


def srtg_model_kwargs(placement: str, *, width: float, gate: str, top_fusion: str = "conv3") -> dict[str, Any]:
    """Builder kwargs of an r3d / r(2+1)d ResNet with an SRTG of kind ``gate`` at ``placement`` in every
    residual block, or without SRTG (``placement="none"``). Top also names its fusion site
    (``srtg_top_fusion``: ``"conv3"``, the paper's, or ``"conv2"``, the official code's; see
    :mod:`actionrec.models.resnet3d`), so its runs are keyed apart from those of the old reading."""
    if placement == "none":
        return dict(width=width, srtg=None)
    kw = dict(width=width, srtg=placement, srtg_kwargs={"gate": gate})
    if placement == "top":
        kw["srtg_top_fusion"] = top_fusion
    return kw


def srtg_placement_variants(base: TrainConfig, *, backbones: Sequence[str], depth: int, placements: Sequence[str],
                            width: float, gate: str = SRTG_PLACEMENT_GATE, hard_row: str | None = SRTG_HARD_ROW,
                            top_fusion: str = "conv3") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of Table 1 for :func:`~actionrec.experiments.setup.build_runs`: ``{f"{backbone}-{placement}":
    (base with model f"{backbone}_{depth}" and :func:`srtg_model_kwargs`, row)}`` for every backbone, then
    every placement, all with ``gate``; then, unless ``hard_row`` is None/"" or ``gate`` is already
    ``"hard"``, one ``f"{backbone}-{hard_row}-hard"`` run per backbone with the paper's hard gate at
    ``hard_row``. The claim-bearing runs come first. ``row`` = ``{"variant" (the key), "backbone",
    "placement", "gate" ("none" without SRTG), "config"}``, ``config`` being the placement, or
    ``f"{hard_row}-hard"``."""
    def run(b: str, p: str, g: str) -> tuple[TrainConfig, dict[str, Any]]:
        kw = srtg_model_kwargs(p, width=width, gate=g, top_fusion=top_fusion)
        config = p if g == gate else f"{p}-{g}"
        return (replace(base, model=f"{b}_{depth}", model_kwargs=kw),
                dict(variant=f"{b}-{config}", backbone=b, placement=p, gate="none" if p == "none" else g, config=config))

    out = {f"{b}-{p}": run(b, p, gate) for b in backbones for p in placements}
    if hard_row and gate != "hard":
        out.update({f"{b}-{hard_row}-hard": run(b, hard_row, "hard") for b in backbones})
    return out


def srtg_placement_runs(budget: str, *, depth: int = 18, width: float = 0.125,
                        device: str = "auto") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of ``budget`` (:data:`SRTG_PLACEMENT_BUDGETS`) on the SynthActions recipe, for
    :func:`~actionrec.experiments.setup.build_runs`: :func:`srtg_placement_variants` of the budget's
    backbones (``f"{backbone}_{depth}"`` at ``width``), placements (gate :data:`SRTG_PLACEMENT_GATE`)
    and hard-gate row, then the positive control :data:`ORDER_BLIND` (``frame_avg2d`` at ``width``;
    row ``{"variant", "backbone": "frame_avg2d", "placement": None, "gate": None, "config"}``)."""
    check_choice("budget", budget, BUDGETS)
    check_choice("depth", depth, [18, 34, 50, 101])
    check_float("width", width, positive=True)
    spec = SRTG_PLACEMENT_BUDGETS[budget]
    base = recipe_config(f"r3d_{depth}", {}, budget=budget, device=device)
    runs = srtg_placement_variants(base, backbones=spec["backbones"], depth=depth, placements=spec["placements"],
                                   width=width, hard_row=spec["hard_row"])
    runs[ORDER_BLIND] = (recipe_config("frame_avg2d", {"width": width}, budget=budget, device=device),
                         {"variant": ORDER_BLIND, "backbone": "frame_avg2d", "placement": None, "gate": None,
                          "config": ORDER_BLIND})
    return runs


# --------------------------------------------------------------------------------------------
# Trained gates: how often they open
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def hard_gate_check(model: torch.nn.Module, batches: Iterable, *, max_batches: int | None = None) -> dict[str, Any]:
    """Is a network with hard SRTGates the same function as with every SRTG bypassed, on ``batches``?

    Runs ``model`` (eval mode, on its parameters' device) on every batch (``(clips, labels)`` pairs or
    bare clips) twice: as it is, and with every :class:`~actionrec.layers.srtg.SRTGate` set to
    ``"closed"`` (the fusion bypassed, ``out = x``: the network without SRTG, plus unused LSTMs); the
    gates' modes are restored afterwards. Every gate must be ``"hard"`` (``ValueError`` otherwise).
    Returns ``{"clips", "open" (fraction of (gate, clip) pairs open), "open_per_gate" ({gate: fraction
    of clips}), "clips_any_open" (fraction of clips with at least one gate open), "max_abs_diff"
    (max |logits - bypassed logits| over all clips), "max_abs_diff_closed" (the same over the clips
    whose gates were all closed: 0.0 exactly when a closed hard gate passes its input unchanged; NaN if
    there is no such clip)}``.
    """
    gates = srt_gates(model)
    if not gates:
        raise ValueError(f"hard_gate_check: {type(model).__name__} has no SRTGate")
    modes = {n: g.gate for n, g in gates}
    if set(modes.values()) != {"hard"}:
        raise ValueError(f"hard_gate_check: every gate must be 'hard', got {sorted(set(modes.values()))}")
    model.eval()
    device = next(model.parameters()).device
    opened = {n: 0 for n, _ in gates}
    clips, any_open, diff, diff_closed = 0, 0, 0.0, float("nan")
    try:
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            x = (batch[0] if isinstance(batch, (tuple, list)) else batch).to(device)
            for _, g in gates:
                g.gate, g.record = "hard", True
            logits = model(x).float()  # (N, K)
            open_bn = torch.stack([g.last.open for _, g in gates])  # (gates, N) bool
            for (n, _), o in zip(gates, open_bn):
                opened[n] += int(o.sum())
            for _, g in gates:
                g.gate = "closed"
            d = (logits - model(x).float()).abs().amax(dim=1)  # (N,)
            closed = ~open_bn.any(0)  # (N,) clips whose gates were all closed
            clips, any_open, diff = clips + x.shape[0], any_open + int((~closed).sum()), max(diff, float(d.max()))
            if closed.any():
                dc = float(d[closed].max())
                diff_closed = dc if diff_closed != diff_closed else max(diff_closed, dc)
    finally:
        for n, g in gates:
            g.gate = modes[n]
    if clips == 0:
        raise ValueError("hard_gate_check: batches is empty")
    per_gate = {n: k / clips for n, k in opened.items()}
    return dict(clips=clips, open=sum(per_gate.values()) / len(per_gate), open_per_gate=per_gate,
                clips_any_open=any_open / clips, max_abs_diff=diff, max_abs_diff_closed=diff_closed)


def add_gate_open_rates(rows: Iterable[dict[str, Any]], batches: Iterable) -> None:
    """Add to each grid row its trained network's gate statistics on ``batches`` (e.g. the test
    DataLoader): ``gate_open``, ``gate_score`` and ``gate_consistent`` (means over the network's gates of
    :func:`~actionrec.layers.srtg.gate_stats`' ``open``, ``score`` and ``consistent``: how often the
    hard test passed, whatever the gate) and ``gate_open_per_layer`` ({gate: open}). Rows of networks
    with hard gates (``row["gate"] == "hard"``) also get :func:`hard_gate_check`'s ``clips_any_open``,
    ``bypass_max_diff`` (``max_abs_diff``) and ``bypass_max_diff_closed``. Rows without SRTG
    (``placement == "none"``) or whose run diverged get ``gate_open = None``."""
    batches = list(batches) if not hasattr(batches, "__len__") else batches  # iterated more than once
    for row in rows:
        if row["placement"] == "none" or row.get("error"):
            row["gate_open"] = None
            continue
        model = load_model(row["run_dir"])
        stats = gate_stats(model, batches)  # per gate: open, score, consistent, consistent_frames
        mean = (lambda k: sum(s[k] for s in stats.values()) / len(stats))  # noqa: E731
        row.update(gate_open=mean("open"), gate_score=mean("score"), gate_consistent=mean("consistent"),
                   gate_open_per_layer={name: s["open"] for name, s in stats.items()})
        if row.get("gate") == "hard":
            check = hard_gate_check(model, batches)
            row.update(clips_any_open=check["clips_any_open"], bypass_max_diff=check["max_abs_diff"],
                       bypass_max_diff_closed=check["max_abs_diff_closed"])


def gate_open_sentence(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """How often the gates of the rows' networks opened (mean of ``gate_open`` over the rows that have
    it), per gate kind (``row["gate"]``; rows without one count as one kind), with a warning when hard
    or soft gates were almost always closed (< 5%); for open gates, how often the hard test would have
    passed (``gate_consistent``). None when no row has ``gate_open``."""
    kinds: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("gate_open") is not None:
            kinds.setdefault(str(r.get("gate", "")), []).append(r)
    parts = []
    for kind, rs in kinds.items():
        mean_open = sum(r["gate_open"] for r in rs) / len(rs)
        what = f"{kind} gates" if kind else "gates"
        consistent = [r["gate_consistent"] for r in rs if r.get("gate_consistent") is not None]
        if kind == "open":
            parts.append(f"The open gates fused the LSTM output on every clip; the paper's hard test would have "
                         f"passed for {100 * sum(consistent) / max(len(consistent), 1):.2f}% of (gate, test clip) "
                         f"pairs, averaged over the {len(rs)} trained networks with open gates.")
        elif mean_open < 0.05:
            parts.append(f"**The {what} were almost always closed:** {100 * mean_open:.2f}% of (gate, test clip) pairs "
                         f"were open, averaged over the {len(rs)} trained networks with {what if kind else 'SRTG'}. A closed gate passes "
                         "its input unchanged, so these networks compute (almost) the same function as the one "
                         "without SRTG; their differences from it are differences between random initialisations, "
                         "not placements.")
        else:
            parts.append(f"The {what} were open for {100 * mean_open:.1f}% of (gate, test clip) pairs on average.")
    return " ".join(parts) or None


def hard_gate_sentence(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """What :func:`hard_gate_check` measured on the hard-gated rows (``row["gate"] == "hard"``, after
    :func:`add_gate_open_rates`): open rate, clips with any gate open, and the largest |logit
    difference| to the same networks with every SRTG bypassed. None when no row has it."""
    rs = [r for r in rows if r.get("gate") == "hard" and r.get("bypass_max_diff") is not None]
    if not rs:
        return None
    open_rate = sum(r["gate_open"] for r in rs) / len(rs)
    any_open = max(r["clips_any_open"] for r in rs)
    diff = max(r["bypass_max_diff"] for r in rs)
    closed = [r["bypass_max_diff_closed"] for r in rs if r["bypass_max_diff_closed"] == r["bypass_max_diff_closed"]]
    same = diff == 0.0
    return (f"**The paper's hard gate** ({len(rs)} trained networks, placement "
            f"{', '.join(sorted({str(r['placement']) for r in rs}))}): open for {100 * open_rate:.2f}% of (gate, test "
            f"clip) pairs; at most {100 * any_open:.1f}% of a network's test clips had any gate open. With every SRTG "
            f"bypassed (gates set to 'closed', the network without SRTG) the logits differ by at most {diff:.3g}"
            + (f" ({max(closed):.3g} on the clips whose gates were all closed)" if closed else "")
            + (": on these clips the hard-gated networks *are* networks without SRTG (plus LSTMs that never ran into "
               "the output and got no gradient), so this row measures a random initialisation, not SRTG."
               if same else "; the differences come from the clips whose gates opened."))


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
