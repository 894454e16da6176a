"""Real video datasets: UCF-101, HMDB-51, Kinetics, Something-Something v2 and a plain folder.

What it does
------------
:class:`VideoDataset` turns a list of :class:`~actionrec.data.annotations.VideoRecord` (from the
parsers in :mod:`actionrec.data.annotations`) into clips ``(3, T, H, W)`` float32, normalised, with
the sampling and augmentation the papers train and test with; :func:`build_video_dataset` builds
one from a dataset name, a split and a data root (``build_dataset("ucf101", "train",
data_root=...)`` goes through it). Decoding is :mod:`actionrec.data.video_io` (PyAV, one seek per
clip), or a pre-decoded frame cache (``cache_dir``).

Data flow of ``ds[i]``::

    i ─→ video v = i // views_per_video, view w = i % views_per_video      (views: test mode only)
      ─→ VideoInfo (probed once per process, cached)  ─→ usable frames n (record.start/end window)
      ─→ frame indices (T,)                            temporal sampling, below
      ─→ read_frames: uint8 (T, H, W, 3)               one seek, decode up to the last index
      ─→ (T, 3, H, W) uint8 ─→ resize shorter side     F.interpolate(bilinear, antialias=True) on uint8
      ─→ crop size x size (random / centre / one of 3) ─→ horizontal flip (train, p = 0.5)
      ─→ float (3, T, size, size) ─→ (x / 255 - mean) / std  ─→ (clip, label)

Temporal sampling (``frames`` T, ``interval`` s, span ``L = (T - 1) * s + 1`` frames)::

    train   start ~ U{0 .. max(n - L, 0)}; indices start + s * arange(T)            (PySlowFast, MMAction2)
    val     one clip, start = floor((max(n - L, 0) + 1) / 2)  (the centre clip)
    test    K = ``clips`` clips, start_k = floor((max(n - L, 0) + 1) * (k + 0.5) / K), k = 0..K-1
            (MMAction2's SampleFrames(test_mode=True): K clips uniformly spread, centred in K bins)
    TSN (``segments`` = N; T = N, ``frames``/``interval`` unused): the n frames are cut into N equal
            segments, one frame per segment: index_j = floor(n * (j + o_j) / N), with o_j ~ U[0, 1)
            in train and o_j = (k + 0.5) / K for test view k of K (val: the segment centres)

Spatial: train resizes the shorter side to ``short_side`` (or, for a ``(lo, hi)`` pair, to a
size drawn uniformly from lo..hi: PySlowFast's scale jitter), crops ``size`` x ``size`` at random
and flips with probability 1/2; val resizes to ``short_side`` (lo of a pair) and crops the
centre; test with ``crops=1`` does the same as val, with ``crops=3`` it resizes the shorter side
to ``size`` and takes three ``size`` x ``size`` crops along the longer side (start, centre, end),
as PySlowFast's and MMAction2's three-crop testing do. Then ``(x / 255 - mean) / std`` per channel.

Too-short videos (our choice, stated): a video with fewer usable frames than the clip needs
(``n < L``, or ``n < N`` for TSN) is still used, with its indices clamped to the last frame
(``out_of_bound="clamp"``, PySlowFast's choice: time keeps flowing forward, then the last frame
holds; ``"loop"`` wraps around as MMAction2's default ``out_of_bound_opt='loop'`` does). It is not a
failure; it is listed once per process in ``.short_videos`` (a JSON line of kind "short" in
``failures_file``) and in ``.report()``. A video with no frame at all is a failure ("zero frames").
If a file's header promises a few more frames than it holds (decoding stops at most
``max(2, 2%)`` frames before the header's count: common in real downloads), the missing tail is
clamped to the last decoded frame and the video is listed as short; a larger shortfall
("truncated" / "corrupt") is a failure. A truncated file is found when a clip needs frames past
the cut; clips from its intact part are used.

Bad input: problems found at construction (from the annotation parser: missing files, unknown
classes; plus zero-byte files found here with one ``stat`` per video) are kept in ``.problems``
(those videos are not in ``.records``), summarised by ``.report()`` and logged once with
``logging.warning``. A video that fails to read in ``__getitem__`` (``VideoReadError``: unreadable,
truncated, zero frames ...) is recorded in ``.failures`` and appended as one JSON line to
``failures_file`` (``O_APPEND``, one ``write`` per line, so DataLoader workers and DDP ranks can
share it), and the item is served by the next readable video (``v+1, v+2, ...`` wrapping; same
view; its own label), never crashing the run; ``failure_count()`` reads the file (so the training
loop can count across workers) and counts failed reads (every attempt on a bad video, the ones
made while looking for a replacement included: deterministic for a full pass whatever the worker
count; ``unique=True`` counts distinct videos). ``strict=True`` raises the
``VideoReadError`` instead, and raises at construction when there is any problem. ``scan=True``
probes every video at construction and decodes its first and last frame (two short seeks: about
the cost of two clips), so unreadable, truncated and short videos are known before training
starts (the unreadable and truncated ones become problems).

Optical flow (``modality="rgb+flow"`` | ``"flow"``, for the two-stream networks of
:mod:`actionrec.models.two_stream`). Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier
Networks" (CVPR 2017, ``shared/papers/multiplier.txt``), Sec. 4.1: flow between consecutive frames
of the video, displacements clipped to 20 px, stored as 8-bit images. Items are laid out exactly as
SynthActions' (:mod:`actionrec.data.synthetic`): ``(5, T, size, size)`` = the normalised clip (the
"rgb" item bit for bit), then per-frame flow (dx, dy) in pixels (x right, y down), or the flow
alone ``(2, T, size, size)``; ``.channels`` is 3, 5 or 2. Per item::

    clip frame indices j_t (T,) ─→ pairs (a_t, b_t) = (clip(j_t, s, e - 2), a_t + 1)   flow_pair_indices
         (window s .. e - 1: consecutive video frames whatever ``interval``; the last frame repeats
          the flow into it; e = the frames that actually decode, for a file cut short of its header)
      ─→ read_frames(j ∪ a ∪ b): uint8 (3T, H, W, 3)   the same single seek and decode as the clip
      ─→ per distinct a_t: in the last item's flows? in flow_cache_dir? else
           resize (a_t, b_t) to the clip's shorter side ─→ grey ─→ flow.compute_flow (farneback |
           tvl1 | dis) ─→ clip ±20 px, 8-bit (flow.quantize_flow) ─→ FlowCache file
      ─→ (T, H', W', 2) uint8 ─→ the clip's crop ─→ flip (with the clip): mirror, dx code q → 256 - q
      ─→ dequantize_flow: float32 pixels (step 40/255 px) ─→ (2, T, size, size)

Flow is in pixels of the resized frames the crop is cut from (3-crop test views resize to ``size``,
so theirs is smaller by that factor). Cache (``flow_cache_dir``): one ``.npz`` per (video, frame
a_t, method, parameters, shorter side, frame source), ``<dir>/<video_id>/<a_t>-<key>.npz``, written
atomically by :class:`actionrec.data.flow.FlowCache` (safe with DataLoader workers and DDP ranks),
so every flow is estimated once and later epochs, workers and runs read it (about 1 ms per frame at
128x170; at most 2 H' W' bytes before compression, 43 KB at 128x170). Train-time scale jitter
(``short_side=(lo, hi)``) caches each shorter side separately. Without a cache directory flows are
estimated for every item (test crops of one clip share them).

Departures (flow): the paper's motion stream stacks L = 10 consecutive flows around a frame; here
the model stacks the per-frame flows of the clip's frames (:func:`actionrec.data.flow.stack_flow`),
so with ``interval`` s > 1 a stack holds L flows s frames apart (SynthActions: s = 1). Farneback
by default (OpenCV without the contrib modules has no TV-L1, the paper's method; ``"tvl1"`` is
used where it exists), 8-bit arrays instead of JPEG, flow estimated on the fly at the first epoch
instead of precomputed for every frame.

Randomness (train mode): item ``i`` of epoch ``e`` draws its temporal start, scale, crop and flip
from ``np.random.default_rng([seed, e, i, attempt])`` (attempt > 0 only for replacements), a pure
function of those numbers: the same clip whatever the number of DataLoader workers, the order or
the process. Call ``set_epoch(e)`` before creating the epoch's DataLoader iterator (workers copy
the dataset when the iterator starts; with ``persistent_workers=True`` they would keep the old
epoch). val and test items are deterministic. Bit-reproducible for the same PyAV/FFmpeg build
(decoders are deterministic) and torch build (interpolate).

Departures from PySlowFast (``slowfast/datasets/kinetics.py``, ``decoder.py``, ``transform.py``) and
MMAction2 (``SampleFrames``, ``Resize``, ``RandomCrop``, ``ThreeCrop``, ``Flip``, ``Normalize``):

- PySlowFast samples a random clip for val; we take the centre clip and centre crop
  (MMAction2's val pipeline), so validation accuracy is deterministic.
- PySlowFast retries a failed read up to 10 times (switching to a random other video in train and
  val, not in test) and then raises; it logs failures at INFO level only. MMAction2 raises on a
  decode error. We substitute the next readable video deterministically, always report it (report,
  counter, failures file), and raise only with ``strict=True``.
- TSN sampling covers all n frames (segments of n / N frames, floor of a continuous position);
  TSN's ``n // N`` leaves the last ``n % N`` frames out. Short videos repeat frames in order.
- Spatial transforms are tensor ops (no torchvision, no cv2); resize is antialiased bilinear
  (torchvision's default) with the longer side rounded to nearest; PySlowFast floors it. The
  resize runs on the uint8 frames (rounded to integer levels, as the cv2/PIL resizes of
  MMAction2 and torchvision are) and only the crop is converted to float: 16 frames of 320x240
  resize in ~2 ms instead of ~100 ms as float on these CPUs.
- The 3-crop test view ordering is the same as PySlowFast's ``uniform_crop`` (0, 1, 2 = start,
  centre, end of the longer side); view w of a video is (clip w // crops, crop w % crops).
"""

