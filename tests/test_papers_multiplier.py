"""actionrec.papers.multiplier: the two chapters' declared claims (Table 2: cross-stream connections,
Table 3: temporal filters), their budgets and runs on the SynthActions recipe, the builder kwargs of
the tables' rows, the shared two-stream run config and the readings of the grids.

The paper reports error (lower is better); the claims are decided on top-1 (error = 100 - top-1), so
a rows table made from the paper's own errors must make every paper claim hold.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from actionrec.analysis.heads import head_top1
from actionrec.experiments.chapter import decidable
from actionrec.experiments.grid import config_tag
from actionrec.experiments.protocol import HOLDS, evaluate
from actionrec.models import build_model
from actionrec.papers import multiplier as M
from actionrec.papers.multiplier import (FUSION_BUDGETS, FUSION_CLAIMS, FUSION_CUSTOM, FUSION_PAPER, ORDER_BLIND,
                                         TEMPORAL_FILTER_BUDGETS, TEMPORAL_FILTER_CLAIMS, TEMPORAL_FILTER_CUSTOM,
                                         TEMPORAL_FILTER_PAPER, TWO_STREAM_RECIPE, fusion_model_kwargs, fusion_runs,
                                         paper_error, temporal_filter_config, temporal_filter_model_kwargs,
                                         temporal_filter_runs, two_stream_config)
from actionrec.papers.synthactions import SYNTH_RECIPE, recipe_config
from actionrec.train import TrainConfig
from claim_helpers import summary_of, tight

CHAPTERS = {"fusion": (FUSION_CLAIMS, FUSION_BUDGETS, FUSION_PAPER, fusion_runs),
            "temporal_filters": (TEMPORAL_FILTER_CLAIMS, TEMPORAL_FILTER_BUDGETS, TEMPORAL_FILTER_PAPER,
                                 temporal_filter_runs)}


# ------------------------------------------------------------------------------ the declared claims


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_claims_are_declared_on_reference_variants_with_a_control(chapter):
    claims, budgets, paper, _ = CHAPTERS[chapter]
    reference = set(budgets["reference"]["variants"])
    assert len({c.name for c in claims}) == len(claims)
    for c in claims:
        assert set(c.variants) <= reference, (c.name, set(c.variants) - reference)  # every claim decided at reference
        assert c.metric == "top1" and c.higher_is_better  # error = 100 - top-1: the sign is in the docstring
        assert set(c.variants) - {ORDER_BLIND} <= set(paper)
    control = [c for c in claims if c.family == "control"]
    assert len(control) == 1 and control[0].kind == "superiority" and control[0].delta == 10.0
    assert control[0].variants[1] == ORDER_BLIND and control[0].variants[0] in paper
    paper_claims = [c for c in claims if c.family == "paper"]
    assert all(c.delta == 1.0 and c.paper_effect is not None and c.paper_effect > 0 for c in paper_claims)
    assert all(ORDER_BLIND not in c.variants for c in paper_claims)


def test_paper_effects_are_the_smaller_error_gap():
    effects = {c.name: c.paper_effect for c in FUSION_CLAIMS + TEMPORAL_FILTER_CLAIMS}
    assert effects["residual ⊙ ← beats residual ⊕ ←"] == 0.66  # 9.38 - 8.72 (UCF101) < 41.89 - 37.23
    assert effects["← beats → (residual ⊙)"] == 7.96 and effects["direct ⊙ ← is worst"] == 23.04
    assert effects["residual ⊙ ← is best"] == 0.66 and effects["[0,1,0] init beats [⅓,⅓,⅓] init (†)"] == 0.11
    assert effects["identity-init filters help at every placement"] == 0.93  # 8.72 - 7.79 (‡ [0,1,0], UCF101)
    assert effects["‡ [0,1,0] with time pooling is best"] == 0.74  # 6.74 - 6.00 (UCF101)


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51"])
def test_the_papers_own_numbers_make_every_paper_claim_hold(chapter, dataset):
    """Rows whose top-1 is 100 - the paper's error (plus a shared seed effect and a small jitter): every
    paper claim holds, so each claim's direction, kind and variant order say what the paper says."""
    claims, budgets, paper, _ = CHAPTERS[chapter]
    rng = np.random.default_rng(0)
    rows = []
    for seed in budgets["reference"]["seeds"]:
        shift = rng.normal(0, 0.01)  # seed k moves every variant together (paired design)
        for v in budgets["reference"]["variants"]:
            top1 = 0.45 if v == ORDER_BLIND else 1 - paper[v][dataset] / 100
            rows.append(dict(variant=v, seed=seed, top1=top1 + shift + rng.normal(0, 1e-4)))
    verdicts, _ = evaluate(claims, rows, by="variant")
    assert (verdicts["verdict"] == HOLDS).all(), verdicts[["claim", "verdict", "diff"]]


