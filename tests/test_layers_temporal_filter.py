"""Temporal filters (actionrec.layers.temporal_filter): identity ⊗ f init, exact identity at every
placement with the centre init, the avg init on temporally constant input."""

import pytest
import torch

from actionrec.layers.temporal_filter import (
    TemporalFilter,
    canonical_placement,
    filter_taps,
    filter_unit_indices,
    identity_kernel,
    placement_sites,
    temporal_filter,
)
from actionrec.models import build_model
from actionrec.models.two_stream import temporal_filters_of


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def test_init_is_identity_outer_f_with_zero_bias():
    for init, f in (("avg", [1 / 3] * 3), ("centre", [0.0, 1.0, 0.0]), ((0.2, 0.5, 0.3), [0.2, 0.5, 0.3])):
        tf = TemporalFilter(6, init=init)
        assert tf.weight.shape == (6, 6, 3, 1, 1) and tf.bias.shape == (6,)
        assert torch.equal(tf.bias, torch.zeros(6))
        taps = torch.tensor(f)
        for o in range(6):
            for c in range(6):
                assert torch.equal(tf.weight[o, c, :, 0, 0], taps if o == c else torch.zeros(3))
    assert torch.equal(filter_taps("avg", 5), torch.full((5,), 0.2))
    assert torch.equal(identity_kernel(2, torch.tensor([0.0, 1.0, 0.0]))[:, :, 1, 0, 0], torch.eye(2))
    with torch.no_grad():
        tf.weight.add_(1.0)
    tf.reset_parameters()
    assert torch.equal(tf.weight[0, 0, :, 0, 0], torch.tensor([0.2, 0.5, 0.3]))


@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_centre_init_is_exact_identity(padding_mode):
    x = torch.randn(2, 5, 7, 4, 3) * 10
    tf = TemporalFilter(5, init="centre", padding_mode=padding_mode)
    assert torch.equal(tf(x), x)
    folded = x.transpose(1, 2).reshape(14, 5, 4, 3)  # (B, C, T, H, W) -> (B*T, C, H, W)
    assert torch.equal(tf.forward_frames(folded, 7), folded)


def test_avg_init_averages_and_keeps_constant_input():
    x = torch.randn(2, 3, 6, 4, 4)
    tf = TemporalFilter(3, init="avg")
    pad = torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2)  # replicate
    torch.testing.assert_close(tf(x), (pad[:, :, :-2] + pad[:, :, 1:-1] + pad[:, :, 2:]) / 3)
    const = torch.randn(2, 3, 1, 4, 4).expand(2, 3, 6, 4, 4).contiguous()
    torch.testing.assert_close(tf(const), const, rtol=1e-6, atol=1e-6)  # up to rounding of 3 * (x / 3)
    assert not torch.allclose(tf(x), x)  # on varying input the average is no identity
    # zero padding (MatConvNet's) loses a third at the clip's ends: why we replicate
    zeros = TemporalFilter(3, init="avg", padding_mode="zeros")(const)
    torch.testing.assert_close(zeros[:, :, 0], const[:, :, 0] * 2 / 3)
    # functional form == module; even kernel sizes work
    torch.testing.assert_close(temporal_filter(x, tf.weight, tf.bias), tf(x))
    assert TemporalFilter(3, kernel_size=4, init="avg")(x).shape == x.shape


def test_placements():
    assert placement_sites(None) == [(False, False)] * 4
    assert placement_sites("last") == [(False, False)] * 3 + [(True, False)]
    assert placement_sites("every") == [(True, False)] * 4
    assert placement_sites("every+shortcut") == [(True, True)] * 4
    assert [canonical_placement(s) for s in ("§", "†", "‡")] == ["last", "every", "every+shortcut"]
    with pytest.raises(ValueError, match="placement"):
        canonical_placement("middle")
    with pytest.raises(ValueError, match="init"):
        TemporalFilter(3, init="gauss")
    with pytest.raises(ValueError, match="taps"):
        TemporalFilter(3, init=(0.5, 0.5))


def _pair(placement, init, **kw):
    """A net with filters and the same net without them (same weights elsewhere)."""
    with_f = build_model("two_stream_small", num_classes=5, temporal_filters=placement, temporal_init=init, **kw)
    without = build_model("two_stream_small", num_classes=5, temporal_filters=None, **kw)
    missing, unexpected = without.load_state_dict(with_f.state_dict(), strict=False)
    assert not missing and unexpected and all(".tf_" in k for k in unexpected)
    return with_f, without


# layers (2, 2, 2, 2): the filters sit in unit 1, the connection in unit 0 (as in the R50 layout)
@pytest.mark.parametrize("layers", [(1, 1, 1, 1), (2, 2, 2, 2)])
@pytest.mark.parametrize("placement", ["last", "every", "every+shortcut"])
def test_centre_filters_leave_the_network_output_unchanged_exactly(placement, layers):
    with_f, without = _pair(placement, "centre", layers=layers, width=0.125, flow_channels=4)
    n_expected = {"last": 2, "every": 8, "every+shortcut": 16}[placement]
    assert len(temporal_filters_of(with_f)) == n_expected
    x = torch.randn(2, 5, 6, 32, 32)
    for train in (True, False):
        with_f.train(train)
        without.train(train)
        with torch.no_grad():
            assert torch.equal(with_f(x), without(x))
            fa, fm = with_f.forward_features(x)
            ga, gm = without.forward_features(x)
            assert torch.equal(fa, ga) and torch.equal(fm, gm)


