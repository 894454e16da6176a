"""Window kernels over non-overlapping ``(kT, kH, kW)`` tiles, shared by SoftPool and MTConv.

Used by :func:`actionrec.layers.softpool.soft_pool3d` (MTNet eq. 3, windows with ``stride ==
kernel_size``) and by :class:`actionrec.layers.mtconv.MTConv`'s lateral average pool (eq. 2, kernel
``2s``). A tile reduction over windows of size ``(kT, kH, kW)`` is done as ``(kT-1) + (kH-1) +
(kW-1)`` elementwise ops on strided slices instead of a pooling kernel, and a per-window value is
broadcast back onto its window with :func:`tile_up`::

    x (B, C, T, H, W) → tile_pad (right-pad to T' kT, H' kH, W' kW)     (B, C, T' kT, H' kH, W' kW)
      → tile_reduce "sum" | "max" over each window                    (B, C, T', H', W')
      → tile_up: each window's value copied onto its elements          (B, C, T' kT, H' kH, W' kW)

Output sizes follow PyTorch's pooling with padding 0 (:func:`pool_out_size`); ``ceil_mode`` keeps
partial windows at the far edge, so a size-1 dimension pools to size 1. ``channels_last_3d`` inputs
keep that format (``F.avg_pool3d`` returns channels-first).

:func:`avg_pool3d_tiled` is ``F.avg_pool3d(x, k, k, ceil_mode=True)`` built from these (a partial
window averages what it holds), with the backward spreading ``g / count`` over each window.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["triple", "pool_out_size", "tile_pad", "tile_reduce", "tile_up", "is_channels_last", "avg_pool3d_tiled"]


def triple(v, name: str) -> tuple[int, int, int]:
    """``v`` (an int or a ``(T, H, W)`` triple of ints >= 1) as a tuple of three ints, else ValueError."""
    if isinstance(v, int):
        v = (v, v, v)
    v = tuple(int(i) for i in v)
    if len(v) != 3 or min(v) < 1:
        raise ValueError(f"{name}={v!r} must be a positive int or a (T, H, W) tuple of positive ints")
    return v  # type: ignore[return-value]


def pool_out_size(L: int, k: int, s: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length for input length ``L``, kernel ``k``, stride ``s`` (padding 0)."""
    if ceil_mode:
        n = math.ceil((L - k) / s) + 1
        if (n - 1) * s >= L:  # the last window must start inside the input
            n -= 1
    else:
        n = (L - k) // s + 1
    return n


def is_channels_last(x: torch.Tensor) -> bool:
    """``x`` is ``channels_last_3d`` (and not also plain contiguous)."""
    return x.is_contiguous(memory_format=torch.channels_last_3d) and not x.is_contiguous()


def tile_pad(x: torch.Tensor, k, out, value: float) -> torch.Tensor:
    """Right-pad (T, H, W) to ``out * k`` with ``value`` (no copy when nothing to pad).

    Elements a floor-mode pool never reads are cropped first (a view).
    """
    t, h, w = (min(L, n * kk) for n, kk, L in zip(out, k, x.shape[2:]))
    x = x[:, :, :t, :h, :w]
    pads = [n * kk - L for n, kk, L in zip(out, k, x.shape[2:])]
    if not any(pads):
        return x
    return F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]), value=value)


def tile_reduce(x: torch.Tensor, k, op: str) -> torch.Tensor:
    """``op`` ("sum" | "max") over non-overlapping (kT, kH, kW) windows of a tiled (T, H, W)."""
    for dim, kk in zip((2, 3, 4), k):
        if kk == 1:
            continue
        idx = [slice(None)] * 5
        parts = []
        for i in range(kk):
            idx[dim] = slice(i, None, kk)
            parts.append(x[tuple(idx)])  # every kk-th slice along dim: (.., L/kk, ..)
        y = torch.add(parts[0], parts[1]) if op == "sum" else torch.maximum(parts[0], parts[1])
        for p in parts[2:]:
            y = y.add_(p) if op == "sum" else torch.maximum(y, p, out=y)
        x = y
    return x