# ------------------------------------------------------------------------------ budgets and runs


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_budgets(chapter):
    claims, budgets, _, _ = CHAPTERS[chapter]
    quick, reference = budgets["quick"], budgets["reference"]
    assert set(budgets) == {"quick", "reference"}
    assert reference["seeds"] == tuple(range(6))  # the protocol's minimum n until a pilot sizes it
    assert len(quick["seeds"]) >= 2 and all(s < 100 for s in quick["seeds"] + reference["seeds"])  # pilots: 100+
    assert set(quick["variants"]) <= set(reference["variants"]) and ORDER_BLIND in quick["variants"]
    rows = [dict(variant=v, seed=s, top1=0.5) for v in quick["variants"] for s in quick["seeds"]]
    ok, _ = decidable(claims, rows)
    assert {c.family for c in ok} == {"control", "paper"}  # quick decides the control and the headline pair


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("budget", ["quick", "reference"])
def test_runs_are_built_with_the_recipe(chapter, budget, tmp_path):
    _, budgets, paper, runs_of = CHAPTERS[chapter]
    runs = runs_of(budget, flow_cache_dir=tmp_path / "flow", device="cpu")
    assert list(runs) == list(budgets[budget]["variants"])
    r = TWO_STREAM_RECIPE
    epochs = {"quick": 2, "reference": SYNTH_RECIPE["epochs"]["reference"]}[budget]  # quick: 2 epochs fit 10 minutes
    assert budgets[budget].get("epochs", SYNTH_RECIPE["epochs"][budget]) == epochs
    for v, (cfg, extra) in runs.items():
        assert extra["variant"] == v and cfg.epochs == epochs
        if v == ORDER_BLIND:
            assert cfg == recipe_config("frame_avg2d", {"width": r["control_width"]}, budget=budget, device="cpu",
                                        frames=r["frames"], epochs=epochs)
            continue
        kw = (fusion_model_kwargs(v, width=r["width"], flow_channels=r["flow_channels"]) if chapter == "fusion" else
              temporal_filter_model_kwargs(v, width=r["width"], flow_channels=r["flow_channels"]))
        assert cfg == recipe_config("two_stream_small", kw, budget=budget, device="cpu", flow=r["flow"],
                                    flow_cache_dir=tmp_path / "flow", frames=r["frames"], epochs=epochs)
        assert cfg.dataset_kwargs["modality"] == "rgb+flow" and cfg.dataset_kwargs["frames"] == 8
        assert extra.get("config", v) == v
        # the control sees the same clips (only the flow channels differ), so seed k is paired across both
        control = recipe_config("frame_avg2d", {}, budget=budget, frames=r["frames"], epochs=epochs)
        same = ("train_samples", "val_samples", "test_samples", "batch_size", "epochs", "lr", "data_seed")
        assert all(getattr(cfg, f) == getattr(control, f) for f in same)
        assert {k: cfg.dataset_kwargs[k] for k in control.dataset_kwargs} == control.dataset_kwargs


