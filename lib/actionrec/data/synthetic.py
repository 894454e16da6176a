"""SynthActions: an embedded, procedurally rendered action dataset where order matters.

Every clip shows one articulated stick figure -- head (disc), torso, two arms with elbows
(upper + lower arm), two legs with knees (thigh + shin) -- drawn as thick anti-aliased
capsules (``alpha = clamp(r - dist + 0.5, 0, 1)``) over a static textured background seen
through a panning camera, plus sensor noise. The figure is left/right symmetric (no face,
no feet, both sides the same colour), so its facing direction is only visible in motion.

Classes (16) and the frame-order-blind ceiling
----------------------------------------------
::

    pair  forward (label)        reverse (label)         kind
    1     walk_left (0)          walk_right (1)          periodic, travels
    2     run_left (2)           run_right (3)           periodic, travels
    3     squat_down (4)         stand_up (5)            one-shot
    4     raise_arms (6)         lower_arms (7)          one-shot
    5     spread_arms (8)        close_arms (9)          one-shot
    6     sit_down (10)          get_up (11)             one-shot
    7     arm_circles_cw (12)    arm_circles_ccw (13)    periodic
    -     jump (14)              (time-symmetric)        one-shot, palindromic keyframes
    -     wave (15)              (time-symmetric)        periodic, random hand

The reverse class of a pair renders *the same trajectory with every time-dependent quantity
reversed* (action progress, camera pan, sensor-noise frames) from the same random draw, so
``clip(reverse, draw)[t] == clip(forward, draw)[T - 1 - t]`` exactly (tested). Draws are
identically distributed for every class (the window start is uniform, so the hold before and
after the action is symmetric; pan directions are symmetric), hence the two members of a pair
have *identical* distributions over frame sets. A model that only sees the set of frames
(a frame-averaging 2D network, any order-invariant pooling) can therefore get at most half of
each pair right, and at best everything else::

    ORDERLESS_CEILING = (7 pairs + 2 singles) / 16 classes = 9/16 = 0.5625

A consequence worth knowing: ``walk_right`` is ``walk_left`` played backwards, so its knees
flex towards the direction of travel (a moonwalk). That is the price of exact reversal.

Temporal variation
------------------
A clip spans ``CLIP_SECONDS = 2.0`` s whatever ``frames`` is (``frames`` sets the sampling
density, frame t is at time ``t / (frames - 1) * CLIP_SECONDS``). The action occupies a window
of ``window_length ~ U(0.3, 1.0)`` of the clip starting at ``window_start ~ U(0, 1 - length)``;
before/after it the figure holds its start/end pose. Speed:

* periodic actions: ``speed ~ logU(0.5, 2)`` multiplies the base rate (cycles per second,
  ``Action.rate``) and the initial phase is uniform;
* one-shot actions: the action fills its window, so its duration is ``window_length * 2 s``
  and ``speed = ONE_SHOT_SECONDS / duration`` with ``ONE_SHOT_SECONDS = 1.2``, i.e. in
  ``[0.6, 2.0]`` (a x0.5-x2 range restricted by the 30-100% window).

Difficulty
----------
``difficulty`` scales clutter, pan, noise and size/colour variation (see ``DIFFICULTIES``):
"easy" = plain background, no pan, little noise, large high-contrast figure; "medium" =
smooth-noise texture + a few blobs/rectangles, pan up to 15% of the width; "hard" = strong
texture, more blobs/rectangles, static distractor sticks, pan up to 30%, low contrast.

Sampling and normalisation
--------------------------
Item ``i`` of split ``s`` is a pure function of ``(seed, s, i)`` (and the dataset's
``frames``/``size``/``difficulty``): its generator is seeded with
``np.random.SeedSequence([seed, SPLIT_IDS[s], i])``, so splits are disjoint streams, items are
reproducible bit for bit across processes (same NumPy build), and DataLoader workers share no
state. Labels are balanced: ``label = i % 16``. Default sizes (``DEFAULT_NUM_SAMPLES``): train
2000 (125 per class), val 512 and test 512 (32 per class).

``ds[i] -> (clip, label)``: clip float32 ``(3, T, H, W)`` = ``(uint8 / 255 - MEAN) / STD`` with
``MEAN = 0.5, STD = 0.25`` (same for R, G, B), label int. ``ds.render(i)`` returns the uint8
``(T, H, W, 3)`` frames the tensor was made from (for display), ``ds.meta(i)`` the draw.

API: ``ds[i]``; ``ds.render(i)`` (uint8 frames); ``ds.get_batch(indices)`` -> ``(B, 3, T, H, W)``
clips + ``(B,)`` labels, rendered together and equal to ``ds[i]`` bit for bit (``DataLoader``
calls it through ``__getitems__``); ``ds.render_batch(indices)`` (uint8); ``ds.meta(i)`` (speed,
window, phase, mirror, size, pan, colour); ``ds.action_window(i)`` / ``ds.action_mask(indices)``
(where the action is in the rendered clip, reverse classes included); ``ds.label(i)``;
``ds.draw(i)`` (the uniform draw) and ``ds.render_draws(labels, draws)`` (render any draw as any
class: the reversal test).

Optical flow (for two-stream networks): ``ds.flow(i)`` / ``ds.flow_batch(indices)`` give the
ground-truth flow float32 ``(T-1, H, W, 2)``, (dx, dy) in pixels from frame t to t+1 -- known
exactly when rendering: each figure pixel follows its limb rigidly (camera pan included), every
other pixel moves with the pan (0 without pan, e.g. "easy"); ``with_mask=True`` adds the figure
mask. ``SynthActions(..., modality="rgb+flow")`` items are ``(5, T, H, W)``: the clip plus the
per-frame flow (ground truth or Farneback/DIS/TV-L1, 8-bit like the paper, optionally cached on
disk); ``modality="flow"`` gives the flow alone. The default ``modality="rgb"`` item is unchanged.

Data flow (vectorised over the B clips of a batch; per-clip loops only where noted)::

    SeedSequence([seed, split, i]) -> uniform draw u_i        (B, draw_size)  one fixed-length draw
      -> clip parameters (_derive)                             (B,) each
      -> progress p_t in [0, 1] (window + holds)               (B, T)     reversed for reverse classes
      -> Action.pose(p)  joint angles + root                   (B, T, 11)
      -> forward kinematics, grounding, mirror                 (B, T, 12 joints, 2)
      -> camera pan offsets, fit + place in the frame          (B, T, 12) pixels
      -> 10 capsules (9 limbs + head) on small boxes           alpha (B*T, H, W), max-merged
      -> per clip: background window, composite, + noise       (3, T, H, W)
      -> quantise (uint8 truncation) and normalise             (B, 3, T, H, W) float32

Everything is NumPy float32 at the requested resolution (no supersampling). Measured on the
2 shared CPU cores (``benchmarks/data_speed.py``, batches of 32, one process, numbers moving
with the load of other processes): about 1300-2600 clips/s at 16x32x32 and 490-950 at 16x64x64
(hard to easy); per item ``ds[i]`` about 420-930 and 320-600.

Periodic base rates keep fast clips below the aliasing limit at 16 frames (8 fps): two legs
or two propeller arms look alike, so the visible period is half a cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = [
    "SynthActions",
    "CLASSES",
    "REVERSAL_PAIRS",
    "TIME_SYMMETRIC",
    "ORDERLESS_CEILING",
    "DIFFICULTIES",
    "DEFAULT_NUM_SAMPLES",
    "SPLIT_IDS",
    "MODALITIES",
    "FLOW_METHODS",
    "CLIP_SECONDS",
    "ONE_SHOT_SECONDS",
    "SPEED_RANGE",
    "WINDOW_RANGE",
    "MEAN",
    "STD",
    "Action",
    "ACTIONS",
    "normalize",
    "denormalize",
]

CLIP_SECONDS = 2.0  # duration covered by a clip, whatever the number of frames
ONE_SHOT_SECONDS = 1.2  # one-shot actions: speed = ONE_SHOT_SECONDS / duration, in [0.6, 2]
SPEED_RANGE = (0.5, 2.0)  # periodic actions: log-uniform multiplier of the base rate
WINDOW_RANGE = (0.3, 1.0)  # fraction of the clip the action occupies (uniform)
MEAN, STD = 0.5, 0.25  # clip = (uint8 / 255 - MEAN) / STD, same for R, G, B
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
MODALITIES = ("rgb", "rgb+flow", "flow")  # what an item's tensor holds (see SynthActions, "Flow")
FLOW_METHODS = ("gt", "farneback", "tvl1", "dis")  # ground truth, or an actionrec.data.flow estimator
DEFAULT_NUM_SAMPLES = {"train": 2000, "val": 512, "test": 512}

# ----------------------------------------------------------------------------------------------
# Figure geometry, in units of the standing height (feet to top of head = 1).
# ----------------------------------------------------------------------------------------------
THIGH, SHIN = 0.245, 0.245
TORSO = 0.29  # hip -> neck
SHOULDER = 0.25  # hip -> shoulder (both arms hang from one point: a symmetric stick figure)
HEAD_OFFSET, HEAD_RADIUS = 0.115, 0.085  # neck -> head centre, head radius
UPPER_ARM, FOREARM = 0.16, 0.16
LIMB_RADIUS = 0.034  # capsule radius (times a per-clip thickness jitter)
MIN_LIMB_PX, MIN_HEAD_PX = 0.55, 1.1  # radii floors in pixels, so small figures stay visible

# Joint indices of the forward kinematics output.
HIP, NECK, HEAD, SHLD, ELB1, HND1, ELB2, HND2, KNE1, ANK1, KNE2, ANK2 = range(12)
N_JOINTS = 12
_SEG_A = np.array([HIP, SHLD, ELB1, SHLD, ELB2, HIP, KNE1, HIP, KNE2])  # capsule starts
_SEG_B = np.array([NECK, ELB1, HND1, ELB2, HND2, KNE1, ANK1, KNE2, ANK2])  # capsule ends
_GROUND_JOINTS = np.array([HIP, KNE1, ANK1, KNE2, ANK2])  # lowest of these touches the ground

# Pose vector (angles in radians; a limb angle of 0 points down and positive turns
# counter-clockwise on screen; the torso angle is 0 upright and positive leans towards -x):
# tau | shoulder1 elbow1 | shoulder2 elbow2 | hip1 knee1 | hip2 knee2 | dx dy (root, figure units)
# Arm angles are relative to the torso, leg angles to the world (so bending keeps feet down).
POSE_DIM = 11
TAU, S1, E1, S2, E2, H1, K1, H2, K2, DX, DY = range(POSE_DIM)


def _pose(tau=0.0, s1=0.25, e1=-0.1, s2=-0.25, e2=0.1, h1=0.1, k1=0.0, h2=-0.1, k2=0.0, dx=0.0, dy=0.0):
    return [tau, s1, e1, s2, e2, h1, k1, h2, k2, dx, dy]


STAND_FRONT = _pose()  # arms and legs slightly apart
STAND_SIDE = _pose(s1=0.12, e1=-0.15, s2=-0.05, e2=-0.15, h1=0.05, h2=-0.05)  # facing -x


# ----------------------------------------------------------------------------------------------
# Actions
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Action:
    """One base action: a pose trajectory as a function of progress ``p`` in [0, 1].

    periodic: ``pose_fn(omega, p, travel) -> (n, T, POSE_DIM)`` with
    ``omega = 2 pi (phase0 + cycles * p)`` (n, T) and ``travel`` (n, 1) in figure heights;
    one-shot: ``keyframes`` (K, POSE_DIM) at ``key_times`` (K,), smoothstep-interpolated.
    ``mirror``: whether the figure may be mirrored left/right at random (False for actions
    defined by a screen direction). ``stride``/``max_travel``: root travel per cycle and its
    cap, in figure heights (the cap keeps fast walkers in frame; feet then slide a little).
    """

    name: str
    reverse_name: str | None  # name of the time-reversed class, None if time-symmetric
    periodic: bool
    mirror: bool
    rate: float = 0.0  # cycles per second at speed 1 (periodic)
    pose_fn: Callable | None = None
    keyframes: np.ndarray | None = None
    key_times: np.ndarray | None = None
    stride: float = 0.0
    max_travel: float = 0.0

    def pose(self, p: np.ndarray, phase0: np.ndarray, cycles: np.ndarray) -> np.ndarray:
        """Pose trajectories ``(n, T, POSE_DIM)`` at progress ``p`` (n, T) in [0, 1]."""
        if self.periodic:
            omega = (2.0 * math.pi) * (phase0[:, None] + cycles[:, None] * p)
            travel = np.minimum(self.stride * cycles, self.max_travel)[:, None]
            return self.pose_fn(omega, p, travel)
        return _interp_keyframes(self.keyframes, self.key_times, p)


def _clamp(x, lo, hi):
    """``np.clip`` without its Python-level overhead (which dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def _interp_keyframes(keys: np.ndarray, times: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Piecewise smoothstep interpolation between keyframes (zero velocity at each key)."""
    seg = _clamp(np.searchsorted(times, p, side="right") - 1, 0, len(times) - 2)
    u = _clamp((p - times[seg]) / (times[seg + 1] - times[seg]), 0.0, 1.0)
    w = (u * u * (3.0 - 2.0 * u))[..., None]
    return keys[seg] * (1.0 - w) + keys[seg + 1] * w


def _walk(omega, p, travel, *, thigh=0.42, knee=0.8, arm=0.35, elbow=-0.25, lean=0.06, bounce=0.0):
    """Side-view gait facing -x: leg 2 half a cycle behind leg 1, arms swing against the legs,
    knees flex during the swing, the root travels towards -x."""
    s, c = np.sin(omega), np.cos(omega)
    out = np.empty(omega.shape + (POSE_DIM,))
    out[..., TAU] = lean
    out[..., S1], out[..., S2] = arm * s, -arm * s
    out[..., E1] = out[..., E2] = elbow
    out[..., H1], out[..., H2] = -thigh * s, thigh * s  # negative = forward (-x)
    out[..., K1] = 0.05 + knee * np.maximum(c, 0.0) ** 2
    out[..., K2] = 0.05 + knee * np.maximum(-c, 0.0) ** 2
    out[..., DX] = -travel * p
    out[..., DY] = bounce * np.abs(c)
    return out


def _run(omega, p, travel):
    return _walk(omega, p, travel, thigh=0.7, knee=1.6, arm=0.7, elbow=-1.5, lean=0.22, bounce=0.04)


def _arm_circles(omega, p, travel):
    """Both arms straight and opposite each other, turning clockwise on screen (a propeller)."""
    out = np.broadcast_to(np.asarray(STAND_FRONT, dtype=np.float64), omega.shape + (POSE_DIM,)).copy()
    out[..., S1] = -omega  # clockwise = decreasing angle
    out[..., S2] = math.pi - omega
    out[..., E1] = out[..., E2] = 0.0
    return out


def _wave(omega, p, travel):
    """One forearm waving above the shoulder, the other arm hanging."""
    out = np.broadcast_to(np.asarray(STAND_FRONT, dtype=np.float64), omega.shape + (POSE_DIM,)).copy()
    out[..., S1] = 1.6  # upper arm out to the side, horizontal
    out[..., E1] = (math.pi - 1.6 - 0.45) + 0.35 * np.sin(omega)  # forearm up, swinging, clear of the head
    return out


def _keys(*poses) -> np.ndarray:
    return np.asarray(poses, dtype=np.float64)


_SQUAT = _pose(tau=0.55, s1=-2.05, e1=-0.1, s2=-2.2, e2=-0.05, h1=-1.35, k1=1.75, h2=-1.25, k2=1.65)
_HALF_SIT = _pose(tau=0.45, s1=-1.6, e1=-0.2, s2=-1.75, e2=-0.1, h1=-1.1, k1=1.6, h2=-1.0, k2=1.5)
_LOW_SIT = _pose(tau=0.15, s1=0.5, e1=0.0, s2=0.6, e2=0.0, h1=-1.45, k1=1.8, h2=-1.4, k2=1.7)
_SEATED = _pose(tau=-0.25, s1=0.75, e1=0.05, s2=0.85, e2=0.0, h1=-1.55, k1=0.05, h2=-1.95, k2=0.9)
_ARMS_SIDE = _pose(s1=1.62, e1=0.12, s2=-1.62, e2=-0.12)
_ARMS_UP = _pose(s1=2.8, e1=0.1, s2=-2.8, e2=-0.1)
_HANDS_CHEST = _pose(s1=0.75, e1=-2.95, s2=-0.75, e2=2.95)
_ARMS_HALF_OPEN = _pose(s1=1.25, e1=-1.4, s2=-1.25, e2=1.4)
_ARMS_OPEN = _pose(s1=1.57, e1=0.0, s2=-1.57, e2=0.0)
_CROUCH = _pose(tau=0.35, s1=0.7, e1=-0.2, s2=0.6, e2=-0.2, h1=-0.8, k1=1.4, h2=-0.7, k2=1.3)
_AIR = _pose(tau=-0.05, s1=-2.7, e1=-0.1, s2=-2.85, e2=-0.1, h1=-0.35, k1=0.6, h2=-0.25, k2=0.5, dy=0.3)

ACTIONS: list[Action] = [
    Action("walk_left", "walk_right", periodic=True, mirror=False, rate=0.6, pose_fn=_walk, stride=0.8,
           max_travel=0.9),
    Action("run_left", "run_right", periodic=True, mirror=False, rate=0.75, pose_fn=_run, stride=1.3,
           max_travel=1.1),
    Action("squat_down", "stand_up", periodic=False, mirror=True, keyframes=_keys(STAND_SIDE, _SQUAT),
           key_times=np.array([0.0, 1.0])),
    Action("raise_arms", "lower_arms", periodic=False, mirror=True,
           keyframes=_keys(STAND_FRONT, _ARMS_SIDE, _ARMS_UP), key_times=np.array([0.0, 0.5, 1.0])),
    Action("spread_arms", "close_arms", periodic=False, mirror=True,
           keyframes=_keys(_HANDS_CHEST, _ARMS_HALF_OPEN, _ARMS_OPEN), key_times=np.array([0.0, 0.45, 1.0])),
    Action("sit_down", "get_up", periodic=False, mirror=True,
           keyframes=_keys(STAND_SIDE, _HALF_SIT, _LOW_SIT, _SEATED), key_times=np.array([0.0, 0.4, 0.7, 1.0])),
    Action("arm_circles_cw", "arm_circles_ccw", periodic=True, mirror=False, rate=0.6, pose_fn=_arm_circles),
    Action("jump", None, periodic=False, mirror=True,
           keyframes=_keys(STAND_SIDE, _CROUCH, _AIR, _CROUCH, STAND_SIDE),
           key_times=np.array([0.0, 0.3, 0.5, 0.7, 1.0])),
    Action("wave", None, periodic=True, mirror=True, rate=1.0, pose_fn=_wave),
]


def _build_classes():
    classes, action_of, reversed_, pairs, singles = [], [], [], [], []
    for a, act in enumerate(ACTIONS):
        classes.append(act.name)
        action_of.append(a)
        reversed_.append(False)
        if act.reverse_name is None:
            singles.append(len(classes) - 1)
        else:
            classes.append(act.reverse_name)
            action_of.append(a)
            reversed_.append(True)
            pairs.append((len(classes) - 2, len(classes) - 1))
    return classes, np.array(action_of), np.array(reversed_), pairs, singles


CLASSES, _CLASS_ACTION, _CLASS_REVERSED, REVERSAL_PAIRS, TIME_SYMMETRIC = _build_classes()
_CLASS_PERIODIC = np.array([ACTIONS[a].periodic for a in _CLASS_ACTION])
_CLASS_MIRROR = np.array([ACTIONS[a].mirror for a in _CLASS_ACTION])
_CLASS_RATE = np.array([ACTIONS[a].rate for a in _CLASS_ACTION])
# A frame-order-blind model can at best tell the pairs apart from each other and from the
# singles, never the two members of a pair: one success per pair, one per single.
ORDERLESS_CEILING: float = (len(REVERSAL_PAIRS) + len(TIME_SYMMETRIC)) / len(CLASSES)  # 9/16

# ----------------------------------------------------------------------------------------------
# Difficulty presets (fractions of the frame size; colours and noise on a 0-1 scale)
# ----------------------------------------------------------------------------------------------
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
    ),
    "medium": dict(height=(0.45, 0.75), contrast=(0.3, 0.5), saturation=0.55, texture=0.12, texture_res=5,
                   blobs=3, sticks=0, pan=0.15, noise=0.03, thickness=(0.85, 1.15)),
    "hard": dict(height=(0.38, 0.8), contrast=(0.25, 0.45), saturation=0.7, texture=0.2, texture_res=7,
                 blobs=6, sticks=2, pan=0.3, noise=0.06, thickness=(0.75, 1.25)),
}

_NOISE_BANK_FRAMES = 128
# Layout of an item's uniform draw u (one rng.random call, the same length for every class,
# so that the two classes of a pair consume identical randomness).
U_SPEED, U_WLEN, U_WSTART, U_PHASE, U_MIRROR, U_HEIGHT, U_POSX, U_POSY, U_PANX, U_PANY = range(10)
U_LUM, U_CONTRAST, U_UPDOWN, U_THICK = range(10, 14)
U_BG_CHROMA, U_FIG_CHROMA = slice(14, 17), slice(17, 20)
_U_FIXED = 20


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: expected an int >= {minimum}.")
    return int(value)


class SynthActions(Dataset):
    """Procedural stick-figure actions; see the module docstring for classes and the ceiling.

    Args:
        split: "train" | "val" | "test" (disjoint random streams).
        num_samples: items in the split; default ``DEFAULT_NUM_SAMPLES[split]``.
        seed: non-negative int; item i is a pure function of (seed, split, i).
        frames: frames per clip (>= 4), spanning ``CLIP_SECONDS``.
        size: int or (H, W), each >= 16 pixels.
        difficulty: "easy" | "medium" | "hard".
        modality: "rgb" (default: the clip), "rgb+flow" (clip and per-frame flow stacked on the
            channel axis, 5 channels) or "flow" (the 2 flow channels only). See "Flow" below.
        flow_method: "gt" (the exact flow of the rendering, :meth:`flow`), "farneback", "tvl1" or
            "dis" (estimated from the rendered frames with :mod:`actionrec.data.flow`).
        flow_params: estimator parameters (None: ``actionrec.data.flow`` defaults).
        flow_quantize: clip to ±20 px and round to 8 bits like the paper's stored flow (True), or
            keep float flow (False; estimated flow is then not cached on disk).
        flow_cache_dir: directory of the on-disk cache of estimated flow (None: compute in memory).

    ``ds[i] -> (clip float32 (3, T, H, W) = (uint8 / 255 - MEAN) / STD, label int)``;
    ``ds.render(i)`` -> uint8 (T, H, W, 3); ``ds.meta(i)`` -> dict of the draw;
    ``ds.get_batch(indices)`` -> (B, 3, T, H, W) tensor and (B,) labels, rendered together
    (vectorised over the batch; the DataLoader uses it through ``__getitems__``).

    Flow (for two-stream models, :mod:`actionrec.models.two_stream`). ``ds.flow(i)`` is the
    ground-truth flow ``(T-1, H, W, 2)`` from frame t to t+1. With ``modality="rgb+flow"`` the
    item is ``(x, label)`` with ``x`` float32 ``(5, T, H, W)``: channels 0-2 the normalised clip
    (bit for bit the "rgb" item), channels 3-4 the flow ``(dx, dy)`` in pixels from frame t to
    t+1 (x right, y down), the last frame repeating flow T-2 -> T-1 so every frame has one.
    With ``flow_quantize`` (default) the flow is clipped to ±20 px and 8-bit quantised (step
    0.157 px) exactly as ``actionrec.data.flow.quantize_flow`` stores it. ``modality="flow"``
    gives the two flow channels alone, ``(2, T, H, W)``. ``ds.channels`` is 3, 5 or 2. Items stay
    pure functions of (seed, split, i) (OpenCV's estimators are deterministic). The model builds
    L-frame stacks from the per-frame flow itself (``actionrec.data.flow.stack_flow``).
    """

    classes: list[str] = CLASSES
    num_classes: int = len(CLASSES)

    def __init__(
        self,
        split: str = "train",
        num_samples: int | None = None,
        *,
        seed: int = 0,
        frames: int = 16,
        size: int | tuple[int, int] = 64,
        difficulty: str = "medium",
        modality: str = "rgb",
        flow_method: str = "farneback",
        flow_params: dict | None = None,
        flow_quantize: bool = True,
        flow_cache_dir: str | None = None,
    ) -> None:
        if split not in SPLIT_IDS:
            raise ValueError(f"split={split!r} is not valid; use one of {list(SPLIT_IDS)}.")
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty={difficulty!r} is not valid; use one of {list(DIFFICULTIES)}.")
        self.split = split
        self.difficulty = difficulty
        self.num_samples = _check_int("num_samples", DEFAULT_NUM_SAMPLES[split] if num_samples is None
                                      else num_samples, 1)
        self.seed = _check_int("seed", seed, 0)
        self.frames = _check_int("frames", frames, 4)
        hw = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
        msg = f"size={size!r} is invalid: expected an int or an (H, W) pair of ints, each >= 16."
        if not (isinstance(hw, (tuple, list)) and len(hw) == 2):
            raise ValueError(msg)
        try:
            self.size = (_check_int("size", hw[0], 16), _check_int("size", hw[1], 16))
        except ValueError:
            raise ValueError(msg) from None
        self.cfg = DIFFICULTIES[difficulty]
        if modality not in MODALITIES:
            raise ValueError(f"modality={modality!r} is not valid; use one of {list(MODALITIES)}.")
        if flow_method not in FLOW_METHODS:
            raise ValueError(f"flow_method={flow_method!r} is not valid; use one of {list(FLOW_METHODS)}.")
        if not isinstance(flow_quantize, bool):
            raise ValueError(f"flow_quantize={flow_quantize!r} must be True or False.")
        if flow_params is not None and not isinstance(flow_params, dict):
            raise ValueError(f"flow_params={flow_params!r} must be a dict of estimator parameters or None.")
        self.modality, self.flow_method, self.flow_params = modality, flow_method, flow_params
        self.flow_quantize, self.flow_cache_dir = flow_quantize, flow_cache_dir
        self.channels = {"rgb": 3, "rgb+flow": 5, "flow": 2}[modality]
        if modality != "rgb" and flow_method != "gt":
            from . import flow as _flow

            _flow._check_method(flow_method)  # a clear error now rather than at the first item
            _flow._params(flow_method, flow_params)
        self._setup()

    def _setup(self) -> None:
        """Precompute everything that does not depend on the item."""
        H, W = self.size
        T = self.frames
        cfg = self.cfg
        r = cfg["texture_res"]
        self._u_texture = slice(_U_FIXED, _U_FIXED + 3 * r * r)
        self._u_blobs = slice(self._u_texture.stop, self._u_texture.stop + 8 * cfg["blobs"])
        self._u_sticks = slice(self._u_blobs.stop, self._u_blobs.stop + 8 * cfg["sticks"])
        self._u_noise = slice(self._u_sticks.stop, self._u_sticks.stop + 3 * T)
        self.draw_size = self._u_noise.stop
        self._time = np.linspace(0.0, 1.0, T)  # clip time of each frame, fraction
        self._pan_max = np.array([cfg["pan"] * W, cfg["pan"] * W / 3.0])  # (x, y) pixels
        self._bg_h = H + int(math.ceil(self._pan_max[1]))
        self._bg_w = W + int(math.ceil(self._pan_max[0]))
        self._up_y = _bilinear_matrix(self._bg_h, r)  # (Hb, r)
        self._up_xt = np.ascontiguousarray(_bilinear_matrix(self._bg_w, r).T)  # (r, Wb)
        self._gy = (np.arange(self._bg_h, dtype=np.float32) + 0.5)[None, :, None]  # (1, Hb, 1)
        self._gx = (np.arange(self._bg_w, dtype=np.float32) + 0.5)[None, None, :]  # (1, 1, Wb)
        # Sensor noise: a bank of single-channel frames drawn once from the seed, in 0-255
        # units, +0.5 so that the final truncation rounds. An item picks 3*T of them.
        bank_rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1_000_003]))
        bank = bank_rng.standard_normal((_NOISE_BANK_FRAMES, H, W), dtype=np.float32)
        self._noise_bank = bank * np.float32(255.0 * cfg["noise"]) + np.float32(0.5)

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        extra = "" if self.modality == "rgb" else f", modality={self.modality!r}, flow_method={self.flow_method!r}"
        return (f"SynthActions(split={self.split!r}, num_samples={self.num_samples}, seed={self.seed}, "
                f"frames={self.frames}, size={self.size}, difficulty={self.difficulty!r}{extra})")

    def _index(self, i) -> int:
        i = int(i)
        if i < 0:
            i += self.num_samples
        if not 0 <= i < self.num_samples:
            raise IndexError(f"index {i} is out of range for a SynthActions of num_samples={self.num_samples}.")
        return i

    def label(self, i: int) -> int:
        """Class of item ``i``: ``i % num_classes`` (balanced)."""
        return self._index(i) % self.num_classes

    def draw(self, i: int) -> np.ndarray:
        """The uniform draw ``(draw_size,)`` of item ``i``, a pure function of (seed, split, i)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, SPLIT_IDS[self.split], self._index(i)]))
        return rng.random(self.draw_size)

    # ------------------------------------------------------------------------------------------
    # Public rendering API
    # ------------------------------------------------------------------------------------------
    def render(self, i: int) -> np.ndarray:
        """Raw uint8 frames ``(T, H, W, 3)`` of item ``i`` (what ``ds[i]`` normalises)."""
        return self.render_batch([i])[0]

    def render_batch(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 ``(B, T, H, W, 3)`` of several items, rendered together (vectorised)."""
        labels, draws = self._draws(indices)
        return self.render_draws(labels, draws)

    def get_batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(clips (B, C, T, H, W) float32, labels (B,) int64)``, vectorised over the batch;
        ``clips[k]`` equals ``ds[indices[k]][0]`` bit for bit. C = ``ds.channels`` (3 for "rgb":
        the normalised clip; 5 for "rgb+flow"; 2 for "flow")."""
        labels, draws = self._draws(indices)
        if self.modality == "rgb":
            return torch.from_numpy(self._render(labels, draws, normalized=True)), torch.from_numpy(labels)
        frames = self._render(labels, draws, normalized=False)  # (B, T, H, W, 3) uint8
        flow = torch.from_numpy(self._flow_channels(indices, labels, draws, frames))  # (B, 2, T, H, W)
        if self.modality == "flow":
            return flow, torch.from_numpy(labels)
        return torch.cat([normalize(frames), flow], dim=1), torch.from_numpy(labels)  # (B, 3 + 2, T, H, W)

    def _flow_channels(self, indices, labels, draws, frames) -> np.ndarray:
        """Per-frame flow ``(B, 2, T, H, W)`` float32 (pixels) for the "rgb+flow" / "flow" items."""
        from . import flow as F

        B, T, (H, W) = len(labels), self.frames, self.size
        if self.flow_method == "gt":
            g = self._geometry(labels, draws) if B else None
            per = [_figure_flow(g["fx"][b], g["fy"][b], g["rad"][b], g["head_r"][b], g["off"][b], H, W)[0]
                   for b in range(B)]
            per = [F.dequantize_flow(F.quantize_flow(f)) if self.flow_quantize else f for f in per]
        elif self.flow_quantize:
            per = [F.dequantize_flow(F.cached_flow(self._video_id(i), frames[b], cache_dir=self.flow_cache_dir,
                                                   method=self.flow_method, params=self.flow_params))
                   for b, i in enumerate(indices)]
        else:
            per = [F.compute_flow(frames[b], method=self.flow_method, params=self.flow_params) for b in range(B)]
        out = np.empty((B, 2, T, H, W), dtype=np.float32)
        for b, f in enumerate(per):  # f: (T-1, H, W, 2)
            out[b, :, : T - 1] = f.transpose(3, 0, 1, 2)  # (T-1, H, W, 2) -> (2, T-1, H, W)
            out[b, :, T - 1] = out[b, :, T - 2]  # the last frame repeats the last flow
        return out

    def _video_id(self, i: int) -> str:
        """Cache identity of item ``i``'s frames (everything its pixels depend on)."""
        H, W = self.size
        return f"synthactions-{self.difficulty}-s{self.seed}-{self.split}-{self._index(i)}-{self.frames}x{H}x{W}"

    def __getitem__(self, i) -> tuple[torch.Tensor, int]:
        clips, labels = self.get_batch([i])
        return clips[0], int(labels[0])

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, int]]:
        """Batched fetch, used by ``torch.utils.data.DataLoader`` (items equal ``ds[i]``)."""
        clips, labels = self.get_batch(indices)
        return [(clips[k], int(labels[k])) for k in range(len(labels))]

    def render_draws(self, labels: Sequence[int], draws: np.ndarray) -> np.ndarray:
        """Render uniform draws ``(B, draw_size)`` as classes ``labels`` -> uint8 (B, T, H, W, 3).

        Rendering the reverse class of a pair from the draw of its forward class gives the
        forward clip reversed in time, exactly (sensor noise included).
        """
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        draws = np.asarray(draws, dtype=np.float64).reshape(len(labels), self.draw_size)
        return self._render(labels, draws, normalized=False)

    def _draws(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        labels = np.array([self.label(i) for i in indices], dtype=np.int64)
        draws = np.stack([self.draw(i) for i in indices]) if len(labels) else np.zeros((0, self.draw_size))
        return labels, draws

    def meta(self, i: int) -> dict:
        """The draw of item ``i`` in words: action, speed, window, phase, mirror, size, pan, colour."""
        lab = self.label(i)
        p = self._derive(np.array([lab]), self.draw(i)[None])
        periodic = bool(_CLASS_PERIODIC[lab])
        ws, wl = float(p["window_start"][0]), float(p["window_length"][0])
        return dict(
            index=self._index(i),
            label=lab,
            action=CLASSES[lab],
            reverse_of=CLASSES[lab - 1] if _CLASS_REVERSED[lab] else None,
            periodic=periodic,
            speed=float(p["speed"][0]),
            cycles=float(p["cycles"][0]) if periodic else None,
            cycles_per_second=float(p["cycles"][0]) / (wl * CLIP_SECONDS) if periodic else None,
            duration_s=wl * CLIP_SECONDS,
            window_start=ws,
            window_length=wl,
            window_frames=(ws * (self.frames - 1), (ws + wl) * (self.frames - 1)),
            phase0=float(p["phase0"][0]) if periodic else None,
            mirrored=bool(p["mirrored"][0]),
            height_frac=float(p["height_frac"][0]),
            pan_px=tuple(float(v) for v in p["pan"][0]),
            colour=tuple(float(v) for v in p["colour"][0]),
        )

    def action_window(self, i: int) -> tuple[float, float]:
        """``(first, last)``: where the action happens in the *rendered* clip of item ``i``, in
        (fractional) frame units ``0 .. T-1``; the figure holds its start/end pose outside it.

        Unlike ``meta(i)["window_frames"]`` (the draw's window, before reversal) this accounts for
        the reverse classes, whose progress runs backwards: their window is the draw's mirrored,
        ``(T-1) - (end, start)``. Tested against the ground-truth flow (zero outside the window).
        """
        lab = self.label(i)
        p = self._derive(np.array([lab]), self.draw(i)[None])
        ws, wl = float(p["window_start"][0]), float(p["window_length"][0])
        if _CLASS_REVERSED[lab]:
            ws = 1.0 - ws - wl
        return ws * (self.frames - 1), (ws + wl) * (self.frames - 1)

    def action_mask(self, indices: Sequence[int]) -> np.ndarray:
        """bool ``(B, T)``: frame t of item ``indices[b]`` counts as inside the action when its time
        cell ``[t - 1/2, t + 1/2]`` overlaps :meth:`action_window` (so every frame showing the
        action, and the frame on either side whose flow ``t -> t+1`` already/still moves, within
        half a frame). ``mask.mean(1)`` is the window's share of the clip in frames."""
        t = np.arange(self.frames)
        win = np.array([self.action_window(i) for i in indices], dtype=np.float64).reshape(-1, 2)  # (B, 2)
        return (t[None, :] + 0.5 > win[:, :1]) & (t[None, :] - 0.5 < win[:, 1:])

    def flow(self, i: int, *, with_mask: bool = False):
        """Ground-truth optical flow of item ``i``: float32 ``(T-1, H, W, 2)``, (dx, dy) in pixels
        from frame t to frame t+1 (x right, y down), exact and unclipped; with ``with_mask=True``
        also the figure mask ``(T-1, H, W)`` bool of frame t. Figure pixels move with their limb
        (rigidly, pan included); every other pixel gets the camera pan (0 without pan, as in
        "easy"). A pure function of (seed, split, i), like the clip. See :func:`_figure_flow`.
        """
        out = self.flow_batch([i], with_mask=with_mask)
        return (out[0][0], out[1][0]) if with_mask else out[0]

    def flow_batch(self, indices: Sequence[int], *, with_mask: bool = False):
        """Ground-truth flow ``(B, T-1, H, W, 2)`` of several items (and masks ``(B, T-1, H, W)``)."""
        labels, draws = self._draws(indices)
        B, T, (H, W) = len(labels), self.frames, self.size
        flow = np.zeros((B, T - 1, H, W, 2), dtype=np.float32)
        mask = np.zeros((B, T - 1, H, W), dtype=bool)
        if B:
            g = self._geometry(labels, draws)
            for b in range(B):
                flow[b], mask[b] = _figure_flow(g["fx"][b], g["fy"][b], g["rad"][b], g["head_r"][b], g["off"][b], H, W)
        return (flow, mask) if with_mask else flow

    # ------------------------------------------------------------------------------------------
    # From draws to frames
    # ------------------------------------------------------------------------------------------
    def _derive(self, labels: np.ndarray, u: np.ndarray) -> dict:
        """Clip parameters from uniform draws ``u`` (B, draw_size), vectorised over the batch."""
        cfg = self.cfg
        periodic = _CLASS_PERIODIC[labels]
        wl = WINDOW_RANGE[0] + (WINDOW_RANGE[1] - WINDOW_RANGE[0]) * u[:, U_WLEN]
        speed_p = SPEED_RANGE[0] * (SPEED_RANGE[1] / SPEED_RANGE[0]) ** u[:, U_SPEED]
        speed = np.where(periodic, speed_p, ONE_SHOT_SECONDS / (wl * CLIP_SECONDS))
        cycles = np.where(periodic, _CLASS_RATE[labels] * speed_p * wl * CLIP_SECONDS, 1.0)
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
            mirrored=_CLASS_MIRROR[labels] & (u[:, U_MIRROR] < 0.5),
            height_frac=lo + (hi - lo) * u[:, U_HEIGHT],
            pos=u[:, [U_POSX, U_POSY]],
            pan=(2.0 * u[:, [U_PANX, U_PANY]] - 1.0) * self._pan_max,  # sign-symmetric
            bg_colour=_clamp(lum_bg[:, None] + 0.5 * sat * bg_chroma, 0.0, 1.0),
            colour=_clamp(lum_fig[:, None] + sat * fig_chroma, 0.0, 1.0),
            thickness=tlo + (thi - tlo) * u[:, U_THICK],
        )

    def _joints(self, labels: np.ndarray, p: dict) -> np.ndarray:
        """Joint positions ``(B, T, 12, 2)`` in figure units (x right, y up, feet on y = 0)."""
        B, T = len(labels), self.frames
        prog = _clamp((self._time[None, :] - p["window_start"][:, None]) / p["window_length"][:, None], 0.0, 1.0)
        rev = _CLASS_REVERSED[labels]
        prog[rev] = prog[rev, ::-1]  # the reverse class: progress runs backwards
        actions = _CLASS_ACTION[labels]
        pose = np.empty((B, T, POSE_DIM))
        for a in np.unique(actions):
            rows = np.flatnonzero(actions == a)
            pose[rows] = ACTIONS[a].pose(prog[rows], p["phase0"][rows], p["cycles"][rows])
        jnt = _forward_kinematics(pose)
        jnt[p["mirrored"], :, :, 0] *= -1.0
        return jnt

    def _geometry(self, labels: np.ndarray, u: np.ndarray) -> dict:
        """Where everything is, per frame: clip parameters ``p``, reversal flags ``rev`` (B,),
        integer pan offsets ``off`` (B, T, 2) of each frame inside the background canvas, joint
        positions ``fx, fy`` (B, T, 12) in frame pixels (x right, y down; pan included) and the
        limb / head radii ``rad, head_r`` (B,) in pixels. Shared by rendering and ground-truth flow.
        """
        H, W = self.size
        rev = _CLASS_REVERSED[labels]
        p = self._derive(labels, u)
        jnt = self._joints(labels, p)  # (B, T, 12, 2)

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

    def _render(self, labels: np.ndarray, u: np.ndarray, normalized: bool) -> np.ndarray:
        """Draws -> normalised float32 ``(B, 3, T, H, W)`` or uint8 ``(B, T, H, W, 3)``.

        Every step is elementwise or an exact per-clip reduction (min/max), so a clip's pixels do
        not depend on the other clips of the batch.
        """
        B, T, (H, W) = len(labels), self.frames, self.size
        if B == 0:
            return np.zeros((0, 3, T, H, W) if normalized else (0, T, H, W, 3),
                            dtype=np.float32 if normalized else np.uint8)
        g = self._geometry(labels, u)
        p, rev, off, fx, fy, rad, head_r = (g[k] for k in ("p", "rev", "off", "fx", "fy", "rad", "head_r"))

        bg = self._background(p, u, rad)  # (B, 3, Hb, Wb), seen through the panning window
        alpha = _figure_alpha(
            fx.reshape(B * T, N_JOINTS).astype(np.float32),  # (B, T, 12) -> (B*T, 12)
            fy.reshape(B * T, N_JOINTS).astype(np.float32),  # (B, T, 12) -> (B*T, 12)
            np.repeat(rad, T).astype(np.float32),
            np.repeat(head_r, T).astype(np.float32),
            H, W,
        ).reshape(B, 1, T, H, W)  # (B*T, H, W) -> (B, 1, T, H, W), zero away from the figure
        # Box (per clip, all frames) outside which the coverage is 0 (see _rasterise).
        bx0 = _clamp(np.floor(fx.min(axis=(1, 2)) - head_r - 1.0), 0, W).astype(np.int64)
        bx1 = _clamp(np.ceil(fx.max(axis=(1, 2)) + head_r), 0, W).astype(np.int64)
        by0 = _clamp(np.floor(fy.min(axis=(1, 2)) - head_r - 1.0), 0, H).astype(np.int64)
        by1 = _clamp(np.ceil(fy.max(axis=(1, 2)) + head_r), 0, H).astype(np.int64)
        col = (p["colour"] * 255.0).astype(np.float32)[:, :, None, None, None]  # (B, 3, 1, 1, 1)
        nidx = np.minimum((u[:, self._u_noise] * _NOISE_BANK_FRAMES).astype(np.int64), _NOISE_BANK_FRAMES - 1)
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
            if normalized:  # == normalize() of the truncated uint8 frames, bit for bit
                np.floor(x, out=x)
                x *= _NORM_SCALE
                x -= _NORM_SHIFT
            else:
                np.copyto(out[b], x.transpose(1, 2, 3, 0), casting="unsafe")  # (3,T,H,W) -> (T,H,W,3), truncates
        return out

    def _background(self, p: dict, u: np.ndarray, rad: np.ndarray) -> np.ndarray:
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
            col = _clamp(p["bg_colour"] + (blobs[:, k, 5:8] - 0.5) * 0.9, 0.0, 1.0) * 255.0
            bg += a * (col.astype(np.float32)[:, :, None, None] - bg)
        sticks = u[:, self._u_sticks].reshape(B, cfg["sticks"], 8)  # (B, 8*n) -> (B, n, 8)
        for k in range(cfg["sticks"]):
            s = sticks[:, k]
            ax, ay = s[:, 0] * Wb, s[:, 1] * Hb
            ang, ln = s[:, 2] * 2.0 * math.pi, (0.15 + 0.2 * s[:, 3]) * scale
            d = _segment_distance(self._gx, self._gy, ax, ay, ax + ln * np.cos(ang), ay + ln * np.sin(ang))
            a = _clamp((rad + 0.5)[:, None, None] - d, 0.0, 1.0).astype(np.float32)[:, None]
            col = np.where((s[:, 4] < 0.5)[:, None], p["colour"], s[:, 5:8]) * 255.0  # half in the figure's colour
            bg += a * (col.astype(np.float32)[:, :, None, None] - bg)
        return bg


