"""Squeeze and Recursion (SR): recurrent cells that align local features with the whole clip.

Papers: Stergiou & Poppe, "Learn to cycle" (SRTG), Squeeze and Recursion with LSTMs; and
"Right on Time" (MTNet), which replaces the LSTMs with GRUs (eq. 4, Fig. 4). One implementation
serves both: ``mode="lstm"`` (SRTG) or ``mode="gru"`` (MTNet).

Data flow::

    x (B, C, T, H, W)
      -> squeeze: mean over H, W                      pooled  (B, T, C)   one C-vector per frame
      -> recursion: 2-layer GRU/LSTM, hidden size C   a_star  (B, T, C)
      -> fuse ("residual", default): x + x * a_star   out     (B, C, T, H, W), a_star broadcast over H, W
         fuse ("mul", official code):  x * a_star

Fusion, a departure from the official code (:ref:`readings-srtg-sr-fusion`): ``"residual"`` (default,
``x · (1 + a*)``, the identity at a* = 0: SRTG's "added back to the network" read literally);
``"mul"`` (``x · a*``, no sigmoid) reproduces the official MTNet/SRTG code.

``recur`` exposes ``(pooled, a_star)`` so SRTG's cycle-consistency gate can compare them before
deciding to fuse.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..utils.checks import check_choice, check_int

__all__ = ["SqueezeRecursion", "MODES", "FUSIONS"]

MODES = ("gru", "lstm")  # MTNet, SRTG
#: How ``a*`` is fused: ``x + x * a*`` (default) or ``x * a*`` (official code).
FUSIONS = ("residual", "mul")


class SqueezeRecursion(nn.Module):
    """Squeeze (spatial average) -> Recursion (GRU/LSTM over time) -> multiply back.

    Args:
        channels: C of the input; also the hidden size, so the output can gate the input.
        mode: ``"gru"`` (MTNet) or ``"lstm"`` (SRTG).
        num_layers: stacked recurrent layers (2 in both papers).
        fusion: ``"residual"`` (``x + x * a*``, default) or ``"mul"`` (``x * a*``, official code);
            see the module docstring for why.
    """

    def __init__(self, channels: int, *, mode: str = "gru", num_layers: int = 2, fusion: str = "residual"):
        super().__init__()
        self.mode = check_choice("mode", mode, MODES)
        self.fusion = check_choice("fusion", fusion, FUSIONS)
        check_int("channels", channels, min_value=1)
        rnn = nn.GRU if mode == "gru" else nn.LSTM
        self.rnn = rnn(channels, channels, num_layers=num_layers, batch_first=True)

    def recur(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(pooled, a_star)``, both ``(B, T, C)``: the squeezed input and the RNN output."""
        if x.dim() != 5:
            raise ValueError(f"SqueezeRecursion expects (B, C, T, H, W); got {tuple(x.shape)}")
        pooled = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, C, T) -> (B, T, C)
        a_star, _ = self.rnn(pooled.contiguous())  # (B, T, C)
        return pooled, a_star

    def fuse(self, x: torch.Tensor, a_star: torch.Tensor) -> torch.Tensor:
        """``x * (1 + a_star)`` ("residual") or ``x * a_star`` ("mul"); ``a_star (B, T, C)`` broadcast over H, W."""
        a = a_star.transpose(1, 2)[..., None, None]  # (B, T, C) -> (B, C, T, 1, 1)
        return x * (1 + a) if self.fusion == "residual" else x * a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, a_star = self.recur(x)
        return self.fuse(x, a_star)
