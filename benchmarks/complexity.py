"""MTNet parameters and GMACs beside the paper's Table 3 (and the ratio claims of Table 2 / Sec. 4).

Run: ``.venv/bin/python benchmarks/complexity.py`` (the default reading against Table 3, the ratio
and sub-stream checks) or ``... --readings`` (every candidate reading against Table 3's params).
Every network is built on the ``meta`` device and counted with
``actionrec.analysis.complexity.count_macs``; no arithmetic is done.

PRE-REGISTERED (written before any error was computed; kept as written)
  Candidate set: exactly the 2 x 2 x 2 = 8 combinations of the three readings the paper text
  allows (``actionrec.models.mtnet``), and no other knob:
    sr         = "stage": one Squeeze-and-Recursion (2-layer GRU, hidden = the stream's channels)
                 per stream after every stage (Table 1's "SR: 2 x GRU" row);
                 "block": one per stream inside every repeat block, after its second MTConv and
                 before the residual add ("4 x Conv + 2 x GRU"; where the official code puts it),
                 none after the stage, none in the downsample block.
    downsample = "bottleneck": 1x1x1 in->out/2, 3x3x3 out/2->out/2 (stride), 1x1x1 out/2->out;
                 "multiplexer": MF-Net's multiplexer first (cypw/PyTorch-MFNet, MF_UNIT: 1x1x1
                 in->mid/4, 1x1x1 mid/4->in, added to the input), then 3x3x3 in->mid (stride) and
                 1x1x1 mid->out, mid = out/2: four MTConvs (Fig. 3).
    streams    = "persist": the stream pair runs through the whole network (split once after the
                 stem, joined by the head), per-stream residuals and shortcuts;
                 "merge": every block splits its input (first C_s channels; the last C_l pooled by
                 2), runs its MTConvs on the pair and re-joins them (long stream upsampled, nearest,
                 and concatenated); residual and projection shortcut (pool, 1x1x1 conv with g groups,
                 bn) act on the joined tensor.
  Everything else is the existing implementation: Table 1 depths (one downsample + n repeat blocks
  per stage), widths 64/128/256/512, stem 64, r = 0.875, width 1, g sub-streams as
  ``split_groups`` (7 + 1 for g = 8; GRUs are not grouped).
  Class count: 700. Table 3's caption is "K-700 & MiT top-1 ... number of parameters" and one
  params column serves both datasets; the models are K-700 models (MiT ones are fine-tuned from
  them with another head). 200 (HACS) and 339 (MiT) are printed as a sensitivity line only.
  Rows and error: the seven rows of Table 3, params only, each as ours / paper - 1; the g = 8 rows
  enter with Table 3's absolute numbers (13.07 / 24.68 M), because the criterion is Table 3. The
  text's -58.67 % / -59.98 % (g = 8 vs g = 1) are printed beside as a secondary check only.
  Score of a reading: max |relative error| over the seven rows. Decision: the reading with the
  smallest score becomes the default if its error is within +-10 % on all seven rows; otherwise
  the best one anyway, with the residual explained (here and in ``actionrec.models.mtnet``).

Why the absolute numbers cannot match (printed at the end as well)
  1. The paper does not say at which clip size Table 3 was counted (training used 16x320x320
     crops and a multigrid average of 8x180x180), nor whether its "GFLOPs" are multiply-adds or
     2 x multiply-adds. MACs scale with T*H*W, so 16x224^2 and 8x180^2 differ by 3.1x; no single
     size reproduces all five rows (the ours/paper ratio drifts with depth, see below).
  2. The architecture is under-specified. Three readings the text allows are options
     (pre-registered above); ``--readings`` counts all eight. Outcome: the best score is 38.1 %
     (sr="stage"; "bottleneck" and "multiplexer" 6k parameters apart; "persist" and "merge" tied
     exactly, because the deciding row, MTNet-132 g = 8, has the same weights either way: a
     g-grouped 1x1x1 shortcut on C_in -> C_out holds C_in C_out / 8 = the 7 + 1 grouped pair). The
     tie goes to "persist" (the official code's layout and Table 1's), so the default stays
     stage / bottleneck / persist. No reading is within +-10 % on all seven rows.
  3. Table 3 is not consistent with one reading. The paper's increment from MTNet-64 to -132
     (+42.28M for 17 stage-3 repeat blocks, 2.49M each) matches sr="block" (2.48M per block: 1.86M
     of MTConvs + a GRU pair of 0.61M) and not sr="stage" (1.86M); but with "block" MTNet-32/-48/-64
     are 16-34 % and the g = 8 rows 39-42 % above Table 3. With "stage", MTNet-48/-64 are within
     4 %, -32 is 18 % above, -132/-200 14-20 % below and the g = 8 rows 23-38 % below. The official
     code (``alexandrosstergiou/Squeeze-and-Recursion-Temporal-Gates``, ``network/MTnet.py``) differs
     from every candidate (a GRU pair and a multiplexer in every block, block width divided by g, the
     downsample block counted among Table 1's repeats); those are not candidates (no knob beyond the
     pre-registered eight) and are not counted here.
  4. Ratios are the comparable quantities: r = 0.875 vs r = 1 matches the paper (-20.2 % vs
     -20.52 %, averaged over MTNet-32/48/64/132 at 16x224^2 and at 8x180^2; -20.2 to -20.3 % at
     8x180^2 in every reading, ``--readings``); r = 0.75 removes a little more than the paper says (-37.3 % vs
     -35.06 %). For g = 8 the paper contradicts itself: its text says params -58.67 %/-59.98 % and
     GFLOPs -71.82 %/-76.14 % for MTNet-64/-132, but its Table 3 rows give -69.6 %/-71.1 % params
     and -85.8 %/-89.7 % GFLOPs. Ours (every conv of both streams and the shortcuts grouped, GRUs
     not): params -75.9 %/-79.1 % with sr="stage", -62.9 %/-62.8 % with sr="block" (closest to the
     text); GMACs about -75 %/-78 %.
"""

