"""MixTConv (Shan et al., ``shared/papers/mixtconv.txt``): the kernel-size table and its claims.

The paper's kernel-size table (Something-Something v1, TSN ResNet-50, 8 segments) puts a mixed
temporal convolution (``actionrec.layers.mixtconv.MixTConv``: channel groups with temporal kernels
1, 3, 5, 7) before every bottleneck of a TSN backbone and compares it with TSN (no temporal
modelling) and TSM (a ±1 frame shift). :data:`MIXTCONV_KERNEL_PAPER` holds its rows beside the
configurations the notebook runs; :func:`mixtconv_model` builds the run of one row on our small
backbones; :func:`mixtconv_kernel_claim` decides the table's claims — MixTConv (ks1357) >= TSM >
TSN, and ks1357 is the best kernel setting — on a summary with one entry per row
(``summarize(rows, by=("config",))``). :func:`mixtconv_paired` tabulates the per-seed differences
to the baselines, :func:`mixtconv_frame_order_sentence` how often each row called a time-reversed
clip by its reverse class, :func:`mixtconv_learned_taps` what a trained MixTConv's taps weigh and
:func:`mixtconv_init_reach` which channels a MixTConv's init points at other frames.

The MixTConv rows start from :data:`MIXTCONV_INIT` (``"official"``: the official code's
``MsGroupConv1d.weight_init``, ``actionrec.layers.mixtconv``), which is what the paper's table was
trained from; ``mixtconv_model(..., init="tsm")`` runs them from TSM's shift in every group instead.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.synthactions import ORDERLESS_CEILING
from ..experiments.summary import best, compare, paired_difference, pct
from ..experiments.verdicts import best_claim, claims_result, entries_by, order_claim, untested
from ..layers.mixtconv import INITS, MixTConv
from ..models.tsn import temporal_modules
from ..utils.checks import check_choice

__all__ = ["MIXTCONV_KERNEL_PAPER", "MIXTCONV_BASELINES", "MIXTCONV_INIT", "mixtconv_model", "mixtconv_kernels_label",
           "mixtconv_kernel_claim", "mixtconv_paired", "mixtconv_frame_order_sentence", "mixtconv_learned_taps",
           "mixtconv_init_reach"]

#: MixTConv slides, kernel-size table (Something-Something v1, TSN ResNet-50, 8 segments): top-1 and
#: FLOPs (G; the slides' "FLOPs" are multiply-adds, see benchmarks/temporal_kernels.py). "ks3_d123"
#: is the slides' "TSN+ks357" row: kernel 3 with dilations 1, 2, 3. Not run here: "TSN + ordinary
#: 1D" (a full 1-D temporal conv, 41.0 at 43G).
MIXTCONV_KERNEL_PAPER = {
    "tsn": {"top1": 19.7, "gflops": 33.0, "kernels": None, "dilations": None},
    "tsm": {"top1": 45.6, "gflops": 33.0, "kernels": None, "dilations": None},
    "ks3": {"top1": 45.9, "gflops": 33.13, "kernels": (3,), "dilations": None},
    "ks5": {"top1": 46.3, "gflops": 33.23, "kernels": (5,), "dilations": None},
    "ks7": {"top1": 45.8, "gflops": 33.32, "kernels": (7,), "dilations": None},
    "ks13": {"top1": 45.8, "gflops": 33.09, "kernels": (1, 3), "dilations": None},
    "ks135": {"top1": 46.4, "gflops": 33.13, "kernels": (1, 3, 5), "dilations": None},
    "ks1357": {"top1": 46.7, "gflops": 33.18, "kernels": (1, 3, 5, 7), "dilations": None},
    "ks3_d123": {"top1": 46.4, "gflops": 33.13, "kernels": (3, 3, 3), "dilations": (1, 2, 3)},
}
#: The rows without MixTConv.
MIXTCONV_BASELINES = ("tsn", "tsm")
#: MixTConv's init in the table's runs: the official code's (``MsGroupConv1d.weight_init``).
MIXTCONV_INIT = "official"


def mixtconv_model(config: str, *, num_segments: int, width: float, init: str = MIXTCONV_INIT) -> dict[str, Any]:
    """``TrainConfig`` fields ``model`` and ``model_kwargs`` of one row of the table: ``tsn_small`` /
    ``tsm_small`` for the baselines, else ``mstnet_small`` with the row's kernels and dilations and
    MixTConv's ``init`` (written into ``model_kwargs`` even at its default, so the run's config, and
    with it the run's folder tag, names the init it trained from)."""
    if config in MIXTCONV_BASELINES:
        return dict(model=f"{config}_small", model_kwargs=dict(num_segments=num_segments, width=width))
    p = MIXTCONV_KERNEL_PAPER[config]
    return dict(model="mstnet_small", model_kwargs=dict(num_segments=num_segments, width=width,
                                                        kernels=list(p["kernels"]),
                                                        dilations=None if p["dilations"] is None else list(p["dilations"]),
                                                        init=check_choice("init", init, INITS)))


