"""actionrec.papers.mixtconv: the kernel-size claims decided on fabricated summaries, and the run
of each row of the table."""

from __future__ import annotations

import pytest

from actionrec.experiments.grid import config_tag
from actionrec.experiments.summary import summarize
from actionrec.models import build_model
from actionrec.papers.mixtconv import (MIXTCONV_INIT, MIXTCONV_KERNEL_PAPER, mixtconv_frame_order_sentence,
                                       mixtconv_init_reach, mixtconv_kernel_claim, mixtconv_kernels_label,
                                       mixtconv_learned_taps, mixtconv_model, mixtconv_paired)
from actionrec.train import TrainConfig
from claim_helpers import loose, summary_of, tight


def test_kernel_claim_holds_clearly():
    s = summary_of("config", {"tsn": tight(0.50), "tsm": tight(0.80), "ks3": tight(0.84), "ks5": tight(0.85),
                              "ks1357": tight(0.92), "ks3_d123": tight(0.86)})
    v = mixtconv_kernel_claim(s)
    assert v["holds"] and v["clear"] and not v["contradicted"]
    assert v["mixtconv"] == "ks1357" and v["best_kernel"] == "ks1357"
    for k in ("mixtconv_ge_tsm", "tsm_gt_tsn", "mixtconv_gt_tsn", "ks1357_best"):
        assert v[k] is True and v[f"{k}_clear"] is True, k
    assert v["sentence"].startswith("The paper's kernel-size claims hold clearly")
    assert "92.0% ± 2.5" in v["sentence"] and "46.7 vs 45.6" in v["sentence"]
    assert v["claims"]["tsm_gt_tsn"]["compare"]["verdict"] == "higher"


def test_kernel_claim_holds_nominally_within_noise():
    s = summary_of("config", {"tsn": loose(0.70), "tsm": loose(0.72), "ks3": loose(0.73), "ks1357": loose(0.75)})
    v = mixtconv_kernel_claim(s)
    assert v["holds"] and not v["clear"] and not v["contradicted"]
    assert v["mixtconv_ge_tsm"] and not v["mixtconv_ge_tsm_clear"]
    assert v["ks1357_best"] and not v["ks1357_best_clear"] and v["claims"]["ks1357_best"]["tied"] == ["ks3"]
    assert "hold nominally" in v["sentence"] and "within the 95% CIs of ks3" in v["sentence"]


def test_kernel_claim_clearly_fails():
    s = summary_of("config", {"tsn": tight(0.80), "tsm": tight(0.90), "ks3": tight(0.85), "ks7": tight(0.60),
                              "ks1357": tight(0.70)})
    v = mixtconv_kernel_claim(s)
    assert not v["holds"] and not v["clear"] and v["contradicted"]
    assert v["mixtconv_ge_tsm"] is False and v["claims"]["mixtconv_ge_tsm"]["contradicted"]
    assert v["mixtconv_gt_tsn"] is False and v["tsm_gt_tsn"] is True
    assert v["ks1357_best"] is False and v["best_kernel"] == "ks3" and v["claims"]["ks1357_best"]["above"] == ["ks3"]
    assert "do not hold" in v["sentence"] and "lower beyond the 95% CIs" in v["sentence"]
    assert "ks3 beats ks1357 beyond the 95% CIs" in v["sentence"]


def test_kernel_claim_not_supported_when_ordering_differs_within_noise():
    s = summary_of("config", {"tsn": loose(0.74), "tsm": loose(0.72), "ks1357": loose(0.73)})
    v = mixtconv_kernel_claim(s)
    assert not v["holds"] and not v["contradicted"] and v["tsm_gt_tsn"] is False
    assert "are not supported" in v["sentence"] and "seed noise" in v["sentence"]


def test_kernel_claim_on_a_subset_reports_untested_claims():
    s = summary_of("config", {"tsn": tight(0.5), "ks3": tight(0.8), "ks5": tight(0.7)})
    v = mixtconv_kernel_claim(s)
    assert v["mixtconv"] == "ks3"  # the best setting stands in for ks1357
    assert v["mixtconv_ge_tsm"] is None and v["tsm_gt_tsn"] is None and v["ks1357_best"] is None
    assert v["mixtconv_gt_tsn"] is True and v["holds"] and v["clear"]
    assert not v["claims"]["ks1357_best"]["tested"] and "ks1357 was not run" in v["sentence"]
    assert "TSM was not run" in v["sentence"]


