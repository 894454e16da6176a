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
# # Receptive fields: what one output of a temporal layer can see
#
# Three papers of this book widen the *temporal* receptive field of a layer in different ways:
#
# * **MTConv** (MTNet, Stergiou & Poppe 2021 {cite}`stergiou2021mtnet`) runs part of the channels as a *long stream* at half
#   resolution: "with the same kernel size as the short stream, the receptive field is twice as large";
# * **MSTI** (Wu et al. 2020 {cite}`wu2020msti`) splits a block's channels into four groups chained by a *stepped*
#   structure, so group $i$ sees $2i-1$ pixels (spatial branch) or frames (temporal branch): four
#   scales, 1/3/5/7, inside **one** block;
# * **MixTConv** (Shan et al. 2020 {cite}`shan2020mixtconv`) gives each channel group its own depthwise temporal kernel
#   (1/3/5/7 frames, optionally dilated): mixed temporal kernels in **one** layer. The official code
#   initialises each group with shifts like TSM's (Lin et al. 2019 {cite}`lin2019tsm`), which let a channel see frame
#   $t-1$ or $t+1$ instead of $t$; in the 5- and 7-frame groups those channels start as sums of 2 and
#   3 neighbouring frames.
#
# This chapter *measures* those fields. The **theoretical** receptive field of a chain of layers
# with kernels $k_l$, strides $s_l$ and dilations $d_l$ follows the recursion
# $r_l = r_{l-1} + (k_l - 1)\, d_l\, j_{l-1}$, $j_l = j_{l-1} s_l$ ($r_0 = j_0 = 1$). The
# **effective** receptive field (Luo et al., NIPS 2016 {cite}`luo2016erf`) is the gradient of one centre output
# $y_{t_0 h_0 w_0}$ with respect to the input clip, $|\partial y / \partial x_{c,t,h,w}|$ summed
# over channels: a $(T, H, W)$ map (`actionrec.analysis.receptive.effective_rf`). With every weight set to
# $1/\text{fan-in}$ and a positive input nothing cancels, so the map's support *is* the
# architecture's receptive field; with random or trained weights it shows where the output's
# sensitivity actually sits. We look at it as heatmaps over time (frames × width, summed over
# height), over space (height × width at one frame) and as 1-D profiles over time, for:
#
# 1. a plain stack of 3×3×3 convolutions (the baseline every paper compares against);
# 2. MTConv's short vs long stream;
# 3. MSTI's four spatial and four temporal scales (and what the CAW blocks add);
# 4. MixTConv's kernels (plain and dilated) and TSM's shift;
# 5. deep layers of small networks **before and after training** on SynthActions;
# 6. an explorer (ipywidgets) to pick the mechanism, group/stream, depth and weights (in the book,
#    which has no kernel: a player over precomputed depths).
#
# **In brief (numbers of this run).** {glue:text}`rf_checks`. MTNet's long stream sees
# ×{glue:text}`mt_ratio:.2f` the short stream's frames (its support: the paper's "twice as large"), and
# ×{glue:text}`mt_ratio_eff:.2f` counting only the frames with at least {glue:text}`rf_threshold`% of the
# peak frame's gradient (random weights). In a random 3×3×3 stack that effective spread grows as
# depth^{glue:text}`stack_slope:.2f` (Luo et al.: $\sqrt{L}$) while the support grows as $2L+1$. Trained
# briefly on SynthActions, the stage-{glue:text}`rf_stage` spread of the networks moved as follows:
# {glue:text}`rf_moves`. The code cells that only set up, train, load or write files are collapsed.

# %% tags=["parameters", "hide-input"]
models = ["r3d_18", "msti_net_small", "mtnet32", "mstnet_small"]  # networks trained for section 5
stage = 3  # stage (1-4) whose output is the "deep layer" of the before/after figures
max_depth = 8  # the plain 3x3x3 stack is measured at depths 1..max_depth
probe_clips = 16  # test clips the trained networks' gradients are summed over
threshold = 0.5  # "extent at 50%": frames whose gradient mass is at least this fraction of the peak frame's
seeds = 1  # training seeds per network
epochs = 5  # passes over the training split
width = 0.25  # channel multiplier of every network
clip = [16, 32, 32]  # T, H, W of the training clips
train_samples = 640  # training clips (val/test: a quarter each); real datasets: 0 means the whole split
batch_size = 32  # clips per step
lr = 0.003  # AdamW peak learning rate (cosine schedule)
dataset = "synthactions"  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos)
data_root = ""  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo
split = 1  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one)
difficulty = "easy"  # SynthActions only: "easy" | "medium" | "hard"
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/receptive_fields; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# Parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains. Trained runs live in `out_dir/runs/<model>-<tag>/seed_<k>` (the tag hashes every setting);
# finished runs are loaded instead of retrained.

