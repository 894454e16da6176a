"""Pre-decoding cache: decode every video of a dataset once, store resized uint8 frames in shards.

What it does
------------
``python -m actionrec.data.prepare --dataset ucf101 --data-root R --out C`` (or
:func:`prepare_cache`) reads the dataset's annotation files (:mod:`actionrec.data.annotations`),
decodes every listed video with :mod:`actionrec.data.video_io`, resizes its shorter side to
``--short-side`` with the dataset's own resize (:func:`actionrec.data.videos.resize_short_side`,
antialiased bilinear on uint8) and appends the frames to memory-mappable NumPy shards. A
:class:`~actionrec.data.videos.VideoDataset` built with ``cache_dir=C`` then reads its clips from
the shards (``np.load(mmap_mode="r")``: a clip is a gather of T rows, no decoding) and samples,
crops, flips and normalises exactly as it does from the videos.

Data flow (one video; ``workers`` > 0 runs this part in worker processes, results are written in
list order, so the shards are the same whatever the worker count)::

    VideoRecord ─→ probe: VideoInfo (n frames, fps, H x W)
      ─→ frames a .. b-1 (all n; a record's start/end window for untrimmed Kinetics, as the dataset)
      ─→ read_frames(range(lo, hi))  uint8 (t, H, W, 3)   in chunks of <= decode_mb MiB of RGB
      ─→ (t, 3, H, W) ─→ resize_short_side(short_side) ─→ (t, h, w, 3)    only when min(H, W) > short_side
      ─→ appended to the open shard (a temp file); the shard is closed when the next video would
         pass shard_size_mb
    every video done ─→ problems.jsonl ─→ index.json (written last)

On disk (``C/``)::

    shard_00000.npy   uint8 (N, h, w, 3) when all its frames have one size (UCF-101, HMDB-51 resized:
                      always), else flat uint8 (bytes,); a 128-byte .npy header, then the frames
    shard_00000.json  the shard's entries (written after its .npy is complete: what resuming trusts)
    index.json        {"format", "version", "dataset", "short_side", "subsets", "folds", "data_root",
                       "shards": {name: {"layout", "shape", "videos"}},
                       "videos": {video_id: {"shard", "offset", "num_frames", "fps", "height",
                                             "width", "first_frame", "frames", "path"}}}
    problems.jsonl    one JSON line per video not cached (annotation problem or unreadable file:
                      "path", "reason", "stage", "subset", "video_id") or cached with a held tail
                      ("stage": "short")

An entry's ``offset`` is the video's first row of a 4-D shard (or its first byte of a flat one);
``num_frames`` and ``fps`` are the file's (so the dataset's sampling sees the same video);
``first_frame`` / ``frames`` say which frames are stored (all of them, except for records with a
time window: only the window); ``path`` is relative to the data root (:class:`FrameCache` checks
it, so a video_id shared by two files never serves the wrong one).

Atomicity and resuming: a shard is written to ``shard_K.npy.tmp``, fsynced and renamed
(``os.replace``) before its ``.json`` is written the same way; ``index.json`` is written last, so
an interrupted run never leaves a cache that looks complete (a cache extended by a second run
keeps its previous, consistent index until the new one replaces it). A rerun trusts only shards
whose ``.json`` exists and whose ``.npy`` has the recorded size, deletes leftover temp files and
decodes only the videos not in them (unreadable videos are tried again). A rerun with nothing new
writes nothing. A cache records its ``short_side`` and dataset and refuses to be extended with
others. One process at a time (``C/.lock``).

Exactness: frames are stored at the size the dataset would resize them to, with the same
function, and smaller videos are stored unresized, so a dataset whose ``short_side`` equals the
cache's (or whose videos are smaller) gets bit-identical clips from the cache and from decoding
(tested). Another ``short_side`` is resized again from the cached frames (close, not identical),
so prepare at the largest short side you train with (the ``hi`` of a ``(lo, hi)`` scale jitter);
three-crop testing resizes to ``size``, again from the cache.

Bad input: a listed video missing on disk, an unknown class (from the parser), a file that fails to
decode (every ``VideoReadError`` reason: unreadable, zero frames, truncated or corrupt before the
end) is not cached; it is listed by path and reason in ``problems.jsonl``, in the returned dict
and the CLI's summary, never dropped silently, and a ``VideoDataset(cache_dir=C)`` reports it
("not in the frame cache C (prepare: <reason>)"). ``strict=True`` raises at the first one. A
file that stops at most ``max(2, 2%)`` frames before its header's count is cached with the missing
tail holding its last decoded frame, as the dataset reads it (listed with stage "short").

Size: raw uint8 is large. At ``short_side=128`` a 4:3 frame is 171 x 128 x 3 = 66 kB, so UCF-101
(~2.5 M frames) takes ~160 GB, HMDB-51 (~0.64 M) ~42 GB (at 112: 125 / 32 GB); the source videos are
6.5 / 2 GB. Reading a 16-frame clip is a ~1 MB gather (page cache or SSD) instead of a seek plus up
to a GOP of decoding (``benchmarks/video_decode.py`` measures both against a model's consumption).

Departures: PySlowFast and MMAction2 decode on the fly (``PyAVDecode``/``DecordDecode``) or, in
MMAction2, read JPEG frames extracted beforehand (``tools/data/build_rawframes.py``: one file per
frame, ``RawFrameDecode``, which still JPEG-decodes every frame of every clip and resizes at read
time). We store raw resized uint8 in a few large memory-mapped files: no decoding at read time,
no millions of small files, at the cost of disk (above).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import re
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from .annotations import ANNOTATIONS, Annotation, VideoRecord
from .video_io import VideoReadError, probe, read_frames
from .videos import _ANNOTATION_KWARGS, _tail_tolerance, frame_window, resize_short_side

__all__ = [
    "FORMAT",
    "VERSION",
    "DEFAULT_SUBSETS",
    "decode_for_cache",
    "prepare_cache",
    "main",
]

logger = logging.getLogger(__name__)

FORMAT = "actionrec-frame-cache"
VERSION = 1
#: Subsets prepared when none are given (Kinetics' test csv is rarely public; SSv2's test has no labels).
DEFAULT_SUBSETS: dict[str, tuple[str, ...] | None] = {
    "ucf101": ("train", "test"),
    "hmdb51": ("train", "test"),
    "kinetics": ("train", "val"),
    "ssv2": ("train", "val"),
    "folder": None,  # the subset folders present (train / val / validation / test), else the root itself
}
HEADER_BYTES = 128  # fixed .npy header (v1.0) so frames can be streamed in before the shape is known
_SHARD_RE = re.compile(r"^shard_(\d{5,})\.(npy|json)$")


# ------------------------------------------------------------------------------------------------
# Decoding one video (runs in worker processes)
# ------------------------------------------------------------------------------------------------


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
            if last < 0 or info.num_frames - (last + 1) > _tail_tolerance(info.num_frames):
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
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

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


# ------------------------------------------------------------------------------------------------
# Files: atomic writes, shards, the lock
# ------------------------------------------------------------------------------------------------


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform / filesystem can open a directory
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def _npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header for uint8 C-order ``shape``, padded to exactly HEADER_BYTES."""
    d = "{'descr': '|u1', 'fortran_order': False, 'shape': %r, }" % (tuple(int(s) for s in shape),)
    body = d.ljust(HEADER_BYTES - 10 - 1) + "\n"
    if len(body) != HEADER_BYTES - 10:
        raise ValueError(f"shard shape {shape} does not fit a {HEADER_BYTES}-byte header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


def _shard_name(k: int, ext: str) -> str:
    return f"shard_{k:05d}.{ext}"


class _ShardWriter:
    """One shard being written: frames streamed into ``shard_K.npy.tmp`` after a reserved header."""

    def __init__(self, out: Path, k: int):
        self.out, self.k = out, k
        self.name = _shard_name(k, "npy")
        self.tmp = out / (self.name + ".tmp")
        self.f = open(self.tmp, "wb")  # noqa: SIM115  closed in finish() / abort()
        self.f.write(b"\0" * HEADER_BYTES)
        self.nbytes = 0
        self.frames = 0
        self.entries: dict[str, dict] = {}
        self.sizes: set[tuple[int, int]] = set()

    def add(self, video_id: str, frames: np.ndarray, entry: dict) -> None:
        n, h, w, _ = frames.shape
        self.entries[video_id] = {**entry, "shard": self.name, "offset": self.nbytes, "height": h, "width": w}
        self.f.write(np.ascontiguousarray(frames).data)
        self.nbytes += frames.nbytes
        self.frames += n
        self.sizes.add((h, w))

    def finish(self, params: dict) -> dict:
        """Header, fsync, rename, then the shard's .json; returns that json's content."""
        if len(self.sizes) == 1:  # (N, h, w, 3): offsets in rows
            (h, w), = self.sizes
            shape: tuple[int, ...] = (self.frames, h, w, 3)
            for e in self.entries.values():
                e["offset"] //= h * w * 3
            layout = "frames"
        else:  # flat bytes: offsets in bytes, each entry has its height / width
            shape, layout = (self.nbytes,), "flat"
        self.f.seek(0)
        self.f.write(_npy_header(shape))
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.out / self.name)
        _fsync_dir(self.out)
        meta = {**params, "shard": self.name, "layout": layout, "shape": list(shape),
                "bytes": HEADER_BYTES + self.nbytes, "videos": self.entries}
        _atomic_write(self.out / _shard_name(self.k, "json"), _json_bytes(meta))
        return meta

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()
        with contextlib.suppress(OSError):
            os.remove(self.tmp)


