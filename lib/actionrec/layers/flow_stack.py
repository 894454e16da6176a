"""Flow stacking for the motion stream: per-frame optical flow → one stack of L flows per frame.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017), Sec. 3.1: the motion stream sees "a stack of L = 10 horizontal and
vertical optical flow frames" (2L = 20 channels), following Simonyan & Zisserman's two-stream
paper [28], whose eq. 1 interleaves x and y: ``I_τ(u, v, 2k-1) = d^x_{τ+k-1}``,
``I_τ(u, v, 2k) = d^y_{τ+k-1}``, ``k = 1 .. L``. Which L flows belong to frame t (``stacking``)::

    stacking    flows in the stack of frame t            (L = 10)      source
    "centred"   t - L//2 + j,  j = 0 .. L-1               t-5 .. t+4    st-resnet (official code of the paper)
    "forward"   t + j,         j = 0 .. L-1               t   .. t+9    Simonyan & Zisserman, eq. 1 (τ = t)

Default ``"centred"`` (:ref:`readings-multiplier-flow-stacking`): the paper's text names only L and
[28]; its official code (feichtenhofer/st-resnet, ``cnn_get_im_flow_batch.m``) reads the flow files at
offsets -5 .. 4 (``frameOffsets = -L/2 : L/2-1``) around the sampled RGB frame, so appearance frame t is
gated by the motion stack centred on t. ``"forward"`` is S&Z's eq. 1 (their stack at τ starts at τ).

Clip ends. Indices are clamped to ``[0, T-1]``, so a stack that reaches past the clip repeats its
first / last flow. ``"centred"`` clamps at both ends: frame t holds ``max(0, L//2 - t)`` extra
copies of flow 0 and ``max(0, t + L - L//2 - T)`` of flow T-1 (about L²/4 repeated slots per clip
when L ≤ T). ``"forward"`` clamps at the end only, but twice as much: frame t holds
``max(0, t + L - T)`` extra copies of flow T-1, and the last frame's stack is L copies of it (about
L²/2 repeated slots). At T = 8: L = 10 repeats 25 of 80 slots centred (frame 0 holds flow 0 six
times) and 44 forward (frame 7 holds flow 7 ten times); L = 4 repeats 4 of 32 centred and 6 forward.
The datasets give the last frame the flow into it (flow T-1 = flow T-2 → T-1), so that repeat is
a repeat of the flow before it.

Departure from the official code: it never clamps (stack centres are sampled at least L/2 frames
inside the video and the stacks read flow outside the clip); here the model stacks the clip's own
per-frame flow, so the clip's ends clamp, in both modes. Channel ``2j`` is the x displacement of
flow j of the stack, ``2j + 1`` its y::

    flow (B, 2, T, H, W), frame t holds the flow t → t+1
      → gather flows idx[t, j] = clamp(t + offset + j, 0, T-1)   offset = -L//2 | 0   (B, 2, T, L, H, W)
      → (B, L, 2, T, H, W) → stacks (B, 2L, T, H, W)   channels [dx_0, dy_0, dx_1, dy_1, ...]

:class:`actionrec.models.two_stream.STMultiplierNet` builds its stacks with it (``flow_stacking``)
from the per-frame flow of :mod:`actionrec.data.flow`. Stacks are never stored: the flow caches
hold per-frame flow only, the same for either stacking.
"""

from __future__ import annotations

import torch

from ..utils.checks import check_choice, check_int

__all__ = ["STACKINGS", "stack_indices", "stack_flow"]

#: Which L flows frame t's stack holds (module docstring; default ``"centred"``).
STACKINGS = ("centred", "forward")


def stack_indices(t: int, L: int, stacking: str = "centred", device=None) -> torch.Tensor:
    """``(T, L)`` long tensor: row t lists the per-frame flows of frame t's stack, clamped to ``[0, T-1]``."""
    check_int("t", t, min_value=1)
    check_int("L", L, min_value=1)
    check_choice("stacking", stacking, STACKINGS)
    offset = -(L // 2) if stacking == "centred" else 0
    frames = torch.arange(t, device=device)[:, None]  # (T, 1)
    return (frames + offset + torch.arange(L, device=device)[None, :]).clamp(0, t - 1)  # (T, L)


def stack_flow(flow: torch.Tensor, L: int = 10, stacking: str = "centred") -> torch.Tensor:
    """Per-frame flow ``(B, 2, T, H, W)`` (frame t holds flow t → t+1) → stacks ``(B, 2L, T, H, W)``,
    one per frame, ``stacking`` = "centred" | "forward" (module docstring). ``L = 1`` returns the
    input (each frame's stack is its own flow, in either mode)."""
    if flow.dim() != 5 or flow.shape[1] != 2:
        raise ValueError(f"flow must be (B, 2, T, H, W); got {tuple(flow.shape)}")
    check_choice("stacking", stacking, STACKINGS)
    check_int("L", L, min_value=1)
    if L == 1:
        return flow
    b, _, t, h, w = flow.shape
    idx = stack_indices(t, L, stacking, device=flow.device)  # (T, L)
    s = flow[:, :, idx.reshape(-1)]  # (B, 2, T*L, H, W)
    s = s.view(b, 2, t, L, h, w).permute(0, 3, 1, 2, 4, 5)  # (B, 2, T, L, H, W) -> (B, L, 2, T, H, W)
    return s.reshape(b, 2 * L, t, h, w)  # (B, L, 2, T, H, W) -> (B, 2L, T, H, W), interleaved x/y
