"""Optical flow of real video clips: per-frame flow estimated on the decoded frames, cached, cropped.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks" (CVPR 2017,
``shared/papers/multiplier.txt``), Sec. 4.1: flow between consecutive frames of the video,
displacements clipped to 20 px, stored as 8-bit images. A ``VideoDataset`` item with
``modality="rgb+flow"`` is laid out as SynthActions': ``(5, T, size, size)`` = the normalised clip
(the "rgb" item bit for bit), then per-frame flow (dx, dy) in pixels (x right, y down); ``"flow"``
gives the flow alone. Per item::

    clip frame indices j_t (T,) ─→ pairs (a_t, b_t) = (clip(j_t, s, e - 2), a_t + 1)   sampling.flow_pair_indices
         (window s .. e - 1: consecutive video frames whatever ``interval``; the last frame repeats
          the flow into it; e = the frames that actually decode, for a file cut short of its header)
      ─→ read_frames(j ∪ a ∪ b): uint8 (3T, H, W, 3)   the same single seek and decode as the clip
      ─→ per distinct a_t: in the last item's flows (memo)? in the disk cache? else
           resize (a_t, b_t) to the clip's shorter side ─→ grey ─→ flow.compute_flow (farneback |
           tvl1 | dis) ─→ clip ±20 px, 8-bit (flow.quantize_flow) ─→ FlowCache file
      ─→ (T, H', W', 2) uint8 ─→ the clip's crop ─→ flip (with the clip): mirror, dx code q → 256 - q
      ─→ dequantize_flow: float32 pixels (step 40/255 px) ─→ (2, T, size, size)

Flow is in pixels of the resized frames the crop is cut from (3-crop test views resize to
``size``, so theirs is smaller by that factor). Cache: one ``.npz`` per (video, frame a_t, method,
parameters, shorter side, frame source), ``<dir>/<video_id>/<a_t>-<key>.npz``, written atomically
by :class:`actionrec.data.flow.FlowCache` (safe with DataLoader workers and DDP ranks), so every
flow is estimated once. Train-time scale jitter caches each shorter side separately.

Departures: the paper's motion stream stacks L = 10 consecutive flows around a frame; the model
stacks the per-frame flows of the clip's frames (``actionrec.layers.flow_stack``, centred or
forward: ``flow_stacking``; the cache holds per-frame flow only, the same for either), so with
``interval`` s > 1 a stack holds L flows s frames apart. Farneback by default (TV-L1 needs the
OpenCV contrib modules); 8-bit arrays instead of JPEG; flow estimated on the fly at the first
epoch instead of precomputed for every frame.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import flow as _flow
from .spatial import resize_short_side, short_side_shape

__all__ = ["per_frame_flow"]


def per_frame_flow(frames: torch.Tensor, pairs: list[int], *, short: int, top: int, left: int, size: int,
                   flip: bool, method: str, params: dict | None, ident: str, disk: _flow.FlowCache | None,
                   memo: dict[str, np.ndarray]) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Per-frame flow float32 (2, T, size, size), (dx, dy) in pixels of the resized frames, and the
    memo of this item's 8-bit flows (the next item's ``memo``: test crops of one clip share them).

    ``frames`` uint8 (2T, H, W, 3) at file indices ``pairs``: the first frames of the T pairs,
    then their second frames. Each pair's flow is looked up (``memo``, then ``disk``, keyed by
    ``ident`` and the settings) or computed on the frames resized to ``short`` and stored 8-bit;
    then cropped like the clip (``top``, ``left``, ``size``); ``flip`` mirrors it and negates dx
    (in 8-bit codes: 256 - q, clamped).
    """
    T = len(pairs) // 2
    pa, pb = pairs[:T], pairs[T:]
    fh, fw = short_side_shape(frames.shape[1], frames.shape[2], short)
    shape = (fh, fw, 2)
    q: dict[int, np.ndarray] = {}  # pair's first frame -> uint8 flow (fh, fw, 2)
    keys: dict[int, str] = {}
    todo: dict[int, int] = {}  # pair's first frame -> its row in frames
    for t, (a, b) in enumerate(zip(pa, pb)):
        if a in q or a in todo:
            continue
        if a == b:  # a one-frame video: no motion
            q[a] = np.full(shape, _flow.QUANT_ZERO, np.uint8)
            continue
        keys[a] = _flow.flow_cache_key(f"{ident}#{a}", method=method, params=params, bound=_flow.FLOW_BOUND,
                                       shape=shape)
        got = memo.get(keys[a])
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
            f = _flow.compute_flow(pair, method=method, params=params)  # (1, fh, fw, 2)
            q[a] = _flow.quantize_flow(f[0])
            if disk is not None:
                disk.save(f"{a:06d}", keys[a], q[a])
    out = np.stack([q[a] for a in pa])[:, top:top + size, left:left + size]  # (T, fh, fw, 2) -> (T, size, size, 2)
    if flip:
        out = out[:, :, ::-1].copy()  # mirror x ...
        out[..., 0] = np.minimum(256 - out[..., 0].astype(np.int16), 255).astype(np.uint8)  # ... and negate dx
    flow = _flow.dequantize_flow(np.ascontiguousarray(out))  # (T, size, size, 2) float32 pixels
    memo = {keys[a]: q[a] for a in keys}
    return torch.from_numpy(flow).permute(3, 0, 1, 2).contiguous(), memo  # (T, size, size, 2) -> (2, T, size, size)
