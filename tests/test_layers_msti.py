"""MSTI tube (actionrec.layers.msti): stepped receptive fields, CAW (eq. 4-8), variants, parameter counts, errors."""

import pytest
import torch
import torch.nn as nn

from actionrec.analysis.complexity import count_params
from actionrec.layers.msti import CAWBlock, MSTITube, MultiScaleConv, P3DBBlock, SteppedConv


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


@pytest.mark.parametrize("block", [lambda: MSTITube(16, 8, stride=(2, 1, 1)), lambda: P3DBBlock(16, 8, stride=(1, 2, 2))])
def test_units_share_the_bottleneck_interface(block):
    unit = block()
    y = unit(torch.randn(1, 16, 5, 7, 7))
    st, ss = unit.stride[0], unit.stride[1]
    assert y.shape == (1, 32, -(-5 // st), -(-7 // ss), -(-7 // ss))


def test_bad_args_name_the_parameter():
    cases = [
        (lambda: MSTITube(16, 6), "planes"),
        (lambda: MSTITube(16, 8, stride=(1, 2)), "stride"),
        (lambda: MultiScaleConv(8, variant="p3d_b"), "variant"),
        (lambda: SteppedConv(8, kernel_size=(2, 1, 1)), "kernel_size"),
        (lambda: CAWBlock(10, groups=4), "channels"),
    ]
    for make, name in cases:
        with pytest.raises(ValueError, match=name):
            make()
