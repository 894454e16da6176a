"""Evaluation: clip-level (:func:`evaluate`, what ``fit`` logs for val/test) and video-level multi-view
testing (:func:`evaluate_views`, :func:`evaluate_run`: ``python -m actionrec.evaluate``).

Multi-view testing is the standard video protocol (Simonyan & Zisserman 2014; Wang et al. 2018
"Non-local Neural Networks" §5; PySlowFast ``test_net.py``): each test video is seen as ``K``
uniformly spaced temporal clips x ``C`` spatial crops ("views"), the softmax scores of its views are
averaged, and the video's prediction is the argmax of that mean::

    dataset item i = one view ─→ model ─→ logits (B, K) ─→ softmax ─→ scores (B, K)
      ─→ scores_sum[video_index(i)] += scores,  views[video_index(i)] += 1
      ─→ mean scores per video (V, K) ─→ video-level top-1 / top-5, per-class accuracy,
         confusion matrix, NLL of the mean scores

A dataset whose items are views of videos exposes ``video_index(i)`` (``VideoDataset`` in test mode,
built with ``clips=K, crops=C``); otherwise every item is its own video (SynthActions: one view per
clip, so the numbers equal :func:`evaluate`'s). A video's label is the most frequent label of its
views (they differ only where a dataset replaced an unreadable video: ``label_conflicts``).

Under a process group both functions shard the data over the ranks and sum the counts (``evaluate``
with ``reduce=True``; ``evaluate_views`` always), so every rank returns the numbers of the whole split.
Departure from PySlowFast: scores are averaged as probabilities in float64 (PySlowFast sums; same argmax).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from ..data import build_dataset
from ..data.videos import ANNOTATIONS
from ..utils.checks import check_int
from ..utils.device import amp_dtype, get_device
from ..utils.io import write_json
from .checkpoint import is_finished, load_model
from .config import CONFIG_FILE, FINAL_FILE, TrainConfig
from .distributed import all_reduce_sum, barrier, get_rank, get_world_size, init_from_env
from .loaders import split_dataset_kwargs

__all__ = ["evaluate", "evaluate_views", "evaluate_run", "resolve_views", "eval_file_name", "SINGLE_VIEW_DATASETS",
           "DEFAULT_VIEWS"]

logger = logging.getLogger(__name__)

# Datasets whose items are single clips (no test-time views): clips and crops must be 1.
SINGLE_VIEW_DATASETS = ("synthactions",)
DEFAULT_VIEWS = (10, 3)  # clips x crops of video datasets unless given (the common UCF/Kinetics protocol)


def _autocast_dtype(amp: bool | str | torch.dtype | None, device: torch.device) -> torch.dtype | None:
    """``amp_dtype`` (bf16/fp16 or the given dtype on CUDA; None on CPU), None when ``amp`` is None or False."""
    return None if amp is None else amp_dtype(amp, device)


@torch.no_grad()
def evaluate(model: nn.Module, loader, *, device: torch.device | str, num_classes: int,
             amp: bool | torch.dtype = False, reduce: bool = False) -> dict[str, Any]:
    """Loss and accuracies of ``model`` over ``loader`` (iterable of ``(clips, labels)``).

    Returns ``{"loss", "top1", "top5", "per_class", "confusion", "n"}``: accuracies are fractions
    in [0, 1]; ``top5`` is top-min(5, K); ``per_class[k]`` is the recall of class k (None when the
    split has no clip of class k); ``confusion[i][j]`` counts clips of true class i predicted as j.
    ``amp`` (True or a dtype) autocasts on CUDA only. The model's train/eval mode is restored.
    ``reduce=True``: each process of the group evaluated its own shard (``make_loader(train=False,
    rank=..., world_size=...)``); the sums (loss, hits, count, confusion matrix) are added over all
    ranks before the means are taken, so every rank returns the numbers of the whole split.
    """
    device = get_device(device)
    dtype = _autocast_dtype(amp, device)
    was_training = model.training
    model.eval()
    k = min(5, num_classes)
    loss_sum, top1, topk, n = 0.0, 0, 0, 0
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), torch.as_tensor(y).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(x)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        pred_k = logits.topk(k, dim=1).indices  # (B, k)
        top1 += (pred_k[:, 0] == y).sum().item()
        topk += (pred_k == y[:, None]).any(dim=1).sum().item()
        n += y.numel()
        pairs = (y * num_classes + pred_k[:, 0]).cpu()  # (B,) index of (true, predicted)
        confusion += torch.bincount(pairs, minlength=num_classes**2).view(num_classes, num_classes)  # (K, K)
    model.train(was_training)
    if reduce:
        sums = all_reduce_sum(torch.tensor([loss_sum, top1, topk, n], dtype=torch.float64))
        loss_sum, top1, topk, n = sums[0].item(), int(sums[1].item()), int(sums[2].item()), int(sums[3].item())
        confusion = all_reduce_sum(confusion)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    support = confusion.sum(dim=1)
    per_class = [None if s == 0 else confusion[i, i].item() / s.item() for i, s in enumerate(support)]
    return {"loss": loss_sum / n, "top1": top1 / n, "top5": topk / n, "per_class": per_class,
            "confusion": confusion.tolist(), "n": n}


@torch.no_grad()
def evaluate_views(model: nn.Module, dataset: Dataset, *, batch_size: int, device: torch.device | str,
                   num_workers: int = 0, amp: bool | str | torch.dtype = False,
                   channels_last: bool = False) -> dict[str, Any]:
    """Video-level accuracy of ``model`` with the softmax scores of each video's views averaged.

    ``dataset[i] -> (view (C, T, H, W), label)``; ``dataset.video_index(i)`` (if present) names
    the video of view ``i``, else every item is its own video. ``amp`` (True/"auto" or a dtype)
    autocasts on CUDA only; ``channels_last`` feeds channels_last_3d inputs (and converts the model).

    Returns ``{"top1", "top5", "mean_class_acc", "per_class", "confusion", "loss", "view_top1",
    "videos", "views", "views_per_video", "label_conflicts", "num_classes"}``: accuracies are
    fractions in [0, 1] over videos; ``top5`` is top-min(5, K); ``per_class[k]`` is the recall of
    class k over videos (None without support) and ``mean_class_acc`` their mean;
    ``confusion[i][j]`` counts videos of class i predicted as j; ``loss`` is the mean NLL of the
    averaged scores; ``view_top1`` is the accuracy of single views (no averaging). The model's
    train/eval mode is restored.
    """
    check_int("batch_size", batch_size, min_value=1)
    check_int("num_workers", num_workers, min_value=0)
    device = get_device(device)
    dtype = _autocast_dtype(amp, device)
    n = len(dataset)
    if n == 0:
        raise ValueError("evaluate_views: the dataset is empty")
    video_of = getattr(dataset, "video_index", None)
    ids = torch.tensor([video_of(i) for i in range(n)] if callable(video_of) else range(n), dtype=torch.long)  # (N,)
    videos, view_to_video = torch.unique(ids, return_inverse=True)  # (V,), (N,) video ids -> 0..V-1
    num_videos = len(videos)
    num_classes = getattr(dataset, "num_classes", None)

    rank, world = get_rank(), get_world_size()
    mine = torch.arange(rank, n, world)  # every world-th view: all views once across ranks
    loader = DataLoader(Subset(dataset, mine.tolist()) if world > 1 else dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, pin_memory=device.type == "cuda")
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    was_training = model.training
    model.eval()
    sums = label_counts = None
    views = torch.zeros(num_videos, dtype=torch.float64)  # (V,)
    view_correct = 0
    pos = 0
    try:
        for x, y in loader:
            x = x.to(device, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last_3d)  # (B, C, T, H, W), NDHWC strides
            y = torch.as_tensor(y, dtype=torch.long)  # (B,) on CPU
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model(x)
            scores = F.softmax(logits.float(), dim=1).double().cpu()  # (B, K)
            if sums is None:
                num_classes = num_classes or scores.shape[1]
                if scores.shape[1] != num_classes:
                    raise ValueError(f"the model outputs {scores.shape[1]} classes but the dataset has "
                                     f"num_classes={num_classes}")
                sums = torch.zeros(num_videos, num_classes, dtype=torch.float64)  # (V, K)
                label_counts = torch.zeros(num_videos, num_classes, dtype=torch.float64)  # (V, K)
            if y.min() < 0 or y.max() >= num_classes:
                raise ValueError(f"labels must lie in [0, {num_classes}), got {y.min().item()}..{y.max().item()}")
            v = view_to_video[mine[pos: pos + len(y)]]  # (B,) video of each view
            pos += len(y)
            sums.index_add_(0, v, scores)
            views.index_add_(0, v, torch.ones(len(y), dtype=torch.float64))
            label_counts.index_put_((v, y), torch.ones(len(y), dtype=torch.float64), accumulate=True)
            view_correct += (scores.argmax(1) == y).sum().item()
    finally:
        model.train(was_training)
    if sums is None:  # this rank had no views (more ranks than views): still join the reduction
        num_classes = num_classes or _num_classes_of(model, dataset, device)
        sums = torch.zeros(num_videos, num_classes, dtype=torch.float64)
        label_counts = torch.zeros(num_videos, num_classes, dtype=torch.float64)
    if world > 1:
        vc = torch.tensor([float(view_correct)], dtype=torch.float64)
        for t in (sums, views, label_counts, vc):
            all_reduce_sum(t)  # in place (via the GPU under nccl)
        view_correct = int(vc.item())

    mean = sums / views[:, None]  # (V, K) averaged softmax scores
    labels = label_counts.argmax(1)  # (V,) majority label of each video's views (ties: lowest)
    conflicts = int(((label_counts > 0).sum(1) > 1).sum())
    if conflicts:
        logger.warning("%d video(s) have views with different labels (replaced unreadable videos?); "
                       "each uses its most frequent label", conflicts)
    k = min(5, num_classes)
    pred_k = mean.topk(k, dim=1).indices  # (V, k)
    correct = pred_k[:, 0] == labels
    confusion = torch.bincount(labels * num_classes + pred_k[:, 0], minlength=num_classes**2)
    confusion = confusion.view(num_classes, num_classes)  # (K, K) true x predicted
    support = confusion.sum(1)
    per_class = [None if s == 0 else confusion[i, i].item() / s.item() for i, s in enumerate(support)]
    supported = [a for a in per_class if a is not None]
    nll = -mean.gather(1, labels[:, None]).clamp_min(1e-12).log()  # (V, 1)
    per_video = views.long()
    return {
        "top1": correct.double().mean().item(),
        "top5": (pred_k == labels[:, None]).any(1).double().mean().item(),
        "mean_class_acc": sum(supported) / len(supported),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "loss": nll.mean().item(),
        "view_top1": view_correct / n,
        "videos": num_videos,
        "views": n,
        "views_per_video": (per_video[0].item() if bool((per_video == per_video[0]).all())
                            else {"min": per_video.min().item(), "max": per_video.max().item()}),
        "label_conflicts": conflicts,
        "num_classes": num_classes,
    }


@torch.no_grad()
def _num_classes_of(model: nn.Module, dataset: Dataset, device: torch.device) -> int:
    """Head size from one forward pass in eval mode (for a rank that got no views)."""
    was_training = model.training
    model.eval()
    try:
        x, _ = dataset[0]
        return model(x[None].to(device)).shape[1]  # (1, C, T, H, W) -> (1, K)
    finally:
        model.train(was_training)


def eval_file_name(clips: int, crops: int) -> str:
    """``eval_<clips>x<crops>.json``: where :func:`evaluate_run` writes the result inside the run dir."""
    return f"eval_{clips}x{crops}.json"


def resolve_views(cfg: TrainConfig, clips: int | None, crops: int | None) -> tuple[int, int, dict[str, Any]]:
    """(clips, crops, extra test-dataset kwargs) for the run's dataset (None: the default views)."""
    single = cfg.dataset in SINGLE_VIEW_DATASETS
    for name, value in (("clips", clips), ("crops", crops)):
        if value is not None and value < 1:
            raise ValueError(f"--{name} {value}: must be >= 1")
        if single and value not in (None, 1):
            raise ValueError(f"--{name} {value}: dataset {cfg.dataset!r} has one view per item; use --clips 1 --crops 1")
    if single:
        return 1, 1, {}
    clips = DEFAULT_VIEWS[0] if clips is None else clips
    crops = DEFAULT_VIEWS[1] if crops is None else crops
    return clips, crops, {"clips": clips, "crops": crops}


