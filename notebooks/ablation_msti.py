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
# # MSTI: multi-scale spatial *and* temporal kernels, and attention across the scales
#
# The MSTI tube (Wu et al., IJCAI 2020 {cite}`wu2020msti`) is a bottleneck residual unit whose middle convolution looks
# at several scales at once. The reduced features are cut into $N = 4$ channel groups; in the
# *spatial* branch group 1 gets a 1×1×1 conv and group $i > 1$ a 1×3×3 conv of its own input *plus
# the previous group's output* (eq. 1–2), so the four outputs see 1, 3, 5 and 7 pixels; the *temporal*
# branch does the same with 3×1×1 convs, so its outputs see 1, 3, 5 and 7 frames. The cross-scale
# attention weighted (CAW) blocks (eq. 4–7) then mix, per group, the spatial and temporal outputs
# (and the previous group's weighted output), pool them to one vector, and rescale each group's
# channels by a sigmoid of it; the tube returns the sum of both branches (eq. 8):
#
# ```
# x ─ 1×1×1 reduce ─┬─ spatial  stepped 1×3×3 → S_1..S_4 (1, 3, 5, 7 px) ─┬─ CAW_S → S*_i ─┐
#                   └─ temporal stepped 3×1×1 → T_1..T_4 (1, 3, 5, 7 fr) ─┴─ CAW_T → T*_i ─┴─ concat(S*) + concat(T*)
#                                                                            → 1×1×1 restore (+ x)
# ```
#
# Table 2 ablates the tube against **P3D-B** (a 1×3×3 and a 3×1×1 conv in parallel, summed) on
# UCF-101 / HMDB-51 after Kinetics pre-training: multi-scale *temporal* convolution, **MS(T)**,
# 88.4 / 64.2; multi-scale *spatial*, **MS(S)**, 89.6 / 64.7; both, **MS(ST)**, 90.7 / 67.3; the full
# tube with CAW, **MSTI**, 92.8 / 70.4; P3D-B 86.9 / 60.8. Its claims: **every multi-scale variant
# beats P3D-B**, **MS(ST) beats MS(T) and MS(S)**, and **the full MSTI tube is best**.
#
# **Which units these are.** The paper does not draw MS(T) and MS(S). We read them, as Sec. 4.2
# does, as steps away from its baseline — P3D-B, "the only parallel structure in all three P3Ds", with
# gains reported "compared to the P3D-B baseline" — so every row keeps P3D-B's two parallel branches
# and changes one thing at a time:
#
# | unit | spatial branch | temporal branch | CAW |
# |---|---|---|---|
# | P3D-B | 1×3×3 conv | 3×1×1 conv | – |
# | MS(T) | 1×3×3 conv | stepped 3×1×1 (eq. 2: 1, 3, 5, 7 frames) | – |
# | MS(S) | stepped 1×3×3 (eq. 1: 1, 3, 5, 7 px) | 3×1×1 conv | – |
# | MS(ST) | stepped 1×3×3 | stepped 3×1×1 | – |
# | MSTI | stepped 1×3×3 | stepped 3×1×1 | eq. 4–7 |
#
# The other reading — the stepped branch *alone*, a unit with no temporal (MS(S)) or no spatial
# (MS(T)) conv at all — would make both rows structurally weaker than P3D-B, which the paper reports
# them beating; the library keeps those tubes as `ms_s_only` / `ms_t_only`, and this chapter runs
# the five rows of the table above.
#
# This chapter swaps the unit of one small MSTI-Net among them on the embedded SynthActions dataset
# and decides, from paired seeds and claims declared before the runs, whether each statement holds
# here. It shows the **reference results** first (converged runs, committed under
# `book/results/ablation_msti/` with their provenance), then **your run** at the chosen `budget`,
# then Table 2's analogue, the costs and what each unit can see.
#
# **Budgets.** `budget="quick"` (the default, about 10 minutes on a 2-core CPU) trains 3 of the 24
# reference epochs on the headline pair, P3D-B and MSTI, and the positive control, three paired
# seeds: far from converged, it must resolve the positive control, shows every seed and says which
# claims it cannot decide (every claim that needs MS(T), MS(S) or MS(ST)).
# `budget="reference"` renders the committed reference results; with `-p rerun True` it retrains
# them (hours on a CPU; runs resume) and compares its rows with the committed ones.
# `budget="custom"` trains what the parameters below say (real datasets, a GPU, other sizes).