_NORM_SCALE = np.float32(1.0 / (255.0 * STD))
_NORM_SHIFT = np.float32(MEAN / STD)


def normalize(frames) -> torch.Tensor:
    """uint8 ``(..., T, H, W, 3)`` -> float32 ``(..., 3, T, H, W)`` = ``(x / 255 - MEAN) / STD``
    (the same float32 arithmetic as ``SynthActions.__getitem__``, so the results are identical)."""
    x = np.moveaxis(np.asarray(frames), -1, -4).astype(np.float32)  # (..., T, H, W, 3) -> (..., 3, T, H, W)
    x *= _NORM_SCALE
    x -= _NORM_SHIFT
    return torch.from_numpy(x)


def denormalize(clip) -> np.ndarray:
    """float ``(..., 3, T, H, W)`` normalised clip -> uint8 ``(..., T, H, W, 3)``."""
    x = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    x = np.moveaxis(x, -4, -1) * STD + MEAN  # (..., 3, T, H, W) -> (..., T, H, W, 3)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Geometry and rasterisation helpers
# ----------------------------------------------------------------------------------------------
def _forward_kinematics(pose: np.ndarray) -> np.ndarray:
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
    ground = j[..., _GROUND_JOINTS, 1].min(axis=-1)
    j[..., 1] += (pose[..., DY] - ground)[..., None]
    return j