from __future__ import annotations

import argparse
import time

from actionrec.analysis.complexity import model_complexity
from actionrec.models.mtnet import MTNET_READING
from actionrec.papers.mtnet import (MTNET_RATIO_GFLOPS, MTNET_SUBSTREAM_TEXT, MTNET_TABLE3, MTNET_TABLE3_CLASSES,
                                    best_mtnet_reading, mtnet_readings, mtnet_readings_table)

SIZES = {"16x224": (3, 16, 224, 224), "8x180": (3, 8, 180, 180)}
RATIO_NETS = ("mtnet32", "mtnet48", "mtnet64", "mtnet132")  # "the four tested architectures"


def pct(a: float, b: float) -> str:
    return f"{100 * (a / b - 1):+.1f}%"


class Counter:
    """Params and GMACs of one (model, r, g, reading, classes), each counted once."""

    def __init__(self):
        self.cache: dict = {}

    def __call__(self, name, r, g, reading=None, *, num_classes=MTNET_TABLE3_CLASSES, sizes=SIZES):
        reading = dict(MTNET_READING if reading is None else reading)
        key = (name, r, g, tuple(sorted(reading.items())), num_classes, tuple(sizes))
        if key not in self.cache:
            self.cache[key] = model_complexity(name, sizes, num_classes=num_classes, r=r, g=g, **reading)
        return self.cache[key]


def ratio_change(get, reading, r: float, size: str) -> float:
    """Mean GMACs change (%) of ``r`` vs r = 1 over :data:`RATIO_NETS` at ``size``."""
    sizes = {size: SIZES[size]}
    ch = [get(n, r, 1, reading, sizes=sizes)[size] / get(n, 1.0, 1, reading, sizes=sizes)[size] - 1 for n in RATIO_NETS]
    return 100 * sum(ch) / len(ch)


def readings_report(get) -> None:
    """Every candidate reading against Table 3's params (the pre-registered rules, module doc)."""
    table = mtnet_readings_table()
    keys = list(MTNET_TABLE3)
    print(f"Candidate readings vs Table 3 params (r = 0.875, width 1, {MTNET_TABLE3_CLASSES} classes); "
          "ours in M, (error %); score = max |error| over the seven rows")
    head = " ".join(f"{k[0][5:]}{'' if k[1] == 1 else '/g8'}".rjust(15) for k in keys)
    print(f"{'sr':5s} {'downsample':11s} {'streams':7s} | {head} | {'max|err|':>8s}")
    print(f"{'':25s} | " + " ".join(f"{MTNET_TABLE3[k][0]:15.2f}" for k in keys) + " |   (paper)")
    for row in table:
        cells = " ".join(f"{row['params'][k]:6.2f} ({100 * row['errors'][k]:+5.1f}%)" for k in keys)
        print(f"{row['sr']:5s} {row['downsample']:11s} {row['streams']:7s} | {cells} | {100 * row['max_abs_error']:7.2f}%")
    best = best_mtnet_reading(table)
    print("\n" + best["sentence"])

    print("\nSecondary checks (not in the score)")
    print(f"{'sr':5s} {'downsample':11s} {'streams':7s} | g=8 vs g=1 params: 64 / 132 (text "
          f"{MTNET_SUBSTREAM_TEXT['mtnet64'][0]:+.2f}% / {MTNET_SUBSTREAM_TEXT['mtnet132'][0]:+.2f}%) | "
          "max|err| at 200 / 339 classes | M per stage-3 repeat block, (132 - 64) / 17 (paper "
          f"{(MTNET_TABLE3['mtnet132', 1][0] - MTNET_TABLE3['mtnet64', 1][0]) / 17:.2f}) | GMACs r=.875 vs r=1, "
          f"mean of 32/48/64/132 at 8x180² (paper {MTNET_RATIO_GFLOPS[0.875]:+.2f}%)")
    sens = {nc: {tuple(r[k] for k in ("sr", "downsample", "streams")): r["max_abs_error"]
                 for r in mtnet_readings_table(num_classes=nc)} for nc in (200, 339)}
    for row in table:
        rk = tuple(row[k] for k in ("sr", "downsample", "streams"))
        sub = " / ".join(f"{100 * row['substream'][m]:+.1f}%" for m in MTNET_SUBSTREAM_TEXT)
        rc = ratio_change(get, dict(zip(("sr", "downsample", "streams"), rk)), 0.875, "8x180")
        print(f"{row['sr']:5s} {row['downsample']:11s} {row['streams']:7s} | {sub:>40s} | "
              f"{100 * sens[200][rk]:6.2f}% / {100 * sens[339][rk]:6.2f}% | "
              f"{(row['params']['mtnet132', 1] - row['params']['mtnet64', 1]) / 17:5.2f} | {rc:+.1f}%")