# %% tags=["parameters", "hide-input"]
budget = "quick"  # "quick" (up to 10 min on a 2-core CPU) | "reference" (the committed results) | "custom" (the parameters below)
rerun = False  # budget "reference": retrain the reference grid and compare it with the committed rows
publish = False  # with rerun: write the results to book/results/ablation_msti (a clean git tree: run from a worktree)
extra_seeds = 0  # budget "reference" with rerun: seeds beyond the declared n (they extend n)
tolerance = 1.0  # rerun: largest |difference| (points) of a variant's mean top-1 from the committed one
# budget "custom" only (None: the default in brackets; quick / reference refuse them):
variants = None  # Table 2's units; the order-blind control is added (["p3d_b", "ms_t", "ms_s", "ms_st", "msti"])
seeds = None  # training seeds per variant, 0..n-1 (3)
epochs = None  # passes over the training split (6)
width = None  # channel multiplier of the MSTI-Net widths, 64..512 -> 16..128 (0.25)
clip = None  # T, H, W of the clips ([16, 32, 32])
train_samples = None  # training clips, val a quarter; real datasets: 0 means the whole split (896)
test_samples = None  # test clips (the verdict's numbers); real datasets: 0 means the whole split (512)
batch_size = None  # clips per step (16)
lr = None  # AdamW peak learning rate, cosine schedule (0.003)
dataset = None  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos) ("synthactions")
data_root = None  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo ("")
split = None  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one) (1)
difficulty = None  # SynthActions only: "easy" | "medium" | "hard" | "temporal" ("easy")
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_msti; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# The parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains (lists may also be given as strings, as papermill's `-p variants '["p3d_b", "msti"]'` passes
# them). Every run writes its checkpoint, metrics log and result under
# `out_dir/runs/<variant>-<tag>/seed_<k>`, where the tag hashes every other setting; a finished run is
# loaded instead of retrained only when its config *and* its code fingerprint match (model, initial
# weights, first training step), so re-running only redraws, and changed code retrains.

# %% tags=["hide-input"]

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.experiments import params as P
from actionrec.experiments import published
from actionrec.experiments.chapter import (claims_table, decide, plot_data, reference_command, reference_header,
                                           rerun_report, variant_table, verdict_text)
from actionrec.experiments.grid import run_threads, train_grid
from actionrec.experiments.setup import base_config, build_runs, data_kwargs, dataset_name, preview_clips
from actionrec.experiments.summary import summarize, write_results
from actionrec.papers.msti import (MSTI_BUDGETS, MSTI_CLAIMS, MSTI_CUSTOM, MSTI_VARIANT_PAPER, ORDER_BLIND,
                                   msti_blind_warning, msti_input_support, msti_runs, msti_table)
from actionrec.papers.synthactions import SYNTH_RECIPE
from actionrec.utils.checks import check_bool, check_float, check_int, check_list
from actionrec.utils.paths import make_out_dir

PAPER = MSTI_VARIANT_PAPER  # Table 2: UCF-101 and HMDB-51 top-1 per variant
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute (nothing published)
    budget, rerun, publish, variants, seeds, epochs = "custom", False, False, ["p3d_b", "msti"], 2, 1
    width, clip, train_samples, test_samples, batch_size = 0.125, [16, 32, 32], 32, 32, 16
budget, custom = P.budget_params(budget, MSTI_CUSTOM, variants=variants, seeds=seeds, epochs=epochs, width=width,
                                 clip=clip, train_samples=train_samples, test_samples=test_samples,
                                 batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root, split=split,
                                 difficulty=difficulty)  # custom: None -> the default; quick/reference: must be None
(variants, seeds, epochs, width, clip, train_samples, test_samples, batch_size, lr, dataset, data_root, split,
 difficulty) = custom.values()
rerun, publish = check_bool("rerun", rerun), check_bool("publish", publish)
extra_seeds, tolerance = check_int("extra_seeds", extra_seeds, min_value=0), check_float("tolerance", tolerance, positive=True)
variants = check_list("variants", variants, item="str", choices=list(PAPER))
(seeds, epochs, width, clip, train_samples, test_samples, batch_size, lr, dataset, data_root, split, difficulty, device,
 smoke) = P.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                         test_samples=test_samples, batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root,
                         split=split, difficulty=difficulty, device=device, smoke=smoke).values()  # normalised values
clip = P.check_clip(clip, min_size=(16, 32, 32), why="MSTI-Net needs T >= 16 and H, W >= 32")
if "p3d_b" not in variants or len(variants) < 2:
    raise ValueError(f"parameter variants={variants!r} must include 'p3d_b' (the baseline) and at least one "
                     "multi-scale variant: every claim and the positive control compare against P3D-B")
