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
# *Learn to cycle* (Stergiou & Poppe, ICPR 2020) adds to a 3D-CNN block a **Squeeze and Recursion**
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
# and finds, on HACS trained from scratch, that **every placement beats the network without SRTG**
# and that **Final is best** (+3.8 points for r3d, +4.7 for r(2+1)d). This notebook re-runs that
# ablation on SynthActions, several seeds per configuration, and decides from its own numbers
# whether those claims hold here. How the gate decides is shown, frame by frame, in the
# `srtg_cycle_consistency` chapter.
#
# **Which gate the placement rows use.** With the paper's gate taken literally (`gate="hard"`: fuse
# only when the clip is cycle-consistent) no gate opens at initialisation, in any placement, so the
# LSTMs get no gradient and the gates stay closed: a closed gate passes its input unchanged, and such
# a "placement" row is the network without SRTG with a different random initialisation. The authors
# report the same: their gates stayed closed ("inactive") for the first 30–50 epochs, "thus the
# weights of the LSTM would not be completely random when the gates are indeed active"
# ([issue #2](https://github.com/alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates/issues/2) of
# the official repository) — i.e. they trained with the LSTM output fused, the state Fig. 2a calls an
# *inactive* gate; their `srtg_*` networks are built with `gates=False` (always fused) and their
# released models are named `srtg_r3d_*_gates_False`. So the **placement rows** here run
# **`gate="open"`**: $a^*$ fused on every clip, the same amount of fusion at every spot, so the rows
# differ in placement only. (`"soft"`, our differentiable blend weighted by the consistency score, is
# selectable but has no source in the paper, and its weight depends on how many frames the gate sees,
# i.e. on the placement.) The **paper-literal hard gate** is one extra row per backbone, `final-hard`
# (Table 1's best placement with `gate="hard"`): the notebook prints how often its gates opened on the
# test clips and measures that, while closed, it *is* the network without SRTG — its logits against
# those of the same trained network with every SRTG bypassed. Only the `none` row and the placement
# rows enter the verdict on the paper's claims.
#
# **Top** (Bottleneck blocks, depth 50/101 only): "Activations of the first convolution are used by
# the LSTM, with fused features being used by the final convolution" (Sec. 3.3) — the LSTM reads
# conv1's output and the gate acts on conv3's input; where conv2 strides in time, $a^*$ and
# $\mathrm{pool}(a)$ are average-pooled over time to conv3's frames (`actionrec.models.resnet3d`; the
# official code's Top, fused at conv1's output, is `srtg_top_fusion="conv2"`).

# %% tags=["parameters"]
backbones = ["r3d", "r2plus1d"]  # "r3d" (3x3x3 convs) and/or "r2plus1d" ((2+1)D convs)
depth = 18  # 18 or 34 (Simple blocks), 50 or 101 (Bottleneck: also "top" and "end")
placements = ["none", "start", "mid", "res", "final"]  # none: the network without SRTG
gate = "open"  # placement rows: "open" (always fuse; the authors' training) | "soft" (ours) | "hard" (the paper's test)
hard_row = "final"  # one extra row with the paper's hard gate at this placement ("": none)
seeds = 3  # training seeds per configuration
epochs = 5  # passes over the training split
width = 0.125  # channel multiplier of the ResNet widths (64..512 -> 8..64)
clip = [16, 32, 32]  # T, H, W of the training clips
train_samples = 512  # training clips (val/test: a quarter each); real datasets: 0 means the whole split
batch_size = 32  # clips per step
lr = 0.003  # AdamW peak learning rate (cosine schedule)
dataset = "synthactions"  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos)
data_root = ""  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo
split = 1  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one)
difficulty = "easy"  # SynthActions only: "easy" | "medium" | "hard"
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_srtg_placement; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# Parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains. Every (backbone, placement, seed) run writes its checkpoint, metrics log and result under
# `out_dir/runs/<backbone>-<placement>-<tag>/seed_<k>` (the hard-gate row: `<backbone>-<hard_row>-hard-<tag>`;
# the tag hashes every setting, the gate and Top's fusion site included); finished runs are loaded
# instead of retrained.

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.experiments import params as P
from actionrec.experiments.grid import train_grid
from actionrec.experiments.setup import base_config, build_runs, data_kwargs, dataset_name, preview_clips, split_dataset
from actionrec.experiments.summary import (aggregate_curves, compare, markdown_table, pct, summarize, summarize_by,
                                           write_results)
from actionrec.papers.srtg import (add_gate_open_rates, gate_open_sentence, hard_gate_sentence, srtg_placement_claim,
                                   srtg_placement_variants, srtg_placements)
from actionrec.utils.checks import check_choice, check_list
from actionrec.utils.paths import make_out_dir

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
                     "every verdict compares against it")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    backbones, placements, seeds, epochs = backbones[:1], ["none", "final"], 2, 1
    width, clip, train_samples, batch_size = 0.125, [16, 32, 32], 64, 16
