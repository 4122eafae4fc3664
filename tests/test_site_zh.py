"""Browser tests of the Chinese edition (_build/html/zh, built by `make book` through
`python tools/i18n.py site`), over every page of _toc.yml, on the same local server and Playwright
session as the English site tests (site_helpers).

One test per page loads the Chinese page once and checks: HTTP 200 and no JavaScript error; no
request leaves 127.0.0.1; maths typeset (MathJax output present wherever the page has maths, no
MathJax error, no raw TeX left); every image loaded, as many figures as the English page (their
text is English: no chapter's code draws Chinese, tests/test_i18n.py, hence no missing-glyph
box) and no output shows matplotlib's "Glyph ... missing" warning; every internal
link resolves; the theme's strings are Chinese (上一页/下一页, 搜索) and <html lang="zh-CN">; no
English prose left (below); axe-core finds no
critical or serious violation. Then the language switch is clicked: it lands on the English page
at the same anchor, whose own switch leads back to the Chinese page and anchor (both ways, one
extra load). Other tests: Chinese search finds three course terms' chapters, a {term} link on
the Chinese cover lands on the Chinese glossary entry, progress carries across editions, and the
Chinese build gave no warning.

English left on a Chinese page, the measure: in each prose element (p, li, headings, table cells,
admonition titles, dropdown summaries, definition terms and bodies), with code, maths, notebook
outputs, explorations and nnlib's docstrings (API pages: autodoc, code documentation, which stays
English like code comments: a module's docstring runs from its module-... target to the next
entry or section) removed, no run of four or more Latin words (tools/i18n.py
ENGLISH_RUN); italics and quoted titles are left out (a paper's title, "Decoupled Weight Decay
Regularization", may stay English, as d2l-zh does; an untranslated italic phrase is missed, the
price of that). Why four: Chinese prose legitimately keeps names (NumPy, Adam, ReLU), identifiers
and a glossary term's English in parentheses, at most three words (成员推断攻击（membership
inference attack）); an untranslated English sentence has far more. The English page of the same
document must show such runs, so the measure is seen to be able to fail.

By default every page is tested and a page whose catalogue is unfinished FAILS (that is what
`make test` wants). While catalogues are being translated, `NN_ZH_PAGES=complete` restricts the
page tests to pages whose catalogue passes `tools/i18n.py check` (for development only; the
search terms whose chapter is not complete are then skipped, saying so).

Without a Chinese build these tests skip, saying so, unless NN_ZH_SITE_REQUIRED=1 (make test) or
NN_SITE_REQUIRED=1/CI: then they fail.
"""
from __future__ import annotations

import html
import json
import os
import re
import sys
import time
from urllib.parse import quote, urlsplit

import pytest
from site_helpers import (
    AXE_JS,
    AXE_VIOLATIONS,
    LOAD_ALL_IMAGES,
    PAGE_FACTS,
    ROOT,
    SITE,
    WAIT_FOR_MATHJAX,
    browser_fixture,  # noqa: F401 - fixture "browser"
    check_internal_link,
    is_local,
    open_page,
    prerequisites_fixture,  # noqa: F401 - fixture "prerequisites"
    server_fixture,  # noqa: F401 - fixture "server"
    site_required,
    toc_entries,
)

sys.path.insert(0, str(ROOT / "tools"))
import i18n  # noqa: E402

ZH_SITE = SITE / "zh"
ZH_STAMP = ROOT / "_build" / ".book-zh.stamp"  # written by make when the Chinese build succeeded
PAGES = toc_entries()
DOCS = [p["doc"] for p in PAGES]


def complete_pages() -> list[str]:
    """Pages whose catalogue is finished and current (tools/i18n.py check finds nothing)."""
    return [d for d in DOCS if i18n.catalogue(d).exists() and not i18n.check([d])]


RESTRICTED = os.environ.get("NN_ZH_PAGES", "") == "complete"
if os.environ.get("NN_ZH_PAGES", "") not in ("", "complete", "all"):
    raise pytest.UsageError(f"NN_ZH_PAGES={os.environ['NN_ZH_PAGES']!r}: expected 'complete' "
                            "(only pages whose catalogue is finished) or 'all' (the default)")
TESTED = complete_pages() if RESTRICTED else DOCS
#: Elements that hold prose on a page; code, outputs, maths and docstrings are removed first.
PROSE = ("article p, article li, article th, article td, article h1, article h2, article h3, "
         "article h4, article .admonition-title, article summary, article dt, article dd")