if publish and not (budget == "reference" and rerun):
    raise ValueError("publish=True writes a retrained reference: use it with budget='reference' and rerun=True")

if budget != "custom":  # the recipe fixes the data and the network size
    dataset, clip, width, difficulty = "synthactions", list(SYNTH_RECIPE["clip"]), 0.25, SYNTH_RECIPE["difficulty"]
train_here = budget != "reference" or rerun

OUT = make_out_dir(out_dir, "ablation_msti")
REF = published.results_dir("ablation_msti")
print(f"budget {budget!r}" + (" (retraining the reference)" if budget == "reference" and rerun else "")
      + f"; results -> {OUT}; committed reference: {REF}")

# %% [markdown]
# ## The claims, declared before the runs
#
# Each claim names its variants, its kind, δ (the smallest difference in points that matters here,
# with the reason) and the paper's number. A claim is decided on the paired differences over seeds
# (seed *k* of every variant trains on the same rendered clips in the same order), Holm-corrected
# over the paper's claims: *holds*, *reversed*, *no effect larger than δ* or *inconclusive*
# (`actionrec.experiments.protocol` has the rule of each kind). The **positive control** (P3D-B
# against an order-blind network, which cannot exceed 9/16 on SynthActions' time-reversed classes;
# a family of its own, Holm-corrected separately) checks that the setting can resolve anything at
# all. Several of Table 2's steps are small (the smallest, MS(S) − MS(T) on HMDB-51, is 0.5 points,
# below δ): where the paper's effect is smaller than the run could detect, the verdict says so.

# %% tags=["hide-input"]
display(claims_table(MSTI_CLAIMS))
display(Markdown(f"**Seeds.** Reference {list(MSTI_BUDGETS['reference']['seeds'])} (n = 6, the protocol's minimum; "
                 "a pilot on seeds 100+ sizes it when the reference runs are made), quick "
                 f"{list(MSTI_BUDGETS['quick']['seeds'])}. Recipe: "
                 + ", ".join(f"{k} {v}" for k, v in SYNTH_RECIPE.items()) + "."))

# %% [markdown]
# ## Reference results
#
# Converged runs of every unit and the control at the reference recipe, committed with their
# provenance (commit, code fingerprints, claims hash, CPU, threads, wall time). A reference whose
# fingerprints no longer match the code is marked **stale** (`make check-references`).

# %% tags=["hide-input"]
ref = published.load(REF, claims=MSTI_CLAIMS)
display(Markdown(reference_header(ref, REF, "ablation_msti", declared_seeds=MSTI_BUDGETS["reference"]["seeds"])))
if ref is not None:
    display(variant_table(ref["rows"], extra=("gmacs", "params_m")), msti_table(ref["rows"]))
    display(Markdown(verdict_text(ref["verdicts"])))
    viz.plot_protocol(**plot_data(ref["rows"], verdicts=ref["verdicts"], differences=ref["differences"],
                                  curves=ref["curves"]), title="Reference")
    plt.show()

# %% [markdown]
# ## Your run
#
# **The data.** Stick figures performing 16 actions at ×0.5–×2 speed, each in a random window
# covering 30–100% of the clip. Seven pairs of classes are exact time reversals of each other (squat
# down ↔ stand up, walk left ↔ walk right, arm circles clockwise ↔ counter-clockwise, …), so a model
# has to use the order of frames, at whatever speed the action happens, and the speed range gives
# the multi-scale temporal branch something to match. The recipe (quick and reference) uses
# `difficulty="medium"` (clutter, pan, noise) with 4,096 training clips per seed, each seed drawing
# its own clips that every variant shares; 2,048 test clips keep the evaluation noise (±0.7 points at
# 90%) well below the seed noise. How the recipe was found, and the evidence that its runs converge:
# `benchmarks/README.md`, section *SynthActions recipe*.
#
# **The network.** `msti_net_small`: Table 1's layout (stem 3×7×7 stride (1,2,2) + 3×3×3 max-pool,
# four stages whose first unit strides (2,1,1), then (1,2,2) three times) with one unit per stage at
# a quarter of the widths; only the unit type changes between rows. Every unit has a spatial *and* a
# temporal conv; the rows differ in which of them is multi-scale (N = 4 channel groups, Sec. 3.1)
# and in the CAW. The recipe's learning rate (3e-3) is also the one this chapter's earlier
# learning-rate probe preferred for P3D-B on a smaller setting (`benchmarks/README.md`, section
# *ablation_msti*).