def mixtconv_kernels_label(config: str) -> str:
    """The temporal kernels of one row as a table cell ("1,3,5,7", "3,3,3 (dil. 1,2,3)", TSM's shift)."""
    p = MIXTCONV_KERNEL_PAPER[config]
    if p["kernels"] is None:
        return "shift ±1 (1/8 + 1/8)" if config == "tsm" else "—"
    return ",".join(map(str, p["kernels"])) + ("" if p["dilations"] is None else f" (dil. {','.join(map(str, p['dilations']))})")


def mixtconv_kernel_claim(summary: Sequence[Mapping[str, Any]], *, method: str = "overlap") -> dict[str, Any]:
    """MixTConv's kernel-size table — "MixTConv (ks1357) >= TSM > TSN; ks1357 is the best kernel
    setting" — checked on ``summary``.

    ``summary``: one entry per configuration (``summarize(rows, by=("config",))``), each with a
    ``config`` field among :data:`MIXTCONV_KERNEL_PAPER`'s keys: ``"tsn"``, ``"tsm"`` (baselines)
    and the MixTConv settings ``"ks3"``, ``"ks5"``, ``"ks7"``, ``"ks13"``, ``"ks135"``, ``"ks1357"``,
    ``"ks3_d123"`` (kernel 3 with dilations 1, 2, 3). Any subset with at least one baseline and one
    MixTConv setting; claims whose entries are missing are reported as not tested.

    "MixTConv" is ks1357 (the paper's MSTNet); without it the best-mean MixTConv setting stands in.
    Claims (each ``{"tested", "holds", "clear", "contradicted", "sentence", ...}`` in ``claims``):

    * ``mixtconv_ge_tsm``: mean(MixTConv) >= mean(TSM); clear when higher beyond the 95% CIs.
    * ``tsm_gt_tsn``: TSM above TSN.
    * ``mixtconv_gt_tsn``: MixTConv above TSN (implied by the two above; tested when TSN ran).
    * ``ks1357_best``: ks1357 has the best mean among the MixTConv settings (needs ks1357 and
      another setting); clear when beyond every other setting's CI.

    Returns the flat booleans ``mixtconv_ge_tsm``, ``mixtconv_ge_tsm_clear``, ``tsm_gt_tsn``,
    ``tsm_gt_tsn_clear``, ``mixtconv_gt_tsn``, ``mixtconv_gt_tsn_clear``, ``ks1357_best``,
    ``ks1357_best_clear`` (None when not tested), ``mixtconv`` (the config standing for MixTConv),
    ``best_kernel``, ``claims``, ``holds`` (every tested claim holds on the means), ``clear``
    (every tested claim beyond the CIs), ``contradicted`` (some claim reversed beyond the CIs) and
    ``sentence`` ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
    """
    valid = list(MIXTCONV_KERNEL_PAPER)
    by_c = entries_by(summary, "config", valid, "mixtconv_kernel_claim")
    mix = [k for k in by_c if k not in MIXTCONV_BASELINES]
    missing = []
    if not any(k in by_c for k in MIXTCONV_BASELINES):
        missing.append("a baseline ('tsn' or 'tsm')")
    if not mix:
        missing.append("a MixTConv setting (" + ", ".join(repr(k) for k in valid if k not in MIXTCONV_BASELINES) + ")")
    if missing:
        raise ValueError(f"mixtconv_kernel_claim needs {' and '.join(missing)} with results; got configs {sorted(by_c)}")
    entries = list(by_c.values())
    mix_entries = [by_c[k] for k in mix]
    top_mix = best(mix_entries, method=method)
    best_kernel = next(k for k in mix if by_c[k]["label"] == top_mix["best"])
    rep = "ks1357" if "ks1357" in by_c else best_kernel
    names = {k: k.upper() if k in MIXTCONV_BASELINES else k for k in valid}
    mix_name = "MixTConv (ks1357)" if rep == "ks1357" else f"MixTConv ({rep}, the best setting run; ks1357 was not run)"
    paper = MIXTCONV_KERNEL_PAPER
    claims: dict[str, dict[str, Any]] = {}
    if "tsm" in by_c:
        claims["mixtconv_ge_tsm"] = order_claim(
            entries, by_c[rep], by_c["tsm"], name_a=mix_name, name_b="TSM", method=method, strict=False,
            paper=f"{paper[rep]['top1']} vs {paper['tsm']['top1']} on Something-Something v1")
    else:
        claims["mixtconv_ge_tsm"] = untested("MixTConv vs TSM: TSM was not run.")
    if "tsm" in by_c and "tsn" in by_c:
        claims["tsm_gt_tsn"] = order_claim(entries, by_c["tsm"], by_c["tsn"], name_a="TSM", name_b="TSN", method=method,
                                           paper=f"{paper['tsm']['top1']} vs {paper['tsn']['top1']}")
    else:
        claims["tsm_gt_tsn"] = untested("TSM vs TSN: " + ("TSN" if "tsm" in by_c else "TSM") + " was not run.")
    if "tsn" in by_c:
        claims["mixtconv_gt_tsn"] = order_claim(entries, by_c[rep], by_c["tsn"], name_a=f"MixTConv ({rep})",
                                                name_b="TSN", method=method,
                                                paper=f"{paper[rep]['top1']} vs {paper['tsn']['top1']}")
    else:
        claims["mixtconv_gt_tsn"] = untested("MixTConv vs TSN: TSN was not run.")
    if "ks1357" in by_c and len(mix) > 1:
        claims["ks1357_best"] = best_claim(
            mix_entries, {k: by_c[k] for k in mix}, "ks1357", names=names, among="MixTConv setting", method=method,
            paper="ks1357 " + str(paper["ks1357"]["top1"]) + ", the others " + ", ".join(
                f"{k} {paper[k]['top1']}" for k in mix if k != "ks1357"))
    else:
        claims["ks1357_best"] = untested("Best kernel setting: " + (
            "ks1357 was not run." if "ks1357" not in by_c else "no other MixTConv setting was run."))
    return claims_result({"mixtconv": rep, "best_kernel": best_kernel}, claims, "kernel-size")


