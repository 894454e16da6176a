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
# * **MTConv** (MTNet, Stergiou & Poppe 2021) runs part of the channels as a *long stream* at half
#   resolution: "with the same kernel size as the short stream, the receptive field is twice as large";
# * **MSTI** (Wu et al. 2020) splits a block's channels into four groups chained by a *stepped*
#   structure, so group $i$ sees $2i-1$ pixels (spatial branch) or frames (temporal branch): four
#   scales, 1/3/5/7, inside **one** block;
# * **MixTConv** (Shan et al. 2020) gives each channel group its own depthwise temporal kernel
#   (1/3/5/7 frames, optionally dilated): mixed temporal kernels in **one** layer, initialised as TSM
#   (Lin et al. 2019), whose shift lets a channel see frame $t-1$ or $t+1$ instead of $t$.
#
# This chapter *measures* those fields. The **theoretical** receptive field of a chain of layers
# with kernels $k_l$, strides $s_l$ and dilations $d_l$ follows the recursion
# $r_l = r_{l-1} + (k_l - 1)\, d_l\, j_{l-1}$, $j_l = j_{l-1} s_l$ ($r_0 = j_0 = 1$). The
# **effective** receptive field (Luo et al., NIPS 2016) is the gradient of one centre output
# $y_{t_0 h_0 w_0}$ with respect to the input clip, $|\partial y / \partial x_{c,t,h,w}|$ summed
# over channels: a $(T, H, W)$ map (`actionrec.receptive.effective_rf`). With every weight set to
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
# 6. an explorer (ipywidgets) to pick the mechanism, group/stream, depth and weights.

# %% tags=["parameters"]
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

# %%
import math
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from actionrec import ablation as A
from actionrec import experiments as ex
from actionrec import params as P
from actionrec import receptive as R
from actionrec.models import build_model
from actionrec.models.tsn import temporal_modules
from actionrec.train import load_model
from actionrec.utils import get_device, seed_everything

TRAINABLE = ["r3d_18", "c3d_small", "msti_net_small", "mtnet32", "mstnet_small", "tsm_small", "tsn_small"]
P.check_list("models", models, item="str", choices=TRAINABLE)
P.check_int("stage", stage, min_value=1, max_value=4)
P.check_int("max_depth", max_depth, min_value=2, max_value=12)
P.check_int("probe_clips", probe_clips, min_value=1)
P.check_float("threshold", threshold, min_value=0.01, max_value=0.99)
P.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples, batch_size=batch_size,
               lr=lr, dataset=dataset, data_root=data_root, split=split, difficulty=difficulty, device=device,
               smoke=smoke)  # shared rules: actionrec.params
P.check_clip(clip, min_size=(16, 32, 32), why="the networks need T >= 16 and H, W >= 32")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    models, seeds, epochs, width = ["mtnet32", "mstnet_small"], 1, 1, 0.125
    clip, train_samples, batch_size, max_depth, probe_clips = [16, 32, 32], 64, 16, 4, 4
OUT = P.make_out_dir(out_dir, "receptive_fields")
DEV = get_device(device)
print(f"results -> {OUT}  (device: {DEV})")
t_start = time.time()
PROBE_T, PROBE_S = 16, 32  # clip size of the mechanism probes (the stack gets 2 max_depth + 16 frames)
TAG = f"{int(round(100 * threshold))}"  # rf_stats key suffix: frames_50 ...
RAND_BATCH = 4 if smoke else 16  # random positive clips the random-weight probes are averaged over

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
stack = {d: {w: R.conv_stack_probe(d, positive=w == "positive", frames=stack_T, size=stack_T)
             for w in ("positive", "random")} for d in depths}
stack_maps = {d: {"positive": stack[d]["positive"].measure(), "random": stack[d]["random"].measure(batch=RAND_BATCH)}
              for d in depths}
stack_check = R.theory_check({f"depth {d}": stack[d]["positive"] for d in depths},
                             {f"depth {d}": stack_maps[d]["positive"] for d in depths})
stack_rows = []
for d in depths:
    s_rand = R.rf_stats(stack_maps[d]["random"], thresh=threshold)
    stack_rows.append(dict(depth=d, theory=stack[d]["positive"].theory[0],
                           support=R.rf_extent(stack_maps[d]["positive"]).frames,
                           random_extent=s_rand[f"frames_{TAG}"], random_spread=s_rand["spread_frames"],
                           random_mass_3=s_rand["mass_3"]))