# %% tags=["hide-input"]
T, H, W = clip
if budget == "custom":
    train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
    base = dict(dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples, test_samples=test_samples,
                epochs=epochs, batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
    runs_of = {v: (base_config(model="msti_net_small", model_kwargs=dict(variant=v, width=width, groups=4), **base),
                   {"variant": v, "unit": PAPER[v]["name"]}) for v in variants}  # N = 4 channel groups
    runs_of[ORDER_BLIND] = (base_config(model="frame_avg2d", model_kwargs={"width": width}, **base),
                            {"variant": ORDER_BLIND, "unit": "order-blind (frame_avg2d)"})  # the positive control
    run_seeds = list(range(seeds))
else:
    runs_of = msti_runs(budget, device=device)
    train_kwargs = next(iter(runs_of.values()))[0].dataset_kwargs
    run_seeds = list(MSTI_BUDGETS[budget]["seeds"])
    run_seeds += list(range(max(run_seeds) + 1, max(run_seeds) + 1 + extra_seeds))
preview, shown = preview_clips(dataset, train_kwargs)  # a few training clips
fig = viz.clip_grid(**shown, every=2)
plt.show()
configs, extras = build_runs(runs_of, num_classes=preview.num_classes, input_shape=(3, T, H, W))  # + GMACs, params

# %% [markdown]
# **What each unit can see.** Before training, one backward pass per unit from the summed logits to
# a random clip, in eval mode (as at test time; in training mode BatchNorm's batch statistics tie
# every pixel to every output): the share of input pixels (and frames) whose gradient is not exactly
# zero, i.e. that can influence the prediction at all.

# %%
units = {n: cfg for n, cfg in configs.items() if extras[n]["variant"] != ORDER_BLIND}  # the MSTI-Net rows
support = msti_input_support(units, {n: extras[n]["unit"] for n in units}, num_classes=preview.num_classes,
                             input_shape=(3, T, H, W))
display(100 * pd.DataFrame.from_dict(support, orient="index",
                                    columns=["input pixels reaching the logits (%)", "frames (%)"]).rename_axis("unit"))
if msti_blind_warning(support, (H, W)):
    display(Markdown(msti_blind_warning(support, (H, W))))

# %% [markdown]
# Every (variant, seed) trains one run per core; seed *k* of every variant sees the same clips in
# the same order. A run whose test top-1 stays below twice chance counts as *not trained*: it is
# counted ("k/n trained") and stays in the statistics, never dropped.

# %% tags=["hide-input"]
rows, wall = [], 0.0
if train_here:
    # reversal=True: how many test clips of a time-reversed pair were called their reverse (SynthActions)
    rows, wall = train_grid(configs, run_seeds, OUT / "runs", extras=extras, order="seed", on_diverge="record",
                            data_seed="seed" if dataset == "synthactions" else "config", reversal=True)
    rows = published.mark_trained(rows, chance=1 / preview.num_classes)
else:
    display(Markdown("`budget=\"reference\"` without `rerun`: nothing trains here; the reference results are above."))

# %% [markdown]
# ### Top-1 per variant, every seed
#
# Mean, 95% CI (Student's $t$ over seeds), SD and every seed's value; *max late gain* is the largest
# rise of val top-1 over the last quarter of a run's epochs (a run still learning shows it).

# %% tags=["hide-input"]
if rows:
    display(variant_table(rows, extra=("gmacs", "params_m", "wall_s")))

# %% [markdown]
# ### The verdicts of your run
#
# The claims whose variants this budget ran, decided as above; the others are listed with the
# reason. At `budget="quick"` that is the positive control and *MSTI beats P3D-B*. Quick trains 3 of
# the 24 reference epochs on three paired seeds, far from converged: it must resolve the control; the
# headline's CI is wide, so an *inconclusive* there says the run was too small, not that the claim failed.
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
    verdicts, differences, text = decide(MSTI_CLAIMS, rows)
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
# With `budget="reference"` and `rerun=True`: each variant's mean top-1 over the seeds both hold,
# retrained here, beside the committed one. On the same CPU kernels and thread count the runs
# repeat bit for bit; elsewhere floating-point order differs, single runs drift by a few points and
# means much less: the check passes when every variant's mean is within `tolerance` points.
# `publish=True` then writes the results under `book/results/ablation_msti/` (from a clean tree).

# %% tags=["hide-input"]
if budget == "reference" and rerun and rows:
    if ref is not None:
        table, text = rerun_report(ref["rows"], rows, tolerance=tolerance)
        display(table, Markdown(text))
    if publish:
        path = published.publish(REF, rows, claims=MSTI_CLAIMS, verdicts=verdicts, differences=differences,
                                 threads=run_threads(configs.values()), command=reference_command("ablation_msti"))
        print(f"published -> {path}")

# %% [markdown]
# ## Table 2 beside the paper
#
# Your run's units as Table 2 lists them: mean test top-1 over the seeds, the share of the
# time-reversed pairs' test clips called their pair's other class ("swapped": an order-blind
# network swaps about half), the costs per clip, and the paper's numbers after Kinetics
# pre-training. The verdicts above, not this table, decide the claims.

# %%
if rows:
    display(msti_table(rows))
    names = [PAPER[v]["name"] for v in PAPER]
    fig = viz.plot_paper_bars(names, {"UCF-101": [PAPER[v]["ucf101"] for v in PAPER],
                                      "HMDB-51": [PAPER[v]["hmdb51"] for v in PAPER]},
                              ylim=(50, 100), title="Paper, Table 2 (Kinetics pre-trained)")
    plt.show()
    summary = summarize(rows, by=("variant",), metric="top1")
    fig = viz.plot_accuracy_vs_gmacs(summary, label_key="unit",
                                     title=f"MSTI-Net (width {width:g}) on {dataset_name(dataset)} ({T}×{H}×{W}): "
                                           "top-1 vs GMACs (marker area ∝ parameters)")
    fig.savefig(OUT / "accuracy_vs_gmacs.png", dpi=120, bbox_inches="tight")
    plt.show()
    print(f"table: {OUT / 'results.csv'}; plots: {OUT / 'strip.png'}, {OUT / 'run_curves.png'}, "
          f"{OUT / 'accuracy_vs_gmacs.png'}")

# %% [markdown]
# The multi-scale units cost *fewer* MACs and parameters than P3D-B: a stepped branch's convs each
# act on a quarter of the channels, so it holds 1/4 of the weights of the dense conv it replaces
# (eq. 3). MS(T) replaces P3D-B's smaller conv (3×1×1) and stays closest to it in cost; MS(S)
# replaces the 1×3×3; MS(ST) both. MSTI's CAW blocks add parameters (three C/4 × C/4 maps per group
# and branch, plus the FC) but almost no MACs: they act on pooled vectors (see
# `actionrec.layers.msti`). On a CPU the CAW's many small ops make MSTI the slowest unit per step
# (`benchmarks/README.md`, section *ablation_msti*; the `wall_s` column above).
#
# ## Reading the result
#
# * **Where the units differ.** One branch at a time: MS(T) widens P3D-B's temporal reach from 3 to
#   up to 7 frames per unit (on a quarter of the channels each scale), MS(S) its spatial reach from
#   3×3 to up to 7×7, MS(ST) both, and MSTI adds the attention across scales (whose pools see the
#   whole clip). The time-reversed pairs (the "swapped" column) need frame order, which every unit
#   sees and the order-blind control does not.
# * **Every unit must see every pixel.** A network that strides its 1×1×1 reduce and shortcut convs
#   keeps every other pixel, and a unit without a spatial conv (such as `ms_t_only`) then sees only a
#   corner of the clip and stays at chance; strided stages therefore average-pool first (ResNet-D),
#   and the check above and a test make sure every unit sees every pixel and frame.
# * **P3D-B is the biggest unit in this layout** (the GMACs and parameter columns), then MS(T), MS(S),
#   MSTI and MS(ST): a dense conv sees all P channels, each multi-scale group P/4, so the multi-scale
#   rows win, if they do, with fewer weights; Table 2 gives no costs.
# * **What a verdict here means.** The paper's gaps are 1.1–5.9 points on UCF-101 (0.5–9.6 on
#   HMDB-51), one run each, after Kinetics pre-training, with a 50-layer network at 224×224; here a
#   quarter-width, four-unit MSTI-Net learns 16 synthetic classes from scratch at 32×32. A verdict is
#   about the units at this scale, not about UCF-101; the detectable effect beside each says how small
#   a difference the run could have seen. The quick budget trains 3 of the 24 reference epochs on
#   three paired seeds, far from converged (the *max late gain* column shows how far each run still
#   rose), so its numbers are estimates; the reference decides.
#
# To run closer to the paper: `-p budget custom -p width 1.0 -p clip '[16, 112, 112]' -p epochs 30
# -p seeds 5 -p difficulty hard` on a GPU (CUDA and mixed precision are used automatically), or on real
# videos: `-p budget custom -p dataset ucf101 -p data_root /data/UCF-101 -p split 1 -p train_samples 0
# -p clip '[16, 112, 112]'` (README, "Running on real data").
