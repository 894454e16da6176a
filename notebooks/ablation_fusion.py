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
# # Two-stream networks: how should motion reach appearance?
#
# A two-stream network runs one CNN on RGB frames (**appearance**) and one on stacks of $L$
# optical-flow fields (**motion**), and classically only averages their predictions at the end
# (*late fusion*). *Spatiotemporal Multiplier Networks* (Feichtenhofer, Pinz & Wildes, CVPR 2017 {cite}`feichtenhofer2017multiplier`)
# let the streams talk inside the network: in front of the first residual unit of every stage a
# **cross-stream connection** feeds one stream's features into the other. With $x^a_l$, $x^m_l$ the
# two streams' inputs at depth $l$, $\mathcal F$ the appearance unit's residual branch and
# $f = \mathrm{ReLU}$:
#
# $$\text{residual } \oplus \text{ (eq. 2):}\quad x^a_{l+1} = x^a_l + \mathcal F\big(x^a_l + f(x^m_l)\big), \qquad
#   \text{residual } \odot \text{ (eq. 5):}\quad x^a_{l+1} = x^a_l + \mathcal F\big(x^a_l \odot f(x^m_l)\big).$$
#
# ```
#            residual ⊙ ← (Fig. 2d)                  direct ⊙ ← (Fig. 2b)
# x_m ──────────────┬──→ motion unit        x_m ──────────────┬──→ motion unit
#                   │ f = relu                                │ f = relu
# x_a ──┬── skip ───│──────────┐            x_a ──┬─→ (⊙) ←───┘
#       └─→ (⊙) ←───┘          │                  │    └─→ g ── skip ─────────┐
#            └─→ F_a ────────→(+)→ relu           └─→ F_a ──────────────────→(+)→ relu
# ```
#
# *Residual* connections gate only the residual branch and keep the appearance stream's identity
# path, $x^a_l + \mathcal F(x^a_l \odot f(x^m_l))$; *direct* ones gate the skip path instead,
# $g + \mathcal F(x^a_l)$ with $g = x^a_l \odot f(x^m_l)$ (or $x^a_l + f(x^m_l)$), which breaks the
# identity shortcut. That is the reading of the paper's text, which names only the skip path:
# "straightforward connection of the streams with an additive *shortcut* connection", "directly
# multiplying the *shortcut paths* of the two streams", "injecting into the *skip path* breaks the
# identity shortcut" (Sec. 5.1; the official code has no direct variant to settle it). The other
# reading, the fused signal on both paths, $g + \mathcal F(g)$ (the fusion on the trunk between two
# units), is the option `direct_path="both"`; the grid runs the text's reading, `"skip"`. The gate
# can go from motion into appearance (←, the paper's choice), from appearance into motion (→), or
# both ways (↔). In the multiplicative case the gradient of each stream is scaled by the other's features
# (eq. 6–7). Table 2 of the paper (ResNet-50 streams, split 1, **classification error**, lower is
# better) finds **residual ⊙ ← best** (8.72% on UCF101, 37.23% on HMDB51), **⊙ better than ⊕** for
# residual connections (9.38 / 41.89), residual better than direct (direct ⊕ 24.78 / 54.85, direct ⊙
# 81.98 / 77.89: "the detriment is exacerbated when directly multiplying"), and the reversed (→,
# 16.68 / 48.43) and bidirectional (↔, 15.15 / 48.56) connections worse than ←, because "the spatial
# stream comes to dominate".
#
# This chapter re-runs that table on the embedded SynthActions dataset and decides, from paired
# seeds and claims declared before the runs, whether each statement holds here. It shows the
# **reference results** first (converged runs, committed under `book/results/ablation_fusion/` with
# their provenance, once they are made), then **your run** at the chosen `budget`, then what each
# stream learned. The paper reports **error**; the claims are decided on test top-1, and error =
# 100 − top-1, so a top-1 difference is the same error difference with the sign reversed.
#
# **Budgets.** `budget="quick"` (the default, under ten minutes on a 2-core CPU) trains the
# reference recipe for 2 of its 24 epochs on the headline pair (residual ⊙ ← and ⊕ ←) and
# the positive control, three seeds: it estimates effects with their CIs and says which claims it
# cannot resolve. `budget="reference"` renders the committed reference results; with `-p rerun
# True` it retrains them (hours on a CPU; runs resume) and compares its rows with the committed
# ones. `budget="custom"` trains what the parameters below say (real datasets, a GPU, other sizes).

