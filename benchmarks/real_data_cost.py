"""Running on real data: time and memory per model, at the papers' clip sizes (one markdown table).

Run: ``nice -n 10 .venv/bin/python benchmarks/real_data_cost.py [--models mtnet32,tsm_r50]
[--quick] [--json out.json]`` (7 min on these 2 shared cores, 6 of them the CPU runs of the seven
112² rows; ``--no-time``: meta-device numbers only, ~1 min; ``--quick``: one timed repetition, no
16x320² rows). ``--models`` takes row names (``mtnet32`` selects all its clip sizes, ``r3d_34+srtg``,
``tsm_r50``...) or custom rows ``NAME@TxHxW`` / ``NAME@TxS`` for any name in ``actionrec.models.MODELS``
(``c3d_small@8x32x32``, ``r3d_18+srtg@16x112``).

Rows (UCF-101: 101 classes; clip = C x T x H x W at batch 1)
  * MTNet-32/48/64/132/200 (r = 0.875, g = 1, GRU SR) at 16x112², 16x224² and 16x320². The paper
    (mtnet.txt, "Implementation") trains on random 320x320 crops of 16 frames with a multigrid
    schedule averaging ~8x180²; 16x224² is the size of its Table 4 baselines (and of our
    ``benchmarks/complexity.py``); 16x112² is the common small-GPU / laptop size.
  * r3d / r(2+1)d 34/50/101 with SRTG "final" (srtg.txt: 16 frames resized to 224²), gate "soft"
    (every LSTM is in the graph, as for a trained hard gate whose gates open; see below), plus
    the two -34s at 16x112² (timed on CPU).
  * MSTI-Net-50 at 16x224² (msti.txt Table 1 input). TSN / TSM / MSTNet (MixTConv) ResNet-50 at
    8 segments x 224² (mixtconv.txt). ST-Multiplier two-stream ResNet-50 (multiplier.txt) at
    5 chunks x 224², input RGB (3) + 10 stacked flows (20) = 23 channels (Sec. 5.1: 5 temporal
    chunks per video, L = 10).

Columns
  * params, GMACs per clip: ``actionrec.analysis.complexity.count_params`` / ``count_macs`` (GRU/LSTM
    counted by hand; 1 MAC = 1 multiply-add).
  * static GiB: weights + grads + AdamW's two moments, 16 bytes per parameter (fp32), plus buffers.
    Independent of the batch.
  * act/clip: bytes of the tensors autograd saves for backward during one training-mode forward
    (+ cross-entropy; two-stream: its two-head ``training_loss``) at batch 1, each storage counted
    once and parameters excluded (``torch.autograd.graph.saved_tensors_hooks``). It is what stays
    alive between forward and backward and grows linearly with the batch. Measured with real
    arithmetic on CPU for the 112² rows (column src "cpu"); for the larger clips the same forward
    runs on PyTorch's ``meta`` device (shapes only: no memory, no arithmetic, seconds per model;
    src "meta"). The autograd graph and what it saves are the same on both (derivative formulas
    are per aten op, not per backend), up to device-specific code paths: every 112² row is
    measured both ways and the line "cpu vs meta" under the table prints the difference. Measured
    (2026-11-22): +3.2 MB for every MTNet (1.8-2.5 %), from MTNet's CPU-only channels_last_3d path
    in stage 1 (``forward_features`` picks the layout by ``x.device.type == "cpu"``; a dense 1x1x1
    conv runs as a matmul on a reshaped input, and one extra padded SoftPool input), which a GPU
    run does not take; +2.1 MB (0.2-0.7 %) for the SRTG -34s, whose CPU LSTM is one fused oneDNN op
    that keeps a workspace (cuDNN's LSTM keeps its own reserve space). Tiny nets (c3d_small,
    tsm_small, msti_net_small, two_stream_small, mtnet32 at width 0.25 on 8x32²) match to the byte.
  * Why not measure at 112² and multiply by 4 for 224²: the activations are *not* exactly
    proportional to H*W (BatchNorm statistics, the SR/SRTG recurrences and the logits do not scale
    with H*W, and feature maps at stride 32 round up: 112/32 = 3.5 -> 4); the line "224²/112²"
    prints the measured ratios (3.93-3.94 for MTNet, 3.99 for the r3d / r(2+1)d -34s, rather than 4).
  * total b1 fp32 = static + act/clip: memory of one training step at batch 1, fp32.
  * bf16 act/clip (ESTIMATE) = fp32 act/clip / 2: with CUDA autocast (bf16) the conv/matmul
    outputs and the ops that follow them (BN, ReLU, pooling, adds) stay bf16. Not halved: the
    fp32 master weights, grads and AdamW state (still 16 B/param) and a bf16 copy of each weight
    that autocast keeps for backward (+2 B/param, added to the static part of the bf16 estimate).
    CPU autocast cannot stand in for the CUDA policy, but it shows the split: on small nets here
    (2 x 3 x 8 x 64², saved bf16 weight copies set apart, which came to the expected 2 B/param)
    it saved 0.50-0.53 of the fp32 activation bytes for c3d_small, tsm_small, mtnet32 (width
    0.25) and r3d_18+SRTG, but 0.58 for two_stream_small and 0.85 for msti_net_small, because CPU
    autocast runs some ops in fp32 (max_pool3d among them) and saves fp32 copies of their inputs;
    CUDA autocast leaves pooling in bf16. Treat the halving as the optimistic end.
  * max batch 24/40/80 GiB (ESTIMATE, bf16) = floor((capacity - bf16 static) / bf16 act/clip).
    The real limit is lower: cuDNN workspaces, the CUDA context (~0.3-0.5 GiB), activation
    gradients alive during backward (one or two layers' worth) and allocator fragmentation add
    ~10-20 %; leave that margin (or halve the batch and use ``accum_steps``).
  * CPU s/clip: measured fwd + loss + bwd at batch 1 (no optimizer step), median of 3 after one
    warm-up step (the one whose saved bytes are counted), ``torch.set_num_threads(2)``, 112² rows
    only (224² is ~4x that and too slow here); "CPU h/epoch" = 9537 x that (UCF-101 split 1 train
    list) on this machine.
  * GPU min/epoch (ESTIMATE, not measured): 9537 clips x 3 x 2 x MACs (forward + backward ~ 3
    forwards; 2 FLOPs per MAC) / (40 % of an A100's 312 dense bf16 TFLOPS = 125 TFLOPS sustained;
    ``--peak-tflops`` / ``--utilisation``). It is a compute lower bound: video decoding usually
    dominates at these speeds (see ``benchmarks/video_decode.py`` and ``actionrec.data.prepare``),
    grouped / small-channel 3D convs (MTNet's long stream) and the recurrent cells run far below
    40 %, and optical flow for the two-stream net must be precomputed. Testing split 1 (3783
    videos, forward only) with V views per video costs 3783 V / (3 x 9537) = 0.13 V epochs.

Measured 2026-11-22 (torch 2.13 CPU, 2 threads, load average 4-5 from other jobs; full table in
the README / book section "Running on real data: time and memory per model"):
  * Saved activations per 16x224² clip (fp32): MTNet-32..200 0.47-0.67 GiB (of the order of their
    weights + grads + AdamW state, 0.38-1.47 GiB), r3d-34 1.18, r(2+1)d-34 3.19 (the (2+1)D mid
    tensors at full resolution), r3d/r(2+1)d-50 4.0/5.1, MSTI-Net-50 0.90; TSN-R50 8x224² 0.64,
    TSM / MSTNet 0.81 (the shifted copies); two-stream R50 (5 chunks, two streams) 0.99. The SRTG -50/-101 nets carry
    5.5/10.3 GiB of weights + grads + AdamW state (368M/693M parameters, mostly the gates' LSTMs).
  * bf16 estimate at 16x224² on a 24 GiB card: MTNet-32 ~100 clips, MTNet-200 ~66, r3d-34 ~38,
    r(2+1)d-34 ~14, SRTG -50 7-8, -101 4-5 (before the 10-20 % margin).
  * CPU fwd+bwd at 16x112², batch 1: 4.9-12 s per clip for MTNet-32..200 and 15-18 s for the
    SRTG -34s in this run; an earlier run under different load gave 6-31 s and 8-14 s (single
    clips on a shared machine: +-2x). At 5-31 s per clip an epoch of UCF-101 takes 13-83 h on
    this machine: real datasets need a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from actionrec.analysis.complexity import count_macs, count_params
from actionrec.models import ALIASES, MODELS, build_model

GiB = 1024**3
UCF101_TRAIN_CLIPS = 9537  # ucfTrainTestlist/trainlist01.txt
NUM_CLASSES = 101
GPUS_GIB = (24, 40, 80)
SRTG = {"srtg": "final", "srtg_kwargs": {"gate": "soft"}}
TSN_FAMILY = ("tsn_", "tsm_", "mstnet_")
FLOW_CHANNELS = 20  # two-stream: L = 10 stacked (x, y) flows


@dataclass(frozen=True)
class Row:
    """One table row: ``label`` (MODELS name, ``+srtg`` for the SRTG placement), clip ``(C, T, H, W)``."""

    label: str
    clip: tuple
    kwargs: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def model(self) -> str:
        return self.label.split("+")[0]

    @property
    def timed(self) -> bool:
        return max(self.clip[2:]) <= 112


def make_row(label: str, frames: int, size: int | tuple) -> Row:
    """The row for ``label`` at ``frames`` x ``size``: input channels and builder kwargs per family."""
    h, w = (size, size) if isinstance(size, int) else size
    name, _, extra = label.partition("+")
    if name not in MODELS and name not in ALIASES:
        raise ValueError(f"--models: unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}")
    if extra not in ("", "srtg"):
        raise ValueError(f"--models: {label!r}: the only suffix is '+srtg' (r3d_* / r2plus1d_*)")
    kwargs: dict = {"num_classes": NUM_CLASSES}
    channels = 3
    if extra == "srtg":
        if not name.startswith(("r3d_", "r2plus1d_")):
            raise ValueError(f"--models: {label!r}: '+srtg' applies to r3d_* / r2plus1d_* only")
        kwargs.update(SRTG)
    if name.startswith(TSN_FAMILY):
        kwargs["num_segments"] = frames  # the temporal ops are built for T frames
    if name.startswith("two_stream"):
        kwargs["flow_channels"] = FLOW_CHANNELS
        channels = 3 + FLOW_CHANNELS  # RGB + flow stacks, (B, 3 + 2L, T, H, W)
    return Row(label, (channels, frames, h, w), kwargs)


def default_rows(quick: bool) -> list[Row]:
    rows = []
    for n in ("mtnet32", "mtnet48", "mtnet64", "mtnet132", "mtnet200"):
        rows += [make_row(n, 16, 112), make_row(n, 16, 224)]
        if not quick:
            rows.append(make_row(n, 16, 320))
    for n in ("r3d_34", "r2plus1d_34"):
        rows.append(make_row(n + "+srtg", 16, 112))
    for n in ("r3d_34", "r3d_50", "r3d_101", "r2plus1d_34", "r2plus1d_50", "r2plus1d_101"):
        rows.append(make_row(n + "+srtg", 16, 224))
    rows.append(make_row("msti_net50", 16, 224))
    for n in ("tsn_r50", "tsm_r50", "mstnet_r50"):
        rows.append(make_row(n, 8, 224))
    rows.append(make_row("two_stream_r50", 5, 224))
    return rows


def select_rows(spec: str | None, quick: bool) -> list[Row]:
    """``--models``: comma-separated row labels (all their clip sizes) or ``NAME@TxHxW`` / ``NAME@TxS``."""
    rows = default_rows(quick)
    if not spec:
        return rows
    out: list[Row] = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        if "@" in item:
            label, _, size = item.partition("@")
            m = re.fullmatch(r"(\d+)x(\d+)(?:x(\d+))?", size)
            if not m:
                raise ValueError(f"--models: {item!r}: write the clip as NAME@TxHxW or NAME@TxS, e.g. mtnet32@16x112")
            t, h = int(m[1]), int(m[2])
            out.append(make_row(label, t, (h, int(m[3]) if m[3] else h)))
            continue
        hits = [r for r in rows if r.label == item]
        if not hits:
            make_row(item, 16, 112)  # raises for unknown names
            labels = sorted({r.label for r in rows})
            raise ValueError(f"--models: {item!r} has no default row; give a clip ({item}@16x112) "
                             f"or one of {', '.join(labels)}")
        out += hits
    return out


def _loss(model, x: torch.Tensor) -> torch.Tensor:
    y = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    if hasattr(model, "training_loss"):  # two-stream: one loss per head (what actionrec.train.fit calls)
        return model.training_loss(x, y)[1]
    return F.cross_entropy(model(x), y)


def saved_bytes(model: torch.nn.Module, x: torch.Tensor, *, backward: bool = False) -> int:
    """Bytes of the storages autograd saves for backward in one training forward + loss (parameters excluded).

    Each storage is counted once (by its address; on ``meta``, where every address is 0, by the
    storage object's identity), so views and tensors saved by several ops count once.
    ``backward=True`` also runs the backward pass (the hooks do not change it: a training step).
    """
    meta = x.device.type == "meta"

    def key(t: torch.Tensor) -> int:
        s = t.untyped_storage()
        return s._cdata if meta else s.data_ptr()

    params = {key(p) for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        k = key(t)
        if k not in params and k not in seen:
            seen[k] = t.untyped_storage().nbytes()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = _loss(model, x)
    if backward:
        loss.backward()
    del loss
    return sum(seen.values())


def cpu_measure(row: Row, reps: int, seed: int = 0) -> tuple[int, float]:
    """Real CPU run at batch 1: saved bytes of the warm-up step, then the median of ``reps`` fwd+loss+bwd seconds."""
    torch.manual_seed(seed)
    model = build_model(row.model, **row.kwargs).train()
    x = torch.randn(1, *row.clip)
    act = saved_bytes(model, x, backward=True)  # warm-up step (pays oneDNN primitive creation), measured
    times = []
    for _ in range(reps):
        model.zero_grad(set_to_none=True)
        t = time.perf_counter()
        _loss(model, x).backward()
        times.append(time.perf_counter() - t)
    return act, statistics.median(times)


def measure(row: Row, *, reps: int, time_cpu: bool, peak_flops: float) -> dict:
    with torch.device("meta"):
        net = build_model(row.model, **row.kwargs)
    params = count_params(net)
    buffers = sum(b.numel() * b.element_size() for b in net.buffers())
    macs = count_macs(net, row.clip)
    act_meta = saved_bytes(net, torch.empty(1, *row.clip, device="meta"))
    del net
    res = {
        "model": row.label,
        "clip": "x".join(map(str, row.clip)),
        "kwargs": {k: v for k, v in row.kwargs.items() if k != "num_classes"},
        "params": params,
        "gmacs": macs / 1e9,
        "static_bytes": 16 * params + buffers,
        "act_bytes_meta": act_meta,
        "act_bytes_cpu": None,
        "cpu_s_per_clip": None,
    }
    if time_cpu and row.timed:
        res["act_bytes_cpu"], res["cpu_s_per_clip"] = cpu_measure(row, reps)
    act = res["act_bytes_cpu"] if res["act_bytes_cpu"] is not None else act_meta
    res["act_src"] = "cpu" if res["act_bytes_cpu"] is not None else "meta"
    res["act_bytes"] = act
    res["total_b1_fp32_bytes"] = res["static_bytes"] + act
    res["act_bytes_bf16_est"] = act / 2
    res["static_bytes_bf16_est"] = res["static_bytes"] + 2 * params  # + autocast's bf16 weight copies
    res["max_batch_bf16_est"] = {
        f"{g}GiB": max(0, math.floor((g * GiB - res["static_bytes_bf16_est"]) / res["act_bytes_bf16_est"]))
        for g in GPUS_GIB
    }
    res["gpu_min_per_epoch_est"] = UCF101_TRAIN_CLIPS * 3 * 2 * macs / peak_flops / 60
    if res["cpu_s_per_clip"] is not None:
        res["cpu_h_per_epoch"] = UCF101_TRAIN_CLIPS * res["cpu_s_per_clip"] / 3600
    return res


def _g(b) -> str:
    return f"{b / GiB:.2f}"


def markdown(results: list[dict]) -> str:
    hdr = ["model", "clip CxTxHxW", "params M", "GMACs", "static GiB", "act/clip fp32 GiB", "src",
           "total b1 fp32 GiB", "act/clip bf16 GiB (est.)", "max batch bf16 24/40/80 GiB (est.)",
           "CPU s/clip", "CPU h/epoch", "GPU min/epoch (est.)"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "|".join(["---"] * len(hdr)) + "|"]
    for r in results:
        mb = "/".join(str(v) for v in r["max_batch_bf16_est"].values())
        cpu = f"{r['cpu_s_per_clip']:.2f}" if r["cpu_s_per_clip"] is not None else "-"
        cpuh = f"{r['cpu_h_per_epoch']:.1f}" if r.get("cpu_h_per_epoch") is not None else "-"
        lines.append("| " + " | ".join([
            r["model"], r["clip"], f"{r['params'] / 1e6:.1f}", f"{r['gmacs']:.1f}", _g(r["static_bytes"]),
            _g(r["act_bytes"]), r["act_src"], _g(r["total_b1_fp32_bytes"]), _g(r["act_bytes_bf16_est"]), mb,
            cpu, cpuh, f"{r['gpu_min_per_epoch_est']:.2f}"]) + " |")
    return "\n".join(lines)


def checks(results: list[dict]) -> list[str]:
    out = []
    diffs = [(r["model"], r["clip"], r["act_bytes_cpu"] - r["act_bytes_meta"]) for r in results
             if r["act_bytes_cpu"] is not None]
    if diffs:
        out.append("cpu vs meta saved bytes (same clip, batch 1): " + "; ".join(
            f"{m} {c}: {'equal' if d == 0 else f'{d / 1e6:+.3f} MB'}" for m, c, d in diffs))
    by = {}
    for r in results:
        c, t, h, w = map(int, r["clip"].split("x"))
        by[r["model"], c, t, h, w] = r["act_bytes_meta"]
    ratios = []
    for (m, c, t, h, w), b in by.items():
        if h == 224 and (m, c, t, 112, w // 2) in by:
            ratios.append(f"{m} {b / by[m, c, t, 112, w // 2]:.3f}")
    if ratios:
        out.append("224²/112² saved bytes (meta, same T; 4 if proportional to H*W): " + "; ".join(ratios))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="comma-separated rows: labels (mtnet32, r3d_34+srtg, tsm_r50) "
                    "or NAME@TxHxW / NAME@TxS")
    ap.add_argument("--quick", action="store_true", help="one timed repetition; no 16x320² rows")
    ap.add_argument("--no-time", action="store_true", help="skip the CPU runs (meta-device numbers only)")
    ap.add_argument("--reps", type=int, default=3, help="timed CPU fwd+bwd repetitions (median)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peak-tflops", type=float, default=312.0, help="GPU dense bf16 peak (A100: 312)")
    ap.add_argument("--utilisation", type=float, default=0.40, help="sustained fraction of the peak")
    ap.add_argument("--json", default=None, help="write the rows and assumptions to this file")
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    if not 0 < args.utilisation <= 1:
        ap.error("--utilisation must be in (0, 1]")
    if args.peak_tflops <= 0:
        ap.error("--peak-tflops must be > 0")
    try:
        rows = select_rows(args.models, args.quick)
    except ValueError as e:
        ap.error(str(e))
    reps = 1 if args.quick else args.reps
    torch.set_num_threads(args.threads)
    peak = args.peak_tflops * 1e12 * args.utilisation
    t0 = time.time()
    results = []
    for row in rows:
        t = time.time()
        results.append(measure(row, reps=reps, time_cpu=not args.no_time, peak_flops=peak))
        print(f"  {row.label} {'x'.join(map(str, row.clip))}: {time.time() - t:.1f} s", file=sys.stderr, flush=True)
    print(f"Training cost per model (batch 1, UCF-101: {NUM_CLASSES} classes, {UCF101_TRAIN_CLIPS} train clips, "
          f"AdamW). est. = estimate, not measured; see the script's docstring.\n")
    print(markdown(results))
    print()
    for line in checks(results):
        print("- " + line)
    print(f"- GPU min/epoch: {UCF101_TRAIN_CLIPS} clips x 3 x 2 x MACs at {args.utilisation:.0%} of "
          f"{args.peak_tflops:g} TFLOPS = {peak / 1e12:.0f} TFLOPS sustained (compute only, no data loading).")
    print("- max batch: (capacity - bf16 static) / bf16 act/clip; cuDNN workspaces, CUDA context, backward "
          "transients and fragmentation take ~10-20 % more: keep that margin.")
    print(f"- CPU: torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, median of {reps}.")
    elapsed = time.time() - t0
    print(f"\n({elapsed:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"assumptions": {"train_clips": UCF101_TRAIN_CLIPS, "num_classes": NUM_CLASSES,
                                       "peak_tflops": args.peak_tflops, "utilisation": args.utilisation,
                                       "bytes_per_param_static": 16, "bf16_act_factor": 0.5,
                                       "bf16_extra_bytes_per_param": 2, "gpus_gib": list(GPUS_GIB),
                                       "threads": args.threads, "reps": reps, "torch": torch.__version__},
                       "rows": results, "seconds": elapsed}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
