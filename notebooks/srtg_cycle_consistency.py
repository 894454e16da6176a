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
# # SRTG: when does a cycle-consistency gate open?
#
# *Learn to cycle* (Stergiou & Poppe, 2020 {cite}`stergiou2020srtg`) adds to a 3D-CNN block a **Squeeze and Recursion** path:
# the features $a$ averaged over $H, W$ give one vector per frame, $\mathrm{pool}(a)_t \in \mathbb{R}^C$,
# and a 2-layer LSTM turns that sequence into $a^*_t$. A **temporal gate** fuses $a^*$ back into the
# features only when the two sequences are *cycle-consistent* (Sec. 3.2). For every frame $t$ of one
# sequence $A$ the soft nearest neighbour in the other sequence $B$ is (eq. 4)
#
# $$\tilde b_t = \sum_i z_{ti}\, b_i,\qquad z_{ti} = \frac{e^{-\|a_t - b_i\|^2/\tau}}{\sum_j e^{-\|a_t - b_j\|^2/\tau}}
#   \qquad(\tau = 1 \text{ in the paper}),$$
#
# then the actual frame of $B$ closest to that soft match (eq. 5),
# $\;\hat\imath_t = \arg\min_i \|\tilde b_t - b_i\|^2.$ Frame $t$ *cycles back* when $\hat\imath_t = t$;
# otherwise it is a **temporal cyclic error** (Fig. 4). The same is done from $B$ into $A$. The gate is
# open for a clip iff every frame cycles back in both directions, with $A = \mathrm{pool}(a)$ and
# $B = a^*$ (Fig. 5). `actionrec` also offers a differentiable **soft gate**: the fused features are
# weighted by the *soft score*, the mean weight $z_{tt}$ a frame puts on its own time index (1 when
# every softmax sits on the diagonal, $\approx 1/T$ when it is flat).
#
# This chapter takes the mechanism apart in three steps:
#
# 1. **A toy.** Two hand-made 2-D trajectories (the same path, a glitch, time-reversed, shuffled,
#    sped up, and an "LSTM-like" smoothed copy): the two weight matrices, which frames cycle back,
#    where the errors are, and what the temperature $\tau$ does.
# 2. **A trained network.** An r3d-18 with an SRTG in every residual block, trained on SynthActions:
#    pooled features vs LSTM outputs as trajectories, the matrices of one layer, and per-layer gate
#    statistics, for the clips as they are and played backwards, shuffled, slowed down and sped up.
# 3. **An explorer** (ipywidgets) to pick a clip, a layer, a perturbation and $\tau$ and watch the gate
#    (in the book, which has no kernel: a player over precomputed perturbations and $\tau$).

# %% [markdown]
# **In brief (numbers of this run).** On the toy, the gate opens for *{glue:text}`toy_open`* only, and
# one misplaced frame is enough to close it. In the trained network (test top-1
# {glue:text}`net_top1:.1f`%), the hard gate opens for {glue:text}`open_min:.1f`–{glue:text}`open_max:.1f`%
# of the test clips depending on the layer; recomputing the decision at any $\tau$ of the sweep gives at
# best {glue:text}`best_open:.1f`% ({glue:text}`best_open_layer`). Playing the clips backwards moves the
# classifier's top-1 to {glue:text}`reverse_top1:.1f`% and the layers' open rates by at most
# {glue:text}`reverse_open_shift:.1f` points (the gate compares a clip's features with the LSTM's reading
# of the same features, so a perturbation moves it only through the LSTM). The code cells that only set
# up, train, load or write files are collapsed.