# %% tags=["parameters", "hide-input"]
budget = "quick"  # "quick" (about 10 min on a 2-core CPU) | "reference" (the committed results) | "custom" (the parameters below)
rerun = False  # budget "reference": retrain the reference grid and compare it with the committed rows
publish = False  # with rerun: write the results to book/results/ablation_fusion (a clean git tree: run from a worktree)
extra_seeds = 0  # budget "reference" with rerun: seeds beyond the declared n (they extend n)
tolerance = 1.0  # rerun: largest |difference| (points) of a variant's mean top-1 from the committed one
direct_path = "skip"  # direct rows: "skip" (g + F(x_a), the paper's text) | "both" (g + F(g))
# budget "custom" only (None: the default in brackets; quick / reference refuse them):
variants = None  # Table 2 rows, <kind>_<m2a|a2m|bi>, and "late" (no connections) (all seven rows and "late")
seeds = None  # training seeds per variant, 0..n-1 (3)
epochs = None  # passes over the training split (4)
width = None  # channel multiplier of both ResNet streams, 64..512 -> 8..64 (0.125)
clip = None  # T, H, W of the clips ([8, 32, 32])
flow_channels = None  # 2L: the motion stream sees stacks of L flow fields around every frame (8)
flow_stacking = None  # frame t's stack: "centred" on t (the official code) | "forward" from t, S&Z eq. 1 ("centred")
train_samples = None  # training clips, val a quarter; real datasets: 0 means the whole split (512)
test_samples = None  # test clips (256)
batch_size = None  # clips per step (16)
lr = None  # AdamW peak learning rate, cosine schedule (0.01)
flow_method = None  # "farneback" (estimated, cached under out_dir) | "gt" (the renderer's exact flow) | "dis" ("farneback")
dataset = None  # "synthactions" (embedded) | "ucf101" | "hmdb51" | "kinetics" | "ssv2" | "folder" (videos) ("synthactions")
data_root = None  # real datasets: the folder holding the videos (README: "Running on real data"); relative to the repo ("")
split = None  # real datasets: the official train/test split, 1-3 (UCF-101, HMDB-51; the others have one) (1)
difficulty = None  # SynthActions only: "easy" | "medium" | "hard" | "temporal" ("easy")
device = "auto"  # "auto" (CUDA + AMP when present) | "cpu" | "cuda"
out_dir = ""  # "" -> <repo>/build/ablation_fusion; relative paths are taken from the repo root
smoke = False  # tiny run for the tests (< 1 minute)

# %% [markdown]
# ## Setup
#
# Parameters are checked first: a bad value fails here, naming it, before anything trains. Runs go to
# `out_dir/runs/<variant>-<tag>/seed_<k>` (the tag hashes every other setting); a finished run is
# reused only when its config *and* its code fingerprint match.

# %% tags=["hide-input"]
from dataclasses import replace

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from actionrec import viz
from actionrec.data.synthactions import ORDERLESS_CEILING
from actionrec.experiments import params, published, setup
from actionrec.experiments.chapter import (claims_table, decide, plot_data, reference_command, reference_header,
                                           rerun_report, variant_table, verdict_text)
from actionrec.experiments.grid import run_threads, train_grid
from actionrec.experiments.reversal import has_reversal_pairs
from actionrec.experiments.summary import aggregate_curves, markdown_table, summarize, summarize_by, write_results
from actionrec.layers.flow_stack import STACKINGS
from actionrec.layers.fusion import DIRECT_PATHS
from actionrec.papers import multiplier as M
from actionrec.papers.synthactions import SYNTH_RECIPE, flow_check
from actionrec.utils.checks import check_bool, check_choice, check_float, check_int, check_list
from actionrec.utils.paths import make_out_dir

