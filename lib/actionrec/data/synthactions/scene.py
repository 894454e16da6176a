"""SynthActions' scenes: from an item's uniform draw to its rendered clip.

A :class:`ClipRenderer` holds everything that depends on the dataset's ``frames``, ``size``,
``difficulty`` and ``seed`` but not on the item (draw layout, background grids, a bank of
sensor-noise frames), and renders batches of items vectorised over the batch::

    uniform draws u (B, draw_size), labels (B,)
      -> clip parameters (derive)                              (B,) each: window, speed, phase, pan, colours
      -> progress p_t in [0, 1] (window + holds)               (B, T)     reversed for reverse classes
      -> Action.pose(p), forward kinematics, mirror (joints)   (B, T, 12 joints, 2)
      -> camera pan offsets, fit + place in the frame          (B, T, 12) pixels          (geometry)
      -> figure coverage (render.figure_alpha)                 alpha (B*T, H, W)
      -> per clip: background window, composite, + noise       (3, T, H, W)               (render)
      -> quantise (uint8 truncation), optionally normalise     (B, 3, T, H, W) float32 | (B, T, H, W, 3) uint8

Temporal variation: a clip spans ``CLIP_SECONDS`` = 2 s whatever ``frames`` is (frame t is at time
``t / (frames - 1) * CLIP_SECONDS``). The action occupies a window of ``window_length ~ U(window)``
of the clip starting at ``window_start ~ U(0, 1 - length)`` (symmetric holds before and after).
Periodic actions: ``speed ~ logU(speed)`` times the base rate, uniform initial phase. One-shot
actions fill their window: ``speed = ONE_SHOT_SECONDS / duration``. ``window`` and ``speed`` are
the preset's: (0.3, 1) and (0.5, 2) (``WINDOW_RANGE``, ``SPEED_RANGE``; one-shot speeds in
[0.6, 2]) for easy / medium / hard; ``"temporal"`` is medium's pixels with (0.1, 0.5) and (0.35, 2).

The reverse class renders the same draw with every time-dependent quantity reversed (progress,
camera pan, sensor-noise frames), so ``clip(reverse, u)[t] == clip(forward, u)[T - 1 - t]``.
``difficulty`` (``DIFFICULTIES``) scales clutter, pan, noise and size/colour variation (easy < medium <
hard), or, for ``"temporal"``, the range of durations and speeds. Normalised
output is ``(uint8 / 255 - MEAN) / STD`` with ``MEAN = 0.5, STD = 0.25`` for R, G and B.
"""

from __future__ import annotations

import math

import numpy as np

from .actions import (CLASS_ACTION, CLASS_MIRROR, CLASS_PERIODIC, CLASS_RATE, CLASS_REVERSED, CLIP_SECONDS, ACTIONS,
                      HEAD_RADIUS, LIMB_RADIUS, MIN_HEAD_PX, MIN_LIMB_PX, N_JOINTS, ONE_SHOT_SECONDS, POSE_DIM,
                      SPEED_RANGE, WINDOW_RANGE, clamp)
from .render import bilinear_matrix, figure_alpha, forward_kinematics, segment_distance

__all__ = ["DIFFICULTIES", "MEAN", "STD", "NOISE_BANK_FRAMES", "ClipRenderer"]

MEAN, STD = 0.5, 0.25  # clip = (uint8 / 255 - MEAN) / STD, same for R, G, B
NORM_SCALE = np.float32(1.0 / (255.0 * STD))
NORM_SHIFT = np.float32(MEAN / STD)

