"""SynthActions' figure and its 16 action classes: poses as functions of progress, the class table.

The figure is an articulated stick figure -- head (disc), torso, two arms with elbows, two legs
with knees -- left/right symmetric (no face, no feet, both sides the same colour), so its facing
direction is only visible in motion. A pose is 11 numbers (torso lean, shoulder/elbow/hip/knee
angles, root offset); :class:`Action` gives the pose trajectory ``(n, T, POSE_DIM)`` at progress
``p`` in [0, 1]: periodic actions through a gait function of the phase, one-shot actions by
smoothstep interpolation between keyframes.

Classes (16) and the frame-order-blind ceiling::

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

The reverse class of a pair is the same trajectory with progress running backwards, so the two
members of a pair have identical distributions over frame *sets*; a model that ignores frame
order gets at most one of each pair and each single right::

    ORDERLESS_CEILING = (7 pairs + 2 singles) / 16 classes = 9/16 = 0.5625

``walk_right`` is ``walk_left`` played backwards, so its knees flex towards the direction of
travel (a moonwalk): the price of exact reversal. Periodic base rates keep fast clips below the
aliasing limit at 16 frames (8 fps): two legs or two propeller arms look alike, so the visible
period is half a cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "CLIP_SECONDS", "ONE_SHOT_SECONDS", "SPEED_RANGE", "WINDOW_RANGE", "POSE_DIM", "N_JOINTS",
    "Action", "ACTIONS", "CLASSES", "REVERSAL_PAIRS", "TIME_SYMMETRIC", "ORDERLESS_CEILING",
    "CLASS_ACTION", "CLASS_REVERSED", "CLASS_PERIODIC", "CLASS_MIRROR", "CLASS_RATE",
]

CLIP_SECONDS = 2.0  # duration covered by a clip, whatever the number of frames
ONE_SHOT_SECONDS = 1.2  # one-shot actions: speed = ONE_SHOT_SECONDS / duration, in [0.6, 2]
SPEED_RANGE = (0.5, 2.0)  # periodic actions: log-uniform multiplier of the base rate
WINDOW_RANGE = (0.3, 1.0)  # fraction of the clip the action occupies (uniform)


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
SEG_A = np.array([HIP, SHLD, ELB1, SHLD, ELB2, HIP, KNE1, HIP, KNE2])  # capsule starts
SEG_B = np.array([NECK, ELB1, HND1, ELB2, HND2, KNE1, ANK1, KNE2, ANK2])  # capsule ends
GROUND_JOINTS = np.array([HIP, KNE1, ANK1, KNE2, ANK2])  # lowest of these touches the ground

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


def clamp(x, lo, hi):
    """``np.clip`` without its Python-level overhead (which dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def _interp_keyframes(keys: np.ndarray, times: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Piecewise smoothstep interpolation between keyframes (zero velocity at each key)."""
    seg = clamp(np.searchsorted(times, p, side="right") - 1, 0, len(times) - 2)
    u = clamp((p - times[seg]) / (times[seg + 1] - times[seg]), 0.0, 1.0)
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


CLASSES, CLASS_ACTION, CLASS_REVERSED, REVERSAL_PAIRS, TIME_SYMMETRIC = _build_classes()
CLASS_PERIODIC = np.array([ACTIONS[a].periodic for a in CLASS_ACTION])
CLASS_MIRROR = np.array([ACTIONS[a].mirror for a in CLASS_ACTION])
CLASS_RATE = np.array([ACTIONS[a].rate for a in CLASS_ACTION])
# A frame-order-blind model can at best tell the pairs apart from each other and from the
# singles, never the two members of a pair: one success per pair, one per single.
ORDERLESS_CEILING: float = (len(REVERSAL_PAIRS) + len(TIME_SYMMETRIC)) / len(CLASSES)  # 9/16
