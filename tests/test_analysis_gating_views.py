"""actionrec.analysis.gating_views: the gradient-gating chapter's unit by hand (inputs, ⊕ vs ⊙ maps,
moving shares, the eq. 3-4 / 6-7 check) and its gate statistics over snapshots of a run."""

import numpy as np
import pytest
import torch

from actionrec.analysis import gating_views as GV
from actionrec.analysis.gradient_gating import GATE_STAT_KEYS, gate_statistics
from actionrec.data.synthactions import SynthActions
from actionrec.models import build_model

KW = dict(width=0.125, temporal_filters=None, flow_channels=4, fusion="residual_mul", direction="m2a")


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def unit_in():
    ds = SynthActions("test", 4, seed=0, frames=8, size=24, difficulty="easy")
    return ds, GV.unit_example(ds, 1, frames=8)


def test_unit_example_reads_the_middle_of_the_action(unit_in):
    ds, u = unit_in
    w0, w1 = ds.action_window(1)
    assert u["t"] == min(max(int(round((w0 + w1) / 2)), 0), 6)
    assert u["x_a"].shape == u["x_m"].shape == (1, 3, 24, 24) and u["x_a"].dtype == torch.float64
    assert 0 <= u["x_a"].min() and u["x_a"].max() <= 1
    flow = torch.from_numpy(ds.flow(1)[u["t"]]).permute(2, 0, 1).double()
    assert torch.equal(u["x_m"][0, 1:], flow) and torch.allclose(u["x_m"][0, 0], flow.norm(dim=0))
    assert u["moving"].shape == (24, 24) and np.array_equal(u["moving"], (flow.norm(dim=0) > 0.5).numpy())


def test_unit_comparison_panels_shares_and_check(unit_in):
    _, u = unit_in
    a = GV.unit_comparison(u["x_a"], u["x_m"], seed=3)
    b = GV.unit_comparison(u["x_a"], u["x_m"], seed=3)
    assert set(a["unit"]) == set(GV.KINDS)
    assert all(torch.equal(p, q) for p, q in zip(a["branch_a"].parameters(), b["branch_a"].parameters()))  # seeded
    panels = GV.unit_panels(a["unit"], u["x_a"])
    assert [m.shape for m in panels["residual_mul"]] == [(24, 24, 3)] + [(24, 24)] * 4
    gate = a["unit"]["residual_mul"]["gate_a"][0].mean(0).numpy()
    assert np.allclose(panels["residual_mul"][1], gate)
    shares = GV.moving_shares(a["unit"], u["moving"])
    assert [r["kind"] for r in shares] == list(GV.KINDS)
    assert 0 <= shares[0]["app_on_moving"] < shares[1]["app_on_moving"] <= 1 and shares[1]["app_grad_norm"] > 0
    open_gate = (u["x_m"][0, 0] > 0).numpy()  # ⊙: no branch gradient where the gate f(x_m) = |d| is 0
    assert GV.moving_shares(a["unit"], open_gate)[1]["app_on_moving"] == pytest.approx(1.0)
    check = GV.unit_check(a["branch_a"], a["branch_m"], u["x_a"], u["x_m"], seed=0, n_random=2)
    assert check["cases"] == 2 * 3 and [r["kind"] for r in check["rows"]] == list(GV.KINDS)
    assert check["worst"] < 1e-10 and check["paper_gap"] >= 0 and 0 <= check["closed"] <= 1


def test_moving_cells_repeat_the_last_frame():
    flow = np.zeros((2, 3, 4, 4, 2), np.float32)
    flow[0, 2, 1, 1] = (1.0, 0.0)
    m = GV.moving_cells(flow)
    assert m.shape == (2, 4, 4, 4) and m.dtype == torch.bool
    assert m[0, 2, 1, 1] and m[0, 3, 1, 1] and int(m.sum()) == 2


def test_snapshot_history_and_gate_maps_equal_the_statistics_of_each_snapshot(tmp_path):
    paths = {}
    for e in (0, 1):
        net = build_model("two_stream_small", num_classes=16, **KW)
        paths[e] = tmp_path / f"epoch_{e}.pt"
        torch.save(net.state_dict(), paths[e])
    x, y = torch.randn(4, 5, 4, 16, 16), torch.arange(4)
    hist = GV.snapshot_gate_history("two_stream_small", KW, 16, paths, x, y, val_top1={1: 0.5}, batch_size=4)
    assert [(r["epoch"], r["stage"]) for r in hist] == [(e, s) for e in (0, 1) for s in (1, 2, 3, 4)]
    assert [r["val_top1"] for r in hist[::4]] == [None, 0.5]
    net = build_model("two_stream_small", num_classes=16, **KW)
    net.load_state_dict(torch.load(paths[1], weights_only=True))
    direct = gate_statistics(net, x, y, batch_size=4)
    assert [{k: r[k] for k in GATE_STAT_KEYS} for r in hist[4:]] == [{k: r[k] for k in GATE_STAT_KEYS} for r in direct]
    maps = GV.gate_maps("two_stream_small", KW, 16, paths, x[:1])
    assert set(maps) == {0, 1} and maps[0].shape[0] == 4 and (maps[0] >= 0).all()
    header, rows = GV.history_table(hist, (1,))
    assert len(header) == 10 and len(rows) == 4 and rows[0][:2] == [1, "50%"]
