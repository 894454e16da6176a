"""Shared fixtures."""

import pytest
import torch
from tqdm import tqdm

from test_documented_commands import Runner

# No tqdm monitor thread in the test process: tests fork DataLoader workers from this long-lived
# process, and a fork copies the state of every other thread (a CI run once hung in a forked worker).
tqdm.monitor_interval = 0


@pytest.fixture
def one_thread():
    """Tiny tensors run 2-3x faster on one thread (no OpenMP hand-off per op)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def docs_runner(tmp_path_factory):
    """Runs the documented commands once per session (``test_documented_commands.Runner``); the smoke
    book it builds is the site ``test_book_browser.py`` reads."""
    return Runner(tmp_path_factory.mktemp("documented"))


def pytest_collection_modifyitems(config, items):
    """The browser test last: it reads the book ``make book NOTEBOOK_ARGS=--smoke`` built, and that build
    reuses the smoke runs of the documented ``make run-NAME`` commands when they ran first."""
    items.sort(key=lambda item: getattr(item.module, "__name__", "") == "test_book_browser")
