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
# # Attribution over time: which moments of the action does a network use?
#
# Every SynthActions clip lasts 2 s, but the action fills only a **window** of 30–100% of it; before
# and after, the figure holds its start or end pose (`SynthActions.action_window(i)` says where,
# reverse classes included). A network that has learned the *action* should draw its evidence from
# the frames inside that window. This chapter asks the trained networks directly, with three
# attribution methods from [captum](https://captum.ai):
#
# * **Integrated Gradients** (Sundararajan et al., 2017 {cite}`sundararajan2017ig`): $\mathrm{IG}_i(x) = (x_i - x'_i)\int_0^1
#   \partial F(x' + \alpha(x - x'))/\partial x_i\, d\alpha$, the part of the logit $F(x) - F(x')$
#   owed to input element $i$ (the attributions sum to it: *completeness*). Baseline $x' = 0$: a
#   mean-grey clip in the RGB channels and *no motion* in the flow channels.
# * **Saliency** (Simonyan et al., 2014 {cite}`simonyan2014saliency`): $|\partial F/\partial x_i|$, the local sensitivity.
# * **Grad-CAM** (Selvaraju et al., 2017 {cite}`selvaraju2017gradcam`) on the last convolutional stage:
#   $\mathrm{relu}(\sum_c \alpha_c A_c)$, $\alpha_c$ the class gradient averaged over the stage's
#   positions, upsampled to the clip (`LayerGradCam` + `LayerAttribution.interpolate`).
#
# $F$ is the logit of the true class. Each method gives a map over the clip; summing its absolute
# value over channels and pixels gives a **per-frame importance curve** (shares summing to 1), and
# the **mass inside the action window**, compared with the window's share of the frames, says
# whether the network looks at the action (ratio > 1) or not (≈ 1).
#
# Networks (all trained on SynthActions "easy", 16 × 32 × 32 clips):
#
# * **two-stream** — the ST-multiplier network of the gradient-gating chapter (appearance stream
#   on RGB, motion stream on ground-truth flow, ⊙ motion → appearance gating). Its input is the
#   5-channel clip (RGB + per-frame flow), so IG also splits the evidence between **appearance (RGB)
#   and motion (flow) channels**, and Grad-CAM can be read at each stream's last stage.
# * **MTNet-32** (r = 0.875) on RGB only — the configuration of the MTNet ratio ablation, whose run
#   is reused when it exists; optionally **r3d-18**.
#
# **In brief (numbers of this run).** {glue:text}`attr_window` {glue:text}`attr_modality` The code
# cells that only set up, train, load or write files are collapsed.

# %% tags=["parameters", "hide-input"]
models = ["two_stream", "mtnet32"]  # networks to explain: "two_stream" (RGB + flow), "mtnet32", "r3d_18" (RGB)
methods = ["integrated_gradients", "saliency", "gradcam"]  # captum methods
gradcam_stage = 4  # stage (1-4) whose output Grad-CAM reads; 4 is the last convolutional stage
ig_steps = 32  # Integrated Gradients: points of the path integral (Gauss-Legendre)
test_clips = 32  # test clips attributed (2 per class)
example = 0  # test clip of the per-clip figures
ts_width = 0.125  # two-stream: channel multiplier (the gradient_gating chapter's default)
flow_channels = 8  # two-stream: 2L, flow fields per stack
ts_epochs = 8  # two-stream: training epochs
rgb_width = 0.25  # MTNet-32 / r3d-18: channel multiplier (the ablation_ratio chapter's default)
rgb_epochs = 7  # MTNet-32 / r3d-18: training epochs
train_samples = 640  # training clips of every network (val/test: a quarter each)
batch_size = 32  # clips per step
lr = 0.003  # AdamW peak learning rate (cosine schedule)
clip = [16, 32, 32]  # T, H, W of the clips
seed = 0  # training seed
dataset = "synthactions"  # SynthActions only: the chapter scores attributions against the action windows
difficulty = "easy"  # SynthActions: "easy" | "medium" | "hard" | "temporal"
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/attribution; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 40 s)

