# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # SRTG: where in a residual block should the temporal gate sit?
#
# *Learn to cycle* (Stergiou & Poppe {cite}`stergiou2020srtg`) adds to a 3D-CNN block a **Squeeze and Recursion**
# path — the features averaged over $H, W$ give one vector per frame, an LSTM runs over those
# vectors — and a **temporal gate** that fuses the LSTM's output $a^*$ back into the features only
# when the two sequences are *cycle-consistent*: every frame's soft nearest neighbour in the other
# sequence (eq. 4) lands back on the same time index (eq. 5), in both directions. The gate is
# decided per clip. The paper's Table 1 places one SRTG in every residual block of a 34-layer r3d
# and r(2+1)d at one of four spots (Fig. 2b):
#
# ```
# Simple block:   x ─[Start]─ conv ─[Mid]─ conv ─ + ─ relu ─[Final]─→
#                 └──────────────[Res]────────────┘
# ```
#
# and finds, on HACS trained from scratch, that **every placement beats the network without SRTG**,
# that the effect is "stronger when the filtering is applied later" (Final > Res > Start, Mid), and
# that **Final is best** (+3.8 points for r3d, +4.7 for r(2+1)d). This chapter re-runs that
# ablation on SynthActions and decides, from paired seeds and claims declared before the runs,
# whether each statement holds here. It shows the **reference results** first (converged runs,
# committed under `book/results/ablation_srtg_placement/` with their provenance), then **your run**
# at the chosen `budget`, then what the gates did (frame by frame: `srtg_cycle_consistency`).
#
# **Which gate the placement rows use.** With the paper's gate taken literally (`gate="hard"`: fuse
# only when the clip is cycle-consistent) no gate opens at initialisation, in any placement, so the
# LSTMs get no gradient and the gates stay closed: a closed gate passes its input unchanged, and such
# a "placement" row is the network without SRTG with a different random initialisation. The authors
# report the same: their gates stayed closed ("inactive") for the first 30–50 epochs, "thus the
# weights of the LSTM would not be completely random when the gates are indeed active"
# ([issue #2](https://github.com/alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates/issues/2) of
# the official repository) — i.e. they trained with the LSTM output fused (Fig. 2a's *inactive*
# gate); their `srtg_*` networks are built with `gates=False`, their released models named
# `srtg_r3d_*_gates_False`. So the **placement rows** here run **`gate="open"`**: $a^*$ fused on
# every clip at every spot, so the rows differ in placement only. (`"soft"`, our differentiable blend
# weighted by the consistency score, is selectable in `budget="custom"` but has no source in the
# paper, and its weight depends on the placement.) The **paper-literal hard gate** is one extra row per
# backbone, `final-hard` (Table 1's best placement with `gate="hard"`): the chapter measures how often
# its gates opened on the test clips and that, while closed, it *is* the network without SRTG. Only
# the `none` row and the placement rows enter the paper's claims.
#
# **Top** (Bottleneck blocks, depth 50/101 only, `budget="custom"`): "Activations of the first
# convolution are used by the LSTM, with fused features being used by the final convolution"
# (Sec. 3.3) — the LSTM reads conv1's output and the gate acts on conv3's input; where conv2 strides
# in time, $a^*$ and $\mathrm{pool}(a)$ are average-pooled to conv3's frames (`actionrec.models.resnet3d`;
# the official code's Top, fused at conv1's output, is `srtg_top_fusion="conv2"`).
#
# **Budgets.** `budget="quick"` (the default, about 10 minutes on a 2-core CPU) trains 3 of the 24
# reference epochs on the plain r3d-18, r3d-18 with SRTG Final and the positive control, three paired
# seeds: far from converged, it must resolve the positive control, shows every seed and says which
# claims it cannot decide (every other placement, the r(2+1)d claims, the hard-gate row).
# `budget="reference"` renders the committed reference results; with `-p rerun True` it retrains
# them (hours on a CPU; runs resume) and compares its rows with the committed ones.
# `budget="custom"` trains what the parameters below say (real datasets, a GPU, other sizes).

