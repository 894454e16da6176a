"""actionrec.analysis.probes: every probe's measured support equals its analytic extent (conv stacks,
MTConv streams, MSTI groups, MixTConv groups, TSM groups), layer probes of built networks, and
``stream_receptive_fields`` equal to the implementation it replaced."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from actionrec.analysis import probes as P
from actionrec.analysis.receptive import best_window_mass, rf_extent, span_ratio_claim, theory_check
from actionrec.layers.mtconv import MTConv, split_channels
from actionrec.models import build_model


def _frames(rf):
    """Indices of the frames with any nonzero gradient."""
    return np.nonzero(np.abs(rf).sum(axis=(1, 2)))[0].tolist()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_plain_stack_extent_is_2L_plus_1_and_matches_theory(depth):
    probe = P.conv_stack_probe(depth, frames=16, size=16)
    rf = probe.measure()
    ext = rf_extent(rf)
    n = 2 * depth + 1
    assert ext.size == (n, n, n) == probe.theory
    assert ext.t_range == (8 - depth, 8 + depth)  # centred on the centre output's frame
    assert rf.max() == pytest.approx(1.0)


def test_strided_stack_matches_the_recursion():
    probe = P.conv_stack_probe(3, stride=2, frames=32, size=32)
    assert rf_extent(probe.measure()).size == probe.theory == (15, 15, 15)


def test_dilation_2_kernel_3_sees_5_frames_with_holes():
    probe = P.conv_stack_probe(1, kernel_size=(3, 1, 1), dilation=(2, 1, 1), frames=16, size=8)
    rf = probe.measure()
    assert rf_extent(rf).size == (5, 1, 1) == probe.theory
    assert _frames(rf) == [6, 8, 10]


def test_mixtconv_groups_see_their_kernel_and_dilated_kernels_k_minus_1_d_plus_1():
    probes = P.mixtconv_probes(kernels=(1, 3, 5, 7), channels=16)
    maps = {k: p.measure() for k, p in probes.items()}
    assert [rf_extent(m).frames for m in maps.values()] == [1, 3, 5, 7]
    assert all(rf_extent(m).size[1:] == (1, 1) for m in maps.values())  # depthwise temporal: one pixel
    assert theory_check(probes, maps)["all_match"]
    dil = P.mixtconv_probes(kernels=(3, 3, 3), dilations=(1, 2, 3), channels=12)
    for (name, p), d in zip(dil.items(), (1, 2, 3)):
        rf = p.measure()
        assert rf_extent(rf).frames == 2 * d + 1 == p.theory[0]
        assert _frames(rf) == [8 - d, 8, 8 + d], name  # k = 3 taps, the rest holes


def test_mixtconv_starts_as_tsm_every_group_within_one_frame():
    probes = P.mixtconv_probes(channels=64, init="tsm")  # 16 channels per group: 2 shift each way
    frames = {k: _frames(p.measure()) for k, p in probes.items()}
    assert frames == {"k=1": [8], "k=3": [7, 8, 9], "k=5": [7, 8, 9], "k=7": [7, 8, 9]}


def test_tsm_shifted_channels_see_exactly_t_plus_minus_1_and_unshifted_t():
    probes = P.tsm_probes(channels=32, frames=16)
    got = {k: rf_extent(p.measure()) for k, p in probes.items()}
    assert got["reads t+1"].t_range == (9, 9)
    assert got["reads t-1"].t_range == (7, 7)
    assert got["unshifted"].t_range == (8, 8)
    assert all(e.size == (1, 1, 1) for e in got.values())


@pytest.mark.parametrize("branch", ["spatial", "temporal", "both"])
def test_msti_group_i_sees_2i_minus_1_through_the_probe_api(branch):
    probes = P.msti_probes(branch=branch, frames=15, size=15)
    maps = {k: p.measure() for k, p in probes.items()}
    check = theory_check(probes, maps)
    assert check["all_match"], check["sentence"]
    for i, m in enumerate(maps.values(), start=1):
        n = 2 * i - 1
        assert rf_extent(m).size == {"spatial": (1, n, n), "temporal": (n, 1, 1), "both": (n, n, n)}[branch]


def test_msti_caw_pools_make_the_support_global_but_the_mass_local():
    probes = P.msti_probes(branch="both", caw=True, frames=15, size=15)
    rf = probes["group 2"].measure()
    assert rf_extent(rf).size == (15, 15, 15)  # GAP in eq. 5: every input position matters
    assert best_window_mass(rf, 3) > 0.5  # ... but most of the gradient stays within the 3x3x3 cross
    with pytest.raises(ValueError, match="caw"):
        P.msti_probes(branch="spatial", caw=True)


def _old_stream_receptive_fields(*, num_layers=3, frames=16, size=32, r=0.5, channels=8):
    """The implementation ``viz.stream_receptive_fields`` had before issue 13 (verbatim, as the reference)."""
    torch.manual_seed(0)
    layers = nn.ModuleList(MTConv(channels, channels, kernel_size=(3, 3, 3), r=r) for _ in range(num_layers))
    for m in layers.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
    layers.eval()
    x = torch.ones(1, channels, frames, size, size, requires_grad=True)
    out = {}
    for stream in ("short", "long"):
        cs, _ = split_channels(channels, r)
        pair = (x[:, :cs], torch.nn.functional.avg_pool3d(x[:, cs:], 2, ceil_mode=True))
        for layer in layers:
            pair = layer(pair)
        y = pair[0] if stream == "short" else pair[1]
        _, _, t, h, w = y.shape
        (grad,) = torch.autograd.grad(y[0, :, t // 2, h // 2, w // 2].sum(), x)
        g = grad[0].abs().sum(dim=(0, 2))
        out[stream] = (g / g.max()).numpy()
    return out


@pytest.mark.parametrize("num_layers,frames,size,r", [(3, 16, 32, 0.5), (2, 8, 16, 0.75)])
def test_stream_receptive_fields_equal_the_replaced_implementation(num_layers, frames, size, r):
    new = P.stream_receptive_fields(num_layers=num_layers, frames=frames, size=size, r=r)
    old = _old_stream_receptive_fields(num_layers=num_layers, frames=frames, size=size, r=r)
    for stream in ("short", "long"):
        assert new[stream].shape == old[stream].shape == (frames, size)
        np.testing.assert_allclose(new[stream], old[stream], rtol=1e-6, atol=1e-7)
        assert ((new[stream] > 1e-6) == (old[stream] > 1e-6)).all()  # the plot's support counts


def test_mtconv_long_stream_sees_twice_the_span():
    probes = P.mtconv_stream_probes(num_layers=3, r=0.5, channels=8, frames=16, size=32)
    maps = {k: p.measure(x=torch.ones(1, 8, 16, 32, 32)) for k, p in probes.items()}
    assert rf_extent(maps["short"]).size == (7, 7, 7) == probes["short"].theory
    assert rf_extent(maps["long"]).size == (14, 14, 14) == probes["long"].theory
    claim = span_ratio_claim(maps["short"], maps["long"])
    assert claim["holds"] and claim["ratio_frames"] == 2.0


def test_layer_probe_unfolds_tsn_layout_and_tsm_blocks_add_one_frame_each():
    net = P.make_positive_(build_model("tsm_small", num_classes=4, num_segments=16, width=0.125))
    assert P.stage_layers(net) == ["layer1", "layer2", "layer3", "layer4"]
    frames = [rf_extent(P.layer_probe(net, layer, (3, 16, 32, 32)).measure()).frames for layer in P.stage_layers(net)]
    assert frames == [3, 5, 7, 9]  # one shift (±1) per bottleneck, 2D convs elsewhere


def test_layer_probe_stops_after_the_layer_and_picks_a_stream():
    net = build_model("mtnet32", num_classes=4, width=0.125)
    calls = []
    net.fc.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(1, 3, 16, 32, 32)
    short = P.LayerProbe(net, "stages.0")(x)
    long = P.LayerProbe(net, "stages.0", stream="long")(x)
    assert calls == []  # the head never ran
    assert short.shape[2:] == (16, 8, 8) and long.shape[2:] == (8, 4, 4)


def test_mechanism_catalogue():
    for family in P.PROBE_FAMILIES:
        probes = P.mechanism_probes(family, depth=2, frames=16, size=16)
        assert probes and all(isinstance(p, P.Probe) for p in probes.values())
    with pytest.raises(ValueError, match="family"):
        P.mechanism_probes("nope")


def test_bad_input_raises_naming_the_parameter():
    with pytest.raises(ValueError, match="layer3x"):
        P.LayerProbe(nn.Sequential(nn.Conv3d(1, 1, 1)), "layer3x")
    with pytest.raises(ValueError, match="num_segments"):
        P.tsm_probes(frames=8)["unshifted"].measure(x=torch.ones(1, 32, 4, 8, 8))
    with pytest.raises(ValueError, match="depth"):
        P.conv_stack(0)
    with pytest.raises(ValueError, match="num_layers"):
        P.mtconv_stream_probes(num_layers=0)