# %% [markdown]
# ## Setup
#
# Parameters are checked first (a bad value fails here, naming it). Each network's training config
# comes from the paper module that owns it (`papers.multiplier.two_stream_config`,
# `papers.synthactions.rgb_run_config`), and `papers.synthactions.shared_runs` looks for a finished
# run of it (equal config, seed included) here and among the runs other chapters train with the
# same settings; only what is found nowhere is trained, into `out_dir/runs` (so a rerun skips it).

# %% tags=["hide-input"]
import json
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from actionrec import viz
from actionrec.analysis import attribution as A
from actionrec.data import build_dataset
from actionrec.experiments import params
from actionrec.experiments.stats import mean_ci
from actionrec.experiments.summary import markdown_table
from actionrec.papers.multiplier import two_stream_config
from actionrec.papers.synthactions import rgb_run_config, shared_runs
from actionrec.train import load_model
from actionrec.utils import get_device
from actionrec.utils.checks import check_float, check_int, check_list
from actionrec.utils.io import write_csv
from actionrec.utils.paths import resolve_out_dir

MODEL_CHOICES = ["two_stream", "mtnet32", "r3d_18"]
models = check_list("models", models, item="str", choices=MODEL_CHOICES)
methods = check_list("methods", methods, item="str", choices=list(A.METHODS))
gradcam_stage = check_int("gradcam_stage", gradcam_stage, min_value=1, max_value=4)
ig_steps = check_int("ig_steps", ig_steps, min_value=2, max_value=512)
test_clips = check_int("test_clips", test_clips, min_value=1)
example = check_int("example", example, min_value=0)
ts_width = check_float("ts_width", ts_width, min_value=0.05, max_value=4.0)
params.check_flow(flow_channels)  # 2L: an even number
ts_epochs = check_int("ts_epochs", ts_epochs, min_value=1)
rgb_width = check_float("rgb_width", rgb_width, min_value=0.05, max_value=4.0)
rgb_epochs = check_int("rgb_epochs", rgb_epochs, min_value=1)
params.check_synthactions_only(dataset, "the attributions are scored against each clip's action window "
                               "(SynthActions.action_mask) and the two-stream net reads the renderer's exact flow; "
                               "videos have neither")
train_samples, batch_size, lr, clip, seed, dataset, difficulty, device, smoke = params.check_common(
    train_samples=train_samples, batch_size=batch_size, lr=lr, clip=clip, seed=seed, dataset=dataset,
    difficulty=difficulty, device=device, smoke=smoke).values()  # shared rules: actionrec.experiments.params
if clip[0] < 16 or clip[1] < 32 or clip[2] < 32:
    raise ValueError(f"parameter clip={clip!r} is invalid: MTNet-32 and r3d-18 need T >= 16 and H, W >= 32")
if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    ts_width, rgb_width, ts_epochs, rgb_epochs, train_samples, batch_size = 0.125, 0.125, 1, 1, 64, 16
    clip, ig_steps, test_clips = [16, 32, 32], 4, 4
    train_samples = 32
