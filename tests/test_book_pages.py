"""The book's reference pages without building the book: the generated readings page, the API page's
autodoc targets, the bibliography (every cited key exists) and CITATION.cff."""

import importlib
import importlib.util
import re
from pathlib import Path

import yaml

from actionrec.papers.readings import PAPERS, READINGS, readings_markdown

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
# keys other pages cite: the five papers and the methods the book relies on (book/references.bib)
REQUIRED_KEYS = {
    "stergiou2021mtnet", "stergiou2020srtg", "wu2020msti", "shan2020mixtconv", "feichtenhofer2017multiplier",
    "feichtenhofer2016fusion", "lin2019tsm", "wang2016tsn", "hara2018r3d", "tran2018closer", "qiu2017p3d",
    "he2016resnet", "hu2018senet", "stergiou2021softpool", "loshchilov2019adamw", "loshchilov2017sgdr", "holm1979",
    "sundararajan2017ig", "simonyan2014saliency", "kokhlikyan2020captum", "farneback2003", "soomro2012ucf101",
    "kuehne2011hmdb", "goyal2017imagenet1h", "feichtenhofer2019slowfast",
}


def _build_module():
    spec = importlib.util.spec_from_file_location("book_build", BOOK / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bib_entries() -> dict[str, dict[str, str]]:
    """``{key: {field: value}}`` of book/references.bib (a small parser: one field per line)."""
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    entries = {}
    for m in re.finditer(r"^@(\w+)\{([^,\s]+),\n(.*?)^\}", text, re.M | re.S):
        kind, key, body = m.groups()
        assert key not in entries, f"duplicate bib key {key}"
        entries[key] = {"type": kind.lower(), **dict(re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", body, re.M))}
    assert text.count("\n@") + text.startswith("@") == len(entries), "an entry of references.bib did not parse"
    return entries


def cited_keys(text: str) -> set[str]:
    """Keys of every ``{cite}`` / ``{cite:p}`` / ``{cite:t}`` ... role (comma-separated keys)."""
    return {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text) for k in group.split(",")}


def test_cite_role_parser():
    assert cited_keys("{cite}`a` and {cite:t}`b, c` {cite:ps}`d`") == {"a", "b", "c", "d"}


def test_generated_pages_are_written_and_listed():
    build = _build_module()
    assert set(build.GENERATED_PAGES) == {"readings"}
    assert "readings" not in build.NOTEBOOKS, "a generated page must not be executed as a notebook"
    toc = (BOOK / "_toc.yml").read_text()
    from test_book import GENERATED_PAGES
    assert GENERATED_PAGES == set(build.GENERATED_PAGES), "tests/test_book.py GENERATED_PAGES and book/build.py differ"
    reference = toc[toc.index("caption: Reference"):]
    for entry in ("_generated/readings", "api", "bibliography"):
        assert f"file: {entry}\n" in reference, f"{entry} is not in the Reference part of book/_toc.yml"


def test_write_pages_writes_the_readings_page(tmp_path):
    paths = _build_module().write_pages(tmp_path)
    assert paths == [tmp_path / "readings.md"]
    assert (tmp_path / "readings.md").read_text(encoding="utf-8") == readings_markdown()


def test_bibliography_has_the_required_keys_and_well_formed_entries():
    entries = bib_entries()
    assert REQUIRED_KEYS <= set(entries), f"missing from references.bib: {sorted(REQUIRED_KEYS - set(entries))}"
    for key, e in entries.items():
        for field in ("author", "title", "year"):
            assert e.get(field), f"{key}: no {field}"
        assert re.fullmatch(r"\d{4}", e["year"]), f"{key}: year {e['year']!r}"
        assert "pages" not in e, f"{key}: page numbers are omitted (unverifiable)"
        assert e.get("booktitle") or e.get("journal"), f"{key}: no venue"
    for paper, (_, _, key) in PAPERS.items():
        assert key in entries, f"{paper}: its key {key} is not in references.bib"


def test_every_cited_key_exists():
    keys = set(bib_entries())
    sources = {p.relative_to(ROOT): p.read_text(encoding="utf-8")
               for p in [*BOOK.glob("*.md"), *(ROOT / "notebooks").glob("*.py")]}
    sources["readings_markdown()"] = readings_markdown()
    cited = set()
    for where, text in sources.items():
        unknown = cited_keys(text) - keys
        assert not unknown, f"{where} cites keys not in book/references.bib: {sorted(unknown)}"
        cited |= cited_keys(text)
    assert {key for _, _, key in PAPERS.values()} <= cited, "every paper is cited somewhere"
    assert "{bibliography}" in (BOOK / "bibliography.md").read_text()


def api_objects() -> list[tuple[str, str]]:
    """``(directive, dotted path)`` of every autodoc target in book/api.md (automodule members as
    ``module.member``)."""
    out, module = [], None
    for line in (BOOK / "api.md").read_text().splitlines():
        if m := re.match(r"\.\. auto(module|class|function|data|attribute)::\s+(\S+)", line):
            kind, path = m.groups()
            out.append((kind, path))
            module = path if kind == "module" else None
        elif (m := re.match(r"\s+:members:\s*(.*)", line)) and module:
            out += [("member", f"{module}.{name.strip()}") for name in m.group(1).split(",") if name.strip()]
    return out


def test_api_page_names_only_importable_objects():
    objects = api_objects()
    assert len(objects) > 50
    for kind, path in objects:
        if kind == "module":
            importlib.import_module(path)
            continue
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), f"book/api.md: {path} does not exist"
    paths = [p for _, p in objects]
    assert len(paths) == len(set(paths)), f"documented twice: {sorted({p for p in paths if paths.count(p) > 1})}"


def test_every_reading_code_path_is_on_the_api_page():
    """The readings page links its code to the API page: each path must be documented there."""
    documented = {p for _, p in api_objects()}
    missing = sorted({c for r in READINGS for c in r.code} - documented)
    assert not missing, f"add to book/api.md (the readings page links them): {missing}"


def test_citation_cff():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    for field in ("message", "title", "authors", "version", "date-released", "license"):
        assert cff.get(field), f"CITATION.cff: no {field}"
    assert cff["authors"] == [{"name": "actionrec contributors"}]
    version = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert cff["version"] == version, "CITATION.cff and pyproject.toml give different versions"
    assert str(cff["date-released"]) == "2026-12-07"
    assert (ROOT / "LICENSE").read_text().startswith(f"{cff['license']} License")
    titles = {r["title"] for r in cff["references"]}
    entries = bib_entries()
    for paper, (_, _, key) in PAPERS.items():
        bib_title = re.sub(r"[{}]", "", entries[key]["title"]).lower()
        assert any(t.lower() == bib_title for t in titles), f"CITATION.cff lacks {paper} ({entries[key]['title']})"
    for ref in cff["references"]:
        assert ref.get("type") and ref.get("authors") and ref.get("year"), f"incomplete reference {ref.get('title')}"
