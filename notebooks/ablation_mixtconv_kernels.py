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
# # MixTConv: which temporal kernel sizes should a 2D network mix?
#
# A TSN-style network runs a 2D CNN on each of $T$ frames and averages the per-frame logits: it
# sees the *set* of frames, never their order. TSM (Lin et al., ICCV 2019) makes it temporal at no
# cost by shifting 1/8 of the channels one frame back and 1/8 one frame forward before each residual
# block's first convolution. **MixTConv** (Shan et al., 2020) replaces the fixed shift by learnable
# depthwise 1-D temporal convolutions: the $C$ channels are split into $g$ groups, group $m$ is
# convolved over time with its own kernel size $k_m$ (eq. 1) and the outputs are concatenated (eq. 2):
#
# $$\hat Z^m_{i,t} = \sum_j \hat F^i_{t+j}\, W_{\frac{k_m-1}{2}+j}, \qquad Z = \mathrm{Concat}(\hat Z^1, \dots, \hat Z^g).$$
#
# ```
# x (B*T, C, H, W) ─ view (B, T, C, H, W) ─┬─ C/4 channels: temporal kernel 1 ─┐
#                                          ├─ C/4 channels: temporal kernel 3 ─┤ concat
#                                          ├─ C/4 channels: temporal kernel 5 ─┤ → (B*T, C, H, W)
#                                          └─ C/4 channels: temporal kernel 7 ─┘ → conv 1x1 → ...
# ```
#
# **Initialisation.** The slides do not say how MixTConv starts; the official code does
# (`MsGroupConv1d.weight_init` in `VDIGPKU/MixTConv`, run with `--n_div 8`), and the MixTConv rows
# here start from it (`init="official"`, the library's default). In each group of $C/4$ channels,
# with $f = (C/4)/8$: kernel 1 is the identity; kernel 3 gives $f$ channels frame $t-1$ and $f$
# channels frame $t+1$; kernels 5 and 7 give them the *sum* of the 2 or 3 frames on one side
# ($t-2 + t-1$ and $t+1 + t+2$; $t-3 + t-2 + t-1$ and its mirror); all other channels keep their own
# frame. So 3/16 of the channels start out reading other frames (TSM shifts 1/4), some of them up to
# three frames away: MSTNet does **not** start as TSM. Only a single kernel-3 group moves TSM's 1/4,
# and even that is TSM mirrored in time (the first eighth reads the past where TSM's reads the
# future); `init="tsm"`, TSM's single ±1 shift in every group, is the option that makes kernels (3,)
# compute TSM exactly (`-p mixtconv_init tsm` runs the whole table from it).
#
# The paper's kernel-size table (Something-Something v1, ResNet-50, 8 frames) finds **MixTConv with
# kernels {1, 3, 5, 7} ≥ TSM ≫ TSN** (46.7 vs 45.6 vs 19.7 top-1) and **{1, 3, 5, 7} the best kernel
# setting** (single kernels 3/5/7: 45.9/46.3/45.8; mixes {1,3}: 45.8, {1,3,5}: 46.4; kernel 3 with
# dilations 1/2/3: 46.4), each for ≤ 0.32 extra GFLOPs on 33. This notebook re-runs that table on SynthActions with small networks,
# several seeds per row, and decides from its own numbers whether those claims hold here.

# %% tags=["parameters"]
configs = ["tsn", "tsm", "ks3", "ks5", "ks7", "ks13", "ks135", "ks1357", "ks3_d123"]  # rows of the paper's table
seeds = 3  # training seeds per configuration
epochs = 7  # passes over the training split
width = 0.125  # channel multiplier of the ResNet widths (64..512 -> 8..64)
clip = [8, 32, 32]  # T, H, W of the clips (T is the networks' num_segments)
train_samples = 512  # training clips (val: a quarter); real datasets: 0 means the whole split
test_samples = 512  # test clips (the verdict's numbers); real datasets: 0 means the whole split
batch_size = 8  # clips per step
lr = 0.005  # AdamW peak learning rate (cosine schedule)
dataset = "synthactions"  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos)
data_root = ""  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo
split = 1  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one)
difficulty = "easy"  # SynthActions only: "easy" | "medium" | "hard"
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_mixtconv_kernels; relative paths are taken from the repo root
mixtconv_init = "official"  # MixTConv rows' init: "official" (the official code's) | "tsm" (TSM's shift per group) | "identity" | "random"
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# Parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains. Every (configuration, seed) run writes its checkpoint, metrics log and result under
# `out_dir/runs/<config>-<tag>/seed_<k>`; finished runs are loaded instead of retrained.

