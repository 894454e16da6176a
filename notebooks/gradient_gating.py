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
# # Gradient gating: what multiplying by the motion stream does to the gradients
#
# *Spatiotemporal Multiplier Networks* (Feichtenhofer, Pinz & Wildes, CVPR 2017) connect a two-stream
# ResNet by feeding the motion stream into the residual units of the appearance stream (Sec. 3.2).
# With $x^a_l, x^m_l$ the inputs of the $l$-th units of the two streams, $f$ = ReLU and
# $\mathcal F$ the appearance unit's residual branch, the **additive** connection (eq. 2) and the
# **multiplicative** one (eq. 5) are
#
# $$\hat x^a_{l+1} = f(x^a_l) + \mathcal F\big(x^a_l + f(x^m_l)\big) \qquad\text{vs}\qquad
#   \hat x^a_{l+1} = f(x^a_l) + \mathcal F\big(x^a_l \odot f(x^m_l)\big).$$
#
# The paper's argument for ⊙ is about the **backward** pass. Write $u$ for the branch input,
# $\delta = \partial\mathcal L/\partial \hat x^a_{l+1}$ and $g = J_{\mathcal F}(u)^\top\delta$ for the
# gradient the branch hands back to its input. The chain rule gives (eq. 3–4 and 6–7)
#
# $$\oplus:\quad \frac{\partial\mathcal L}{\partial x^a_l} = \delta + g,\qquad
#   \frac{\partial\mathcal L}{\partial x^m_l} = (\text{motion's own path}) + g \odot f'(x^m_l)$$
# $$\odot:\quad \frac{\partial\mathcal L}{\partial x^a_l} = \delta + g \odot f(x^m_l),\qquad
#   \frac{\partial\mathcal L}{\partial x^m_l} = (\text{motion's own path}) + g \odot x^a_l \odot f'(x^m_l)$$
#
# (the skip path is the identity: the inputs of a unit are post-ReLU, so $f(x^a_l) = x^a_l$). With ⊙
# the gradient through the appearance branch is **scaled by the motion signal**, and the gradient
# sent into the motion stream is **scaled by the appearance signal**: "during backpropagation the
# gradient is factored with the opposing stream's forward signal" (Fig. 3). The printed eq. 7 drops
# the $f'(x^m_l)$ mask; we keep it and show where it matters.
#
# This chapter:
#
# 1. **One residual unit, by hand.** A SynthActions frame as the appearance input, its optical flow
#    as the motion input, a tiny residual branch, and `actionrec.layers.fusion.CrossStreamConnection`
#    with ⊕ and ⊙: forward maps, gradient maps, and autograd checked against eq. 3–4 / 6–7.
# 2. **Gates during training.** A small two-stream network with ⊙ connections trained on
#    SynthActions (RGB + flow); after every epoch, statistics of the gate $f(x^m)$ at each of the
#    four connections: its distribution, how many gates are closed, how much it scales the
#    appearance gradient, how much gradient it sends to the motion stream, and whether it is wider
#    open where something moves.

# %% tags=["parameters"]
fusion = "residual_mul"  # connection of the trained network: "residual_mul" (⊙, eq. 5) | "residual_add" (⊕, eq. 2)
direction = "m2a"  # "m2a" (motion gates appearance: the paper) | "a2m" | "bi"
width = 0.125  # channel multiplier of both ResNet streams (planes 64..512 -> 8..64)
flow_channels = 8  # 2L: the motion stream reads stacks of L (here 4) flow fields around each frame
epochs = 8  # passes over the training split (gate statistics after each)
train_samples = 640  # training clips (val/test: a quarter each)
batch_size = 32  # clips per step
lr = 0.003  # AdamW peak learning rate (cosine schedule)
clip = [16, 32, 32]  # T, H, W of the training clips
seed = 0  # training seed
dataset = "synthactions"  # SynthActions only: the chapter reads the renderer's exact flow and action windows
difficulty = "easy"  # SynthActions: "easy" | "medium" | "hard"
probe_clips = 64  # validation clips the gate statistics are computed on, at every epoch
example = 0  # test clip drawn in section 1 and in the gate maps
unit_size = 64  # height and width of the frame used in section 1
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/gradient_gating; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 40 s)

