"""actionrec.analysis.trained_fields: the receptive-field chapter's stack table and power law, the
stage fields of a network before and after training, their tables and changes, MixTConv's taps and
the explorer's probe."""

import math

import numpy as np
import pytest
import torch

from actionrec.analysis import probes as PR
from actionrec.analysis import trained_fields as TF
from actionrec.analysis.receptive import rf_stats
from actionrec.experiments.stats import mean_ci
from actionrec.models import build_model
from actionrec.utils.seeding import seed_everything


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def test_stack_rows_and_growth():
    probes = {d: {w: PR.conv_stack_probe(d, positive=w == "positive", frames=12, size=12) for w in ("positive", "random")}
              for d in (1, 2, 3)}
    maps = {d: {"positive": p["positive"].measure(), "random": p["random"].measure(batch=2)} for d, p in probes.items()}
    rows = TF.stack_rows(probes, maps, threshold=0.5)
    assert [(r["depth"], r["theory"], r["support"]) for r in rows] == [(1, 3, 3), (2, 5, 5), (3, 7, 7)]
    assert rows[2]["random_spread"] == rf_stats(maps[3]["random"], thresh=0.5)["spread_frames"]
    g = TF.stack_growth(rows, threshold=0.5)
    spread = [r["random_spread"] for r in rows]
    assert g["slope"] == pytest.approx(np.polyfit(np.log([1, 2, 3]), np.log(spread), 1)[0])
    assert "depths 1–3" in g["sentence"] and "of the 7 it could see" in g["sentence"]


def test_initial_model_is_the_seeded_build():
    a = TF.initial_model("c3d_small", dict(width=0.125), seed=3, num_classes=4)
    seed_everything(3)
    b = build_model("c3d_small", num_classes=4, width=0.125)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def _rows_of(model, seed, nets, x, stage=2):
    run = dict(name=f"{model}-x", model=model, seed=seed, top1=0.5, run_dir="r")
    return TF.stage_fields(run, nets, x, threshold=0.5, stage=stage)


def test_stage_fields_tables_and_changes():
    x = torch.rand(2, 3, 16, 32, 32)
    rows, maps = [], {}
    for seed in (0, 1):
        nets = {"before": TF.initial_model("mtnet32", dict(width=0.125), seed=seed, num_classes=4),
                "after": TF.initial_model("mtnet32", dict(width=0.125), seed=seed + 10, num_classes=4)}
        r, m = _rows_of("mtnet32", seed, nets, x)
        rows += r
        maps.update(m)
    assert {(r["stage"], r["stream"]) for r in rows} == {(k, s) for k in (1, 2, 3, 4) for s in ("short", "long")}
    assert set(maps) == {("mtnet32", s, seed, w) for s in ("short", "long") for seed in (0, 1) for w in ("before", "after")}
    r0 = rows[0]
    assert r0["d_spread_frames"] == r0["after_spread_frames"] - r0["before_spread_frames"]
    header, table = TF.stage_table(rows, threshold=0.5)
    assert header[4] == "frames ≥ 50%" and len(table) == 8 and " → " in table[0][3]
    spread = TF.spread_by_stage(rows, ["mtnet32"])
    sub = [r for r in rows if r["stream"] == "long" and r["stage"] == 3]
    assert spread["mtnet32"]["long"]["stages"] == [1, 2, 3, 4]
    assert spread["mtnet32"]["long"]["after"][2] == pytest.approx(sum(r["after_spread_frames"] for r in sub) / 2)
    keys = [("mtnet32", "short"), ("mtnet32", "long")]
    verdicts = TF.stage_changes(rows, keys, stage=2, threshold=0.5, mean_ci=mean_ci)
    assert list(verdicts) == [f"mtnet32 ({s} stream), stages.1" for s in ("short", "long")]
    assert all(set(v) == {"spread_frames", "support_frames", "frames_50"} for v in verdicts.values())
    moved = TF.spread_moves(rows, keys, stage=2)
    assert sorted(sum(moved.values(), [])) == ["mtnet32 long", "mtnet32 short"]


def test_mixtconv_taps_start_at_the_tsm_shift_only_with_the_tsm_init():
    net = build_model("mstnet_small", num_classes=4, width=0.25, num_segments=8, init="tsm")
    rows = TF.mixtconv_taps({("mstnet_small", 0): {"before": net, "after": net}, ("mtnet32", 0): {}})
    assert rows and {r["when"] for r in rows} == {"before", "after"}
    assert max(r["beyond_1"] for r in rows) == 0  # TSM-like init: nothing beyond ±1 frame
    official = build_model("mstnet_small", num_classes=4, width=0.25, num_segments=8)  # init="official"
    rows_official = TF.mixtconv_taps({("mstnet_small", 0): {"before": official, "after": official}})
    assert max(r["beyond_1"] for r in rows_official) > 0  # the 5- and 7-groups start as sums reaching ±2, ±3
    taps = TF.taps_by_module(rows)
    assert len(taps["modules"]) == len({r["module"] for r in rows}) and all(
        len(v) == len(taps["modules"]) for v in taps["groups"].values())
    assert "training moved more weight there in 0 of 2 (none)" in TF.taps_sentence(rows)  # before == after


def test_explorer_choices_and_view():
    trained = {"trained: c3d_small": "c3d_small"}
    assert TF.field_members("trained: c3d_small", trained=trained, frames=16, size=32) == ["all channels"]
    assert TF.field_members("MixTConv", trained=trained, frames=16, size=32)[-1] == "k=7"
    assert TF.field_weights("MixTConv", trained=trained)[0].startswith("positive")
    v = TF.field_view("MixTConv", "k=3", 3, "positive (support)", trained=trained, nets={}, x=None, frames=16, size=32,
                      rand_batch=2)
    assert v["rf"].shape[0] == 16 and "theory 3" in v["label"] and v["crop"] == 15
    assert set(v["profile"]) == {"k=3"} and math.isclose(float(v["profile"]["k=3"].sum()), 1.0)
    net = build_model("c3d_small", num_classes=4, width=0.125)
    x = torch.rand(1, 3, 16, 32, 32)
    t = TF.field_view("trained: c3d_small", "all channels", 1, "after training", trained=trained,
                      nets={"c3d_small": {"before": net, "after": net}}, x=x, frames=16, size=32, rand_batch=2)
    assert t["crop"] is None and "theory" not in t["label"] and t["title"].startswith("c3d_small ")
