"""actionrec.experiments.published and .chapter: a tiny grid published, read back, checked for
staleness and compared with a rerun; failed-run marking and late gain; the chapter tables and the
claims a budget can decide."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from actionrec.experiments import published
from actionrec.experiments.chapter import (claims_table, decidable, decide, plot_data, reference_command, reference_header,
                                           rerun_report, strip_data, variant_table, verdict_lines, verdict_text)
from actionrec.experiments.grid import run_grid
from actionrec.experiments.protocol import Claim, evaluate
from actionrec.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = (Claim("a beats b", "superiority", ("a", "b"), "top1", 1.0, "one point matters here", "+2 points"),)


def tiny(**kw):
    base = dict(model="c3d_small", model_kwargs={"width": 0.125}, dataset_kwargs={"frames": 8, "size": 16},
                train_samples=32, val_samples=16, test_samples=16, epochs=2, batch_size=16, log_every=1, device="cpu")
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    rows = run_grid({"a": tiny(), "b": tiny(model="frame_avg2d")}, [0, 1], out, progress=False, order="seed",
                    data_seed="seed", extras={"a": {"variant": "a"}, "b": {"variant": "b"}})
    return published.mark_trained(rows, chance=1 / 16)


def test_publish_load_roundtrip_and_stale_check(grid, tmp_path):
    verdicts, diffs = evaluate(CLAIMS, grid, by="variant")
    with pytest.raises(ValueError, match="rows is empty"):
        published.publish(tmp_path / "x", [], claims=CLAIMS, verdicts=verdicts, differences=diffs, wall_s=1.0,
                          commit="abc")
    chapter = published.publish(tmp_path / "chapter", grid, claims=CLAIMS, verdicts=verdicts, differences=diffs,
                                wall_s=12.5, commit="abc123", command="papermill x.ipynb")
    ref = published.load(chapter, claims=CLAIMS)
    assert ref["provenance"]["commit"] == "abc123" and ref["provenance"]["wall_s"] == 12.5
    assert not ref["status"]["stale"], ref["status"]
    assert list(ref["rows"]["variant"]) == ["a", "b", "a", "b"] and "run_dir" not in ref["rows"]
    assert ref["rows"]["top1"].tolist() == pytest.approx([r["top1"] for r in grid])
    assert set(ref["curves"]["split"]) == {"train", "val", "test"} and set(ref["curves"]["seed"]) == {0, 1}
    assert ref["verdicts"]["claim"].tolist() == ["a beats b"] and len(ref["differences"]) == 2
    changed = (Claim("a beats b", "superiority", ("a", "b"), "top1", 2.0, "two points matter here", "+2 points"),)
    assert published.load(chapter, claims=changed)["status"]["stale"]  # changed claims -> stale
    (chapter / published.CURVES_FILE).unlink()
    with pytest.raises(ValueError, match="curves.csv is missing"):
        published.load(chapter)
    assert published.load(tmp_path / "nothing") is None


def test_compare_rerun_within_and_beyond_tolerance(grid):
    committed = pd.DataFrame(grid)
    table, ok = published.compare_rerun(committed, grid, tolerance=0.5)
    assert ok and (table["diff"] == 0).all() and list(table["seed"].iloc[-2:]) == ["mean", "mean"]
    moved = [dict(r, top1=r["top1"] + (0.02 if r["variant"] == "a" else 0.0)) for r in grid]
    table, ok = published.compare_rerun(committed, moved, tolerance=1.0)
    assert not ok and table[table["seed"] == "mean"]["diff"].tolist() == pytest.approx([2.0, 0.0])


def test_mark_trained_counts_failures_and_measures_late_gain(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    lines = [{"kind": "val", "epoch": e, "step": e, "top1": t} for e, t in enumerate([0.1, 0.5, 0.6, 0.7, 0.8], 1)]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = published.mark_trained([{"top1": 0.10, "run_dir": str(run)}, {"top1": 0.13, "run_dir": str(run)},
                                   {"top1": 0.9, "error": "nan loss", "run_dir": str(run)}, {"top1": None}],
                                  chance=1 / 16)
    assert [r["trained"] for r in rows] == [False, True, False, False]  # 2 x chance = 12.5%
    assert rows[0]["late_gain"] == pytest.approx(10.0)  # last (80) minus the 4th of 5 (70)
    assert rows[3]["late_gain"] is None
    assert published.load_run_curve(run)["top1"] == pytest.approx([10, 50, 60, 70, 80])
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines[:3]) + "\n")  # 3 epochs: vs the 2nd
    assert published.mark_trained([{"top1": 0.5, "run_dir": str(run)}], chance=1 / 16)[0]["late_gain"] == pytest.approx(10.0)


def test_chapter_tables_show_every_seed_and_what_a_budget_cannot_decide():
    rows = [dict(variant=v, seed=s, top1=0.5 + 0.1 * i + 0.01 * s, trained=(v, s) != ("b", 2), late_gain=0.5)
            for i, v in enumerate(["a", "b"]) for s in range(3)]
    table = variant_table(rows)
    assert table["trained"].tolist() == ["3/3", "2/3"] and table["per seed"][0] == "0: 50.0, 1: 51.0, 2: 52.0"
    assert table["mean"].tolist() == pytest.approx([51.0, 61.0]) and table["sd"].tolist() == pytest.approx([1.0, 1.0])
    values, intervals = strip_data(rows, order=["b", "a"])
    assert list(values) == ["b", "a"] and intervals["a"][0] == pytest.approx(51.0)
    assert intervals["a"][2] - intervals["a"][0] == pytest.approx(4.302653 / 3 ** 0.5, rel=1e-5)  # t(0.975, 2) s / sqrt(n)
    more = CLAIMS + (Claim("c beats a", "superiority", ("c", "a"), "top1", 1.0, "one point", "x"),)
    ok, not_ok = decidable(more, rows)
    assert [c.name for c in ok] == ["a beats b"] and "not run at this budget: c" in not_ok[0][1]
    verdicts, _ = evaluate(ok, rows, by="variant")
    line = verdict_lines(verdicts)[0]
    assert line.startswith("**a beats b**: *reversed*") and "n = 3 paired seeds" in line
    assert claims_table(more)["kind"].tolist() == ["superiority", "superiority"]


def test_decide_reports_verdicts_and_what_it_cannot_decide():
    rows = [dict(variant=v, seed=s, top1=0.5 + 0.1 * i + 0.01 * s) for i, v in enumerate(["a", "b"]) for s in range(3)]
    more = CLAIMS + (Claim("c beats a", "superiority", ("c", "a"), "top1", 1.0, "one point", "x"),)
    verdicts, diffs, text = decide(more, rows)
    assert verdicts["claim"].tolist() == ["a beats b"] and len(diffs) == 3
    assert text.startswith("**a beats b**: *reversed*") and "**Not decided at this budget:** *c beats a*" in text
    assert "`-p budget reference`" in text and "`-p budget reference`" not in decide(more, rows, reference_hint=False)[2]
    one, _, text = decide(CLAIMS, [r for r in rows if r["seed"] == 0])  # one paired seed: no interval, no MDE
    assert one["verdict"].tolist() == ["inconclusive"] and "CI no interval" in text and "not estimable yet" in text
    none, _, text = decide(more[1:], rows)
    assert none is None and text.startswith("*No claim can be decided yet")
    assert verdict_text(None) == verdict_text(verdicts.iloc[:0])


def test_reference_header_says_missing_stale_partial_and_provenance(grid, tmp_path):
    header = reference_header(None, tmp_path, "ablation_x")
    assert "No committed reference" in header and reference_command("ablation_x") in header
    assert reference_command("ablation_x").startswith("papermill notebooks/ablation_x.ipynb out.ipynb -p budget reference")
    verdicts, diffs = evaluate(CLAIMS, grid, by="variant")
    chapter = published.publish(tmp_path / "c", grid, claims=CLAIMS, verdicts=verdicts, differences=diffs, commit="abc123")
    ref = published.load(chapter, claims=CLAIMS)
    assert ref["provenance"]["wall_s"] == pytest.approx(sum(r["wall_s"] for r in grid))  # None: summed over runs
    header = reference_header(ref, chapter, "ablation_x", declared_seeds=range(4))
    assert header.startswith("Current") and "**Partial:** seeds [0, 1] of the 4 declared" in header and "`abc123`" in header
    assert "Partial" not in reference_header(ref, chapter, "ablation_x", declared_seeds=range(2))
    same = {"a": tiny(), "b": tiny(model="frame_avg2d")}
    assert published.recipe_changes(chapter, same) == {} and "Another recipe" not in reference_header(
        ref, chapter, "ablation_x", declared_configs=same)
    other = {"a": tiny(epochs=3, dataset_kwargs={"frames": 8, "size": 12}), "c": tiny()}  # nested: by its own name
    assert published.recipe_changes(chapter, other) == {"a": {"epochs": (2, 3), "size": (16, 12)}}
    header = reference_header(ref, chapter, "ablation_x", declared_configs=other)
    assert ("**Another recipe:** these runs were trained with epochs 2, size 16; the chapter now declares "
            "epochs 3, size 12") in header and header.startswith("Current")
    changed = (Claim("a beats b", "superiority", ("a", "b"), "top1", 2.0, "two points", "+2 points"),)
    assert reference_header(published.load(chapter, claims=changed), chapter, "ablation_x").startswith("**STALE:**")
    data = plot_data(ref["rows"], verdicts=ref["verdicts"], differences=ref["differences"], curves=ref["curves"])
    assert list(data["values"]) == ["a", "b"] and [c["claim"] for c in data["claims"]] == ["a beats b"]
    assert len(data["differences"]["a beats b"]) == 2 and sorted(data["curves"]["a"]) == [0, 1]
    epochs, top1 = data["curves"]["a"][0]
    assert epochs == [1, 2] and len(top1) == 2
    fresh = plot_data(grid, order=["b", "a"])  # from each run's metrics.jsonl, no verdicts
    assert list(fresh["values"]) == ["b", "a"] and fresh["claims"] == [] and fresh["curves"]["a"][1] == data["curves"]["a"][1]
    table, text = rerun_report(ref["rows"], grid, tolerance=0.5)
    assert text.startswith("**Rerun matches the committed reference**") and len(table) == 6
