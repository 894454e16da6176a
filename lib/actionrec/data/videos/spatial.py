"""Spatial transforms of real video clips: shorter-side resize, crops, per-channel normalisation.

Tensor ops on ``(..., H, W)`` frames (no torchvision, no cv2)::

    uint8 (T, 3, H, W) ─→ resize_short_side(short)     antialiased bilinear, on uint8 (channels-last)
      ─→ crop size x size at crop_offsets(...)          random (train), centre, or 3 along the longer side
      ─→ (3, T, size, size) ─→ normalize_clip: (x / 255 - mean) / std per channel, float32

``denormalize_clip`` goes back to 0..1 values for display. Departures from PySlowFast / MMAction2:
resize is antialiased bilinear (torchvision's default) with the longer side rounded to nearest
(PySlowFast floors it), and runs on the uint8 frames (rounded to integer levels, as the cv2/PIL
resizes of MMAction2 and torchvision are); only the crop is converted to float. The 3-crop
ordering is PySlowFast's ``uniform_crop`` (0, 1, 2 = start, centre, end of the longer side).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = ["short_side_shape", "resize_short_side", "crop_offsets", "channel_stats", "normalize_clip",
           "denormalize_clip"]


def short_side_shape(height: int, width: int, short: int) -> tuple[int, int]:
    """(H', W') with the shorter side ``short`` and the aspect ratio kept (longer side rounded)."""
    if height <= width:
        return short, max(short, int(width * short / height + 0.5))
    return max(short, int(height * short / width + 0.5)), short


def resize_short_side(x: torch.Tensor, short: int) -> torch.Tensor:
    """Resize frames ``(T, C, H, W)`` so the shorter side is ``short`` (bilinear, antialiased).

    uint8 on CPU stays uint8 (PyTorch's channels-last uint8 kernel, rounded to the nearest level,
    within 1 level of the float result); uint8 elsewhere is resized as float. Float in, float out.
    """
    h, w = x.shape[-2:]
    size = short_side_shape(h, w, short)
    if size == (h, w):
        return x
    if x.dtype == torch.uint8 and x.device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)  # (T, C, H, W) stored as (T, H, W, C)
    elif not x.is_floating_point():
        x = x.float()
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)  # (T, C, H', W')


def crop_offsets(height: int, width: int, size: int, *, crop: int = 1, crops: int = 1) -> tuple[int, int]:
    """(top, left) of crop ``crop`` of ``crops`` (1: centre; 3: start/centre/end of the longer side)."""
    if crops == 1:
        return (height - size) // 2, (width - size) // 2
    if crops != 3 or not 0 <= crop < 3:
        raise ValueError(f"crops={crops} must be 1 or 3 and crop={crop} in 0..crops-1")
    if height > width:  # portrait: crops go down the frame
        return [0, (height - size) // 2, height - size][crop], (width - size) // 2
    return (height - size) // 2, [0, (width - size) // 2, width - size][crop]


def channel_stats(values, name: str) -> torch.Tensor:
    """Per-channel ``mean`` / ``std`` values as a float32 ``(3,)`` tensor (``name`` for the error)."""
    v = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    if v.numel() != 3:
        raise ValueError(f"{name} must have 3 values (R, G, B); got {values!r}")
    return v


def normalize_clip(clip: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(clip / 255 - mean) / std`` per channel of a ``(3, T, H, W)`` clip in 0..255 (uint8 or float).

    Returns a new float32 tensor, computed as ``clip * (1 / (255 std)) - mean / std``.
    """
    m = channel_stats(mean, "mean").view(3, 1, 1, 1).to(clip.device)  # (3,) -> (3, 1, 1, 1)
    s = channel_stats(std, "std").view(3, 1, 1, 1).to(clip.device)
    x = clip.to(torch.float32, copy=True)
    return x.mul_(1.0 / (255.0 * s)).sub_(m / s)


def denormalize_clip(clip: torch.Tensor, mean: Sequence[float] = (0.45, 0.45, 0.45),
                std: Sequence[float] = (0.225, 0.225, 0.225)) -> torch.Tensor:
    """Inverse of :func:`normalize_clip` for ``(3, T, H, W)`` / ``(B, 3, T, H, W)``: values in 0..1 (for display)."""
    m = channel_stats(mean, "mean").view(3, 1, 1, 1).to(clip.device)
    s = channel_stats(std, "std").view(3, 1, 1, 1).to(clip.device)
    return (clip * s + m).clamp(0.0, 1.0)
