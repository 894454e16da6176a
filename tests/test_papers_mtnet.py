"""actionrec.papers.mtnet: MTNet Table 2's ratio claim decided on constructed summaries."""

import pytest

from actionrec.papers.mtnet import MTNET_RATIO_PAPER, mtnet_ratio_claim, mtnet_ratio_variants
from actionrec.train import TrainConfig


def _entry(r, mean, ci, n=3):
    return {"label": f"r={r}", "r": r, "mean": mean, "ci": ci, "n": n, "std": ci, "metric": "top1",
            "lo": mean - ci, "hi": mean + ci, "confidence": 0.95}


def test_ratio_claim_holds_clearly_when_separated():
    s = [_entry(0.5, 0.70, 0.01), _entry(0.75, 0.84, 0.01), _entry(0.875, 0.86, 0.01), _entry(1.0, 0.80, 0.01)]
    v = mtnet_ratio_claim(s)
    assert v["holds"] and v["clear"] and v["best_r"] == 0.875 and v["worst_r"] == 0.5
    assert "holds clearly" in v["sentence"]
    assert v["r0875_vs_r1"]["verdict"] == "higher"


def test_ratio_claim_nominal_within_noise_and_failing():
    noisy = [_entry(0.5, 0.80, 0.05), _entry(0.875, 0.82, 0.05), _entry(1.0, 0.81, 0.05)]
    v = mtnet_ratio_claim(noisy)
    assert v["holds"] and not v["clear"] and "nominally" in v["sentence"]
    wrong = [_entry(0.5, 0.90, 0.01), _entry(0.875, 0.80, 0.01), _entry(1.0, 0.70, 0.01)]
    v = mtnet_ratio_claim(wrong)
    assert not v["holds"] and "does not hold" in v["sentence"] and v["best_r"] == 0.5
    wrong_noisy = [_entry(0.5, 0.83, 0.05), _entry(0.875, 0.82, 0.05), _entry(1.0, 0.81, 0.05)]
    v = mtnet_ratio_claim(wrong_noisy)
    assert not v["holds"] and "not supported" in v["sentence"] and "noise" in v["sentence"]


def test_ratio_claim_quotes_the_papers_numbers():
    s = [_entry(0.5, 0.70, 0.01), _entry(0.75, 0.84, 0.01), _entry(0.875, 0.86, 0.01), _entry(1.0, 0.80, 0.01)]
    v = mtnet_ratio_claim(s)
    assert "inside the paper's best range 0.75–0.875" in v["sentence"] and "paper: +1.9" in v["sentence"]
    assert MTNET_RATIO_PAPER["best_r"] == (0.75, 0.875) and MTNET_RATIO_PAPER["worst_r"] == 0.5
    with pytest.raises(ValueError, match="at least two ratios"):
        mtnet_ratio_claim(s[:1])


def test_ratio_variants_one_run_per_r_and_g():
    base = TrainConfig(model="mtnet32", epochs=3)
    v = mtnet_ratio_variants(base, ratios=[0.5, 1.0], substreams=[1, 8], width=0.25)
    assert list(v) == ["r0.5_g1", "r1_g1", "r0.5_g8", "r1_g8"]
    cfg, row = v["r0.5_g8"]
    assert row == {"r": 0.5, "g": 8} and cfg.model_kwargs == {"r": 0.5, "g": 8, "width": 0.25}
    assert cfg.model == "mtnet32" and cfg.epochs == 3 and base.model_kwargs != cfg.model_kwargs
