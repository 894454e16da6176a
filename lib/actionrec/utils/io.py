"""File IO that never leaves a partial file: atomic writes (temp file in the same folder, fsync,
``os.replace``, fsync of the folder), strict JSON (NaN/inf → null), JSON Lines and CSV.

Writers: :func:`atomic_write` (the primitive: ``write(f)`` on a binary temp file),
:func:`atomic_write_bytes`, :func:`atomic_save` (``torch.save``, e.g. checkpoints),
:func:`write_json` (strict, indented; :func:`json_bytes` and :func:`jsonable` convert) and
:func:`write_csv` (records with differing keys; lists and dicts as JSON cells). A reader sees the
old file or the complete new one; only a process killed mid-write can leave a hidden
``.NAME.tmpPID`` beside it. :func:`fsync_dir` makes a rename durable. Readers: :func:`read_json`
(a bad file is a ``ValueError`` naming it) and :func:`read_jsonl` (for append-only logs: a line
torn by a crash is skipped).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch


def fsync_dir(d: str | os.PathLike) -> None:
    """Make a rename inside ``d`` durable (POSIX); a no-op where a folder cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], *, durable: bool = True) -> None:
    """Write ``path`` by calling ``write(f)`` on a binary temp file in the same folder, then fsync and
    ``os.replace``: readers see the old file or the complete new one, never a partial one.

    ``durable=False`` skips both fsyncs (for caches that can be recomputed: a crash may lose the
    newest files, never leave a partial one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """:func:`atomic_write` of ``data``."""
    atomic_write(path, lambda f: f.write(data))


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` that leaves either the old file or the complete new one, never a partial one."""
    atomic_write(path, lambda f: torch.save(obj, f))


def jsonable(obj: Any) -> Any:
    """Replace NaN/inf by None (recursively through dicts, lists and tuples) so files stay strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def json_bytes(obj: Any, *, sort_keys: bool = False) -> bytes:
    """``obj`` as strict, indented JSON bytes ending in a newline."""
    return (json.dumps(jsonable(obj), indent=1, sort_keys=sort_keys) + "\n").encode()


def write_json(path: str | os.PathLike, obj: Any, *, sort_keys: bool = False) -> None:
    """Atomically write ``obj`` as strict, indented JSON."""
    atomic_write_bytes(path, json_bytes(obj, sort_keys=sort_keys))


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a ``ValueError`` names the file when it is not valid JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); delete or repair it") from None


def read_jsonl(path: str | os.PathLike, *, skip_bad: bool = True) -> list[Any]:
    """The records of a JSON Lines file; a torn last line (a crash mid-write) is skipped when ``skip_bad``."""
    out = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                if not skip_bad:
                    raise
    return out


def write_csv(path: str | os.PathLike, records: Sequence[Mapping[str, Any]],
              fields: Iterable[str] | None = None) -> None:
    """Atomically write ``records`` as CSV with the union of their keys (first-seen order) as header;
    lists and dicts become JSON, None an empty cell."""
    if fields is None:
        fields = list(dict.fromkeys(k for r in records for k in r))
    fields = list(fields)

    def cell(v: Any) -> Any:
        return json.dumps(jsonable(v)) if isinstance(v, (list, dict)) else "" if v is None else v

    def write(f):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({k: cell(v) for k, v in r.items()})
        f.write(buf.getvalue().encode())

    atomic_write(path, write)
