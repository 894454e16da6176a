"""MixTConv (Shan et al., ``shared/papers/mixtconv.txt``): the kernel-size table, its claims and runs.

The paper's kernel-size table (Something-Something v1, TSN ResNet-50, 8 segments) puts a mixed
temporal convolution (``actionrec.layers.mixtconv.MixTConv``: channel groups with temporal kernels
1, 3, 5, 7) before every bottleneck of a TSN backbone and compares it with TSN (no temporal
modelling) and TSM (a ±1 frame shift). :data:`MIXTCONV_KERNEL_PAPER` holds its rows, keyed by the
variant names the runs use; :func:`mixtconv_model` builds the run of one row on our small
backbones; :func:`mixtconv_kernels_label` names a row's kernels.

**Protocol** (issue 15; :mod:`actionrec.experiments.protocol`). :data:`MIXTCONV_KERNEL_CLAIMS`
declares the chapter's claims with δ and the paper's numbers before any reference run: the
positive control TSM > TSN (TSN averages its frames, so it is blind to their order), MixTConv
{1, 3, 5, 7} at or above TSM (non-inferiority), and {1, 3, 5, 7} the best kernel setting (best-of).
"MixTConv > TSN" (the paper's MSTNet-vs-TSN table) is not declared on its own: it follows from the
first two when both hold, and every further claim tightens the Holm levels of the others.
:data:`MIXTCONV_BUDGETS` gives the variants and seeds of each budget (:data:`MIXTCONV_CUSTOM`: the
notebook's ``budget="custom"`` defaults); :func:`mixtconv_runs` builds them on the SynthActions
recipe (:func:`~actionrec.papers.synthactions.recipe_config`) with the recipe's lr and batch, 8
frames (the paper's and TSN's 8 segments; ``num_segments`` must equal T) and width
:data:`MIXTCONV_WIDTH`. The reference's 6 seeds are the protocol's minimum, pending the pilot (on
seeds 100+, disjoint from these) that sizes n when the reference runs are made (issue 16).

Analyses of a grid's rows (``variant`` column): :func:`mixtconv_paper_table` (our means beside the
paper's top-1 and FLOPs), :func:`mixtconv_frame_order_sentence` (TSN against the order-blind
ceiling; how often each row called a time-reversed clip by its reverse class),
:func:`mixtconv_learned_taps` (what a trained MixTConv's taps weigh) and
:func:`mixtconv_init_reach` / :func:`mixtconv_init_table` (which channels a MixTConv's init points at
other frames, and how far).

The MixTConv rows start from :data:`MIXTCONV_INIT` (``"official"``: the official code's
``MsGroupConv1d.weight_init``, ``actionrec.layers.mixtconv``), which is what the paper's table was
trained from; ``mixtconv_model(..., init="tsm")`` runs them from TSM's shift in every group instead
(:ref:`readings-mixtconv-init`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data.synthactions import ORDERLESS_CEILING
from ..experiments.protocol import Claim
from ..layers.mixtconv import INITS, MixTConv
from ..models import build_model
from ..models.tsn import temporal_modules
from ..train import TrainConfig
from ..utils.checks import check_choice
from .synthactions import BUDGETS, recipe_config

__all__ = ["MIXTCONV_KERNEL_PAPER", "MIXTCONV_BASELINES", "MIXTCONV_INIT", "MIXTCONV_WIDTH", "MIXTCONV_FRAMES",
           "MIXTCONV_KERNEL_CLAIMS", "MIXTCONV_BUDGETS", "MIXTCONV_CUSTOM", "mixtconv_runs", "mixtconv_model",
           "mixtconv_kernels_label", "mixtconv_paper_table", "mixtconv_frame_order_sentence", "mixtconv_learned_taps",
           "mixtconv_init_reach", "mixtconv_init_table"]

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
#: Channel multiplier of the budgets' networks (ResNet widths 64..512 -> 8..64).
MIXTCONV_WIDTH = 0.125
#: Frames per clip of the budgets' runs: the paper's 8 segments (the networks' ``num_segments``).
MIXTCONV_FRAMES = 8

_DELTA = 1.0
_DELTA_REASON = ("the paper's MixTConv-over-TSM gain is 1.1 points and its kernel settings span 0.9 (45.8-46.7); a "
                 "smaller difference would not decide a choice of kernels, and it is about the binomial SE of 2,048 "
                 "test clips at 80% top-1 (0.88 points)")

#: The chapter's claims, declared before the reference runs (variants: the keys of
#: :data:`MIXTCONV_KERNEL_PAPER`; metric: test top-1).
MIXTCONV_KERNEL_CLAIMS = (
    Claim("control: TSM > TSN (order-blind)", "superiority", ("tsm", "tsn"), "top1", 10.0,
          "positive control: TSN averages its frames, so it cannot exceed 56.25% (9/16) on SynthActions' time-reversed "
          "class pairs; a TSM that does not beat it by 10 points has not learned frame order, and the setting would "
          "have no power", "45.6 vs 19.7 top-1 on Something-Something v1 (kernel-size table)", paper_effect=25.9,
          family="control"),
    Claim("MixTConv {1,3,5,7} >= TSM", "non_inferiority", ("ks1357", "tsm"), "top1", _DELTA,
          _DELTA_REASON + "; the non-inferiority margin",
          "46.7 vs 45.6 top-1 on Something-Something v1 (kernel-size table; one run each)", paper_effect=1.1),
    Claim("{1,3,5,7} is the best kernel setting", "best_of",
          ("ks1357", "ks3", "ks5", "ks7", "ks13", "ks135", "ks3_d123"), "top1", _DELTA, _DELTA_REASON,
          "ks1357 46.7; ks3 45.9, ks5 46.3, ks7 45.8, ks13 45.8, ks135 46.4, ks3 dilated 1/2/3 46.4 (kernel-size "
          "table; one run each)", paper_effect=0.3),
)

#: Variants (keys of :data:`MIXTCONV_KERNEL_PAPER`) and seeds of each budget. Quick: the headline
#: pair and the control; reference: every claim's variants, seeds 0..5 (n = 6, the protocol's minimum,
#: until a pilot on seeds 100+ sizes it; issue 16).
MIXTCONV_BUDGETS = {
    "quick": {"variants": ("tsn", "tsm", "ks1357"), "seeds": (0, 1, 2)},
    "reference": {"variants": tuple(MIXTCONV_KERNEL_PAPER), "seeds": tuple(range(6))},
}

#: The notebook's ``budget="custom"`` defaults (a parameter left at None takes these): the small, easy
#: grid the chapter ran before the protocol (all nine rows, 3 seeds, the official init).
MIXTCONV_CUSTOM: dict[str, Any] = dict(
    configs=list(MIXTCONV_KERNEL_PAPER), seeds=3, epochs=7, width=0.125, clip=[8, 32, 32], train_samples=512,
    test_samples=512, batch_size=8, lr=0.005, dataset="synthactions", data_root="", split=1, difficulty="easy",
    mixtconv_init=MIXTCONV_INIT)


def mixtconv_runs(budget: str, *, width: float = MIXTCONV_WIDTH, variants: Sequence[str] | None = None,
                  device: str = "auto") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of ``budget`` (:data:`MIXTCONV_BUDGETS`) on the SynthActions recipe, for
    :func:`~actionrec.experiments.setup.build_runs`: ``{variant: (config, {"variant": variant})}``, one
    per row of :data:`MIXTCONV_KERNEL_PAPER` the budget lists (``variants`` overrides it), each
    :func:`mixtconv_model` at ``width`` with :data:`MIXTCONV_FRAMES` segments and MixTConv's
    :data:`MIXTCONV_INIT`, trained by :func:`~actionrec.papers.synthactions.recipe_config` with
    ``frames=MIXTCONV_FRAMES`` (the recipe's lr and batch otherwise)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r} must be one of {list(BUDGETS)}")
    names = MIXTCONV_BUDGETS[budget]["variants"] if variants is None else tuple(variants)
    unknown = [v for v in names if v not in MIXTCONV_KERNEL_PAPER]
    if unknown or not names:
        raise ValueError(f"variants={list(names)!r}: each must be one of {list(MIXTCONV_KERNEL_PAPER)}")
    runs = {}
    for name in names:
        m = mixtconv_model(name, num_segments=MIXTCONV_FRAMES, width=width)
        cfg = recipe_config(m["model"], m["model_kwargs"], budget=budget, device=device, frames=MIXTCONV_FRAMES)
        runs[name] = (cfg, {"variant": name})
    return runs


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


def _rows_frame(rows: Any) -> pd.DataFrame:
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty or "variant" not in df:
        raise ValueError("rows must hold one row per run with a 'variant' column (the grid's rows)")
    unknown = sorted(set(df["variant"]) - set(MIXTCONV_KERNEL_PAPER))
    if unknown:
        raise ValueError(f"rows: unknown variant values {unknown}; valid: {list(MIXTCONV_KERNEL_PAPER)}")
    return df


def mixtconv_paper_table(rows: Any) -> pd.DataFrame:
    """One row per variant of ``rows`` (grid rows: ``variant``, ``top1`` and, where present,
    ``val_auc``, ``swapped``, ``gmacs``, ``params_m``; fractions of 1), in the paper's row order:
    ``variant``, ``temporal kernels``, ``n`` (runs with a top-1), the means over seeds in % of
    ``top-1``, ``val AUC`` and ``swapped`` (None where the rows lack the column), ``GMACs``,
    ``params (M)``, and the paper's ``paper top-1 (SSv1)`` and ``paper GFLOPs``."""
    df = _rows_frame(rows)
    out = []
    for name in [v for v in MIXTCONV_KERNEL_PAPER if v in set(df["variant"])]:
        sub = df[df["variant"] == name]
        mean = {c: 100 * float(pd.to_numeric(sub[c], errors="coerce").mean()) if c in sub else None
                for c in ("top1", "val_auc", "swapped")}
        first = {c: float(sub[c].iloc[0]) if c in sub else None for c in ("gmacs", "params_m")}
        out.append({"variant": name, "temporal kernels": mixtconv_kernels_label(name),
                    "n": int(pd.to_numeric(sub["top1"], errors="coerce").notna().sum()) if "top1" in sub else 0,
                    "top-1 (%)": mean["top1"], "val AUC (%)": mean["val_auc"], "swapped (%)": mean["swapped"],
                    "GMACs": first["gmacs"], "params (M)": first["params_m"],
                    "paper top-1 (SSv1)": MIXTCONV_KERNEL_PAPER[name]["top1"],
                    "paper GFLOPs": MIXTCONV_KERNEL_PAPER[name]["gflops"]})
    return pd.DataFrame(out)


