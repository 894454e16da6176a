"""Two reference baselines for the embedded dataset.

- ``frame_avg2d``: a 2D CNN applied to every frame independently, logits averaged
  over frames (TSN-style consensus without segments). It sees the *set* of frames,
  not their order, so it cannot separate classes that are time-reversals of each
  other: on SynthActions it is the orderless control.
- ``c3d_small``: a small plain 3D CNN (conv 3x3x3 → BN → ReLU stages), the
  "does temporal modelling help at all" control.

Both take ``(B, 3, T, H, W)`` and return logits ``(B, num_classes)``.
"""

from __future__ import annotations

import torch
from torch import nn

from .init import kaiming_init_


def _conv_stack(conv: type[nn.Module], norm: type[nn.Module], in_channels: int, widths: tuple[int, ...]) -> nn.Sequential:
    """``[conv 3^d → norm → ReLU] x len(widths)``, stride 1 for the first layer and 2 after."""
    layers, c = [], in_channels
    for i, w in enumerate(widths):
        layers += [conv(c, w, 3, stride=1 if i == 0 else 2, padding=1, bias=False), norm(w), nn.ReLU(inplace=True)]
        c = w
    return nn.Sequential(*layers)


class FrameAvg2D(nn.Module):
    """Per-frame 2D CNN + average of the frame logits.

    Data flow::

        x (B, C, T, H, W) → fold T into batch → [conv3x3 → BN → ReLU (stride 2)] x len(widths)
          → global avg pool → fc → unfold → mean over T → logits (B, K)
    """

    def __init__(self, *, num_classes: int, in_channels: int = 3, widths: tuple[int, ...] = (32, 64, 128, 128), dropout: float = 0.0):
        super().__init__()
        self.features = _conv_stack(nn.Conv2d, nn.BatchNorm2d, in_channels, widths)
        self.num_features = widths[-1]
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) → per-frame features (B, T, F)."""
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W)
        f = self.features(frames).mean(dim=(2, 3))  # (B*T, F)
        return f.view(b, t, -1)  # (B, T, F)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, T, F) → logits averaged over frames (B, K)."""
        return self.fc(self.dropout(feats)).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class C3DSmall(nn.Module):
    """A small plain 3D CNN.

    Data flow::

        x (B, C, T, H, W) → [conv3x3x3 → BN → ReLU] x len(widths), stride 1 first then 2
          → global avg pool → fc → logits (B, K)
    """

    def __init__(self, *, num_classes: int, in_channels: int = 3, widths: tuple[int, ...] = (32, 64, 128, 128), dropout: float = 0.0):
        super().__init__()
        self.features = _conv_stack(nn.Conv3d, nn.BatchNorm3d, in_channels, widths)
        self.num_features = widths[-1]
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) → feature map (B, F, T', H', W')."""
        return self.features(x)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, F, T', H', W') → logits (B, K)."""
        return self.fc(self.dropout(feats.mean(dim=(2, 3, 4))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _widths(width: float) -> tuple[int, ...]:
    return tuple(max(4, round(c * width)) for c in (32, 64, 128, 128))


def frame_avg2d(*, num_classes: int = 400, in_channels: int = 3, width: float = 1.0, dropout: float = 0.0) -> FrameAvg2D:
    """Frame-averaging 2D CNN (orderless baseline); ``width`` scales (32, 64, 128, 128)."""
    return kaiming_init_(FrameAvg2D(num_classes=num_classes, in_channels=in_channels, widths=_widths(width), dropout=dropout))


def c3d_small(*, num_classes: int = 400, in_channels: int = 3, width: float = 1.0, dropout: float = 0.0) -> C3DSmall:
    """Small plain 3D CNN; ``width`` scales (32, 64, 128, 128)."""
    return kaiming_init_(C3DSmall(num_classes=num_classes, in_channels=in_channels, widths=_widths(width), dropout=dropout))
