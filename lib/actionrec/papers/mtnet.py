"""MTNet (Stergiou & Poppe, "Right on Time", ``shared/papers/mtnet.txt``): the channel-ratio claim.

Table 2 of the paper varies the ratio ``r`` of channels in the short stream of every MTConv
(``C_s = floor(r·C)``, eq. 1; ``r = 1`` is a plain 3D convolution) and reports HACS top-1. The
text reads it as: the top configurations include ``r = 0.875``, on average 1.9 points above
``r = 1``; ``r = 0.75`` costs "< 0.5%"; ``r = 0.5`` is the lowest. :func:`mtnet_ratio_variants`
gives the runs of the table, one per (r, g), on the default architecture reading.

**Protocol** (issue 15; :mod:`actionrec.experiments.protocol`). :data:`MTNET_RATIO_CLAIMS` declares
the chapter's claims with δ and the paper's numbers before any reference run;
:data:`MTNET_RATIO_BUDGETS` the variants and seeds of each budget (the positive control
``order_blind``, a frame-averaging 2D network, is in both); :func:`mtnet_ratio_runs` builds the
runs of a budget on the chapter's setting of the SynthActions recipe (:data:`MTNET_RATIO_RECIPE`,
:func:`~actionrec.papers.synthactions.recipe_config`).
:data:`MTNET_RATIO_PILOT` holds the pilot (seeds 100, 101; disjoint from the reference seeds) that
sized the reference grid (:func:`~actionrec.experiments.power.pilot_n`).

Table 3 (params and GFLOPs of the seven networks it lists) settles which of the architecture
readings the paper's text allows the networks follow: :data:`MTNET_TABLE3` holds it, and
:func:`mtnet_readings_table` counts every candidate reading (``actionrec.models.mtnet``) against
its params with the rules fixed before any count was made (``benchmarks/complexity.py``: class
count 700, Table 3's absolute g = 8 rows, score = max ``|relative error|`` over the seven rows);
:func:`best_mtnet_reading` names the winner (:ref:`readings-mtnet-table3-reading`).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import replace
from typing import Any, Mapping, Sequence

from ..analysis.complexity import model_complexity
from ..experiments.power import detectable_effect, pilot_n
from ..experiments.protocol import Claim
from ..models.factory import MTNET_READINGS
from ..models.mtnet import MTNET_READING
from ..train import TrainConfig
from .synthactions import BUDGETS, SYNTH_RECIPE, recipe_config

__all__ = ["MTNET_RATIO_CLAIMS", "MTNET_RATIO_RECIPE", "MTNET_RATIO_BUDGETS", "MTNET_RATIO_CUSTOM", "MTNET_RATIO_PILOT",
           "MTNET_RATIO_PILOT_PAIR", "MTNET_RATIO_PILOT_RECIPE", "MTNET_RATIO_PILOT_RUNS", "MTNET_RATIO_PILOT_SEEDS", "MTNET_RATIO_PILOT_SETTING",
           "ORDER_BLIND", "mtnet_ratio_runs", "mtnet_ratio_seeds_of",
           "mtnet_ratio_reference_n", "MTNET_RATIO_MAX_N", "MTNET_TABLE3", "MTNET_TABLE3_CLASSES", "MTNET_SUBSTREAM_TEXT", "MTNET_RATIO_GFLOPS",
           "mtnet_ratio_variants", "mtnet_readings", "mtnet_readings_table", "best_mtnet_reading"]

#: Table 3 at r = 0.875: ``{(model, g): (params M, GFLOPs)}``.
MTNET_TABLE3 = {
    ("mtnet32", 1): (21.64, 35.1),
    ("mtnet48", 1): (39.78, 42.80),
    ("mtnet64", 1): (43.02, 64.53),
    ("mtnet132", 1): (85.30, 101.55),
    ("mtnet200", 1): (124.25, 144.08),
    ("mtnet64", 8): (13.07, 9.16),
    ("mtnet132", 8): (24.68, 10.42),
}
#: Classes of the networks Table 3 counts (its caption: "K-700 & MiT"; one params column, the K-700
#: models; fixed before counting, ``benchmarks/complexity.py``). 200 (HACS) / 339 (MiT): sensitivity only.
MTNET_TABLE3_CLASSES = 700
#: Sec. "Sub-stream evaluation", the text's g = 8 vs g = 1 changes in % (params, GFLOPs); Table 3's own
#: rows give -69.6 / -71.1 % params. A secondary check: Table 3's absolute rows are the criterion.
MTNET_SUBSTREAM_TEXT = {"mtnet64": (-58.67, -71.82), "mtnet132": (-59.98, -76.14)}
#: Sec. "Ratio selection": mean GFLOPs change vs r = 1 over MTNet-32/48/64/132, in %.
MTNET_RATIO_GFLOPS = {0.875: -20.52, 0.75: -35.06}


#: The positive control's variant name: a frame-averaging 2D network (``frame_avg2d``), blind to frame
#: order, so it cannot tell SynthActions' 7 time-reversed class pairs apart (ceiling 9/16).
ORDER_BLIND = "order_blind"

_DELTA = 1.0
_DELTA_REASON = ("half the paper's +1.9-point gain of r = 0.875; a smaller difference would not decide a choice of r, "
                 "and it is 1.5x the binomial SE of 2,048 test clips at 90% (0.66 points)")

#: The chapter's claims, declared before the reference runs (variants: ``r<r>_g1``; metric: test top-1).
MTNET_RATIO_CLAIMS = (
    Claim("control: temporal > order-blind", "superiority", ("r1_g1", ORDER_BLIND), "top1", 10.0,
          "positive control: an order-blind network cannot exceed 56.25% (9/16) here; a temporal one that does not "
          "beat it by 10 points has not learned frame order, so the setting would have no power",
          "(not in the paper: the setting's check)", family="control"),
    Claim("r = 0.875 beats r = 1", "superiority", ("r0.875_g1", "r1_g1"), "top1", _DELTA, _DELTA_REASON,
          "+1.9 points, mean over MTNet-32/48/64/132 on HACS (Sec. 'Ratio selection')", paper_effect=1.9),
    Claim("r = 0.75 costs < 0.5 points vs r = 1", "non_inferiority", ("r0.75_g1", "r1_g1"), "top1", _DELTA,
          _DELTA_REASON + "; the margin of 'only a very small decrease'",
          "'only a very small decrease in top-1 accuracy (< 0.5%)' with 35% fewer GFLOPs"),
    Claim("r = 0.875 is best", "best_of", ("r0.875_g1", "r0.5_g1", "r0.625_g1", "r0.75_g1", "r1_g1"), "top1", _DELTA,
          _DELTA_REASON, "'the top performing ... configurations include ratios of r = 0.875' (Table 2, Fig. 5)"),
    Claim("r = 0.5 is worst", "worst_of", ("r0.5_g1", "r0.625_g1", "r0.75_g1", "r0.875_g1", "r1_g1"), "top1", _DELTA,
          _DELTA_REASON, "r = 0.5 has the lowest top-1 of Table 2's ratios"),
)

#: The chapter's setting (issue 15: its best variant converges below the ceiling; ``benchmarks/README.md``,
#: *SynthActions recipe*): the shared recipe on ``difficulty="temporal"`` (short actions, 0.1-0.5 of the clip,
#: at 0.35-2x speed), where converged runs on ``medium`` sat at 98-99%. The reference trains 16,384 distinct
#: clips per seed (at 4,096 some seeds fit their clips and stall) for 24 epochs (12,288 steps; 12 failed the
#: doubling test: r = 1 gained 2.5 points from 12 to 24), quick 4,096 clips for 3 epochs (384 steps, the
#: 10-minute budget).
MTNET_RATIO_RECIPE: dict[str, Any] = dict(SYNTH_RECIPE, difficulty="temporal",
                                          train_samples={"quick": 4096, "reference": 16384},
                                          epochs={"quick": 3, "reference": 24})

#: Variants (``r<r>_g1`` and :data:`ORDER_BLIND`) and seeds of each budget. Reference seeds 0..n-1, n
#: from the pilot (:func:`mtnet_ratio_reference_n`, at least 6); pilot seeds (100, 101) are disjoint.
#: ``control_seeds``: the positive control trains on the first that many seeds only (its effect, tens
#: of points, needs no more; the compute goes to the claims' variants), :func:`mtnet_ratio_seeds_of`.
MTNET_RATIO_BUDGETS = {
    "quick": {"ratios": (0.5, 1.0), "seeds": (0, 1, 2), "control_seeds": 3},
    "reference": {"ratios": (0.5, 0.625, 0.75, 0.875, 1.0), "seeds": tuple(range(12)), "control_seeds": 3},
}

#: The notebook's ``budget="custom"`` defaults (a parameter left at None takes these; the small,
#: easy grid the chapter ran before the protocol, about 6 minutes on a 2-core CPU).
MTNET_RATIO_CUSTOM = dict(ratios=[0.5, 0.625, 0.75, 0.875, 1.0], substreams=[1], seeds=3, epochs=7, width=0.25,
                          clip=[16, 32, 32], train_samples=640, batch_size=32, lr=0.003, dataset="synthactions",
                          data_root="", split=1, difficulty="easy")

#: The pilot seeds (disjoint from every budget's seeds) and the pilot's name for the chapter's setting
#: (:data:`MTNET_RATIO_RECIPE`) in its committed runs, ``book/results/ablation_ratio/pilot``
#: (:mod:`actionrec.experiments.convergence`: the doubling test decides the reference schedule).
MTNET_RATIO_PILOT_SEEDS = (100, 101)
MTNET_RATIO_PILOT_SETTING = "temporal, 16,384 clips"
#: The pilot that sized the reference grid: test top-1 (%) of pilot seeds 100 and 101, r = 0.5 and r = 1
#: (``benchmarks/README.md``, *SynthActions recipe*), and the recipe it ran at (:data:`MTNET_RATIO_PILOT_RECIPE`;
#: in the committed pilot: setting and epochs :data:`MTNET_RATIO_PILOT_RUNS`, a test checks the values).
MTNET_RATIO_PILOT = {"r0.5_g1": (94.43, 92.09), "r1_g1": (96.53, 97.02)}
#: The pilot's paired difference whose SD sizes n: first minus second variant of the pair.
MTNET_RATIO_PILOT_PAIR = ("r1_g1", "r0.5_g1")
#: The recipe of :data:`MTNET_RATIO_PILOT`: the first one (not :data:`MTNET_RATIO_RECIPE`); the pilot at the
#: chapter's setting replaces it when its seeds finish, and n is sized again from it.
MTNET_RATIO_PILOT_RECIPE = '"medium", 4,096 clips × 24 epochs, data seed 0'
MTNET_RATIO_PILOT_RUNS = ("medium, 4,096 clips", 24)
#: The most seeds the reference grid trains: 12 x 5 ratios (and the control on 3 seeds), runs of 12,288
#: steps, are about 51 core-hours on this CPU (about 26 hours with one run per core; the grid resumes
#: across sessions); beyond it the verdicts report the effect the run could detect instead.
MTNET_RATIO_MAX_N = 12


def mtnet_ratio_reference_n(*, delta: float = _DELTA, min_n: int = 6, max_n: int = MTNET_RATIO_MAX_N) -> dict[str, Any]:
    """Seeds of the reference grid: :func:`~actionrec.experiments.power.pilot_n` at the SD of the
    pilot's paired differences (:data:`MTNET_RATIO_PILOT_PAIR`, the pair the pilot ran; a proxy for
    every pair) and the claims' δ, capped at ``max_n``. Returns ``{"sd", "n_power", "n", "mde",
    "sentence"}``: the n the power analysis asks for (None: unreachable), the n trained, and the
    smallest difference n paired seeds detect with 80% power at the pilot's SD."""
    first, second = MTNET_RATIO_PILOT_PAIR
    d = [x - y for x, y in zip(MTNET_RATIO_PILOT[first], MTNET_RATIO_PILOT[second])]
    sd = statistics.stdev(d)
    wanted = pilot_n(sd, delta, min_n=min_n)
    n = max_n if wanted is None else min(wanted, max_n)
    mde = detectable_effect(sd, n)
    sentence = (f"pilot SD of paired differences {sd:.2f} points (n = {len(d)}, {first} − {second}, at "
                f"{MTNET_RATIO_PILOT_RECIPE}): "
                f"{wanted if wanted is not None else 'no affordable number of'} seeds would detect δ = {delta:g} with 80% power")
    if n != wanted:
        sentence += (f"; the grid is capped at {max_n} seeds (compute), which detect {mde:.1f} points at that SD: "
                     "a claim whose effect is smaller may stay inconclusive, with its power line")
    return {"sd": sd, "n_power": wanted, "n": n, "mde": mde, "sentence": sentence}