def tile_up(y: torch.Tensor, k, size) -> torch.Tensor:
    """Broadcast each window's value back onto its (kT, kH, kW) elements: (B, C, T', H', W') -> size.

    ``size`` = ``(T' kT, H' kH, W' kW)`` (implied by ``y`` and ``k``; checked). A pure copy (exact for
    any k), done as one broadcast per dimension from the innermost memory dimension outwards, each a
    reshape of an ``expand`` whose inner block is contiguous (no ``F.interpolate``).
    ``channels_last_3d`` input gives ``channels_last_3d`` output; anything else a contiguous tensor.
    """
    b, c, t, h, w = y.shape
    kt, kh, kw = k
    assert tuple(size) == (t * kt, h * kh, w * kw), (tuple(size), y.shape, k)
    if is_channels_last(y):
        o = y.permute(0, 2, 3, 4, 1)  # (B, T', H', W', C), contiguous in memory
        o = o.reshape(b * t * h, w, 1, c).expand(-1, -1, kw, -1)  # repeat along W
        o = o.reshape(b * t, h, 1, w * kw * c).expand(-1, -1, kh, -1)  # repeat along H
        o = o.reshape(b, t, 1, h * kh * w * kw * c).expand(-1, -1, kt, -1)  # repeat along T
        o = o.reshape(b, t * kt, h * kh, w * kw, c)  # (B, T, H, W, C)
        return o.permute(0, 4, 1, 2, 3)  # (B, C, T, H, W) in channels_last_3d
    o = y.reshape(b * c * t * h, w, 1).expand(-1, -1, kw)  # repeat along W
    o = o.reshape(b * c * t, h, 1, w * kw).expand(-1, -1, kh, -1)  # repeat along H
    o = o.reshape(b * c, t, 1, h * kh * w * kw).expand(-1, -1, kt, -1)  # repeat along T
    return o.reshape(b, c, t * kt, h * kh, w * kw)  # (B, C, T, H, W)


def _window_counts(sizes, k, out) -> int | torch.Tensor:
    """Elements per (possibly partial, ceil-mode) window: per-dimension counts, outer product."""
    per_dim = [[min(kk, L - i * kk) for i in range(n)] for L, kk, n in zip(sizes, k, out)]
    if all(len(set(c)) == 1 for c in per_dim):
        return per_dim[0][0] * per_dim[1][0] * per_dim[2][0]
    ct, ch, cw = (torch.tensor(c, dtype=torch.float32) for c in per_dim)
    return ct[:, None, None] * ch[None, :, None] * cw[None, None, :]  # (T', H', W')


class _AvgPoolTiled(torch.autograd.Function):
    """Average pooling over non-overlapping ceil-mode windows (partial windows: mean of what they hold).

    Same values as ``F.avg_pool3d(x, k, k, ceil_mode=True)``, computed with slice adds (keeps
    ``channels_last_3d``); backward spreads ``g / count`` back over each window.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, k, out):
        cnt = _window_counts(x.shape[2:], k, out)
        if isinstance(cnt, torch.Tensor):
            cnt = cnt.to(device=x.device, dtype=x.dtype)
        y = tile_reduce(tile_pad(x, k, out, 0.0), k, "sum") / cnt
        ctx.k, ctx.out, ctx.cnt, ctx.in_shape = k, out, cnt, x.shape
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        k, out = ctx.k, ctx.out
        b, c, t, h, w = ctx.in_shape
        full = (b, c, out[0] * k[0], out[1] * k[1], out[2] * k[2])
        grad = tile_up(g / ctx.cnt, k, full[2:])  # every element gets its window's g / count
        return grad[:, :, :t, :h, :w], None, None


def avg_pool3d_tiled(x: torch.Tensor, kernel_size) -> torch.Tensor:
    """``F.avg_pool3d(x, k, k, ceil_mode=True)`` for non-overlapping windows, via slice adds.

    ``(B, C, T, H, W) -> (B, C, ceil(T/kT), ceil(H/kH), ceil(W/kW))``.
    """
    k = tuple(kernel_size)
    out = tuple(pool_out_size(L, kk, kk, True) for L, kk in zip(x.shape[2:], k))
    return _AvgPoolTiled.apply(x, k, out)
