"""Real video datasets: :mod:`.annotations` (the official split files) -> :mod:`.records`,
:mod:`.video_io` (PyAV decoding), :mod:`.sampling` (which frames), :mod:`.spatial` (resize, crop,
normalise), :mod:`.flow_frames` (optical flow of clips), :mod:`.frame_cache` (the pre-decoded cache,
read and written), :mod:`.failures` (bad-video reporting), :mod:`.dataset` (``VideoDataset``),
:mod:`.build` (``build_video_dataset``) and :mod:`.prepare` (``prepare_cache``, imported on its own)."""

from ..flow import MODALITIES
from .annotations import ANNOTATION_KWARGS, ANNOTATIONS
from .build import DEFAULT_TEST_VIEWS, build_video_dataset
from .dataset import VideoDataset
from .frame_cache import FrameCache
from .records import Annotation, Problem, VideoRecord
from .sampling import (MODES, OUT_OF_BOUND, clip_indices, clip_span, flow_pair_indices, frame_window,
                       random_clip_start, tsn_indices, uniform_clip_starts)
from .spatial import crop_offsets, denormalize_clip, normalize_clip, resize_short_side, short_side_shape
from .video_io import VideoInfo, VideoReadError

__all__ = [
    "MODES", "OUT_OF_BOUND", "DEFAULT_TEST_VIEWS", "MODALITIES", "ANNOTATIONS", "ANNOTATION_KWARGS", "clip_span",
    "frame_window", "clip_indices", "random_clip_start", "uniform_clip_starts", "tsn_indices", "flow_pair_indices",
    "resize_short_side", "short_side_shape", "crop_offsets", "normalize_clip", "denormalize_clip", "FrameCache",
    "VideoDataset", "build_video_dataset", "VideoRecord", "Problem", "Annotation", "VideoInfo", "VideoReadError",
]
