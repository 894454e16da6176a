"""Temporal filters initialised as feature identity (ST-Multiplier networks, Sec. 3.3).

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017, ``shared/papers/multiplier.txt``), eq. 8-9, Fig. 4, Tables 1 and 3.

A temporal filter is a convolution over time only, across all C feature channels::

    x_{l+1} = x_l * Ŵ_l + b_l          Ŵ_l ∈ R^{1x1xT'xCxC}, b_l = 0 at init      (eq. 8)
    Ŵ_l = 1 ⊗ f                        1 = identity between channels, f ∈ R^{T'}    (eq. 9)

i.e. ``Conv3d(C, C, kernel (T', 1, 1))`` on ``(B, C, T, H, W)`` whose weight is
``W[c_out, c_in, k] = [c_out == c_in] f[k]``: channel c of the output is channel c of the input
filtered in time by f. Inits: ``"avg"`` f = [1/3, 1/3, 1/3] (1/T' each), ``"centre"`` f = [0, 1, 0]
(one-hot middle tap), or any explicit sequence of T' taps.

    x (B, C, T, H, W) → pad T by T'//2 (replicate) → conv (T', 1, 1), C → C → (B, C, T, H, W)

``"centre"`` is an exact identity at initialisation; ``"avg"`` is one only for inputs constant in
time (details in :class:`TemporalFilter`).

Placements (Table 1, Fig. 4; one filter per stream at each site)::

    name               paper  residual branch (after the 3x3 conv)                shortcut (skip) path
    "last"             §      the filtered unit(s) of conv5_x                      -
    "every"            †      the filtered unit(s) of each of conv2_x..conv5_x     -
    "every+shortcut"   ‡      as "every"                                           the same units' shortcuts

(the symbols "§", "†", "‡" are accepted as names). :func:`placement_sites` returns, for each stage,
whether it gets a residual-branch filter and a shortcut filter; :func:`filter_unit_indices` which
of a stage's n residual units carry them (``filter_units``)::

    filter_units  units of a stage with filters                      R50 (3, 4, 6, 3), † or ‡
    "first"       unit 1 (unit 0 in a one-unit stage)                 1 + 1 + 1 + 1 = 4 per stream
    "all"         every middle unit: 1 .. n-2 (unit 1 when n <= 3)    1 + 2 + 4 + 1 = 8 per stream

Default ``"first"``, one filtered unit per stage, by the text and the official code
(:ref:`readings-multiplier-filter-units`):

- Sec. 4: "we compare injecting temporal kernels into the skip path of every conv block (‡), into
  *a residual unit* at every conv block (†), or only into *a residual unit* at the last conv block
  (§)" -- one unit per conv block (stage; Sec. 5.1 calls the stages "conv blocks" too: "the
  cross-stream connections are inserted at every conv block (as marked in Table 1)", one ⊙ per
  stage); Sec. 5.2: "even if just a single temporal layer is injected into each stream (§)".
- feichtenhofer/st-resnet, ``STMulNet.m`` (``addConv3D = 9``, the released setting: centre init):
  the filters go after the ReLU of the 3x3 convolution of the units whose names match
  ``b_branch2b`` -- res2b, res3b, res4b, res5b of a ResNet-50: unit 1 of each stage, 4 per stream.
- Table 1 is the other reading (``"all"``): the bracket marked with the symbols,
  ``[1x1, 128; 3x3, 128 †‡; 1x1, 512] x N`` in conv3_x and ``... x M`` in conv4_x with "N = 2, M = 4
  for a ResNet-50", is exactly the middle units of those stages (1 + N + 1 = 4, 1 + M + 1 = 6
  units), so a filter in every middle unit (8 per R50 stream). For ResNet-152 its "N = 6, M = 32"
  fits conv3_x (8 units) but not conv4_x (36 units: 34 middle ones); "all" takes units 1 .. n-2.

Our reading: the ×N / ×M count the stage's repeated units, as any ResNet table must, and the
symbols mark where in such a unit a filter sits; the text and the code put it in one of them.

Departures from the official MatConvNet code: replicate padding in time instead of zero padding
(MatConvNet pads with zeros), so that "avg" is an identity on temporally constant features at the
clip's ends as well; "centre" is an exact identity with either padding. ``padding_mode="zeros"``
restores the official behaviour (:ref:`readings-multiplier-filter-padding`).
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_choice, check_int

__all__ = [
    "TemporalFilter",
    "temporal_filter",
    "identity_kernel",
    "filter_taps",
    "PLACEMENTS",
    "canonical_placement",
    "placement_sites",
    "INITS",
    "PADDING_MODES",
    "FILTER_UNITS",
    "filter_unit_indices",
]

INITS = ("avg", "centre")
PADDING_MODES = ("replicate", "zeros")
#: Where the filters sit (Table 1's §, †, ‡; module docstring).
PLACEMENTS = ("last", "every", "every+shortcut")
#: Which units of a stage carry the stage's filters (module docstring; default ``"first"``).
FILTER_UNITS = ("first", "all")
_PLACEMENT_ALIASES = {"§": "last", "†": "every", "‡": "every+shortcut", "center": "centre"}


def canonical_placement(placement: str | None) -> str | None:
    """``None | "last" | "every" | "every+shortcut"`` for a placement name or its symbol."""
    if placement is None:
        return None
    p = _PLACEMENT_ALIASES.get(placement, placement)
    if p not in PLACEMENTS:
        raise ValueError(f"placement={placement!r} is not valid; use None, one of {list(PLACEMENTS)} "
                         "or the paper's symbols '§', '†', '‡'")
    return p


def placement_sites(placement: str | None, num_stages: int = 4) -> list[tuple[bool, bool]]:
    """Per stage (conv2_x ... conv5_x): ``(residual_filter, shortcut_filter)`` for ``placement``."""
    p = canonical_placement(placement)
    if p is None:
        return [(False, False)] * num_stages
    if p == "last":
        return [(False, False)] * (num_stages - 1) + [(True, False)]
    return [(True, p == "every+shortcut")] * num_stages


def filter_unit_indices(num_units: int, filter_units: str = "first") -> list[int]:
    """The units of an ``num_units``-unit stage that carry its filters: ``"first"`` → ``[1]`` (``[0]``
    in a one-unit stage), ``"all"`` → ``[1, .., n-2]`` (``[1]`` when n = 2 or 3, ``[0]`` when n = 1)."""
    check_int("num_units", num_units, min_value=1)
    check_choice("filter_units", filter_units, FILTER_UNITS)
    first = min(1, num_units - 1)
    if filter_units == "first":
        return [first]
    return list(range(first, max(first + 1, num_units - 1)))


def filter_taps(init: Union[str, Sequence[float]], kernel_size: int = 3) -> torch.Tensor:
    """The 1D filter f ``(T',)``: "avg" → 1/T' each; "centre" → one-hot middle tap; or the sequence."""
    if isinstance(init, str):
        init = "centre" if init == "center" else init
        if init == "avg":
            return torch.full((kernel_size,), 1.0 / kernel_size)
        if init == "centre":
            f = torch.zeros(kernel_size)
            f[kernel_size // 2] = 1.0
            return f
        raise ValueError(f"init={init!r} is not valid; use 'avg', 'centre' or a sequence of {kernel_size} taps")
    f = torch.as_tensor(list(init), dtype=torch.float32)
    if f.shape != (kernel_size,):
        raise ValueError(f"init has {f.numel()} taps; kernel_size={kernel_size} needs exactly {kernel_size}")
    return f


def identity_kernel(channels: int, taps: torch.Tensor) -> torch.Tensor:
    """Eq. 9, ``Ŵ = 1 ⊗ f``: weight ``(C, C, T', 1, 1)`` with ``W[c, c, k] = f[k]``, 0 across channels."""
    eye = torch.eye(channels, dtype=taps.dtype, device=taps.device)
    return torch.einsum("oc,k->ock", eye, taps)[..., None, None]  # (C, C, T') -> (C, C, T', 1, 1)


def temporal_filter(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
                    padding_mode: str = "replicate") -> torch.Tensor:
    """Pure function of eq. 8: ``x (B, C, T, H, W)`` convolved over T with ``weight (C, C, T', 1, 1)``."""
    if x.dim() != 5:
        raise ValueError(f"temporal_filter expects x of shape (B, C, T, H, W); got {tuple(x.shape)}")
    k = weight.shape[2]
    lo, hi = k // 2, k - 1 - k // 2
    if padding_mode == "replicate":
        x = F.pad(x, (0, 0, 0, 0, lo, hi), mode="replicate")  # (B, C, T + T' - 1, H, W)
    elif padding_mode == "zeros":
        x = F.pad(x, (0, 0, 0, 0, lo, hi))
    else:
        check_choice("padding_mode", padding_mode, PADDING_MODES)
    return F.conv3d(x, weight, bias)


class TemporalFilter(nn.Module):
    """1x1xT' temporal convolution across all C channels, initialised as identity ⊗ f (eq. 8-9).

    Args:
        channels: C (input = output channels).
        kernel_size: T' (default 3; odd sizes are centred, even ones have one more future tap).
        init: ``"centre"`` (default, exact identity) | ``"avg"`` | explicit taps.
        padding_mode: ``"replicate"`` (default) | ``"zeros"`` (MatConvNet's).

    ``forward(x (B, C, T, H, W)) -> (B, C, T, H, W)``; ``forward_frames(x (B*T, C, H, W), t)`` does the
    same for frames folded into the batch (the layout of the 2D streams in
    :mod:`actionrec.models.two_stream`). ``reset_parameters()`` restores the identity init.

    What "identity at initialisation" means, exactly:

    - ``"centre"``: the filter returns its input bit for bit (every output is 1·x + 0·(others) + 0),
      so a network with centre-initialised filters computes exactly what it computed without them,
      at every placement (tested in ``tests/test_layers_temporal_filter.py``; on CPU -- CUDA's TF32
      convolutions round the input to 10 mantissa bits unless ``torch.backends.cudnn.allow_tf32``
      is off).
    - ``"avg"``: the filter averages neighbouring frames, so the network's output *does* change --
      it preserves the feature identity only for inputs that are constant in time, where it returns
      the input up to float rounding (``3 · (x/3)`` need not round to x). Replicate padding makes
      this hold at the first and last frames too.
    """

    def __init__(self, channels: int, *, kernel_size: int = 3, init: Union[str, Sequence[float]] = "centre",
                 padding_mode: str = "replicate"):
        super().__init__()
        check_int("channels", channels, min_value=1)
        check_int("kernel_size", kernel_size, min_value=1)
        check_choice("padding_mode", padding_mode, PADDING_MODES)
        self.channels, self.kernel_size, self.padding_mode = channels, kernel_size, padding_mode
        self.init = init if isinstance(init, str) else tuple(float(v) for v in init)
        filter_taps(self.init, kernel_size)  # validate now
        self.weight = nn.Parameter(torch.empty(channels, channels, kernel_size, 1, 1))
        self.bias = nn.Parameter(torch.empty(channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.copy_(identity_kernel(self.channels, filter_taps(self.init, self.kernel_size)))
            self.bias.zero_()

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size=({self.kernel_size}, 1, 1), init={self.init!r}, padding_mode={self.padding_mode!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_filter(x, self.weight, self.bias, padding_mode=self.padding_mode)

    def forward_frames(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """``x (B*T, C, H, W)`` with ``t`` = T frames per clip → same shape, filtered over each clip's frames."""
        bt, c, h, w = x.shape
        if bt % t:
            raise ValueError(f"x has {bt} frames in its batch dim, not a multiple of t={t}")
        y = x.view(bt // t, t, c, h, w).transpose(1, 2)  # (B*T, C, H, W) -> (B, T, C, H, W) -> (B, C, T, H, W)
        y = self.forward(y)  # (B, C, T, H, W)
        return y.transpose(1, 2).reshape(bt, c, h, w)  # (B, C, T, H, W) -> (B, T, C, H, W) -> (B*T, C, H, W)
