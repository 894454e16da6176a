"""The pre-decoded frame cache: its on-disk format, the reader a dataset uses and the shard writer.

:func:`.prepare.prepare_cache` decodes every video of a dataset once and stores its resized uint8
frames here; ``VideoDataset(cache_dir=C)`` reads clips back through :class:`FrameCache` (a clip is
a gather of T rows of a memory map, no decoding). On disk (``C/``)::

    shard_00000.npy   uint8 (N, h, w, 3) when all its frames have one size, else flat uint8 (bytes,);
                      a fixed 128-byte .npy header, then the frames
    shard_00000.json  the shard's entries (written after its .npy is complete: what resuming trusts)
    index.json        {"format", "version", "dataset", "short_side", "subsets", "folds", "data_root",
                       "shards": {name: {"layout", "shape", "videos"}},
                       "videos": {video_id: {"shard", "offset", "num_frames", "fps", "height",
                                             "width", "first_frame", "frames", "path"}}}
    problems.jsonl    one JSON line per video not cached ("path", "reason", "stage", "subset",
                      "video_id") or cached with a held tail ("stage": "short")

An entry's ``offset`` is the video's first row of a 4-D shard (or its first byte of a flat one);
``num_frames`` and ``fps`` are the file's; ``first_frame`` / ``frames`` say which frames are stored
(all, or a record's time window); ``path`` is relative to the data root (an entry whose path is
not a suffix of the record's is not used, so a video_id shared by two files never serves the wrong
one).

Atomicity: a shard is streamed to ``shard_K.npy.tmp``, fsynced and renamed (``os.replace``)
before its ``.json`` is written atomically; ``index.json`` is written last, so an interrupted run
never leaves a cache that looks complete. :func:`finished_shards` trusts only shards whose
``.json`` exists and whose ``.npy`` has the recorded size, and deletes temp files and orphans.
One writer at a time (:func:`cache_lock` on ``C/.lock``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import struct
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...utils.io import atomic_write_bytes, fsync_dir, json_bytes
from .records import VideoRecord
from .video_io import VideoInfo, VideoReadError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None

__all__ = ["FORMAT", "VERSION", "HEADER_BYTES", "FrameCache", "ShardWriter", "finished_shards", "cache_lock",
           "check_cache_params", "shard_name", "is_suffix"]

logger = logging.getLogger(__name__)

FORMAT = "actionrec-frame-cache"
VERSION = 1
HEADER_BYTES = 128  # fixed .npy header (v1.0) so frames can be streamed in before the shape is known
SHARD_RE = re.compile(r"^shard_(\d{5,})\.(npy|json)$")
TMP_RE = re.compile(r"^\.(shard_\d{5,}\.json|index\.json|problems\.jsonl)\.tmp\d+$")  # utils.io.atomic_write temps


class FrameCache:
    """Read-only access to a pre-decoded frame cache: ``cache_dir/index.json`` + NumPy shards.

    Written by :func:`.prepare.prepare_cache` (format: module docstring). ``index.json`` is
    ``{"videos": {key: entry}, ...}`` (or the mapping itself), ``key`` the record's ``video_id``
    (else its path as a string), ``entry`` ``{"shard": "<file>.npy", "offset": int, "num_frames":
    int, "fps": float}`` plus optional ``"first_frame"`` / ``"frames"`` (only frames ``first_frame
    .. first_frame + frames - 1`` of the file are stored: a record's time window; default all
    ``num_frames``) and ``"path"`` (the file relative to the data root: an entry whose path is not
    a suffix of the record's is not used, so a video_id shared by two files never serves the wrong
    one). A shard is either ``(N, H, W, 3)`` uint8 (all its frames one size; ``offset`` = the
    video's first row) or flat uint8 ``(bytes,)`` (then the entry also has ``"height"``/``"width"``
    and ``offset`` counts bytes). Shards are opened with ``np.load(mmap_mode="r")`` once per
    process; nothing is loaded until a frame is read. ``problems.jsonl`` beside the index (videos
    prepare could not cache) gives :meth:`missing_reason` its reasons.
    """

    def __init__(self, cache_dir: str | os.PathLike):
        self.cache_dir = Path(cache_dir)
        index = self.cache_dir / "index.json"
        if not index.is_file():
            raise FileNotFoundError(
                f"cache_dir={str(self.cache_dir)!r} has no index.json; build it with "
                "python -m actionrec.data.prepare --out <cache_dir> ..."
            )
        with open(index, encoding="utf-8") as f:
            data = json.load(f)
        self.meta = {k: v for k, v in data.items() if k != "videos"} if "videos" in data else {}
        self.videos: dict[str, dict] = data["videos"] if "videos" in data else data
        self.problems: dict[str, str] = self._read_problems()  # video_id or path -> why prepare left it out
        self._shards: dict[str, np.ndarray] = {}

    def _read_problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        path = self.cache_dir / "problems.jsonl"
        if not path.is_file():
            return out
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(e, dict) or e.get("stage") == "short":  # "short" videos are cached
                continue
            for key in (e.get("video_id"), e.get("path")):
                if key:
                    out.setdefault(str(key), str(e.get("reason", "?")))
        return out

    @property
    def short_side(self) -> int | None:
        """Shorter side of the cached frames (None: original size or unknown)."""
        return self.meta.get("short_side")

    def __getstate__(self) -> dict:  # never pickle open memory maps into worker processes
        return {**self.__dict__, "_shards": {}}

    def entry(self, record: VideoRecord) -> dict | None:
        e = self.videos.get(record.video_id) or self.videos.get(str(record.path))
        if e is not None and e.get("path") and not is_suffix(e["path"], record.path):
            return None  # the same video_id for another file
        return e

    def missing_reason(self, record: VideoRecord) -> str:
        """Why ``record`` has no entry (with prepare's reason from problems.jsonl when it has one)."""
        reason = f"not in the frame cache {self.cache_dir}"
        e = self.videos.get(record.video_id)
        if e is not None and e.get("path") and not is_suffix(e["path"], record.path):
            return f"{reason} (its video_id {record.video_id!r} is cached for {e['path']})"
        why = self.problems.get(str(record.path)) or self.problems.get(record.video_id)
        return f"{reason} (prepare: {why})" if why else reason

    def _shard(self, name: str) -> np.ndarray:
        if name not in self._shards:
            self._shards[name] = np.load(self.cache_dir / name, mmap_mode="r")
        return self._shards[name]

    def info(self, record: VideoRecord) -> VideoInfo:
        e = self.entry(record)
        if e is None:
            raise VideoReadError(record.path, self.missing_reason(record))
        shard = self._shard(e["shard"])
        h, w = (shard.shape[1:3] if shard.ndim == 4 else (e["height"], e["width"]))
        n, fps = int(e["num_frames"]), float(e.get("fps") or 0.0)
        if n < 1:
            raise VideoReadError(record.path, "zero frames")
        return VideoInfo(path=str(record.path), num_frames=n, fps=fps, width=int(w), height=int(h),
                         duration=n / fps if fps else 0.0)

    def read(self, record: VideoRecord, indices: Sequence[int]) -> torch.Tensor:
        """Frames at the file's 0-based ``indices`` -> uint8 ``(T, H, W, 3)`` (a copy out of the memory map)."""
        e = self.entry(record)
        if e is None:
            raise VideoReadError(record.path, self.missing_reason(record))
        shard = self._shard(e["shard"])
        first = int(e.get("first_frame", 0))
        stored = int(e.get("frames", int(e["num_frames"]) - first))
        idx = np.asarray(indices, dtype=np.int64) - first  # (T,) rows of this video
        if idx.size and (idx.min() < 0 or idx.max() >= stored):
            raise VideoReadError(record.path, f"frames {np.asarray(indices).min()}..{np.asarray(indices).max()} "
                                 f"asked; the cache holds frames {first}..{first + stored - 1}")
        try:
            if shard.ndim == 4:
                out = shard[int(e["offset"]) + idx]  # (T, H, W, 3) gathered from the memory map
            else:
                h, w = int(e["height"]), int(e["width"])
                frames = shard[int(e["offset"]): int(e["offset"]) + stored * h * w * 3]
                out = frames.reshape(-1, h, w, 3)[idx]  # flat bytes -> (frames, H, W, 3) -> (T, H, W, 3)
        except (IndexError, ValueError) as err:
            raise VideoReadError(record.path, f"cache entry inconsistent with its shard {e['shard']} ({err})") from None
        return torch.from_numpy(np.ascontiguousarray(out))


def is_suffix(rel: str, path: str | os.PathLike) -> bool:
    """Whether the posix relative path ``rel`` names ``path`` (equal, or its trailing components)."""
    p = Path(path).as_posix()
    return p == rel or p.endswith("/" + rel)


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header for uint8 C-order ``shape``, padded to exactly HEADER_BYTES."""
    d = "{'descr': '|u1', 'fortran_order': False, 'shape': %r, }" % (tuple(int(s) for s in shape),)
    body = d.ljust(HEADER_BYTES - 10 - 1) + "\n"
    if len(body) != HEADER_BYTES - 10:
        raise ValueError(f"shard shape {shape} does not fit a {HEADER_BYTES}-byte header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


def shard_name(k: int, ext: str) -> str:
    """``shard_00007.npy`` / ``.json``."""
    return f"shard_{k:05d}.{ext}"


class ShardWriter:
    """One shard being written: frames streamed into ``shard_K.npy.tmp`` after a reserved header;
    :meth:`finish` writes the header, renames the file and writes the shard's ``.json``."""

    def __init__(self, out: Path, k: int):
        self.out, self.k = out, k
        self.name = shard_name(k, "npy")
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
        self.f.write(npy_header(shape))
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.out / self.name)
        fsync_dir(self.out)
        meta = {**params, "shard": self.name, "layout": layout, "shape": list(shape),
                "bytes": HEADER_BYTES + self.nbytes, "videos": self.entries}
        atomic_write_bytes(self.out / shard_name(self.k, "json"), json_bytes(meta, sort_keys=True))
        return meta

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()
        with contextlib.suppress(OSError):
            os.remove(self.tmp)


@contextlib.contextmanager
def cache_lock(out: Path):
    """An exclusive lock on ``out/.lock`` (released by the OS if the process dies)."""
    if fcntl is None:  # pragma: no cover - Windows: no lock
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


def finished_shards(out: Path) -> dict[int, dict]:
    """Shard index -> its .json content, for every complete shard; removes temp files and orphans."""
    for p in out.glob("*.tmp*"):
        if SHARD_RE.match(p.name[:-4]) or p.name in ("index.json.tmp", "problems.jsonl.tmp") or TMP_RE.match(p.name):
            p.unlink(missing_ok=True)  # an interrupted write
    done: dict[int, dict] = {}
    for p in sorted(out.glob("shard_*.json")):
        m = SHARD_RE.match(p.name)
        if not m:
            continue
        npy = out / shard_name(int(m.group(1)), "npy")
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
        m = SHARD_RE.match(p.name)
        if m and int(m.group(1)) not in done:
            p.unlink(missing_ok=True)
    return done


def check_cache_params(out: Path, dataset: str, short_side: int | None, shards: dict[int, dict]) -> dict | None:
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