# Capsules rasterised per frame: the 9 limb segments, then the head as a zero-length capsule.
_CAPS_A = np.concatenate([_SEG_A, [HEAD]])
_CAPS_B = np.concatenate([_SEG_B, [HEAD]])
_BATCHED_FRAMES = 128  # from this many frames on, rasterise capsule by capsule (less padding)


def _figure_alpha(fx, fy, rad, head_r, H, W):
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
    r_all = np.where((_CAPS_A == _CAPS_B)[:, None], head_r[None, :], rad[None, :])  # (10, N) radii
    ax, ay = np.ascontiguousarray(fx[:, _CAPS_A].T), np.ascontiguousarray(fy[:, _CAPS_A].T)  # (10, N)
    bx, by = np.ascontiguousarray(fx[:, _CAPS_B].T), np.ascontiguousarray(fy[:, _CAPS_B].T)
    groups = [slice(None)] if N < _BATCHED_FRAMES else [slice(s, s + 1) for s in range(len(_CAPS_A))]
    for g in groups:
        _rasterise(canvas, ax[g], ay[g], bx[g], by[g], r_all[g], H, W)
    return canvas.reshape(N, H, W)  # (N*H*W,) -> (N, H, W)


def _rasterise(canvas, a_x, a_y, b_x, b_y, r, H, W):
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


