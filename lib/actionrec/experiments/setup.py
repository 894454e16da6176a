"""The settings every ablation grid shares: data, the base config, naming and costing the runs.

::

    dataset, clip, difficulty, data_root, split ─→ data_kwargs(...)   dataset_kwargs of every run
      ─→ base_config(...)                  the TrainConfig every variant starts from
      ─→ {prefix: (replace(base, model=..., model_kwargs=...), row fields)}   (papers/ or the notebook)
      ─→ build_runs(...)                   names f"{prefix}-{config_tag(cfg)}", GMACs, params
      ─→ grid.train_grid(...)              one run per core, finished runs reused

Datasets. ``"synthactions"`` is rendered on the fly. A real dataset (``params.REAL_DATASETS``)
reads the videos under ``data_root`` with the official split ``split`` (``fold`` of
:func:`actionrec.data.videos.build_video_dataset`); clips are square ``size`` x ``size`` crops of
frames resized to a shorter side of ``round(8/7 · size)`` (the 112-from-128 ratio of PySlowFast /
MMAction2), ``frames`` consecutive frames with interval 2, or one frame from each of ``frames``
equal segments (TSN sampling, ``segments=True``). ``train_samples`` / ``test_samples`` = 0 use the
whole split. ``difficulty`` applies to SynthActions only. Test top-1 on a real dataset is what
:func:`actionrec.train.fit` measures on its test split: video level, the softmax scores of
10 clips x 3 crops per video averaged.

Two-stream networks read RGB + optical flow (``flow=``): SynthActions renders or estimates it
(:mod:`actionrec.data.flow`); a real dataset estimates it from the decoded frames (flow between
consecutive video frames on the resized frames, cropped and flipped with the clip, 8-bit, cached per
frame under ``flow_cache_dir``). Both give items ``(5, T, H, W)``: RGB then per-frame (dx, dy).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from torch.utils.data import DataLoader, TensorDataset

from ..analysis.complexity import count_macs, count_params
from ..data import build_dataset
from ..models import build_model
from ..train import TrainConfig
from ..utils import get_device
from ..utils.paths import resolve_data_root
from .grid import config_tag
from .params import is_real

__all__ = ["dataset_name", "short_side_for", "data_kwargs", "base_config", "split_dataset", "test_loader",
           "preview_clips", "build_runs", "time_vs_macs"]


_NAMES = {"synthactions": "SynthActions", "ucf101": "UCF-101", "hmdb51": "HMDB-51", "kinetics": "Kinetics",
          "ssv2": "Something-Something v2", "folder": "videos"}


def dataset_name(dataset: str) -> str:
    """How plots and tables name ``dataset`` ("SynthActions", "UCF-101", ...)."""
    return _NAMES.get(dataset, dataset)


def short_side_for(size: int) -> int:
    """Shorter side real frames are resized to before a ``size`` x ``size`` crop: ``round(8/7 · size)``
    (112 → 128, PySlowFast's and MMAction2's ratio; 32 → 37)."""
    return round(size * 8 / 7)


def data_kwargs(dataset: str, clip: Sequence[int], *, difficulty: str = "easy", data_root: str = "", split: int = 1,
                flow: str | None = None, flow_cache_dir: str | os.PathLike | None = None,
                segments: bool = False) -> dict[str, Any]:
    """``dataset_kwargs`` for clips ``clip`` = (T, H, W) of ``dataset``.

    SynthActions: ``frames``, ``size=(H, W)``, ``difficulty`` and, with ``flow`` (a method of
    :mod:`actionrec.data.flow` or ``"gt"``), ``modality="rgb+flow"``, ``flow_method`` and (unless
    ``"gt"``) ``flow_cache_dir``. Real datasets: ``data_root`` (absolute), ``fold=split``,
    ``size=H`` (square, H == W), ``short_side``, and ``frames=T`` or, with ``segments=True`` (for
    TSN-style 2D networks), ``segments=T``; with ``flow`` (an estimator: ``"farneback"``, ``"dis"``,
    ``"tvl1"``; not ``"gt"``) also ``modality="rgb+flow"``, ``flow_method`` and ``flow_cache_dir``.
    """
    T, H, W = clip
    if not is_real(dataset):
        kw: dict[str, Any] = dict(frames=T, size=(H, W), difficulty=difficulty)
        if flow is not None:
            kw.update(modality="rgb+flow", flow_method=flow)
            if flow != "gt":
                if flow_cache_dir is None:
                    raise ValueError(f"flow={flow!r} is estimated from the frames: pass flow_cache_dir= (where the "
                                     "flow is cached)")
                kw["flow_cache_dir"] = str(flow_cache_dir)
        return kw
    if flow == "gt":
        raise ValueError(f"flow='gt' is SynthActions' exact rendered flow; dataset={dataset!r} estimates flow from "
                         "its videos: use flow='farneback' (or another of actionrec.data.flow.available_methods())")
    if flow is not None and flow_cache_dir is None:
        raise ValueError(f"flow={flow!r} is estimated from the frames: pass flow_cache_dir= (where the flow is cached)")
    if H != W:
        raise ValueError(f"clip={list(clip)!r}: real videos are cropped to square frames; use H == W")
    root = resolve_data_root(data_root)
    if root is None:
        raise ValueError(f"data_root is required for dataset={dataset!r} (the folder holding its videos)")
    kw = dict(data_root=str(root), fold=split, size=H, short_side=short_side_for(H))
    if segments:
        kw["segments"] = T  # TSN sampling: one frame from each of T equal segments
    else:
        kw["frames"] = T  # T consecutive frames, interval 2
    if flow is not None:  # per-frame flow beside the RGB: items (5, T, H, W) like SynthActions'
        kw.update(modality="rgb+flow", flow_method=flow, flow_cache_dir=str(flow_cache_dir))
    return kw


def base_config(*, dataset: str, dataset_kwargs: Mapping[str, Any], train_samples: int, epochs: int, batch_size: int,
                lr: float, device: str = "auto", test_samples: int | None = None, **fields: Any) -> TrainConfig:
    """The TrainConfig the variants of an ablation start from (``fields``: e.g. ``model=``, ``seed=``).

    AdamW (weight decay 0.05), cosine schedule, ``warmup_steps = min(50, steps / 10)``; val split:
    a quarter of ``train_samples`` (at least 32), test split: ``test_samples`` or, if None, the same
    number. For a real dataset ``train_samples`` / ``test_samples`` = 0 mean the whole split (the val
    split is then the whole test list too), and the warm-up counts the videos actually there.
    """
    quarter = max(32, train_samples // 4)
    if not is_real(dataset):
        n_train, val, test = train_samples, quarter, quarter if test_samples is None else test_samples
        workers = {}
    else:
        val = quarter if train_samples else None
        test = (val if test_samples is None else test_samples) or None
        n_train = len(build_dataset(dataset, "train", num_samples=train_samples or None, **dataset_kwargs))
        workers = {"num_workers": min(8, os.cpu_count() or 1)} if get_device(device).type == "cuda" else {}
    return TrainConfig(
        dataset=dataset, dataset_kwargs=dict(dataset_kwargs),
        train_samples=train_samples or None, val_samples=val, test_samples=test,
        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=0.05, scheduler="cosine",
        warmup_steps=min(50, epochs * n_train // batch_size // 10), device=device, **workers, **fields,
    )


def split_dataset(cfg: TrainConfig, split: str = "test", *, num_samples: int | None = None):
    """Split ``split`` of ``cfg``'s data, as :func:`actionrec.train.fit` builds it (same clips), for the
    notebooks' own analyses; on a real dataset the test split has one view per video (centre clip,
    centre crop). ``num_samples``: fewer items than the config's (None: the config's)."""
    n = {"train": cfg.train_samples, "val": cfg.val_samples, "test": cfg.test_samples}[split]
    kw = dict(cfg.dataset_kwargs)
    if is_real(cfg.dataset) and split == "test":
        kw.update(clips=1, crops=1)
    return build_dataset(cfg.dataset, split, num_samples=n if num_samples is None else num_samples,
                         seed=cfg.data_seed, **kw)


def test_loader(cfg: TrainConfig, *, batch_size: int = 64) -> DataLoader:
    """A DataLoader over ``cfg``'s test split for a notebook's own analyses (e.g. scoring each stream's
    head): on a real dataset one view per video (:func:`split_dataset`) decoded by ``cfg.num_workers``
    workers; on SynthActions the split rendered once into memory, so every network reads the same
    tensors without re-rendering."""
    if is_real(cfg.dataset):
        return DataLoader(split_dataset(cfg, "test"), batch_size=batch_size, num_workers=cfg.num_workers)
    ds = build_dataset(cfg.dataset, "test", num_samples=cfg.test_samples, seed=cfg.data_seed, **cfg.dataset_kwargs)
    x, y = ds.get_batch(list(range(len(ds))))  # (N, C, T, H, W), (N,)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def preview_clips(dataset: str, data_kwargs: Mapping[str, Any], *, num_samples: int = 32) -> tuple[Any, dict[str, Any]]:
    """``(dataset object, clip_grid arguments)``: a few training clips of ``dataset`` built with
    ``data_kwargs`` (every third of the first 16), for ``viz.clip_grid(**args, every=...)``. Items
    with flow channels (``(5, T, H, W)``) show their RGB; real videos are shown with the dataset's
    normalisation undone (``mean``/``std``)."""
    ds = build_dataset(dataset, "train", num_samples=num_samples, seed=0, **data_kwargs)
    if not is_real(dataset):
        return ds, dict(dataset_or_clips=ds, indices=range(0, min(16, len(ds)), 3))
    shown = [ds[i] for i in range(0, min(16, len(ds)), 3)]
    return ds, dict(dataset_or_clips=[(x[:3], y) for x, y in shown], classes=ds.classes,
                    mean=ds.mean.numpy(), std=ds.std.numpy())


def build_runs(variants: Mapping[str, tuple[TrainConfig, Mapping[str, Any]]], *, num_classes: int | None = None,
               input_shape: Sequence[int] | None = None) -> tuple[dict[str, TrainConfig], dict[str, dict[str, Any]]]:
    """Name and cost the runs of an ablation.

    ``variants``: ``{prefix: (cfg, row)}``; ``row`` holds the fields the tables group by (e.g.
    ``{"r": 0.5, "g": 1}``). Returns ``(runs, extras)``: ``runs[name] = cfg`` with ``name =
    f"{prefix}-{config_tag(cfg)}"`` (the tag hashes every setting, so changing a parameter trains
    new runs beside the old ones) and ``extras[name] = {**row, "gmacs", "params_m"}``: multiply-adds
    per clip of ``input_shape`` (C, T, H, W) in 10⁹ and parameters in 10⁶ of the model built with
    ``num_classes`` outputs (``input_shape=None``: no costs, ``extras[name] = row``).
    """
    if input_shape is not None and num_classes is None:
        raise ValueError("build_runs: the costs need num_classes (the dataset's .num_classes) with input_shape")
    runs, extras = {}, {}
    for prefix, (cfg, row) in variants.items():
        name = f"{prefix}-{config_tag(cfg)}"
        if name in runs:
            raise ValueError(f"variants {prefix!r} and another give the same run name {name!r}")
        runs[name], extras[name] = cfg, dict(row)
        if input_shape is not None:
            net = build_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs)
            extras[name].update(gmacs=count_macs(net, tuple(input_shape)) / 1e9, params_m=count_params(net) / 1e6)
    return runs, extras


def time_vs_macs(rows: Sequence[Mapping[str, Any]], *, key: str = "r", baseline: Any = 1.0,
                 group: str = "g") -> dict[Any, dict[str, Any]]:
    """Did fewer MACs mean less time? Measured run time and MACs of each ``key`` value against ``baseline``.

    ``rows``: :func:`~actionrec.experiments.grid.train_grid` rows (``wall_s`` = seconds the run
    trained and evaluated, ``gmacs``). Per ``group`` value: ``{"rows": [{key, "time_s", "time_ratio",
    "mac_ratio"}], "sentence": str}``, ratios to the baseline's mean over seeds; reused runs count
    with the time they took when they were trained. The sentence names the values whose fewer MACs
    did and did not come with less time. Groups without the baseline are left out. Runs train side
    by side (one per core), so these are the notebook's own timings, not a controlled benchmark
    (``benchmarks/speed.py`` is one).
    """
    out: dict[Any, dict[str, Any]] = {}
    for gv in sorted({r.get(group) for r in rows}, key=str):
        sub = [r for r in rows if r.get(group) == gv and r.get("wall_s") is not None]
        vals = sorted({r[key] for r in sub})
        if baseline not in vals:
            continue

        def mean(v, field):
            xs = [float(r[field]) for r in sub if r[key] == v]
            return sum(xs) / len(xs)

        t0, m0 = mean(baseline, "wall_s"), mean(baseline, "gmacs")
        table = [{key: v, "time_s": mean(v, "wall_s"), "time_ratio": mean(v, "wall_s") / t0,
                  "mac_ratio": mean(v, "gmacs") / m0} for v in vals]
        fewer = [e for e in table if e[key] != baseline and e["mac_ratio"] < 1]
        faster = [f"{e[key]:g}" for e in fewer if e["time_ratio"] < 1]
        slower = [f"{e[key]:g} ({e['mac_ratio']:.2f}x the MACs, {e['time_ratio']:.2f}x the time)" for e in fewer
                  if e["time_ratio"] >= 1]
        if not fewer:
            sentence = f"No {key} here has fewer MACs than {key} = {baseline:g}; nothing to compare."
        elif not slower:
            sentence = f"Fewer MACs meant less time: every {key} with fewer MACs than {key} = {baseline:g} ran faster."
        else:
            sentence = (f"Fewer MACs did not mean less time for {key} = {', '.join(slower)} against "
                        f"{key} = {baseline:g}" + (f"; it did for {key} = {', '.join(faster)}." if faster else ".")
                        + " Here the time is not set by the MACs (benchmarks/speed.py --channels and --bounds "
                          "measure why).")
        out[gv] = {"rows": table, "sentence": sentence}
    return out
