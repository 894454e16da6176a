"""MTConv (MTNet eq. 1-2): channel/group split rules, r = 1 equivalence, eq. 2 reference, sub-streams."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actionrec.layers.mtconv import MTConv, conv1x1x1, split_channels, split_groups
from actionrec.layers.softpool import soft_pool3d_unfold


def _pair(cin, r, shape=(6, 8, 8), batch=2, seed=0):
    torch.manual_seed(seed)
    c_s, c_l = split_channels(cin, r)
    x_s = torch.randn(batch, c_s, *shape)
    x_l = torch.randn(batch, c_l, *[(s + 1) // 2 for s in shape]) if c_l else None
    return x_s, x_l


def _randomise_bn(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.weight.data = torch.rand(m.num_features, generator=g) + 0.5
            m.bias.data = torch.randn(m.num_features, generator=g)
            m.running_mean = torch.randn(m.num_features, generator=g)
            m.running_var = torch.rand(m.num_features, generator=g) + 0.5


# -- eq. 1: channel split; sub-stream split ---------------------------------------------------------
@pytest.mark.parametrize(
    "c,r,expected",
    [(64, 0.875, (56, 8)), (64, 0.75, (48, 16)), (64, 0.5, (32, 32)), (16, 0.875, (14, 2)), (10, 0.7, (7, 3)),
     (7, 0.875, (6, 1)), (3, 0.5, (1, 2)), (64, 1.0, (64, 0))],
)
def test_split_channels(c, r, expected):
    c_s, c_l = split_channels(c, r)
    assert (c_s, c_l) == expected
    assert c_s + c_l == c  # no channel lost
    assert c_s == math.floor(r * c + 1e-9)


@pytest.mark.parametrize(
    "g,r,expected",
    [(8, 0.875, (7, 1)), (8, 0.75, (6, 2)), (8, 0.625, (5, 3)), (8, 0.5, (4, 4)), (8, 1.0, (8, 0)),
     (1, 0.875, (1, 1)), (2, 0.875, (1, 1)), (16, 0.875, (14, 2))],
)
def test_split_groups_table2(g, r, expected):
    assert split_groups(g, r) == expected  # Table 2: 7x1, 6x2, 5x3, 4x4 for g = 8


@pytest.mark.parametrize("r", [0.49, 0.0, 1.01, 2.0])
def test_invalid_ratio_raises_naming_r(r):
    with pytest.raises(ValueError, match=r"r=.*0\.5 <= r <= 1"):
        MTConv(16, 16, r=r)
    with pytest.raises(ValueError, match="r="):
        split_channels(16, r)


def test_indivisible_substreams_raise_naming_r_g_channels():
    with pytest.raises(ValueError, match=r"r=0\.875, g=8.*channels"):
        MTConv(20, 20, r=0.875, groups=8)  # C_s = 17 not divisible by 7 sub-streams


# -- r = 1: exactly conv3d -> bn -> relu -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("kernel,stride", [((3, 3, 3), 1), ((1, 3, 3), 1), ((3, 3, 3), 2), ((1, 1, 1), 1)])
def test_r1_is_plain_conv_bn_relu(mode, kernel, stride):
    torch.manual_seed(0)
    mt = MTConv(8, 12, kernel_size=kernel, stride=stride, r=1.0)
    pad = tuple(k // 2 for k in kernel)
    ref = nn.Sequential(nn.Conv3d(8, 12, kernel, stride, pad, bias=False), nn.BatchNorm3d(12), nn.ReLU())
    _randomise_bn(mt)
    ref[0].weight.data.copy_(mt.conv_s.weight.data)
    ref[1].load_state_dict(mt.bn_s.state_dict())
    mt.train(mode == "train")
    ref.train(mode == "train")
    x = torch.randn(2, 8, 5, 7, 7)
    y_s, y_l = mt((x, None))
    assert y_l is None
    assert not any(n.startswith(("conv_l", "bn_l", "conv_s2l")) for n, _ in mt.named_modules())
    torch.testing.assert_close(y_s, ref(x), rtol=0, atol=0)
    if mode == "train":  # running statistics updated identically
        torch.testing.assert_close(mt.bn_s.running_mean, ref[1].running_mean)


# -- eq. 2 against a reference written with plain F ops -----------------------------------------------
def _eq2_reference(mt: MTConv, x_s, x_l):
    def bn(m, t):
        return F.batch_norm(t, m.running_mean.clone(), m.running_var.clone(), m.weight, m.bias, True, 0.0, m.eps)

    s = mt.stride
    pad = tuple(k // 2 for k in mt.kernel_size)
    k2 = tuple(min(2 * ss, L) for ss, L in zip(s, x_s.shape[2:]))  # one window when the dim is shorter
    if mt.lateral_pool == "avg":
        pooled = F.avg_pool3d(x_s, k2, k2, ceil_mode=True)
    else:
        out = [math.ceil(L / kk) for L, kk in zip(x_s.shape[2:], k2)]
        pooled = soft_pool3d_unfold(x_s, k2, k2, out)  # the independent (unfold + softmax) path
    y_s = F.relu(bn(mt.bn_s, F.conv3d(x_s, mt.conv_s.weight, None, s, pad, 1, mt.g_s)))
    y_l = bn(mt.bn_l, F.conv3d(x_l, mt.conv_l.weight, None, s, pad, 1, mt.g_l))
    y_l = y_l + bn(mt.bn_s2l, F.conv3d(pooled, mt.conv_s2l.weight, None, 1, 0, 1, mt.g_lat))
    return y_s, F.relu(y_l)


@pytest.mark.parametrize("pool", ["avg", "soft"])
@pytest.mark.parametrize(
    "shape,stride,kernel",
    [((6, 8, 8), 1, (3, 3, 3)), ((6, 8, 8), 2, (3, 3, 3)), ((5, 7, 3), 1, (1, 3, 3)), ((5, 7, 3), 2, (3, 3, 3)),
     ((1, 1, 1), 1, (3, 3, 3)), ((2, 1, 1), 2, (1, 1, 1))],
)
def test_eq2_matches_reference(pool, shape, stride, kernel):
    mt = MTConv(16, 24, kernel_size=kernel, stride=stride, r=0.875, lateral_pool=pool)
    _randomise_bn(mt)
    x_s, x_l = _pair(16, 0.875, shape)
    y_s, y_l = mt((x_s, x_l))
    r_s, r_l = _eq2_reference(mt, x_s, x_l)
    torch.testing.assert_close(y_s, r_s)
    torch.testing.assert_close(y_l, r_l, atol=1e-5, rtol=1e-5)
    # long stream at half the short stream's size (ceil), also after a stride
    assert y_l.shape[2:] == tuple((L + 1) // 2 for L in y_s.shape[2:])
    assert y_s.shape[1] + y_l.shape[1] == 24


def test_channels_last_matches_channels_first():
    mt = MTConv(16, 16, r=0.875)
    _randomise_bn(mt)
    x_s, x_l = _pair(16, 0.875, (6, 8, 8))
    ref = mt((x_s, x_l))
    cl = torch.channels_last_3d
    mt_cl = mt.to(memory_format=cl)
    out = mt_cl((x_s.contiguous(memory_format=cl), x_l.contiguous(memory_format=cl)))
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert out[0].is_contiguous(memory_format=cl)


def test_act_false_has_no_relu():
    mt = MTConv(16, 16, r=0.875, act=False)
    y_s, y_l = mt(_pair(16, 0.875))
    assert (y_s < 0).any() and (y_l < 0).any()


def test_missing_long_stream_raises():
    with pytest.raises(ValueError, match="x_l"):
        MTConv(16, 16, r=0.875)((torch.randn(1, 14, 4, 4, 4), None))


# -- sub-streams (Fig. 3c/d) ------------------------------------------------------------------------
def _mtconv_params(cin, cout, k, r, g):
    """Exact parameter count of one MTConv (bias-free convs + 2 params per BN channel)."""
    (cs_i, cl_i), (cs_o, cl_o) = split_channels(cin, r), split_channels(cout, r)
    g_s, g_l = split_groups(g, r)
    vol = k[0] * k[1] * k[2]
    n = vol * cs_i * cs_o // g_s + 2 * cs_o
    if cl_o:
        g_lat = math.gcd(g_l, math.gcd(cs_i, cl_o))
        n += vol * cl_i * cl_o // g_l + 2 * cl_o + cs_i * cl_o // g_lat + 2 * cl_o
    return n


@pytest.mark.parametrize("r,g", [(0.875, 1), (0.875, 8), (0.75, 8), (0.5, 8), (0.625, 8), (1.0, 8), (1.0, 1)])
def test_param_count_formula(r, g):
    mt = MTConv(64, 128, kernel_size=(3, 3, 3), r=r, groups=g)
    assert sum(p.numel() for p in mt.parameters()) == _mtconv_params(64, 128, (3, 3, 3), r, g)


def test_substreams_use_grouped_convs_and_cut_parameters():
    g1 = MTConv(64, 64, r=0.875, groups=1)
    g8 = MTConv(64, 64, r=0.875, groups=8)
    assert (g8.conv_s.groups, g8.conv_l.groups, g8.conv_s2l.groups) == (7, 1, 1)
    assert (g1.conv_s.groups, g1.conv_l.groups) == (1, 1)
    n1 = sum(p.numel() for p in g1.parameters())
    n8 = sum(p.numel() for p in g8.parameters())
    # short 3x3x3 conv 56->56: 27*56*56 -> 27*56*56/7; long conv and lateral unchanged (1 group)
    assert n1 - n8 == 27 * 56 * 56 - 27 * 56 * 56 // 7
    # r = 0.5, g = 8: both streams grouped (4 x 4), lateral grouped like the long stream
    g8h = MTConv(64, 64, r=0.5, groups=8)
    assert (g8h.conv_s.groups, g8h.conv_l.groups, g8h.conv_s2l.groups) == (4, 4, 4)
    y_s, y_l = g8h(_pair(64, 0.5, (4, 4, 4)))
    assert y_s.shape == (2, 32, 4, 4, 4) and y_l.shape == (2, 32, 2, 2, 2)


def test_lateral_group_fallback_for_5x3():
    mt = MTConv(64, 64, r=0.625, groups=8)  # C_s = 40 not divisible by the long stream's 3 groups
    assert (mt.conv_s.groups, mt.conv_l.groups, mt.conv_s2l.groups) == (5, 3, 1)
    y_s, y_l = mt(_pair(64, 0.625, (4, 4, 4)))
    assert y_l.shape == (2, 24, 2, 2, 2)


def test_conv1x1x1_matmul_path_equals_conv():
    conv = nn.Conv3d(14, 2, 1, bias=False)
    x = torch.randn(2, 14, 4, 6, 6).contiguous(memory_format=torch.channels_last_3d).requires_grad_()
    y = conv1x1x1(conv, x)  # matmul path
    (gx, gw) = torch.autograd.grad(y.sum(), (x, conv.weight))
    xr = x.detach().contiguous().requires_grad_()
    yr = conv(xr)
    (gxr, gwr) = torch.autograd.grad(yr.sum(), (xr, conv.weight))
    torch.testing.assert_close(y, yr)
    torch.testing.assert_close(gx, gxr)
    torch.testing.assert_close(gw, gwr)
    assert y.is_contiguous(memory_format=torch.channels_last_3d)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_avg_lateral_conv_then_pool_equals_eq2_order(stride, channels_last):
    """The avg lateral runs pool(conv_s2l(x)); it must equal eq. 2's conv_s2l(avg_pool(x)) in
    values and in the gradients of x and of the lateral weight (linear maps commute)."""
    torch.manual_seed(0)
    m = MTConv(16, 16, kernel_size=(3, 3, 3), stride=stride, r=0.875, lateral_pool="avg")
    x = torch.randn(2, 14, 5, 7, 6)  # odd sizes: partial ceil-mode windows
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    k = m.lateral_kernel
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    fast = m.lateral(x1)
    w = m.conv_s2l.weight
    ref = F.conv3d(F.avg_pool3d(x2, k, k, ceil_mode=True), w)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    gy = torch.randn_like(ref)
    g_fast = torch.autograd.grad(fast, (x1, w), gy)
    g_ref = torch.autograd.grad(ref, (x2, w), gy)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