DIFFICULTIES: dict[str, dict] = {
    "easy": dict(
        height=(0.62, 0.72),  # figure height / frame height (shrunk if it would not fit)
        contrast=(0.45, 0.6),  # |luminance(figure) - luminance(background)|
        saturation=0.35,  # colour spread around that luminance
        texture=0.0,  # amplitude of the smooth background noise
        texture_res=4,  # its grid (r x r, bilinearly upsampled)
        blobs=0,  # random ellipses / rectangles in the background
        sticks=0,  # static limb-like distractor bars
        pan=0.0,  # camera pan over the clip / frame width (vertical: a third of that)
        noise=0.01,  # sensor noise std
        thickness=(0.95, 1.05),  # limb thickness multiplier
        window=WINDOW_RANGE,  # fraction of the clip the action occupies, uniform (its duration)
        speed=SPEED_RANGE,  # periodic actions: log-uniform multiplier of the base rate
    ),
    "medium": dict(height=(0.45, 0.75), contrast=(0.3, 0.5), saturation=0.55, texture=0.12, texture_res=5,
                   blobs=3, sticks=0, pan=0.15, noise=0.03, thickness=(0.85, 1.15), window=WINDOW_RANGE,
                   speed=SPEED_RANGE),
    "hard": dict(height=(0.38, 0.8), contrast=(0.25, 0.45), saturation=0.7, texture=0.2, texture_res=7,
                 blobs=6, sticks=2, pan=0.3, noise=0.06, thickness=(0.75, 1.25), window=WINDOW_RANGE,
                 speed=SPEED_RANGE),
}
# "temporal": medium's pixels, harder time. Every action is short -- a tenth to half of the clip (0.2-1 s,
# 1.5-7.5 frame intervals at 16 frames), so the network must find when it happens as well as its order --
# and periodic ones run at 0.35-2x their base rate (the fast end stays at medium's, below aliasing). Chosen
# by a screening run (benchmarks/README.md, "SynthActions recipe"): at the budget where MTNet r = 0.875 gets
# 98.3% on medium, a window of (0.1, 1) gave 94.7% and this one 92.5%.
DIFFICULTIES["temporal"] = dict(DIFFICULTIES["medium"], window=(0.1, 0.5), speed=(0.35, 2.0))

NOISE_BANK_FRAMES = 128
# Layout of an item's uniform draw u (one rng.random call, the same length for every class,
# so that the two classes of a pair consume identical randomness).
U_SPEED, U_WLEN, U_WSTART, U_PHASE, U_MIRROR, U_HEIGHT, U_POSX, U_POSY, U_PANX, U_PANY = range(10)
U_LUM, U_CONTRAST, U_UPDOWN, U_THICK = range(10, 14)
U_BG_CHROMA, U_FIG_CHROMA = slice(14, 17), slice(17, 20)
U_FIXED = 20