ENGLISH_PROSE = """([sel, root, done]) => {
  // a module's docstring (autodoc): from its module-... target to the next entry or section
  const docstring = [];
  document.querySelectorAll('article [id^="module-"]').forEach(m => {
    const heading = m.querySelector(':scope > h1, :scope > h2, :scope > h3');
    let e = m.tagName === 'SECTION' ? (heading && heading.nextElementSibling)
          : m.tagName === 'SPAN' ? m.nextElementSibling : m;
    while (e && !['DL', 'SECTION', 'H1', 'H2', 'H3'].includes(e.tagName)) {
      docstring.push(e); e = e.nextElementSibling;
    }
  });
  return Array.from(document.querySelectorAll(sel))
  .filter(e => !e.closest('dl.py, .cell_output, .output, .nnviz-explore, .animation, pre'))
  .filter(e => !docstring.some(d => d.contains(e)))
  .map(e => {
    const c = e.cloneNode(true);
    c.querySelectorAll('code, pre, kbd, mjx-container, .math, .cell_output, .MathJax, script, style, '
                       + 'em, cite, i').forEach(x => x.remove());
    if (done !== null) {  // development mode: links showing an unfinished page's English title
      c.querySelectorAll('a.reference.internal').forEach(a => {
        const path = new URL(a.getAttribute('href'), document.baseURI).pathname;
        const doc = path.slice(new URL(root).pathname.length).replace(/\\.html$/, '');
        if (!done.includes(doc)) a.remove();
      });
    }
    // a title quoted in English (a paper, a blog post) may stay English, as in d2l-zh
    return c.textContent.replace(/[“"《][^”"》]*[”"》]/g, ' ').split(/\\s+/).join(' ');
  });
}"""
#: The figures of a page: the files of its images (Sphinx names an output image by its content)
#: and any matplotlib "Glyph ... missing from font" warning shown in an output.
FIGURES = r"""() => ({
  files: Array.from(document.querySelectorAll('article img'))
           .map(i => i.getAttribute('src') || '').filter(s => /_images\//.test(s))
           .map(s => s.split('/').pop()).sort(),
  glyphWarnings: Array.from(document.querySelectorAll('article .cell_output, article .output'))
           .map(e => e.textContent).filter(t => /Glyph \d+.*missing from/.test(t))
           .map(t => t.trim().slice(0, 120)),
})"""
THEME_STRINGS = """() => ({
  lang: document.documentElement.lang,
  prev: (document.querySelector('.prev-next-area a.left-prev .prev-next-subtitle') || {})
          .textContent || null,
  next: (document.querySelector('.prev-next-area a.right-next .prev-next-subtitle') || {})
          .textContent || null,
  search: Array.from(document.querySelectorAll('.search-button-field, .search-button, input[name=q]'))
               .map(e => (e.getAttribute('placeholder') || '') + ' ' + (e.getAttribute('aria-label') || '')
                         + ' ' + e.textContent).join(' '),
  mathNodes: document.querySelectorAll('article .math').length,
  mjx: document.querySelectorAll('article mjx-container').length,
  anchor: (Array.from(document.querySelectorAll('article section[id^="sec-"], article span[id^="sec-"]'))
           .map(e => e.id).pop()) || null,
  // the theme's tooltips and ARIA names outside the article, and the heading links' tooltips:
  // English ones of two or more words (the lang-switch script relabels them on Chinese pages)
  labels: Array.from(document.querySelectorAll('[title], [aria-label], [data-bs-title]'))
          .filter(e => !e.closest('article') || e.classList.contains('headerlink'))
          .filter(e => !/^en/i.test(e.closest('[lang]').lang))  // the switch to English: lang="en"
          .flatMap(e => ['title', 'aria-label', 'data-bs-title'].map(a => e.getAttribute(a) || ''))
          .filter(v => (/^[A-Za-z][A-Za-z ,.'()-]*[a-z]$/.test(v) && / /.test(v)
                        && v !== 'Inside Neural Networks') || v.includes('列印')),
  footer: (document.querySelector('footer') || {}).textContent || '',
})"""
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module", autouse=True)
def chinese_site(prerequisites):
    message = None
    if not (ZH_SITE / "index.html").is_file():
        message = "no Chinese site at _build/html/zh (run: make book, or python tools/i18n.py site)"
    elif zh_required() and not ZH_STAMP.is_file():
        message = (f"the last Chinese build failed ({ZH_STAMP.relative_to(ROOT)} is missing): run "
                   "`make book` to see why")
    if message:
        if zh_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def zh_required() -> bool:
    return bool(os.environ.get("NN_ZH_SITE_REQUIRED")) or site_required()


