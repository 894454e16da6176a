"""Build the book offline.

1. Execute every notebook chapter of ``_toc.yml`` (``_generated/NAME``) with papermill into
   ``book/_generated/`` (training runs go to ``build/<name>/`` and finished runs
   are reused, so a rebuild only re-renders).
2. ``jupyter-book build book --warningiserror``.

Usage: ``python book/build.py [--smoke] [--skip-execute] [--output DIR]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
# the chapters that are notebooks: every ``file: _generated/NAME`` entry of _toc.yml
NOTEBOOKS = re.findall(r"file:\s*_generated/(\w+)", (BOOK / "_toc.yml").read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="execute notebooks with smoke=True (tiny, < 1 min each)")
    ap.add_argument("--skip-execute", action="store_true", help="reuse book/_generated as it is")
    ap.add_argument("--output", type=Path, default=BOOK, help="where _build/ goes (default: book/)")
    args = ap.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    gen = BOOK / "_generated"
    gen.mkdir(exist_ok=True)
    if not args.skip_execute:
        for name in NOTEBOOKS:
            out_dir = ROOT / "build" / (name + ("_smoke" if args.smoke else ""))
            cmd = [str(bin_dir / "papermill"), str(ROOT / "notebooks" / f"{name}.ipynb"), str(gen / f"{name}.ipynb"),
                   "-p", "out_dir", str(out_dir), "--cwd", str(ROOT / "notebooks")]
            if args.smoke:
                cmd += ["-p", "smoke", "True"]
            print("+", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
    cmd = [str(bin_dir / "jupyter-book"), "build", str(BOOK), "--warningiserror", "--path-output", str(args.output)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    print(f"\nBook: {args.output / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
