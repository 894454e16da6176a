"""Clip loading from video (PyAV decode) vs from the pre-decoded cache, beside a model's consumption.

Run: ``nice -n 10 .venv/bin/python benchmarks/video_decode.py [--quick] [--data-root R --dataset ucf101]``
(a few minutes on 2 cores; ``--quick``: 8 videos, fewer clips and rounds).

What it does, in one run:

1. Writes ``--videos`` (24) synthetic videos of ``--seconds`` (10) s at 320x240, 25 fps, with
   ``video_io.write_video`` (H.264, x264's default keyframe interval 250: one keyframe per 10 s clip,
   as in Kinetics clips cut with ffmpeg; ``--codec mpeg4`` writes AVIs as UCF-101 ships) into a
   temp dir in the UCF-101 layout (``<Class>/v_<Class>_gXX_c01.avi`` + ``ucfTrainTestlist``). The
   frames are a textured background panning 2 px per frame with a moving square and mild noise, so
   the encoder spends a realistic bitrate (crf 18: ~490 kbit/s; UCF-101 averages ~540) rather
   than coding flat colour. Or reads a
   real dataset (``--data-root``; ``--num-samples`` videos of its train split).
2. Prepares a frame cache (``actionrec.data.prepare.prepare_cache``, short side 128, 2 workers).
3. Loads train-mode clips (``VideoDataset``: 16 frames, interval 2, short side 128, random 112
   crop, flip, normalise; batch 8) from the videos ("decode") and from the cache ("cache") with
   ``DataLoader(num_workers=0, 2, 4)``: clips/s over ``--clips`` clips after every worker has
   delivered its first batch (worker start-up excluded), median of ``--rounds`` rounds, the
   configurations interleaved within each round.
4. Times the consumer: one training step (forward, cross-entropy, backward, AdamW) of ``mtnet32``
   (101 classes) at width 1.0 and 0.25 on a batch of 8 clips 3x16x112x112, ``--threads`` torch
   threads (``_bench.interleaved_medians``).

It prints clips/s per loader and the ratio loader / model: >= 1 means the data keeps up with
training on this machine (the GPU case is the same arithmetic with the GPU's step rate).

Caveats: this machine has 2 cores: with 2 workers the main process competes with them, and 4
workers oversubscribe the cores (the 4-worker rows show the cost of that, not a 4-core speed-up);
the model is timed alone, while in training data loading and the model share the cores. The
cache is read from the page cache (it was just written and fits in memory); a cache larger than
RAM reads ~1 MB per clip from disk (random reads: fine on an SSD). Timings are medians while
other processes may load the machine (the load average is printed); on a machine loaded above
its core count, more loader processes also win a larger share of the CPU from the other
processes, which inflates the gain from 0 to 2 workers beyond 2x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import interleaved_medians  # noqa: E402

CLASSES = ("ApplyEyeMakeup", "Basketball", "CliffDiving", "Drumming")


def synthetic_frames(n: int, seed: int, h: int = 240, w: int = 320) -> np.ndarray:
    """uint8 (n, h, w, 3): a smooth random texture panning 2 px/frame, a moving square, mild noise."""
    rng = np.random.default_rng(seed)
    tex = rng.random((h // 8 + 2, (w + 2 * n) // 8 + 2, 3)).astype(np.float32)
    tex = np.repeat(np.repeat(tex, 8, 0), 8, 1)  # blocky texture ...
    k = np.ones(9, np.float32) / 9  # ... smoothed along both axes (cheap box blur)
    tex = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, tex)
    tex = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, tex)
    tex = (tex * 200 + 20).astype(np.uint8)
    out = np.empty((n, h, w, 3), np.uint8)
    for t in range(n):
        f = tex[:h, 2 * t:2 * t + w].copy()
        y, x = (40 + 3 * t) % (h - 40), (60 + 5 * t) % (w - 40)
        f[y:y + 40, x:x + 40] = (230, 60, 40)
        f = np.clip(f.astype(np.int16) + rng.integers(-6, 7, f.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        out[t] = f
    return out


def write_tree(root: Path, videos: int, seconds: float, codec: str, gop: int | None) -> float:
    """UCF-101-shaped tree of synthetic videos; returns the seconds spent writing."""
    from actionrec.data.videos.video_io import write_video

    t0 = time.perf_counter()
    ext = ".avi" if codec == "mpeg4" else ".mp4"
    train = []
    for v in range(videos):
        cls = CLASSES[v % len(CLASSES)]
        name = f"v_{cls}_g{v // len(CLASSES) + 1:02d}_c01{ext}"
        (root / cls).mkdir(parents=True, exist_ok=True)
        write_video(root / cls / name, synthetic_frames(int(seconds * 25), seed=v), fps=25, codec=codec, gop=gop,
                    crf=5 if codec == "mpeg4" else 18)
        train.append(f"{cls}/{name} {CLASSES.index(cls) + 1}")
    ann = root / "ucfTrainTestlist"
    ann.mkdir(exist_ok=True)
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    (ann / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (ann / "testlist01.txt").write_text("\n".join(t.rsplit(" ", 1)[0] for t in train[:1]) + "\n")
    return time.perf_counter() - t0


def loader_rate(ds, workers: int, clips: int, batch: int, seed: int) -> float:
    """Clips/s of a DataLoader over ``clips`` random clips, after each worker's first batch."""
    warm = max(1, workers)
    n_batches = warm + max(1, clips // batch)
    sampler = RandomSampler(ds, replacement=True, num_samples=n_batches * batch,
                            generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers, drop_last=True)
    it = iter(loader)
    for _ in range(warm):
        next(it)
    t0 = time.perf_counter()
    got = 0
    for x, _ in it:
        got += len(x)
    dt = time.perf_counter() - t0
    del it
    return got / dt


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 videos, fewer clips and rounds")
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--codec", default="h264", choices=("h264", "mpeg4"))
    ap.add_argument("--gop", type=int, default=None, help="keyframe interval (default: the encoder's)")
    ap.add_argument("--data-root", help="a real dataset instead of synthetic videos (its train split)")
    ap.add_argument("--dataset", default="ucf101", help="with --data-root")
    ap.add_argument("--num-samples", type=int, default=200, help="with --data-root: videos used")
    ap.add_argument("--cache", help="cache folder (default: a temp dir, deleted)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    ap.add_argument("--clips", type=int, default=96, help="clips timed per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (model; main-process loading)")
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.25], help="mtnet32 width multipliers")
    ap.add_argument("--model-reps", type=int, default=3)
    args = ap.parse_args(argv)
    if args.quick:
        args.videos, args.clips, args.rounds, args.model_reps = 8, 48, 1, 2
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*worker processes in total.*")  # 4 workers on 2 cores: on purpose

    from actionrec.data.videos.prepare import prepare_cache
    from actionrec.data.videos import build_video_dataset
    from actionrec.models import build_model

    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"{args.threads} threads; batch {args.batch}, clips 3x16x112x112 (interval 2, short side 128)")
    with tempfile.TemporaryDirectory(prefix="video_decode_") as tmp:
        tmp = Path(tmp)
        if args.data_root:
            root, dataset, num_samples = Path(args.data_root), args.dataset, args.num_samples
            print(f"data: {dataset} at {root}, {num_samples} train videos")
        else:
            root, dataset, num_samples = tmp / "UCF-101", "ucf101", None
            dt = write_tree(root, args.videos, args.seconds, args.codec, args.gop)
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix in (".mp4", ".avi"))
            print(f"data: {args.videos} synthetic videos, {args.seconds:g} s 320x240 25 fps {args.codec} "
                  f"(gop {args.gop or 'encoder default'}), {size / 2**20:.1f} MiB "
                  f"({size * 8 / (args.videos * args.seconds) / 1e3:.0f} kbit/s), written in {dt:.1f} s")
        kw = dict(data_root=root, frames=16, interval=2, size=112, short_side=128, seed=0)
        ds_dec = build_video_dataset(dataset, "train", num_samples=num_samples, **kw)
        cache = Path(args.cache) if args.cache else tmp / "cache"
        res = prepare_cache(dataset, root, cache, subsets=["train"], short_side=128, workers=2)
        ds_cac = build_video_dataset(dataset, "train", num_samples=num_samples, cache_dir=cache, **kw)
        print(f"cache: {res['videos']} videos, {res['frames']} frames, {res['bytes'] / 2**20:.0f} MiB in "
              f"{res['shards']} shard(s); prepared in {res['seconds']:.1f} s with 2 workers "
              f"({res['frames'] / max(res['seconds'], 1e-9):.0f} frames/s); "
              f"{len(res['problems'])} problem(s)")

        # -- data: interleaved rounds ------------------------------------------------------------
        configs = [(src, w) for w in args.workers for src in ("decode", "cache")]
        rates: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
        for r in range(args.rounds):
            order = configs if r % 2 == 0 else configs[::-1]
            for src, w in order:
                ds = ds_dec if src == "decode" else ds_cac
                rates[(src, w)].append(loader_rate(ds, w, args.clips, args.batch, seed=r))
        data = {c: statistics.median(v) for c, v in rates.items()}

        # -- the model -----------------------------------------------------------------------------
        x = torch.randn(args.batch, 3, 16, 112, 112)
        y = torch.randint(0, 101, (args.batch,))
        nets = {}
        for wd in args.widths:
            torch.manual_seed(0)
            net = build_model("mtnet32", num_classes=101, width=wd)
            nets[wd] = (net, torch.optim.AdamW(net.parameters(), lr=1e-3))
        sec = interleaved_medians(nets, x, y, warmup=1, reps=args.model_reps)
        model = {wd: args.batch / s for wd, s in sec.items()}

    print("\nmodel: mtnet32 train step (fwd + CE + bwd + AdamW), batch "
          f"{args.batch}: " + ", ".join(f"width {wd:g} {model[wd]:.2f} clips/s ({sec[wd]:.2f} s/step)" for wd in model))
    head = f"{'loader':>8} {'workers':>7} {'clips/s':>8} {'cache/decode':>12}" + "".join(
        f" {'/ mtnet32 w' + format(wd, 'g'):>16}" for wd in model)
    print(f"\n{head}\n{'-' * len(head)}")
    for src, w in configs:
        r = data[(src, w)]
        speed = f"{r / data[('decode', w)]:.1f}x" if src == "cache" else ""
        note = "  (oversubscribed: > 2 cores)" if w > (os.cpu_count() or 1) else ""
        print(f"{src:>8} {w:>7} {r:>8.1f} {speed:>12}" + "".join(f" {r / model[wd]:>15.1f}x" for wd in model) + note)
    print("\nratio = loader clips/s / model clips/s (>= 1: loading keeps up with training on this CPU; "
          f"load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
