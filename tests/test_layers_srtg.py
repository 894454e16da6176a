"""SRTGate: hard/soft/open/closed gates, per-sample decisions, records, gradients, an LSTM source apart
from the fused tensor (Top) with its time pooling, errors."""

import pytest
import torch

from actionrec.analysis.complexity import count_macs, rnn_macs
from actionrec.layers import squeeze_recursion
from actionrec.layers.cycle_consistency import cycle_consistency
from actionrec.layers.srtg import GATES, GateRecord, SqueezeRecursion, SRTGate, gate_stats, pool_time, srt_gates
from actionrec.models import build_model

C, T, H, W = 8, 6, 5, 5


def clip(batch=2, seed=0):
    return torch.randn(batch, C, T, H, W, generator=torch.Generator().manual_seed(seed))


def pair_one_consistent_one_not(seed=1):
    """pooled, a_star (2, T, C): sample 0 = same trajectory + noise, sample 1 = time-reversed."""
    g = torch.Generator().manual_seed(seed)
    pooled = (2.0 * torch.randn(2, T, C, generator=g) + 3.0).cumsum(dim=1)  # well-separated walk
    noise = 0.05 * torch.randn(2, T, C, generator=g)
    a_star = torch.stack([pooled[0] + noise[0], pooled[1].flip(0)])  # (2, T, C)
    return pooled, a_star


def test_reexport_is_the_one_implementation():
    assert SqueezeRecursion is squeeze_recursion.SqueezeRecursion
    m = SRTGate(C)
    assert isinstance(m.sr, SqueezeRecursion) and isinstance(m.sr.rnn, torch.nn.LSTM)
    assert m.sr.rnn.num_layers == 2 and m.sr.rnn.hidden_size == C
    assert isinstance(SRTGate(C, mode="gru").sr.rnn, torch.nn.GRU)
    assert set(GATES) == {"hard", "soft", "open", "closed"}