# %% [markdown]
# ## Setup
#
# Parameters are checked first, so a bad value fails here, naming the parameter, before anything
# trains. The run lives in `out_dir/runs/two_stream-<fusion>-<direction>-<tag>/seed_<seed>` (the
# tag hashes every other setting) with the weights after every epoch in its `snapshots/` folder;
# a finished run is loaded instead of retrained.

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from IPython.display import Markdown, display

from actionrec import experiments as ex
from actionrec import gating as G
from actionrec import params as P
from actionrec import runs as R
from actionrec.data import build_dataset
from actionrec.data.synthetic import SynthActions
from actionrec.layers.fusion import DIRECTIONS, FUSION_KINDS, CrossStreamConnection
from actionrec.models import build_model
from actionrec.utils import get_device

P.check_choice("fusion", fusion, FUSION_KINDS)
P.check_choice("direction", direction, DIRECTIONS)
P.check_synthactions_only(dataset, "section 1 and the gate statistics on moving pixels read the renderer's exact "
                          "optical flow and action windows (SynthActions.flow, .action_window); videos have neither")
P.check_common(width=width, epochs=epochs, train_samples=train_samples, batch_size=batch_size, lr=lr, clip=clip,
               seed=seed, dataset=dataset, difficulty=difficulty, device=device,
               smoke=smoke)  # shared rules: actionrec.params
P.check_flow(flow_channels)  # 2L: an even number
P.check_int("probe_clips", probe_clips, min_value=2)
P.check_int("example", example, min_value=0)
P.check_int("unit_size", unit_size, min_value=16, max_value=256)
if clip[0] < 4 or clip[1] < 16 or clip[2] < 16:
    raise ValueError(f"parameter clip={clip!r} is invalid: expected T >= 4 and H, W >= 16")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    width, epochs, train_samples, batch_size, clip, probe_clips, unit_size = 0.125, 1, 64, 16, [8, 32, 32], 8, 32
test_samples = max(32, train_samples // 4)
if example >= test_samples:
    raise ValueError(f"parameter example={example!r} is invalid: expected an index < {test_samples} (test clips)")
probe_clips = min(probe_clips, test_samples)

OUT = P.resolve_out_dir(out_dir, "gradient_gating")
OUT.mkdir(parents=True, exist_ok=True)
DEV = get_device(device)
print(f"results -> {OUT}  (device: {DEV})")
t_start = time.time()

# %% [markdown]
# ## 1. One residual unit, by hand
#
# The appearance input $x^a$ is frame $t$ of a test clip (RGB in $[0, 1]$, three channels, all
# $\ge 0$ like a post-ReLU feature map), taken in the middle of the action. The motion input $x^m$
# has three channels built from the ground-truth flow $(d_x, d_y)$ of that frame:
# $(\,\|d\|,\ d_x,\ d_y)$, so the gate $f(x^m) = (\|d\|, \mathrm{relu}(d_x), \mathrm{relu}(d_y))$
# is zero on the static background, and its last two channels are also zero wherever the figure
# moves left or up ($f' = 0$ there). Each stream's residual branch is
# conv 3×3 → tanh → conv 3×3 (3 → 3 channels, random weights, float64), and
# `CrossStreamConnection(3, 3, kind=..., direction="m2a")` provides the skip and branch inputs.
# The loss is $\mathcal L = \langle w_a, \hat x^a\rangle + \langle w_m, \hat x^m\rangle$, so
# $\delta = w_a$; the maps use $w = 1$ everywhere (every output pixel matters equally) so that all
# spatial structure in the gradients comes from the unit itself.

# %%
unit_ds = SynthActions("test", test_samples, seed=0, frames=clip[0], size=unit_size, difficulty=difficulty)
w0, w1 = unit_ds.action_window(example)
t_mid = int(round((w0 + w1) / 2))
t_mid = min(max(t_mid, 0), clip[0] - 2)  # a frame with a flow field t -> t+1
rgb = torch.from_numpy(unit_ds.render(example)[t_mid]).permute(2, 0, 1).double()[None] / 255.0  # (1, 3, H, W)
flow = torch.from_numpy(unit_ds.flow(example)[t_mid]).permute(2, 0, 1).double()[None]  # (1, 2, H, W)
x_a = rgb
x_m = torch.cat([flow.norm(dim=1, keepdim=True), flow], dim=1)  # (1, 3, H, W): |d|, dx, dy
moving = (x_m[0, 0] > 0.5).numpy()  # pixels that move by more than half a pixel

torch.manual_seed(seed)
branch_a = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 3, 3, padding=1)).double()
branch_m = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 3, 3, padding=1)).double()
ones = torch.ones_like(x_a)
unit = {kind: G.unit_gradients(CrossStreamConnection(3, 3, kind=kind, direction="m2a"), branch_a, branch_m,
                               x_a, x_m, ones, ones) for kind in ("residual_add", "residual_mul")}
