"""Optical flow for the motion stream: estimation, 8-bit storage, an on-disk cache.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017, ``shared/papers/multiplier.txt``), Sec. 3.1 and 4.1: the motion stream
sees "a stack of L = 10 horizontal and vertical optical flow frames" (2L = 20 channels); flow
(TV-L1, Zach et al. [42]) "is precomputed prior to training and stored as JPEG images (with
displacement vectors > 20 pixels clipped)". Stacking follows Simonyan & Zisserman's two-stream
paper [28] (their eq. 1: x and y displacements interleaved); the model stacks the per-frame flow
itself (:mod:`actionrec.layers.flow_stack`: centred on the frame, as the official code, or forward
from it, S&Z's eq. 1), so nothing stored here depends on the stacking.

Data flow::

    frames uint8 (T, H, W, 3)  or  clip tensor (3, T, H, W)    (uint8, or float normalised with mean/std)
      → grey (T, H, W) uint8                                    to_gray_frames
      → flow between consecutive frames (T-1, H, W, 2) f32      compute_flow: (dx, dy) in pixels, t → t+1
      → clip to ±20 px, 8-bit: q = round(128 + d·255/40)        quantize_flow (uint8, 128 = no motion)
      → on disk, once per (video id, parameters)                cached_flow / FlowCache (atomic .npz)
      → back to pixels: d = (q - 128)·40/255                    dequantize_flow (step 0.157 px)
      → stacks of L flows per frame (2L channels, x/y interleaved; in the model): actionrec.layers.flow_stack

Methods (``method=``): ``"farneback"`` (OpenCV's ``calcOpticalFlowFarneback``, always available;
``FARNEBACK_PARAMS``, overridable with ``params``), ``"tvl1"`` (the paper's TV-L1 via
``cv2.optflow.DualTVL1OpticalFlow_create``; only in OpenCV builds with the contrib modules -- a
clear error otherwise; ``available_methods()`` says which are there) and ``"dis"`` (OpenCV's DIS,
preset ``params={"preset": "medium"}``). OpenCV's flow is deterministic for a given build, so
cached and recomputed flows agree.

Cache. ``cached_flow(video_id, frames, cache_dir=...)`` stores the quantised flow of one video as
``<cache_dir>/<video_id slug>-<key>.npz`` where ``key`` hashes (video id, method, parameters,
bound, frame shape, format version): any change of parameters is a new file. Writes go to a temp
file in the same directory and are ``os.replace``'d (never a partial file, safe with several
processes); a file that cannot be read back or does not match its key is reported with a
``RuntimeWarning`` and recomputed.

``MODALITIES`` names what a dataset item holds (the clip, clip + per-frame flow, or flow alone),
shared by SynthActions and the real-video datasets.

Departures from the paper (:ref:`readings-multiplier-training`): Farneback by default (OpenCV without
the contrib modules has no TV-L1); flow is kept as raw 8-bit arrays (lossless) instead of JPEG;
quantisation maps 0 to 128 (the paper's tools map [-20, 20] linearly onto [0, 255], i.e. 0 to 127.5).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..utils.io import atomic_write

__all__ = [
    "FLOW_BOUND",
    "QUANT_ZERO",
    "METHODS",
    "MODALITIES",
    "MODALITY_CHANNELS",
    "CLIP_MEAN",
    "CLIP_STD",
    "FARNEBACK_PARAMS",
    "DIS_PARAMS",
    "TVL1_PARAMS",
    "available_methods",
    "check_method",
    "method_params",
    "to_gray_frames",
    "compute_flow",
    "quantize_flow",
    "dequantize_flow",
    "end_point_error",
    "flow_cache_key",
    "cache_slug",
    "FlowCache",
    "cached_flow",
]

FLOW_BOUND = 20.0  # |displacement| clipped to this many pixels before 8-bit storage (paper: 20)
QUANT_ZERO = 128  # uint8 code of zero displacement
METHODS = ("farneback", "tvl1", "dis")
MODALITIES = ("rgb", "rgb+flow", "flow")  # what a dataset item holds: clip, clip + per-frame flow, flow
MODALITY_CHANNELS = {"rgb": 3, "rgb+flow": 5, "flow": 2}  # channels of an item of each modality
# A float clip given to to_gray_frames without mean/std is taken as (x / 255 - CLIP_MEAN) / CLIP_STD:
# SynthActions' normalisation (actionrec.data.synthactions.MEAN, STD; a test checks they agree).
CLIP_MEAN, CLIP_STD = 0.5, 0.25
_CACHE_VERSION = 1  # bump when the stored format or the estimator wrappers change

# Farneback on 32x32-64x64 frames: a 7-pixel window (OpenCV's example uses 15 px for VGA video),
# chosen against SynthActions' ground-truth flow.
FARNEBACK_PARAMS: dict[str, Any] = dict(pyr_scale=0.5, levels=2, winsize=7, iterations=3, poly_n=5,
                                        poly_sigma=1.1, flags=0)
DIS_PARAMS: dict[str, Any] = dict(preset="medium")  # "ultrafast" | "fast" | "medium"
TVL1_PARAMS: dict[str, Any] = {}  # passed to cv2.optflow.DualTVL1OpticalFlow_create(**params)


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - the environment ships it
        raise ImportError("actionrec.data.flow needs OpenCV: pip install opencv-python-headless") from e
    return cv2


def available_methods() -> tuple[str, ...]:
    """The flow ``method`` names this OpenCV build supports ("tvl1" needs the contrib modules)."""
    cv2 = _cv2()
    out = ["farneback"]
    if hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create"):
        out.append("tvl1")
    if hasattr(cv2, "DISOpticalFlow_create"):
        out.append("dis")
    return tuple(out)


def check_method(method: str) -> None:
    """Raise unless ``method`` is a flow method this OpenCV build has (a clear error naming the others)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not valid; use one of {list(METHODS)}")
    if method not in available_methods():
        cv2 = _cv2()
        raise RuntimeError(
            f"method={method!r} is not available in this OpenCV build (cv2 {cv2.__version__}: "
            f"{'no cv2.optflow' if method == 'tvl1' else 'no ' + method}); TV-L1 needs "
            "opencv-contrib-python(-headless). Use method='farneback' (or 'dis') instead; available: "
            f"{list(available_methods())}")


