"""actionrec.experiments.progress: durations, the ETA formula on hand-computed cases, the line format,
GridReport's lines under a fake clock, and to_terminal (only into an ipykernel stream's original fd;
on a TTY it first erases papermill's counter line)."""

from __future__ import annotations

import io
import os
import sys

import pytest

from actionrec.experiments.progress import GridReport, format_duration, grid_eta, progress_line, to_terminal


def test_format_duration():
    assert [format_duration(s) for s in (0, 42, 59.4, 59.6, 126, 7199, 9000, -3)] == \
        ["0 s", "42 s", "59 s", "1.0 min", "2.1 min", "120.0 min", "2.5 h", "0 s"]


def test_grid_eta_hand_computed():
    # one worker: 2 runs of 100 s done after 250 s, so the third has run 50 s: 50 + 100 s left
    assert grid_eta(250, [100, 100], 2, 1) == pytest.approx(150)
    # two workers, all runs 100 s: after the first at t = 100 the second is done too (in flight 100 s);
    # 3 runs x 100 s - 100 s of work done, on 2 workers
    assert grid_eta(100, [100], 3, 2) == pytest.approx(100)
    assert grid_eta(100, [100, 100], 2, 2) == pytest.approx(100)
    assert grid_eta(200, [100, 100, 100], 1, 2) == pytest.approx(0)  # the last run is already done
    # in-flight work is capped at one mean run per busy worker (a stalled grid does not count as progress)
    assert grid_eta(1000, [100], 3, 1) == pytest.approx(200)
    assert grid_eta(5, [], 3, 2) is None and grid_eta(5, [], 0, 2) == 0
    with pytest.raises(ValueError, match="workers"):
        grid_eta(1, [1], 1, 0)


def test_progress_line():
    assert progress_line(7, 15, 126, 144, "r0.75_g1/seed_1", {"top1": 0.7123}) == \
        "grid 7/15 done, 2.1 min elapsed, ETA 2.4 min (r0.75_g1/seed_1: test top-1 71.2%)"
    assert progress_line(1, 4, 3, None, "a/seed_0", {"error": "loss is nan"}) == \
        "grid 1/4 done, 3 s elapsed, ETA ? (a/seed_0: diverged)"
    assert progress_line(2, 2, 61, 0) == "grid 2/2 done, 1.0 min elapsed, ETA 0 s"


def test_grid_report_lines_with_a_fake_clock():
    now, lines = [0.0], []
    report = GridReport(5, 4, 2, write=lines.append, clock=lambda: now[0])
    now[0] = 100.0
    report.finished("a/seed_0", {"top1": 0.5, "wall_s": 100.0})
    now[0] = 105.0
    line = report.finished("b/seed_0", {"top1": 0.25, "wall_s": 105.0})
    assert lines == ["grid: 5 runs, 4 to train (1 finished already), 2 at a time",
                     "grid 2/5 done, 1.7 min elapsed, ETA 1.7 min (a/seed_0: test top-1 50.0%)",
                     "grid 3/5 done, 1.8 min elapsed, ETA 1.7 min (b/seed_0: test top-1 25.0%)"]
    assert line == lines[-1]  # 2 runs x 102.5 s left, 2 x 105 - 205 = 5 s of it in flight, on 2 workers: 100 s
    quiet = []
    GridReport(3, 0, 2, write=quiet.append)
    GridReport(3, 3, 2, write=quiet.append, enabled=False).finished("a/seed_0", {})
    assert quiet == ["grid: 3 runs, all finished already (loaded, none trained)"]


class _KernelStream(io.StringIO):
    """Stands in for ipykernel's OutStream: what is printed goes to the notebook, ``fileno()`` is the
    kernel's original stderr."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


_KernelStream.__module__ = "ipykernel.iostream"


def test_to_terminal_writes_to_the_kernels_original_stderr(monkeypatch):
    r, w = os.pipe()
    try:
        stream = _KernelStream(w)
        monkeypatch.setattr(sys, "stderr", stream)
        assert to_terminal("grid 1/2 done")
        assert os.read(r, 100) == b"grid 1/2 done\n" and stream.getvalue() == ""  # not into the notebook
    finally:
        os.close(r)
        os.close(w)
    master, slave = os.openpty()
    try:
        monkeypatch.setattr(sys, "stderr", _KernelStream(slave))
        assert to_terminal("x")
        assert os.read(master, 100).startswith(b"\r\x1b[Kx")  # a TTY: erase the counter's line first
    finally:
        os.close(master)
        os.close(slave)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a kernel: nothing written
    assert not to_terminal("x")
    monkeypatch.setattr(sys, "stderr", _KernelStream(-1))  # a kernel without fd capture
    assert not to_terminal("x")