NAMES = {"residual_add": "⊕ (eq. 2)", "residual_mul": "⊙ (eq. 5)"}


def chan_abs(t):
    """(1, C, H, W) -> (H, W): |t| summed over channels."""
    return t[0].abs().sum(0).numpy()


fig, axes = plt.subplots(2, 5, figsize=(15, 6.4))
for row, (kind, r) in zip(axes, unit.items()):
    br = x_a * r["gate_a"] if kind == "residual_mul" else x_a + r["gate_a"]  # branch input u
    app_branch = r["autograd_a"] - ones  # ∂L/∂x_a minus the skip path's δ: g or g ⊙ f(x_m)
    panels = [(x_a[0].permute(1, 2, 0).numpy(), "appearance input $x^a$ (frame %d)" % t_mid, None),
              (r["gate_a"][0].mean(0).numpy(), "gate $f(x^m)$ (mean over channels)", "viridis"),
              (br[0].mean(0).numpy(), f"branch input $u$ ({NAMES[kind]})", "viridis"),
              (chan_abs(app_branch), "|∂L/∂$x^a$ − δ|: appearance branch gradient", "magma"),
              (chan_abs(r["cross_m"]), "|gradient sent to $x^m$| (via the branch)", "magma")]
    for ax, (img, title, cmap) in zip(row, panels):
        im = ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if cmap is not None:
            fig.colorbar(im, ax=ax, fraction=0.046)
    row[0].set_ylabel(NAMES[kind], fontsize=11)
fig.suptitle(f"One residual unit, ⊕ vs ⊙: test clip {example} ({unit_ds.classes[unit_ds.label(example)]}), "
             f"frame {t_mid}", fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "unit_maps.png", dpi=90, bbox_inches="tight")
plt.show()

# %% [markdown]
# Top row (⊕): the motion signal is *added* to the appearance input, so the branch sees the frame
# plus a bright figure; the gradient that the branch hands back to $x^a$ is $g$ itself, spread
# over the whole image (wherever the branch's output depends on its input), and the motion stream
# receives that same $g$ (masked by $f'$). Bottom row (⊙): the branch sees the frame *only where
# something moves*; the appearance gradient through the branch is $g \odot f(x^m)$, zero on the
# static background, and the gradient sent to the motion stream is $g \odot x^a \odot f'(x^m)$,
# i.e. weighted by the brightness of the frame at the moving pixels. How much of each gradient
# lies on the moving pixels:

# %%
mov_frac = moving.mean()
mech_rows = []
for kind, r in unit.items():
    app = chan_abs(r["autograd_a"] - ones)
    crs = chan_abs(r["cross_m"])
    mech_rows.append(dict(kind=kind, app_on_moving=float(app[moving].sum() / max(app.sum(), 1e-300)),
                          cross_on_moving=float(crs[moving].sum() / max(crs.sum(), 1e-300)),
                          app_grad_norm=float(np.sqrt((app ** 2).sum())), cross_grad_norm=float(np.sqrt((crs ** 2).sum()))))
lines = ["| connection | appearance branch gradient on moving pixels | gradient to motion on moving pixels |",
         "|---|---|---|"]
for m in mech_rows:
    lines.append(f"| {NAMES[m['kind']]} | {100 * m['app_on_moving']:.1f}% | {100 * m['cross_on_moving']:.1f}% |")
display(Markdown(f"Moving pixels (|flow| > 0.5 px): {100 * mov_frac:.1f}% of the frame.\n\n" + "\n".join(lines)))

# %% [markdown]
# ### Autograd against eq. 3–4 and 6–7
#
# `actionrec.gating.unit_gradients` computes the same input gradients twice: once by autograd
# through the module, once from the formulas above (with $g$ from autograd through the branch
# alone, and the motion stream's own path from its unit alone). The check runs on the uniform
# upstream gradient of the maps and on 5 random ones, in float64, for both kinds; the last column
# is the printed eq. 4 / 7, without the $f'(x^m)$ mask.