def method_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``method``'s default parameters updated with ``params`` (unknown names raise ``ValueError``)."""
    base = {"farneback": FARNEBACK_PARAMS, "tvl1": TVL1_PARAMS, "dis": DIS_PARAMS}[method]
    out = dict(base)
    if params is not None:
        if not isinstance(params, Mapping):
            raise ValueError(f"params={params!r} must be a dict of {method} parameters or None")
        unknown = sorted(set(params) - set(base)) if method != "tvl1" else []
        if unknown:
            raise ValueError(f"params has unknown {method} parameter(s) {unknown}; valid: {sorted(base)}")
        out.update(params)
    return out


# --------------------------------------------------------------------------------------------
# Frames in, flow out
# --------------------------------------------------------------------------------------------
def to_gray_frames(frames, *, mean: float | None = None, std: float | None = None) -> np.ndarray:
    """Frames → grey uint8 ``(T, H, W)``.

    ``frames``: uint8 numpy ``(T, H, W, 3)`` (or ``(T, H, W)`` grey), or a torch tensor ``(3, T, H, W)``
    -- uint8, or float normalised as ``(x / 255 - mean) / std`` (default ``CLIP_MEAN``, ``CLIP_STD``).
    """
    if isinstance(frames, torch.Tensor):
        x = frames.detach().cpu()
        if x.dim() != 4 or x.shape[0] != 3:
            raise ValueError(f"frames tensor must be (3, T, H, W); got {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            rgb = x.permute(1, 2, 3, 0).numpy()  # (3, T, H, W) -> (T, H, W, 3)
        elif x.is_floating_point():
            m, s = (CLIP_MEAN if mean is None else mean), (CLIP_STD if std is None else std)
            rgb = np.clip(np.rint((x.permute(1, 2, 3, 0).numpy() * s + m) * 255.0), 0, 255).astype(np.uint8)  # (T, H, W, 3)
        else:
            raise ValueError(f"frames tensor must be uint8 or float; got {x.dtype}")
    else:
        rgb = np.asarray(frames)
        if rgb.dtype != np.uint8:
            raise ValueError(f"frames array must be uint8 (T, H, W, 3); got dtype {rgb.dtype}. "
                             "Pass a float clip as a (3, T, H, W) torch tensor instead.")
        if rgb.ndim == 3:
            return np.ascontiguousarray(rgb)
        if rgb.ndim != 4 or rgb.shape[-1] != 3:
            raise ValueError(f"frames array must be (T, H, W, 3) or (T, H, W); got {rgb.shape}")
    cv2 = _cv2()
    return np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in rgb])