def mtnet_ratio_runs(budget: str, *, depth: int = 32, width: float = 0.25, ratios: Sequence[float] | None = None,
                     device: str = "auto") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of ``budget`` (:data:`MTNET_RATIO_BUDGETS`) on the SynthActions recipe, for
    :func:`~actionrec.experiments.setup.build_runs`: ``{variant: (config, {"variant", "r", "g"})}``,
    MTNet-``depth`` at ``width`` for every ratio (``ratios`` overrides the budget's) plus the
    positive control :data:`ORDER_BLIND` (``frame_avg2d`` at ``width``; r and g None)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r} must be one of {list(BUDGETS)}")
    base = recipe_config(f"mtnet{depth}", {}, budget=budget, device=device, recipe=MTNET_RATIO_RECIPE)
    ratios = MTNET_RATIO_BUDGETS[budget]["ratios"] if ratios is None else ratios
    runs = {name: (cfg, {"variant": name, **extra})
            for name, (cfg, extra) in mtnet_ratio_variants(base, ratios=ratios, substreams=[1], width=width).items()}
    runs[ORDER_BLIND] = (recipe_config("frame_avg2d", {"width": width}, budget=budget, device=device,
                                       recipe=MTNET_RATIO_RECIPE), {"variant": ORDER_BLIND, "r": None, "g": None})
    return runs


