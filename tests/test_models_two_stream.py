"""Two-stream ST-Multiplier networks (actionrec.models.two_stream): every variant trains a step, the
wiring of each direction, the strings resolved at the config boundary, fully convolutional testing,
the temporal max-pool head, the multi-head loss and fit()."""

import json

import pytest
import torch
import torch.nn.functional as F

from actionrec.layers.flow_stack import stack_flow
from actionrec.layers.fusion import FUSION_KINDS, CrossStreamConnection
from actionrec.layers.temporal_filter import TemporalFilter
from actionrec.models import MODELS, build_model
from actionrec.models.factory import get_connection, get_temporal_filters
from actionrec.models.two_stream import STMultiplierNet
from actionrec.train import TrainConfig, clear_data_cache, fit

TINY = dict(num_classes=4, width=0.125, flow_channels=4)


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _x(b=2, t=4, hw=32):
    return torch.randn(b, 5, t, hw, hw)  # RGB + per-frame flow


def _train_step(net, x, y):
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    before = [p.detach().clone() for p in net.parameters()]
    logits, loss = net.training_loss(x, y)
    assert logits.shape == (len(y), net.num_classes) and torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    opt.step()
    assert all(not torch.equal(p, b) for p, b in zip(net.parameters(), before) if p.grad.abs().sum() > 0)
    return loss.item()


VARIANTS = ([dict(fusion=k, direction=d) for k in FUSION_KINDS for d in ("m2a", "a2m", "bi")]
            + [dict(fusion=None)]
            + [dict(temporal_filters=p, temporal_init=i) for p in (None, "last", "every", "every+shortcut")
               for i in ("avg", "centre")]
            + [dict(temporal_pool=False), dict(fusion_unit=1, layers=(2, 2, 2, 2)), dict(motion_layers=(1, 2, 1, 1))]
            + [dict(fusion=k, direct_path="both") for k in ("direct_mul", "direct_add")]
            + [dict(filter_units="all", layers=(1, 2, 3, 1)), dict(flow_stacking="forward")])


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_every_variant_builds_and_trains_a_step(kw):
    net = MODELS["two_stream_small"](**TINY, **kw)
    _train_step(net, _x(), torch.tensor([0, 3]))


def test_fusion_and_filter_strings_resolve_to_callables_once():
    conn = get_connection("residual_add", "<->")
    assert conn.func is CrossStreamConnection and conn.keywords == {"kind": "residual_add", "direction": "bi"}
    assert get_connection(None, "m2a") is None
    assert get_connection("direct_mul").keywords == {"kind": "direct_mul", "direction": "m2a", "direct_path": "skip"}
    assert get_connection("direct_add", "m2a", "both").keywords["direct_path"] == "both"
    with pytest.raises(ValueError, match="direct_path"):
        get_connection("direct_add", "m2a", "trunk")
    tf, sites = get_temporal_filters("‡", "avg", 5, "zeros")
    assert tf.func is TemporalFilter and tf.keywords == {"kernel_size": 5, "init": "avg", "padding_mode": "zeros"}
    assert sites == [(True, True)] * 4 and get_temporal_filters(None) == (None, [(False, False)] * 4)
    net = STMultiplierNet(num_classes=3, layers=(1, 1, 1, 1), width=0.125, flow_channels=4, connection=conn,
                          temporal_filter=tf, filter_sites=sites)
    assert len(net.connections) == 4 and all(c.direction == "bi" for c in net.connections)
    assert net.appearance.stages[0][0].tf_shortcut.kernel_size == 5


def _stream_grads(net, rgb, flow):
    """|d logits_s / d input| summed, for s in (appearance, motion) and input in (rgb, flow)."""
    rgb, flow = rgb.clone().requires_grad_(), flow.clone().requires_grad_()
    la, lm = net.stream_logits((rgb, flow))
    out = {}
    for s, logit in (("a", la), ("m", lm)):
        g_rgb, g_flow = torch.autograd.grad(logit.sum(), (rgb, flow), retain_graph=True, allow_unused=True)
        out[s] = tuple(g is not None and g.abs().sum().item() > 0 for g in (g_rgb, g_flow))
    return out


@pytest.mark.parametrize("direction,app_reads_flow,mot_reads_rgb", [
    ("m2a", True, False), ("a2m", False, True), ("bi", True, True), (None, False, False)])
