"""Temporal kernels: complexity of TSN / TSM / MSTNet and MSTI-Net against the papers, and CPU train-step ratios.

Run: ``taskset -c 0 .venv/bin/python benchmarks/temporal_kernels.py`` (about 2 min on one core;
``--quick`` times fewer rounds; ``--skip-complexity`` / ``--skip-timing`` run one part only).

Part 1, complexity at the papers' input sizes. Every network is built on the ``meta`` device and
counted with ``actionrec.analysis.complexity.count_params`` / ``count_macs`` (MACs = multiply-adds; biases,
BatchNorm, activations, pooling and elementwise ops not counted):

  * MSTI-Net-50 (``msti_net50``), every unit variant (msti, ms_st, ms_s, ms_t, p3d_b), 16x224x224,
    400 classes, beside the paper's 16.4M params / 46.3 GFLOPs (Wu et al. 2020, Table 3). Papers
    write "FLOPs" for either MACs or 2 x MACs, so both columns are printed.
  * TSN-R50, TSM-R50, MSTNet-R50 (kernels 1/3/5/7), 8 segments of 224x224, 400 classes, beside the
    MixTConv slides' 24.3M / 33G (TSN) and 33.18G (MSTNet); MixTConv's added GMACs beside the
    paper's 33.18 - 33 = 0.18 G.
  * MSTNet with each kernel set of the MixTConv kernel-size ablation (Something-Something v1 table:
    ks3, ks5, ks7, ks13, ks135, ks1357, and ks3 with dilations 1/2/3). ``MixTConv(kernels,
    dilations)`` needs one dilation per kernel (one channel group each), so "kernel 3, dilation
    1,2,3" is built as ``kernels=(3, 3, 3), dilations=(1, 2, 3)``: three groups of C/3 channels.
    Added params / GMACs vs TSN, beside the paper's FLOPs - 33G. (The paper's table is on
    Something-Something, 174 classes; the fc's share of the GMACs is < 0.001 G either way.)

Part 2, CPU train-step time, measured side by side: one step = forward + cross-entropy + backward
+ AdamW step (``actionrec.train.build_optimizer``, fused, weight decay 0.05 on >= 2-D params), one
torch thread. Two groups, each built, warmed up, then timed in interleaved rounds (round k times
every network of the group once, order alternating), medians printed with ratios:

  * tsn_small vs tsm_small vs mstnet_small (kernels 1/3/5/7; MixTConv's official init, and
    ``init="tsm"`` as "mstnet tsm-init": the init changes weights only, so the two should time
    alike), width 0.25, clips 8x32x32 (8 segments), batch 32, 16 classes; ratio to TSN.
  * msti_net_small variants msti, ms_st, ms_s, ms_t vs p3d_b, width 0.25, depths (1, 1, 1, 1),
    clips 16x32x32, batch 16, 16 classes; ratio to P3D-B.

Absolute ms drift with machine load (the second core is shared); the ratios are the point.

Results (one pinned full run, torch 2.13 CPU; 37 s):
  * MixTConv's anchors are MACs (1x): TSN-R50 24.33M / 32.70 GMACs (paper 24.3M / 33G); MSTNet
    adds 52,480 params and 0.180 GMACs (paper 33.18G, +0.18); every ablation row's added GMACs
    equals the paper's FLOPs - 33G to 0.01 (ks3 0.135, ks5 0.225, ks7 0.315, ks13 0.090,
    ks135 0.135, ks1357 0.180, ks3 d1,2,3 0.135). TSM adds nothing.
  * MSTI-Net-50 (variant msti): 18.38M params (paper 16.4M, x1.12) and 24.68 GMACs = 49.4 GFLOPs at
    2 x MACs (paper 46.3G, x1.07), so the paper's GFLOPs look like 2 x MACs there; ms_st 16.02M /
    49.35 G(2x) is the closest row. P3D-B in the same layout: 28.13M / 40.50 GMACs.
  * Train step, width 0.25: tsm_small / tsn_small 1.17, mstnet_small / tsn_small 1.76 at 1.02x the
    MACs with MixTConv as four depthwise conv3d + cat per block; with MixTConv as one banded-matrix
    einsum (layers/mixtconv.py, same values) a --quick run gave mstnet 1.14, tsm 1.27;
    msti / p3d_b 1.65, ms_st 1.12 at 0.86-0.88x the MACs (ms_s 0.98 and ms_t 0.99 were measured on the
    single-branch tubes, now ms_s_only / ms_t_only; Table 2's ms_s / ms_t: benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

import torch

from _bench import interleaved_medians

from actionrec.analysis.complexity import count_macs, count_params
from actionrec.models import build_model
from actionrec.train import TrainConfig, build_optimizer

MSTI_VARIANTS = ("msti", "ms_st", "ms_s", "ms_t", "p3d_b")
PAPER_MSTI = (16.4e6, 46.3e9)  # Wu et al. 2020, Table 3 (Kinetics-400, 16x224x224)
PAPER_TSN = (24.3e6, 33e9)  # MixTConv slides, SSv1 table (TSN ResNet-50, 8 frames)
PAPER_MSTNET_FLOPS = 33.18e9  # TSN+ks1357
# MixTConv kernel-size ablation: (label, kernels, dilations, paper FLOPs)
ABLATION = (
    ("ks3", (3,), None, 33.13e9),
    ("ks5", (5,), None, 33.23e9),
    ("ks7", (7,), None, 33.32e9),
    ("ks13", (1, 3), None, 33.09e9),
    ("ks135", (1, 3, 5), None, 33.13e9),
    ("ks1357", (1, 3, 5, 7), None, 33.18e9),
    ("ks3 d1,2,3", (3, 3, 3), (1, 2, 3), 33.13e9),
)
NUM_CLASSES = 16


def _count(name: str, shape, **kw) -> tuple[int, int]:
    with torch.device("meta"):
        net = build_model(name, **kw)
    return count_params(net), count_macs(net, shape)


def complexity() -> None:
    t0 = time.perf_counter()
    shape = (3, 16, 224, 224)
    print("Part 1a: MSTI-Net-50 at 16x224x224, 400 classes (meta device); paper: 16.4M params, 46.3 GFLOPs")
    print(f"{'variant':8s} | {'params M':>8s} {'paper':>6s} {'ratio':>6s} | {'GMACs':>7s} {'2xGMACs':>8s} "
          f"{'paper G':>7s} {'1x/paper':>8s} {'2x/paper':>8s}")
    for v in MSTI_VARIANTS:
        p, m = _count("msti_net50", shape, num_classes=400, variant=v)
        print(f"{v:8s} | {p / 1e6:8.2f} {PAPER_MSTI[0] / 1e6:6.1f} {p / PAPER_MSTI[0]:6.2f} | {m / 1e9:7.2f} "
              f"{2 * m / 1e9:8.2f} {PAPER_MSTI[1] / 1e9:7.1f} {m / PAPER_MSTI[1]:8.2f} {2 * m / PAPER_MSTI[1]:8.2f}")
    print("(the paper's anchor is for its full MSTI-Net; p3d_b and ms_* rows are our unit swaps in the same layout)\n")

    shape = (3, 8, 224, 224)
    print("Part 1b: TSN / TSM / MSTNet ResNet-50 at 8x224x224 (8 segments), 400 classes; "
          "paper: TSN 24.3M / 33G, MSTNet 33.18G (+0.18G)")
    print(f"{'network':11s} | {'params M':>8s} {'paper':>6s} | {'GMACs':>7s} {'2xGMACs':>8s} {'paper G':>7s} | "
          f"{'+params':>8s} {'+GMACs':>7s} {'paper +G':>8s}")
    base_p, base_m = _count("tsn_r50", shape, num_classes=400, num_segments=8)
    rows = [("tsn_r50", "TSN-R50", {}, PAPER_TSN[1]), ("tsm_r50", "TSM-R50", {}, None),
            ("mstnet_r50", "MSTNet-R50", {}, PAPER_MSTNET_FLOPS)]
    for name, label, kw, paper in rows:
        p, m = (base_p, base_m) if name == "tsn_r50" else _count(name, shape, num_classes=400, num_segments=8, **kw)
        pp = f"{PAPER_TSN[0] / 1e6:6.1f}" if name == "tsn_r50" else f"{'':6s}"
        pg = f"{paper / 1e9:7.2f}" if paper else f"{'':7s}"
        padd = f"{(paper - PAPER_TSN[1]) / 1e9:8.2f}" if paper and name != "tsn_r50" else f"{'':8s}"
        print(f"{label:11s} | {p / 1e6:8.3f} {pp} | {m / 1e9:7.3f} {2 * m / 1e9:8.3f} {pg} | "
              f"{p - base_p:8,d} {(m - base_m) / 1e9:7.4f} {padd}")
    print("(TSM's shift has no weights or MACs; MixTConv adds sum_m C_m k_m weights per block, MACs = that x T H W)\n")

    print("Part 1c: MSTNet-R50 kernel-size ablation (MixTConv slides, SSv1 table), 8x224x224, added vs TSN-R50")
    print(f"{'kernels':11s} {'dilations':9s} | {'+params':>8s} | {'GMACs':>7s} {'+GMACs':>7s} {'2x +G':>7s} | "
          f"{'paper G':>7s} {'paper +G':>8s}")
    for label, kernels, dil, paper in ABLATION:
        p, m = _count("mstnet_r50", shape, num_classes=400, num_segments=8, kernels=kernels, dilations=dil)
        ks = ",".join(map(str, kernels))
        ds = ",".join(map(str, dil)) if dil else "1"
        print(f"{ks:11s} {ds:9s} | {p - base_p:8,d} | {m / 1e9:7.3f} {(m - base_m) / 1e9:7.4f} "
              f"{2 * (m - base_m) / 1e9:7.4f} | {paper / 1e9:7.2f} {(paper - PAPER_TSN[1]) / 1e9:8.2f}   ({label})")
    print("(dilations 1,2,3 on kernel 3 = kernels (3,3,3): MixTConv takes one dilation per kernel group)")
    print(f"({time.perf_counter() - t0:.0f} s)\n")


def compare(builds: dict, *, clip, batch: int, warmup: int, reps: int) -> dict:
    """builds: label -> (builder name, kwargs). Returns label -> median seconds from interleaved rounds."""
    torch.manual_seed(0)
    x = torch.randn(batch, 3, *clip)  # contiguous (B, 3, T, H, W), as the training loop feeds it
    y = torch.randint(0, NUM_CLASSES, (batch,))
    nets = {}
    for label, (name, kw) in builds.items():
        torch.manual_seed(0)
        net = build_model(name, num_classes=NUM_CLASSES, **kw)
        net.train()
        nets[label] = (net, build_optimizer(net, TrainConfig(lr=1e-3)))
    return interleaved_medians(nets, x, y, warmup=warmup, reps=reps)


def print_group(res: dict, builds: dict, ref: str, clip) -> None:
    print(f"{'network':14s} | {'ms/step':>8s} {'ratio':>6s} | {'MMACs/clip':>10s} {'MAC ratio':>9s} | {'params K':>8s}")
    macs, params = {}, {}
    for label, (name, kw) in builds.items():
        params[label], macs[label] = _count(name, (3, *clip), num_classes=NUM_CLASSES, **kw)
    for label in builds:
        print(f"{label:14s} | {res[label] * 1e3:8.1f} {res[label] / res[ref]:6.2f} | {macs[label] / 1e6:10.1f} "
              f"{macs[label] / macs[ref]:9.3f} | {params[label] / 1e3:8.1f}")


def timing(*, warmup: int, reps: int) -> None:
    print(f"Part 2: CPU train step (fwd + cross-entropy + bwd + fused AdamW), {torch.get_num_threads()} thread(s), "
          f"medians of {reps} interleaved rounds after {warmup} warm-up step(s)")
    clip = (8, 32, 32)
    builds = {n: (n, dict(width=0.25, num_segments=8)) for n in ("tsn_small", "tsm_small", "mstnet_small")}
    builds["mstnet tsm-init"] = ("mstnet_small", dict(width=0.25, num_segments=8, init="tsm"))
    t0 = time.perf_counter()
    res = compare(builds, clip=clip, batch=32, warmup=warmup, reps=reps)
    print(f"\n2a: width 0.25, clip 8x32x32 (8 segments), batch 32, {NUM_CLASSES} classes; ratio to tsn_small")
    print_group(res, builds, "tsn_small", clip)
    print(f"({time.perf_counter() - t0:.0f} s)")

    clip = (16, 32, 32)
    builds = {v: ("msti_net_small", dict(variant=v, width=0.25)) for v in MSTI_VARIANTS}
    t0 = time.perf_counter()
    res = compare(builds, clip=clip, batch=16, warmup=warmup, reps=reps)
    print(f"\n2b: msti_net_small, width 0.25, depths (1,1,1,1), clip 16x32x32, batch 16, {NUM_CLASSES} classes; "
          "ratio to p3d_b")
    print_group(res, builds, "p3d_b", clip)
    print(f"({time.perf_counter() - t0:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (pin with taskset)")
    ap.add_argument("--reps", type=int, default=9, help="interleaved timing rounds (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="5 timing rounds, 1 warm-up step")
    ap.add_argument("--skip-complexity", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}")
    if not args.skip_complexity:
        complexity()
    if not args.skip_timing:
        reps, warmup = (5, 1) if args.quick else (args.reps, args.warmup)
        timing(warmup=warmup, reps=reps)


if __name__ == "__main__":
    main()