def mtnet_ratio_seeds_of(budget: str, seeds: Sequence[int]) -> dict[str, list[int]]:
    """``seeds_of`` for :func:`~actionrec.experiments.grid.run_grid`: the positive control
    (:data:`ORDER_BLIND`) on the first ``control_seeds`` of ``seeds`` (:data:`MTNET_RATIO_BUDGETS`)."""
    if budget not in MTNET_RATIO_BUDGETS:
        raise ValueError(f"budget={budget!r} must be one of {list(MTNET_RATIO_BUDGETS)}")
    return {ORDER_BLIND: list(seeds)[:MTNET_RATIO_BUDGETS[budget]["control_seeds"]]}


def mtnet_ratio_variants(base: TrainConfig, *, ratios: Sequence[float], substreams: Sequence[int],
                         width: float) -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of Table 2 for :func:`~actionrec.experiments.setup.build_runs`: ``{f"r{r:g}_g{g}":
    (base with model_kwargs {r, g, width, sr, downsample, streams}, {"r": r, "g": g})}`` for every g
    of ``substreams``, then every r of ``ratios`` (``base`` names the MTNet depth, e.g.
    ``model="mtnet32"``). The architecture reading (:data:`~actionrec.models.mtnet.MTNET_READING`)
    is written into model_kwargs, so the run tags (config hashes) of runs of another reading differ
    and a finished run of one is never taken for the other."""
    return {f"r{r:g}_g{g}": (replace(base, model_kwargs=dict(r=r, g=g, width=width, **MTNET_READING)), dict(r=r, g=g))
            for g in substreams for r in ratios}


def mtnet_readings() -> list[dict[str, str]]:
    """Every candidate architecture reading: the 2 x 2 x 2 combinations of
    :data:`~actionrec.models.factory.MTNET_READINGS` as ``{"sr", "downsample", "streams"}`` dicts."""
    keys = list(MTNET_READINGS)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(MTNET_READINGS[k] for k in keys))]


def mtnet_readings_table(*, num_classes: int = MTNET_TABLE3_CLASSES, r: float = 0.875,
                         table3: Mapping[tuple[str, int], tuple[float, float]] = MTNET_TABLE3) -> list[dict[str, Any]]:
    """Every reading of :func:`mtnet_readings` against Table 3's params (width 1, ``r``; ``table3``:
    the rows to count, all seven by default; about 20 s on the meta device).

    One dict per reading: ``sr, downsample, streams, params`` (``{(model, g): M}``), ``errors``
    (``{(model, g): ours / paper - 1}``), ``max_abs_error`` (over the seven rows), ``within_10``
    (every row within +-10 %), ``substream`` (``{model: g = 8 vs g = 1 change}``, beside the text's
    :data:`MTNET_SUBSTREAM_TEXT`; not in the score). Sorted by ``max_abs_error``, best first.
    """
    rows = []
    for reading in mtnet_readings():
        params = {key: model_complexity(key[0], num_classes=num_classes, r=r, g=key[1], **reading)["params_M"]
                  for key in table3}
        errors = {key: params[key] / table3[key][0] - 1 for key in table3}
        worst = max(abs(e) for e in errors.values())
        rows.append({**reading, "params": params, "errors": errors, "max_abs_error": worst,
                     "within_10": worst <= 0.10,
                     "substream": {m: params[m, 8] / params[m, 1] - 1 for m in MTNET_SUBSTREAM_TEXT
                                   if (m, 8) in params and (m, 1) in params}})
    return sorted(rows, key=lambda row: row["max_abs_error"])


def best_mtnet_reading(table: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The reading of ``table`` (:func:`mtnet_readings_table`) with the smallest max ``|error|``, with a
    ``sentence`` naming it, its worst row, whether every row is within +-10 %, and whether it is the
    default reading (:data:`~actionrec.models.mtnet.MTNET_READING`). Readings whose scores are equal
    (to 1e-9) tie, and the tie goes to the one listed first by :func:`mtnet_readings` (each option's
    first value is the layout the network had before; the evidence outside Table 3 that supports it
    is stated in ``actionrec.models.mtnet``); ``ties`` lists them all."""
    low = min(row["max_abs_error"] for row in table)
    order = [tuple(r.values()) for r in mtnet_readings()]
    tied = [row for row in table if row["max_abs_error"] <= low + 1e-9]
    tied.sort(key=lambda row: order.index(tuple(row[k] for k in MTNET_READINGS)))
    top = tied[0]
    reading = {k: top[k] for k in MTNET_READINGS}
    (model, g), err = max(top["errors"].items(), key=lambda kv: abs(kv[1]))
    name = ", ".join(f'{k}="{v}"' for k, v in reading.items())
    sentence = (f"Closest to Table 3: {name}, max |error| {100 * top['max_abs_error']:.1f}% "
                f"({model}, g = {g}: {100 * err:+.1f}%); "
                + ("every row within ±10%. " if top["within_10"] else "not every row within ±10%. ")
                + ("It is the default reading." if reading == MTNET_READING else
                   "The default reading is " + ", ".join(f'{k}="{v}"' for k, v in MTNET_READING.items()) + "."))
    if len(tied) > 1:
        sentence += " Tied on the score: " + "; ".join("/".join(row[k] for k in MTNET_READINGS) for row in tied) + "."
    return {**reading, "row": top, "ties": [{k: row[k] for k in MTNET_READINGS} for row in tied],
            "is_default": reading == MTNET_READING, "sentence": sentence}