# %%
from dataclasses import replace

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.data.synthactions import ORDERLESS_CEILING
from actionrec.experiments import params as P
from actionrec.experiments.grid import run_dir_of, train_grid
from actionrec.experiments.reversal import has_reversal_pairs
from actionrec.experiments.setup import base_config, build_runs, data_kwargs, dataset_name, preview_clips
from actionrec.experiments.summary import aggregate_curves, markdown_table, pct, summarize, summarize_by, write_results
from actionrec.layers.mixtconv import INITS
from actionrec.models import build_model
from actionrec.papers.mixtconv import (MIXTCONV_BASELINES, MIXTCONV_KERNEL_PAPER, mixtconv_frame_order_sentence,
                                       mixtconv_init_reach, mixtconv_kernel_claim, mixtconv_kernels_label,
                                       mixtconv_learned_taps, mixtconv_model, mixtconv_paired)
from actionrec.train import load_model
from actionrec.utils.checks import check_choice, check_list
from actionrec.utils.paths import make_out_dir

PAPER = MIXTCONV_KERNEL_PAPER  # the slides' table: top-1, GFLOPs, kernels, dilations per row
configs = check_list("configs", configs, item="str", choices=list(PAPER))
mixtconv_init = check_choice("mixtconv_init", mixtconv_init, INITS)
(seeds, epochs, width, clip, train_samples, test_samples, batch_size, lr, dataset, data_root, split, difficulty, device,
 smoke) = P.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                         test_samples=test_samples, batch_size=batch_size, lr=lr, dataset=dataset, data_root=data_root,
                         split=split, difficulty=difficulty, device=device, smoke=smoke).values()  # normalised values
clip = P.check_clip(clip, min_size=(2, 32, 32), why="temporal modelling needs T >= 2, the ResNets H, W >= 32")
if not set(configs) & set(MIXTCONV_BASELINES) or not set(configs) - set(MIXTCONV_BASELINES):
    raise ValueError(f"parameter configs={configs!r} must hold a baseline ('tsn' or 'tsm') and a MixTConv setting "
                     "('ks...'): every verdict compares them")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    configs, seeds, epochs = ["tsn", "tsm", "ks1357"], 2, 1
    width, clip, train_samples, test_samples, batch_size = 0.125, [8, 32, 32], 64, 64, 16
OUT = make_out_dir(out_dir, "ablation_mixtconv_kernels")
print(f"results -> {OUT}")

# %% [markdown]
# ## SynthActions
#
# Stick figures performing 16 actions at ×0.5–×2 speed in a random 30–100% window of the clip.
# Seven pairs of classes are exact time reversals of each other (squat down ↔ stand up, walk left ↔
# walk right, …): their clips are the same frames in the opposite order, so a network that ignores
# frame order, such as TSN, can get at most one of each pair right, i.e. at most
# 9/16 = 56.25% overall. That is SynthActions' stand-in for Something-Something, where TSN drops to 19.7%.
#
# **Why these defaults.** The grid (9 configurations × 3 seeds = 27 runs, one per core) is sized to
# train in about ten minutes on a 2-core laptop CPU; eight frames is the paper's segment count
# (`clip[0]` sets it), and the test split has 512 clips (32 per class) so that its sampling error
# stays below the seed-to-seed spread. These small 2D networks learn SynthActions' frame order in a
# burst after a plateau at chance whose length depends on the seed, which is why the defaults use
# batch 8 at lr 5e-3 for seven epochs, and why more epochs separate temporal modelling from seed
# noise better than any other change we tried. The step times, grid timings and learning-rate
# probes behind these values are in `benchmarks/README.md`, section *ablation_mixtconv_kernels*.

# %%
T, H, W = clip
train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split,
                           segments=True)  # real videos: TSN sampling, one frame from each of T segments
preview, shown = preview_clips(dataset, train_kwargs)  # a few training clips
fig = viz.clip_grid(**shown)
plt.show()

# %% [markdown]
# ## Train every (configuration, seed)
#
# `tsn_small`, `tsm_small` and `mstnet_small` share one backbone: a ResNet with one bottleneck per
# stage, a 3×3 stride-2 stem and, in front of every bottleneck's first 1×1 conv, nothing (TSN), a
# shift (TSM) or a MixTConv with the row's kernels (MSTNet); "ks3_d123" is the paper's "kernel 3,
# dilations 1, 2, 3" row, built as three channel groups with kernels (3, 3, 3) and dilations (1, 2, 3).
# The MixTConv rows start from `mixtconv_init` (the official init by default); it is written into
# each run's config, so runs from different inits never share a folder.
#
# What the init does in these small networks, per block of the {1, 3, 5, 7} network: how many
# channels read other frames at the start and how far (at width 0.125 the first block's groups hold
# 2 channels, too few for an eighth, so that block starts as the identity under either init):

