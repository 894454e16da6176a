"""MSTI tube (actionrec.layers.msti): stepped receptive fields, CAW (eq. 4-8), the Table 2 variants
(convolutions by module walk, receptive fields, parameter counts), errors."""

from collections import Counter

import pytest
import torch
import torch.nn as nn

from actionrec.analysis.complexity import count_params
from actionrec.layers.msti import BRANCHES, VARIANTS, CAWBlock, MSTITube, MultiScaleConv, P3DBBlock, SteppedConv


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


def test_ms_st_is_sum_of_branch_concats_and_plain_branches_add_their_tensor():
    mid = MultiScaleConv(8, variant="ms_st").eval()
    x = torch.randn(1, 8, 4, 6, 6)
    expect = torch.cat(mid.spatial(x), 1) + torch.cat(mid.temporal(x), 1)
    torch.testing.assert_close(mid(x), expect)
    ms_s = MultiScaleConv(8, variant="ms_s").eval()  # stepped spatial + P3D-B's plain temporal conv
    assert isinstance(ms_s.spatial, SteppedConv) and isinstance(ms_s.temporal, nn.Sequential)
    torch.testing.assert_close(ms_s(x), torch.cat(ms_s.spatial(x), 1) + ms_s.temporal(x))
    ms_t = MultiScaleConv(8, variant="ms_t").eval()
    assert isinstance(ms_t.spatial, nn.Sequential) and isinstance(ms_t.temporal, SteppedConv)
    assert MultiScaleConv(8, variant="ms_s_only").temporal is None and MultiScaleConv(8, variant="ms_t_only").spatial is None


def _unit(variant, c_in=16, planes=8, **kw):
    return P3DBBlock(c_in, planes, **kw) if variant == "p3d_b" else MSTITube(c_in, planes, variant=variant, **kw)


#: Weight shapes of every Conv3d / Linear in a unit's middle (P = 8, N = 4, C~ = 2), per variant's definition.
_STEPPED_S = [(2, 2, 1, 1, 1)] + 3 * [(2, 2, 1, 3, 3)]  # eq. 1: K_1 (1,1,1), K_2..K_4 (1,3,3) on C~ channels
_STEPPED_T = [(2, 2, 1, 1, 1)] + 3 * [(2, 2, 3, 1, 1)]  # eq. 2
_PLAIN_S, _PLAIN_T = [(8, 8, 1, 3, 3)], [(8, 8, 3, 1, 1)]  # P3D-B's convs on all P channels
_CAW = 11 * [(2, 2, 1, 1, 1)] + 4 * [(2, 2)]  # eq. 4: W* (groups 2..4), W_self, W_cross; eq. 6: fc
_MIDDLE = {
    "p3d_b": _PLAIN_S + _PLAIN_T,
    "ms_t": _PLAIN_S + _STEPPED_T,
    "ms_s": _STEPPED_S + _PLAIN_T,
    "ms_st": _STEPPED_S + _STEPPED_T,
    "msti": _STEPPED_S + _STEPPED_T + 2 * _CAW,
    "ms_s_only": _STEPPED_S,
    "ms_t_only": _STEPPED_T,
}


@pytest.mark.parametrize("variant", list(_MIDDLE))
def test_each_variant_holds_exactly_the_convolutions_it_names(variant):
    """Module walk: MS(T) / MS(S) are P3D-B with one branch stepped (the single-branch reading
    would miss P3D-B's other conv), MS(ST) both stepped, MSTI adds the CAW maps; the unit around
    the middle is the same 1x1x1 reduce, restore and projection for all."""
    unit = _unit(variant, stride=(1, 2, 2))
    shapes = lambda m: Counter(tuple(x.weight.shape) for x in m.modules() if isinstance(x, (nn.Conv3d, nn.Linear)))  # noqa: E731
    assert shapes(unit.middle) == Counter(_MIDDLE[variant])
    assert shapes(unit) - shapes(unit.middle) == Counter([(8, 16, 1, 1, 1), (32, 8, 1, 1, 1), (32, 16, 1, 1, 1)])
    assert set(_MIDDLE) == set(VARIANTS) | {"p3d_b"}