def compute_flow(frames, *, method: str = "farneback", params: Mapping[str, Any] | None = None,
                 **gray_kwargs) -> np.ndarray:
    """Dense flow between consecutive frames: float32 ``(T-1, H, W, 2)``, (dx, dy) in pixels from
    frame t to t+1 (x right, y down), unclipped. ``frames`` as in :func:`to_gray_frames`."""
    check_method(method)
    p = method_params(method, params)
    gray = to_gray_frames(frames, **gray_kwargs)
    if len(gray) < 2:
        raise ValueError(f"frames must hold at least 2 frames to compute flow; got {len(gray)}")
    T, H, W = gray.shape
    out = np.empty((T - 1, H, W, 2), dtype=np.float32)
    cv2 = _cv2()
    if method == "farneback":
        for t in range(T - 1):
            out[t] = cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, p["pyr_scale"], p["levels"],
                                                  p["winsize"], p["iterations"], p["poly_n"], p["poly_sigma"],
                                                  p["flags"])
        return out
    if method == "dis":
        presets = {"ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST, "fast": cv2.DISOpticalFlow_PRESET_FAST,
                   "medium": cv2.DISOpticalFlow_PRESET_MEDIUM}
        if p["preset"] not in presets:
            raise ValueError(f"params['preset']={p['preset']!r} must be one of {list(presets)}")
        dis = cv2.DISOpticalFlow_create(presets[p["preset"]])
    else:  # tvl1
        dis = cv2.optflow.DualTVL1OpticalFlow_create(**p)
    for t in range(T - 1):
        out[t] = dis.calc(gray[t], gray[t + 1], None)
    return out


def quantize_flow(flow, bound: float = FLOW_BOUND) -> np.ndarray:
    """Float flow (pixels) → uint8: clip to ±bound, ``q = round(128 + d · 255 / (2 bound))`` (half to
    even), clamp to [0, 255]: +bound maps to 255, -bound to 0, 0 to 128. Round trip error ≤
    ``bound / 255`` (half a step) inside the bound; every code decodes and re-encodes to itself."""
    if bound <= 0:
        raise ValueError(f"bound={bound!r} must be > 0 (pixels)")
    f = flow.detach().cpu().numpy() if isinstance(flow, torch.Tensor) else np.asarray(flow, dtype=np.float32)
    q = np.rint(QUANT_ZERO + np.clip(f, -bound, bound) * (255.0 / (2.0 * bound)))  # ±20 px -> 128 ∓ 127.5 exactly
    return np.clip(q, 0, 255).astype(np.uint8)


def dequantize_flow(q, bound: float = FLOW_BOUND) -> np.ndarray:
    """uint8 flow → float32 pixels ``(q - 128) · 2 bound / 255`` (inverse of :func:`quantize_flow`;
    code 0 decodes to -20.08 px, code 255 to +19.92 px)."""
    q = np.asarray(q)
    if q.dtype != np.uint8:
        raise ValueError(f"quantised flow must be uint8; got dtype {q.dtype}")
    return (q.astype(np.float32) - QUANT_ZERO) / np.float32(255.0 / (2.0 * bound))