# %%
gen = torch.Generator().manual_seed(seed)
check_rows = []
for kind in ("residual_add", "residual_mul"):
    conn = CrossStreamConnection(3, 3, kind=kind, direction="m2a")
    ups = [(ones, ones)] + [(torch.randn(x_a.shape, generator=gen, dtype=torch.float64),
                             torch.randn(x_a.shape, generator=gen, dtype=torch.float64)) for _ in range(5)]
    res = [G.unit_gradients(conn, branch_a, branch_m, x_a, x_m, wa, wm) for wa, wm in ups]
    scale = max(max(r["autograd_a"].abs().max().item(), r["autograd_m"].abs().max().item()) for r in res)
    check_rows.append(dict(kind=kind, max_abs_diff_a=max(r["max_abs_diff_a"] for r in res),
                           max_abs_diff_m=max(r["max_abs_diff_m"] for r in res),
                           max_abs_diff_paper=max(r["max_abs_diff_paper"] for r in res), grad_scale=scale))
lines = ["| connection | max \\|autograd − eq.\\| ∂L/∂x^a | ∂L/∂x^m | without f′ (as printed) | "
         "largest \\|gradient\\| |", "|---|---|---|---|---|"]
for c in check_rows:
    lines.append(f"| {NAMES[c['kind']]} | {c['max_abs_diff_a']:.2e} | {c['max_abs_diff_m']:.2e} | "
                 f"{c['max_abs_diff_paper']:.2e} | {c['grad_scale']:.2f} |")
display(Markdown("\n".join(lines)))
worst = max(max(c["max_abs_diff_a"], c["max_abs_diff_m"]) for c in check_rows)
paper_gap = max(c["max_abs_diff_paper"] for c in check_rows)
neg = float(((x_m[0, 1:] < 0) & (x_m[0, :1] > 0.5)).double().mean())
display(Markdown(
    f"**Check:** autograd and eq. 3–4 / 6–7 agree to a max abs difference of {worst:.1e} over "
    f"{2 * len(ups)} cases (gradients up to {max(c['grad_scale'] for c in check_rows):.1f}; float64 rounding). "
    f"Without the $f'(x^m)$ factor, as eq. 4 / 7 are printed, the motion gradient is off by up to {paper_gap:.2f}: "
    f"on {100 * neg:.1f}% of the (pixel, flow-channel) pairs the figure moves with $d < 0$, the ReLU gate is "
    "closed and no gradient reaches $x^m$ there."))

# %% [markdown]
# ## 2. Gates during training
#
# A two-stream network (`two_stream_small`: one Bottleneck per stage in each stream, 2D convs over
# the frames, width 0.125 by default) with a cross-stream connection in front of the first unit of
# every stage (4 connections), trained on SynthActions with RGB + ground-truth flow (quantised to
# 8 bits like the paper's stored flow), one loss per stream, temporal max-pooling (eq. 10) and no
# temporal filters (they are not what this chapter is about, and they triple the step time).
#
# **Why these defaults.** One training step (batch 32, 16×32×32) took 0.9 s on one idle core at
# width 0.125 with flow stacks of L = 4, against 2.7 s with the ‡ temporal filters and 4.5 s at
# width 0.25 (`taskset -c 1`, one thread). 8 epochs of 640 clips are 160 steps and take the
# network from chance to ≈ 95% test top-1 (validation 22 → 49 → 66 → 79 → 87 → 91 → 92 → 92%), so
# the gates are followed over the whole course of learning. Measured on the shared 2-core machine
# (one core, load ≈ 5 from other jobs): training 282 s, the gate statistics of the 9 snapshots
# 26–32 s, the whole notebook 5.6 minutes; 44 s when the run is reused. On an idle machine the
# estimate was ≈ 160 × 0.9 s + evaluation + statistics ≈ 3.5 minutes; measured later, `make
# run-gradient_gating` on a fresh `build/` took **2.4 minutes** (other jobs sharing the machine).
#
# `actionrec.runs.fit_with_snapshots` trains with `actionrec.train.fit`, stopping after every
# epoch (fit's exact resume) to keep the weights; the run is the ordinary run of this config.