def _cross(T, S, rt, rs):
    """Support of a centre output: 1 x (2rs+1)^2 in the centre frame ∪ (2rt+1) x 1 x 1 at the centre pixel."""
    c, m = T // 2, S // 2
    sup = torch.zeros(T, S, S, dtype=torch.bool)
    sup[c, m - rs:m + rs + 1, m - rs:m + rs + 1] = True
    sup[c - rt:c + rt + 1, m, m] = True
    return sup


@pytest.mark.parametrize("variant, rt, rs", [("p3d_b", 1, 1), ("ms_t", 3, 1), ("ms_s", 1, 3), ("ms_st", 3, 3),
                                             ("msti", None, None), ("ms_s_only", 0, 3), ("ms_t_only", 3, 0)])
def test_centre_output_sees_the_union_of_its_branches(variant, rt, rs):
    """Exact support of one output position of a stride-1 unit (positive weights, eval mode):
    P3D-B 1x3x3 ∪ 3x1x1; making a branch multi-scale widens that branch to 7 (eq. 1-2); the CAW
    pools make MSTI's global. Every Table 2 row sees neighbouring frames *and* pixels."""
    T = S = 11
    unit = _positive_(_unit(variant, c_in=32, planes=8))
    x = (torch.rand(1, 32, T, S, S) + 0.1).requires_grad_(True)
    unit(x)[:, :, T // 2, S // 2, S // 2].sum().backward()
    sup = _support(x.grad)
    expect = torch.ones(T, S, S, dtype=torch.bool) if rt is None else _cross(T, S, rt, rs)
    assert torch.equal(sup, expect), f"{variant}: {sup.sum().item()} positions, expected {expect.sum().item()}"


@pytest.mark.parametrize("variant", list(_MIDDLE))
@pytest.mark.parametrize("stride", [(1, 1, 1), (2, 2, 2)])
def test_every_variant_sees_every_input_pixel_and_frame(variant, stride):
    unit = _unit(variant).eval()
    x = torch.randn(2, 16, 6, 7, 7, requires_grad=True)
    unit(x).sum().backward()
    assert (_support(x.grad)).all(), f"{variant}: {(~_support(x.grad)).sum().item()} positions never reach the output"


def test_middle_param_count_matches_eq3_and_caw():
    p, n = 32, 4
    cg = p // n
    bn = 2 * p  # one bn per group conv (or one over P), weight + bias
    spatial = (1 + 9 * (n - 1)) * cg * cg + bn  # K_1 1x1x1, K_2..K_N 1x3x3 (eq. 3: 1/N of a dense conv each)
    temporal = (1 + 3 * (n - 1)) * cg * cg + bn
    plain_s, plain_t = 9 * p * p + bn, 3 * p * p + bn  # P3D-B's dense convs
    caw = ((n - 1) + n + n + n) * cg * cg  # W*, W_self, W_cross (1x1x1) + fc, per group
    mid = lambda v: count_params(MultiScaleConv(p, variant=v))  # noqa: E731
    assert mid("ms_s") == spatial + plain_t and mid("ms_t") == plain_s + temporal
    assert mid("ms_st") == spatial + temporal and mid("msti") == spatial + temporal + 2 * caw
    assert mid("ms_s_only") == spatial and mid("ms_t_only") == temporal
    assert count_params(P3DBBlock(4 * p, p).middle) == plain_s + plain_t
    # eq. 3: a stepped branch has 1/N of the weights, so each multi-scale step *removes* parameters
    assert mid("ms_st") < mid("ms_s") < mid("ms_t") < plain_s + plain_t and mid("ms_st") < mid("msti")
    assert set(BRANCHES) == set(VARIANTS)


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
        (lambda: MSTITube(16, 8, variant="ms_x"), "variant"),
        (lambda: SteppedConv(8, kernel_size=(2, 1, 1)), "kernel_size"),
        (lambda: CAWBlock(10, groups=4), "channels"),
    ]
    for make, name in cases:
        with pytest.raises(ValueError, match=name):
            make()
