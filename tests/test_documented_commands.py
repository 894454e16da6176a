"""Every command the README and the book document runs as written, with smoke substitutions.

The commands are extracted from ``README.md`` and ``book/*.md`` (``tests/docs_commands.py``: every
command of a ```bash block and every inline code span starting with a program name). Each is run
with ``bash -c`` from the repository root, with the venv running these tests first on ``PATH``
(``sys.prefix``: ``.venv`` of the checkout in CI), after the substitutions of ``SUBSTITUTIONS``,
applied in order: the only changes made to a documented command, each with its reason. Dataset
roots become tiny generated trees in the official layouts, sizes become tiny, notebooks run their
``smoke`` configuration, and everything a command writes goes to a temp folder, never into the
repository. A command that cannot run here is listed in ``SKIPPED`` with the reason; every other
documented command is run, so a newly documented command cannot go untested.

Order: a command that reads a run dir (``--resume runs/X``, ``--init-from runs/X``, ``evaluate
--run-dir runs/X``) first runs the documented command that trains ``runs/X`` (each command runs at
most once per session); notebook commands share their output folders the way the repository's
``build/`` is shared, so finished smoke runs are reused by the later commands, as documented.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docs_commands import documented_commands, write_hmdb51, write_kinetics, write_ucf101

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]
VENV = Path(sys.prefix)  # the venv running the tests (CI: .venv of the checkout)
BIN = Path(sys.executable).parent
TIMEOUT_S = 1200

# Documented commands that are not run, and why.
SKIPPED = {
    "make test": "the test suite itself (CI runs it); running it from one of its own tests would recurse",
    "make lab": "starts a JupyterLab server that runs until it is stopped",
    "make run-NAME": "a placeholder; every concrete `make run-<notebook>` of the chapter table is run",
    "python3 -m venv": "a fragment of prose (what the make targets do on a fresh clone), not a whole command",
    "jupytext --sync": "a fragment of prose (what `make sync` runs, with the notebook files); `make sync` is run",
    "pip install -r requirements.txt": "needs the network (and would reinstall the venv running these tests); "
                                       "CI's `make install` runs this install on every fresh clone",
    "conda env create -f environment.yml && conda activate actionrec": "needs conda and the network; "
                                       "tests/test_install.py keeps environment.yml equal to requirements.txt",
    "unrar x UCF101.rar": "needs the downloaded UCF-101 archive (and unrar); the tests write a UCF-101 tree instead",
    "bash .ci/run": "CI itself: deletes and reinstalls the .venv running these tests, then runs the whole suite",
    "make clean": "deletes build/, book/_build, book/_generated and runs/ of the checkout the tests run in",
}

# (pattern, replacement, why), applied in this order to every command that is run. Placeholders:
# {tmp} (this session's temp folder), {ucf101} {hmdb51} (generated dataset trees), {k400_toml},
# {book_root} {sync_root} (temp mirrors of the repository), {venv}, {port}.
SUBSTITUTIONS = [
    # --- make ---------------------------------------------------------------------------------------
    (r'^make (ablation|run-\w+)(?: NOTEBOOK_ARGS="([^"]*)")?$', r'make \1 NOTEBOOK_ARGS="\2 -p smoke True"',
     "the notebook's smoke configuration (under a minute) instead of its default grid; documented "
     "parameters stay, before it (they are checked before smoke shrinks the grid: `-p substreams '[1, 8]'` "
     "reaches the notebook as a string)"),
    (r"^make book$", "make book NOTEBOOK_ARGS=--smoke",
     "the documented smoke build; the default executes every chapter's full grid (about an hour)"),
    (r"^make book\b", "make -C {book_root} book",
     "book/build.py writes book/_generated, book/_build and build/NAME_smoke next to itself: it runs in a "
     "temp mirror of the repository (book/ and notebooks/ copied, everything else linked); its build/NAME_smoke "
     "link to the results of `make run-NAME` when that ran first, so the book reuses their finished runs"),
    (r"^make sync\b", "make -C {sync_root} sync",
     "`jupytext --sync` rewrites notebooks/: it runs in a temp mirror with notebooks/ copied"),
    (r"^make check-references$", "{venv}/bin/python -m actionrec.experiments.references {tmp}/no_references",
     "the same entry point on an empty results folder (exit 0): the committed references may be stale, which "
     "the chapters and the scoreboard mark, and which must not fail the tests"),
    (r"^make ", "make VENV={venv} -o {venv}/.installed OUT={tmp}/build ",
     "the venv running these tests, never reinstalled by them (-o: the install stamp counts as up to date); "
     "results under {tmp}/build instead of the repository's build/"),
    # --- papermill ------------------------------------------------------------------------------------
    (r"^(papermill \S+\.ipynb) (\S+\.ipynb)", r"\1 {tmp}/\2", "the executed notebook goes to the temp folder"),
    (r"^(papermill notebooks/(\w+)\.ipynb .*)$", r"\1 -p smoke True -p out_dir {tmp}/build/\2",
     "the reader's parameters stay and are checked first; then the smoke configuration, and results "
     "where `make` puts them ({tmp}/build/NAME: finished smoke runs are shared, as in build/)"),
    # --- datasets, configs, run folders -------------------------------------------------------------------
    (r"/data/UCF-101\b", "{ucf101}",
     "UCF-101: a generated tree in its official layout (3 classes x 4 videos of 40 frames, 48x64, "
     "MPEG-4 AVI, ucfTrainTestlist/ with the three splits: 9 training and 3 test videos each)"),
    (r"--init-from (\S+) --dataset hmdb51 \.\.\.",
     r"--init-from \1 --dataset hmdb51 --data-root {hmdb51} --split 1 --model c3d_small --model-kw width=0.25 "
     r"--data-kw frames=8 --data-kw size=32 --epochs 1 --batch-size 4 --run-dir {tmp}/runs/hmdb51_finetune",
     "`...` stands for the rest of a config: k400.toml's model on a generated HMDB-51 tree "
     "(2 classes x 4 videos, testTrainMulti_7030_splits/), tiny sizes"),
    (r"--config k400\.toml\b", "--config {k400_toml}",
     "k400.toml is the reader's own config: a generated one (c3d_small at width 0.25 on a generated "
     "Kinetics-400-shaped tree, train.csv/val.csv, 1 epoch, batch 4, 8x32x32 clips)"),
    (r"(?<![\w./-])runs/", "{tmp}/runs/", "run folders in the temp folder instead of the repository's runs/"),
    (r"(?<![\w.-])/fast/", "{tmp}/fast/", "the frame cache in the temp folder instead of /fast"),
    # --- sizes ------------------------------------------------------------------------------------------
    (r"--data-kw size=112\b", "--data-kw size=32", "32x32 crops (MTNet's minimum) instead of 112x112"),
    (r"--epochs 30\b", "--epochs 1", "one epoch"),
    (r"--num-workers 8\b", "--num-workers 2", "two DataLoader workers on a 2-core machine (still the worker path)"),
    (r"^(python -m actionrec\.train --model .*)$", r"\1 --batch-size 4 --model-kw width=0.125",
     "batch 4 (the generated split has 9 training videos) and the network at 1/8 of its width; "
     "given last, these override the documented values"),
    (r"^(python -m [\w.]+)$", r"\1 --help",
     "a module named in prose without arguments: its entry point runs with --help (as written it would "
     "train or prepare with the defaults, for minutes)"),
    (r"^torchrun --nproc-per-node 4 ", "torchrun --nproc-per-node 2 --master-port {port} ",
     "two processes (gloo on CPU) on a free port instead of four GPUs"),
    # --- benchmarks: the smallest settings of each script's own flags ----------------------------------
    (r"^(python benchmarks/speed\.py.*)$", r"\1 --quick --reps 1 --warmup 1 --batch 2", "one timed round, batch 2"),
    (r"^(python benchmarks/srtg_complexity\.py.*)$", r"\1 --reps 1 --warmup 1 --batch 2", "one timed round, batch 2"),
    (r"^(python benchmarks/temporal_kernels\.py.*)$", r"\1 --reps 1 --warmup 1", "one timed round"),
    (r"^(python benchmarks/data_speed\.py.*)$", r"\1 --repeats 1 --batch-size 4 --widths 0.5",
     "one repeat, batch 4, one width"),
    (r"^(python benchmarks/synthactions_baselines\.py.*)$",
     r"\1 --epochs 1 --train-samples 64 --out {tmp}/build/baselines",
     "one epoch on 64 clips, runs in the temp folder instead of build/baselines"),
    (r"^(python benchmarks/video_decode\.py.*)$",
     r"\1 --videos 4 --seconds 2 --clips 8 --rounds 1 --workers 0 2 --model-reps 1 --widths 0.25",
     "4 videos of 2 s, 8 clips per measurement, one round, 0 and 2 workers, one model width"),
    (r"^(python benchmarks/real_data_cost\.py.*)$", r"\1 --quick --models c3d_small@8x32x32,mtnet32@16x112",
     "two small rows (every code path: meta-device counts and the CPU timing) instead of every paper model"),
]

# Skips and rules kept for commands the docs may add: exempt from the checks that every entry of
# SKIPPED is documented and that every substitution matches a documented command.
STANDING = {"bash .ci/run", "make clean", r"^(python -m [\w.]+)$"}

# A command whose final form still names one of these would read or write outside the temp folder.
OUTSIDE = re.compile(r"(?:^|\s|=)(?:/data/|/fast/|runs/|build/|out\.ipynb)")


def substitute(cmd: str, ctx: dict[str, str]) -> str:
    """``cmd`` after every substitution, with the placeholders filled from ``ctx``."""
    for pattern, repl, _ in SUBSTITUTIONS:
        cmd = re.sub(pattern, repl, cmd)
    return re.sub(r"\{(\w+)\}", lambda m: ctx.get(m.group(1), m.group(0)), cmd)


COMMANDS = documented_commands(DOCS)
RUN = [c for c in COMMANDS if c.text not in SKIPPED]
RUN.sort(key=lambda c: c.text.startswith("make book"))  # last: it re-renders the runs of `make run-NAME`
FAST = ("source ",)  # the rest train, execute notebooks or time networks: marked slow


def _producer(cmd: str) -> str | None:
    """The ``runs/X`` a command trains (``--run-dir`` of ``actionrec.train`` without ``--resume``)."""
    m = re.search(r"--run-dir (runs/\S+)", cmd)
    return m.group(1) if m and "actionrec.train" in cmd and "--resume" not in cmd else None


PRODUCERS = {d: c.text for c in COMMANDS if (d := _producer(c.text))}


def _mirror(dest: Path, copied: tuple[str, ...]) -> Path:
    """A folder that looks like the repository: ``copied`` top-level folders copied (without build
    outputs), every other top-level entry a symlink."""
    dest.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in (".git", "build"):
            continue
        if entry.name in copied:
            shutil.copytree(entry, dest / entry.name, symlinks=True,
                            ignore=shutil.ignore_patterns("_build", "_generated", ".ipynb_checkpoints", "__pycache__"))
        else:
            (dest / entry.name).symlink_to(entry)
    return dest


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far, grandchildren included."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _ignored(name: str) -> bool:
    """Whether git ignores the top-level entry ``name`` (False outside a git checkout)."""
    try:
        return subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, capture_output=True).returncode == 0
    except OSError:
        return False


class Runner:
    """Runs documented commands (each final command at most once), producers of run dirs first."""

    def __init__(self, tmp: Path):
        self.tmp, self.done, self.cpu = tmp, {}, {}
        self.ctx = {"tmp": str(tmp), "venv": str(VENV), "port": _free_port(),
                    "ucf101": str(write_ucf101(tmp / "data" / "UCF-101")),
                    "hmdb51": str(write_hmdb51(tmp / "data" / "HMDB-51")),
                    "book_root": str(_mirror(tmp / "book_mirror", ("book", "notebooks"))),
                    "sync_root": str(_mirror(tmp / "sync_mirror", ("notebooks",)))}
        (tmp / "build").mkdir()  # as after `make ablation`: `papermill ... build/NAME.ipynb` writes there
        kinetics = write_kinetics(tmp / "data" / "Kinetics")
        self.ctx["k400_toml"] = str(tmp / "k400.toml")
        (tmp / "k400.toml").write_text(
            'model = "c3d_small"\ndataset = "kinetics"\nepochs = 1\nbatch_size = 4\n\n'
            "[model_kwargs]\nwidth = 0.25\n\n"
            f'[dataset_kwargs]\ndata_root = "{kinetics}"\nframes = 8\nsize = 32\n')
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(VENV),
                    "PYTHONUNBUFFERED": "1"}

    def final(self, text: str) -> str:
        return substitute(text, self.ctx)

    def run(self, text: str) -> tuple[int, float, str]:
        """(exit status, seconds, log) of the documented command ``text``."""
        for run_dir, producer in PRODUCERS.items():
            if producer != text and re.search(rf"(?<![\w./-]){re.escape(run_dir)}(?![\w/-])", text):
                rc, _, log = self.run(producer)
                assert rc == 0, f"`{producer}` (which trains {run_dir}) failed:\n{log[-4000:]}"
        cmd = self.final(text)
        if cmd in self.done:  # e.g. `make book` and `make book NOTEBOOK_ARGS=--smoke`
            return self.done[cmd]
        if cmd.startswith("make ") and " book" in cmd:  # the book re-renders the runs `make run-NAME` trained
            for nb in (ROOT / "notebooks").glob("*.ipynb"):
                out = self.tmp / "build" / nb.stem
                link = Path(self.ctx["book_root"]) / "build" / f"{nb.stem}_smoke"
                if out.is_dir() and not link.exists():
                    link.parent.mkdir(exist_ok=True)
                    link.symlink_to(out)
        before = set(os.listdir(ROOT))
        t0, cpu0 = time.time(), _children_cpu()
        p = subprocess.Popen(["bash", "-c", cmd], cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            log, rc = p.communicate(timeout=TIMEOUT_S)[0], p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the command's whole process group (papermill's kernel too)
            rc, log = -1, p.communicate()[0] + f"\n[timed out after {TIMEOUT_S} s]"
        seconds, cpu = time.time() - t0, _children_cpu() - cpu0
        new = sorted(n for n in set(os.listdir(ROOT)) - before if not _ignored(n))
        if new and rc == 0:
            rc, log = 1, log + f"\n[wrote into the repository: {new}]"
        self.done[cmd] = (rc, seconds, f"$ {cmd}\n{log}")
        self.cpu[cmd] = cpu
        return self.done[cmd]


@pytest.fixture
def runner(docs_runner):
    """The session's :class:`Runner` (``conftest.docs_runner``: the browser test reads the book it builds)."""
    return docs_runner


