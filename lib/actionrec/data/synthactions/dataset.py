"""SynthActions: an embedded, procedurally rendered action dataset where frame order matters.

Every clip shows one stick figure (:mod:`.actions`: 16 classes, 7 of them time-reversed copies of
7 others, so a frame-order-blind model scores at most ``ORDERLESS_CEILING`` = 9/16) drawn as
anti-aliased capsules over a static textured background seen through a panning camera, plus
sensor noise (:mod:`.scene`, :mod:`.render`).

Sampling: item ``i`` of split ``s`` is a pure function of ``(seed, s, i)`` (and ``frames``,
``size``, ``difficulty``): its uniform draw comes from ``np.random.SeedSequence([seed,
SPLIT_IDS[s], i])``, so splits are disjoint streams, items are reproducible bit for bit across
processes (same NumPy build) and DataLoader workers share no state. Labels are balanced, ``label =
i % 16``. Default sizes (``DEFAULT_NUM_SAMPLES``): train 2000, val 512, test 512.

``ds[i] -> (clip, label)``: clip float32 ``(3, T, H, W)`` = ``(uint8 / 255 - MEAN) / STD``
(``MEAN = 0.5, STD = 0.25``; :func:`frames_to_clip`), label int. ``ds.render(i)`` returns the
uint8 ``(T, H, W, 3)`` frames the tensor was made from (:func:`clip_to_frames` goes back).
``ds.get_batch(indices)`` -> ``(B, C, T, H, W)`` clips + ``(B,)`` labels, rendered together and
equal to ``ds[i]`` bit for bit (``DataLoader`` calls it through ``__getitems__``);
``ds.render_batch``; ``ds.meta(i)`` (speed, window, phase, mirror, size, pan, colour);
``ds.action_window(i)`` / ``ds.action_mask(indices)`` (where the action is in the rendered clip);
``ds.draw(i)`` and ``ds.render_draws(labels, draws)`` (any draw as any class: the reversal test).

Optical flow (two-stream networks): ``ds.flow(i)`` / ``ds.flow_batch(indices)`` give the exact
ground-truth flow float32 ``(T-1, H, W, 2)``, (dx, dy) in pixels from frame t to t+1.
``modality="rgb+flow"`` items are ``(5, T, H, W)``: the clip, then the per-frame flow (ground truth
or Farneback/DIS/TV-L1 from :mod:`actionrec.data.flow`, 8-bit like the paper's stored flow,
optionally cached on disk); ``modality="flow"`` gives the flow alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ...utils.checks import check_bool, check_choice, check_int, fail
from ..flow import (MODALITIES, MODALITY_CHANNELS, cached_flow, check_method, compute_flow, dequantize_flow,
                    method_params, quantize_flow)
from .actions import CLASS_PERIODIC, CLASS_REVERSED, CLASSES, CLIP_SECONDS
from .render import figure_flow
from .scene import DIFFICULTIES, MEAN, NORM_SCALE, NORM_SHIFT, STD, ClipRenderer

__all__ = ["SynthActions", "SPLIT_IDS", "DEFAULT_NUM_SAMPLES", "FLOW_METHODS", "frames_to_clip", "clip_to_frames"]

SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
FLOW_METHODS = ("gt", "farneback", "tvl1", "dis")  # ground truth, or an actionrec.data.flow estimator
DEFAULT_NUM_SAMPLES = {"train": 2000, "val": 512, "test": 512}


def frames_to_clip(frames) -> torch.Tensor:
    """uint8 frames ``(..., T, H, W, 3)`` -> normalised float32 clip ``(..., 3, T, H, W)`` =
    ``(x / 255 - MEAN) / STD`` (the same float32 arithmetic as ``SynthActions.__getitem__``, so the
    results are identical)."""
    x = np.moveaxis(np.asarray(frames), -1, -4).astype(np.float32)  # (..., T, H, W, 3) -> (..., 3, T, H, W)
    x *= NORM_SCALE
    x -= NORM_SHIFT
    return torch.from_numpy(x)


def clip_to_frames(clip) -> np.ndarray:
    """Normalised float clip ``(..., 3, T, H, W)`` -> uint8 frames ``(..., T, H, W, 3)`` (for display)."""
    x = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    x = np.moveaxis(x, -4, -1) * STD + MEAN  # (..., 3, T, H, W) -> (..., T, H, W, 3)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


class SynthActions(Dataset):
    """Procedural stick-figure actions (module docstring: sampling, API, flow).

    Args:
        split: "train" | "val" | "test" (disjoint random streams).
        num_samples: items in the split; default ``DEFAULT_NUM_SAMPLES[split]``.
        seed: non-negative int; item i is a pure function of (seed, split, i).
        frames: frames per clip (>= 4), spanning ``CLIP_SECONDS``.
        size: int or (H, W), each >= 16 pixels.
        difficulty: "easy" | "medium" | "hard" | "temporal" (medium's pixels, short actions at a wider range of speeds).
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
    L-frame stacks from the per-frame flow itself (``actionrec.layers.flow_stack``).
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
        self.split = check_choice("split", split, SPLIT_IDS)
        self.difficulty = check_choice("difficulty", difficulty, DIFFICULTIES)
        self.num_samples = check_int("num_samples", DEFAULT_NUM_SAMPLES[split] if num_samples is None else num_samples,
                                     min_value=1)
        self.seed = check_int("seed", seed, min_value=0)
        self.frames = check_int("frames", frames, min_value=4)
        hw = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
        expected = "an int or an (H, W) pair of ints, each >= 16"
        if not (isinstance(hw, (tuple, list)) and len(hw) == 2):
            fail("size", size, expected)
        try:
            self.size = (check_int("size", hw[0], min_value=16), check_int("size", hw[1], min_value=16))
        except ValueError:
            fail("size", size, expected)
        self.cfg = DIFFICULTIES[difficulty]
        self.modality = check_choice("modality", modality, MODALITIES)
        self.flow_method = check_choice("flow_method", flow_method, FLOW_METHODS)
        self.flow_quantize = check_bool("flow_quantize", flow_quantize)
        if flow_params is not None and not isinstance(flow_params, dict):
            fail("flow_params", flow_params, "a dict of estimator parameters or None")
        self.flow_params, self.flow_cache_dir = flow_params, flow_cache_dir
        self.channels = MODALITY_CHANNELS[modality]
        if modality != "rgb" and flow_method != "gt":
            check_method(flow_method)  # a clear error now rather than at the first item
            method_params(flow_method, flow_params)
        self._renderer = ClipRenderer(self.frames, self.size, self.cfg, self.seed)
        self.draw_size = self._renderer.draw_size

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
            return torch.from_numpy(self._renderer.render(labels, draws, normalized=True)), torch.from_numpy(labels)
        frames = self._renderer.render(labels, draws, normalized=False)  # (B, T, H, W, 3) uint8
        flow = torch.from_numpy(self._flow_channels(indices, labels, draws, frames))  # (B, 2, T, H, W)
        if self.modality == "flow":
            return flow, torch.from_numpy(labels)
        return torch.cat([frames_to_clip(frames), flow], dim=1), torch.from_numpy(labels)  # (B, 3 + 2, T, H, W)

    def _flow_channels(self, indices, labels, draws, frames) -> np.ndarray:
        """Per-frame flow ``(B, 2, T, H, W)`` float32 (pixels) for the "rgb+flow" / "flow" items."""
        B, T, (H, W) = len(labels), self.frames, self.size
        if self.flow_method == "gt":
            g = self._renderer.geometry(labels, draws) if B else None
            per = [figure_flow(g["fx"][b], g["fy"][b], g["rad"][b], g["head_r"][b], g["off"][b], H, W)[0]
                   for b in range(B)]
            per = [dequantize_flow(quantize_flow(f)) if self.flow_quantize else f for f in per]
        elif self.flow_quantize:
            per = [dequantize_flow(cached_flow(self._video_id(i), frames[b], cache_dir=self.flow_cache_dir,
                                                   method=self.flow_method, params=self.flow_params))
                   for b, i in enumerate(indices)]
        else:
            per = [compute_flow(frames[b], method=self.flow_method, params=self.flow_params) for b in range(B)]
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
        return self._renderer.render(labels, draws, normalized=False)

    def _draws(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        labels = np.array([self.label(i) for i in indices], dtype=np.int64)
        draws = np.stack([self.draw(i) for i in indices]) if len(labels) else np.zeros((0, self.draw_size))
        return labels, draws

    def meta(self, i: int) -> dict:
        """The draw of item ``i`` in words: action, speed, window, phase, mirror, size, pan, colour."""
        lab = self.label(i)
        p = self._renderer.derive(np.array([lab]), self.draw(i)[None])
        periodic = bool(CLASS_PERIODIC[lab])
        ws, wl = float(p["window_start"][0]), float(p["window_length"][0])
        return dict(
            index=self._index(i),
            label=lab,
            action=CLASSES[lab],
            reverse_of=CLASSES[lab - 1] if CLASS_REVERSED[lab] else None,
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
        p = self._renderer.derive(np.array([lab]), self.draw(i)[None])
        ws, wl = float(p["window_start"][0]), float(p["window_length"][0])
        if CLASS_REVERSED[lab]:
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
        "easy"). A pure function of (seed, split, i), like the clip. See :func:`.render.figure_flow`.
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
            g = self._renderer.geometry(labels, draws)
            for b in range(B):
                flow[b], mask[b] = figure_flow(g["fx"][b], g["fy"][b], g["rad"][b], g["head_r"][b], g["off"][b], H, W)
        return (flow, mask) if with_mask else flow