@pytest.mark.parametrize("gate", GATES)
def test_shapes_and_record(one_thread, gate):
    torch.manual_seed(0)
    m = SRTGate(C, gate=gate)
    assert m.last is None
    x = clip(3)
    out = m(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert isinstance(m.last, GateRecord)
    assert m.last.open.shape == (3,) and m.last.open.dtype == torch.bool and m.last.score.shape == (3,)
    assert ((m.last.score >= 0) & (m.last.score <= 1)).all()
    # the record explains the output: out = x + score * (fuse - x)
    if gate != "closed":
        expected = x + m.last.score[:, None, None, None, None] * (m.sr(x) - x)
        torch.testing.assert_close(out, expected)
        assert m.last.consistency.weights_ab.shape == (3, T, T)


def test_closed_returns_x_exactly_and_skips_the_lstm(one_thread):
    m = SRTGate(C, gate="closed")
    calls = []
    m.sr.rnn.register_forward_hook(lambda *args: calls.append(1))
    x = clip()
    out = m(x)
    assert out is x and torch.equal(out, x)
    assert calls == [] and m.last.consistency is None and not m.last.open.any()


def test_open_fuses_and_depends_on_lstm(one_thread):
    torch.manual_seed(0)
    m = SRTGate(C, gate="open")
    x = clip()
    out = m(x)
    assert not torch.allclose(out, x)
    torch.testing.assert_close(out, m.sr.fuse(x, m.sr.recur(x)[1]))
    assert m.last.open.all() and torch.equal(m.last.score, torch.ones(2))
    with torch.no_grad():
        m.sr.rnn.weight_hh_l1.add_(0.5 * torch.randn_like(m.sr.rnn.weight_hh_l1))
    assert not torch.allclose(m(x), out)
    m.record = False
    m.last = None
    m(x)
    assert m.last is None


def test_mul_fusion_reaches_the_fuse(one_thread):
    torch.manual_seed(0)
    m = SRTGate(C, gate="open", fusion="mul")
    x = clip()
    torch.testing.assert_close(m(x), x * m.sr.recur(x)[1].transpose(1, 2)[..., None, None])


def test_pool_time_is_adaptive_average_pooling_over_frames():
    seq = torch.arange(2 * 6 * 3, dtype=torch.float64).reshape(2, 6, 3)  # (B, T_s, C)
    assert pool_time(seq, 6) is seq
    torch.testing.assert_close(pool_time(seq, 3), (seq[:, 0::2] + seq[:, 1::2]) / 2)  # pairs of frames
    odd = pool_time(seq[:, :5], 3)  # T_s = 5 -> 3: windows [0, 1], [1, 2, 3], [3, 4]
    expected = torch.stack([seq[:, 0:2].mean(1), seq[:, 1:4].mean(1), seq[:, 3:5].mean(1)], dim=1)
    torch.testing.assert_close(odd, expected)


@pytest.mark.parametrize("gate", ["open", "hard", "soft"])
def test_source_feeds_the_lstm_and_x_is_fused(one_thread, gate):
    """``m(x, source)``: the LSTM reads ``source`` (T_s = 2T frames, other H, W), the gate compares the
    time-pooled sequences and acts on ``x``."""
    torch.manual_seed(0)
    m = SRTGate(C, gate=gate)
    x = clip()  # (2, C, T, H, W)
    source = torch.randn(2, C, 2 * T, H + 2, W + 2, generator=torch.Generator().manual_seed(3))
    out = m(x, source)
    pooled, a_star = m.sr.recur(source)  # (2, 2T, C)
    pooled, a_star = pool_time(pooled, T), pool_time(a_star, T)
    torch.testing.assert_close(m.last.pooled, pooled)
    torch.testing.assert_close(m.last.a_star, a_star)
    cc = cycle_consistency(pooled, a_star)
    assert torch.equal(m.last.open, torch.ones(2, dtype=torch.bool) if gate == "open" else cc.consistent)
    torch.testing.assert_close(out, x + m.last.score[:, None, None, None, None] * (m.sr.fuse(x, a_star) - x))
    if gate == "open":  # differs from the gate on x alone
        assert not torch.allclose(out, m(x))
    with pytest.raises(ValueError, match="source of shape"):
        m(x, source[:, :4])
    with pytest.raises(ValueError, match="source of shape"):
        m(x, source[:1])


def test_hard_decide_matches_cycle_consistency():
    pooled, a_star = pair_one_consistent_one_not()
    cc = cycle_consistency(pooled, a_star)
    assert cc.consistent.tolist() == [True, False]  # the hand-made case is what we think
    m = SRTGate(C, gate="hard")
    opened, score, got = m.decide(pooled, a_star)
    assert torch.equal(opened, cc.consistent)
    assert score.tolist() == [1.0, 0.0]
    assert torch.equal(got.index_ab, cc.index_ab) and torch.equal(got.index_ba, cc.index_ba)


def test_hard_gate_opens_per_sample_in_forward(one_thread, monkeypatch):
    torch.manual_seed(0)
    m = SRTGate(C, gate="hard")
    pooled, a_star = pair_one_consistent_one_not()
    monkeypatch.setattr(m.sr, "recur", lambda x: (pooled, a_star))
    x = clip()
    out = m(x)
    fused = m.sr.fuse(x, a_star)
    assert torch.equal(out[0], fused[0]) and not torch.allclose(out[0], x[0])
    assert torch.equal(out[1], x[1])
    assert m.last.open.tolist() == [True, False]
    assert m.last.consistency.errors[0].sum() == 0 and m.last.consistency.errors[1].all()


def test_hard_gate_real_path_batched_equals_per_sample(one_thread):
    torch.manual_seed(0)
    m = SRTGate(C, gate="hard")
    x = clip(3)
    out = m(x)
    opened = m.last.open
    torch.testing.assert_close(out, torch.where(opened[:, None, None, None, None], m.sr(x), x))
    for i in range(3):  # loop only in the test
        torch.testing.assert_close(m(x[i : i + 1]), out[i : i + 1])
        assert m.last.open.item() == opened[i].item()


def test_soft_gate_gradients_reach_x_lstm_and_score(one_thread, monkeypatch):
    torch.manual_seed(0)
    m = SRTGate(C, gate="soft", temperature=50.0)
    x = clip().requires_grad_()
    out = m(x)
    assert 0 < m.last.score.min() and m.last.score.max() < 1
    assert not m.last.score.requires_grad and not m.last.consistency.soft_score.requires_grad
    assert not m.last.consistency.weights_ab.requires_grad
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in m.sr.rnn.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name

    # the score itself is differentiable: pooled enters the output only through s
    pooled = torch.randn(2, T, C, requires_grad=True)
    a_star = torch.randn(2, T, C).tanh().requires_grad_()
    monkeypatch.setattr(m.sr, "recur", lambda x: (pooled, a_star))
    m(clip()).square().sum().backward()
    assert pooled.grad is not None and pooled.grad.abs().sum() > 0


def test_hard_gate_has_no_gradient_when_closed(one_thread, monkeypatch):
    m = SRTGate(C, gate="hard")
    pooled, _ = pair_one_consistent_one_not()
    a_star = pooled.flip(1).requires_grad_()  # both samples time-reversed: inconsistent
    monkeypatch.setattr(m.sr, "recur", lambda x: (pooled, a_star))
    x = clip().requires_grad_()
    out = m(x)
    assert not m.last.open.any() and torch.equal(out, x)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x)) and not a_star.grad.any()


