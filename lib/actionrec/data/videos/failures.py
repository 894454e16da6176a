"""Bad-video bookkeeping of :class:`.dataset.VideoDataset`: problems, failed reads, short videos.

Problems found at construction (from the annotation parser: missing files, unknown classes; plus
zero-byte files, and with ``scan=True`` unreadable and truncated ones) are kept in ``.problems``
(those videos are not in ``.records``). A video that fails to read in ``__getitem__``
(``VideoReadError``) is recorded in ``.failures`` and appended as one JSON line of kind "failure"
to ``failures_file``; a video with fewer usable frames than a clip needs (or a few frames short of
its header's count) is listed once per process in ``.short_videos`` (kind "short"). Lines are
appended with ``O_APPEND``, one ``write`` each, so DataLoader workers and DDP ranks can share the
file. :meth:`BadVideoLog.failure_count` reads the file (so the training loop counts across
workers) and counts failed reads (every attempt on a bad video, the ones made while looking for a
replacement included: deterministic for a full pass whatever the worker count; ``unique=True``
counts distinct videos); :meth:`BadVideoLog.report` lists everything, one line each.
"""

from __future__ import annotations

import json
import logging
import os
import time

from ...utils.io import read_jsonl
from .records import Problem, VideoRecord
from .video_io import VideoReadError

__all__ = ["BadVideoLog"]

logger = logging.getLogger(__name__)


class BadVideoLog:
    """Mixin of :class:`.dataset.VideoDataset` holding its bad-video record (module docstring).

    The dataset calls :meth:`_init_bad_video_log` first and provides ``epoch``, ``mode``,
    ``problems``, ``num_videos`` and ``classes``.
    """

    def _init_bad_video_log(self, failures_file: str | os.PathLike | None) -> None:
        self.failures_file = os.fspath(failures_file) if failures_file is not None else None
        self.failures: list[Problem] = []
        self.short_videos: list[Problem] = []
        self._short_seen: set[str] = set()

    def _note_short(self, record: VideoRecord, reason: str, i: int) -> None:
        path = str(record.path)
        if path in self._short_seen:
            return
        self._short_seen.add(path)
        self.short_videos.append(Problem(path, reason))
        self._append_line({"kind": "short", "path": path, "reason": reason, "index": i})

    def _append_line(self, entry: dict) -> None:
        if self.failures_file is None:
            return
        entry = {**entry, "epoch": self.epoch, "mode": self.mode, "pid": os.getpid(), "time": round(time.time(), 3)}
        line = (json.dumps(entry) + "\n").encode()
        os.makedirs(os.path.dirname(os.path.abspath(self.failures_file)), exist_ok=True)
        fd = os.open(self.failures_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)  # one write per line: appends from several processes do not interleave
        finally:
            os.close(fd)

    def _record_failure(self, e: VideoReadError, i: int) -> None:
        first = all(p.path != e.path for p in self.failures)
        self.failures.append(Problem(e.path, e.reason))
        self._append_line({"kind": "failure", "path": e.path, "reason": e.reason, "index": i})
        if first:
            logger.warning("cannot read %s (%s); item %d uses the next readable video", e.path, e.reason, i)

    def _file_entries(self) -> list[dict]:
        if self.failures_file is None or not os.path.exists(self.failures_file):
            return []
        return read_jsonl(self.failures_file)  # a line cut by a crash is skipped

    def failure_count(self, *, epoch: int | None = None, unique: bool = False) -> int:
        """Failed reads so far: from ``failures_file`` if set (all processes), else this process's.

        ``epoch``: only those of that epoch; ``unique``: count distinct paths instead of reads.
        """
        if self.failures_file is not None:
            entries = [e for e in self._file_entries() if e.get("kind") == "failure"
                       and (epoch is None or e.get("epoch") == epoch)]
            paths = [e.get("path") for e in entries]
        else:
            if epoch is not None and epoch != self.epoch:
                return 0
            paths = [p.path for p in self.failures]
        return len(set(paths)) if unique else len(paths)

    def report(self) -> str:
        """Every problem, failed read and short video, one line each: ``kind  path: reason``."""
        failures: dict[tuple[str, str], int] = {}
        shorts: dict[str, str] = {p.path: p.reason for p in self.short_videos}
        entries = self._file_entries()
        if entries:
            for e in entries:
                if e.get("kind") == "failure":
                    key = (e.get("path", "?"), e.get("reason", "?"))
                    failures[key] = failures.get(key, 0) + 1
                elif e.get("kind") == "short":
                    shorts.setdefault(e.get("path", "?"), e.get("reason", "?"))
        else:
            for p in self.failures:
                failures[(p.path, p.reason)] = failures.get((p.path, p.reason), 0) + 1
        lines = [f"{self.num_videos} videos, {len(self.classes)} classes, mode={self.mode}: "
                 f"{len(self.problems)} problem(s) at construction, {sum(failures.values())} failed read(s) "
                 f"of {len(failures)} video(s), {len(shorts)} short video(s)"]
        lines += [f"problem  {p.path}: {p.reason}" for p in self.problems]
        lines += [f"failed   {path}: {reason} (x{n})" for (path, reason), n in failures.items()]
        lines += [f"short    {path}: {reason}" for path, reason in shorts.items()]
        return "\n".join(lines)