# %%
reach = {i: mixtconv_init_reach(build_model("mstnet_small", num_classes=preview.num_classes, num_segments=T,
                                            width=width, init=i)) for i in ("official", "tsm")}
display(Markdown(markdown_table(
    ["block", "channels", "official: reading other frames", "farthest", "tsm: reading other frames", "farthest"],
    [[a["block"], a["channels"], f"{a['moved']} ({100 * a['share']:.2f}%)", f"±{a['reach']}",
      f"{b['moved']} ({100 * b['share']:.2f}%)", f"±{b['reach']}"] for a, b in zip(reach["official"], reach["tsm"])])))

# %%
base = base_config(dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples, test_samples=test_samples,
                   epochs=epochs, batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
variants = {c: (replace(base, **mixtconv_model(c, num_segments=T, width=width, init=mixtconv_init)), dict(config=c))
            for c in configs}
runs, extras = build_runs(variants, num_classes=preview.num_classes, input_shape=(3, T, H, W))  # + GMACs, params
# reversal=True: how many test clips of a time-reversed pair were called their reverse (SynthActions)
rows, wall = train_grid(runs, seeds, OUT / "runs", extras=extras, reversal=True)  # one run per core

# %% [markdown]
# ## Results (the kernel-size table on SynthActions)
#
# Mean ± 95% CI (Student's $t$ over seeds) of test top-1, of *val AUC* (mean validation accuracy
# over all epochs: how fast a configuration learns), and of the share of clips from the seven
# time-reversed pairs that were classified as their pair's *other* class ("swapped"; an order-blind
# network swaps about half). Beside them the paper's Something-Something v1 top-1 and FLOPs.

# %%
summary = summarize(rows, by=("config",), metric="top1")
auc = summarize_by(rows, ("config",), "val_auc")
swapped = summarize_by(rows, ("config",), "swapped", present_only=True)
write_results(rows, summary, OUT)
display(Markdown(markdown_table(
    ["config", "temporal kernels", "top-1 (%)", "val AUC (%)", "swapped (%)", "GMACs", "params (M)", "n",
     "paper top-1 (SSv1)", "paper GFLOPs"],
    [[e["config"], mixtconv_kernels_label(e["config"]), pct(e), pct(auc[e["config"]]), pct(swapped.get(e["config"])),
      f"{e['gmacs']:.4f}", f"{e['params_m']:.4f}", e["n"], PAPER[e["config"]]["top1"], PAPER[e["config"]]["gflops"]]
     for e in summary])))

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [3, 2]})
viz.plot_grouped_bars(summary, label_key="config", labels=configs, ax=axes[0],
                      title=f"{dataset_name(dataset)} ({T}×{H}×{W}, width {width:g}): test top-1")
axes[0].tick_params(axis="x", rotation=45)
if has_reversal_pairs(dataset):  # SynthActions: an order-blind network gets one class of each reversed pair
    axes[0].axhline(100 * ORDERLESS_CEILING, color="k", ls="--", lw=1)
    axes[0].annotate("order-blind ceiling (9/16)", (-0.45, 100 * ORDERLESS_CEILING), ha="left", va="bottom", fontsize=8)
viz.plot_paper_bars(configs, {"SSv1 top-1": [PAPER[c]["top1"] for c in configs]}, ax=axes[1], rotation=45,
                    title="Paper: Something-Something v1, ResNet-50, 8 frames")
