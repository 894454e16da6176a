"""actionrec.analysis.cycle: the joint 2-D projection, one sample of a CycleConsistency as arrays and
its sentence, the view the cycle plots draw, temperature sweeps, SRTGate's recorded sequences, and a
network's gates recorded over clips and tabulated (record_gates, gate_table)."""

import math

import numpy as np
import pytest
import torch

from actionrec.analysis import cycle as C
from actionrec.layers.cycle_consistency import cycle_consistency, squared_distances
from actionrec.layers.srtg import SRTGate, gate_stats

T = 10


def path(C=2):
    """A well-separated open curve (T, C); consecutive frames ~1 apart."""
    s = torch.linspace(0, 1, T)
    xy = torch.stack([(2 + 2 * s) * torch.cos(1.5 * math.pi * s), (2 + 2 * s) * torch.sin(1.5 * math.pi * s)], -1)
    return torch.cat([xy, torch.zeros(T, C - 2)], -1) if C > 2 else xy


def test_project_2d_keeps_distances_of_planar_data():
    a = path(C=6)
    rot = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0)))[0]
    shift = torch.tensor([1.0, -2.0, 0, 0, 0, 0])  # within the curve's plane
    pa, pb = C.project_2d(a @ rot, (a + shift) @ rot)  # one 2-D affine plane: PCA keeps distances
    assert pa.shape == (T, 2) and pb.shape == (T, 2)
    d = lambda x: np.linalg.norm(x[:, None] - x[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(pa), d(a.numpy()), atol=1e-6)
    (p1,) = C.project_2d(torch.arange(4.0)[:, None])  # C = 1 is padded, not projected
    assert p1.tolist() == [[0, 0], [1, 0], [2, 0], [3, 0]]
    with pytest.raises(ValueError, match="same C"):
        C.project_2d(torch.zeros(3, 4), torch.zeros(3, 5))


def test_sample_and_sentence():
    a = path()
    b = a.clone()
    b[6] = a[2] + 0.2  # one glitch: frame 6 of B sits next to frame 2 of A
    cc = cycle_consistency(a[None], b[None])
    s = C.cycle_sample(cc)
    assert s["w_ab"].shape == (T, T) and s["ok"].tolist() == (~cc.errors[0]).tolist() and not s["consistent"]
    assert s["sentence"] == C.gate_sentence(cc) and "gate CLOSED" in s["sentence"]
    assert f"{T - int(cc.errors[0].sum())}/{T}" in s["sentence"]
    assert "gate OPEN" in C.gate_sentence(cycle_consistency(a[None], a[None] + 0.01))
    with pytest.raises(ValueError, match="sample"):
        C.cycle_sample(cc, sample=1)


def test_view_computes_cc_and_projects_the_soft_matches():
    a = path(5)
    v = C.cycle_view(a, a.flip(0), temperature=0.5)
    cc = cycle_consistency(a[None].double(), a.flip(0)[None].double(), temperature=0.5)
    np.testing.assert_array_equal(v["w_ab"], cc.weights_ab[0].numpy())
    assert v["pa"].shape == v["pb"].shape == v["pt"].shape == (T, 2)
    batch = cycle_consistency(torch.stack([a, a]), torch.stack([a + 0.01, a.flip(0)]))
    assert not C.cycle_view(a, a.flip(0), batch, sample=1)["consistent"]
    assert "pa" not in C.cycle_view(cc=batch, sample=0)
    with pytest.raises(ValueError, match="same"):
        C.cycle_view(a, a[:-1])
    with pytest.raises(ValueError, match="sequences"):
        C.cycle_view()


def test_temperature_sweep_values():
    a = path()
    st = C.cycle_sweep({"same": (a, a + 0.01), "reversed": (a, a.flip(0))}, [0.1, 1.0, 100.0])
    assert st["same"]["open"].tolist()[:2] == [1.0, 1.0] and st["reversed"]["open"].tolist() == [0.0, 0.0, 0.0]
    assert st["same"]["score"][0] > st["same"]["score"][2]  # a hotter softmax is flatter


@pytest.mark.parametrize("gate", ["hard", "soft", "open"])
def test_gate_record_keeps_the_compared_sequences(one_thread, gate):
    torch.manual_seed(0)
    m = SRTGate(4, gate=gate)
    x = torch.randn(2, 4, 5, 3, 3)
    m(x)
    pooled, a_star = m.sr.recur(x)
    torch.testing.assert_close(m.last.pooled, pooled)
    torch.testing.assert_close(m.last.a_star, a_star)
    assert not m.last.pooled.requires_grad and not m.last.a_star.requires_grad
    cc = cycle_consistency(m.last.pooled, m.last.a_star)
    assert torch.equal(cc.consistent_frames, m.last.consistency.consistent_frames)
    m.gate = "closed"
    m(x)
    assert m.last.pooled is None and m.last.a_star is None


def _gated_net():
    """Two SRTGates ("a.srtg", "b.srtg") on 3-channel clips, then a 4-way head (eval mode)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("a", torch.nn.Sequential())
    net.a.add_module("srtg", SRTGate(3, gate="soft"))
    net.add_module("b", torch.nn.Sequential())
    net.b.add_module("srtg", SRTGate(3, gate="hard"))
    net.add_module("pool", torch.nn.AdaptiveAvgPool3d(1))
    net.add_module("flat", torch.nn.Flatten())
    net.add_module("head", torch.nn.Linear(3, 4))
    return net.eval()


def test_record_gates_concatenates_every_gate_over_batches(one_thread):
    net = _gated_net()
    x = torch.randn(5, 3, 6, 4, 4, generator=torch.Generator().manual_seed(2))
    logits, recs = C.record_gates(net, x, batch=2)
    assert logits.shape == (5, 4) and list(recs) == ["a.srtg", "b.srtg"]
    whole_logits, whole = C.record_gates(net, x, batch=64)
    torch.testing.assert_close(logits, whole_logits)
    stats = gate_stats(net, [x])
    for n, r in recs.items():
        assert r["pooled"].shape == r["a_star"].shape == (5, 6, 3) and r["open"].shape == (5,)
        torch.testing.assert_close(r["pooled"], whole[n]["pooled"])
        assert r["open"].float().mean().item() == pytest.approx(stats[n]["open"])
        assert r["cc"].consistent_frames.float().mean().item() == pytest.approx(stats[n]["consistent_frames"])
    with pytest.raises(ValueError, match="no SRTGate"):
        C.record_gates(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_gate_table_spread_and_flatness():
    z = torch.tensor([[[0.0, 0.0], [2.0, 0.0]]])  # (1, T=2, C=2): frames 1 from their mean
    assert C.temporal_spread(z) == pytest.approx(1.0)
    a = path()[None]  # (1, T, 2)
    same, rev = cycle_consistency(a, a), cycle_consistency(a, a.flip(1))
    still = a.mean(1, keepdim=True).expand_as(a)  # every frame of B the same: every frame of A lands on frame 0
    assert C.landing_frames(same) == T and C.landing_frames(cycle_consistency(a, still)) == 1
    recs = {"layer1.0.srtg": dict(pooled=a, a_star=a, cc=same),
            "layer4.1.srtg": dict(pooled=a, a_star=a.flip(1), cc=rev)}
    stats = {"layer1.0.srtg": dict(open=1.0, score=0.9, consistent_frames=1.0),
             "layer4.1.srtg": dict(open=0.0, score=0.1, consistent_frames=0.0)}
    table = C.gate_table(recs, stats)
    assert [r["gate"] for r in table] == ["layer1.0", "layer4.1"]
    assert table[0]["frames"] == T and table[0]["channels"] == 2
    assert table[0]["dist_pooled_a_star"] == pytest.approx(squared_distances(a, a).mean().item())  # all frame pairs
    assert table[0]["spread_pooled"] == pytest.approx(C.temporal_spread(a)) and table[0]["landing_frames"] == T
    s = C.gate_table_sentence(table)
    assert s.startswith("**In this run** the hard gate opened for at least one test clip in 1 of 2 layers "
                        "(mean open rate 50.0%).") and f"land on {T:.1f} distinct frames" in s
    flat = C.soft_match_flatness(same)
    assert flat["landing_frames"] == T and 1 / T < flat["row_max"] <= 1 and flat["row_tv"] > 0
