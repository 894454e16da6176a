"""Progress of a training grid as plain lines in the terminal that started the kernel.

::

    GridReport(total=15, to_train=12, workers=2)  ─→ "grid: 15 runs, 12 to train (3 finished already), 2 at a time"
    .finished("r0.75_g1-3f2a1b0c/seed_1", result)  ─→ "grid 7/15 done, 2.1 min elapsed, ETA 2.4 min
                                                        (r0.75_g1-3f2a1b0c/seed_1: test top-1 71.2%)"

Where the lines go (:func:`to_terminal`): inside a Jupyter kernel (papermill, ``make ablation``,
JupyterLab) ``sys.stderr`` is ipykernel's stream to the notebook, and ``sys.stderr.fileno()`` is
the kernel's *original* stderr, i.e. the terminal of papermill (or of the Jupyter server); a line
written there with ``os.write`` appears in that terminal and not in the notebook. On a TTY the
line first erases the current line (papermill's ``\\r``-updated cell counter). Outside a kernel
(``sys.stderr`` is not ipykernel's: a script, pytest) nothing is written: tqdm's bar already shows the progress there.

ETA (:func:`grid_eta`): the runs left take the mean duration ``m`` of the runs finished so far;
``W`` workers have been busy since the grid started, so after ``elapsed`` seconds the runs in
flight have done ``W * elapsed - sum(durations)`` seconds of work (clipped to ``[0, busy * m]``,
``busy = min(W, remaining)``); ``ETA = (remaining * m - in_flight) / busy``. With one worker this
is ``remaining * m`` less the time the current run has already taken.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from typing import Any, Callable, Mapping, Sequence

from ..utils.checks import check_int

__all__ = ["GridReport", "format_duration", "grid_eta", "progress_line", "to_terminal"]


def format_duration(seconds: float) -> str:
    """``"42 s"`` below a minute, ``"2.1 min"`` below two hours, else ``"2.5 h"``."""
    if seconds < 59.5:
        return f"{max(0.0, seconds):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def grid_eta(elapsed_s: float, durations: Sequence[float], remaining: int, workers: int) -> float | None:
    """Seconds until the ``remaining`` runs are done (module docstring: the formula); None before
    any run finished, 0 when none remains."""
    check_int("remaining", remaining, min_value=0)
    check_int("workers", workers, min_value=1)
    if remaining == 0:
        return 0.0
    if not durations:
        return None
    m = statistics.fmean(durations)
    busy = min(workers, remaining)
    in_flight = min(max(0.0, workers * elapsed_s - sum(durations)), busy * m)
    return max(0.0, remaining * m - in_flight) / busy


def progress_line(done: int, total: int, elapsed_s: float, eta_s: float | None, run: str | None = None,
                  result: Mapping[str, Any] | None = None) -> str:
    """``"grid 7/15 done, 2.1 min elapsed, ETA 2.4 min (run: test top-1 71.2%)"``; the ETA reads
    ``"ETA ?"`` when unknown; ``result`` (fit's result) adds the run's test top-1, or "diverged"
    when it carries an ``error``."""
    eta = "?" if eta_s is None else format_duration(eta_s)
    line = f"grid {done}/{total} done, {format_duration(elapsed_s)} elapsed, ETA {eta}"
    if run is None:
        return line
    if result is not None and result.get("error"):
        what = ": diverged"
    elif result is not None and result.get("top1") is not None:
        what = f": test top-1 {100 * result['top1']:.1f}%"
    else:
        what = ""
    return f"{line} ({run}{what})"


def to_terminal(line: str) -> bool:
    """Write ``line`` to the terminal that started this Jupyter kernel (not into the notebook);
    return whether it was written (False outside a kernel or where the kernel does not expose
    its original stderr)."""
    stream = sys.stderr
    if not type(stream).__module__.startswith("ipykernel."):
        return False  # a script, a terminal, pytest's capture: not a kernel
    try:
        fd = stream.fileno()  # ipykernel: a copy of the kernel's original stderr
        prefix = "\r\033[K" if os.isatty(fd) else ""
        os.write(fd, (prefix + line + "\n").encode())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return True


class GridReport:
    """One line per finished run of a grid of ``total`` runs, ``to_train`` of which train now on
    ``workers`` processes, sent to ``write`` (default :func:`to_terminal`); the clock starts at
    construction, which also writes the header line. ``enabled=False`` writes nothing."""

    def __init__(self, total: int, to_train: int, workers: int, *, enabled: bool = True,
                 write: Callable[[str], Any] = to_terminal, clock: Callable[[], float] = time.monotonic):
        self.total, self.to_train, self.workers = total, to_train, max(1, min(workers, max(1, to_train)))
        self.enabled, self.write, self.clock = enabled, write, clock
        self.durations: list[float] = []
        self.done = total - to_train
        self.t0 = clock()
        if enabled:
            reused = f" ({self.done} finished already)" if self.done else ""
            at_once = f", {self.workers} at a time" if to_train > 1 else ""
            write(f"grid: {total} runs, {to_train} to train{reused}{at_once}" if to_train else
                  f"grid: {total} runs, all finished already (loaded, none trained)")

    def finished(self, run: str, result: Mapping[str, Any]) -> str:
        """Count run ``run`` (``"name/seed_k"``) as done with ``fit``'s ``result``; write and return its line."""
        self.done += 1
        if result.get("wall_s") is not None:
            self.durations.append(float(result["wall_s"]))
        elapsed = self.clock() - self.t0
        remaining = self.total - self.done
        line = progress_line(self.done, self.total, elapsed, grid_eta(elapsed, self.durations, remaining, self.workers),
                             run, result)
        if self.enabled:
            self.write(line)
        return line
