"""actionrec.papers.srtg: SRTG Table 1's declared claims, the budgets and runs of the placement chapter,
the trained gates' open rates, and the cycle-consistency chapter's toy, perturbations and
explorer view on a tiny gated network."""

import ast
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from actionrec.experiments.chapter import decidable
from actionrec.experiments.params import budget_params
from actionrec.experiments.protocol import evaluate
from actionrec.layers.srtg import SRTGate
from actionrec.papers import srtg as S
from actionrec.papers.srtg import srtg_model_kwargs
from actionrec.papers.synthactions import SYNTH_RECIPE, recipe_config
from actionrec.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def _custom_defaults(notebook: str) -> dict:
    """The parameters cell's budget-"custom"-only block of notebooks/<notebook>.py (every one ``= None``,
    ending before ``device``): ``{parameter: the default in brackets at the end of its comment}``."""
    block = (ROOT / "notebooks" / f"{notebook}.py").read_text().split('# budget "custom" only', 1)[1]
    out = {}
    for line in block.splitlines()[1:]:
        if line.startswith("device ="):
            return out
        name, comment = line.split(" = None  # ", 1)
        out[name] = ast.literal_eval(comment[comment.rstrip().rfind(" (") + 2:].rstrip()[:-1])
    raise AssertionError("no `device =` line after the custom-only block")


def test_claims_are_declared_on_the_reference_variants():
    ref = S.srtg_placement_runs("reference", device="cpu")
    claims = S.SRTG_PLACEMENT_CLAIMS
    assert len({c.name for c in claims}) == len(claims)
    assert all(v in ref for c in (*claims, *S.SRTG_HARD_CHECKS) for v in c.variants)  # every variant trained
    control = claims[0]
    assert control.kind == "superiority" and control.variants == ("r3d-none", S.ORDER_BLIND) and control.delta == 10
    kinds = {c.name: c.kind for c in claims}
    for b in ("r3d", "r(2+1)d"):
        assert kinds[f"{b}: Final beats no SRTG"] == "superiority" and kinds[f"{b}: Final is best"] == "best_of"
        assert kinds[f"{b}: Final > Res > no SRTG"] == "ordering"
        assert kinds[f"{b}: every placement beats no SRTG"] == "worst_of"
    by_name = {c.name: c for c in claims}
    assert by_name["r3d: Final beats no SRTG"].paper_effect == 3.781  # the paper's text
    assert by_name["r(2+1)d: Final beats no SRTG"].paper_effect == 4.686
    assert by_name["r3d: Final > Res > no SRTG"].variants == ("r3d-final", "r3d-res", "r3d-none")
    assert by_name["r3d: every placement beats no SRTG"].variants[0] == "r3d-none"  # the claimed worst first
    assert by_name["r(2+1)d: Final is best"].variants[0] == "r2plus1d-final"  # the claimed best first
    assert all(c.metric == "top1" and c.higher_is_better and c.delta == 1.0 for c in claims[1:])
    t = S.SRTG_TABLE1
    for b, name in (("r3d", "r3d"), ("r2plus1d", "r(2+1)d")):  # Table 1 orders Final > Res > none, all above none
        assert t[b]["final"] > t[b]["res"] > t[b]["none"] and min(t[b][p] for p in t[b] if p != "none") > t[b]["none"]
        assert max(t[b], key=t[b].get) == S.SRTG_BEST_PLACEMENT
    assert [c.kind for c in S.SRTG_HARD_CHECKS] == ["equivalence", "equivalence"]
    assert not set(S.SRTG_HARD_CHECKS) & set(claims)