from __future__ import annotations

import json
import logging
import math
import operator
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from . import flow as _flow
from .annotations import ANNOTATIONS, Annotation, Problem, VideoRecord
from .synthetic import MODALITIES
from .video_io import VideoInfo, VideoReadError, probe, read_clip, read_frames

__all__ = [
    "MODES",
    "OUT_OF_BOUND",
    "DEFAULT_TEST_VIEWS",
    "clip_span",
    "frame_window",
    "clip_indices",
    "random_clip_start",
    "uniform_clip_starts",
    "tsn_indices",
    "resize_short_side",
    "short_side_shape",
    "crop_offsets",
    "normalize",
    "denormalize",
    "aggregate_views",
    "FrameCache",
    "MODALITIES",
    "flow_pair_indices",
    "VideoDataset",
    "build_video_dataset",
]

logger = logging.getLogger(__name__)

MODES = ("train", "val", "test")
OUT_OF_BOUND = ("clamp", "loop")
DEFAULT_TEST_VIEWS = (10, 3)  # clips x crops of build_video_dataset(split="test")
MAX_REPLACEMENTS = 64  # consecutive unreadable videos before __getitem__ gives up (RuntimeError)


# ------------------------------------------------------------------------------------------------
# Temporal sampling (pure functions)
# ------------------------------------------------------------------------------------------------


def clip_span(frames: int, interval: int) -> int:
    """Frames a clip of ``frames`` frames taken every ``interval`` covers: ``(frames - 1) * interval + 1``."""
    return (frames - 1) * interval + 1


def clip_indices(num_frames: int, *, frames: int, interval: int, start: int, out_of_bound: str = "clamp") -> np.ndarray:
    """``start + interval * arange(frames)``, clamped (or wrapped, ``"loop"``) into ``0 .. num_frames - 1``."""
    idx = start + interval * np.arange(frames)  # (T,)
    if out_of_bound == "clamp":
        return np.minimum(idx, num_frames - 1)
    if out_of_bound == "loop":
        return idx % num_frames
    raise ValueError(f"out_of_bound={out_of_bound!r} must be one of {OUT_OF_BOUND}")


def random_clip_start(num_frames: int, *, frames: int, interval: int, u: float) -> int:
    """Start frame ``floor(u * (max(n - L, 0) + 1))`` for a uniform ``u`` in [0, 1) (train sampling)."""
    delta = max(num_frames - clip_span(frames, interval), 0)
    return min(int(u * (delta + 1)), delta)


def uniform_clip_starts(num_frames: int, *, frames: int, interval: int, clips: int) -> list[int]:
    """Starts of ``clips`` clips spread uniformly over the video (val: clips=1 is the centre clip)."""
    delta = max(num_frames - clip_span(frames, interval), 0)
    return [min(int((delta + 1) * (k + 0.5) / clips), delta) for k in range(clips)]


