"""CPU train-step time of MTNet across channel ratios r and sub-streams g, measured side by side.

Run: ``taskset -c 1 .venv/bin/python benchmarks/speed.py --threads 1`` (a few minutes;
``--quick`` times r in {0.875, 1} at g = 1 only; ``--bounds`` adds the lower bounds below).

Default configuration = the ratio notebook's (``notebooks/ablation_ratio.py``): ``build_model(
"mtnet32", num_classes=16, r=r, g=g, width=0.25)``, clips 16x32x32, batch 32, contiguous
(channels-first) input as ``actionrec.train`` feeds it, one train step = forward + cross-entropy
+ backward + AdamW step (weight decay 0.05 on >=2-D parameters, as ``train.build_optimizer``).
All (r, g) networks are built first, warmed up, then timed in interleaved rounds (round k times
every network once); the median per network is printed with its ratio to r = 1 at the same g,
plus one PASS/FAIL line for "r = 0.875 is not slower than r = 1" (g = 1). Interleaving keeps the
ratios meaningful while the machine's load drifts; the absolute ms are not (run it twice).
``--profile`` adds torch.profiler tables (top ops by self CPU time, op calls per step) for r = 1
and r = 0.875.

What was done for speed (all exact: same function, same parameters; tests compare values and
gradients with the plain formulation):
  * Streams persist between layers (no split/concat/upsample per layer).
  * SoftPool and the lateral average pool are custom autograd functions over non-overlapping
    windows: strided-slice maxima/adds forward, closed-form backward; a per-window value is
    broadcast back onto its window with ``tile_up``, a per-dimension expand+reshape copy that is
    1.5-6x faster than ``F.interpolate(mode="nearest")`` for these shapes (76 calls per step at
    r < 1, 12 at r = 1).
  * On CPU MTNet runs channels_last_3d internally (its input is converted in
    ``forward_features``), so the notebook gets it without ``model.to(memory_format=...)``:
    oneDNN conv3d with 7/14 channels is 2-3x slower channels-first (14-channel 3x3x3 conv
    fwd+bwd at (32, 14, 16, 8, 8): 40 ms channels-first, 15 ms channels_last; 16 channels: 16-18 ms
    either way). Dense 1x1x1 convs on channels_last run as one ``F.linear``.
  * Average-pool laterals compute ``pool(conv_s2l(x_s))`` instead of ``conv_s2l(pool(x_s))``
    (both linear, they commute): the pool runs over C_l (2) instead of C_s (14) channels.

Optimizer: ``actionrec.train.build_optimizer`` uses fused AdamW (one kernel over all parameters):
29.7 -> 3.8 ms per step at r = 0.875 (339 tensors) and 24.8 -> 3.6 ms at r = 1 (130), one thread.
It helps both networks about equally, so the ratio below barely moves (1.25-1.37 before and after,
depending on the machine's load). torch.compile was tried for the whole train step: compiling
MTNet-32's forward+backward did not finish within 500 s on one core (twice), so it is no option
for notebooks whose runs last under a minute.

Why r = 0.875 is still slower than r = 1 at this width (mtnet32, width 0.25, 16x32x32, batch 32,
1 thread pinned to one core; see the table this script prints): the network is tiny (16-128
channels, the long stream has 2-16), so a step is dominated by per-op and memory costs, not MACs.
r < 1 runs 53 convolutions per step instead of 21 (each long-stream conv is a separate oneDNN call:
1.2 ms fwd+bwd for a 2-channel 3x3x3 conv at (32, 2, 8, 4, 4), 0.5-0.9 ms at smaller sizes, against
10-15 ms for the 14/16-channel short-stream conv at (32, 14, 16, 8, 8)), 91 BatchNorms instead of
32 and about 2x the other aten ops (a lateral pool, a 1x1x1 matmul, an add per MTConv; 20 SoftPools
instead of 4; a second GRU per stage). In a profile after the fused optimizer, convolution
forward+backward took 173 ms per step at r = 0.875 and 107 ms at r = 1; the MACs it saves (13 %)
are in convs whose cost at these sizes is per call, not per MAC. Measured per call (fwd+bwd, channels_last, 1
thread): a 2-channel 3x3x3 conv at (32, 2, 8, 4, 4) takes 1.1 ms, half of the 16-channel conv at
the same size; BatchNorm with 7/14 channels is 1.2-1.5x slower per element than with 8/16 (its
kernel vectorises over channels). At width 1.0 the convolutions dominate and r < 1 is faster
(``--wide``). Where the crossover lies (``--quick --widths``, r = 0.875 / r = 1, 1 thread, same clip
and batch, measured 2026-11-22 on an idle machine): width 0.25 -> 1.33 (289 vs 217 ms), width 0.5
-> 1.08 (573 vs 529 ms), width 1.0 -> 0.92 (2632 vs 2874 ms). So "fewer MACs, less time" holds from
about width 0.75 up; at the notebook's width the extra per-op work of the long stream wins.

What no implementation of the long stream can fix (``--bounds``, measured 2026-11-22, idle machine,
one thread, interleaved): with every MTConv's long path made free (zeros, no ops), r = 0.875 still
takes 1.08x the time of r = 1 (312.7 vs 290.6 ms; 1.12 in a second run; the long-stream shortcuts,
its GRUs and the stem split remain), and its short stream *alone* -- a plain network of 14/28/56/112
channels, 0.86x the MACs of r = 1's 16/32/64/128, no long stream at all, both without
Squeeze-and-Recursion -- takes 1.00x the time of r = 1 (267.9 vs 266.6 ms; 1.01 in a second run).
Why (``--channels``, stage 1's size (32, C, 16, 8, 8), channels_last, fwd+bwd, this AVX-512 CPU,
five runs): a 3x3x3 conv at C = 14 takes 0.95-1.13x the time it takes at C = 16 (e.g. 10.35 vs 10.67
ms) despite 23% fewer MACs -- oneDNN blocks channels by the SIMD width, so 14 are padded to 16 (28
vs 32: 35.4 vs 36.8 ms) -- and BatchNorm at C = 14 takes 0.98-1.81x its time at C = 16 (e.g. 2.73 vs
1.51 ms; its channels_last kernel vectorises over whole 8/16-channel vectors). r = 0.875 splits
16/32/64/128 channels into 14/28/56/112 + 2/4/8/16, so its short stream alone already costs what r =
1 does, and whatever the long stream adds makes it slower. A faster conv3d speeds r = 1 up as much.
A BatchNorm without the 14-channel penalty would help r = 0.875 only, but all of its 91 BatchNorms
take 36 ms per step (profile; r = 1's 32 take 27 ms): even free they could not close a gap of 70-80
ms. (A hand-written channels_last BatchNorm, var_mean over (N/8, 8C) views, was 1.9-3.6x slower than
ATen's; dropped.) Fusing or hand-writing the long path and the lateral could win at most the 1.39 ->
1.08-1.12 part. The same holds with more work per call: batch 128 gives 1.24 (1270 vs 1024 ms), clip
16x64x64 gives 1.17. The whole table above is above 1 at this width (r = 0.5 with 0.59x the MACs:
1.16). The target "r = 0.875 at least as fast as r = 1" is met from width 0.75 (0.93, 1150 vs 1235
ms) and at the paper's width 1.0 (0.92; 0.95 in a second run, 1865 vs 1958 ms; width 0.5: 1.16).

Also tried and dropped (fwd+bwd, one thread): a window-major SoftPool (one copy into a (kT*kH*kW,
...) layout, then contiguous reductions and broadcasts) ran between 2.3x slower and 2.2x faster than
the tiled one depending on the shape ((32, 7, 16, 8, 8), k = 4: 1.96 vs 2.80 ms; (32, 28, 4, 2, 2),
k = 2: 0.44 vs 0.20 ms), no net gain; ``slow_conv3d`` (im2col + GEMM) for the tiny long-stream convs
ran at 0.8-1.2x oneDNN's speed, no consistent gain.

Tried and rejected (measured, per MTConv at (32, 14|2, 16, 8, 8), fwd+bwd): folding
the lateral 1x1x1 conv into the short-stream conv as extra output channels (one conv call, the
input gradient summed inside oneDNN) -- 24.3 vs 21.7 ms, slower, because BatchNorm on the channel
slice of a channels_last tensor copies; keeping the long stream channels-first while the short
stream stays channels_last -- 290 vs 295 ms per network step, within noise. Per-MTConv profile at
stage 1 (r = 0.875): short conv 10.1 ms, its BN 3.4 ms, the long conv 0.8 ms, the lateral 1x1x1
matmul 0.2 ms forward and 0.9 ms backward plus a 1.0 ms gradient add on the 14-channel input (x_s
feeds two paths), the rest in the two small BNs, the pool and the adds: 21.6 vs 15.5 ms for r = 1.
"""

