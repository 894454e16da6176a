"""actionrec.papers.msti: MSTI-Net Table 2's claims decided on fabricated summaries."""

from __future__ import annotations

import pytest

from actionrec.papers.msti import (MSTI_VARIANT_PAPER, msti_blind_warning, msti_input_support, msti_paired,
                                   msti_variant_claim)
from actionrec.models.msti_net import MSTI_NET_VARIANTS
from actionrec.train import TrainConfig
from claim_helpers import loose, summary_of, tight


def test_msti_claim_holds_clearly():
    s = summary_of("variant", {"p3d_b": tight(0.60), "ms_t": tight(0.66), "ms_s": tight(0.67), "ms_st": tight(0.74),
                               "msti": tight(0.82)})
    v = msti_variant_claim(s)
    assert v["holds"] and v["clear"] and v["best"] == "msti"
    assert v["all_beat_p3d_clear"] and v["st_beats_t_s_clear"] and v["msti_best_clear"]
    assert set(v["vs_p3d"]) == {"ms_t", "ms_s", "ms_st", "msti"} and set(v["st_vs"]) == {"ms_t", "ms_s"}
    assert v["sentence"].startswith("The paper's Table 2 claims hold clearly")
    assert "4/4 multi-scale variants have a higher mean" in v["sentence"] and "92.8 / 70.4" in v["sentence"]


def test_msti_claim_nominal_failing_and_unsupported():
    noisy = summary_of("variant", {"p3d_b": loose(0.60), "ms_t": loose(0.62), "ms_st": loose(0.64), "msti": loose(0.65)})
    v = msti_variant_claim(noisy)
    assert v["holds"] and not v["clear"] and "hold nominally" in v["sentence"]
    assert v["st_vs"].keys() == {"ms_t"}  # MS(S) not run
    worse = summary_of("variant", {"p3d_b": tight(0.80), "ms_t": tight(0.70), "ms_st": tight(0.74), "msti": tight(0.72)})
    v = msti_variant_claim(worse)
    assert not v["holds"] and v["contradicted"] and v["all_beat_p3d"] is False and v["best"] == "p3d_b"
    assert v["msti_best"] is False and v["claims"]["msti_best"]["above"] == ["p3d_b"]
    assert "do not hold" in v["sentence"] and "3 below them" in v["sentence"]
    mixed = summary_of("variant", {"p3d_b": loose(0.60), "ms_s": loose(0.66), "ms_st": loose(0.64), "msti": loose(0.62)})
    v = msti_variant_claim(mixed)
    assert not v["holds"] and not v["contradicted"] and v["best"] == "ms_s"
    assert v["st_beats_t_s"] is False and v["msti_best"] is False
    assert "are not supported" in v["sentence"]


def test_msti_claim_on_the_papers_own_numbers_and_subsets():
    v = msti_variant_claim(summary_of("variant", {k: [p["ucf101"] / 100] for k, p in MSTI_VARIANT_PAPER.items()}))
    assert v["holds"] and not v["clear"] and v["best"] == "msti"
    v = msti_variant_claim(summary_of("variant", {"p3d_b": tight(0.6), "ms_t": tight(0.7)}))
    assert v["st_beats_t_s"] is None and v["msti_best"] is None and v["holds"] and v["clear"]
    assert "MS(ST) was not run" in v["sentence"] and "MSTI was not run" in v["sentence"]


@pytest.mark.parametrize("values, match", [
    ({"ms_t": tight(0.7), "msti": tight(0.8)}, r"needs the baseline 'p3d_b' with results; got variants \['ms_t', 'msti'\]"),
    ({"p3d_b": tight(0.7)}, r"needs a multi-scale variant \('ms_t', 'ms_s', 'ms_st' or 'msti'\)"),
    ({"p3d_b": tight(0.7), "msti_cat": tight(0.8)}, r"unknown variant values \['msti_cat'\]"),
])
def test_msti_claim_names_what_is_missing_or_unknown(values, match):
    with pytest.raises(ValueError, match=match):
        msti_variant_claim(summary_of("variant", values))


def test_input_support_every_unit_sees_every_pixel_and_frame(one_thread):
    runs = {f"{v}-x": TrainConfig(model="msti_net_small", model_kwargs=dict(variant=v, width=0.125))
            for v in ("ms_t", "msti", "ms_t_only")}
    support = msti_input_support(runs, {"ms_t-x": "MS(T)", "msti-x": "MSTI", "ms_t_only-x": "T only"}, num_classes=4,
                                 input_shape=(3, 16, 32, 32))
    assert support == {"MS(T)": (1.0, 1.0), "MSTI": (1.0, 1.0), "T only": (1.0, 1.0)}  # even without a spatial conv
    assert msti_blind_warning(support, (32, 32)) is None
    w = msti_blind_warning({"MS(T)": (0.035, 1.0), "MSTI": (1.0, 1.0)}, (32, 32))
    assert w.startswith("**Warning:** MS(T) sees 3.5% of the 32×32 pixels.") and "MSTI" not in w


def test_paper_rows_are_buildable_variants():
    assert set(MSTI_VARIANT_PAPER) <= set(MSTI_NET_VARIANTS)  # Table 2's rows
    assert not {"ms_s_only", "ms_t_only"} & set(MSTI_VARIANT_PAPER)  # the single-branch tubes are not


def test_paired_differences_to_p3d_and_within_ms():
    values = {"p3d_b": [0.5, 0.6, 0.55], "ms_t": [0.6, 0.7, 0.66], "ms_st": [0.7, 0.8, 0.76], "msti": [0.5, 0.61, 0.5]}
    rows = [{"variant": v, "seed": k, "top1": x} for v, xs in values.items() for k, x in enumerate(xs)]
    header, table, paired = msti_paired(rows, ["p3d_b", "ms_t", "ms_st", "msti"])
    assert header == ["variant − reference", "top-1 difference (points)", "per seed", "verdict"]
    assert [r[0] for r in table] == ["MS(T) − P3D-B", "MS(ST) − P3D-B", "MSTI − P3D-B", "MS(ST) − MS(T)"]
    assert table[0][2] == "+10.0, +10.0, +11.0" and table[0][3] == "higher"
    assert [(d["a"], d["b"]) for d in paired][-1] == ("ms_st", "ms_t")
    _, table, _ = msti_paired(rows, ["p3d_b", "ms_st"])
    assert [r[0] for r in table] == ["MS(ST) − P3D-B"]
