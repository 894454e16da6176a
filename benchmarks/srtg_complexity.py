"""SRTG overhead: params and GMACs of r3d / r(2+1)d with and without SRTG, and the CPU train-step ratio.

Run: ``taskset -c 0 .venv/bin/python benchmarks/srtg_complexity.py`` (70 s idle, ~2 min under load;
``--quick`` times fewer rounds).

Part 1, complexity at 16x224x224 (paper Sec. 4.5: SRTG adds "approximately 0.15 %" of the vanilla
network's operations; Sec. 5: 0.03-0.4 GFLOPs). Every network (``actionrec.models.resnet3d``, width
1, 400 classes, one SRTGate per residual block) is built on the ``meta`` device and counted with
``actionrec.analysis.complexity.count_params`` / ``count_macs``: r3d and r(2+1)d 34/50/101 without SRTG and
with SRTG Final, and for depth 50 every placement (Start, Top, Mid, End, Res, Final). Overhead =
GMACs with / without - 1.

LSTM MACs are really counted (checked for every row, the script stops otherwise): ``count_macs``
hooks every ``nn.LSTM``, removes whatever ``FlopCounterMode`` attributed to it (on ``meta`` the LSTM
decomposes into ``addmm``s that the counter sees; on CPU it is one fused ``mkldnn_rnn`` op counted
as 0) and adds ``rnn_macs`` by hand (4h(in+h) + 3h per step and layer). The LSTMs inside SRTGate
are ordinary ``nn.LSTM`` modules (``gate.sr.rnn``), so the hooks see them; this script records each
gate's fused tensor (B, C, T, H, W) and the frames T_s of its LSTM input (``source``: conv1's output
for Top, T_s = 2T in the strided blocks; else T_s = T) with its own hooks and checks, per network, that
``MACs(with) - MACs(without) == sum over gates of rnn_macs(LSTM, T_s) + 2 T^2 C`` exactly, the
second term being the two ``bmm`` of the eq. 4 soft nearest neighbours (``cdist``, Top's time pooling
and the elementwise fusion ``x (1 + a*)`` are not counted, as count_macs counts no elementwise op or
pooling; the fusion's C T H W multiplies per gate are printed for reference).

Part 2, CPU train-step time, measured side by side: r3d_18 and r2plus1d_18 at width 0.25, clips
16x32x32, batch 16, 16 classes, one thread, without SRTG and with SRTG Final, hard gate (the paper)
and soft gate (which trains the LSTMs even while the hard gate would stay closed).
One step = forward + cross-entropy + backward + AdamW step (``actionrec.train.build_optimizer``).
All six networks are built, warmed up, then timed in interleaved rounds (each round times every
network once, alternating order); medians and the ratio with / without are printed. Absolute ms
drift with machine load; the ratios are the point (run it twice).

Results on this machine (2 cores shared with other jobs, torch 2.13 CPU):
  * Overhead at 16x224x224 depends on where the gates sit and how wide they are, since an LSTM's
    hidden size is the gate's C: 0.02 % (r3d/r(2+1)d-34 Final, C <= 512), 0.43-0.45 % (-50 Final,
    C up to 2048), 0.60-0.63 % (-101 Final); at depth 50 Mid (C = P) adds 0.03 %, Top 0.03-0.04 %
    (C = P, its LSTM over conv1's frames: twice the fused T in the strided blocks), Start
    0.37-0.39 %, End / Res / Final 0.43-0.45 %. The paper's ~0.15 % lies inside that range but matches
    none of its Final rows; its 0.03-0.4 GFLOPs (Sec. 5) compare with our +0.06 (34), +0.99 (50),
    +2.13 (101) GMACs. Parameters are another matter: the gates add 20M to -34 but 322M to -50
    and 608M to -101 (Final), which the paper does not report.
  * Train step (three runs, load varying): SRTG Final / none = 1.02-1.26 (r3d_18) and 0.99-1.29
    (r(2+1)d_18) for the hard gate, 1.01-1.50 for the soft one (5-round --quick runs are the noisiest);
    no hard gate opened at init (open rate 0.00), so the hard-gated LSTMs got no backward pass.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from _bench import interleaved_medians

from actionrec.analysis.complexity import count_macs, count_params, rnn_macs
from actionrec.models import resnet3d as R
from actionrec.train import TrainConfig, build_optimizer

PAPER_OVERHEAD_PCT = 0.15  # Sec. 4.5
INPUT = (3, 16, 224, 224)
PLACEMENT_NAMES = {None: "none", "start": "Start", "top": "Top", "mid": "Mid", "end": "End", "res": "Res", "final": "Final"}


def measure(builder: str, srtg) -> dict:
    """Params, MACs, and the hand count of what the gates should add (LSTM + eq. 4 bmm) for one network."""
    with torch.device("meta"):
        net = getattr(R, builder)(num_classes=400, srtg=srtg)
    shapes, hooks = [], []  # (gate, fused tensor's shape, LSTM input's T): Top's LSTM reads conv1's output
    for _, gate in R.srt_gates(net):
        hooks.append(gate.register_forward_pre_hook(
            lambda m, args: shapes.append((m, tuple(args[0].shape), (args[1] if len(args) > 1 else args[0]).shape[2]))))
    try:
        macs = count_macs(net, INPUT)
    finally:
        for h in hooks:
            h.remove()
    lstm = sum(rnn_macs(m.sr.rnn, t_lstm, s[0]) for m, s, t_lstm in shapes)  # over the LSTM input's frames
    bmm = sum(2 * s[0] * s[2] * s[2] * s[1] for _, s, _ in shapes)  # (B,T,T)@(B,T,C) in both directions, fused T
    fuse = sum(s[0] * s[1] * s[2] * s[3] * s[4] for _, s, _ in shapes)  # x * (1 + a*): not counted
    gate_params = sum(count_params(g) for _, g in R.srt_gates(net))
    return dict(params=count_params(net), macs=macs, lstm=lstm, bmm=bmm, fuse=fuse, gates=len(shapes),
                gate_params=gate_params)


def complexity() -> None:
    print(f"Part 1: complexity at {INPUT[1]}x{INPUT[2]}x{INPUT[3]}, width 1, 400 classes "
          f"(meta device, actionrec.analysis.complexity); paper overhead ~{PAPER_OVERHEAD_PCT}% of GFLOPs")
    print(f"{'network':14s} {'SRTG':6s} {'gates':>5s} | {'params M':>9s} {'(gates M)':>9s} | {'GMACs':>8s} "
          f"{'+GMACs':>7s} {'overhead':>9s} {'paper':>6s} | {'LSTM GMACs':>10s} {'fuse GMul*':>10s}")
    t0 = time.perf_counter()
    for kind in ("r3d", "r2plus1d"):
        for depth in (34, 50, 101):
            builder = f"{kind}_{depth}"
            base = measure(builder, None)
            placements = ["start", "top", "mid", "end", "res", "final"] if depth == 50 else ["final"]
            print(f"{builder:14s} {'none':6s} {0:5d} | {base['params'] / 1e6:9.2f} {'':9s} | {base['macs'] / 1e9:8.2f} "
                  f"{'':7s} {'':9s} {'':6s} |")
            for p in placements:
                m = measure(builder, p)
                extra = m["macs"] - base["macs"]
                if extra != m["lstm"] + m["bmm"]:  # the LSTM MACs must be in the count, exactly
                    raise SystemExit(f"{builder} {p}: MACs added {extra} != LSTM {m['lstm']} + bmm {m['bmm']}")
                print(f"{'':14s} {PLACEMENT_NAMES[p]:6s} {m['gates']:5d} | {m['params'] / 1e6:9.2f} "
                      f"{m['gate_params'] / 1e6:9.2f} | {m['macs'] / 1e9:8.2f} {extra / 1e9:7.3f} "
                      f"{100 * extra / base['macs']:8.3f}% {PAPER_OVERHEAD_PCT:5.2f}% | {m['lstm'] / 1e9:10.3f} "
                      f"{m['fuse'] / 1e9:10.3f}")
    print("Every row checked: MACs(with) - MACs(without) == hand-counted LSTM MACs (rnn_macs, per gate and T)"
          " + eq. 4 bmm (2 T^2 C per gate), i.e. count_macs counts the LSTMs inside SRTGate.")
    print("* fuse GMul: the elementwise x * (1 + a*) multiplies of all gates, NOT in GMACs (count_macs counts no"
          " elementwise op); shown to bound the overhead if one counted them.")
    print(f"({time.perf_counter() - t0:.0f} s)\n")


NUM_CLASSES = 16


VARIANTS = {"none": None, "hard": {"gate": "hard"}, "soft": {"gate": "soft"}}  # SRTG Final with this gate


def build(builder: str, variant: str, width: float, seed: int = 0):
    torch.manual_seed(seed)
    kw = VARIANTS[variant]
    net = getattr(R, builder)(num_classes=NUM_CLASSES, width=width, srtg=None if kw is None else "final", srtg_kwargs=kw)
    return net, build_optimizer(net, TrainConfig(lr=1e-3))


def timing(*, width: float, clip, batch: int, warmup: int, reps: int) -> None:
    print(f"Part 2: CPU train step (fwd + bwd + AdamW), width {width}, clip {'x'.join(map(str, clip))}, batch {batch}, "
          f"{torch.get_num_threads()} thread(s), medians of {reps} interleaved rounds")
    torch.manual_seed(0)
    x = torch.randn(batch, 3, *clip)
    y = torch.randint(0, NUM_CLASSES, (batch,))
    configs = [(b, v) for b in ("r3d_18", "r2plus1d_18") for v in VARIANTS]
    nets = {c: build(c[0], c[1], width) for c in configs}
    med = interleaved_medians(nets, x, y, warmup=warmup, reps=reps)
    print(f"{'network':12s} | {'no SRTG ms':>10s} | {'Final hard ms':>13s} {'ratio':>5s} {'open':>5s} | "
          f"{'Final soft ms':>13s} {'ratio':>5s} {'score':>5s}")
    for b in ("r3d_18", "r2plus1d_18"):
        cells = []
        for v in ("hard", "soft"):
            gates = [g for _, g in R.srt_gates(nets[b, v][0]) if g.last is not None]
            use = statistics.mean(g.last.score.float().mean().item() for g in gates)
            cells.append(f"{med[b, v] * 1e3:13.1f} {med[b, v] / med[b, 'none']:5.2f} {use:5.2f}")
        print(f"{b:12s} | {med[b, 'none'] * 1e3:10.1f} | {cells[0]} | {cells[1]}")
    print("(open / score: mean over the gates of the weight given to the fused features in the last step; for the"
          " hard gate the fraction of clips whose gate opened. A closed hard gate skips the LSTM's backward.)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (pin with taskset)")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--clip", type=int, nargs=3, default=[16, 32, 32], metavar=("T", "H", "W"))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--reps", type=int, default=11, help="interleaved timing rounds (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="5 timing rounds, 1 warm-up step")
    ap.add_argument("--skip-complexity", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}")
    if not args.skip_complexity:
        complexity()
    reps, warmup = (5, 1) if args.quick else (args.reps, args.warmup)
    timing(width=args.width, clip=tuple(args.clip), batch=args.batch, warmup=warmup, reps=reps)


if __name__ == "__main__":
    main()
