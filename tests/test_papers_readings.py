"""actionrec.papers.readings: every entry's code resolves, every cited test / section / chapter / file
exists, the page renders every entry, and docstrings and entries point at each other."""

import importlib
import re
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from actionrec.papers import readings as rd
from actionrec.papers.readings import KINDS, PAPERS, READINGS, Reading, readings_markdown, readings_of

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"


def resolve(path: str):
    """The object a dotted path names: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def module_files(path: str) -> set[Path]:
    """The source files of the modules a dotted path goes through (``a.b.c.X``: a/b/c.py, ...)."""
    parts, out = path.split("."), set()
    for i in range(1, len(parts) + 1):
        base = LIB.joinpath(*parts[:i])
        out |= {f for f in (base.with_suffix(".py"), base / "__init__.py") if f.exists()}
    return out


@pytest.mark.parametrize("reading", READINGS, ids=lambda r: r.key)
def test_every_code_path_resolves(reading):
    for path in reading.code:
        try:
            obj = resolve(path)
        except (ImportError, AttributeError) as e:
            pytest.fail(f"{reading.key}: code path {path!r} does not resolve ({e})")
        assert obj is not None, f"{reading.key}: {path} is None"


def test_keys_unique_named_after_their_paper_and_fields_filled():
    keys = [r.key for r in READINGS]
    assert len(keys) == len(set(keys)), f"duplicate keys: {sorted({k for k in keys if keys.count(k) > 1})}"
    for r in READINGS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", r.key), f"key {r.key!r}: lower-case words joined by '-'"
        assert r.key.startswith(r.paper + "-"), f"key {r.key!r} must start with its paper {r.paper!r}"
        for field in ("topic", "paper_says", "we_do", "evidence"):
            assert len(getattr(r, field).strip()) > 10 or field == "topic" and r.topic.strip(), f"{r.key}: empty {field}"


def test_every_paper_has_entries_and_both_kinds_occur():
    for paper in PAPERS:
        assert readings_of(paper), f"no reading or departure for {paper}"
    assert {r.kind for r in READINGS} == set(KINDS)
    assert sum(len(readings_of(p)) for p in PAPERS) == len(READINGS)
    with pytest.raises(ValueError, match="paper='tsm'"):
        readings_of("tsm")


def test_expected_entries_are_present():
    """The readings the issue names: MTNet's Table 3 search, SRTG's gate, MixTConv's init, the
    multiplier's filter placement, MSTI's variant definitions."""
    keys = {r.key for r in READINGS}
    assert {"mtnet-table3-reading", "srtg-gate", "mixtconv-init", "multiplier-filter-units", "msti-variants"} <= keys


def test_reading_is_frozen_and_validated():
    r = READINGS[0]
    with pytest.raises(FrozenInstanceError):
        r.key = "x"
    with pytest.raises(ValueError, match="paper='tsm'"):
        replace(r, paper="tsm")
    with pytest.raises(ValueError, match="kind='fix'"):
        replace(r, kind="fix")
    with pytest.raises(ValueError, match="code must be"):
        replace(r, code=())
    with pytest.raises(ValueError, match="code must be"):
        replace(r, code=("torch.nn.Conv3d",))


def test_markdown_renders_every_entry_with_links():
    md = readings_markdown()
    assert md.startswith("(readings)=\n# Readings and departures\n")
    for paper, (name, _, bib) in PAPERS.items():
        assert f"\n## {name}\n" in md and f"{{cite}}`{bib}`" in md, f"no section for {paper}"
    for r in READINGS:
        assert f"(readings-{r.key})=\n### {r.topic}\n" in md, f"{r.key}: no labelled section"
        assert f"`{r.key}`" in md and f"{{ref}}`{r.topic} <readings-{r.key}>`" in md, f"{r.key}: not in the overview"
        for text in (r.paper_says, r.we_do, r.evidence):
            assert text in md
        for path in r.code:
            assert f"{{py:obj}}`~{path}`" in md, f"{r.key}: code {path} not rendered as a py:obj role"
    # sections in book order, entries in READINGS order
    positions = [md.index(f"(readings-{r.key})=") for r in READINGS]
    assert positions == sorted(positions) == [md.index(f"(readings-{r.key})=") for p in PAPERS for r in readings_of(p)]


def _evidence_refs(text):
    return {"tests": re.findall(r"tests/(test_\w+\.py)::(test_\w+)", text),
            "sections": re.findall(r"`benchmarks/README\.md`, \*([^*]+)\*", text),
            "chapters": re.findall(r"\{doc\}`([\w/]+)`", text),
            "files": re.findall(r"`((?:benchmarks|tests|lib|book|notebooks)/[\w/.]+\.\w+)`", text)}


def test_cited_tests_sections_chapters_and_files_exist():
    headings = {h.strip() for h in re.findall(r"^#+ (.+)$", (ROOT / "benchmarks" / "README.md").read_text(), re.M)}
    chapters = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    cited = 0
    for r in READINGS:
        text = " ".join((r.paper_says, r.we_do, r.evidence))
        refs = _evidence_refs(text)
        for file, name in refs["tests"]:
            src = ROOT / "tests" / file
            assert src.exists(), f"{r.key}: cites {file}, which does not exist"
            assert re.search(rf"^def {name}\(", src.read_text(), re.M), f"{r.key}: no test {name} in {file}"
        for section in refs["sections"]:
            assert section in headings, f"{r.key}: benchmarks/README.md has no section {section!r}"
        for chapter in refs["chapters"]:
            assert chapter in chapters, f"{r.key}: no chapter {chapter!r}"
        for file in refs["files"]:
            assert (ROOT / file).exists(), f"{r.key}: cites {file}, which does not exist"
        cited += sum(map(len, refs.values()))
        assert any(refs.values()) or "Table" in r.evidence or "{cite}" in r.evidence, \
            f"{r.key}: evidence cites no test, section, chapter, file or table"
    assert cited >= len(READINGS)


def test_the_convention_regexes_catch_what_they_should():
    refs = _evidence_refs("`tests/test_a.py::test_b`, `benchmarks/README.md`, *complexity: x*, {doc}`ch1`, "
                          "`benchmarks/srtg_complexity.py`")
    assert refs == {"tests": [("test_a.py", "test_b")], "sections": ["complexity: x"], "chapters": ["ch1"],
                    "files": ["benchmarks/README.md", "benchmarks/srtg_complexity.py"]}


def test_docstrings_point_to_existing_entries_and_every_entry_is_pointed_to():
    """The library states a departure in one sentence and points to its entry (``:ref:`readings-KEY```);
    every pointer names an entry, and every entry is pointed to from a module its code lives in."""
    keys = {r.key for r in READINGS}
    pointers: dict[str, set[Path]] = {}
    for path in (LIB / "actionrec").rglob("*.py"):
        for key in re.findall(r":ref:`readings-([\w-]+)`", path.read_text()):
            pointers.setdefault(key, set()).add(path)
    assert not set(pointers) - keys, f"docstrings point to unknown readings: {sorted(set(pointers) - keys)}"
    for r in READINGS:
        files = set().union(*(module_files(p) for p in r.code))
        assert pointers.get(r.key, set()) & files, (
            f"{r.key}: no docstring of {sorted(str(f.relative_to(ROOT)) for f in files)} points to it "
            f"(add :ref:`readings-{r.key}` where the code states the reading)")


def test_module_has_no_side_effects_and_exports():
    assert set(rd.__all__) == {"Reading", "READINGS", "PAPERS", "KINDS", "readings_of", "readings_markdown"}
    assert isinstance(READINGS, tuple) and all(isinstance(r, Reading) for r in READINGS)
    from actionrec.papers import READINGS as exported
    assert exported is READINGS
