"""Notebooks on real videos: a parameter change (dataset="ucf101", data_root=...), run through papermill.

The videos are a tiny UCF-101-shaped tree written with ``actionrec.data.video_io.write_video``
(3 classes x 6 clips of 40 frames, 48x64, MPEG-4 in AVI as UCF-101 ships; split 1 lists 4 clips
per class for training and 2 for testing): enough for the smoke settings, a few seconds to write.
"""

import json
from pathlib import Path

import numpy as np
import papermill as pm
import pytest

from actionrec.data.videos.video_io import write_video

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
CLASSES = ["ApplyEyeMakeup", "Basketball", "JumpRope"]


@pytest.fixture(scope="module")
def ucf101(tmp_path_factory):
    root = tmp_path_factory.mktemp("UCF-101")
    rng = np.random.default_rng(0)
    lines = {"train": [], "test": []}
    for c, name in enumerate(CLASSES):
        (root / name).mkdir()
        for g in range(6):
            rel = f"{name}/v_{name}_g{g + 1:02d}_c01.avi"
            frames = np.full((40, 48, 64, 3), 40 + 80 * c, np.uint8)
            x = (np.arange(40) * (c + 1)) % 48  # a bright bar moving at a class-specific speed
            for t in range(40):
                frames[t, :, x[t]:x[t] + 8] = 255
            frames = np.clip(frames + rng.integers(0, 20, frames.shape), 0, 255).astype(np.uint8)
            write_video(root / rel, frames, codec="mpeg4")
            lines["train" if g < 4 else "test"].append((rel, c + 1))
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(CLASSES)))
    (ann / "trainlist01.txt").write_text("".join(f"{r} {c}\n" for r, c in lines["train"]))
    (ann / "testlist01.txt").write_text("".join(f"{r}\n" for r, _ in lines["test"]))
    return root


def run(name, tmp_path, **parameters):
    out_dir = tmp_path / "out"
    pm.execute_notebook(str(NB_DIR / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                        parameters={"smoke": True, "out_dir": str(out_dir), **parameters}, cwd=str(tmp_path),
                        progress_bar=False, kernel_name="python3")
    return out_dir


@pytest.mark.slow
def test_ablation_ratio_runs_on_ucf101(ucf101, tmp_path):
    out = run("ablation_ratio", tmp_path, dataset="ucf101", data_root=str(ucf101), split=1)
    assert (out / "results.csv").exists() and any(out.glob("*.png"))
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert len(rows) == 4  # smoke: 2 ratios x 2 seeds
    for row in rows:
        run_dir = Path(row["run_dir"])
        cfg = json.loads((run_dir / "config.json").read_text())
        assert cfg["dataset"] == "ucf101" and cfg["dataset_kwargs"]["data_root"] == str(ucf101)
        assert cfg["dataset_kwargs"]["fold"] == 1 and "difficulty" not in cfg["dataset_kwargs"]
        final = json.loads((run_dir / "final.json").read_text())
        assert final["num_classes"] == 3  # from classInd.txt, not SynthActions' 16
        assert len(final["test"]["confusion"]) == 3
        assert "swapped" not in row  # UCF-101 has no time-reversed class pairs


@pytest.mark.slow
def test_two_stream_notebook_runs_on_ucf101_with_estimated_flow(ucf101, tmp_path):
    """ablation_fusion on real videos: RGB + Farneback flow from VideoDataset(modality="rgb+flow"),
    computed once per video frame and read back from out_dir/flow_cache by every run."""
    out = run("ablation_fusion", tmp_path, dataset="ucf101", data_root=str(ucf101), split=1)
    assert (out / "results.csv").exists() and (out / "fusion_error.png").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["flow_epe_px"] is None  # no exact flow for real videos
    trained = [r for r in results["rows"] if not r.get("derived_from")]
    assert len(trained) == 6  # smoke: 3 variants x 2 seeds
    for row in trained:
        cfg = json.loads((Path(row["run_dir"]) / "config.json").read_text())
        kw = cfg["dataset_kwargs"]
        assert cfg["dataset"] == "ucf101" and kw["modality"] == "rgb+flow" and kw["flow_method"] == "farneback"
        assert kw["flow_cache_dir"] == str(out / "flow_cache")
        final = json.loads((Path(row["run_dir"]) / "final.json").read_text())
        assert final["num_classes"] == 3 and row["head_appearance"] is not None
    assert any((out / "flow_cache").rglob("*.npz"))  # per-frame flow files, one folder per video


@pytest.mark.slow
def test_synthactions_only_notebook_refuses_real_data(ucf101, tmp_path):
    """gradient_gating (and attribution, with the same check) needs SynthActions' exact flow."""
    with pytest.raises(pm.PapermillExecutionError) as e:
        run("gradient_gating", tmp_path, dataset="ucf101")
    assert "dataset='ucf101'" in str(e.value) and "SynthActions only" in str(e.value)


@pytest.mark.slow
def test_missing_data_root_fails_before_training(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run("ablation_srtg_placement", tmp_path, dataset="hmdb51", data_root=str(tmp_path / "nowhere"))
    assert "data_root" in str(e.value) and "Running on real data" in str(e.value)
    assert not (tmp_path / "out").exists()
