"""actionrec.data.videos.prepare: the pre-decoding cache (write, resume, refuse) and VideoDataset(cache_dir=...).

The videos are written with video_io.write_video into a UCF-101-shaped tree (the fixture approach
of tests/test_data_videos.py): 48 x 64 frames, so a short side of 32 resizes them (to 32 x 43) and the
cache path is compared with the decode path exactly (same resize function on the same frames).
Frame t of video v is flat colour (R, G encode t, B encodes v) plus a white corner square.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import actionrec.data.videos.prepare as prep
from actionrec.cli import prepare_main
from actionrec.data.videos import FrameCache, VideoDataset, build_video_dataset
from actionrec.data.videos.records import VideoRecord
from actionrec.data.videos.spatial import resize_short_side
from actionrec.data.videos.video_io import decode_all, write_video

T, H, W = 24, 48, 64
GOOD = [("ClassA", "v_ClassA_g01_c01", 0), ("ClassA", "v_ClassA_g02_c01", 1), ("ClassB", "v_ClassB_g01_c01", 2),
        ("ClassB", "v_ClassB_g02_c01", 3), ("ClassC", "v_ClassC_g01_c01", 4), ("ClassC", "v_ClassC_g02_c01", 5)]
CORRUPT = "ClassA/v_ClassA_g03_c01.avi"  # random bytes, listed in trainlist01.txt
KW = dict(frames=4, interval=2, size=32, short_side=32)


def make_frames(n=T, vid=0, h=H, w=W):
    t = np.arange(n)
    f = np.zeros((n, h, w, 3), np.uint8)
    f[..., 0] = (16 * (t % 16) + 8)[:, None, None]
    f[..., 1] = (16 * ((t // 16) % 16) + 8)[:, None, None]
    f[..., 2] = 24 + 40 * vid
    f[:, :8, :8] = 255
    return f


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    """6 good videos (4 train, 2 test), one corrupt one (train), one listed but missing (test)."""
    root = tmp_path_factory.mktemp("UCF-101")
    for cls, vid, code in GOOD:
        (root / cls).mkdir(exist_ok=True)
        write_video(root / cls / f"{vid}.avi", make_frames(vid=code), codec="mpeg4", crf=2)
    (root / CORRUPT).write_bytes(np.random.default_rng(1).bytes(4000))
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_bytes(b"1 ClassA\r\n2 ClassB\r\n3 ClassC\r\n")
    label = {"ClassA": 1, "ClassB": 2, "ClassC": 3}
    train = [f"{c}/{v}.avi {label[c]}" for c, v, _ in GOOD[:4]] + [f"{CORRUPT} 1"]
    (ann / "trainlist01.txt").write_bytes("\r\n".join(train).encode() + b"\r\n")
    test = [f"{c}/{v}.avi" for c, v, _ in GOOD[4:]] + ["ClassC/v_ClassC_g09_c01.avi"]
    (ann / "testlist01.txt").write_text("\n".join(test) + "\n")
    return root


@pytest.fixture(scope="module")
def cache(ucf, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache")
    res = prep.prepare_cache("ucf101", ucf, out, short_side=32)
    return out, res


def test_cache_layout_and_frames_equal_the_resized_decode(ucf, cache):
    out, res = cache
    assert res["videos"] == res["new"] == 6 and res["already_cached"] == 0 and res["shards"] == 1
    index = json.loads((out / "index.json").read_text())
    assert index["short_side"] == 32 and index["dataset"] == "ucf101" and index["subsets"] == ["test", "train"]
    e = index["videos"]["v_ClassB_g01_c01"]
    assert (e["num_frames"], e["fps"], e["height"], e["width"], e["path"]) == (24, 25.0, 32, 43, "ClassB/v_ClassB_g01_c01.avi")
    shard = np.load(out / e["shard"], mmap_mode="r")
    assert isinstance(shard, np.memmap) and shard.shape == (6 * 24, 32, 43, 3) and shard.dtype == np.uint8
    ref = decode_all(ucf / "ClassB" / "v_ClassB_g01_c01.avi").permute(0, 3, 1, 2)  # (24, 3, 48, 64)
    ref = resize_short_side(ref, 32).permute(0, 2, 3, 1)  # (24, 32, 43, 3)
    assert np.array_equal(shard[e["offset"]: e["offset"] + 24], ref.numpy())
    assert not list(out.glob("*.tmp"))


def test_dataset_from_cache_gives_the_decoded_clips(ucf, cache):
    out, _ = cache
    for split, extra in (("train", {}), ("val", {}), ("test", {"clips": 2, "crops": 1})):
        dec = build_video_dataset("ucf101", split, data_root=ucf, seed=4, **KW, **extra)
        cac = build_video_dataset("ucf101", split, data_root=ucf, seed=4, cache_dir=out, **KW, **extra)
        good = [i for i in range(len(dec)) if dec.records[dec.video_index(i)].path.name != Path(CORRUPT).name]
        assert len(good) == len(cac) and all(  # the corrupt video is last in the train list: indices align
            dec.records[dec.video_index(i)] == cac.records[cac.video_index(i)] for i in good)
        for ds in (dec, cac):
            ds.set_epoch(1)
        for i in good:
            (x, y), (xc, yc) = dec[i], cac[i]
            assert y == yc and torch.equal(x, xc), (split, i)  # same resize on the same frames: exact
    # a DataLoader with workers reads the memory maps in each worker
    cac = build_video_dataset("ucf101", "val", data_root=ucf, cache_dir=out, **KW)
    # forkserver: workers start from a clean process, not a fork of this long-lived, many-threaded pytest process
    xs = torch.cat([b[0] for b in DataLoader(cac, batch_size=2, num_workers=2, multiprocessing_context="forkserver")])
    assert torch.equal(xs, torch.stack([cac[i][0] for i in range(len(cac))]))


def test_corrupt_and_missing_videos_are_listed_not_dropped(ucf, cache):
    out, res = cache
    lines = [json.loads(ln) for ln in (out / "problems.jsonl").read_text().splitlines()]
    by_name = {Path(p["path"]).name: p for p in lines}
    assert set(by_name) == {"v_ClassA_g03_c01.avi", "v_ClassC_g09_c01.avi"}
    bad = by_name["v_ClassA_g03_c01.avi"]
    assert bad["stage"] == "decode" and bad["reason"].startswith("unreadable: ") and bad["subset"] == "train"
    assert by_name["v_ClassC_g09_c01.avi"]["reason"] == "listed in testlist01.txt but missing on disk"
    assert sorted(Path(p["path"]).name for p in res["problems"]) == sorted(by_name)
    ds = build_video_dataset("ucf101", "train", data_root=ucf, cache_dir=out, **KW)
    assert ds.num_videos == 4 and [Path(p.path).name for p in ds.problems] == ["v_ClassA_g03_c01.avi"]
    line = next(ln for ln in ds.report().splitlines() if "v_ClassA_g03_c01.avi" in ln)
    assert str(out) in line and "prepare: unreadable: " in line
    with pytest.raises(Exception, match="not in the frame cache"):  # strict: a problem at construction raises
        build_video_dataset("ucf101", "train", data_root=ucf, cache_dir=out, strict=True, **KW)


def test_rerun_is_a_no_op(ucf, cache, monkeypatch):
    out, _ = cache
    files = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir() if p.name != ".lock"}
    decoded = []
    real = prep.decode_for_cache
    monkeypatch.setattr(prep, "decode_for_cache", lambda r, **k: decoded.append(r.video_id) or real(r, **k))
    res = prep.prepare_cache("ucf101", ucf, out, short_side=32)
    assert res["new"] == 0 and res["already_cached"] == 6 and res["videos"] == 6
    assert decoded == ["v_ClassA_g03_c01"]  # only the unreadable one is tried again
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir() if p.name != ".lock"} == files


def test_interrupted_then_rerun_completes(ucf, cache, tmp_path, monkeypatch):
    calls = []
    real = prep.decode_for_cache

    def flaky(record, **k):
        calls.append(record.video_id)
        if len(calls) == 4:
            raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the 4th video
        return real(record, **k)

    monkeypatch.setattr(prep, "decode_for_cache", flaky)
    out = tmp_path / "c"
    with pytest.raises(KeyboardInterrupt):  # 1 video (24 x 32 x 43 x 3 = 99 kB) per shard
        prep.prepare_cache("ucf101", ucf, out, short_side=32, shard_size_mb=0.1)
    assert not (out / "index.json").exists()  # never looks complete
    assert sorted(p.name for p in out.glob("shard_*")) == ["shard_00000.json", "shard_00000.npy",
                                                           "shard_00001.json", "shard_00001.npy"]
    assert not list(out.glob("*.tmp"))
    with pytest.raises(FileNotFoundError, match="index.json"):
        FrameCache(out)
    (out / "shard_00002.npy.tmp").write_bytes(b"half a shard")  # as a kill -9 would leave it
    (out / ".index.json.tmp4242").write_bytes(b"{")  # an atomic_write (utils.io) cut short
    (out / ".shard_00002.json.tmp4242").write_bytes(b"{")
    calls.clear()
    monkeypatch.setattr(prep, "decode_for_cache", lambda r, **k: calls.append(r.video_id) or real(r, **k))
    res = prep.prepare_cache("ucf101", ucf, out, short_side=32, shard_size_mb=0.1)
    assert res["already_cached"] == 2 and res["new"] == 4 and res["videos"] == 6 and res["shards"] == 6
    assert "v_ClassA_g01_c01" not in calls and len(calls) == 5  # 4 new + the unreadable one
    assert not list(out.glob("*.tmp*"))
    full = FrameCache(cache[0])
    resumed = FrameCache(out)
    assert set(resumed.videos) == set(full.videos)
    for r in build_video_dataset("ucf101", "val", data_root=ucf, **KW).records:
        assert torch.equal(resumed.read(r, range(24)), full.read(r, range(24)))


def test_mismatched_short_side_and_bad_arguments_raise(ucf, cache, tmp_path):
    out, _ = cache
    with pytest.raises(ValueError, match="--short-side 40.*--short-side 32"):
        prep.prepare_cache("ucf101", ucf, out, short_side=40)
    with pytest.raises(ValueError, match="--dataset"):
        prep.prepare_cache("hmdb51", ucf, out, short_side=32)
    with pytest.raises(ValueError, match="short_side"):
        prep.prepare_cache("ucf101", ucf, tmp_path / "x", short_side=-1)
    with pytest.raises(FileNotFoundError, match="--data-root"):
        prep.prepare_cache("ucf101", tmp_path / "nowhere", tmp_path / "y")
    with pytest.raises(ValueError, match="unknown dataset"):
        prep.prepare_cache("ucf11", ucf, tmp_path / "z")
    with pytest.raises(Exception, match="v_ClassC_g09_c01.avi"):  # strict: the first problem raises
        prep.prepare_cache("ucf101", ucf, tmp_path / "s", short_side=32, strict=True)


def test_cli_summary_workers_and_flat_shards(ucf, tmp_path, capsys):
    """The CLI (2 worker processes) and a flat shard: videos of two sizes in one shard."""
    out = tmp_path / "cli"
    assert prepare_main(["--dataset", "ucf101", "--data-root", str(ucf), "--out", str(out), "--short-side", "32",
                      "--workers", "2", "--no-progress", "--subsets", "train"]) == 0
    text = capsys.readouterr().out
    assert "4 videos cached" in text and "1 video(s) NOT cached" in text and "v_ClassA_g03_c01.avi: unreadable" in text
    assert prepare_main(["--dataset", "ucf101", "--data-root", str(ucf), "--out", str(out), "--short-side", "48",
                      "--no-progress"]) == 2
    assert "--short-side 48" in capsys.readouterr().err

    d = tmp_path / "mixed"
    (d / "a").mkdir(parents=True)
    write_video(d / "a" / "big.mp4", make_frames(vid=1), crf=10)  # 48 x 64 -> 32 x 43
    write_video(d / "a" / "small.mp4", make_frames(vid=2, h=24, w=32), crf=10)  # smaller: stored as is
    res = prep.prepare_cache("folder", d, tmp_path / "flat", short_side=32)
    index = json.loads((tmp_path / "flat" / "index.json").read_text())
    (shard,) = index["shards"].values()
    assert shard["layout"] == "flat" and res["videos"] == 2
    assert (index["videos"]["a/small"]["height"], index["videos"]["a/small"]["width"]) == (24, 32)
    for name in ("big", "small"):
        rec = VideoRecord(path=d / "a" / f"{name}.mp4", label=0, video_id=f"a/{name}")
        dec = VideoDataset([rec], ["a"], mode="val", frames=4, size=24, short_side=32)
        cac = VideoDataset([rec], ["a"], mode="val", frames=4, size=24, short_side=32, cache_dir=tmp_path / "flat")
        assert torch.equal(dec[0][0], cac[0][0])  # small: upsampled at read time from the same frames


def test_time_window_is_stored_alone(tmp_path):
    """An untrimmed Kinetics video read from time_start to time_end: only the window is stored."""
    k = tmp_path / "k"
    (k / "val" / "jump").mkdir(parents=True)
    write_video(k / "val" / "jump" / "aaa.mp4", make_frames(48, vid=1, h=32, w=32), crf=10)  # 1.92 s
    (k / "val.csv").write_text("label,youtube_id,time_start,time_end,split\njump,aaa,1,1.5,val\n")
    res = prep.prepare_cache("kinetics", k, tmp_path / "c", subsets=["val"], short_side=32)
    e = json.loads((tmp_path / "c" / "index.json").read_text())["videos"]["aaa_000001_000001"]
    assert res["frames"] == e["frames"] == 13 and e["first_frame"] == 25 and e["num_frames"] == 48
    kw = dict(frames=3, interval=1, size=32, short_side=32)
    dec = build_video_dataset("kinetics", "val", data_root=k, **kw)
    cac = build_video_dataset("kinetics", "val", data_root=k, cache_dir=tmp_path / "c", **kw)
    assert torch.equal(dec[0][0], cac[0][0])
    with pytest.raises(Exception, match="cache holds frames 25..37"):
        cac.cache.read(cac.records[0], [0])


def test_file_a_frame_short_of_its_header_is_cached_with_the_tail_held(tmp_path):
    """An AVI cut before its last packet (header: 24 frames, 23 decode): cached as the dataset reads it."""
    import av

    d = tmp_path / "cut"
    (d / "a").mkdir(parents=True)
    src = tmp_path / "full.avi"
    write_video(src, make_frames(vid=2), codec="mpeg4", crf=2)
    with av.open(str(src)) as c:
        last = max(p.pos for p in c.demux(video=0) if p.size)
    (d / "a" / "cut.avi").write_bytes(src.read_bytes()[:last])
    res = prep.prepare_cache("folder", d, tmp_path / "c", short_side=32)
    (p,) = res["problems"]
    assert p["stage"] == "short" and "decoding stops 1 early" in p["reason"] and res["videos"] == 1
    rec = VideoRecord(path=d / "a" / "cut.avi", label=0, video_id="a/cut")
    kw = dict(mode="val", frames=12, interval=2, size=32, short_side=32)
    dec, cac = VideoDataset([rec], ["a"], **kw), VideoDataset([rec], ["a"], cache_dir=tmp_path / "c", **kw)
    assert cac.problems == [] and torch.equal(dec[0][0], cac[0][0])  # frame 23 holds frame 22 in both
    assert "decoding stops after 23" in dec.short_videos[0].reason


def test_dataset_warns_when_its_short_side_differs_from_the_caches(ucf, cache, caplog):
    import logging

    out, _ = cache  # prepared with short_side=32
    with caplog.at_level(logging.WARNING, logger="actionrec.data.videos"):
        build_video_dataset("ucf101", "val", data_root=ucf, cache_dir=out, **KW)
    assert not [r for r in caplog.records if "resized a second time" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="actionrec.data.videos"):
        build_video_dataset("ucf101", "val", data_root=ucf, cache_dir=out, **{**KW, "short_side": 40})
    assert any("--short-side 40" in r.getMessage() for r in caplog.records)
