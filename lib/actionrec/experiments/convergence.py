"""The convergence pilot of a chapter: its runs as committed files, and the doubling test on them.

A schedule is *converged* when doubling it gains less than :data:`DOUBLING_GAIN` points of test top-1,
averaged over the pilot seeds, for every variant piloted (issue 15's criterion: a plateau at the end
of a cosine schedule proves nothing, its learning rate is zero there). The pilot's runs are kept
beside the chapter's reference::

    book/results/<chapter>/pilot/
      rows.csv     one row per run: setting, variant, seed, data_seed, epochs, steps, train_samples,
                   difficulty, status (finished / running / stopped), top1 (test), val_top1 and
                   train_acc (its last epoch), epochs_done, source
      curves.csv   val top-1 per epoch of every run: setting, variant, seed, epochs, epoch, top1

:func:`pilot_row` reads one run folder, :func:`add_runs` writes runs into a pilot folder (replacing
rows of the same run), :func:`load_pilot` reads it back, :func:`doubling_test` puts every run
beside the same variant, seed and setting trained twice as long (:func:`schedule_verdict`: one
schedule's verdict over every variant), and :func:`doubling_curves` hands the curves of a setting
to :func:`actionrec.viz.protocol.plot_doubling`. ``python -m
actionrec.experiments.convergence DIR --setting NAME --variant NAME RUN_DIR...`` adds runs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..train import CONFIG_FILE, METRICS_FILE
from ..utils.io import read_jsonl

__all__ = ["DOUBLING_GAIN", "PILOT_DIR", "pilot_row", "add_runs", "load_pilot", "doubling_test", "schedule_verdict",
           "doubling_curves", "main"]

#: Points of test top-1 that doubling a converged schedule may gain at most (mean over pilot seeds).
DOUBLING_GAIN = 1.0
PILOT_DIR, _ROWS, _CURVES = "pilot", "rows.csv", "curves.csv"
_KEY = ["setting", "variant", "seed", "epochs"]


def pilot_row(run_dir: str | os.PathLike, *, setting: str, variant: str,
              stopped: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One pilot run (a folder with ``config.json`` and ``metrics.jsonl``) as a row and its val curve.
    ``status`` is *finished* once it reached its test evaluation, else *running*, or *stopped* when
    ``stopped`` (abandoned: it will not finish); an unfinished run keeps ``top1`` NaN and its curve so far."""
    run_dir = Path(run_dir)
    for name in (CONFIG_FILE, METRICS_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir / name} is missing: a pilot run folder holds {CONFIG_FILE} and "
                                    f"{METRICS_FILE} (a run folder of actionrec.train.fit)")
    cfg, recs = json.loads((run_dir / CONFIG_FILE).read_text()), read_jsonl(run_dir / METRICS_FILE)
    test, val, epoch = ([r for r in recs if r.get("kind") == k] for k in ("test", "val", "epoch"))
    key = dict(setting=setting, variant=variant, seed=cfg["seed"], epochs=cfg["epochs"])
    row = dict(key, data_seed=cfg.get("data_seed"), steps=max((r.get("step", 0) for r in recs), default=0),
               train_samples=cfg.get("train_samples"), difficulty=cfg.get("dataset_kwargs", {}).get("difficulty"),
               status="finished" if test else ("stopped" if stopped else "running"),
               top1=test[-1]["top1"] if test else np.nan, val_top1=val[-1]["top1"] if val else np.nan,
               train_acc=epoch[-1]["acc"] if epoch else np.nan, epochs_done=val[-1]["epoch"] if val else 0,
               source=f"{run_dir.parent.name}/{run_dir.name}")
    return row, [dict(key, epoch=r["epoch"], top1=r["top1"]) for r in val]


