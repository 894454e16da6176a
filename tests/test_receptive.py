"""actionrec.receptive: analytic vs measured receptive fields of the temporal mechanisms, probes of
trained-network layers, the statistics and claims built on them, and bad input."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from actionrec import receptive as R  # noqa: E402
from actionrec import viz  # noqa: E402
from actionrec.models import build_model  # noqa: E402


def _frames(rf):
    """Indices of the frames with any nonzero gradient."""
    return np.nonzero(np.abs(rf).sum(axis=(1, 2)))[0].tolist()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_plain_stack_extent_is_2L_plus_1_and_matches_theory(depth):
    probe = R.conv_stack_probe(depth, frames=16, size=16)
    rf = probe.measure()
    ext = R.rf_extent(rf)
    n = 2 * depth + 1
    assert ext.size == (n, n, n) == R.theoretical_rf([(3, 3, 3)] * depth) == probe.theory
    assert ext.t_range == (8 - depth, 8 + depth)  # centred on the centre output's frame
    assert rf.max() == pytest.approx(1.0)


def test_strided_stack_matches_the_recursion_and_conv_chain():
    assert R.theoretical_rf([3, 3, 3], strides=[1, 2, 2]) == (9, 9, 9)  # r: 3 (j 1), 5 (j 2), 9 (j 4)
    probe = R.conv_stack_probe(3, stride=2, frames=32, size=32)
    measured = R.rf_extent(probe.measure()).size
    assert measured == R.theoretical_rf_of(probe.module) == probe.theory == (15, 15, 15)


def test_dilation_2_kernel_3_sees_5_frames_with_holes():
    probe = R.conv_stack_probe(1, kernel_size=(3, 1, 1), dilation=(2, 1, 1), frames=16, size=8)
    rf = probe.measure()
    assert R.rf_extent(rf).size == (5, 1, 1) == R.theoretical_rf([(3, 1, 1)], dilations=[(2, 1, 1)])
    assert _frames(rf) == [6, 8, 10]


def test_mixtconv_groups_see_their_kernel_and_dilated_kernels_k_minus_1_d_plus_1():
    probes = R.mixtconv_probes(kernels=(1, 3, 5, 7), channels=16)
    maps = {k: p.measure() for k, p in probes.items()}
    assert [R.rf_extent(m).frames for m in maps.values()] == [1, 3, 5, 7]
    assert all(R.rf_extent(m).size[1:] == (1, 1) for m in maps.values())  # depthwise temporal: one pixel
    assert R.theory_check(probes, maps)["all_match"]
    dil = R.mixtconv_probes(kernels=(3, 3, 3), dilations=(1, 2, 3), channels=12)
    for (name, p), d in zip(dil.items(), (1, 2, 3)):
        rf = p.measure()
        assert R.rf_extent(rf).frames == 2 * d + 1 == p.theory[0]
        assert _frames(rf) == [8 - d, 8, 8 + d], name  # k = 3 taps, the rest holes


def test_mixtconv_starts_as_tsm_every_group_within_one_frame():
    probes = R.mixtconv_probes(channels=64, init="tsm")  # 16 channels per group: 2 shift each way
    frames = {k: _frames(p.measure()) for k, p in probes.items()}
    assert frames == {"k=1": [8], "k=3": [7, 8, 9], "k=5": [7, 8, 9], "k=7": [7, 8, 9]}


def test_tsm_shifted_channels_see_exactly_t_plus_minus_1_and_unshifted_t():
    probes = R.tsm_probes(channels=32, frames=16)
    got = {k: R.rf_extent(p.measure()) for k, p in probes.items()}
    assert got["reads t+1"].t_range == (9, 9)
    assert got["reads t-1"].t_range == (7, 7)
    assert got["unshifted"].t_range == (8, 8)
    assert all(e.size == (1, 1, 1) for e in got.values())


@pytest.mark.parametrize("branch", ["spatial", "temporal", "both"])
def test_msti_group_i_sees_2i_minus_1_through_the_probe_api(branch):
    probes = R.msti_probes(branch=branch, frames=15, size=15)
    maps = {k: p.measure() for k, p in probes.items()}
    check = R.theory_check(probes, maps)
    assert check["all_match"], check["sentence"]
    for i, m in enumerate(maps.values(), start=1):
        n = 2 * i - 1
        assert R.rf_extent(m).size == {"spatial": (1, n, n), "temporal": (n, 1, 1), "both": (n, n, n)}[branch]


def test_msti_caw_pools_make_the_support_global_but_the_mass_local():
    probes = R.msti_probes(branch="both", caw=True, frames=15, size=15)
    rf = probes["group 2"].measure()
    assert R.rf_extent(rf).size == (15, 15, 15)  # GAP in eq. 5: every input position matters
    assert R.window_mass(rf, 3) > 0.5  # ... but most of the gradient stays within the 3x3x3 cross
    with pytest.raises(ValueError, match="caw"):
        R.msti_probes(branch="spatial", caw=True)


def test_mtconv_long_stream_sees_twice_the_span_and_viz_still_agrees():
    probes = R.mtconv_stream_probes(num_layers=3, r=0.5, channels=8, frames=16, size=32)
    maps = {k: p.measure(x=torch.ones(1, 8, 16, 32, 32)) for k, p in probes.items()}
    assert R.rf_extent(maps["short"]).size == (7, 7, 7) == probes["short"].theory
    assert R.rf_extent(maps["long"]).size == (14, 14, 14) == probes["long"].theory
    claim = R.span_ratio_claim(maps["short"], maps["long"])
    assert claim["holds"] and claim["ratio_frames"] == 2.0
    old = viz.stream_receptive_fields(num_layers=3, frames=16, size=32, r=0.5)  # the function it generalises
    for stream in ("short", "long"):
        tw = maps[stream].sum(axis=1)
        np.testing.assert_allclose(tw / tw.max(), old[stream], atol=1e-5)


def test_effective_rf_leaves_the_model_unchanged():
    torch.manual_seed(0)
    net = build_model("r3d_18", num_classes=4, width=0.125)
    net.train()
    net.layer2.eval()  # mixed flags must come back as they were
    flags = {n: m.training for n, m in net.named_modules()}
    state = {k: v.clone() for k, v in net.state_dict().items()}  # includes BN running stats
    rf = R.layer_probe(net, "layer2", (3, 16, 32, 32)).measure(batch=2)
    assert rf.shape == (16, 32, 32) and rf.max() == pytest.approx(1.0)
    assert {n: m.training for n, m in net.named_modules()} == flags
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_layer_probe_unfolds_tsn_layout_and_tsm_blocks_add_one_frame_each():
    net = R.make_positive_(build_model("tsm_small", num_classes=4, num_segments=16, width=0.125))
    assert R.stage_layers(net) == ["layer1", "layer2", "layer3", "layer4"]
    frames = [R.rf_extent(R.layer_probe(net, layer, (3, 16, 32, 32)).measure()).frames for layer in R.stage_layers(net)]
    assert frames == [3, 5, 7, 9]  # one shift (±1) per bottleneck, 2D convs elsewhere


def test_layer_probe_stops_after_the_layer_and_picks_a_stream():
    net = build_model("mtnet32", num_classes=4, width=0.125)
    calls = []
    net.fc.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(1, 3, 16, 32, 32)
    short = R.LayerProbe(net, "stages.0")(x)
    long = R.LayerProbe(net, "stages.0", stream="long")(x)
    assert calls == []  # the head never ran
    assert short.shape[2:] == (16, 8, 8) and long.shape[2:] == (8, 4, 4)
    with pytest.raises(ValueError, match="stream"):
        R.effective_rf(lambda v: (v, v), (3, 4, 8, 8))


def test_stats_profile_and_window_mass_on_known_maps():
    delta = np.zeros((16, 3, 3))
    delta[5, 1, 1] = 1.0
    s = R.rf_stats(delta)
    assert s["spread_frames"] == 0 and s["mass_3"] == 1 and s["support_frames"] == 1 and s["frames_50"] == 1
    flat = np.ones((16, 3, 3))
    s = R.rf_stats(flat)
    assert s["mass_3"] == pytest.approx(3 / 16)
    assert s["spread_frames"] == pytest.approx(math.sqrt((16**2 - 1) / 12))
    ramp = np.zeros((8, 1, 1))
    ramp[:, 0, 0] = [0, 0.2, 0.6, 1.0, 0.6, 0.4, 0, 0]
    assert R.rf_extent(ramp, 0.5).t_range == (2, 4) and R.rf_extent(ramp).t_range == (1, 5)
    np.testing.assert_allclose(R.temporal_profile(ramp).sum(), 1.0)


def test_rf_change_verdicts():
    before = [{"spread_frames": v} for v in (3.0, 3.1, 2.9)]
    after = [{"spread_frames": v} for v in (2.0, 2.2, 1.9)]
    assert R.rf_change(before, after)["verdict"] == "narrower"
    assert R.rf_change(after, before)["verdict"] == "wider"
    assert R.rf_change(before, before)["verdict"] == "unchanged"
    one = R.rf_change(before[:1], after[:1], label="r3d layer3")
    assert one["verdict"] == "no clear change" and "one seed" in one["sentence"] and "narrower" in one["sentence"]
    mass = R.rf_change([{"mass_3": 0.4}] * 2, [{"mass_3": 0.6}, {"mass_3": 0.61}], metric="mass_3")
    assert mass["verdict"] == "more concentrated"
    with pytest.raises(ValueError, match="metric"):
        R.rf_change(before, after, metric="nope")


def test_mechanism_catalogue_and_plots():
    for family in R.PROBE_FAMILIES:
        probes = R.mechanism_probes(family, depth=2, frames=16, size=16)
        assert probes and all(isinstance(p, R.Probe) for p in probes.values())
    maps = {k: p.measure() for k, p in R.mechanism_probes("MSTI temporal", frames=16, size=16).items()}
    fig = R.plot_rf_grid(maps, view="both", ncols=4, crop=9)
    assert sum(ax.get_visible() for ax in fig.axes) == 8
    fig2 = R.plot_rf(maps["group 4"], theory=(7, 1, 1), crop=9)
    assert "theory 7" in fig2.axes[0].get_title()
    fig3 = R.plot_temporal_profiles(maps)
    assert len(fig3.axes[0].lines) == 4
    plt.close("all")
    with pytest.raises(ValueError, match="family"):
        R.mechanism_probes("nope")


def test_bad_input_raises_naming_the_parameter():
    stack = R.conv_stack(1)
    with pytest.raises(ValueError, match="input_shape"):
        R.effective_rf(stack, (4, 16, 16))
    with pytest.raises(ValueError, match="x must be"):
        R.effective_rf(stack, x=torch.ones(4, 16, 16, 16))
    with pytest.raises(ValueError, match="out_index"):
        R.effective_rf(stack, (4, 8, 8, 8), out_index=(8, 0, 0))
    with pytest.raises(ValueError, match="channels"):
        R.effective_rf(stack, (4, 8, 8, 8), channels=9)
    with pytest.raises(ValueError, match="FoldedFrames"):
        R.effective_rf(lambda v: v.flatten(0, 1), (4, 8, 8, 8))
    with pytest.raises(ValueError, match="batch"):
        R.effective_rf(stack, (4, 8, 8, 8), batch=0)
    with pytest.raises(ValueError, match="rf must be"):
        R.rf_extent(np.ones((3, 3)))
    with pytest.raises(ValueError, match="thresh"):
        R.rf_extent(np.ones((3, 3, 3)), 1.5)
    with pytest.raises(ValueError, match="kernels"):
        R.theoretical_rf((3, 3, 3))
    with pytest.raises(ValueError, match="strides"):
        R.theoretical_rf([3, 3], strides=[2])
    with pytest.raises(ValueError, match="dilations"):
        R.theoretical_rf([3], dilations=[0])
    with pytest.raises(ValueError, match="layer3x"):
        R.LayerProbe(nn.Sequential(nn.Conv3d(1, 1, 1)), "layer3x")
    with pytest.raises(ValueError, match="num_segments"):
        R.tsm_probes(frames=8)["unshifted"].measure(x=torch.ones(1, 32, 4, 8, 8))
