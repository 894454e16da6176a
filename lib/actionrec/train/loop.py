"""The training loop: ``fit(cfg, run_dir)`` reads top to bottom like PySlowFast's ``train_net.train``.

::

    config.json ─→ process group (torchrun's env; none for one process) ─→ data ─→ fingerprint.json
      ─→ seed ─→ build model (+ init_from), optimizer, per-step LR schedule, GradScaler
      ─→ resume from checkpoint.pt if present
      ─→ for each epoch: train steps ─→ val every ``eval_every`` epochs ─→ atomic checkpoint
      ─→ test ─→ final.json

One optimizer step (global batch ``B = batch_size``, ``R`` processes, ``A = accum_steps``)::

    A micro-batches of B/(R·A) clips per process ─→ [multigrid: resample_clip to the step's shape]
      ─→ [channels_last_3d] ─→ autocast forward ─→ loss / A ─→ (scaled) backward; DDP all-reduces
      the gradients on the last micro-batch only (no_sync before) ─→ loss/acc summed over ranks
      ─→ [scaler.unscale_ + clip_grad, once] ─→ scaler.step ─→ scaler.update ─→ scheduler.step
      (every log_every steps the train line also records the global gradient norm before clipping)

A run directory holds ``config.json`` (written first), ``fingerprint.json`` (what this code computes
with the config at its seed, :mod:`.fingerprint`; written when a run starts from scratch, kept on
resume), ``metrics.jsonl`` (:mod:`.metrics`), ``tb/``
(``tensorboard=True``), ``bad_videos.jsonl`` (datasets with a ``failures_file`` attribute left None,
i.e. ``VideoDataset``: the train videos that failed to decode, from every worker and rank),
``checkpoint.pt`` (:mod:`.checkpoint`) and ``final.json``, written only when the run finished: ``fit``
on a finished run_dir returns it without training.

Several processes (``torchrun``, :mod:`.distributed`): every process runs ``fit``; only rank 0 writes
files; validation and test are sharded and their counts summed. Without BatchNorm a run on ``R``
processes equals the one-process run up to float summation order; BatchNorm normalises per process
unless ``sync_bn=True`` (``nn.SyncBatchNorm``, GPUs only). ``accum_steps`` keeps ``batch_size`` the
effective global batch. ``multigrid`` (:mod:`.multigrid`): per-epoch batch sizes, per-step shapes and
``lr_scale``. ``channels_last``: channels_last_3d weights and clips.

Same config + seed in the same environment (torch version, thread count, device, number of
processes) gives bit-identical weights and metrics on CPU, and resume is exact there; on CUDA,
cuDNN and atomics make runs close but not bit-identical (``torch.use_deterministic_algorithms`` is
not forced: a global side effect).

Loss: ``cross_entropy(model(x), y, label_smoothing=cfg.label_smoothing)``, unless the model has
``training_loss(x, y) -> (logits, loss)`` (several heads, e.g. the two-stream nets; label smoothing
must then be 0); evaluation always uses ``model(x)``. Departures from
PySlowFast: no mixup; a NaN/inf loss on any rank stops training with ``NonFiniteLossError`` instead of
being skipped, and a checkpoint is never written from non-finite weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..utils.device import amp_dtype
from ..utils.io import write_json
from ..utils.seeding import mix_seeds, seed_everything
from .checkpoint import (NonFiniteLossError, Progress, all_finite, build_model_from_config, is_finished,
                         load_checkpoint, load_matching_weights, save_checkpoint)
from .config import (BAD_VIDEOS_FILE, CHECKPOINT_FILE, CONFIG_FILE, FINAL_FILE, METRICS_FILE, TrainConfig,
                     check_same_config)
from .distributed import DistInfo, all_reduce_sum, barrier, broadcast_buffers, init_from_env
from .evaluate import evaluate, evaluate_views
from .fingerprint import code_fingerprint, write_fingerprint
from .loaders import build_datasets, make_loader, plan_epochs
from .metrics import MetricsLog, NullLog, log_meter
from .multigrid import resample_clip
from .optim import build_multigrid_scheduler, build_optimizer, build_scheduler

__all__ = ["fit", "train_epoch", "to_channels_last"]

logger = logging.getLogger(__name__)


def fit(cfg: TrainConfig, run_dir: str | os.PathLike, *, progress: bool = True,
        stop_after_epoch: int | None = None) -> dict[str, Any]:
    """Train ``cfg`` in ``run_dir`` (resuming if it holds a checkpoint); return the final result.

    ``stop_after_epoch=k`` returns ``{"finished": False, "epoch": k, ...}`` right after epoch k's
    checkpoint, as if the process had been interrupted there; calling ``fit`` again resumes (how a
    long run is split across sessions without touching the config). On a finished run_dir, returns
    the saved ``final.json`` without training.

    Under ``torchrun`` every process calls ``fit`` with the same arguments (and a ``run_dir`` they
    all see); the process group is joined from the environment (``distributed.init_from_env``) and
    left to the caller to close (``distributed.cleanup()``). Every rank returns the same result.
    """
    # finished or started runs: refuse another config before any work
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_finished(run_dir):
        result = json.loads((run_dir / FINAL_FILE).read_text())
        check_same_config(result["config"], cfg, run_dir, "finished run")
        return result
    if (run_dir / CONFIG_FILE).exists():
        check_same_config(json.loads((run_dir / CONFIG_FILE).read_text()), cfg, run_dir, "started run")

    # process group, config.json
    info = init_from_env(cfg.device)
    _check_runtime(cfg, info)
    ckpt_path = run_dir / CHECKPOINT_FILE
    resume = ckpt_path.exists()  # read by every rank before rank 0 can write one
    barrier()
    if info.is_main:
        write_json(run_dir / CONFIG_FILE, cfg.to_dict())

    # data
    data = build_datasets(cfg)
    num_classes = data["train"].num_classes
    if info.is_main and not resume:  # what this code computes with cfg (a resumed run keeps its first one)
        write_fingerprint(run_dir, code_fingerprint(cfg, train_ds=data["train"]))
    if getattr(data["train"], "failures_file", False) is None:  # decoded videos: count failed reads of all
        data["train"].failures_file = os.fspath(run_dir / BAD_VIDEOS_FILE)  # DataLoader workers and ranks

    # seed → model (+ init_from) → optimizer, LR schedule, GradScaler
    seed_everything(cfg.seed)
    device = info.device
    dtype = amp_dtype(cfg.amp, device)
    model = build_model_from_config(cfg, num_classes)
    init_report = load_matching_weights(model, cfg.init_from) if cfg.init_from is not None and not resume else None
    model = _prepare_model(model, cfg, info)
    plan = plan_epochs(cfg, data["train"], info.world_size)
    total_steps = plan.total_steps
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps) if plan.shapes is None else \
        build_multigrid_scheduler(optimizer, cfg, plan)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    # resume if a checkpoint exists
    prog = load_checkpoint(ckpt_path, cfg, model, optimizer, scheduler, scaler) if resume else \
        Progress(num_classes, init_from=init_report)
    if info.rank > 0:  # other dropout/augmentation draws than rank 0's (which the checkpoint restores)
        seed_everything(mix_seeds(cfg.seed, info.rank, prog.step))
    net = _WithLoss(model, cfg.label_smoothing)
    if info.distributed:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    log = NullLog()
    if info.is_main:
        log = MetricsLog(run_dir / METRICS_FILE, prog.metrics_offset, tb_dir=run_dir / "tb" if cfg.tensorboard else None,
                         purge_step=prog.step + 1 if prog.step else None)
    t_start = time.time() - prog.elapsed
    clock = lambda: time.time() - t_start  # noqa: E731  (seconds of this run, all sessions)

    def eval_split(split: str) -> dict[str, Any]:
        broadcast_buffers(model)  # every rank evaluates rank 0's BatchNorm statistics
        if split == "test" and callable(getattr(data[split], "video_index", None)):
            # multi-view test set (clips x crops per video): softmax scores averaged per video
            return evaluate_views(model, data[split], batch_size=max(1, cfg.batch_size // info.world_size),
                                  device=device, num_workers=cfg.num_workers, amp=dtype or False,
                                  channels_last=cfg.channels_last)
        loader = make_loader(data[split], cfg, train=False, device=device, rank=info.rank, world_size=info.world_size)
        return evaluate(model, loader, device=device, num_classes=num_classes, amp=dtype or False,
                        reduce=info.distributed)

    # epochs: train steps → val every eval_every epochs → checkpoint
    desc = f"{run_dir.parent.name}/{run_dir.name}"
    try:
        with tqdm(total=total_steps, initial=prog.step, disable=not (progress and info.is_main), desc=desc,
                  leave=False) as bar:
            r = _Run(cfg, model, net, optimizer, scheduler, scaler, device, dtype, log, bar, clock, ckpt_path,
                     total_steps, info.distributed, info.is_main)
            while prog.step < total_steps:
                e = prog.epoch
                if hasattr(data["train"], "set_epoch"):  # e.g. per-epoch augmentation draws of decoded videos
                    data["train"].set_epoch(e)
                loader = make_loader(data["train"], cfg, train=True, epoch=e, start_batch=prog.step_in_epoch,
                                     device=device, rank=info.rank, world_size=info.world_size,
                                     batch_sizes=plan.sizes[e] if plan.sizes is not None else None)
                lr = train_epoch(r, prog, loader, steps_in_epoch=plan.steps[e],
                                 shapes=plan.shapes[e] if plan.shapes is not None else None)
                bad = {}
                if info.is_main and hasattr(data["train"], "failure_count"):  # videos that failed to decode so far
                    bad["bad_videos"] = int(data["train"].failure_count())
                prog.metrics_offset = log_meter(log, "epoch", prog, "epoch", lr=lr, time=clock(), **bad)
                prog.epoch, prog.step_in_epoch = prog.epoch + 1, 0
                if prog.epoch % cfg.eval_every == 0 or prog.step >= total_steps:
                    val = eval_split("val")
                    prog.val_history.append(dict(epoch=prog.epoch, step=prog.step, loss=val["loss"], top1=val["top1"],
                                                 top5=val["top5"]))
                    prog.metrics_offset = log.write("val", step=prog.step, epoch=prog.epoch, lr=lr, time=clock(), **val)
                    if info.is_main:
                        logger.info("val epoch=%d step=%d top1=%.4f top5=%.4f loss=%.4g",
                                    prog.epoch, prog.step, val["top1"], val["top5"], val["loss"])
                prog.elapsed = clock()
                _save(r, prog)
                if stop_after_epoch is not None and prog.epoch >= stop_after_epoch and prog.step < total_steps:
                    barrier()  # the checkpoint exists when any rank returns
                    return {"finished": False, "epoch": prog.epoch, "step": prog.step, "run_dir": str(run_dir)}

        # test → final.json
        test = eval_split("test")
        prog.elapsed = clock()
        log.write("test", step=prog.step, epoch=prog.epoch, time=prog.elapsed, **test)
        result = _finish(run_dir, cfg, model, prog, test, device, dtype, num_classes, world_size=info.world_size,
                         write=info.is_main)
        barrier()  # final.json exists when any rank returns
        return result
    finally:
        log.close()


class _WithLoss(nn.Module):
    """``(x, y) -> (logits, loss)``: the module DDP wraps, so that its forward (and the gradient
    all-reduce it arms) also runs for models that compute their own ``training_loss``."""

    def __init__(self, model: nn.Module, label_smoothing: float = 0.0):
        super().__init__()
        if label_smoothing and hasattr(model, "training_loss"):
            raise ValueError(f"label_smoothing={label_smoothing} is invalid for {type(model).__name__}: it computes its "
                             "own training_loss (one loss per stream); use label_smoothing=0 with this model")
        self.model = model
        self.label_smoothing = label_smoothing

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if hasattr(self.model, "training_loss"):  # multi-head models (two_stream_*): fused logits + summed head losses
            return self.model.training_loss(x, y)
        logits = self.model(x)
        return logits, F.cross_entropy(logits.float(), y, label_smoothing=self.label_smoothing)


@dataclass
class _Run:
    """What one process's training steps use (built once in ``fit``)."""

    cfg: TrainConfig
    model: nn.Module  # the network (its state_dict is what checkpoints hold)
    net: nn.Module  # _WithLoss(model), DDP-wrapped with several processes
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    device: torch.device
    amp_dtype: torch.dtype | None
    log: MetricsLog | NullLog  # MetricsLog on rank 0, NullLog elsewhere
    bar: Any
    clock: Callable[[], float]
    ckpt_path: Path
    total_steps: int
    ddp: bool
    main: bool


