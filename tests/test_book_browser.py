"""The book as a reader meets it: the smoke-built site, served on 127.0.0.1, read in headless Chromium.

The site is the one ``make book NOTEBOOK_ARGS=--smoke`` builds for ``test_documented_commands.py``
(the session's ``docs_runner``, so the book is built once; ``conftest.py`` runs this module last so
the build reuses the smoke runs of the documented ``make run-NAME`` commands). Chromium is Debian's
(``apt-get install chromium``, which ``.ci/run`` does), driven by playwright's Python package pointed
at it: no browser download. On every page: no console error, no request to any host but
127.0.0.1, MathJax has typeset every formula (no raw ``$$`` / ``\\(`` left), every ``<img>`` has
loaded, no code line is clipped (long lines wrap); on each explorer chapter the kernel-free explorer
shows another picture when its slider moves (screenshots before and after in ``build/browser/``).
Outside CI (``CI`` unset) a missing Chromium skips, with the reason; under CI it fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"
EXPLORER_CHAPTERS = ("srtg_cycle_consistency", "receptive_fields", "attribution")
# Chromium as the machine's probe starts it: no background traffic to Google's hosts, no sandbox (root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]
LOCAL_SCHEMES = ("data", "blob", "about")

# Run in the page after load: what a reader would see wrong.
PAGE_PROBLEMS_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const out = {images: [], clipped: [], rawMath: [], untypeset: 0, math: 0};
  for (const img of document.images) {
    if (!(img.complete && img.naturalWidth > 0)) out.images.push((img.getAttribute('src') || '').slice(0, 120));
  }
  for (const pre of document.querySelectorAll('pre')) {
    if (pre.offsetParent === null) continue;  // not displayed (e.g. a collapsed cell): nothing to clip
    if (pre.scrollWidth > pre.clientWidth + 1) {
      out.clipped.push(pre.innerText.split('\n').reduce((a, b) => a.length >= b.length ? a : b).slice(0, 120));
    }
  }
  for (const el of document.querySelectorAll('.math')) {
    out.math += 1;
    if (!el.querySelector('mjx-container') && el.tagName !== 'MJX-CONTAINER') out.untypeset += 1;
  }
  const body = document.querySelector('main') || document.body;
  const clone = body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, mjx-container').forEach(e => e.remove());
  const text = clone.textContent;
  for (const raw of ['$$', '\\(', '\\[']) { if (text.includes(raw)) {
    const i = text.indexOf(raw); out.rawMath.push(text.slice(Math.max(0, i - 40), i + 40)); } }
  return out;
}
"""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what matters
        pass


@pytest.fixture(scope="module")
def site(docs_runner):
    """``(base URL, html folder)`` of the smoke-built book, served on 127.0.0.1 while the module runs."""
    if _chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but there is no Chromium on PATH: `apt-get install -y chromium` (.ci/run does)")
        pytest.skip("no Chromium on PATH (`apt-get install -y chromium`); CI is unset, so the browser test skips")
    rc, seconds, log = docs_runner.run("make book NOTEBOOK_ARGS=--smoke")
    assert rc == 0, f"the smoke build of the book failed after {seconds:.0f} s:\n{log[-6000:]}"
    html = Path(docs_runner.ctx["book_root"]) / "book" / "_build" / "html"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.I)


def _pages(html: Path) -> list[str]:
    """Every page of the site but pure redirects (``index.html`` → the root page), whose targets must exist."""
    pages = []
    for p in sorted(html.rglob("*.html")):
        if "_static" in p.parts:
            continue
        if m := REDIRECT.search(p.read_text()[:2000]):
            assert (p.parent / m.group(1)).exists(), f"{p.relative_to(html)} redirects to a missing {m.group(1)}"
            continue
        pages.append(p.relative_to(html).as_posix())
    return pages


def _open(browser, url: str):
    """A new page at ``url``, recording console errors and every request that would leave 127.0.0.1
    (those are aborted, so a test failure cannot hang on the closed network)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = {"errors": [], "outside": []}
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in LOCAL_SCHEMES or u.hostname == "127.0.0.1":
            return r.continue_()
        seen["outside"].append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, seen


def test_every_page_reads_cleanly_offline(site, browser):
    base, html = site
    pages = _pages(html)
    assert {"intro.html", "_generated/ablation_ratio.html"} <= set(pages), f"pages found: {pages}"
    problems = {}
    for rel in pages:
        page, seen = _open(browser, f"{base}/{rel}")
        found = page.evaluate(PAGE_PROBLEMS_JS)
        page.close()
        bad = {k: v for k, v in {"console errors": seen["errors"], "requests leaving 127.0.0.1": seen["outside"],
                                   "images not loaded": found["images"], "clipped code lines": found["clipped"],
                                   "raw math left in the text": found["rawMath"],
                                   "formulas MathJax did not typeset": found["untypeset"]}.items() if v}
        if bad:
            problems[rel] = bad
    assert not problems, "\n".join(f"{rel}: {bad}" for rel, bad in problems.items())


def test_pages_show_typeset_math_and_no_dead_widgets(site, browser):
    base, html = site
    page, _ = _open(browser, f"{base}/intro.html")
    found = page.evaluate(PAGE_PROBLEMS_JS)
    page.close()
    assert found["math"] > 0 and found["untypeset"] == 0, f"intro.html: {found['math']} formulas, {found['untypeset']} raw"
    dead = [rel for rel in _pages(html) if re.search(r"(VBox|HBox|interactive)\(children=", (html / rel).read_text())]
    assert not dead, f"pages show a widget's text repr where a kernel-free explorer should be: {dead}"


@pytest.mark.parametrize("chapter", EXPLORER_CHAPTERS)
def test_explorer_responds_to_its_control(site, browser, chapter):
    base, _ = site
    page, seen = _open(browser, f"{base}/_generated/{chapter}.html")
    players = page.locator("div.animation")
    assert players.count() >= 1, f"{chapter}: no kernel-free explorer (matplotlib jshtml player) on the page"
    player = players.first
    player.scroll_into_view_if_needed()
    img, slider = player.locator("img").first, player.locator("input.anim-slider").first
    before = img.get_attribute("src")
    frames = int(slider.get_attribute("max") or 0)
    assert frames >= 1, f"{chapter}: the explorer has a single picture; nothing to move to"
    SHOTS.mkdir(parents=True, exist_ok=True)
    player.screenshot(path=str(SHOTS / f"{chapter}_before.png"))
    slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }", frames)
    page.wait_for_function("([el, old]) => el.src !== old", arg=[img.element_handle(), before], timeout=5000)
    player.screenshot(path=str(SHOTS / f"{chapter}_after.png"))
    after = img.get_attribute("src")
    page.close()
    assert after != before, f"{chapter}: moving the explorer's slider did not change the picture"
    assert not seen["errors"], f"{chapter}: console errors while exploring: {seen['errors']}"