def test_budgets_and_runs():
    quick, ref = S.SRTG_PLACEMENT_BUDGETS["quick"], S.SRTG_PLACEMENT_BUDGETS["reference"]
    assert ref["seeds"] == tuple(range(6)) and quick["seeds"] == (0, 1, 2)
    assert not {s for b in (quick, ref) for s in b["seeds"]} & set(range(100, 200))  # pilot seeds are 100+
    runs = S.srtg_placement_runs("quick", device="cpu")
    assert list(runs) == ["r3d-none", "r3d-final", S.ORDER_BLIND]  # headline pair + control: 9 runs at 3 seeds
    for name, (cfg, row) in runs.items():
        assert row["variant"] == name
        recipe = recipe_config(cfg.model, cfg.model_kwargs, budget="quick", device="cpu")
        assert cfg == recipe  # the SynthActions recipe, nothing overridden
    cfg, row = runs["r3d-final"]
    assert cfg.model == "r3d_18" and cfg.model_kwargs == srtg_model_kwargs("final", width=0.125, gate="open")
    assert row == {"variant": "r3d-final", "backbone": "r3d", "placement": "final", "gate": "open", "config": "final"}
    assert runs[S.ORDER_BLIND][0].model == "frame_avg2d" and runs[S.ORDER_BLIND][1]["placement"] is None
    assert cfg.epochs == SYNTH_RECIPE["epochs"]["quick"] and cfg.train_samples == SYNTH_RECIPE["train_samples"]
    full = S.srtg_placement_runs("reference", device="cpu")
    assert len(full) == 2 * 5 + 2 + 1 and full["r2plus1d-final-hard"][0].model_kwargs["srtg_kwargs"] == {"gate": "hard"}
    assert full["r3d-res"][0].epochs == SYNTH_RECIPE["epochs"]["reference"]
    with pytest.raises(ValueError, match="budget='custom'"):
        S.srtg_placement_runs("custom")
    with pytest.raises(ValueError, match="depth=20"):
        S.srtg_placement_runs("quick", depth=20)


def test_custom_defaults_are_the_notebooks_and_valid():
    custom = S.SRTG_PLACEMENT_CUSTOM
    assert _custom_defaults("ablation_srtg_placement") == custom  # the brackets of the parameters cell
    assert set(custom["backbones"]) <= {"r3d", "r2plus1d"} and "none" in custom["placements"]
    assert set(custom["placements"]) <= set(S.srtg_placements(custom["depth"]))
    assert custom["gate"] == S.SRTG_PLACEMENT_GATE and custom["hard_row"] == S.SRTG_HARD_ROW
    assert budget_params("custom", custom, seeds=None, depth=34) == ("custom", {"seeds": 3, "depth": 34})
    with pytest.raises(ValueError, match="seeds = 5 applies to budget='custom' only"):
        budget_params("quick", custom, seeds=5, depth=None)


def test_claims_decide_constructed_rows():
    """The quick budget's claims decided on constructed paired rows (the protocol's rules)."""
    noise = {"r3d-none": (0.0, 0.01, -0.01, 0.005), "r3d-final": (0.01, -0.005, 0.0, 0.01),
             S.ORDER_BLIND: (0.0, -0.01, 0.01, 0.0)}  # points / 100, per seed
    rows = [{"variant": v, "seed": s, "top1": top1 + noise[v][s]}
            for s in range(4) for v, top1 in (("r3d-none", 0.80), ("r3d-final", 0.85), (S.ORDER_BLIND, 0.55))]
    ok, not_ok = decidable(S.SRTG_PLACEMENT_CLAIMS, rows)
    assert [c.name for c in ok] == ["control: r3d > order-blind", "r3d: Final beats no SRTG"]
    assert len(not_ok) == len(S.SRTG_PLACEMENT_CLAIMS) - 2
    verdicts, _ = evaluate(ok, rows, by="variant")
    assert verdicts["verdict"].tolist() == ["holds", "holds"]


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
    assert row == {"variant": "r2plus1d-final", "backbone": "r2plus1d", "placement": "final", "gate": "open",
                   "config": "final"}
    assert cfg.model == "r2plus1d_18" and cfg.epochs == 2
    assert cfg.model_kwargs == srtg_model_kwargs("final", width=0.125, gate="open")
    cfg, row = v["r3d-final-hard"]
    assert row == {"variant": "r3d-final-hard", "backbone": "r3d", "placement": "final", "gate": "hard",
                   "config": "final-hard"}
    assert cfg.model_kwargs == srtg_model_kwargs("final", width=0.125, gate="hard")
    assert v["r3d-none"][1] == {"variant": "r3d-none", "backbone": "r3d", "placement": "none", "gate": "none",
                                "config": "none"}
    assert all(row["variant"] == key for key, (_, row) in v.items())
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