if smoke:  # tiny sizes so the tests can run the whole notebook in well under a minute
    budget, variants, seeds, epochs = "custom", ["residual_add_m2a", "residual_mul_m2a", "late"], 2, 1
    width, clip, train_samples, test_samples, batch_size = 0.125, [8, 32, 32], 64, 32, 16
budget, custom = params.budget_params(
    budget, M.FUSION_CUSTOM, variants=variants, seeds=seeds, epochs=epochs, width=width, clip=clip,
    flow_channels=flow_channels, flow_stacking=flow_stacking, train_samples=train_samples, test_samples=test_samples,
    batch_size=batch_size, lr=lr, flow_method=flow_method, dataset=dataset, data_root=data_root, split=split,
    difficulty=difficulty)  # custom: None -> the default; quick/reference: must be None
(variants, seeds, epochs, width, clip, flow_channels, flow_stacking, train_samples, test_samples, batch_size, lr,
 flow_method, dataset, data_root, split, difficulty) = custom.values()
rerun, publish = check_bool("rerun", rerun), check_bool("publish", publish)
extra_seeds, tolerance = check_int("extra_seeds", extra_seeds, min_value=0), check_float("tolerance", tolerance, positive=True)
direct_path = check_choice("direct_path", direct_path, DIRECT_PATHS)
variants = check_list("variants", variants, item="str", choices=[*M.FUSION_PAPER, "late"])
(seeds, epochs, width, clip, train_samples, test_samples, batch_size, lr, dataset, data_root, split, difficulty, device,
 smoke) = params.check_common(seeds=seeds, epochs=epochs, width=width, clip=clip, train_samples=train_samples,
                              test_samples=test_samples, batch_size=batch_size, lr=lr, dataset=dataset,
                              data_root=data_root, split=split, difficulty=difficulty, device=device,
                              smoke=smoke).values()  # shared rules: actionrec.experiments.params
params.check_flow(flow_channels, flow_method)  # 2L even; flow_method "gt" or one this OpenCV build has
flow_stacking = check_choice("flow_stacking", flow_stacking, STACKINGS)
clip = params.check_clip(clip, min_size=(2, 32, 32), why="flow needs T >= 2, the ResNet streams H, W >= 32")
if publish and not (budget == "reference" and rerun):
    raise ValueError("publish=True writes a retrained reference: use it with budget='reference' and rerun=True")

if budget != "custom":  # the recipe fixes the data, the network size and the flow
    R = M.TWO_STREAM_RECIPE
    dataset, difficulty, flow_method = "synthactions", SYNTH_RECIPE["difficulty"], R["flow"]
    clip, width, flow_channels, flow_stacking = [R["frames"], *SYNTH_RECIPE["clip"][1:]], R["width"], R["flow_channels"], R["flow_stacking"]
elif "residual_mul_m2a" not in variants or len([v for v in variants if v in M.FUSION_PAPER]) < 2:
    raise ValueError(f"parameter variants={variants!r} must hold 'residual_mul_m2a' (the paper's design) and another "
                     "Table 2 variant: the claims compare against it")
train_here = budget != "reference" or rerun

OUT = make_out_dir(out_dir, "ablation_fusion")
REF = published.results_dir("ablation_fusion")
print(f"budget {budget!r}" + (" (retraining the reference)" if budget == "reference" and rerun else "")
      + f"; results -> {OUT}; committed reference: {REF}")

# %% [markdown]
# ## The claims, declared before the runs
#
# Each claim names its variants, its kind, δ (the smallest difference in points that matters here,
# with the reason) and the paper's number (as error, UCF101 / HMDB51 split 1; the paper's effect is
# the smaller of the two datasets' gaps). A claim is decided on the paired differences of test
# top-1 over seeds (seed *k* of every variant trains on the same rendered clips in the same order),
# Holm-corrected over the chapter: *holds*, *reversed*, *no effect larger than δ* or *inconclusive*
# (`actionrec.experiments.protocol` has the rule of each kind). The **positive control** (the
# two-stream network against an order-blind RGB network, which cannot exceed 9/16 on SynthActions'
# time-reversed classes) checks that the setting can resolve anything at all.