# %% tags=["parameters", "hide-input"]
placement = "final"  # where the SRTG sits in every block of r3d-18: "start" | "mid" | "res" | "final"
gate = "soft"  # "soft" (differentiable; its LSTMs learn) | "hard" (the paper: open iff cycle-consistent)
width = 0.25  # channel multiplier of the ResNet widths (64..512 -> 16..128)
epochs = 5  # passes over the training split
train_samples = 640  # training clips (val/test: a quarter each); real datasets: 0 means the whole split
batch_size = 32  # clips per step
lr = 0.003  # AdamW peak learning rate (cosine schedule)
clip = [16, 32, 32]  # T, H, W of the clips
seed = 0  # training seed (also the shuffle perturbation's seed)
dataset = "synthactions"  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos)
data_root = ""  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo
split = 1  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one)
difficulty = "easy"  # SynthActions only: "easy" | "medium" | "hard"
layer = "layer1.0"  # the gate whose matrices are drawn: "layer<stage>.<block>" (r3d-18: stages 1-4, blocks 0-1)
example = 0  # index of the test clip drawn in the per-clip figures
temperatures = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]  # tau values of the temperature sweeps
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/srtg_cycle_consistency; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# The parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains. The run lives in `out_dir/runs/r3d_18-<placement>-<gate>-<tag>/seed_<seed>` (the tag hashes
# every other setting); a finished run is loaded instead of retrained.

# %% tags=["hide-input"]
import math
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from actionrec import viz
from actionrec.analysis.cycle import (cycle_sweep, cycle_view, gate_table, gate_table_sentence, record_gates,
                                      soft_match_flatness)
from actionrec.data.perturb import PERTURBATIONS
from actionrec.experiments import params as P
from actionrec.experiments.grid import config_tag, run_dir_of
from actionrec.experiments.setup import base_config, data_kwargs, split_dataset
from actionrec.experiments.summary import markdown_table
from actionrec.layers.cycle_consistency import cycle_consistency
from actionrec.layers.srtg import gate_stats, srt_gates
from actionrec.papers.srtg import (gate_explorer_view, perturbation_sentence, perturbed_gate_records, srtg_model_kwargs,
                                   toy_cycle_cases)
from actionrec.train import fit, is_finished, load_model
from actionrec.utils.checks import check_choice, check_int, check_list
from actionrec.utils.device import get_device
from actionrec.utils.io import write_csv, write_json
from actionrec.utils.paths import make_out_dir

placement = check_choice("placement", placement, ["start", "mid", "res", "final"])
gate = check_choice("gate", gate, ["soft", "hard"])
width, epochs, train_samples, batch_size, lr, clip, seed, dataset, data_root, split, difficulty, device, smoke = (
    P.check_common(width=width, epochs=epochs, train_samples=train_samples, batch_size=batch_size, lr=lr, clip=clip,
                   seed=seed, dataset=dataset, data_root=data_root, split=split, difficulty=difficulty, device=device,
                   smoke=smoke).values())  # shared rules, values normalised
layer = check_choice("layer", layer, [f"layer{s}.{b}" for s in range(1, 5) for b in range(2)])
example = check_int("example", example, min_value=0)
temperatures = check_list("temperatures", temperatures, min_value=1e-6, max_value=1e6)
clip = P.check_clip(clip, min_size=(16, 32, 32), why="r3d-18 needs T >= 16 and H, W >= 32")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    width, epochs, train_samples, batch_size, clip = 0.125, 1, 64, 16, [16, 32, 32]
    temperatures = [0.01, 1.0, 100.0]