test_samples = max(32, train_samples // 4)
test_clips = min(test_clips, test_samples)
if example >= test_clips:
    raise ValueError(f"parameter example={example!r} is invalid: expected an index < test_clips={test_clips}")

OUT = resolve_out_dir(out_dir, "attribution")
OUT.mkdir(parents=True, exist_ok=True)
DEV = get_device(device)
print(f"results -> {OUT}  (device: {DEV})")
t_start = time.time()

# %% [markdown]
# ## The trained networks
#
# **Why these defaults.** The networks are the default runs of the gradient-gating chapter (the
# two-stream net) and of the MTNet ratio chapter (MTNet-32, r = 0.875), so when those chapters have
# run with their defaults nothing is trained here; the attributions dominate the rest (Integrated
# Gradients with `ig_steps` points costs that many forward and backward passes per clip, and keeps
# its completeness error, printed below, small). The measured training and attribution times and
# the chapter's wall-clock are in `benchmarks/README.md`, section *attribution*.

# %% tags=["hide-input"]
T, H, W = clip
configs = {m: two_stream_config(width=ts_width, flow_channels=flow_channels, epochs=ts_epochs, train_samples=train_samples,
                                batch_size=batch_size, lr=lr, clip=clip, seed=seed, difficulty=difficulty, device=device)
              if m == "two_stream" else
              rgb_run_config(m, width=rgb_width, epochs=rgb_epochs, train_samples=train_samples, batch_size=batch_size,
                             lr=lr, clip=clip, seed=seed, difficulty=difficulty, device=device) for m in models}
t0 = time.time()
found, trained = shared_runs(configs, OUT / "runs", seed)  # finished runs reused, wherever they were trained
train_wall = time.time() - t0
NETS = {m: load_model(run, device=DEV) for m, run in found.items()}
RESULTS = {m: json.loads((run / "final.json").read_text()) for m, run in found.items()}
for m, run in found.items():
    print(f"{m:10s} test top-1 {100 * RESULTS[m]['top1']:5.1f}%  {RESULTS[m]['params'] / 1e6:.2f} M params  "
          f"({'trained here' if m in trained else 'reused'}: {run})")
print(f"training: {train_wall:.0f} s")

# %% [markdown]
# ## Attributions on the test clips
#
# The first `test_clips` test clips (two per class), the true class as the target. The two-stream
# net gets the 5-channel clip (RGB + flow); the RGB networks the same clips' three RGB channels
# (bit for bit the RGB items). For the two-stream net Grad-CAM is read in each stream separately
# ("appearance" / "motion" rows), per frame, since its streams are 2D networks over the frames.

# %%
test_set = build_dataset("synthactions", "test", num_samples=test_samples, seed=0, frames=T, size=(H, W),
                         difficulty=difficulty, modality="rgb+flow", flow_method="gt")
idx = list(range(test_clips))
X5, Y = test_set.get_batch(idx)  # (N, 5, T, H, W): RGB + per-frame flow
MASK = test_set.action_mask(idx)  # (N, T) bool: frames inside the action window
WINDOWS = np.array([test_set.action_window(i) for i in idx])  # (N, 2) in frames
SHARE = MASK.mean(1)  # (N,) the window's share of the frames
FRAMES = test_set.render_batch(idx)  # (N, T, H, W, 3) uint8 for display

RUN = A.attribute_all(NETS, {m: X5 if m == "two_stream" else X5[:, :3] for m in NETS}, Y, methods,  # (N, 5 | 3, T, H, W)
                      gradcam_stage=gradcam_stage, ig_steps=ig_steps, chunk=4, device=DEV)
ATTR, PRED, DELTA = RUN["attr"], RUN["pred"], RUN["delta"]
IMPORTANCE = A.frame_importances(ATTR, split=["two_stream"])  # (N, T) each; two-stream: also RGB and flow apart
for m in NETS:
    completeness = (f"; IG completeness: |Σ attr − (F(x) − F(0))| = {DELTA[m].abs().mean():.3g} on average, for logits "
                    f"of size {RUN['logits'][m].gather(1, Y[:, None]).abs().mean():.2f}") if m in DELTA else ""
    print(f"{m:10s} top-1 on these {len(Y)} clips: {100 * (PRED[m] == Y).float().mean().item():.0f}%; attributions in "
          f"{RUN['seconds'][m]:.0f} s{completeness}")
VIEW = dict(attr=ATTR, importance=IMPORTANCE, pred=PRED, labels=Y, frames=FRAMES, windows=WINDOWS, mask=MASK,
            classes=test_set.classes)  # what attribution_view draws from

# %% [markdown]
# ## One clip
#
# The test clip `example`: each method's map over the frames (absolute attribution summed over
# channels; one colour scale per row) and its per-frame importance, with the action window shaded
# (green frame numbers: frames inside it); the title gives the share of the importance inside it.

# %%
fig = plt.figure(figsize=(18, 3.4 * len(ATTR)))
for sub, (m, method) in zip(np.atleast_1d(fig.subfigures(len(ATTR), 1, hspace=0.04)), ATTR):
    viz.plot_clip_attribution(**A.attribution_view(VIEW, example, m, method), fig=sub)
fig.savefig(OUT / "example_clip.png", dpi=70, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Summary: how much of the attribution lies inside the action window?
#
# Per network and method, the mean over the test clips of the attribution mass inside the window,
# next to the window's share of the frames (the mass a method would put there if it ignored time).
# For the two-stream net the input methods are also split into the RGB and the flow channels.

# %%
records = A.window_records(IMPORTANCE, MASK, labels=Y, pred=PRED, clips=idx)  # one per (network, method, clip)
summary = A.summarize_window_mass(records, mean_ci=mean_ci)
display(Markdown(markdown_table(*A.window_mass_table(summary))))
fig = viz.plot_window_mass(summary, list(NETS),
                           title=f"Attribution inside the action window ({len(idx)} test clips, mean ± 95% CI)")
fig.savefig(OUT / "window_mass.png", dpi=100, bbox_inches="tight")
plt.show()
display(Markdown("**In this run:** " + A.window_sentence(summary)))

# %% [markdown]
# ### When during the action?
#
# Windows start and last differently in every clip, so the per-frame curves are re-expressed in
# window-relative time (0 = the action starts, 1 = it ends; `actionrec.analysis.attribution.window_profile`)
# and averaged: the level 1 is what a method that ignores time would give.

# %%
PROFILES = A.window_profiles(IMPORTANCE, WINDOWS, A.PROFILE_EDGES)  # (network, method) -> (bins,)
fig = viz.plot_window_profiles(PROFILES, A.PROFILE_EDGES)
fig.savefig(OUT / "window_profile.png", dpi=100, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Appearance or motion?
#
# The two-stream net's input attributions split between the RGB channels (appearance stream) and
# the flow channels (motion stream). Two readings of IG: the share of the **absolute** attribution,
# and the share of the **signed** sum — by completeness the signed IG of all channels adds up to
# $F(x) - F(0)$, so the signed share is the part of the logit each modality accounts for. Saliency
# depends on the input's units (flow in pixels, RGB normalised), so its split is not comparable
# across modalities; it is listed for completeness.

# %%
split_rows = []
if "two_stream" in NETS:
    split_rows, cam_motion_share = A.modality_split(ATTR, IMPORTANCE, MASK, model="two_stream")
    text = markdown_table(*A.modality_table(split_rows))
    if cam_motion_share == cam_motion_share:
        text += (f"\n\nGrad-CAM at stage {gradcam_stage}: the motion stream holds {100 * cam_motion_share:.0f}% of the "
                 "summed (positive) class evidence of the two streams on average.")
    display(Markdown(text))
    ig = next((r for r in split_rows if r["method"] == "integrated_gradients"), None)
    if ig is not None:
        display(Markdown("**In this run:** " + A.modality_sentence(ig, SHARE.mean())))

# %% [markdown]
# ### Results files
#
# `results.csv`: one row per (network, method) of the summary table; `results.json` adds the per-clip
# records, the window profiles, the appearance/motion split, the accuracies and the configuration.

# %% tags=["hide-input"]
fields = ["model", "method", "n", "mass", "mass_ci", "share", "ratio", "frac_clips_above"]
write_csv(OUT / "results.csv", [{k: f"{e[k]:.6g}" if isinstance(e[k], float) else e[k] for k in fields} for e in summary],
          fields)  # 6 significant digits
out = dict(
    summary=summary, sentence=A.window_sentence(summary), records=records,
    profiles={f"{m} / {method}": p.tolist() for (m, method), p in PROFILES.items()},
    profile_edges=list(A.PROFILE_EDGES), modality_split=split_rows,
    networks={m: dict(run_dir=str(found[m]), test_top1=RESULTS[m]["top1"], config=RESULTS[m]["config"],
                      top1_attributed=float((PRED[m] == Y).float().mean()), attribution_s=RUN["seconds"][m])
              for m in NETS},
    ig_delta_mean={m: float(d.abs().mean()) for m, d in DELTA.items()}, methods=methods, gradcam_stage=gradcam_stage,
    ig_steps=ig_steps, test_clips=test_clips, train_wall_s=train_wall, smoke=smoke,
)
(OUT / "results.json").write_text(json.dumps(out, indent=1, default=float))
print(f"wrote {OUT / 'results.csv'}, {OUT / 'results.json'} and "
      f"{', '.join(sorted(p.name for p in OUT.glob('*.png')))}")

# %% tags=["remove-cell"]
glue("attr_window", A.window_sentence(summary), display=False)  # the chapter's summary at the top
ig_split = next((r for r in split_rows if r["method"] == "integrated_gradients"), None)
glue("attr_modality", "Two-stream net: " + A.modality_sentence(ig_split, SHARE.mean()) if ig_split is not None else
     "(No two-stream network in `models`: no appearance / motion split.)", display=False)

# %% [markdown]
# ## Explorer
#
# Pick a test clip, a network and a method: the clip with the attribution overlaid, and its
# per-frame importance against the action window (for the two-stream net's input methods also the
# RGB and flow channels separately). Everything was computed above. In JupyterLab (a live kernel)
# the figure below the controls appears once a control is moved, and the default selection is
# drawn after the player.

# %% tags=["hide-input", "remove-output"]
explore = lambda index, net, method: viz.shown(viz.plot_clip_attribution(**A.attribution_view(VIEW, index, net, method)))
method_names = sorted({k[1] for k in ATTR})
controls = dict(
    index=widgets.IntSlider(value=example, min=0, max=len(idx) - 1, description="clip"),
    net=widgets.Dropdown(options=list(NETS), value=list(NETS)[0], description="network"),
    method=widgets.Dropdown(options=method_names, value=method_names[0], description="method"),
)
display(viz.make_explorer(explore, controls))  # draws on a change only (nbclient#312): the default is drawn below

# %% [markdown]
# **In the book, without a kernel**, the controls cannot redraw anything, so **clip × method** for
# the first network of `models` is precomputed and played below (drag the slider, or ▶ to play it;
# `actionrec.viz.static_explorer`): the first six test clips (two in a smoke run), each with every
# method, one after the other. Method is the control the summary above averages over, and the clip
# is what it averages away; the section "One clip" shows every network and method, for clip
# `example` only.

# %% tags=["hide-input"]
t0 = time.time()
player_net = list(NETS)[0]
player_methods = sorted(method for m, method in ATTR if m == player_net)  # two-stream: Grad-CAM of each stream
player_frames = viz.sweep(dict(index=example, net=player_net, method=player_methods[0]),
                          index=idx[:2] if smoke else idx[:6], method=player_methods)
player = viz.static_explorer(lambda index, net, method: viz.plot_clip_attribution(**A.attribution_view(
    VIEW, index, net, method)), player_frames, label=lambda sel: f"{sel['net']}: clip {sel['index']}, {sel['method']}")
display(HTML(player))
player_s = time.time() - t0

# %% [markdown] tags=["remove-cell"]
# The default selection, drawn statically (what JupyterLab shows until a control is moved; the book
# shows the player above instead):

# %% tags=["remove-cell"]
fig = explore(example, list(NETS)[0], method_names[0])
fig.savefig(OUT / "explorer_default.png", dpi=80, bbox_inches="tight")
print(f"notebook wall time: {time.time() - t_start:.0f} s (the book's player: {len(player_frames)} frames, "
      f"{len(player) / 1e3:.0f} kB, {player_s:.1f} s)")

# %% [markdown]
# ## Reading the result
#
# The computed sentences above restate whatever run this is; what to look for in them:
#
# * **Does a network look at the action?** A method whose mass inside the window is clearly above
#   the window's share of the frames draws its evidence from the action; one indistinguishable from
#   it ignores time. The window profiles say *when*: early or late in the action, or after it.
# * **The held pose.** Attribution that rises again well *after* the window means the network reads
#   the held end pose. For the reverse pairs (squat down ↔ stand up, ...) the end pose does tell
#   the two members apart, so attribution outside the window is not necessarily a failure, but it
#   is not the motion.
# * **Appearance vs motion.** The flow channels' share of the absolute IG attribution and their
#   share of the signed sum (by completeness: their part of the logit) can differ a lot; Grad-CAM
#   gives each stream's share of the positive class evidence. With the zero baseline, IG cannot
#   attribute anything to flow that is zero, so the flow channels' concentration on the window is
#   partly by construction; Saliency, which has no baseline, is the check.
# * **Resolution.** Grad-CAM at MTNet-32's last stage sees a 2 × 1 × 1 grid (two time steps, no
#   space) at 16 × 32 × 32, so its curve is a ramp; the two-stream net's per-frame Grad-CAM keeps all
#   16 frames (its temporal max-pool picks a few). Use `-p gradcam_stage 2` for finer maps, and
#   `-p models '["two_stream", "mtnet32", "r3d_18"]'` to add an r3d-18.