# %% tags=["hide-input"]
display(claims_table(M.FUSION_CLAIMS))
display(Markdown(f"**Seeds.** Reference {list(M.FUSION_BUDGETS['reference']['seeds'])} (n = 6, the protocol's "
                 f"minimum, until a pilot on disjoint seeds sizes it), quick {list(M.FUSION_BUDGETS['quick']['seeds'])}. "
                 "Recipe: " + ", ".join(f"{k} {v}" for k, v in SYNTH_RECIPE.items()) + "; two-stream runs: "
                 + ", ".join(f"{k} {v}" for k, v in M.TWO_STREAM_RECIPE.items()) + "."))

# %% [markdown]
# ## Reference results
#
# Converged runs of every Table 2 row and the control at the reference recipe, committed with their
# provenance; a reference whose fingerprints no longer match the code is marked **stale**.

# %% tags=["hide-input"]
ref = published.load(REF, claims=M.FUSION_CLAIMS)
display(Markdown(reference_header(ref, REF, "ablation_fusion", declared_seeds=M.FUSION_BUDGETS["reference"]["seeds"])))
if ref is not None:
    display(variant_table(ref["rows"], extra=("gmacs", "params_m")))
    display(Markdown(verdict_text(ref["verdicts"])))
    viz.plot_protocol(**plot_data(ref["rows"], verdicts=ref["verdicts"], differences=ref["differences"],
                                  curves=ref["curves"]), title="Reference")
    plt.show()

# %% [markdown]
# ## Your run
#
# **SynthActions with optical flow.** Stick figures performing 16 actions at ×0.5–×2 speed in a
# random 30–100% window of the clip; seven pairs of classes are exact time reversals of each other
# (squat down ↔ stand up, …), so a single frame cannot tell them apart but the direction of motion
# can. Every item is `(5, T, H, W)`: the RGB clip and, per frame, the flow $(dx, dy)$ to the next
# frame, clipped to ±20 px and stored in 8 bits as in the paper. The motion stream builds a stack of
# $L$ flows for every frame itself (`flow_channels` = 2L; the paper uses L = 10 on 224×224 frames,
# we use L = 4 on 8 frames). **Which flows.** `flow_stacking="centred"`: frame $t$'s stack holds
# flows $t-2 \ldots t+1$, centred on the RGB frame it gates, as the official code reads its flow
# files (offsets −5…4 for L = 10); `"forward"`: flows $t \ldots t+3$, Simonyan & Zisserman's eq. 1.
# Both are clamped to the clip, so the edge stacks repeat a flow: centred 4 of the clip's 32 slots,
# forward 6. **Which flow.** The paper precomputes TV-L1 flow, which this OpenCV build lacks: the
# chapter estimates Farneback flow from the rendered frames (custom: `flow_method="gt"` gives the
# renderer's exact flow), cached under `out_dir/flow_cache`; the cell below measures its error
# against the exact flow (real videos have none: the cell shows the estimate's speeds).
#
# **The recipe** (quick and reference): `difficulty="medium"` (clutter, camera pan: global flow the
# motion stream has to discount, noise), 4,096 training clips per seed, each seed drawing its own
# clips that every variant shares, 2,048 test clips, AdamW at lr 3e-3, batch 32 (`benchmarks/README.md`,
# section *SynthActions recipe*). The clips have **8 frames** instead of the recipe's 16: both
# streams are 2D networks that fold the frames into the batch, so a step costs in proportion to the
# frames, and 4 flow fields per frame already span half the clip. The two-stream network is
# `two_stream_small` at width 0.125 (one bottleneck per stage per stream); the control is a
# frame-averaging 2D network (`frame_avg2d`, width 0.25) on the same clips' RGB.

