"""MixTConv: the official init (against a hand-written per-group reference and the official code's
weight_init), the TSM init's equivalence to TemporalShift, grouped vs naive reference, dilations,
params, errors."""

import pytest
import torch
import torch.nn.functional as F

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


def test_default_kernels_identity_init_is_identity_and_the_other_inits_are_not():
    x = torch.randn(16, 32, 2, 2)
    assert torch.equal(MixTConv(32, 8, init="identity")(x), x)
    for init in ("official", "tsm"):  # kernels 3/5/7 groups read other frames
        assert not torch.equal(MixTConv(32, 8, init=init)(x), x)


def _official_reference(x5, kernels, dilations=None, fold_div=8):
    """Hand-written MsGroupConv1d.weight_init applied to x5 (B, C, T, H, W), explicit loops per
    group, channel and frame: k = 1 copies; channels [0, fold) sum frames t - d .. t - mid d,
    [fold, 2 fold) frames t + d .. t + mid d, the rest copy frame t (zero outside the clip)."""
    b, c, t, h, w = x5.shape
    g = len(kernels)
    dilations = dilations or (1,) * g
    sizes = [c // g] * g
    sizes[0] += c - (c // g) * g  # the remainder goes to the first group
    out = torch.zeros_like(x5)
    start = 0
    for cm, k, d in zip(sizes, kernels, dilations):
        fold, mid = cm // fold_div, (k - 1) // 2
        for i in range(cm):
            ch = start + i
            for ti in range(t):
                if k == 1 or i >= 2 * fold:
                    out[:, ch, ti] = x5[:, ch, ti]
                    continue
                sign = -1 if i < fold else 1  # first fold: the past; second fold: the future
                for s in range(1, mid + 1):
                    src = ti + sign * s * d
                    if 0 <= src < t:
                        out[:, ch, ti] += x5[:, ch, src]
        start += cm
    return out


@pytest.mark.parametrize("c,t,kernels,dilations", [
    (64, 8, (1, 3, 5, 7), None), (128, 8, (1, 3, 5, 7), None), (70, 6, (1, 3, 5, 7), None),  # 70: remainder
    (32, 8, (3,), None), (16, 4, (5,), None), (48, 8, (7,), None), (32, 8, (1, 3), None),
    (48, 8, (1, 3, 5), None), (48, 8, (3, 3, 3), (1, 2, 3)), (16, 9, (9,), None), (8, 8, (1, 3, 5, 7), None)])
def test_official_init_equals_a_hand_written_per_group_reference(c, t, kernels, dilations):
    x5 = torch.randint(-8, 9, (2, c, t, 2, 3)).float()  # small integers: every sum is exact, so torch.equal
    m = MixTConv(c, t, kernels=kernels, dilations=dilations)  # default init: "official"
    assert m.init == "official"
    ref = _official_reference(x5, kernels, dilations)
    assert torch.equal(m(_tsn(x5)), _tsn(ref))
    assert torch.equal(m.forward_video(x5), ref)
    assert torch.equal(m.forward_conv(x5), ref)


def test_official_init_is_the_official_weight_init_tensor_for_tensor():
    """MsGroupConv1d.weight_init (VDIGPKU/MixTConv, ops/operations.py) at C = 64, n_div = 8, written out."""
    planes = 64 // 4
    fold = planes // 8
    weight1 = torch.zeros(planes, 1, 1, 1, 1)
    weight1[:, 0, 0] = 1.0
    weight3 = torch.zeros(planes, 1, 3, 1, 1)
    weight3[:fold, 0, 0] = 1.0
    weight3[fold: fold * 2, 0, 2] = 1.0
    weight3[fold * 2:, 0, 1] = 1.0
    weight5 = torch.zeros(planes, 1, 5, 1, 1)
    weight5[:fold, 0, :2] = 1.0
    weight5[fold: fold * 2, 0, 3:] = 1.0
    weight5[fold * 2:, 0, 2] = 1.0
    weight7 = torch.zeros(planes, 1, 7, 1, 1)
    weight7[:fold, 0, :3] = 1.0
    weight7[fold: fold * 2, 0, 4:] = 1.0
    weight7[fold * 2:, 0, 3] = 1.0
    ours = MixTConv(64, 8).weights()
    for w, ref in zip(ours, (weight1, weight3, weight5, weight7)):
        assert torch.equal(w.detach(), ref)
    # and the "tsm" init is not it (it would fail the assertions above): single taps, other direction
    tsm = MixTConv(64, 8, init="tsm").weights()
    assert not torch.equal(tsm[1].detach(), weight3) and not torch.equal(tsm[2].detach(), weight5)


def test_official_kernel_3_reads_the_past_in_its_first_fold_as_conv3d_cross_correlation():
    """The official conv3d (padding 1) with taps [1, 0, 0] is a cross-correlation: output t reads t - 1."""
    t = 6
    frames = torch.arange(1, t + 1.0).view(1, 1, t, 1, 1)  # frame t holds t + 1
    assert F.conv3d(frames, torch.tensor([1.0, 0, 0]).view(1, 1, 3, 1, 1), padding=(1, 0, 0)).flatten().tolist() == \
        [0, 1, 2, 3, 4, 5]
    x5 = frames.expand(1, 32, t, 1, 1).contiguous()
    y = MixTConv(32, t, kernels=(1, 3, 5, 7)).forward_video(x5)[0, :, :, 0, 0]  # (C, T); groups of 8, fold 1
    assert y[8].tolist() == [0, 1, 2, 3, 4, 5]  # k = 3, channel 0: t - 1
    assert y[9].tolist() == [2, 3, 4, 5, 6, 0]  # k = 3, channel 1: t + 1
    assert y[16].tolist() == [0, 1, 3, 5, 7, 9]  # k = 5, channel 0: (t - 2) + (t - 1)
    assert y[25].tolist() == [9, 12, 15, 11, 6, 0]  # k = 7, channel 1: (t + 1) + (t + 2) + (t + 3)
    assert torch.equal(y[0], frames.flatten()) and torch.equal(y[10], frames.flatten())


@pytest.mark.parametrize("c,t", [(16, 8), (64, 8), (20, 5)])
def test_official_kernel_3_is_temporal_shift_mirrored_in_time_not_temporal_shift(c, t):
    x5 = torch.randn(2, c, t, 3, 4)
    y = MixTConv(c, t, kernels=(3,))(_tsn(x5))  # official init
    assert torch.equal(y, _tsn(temporal_shift(x5.flip(2), fold_div=8).flip(2)))
    assert not torch.equal(y, TemporalShift(c, t)(_tsn(x5)))


def test_channels_read_from_other_frames_3_16_by_default_not_tsm_1_4():
    def moved(m):
        return sum(int((w[:, 0, :, 0, 0] != F.one_hot(torch.tensor(k // 2), k)).any(dim=1).sum())
                   for w, k in zip(m.weights(), m.kernels))
    for init in ("official", "tsm"):
        assert moved(MixTConv(64, 8, init=init)) == 12  # 3 groups x 2 x (16 // 8): 3/16 of 64
        assert moved(MixTConv(64, 8, kernels=(3,), init=init)) == 16  # 1/4, TSM's share
    assert moved(MixTConv(16, 8)) == 0  # 4 channels per group: fold 0, the identity


@pytest.mark.parametrize("kernels,dilations", [((1, 3, 5, 7), None), ((3, 5), (2, 1)), ((3,), (3,)), ((1, 3, 5), (1, 2, 3)), ((13,), None)])
@pytest.mark.parametrize("init", ["random", "tsm", "official"])
def test_grouped_equals_naive_reference(kernels, dilations, init):
    c, t = 10, 6
    m = MixTConv(c, t, kernels=kernels, dilations=dilations, init=init)
    if init != "random":
        with torch.no_grad():
            for w in m.weights():
                w.add_(0.1 * torch.randn_like(w))
    x5 = torch.randn(2, c, t, 2, 3)
    torch.testing.assert_close(m(_tsn(x5)), _tsn(_naive(m, x5)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(m.forward_video(x5), _naive(m, x5), rtol=1e-5, atol=1e-6)


def test_dilation_tsm_init_reads_frames_t_plus_minus_d():
    c, t, d = 16, 7, 2
    x5 = torch.arange(1, t + 1.0).view(1, 1, t, 1, 1).expand(1, c, t, 1, 1).contiguous()  # frame t holds t+1
    y = MixTConv(c, t, kernels=(3,), dilations=(d,), init="tsm")(_tsn(x5))  # (T, C, 1, 1)
    y = y[:, :, 0, 0].T  # (C, T)
    assert y[0].tolist() == [3, 4, 5, 6, 7, 0, 0]  # t + 2
    assert y[2].tolist() == [0, 0, 1, 2, 3, 4, 5]  # t - 2
    assert y[5].tolist() == list(range(1, t + 1))
    y = MixTConv(c, t, kernels=(3,), dilations=(d,))(_tsn(x5))[:, :, 0, 0].T  # official: mirrored
    assert y[0].tolist() == [0, 0, 1, 2, 3, 4, 5] and y[2].tolist() == [3, 4, 5, 6, 7, 0, 0]


def test_receptive_field_of_each_group_is_its_kernel():
    c, t = 8, 9
    m = MixTConv(c, t, kernels=(1, 3, 5, 7), init="random")
    x5 = torch.randn(1, c, t, 1, 1, requires_grad=True)
    m.forward_video(x5)[:, :, t // 2].sum().backward()
    support = (x5.grad[0, :, :, 0, 0] != 0).sum(dim=1).tolist()
    assert support == [1, 1, 3, 3, 5, 5, 7, 7]


def test_splits_params_and_tsm_init_fractions():
    assert mixtconv_split(10, 4) == [4, 2, 2, 2]
    m = MixTConv(64, 8, init="tsm")
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
