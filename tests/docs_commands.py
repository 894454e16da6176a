"""Helpers for the documentation tests: what the README and the book tell a reader to run, and tiny
datasets in the official layouts for those commands to run on.

- ``python_blocks(path)``: every fenced ```python block of a markdown file, with its line number.
- ``documented_commands(paths)``: every shell command a markdown file documents: each command of a
  fenced ```bash block (backslash continuations joined, comment lines and trailing ``# comments``
  dropped) and every inline code span that starts with a program name (``make``, ``python``,
  ``papermill``, ``torchrun``, ``pip``, ...; a span may wrap over a line break). Whitespace is
  collapsed to single spaces, so a command is the key it is listed under in the tests.
- ``write_ucf101`` / ``write_hmdb51`` / ``write_kinetics``: a few tiny videos per class, written with
  PyAV (MPEG-4 AVI as UCF-101 and HMDB-51 ship, H.264 MP4 as Kinetics clips), and each dataset's own
  annotation files (``ucfTrainTestlist/``, ``testTrainMulti_7030_splits/``, ``train.csv``/``val.csv``).

The video writer is PyAV's plain encode loop, not ``actionrec``'s, so these fixtures do not depend
on where the library keeps its video IO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

# A code span is a command when its first word is one of these programs.
PROGRAMS = ("make", "python", "python3", "papermill", "torchrun", "pip", "conda", "jupytext", "jupyter",
            "jupyter-book", "source", "bash", "unrar", "nice", "taskset")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.S)


@dataclass
class Command:
    text: str  # whitespace collapsed
    where: list[str] = field(default_factory=list)  # "README.md:42", one per mention


def _fences(path: Path):
    """(language, first line number, lines) per fenced block, and the prose between them (line, text)."""
    lines = path.read_text().splitlines()
    blocks, prose, i = [], [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m:
            fence, lang, start, body = m.group(1), m.group(2).lower(), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            blocks.append((lang, start + 1, body))
        else:
            prose.append((i + 1, lines[i]))
        i += 1
    return blocks, prose


def python_blocks(path: Path) -> list[tuple[str, str]]:
    """(``FILE:LINE``, source) of every ```python block of ``path``."""
    blocks, _ = _fences(Path(path))
    return [(f"{Path(path).name}:{line}", "\n".join(body) + "\n")
            for lang, line, body in blocks if lang in ("python", "py")]


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside quotes or a word is kept)."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def _bash_commands(body: list[str]) -> list[tuple[int, str]]:
    out, pending, first = [], "", 0
    for k, raw in enumerate(body):
        line = raw if pending else raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            first = k
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((first, _strip_comment(pending + line)))
        pending = ""
    if pending:
        out.append((first, _strip_comment(pending)))
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


def documented_commands(paths) -> list[Command]:
    """Every documented shell command of the markdown files ``paths``, in order of first mention
    (file by file, then by line)."""
    found: dict[str, Command] = {}

    def add(text: str, where: str) -> None:
        text = _norm(text)
        if text:
            found.setdefault(text, Command(text)).where.append(where)

    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    for path in paths:
        blocks, prose = _fences(path)
        for lang, line, body in blocks:
            if lang in ("bash", "sh", "shell", "console"):
                for k, cmd in _bash_commands(body):
                    add(cmd, f"{path.name}:{line + k}")
        # inline spans: scan the prose between fences as one text, keeping line numbers
        text = "\n".join(t for _, t in prose)
        starts = np.cumsum([0] + [len(t) + 1 for _, t in prose])
        for m in _SPAN.finditer(text):
            span = _norm(m.group(2))
            if span.split(" ", 1)[0] in PROGRAMS:
                add(span, f"{path.name}:{prose[int(np.searchsorted(starts, m.start(), 'right')) - 1][0]}")
    def order(where: str) -> tuple[int, int]:
        name, line = where.rsplit(":", 1)
        return names.index(name), int(line)

    for c in found.values():
        c.where.sort(key=order)
    return sorted(found.values(), key=lambda c: order(c.where[0]))  # in document order


# ---------------------------------------------------------------------------------------------------
# tiny datasets in the official layouts

def write_video(path: Path, frames: np.ndarray, *, codec: str = "mpeg4", fps: int = 25) -> None:
    """uint8 RGB ``frames`` (T, H, W, 3), H and W even, to ``path`` (container from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        container.mux(stream.encode())


def moving_bar(cls: int, vid: int, n: int = 40, h: int = 48, w: int = 64) -> np.ndarray:
    """A bright bar moving right at a class-specific speed over a class-specific grey, plus noise."""
    frames = np.full((n, h, w, 3), 40 + 60 * (cls % 4), np.uint8)
    x = (np.arange(n) * (cls + 1) + 3 * vid) % (w - 8)
    for t in range(n):
        frames[t, :, x[t]:x[t] + 8] = 255
    noise = np.random.default_rng([cls, vid]).integers(0, 20, frames.shape)
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


def write_ucf101(root: Path, classes=("ApplyEyeMakeup", "Basketball", "JumpRope"), videos: int = 4) -> Path:
    """UCF-101 layout: ``<Class>/v_<Class>_gXX_c01.avi`` and ``ucfTrainTestlist/`` (classInd.txt,
    trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt); in split k the groups k, k+3, ... are the test ones
    (one test video per class with the default 4 videos: multi-view testing stays cheap)."""
    ann = root / "ucfTrainTestlist"
    ann.mkdir(parents=True, exist_ok=True)
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    rels = [(f"{c}/v_{c}_g{g + 1:02d}_c01.avi", i, g) for i, c in enumerate(classes) for g in range(videos)]
    for rel, i, g in rels:
        write_video(root / rel, moving_bar(i, g))
    for fold in (1, 2, 3):
        test = [(rel, i) for rel, i, g in rels if g % 3 == fold - 1]
        (ann / f"trainlist0{fold}.txt").write_text("".join(f"{r} {i + 1}\r\n" for r, i, g in rels if g % 3 != fold - 1))
        (ann / f"testlist0{fold}.txt").write_text("".join(f"{r}\r\n" for r, _ in test))
    return root


def write_hmdb51(root: Path, classes=("brush_hair", "cartwheel"), videos: int = 4) -> Path:
    """HMDB-51 layout: ``<class>/<video>.avi`` and ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt``
    (marker 1 = train, 2 = test, 0 = unused)."""
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(classes):
        names = [f"{c}_v{g}_f_cm_np1_fr_med_{g}.avi" for g in range(videos)]
        for g, name in enumerate(names):
            write_video(root / c / name, moving_bar(i, g))
        for fold in (1, 2, 3):
            marks = [2 if g % 3 == fold - 1 else 1 for g in range(videos)]
            (splits / f"{c}_test_split{fold}.txt").write_text("".join(f"{n} {m} \n" for n, m in zip(names, marks)))
    return root


def write_kinetics(root: Path, classes=("abseiling", "air drumming", "juggling balls"), videos: int = 4) -> Path:
    """Kinetics layout: ``train.csv``/``val.csv`` (label,youtube_id,time_start,time_end,split) and
    ``<subset>/<label>/<id>_<start:06d>_<end:06d>.mp4`` (the official downloader's names, H.264)."""
    rows = {"train": [], "val": []}
    for i, c in enumerate(classes):
        for g in range(videos):
            subset = "val" if g % 3 == 0 else "train"
            yid = f"{c[:3]}{g:08d}".replace(" ", "_")
            write_video(root / subset / c / f"{yid}_{g:06d}_{g + 2:06d}.mp4", moving_bar(i, g), codec="h264")
            rows[subset].append(f"{c},{yid},{g},{g + 2},{subset}\n")
    for subset, lines in rows.items():
        (root / f"{subset}.csv").write_text("label,youtube_id,time_start,time_end,split\n" + "".join(lines))
    return root