# %% tags=["hide-input"]
import functools
import math
import time
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from actionrec import viz
from actionrec.analysis import probes as PR
from actionrec.analysis import receptive as RF
from actionrec.analysis import trained_fields as TF
from actionrec.experiments import grid, params, setup
from actionrec.experiments.stats import mean_ci
from actionrec.experiments.summary import markdown_table, summarize, write_results
from actionrec.models.mtnet import MTNET_READING
from actionrec.train import load_model
from actionrec.utils import get_device
from actionrec.utils.checks import check_float, check_int, check_list
from actionrec.utils.paths import make_out_dir

TRAINABLE = ["r3d_18", "c3d_small", "msti_net_small", "mtnet32", "mstnet_small", "tsm_small", "tsn_small"]
models = check_list("models", models, item="str", choices=TRAINABLE)
stage = check_int("stage", stage, min_value=1, max_value=4)
max_depth = check_int("max_depth", max_depth, min_value=2, max_value=12)
probe_clips = check_int("probe_clips", probe_clips, min_value=1)
threshold = check_float("threshold", threshold, min_value=0.01, max_value=0.99)
(seeds, epochs, width, clip, train_samples, batch_size, lr, dataset, data_root, split, difficulty, device,
 smoke) = params.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                              batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root, split=split,
                              difficulty=difficulty, device=device,
                              smoke=smoke).values()  # shared rules: actionrec.experiments.params
clip = params.check_clip(clip, min_size=(16, 32, 32), why="the networks need T >= 16 and H, W >= 32")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    models, seeds, epochs, width = ["mtnet32", "mstnet_small"], 1, 1, 0.125
    clip, train_samples, batch_size, max_depth, probe_clips = [16, 32, 32], 64, 16, 4, 4
OUT = make_out_dir(out_dir, "receptive_fields")
DEV = get_device(device)
print(f"results -> {OUT}  (device: {DEV})")
t_start = time.time()
PROBE_T, PROBE_S = 16, 32  # clip size of the mechanism probes (the stack gets 2 max_depth + 16 frames)
TAG = f"{int(round(100 * threshold))}"  # rf_stats key suffix: frames_50 ...
RAND_BATCH = 4 if smoke else 16  # random positive clips the random-weight probes are averaged over
profiles = lambda maps: {k: RF.temporal_profile(m) for k, m in maps.items()}  # noqa: E731  maps -> {name: (T,)}

# %% [markdown]
# ## 1. A plain stack of 3×3×3 convolutions
#
# `conv_stack_probe(depth)` is `depth` × [conv (3,3,3) → ReLU]. Theory: $2L + 1$ frames × pixels
# after $L$ layers. Two versions of the same stack: **positive** weights ($1/\text{fan-in}$,
# positive input: the support, which must equal the theory) and **random** Kaiming weights (16
# random positive clips, gradients summed; 4 in smoke runs): the *effective* field. Luo et al.
# showed that the latter is close to a Gaussian whose width grows like $\sqrt{L}$ while the
# theoretical extent grows like $L$: most of a deep unit's sensitivity sits in the middle of its field.

# %%
depths = list(range(1, max_depth + 1))
stack_T = 2 * max_depth + 16
stack = {d: {w: PR.conv_stack_probe(d, positive=w == "positive", frames=stack_T, size=stack_T)
             for w in ("positive", "random")} for d in depths}
stack_maps = {d: {"positive": stack[d]["positive"].measure(), "random": stack[d]["random"].measure(batch=RAND_BATCH)}
              for d in depths}
stack_check = RF.theory_check({f"depth {d}": stack[d]["positive"] for d in depths},
                              {f"depth {d}": stack_maps[d]["positive"] for d in depths})
stack_rows = TF.stack_rows(stack, stack_maps, threshold=threshold)
display(Markdown(markdown_table(
    ["depth", "theory (frames)", "support, positive weights", f"random weights: frames ≥ {TAG}%", "spread (frames)",
     "spread / √depth"],
    [[r["depth"], r["theory"], r["support"], r["random_extent"], f"{r['random_spread']:.2f}",
      f"{r['random_spread'] / math.sqrt(r['depth']):.2f}"] for r in stack_rows])))
display(Markdown(stack_check["sentence"]))

# %%
fig = viz.plot_depth_extent(stack_rows, profiles({f"depth {d}": stack_maps[d]["random"] for d in depths}),
                            threshold_pct=TAG)
fig.savefig(OUT / "stack_depth.png", dpi=110, bbox_inches="tight")
plt.show()
growth = TF.stack_growth(stack_rows, threshold=threshold)  # power law of the random spread in depth
slope = growth["slope"]
display(Markdown(growth["sentence"]))