test_samples = max(32, train_samples // 4) if train_samples else 256  # test clips analysed (0: real, whole split)
if example >= test_samples:
    raise ValueError(f"parameter example={example!r} is invalid: expected an index < {test_samples} (test clips)")

OUT = make_out_dir(out_dir, "srtg_cycle_consistency")
DEV = get_device(device)
print(f"results -> {OUT}  (device: {DEV})")
t_start = time.time()

# %% [markdown]
# ## 1. A toy: two trajectories in the plane
#
# $A$ is a path of $T = 12$ points in 2-D (an opening spiral; consecutive points about 1–2 apart, so
# squared steps are of the order of the paper's $\tau = 1$). Each $B$ is built from it with the same
# frame-index functions that perturb clips later (`actionrec.data.perturb`, applied along `dim=0`;
# `actionrec.papers.srtg.toy_cycle_cases` builds them):
#
# * **same path + noise**: $b_t = a_t + \epsilon_t$;
# * **one glitch**: as above, but $b_7$ sits next to $a_3$ (the situation of the paper's Fig. 4);
# * **time-reversed**, **shuffled**: the same points in another order;
# * **speed ×2**: $b_t = a_{2t \bmod T}$ (the path played twice as fast, twice);
# * **LSTM-like**: a running mean of $A$ shrunk towards its centre — a smooth, slowly moving summary,
#   which is what an LSTM over pooled features tends to output (section 2 measures this).
#
# Each row below shows, left to right: both trajectories (colour = time; each $a_t$ is joined to its
# soft match $\tilde b_t$, ×, and on to the nearest actual frame of $B$ — green when that is $b_t$,
# red otherwise; red rings mark frames that are not cycle-consistent), the two eq. 4 weight
# matrices (row $t$: where frame $t$ puts its softmax weight; white dot: eq. 5 lands on $t$, red
# cross: it lands elsewhere), and the per-frame checks with the gate decision.

# %%
A_toy, toy_cases = toy_cycle_cases(frames=12, seed=seed)  # A (T, 2) and {name: B (T, 2)}
fig, axes = plt.subplots(len(toy_cases), 4, figsize=(15.5, 3.5 * len(toy_cases)),
                         gridspec_kw=dict(width_ratios=[1.1, 1, 1, 1.5]))
toy_rows = {}
for row, (name, B_toy) in zip(axes, toy_cases.items()):
    cc = cycle_consistency(A_toy[None], B_toy[None])  # (1, T, 2) each
    viz.plot_cycle_panel(cycle_view(A_toy, B_toy, cc), axes=row, title=name)
    toy_rows[name] = dict(open=bool(cc.consistent), consistent_frames=cc.consistent_frames.float().mean().item(),
                          soft_score=cc.soft_score.item())
fig.tight_layout()
fig.savefig(OUT / "toy_cycles.png", dpi=90, bbox_inches="tight")
plt.show()

# %% tags=["remove-cell"]
toy_back = {name: cycle_consistency(A_toy[None], B[None]).consistent_frames[0] for name, B in toy_cases.items()}  # (T,)
glitch = next(name for name in toy_cases if name.startswith("one glitch"))
speed = next(name for name in toy_cases if name.startswith("speed"))
glue("toy_frames", len(A_toy), display=False)
glue("toy_open", ", ".join(name for name, r in toy_rows.items() if r["open"]) or "no case", display=False)
glue("toy_glitch_back", int(toy_back[glitch].sum()), display=False)
glue("toy_glitch_errors", ", ".join(str(t) for t in (~toy_back[glitch]).nonzero().flatten().tolist()), display=False)
glue("toy_speed_back", ", ".join(str(t) for t in toy_back[speed].nonzero().flatten().tolist()) or "none", display=False)

# %% [markdown]
# What the rows show:
#
# * **Same path + noise**: both matrices are diagonal, every frame lands on itself, the gate opens.
#   The soft score is below 1 only because each softmax leaks some weight to the neighbouring frames.
# * **One glitch**: frame 7 of $B$ sits near $a_3$, so $b_7$'s softmax peaks on column 3 of the
#   right-hand matrix, and $a_7$, whose partner has gone, splits its weight between $b_6$ and $b_8$
#   and lands on one of them: one red column, a *temporal cyclic error* at $t$ = {glue:text}`toy_glitch_errors`
#   as in Fig. 4, and the all-or-nothing gate closes although {glue:text}`toy_glitch_back` of
#   {glue:text}`toy_frames` frames are fine.
# * **Time-reversed / shuffled**: every frame has a perfect partner, but at the wrong time: the
#   matrices are clean permutations off the diagonal and (almost) every frame is an error.
# * **Speed ×2**: each $a_t$ is matched to $b_{t/2}$ (the first pass) — the matrix A→B has two
#   bands, B→A lands on $2t$ — so only $t$ = {glue:text}`toy_speed_back` cycles back. Cycle consistency
#   is about *when*, not about *which points*: the same path at another speed is rejected.
# * **LSTM-like**: $B$ is a small cluster that moves in $A$'s direction but lags behind it (a running
#   mean) and covers a fraction of its range. All soft matches from $A$ fall inside the cluster (the
#   red lines converge) and land a few frames off, because of the lag; from $B$, every $b_t$ is
#   closest to the few frames of $A$ nearest the cluster, so B→A only ever lands on those. Every
#   frame is an error and the gate stays shut, although $B$ is a faithful summary of $A$.

# %% [markdown]
# ### The temperature
#
# $\tau$ only means something relative to the squared distances between frames. Much smaller than
# the squared step between consecutive frames, the softmax is a hard nearest neighbour; much larger,
# it is flat and every soft match drifts to the mean of the other sequence — from the ends first,
# where the neighbours are all on one side. The sweep below repeats the six cases for several $\tau$.

# %%
toy_temps = sorted(set(temperatures) | {1.0})
fig = viz.plot_temperature_sweep(cycle_sweep({k: (A_toy, B) for k, B in toy_cases.items()}, toy_temps), toy_temps,
                                 title="Toy: gate statistics vs the eq. 4 temperature τ")
fig.savefig(OUT / "toy_temperature.png", dpi=90, bbox_inches="tight")
plt.show()

# %% [markdown]
# A consistent pair keeps its gate open for every $\tau$ up to about the squared frame spacing and
# loses it beyond; no temperature can open the gate of a reversed, shuffled, sped-up or LSTM-like
# pair: their errors come from *where* the nearest frames are, which sharpening the softmax does not
# change. A small $\tau$ only helps a pair whose hard nearest neighbours already sit on the diagonal.

# %% [markdown]
# ## 2. A trained network
#
# An r3d-18 (quarter width by default) with one SRTG per residual block at the `placement` given
# (8 gates: `layer1.0` … `layer4.1`; with `final` they see $T$ = 16, 8, 4, 2 frames in stages 1–4 of a
# 16-frame clip), trained on SynthActions: stick figures performing 16 actions, seven pairs of which
# are time reversals of each other (squat down ↔ stand up, …). The default `gate="soft"` is the one
# whose LSTMs learn anything: a hard gate that never opens passes no gradient to its LSTM, which then
# stays at its initialisation. The hard decision is recorded either way (`SRTGate.last.open`), and
# that is what the tables call "open".

# %% tags=["hide-input"]
T, H, W = clip
train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
cfg = base_config(model="r3d_18", model_kwargs=srtg_model_kwargs(placement, width=width, gate=gate),
                  dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples, epochs=epochs,
                  batch_size=batch_size, lr=lr, seed=seed, device=device)  # AdamW, cosine; val/test: a quarter
run_dir = run_dir_of(OUT / "runs", f"r3d_18-{placement}-{gate}-{config_tag(cfg)}", seed)
t0 = time.time()
reused = is_finished(run_dir)
result = fit(cfg, run_dir, progress=False)
train_wall = time.time() - t0
model = load_model(run_dir, device=DEV)
gate_names = [name for name, _ in srt_gates(model)]
layer_gate = f"{layer}.srtg"
if layer_gate not in gate_names:
    raise ValueError(f"parameter layer={layer!r} is invalid: this model's gates are "
                     f"{[n.removesuffix('.srtg') for n in gate_names]}")
print(f"r3d-18 + SRTG {placement}/{gate}: test top-1 {100 * result['top1']:.1f}% "
      f"(val {100 * result['val']['top1']:.1f}%), {result['params'] / 1e6:.2f} M params; "
      f"{'loaded a finished run' if reused else 'trained'} in {train_wall:.0f} s  [{run_dir}]")

# %% [markdown]
# ### Gate statistics per layer on the test clips
#
# One pass over the test split. Per gate: the fraction of clips whose (hard) gate opens, the mean
# weight the block gave the fused features (the soft score for `gate="soft"`, 0/1 for `"hard"`),
# the fraction of frames that cycle back, and — to see *why* — the temporal spread of the two
# sequences (mean squared distance of a frame to its sequence's mean), the mean squared distance
# between them, and how many distinct frames of $a^*$ the $T$ frames of $\mathrm{pool}(a)$ land on.

# %%
test_set = split_dataset(cfg, "test", num_samples=test_samples)  # the run's test clips (real videos: one view each)
X_test = torch.stack([test_set[i][0] for i in range(len(test_set))])  # (N, 3, T, H, W)
Y_test = torch.tensor([int(test_set[i][1]) for i in range(len(test_set))])  # (N,)
CLASSES = test_set.classes

logits, recs = record_gates(model, X_test, device=DEV)  # per gate: open, score, pooled, a_star, cc
stats = gate_stats(model, [(X_test[i:i + 64], Y_test[i:i + 64]) for i in range(0, len(X_test), 64)])
for n in gate_names:  # our records and gate_stats saw the same decisions
    assert abs(stats[n]["open"] - recs[n]["open"].float().mean().item()) < 1e-6
    assert abs(stats[n]["consistent_frames"] - recs[n]["cc"].consistent_frames.float().mean().item()) < 1e-5
table = gate_table(recs, stats)
top1 = (logits.argmax(1) == Y_test).float().mean().item()
display(Markdown(f"Test clips: {len(X_test)}, top-1 {100 * top1:.1f}%.\n\n" + markdown_table(
    ["gate", "T", "C", "open (%)", "fused weight", "soft score", "consistent frames (%)", "spread pool(a)", "spread a*",
     "‖pool(a) − a*‖²", "landing frames / T"],
    [[r["gate"], r["frames"], r["channels"], f"{100 * r['open']:.1f}", f"{r['score']:.3f}", f"{r['soft_score']:.3f}",
      f"{100 * r['consistent_frames']:.1f}", f"{r['spread_pooled']:.3g}", f"{r['spread_a_star']:.3g}",
      f"{r['dist_pooled_a_star']:.3g}", f"{r['landing_frames']:.1f} / {r['frames']}"] for r in table])))

# %%
fig = viz.plot_gate_stats(stats, keys=("open", "score", "consistent_frames"),
                          title=f"r3d-18 + SRTG {placement} ({gate} gate): per-layer gate statistics, "
                                f"{len(X_test)} test clips")
fig.savefig(OUT / "gate_stats.png", dpi=110, bbox_inches="tight")
plt.show()
display(Markdown(gate_table_sentence(table)))

# %% [markdown]
# ### Pooled features and LSTM outputs as trajectories
#
# For one test clip, each gate's two sequences projected jointly onto their first two principal
# components (so the plotted distances approximate the ones eq. 4 uses). Lines and rings as in the
# toy: green when $a_t$'s soft match lands on $a^*_t$, red when it lands elsewhere.

# %%
label = int(Y_test[example])
pred = int(logits[example].argmax())
ncol = 4
nrow = math.ceil(len(gate_names) / ncol)
fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.8 * nrow), squeeze=False)
for ax, n in zip(axes.flat, gate_names):
    r = recs[n]
    viz.plot_cycle_trajectories(cycle_view(r["pooled"][example], r["a_star"][example], r["cc"], sample=example), ax=ax,
                                labels=("pool(a)", "a*"), legend=n == gate_names[0],
                                title=f"{n.removesuffix('.srtg')} (T = {r['pooled'].shape[1]}): "
                                      f"{int(r['cc'].consistent_frames[example].sum())}/{r['pooled'].shape[1]} back")
