"""SynthActions runs that several chapters share, the training recipe of the ablation budgets, and
how one chapter finds another's run.

**The recipe** (:data:`SYNTH_RECIPE`, :func:`recipe_config`): the setting and schedule under which
the ablation chapters' networks are trained for their ``budget`` (``"quick"`` | ``"reference"``,
:data:`BUDGETS`): ``difficulty="medium"`` 16×32×32 clips, 4,096 distinct training clips, 1,024
val and 2,048 test clips, AdamW (lr 3e-3, weight decay 0.05), 50 warm-up steps then cosine, batch
32, zero-initialised residual branches (the models' default). ``"reference"`` trains 24 epochs
(3,072 steps: the schedule whose doubling gains less than a point on the pilot seeds),
``"quick"`` 3 (384 steps, three seeds; far from converged: its numbers are estimates, and it
resolves the positive control). How it was
found and the convergence evidence: ``benchmarks/README.md``, section *SynthActions recipe*.
``TrainConfig``'s own defaults (for real data) are not changed by it.

A chapter that analyses trained networks (attribution) reuses the runs other chapters train with
their default settings instead of training its own: the small two-stream run of the gradient-gating
chapter (:func:`actionrec.papers.multiplier.two_stream_config`) and the RGB runs of the MTNet ratio
and receptive-field chapters (:func:`rgb_run_config`). :func:`shared_runs` looks for a finished run
of each config first in the chapter's own ``runs`` folder, then in those of
:data:`SHARED_RUN_CHAPTERS` (their default output folders, :func:`actionrec.utils.paths.resolve_out_dir`),
and trains only the configs it does not find (:func:`actionrec.experiments.grid.run_grid`, one run
per core). A run is found only when its config equals the requested one in every field that
changes results (:func:`actionrec.experiments.grid.same_config`), so nothing stale is reused.

:func:`flow_check`: how far the optical flow a two-stream network reads (estimated from the
rendered frames, or from real videos) is from the renderer's exact flow — the mean end-point error
(:func:`actionrec.data.flow.end_point_error`) over all pixels and over the moving figure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..data.flow import end_point_error
from ..experiments.grid import config_tag, find_finished_run, run_dir_of, run_grid
from ..experiments.setup import base_config, data_kwargs
from ..models.mtnet import MTNET_READING
from ..train import TrainConfig
from ..utils.checks import check_choice
from ..utils.paths import resolve_out_dir

__all__ = ["SHARED_RUN_CHAPTERS", "BUDGETS", "SYNTH_RECIPE", "recipe_value", "recipe_config", "rgb_run_config", "shared_runs",
           "flow_check"]

#: Chapters (default output folder names) whose finished runs other chapters may reuse.
SHARED_RUN_CHAPTERS = ("gradient_gating", "ablation_ratio", "receptive_fields")


#: The ablation budgets: ``"quick"`` (the default of every ablation notebook: <= 10 min on a 2-core CPU)
#: and ``"reference"`` (converged runs, the committed reference results).
BUDGETS = ("quick", "reference")

#: The SynthActions training recipe (module docstring); ``epochs`` per budget.
SYNTH_RECIPE: dict[str, Any] = dict(difficulty="medium", clip=(16, 32, 32), train_samples=4096, test_samples=2048,
                                    batch_size=32, lr=3e-3, epochs={"quick": 3, "reference": 24})


def recipe_value(recipe: Mapping[str, Any], key: str, budget: str) -> Any:
    """``recipe[key]``, or its ``budget`` entry where the recipe gives one value per budget (a dict)."""
    value = recipe[key]
    return value[budget] if isinstance(value, Mapping) else value


def recipe_config(model: str, model_kwargs: Mapping[str, Any], *, budget: str = "reference", device: str = "auto",
                  flow: str | None = None, flow_cache_dir: str | os.PathLike | None = None, frames: int | None = None,
                  lr: float | None = None, batch_size: int | None = None, epochs: int | None = None,
                  recipe: Mapping[str, Any] | None = None) -> TrainConfig:
    """The TrainConfig of ``model(**model_kwargs)`` trained on SynthActions by :data:`SYNTH_RECIPE` at
    ``budget`` (:func:`~actionrec.experiments.setup.base_config`: AdamW, weight decay 0.05, cosine,
    50 warm-up steps; val = a quarter of the training clips). Seed and data seed are set per trial by
    the grid (``run_grid(..., data_seed="seed")``). ``flow`` / ``flow_cache_dir``: RGB + optical flow
    clips for two-stream networks (:func:`~actionrec.experiments.setup.data_kwargs`). A model family
    that needs it overrides ``frames`` (e.g. TSN's 8 segments), ``lr`` or ``batch_size`` (its own
    sweep, stated in its chapter), and a chapter whose quick budget would not fit its 10 minutes
    ``epochs``; the recipe's values otherwise. ``recipe``: a chapter's own setting (the keys of
    :data:`SYNTH_RECIPE`; ``train_samples`` and ``epochs`` may be per-budget dicts), e.g. the ratio
    chapter's :data:`~actionrec.papers.mtnet.MTNET_RATIO_RECIPE`; default :data:`SYNTH_RECIPE`."""
    check_choice("budget", budget, BUDGETS)
    r = SYNTH_RECIPE if recipe is None else recipe
    missing = sorted(set(SYNTH_RECIPE) - set(r))
    if missing:
        raise ValueError(f"recipe lacks {missing}: give every key of SYNTH_RECIPE ({list(SYNTH_RECIPE)}), "
                         "e.g. dict(SYNTH_RECIPE, difficulty='temporal')")
    clip = [frames if frames is not None else r["clip"][0], *r["clip"][1:]]
    kw = data_kwargs("synthactions", clip, difficulty=r["difficulty"], flow=flow, flow_cache_dir=flow_cache_dir)
    return base_config(model=model, model_kwargs=dict(model_kwargs), dataset="synthactions", dataset_kwargs=kw,
                       train_samples=recipe_value(r, "train_samples", budget), test_samples=r["test_samples"],
                       epochs=epochs or recipe_value(r, "epochs", budget),
                       batch_size=batch_size or r["batch_size"], lr=lr or r["lr"], device=device)