def evaluate_run(run_dir: str | os.PathLike, *, clips: int | None = None, crops: int | None = None,
                 batch_size: int | None = None, device: str = "auto", num_workers: int | None = None,
                 amp: bool | None = None) -> dict[str, Any]:
    """Multi-view test of the finished run in ``run_dir``; the result is also written to
    ``run_dir/eval_<clips>x<crops>.json`` by rank 0 (None arguments: the run's own settings).

    Under ``torchrun`` the process group is joined from the environment (left to the caller to close).
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise ValueError(f"--run-dir {run_dir}: no {CONFIG_FILE} there; "
                         "not a run directory of python -m actionrec.train")
    if not is_finished(run_dir):
        raise ValueError(f"--run-dir {run_dir}: the run is not finished (no {FINAL_FILE}); finish it first "
                         f"with python -m actionrec.train --resume {run_dir}")
    cfg = TrainConfig.from_run_dir(run_dir)
    clips, crops, view_kwargs = resolve_views(cfg, clips, crops)
    batch_size = cfg.batch_size if batch_size is None else batch_size
    num_workers = cfg.num_workers if num_workers is None else num_workers
    amp = cfg.amp if amp is None else amp
    device = init_from_env(device).device  # under torchrun: joins the process group, cuda:LOCAL_RANK
    rank = get_rank()

    t0 = time.time()
    model = load_model(run_dir, device=device)
    if cfg.dataset in ANNOTATIONS:  # a VideoDataset: unreadable videos from every worker and rank go to one file
        bad_file = run_dir / f"bad_videos_eval_{clips}x{crops}.jsonl"
        if rank == 0:
            bad_file.unlink(missing_ok=True)  # this evaluation's count, not the previous one's
        barrier()
        view_kwargs = dict(view_kwargs, failures_file=str(bad_file))
    ds = build_dataset(cfg.dataset, "test", **{**split_dataset_kwargs(cfg, "test"), **view_kwargs})
    out = evaluate_views(model, ds, batch_size=batch_size, device=device, num_workers=num_workers, amp=amp,
                         channels_last=bool(getattr(cfg, "channels_last", False)))
    dtype = _autocast_dtype(amp, device)
    failures = ds.failure_count() if hasattr(ds, "failure_count") else None
    result = {"run_dir": str(run_dir), "clips": clips, "crops": crops, **out, "bad_videos": failures,
              "classes": list(getattr(ds, "classes", None) or []) or None, "batch_size": batch_size,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "amp": str(dtype).replace("torch.", "") if dtype else None, "wall_s": time.time() - t0,
              "torch": str(torch.__version__), "config": cfg.to_dict()}
    path = run_dir / eval_file_name(clips, crops)
    if rank == 0:
        write_json(path, result)
    result["path"] = str(path)
    return result