lines = [f"| depth | theory (frames) | support, positive weights | random weights: frames ≥ {TAG}% | spread (frames) | spread / √depth |",
         "|---|---|---|---|---|---|"]
for r in stack_rows:
    lines.append(f"| {r['depth']} | {r['theory']} | {r['support']} | {r['random_extent']} | {r['random_spread']:.2f} | "
                 f"{r['random_spread'] / math.sqrt(r['depth']):.2f} |")
display(Markdown("\n".join(lines)))
display(Markdown(stack_check["sentence"]))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
ds = np.array(depths, dtype=float)
spread = np.array([r["random_spread"] for r in stack_rows])
axes[0].plot(ds, [r["theory"] for r in stack_rows], "o-", label="theoretical extent (frames)")
axes[0].plot(ds, [r["random_extent"] for r in stack_rows], "s-", label=f"random weights: frames ≥ {TAG}% of peak")
axes[0].plot(ds, 2 * spread, "^-", label="random weights: 2 × spread (std of the profile)")
axes[0].set_xlabel("depth (3×3×3 layers)")
axes[0].set_ylabel("frames")
axes[0].legend(fontsize=8)
axes[0].grid(alpha=0.3)
axes[0].set_title("Theoretical vs effective temporal extent", fontsize=10)
R.plot_temporal_profiles({f"depth {d}": stack_maps[d]["random"] for d in depths}, ax=axes[1],
                         title="Random-weight stacks: gradient mass per frame")
fig.tight_layout()
fig.savefig(OUT / "stack_depth.png", dpi=110, bbox_inches="tight")
plt.show()

slope = float(np.polyfit(np.log(ds), np.log(spread), 1)[0])
closer = ("closer to Luo et al.'s √depth (exponent 0.5) than to linear growth (exponent 1)" if abs(slope - 0.5) < abs(slope - 1.0)
          else "closer to linear growth (exponent 1) than to Luo et al.'s √depth (exponent 0.5)")
display(Markdown(
    f"A power law fitted to the random-weight spread over depths 1–{depths[-1]} gives spread ∝ depth^{slope:.2f}, "
    f"{closer}, while the theoretical extent grows as 2·depth + 1: at depth {depths[-1]} the frames carrying at least "
    f"{TAG}% of the peak frame's mass are {stack_rows[-1]['random_extent']} of the {stack_rows[-1]['theory']} it could "
    f"see, and the best 3 frames hold {100 * stack_rows[-1]['random_mass_3']:.0f}% of the gradient."))

