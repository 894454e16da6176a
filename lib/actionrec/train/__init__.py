"""One training loop for every experiment: ``TrainConfig`` → ``fit(cfg, run_dir)``.

=====================  ===============================================================
:mod:`.config`         ``TrainConfig`` (every field's help in its metadata), config comparison
:mod:`.loaders`        the splits (render cache), epoch permutation, loaders, the epoch plan
:mod:`.optim`          optimizer and per-step LR schedules
:mod:`.checkpoint`     exact-resume checkpoints, ``load_model``, ``init_from`` weight transfer
:mod:`.metrics`        ``metrics.jsonl`` (+ TensorBoard)
:mod:`.evaluate`       clip-level ``evaluate`` and multi-view ``evaluate_views`` / ``evaluate_run``
:mod:`.loop`           ``fit``: seed, build, resume, epochs with evaluation, checkpoint
:mod:`.fingerprint`    the code fingerprint of a run (``fingerprint.json``): reuse only what this code makes
:mod:`.distributed`    DDP over ``torchrun`` processes
:mod:`.multigrid`      Wu et al.'s multigrid schedule
=====================  ===============================================================

``python -m actionrec.train`` is the command line (:func:`actionrec.cli.train_main`).
"""

from .checkpoint import (NonFiniteLossError, Progress, build_model_from_config, is_finished, load_checkpoint,
                         load_matching_weights, load_model, save_checkpoint)
from .config import (BAD_VIDEOS_FILE, CHECKPOINT_FILE, CONFIG_FILE, FINAL_FILE, METRICS_FILE, RUNTIME_DATASET_KWARGS,
                     RUNTIME_FIELDS, ConfigMismatchError, TrainConfig, computed_fields, config_diff)
from .evaluate import evaluate, evaluate_run, evaluate_views
from .loaders import EpochSampler, build_datasets, clear_data_cache, make_loader
from .loop import fit, train_epoch
from .optim import build_optimizer, build_scheduler, lr_factor

__all__ = [
    "TrainConfig",
    "fit",
    "evaluate",
    "evaluate_views",
    "evaluate_run",
    "is_finished",
    "load_model",
    "build_model_from_config",
    "build_datasets",
    "build_optimizer",
    "build_scheduler",
    "lr_factor",
    "make_loader",
    "EpochSampler",
    "load_matching_weights",
    "save_checkpoint",
    "load_checkpoint",
    "Progress",
    "train_epoch",
    "clear_data_cache",
    "computed_fields",
    "config_diff",
    "ConfigMismatchError",
    "NonFiniteLossError",
    "CONFIG_FILE",
    "METRICS_FILE",
    "CHECKPOINT_FILE",
    "FINAL_FILE",
    "BAD_VIDEOS_FILE",
    "RUNTIME_FIELDS",
    "RUNTIME_DATASET_KWARGS",
]