def tsn_indices(num_frames: int, segments: int, offsets: Sequence[float] | np.ndarray) -> np.ndarray:
    """TSN: one frame per segment, ``floor(n * (j + offsets[j]) / segments)`` (offsets in [0, 1)), ``(segments,)``."""
    o = np.asarray(offsets, dtype=np.float64)
    pos = (np.arange(segments) + o) * (num_frames / segments)
    return np.minimum(np.floor(pos).astype(np.int64), num_frames - 1)


def flow_pair_indices(indices: Sequence[int] | np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame pairs ``(a, b)`` whose flow ``a → b`` each sampled frame gets: ``a = clip(j, start, end - 2)``,
    ``b = a + 1`` for frame indices ``j`` in a video (window) of frames ``start .. end - 1``.

    Consecutive frames of the video whatever the clip's interval (the paper's flow); the last frame
    repeats the flow into it (as SynthActions' items do). A one-frame video pairs its frame with
    itself (zero flow). Returns two int64 arrays shaped like ``indices``.
    """
    j = np.asarray(indices, dtype=np.int64)
    if end - start < 2:
        a = np.full_like(j, start)
        return a, a.copy()
    a = np.clip(j, start, end - 2)
    return a, a + 1


# ------------------------------------------------------------------------------------------------
# Spatial transforms (tensor ops; layout (..., H, W))
# ------------------------------------------------------------------------------------------------


def short_side_shape(height: int, width: int, short: int) -> tuple[int, int]:
    """(H', W') with the shorter side ``short`` and the aspect ratio kept (longer side rounded)."""
    if height <= width:
        return short, max(short, int(width * short / height + 0.5))
    return max(short, int(height * short / width + 0.5)), short


def resize_short_side(x: torch.Tensor, short: int) -> torch.Tensor:
    """Resize frames ``(T, C, H, W)`` so the shorter side is ``short`` (bilinear, antialiased).

    uint8 on CPU stays uint8 (PyTorch's channels-last uint8 kernel, rounded to the nearest level:
    ~50x faster than float here, within 1 level of the float result); uint8 elsewhere is resized
    as float. Float in, float out.
    """
    h, w = x.shape[-2:]
    size = short_side_shape(h, w, short)
    if size == (h, w):
        return x
    if x.dtype == torch.uint8 and x.device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)  # (T, C, H, W) stored as (T, H, W, C)
    elif not x.is_floating_point():
        x = x.float()
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)  # (T, C, H', W')


def crop_offsets(height: int, width: int, size: int, *, crop: int = 1, crops: int = 1) -> tuple[int, int]:
    """(top, left) of crop ``crop`` of ``crops`` (1: centre; 3: start/centre/end of the longer side)."""
    if crops == 1:
        return (height - size) // 2, (width - size) // 2
    if crops != 3 or not 0 <= crop < 3:
        raise ValueError(f"crops={crops} must be 1 or 3 and crop={crop} in 0..crops-1")
    if height > width:  # portrait: crops go down the frame
        return [0, (height - size) // 2, height - size][crop], (width - size) // 2
    return (height - size) // 2, [0, (width - size) // 2, width - size][crop]


def _stats(values, name: str) -> torch.Tensor:
    v = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    if v.numel() != 3:
        raise ValueError(f"{name} must have 3 values (R, G, B); got {values!r}")
    return v


def normalize(clip: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(clip / 255 - mean) / std`` per channel of a ``(3, T, H, W)`` clip in 0..255 (uint8 or float).

    Returns a new float32 tensor, computed as ``clip * (1 / (255 std)) - mean / std``.
    """
    m = _stats(mean, "mean").view(3, 1, 1, 1).to(clip.device)  # (3,) -> (3, 1, 1, 1)
    s = _stats(std, "std").view(3, 1, 1, 1).to(clip.device)
    x = clip.to(torch.float32, copy=True)
    return x.mul_(1.0 / (255.0 * s)).sub_(m / s)


def denormalize(clip: torch.Tensor, mean: Sequence[float] = (0.45, 0.45, 0.45),
                std: Sequence[float] = (0.225, 0.225, 0.225)) -> torch.Tensor:
    """Inverse of :func:`normalize` for ``(3, T, H, W)`` / ``(B, 3, T, H, W)``: values in 0..1 (for display)."""
    m = _stats(mean, "mean").view(3, 1, 1, 1).to(clip.device)
    s = _stats(std, "std").view(3, 1, 1, 1).to(clip.device)
    return (clip * s + m).clamp(0.0, 1.0)


def aggregate_views(scores: torch.Tensor, video_index: torch.Tensor | Sequence[int], *,
                    num_videos: int | None = None, reduce: str = "mean") -> torch.Tensor:
    """Per-video scores ``(V, C)`` from per-view scores ``(N, C)`` and each view's video ``(N,)``.

    ``reduce``: ``"mean"`` (multi-view testing averages softmax scores or logits) or ``"max"``.
    Videos with no view get zeros.
    """
    idx = torch.as_tensor(video_index, dtype=torch.long, device=scores.device)
    if scores.dim() != 2 or idx.shape != scores.shape[:1]:
        raise ValueError(f"scores must be (N, C) and video_index (N,); got {tuple(scores.shape)} and {tuple(idx.shape)}")
    V = int(num_videos) if num_videos is not None else (int(idx.max()) + 1 if idx.numel() else 0)
    if reduce == "mean":
        out = torch.zeros(V, scores.shape[1], dtype=scores.dtype, device=scores.device).index_add_(0, idx, scores)
        ones = torch.ones_like(idx, dtype=scores.dtype)
        count = torch.zeros(V, dtype=scores.dtype, device=scores.device).index_add_(0, idx, ones)
        return out / count.clamp(min=1).unsqueeze(1)
    if reduce == "max":
        out = torch.full((V, scores.shape[1]), float("-inf"), dtype=scores.dtype, device=scores.device)
        out = out.scatter_reduce(0, idx.unsqueeze(1).expand_as(scores), scores, reduce="amax")
        return torch.where(torch.isinf(out), torch.zeros_like(out), out)
    raise ValueError(f"reduce={reduce!r} must be 'mean' or 'max'")


# ------------------------------------------------------------------------------------------------
# Pre-decoded frame cache (written by actionrec.data.prepare)
# ------------------------------------------------------------------------------------------------


class FrameCache:
    """Read-only access to a pre-decoded frame cache: ``cache_dir/index.json`` + NumPy shards.

    Written by :mod:`actionrec.data.prepare` (its docstring has the format). ``index.json`` is
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
        if e is not None and e.get("path") and not _is_suffix(e["path"], record.path):
            return None  # the same video_id for another file
        return e

    def missing_reason(self, record: VideoRecord) -> str:
        """Why ``record`` has no entry (with prepare's reason from problems.jsonl when it has one)."""
        reason = f"not in the frame cache {self.cache_dir}"
        e = self.videos.get(record.video_id)
        if e is not None and e.get("path") and not _is_suffix(e["path"], record.path):
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


def _is_suffix(rel: str, path: str | os.PathLike) -> bool:
    """Whether the posix relative path ``rel`` names ``path`` (equal, or its trailing components)."""
    p = Path(path).as_posix()
    return p == rel or p.endswith("/" + rel)


# ------------------------------------------------------------------------------------------------
# Dataset
# ------------------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int, optional: bool = False) -> int | None:
    if optional and value is None:
        return None
    try:
        ok = not isinstance(value, bool) and operator.index(value) >= minimum
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name}={value!r} must be an int >= {minimum}" + (" or None" if optional else ""))
    return operator.index(value)


def _tail_tolerance(num_frames: int) -> int:
    """Frames a file may fall short of its header's count and still be used (module docstring)."""
    return max(2, int(0.02 * num_frames))


def frame_window(record: VideoRecord, info: VideoInfo) -> tuple[int, int]:
    """Frames ``[a, b)`` of ``record`` that belong to it: all of them, or its ``start``/``end``
    window in seconds (an untrimmed Kinetics video); raises VideoReadError if the window is empty
    or the frame rate is unknown."""
    a, b = 0, info.num_frames
    if record.start is not None or record.end is not None:
        if info.fps <= 0:
            raise VideoReadError(record.path, "unknown frame rate: cannot locate the record's start/end times")
        if record.start is not None:
            a = max(0, math.floor(record.start * info.fps))
        if record.end is not None:
            b = min(b, math.ceil(record.end * info.fps))
        if b - a < 1:
            raise VideoReadError(record.path, f"time window [{record.start}, {record.end}] s holds no frame "
                                 f"({info.num_frames} frames at {info.fps:g} fps)")
    return a, b


class VideoDataset(Dataset):
    """Clips from a list of video records (module docstring: sampling, views, bad input, randomness).

    Args:
        records: :class:`VideoRecord` list (``Annotation.records``); classes: names in label order.
        mode: ``"train"`` (random clip, scale, crop, flip), ``"val"`` (centre clip, centre crop) or
            ``"test"`` (``clips`` x ``crops`` views per video, each an item).
        frames, interval: clip length T and frame step (the papers: 16 frames, interval 2).
        segments: TSN sampling, one frame from each of ``segments`` equal segments (T = segments).
        size: output crop (square); short_side: the shorter side before cropping (int or
            ``(lo, hi)`` for train-time scale jitter; >= size).
        clips, crops: test views (crops 1 or 3). flip: random horizontal flip in train mode.
        mean, std: normalisation, per channel, on 0..1 values.
        strict: raise on any problem or failed read instead of reporting and substituting.
        failures_file: JSON-lines file that failed reads (and short videos) are appended to.
        cache_dir: read frames from a pre-decoded cache (:class:`FrameCache`) instead of the videos.
        seed: augmentation seed; problems: what the annotation parser found (``Annotation.problems``).
        out_of_bound: ``"clamp"`` or ``"loop"`` for clips longer than a video.
        scan: probe every video at construction and decode its first and last frame: unreadable
            and truncated ones become problems (left out), short ones are listed.
        modality: ``"rgb"`` (the clip, ``(3, T, H, W)``), ``"rgb+flow"`` (clip + per-frame optical
            flow, ``(5, T, H, W)``) or ``"flow"`` (the flow alone, ``(2, T, H, W)``); items laid out
            as SynthActions' (module docstring, "Optical flow"). ``.channels`` is 3, 5 or 2.
        flow_method: ``"farneback"`` | ``"tvl1"`` | ``"dis"`` (:mod:`actionrec.data.flow`; TV-L1
            only where OpenCV has the contrib modules: ``flow.available_methods()``).
        flow_params: estimator parameters (None: :mod:`actionrec.data.flow`'s defaults).
        flow_cache_dir: on-disk flow cache (one file per video frame and setting); None computes
            the flow of every item afresh.
    """

    cacheable = False  # fit() must not render it into memory: its items are random per epoch

    def __init__(self, records: Sequence[VideoRecord], classes: Sequence[str], *, mode: str = "train",
                 frames: int = 16, interval: int = 2, segments: int | None = None, size: int = 112,
                 short_side: int | Sequence[int] = 128, clips: int = 1, crops: int = 1, flip: bool = True,
                 mean: Sequence[float] = (0.45, 0.45, 0.45), std: Sequence[float] = (0.225, 0.225, 0.225),
                 strict: bool = False, failures_file: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, seed: int = 0, problems: Sequence[Problem] = (),
                 out_of_bound: str = "clamp", scan: bool = False, modality: str = "rgb",
                 flow_method: str = "farneback", flow_params: dict | None = None,
                 flow_cache_dir: str | os.PathLike | None = None):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r} must be one of {MODES}")
        self.mode = mode
        self.frames = _check_int("frames", frames, 1)
        self.interval = _check_int("interval", interval, 1)
        self.segments = _check_int("segments", segments, 1, optional=True)
        self.size = _check_int("size", size, 1)
        if isinstance(short_side, (list, tuple)):
            if len(short_side) != 2:
                raise ValueError(f"short_side={short_side!r} must be an int or a (lo, hi) pair")
            lo, hi = (_check_int("short_side", s, 1) for s in short_side)
        else:
            lo = hi = _check_int("short_side", short_side, 1)
        if not size <= lo <= hi:
            raise ValueError(f"short_side={short_side!r} must be >= size={size} (and lo <= hi): the crop must fit")
        self.short_side = (lo, hi)
        self.clips = _check_int("clips", clips, 1)
        self.crops = _check_int("crops", crops, 1)
        if crops not in (1, 3):
            raise ValueError(f"crops={crops!r} must be 1 (centre) or 3 (start, centre, end)")
        if mode != "test" and (clips, crops) != (1, 1):
            raise ValueError(f"clips={clips}, crops={crops} are test views; mode={mode!r} takes one view per video "
                             "(use mode='test' for multi-view testing)")
        if out_of_bound not in OUT_OF_BOUND:
            raise ValueError(f"out_of_bound={out_of_bound!r} must be one of {OUT_OF_BOUND}")
        self.out_of_bound = out_of_bound
        self.flip = bool(flip)
        self.mean, self.std = _stats(mean, "mean"), _stats(std, "std")
        if (self.std <= 0).any():
            raise ValueError(f"std={std!r} must be > 0")
        self.strict = bool(strict)
        self.seed = _check_int("seed", seed, 0)
        self.epoch = 0
        self.classes = list(classes)
        self.num_classes = len(self.classes)
        self.failures_file = os.fspath(failures_file) if failures_file is not None else None
        self.cache = FrameCache(cache_dir) if cache_dir is not None else None
        lo, hi = self.short_side
        if self.cache is not None and self.cache.short_side not in (None, 0) and lo == hi != self.cache.short_side:
            logger.warning("cache_dir=%s holds frames with shorter side %s but short_side=%s: frames are resized "
                           "a second time (close to, not equal to, decoding the videos); prepare a cache with "
                           "--short-side %s for identical clips", cache_dir, self.cache.short_side, lo, lo)
        self.problems: list[Problem] = list(problems)
        self.failures: list[Problem] = []
        self.short_videos: list[Problem] = []
        self._short_seen: set[str] = set()
        self._infos: dict[str, VideoInfo] = {}
        self._last_read: tuple[Any, torch.Tensor] | None = None  # test views of one clip share a decode
        self._set_flow(modality, flow_method, flow_params, flow_cache_dir)

        kept = []
        for r in records:
            if not isinstance(r, VideoRecord):
                raise ValueError(f"records must be VideoRecord objects (actionrec.data.annotations); got {type(r).__name__}")
            if not 0 <= r.label < self.num_classes:
                raise ValueError(f"record {r.path} has label {r.label}, outside 0..{self.num_classes - 1} (len(classes))")
            problem = self._check_file(r)
            if problem is None:
                kept.append(r)
            else:
                self.problems.append(problem)
        if scan:
            kept = self._scan(kept)
        self.records: list[VideoRecord] = kept
        if self.problems:
            if self.strict:
                p = self.problems[0]
                raise VideoReadError(p.path, f"{p.reason} (1 of {len(self.problems)} problems; strict=True raises, "
                                     "strict=False reports them and leaves those videos out)")
            shown = "\n".join(f"  {p}" for p in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more (see .report())" if len(self.problems) > 20 else ""
            logger.warning("%d problem(s) in the video list; these videos are left out:\n%s%s",
                           len(self.problems), shown, more)
        if not self.records:
            raise ValueError(f"no readable videos left ({len(self.problems)} problems):\n{self.report()}")

    def _set_flow(self, modality: str, method: str, params: dict | None, cache_dir: str | os.PathLike | None) -> None:
        if modality not in MODALITIES:
            raise ValueError(f"modality={modality!r} must be one of {list(MODALITIES)}")
        if method == "gt":
            raise ValueError("flow_method='gt' is SynthActions' exact (rendered) flow; real videos estimate it: "
                             f"use one of {list(_flow.available_methods())}")
        if method not in _flow.METHODS:
            raise ValueError(f"flow_method={method!r} must be one of {list(_flow.METHODS)}")
        if params is not None and not isinstance(params, dict):
            raise ValueError(f"flow_params={params!r} must be a dict of {method} parameters or None")
        if modality != "rgb":
            _flow._check_method(method)  # an unavailable method (tvl1 without OpenCV contrib) fails here
        _flow._params(method, params)  # unknown parameter names fail here, not at the first item
        self.modality, self.flow_method, self.flow_params = modality, method, (dict(params) if params else None)
        self.flow_cache_dir = os.fspath(cache_dir) if cache_dir is not None else None
        self.channels = {"rgb": 3, "rgb+flow": 5, "flow": 2}[modality]
        self._decodable: dict[str, int] = {}  # path -> frames that decode (files cut short of their header)
        self._flow_memo: dict[str, np.ndarray] = {}  # the last item's flows: test crops of one clip share them

    # -- construction checks --------------------------------------------------------------------

    def _check_file(self, r: VideoRecord) -> Problem | None:
        if self.cache is not None:
            if self.cache.entry(r) is None:
                return Problem(str(r.path), self.cache.missing_reason(r))
            return None
        try:
            size = os.stat(r.path).st_size
        except FileNotFoundError:
            return Problem(str(r.path), "missing")
        except OSError as e:
            return Problem(str(r.path), f"unreadable: {e.strerror or e}")
        return Problem(str(r.path), "empty file (0 bytes)") if size == 0 else None

    def _scan(self, records: list[VideoRecord]) -> list[VideoRecord]:
        """Probe every record and decode its first and last usable frame; keep the readable ones
        (their VideoInfo cached), note short ones."""
        kept = []
        for r in records:
            try:
                info = self.cache.info(r) if self.cache is not None else probe(r.path)
                a, n = self._window(r, info)
                if self.cache is None:
                    read_frames(r.path, [a], info=info)
                    self._read_tolerant(r, info, [a + n - 1], -1)
            except VideoReadError as e:
                self.problems.append(Problem(e.path, e.reason))
                continue
            self._infos[str(r.path)] = info
            if n < self._frames_needed:
                self._note_short(r, self._short_reason(n), -1)
            kept.append(r)
        return kept

    @property
    def _frames_needed(self) -> int:
        return self.segments if self.segments is not None else clip_span(self.frames, self.interval)

    def _short_reason(self, n: int) -> str:
        return f"short: {n} frames < {self._frames_needed} needed (indices {self.out_of_bound}ed)"

    # -- sizes, views, epoch --------------------------------------------------------------------

    @property
    def views_per_video(self) -> int:
        """Items per video: ``clips * crops`` in test mode, else 1."""
        return self.clips * self.crops if self.mode == "test" else 1

    @property
    def num_videos(self) -> int:
        return len(self.records)

    def __len__(self) -> int:
        return len(self.records) * self.views_per_video

    def video_index(self, i: int) -> int:
        """The video item ``i`` belongs to (``i // views_per_video``)."""
        return operator.index(i) // self.views_per_video

    def video_indices(self) -> torch.Tensor:
        """Video of every item, ``(len(self),)`` long: the grouping for :func:`aggregate_views`."""
        return torch.arange(len(self)) // self.views_per_video

    def video_labels(self) -> torch.Tensor:
        """Label of every video, ``(num_videos,)`` long."""
        return torch.tensor([r.label for r in self.records], dtype=torch.long)

    def set_epoch(self, epoch: int) -> None:
        """Train-time augmentation of epoch ``epoch`` (call before creating the epoch's loader iterator)."""
        self.epoch = _check_int("epoch", epoch, 0)

    @property
    def clip_frames(self) -> int:
        """T of every clip."""
        return self.segments if self.segments is not None else self.frames

    # -- items ----------------------------------------------------------------------------------

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        n = len(self)
        i = operator.index(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} items")
        i %= n
        v, w = divmod(i, self.views_per_video)
        last: VideoReadError | None = None
        for attempt in range(min(self.num_videos, MAX_REPLACEMENTS)):
            record = self.records[(v + attempt) % self.num_videos]
            try:
                return self._load(record, i, w, attempt), record.label
            except VideoReadError as e:
                if self.strict:
                    raise
                self._record_failure(e, i)
                last = e
        raise RuntimeError(
            f"item {i}: {min(self.num_videos, MAX_REPLACEMENTS)} videos in a row could not be read "
            f"(last: {last}); check the data (ds.report()) or the PyAV/FFmpeg install"
        )

    def _draws(self, i: int, attempt: int) -> np.ndarray | None:
        """Train mode: uniforms [scale, top, left, flip, start, tsn offsets...] from (seed, epoch, i, attempt)."""
        if self.mode != "train":
            return None
        key = [self.seed, self.epoch, i] + ([attempt] if attempt else [])
        return np.random.default_rng(key).random(5 + (self.segments or 0))

    def _local_indices(self, n: int, w: int, u: np.ndarray | None) -> np.ndarray:
        """Indices (T,) into the n usable frames for view w (u: train draws)."""
        k, K = (w // self.crops, self.clips) if self.mode == "test" else (0, 1)
        if self.segments is not None:
            offsets = u[5:] if u is not None else np.full(self.segments, (k + 0.5) / K)
            return tsn_indices(n, self.segments, offsets)
        if u is not None:
            start = random_clip_start(n, frames=self.frames, interval=self.interval, u=float(u[4]))
        else:
            start = uniform_clip_starts(n, frames=self.frames, interval=self.interval, clips=K)[k]
        return clip_indices(n, frames=self.frames, interval=self.interval, start=start, out_of_bound=self.out_of_bound)

    def _window(self, record: VideoRecord, info: VideoInfo) -> tuple[int, int]:
        """First usable frame and usable frame count (a record's start/end window, in frames)."""
        a, b = frame_window(record, info)
        return a, b - a

    def _note_short(self, record: VideoRecord, reason: str, i: int) -> None:
        path = str(record.path)
        if path in self._short_seen:
            return
        self._short_seen.add(path)
        self.short_videos.append(Problem(path, reason))
        self._append_line({"kind": "short", "path": path, "reason": reason, "index": i})

    def _read(self, record: VideoRecord, w: int, u: np.ndarray | None, i: int) -> tuple[torch.Tensor, list[int]]:
        """uint8 frames (T, H, W, 3) of view w of ``record`` and their file indices (T,); with flow
        (``modality != "rgb"``) 3T of each: the clip's frames, then the flow pairs' first and second
        frames (:func:`flow_pair_indices`), all decoded in the same pass (one seek)."""
        path = str(record.path)
        chosen: dict[str, Any] = {}

        def index_fn(info: VideoInfo) -> list[int]:
            a, n = self._window(record, info)
            chosen["n"] = n
            idx = self._local_indices(n, w, u) + a  # (T,) file indices
            if self.modality == "rgb":
                return idx.tolist()
            pa, pb = flow_pair_indices(idx, a, min(a + n, self._decodable.get(path, a + n)))
            return [*idx.tolist(), *pa.tolist(), *pb.tolist()]

        if self.cache is not None:
            info = self._infos.get(path) or self.cache.info(record)
            self._infos[path] = info
            idx = index_fn(info)
            frames = self.cache.read(record, idx)
        else:
            info = self._infos.get(path)
            if info is not None:
                idx = index_fn(info)
                key = (path, tuple(idx))
                if self._last_read is not None and self._last_read[0] == key:
                    return self._last_read[1], idx
                frames = self._read_tolerant(record, info, idx, i)
            else:
                try:
                    frames, info, idx = read_clip(path, index_fn)
                except VideoReadError as e:
                    if e.info is None or e.last_index is None:
                        raise
                    info = e.info
                    self._infos[path] = info
                    idx = index_fn(info)
                    frames = self._read_tolerant(record, info, idx, i, first_error=e)
            self._infos[path] = info
            if self.mode != "train":
                self._last_read = ((path, tuple(idx)), frames)
        if chosen.get("n", self._frames_needed) < self._frames_needed:
            self._note_short(record, self._short_reason(chosen["n"]), i)
        return frames, list(idx)

    def _read_tolerant(self, record: VideoRecord, info: VideoInfo, idx: list[int], i: int,
                       first_error: VideoReadError | None = None) -> torch.Tensor:
        """read_frames; a file that stops at most _tail_tolerance frames early is read clamped."""
        e = first_error
        if e is None:
            try:
                return read_frames(record.path, idx, info=info)
            except VideoReadError as err:
                e = err
        last = e.last_index if e.last_index is not None else -1
        if last < 0 or info.num_frames - (last + 1) > _tail_tolerance(info.num_frames):
            raise e
        clamped = [min(j, last) for j in idx]  # deterministic: the same file stops at the same frame
        self._decodable[str(record.path)] = last + 1  # flow pairs are planned inside the decodable frames
        frames = read_frames(record.path, clamped, info=info)
        self._note_short(record, f"short: header says {info.num_frames} frames, decoding stops after "
                         f"{last + 1} (last frame held)", i)
        return frames

    def _load(self, record: VideoRecord, i: int, w: int, attempt: int) -> torch.Tensor:
        """Item tensor of view w of ``record`` for item i: the clip float32 (3, T, size, size),
        normalised; with flow, the per-frame flow (2, T, size, size) after it ("rgb+flow") or alone."""
        u = self._draws(i, attempt)
        frames, idx = self._read(record, w, u, i)  # (T | 3T, H, W, 3) uint8 and their file indices
        T = self.clip_frames
        if self.modality != "rgb" and max(idx[2 * T:]) >= self._decodable.get(str(record.path), 1 << 62):
            frames, idx = self._read(record, w, u, i)  # this read found the file cut short: pair frames anew
        lo, hi = self.short_side
        size = self.size
        h0, w0 = frames.shape[1:3]
        if u is not None:  # train: scale jitter, random crop, flip
            short = lo + min(int(u[0] * (hi - lo + 1)), hi - lo)
            H, W = short_side_shape(h0, w0, short)  # the shape resize_short_side gives
            top, left = min(int(u[1] * (H - size + 1)), H - size), min(int(u[2] * (W - size + 1)), W - size)
            flip = self.flip and u[3] < 0.5
        else:
            crops = self.crops if self.mode == "test" else 1
            short = size if crops == 3 else lo
            H, W = short_side_shape(h0, w0, short)
            top, left = crop_offsets(H, W, size, crop=w % crops, crops=crops)
            flip = False
        parts = []
        if self.modality != "flow":
            x = frames[:T].permute(0, 3, 1, 2)  # (T, H, W, 3) -> (T, 3, H, W), uint8, channels-last in memory
            x = resize_short_side(x, short)[..., top:top + size, left:left + size]  # (T, 3, size, size)
            # (T, 3, size, size) -> (3, T, size, size): one uint8 copy into the final layout, so the
            # float ops below run on contiguous memory (they are ~10x slower on the channels-last view)
            clip = x.permute(1, 0, 2, 3).contiguous()
            if flip:
                clip = clip.flip(-1)
            parts.append(normalize(clip, self.mean, self.std))
        if self.modality != "rgb":
            parts.append(self._flow_item(record, frames[T:], idx[T:], short=short, top=top, left=left, flip=flip))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)  # (3 + 2, T, size, size)

    def _flow_item(self, record: VideoRecord, frames: torch.Tensor, pairs: list[int], *, short: int, top: int,
                   left: int, flip: bool) -> torch.Tensor:
        """Per-frame flow float32 (2, T, size, size), (dx, dy) in pixels of the resized frames.

        ``frames`` uint8 (2T, H, W, 3) at file indices ``pairs``: the first frames of the T pairs,
        then their second frames. Each pair's flow is looked up (the last item's flows, then the
        disk cache) or computed on the frames resized to ``short`` and stored 8-bit; then cropped
        like the clip; ``flip`` mirrors it and negates dx (in 8-bit codes: 256 - q, clamped).
        """
        T = len(pairs) // 2
        pa, pb = pairs[:T], pairs[T:]
        fh, fw = short_side_shape(frames.shape[1], frames.shape[2], short)
        shape = (fh, fw, 2)
        source = f"framecache@{self.cache.short_side}" if self.cache is not None else "decoded"
        ident = f"{record.video_id}|{Path(record.path).name}|{source}|short={short}"
        disk = None  # flows of this video on disk: <flow_cache_dir>/<video_id>/<a>-<key>.npz
        if self.flow_cache_dir is not None:
            disk = _flow.FlowCache(Path(self.flow_cache_dir) / _flow._slug(record.video_id))
        q: dict[int, np.ndarray] = {}  # pair's first frame -> uint8 flow (fh, fw, 2)
        keys: dict[int, str] = {}
        todo: dict[int, int] = {}  # pair's first frame -> its row in frames
        for t, (a, b) in enumerate(zip(pa, pb)):
            if a in q or a in todo:
                continue
            if a == b:  # a one-frame video: no motion
                q[a] = np.full(shape, _flow.QUANT_ZERO, np.uint8)
                continue
            keys[a] = _flow.flow_cache_key(f"{ident}#{a}", method=self.flow_method, params=self.flow_params,
                                           bound=_flow.FLOW_BOUND, shape=shape)
            got = self._flow_memo.get(keys[a])
            if got is None and disk is not None:
                got = disk.load(f"{a:06d}", keys[a], shape)
            if got is None:
                todo[a] = t
            else:
                q[a] = got
        if todo:
            rows = list(todo.values())
            src = torch.cat([frames[rows], frames[[T + t for t in rows]]])  # (2M, H, W, 3): first frames, then second
            x = resize_short_side(src.permute(0, 3, 1, 2), short)  # (2M, 3, H, W) -> (2M, 3, fh, fw), as the clip
            gray = _flow.to_gray_frames(x.permute(0, 2, 3, 1).contiguous().numpy())  # (2M, fh, fw, 3) -> (2M, fh, fw)
            M = len(rows)
            for m, a in enumerate(todo):
                pair = gray[[m, M + m]]  # (2, fh, fw): frames a, a + 1
                f = _flow.compute_flow(pair, method=self.flow_method, params=self.flow_params)  # (1, fh, fw, 2)
                q[a] = _flow.quantize_flow(f[0])
                if disk is not None:
                    disk.save(f"{a:06d}", keys[a], q[a])
        self._flow_memo = {keys[a]: q[a] for a in keys}
        size = self.size
        out = np.stack([q[a] for a in pa])[:, top:top + size, left:left + size]  # (T, fh, fw, 2) -> (T, size, size, 2)
        if flip:
            out = out[:, :, ::-1].copy()  # mirror x ...
            out[..., 0] = np.minimum(256 - out[..., 0].astype(np.int16), 255).astype(np.uint8)  # ... and negate dx
        flow = _flow.dequantize_flow(np.ascontiguousarray(out))  # (T, size, size, 2) float32 pixels
        return torch.from_numpy(flow).permute(3, 0, 1, 2).contiguous()  # (T, size, size, 2) -> (2, T, size, size)

    # -- bad input bookkeeping --------------------------------------------------------------------

    def _append_line(self, entry: dict) -> None:
        if self.failures_file is None:
            return
        entry = {**entry, "epoch": self.epoch, "mode": self.mode, "pid": os.getpid(), "time": round(time.time(), 3)}
        line = (json.dumps(entry) + "\n").encode()
        os.makedirs(os.path.dirname(os.path.abspath(self.failures_file)), exist_ok=True)
        fd = os.open(self.failures_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)  # one write per line: appends from several processes do not interleave
        finally:
            os.close(fd)

    def _record_failure(self, e: VideoReadError, i: int) -> None:
        first = all(p.path != e.path for p in self.failures)
        self.failures.append(Problem(e.path, e.reason))
        self._append_line({"kind": "failure", "path": e.path, "reason": e.reason, "index": i})
        if first:
            logger.warning("cannot read %s (%s); item %d uses the next readable video", e.path, e.reason, i)

    def _file_entries(self) -> list[dict]:
        if self.failures_file is None or not os.path.exists(self.failures_file):
            return []
        out = []
        with open(self.failures_file, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: skip it
        return out

    def failure_count(self, *, epoch: int | None = None, unique: bool = False) -> int:
        """Failed reads so far: from ``failures_file`` if set (all processes), else this process's.

        ``epoch``: only those of that epoch; ``unique``: count distinct paths instead of reads.
        """
        if self.failures_file is not None:
            entries = [e for e in self._file_entries() if e.get("kind") == "failure"
                       and (epoch is None or e.get("epoch") == epoch)]
            paths = [e.get("path") for e in entries]
        else:
            if epoch is not None and epoch != self.epoch:
                return 0
            paths = [p.path for p in self.failures]
        return len(set(paths)) if unique else len(paths)

    def report(self) -> str:
        """Every problem, failed read and short video, one line each: ``kind  path: reason``."""
        failures: dict[tuple[str, str], int] = {}
        shorts: dict[str, str] = {p.path: p.reason for p in self.short_videos}
        entries = self._file_entries()
        if entries:
            for e in entries:
                if e.get("kind") == "failure":
                    key = (e.get("path", "?"), e.get("reason", "?"))
                    failures[key] = failures.get(key, 0) + 1
                elif e.get("kind") == "short":
                    shorts.setdefault(e.get("path", "?"), e.get("reason", "?"))
        else:
            for p in self.failures:
                failures[(p.path, p.reason)] = failures.get((p.path, p.reason), 0) + 1
        lines = [f"{self.num_videos} videos, {len(self.classes)} classes, mode={self.mode}: "
                 f"{len(self.problems)} problem(s) at construction, {sum(failures.values())} failed read(s) "
                 f"of {len(failures)} video(s), {len(shorts)} short video(s)"]
        lines += [f"problem  {p.path}: {p.reason}" for p in self.problems]
        lines += [f"failed   {path}: {reason} (x{n})" for (path, reason), n in failures.items()]
        lines += [f"short    {path}: {reason}" for path, reason in shorts.items()]
        return "\n".join(lines)

    def __getstate__(self) -> dict:  # the decoded-clip memo is not worth pickling into workers
        return {**self.__dict__, "_last_read": None, "_flow_memo": {}}

    def __repr__(self) -> str:
        return (f"VideoDataset(videos={self.num_videos}, classes={self.num_classes}, mode={self.mode!r}, "
                f"T={self.clip_frames}, size={self.size}, views={self.views_per_video}, problems={len(self.problems)}"
                + (f", modality={self.modality!r}, flow_method={self.flow_method!r})" if self.modality != "rgb" else ")"))


# ------------------------------------------------------------------------------------------------
# Builder
# ------------------------------------------------------------------------------------------------

_ANNOTATION_KWARGS = {
    "ucf101": ("annotation_dir",),
    "hmdb51": ("annotation_dir",),
    "kinetics": ("csv",),
    "ssv2": ("labels_json", "split_json"),
    "folder": (),
}
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


def _folder_subset(root: Path, split: str) -> str | None:
    """The subset folder a split of a plain folder dataset reads (None: root holds the classes)."""
    prefs = {"train": ("train",), "val": ("val", "validation", "test"), "test": ("test", "val", "validation")}[split]
    for name in prefs:
        if (root / name).is_dir():
            return name
    if any((root / n).is_dir() for n in ("train", "val", "validation", "test")):
        raise FileNotFoundError(f"{root} has subset folders but none for split {split!r} (looked for {prefs})")
    return None


def build_video_dataset(name: str, split: str, *, data_root: str | os.PathLike, fold: int = 1,
                        num_samples: int | None = None, seed: int = 0, **kwargs) -> VideoDataset:
    """Split ``split`` of dataset ``name`` (a key of ``ANNOTATIONS``) under ``data_root``.

    ``split``: ``"train"`` -> the train subset, train mode; ``"val"`` -> the test list (UCF-101,
    HMDB-51) or the validation set (Kinetics, SSv2), mode "val" (one centre clip, centre crop);
    ``"test"`` -> the same videos in mode "test" (``clips=10, crops=3`` unless given; ``clips`` and
    ``crops`` are ignored for the other splits, so one kwargs dict serves all three). ``fold``:
    the official split 1-3 (UCF-101, HMDB-51). ``num_samples``: a random subset of that many videos,
    fixed by ``seed`` (all videos if there are fewer). Annotation options (``annotation_dir``,
    ``csv``, ``labels_json``, ``split_json``) go to the parser; every other keyword to
    :class:`VideoDataset` (SSv2 defaults to ``flip=False``: its labels name directions), e.g.
    ``modality="rgb+flow", flow_method="farneback", flow_cache_dir=...`` for two-stream networks.
    """
    if name not in ANNOTATIONS:
        raise ValueError(f"unknown video dataset {name!r}; valid names: {', '.join(sorted(ANNOTATIONS))}")
    if split not in _SPLIT_IDS:
        raise ValueError(f"split={split!r} is not one of {tuple(_SPLIT_IDS)}")
    if data_root is None:
        raise ValueError(f"data_root is required for dataset {name!r} (the folder holding its videos)")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root={str(root)!r} is not a folder; pass the folder that holds the {name} videos")
    ann_kwargs = {k: kwargs.pop(k) for k in _ANNOTATION_KWARGS[name] if k in kwargs}
    stray = sorted({k for v in _ANNOTATION_KWARGS.values() for k in v} & set(kwargs))
    if stray:
        raise ValueError(f"{stray} do(es) not apply to dataset {name!r}; its annotation options: {_ANNOTATION_KWARGS[name]}")
    if name in ("ucf101", "hmdb51"):
        subset = "train" if split == "train" else "test"
        ann: Annotation = ANNOTATIONS[name](root, fold=fold, subset=subset, **ann_kwargs)
    else:
        if fold != 1:
            raise ValueError(f"fold={fold!r}: {name} has one official split; fold applies to ucf101 and hmdb51")
        if name == "folder":
            ann = ANNOTATIONS[name](root, subset=_folder_subset(root, split))
        else:
            ann = ANNOTATIONS[name](root, subset="train" if split == "train" else "val", **ann_kwargs)
    if split == "test":
        kwargs.setdefault("clips", DEFAULT_TEST_VIEWS[0])
        kwargs.setdefault("crops", DEFAULT_TEST_VIEWS[1])
    else:  # test views: one dataset_kwargs dict serves every split (TrainConfig), so they apply to "test" only
        kwargs.pop("clips", None)
        kwargs.pop("crops", None)
    if name == "ssv2":
        kwargs.setdefault("flip", False)
    records = ann.records
    if num_samples is not None:
        k = _check_int("num_samples", num_samples, 1)
        if k < len(records):
            pick = np.random.default_rng([seed, _SPLIT_IDS[split]]).permutation(len(records))[:k]
            records = [records[j] for j in sorted(pick.tolist())]
    return VideoDataset(records, ann.classes, mode=split, seed=seed, problems=ann.problems, **kwargs)
