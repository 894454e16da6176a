"""Per-head accuracy of a trained two-stream network (Feichtenhofer, Pinz & Wildes, "Spatiotemporal
Multiplier Networks", CVPR 2017, Sec. 5.1: each stream has its own classifier and loss).

:func:`head_top1` runs a :class:`~actionrec.models.two_stream.STMultiplierNet` (or any model with
``stream_logits(x) -> (logits_a, logits_m)`` and ``late_fusion(logits_a, logits_m)``) over a loader
and counts, per clip, whether the argmax of each head matches the label::

    x ─ model.stream_logits ─┬─ logits_a (B, K) ─ argmax == y ? ─→ "appearance"
                             ├─ logits_m (B, K) ─ argmax == y ? ─→ "motion"
                             └─ late_fusion(logits_a, logits_m) ─ argmax == y ? ─→ "fused" (the model's output)
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn as nn

__all__ = ["head_top1"]


@torch.no_grad()
def head_top1(model: nn.Module, loader, *, device: Union[str, torch.device] = "cpu") -> dict[str, float]:
    """Top-1 of each stream's own head and of their late fusion (the model's output) over ``loader``
    (``(x, y)`` batches: x as ``forward`` takes it, y ``(B,)`` labels). Puts the model in eval mode.

    Returns ``{"appearance", "motion", "fused"}``: fractions of the clips whose argmax is the label.
    """
    model.eval()
    hits, n = [0, 0, 0], 0
    for x, y in loader:
        x = tuple(t.to(device) for t in x) if isinstance(x, (tuple, list)) else x.to(device)
        y = y.to(device)
        la, lm = model.stream_logits(x)  # (B, K) each
        for i, logits in enumerate((la, lm, model.late_fusion(la, lm))):
            hits[i] += int((logits.argmax(1) == y).sum())
        n += len(y)
    if n == 0:
        raise ValueError("head_top1: loader yielded no clips")
    return {"appearance": hits[0] / n, "motion": hits[1] / n, "fused": hits[2] / n}
