"""Browser tests of the Chinese edition (_build/html/zh, from `python tools/i18n.py site`).

A sketch proven on the pages translated so far (the cover, chapter 1, sheet 1): the language
switch goes both ways and lands on the same page and anchor; no English prose paragraph is left on
a translated Chinese page; Chinese search finds course terms. Once every page is translated, the
same tests run over every page of _toc.yml (site_helpers.toc_entries).

Without a Chinese build these tests skip, saying so, unless NN_ZH_SITE_REQUIRED=1 (set it in
`make test` once `make book` builds both editions): then they fail.
"""
from __future__ import annotations

import os
import re
import sys
from urllib.parse import quote

import pytest
from site_helpers import (
    ROOT,
    SITE,
    browser_fixture,  # noqa: F401 - fixture "browser"
    is_local,
    prerequisites_fixture,  # noqa: F401 - fixture "prerequisites"
    server_fixture,  # noqa: F401 - fixture "server"
)

sys.path.insert(0, str(ROOT / "tools"))
import i18n  # noqa: E402

TRANSLATED = ["index", "chapters/01_introduction", "exercises/01_neuron"]
#: Elements that hold prose on a page; code, outputs and maths are removed before measuring.
PROSE = ("article p, article li, article th, article td, article h1, article h2, article h3, "
         "article .admonition-title, article summary, article dt, article dd")


@pytest.fixture(scope="module", autouse=True)
def chinese_site():
    if not (SITE / "zh" / "index.html").is_file():
        message = "no Chinese site at _build/html/zh (run: python tools/i18n.py site)"
        if os.environ.get("NN_ZH_SITE_REQUIRED"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture()
def ctx(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    context.set_default_timeout(60_000)
    context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    yield context
    context.close()


@pytest.mark.parametrize("page_name", TRANSLATED)
def test_switch_goes_both_ways_to_the_same_page_and_anchor(server, ctx, page_name):
    page = ctx.new_page()
    start = f"{server.url}{page_name}.html"
    anchor = "#sec-how-to-use" if page_name == "chapters/01_introduction" else ""
    page.goto(start + anchor)
    assert page.evaluate("document.documentElement.lang") == "en"
    switch = page.locator("a.inn-lang-switch")
    assert switch.inner_text() == "中文"
    switch.click()
    page.wait_for_load_state("load")
    assert page.url == f"{server.url}zh/{page_name}.html{anchor}"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    if anchor:
        assert page.locator(anchor).count() == 1  # the label exists on the Chinese page too
    back = page.locator("a.inn-lang-switch")
    assert back.inner_text() == "English"
    back.click()
    page.wait_for_load_state("load")
    assert page.url == start + anchor


@pytest.mark.parametrize("page_name", TRANSLATED)
def test_no_english_prose_left_on_a_translated_page(server, ctx, page_name):
    """Each prose element's visible text, with code, maths and outputs removed, must not contain
    four Latin words in a row (i18n.ENGLISH_RUN); the English page has many, which shows the
    measure can fail. Links to pages not translated yet show those pages' English titles
    ({ref} and {doc} without text): they are left out until their page is translated."""
    def english_runs(url: str, root: str) -> list[str]:
        page = ctx.new_page()
        page.goto(url)
        texts = page.eval_on_selector_all(PROSE, """(els, [root, done]) => els.map(e => {
            const c = e.cloneNode(true);
            c.querySelectorAll('code, pre, mjx-container, .math, .cell_output, .MathJax')
             .forEach(x => x.remove());
            c.querySelectorAll('a.reference.internal').forEach(a => {
              const path = new URL(a.getAttribute('href'), document.baseURI).pathname;
              const doc = path.slice(new URL(root).pathname.length).replace(/\\.html$/, '');
              if (!done.includes(doc)) a.remove();
            });
            return c.textContent; })""", [root, TRANSLATED])
        page.close()
        return [r for t in texts for r in i18n.ENGLISH_RUN.findall(" ".join(t.split()))]

    assert english_runs(f"{server.url}{page_name}.html", server.url), "the measure finds nothing"
    assert english_runs(f"{server.url}zh/{page_name}.html", f"{server.url}zh/") == []


@pytest.mark.parametrize(("term", "expected"), [("反向传播", "chapters/01_introduction"),
                                                ("学习率", "chapters/01_introduction"),
                                                ("过拟合", "chapters/01_introduction")])
def test_chinese_search_finds_course_terms(server, ctx, term, expected):
    page = ctx.new_page()
    page.goto(f"{server.url}zh/search.html?q={quote(term)}")
    page.wait_for_selector("#search-results li, #search-results p", timeout=60_000)
    links = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
    assert any(re.search(re.escape(expected) + r"\.html", href) for href in links), links
