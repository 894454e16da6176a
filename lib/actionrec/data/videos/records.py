"""What the annotation parsers return, and the file helpers they share.

:class:`VideoRecord` is one listed video (file, 0-based label, dataset-unique id, optional time
window in seconds); :class:`Problem` a listed video that cannot be used (path and reason);
:class:`Annotation` a parsed subset (records, class names in label order, problems). Every module
of :mod:`actionrec.data.videos` passes these around. :class:`Listing` reads each folder once, so
parsers test a file's existence without one ``stat`` per video.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .video_io import VIDEO_EXTENSIONS

__all__ = ["VideoRecord", "Problem", "Annotation", "Listing", "check_root", "need_file", "text_lines", "first_file",
           "subdirs"]


@dataclass(frozen=True)
class VideoRecord:
    """One video of a subset: its file, 0-based label, a dataset-unique id, optional time window (s)."""

    path: Path
    label: int
    video_id: str
    start: float | None = None  # read the video from this time (s); None = from its start
    end: float | None = None  # ... up to this time (s); None = to its end


@dataclass(frozen=True)
class Problem:
    """Something wrong with one listed video: its path and a short reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Annotation:
    """The parsed subset: usable records, class names in label order, problems found."""

    records: list[VideoRecord]
    classes: list[str]
    problems: list[Problem] = field(default_factory=list)


class Listing:
    """Directory listings, each read once: ``names(dir)`` -> set of entry names, ``stems(dir)``."""

    def __init__(self) -> None:
        self._names: dict[Path, frozenset[str]] = {}
        self._stems: dict[Path, dict[str, str]] = {}

    def names(self, d: Path) -> frozenset[str]:
        if d not in self._names:
            try:
                self._names[d] = frozenset(os.listdir(d))
            except OSError:
                self._names[d] = frozenset()
        return self._names[d]

    def exists(self, p: Path) -> bool:
        return p.name in self.names(p.parent)

    def stems(self, d: Path) -> dict[str, str]:
        """stem -> file name for the video files of ``d`` (preferring VIDEO_EXTENSIONS order)."""
        if d not in self._stems:
            out: dict[str, str] = {}
            rank = {e: i for i, e in enumerate(VIDEO_EXTENSIONS)}
            for name in sorted(self.names(d), key=lambda n: rank.get(os.path.splitext(n)[1].lower(), 99)):
                stem, ext = os.path.splitext(name)
                if ext.lower() in rank:
                    out.setdefault(stem, name)
            self._stems[d] = out
        return self._stems[d]


def check_root(root, name: str = "root") -> Path:
    """``root`` as a Path; ``FileNotFoundError`` naming the argument when it is not a folder."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{name}={str(root)!r} is not a folder; pass the folder that holds the dataset's videos")
    return root


def need_file(p: Path, what: str, arg: str) -> Path:
    """``p``; ``FileNotFoundError`` saying which argument (``arg``) gives its location when it is not a file."""
    if not p.is_file():
        raise FileNotFoundError(f"{what} not found at {str(p)!r}; pass {arg}= with its location")
    return p


def text_lines(p: Path) -> Iterable[tuple[int, str]]:
    """(1-based line number, stripped line) of the non-blank lines of a text file."""
    with open(p, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                yield n, line


def first_file(candidates: Iterable[Path]) -> Path | None:
    """The first of ``candidates`` that is a file, else None."""
    for c in candidates:
        if c.is_file():
            return c
    return None


def subdirs(d: Path) -> list[str]:
    """Sorted names of the sub-folders of ``d`` (hidden and ``_``-prefixed ones left out)."""
    return sorted(e.name for e in os.scandir(d) if e.is_dir() and not e.name.startswith((".", "_")))