for ax in axes.flat[len(gate_names):]:
    ax.set_visible(False)
fig.suptitle(f"Test clip {example} ({CLASSES[label]}, predicted {CLASSES[pred]}): pool(a) (o) vs a* (□), "
             "colour = time", fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "trajectories.png", dpi=90, bbox_inches="tight")
plt.show()

# %% [markdown]
# Compare with the toy's last row: when $a^*$ is a tight, slowly drifting cluster off to one side of
# $\mathrm{pool}(a)$ (the LSTM's output is bounded by $\tanh$ and integrates over time), the soft
# matches of all frames fall into the same corner of the cluster, and a frame cycles back only by
# chance, most easily in the last stages, where there are two or four frames to choose from.

# %% [markdown]
# ### The weight matrices of one layer
#
# The chosen gate (`layer` parameter) for the same clip: eq. 4 weights of every $\mathrm{pool}(a)$
# frame over the frames of $a^*$ and back. Unlike the toy, each matrix has its own colour scale (its
# range is in the title): on the absolute scale [0, 1] they would look uniformly dark.

# %%
r = recs[layer_gate]
fig = viz.plot_cycle_panel(cycle_view(r["pooled"][example], r["a_star"][example], r["cc"], sample=example),
                           labels=("pool(a)", "a*"), title=f"{layer}, test clip {example}", vmax=None)