def test_runs_refuse_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="budget="):
        fusion_runs("huge", flow_cache_dir=tmp_path)
    with pytest.raises(ValueError, match="variants="):
        fusion_runs("quick", flow_cache_dir=tmp_path, variants=["residual_mul_sideways"])
    with pytest.raises(ValueError, match="variants="):
        temporal_filter_runs("quick", flow_cache_dir=tmp_path, variants=["every-gauss"])
    with pytest.raises(ValueError, match="direct_path"):
        fusion_runs("reference", flow_cache_dir=tmp_path, direct_path="trunk")
    runs = temporal_filter_runs("quick", flow_cache_dir=tmp_path, variants=["none", "last-avg"], filter_units="all")
    assert runs["last-avg"][0].model_kwargs["filter_units"] == "all" and runs["none"][1]["config"] == "none"
    assert fusion_runs("quick", flow_cache_dir=tmp_path, variants=["late"])["late"][0].model_kwargs["fusion"] is None


def test_custom_defaults_name_valid_rows():
    assert set(FUSION_CUSTOM["variants"]) <= {*FUSION_PAPER, "late"}
    assert set(TEMPORAL_FILTER_CUSTOM["configs"]) <= set(TEMPORAL_FILTER_PAPER)
    assert set(FUSION_CUSTOM) - {"variants"} == set(TEMPORAL_FILTER_CUSTOM) - {"configs"}


# ------------------------------------------------------------------------------ the tables


def test_fusion_paper_table():
    assert set(FUSION_PAPER) == {"direct_add_m2a", "direct_mul_m2a", "residual_add_m2a", "residual_mul_m2a",
                                    "residual_add_a2m", "residual_mul_a2m", "residual_mul_bi"}
    best = min(FUSION_PAPER, key=lambda k: FUSION_PAPER[k]["ucf101"])
    worst = max(FUSION_PAPER, key=lambda k: FUSION_PAPER[k]["hmdb51"])
    assert best == "residual_mul_m2a" and worst == "direct_mul_m2a"  # the claims match the paper's own numbers

def test_temporal_filter_config_keys():
    assert temporal_filter_config(None) == "none"
    assert temporal_filter_config("none", pool=True) == "none-pool"
    assert temporal_filter_config("‡", "centre", True) == "every+shortcut-centre-pool"
    assert temporal_filter_config("§", "avg") == "last-avg"
    assert len(TEMPORAL_FILTER_PAPER) == 14
    assert TEMPORAL_FILTER_PAPER["every+shortcut-centre-pool"]["ucf101"] == 6.00
    assert TEMPORAL_FILTER_PAPER["last-avg-pool"]["ucf101"] is None  # not a Table 3 row
    with pytest.raises(ValueError, match="init="):
        temporal_filter_config("every", "gauss")
    with pytest.raises(ValueError, match="placement="):
        temporal_filter_config("everywhere", "avg")


def test_row_kwargs_and_paper_error():
    assert fusion_model_kwargs("late", width=0.125, flow_channels=8) == dict(
        width=0.125, flow_channels=8, temporal_filters=None, temporal_pool=False, flow_stacking="centred", fusion=None)
    assert fusion_model_kwargs("residual_mul_a2m", width=0.125, flow_channels=8) == dict(
        width=0.125, flow_channels=8, temporal_filters=None, temporal_pool=False, flow_stacking="centred",
        fusion="residual_mul", direction="a2m")
    assert fusion_model_kwargs("direct_mul_m2a", width=0.125, flow_channels=8)["direct_path"] == "skip"
    assert fusion_model_kwargs("direct_add_m2a", width=0.125, flow_channels=8, direct_path="both",
                               flow_stacking="forward") == dict(
        width=0.125, flow_channels=8, temporal_filters=None, temporal_pool=False, flow_stacking="forward",
        fusion="direct_add", direction="m2a", direct_path="both")
    assert temporal_filter_model_kwargs("none", width=0.125, flow_channels=8) == dict(
        width=0.125, flow_channels=8, fusion="residual_mul", direction="m2a", temporal_filters=None,
        temporal_init="centre", temporal_pool=False, flow_stacking="centred")
    kw = temporal_filter_model_kwargs("every+shortcut-avg-pool", width=0.125, flow_channels=8)
    assert (kw["temporal_filters"], kw["temporal_init"], kw["temporal_pool"]) == ("every+shortcut", "avg", True)
    assert kw["filter_units"] == "first" and kw["flow_stacking"] == "centred"
    kw = temporal_filter_model_kwargs("last-avg", width=0.125, flow_channels=8, filter_units="all")
    assert kw["filter_units"] == "all"
    for bad, match in ((dict(direct_path="trunk"), "direct_path"), (dict(flow_stacking="backward"), "flow_stacking")):
        with pytest.raises(ValueError, match=match):
            fusion_model_kwargs("direct_mul_m2a", width=0.125, flow_channels=8, **bad)
    with pytest.raises(ValueError, match="filter_units"):
        temporal_filter_model_kwargs("every-avg", width=0.125, flow_channels=8, filter_units="middle")
    assert paper_error("residual_mul_m2a") == "8.72 / 37.23" and paper_error("late") == "8.30 / 38.80"
    assert paper_error("last-avg-pool") == "—" and paper_error("every+shortcut-centre-pool") == "6.00 / 30.98"