from __future__ import annotations

import argparse

import torch

from _bench import interleaved_medians, train_step

from actionrec.analysis.complexity import count_macs
from actionrec.layers.mtconv import MTConv, conv1x1x1
from actionrec.models import build_model
from actionrec.models.mtnet import MTShortcut
from actionrec.train import TrainConfig, build_optimizer

RATIOS = (0.5, 0.625, 0.75, 0.875, 1.0)
NUM_CLASSES = 16


def build(model: str, r: float, g: int, width: float, seed: int = 0):
    """Network as the notebook builds it, and its optimizer from ``actionrec.train.build_optimizer``."""
    torch.manual_seed(seed)
    net = build_model(model, num_classes=NUM_CLASSES, r=r, g=g, width=width)
    return net, build_optimizer(net, TrainConfig(lr=1e-3, weight_decay=0.05))


def compare(configs, *, model, width, clip, batch, warmup, reps):
    """configs: list of (r, g). Returns {(r, g): median seconds} from interleaved rounds."""
    torch.manual_seed(0)
    x = torch.randn(batch, 3, *clip)  # contiguous (B, 3, T, H, W), as the training loop feeds it
    y = torch.randint(0, NUM_CLASSES, (batch,))
    nets = {c: build(model, c[0], c[1], width) for c in configs}
    return interleaved_medians(nets, x, y, warmup=warmup, reps=reps)


