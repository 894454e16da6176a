"""The book's table of contents holds every notebook. (The offline smoke build itself, with its checks
that nothing loads from a CDN and that math uses the local MathJax, is the documented command
`make book NOTEBOOK_ARGS=--smoke` in tests/test_documented_commands.py.)"""

import re
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


# Pages under _generated/ that book/build.py writes from the library (``write_pages``), not notebooks.
GENERATED_PAGES = {"readings"}


def test_every_notebook_is_a_chapter():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    generated = set(re.findall(r"file:\s*_generated/(\w+)", toc))
    assert GENERATED_PAGES <= generated, f"generated pages missing from book/_toc.yml: {sorted(GENERATED_PAGES - generated)}"
    chapters = generated - GENERATED_PAGES
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert notebooks == chapters, (f"add to book/_toc.yml: {sorted(notebooks - chapters)}; stale (no notebook, and not "
                                   f"a generated page listed in GENERATED_PAGES): {sorted(chapters - notebooks)}")