# %%
show = sorted({1, 3, max_depth})
fig = R.plot_rf_grid({f"{w}, depth {d}": stack_maps[d][w] for w in ("positive", "random") for d in show},
                     view="time", ncols=len(show), theories={f"positive, depth {d}": stack[d]["positive"].theory for d in show},
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
mt = {w: R.mtconv_stream_probes(num_layers=3, positive=w == "positive", frames=PROBE_T, size=PROBE_S)
      for w in ("positive", "random")}
mt_maps = {w: {k: p.measure(batch=1 if w == "positive" else RAND_BATCH) for k, p in mt[w].items()} for w in mt}
fig = R.plot_rf_grid({f"{k}, {w}": mt_maps[w][k] for w in mt for k in ("short", "long")}, view="both", ncols=4,
                     theories={f"{k}, positive": mt["positive"][k].theory for k in ("short", "long")},
                     suptitle="MTConv × 3 (r = 0.5): one centre output of each stream")
fig.savefig(OUT / "mtconv_streams.png", dpi=110, bbox_inches="tight")
plt.show()
mt_claim = R.span_ratio_claim(mt_maps["positive"]["short"], mt_maps["positive"]["long"])
mt_claim_eff = R.span_ratio_claim(mt_maps["random"]["short"], mt_maps["random"]["long"], thresh=threshold)
display(Markdown(f"**Support (positive weights).** {R.theory_check(mt['positive'], mt_maps['positive'])['sentence']} "
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
msti = {b: R.msti_probes(branch=b, frames=PROBE_T, size=PROBE_S) for b in ("spatial", "temporal", "both")}
msti["both + CAW"] = R.msti_probes(branch="both", caw=True, frames=PROBE_T, size=PROBE_S)
msti_maps = {b: {k: p.measure() for k, p in probes.items()} for b, probes in msti.items()}
fig = R.plot_rf_grid({f"spatial {k}": m for k, m in msti_maps["spatial"].items()}, view="space", ncols=4, crop=11,
                     theories={f"spatial {k}": p.theory for k, p in msti["spatial"].items()},
                     suptitle="MSTI spatial branch: height × width of each group's centre output")
fig.savefig(OUT / "msti_spatial.png", dpi=110, bbox_inches="tight")
plt.show()
fig = R.plot_rf_grid({f"temporal {k}": m for k, m in msti_maps["temporal"].items()}, view="time", ncols=4, crop=11,
                     theories={f"temporal {k}": p.theory for k, p in msti["temporal"].items()},
                     suptitle="MSTI temporal branch: frames × width of each group's centre output")
fig.savefig(OUT / "msti_temporal.png", dpi=110, bbox_inches="tight")
plt.show()
for b in ("spatial", "temporal", "both"):
    display(Markdown(f"**{b}.** " + R.theory_check(msti[b], msti_maps[b])["sentence"]))

# %% [markdown]
# The whole multi-scale block outputs $\mathrm{concat}(S) + \mathrm{concat}(T)$ (eq. 8, variant
# MS(ST)): group $i$ sees a **cross**, $(2i-1)$ frames at the centre pixel plus $(2i-1)^2$ pixels
# at the centre frame, never the corners of the $(2i-1)^3$ cube. The CAW blocks (eq. 4–7) multiply
# each group by channel weights computed from *global* average pools of the block's features, so
# with CAW every input position reaches every output — weakly. The 1-D profiles show both.

# %%
caw = msti_maps["both + CAW"]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
R.plot_temporal_profiles({f"MS(ST) {k}": m for k, m in msti_maps["both"].items()}, ax=axes[0],
                         title="MS(ST): mass per frame (peak = 1)")
R.plot_temporal_profiles({f"MSTI (+CAW) {k}": m for k, m in caw.items()}, ax=axes[1], normalize="sum",
                         title="MSTI with CAW: mass per frame (sum = 1)")
axes[1].set_yscale("log")
fig.tight_layout()
fig.savefig(OUT / "msti_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
caw_sup = [R.rf_extent(m).frames for m in caw.values()]
caw_out = [R.mass_outside(m, radius=i - 1) for i, m in enumerate(caw.values(), start=1)]  # group i: ±(i-1) frames
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
# each channel still sees one frame, but not necessarily its own. MixTConv's TSM-like
# initialisation (NOTES.md) makes it start as exactly that: whatever their kernel size, at
# initialisation the groups read only $t-1$, $t$ or $t+1$.

# %%
mix_sets = {f: R.mechanism_probes(f, frames=PROBE_T, size=PROBE_S)
            for f in ("MixTConv", "MixTConv dilated", "MixTConv (TSM init)", "TSM")}
mix_maps = {f: {k: p.measure() for k, p in probes.items()} for f, probes in mix_sets.items()}
fig, axes = plt.subplots(1, 4, figsize=(17, 3.3), sharey=True)
for ax, (f, maps) in zip(axes, mix_maps.items()):
    R.plot_temporal_profiles(maps, ax=ax, title=f)
    ax.set_xlim(PROBE_T // 2 - 5, PROBE_T // 2 + 5)
fig.tight_layout()
fig.savefig(OUT / "mixtconv_tsm_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
fig = R.plot_rf_grid({f"{f}: {k}": m for f in ("MixTConv", "MixTConv dilated") for k, m in mix_maps[f].items()},
                     view="time", ncols=4, crop=9, theories={f"{f}: {k}": p.theory for f in ("MixTConv", "MixTConv dilated")
                                                             for k, p in mix_sets[f].items()},
                     suptitle="MixTConv kernel groups (positive taps): frames × width")
fig.savefig(OUT / "mixtconv_heatmaps.png", dpi=110, bbox_inches="tight")
plt.show()
c = PROBE_T // 2
tsm_ranges = {k: R.rf_extent(m).t_range for k, m in mix_maps["TSM"].items()}
init_frames = {k: [t - c for t in range(R.rf_extent(m).t_range[0], R.rf_extent(m).t_range[1] + 1)
                   if m[t].any()] for k, m in mix_maps["MixTConv (TSM init)"].items()}
display(Markdown(
    f"**MixTConv.** {R.theory_check(mix_sets['MixTConv'], mix_maps['MixTConv'])['sentence']}\n\n"
    f"**Dilated (k = 3, d = 1/2/3).** {R.theory_check(mix_sets['MixTConv dilated'], mix_maps['MixTConv dilated'])['sentence']}\n\n"
    "**TSM.** The centre output (frame " + str(c) + ") of each channel group depends on frame "
    + ", ".join(f"{rng[0]} ({k})" for k, rng in tsm_ranges.items()) + ".\n\n"
    "**MixTConv at its TSM-like initialisation.** Frames read, relative to the output's: "
    + ", ".join(f"{k}: {v}" for k, v in init_frames.items())
    + ". Only training can move weight onto the longer kernels' outer taps (section 5)."))

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
# with a MixTConv before each bottleneck. Measured on one core here (16×32×32, batch 32, width
# 0.25): a train step costs 0.56 s (r3d-18, the SRTG chapter's figure), 0.22 s (MSTI-Net), 0.29 s
# (MTNet-32), 0.9–1.3 s (MSTNet: 2D convs over 16 frames folded into the batch); 640 clips ×
# 5 epochs = 100 steps per run,
# about 2.5 minutes for the four runs on two cores (one run per core; the MSTNet run starts first
# and takes as long as the other three together); the whole notebook, `make run-receptive_fields` on
# a fresh `build/`, took **3.2 minutes** (other jobs sharing the machine).
# Accuracies after so few steps are modest (the table shows them); the point is the *change* in
# the fields, which is visible long before the networks are good. Finished runs are reused.

# %%
T, H, W = clip
data_kwargs = A.data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
base = A.base_config(dataset=dataset, dataset_kwargs=data_kwargs, train_samples=train_samples, epochs=epochs,
                     batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
FOLDED = ("mstnet_small", "tsm_small", "tsn_small")  # TSN-style: built for num_segments = T
variants = {m: (replace(base, model=m, model_kwargs=dict(width=width, **(dict(num_segments=T) if m in FOLDED else {}))),
                dict(model=m))
            for m in sorted(models, key=lambda m: m not in FOLDED)}  # the slow 2D-over-16-frames runs start first
configs, extras = A.build_runs(variants)
runs, train_wall = A.train_grid(configs, seeds, OUT / "runs", extras=extras)  # one run per core

# %%
test_set = A.split_dataset(base, "test")  # the clips the runs were tested on (real videos: one view each)
X = torch.stack([test_set[i][0] for i in range(min(probe_clips, len(test_set)))])  # (N, 3, T, H, W)
NUM_CLASSES = test_set.num_classes


def initial_model(cfg, seed):
    """The weights run `seed` of `cfg` started from: `fit` seeds everything, then builds."""
    seed_everything(seed)
    return build_model(cfg.model, num_classes=NUM_CLASSES, **cfg.model_kwargs).to(DEV)


NETS = {}  # (model, seed) -> {"before": net, "after": net}
rows, maps_at_stage = [], {}
for run in runs:
    cfg = configs[run["name"]]
    nets = {"before": initial_model(cfg, run["seed"]), "after": load_model(run["run_dir"], device=DEV)}
    NETS[(run["model"], run["seed"])] = nets
    streams = ["short", "long"] if run["model"].startswith("mtnet") else [None]
    for k, layer in enumerate(R.stage_layers(nets["before"]), start=1):
        for stream in streams:
            row = dict(name=run["name"], model=run["model"], seed=run["seed"], stage=k, layer=layer,
                       stream=stream or "-", top1=run["top1"], run_dir=run["run_dir"])
            for when, net in nets.items():
                rf = R.layer_probe(net, layer, tuple(X.shape[1:]), stream=stream).measure(x=X)
                for key, v in R.rf_stats(rf, thresh=threshold).items():
                    row[f"{when}_{key}"] = v
                if k == stage:
                    maps_at_stage[(run["model"], stream or "-", run["seed"], when)] = rf
            for key in ("spread_frames", f"frames_{TAG}", "support_frames", "mass_3"):
                row[f"d_{key}"] = row[f"after_{key}"] - row[f"before_{key}"]
            rows.append(row)
print(f"{len(rows)} (network, seed, stage, stream) rows measured")

# %% [markdown]
# ### The numbers
#
# Test top-1 of each network, then, per stage output, support / frames ≥ threshold / spread /
# 3-frame mass before → after training (means over seeds).

# %%
acc = ex.summarize(runs, by=("model",), metric="top1")
display(Markdown("| network | test top-1 (%) | n |\n|---|---|---|\n" + "\n".join(
    f"| {e['model']} | {100 * e['mean']:.1f}" + (f" ± {100 * e['ci']:.1f}" if e["n"] > 1 else "") + f" | {e['n']} |"
    for e in acc)))


def mean_of(sub, key):
    return sum(r[key] for r in sub) / len(sub)


groups = {}
for r in rows:
    groups.setdefault((r["model"], r["layer"], r["stream"]), []).append(r)
lines = [f"| network | layer | stream | support (frames) | frames ≥ {TAG}% | spread (frames) | mass in 3 frames |",
         "|---|---|---|---|---|---|---|"]
for (m, layer, stream), sub in groups.items():
    cells = []
    for key, fmt in (("support_frames", "{:.0f}"), (f"frames_{TAG}", "{:.1f}"), ("spread_frames", "{:.2f}"),
                     ("mass_3", "{:.2f}")):
        cells.append(fmt.format(mean_of(sub, f"before_{key}")) + " → " + fmt.format(mean_of(sub, f"after_{key}")))
    lines.append(f"| {m} | {layer} | {stream} | " + " | ".join(cells) + " |")
display(Markdown("\n".join(lines)))

# %%
nm = len(models)
fig, axes = plt.subplots(1, nm, figsize=(4.2 * nm, 3.3), squeeze=False)
for ax, m in zip(axes[0], models):
    streams = ["short", "long"] if m.startswith("mtnet") else ["-"]
    for si, stream in enumerate(streams):
        for when, ls in (("before", "--"), ("after", "-")):
            sub = [r for r in rows if r["model"] == m and r["stream"] == stream]
            ks = sorted({r["stage"] for r in sub})
            ax.plot(ks, [mean_of([r for r in sub if r["stage"] == k], f"{when}_spread_frames") for k in ks], ls,
                    marker="o", color=f"C{si}", label=f"{when}" + ("" if stream == "-" else f", {stream}"))
    ax.set_xticks([1, 2, 3, 4])
    ax.set_xlabel("stage")
    ax.set_ylabel("temporal spread (frames)")
    ax.set_title(m, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
fig.suptitle("Effective temporal spread of each stage output, before (dashed) and after (solid) training", fontsize=10)
fig.tight_layout()
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
    R.plot_temporal_profiles({w: maps_at_stage[(m, s, seed0, w)] for w in ("before", "after")}, ax=ax,
                             title=f"{m}{'' if s == '-' else ' ' + s}, stage {stage}")
fig.tight_layout()
fig.savefig(OUT / "trained_profiles.png", dpi=110, bbox_inches="tight")
plt.show()
fig = R.plot_rf_grid({f"{m}{'' if s == '-' else ' ' + s}: {w}": maps_at_stage[(m, s, seed0, w)]
                      for w in ("before", "after") for (m, s) in keys}, view="time", ncols=len(keys),
                     suptitle=f"Stage {stage} output, centre unit: frames × width, before (top) and after (bottom) training")
fig.savefig(OUT / "trained_heatmaps.png", dpi=110, bbox_inches="tight")
plt.show()

# %% [markdown]
# ### What changed, in words
#
# Computed per network for the deep layer (paired over seeds; with one seed there is no CI and the
# sentence only says which way this run moved):

# %%
verdicts = {}
METRICS = ("spread_frames", "support_frames", f"frames_{TAG}")
for (m, s) in keys:
    sub = [r for r in rows if r["model"] == m and r["stream"] == s and r["stage"] == stage]
    label = f"{m}{'' if s == '-' else ' (' + s + ' stream)'}, {sub[0]['layer']}"
    before = [{k: r[f"before_{k}"] for k in METRICS} for r in sub]
    after = [{k: r[f"after_{k}"] for k in METRICS} for r in sub]
    vs = {k: R.rf_change(before, after, metric=k, label=label if k == METRICS[0] else "") for k in METRICS}
    verdicts[label] = {k: v["sentence"] for k, v in vs.items()}
    display(Markdown("* " + "; ".join(v["sentence"] for v in vs.values()) + "."))

# %%
moved = {"wider": [], "narrower": [], "unchanged": []}
for (m, s) in keys:
    sub = [r for r in rows if r["model"] == m and r["stream"] == s and r["stage"] == stage]
    diff = mean_of(sub, "d_spread_frames")
    moved["wider" if diff > 0 else "narrower" if diff < 0 else "unchanged"].append(m + ("" if s == "-" else f" {s}"))
display(Markdown(f"**Summary, stage {stage} spread (mean over {seeds} seed{'s' if seeds > 1 else ''}).** "
                 + "; ".join(f"{k}: {', '.join(v)}" for k, v in moved.items() if v) + "."))

# %% [markdown]
# ### MixTConv: do the long kernels get used?
#
# For every MixTConv of the trained MSTNet(s), each kernel group's own field (`mixtconv_probes(module=...)`:
# the absolute taps, summed over the group's channels) and the share of it that lies **more than
# one frame** from the output's frame, i.e. what a TSM shift could not reach. At the TSM-like
# initialisation that share is exactly 0 for every group.

# %%
tap_rows = []
for (m, seed), nets in NETS.items():
    if m != "mstnet_small":
        continue
    for when, net in nets.items():
        for mod_name, mod in temporal_modules(net):
            for gname, probe in R.mixtconv_probes(module=mod, size=1).items():
                rf = probe.measure(batch=1)
                reach = (probe.info["kernel"] - 1) // 2 * probe.info["dilation"]  # farthest tap, frames
                tap_rows.append(dict(model=m, seed=seed, when=when, module=mod_name, group=gname, reach=reach,
                                     beyond_1=R.mass_outside(rf, radius=1), support=R.rf_extent(rf).frames))
if tap_rows:
    mods = sorted({r["module"] for r in tap_rows})
    gnames = list(dict.fromkeys(r["group"] for r in tap_rows))
    fig, ax = plt.subplots(figsize=(10, 3.4))
    wbar = 0.8 / len(gnames)
    for gi, g in enumerate(gnames):
        vals = [np.mean([r["beyond_1"] for r in tap_rows if r["module"] == mod and r["group"] == g and r["when"] == "after"])
                for mod in mods]
        ax.bar(np.arange(len(mods)) + (gi - (len(gnames) - 1) / 2) * wbar, [100 * v for v in vals], width=wbar * 0.95,
               label=g)
    ax.set_xticks(np.arange(len(mods)), [mm.removesuffix(".temporal") for mm in mods])
    ax.set_ylabel("|taps| beyond ±1 frame (%)")
    ax.set_title("MixTConv after training: weight on frames a TSM shift cannot reach (0% at init)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(OUT / "mixtconv_learned_taps.png", dpi=110, bbox_inches="tight")
    plt.show()
    before_max = max(r["beyond_1"] for r in tap_rows if r["when"] == "before")
    after = {g: np.mean([r["beyond_1"] for r in tap_rows if r["group"] == g and r["when"] == "after"]) for g in gnames}
    long_groups = [g for g in gnames if max(r["reach"] for r in tap_rows if r["group"] == g) > 1]
    display(Markdown(
        f"Before training the largest share beyond ±1 frame over all groups and blocks is {100 * before_max:.2g}%. "
        "After training, averaged over blocks: " + ", ".join(f"{g}: {100 * v:.1f}%" for g, v in after.items())
        + ". Groups whose taps reach beyond ±1 frame ("
        + ", ".join(long_groups) + "): "
        + ("all now put weight there, so training did use the longer kernels."
           if all(after[g] > 0 for g in long_groups) else
           "not all of them moved weight there.") + " (Groups reaching only ±1 cannot, by construction.)"))
else:
    display(Markdown("(No MSTNet in `models`: add `mstnet_small` to see MixTConv's learned taps.)"))

# %% [markdown]
# ### Results files
#
# `results.csv`: one row per (network, seed, stage, stream) with every number before and after;
# `summary.csv`: the change of the spread per (network, layer, stream), mean ± 95% CI over seeds;
# `results.json`: both, plus the mechanism probes' measured extents, the MixTConv taps and the sentences.

# %%
summary = ex.summarize(rows, by=("model", "layer", "stream"), metric="d_spread_frames")
mechanisms = {
    "stack": stack_rows,
    "mtconv": {w: {k: list(R.rf_extent(m).size) for k, m in maps.items()} for w, maps in mt_maps.items()},
    "mtconv_claim": {"support": mt_claim["sentence"], "effective": mt_claim_eff["sentence"]},
    "msti": {b: {k: list(R.rf_extent(m).size) for k, m in maps.items()} for b, maps in msti_maps.items()},
    "mixtconv_tsm": {f: {k: list(R.rf_extent(m).size) + [list(R.rf_extent(m).t_range)] for k, m in maps.items()}
                     for f, maps in mix_maps.items()},
}
ex.write_results(rows, summary, OUT, extra={
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
# the effective field; before / after training). The figure below the controls appears once a
# control is moved; the one after that cell is the default selection (in a static rendering such
# as the book, the controls do nothing).

# %%
import ipywidgets as widgets

TRAINED = {f"trained: {m}": m for m in models}


def members_of(what):
    if what in TRAINED:
        return ["short", "long"] if TRAINED[what].startswith("mtnet") else ["all channels"]
    return list(R.mechanism_probes(what, depth=2, frames=PROBE_T, size=PROBE_S))


def weights_of(what):
    return ["before training", "after training"] if what in TRAINED else ["positive (support)", "random (effective)"]


def explore(what="MixTConv", member="k=7", depth=3, weights="positive (support)"):
    """Measure the chosen probe and draw frames × width, height × width and the profile over time."""
    if what in TRAINED:
        m = TRAINED[what]
        net = NETS[(m, seed0)]["before" if weights.startswith("before") else "after"]
        layers = R.stage_layers(net)
        layer = layers[min(depth, len(layers)) - 1]
        probe = R.layer_probe(net, layer, tuple(X.shape[1:]), stream=member if member in ("short", "long") else None)
        rf, title = probe.measure(x=X), f"{m} {layer} {member}, {weights}"
    else:
        probes = R.mechanism_probes(what, depth=depth, positive=weights.startswith("positive"), frames=PROBE_T,
                                    size=PROBE_S)
        probe = probes.get(member, next(iter(probes.values())))
        rf = probe.measure(batch=1 if weights.startswith("positive") else RAND_BATCH)
        title = f"{probe.name}, {weights}"
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), gridspec_kw=dict(width_ratios=[1.3, 1, 1.4]))
    R.plot_rf(rf, axes=axes[:2], title=title, theory=probe.theory if weights.startswith("positive") else None,
              crop=None if what in TRAINED or what in ("conv stack", "MTConv") else 15)
    R.plot_temporal_profiles({member: rf}, ax=axes[2], title="mass per frame")
    fig.tight_layout()
    plt.show()
    return fig


choices = [*R.PROBE_FAMILIES, *TRAINED]
controls = dict(
    what=widgets.Dropdown(options=choices, value="MixTConv", description="probe"),
    member=widgets.Dropdown(options=members_of("MixTConv"), value="k=7", description="group"),
    depth=widgets.IntSlider(value=3, min=1, max=max(max_depth, 4), description="depth"),
    weights=widgets.Dropdown(options=weights_of("MixTConv"), value="positive (support)", description="weights"),
)


def on_what(change):
    controls["member"].options = members_of(change["new"])
    controls["weights"].options = weights_of(change["new"])


controls["what"].observe(on_what, names="value")
ui = widgets.VBox([widgets.HBox([controls["what"], controls["member"]]),
                   widgets.HBox([controls["depth"], controls["weights"]])])
# interactive_output calls the function once right away, inside its Output widget. Executed headless
# (papermill / nbclient), output written into an Output widget makes the client send widget-state
# messages back to the kernel mid-cell, which intermittently deadlocks (jupyter/nbclient#312); so
# that first call draws nothing, and the default selection is drawn outside the widget below.
drawing = {"live": False}


def on_change(**selection):
    if drawing["live"] and selection["member"] is not None and selection["weights"] is not None:
        explore(**selection)


explorer_output = widgets.interactive_output(on_change, controls)
drawing["live"] = True
display(ui, explorer_output)

# %% [markdown]
# The default selection, drawn statically (this is what the book shows):

# %%
fig = explore("MixTConv", "k=7", 3, "positive (support)")
fig.savefig(OUT / "explorer_default.png", dpi=90, bbox_inches="tight")
print(f"notebook wall time: {time.time() - t_start:.0f} s")

# %% [markdown]
# ## Reading the result
#
# First the checks of sections 1–4 in one line (computed from the maps):

# %%
checks = {"3×3×3 stack": stack_check, "MTConv": R.theory_check(mt["positive"], mt_maps["positive"]),
          **{f"MSTI {b}": R.theory_check(msti[b], msti_maps[b]) for b in ("spatial", "temporal", "both")},
          **{f: R.theory_check(mix_sets[f], mix_maps[f]) for f in ("MixTConv", "MixTConv dilated")}}
n_probes = sum(len([r for r in c["rows"] if r["match"] is not None]) for c in checks.values())
bad = [k for k, c in checks.items() if not c["all_match"]]
display(Markdown(
    (f"All {n_probes} positive-weight probes of {len(checks)} mechanisms have exactly their analytic support"
     if not bad else f"Probes of {', '.join(bad)} differ from their analytic support (see above)")
    + f"; MTNet's long stream sees ×{mt_claim['ratio_frames']:.2f} the short stream's frames and "
    f"×{mt_claim['ratio_width']:.2f} its pixels (support), ×{mt_claim_eff['ratio_frames']:.2f} / "
    f"×{mt_claim_eff['ratio_width']:.2f} at {TAG}% of the peak with random weights; the random 3×3×3 stack's "
    f"spread grows as depth^{slope:.2f}."))

# %% [markdown]
#
# * **The mechanisms, as built here, have the receptive fields their papers describe.** With
#   positive weights the supports are the analytic extents (the line above): $2L+1$ for the 3×3×3
#   stack, $2L+1$ vs $4L+2$ frames and pixels for MTConv's short vs long stream (MTNet's "twice as
#   large", which is exact for the support), $2i-1$ for MSTI's group $i$ in space and in time
#   (Sec. 3.1), $(k-1)d+1$ frames for MixTConv's kernel groups, and $t\pm1$ for TSM's shifted
#   channels. A change to a layer that broke one of these would show here (and fail
#   `tests/test_receptive.py`).
# * **Effective is smaller than theoretical.** With random weights the gradient of a deep stack is
#   concentrated in the middle of its field, and its spread grows more slowly than the extent (the
#   fitted exponent above; Luo et al. derive $\sqrt{L}$); compare, likewise, the long stream's
#   effective ratio with its ×2 support. A field's *extent* says little about what a unit mostly
#   responds to; the CAW blocks make MSTI's support global while carrying the share of the
#   gradient computed in section 3.
# * **MSTI vs MixTConv.** Both give one layer several temporal scales on different channels. MSTI
#   builds them *in series* (group $i$ reuses group $i-1$'s output, so the scales share weights and
#   the large scale sees a smoothed version of the small one); MixTConv *in parallel* (independent
#   kernels, with holes when dilated). MSTI's temporal branch also only ever sees the centre pixel
#   (its cross shape); spatial context comes from the other branch.
# * **Training moves the fields, in both directions.** What can move is fixed by the architecture.
#   A block that starts as the identity can only grow its field as training switches it on:
#   MixTConv starts as TSM (±1 frame per block, and no shift at all in a block whose groups hold
#   fewer than 8 channels, as `layer1` at width 0.25), so only training can put weight on its 5- and
#   7-frame groups' outer taps; MTNet-32 starts with every residual branch zeroed
#   (`zero_init_residual`). A Kaiming-initialised 3D ResNet starts with its full support already
#   connected, and training can only redistribute the gradient over it, towards the centre or away
#   from it. The summary line and the sentences above say which way each network moved in this
#   run; with `seeds > 1` they come with paired 95% CIs. TSM's shift itself has no weights: its
#   support cannot change at all (`-p models '["tsm_small", "mstnet_small"]'` shows the contrast).
#
# To look further: `-p epochs 20`, `-p seeds 3` (CIs on the changes), `-p stage 2`,
# `-p difficulty medium`, or the explorer.
