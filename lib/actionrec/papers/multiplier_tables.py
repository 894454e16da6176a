"""ST-Multiplier networks (Feichtenhofer, Pinz & Wildes, CVPR 2017, ``shared/papers/multiplier.txt``):
the numbers of Tables 2-4 and the builder kwargs / run config of their rows.

:mod:`actionrec.papers.multiplier` re-exports everything here (the chapters import that module).

* :data:`FUSION_PAPER` (Table 2), :data:`FUSION_BASELINES_PAPER` (Table 4), :data:`TEMPORAL_FILTER_PAPER`
  (Table 3), :func:`temporal_filter_config` (a Table 3 key), :func:`paper_error`.
* :func:`fusion_model_kwargs`, :func:`temporal_filter_model_kwargs`: ``two_stream_small`` kwargs of one
  row; :func:`two_stream_config`: the small SynthActions run the gradient-gating and attribution
  chapters share.
* The ablation budgets of the two chapters (issue 15): :data:`FUSION_BUDGETS` and
  :data:`TEMPORAL_FILTER_BUDGETS` (variants and seeds per budget; :data:`FUSION_CUSTOM`,
  :data:`TEMPORAL_FILTER_CUSTOM`: the notebooks' ``budget="custom"`` defaults), :func:`fusion_runs` and
  :func:`temporal_filter_runs` (their runs on the SynthActions recipe,
  :func:`~actionrec.papers.synthactions.recipe_config`, at the size :data:`TWO_STREAM_RECIPE`). The readings where the paper is ambiguous (``direct_path``, ``filter_units``,
  ``flow_stacking``; defaults and evidence in :mod:`actionrec.models.two_stream`) are written into
  the kwargs explicitly wherever they apply, so they enter each run's config and its tag
  (:func:`actionrec.experiments.grid.config_tag`): a run of another reading never reuses a finished
  one, and a later change of a builder default cannot silently change what a finished run's config
  names.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..layers.flow_stack import STACKINGS
from ..layers.fusion import DIRECT_PATHS
from ..layers.temporal_filter import FILTER_UNITS, INITS, canonical_placement
from ..train import TrainConfig
from ..utils.checks import check_choice
from .mtnet import ORDER_BLIND
from .synthactions import BUDGETS, recipe_config

__all__ = ["FUSION_PAPER", "FUSION_BASELINES_PAPER", "TEMPORAL_FILTER_PAPER", "temporal_filter_config", "paper_error",
           "fusion_model_kwargs", "temporal_filter_model_kwargs", "two_stream_config", "ORDER_BLIND",
           "TWO_STREAM_RECIPE", "FUSION_BUDGETS", "TEMPORAL_FILTER_BUDGETS", "FUSION_CUSTOM", "TEMPORAL_FILTER_CUSTOM",
           "fusion_runs", "temporal_filter_runs"]

#: ST-Multiplier nets, Table 2 (ResNet-50 streams): error (%) on split 1 of UCF101 / HMDB51 per
#: cross-stream connection. Keys: ``"<kind>_<direction>"`` (kind as
#: :data:`actionrec.layers.fusion.FUSION_KINDS`; direction ``m2a`` = ← motion into appearance,
#: ``a2m`` = → appearance into motion, ``bi`` = ↔).
FUSION_PAPER = {
    "direct_add_m2a": {"ucf101": 24.78, "hmdb51": 54.85, "name": "direct ⊕ ←", "fig": "2(a)"},
    "direct_mul_m2a": {"ucf101": 81.98, "hmdb51": 77.89, "name": "direct ⊙ ←", "fig": "2(b)"},
    "residual_add_m2a": {"ucf101": 9.38, "hmdb51": 41.89, "name": "residual ⊕ ←", "fig": "2(c)"},
    "residual_mul_m2a": {"ucf101": 8.72, "hmdb51": 37.23, "name": "residual ⊙ ←", "fig": "2(d)"},
    "residual_add_a2m": {"ucf101": 16.76, "hmdb51": 49.54, "name": "residual ⊕ →", "fig": "2(c)"},
    "residual_mul_a2m": {"ucf101": 16.68, "hmdb51": 48.43, "name": "residual ⊙ →", "fig": "2(d)"},
    "residual_mul_bi": {"ucf101": 15.15, "hmdb51": 48.56, "name": "residual ⊙ ↔", "fig": "2(e)"},
}
#: Baselines without connections, Table 4 (ResNet-50, accuracy averaged over the three splits,
#: written here as error = 100 - accuracy): not Table 2 rows (other splits), shown for context only.
FUSION_BASELINES_PAPER = {
    "late": {"ucf101": 8.3, "hmdb51": 38.8, "name": "late fusion (no connections)", "fig": "Table 4"},
    "appearance": {"ucf101": 17.7, "hmdb51": 51.1, "name": "appearance stream only", "fig": "Table 4"},
    "motion": {"ucf101": 13.0, "hmdb51": 44.2, "name": "motion stream only", "fig": "Table 4"},
}


def _temporal_filter_key(placement: str | None, init: str | None = None, pool: bool = False) -> str:
    if placement in (None, "none"):
        return "none-pool" if pool else "none"
    return f"{placement}-{init}" + ("-pool" if pool else "")


def temporal_filter_config(placement: str | None, init: str | None = None, pool: bool = False) -> str:
    """Key of one Table 3 configuration: ``"none"`` / ``"none-pool"`` without filters, else
    ``"<placement>-<init>[-pool]"`` with placement ``"last"`` (§), ``"every"`` (†) or
    ``"every+shortcut"`` (‡) (the symbols are accepted) and init ``"avg"`` or ``"centre"``."""
    p = canonical_placement(None if placement == "none" else placement)
    if p is not None and init not in INITS:
        raise ValueError(f"init={init!r} must be one of {list(INITS)} when placement={placement!r}")
    if not isinstance(pool, bool):
        raise ValueError(f"pool={pool!r} must be True or False")
    return _temporal_filter_key(p, init, pool)


_TF_SYMBOL = {"last": "§", "every": "†", "every+shortcut": "‡"}
_TF_TAPS = {"avg": "[⅓,⅓,⅓]", "centre": "[0,1,0]"}
#: Every configuration of the Table 3 grid (placement x init x temporal max-pool, plus no filters),
#: with the paper's error (%) on split 1 of UCF101 / HMDB51 where Table 3 has the row (else None),
#: and the row's name in the paper's notation. All use residual ⊙ ← connections.
TEMPORAL_FILTER_PAPER: dict[str, dict[str, Any]] = {}
for _pool in (False, True):
    TEMPORAL_FILTER_PAPER[_temporal_filter_key(None, None, _pool)] = {
        "placement": None, "init": None, "pool": _pool, "ucf101": None, "hmdb51": None,
        "name": "no filters" + (", pool time" if _pool else "")}
    for _p in ("last", "every", "every+shortcut"):
        for _i in ("avg", "centre"):
            TEMPORAL_FILTER_PAPER[_temporal_filter_key(_p, _i, _pool)] = {
                "placement": _p, "init": _i, "pool": _pool, "ucf101": None, "hmdb51": None,
                "name": f"{_TF_SYMBOL[_p]} {_TF_TAPS[_i]}" + (", pool time" if _pool else "")}
for _k, (_u, _h) in {"none": (8.72, 37.23), "last-avg": (7.85, 35.29), "every-avg": (7.72, 35.96),
                     "every+shortcut-avg": (7.45, 35.94), "every-centre": (7.61, 34.72),
                     "last-centre": (7.74, 34.90), "every+shortcut-centre": (7.79, 34.38),
                     "every-centre-pool": (6.74, 34.05), "every+shortcut-centre-pool": (6.00, 30.98)}.items():
    TEMPORAL_FILTER_PAPER[_k].update(ucf101=_u, hmdb51=_h)
del _pool, _p, _i, _k, _u, _h


def paper_error(key: str) -> str:
    """The paper's error of one Table 2 / 3 / 4 row as ``"UCF101 / HMDB51"`` (``"8.72 / 37.23"``), or
    "—" for a Table 3 configuration the paper did not run."""
    p = {**FUSION_PAPER, **FUSION_BASELINES_PAPER, **TEMPORAL_FILTER_PAPER}[key]
    return "—" if p["ucf101"] is None else f"{p['ucf101']:.2f} / {p['hmdb51']:.2f}"


def fusion_model_kwargs(variant: str, *, width: float, flow_channels: int, direct_path: str = "skip",
                        flow_stacking: str = "centred") -> dict[str, Any]:
    """``two_stream_small`` kwargs of one Table 2 row, ``"<kind>_<direction>"``, or of ``"late"`` (no
    connections); no temporal filters and no temporal pooling, as in Table 2. ``flow_stacking`` is
    always written, ``direct_path`` ("skip": ``g + F(x_a)``, the default reading; "both": ``g + F(g)``)
    for the direct rows."""
    check_choice("direct_path", direct_path, DIRECT_PATHS)
    check_choice("flow_stacking", flow_stacking, STACKINGS)
    kw = dict(width=width, flow_channels=flow_channels, temporal_filters=None, temporal_pool=False,
              flow_stacking=flow_stacking)
    if variant == "late":
        return dict(kw, fusion=None)
    kind, direction = variant.rsplit("_", 1)
    direct = {"direct_path": direct_path} if kind.startswith("direct") else {}
    return dict(kw, fusion=kind, direction=direction, **direct)


def temporal_filter_model_kwargs(config: str, *, width: float, flow_channels: int, filter_units: str = "first",
                                 flow_stacking: str = "centred") -> dict[str, Any]:
    """``two_stream_small`` kwargs of one Table 3 configuration (:func:`temporal_filter_config`):
    residual ⊙ ← connections plus the row's filters and pooling. ``flow_stacking`` is always written,
    ``filter_units`` ("first": unit 1 of each stage, the default reading; "all": every middle unit)
    for the rows with filters."""
    check_choice("filter_units", filter_units, FILTER_UNITS)
    check_choice("flow_stacking", flow_stacking, STACKINGS)
    p = TEMPORAL_FILTER_PAPER[config]
    units = {"filter_units": filter_units} if p["placement"] is not None else {}
    return dict(width=width, flow_channels=flow_channels, fusion="residual_mul", direction="m2a",
                temporal_filters=p["placement"], temporal_init=p["init"] or "centre", temporal_pool=p["pool"],
                flow_stacking=flow_stacking, **units)


def two_stream_config(*, width: float = 0.125, flow_channels: int = 8, fusion: str = "residual_mul",
                      direction: str = "m2a", epochs: int = 8, train_samples: int = 640, batch_size: int = 32,
                      lr: float = 0.003, clip: Sequence[int] = (16, 32, 32), seed: int = 0, difficulty: str = "easy",
                      device: str = "auto", direct_path: str = "skip", flow_stacking: str = "centred") -> TrainConfig:
    """The :class:`~actionrec.train.TrainConfig` of a small two-stream ST-multiplier run on SynthActions
    RGB + ground-truth flow: ``two_stream_small`` (one Bottleneck per stage, temporal max-pool,
    no temporal filters), AdamW + cosine with a short warm-up, val/test splits of a quarter of the
    training clips (at least 32). The ``gradient_gating`` and ``attribution`` notebooks both call
    it, so with the same arguments they name, train and reuse the same run. ``flow_stacking`` is
    written into the model kwargs, ``direct_path`` when ``fusion`` is a direct kind."""
    check_choice("direct_path", direct_path, DIRECT_PATHS)
    check_choice("flow_stacking", flow_stacking, STACKINGS)
    t, h, w = (int(v) for v in clip)
    n_eval = max(32, train_samples // 4)
    return TrainConfig(
        model="two_stream_small",
        model_kwargs=dict(width=width, fusion=fusion, direction=direction, temporal_filters=None,
                          flow_channels=flow_channels, flow_stacking=flow_stacking,
                          **({"direct_path": direct_path} if str(fusion).startswith("direct") else {})),
        dataset="synthactions",
        dataset_kwargs=dict(frames=t, size=[h, w], difficulty=difficulty, modality="rgb+flow", flow_method="gt"),
        train_samples=train_samples, val_samples=n_eval, test_samples=n_eval, epochs=epochs, batch_size=batch_size,
        lr=lr, weight_decay=0.05, scheduler="cosine", warmup_steps=min(50, epochs * train_samples // batch_size // 10),
        seed=seed, device=device,
    )



# ------------------------------------------------------------------ the chapters' budgets (issue 15 protocol)

#: The two-stream network and clips of both chapters' budgets on the SynthActions recipe:
#: ``two_stream_small`` at ``width`` with stacks of L = ``flow_channels`` / 2 flow fields per frame,
#: centred on the frame, over ``frames``-frame clips with the chapter's flow (``flow``, estimated from
#: the rendered frames and cached on disk; the paper precomputes TV-L1 flow). ``frames`` overrides the
#: recipe's 16: the streams are 2D networks that fold the frames into the batch, so a step costs in
#: proportion to T, and L = 4 flow fields per frame already span half of an 8-frame clip.
#: ``control_width``: the width of the positive control :data:`ORDER_BLIND` (``frame_avg2d``, RGB).
TWO_STREAM_RECIPE: dict[str, Any] = dict(width=0.125, flow_channels=8, flow_stacking="centred", frames=8,
                                         flow="farneback", control_width=0.25)

#: Variants (:data:`FUSION_PAPER` keys and :data:`ORDER_BLIND`) and seeds of each budget of the fusion
#: chapter. Quick: the headline pair (residual ⊙ ← vs ⊕ ←) and the positive control, 3 seeds, 2 of the
#: recipe's epochs (3 took 10.1 min on the 2-core CPU, over the quick budget's 10: benchmarks/README.md).
#: Reference: every Table 2 row and the control, seeds 0-5: n = 6, the protocol's minimum, until a pilot
#: on disjoint seeds (100+) sizes it when the reference runs are made (issue 16).
FUSION_BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {"variants": ("residual_mul_m2a", "residual_add_m2a", ORDER_BLIND), "seeds": (0, 1, 2), "epochs": 2},
    "reference": {"variants": (*FUSION_PAPER, ORDER_BLIND), "seeds": tuple(range(6))},
}

#: Variants (:data:`TEMPORAL_FILTER_PAPER` keys and :data:`ORDER_BLIND`) and seeds of each budget of
#: the temporal-filter chapter. Quick: the headline pair († [0,1,0] with temporal max-pooling vs no
#: filters) and the positive control, 3 seeds, 2 of the recipe's epochs (3 took 9.7 min, too close to the
#: quick budget's 10) (‡ [0,1,0] with pooling, the paper's best row, costs about
#: 1.6x the step time: its shortcut filters act on the 4x wider block outputs). Reference: the Table 3 rows the claims name (every
#: [0,1,0] placement, † [⅓,⅓,⅓], both pooled rows, no filters; not § / ‡ [⅓,⅓,⅓]) and the control,
#: seeds 0-5: n = 6, the protocol's minimum, until a pilot on disjoint seeds (100+) sizes it (issue 16).
TEMPORAL_FILTER_BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {"variants": ("every-centre-pool", "none", ORDER_BLIND), "seeds": (0, 1, 2), "epochs": 2},
    "reference": {"variants": ("none", "last-centre", "every-centre", "every+shortcut-centre", "every-avg",
                               "every-centre-pool", "every+shortcut-centre-pool", ORDER_BLIND),
                  "seeds": tuple(range(6))},
}


#: The fusion notebook's ``budget="custom"`` defaults (a parameter left at None takes these): the small,
#: easy grid the chapter ran before the protocol (every Table 2 row and late fusion, 3 seeds).
FUSION_CUSTOM: dict[str, Any] = dict(
    variants=["direct_add_m2a", "direct_mul_m2a", "residual_add_m2a", "residual_mul_m2a", "residual_mul_a2m",
              "residual_mul_bi", "late"], seeds=3, epochs=4, width=0.125, clip=[8, 32, 32], flow_channels=8,
    flow_stacking="centred", train_samples=512, test_samples=256, batch_size=16, lr=0.01, flow_method="farneback",
    dataset="synthactions", data_root="", split=1, difficulty="easy")

#: The temporal-filter notebook's ``budget="custom"`` defaults: the small, easy grid the chapter ran
#: before the protocol (Table 3's nine rows, 3 seeds).
TEMPORAL_FILTER_CUSTOM: dict[str, Any] = dict(
    configs=["none", "last-avg", "every-avg", "every+shortcut-avg", "every-centre", "last-centre",
             "every+shortcut-centre", "every-centre-pool", "every+shortcut-centre-pool"], seeds=3, epochs=4,
    width=0.125, clip=[8, 32, 32], flow_channels=8, flow_stacking="centred", train_samples=320, test_samples=256,
    batch_size=16, lr=0.01, flow_method="farneback", dataset="synthactions", data_root="", split=1, difficulty="easy")


def _budget_variants(budget: str, budgets: dict[str, dict[str, Any]], variants: Sequence[str] | None,
                     valid: Sequence[str]) -> list[str]:
    check_choice("budget", budget, BUDGETS)
    names = list(budgets[budget]["variants"] if variants is None else variants)
    unknown = [v for v in names if v not in valid]
    if unknown or not names:
        raise ValueError(f"variants={list(names)!r} must be a non-empty list of {list(valid)}; unknown: {unknown}")
    return names


def _control_config(budget: str, device: str, epochs: int | None) -> TrainConfig:
    r = TWO_STREAM_RECIPE
    return recipe_config("frame_avg2d", {"width": r["control_width"]}, budget=budget, device=device, frames=r["frames"],
                         epochs=epochs)


def fusion_runs(budget: str, *, flow_cache_dir, variants: Sequence[str] | None = None, device: str = "auto",
                direct_path: str = "skip") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of ``budget`` (:data:`FUSION_BUDGETS`; ``variants`` overrides its list) on the SynthActions
    recipe, for :func:`~actionrec.experiments.setup.build_runs`: ``{variant: (config, {"variant": variant})}``.
    A Table 2 row (or ``"late"``) is ``two_stream_small`` with :func:`fusion_model_kwargs` at
    :data:`TWO_STREAM_RECIPE`'s size on RGB + flow clips (flow cached under ``flow_cache_dir``);
    :data:`ORDER_BLIND` is ``frame_avg2d`` on the same clips' RGB (seed k of both renders the same clips)."""
    r = TWO_STREAM_RECIPE
    runs = {}
    names = _budget_variants(budget, FUSION_BUDGETS, variants, [*FUSION_PAPER, "late", ORDER_BLIND])
    epochs = FUSION_BUDGETS[budget].get("epochs")  # None: the recipe's
    for v in names:
        if v == ORDER_BLIND:
            runs[v] = (_control_config(budget, device, epochs), {"variant": v})
            continue
        kw = fusion_model_kwargs(v, width=r["width"], flow_channels=r["flow_channels"], direct_path=direct_path,
                                 flow_stacking=r["flow_stacking"])
        runs[v] = (recipe_config("two_stream_small", kw, budget=budget, device=device, flow=r["flow"],
                                 flow_cache_dir=flow_cache_dir, frames=r["frames"], epochs=epochs), {"variant": v})
    return runs