fig.tight_layout()
fig.savefig(OUT / "layer_cycle.png", dpi=100, bbox_inches="tight")
plt.show()
flat = soft_match_flatness(r["cc"])  # row_max, row_tv, landing_frames
display(Markdown(
    f"Over all test clips, in {layer}: the largest weight of a row averages {flat['row_max']:.2f} (flat: 1/T = "
    f"{1 / r['pooled'].shape[1]:.2f}); a row differs from the clip's average row by a total variation of "
    f"{flat['row_tv']:.3f} (0: every frame of pool(a) has the same softmax over a*, hence the same soft match), and "
    f"the frames of pool(a) land on {flat['landing_frames']:.1f} distinct a* frames per clip on average (1: one "
    "column of crosses)."))

# %% [markdown]
# ### Would another temperature open the gate?
#
# The sweep of section 1 on the network's own sequences (all test clips, one line per layer;
# the forward pass is unchanged, only the gate's decision is recomputed at each $\tau$). As $\tau \to 0$
# the soft match becomes the hard nearest neighbour, the most favourable case for a pair that
# follows the same path.

# %%
sweep = cycle_sweep({n: (recs[n]["pooled"], recs[n]["a_star"]) for n in gate_names}, temperatures)
fig = viz.plot_temperature_sweep({n.removesuffix(".srtg"): v for n, v in sweep.items()}, temperatures,
                                 title="Trained network: gate statistics vs τ (test clips)")
