"""Issue 4 verdicts: MixTConv's kernel-size claims, MSTI Table 2's claims, reversal-pair confusion."""

from __future__ import annotations

import math

import pytest

from actionrec import experiments as ex


def summary_of(field: str, values: dict[str, list[float]]) -> list[dict]:
    """``summarize`` over fabricated rows: one row per (entry, seed) with ``field`` = the entry's key."""
    rows = [{"name": k, "seed": s, field: k, "top1": v, "run_dir": f"x/{k}/seed_{s}"}
            for k, vs in values.items() for s, v in enumerate(vs)]
    return ex.summarize(rows, by=(field,), metric="top1")


def tight(mean: float) -> list[float]:
    return [mean - 0.01, mean, mean + 0.01]  # CI half-width 2.5 points


def loose(mean: float) -> list[float]:
    return [mean - 0.08, mean, mean + 0.08]  # CI half-width 19.9 points


# ------------------------------------------------------------------------------ MixTConv


def test_kernel_claim_holds_clearly():
    s = summary_of("config", {"tsn": tight(0.50), "tsm": tight(0.80), "ks3": tight(0.84), "ks5": tight(0.85),
                              "ks1357": tight(0.92), "ks3_d123": tight(0.86)})
    v = ex.mixtconv_kernel_claim(s)
    assert v["holds"] and v["clear"] and not v["contradicted"]
    assert v["mixtconv"] == "ks1357" and v["best_kernel"] == "ks1357"
    for k in ("mixtconv_ge_tsm", "tsm_gt_tsn", "mixtconv_gt_tsn", "ks1357_best"):
        assert v[k] is True and v[f"{k}_clear"] is True, k
    assert v["sentence"].startswith("The paper's kernel-size claims hold clearly")
    assert "92.0% ± 2.5" in v["sentence"] and "46.7 vs 45.6" in v["sentence"]
    assert v["claims"]["tsm_gt_tsn"]["compare"]["verdict"] == "higher"


def test_kernel_claim_holds_nominally_within_noise():
    s = summary_of("config", {"tsn": loose(0.70), "tsm": loose(0.72), "ks3": loose(0.73), "ks1357": loose(0.75)})
    v = ex.mixtconv_kernel_claim(s)
    assert v["holds"] and not v["clear"] and not v["contradicted"]
    assert v["mixtconv_ge_tsm"] and not v["mixtconv_ge_tsm_clear"]
    assert v["ks1357_best"] and not v["ks1357_best_clear"] and v["claims"]["ks1357_best"]["tied"] == ["ks3"]
    assert "hold nominally" in v["sentence"] and "within the 95% CIs of ks3" in v["sentence"]


def test_kernel_claim_clearly_fails():
    s = summary_of("config", {"tsn": tight(0.80), "tsm": tight(0.90), "ks3": tight(0.85), "ks7": tight(0.60),
                              "ks1357": tight(0.70)})
    v = ex.mixtconv_kernel_claim(s)
    assert not v["holds"] and not v["clear"] and v["contradicted"]
    assert v["mixtconv_ge_tsm"] is False and v["claims"]["mixtconv_ge_tsm"]["contradicted"]
    assert v["mixtconv_gt_tsn"] is False and v["tsm_gt_tsn"] is True
    assert v["ks1357_best"] is False and v["best_kernel"] == "ks3" and v["claims"]["ks1357_best"]["above"] == ["ks3"]
    assert "do not hold" in v["sentence"] and "lower beyond the 95% CIs" in v["sentence"]
    assert "ks3 beats ks1357 beyond the 95% CIs" in v["sentence"]


def test_kernel_claim_not_supported_when_ordering_differs_within_noise():
    s = summary_of("config", {"tsn": loose(0.74), "tsm": loose(0.72), "ks1357": loose(0.73)})
    v = ex.mixtconv_kernel_claim(s)
    assert not v["holds"] and not v["contradicted"] and v["tsm_gt_tsn"] is False
    assert "are not supported" in v["sentence"] and "seed noise" in v["sentence"]


def test_kernel_claim_on_a_subset_reports_untested_claims():
    s = summary_of("config", {"tsn": tight(0.5), "ks3": tight(0.8), "ks5": tight(0.7)})
    v = ex.mixtconv_kernel_claim(s)
    assert v["mixtconv"] == "ks3"  # the best setting stands in for ks1357
    assert v["mixtconv_ge_tsm"] is None and v["tsm_gt_tsn"] is None and v["ks1357_best"] is None
    assert v["mixtconv_gt_tsn"] is True and v["holds"] and v["clear"]
    assert not v["claims"]["ks1357_best"]["tested"] and "ks1357 was not run" in v["sentence"]
    assert "TSM was not run" in v["sentence"]


