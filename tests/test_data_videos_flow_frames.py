"""Optical flow items of real-video datasets: ``VideoDataset(modality="rgb+flow" | "flow")``.

The videos are written once per module with ``video_io.write_video``: a full-contrast blurred-noise
texture (Gaussian sigma 3 px) translating by a known (dx, dy) = (4, 2) px per frame, 96x128, H.264
at crf 10. The datasets resize the shorter side to 48 (factor 1/2), so the flow they must report,
in pixels of the resized frames the crop is taken from, is (2, 1) between consecutive video frames
whatever the clip's interval. The 8-bit storage rounds (2, 1) to (2.039, 0.941) (step 40/255 px);
Farneback (OpenCV, ``flow.FARNEBACK_PARAMS``) adds < 0.01 px on this texture, the codec a little
more; measured end-point error 0.071 px. We assert < 0.15 px (half a quantisation step is 0.078).
"""

import dataclasses
import json

import numpy as np
import pytest
import torch

import actionrec.data.flow as F
from actionrec.experiments import setup as A
from actionrec.data import build_dataset
from actionrec.data.synthactions import SynthActions
from actionrec.data.videos import VideoDataset
from actionrec.data.videos.records import VideoRecord
from actionrec.data.videos.sampling import flow_pair_indices
from actionrec.data.videos.video_io import probe, write_video

DX, DY = 4, 2  # translation per frame in the written video (pixels at 96x128)
N, H0, W0 = 20, 96, 128
EPE_BOUND = 0.15  # px, at the resized size (module docstring)


