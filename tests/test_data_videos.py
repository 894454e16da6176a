"""Video decoding (actionrec.data.videos.video_io), sampling, spatial transforms and the real-video
datasets (actionrec.data.videos.dataset, .build).

Every video here is written with PyAV (video_io.write_video) once per module: tiny (24 frames of
32x40, a few ms each), in the containers/codecs the datasets ship (UCF-101/HMDB-51: MPEG-4 in AVI;
Kinetics: H.264 in mp4; SSv2: VP9 in webm). Frame t of video v is flat colour: R and G encode t
(R = 16 (t mod 16) + 8, G = 16 (t // 16) + 8) and B encodes v, plus a white 8x8 square in the top-left
corner (so crops and flips are visible). Decoded frames are identified by their colour (codec error
is a few levels, codes are 16 apart), and compared exactly against a full sequential decode.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import actionrec.data.videos.video_io as vio
from actionrec.data import build_dataset
from actionrec.data.videos import VideoDataset, build_video_dataset
from actionrec.data.videos.annotations import ucf101
from actionrec.data.videos.records import VideoRecord
from actionrec.data.videos.sampling import clip_indices, random_clip_start, tsn_indices, uniform_clip_starts
from actionrec.data.videos.spatial import crop_offsets, denormalize_clip, normalize_clip, resize_short_side
from actionrec.data.videos.video_io import VideoInfo, VideoReadError, decode_all, probe, read_frames, write_video

T, H, W = 24, 32, 40
B_CODES = [24 + 40 * k for k in range(6)]  # blue channel: which video


def make_frames(n=T, vid=0, h=H, w=W):
    t = np.arange(n)
    f = np.zeros((n, h, w, 3), np.uint8)
    f[..., 0] = (16 * (t % 16) + 8)[:, None, None]
    f[..., 1] = (16 * ((t // 16) % 16) + 8)[:, None, None]
    f[..., 2] = B_CODES[vid % len(B_CODES)]
    f[:, :8, :8] = 255
    return f


def frame_ids(frames_thw3):
    """Decode (frame index, video code) from the flat region of uint8/float frames (T, H, W, 3)."""
    f = torch.as_tensor(frames_thw3).float()
    m = f[:, f.shape[1] // 2:, f.shape[2] // 2:].mean((1, 2))  # (T, 3): bottom-right, away from the square
    t = torch.round((m[:, 0] - 8) / 16) + 16 * torch.round((m[:, 1] - 8) / 16)
    v = torch.round((m[:, 2] - 24) / 40)
    return t.long().tolist(), v.long().tolist()


def clip_to_frames(clip, mean=(0.45,) * 3, std=(0.225,) * 3):
    """(3, T, h, w) normalised -> (T, h, w, 3) in 0..255."""
    return (denormalize_clip(clip, mean, std) * 255).permute(1, 2, 3, 0)


def mp4_faststart(path, frames):
    """An mp4 with its moov atom first (so a truncated copy still opens)."""
    import av

    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("h264", rate=25, options={"crf": "10"})
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def zero_frame_avi(path):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        c.start_encoding()


def audio_only(path):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        fr.sample_rate = 16000
        for p in s.encode(fr):
            c.mux(p)
        for p in s.encode():
            c.mux(p)


def cut_last_packet(src, dst):
    """Copy ``src`` without the bytes of its last video packet (the header still counts it)."""
    import av

    with av.open(str(src)) as c:
        last = max(p.pos for p in c.demux(video=0) if p.size)
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[:last])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Single videos for the video_io tests."""
    d = tmp_path_factory.mktemp("vio")
    out = {}
    write_video(d / "a.mp4", make_frames(), crf=10)
    write_video(d / "b.webm", make_frames(), codec="libvpx-vp9", crf=10)
    write_video(d / "c.avi", make_frames(), codec="mpeg4", crf=2)
    long = make_frames(120)
    write_video(d / "long.mp4", long, crf=10, gop=12, options={"bf": "2"})
    write_video(d / "long.webm", long, codec="libvpx-vp9", crf=10, gop=12)
    write_video(d / "long.avi", long, codec="mpeg4", crf=2, gop=12, options={"bf": "2"})
    mp4_faststart(d / "fs.mp4", make_frames())
    data = (d / "fs.mp4").read_bytes()
    (d / "half.mp4").write_bytes(data[: len(data) // 2])
    mp4_faststart(d / "fs_long.mp4", long)
    data = (d / "fs_long.mp4").read_bytes()
    (d / "half_long.mp4").write_bytes(data[: len(data) // 2])
    (d / "random.mp4").write_bytes(np.random.default_rng(0).bytes(3000))
    (d / "empty.mp4").write_bytes(b"")
    zero_frame_avi(d / "zero.avi")
    audio_only(d / "audio.mp4")
    cut_last_packet(d / "c.avi", d / "cut.avi")
    for k in ("a.mp4", "b.webm", "c.avi", "long.mp4", "long.webm", "long.avi", "half.mp4", "random.mp4",
              "empty.mp4", "zero.avi", "audio.mp4", "cut.avi", "half_long.mp4"):
        out[k] = str(d / k)
    out["missing"] = str(d / "missing.mp4")
    return out


# ------------------------------------------------------------------------------------------------
# video_io
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.mp4", "b.webm", "c.avi"])
def test_probe_and_frames_equal_written(files, name):
    info = probe(files[name])
    assert (info.num_frames, info.fps, info.width, info.height) == (T, 25.0, W, H)
    assert info.duration == pytest.approx(T / 25)
    full = decode_all(files[name])
    assert full.dtype == torch.uint8 and full.shape == (T, H, W, 3)
    written = torch.from_numpy(make_frames()).float()
    err = (full.float()[:, 16:, 16:].mean((1, 2)) - written[:, 16:, 16:].mean((1, 2))).abs().max()
    assert err < 8, f"codec error {err} on the flat area"
    idx = [3, 17, 3, 0, 23]  # any order, repeats
    got = read_frames(files[name], idx)
    assert got.shape == (5, H, W, 3) and got.dtype == torch.uint8
    assert frame_ids(got)[0] == idx


class _Counting:
    """Wraps a PyAV container and counts the frames it decodes."""

    def __init__(self, container, counter):
        self._c, self._n = container, counter

    def decode(self, *a, **k):
        for f in self._c.decode(*a, **k):
            self._n[0] += 1
            yield f

    def __getattr__(self, name):
        return getattr(self._c, name)


@pytest.mark.parametrize("name", ["long.mp4", "long.webm", "long.avi"])
def test_seek_path_equals_sequential_decode_and_stops_early(files, name, monkeypatch):
    path = files[name]
    full = decode_all(path)  # (120, H, W, 3), no seeking
    assert frame_ids(full)[0] == list(range(120))
    info = probe(path)
    assert info.num_frames == 120 and info.start_pts is not None
    rng = np.random.default_rng(1)
    cases = [[0], [119], [60, 61, 62], [100, 4, 100], list(range(30, 62, 2)), rng.integers(0, 120, 16).tolist()]
    for idx in cases:
        assert torch.equal(read_frames(path, idx), full[idx]), idx
        assert torch.equal(read_frames(path, idx, info=info), full[idx]), idx
    decoded = [0]
    real_open = vio._open
    monkeypatch.setattr(vio, "_open", lambda p: (lambda c, s: (_Counting(c, decoded), s))(*real_open(p)))
    read_frames(path, [96, 98], info=info)  # keyframes every 12: seek to 96 (or one GOP earlier)
    assert decoded[0] <= 2 * 12 + 3, decoded[0]
    decoded[0] = 0
    read_frames(path, [1, 2], info=info)  # stops after frame 2 (+ decoder delay)
    assert decoded[0] <= 6, decoded[0]


def test_seek_landing_late_falls_back_to_a_sequential_decode(files, monkeypatch):
    """A container whose seek lands after the wanted frame (coarse index): same frames, from the start."""
    path = files["long.mp4"]
    full = decode_all(path)
    info = probe(path)

    class LateSeek:
        def __init__(self, c):
            self._c = c

        def seek(self, offset, **k):  # land 4 GOPs later than asked
            return self._c.seek(offset + 48 * 512, **k)

        def __getattr__(self, name):
            return getattr(self._c, name)

    real_open = vio._open
    opens = []
    monkeypatch.setattr(vio, "_open", lambda p: (opens.append(p), (lambda c, s: (LateSeek(c), s))(*real_open(p)))[1])
    assert torch.equal(read_frames(path, [50, 52, 40], info=info), full[[50, 52, 40]])
    assert len(opens) == 2  # the first container overshot; the second decoded from frame 0


def test_read_errors_name_path_and_reason(files):
    cases = {
        "missing": "missing",
        "empty.mp4": "empty file (0 bytes)",
        "random.mp4": "unreadable: ",
        "audio.mp4": "no video stream",
        "zero.avi": "zero frames",
    }
    for key, reason in cases.items():
        with pytest.raises(VideoReadError) as e:
            probe(files[key])
        assert e.value.path == files[key] and e.value.reason.startswith(reason)
        assert str(e.value) == f"{files[key]}: {e.value.reason}"
    # half of a faststart mp4 (index first): opens, early frames read, later ones are cut off
    path = files["half_long.mp4"]
    assert probe(path).num_frames == 120
    assert frame_ids(read_frames(path, [2, 5]))[0] == [2, 5]
    with pytest.raises(VideoReadError, match="(truncated|corrupt): decod") as e:
        read_frames(path, [110])
    assert e.value.path == path and 0 <= e.value.last_index < 110
    with pytest.raises(VideoReadError, match="(truncated|corrupt): decod"):  # tiny: even frame 0 is cut
        read_frames(files["half.mp4"], [0])
    with pytest.raises(VideoReadError, match=r"truncated: decoded 0 of 1 frames"):
        read_frames(files["cut.avi"], [23])
    with pytest.raises(ValueError, match="out of range"):
        read_frames(files["a.mp4"], [24])
    with pytest.raises(ValueError, match="empty"):
        read_frames(files["a.mp4"], [])
    with pytest.raises(ValueError, match="even"):
        write_video(Path(files["a.mp4"]).with_name("odd.mp4"), np.zeros((2, 31, 40, 3), np.uint8))


def test_video_read_error_survives_pickling_and_worker_reraise():
    import pickle

    e = pickle.loads(pickle.dumps(VideoReadError("/x/y.avi", "zero frames", last_index=3)))
    assert (e.path, e.reason, e.last_index, str(e)) == ("/x/y.avi", "zero frames", 3, "/x/y.avi: zero frames")
    assert isinstance(VideoReadError("Caught VideoReadError in DataLoader worker ..."), VideoReadError)


# ------------------------------------------------------------------------------------------------
# Pure sampling / transform functions
# ------------------------------------------------------------------------------------------------


def test_temporal_sampling_functions():
    assert clip_indices(24, frames=4, interval=2, start=3).tolist() == [3, 5, 7, 9]
    assert clip_indices(5, frames=4, interval=2, start=0).tolist() == [0, 2, 4, 4]  # clamp: last frame holds
    assert clip_indices(5, frames=4, interval=2, start=0, out_of_bound="loop").tolist() == [0, 2, 4, 1]
    assert uniform_clip_starts(24, frames=4, interval=2, clips=1) == [9]  # span 7, 18 starts 0..17: 9..15 is centred
    assert uniform_clip_starts(24, frames=4, interval=2, clips=3) == [3, 9, 15]
    assert uniform_clip_starts(5, frames=4, interval=2, clips=2) == [0, 0]
    assert [random_clip_start(24, frames=4, interval=2, u=u) for u in (0.0, 0.5, 0.999999)] == [0, 9, 17]
    assert tsn_indices(24, 8, np.full(8, 0.5)).tolist() == [1, 4, 7, 10, 13, 16, 19, 22]  # segment centres
    assert tsn_indices(24, 8, np.zeros(8)).tolist() == list(range(0, 24, 3))
    u = np.random.default_rng(0).random(8)
    idx = tsn_indices(24, 8, u)
    assert all(3 * j <= i < 3 * (j + 1) for j, i in enumerate(idx))  # one frame in each segment
    assert tsn_indices(3, 6, np.full(6, 0.5)).tolist() == [0, 0, 1, 1, 2, 2]  # short: in order, repeated


def test_spatial_functions():
    x = torch.arange(2 * 3 * 6 * 8, dtype=torch.float32).reshape(2, 3, 6, 8)  # (T, 3, H, W)
    assert resize_short_side(x, 6) is x
    y = resize_short_side(x, 3)
    assert y.shape == (2, 3, 3, 4)
    flat = torch.full((1, 3, 10, 20), 7.0)
    assert torch.allclose(resize_short_side(flat, 5), torch.full((1, 3, 5, 10), 7.0))
    u8 = torch.randint(0, 256, (2, 24, 30, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    r8 = resize_short_side(u8.permute(0, 3, 1, 2), 12)  # uint8 path (channels-last kernel)
    rf = resize_short_side(u8.permute(0, 3, 1, 2).float(), 12)
    assert r8.dtype == torch.uint8 and r8.shape == (2, 3, 12, 15) and (r8.float() - rf).abs().max() <= 1.0
    assert crop_offsets(32, 40, 32) == (0, 4)
    assert [crop_offsets(32, 40, 32, crop=c, crops=3) for c in range(3)] == [(0, 0), (0, 4), (0, 8)]
    assert [crop_offsets(40, 32, 32, crop=c, crops=3) for c in range(3)] == [(0, 0), (4, 0), (8, 0)]
    clip = torch.full((3, 2, 4, 4), 127.5)
    out = normalize_clip(clip, (0.5, 0.25, 0.0), (0.5, 0.25, 1.0))
    assert torch.allclose(out[:, 0, 0, 0], torch.tensor([0.0, 1.0, 0.5]))
    assert torch.allclose(denormalize_clip(out, (0.5, 0.25, 0.0), (0.5, 0.25, 1.0)) * 255, clip)


# ------------------------------------------------------------------------------------------------
# Dataset trees
# ------------------------------------------------------------------------------------------------

GOOD = [("ClassA", "v_ClassA_g01_c01", 0), ("ClassA", "v_ClassA_g02_c01", 1), ("ClassB", "v_ClassB_g01_c01", 2),
        ("ClassB", "v_ClassB_g02_c01", 3), ("ClassC", "v_ClassC_g01_c01", 4)]
BAD = {  # file -> how it is broken
    "ClassA/v_ClassA_g03_c01.avi": "random",
    "ClassB/v_ClassB_g03_c01.avi": "half",
    "ClassC/v_ClassC_g03_c01.avi": "empty",
    "ClassC/v_ClassC_g04_c01.avi": "zero",
}


@pytest.fixture(scope="module")
def ucf(tmp_path_factory, files):
    """UCF-101-shaped tree: 5 good videos, 4 broken ones, a short one, a missing file, an unknown class."""
    root = tmp_path_factory.mktemp("UCF-101")
    for cls, vid, code in GOOD:
        (root / cls).mkdir(exist_ok=True)
        write_video(root / cls / f"{vid}.avi", make_frames(vid=code), codec="mpeg4", crf=2)
    write_video(root / "ClassB" / "v_ClassB_g05_c01.avi", make_frames(5, vid=5), codec="mpeg4", crf=2)  # short
    for rel, kind in BAD.items():
        p = root / rel
        if kind == "random":
            p.write_bytes(np.random.default_rng(1).bytes(4000))
        elif kind == "half":
            p.write_bytes(Path(files["half.mp4"]).read_bytes())
        elif kind == "empty":
            p.write_bytes(b"")
        else:
            zero_frame_avi(p)
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_bytes(b"1 ClassA\r\n2 ClassB\r\n3 ClassC\r\n")
    label = {"ClassA": 1, "ClassB": 2, "ClassC": 3}
    train = [f"{c}/{v}.avi {label[c]}" for c, v, _ in GOOD[:4]]
    train += ["ClassA/v_ClassA_g03_c01.avi 1", "ClassB/v_ClassB_g03_c01.avi 2", "ClassC/v_ClassC_g03_c01.avi 3",
              "ClassC/v_ClassC_g04_c01.avi 3", "ClassB/v_ClassB_g05_c01.avi 2", "ClassA/v_ClassA_g09_c01.avi 1",
              "ClassZ/v_ClassZ_g01_c01.avi 4"]
    (ann / "trainlist01.txt").write_bytes("\r\n".join(train).encode() + b"\r\n")
    (ann / "testlist01.txt").write_text("\n".join(f"{c}/{v}.avi" for c, v, _ in GOOD) + "\n")
    return root


def kw(**extra):
    base = dict(frames=4, interval=2, size=32, short_side=32)
    base.update(extra)
    return base


def test_val_clip_shapes_indices_and_centre_crop_exact(ucf):
    ds = build_video_dataset("ucf101", "val", data_root=ucf, **kw())
    assert len(ds) == 5 and ds.num_classes == 3 and ds.classes == ["ClassA", "ClassB", "ClassC"]
    assert ds.problems == [] and type(ds).cacheable is False
    clip, label = ds[2]
    assert clip.shape == (3, 4, 32, 32) and clip.dtype == torch.float32 and label == 1 and isinstance(label, int)
    ref = decode_all(ds.records[2].path)  # (24, 32, 40, 3)
    idx = [9, 11, 13, 15]  # centre clip: start floor((24 - 7 + 1) / 2)
    expect = normalize_clip(ref[idx][:, :, 4:36].permute(3, 0, 1, 2).float(), (0.45,) * 3, (0.225,) * 3)
    assert torch.allclose(clip, expect, atol=1e-5)  # no resize (short side 32): exact centre crop
    t, v = frame_ids(clip_to_frames(clip))
    assert t == idx and v == [2] * 4
    # normalisation statistics are the given ones
    c2, _ = build_video_dataset("ucf101", "val", data_root=ucf, **kw(mean=(0, 0, 0), std=(1, 1, 1)))[2]
    assert torch.allclose(c2 * 255, ref[idx][:, :, 4:36].permute(3, 0, 1, 2).float(), atol=1e-4)


def test_resize_short_side_and_sizes(ucf):
    ds = build_video_dataset("ucf101", "val", data_root=ucf, **kw(size=16, short_side=16))
    clip, _ = ds[0]
    assert clip.shape == (3, 4, 16, 16)
    assert frame_ids(clip_to_frames(clip)) == ([9, 11, 13, 15], [0] * 4)
    with pytest.raises(ValueError, match="short_side"):
        build_video_dataset("ucf101", "val", data_root=ucf, **kw(size=64, short_side=32))


def test_train_randomness_flip_and_determinism(ucf):
    make = lambda **k: build_video_dataset("ucf101", "train", data_root=ucf, seed=3, **kw(size=24, **k))  # noqa: E731
    a, b, nf = make(), make(), make(flip=False)
    good = [i for i, r in enumerate(a.records) if "g0" in r.video_id and r.video_id[-6:-4] in ("01", "02")]
    flipped = same = 0
    for e in (0, 1):
        for ds in (a, b, nf):
            ds.set_epoch(e)
        for i in good:
            x, y = a[i]
            assert torch.equal(x, b[i][0]) and y == b[i][1]  # same (seed, epoch, index): same clip
            z = nf[i][0]
            if torch.equal(x, z):
                same += 1
            else:
                assert torch.equal(x, z.flip(-1))
                flipped += 1
    assert flipped and same
    a.set_epoch(0)
    e0 = [a[i][0] for i in good]
    a.set_epoch(1)
    assert any(not torch.equal(x, a[i][0]) for x, i in zip(e0, good))  # a new epoch draws again
    t, _ = frame_ids(clip_to_frames(nf[0][0]))
    assert np.all(np.diff(t) == 2) and 0 <= t[0] <= 17  # interval 2, random start


def test_short_video_clamp_or_loop_and_scale_jitter(ucf):
    ann = ucf101(ucf, subset="train")
    short = [r for r in ann.records if r.path.name == "v_ClassB_g05_c01.avi"]
    clamp = VideoDataset(short, ann.classes, mode="val", **kw())
    loop = VideoDataset(short, ann.classes, mode="val", out_of_bound="loop", **kw())
    assert frame_ids(clip_to_frames(clamp[0][0])) == ([0, 2, 4, 4], [5] * 4)  # the last frame holds
    assert frame_ids(clip_to_frames(loop[0][0]))[0] == [0, 2, 4, 1]  # wraps around
    assert clamp.short_videos[0].reason == "short: 5 frames < 7 needed (indices clamped)"
    jit = VideoDataset(ann.records[:1], ann.classes, mode="train", seed=0, **kw(size=24, short_side=[24, 40]))
    clips = []
    for e in range(4):
        jit.set_epoch(e)
        clips.append(jit[0][0])
    assert all(c.shape == (3, 4, 24, 24) for c in clips)
    with pytest.raises(ValueError, match="label 7"):
        VideoDataset([VideoRecord(path=short[0].path, label=7, video_id="x")], ann.classes)


def test_test_mode_views_grouping_and_crops(ucf):
    ds = build_video_dataset("ucf101", "test", data_root=ucf, **kw(clips=3))
    assert ds.views_per_video == 9 and len(ds) == 45
    assert [ds.video_index(i) for i in (0, 8, 9, 44)] == [0, 0, 1, 4]
    ref = decode_all(ds.records[1].path)
    starts = uniform_clip_starts(24, frames=4, interval=2, clips=3)
    for w in range(9):
        clip, label = ds[9 + w]
        k, c = divmod(w, 3)
        idx = clip_indices(24, frames=4, interval=2, start=starts[k]).tolist()
        left = [0, 4, 8][c]
        expect = normalize_clip(ref[idx][:, :, left:left + 32].permute(3, 0, 1, 2).float(), (0.45,) * 3, (0.225,) * 3)
        assert torch.allclose(clip, expect, atol=1e-5) and label == 0
    d10 = build_dataset("ucf101", "test", data_root=str(ucf), **kw())
    assert d10.views_per_video == 30  # default 10 clips x 3 crops
    with pytest.raises(ValueError, match="test views"):
        VideoDataset(ds.records, ds.classes, mode="train", clips=2)


def test_tsn_segments(ucf):
    ds = build_video_dataset("ucf101", "val", data_root=ucf, **kw(segments=8))
    clip, _ = ds[0]
    assert clip.shape == (3, 8, 32, 32)
    assert frame_ids(clip_to_frames(clip))[0] == [1, 4, 7, 10, 13, 16, 19, 22]
    tr = build_video_dataset("ucf101", "train", data_root=ucf, seed=1, **kw(segments=8, flip=False))
    t = frame_ids(clip_to_frames(tr[0][0]))[0]
    assert all(3 * j <= i < 3 * (j + 1) for j, i in enumerate(t))


def test_bad_input_reported_by_path_and_reason(ucf, caplog):
    with caplog.at_level("WARNING", logger="actionrec.data.videos"):
        ds = build_video_dataset("ucf101", "train", data_root=ucf, **kw())
    assert "3 problem(s)" in caplog.text  # logged once at construction
    probs = {Path(p.path).name: p.reason for p in ds.problems}
    assert probs == {
        "v_ClassA_g09_c01.avi": "listed in trainlist01.txt but missing on disk",
        "v_ClassZ_g01_c01.avi": "unknown class 'ClassZ' in trainlist01.txt line 11",
        "v_ClassC_g03_c01.avi": "empty file (0 bytes)",
    }
    assert ds.num_videos == 8  # 4 good + random + half + zero-frame + short
    names = [r.path.name for r in ds.records]
    for i in range(len(ds)):
        clip, label = ds[i]
        assert clip.shape == (3, 4, 32, 32) and torch.isfinite(clip).all()
        served = ds.records[i] if not any(ds.records[i].path.name == Path(f.path).name for f in ds.failures) else None
        if served is not None:
            assert label == served.label
    failed = {Path(f.path).name: f.reason for f in ds.failures}
    assert failed["v_ClassA_g03_c01.avi"].startswith("unreadable: ")
    assert failed["v_ClassC_g04_c01.avi"] == "zero frames"
    assert failed["v_ClassB_g03_c01.avi"].startswith(("truncated: decoded", "corrupt: decoding failed"))
    assert [Path(p.path).name for p in ds.short_videos] == ["v_ClassB_g05_c01.avi"]
    assert "5 frames < 7 needed" in ds.short_videos[0].reason
    rep = ds.report()
    for rec_name in list(probs) + list(failed) + ["v_ClassB_g05_c01.avi"]:
        line = next(ln for ln in rep.splitlines() if rec_name in ln)
        assert str(ucf) in line
    for reason in list(probs.values()) + list(failed.values()):
        assert reason in rep
    # a failed item is served by the next readable video, with that video's label
    i_bad = names.index("v_ClassA_g03_c01.avi")
    clip, label = ds[i_bad]
    nxt = ds.records[(i_bad + 1) % ds.num_videos]
    assert label == nxt.label
    assert ds.failure_count() == len(ds.failures) and ds.failure_count(unique=True) == 3


def test_failures_file_counts_across_two_workers(ucf, tmp_path):
    f0, f2 = tmp_path / "w0.jsonl", tmp_path / "w2.jsonl"
    d0 = build_video_dataset("ucf101", "train", data_root=ucf, failures_file=f0, seed=5, **kw())
    d2 = build_video_dataset("ucf101", "train", data_root=ucf, failures_file=f2, seed=5, **kw())
    d0.set_epoch(2)
    d2.set_epoch(2)
    b0 = list(DataLoader(d0, batch_size=3, num_workers=0))
    b2 = list(DataLoader(d2, batch_size=3, num_workers=2))
    for (x0, y0), (x2, y2) in zip(b0, b2):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)  # same clips whatever the worker count
    assert d2.failures == []  # the workers' copies recorded them, the file has them
    lines = [json.loads(ln) for ln in f2.read_text().splitlines()]
    fails = [e for e in lines if e["kind"] == "failure"]
    assert len({e["pid"] for e in fails}) >= 1 and all(e["epoch"] == 2 for e in lines)
    # item 4 (random bytes) tries 4, 5, 6 before the short video 7; item 5 tries 5, 6; item 6 tries 6
    assert d2.failure_count() == d0.failure_count() == len(fails) == 6
    assert d2.failure_count(unique=True) == 3
    assert d2.failure_count(epoch=2) == 6 and d2.failure_count(epoch=1) == 0
    assert any(e["kind"] == "short" for e in lines)
    assert "v_ClassB_g05_c01.avi" in d2.report() and "v_ClassA_g03_c01.avi" in d2.report()


def test_strict_mode_raises(ucf):
    with pytest.raises(VideoReadError) as e:
        build_video_dataset("ucf101", "train", data_root=ucf, strict=True, **kw())
    assert "v_ClassA_g09_c01.avi" in e.value.path and "missing on disk" in str(e.value)
    ann = ucf101(ucf, subset="train")
    bad = [r for r in ann.records if r.path.name == "v_ClassA_g03_c01.avi"]
    ds = VideoDataset(bad + ann.records[:1], ann.classes, mode="val", strict=True, **kw())
    with pytest.raises(VideoReadError) as e:
        ds[0]
    assert e.value.path == str(bad[0].path) and e.value.reason.startswith("unreadable")


def test_scan_finds_unreadable_and_short_videos_at_construction(ucf):
    ds = build_video_dataset("ucf101", "train", data_root=ucf, scan=True, **kw())
    probs = {Path(p.path).name: p.reason for p in ds.problems}
    assert probs["v_ClassA_g03_c01.avi"].startswith("unreadable: ")
    assert probs["v_ClassC_g04_c01.avi"] == "zero frames"
    assert probs["v_ClassB_g03_c01.avi"].startswith("corrupt: ")  # the tiny truncated file: frame 0 is cut
    assert ds.num_videos == 5 and [Path(p.path).name for p in ds.short_videos] == ["v_ClassB_g05_c01.avi"]
    assert all(ds[i][0].shape == (3, 4, 32, 32) for i in range(len(ds))) and ds.failures == []


def test_hmdb51_tree_builds_and_reads(tmp_path):
    root = tmp_path / "hmdb51"
    (root / "testTrainMulti_7030_splits").mkdir(parents=True)
    for c, code in (("brush_hair", 1), ("cartwheel", 2)):
        (root / c).mkdir()
        write_video(root / c / f"{c}_0.avi", make_frames(vid=code), codec="mpeg4", crf=2)
        write_video(root / c / f"{c}_1.avi", make_frames(vid=code + 2), codec="mpeg4", crf=2)
        for fold in (1, 2, 3):
            (root / "testTrainMulti_7030_splits" / f"{c}_test_split{fold}.txt").write_text(
                f"{c}_0.avi {1 if fold != 2 else 2} \n{c}_1.avi {2 if fold != 2 else 1} \n")
    tr = build_dataset("hmdb51", "train", data_root=root, fold=2, **kw())
    assert [r.video_id for r in tr.records] == ["brush_hair_1", "cartwheel_1"]
    va = build_dataset("hmdb51", "val", data_root=root, fold=1, **kw())
    assert [(va[i][1], frame_ids(clip_to_frames(va[i][0]))[1][0]) for i in range(2)] == [(0, 3), (1, 4)]


def test_header_longer_than_stream_is_clamped_and_reported(files, tmp_path):
    rec = VideoRecord(path=Path(files["cut.avi"]), label=0, video_id="cut")
    ds = VideoDataset([rec], ["x"], mode="val", **kw(frames=12))  # the centre clip: frames 1, 3, ..., 23
    clip, _ = ds[0]
    t, _ = frame_ids(clip_to_frames(clip))
    assert t == list(range(1, 23, 2)) + [22]  # frame 23 is cut: the last decoded frame holds
    assert ds.failures == [] and "decoding stops after 23" in ds.short_videos[0].reason
    # scan=True decodes first and last frames: a 1-frame shortfall is short, half a file is a problem
    half = VideoRecord(path=Path(files["half_long.mp4"]), label=0, video_id="half")
    sc = VideoDataset([rec, half], ["x"], mode="val", scan=True, **kw(frames=12))
    assert [r.video_id for r in sc.records] == ["cut"] and "decoding stops after 23" in sc.short_videos[0].reason
    assert sc.problems[0].path == files["half_long.mp4"]
    assert sc.problems[0].reason.startswith(("truncated: decoded 0 of 1", "corrupt: decoding failed"))


def test_kinetics_window_ssv2_webm_and_folder(tmp_path):
    k = tmp_path / "k"
    (k / "val" / "jump").mkdir(parents=True)
    write_video(k / "val" / "jump" / "aaa.mp4", make_frames(48, vid=1), crf=10)  # untrimmed: 1.92 s
    write_video(k / "val" / "jump" / "bbb_000000_000001.mp4", make_frames(vid=2), crf=10)
    (k / "lists").mkdir()
    (k / "lists" / "v.csv").write_text("label,youtube_id,time_start,time_end,split\njump,aaa,1,1.5,val\njump,bbb,0,1,val\n")
    ds = build_video_dataset("kinetics", "val", data_root=k, csv=k / "lists" / "v.csv", **kw(frames=3, interval=1))
    t, v = frame_ids(clip_to_frames(ds[0][0]))
    assert v == [1, 1, 1] and all(25 <= i < 38 for i in t)  # read within 1..1.5 s (frames 25..37)
    assert frame_ids(clip_to_frames(ds[1][0]))[1] == [2, 2, 2]

    s = tmp_path / "ssv2"
    s.mkdir()
    (s / "something-something-v2-labels.json").write_text(json.dumps({"Pushing something": "0", "Lifting something": "1"}))
    (s / "something-something-v2-validation.json").write_text(json.dumps([{"id": "7", "template": "Lifting [something]"}]))
    write_video(s / "7.webm", make_frames(vid=3), codec="libvpx-vp9", crf=10)
    sv = build_dataset("ssv2", "val", data_root=s, **kw())
    assert sv.flip is False and sv.num_classes == 2  # SSv2 labels name directions: no flip by default
    clip, label = sv[0]
    assert label == 1 and frame_ids(clip_to_frames(clip)) == ([9, 11, 13, 15], [3] * 4)

    f = tmp_path / "plain"
    for cls, code in (("a", 0), ("b", 4)):
        (f / cls).mkdir(parents=True)
        write_video(f / cls / "x.mp4", make_frames(vid=code), crf=10)
    fd = build_dataset("folder", "train", data_root=f, **kw())
    assert fd.classes == ["a", "b"] and [fd[i][1] for i in range(2)] == [0, 1]
    sub = build_video_dataset("folder", "train", data_root=f, num_samples=1, seed=0, **kw())
    assert sub.num_videos == 1


def test_registry_errors(ucf):
    with pytest.raises(ValueError, match=r"dataset_kwargs\['data_root'\]"):
        build_dataset("ucf101", "train")
    with pytest.raises(FileNotFoundError, match="data_root="):
        build_dataset("ucf101", "train", data_root=ucf / "nowhere")
    with pytest.raises(ValueError, match="fold applies to ucf101 and hmdb51"):
        build_video_dataset("kinetics", "train", data_root=ucf, fold=2)
    with pytest.raises(ValueError, match="do not apply|does not apply|do\\(es\\) not apply"):
        build_video_dataset("ucf101", "train", data_root=ucf, csv="x.csv")
    a = build_video_dataset("ucf101", "train", data_root=ucf, num_samples=3, seed=1, **kw())
    b = build_video_dataset("ucf101", "train", data_root=ucf, num_samples=3, seed=1, **kw())
    assert a.num_videos == 3 and [r.path for r in a.records] == [r.path for r in b.records]


def test_frame_cache_reads_the_same_clip(ucf, tmp_path):
    ann = ucf101(ucf, subset="test")
    frames = [decode_all(r.path).numpy() for r in ann.records]  # (24, 32, 40, 3) each
    np.save(tmp_path / "shard_0.npy", np.concatenate(frames))
    index = {r.video_id: {"shard": "shard_0.npy", "offset": 24 * j, "num_frames": 24, "fps": 25.0}
             for j, r in enumerate(ann.records)}
    (tmp_path / "index.json").write_text(json.dumps({"videos": index}))
    from_video = build_video_dataset("ucf101", "test", data_root=ucf, **kw(clips=2))
    from_cache = build_video_dataset("ucf101", "test", data_root=ucf, cache_dir=tmp_path, **kw(clips=2))
    for i in (0, 7, 29):
        assert torch.equal(from_video[i][0], from_cache[i][0])
    with pytest.raises(FileNotFoundError, match="index.json"):
        build_video_dataset("ucf101", "val", data_root=ucf, cache_dir=tmp_path / "none", **kw())


def test_info_is_a_plain_record():
    i = VideoInfo(path="p", num_frames=3, fps=25.0, width=4, height=2, duration=0.12)
    assert i.start_pts is None and os.fspath(i.path) == "p"
