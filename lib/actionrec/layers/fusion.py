"""Cross-stream connections between an appearance and a motion ResNet (ST-Multiplier networks).

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017, ``shared/papers/multiplier.txt``), Sec. 3.2, Fig. 2 (a)-(e), Table 2,
eq. 2-7. Decisions in ``shared/papers/NOTES.md`` ("ST-Multiplier nets").

A connection sits in front of a residual unit ``x_{l+1} = relu(shortcut(x_l) + F(x_l))`` of the
receiving stream and decides what that unit's two paths see. With ``x_r`` the receiver's input,
``x_s`` the sender's input at the same depth and ``f = ReLU`` (the paper's f)::

    kind          direct_path  skip path gets      residual branch gets   unit output (before the final relu)
    residual_mul  -            x_r                 x_r ⊙ f(P x_s)         x_r + F(x_r ⊙ f(x_s))   eq. 5, Fig. 2(d)
    residual_add  -            x_r                 x_r + f(P x_s)         x_r + F(x_r + f(x_s))   eq. 2, Fig. 2(c)
    direct_mul    "skip"       g = x_r ⊙ f(P x_s)  x_r                    g + F(x_r)              Fig. 2(b)
                  "both"       g                   g                      g + F(g)
    direct_add    "skip"       g = x_r + f(P x_s)  x_r                    g + F(x_r)              Fig. 2(a)
                  "both"       g                   g                      g + F(g)

"residual" kinds keep the receiver's identity path un-gated (the paper's point: the identity
shortcut of ResNets survives); "direct" kinds put the fused signal on the skip path, which is what
breaks it (Sec. 5.1, Table 2 rows 1-2). Which paths a direct connection feeds (``direct_path``;
:ref:`readings-multiplier-direct-path`):

- ``"skip"`` (default): only the skip path, ``g + F(x_r)`` -- the mirror image of the residual
  kinds, which feed only the branch. The reading of Sec. 5.1's text: "straightforward connection of
  the streams with an additive *shortcut* connection, Fig. 2(a)", "the detriment is exacerbated
  when directly multiplying the *shortcut paths* of the two streams (Fig. 2(b) and second row of
  Table 2)", "more generally, injecting into the *skip path* breaks the identity shortcut".
- ``"both"`` (option): the fused signal replaces the receiver's input on both paths, ``g + F(g)``
  (the fusion sits on the trunk between two units). The text never says the branch is fed, and the
  official code (feichtenhofer/st-resnet, ``STMulNet.m``) has no direct variant to settle it -- its
  ``doSum`` / ``doMul`` fusions feed the residual branch of the next unit only.

Directions (Table 2 "into"): ``"m2a"`` (←, motion into appearance: the paper's choice), ``"a2m"``
(→, appearance into motion), ``"bi"`` (↔, Fig. 2(e); each stream reads the other's *input*).
Data flow of one depth ``l``, ``"m2a"``, ``"residual_mul"``::

    x_m ──────────────────────────────────┬──→ motion unit: x_m + F_m(x_m) → relu ──→ x_m'
                                          │ f = relu
    x_a ──┬─────────────────── skip ──────│───────────────────┐
          └─→ (⊙) ←── f(P x_m) ───────────┘                   │
               └─→ branch: F_a (conv 1x1 → 3x3 → 1x1) ──→ (+) → relu ──→ x_a'

and ``"direct_mul"``, ``direct_path="skip"``::

    x_a ──┬─→ (⊙) ←── f(P x_m) ── skip: g ─────────────────────┐
          └─→ branch: F_a (conv 1x1 → 3x3 → 1x1) ────────────→ (+) → relu ──→ x_a'

Shapes: ``(N, C, ...)`` with any trailing dims, the same in both streams apart from channels
(:class:`CrossStreamConnection`).

Gradients (eq. 6-7, tested in ``tests/test_layers_fusion.py``): for ``residual_mul`` with
``u = x_a ⊙ f(x_m)`` and ``g = ∂L/∂F · ∂F/∂u`` (the branch gradient at its input),
``∂L/∂x_a = ∂L/∂out + g ⊙ f(x_m)`` -- the branch part is scaled by the motion signal -- and the
motion stream receives ``g ⊙ x_a ⊙ f'(x_m)`` on top of its own gradient (scaled by the
appearance signal). For ``residual_add`` both receive ``g`` unscaled (eq. 3-4). For the direct
kinds with ``direct_path="skip"`` the *skip* gradient ``δ = ∂L/∂out`` crosses instead of ``g``:
⊙ gives ``∂L/∂x_a = δ ⊙ f(x_m) + g`` and sends ``δ ⊙ x_a ⊙ f'(x_m)`` to the motion stream, ⊕ gives
``δ + g`` and sends ``δ ⊙ f'(x_m)``; with ``"both"`` the sum ``δ + g`` is gated as a whole:
⊙ ``(δ + g) ⊙ f(x_m)`` and ``(δ + g) ⊙ x_a ⊙ f'(x_m)``, ⊕ ``δ + g`` and ``(δ + g) ⊙ f'(x_m)``.

Departures from the official MatConvNet code (feichtenhofer/st-resnet): one module for all the
variants of the ablation; the optional 1x1 projection ``P`` (``C_s → C_r``, no bias, Kaiming init)
when the two streams' channels differ at that depth (the paper never needs one: P = identity).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_choice, check_int

__all__ = ["CrossStreamConnection", "cross_stream", "FUSION_KINDS", "DIRECTIONS", "DIRECT_PATHS", "GATES",
           "canonical_direction"]

#: The connection kinds (Table 2, Fig. 2; module docstring).
FUSION_KINDS = ("residual_mul", "residual_add", "direct_mul", "direct_add")
#: Motion into appearance (←), appearance into motion (→), both (↔).
DIRECTIONS = ("m2a", "a2m", "bi")
_DIRECTION_ALIASES = {"<-": "m2a", "->": "a2m", "<->": "bi", "←": "m2a", "→": "a2m", "↔": "bi"}
GATES = ("relu", "identity")  # the sender's nonlinearity f
#: The paths a direct connection feeds: skip only (``g + F(x_r)``, default) or both (``g + F(g)``).
DIRECT_PATHS = ("skip", "both")


def canonical_direction(direction: str) -> str:
    """``"m2a" | "a2m" | "bi"`` for a direction or its arrow alias; ValueError otherwise."""
    d = _DIRECTION_ALIASES.get(direction, direction)
    if d not in DIRECTIONS:
        raise ValueError(f"direction={direction!r} is not valid; use one of {list(DIRECTIONS)} "
                         f"(or the arrows {list(_DIRECTION_ALIASES)[:3]})")
    return d


def cross_stream(x_r: torch.Tensor, g_s: torch.Tensor, kind: str, direct_path: str = "skip"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure function: ``(skip, branch)`` inputs of the receiving unit from its input ``x_r`` and the
    sender's (already projected and gated) signal ``g_s = f(P x_s)``; ``direct_path`` ("skip" |
    "both") applies to the direct kinds only. See the table in the module doc."""
    check_choice("direct_path", direct_path, DIRECT_PATHS)
    if kind == "residual_mul":
        return x_r, x_r * g_s
    if kind == "residual_add":
        return x_r, x_r + g_s
    if kind in ("direct_mul", "direct_add"):
        fused = x_r * g_s if kind == "direct_mul" else x_r + g_s
        return fused, (x_r if direct_path == "skip" else fused)
    raise ValueError(f"kind={kind!r} is not valid; use one of {list(FUSION_KINDS)}")


