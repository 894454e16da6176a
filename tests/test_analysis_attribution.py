"""actionrec.analysis.attribution (captum over time); also, until they move to the tests of their
modules, SynthActions.action_window / action_mask and actionrec.experiments.grid (reusing finished runs,
training with per-epoch snapshots)."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from actionrec.analysis import attribution as A
from actionrec.data.synthactions import CLASS_REVERSED, SynthActions
from actionrec.models import build_model
from actionrec.experiments.grid import find_finished_run, fit_with_snapshots, same_config
from actionrec.experiments.stats import mean_ci
from actionrec.train import TrainConfig, fit, load_model



@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


# ------------------------------------------------------------------------------ action window


def test_action_window_matches_ground_truth_flow_including_reverse_classes():
    """Outside the window the figure holds its pose: the ground-truth flow between two frames is exactly
    zero when the interval (t, t+1) does not meet the window, and the figure moves inside it."""
    ds = SynthActions("test", 32, frames=16, size=32, difficulty="easy")
    reversed_seen = 0
    for i in range(32):
        s, e = ds.action_window(i)
        assert 0.0 <= s < e <= 15.0 + 1e-9
        flow, fig = ds.flow(i, with_mask=True)  # (T-1, H, W, 2), (T-1, H, W)
        moving = np.array([np.abs(flow[t][fig[t]]).max() > 0 if fig[t].any() else False for t in range(15)])
        outside = np.array([t + 1 <= s or t >= e for t in range(15)])
        assert not (moving & outside).any(), (i, ds.meta(i)["action"], (s, e), np.flatnonzero(moving))
        assert moving[~outside].any()
        reversed_seen += bool(CLASS_REVERSED[ds.label(i)])
    assert reversed_seen >= 7


def test_action_window_mirrors_the_draw_for_reverse_classes():
    ds = SynthActions("test", 32, frames=16, size=32, difficulty="easy")
    for i in range(32):
        m, (s, e) = ds.meta(i), ds.action_window(i)
        ws, we = m["window_frames"]
        if CLASS_REVERSED[ds.label(i)]:
            assert (s, e) == pytest.approx((15 - we, 15 - ws))
        else:
            assert (s, e) == pytest.approx((ws, we))


def test_action_mask_overlaps_frame_cells():
    ds = SynthActions("test", 8, frames=16, size=32, difficulty="easy")
    mask = ds.action_mask(range(8))
    assert mask.shape == (8, 16) and mask.dtype == bool
    for k in range(8):
        s, e = ds.action_window(k)
        t = np.arange(16)
        assert (mask[k] == ((t + 0.5 > s) & (t - 0.5 < e))).all()
        assert mask[k][int(math.ceil(s)):int(math.floor(e)) + 1].all()  # every frame inside the window


# ------------------------------------------------------------------------------ summaries


def test_frame_importance_rows_sum_to_one_and_select_channels():
    attr = torch.zeros(2, 5, 4, 3, 3)
    attr[0, 0, 1] = 2.0  # RGB mass on frame 1
    attr[0, 4, 3] = -6.0  # flow mass (negative) on frame 3
    imp = A.frame_importance(attr)
    assert imp.shape == (2, 4)
    assert torch.allclose(imp.sum(1), torch.ones(2, dtype=imp.dtype))
    assert imp[0].tolist() == pytest.approx([0, 0.25, 0, 0.75])
    assert imp[1].tolist() == pytest.approx([0.25] * 4)  # no mass: uniform
    assert A.frame_importance(attr, channels=[0, 1, 2])[0].tolist() == pytest.approx([0, 1, 0, 0])
    cam = torch.zeros(1, 4, 3, 3)
    cam[0, 2, 1, 1] = 1.0
    assert A.frame_importance(cam)[0].tolist() == pytest.approx([0, 0, 1, 0])
    with pytest.raises(ValueError, match="attr must be"):
        A.frame_importance(torch.zeros(2, 3))


def test_action_window_mass_channel_share_and_profile():
    imp = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    mask = np.array([[False, False, True, True], [True, False, False, False]])
    assert A.action_window_mass(imp, mask).tolist() == pytest.approx([0.7, 0.25])
    with pytest.raises(ValueError, match="must match"):
        A.action_window_mass(imp, mask[:, :3])
    attr = torch.zeros(1, 5, 2, 2, 2)
    attr[0, :3] = 1.0
    attr[0, 3:] = -3.0
    sh = A.channel_share(attr, {"rgb": [0, 1, 2], "flow": [3, 4]})
    assert sh["rgb"].item() == pytest.approx(3 / 9) and sh["flow"].item() == pytest.approx(6 / 9)
    with pytest.raises(ValueError, match="outside"):
        A.channel_share(attr, {"x": [5]})
    # uniform importance -> every occupied bin at level 1; mass only inside the window -> outside bins 0
    uniform = torch.full((3, 16), 1 / 16, dtype=torch.float64)
    wins = np.array([[3.0, 9.0], [0.0, 15.0], [5.5, 12.0]])
    prof = A.window_profile(uniform, wins)
    assert np.nanmax(np.abs(prof - 1)) < 1e-12 and len(prof) == len(A.PROFILE_EDGES) - 1
    inside = torch.zeros(1, 16, dtype=torch.float64)
    inside[0, 4:9] = 0.2
    prof = A.window_profile(inside, wins[:1])
    edges = np.array(A.PROFILE_EDGES)
    centres = (edges[:-1] + edges[1:]) / 2
    assert np.all(np.nan_to_num(prof[(centres < 0) | (centres > 1)]) == 0)
    assert np.nanmax(prof) > 1


def test_summary_and_sentence_are_computed_from_records():
    recs = [dict(model="a", method="ig", mass=m, share=0.5) for m in (0.9, 0.92, 0.88)]
    recs += [dict(model="b", method="cam", mass=m, share=0.5) for m in (0.2, 0.25, 0.3)]
    summ = A.summarize_window_mass(recs, mean_ci=mean_ci)
    assert [(e["model"], e["method"], e["n"]) for e in summ] == [("a", "ig", 3), ("b", "cam", 3)]
    assert summ[0]["ratio"] == pytest.approx(0.9 / 0.5) and summ[0]["frac_clips_above"] == 1.0
    s = A.window_sentence(summ)
    assert "1 of 2" in s and "a / ig" in s and "1 put clearly less: b / cam" in s
    with pytest.raises(ValueError, match="empty"):
        A.window_sentence([])


# ------------------------------------------------------------------------------ captum methods


class _Tiny3D(nn.Module):
    """conv3d → relu → global mean → fc: a 3D net small enough for exact checks."""

    def __init__(self, c_in=3, k=4):
        super().__init__()
        self.conv = nn.Conv3d(c_in, 6, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(6, k)

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3, 4)))


def test_integrated_gradients_completeness_and_saliency_equal_autograd():
    net = _Tiny3D().double().train()
    x = torch.randn(3, 3, 4, 6, 6, dtype=torch.float64)
    y = torch.tensor([0, 2, 3])
    attr, delta = A.input_attributions(net, x, y, n_steps=64)
    assert attr.shape == x.shape and delta.shape == (3,)
    with torch.no_grad():
        gap = net(x).gather(1, y[:, None])[:, 0] - net(torch.zeros_like(x)).gather(1, y[:, None])[:, 0]
    assert torch.allclose(attr.sum(dim=(1, 2, 3, 4)), gap, atol=1e-3)  # completeness
    assert delta.abs().max() < 1e-3
    sal, none = A.input_attributions(net, x, y, method="saliency")
    xx = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(net(xx).gather(1, y[:, None]).sum(), xx)
    assert none is None and torch.allclose(sal, g.abs())
    assert net.training and all(p.requires_grad and p.grad is None for p in net.parameters())  # model untouched
    with pytest.raises(ValueError, match="method="):
        A.input_attributions(net, x, y, method="lime")
    with pytest.raises(ValueError, match="n_steps"):
        A.input_attributions(net, x, y, n_steps=1)
    with pytest.raises(ValueError, match="one per clip"):
        A.input_attributions(net, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        A.input_attributions(net, x[0], 0)


def test_gradcam_equals_the_definition_on_a_3d_layer():
    net = _Tiny3D().double().eval()
    x = torch.randn(2, 3, 4, 6, 6, dtype=torch.float64)
    y = torch.tensor([1, 3])
    cam = A.gradcam(net, x, y, layer=net.conv)
    acts = net.conv(x)  # (B, 6, T, H, W)
    (g,) = torch.autograd.grad(net.fc(net.act(acts).mean(dim=(2, 3, 4))).gather(1, y[:, None]).sum(), acts)
    ref = (g.mean(dim=(2, 3, 4), keepdim=True) * acts).sum(1).clamp_min(0)  # same size as the input: no resize
    assert cam.shape == (2, 4, 6, 6) and torch.allclose(cam, ref.detach())


def test_gradcam_on_the_two_stream_and_mtnet_layers():
    ts = build_model("two_stream_small", num_classes=16, width=0.125, temporal_filters=None, flow_channels=4).eval()
    x = torch.randn(2, 5, 4, 16, 16)
    layers = A.gradcam_layers(ts)
    assert set(layers) == {"appearance", "motion"} and layers["motion"] is ts.motion.stages[3][-1]
    for layer in layers.values():
        cam = A.gradcam(ts, x, torch.tensor([0, 5]), layer=layer)  # folded frames (B*T, C, h, w) -> (B, T, H, W)
        assert cam.shape == (2, 4, 16, 16) and (cam >= 0).all()
    mt = build_model("mtnet32", num_classes=16, width=0.125)
    (name, pair_layer), = A.gradcam_layers(mt, stage=2).items()
    assert name == "mtnet" and pair_layer is mt.srs[1]
    cam = A.gradcam(mt, torch.randn(1, 3, 16, 32, 32), 3, layer=pair_layer)  # (short, long) pair -> one map
    assert cam.shape == (1, 16, 32, 32) and (cam >= 0).all()
    with pytest.raises(ValueError, match="stage"):
        A.gradcam_layers(mt, stage=5)
    with pytest.raises(ValueError, match="no Grad-CAM layer"):
        A.gradcam_layers(nn.Linear(2, 2))


# ------------------------------------------------------------------------------ runs


def _tiny_cfg(**overrides):
    base = dict(model="c3d_small", model_kwargs={"width": 0.125},
                dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"},
                train_samples=32, val_samples=16, test_samples=16, epochs=2, batch_size=16, device="cpu")
    return TrainConfig(**{**base, **overrides})


def test_fit_with_snapshots_equals_fit_and_is_found_for_reuse(tmp_path):
    cfg = _tiny_cfg()
    plain = fit(cfg, tmp_path / "plain" / "seed_0", progress=False)
    res, snaps = fit_with_snapshots(cfg, tmp_path / "snap" / "seed_0", num_classes=16)
    assert sorted(snaps) == [0, 1, 2] and all(p.exists() for p in snaps.values())
    assert res["top1"] == plain["top1"] and res["val_history"] == plain["val_history"]
    final = load_model(tmp_path / "plain" / "seed_0").state_dict()
    last = torch.load(snaps[2], weights_only=True)
    assert all(torch.equal(final[k], last[k]) for k in final)  # the run is the ordinary run of cfg
    first = torch.load(snaps[0], weights_only=True)
    assert any(not torch.equal(first[k], last[k]) for k in first if first[k].is_floating_point())
    again, snaps2 = fit_with_snapshots(cfg, tmp_path / "snap" / "seed_0", num_classes=16)  # loads, no training
    assert again["wall_s"] == res["wall_s"] and snaps2 == snaps
    with pytest.raises(FileNotFoundError, match="without the snapshots"):
        fit_with_snapshots(cfg, tmp_path / "plain" / "seed_0", num_classes=16)
    with pytest.raises(ValueError, match="max_steps"):
        fit_with_snapshots(_tiny_cfg(max_steps=3), tmp_path / "x", num_classes=16)

    found = find_finished_run(TrainConfig(**{**cfg.to_dict(), "num_workers": 1}), [tmp_path / "missing", tmp_path])
    assert found == tmp_path / "plain" / "seed_0"  # runtime fields may differ; sorted: plain before snap
    assert find_finished_run(_tiny_cfg(seed=1), [tmp_path]) is None
    assert find_finished_run(_tiny_cfg(lr=1e-4), [tmp_path]) is None
    saved = json.loads((found / "config.json").read_text())
    assert same_config(saved, cfg) and not same_config({"no_such_field": 1}, cfg)


# ------------------------------------------------------------------------------ several networks and methods


def test_attribute_all_importances_records_split_and_view():
    ts = build_model("two_stream_small", num_classes=16, width=0.125, temporal_filters=None, flow_channels=4).eval()
    r3d = build_model("r3d_18", num_classes=16, width=0.125).eval()
    x5, y = torch.randn(3, 5, 4, 16, 16), torch.tensor([0, 5, 7])
    nets = {"two_stream": ts, "r3d": r3d}
    run = A.attribute_all(nets, {"two_stream": x5, "r3d": x5[:, :3]}, y, ["integrated_gradients", "gradcam"],
                          ig_steps=2, chunk=2)
    assert list(run["attr"]) == [("two_stream", "integrated_gradients"), ("two_stream", "gradcam (appearance)"),
                                 ("two_stream", "gradcam (motion)"), ("r3d", "integrated_gradients"),
                                 ("r3d", "gradcam")]
    with torch.no_grad():
        assert torch.equal(run["pred"]["r3d"], r3d(x5[:, :3]).argmax(1)) and run["logits"]["r3d"].shape == (3, 16)
    ig, delta = A.input_attributions(r3d, x5[:2, :3], y[:2], n_steps=2, internal_batch_size=4)
    assert torch.equal(run["attr"]["r3d", "integrated_gradients"][:2], ig) and set(run["delta"]) == set(nets)
    imp = A.frame_importances(run["attr"], split=["two_stream"])
    assert ("two_stream", "integrated_gradients (flow)") in imp and ("r3d", "integrated_gradients (rgb)") not in imp
    assert torch.equal(imp["two_stream", "integrated_gradients (rgb)"],
                       A.frame_importance(run["attr"]["two_stream", "integrated_gradients"], channels=[0, 1, 2]))
    mask = np.array([[True, True, False, False], [False, True, True, True], [True] * 4])
    records = A.window_records(imp, mask, labels=y, pred=run["pred"], clips=[10, 11, 12])
    assert len(records) == 3 * len(imp) and records[1]["clip"] == 11 and records[1]["share"] == 0.75
    assert records[0]["mass"] == pytest.approx(float(A.action_window_mass(imp["two_stream", "integrated_gradients"],
                                                                          mask)[0]))
    header, rows = A.window_mass_table(A.summarize_window_mass(records, mean_ci=mean_ci))
    assert len(rows) == len(imp) and len(header) == len(rows[0]) == 6
    prof = A.window_profiles(imp, np.array([[0.0, 1.0], [1.0, 3.0], [0.0, 3.0]]))
    assert list(prof) == list(imp) and all(p.shape == (len(A.PROFILE_EDGES) - 1,) for p in prof.values())
    split, cam_motion = A.modality_split(run["attr"], imp, mask, model="two_stream")
    assert [r["method"] for r in split] == ["integrated_gradients"] and 0 <= cam_motion <= 1
    assert 0 <= split[0]["flow_abs_share"] <= 1 and not math.isnan(split[0]["flow_signed_share"])
    assert A.modality_table(split)[1][0][0] == "integrated_gradients"
    assert "of the logit" in A.modality_sentence(split[0], 0.6)
    view = dict(attr=run["attr"], importance=imp, pred=run["pred"], labels=y, frames=np.zeros((3, 4, 16, 16, 3)),
                windows=[(0, 1), (1, 3), (0, 3)], mask=mask, classes=[f"c{i}" for i in range(16)])
    v = A.attribution_view(view, 1, "two_stream", "no such method")  # falls back to the network's first method
    assert set(v["curves"]) == {"integrated_gradients", "rgb channels", "flow channels"} and v["window"] == (1, 3)
    assert v["heat"].shape == (4, 16, 16) and "clip 1 (c5" in v["title"] and "a window of 75% of the frames" in v["title"]
    assert A.attribution_view(view, 0, "r3d", "gradcam")["heat"].shape == (4, 16, 16)
