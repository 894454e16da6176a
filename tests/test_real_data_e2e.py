"""End to end on a real (tiny) video dataset: a UCF-101-shaped tree of H.264 videos written here,
one of them corrupt, trained with ``python -m actionrec.train``'s entry point and tested with
``python -m actionrec.evaluate``'s multi-view path. Checks that the corrupt video is reported by
path (never dropped silently, never crashing the run) and that the views are averaged per video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from actionrec import cli
from actionrec.data.videos.video_io import write_video

CLASSES = ["Jump", "Wave", "Clap"]


def _frames(cls: int, n: int = 20, h: int = 36, w: int = 44) -> np.ndarray:
    """A bright bar moving down (Jump), right (Wave) or blinking (Clap): learnable from motion."""
    f = np.full((n, h, w, 3), 40, np.uint8)
    for t in range(n):
        if cls == 0:
            f[t, (t * 2) % (h - 6): (t * 2) % (h - 6) + 6, :, :] = 220
        elif cls == 1:
            f[t, :, (t * 2) % (w - 6): (t * 2) % (w - 6) + 6, :] = 220
        elif t % 4 < 2:
            f[t, h // 3: 2 * h // 3, w // 3: 2 * w // 3, :] = 220
    return f


@pytest.fixture(scope="module")
def ucf_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("UCF-101")
    train, test = [], []
    for c, name in enumerate(CLASSES):
        (root / name).mkdir()
        for g in range(1, 5):
            rel = f"{name}/v_{name}_g{g:02d}_c01.avi"
            write_video(root / rel, _frames(c), codec="mpeg4")
            (train if g <= 3 else test).append(rel)
    bad = f"{CLASSES[0]}/v_{CLASSES[0]}_g09_c01.avi"
    (root / bad).write_bytes(np.random.default_rng(0).bytes(3000))  # unreadable
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(CLASSES)))
    label = {n: i + 1 for i, n in enumerate(CLASSES)}
    (ann / "trainlist01.txt").write_text("".join(f"{r} {label[r.split('/')[0]]}\n" for r in train + [bad]))
    (ann / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    return root, bad


def test_train_cli_and_multi_view_evaluate_on_a_ucf101_tree(ucf_tree, tmp_path, capsys):
    root, bad = ucf_tree
    run = tmp_path / "run"
    argv = ["--model", "c3d_small", "--dataset", "ucf101", "--data-root", str(root), "--split", "1",
            "--data-kw", "frames=8", "--data-kw", "interval=2", "--data-kw", "size=32", "--data-kw", "short_side=36",
            "--data-kw", "clips=2", "--data-kw", "crops=1",
            "--epochs", "2", "--batch-size", "4", "--lr", "0.003", "--run-dir", str(run), "--no-progress"]
    assert cli.train_main(argv) == 0
    final = json.loads((run / "final.json").read_text())
    assert final["finished"] and final["num_classes"] == 3
    # fit's own test is video level: 2 clips per test video (crops=1), scores averaged per video
    assert final["test"]["videos"] == 3 and final["test"]["views_per_video"] == 2
    # the corrupt video is reported by path and reason, and counted in the epoch lines
    bad_lines = [json.loads(line) for line in (run / "bad_videos.jsonl").read_text().splitlines()]
    assert any(bad in line["path"] for line in bad_lines), bad_lines
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line)["kind"] == "epoch"]
    assert len(epochs) == 2 and all(e["bad_videos"] >= 1 for e in epochs)

    # multi-view test: 3 test videos per class, 2 clips x 3 crops each, scores averaged per video
    assert cli.evaluate_main(["--run-dir", str(run), "--clips", "2", "--crops", "3", "--device", "cpu"]) == 0
    out = json.loads((run / "eval_2x3.json").read_text())
    assert out["videos"] == 3 and out["views"] == 18 and out["views_per_video"] == 6
    assert sum(map(sum, out["confusion"])) == 3
    assert out["bad_videos"] == 0  # the test list holds no broken video
    assert 0.0 <= out["top1"] <= 1.0 and out["top5"] == 1.0  # 3 classes: top-5 always right
    # resuming the finished run does not train again
    assert cli.train_main(["--resume", str(run), "--no-progress"]) == 0
    assert "not training again" in capsys.readouterr().out


def _collect(_worker_id):
    import gc

    gc.collect()  # frees, in the worker, the decoder the parent left as garbage


def test_dataloader_workers_do_not_hang_on_a_decoder_left_in_the_parent(ucf_tree, tmp_path):
    """Regression: a decoder still alive (as uncollected garbage) in the parent when DataLoader
    workers fork was freed in a worker, which joined FFmpeg slice threads that do not exist after
    fork and hung forever. Decoders are single-threaded now; ``timeout`` turns a hang into a failure."""
    import gc

    import torch

    from actionrec.data import build_dataset
    from actionrec.data.videos.video_io import _open

    root, _ = ucf_tree
    h264 = tmp_path / "h264.mp4"  # H.264 decoders start a slice-thread pool by default
    write_video(h264, np.repeat(_frames(1, n=12, h=240, w=320), 1, axis=0), codec="h264")
    container, stream = _open(str(h264))
    next(container.decode(stream))
    cycle = {"container": container, "stream": stream}
    cycle["self"] = cycle  # only the cycle collector can free it
    del container, stream, cycle
    gc.disable()
    try:
        ds = build_dataset("ucf101", "val", data_root=str(root), frames=4, size=32, short_side=36)
        loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, worker_init_fn=_collect, timeout=60)
        assert sum(len(y) for _, y in loader) == len(ds)
    finally:
        gc.enable()