fig.tight_layout()
fig.savefig(OUT / "kernels.png", dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# **Paired by seed.** For a given seed every row starts from the same weights in every layer the rows
# share (every parameter tensor of `tsn_small` equals its counterpart in `mstnet_small`; only
# MixTConv's own weights differ) and sees the clips in the same order, so the per-seed difference
# between two rows removes what the seed does to both. Mean ± 95% CI of those differences (points of
# test top-1):

# %%
header, table, paired = mixtconv_paired(rows, configs)
display(Markdown(markdown_table(header, table) + "\n\n\\* the CI excludes 0."))

# %%
fig = viz.plot_accuracy_vs_gmacs(summary, label_key="config",
                                 title=f"Top-1 vs GMACs per {T}-frame clip (marker area ∝ parameters)")
fig.savefig(OUT / "accuracy_vs_gmacs.png", dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# All rows cost about the same (the GMACs column): MixTConv adds $\sum_m C_m k_m\,THW$
# multiply-adds per block, as in the paper (+0.09 to +0.32 GFLOPs on 33 for ResNet-50;
# `benchmarks/temporal_kernels.py` checks our counts against those). On a CPU the einsum that runs
# it costs more per step than its MACs suggest (`benchmarks/README.md`, section
# *ablation_mixtconv_kernels*); on Something-Something's ResNet-50 the share is smaller.
#
# ## Learning speed
#
# Validation top-1 after each epoch, mean ± 95% CI over seeds.

# %%
curves = {extras[n]["config"]: aggregate_curves(OUT / "runs", n, x="epoch") for n in runs}
fig = viz.plot_learning_curves(curves, title="Validation top-1 during training")
fig.savefig(OUT / "learning_curves.png", dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## What did the mixed kernels learn?
#
# For the trained {1, 3, 5, 7} network (seed 0), the mean absolute weight of each temporal tap, per
# channel group, in each of the four MixTConvs. At the official initialisation the 5- and 7-groups
# already have weight on the taps 2 and 3 frames away, though only in 1/8 of their channels each way
# (and none in the first MixTConv at width 0.125: 8 channels, 2 per group, too few for an eighth);
# with `init="tsm"` only the centre tap and its two neighbours start non-zero. Weight on the outer
# taps well beyond that start means the network uses the longer temporal context it was given.

# %%
mix_name = next((n for n in runs if extras[n]["config"] == "ks1357"), None)
if mix_name is not None:
    fig = viz.plot_mixtconv_taps(mixtconv_learned_taps(load_model(run_dir_of(OUT / "runs", mix_name, 0))))
    fig.savefig(OUT / "learned_taps.png", dpi=120, bbox_inches="tight")
    plt.show()
else:
    display(Markdown("*(ks1357 was not run.)*"))

# %% [markdown]
# ## Do the paper's claims hold here?
#
# Computed from the table above (CIs that overlap count as "cannot tell apart"):

# %%
v, va = mixtconv_kernel_claim(summary), mixtconv_kernel_claim(list(auc.values()))
display(Markdown(f"**Final test top-1.** {v['sentence']}\n\n**Learning speed (val AUC).** {va['sentence']}"))
pairs = [(a, b) for a, b in (("tsm", "tsn"), (v["mixtconv"], "tsm"), (v["mixtconv"], "tsn")) if (a, b) in paired]
if pairs:
    display(Markdown("**Paired by seed (test top-1).** " + " ".join(paired[p]["sentence"] for p in pairs)))
frame_order = mixtconv_frame_order_sentence(summary, swapped, configs)
if frame_order:
    display(Markdown(frame_order))

write_results(rows, summary, OUT, extra={"verdicts": {"top1": v["sentence"], "val_auc": va["sentence"]},
                                         "claims": {k: v[k] for k in v if k not in ("claims", "sentence")},
                                         "paired": {f"{a}-{b}": d["sentence"] for (a, b), d in paired.items()},
                                         "paper": PAPER, "wall_minutes": wall / 60})
print(f"table: {OUT / 'results.csv'}\nplots: {OUT / 'kernels.png'}, {OUT / 'accuracy_vs_gmacs.png'}, "
      f"{OUT / 'learning_curves.png'}")

# %% [markdown]
# ## Reading the result
#
# * **Temporal modelling vs none** is the large effect in the paper (19.7 → 45.6). Within a short
#   CPU budget most temporal networks are still in the burst in which they learn frame order, and a
#   slow seed drags every row down, so the paired differences and the "swapped" column are the
#   sharper test. TSN must stay below the 9/16 = 56% order-blind ceiling in every run.
# * **Which kernels** is a small effect in the paper (45.8–46.7, one run each, no error bars): a spread
#   of 0.9 points between settings, far below the seed-to-seed spread of short CPU runs, so "cannot
#   tell apart" is the expected answer here. The dilated kernel 3 (three frames spaced 1, 2 and 3
#   apart) sees as far as kernel 7 with the parameters of kernel 3; at 8 frames of a 2-second clip
#   its taps span up to 6 frames.
# * The networks are small (width 0.125, one block per stage) and trained from scratch, where the paper
#   fine-tunes ImageNet ResNet-50s on 86k videos. Both start MixTConv from the official init, which
#   differs from TSM's start in its share (3/16 vs 1/4 of the channels for {1, 3, 5, 7}) and its reach
#   (up to ±3 frames); `-p mixtconv_init tsm` measures how much of a row's result that start explains.
#
# Runs of this notebook with the defaults and with more epochs are recorded in `benchmarks/README.md`,
# section *ablation_mixtconv_kernels*. To run closer to the paper: `-p epochs 10` or `-p width 1.0
# -p clip '[8, 112, 112]' -p epochs 30 -p seeds 5 -p difficulty hard` on a GPU (CUDA and mixed
# precision are used automatically).
