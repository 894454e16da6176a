"""SynthActions, the embedded action dataset: :mod:`.actions` (figure, poses, the 16 classes),
:mod:`.render` (kinematics, rasteriser, exact figure flow), :mod:`.scene` (draw -> clip) and
:mod:`.dataset` (the ``Dataset``, normalisation)."""

from ..flow import MODALITIES
from .actions import (ACTIONS, CLASS_REVERSED, CLASSES, CLIP_SECONDS, ONE_SHOT_SECONDS, ORDERLESS_CEILING,
                      REVERSAL_PAIRS, SPEED_RANGE, TIME_SYMMETRIC, WINDOW_RANGE, Action)
from .dataset import DEFAULT_NUM_SAMPLES, FLOW_METHODS, SPLIT_IDS, SynthActions, clip_to_frames, frames_to_clip
from .scene import DIFFICULTIES, MEAN, STD

__all__ = [
    "SynthActions", "CLASSES", "REVERSAL_PAIRS", "TIME_SYMMETRIC", "CLASS_REVERSED", "ORDERLESS_CEILING",
    "DIFFICULTIES", "DEFAULT_NUM_SAMPLES", "SPLIT_IDS", "MODALITIES", "FLOW_METHODS", "CLIP_SECONDS",
    "ONE_SHOT_SECONDS", "SPEED_RANGE", "WINDOW_RANGE", "MEAN", "STD", "Action", "ACTIONS", "frames_to_clip",
    "clip_to_frames",
]