def test_kernel_claim_on_the_papers_own_numbers_holds_nominally():
    paper = ex.MIXTCONV_KERNEL_PAPER
    v = ex.mixtconv_kernel_claim(summary_of("config", {k: [p["top1"] / 100] for k, p in paper.items()}))
    assert v["holds"] and not v["clear"] and v["best_kernel"] == "ks1357"  # n = 1: no CIs, nothing is clear
    assert paper["ks3_d123"]["kernels"] == (3, 3, 3) and paper["ks3_d123"]["dilations"] == (1, 2, 3)


@pytest.mark.parametrize("values, match", [
    ({"ks3": tight(0.8), "ks1357": tight(0.8)}, r"needs a baseline \('tsn' or 'tsm'\) with results"),
    ({"tsn": tight(0.5), "tsm": tight(0.8)}, r"needs a MixTConv setting \('ks3', 'ks5'"),
    ({"tsn": tight(0.5), "ks9": tight(0.8)}, r"unknown config values \['ks9'\]; valid: \['tsn'"),
])
def test_kernel_claim_names_what_is_missing_or_unknown(values, match):
    with pytest.raises(ValueError, match=match):
        ex.mixtconv_kernel_claim(summary_of("config", values))


def test_kernel_claim_treats_failed_entries_as_missing_and_rejects_duplicates():
    rows = [{"config": "tsn", "seed": 0, "top1": None}, {"config": "ks3", "seed": 0, "top1": 0.8}]
    with pytest.raises(ValueError, match="baseline"):  # every TSN run failed: no result
        ex.mixtconv_kernel_claim(ex.summarize(rows, by=("config",)))
    rows[1]["top1"] = None
    with pytest.raises(ValueError, match=r"needs a baseline .* and a MixTConv setting .*; got configs \[\]"):
        ex.mixtconv_kernel_claim(ex.summarize(rows, by=("config",)))
    s = summary_of("config", {"tsn": tight(0.5), "ks3": tight(0.8)})
    with pytest.raises(ValueError, match=r"several summary entries for config \['ks3'\]"):
        ex.mixtconv_kernel_claim(s + [dict(s[1], label="other")])
    with pytest.raises(ValueError, match="no 'config' field"):
        ex.mixtconv_kernel_claim(summary_of("variant", {"p3d_b": tight(0.5)}))


# ------------------------------------------------------------------------------ MSTI


def test_msti_claim_holds_clearly():
    s = summary_of("variant", {"p3d_b": tight(0.60), "ms_t": tight(0.66), "ms_s": tight(0.67), "ms_st": tight(0.74),
                               "msti": tight(0.82)})
    v = ex.msti_variant_claim(s)
    assert v["holds"] and v["clear"] and v["best"] == "msti"
    assert v["all_beat_p3d_clear"] and v["st_beats_t_s_clear"] and v["msti_best_clear"]
    assert set(v["vs_p3d"]) == {"ms_t", "ms_s", "ms_st", "msti"} and set(v["st_vs"]) == {"ms_t", "ms_s"}
    assert v["sentence"].startswith("The paper's Table 2 claims hold clearly")
    assert "4/4 multi-scale variants have a higher mean" in v["sentence"] and "92.8 / 70.4" in v["sentence"]


def test_msti_claim_nominal_failing_and_unsupported():
    noisy = summary_of("variant", {"p3d_b": loose(0.60), "ms_t": loose(0.62), "ms_st": loose(0.64), "msti": loose(0.65)})
    v = ex.msti_variant_claim(noisy)
    assert v["holds"] and not v["clear"] and "hold nominally" in v["sentence"]
    assert v["st_vs"].keys() == {"ms_t"}  # MS(S) not run
    worse = summary_of("variant", {"p3d_b": tight(0.80), "ms_t": tight(0.70), "ms_st": tight(0.74), "msti": tight(0.72)})
    v = ex.msti_variant_claim(worse)
    assert not v["holds"] and v["contradicted"] and v["all_beat_p3d"] is False and v["best"] == "p3d_b"
    assert v["msti_best"] is False and v["claims"]["msti_best"]["above"] == ["p3d_b"]
    assert "do not hold" in v["sentence"] and "3 below them" in v["sentence"]
    mixed = summary_of("variant", {"p3d_b": loose(0.60), "ms_s": loose(0.66), "ms_st": loose(0.64), "msti": loose(0.62)})
    v = ex.msti_variant_claim(mixed)
    assert not v["holds"] and not v["contradicted"] and v["best"] == "ms_s"
    assert v["st_beats_t_s"] is False and v["msti_best"] is False
    assert "are not supported" in v["sentence"]