# -- lower bounds: what any implementation of the long stream could reach ------------------------
# Timing probes, not models: their long stream is zeros (wrong outputs). Swapping a module's class
# keeps its weights and the short stream's arithmetic exactly as in MTConv / MTShortcut.


def _zeros_like_long(x_l: torch.Tensor, channels: int, stride) -> torch.Tensor:
    size = [-(-n // s) for n, s in zip(x_l.shape[2:], stride)]  # ceil, as the real long stream
    return torch.zeros(x_l.shape[0], channels, *size, device=x_l.device).contiguous(
        memory_format=torch.channels_last_3d)


class _FreeLongMTConv(MTConv):
    """MTConv whose long path (conv_l, bn_l, the lateral pool + conv_s2l + bn_s2l, add, relu) costs nothing."""

    def forward(self, x):
        x_s, x_l = x
        y_s = self.act(self.bn_s(conv1x1x1(self.conv_s, x_s)))
        return y_s, (_zeros_like_long(x_l, self.cl_out, self.stride) if self.has_long else None)


class _FreeLongShortcut(MTShortcut):
    """MTShortcut whose long-stream projection costs nothing."""

    def forward(self, x):
        x_s, x_l = x
        y_s = self.bn_s(conv1x1x1(self.conv_s, self._pool(x_s)))
        return y_s, (_zeros_like_long(x_l, self.conv_l.out_channels, self.stride) if self.has_long else None)


def free_long(net: torch.nn.Module, *, shortcuts: bool) -> torch.nn.Module:
    """Swap every MTConv (and with ``shortcuts`` every MTShortcut) of ``net`` for its free-long probe."""
    for m in net.modules():
        if type(m) is MTConv:
            m.__class__ = _FreeLongMTConv
        elif shortcuts and type(m) is MTShortcut:
            m.__class__ = _FreeLongShortcut
    return net


def bounds(*, model, width, clip, batch, warmup, reps):
    """r = 0.875 with parts of its long stream made free, beside r = 1, in one interleaved run.

    (a) the real r = 0.875 network; (b) the same with every MTConv's long path free (an upper
    bound on fusing or hand-writing the long path and the lateral); (c) its short stream alone
    (every long-stream op free, no Squeeze-and-Recursion) beside (d) r = 1 without
    Squeeze-and-Recursion: two plain networks of 14/28/56/112 and 16/32/64/128 channels.
    """
    torch.manual_seed(0)
    x = torch.randn(batch, 3, *clip)
    y = torch.randint(0, NUM_CLASSES, (batch,))
    variants = {
        "r=0.875": dict(r=0.875),
        "r=0.875, MTConv long paths free": dict(r=0.875, probe=dict(shortcuts=False)),
        "r=1": dict(r=1.0),
        "r=0.875 short stream only, no SR": dict(r=0.875, recurrent=None, probe=dict(shortcuts=True)),
        "r=1, no SR": dict(r=1.0, recurrent=None),
    }
    nets, macs = {}, {}
    for name, kw in variants.items():
        kw = dict(kw)
        probe = kw.pop("probe", None)
        torch.manual_seed(0)
        net = build_model(model, num_classes=NUM_CLASSES, width=width, **kw)
        nets[name] = (free_long(net, **probe) if probe else net,
                      build_optimizer(net, TrainConfig(lr=1e-3, weight_decay=0.05)))
        macs[name] = count_macs(nets[name][0], (3, *clip))
    res = interleaved_medians(nets, x, y, warmup=warmup, reps=reps)
    print(f"\nlower bounds ({model} width={width}, clip {'x'.join(map(str, clip))}, batch {batch}):")
    print(f"{'network':34s} | {'ms/step':>8s} | {'GMACs/clip':>10s}")
    for name, t in res.items():
        print(f"{name:34s} | {t * 1000:8.1f} | {macs[name] / 1e9:10.4f}")
    free, short, base, base_nosr = (res[k] for k in ("r=0.875, MTConv long paths free",
                                                     "r=0.875 short stream only, no SR", "r=1", "r=1, no SR"))
    print(f"free MTConv long paths / r=1: {free / base:.2f}; short stream alone / r=1 (no SR): "
          f"{short / base_nosr:.2f} at {macs['r=0.875 short stream only, no SR'] / macs['r=1, no SR']:.2f}x the MACs")
    return res


def channels(*, clip, batch, counts=(8, 12, 14, 16, 24, 28, 32), reps=15):
    """Fwd+bwd ms of a 3x3x3 conv (C -> C) and of BatchNorm3d at stage 1's size, channels_last, per C.

    Stage 1 of the notebook's MTNet-32 runs at (batch, C, T, H/4, W/4); r = 1 has C = 16 there,
    r = 0.875 C_s = 14. oneDNN blocks channels by the SIMD width, so 14 channels cost what 16 do.
    """
    import statistics
    import time

    from torch import nn

    if 16 not in counts:
        raise ValueError(f"channels(counts={counts}) must include 16 (the reference)")

    def ms(fn):
        for _ in range(3):
            fn()
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts) * 1000

    size = (clip[0], -(-clip[1] // 4), -(-clip[2] // 4))
    print(f"\nper-layer cost vs channels at ({batch}, C, {size[0]}, {size[1]}, {size[2]}), channels_last, fwd+bwd:")
    print(f"{'C':>3s} | {'conv 3x3x3 ms':>13s} {'per MAC vs C=16':>15s} | "
          f"{'BatchNorm ms':>12s} {'per element vs C=16':>19s}")
    rows = {}
    for c in counts:
        x = torch.randn(batch, c, *size).contiguous(memory_format=torch.channels_last_3d).requires_grad_()
        conv = nn.Conv3d(c, c, 3, 1, 1, bias=False).to(memory_format=torch.channels_last_3d)
        bn = nn.BatchNorm3d(c)

        def run(layer):
            y = layer(x)
            y.backward(torch.ones_like(y))

        rows[c] = (ms(lambda: run(conv)), ms(lambda: run(bn)))
    conv16, bn16 = rows[16]
    for c, (tc, tb) in rows.items():
        print(f"{c:3d} | {tc:13.2f} {tc / conv16 * (16 / c) ** 2:15.2f} | {tb:12.2f} {tb / bn16 * 16 / c:19.2f}")
    return rows


def print_table(res, *, model, width, clip, batch):
    t_, h_, w_ = clip
    print(f"\n{model} width={width} clip {t_}x{h_}x{w_} batch {batch} (AdamW train step, contiguous input)")
    print(f"{'r':>6s} {'g':>2s} | {'ms/step':>8s} | {'vs r=1 same g':>13s} | {'GMACs/clip':>10s} {'MAC ratio':>9s}")
    macs = {}
    for (r, g) in res:
        with torch.device("meta"):
            net = build_model(model, num_classes=NUM_CLASSES, r=r, g=g, width=width)
        macs[r, g] = count_macs(net, (3, *clip))
    for (r, g), t in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base, mb = res.get((1.0, g)), macs.get((1.0, g))
        print(
            f"{r:6.3f} {g:2d} | {t * 1000:8.1f} | {(t / base if base else float('nan')):13.2f} | "
            f"{macs[r, g] / 1e9:10.3f} {(macs[r, g] / mb if mb else float('nan')):9.2f}"
        )


def profile(*, model, width, clip, batch, top=16):
    from torch.profiler import ProfilerActivity, profile as tprofile

    torch.manual_seed(0)
    x = torch.randn(batch, 3, *clip)
    y = torch.randint(0, NUM_CLASSES, (batch,))
    for r in (1.0, 0.875):
        net, opt = build(model, r, 1, width)
        for _ in range(3):
            train_step(net, opt, x, y)
        with tprofile(activities=[ProfilerActivity.CPU]) as p:
            for _ in range(3):
                train_step(net, opt, x, y)
        rows = sorted(p.key_averages(), key=lambda k: -k.self_cpu_time_total)
        total = sum(k.self_cpu_time_total for k in rows) / 3 / 1000
        calls = sum(k.count for k in rows) // 3
        print(f"\nprofile r={r}: self CPU {total:.1f} ms/step, {calls} op calls/step, top ops:")
        for k in rows[:top]:
            print(f"  {k.key:45s} {k.self_cpu_time_total / 3 / 1000:8.2f} ms/step  {k.count // 3:5d} calls")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="mtnet32")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--clip", type=int, nargs=3, default=[16, 32, 32], metavar=("T", "H", "W"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (pin with taskset for 1)")
    ap.add_argument("--reps", type=int, default=9, help="interleaved timing rounds (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--wide", action="store_true", help="also compare r in {0.75, 0.875, 1} at width 1.0")
    ap.add_argument("--widths", type=float, nargs="+", metavar="W",
                    help="also print r=0.875 / r=1 at each of these widths (where the crossover lies)")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--channels", action="store_true",
                    help="also time one conv and one BatchNorm per channel count at stage 1's size")
    ap.add_argument("--bounds", action="store_true",
                    help="also time r=0.875 with its long paths made free, and its short stream alone")
    ap.add_argument("--quick", action="store_true", help="only r in {0.875, 1}, g = 1")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clip = tuple(args.clip)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {args.reps} interleaved rounds")
    configs = [(0.875, 1), (1.0, 1)] if args.quick else [(r, g) for g in (1, 8) for r in RATIOS]
    res = compare(configs, model=args.model, width=args.width, clip=clip, batch=args.batch,
                  warmup=args.warmup, reps=args.reps)
    print_table(res, model=args.model, width=args.width, clip=clip, batch=args.batch)
    ratio = res[0.875, 1] / res[1.0, 1]
    print(f"\n{'PASS' if ratio <= 1.0 else 'FAIL'}: r=0.875 <= r=1 (g=1): "
          f"{res[0.875, 1] * 1000:.1f} vs {res[1.0, 1] * 1000:.1f} ms/step, ratio {ratio:.2f}")
    if ratio > 1.0:
        print("  why: --channels (14 channels cost what 16 do), --bounds (what any long-stream implementation "
              "could reach), --widths 0.25 0.75 1.0 (where the MACs start to count)")
    if args.wide:
        res = compare([(0.75, 1), (0.875, 1), (1.0, 1)], model=args.model, width=1.0, clip=clip,
                      batch=args.batch, warmup=1, reps=3)
        print_table(res, model=args.model, width=1.0, clip=clip, batch=args.batch)
    if args.widths:
        print(f"\nr=0.875 / r=1 by width ({args.model}, clip {'x'.join(map(str, clip))}, batch {args.batch}):")
        print(f"{'width':>6s} | {'r=0.875 ms':>10s} | {'r=1 ms':>8s} | {'ratio':>5s} | {'MAC ratio':>9s}")
        for w in args.widths:
            res = compare([(0.875, 1), (1.0, 1)], model=args.model, width=w, clip=clip, batch=args.batch,
                          warmup=1, reps=max(3, args.reps // 2))
            macs = []
            for r in (0.875, 1.0):
                with torch.device("meta"):
                    macs.append(count_macs(build_model(args.model, num_classes=NUM_CLASSES, r=r, width=w), (3, *clip)))
            print(f"{w:6.3g} | {res[0.875, 1] * 1000:10.1f} | {res[1.0, 1] * 1000:8.1f} | "
                  f"{res[0.875, 1] / res[1.0, 1]:5.2f} | {macs[0] / macs[1]:9.2f}")
    if args.channels:
        channels(clip=clip, batch=args.batch)
    if args.bounds:
        bounds(model=args.model, width=args.width, clip=clip, batch=args.batch, warmup=args.warmup, reps=args.reps)
    if args.profile:
        profile(model=args.model, width=args.width, clip=clip, batch=args.batch)


if __name__ == "__main__":
    main()