# %%
T, H, W = clip
cfg = G.two_stream_config(width=width, flow_channels=flow_channels, fusion=fusion, direction=direction, epochs=epochs,
                          train_samples=train_samples, batch_size=batch_size, lr=lr, clip=clip, seed=seed,
                          difficulty=difficulty, device=device)  # the attribution notebook builds the same run
data_kwargs, model_kwargs = cfg.dataset_kwargs, cfg.model_kwargs
name = f"two_stream-{fusion}-{direction}-{ex.config_tag(cfg)}"
run_dir = ex.run_dir_of(OUT / "runs", name, seed)
t0 = time.time()
reused = (run_dir / "final.json").exists()
result, snapshots = R.fit_with_snapshots(cfg, run_dir, num_classes=SynthActions.num_classes)
train_wall = time.time() - t0
print(f"two_stream_small ({fusion}, {direction}): test top-1 {100 * result['top1']:.1f}%, "
      f"{result['params'] / 1e6:.2f} M params; {'loaded a finished run' if reused else 'trained'} in {train_wall:.0f} s "
      f"[{run_dir}]")

# %% [markdown]
# ### Gate statistics after every epoch
#
# For each snapshot (epoch 0 = the initialisation), `actionrec.gating.gate_statistics` runs the
# first `probe_clips` validation clips through the network in training mode (batch statistics in
# BatchNorm, as the optimiser sees it), back-propagates the training loss (the sum of the two
# streams' cross-entropies) and reads, at every connection, through hooks:
#
# * the gate $s = f(x^m)$ (the motion stream's input to that stage after the ReLU): mean and
#   10/50/90% quantiles;
# * **closed gates**: the fraction with $s = 0$ exactly (ReLU closed: that appearance feature is
#   switched off in the branch and gets no branch gradient), and near zero ($< 0.1 \times$ the mean);
# * **gradient scale** $\|g \odot s\| / \|g\|$: how much the gate scales the gradient the appearance
#   branch hands back (1 for ⊕ by definition). If $g$ did not depend on where the gate is open, this
#   would equal the gate's RMS $\sqrt{\overline{s^2}}$; above it, the branch gradient is concentrated
#   on open gates;
# * **cross share** $\|g \odot x^a \odot f'\| / \|\partial\mathcal L/\partial x^m\|$: the part of
#   the motion stream's gradient that arrives from the appearance loss through the gate (eq. 7's
#   second term) relative to everything the motion stream receives there;
# * **moving / static**: the mean gate on feature cells that cover a moving pixel (ground-truth
#   flow > 0.5 px) over the mean gate on the others: is the motion gate open where there is motion?

# %%
probe = build_dataset("synthactions", "val", num_samples=test_samples, seed=cfg.data_seed, **data_kwargs)
idx = list(range(probe_clips))
X_probe, Y_probe = probe.get_batch(idx)  # (N, 5, T, H, W), (N,)
gt_flow = torch.from_numpy(probe.flow_batch(idx))  # (N, T-1, H, W, 2)
speed = gt_flow.norm(dim=-1)  # (N, T-1, H, W)
MOVING = torch.cat([speed, speed[:, -1:]], dim=1) > 0.5  # (N, T, H, W): the last frame repeats, like the flow input

val_top1 = {0: None}
for h in result["val_history"]:
    val_top1[h["epoch"]] = h["top1"]
history = []
t0 = time.time()
for epoch, path in snapshots.items():
    net = build_model(cfg.model, num_classes=probe.num_classes, **model_kwargs)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.to(DEV)
    for row in G.gate_statistics(net, X_probe, Y_probe, batch_size=batch_size, moving=MOVING, device=DEV):
        history.append(dict(epoch=epoch, val_top1=val_top1.get(epoch), **row))
stats_wall = time.time() - t0
print(f"gate statistics of {len(snapshots)} snapshots in {stats_wall:.0f} s")

STAGES = sorted({(r["stage"], r["receiver"]) for r in history})
last = max(snapshots)
lines = ["| epoch | val top-1 | stage | gate mean / RMS | q10 / q50 / q90 | closed | near 0 | gradient scale | cross share | "
         "moving / static |", "|---|---|---|---|---|---|---|---|---|---|"]
