"""actionrec.papers.multiplier: ST-Multiplier Table 2 (cross-stream connections) and Table 3 (temporal
filters) claims, the builder kwargs of their rows, and the shared two-stream run config.

The paper reports error (lower is better); summaries hold accuracy. Every test fabricates accuracies
and checks that the verdicts read them as errors = 1 - accuracy.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from actionrec.analysis.heads import head_top1
from actionrec.experiments.grid import config_tag
from actionrec.models import build_model
from actionrec.papers import multiplier as M
from actionrec.papers.multiplier import (FUSION_PAPER, TEMPORAL_FILTER_PAPER, fusion_claim, fusion_model_kwargs,
                                         paper_error, temporal_filter_claim, temporal_filter_config,
                                         temporal_filter_model_kwargs, two_stream_config)
from actionrec.train import TrainConfig
from claim_helpers import loose, summary_of, tight


# ------------------------------------------------------------------------------ Table 2: connections

PAPER_LIKE = {"direct_add_m2a": 0.70, "direct_mul_m2a": 0.20, "residual_add_m2a": 0.88, "residual_mul_m2a": 0.95,
              "residual_add_a2m": 0.76, "residual_mul_a2m": 0.83, "residual_mul_bi": 0.83}


def test_fusion_claim_holds_clearly():
    s = summary_of("variant", {**{k: tight(v) for k, v in PAPER_LIKE.items()}, "late": tight(0.88),
                               "appearance": tight(0.5), "motion": tight(0.8)})
    v = fusion_claim(s)
    assert v["holds"] and v["clear"] and not v["contradicted"]
    for k in ("residual_mul_best", "mul_beats_add", "direct_mul_worst", "residual_beats_direct", "m2a_beats_a2m",
              "m2a_beats_bi"):
        assert v[k] is True and v[f"{k}_clear"] is True, k
    assert v["best"] == "residual_mul_m2a"
    assert set(v["claims"]["mul_beats_add"]["parts"]) == {"m2a", "a2m"}
    assert v["vs_late"]["verdict"] == "higher"  # accuracy 95 vs 88: not a claim, reported
    s_ = v["sentence"]
    assert s_.startswith("The paper's Table 2 (cross-stream connection) claims hold clearly")
    # written as errors: residual ⊙ ← at 95% accuracy is 5.0% error; the paper's errors quoted
    assert "residual ⊙ ← (5.0% ± 2.5)" in s_ and "direct ⊙ ← (80.0% ± 2.5)" in s_
    assert "8.72 / 37.23 vs 9.38 / 41.89" in s_ and "-7.0 points of error" in s_
    assert "Errors are 1 − top1" in s_


def test_fusion_claim_holds_nominally_within_noise():
    s = summary_of("variant", {k: loose(v) for k, v in {"residual_add_m2a": 0.80, "residual_mul_m2a": 0.83,
                                                        "residual_mul_a2m": 0.78, "residual_mul_bi": 0.79}.items()})
    v = fusion_claim(s)
    assert v["holds"] and not v["clear"] and not v["contradicted"]
    assert v["residual_mul_best"] and not v["residual_mul_best_clear"]
    assert v["m2a_beats_a2m"] and not v["m2a_beats_a2m_clear"]
    for k in ("direct_mul_worst", "residual_beats_direct"):  # not run: untested
        assert v[k] is None and not v["claims"][k]["tested"]
    assert "hold nominally" in v["sentence"] and "within the 95% CIs" in v["sentence"]
    assert "direct ⊙ ← was not run" in v["sentence"]


def test_fusion_claim_fails_when_reversed_beyond_the_cis():
    accs = dict(PAPER_LIKE, residual_mul_m2a=0.70, residual_add_m2a=0.85, direct_mul_m2a=0.90)
    v = fusion_claim(summary_of("variant", {k: tight(x) for k, x in accs.items()}))
    assert not v["holds"] and v["contradicted"]
    assert v["residual_mul_best"] is False and v["best"] == "direct_mul_m2a"
    assert v["claims"]["residual_mul_best"]["contradicted"]
    assert v["mul_beats_add"] is False and v["claims"]["mul_beats_add"]["contradicted"]
    assert v["direct_mul_worst"] is False
    assert v["sentence"].startswith("The paper's Table 2 (cross-stream connection) claims do not hold")
    assert "higher beyond the 95% CIs" in v["sentence"]


def test_fusion_claim_not_supported_when_reversed_within_noise():
    v = fusion_claim(summary_of("variant", {"residual_mul_m2a": loose(0.78), "residual_add_m2a": loose(0.80)}))
    assert not v["holds"] and not v["contradicted"]
    assert "are not supported" in v["sentence"]


def test_fusion_claim_reads_accuracy_as_error():
    # the same numbers, reported as accuracy: a higher accuracy must count as the lower error
    v = fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.9), "residual_mul_bi": tight(0.6)}))
    assert v["m2a_beats_bi"] is True and v["m2a_beats_bi_clear"] is True
    v = fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.6), "residual_mul_bi": tight(0.9)}))
    assert v["m2a_beats_bi"] is False and v["claims"]["m2a_beats_bi"]["contradicted"]


def test_fusion_claim_missing_entries_are_named():
    with pytest.raises(ValueError, match="residual_mul_m2a"):
        fusion_claim(summary_of("variant", {"residual_add_m2a": tight(0.8), "late": tight(0.7)}))
    with pytest.raises(ValueError, match="another Table 2 variant"):
        fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.8), "late": tight(0.7)}))
    with pytest.raises(ValueError, match="unknown variant values \\['residual_mul_sideways'\\]"):
        fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.8), "residual_mul_sideways": tight(0.7)}))
    with pytest.raises(ValueError, match="no 'variant' field"):
        fusion_claim(summary_of("config", {"residual_mul_m2a": tight(0.8), "late": tight(0.7)}))
    with pytest.raises(ValueError, match="not an accuracy"):
        fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.8), "residual_add_m2a": tight(0.7)},
                                   metric="wall_s"))


def test_fusion_paper_table():
    assert set(FUSION_PAPER) == {"direct_add_m2a", "direct_mul_m2a", "residual_add_m2a", "residual_mul_m2a",
                                    "residual_add_a2m", "residual_mul_a2m", "residual_mul_bi"}
    best = min(FUSION_PAPER, key=lambda k: FUSION_PAPER[k]["ucf101"])
    worst = max(FUSION_PAPER, key=lambda k: FUSION_PAPER[k]["hmdb51"])
    assert best == "residual_mul_m2a" and worst == "direct_mul_m2a"  # the claims match the paper's own numbers


# ------------------------------------------------------------------------------ Table 3: temporal filters

TF_LIKE = {"none": 0.60, "last-avg": 0.66, "every-avg": 0.74, "every+shortcut-avg": 0.78, "last-centre": 0.72,
           "every-centre": 0.80, "every+shortcut-centre": 0.84, "every-centre-pool": 0.87,
           "every+shortcut-centre-pool": 0.95}


def test_temporal_filter_config_keys():
    assert temporal_filter_config(None) == "none"
    assert temporal_filter_config("none", pool=True) == "none-pool"
    assert temporal_filter_config("‡", "centre", True) == "every+shortcut-centre-pool"
    assert temporal_filter_config("§", "avg") == "last-avg"
    assert set(TF_LIKE) <= set(TEMPORAL_FILTER_PAPER) and len(TEMPORAL_FILTER_PAPER) == 14
    assert TEMPORAL_FILTER_PAPER["every+shortcut-centre-pool"]["ucf101"] == 6.00
    assert TEMPORAL_FILTER_PAPER["last-avg-pool"]["ucf101"] is None  # not a Table 3 row
    with pytest.raises(ValueError, match="init="):
        temporal_filter_config("every", "gauss")
    with pytest.raises(ValueError, match="placement="):
        temporal_filter_config("everywhere", "avg")


def test_temporal_filter_claim_holds_clearly():
    v = temporal_filter_claim(summary_of("config", {k: tight(x) for k, x in TF_LIKE.items()}))
    assert v["holds"] and v["clear"] and not v["contradicted"], v["sentence"]
    for k in ("filters_help", "every_block_best", "centre_beats_avg", "pool_helps", "best_overall"):
        assert v[k] is True and v[f"{k}_clear"] is True, k
    assert v["best"] == "every+shortcut-centre-pool"
    assert set(v["claims"]["pool_helps"]["parts"]) == {"every-centre", "every+shortcut-centre"}
    assert v["sentence"].startswith("The paper's Table 3 (temporal filter) claims hold clearly")
    assert "No filters: 40.0% ± 2.5; 6/6 filter configurations" in v["sentence"]
    assert "‡ [0,1,0], pool time (5.0% ± 2.5)" in v["sentence"] and "6.00 / 30.98" in v["sentence"]


def test_temporal_filter_claim_holds_nominally_within_noise():
    sub = {"none": 0.80, "last-centre": 0.81, "every+shortcut-centre": 0.83, "every+shortcut-centre-pool": 0.85}
    v = temporal_filter_claim(summary_of("config", {k: loose(x) for k, x in sub.items()}))
    assert v["holds"] and not v["clear"] and not v["contradicted"]
    assert v["centre_beats_avg"] is None  # no placement with both inits
    assert v["every_block_best"] and not v["every_block_best_clear"]
    assert "hold nominally" in v["sentence"] and "no placement was run with both inits" in v["sentence"]


def test_temporal_filter_claim_fails():
    accs = dict(TF_LIKE, **{"last-avg": 0.50, "every-centre-pool": 0.70, "every+shortcut-centre-pool": 0.75})
    v = temporal_filter_claim(summary_of("config", {k: tight(x) for k, x in accs.items()}))
    assert not v["holds"] and v["contradicted"]
    assert v["filters_help"] is False and v["claims"]["filters_help"]["contradicted"]
    assert "5/6 filter configurations" in v["sentence"] and "1 above them" in v["sentence"]
    assert v["pool_helps"] is False and v["best_overall"] is False and v["best"] == "every+shortcut-centre"
    assert "do not hold" in v["sentence"]


def test_temporal_filter_claim_last_block_best_contradicts():
    accs = {"none": 0.7, "last-centre": 0.95, "every-centre": 0.8, "every+shortcut-centre": 0.82}
    v = temporal_filter_claim(summary_of("config", {k: tight(x) for k, x in accs.items()}))
    assert v["every_block_best"] is False and v["claims"]["every_block_best"]["contradicted"]
    assert v["claims"]["every_block_best"]["best"] == "last-centre"
    assert v["filters_help"] is True and v["best_overall"] is None


def test_temporal_filter_claim_missing_entries_are_named():
    with pytest.raises(ValueError, match="'none'"):
        temporal_filter_claim(summary_of("config", {"every-centre": tight(0.8), "last-avg": tight(0.7)}))
    with pytest.raises(ValueError, match="a configuration with temporal filters"):
        temporal_filter_claim(summary_of("config", {"none": tight(0.8), "none-pool": tight(0.7)}))
    with pytest.raises(ValueError, match="unknown config values"):
        temporal_filter_claim(summary_of("config", {"none": tight(0.8), "every-gauss": tight(0.7)}))


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
    v = M.fusion_claim(summary_of("variant", {"residual_mul_m2a": tight(0.9), "residual_add_m2a": tight(0.85),
                                             "late": tight(0.8)}))
    notes = M.fusion_notes(v, s, heads, ["residual_mul_m2a", "late"], orderless_ceiling=0.5625)
    assert "10.0% vs 20.0% error, lower beyond the 95% CIs" in notes
    assert "appearance 17.7 / 51.1, motion 13.0 / 44.2" in notes and "at most 56.2%" in notes
    assert "at most" not in M.fusion_notes(v, s, heads, ["late"], orderless_ceiling=None)