def test_kernel_claim_on_the_papers_own_numbers_holds_nominally():
    paper = MIXTCONV_KERNEL_PAPER
    v = mixtconv_kernel_claim(summary_of("config", {k: [p["top1"] / 100] for k, p in paper.items()}))
    assert v["holds"] and not v["clear"] and v["best_kernel"] == "ks1357"  # n = 1: no CIs, nothing is clear
    assert paper["ks3_d123"]["kernels"] == (3, 3, 3) and paper["ks3_d123"]["dilations"] == (1, 2, 3)


@pytest.mark.parametrize("values, match", [
    ({"ks3": tight(0.8), "ks1357": tight(0.8)}, r"needs a baseline \('tsn' or 'tsm'\) with results"),
    ({"tsn": tight(0.5), "tsm": tight(0.8)}, r"needs a MixTConv setting \('ks3', 'ks5'"),
    ({"tsn": tight(0.5), "ks9": tight(0.8)}, r"unknown config values \['ks9'\]; valid: \['tsn'"),
])
def test_kernel_claim_names_what_is_missing_or_unknown(values, match):
    with pytest.raises(ValueError, match=match):
        mixtconv_kernel_claim(summary_of("config", values))


def test_kernel_claim_treats_failed_entries_as_missing_and_rejects_duplicates():
    rows = [{"config": "tsn", "seed": 0, "top1": None}, {"config": "ks3", "seed": 0, "top1": 0.8}]
    with pytest.raises(ValueError, match="baseline"):  # every TSN run failed: no result
        mixtconv_kernel_claim(summarize(rows, by=("config",)))
    rows[1]["top1"] = None
    with pytest.raises(ValueError, match=r"needs a baseline .* and a MixTConv setting .*; got configs \[\]"):
        mixtconv_kernel_claim(summarize(rows, by=("config",)))
    s = summary_of("config", {"tsn": tight(0.5), "ks3": tight(0.8)})
    with pytest.raises(ValueError, match=r"several summary entries for config \['ks3'\]"):
        mixtconv_kernel_claim(s + [dict(s[1], label="other")])
    with pytest.raises(ValueError, match="no 'config' field"):
        mixtconv_kernel_claim(summary_of("variant", {"p3d_b": tight(0.5)}))


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


def _rows(values, metric="top1"):
    return [{"config": c, "seed": k, metric: v} for c, vs in values.items() for k, v in enumerate(vs)]


def test_paired_table_against_each_baseline():
    rows = _rows({"tsn": [0.50, 0.40, 0.45], "tsm": [0.70, 0.60, 0.66], "ks1357": [0.71, 0.62, 0.66]})
    header, table, paired = mixtconv_paired(rows, ["tsn", "tsm", "ks1357"])
    assert header == ["config", "− TSN (paired)", "− TSM (paired)"]
    assert [r[0] for r in table] == ["tsn", "tsm", "ks1357"] and table[0][1] == "—" and table[1][2] == "—"
    assert table[1][1].startswith("+20.3 ± ") and table[1][1].endswith(" *")  # +20, +20, +21: the CI excludes 0
    assert not table[2][2].endswith(" *")  # +1, +2, +0
    assert set(paired) == {("tsm", "tsn"), ("ks1357", "tsn"), ("tsn", "tsm"), ("ks1357", "tsm")}
    assert paired[("tsm", "tsn")]["diffs"] == pytest.approx([0.2, 0.2, 0.21])
    header, table, _ = mixtconv_paired(_rows({"tsm": [0.7], "ks3": [0.8]}), ["tsm", "ks3"])
    assert header == ["config", "− TSM (paired)"] and table[1] == ["ks3", "+10.0"]  # one seed: no CI


def test_frame_order_sentence():
    rows = _rows({"tsn": [0.50, 0.52, 0.51], "tsm": [0.8, 0.8, 0.8], "ks3": [0.8, 0.8, 0.8]})
    swapped_rows = _rows({"tsn": [0.50, 0.52, 0.48], "tsm": [0.10, 0.12, 0.11], "ks3": [0.45, 0.55, 0.50]}, "swapped")
    summary = summarize(rows, by=("config",))
    swapped = {e["config"]: e for e in summarize(swapped_rows, by=("config",), metric="swapped")}
    s = mixtconv_frame_order_sentence(summary, swapped, ["tsn", "tsm", "ks3"])
    assert s.startswith("**Frame order.** TSN reached 51.0 ± ") and "(order-blind ceiling 56.25%)" in s
    assert s.endswith("1 of 2 swap fewer than TSN beyond the 95% CIs (tsm).")
    assert mixtconv_frame_order_sentence(summary, {k: v for k, v in swapped.items() if k != "tsn"},
                                         ["tsn", "tsm"]) is None
    assert mixtconv_frame_order_sentence(summary[1:], swapped, ["tsm", "ks3"]) is None


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
