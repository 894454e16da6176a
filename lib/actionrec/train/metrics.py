"""The metrics log of a run: ``run_dir/metrics.jsonl`` (and, optionally, the same scalars as TensorBoard events).

One JSON object per line, ``"kind"`` in {train, epoch, val, test}: train = mean loss/acc over the last
``log_every`` steps, epoch = the epoch's train loss/acc (+ ``"bad_videos"`` for video datasets),
val/test = ``evaluate(...)``'s output; every line has step, epoch, lr and time (s). NaN/inf are
written as null (strict JSON). On resume the file is truncated back to the byte offset recorded in
the checkpoint, so a resumed run's log equals the uninterrupted one's; TensorBoard's ``purge_step``
hides the events a crashed session wrote past the checkpoint. Ranks > 0 log to :class:`NullLog`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..utils.io import jsonable

__all__ = ["MetricsLog", "NullLog", "log_meter"]

logger = logging.getLogger(__name__)


class MetricsLog:
    """Append-only JSONL file, truncated to ``offset`` bytes on open (drops lines after a checkpoint).

    ``tb_dir``: also write every numeric field of every line (but ``step``, the x axis) as the
    TensorBoard scalar ``"<kind>/<field>"`` at ``step``; ``purge_step`` hides the events a crashed
    session wrote past the checkpoint, as the truncation drops its lines.
    """

    def __init__(self, path: Path, offset: int, *, tb_dir: Path | None = None, purge_step: int | None = None):
        self.path = path
        with open(path, "ab") as f:  # creates the file; never pads it (a lost log restarts empty)
            f.truncate(min(offset, f.seek(0, os.SEEK_END)))
        self.tb = _summary_writer(tb_dir, purge_step) if tb_dir is not None else None

    def write(self, kind: str, **record) -> int:
        """Append one line; return the file's size after it (the checkpoint's ``metrics_offset``)."""
        line = jsonable({"kind": kind, **record})
        with open(self.path, "ab") as f:
            f.write((json.dumps(line) + "\n").encode())
            end = f.tell()
        if self.tb is not None:
            for key, value in line.items():
                if key not in ("kind", "step") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.tb.add_scalar(f"{kind}/{key}", value, global_step=record["step"])
        return end

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class NullLog:
    """What ranks > 0 log to: nothing (rank 0 writes the run's files)."""

    def write(self, kind: str, **record) -> int:
        return 0

    def close(self) -> None:
        pass


def _summary_writer(log_dir: Path, purge_step: int | None):
    try:  # an optional dependency: imported only when asked for
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ImportError("tensorboard=True needs the `tensorboard` package: pip install tensorboard==2.21.0 (pinned "
                          f"in requirements.txt), or set tensorboard=False ({type(e).__name__}: {e})") from e
    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)


def log_meter(log: MetricsLog | NullLog, kind: str, prog, meter: str, **extra) -> int:
    """Write the mean loss/acc of ``prog.meters[meter]`` (a ``Progress``) as one line, reset it; return
    the file size."""
    loss_sum, correct, n = prog.meters[meter]
    prog.meters[meter] = [0.0, 0, 0]
    line = dict(step=prog.step, epoch=prog.epoch + 1, loss=loss_sum / max(n, 1), acc=correct / max(n, 1), n=n, **extra)
    if not isinstance(log, NullLog):
        logger.info("%s %s", kind, " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in line.items()))
    return log.write(kind, **line)
