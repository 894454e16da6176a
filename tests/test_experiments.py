"""Tests of actionrec.experiments: Student-t quantiles against table values, CIs on a known
sample, grouping, verdicts on constructed summaries, and a tiny grid (2 configs x 2 seeds of
one epoch on 8x16x16 SynthActions) that a second call loads instead of training."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

import actionrec.train as train
from actionrec.experiments import (
    aggregate_curves,
    best,
    betainc,
    compare,
    load_curves,
    mean_ci,
    run_grid,
    summarize,
    t_cdf,
    t_quantile,
    write_results,
)
from actionrec.train import TrainConfig


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("p,df,expected", [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.975, 4, 2.776), (0.975, 5, 2.571),
    (0.975, 9, 2.262), (0.975, 10, 2.228), (0.975, 20, 2.086), (0.975, 30, 2.042), (0.975, 120, 1.980),
    (0.95, 3, 2.353), (0.995, 5, 4.032), (0.9, 1, 3.078), (0.975, 10**7, 1.960),
])
def test_t_quantile_matches_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=5e-4)


def test_t_distribution_identities():
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-12)
    for df in (1, 2.5, 8, 50):
        for p in (0.6, 0.9, 0.99):
            assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi
    assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3)
    assert betainc(2.5, 2.5, 0.5) == pytest.approx(0.5)
    assert betainc(2.0, 3.0, 0.4) == pytest.approx(0.5248)  # 1 - sum_{j<2} C(4,j) .4^j .6^(4-j)
    with pytest.raises(ValueError, match="p="):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df="):
        t_quantile(0.9, 0)


def test_mean_ci_on_known_sample():
    mean, std, ci = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and std == pytest.approx(math.sqrt(2.5))
    assert ci == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-5)  # 1.9632
    m1, s1, c1 = mean_ci([0.7])
    assert m1 == 0.7 and math.isnan(s1) and math.isnan(c1)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=95)


def rows_of(values: dict[str, list[float]], **extra) -> list[dict]:
    return [{"name": n, "seed": s, "top1": v, "run_dir": f"x/{n}/seed_{s}", **extra.get(n, {})}
            for n, vs in values.items() for s, v in enumerate(vs)]


def test_summarize_groups_and_carries_constant_fields():
    rows = rows_of({"a": [0.6, 0.7, 0.8], "b": [0.5, 0.5]}, a={"r": 0.5, "gmacs": 1.2}, b={"r": 1.0, "gmacs": 1.5})
    rows[0]["params"], rows[1]["params"], rows[2]["params"] = 10, 10, 11  # not constant in "a"
    s = summarize(rows)
    assert [e["label"] for e in s] == ["a", "b"]
    a, b = s
    assert a["mean"] == pytest.approx(0.7) and a["n"] == 3 and a["std"] == pytest.approx(0.1)
    assert a["ci"] == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)
    assert a["lo"] == pytest.approx(0.7 - a["ci"]) and a["seeds"] == [0, 1, 2]
    assert a["r"] == 0.5 and a["gmacs"] == 1.2 and "params" not in a and "seed" not in a
    assert b["std"] == 0.0 and b["ci"] == 0.0
    by_r = summarize(rows, by=["r"], metric="top1")
    assert [e["label"] for e in by_r] == ["r=0.5", "r=1.0"]
    with pytest.raises(ValueError, match="'top9'"):
        summarize(rows, metric="top9")


def test_summarize_counts_failed_runs():
    rows = rows_of({"a": [0.6, 0.7, 0.8]})
    rows[1]["top1"] = None
    (a,) = summarize(rows)
    assert a["n"] == 2 and a["n_failed"] == 1 and a["mean"] == pytest.approx(0.7)


def test_compare_verdicts():
    s = summarize(rows_of({
        "hi": [0.80, 0.81, 0.82], "lo": [0.50, 0.51, 0.52], "near": [0.79, 0.81, 0.84],
        "single": [0.9], "w_a": [10.0, 11.0, 12.0], "w_b": [7.0, 8.0, 9.0],
    }))
    c = compare(s, "hi", "lo")
    assert c["verdict"] == "higher" and c["better"] == "hi" and c["diff"] == pytest.approx(0.3)
    assert "higher than" in c["sentence"] and "do not overlap" in c["sentence"] and "81.0%" in c["sentence"]
    assert compare(s, "lo", "hi")["verdict"] == "lower"
    assert compare(s, "lo", "hi", higher_is_better=False)["better"] == "lo"
    n = compare(s, "hi", "near")
    assert n["verdict"] == "indistinguishable" and n["better"] is None and "overlap" in n["sentence"]
    one = compare(s, "single", "lo")
    assert one["verdict"] == "indistinguishable" and "fewer than 2" in one["sentence"]
    # CIs overlap ([8.52, 13.48] vs [5.52, 10.48]) but the Welch CI of the difference, 3 ± 2.27, excludes 0
    assert compare(s, "w_a", "w_b")["verdict"] == "indistinguishable"
    w = compare(s, "w_a", "w_b", method="welch")
    assert w["verdict"] == "higher" and w["diff_ci"] == pytest.approx(2.776445 * math.sqrt(2 / 3), rel=1e-5)
    assert compare(s, {"name": "hi"}, "lo")["verdict"] == "higher"
    with pytest.raises(ValueError, match="labels"):
        compare(s, "hi", "missing")


def test_best_reports_ties_and_clear_winners():
    s = summarize(rows_of({"a": [0.80, 0.81, 0.82], "b": [0.79, 0.81, 0.84], "c": [0.5, 0.51, 0.52]}))
    r = best(s)
    assert r["best"] == "b" and r["tied"] == ["a"] and not r["clear"]
    assert "indistinguishable from a (CIs overlap)" in r["sentence"]
    r2 = best(s[::2])  # a vs c
    assert r2["best"] == "a" and r2["clear"] and "clearly ahead" in r2["sentence"]
    assert best(s, higher_is_better=False)["best"] == "c"


# ---------------------------------------------------------------------------------- grid


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

    monkeypatch.setattr(train, "_train_epoch", must_not_train)
    monkeypatch.setattr(train, "build_datasets", must_not_train)
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
    monkeypatch.setattr(train.F, "cross_entropy", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True))
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
])
def test_grid_validates_arguments_before_training(tmp_path, configs, kwargs, match):
    fix = lambda v: tiny_cfg() if v == "ok" else v  # noqa: E731
    configs = {k: fix(v) for k, v in configs.items()} if isinstance(configs, dict) else [(k, fix(v)) for k, v in configs]
    with pytest.raises(ValueError, match=match):
        run_grid(configs, out_dir=tmp_path, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_config_tag_ignores_seed_and_device_but_not_results_relevant_fields():
    from actionrec.experiments import config_tag

    a = TrainConfig(epochs=3)
    assert config_tag(a) == config_tag(TrainConfig(epochs=3, seed=7, device="cpu", num_workers=2))
    assert config_tag(a) != config_tag(TrainConfig(epochs=4))
    assert config_tag(a) != config_tag(TrainConfig(epochs=3, lr=1e-4))
    assert len(config_tag(a)) == 8
