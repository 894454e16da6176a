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
# # MTNet: how many channels should look further in time?
#
# *Right on Time* (Stergiou & Poppe, AAAI 2021 {cite}`stergiou2021mtnet`) replaces each 3D convolution with an **MTConv**: the
# channels are split by a ratio $r$ into a *short* stream at full resolution and a *long* stream
# that lives at half the resolution in time and space, so the same $3\times3\times3$ kernel covers
# twice the duration there (eq. 1–2):
#
# $$C_s = \lfloor rC \rfloor,\quad C_l = C - C_s,$$
#
# $$a_s' = \mathrm{relu}(\mathrm{bn}(a_s * W_s)),\qquad
#   a_l' = \mathrm{relu}\big(\mathrm{bn}(a_l * W_l) + \mathrm{bn}(\mathrm{pool}(a_s) * W_{s\to l})\big).$$
#
# $r = 1$ is a plain 3D convolution. The paper's Table 2 trains MTNet-32…132 on HACS for
# $r \in \{0.5, 0.625, 0.75, 0.875, 1\}$ and finds **$r = 0.875$ best** (+1.9 points over $r=1$,
# with 20.5% fewer GFLOPs), $r = 0.75$ close behind (−35% GFLOPs), and **$r = 0.5$ worst**.
#
# This chapter re-runs that ablation on the embedded SynthActions dataset and decides, from paired
# seeds and claims declared before the runs, whether each statement holds here. It shows the
# **reference results** first (converged runs, committed under `book/results/ablation_ratio/` with
# their provenance), then **your run** at the chosen `budget`, then the mechanism and which MTNet
# the paper built.
#
# **Budgets.** `budget="quick"` (the default, under 10 minutes on a 2-core CPU) trains the
# chapter's setting for a thirty-second of the reference's steps (4,096 clips × 3 epochs = 384 steps,
# against 16,384 × 24 = 12,288) on $r \in \{0.5, 1\}$ and the positive control, three seeds: far
# from converged, it checks that the setting resolves the control, shows both ratios per seed with
# their CIs, and says which claims it cannot decide.
# `budget="reference"` renders the committed reference results; with `-p rerun True` it retrains
# them (hours on a CPU; runs resume) and compares its rows with the committed ones.
# `budget="custom"` trains what the parameters below say (real datasets, a GPU, other sizes).

# %% tags=["parameters", "hide-input"]
budget = "quick"  # "quick" (up to 10 min on a 2-core CPU) | "reference" (the committed results) | "custom" (the parameters below)
rerun = False  # budget "reference": retrain the reference grid and compare it with the committed rows
publish = False  # with rerun: write the results to book/results/ablation_ratio (a clean git tree: run from a worktree)
extra_seeds = 0  # budget "reference" with rerun: seeds beyond the declared n (they extend n)
first_seeds = 0  # budget "reference" with rerun: only the first k seeds (0: all); a reference published so is partial
finished_only = False  # budget "reference" with rerun: train nothing, take the runs already finished (a grid in progress)
tolerance = 1.0  # rerun: largest |difference| (points) of a variant's mean top-1 from the committed one
depth = 32  # MTNet depth (Table 1): 32, 48, 64, 132 or 200 (quick / reference: 32)
# budget "custom" only (None: the default in brackets; quick / reference refuse them):
ratios = None  # channel ratios r, each in [0.5, 1] ([0.5, 0.625, 0.75, 0.875, 1.0])
substreams = None  # sub-streams g; [1, 8] adds the grouped variants, Fig. 3c/d ([1])
seeds = None  # training seeds per configuration, 0..n-1 (3)
epochs = None  # passes over the training split (7)
width = None  # channel multiplier of Table 1's widths, 64..512 -> 16..128 (0.25)
clip = None  # T, H, W of the training clips ([16, 32, 32])
train_samples = None  # training clips, val/test a quarter each; real datasets: 0 means the whole split (640)
batch_size = None  # clips per step (32)
lr = None  # AdamW peak learning rate, cosine schedule (0.003)
dataset = None  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos) ("synthactions")
data_root = None  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo ("")
split = None  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one) (1)
difficulty = None  # SynthActions only: "easy" | "medium" | "hard" | "temporal" ("easy")
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_ratio; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# The parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains (lists may also be given as strings, as papermill's `-p substreams '[1, 8]'` passes them).
# Every run writes its checkpoint, metrics log and result under `out_dir/runs/<variant>-<tag>/seed_<k>`,
# where the tag hashes every other setting; a finished run is loaded instead of retrained only when
# its config *and* its code fingerprint match (model, initial weights, first training step), so
# re-running only redraws, and changed code retrains.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.analysis.probes import stream_receptive_fields
from actionrec.experiments import params as P
from actionrec.experiments import published
from actionrec.experiments.chapter import (claims_table, decide, plot_data, reference_command, reference_header,
                                           rerun_report, variant_table, verdict_text)