@contextlib.contextmanager
def _lock(out: Path):
    """An exclusive lock on ``out/.lock`` (released by the OS if the process dies)."""
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(out / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another prepare is writing to {str(out)!r} (it holds {out / '.lock'}); "
                               "wait for it to finish or pass another --out") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _finished_shards(out: Path) -> dict[int, dict]:
    """Shard index -> its .json content, for every complete shard; removes temp files and orphans."""
    for p in out.glob("*.tmp"):
        if _SHARD_RE.match(p.name[:-4]) or p.name in ("index.json.tmp", "problems.jsonl.tmp"):
            p.unlink(missing_ok=True)  # an interrupted write
    done: dict[int, dict] = {}
    for p in sorted(out.glob("shard_*.json")):
        m = _SHARD_RE.match(p.name)
        if not m:
            continue
        npy = out / _shard_name(int(m.group(1)), "npy")
        try:
            meta = json.loads(p.read_text(encoding="utf-8"))
            ok = npy.is_file() and npy.stat().st_size == int(meta["bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if ok:
            done[int(m.group(1))] = meta
        else:
            logger.warning("shard %s is incomplete (interrupted?); its videos are decoded again", npy.name)
            p.unlink(missing_ok=True)
            npy.unlink(missing_ok=True)
    for p in out.glob("shard_*.npy"):  # renamed but its .json never written: an interrupted finish
        m = _SHARD_RE.match(p.name)
        if m and int(m.group(1)) not in done:
            p.unlink(missing_ok=True)
    return done


# ------------------------------------------------------------------------------------------------
# The cache
# ------------------------------------------------------------------------------------------------


def _check_params(out: Path, dataset: str, short_side: int | None, shards: dict[int, dict]) -> dict | None:
    """The existing index.json (if any); raises if the cache was made with another short side / dataset."""
    index = None
    if (out / "index.json").is_file():
        try:
            index = json.loads((out / "index.json").read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{out / 'index.json'} is not valid JSON ({e}); delete it and rerun to rebuild it "
                             "from the shards") from None
    olds = ([index] if index is not None else []) + list(shards.values())
    for old in olds:
        if old.get("format", FORMAT) != FORMAT or old.get("version", VERSION) != VERSION:
            raise ValueError(f"{str(out)!r} holds a cache of format {old.get('format')!r} version {old.get('version')!r}; "
                             f"this is {FORMAT!r} version {VERSION}: pass another --out")
        if "short_side" in old and old["short_side"] != short_side:
            def flag(s):
                return f"--short-side {s if s is not None else 0}"
            raise ValueError(
                f"{flag(short_side)} (short_side={short_side!r}) differs from the cache in {str(out)!r}, made with "
                f"{flag(old['short_side'])}: pass {flag(old['short_side'])} to extend it, or another --out for a "
                "new cache")
        if "dataset" in old and old["dataset"] != dataset:
            raise ValueError(f"--dataset {dataset} differs from the cache in {str(out)!r}, made for --dataset "
                             f"{old['dataset']}: pass another --out")
    return index


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


def _annotate(dataset: str, root: Path, subset: str | None, fold: int, kwargs: dict) -> Annotation:
    if dataset in ("ucf101", "hmdb51"):
        return ANNOTATIONS[dataset](root, fold=fold, subset=subset, **kwargs)
    if fold != 1:
        raise ValueError(f"fold={fold!r}: {dataset} has one official split; --fold applies to ucf101 and hmdb51")
    return ANNOTATIONS[dataset](root, subset=subset, **kwargs)


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
    if short_side is not None and (isinstance(short_side, bool) or not isinstance(short_side, int) or short_side < 1):
        raise ValueError(f"short_side={short_side!r} (--short-side) must be an int >= 1 (or None / 0: original size)")
    if not shard_size_mb > 0:
        raise ValueError(f"shard_size_mb={shard_size_mb!r} (--shard-size-mb) must be > 0")
    if not decode_mb > 0:
        raise ValueError(f"decode_mb={decode_mb!r} (--decode-mb) must be > 0")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers={workers!r} (--workers) must be an int >= 0 (0: decode in this process)")
    ann_kwargs = dict(annotation_kwargs or {})
    stray = sorted(set(ann_kwargs) - set(_ANNOTATION_KWARGS[dataset]))
    if stray:
        raise ValueError(f"{stray} do(es) not apply to dataset {dataset!r}; its annotation options: "
                         f"{_ANNOTATION_KWARGS[dataset]}")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root={str(root)!r} (--data-root) is not a folder; pass the folder that "
                                f"holds the {dataset} videos")
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    subset_list = _subsets(dataset, root, subsets)

    with _lock(out):
        shards = _finished_shards(out)
        old_index = _check_params(out, dataset, short_side, shards)
        cached: dict[str, dict] = {}
        for k in sorted(shards):
            cached.update(shards[k]["videos"])

        # -- what to decode -------------------------------------------------------------------
        problems: list[dict] = []
        tasks: list[_Task] = []
        seen: dict[str, str] = {}  # video_id -> rel path
        for subset in subset_list:
            ann = _annotate(dataset, root, subset, fold, ann_kwargs)
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
        from tqdm.auto import tqdm  # noqa: PLC0415

        limit = int(shard_size_mb * 2**20)
        next_k = max(shards, default=-1) + 1
        writer: _ShardWriter | None = None
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
                    writer = _ShardWriter(out, next_k)
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
            _atomic_write(out / "problems.jsonl", text)

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
            _atomic_write(out / "index.json", _json_bytes(index))

    nbytes = sum(int(m["bytes"]) for m in shards.values())
    result = {"out": str(out), "dataset": dataset, "short_side": short_side, "videos": len(videos), "new": new,
              "already_cached": len(tasks) - len(todo), "frames": index["num_frames"], "bytes": nbytes,
              "shards": len(shards), "problems": all_problems, "seconds": time.perf_counter() - t_start}
    if problems:
        logger.warning("%d video(s) not cached or held (%s):\n%s", len(problems), out / "problems.jsonl",
                       "\n".join(f"  {p['path']}: {p['reason']}" for p in problems[:20]))
    return result


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m actionrec.data.prepare",
        description="Decode every video of a dataset once into a memory-mapped frame cache "
                    "(read it with VideoDataset(cache_dir=OUT) / dataset_kwargs={'cache_dir': OUT}).")
    ap.add_argument("--dataset", required=True, choices=sorted(ANNOTATIONS))
    ap.add_argument("--data-root", required=True, help="the folder holding the dataset's videos and annotations")
    ap.add_argument("--out", required=True, help="cache folder (created; an existing cache is extended / resumed)")
    ap.add_argument("--fold", type=int, default=1, help="official split (ucf101, hmdb51)")
    ap.add_argument("--subsets", nargs="+", default=None,
                    help="annotation subsets (default: " + "; ".join(
                        f"{k} {' '.join(v) if v else 'the subset folders'}" for k, v in DEFAULT_SUBSETS.items())
                    + "; folder: 'none' = the root's class folders)")
    ap.add_argument("--short-side", type=int, default=128,
                    help="shorter side of the stored frames, never upsampled (0: original size); use the "
                         "dataset's short_side (the hi of a jitter range)")
    ap.add_argument("--shard-size-mb", type=float, default=1024, help="shard size (MiB)")
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="decoding processes (0: none)")
    ap.add_argument("--decode-mb", type=float, default=256, help="RGB MiB decoded per read (memory per worker)")
    ap.add_argument("--strict", action="store_true", help="stop at the first unreadable or missing video")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--annotation-dir", help="ucf101 / hmdb51 split folder (default: inside --data-root)")
    ap.add_argument("--csv", help="kinetics csv")
    ap.add_argument("--labels-json", help="ssv2 labels json")
    ap.add_argument("--split-json", help="ssv2 split json")
    return ap


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit status (0 done, problems listed; 2 bad arguments or --strict failure)."""
    args = _parser().parse_args(argv)
    ann = {k: getattr(args, k) for k in ("annotation_dir", "csv", "labels_json", "split_json") if getattr(args, k)}
    subsets = None if args.subsets is None else [None if s in ("none", "None", ".") else s for s in args.subsets]
    logging.basicConfig(level=logging.ERROR, format="%(message)s")  # the summary below says it all
    try:
        res = prepare_cache(args.dataset, args.data_root, args.out, fold=args.fold, subsets=subsets,
                            short_side=args.short_side or None, shard_size_mb=args.shard_size_mb,
                            workers=args.workers, strict=args.strict, progress=not args.no_progress,
                            decode_mb=args.decode_mb, annotation_kwargs=ann)
    except (ValueError, FileNotFoundError, RuntimeError, VideoReadError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{res['out']}: {res['videos']} videos cached ({res['new']} decoded now, {res['already_cached']} already "
          f"cached), {res['frames']} frames in {res['shards']} shard(s), {_gib(res['bytes'])}, "
          f"short side {res['short_side'] or 'original'}; {res['seconds']:.1f} s")
    probs = [p for p in res["problems"] if p["stage"] != "short"]
    held = [p for p in res["problems"] if p["stage"] == "short"]
    if probs:
        print(f"{len(probs)} video(s) NOT cached (listed in {Path(res['out']) / 'problems.jsonl'}):")
        for p in probs[:50]:
            print(f"  {p['path']}: {p['reason']}")
        if len(probs) > 50:
            print(f"  ... and {len(probs) - 50} more")
    if held:
        print(f"{len(held)} video(s) cached with their last frame held (a few frames short of the header's count)")
    print(f"use it: VideoDataset(..., cache_dir={res['out']!r}, short_side={res['short_side']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
