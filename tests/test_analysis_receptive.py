"""actionrec.analysis.receptive: the analytic receptive field, the gradient map of any callable, reading
a map (extent, profile, best window, stats, labels) and the claims decided from maps."""

import math

import numpy as np
import pytest
import torch

from actionrec.analysis import receptive as R
from actionrec.analysis.probes import conv_stack, layer_probe
from actionrec.models import build_model

from actionrec.experiments.stats import mean_ci


def test_theoretical_rf_recursion_with_strides_and_dilations():
    assert R.theoretical_rf([(3, 3, 3)] * 3) == (7, 7, 7)
    assert R.theoretical_rf([3, 3, 3], strides=[1, 2, 2]) == (9, 9, 9)  # r: 3 (j 1), 5 (j 2), 9 (j 4)
    assert R.theoretical_rf([(3, 1, 1)], dilations=[(2, 1, 1)]) == (5, 1, 1)


def test_effective_rf_leaves_the_model_unchanged():
    torch.manual_seed(0)
    net = build_model("r3d_18", num_classes=4, width=0.125)
    net.train()
    net.layer2.eval()  # mixed flags must come back as they were
    flags = {n: m.training for n, m in net.named_modules()}
    state = {k: v.clone() for k, v in net.state_dict().items()}  # includes BN running stats
    rf = layer_probe(net, "layer2", (3, 16, 32, 32)).measure(batch=2)
    assert rf.shape == (16, 32, 32) and rf.max() == pytest.approx(1.0)
    assert {n: m.training for n, m in net.named_modules()} == flags
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_effective_rf_rejects_a_pair_output():
    with pytest.raises(ValueError, match="stream"):
        R.effective_rf(lambda v: (v, v), (3, 4, 8, 8))


def test_stats_profile_and_best_window_mass_on_known_maps():
    delta = np.zeros((16, 3, 3))
    delta[5, 1, 1] = 1.0
    s = R.rf_stats(delta)
    assert s["spread_frames"] == 0 and s["mass_3"] == 1 and s["support_frames"] == 1 and s["frames_50"] == 1
    flat = np.ones((16, 3, 3))
    s = R.rf_stats(flat)
    assert s["mass_3"] == pytest.approx(3 / 16) == R.best_window_mass(flat, 3)
    assert s["spread_frames"] == pytest.approx(math.sqrt((16**2 - 1) / 12))
    ramp = np.zeros((8, 1, 1))
    ramp[:, 0, 0] = [0, 0.2, 0.6, 1.0, 0.6, 0.4, 0, 0]
    assert R.rf_extent(ramp, 0.5).t_range == (2, 4) and R.rf_extent(ramp).t_range == (1, 5)
    np.testing.assert_allclose(R.temporal_profile(ramp).sum(), 1.0)
    assert R.mass_outside(delta, radius=1, centre=5) == 0 and R.mass_outside(flat, radius=0) == pytest.approx(15 / 16)


def test_rf_label_prints_support_and_theory():
    rf = np.zeros((9, 5, 5))
    rf[2:7, 1:4, 0:5] = 1.0
    assert R.rf_label(rf) == "5 fr × 3×5 px"
    assert R.rf_label(rf, (5, 3, 5)) == "5 fr × 3×5 px (theory 5 × 3×5)"
    assert R.rf_labels({"a": rf}, {"a": (5, 3, 5)}) == {"a": R.rf_label(rf, (5, 3, 5))}


def test_rf_change_verdicts():
    before = [{"spread_frames": v} for v in (3.0, 3.1, 2.9)]
    after = [{"spread_frames": v} for v in (2.0, 2.2, 1.9)]
    assert R.rf_change(before, after, mean_ci=mean_ci)["verdict"] == "narrower"
    assert R.rf_change(after, before, mean_ci=mean_ci)["verdict"] == "wider"
    assert R.rf_change(before, before, mean_ci=mean_ci)["verdict"] == "unchanged"
    one = R.rf_change(before[:1], after[:1], mean_ci=mean_ci, label="r3d layer3")
    assert one["verdict"] == "no clear change" and "one seed" in one["sentence"] and "narrower" in one["sentence"]
    mass = R.rf_change([{"mass_3": 0.4}] * 2, [{"mass_3": 0.6}, {"mass_3": 0.61}], mean_ci=mean_ci, metric="mass_3")
    assert mass["verdict"] == "more concentrated"
    with pytest.raises(ValueError, match="metric"):
        R.rf_change(before, after, mean_ci=mean_ci, metric="nope")


def test_bad_input_raises_naming_the_parameter():
    stack = conv_stack(1)
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
    with pytest.raises(ValueError, match="frames"):
        R.best_window_mass(np.ones((3, 3, 3)), 0)
    with pytest.raises(ValueError, match="kernels"):
        R.theoretical_rf((3, 3, 3))
    with pytest.raises(ValueError, match="strides"):
        R.theoretical_rf([3, 3], strides=[2])
    with pytest.raises(ValueError, match="dilations"):
        R.theoretical_rf([3], dilations=[0])
    with pytest.raises(ValueError, match="input_shape"):
        R.check_clip_shape((3, 0, 8, 8))
    assert R.as_triple(3, "k") == (3, 3, 3)