from actionrec.experiments.convergence import PILOT_DIR, doubling_curves, doubling_test, load_pilot, schedule_verdict
from actionrec.experiments.grid import run_threads, train_grid
from actionrec.experiments.setup import base_config, build_runs, data_kwargs, dataset_name, preview_clips, time_vs_macs
from actionrec.experiments.summary import markdown_table, summarize, write_results
from actionrec.models.mtnet import MTNET_READING
from actionrec.papers.mtnet import (MTNET_RATIO_BUDGETS, MTNET_RATIO_CLAIMS, MTNET_RATIO_CUSTOM, MTNET_RATIO_PILOT_SEEDS,
                                    MTNET_RATIO_PILOT_SETTING, MTNET_RATIO_RECIPE,
                                    MTNET_TABLE3, MTNET_TABLE3_CLASSES, ORDER_BLIND, best_mtnet_reading, mtnet_ratio_reference_n,
                                    mtnet_ratio_runs, mtnet_ratio_seeds_of, mtnet_ratio_variants, mtnet_readings_table)
from actionrec.utils.checks import check_bool, check_choice, check_float, check_int, check_list
from actionrec.utils.paths import make_out_dir

if smoke:  # a tiny custom run (sizes below, after the checks); nothing published
    budget, rerun, publish = "custom", False, False
budget, custom = P.budget_params(budget, MTNET_RATIO_CUSTOM, ratios=ratios, substreams=substreams, seeds=seeds,
                                 epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                                 batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root, split=split,
                                 difficulty=difficulty)  # custom: None -> the default; quick/reference: must be None
ratios, substreams, seeds, epochs, width, clip, train_samples, batch_size, lr, dataset, data_root, split, difficulty = (
    custom.values())
rerun, publish = check_bool("rerun", rerun), check_bool("publish", publish)
extra_seeds, tolerance = check_int("extra_seeds", extra_seeds, min_value=0), check_float("tolerance", tolerance, positive=True)
first_seeds, finished_only = check_int("first_seeds", first_seeds, min_value=0), check_bool("finished_only", finished_only)
depth = check_choice("depth", depth, [32, 48, 64, 132, 200])
ratios = check_list("ratios", ratios, min_value=0.5, max_value=1.0)
substreams = check_list("substreams", substreams, item="int", min_value=1, max_value=64)
seeds, epochs, width, clip, train_samples, batch_size, lr, dataset, data_root, split, difficulty, device, smoke = (
    P.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                   batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root, split=split,
                   difficulty=difficulty, device=device, smoke=smoke).values())  # shared rules, values normalised
clip = P.check_clip(clip, min_size=(16, 32, 32), why="MTNet needs T >= 16 and H, W >= 32")
if publish and not (budget == "reference" and rerun):
    raise ValueError("publish=True writes a retrained reference: use it with budget='reference' and rerun=True")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute (values passed are checked first)
    ratios, substreams, seeds, epochs = [0.5, 1.0], [1], 2, 1
    width, clip, train_samples, batch_size = 0.125, [16, 32, 32], 64, 16

if budget != "custom":  # the recipe fixes the data and the network size
    R = MTNET_RATIO_RECIPE
    dataset, clip, width, difficulty = "synthactions", list(R["clip"]), 0.25, R["difficulty"]
train_here = budget != "reference" or rerun