# %% tags=["hide-input"]
T, H, W = clip
data_kwargs = setup.data_kwargs(dataset, clip, difficulty=difficulty, data_root=data_root, split=split, flow=flow_method,
                                flow_cache_dir=OUT / "flow_cache")  # RGB + per-frame flow (real videos: estimated, cached)
if budget == "custom":
    base = setup.base_config(dataset=dataset, dataset_kwargs=data_kwargs, train_samples=train_samples,
                             test_samples=test_samples, epochs=epochs, batch_size=batch_size, lr=lr,
                             device=device)  # AdamW, cosine schedule
    two_stream = {v: (replace(base, model="two_stream_small", model_kwargs=M.fusion_model_kwargs(
        v, width=width, flow_channels=flow_channels, direct_path=direct_path, flow_stacking=flow_stacking)),
        {"variant": v}) for v in variants}
    control = {}
    if has_reversal_pairs(dataset):  # the positive control: the order-blind ceiling exists on SynthActions only
        control[M.ORDER_BLIND] = (replace(base, model="frame_avg2d", model_kwargs={"width": width},  # RGB only
                                               dataset_kwargs=setup.data_kwargs(dataset, clip, difficulty=difficulty)),
                                  {"variant": M.ORDER_BLIND})
    run_seeds = list(range(seeds))
else:
    runs = M.fusion_runs(budget, flow_cache_dir=OUT / "flow_cache", device=device, direct_path=direct_path)
    two_stream = {v: r for v, r in runs.items() if v != M.ORDER_BLIND}
    control = {v: r for v, r in runs.items() if v == M.ORDER_BLIND}
    base = next(iter(two_stream.values()))[0]
    run_seeds = list(M.FUSION_BUDGETS[budget]["seeds"])
    run_seeds += list(range(max(run_seeds) + 1, max(run_seeds) + 1 + extra_seeds))
preview, shown = setup.preview_clips(dataset, data_kwargs)  # a few training clips (their RGB channels)
fig = viz.clip_grid(**shown, every=1)
plt.show()

# How good is the flow the motion stream sees? End-point error against the renderer's exact flow.
flow = flow_check(preview, min(8 if smoke else 32, len(preview)), real=params.is_real(dataset), method=flow_method,
                  dataset=setup.dataset_name(dataset))
display(Markdown(flow["sentence"]))
fig = viz.plot_flow_panels(flow["panels"], title=f"Horizontal flow of clip 0 ({preview.classes[flow['label']]}); "
                           "red = right, blue = left")
plt.show()

# %% [markdown]
# `two_stream_small`: two ResNets with one bottleneck per stage (3×3 stride-2 stem, no max-pool),
# each with its own classifier and loss (the paper's "two loss layers"); the prediction is the mean
# of the two streams' logits. Table 2's rows have no temporal filters and no temporal pooling (the
# first row of Table 3 is Table 2's residual ⊙ ←). `late` (custom) has no connection: its two streams
# are independent networks trained side by side, so its appearance and motion heads *are* the
# single-stream baselines (the paper's Table 4). The direct rows feed the skip path only
# (`direct_path="skip"`) and every row's flow stacks are centred; both readings are written into each
# run's config, so a run with the other reading gets its own tag and never reuses a finished one.
#
# Every (variant, seed) trains one run per core; seed *k* of every variant sees the same clips in
# the same order. A run whose test top-1 stays below twice chance counts as *not trained* ("k/n
# trained"): it stays in the statistics, never dropped.

# %% tags=["hide-input"]
rows, wall = [], 0.0
if train_here:
    configs, extras = setup.build_runs(two_stream, num_classes=preview.num_classes, input_shape=(5, T, H, W))  # + GMACs
    if control:
        c_configs, c_extras = setup.build_runs(control, num_classes=preview.num_classes, input_shape=(3, T, H, W))
        configs, extras = {**configs, **c_configs}, {**extras, **c_extras}
    rows, wall = train_grid(configs, run_seeds, OUT / "runs", extras=extras, order="seed", on_diverge="record",
                            data_seed="seed" if dataset == "synthactions" else "config")
    rows = published.mark_trained(rows, chance=1 / preview.num_classes)
