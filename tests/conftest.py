"""Shared fixtures."""

import pytest
import torch
from tqdm import tqdm

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