class ClipRenderer:
    """Renders SynthActions items of one dataset configuration from their uniform draws.

    Args:
        frames: T; size: (H, W); cfg: a ``DIFFICULTIES`` preset; seed: the dataset's seed (it
            fixes the sensor-noise bank). ``draw_size`` is the length of an item's uniform draw.
    """

    def __init__(self, frames: int, size: tuple[int, int], cfg: dict, seed: int) -> None:
        self.frames, self.size, self.cfg, self.seed = frames, size, cfg, seed
        (H, W), T, r = size, frames, cfg["texture_res"]
        self._u_texture = slice(U_FIXED, U_FIXED + 3 * r * r)
        self._u_blobs = slice(self._u_texture.stop, self._u_texture.stop + 8 * cfg["blobs"])
        self._u_sticks = slice(self._u_blobs.stop, self._u_blobs.stop + 8 * cfg["sticks"])
        self._u_noise = slice(self._u_sticks.stop, self._u_sticks.stop + 3 * T)
        self.draw_size = self._u_noise.stop
        self._time = np.linspace(0.0, 1.0, T)  # clip time of each frame, fraction
        self._pan_max = np.array([cfg["pan"] * W, cfg["pan"] * W / 3.0])  # (x, y) pixels
        self._bg_h = H + int(math.ceil(self._pan_max[1]))
        self._bg_w = W + int(math.ceil(self._pan_max[0]))
        self._up_y = bilinear_matrix(self._bg_h, r)  # (Hb, r)
        self._up_xt = np.ascontiguousarray(bilinear_matrix(self._bg_w, r).T)  # (r, Wb)
        self._gy = (np.arange(self._bg_h, dtype=np.float32) + 0.5)[None, :, None]  # (1, Hb, 1)
        self._gx = (np.arange(self._bg_w, dtype=np.float32) + 0.5)[None, None, :]  # (1, 1, Wb)
        # Sensor noise: a bank of single-channel frames drawn once from the seed, in 0-255
        # units, +0.5 so that the final truncation rounds. An item picks 3*T of them.
        bank_rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1_000_003]))
        bank = bank_rng.standard_normal((NOISE_BANK_FRAMES, H, W), dtype=np.float32)
        self._noise_bank = bank * np.float32(255.0 * cfg["noise"]) + np.float32(0.5)

    def derive(self, labels: np.ndarray, u: np.ndarray) -> dict:
        """Clip parameters from uniform draws ``u`` (B, draw_size), vectorised over the batch."""
        cfg = self.cfg
        periodic = CLASS_PERIODIC[labels]
        (wlo, whi), (slo, shi) = cfg["window"], cfg["speed"]
        wl = wlo + (whi - wlo) * u[:, U_WLEN]
        speed_p = slo * (shi / slo) ** u[:, U_SPEED]
        speed = np.where(periodic, speed_p, ONE_SHOT_SECONDS / (wl * CLIP_SECONDS))
        cycles = np.where(periodic, CLASS_RATE[labels] * speed_p * wl * CLIP_SECONDS, 1.0)
        lo, hi = cfg["height"]
        # Colours: background luminance, then a figure luminance at the preset contrast.
        lum_bg = 0.2 + 0.6 * u[:, U_LUM]
        clo, chi = cfg["contrast"]
        contrast = clo + (chi - clo) * u[:, U_CONTRAST]
        up_ok, down_ok = lum_bg + contrast <= 0.97, lum_bg - contrast >= 0.03
        go_up = np.where(up_ok != down_ok, up_ok, u[:, U_UPDOWN] < 0.5)
        lum_fig = np.where(go_up, lum_bg + contrast, lum_bg - contrast)
        sat = cfg["saturation"]
        bg_chroma = u[:, U_BG_CHROMA] - u[:, U_BG_CHROMA].mean(axis=1, keepdims=True)
        fig_chroma = u[:, U_FIG_CHROMA] - u[:, U_FIG_CHROMA].mean(axis=1, keepdims=True)
        tlo, thi = cfg["thickness"]
        return dict(
            window_length=wl,
            window_start=(1.0 - wl) * u[:, U_WSTART],  # uniform: symmetric holds before/after
            speed=speed,
            cycles=cycles,
            phase0=u[:, U_PHASE],
            mirrored=CLASS_MIRROR[labels] & (u[:, U_MIRROR] < 0.5),
            height_frac=lo + (hi - lo) * u[:, U_HEIGHT],
            pos=u[:, [U_POSX, U_POSY]],
            pan=(2.0 * u[:, [U_PANX, U_PANY]] - 1.0) * self._pan_max,  # sign-symmetric
            bg_colour=clamp(lum_bg[:, None] + 0.5 * sat * bg_chroma, 0.0, 1.0),
            colour=clamp(lum_fig[:, None] + sat * fig_chroma, 0.0, 1.0),
            thickness=tlo + (thi - tlo) * u[:, U_THICK],
        )

    def joints(self, labels: np.ndarray, p: dict) -> np.ndarray:
        """Joint positions ``(B, T, 12, 2)`` in figure units (x right, y up, feet on y = 0)."""
        B, T = len(labels), self.frames
        prog = clamp((self._time[None, :] - p["window_start"][:, None]) / p["window_length"][:, None], 0.0, 1.0)
        rev = CLASS_REVERSED[labels]
        prog[rev] = prog[rev, ::-1]  # the reverse class: progress runs backwards
        actions = CLASS_ACTION[labels]
        pose = np.empty((B, T, POSE_DIM))
        for a in np.unique(actions):
            rows = np.flatnonzero(actions == a)
            pose[rows] = ACTIONS[a].pose(prog[rows], p["phase0"][rows], p["cycles"][rows])
        jnt = forward_kinematics(pose)
        jnt[p["mirrored"], :, :, 0] *= -1.0
        return jnt

    def geometry(self, labels: np.ndarray, u: np.ndarray) -> dict:
        """Where everything is, per frame: clip parameters ``p``, reversal flags ``rev`` (B,),
        integer pan offsets ``off`` (B, T, 2) of each frame inside the background canvas, joint
        positions ``fx, fy`` (B, T, 12) in frame pixels (x right, y down; pan included) and the
        limb / head radii ``rad, head_r`` (B,) in pixels. Shared by rendering and ground-truth flow.
        """
        H, W = self.size
        rev = CLASS_REVERSED[labels]
        p = self.derive(labels, u)
        jnt = self.joints(labels, p)  # (B, T, 12, 2)

        # Camera pan: integer offsets (B, T, 2) of the frame inside the background canvas,
        # linear in time, reversed for reverse classes like everything time-dependent.
        pan_t = (self._time - 0.5)[None, :, None] * p["pan"][:, None, :]
        pan_t[rev] = pan_t[rev, ::-1]
        off = np.rint(pan_t - pan_t.min(axis=1, keepdims=True)).astype(np.int64)
        off = np.minimum(off, [self._bg_w - W, self._bg_h - H])
        span = off.max(axis=1) - off.min(axis=1)  # (B, 2)

        # Fit: shrink the figure if its whole trajectory (plus pan, plus radii) would not fit.
        ext = jnt.max(axis=(1, 2)) - jnt.min(axis=(1, 2))  # (B, 2) figure units
        room = np.array([W, H]) - span - 2.0
        h = np.minimum(p["height_frac"] * H,
                       np.minimum(room / (ext + 2 * HEAD_RADIUS), (room - 2 * MIN_HEAD_PX) / ext).min(axis=1))
        rad = np.maximum(MIN_LIMB_PX, LIMB_RADIUS * p["thickness"] * h)  # (B,) pixels
        head_r = np.maximum(MIN_HEAD_PX, HEAD_RADIUS * h)
        margin = head_r + 1.0
        # Frame coordinates (x right, y down) = world (canvas) coordinates - off; place the
        # trajectory's bounding box at a random position inside the frame.
        fx = jnt[..., 0] * h[:, None, None] - off[:, :, 0:1]  # (B, T, 12)
        fy = -jnt[..., 1] * h[:, None, None] - off[:, :, 1:2]
        lo_x, hi_x = fx.min(axis=(1, 2)) - margin, fx.max(axis=(1, 2)) + margin
        lo_y, hi_y = fy.min(axis=(1, 2)) - margin, fy.max(axis=(1, 2)) + margin
        fx += (-lo_x + np.maximum(W - (hi_x - lo_x), 0.0) * p["pos"][:, 0])[:, None, None]
        fy += (-lo_y + np.maximum(H - (hi_y - lo_y), 0.0) * p["pos"][:, 1])[:, None, None]
        return dict(p=p, rev=rev, off=off, fx=fx, fy=fy, rad=rad, head_r=head_r)

    def render(self, labels: np.ndarray, u: np.ndarray, normalized: bool) -> np.ndarray:
        """Draws -> normalised float32 ``(B, 3, T, H, W)`` or uint8 ``(B, T, H, W, 3)``.

        Every step is elementwise or an exact per-clip reduction (min/max), so a clip's pixels do
        not depend on the other clips of the batch.
        """
        B, T, (H, W) = len(labels), self.frames, self.size
        if B == 0:
            return np.zeros((0, 3, T, H, W) if normalized else (0, T, H, W, 3),
                            dtype=np.float32 if normalized else np.uint8)
        g = self.geometry(labels, u)
        p, rev, off, fx, fy, rad, head_r = (g[k] for k in ("p", "rev", "off", "fx", "fy", "rad", "head_r"))

        bg = self.background(p, u, rad)  # (B, 3, Hb, Wb), seen through the panning window
        alpha = figure_alpha(
            fx.reshape(B * T, N_JOINTS).astype(np.float32),  # (B, T, 12) -> (B*T, 12)
            fy.reshape(B * T, N_JOINTS).astype(np.float32),  # (B, T, 12) -> (B*T, 12)
            np.repeat(rad, T).astype(np.float32),
            np.repeat(head_r, T).astype(np.float32),
            H, W,
        ).reshape(B, 1, T, H, W)  # (B*T, H, W) -> (B, 1, T, H, W), zero away from the figure
        # Box (per clip, all frames) outside which the coverage is 0 (see rasterise).
        bx0 = clamp(np.floor(fx.min(axis=(1, 2)) - head_r - 1.0), 0, W).astype(np.int64)
        bx1 = clamp(np.ceil(fx.max(axis=(1, 2)) + head_r), 0, W).astype(np.int64)
        by0 = clamp(np.floor(fy.min(axis=(1, 2)) - head_r - 1.0), 0, H).astype(np.int64)
        by1 = clamp(np.ceil(fy.max(axis=(1, 2)) + head_r), 0, H).astype(np.int64)
        col = (p["colour"] * 255.0).astype(np.float32)[:, :, None, None, None]  # (B, 3, 1, 1, 1)
        nidx = np.minimum((u[:, self._u_noise] * NOISE_BANK_FRAMES).astype(np.int64), NOISE_BANK_FRAMES - 1)
        nidx = nidx.reshape(B, 3, T)  # (B, 3*T) -> (B, 3, T): one bank frame per channel and frame
        nidx[rev] = nidx[rev, :, ::-1]  # noise reversed with time as well
        nidx = nidx.reshape(B, 3 * T)  # (B, 3, T) -> (B, 3*T)
        # Per clip (a cache-sized working set): background window, figure, noise, quantisation.
        pan = self.cfg["pan"] > 0
        if normalized:
            out = np.empty((B, 3, T, H, W), dtype=np.float32)
        else:
            out = np.empty((B, T, H, W, 3), dtype=np.uint8)
            scratch = np.empty((3, T, H, W), dtype=np.float32)
        noise = np.empty((3 * T, H, W), dtype=np.float32)
        for b in range(B):
            x = out[b] if normalized else scratch  # (3, T, H, W)
            if pan:  # all H x W windows of the canvas, picked by each frame's offset
                win = np.lib.stride_tricks.sliding_window_view(bg[b], (H, W), axis=(1, 2))
                x[:] = win[:, off[b, :, 1], off[b, :, 0]]  # (3, Hb-H+1, Wb-W+1, H, W) -> (3, T, H, W)
            else:
                x[:] = bg[b, :, None]
            ys, xs = slice(by0[b], by1[b]), slice(bx0[b], bx1[b])
            a = np.minimum(alpha[b, :, :, ys, xs], np.float32(1.0))  # (1, T, h, w)
            reg = x[:, :, ys, xs]
            reg += a * (col[b] - reg)
            np.take(self._noise_bank, nidx[b], axis=0, out=noise)
            x += noise.reshape(3, T, H, W)  # (3*T, H, W) -> (3, T, H, W)
            np.clip(x, 0.0, 255.0, out=x)
            if normalized:  # == dataset.frames_to_clip() of the truncated uint8 frames, bit for bit
                np.floor(x, out=x)
                x *= NORM_SCALE
                x -= NORM_SHIFT
            else:
                np.copyto(out[b], x.transpose(1, 2, 3, 0), casting="unsafe")  # (3,T,H,W) -> (T,H,W,3), truncates
        return out

    def background(self, p: dict, u: np.ndarray, rad: np.ndarray) -> np.ndarray:
        """Static canvases ``(B, 3, Hb, Wb)`` float32 in 0-255: base colour + smooth noise +
        blobs/rectangles + static distractor sticks (hard)."""
        cfg = self.cfg
        B, Hb, Wb, r = len(u), self._bg_h, self._bg_w, cfg["texture_res"]
        base = (p["bg_colour"] * 255.0).astype(np.float32)[:, :, None, None]  # (B, 3, 1, 1)
        if cfg["texture"] > 0:
            tex = u[:, self._u_texture].reshape(B, 3, r, r) - 0.5  # (B, 3*r*r) -> (B, 3, r, r)
            bg = (self._up_y @ tex @ self._up_xt).astype(np.float32)  # (B, 3, Hb, Wb), bilinear
            bg *= np.float32(2.0 * 255.0 * cfg["texture"])
            bg += base
        else:
            bg = np.empty((B, 3, Hb, Wb), dtype=np.float32)
            bg[:] = base
        scale = float(min(Hb, Wb))
        blobs = u[:, self._u_blobs].reshape(B, cfg["blobs"], 8).astype(np.float32)  # (B, 8*n) -> (B, n, 8)
        for k in range(cfg["blobs"]):
            b = blobs[:, k, :, None, None]  # (B, 8, 1, 1)
            cy, cx = b[:, 0] * Hb, b[:, 1] * Wb
            ry, rx = (0.06 + 0.16 * b[:, 2]) * scale, (0.06 + 0.16 * b[:, 3]) * scale
            dy2, dx2 = ((self._gy - cy) / ry) ** 2, ((self._gx - cx) / rx) ** 2  # (B, Hb, 1), (B, 1, Wb)
            rect = b[:, 4] < 0.5
            d = np.where(rect, np.maximum(dy2, dx2), dy2 + dx2)  # box or ellipse "radius"^2
            a = (np.float32(1.0) - d) * np.where(rect, np.float32(12.0), np.float32(3.0))
            a = np.minimum(np.maximum(a, np.float32(0.0), out=a), np.float32(0.8), out=a)[:, None]  # soft edge
            col = clamp(p["bg_colour"] + (blobs[:, k, 5:8] - 0.5) * 0.9, 0.0, 1.0) * 255.0
            bg += a * (col.astype(np.float32)[:, :, None, None] - bg)
        sticks = u[:, self._u_sticks].reshape(B, cfg["sticks"], 8)  # (B, 8*n) -> (B, n, 8)
        for k in range(cfg["sticks"]):
            s = sticks[:, k]
            ax, ay = s[:, 0] * Wb, s[:, 1] * Hb
            ang, ln = s[:, 2] * 2.0 * math.pi, (0.15 + 0.2 * s[:, 3]) * scale
            d = segment_distance(self._gx, self._gy, ax, ay, ax + ln * np.cos(ang), ay + ln * np.sin(ang))
            a = clamp((rad + 0.5)[:, None, None] - d, 0.0, 1.0).astype(np.float32)[:, None]
            col = np.where((s[:, 4] < 0.5)[:, None], p["colour"], s[:, 5:8]) * 255.0  # half in the figure's colour
            bg += a * (col.astype(np.float32)[:, :, None, None] - bg)
        return bg
