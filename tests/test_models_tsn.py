"""TSN / TSM / MSTNet 2D ResNets: every builder runs, placement, consensus, param counts, errors."""

import functools

import pytest
import torch

from actionrec.analysis.complexity import count_params
from actionrec.layers.mixtconv import MixTConv
from actionrec.layers.temporal_shift import TemporalShift
from actionrec.models import MODELS
from actionrec.models.blocks import Bottleneck2d, SmallStem2d
from actionrec.models.factory import get_temporal_layer
from actionrec.models.tsn import TSN, temporal_modules

SMALL = ["tsn_small", "tsm_small", "mstnet_small"]
R50 = ["tsn_r50", "tsm_r50", "mstnet_r50"]


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _blocks(net):
    return [b for i in range(1, 5) for b in getattr(net, f"layer{i}")]


@pytest.mark.parametrize("name", SMALL + R50)
def test_builders_feature_shapes(name):
    """Outputs and gradients of every builder: tests/test_models.py; here the feature layout (on meta)."""
    with torch.device("meta"):
        net = MODELS[name](num_classes=5, width=0.25)
        feats = net.forward_features(torch.empty(2, 3, 8, 32, 32))
    hw = 2 if name.endswith("small") else 1  # the small stem has no max-pool
    assert feats.shape == (2, net.num_features, 8, hw, hw)
    assert net.forward_head(feats, pre_logits=True).shape == (2, net.num_features)


@pytest.mark.parametrize("width", [0.25, 0.5])
def test_mstnet_small_params_exceed_tsn_by_mixtconv_weights(width):
    tsn = MODELS["tsn_small"](num_classes=7, width=width)
    mst = MODELS["mstnet_small"](num_classes=7, width=width)
    mods = temporal_modules(mst)
    assert len(mods) == 4 and all(isinstance(m, MixTConv) for _, m in mods)
    expected = sum(sum(c * k for c, k in zip(m.splits, m.kernels)) for _, m in mods)
    assert count_params(mst) - count_params(tsn) == expected > 0


def test_temporal_op_sits_before_first_1x1_on_the_residual_branch():
    net = MODELS["tsm_small"](num_classes=3, width=0.25, num_segments=4)
    for blk in _blocks(net):
        assert isinstance(blk.temporal, TemporalShift) and blk.temporal.channels == blk.conv1.in_channels
        assert blk.conv1.kernel_size == (1, 1)
    assert all(b.temporal is None for b in _blocks(MODELS["tsn_small"](num_classes=3, width=0.25)))
    # residual placement ("blockres"): out = relu(branch(shift(x)) + x), the shortcut sees the raw x
    blk = Bottleneck2d(32, 8, temporal=functools.partial(TemporalShift, num_segments=4)).eval()
    x = torch.randn(8, 32, 4, 4)
    with torch.no_grad():
        y = blk.temporal(x)
        y = blk.relu(blk.bn1(blk.conv1(y)))
        y = blk.relu(blk.bn2(blk.conv2(y)))
        ref = blk.relu(blk.bn3(blk.conv3(y)) + x)
        assert blk.downsample is None and torch.equal(blk(x), ref)


def test_mstnet_kernel_3_with_the_tsm_init_computes_tsm_and_the_default_does_not():
    """``init="tsm"`` with kernels (3,) makes MSTNet compute TSM exactly (same other weights); the
    default (official) init with kernels (3,) is TSM mirrored in time, and with 1/3/5/7 not TSM either."""
    tsm = MODELS["tsm_small"](num_classes=5, width=0.25, num_segments=4).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        tsm.fc.weight.normal_()
        mst = MODELS["mstnet_small"](num_classes=5, width=0.25, num_segments=4, kernels=(3,), init="tsm").eval()
        mst.load_state_dict(tsm.state_dict(), strict=False)
        assert torch.equal(mst(x), tsm(x))
        for kw in (dict(kernels=(3,)), dict()):
            off = MODELS["mstnet_small"](num_classes=5, width=0.25, num_segments=4, **kw).eval()
            off.load_state_dict(tsm.state_dict(), strict=False)
            assert not torch.allclose(off(x), tsm(x), atol=1e-4)


