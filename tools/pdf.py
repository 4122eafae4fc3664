"""The whole course as one PDF, printed from the built website by Chromium (`make pdf`).

    python tools/pdf.py [--site _build/html] [--out _build/inside-neural-networks.pdf]

No notebook is executed and no LaTeX is needed: the pages of the built site (``make book``), in the
order of _toc.yml, are put one after another into a single print document (each page's article,
starting on a new sheet), behind a title page and a table of contents; the site's own MathJax
typesets the maths, and every figure is the one the site shows (the interactive explorations at
their default slider values; the dropdowns, e.g. answers, shown open). Chromium (Playwright's
``page.pdf`` with /usr/bin/chromium, the browser of the tests) prints it with page numbers in the
footer. The contents list gives each page's first page number: the document is printed twice, and
the numbers found in the first print (pypdf's text extraction: each page of the course starts a
sheet with its title) are written into the second. pypdf then adds the bookmarks, one per part
and per page (Chromium's own outline leaves the pages' <h1> titles out).

Links inside the course become links inside the PDF; links to files of the site that are not in
the PDF (downloads) become plain text, since a PDF has no server behind it. Editions: every
edition listed in ``EDITIONS`` that has been built is printed, one after the other (only English
exists today).
"""
from __future__ import annotations

import argparse
import functools
import html
import io
import logging
import re
import sys
import threading
import time
import unicodedata
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "inside-neural-networks.pdf"
CHROMIUM = "/usr/bin/chromium"
PRINT_PATH = "/_nnprint.html"
# (edition name, folder of its built site relative to the English one, its _toc.yml)
EDITIONS = [("English", ".", ROOT / "_toc.yml")]

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
html, body { background: #fff !important; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .bd-footer,
.bd-footer-article, .prev-next-footer, .prev-next-area, #pst-back-to-top, .bd-header-announcement,
.headerlink, .copybtn, .toggle-secondary-sidebar, .search-button-field, .skip-link,
.pst-scrollable-table-container::-webkit-scrollbar { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-page-width, .bd-container, .bd-container__inner,
.bd-article { max-width: none !important; width: 100% !important; margin: 0 !important;
              padding: 0 !important; display: block !important; }
/* sphinx-book-theme's print style hides each page's first <h1> (it prints its own title): here
   every page keeps its own, and the theme's print-only title and contents are left out */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
#jb-print-docs-body, #jb-print-toc, .onlyprint { display: none !important; }
/* an animation prints its first frame; its player controls cannot be used on paper */
.animation .anim-controls, .animation .anim-state, .animation .anim-slider { display: none !important; }
.nnprint-page { break-before: page; }
.nnprint-page:first-of-type { break-before: auto; }
pre, pre code { white-space: pre-wrap !important; word-break: break-word; }
img { max-width: 100% !important; break-inside: avoid; }
.cell_output img { max-height: 230mm; }
h1, h2, h3 { break-after: avoid; }
#nnprint-title { text-align: center; padding-top: 70mm; break-after: page; }
#nnprint-title h1 { font-size: 2.6em; border: none; }
#nnprint-toc { break-after: page; }
#nnprint-toc ol { list-style: none; padding-left: 0; }
#nnprint-toc li { display: flex; gap: .5em; margin: .25em 0; }
#nnprint-toc li .nnprint-dots { flex: 1; border-bottom: 1px dotted #888; margin-bottom: .35em; }
#nnprint-toc li.nnprint-part { font-weight: bold; margin-top: .9em; }
"""

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')

WAIT_FOR_PAGE = """
async () => {
  // a printed page cannot be clicked: answers in dropdowns and hidden code cells are shown open
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(res => {
    img.addEventListener('load', res, {once: true});
    img.addEventListener('error', res, {once: true});
    setTimeout(res, 20000);
  })));
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
    if (window.MathJax.typesetPromise) { await window.MathJax.typesetPromise(); }
  }
  const broken = imgs.filter(img => !(img.complete && img.naturalWidth > 0))
                     .map(img => img.src.slice(0, 100));
  return {images: imgs.length, broken: broken,
          mathErrors: document.querySelectorAll('mjx-merror').length,
          math: document.querySelectorAll('mjx-container').length};
}
"""


# --------------------------------------------------------------------------- pages
def toc_pages(toc_file: Path) -> list[dict]:
    """Every page of a _toc.yml in reading order: {'doc', 'part'}."""
    toc = yaml.safe_load(toc_file.read_text())
    pages = [{"doc": toc["root"], "part": None}]

    def walk(items, part):
        for item in items or []:
            if "file" in item:
                pages.append({"doc": re.sub(r"\.(ipynb|md|rst)$", "", item["file"]), "part": part})
            for key in ("sections", "chapters"):
                walk(item.get(key), part)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return pages


ARTICLE = re.compile(r'<article class="bd-article"[^>]*>(.*)</article>', re.S)
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
SCRIPT_THEBE = re.compile(
    r'<script type="text/x-thebe-config">.*?</script>\s*(<script>kernelName = [^<]*</script>)?', re.S)
ATTR_URL = re.compile(r'\b(href|src)="([^"]*)"')
ID_ATTR = re.compile(r'\bid="([^"]+)"')


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("#", "").split())


def page_parts(site: Path, doc: str) -> tuple[str, str]:
    """(title, article HTML) of one built page."""
    source = (site / (doc + ".html")).read_text(encoding="utf-8")
    found = ARTICLE.search(source)
    if not found:
        raise ValueError(f"{doc}.html has no <article class=\"bd-article\">: is this a Jupyter Book page?")
    body = SCRIPT_THEBE.sub("", found.group(1))
    title = TITLE.search(body)
    return (text_of(title.group(1)) if title else doc), body


def slug(doc: str) -> str:
    return "nnprint-" + re.sub(r"[^A-Za-z0-9]+", "-", doc).strip("-")


def rewrite_links(body: str, doc: str, docs: set[str], unique_ids: set[str]) -> str:
    """Site-relative URLs -> root-absolute ones; links to pages of the PDF -> in-document anchors."""
    base = "http://site/" + doc + ".html"

    def fix(match: re.Match) -> str:
        attr, url = match.group(1), html.unescape(match.group(2))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "mailto", "data", "blob") or url.startswith("//"):
            return match.group(0)
        if url.startswith("#"):
            frag = unquote(url[1:])
            target = f"#{frag}" if frag in unique_ids else f"#{slug(doc)}"
            return f'{attr}="{html.escape(target)}"'
        absolute = urlsplit(urljoin(base, url))
        path = unquote(absolute.path).lstrip("/")
        if attr == "href":
            target_doc = re.sub(r"\.html$", "", path)
            if path.endswith(".html") and target_doc in docs:
                frag = unquote(absolute.fragment)
                target = f"#{frag}" if frag and frag in unique_ids else f"#{slug(target_doc)}"
                return f'href="{html.escape(target)}"'
            return 'data-nnprint-href="' + html.escape("/" + path) + '"'   # not in the PDF: plain text
        return f'{attr}="{html.escape("/" + path)}"'

    return ATTR_URL.sub(fix, body)


def combined_document(site: Path, editions: list[tuple[str, Path, Path]],
                      title: str) -> tuple[str, list[dict]]:
    """The print document (HTML, to be served at the site's root) and its contents entries."""
    shell = (site / "index.html").read_text(encoding="utf-8")
    entries, sections = [], []
    several = len(editions) > 1
    for edition, edition_site, toc in editions:
        pages = toc_pages(toc)
        same = edition_site.resolve() == site.resolve()
        prefix = "" if same else edition_site.relative_to(site).as_posix() + "/"
        parts = [(p, *page_parts(edition_site, p["doc"])) for p in pages]
        docs = {prefix + p["doc"] for p in pages}
        ids: dict[str, int] = {}
        for _, _, body in parts:
            for i in ID_ATTR.findall(body):
                ids[i] = ids.get(i, 0) + 1
        unique = {i for i, n in ids.items() if n == 1}
        part_seen = None
        if several:
            entries.append({"kind": "part", "title": f"{edition} edition"})
        for page, page_title, body in parts:
            if page["part"] != part_seen and page["part"]:
                entries.append({"kind": "part", "title": page["part"]})
            part_seen = page["part"]
            doc = prefix + page["doc"]
            entries.append({"kind": "page", "title": page_title, "anchor": slug(doc)})
            sections.append(f'<section class="nnprint-page" id="{slug(doc)}">\n'
                            f'{rewrite_links(body, doc, docs, unique)}\n</section>')
    title_page = (f'<section id="nnprint-title"><h1>{html.escape(title)}</h1>'
                  f'<p>The course, printed from its website.</p></section>')
    toc_html = '<section id="nnprint-toc"><h1>Contents</h1><ol id="nnprint-toc-list"></ol></section>'
    article = title_page + toc_html + "\n".join(sections)
    found = ARTICLE.search(shell)
    if not found:
        raise ValueError("index.html has no <article class=\"bd-article\">")
    document = shell[:found.start(1)] + article + shell[found.end(1):]
    document = document.replace("</head>", f"<style>{PRINT_CSS}</style></head>", 1)
    document = re.sub(r'<html([^>]*)data-theme="[^"]*"', r'<html\1data-theme="light" data-mode="light"',
                      document, count=1)
    return document, entries


def toc_items(entries: list[dict], numbers: dict[str, int] | None) -> str:
    rows = []
    for entry in entries:
        if entry["kind"] == "part":
            rows.append(f'<li class="nnprint-part">{html.escape(entry["title"])}</li>')
        else:
            number = str(numbers.get(entry["anchor"], "")) if numbers else "000"
            rows.append(f'<li><a href="#{entry["anchor"]}">{html.escape(entry["title"])}</a>'
                        f'<span class="nnprint-dots"></span><span>{number}</span></li>')
    return "".join(rows)


# --------------------------------------------------------------------------- serving
class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript", ".woff2": "font/woff2", ".svg": "image/svg+xml"}
    document: bytes = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        if urlsplit(self.path).path == PRINT_PATH:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.document)))
            self.end_headers()
            self.wfile.write(self.document)
            return
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002
        pass


