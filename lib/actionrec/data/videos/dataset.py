"""Real video datasets (UCF-101, HMDB-51, Kinetics, Something-Something v2, a plain folder) as clips.

:class:`VideoDataset` turns a list of :class:`~.records.VideoRecord` (from :mod:`.annotations`)
into clips ``(3, T, H, W)`` float32, normalised, with the sampling and augmentation the papers
train and test with; :func:`.build.build_video_dataset` builds one from a dataset name, a split
and a data root (``actionrec.data.build_dataset("ucf101", "train", data_root=...)`` goes through it).
Frames come from :mod:`.video_io` (PyAV, one seek per clip) or a pre-decoded
:class:`~.frame_cache.FrameCache` (``cache_dir``). Data flow of ``ds[i]``::

    i ─→ video v = i // views_per_video, view w = i % views_per_video      (views: test mode only)
      ─→ VideoInfo (probed once per process, cached)  ─→ usable frames n (record.start/end window)
      ─→ frame indices (T,)                            :mod:`.sampling` (train / val / test / TSN)
      ─→ read_frames: uint8 (T, H, W, 3)               one seek, decode up to the last index
      ─→ resize shorter side, crop, flip (train), normalise  :mod:`.spatial` ─→ (clip, label)
      ─→ with flow: + per-frame flow (2, T, size, size) :mod:`.flow_frames`

Spatial: train resizes the shorter side to ``short_side`` (or, for a ``(lo, hi)`` pair, to a size
drawn uniformly from lo..hi: PySlowFast's scale jitter), crops ``size`` x ``size`` at random and
flips with probability 1/2; val resizes to ``short_side`` (lo of a pair) and crops the centre;
test with ``crops=3`` resizes the shorter side to ``size`` and takes three crops along the longer
side (PySlowFast's and MMAction2's three-crop testing); view w of a video is (clip w // crops,
crop w % crops).

Too-short videos: fewer usable frames than a clip needs is not a failure; indices are clamped
(``out_of_bound``) and the video is listed as short (:mod:`.failures`). A file whose decoding stops
at most ``max(2, 2%)`` frames before its header's count is read with its last decoded frame held
(listed as short); a larger shortfall is a failure. A video that fails to read is recorded and the
item is served by the next readable video (``v+1, v+2, ...`` wrapping; same view; its own label);
``strict=True`` raises instead. ``scan=True`` probes every video at construction and decodes its
first and last frame, so unreadable and truncated videos become problems before training starts.

Randomness (train mode): item ``i`` of epoch ``e`` draws its temporal start, scale, crop and flip
from ``np.random.default_rng([seed, e, i, attempt])`` (attempt > 0 only for replacements): the same
clip whatever the number of DataLoader workers, the order or the process. Call ``set_epoch(e)``
before creating the epoch's DataLoader iterator. val and test items are deterministic.

Departures from PySlowFast (``kinetics.py``) and MMAction2: PySlowFast samples a random val clip;
we take the centre clip and centre crop (MMAction2's val pipeline). PySlowFast retries a failed
read up to 10 times with random other videos and then raises, MMAction2 raises on a decode error;
we substitute the next readable video deterministically, always report it, and raise only with
``strict=True``.
"""

from __future__ import annotations

import logging
import operator
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ...utils.checks import check_choice, check_int, fail
from .. import flow as _flow
from ..flow import MODALITIES, MODALITY_CHANNELS
from .failures import BadVideoLog
from .flow_frames import per_frame_flow
from .frame_cache import FrameCache
from .records import Problem, VideoRecord
from .sampling import (MODES, OUT_OF_BOUND, clip_indices, clip_span, flow_pair_indices, frame_window,
                       random_clip_start, tail_tolerance, tsn_indices, uniform_clip_starts)
from .spatial import channel_stats, crop_offsets, normalize_clip, resize_short_side, short_side_shape
from .video_io import VideoInfo, VideoReadError, probe, read_clip, read_frames

__all__ = ["VideoDataset", "MAX_REPLACEMENTS"]

logger = logging.getLogger(__name__)

MAX_REPLACEMENTS = 64  # consecutive unreadable videos before __getitem__ gives up (RuntimeError)