fig.savefig(OUT / "network_temperature.png", dpi=90, bbox_inches="tight")
plt.show()
best_open = max((v["open"].max(), n) for n, v in sweep.items())
display(Markdown(f"Best open rate over all layers and τ ∈ {temperatures}: {100 * best_open[0]:.1f}% "
                 f"({best_open[1].removesuffix('.srtg')})."))

# %% [markdown]
# ### Does the gate notice a perturbed clip?
#
# The same test clips played backwards, with shuffled frames, at half speed (the first half, each
# frame twice) and at double speed (twice through): the classifier's accuracy, and each layer's hard
# open rate and consistent-frame fraction. Note what the gate compares: $\mathrm{pool}(a)$ and
# $a^*$ are both computed from the *same* (perturbed) clip, so a perturbation only changes the
# decision if it makes the LSTM follow its input better or worse — unlike the toy, where one of
# the two sequences was perturbed against the other.

# %%
perturbed = perturbed_gate_records(model, X_test, Y_test, seed=seed, device=DEV)  # {perturbation: top1, stats, recs}
display(Markdown("Per layer: hard gate open (%) / cycle-consistent frames (%).\n\n" + markdown_table(
    ["perturbation", "top-1 (%)", *(n.removesuffix(".srtg") for n in gate_names)],
    [[name, f"{100 * p['top1']:.1f}", *(f"{100 * p['stats'][n]['open']:.0f} / "
                                         f"{100 * p['stats'][n]['consistent_frames']:.0f}" for n in gate_names)]
     for name, p in perturbed.items()])))
fig = viz.plot_perturbation_gates(perturbed)
fig.savefig(OUT / "perturbations.png", dpi=100, bbox_inches="tight")
plt.show()
display(Markdown(perturbation_sentence(perturbed)))