def test_every_documented_command_is_run_or_skipped_with_a_reason():
    texts = {c.text for c in COMMANDS}
    assert "make ablation" in texts and any(t.startswith("torchrun ") for t in texts), "the extraction found nothing"
    stale = sorted(set(SKIPPED) - texts - STANDING)
    assert not stale, f"SKIPPED lists commands that are no longer documented: {stale}"
    assert texts <= {c.text for c in RUN} | set(SKIPPED) and not {c.text for c in RUN} & set(SKIPPED)
    unused = [p for p, _, _ in SUBSTITUTIONS
              if p not in STANDING and not any(re.search(p, _staged(c.text, p)) for c in RUN)]
    assert not unused, f"substitutions that match no documented command (stale): {unused}"


def test_extraction_joins_continuations_drops_comments_and_reads_wrapped_spans(tmp_path):
    md = tmp_path / "doc.md"
    md.write_text("Run `make ablation` or\n`python\n  benchmarks/speed.py --quick` (not `--flag`, not `x = 1`).\n\n"
                  "```bash\n# a comment line\npython -m a.b --x 1 \\\n    --y '#not a comment'  # a comment\n\n"
                  "make ablation\n```\n\n```\nmake lab\n```\n")
    found = {c.text: c.where for c in documented_commands([md])}
    assert found == {"make ablation": ["doc.md:1", "doc.md:10"], "python benchmarks/speed.py --quick": ["doc.md:2"],
                     "python -m a.b --x 1 --y '#not a comment'": ["doc.md:7"]}


