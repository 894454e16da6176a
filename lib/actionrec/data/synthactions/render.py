"""SynthActions' geometry and rasteriser: forward kinematics, anti-aliased capsules, exact figure flow.

Pure NumPy functions on whole batches of frames, used by :mod:`.scene`:

* :func:`forward_kinematics`: pose ``(..., POSE_DIM)`` -> 12 joints ``(..., 12, 2)`` in figure
  units (feet on the ground, lifted by the pose's ``dy``);
* :func:`figure_alpha`: the figure's coverage ``(N, H, W)`` of N frames, 9 limbs + the head drawn
  as capsules ``alpha = clamp(r + 0.5 - dist, 0, 1)`` (the distance from the pixel centre to the
  capsule's axis) and max-merged; a pixel depends only on its position and the capsules, never on
  the batch, so batched and single renders agree bit for bit;
* :func:`figure_flow`: the ground-truth forward flow ``(T-1, H, W, 2)`` of one clip: each figure
  pixel follows its capsule rigidly, every other pixel the camera pan;
* :func:`segment_distance` (background distractor sticks) and :func:`bilinear_matrix` (texture
  upsampling).

Everything is float32 at the requested resolution (no supersampling).
"""

from __future__ import annotations

import numpy as np

from .actions import (ANK1, ANK2, DX, DY, E1, E2, ELB1, ELB2, FOREARM, GROUND_JOINTS, H1, H2, HEAD, HEAD_OFFSET, HIP,
                      HND1, HND2, K1, K2, KNE1, KNE2, N_JOINTS, NECK, S1, S2, SEG_A, SEG_B, SHIN, SHLD, SHOULDER, TAU,
                      THIGH, TORSO, UPPER_ARM, clamp)

__all__ = ["forward_kinematics", "figure_alpha", "rasterise", "figure_flow", "segment_distance", "bilinear_matrix",
           "CAPS_A", "CAPS_B"]


def forward_kinematics(pose: np.ndarray) -> np.ndarray:
    """Pose ``(..., POSE_DIM)`` -> joints ``(..., 12, 2)``; the lowest hip/knee/ankle is put on
    y = 0, then lifted by ``dy`` (jumps)."""
    tau = pose[..., TAU]
    ang = np.stack(
        [
            tau,
            tau + pose[..., S1], tau + pose[..., S1] + pose[..., E1],
            tau + pose[..., S2], tau + pose[..., S2] + pose[..., E2],
            pose[..., H1], pose[..., H1] + pose[..., K1],
            pose[..., H2], pose[..., H2] + pose[..., K2],
        ],
        axis=-1,
    )  # (..., 9) absolute angles
    sn, cs = np.sin(ang), np.cos(ang)
    j = np.zeros(pose.shape[:-1] + (N_JOINTS, 2))
    j[..., HIP, 0] = pose[..., DX]
    up = np.stack([-sn[..., 0], cs[..., 0]], axis=-1)  # torso direction (..., 2)
    down = np.stack([sn, -cs], axis=-1)  # limb directions (..., 9, 2); angle 0 points down
    j[..., NECK, :] = j[..., HIP, :] + TORSO * up
    j[..., HEAD, :] = j[..., HIP, :] + (TORSO + HEAD_OFFSET) * up
    j[..., SHLD, :] = j[..., HIP, :] + SHOULDER * up
    j[..., ELB1, :] = j[..., SHLD, :] + UPPER_ARM * down[..., 1, :]
    j[..., HND1, :] = j[..., ELB1, :] + FOREARM * down[..., 2, :]
    j[..., ELB2, :] = j[..., SHLD, :] + UPPER_ARM * down[..., 3, :]
    j[..., HND2, :] = j[..., ELB2, :] + FOREARM * down[..., 4, :]
    j[..., KNE1, :] = j[..., HIP, :] + THIGH * down[..., 5, :]
    j[..., ANK1, :] = j[..., KNE1, :] + SHIN * down[..., 6, :]
    j[..., KNE2, :] = j[..., HIP, :] + THIGH * down[..., 7, :]
    j[..., ANK2, :] = j[..., KNE2, :] + SHIN * down[..., 8, :]
    ground = j[..., GROUND_JOINTS, 1].min(axis=-1)
    j[..., 1] += (pose[..., DY] - ground)[..., None]
    return j


# Capsules rasterised per frame: the 9 limb segments, then the head as a zero-length capsule.
CAPS_A = np.concatenate([SEG_A, [HEAD]])
CAPS_B = np.concatenate([SEG_B, [HEAD]])
BATCHED_FRAMES = 128  # from this many frames on, rasterise capsule by capsule (less padding)


