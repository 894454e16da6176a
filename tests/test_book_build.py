"""book/build.py: a failing chapter stops the build and is named; the closing summary."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build_module():
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _notebook(path: Path, source: str) -> None:
    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "smoke = False\nout_dir = ''",
              "outputs": [], "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}]
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                          "language": "python"}},
                                "nbformat": 4, "nbformat_minor": 5}))


def test_a_failing_chapter_stops_the_build_and_is_named(tmp_path, monkeypatch, capsys):
    build = _build_module()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    _notebook(tmp_path / "notebooks" / "fine.ipynb", "x = 1")
    _notebook(tmp_path / "notebooks" / "broken.ipynb", "raise RuntimeError('the chapter broke')")
    _notebook(tmp_path / "notebooks" / "never.ipynb", "x = 2")
    monkeypatch.setattr(build, "ROOT", tmp_path)
    monkeypatch.setattr(build, "BOOK", tmp_path / "book")
    monkeypatch.setattr(build, "NOTEBOOKS", ["fine", "broken", "never"])
    assert build.main(["--smoke"]) == 1
    err = capsys.readouterr().err
    assert "chapter 'broken' failed" in err and "notebooks/broken.ipynb" in err, err
    gen = tmp_path / "book" / "_generated"
    assert (gen / "fine.ipynb").exists() and (gen / "broken.ipynb").exists()
    assert not (gen / "never.ipynb").exists(), "the build must stop at the failing chapter"
    assert "the chapter broke" in (gen / "broken.ipynb").read_text(), "the executed copy keeps the failing cell"


def test_summary_lists_each_chapter_and_the_site():
    build = _build_module()
    text = build._summary({"ablation_ratio": 12.34, "attribution": 5.0}, 7.0, Path("/x/_build/html/index.html"))
    assert "ablation_ratio" in text and "12.3 s" in text and "17.3 s" in text
    assert "Sphinx (jupyter-book build)" in text and text.rstrip().endswith("Book: /x/_build/html/index.html")
    assert "not executed" in build._summary({}, 1.0, Path("i.html"))


def test_the_injected_parameters_cell_is_collapsed(tmp_path):
    build = _build_module()
    path = tmp_path / "nb.ipynb"
    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters", "hide-input"]}, "source": "a = 1", "outputs": []},
             {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "a = 2", "outputs": []},
             {"cell_type": "code", "metadata": {}, "source": "print(a)", "outputs": []}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    build.collapse_injected_parameters(path)
    tags = [c["metadata"].get("tags") for c in json.loads(path.read_text())["cells"]]
    assert tags == [["parameters", "hide-input"], ["injected-parameters", "hide-input"], None]


def test_plumbing_cells_of_the_ablation_chapters_are_collapsed():
    """Reading order: the parameters and setup cells of every ablation chapter are tagged hide-input in
    the committed .ipynb (the site shows their output, not their code)."""
    for nb in sorted((ROOT / "notebooks").glob("ablation_*.ipynb")):
        code = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        params = next(c for c in code if "parameters" in c["metadata"].get("tags", []))
        setup = code[code.index(params) + 1]
        for cell in (params, setup):
            assert "hide-input" in cell["metadata"].get("tags", []), f"{nb.name}: {''.join(cell['source'])[:60]!r}"
