"""MSTI-Net (Wu et al., IJCAI 2020, ``shared/papers/msti.txt``): the unit-variant table and its claims.

Table 2 of the paper compares residual units on an 8-conv backbone (Kinetics-400 pre-trained,
top-1 on UCF-101 and HMDB-51): P3D-B (a 1x3x3 and a 3x1x1 conv in parallel, summed), P3D-B with its
temporal conv made multi-scale (MS(T), the stepped eq. 2) or its spatial conv (MS(S), eq. 1), both
(MS(ST)), and the full MSTI tube with the cross-scale attention weighting (MSTI;
``actionrec.layers.msti``; the single-branch tubes "ms_s_only" / "ms_t_only" are not its rows). :data:`MSTI_VARIANT_PAPER` holds its rows; :func:`msti_variant_claim`
decides its claims — every multi-scale variant beats P3D-B, MS(ST) beats MS(T) and MS(S), MSTI is
best — on a summary with one entry per variant (``summarize(rows, by=("variant",))``).
:func:`msti_input_support` checks, before training, that every unit's network sees every input
pixel and frame (:func:`msti_blind_warning` words a failure); :func:`msti_paired` tabulates the
per-seed differences the claims rest on.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from ..experiments.summary import best, paired_difference, pct
from ..experiments.verdicts import best_claim, claims_result, entries_by, order_claim, untested
from ..models import build_model
from ..train import TrainConfig

__all__ = ["MSTI_VARIANT_PAPER", "msti_variant_claim", "msti_input_support", "msti_blind_warning", "msti_paired"]

#: MSTI-Net, Table 2 (Kinetics-400 pre-trained, 8-conv backbone): top-1 on UCF-101 and HMDB-51.
MSTI_VARIANT_PAPER = {
    "p3d_b": {"ucf101": 86.9, "hmdb51": 60.8, "name": "P3D-B"},
    "ms_t": {"ucf101": 88.4, "hmdb51": 64.2, "name": "MS(T)"},
    "ms_s": {"ucf101": 89.6, "hmdb51": 64.7, "name": "MS(S)"},
    "ms_st": {"ucf101": 90.7, "hmdb51": 67.3, "name": "MS(ST)"},
    "msti": {"ucf101": 92.8, "hmdb51": 70.4, "name": "MSTI"},
}


def msti_variant_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MSTI-Net Table 2's claims — "every multi-scale variant beats P3D-B; MS(ST) beats MS(T) and
    MS(S); the full MSTI tube (with CAW) is best" — checked on ``summary``.

    ``summary``: one entry per unit variant (``summarize(rows, by=("variant",))``), each with a
    ``variant`` field among ``"p3d_b"``, ``"ms_t"``, ``"ms_s"``, ``"ms_st"``, ``"msti"``; it must
    hold ``"p3d_b"`` and at least one other variant. Claims (in ``claims``; untested when their
    entries are missing):

    * ``all_beat_p3d``: every multi-scale variant run has a higher mean than P3D-B; clear when each
      is higher beyond the 95% CIs; contradicted when one is lower beyond them.
    * ``st_beats_t_s``: MS(ST) above MS(T) and MS(S) (those run).
    * ``msti_best``: MSTI has the best mean of all variants run.

    Returns ``vs_p3d`` ({variant: compare(...)}), ``st_vs`` ({"ms_t"/"ms_s": compare(...)}), ``best``
    (variant with the best mean), the flat booleans ``all_beat_p3d``, ``all_beat_p3d_clear``,
    ``st_beats_t_s``, ``st_beats_t_s_clear``, ``msti_best``, ``msti_best_clear`` (None when not
    tested), ``claims``, ``holds``, ``clear``, ``contradicted`` and ``sentence``.
    """
    valid = list(MSTI_VARIANT_PAPER)
    by_v = entries_by(summary, "variant", valid, "msti_variant_claim")
    missing = []
    if "p3d_b" not in by_v:
        missing.append("the baseline 'p3d_b'")
    if not any(v != "p3d_b" for v in by_v):
        missing.append("a multi-scale variant ('ms_t', 'ms_s', 'ms_st' or 'msti')")
    if missing:
        raise ValueError(f"msti_variant_claim needs {' and '.join(missing)} with results; got variants {sorted(by_v)}")
    entries = list(by_v.values())
    paper = MSTI_VARIANT_PAPER
    names = {v: p["name"] for v, p in paper.items()}
    pp = lambda v: f"{paper[v]['ucf101']} / {paper[v]['hmdb51']}"  # noqa: E731  UCF-101 / HMDB-51
    claims: dict[str, dict[str, Any]] = {}
    ms = [v for v in by_v if v != "p3d_b"]
    vs_p3d = {v: order_claim(entries, by_v[v], by_v["p3d_b"], name_a=names[v], name_b="P3D-B", method=method,
                             paper=f"{pp(v)} vs {pp('p3d_b')}") for v in ms}
    above = [v for v in ms if vs_p3d[v]["holds"]]
    claims["all_beat_p3d"] = {
        "tested": True, "holds": len(above) == len(ms), "clear": all(c["clear"] for c in vs_p3d.values()),
        "contradicted": any(c["contradicted"] for c in vs_p3d.values()),
        "sentence": (f"P3D-B: {pct(by_v['p3d_b'], unit='%')}; {len(above)}/{len(ms)} multi-scale variants have a "
                     "higher mean (" + ", ".join(f"{names[v]} {100 * vs_p3d[v]['compare']['diff']:+.1f}" for v in ms)
                     + " points), "
                     f"{sum(c['clear'] for c in vs_p3d.values())} beyond the 95% CIs and "
                     f"{sum(c['contradicted'] for c in vs_p3d.values())} below them "
                     f"(paper, UCF-101 / HMDB-51: P3D-B {pp('p3d_b')}, every variant above)."),
    }
    others = [v for v in ("ms_t", "ms_s") if v in by_v]
    st_vs: dict[str, dict[str, Any]] = {}
    if "ms_st" in by_v and others:
        st_vs = {v: order_claim(entries, by_v["ms_st"], by_v[v], name_a="MS(ST)", name_b=names[v], method=method,
                                paper=f"{pp('ms_st')} vs {pp(v)}") for v in others}
        claims["st_beats_t_s"] = {
            "tested": True, "holds": all(c["holds"] for c in st_vs.values()),
            "clear": all(c["clear"] for c in st_vs.values()),
            "contradicted": any(c["contradicted"] for c in st_vs.values()),
            "sentence": " ".join(c["sentence"] for c in st_vs.values()),
        }
    else:
        claims["st_beats_t_s"] = untested("MS(ST) vs MS(T)/MS(S): " + (
            "MS(ST) was not run." if "ms_st" not in by_v else "neither MS(T) nor MS(S) was run."))
    if "msti" in by_v:
        claims["msti_best"] = best_claim(entries, by_v, "msti", names=names, among="variant", method=method,
                                         paper=f"MSTI {pp('msti')}, best on both datasets")
    else:
        claims["msti_best"] = untested("Best variant: MSTI was not run.")
    top = best(entries, method=method)
    best_v = next(v for v, e in by_v.items() if e["label"] == top["best"])
    return claims_result({"vs_p3d": {v: c["compare"] for v, c in vs_p3d.items()},
                          "st_vs": {v: c["compare"] for v, c in st_vs.items()}, "best": best_v}, claims, "Table 2")