@pytest.fixture()
def ctx(browser):
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light",
                                  service_workers="block")
    context.set_default_timeout(60_000)
    context.on("request", lambda req: requests.append(req.url))
    context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    context.requests = requests
    yield context
    context.close()




def english_runs(page, root: str, done: list[str] | None) -> list[str]:
    texts = page.evaluate(ENGLISH_PROSE, [PROSE, root, done])
    return [run for text in texts for run in i18n.ENGLISH_RUN.findall(text)]


def run_axe(page) -> list[str]:
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE_JS))
    return [f"axe {v['impact']}: {v['id']} x{v['count']}: {v['help']} e.g. {v['nodes']}"
            for v in page.evaluate(AXE_VIOLATIONS) if v["impact"] in ("critical", "serious")]


@pytest.mark.parametrize("doc", TESTED)
def test_chinese_page(doc, server, ctx):
    started = time.perf_counter()
    index = DOCS.index(doc)
    zh_url = f"{server.url}zh/{doc}.html"
    page, response, problems = open_page(ctx, zh_url, idle=False)
    assert response is not None and response.status == 200, f"{zh_url}: HTTP {response and response.status}"
    mathjax = page.evaluate(WAIT_FOR_MATHJAX)
    images = page.evaluate(LOAD_ALL_IMAGES)
    facts = page.evaluate(PAGE_FACTS)
    theme = page.evaluate(THEME_STRINGS)

    # the edition and the theme's own strings
    if theme["lang"] != "zh-CN":
        problems.append(f'<html lang="{theme["lang"]}">, expected zh-CN')
    if index > 0 and (theme["prev"] or "").strip() != "上一页":
        problems.append(f"previous-page link says {theme['prev']!r}, expected 上一页")
    if index + 1 < len(DOCS) and (theme["next"] or "").strip() != "下一页":
        problems.append(f"next-page link says {theme['next']!r}, expected 下一页")
    if "搜索" not in theme["search"]:
        problems.append(f"the search box is not in Chinese: {theme['search'].strip()[:80]!r}")
    problems += [f"theme label in English: {v!r}" for v in sorted(set(theme["labels"]))]
    if "authors" in theme["footer"] or "列印" in theme["footer"]:
        problems.append(f"footer not in Chinese: {' '.join(theme['footer'].split())[:80]!r}")
    for key, expected in (("prev", DOCS[index - 1] if index else None),
                          ("next", DOCS[index + 1] if index + 1 < len(DOCS) else None)):
        want = f"{server.url}zh/{expected}.html" if expected else None
        if (facts[key] or None) != want:
            problems.append(f"{key} link is {facts[key]}, expected {want}")
    # maths
    if theme["mathNodes"] and not theme["mjx"]:
        problems.append(f"{theme['mathNodes']} maths element(s) but no MathJax output ({mathjax})")
    problems += [f"maths not typeset: ...{s}..." for s in facts["rawMath"]]
    problems += [f"MathJax error: {e}" for e in facts["mathErrors"]]
    # images and figure text
    problems += [f"image not loaded: {img['src']}" for img in images if not img["ok"]]
    figures = page.evaluate(FIGURES)
    problems += [f"missing glyph in a figure: {w}" for w in figures["glyphWarnings"]]
    problems += ["traceback: " + tb[:200] for tb in facts["tracebacks"]]
    # internal links (the language switch's link to the English page included)
    seen = set()
    for href in facts["links"]:
        if href.startswith(server.url) and href not in seen:
            seen.add(href)
            why = check_internal_link(href, server.url, set(facts["ids"]), ZH_SITE / f"{doc}.html")
            if why:
                problems.append(f"broken internal link {href[len(server.url) - 1:]}: {why}")
    # English prose left
    done = TESTED if RESTRICTED else None
    left = english_runs(page, f"{server.url}zh/", done)
    problems += [f"English prose left: {run!r}" for run in left[:10]]
    problems += run_axe(page)

    # the switch, both ways, at the page's last section label
    anchor = f"#{theme['anchor']}" if theme["anchor"] else ""
    if anchor:
        page.goto(zh_url + anchor, wait_until="load")
    switch = page.locator("a.inn-lang-switch")
    if switch.count() != 1 or switch.inner_text() != "English":
        problems.append(f"language switch: {switch.count()} link(s), text "
                        f"{switch.first.inner_text() if switch.count() else None!r}, expected one 'English'")
    else:
        switch.click()
        page.wait_for_load_state("load")
        if page.url != f"{server.url}{doc}.html{anchor}":
            problems.append(f"the switch opened {page.url}, expected {server.url}{doc}.html{anchor}")
        if page.evaluate("document.documentElement.lang") != "en":
            problems.append("the switch did not open the English edition")
        if anchor and page.locator(anchor).count() != 1:
            problems.append(f"the English page has no {anchor}")
        back = page.locator("a.inn-lang-switch")
        if back.count() != 1 or back.inner_text() != "中文":
            problems.append("the English page has no 中文 switch")
        elif back.evaluate("a => a.href") != zh_url + anchor:
            problems.append(f"the English page's switch leads to {back.evaluate('a => a.href')}, "
                            f"expected {zh_url + anchor}")
        # the same figures as the English page: as many (not the same bytes: the English site
        # re-executes its notebooks, and a figure of measured times differs from the stored one
        # the Chinese page shows); their text is English (tests/test_i18n.py: no figure is drawn
        # from Chinese text), so no missing glyph
        en_figures = page.evaluate(FIGURES)
        if len(en_figures["files"]) != len(figures["files"]):
            problems.append(f"{len(figures['files'])} figures, the English page has "
                            f"{len(en_figures['files'])}")
        # the measure can fail: the English page shows English runs where its source has prose
        source_runs = [r for text in i18n.markdown_blocks(doc) for r in i18n.english_left(text[1])]
        if source_runs and not english_runs(page, server.url, None):
            problems.append("the English-prose measure finds nothing on the English page")
    page.close()
    elapsed = time.perf_counter() - started
    assert not problems, f"zh/{doc} ({elapsed:.1f} s): {len(problems)} problem(s):\n  " + \
        "\n  ".join(problems)