# %% tags=["parameters", "hide-input"]
budget = "quick"  # "quick" (about 10 min on a 2-core CPU) | "reference" (the committed results) | "custom" (the parameters below)
rerun = False  # budget "reference": retrain the reference grid and compare it with the committed rows
publish = False  # with rerun: write the results to book/results/ablation_srtg_placement (a clean git tree: run from a worktree)
extra_seeds = 0  # budget "reference" with rerun: seeds beyond the declared n (they extend n)
tolerance = 1.0  # rerun: largest |difference| (points) of a variant's mean top-1 from the committed one
# budget "custom" only (None: the default in brackets; quick / reference refuse them):
backbones = None  # "r3d" (3x3x3 convs) and/or "r2plus1d" ((2+1)D convs) (["r3d", "r2plus1d"])
depth = None  # 18 or 34 (Simple blocks), 50 or 101 (Bottleneck: also "top" and "end") (18)
placements = None  # none: the network without SRTG (["none", "start", "mid", "res", "final"])
gate = None  # placement rows: "open" (always fuse: the authors' training) | "soft" (ours) | "hard" (paper) ("open")
hard_row = None  # one extra row with the paper's hard gate at this placement; "": none ("final")
seeds = None  # training seeds per configuration, 0..n-1 (3)
epochs = None  # passes over the training split (5)
width = None  # channel multiplier of the ResNet widths, 64..512 -> 8..64 (0.125)
clip = None  # T, H, W of the training clips ([16, 32, 32])
train_samples = None  # training clips, val/test a quarter each; real datasets: 0 means the whole split (512)
batch_size = None  # clips per step (32)
lr = None  # AdamW peak learning rate, cosine schedule (0.003)
dataset = None  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos) ("synthactions")
data_root = None  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo ("")
split = None  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one) (1)
difficulty = None  # SynthActions only: "easy" | "medium" | "hard" | "temporal" ("easy")
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_srtg_placement; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# Parameters are checked first: a bad value fails here, naming it, before anything trains. Runs go to
# `out_dir/runs/<backbone>-<placement>-<tag>/seed_<k>` (hard-gate row: `<backbone>-<hard_row>-hard-<tag>`; the
# tag hashes every setting, gate and Top's fusion site included); a finished run is reused only when
# its config *and* its code fingerprint match.

# %% tags=["hide-input"]

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.experiments import params as P
from actionrec.experiments import published
from actionrec.experiments.chapter import (claims_table, decide, plot_data, reference_command, reference_header,
                                           rerun_report, variant_table, verdict_text)
from actionrec.experiments.grid import run_threads, train_grid, trial_config
from actionrec.experiments.setup import base_config, build_runs, data_kwargs, dataset_name, preview_clips, split_dataset
from actionrec.experiments.summary import summarize, summarize_by, write_results
from actionrec.models import build_model
from actionrec.papers.srtg import (ORDER_BLIND, SRTG_HARD_CHECKS, SRTG_HARD_ROW, SRTG_PLACEMENT_BUDGETS,
                                   SRTG_PLACEMENT_CLAIMS, SRTG_PLACEMENT_CUSTOM, SRTG_PLACEMENT_GATE,
                                   add_gate_open_rates, gate_open_sentence, hard_gate_check, hard_gate_sentence,
                                   srtg_model_kwargs, srtg_placement_runs, srtg_placement_variants, srtg_placements)
from actionrec.papers.synthactions import SYNTH_RECIPE
from actionrec.utils.checks import check_bool, check_choice, check_float, check_int, check_list
from actionrec.utils.paths import make_out_dir

if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute (nothing published)
    budget, rerun, publish, backbones, placements, seeds = "custom", False, False, ["r3d"], ["none", "final"], 2
    epochs, width, clip, train_samples, batch_size = 1, 0.125, [16, 32, 32], 64, 16
budget, custom = P.budget_params(budget, SRTG_PLACEMENT_CUSTOM, backbones=backbones, depth=depth, placements=placements,
                                 gate=gate, hard_row=hard_row, seeds=seeds, epochs=epochs, width=width, clip=clip,
                                 train_samples=train_samples, batch_size=batch_size, lr=lr, dataset=dataset,
                                 data_root=data_root, split=split, difficulty=difficulty)  # quick/reference: None only
(backbones, depth, placements, gate, hard_row, seeds, epochs, width, clip, train_samples, batch_size, lr, dataset,
 data_root, split, difficulty) = custom.values()