OUT = make_out_dir(out_dir, "ablation_ratio")
REF = published.results_dir("ablation_ratio")
print(f"budget {budget!r}" + (" (retraining the reference)" if budget == "reference" and rerun else "")
      + f"; results -> {OUT}; committed reference: {REF}")

# %% [markdown]
# ## The mechanism: two receptive fields per layer
#
# Below, a stack of three MTConvs ($r = 0.5$, all weights positive) and the gradient of one centre
# output of each stream with respect to the input clip, summed over channels and height: the
# *measured* receptive field over time × width. The long stream's kernel, applied at half
# resolution, covers about twice the frames and pixels of the short one.

# %%
fig = viz.plot_stream_receptive_fields(stream_receptive_fields(num_layers=3, frames=clip[0], size=clip[1]),
                                       num_layers=3)
plt.show()

# %% [markdown]
# ## The claims, declared before the runs
#
# Each claim names its variants, its kind, δ (the smallest difference in points that matters here,
# with the reason) and the paper's number. A claim is decided on the paired differences over seeds
# (seed *k* of every variant trains on the same rendered clips in the same order), Holm-corrected
# over the chapter: *holds*, *reversed*, *no effect larger than δ* or *inconclusive*
# (`actionrec.experiments.protocol` has the rule of each kind). The **positive control** (a temporal
# network against an order-blind one, which cannot exceed 9/16 on SynthActions' time-reversed
# classes) checks that the setting can resolve anything at all. The reference's number of seeds came
# from a pilot on disjoint seeds:

# %% tags=["hide-input"]
display(claims_table(MTNET_RATIO_CLAIMS))
sized = mtnet_ratio_reference_n()
display(Markdown(f"**Reference n.** {sized['sentence']}; reference seeds "
                 f"{list(MTNET_RATIO_BUDGETS['reference']['seeds'])} (the order-blind control on "
                 f"{mtnet_ratio_seeds_of('reference', MTNET_RATIO_BUDGETS['reference']['seeds'])[ORDER_BLIND]}), quick seeds {list(MTNET_RATIO_BUDGETS['quick']['seeds'])}, "
                 f"pilot seeds {', '.join(map(str, MTNET_RATIO_PILOT_SEEDS))}. Recipe: " + ", ".join(f"{k} {v}" for k, v in MTNET_RATIO_RECIPE.items()) + "."))

# %% [markdown]
# ## Reference results
#
# Every ratio and the control (on the first three seeds) at the reference recipe, committed with
# their provenance (commit, code fingerprints, claims hash, CPU, threads, wall time). A reference
# whose fingerprints no longer match the code is marked **stale** (`make check-references`), one
# trained with other settings than the chapter declares **another recipe**. **The runs committed so far come from the earlier recipe**
# (`"medium"`, 4,096 clips × 24 epochs), which failed the doubling test and ran close to the ceiling
# (see *Convergence, honestly* at the end): they are shown as a pilot, not as the answer, until the
# grid at the chapter's setting replaces them.

# %% tags=["hide-input"]
ref = published.load(REF, claims=MTNET_RATIO_CLAIMS)
display(Markdown(reference_header(ref, REF, "ablation_ratio", declared_seeds=MTNET_RATIO_BUDGETS["reference"]["seeds"],
                                  declared_configs={k: c for k, (c, _) in mtnet_ratio_runs("reference", depth=depth).items()})))
if ref is not None:
    display(variant_table(ref["rows"], extra=("gmacs", "params_m")))
    display(Markdown(verdict_text(ref["verdicts"])))
    viz.plot_protocol(**plot_data(ref["rows"], verdicts=ref["verdicts"], differences=ref["differences"],
                                  curves=ref["curves"]), title="Reference")
    plt.show()

