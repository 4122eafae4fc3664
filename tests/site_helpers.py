"""Helpers for the website's browser tests (tests/test_site.py).

The built site (_build/html, from `make book`) is served by http.server on 127.0.0.1 and opened in
Debian's headless Chromium through Playwright. Nothing here downloads anything: Chromium comes from
apt (`make browser`), axe-core from `npm pack` (`make vendor`, tools/vendor_js.py).
"""
from __future__ import annotations

import functools
import html.parser
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
BUILD_STAMP = ROOT / "_build" / ".book.stamp"  # written by `make book` / `make site` on success
AXE_JS = ROOT / ".vendor" / "axe" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOST = "127.0.0.1"


def site_required() -> bool:
    """Under `make test` (NN_SITE_REQUIRED=1) and in CI, a missing site or browser is a failure."""
    return bool(os.environ.get("NN_SITE_REQUIRED") or os.environ.get("CI"))


def fail_or_skip(message: str) -> None:
    """Stop a test whose prerequisites are missing: a failure under NN_SITE_REQUIRED=1 (make test),
    else a skip with the reason."""
    if site_required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def missing_prerequisites() -> list[str]:
    missing = []
    if not (SITE / "index.html").is_file():
        missing.append(f"no built site at {SITE.relative_to(ROOT)}/ (run `make book`)")
    elif site_required() and not BUILD_STAMP.is_file():
        # make removes the stamp when a build starts and writes it when the build succeeds
        missing.append(f"the last website build failed ({BUILD_STAMP.relative_to(ROOT)} is missing): "
                       "run `make book` to see why")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        missing.append(f"no Chromium at {CHROMIUM} (run `make browser`: apt-get install -y chromium)")
    if not AXE_JS.is_file():
        missing.append(f"no {AXE_JS.relative_to(ROOT)} (run `make vendor`)")
    return missing


# --------------------------------------------------------------------------- shared fixtures
# Imported into tests/test_site.py and tests/test_site_progress.py (pytest finds them by `name`).
@pytest.fixture(scope="session", name="prerequisites")
def prerequisites_fixture():
    missing = missing_prerequisites()
    if missing:
        message = "website tests cannot run: " + "; ".join(missing)
        fail_or_skip(message)


@pytest.fixture(scope="session", name="server")
def server_fixture(prerequisites):
    with SiteServer(SITE) as srv:
        yield srv


_SHARED: dict = {"users": 0}


@pytest.fixture(scope="session", name="browser")
def browser_fixture(prerequisites):
    """One headless Chromium for the whole session. Each test module that imports this fixture
    gets its own session fixture, but Playwright's sync API can run only once per thread, so they
    share one browser, closed when the last of them is torn down."""
    if not _SHARED["users"]:
        from playwright.sync_api import sync_playwright

        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    _SHARED["users"] += 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if not _SHARED["users"]:
            _SHARED.pop("browser").close()
            _SHARED.pop("playwright").stop()