def test_two_stream_config_is_shared():
    a = two_stream_config()
    assert a.model == "two_stream_small" and a.dataset_kwargs["modality"] == "rgb+flow"
    assert a.dataset_kwargs["flow_method"] == "gt"
    assert a.val_samples == a.test_samples == 160 and a.warmup_steps == 16
    assert config_tag(a) == config_tag(two_stream_config(device="cpu"))
    assert config_tag(a) != config_tag(two_stream_config(width=0.25))
    assert a.model_kwargs["flow_stacking"] == "centred" and "direct_path" not in a.model_kwargs
    assert config_tag(a) != config_tag(two_stream_config(flow_stacking="forward"))
    d = two_stream_config(fusion="direct_mul")
    assert d.model_kwargs["direct_path"] == "skip"
    assert config_tag(d) != config_tag(two_stream_config(fusion="direct_mul", direct_path="both"))


def test_readings_enter_the_run_tags_and_build_the_named_models():
    """Each reading is written into the row's model kwargs, so another reading is another run (a new tag:
    never a reuse of a finished run of the old one); and the kwargs build the reading they name."""
    base = TrainConfig(model="two_stream_small", dataset="synthactions")
    tag = lambda kw: config_tag(replace(base, model_kwargs=kw))  # noqa: E731
    fk = lambda v, **kw: fusion_model_kwargs(v, width=0.125, flow_channels=4, **kw)  # noqa: E731
    tk = lambda c, **kw: temporal_filter_model_kwargs(c, width=0.125, flow_channels=4, **kw)  # noqa: E731
    assert tag(fk("direct_mul_m2a")) != tag(fk("direct_mul_m2a", direct_path="both"))
    assert tag(fk("residual_mul_m2a")) != tag(fk("residual_mul_m2a", flow_stacking="forward"))
    assert tag(tk("every-centre")) != tag(tk("every-centre", filter_units="all"))
    assert tag(tk("every-centre")) != tag(tk("every-centre", flow_stacking="forward"))
    net = build_model("two_stream_small", num_classes=4, **fk("direct_add_m2a", direct_path="both",
                                                               flow_stacking="forward"))
    assert net.connections[0].direct_path == "both" and net.flow_stacking == "forward"
    net = build_model("two_stream_small", num_classes=4, layers=(1, 3, 1, 1), **tk("every-avg", filter_units="all"))
    assert net.filter_units == "all" and len(net.appearance.stages[1][1].tf_residual.weight) > 0


# ------------------------------------------------------------------------------ reading the grids


def _net(**kw):
    torch.manual_seed(0)
    return build_model("two_stream_small", num_classes=16, **dict(dict(width=0.125, flow_channels=4), **kw))