# %% [markdown]
# And the chosen layer for the example clip under each perturbation:

# %%
fig, axes = plt.subplots(len(perturbed), 4, figsize=(15.5, 3.5 * len(perturbed)),
                         gridspec_kw=dict(width_ratios=[1.1, 1, 1, 1.5]))
for row, (name, p) in zip(axes, perturbed.items()):
    rr = p["recs"][layer_gate]
    viz.plot_cycle_panel(cycle_view(rr["pooled"][example], rr["a_star"][example], rr["cc"], sample=example), axes=row,
                         labels=("pool(a)", "a*"), title=f"{layer}, clip {example}: {name}", vmax=None)
fig.tight_layout()
fig.savefig(OUT / "perturbation_panels.png", dpi=80, bbox_inches="tight")
plt.show()

# %% tags=["remove-cell"]
open_rates = [float(100 * r["open"]) for r in table]  # the chapter's summary at the top, from this run
glue("net_top1", float(100 * top1), display=False)
glue("open_min", min(open_rates), display=False)
glue("open_max", max(open_rates), display=False)
glue("best_open", float(100 * best_open[0]), display=False)
glue("best_open_layer", best_open[1].removesuffix(".srtg"), display=False)
glue("reverse_top1", float(100 * perturbed["reverse"]["top1"]), display=False)
glue("reverse_open_shift", max(float(abs(100 * (perturbed["reverse"]["stats"][n]["open"] - stats[n]["open"])))
                               for n in gate_names), display=False)

# %% [markdown]
# ### Results files
#
# `results.csv` holds one row per (perturbation, layer) with the gate statistics above;
# `results.json` adds the run's accuracies, the toy's decisions and the configuration.

# %% tags=["hide-input"]
records = [dict(perturbation=name, top1=p["top1"], **row) for name, p in perturbed.items()
           for row in (table if name == "none" else gate_table(p["recs"], p["stats"]))]
write_csv(OUT / "results.csv", records)
write_json(OUT / "results.json", dict(
    model="r3d_18", placement=placement, gate=gate, width=width, epochs=epochs, train_samples=train_samples,
    clip=clip, seed=seed, dataset=dataset, difficulty=difficulty, run_dir=str(run_dir),
    test_top1=result["top1"], test_top1_recomputed=top1, val_top1=result["val"]["top1"],
    top1_by_perturbation={k: p["top1"] for k, p in perturbed.items()},
    gates=records, toy=toy_rows, temperature_sweep={n: {k: v.tolist() for k, v in d.items()} for n, d in sweep.items()},
    temperatures=temperatures, train_wall_s=train_wall, run_train_s=result["wall_s"], reused_run=reused, smoke=smoke,
))
print(f"wrote {OUT / 'results.csv'}, {OUT / 'results.json'} and "
      f"{', '.join(sorted(p.name for p in OUT.glob('*.png')))}")

# %% [markdown]
# ## 3. Explorer
#
# Pick a test clip, a gate, a perturbation and the temperature. The clip (perturbed) is run through
# the trained network; the chosen gate's $\mathrm{pool}(a)$ and $a^*$ are taken from that forward pass
# and their cycle consistency is recomputed at the chosen $\tau$ (the network itself still runs
# at its own temperature, so only this gate's decision changes with the slider). In JupyterLab (a
# live kernel) the figure below the controls appears once a control is moved, and the default
# selection is drawn after the player (`actionrec.viz.make_explorer` explains why the explorer draws
# nothing when it is created).

# %% tags=["hide-input", "remove-output"]
import ipywidgets as widgets

controls = dict(
    clip_index=widgets.IntSlider(value=example, min=0, max=len(X_test) - 1, description="clip"),
    gate_name=widgets.Dropdown(options=gate_names, value=layer_gate, description="layer"),
    perturbation=widgets.Dropdown(options=list(PERTURBATIONS), value="none", description="perturbation"),
    temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=2, step=0.25, description="τ"),
)
view_kwargs = dict(seed=seed, classes=CLASSES, device=DEV)  # the shuffle's seed; class names in the titles
draw = lambda **sel: viz.plot_gate_explorer(gate_explorer_view(model, X_test, Y_test, **sel, **view_kwargs))  # noqa: E731
display(viz.make_explorer(draw, controls, rows=[["clip_index", "gate_name"], ["perturbation", "temperature"]]))