def train_epoch(r: _Run, prog: Progress, loader, *, steps_in_epoch: int, shapes: list | None) -> float:
    """Run the remaining steps of epoch ``prog.epoch``, updating ``prog`` in place; return the last lr used.

    ``loader`` yields ``accum_steps`` micro-batches per step; ``shapes[k]``: the multigrid shape of
    step k of the epoch (None: train on the clips as loaded).
    """
    cfg, accum = r.cfg, r.cfg.accum_steps
    r.model.train()
    lr = r.scheduler.get_last_lr()[0]
    shape, stats = None, [0.0, 0, 0]
    for i, (x, y) in enumerate(loader):
        micro = i % accum
        if micro == 0:
            lr = r.scheduler.get_last_lr()[0]
            shape = shapes[prog.step_in_epoch] if shapes is not None else None
            stats = [0.0, 0, 0]  # this rank's [loss_sum, correct, n] of the step
            r.optimizer.zero_grad(set_to_none=True)
        x, y = x.to(r.device, non_blocking=True), y.to(r.device, non_blocking=True)
        if shape is not None and tuple(x.shape[2:]) != (shape.frames, shape.size, shape.size):
            x = resample_clip(x, shape.frames, shape.size)  # (B, C, T, H, W) -> (B, C, frames, size, size)
        if cfg.channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        # DDP all-reduces gradients in backward; skip it on every micro-batch but the step's last
        sync = contextlib.nullcontext() if micro == accum - 1 or not r.ddp else r.net.no_sync()
        with sync:
            with torch.autocast(r.device.type, dtype=r.amp_dtype, enabled=r.amp_dtype is not None):
                logits, loss = r.net(x, y)
            r.scaler.scale(loss / accum).backward()
        stats[0] += loss.item() * y.numel()
        stats[1] += (logits.argmax(1) == y).sum().item()
        stats[2] += y.numel()
        if micro < accum - 1:
            continue
        if r.ddp:  # the step's loss/acc over all ranks (and a NaN on one rank stops every rank)
            t = all_reduce_sum(torch.tensor(stats, dtype=torch.float64))
            stats = [t[0].item(), int(t[1].item()), int(t[2].item())]
        loss_sum, correct, n = stats
        loss_value = loss_sum / n
        if not math.isfinite(loss_value):
            kept = (f"{r.ckpt_path} still holds the last good state" if r.ckpt_path.exists()
                    else "no checkpoint was written yet")
            raise NonFiniteLossError(
                f"loss is {loss_value} at step {prog.step + 1} (epoch {prog.epoch + 1}, lr {lr:.3g}): training diverged; "
                f"{kept}. Lower lr, add warmup_steps or clip_grad, and train into a new run_dir (or delete this one).")
        logged = (prog.step + 1) % cfg.log_every == 0  # this step writes a train line: log its gradient norm too
        grad_norm = None
        if cfg.clip_grad is not None:
            r.scaler.unscale_(r.optimizer)  # once per optimizer step, after all micro-batches
            grad_norm = nn.utils.clip_grad_norm_(r.model.parameters(), cfg.clip_grad)  # the norm before clipping
        elif logged:
            r.scaler.unscale_(r.optimizer)
            grad_norm = nn.utils.get_total_norm([p.grad for p in r.model.parameters() if p.grad is not None])
        r.scaler.step(r.optimizer)
        r.scaler.update()
        r.scheduler.step()
        prog.step += 1
        prog.step_in_epoch += 1
        for m in prog.meters.values():  # [loss_sum, correct, n]
            m[0] += loss_sum
            m[1] += correct
            m[2] += n
        r.bar.update(1)
        r.bar.set_postfix(epoch=prog.epoch + 1, loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", refresh=False)
        if prog.step % cfg.log_every == 0:
            norm = {} if grad_norm is None else {"grad_norm": float(grad_norm)}  # global L2 norm, before clipping
            prog.metrics_offset = log_meter(r.log, "train", prog, "interval", lr=lr, time=r.clock(), **norm)
        epoch_end = prog.step_in_epoch >= steps_in_epoch or prog.step >= r.total_steps
        if cfg.checkpoint_every and prog.step % cfg.checkpoint_every == 0 and not epoch_end:
            prog.elapsed = r.clock()
            _save(r, prog)
        if prog.step >= r.total_steps:
            break
    return lr


def _save(r: _Run, prog: Progress) -> None:
    """Rank 0 writes the checkpoint; every rank checks the (identical) weights first, so all stop together."""
    if r.ddp and not all_finite(r.model):
        raise NonFiniteLossError(f"weights became non-finite at step {prog.step} (epoch {prog.epoch + 1}); "
                                 f"not overwriting {r.ckpt_path}. Lower lr (now {r.cfg.lr}), add warmup_steps or "
                                 "clip_grad.")
    if r.main:
        save_checkpoint(r.ckpt_path, r.cfg, r.model, r.optimizer, r.scheduler, r.scaler, prog)


def _check_runtime(cfg: TrainConfig, info: DistInfo) -> None:
    if cfg.sync_bn and info.world_size > 1 and info.device.type != "cuda":
        raise ValueError(f"sync_bn=True with {info.world_size} processes on {info.device}: torch's nn.SyncBatchNorm "
                         "only runs on GPUs (it raises for CPU tensors); train on CUDA, or set sync_bn=False "
                         "(each process then normalises with its own batch statistics)")


def _prepare_model(model: nn.Module, cfg: TrainConfig, info: DistInfo) -> nn.Module:
    """SyncBatchNorm (several processes), device, memory format."""
    if cfg.sync_bn and info.world_size > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(info.device)
    if cfg.channels_last:
        to_channels_last(model)
    return model


@torch.no_grad()
def to_channels_last(model: nn.Module) -> None:
    """channels_last_3d for 5-D tensors (Conv3d weights), channels_last for 4-D ones (Conv2d), in place."""
    for t in list(model.parameters()) + list(model.buffers()):
        if t.dim() == 5:
            t.data = t.data.contiguous(memory_format=torch.channels_last_3d)
        elif t.dim() == 4:
            t.data = t.data.contiguous(memory_format=torch.channels_last)


def _finish(run_dir: Path, cfg: TrainConfig, model: nn.Module, prog: Progress, test: dict, device, dtype,
            num_classes: int, *, world_size: int = 1, write: bool = True) -> dict[str, Any]:
    """Assemble the result, write final.json (marks the run finished; rank 0 only) and return it."""
    best = max(prog.val_history, key=lambda v: v["top1"])
    result = {
        "finished": True, "run_dir": str(run_dir), "config": dict(cfg.to_dict()),  # as final.json gives it back
        "top1": test["top1"], "top5": test["top5"], "test": test,
        "val": prog.val_history[-1], "val_history": prog.val_history,
        "best_val_top1": best["top1"], "best_val_epoch": best["epoch"],
        "params": sum(p.numel() for p in model.parameters()), "num_classes": num_classes,
        "epochs": prog.epoch, "steps": prog.step, "wall_s": prog.elapsed,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "amp": str(dtype).replace("torch.", "") if dtype else None, "torch": str(torch.__version__),
        "world_size": world_size,
    }
    if cfg.init_from is not None:
        result["init_from"] = prog.init_from
    if write:
        write_json(run_dir / FINAL_FILE, result)
    return result
