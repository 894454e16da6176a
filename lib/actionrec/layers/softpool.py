"""SoftPool3d: softmax-weighted pooling over space-time windows.

Paper: Stergiou & Poppe, "Right on Time: Multi-Temporal Convolutions for Human Action Recognition
in Videos" (MTNet), eq. 3; SoftPool itself is Stergiou, Poppe & Kalliatakis (ICCV 2021).

For every channel ``c`` and every pooling window ``R`` (eq. 3)::

    w_i   = exp(a_i) / sum_{j in R} exp(a_j)          (softmax over the window, per channel)
    out   = sum_{i in R} w_i * a_i

so large activations dominate the pooled value (a smooth maximum); a constant window returns that
constant, exactly like average and max pooling.

How it is computed (plain torch, identical on CPU and GPU)::

    x (B, C, T, H, W)
      -> m = max over each window                                  (B, C, T', H', W')
      -> e = exp(x - m)  (m broadcast onto its window)  every window holds one e = 1: no overflow
      -> out = sum_window(e * x) / sum_window(e)                   (B, C, T', H', W')

which is ``avg_pool(x * e) / avg_pool(e)`` (both averages share a divisor) without the pooling
kernels. Subtracting the *per-window* maximum (not a per-channel global one) keeps windows far below
the channel maximum from underflowing to ``0/0``: inputs of magnitude 1e4 and beyond are fine. The
gradient is the closed form ``d out / d x_i = w_i (1 + x_i - out)`` (a custom autograd Function;
first-order gradients only, no double backward).

Non-overlapping windows (all MTNet uses) take the tile kernels of :mod:`actionrec.layers.tiling`,
any other stride an exact unfold + softmax path (:func:`soft_pool3d`).

``ceil_mode=True`` keeps partial windows at the far edge, so a size-1 dimension still pools to
size 1 (needed by MTNet's long stream on small clips); a partial window is a softmax over the
elements it holds.

Departure from the official code: eq. 3 per channel, the same operator on every device, unclamped
(the official SoftPool's CPU path shares one weight map across channels; :ref:`readings-mtnet-softpool`).

Shapes: input ``(B, C, T, H, W)`` -> output ``(B, C, T', H', W')`` with the usual pooling sizes
(``floor`` or, with ``ceil_mode``, ``ceil`` of ``(L - k) / s + 1``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .tiling import pool_out_size, tile_pad, tile_reduce, tile_up, triple

__all__ = ["soft_pool3d", "SoftPool3d", "soft_pool3d_unfold"]


def soft_pool3d(x: torch.Tensor, kernel_size=2, stride=None, *, ceil_mode: bool = False) -> torch.Tensor:
    """Per-channel SoftPool over ``(T, H, W)`` windows (eq. 3). See the module docstring.

    Args:
        x: ``(B, C, T, H, W)`` floating tensor.
        kernel_size: int or ``(kT, kH, kW)``.
        stride: int or ``(sT, sH, sW)``; default ``kernel_size``.
        ceil_mode: keep partial windows at the far edge (size 1 -> size 1 for kernel 2).

    Windows that do not overlap (``stride == kernel_size``, the only case MTNet uses: (1,2,2) in the
    stem, 2 or 2*stride in the lateral and shortcut pools) are reduced with the tile kernels of
    :mod:`actionrec.layers.tiling` (``k - 1`` elementwise ops per dimension on strided slices, which
    keep ``channels_last_3d`` tensors in that format). Overlapping or gapped windows (``stride !=
    kernel_size``) take a second exact path, :func:`soft_pool3d_unfold`, that unfolds the windows
    and applies ``torch.softmax`` over each (plain autograd).
    """
    if x.dim() != 5:
        raise ValueError(f"soft_pool3d expects x of shape (B, C, T, H, W); got {tuple(x.shape)}")
    k = triple(kernel_size, "kernel_size")
    s = k if stride is None else triple(stride, "stride")
    sizes = x.shape[2:]
    out = [pool_out_size(L, kk, ss, ceil_mode) for L, kk, ss in zip(sizes, k, s)]
    if min(out) < 1:
        raise ValueError(
            f"soft_pool3d: input (T, H, W)={tuple(sizes)} is smaller than kernel_size={k} "
            f"(pass ceil_mode=True to pool partial windows)"
        )
    if k == s:
        return _SoftPoolTiled.apply(x, k, tuple(out))
    return soft_pool3d_unfold(x, k, s, out)


class _SoftPoolTiled(torch.autograd.Function):
    """SoftPool on non-overlapping windows with the closed-form gradient.

    forward:  m = window max, e = exp(x - m), out = sum(e x) / sum(e)
    backward: d out / d x_i = w_i (1 + x_i - out),   w_i = e_i / sum(e)
    Padding (partial ceil-mode windows) gets x = -inf for the max/exp (weight 0) and x = 0 for the
    products, so padded elements contribute nothing.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, k, out):
        if x.numel() == 0:
            raise ValueError("soft_pool3d: empty input")
        x0 = tile_pad(x, k, out, 0.0)
        padded = any(n * kk > L for n, kk, L in zip(out, k, x.shape[2:]))
        with torch.no_grad():
            xm = tile_pad(x, k, out, float("-inf")) if padded else x0
            m = tile_reduce(xm, k, "max")  # (B, C, T', H', W')
            e = torch.exp(xm - tile_up(m, k, x0.shape[2:]))  # in (0, 1], one 1 per window; 0 on padding
            den = tile_reduce(e, k, "sum")  # >= 1
            y = tile_reduce(e * x0, k, "sum").div_(den)
        ctx.save_for_backward(x0, e, den, y)
        ctx.k, ctx.in_shape = k, x.shape
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x0, e, den, y = ctx.saved_tensors
        k, size = ctx.k, x0.shape[2:]
        gd = g / den
        # grad_i = e_i g/den (1 + x_i - out) = e_i (x_i * gd + gd (1 - out))
        grad = x0 * tile_up(gd, k, size)
        grad = grad.add_(tile_up(gd * (1.0 - y), k, size)).mul_(e)
        t, h, w = ctx.in_shape[2:]
        if grad.shape[2:] != (t, h, w):
            grad = grad[:, :, :t, :h, :w]  # drop ceil-mode padding
            pads = (0, w - grad.shape[4], 0, h - grad.shape[3], 0, t - grad.shape[2])
            if any(pads):  # elements a floor-mode pool never read get zero gradient
                grad = F.pad(grad, pads)
        return grad, None, None


