"""Video decoding with PyAV: probe a file, read the frames at given indices with one seek, write.

``probe(path)`` returns a :class:`VideoInfo` (frame count, fps, size, duration);
``read_frames(path, indices)`` the frames at 0-based ``indices`` as uint8 ``(T, H, W, 3)`` RGB;
``read_clip(path, index_fn)`` both on one open file (the dataset needs the frame count to choose its
indices); ``decode_all(path)`` every frame in order (the reference the seek path is tested
against); ``write_video`` encodes frames with H.264 / VP9 / MPEG-4 (tests and benchmarks write
their own videos). Every failure is a :class:`VideoReadError` with ``.path`` and a short
``.reason``: "missing", "empty file (0 bytes)", "unreadable: <av message>", "no video stream",
"zero frames", "truncated: decoded N of M frames", "corrupt: decoding failed after N of M frames
(<av message>)".

Data flow of ``read_frames(path, indices)``::

    indices (T,) any order, repeats allowed ─→ wanted = sorted(set(indices)), lo = wanted[0], hi = wanted[-1]
    open container, first video stream; its time_base tb, average frame rate r; t0 = pts of its
        first frame (VideoInfo.start_pts: the smallest pts of its first 16 packets, demuxed by probe)
    lo > SEEK_MARGIN (or the container is no longer at its start):
        seek(pts = t0 + (lo - SEEK_MARGIN) / (r * tb), backward=True)   ─→ the keyframe at or before lo
    decode packets in order; frame index of a decoded frame = round((pts - t0) * tb * r)
        frames before lo are decoded (the codec needs them) but never converted to RGB
        wanted index k takes the last decoded frame whose index is <= k (exact for constant frame
        rate; a gap in a variable-frame-rate stream repeats the previous frame)
        stop as soon as the frame of index hi is decoded               (nothing after it is decoded)
    ─→ RGB (H, W, 3) uint8 per wanted index ─→ gathered back to the order of ``indices`` ─→ (T, H, W, 3)

If the first frame after the seek is already past ``lo`` (a coarse seek index, or one keyed on
DTS), or frames carry no timestamps, the file is decoded again from its first frame. Frame counts
come from the container header, else from demuxing every packet once (webm / mkv, fragmented
mp4). Frame 0 is the first frame shown (an AVI with B-frames starts at pts 1 while claiming 0);
leading frames the decoder drops (open-GOP) hold frame 0, identically in the seek and sequential
paths.

Departures from PySlowFast (``decoder.py``, ``pyav_decode``: seeks in PTS with a fixed 1024-tick
margin, selects frames by timestamp range) and MMAction2 (``PyAVDecode``: "accurate" decodes from
the first frame, "efficient" seeks once per frame and keeps the keyframe it lands on): we seek once
to the keyframe before the first needed frame, address frames by exact index, stop after the last
needed one, and fall back to a sequential decode instead of returning fewer frames. A decode error
fails the whole read (as PySlowFast does); the dataset decides what to do with it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
import torch

__all__ = [
    "VIDEO_EXTENSIONS",
    "SEEK_MARGIN",
    "VideoReadError",
    "VideoInfo",
    "probe",
    "read_frames",
    "read_clip",
    "decode_all",
    "write_video",
]

#: File extensions treated as videos (lower case, with the dot).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv", ".3gp")
#: Frames subtracted from the seek target so that a keyframe whose DTS precedes its PTS by the
#: codec's reordering delay (B-frames) is still found before the first needed frame.
SEEK_MARGIN = 3


class VideoReadError(Exception):
    """A video could not be read. ``.path`` (str), ``.reason`` (short str); ``str(e) = f"{path}: {reason}"``.

    ``.last_index`` is the index of the last frame decoded before a ``truncated`` / ``corrupt``
    failure (-1 if none), else None; ``.info`` the file's :class:`VideoInfo` when it was probed.
    Constructing it with a single message (as PyTorch's DataLoader does when it re-raises a
    worker's exception) keeps the type: ``.reason`` is then empty.
    """

    def __init__(self, path: str | os.PathLike, reason: str = "", *, last_index: int | None = None):
        self.path = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
        self.reason = reason
        self.last_index = last_index
        self.info: VideoInfo | None = None
        super().__init__(f"{self.path}: {reason}" if reason else self.path)

    def __reduce__(self):  # picklable across processes (multiprocessing, DataLoader workers)
        return (_rebuild_error, (self.path, self.reason, self.last_index))


def _rebuild_error(path: str, reason: str, last_index: int | None) -> VideoReadError:
    return VideoReadError(path, reason, last_index=last_index)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` reports about the first video stream of a file."""

    path: str
    num_frames: int  # frames in the stream (header count, or packets counted by demuxing)
    fps: float  # average frame rate (0.0 if the container does not say)
    width: int
    height: int
    duration: float  # seconds: num_frames / fps (container duration when fps is unknown)
    start_pts: int | None = None  # pts of the first decoded frame (stream time_base): frame 0


# ------------------------------------------------------------------------------------------------
# Opening and probing
# ------------------------------------------------------------------------------------------------


def _av():
    try:
        import av  # noqa: PLC0415  (imported lazily: `import actionrec.data` must not need PyAV)
    except ImportError as e:  # pragma: no cover - PyAV is installed here
        raise ImportError("reading videos needs PyAV: pip install av") from e
    return av


def _av_message(e: BaseException) -> str:
    """FFmpeg's own message (``strerror``) without the errno noise; ``str(e)`` for other errors."""
    msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(str(msg).split())


def _open(path: str):
    """Open ``path`` -> (container, stream); raises VideoReadError (missing / empty / unreadable / no stream)."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise VideoReadError(path, "missing") from None
    except OSError as e:
        raise VideoReadError(path, f"unreadable: {_av_message(e)}") from None
    if size == 0:
        raise VideoReadError(path, "empty file (0 bytes)")
    av = _av()
    try:
        container = av.open(path, metadata_errors="ignore")
    except Exception as e:  # av.error.FFmpegError, OSError, ValueError ... all mean "cannot open"
        raise VideoReadError(path, f"unreadable: {_av_message(e)}") from None
    if not container.streams.video:
        container.close()
        raise VideoReadError(path, "no video stream")
    stream = container.streams.video[0]
    # One decoding thread. FFmpeg's default (a slice-thread pool per decoder) deadlocks DataLoader
    # workers: a decoder object still alive in the parent when workers fork is freed in the child,
    # which then joins threads that do not exist there (seen here: a hang in avpriv_slicethread_free).
    # Parallelism comes from DataLoader workers instead, one decoder each.
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1
    return container, stream


def _rate(stream) -> Fraction | None:
    """The stream's average frame rate as an exact fraction (None if unknown)."""
    for r in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if r is not None and r > 0:
            return Fraction(r)
    return None


def _count_packets(path: str) -> int:
    """Number of non-empty packets of the first video stream (a demux pass, no decoding)."""
    av = _av()
    try:
        with av.open(path, metadata_errors="ignore") as c:
            return sum(1 for p in c.demux(c.streams.video[0]) if p.size)
    except Exception:
        return 0


#: Packets demuxed to find frame 0's pts (more than any codec's reordering delay).
FIRST_PTS_PACKETS = 16


def _first_pts(container, stream, path: str) -> int | None:
    """pts of the first frame: the smallest pts among the first packets (the container is left
    mid-stream); None if they carry none. Packets are in decode order, so with B-frames the first
    one shown is not the first one stored; demuxing costs no decoding."""
    pts = []
    try:
        for n, packet in enumerate(container.demux(stream)):
            if packet.size and packet.pts is not None and not packet.is_discard:
                pts.append(packet.pts)
            if n + 1 >= FIRST_PTS_PACKETS:
                break
    except Exception as e:
        raise VideoReadError(path, f"unreadable: {_av_message(e)}") from None
    if not pts and stream.frames == 0:
        raise VideoReadError(path, "zero frames")
    return min(pts) if pts else None


def _info(container, stream, path: str) -> VideoInfo:
    """VideoInfo of an open file; demuxes its first packets (the container is left mid-stream)."""
    rate = _rate(stream)
    n = int(stream.frames or 0)
    if n <= 0:
        n = _count_packets(path)
    if n <= 0:
        raise VideoReadError(path, "zero frames")
    start_pts = _first_pts(container, stream, path)
    fps = float(rate) if rate else 0.0
    if fps > 0:
        duration = n / fps
    else:
        duration = float(container.duration) / 1e6 if container.duration else 0.0
    ctx = stream.codec_context
    return VideoInfo(path=path, num_frames=n, fps=fps, width=int(ctx.width), height=int(ctx.height),
                     duration=duration, start_pts=start_pts)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps, size and duration of the first video stream of ``path``.

    Raises :class:`VideoReadError` with reason ``"missing"``, ``"empty file (0 bytes)"``,
    ``"unreadable: <av message>"``, ``"no video stream"`` or ``"zero frames"``.
    """
    path = os.fspath(path)
    container, stream = _open(path)
    try:
        return _info(container, stream, path)
    finally:
        container.close()


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


def _check_indices(indices: Sequence[int] | np.ndarray | torch.Tensor, info: VideoInfo) -> list[int]:
    if isinstance(indices, torch.Tensor):
        indices = indices.tolist()
    try:
        idx = [int(i) for i in np.asarray(indices).reshape(-1)]
    except (TypeError, ValueError):
        raise ValueError(f"indices must be a sequence of ints (frame numbers); got {indices!r}") from None
    if not idx:
        raise ValueError("indices is empty; pass at least one frame index")
    bad = [i for i in idx if not 0 <= i < info.num_frames]
    if bad:
        raise ValueError(
            f"indices {bad[:5]} out of range for {info.path} ({info.num_frames} frames: valid 0..{info.num_frames - 1})"
        )
    return idx


class _Overshoot(Exception):
    """The first frame after a seek is already past the first wanted index (or has no pts)."""


def _to_rgb(frame, width: int, height: int) -> np.ndarray:
    if frame.width != width or frame.height != height:  # a mid-stream size change: keep the first size
        return frame.to_ndarray(format="rgb24", width=width, height=height)
    return frame.to_ndarray(format="rgb24")


def _decode(container, stream, info: VideoInfo, wanted: list[int], *, seek: bool) -> dict[int, np.ndarray]:
    """Frames (RGB uint8) at the sorted unique ``wanted`` indices (module docstring).

    ``seek``: seek to the keyframe before ``wanted[0]`` first; else decode from where the container
    is, which must be its start (freshly opened). Raises _Overshoot when a seek cannot be trusted.
    """
    rate = _rate(stream)
    tb = stream.time_base
    t0 = info.start_pts if info.start_pts is not None else (stream.start_time or 0)
    timed = rate is not None and tb is not None
    lo = wanted[0]
    seeked = False
    if seek:
        if not timed:
            raise _Overshoot  # no timestamps to seek by: decode from the start instead
        if lo > SEEK_MARGIN:
            target = t0 + math.floor(Fraction(lo - SEEK_MARGIN) / (rate * tb))
        else:  # back to the first keyframe (an index keyed on DTS can start before frame 0's pts)
            target = min(t0, stream.start_time if stream.start_time is not None else t0)
        container.seek(int(target), stream=stream, backward=True, any_frame=False)
        seeked = True
    got: dict[int, np.ndarray] = {}
    j = 0  # next wanted index to fill
    prev = None  # last decoded frame (converted only if a wanted index needs it)
    position = -1  # decode-order position (used when frames carry no timestamps)
    last = -1  # index of the last decoded frame
    try:
        for frame in container.decode(stream):
            position += 1
            if timed and frame.pts is not None:
                k = round((frame.pts - t0) * tb * rate)  # exact rational arithmetic
            elif last >= 0:
                k = last + 1  # a frame without pts (e.g. the last one flushed from an AVI with B-frames)
            elif seeked:
                raise _Overshoot  # no timestamp after a seek: we cannot tell where we landed
            else:
                k = position
            if prev is None and k > lo and seeked:
                raise _Overshoot  # landed after the first wanted frame (coarse or DTS-keyed index)
            while j < len(wanted) and wanted[j] < k:  # wanted frames in a gap: the previous frame holds
                # (before the first decodable frame of the file, that first frame holds)
                got[wanted[j]] = _to_rgb(prev if prev is not None else frame, info.width, info.height)
                j += 1
            if j < len(wanted) and wanted[j] == k:
                got[k] = _to_rgb(frame, info.width, info.height)
                j += 1
            prev, last = frame, max(last, k)
            if j == len(wanted):
                break
    except _Overshoot:
        raise
    except Exception as e:  # av.error.FFmpegError and friends: a packet the decoder rejects
        raise VideoReadError(
            info.path, f"corrupt: decoding failed after {len(got)} of {len(wanted)} frames ({_av_message(e)})",
            last_index=last,
        ) from None
    if j < len(wanted):
        raise VideoReadError(info.path, f"truncated: decoded {len(got)} of {len(wanted)} frames", last_index=last)
    return got


def _read_open(container, stream, info: VideoInfo, indices: list[int], *, at_start: bool) -> torch.Tensor:
    """Decode ``indices`` from an open container (``at_start``: nothing demuxed from it yet)."""
    wanted = sorted(set(indices))
    try:  # frames near the start of a fresh container need no seek
        got = _decode(container, stream, info, wanted, seek=not (at_start and wanted[0] <= SEEK_MARGIN))
    except _Overshoot:  # the seek landed past the first wanted frame: reopen, decode from frame 0
        container, stream = _open(info.path)  # (the caller closes the first container)
        try:
            got = _decode(container, stream, info, wanted, seek=False)
        finally:
            container.close()
    out = np.stack([got[i] for i in indices])  # (T, H, W, 3) in the order asked for
    return torch.from_numpy(out)


def read_frames(path: str | os.PathLike, indices, *, info: VideoInfo | None = None) -> torch.Tensor:
    """Frames of ``path`` at 0-based ``indices`` (any order, repeats allowed) -> uint8 ``(T, H, W, 3)`` RGB.

    One seek to the keyframe before ``min(indices)``; decoding stops after ``max(indices)``. Pass
    ``info`` (from :func:`probe`) to skip the frame count. Raises :class:`VideoReadError` for a bad
    file (reasons in the module docstring) and ``ValueError`` for indices outside the video.
    """
    return read_clip(path, lambda _info: indices, info=info)[0]


def read_clip(path: str | os.PathLike, index_fn: Callable[[VideoInfo], Sequence[int]], *,
              info: VideoInfo | None = None) -> tuple[torch.Tensor, VideoInfo, list[int]]:
    """Open ``path`` once, choose indices with ``index_fn(info)``, read them.

    Returns ``(frames uint8 (T, H, W, 3), info, indices)``. ``info`` may be passed (e.g. cached by
    the caller) to skip counting frames.
    """
    path = os.fspath(path)
    container, stream = _open(path)
    try:
        touched = info is None or info.start_pts is None  # decoding frame 0 leaves it mid-stream
        if info is None:
            info = _info(container, stream, path)
        elif info.start_pts is None:  # a VideoInfo made elsewhere: learn frame 0's pts here
            info = dataclasses.replace(info, start_pts=_first_pts(container, stream, path))
        idx = _check_indices(index_fn(info), info)
        return _read_open(container, stream, info, idx, at_start=not touched), info, idx
    except VideoReadError as e:
        e.info = e.info or info
        raise
    finally:
        container.close()


def decode_all(path: str | os.PathLike) -> torch.Tensor:
    """Every frame of ``path`` in decode order, no seeking -> uint8 ``(N, H, W, 3)`` (a reference)."""
    path = os.fspath(path)
    container, stream = _open(path)
    try:
        ctx = stream.codec_context
        frames = [_to_rgb(f, ctx.width, ctx.height) for f in container.decode(stream)]
    except Exception as e:
        raise VideoReadError(path, f"corrupt: decoding failed ({_av_message(e)})") from None
    finally:
        container.close()
    if not frames:
        raise VideoReadError(path, "zero frames")
    return torch.from_numpy(np.stack(frames))


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------

_CODECS = ("h264", "libvpx-vp9", "mpeg4")


def write_video(path: str | os.PathLike, frames, *, fps: int = 25, codec: str = "h264",
                crf: int | None = None, gop: int | None = None, options: dict[str, str] | None = None) -> None:
    """Write uint8 RGB ``frames`` ``(T, H, W, 3)`` (NumPy or torch) to ``path`` (container from the extension).

    Args:
        fps: frame rate (int).
        codec: ``"h264"`` (libx264, mp4/mkv/avi), ``"libvpx-vp9"`` (webm/mkv) or ``"mpeg4"`` (avi, as
            UCF-101 / HMDB-51 ship). Pixel format yuv420p, so H and W must be even.
        crf: constant quality (lower = closer to the input) for h264 and vp9; for mpeg4 the
            largest quantiser allowed (``qmax``, 1..31).
        gop: keyframe interval in frames (x264's scene-cut keyframes are switched off when set, so
            keyframes fall exactly every ``gop`` frames).
        options: extra encoder options (strings), e.g. ``{"bf": "2"}``.
    """
    av = _av()
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be uint8 (T, H, W, 3) with T >= 1; got {frames.dtype} {frames.shape}")
    if codec not in _CODECS:
        raise ValueError(f"codec={codec!r} is not one of {_CODECS}")
    T, H, W, _ = frames.shape
    if H % 2 or W % 2:
        raise ValueError(f"frame size {H}x{W} must be even (yuv420p); crop or pad the frames")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps={fps!r} must be an int >= 1")
    opts = dict(options or {})
    if crf is not None and codec == "mpeg4":  # no crf: bound the quantiser instead (1 = best)
        opts.setdefault("qmin", "1")
        opts.setdefault("qmax", str(max(int(crf), 1)))
    elif crf is not None:
        opts.setdefault("crf", str(crf))
        if codec == "libvpx-vp9":
            opts.setdefault("b:v", "0")  # constant-quality mode
    if gop is not None and codec == "h264":
        opts.setdefault("x264-params", "scenecut=0")
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=opts)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = int(gop)
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():  # flush
            container.mux(packet)
