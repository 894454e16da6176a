"""MSTI-Net (actionrec.models.msti_net): every unit variant trains, Table 1 shapes, every input pixel
reaches the logits, the variant resolution at the config boundary, errors."""

import pytest
import torch

from actionrec.analysis.complexity import count_macs, count_params
from actionrec.layers.msti import VARIANTS, MSTITube, P3DBBlock
from actionrec.models import MODELS, build_model
from actionrec.models.factory import get_msti_unit
from actionrec.models.msti_net import MSTI_NET_VARIANTS, msti_net_50, msti_net_small


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


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


def test_table1_shapes_at_width_1_on_meta():
    with torch.device("meta"):
        net = msti_net_50(num_classes=400)
        x = torch.empty(1, 3, 16, 224, 224)
        x = net.stem(x)
        assert x.shape == (1, 64, 16, 56, 56)
        for i, shape in enumerate([(256, 8, 56, 56), (512, 8, 28, 28), (1024, 8, 14, 14), (2048, 8, 7, 7)]):
            x = getattr(net, f"layer{i + 1}")(x)
            assert x.shape == (1, *shape)
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]


def test_variant_params_ordered_by_eq3_at_chapter_and_full_size():
    """The full-size MSTI-Net-50 count is in tests/test_models.py. A stepped branch has 1/N of a
    dense conv's weights (eq. 3), so each step of Table 2 away from P3D-B *removes* parameters:
    MS(ST) < MS(S) < MS(T) < P3D-B, and CAW adds some back (MS(ST) < MSTI). With the single-branch
    reading MS(S) / MS(T) would be smaller than MS(ST)."""
    small = {v: count_params(msti_net_small(num_classes=16, variant=v)) for v in MSTI_NET_VARIANTS}
    with torch.device("meta"):
        nets = {v: msti_net_50(num_classes=400, variant=v) for v in MSTI_NET_VARIANTS}
    full = {v: count_params(n) for v, n in nets.items()}
    for params in (small, full):
        assert params["ms_st"] < params["ms_s"] < params["ms_t"] < params["p3d_b"]
        assert params["ms_st"] < params["msti"] < params["p3d_b"]
        assert params["ms_s_only"] < params["ms_st"] and params["ms_t_only"] < params["ms_st"]
    assert small["p3d_b"] == 585_056 and small["msti"] == 416_416  # the chapter's size (16 classes)
    gmacs = count_macs(nets["msti"], (3, 16, 224, 224)) / 1e9
    assert 15 < gmacs < 50  # reported, not matched: the paper does not say whether FLOPs means MACs


def test_registered_and_bad_args_name_the_parameter():
    assert MODELS["msti_net_50"] is msti_net_50 and MODELS["msti_net_small"] is msti_net_small
    assert build_model("msti_net50", width=0.125).depths == (3, 4, 6, 3)  # the old name still builds
    assert set(VARIANTS) | {"p3d_b"} == set(MSTI_NET_VARIANTS)
    with pytest.raises(TypeError):
        msti_net_50(400)  # keyword-only
    cases = [
        (lambda: msti_net_small(variant="msx"), "variant"),
        (lambda: msti_net_small(groups=0), "groups"),
        (lambda: msti_net_small(groups=3), "planes"),
        (lambda: msti_net_small(width=0), "width"),
        (lambda: msti_net_small(depths=(1, 1, 1)), "depths"),
        (lambda: msti_net_small(num_classes=0), "num_classes"),
        (lambda: msti_net_small(dropout=1.0), "dropout"),
        (lambda: msti_net_small(in_channels=0), "in_channels"),
    ]
    for make, name in cases:
        with pytest.raises(ValueError, match=name):
            make()
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        msti_net_small()(torch.randn(3, 16, 32, 32))


@pytest.mark.parametrize("variant", MSTI_NET_VARIANTS)
def test_every_variant_sees_every_input_pixel(variant):
    """Strided stages pool before their 1x1x1 convs (ResNet-D): no unit, not even ms_t_only without
    a spatial conv, may drop input positions (a strided 1x1x1 conv left such a unit a 6x6 corner of
    32x32)."""
    torch.manual_seed(0)
    net = build_model("msti_net_small", num_classes=4, variant=variant).eval()
    x = torch.randn(1, 3, 16, 32, 32, requires_grad=True)
    net(x).sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))  # (1, 3, T, H, W) -> (T, H, W)
    assert (g.sum(dim=0) > 0).all(), f"{variant}: {(g.sum(dim=0) == 0).sum().item()} of 1024 pixels never reach the logits"
    assert (g.sum(dim=(1, 2)) > 0).all()


def test_variant_strings_resolve_to_units_once():
    assert get_msti_unit("p3d_b") is P3DBBlock and get_msti_unit(MSTITube) is MSTITube
    unit = get_msti_unit("MS_T")
    assert unit.func is MSTITube and unit.keywords == {"variant": "ms_t", "groups": 4}
    assert get_msti_unit("ms_s", groups=2).keywords == {"variant": "ms_s", "groups": 2}
    net = msti_net_small(num_classes=3, variant="ms_st", groups=2)
    assert net.layer1[0].middle.spatial.groups == 2
    net = msti_net_small(num_classes=3, variant="p3d_b")
    assert all(type(u) is P3DBBlock for i in range(1, 5) for u in getattr(net, f"layer{i}"))