def figure_alpha(fx, fy, rad, head_r, H, W):
    """Figure coverage ``(N, H, W)`` float32 of N frames (>= 0; clamp to 1 before use).

    fx, fy: (N, 12) float32 joint positions in frame pixels (x right, y down); rad, head_r:
    (N,) limb and head radii in pixels. Each capsule is evaluated on a small box around it,
    ``a = r + 0.5 - d`` with d the distance from the pixel centre to the capsule's axis, and
    merged into the canvas with ``np.maximum.at`` (union; order-free). Few frames: all
    capsules in one vectorised call (boxes padded to the largest); many frames: capsule by
    capsule. Frames are the innermost axis so that NumPy's loops run long and contiguous.
    A pixel's value depends only on its position and the capsules, never on the boxes or the
    batch, so batched and single renders agree bit for bit.
    """
    N = fx.shape[0]
    canvas = np.zeros(N * H * W, dtype=np.float32)
    r_all = np.where((CAPS_A == CAPS_B)[:, None], head_r[None, :], rad[None, :])  # (10, N) radii
    ax, ay = np.ascontiguousarray(fx[:, CAPS_A].T), np.ascontiguousarray(fy[:, CAPS_A].T)  # (10, N)
    bx, by = np.ascontiguousarray(fx[:, CAPS_B].T), np.ascontiguousarray(fy[:, CAPS_B].T)
    groups = [slice(None)] if N < BATCHED_FRAMES else [slice(s, s + 1) for s in range(len(CAPS_A))]
    for g in groups:
        rasterise(canvas, ax[g], ay[g], bx[g], by[g], r_all[g], H, W)
    return canvas.reshape(N, H, W)  # (N*H*W,) -> (N, H, W)


def rasterise(canvas, a_x, a_y, b_x, b_y, r, H, W):
    """Max ``r + 0.5 - dist`` of capsules a-b, each (S, N), into the flat canvas of N frames."""
    N = a_x.shape[1]
    # Pixel i (centre i + 0.5) can be covered only if floor(min - r - 1) <= i < ceil(max + r).
    lo_x = np.floor(np.minimum(a_x, b_x) - r - np.float32(1.0)).astype(np.int64)
    lo_y = np.floor(np.minimum(a_y, b_y) - r - np.float32(1.0)).astype(np.int64)
    bw = int(min((np.ceil(np.maximum(a_x, b_x) + r).astype(np.int64) - lo_x).max(), W))
    bh = int(min((np.ceil(np.maximum(a_y, b_y) + r).astype(np.int64) - lo_y).max(), H))
    xs = np.minimum(np.maximum(lo_x, 0), W - bw)[:, None, :] + np.arange(bw)[:, None]  # (S, bw, N) columns
    ys = np.minimum(np.maximum(lo_y, 0), H - bh)[:, None, :] + np.arange(bh)[:, None]  # (S, bh, N) rows
    dx = (xs.astype(np.float32) + np.float32(0.5)) - a_x[:, None, :]  # pixel centre - start point
    dy = (ys.astype(np.float32) + np.float32(0.5)) - a_y[:, None, :]
    vx, vy = b_x - a_x, b_y - a_y
    inv = np.float32(1.0) / np.maximum(vx * vx + vy * vy, np.float32(1e-6))
    # Projection on the axis, clamped to the segment (0 for the head, whose vx = vy = 0).
    t = (dx * (vx * inv)[:, None, :])[:, None, :, :] + (dy * (vy * inv)[:, None, :])[:, :, None, :]
    np.minimum(np.maximum(t, np.float32(0.0), out=t), np.float32(1.0), out=t)  # (S, bh, bw, N)
    ex = dx[:, None, :, :] - t * vx[:, None, None, :]
    ey = dy[:, :, None, :] - t * vy[:, None, None, :]
    ex *= ex
    ey *= ey
    ex += ey
    a = (r + np.float32(0.5))[:, None, None, :] - np.sqrt(ex, out=ex)  # (S, bh, bw, N)
    idx = np.arange(0, N * H * W, H * W) + ys[:, :, None, :] * W + xs[:, None, :, :]  # flat indices
    np.maximum.at(canvas, idx.ravel(), a.ravel())  # 1-D index: numpy's fast path


