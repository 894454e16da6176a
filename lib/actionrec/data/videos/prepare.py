"""Pre-decoding: decode every video of a dataset once into the frame cache (:mod:`.frame_cache`).

``python -m actionrec.data.prepare --dataset ucf101 --data-root R --out C`` (the CLI is
``actionrec.cli.prepare_main``) or :func:`prepare_cache` reads the dataset's annotation files,
decodes every listed video with :mod:`.video_io`, resizes its shorter side to ``short_side`` with
the dataset's own resize (:func:`.spatial.resize_short_side`, antialiased bilinear on uint8) and
appends the frames to memory-mappable shards. A ``VideoDataset(cache_dir=C)`` then reads its clips
from the shards and samples, crops, flips and normalises exactly as it does from the videos.

Data flow (one video; ``workers`` > 0 runs this part in worker processes, results are written in
list order, so the shards are the same whatever the worker count)::

    VideoRecord ─→ probe: VideoInfo (n frames, fps, H x W)
      ─→ frames a .. b-1 (all n; a record's start/end window for untrimmed Kinetics, as the dataset)
      ─→ read_frames(range(lo, hi))  uint8 (t, H, W, 3)   in chunks of <= decode_mb MiB of RGB
      ─→ (t, 3, H, W) ─→ resize_short_side(short_side) ─→ (t, h, w, 3)    only when min(H, W) > short_side
      ─→ appended to the open shard; the shard is closed when the next video would pass shard_size_mb
    every video done ─→ problems.jsonl ─→ index.json (written last)

Resuming: a rerun decodes only the videos not in finished shards (unreadable ones are tried
again); a rerun with nothing new writes nothing. A cache records its ``short_side`` and dataset and
refuses to be extended with others. Exactness: frames are stored at the size the dataset would
resize them to, with the same function, and smaller videos unresized, so a dataset whose
``short_side`` equals the cache's gets bit-identical clips from the cache and from decoding
(tested); another ``short_side`` is resized again from the cached frames (close, not identical).

Bad input: a listed video missing on disk, an unknown class or a file that fails to decode is not
cached; it is listed by path and reason in ``problems.jsonl`` and the returned dict, and a
``VideoDataset(cache_dir=C)`` reports it. ``strict=True`` raises at the first one. A file that
stops at most ``max(2, 2%)`` frames before its header's count is cached with the missing tail
holding its last decoded frame, as the dataset reads it (listed with stage "short").

Departures: PySlowFast and MMAction2 decode on the fly, or (MMAction2) read JPEG frames extracted
beforehand (one file per frame, JPEG-decoded and resized at read time). We store raw resized uint8
in a few large memory-mapped files: no decoding at read time, no millions of small files, at the
cost of disk (raw uint8 at short side 128 is about 66 kB per 4:3 frame).
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ...utils.checks import check_float, check_int
from ...utils.io import atomic_write_bytes, json_bytes
from .annotations import ANNOTATION_KWARGS, ANNOTATIONS, annotate
from .frame_cache import FORMAT, VERSION, ShardWriter, cache_lock, check_cache_params, finished_shards
from .records import VideoRecord
from .sampling import frame_window, tail_tolerance
from .spatial import resize_short_side
from .video_io import VideoReadError, probe, read_frames

__all__ = ["DEFAULT_SUBSETS", "decode_for_cache", "prepare_cache"]

logger = logging.getLogger(__name__)

#: Subsets prepared when none are given (Kinetics' test csv is rarely public; SSv2's test has no labels).
DEFAULT_SUBSETS: dict[str, tuple[str, ...] | None] = {
    "ucf101": ("train", "test"),
    "hmdb51": ("train", "test"),
    "kinetics": ("train", "val"),
    "ssv2": ("train", "val"),
    "folder": None,  # the subset folders present (train / val / validation / test), else the root itself
}


def _resized(frames: torch.Tensor, short_side: int | None) -> np.ndarray:
    """uint8 (t, H, W, 3) -> (t, h, w, 3) NumPy, shorter side ``short_side`` (never upsampled)."""
    if short_side is not None and min(frames.shape[1:3]) > short_side:
        x = frames.permute(0, 3, 1, 2)  # (t, H, W, 3) -> (t, 3, H, W), channels-last in memory
        x = resize_short_side(x, short_side)  # (t, 3, h, w), channels-last uint8: the dataset's resize
        frames = x.permute(0, 2, 3, 1)  # (t, 3, h, w) -> (t, h, w, 3): contiguous again
    return np.ascontiguousarray(frames.numpy())


def decode_for_cache(record: VideoRecord, *, short_side: int | None = 128,
                     decode_mb: float = 256) -> tuple[np.ndarray, dict[str, Any]]:
    """The frames the cache stores for ``record``: uint8 ``(frames, h, w, 3)`` and its index entry.

    Frames ``a .. b-1`` (the whole video, or the record's start/end window), shorter side resized
    to ``short_side`` when larger (``None``: original size), read with ``read_frames`` in chunks of
    at most ``decode_mb`` MiB of RGB (one seek each: a long untrimmed 1080p video never sits in
    memory whole). The entry holds ``num_frames``, ``fps`` (the file's), ``first_frame`` (a),
    ``frames`` (b - a) and ``padded`` (tail frames that hold the last decoded one, module
    docstring). Raises :class:`VideoReadError` for a file that cannot be cached.
    """
    path = os.fspath(record.path)
    info = probe(path)
    a, b = frame_window(record, info)
    chunk = max(16, int(decode_mb * 2**20) // max(1, info.width * info.height * 3))
    parts: list[np.ndarray] = []
    pos, padded = a, 0
    while pos < b:
        hi = min(pos + chunk, b)
        try:
            parts.append(_resized(read_frames(path, range(pos, hi), info=info), short_side))
            pos = hi
            continue
        except VideoReadError as e:
            last = e.last_index if e.last_index is not None else -1
            if last < 0 or info.num_frames - (last + 1) > tail_tolerance(info.num_frames):
                raise
            error = e
        # the file stops a few frames before its header's count: the dataset holds the last frame
        if last >= pos:
            parts.append(_resized(read_frames(path, range(pos, last + 1), info=info), short_side))
        if not parts:
            raise error
        padded = b - a - sum(len(p) for p in parts)
        parts.append(np.repeat(parts[-1][-1:], padded, axis=0))  # (padded, h, w, 3)
        break
    frames = np.concatenate(parts) if len(parts) > 1 else parts[0]
    entry = {"num_frames": info.num_frames, "fps": info.fps, "first_frame": a, "frames": b - a, "padded": padded}
    return frames, entry


@dataclass(frozen=True)
class _Task:
    record: VideoRecord
    subset: str | None
    rel: str  # path relative to the data root (posix)


def _work(task: _Task, short_side: int | None, decode_mb: float) -> tuple[_Task, np.ndarray | None, dict | None, str | None]:
    """decode_for_cache for one task -> (task, frames, entry, None) or (task, None, None, reason)."""
    try:
        frames, entry = decode_for_cache(task.record, short_side=short_side, decode_mb=decode_mb)
        return task, frames, entry, None
    except VideoReadError as e:
        return task, None, None, e.reason or str(e)
    except Exception as e:  # noqa: BLE001  an unexpected failure of one file must not end hours of work
        return task, None, None, f"unexpected error: {type(e).__name__}: {e}"


def _worker_init() -> None:
    torch.set_num_threads(1)  # parallelism comes from the processes


def _results(tasks: Sequence[_Task], workers: int, short_side: int | None, decode_mb: float,
             mp_context: str | None) -> Iterator[tuple[_Task, np.ndarray | None, dict | None, str | None]]:
    """_work over ``tasks``, in order; ``workers`` > 0: that many processes, 2 tasks in flight per worker."""
    if workers == 0:
        for t in tasks:
            yield _work(t, short_side, decode_mb)
        return
    ctx = multiprocessing.get_context(mp_context)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    pending: deque = deque()
    it = iter(tasks)
    ok = False
    try:
        for t in it:
            pending.append(pool.submit(_work, t, short_side, decode_mb))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().result()
            for t in it:  # keep the pipeline full
                pending.append(pool.submit(_work, t, short_side, decode_mb))
                break
            yield result
        ok = True
    finally:
        pool.shutdown(wait=ok, cancel_futures=not ok)


def _subsets(dataset: str, root: Path, subsets: Sequence[str | None] | None) -> list[str | None]:
    if subsets is not None:
        subsets = list(subsets)
        if not subsets:
            raise ValueError("subsets is empty; pass at least one subset (e.g. --subsets train test)")
        return subsets
    if dataset == "folder":
        found = [s for s in ("train", "val", "validation", "test") if (root / s).is_dir()]
        return found or [None]
    return list(DEFAULT_SUBSETS[dataset])


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()


def _problem(subset: str | None, path: str, reason: str, stage: str, video_id: str | None = None) -> dict:
    return {"subset": subset, "video_id": video_id, "path": str(path), "reason": reason, "stage": stage}


def prepare_cache(dataset: str, data_root: str | os.PathLike, out: str | os.PathLike, *, fold: int = 1,
                  subsets: Sequence[str | None] | None = None, short_side: int | None = 128,
                  shard_size_mb: float = 1024, workers: int = 0, strict: bool = False,
                  progress: bool = False, decode_mb: float = 256, mp_context: str | None = None,
                  annotation_kwargs: dict | None = None) -> dict:
    """Decode the videos of ``dataset`` under ``data_root`` once into a frame cache in ``out``.

    Args:
        dataset: a key of ``annotations.ANNOTATIONS`` ("ucf101", "hmdb51", "kinetics", "ssv2", "folder").
        fold: the official split (ucf101, hmdb51; its train + test lists hold every video either way).
        subsets: annotation subsets to cache (default ``DEFAULT_SUBSETS[dataset]``).
        short_side: shorter side of the stored frames (never upsampled); ``None`` keeps the original
            size. A cache keeps one value: extending it with another raises ``ValueError``.
        shard_size_mb: a shard is closed before it would pass this size (a larger video gets one alone).
        workers: decoding processes (0: in this process). mp_context: their start method (None:
            multiprocessing's default).
        strict: raise at the first problem (annotation or decoding) instead of listing it.
        progress: a tqdm bar. decode_mb: RGB MiB decoded per ``read_frames`` call (memory per worker).
        annotation_kwargs: parser options (``annotation_dir``, ``csv``, ``labels_json``, ``split_json``).

    Returns a dict: ``out``, ``videos`` (in the cache), ``new`` (decoded now), ``already_cached``,
    ``frames``, ``bytes`` (shards), ``shards``, ``problems`` (list of dicts: path, reason, stage,
    subset, video_id; also in ``out/problems.jsonl``), ``seconds``, ``dataset``, ``short_side``.
    """
    t_start = time.perf_counter()
    if dataset not in ANNOTATIONS:
        raise ValueError(f"unknown dataset {dataset!r} (--dataset); valid names: {', '.join(sorted(ANNOTATIONS))}")
    check_int("short_side", short_side, min_value=1, optional=True)  # None: original size (--short-side 0)
    check_float("shard_size_mb", shard_size_mb, positive=True)
    check_float("decode_mb", decode_mb, positive=True)
    check_int("workers", workers, min_value=0)  # 0: decode in this process
    ann_kwargs = dict(annotation_kwargs or {})
    stray = sorted(set(ann_kwargs) - set(ANNOTATION_KWARGS[dataset]))
    if stray:
        raise ValueError(f"{stray} do(es) not apply to dataset {dataset!r}; its annotation options: "
                         f"{ANNOTATION_KWARGS[dataset]}")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root={str(root)!r} (--data-root) is not a folder; pass the folder that "
                                f"holds the {dataset} videos")
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    subset_list = _subsets(dataset, root, subsets)

    with cache_lock(out):
        shards = finished_shards(out)
        old_index = check_cache_params(out, dataset, short_side, shards)
        cached: dict[str, dict] = {}
        for k in sorted(shards):
            cached.update(shards[k]["videos"])

        # -- what to decode -------------------------------------------------------------------
        problems: list[dict] = []
        tasks: list[_Task] = []
        seen: dict[str, str] = {}  # video_id -> rel path
        for subset in subset_list:
            ann = annotate(dataset, root, subset, fold=fold, **ann_kwargs)
            for p in ann.problems:
                problems.append(_problem(subset, p.path, p.reason, "annotation"))
            for r in ann.records:
                rel = _rel(r.path, root)
                if r.video_id in seen:
                    if seen[r.video_id] != rel:  # the cache is keyed by video_id
                        problems.append(_problem(subset, str(r.path), f"video_id {r.video_id!r} already names "
                                                 f"{seen[r.video_id]}; not cached", "annotation", r.video_id))
                    continue
                seen[r.video_id] = rel
                old = cached.get(r.video_id)
                if old is not None and old.get("path", rel) != rel:
                    problems.append(_problem(subset, str(r.path), f"video_id {r.video_id!r} is cached for "
                                             f"{old.get('path')}; not cached", "annotation", r.video_id))
                    continue
                tasks.append(_Task(r, subset, rel))
        if strict and problems:
            p = problems[0]
            raise VideoReadError(p["path"], f"{p['reason']} (1 of {len(problems)} problems; strict=True raises)")
        todo = [t for t in tasks if t.record.video_id not in cached]
        params = {"format": FORMAT, "version": VERSION, "dataset": dataset, "short_side": short_side}

        # -- decode and write -------------------------------------------------------------------
        limit = int(shard_size_mb * 2**20)
        next_k = max(shards, default=-1) + 1
        writer: ShardWriter | None = None
        new = 0
        bar = tqdm(total=len(todo), unit="video", desc=f"prepare {dataset}", disable=not progress, dynamic_ncols=True)
        results = _results(todo, workers, short_side, decode_mb, mp_context)
        try:
            for task, frames, entry, reason in results:
                bar.update(1)
                if reason is not None:
                    problems.append(_problem(task.subset, str(task.record.path), reason, "decode", task.record.video_id))
                    bar.set_postfix(shards=len(shards), problems=len(problems), refresh=False)
                    if strict:
                        raise VideoReadError(task.record.path, reason)
                    continue
                if entry["padded"]:
                    problems.append(_problem(task.subset, str(task.record.path), (
                        f"short: header says {entry['num_frames']} frames, decoding stops {entry['padded']} early "
                        "(last frame held, as the dataset reads it); cached"), "short", task.record.video_id))
                if writer is not None and writer.nbytes + frames.nbytes > limit:
                    shards[writer.k] = writer.finish(params)
                    writer = None
                if writer is None:
                    writer = ShardWriter(out, next_k)
                    next_k += 1
                writer.add(task.record.video_id, frames, {**entry, "path": task.rel})
                new += 1
                bar.set_postfix(shards=len(shards), problems=len(problems), refresh=False)
            if writer is not None:
                shards[writer.k] = writer.finish(params)
                writer = None
        finally:
            results.close()  # stops the worker processes now (an exception's traceback would keep them)
            if writer is not None:
                writer.abort()  # an unfinished shard never stays on disk
            bar.close()

        # -- problems.jsonl, then index.json (last) ------------------------------------------------
        done = set(subset_list)
        old_problems = []
        if (out / "problems.jsonl").is_file():
            for line in (out / "problems.jsonl").read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    e = json.loads(line)
                    if e.get("subset") not in done:  # another run's subsets: kept
                        old_problems.append(e)
        all_problems = old_problems + problems
        text = "".join(json.dumps(p, sort_keys=True) + "\n" for p in all_problems).encode()
        if not (out / "problems.jsonl").is_file() or (out / "problems.jsonl").read_bytes() != text:
            atomic_write_bytes(out / "problems.jsonl", text)

        videos: dict[str, dict] = {}
        for k in sorted(shards):
            videos.update(shards[k]["videos"])
        index = {
            **params,
            "subsets": sorted({*(old_index or {}).get("subsets", []), *[str(s) for s in subset_list]}),
            "folds": sorted({*(old_index or {}).get("folds", []), fold}) if dataset in ("ucf101", "hmdb51") else [],
            "data_root": str(root.resolve()),
            "shards": {m["shard"]: {"layout": m["layout"], "shape": m["shape"], "videos": len(m["videos"])}
                       for _, m in sorted(shards.items())},
            "num_videos": len(videos),
            "num_frames": sum(int(e["frames"]) for e in videos.values()),
            "videos": videos,
        }
        if old_index != index:
            atomic_write_bytes(out / "index.json", json_bytes(index, sort_keys=True))

    nbytes = sum(int(m["bytes"]) for m in shards.values())
    result = {"out": str(out), "dataset": dataset, "short_side": short_side, "videos": len(videos), "new": new,
              "already_cached": len(tasks) - len(todo), "frames": index["num_frames"], "bytes": nbytes,
              "shards": len(shards), "problems": all_problems, "seconds": time.perf_counter() - t_start}
    if problems:
        logger.warning("%d video(s) not cached or held (%s):\n%s", len(problems), out / "problems.jsonl",
                       "\n".join(f"  {p['path']}: {p['reason']}" for p in problems[:20]))
    return result