def squeeze(text: str) -> str:
    """Text without white space, ligatures (the PDF's "ﬀ") unfolded, to compare with a title."""
    return "".join(unicodedata.normalize("NFKC", text).split())


# pypdf reads Chromium's PDFs correctly but logs "Object count ... exceeds defined trailer size"
logging.getLogger("pypdf").setLevel(logging.ERROR)


def find_pages(pdf: bytes, titles: list[tuple[str, str]]) -> dict[str, int]:
    """1-based page number of each (anchor, title), in order: every page of the course starts a new
    sheet with its <h1>, so it is the first sheet after the previous one whose text starts with the
    title (pypdf's text extraction; sheet 1 is the title page, the contents follow)."""
    from pypdf import PdfReader

    texts = [squeeze(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]
    numbers, start = {}, 1
    for anchor, title in titles:
        want = squeeze(title)
        for index in range(start, len(texts)):
            if texts[index].startswith(want):
                numbers[anchor] = index + 1
                start = index + 1
                break
        else:
            raise RuntimeError(f"no sheet after sheet {start} starts with the title {title!r}")
    return numbers


def with_outline(pdf: bytes, entries: list[dict], numbers: dict[str, int]) -> bytes:
    """The PDF with bookmarks: one per part, and under it one per page of the course."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.add_outline_item(title="Contents", page_number=1)
    parent = None
    for index, entry in enumerate(entries):
        if entry["kind"] == "part":
            later = [numbers[e["anchor"]] for e in entries[index:] if e["kind"] == "page"]
            first = later[0] if later else 1
            parent = writer.add_outline_item(title=entry["title"], page_number=first - 1)
        else:
            writer.add_outline_item(title=entry["title"], page_number=numbers[entry["anchor"]] - 1,
                                    parent=parent)
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_pdf(site: Path, out: Path, chromium: str = CHROMIUM) -> dict:
    from playwright.sync_api import sync_playwright

    editions = [(name, (site / folder).resolve(), toc) for name, folder, toc in EDITIONS
                if (site / folder / "index.html").is_file() and toc.is_file()]
    if not editions:
        raise FileNotFoundError(f"no built site at {site} (run `make book`)")
    title = yaml.safe_load((ROOT / "_config.yml").read_text()).get("title", "Inside Neural Networks")
    document, entries = combined_document(site, editions, title)
    handler = functools.partial(_Handler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}{PRINT_PATH}"
    titles = [(e["anchor"], e["title"]) for e in entries if e["kind"] == "page"]
    stats: dict = {"pages_of_site": len(titles)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--headless", "--no-sandbox", "--disable-gpu",
                                               "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            # everything comes from the local server: any other request is refused
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith("http://127.0.0.1:") else route.abort())
            page.emulate_media(media="print", color_scheme="light")
            pdf = b""
            numbers = None
            for _attempt in range(2):
                _Handler.document = document.replace(
                    '<ol id="nnprint-toc-list"></ol>',
                    f'<ol id="nnprint-toc-list">{toc_items(entries, numbers)}</ol>').encode("utf-8")
                page.goto(url, wait_until="load", timeout=180_000)
                facts = page.evaluate(WAIT_FOR_PAGE)
                if facts["broken"]:
                    raise RuntimeError(f"images that did not load: {facts['broken'][:5]}")
                if facts["mathErrors"]:
                    raise RuntimeError(f"{facts['mathErrors']} formulas MathJax could not typeset")
                stats.update(images=facts["images"], formulas=facts["math"])
                pdf = page.pdf(format="A4", print_background=True,
                               display_header_footer=True, footer_template=FOOTER,
                               header_template="<span></span>",
                               margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
                if numbers is None:
                    numbers = find_pages(pdf, titles)
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    # the second print must put every page where the contents say (same contents length)
    check = find_pages(pdf, titles)
    if check != numbers:
        moved = {k: (numbers[k], check[k]) for k in numbers if numbers[k] != check.get(k)}
        raise RuntimeError(f"page numbers moved between the two prints: {moved}")
    pdf = with_outline(pdf, entries, numbers)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".pdf.partial")
    partial.write_bytes(pdf)
    partial.replace(out)
    from pypdf import PdfReader

    stats.update(sheets=len(PdfReader(io.BytesIO(pdf)).pages), bytes=len(pdf))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stats = build_pdf(args.site, args.out, args.chromium)
    print(f"==> The course as a PDF: {args.out} ({stats['bytes'] / 1e6:.1f} MB, {stats['sheets']} pages, "
          f"{stats['pages_of_site']} pages of the site, {stats['formulas']} formulas, "
          f"{stats['images']} images; "
          f"{time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