class VideoDataset(BadVideoLog, Dataset):
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
            as SynthActions' (:mod:`.flow_frames`). ``.channels`` is 3, 5 or 2.
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
        self.mode = check_choice("mode", mode, MODES)
        self.frames = check_int("frames", frames, min_value=1)
        self.interval = check_int("interval", interval, min_value=1)
        self.segments = check_int("segments", segments, min_value=1, optional=True)
        self.size = check_int("size", size, min_value=1)
        if isinstance(short_side, (list, tuple)):
            if len(short_side) != 2:
                fail("short_side", short_side, "an int or a (lo, hi) pair")
            lo, hi = (check_int("short_side", s, min_value=1) for s in short_side)
        else:
            lo = hi = check_int("short_side", short_side, min_value=1)
        if not size <= lo <= hi:
            fail("short_side", short_side, f">= size={size} (and lo <= hi): the crop must fit")
        self.short_side = (lo, hi)
        self.clips = check_int("clips", clips, min_value=1)
        self.crops = check_int("crops", crops, min_value=1)
        if crops not in (1, 3):
            fail("crops", crops, "1 (centre) or 3 (start, centre, end)")
        if mode != "test" and (clips, crops) != (1, 1):
            raise ValueError(f"clips={clips}, crops={crops} are test views; mode={mode!r} takes one view per video "
                             "(use mode='test' for multi-view testing)")
        self.out_of_bound = check_choice("out_of_bound", out_of_bound, OUT_OF_BOUND)
        self.flip = bool(flip)
        self.mean, self.std = channel_stats(mean, "mean"), channel_stats(std, "std")
        if (self.std <= 0).any():
            fail("std", std, "values > 0")
        self.strict = bool(strict)
        self.seed = check_int("seed", seed, min_value=0)
        self.epoch = 0
        self.classes = list(classes)
        self.num_classes = len(self.classes)
        self._init_bad_video_log(failures_file)
        self.cache = FrameCache(cache_dir) if cache_dir is not None else None
        lo, hi = self.short_side
        if self.cache is not None and self.cache.short_side not in (None, 0) and lo == hi != self.cache.short_side:
            logger.warning("cache_dir=%s holds frames with shorter side %s but short_side=%s: frames are resized "
                           "a second time (close to, not equal to, decoding the videos); prepare a cache with "
                           "--short-side %s for identical clips", cache_dir, self.cache.short_side, lo, lo)
        self.problems: list[Problem] = list(problems)
        self._infos: dict[str, VideoInfo] = {}
        self._last_read: tuple[Any, torch.Tensor] | None = None  # test views of one clip share a decode
        self._set_flow(modality, flow_method, flow_params, flow_cache_dir)

        kept = []
        for r in records:
            if not isinstance(r, VideoRecord):
                raise ValueError("records must be VideoRecord objects (actionrec.data.videos.records); "
                                 f"got {type(r).__name__}")
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
        check_choice("modality", modality, MODALITIES)
        if method == "gt":
            raise ValueError("flow_method='gt' is SynthActions' exact (rendered) flow; real videos estimate it: "
                             f"use one of {list(_flow.available_methods())}")
        check_choice("flow_method", method, _flow.METHODS)
        if params is not None and not isinstance(params, dict):
            fail("flow_params", params, f"a dict of {method} parameters or None")
        if modality != "rgb":
            _flow.check_method(method)  # an unavailable method (tvl1 without OpenCV contrib) fails here
        _flow.method_params(method, params)  # unknown parameter names fail here, not at the first item
        self.modality, self.flow_method, self.flow_params = modality, method, (dict(params) if params else None)
        self.flow_cache_dir = os.fspath(cache_dir) if cache_dir is not None else None
        self.channels = MODALITY_CHANNELS[modality]
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

    def set_epoch(self, epoch: int) -> None:
        """Train-time augmentation of epoch ``epoch`` (call before creating the epoch's loader iterator)."""
        self.epoch = check_int("epoch", epoch, min_value=0)

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
        """read_frames; a file that stops at most tail_tolerance frames early is read clamped."""
        e = first_error
        if e is None:
            try:
                return read_frames(record.path, idx, info=info)
            except VideoReadError as err:
                e = err
        last = e.last_index if e.last_index is not None else -1
        if last < 0 or info.num_frames - (last + 1) > tail_tolerance(info.num_frames):
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
            # float ops below run on contiguous memory (not on the channels-last view)
            clip = x.permute(1, 0, 2, 3).contiguous()
            if flip:
                clip = clip.flip(-1)
            parts.append(normalize_clip(clip, self.mean, self.std))
        if self.modality != "rgb":
            parts.append(self._flow_item(record, frames[T:], idx[T:], short=short, top=top, left=left, flip=flip))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)  # (3 + 2, T, size, size)

    def _flow_item(self, record: VideoRecord, frames: torch.Tensor, pairs: list[int], *, short: int, top: int,
                   left: int, flip: bool) -> torch.Tensor:
        """Per-frame flow float32 (2, T, size, size) of ``frames`` uint8 (2T, H, W, 3) at file indices
        ``pairs`` (:func:`.flow_frames.per_frame_flow`), cached under ``flow_cache_dir/<video_id>/``."""
        source = f"framecache@{self.cache.short_side}" if self.cache is not None else "decoded"
        ident = f"{record.video_id}|{Path(record.path).name}|{source}|short={short}"
        disk = None  # flows of this video on disk: <flow_cache_dir>/<video_id>/<a>-<key>.npz
        if self.flow_cache_dir is not None:
            disk = _flow.FlowCache(Path(self.flow_cache_dir) / _flow.cache_slug(record.video_id))
        flow, self._flow_memo = per_frame_flow(frames, pairs, short=short, top=top, left=left, size=self.size,
                                               flip=flip, method=self.flow_method, params=self.flow_params,
                                               ident=ident, disk=disk, memo=self._flow_memo)
        return flow

    def __getstate__(self) -> dict:  # the decoded-clip memo is not worth pickling into workers
        return {**self.__dict__, "_last_read": None, "_flow_memo": {}}

    def __repr__(self) -> str:
        return (f"VideoDataset(videos={self.num_videos}, classes={self.num_classes}, mode={self.mode!r}, "
                f"T={self.clip_frames}, size={self.size}, views={self.views_per_video}, problems={len(self.problems)}"
                + (f", modality={self.modality!r}, flow_method={self.flow_method!r})" if self.modality != "rgb" else ")"))
