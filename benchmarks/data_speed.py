"""SynthActions generation speed beside training consumption, measured in the same run.

For 16 x 32 x 32 and 16 x 64 x 64 clips, prints per difficulty:

* generation clips/s, batched (``ds.get_batch``, which ``DataLoader`` calls through
  ``__getitems__``) and per item (``ds[i]``), single process;
* training consumption clips/s: one optimisation step (forward, cross-entropy, backward,
  AdamW) of ``build_model("c3d_small", num_classes=16, width=w)`` on a batch, median of repeats,
  for each ``--widths`` (default 1.0 and 0.5; 0.5 gives channels 16/32/64/64, the size of the
  tiny nets in shared/papers/NOTES.md);
* the ratio generation / consumption against the fastest consumer (the goal is >= 10: data
  never the bottleneck).

Usage: ``python benchmarks/data_speed.py [--batch-size 32] [--repeats 5] [--threads 2] [--widths 1 0.5]``.
Timings are medians; other processes on the machine perturb them (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn


def _median_rate(fn, items: int, repeats: int) -> float:
    """Median items/s of ``fn()`` (which processes ``items`` items) over ``repeats`` calls."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return items / statistics.median(times)


def _tiny_c3d(num_classes: int) -> nn.Module:
    """Fallback when actionrec.models has no c3d_small: three conv3d layers."""
    layers, c = [], 3
    for w in (32, 64, 128):
        layers += [nn.Conv3d(c, w, (3, 3, 3), padding=1), nn.BatchNorm3d(w), nn.ReLU(inplace=True),
                   nn.MaxPool3d((2, 2, 2))]
        c = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(c, num_classes))


def build_consumer(num_classes: int, width: float) -> tuple[nn.Module, str]:
    try:
        from actionrec.models import build_model

        return build_model("c3d_small", num_classes=num_classes, width=width), f"c3d_small(width={width:g})"
    except (ImportError, ValueError, TypeError):
        return _tiny_c3d(num_classes), "3-layer conv3d (fallback)"


def train_rate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step()  # one extra warm-up step (allocator, AdamW state)
    return _median_rate(step, len(x), repeats)


def main() -> None:
    from actionrec.data.synthactions import SynthActions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=32, help="clips per generation batch and train step")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats (median)")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="torch threads for the train step")
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.5], help="c3d_small width multipliers")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    B, T = args.batch_size, args.frames

    print(f"load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}, {args.threads} threads; "
          f"batch {B}, {T} frames; generation single process")
    header = f"{'size':>6} {'difficulty':>10} {'gen batched':>12} {'gen per item':>13} {'train':>8} {'ratio':>7}"
    for size in (32, 64):
        ds = SynthActions("train", 100 * B, frames=T, size=size, difficulty="medium")
        x, y = ds.get_batch(range(B))
        rates = {}
        for w in args.widths:
            model, name = build_consumer(SynthActions.num_classes, w)
            rates[name] = train_rate(model, x, y, args.repeats)
        print(f"\n{T}x{size}x{size} training consumption (one AdamW step per batch of {B}): "
              + ", ".join(f"{n} {r:.1f} clips/s" for n, r in rates.items()))
        train = max(rates.values())
        print(header + "   (clips/s; ratio = gen batched / fastest train)")
        for difficulty in ("easy", "medium", "hard"):
            ds = SynthActions("train", 100 * B, frames=T, size=size, difficulty=difficulty)
            start = iter(range(0, len(ds) - B, B))  # fresh items every call

            def batched():
                i = next(start)
                ds.get_batch(range(i, i + B))

            def per_item():
                i = next(start)
                for k in range(i, i + B):
                    ds[k]

            gen_b = _median_rate(batched, B, args.repeats)
            gen_i = _median_rate(per_item, B, args.repeats)
            print(f"{size:>6} {difficulty:>10} {gen_b:>12.0f} {gen_i:>13.0f} {train:>8.1f} {gen_b / train:>6.1f}x")


if __name__ == "__main__":
    main()