class _ChannelProjection(nn.Module):
    """1x1 convolution without bias over dim 1 of an ``(N, C, ...)`` tensor of any rank."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.view(*self.weight.shape, *([1] * (x.dim() - 2)))  # (C_out, C_in) -> (C_out, C_in, 1, ...)
        if x.dim() == 4:
            return F.conv2d(x, w)
        if x.dim() == 5:
            return F.conv3d(x, w)
        return torch.einsum("oc,nc...->no...", self.weight, x)


class CrossStreamConnection(nn.Module):
    """One cross-stream connection (Fig. 2 / Table 2). See the module docstring for the maths.

    Args:
        channels_a: appearance channels at this depth; channels_m: motion channels.
        kind: ``"residual_mul"`` (default, eq. 5) | ``"residual_add"`` (eq. 2) | ``"direct_mul"`` |
            ``"direct_add"``.
        direction: ``"m2a"`` (default) | ``"a2m"`` | ``"bi"`` (arrows accepted).
        gate: the sender's nonlinearity f, ``"relu"`` (the paper) or ``"identity"``.
        direct_path: the paths a direct kind feeds, ``"skip"`` (default: ``g + F(x_r)``, Sec. 5.1's
            text) | ``"both"`` (``g + F(g)``); validated, and ignored by the residual kinds.

    ``forward(x_a (N, C_a, ...), x_m (N, C_m, ...)) -> ((skip_a, branch_a), (skip_m, branch_m))``:
    the two paths' inputs for each stream's unit (a non-receiving stream gets ``(x, x)``, i.e. its
    unit runs unchanged); a unit then computes ``relu(shortcut(skip) + F(branch))``
    (:class:`actionrec.models.blocks.Bottleneck2d`). Tensors are ``(N, C, ...)`` with any trailing
    dims -- ``(B, C, T, H, W)`` or frames folded into the batch ``(B*T, C, H, W)`` -- the same
    shape in both streams (apart from channels).

    ``P`` is the identity when both streams have the same channels at that depth (the paper's case:
    the connection joins the same-stage units of two identical ResNets), else a 1x1 convolution
    ``C_s → C_r`` without bias (ours; Kaiming init).

    Directions: ``"m2a"`` (←), ``"a2m"`` (→), ``"bi"`` (↔, both at once; each stream reads the
    other's *input*, so the two gates are computed from the same pre-unit features). Symbols "<-",
    "->", "<->" are accepted. ``conn.receivers`` names the stream(s) whose unit is changed,
    ``conn.reads`` maps each receiver to the stream it reads. ``conn.fuse(x_r, s)`` is
    :func:`cross_stream` with this connection's kind and direct path.
    """

    def __init__(self, channels_a: int, channels_m: int, *, kind: str = "residual_mul", direction: str = "m2a",
                 gate: str = "relu", direct_path: str = "skip"):
        super().__init__()
        check_int("channels_a", channels_a, min_value=1)
        check_int("channels_m", channels_m, min_value=1)
        check_choice("kind", kind, FUSION_KINDS)
        check_choice("gate", gate, GATES)
        check_choice("direct_path", direct_path, DIRECT_PATHS)
        self.direct_path = direct_path
        self.channels_a, self.channels_m = channels_a, channels_m
        self.kind, self.direction, self.gate = kind, canonical_direction(direction), gate
        self.receivers: tuple[str, ...] = {"m2a": ("appearance",), "a2m": ("motion",),
                                           "bi": ("appearance", "motion")}[self.direction]
        self.reads: dict[str, str] = {r: ("motion" if r == "appearance" else "appearance") for r in self.receivers}
        need = channels_a != channels_m
        self.proj_m2a: Optional[nn.Module] = (
            _ChannelProjection(channels_m, channels_a) if need and "appearance" in self.receivers else None)
        self.proj_a2m: Optional[nn.Module] = (
            _ChannelProjection(channels_a, channels_m) if need and "motion" in self.receivers else None)

    def extra_repr(self) -> str:
        return (f"channels_a={self.channels_a}, channels_m={self.channels_m}, kind={self.kind!r}, "
                f"direction={self.direction!r}, gate={self.gate!r}"
                + (f", direct_path={self.direct_path!r}" if self.kind.startswith("direct") else ""))

    def gate_signal(self, x: torch.Tensor, proj: Optional[nn.Module]) -> torch.Tensor:
        """``f(P x)``: the sender's projected, gated signal (what the receiver adds or multiplies; eq. 6-7
        differentiate through it, :mod:`actionrec.analysis.gradient_gating`)."""
        if proj is not None:
            x = proj(x)
        return F.relu(x) if self.gate == "relu" else x

    def fuse(self, x_r: torch.Tensor, g_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(skip, branch)`` of a receiving unit with input ``x_r`` and gate signal ``g_s`` (:func:`cross_stream`)."""
        return cross_stream(x_r, g_s, self.kind, self.direct_path)

    def forward(self, x_a: torch.Tensor, x_m: torch.Tensor):
        if x_a.shape[0] != x_m.shape[0] or x_a.shape[2:] != x_m.shape[2:]:
            raise ValueError(f"the two streams must agree in every dim but channels; got appearance "
                             f"{tuple(x_a.shape)} and motion {tuple(x_m.shape)}")
        if x_a.shape[1] != self.channels_a or x_m.shape[1] != self.channels_m:
            raise ValueError(f"expected {self.channels_a} appearance and {self.channels_m} motion channels; "
                             f"got {x_a.shape[1]} and {x_m.shape[1]}")
        # Both gates read the *inputs* x_a, x_m (bidirectional: computed before either unit runs).
        out_a = self.fuse(x_a, self.gate_signal(x_m, self.proj_m2a)) if "appearance" in self.receivers else (x_a, x_a)
        out_m = self.fuse(x_m, self.gate_signal(x_a, self.proj_a2m)) if "motion" in self.receivers else (x_m, x_m)
        return out_a, out_m