rerun, publish = check_bool("rerun", rerun), check_bool("publish", publish)
extra_seeds, tolerance = check_int("extra_seeds", extra_seeds, min_value=0), check_float("tolerance", tolerance, positive=True)
backbones = check_list("backbones", backbones, item="str", choices=["r3d", "r2plus1d"])
depth = check_choice("depth", depth, [18, 34, 50, 101])
placements = check_list("placements", placements, item="str", choices=srtg_placements(depth))
gate = check_choice("gate", gate, ["open", "soft", "hard"])
hard_row = check_choice("hard_row", hard_row, ["", *srtg_placements(depth)[1:]])
seeds, epochs, width, clip, train_samples, batch_size, lr, dataset, data_root, split, difficulty, device, smoke = (
    P.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                   batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root, split=split,
                   difficulty=difficulty, device=device, smoke=smoke).values())  # shared rules, values normalised
clip = P.check_clip(clip, min_size=(16, 32, 32), why="the ResNets need T >= 16 and H, W >= 32")
if "none" not in placements:
    raise ValueError(f"parameter placements={placements!r} must include 'none' (the network without SRTG): "
                     "every claim compares against it")
if publish and not (budget == "reference" and rerun):
    raise ValueError("publish=True writes a retrained reference: use it with budget='reference' and rerun=True")

if budget != "custom":  # the recipe fixes the data, the networks and the gate
    dataset, clip, difficulty = "synthactions", list(SYNTH_RECIPE["clip"]), SYNTH_RECIPE["difficulty"]
    depth, width, gate = 18, 0.125, SRTG_PLACEMENT_GATE
    backbones = list(SRTG_PLACEMENT_BUDGETS[budget]["backbones"])
    hard_row = SRTG_PLACEMENT_BUDGETS[budget]["hard_row"] or ""
train_here = budget != "reference" or rerun

OUT = make_out_dir(out_dir, "ablation_srtg_placement")
REF = published.results_dir("ablation_srtg_placement")
print(f"budget {budget!r}" + (" (retraining the reference)" if budget == "reference" and rerun else "")
      + f"; results -> {OUT}; committed reference: {REF}")

# %% [markdown]
# ## The claims, declared before the runs
#
# Each claim names its variants (`<backbone>-<placement>`, gate `"open"`), its kind, δ (the smallest
# difference in points that matters here, with the reason) and Table 1's numbers. A claim is decided
# on the paired differences over seeds (seed *k* of every variant trains on the same rendered clips
# in the same order), Holm-corrected over the paper's claims: *holds*, *reversed*, *no effect larger
# than δ* or *inconclusive* (`actionrec.experiments.protocol` has the rule of each kind). The
# **positive control** (the plain r3d against an order-blind network, which cannot exceed 9/16 on
# SynthActions' time-reversed classes; a family of its own, Holm-corrected separately) checks that
# the setting can resolve anything at all. Where Table 1's own effect is smaller than what the seeds
# can detect, the verdict says so.

# %% tags=["hide-input"]
display(claims_table(SRTG_PLACEMENT_CLAIMS))
display(Markdown(f"**Reference n.** Seeds {list(SRTG_PLACEMENT_BUDGETS['reference']['seeds'])} "
                 f"(n = {len(SRTG_PLACEMENT_BUDGETS['reference']['seeds'])}, the protocol's minimum, until a pilot on "
                 "disjoint seeds (100+) sizes it when the reference runs are made); quick seeds "
                 f"{list(SRTG_PLACEMENT_BUDGETS['quick']['seeds'])}. Recipe: "
                 + ", ".join(f"{k} {v}" for k, v in SYNTH_RECIPE.items()) + "; r3d-18 / r(2+1)d-18 at width 0.125."))

# %% [markdown]
# ## Reference results
#
# Converged runs of every placement of both backbones, the hard-gate rows and the control at the
# reference recipe, committed with their provenance; a reference whose fingerprints no longer match
# the code is marked **stale** (`make check-references`).

# %% tags=["hide-input"]
ref = published.load(REF, claims=SRTG_PLACEMENT_CLAIMS)
display(Markdown(reference_header(ref, REF, "ablation_srtg_placement", declared_seeds=SRTG_PLACEMENT_BUDGETS["reference"]["seeds"])))
if ref is not None:
    display(variant_table(ref["rows"], extra=("gmacs", "params_m")))
    display(Markdown(verdict_text(ref["verdicts"])))
    viz.plot_protocol(**plot_data(ref["rows"], verdicts=ref["verdicts"], differences=ref["differences"],
                                  curves=ref["curves"]), title="Reference")
    plt.show()