# %% [markdown]
# **In the book, without a kernel**, the controls cannot redraw anything, so the selections that
# answer this chapter's last two questions are precomputed and played below (drag the slider, or ▶
# to play them; `actionrec.viz.static_explorer`): every perturbation × every $\tau$ of the
# `temperatures` parameter (by default the slider's range, one value per decade; a smoke run plays
# two perturbations), for test clip `example` at gate `layer`, the clip and the gate of the per-clip
# figures above. These are the two controls whose effect the section-2 figures only show averaged
# over all clips (the sweep) or at $\tau = 1$ (the perturbation panels); another clip or layer is one
# papermill run away (`-p example 3 -p layer layer3.0`).

# %% tags=["hide-input"]
t0 = time.time()
player_frames = viz.sweep(dict(clip_index=example, gate_name=layer_gate, perturbation="none", temperature=1.0),
                          perturbation=list(PERTURBATIONS[:2] if smoke else PERTURBATIONS), temperature=temperatures)
player = viz.static_explorer(draw, player_frames,
                             label=lambda sel: f"{sel['perturbation']}, τ = {sel['temperature']:g}")
display(HTML(player))
player_s = time.time() - t0

# %% [markdown] tags=["remove-cell"]
# The default selection, drawn statically (what JupyterLab shows until a control is moved; the book
# shows the player above instead):

# %% tags=["remove-cell"]
fig = draw(clip_index=example, gate_name=layer_gate, perturbation="none", temperature=1.0)
fig.savefig(OUT / "explorer_default.png", dpi=80, bbox_inches="tight")
plt.show()
print(f"notebook wall time: {time.time() - t_start:.0f} s (the book's player: {len(player_frames)} frames, "
      f"{len(player) / 1e3:.0f} kB, {player_s:.1f} s)")

# %% [markdown]
# ## Reading the result
#
# * **The mechanism works as written.** On the toy, eq. 4–5 open the gate for a pair that follows
#   the same path at the same time, and close it for time reversal, shuffling, a speed change or a
#   single misplaced frame, which is what the paper's Fig. 4–5 describe (and what the official code,
#   whose gate never opens, could not show).
# * **Whether the gate opens in a trained network** is what the tables of section 2 measure. Where
#   pool(a) and a* are not cycle-consistent, the reason is the toy's last row: an LSTM output that is
#   a slowly moving, bounded summary, far from the pooled features and with a much smaller temporal
#   spread, makes the frames of pool(a) all land on the same few frames of a*. No temperature fixes
#   that, because even the hard nearest neighbour ($\tau \to 0$) lands off the diagonal. In the last
#   stage, where $T = 2$, a cycle of two frames can succeed by chance.
# * **What the gate compares.** It compares a clip's features with the LSTM's reading of *the same*
#   features, not the clip with a reference, so it is no test of temporal order: reversal, shuffling
#   and speed changes can cost the classifier a lot of accuracy and still leave the per-layer gate
#   statistics almost unchanged (the perturbation table shows how much they moved here).
# * With the paper's hard gate a closed gate passes no gradient to its LSTM, so an SRTG network with
#   hard gates trains like the network without SRTG (the `ablation_srtg_placement` chapter compares
#   them over several seeds). The soft gate lets the block use the LSTM in proportion to the soft
#   score, which is ≈ 1/T when the softmaxes are flat (the "soft score" column above).
#
# Findings of the default run are recorded in `benchmarks/README.md`, section *srtg_cycle_consistency*.
# To look further: `-p gate hard` (the LSTMs stay untrained), `-p placement mid`, `-p difficulty medium`,
# or `-p epochs 20` to see whether longer training brings a* closer to pool(a).
