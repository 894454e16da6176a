"""actionrec.experiments.convergence: pilot runs as rows, the doubling test's verdicts, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from actionrec.experiments.convergence import (DOUBLING_GAIN, add_runs, doubling_curves, doubling_test, load_pilot, main,
                                               pilot_row, schedule_verdict)


def _run(root, name, *, seed, epochs, val, test=None, acc=0.99):
    """A run folder as ``fit`` leaves it: config.json and metrics.jsonl (val top-1 per epoch, test if finished)."""
    d = root / name / f"seed_{seed}"
    d.mkdir(parents=True)
    cfg = dict(model="m", seed=seed, data_seed=seed, epochs=epochs, train_samples=64,
               dataset_kwargs=dict(difficulty="temporal"))
    (d / "config.json").write_text(json.dumps(cfg))
    lines = []
    for e, v in enumerate(val, 1):
        lines += [dict(kind="train", step=10 * e, epoch=e, loss=1.0, acc=acc), dict(kind="epoch", step=10 * e, epoch=e, acc=acc),
                  dict(kind="val", step=10 * e, epoch=e, top1=v)]
    if test is not None:
        lines.append(dict(kind="test", step=10 * len(val), epoch=len(val), top1=test))
    (d / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return d


def test_pilot_row_reads_the_run_and_its_status(tmp_path):
    done = _run(tmp_path, "a", seed=100, epochs=2, val=[0.5, 0.8], test=0.81)
    row, curve = pilot_row(done, setting="s", variant="v")
    assert (row["status"], row["top1"], row["val_top1"], row["epochs_done"], row["steps"]) == ("finished", 0.81, 0.8, 2, 20)
    assert (row["seed"], row["data_seed"], row["epochs"], row["difficulty"], row["source"]) == (100, 100, 2, "temporal", "a/seed_100")
    assert [(c["epoch"], c["top1"]) for c in curve] == [(1, 0.5), (2, 0.8)]
    half = _run(tmp_path, "b", seed=100, epochs=4, val=[0.5])
    assert pilot_row(half, setting="s", variant="v")[0]["status"] == "running"
    row = pilot_row(half, setting="s", variant="v", stopped=True)[0]
    assert row["status"] == "stopped" and np.isnan(row["top1"])


def test_pilot_row_names_a_missing_file(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(FileNotFoundError, match=r"x/config.json is missing"):
        pilot_row(tmp_path / "x", setting="s", variant="v")


def _rows(spec):
    """Rows from ``[(variant, seed, epochs, top1 or None (running) or 'stopped')]``."""
    out = []
    for v, s, e, t in spec:
        status = "finished" if isinstance(t, float) else ("stopped" if t == "stopped" else "running")
        out.append(dict(setting="s", variant=v, seed=s, epochs=e, status=status, top1=t if isinstance(t, float) else np.nan))
    return pd.DataFrame(out)


def test_doubling_verdicts_from_the_mean_gain_over_seeds():
    rows = _rows([("a", 100, 12, 0.90), ("a", 101, 12, 0.92), ("a", 100, 24, 0.905), ("a", 101, 24, 0.93),  # +0.5, +1.0
                  ("b", 100, 12, 0.90), ("b", 101, 12, 0.90), ("b", 100, 24, 0.91), ("b", 101, 24, 0.91),  # +1.0 each
                  ("a", 100, 48, 0.95), ("a", 101, 48, None)])
    t = doubling_test(rows).set_index(["variant", "epochs"])
    assert t.loc[("a", 12), "verdict"] == "converged" and t.loc[("a", 12), "mean_gain"] == pytest.approx(0.75)
    assert t.loc[("a", 12), "gains"] == [0.5, 1.0] and t.loc[("a", 12), "top1_doubled"] == [90.5, 93.0]
    assert t.loc[("b", 12), "verdict"] == "not converged"  # a gain of exactly DOUBLING_GAIN is not "less than"
    assert DOUBLING_GAIN == 1.0 and t.loc[("b", 12), "mean_gain"] == pytest.approx(1.0)
    assert (t.loc[("a", 24), "verdict"], t.loc[("a", 24), "done"], t.loc[("a", 24), "gains"]) == ("running", "1 of 2", [4.5])
    assert ("b", 24) not in t.index  # no 48-epoch run of b: nothing to compare
    assert doubling_test(rows, gain=2.0).set_index(["variant", "epochs"]).loc[("b", 12), "verdict"] == "converged"


def test_doubling_a_stopped_run_or_a_pilot_seed_never_run_is_not_running():
    rows = _rows([("a", 100, 6, 0.9), ("a", 100, 12, "stopped"), ("b", 100, 6, 0.9), ("b", 100, 12, 0.95)])
    assert doubling_test(rows)["verdict"].tolist() == ["stopped", "not converged"]
    t = doubling_test(rows, seeds=[100, 101])  # the declared pilot seeds: 101 of b was never run
    assert t["verdict"].tolist() == ["stopped", "incomplete"] and t["done"].tolist() == ["0 of 2", "1 of 2"]
    assert t["gains"].tolist() == [[], [5.0]] and t["seeds"].tolist() == [[100, 101], [100, 101]]


def test_schedule_verdict_needs_every_variant():
    rows = _rows([("a", 100, 12, 0.90), ("a", 100, 24, 0.905), ("b", 100, 12, 0.90), ("b", 100, 24, None)])
    t = doubling_test(rows)
    line = schedule_verdict(t, "s", 12)
    assert line.startswith("**12 → 24 epochs at s: open**") and "a converged (1 of 1 pilot seeds done; gains +0.50, mean +0.50)" in line
    assert "b running (0 of 1 pilot seeds done)" in line
    rows.loc[3, ["status", "top1"]] = ["finished", 0.93]
    assert schedule_verdict(doubling_test(rows), "s", 12).startswith("**12 → 24 epochs at s: not converged**")
    rows.loc[3, "top1"] = 0.909
    assert schedule_verdict(doubling_test(rows), "s", 12).startswith("**12 → 24 epochs at s: converged**")
    assert schedule_verdict(t, "s", 24) == "**24 epochs at s:** no doubling pilot."


def test_add_runs_replaces_the_same_run_and_keeps_others(tmp_path, capsys):
    pilot = tmp_path / "pilot"
    early = _run(tmp_path / "early", "r1_e4", seed=100, epochs=4, val=[0.5, 0.6])
    add_runs(pilot, [early, _run(tmp_path, "r1_e2", seed=100, epochs=2, val=[0.5, 0.7], test=0.7)], setting="s", variant="r1")
    later = _run(tmp_path, "r1_e4", seed=100, epochs=4, val=[0.5, 0.6, 0.7, 0.72], test=0.73)
    assert main([str(pilot), "--setting", "s", "--variant", "r1", "--seeds", "100,101", str(later)]) == 0
    assert "1 of 2" in capsys.readouterr().out  # seed 101 of the declared pilot seeds has no runs
    assert main([str(pilot), "--setting", "s", "--variant", "r1", str(later)]) == 0
    rows, curves = load_pilot(pilot)
    assert sorted(zip(rows["epochs"], rows["status"])) == [(2, "finished"), (4, "finished")]
    assert len(curves) == 2 + 4 and "converged" not in capsys.readouterr().out.split("not converged")[0][-20:]
    assert doubling_test(rows)["gains"].tolist() == [[3.0]]
    assert list(doubling_curves(curves, "s", epochs=[4])) == ["r1"]
    assert doubling_curves(curves, "s")["r1"][(100, 4)] == ([1, 2, 3, 4], [50.0, 60.0, 70.0, 72.0])
    assert load_pilot(tmp_path / "none") is None