# %% [markdown]
# ## Your run
#
# **The data.** Stick figures performing 16 actions. Seven pairs of classes are exact time reversals
# of each other (squat down ↔ stand up, walk left ↔ walk right, arm circles clockwise ↔
# counter-clockwise, …), so a model has to use the order of frames, at whatever speed the action
# happens. The chapter's setting (`MTNET_RATIO_RECIPE`) is `difficulty="temporal"`: the clutter,
# camera pan and noise of `"medium"`, but every action is *short* — it fills a random 10–50% of the
# 2-second clip (0.2–1 s, 1.5–7.5 frame intervals at 16 frames) and holds still before and after —
# and periodic actions run at ×0.35–×2 their base rate. The network must find *when* the action
# happens as well as its order: time is what is hard here, not pixels. (On `"medium"`, where actions
# fill 30–100% of the clip, converged runs reach 98–99%, too close to the ceiling to separate the
# ratios.) The reference trains 16,384 clips per seed (quick: 4,096), each seed drawing its own clips
# that every variant shares; 2,048 test clips keep the evaluation noise (±0.7 points at 90%) well
# below the seed noise. How the setting and schedule were chosen, and the evidence that the runs
# converge: `benchmarks/README.md`, section *SynthActions recipe*.
#
# **Squeeze and Recursion.** MTNet multiplies each stage's features by a GRU's output. The official
# code multiplies directly ($x \cdot a^*$); `actionrec` fuses as $x + x \cdot a^*$ by default (SRTG's
# "added back", identity at $a^* = 0$), because the direct product did not learn SynthActions in our
# runs (`actionrec.layers.squeeze_recursion`; `benchmarks/README.md`, section *ablation_ratio*).