def test_score_stream_heads_and_single_stream_baselines(monkeypatch, one_thread):
    nets = {"a": _net(fusion=None), "b": _net(fusion="residual_mul")}
    monkeypatch.setattr(M, "load_model", lambda run_dir: nets[run_dir])
    loader = DataLoader(TensorDataset(torch.randn(6, 5, 4, 32, 32), torch.arange(6)), batch_size=4)
    rows = [dict(variant="late", run_dir="a", seed=0, top1=0.5), dict(variant="residual_mul_m2a", run_dir="b", seed=0),
            dict(variant="late", run_dir="a", seed=1, error="diverged")]
    single = M.score_stream_heads(rows, loader, baselines_from="late")
    heads = head_top1(nets["a"], loader)
    assert (rows[0]["head_appearance"], rows[0]["head_motion"]) == (heads["appearance"], heads["motion"])
    assert rows[2]["head_appearance"] is None and rows[1]["head_motion"] is not None
    assert [(s["variant"], s["top1"], s["derived_from"], s["skipped"]) for s in single] == [
        ("appearance", heads["appearance"], "late", True), ("motion", heads["motion"], "late", True)]
    assert torch.get_num_threads() == 1  # restored (the one_thread fixture's value)


def test_learned_filter_taps_start_at_the_init(monkeypatch, one_thread):
    nets = {"c": _net(temporal_filters="every", temporal_init="centre"), "n": _net(temporal_filters=None)}
    monkeypatch.setattr(M, "load_model", lambda run_dir: nets[run_dir])
    taps = M.learned_filter_taps([dict(config="every-centre", run_dir="c"), dict(config="none", run_dir="n")])
    assert list(taps) == ["every-centre"]
    t = taps["every-centre"]
    assert np.allclose(t["appearance"][0], [0, 1, 0]) and t["appearance"][1] == 0.0  # untrained: the identity
    assert np.allclose(t["init"], [0, 1, 0]) and set(t) == {"appearance", "motion", "init"}


def test_results_table_error_bars_and_notes():
    s = {e["variant"]: e for e in summary_of("variant", {"residual_mul_m2a": tight(0.9), "late": tight(0.8),
                                                         "appearance": tight(0.5), "motion": tight(0.7)})}
    s["residual_mul_m2a"].update(gmacs=0.0292, params_m=0.26)
    heads = {"head_appearance": {"late": s["appearance"], "residual_mul_m2a": s["late"]}, "head_motion": {}}
    header, rows = M.results_table(["residual_mul_m2a", "late"], s, {}, heads, key="variant")
    assert header[0] == "variant" and len(header) == len(rows[0]) == 11
    assert rows[0][:3] == ["`residual_mul_m2a`", "residual ⊙ ← (2(d))", "**10.0 ± 2.5**"]
    assert rows[0][7:10] == ["8.72 / 37.23", "0.0292", "0.260"] and rows[1][8] == "—"
    bars = M.error_bars(["residual_mul_m2a", "none"], {**s, "none": s["late"]}, {"residual_mul_m2a": "⊙", "none": "x"},
                        "ours")
    assert [(b["label"], b["source"]) for b in bars] == [("⊙", "ours"), ("⊙", "paper, UCF101"), ("⊙", "paper, HMDB51"),
                                                         ("x", "ours"), ("x", "paper, UCF101"), ("x", "paper, HMDB51")]
    assert bars[0]["mean"] == pytest.approx(0.1) and bars[1]["mean"] == pytest.approx(0.0872)
    notes = M.fusion_notes(s, heads, ["residual_mul_m2a", "late"], orderless_ceiling=0.5625)
    assert "residual ⊙ ← 10.0 ± 2.5% error, late fusion without connections 20.0 ± 2.5%" in notes
    assert "appearance 17.7 / 51.1, motion 13.0 / 44.2" in notes and "at most 56.2%" in notes
    assert "at most" not in M.fusion_notes(s, heads, ["late"], orderless_ceiling=None)
    assert M.fusion_notes({}, {"head_appearance": {}, "head_motion": {}}, []) == ""