def _per_seed(df: pd.DataFrame, name: str, col: str) -> list[float]:
    """The values of ``col`` of variant ``name`` in %, in the frame's order, missing ones left out."""
    return [100 * float(x) for x in pd.to_numeric(df[df["variant"] == name][col], errors="coerce") if not math.isnan(x)]


def mixtconv_frame_order_sentence(rows: Any) -> str | None:
    """TSN's test top-1 per seed against SynthActions' order-blind ceiling (9/16), and per variant
    the share of time-reversed test clips called by their reverse class (``swapped``, per seed) —
    numbers only, no verdict. None when ``rows`` (grid rows with ``variant``, ``seed``, ``top1``,
    ``swapped``) hold no TSN run or no ``swapped`` values."""
    df = _rows_frame(rows)
    if "swapped" not in df or "tsn" not in set(df["variant"]) or pd.to_numeric(df["swapped"], errors="coerce").isna().all():
        return None
    df = df.sort_values("seed")
    tsn = _per_seed(df, "tsn", "top1")
    below = sum(v <= 100 * ORDERLESS_CEILING for v in tsn)
    names = [v for v in MIXTCONV_KERNEL_PAPER if v in set(df["variant"])]
    swapped = "; ".join(f"{n} " + "/".join(f"{v:.1f}" for v in _per_seed(df, n, "swapped")) for n in names)
    return (f"**Frame order.** TSN's test top-1 per seed: {'/'.join(f'{v:.1f}' for v in tsn)}% — {below} of {len(tsn)} "
            f"runs at or below the order-blind ceiling of {100 * ORDERLESS_CEILING:.2f}%. Time-reversed test clips called "
            f"by their reverse class, % per seed (an order-blind network calls about half): {swapped}.")


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


def mixtconv_init_table(*, num_classes: int, num_segments: int, width: float,
                        inits: Sequence[str] = ("official", "tsm"), kernels: Sequence[int] = (1, 3, 5, 7)) -> pd.DataFrame:
    """:func:`mixtconv_init_reach` of ``mstnet_small`` with ``kernels`` built from each of ``inits``, side
    by side: one row per MixTConv block, columns ``block``, ``channels`` and, per init, ``<init>:
    reading other frames`` ("moved (share %)") and ``<init>: farthest`` ("±frames")."""
    for i in inits:
        check_choice("inits", i, INITS)
    reach = {i: mixtconv_init_reach(build_model("mstnet_small", num_classes=num_classes, num_segments=num_segments,
                                                width=width, kernels=list(kernels), init=i)) for i in inits}
    out = []
    for blocks in zip(*reach.values()):
        row = {"block": blocks[0]["block"], "channels": blocks[0]["channels"]}
        for i, b in zip(inits, blocks):
            row[f"{i}: reading other frames"] = f"{b['moved']} ({100 * b['share']:.2f}%)"
            row[f"{i}: farthest"] = f"±{b['reach']}"
        out.append(row)
    return pd.DataFrame(out)
