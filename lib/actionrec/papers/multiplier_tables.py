"""ST-Multiplier networks (Feichtenhofer, Pinz & Wildes, CVPR 2017, ``shared/papers/multiplier.txt``):
the numbers of Tables 2-4 and the builder kwargs / run config of their rows.

:mod:`actionrec.papers.multiplier` re-exports everything here (the chapters import that module).

* :data:`FUSION_PAPER` (Table 2), :data:`FUSION_BASELINES_PAPER` (Table 4), :data:`TEMPORAL_FILTER_PAPER`
  (Table 3), :func:`temporal_filter_config` (a Table 3 key), :func:`paper_error`.
* :func:`fusion_model_kwargs`, :func:`temporal_filter_model_kwargs`: ``two_stream_small`` kwargs of one
  row; :func:`two_stream_config`: the small SynthActions run the gradient-gating and attribution
  chapters share. The readings where the paper is ambiguous (``direct_path``, ``filter_units``,
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

__all__ = ["FUSION_PAPER", "FUSION_BASELINES_PAPER", "TEMPORAL_FILTER_PAPER", "temporal_filter_config", "paper_error",
           "fusion_model_kwargs", "temporal_filter_model_kwargs", "two_stream_config"]

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