def default_report(get) -> None:
    reading = ", ".join(f'{k}="{v}"' for k, v in MTNET_READING.items())
    print(f"Table 3 (r = 0.875), default reading ({reading}), {MTNET_TABLE3_CLASSES} classes: ours vs paper. "
          "GMACs = multiply-adds / 1e9 per clip.")
    hdr = (f"{'model':9s} {'g':>2s} | {'params M':>8s} {'paper':>7s} {'ratio':>6s} | {'GMACs 16x224²':>13s} "
           f"{'GMACs 8x180²':>12s} {'paper GFLOPs':>12s} | {'ratio 16x224':>12s} {'ratio 8x180':>11s}")
    print(hdr)
    print("-" * len(hdr))
    for (name, g), (p_par, p_fl) in MTNET_TABLE3.items():
        row = get(name, 0.875, g)
        print(f"{name:9s} {g:2d} | {row['params_M']:8.2f} {p_par:7.2f} {row['params_M'] / p_par:6.2f} | "
              f"{row['16x224']:13.2f} {row['8x180']:12.2f} {p_fl:12.2f} | "
              f"{row['16x224'] / p_fl:12.2f} {row['8x180'] / p_fl:11.2f}")
    print()
    print("g = 8 for the nets without a Table 3 row (ours only):")
    for name in ("mtnet32", "mtnet48", "mtnet200"):
        row = get(name, 0.875, 8)
        print(f"{name:9s}  8 | {row['params_M']:8.2f} M | {row['16x224']:8.2f} GMACs 16x224² | {row['8x180']:7.2f} GMACs 8x180²")

    print()
    print("Channel ratio r vs vanilla 3D (r = 1), g = 1: GMACs change, per net and averaged over 32/48/64/132")
    print(f"{'model':9s} | {'r=1 GMACs':>9s} | {'r=.875':>8s} {'r=.75':>8s} | {'params r=.875':>13s} {'r=.75':>8s}   (GMACs at 16x224²)")
    for name in RATIO_NETS:
        base = get(name, 1.0, 1)
        parts = [f"{pct(get(name, r, 1)['16x224'], base['16x224']):>8s}" for r in (0.875, 0.75)]
        pparts = [f"{pct(get(name, r, 1)['params_M'], base['params_M']):>8s}" for r in (0.875, 0.75)]
        print(f"{name:9s} | {base['16x224']:9.2f} | {' '.join(parts)} | {pparts[0]:>13s} {pparts[1]:>8s}")
    for r, paper in MTNET_RATIO_GFLOPS.items():
        print(f"average r={r}: ours {ratio_change(get, None, r, '16x224'):+.1f}% at 16x224² "
              f"({ratio_change(get, None, r, '8x180'):+.1f}% at 8x180²)  paper {paper:+.2f}% GFLOPs")

    print()
    print("Sub-streams g = 8 vs g = 1 (r = 0.875)")
    for name, (pp, pf) in MTNET_SUBSTREAM_TEXT.items():
        a, b = get(name, 0.875, 1), get(name, 0.875, 8)
        (tp1, tf1), (tp8, tf8) = MTNET_TABLE3[name, 1], MTNET_TABLE3[name, 8]
        print(
            f"{name:9s}: params ours {pct(b['params_M'], a['params_M'])} (paper text {pp:+.2f}%, "
            f"Table 3 {pct(tp8, tp1)}); GMACs ours {pct(b['16x224'], a['16x224'])} at 16x224², "
            f"{pct(b['8x180'], a['8x180'])} at 8x180² (paper text {pf:+.2f}%, Table 3 {pct(tf8, tf1)})"
        )
    print()
    print(__doc__[__doc__.index("Why the absolute"):].rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readings", action="store_true",
                    help=f"every candidate reading ({len(mtnet_readings())}) against Table 3's params")
    args = ap.parse_args()
    t0 = time.time()
    get = Counter()
    if args.readings:
        readings_report(get)
    else:
        default_report(get)
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