else:
    display(Markdown("`budget=\"reference\"` without `rerun`: nothing trains here; the reference results are above. "
                     "The sections after the verdicts read trained networks, so they are skipped."))

# %% [markdown]
# ### Top-1 per variant, every seed
#
# Mean, 95% CI (Student's $t$ over seeds), SD and every seed's value (error = 100 − top-1); *max late
# gain*: the largest rise of val top-1 over a run's last quarter of epochs (still learning?).

# %% tags=["hide-input"]
if rows:
    display(variant_table(rows, extra=("gmacs", "params_m", "wall_s")))

# %% [markdown]
# ### The verdicts of your run
#
# The claims whose variants this budget ran, decided as above; the others are listed with the reason.
# Quick's differences are estimates with wide intervals: only a large effect (the control's) resolves.
#
# Below them: every seed's top-1 over the mean and its CI (`strip.png`), each claim's paired differences
# and CI against ±δ (`claims.png`) and every run's validation curve (`run_curves.png`), saved in the
# output folder.

# %% tags=["hide-input"]
verdicts = differences = None
if rows:
    verdicts, differences, text = decide(M.FUSION_CLAIMS, rows)
    display(Markdown(text))
    figs = viz.plot_protocol(**plot_data(rows, verdicts=verdicts, differences=differences),
                             seeds=run_seeds, title=f"Your run ({budget})")
    viz.save_figures(figs, OUT)
    plt.show()
    write_results(rows, summarize(rows, by=("variant",), metric="top1"), OUT,
                  extra={"verdicts": None if verdicts is None else verdicts.to_dict("records"),
                         "flow_epe_px": flow["epe"], "flow_epe_figure_px": flow["epe_figure"], "wall_minutes": wall / 60})

# %% [markdown]
# ### Rerun against the committed reference
#
# `budget="reference"`, `rerun=True`: each variant's retrained mean top-1 beside the committed one
# (passes within `tolerance` points); `publish=True` writes `book/results/ablation_fusion/` (clean tree).

# %% tags=["hide-input"]
if budget == "reference" and rerun and rows:
    if ref is not None:
        table, text = rerun_report(ref["rows"], rows, tolerance=tolerance)
        display(table, Markdown(text))
    if publish:
        path = published.publish(REF, rows, claims=M.FUSION_CLAIMS, verdicts=verdicts, differences=differences,
                                 threads=run_threads(configs.values()), command=reference_command("ablation_fusion"))
        print(f"published -> {path}")

# %% [markdown]
# ## Each stream's own head
#
# Both streams keep their classifier, so each trained two-stream network is also read one stream at
# a time (with ← connections the appearance head learned with the help of motion). For `late` the
# two heads are the single-stream baselines: the table's rows `appearance` and `motion`.

# %%
ts_rows = [r for r in rows if r["variant"] != M.ORDER_BLIND]  # the two-stream runs
single = []
if ts_rows:
    loader = setup.test_loader(base)  # real data: one view per video (flow from the cache); SynthActions: rendered once
    single = M.score_stream_heads(ts_rows, loader, baselines_from="late")  # + rows "appearance", "motion" from `late`
rows_all = rows + single

# %% [markdown]
# ## Results (Table 2 analogue)
#
# Mean ± 95% CI (Student's $t$ over seeds) of the test **error** (100 − top-1, as in the paper),
# of top-1, of *val AUC* (mean validation top-1 over all epochs: how fast a variant learns) and of
# each stream head's top-1; beside them the paper's error on split 1 of UCF101 and HMDB51 (Table
# 2; single-stream and late-fusion rows: Table 4, accuracy over the three splits written as error,
# so only roughly comparable) and the cost of one clip. These columns describe; the verdicts above
# decide.

