"""MSTI tube and MSTI-Net: stepped receptive fields, CAW (eq. 4-8), variants, complexity, errors."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actionrec.complexity import count_macs, count_params
from actionrec.layers.msti import VARIANTS, CAWBlock, MSTITube, MultiScaleConv, P3DBBlock, SteppedConv
from actionrec.models import MODELS, build_model
from actionrec.models.msti_net import MSTI_NET_VARIANTS, MSTINet, msti_net50, msti_net_small


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _positive_(module):
    """Positive conv weights, eval mode: every pre-activation of a positive input stays > 0 (no cancellation, relu' = 1)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv3d):
                m.weight.copy_(m.weight.abs() + 0.01)
    return module.eval()


def _support(grad: torch.Tensor) -> torch.Tensor:
    return grad.abs().sum(dim=(0, 1)) > 0  # (T, H, W) positions the output depends on


@pytest.mark.parametrize("i", [1, 2, 3, 4])
def test_spatial_group_receptive_field_is_2i_minus_1_square(i):
    conv = _positive_(SteppedConv(8, kernel_size=(1, 3, 3), groups=4))
    x = (torch.rand(1, 8, 3, 15, 15) + 0.1).requires_grad_(True)
    conv(x)[i - 1][:, :, 1, 7, 7].sum().backward()
    sup = _support(x.grad)
    r = i - 1
    expect = torch.zeros(3, 15, 15, dtype=torch.bool)
    expect[1, 7 - r:8 + r, 7 - r:8 + r] = True
    assert torch.equal(sup, expect), f"group {i}: support {sup.sum().item()} positions, expected {(2 * i - 1) ** 2}"


@pytest.mark.parametrize("i", [1, 2, 3, 4])
def test_temporal_group_receptive_field_is_2i_minus_1_frames(i):
    conv = _positive_(SteppedConv(8, kernel_size=(3, 1, 1), groups=4))
    x = (torch.rand(1, 8, 15, 3, 3) + 0.1).requires_grad_(True)
    conv(x)[i - 1][:, :, 7, 1, 1].sum().backward()
    sup = _support(x.grad)
    r = i - 1
    expect = torch.zeros(15, 3, 3, dtype=torch.bool)
    expect[7 - r:8 + r, 1, 1] = True
    assert torch.equal(sup, expect)


def test_group_i_sees_only_groups_up_to_i():
    conv = _positive_(SteppedConv(8, kernel_size=(1, 3, 3), groups=4))
    x = (torch.rand(1, 8, 1, 9, 9) + 0.1).requires_grad_(True)
    conv(x)[1].sum().backward()  # S_2 = K_2(X_2 + K_1(X_1)): channels 0..3 only
    per_channel = x.grad.abs().sum(dim=(0, 2, 3, 4))
    assert (per_channel[:4] > 0).all() and (per_channel[4:] == 0).all()


def _caw_reference(caw: CAWBlock, own, other):
    """Eq. 4-7 literally: full-resolution 1x1x1 convs, then GAP, fc, sigmoid, re-scale."""
    outs, prev = [], None
    for i in range(caw.groups):
        u = caw.w_self[i](own[i]) + caw.w_cross[i](other[i])  # (B, C~, T, H, W)
        if i > 0:
            u = u + caw.w_prev[i - 1](prev)
        a = torch.sigmoid(caw.fc[i](u.mean(dim=(2, 3, 4))))
        prev = own[i] * a[:, :, None, None, None]
        outs.append(prev)
    return outs


def test_caw_pooled_equals_full_resolution_convs_and_weights_in_unit_interval():
    caw = CAWBlock(16, groups=4)
    own = [torch.randn(2, 4, 3, 5, 5) for _ in range(4)]
    other = [torch.randn(2, 4, 3, 5, 5) for _ in range(4)]
    outs, weights = caw(own, other)
    for o, r in zip(outs, _caw_reference(caw, own, other)):
        torch.testing.assert_close(o, r, rtol=1e-5, atol=1e-6)
    for a in weights:
        assert a.shape == (2, 4) and (a > 0).all() and (a < 1).all()
    assert len(caw.w_prev) == 3 and len(caw.w_self) == len(caw.w_cross) == len(caw.fc) == 4  # group 1: two convs


def test_msti_output_depends_on_caw_fc_but_ms_st_has_no_caw():
    torch.manual_seed(1)
    tube = MSTITube(16, 8, variant="msti").eval()
    x = torch.randn(2, 16, 4, 6, 6)
    y0 = tube(x)
    w = tube.middle.last_weights
    assert len(w["s"]) == len(w["t"]) == 4 and all(((a > 0) & (a < 1)).all() for a in w["s"] + w["t"])
    with torch.no_grad():
        tube.middle.caw_s.fc[2].weight.add_(1.0)
    assert not torch.allclose(tube(x), y0)
    plain = MSTITube(16, 8, variant="ms_st")
    assert plain.middle.caw_s is None and plain.middle.caw_t is None
    assert not any("caw" in n for n, _ in plain.named_parameters())


def test_ms_st_is_sum_of_branch_concats():
    mid = MultiScaleConv(8, variant="ms_st").eval()
    x = torch.randn(1, 8, 4, 6, 6)
    expect = torch.cat(mid.spatial(x), 1) + torch.cat(mid.temporal(x), 1)
    torch.testing.assert_close(mid(x), expect)
    assert MultiScaleConv(8, variant="ms_s").temporal is None and MultiScaleConv(8, variant="ms_t").spatial is None


def test_middle_param_count_matches_eq3_and_caw():
    p, n = 32, 4
    cg = p // n
    bn = 2 * p  # one bn per group conv, weight + bias
    spatial = (1 + 9 * (n - 1)) * cg * cg + bn  # K_1 1x1x1, K_2..K_N 1x3x3 (eq. 3: 1/N of a dense conv each)
    temporal = (1 + 3 * (n - 1)) * cg * cg + bn
    caw = ((n - 1) + n + n + n) * cg * cg  # W*, W_self, W_cross (1x1x1) + fc, per group
    assert count_params(MultiScaleConv(p, variant="ms_s")) == spatial
    assert count_params(MultiScaleConv(p, variant="ms_t")) == temporal
    assert count_params(MultiScaleConv(p, variant="ms_st")) == spatial + temporal
    assert count_params(MultiScaleConv(p, variant="msti")) == spatial + temporal + 2 * caw


@pytest.mark.parametrize("variant", MSTI_NET_VARIANTS)
def test_every_variant_forward_backward_16x32x32(variant):
    net = build_model("msti_net_small", num_classes=5, variant=variant)
    x = torch.randn(2, 3, 16, 32, 32)
    feats = net.forward_features(x)
    assert feats.shape == (2, 512, 8, 1, 1)
    y = net.forward_head(feats)
    assert y.shape == (2, 5)
    y.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.forward_head(feats, pre_logits=True).shape == (2, 512)


@pytest.mark.parametrize("block", [lambda: MSTITube(16, 8, stride=(2, 1, 1)), lambda: P3DBBlock(16, 8, stride=(1, 2, 2))])
def test_units_share_the_bottleneck_interface(block):
    unit = block()
    y = unit(torch.randn(1, 16, 5, 7, 7))
    st, ss = unit.stride[0], unit.stride[1]
    assert y.shape == (1, 32, -(-5 // st), -(-7 // ss), -(-7 // ss))


def test_table1_shapes_at_width_1_on_meta():
    with torch.device("meta"):
        net = msti_net50(num_classes=400)
        x = torch.empty(1, 3, 16, 224, 224)
        x = net.stem(x)
        assert x.shape == (1, 64, 16, 56, 56)
        for i, shape in enumerate([(256, 8, 56, 56), (512, 8, 28, 28), (1024, 8, 14, 14), (2048, 8, 7, 7)]):
            x = getattr(net, f"layer{i + 1}")(x)
            assert x.shape == (1, *shape)
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]


def test_msti_net50_params_and_gmacs_vs_paper():
    with torch.device("meta"):
        nets = {v: msti_net50(num_classes=400, variant=v) for v in ("msti", "ms_st", "p3d_b")}
    params = {v: count_params(n) for v, n in nets.items()}
    gmacs = count_macs(nets["msti"], (3, 16, 224, 224)) / 1e9
    print(f"MSTI-Net-50: {params['msti'] / 1e6:.2f}M params (paper 16.4M), {gmacs:.1f} GMACs = "
          f"{2 * gmacs:.1f} GFLOPs at 16x224x224 (paper 46.3 G); MS(ST) {params['ms_st'] / 1e6:.2f}M, "
          f"P3D-B {params['p3d_b'] / 1e6:.2f}M")
    # Bound: the ResNet-50 skeleton (1x1x1 convs, shortcuts, fc-400, (3,7,7) stem) is ~13.0M; the MS
    # block holds 1.75 P^2 + 0.625 P^2 and the CAW 1.375 P^2 + 0.5 P^2 weights per unit where
    # ResNet-50 has 9 P^2, i.e. ~5.3M; the paper gives 16.4M: within 15 % of it.
    assert abs(params["msti"] / 16.4e6 - 1) < 0.15
    assert params["ms_st"] < params["msti"] < params["p3d_b"]
    assert 15 < gmacs < 50  # reported, not matched: the paper does not say whether FLOPs means MACs


def test_registered_and_bad_args_name_the_parameter():
    assert MODELS["msti_net50"] is msti_net50 and MODELS["msti_net_small"] is msti_net_small
    assert set(VARIANTS) | {"p3d_b"} == set(MSTI_NET_VARIANTS)
    with pytest.raises(TypeError):
        msti_net50(400)  # keyword-only
    cases = [
        (lambda: msti_net_small(variant="msx"), "variant"),
        (lambda: msti_net_small(width=0), "width"),
        (lambda: msti_net_small(depths=(1, 1, 1)), "depths"),
        (lambda: msti_net_small(num_classes=0), "num_classes"),
        (lambda: msti_net_small(dropout=1.0), "dropout"),
        (lambda: msti_net_small(in_channels=0), "in_channels"),
        (lambda: MSTITube(16, 6), "planes"),
        (lambda: MSTITube(16, 8, stride=(1, 2)), "stride"),
        (lambda: MultiScaleConv(8, variant="p3d_b"), "variant"),
        (lambda: SteppedConv(8, kernel_size=(2, 1, 1)), "kernel_size"),
        (lambda: CAWBlock(10, groups=4), "channels"),
    ]
    for make, name in cases:
        with pytest.raises(ValueError, match=name):
            make()
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        msti_net_small()(torch.randn(3, 16, 32, 32))


@pytest.mark.parametrize("variant", ["msti", "ms_st", "ms_s", "ms_t", "p3d_b"])
def test_every_variant_sees_every_input_pixel(variant):
    """Strided stages pool before their 1x1x1 convs (ResNet-D): no unit, not even MS(T) without a
    spatial conv, may drop input positions (a strided 1x1x1 conv left MS(T) a 6x6 corner of 32x32)."""
    from actionrec.models import build_model

    torch.manual_seed(0)
    net = build_model("msti_net_small", num_classes=4, variant=variant).eval()
    x = torch.randn(1, 3, 16, 32, 32, requires_grad=True)
    net(x).sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))  # (1, 3, T, H, W) -> (T, H, W)
    assert (g.sum(dim=0) > 0).all(), f"{variant}: {(g.sum(dim=0) == 0).sum().item()} of 1024 pixels never reach the logits"
    assert (g.sum(dim=(1, 2)) > 0).all()
