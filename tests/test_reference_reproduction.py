"""A committed reference run is reproduced by this code: the first 20 training steps of the first run
of every chapter under book/results/ are re-run from its committed config.json (seed and data seed
included; val/test shrunk to 32 clips, which do not touch training) and the two logged train
lines (mean loss over steps 1-10 and 11-20) are compared with the committed curves.csv.

Tolerance: 1e-4 relative on each mean loss. On the CPU that made the reference (one thread) the
losses repeat bit for bit; other CPU kernels reorder floating-point sums, which moves a 20-step
loss by ~1e-6 relative, far inside it, while a changed model, loss, data or schedule moves it by
far more (a changed learning rate at step 1 already changes the second line)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from actionrec.experiments.published import CURVES_FILE
from actionrec.experiments.references import PROVENANCE_FILE
from actionrec.train import CONFIG_FILE, TrainConfig, fit

ROOT = Path(__file__).resolve().parent.parent / "book" / "results"
CHAPTERS = sorted(p.parent for p in ROOT.glob(f"*/{PROVENANCE_FILE}"))


def test_the_main_job_has_a_committed_reference():
    assert ROOT / "ablation_ratio" in CHAPTERS, f"no committed reference under {ROOT / 'ablation_ratio'}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_first_steps_of_a_committed_run_reproduce(chapter, tmp_path, one_thread):
    prov = json.loads((chapter / PROVENANCE_FILE).read_text())
    key, run = next(iter(prov["runs"].items()))
    cfg = TrainConfig.from_dict(json.loads((chapter / run["dir"] / CONFIG_FILE).read_text()))
    short = replace(cfg, max_steps=2 * cfg.log_every, val_samples=32, test_samples=32, device="cpu", cache_data=False)
    fit(short, tmp_path / "run", progress=False)
    new = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() if '"train"' in s]
    curves = pd.read_csv(chapter / CURVES_FILE)
    name, seed = key.rsplit("/seed_", 1)
    old = curves[(curves["name"] == name) & (curves["seed"] == int(seed)) & (curves["split"] == "train")]
    old = old.sort_values("step").head(len(new))
    assert [r["step"] for r in new] == old["step"].tolist() == [cfg.log_every, 2 * cfg.log_every]
    assert [r["lr"] for r in new] == pytest.approx(old["lr"].tolist(), rel=1e-9)
    assert [r["loss"] for r in new] == pytest.approx(old["loss"].tolist(), rel=1e-4), key
