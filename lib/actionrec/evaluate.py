"""Multi-view testing of a finished run: ``python -m actionrec.evaluate --run-dir R [--clips 10 --crops 3]``.

The standard video protocol (Simonyan & Zisserman 2014; Wang et al. 2018 "Non-local Neural
Networks" §5; PySlowFast ``test_net.py``): each test video is seen as ``K`` uniformly spaced
temporal clips x ``C`` spatial crops ("views"), the network's softmax scores of its views are
averaged, and the video's prediction is the argmax of that mean::

    dataset item i = one view ─→ model ─→ logits (B, K) ─→ softmax ─→ scores (B, K)
      ─→ scores_sum[video_index(i)] += scores,  views[video_index(i)] += 1
      ─→ mean scores per video (V, K) ─→ video-level top-1 / top-5, per-class accuracy,
         confusion matrix, NLL of the mean scores

:func:`evaluate_views` works for any dataset: one whose items are views of videos exposes
``video_index(i)`` (``actionrec.data.videos.VideoDataset`` in test mode, built with
``build_dataset(name, "test", clips=K, crops=C, ...)``); otherwise every item is its own video
(SynthActions: one view per clip, so the numbers equal ``train.evaluate``'s on the same data).
A video's label is the most frequent label among its views (they agree unless a dataset replaced
an unreadable video by another one; such videos are counted in ``label_conflicts``).

Under ``torchrun`` (an initialised process group) each rank scores every ``world_size``-th view and
the per-video sums are all-reduced, so every rank returns the same numbers.

``main`` loads the run (``train.load_model``), rebuilds its test split with the given views,
writes ``R/eval_<clips>x<crops>.json`` atomically (rank 0) and prints a summary. Differences from
PySlowFast: scores are averaged as probabilities (PySlowFast sums, the same argmax) in float64.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

__all__ = ["evaluate_views", "main", "eval_file_name"]

logger = logging.getLogger(__name__)

# Datasets whose items are single clips (no test-time views): --clips/--crops must be 1.
_SINGLE_VIEW_DATASETS = ("synthactions",)
_DEFAULT_VIEWS = (10, 3)  # clips x crops of video datasets unless given (the common UCF/Kinetics protocol)


def eval_file_name(clips: int, crops: int) -> str:
    """``eval_<clips>x<crops>.json``: where ``main`` writes the result inside the run dir."""
    return f"eval_{clips}x{crops}.json"


def _amp_dtype(amp: bool | str | torch.dtype, device: torch.device) -> torch.dtype | None:
    """Autocast dtype on CUDA (train's rule: bf16 where supported, else fp16); None on CPU or amp off."""
    from .train import _amp_dtype as train_amp_dtype

    if device.type != "cuda" or amp is False or amp is None:
        return None
    if isinstance(amp, torch.dtype):
        return amp
    return train_amp_dtype(amp, device)


def _dist() -> tuple[int, int]:
    """(rank, world_size) of the initialised process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


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
    from .utils import get_device

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be an integer >= 1")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers={num_workers!r} must be an integer >= 0")
    device = get_device(device)
    dtype = _amp_dtype(amp, device)
    n = len(dataset)
    if n == 0:
        raise ValueError("evaluate_views: the dataset is empty")
    video_of = getattr(dataset, "video_index", None)
    ids = torch.tensor([video_of(i) for i in range(n)] if callable(video_of) else range(n), dtype=torch.long)  # (N,)
    videos, view_to_video = torch.unique(ids, return_inverse=True)  # (V,), (N,) video ids -> 0..V-1
    num_videos = len(videos)
    num_classes = getattr(dataset, "num_classes", None)

    rank, world = _dist()
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
        from .distributed import all_reduce_sum

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


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m actionrec.evaluate",
        description="Multi-view testing of a finished run: softmax scores of each test video's clips x crops "
                    "are averaged; video-level top-1/top-5, per-class accuracy and the confusion matrix are "
                    "written to RUN_DIR/eval_<clips>x<crops>.json.",
        epilog="example: python -m actionrec.evaluate --run-dir runs/mtnet64_ucf101_s1 --clips 10 --crops 3",
    )
    p.add_argument("--run-dir", required=True, metavar="DIR", help="a finished run of python -m actionrec.train")
    p.add_argument("--clips", type=int, default=None, metavar="K",
                   help=f"temporal clips per video (default {_DEFAULT_VIEWS[0]}; 1 for one-view datasets)")
    p.add_argument("--crops", type=int, default=None, choices=(1, 3),
                   help=f"spatial crops per clip (default {_DEFAULT_VIEWS[1]}; 1 for one-view datasets)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="views per batch (default: the run's)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present) | cpu | cuda | cuda:N")
    p.add_argument("--num-workers", type=int, default=None, metavar="N", help="DataLoader workers (default: the run's)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="autocast on CUDA (default: the run's amp setting)")
    p.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    return p


def _resolve(args: argparse.Namespace, cfg) -> tuple[int, int, dict[str, Any]]:
    """(clips, crops, extra test-dataset kwargs) for the run's dataset."""
    single = cfg.dataset in _SINGLE_VIEW_DATASETS
    for name in ("clips", "crops"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} {value}: must be >= 1")
        if single and value not in (None, 1):
            raise ValueError(f"--{name} {value}: dataset {cfg.dataset!r} has one view per item; use --clips 1 --crops 1")
    if single:
        return 1, 1, {}
    clips = _DEFAULT_VIEWS[0] if args.clips is None else args.clips
    crops = _DEFAULT_VIEWS[1] if args.crops is None else args.crops
    return clips, crops, {"clips": clips, "crops": crops}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate ``args.run_dir``; return the result (also written to ``eval_<clips>x<crops>.json`` by rank 0)."""
    from . import train
    from .data import build_dataset

    run_dir = Path(args.run_dir)
    if not (run_dir / train.CONFIG_FILE).is_file():
        raise ValueError(f"--run-dir {run_dir}: no {train.CONFIG_FILE} there; "
                         "not a run directory of python -m actionrec.train")
    if not train.is_finished(run_dir):
        raise ValueError(f"--run-dir {run_dir}: the run is not finished (no {train.FINAL_FILE}); finish it first "
                         f"with python -m actionrec.train --resume {run_dir}")
    cfg = train.TrainConfig.from_dict(json.loads((run_dir / train.CONFIG_FILE).read_text()))
    clips, crops, view_kwargs = _resolve(args, cfg)
    batch_size = cfg.batch_size if args.batch_size is None else args.batch_size
    num_workers = cfg.num_workers if args.num_workers is None else args.num_workers
    amp = cfg.amp if args.amp is None else args.amp
    from .distributed import init_from_env

    device = init_from_env(args.device).device  # under torchrun: joins the process group, cuda:LOCAL_RANK
    rank, _ = _dist()

    t0 = time.time()
    model = train.load_model(run_dir, device=device)
    from .data.annotations import ANNOTATIONS

    if cfg.dataset in ANNOTATIONS:  # a VideoDataset: unreadable videos from every worker and rank go to one file
        bad_file = run_dir / f"bad_videos_eval_{clips}x{crops}.jsonl"
        if rank == 0:
            bad_file.unlink(missing_ok=True)  # this evaluation's count, not the previous one's
        from .distributed import barrier

        barrier()
        view_kwargs = dict(view_kwargs, failures_file=str(bad_file))
    ds = build_dataset(cfg.dataset, "test", **{**train._dataset_kwargs(cfg, "test"), **view_kwargs})
    out = evaluate_views(model, ds, batch_size=batch_size, device=device, num_workers=num_workers, amp=amp,
                         channels_last=bool(getattr(cfg, "channels_last", False)))
    dtype = _amp_dtype(amp, device)
    failures = ds.failure_count() if hasattr(ds, "failure_count") else None
    result = {"run_dir": str(run_dir), "clips": clips, "crops": crops, **out, "bad_videos": failures,
              "classes": list(getattr(ds, "classes", None) or []) or None, "batch_size": batch_size,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "amp": str(dtype).replace("torch.", "") if dtype else None, "wall_s": time.time() - t0,
              "torch": str(torch.__version__), "config": cfg.to_dict()}
    path = run_dir / eval_file_name(clips, crops)
    if rank == 0:
        train._write_json(path, result)
    result["path"] = str(path)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.evaluate``: exit 0 done, 1 rejected input (one line on stderr), 2 bad flags."""
    from .distributed import cleanup

    args = build_parser().parse_args(argv)
    had_group = torch.distributed.is_available() and torch.distributed.is_initialized()
    try:
        r = run(args)
    except (ValueError, FileNotFoundError, NotADirectoryError) as e:
        if args.traceback:
            raise
        print(f"error: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}", file=sys.stderr)
        return 1
    finally:
        if not had_group:
            cleanup()  # leave the process group run() joined under torchrun
    if int(os.environ.get("RANK", "0")) == 0:
        per_video = r["views_per_video"]
        print(f"{r['videos']} videos x {per_video} views ({r['clips']} clips x {r['crops']} crops): "
              f"video top-1 {r['top1']:.4f}  top-5 {r['top5']:.4f}  mean class acc {r['mean_class_acc']:.4f}  "
              f"(single view top-1 {r['view_top1']:.4f}), {r['wall_s']:.0f} s")
        if r["label_conflicts"] or r["bad_videos"]:
            print(f"warning: {r['bad_videos']} unreadable video(s) replaced, {r['label_conflicts']} video(s) with "
                  "mixed view labels")
        print(f"written: {r['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