def test_temperature_changes_soft_score(one_thread):
    torch.manual_seed(0)
    m = SRTGate(C, gate="soft", temperature=0.01)
    x = clip()
    m(x)
    sharp = m.last.score.clone()
    m.temperature = 1e4
    m(x)
    assert not torch.allclose(m.last.score, sharp)
    assert torch.allclose(m.last.score, torch.full((2,), 1 / T), atol=1e-3)  # flat softmax


def test_autocast_keeps_dtype_and_finite(one_thread, monkeypatch):
    torch.manual_seed(0)
    m = SRTGate(C, gate="soft")
    x = clip().bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    assert m.last.consistency.weights_ab.dtype == torch.float32
    # a float32 recurrent output must not promote a bfloat16 stream
    pooled, a_star = pair_one_consistent_one_not()
    monkeypatch.setattr(m.sr, "recur", lambda x: (pooled, a_star.tanh()))
    for gate in ("hard", "soft", "open"):
        m.gate = gate
        assert m(x).dtype == torch.bfloat16, gate


def test_count_macs_on_meta(one_thread):
    lstm = rnn_macs(SRTGate(C).sr.rnn, T)
    assert count_macs(SRTGate(C, gate="closed"), (C, T, H, W)) == 0
    for gate in ("hard", "soft", "open"):
        assert count_macs(SRTGate(C, gate=gate), (C, T, H, W)) >= lstm


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="gate"):
        SRTGate(C, gate="x")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="channels"):
            SRTGate(bad)
    for bad in (0, -1.0, float("nan"), "warm"):
        with pytest.raises(ValueError, match="temperature"):
            SRTGate(C, temperature=bad)
    with pytest.raises(ValueError, match="mode"):
        SRTGate(C, mode="rnn")
    with pytest.raises(ValueError, match="fusion"):
        SRTGate(C, fusion="add")
    m = SRTGate(C)
    with pytest.raises(ValueError, match="gate"):
        m.gate = "half"
    with pytest.raises(ValueError, match=r"\(B, 8, T, H, W\)"):
        m(torch.randn(2, 4, T, H, W))


def test_gate_stats_counts_open_clips_per_gate():
    torch.manual_seed(0)
    net = build_model("r3d_18", num_classes=4, width=0.125, srtg="final", srtg_kwargs={"gate": "open"})
    clips = torch.randn(3, 3, 16, 32, 32)
    batches = [(clips[:2], torch.tensor([0, 1])), (clips[2:], torch.tensor([2]))]
    stats = gate_stats(net, batches)
    assert list(stats) == [n for n, _ in srt_gates(net)] and len(stats) == 8
    assert all(s["open"] == 1.0 and s["score"] == 1.0 and 0.0 <= s["consistent_frames"] <= 1.0 for s in stats.values())
    assert all(s["consistent"] in (0.0, 1 / 3, 2 / 3, 1.0) for s in stats.values())  # the hard test, per clip
    for _, g in srt_gates(net):
        g.gate = "hard"
    hard = gate_stats(net, batches)
    assert all(hard[n]["open"] == hard[n]["consistent"] for n in stats)  # the hard gate opens iff consistent
    first = next(iter(stats))  # sees the same input in both networks
    assert hard[first]["consistent"] == stats[first]["consistent"]
    for _, g in srt_gates(net):
        g.gate = "closed"
    stats = gate_stats(net, [clips])
    assert all(s["open"] == 0.0 and s["score"] == 0.0 and s["consistent_frames"] != s["consistent_frames"]
               and s["consistent"] != s["consistent"] for s in stats.values())
    with pytest.raises(ValueError, match="no SRTGate"):
        gate_stats(build_model("r3d_18", num_classes=4, width=0.125), [clips])
    with pytest.raises(ValueError, match="empty"):
        gate_stats(net, [])
