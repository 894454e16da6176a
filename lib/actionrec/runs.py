"""Find a finished run of a given config (so one notebook can reuse what another one trained), and
train with a snapshot of the weights after every epoch.

A run directory (:func:`actionrec.train.fit`) holds ``config.json`` and, once finished,
``final.json``. :func:`find_finished_run` looks under some folders for a finished run whose config
equals ``cfg`` in every field that changes results (the runtime fields -- device, workers,
caching -- may differ, as on resume), e.g. ``build/ablation_ratio/runs`` for an MTNet-32 trained
with the same settings. Nothing is copied: the caller loads the model from the folder found.

:func:`fit_with_snapshots` runs :func:`actionrec.train.fit` epoch by epoch (its
``stop_after_epoch`` resume, which is exact) and keeps the model's ``state_dict`` after every epoch
in ``run_dir/snapshots/epoch_<k>.pt`` (``epoch_0`` = the initialisation ``fit`` starts from), so
a notebook can look at how something changes during training and a rerun loads the snapshots
instead of training again. The run itself is the ordinary run of ``cfg``: same weights, metrics
and ``final.json`` as ``fit(cfg, run_dir)`` in one go.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Optional

import torch

from .train import CHECKPOINT_FILE, CONFIG_FILE, FINAL_FILE, RUNTIME_FIELDS, TrainConfig, _build_model, fit
from .utils import seed_everything

__all__ = ["find_finished_run", "same_config", "fit_with_snapshots", "SNAPSHOT_DIR"]

SNAPSHOT_DIR = "snapshots"


def same_config(saved: dict, cfg: TrainConfig) -> bool:
    """True when the saved config dict and ``cfg`` agree in every field but the runtime ones."""
    try:
        old = TrainConfig.from_dict(saved).to_dict()
    except (TypeError, ValueError):  # a config of another version of the code
        return False
    new = cfg.to_dict()
    return all(old[k] == new[k] for k in new if k not in RUNTIME_FIELDS)


def find_finished_run(cfg: TrainConfig, roots: Iterable[str | os.PathLike], *, max_depth: int = 3) -> Optional[Path]:
    """The first finished run directory (sorted, per root in the order given) under ``roots`` whose
    config equals ``cfg`` (seed included), searching at most ``max_depth`` levels below each root
    (``runs/<name>/seed_<k>`` is 2); None when there is none. Missing roots are skipped."""
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError(f"max_depth={max_depth!r} must be an int >= 0")
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        candidates = sorted(p.parent for d in range(max_depth + 1) for p in root.glob("/".join(["*"] * d + [FINAL_FILE])))
        for run in candidates:
            try:
                saved = json.loads((run / CONFIG_FILE).read_text())
            except (OSError, ValueError):
                continue
            if same_config(saved, cfg):
                return run
    return None


def fit_with_snapshots(cfg: TrainConfig, run_dir: str | os.PathLike, *, num_classes: int,
                       progress: bool = False) -> tuple[dict, dict[int, Path]]:
    """Train ``cfg`` in ``run_dir`` like :func:`~actionrec.train.fit`, saving the weights after every
    epoch; return ``(fit's result, {epoch: snapshot path})`` for epochs ``0 .. cfg.epochs``.

    ``num_classes``: the dataset's class count (the head of the epoch-0 model, built exactly as
    ``fit`` builds it: ``seed_everything(cfg.seed)`` then the builder). Interrupted runs resume
    from their checkpoint; a run that was finished without snapshots raises (its intermediate
    weights are gone: delete the folder or use another ``run_dir``). ``cfg.max_steps`` must be None.
    """
    if cfg.max_steps is not None:
        raise ValueError("fit_with_snapshots snapshots whole epochs; use a config with max_steps=None")
    run_dir = Path(run_dir)
    snaps = run_dir / SNAPSHOT_DIR
    paths = {e: snaps / f"epoch_{e}.pt" for e in range(cfg.epochs + 1)}
    if all(p.exists() for p in paths.values()):
        return fit(cfg, run_dir, progress=False), paths
    if (run_dir / FINAL_FILE).exists():
        missing = [e for e, p in paths.items() if not p.exists()]
        raise FileNotFoundError(f"{run_dir} holds a finished run without the snapshots of epochs {missing}; "
                                "delete that folder (or use another run_dir) to retrain with snapshots")
    snaps.mkdir(parents=True, exist_ok=True)
    if not paths[0].exists():
        seed_everything(cfg.seed)
        torch.save(_build_model(cfg, num_classes).state_dict(), paths[0])
    ckpt = run_dir / CHECKPOINT_FILE
    result = None
    for e in range(1, cfg.epochs + 1):
        if paths[e].exists():
            continue
        done = torch.load(ckpt, map_location="cpu", weights_only=True)["progress"]["epoch"] if ckpt.exists() else 0
        if done > e:
            raise FileNotFoundError(f"{run_dir}: the checkpoint is at epoch {done}, past the missing snapshot of "
                                    f"epoch {e}; delete the folder to retrain with snapshots")
        if done < e:
            result = fit(cfg, run_dir, progress=progress, stop_after_epoch=e if e < cfg.epochs else None)
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["progress"]["epoch"] != e:
            raise RuntimeError(f"{run_dir}: expected a checkpoint at epoch {e}, found {state['progress']['epoch']}")
        torch.save(state["model"], paths[e])
    if result is None or not result.get("finished"):
        result = fit(cfg, run_dir, progress=False)
    return result, paths
