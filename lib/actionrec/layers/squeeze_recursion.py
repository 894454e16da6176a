"""Squeeze and Recursion (SR): recurrent cells that align local features with the whole clip.

Papers: Stergiou & Poppe, "Learn to cycle" (SRTG), Squeeze and Recursion with LSTMs; and
"Right on Time" (MTNet), which replaces the LSTMs with GRUs (eq. 4, Fig. 4). One implementation
serves both: ``mode="lstm"`` (SRTG) or ``mode="gru"`` (MTNet).

Data flow::

    x (B, C, T, H, W)
      -> squeeze: mean over H, W                      pooled  (B, T, C)   one C-vector per frame
      -> recursion: 2-layer GRU/LSTM, hidden size C   a_star  (B, T, C)
      -> fuse: x * a_star broadcast over H, W         out     (B, C, T, H, W)

The fusion multiplies the features by the recurrent output directly, with no sigmoid, as the
official MTNet/SRTG code does (the GRU/LSTM output already lies in (-1, 1)). ``recur`` exposes
``(pooled, a_star)`` so SRTG's cycle-consistency gate can compare them before deciding to fuse.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["SqueezeRecursion"]


class SqueezeRecursion(nn.Module):
    """Squeeze (spatial average) -> Recursion (GRU/LSTM over time) -> multiply back.

    Args:
        channels: C of the input; also the hidden size, so the output can gate the input.
        mode: ``"gru"`` (MTNet) or ``"lstm"`` (SRTG).
        num_layers: stacked recurrent layers (2 in both papers).
    """

    def __init__(self, channels: int, *, mode: str = "gru", num_layers: int = 2):
        super().__init__()
        if mode not in ("gru", "lstm"):
            raise ValueError(f"mode={mode!r} must be 'gru' or 'lstm'")
        if channels < 1:
            raise ValueError(f"channels={channels} must be >= 1")
        self.mode = mode
        rnn = nn.GRU if mode == "gru" else nn.LSTM
        self.rnn = rnn(channels, channels, num_layers=num_layers, batch_first=True)

    def recur(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(pooled, a_star)``, both ``(B, T, C)``: the squeezed input and the RNN output."""
        if x.dim() != 5:
            raise ValueError(f"SqueezeRecursion expects (B, C, T, H, W); got {tuple(x.shape)}")
        pooled = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, C, T) -> (B, T, C)
        a_star, _ = self.rnn(pooled.contiguous())  # (B, T, C)
        return pooled, a_star

    @staticmethod
    def fuse(x: torch.Tensor, a_star: torch.Tensor) -> torch.Tensor:
        """``x (B, C, T, H, W) * a_star (B, T, C)`` broadcast over H, W (no sigmoid)."""
        return x * a_star.transpose(1, 2)[..., None, None]  # (B, T, C) -> (B, C, T, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, a_star = self.recur(x)
        return self.fuse(x, a_star)
