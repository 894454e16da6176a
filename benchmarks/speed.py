"""CPU train-step time of MTNet across channel ratios r and sub-streams g, measured side by side.

Run: ``.venv/bin/python benchmarks/speed.py`` (about 5 minutes on 2 cores; ``--quick`` for ~1).

One train step = forward + cross-entropy + backward + SGD(momentum) step. For every clip size and
memory format, all (r, g) networks are built first, warmed up, then timed in interleaved rounds
(round k times every network once), and the median per network is reported with its ratio to
r = 1 at the same g (and to r = 1, g = 1). Interleaving makes the ratios robust to the machine's
load drifting during the run; the absolute ms are not (another process may share the cores: run
it twice and compare). ``torch.set_num_threads(2)`` by default. ``--profile`` adds a
torch.profiler table (top ops by self CPU time) for r = 1 and r = 0.875.

Result on this 2-core machine (another process often loaded it; ratios vary by ~+-0.15 between
runs): at width 0.25 r = 0.875 takes 1.4-1.5x the step time of r = 1 with 1 thread and 1.65-1.75x
with 2 threads (16x32x32 and 16x64x64, channels_last), although it needs 0.87x the MACs; r = 0.5 is
closest (1.1-1.4x). At width 1.0 (16x32x32) r = 0.75 is faster than r = 1 (0.78-0.80x) and
r = 0.875 is on par (0.87-1.05x). So r = 0.875 is NOT yet as fast as r = 1 at the notebook's small
width on CPU; the reasons are below. g = 8 cuts MACs 2x at this width and is not faster.

What the profile showed, and what changed (numbers: mtnet32, width 0.25, batch 16, 1 thread):
  * The first MTConv (a per-layer split/pool/upsample/concat prototype) was 1.4-1.6x slower than
    conv3d. Here the streams persist (no split/concat/upsample per layer) -- not enough: r = 0.875
    was still 1.6-1.7x slower than r = 1.
  * Pooling kernels dominated the extra time: avg_pool3d / max_pool3d on CPU are slow for small
    windows (avg_pool3d ~20 ms for a (16,16,16,32,32) tensor whose exp takes 1.5 ms) and
    avg_pool3d returns channels-first even for channels_last_3d input. SoftPool (20 calls per
    step at r < 1: laterals of every downsample MTConv, shortcuts, stream split) used max_pool +
    repeat_interleave + 2 avg_pools. Now SoftPool and the lateral average pool are exact custom
    autograd functions over non-overlapping windows: strided-slice adds/maxima forward, nearest
    upsampling of per-window values, closed-form backward (tests compare against brute force and
    F.avg_pool3d). SoftPool fwd+bwd on (16,14,16,8,8): 7.7 ms -> 1.6 ms (channels_last).
  * Odd channel counts (r = 0.875 at width 0.25 gives 14/2 and 7/1 channels): oneDNN conv3d in
    channels-first pads/reorders them (14-channel 3x3x3 conv fwd+bwd 15.6 ms vs 6.7 ms for 16
    channels); channels_last_3d removes that (6.2 ms). ``model.to(memory_format=
    torch.channels_last_3d)`` is the CPU switch (MTNet converts its input to match); it also
    speeds up r = 1 by ~10 %. In channels_last, BatchNorm with C = 7/14 is 1.5-2x slower per
    element than with C = 8/16 (its kernel vectorises over channels) -- not fixable without
    changing the op.
  * Folding avg_pool(2) + 1x1x1 lateral into one conv (kernel = stride = 2, weight / 8) is exact but
    was not faster: oneDNN's backward for that strided conv costs more than pool + 1x1x1. Running
    dense 1x1x1 convs on channels_last tensors as one F.linear (conv1x1x1) saved ~5 % for r < 1
    and ~10 % for r = 1 (bottleneck and shortcut 1x1x1 convs).
  * Squeeze-and-Recursion: PyTorch's CPU GRU runs a loop of small ops per time step (unlike the
    CPU LSTM, which is one fused mkldnn op); r < 1 adds a second GRU per stage (long stream),
    ~17 ms of a ~230 ms step at 16x32x32.
  * What remains at width 0.25 is memory traffic, not arithmetic: each r < 1 MTConv adds a long
    conv, a lateral pool over the full-resolution short stream (SoftPool in downsample blocks:
    ~12 passes over that tensor forward, ~8 backward), a 1x1x1 conv, two BatchNorms, an add and a
    relu, plus a second GRU per stage. With 16-64 channels a 3x3x3 conv does few MACs per byte, so
    those passes cost as much as the 23 % of short-stream MACs that r = 0.875 saves. At width 1.0
    the convolutions dominate and r < 1 is faster (see the last table).
  * Sub-streams (g = 8): grouped conv3d in oneDNN is slower per MAC than dense conv3d on CPU; g = 8
    cuts MACs ~4x but is not faster here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from actionrec.complexity import count_macs
from actionrec.models import mtnet as M

RATIOS = (0.5, 0.625, 0.75, 0.875, 1.0)


def build(model: str, r: float, g: int, width: float, channels_last: bool, num_classes: int = 10, seed: int = 0):
    torch.manual_seed(seed)
    net = getattr(M, model)(num_classes=num_classes, r=r, g=g, width=width)
    if channels_last:
        net = net.to(memory_format=torch.channels_last_3d)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    return net, opt


def train_step(net, opt, x, y) -> float:
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()
    return time.perf_counter() - t


def compare(configs, *, model, width, size, frames, batch, channels_last, warmup, reps):
    """configs: list of (r, g). Returns {(r, g): median seconds}."""
    torch.manual_seed(0)
    x = torch.randn(batch, 3, frames, size, size)
    y = torch.randint(0, 10, (batch,))
    nets = {c: build(model, c[0], c[1], width, channels_last) for c in configs}
    for net, opt in nets.values():
        for _ in range(warmup):  # first steps pay oneDNN primitive creation
            train_step(net, opt, x, y)
    times = {c: [] for c in configs}
    for _ in range(reps):
        for c, (net, opt) in nets.items():
            times[c].append(train_step(net, opt, x, y))
    return {c: statistics.median(t) for c, t in times.items()}


def print_table(res, *, model, width, size, frames, batch, fmt):
    print(f"\n{model} width={width} clip {frames}x{size}x{size} batch {batch} [{fmt}]")
    print(f"{'r':>6s} {'g':>2s} | {'ms/step':>8s} | {'vs r=1 same g':>13s} | {'vs r=1,g=1':>10s} | {'GMACs/clip':>10s} {'MAC ratio':>9s}")
    macs = {}
    for (r, g) in res:
        with torch.device("meta"):
            net = getattr(M, model)(num_classes=10, r=r, g=g, width=width)
        macs[r, g] = count_macs(net, (3, frames, size, size))
    for (r, g), t in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base = res.get((1.0, g))
        base11 = res.get((1.0, 1))
        mb = macs.get((1.0, g))
        print(
            f"{r:6.3f} {g:2d} | {t * 1000:8.1f} | "
            f"{(t / base if base else float('nan')):13.2f} | {(t / base11 if base11 else float('nan')):10.2f} | "
            f"{macs[r, g] / 1e9:10.3f} {(macs[r, g] / mb if mb else float('nan')):9.2f}"
        )


def profile(*, model, width, size, frames, batch, channels_last, top=14):
    from torch.profiler import ProfilerActivity, profile as tprofile

    torch.manual_seed(0)
    x = torch.randn(batch, 3, frames, size, size)
    y = torch.randint(0, 10, (batch,))
    for r in (1.0, 0.875):
        net, opt = build(model, r, 1, width, channels_last)
        for _ in range(4):
            train_step(net, opt, x, y)
        with tprofile(activities=[ProfilerActivity.CPU]) as p:
            for _ in range(3):
                train_step(net, opt, x, y)
        rows = sorted(p.key_averages(), key=lambda k: -k.self_cpu_time_total)
        total = sum(k.self_cpu_time_total for k in rows) / 3 / 1000
        print(f"\nprofile r={r} ({'channels_last_3d' if channels_last else 'channels-first'}), "
              f"self CPU {total:.1f} ms/step, top ops:")
        for k in rows[:top]:
            print(f"  {k.key:45s} {k.self_cpu_time_total / 3 / 1000:8.2f} ms/step  {k.count // 3:5d} calls")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="mtnet32")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--formats", nargs="+", default=["channels_last", "channels_first"])
    ap.add_argument("--no-wide", action="store_true", help="skip the width=1.0 comparison")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--quick", action="store_true", help="r in {0.75, 0.875, 1}, size 32, channels_last only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ratios = (0.75, 0.875, 1.0) if args.quick else RATIOS
    sizes = [32] if args.quick else args.sizes
    formats = ["channels_last"] if args.quick else args.formats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {args.reps} interleaved rounds")
    configs = [(r, g) for g in (1, 8) for r in ratios]
    for fmt in formats:
        for size in sizes:
            res = compare(configs, model=args.model, width=args.width, size=size, frames=args.frames,
                          batch=args.batch, channels_last=fmt == "channels_last", warmup=args.warmup, reps=args.reps)
            print_table(res, model=args.model, width=args.width, size=size, frames=args.frames, batch=args.batch, fmt=fmt)
    if not args.no_wide and not args.quick:
        res = compare([(0.75, 1), (0.875, 1), (1.0, 1)], model=args.model, width=1.0, size=32, frames=args.frames,
                      batch=args.batch, channels_last=True, warmup=2, reps=3)
        print_table(res, model=args.model, width=1.0, size=32, frames=args.frames, batch=args.batch, fmt="channels_last")
    if args.profile:
        profile(model=args.model, width=args.width, size=32, frames=args.frames, batch=args.batch, channels_last=True)


if __name__ == "__main__":
    main()
