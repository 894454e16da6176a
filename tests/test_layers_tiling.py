"""Tile kernels (actionrec.layers.tiling): tile_up is an exact nearest repeat, the tiled average pool
equals F.avg_pool3d(ceil_mode=True) in values and gradients, pool_out_size is PyTorch's."""

import pytest
import torch
import torch.nn.functional as F

from actionrec.layers.tiling import avg_pool3d_tiled, pool_out_size, tile_up, triple


@pytest.mark.parametrize("shape,k", [((2, 3, 4, 6, 6), (2, 2, 2)), ((2, 3, 5, 7, 3), (2, 2, 2)),
                                     ((1, 2, 1, 1, 1), (2, 2, 2)), ((2, 3, 3, 2, 2), (4, 4, 4)),
                                     ((2, 3, 7, 6, 6), (3, 2, 2))])
def test_tiled_avg_pool_equals_avg_pool3d(shape, k):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    kk = tuple(min(a, b) for a, b in zip(k, shape[2:]))
    torch.testing.assert_close(avg_pool3d_tiled(x, k), F.avg_pool3d(x, kk, kk, ceil_mode=True))
    assert torch.autograd.gradcheck(lambda t: avg_pool3d_tiled(t, k), (x,))
    g = torch.randn_like(F.avg_pool3d(x, kk, kk, ceil_mode=True))
    (ga,) = torch.autograd.grad(avg_pool3d_tiled(x, k), x, g)
    (gb,) = torch.autograd.grad(F.avg_pool3d(x, kk, kk, ceil_mode=True), x, g)
    torch.testing.assert_close(ga, gb)


@pytest.mark.parametrize("k", [(1, 2, 2), (2, 2, 2), (3, 2, 1), (4, 4, 4)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_tile_up_is_nearest_repeat_and_keeps_format(k, channels_last):
    """tile_up (expand+reshape per dimension) == repeat_interleave along T, H, W, exactly."""
    y = torch.randn(2, 7, 3, 2, 5)
    if channels_last:
        y = y.contiguous(memory_format=torch.channels_last_3d)
    size = tuple(n * kk for n, kk in zip(y.shape[2:], k))
    ref = y.repeat_interleave(k[0], 2).repeat_interleave(k[1], 3).repeat_interleave(k[2], 4)
    out = tile_up(y, k, size)
    assert out.shape == ref.shape and torch.equal(out, ref)
    assert out.is_contiguous(memory_format=torch.channels_last_3d) == channels_last


@pytest.mark.parametrize("L,k,s,ceil", [(5, 2, 2, False), (5, 2, 2, True), (1, 2, 2, True), (7, 3, 2, True), (4, 4, 1, False)])
def test_pool_out_size_is_pytorchs(L, k, s, ceil):
    assert pool_out_size(L, k, s, ceil) == F.max_pool1d(torch.zeros(1, 1, L), k, s, ceil_mode=ceil).shape[-1]


def test_triple_names_the_parameter():
    assert triple(2, "stride") == (2, 2, 2) and triple((1, 2, 3), "k") == (1, 2, 3)
    with pytest.raises(ValueError, match="stride"):
        triple(0, "stride")
    with pytest.raises(ValueError, match="kernel_size"):
        triple((1, 2), "kernel_size")