def _staged(text: str, upto: str) -> str:
    """``text`` after the substitutions listed before ``upto`` (placeholders left in)."""
    for pattern, repl, _ in SUBSTITUTIONS:
        if pattern == upto:
            break
        text = re.sub(pattern, repl, text)
    return text


def test_substituted_commands_stay_in_the_temp_folder():
    ctx = {k: f"<{k}>" for k in ("tmp", "venv", "port", "ucf101", "hmdb51", "book_root", "sync_root", "k400_toml")}
    outside = {c.text: cmd for c in RUN if OUTSIDE.search(cmd := substitute(c.text, ctx))}
    assert not outside, f"add a substitution for: {outside}"


def _id(text: str) -> str:
    text = re.sub(r"python -m actionrec\.", "", text)
    return text if len(text) <= 72 else text[:46] + "..." + text[-23:]


@pytest.mark.parametrize(
    "text", [pytest.param(c.text, id=_id(c.text), marks=() if c.text.startswith(FAST) else pytest.mark.slow)
             for c in RUN])
def test_documented_command_runs(text, runner):
    rc, seconds, log = runner.run(text)
    print(f"\n{seconds:7.1f} s wall {runner.cpu.get(runner.final(text), 0.0):7.1f} s CPU  {text}")
    where = next(c.where for c in COMMANDS if c.text == text)
    assert rc == 0, f"`{text}` ({', '.join(where)}) exited with {rc} after {seconds:.0f} s:\n{log[-6000:]}"
    if (name := _notebook_of(text)) is not None:  # the notebook's smoke run wrote its results and figures
        out = runner.tmp / "build" / name
        assert (out / "results.csv").exists() and (out / "results.json").exists(), f"{text}: no results in {out}"
        assert any(out.glob("*.png")), f"{text}: the notebook should save its figure(s) in {out}"
    if text.startswith("make book"):
        _check_book(Path(runner.ctx["book_root"]) / "book" / "_build" / "html")


def _notebook_of(text: str) -> str | None:
    """The notebook a `make ablation` / `make run-NAME` command executes, else None."""
    m = re.match(r"make (ablation|run-(\w+))\b", text)
    return None if m is None else (m.group(2) or "ablation_ratio")


def test_every_notebook_is_smoke_run_by_a_documented_command():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    run = {_notebook_of(c.text) for c in RUN}
    assert notebooks <= run, f"document a `make run-NAME` for: {sorted(notebooks - run)}"


def _check_book(html: Path) -> None:
    """The smoke-built book: every chapter rendered, no asset from the network, math by the local MathJax."""
    assert (html / "intro.html").exists(), f"no book at {html}"
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (html / "_generated" / f"{nb.stem}.html").exists(), f"chapter {nb.stem} missing from the book"
    external = set()
    for page in html.rglob("*.html"):
        external |= set(re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page.read_text()))
    assert not external, f"pages load assets from the network: {sorted(external)}"
    assert "_static/mathjax/" in (html / "_generated" / "ablation_ratio.html").read_text(), \
        "math must be rendered by the local MathJax"