def load_pilot(pilot_dir: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``(rows, curves)`` of a pilot folder, or None when it has none."""
    pilot_dir = Path(pilot_dir)
    if not (pilot_dir / _ROWS).is_file():
        return None
    curves = pilot_dir / _CURVES
    return pd.read_csv(pilot_dir / _ROWS), (pd.read_csv(curves) if curves.is_file() else pd.DataFrame(columns=_KEY))


def add_runs(pilot_dir: str | os.PathLike, run_dirs: Iterable[str | os.PathLike], *, setting: str,
             variant: str, stopped: bool = False) -> pd.DataFrame:
    """Write ``run_dirs`` (all of one ``setting`` and ``variant``) into ``pilot_dir``, replacing the
    rows and curves of the same setting, variant, seed and epochs. Returns the rows."""
    pilot_dir = Path(pilot_dir)
    new = [pilot_row(d, setting=setting, variant=variant, stopped=stopped) for d in run_dirs]
    rows, curves = load_pilot(pilot_dir) or (pd.DataFrame(columns=_KEY), pd.DataFrame(columns=_KEY))
    add_rows = pd.DataFrame([r for r, _ in new])
    add_curves = pd.DataFrame([c for _, cs in new for c in cs], columns=_KEY + ["epoch", "top1"])
    drop = set(map(tuple, add_rows[_KEY].astype(str).values))

    def keep(df: pd.DataFrame) -> pd.DataFrame:
        return df[[tuple(k) not in drop for k in df[_KEY].astype(str).values]] if len(df) else df

    rows = pd.concat([x for x in (keep(rows), add_rows) if len(x)], ignore_index=True)
    curves = pd.concat([x for x in (keep(curves), add_curves) if len(x)], ignore_index=True)
    pilot_dir.mkdir(parents=True, exist_ok=True)
    rows.sort_values(_KEY).to_csv(pilot_dir / _ROWS, index=False)
    curves.sort_values(_KEY + ["epoch"]).to_csv(pilot_dir / _CURVES, index=False)
    return rows


def doubling_test(rows: pd.DataFrame, *, seeds: Sequence[int] | None = None, gain: float = DOUBLING_GAIN) -> pd.DataFrame:
    """Every schedule of the pilot beside its doubling: one row per setting, variant and ``epochs``
    whose ``2 × epochs`` runs exist, with the pilot ``seeds`` (default: those in ``rows``), both
    schedules' test top-1 per seed done and the gains (points), their mean, and ``verdict``:
    *converged* (mean gain < ``gain`` over every pilot seed), *not converged*, or, while a seed is not
    done, *running* (a run of the pair still trains), *stopped* (one was abandoned) or *incomplete*
    (a seed's run was never started); the gains of the seeds done so far are shown either way."""
    out = []
    for (setting, variant), g in rows.groupby(["setting", "variant"], sort=False):
        for e in sorted(set(g["epochs"])):
            short, long = g[g["epochs"] == e].set_index("seed"), g[g["epochs"] == 2 * e].set_index("seed")
            if long.empty:
                continue
            pilot = sorted(set(short.index) | set(long.index)) if seeds is None else sorted(seeds)
            done = [s for s in pilot if s in short.index and s in long.index
                    and short.loc[s, "status"] == long.loc[s, "status"] == "finished"]
            gains = [float(100 * (long.loc[s, "top1"] - short.loc[s, "top1"])) for s in done]
            mean = float(np.mean(gains)) if gains else np.nan
            if len(done) < len(pilot):
                status = set(short["status"].reindex(pilot).dropna()) | set(long["status"].reindex(pilot).dropna())
                verdict = next((v for v in ("running", "stopped") if v in status), "incomplete")
            else:
                verdict = "converged" if mean < gain else "not converged"
            out.append(dict(setting=setting, variant=variant, epochs=e, doubled=2 * e, seeds=[int(x) for x in pilot],
                            top1=[round(float(100 * short.loc[s, "top1"]), 2) for s in done],
                            top1_doubled=[round(float(100 * long.loc[s, "top1"]), 2) for s in done],
                            gains=[round(x, 2) for x in gains], mean_gain=mean, done=f"{len(done)} of {len(pilot)}",
                            verdict=verdict))
    return pd.DataFrame(out, columns=["setting", "variant", "epochs", "doubled", "seeds", "top1", "top1_doubled",
                                      "gains", "mean_gain", "done", "verdict"])


def schedule_verdict(table: pd.DataFrame, setting: str, epochs: int) -> str:
    """One markdown line on whether ``epochs`` converged at ``setting`` (a :func:`doubling_test`
    table): *converged* only when every variant piloted converged, *not converged* as soon as one did
    not, else the variants still open."""
    here = table[(table["setting"] == setting) & (table["epochs"] == epochs)]
    if here.empty:
        return f"**{epochs} epochs at {setting}:** no doubling pilot."
    verdicts = dict(zip(here["variant"], here["verdict"]))
    overall = ("not converged" if "not converged" in verdicts.values() else
               "converged" if set(verdicts.values()) == {"converged"} else "open")
    parts = []
    for _, r in here.iterrows():
        gains = f"; gains {', '.join(f'{x:+.2f}' for x in r['gains'])}, mean {r['mean_gain']:+.2f}" if r["gains"] else ""
        parts.append(f"{r['variant']} {r['verdict']} ({r['done']} pilot seeds done{gains})")
    return (f"**{epochs} → {2 * epochs} epochs at {setting}: {overall}** (criterion: mean gain < "
            f"{DOUBLING_GAIN:g} point for every variant) — " + "; ".join(parts) + ".")


def doubling_curves(curves: pd.DataFrame, setting: str,
                    epochs: Sequence[int] | None = None) -> dict[str, dict[tuple[Any, int], tuple[list, list]]]:
    """The val curves (top-1 in points) of one ``setting`` (of the schedules ``epochs``, default all)
    for :func:`actionrec.viz.protocol.plot_doubling`: ``{variant: {(seed, epochs): (epoch, top1)}}``."""
    sub = curves[curves["setting"] == setting]
    if epochs is not None:
        sub = sub[sub["epochs"].isin(list(epochs))]
    return {v: {(s, e): (g["epoch"].tolist(), (100 * g["top1"]).tolist()) for (s, e), g in vg.groupby(["seed", "epochs"])}
            for v, vg in sub.groupby("variant", sort=False)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m actionrec.experiments.convergence",
                                description="Add finished or running pilot runs to a chapter's pilot folder.")
    p.add_argument("pilot_dir", help="e.g. book/results/ablation_ratio/pilot")
    p.add_argument("--setting", required=True, help="a short name of the data setting and clip count")
    p.add_argument("--variant", required=True, help="the variant's name in the chapter, e.g. r1_g1")
    p.add_argument("--stopped", action="store_true", help="the unfinished runs among them were abandoned")
    p.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",")], default=None,
                   help="the pilot seeds the doubling test needs, e.g. 100,101 (default: those in the folder)")
    p.add_argument("run_dirs", nargs="+", help="run folders (config.json + metrics.jsonl)")
    args = p.parse_args(argv)
    rows = add_runs(args.pilot_dir, args.run_dirs, setting=args.setting, variant=args.variant, stopped=args.stopped)
    print(f"{args.pilot_dir}: {len(rows)} runs")
    print(doubling_test(rows, seeds=args.seeds).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