def test_mstnet_default_init_is_the_official_one_in_every_block():
    for name in ("mstnet_small", "mstnet_r50"):
        net = MODELS[name](num_classes=3, width=0.25, num_segments=8)
        mods = [m for _, m in temporal_modules(net)]
        assert mods and all(m.init == "official" for m in mods)
        for m in mods:
            ref = MixTConv(m.channels, 8, init="official")
            assert all(torch.equal(a, b) for a, b in zip(m.weights(), ref.weights()))


def test_tsn_consensus_averages_per_frame_logits_and_is_order_free():
    net = MODELS["tsn_small"](num_classes=6, width=0.25, num_segments=4).eval()
    with torch.no_grad():
        net.fc.weight.normal_()
        x = torch.randn(2, 3, 4, 32, 32)
        y = net(x)
        per_frame = torch.stack([net(x[:, :, t : t + 1]) for t in range(4)], dim=1)  # TSN: any T
        torch.testing.assert_close(y, per_frame.mean(dim=1), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(net(x.flip(2)), y, rtol=1e-5, atol=1e-5)
        mst = MODELS["mstnet_small"](num_classes=6, width=0.25, num_segments=4).eval()
        mst.fc.weight.normal_()
        assert not torch.allclose(mst(x.flip(2)), mst(x), atol=1e-4)  # temporal op: order matters


def test_mixtconv_kwargs_reach_every_block():
    net = MODELS["mstnet_small"](num_classes=3, width=0.25, kernels=(3,), dilations=(2,), num_segments=2, init="tsm")
    assert all(m.kernels == (3,) and m.dilations == (2,) and m.num_segments == 2 and m.init == "tsm"
               for _, m in temporal_modules(net))
    assert net(torch.randn(1, 3, 2, 40, 48)).shape == (1, 3)


def test_temporal_strings_resolve_to_layers_once():
    tsm = get_temporal_layer("tsm", num_segments=4, fold_div=4)
    assert tsm.func is TemporalShift and tsm.keywords == {"num_segments": 4, "fold_div": 4}
    mix = get_temporal_layer("mixtconv", num_segments=4)
    assert mix.func is MixTConv and mix.keywords["kernels"] == (1, 3, 5, 7) and mix(32).init == "official"
    assert get_temporal_layer("mixtconv", num_segments=4, init="tsm").keywords["init"] == "tsm"
    assert get_temporal_layer(None, num_segments=4) is None and get_temporal_layer(tsm, num_segments=8) is tsm
    net = TSN(layers=(1, 1, 1, 1), stem=SmallStem2d, temporal=tsm, num_classes=3, num_segments=4, width=0.25)
    assert [m.fold_div for _, m in temporal_modules(net)] == [4] * 4


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="num_segments=8"):
        MODELS["tsm_small"](num_classes=3, width=0.25)(torch.randn(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="B, C, T, H, W"):
        MODELS["tsn_small"](num_classes=3, width=0.25)(torch.randn(1, 3, 32, 32))
    for kwargs, name in [(dict(width=0), "width"), (dict(num_classes=0), "num_classes"),
                         (dict(num_segments=0), "num_segments"), (dict(dropout=1.0), "dropout"),
                         (dict(in_channels=0), "in_channels")]:
        with pytest.raises(ValueError, match=name):
            MODELS["mstnet_small"](**{"num_classes": 3, **kwargs})
    with pytest.raises(ValueError, match="kernels"):
        MODELS["mstnet_small"](num_classes=3, kernels=(2,))
    with pytest.raises(ValueError, match="temporal"):
        get_temporal_layer("shift", num_segments=8)
    with pytest.raises(ValueError, match="kernels"):
        MODELS["tsm_small"](num_classes=3, kernels=(3,))  # kernels apply to MixTConv only
    with pytest.raises(ValueError, match="init"):
        MODELS["tsm_small"](num_classes=3, init="tsm")  # so does init
    with pytest.raises(ValueError, match="init='shift' is invalid"):
        MODELS["mstnet_small"](num_classes=3, init="shift")
    with pytest.raises(TypeError):
        MODELS["tsn_r50"](400)  # keyword-only