for r in history:
    if r["epoch"] not in (0, 1, last // 2, last):
        continue
    v = "–" if r["val_top1"] is None else f"{100 * r['val_top1']:.0f}%"
    lines.append(f"| {r['epoch']} | {v} | {r['stage']} ({r['receiver'][0]}) | {r['gate_mean']:.3f} / {r['gate_rms']:.3f} | "
                 f"{r['gate_q10']:.2f} / {r['gate_q50']:.2f} / {r['gate_q90']:.2f} | {100 * r['frac_zero']:.0f}% | "
                 f"{100 * r['frac_near_zero']:.0f}% | {r['grad_scale']:.2f} | {r['cross_share']:.2f} | "
                 f"{r['moving_ratio']:.2f} |")
display(Markdown("Selected epochs (all of them are in `results.csv`); stage: connection in front of "
                 "conv{stage+1}_x, (a) = it gates the appearance stream, (m) the motion stream.\n\n" + "\n".join(lines)))

# %%
keys = [("gate_mean", "gate mean (band: q10–q90)"), ("frac_zero", "closed gates (s = 0)"),
        ("grad_scale", "gradient scale ‖g⊙s‖/‖g‖"), ("cross_share", "cross share at the sender"),
        ("moving_ratio", "gate on moving / static cells"), ("val_top1", "validation top-1")]
fig, axes = plt.subplots(2, 3, figsize=(14, 7))
for ax, (key, title) in zip(axes.flat, keys):
    if key == "val_top1":
        ep = [e for e in sorted(val_top1) if val_top1[e] is not None]
        ax.plot(ep, [100 * val_top1[e] for e in ep], marker="o", color="k")
        ax.set_ylabel("%")
    else:
        for k, (st, recv) in enumerate(STAGES):
            rs = [r for r in history if r["stage"] == st and r["receiver"] == recv]
            xs = [r["epoch"] for r in rs]
            ax.plot(xs, [r[key] for r in rs], marker="o", ms=3, color=f"C{k}", label=f"stage {st} ({recv[0]})")
            if key == "gate_mean":
                ax.fill_between(xs, [r["gate_q10"] for r in rs], [r["gate_q90"] for r in rs], color=f"C{k}", alpha=0.12)
    if key in ("grad_scale", "moving_ratio"):
        ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
axes.flat[0].legend(fontsize=8)
fig.suptitle(f"Gates of two_stream_small ({fusion}, {direction}) during training "
             f"({probe_clips} validation clips)", fontsize=11)
fig.tight_layout()
fig.savefig(OUT / "gate_history.png", dpi=90, bbox_inches="tight")
plt.show()
display(Markdown("**In this run:** " + G.gating_sentence(history)))

# %% [markdown]
# ### Where the gates open
#
# The first connection's gate for the test clip `example`, at initialisation and after training
# (mean over channels, one colour scale per row), under the frames and their flow magnitude.
# The gate is the motion stream's feature map at the input of conv2_x ($16 \times 16$ for a
# $32 \times 32$ clip), so it can only be as sharp as that.

# %%
test_set = build_dataset("synthactions", "test", num_samples=test_samples, seed=cfg.data_seed, **data_kwargs)
x_ex, y_ex = test_set.get_batch([example])  # (1, 5, T, H, W)
frames_ex = test_set.render(example)  # (T, H, W, 3) uint8
maps = {}
for epoch in (0, last):
    net = build_model(cfg.model, num_classes=test_set.num_classes, **model_kwargs)
    net.load_state_dict(torch.load(snapshots[epoch], map_location="cpu", weights_only=True))
    net.to(DEV).eval()
    with G.GateRecorder(net) as rec, torch.no_grad():
        net(x_ex.to(DEV))
    first = rec.records[G.connections_of(net)[0][0]]
    recv = next(iter(first))
    maps[epoch] = first[recv]["gate"].float().mean(1).cpu().numpy()  # (B*T, h, w) = (T, h, w)
ts_show = list(range(0, T, max(1, T // 8)))
fig, axes = plt.subplots(4, len(ts_show), figsize=(1.35 * len(ts_show) + 1, 6.2), squeeze=False)
flow_ex = x_ex[0, 3:].norm(dim=0).numpy()  # (T, H, W)
rows = [("frame", None), ("|flow|", None), ("gate, epoch 0", 0), (f"gate, epoch {last}", last)]
for i, (label, ep) in enumerate(rows):
    vmax = None if ep is None else maps[ep].max()
    for j, t in enumerate(ts_show):
        ax = axes[i, j]
        if label == "frame":
            ax.imshow(frames_ex[t])
            ax.set_title(f"t = {t}", fontsize=8)
        elif label == "|flow|":
            ax.imshow(flow_ex[t], cmap="magma", vmin=0, vmax=max(flow_ex.max(), 1e-6))
        else:
            ax.imshow(maps[ep][t], cmap="viridis", vmin=0, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        if j == 0:
            ax.set_ylabel(label, fontsize=8)
fig.suptitle(f"Stage-1 gate f(x_m), test clip {example} ({test_set.classes[int(y_ex)]}); action window: frames "
             f"{test_set.action_window(example)[0]:.1f}–{test_set.action_window(example)[1]:.1f}", fontsize=9)
fig.tight_layout()
fig.savefig(OUT / "gate_maps.png", dpi=90, bbox_inches="tight")
plt.show()

# %% [markdown]
# ### Results files
#
# `results.csv`: one row per (epoch, connection) with the statistics above; `results.json` adds the
# section 1 check, the run's accuracies and the configuration.

# %%
fields = ["epoch", "val_top1", "connection", "receiver", "stage", *G.GATE_STAT_KEYS]
with open(OUT / "results.csv", "w") as f:
    f.write(",".join(fields) + "\n")
    for r in history:
        f.write(",".join("" if r[k] is None else (f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]))
                         for k in fields) + "\n")
summary = dict(
    check=check_rows, unit_gradient_on_moving=mech_rows, moving_fraction=float(mov_frac), unit_frame=t_mid,
    model="two_stream_small", model_kwargs=model_kwargs, dataset_kwargs=data_kwargs, epochs=epochs,
    train_samples=train_samples, batch_size=batch_size, lr=lr, seed=seed, run_dir=str(run_dir),
    test_top1=result["top1"], val_history=result["val_history"], history=history,
    sentence=G.gating_sentence(history), reused_run=reused, train_wall_s=train_wall, run_train_s=result["wall_s"],
    stats_wall_s=stats_wall, probe_clips=probe_clips, smoke=smoke,
)
(OUT / "results.json").write_text(json.dumps(summary, indent=1, default=float))
print(f"wrote {OUT / 'results.csv'}, {OUT / 'results.json'} and "
      f"{', '.join(sorted(p.name for p in OUT.glob('*.png')))}")
print(f"notebook wall time: {time.time() - t_start:.0f} s")

# %% [markdown]
# ## Reading the result
#
# Numbers quoted here are from the default run (seed 0, CPU; the statistics are bit-reproducible);
# the computed sentences above restate whatever run this is.
#
# * **The mechanism is exactly eq. 3–4 / 6–7**, with the ReLU mask $f'(x^m)$ on the motion side:
#   autograd and the formulas agree to 0.0 in float64, while the printed eq. 7 (without $f'$) is off
#   by up to 1.8 wherever the flow is negative. With ⊙, 98.6% of the appearance branch gradient lies
#   on the 5.5% of pixels that move (⊕: 3.7%, i.e. spread over the image); the gradient sent to the
#   motion stream is weighted by the appearance input, so a dark figure sends little.
# * **The motion gate is open where things move from the start.** At initialisation the stage-1
#   gate is 20× larger on cells that cover a moving pixel than elsewhere, because the motion stream
#   reads flow, which is zero on the static background. Training *lowers* that contrast (13× at
#   stage 1, 3–10× deeper) while it opens more gates (closed gates at stage 1: 50% → 83% after one
#   epoch → 16%; deeper stages 52% → 38–44%): the network learns a wider, softer mask, not a
#   sharper motion detector.
# * **Gradient gating is real and amplifying.** The appearance branch gradient is 1.45–2.4× larger
#   with ⊙ than the unscaled ⊕ gradient would be (5.1× at stage 1 at initialisation), more than the
#   gates' RMS (0.7–1.1), because the branch gradient itself concentrates where the gate is open.
# * **The appearance loss trains the motion stream through the gate** (eq. 7's second term): at
#   the last connection the gradient arriving through it grows from 0.15 to 0.47 of the norm of
#   everything the motion stream receives there.
# * The paper's claim that ⊙ *trains better* than ⊕ (Table 2: 8.72% vs 9.38% error on UCF101) is
#   an accuracy comparison over full training, which this chapter does not make; `-p fusion
#   residual_add` shows the same statistics for ⊕ (gradient scale exactly 1 by construction).
