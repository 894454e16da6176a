"""SoftPool3d (MTNet eq. 3): brute-force reference, numerical stability, gradients, layouts."""

import itertools
import math

import pytest
import torch

from actionrec.layers.softpool import SoftPool3d, soft_pool3d


def _out_len(L, k, s, ceil):
    if ceil:
        n = math.ceil((L - k) / s) + 1
        return n - 1 if (n - 1) * s >= L else n
    return (L - k) // s + 1


def brute_soft_pool(x, k, s, ceil):
    """One window at a time, softmax per channel, in float64."""
    x = x.double()
    B, C, T, H, W = x.shape
    o = [_out_len(L, kk, ss, ceil) for L, kk, ss in zip((T, H, W), k, s)]
    y = torch.zeros(B, C, *o, dtype=torch.float64)
    for t, h, w in itertools.product(*map(range, o)):
        win = x[:, :, t * s[0] : t * s[0] + k[0], h * s[1] : h * s[1] + k[1], w * s[2] : w * s[2] + k[2]]
        win = win.reshape(B, C, -1)  # (B, C, window) -- the window's elements per channel
        y[:, :, t, h, w] = (torch.softmax(win, -1) * win).sum(-1)
    return y


CASES = [
    # shape, kernel, stride, ceil_mode
    ((2, 3, 4, 6, 6), (2, 2, 2), (2, 2, 2), False),  # tiles exactly
    ((2, 3, 5, 7, 3), (2, 2, 2), (2, 2, 2), True),  # partial windows at the far edge
    ((1, 2, 5, 5, 5), (2, 2, 2), (2, 2, 2), False),  # floor mode drops the last element
    ((1, 2, 1, 1, 1), (2, 2, 2), (2, 2, 2), True),  # size 1 still pools
    ((1, 2, 2, 3, 3), (4, 4, 4), (4, 4, 4), True),  # kernel larger than the input
    ((2, 2, 6, 6, 6), (1, 2, 2), (1, 2, 2), False),  # stem pooling
    ((2, 2, 7, 4, 3), (3, 2, 2), (3, 2, 2), True),  # non power of two
    ((2, 3, 5, 7, 6), (3, 3, 3), (2, 2, 2), True),  # overlapping windows (unfold path)
    ((2, 3, 5, 7, 6), (3, 2, 2), (1, 2, 1), False),  # overlapping, floor mode
]


@pytest.mark.parametrize("shape,k,s,ceil", CASES)
def test_matches_brute_force(shape, k, s, ceil):
    torch.manual_seed(0)
    x = torch.randn(shape) * 3
    y = soft_pool3d(x, k, s, ceil_mode=ceil)
    ref = brute_soft_pool(x, k, s, ceil)
    assert y.shape == ref.shape
    torch.testing.assert_close(y.double(), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape,k,s,ceil", CASES)
def test_large_magnitudes_do_not_overflow_or_underflow(shape, k, s, ceil):
    torch.manual_seed(1)
    # +-1e4 everywhere: a per-channel global max would underflow windows 2e4 below it to 0/0.
    x = torch.randn(shape) * 1e4
    y = soft_pool3d(x, k, s, ceil_mode=ceil)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y.double(), brute_soft_pool(x, k, s, ceil), atol=1e-2, rtol=1e-6)
    # Values ~1e4 that differ by O(1): a non-trivial softmax that exp(x) alone would overflow.
    x = 1e4 + torch.randn(shape)
    y = soft_pool3d(x.double(), k, s, ceil_mode=ceil)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, brute_soft_pool(x.double(), k, s, ceil), atol=1e-9, rtol=1e-12)


def test_far_apart_windows_in_one_channel():
    x = torch.zeros(1, 1, 2, 2, 2)
    x[..., 0, :, :] = -1e4 + torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # window 1, far below window 2
    x[..., 1, :, :] = 1e4
    y = soft_pool3d(x, (1, 2, 2))
    assert torch.isfinite(y).all()
    w = torch.softmax(torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64), 0)
    expected = -1e4 + (w * torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)).sum()
    assert abs(y[0, 0, 0, 0, 0].item() - expected.item()) < 1e-2
    assert y[0, 0, 1, 0, 0].item() == 1e4


def test_constant_window_returns_constant_and_is_per_channel():
    x = torch.stack([torch.full((4, 4, 4), 2.5), torch.arange(64.0).view(4, 4, 4)])[None]  # (1, 2, 4, 4, 4)
    y = soft_pool3d(x, 2)
    assert torch.all(y[0, 0] == 2.5)
    # channel 1 is pooled with its own weights (not shared with channel 0): differs from channel 0
    ref = brute_soft_pool(x[:, 1:], (2, 2, 2), (2, 2, 2), False)
    torch.testing.assert_close(y[:, 1:].double(), ref, atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize(
    "shape,k,ceil",
    [((2, 2, 3, 5, 4), (2, 2, 2), True), ((1, 2, 5, 5, 5), (2, 2, 2), False), ((1, 2, 1, 3, 3), (4, 4, 4), True),
     ((2, 2, 5, 4, 3), (3, 2, 2), True), ((2, 2, 4, 6, 6), (1, 2, 2), False)],
)
def test_gradcheck_tiled(shape, k, ceil):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_pool3d(t, k, ceil_mode=ceil), (x,))


def test_gradcheck_overlapping():
    x = torch.randn(1, 2, 5, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_pool3d(t, 3, 2, ceil_mode=True), (x,))


def test_gradient_at_large_magnitude_is_finite_and_matches_autograd_reference():
    torch.manual_seed(2)
    x = (torch.randn(2, 3, 4, 4, 4, dtype=torch.float64) * 1e4).requires_grad_()
    g = torch.randn(2, 3, 2, 2, 2, dtype=torch.float64)
    (gx,) = torch.autograd.grad(soft_pool3d(x, 2), x, g)
    # reference: plain autograd through softmax over unfolded windows
    xr = x.detach().clone().requires_grad_()
    win = xr.unfold(2, 2, 2).unfold(3, 2, 2).unfold(4, 2, 2).flatten(5)  # (B, C, 2, 2, 2, 8)
    ref = (torch.softmax(win, -1) * win).sum(-1)
    (gr,) = torch.autograd.grad(ref, xr, g)
    assert torch.isfinite(gx).all()
    torch.testing.assert_close(gx, gr)


def test_channels_last_matches_channels_first():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 8, 8)
    xc = x.clone().contiguous(memory_format=torch.channels_last_3d).requires_grad_()
    xf = x.clone().requires_grad_()
    yc, yf = soft_pool3d(xc, 2), soft_pool3d(xf, 2)
    g = torch.randn_like(yf)
    yc.backward(g)
    yf.backward(g)
    torch.testing.assert_close(yc, yf)
    torch.testing.assert_close(xc.grad, xf.grad)
    assert yc.is_contiguous(memory_format=torch.channels_last_3d)


def test_module_and_errors():
    pool = SoftPool3d((1, 2, 2), ceil_mode=True)
    assert pool(torch.randn(2, 3, 4, 5, 5)).shape == (2, 3, 4, 3, 3)
    assert "kernel_size=(1, 2, 2)" in repr(pool)
    with pytest.raises(ValueError, match="ceil_mode"):
        soft_pool3d(torch.randn(1, 1, 1, 1, 1), 2)
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        soft_pool3d(torch.randn(1, 4, 4, 4), 2)
    with pytest.raises(ValueError, match="kernel_size"):
        soft_pool3d(torch.randn(1, 1, 4, 4, 4), 0)