def end_point_error(flow, ref, mask=None) -> float:
    """Mean end-point error ``mean ||flow - ref||_2`` over ``(..., 2)`` vectors (where ``mask``)."""
    e = np.linalg.norm(np.asarray(flow, dtype=np.float64) - np.asarray(ref, dtype=np.float64), axis=-1)
    if mask is not None:
        e = e[np.asarray(mask, dtype=bool)]
    if e.size == 0:
        raise ValueError("end_point_error: no vectors selected (empty mask)")
    return float(e.mean())


# --------------------------------------------------------------------------------------------
# On-disk cache
# --------------------------------------------------------------------------------------------
def flow_cache_key(video_id: str, *, method: str, params: Mapping[str, Any] | None, bound: float,
                   shape: Sequence[int]) -> str:
    """Hex digest identifying the flow of ``video_id`` computed with these settings."""
    blob = json.dumps({"video": str(video_id), "method": method, "params": method_params(method, params),
                       "bound": float(bound), "shape": [int(s) for s in shape], "version": _CACHE_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cache_slug(video_id: str) -> str:
    """``video_id`` as a safe file-name part (at most 80 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(video_id)).strip("._")[:80] or "video"


class FlowCache:
    """A directory of quantised flows, one ``.npz`` per (video, settings); see the module doc."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, video_id: str, key: str) -> Path:
        return self.root / f"{cache_slug(video_id)}-{key}.npz"

    def load(self, video_id: str, key: str, shape: Sequence[int]) -> np.ndarray | None:
        """The stored uint8 flow, or None if absent; a corrupt / mismatching file warns and gives None."""
        path = self.path(video_id, key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                stored_key, q = str(z["key"]), z["flow"]
            if stored_key != key or q.dtype != np.uint8 or tuple(q.shape) != tuple(shape):
                raise ValueError(f"holds key {stored_key!r} shape {q.shape} dtype {q.dtype}, "
                                 f"expected {key!r} {tuple(shape)} uint8")
        except Exception as e:  # noqa: BLE001 - any unreadable file is recomputed
            warnings.warn(f"flow cache file {path} is corrupt ({type(e).__name__}: {e}); recomputing it",
                          RuntimeWarning, stacklevel=3)
            return None
        return q

    def save(self, video_id: str, key: str, q: np.ndarray) -> Path:
        """Write atomically (temp file in the same directory, then ``os.replace``; no fsync: a cache)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(video_id, key)
        atomic_write(path, lambda f: np.savez_compressed(f, flow=q, key=np.array(key)), durable=False)
        return path


def cached_flow(video_id: str, frames, *, cache_dir: str | os.PathLike | None, method: str = "farneback",
                params: Mapping[str, Any] | None = None, bound: float = FLOW_BOUND, **gray_kwargs) -> np.ndarray:
    """Quantised flow uint8 ``(T-1, H, W, 2)`` of ``frames``, computed once per (video_id, settings).

    ``cache_dir=None`` computes without storing. ``video_id`` must identify the frames (e.g.
    ``"synthactions/easy/0/train/17/16x32x32"``): the cache trusts it and never looks at the pixels.
    """
    check_method(method)
    gray = to_gray_frames(frames, **gray_kwargs)
    T, H, W = gray.shape
    shape = (T - 1, H, W, 2)
    if cache_dir is None:
        return quantize_flow(compute_flow(gray, method=method, params=params), bound)
    cache = FlowCache(cache_dir)
    key = flow_cache_key(video_id, method=method, params=params, bound=bound, shape=shape)
    q = cache.load(video_id, key, shape)
    if q is None:
        q = quantize_flow(compute_flow(gray, method=method, params=params), bound)
        cache.save(video_id, key, q)
    return q