#: Course terms and the chapter that teaches each; the chapter must be among the first results.
SEARCHES = [("反向传播", "chapters/06_backprop"), ("学习率", "chapters/07_gradient_descent"),
            ("过拟合", "chapters/09_faq")]
TOP = 5


@pytest.mark.parametrize(("term", "expected"), SEARCHES)
def test_chinese_search_finds_the_chapter(server, ctx, term, expected):
    if RESTRICTED and expected not in TESTED:
        pytest.skip(f"NN_ZH_PAGES=complete: {expected}'s catalogue is not finished")
    page, _, problems = open_page(ctx, f"{server.url}zh/search.html?q={quote(term)}", idle=False)
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0 "
                           "|| /没有|did not match/.test(document.body.innerText)", timeout=60_000)
    links = page.eval_on_selector_all("#search-results ul.search li > a", "as => as.map(a => a.href)")
    docs = [urlsplit(h).path.split("/zh/", 1)[-1].removesuffix(".html") for h in links]
    assert expected in docs[:TOP], f"searching {term!r}: {expected} not among the first {TOP}: {docs[:10]}"
    assert all("/zh/" in h for h in links), "a Chinese search result outside the Chinese edition"
    assert not problems, problems


def test_term_link_on_the_chinese_cover_lands_on_the_chinese_glossary_entry(server, ctx):
    """A {term} role of the cover (index.md, translated in index.po) links the Chinese glossary's
    entry: its anchor exists there and the entry is the Chinese term with its English."""
    page, _, problems = open_page(ctx, f"{server.url}zh/index.html", idle=False)
    link = page.locator('article a.reference.internal:has(span.std-term)').first
    assert link.count() == 1, "no {term} link on the Chinese cover"
    label = link.inner_text()
    assert CJK.search(label), f"the cover's term link shows {label!r}, not Chinese"
    link.click()
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path.endswith("/zh/glossary.html"), page.url
    fragment = urlsplit(page.url).fragment
    assert fragment.startswith("term-"), page.url
    entry = page.locator(f'dt[id="{fragment}"]')
    assert entry.count() == 1, f"no glossary entry #{fragment} on the Chinese glossary"
    text = entry.inner_text()
    assert label in text and re.search(r"（[A-Za-z][^）]*）", text), text
    # the same anchor names the same entry in the English glossary (the switch keeps it)
    en = (SITE / "glossary.html").read_text(encoding="utf-8")
    assert f'id="{fragment}"' in en, f"the English glossary has no #{fragment}"
    assert not problems, problems