def texture(rng, h=200, w=260, sigma=3.0):
    import cv2

    g = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), sigma)
    g = ((g - g.min()) / (g.max() - g.min()) * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def translating(base, n=N, dx=DX, dy=DY):
    """(n, H0, W0, 3): frame t shows ``base`` moved by (t dx, t dy): flow (dx, dy) everywhere."""
    return np.stack([np.roll(base, (t * dy, t * dx), axis=(0, 1))[40:40 + H0, 40:40 + W0] for t in range(n)])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("flowvids")
    rng = np.random.default_rng(0)
    recs = []
    for k in range(2):
        path = d / f"v{k}.mp4"
        write_video(path, translating(texture(rng)), codec="h264", crf=10)
        recs.append(VideoRecord(path=path, label=k, video_id=f"v{k}"))
    return recs


def dataset(records, **kw):
    kw = {"mode": "val", "frames": 6, "interval": 2, "size": 32, "short_side": 48, **kw}
    return VideoDataset(records, ["a", "b"], **kw)


def epe(flow_2thw, dx, dy):
    f = flow_2thw.permute(1, 2, 3, 0).numpy()  # (2, T, H, W) -> (T, H, W, 2)
    return F.end_point_error(f, np.broadcast_to(np.array([dx, dy], np.float32), f.shape))


def test_items_shapes_dtypes_and_channels(videos):
    rgb = dataset(videos)
    both = dataset(videos, modality="rgb+flow")
    flow = dataset(videos, modality="flow")
    assert (rgb.channels, both.channels, flow.channels) == (3, 5, 2)
    x3, y3 = rgb[1]
    x5, y5 = both[1]
    x2, y2 = flow[1]
    assert x3.shape == (3, 6, 32, 32) and x5.shape == (5, 6, 32, 32) and x2.shape == (2, 6, 32, 32)
    assert x5.dtype == x2.dtype == torch.float32 and y3 == y5 == y2 == 1
    assert torch.equal(x5[:3], x3)  # the RGB channels are the "rgb" item bit for bit
    assert torch.equal(x5[3:], x2)  # the flow channels are the "flow" item
    # every flow value is an 8-bit code decoded (clipped to ±20 px, quantised as flow.quantize_flow stores it)
    codes = torch.from_numpy(F.dequantize_flow(np.arange(256, dtype=np.uint8)))
    assert torch.isin(x2, codes).all()
    # test views (3 crops) and train items have the same layout; a DataLoader batches them
    test = dataset(videos, mode="test", clips=2, crops=3, modality="rgb+flow")
    assert len(test) == 12 and test[5][0].shape == (5, 6, 32, 32)
    train = dataset(videos, mode="train", short_side=(48, 56), modality="rgb+flow", segments=5)
    xb, yb = next(iter(torch.utils.data.DataLoader(train, batch_size=2)))
    assert xb.shape == (2, 5, 5, 32, 32) and yb.tolist() == [0, 1]
    assert "modality='rgb+flow'" in repr(train)


def test_translation_is_recovered_in_pixels_of_the_resized_frames(videos):
    """Interval 2 samples every other frame, but flow is between consecutive video frames: (4, 2)
    px at 96x128 is (2, 1) px at 48x64, in val, test and train items."""
    for kw in (dict(), dict(mode="test", clips=3), dict(mode="train", flip=False)):
        ds = dataset(videos, modality="flow", **kw)
        for i in range(len(ds)):
            e = epe(ds[i][0], DX / 2, DY / 2)
            assert e < EPE_BOUND, (kw, i, e)
    # 3-crop test views resize the shorter side to size=32 (factor 1/3): (4/3, 2/3) px
    ds = dataset(videos, modality="flow", mode="test", crops=3)
    for i in range(3):
        assert epe(ds[i][0], DX / 3, DY / 3) < EPE_BOUND


def test_flip_mirrors_the_flow_and_negates_dx(videos):
    kw = dict(mode="train", modality="rgb+flow", seed=3)
    flipping, plain = dataset(videos, **kw), dataset(videos, flip=False, **kw)
    seen = set()
    for epoch in range(4):
        flipping.set_epoch(epoch), plain.set_epoch(epoch)
        for i in range(len(plain)):
            a, b = flipping[i][0], plain[i][0]  # the same draws: only the flip differs
            flipped = bool(plain._draws(i, 0)[3] < 0.5)
            seen.add(flipped)
            if not flipped:
                assert torch.equal(a, b)
                continue
            m = b.flip(-1)  # mirrored
            assert torch.equal(a[:3], m[:3]) and torch.equal(a[4], m[4])  # RGB and dy: mirrored
            neg = torch.from_numpy(F.dequantize_flow(F.quantize_flow(-m[3].numpy())))
            assert torch.equal(a[3], neg)  # dx: mirrored and negated (the 8-bit code of -dx)
            assert epe(a[3:], -DX / 2, DY / 2) < EPE_BOUND
    assert seen == {True, False}


def test_flow_is_cached_per_frame_and_read_back(videos, tmp_path, monkeypatch):
    calls = []
    compute = F.compute_flow

    def counting(frames, **kw):
        calls.append(len(frames) - 1)
        return compute(frames, **kw)

    monkeypatch.setattr(F, "compute_flow", counting)
    cache = tmp_path / "flow"
    first = dataset(videos, modality="rgb+flow", flow_cache_dir=cache)[0][0]
    # 6 frames at interval 2: 6 distinct flows (frames j -> j + 1), one estimator call each
    assert sum(calls) == 6 and len(calls) == 6
    files = sorted(p.name for p in cache.rglob("*.npz"))
    assert len(files) == 6 and all(p.parent.name == "v0" for p in cache.rglob("*.npz"))
    again = dataset(videos, modality="rgb+flow", flow_cache_dir=cache)[0][0]  # a new process: read from disk
    assert sum(calls) == 6 and torch.equal(first, again)
    # other settings are other files: estimator parameters, shorter side
    dataset(videos, modality="flow", flow_cache_dir=cache, flow_params={"winsize": 9})[0]
    dataset(videos, modality="flow", flow_cache_dir=cache, short_side=40)[0]
    assert sum(calls) == 18 and len(list(cache.rglob("*.npz"))) == 18
    # train epochs: new starts, crops, flips; each flow of the video is computed once over all epochs
    calls.clear()
    train = dataset(videos, mode="train", frames=10, interval=2, modality="flow", flow_cache_dir=tmp_path / "tr")
    starts = set()
    for epoch in range(8):
        train.set_epoch(epoch)
        starts.add(int(train._draws(0, 0)[4] * 2))  # span 19 of 20 frames: start 0 or 1
        train[0]
    assert starts == {0, 1} and sum(calls) == 19  # flows 0 -> 1, ..., 18 -> 19: once each
    # without a cache directory, three crops of one clip still compute its flow once
    calls.clear()
    test = dataset(videos, modality="flow", mode="test", crops=3)
    for i in range(3):
        test[i]
    assert sum(calls) == 6


def test_items_are_laid_out_like_synthactions(tmp_path):
    """SynthActions' rendered frames served through a pre-decoded frame cache (exact pixels, no
    codec): the VideoDataset item equals SynthActions' own "rgb+flow" item (channel order, last
    frame repeating the last flow, 8-bit flow), with SynthActions' MEAN/STD."""
    synth = SynthActions("val", 3, frames=8, size=32, difficulty="easy", modality="rgb+flow")
    frames = synth.render_batch(range(3))  # (3, T, H, W, 3) uint8
    np.save(tmp_path / "shard0.npy", frames.reshape(-1, 32, 32, 3))  # (3 T, H, W, 3): one video after the other
    index = {"short_side": 32, "videos": {f"s{k}": {"shard": "shard0.npy", "offset": 8 * k, "num_frames": 8,
                                                    "fps": 25.0} for k in range(3)}}
    (tmp_path / "index.json").write_text(json.dumps(index))
    recs = [VideoRecord(path=tmp_path / f"s{k}.avi", label=synth.label(k), video_id=f"s{k}") for k in range(3)]
    ds = VideoDataset(recs, synth.classes, mode="val", frames=8, interval=1, size=32, short_side=32,
                      mean=(0.5,) * 3, std=(0.25,) * 3, cache_dir=tmp_path, modality="rgb+flow")
    for k in range(3):
        ours, label = ds[k]
        theirs, their_label = synth[k]
        assert label == their_label and ours.shape == theirs.shape == (5, 8, 32, 32)
        torch.testing.assert_close(ours[:3], theirs[:3], rtol=0, atol=1e-6)  # normalised RGB
        assert torch.equal(ours[3:], theirs[3:])  # dx, dy: the same Farneback flow, the same 8-bit codes
        assert torch.equal(ours[3:, -1], ours[3:, -2])  # the last frame repeats the last flow


def test_flow_pair_indices():
    a, b = flow_pair_indices([0, 2, 4, 9], 0, 10)
    assert a.tolist() == [0, 2, 4, 8] and b.tolist() == [1, 3, 5, 9]  # the last frame repeats flow 8 -> 9
    a, b = flow_pair_indices([5, 5, 6], 5, 7)  # a window of frames 5..6
    assert a.tolist() == [5, 5, 5] and b.tolist() == [6, 6, 6]
    a, b = flow_pair_indices([3, 3], 3, 4)  # one frame: paired with itself (zero flow)
    assert a.tolist() == b.tolist() == [3, 3]


def test_a_file_cut_short_gets_flow_from_the_frames_that_decode(tmp_path):
    """A header promising 2 frames more than decode (within the tolerance): the pairs are planned
    again inside the decodable frames, so the last frame repeats the last real flow, not zero."""
    path = tmp_path / "cut.avi"
    frames = translating(texture(np.random.default_rng(1)), n=22)
    write_video(path, frames[:20], codec="mpeg4", crf=2)
    rec = VideoRecord(path=path, label=0, video_id="cut")
    ds = dataset([rec], frames=10, interval=2, modality="flow")  # span 19: the last clip frame is frame 18
    ds._infos[str(path)] = dataclasses.replace(probe(path), num_frames=22)  # as if the header said 2 more
    x = ds[0][0]  # val clip: frames 2, 4, .., 20; frame 20 does not decode
    assert ds._decodable[str(path)] == 20 and [p.path for p in ds.short_videos] == [str(path)]
    assert epe(x, DX / 2, DY / 2) < EPE_BOUND  # every frame has real flow (zero flow would give EPE ~2.2)


def test_bad_flow_settings_name_the_parameter(videos, tmp_path):
    with pytest.raises(ValueError, match="modality='depth'"):
        dataset(videos, modality="depth")
    with pytest.raises(ValueError, match="flow_method='gt'.*SynthActions"):
        dataset(videos, modality="rgb+flow", flow_method="gt")
    with pytest.raises(ValueError, match="flow_method='lk'"):
        dataset(videos, modality="rgb+flow", flow_method="lk")
    with pytest.raises(ValueError, match="unknown farneback parameter"):
        dataset(videos, modality="flow", flow_params={"window": 5})
    if "tvl1" not in F.available_methods():
        with pytest.raises(RuntimeError, match="farneback"):
            dataset(videos, modality="flow", flow_method="tvl1")
    else:  # the paper's TV-L1, where OpenCV has the contrib modules
        assert dataset(videos, modality="flow", flow_method="tvl1")[0][0].shape == (2, 6, 32, 32)


def test_ablation_data_kwargs_give_real_datasets_flow(tmp_path):
    """The notebooks' real-data branch: data_kwargs(..., flow=...) -> build_dataset items (5, T, H, W)."""
    root = tmp_path / "UCF-101"
    rng = np.random.default_rng(2)
    for c, name in enumerate(["Jump", "Run"]):
        (root / name).mkdir(parents=True)
        write_video(root / name / f"v_{name}_g01_c01.avi", translating(texture(rng), n=12)[:, :48, :64],
                    codec="mpeg4")
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 Jump\n2 Run\n")
    (ann / "trainlist01.txt").write_text("Jump/v_Jump_g01_c01.avi 1\nRun/v_Run_g01_c01.avi 2\n")
    (ann / "testlist01.txt").write_text("Jump/v_Jump_g01_c01.avi\nRun/v_Run_g01_c01.avi\n")
    kw = A.data_kwargs("ucf101", [4, 32, 32], data_root=str(root), flow="farneback", flow_cache_dir=tmp_path / "fc")
    assert kw == dict(data_root=str(root), fold=1, size=32, short_side=37, frames=4, modality="rgb+flow",
                      flow_method="farneback", flow_cache_dir=str(tmp_path / "fc"))
    for split in ("train", "val", "test"):
        ds = build_dataset("ucf101", split, **kw)
        assert ds[0][0].shape == (5, 4, 32, 32) and ds.channels == 5
    with pytest.raises(ValueError, match="flow='gt'.*SynthActions"):
        A.data_kwargs("ucf101", [4, 32, 32], data_root=str(root), flow="gt", flow_cache_dir=tmp_path)
    with pytest.raises(ValueError, match="flow_cache_dir"):
        A.data_kwargs("ucf101", [4, 32, 32], data_root=str(root), flow="farneback")
