"""Temporal sampling of real videos: which frame indices a clip, a TSN sample or a flow pair reads.

Pure functions of the usable frame count ``n`` (a record's time window, :func:`frame_window`).
With ``frames`` T, ``interval`` s and span ``L = (T - 1) * s + 1`` frames::

    train   start ~ U{0 .. max(n - L, 0)}; indices start + s * arange(T)            (PySlowFast, MMAction2)
    val     one clip, start = floor((max(n - L, 0) + 1) / 2)  (the centre clip)
    test    K clips, start_k = floor((max(n - L, 0) + 1) * (k + 0.5) / K), k = 0..K-1
            (MMAction2's SampleFrames(test_mode=True): K clips uniformly spread, centred in K bins)
    TSN     N segments, one frame each: index_j = floor(n * (j + o_j) / N), o_j ~ U[0, 1) in train,
            (k + 0.5) / K for test view k of K (val: the segment centres)

A clip longer than the video clamps its indices to the last frame (``out_of_bound="clamp"``,
PySlowFast's choice) or wraps around (``"loop"``, MMAction2's default). Flow pairs
(:func:`flow_pair_indices`) are consecutive video frames whatever the clip's interval.

Departure from TSN: segments of n / N frames with the floor of a continuous position cover all n
frames; TSN's ``n // N`` leaves the last ``n % N`` frames out.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .records import VideoRecord
from .video_io import VideoInfo, VideoReadError

__all__ = ["MODES", "OUT_OF_BOUND", "clip_span", "clip_indices", "random_clip_start", "uniform_clip_starts",
           "tsn_indices", "flow_pair_indices", "frame_window", "tail_tolerance"]

MODES = ("train", "val", "test")
OUT_OF_BOUND = ("clamp", "loop")


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


def tail_tolerance(num_frames: int) -> int:
    """Frames a file may fall short of its header's count and still be used (:mod:`.dataset`: a held tail)."""
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
