"""actionrec.papers.srtg: SRTG Table 1's placement claims decided on constructed summaries, the runs of
the table, the trained gates' open rates, and the cycle-consistency chapter's toy, perturbations and
explorer view on a tiny gated network."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from actionrec.layers.srtg import SRTGate
from actionrec.papers import srtg as S
from actionrec.papers.srtg import srtg_model_kwargs, srtg_placement_claim
from actionrec.train import TrainConfig


def _entry(r, mean, ci, n=3):
    return {"label": f"r={r}", "r": r, "mean": mean, "ci": ci, "n": n, "std": ci, "metric": "top1",
            "lo": mean - ci, "hi": mean + ci, "confidence": 0.95}


def _pentry(p, mean, ci, n=3):
    return {**_entry(0, mean, ci, n), "label": f"placement={p}", "placement": p}


def test_placement_claim_clear_nominal_and_failing():
    clear = [_pentry("none", 0.70, 0.01), _pentry("start", 0.75, 0.01), _pentry("mid", 0.76, 0.01),
             _pentry("final", 0.85, 0.01)]
    v = srtg_placement_claim(clear)
    assert v["holds"] and v["clear"] and v["best"] == "final" and "hold clearly" in v["sentence"]
    assert set(v["vs_none"]) == {"start", "mid", "final"}
    noisy = [_pentry("none", 0.70, 0.08), _pentry("res", 0.72, 0.08), _pentry("final", 0.74, 0.08)]
    v = srtg_placement_claim(noisy)
    assert v["holds"] and not v["clear"] and "nominally" in v["sentence"]
    worse = [_pentry("none", 0.80, 0.01), _pentry("start", 0.70, 0.01), _pentry("final", 0.85, 0.01)]
    v = srtg_placement_claim(worse)
    assert not v["holds"] and "do not hold" in v["sentence"] and not v["all_beat_none"]
    mixed = [_pentry("none", 0.70, 0.08), _pentry("start", 0.76, 0.08), _pentry("final", 0.73, 0.08)]
    v = srtg_placement_claim(mixed)
    assert not v["holds"] and "not supported" in v["sentence"] and v["best"] == "start"
    with pytest.raises(ValueError, match="'none'"):
        srtg_placement_claim([_pentry("final", 0.8, 0.01)])


def test_placement_claim_counts_only_the_rows_of_one_gate():
    summary = [{**_pentry("none", 0.70, 0.01), "gate": "none"}, {**_pentry("mid", 0.75, 0.01), "gate": "open"},
               {**_pentry("final", 0.80, 0.01), "gate": "open"}, {**_pentry("final", 0.60, 0.01), "gate": "hard"}]
    v = srtg_placement_claim(summary, gate="open")
    assert v["holds"] and v["clear"] and set(v["vs_none"]) == {"mid", "final"}
    assert v["vs_none"]["final"]["diff"] == pytest.approx(0.10)
    with pytest.raises(ValueError, match=r"several entries for placement\(s\) \['final'\]"):
        srtg_placement_claim(summary)
    assert not srtg_placement_claim(summary[:1] + summary[3:], gate="hard")["holds"]


def test_srtg_model_kwargs():
    assert srtg_model_kwargs("none", width=0.25, gate="hard") == dict(width=0.25, srtg=None)
    assert srtg_model_kwargs("final", width=0.25, gate="soft") == dict(width=0.25, srtg="final",
                                                                       srtg_kwargs={"gate": "soft"})
    # Top names its fusion site, so a run of the paper's Top is not keyed like one of the old reading
    assert srtg_model_kwargs("top", width=0.25, gate="open") == dict(width=0.25, srtg="top", srtg_kwargs={"gate": "open"},
                                                                     srtg_top_fusion="conv3")
    assert srtg_model_kwargs("top", width=0.25, gate="open", top_fusion="conv2")["srtg_top_fusion"] == "conv2"


def test_placements_and_variants():
    assert S.srtg_placements(18) == ["none", "start", "mid", "res", "final"] == S.srtg_placements(34)
    assert S.srtg_placements(50) == ["none", "start", "top", "mid", "end", "res", "final"]
    assert S.SRTG_PLACEMENT_GATE == "open" and S.SRTG_HARD_ROW == "final"
    base = TrainConfig(epochs=2)
    v = S.srtg_placement_variants(base, backbones=["r3d", "r2plus1d"], depth=18, placements=["none", "final"],
                                  width=0.125)
    # the claim-bearing runs first (open gates), then one paper-literal hard-gate run per backbone
    assert list(v) == ["r3d-none", "r3d-final", "r2plus1d-none", "r2plus1d-final", "r3d-final-hard",
                       "r2plus1d-final-hard"]
    cfg, row = v["r2plus1d-final"]
    assert row == {"backbone": "r2plus1d", "placement": "final", "gate": "open", "config": "final"}
    assert cfg.model == "r2plus1d_18" and cfg.epochs == 2
    assert cfg.model_kwargs == srtg_model_kwargs("final", width=0.125, gate="open")
    cfg, row = v["r3d-final-hard"]
    assert row == {"backbone": "r3d", "placement": "final", "gate": "hard", "config": "final-hard"}
    assert cfg.model_kwargs == srtg_model_kwargs("final", width=0.125, gate="hard")
    assert v["r3d-none"][1] == {"backbone": "r3d", "placement": "none", "gate": "none", "config": "none"}
    soft = S.srtg_placement_variants(base, backbones=["r3d"], depth=50, placements=["none", "top"], width=0.125,
                                     gate="soft", hard_row=None)
    assert list(soft) == ["r3d-none", "r3d-top"] and soft["r3d-top"][0].model_kwargs["srtg_top_fusion"] == "conv3"
    hard = S.srtg_placement_variants(base, backbones=["r3d"], depth=18, placements=["none", "final"], width=0.125,
                                     gate="hard")
    assert list(hard) == ["r3d-none", "r3d-final"]  # the placement rows are already hard


class _Pool(nn.Module):
    def forward(self, x):  # (N, C, T, H, W) -> (N, C)
        return x.mean(dim=(2, 3, 4))


def tiny_gated(gate="soft", seed=0):
    """Two SRTGates on 3-channel clips ("layer1.srtg", "layer2.srtg"), then a 4-way head."""
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict(
        layer1=nn.Sequential(OrderedDict(srtg=SRTGate(3, gate=gate))),
        layer2=nn.Sequential(OrderedDict(srtg=SRTGate(3, gate=gate))),
        pool=_Pool(), head=nn.Linear(3, 4))).eval()


def clips(n=6, t=6):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, t, 4, 4, generator=g), torch.arange(n) % 4


def test_gate_open_rates_and_sentence(monkeypatch):
    net = tiny_gated()
    monkeypatch.setattr(S, "load_model", lambda run_dir: net)
    x, y = clips()
    rows = [{"placement": "none"}, {"placement": "final", "run_dir": "a"},
            {"placement": "final", "run_dir": "b", "error": "non-finite loss"}]
    S.add_gate_open_rates(rows, [(x[:3], y[:3]), (x[3:], y[3:])])
    assert rows[0]["gate_open"] is None and rows[2]["gate_open"] is None and "gate_score" not in rows[2]
    assert set(rows[1]["gate_open_per_layer"]) == {"layer1.srtg", "layer2.srtg"}
    assert rows[1]["gate_open"] == pytest.approx(sum(rows[1]["gate_open_per_layer"].values()) / 2)
    assert 0 <= rows[1]["gate_score"] <= 1
    assert S.gate_open_sentence([{"gate_open": None}]) is None
    assert S.gate_open_sentence([{"gate_open": 0.01}, {"gate_open": 0.03}]).startswith(
        "**The gates were almost always closed:** 2.00% of (gate, test clip) pairs were open, averaged over the 2")
    assert S.gate_open_sentence([{"gate_open": 0.5}]) == ("The gates were open for 50.0% of (gate, test clip) pairs "
                                                          "on average.")


def _open_first_clip(monkeypatch, gate):
    """Make ``gate`` (hard) open for clip 0 of every batch and closed for the others."""
    decide = gate.decide

    def first_open(pooled, a_star):
        opened, score, cc = decide(pooled, a_star)
        opened = torch.zeros_like(opened)
        opened[0] = True
        return opened, opened.to(score.dtype), cc

    monkeypatch.setattr(gate, "decide", first_open)


def test_hard_gate_check_measures_the_bypass(monkeypatch):
    net = tiny_gated("hard")
    x, y = clips()
    batches = [(x[:3], y[:3]), (x[3:], y[3:])]
    closed = S.hard_gate_check(net, batches)
    assert closed["clips"] == 6 and closed["open"] == 0.0 and closed["clips_any_open"] == 0.0
    assert closed["max_abs_diff"] == 0.0 and closed["max_abs_diff_closed"] == 0.0
    assert closed["open_per_gate"] == {"layer1.srtg": 0.0, "layer2.srtg": 0.0}
    assert [g.gate for _, g in S.srt_gates(net)] == ["hard", "hard"]  # modes restored
    _open_first_clip(monkeypatch, net.layer2.srtg)  # clips 0 and 3 (first of each batch) fuse at layer2
    some = S.hard_gate_check(net, batches)
    assert some["open_per_gate"] == {"layer1.srtg": 0.0, "layer2.srtg": pytest.approx(2 / 6)}
    assert some["open"] == pytest.approx(1 / 6) and some["clips_any_open"] == pytest.approx(2 / 6)
    assert some["max_abs_diff"] > 1e-6 and some["max_abs_diff_closed"] == 0.0
    for _, g in S.srt_gates(net):
        g.gate = "open"
    with pytest.raises(ValueError, match="must be 'hard'"):
        S.hard_gate_check(net, batches)
    with pytest.raises(ValueError, match="no SRTGate"):
        S.hard_gate_check(nn.Sequential(_Pool(), nn.Linear(3, 4)), batches)
    with pytest.raises(ValueError, match="empty"):
        S.hard_gate_check(tiny_gated("hard"), [])


def test_hard_rows_get_the_bypass_check_and_sentences(monkeypatch):
    nets = {"open": tiny_gated("open"), "hard": tiny_gated("hard")}
    monkeypatch.setattr(S, "load_model", lambda run_dir: nets[run_dir])
    x, y = clips()
    rows = [{"placement": "final", "gate": "open", "run_dir": "open"},
            {"placement": "final", "gate": "hard", "run_dir": "hard"}]
    S.add_gate_open_rates(rows, iter([(x[:3], y[:3]), (x[3:], y[3:])]))  # a one-pass iterable is kept
    assert rows[0]["gate_open"] == 1.0 and "bypass_max_diff" not in rows[0]
    assert 0 <= rows[0]["gate_consistent"] <= 1
    assert rows[1]["gate_open"] == 0.0 and rows[1]["clips_any_open"] == 0.0
    assert rows[1]["bypass_max_diff"] == 0.0 == rows[1]["bypass_max_diff_closed"]
    s = S.gate_open_sentence(rows)
    assert s.startswith("The open gates fused the LSTM output on every clip; the paper's hard test would have passed")
    assert "**The hard gates were almost always closed:** 0.00%" in s
    h = S.hard_gate_sentence(rows)
    assert h.startswith("**The paper's hard gate** (1 trained networks, placement final): open for 0.00%")
    assert "differ by at most 0 (0 on the clips whose gates were all closed): on these clips" in h
    assert S.hard_gate_sentence(rows[:1]) is None


def test_toy_cycle_cases():
    a, cases = S.toy_cycle_cases(frames=12, seed=0)
    assert a.shape == (12, 2) and a.dtype == torch.float64
    assert list(cases) == ["same path + noise", "one glitch (t = 7)", "time-reversed", "shuffled", "speed ×2",
                           "LSTM-like (smoothed, shrunk)"]
    noisy = cases["same path + noise"]
    assert torch.equal(cases["time-reversed"], noisy.flip(0))
    assert sorted(cases["shuffled"].tolist()) == sorted(noisy.tolist())
    assert torch.equal(cases["speed ×2"][:6], noisy[0::2])
    glitch = cases["one glitch (t = 7)"]
    assert torch.equal(glitch[7], a[3] + 0.3) and torch.equal(glitch[:7], noisy[:7])
    a2, cases2 = S.toy_cycle_cases(frames=12, seed=0)
    assert all(torch.equal(cases[k], cases2[k]) for k in cases)


def test_perturbed_gate_records_and_sentence():
    net = tiny_gated()
    x, y = clips()
    p = S.perturbed_gate_records(net, x, y, seed=0)
    assert list(p) == ["none", "reverse", "shuffle", "speed x0.5", "speed x2"]
    ref = S.gate_stats(net, [(x, y)])
    for n in ("layer1.srtg", "layer2.srtg"):
        assert p["none"]["stats"][n]["open"] == pytest.approx(ref[n]["open"])
        assert p["none"]["recs"][n]["pooled"].shape == (6, 6, 3)
    assert p["none"]["top1"] == pytest.approx((net(x).argmax(1) == y).float().mean().item())
    s = S.perturbation_sentence(p)
    assert s.startswith("**In this run**, largest change over the layers: reverse: top-1 ")
    assert s.count(" pt of the original") == 4 and "none:" not in s


def test_gate_explorer_view():
    net = tiny_gated()
    x, y = clips()
    v = S.gate_explorer_view(net, x, y, clip_index=2, gate_name="layer2.srtg", perturbation="reverse",
                             temperature=0.5, classes=["a", "b", "c", "d"])
    assert v["clip"].shape == (3, 6, 4, 4) and torch.equal(v["clip"], x[2].flip(1))
    assert v["view"]["w_ab"].shape == (6, 6) and v["view"]["pa"].shape == (6, 2)
    assert v["clip_title"].startswith("clip 2 (c), reverse: predicted ") and "own gate at τ = 1: " in v["clip_title"]
    assert v["panel_title"] == "layer2 at τ = 0.5"
    with pytest.raises(ValueError, match="gate_name='layer3.srtg' is invalid"):
        S.gate_explorer_view(net, x, gate_name="layer3.srtg")
