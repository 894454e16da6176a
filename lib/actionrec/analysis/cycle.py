"""SRTG cycle consistency between two frame sequences, prepared for plotting (eq. 4-5, Fig. 4-5).

Paper: Stergiou & Poppe, "Learn to cycle: Time-consistent feature discovery for action
recognition" (SRTG, Pattern Recognition Letters 2021). The consistency itself is
:func:`actionrec.layers.cycle_consistency.cycle_consistency`; this module turns it into numpy
arrays for :mod:`actionrec.viz.cycle` and into numbers over temperatures::

    a (T, C), b (T, C) ─→ cycle_consistency (eq. 4 soft matches, eq. 5 nearest frames) ─→ cc
    cc[sample] ─→ cycle_sample: weights (T, T) both ways, landing frames (T,), consistent frames (T,),
                  gate decision, soft score, sentence
    (a, b, ã = W_ab b) ─→ project_2d (joint PCA) ─→ (T, 2) points for the trajectory plot
    model, clips (N, 3, T, H, W) ─→ record_gates ─→ logits (N, K), per SRTGate: open, score,
                  pooled, a_star (N, T_l, C_l), cc ─→ gate_table (one row per gate) ─→ gate_table_sentence

A sequence is a ``(T, C)`` or ``(1, T, C)`` tensor/array, e.g. one clip's squeezed features
``pooled`` and LSTM output ``a_star`` from ``SRTGate.last``; ``cc`` is the
:class:`~actionrec.layers.cycle_consistency.CycleConsistency` of a batch (``sample`` picks one).
Sequences are compared in float64.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import torch

from ..layers.cycle_consistency import cycle_consistency, squared_distances
from ..layers.srtg import srt_gates

__all__ = ["as_sequence", "project_2d", "cycle_sample", "gate_sentence", "cycle_view", "cycle_sweep", "record_gates",
           "temporal_spread", "landing_frames", "gate_table", "gate_table_sentence", "soft_match_flatness"]


def as_sequence(x: Any, name: str) -> torch.Tensor:
    """(T, C) or (1, T, C) tensor/array -> float64 (T, C) tensor."""
    t = torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)
    if t.dim() == 3 and t.shape[0] == 1:
        t = t[0]  # (1, T, C) -> (T, C)
    if t.dim() != 2:
        raise ValueError(f"{name} must be one sequence (T, C) or (1, T, C); got shape {tuple(t.shape)}")
    return t


def project_2d(*seqs, fit_on: int | None = None) -> list[np.ndarray]:
    """Project sequences ``(T_k, C)`` jointly onto their first two principal components.

    The basis (mean and top-2 right singular vectors, ``torch.linalg.svd``) is fitted on all
    sequences together, or on the first ``fit_on`` of them (the rest, e.g. soft matches, are only
    projected), so distances in the plot approximate the Euclidean distances eq. 4 uses. ``C <= 2``
    is returned unprojected (``C = 1`` padded with a zero column). Returns ``(T_k, 2)`` arrays.
    """
    if not seqs:
        raise ValueError("project_2d: give at least one (T, C) sequence")
    ts = [as_sequence(s, f"seqs[{i}]") for i, s in enumerate(seqs)]
    C = ts[0].shape[1]
    if any(t.shape[1] != C for t in ts):
        raise ValueError(f"project_2d: all sequences must have the same C; got {[t.shape[1] for t in ts]}")
    if C <= 2:
        return [torch.nn.functional.pad(t, (0, 2 - C)).numpy() for t in ts]
    fit = torch.cat(ts[: fit_on or len(ts)])  # (sum T, C)
    mean = fit.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(fit - mean, full_matrices=False)  # vh (min(N, C), C)
    basis = vh[:2].T  # (C, 2)
    if basis.shape[1] < 2:  # a single point: nothing to project onto
        basis = torch.nn.functional.pad(basis, (0, 2 - basis.shape[1]))
    return [((t - mean) @ basis).numpy() for t in ts]


def cycle_sample(cc, sample: int = 0) -> dict[str, Any]:
    """One sample of a batched CycleConsistency as numpy arrays.

    Keys: ``w_ab``, ``w_ba`` (T, T) eq. 4 weights; ``i_ab``, ``i_ba`` (T,) eq. 5 landing frames;
    ``ok`` (T,) bool, cycle-consistent both ways; ``consistent`` (the gate opens), ``score`` (soft
    score) and ``sentence`` (:func:`gate_sentence`).
    """
    if cc.weights_ab.dim() != 3:
        raise ValueError("cc must be a batched CycleConsistency (weights (N, T, T))")
    n = cc.weights_ab.shape[0]
    if not -n <= sample < n:
        raise ValueError(f"sample={sample} is out of range for a batch of {n}")
    get = lambda t: t[sample].detach().cpu().numpy()  # noqa: E731
    s = dict(w_ab=get(cc.weights_ab), w_ba=get(cc.weights_ba), i_ab=get(cc.index_ab), i_ba=get(cc.index_ba),
             ok=get(cc.consistent_frames), consistent=bool(cc.consistent[sample]), score=float(cc.soft_score[sample]))
    verdict = "gate OPEN" if s["consistent"] else "gate CLOSED"
    s["sentence"] = f"{int(s['ok'].sum())}/{len(s['ok'])} frames cycle back → {verdict}, soft score {s['score']:.2f}"
    return s


def gate_sentence(cc, sample: int = 0) -> str:
    """``"16/16 frames cycle back → gate OPEN, soft score 0.81"`` for one sample of ``cc``."""
    return cycle_sample(cc, sample)["sentence"]


def cycle_view(a: Any = None, b: Any = None, cc=None, *, temperature: float = 1.0, sample: int = 0) -> dict[str, Any]:
    """Everything the cycle plots draw for one pair: :func:`cycle_sample` plus trajectory points.

    ``cc`` is computed from ``a``, ``b`` (``(T, C)`` or ``(1, T, C)``) at ``temperature`` when not
    given (then ``sample`` is 0); a given batched ``cc`` is read at ``sample``. With ``a`` and ``b``
    the view also holds ``pa``, ``pb`` (T, 2): both sequences in their joint 2-D PCA, and ``pt``
    (T, 2): A's eq. 4 soft matches ``b~ = W_ab b`` projected into the same plane (basis fitted on
    A and B only). Without them (matrices and per-frame checks only) ``cc`` is required.
    """
    if a is None or b is None:
        if cc is None:
            raise ValueError("cycle_view needs the two sequences (a, b) or a CycleConsistency cc")
        return cycle_sample(cc, sample)
    A, B = as_sequence(a, "a"), as_sequence(b, "b")
    if A.shape != B.shape:
        raise ValueError(f"a {tuple(A.shape)} and b {tuple(B.shape)} must have the same (T, C)")
    if cc is None:
        cc, sample = cycle_consistency(A[None], B[None], temperature=temperature), 0
    s = cycle_sample(cc, sample)
    b_tilde = torch.as_tensor(s["w_ab"], dtype=torch.float64) @ B  # (T, T) @ (T, C) -> (T, C): eq. 4
    s["pa"], s["pb"], s["pt"] = project_2d(A, B, b_tilde, fit_on=2)
    return s


def cycle_sweep(pairs: Mapping[str, tuple[Any, Any]], temperatures: Sequence[float]) -> dict[str, dict[str, np.ndarray]]:
    """Gate statistics of ``{name: (a, b)}`` pairs (``(T, C)`` or batches ``(N, T, C)``) per temperature.

    Returns ``{name: {"open", "consistent_frames", "score"}}``, each an array over ``temperatures``:
    fraction of samples whose gate opens, mean fraction of cycle-consistent frames, mean soft score.
    """
    out = {}
    for name, (a, b) in pairs.items():
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        a, b = (a[None] if a.dim() == 2 else a), (b[None] if b.dim() == 2 else b)  # (T, C) -> (1, T, C)
        rows = [cycle_consistency(a, b, temperature=float(tau)) for tau in temperatures]
        out[name] = {
            "open": np.array([cc.consistent.float().mean().item() for cc in rows]),
            "consistent_frames": np.array([cc.consistent_frames.float().mean().item() for cc in rows]),
            "score": np.array([cc.soft_score.float().mean().item() for cc in rows]),
        }
    return out


# --------------------------------------------------------------------------------------------
# The SRTGates of a network, on a set of clips
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def record_gates(model: torch.nn.Module, x: torch.Tensor, *, batch: int = 64,
                 device: Optional[torch.device | str] = None) -> tuple[torch.Tensor, dict[str, dict[str, Any]]]:
    """Logits ``(N, K)`` of ``model`` on clips ``x`` ``(N, 3, T, H, W)`` and, per SRTGate (in
    :func:`~actionrec.layers.srtg.srt_gates` order), its records of the ``N`` clips concatenated.

    Each gate's dict: ``open``, ``score`` (N,) its decisions; ``pooled``, ``a_star`` (N, T_l, C_l)
    the squeezed features and the LSTM output; ``cc`` their CycleConsistency at the gate's own
    temperature. Clips run in batches of ``batch`` on ``device`` (default: the model's); the
    records come back on the CPU.
    """
    gates = dict(srt_gates(model))
    if not gates:
        raise ValueError("record_gates: the model has no SRTGate")
    if device is None:
        device = next(model.parameters()).device
    logits, recs = [], {n: [] for n in gates}
    for i in range(0, len(x), batch):
        logits.append(model(x[i:i + batch].to(device)).float().cpu())
        for n, g in gates.items():
            recs[n].append(g.last)
    out = {}
    for n, rs in recs.items():
        pooled = torch.cat([r.pooled for r in rs]).cpu()  # (N, T_l, C_l)
        a_star = torch.cat([r.a_star for r in rs]).cpu()
        out[n] = dict(open=torch.cat([r.open for r in rs]).cpu(), score=torch.cat([r.score for r in rs]).cpu(),
                      pooled=pooled, a_star=a_star,
                      cc=cycle_consistency(pooled, a_star, temperature=gates[n].temperature))
    return torch.cat(logits), out


def temporal_spread(z: torch.Tensor) -> float:
    """Mean squared distance of a frame to its sequence's temporal mean; ``z`` (N, T, C) -> float."""
    return (z - z.mean(1, keepdim=True)).pow(2).sum(-1).mean().item()


def landing_frames(cc) -> float:
    """Mean number of distinct frames of B that the frames of A land on (eq. 5), over the batch of ``cc``."""
    return float(np.mean([len(set(i.tolist())) for i in cc.index_ab]))


def gate_table(recs: Mapping[str, Mapping[str, Any]], stats: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """One row per gate of :func:`record_gates` records ``recs`` and per-gate ``stats`` (``open``,
    ``score``, ``consistent_frames``; :func:`actionrec.layers.srtg.gate_stats`): ``gate`` (name
    without ``.srtg``), ``frames`` T_l, ``channels`` C_l, ``open``, ``score``, ``soft_score``,
    ``consistent_frames``, ``spread_pooled`` / ``spread_a_star`` (:func:`temporal_spread`),
    ``dist_pooled_a_star`` (mean squared distance between the two sequences' frames) and
    ``landing_frames`` (:func:`landing_frames`)."""
    rows = []
    for n, r in recs.items():
        cc = r["cc"]
        rows.append(dict(
            gate=n.removesuffix(".srtg"), frames=r["pooled"].shape[1], channels=r["pooled"].shape[2],
            open=stats[n]["open"], score=stats[n]["score"], soft_score=cc.soft_score.mean().item(),
            consistent_frames=stats[n]["consistent_frames"],
            spread_pooled=temporal_spread(r["pooled"]), spread_a_star=temporal_spread(r["a_star"]),
            dist_pooled_a_star=squared_distances(r["pooled"], r["a_star"]).mean().item(),
            landing_frames=landing_frames(cc),
        ))
    return rows


def gate_table_sentence(table: Sequence[Mapping[str, Any]]) -> str:
    """What a :func:`gate_table` says about the gates: in how many layers a gate opened, how much the
    LSTM output moves against its input (spread ratio, smallest and median), and on how many
    distinct frames of a* the frames of pool(a) land (layers with T > 2)."""
    ratio = lambda r: r["spread_a_star"] / max(r["spread_pooled"], 1e-12)  # noqa: E731
    n_open = sum(r["open"] > 0 for r in table)
    worst = min(table, key=ratio)
    long = [r["landing_frames"] for r in table if r["frames"] > 2]
    landing = (f" The T frames of pool(a) land on {np.mean(long):.1f} distinct frames of a* on average (layers with "
               "T > 2).") if long else ""
    return (f"**In this run** the hard gate opened for at least one test clip in {n_open} of {len(table)} layers "
            f"(mean open rate {100 * np.mean([r['open'] for r in table]):.1f}%). The LSTM output moves much less than "
            f"its input: its temporal spread is {ratio(worst):.2f}× that of pool(a) in {worst['gate']} (median over "
            f"layers {np.median([ratio(r) for r in table]):.2f}×), and the two sequences are further apart than "
            f"either moves.{landing}")


def soft_match_flatness(cc) -> dict[str, float]:
    """How flat the eq. 4 softmaxes A→B of a batched ``cc`` are: ``row_max`` (mean largest weight of a
    row; 1/T when flat), ``row_tv`` (mean total variation between a row and its clip's mean row; 0
    when every frame of A has the same soft match) and ``landing_frames`` (:func:`landing_frames`)."""
    w_ab = cc.weights_ab  # (N, T, T)
    return {"row_max": w_ab.amax(-1).mean().item(),
            "row_tv": 0.5 * (w_ab - w_ab.mean(1, keepdim=True)).abs().sum(-1).mean().item(),
            "landing_frames": landing_frames(cc)}