def test_progress_counts_in_both_editions(server, ctx):
    """A page marked read in the Chinese edition counts in the English one and back: progress.js
    keys pages by their label (sec-neuron), never by a caption or title that the editions
    translate (the part bars are found by position, their captions differ: 章节 / Chapters)."""
    chapter = "chapters/02_neuron"
    page, _, problems = open_page(ctx, f"{server.url}zh/{chapter}.html", idle=False)
    page.wait_for_selector(".inn-mark")
    page.locator(".inn-mark").click()
    stored = page.evaluate("() => window.innProgress.load()")
    assert list(stored["pages"]) == ["sec-neuron"], (
        f"the Chinese page is keyed {list(stored['pages'])}, not by its label sec-neuron: on a "
        "Chinese page Sphinx puts the label on the <section> and an automatic id (id1, from the "
        "non-ASCII title) on the <span> before the <h1>, which progress.js's pageKey takes")
    zh_bars = page.eval_on_selector_all("nav.bd-docs-nav .inn-part",
                                        "bs => bs.map(b => [b.dataset.part, b.dataset.read])")
    page.goto(f"{server.url}chapters/03_layers.html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    en_bars = page.eval_on_selector_all("nav.bd-docs-nav .inn-part",
                                        "bs => bs.map(b => [b.dataset.part, b.dataset.read])")
    assert zh_bars[0] == ["章节", "1"] and en_bars[0] == ["Chapters", "1"], (zh_bars, en_bars)
    assert [r for _, r in zh_bars] == [r for _, r in en_bars]
    tick = page.locator('nav.bd-docs-nav a.reference.internal[href$="02_neuron.html"] .inn-tick')
    assert tick.count() == 1, "the English sidebar does not tick the page read in Chinese"
    # a Chinese sheet is the same sheet: its cell reads checker("01_neuron", lang="zh_CN")
    page.goto(f"{server.url}zh/exercises/01_neuron.html", wait_until="load")
    page.wait_for_selector(".inn-mark")
    page.locator(".inn-mark").click()
    keys = list(page.evaluate("() => window.innProgress.load()")["pages"])
    assert "sheet:01_neuron" in keys, (
        f"the Chinese sheet is keyed {keys[-1:]}, not sheet:01_neuron: progress.js's pageKey "
        "matches checker(\"01_neuron\") only without a second argument")
    assert not problems, problems


def test_chinese_build_gave_no_warning():
    """tools/i18n.py site keeps the Chinese build's warnings (a broken reference, a {term} the
    Chinese glossary lacks): there must be none."""
    assert i18n.ZH_WARNINGS.is_file(), "no record of the Chinese build's warnings: run make book"
    warnings = i18n.ZH_WARNINGS.read_text().splitlines()
    if RESTRICTED:
        warnings = [w for w in warnings if any(f"{d}." in w for d in TESTED)]
    assert warnings == [], "\n".join(warnings[:20])


def test_chinese_site_has_no_solutions():
    """The Chinese sheets are made from the student sheets: no line of a reference solution is in
    a Chinese sheet's page or its downloadable notebook, and exercises/source is not built."""
    from test_site import solution_lines

    assert not (ZH_SITE / "exercises" / "source").exists()
    sheets = sorted((ROOT / "exercises" / "source").glob("*.ipynb"))
    assert sheets, "no source sheets found"
    for source in sheets:
        secret = solution_lines(source)
        for file in (ZH_SITE / "exercises" / f"{source.stem}.html",
                     ZH_SITE / "_sources" / "exercises" / f"{source.stem}.ipynb"):
            assert file.is_file(), f"{file.relative_to(SITE)} missing"
            text = file.read_text(encoding="utf-8", errors="replace")
            if file.suffix == ".html":
                text = html.unescape(re.sub(r"<[^>]+>", "", text))
            else:
                text = "\n".join("".join(c.get("source", "")) for c in json.loads(text)["cells"])
            leaked = [line for line in secret if line in text]
            assert not leaked, f"{file.relative_to(SITE)} shows its reference solution: {leaked[:3]}"