OUT = make_out_dir(out_dir, "ablation_srtg_placement")
print(f"results -> {OUT}")

# %% [markdown]
# ## SynthActions
#
# Stick figures performing 16 actions at ×0.5–×2 speed in a random 30–100% window of the clip;
# seven pairs of classes are exact time reversals of each other, so frame order matters.
#
# **Why these defaults.** The whole grid (2 backbones × (5 placement rows + 1 hard-gate row) × 3
# seeds = 36 runs, one per core) is sized to train in about ten minutes on a 2-core laptop CPU, which
# sets the width (0.125) and the number of clips and epochs. Clips are 16×32×32, the smallest the networks accept,
# on the `easy` setting, as in the MTNet chapter. The step times and grid timings behind these
# choices are in `benchmarks/README.md`, section *ablation_srtg_placement*.

# %%
T, H, W = clip
train_kwargs = data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split)
preview, shown = preview_clips(dataset, train_kwargs)  # a few training clips
fig = viz.clip_grid(**shown, every=2)
plt.show()

# %% [markdown]
# ## Train every (backbone, placement, seed)

# %%
base = base_config(dataset=dataset, dataset_kwargs=train_kwargs, train_samples=train_samples, epochs=epochs,
                   batch_size=batch_size, lr=lr, device=device)  # AdamW, cosine schedule
variants = srtg_placement_variants(base, backbones=backbones, depth=depth, placements=placements, width=width,
                                   gate=gate, hard_row=hard_row or None)  # placement rows, then `<hard_row>-hard`
configs, extras = build_runs(variants, num_classes=preview.num_classes, input_shape=(3, T, H, W))  # + GMACs, params
rows, wall = train_grid(configs, seeds, OUT / "runs", extras=extras)  # one run per core
ROWS = list(dict.fromkeys(e["config"] for e in extras.values()))  # table order: none, placements, hard row

# %% [markdown]
# ## How often did the gates open?
#
# For every trained network with SRTG: per gate, the fraction of test clips for which it fused
# (`gates open`: always 100% for the open gates of the placement rows) and for which the paper's test
# passed (`cycle-consistent`: what a hard gate would have decided), averaged over the gates of the
# network and over seeds. For the hard-gate row, also the equivalence check: the trained network's
# logits against those of the same network with every SRTG bypassed (its gates set to `"closed"`,
# i.e. the network without SRTG), on the same test clips
# (`actionrec.papers.srtg.hard_gate_check`).

# %%
test_set = split_dataset(base, "test")  # the clips the runs were tested on (real videos: one view each)
add_gate_open_rates(rows, torch.utils.data.DataLoader(test_set, batch_size=64))  # gate_open, ..., bypass check

# %% [markdown]
# ## Results (Table 1 analogue)
#
# Mean ± 95% CI (Student's $t$ over seeds) of test top-1, of *val AUC* (mean validation accuracy
# over all epochs: how fast a configuration learns), and the gates' rates on the test clips. The
# `none` row and the rows named after a placement (gate `gate`) are the ablation; the `-hard` row is
# the paper's gate taken literally, shown beside it and kept out of the verdicts.

# %%
summary = summarize(rows, by=("backbone", "config"), metric="top1")
auc = summarize_by(rows, ("backbone", "config"), "val_auc")
gates = summarize_by(rows, ("backbone", "config"), "gate_open", present_only=True)
consistent = summarize_by(rows, ("backbone", "config"), "gate_consistent", present_only=True)
write_results(rows, summary, OUT)
display(Markdown(markdown_table(
    ["backbone", "SRTG", "gate", "top-1 (%)", "val AUC (%)", "gates open (%)", "cycle-consistent (%)", "GMACs",
     "params (M)", "n"],
    [[f"{e['backbone']}-{depth}", e["config"], e["gate"], pct(e), pct(auc[(e["backbone"], e["config"])]),
      pct(gates.get((e["backbone"], e["config"]))), pct(consistent.get((e["backbone"], e["config"]))),
      f"{e['gmacs']:.4f}", f"{e['params_m']:.3f}", e["n"]] for e in summary])))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
viz.plot_grouped_bars(summary, label_key="config", group_key="backbone", labels=ROWS, ax=axes[0],
                      title=f"ResNet-{depth} on {dataset_name(dataset)} ({T}×{H}×{W}): test top-1")
if consistent:
    viz.plot_grouped_bars(list(consistent.values()), label_key="config", group_key="backbone",
                          labels=[c for c in ROWS if c != "none"], ax=axes[1],
                          ylabel="test clips cycle-consistent (%)", title="Paper's test passed (mean over gates)")
else:
    axes[1].set_axis_off()
fig.tight_layout()
fig.savefig(OUT / "placements.png", dpi=120, bbox_inches="tight")
plt.show()
if gate_open_sentence(rows):
    display(Markdown(gate_open_sentence(rows)))