# %% tags=["hide-input"]
if ts_rows:
    order = [v for v in [*M.FUSION_PAPER, "late", "appearance", "motion"] if v in {r["variant"] for r in rows_all}]
    summary = summarize(rows_all, by=("variant",), metric="top1")
    by_v = {e["variant"]: e for e in summary}
    auc = summarize_by(ts_rows, ("variant",), "val_auc")
    heads = {m: summarize_by(ts_rows, ("variant",), m, present_only=True) for m in ("head_appearance", "head_motion")}
    display(Markdown(markdown_table(*M.results_table(order, by_v, auc, heads, key="variant"))))
    short = {v: M.FUSION_PAPER[v]["name"] for v in M.FUSION_PAPER} | {
        "late": "late fusion", "appearance": "appearance only", "motion": "motion only", M.ORDER_BLIND: "order-blind RGB"}
    fig = viz.plot_error_bars(M.error_bars(order, by_v, short, f"{setup.dataset_name(dataset)} (ours)"),
                              [short[v] for v in order], title=f"Cross-stream connections: error, lower is better "
                              f"(ours: {T}×{H}×{W}, {flow_method} flow; paper: ResNet-50, split 1, single runs)")
    fig.savefig(OUT / "fusion_error.png", dpi=120, bbox_inches="tight")
    plt.show()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    mean_curves = {short[extras[n]["variant"]]: aggregate_curves(OUT / "runs", n, x="epoch") for n in configs}
    viz.plot_learning_curves(mean_curves, title=f"Validation top-1, mean ± 95% CI over seeds "
                             f"({setup.dataset_name(dataset)}, {T}×{H}×{W})", ax=ax)
    fig.savefig(OUT / "learning_curves.png", dpi=120, bbox_inches="tight")
    plt.show()
    notes = M.fusion_notes(by_v, heads, order,  # the ceiling: SynthActions' time-reversed class pairs
                           orderless_ceiling=ORDERLESS_CEILING if has_reversal_pairs(dataset) else None)
    if notes:
        display(Markdown(notes))
    write_results(rows_all, summary, OUT, extra={"verdicts": None if verdicts is None else verdicts.to_dict("records"),
                                                 "flow_epe_px": flow["epe"], "flow_epe_figure_px": flow["epe_figure"],
                                                 "wall_minutes": wall / 60})
    print(f"table: {OUT / 'results.csv'}\nplots: {OUT / 'fusion_error.png'}, {OUT / 'learning_curves.png'}")

# %% [markdown]
# ## Reading the result
#
# The paper fine-tunes two ImageNet-pre-trained ResNet-50 streams on UCF101 / HMDB51 (flow stacks
# of L = 10 TV-L1 fields at 224×224); here two one-bottleneck-per-stage ResNets at an eighth of the
# width learn 16 synthetic classes from scratch. A verdict here is about the connection at this
# scale, not about UCF101. Things to keep in mind:
#
# * **What each stream can know.** Without connections the appearance stream is a per-frame 2D CNN
#   whose frame predictions are averaged: it cannot see the order of frames, so it can get at most
#   one class of each of the seven time-reversed pairs right (at most 9/16 = 56%), like the
#   order-blind control. The motion stream sees the direction of motion in its flow stacks. A ←
#   connection hands that direction to the appearance stream, which is the mechanism the paper
#   argues for; the appearance-head column shows whether it was used.
# * **Pre-training.** The paper's direct connections hurt a *pre-trained* network ("too large a
#   change in the propagated signals" for layers that were trained without it); networks trained
#   from scratch, as here, never had a representation to disturb, so the direct rows may suffer less.
# * **Resolution.** Table 2's gap between residual ⊙ and ⊕ ← (0.66 points of error on UCF101) is
#   below what a few seeds can detect; the gaps between ← and → or ↔ (6–11 points) are not. Each
#   verdict states the smallest effect its seeds could detect beside the paper's.
#
# Closer to the paper: `-p budget custom -p clip '[16, 112, 112]' -p flow_channels 20 -p width 0.5 -p epochs 30
# -p seeds 5` on a GPU, or real videos: `-p budget custom -p dataset ucf101 -p data_root /data/UCF-101`.
