"""actionrec.experiments.references: a reference directory built from a tiny grid is current, turns
stale under a behaviour change (and when the declared claims change), the provenance record holds
what the issue lists, and the entry point's output and exit codes (0: none / current, 1: stale)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from actionrec.experiments import references as R
from actionrec.experiments.grid import config_tag, run_grid
from actionrec.train import TrainConfig
from actionrec.train.fingerprint import read_fingerprint

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = {"r0.875 vs r1": {"type": "non-inferiority", "delta": 2.0}}


def tiny_cfg(**overrides) -> TrainConfig:
    base = dict(model="c3d_small", model_kwargs={"width": 0.125},
                dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"},
                train_samples=32, val_samples=16, test_samples=16, epochs=1, batch_size=16, device="cpu")
    return TrainConfig(**{**base, **overrides})


@pytest.fixture
def reference(tmp_path):
    """book/results/ratio built from a grid of 2 configs x 2 seeds; returns (results root, rows)."""
    configs = {"a": tiny_cfg(), "b": tiny_cfg(model_kwargs={"width": 0.25})}
    rows = run_grid(configs, [0, 1], tmp_path / "runs", progress=False)
    root = tmp_path / "results"
    R.write_provenance(root / "ratio", rows, claims=CLAIMS, wall_s=12.5, commit="0123456789abcdef",
                       command="make ablation NOTEBOOK_ARGS='-p budget reference'")
    return root, rows


def test_write_provenance_records_runs_and_environment(reference):
    root, rows = reference
    prov = json.loads((root / "ratio" / R.PROVENANCE_FILE).read_text())
    assert prov["format"] == 1 and prov["chapter"] == "ratio" and prov["commit"] == "0123456789abcdef"
    assert prov["dirty"] is None and prov["wall_s"] == 12.5 and prov["command"].startswith("make ablation")
    assert prov["claims_sha256"] == R.claims_hash(CLAIMS) == R.claims_hash(json.dumps(CLAIMS, sort_keys=True))
    assert prov["torch"] == str(torch.__version__) and prov["threads"] == 1 and prov["cpu"] and prov["date"]
    assert sorted(prov["runs"]) == ["a/seed_0", "a/seed_1", "b/seed_0", "b/seed_1"]
    run = prov["runs"]["b/seed_1"]
    src = rows[3]["run_dir"]
    assert run["seed"] == 1 and run["config_tag"] == config_tag(tiny_cfg(model_kwargs={"width": 0.25}))
    assert run["fingerprint"] == read_fingerprint(src)["hash"] and run["dir"] == "runs/b/seed_1"
    out = root / "ratio" / "runs" / "b" / "seed_1"
    assert json.loads((out / "config.json").read_text()) == json.loads((Path(src) / "config.json").read_text())
    assert read_fingerprint(out) == read_fingerprint(src)
    line = (out / R.REPRODUCE_FILE).read_text()
    assert line == "python -m actionrec.train --config runs/b/seed_1/config.json --run-dir runs/b/seed_1\n"


def test_write_provenance_refuses_runs_without_fingerprint_and_a_dirty_tree(reference, tmp_path, monkeypatch):
    _, rows = reference
    (tmp_path / "runs" / "a" / "seed_0" / "fingerprint.json").unlink()
    with pytest.raises(ValueError, match="no fingerprint.json.*retrain"):
        R.write_provenance(tmp_path / "other", rows, claims="x", wall_s=1.0, commit="abc")
    with pytest.raises(ValueError, match="rows is empty"):
        R.write_provenance(tmp_path / "other", [], claims="x", wall_s=1.0, commit="abc")
    monkeypatch.setattr(R, "git_commit", lambda repo: ("f" * 40, True))
    with pytest.raises(ValueError, match="uncommitted changes.*worktree"):
        R.write_provenance(tmp_path / "other", rows[1:], claims="x", wall_s=1.0)
    path = R.write_provenance(tmp_path / "other", rows[1:], claims="x", wall_s=1.0, allow_dirty=True)
    prov = json.loads(path.read_text())
    assert prov["commit"] == "f" * 40 and prov["dirty"] is True


def test_git_commit_reads_head_and_dirtiness(tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f.txt").write_text("1")
    subprocess.run(["git", "add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], cwd=tmp_path, check=True)
    sha, dirty = R.git_commit(tmp_path)
    assert len(sha) == 40 and not dirty
    (tmp_path / "f.txt").write_text("2")
    assert R.git_commit(tmp_path) == (sha, True)
    with pytest.raises(ValueError, match="not inside a git work tree"):
        R.git_commit(tmp_path / "f.txt")


def test_check_reference_is_current_then_stale_after_a_behaviour_change(reference, monkeypatch, capsys):
    root, _ = reference
    result = R.check_reference(root / "ratio")
    assert result == {"chapter": "ratio", "stale": False, "stale_runs": [], "reason": "current",
                      "commit": "0123456789abcdef"}
    assert R.check_reference(root / "ratio", claims=CLAIMS)["stale"] is False
    changed_claims = R.check_reference(root / "ratio", claims={**CLAIMS, "new": 1})
    assert changed_claims["stale"] and changed_claims["stale_runs"] == []
    assert changed_claims["reason"] == "the declared claims changed"
    assert R.main([str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == ["ratio: current (made at 0123456789; fingerprints match)",
                                                    "0 of 1 chapters stale"]

    real_ce = torch.nn.functional.cross_entropy  # the training loss changes: every run is stale
    monkeypatch.setattr(torch.nn.functional, "cross_entropy",
                        lambda *a, **k: real_ce(*a, **{**k, "label_smoothing": 0.2}))
    stale = R.check_reference(root / "ratio")
    assert stale["stale"] and stale["stale_runs"] == ["a/seed_0", "a/seed_1", "b/seed_0", "b/seed_1"]
    assert stale["reason"].startswith("a/seed_0: fingerprint ") and stale["reason"].count("fingerprint") == 4
    assert R.check_all(root) == [stale]
    assert R.main([str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ratio: STALE (made at 0123456789; 4 runs: a/seed_0, a/seed_1, b/seed_0, b/seed_1) - ")
    assert out[1] == "1 of 1 chapters stale: ratio"


def test_a_run_whose_config_no_longer_builds_is_stale(reference):
    root, _ = reference
    path = root / "ratio" / "runs" / "a" / "seed_0" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "removed_field": 1}))
    result = R.check_reference(root / "ratio")
    assert result["stale_runs"] == ["a/seed_0"] and "a/seed_0: cannot be rebuilt (ValueError" in result["reason"]


def test_entry_point_without_references_and_bad_arguments(tmp_path, capsys):
    assert R.check_all(tmp_path / "missing") == [] and R.check_all(tmp_path) == []
    assert R.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == (f"no committed reference results under {tmp_path} (no */provenance.json): "
                                       "nothing to check\n")
    assert R.main(["--help"]) == 2
    with pytest.raises(ValueError, match="provenance.json is missing"):
        R.check_reference(tmp_path)


def test_module_entry_point_exit_status(reference):
    root, _ = reference
    done = subprocess.run([sys.executable, "-m", "actionrec.experiments.references", str(root)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("ratio: current"), done.stderr