def test_centre_filters_identity_in_the_r50_layout():
    with_f = build_model("two_stream_r50", num_classes=3, width=0.125, flow_channels=4, temporal_filters="‡")
    without = build_model("two_stream_r50", num_classes=3, width=0.125, flow_channels=4, temporal_filters=None)
    without.load_state_dict(with_f.state_dict(), strict=False)
    names = [n for n, _ in temporal_filters_of(with_f)]
    assert "appearance.stages.3.1.tf_residual" in names and "motion.stages.0.1.tf_shortcut" in names
    x = torch.randn(1, 5, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(with_f.eval()(x), without.eval()(x))


@pytest.mark.parametrize("placement", ["last", "every", "every+shortcut"])
def test_avg_filters_identity_on_constant_in_time_input_only(placement):
    with_f, without = _pair(placement, "avg", width=0.125, flow_channels=4)
    with_f.eval(), without.eval()
    const = torch.randn(2, 5, 1, 32, 32).expand(2, 5, 6, 32, 32).contiguous()
    varying = torch.randn(2, 5, 6, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(with_f(const), without(const), rtol=1e-4, atol=1e-5)
        assert not torch.allclose(with_f(varying), without(varying), rtol=1e-4, atol=1e-5)


def test_filters_learn():
    net = build_model("two_stream_small", num_classes=5, width=0.125, flow_channels=4, temporal_filters="every")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    _, loss = net.training_loss(torch.randn(2, 5, 4, 32, 32), torch.tensor([1, 3]))
    loss.backward()
    tf = dict(temporal_filters_of(net))["appearance.stages.3.0.tf_residual"]
    assert tf.weight.grad.abs().sum() > 0 and tf.bias.grad.abs().sum() > 0
    before = tf.weight.detach().clone()
    opt.step()
    assert not torch.equal(tf.weight, before)


def test_filter_unit_indices():
    """"first": unit 1 of a stage (0 in a one-unit stage); "all": every middle unit 1 .. n-2 (Table 1's
    x N / x M brackets: N = 2, M = 4 in the R50 stages of 4 and 6 units)."""
    assert [filter_unit_indices(n, "first") for n in (1, 2, 3, 4, 6, 8, 36)] == [[0], [1], [1], [1], [1], [1], [1]]
    assert [filter_unit_indices(n, "all") for n in (1, 2, 3)] == [[0], [1], [1]]
    assert filter_unit_indices(4, "all") == [1, 2] and filter_unit_indices(6, "all") == [1, 2, 3, 4]
    assert filter_unit_indices(8, "all") == list(range(1, 7))  # R152 conv3_x: the paper's N = 6
    assert len(filter_unit_indices(36, "all")) == 34  # R152 conv4_x (the paper prints M = 32)
    with pytest.raises(ValueError, match="filter_units='middle' is invalid"):
        filter_unit_indices(4, "middle")


def _filter_units_per_stage(net, stream="appearance"):
    """{stage: sorted unit indices holding a residual filter} and the same for shortcut filters."""
    res, short = {}, {}
    for name, _ in temporal_filters_of(getattr(net, stream)):
        s, j, kind = name.split(".")[1:]  # "stages.<s>.<j>.tf_residual" -> s, j, kind
        (res if kind == "tf_residual" else short).setdefault(int(s), []).append(int(j))
    return res, short


@pytest.mark.parametrize("placement", ["last", "every", "every+shortcut"])
def test_filter_units_first_and_all_in_the_r50_layout(placement):
    """R50 (3, 4, 6, 3): "first" puts one filter per stage in unit 1 (4 per stream with †), "all" one in
    every middle unit (8 per stream: 1 + 2 + 4 + 1); § is the same either way (conv5_x has one middle unit)."""
    kw = dict(num_classes=3, width=0.125, flow_channels=4, temporal_filters=placement)
    first = build_model("two_stream_r50", **kw)  # default
    every = build_model("two_stream_r50", **kw, filter_units="all")
    stages = [3] if placement == "last" else [0, 1, 2, 3]
    assert _filter_units_per_stage(first) == _filter_units_per_stage(first, "motion")
    res_f, short_f = _filter_units_per_stage(first)
    res_a, short_a = _filter_units_per_stage(every)
    assert res_f == {s: [1] for s in stages}
    assert res_a == {s: {0: [1], 1: [1, 2], 2: [1, 2, 3, 4], 3: [1]}[s] for s in stages}
    assert (short_f, short_a) == ((res_f, res_a) if placement == "every+shortcut" else ({}, {}))
    n_first, n_all = sum(map(len, res_f.values())), sum(map(len, res_a.values()))
    assert (n_first, n_all) == ((1, 1) if placement == "last" else (4, 8))
    assert first.filter_units == "first" and every.filter_units == "all"
    # one-unit stages: both readings put the filter in unit 0 (the small CPU nets cannot tell them apart)
    small = [build_model("two_stream_small", **kw, filter_units=u) for u in ("first", "all")]
    assert [n for n, _ in temporal_filters_of(small[0])] == [n for n, _ in temporal_filters_of(small[1])]
