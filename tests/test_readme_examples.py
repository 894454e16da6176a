"""Every ```python example of the README (and of the book's pages) runs unchanged.

Each block is executed as written, in a fresh namespace, in this process; a block that raises fails
its own test, named by file and line.
"""

import traceback
from pathlib import Path

import pytest
import torch

from docs_commands import python_blocks

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = [b for doc in (ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))) for b in python_blocks(doc)]


def test_the_readme_has_python_examples():
    assert any(where.startswith("README.md:") for where, _ in BLOCKS)


@pytest.mark.parametrize("where,source", BLOCKS, ids=[where for where, _ in BLOCKS])
def test_python_example_runs_as_written(where, source):
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        exec(compile(source, where, "exec"), {"__name__": "__readme__"})
    except Exception as e:  # the traceback names the block's line as File "README.md:80", line k
        pytest.fail(f"the python example at {where} raised {type(e).__name__}: {e}\n{traceback.format_exc()}")
    finally:
        torch.set_num_threads(n)