def test_msti_claim_on_the_papers_own_numbers_and_subsets():
    v = ex.msti_variant_claim(summary_of("variant", {k: [p["ucf101"] / 100] for k, p in ex.MSTI_VARIANT_PAPER.items()}))
    assert v["holds"] and not v["clear"] and v["best"] == "msti"
    v = ex.msti_variant_claim(summary_of("variant", {"p3d_b": tight(0.6), "ms_t": tight(0.7)}))
    assert v["st_beats_t_s"] is None and v["msti_best"] is None and v["holds"] and v["clear"]
    assert "MS(ST) was not run" in v["sentence"] and "MSTI was not run" in v["sentence"]


@pytest.mark.parametrize("values, match", [
    ({"ms_t": tight(0.7), "msti": tight(0.8)}, r"needs the baseline 'p3d_b' with results; got variants \['ms_t', 'msti'\]"),
    ({"p3d_b": tight(0.7)}, r"needs a multi-scale variant \('ms_t', 'ms_s', 'ms_st' or 'msti'\)"),
    ({"p3d_b": tight(0.7), "msti_cat": tight(0.8)}, r"unknown variant values \['msti_cat'\]"),
])
def test_msti_claim_names_what_is_missing_or_unknown(values, match):
    with pytest.raises(ValueError, match=match):
        ex.msti_variant_claim(summary_of("variant", values))


# ------------------------------------------------------------------------------ reversal pairs


def test_reversal_confusion_counts_swaps_within_pairs():
    # 4 classes: (0, 1) reversed pair; 2, 3 unpaired. 10 clips each.
    m = [[6, 4, 0, 0],   # class 0: 4 predicted as its reverse
         [5, 5, 0, 0],   # class 1: 5 swapped
         [0, 2, 8, 0],   # class 2 confused with 1: not a swap (unpaired)
         [0, 0, 0, 10]]
    r = ex.reversal_confusion(m, [(0, 1)])
    assert r["paired_top1"] == pytest.approx(11 / 20) and r["swapped"] == pytest.approx(9 / 20)
    assert r["other_top1"] == pytest.approx(18 / 20)
    import torch

    assert ex.reversal_confusion(torch.tensor(m), [(1, 0)]) == r  # tensors and pair order accepted
    assert math.isnan(ex.reversal_confusion(m, [(0, 1), (2, 3)])["other_top1"])
    default = ex.reversal_confusion([[1 if i == j else 0 for j in range(16)] for i in range(16)])  # SynthActions pairs
    assert default == {"paired_top1": 1.0, "swapped": 0.0, "other_top1": 1.0}
    with pytest.raises(ValueError, match="square"):
        ex.reversal_confusion([[1, 2, 3], [4, 5, 6]], [(0, 1)])
    with pytest.raises(ValueError, match="disjoint pairs"):
        ex.reversal_confusion(m, [(0, 1), (1, 2)])


# ------------------------------------------------------------------------------ paired differences


def test_paired_difference_removes_the_shared_seed_effect():
    # seed effects (0, -0.3, +0.2) shared by both configs; a is 0.05-0.06 above b at every seed
    b = {0: 0.60, 1: 0.30, 2: 0.80}
    a = {0: 0.65, 1: 0.36, 2: 0.85}
    rows = [{"config": c, "seed": s, "top1": v[s]} for c, v in (("a", a), ("b", b)) for s in range(3)]
    p = ex.paired_difference(rows, "config", "a", "b")
    assert p["seeds"] == [0, 1, 2] and p["n"] == 3
    assert p["diffs"] == pytest.approx([0.05, 0.06, 0.05]) and p["mean"] == pytest.approx(0.16 / 3)
    assert p["verdict"] == "higher" and "+5.3" in p["sentence"] and "CI excludes 0" in p["sentence"]
    s = ex.summarize(rows, by=("config",))
    assert ex.compare(s, {"config": "a"}, {"config": "b"})["verdict"] == "indistinguishable"  # unpaired CIs overlap
    assert ex.paired_difference(rows, "config", "b", "a")["verdict"] == "lower"


def test_paired_difference_uses_common_seeds_and_names_missing_values():
    rows = [{"config": "a", "seed": 0, "top1": 0.5}, {"config": "a", "seed": 1, "top1": 0.6},
            {"config": "b", "seed": 1, "top1": 0.4}, {"config": "b", "seed": 2, "top1": 0.4},
            {"config": "c", "seed": 5, "top1": None}]
    p = ex.paired_difference(rows, "config", "a", "b")
    assert p["seeds"] == [1] and p["verdict"] == "indistinguishable" and "one seed, no CI" in p["sentence"]
    with pytest.raises(ValueError, match=r"no row with config='c'"):
        ex.paired_difference(rows, "config", "a", "c")
    with pytest.raises(ValueError, match="share no seed"):
        ex.paired_difference(rows + [{"config": "d", "seed": 9, "top1": 0.1}], "config", "a", "d")
