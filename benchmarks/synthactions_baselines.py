"""SynthActions acceptance check: does the dataset demand temporal modelling?

Trains, with the default budget below and the same recipe, an orderless control
(``frame_avg2d``: a 2D CNN per frame, logits averaged over frames) and a small plain 3D CNN
(``c3d_small``), and prints their test top-1 beside the targets:

- frame_avg2d must stay <= 60% (by construction it cannot exceed ORDERLESS_CEILING = 56.25%:
  7 of the 16 classes are exact time reversals of 7 others);
- c3d_small must reach >= 85%.

Usage: ``python benchmarks/synthactions_baselines.py [--difficulty easy] [--epochs 10] [--seeds 1]`` (≈12 min on one core)
Runs go to ``build/baselines/`` and are reused when finished.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from actionrec.experiments.grid import run_grid
from actionrec.experiments.summary import summarize, write_results
from actionrec.data.synthactions import ORDERLESS_CEILING
from actionrec.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--difficulty", default="easy", choices=["easy", "medium", "hard"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train-samples", type=int, default=2000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "baselines")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    base = TrainConfig(
        dataset_kwargs=dict(frames=16, size=args.size, difficulty=args.difficulty),
        train_samples=args.train_samples, val_samples=512, test_samples=512,
        epochs=args.epochs, batch_size=32, lr=3e-3, weight_decay=0.05, scheduler="cosine", warmup_steps=50,
    )
    configs = {
        name: replace(base, model=name, model_kwargs={"width": args.width}) for name in ("frame_avg2d", "c3d_small")
    }
    t0 = time.time()
    tag = f"{args.difficulty}_{args.size}px_{args.epochs}ep_{args.train_samples}"
    rows = run_grid(configs, range(args.seeds), args.out / tag)
    summary = summarize(rows, by=("name",), metric="top1")
    write_results(rows, summary, args.out / tag)
    print(f"\nSynthActions ({args.difficulty}, 16x{args.size}x{args.size}, {args.train_samples} train clips, "
          f"{args.epochs} epochs, {args.seeds} seed(s)); wall {time.time() - t0:.0f} s")
    print(f"{'model':<12} {'test top-1':>12} {'target':>10} {'ok':>4}")
    targets = {"frame_avg2d": ("<= 60%", lambda a: a <= 0.60), "c3d_small": (">= 85%", lambda a: a >= 0.85)}
    for e in summary:
        t, ok = targets[e["label"]]
        ci = f" ± {100 * e['ci']:.1f}" if e["n"] > 1 else ""
        print(f"{e['label']:<12} {100 * e['mean']:>8.1f}%{ci:<6} {t:>8} {'yes' if ok(e['mean']) else 'NO':>4}")
    print(f"orderless ceiling by construction: {100 * ORDERLESS_CEILING:.2f}%")


if __name__ == "__main__":
    main()
