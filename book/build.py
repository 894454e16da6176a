"""Build the book offline.

1. Execute every notebook chapter of ``_toc.yml`` (``_generated/NAME``) with papermill into
   ``book/_generated/`` (training runs go to ``build/<name>/`` and finished runs
   are reused, so a rebuild only re-renders).
   Then :func:`write_pages` writes the pages generated from the library (``_generated/readings.md``).
2. ``jupyter-book build book --warningiserror``.
3. Print the wall time of each chapter and of the Sphinx build, and the path of the site. A chapter
   whose notebook fails stops the build, named (its executed copy shows the failing cell).

Usage: ``python book/build.py [--smoke] [--skip-execute] [--output DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from actionrec.papers.readings import readings_markdown

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
# pages generated from the library by write_pages (not notebooks): NAME -> its markdown
GENERATED_PAGES = {"readings": readings_markdown}
# the chapters that are notebooks: every other ``file: _generated/NAME`` entry of _toc.yml
NOTEBOOKS = [name for name in re.findall(r"file:\s*_generated/(\w+)", (BOOK / "_toc.yml").read_text())
             if name not in GENERATED_PAGES]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="execute notebooks with smoke=True (tiny, < 1 min each)")
    ap.add_argument("--skip-execute", action="store_true", help="reuse book/_generated as it is")
    ap.add_argument("--output", type=Path, default=BOOK, help="where _build/ goes (default: book/)")
    args = ap.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    gen = BOOK / "_generated"
    gen.mkdir(exist_ok=True)
    walls: dict[str, float] = {}
    if not args.skip_execute:
        for name in NOTEBOOKS:
            out_dir = ROOT / "build" / (name + ("_smoke" if args.smoke else ""))
            cmd = [str(bin_dir / "papermill"), str(ROOT / "notebooks" / f"{name}.ipynb"), str(gen / f"{name}.ipynb"),
                   "-p", "out_dir", str(out_dir), "--cwd", str(ROOT / "notebooks")]
            if args.smoke:
                cmd += ["-p", "smoke", "True"]
            print("+", " ".join(cmd), flush=True)
            t0 = time.time()
            rc = subprocess.run(cmd).returncode
            walls[name] = time.time() - t0
            collapse_injected_parameters(gen / f"{name}.ipynb")
            if rc != 0:
                print(f"\nbook: chapter {name!r} failed (notebooks/{name}.ipynb, papermill exit {rc} after "
                      f"{walls[name]:.0f} s); its executed copy, with the failing cell, is {gen / name}.ipynb",
                      file=sys.stderr)
                return 1
    write_pages(gen)
    cmd = [str(bin_dir / "jupyter-book"), "build", str(BOOK), "--warningiserror", "--path-output", str(args.output)]
    print("+", " ".join(cmd), flush=True)
    t0 = time.time()
    if subprocess.run(cmd).returncode != 0:
        print("\nbook: the Sphinx build failed (warnings are errors; the first one is above)", file=sys.stderr)
        return 1
    print(_summary(walls, time.time() - t0, args.output / "_build" / "html" / "index.html"))
    return 0


def collapse_injected_parameters(path: Path) -> None:
    """Tag the cell papermill injects (the parameters this build ran with) ``hide-input``: the site
    collapses it like the ``parameters`` cell it follows."""
    if not path.exists():
        return
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _summary(walls: dict[str, float], sphinx_s: float, index: Path) -> str:
    """The closing lines: wall time per executed chapter, the Sphinx build, and where the site is."""
    lines = ["", "wall time per chapter (papermill):" if walls else "chapters not executed (--skip-execute)"]
    lines += [f"  {name:<28} {s:7.1f} s" for name, s in walls.items()]
    if walls:
        lines.append(f"  {'all chapters':<28} {sum(walls.values()):7.1f} s")
    lines += [f"  {'Sphinx (jupyter-book build)':<28} {sphinx_s:7.1f} s", "", f"Book: {index}"]
    return "\n".join(lines)


def write_pages(gen_dir: Path) -> list[Path]:
    """Write the pages generated from the library (:data:`GENERATED_PAGES`: ``readings.md``, the
    readings and departures of :mod:`actionrec.papers.readings`) into ``gen_dir``; returns their paths."""
    paths = []
    for name, render in GENERATED_PAGES.items():
        path = gen_dir / f"{name}.md"
        path.write_text(render(), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    raise SystemExit(main())