def test_directions_wired_as_named(direction, app_reads_flow, mot_reads_rgb):
    """m2a: the appearance logits depend on the flow, the motion logits never on RGB; a2m the reverse."""
    kw = dict(fusion=None) if direction is None else dict(fusion="residual_mul", direction=direction)
    net = build_model("two_stream_small", **TINY, **kw).eval()
    conns = [m for m in net.modules() if isinstance(m, CrossStreamConnection)]
    assert len(conns) == (0 if direction is None else 4)
    for c in conns:
        assert set(c.receivers) == {r for r, on in (("appearance", app_reads_flow), ("motion", mot_reads_rgb)) if on}
    g = _stream_grads(net, torch.randn(2, 3, 4, 32, 32), torch.randn(2, 2, 4, 32, 32))
    assert g["a"] == (True, app_reads_flow)
    assert g["m"] == (mot_reads_rgb, True)


def test_input_forms_agree():
    net = build_model("two_stream_small", **TINY).eval()
    rgb, flow = torch.randn(2, 3, 5, 32, 32), torch.randn(2, 2, 5, 32, 32)
    stacks = stack_flow(flow, 2)  # (2, 4, 5, 32, 32)
    with torch.no_grad():
        ref = net(torch.cat([rgb, flow], 1))
        assert torch.equal(net((rgb, flow)), ref)
        assert torch.equal(net((rgb, stacks)), ref)
        assert torch.equal(net(torch.cat([rgb, stacks], 1)), ref)
    with pytest.raises(ValueError, match="flow_channels"):
        net(torch.randn(2, 3 + 6, 5, 32, 32))
    with pytest.raises(ValueError, match="tuple"):
        net(torch.randn(2, 5, 32, 32))


@pytest.mark.parametrize("stacking", ["centred", "forward"])
def test_flow_stacking_reaches_the_motion_stream(stacking):
    """The motion stream's conv1 input is stack_flow(flow, L, stacking): forward stacks differ from centred ones."""
    net = build_model("two_stream_small", **TINY, flow_stacking=stacking).eval()
    rgb, flow = torch.randn(2, 3, 5, 32, 32), torch.randn(2, 2, 5, 32, 32)
    seen = []
    hook = net.motion.stem.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        net((rgb, flow))
    hook.remove()
    for stack in ("centred", "forward"):
        expect = stack_flow(flow, 2, stack).transpose(1, 2).reshape(10, 4, 32, 32)  # (B, 2L, T, ...) -> (B*T, 2L, ...)
        assert torch.equal(seen[0], expect) == (stack == stacking)


@pytest.mark.parametrize("direct_path", ["skip", "both"])
def test_direct_connections_feed_the_paths_their_reading_names(direct_path):
    """direct ⊙ ←: the appearance unit behind each connection gets skip = x_a ⊙ relu(x_m) and branch = x_a
    ("skip", the default: g + F(x_a)) or branch = the same fused g ("both": g + F(g)); the motion unit x_m on both."""
    kw = dict(fusion="direct_mul") if direct_path == "skip" else dict(fusion="direct_mul", direct_path=direct_path)
    net = build_model("two_stream_small", **TINY, **kw).eval()
    ins, calls = {}, []
    hooks = [net.connections[s].register_forward_hook(lambda m, a, o, s=s: ins.__setitem__(s, a)) for s in range(4)]
    hooks += [net.appearance.stages[s][0].register_forward_pre_hook(lambda m, a, s=s: calls.append((s, a)))
              for s in range(4)]
    with torch.no_grad():
        net(_x())
    for h in hooks:
        h.remove()
    for s, (skip, branch) in calls:
        x_a, x_m = ins[s]
        assert torch.equal(skip, x_a * torch.relu(x_m))
        assert torch.equal(branch, x_a if direct_path == "skip" else x_a * torch.relu(x_m))
        assert not torch.equal(x_a, x_a * torch.relu(x_m))


def test_fully_convolutional_over_a_longer_clip():
    """Trained on 4 frames, tested on all 16 in one pass. Without temporal filters and pooling the
    long-clip logits are the mean of the per-chunk logits (per-frame predictions averaged)."""
    net = build_model("two_stream_small", **TINY, temporal_filters="every+shortcut")
    _train_step(net, _x(t=4), torch.tensor([1, 2]))
    net.eval()
    with torch.no_grad():
        assert net(_x(b=1, t=16)).shape == (1, 4)
    plain = build_model("two_stream_small", **TINY, temporal_filters=None, temporal_pool=False).eval()
    rgb, stacks = torch.randn(2, 3, 8, 32, 32), torch.randn(2, 4, 8, 32, 32)  # pre-stacked: no clip-edge effects
    with torch.no_grad():
        whole = plain((rgb, stacks))
        chunks = [plain((rgb[:, :, i:i + 4], stacks[:, :, i:i + 4])) for i in (0, 4)]
    torch.testing.assert_close(whole, (chunks[0] + chunks[1]) / 2, rtol=1e-5, atol=1e-6)