def rgb_run_config(model: str, *, width: float = 0.25, epochs: int = 7, train_samples: int = 640,
                   batch_size: int = 32, lr: float = 0.003, clip: Sequence[int] = (16, 32, 32), seed: int = 0,
                   difficulty: str = "easy", device: str = "auto") -> TrainConfig:
    """The small SynthActions RGB run of ``model`` that the analysis chapters (receptive fields,
    attribution) share: ``mtnet32`` at r = 0.875, g = 1, the default architecture reading named in
    its kwargs; other models with ``width`` only. AdamW (weight decay 0.05) + cosine with a warm-up
    of ``min(50, steps / 10)``, val/test splits of a quarter of the training clips (at least 32).
    The ratio chapter's ``budget="custom"`` with its default parameters trains the same MTNet run."""
    t, h, w = clip
    n_eval = max(32, train_samples // 4)
    kw = dict(r=0.875, g=1, width=width, **MTNET_READING) if model == "mtnet32" else dict(width=width)
    return TrainConfig(model=model, model_kwargs=kw, dataset="synthactions",
                       dataset_kwargs=dict(frames=t, size=(h, w), difficulty=difficulty),
                       train_samples=train_samples, val_samples=n_eval, test_samples=n_eval,
                       epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=0.05, scheduler="cosine",
                       warmup_steps=min(50, epochs * train_samples // batch_size // 10), seed=seed, device=device)


def shared_runs(configs: Mapping[str, TrainConfig], runs_dir: str | os.PathLike, seed: int, *,
                progress: bool = False) -> tuple[dict[str, Path], list[str]]:
    """The finished run folder of every config (``{key: cfg}``), and the keys trained now.

    Each config is looked for (:func:`~actionrec.experiments.grid.find_finished_run`, same config
    and ``seed``) under ``runs_dir`` and the ``runs`` folders of :data:`SHARED_RUN_CHAPTERS`; the
    configs not found are trained with ``seed`` into ``runs_dir/<key>-<config_tag>/seed_<seed>``,
    side by side (``workers="auto"``)."""
    roots = [Path(runs_dir)] + [resolve_out_dir("", n) / "runs" for n in SHARED_RUN_CHAPTERS]
    found = {k: find_finished_run(cfg, roots) for k, cfg in configs.items()}
    todo = {k: cfg for k, cfg in configs.items() if found[k] is None}
    if todo:
        run_grid({f"{k}-{config_tag(cfg)}": cfg for k, cfg in todo.items()}, [seed], runs_dir, workers="auto",
                 progress=progress)
        for k, cfg in todo.items():
            found[k] = run_dir_of(runs_dir, f"{k}-{config_tag(cfg)}", seed)
    return found, list(todo)


def flow_check(ds, n: int, *, real: bool, method: str, dataset: str = "SynthActions") -> dict[str, Any]:
    """The flow channels of the first ``n`` items of ``ds`` (``(5, T, H, W)``: RGB + per-frame flow
    (dx, dy) from frame t to t+1) against the exact flow, where there is one.

    SynthActions (``real=False``): the mean end-point error over all pixels (``epe``) and over the
    pixels where the figure moves (``epe_figure``), and the exact and estimated flow of item 0 as
    ``panels``. Real videos have no exact flow: ``epe`` and ``epe_figure`` are None, the sentence
    gives the estimate's speeds. Returns ``{"epe", "epe_figure", "sentence", "panels": [(flow
    (T-1, H, W, 2), name)], "label": class index of item 0}``; ``method`` and ``dataset`` name the
    estimator and the data in the sentence."""
    if real:
        items = [ds[i] for i in range(n)]
        batch, labels = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])  # (N, 5, T, H, W), (N,)
        est = batch[:, 3:, :-1].permute(0, 2, 3, 4, 1).numpy()  # (N, T-1, H, W, 2): flow t -> t+1
        speed = np.linalg.norm(est, axis=-1)
        sentence = (f"**Flow ({method}) of {n} {dataset} clips** (no exact flow to compare with): {speed.mean():.2f} px "
                    f"per frame on average, 95th percentile {np.percentile(speed, 95):.2f} px, "
                    f"{100 * (speed >= 20).mean():.2f}% of the vectors at the ±20 px clip.")
        return dict(epe=None, epe_figure=None, sentence=sentence, panels=[(est[0], method)], label=int(labels[0]))
    batch, labels = ds.get_batch(list(range(n)))  # (N, 5, T, H, W): RGB + per-frame flow (dx, dy)
    est = batch[:, 3:, :-1].permute(0, 2, 3, 4, 1).numpy()  # (N, T-1, H, W, 2): flow t -> t+1
    gt, mask = zip(*(ds.flow(i, with_mask=True) for i in range(n)))  # (T-1, H, W, 2), (T-1, H, W)
    gt, mask = np.stack(gt), np.stack(mask)
    epe, epe_fig = end_point_error(est, gt), end_point_error(est, gt, mask)
    mean_speed = float(np.linalg.norm(gt, axis=-1)[mask].mean())
    sentence = (f"**Flow ({method}) vs ground truth, {n} clips:** mean end-point error {epe:.2f} px over all pixels, "
                f"{epe_fig:.2f} px on the figure (where it moves {mean_speed:.2f} px per frame on average).")
    return dict(epe=epe, epe_figure=epe_fig, sentence=sentence, panels=[(gt[0], "exact"), (est[0], method)],
                label=int(labels[0]))
