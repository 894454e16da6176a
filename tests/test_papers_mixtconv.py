"""actionrec.papers.mixtconv: the chapter's declared claims, budgets and runs on the SynthActions
recipe, the run of each row of the table, and the analyses of a grid's rows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from actionrec.experiments.grid import config_tag
from actionrec.experiments.params import budget_params
from actionrec.experiments.protocol import KINDS, Claim, evaluate
from actionrec.models import build_model
from actionrec.papers.mixtconv import (MIXTCONV_BASELINES, MIXTCONV_BUDGETS, MIXTCONV_CUSTOM, MIXTCONV_FRAMES,
                                       MIXTCONV_INIT, MIXTCONV_KERNEL_CLAIMS, MIXTCONV_KERNEL_PAPER, MIXTCONV_WIDTH,
                                       mixtconv_frame_order_sentence, mixtconv_init_reach, mixtconv_init_table,
                                       mixtconv_kernels_label, mixtconv_learned_taps, mixtconv_model,
                                       mixtconv_paper_table, mixtconv_runs)
from actionrec.papers.synthactions import SYNTH_RECIPE, recipe_config
from actionrec.train import TrainConfig

CONTROL = "control: TSM > TSN (order-blind)"
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


def test_claims_declared_with_kinds_deltas_and_the_papers_numbers():
    assert all(isinstance(c, Claim) and c.kind in KINDS for c in MIXTCONV_KERNEL_CLAIMS)
    by = {c.name: c for c in MIXTCONV_KERNEL_CLAIMS}
    assert len(by) == len(MIXTCONV_KERNEL_CLAIMS)  # names are unique
    assert [by[n].kind for n in by] == ["superiority", "non_inferiority", "best_of"]
    control = by[CONTROL]  # the positive control: a temporal network against the order-blind TSN
    assert control.variants == ("tsm", "tsn") and control.delta == 10.0 and "9/16" in control.delta_reason
    assert control.paper_effect == pytest.approx(MIXTCONV_KERNEL_PAPER["tsm"]["top1"] - MIXTCONV_KERNEL_PAPER["tsn"]["top1"])
    head = by["MixTConv {1,3,5,7} >= TSM"]
    assert head.variants == ("ks1357", "tsm") and head.paper_effect == pytest.approx(1.1)
    best = by["{1,3,5,7} is the best kernel setting"]
    assert best.variants[0] == "ks1357"
    assert set(best.variants) == set(MIXTCONV_KERNEL_PAPER) - {"tsn", "tsm"}  # every MixTConv setting of the table
    for c in MIXTCONV_KERNEL_CLAIMS:
        assert c.metric == "top1" and c.higher_is_better and c.delta > 0 and c.delta_reason and c.paper
        assert set(c.variants) <= set(MIXTCONV_KERNEL_PAPER)
    assert {c.delta for c in MIXTCONV_KERNEL_CLAIMS if c.name != CONTROL} == {1.0}


def test_budgets_quick_runs_the_headline_pair_and_the_control_reference_every_claims_variants():
    quick, ref = MIXTCONV_BUDGETS["quick"], MIXTCONV_BUDGETS["reference"]
    assert set(quick["variants"]) == {"tsn", "tsm", "ks1357"} and quick["seeds"] == (0, 1, 2)
    assert ref["seeds"] == tuple(range(6))  # n = 6, the protocol's minimum, until a pilot sizes it
    for plan in (quick, ref):
        assert not set(plan["seeds"]) & set(range(100, 200))  # pilot seeds (100+) are disjoint
    claimed = {v for c in MIXTCONV_KERNEL_CLAIMS for v in c.variants}
    assert claimed <= set(ref["variants"]) and set(ref["variants"]) == set(MIXTCONV_KERNEL_PAPER)
    assert set(mixtconv_runs("reference")) == set(ref["variants"])  # every claim's variants are trained at reference
    headline = next(c for c in MIXTCONV_KERNEL_CLAIMS if c.kind == "non_inferiority")
    control = next(c for c in MIXTCONV_KERNEL_CLAIMS if c.name == CONTROL)
    assert set(headline.variants) | set(control.variants) == set(quick["variants"])


def test_custom_defaults_are_the_notebooks_and_valid():
    assert _custom_defaults("ablation_mixtconv_kernels") == MIXTCONV_CUSTOM  # the brackets of the parameters cell
    assert MIXTCONV_CUSTOM["configs"] == list(MIXTCONV_KERNEL_PAPER)  # all nine rows: baselines and MixTConv
    assert set(MIXTCONV_BASELINES) <= set(MIXTCONV_CUSTOM["configs"])
    assert MIXTCONV_CUSTOM["mixtconv_init"] == MIXTCONV_INIT
    assert budget_params("custom", MIXTCONV_CUSTOM, mixtconv_init="tsm", seeds=None) == (
        "custom", {"mixtconv_init": "tsm", "seeds": 3})
    with pytest.raises(ValueError, match="mixtconv_init = 'tsm' applies to budget='custom' only"):
        budget_params("quick", MIXTCONV_CUSTOM, mixtconv_init="tsm", seeds=None)


def test_runs_are_built_with_the_recipe_at_8_frames():
    for budget, plan in MIXTCONV_BUDGETS.items():
        runs = mixtconv_runs(budget, device="cpu")
        assert list(runs) == list(plan["variants"]) and all(e == {"variant": k} for k, (_, e) in runs.items())
        for name, (cfg, _) in runs.items():
            m = mixtconv_model(name, num_segments=MIXTCONV_FRAMES, width=MIXTCONV_WIDTH)
            expected = recipe_config(m["model"], m["model_kwargs"], budget=budget, device="cpu", frames=MIXTCONV_FRAMES)
            assert cfg == expected
            assert cfg.dataset_kwargs["frames"] == cfg.model_kwargs["num_segments"] == 8
            assert cfg.epochs == SYNTH_RECIPE["epochs"][budget] and cfg.lr == SYNTH_RECIPE["lr"]
            assert cfg.batch_size == SYNTH_RECIPE["batch_size"] and cfg.train_samples == SYNTH_RECIPE["train_samples"]
            assert cfg.test_samples == SYNTH_RECIPE["test_samples"] and cfg.dataset_kwargs["difficulty"] == "medium"
        assert runs["tsn"][0].model == "tsn_small" and runs["ks1357"][0].model_kwargs["init"] == MIXTCONV_INIT
    assert {cfg.epochs for cfg, _ in mixtconv_runs("quick").values()} == {SYNTH_RECIPE["epochs"]["quick"]}
    assert list(mixtconv_runs("quick", variants=["ks3_d123"])) == ["ks3_d123"]
    with pytest.raises(ValueError, match="budget"):
        mixtconv_runs("huge")
    with pytest.raises(ValueError, match=r"variants=\['ks9'\]"):
        mixtconv_runs("quick", variants=["ks9"])


def _rows(values, metric="top1", **fields):
    return [{"variant": v, "seed": k, metric: x, **fields} for v, xs in values.items() for k, x in enumerate(xs)]


def test_claims_decide_on_paired_rows():
    """The declared claims run through evaluate: a clear control holds, a tied headline pair is
    within the non-inferiority margin."""
    top1 = {"tsn": [0.50, 0.52, 0.51, 0.50, 0.53, 0.52], "tsm": [0.80, 0.83, 0.81, 0.80, 0.84, 0.82],
            "ks1357": [0.801, 0.831, 0.809, 0.801, 0.839, 0.821]}
    verdicts, _ = evaluate(MIXTCONV_KERNEL_CLAIMS[:2], _rows(top1), by="variant")
    v = dict(zip(verdicts["claim"], verdicts["verdict"]))
    assert v[CONTROL] == "holds" and v["MixTConv {1,3,5,7} >= TSM"] == "holds"

def test_mixtconv_model_and_kernels_label():
    assert mixtconv_model("tsm", num_segments=8, width=0.125) == dict(
        model="tsm_small", model_kwargs=dict(num_segments=8, width=0.125))
    d = mixtconv_model("ks3_d123", num_segments=8, width=0.125)
    assert d == dict(model="mstnet_small", model_kwargs=dict(num_segments=8, width=0.125, kernels=[3, 3, 3],
                                                             dilations=[1, 2, 3], init="official"))
    assert mixtconv_model("ks1357", num_segments=8, width=0.125)["model_kwargs"]["dilations"] is None
    assert MIXTCONV_INIT == "official"
    assert mixtconv_model("ks1357", num_segments=8, width=0.125, init="tsm")["model_kwargs"]["init"] == "tsm"
    with pytest.raises(ValueError, match="init='shift' is invalid"):
        mixtconv_model("ks3", num_segments=8, width=0.125, init="shift")
    assert mixtconv_kernels_label("tsm") == "shift ±1 (1/8 + 1/8)" and mixtconv_kernels_label("tsn") == "—"
    assert mixtconv_kernels_label("ks1357") == "1,3,5,7" and mixtconv_kernels_label("ks3_d123") == "3,3,3 (dil. 1,2,3)"




def test_paper_table_means_beside_the_papers_rows():
    rows = _rows({"ks1357": [0.8, 0.9], "tsn": [0.5, 0.52], "tsm": [0.8, None]}, gmacs=0.0147, params_m=0.13)
    for r, s in zip(rows, [0.1, 0.2, 0.5, 0.4, 0.1, 0.1]):
        r["swapped"] = s
    t = mixtconv_paper_table(rows)
    assert list(t["variant"]) == ["tsn", "tsm", "ks1357"]  # the paper's row order
    assert list(t["n"]) == [2, 1, 2] and t["top-1 (%)"].tolist() == pytest.approx([51.0, 80.0, 85.0])
    assert t["swapped (%)"].tolist() == pytest.approx([45.0, 10.0, 15.0]) and t["val AUC (%)"].isna().all()
    assert t["paper top-1 (SSv1)"].tolist() == [19.7, 45.6, 46.7] and t["temporal kernels"][2] == "1,3,5,7"
    with pytest.raises(ValueError, match=r"unknown variant values \['ks9'\]"):
        mixtconv_paper_table(_rows({"ks9": [0.5]}))
    with pytest.raises(ValueError, match="'variant' column"):
        mixtconv_paper_table([{"config": "tsn", "top1": 0.5}])


def test_frame_order_sentence_per_seed():
    rows = _rows({"tsn": [0.50, 0.60], "tsm": [0.8, 0.8]})
    for r, s in zip(rows, [0.5, 0.52, 0.1, 0.12]):
        r["swapped"] = s
    s = mixtconv_frame_order_sentence(rows)
    assert s.startswith("**Frame order.** TSN's test top-1 per seed: 50.0/60.0% — 1 of 2 runs at or below")
    assert "56.25%" in s and s.endswith("tsn 50.0/52.0; tsm 10.0/12.0.")
    assert mixtconv_frame_order_sentence([r for r in rows if r["variant"] != "tsn"]) is None
    assert mixtconv_frame_order_sentence(_rows({"tsn": [0.5]})) is None  # no swapped column


def test_learned_taps_of_each_mixtconv(one_thread):
    net = build_model("mstnet_small", num_classes=4, num_segments=8, width=0.125, kernels=[1, 3, 5, 7],
                      dilations=None)
    taps = mixtconv_learned_taps(net)
    assert list(taps) == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    groups = taps["layer2.0"]
    assert [g["kernel"] for g in groups] == [1, 3, 5, 7] and groups[3]["offsets"] == [-3, -2, -1, 0, 1, 2, 3]
    assert all(g["weight"].shape == (g["kernel"],) and (g["weight"] >= 0).all() for g in groups)
    d = mixtconv_learned_taps(build_model("mstnet_small", num_classes=4, num_segments=8, width=0.125,
                                          kernels=[3, 3, 3], dilations=[1, 2, 3]))["layer1.0"]
    assert [g["offsets"] for g in d] == [[-1, 0, 1], [-2, 0, 2], [-3, 0, 3]]
    assert mixtconv_learned_taps(build_model("tsm_small", num_classes=4, num_segments=8, width=0.125)) == {}


def test_the_init_names_the_run_so_a_run_of_the_other_init_is_never_reused():
    """The run folder's tag hashes model_kwargs: the init is written there even at its default, so
    the official-init rows do not collide with runs trained before the init existed (no init key) or
    with the TSM-init rows."""
    tags = {init: config_tag(TrainConfig(**mixtconv_model("ks1357", num_segments=8, width=0.125, init=init)))
            for init in ("official", "tsm")}
    kw = mixtconv_model("ks1357", num_segments=8, width=0.125)
    kw["model_kwargs"].pop("init")  # a config without the key (as before the option existed)
    assert len({*tags.values(), config_tag(TrainConfig(**kw))}) == 3
    tsm = mixtconv_model("tsm", num_segments=8, width=0.125)
    assert "init" not in tsm["model_kwargs"]  # the baselines have no MixTConv: their runs stay valid


def test_init_reach_official_vs_tsm(one_thread):
    """Official init: 3/16 of each block's channels read other frames, up to 3 frames away (the
    k = 7 group's sums); the TSM init moves the same channels by one frame only."""
    rows = {init: mixtconv_init_reach(build_model("mstnet_small", num_classes=4, num_segments=8, width=0.25,
                                                  init=init)) for init in ("official", "tsm")}
    assert [r["block"] for r in rows["official"]] == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    assert [r["channels"] for r in rows["official"]] == [16, 64, 128, 256]
    assert [r["moved"] for r in rows["official"]] == [0, 12, 24, 48] == [r["moved"] for r in rows["tsm"]]
    assert [r["share"] for r in rows["official"][1:]] == [3 / 16] * 3
    assert [r["reach"] for r in rows["official"]] == [0, 3, 3, 3] and [r["reach"] for r in rows["tsm"]] == [0, 1, 1, 1]
    assert rows["official"][1]["per_group"] == [0, 4, 4, 4]
    ks3 = mixtconv_init_reach(build_model("mstnet_small", num_classes=4, num_segments=8, width=0.25, kernels=[3]))
    assert [r["share"] for r in ks3] == [0.25] * 4 and [r["reach"] for r in ks3] == [1] * 4  # TSM's share
    assert mixtconv_init_reach(build_model("tsm_small", num_classes=4, num_segments=8, width=0.25)) == []


def test_init_table_side_by_side(one_thread):
    t = mixtconv_init_table(num_classes=4, num_segments=8, width=0.25)
    assert list(t.columns) == ["block", "channels", "official: reading other frames", "official: farthest",
                               "tsm: reading other frames", "tsm: farthest"]
    assert t["channels"].tolist() == [16, 64, 128, 256] and t["official: farthest"].tolist() == ["±0", "±3", "±3", "±3"]
    assert t["tsm: reading other frames"][1] == "12 (18.75%)" and t["tsm: farthest"][1] == "±1"
    with pytest.raises(ValueError, match="inits"):
        mixtconv_init_table(num_classes=4, num_segments=8, width=0.25, inits=("shift",))