def temporal_filter_runs(budget: str, *, flow_cache_dir, variants: Sequence[str] | None = None, device: str = "auto",
                         filter_units: str = "first") -> dict[str, tuple[TrainConfig, dict[str, Any]]]:
    """The runs of ``budget`` (:data:`TEMPORAL_FILTER_BUDGETS`; ``variants`` overrides its list) on the
    SynthActions recipe: ``{variant: (config, {"variant": variant, "config": Table 3 key or None})}``.
    A Table 3 configuration is ``two_stream_small`` with :func:`temporal_filter_model_kwargs` (residual
    ⊙ ← plus the row's filters and pooling) at :data:`TWO_STREAM_RECIPE`'s size on RGB + flow clips
    (flow cached under ``flow_cache_dir``); :data:`ORDER_BLIND` is ``frame_avg2d`` on the same clips' RGB."""
    r = TWO_STREAM_RECIPE
    runs = {}
    names = _budget_variants(budget, TEMPORAL_FILTER_BUDGETS, variants, [*TEMPORAL_FILTER_PAPER, ORDER_BLIND])
    epochs = TEMPORAL_FILTER_BUDGETS[budget].get("epochs")  # None: the recipe's
    for v in names:
        if v == ORDER_BLIND:
            runs[v] = (_control_config(budget, device, epochs), {"variant": v, "config": None})
            continue
        kw = temporal_filter_model_kwargs(v, width=r["width"], flow_channels=r["flow_channels"],
                                          filter_units=filter_units, flow_stacking=r["flow_stacking"])
        runs[v] = (recipe_config("two_stream_small", kw, budget=budget, device=device, flow=r["flow"],
                                 flow_cache_dir=flow_cache_dir, frames=r["frames"], epochs=epochs), {"variant": v, "config": v})
    return runs