# %% [markdown]
# ## Your run
#
# **The data.** Stick figures performing 16 actions at ×0.5–×2 speed, each in a random window
# covering 30–100% of the clip. Seven pairs of classes are exact time reversals of each other (squat
# down ↔ stand up, walk left ↔ walk right, …), so a model has to use the order of frames. The recipe
# (quick and reference): `difficulty="medium"` (clutter, pan, noise), 4,096 training clips per seed
# (each seed draws its own, shared by every variant), 2,048 test clips (evaluation noise about ±1
# point, below the seed noise); how it was found and why its runs converge: `benchmarks/README.md`,
# *SynthActions recipe*. The networks are 18-layer ResNets at an eighth of the width (8..64 channels).

# %% tags=["hide-input"]
T, H, W = clip
if budget == "custom":
    train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
    base = base_config(dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples, epochs=epochs,
                       batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
    variants = srtg_placement_variants(base, backbones=backbones, depth=depth, placements=placements, width=width,
                                       gate=gate, hard_row=hard_row or None)  # placement rows, then `<hard_row>-hard`
    variants[ORDER_BLIND] = (base_config(model="frame_avg2d", model_kwargs={"width": width}, dataset=dataset,
                                         dataset_kwargs=train_kwargs, train_samples=train_samples, epochs=epochs,
                                         batch_size=batch_size, lr=lr, device=device),
                             {"variant": ORDER_BLIND, "backbone": "frame_avg2d", "placement": None, "gate": None,
                              "config": ORDER_BLIND})  # the positive control
    run_seeds = list(range(seeds))
else:
    variants = srtg_placement_runs(budget, device=device)
    train_kwargs = next(iter(variants.values()))[0].dataset_kwargs
    run_seeds = list(SRTG_PLACEMENT_BUDGETS[budget]["seeds"])
    run_seeds += list(range(max(run_seeds) + 1, max(run_seeds) + 1 + extra_seeds))
data_seed = "seed" if dataset == "synthactions" else "config"  # SynthActions: seed k draws its own clips
preview, shown = preview_clips(dataset, train_kwargs)  # a few training clips
fig = viz.clip_grid(**shown, every=2)
plt.show()

# %% [markdown]
# Every (variant, seed) trains one run per core; seed *k* of every variant sees the same clips in
# the same order. A run whose test top-1 stays below twice chance counts as *not trained* ("k/n
# trained"): it stays in the statistics, never dropped.

# %% tags=["hide-input"]
rows, wall = [], 0.0
if train_here:
    configs, extras = build_runs(variants, num_classes=preview.num_classes, input_shape=(3, T, H, W))  # + GMACs, params
    rows, wall = train_grid(configs, run_seeds, OUT / "runs", extras=extras, order="seed", on_diverge="record",
                            data_seed=data_seed)
    rows = published.mark_trained(rows, chance=1 / preview.num_classes)
else:
    display(Markdown("`budget=\"reference\"` without `rerun`: nothing trains here; the reference results are above."))

# %% [markdown]
# ### Top-1 per variant, every seed
#
# Mean, 95% CI (Student's $t$ over seeds), SD and every seed's value; *max late gain*: the largest
# rise of val top-1 over a run's last quarter of epochs (still learning?).

# %% tags=["hide-input"]
if rows:
    display(variant_table(rows, extra=("gmacs", "params_m", "wall_s")))

# %% [markdown]
# ### The verdicts of your run
#
# The claims whose variants this budget ran, decided as above; the others are listed with the reason.
# At `budget="quick"` that is the positive control and *r3d: Final beats no SRTG*. Quick trains 3 of
# the 24 reference epochs on three paired seeds, far from converged: it must resolve the control; the
# headline's CI is wide, and *inconclusive* there says the run was too small, not that the claim failed.
# In 3 epochs a seed can stay on the plateau at chance that every network here starts on (the
# "trained" column counts it; `benchmarks/README.md`, section *SynthActions recipe*): a
# gated or multi-scale network that stalls there says nothing yet about its unit.
#
# Below them: every seed's top-1 over the mean and its CI (`strip.png`), each claim's paired differences
# and CI against ±δ (`claims.png`) and every run's validation curve (`run_curves.png`), saved in the
# output folder.

# %% tags=["hide-input"]
verdicts = differences = None
if rows:
    verdicts, differences, text = decide(SRTG_PLACEMENT_CLAIMS, rows)
    display(Markdown(text))
    figs = viz.plot_protocol(**plot_data(rows, verdicts=verdicts, differences=differences),
                             seeds=run_seeds, title=f"Your run ({budget})")
    viz.save_figures(figs, OUT)
    plt.show()
    write_results(rows, summarize(rows, by=("variant",), metric="top1"), OUT,
                  extra={"verdicts": None if verdicts is None else verdicts.to_dict("records"), "wall_minutes": wall / 60})

# %% [markdown]
# ### Rerun against the committed reference
#
# `budget="reference"`, `rerun=True`: each variant's retrained mean top-1 beside the committed one
# (same CPU kernels and threads repeat bit for bit; elsewhere runs drift, means much less): passes
# within `tolerance` points; `publish=True` writes `book/results/ablation_srtg_placement/` (clean tree).

# %% tags=["hide-input"]
if budget == "reference" and rerun and rows:
    if ref is not None:
        table, text = rerun_report(ref["rows"], rows, tolerance=tolerance)
        display(table, Markdown(text))
    if publish:
        path = published.publish(REF, rows, claims=SRTG_PLACEMENT_CLAIMS, verdicts=verdicts, differences=differences,
                                 threads=run_threads(configs.values()), command=reference_command("ablation_srtg_placement"))
        print(f"published -> {path}")

# %% [markdown]
# ## How often did the gates open?
#
# For every network of your run with SRTG: per gate, the fraction of test clips for which it fused
# (`gate_open`: always 100% for the open gates of the placement rows) and for which the paper's test
# passed (`gate_consistent`: what a hard gate would have decided), averaged over the gates and over
# seeds, on the first 512 test clips of each seed's data (the clips that run was tested on). For the
# hard-gate row, also its logits against those with every SRTG bypassed (gates `"closed"`: the network
# without SRTG; `actionrec.papers.srtg.hard_gate_check`). Below it, the Table 1 analogue of your run:
# means over seeds (CIs and per-seed values: above), *val AUC* the mean val top-1 over the epochs.

# %%
placement_rows = [r for r in rows if r.get("placement") is not None]  # without the order-blind control
gated = [r for r in placement_rows if r["placement"] != "none"]
gate_cfg = variants[gated[0]["variant"]][0] if gated else None
n_gate = min(512, gate_cfg.test_samples) if gate_cfg is not None and gate_cfg.test_samples else None  # None: the whole split
for s in run_seeds if gated else []:  # each seed's own test clips
    test_set = split_dataset(trial_config(gate_cfg, s, data_seed), "test", num_samples=n_gate)
    add_gate_open_rates([r for r in gated if r["seed"] == s], torch.utils.data.DataLoader(test_set, batch_size=64))
if placement_rows:
    df = pd.DataFrame(placement_rows)
    pct_cols = [c for c in ("top1", "val_auc", "gate_open", "gate_consistent") if c in df]
    df[pct_cols] = 100 * df[pct_cols].astype(float)
    display(df.groupby(["backbone", "config", "gate"], sort=False)
              .agg(n=("seed", "size"), **{c: (c, "mean") for c in pct_cols}, gmacs=("gmacs", "first"),
                   params_m=("params_m", "first")).round(3))
    summary = summarize(placement_rows, by=("backbone", "config"), metric="top1")
    consistent = summarize_by(placement_rows, ("backbone", "config"), "gate_consistent", present_only=True)
    labels = list(dict.fromkeys(r["config"] for r in placement_rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    viz.plot_grouped_bars(summary, label_key="config", group_key="backbone", labels=labels, ax=axes[0],
                          title=f"ResNet-{depth} on {dataset_name(dataset)} ({T}×{H}×{W}): test top-1")
    if consistent:
        viz.plot_grouped_bars(list(consistent.values()), label_key="config", group_key="backbone",
                              labels=[c for c in labels if c != "none"], ax=axes[1],
                              ylabel="test clips cycle-consistent (%)", title="Paper's test passed (mean over gates)")
    else:
        axes[1].set_axis_off()
    fig.tight_layout()
    fig.savefig(OUT / "placements.png", dpi=120, bbox_inches="tight")
    plt.show()
    if gate_open_sentence(placement_rows):
        display(Markdown(gate_open_sentence(placement_rows)))
elif not train_here:
    display(Markdown("Nothing trained here: the gate statistics need the trained networks (`-p rerun True`)."))

# %% [markdown]
# ## The paper's hard gate: open rate and equivalence to "no SRTG"
#
# For every trained `-hard` network: how often its gates opened on the test clips, and the largest
# difference between its logits and those with every SRTG bypassed. Exactly 0 on the clips whose gates
# stayed closed is the measurement behind "this row is the network without SRTG"; its top-1 against
# `none`, paired over seeds, is then decided as an *equivalence* within δ (our check, a Holm family of
# its own, not a claim of the paper). Where this budget trains no hard-gate row (`quick`), the check
# runs on an *untrained* hard-gated network: a gate that never opens passes no gradient to its LSTM.

# %%
hard_rows = rows if any(r.get("gate") == "hard" for r in rows) else (ref["rows"] if ref is not None else [])
hard_verdicts = decide(SRTG_HARD_CHECKS, hard_rows)[0] if len(hard_rows) else None
if hard_gate_sentence(rows):
    display(Markdown(hard_gate_sentence(rows)))
    print("per run:", [(r["variant"], r["seed"], f"open {100 * r['gate_open']:.2f}%", f"max |diff| {r['bypass_max_diff']:.3g}")
                       for r in rows if r.get("bypass_max_diff") is not None])
elif train_here and gate_cfg is not None:  # no trained hard row: the check at initialisation
    torch.manual_seed(run_seeds[0])
    net = build_model(f"{backbones[0]}_{depth}", num_classes=preview.num_classes,
                      **srtg_model_kwargs(hard_row or SRTG_HARD_ROW, width=width, gate="hard"))
    test_set = split_dataset(trial_config(gate_cfg, run_seeds[0], data_seed), "test", num_samples=n_gate)
    check = hard_gate_check(net, torch.utils.data.DataLoader(test_set, batch_size=64))
    display(Markdown(f"**An untrained {backbones[0]}-{depth} with hard gates at {hard_row or SRTG_HARD_ROW}** (seed "
                     f"{run_seeds[0]}, {check['clips']} test clips): gates open for {100 * check['open']:.2f}% of (gate, "
                     f"clip) pairs, {100 * check['clips_any_open']:.1f}% of the clips had any gate open; its logits "
                     f"differ from those with every SRTG bypassed by at most {check['max_abs_diff']:.3g}."))
if hard_verdicts is not None:
    display(Markdown(("From the committed reference: " if hard_rows is not rows else "") + verdict_text(hard_verdicts)))

# %% [markdown]
# ## Reading the result
#
# The paper trains 34-layer networks at full width from scratch on HACS (≈500k clips, 200 classes);
# here 18-layer networks at an eighth of the width (within a CPU's reach) learn 16 synthetic classes
# from 4,096 small clips per seed. Verdicts are computed from the numbers above, never typed in, each with
# the smallest difference the run could have seen. Table 1's smallest gaps (Start and Mid over no
# SRTG, 0.7 points) are below δ: *every placement beats no SRTG* can hold here only if the effect is
# larger on this data than on HACS. Things to keep in mind:
#
# * **Which rows are which.** `none` is the network without SRTG. The rows named after a placement
#   (`start`, `mid`, `res`, `final`; `top`, `end` at depth 50/101) hold an SRTG with gate `"open"`
#   in every residual block — fused on every clip, as the authors trained (`actionrec.papers.srtg`).
#   These rows carry the claims; `final-hard`, Final with the paper's gate taken literally, shows
#   what that gate does, not which placement is best.
# * **The hard gate decides per clip whether SRTG does anything.** With the paper's rule (open only
#   when *every* frame cycles back, in both directions) a gate can stay closed on (almost) every clip:
#   when the LSTM's output changes little from frame to frame, each frame's soft nearest neighbour
#   (eq. 4) is close to the sequence mean, and only short sequences (the 2-frame last stage) cycle
#   back at all. `gate_consistent` says how often the test passed, also in the open-gated networks;
#   the `srtg_cycle_consistency` chapter takes the mechanism apart frame by frame. Where the check
#   above finds a difference of 0, `final-hard` is the network without SRTG, and its gap to `none`
#   is the spread between random initialisations.
# * `budget="custom"`: `-p gate soft` runs the placement rows with the differentiable soft gate
#   instead (our option: the fused features weighted by the consistency score); `-p gate hard` runs
#   every placement with the paper's gate, `-p hard_row ''` drops the extra row.
# * The official code's gate never opens, for a different reason (an in-place `scatter_` zeroes its
#   test; see `shared/papers/NOTES.md`), and its released networks do not use it (`gates=False`).
#
# To run closer to the paper: `-p budget custom -p depth 34 -p width 1.0 -p clip '[16, 112, 112]'
# -p epochs 30 -p seeds 6` on a GPU (CUDA and mixed precision are used automatically), or on real
# videos: `-p budget custom -p dataset hmdb51 -p data_root /data/HMDB-51 -p train_samples 0` (README,
# "Running on real data").