# --------------------------------------------------------------------------- table of contents
def toc_entries(toc_file: Path = ROOT / "_toc.yml") -> list[dict]:
    """Every page of _toc.yml in reading order: {'doc', 'numbered', 'part'}."""
    toc = yaml.safe_load(toc_file.read_text())
    pages = [{"doc": toc["root"], "numbered": False, "part": None}]

    def walk(items, numbered, part):
        for item in items or []:
            if "file" in item:
                pages.append({"doc": re.sub(r"\.(ipynb|md|rst)$", "", item["file"]),
                              "numbered": numbered, "part": part})
            for key in ("sections", "chapters"):
                walk(item.get(key), numbered, part)
            if "parts" in item:
                for sub in item["parts"]:
                    walk(sub.get("chapters"), bool(sub.get("numbered")), sub.get("caption"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"), bool(part.get("numbered")), part.get("caption"))
    walk(toc.get("chapters"), bool(toc.get("numbered")), None)
    return pages


# --------------------------------------------------------------------------- local server
class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".woff2": "font/woff2",
                      ".woff": "font/woff", ".svg": "image/svg+xml", ".json": "application/json"}

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass


class SiteServer:
    """http.server serving `directory` on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{LOCAL_HOST}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- requests
def is_local(url: str) -> bool:
    """A request the site may make: to our own server, or data:/blob:/about: URLs (no network)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == LOCAL_HOST


def host_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript"):
        return parts.scheme + ":"
    return parts.netloc or url[:40]


# --------------------------------------------------------------------------- internal links
class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (key == "name" and tag == "a"):
                self.ids.add(value or "")


@functools.cache
def ids_in(file: Path) -> frozenset[str]:
    parser = _IdCollector()
    parser.feed(file.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def check_internal_link(href: str, base_url: str, page_ids: set[str], page_file: Path) -> str | None:
    """None if `href` (absolute, on our server) resolves to a file of the site (and anchor); else why not."""
    parts = urlsplit(href)
    path = unquote(parts.path)
    rel = path[len(urlsplit(base_url).path):] if path.startswith(urlsplit(base_url).path) else None
    if rel is None:
        return "outside the site"
    target = SITE / rel
    if rel == "" or rel.endswith("/"):
        target = target / "index.html"
    if not target.is_file():
        return f"no file {target.relative_to(SITE)}"
    frag = unquote(parts.fragment)
    if frag and target.suffix == ".html":
        ids = page_ids if target.resolve() == page_file.resolve() else ids_in(target)
        if frag not in ids:
            return f"no anchor #{frag} in {target.relative_to(SITE)}"
    return None


# --------------------------------------------------------------------------- in-page checks (JS)
WAIT_FOR_MATHJAX = """
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
    if (window.MathJax.typesetPromise) { await window.MathJax.typesetPromise(); }
    return 'typeset';
  }
  return 'absent';
}
"""

LOAD_ALL_IMAGES = """
async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(res => {
    img.addEventListener('load', res, {once: true});
    img.addEventListener('error', res, {once: true});
    setTimeout(res, 10000);
  })));
  return imgs.map(img => ({src: (img.currentSrc || img.src || '').slice(0, 120), alt: img.alt,
                           ok: img.complete && img.naturalWidth > 0}));
}
"""

# Text of the article with code, scripts and typeset maths removed: any $$, \\[ or \\( left is maths
# MathJax did not typeset. mjx-merror marks a TeX error (e.g. an undefined macro).
PAGE_FACTS = r"""
() => {
  const article = document.querySelector('article') || document.querySelector('main') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea, .nnviz-explore, .animation')
       .forEach(e => e.remove());
  const text = clone.textContent;
  const raw = [];
  for (const delim of ['$$', '\\[', '\\(']) {
    let i = text.indexOf(delim);
    while (i >= 0 && raw.length < 5) {
      raw.push(text.slice(Math.max(0, i - 40), i + 60).replace(/\s+/g, ' '));
      i = text.indexOf(delim, i + 2);
    }
  }
  const merrors = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 120));
  // error outputs (myst-nb: class "traceback") and any output that prints a Python traceback,
  // each counted once, unless the cell is tagged raises-exception
  const tbNodes = new Set(document.querySelectorAll('.traceback'));
  document.querySelectorAll('.cell_output .output, .cell_output').forEach(e => {
    if (/Traceback \(most recent call last\)/.test(e.textContent) && !e.querySelector('.traceback')
        && !e.closest('.traceback') && !Array.from(tbNodes).some(t => t.contains(e) || e.contains(t))) {
      tbNodes.add(e);
    }
  });
  const tracebacks = Array.from(tbNodes).filter(e => !e.closest('.tag_raises-exception'))
        .filter(e => !Array.from(tbNodes).some(t => t !== e && t.contains(e)))
        .map(e => e.textContent.trim().slice(0, 300));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  const ids = Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name'));
  const h1 = document.querySelector('article.bd-article section h1') || document.querySelector('article h1, main h1');
  const sliders = Array.from(document.querySelectorAll('input[type=range]')).map(inp => ({
        explore: !!inp.closest('.nnviz-explore'), animation: !!inp.closest('.animation'),
        id: inp.id, label: inp.getAttribute('aria-label') || ''}));
  const widgets = document.querySelectorAll('.jupyter-widgets, .widget-slider, script[type="application/vnd.jupyter.widget-view+json"]').length;
  const q = s => document.querySelector(s);
  const hrefs = s => Array.from(document.querySelectorAll(s)).map(a => a.getAttribute('href'));
  return {
    rawMath: raw, mathErrors: merrors, tracebacks: tracebacks, links: links, ids: ids,
    h1: h1 ? h1.textContent.trim() : '', sectionNumber: h1 && h1.querySelector('.section-number') ? h1.querySelector('.section-number').textContent.trim() : '',
    sliders: sliders, widgetViews: widgets,
    prev: q('.prev-next-area a.left-prev') ? q('.prev-next-area a.left-prev').href : null,
    next: q('.prev-next-area a.right-next') ? q('.prev-next-area a.right-next').href : null,
    themeSwitch: document.querySelectorAll('.theme-switch-button').length,
    searchButton: document.querySelectorAll('.search-button, .search-button-field, form.bd-search').length,
    downloads: hrefs('.dropdown-download-buttons a, a.btn-download-source-button, a[href$=".ipynb"]'),
    launch: hrefs('.dropdown-launch-buttons a'),
  };
}
"""

# axe-core's violations on the page as it is (load AXE_JS first): id, impact, count, a few nodes.
AXE_VIOLATIONS = """
async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')), count: v.nodes.length}));
}
"""

# Move one slider and tell whether what is shown changed. `root_sel` finds the slider's container
# (the nnviz-explore div, or matplotlib's animation div); its <img> src is what must change.
SLIDER_STATE = """
(inp) => {
  const root = inp.closest('.nnviz-explore') || inp.closest('.animation') || inp.parentElement;
  const imgs = Array.from(root.querySelectorAll('img')).map(i => i.src);
  const outs = Array.from(root.querySelectorAll('output')).map(o => o.textContent);
  return {value: inp.value, min: inp.min, max: inp.max, imgs: imgs, outputs: outs,
          imgCount: imgs.length};
}
"""


def open_page(context, url: str, idle: bool = True):
    """Open `url` in a new page of `context`; return (page, response, problems), where problems is a
    list the page's listeners keep filling: console errors, uncaught JavaScript errors, HTTP errors,
    failed local requests and any request that leaves 127.0.0.1. ``idle``: also wait until the
    network is idle (the English site tests; the Chinese ones check what the load event shows)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(
        f"console error: {msg.text} ({msg.location.get('url', '')}:{msg.location.get('lineNumber', '')})"))
    page.on("pageerror", lambda err: problems.append(f"uncaught JavaScript error: {err}"))
    page.on("response", lambda resp: resp.status >= 400 and problems.append(
        f"HTTP {resp.status} for {resp.url}"))
    page.on("requestfailed", lambda req: is_local(req.url) and problems.append(
        f"request failed: {req.url} ({req.failure})"))
    page.on("request", lambda req: not is_local(req.url) and problems.append(
        f"request leaves 127.0.0.1: {req.url}"))
    response = page.goto(url, wait_until="load")
    if idle:
        page.wait_for_load_state("networkidle")
    return page, response, problems
