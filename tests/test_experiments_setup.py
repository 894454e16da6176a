"""actionrec.experiments.setup: the data settings, base config, splits, run names and costs every
ablation grid shares.

The SynthActions settings must stay exactly what the notebooks always built: a run's folder is named
by ``config_tag(cfg)``, so any drift would silently retrain every finished run. Real datasets are
tested on a tiny UCF-101-shaped tree written with ``video_io.write_video``.
"""

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch

from actionrec.analysis.complexity import count_macs, count_params
from actionrec.data import build_dataset
from actionrec.data.videos.video_io import write_video
from actionrec.experiments import setup as A
from actionrec.experiments.grid import config_tag
from actionrec.models import build_model
from actionrec.train import TrainConfig
from actionrec.viz import clip_grid

matplotlib.use("Agg")

CLASSES = ["ApplyEyeMakeup", "Basketball"]


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    """2 classes x 4 videos (3 train, 1 test each), 20 frames of 24x32, split 1 only."""
    root = tmp_path_factory.mktemp("UCF-101")
    rng = np.random.default_rng(0)
    train, test = [], []
    for c, name in enumerate(CLASSES):
        (root / name).mkdir()
        for g in range(4):
            rel = f"{name}/v_{name}_g{g + 1:02d}_c01.avi"
            write_video(root / rel, rng.integers(0, 255, (20, 24, 32, 3), dtype=np.uint8), codec="mpeg4")
            (train if g < 3 else test).append(rel)
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(CLASSES)))
    (ann / "trainlist01.txt").write_text("".join(f"{r} {CLASSES.index(r.split('/')[0]) + 1}\n" for r in train))
    (ann / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    return root


def old_style_base(data_kwargs, *, train_samples, epochs, batch_size, lr, test_samples=None, **fields):
    """The base config every ablation notebook once built by hand (finished runs are named by its tag)."""
    return TrainConfig(
        dataset="synthactions", dataset_kwargs=data_kwargs,
        train_samples=train_samples, val_samples=max(32, train_samples // 4),
        test_samples=max(32, train_samples // 4) if test_samples is None else test_samples,
        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=0.05, scheduler="cosine",
        warmup_steps=min(50, epochs * train_samples // batch_size // 10), device="auto", **fields)


# --- data_kwargs ------------------------------------------------------------------------------------


def test_synthactions_data_kwargs_are_the_historical_ones():
    assert A.data_kwargs("synthactions", [16, 32, 48], difficulty="medium") == dict(frames=16, size=(32, 48),
                                                                                   difficulty="medium")
    assert A.data_kwargs("synthactions", [8, 32, 32], flow="farneback", flow_cache_dir="/o/flow_cache") == dict(
        frames=8, size=(32, 32), difficulty="easy", modality="rgb+flow", flow_method="farneback",
        flow_cache_dir="/o/flow_cache")
    assert "flow_cache_dir" not in A.data_kwargs("synthactions", [8, 32, 32], flow="gt")
    with pytest.raises(ValueError, match="flow_cache_dir"):
        A.data_kwargs("synthactions", [8, 32, 32], flow="farneback")


def test_real_data_kwargs(ucf):
    kw = A.data_kwargs("ucf101", [16, 112, 112], difficulty="hard", data_root=str(ucf), split=2)
    assert kw == dict(data_root=str(ucf), fold=2, size=112, short_side=128, frames=16)  # no difficulty
    tsn = A.data_kwargs("hmdb51", [8, 32, 32], data_root=str(ucf), segments=True)
    assert tsn["segments"] == 8 and "frames" not in tsn and tsn["short_side"] == 37
    with pytest.raises(ValueError, match=r"clip=\[16, 32, 40\].*square"):
        A.data_kwargs("ucf101", [16, 32, 40], data_root=str(ucf))
    with pytest.raises(ValueError, match="data_root"):
        A.data_kwargs("ucf101", [16, 32, 32], data_root="")
    kw = A.data_kwargs("ucf101", [8, 32, 32], data_root=str(ucf), flow="farneback", flow_cache_dir="/o")
    assert kw["modality"] == "rgb+flow" and kw["flow_method"] == "farneback" and kw["flow_cache_dir"] == "/o"


# --- base_config ------------------------------------------------------------------------------------


@pytest.mark.parametrize("test_samples", [None, 512])
def test_base_config_equals_the_notebooks_old_config_and_tag(test_samples):
    kw = A.data_kwargs("synthactions", [16, 32, 32])
    new = A.base_config(model="msti_net_small", dataset="synthactions", dataset_kwargs=kw, train_samples=896,
                        test_samples=test_samples, epochs=6, batch_size=16, lr=0.003, device="auto")
    old = old_style_base(dict(frames=16, size=(32, 32), difficulty="easy"), train_samples=896, epochs=6,
                         batch_size=16, lr=0.003, test_samples=test_samples, model="msti_net_small")
    assert new == old and config_tag(new) == config_tag(old)


def test_config_tag_of_a_finished_default_run_is_unchanged():
    """Tags are stable across code versions: this config (ablation_msti's P3D-B row before the chapter
    added ``groups=4`` to its model kwargs) still hashes to the folder its finished runs live in."""
    base = A.base_config(model="msti_net_small", dataset="synthactions",
                         dataset_kwargs=A.data_kwargs("synthactions", [16, 32, 32]), train_samples=896,
                         test_samples=512, epochs=6, batch_size=16, lr=0.003, device="auto")
    runs, _ = A.build_runs({"p3d_b": (replace(base, model_kwargs=dict(variant="p3d_b", width=0.25)), {})})
    assert list(runs) == ["p3d_b-9b14d265"]


def test_base_config_on_real_data_counts_the_split(ucf):
    kw = A.data_kwargs("ucf101", [4, 16, 16], data_root=str(ucf))
    whole = A.base_config(dataset="ucf101", dataset_kwargs=kw, train_samples=0, test_samples=0, epochs=30,
                          batch_size=2, lr=0.01)
    assert (whole.train_samples, whole.val_samples, whole.test_samples) == (None, None, None)
    assert whole.warmup_steps == 30 * 6 // 2 // 10  # 6 training videos on disk
    some = A.base_config(dataset="ucf101", dataset_kwargs=kw, train_samples=64, epochs=30, batch_size=2, lr=0.01)
    assert (some.train_samples, some.val_samples, some.test_samples) == (64, 32, 32)
    assert some.warmup_steps == whole.warmup_steps  # 64 asked, 6 there
    assert some.num_workers == 0  # decoding workers only on CUDA (the CPU cores train)


# --- split_dataset ----------------------------------------------------------------------------------


def test_split_dataset_is_the_runs_split(ucf):
    cfg = A.base_config(dataset="synthactions", dataset_kwargs=A.data_kwargs("synthactions", [4, 16, 16]),
                        train_samples=64, epochs=1, batch_size=16, lr=0.01)
    ours = A.split_dataset(cfg, "test")
    ref = build_dataset("synthactions", "test", num_samples=cfg.test_samples, seed=cfg.data_seed, **cfg.dataset_kwargs)
    assert len(ours) == len(ref) == 32 and torch.equal(ours[5][0], ref[5][0])
    assert len(A.split_dataset(cfg, "test", num_samples=8)) == 8
    real = A.base_config(dataset="ucf101", dataset_kwargs=A.data_kwargs("ucf101", [4, 16, 16], data_root=str(ucf)),
                         train_samples=0, epochs=1, batch_size=2, lr=0.01)
    test = A.split_dataset(real, "test")
    assert test.views_per_video == 1 and len(test) == 2  # one centre view per test video, not 10 x 3
    x, y = test[1]
    assert x.shape == (3, 4, 16, 16) and y == 1


# --- build_runs -------------------------------------------------------------------------------------


def test_build_runs_names_and_costs():
    base = A.base_config(model="c3d_small", dataset="synthactions",
                         dataset_kwargs=A.data_kwargs("synthactions", [4, 16, 16]), train_samples=64, epochs=1,
                         batch_size=16, lr=0.01)
    variants = {f"w{w:g}": (replace(base, model_kwargs=dict(width=w)), dict(width_mult=w)) for w in (0.25, 0.5)}
    runs, extras = A.build_runs(variants, num_classes=7, input_shape=(3, 4, 16, 16))
    assert list(runs) == [f"w{w:g}-{config_tag(variants[f'w{w:g}'][0])}" for w in (0.25, 0.5)]
    assert len(set(runs)) == 2  # the tag differs with the model kwargs
    for name, cfg in runs.items():
        net = build_model("c3d_small", num_classes=7, **cfg.model_kwargs)
        assert list(extras[name]) == ["width_mult", "gmacs", "params_m"]  # the row's fields first: column order
        assert extras[name]["gmacs"] == count_macs(net, (3, 4, 16, 16)) / 1e9
        assert extras[name]["params_m"] == count_params(net) / 1e6  # num_classes=7 reached the head
    plain, rows = A.build_runs(variants)
    assert plain == runs and rows == {n: {"width_mult": e["width_mult"]} for n, e in extras.items()}
    with pytest.raises(ValueError, match="num_classes"):
        A.build_runs(variants, input_shape=(3, 4, 16, 16))


def test_test_loader_synthactions_renders_the_configs_test_split_once():
    kw = A.data_kwargs("synthactions", [8, 32, 32], difficulty="easy")
    cfg = A.base_config(dataset="synthactions", dataset_kwargs=kw, train_samples=32, test_samples=20, epochs=1,
                        batch_size=8, lr=1e-3, device="cpu")
    loader = A.test_loader(cfg, batch_size=8)
    x, y = next(iter(loader))
    assert isinstance(loader.dataset, torch.utils.data.TensorDataset) and len(loader.dataset) == 20
    ref = build_dataset("synthactions", "test", num_samples=20, seed=cfg.data_seed, **kw)
    assert x.shape == (8, 3, 8, 32, 32) and torch.equal(x[3], ref[3][0]) and int(y[3]) == ref[3][1]


def test_preview_clips_shows_the_rgb_of_flow_items():
    kw = A.data_kwargs("synthactions", [8, 32, 32], difficulty="easy", flow="gt")
    ds, shown = A.preview_clips("synthactions", kw, num_samples=16)
    assert len(ds) == 16 and ds[0][0].shape == (5, 8, 32, 32)
    assert shown["dataset_or_clips"] is ds and list(shown["indices"]) == [0, 3, 6, 9, 12, 15]
    fig = clip_grid(**shown)
    assert len(fig.axes) >= 6  # rows 0, 3, ..., 15


def test_preview_clips_of_real_videos_undo_the_normalisation(ucf):
    ds, shown = A.preview_clips("ucf101", A.data_kwargs("ucf101", [4, 16, 16], data_root=str(ucf)), num_samples=6)
    assert [x.shape for x, _ in shown["dataset_or_clips"]] == [(3, 4, 16, 16)] * 2 and shown["classes"] == CLASSES
    assert (shown["mean"] == ds.mean.numpy()).all() and (shown["std"] == ds.std.numpy()).all()


def test_time_vs_macs_ratios_and_sentence():
    rows = [dict(g=1, r=r, seed=s, wall_s=t + s, gmacs=m) for s in (0, 1)
            for r, t, m in ((1.0, 10.0, 2.0), (0.875, 15.0, 1.5), (0.5, 7.0, 1.0))]
    rows += [dict(g=8, r=0.5, seed=0, wall_s=3.0, gmacs=1.0)]  # no baseline in g = 8: left out
    res = A.time_vs_macs(rows)
    assert list(res) == [1]
    by_r = {e["r"]: e for e in res[1]["rows"]}
    assert by_r[0.875]["time_ratio"] == pytest.approx(15.5 / 10.5) and by_r[0.875]["mac_ratio"] == 0.75
    assert by_r[1.0]["time_ratio"] == 1.0 and by_r[0.5]["time_ratio"] == pytest.approx(7.5 / 10.5)
    s = res[1]["sentence"]
    assert s.startswith("Fewer MACs did not mean less time for r = 0.875 (0.75x the MACs, 1.48x the time)")
    assert "it did for r = 0.5." in s
    fast = [dict(r, wall_s=10 * r["gmacs"]) for r in rows if r["g"] == 1]  # time proportional to MACs
    assert A.time_vs_macs(fast)[1]["sentence"].startswith("Fewer MACs meant less time")


def test_dataset_name_and_short_side():
    assert A.dataset_name("ucf101") == "UCF-101" and A.dataset_name("synthactions") == "SynthActions"
    assert A.short_side_for(112) == 128 and A.short_side_for(32) == 37
