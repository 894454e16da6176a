"""MixTConv: identity and TSM equivalences, grouped vs naive reference, dilations, params, errors."""

import pytest
import torch

from actionrec.analysis.complexity import count_macs
from actionrec.layers.mixtconv import MixTConv, mixtconv_split
from actionrec.layers.temporal_shift import TemporalShift, temporal_shift


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _tsn(x5):
    b, c, t, h, w = x5.shape
    return x5.transpose(1, 2).reshape(b * t, c, h, w)  # (B, C, T, H, W) -> (B, T, C, H, W) -> (B*T, C, H, W)


def _naive(mod, x5):
    """Per-group, per-channel, per-frame loop of eq. 1-2 (zero padding, dilation)."""
    b, c, t, h, w = x5.shape
    out = torch.zeros_like(x5)
    start = 0
    for wgt, cm, k, d in zip(mod.weights(), mod.splits, mod.kernels, mod.dilations):
        for i in range(cm):
            ch = start + i
            for ti in range(t):
                for j in range(-(k // 2), k // 2 + 1):
                    src = ti + d * j
                    if 0 <= src < t:
                        out[:, ch, ti] += x5[:, ch, src] * wgt[i, 0, k // 2 + j, 0, 0]
        start += cm
    return out


def test_kernel_1_identity_init_is_identity():
    x = torch.randn(12, 10, 3, 3)
    y = MixTConv(10, 4, kernels=(1,), init="identity")(x)
    assert torch.equal(y, x)


@pytest.mark.parametrize("init", ["identity", "tsm"])
def test_default_kernels_identity_init_is_identity(init):
    x = torch.randn(16, 32, 2, 2)
    m = MixTConv(32, 8, init="identity")
    assert torch.equal(m(x), x)
    if init == "tsm":  # TSM-like init is not the identity (kernels 3/5/7 groups shift)
        assert not torch.equal(MixTConv(32, 8)(x), x)


@pytest.mark.parametrize("c,t", [(16, 8), (64, 8), (20, 5), (9, 3), (16, 1)])
def test_tsm_init_kernel_3_equals_temporal_shift_exactly(c, t):
    b = 2
    x5 = torch.randn(b, c, t, 3, 4)
    y = MixTConv(c, t, kernels=(3,), init="tsm")(_tsn(x5))
    assert torch.equal(y, _tsn(temporal_shift(x5, fold_div=8)))
    assert torch.equal(y, TemporalShift(c, t)(_tsn(x5)))


@pytest.mark.parametrize("kernels,dilations", [((1, 3, 5, 7), None), ((3, 5), (2, 1)), ((3,), (3,)), ((1, 3, 5), (1, 2, 3)), ((13,), None)])
@pytest.mark.parametrize("init", ["random", "tsm"])
def test_grouped_equals_naive_reference(kernels, dilations, init):
    c, t = 10, 6
    m = MixTConv(c, t, kernels=kernels, dilations=dilations, init=init)
    if init == "tsm":
        with torch.no_grad():
            for w in m.weights():
                w.add_(0.1 * torch.randn_like(w))
    x5 = torch.randn(2, c, t, 2, 3)
    torch.testing.assert_close(m(_tsn(x5)), _tsn(_naive(m, x5)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(m.forward_video(x5), _naive(m, x5), rtol=1e-5, atol=1e-6)


def test_dilation_tsm_init_reads_frames_t_plus_minus_d():
    c, t, d = 16, 7, 2
    x5 = torch.arange(1, t + 1.0).view(1, 1, t, 1, 1).expand(1, c, t, 1, 1).contiguous()  # frame t holds t+1
    y = MixTConv(c, t, kernels=(3,), dilations=(d,))(_tsn(x5))  # (T, C, 1, 1)
    y = y[:, :, 0, 0].T  # (C, T)
    assert y[0].tolist() == [3, 4, 5, 6, 7, 0, 0]  # t + 2
    assert y[2].tolist() == [0, 0, 1, 2, 3, 4, 5]  # t - 2
    assert y[5].tolist() == list(range(1, t + 1))


def test_receptive_field_of_each_group_is_its_kernel():
    c, t = 8, 9
    m = MixTConv(c, t, kernels=(1, 3, 5, 7), init="random")
    x5 = torch.randn(1, c, t, 1, 1, requires_grad=True)
    m.forward_video(x5)[:, :, t // 2].sum().backward()
    support = (x5.grad[0, :, :, 0, 0] != 0).sum(dim=1).tolist()
    assert support == [1, 1, 3, 3, 5, 5, 7, 7]


def test_splits_params_and_tsm_fractions():
    assert mixtconv_split(10, 4) == [4, 2, 2, 2]
    m = MixTConv(64, 8)
    assert m.splits == (16, 16, 16, 16)
    assert sum(p.numel() for p in m.parameters()) == 16 * (1 + 3 + 5 + 7)
    w = m.weights()
    assert torch.equal(w[0].flatten(), torch.ones(16))  # k = 1: identity
    for wk, k in zip(w[1:], (3, 5, 7)):
        taps = wk[:, 0, :, 0, 0]
        mid = k // 2
        assert taps.sum().item() == 16 and (taps != 0).sum().item() == 16
        assert taps[:2, mid + 1].tolist() == [1, 1] and taps[2:4, mid - 1].tolist() == [1, 1]
        assert torch.equal(taps[4:, mid], torch.ones(12))


def test_gradients_reach_every_group():
    m = MixTConv(12, 4, init="tsm")
    x = torch.randn(8, 12, 2, 2, requires_grad=True)
    m(x).square().sum().backward()
    assert x.grad is not None and all(w.grad is not None and w.grad.abs().sum() > 0 for w in m.weights())


def test_bad_arguments_raise_naming_the_parameter():
    for kwargs, name in [
        (dict(kernels=(2, 3)), "kernels"),
        (dict(kernels=()), "kernels"),
        (dict(kernels=3), "kernels"),
        (dict(kernels=(3, 5), dilations=(1,)), "dilations"),
        (dict(kernels=(3,), dilations=(0,)), "dilations"),
        (dict(init="zeros"), "init"),
        (dict(fold_div=1), "fold_div"),
    ]:
        with pytest.raises(ValueError, match=name):
            MixTConv(16, 8, **kwargs)
    with pytest.raises(ValueError, match="channels"):
        MixTConv(3, 8)  # fewer channels than kernel groups
    with pytest.raises(ValueError, match="num_segments"):
        MixTConv(16, 0)
    with pytest.raises(ValueError, match="num_segments=8"):
        MixTConv(16, 8)(torch.randn(12, 16, 2, 2))
    with pytest.raises(ValueError, match="channels=16"):
        MixTConv(16, 8)(torch.randn(8, 12, 2, 2))


def test_matrix_form_equals_the_conv_form_and_meta_counts_the_conv_macs():
    torch.manual_seed(0)
    m = MixTConv(20, 8, kernels=(1, 3, 5, 7), init="random")
    x = torch.randn(2, 20, 8, 4, 4)
    torch.testing.assert_close(m.forward_video(x), m.forward_conv(x), rtol=1e-5, atol=1e-6)
    xt = x.transpose(1, 2).reshape(16, 20, 4, 4)  # (B, C, T, H, W) -> (B*T, C, H, W)
    torch.testing.assert_close(m(xt), m.forward_conv(x).transpose(1, 2).reshape(16, 20, 4, 4), rtol=1e-5, atol=1e-6)
    with torch.device("meta"):
        mm = MixTConv(20, 8, kernels=(1, 3, 5, 7))

    class Video(torch.nn.Module):  # count_macs feeds (B, C, T, H, W); MixTConv takes (B*T, C, H, W)
        def __init__(self):
            super().__init__()
            self.m = mm

        def forward(self, v):
            return self.m(v.transpose(1, 2).reshape(-1, 20, 4, 4))  # -> (B*T, C, H, W)

    assert count_macs(Video(), (20, 8, 4, 4)) == sum(c * k for c, k in zip(mm.splits, mm.kernels)) * 8 * 4 * 4
