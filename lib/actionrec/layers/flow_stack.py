"""Flow stacking for the motion stream: per-frame optical flow → one stack of L flows per frame.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017), Sec. 3.1: the motion stream sees "a stack of L = 10 horizontal and
vertical optical flow frames" (2L = 20 channels); stacking follows Simonyan & Zisserman's
two-stream paper (their eq. 1: x and y displacements interleaved).

The stack of frame t holds the L flows ``t - L//2 + j`` for ``j = 0 .. L-1`` (for L = 10: flows
t-5 .. t+4, i.e. frames t-5 .. t+5), indices clamped to ``[0, T-1]`` (edge frames repeat the first /
last flow). Channel ``2j`` is the x displacement of flow j, ``2j + 1`` its y::

    flow (B, 2, T, H, W), frame t holds the flow t → t+1
      → gather flows idx[t, j] = clamp(t - L//2 + j, 0, T-1)        (B, 2, T, L, H, W)
      → (B, L, 2, T, H, W) → stacks (B, 2L, T, H, W)   channels [dx_0, dy_0, dx_1, dy_1, ...]

:class:`actionrec.models.two_stream.STMultiplierNet` builds its stacks with it from the per-frame
flow of :mod:`actionrec.data.flow` (the same stacks the paper precomputes).
"""

from __future__ import annotations

import torch

from ..utils.checks import check_int

__all__ = ["stack_flow"]


def stack_flow(flow: torch.Tensor, L: int = 10) -> torch.Tensor:
    """Per-frame flow ``(B, 2, T, H, W)`` (frame t holds flow t → t+1) → stacks ``(B, 2L, T, H, W)``,
    one around every frame (module docstring). ``L = 1`` returns the input."""
    if flow.dim() != 5 or flow.shape[1] != 2:
        raise ValueError(f"flow must be (B, 2, T, H, W); got {tuple(flow.shape)}")
    if L == 1:
        return flow
    check_int("L", L, min_value=1)
    b, _, t, h, w = flow.shape
    centres = torch.arange(t, device=flow.device)[:, None]  # (T, 1)
    idx = (centres - L // 2 + torch.arange(L, device=flow.device)[None, :]).clamp(0, t - 1)  # (T, L)
    s = flow[:, :, idx.reshape(-1)]  # (B, 2, T*L, H, W)
    s = s.view(b, 2, t, L, h, w).permute(0, 3, 1, 2, 4, 5)  # (B, 2, T, L, H, W) -> (B, L, 2, T, H, W)
    return s.reshape(b, 2 * L, t, h, w)  # (B, L, 2, T, H, W) -> (B, 2L, T, H, W), interleaved x/y