# %% tags=["hide-input"]
T, H, W = clip
if budget == "custom":
    train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
    base = base_config(model=f"mtnet{depth}", dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples,
                       epochs=epochs, batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
    variants = {k: (cfg, {"variant": k, **e}) for k, (cfg, e) in
                mtnet_ratio_variants(base, ratios=ratios, substreams=substreams, width=width).items()}
    if dataset == "synthactions":  # the positive control rests on SynthActions' time-reversed class pairs
        variants[ORDER_BLIND] = (base_config(model="frame_avg2d", model_kwargs={"width": width}, dataset=dataset,
                                             dataset_kwargs=train_kwargs, train_samples=train_samples, epochs=epochs,
                                             batch_size=batch_size, lr=lr, device=device),
                                 {"variant": ORDER_BLIND, "r": None, "g": None})
    run_seeds, seeds_of = list(range(seeds)), None
else:
    variants = mtnet_ratio_runs(budget, depth=depth, device=device)
    train_kwargs = next(iter(variants.values()))[0].dataset_kwargs
    run_seeds = list(MTNET_RATIO_BUDGETS[budget]["seeds"])
    run_seeds += list(range(max(run_seeds) + 1, max(run_seeds) + 1 + extra_seeds))
    run_seeds = run_seeds[:first_seeds] if first_seeds else run_seeds
    seeds_of = mtnet_ratio_seeds_of(budget, run_seeds)  # the positive control on the first 3 seeds
preview, shown = preview_clips(dataset, train_kwargs)  # a few training clips
fig = viz.clip_grid(**shown, every=2)
plt.show()

# %% [markdown]
# Every (variant, seed) trains one run per core; seed *k* of every variant sees the same clips in
# the same order. The order-blind control trains on the first three seeds only: its gap to the
# temporal networks is tens of points, which three paired seeds resolve (the quick budget shows it),
# so the reference's compute goes to the ratios the claims compare. A run whose test top-1 stays below twice chance counts as *not trained*: it is
# counted ("k/n trained") and stays in the statistics, never dropped.

# %% tags=["hide-input"]
rows, wall = [], 0.0
if train_here:
    configs, extras = build_runs(variants, num_classes=preview.num_classes, input_shape=(3, T, H, W))  # + GMACs, params
    rows, wall = train_grid(configs, run_seeds, OUT / "runs", extras=extras, order="seed", on_diverge="record",
                            data_seed="seed" if dataset == "synthactions" else "config",
                            only_finished=finished_only and budget == "reference", seeds_of=seeds_of)
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
# The claims whose variants this budget ran, decided as above; the others are listed with the reason.
#
# Below them: every seed's top-1 over the mean and its CI (`strip.png`), each claim's paired differences
# and CI against ±δ (`claims.png`) and every run's validation curve (`run_curves.png`), saved in the
# output folder.

# %% tags=["hide-input"]
verdicts = differences = None
if rows:
    verdicts, differences, text = decide(MTNET_RATIO_CLAIMS, rows)
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
# `publish=True` then writes the results under `book/results/ablation_ratio/` (from a clean tree).

# %% tags=["hide-input"]
if budget == "reference" and rerun and rows:
    if ref is not None:
        table, text = rerun_report(ref["rows"], rows, tolerance=tolerance)
        display(table, Markdown(text))
    if publish:
        path = published.publish(REF, rows, claims=MTNET_RATIO_CLAIMS, verdicts=verdicts, differences=differences,
                                 threads=run_threads(configs.values()), command=reference_command("ablation_ratio"))
        print(f"published -> {path}")

# %%
summary = summarize([r for r in rows if r.get("r") is not None], by=("g", "r"), metric="top1") if rows else []
if summary:
    fig = viz.plot_accuracy_vs_gmacs(summary, label_key="r", group_key="g",
                                     title=f"MTNet-{depth} on {dataset_name(dataset)} ({T}×{H}×{W}): top-1 vs GMACs")
    fig.savefig(OUT / "accuracy_vs_gmacs.png", dpi=120, bbox_inches="tight")
    plt.show()

# %% [markdown]
# ## Which MTNet? Three readings of the text, settled by Table 3
#
# Table 1 and Fig. 3 fix the layout (stem, four stages of one *downsample* block plus $n$ *repeat*
# blocks, Squeeze-and-Recursion GRUs), but the text allows three readings of it, and `actionrec`
# builds each (`mtnet_32(sr=..., downsample=..., streams=...)`):
#
# * **`sr`** — where the GRUs sit: `"stage"`, one per stream after every stage (Table 1's
#   "SR: 2 × GRU" row), or `"block"`, one per stream inside every repeat block (the text: repeat
#   blocks hold "4 × Conv + 2 × GRU"; also where the official code puts them).
# * **`downsample`** — the first block of a stage: `"bottleneck"` (1×1×1 → 3×3×3 → 1×1×1), or
#   `"multiplexer"`: "two 1×1×1 convolutions at the beginning … a feature amplification, similar to
#   Chen et al. (2018)" — MF-Net's multiplexer ($x + W_2 W_1 x$, $C \to C_{out}/8 \to C$), then
#   3×3×3 and 1×1×1: Fig. 3's "four MTConvs".
# * **`streams`** — `"persist"`: the short and long streams run side by side through the whole
#   network (Table 1 lists the long stream's halved output size); `"merge"`: they re-join after
#   every block (long upsampled and concatenated) and the next block splits again — MTConvs act "at
#   the layer level, not as two pathways throughout a network".
#
# Which one did the authors build? Their Table 3 lists the parameters of seven networks. The rules
# were fixed before anything was counted (`benchmarks/complexity.py`): exactly these 2 × 2 × 2
# readings and no other knob; 700 classes (Table 3 reports the Kinetics-700 models); the seven rows
# as printed (the *g* = 8 rows too, although the text's "−58.67% / −59.98%" disagrees with them);
# a reading's score is its largest |relative error| over the seven rows, and the best score
# becomes the default. The table below recounts it (every network built on PyTorch's `meta`
# device; `python benchmarks/complexity.py --readings` prints the same with more checks).

# %%
table3 = MTNET_TABLE3 if not smoke else {("mtnet32", 1): MTNET_TABLE3["mtnet32", 1]}  # smoke: one row
readings = mtnet_readings_table(table3=table3)
chosen = best_mtnet_reading(readings)
display(Markdown(markdown_table(
    ["sr", "downsample", "streams", *[f"{m[5:]}{'' if g == 1 else ', g = 8'} ({p:.2f} M)" for (m, g), (p, _) in table3.items()],
     "max \\|error\\|"],
    [[e["sr"], e["downsample"], e["streams"], *[f"{e['params'][k]:.2f} ({100 * e['errors'][k]:+.1f}%)" for k in table3],
      f"{100 * e['max_abs_error']:.1f}%"] for e in readings])))
display(Markdown(f"**{chosen['sentence']}** ({MTNET_TABLE3_CLASSES} classes.) This notebook trains "
                 + ", ".join(f"`{k}=\"{v}\"`" for k, v in MTNET_READING.items()) + "."))
step = [("mtnet132", 1), ("mtnet64", 1)]  # 17 more stage-3 repeat blocks: parameters per block
if all(k in table3 for k in step):
    per_block = {e["sr"]: (e["params"][step[0]] - e["params"][step[1]]) / 17 for e in readings
                 if e["downsample"] == MTNET_READING["downsample"] and e["streams"] == MTNET_READING["streams"]}
    display(Markdown(f"Parameters per stage-3 repeat block, (MTNet-132 − MTNet-64) / 17: Table 3 "
                     f"{(table3[step[0]][0] - table3[step[1]][0]) / 17:.2f} M; ours "
                     + ", ".join(f"`sr=\"{k}\"` {v:.2f} M" for k, v in per_block.items()) + "."))
pairs = [(("mtnet64", 8), ("mtnet64", 1)), (("mtnet132", 8), ("mtnet132", 1))]  # sub-stream savings, g = 8 vs 1
if all(k in table3 for pair in pairs for k in pair):
    saving = {e["sr"]: [100 * (e["params"][a] / e["params"][b] - 1) for a, b in pairs] for e in readings
              if e["downsample"] == MTNET_READING["downsample"] and e["streams"] == MTNET_READING["streams"]}
    display(Markdown("Parameters saved by *g* = 8, MTNet-64 / -132: the text −58.67% / −59.98%; Table 3 "
                     + " / ".join(f"{100 * (table3[a][0] / table3[b][0] - 1):.1f}%" for a, b in pairs) + "; ours "
                     + ", ".join(f"`sr=\"{k}\"` " + " / ".join(f"{v:.1f}%" for v in vs) for k, vs in saving.items())
                     + " (not in the score, which the rules fixed on Table 3's rows)."))

# %% [markdown]
# **Reading the table.** The score cannot separate `streams` (the row that decides, MTNet-132 with
# *g* = 8, has exactly as many weights either way) nor, in practice, `downsample` (the two differ by
# a few thousand weights); it does separate `sr`: with a GRU pair in every repeat block the networks
# overshoot MTNet-32 and both *g* = 8 rows by about 40%, with one pair per stage they fall short of
# the *g* = 8 rows and of MTNet-132/-200 by 14–38%. So the default is `sr="stage"`,
# `downsample="bottleneck"`, `streams="persist"` (the tie on `streams` goes to the layout of the
# official code and of Table 1), and **no reading reproduces Table 3 within ±10%**. Table 3 is not
# consistent with any single one: its step from MTNet-64 to MTNet-132 (17 more stage-3 repeat
# blocks; the line under the table) is what `sr="block"` adds per block, not `"stage"`, yet
# `"block"` overshoots the smaller rows; the text's sub-stream savings (printed under the table) also sit
# closer to `"block"`. Both are evidence outside the pre-registered score, and we report them
# rather than change the rule after counting. Whatever the reading, the ratio $r$ varied below acts on
# the same MTConvs; the readings differ in where the GRUs sit, how a stage begins and whether the
# streams re-join.

# %% [markdown]
# ## Fewer MACs, less time?
#
# The paper's case for $r < 1$ is cost: the long stream runs at half the resolution, so every
# $r < 1$ needs fewer multiply-adds than $r = 1$ (the GMACs column above; the paper: 20.5% fewer
# for $r = 0.875$ at full width). Whether that buys wall-clock time depends on the network's size.
# Below, the run times the grid itself measured (each run trains and evaluates; two runs at a time,
# one per core), against the MACs:

# %%
timing = time_vs_macs([r for r in rows if r.get("r") is not None]) if rows else {}
for g, t in timing.items():
    fig = viz.plot_time_vs_macs(t["rows"], key="r", title=f"g = {g}: measured cost")
    fig.savefig(OUT / f"time_vs_macs_g{g}.png", dpi=120, bbox_inches="tight")
    plt.show()
    display(Markdown(f"**g = {g}.** {t['sentence']}"))

# %% [markdown]
# At a small width, fewer multiply-adds need not mean less time: with a few tens of channels per
# convolution the CPU kernels pad channels to the SIMD width and per-op overheads dominate, so a
# stream with fewer channels is not proportionally cheaper, and the long stream's extra
# convolutions, pooling and upsampling cost time of their own. At larger widths the convolutions
# dominate and the MAC savings show. `benchmarks/speed.py` measures this under control (one network
# at a time, interleaved, one thread; `--channels` per layer, `--bounds` for what any implementation
# could gain), and `benchmarks/README.md`, section *ablation_ratio*, has the numbers, including a
# run of this notebook at `-p width 0.75`.

# %% tags=["hide-input"]
if rows:
    write_results(rows, summary, OUT, extra={"architecture": {"reading": MTNET_READING, "table3": chosen["sentence"]},
                                             "verdicts": None if verdicts is None else verdicts.to_dict("records"),
                                             "time_vs_macs": {str(g): t for g, t in timing.items()},
                                             "wall_minutes": wall / 60})
    print(f"table: {OUT / 'results.csv'}; plots: {OUT / 'strip.png'}, {OUT / 'accuracy_vs_gmacs.png'}")

# %% [markdown]
# ## Reading the result
#
# The paper's numbers come from MTNet-32…132 at full width, trained on HACS (≈500k clips of 200
# classes) at ≈8×180² for many epochs; here a quarter-width MTNet-32 learns 16 synthetic classes
# from 16,384 small clips per seed on a CPU. At 32×32 the long stream of the last stages is only 1–2
# pixels wide, so its spatial advantage vanishes and only the temporal one remains: a verdict here
# is about MTConv's temporal split at this scale, not about HACS. Verdicts are computed from the
# numbers above, never typed in; the detectable effect beside each says how small a difference the
# reference could have seen.
#
# **Convergence, honestly.** The declared criterion: doubling the schedule gains less than one
# point of test top-1, averaged over the pilot seeds (100, 101), for every variant piloted (a
# plateau at the end of a cosine schedule proves nothing: its learning rate is zero there). The
# pilot's runs are committed beside the reference (`book/results/ablation_ratio/pilot/`) and the
# table below is computed from them. The first recipe (`"medium"`, 4,096 clips) failed at 24 epochs;
# with 16,384 clips `"medium"` reached 98–99%, too close to the ceiling; the chapter's setting
# (`"temporal"`, 16,384 clips) failed at 12 epochs on the one pilot seed run (a gain of 2.5 points;
# the other seed would have had to lose half a point), so its reference trains 24, and the 24 → 48
# doubling decides whether that converges. Until a reference at this recipe is committed, the one
# above is the first recipe's partial pilot: read its per-seed values as a pilot, not as verdicts.
# How the settings were chosen: `benchmarks/README.md`, section *SynthActions recipe*.

# %% tags=["hide-input"]
pilot = load_pilot(REF / PILOT_DIR)
if pilot is None:
    print(f"no convergence pilot is committed under {REF / PILOT_DIR}")
else:
    pilot_rows, pilot_curves = pilot
    doubling = doubling_test(pilot_rows, seeds=MTNET_RATIO_PILOT_SEEDS)
    ref_epochs = MTNET_RATIO_RECIPE["epochs"]["reference"]
    display(Markdown(schedule_verdict(doubling, MTNET_RATIO_PILOT_SETTING, ref_epochs)))
    display(doubling.round({"mean_gain": 2}))
    for setting, epochs in ((MTNET_RATIO_PILOT_SETTING, ref_epochs), ("medium, 4,096 clips", 24)):
        viz.plot_doubling(doubling_curves(pilot_curves, setting, [epochs, 2 * epochs]),
                          title=f"{setting}: {epochs} epochs and their doubling, validation top-1 per epoch")
        plt.show()

# %% [markdown]
# To run closer to the paper: `-p clip '[16, 64, 64]' -p width 0.5 -p epochs 30 -p seeds 5` on a
# GPU (the notebook uses CUDA and mixed precision automatically), or on real videos:
# `-p dataset ucf101 -p data_root /data/UCF-101 -p split 1 -p train_samples 0 -p clip '[16, 112, 112]'`
# (README, "Running on real data").
