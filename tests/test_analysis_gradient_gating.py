"""actionrec.analysis.gradient_gating: eq. 3-4 / 6-7 against autograd for one unit, the gate recorder
and statistics of a two-stream model, the computed sentence; and the shared two-stream config."""

import math

import pytest
import torch
import torch.nn as nn

from actionrec.analysis import gradient_gating as G
from actionrec.layers.fusion import DIRECTIONS, FUSION_KINDS, CrossStreamConnection
from actionrec.models import build_model


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _branch():
    return nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 3, 3, padding=1)).double()


@pytest.mark.parametrize("kind", FUSION_KINDS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_unit_gradients_match_autograd(kind, direction):
    x_a = torch.randn(2, 3, 6, 6, dtype=torch.float64)  # both signs in both streams: f' matters (bi, a2m too)
    x_m = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    w_a, w_m = torch.randn_like(x_a), torch.randn_like(x_m)
    r = G.unit_gradients(CrossStreamConnection(3, 3, kind=kind, direction=direction), _branch(), _branch(), x_a, x_m,
                         w_a, w_m)
    assert r["max_abs_diff_a"] < 1e-12 and r["max_abs_diff_m"] < 1e-12
    assert r["max_abs_diff_paper"] > 1e-3  # dropping f'(x) (eq. 4 / 7 as printed) is wrong where x < 0


def test_multiplicative_gating_scales_by_the_other_stream():
    """⊙: the appearance branch gradient is g ⊙ f(x_m) (zero where the motion gate is closed) and the motion
    stream receives g ⊙ x_a ⊙ f'(x_m); ⊕ passes g unscaled. The identity gate makes the printed form exact."""
    x_a = torch.rand(1, 3, 6, 6, dtype=torch.float64)
    x_m = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    ones = torch.ones_like(x_a)
    fa, fm = _branch(), _branch()
    mul = G.unit_gradients(CrossStreamConnection(3, 3, kind="residual_mul"), fa, fm, x_a, x_m, ones, ones)
    add = G.unit_gradients(CrossStreamConnection(3, 3, kind="residual_add"), fa, fm, x_a, x_m, ones, ones)
    closed = x_m <= 0
    assert torch.equal(mul["gate_a"], x_m.clamp_min(0)) and mul["gate_m"] is None
    assert torch.all((mul["autograd_a"] - ones)[closed] == 0)  # branch part vanishes under closed gates
    assert torch.allclose(mul["autograd_a"] - ones, mul["g_a"] * x_m.clamp_min(0))
    assert torch.allclose(mul["cross_m"], mul["g_a"] * x_a * (~closed))
    assert torch.allclose(add["autograd_a"] - ones, add["g_a"])
    ident = G.unit_gradients(CrossStreamConnection(3, 3, kind="residual_mul", gate="identity"), fa, fm, x_a, x_m,
                             ones, ones)
    assert ident["max_abs_diff_paper"] < 1e-12
    with pytest.raises(ValueError, match="equal channels"):
        G.unit_gradients(CrossStreamConnection(3, 4), fa, fm, x_a, torch.randn(1, 4, 6, 6, dtype=torch.float64),
                         ones, ones)


def _two_stream(fusion="residual_mul", direction="m2a"):
    return build_model("two_stream_small", num_classes=16, width=0.125, temporal_filters=None, flow_channels=4,
                       fusion=fusion, direction=direction)


def test_recorder_reads_the_gate_and_the_branch_gradient():
    net = _two_stream().eval()
    x = torch.randn(2, 5, 4, 16, 16)
    with G.GateRecorder(net) as rec:
        _, loss = net.training_loss(x, torch.tensor([1, 2]))
        loss.backward()
    assert list(rec.records) == [f"connections.{s}" for s in range(4)]
    r = rec.records["connections.1"]["appearance"]
    assert torch.equal(r["gate"], r["x_s"].clamp_min(0)) and r["x_r"].shape[0] == 2 * 4  # folded frames
    assert r["branch_grad"] is not None and r["sender_grad"] is not None and r["skip_grad"] is None
    for h in (net.connections[0]._forward_hooks,):
        assert len(h) == 0  # hooks removed on exit
    with pytest.raises(ValueError, match="no CrossStreamConnection"):
        G.GateRecorder(_two_stream(fusion=None))


def test_gate_statistics_values_and_side_effects():
    x = torch.randn(6, 5, 4, 16, 16)
    y = torch.arange(6)
    moving = torch.zeros(6, 4, 16, 16, dtype=torch.bool)
    moving[:, :, :8] = True
    net = _two_stream()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.eval()
    rows = G.gate_statistics(net, x, y, batch_size=4, moving=moving)
    assert not net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert [r["stage"] for r in rows] == [1, 2, 3, 4] and {r["receiver"] for r in rows} == {"appearance"}
    for r in rows:
        assert set(G.GATE_STAT_KEYS) <= set(r)
        assert 0 <= r["frac_zero"] <= r["frac_near_zero"] <= 1
        assert r["gate_q10"] <= r["gate_q50"] <= r["gate_q90"] and r["gate_rms"] >= r["gate_mean"]
        assert 0 < r["cross_share"] < 1 and r["grad_scale"] > 0
    assert not math.isnan(rows[0]["moving_ratio"])
    # ⊙: grad_scale = ‖g ⊙ s‖ / ‖g‖, from the recorder by hand (one batch)
    net.train()
    with G.GateRecorder(net) as rec:
        xx = x[:4].clone().requires_grad_()
        net.training_loss(xx, y[:4])[1].backward(inputs=[xx])
        rec_a = rec.records["connections.2"]["appearance"]
    net.load_state_dict(before)
    one = G.gate_statistics(net, x[:4], y[:4], batch_size=4)
    g, s = rec_a["branch_grad"], rec_a["gate"]
    assert one[2]["grad_scale"] == pytest.approx(((g * s).norm() / g.norm()).item(), rel=1e-4)
    # ⊕ passes the branch gradient unscaled
    add = G.gate_statistics(_two_stream("residual_add"), x[:4], y[:4])
    assert all(r["grad_scale"] == pytest.approx(1.0) for r in add)
    bi = G.gate_statistics(_two_stream(direction="bi"), x[:4], y[:4])
    assert {r["receiver"] for r in bi} == {"appearance", "motion"} and len(bi) == 8
    with pytest.raises(ValueError, match="moving must be"):
        G.gate_statistics(net, x, y, moving=moving[:, :2])


def test_gating_sentence_reports_first_and_last_epoch():
    def row(epoch, stage, scale, zero, mov):
        return dict(epoch=epoch, stage=stage, receiver="appearance", grad_scale=scale, frac_zero=zero, moving_ratio=mov,
                    gate_rms=1.0)

    hist = [row(0, 1, 1.5, 0.5, 2.0), row(0, 2, 1.2, 0.4, math.nan), row(3, 1, 0.8, 0.6, 0.9), row(3, 2, 2.5, 0.3, math.nan)]
    s = G.gating_sentence(hist)
    assert "From epoch 0 to epoch 3" in s and "stage 1: gradient scale 1.50 → 0.80" in s
    assert "between 0.80× (stage 1) and 2.50× (stage 2)" in s and "0 of 1 gates" in s
    assert "at 1 of 2 connections the branch gradient is concentrated" in s
    with pytest.raises(ValueError, match="empty"):
        G.gating_sentence([])