def mixtconv_paired(rows: Sequence[Mapping[str, Any]], configs: Sequence[str], *,
                    metric: str = "top1") -> tuple[list[str], list[list[str]], dict[tuple[str, str], dict[str, Any]]]:
    """Each configuration minus each baseline run (TSN, TSM), paired by seed
    (:func:`~actionrec.experiments.summary.paired_difference` over the grid ``rows``).

    Returns ``(header, table_rows, paired)``: a table for ``markdown_table`` (one row per config;
    cells "+d ± ci" in points, " *" when the CI excludes 0, "—" against itself) and
    ``paired[(config, baseline)]`` the differences."""
    refs = [r for r in MIXTCONV_BASELINES if r in configs]  # TSN, then TSM
    header = ["config", *(f"− {r.upper()} (paired)" for r in refs)]
    table, paired = [], {}
    for c in configs:
        cells = []
        for r in refs:
            if c == r:
                cells.append("—")
                continue
            d = paired[(c, r)] = paired_difference(rows, "config", c, r, metric=metric)
            ci = f" ± {100 * d['ci']:.1f}" if d["n"] > 1 else ""
            cells.append(f"{100 * d['mean']:+.1f}{ci}" + (" *" if d["verdict"] != "indistinguishable" else ""))
        table.append([c, *cells])
    return header, table, paired