def test_temporal_max_pool_head():
    """pool on (eq. 10): max over T, then mean over H, W, then fc; off: fc per frame, mean over T."""
    on = build_model("two_stream_small", **TINY, temporal_pool=True)
    off = build_model("two_stream_small", **TINY, temporal_pool=False)
    off.load_state_dict(on.state_dict())
    c = on.num_features[0]
    feats = torch.randn(2, c, 5, 2, 2), torch.randn(2, c, 5, 2, 2)
    la, lm = on.forward_head(feats, per_stream=True)
    torch.testing.assert_close(la, on.appearance.fc(feats[0].amax(dim=2).mean(dim=(2, 3))))
    torch.testing.assert_close(lm, on.motion.fc(feats[1].amax(dim=2).mean(dim=(2, 3))))
    la_off, _ = off.forward_head(feats, per_stream=True)
    torch.testing.assert_close(la_off, on.appearance.fc(feats[0].mean(dim=(2, 3, 4))))
    # a frame below every other one changes the averaged head, never the max-pooled one
    low = tuple(torch.cat([f, f.amin(dim=2, keepdim=True) - 1], dim=2) for f in feats)
    torch.testing.assert_close(on.forward_head(low), on.forward_head(feats))
    assert not torch.allclose(off.forward_head(low), off.forward_head(feats))
    # max-pool passes gradient to one frame per (channel, position)
    f0 = feats[0].clone().requires_grad_()
    on.forward_head((f0, feats[1]))[0].sum().backward()
    assert ((f0.grad != 0).sum(dim=2) <= 1).all()


def test_losses_and_late_fusion():
    net = build_model("two_stream_small", **TINY, motion_weight=3.0, loss_weights=(1.0, 0.5))
    x, y = _x(), torch.tensor([0, 1])
    net.eval()
    la, lm = net.stream_logits(x)
    out = net.losses(x, y)
    torch.testing.assert_close(out["appearance"], F.cross_entropy(la, y))
    torch.testing.assert_close(out["total"], F.cross_entropy(la, y) + 0.5 * F.cross_entropy(lm, y))
    torch.testing.assert_close(net(x), (la + 3 * lm) / 4)
    torch.testing.assert_close(out["logits"], net(x))
    # same softmax as averaging the log-softmaxes
    torch.testing.assert_close(net(x).softmax(1), ((la.log_softmax(1) + 3 * lm.log_softmax(1)) / 4).softmax(1))


def test_errors_name_the_parameter():
    for kw, match in ((dict(fusion="concat"), "fusion"), (dict(direction="up"), "direction"),
                      (dict(temporal_filters="middle"), "placement"), (dict(flow_channels=3), "flow_channels"),
                      (dict(fusion_unit=1), "fusion_unit"), (dict(temporal_init="gauss"), "init"),
                      (dict(layers=(1, 1, 1)), "layers"), (dict(filter_units="middle"), "filter_units"),
                      (dict(flow_stacking="backward"), "flow_stacking"), (dict(direct_path="x"), "direct_path")):
        with pytest.raises(ValueError, match=match):
            build_model("two_stream_small", num_classes=4, **kw)
    assert isinstance(build_model("two_stream_small", num_classes=4), STMultiplierNet)


def test_fit_trains_a_two_stream_model_on_synthactions_flow(tmp_path, monkeypatch):
    """fit() uses the model's training_loss (sum of both heads' losses) and evaluates fused logits."""
    calls = []
    real = STMultiplierNet.training_loss

    def spy(self, x, y):
        logits, loss = real(self, x, y)
        la, lm = self.stream_logits(x)  # same mode, same batch: the sum of both heads' losses
        calls.append((loss.item(), (F.cross_entropy(la, y) + F.cross_entropy(lm, y)).item()))
        return logits, loss

    monkeypatch.setattr(STMultiplierNet, "training_loss", spy)
    cfg = TrainConfig(model="two_stream_small", model_kwargs=dict(width=0.125, flow_channels=4, dropout=0.0),
                      dataset_kwargs=dict(frames=4, size=32, difficulty="easy", modality="rgb+flow", flow_method="gt"),
                      train_samples=16, val_samples=8, test_samples=8, epochs=1, batch_size=8, device="cpu",
                      cache_data=False)
    result = fit(cfg, tmp_path / "run", progress=False)
    clear_data_cache()
    assert result["finished"] and len(calls) == 1 + 2  # the code fingerprint's first step (train.fingerprint), 2 steps
    for loss, both in calls:
        assert loss == pytest.approx(both, rel=1e-5)
    epoch = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()][0]
    assert epoch["kind"] == "epoch" and epoch["loss"] > 2 * 0.9 * torch.log(torch.tensor(16.0)).item()  # two heads
