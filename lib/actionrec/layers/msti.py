"""MSTI tube: multi-scale spatial-temporal convolution + cross-scale attention weighting (CAW).

Paper: Wu, Liu, Zhu, Wang & Zha, "Multi-Scale Spatial-Temporal Integration Convolutional Tube for
Human Action Recognition" (IJCAI 2020), Sec. 3.1, eq. 1-8, Fig. 1-2, Table 2 (ablation); no public
code: built from the paper (decisions: ``shared/papers/NOTES.md``). P3D-B baseline: Qiu, Yao & Mei,
"Learning spatio-temporal representation with pseudo-3D residual networks" (ICCV 2017), Fig. 2(b).

Multi-scale convolution (eq. 1-2, :class:`SteppedConv`): the ``C`` reduced channels are cut into
``N = 4`` groups ``X_i`` of ``C~ = C / N``; ``S_1 = K_1(X_1)``, ``S_i = K_i(X_i + S_{i-1})``, K_1
(1,1,1), K_2..K_N (1,3,3) (spatial branch S) or (3,1,1) (temporal branch T) convs, so group i
sees ``2i - 1`` pixels / frames. Cross-scale attention (eq. 4-7, :class:`CAWBlock`; temporal: S ↔ T)::

    U_Si = W*_SS S*_{i-1} + W_SS S_i + W_TS T_i          (i = 1: no W*_SS term)     eq. 4
    z_i  = GAP_{T,H,W}(U_Si)                              (B, C~)                    eq. 5
    a_i  = sigmoid(W_i z_i)                               (B, C~), in (0, 1)         eq. 6
    S*_i = a_i * S_i                                      channel-wise               eq. 7
    X*   = concat(S*_1..S*_N) + concat(T*_1..T*_N)        (B, C, T, H, W)            eq. 8

MSTI tube (Fig. 1, :class:`MSTITube`), the residual unit of MSTI-Net (``expansion = 4``)::

    x (B, C_in, T, H, W)
     ├─ avgpool(stride) → conv (1,1,1) C_in→P → bn → relu                    (B, P, T/st, H/ss, W/ss)
     │   ├─ spatial branch:  SteppedConv (1,3,3) → [S_1..S_4] | conv (1,3,3) P→P → bn → relu
     │   ├─ temporal branch: SteppedConv (3,1,1) → [T_1..T_4] | conv (3,1,1) P→P → bn → relu
     │   ├─ CAWBlock S(S, T) → [S*_i];  CAWBlock T(T, S) → [T*_i]     (variant "msti" only)
     │   └─ X* = concat(S*) + concat(T*)  (a plain branch adds its tensor)   (B, P, ...)
     │  conv (1,1,1) P→4P → bn ─┐
     └─ shortcut: identity | avgpool(stride) → conv (1,1,1) C_in→4P → bn ─(+) → relu → (B, 4P, T/st, H/ss, W/ss)

Table 2 variants (``variant=``; :data:`BRANCHES`; :ref:`readings-msti-variants`). Sec. 4.2 takes P3D-B,
"the only parallel structure in all three P3Ds", as the baseline and reports each multi-scale row
*above* it, so every row keeps P3D-B's two parallel branches and makes branches multi-scale one step at
a time:

    variant        spatial branch          temporal branch         CAW      middle weights (eq. 3)
    p3d_b  P3D-B   conv (1,3,3)            conv (3,1,1)            -        9 + 3 = 12 P^2 (P3DBBlock)
    ms_t   MS(T)   conv (1,3,3)            stepped (3,1,1), eq. 2  -        9 + 0.625 = 9.625 P^2
    ms_s   MS(S)   stepped (1,3,3), eq. 1  conv (3,1,1)            -        1.75 + 3 = 4.75 P^2
    ms_st  MS(ST)  stepped (1,3,3), eq. 1  stepped (3,1,1), eq. 2  -        1.75 + 0.625 = 2.375 P^2
    msti   MSTI    stepped (1,3,3), eq. 1  stepped (3,1,1), eq. 2  eq. 4-7  2.375 + 2 x 0.9375 = 4.25 P^2

A stepped branch holds 1/N of a dense conv's weights (eq. 3), so the multi-scale rows are *smaller*
than P3D-B while their receptive fields grow (centre output of a unit: P3D-B sees 1x3x3 ∪ 3x1x1,
MS(T) 1x3x3 ∪ 7x1x1, MS(S) 1x7x7 ∪ 3x1x1, MS(ST) 1x7x7 ∪ 7x1x1, MSTI the whole clip through the CAW
pools; tested). Not Table 2 rows: "ms_s_only" / "ms_t_only", the stepped branch alone (no temporal /
no spatial conv in the unit), the other reading of MS(S) / MS(T) (``shared/papers/NOTES.md`` did not
fix one); kept for comparison. Shapes: ``(B, C_in, T, H, W) -> (B, 4P, ceil(T/st), ceil(H/ss),
ceil(W/ss))``, ``stride = (st, ss, ss)``.

Departures / choices the paper leaves open (details in the class docstrings; :mod:`actionrec.papers.readings`):
  * bn → relu after every K_i and after each plain conv (Sec. 4.1); no bias, bn or relu between
    eq. 4 and 5; no bn/relu on X*.
  * The W of eq. 4-6 (per group, no bias, no SE reduction) act on pooled vectors (exact, tested):
    ``O(C~^2)`` MACs; the paper's 46.3 GFLOPs may or may not count them at full size (CAWBlock;
    :ref:`readings-msti-caw`).
  * Stride: average pool (kernel = stride, ResNet-D) before the reduce conv and the projection
    shortcut, not a strided K_i or 1x1x1 conv (:class:`MSTITube`; :ref:`readings-msti-stride`).
  * P3D-B: bn → relu after each of its two parallel convs, then the sum (:class:`P3DBBlock`); the
    plain branch of MS(S) / MS(T) is that same conv → bn → relu.
  * Sec. 4.2's ablation backbone (8 convs) is not described; the variants swap MSTI-Net's unit.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.checks import check_int

__all__ = ["SteppedConv", "CAWBlock", "MultiScaleConv", "MSTITube", "P3DBBlock", "VARIANTS", "BRANCHES",
           "check_stride"]

#: variant -> (spatial branch, temporal branch, CAW): "ms" stepped (eq. 1 / eq. 2), "plain" one conv
#: P→P (P3D-B's), None no branch. Table 2: msti, ms_st, ms_s, ms_t (p3d_b is :class:`P3DBBlock`).
BRANCHES = {
    "msti": ("ms", "ms", True),
    "ms_st": ("ms", "ms", False),
    "ms_s": ("ms", "plain", False),
    "ms_t": ("plain", "ms", False),
    "ms_s_only": ("ms", None, False),  # not a Table 2 row: the stepped spatial branch alone
    "ms_t_only": (None, "ms", False),  # not a Table 2 row: the stepped temporal branch alone
}
#: The unit variants (the keys of :data:`BRANCHES`).
VARIANTS = tuple(BRANCHES)
SPATIAL = (1, 3, 3)
TEMPORAL = (3, 1, 1)


def _check_channels_groups(channels: int, groups: int, what: str = "channels") -> tuple[int, int]:
    """``(channels, groups)`` if both are ints >= 1 and ``groups`` divides ``channels``, else ValueError."""
    check_int("groups", groups, min_value=1)
    check_int(what, channels, min_value=1)
    if channels % groups:
        raise ValueError(f"{what}={channels} must be divisible by groups={groups}; pick a multiple of {groups}")
    return channels, groups


def check_stride(stride) -> tuple[int, int, int]:
    """``stride`` as a ``(T, H, W)`` tuple of ints >= 1 (an int means the same in all three)."""
    s = (stride,) * 3 if isinstance(stride, int) and not isinstance(stride, bool) else stride
    if not (isinstance(s, (tuple, list)) and len(s) == 3 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in s)):
        raise ValueError(f"stride={stride!r} must be an int >= 1 or a (T, H, W) tuple of ints >= 1")
    return tuple(s)


def _conv_bn_relu(c_in: int, c_out: int, kernel: tuple[int, int, int], norm_layer: Callable[[int], nn.Module],
                  act_layer: Callable[[], nn.Module]) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(nn.Conv3d(c_in, c_out, kernel, padding=pad, bias=False), norm_layer(c_out), act_layer())


class SteppedConv(nn.Module):
    """One branch of the multi-scale convolution block (eq. 1 or eq. 2), a stepped structure.

    ::

        x (B, C, T, H, W) → split into N groups X_i (B, C/N, T, H, W)
        S_1 = K_1(X_1)                K_1: conv (1,1,1) → bn → relu
        S_i = K_i(X_i + S_{i-1})      K_i: conv kernel_size → bn → relu, i = 2..N

    Returns the list ``[S_1, ..., S_N]``, each ``(B, C/N, T, H, W)``. ``kernel_size`` = (1,3,3)
    (spatial branch, receptive fields 1/3/5/7 in H and W for N = 4) or (3,1,1) (temporal branch,
    1/3/5/7 frames). Odd kernel sizes only (same padding). Every conv is followed by bn → relu
    (Sec. 4.1: "batch normalization and ReLU ... to all convolutional layers")::

        X_1 ─ K_1 → bn → relu ─────────────────────────── S_1            receptive field 1
        X_2 ─(+ S_1)─ K_2 → bn → relu ─────────────────── S_2                            3
        X_3 ─(+ S_2)─ K_3 → bn → relu ─────────────────── S_3                            5
        X_4 ─(+ S_3)─ K_4 → bn → relu ─────────────────── S_4                            7

    so the i-th group sees ``(2i-1)`` pixels per side in H, W (spatial) or frames in T (temporal):
    1x1x1, 1x3x3, 1x5x5, 1x7x7 and 1x1x1, 3x1x1, 5x1x1, 7x1x1 (tested by gradients).
    """

    def __init__(self, channels: int, *, kernel_size: Sequence[int] = SPATIAL, groups: int = 4,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d, act_layer: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        _check_channels_groups(channels, groups)
        k = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else None
        if not (k and len(k) == 3 and all(isinstance(v, int) and v >= 1 and v % 2 == 1 for v in k)):
            raise ValueError(f"kernel_size={kernel_size!r} must be a (T, H, W) tuple of odd ints, e.g. (1, 3, 3) or (3, 1, 1)")
        self.groups, self.kernel_size, self.group_channels = groups, k, channels // groups
        cg = self.group_channels
        self.convs = nn.ModuleList(
            _conv_bn_relu(cg, cg, (1, 1, 1) if i == 0 else k, norm_layer, act_layer) for i in range(groups)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        xs = torch.chunk(x, self.groups, dim=1)  # N x (B, C/N, T, H, W)
        outs: list[torch.Tensor] = []
        for i, (xi, conv) in enumerate(zip(xs, self.convs)):
            outs.append(conv(xi if i == 0 else xi + outs[-1]))
        return outs

    def extra_repr(self) -> str:
        return f"groups={self.groups}, kernel_size={self.kernel_size}"


class CAWBlock(nn.Module):
    """Cross-scale attention weighted block for one branch (eq. 4-7); ``own`` = S, ``other`` = T.

    ::

        z_i = W*_i (a_{i-1} GAP(own_{i-1})) + W_self_i GAP(own_i) + W_cross_i GAP(other_i)   (B, C~)
        a_i = sigmoid(fc_i(z_i))                                                              (B, C~)
        own*_i = a_i * own_i                                                        (B, C~, T, H, W)

    ``W*_i, W_self_i, W_cross_i`` are (1,1,1) convs C~→C~ without bias (``w_prev[i-1]``,
    ``w_self[i]``, ``w_cross[i]``; group 1 has no ``w_prev``), ``fc_i`` a C~→C~ linear layer
    without bias (eq. 6). ``forward(own, other)`` takes two lists of N tensors ``(B, C~, T, H, W)``
    and returns ``(own*, a)``: the re-weighted list and the list of weights ``a_i`` (B, C~).

    What the W are. Eq. 4 calls W*_SS, W_SS, W_TS "three 1x1x1 convolutional layers" (C~ → C~, one
    set per group: each group has its own CAW block, Fig. 2c), and eq. 6's W is a C~ x C~ fully
    connected layer (no bias, no SE-style reduction, as written). ``U_Si`` is used only through the
    global average pool of eq. 5, and a 1x1x1 conv is linear in the channels, so
    ``GAP(W U) = W GAP(U)``: we keep the W as (1,1,1) ``nn.Conv3d`` modules (the paper's parameters,
    same count) but apply them to the pooled ``(B, C~, 1, 1, 1)`` vectors. This is exactly eq. 4-6
    (tested against the full-resolution convs) at ``O(C~^2)`` MACs per clip instead of
    ``O(C~^2 T H W)``; the paper's 46.3 GFLOPs may or may not include the full-resolution version
    (it does not say). Also ``GAP(S*_{i-1}) = a_{i-1} GAP(S_{i-1})``. The paper puts no bias, bn or
    nonlinearity between eq. 4 and eq. 5, and neither do we.
    """

    def __init__(self, channels: int, *, groups: int = 4):
        super().__init__()
        _check_channels_groups(channels, groups)
        self.groups, self.group_channels = groups, channels // groups
        cg = self.group_channels

        def conv() -> nn.Conv3d:
            return nn.Conv3d(cg, cg, (1, 1, 1), bias=False)

        self.w_prev = nn.ModuleList(conv() for _ in range(groups - 1))  # W*_SS for groups 2..N
        self.w_self = nn.ModuleList(conv() for _ in range(groups))  # W_SS
        self.w_cross = nn.ModuleList(conv() for _ in range(groups))  # W_TS
        self.fc = nn.ModuleList(nn.Linear(cg, cg, bias=False) for _ in range(groups))  # eq. 6 W

    def forward(self, own: Sequence[torch.Tensor], other: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        if len(own) != self.groups or len(other) != self.groups:
            raise ValueError(f"CAWBlock expects {self.groups} groups in own and other; got {len(own)} and {len(other)}")
        outs: list[torch.Tensor] = []
        weights: list[torch.Tensor] = []
        prev_pooled: Optional[torch.Tensor] = None  # GAP(own*_{i-1}) = a_{i-1} GAP(own_{i-1}), (B, C~, 1, 1, 1)
        for i in range(self.groups):
            p_own = own[i].mean(dim=(2, 3, 4), keepdim=True)  # (B, C~, 1, 1, 1)
            p_other = other[i].mean(dim=(2, 3, 4), keepdim=True)  # (B, C~, 1, 1, 1)
            z = self.w_self[i](p_own) + self.w_cross[i](p_other)  # eq. 4-5 on pooled vectors
            if i > 0:
                z = z + self.w_prev[i - 1](prev_pooled)
            a = torch.sigmoid(self.fc[i](z.flatten(1)))  # (B, C~), eq. 6
            a5 = a[:, :, None, None, None]  # (B, C~, 1, 1, 1)
            outs.append(own[i] * a5)  # eq. 7
            weights.append(a)
            prev_pooled = p_own * a5
        return outs, weights

    def extra_repr(self) -> str:
        return f"groups={self.groups}, group_channels={self.group_channels}"


class MultiScaleConv(nn.Module):
    """The middle of an MSTI tube: a spatial and a temporal branch, summed (eq. 8), per ``variant``.

    ::

        x (B, C, T, H, W) ─┬─ spatial:  SteppedConv (1,3,3) → [S_i] | conv (1,3,3) → bn → relu ─┐
                           └─ temporal: SteppedConv (3,1,1) → [T_i] | conv (3,1,1) → bn → relu ─┤
              (msti: caw_s(S, T) → [S*_i], caw_t(T, S) → [T*_i])                                 │
        → concat(S(*)) + concat(T(*))   (a plain branch adds its tensor)      (B, C, T, H, W) ◄─┘

    ``variant`` (:data:`BRANCHES`): "msti" | "ms_st" (both stepped, no CAW) | "ms_s" (stepped
    spatial + plain temporal) | "ms_t" (plain spatial + stepped temporal) | "ms_s_only" /
    "ms_t_only" (one stepped branch, no other conv). ``spatial`` / ``temporal`` hold a
    :class:`SteppedConv`, an ``nn.Sequential`` (plain) or None. After a forward in "msti",
    ``last_weights = {"s": [a_i], "t": [a_i]}`` (detached, (B, C~) each).
    """

    def __init__(self, channels: int, *, variant: str = "msti", groups: int = 4,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d, act_layer: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        if not isinstance(variant, str) or variant.lower() not in VARIANTS:
            raise ValueError(f"variant={variant!r} is invalid: expected one of {', '.join(VARIANTS)} "
                             "(or use P3DBBlock for 'p3d_b')")
        _check_channels_groups(channels, groups)
        self.variant = variant.lower()
        kind_s, kind_t, caw = BRANCHES[self.variant]

        def branch(kind: Optional[str], kernel: tuple[int, int, int]) -> Optional[nn.Module]:
            if kind == "ms":
                return SteppedConv(channels, kernel_size=kernel, groups=groups, norm_layer=norm_layer, act_layer=act_layer)
            return None if kind is None else _conv_bn_relu(channels, channels, kernel, norm_layer, act_layer)

        self.spatial, self.temporal = branch(kind_s, SPATIAL), branch(kind_t, TEMPORAL)
        self.caw_s = CAWBlock(channels, groups=groups) if caw else None
        self.caw_t = CAWBlock(channels, groups=groups) if caw else None
        self.last_weights: Optional[dict] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.spatial(x) if self.spatial is not None else None  # [S_i] (stepped) | (B, C, T, H, W) (plain)
        t = self.temporal(x) if self.temporal is not None else None
        if self.caw_s is not None:
            s_star, a_s = self.caw_s(s, t)
            t_star, a_t = self.caw_t(t, s)
            self.last_weights = {"s": [a.detach() for a in a_s], "t": [a.detach() for a in a_t]}
            s, t = s_star, t_star
        parts = [torch.cat(b, dim=1) if isinstance(b, list) else b for b in (s, t) if b is not None]
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]  # eq. 8, (B, C, T, H, W)

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}"


def _shortcut(in_channels: int, out_channels: int, stride: tuple[int, int, int],
              norm_layer: Callable[[int], nn.Module]) -> Optional[nn.Module]:
    if stride == (1, 1, 1) and in_channels == out_channels:
        return None
    return nn.Sequential(*_pool(stride), nn.Conv3d(in_channels, out_channels, (1, 1, 1), bias=False), norm_layer(out_channels))


def _pool(stride: tuple[int, int, int]) -> list[nn.Module]:
    """``[AvgPool3d(stride, ceil_mode)]`` before a strided 1x1x1 conv (ResNet-D), or ``[]`` at stride 1."""
    if stride == (1, 1, 1):
        return []
    return [nn.AvgPool3d(stride, stride, ceil_mode=True, count_include_pad=False)]


class _BottleneckUnit(nn.Module):
    """reduce (1,1,1) C_in→P, stride → bn → relu → ``self.middle`` → restore (1,1,1) P→4P → bn; + shortcut; relu."""

    expansion = 4

    def _build(self, in_channels: int, planes: int, stride, middle: nn.Module, norm_layer) -> None:
        check_int("in_channels", in_channels, min_value=1)
        self.stride = check_stride(stride)
        out = planes * self.expansion
        self.reduce = nn.Sequential(*_pool(self.stride), nn.Conv3d(in_channels, planes, (1, 1, 1), bias=False),
                                    norm_layer(planes), nn.ReLU(inplace=True))
        self.middle = middle
        self.restore = nn.Sequential(nn.Conv3d(planes, out, (1, 1, 1), bias=False), norm_layer(out))
        self.downsample = _shortcut(in_channels, out, self.stride, norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.restore(self.middle(self.reduce(x)))  # (B, 4P, T/st, H/ss, W/ss)
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class MSTITube(_BottleneckUnit):
    """MSTI tube (Fig. 1) as a residual bottleneck unit; see the module docstring for the drawing.

    ``MSTITube(C_in, P, *, stride=(1,1,1), variant="msti", groups=4)``:
    ``(B, C_in, T, H, W) -> (B, 4P, ceil(T/st), ceil(H/ss), ceil(W/ss))``. ``P % groups == 0``.
    The sum X* of the two branches gets no extra bn/relu before the restore conv.

    Stride. Table 1 strides the first tube of a stage ((2,1,1) in conv2_x, (1,2,2) after). A
    strided K_i would break the stepped sums (``X_i + S_{i-1}`` need equal shapes), so the stride
    sits before the reduce (1,1,1) conv and the projection shortcut, as an average pool of
    kernel = stride (ResNet-D, He et al. 2019) followed by unstrided 1x1x1 convs. A strided 1x1x1
    conv (original ResNet-50) keeps every other pixel, and "ms_t_only" has no spatial conv to mix
    the dropped ones back in; with the pool every variant sees every input pixel (tested).
    """

    def __init__(self, in_channels: int, planes: int, *, stride=(1, 1, 1), variant: str = "msti", groups: int = 4,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d):
        super().__init__()
        _check_channels_groups(planes, groups, "planes")
        middle = MultiScaleConv(planes, variant=variant, groups=groups, norm_layer=norm_layer)
        self._build(in_channels, planes, stride, middle, norm_layer)
        self.variant = middle.variant


class _P3DB(nn.Module):
    """P3D-B middle: ``conv (1,3,3) → bn → relu`` + ``conv (3,1,1) → bn → relu`` in parallel, summed."""

    def __init__(self, channels: int, norm_layer: Callable[[int], nn.Module]):
        super().__init__()
        self.spatial = _conv_bn_relu(channels, channels, SPATIAL, norm_layer, nn.ReLU)
        self.temporal = _conv_bn_relu(channels, channels, TEMPORAL, norm_layer, nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(x) + self.temporal(x)  # (B, P, T, H, W)


class P3DBBlock(_BottleneckUnit):
    """P3D-B residual unit (Qiu et al. 2017, Fig. 2b), the Table 2 baseline; same interface as MSTITube.

    ::

        x ─┬─ conv (1,1,1) C_in→P, stride → bn → relu ─┬─ conv (1,3,3) → bn → relu ─┐
           │                                           └─ conv (3,1,1) → bn → relu ─(+)
           │   conv (1,1,1) P→4P → bn ─┐
           └─ shortcut ───────────────(+) → relu

    Where relu sits in P3D-B: after each of the two convs (bn → relu), then the sum (Qiu et al.'s
    Fig. 2b applies the temporal conv to the input and adds both outputs). Stride as in
    :class:`MSTITube` (average pool before the 1x1x1 convs).
    """

    def __init__(self, in_channels: int, planes: int, *, stride=(1, 1, 1), norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d):
        super().__init__()
        check_int("planes", planes, min_value=1)
        self._build(in_channels, planes, stride, _P3DB(planes, norm_layer), norm_layer)
        self.variant = "p3d_b"