def mixtconv_frame_order_sentence(summary: Sequence[Mapping[str, Any]], swapped: Mapping[str, Mapping[str, Any]],
                                  configs: Sequence[str]) -> str | None:
    """TSN's top-1 against SynthActions' order-blind ceiling, and the share of time-reversed test clips
    each configuration called by their reverse class (``swapped``: ``summarize_by(rows, ("config",),
    "swapped")``), with how many temporal networks swap fewer than TSN beyond the 95% CIs. None
    when TSN or every temporal network lacks those numbers."""
    tsn_row = next((e for e in summary if e["config"] == "tsn"), None)
    temporal = [c for c in configs if c != "tsn" and c in swapped]
    if tsn_row is None or "tsn" not in swapped or not temporal:
        return None
    entries = list(swapped.values())
    fewer = [c for c in temporal if compare(entries, {"config": c}, {"config": "tsn"})["verdict"] == "lower"]
    return (f"**Frame order.** TSN reached {pct(tsn_row)}% (order-blind ceiling {100 * ORDERLESS_CEILING:.2f}%) and "
            f"called {pct(swapped['tsn'])}% of the time-reversed test clips by their reverse class; the temporal "
            "networks "
            + ", ".join(f"{c} {pct(swapped[c])}%" for c in temporal)
            + f". {len(fewer)} of {len(temporal)} swap fewer than TSN beyond the 95% CIs"
            + (f" ({', '.join(fewer)})." if fewer else "."))


def mixtconv_learned_taps(net: nn.Module) -> dict[str, list[dict[str, Any]]]:
    """The mean absolute weight of each temporal tap of every MixTConv in ``net``, per channel group.

    ``{module name without ".temporal": [{"kernel": k, "dilation": d, "offsets": [frame offset of
    each tap], "weight": (k,) array}, ...]}``; a group's weight ``(C_m, 1, k, 1, 1)`` is averaged
    over its channels."""
    out = {}
    for name, mod in temporal_modules(net):
        if not isinstance(mod, MixTConv):
            continue
        out[name.replace(".temporal", "")] = [
            dict(kernel=k, dilation=d, offsets=[j * d - d * (k - 1) // 2 for j in range(k)],
                 weight=np.asarray(w.detach().abs().mean(dim=(0, 1, 3, 4)).cpu().numpy()))
            for w, k, d in zip(mod.weights(), mod.kernels, mod.dilations)]
    return out


def mixtconv_init_reach(net: nn.Module) -> list[dict[str, Any]]:
    """Per MixTConv of ``net`` (read from its weights, so call it before training): ``{"block",
    "channels", "moved"`` (channels whose taps are not the identity's, i.e. read other frames),
    ``"share"`` (moved / channels), ``"reach"`` (the farthest frame offset any tap with a non-zero
    weight reads), ``"per_group"`` (moved channels per kernel group)``}``."""
    out = []
    for name, mod in temporal_modules(net):
        if not isinstance(mod, MixTConv):
            continue
        moved, reach = [], 0
        for w, k, d in zip(mod.weights(), mod.kernels, mod.dilations):
            taps = w.detach()[:, 0, :, 0, 0]  # (C_m, k)
            ident = torch.zeros_like(taps)
            ident[:, (k - 1) // 2] = 1.0
            moved.append(int((taps != ident).any(dim=1).sum()))
            offs = [abs(j * d - d * (k - 1) // 2) for j in range(k) if taps[:, j].any()]
            reach = max([reach, *offs])
        out.append(dict(block=name.replace(".temporal", ""), channels=mod.channels, moved=sum(moved),
                        share=sum(moved) / mod.channels, reach=reach, per_group=moved))
    return out