# %% [markdown]
# ## The paper's hard gate: open rate and equivalence to "no SRTG"
#
# Measured on the test clips for every trained `-hard` network: how often its gates opened, and the
# largest difference between its logits and those of the same network with every SRTG bypassed. A
# difference of exactly 0 on the clips whose gates stayed closed is the measurement behind "this row
# is the network without SRTG"; its top-1 against the `none` row then says how much a different
# random initialisation (the LSTMs are created between the other layers) moves the result.

# %%
if hard_gate_sentence(rows):
    display(Markdown(hard_gate_sentence(rows)))
    for backbone in backbones:
        sub = [e for e in summary if e["backbone"] == backbone]
        display(Markdown(f"**{backbone}-{depth}.** " + compare(sub, {"config": f"{hard_row}-hard"},
                                                                {"config": "none"})["sentence"]))
    print("per run:", [(r["name"], r["seed"], f"open {100 * r['gate_open']:.2f}%", f"max |diff| {r['bypass_max_diff']:.3g}")
                       for r in rows if r.get("bypass_max_diff") is not None])
else:
    print("no hard-gate row in this grid (hard_row='' or gate='hard')")

# %% [markdown]
# ## Learning speed
#
# Validation top-1 after each epoch, mean ± 95% CI over seeds.

# %%
fig, axes = plt.subplots(1, len(backbones), figsize=(6.5 * len(backbones), 3.8), squeeze=False)
for ax, backbone in zip(axes[0], backbones):
    curves = {extras[n]["config"]: aggregate_curves(OUT / "runs", n, x="epoch")
              for n in configs if extras[n]["backbone"] == backbone}
    viz.plot_learning_curves(curves, title=f"{backbone}-{depth}: validation top-1", ax=ax)
fig.savefig(OUT / "learning_curves.png", dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Do the paper's claims hold here?
#
# Computed from the `none` row and the placement rows of the table above (gate `gate`; the `-hard`
# row does not count), CIs that overlap counting as "cannot tell apart":

# %%
verdicts = {}
for backbone in backbones:
    sub = [e for e in summary if e["backbone"] == backbone]
    v = srtg_placement_claim(sub, gate=gate)
    va = srtg_placement_claim([auc[(backbone, e["config"])] for e in sub], gate=gate)
    verdicts[backbone] = {"top1": v["sentence"], "val_auc": va["sentence"]}
    display(Markdown(f"**{backbone}-{depth}, final test top-1.** {v['sentence']}\n\n"
                     f"**{backbone}-{depth}, learning speed (val AUC).** {va['sentence']}"))

write_results(rows, summary, OUT, extra={"verdicts": verdicts, "wall_minutes": wall / 60, "gate": gate,
                                         "hard_row": hard_row})
print(f"table: {OUT / 'results.csv'}\nplots: {OUT / 'placements.png'}, {OUT / 'learning_curves.png'}")

# %% [markdown]
# ## Reading the result
#
# The paper trains 34-layer networks at full width from scratch on HACS (≈500k clips, 200 classes);
# here 18-layer networks at an eighth of the width learn 16 synthetic classes from a few hundred
# small clips. Things to keep in mind:
#
# * **Which rows are which.** `none` is the network without SRTG. The rows named after a placement
#   (`start`, `mid`, `res`, `final`; `top`, `end` at depth 50/101) hold an SRTG with gate `gate` in
#   every residual block — by default `"open"`, Squeeze and Recursion fused on every clip, as the
#   authors trained (module docstring of `actionrec.papers.srtg`). These rows carry the verdicts.
#   `final-hard` is Final with the paper's gate taken literally; it is there to show what that gate
#   does, not to rank placements.
# * **The hard gate decides per clip whether SRTG does anything.** With the paper's rule (open only
#   when *every* frame cycles back, in both directions) a gate can stay closed on (almost) every clip:
#   when the LSTM's output changes little from frame to frame, each frame's soft nearest neighbour
#   (eq. 4) is close to the sequence mean, and only short sequences (the 2-frame last stage) cycle
#   back at all. The `cycle-consistent` column says how often the test passed, also inside the
#   open-gated networks, and the `srtg_cycle_consistency` chapter takes the mechanism apart frame by
#   frame. Where the equivalence check above finds a difference of 0, the `final-hard` row is the
#   network without SRTG, and its gap to `none` is the spread between random initialisations.
# * `-p gate soft` runs the placement rows with the differentiable soft gate instead (our option:
#   the fused features weighted by the consistency score); `-p gate hard` runs every placement with
#   the paper's gate (the grid of earlier versions of this chapter), `-p hard_row ''` drops the extra row.
# * The official code's gate never opens, for a different reason (an in-place `scatter_` zeroes its
#   test; see `shared/papers/NOTES.md`), and its released networks do not use it (`gates=False`).
# * The seed-to-seed spread of short CPU runs can be as large as the 1–5 points the paper reports
#   between placements.
#
# To run closer to the paper: `-p depth 34 -p width 1.0 -p clip '[16, 112, 112]' -p epochs 30
# -p seeds 5` on a GPU (CUDA and mixed precision are used automatically).