# %%
show = sorted({1, 3, max_depth})
shown_maps = {f"{w}, depth {d}": stack_maps[d][w] for w in ("positive", "random") for d in show}
fig = viz.plot_rf_grid(shown_maps, view="time", ncols=len(show),
                       labels=RF.rf_labels(shown_maps, {f"positive, depth {d}": stack[d]["positive"].theory for d in show}),
                       suptitle="3×3×3 stacks: frames × width (summed over height)")
fig.savefig(OUT / "stack_heatmaps.png", dpi=110, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## 2. MTConv: short vs long stream
#
# Three MTConvs (3×3×3, $r = 0.5$): the short stream holds the first half of the channels at full
# resolution, the long stream the rest average-pooled by 2 in $T, H, W$ (MTNet's stem split), and
# each layer adds a lateral from short to long (eq. 2). A 3×3×3 kernel on the half-resolution grid
# covers 6 input frames/pixels, so each long-stream layer adds 4 to the field instead of 2: theory
# $2L + 1 = 7$ (short) and $2 + 4L = 14$ (long) after $L = 3$ layers. This is the mechanism behind
# the paper's Fig. 2: "the receptive fields of the long stream are twice the size of the short stream".

# %%
mt = {w: PR.mtconv_stream_probes(num_layers=3, positive=w == "positive", frames=PROBE_T, size=PROBE_S)
      for w in ("positive", "random")}
mt_maps = {w: {k: p.measure(batch=1 if w == "positive" else RAND_BATCH) for k, p in mt[w].items()} for w in mt}
shown_maps = {f"{k}, {w}": mt_maps[w][k] for w in mt for k in ("short", "long")}
fig = viz.plot_rf_grid(shown_maps, view="both", ncols=4,
                       labels=RF.rf_labels(shown_maps, {f"{k}, positive": mt["positive"][k].theory for k in ("short", "long")}),
                       suptitle="MTConv × 3 (r = 0.5): one centre output of each stream")
fig.savefig(OUT / "mtconv_streams.png", dpi=110, bbox_inches="tight")
plt.show()
mt_claim = RF.span_ratio_claim(mt_maps["positive"]["short"], mt_maps["positive"]["long"])
mt_claim_eff = RF.span_ratio_claim(mt_maps["random"]["short"], mt_maps["random"]["long"], thresh=threshold)
display(Markdown(f"**Support (positive weights).** {RF.theory_check(mt['positive'], mt_maps['positive'])['sentence']} "
                 f"{mt_claim['sentence']}\n\n**Effective (random weights).** {mt_claim_eff['sentence']}"))

# %% [markdown]
# The long stream's field is offset by half a frame: pooling by 2 puts the centre output of the
# half-resolution grid between two input frames, so its 14 frames are not symmetric around frame
# $T/2$. Its heatmap is also blockier: every 2×2×2 block of input positions is averaged before
# the long stream sees it, which is the "larger per-frame area" at lower resolution the paper trades
# for fewer MACs.

# %% [markdown]
# ## 3. MSTI: four scales inside one block
#
# The stepped structure (eq. 1–2): channels split into $N = 4$ groups $X_i$, $S_1 = K_1(X_1)$ with
# a 1×1×1 conv, $S_i = K_i(X_i + S_{i-1})$ with 1×3×3 convs (spatial branch) or 3×1×1 convs
# (temporal branch). Each step adds one kernel to the chain, so group $i$'s output sees
# $(2i-1)$ pixels per side (spatial) or $(2i-1)$ frames (temporal): 1, 3, 5, 7 (Sec. 3.1). Below,
# one probe per group: `msti_probes(branch=...)` measures the centre output of group $i$ only.

# %%
msti = {b: PR.msti_probes(branch=b, frames=PROBE_T, size=PROBE_S) for b in ("spatial", "temporal", "both")}
msti["both + CAW"] = PR.msti_probes(branch="both", caw=True, frames=PROBE_T, size=PROBE_S)
msti_maps = {b: {k: p.measure() for k, p in probes.items()} for b, probes in msti.items()}
for b, view in (("spatial", "space"), ("temporal", "time")):
    shown_maps = {f"{b} {k}": m for k, m in msti_maps[b].items()}
    fig = viz.plot_rf_grid(shown_maps, view=view, ncols=4, crop=11,
                           labels=RF.rf_labels(shown_maps, {f"{b} {k}": p.theory for k, p in msti[b].items()}),
                           suptitle=f"MSTI {b} branch: " + ("height × width" if b == "spatial" else "frames × width")
                                    + " of each group's centre output")
    fig.savefig(OUT / f"msti_{b}.png", dpi=110, bbox_inches="tight")
    plt.show()
for b in ("spatial", "temporal", "both"):
    display(Markdown(f"**{b}.** " + RF.theory_check(msti[b], msti_maps[b])["sentence"]))

# %% [markdown]
# The whole multi-scale block outputs $\mathrm{concat}(S) + \mathrm{concat}(T)$ (eq. 8, variant
# MS(ST)): group $i$ sees a **cross**, $(2i-1)$ frames at the centre pixel plus $(2i-1)^2$ pixels
# at the centre frame, never the corners of the $(2i-1)^3$ cube. The CAW blocks (eq. 4–7) multiply
# each group by channel weights computed from *global* average pools of the block's features, so
# with CAW every input position reaches every output — weakly. The 1-D profiles show both.

# %%
caw = msti_maps["both + CAW"]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
viz.plot_temporal_profiles(profiles({f"MS(ST) {k}": m for k, m in msti_maps["both"].items()}), ax=axes[0],
                           title="MS(ST): mass per frame (peak = 1)")
viz.plot_temporal_profiles(profiles({f"MSTI (+CAW) {k}": m for k, m in caw.items()}), ax=axes[1], normalize="sum",
                           title="MSTI with CAW: mass per frame (sum = 1)")
axes[1].set_yscale("log")
fig.tight_layout()
fig.savefig(OUT / "msti_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
caw_sup = [RF.rf_extent(m).frames for m in caw.values()]
caw_out = [RF.mass_outside(m, radius=i - 1) for i, m in enumerate(caw.values(), start=1)]  # group i: ±(i-1) frames
display(Markdown(
    f"With CAW the support of every group is {min(caw_sup)}–{max(caw_sup)} of {PROBE_T} frames (the whole probe clip), "
    f"and the share of the gradient outside group $i$'s own $(2i-1)$ frames is "
    + ", ".join(f"{100 * v:.2g}%" for v in caw_out) + " for groups 1–4 (positive weights)."))

# %% [markdown]
# ## 4. MixTConv's kernels and TSM's shift
#
# MixTConv (eq. 1–2) splits $C$ channels into groups, each with a depthwise temporal kernel $k_m$
# (default 1/3/5/7), optionally dilated by $d_m$ (taps at $t + d_m j$). One group sees
# $(k_m - 1) d_m + 1$ frames, with holes when $d_m > 1$: only $k_m$ of them. Where MSTI chains
# kernels within a block to build its scales, MixTConv puts them **side by side** in one layer, each
# on its own channels. TSM moves $1/8$ of the channels one frame back and $1/8$ one frame forward:
# each channel still sees one frame, but not necessarily its own. Built with `init="tsm"` (the probe
# "MixTConv (TSM init)"), MixTConv starts as exactly that: whatever their kernel size, at
# initialisation the groups read only $t-1$, $t$ or $t+1$. The default, the official code's init
# (`init="official"`), differs in the 5- and 7-frame groups: their shifted channels start as sums of
# 2 and 3 neighbouring frames on one side, so they already read up to $t \pm 3$.

# %%
mix_sets = {f: PR.mechanism_probes(f, frames=PROBE_T, size=PROBE_S)
            for f in ("MixTConv", "MixTConv dilated", "MixTConv (TSM init)", "TSM")}
mix_maps = {f: {k: p.measure() for k, p in probes.items()} for f, probes in mix_sets.items()}
fig, axes = plt.subplots(1, 4, figsize=(17, 3.3), sharey=True)
for ax, (f, maps) in zip(axes, mix_maps.items()):
    viz.plot_temporal_profiles(profiles(maps), ax=ax, title=f)
    ax.set_xlim(PROBE_T // 2 - 5, PROBE_T // 2 + 5)
fig.tight_layout()
fig.savefig(OUT / "mixtconv_tsm_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
shown_maps = {f"{f}: {k}": m for f in ("MixTConv", "MixTConv dilated") for k, m in mix_maps[f].items()}
fig = viz.plot_rf_grid(shown_maps, view="time", ncols=4, crop=9,
                       labels=RF.rf_labels(shown_maps, {f"{f}: {k}": p.theory for f in ("MixTConv", "MixTConv dilated")
                                                        for k, p in mix_sets[f].items()}),
                       suptitle="MixTConv kernel groups (positive taps): frames × width")
fig.savefig(OUT / "mixtconv_heatmaps.png", dpi=110, bbox_inches="tight")
plt.show()
c = PROBE_T // 2
tsm_ranges = {k: RF.rf_extent(m).t_range for k, m in mix_maps["TSM"].items()}
init_frames = {k: [t - c for t in range(RF.rf_extent(m).t_range[0], RF.rf_extent(m).t_range[1] + 1)
                   if m[t].any()] for k, m in mix_maps["MixTConv (TSM init)"].items()}
display(Markdown(
    f"**MixTConv.** {RF.theory_check(mix_sets['MixTConv'], mix_maps['MixTConv'])['sentence']}\n\n"
    f"**Dilated (k = 3, d = 1/2/3).** {RF.theory_check(mix_sets['MixTConv dilated'], mix_maps['MixTConv dilated'])['sentence']}\n\n"
    "**TSM.** The centre output (frame " + str(c) + ") of each channel group depends on frame "
    + ", ".join(f"{rng[0]} ({k})" for k, rng in tsm_ranges.items()) + ".\n\n"
    "**MixTConv with `init=\"tsm\"`, at initialisation.** Frames read, relative to the output's: "
    + ", ".join(f"{k}: {v}" for k, v in init_frames.items())
    + ". With this init only training can move weight onto the longer kernels' outer taps; the default "
    "official init starts some of it there (section 5)."))

# %% [markdown]
# ## 5. Before and after training
#
# Which of these fields do trained networks use? Each network in `models` is trained briefly on
# SynthActions and the effective field of each **stage output** (`layer1`–`layer4`, or MTNet's
# `stages.0`–`stages.3`, before that stage's Squeeze-and-Recursion) is measured on `probe_clips` real test
# clips (gradients of the centre output summed over clips and channels), once with the weights the
# run started from (rebuilt from the run's seed exactly as `fit` builds them) and once with the
# trained weights. Per map: the support (frames with any gradient), the frames carrying at least
# `threshold` of the peak frame's mass, the **spread** (standard deviation of the temporal profile,
# frames) and the share of the mass in the best 3-frame window. Two things to know when reading
# MTNet's rows: its stage outputs include the Squeeze-and-Recursion of the *earlier* stages, a GRU
# running forward over the frames, so their support reaches back towards the first frame; and its
# SoftPool layers weigh positions by their activation, so its maps follow the moving figure.
#
# **Why these networks and defaults.** r3d-18 is the plain 3×3×3 network; MSTI-Net-small stacks
# MSTI tubes; MTNet-32 runs MTConvs (both streams are measured); MSTNet-small is a TSN 2D ResNet
# with a MixTConv before each bottleneck. 640 clips × 5 epochs at width 0.25 keep the four runs to
# a few minutes on two cores: accuracies after so few steps are modest, but the point is the
# *change* in the fields, which is visible long before the networks are good; the measured step
# times and the chapter's wall-clock are in `benchmarks/README.md`, section *receptive_fields*.

# %% tags=["hide-input"]
T, H, W = clip
data_kwargs = setup.data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
base = setup.base_config(dataset=dataset, dataset_kwargs=data_kwargs, train_samples=train_samples, epochs=epochs,
                         batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
FOLDED = ("mstnet_small", "tsm_small", "tsn_small")  # TSN-style: built for num_segments = T
MODEL_KW = {"mstnet_small": dict(num_segments=T, init="official"), "tsm_small": dict(num_segments=T),
            "tsn_small": dict(num_segments=T), "mtnet32": dict(MTNET_READING)}  # defaults named, so run tags follow them
variants = {m: (replace(base, model=m, model_kwargs=dict(width=width, **MODEL_KW.get(m, {}))), dict(model=m))
            for m in sorted(models, key=lambda m: m not in FOLDED)}  # the slow 2D-over-16-frames runs start first
configs, extras = setup.build_runs(variants)
runs, train_wall = grid.train_grid(configs, seeds, OUT / "runs", extras=extras)  # one run per core

# %% tags=["hide-input"]
test_set = setup.split_dataset(base, "test")  # the clips the runs were tested on (real videos: one view each)
X = torch.stack([test_set[i][0] for i in range(min(probe_clips, len(test_set)))])  # (N, 3, T, H, W)
NETS = {}  # (model, seed) -> {"before": net, "after": net}
rows, maps_at_stage = [], {}
for run in runs:
    cfg = configs[run["name"]]
    NETS[(run["model"], run["seed"])] = nets = {
        "before": TF.initial_model(cfg.model, cfg.model_kwargs, seed=run["seed"], num_classes=test_set.num_classes,
                                   device=DEV),  # the weights the run started from
        "after": load_model(run["run_dir"], device=DEV)}
    run_rows, run_maps = TF.stage_fields(run, nets, X, threshold=threshold, stage=stage)
    rows += run_rows
    maps_at_stage.update(run_maps)
print(f"{len(rows)} (network, seed, stage, stream) rows measured")

# %% [markdown]
# ### The numbers
#
# Test top-1 of each network, then, per stage output, support / frames ≥ threshold / spread /
# 3-frame mass before → after training (means over seeds).

# %%
acc = summarize(runs, by=("model",), metric="top1")
display(Markdown(markdown_table(["network", "test top-1 (%)", "n"],
                                [[e["model"], f"{100 * e['mean']:.1f}" + (f" ± {100 * e['ci']:.1f}" if e["n"] > 1 else ""),
                                  e["n"]] for e in acc])))
display(Markdown(markdown_table(*TF.stage_table(rows, threshold=threshold))))

# %%
fig = viz.plot_spread_by_stage(TF.spread_by_stage(rows, models), title="Effective temporal spread of each stage output, "
                               "before (dashed) and after (solid) training")
fig.savefig(OUT / "trained_spread.png", dpi=110, bbox_inches="tight")
plt.show()

# %% [markdown]
# The deep layer (stage `stage`) of the first seed of each network: profiles over time and the
# frames × width heatmaps before and after.

# %%
seed0 = runs[0]["seed"]
keys = [(m, s) for m in models for s in (["short", "long"] if m.startswith("mtnet") else ["-"])]
fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.2), squeeze=False)
for ax, (m, s) in zip(axes[0], keys):
    viz.plot_temporal_profiles(profiles({w: maps_at_stage[(m, s, seed0, w)] for w in ("before", "after")}), ax=ax,
                               title=f"{m}{'' if s == '-' else ' ' + s}, stage {stage}")
fig.tight_layout()
fig.savefig(OUT / "trained_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
fig = viz.plot_rf_grid({f"{m}{'' if s == '-' else ' ' + s}: {w}": maps_at_stage[(m, s, seed0, w)]
                        for w in ("before", "after") for (m, s) in keys}, view="time", ncols=len(keys),
                       suptitle=f"Stage {stage} output, centre unit: frames × width, before (top) and after (bottom) "
                                "training")
fig.savefig(OUT / "trained_heatmaps.png", dpi=110, bbox_inches="tight")
plt.show()

# %% [markdown]
# ### What changed, in words
#
# Computed per network for the deep layer (paired over seeds; with one seed there is no CI and the
# sentence only says which way this run moved):

# %%
verdicts = TF.stage_changes(rows, keys, stage=stage, threshold=threshold, mean_ci=mean_ci)  # {label: {metric: sentence}}
display(Markdown("\n".join("* " + "; ".join(v.values()) + "." for v in verdicts.values())))
moved = TF.spread_moves(rows, keys, stage=stage)  # wider / narrower / unchanged
display(Markdown(f"**Summary, stage {stage} spread (mean over {seeds} seed{'s' if seeds > 1 else ''}).** "
                 + "; ".join(f"{k}: {', '.join(v)}" for k, v in moved.items() if v) + "."))

# %% [markdown]
# ### MixTConv: do the long kernels get used?
#
# For every MixTConv of the trained MSTNet(s), each kernel group's own field (`mixtconv_probes(module=...)`:
# the absolute taps, summed over the group's channels) and the share of it that lies **more than
# one frame** from the output's frame, i.e. what a TSM shift could not reach. With `init="tsm"` that
# share is exactly 0 for every group at initialisation; the networks here use the default official
# init, whose 5- and 7-groups start with part of their weight there ("before").

# %%
tap_rows = TF.mixtconv_taps(NETS)  # per MSTNet run, before / after, block and kernel group
if tap_rows:
    fig = viz.plot_beyond_one_frame(TF.taps_by_module(tap_rows), title="MixTConv after training: weight on frames a "
                                    "TSM shift cannot reach")
    fig.savefig(OUT / "mixtconv_learned_taps.png", dpi=110, bbox_inches="tight")
    plt.show()
    display(Markdown(TF.taps_sentence(tap_rows)))
else:
    display(Markdown("(No MSTNet in `models`: add `mstnet_small` to see MixTConv's learned taps.)"))

# %% [markdown]
# ### Results files
#
# `results.csv`: one row per (network, seed, stage, stream) with every number before and after;
# `summary.csv`: the change of the spread per (network, layer, stream), mean ± 95% CI over seeds;
# `results.json`: both, plus the mechanism probes' measured extents, the MixTConv taps and the sentences.

# %% tags=["hide-input"]
summary = summarize(rows, by=("model", "layer", "stream"), metric="d_spread_frames")
mechanisms = {
    "stack": stack_rows,
    "mtconv": {w: {k: list(RF.rf_extent(m).size) for k, m in maps.items()} for w, maps in mt_maps.items()},
    "mtconv_claim": {"support": mt_claim["sentence"], "effective": mt_claim_eff["sentence"]},
    "msti": {b: {k: list(RF.rf_extent(m).size) for k, m in maps.items()} for b, maps in msti_maps.items()},
    "mixtconv_tsm": {f: {k: list(RF.rf_extent(m).size) + [list(RF.rf_extent(m).t_range)] for k, m in maps.items()}
                     for f, maps in mix_maps.items()},
}
write_results(rows, summary, OUT, extra={
    "mechanisms": mechanisms, "stack_slope": slope, "mixtconv_taps": tap_rows,
    "verdicts": verdicts,
    "train_wall_minutes": train_wall / 60, "smoke": smoke,
})
print(f"wrote {OUT / 'results.csv'}, {OUT / 'summary.csv'}, {OUT / 'results.json'} and "
      f"{len(list(OUT.glob('*.png')))} figures")

# %% [markdown]
# ## 6. Explorer
#
# Pick a mechanism (or a trained network), a group / stream, a depth (layers of the conv or MTConv
# stack; the stage of a trained network) and the weights (positive: the exact support; random:
# the effective field; before / after training). In JupyterLab (a live kernel) the figure below the
# controls appears once a control is moved, and the default selection is drawn after the player.

# %% tags=["hide-input", "remove-output"]
TRAINED = {f"trained: {m}": m for m in models}
members_of = functools.partial(TF.field_members, trained=TRAINED, frames=PROBE_T, size=PROBE_S)
weights_of = functools.partial(TF.field_weights, trained=TRAINED)
view = functools.partial(TF.field_view, trained=TRAINED, nets={m: n for (m, s), n in NETS.items() if s == seed0}, x=X,
                         frames=PROBE_T, size=PROBE_S, rand_batch=RAND_BATCH)  # measure one selection
explore = lambda what, member, depth, weights: viz.shown(viz.plot_field_view(**view(what, member, depth, weights)))
controls = dict(
    what=widgets.Dropdown(options=[*PR.PROBE_FAMILIES, *TRAINED], value="MixTConv", description="probe"),
    member=widgets.Dropdown(options=members_of("MixTConv"), value="k=7", description="group"),
    depth=widgets.IntSlider(value=3, min=1, max=max(max_depth, 4), description="depth"),
    weights=widgets.Dropdown(options=weights_of("MixTConv"), value="positive (support)", description="weights"),
)
display(viz.make_explorer(explore, controls, rows=[["what", "member"], ["depth", "weights"]],
                          ready=lambda v: v["member"] is not None and v["weights"] is not None,
                          linked={"what": {"member": members_of, "weights": weights_of}}))  # draws on a change only

# %% [markdown]
# **In the book, without a kernel**, the controls cannot redraw anything, so a sweep over **depth**
# is precomputed and played below (drag the slider, or ▶ to play it; `actionrec.viz.static_explorer`):
# the effective field (random weights) of the 3×3×3 stack at depths 1 to `max_depth` and of MTConv's
# long stream at depths 1–4, then each trained network's stage outputs 1–4 after training (the first
# seed). Depth is the control the figures above show only at a few values (the stack at three
# depths, the trained networks at stage `stage`); the other probe families do not depend on depth,
# and all their groups are drawn in sections 3 and 4. A smoke run plays the first and the last
# depth only, and one trained network.

# %% tags=["hide-input"]
t0 = time.time()
stages = [1, 4] if smoke else [1, 2, 3, 4]  # MTConv layers, trained networks' stages
player_depths = {"conv stack": [1, max_depth] if smoke else list(range(1, max_depth + 1)), "MTConv": stages,
                 **{what: stages for what in list(TRAINED)[:1 if smoke else None]}}
player_frames = [sel for what, depths in player_depths.items() for sel in viz.sweep(  # the last member: long stream
    dict(what=what, member=members_of(what)[-1], depth=1, weights=weights_of(what)[-1]), depth=depths)]  # random/after
player = viz.static_explorer(lambda **sel: viz.plot_field_view(**view(**sel)), player_frames,
                             label=lambda sel: f"{sel['what']}, depth {sel['depth']}: {sel['weights']}")
display(HTML(player))
player_s = time.time() - t0

# %% [markdown] tags=["remove-cell"]
# The default selection, drawn statically (what JupyterLab shows until a control is moved; the book
# shows the player above instead):

# %% tags=["remove-cell"]
fig = explore("MixTConv", "k=7", 3, "positive (support)")
fig.savefig(OUT / "explorer_default.png", dpi=90, bbox_inches="tight")
print(f"notebook wall time: {time.time() - t_start:.0f} s (the book's player: {len(player_frames)} frames, "
      f"{len(player) / 1e3:.0f} kB, {player_s:.1f} s)")

# %% [markdown]
# ## Reading the result
#
# First the checks of sections 1–4 in one line (computed from the maps):

# %% tags=["hide-input"]
checks = {"3×3×3 stack": stack_check, "MTConv": RF.theory_check(mt["positive"], mt_maps["positive"]),
          **{f"MSTI {b}": RF.theory_check(msti[b], msti_maps[b]) for b in ("spatial", "temporal", "both")},
          **{f: RF.theory_check(mix_sets[f], mix_maps[f]) for f in ("MixTConv", "MixTConv dilated")}}
n_probes = sum(len([r for r in c["rows"] if r["match"] is not None]) for c in checks.values())
bad = [k for k, c in checks.items() if not c["all_match"]]
display(Markdown(
    (f"All {n_probes} positive-weight probes of {len(checks)} mechanisms have exactly their analytic support"
     if not bad else f"Probes of {', '.join(bad)} differ from their analytic support (see above)")
    + f"; MTNet's long stream sees ×{mt_claim['ratio_frames']:.2f} the short stream's frames and "
    f"×{mt_claim['ratio_width']:.2f} its pixels (support), ×{mt_claim_eff['ratio_frames']:.2f} / "
    f"×{mt_claim_eff['ratio_width']:.2f} at {TAG}% of the peak with random weights; the random 3×3×3 stack's "
    f"spread grows as depth^{slope:.2f}."))

# %% tags=["remove-cell"]
glue("rf_checks", f"All {n_probes} positive-weight probes of {len(checks)} mechanisms have exactly their analytic "
     "support" if not bad else f"The probes of {', '.join(bad)} differ from their analytic support", display=False)
glue("mt_ratio", float(mt_claim["ratio_frames"]), display=False)
glue("mt_ratio_eff", float(mt_claim_eff["ratio_frames"]), display=False)
glue("rf_threshold", TAG, display=False)
glue("stack_slope", float(slope), display=False)
glue("rf_stage", int(stage), display=False)
glue("rf_moves", "; ".join(f"{k}: {', '.join(v)}" for k, v in moved.items() if v) or "no change", display=False)

# %% [markdown]
#
# * **The mechanisms, as built here, against their papers.** With positive weights the supports
#   should be the analytic extents (the line above checks it): $2L+1$ for the 3×3×3 stack, $2L+1$
#   vs $4L+2$ frames and pixels for MTConv's short vs long stream (MTNet's "twice as large", which
#   is exact for the support), $2i-1$ for MSTI's group $i$ in space and in time (Sec. 3.1),
#   $(k-1)d+1$ frames for MixTConv's kernel groups, and $t\pm1$ for TSM's shifted channels. A
#   change to a layer that broke one of these would show here (and fail
#   `tests/test_analysis_receptive.py`).
# * **Effective and theoretical.** With random weights the gradient of a deep stack concentrates
#   in the middle of its field, and Luo et al. derive that its spread grows like $\sqrt{L}$ while
#   the extent grows like $L$ (the fitted exponent above says how it grows here); compare,
#   likewise, the long stream's effective ratio with its ×2 support. A field's *extent* says little
#   about what a unit mostly responds to; the CAW blocks make MSTI's support global while carrying
#   the share of the gradient computed in section 3.
# * **MSTI vs MixTConv.** Both give one layer several temporal scales on different channels. MSTI
#   builds them *in series* (group $i$ reuses group $i-1$'s output, so the scales share weights and
#   the large scale sees a smoothed version of the small one); MixTConv *in parallel* (independent
#   kernels, with holes when dilated). MSTI's temporal branch also only ever sees the centre pixel
#   (its cross shape); spatial context comes from the other branch.
# * **How training can move the fields.** What can move is fixed by the architecture.
#   A block that starts as the identity can only grow its field as training switches it on:
#   MixTConv built with `init="tsm"` starts as TSM (±1 frame per block, and no shift at all in a
#   block whose groups hold fewer than 8 channels, as `layer1` at width 0.25), so only training can
#   put weight on its 5- and 7-frame groups' outer taps; the default official init starts those
#   groups' shifted channels at up to ±3 frames; MTNet-32 starts with every residual branch zeroed
#   (`zero_init_residual`). A Kaiming-initialised 3D ResNet starts with its full support already
#   connected, and training can only redistribute the gradient over it, towards the centre or away
#   from it. The summary line and the sentences above say which way each network moved in this
#   run; with `seeds > 1` they come with paired 95% CIs. TSM's shift itself has no weights: its
#   support cannot change at all (`-p models '["tsm_small", "mstnet_small"]'` shows the contrast).
#
# To look further: `-p epochs 20`, `-p seeds 3` (CIs on the changes), `-p stage 2`,
# `-p difficulty medium`, or the explorer.