def figure_flow(fx, fy, rad, head_r, off, H, W):
    """Ground-truth forward flow of one clip: ``(T-1, H, W, 2)`` float32 (dx, dy) in pixels from
    frame t to frame t+1, and the figure mask ``(T-1, H, W)`` bool of frame t.

    fx, fy: (T, 12) joint positions in frame pixels (pan included); rad, head_r: radii in pixels;
    off: (T, 2) integer pan offsets. A pixel of frame t belongs to the figure when its centre lies
    inside a capsule (coverage ``r + 0.5 - d > 0.5``, i.e. more than half covered); it follows its
    capsule -- the one it lies deepest in, as the rasteriser's max-merge -- rigidly:
    ``p' = a' + R(theta' - theta) (p - a)`` with ``a`` the capsule's start joint and ``theta`` its
    direction (the head, a zero-length capsule, translates with its centre). Limb lengths are
    constant within a clip, so this is the exact motion of every point of the drawn capsule.
    Every other pixel gets the camera pan ``off[t] - off[t+1]`` (the static background seen
    through the panning window; 0 without pan). Occlusion is ignored (a point keeps its flow even
    if it is hidden at t+1), as in the usual definition of ground-truth flow.
    """
    T = fx.shape[0]
    ax, ay, bx, by = fx[:, CAPS_A], fy[:, CAPS_A], fx[:, CAPS_B], fy[:, CAPS_B]  # (T, 10)
    r = np.where(CAPS_A == CAPS_B, head_r, rad)  # (10,)
    vx, vy = bx - ax, by - ay
    theta = np.arctan2(vy, vx)  # (T, 10); 0 for the head
    dtheta = theta[1:] - theta[:-1]  # (T-1, 10)
    c, s = np.cos(dtheta)[..., None, None], np.sin(dtheta)[..., None, None]  # (T-1, 10, 1, 1)
    e = lambda v: v[:-1, :, None, None]  # noqa: E731  (T, 10) -> frames 0..T-2, (T-1, 10, 1, 1)
    n = lambda v: v[1:, :, None, None]  # noqa: E731  frames 1..T-1
    flow = np.empty((T - 1, H, W, 2), dtype=np.float32)
    flow[...] = (off[:-1] - off[1:]).astype(np.float32)[:, None, None, :]  # background: the pan
    mask = np.zeros((T - 1, H, W), dtype=bool)
    # Only pixels inside the box that holds the figure in every frame can be covered.
    hr = float(np.max(r)) + 1.0
    x0, x1 = (int(clamp(v, 0, W)) for v in (np.floor(fx.min() - hr), np.ceil(fx.max() + hr)))
    y0, y1 = (int(clamp(v, 0, H)) for v in (np.floor(fy.min() - hr), np.ceil(fy.max() + hr)))
    if x1 <= x0 or y1 <= y0:
        return flow, mask
    px = (np.arange(x0, x1) + 0.5)[None, None, None, :]  # (1, 1, 1, w) pixel centres
    py = (np.arange(y0, y1) + 0.5)[None, None, :, None]  # (1, 1, h, 1)
    dx, dy = px - e(ax), py - e(ay)  # (T-1, 10, 1, w), (T-1, 10, h, 1)
    inv = 1.0 / np.maximum(e(vx) ** 2 + e(vy) ** 2, 1e-6)
    t = clamp((dx * e(vx) + dy * e(vy)) * inv, 0.0, 1.0)  # (T-1, 10, h, w) projection on the axis
    depth = r[None, :, None, None] + 0.5 - np.sqrt((dx - t * e(vx)) ** 2 + (dy - t * e(vy)) ** 2)
    owner = depth.argmax(axis=1)[:, None]  # (T-1, 1, h, w) capsule each pixel lies deepest in
    m = np.take_along_axis(depth, owner, axis=1)[:, 0] > 0.5  # (T-1, h, w)
    # p' - p for the owner capsule: a' + R (p - a) - p
    gx = np.take_along_axis(n(ax) + c * dx - s * dy - px, owner, axis=1)[:, 0]  # (T-1, 10, h, w) -> (T-1, h, w)
    gy = np.take_along_axis(n(ay) + s * dx + c * dy - py, owner, axis=1)[:, 0]
    box = flow[:, y0:y1, x0:x1]  # (T-1, h, w, 2) view
    box[..., 0] = np.where(m, gx, box[..., 0])
    box[..., 1] = np.where(m, gy, box[..., 1])
    mask[:, y0:y1, x0:x1] = m
    return flow, mask


def segment_distance(gx, gy, ax, ay, bx, by):
    """Distance ``(B, Hb, Wb)`` from grid points gx (1, 1, Wb), gy (1, Hb, 1) to segments a-b (B,)."""
    ax, ay, bx, by = (v.astype(np.float32)[:, None, None] for v in (ax, ay, bx, by))
    vx, vy = bx - ax, by - ay
    t = clamp(((gx - ax) * vx + (gy - ay) * vy) / np.maximum(vx * vx + vy * vy, 1e-6), 0.0, 1.0)
    return np.sqrt((gx - ax - t * vx) ** 2 + (gy - ay - t * vy) ** 2)


def bilinear_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix resampling n_in samples to n_out with linear interpolation."""
    pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n_in - 2)
    w = pos - i0
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] = 1.0 - w
    m[np.arange(n_out), i0 + 1] = w
    return m
