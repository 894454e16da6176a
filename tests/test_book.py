"""The book builds offline (Jupyter Book 1.x, warnings as errors) and loads nothing from a CDN."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_book_builds_offline(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--smoke", "--output", str(tmp_path)], check=True)
    html = tmp_path / "_build" / "html"
    pages = list(html.rglob("*.html"))
    assert (html / "intro.html").exists()
    for name in ("ablation_ratio", "srtg_cycle_consistency", "ablation_srtg_placement"):
        assert (html / "_generated" / f"{name}.html").exists(), name
    external = set()
    for page in pages:
        external |= set(re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page.read_text()))
    assert not external, f"pages load assets from the network: {sorted(external)}"
    ablation = (html / "_generated" / "ablation_ratio.html").read_text()
    assert "_static/mathjax/" in ablation, "math must be rendered by the local MathJax"


def test_every_notebook_is_a_chapter():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    chapters = set(re.findall(r"file:\s*_generated/(\w+)", toc))
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert notebooks == chapters, f"add to book/_toc.yml: {sorted(notebooks - chapters)}; stale: {sorted(chapters - notebooks)}"