def _figure_flow(fx, fy, rad, head_r, off, H, W):
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
    ax, ay, bx, by = fx[:, _CAPS_A], fy[:, _CAPS_A], fx[:, _CAPS_B], fy[:, _CAPS_B]  # (T, 10)
    r = np.where(_CAPS_A == _CAPS_B, head_r, rad)  # (10,)
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
    x0, x1 = (int(_clamp(v, 0, W)) for v in (np.floor(fx.min() - hr), np.ceil(fx.max() + hr)))
    y0, y1 = (int(_clamp(v, 0, H)) for v in (np.floor(fy.min() - hr), np.ceil(fy.max() + hr)))
    if x1 <= x0 or y1 <= y0:
        return flow, mask
    px = (np.arange(x0, x1) + 0.5)[None, None, None, :]  # (1, 1, 1, w) pixel centres
    py = (np.arange(y0, y1) + 0.5)[None, None, :, None]  # (1, 1, h, 1)
    dx, dy = px - e(ax), py - e(ay)  # (T-1, 10, 1, w), (T-1, 10, h, 1)
    inv = 1.0 / np.maximum(e(vx) ** 2 + e(vy) ** 2, 1e-6)
    t = _clamp((dx * e(vx) + dy * e(vy)) * inv, 0.0, 1.0)  # (T-1, 10, h, w) projection on the axis
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


def _segment_distance(gx, gy, ax, ay, bx, by):
    """Distance ``(B, Hb, Wb)`` from grid points gx (1, 1, Wb), gy (1, Hb, 1) to segments a-b (B,)."""
    ax, ay, bx, by = (v.astype(np.float32)[:, None, None] for v in (ax, ay, bx, by))
    vx, vy = bx - ax, by - ay
    t = _clamp(((gx - ax) * vx + (gy - ay) * vy) / np.maximum(vx * vx + vy * vy, 1e-6), 0.0, 1.0)
    return np.sqrt((gx - ax - t * vx) ** 2 + (gy - ay - t * vy) ** 2)


def _bilinear_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix resampling n_in samples to n_out with linear interpolation."""
    pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n_in - 2)
    w = pos - i0
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] = 1.0 - w
    m[np.arange(n_out), i0 + 1] = w
    return m
