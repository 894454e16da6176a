"""actionrec.experiments.grid: a tiny grid (2 configs x 2 seeds of one epoch on 8x16x16 SynthActions)
that a second call loads instead of training, the same rows from worker processes, argument checks,
config tags, train_grid's log lines and reversal confusion, and reuse gated on the code fingerprint
(runs of other code are set aside and retrained)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from actionrec.data.synthactions import REVERSAL_PAIRS
from actionrec.experiments import grid as G
from actionrec.experiments.grid import config_tag, run_grid, train_grid
from actionrec.experiments.reversal import reversal_confusion
from actionrec.experiments.setup import base_config, build_runs, data_kwargs
from actionrec.experiments.summary import aggregate_curves, load_curves, summarize, write_results
from actionrec.train import FINAL_FILE, ConfigMismatchError, TrainConfig, fit
from actionrec.train.fingerprint import read_fingerprint


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_cfg(**overrides) -> TrainConfig:
    base = dict(model="c3d_small", model_kwargs={"width": 0.125},
                dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"},
                train_samples=32, val_samples=16, test_samples=16, epochs=2, batch_size=16, log_every=1, device="cpu")
    return TrainConfig(**{**base, **overrides})


def test_grid_runs_skips_finished_and_aggregates(tmp_path, monkeypatch):
    configs = {"c3d": tiny_cfg(), "frames": tiny_cfg(model="frame_avg2d")}
    extras = {"c3d": {"temporal": True, "gmacs": 0.01}, "frames": {"temporal": False}}
    rows = run_grid(configs, [0, 1], tmp_path, extras=extras, progress=False)
    assert [(r["name"], r["seed"]) for r in rows] == [("c3d", 0), ("c3d", 1), ("frames", 0), ("frames", 1)]
    assert not any(r["skipped"] for r in rows)
    for r in rows:
        final = json.loads((tmp_path / r["name"] / f"seed_{r['seed']}" / "final.json").read_text())
        assert final["config"]["seed"] == r["seed"] and final["top1"] == r["top1"]
        assert r["params"] == final["params"] and r["val_auc"] == pytest.approx(
            sum(v["top1"] for v in final["val_history"]) / 2)
    assert rows[0]["gmacs"] == 0.01 and rows[0]["temporal"] and "gmacs" not in rows[2]

    def must_not_train(*a, **k):
        raise AssertionError("finished runs must not train again")

    monkeypatch.setattr(G, "_fit_or_record", must_not_train)
    again = run_grid(list(configs.items()), [0, 1], tmp_path, extras=extras, progress=False)
    assert all(r["skipped"] for r in again)
    assert [{**r, "skipped": None} for r in again] == [{**r, "skipped": None} for r in rows]

    summary = summarize(rows, by="name")
    assert [e["n"] for e in summary] == [2, 2] and summary[0]["gmacs"] == 0.01
    paths = write_results(rows, summary, tmp_path)
    with open(paths["results_csv"]) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and table[2]["gmacs"] == "" and float(table[0]["top1"]) == rows[0]["top1"]
    saved = json.loads(paths["results_json"].read_text())
    assert saved["rows"][1]["seed"] == 1 and saved["summary"][1]["label"] == "frames"
    assert paths["summary_csv"].exists()

    curves = load_curves(tmp_path / "c3d" / "seed_0")
    assert curves["val"]["epoch"] == [1, 2] and curves["val"]["step"] == [2, 4]
    assert len(curves["train"]["loss"]) == 4 and "confusion" not in curves["val"]
    agg = aggregate_curves(tmp_path, "c3d")
    seed1 = load_curves(tmp_path / "c3d" / "seed_1")
    assert agg["seeds"] == [0, 1] and agg["x"] == [2, 4]
    assert agg["mean"] == pytest.approx([(a + b) / 2 for a, b in zip(curves["val"]["top1"], seed1["val"]["top1"])])
    assert aggregate_curves(tmp_path, "c3d", x="epoch", metric="loss", seeds=[1])["mean"] == seed1["val"]["loss"]


def test_grid_records_divergence_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True))
    rows = run_grid({"bad": tiny_cfg(epochs=1)}, [0], tmp_path, on_diverge="record", progress=False)
    assert rows[0]["top1"] is None and "nan" in rows[0]["error"]
    assert summarize(rows)[0]["n_failed"] == 1
    with pytest.raises(FloatingPointError):
        run_grid({"bad": tiny_cfg(epochs=1)}, [0], tmp_path, progress=False)


def test_grid_in_worker_processes_equals_sequential(tmp_path, one_thread):
    """2 spawned workers x 1 thread give bit-identical rows to 1 process x 1 thread, in grid order."""
    configs = {"c3d": tiny_cfg(epochs=1), "frames": tiny_cfg(model="frame_avg2d", epochs=1)}
    seq = run_grid(configs, [0, 1], tmp_path / "seq", progress=False)
    par = run_grid(configs, [0, 1], tmp_path / "par", progress=False, workers=2)
    assert [(r["name"], r["seed"]) for r in par] == [("c3d", 0), ("c3d", 1), ("frames", 0), ("frames", 1)]
    strip = lambda r: {k: v for k, v in r.items() if k not in ("run_dir", "wall_s")}  # noqa: E731
    assert [strip(r) for r in par] == [strip(r) for r in seq]
    assert not any(r["skipped"] for r in par)
    again = run_grid(configs, [0, 1], tmp_path / "par", progress=False, workers=2)  # all finished: no pool
    assert all(r["skipped"] for r in again) and [r["top1"] for r in again] == [r["top1"] for r in par]


@pytest.mark.parametrize("configs,kwargs,match", [
    ({"a/b": "ok"}, dict(seeds=[0]), "config name"),
    ({"a": "not a config"}, dict(seeds=[0]), "TrainConfig"),
    ([("a", "ok"), ("a", "ok")], dict(seeds=[0]), "duplicate"),
    ({}, dict(seeds=[0]), "empty"),
    ({"a": "ok"}, dict(seeds=[]), "seeds"),
    ({"a": "ok"}, dict(seeds=[0], extras={"zzz": {}}), "extras"),
    ({"a": "ok"}, dict(seeds=[0], extras={"a": {"top1": 1}}), "clash"),
    ({"a": "ok"}, dict(seeds=[0], on_diverge="skip"), "on_diverge"),
    ({"a": "ok"}, dict(seeds=[0], workers=0), "workers"),
    ({"a": "ok"}, dict(seeds=[0], workers="many"), "workers"),
    ({"a": "ok"}, dict(seeds=[0], order="random"), "order"),
    ({"a": "ok"}, dict(seeds=[0], data_seed=3), "data_seed"),
    ({"a": "ok"}, dict(seeds=[0], only_finished="yes"), "only_finished"),
    ({"a": "ok"}, dict(seeds=[0], seeds_of={"b": [0]}), "seeds_of"),
    ({"a": "ok"}, dict(seeds=[0], seeds_of={"a": [1]}), "subset"),
    ({"a": "ok"}, dict(seeds=[0], seeds_of={"a": []}), "non-empty"),
])
def test_grid_validates_arguments_before_training(tmp_path, configs, kwargs, match):
    fix = lambda v: tiny_cfg() if v == "ok" else v  # noqa: E731
    configs = {k: fix(v) for k, v in configs.items()} if isinstance(configs, dict) else [(k, fix(v)) for k, v in configs]
    with pytest.raises(ValueError, match=match):
        run_grid(configs, out_dir=tmp_path, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_grid_seed_order_and_data_seed_per_trial(tmp_path, monkeypatch):
    """order="seed" starts and returns runs seed by seed (complete blocks first); data_seed="seed"
    gives each trial its own data, shared by the variants of that seed."""
    started = []

    def fake_fit(cfg, run_dir, progress, on_diverge):
        started.append((run_dir.parent.name, cfg.seed, cfg.data_seed))
        return {"top1": 0.5, "val_history": []}

    monkeypatch.setattr(G, "_fit_or_record", fake_fit)
    configs = {"a": tiny_cfg(data_seed=7), "b": tiny_cfg(model="frame_avg2d", data_seed=7)}
    rows = run_grid(configs, [3, 4], tmp_path, progress=False, order="seed", data_seed="seed")
    assert started == [("a", 3, 3), ("b", 3, 3), ("a", 4, 4), ("b", 4, 4)]
    assert [(r["name"], r["seed"]) for r in rows] == [("a", 3), ("b", 3), ("a", 4), ("b", 4)]
    started.clear()
    rows = run_grid(configs, [3, 4], tmp_path / "sub", progress=False, order="seed", data_seed="seed", seeds_of={"b": [3]})
    assert started == [("a", 3, 3), ("b", 3, 3), ("a", 4, 4)] and [(r["name"], r["seed"]) for r in rows] == [
        ("a", 3), ("b", 3), ("a", 4)]  # b trains on seed 3 only; a on both
    started.clear()
    run_grid(configs, [3], tmp_path / "fixed", progress=False)  # the defaults: config order, the config's data seed
    assert started == [("a", 3, 7), ("b", 3, 7)]
    assert G.trial_config(configs["a"], 5, "seed").data_seed == 5 and G.trial_config(configs["a"], 5).data_seed == 7


def test_grid_only_finished_loads_what_is_there_and_trains_nothing(tmp_path, monkeypatch):
    configs = {"a": tiny_cfg(epochs=1), "b": tiny_cfg(model="frame_avg2d", epochs=1)}
    run_grid({"a": configs["a"]}, [0], tmp_path, progress=False)  # one of the four runs finished

    def must_not_train(*a, **k):
        raise AssertionError("only_finished must not train")

    monkeypatch.setattr(G, "_fit_or_record", must_not_train)
    rows = run_grid(configs, [0, 1], tmp_path, progress=False, only_finished=True)
    assert [(r["name"], r["seed"], r["skipped"]) for r in rows] == [("a", 0, True)]
    rows, _ = train_grid(configs, [0, 1], tmp_path, only_finished=True, log=None)
    assert len(rows) == 1


def test_config_tag_ignores_seed_and_device_but_not_results_relevant_fields():
    a = TrainConfig(epochs=3)
    assert config_tag(a) == config_tag(TrainConfig(epochs=3, seed=7, device="cpu", num_workers=2))
    assert config_tag(a) != config_tag(TrainConfig(epochs=4))
    assert config_tag(a) != config_tag(TrainConfig(epochs=3, lr=1e-4))
    assert len(config_tag(a)) == 8


# ---------------------------------------------------------------------------------- train_grid


def test_train_grid_trains_then_reuses_and_adds_reversal_confusion(tmp_path, one_thread):
    base = base_config(model="c3d_small", model_kwargs=dict(width=0.125), dataset="synthactions",
                         dataset_kwargs=data_kwargs("synthactions", [4, 16, 16]), train_samples=16, epochs=1,
                         batch_size=16, lr=0.01, device="cpu")
    runs, extras = build_runs({"tiny": (base, {"variant": "tiny"})})
    lines = []
    rows, wall = train_grid(runs, 1, tmp_path, extras=extras, reversal=True, log=lines.append)
    assert wall > 0 and len(rows) == 1 and not rows[0]["skipped"] and rows[0]["variant"] == "tiny"
    assert lines == [f"1 runs (1 trained now, 0 reused) in {wall / 60:.1f} min"]
    confusion = json.loads((tmp_path / next(iter(runs)) / "seed_0" / FINAL_FILE).read_text())["test"]["confusion"]
    rc = reversal_confusion(confusion)
    assert rows[0]["swapped"] == rc["swapped"] and rows[0]["paired_top1"] == rc["paired_top1"]
    again, _ = train_grid(runs, 1, tmp_path, extras=extras, log=lines.append)
    assert again[0]["skipped"] and again[0]["top1"] == rows[0]["top1"] and "swapped" not in again[0]
    assert lines[-1].startswith("1 runs (0 trained now, 1 reused)")


def _fake_final(run_dir, confusion):
    run_dir.mkdir(parents=True)
    (run_dir / FINAL_FILE).write_text(json.dumps({"test": {"confusion": confusion}}))


def test_train_grid_reversal_only_with_reversed_pairs_and_reports_divergence(tmp_path, monkeypatch):
    k = 16
    confusion = np.eye(k, dtype=int) * 4
    a, b = REVERSAL_PAIRS[0]
    confusion[a, a], confusion[a, b] = 1, 3  # 3 of 4 clips of class a called its reverse
    _fake_final(tmp_path / "ok", confusion.tolist())
    rows = [dict(name="x", seed=0, run_dir=str(tmp_path / "ok"), skipped=False),
            dict(name="x", seed=1, run_dir=str(tmp_path / "bad"), skipped=False, error="non-finite loss")]
    monkeypatch.setattr(G, "run_grid", lambda *a, **k: [dict(r) for r in rows])
    cfg = TrainConfig(dataset="synthactions")
    lines = []
    out, _ = train_grid({"x": cfg}, 2, tmp_path, reversal=True, log=lines.append)
    assert out[0]["swapped"] == 3 / (4 * 2 * len(REVERSAL_PAIRS)) and "swapped" not in out[1]
    assert lines[1] == "1 runs diverged (non-finite loss) and are left out of the means: x/seed_1"
    monkeypatch.setattr(G, "has_reversal_pairs", lambda dataset: dataset != "synthactions")  # as a video dataset
    out, _ = train_grid({"x": cfg}, 2, tmp_path, reversal=True, log=None)
    assert "swapped" not in out[0]


# ---------------------------------------------------------------------------------- code fingerprints


def _smoothed_loss(monkeypatch):
    """A behaviour change of the training code: cross-entropy with label smoothing."""
    real_ce = torch.nn.functional.cross_entropy
    monkeypatch.setattr(torch.nn.functional, "cross_entropy",
                        lambda *a, **k: real_ce(*a, **{**k, "label_smoothing": 0.2}))


def test_grid_retrains_runs_made_by_other_code_and_keeps_them_aside(tmp_path, monkeypatch):
    cfg = tiny_cfg(epochs=1)
    lines = []
    first = run_grid({"c3d": cfg}, [0, 1], tmp_path, progress=False, log=lines.append)
    assert not any(r["skipped"] for r in first) and lines == []
    again = run_grid({"c3d": cfg}, [0, 1], tmp_path, progress=False, log=lines.append)  # same code: reused
    assert all(r["skipped"] for r in again) and lines == []
    assert G.find_finished_run(cfg, [tmp_path]) == tmp_path / "c3d" / "seed_0"
    old_top1 = json.loads((tmp_path / "c3d" / "seed_0" / FINAL_FILE).read_text())["top1"]
    old_hash = read_fingerprint(tmp_path / "c3d" / "seed_0")["hash"][:8]
    (tmp_path / "c3d" / "seed_1" / "fingerprint.json").unlink()  # a run made before fingerprints: unknown

    _smoothed_loss(monkeypatch)
    monkeypatch.setattr(G, "_workers", lambda workers, cfgs: (1, 1))  # a monkeypatch does not reach spawned workers
    assert G.find_finished_run(cfg, [tmp_path]) is None  # the finished run is the old code's
    rows, wall = train_grid({"c3d": cfg}, 2, tmp_path, log=lines.append)
    assert not any(r["skipped"] for r in rows)
    assert lines[0] == ("2 finished or started runs were made by other code (fingerprint changed or unknown) and are "
                        "retrained; the old ones are kept beside them as stale-seed_<k>-<hash>: c3d/seed_0, c3d/seed_1")
    assert lines[1] == f"2 runs (2 trained now, 0 reused) in {wall / 60:.1f} min"
    kept = tmp_path / "c3d" / f"stale-seed_0-{old_hash}"
    assert json.loads((kept / FINAL_FILE).read_text())["top1"] == old_top1  # the old run is not lost
    assert (tmp_path / "c3d" / "stale-seed_1-unknown" / FINAL_FILE).exists()
    assert sorted(p.name for p in (tmp_path / "c3d").iterdir()) == [
        "seed_0", "seed_1", "stale-seed_0-" + old_hash, "stale-seed_1-unknown"]
    assert aggregate_curves(tmp_path, "c3d")["seeds"] == [0, 1]  # set-aside folders are not seeds
    assert G.find_finished_run(cfg, [tmp_path]) == tmp_path / "c3d" / "seed_0"  # the new code's run

    rows2, _ = train_grid({"c3d": cfg}, 2, tmp_path, log=lines.append)  # the new code's runs are reused
    assert all(r["skipped"] for r in rows2) and lines[-1].startswith("2 runs (0 trained now, 2 reused)")
    assert len(lines) == 3

    monkeypatch.undo()  # back to the code that made the set-aside runs: the newest runs are retrained again
    run_grid({"c3d": cfg}, [0], tmp_path, progress=False, log=lines.append)
    assert lines[-1].endswith(": c3d/seed_0")
    assert len([p for p in (tmp_path / "c3d").iterdir() if p.name.startswith("stale-seed_0-")]) == 2


def test_grid_leaves_runs_of_another_config_to_fit_and_resumes_partial_runs_of_the_same_code(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, G.run_dir_of(tmp_path, "c3d", 0), progress=False, stop_after_epoch=1)  # a partial run
    lines = []
    rows = run_grid({"c3d": cfg}, [0], tmp_path, progress=False, log=lines.append)
    assert lines == [] and rows[0]["steps"] == 4 and not rows[0]["skipped"]  # resumed, not set aside
    assert sorted(p.name for p in (tmp_path / "c3d").iterdir()) == ["seed_0"]
    with pytest.raises(ConfigMismatchError):  # another config in the folder: fit refuses, nothing moved
        run_grid({"c3d": tiny_cfg(epochs=2, lr=1e-4)}, [0], tmp_path, progress=False, log=lines.append)
    assert lines == [] and sorted(p.name for p in (tmp_path / "c3d").iterdir()) == ["seed_0"]


def test_grid_reports_one_progress_line_per_trained_run(tmp_path, monkeypatch):
    import functools
    import re

    from actionrec.experiments.progress import GridReport

    lines = []
    monkeypatch.setattr(G, "GridReport", functools.partial(GridReport, write=lines.append))
    run_grid({"c3d": tiny_cfg(epochs=1)}, [0], tmp_path, progress=False)
    assert lines == []  # progress=False: no lines
    run_grid({"c3d": tiny_cfg(epochs=1), "frames": tiny_cfg(epochs=1, model="frame_avg2d")}, [0, 1], tmp_path)
    assert lines[0] == "grid: 4 runs, 3 to train (1 finished already), 1 at a time"
    runs = [re.fullmatch(r"grid (\d)/4 done, \d+ s elapsed, ETA \d+ s \((\w+/seed_\d): test top-1 \d+\.\d%\)", s)
            for s in lines[1:]]
    assert [(m[1], m[2]) for m in runs] == [("2", "c3d/seed_1"), ("3", "frames/seed_0"), ("4", "frames/seed_1")]
    assert lines[-1].split(", ")[2].startswith("ETA 0 s")
