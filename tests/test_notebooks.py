"""Notebooks: paired with their .py, committed clean, and smoke-run through papermill."""

import json
from pathlib import Path

import jupytext
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert "ablation_ratio" in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pair_in_sync_and_clean(name):
    ipynb = json.loads((NB_DIR / f"{name}.ipynb").read_text())
    assert ipynb["metadata"].get("kernelspec", {}).get("name") == "python3", "run: jupytext --set-kernel python3"
    code = [c for c in ipynb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "strip outputs before committing"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    assert "smoke" in "".join(tagged[0]["source"]), "the parameters cell must define `smoke`"
    py = jupytext.read(NB_DIR / f"{name}.py")
    nb = jupytext.read(NB_DIR / f"{name}.ipynb")
    src = lambda n: [(c.cell_type, c.source.strip()) for c in n.cells]  # noqa: E731
    assert src(py) == src(nb), f"{name}.py and {name}.ipynb differ: run `make sync`"


@pytest.mark.slow
def test_smoke_run_from_another_working_directory(tmp_path):
    """A notebook runs with smoke=True from a working directory that is neither the repo root nor
    notebooks/. (Every notebook's smoke run is its documented `make run-NAME` / `make ablation`,
    in tests/test_documented_commands.py.)"""
    out_dir = tmp_path / "out"
    pm.execute_notebook(
        str(NB_DIR / "srtg_cycle_consistency.ipynb"), str(tmp_path / "srtg_cycle_consistency.ipynb"),
        parameters={"smoke": True, "out_dir": str(out_dir)}, cwd=str(tmp_path), progress_bar=False,
        kernel_name="python3",
    )
    assert (out_dir / "results.csv").exists() and (out_dir / "results.json").exists()
    assert any(out_dir.glob("*.png")), "the notebook should save its figure(s)"


@pytest.mark.slow
def test_bad_parameter_fails_fast_naming_it(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(
            str(NB_DIR / "ablation_ratio.ipynb"), str(tmp_path / "bad.ipynb"),
            parameters={"smoke": True, "ratios": [0.3, 1.0], "out_dir": str(tmp_path / "o")},
            progress_bar=False, kernel_name="python3",
        )
    assert "ratios" in str(e.value)
    assert not (tmp_path / "o" / "runs").exists(), "nothing should be trained before validation"
