"""Committed reference results and whether the code still makes them (stale marking).

A chapter's reference results live under ``book/results/<chapter>/``; this module writes and checks
their provenance::

    book/results/<chapter>/
      provenance.json                  (below)
      runs/<name>/seed_<k>/config.json      the run's TrainConfig (seed included)
      runs/<name>/seed_<k>/fingerprint.json the code fingerprint the run was made with (compact JSON)
      runs/<name>/seed_<k>/reproduce.txt    one line: the command that retrains it

``provenance.json``::

    {"format": 1, "chapter", "commit", "dirty", "claims_sha256", "torch", "python", "cpu", "threads",
     "wall_s", "date" (UTC, ISO 8601), "command" (the chapter's command, or null),
     "runs": {"<name>/seed_<k>": {"config_tag", "seed", "fingerprint" (its hash), "dir"}}}

A reference is **stale** when the code no longer makes its runs: for some run, the fingerprint this
code computes for the recorded config (:func:`~actionrec.train.fingerprint.code_fingerprint`: model,
initial weights and the first training step; no training) does not match the recorded one
(:func:`~actionrec.train.fingerprint.same_fingerprint`), or the config cannot be built any more; or,
when the caller passes the chapter's current claims, their hash differs. :func:`check_reference`
decides one chapter, :func:`check_all` every chapter under a results root, and ``python -m
actionrec.experiments.references [ROOT]`` (``make check-references``) prints one line per chapter
and exits 1 when any is stale (0 when all are current or there are none).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch

from ..train import CONFIG_FILE, TrainConfig
from ..train.fingerprint import FINGERPRINT_FILE, code_fingerprint, read_fingerprint, same_fingerprint
from ..utils.io import write_json
from .grid import config_tag

__all__ = ["write_provenance", "check_reference", "check_all", "claims_hash", "git_commit", "cpu_model",
           "reproduce_command", "main", "PROVENANCE_FILE", "REPRODUCE_FILE", "RESULTS_ROOT", "PROVENANCE_FORMAT"]

#: The provenance record of a chapter's reference results.
PROVENANCE_FILE = "provenance.json"
#: One line per run: the command that retrains it.
REPRODUCE_FILE = "reproduce.txt"
#: Where the committed reference results live (relative to the repository root).
RESULTS_ROOT = "book/results"
#: Version of the provenance format.
PROVENANCE_FORMAT = 1


def claims_hash(claims: str | Mapping[str, Any] | Sequence[Any]) -> str:
    """SHA-256 (hex) of a chapter's declared claims: of the string itself, or of the JSON of a
    mapping / sequence (keys sorted; values JSON can't hold are written with ``str``)."""
    text = claims if isinstance(claims, str) else json.dumps(claims, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def git_commit(repo: str | os.PathLike = ".") -> tuple[str, bool]:
    """``(HEAD's commit hash, whether the work tree has uncommitted changes)`` of the git repository
    holding ``repo``; ValueError when it is not in one (or git is missing)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise ValueError(f"repo={os.fspath(repo)!r} is not inside a git work tree ({e}); pass commit= "
                         "explicitly") from None
    return sha.stdout.strip(), bool(status.stdout.strip())


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``), or ``"unknown"``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def reproduce_command(config_path: str, run_dir: str) -> str:
    """The one-line command that retrains a run from its ``config.json`` (seed included)."""
    return f"python -m actionrec.train --config {config_path} --run-dir {run_dir}"


def write_provenance(chapter_dir: str | os.PathLike, rows: Iterable[Mapping[str, Any]], *,
                     claims: str | Mapping[str, Any] | Sequence[Any], wall_s: float, commit: str | None = None,
                     repo: str | os.PathLike = ".", allow_dirty: bool = False, command: str | None = None,
                     threads: int | None = None) -> Path:
    """Write ``chapter_dir/provenance.json`` and every run's ``config.json``, ``fingerprint.json`` and
    ``reproduce.txt`` (layout in the module docstring); return the provenance path.

    ``rows``: the grid's rows (``name``, ``seed``, ``run_dir`` of finished runs, e.g. from
    :func:`~actionrec.experiments.grid.run_grid`); each ``run_dir`` must hold ``config.json`` and
    ``fingerprint.json``. ``claims``: the chapter's declared claims (hashed by :func:`claims_hash`).
    ``wall_s``: the grid's wall time. ``commit``: None reads HEAD of the git repository at ``repo``
    and refuses a tree with uncommitted changes unless ``allow_dirty`` (reference grids run from a
    clean worktree); a given commit is recorded as is (``dirty`` null). ``command``: the chapter's
    command line, recorded as is. ``threads``: torch threads each run trained with (None: this
    process's).
    """
    chapter_dir = Path(chapter_dir)
    dirty = None
    if commit is None:
        commit, dirty = git_commit(repo)
        if dirty and not allow_dirty:
            raise ValueError(f"the git tree at {os.fspath(repo)!r} has uncommitted changes: run reference grids from a "
                             "clean worktree at a fixed commit (git worktree add ...), or pass allow_dirty=True")
    if not isinstance(commit, str) or not commit:
        raise ValueError(f"commit={commit!r} must be a non-empty string (a git commit hash) or None (read from git)")
    runs: dict[str, dict[str, Any]] = {}
    for row in rows:
        name, seed, run_dir = row["name"], row["seed"], Path(row["run_dir"])
        try:
            saved = json.loads((run_dir / CONFIG_FILE).read_text())
            cfg = TrainConfig.from_dict(saved)
        except (OSError, ValueError) as e:
            raise ValueError(f"rows: {run_dir} has no readable {CONFIG_FILE} ({e}); pass rows of finished "
                             "runs") from None
        fp = read_fingerprint(run_dir)
        if fp is None:
            raise ValueError(f"rows: {run_dir} has no {FINGERPRINT_FILE} (made by code from before fingerprints); "
                             "retrain it with this code (delete the folder and run the grid again)")
        key = f"{name}/seed_{seed}"
        if key in runs:
            raise ValueError(f"rows: run {key!r} appears twice")
        rel = Path("runs") / name / f"seed_{seed}"
        out = chapter_dir / rel
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / CONFIG_FILE, saved)
        (out / FINGERPRINT_FILE).write_text(json.dumps(fp, separators=(",", ":")) + "\n")
        line = reproduce_command((rel / CONFIG_FILE).as_posix(), (Path("runs") / name / f"seed_{seed}").as_posix())
        (out / REPRODUCE_FILE).write_text(line + "\n")
        runs[key] = {"config_tag": config_tag(cfg), "seed": seed, "fingerprint": fp["hash"], "dir": rel.as_posix()}
    if not runs:
        raise ValueError("rows is empty; pass the rows of the chapter's finished runs")
    record = {
        "format": PROVENANCE_FORMAT, "chapter": chapter_dir.name, "commit": commit, "dirty": dirty,
        "claims_sha256": claims_hash(claims), "torch": str(torch.__version__), "python": platform.python_version(),
        "cpu": cpu_model(), "threads": threads or torch.get_num_threads(), "wall_s": float(wall_s),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "command": command, "runs": runs,
    }
    path = chapter_dir / PROVENANCE_FILE
    write_json(path, record)
    return path


def check_reference(chapter_dir: str | os.PathLike, *,
                    claims: str | Mapping[str, Any] | Sequence[Any] | None = None) -> dict[str, Any]:
    """Whether this code still makes the reference results in ``chapter_dir`` (no training).

    Returns ``{"chapter", "stale": bool, "stale_runs": ["<name>/seed_<k>", ...], "reason": str,
    "commit"}``: a run is stale when its recorded config no longer builds a TrainConfig or a model,
    or when the fingerprint computed now for it differs from the recorded one; ``claims`` (the
    chapter's current claims; None: not checked) makes the chapter stale when their hash differs
    from the recorded one. ``reason`` is ``"current"`` or says what changed.
    """
    chapter_dir = Path(chapter_dir)
    path = chapter_dir / PROVENANCE_FILE
    try:
        prov = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is missing or not valid JSON ({e}); write it with write_provenance") from None
    stale_runs, why = [], []
    for key, run in prov.get("runs", {}).items():
        run_dir = chapter_dir / run["dir"]
        try:
            cfg = TrainConfig.from_dict(json.loads((run_dir / CONFIG_FILE).read_text()))
            now = code_fingerprint(cfg)
        except Exception as e:  # noqa: BLE001  (any failure to rebuild the run means it is not made any more)
            stale_runs.append(key)
            why.append(f"{key}: cannot be rebuilt ({type(e).__name__}: {e})")
            continue
        if not same_fingerprint(read_fingerprint(run_dir), now):
            stale_runs.append(key)
            why.append(f"{key}: fingerprint {run['fingerprint'][:8]} -> {now['hash'][:8]}")
    claims_changed = claims is not None and claims_hash(claims) != prov.get("claims_sha256")
    if claims_changed:
        why.insert(0, "the declared claims changed")
    reason = "current" if not why else "; ".join(why[:4]) + (f"; ... ({len(why) - 4} more)" if len(why) > 4 else "")
    return {"chapter": prov.get("chapter", chapter_dir.name), "stale": bool(stale_runs) or claims_changed,
            "stale_runs": stale_runs, "reason": reason, "commit": prov.get("commit")}


def check_all(results_root: str | os.PathLike = RESULTS_ROOT) -> list[dict[str, Any]]:
    """:func:`check_reference` of every ``results_root/<chapter>/`` holding a ``provenance.json``, by
    chapter name; ``[]`` when there are none (or the root does not exist)."""
    root = Path(results_root)
    if not root.is_dir():
        return []
    return [check_reference(d) for d in sorted(p.parent for p in root.glob(f"*/{PROVENANCE_FILE}"))]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionrec.experiments.references [RESULTS_ROOT]``: one line per chapter (current /
    STALE with its runs); exit status 1 when any chapter is stale, else 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: python -m actionrec.experiments.references [RESULTS_ROOT]  (default: book/results)")
        return 2
    root = args[0] if args else RESULTS_ROOT
    results = check_all(root)
    if not results:
        print(f"no committed reference results under {root} (no */{PROVENANCE_FILE}): nothing to check")
        return 0
    for r in results:
        commit = (r.get("commit") or "?")[:10]
        if r["stale"]:
            runs = ", ".join(r["stale_runs"]) or "-"
            print(f"{r['chapter']}: STALE (made at {commit}; {len(r['stale_runs'])} runs: {runs}) - {r['reason']}")
        else:
            print(f"{r['chapter']}: current (made at {commit}; fingerprints match)")
    stale = [r["chapter"] for r in results if r["stale"]]
    print(f"{len(stale)} of {len(results)} chapters stale" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