def msti_input_support(runs: Mapping[str, TrainConfig], labels: Mapping[str, str], *, num_classes: int,
                       input_shape: Sequence[int]) -> dict[str, tuple[float, float]]:
    """Which inputs can reach the logits of each run's network, before training.

    For each run (``labels[name]`` names it): the network built at seed 0 in eval mode (in training
    mode BatchNorm's batch statistics tie every pixel to every output), one backward pass from the
    summed logits to a random batch of 2 clips of ``input_shape`` (C, T, H, W). Returns ``{label:
    (share of the H x W pixels, share of the T frames whose gradient is not exactly zero)}``."""
    support = {}
    for name, cfg in runs.items():
        torch.manual_seed(0)
        net = build_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs).eval()
        x = torch.randn(2, *input_shape, requires_grad=True)
        net(x).sum().backward()
        g = x.grad.abs().sum(dim=(0, 1))  # (B, C, T, H, W) -> (T, H, W)
        support[labels[name]] = ((g.sum(dim=0) > 0).float().mean().item(),  # pixels (H, W)
                                 (g.sum(dim=(1, 2)) > 0).float().mean().item())  # frames (T,)
    return support


def msti_blind_warning(support: Mapping[str, tuple[float, float]], size: Sequence[int]) -> str | None:
    """A warning naming the units of :func:`msti_input_support` that see fewer than half of the
    ``size`` = (H, W) pixels (such a row measures a blind network, not its unit); None if none."""
    blind = {u: px for u, (px, _) in support.items() if px < 0.5}
    if not blind:
        return None
    H, W = size
    return ("**Warning:** " + ", ".join(f"{u} sees {100 * px:.1f}% of the {H}×{W} pixels" for u, px in blind.items())
            + ". Some input positions never reach the logits, so that row measures a blind network, not its unit. "
            "(A network that strides its 1×1×1 reduce and shortcut convs keeps every other pixel, and a unit with "
            "no spatial conv then sees only a corner of the clip; strided stages average-pool first, ResNet-D "
            "style.)")


def msti_paired(rows: Sequence[Mapping[str, Any]], variants: Sequence[str], *,
                metric: str = "top1") -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    """Every multi-scale variant run minus P3D-B, and MS(ST) minus MS(T) and MS(S), paired by seed
    (:func:`~actionrec.experiments.summary.paired_difference` over the grid ``rows``).

    Returns ``(header, table_rows, paired)``: a table for ``markdown_table`` (difference in points
    ± 95% CI, per seed, verdict) and the differences."""
    names = {v: p["name"] for v, p in MSTI_VARIANT_PAPER.items()}
    pairs = [(u, "p3d_b") for u in variants if u != "p3d_b"] + [("ms_st", u) for u in ("ms_t", "ms_s")
                                                                if "ms_st" in variants and u in variants]
    paired = [paired_difference(rows, "variant", a, b, metric=metric) for a, b in pairs]
    header = ["variant − reference", f"{'top-1' if metric == 'top1' else metric} difference (points)", "per seed",
              "verdict"]
    table = [[f"{names[d['a']]} − {names[d['b']]}", f"{100 * d['mean']:+.1f} ± {100 * d['ci']:.1f}",
              ", ".join(f"{100 * x:+.1f}" for x in d["diffs"]), d["verdict"]] for d in paired]
    return header, table, paired