def soft_pool3d_unfold(x: torch.Tensor, k, s, out) -> torch.Tensor:
    """SoftPool for any stride: unfold the windows ``(B, C, T', H', W', kT*kH*kW)``, softmax over each.

    ``k``, ``s``: (T, H, W) kernel and stride triples; ``out``: the output sizes ``(T', H', W')``
    (:func:`~actionrec.layers.tiling.pool_out_size`). The reference path :func:`soft_pool3d` takes
    when ``stride != kernel_size``.
    """
    # Right-pad so that ceil-mode partial windows exist; padded logits are -inf (weight 0) and
    # padded values 0, so they contribute nothing.
    pads = [max(0, (n - 1) * ss + kk - L) for n, ss, kk, L in zip(out, s, k, x.shape[2:])]
    pad_arg = (0, pads[2], 0, pads[1], 0, pads[0])  # F.pad order: W, H, T
    logits = F.pad(x, pad_arg, value=float("-inf"))
    values = F.pad(x, pad_arg, value=0.0)

    def windows(t: torch.Tensor) -> torch.Tensor:
        t = t.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).unfold(4, k[2], s[2])  # (B,C,T',H',W',kT,kH,kW)
        t = t[:, :, : out[0], : out[1], : out[2]]
        return t.flatten(5)  # (B, C, T', H', W', kT*kH*kW)

    w = torch.softmax(windows(logits), dim=-1)
    return (w * windows(values)).sum(-1)


class SoftPool3d(nn.Module):
    """Module form of :func:`soft_pool3d` (per-channel softmax pooling, eq. 3).

    ``x (B, C, T, H, W) -> soft_pool3d(x, kernel_size, stride, ceil_mode) -> (B, C, T', H', W')``
    """

    def __init__(self, kernel_size=2, stride=None, *, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = triple(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else triple(stride, "stride")
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return soft_pool3d(x, self.kernel_size, self.stride, ceil_mode=self.ceil_mode)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode}"
