"""Browser tests of the reader's progress (_static/progress.js) on the built site.

Like tests/test_site.py they run on _build/html (`make book`) in headless Chromium, served over
http by a local server: mark a page read, reload, it persists; export, reset, import, equal; an
unknown key in storage changes no total; the file nngrade's check() writes in Jupyter imports and
shows the exercise progress; with JavaScript off nothing of it is there and the page reads as
before; over file:// (a page opened from the disk) the progress is kept too (Chromium gives all
file:// pages one local storage) but the sidebar ticks only pages visited there. A hostile file
(a `javascript:` or foreign "continue" address, "__proto__" keys, HTML in strings, times in the
future, a huge file) imports only what fits the schema and says what it left out.
"""
from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from site_helpers import (
    AXE_JS,
    AXE_VIOLATIONS,
    SITE,
    browser_fixture,  # noqa: F401 - fixture "browser"
    is_local,
    prerequisites_fixture,  # noqa: F401 - fixture "prerequisites"
    server_fixture,  # noqa: F401 - fixture "server"
)

from nngrade import student

CHAPTER = "chapters/02_neuron"      # has Check-yourself dropdowns
OTHER = "chapters/03_layers"
SHEET = "exercises/01_neuron"
STORE = "inside-neural-networks.progress"
MAP = "inside-neural-networks.pages"
MAX_FILE_BYTES = 1048576   # progress.js's MAX_FILE_BYTES: an Import larger than this is refused


@pytest.fixture(autouse=True)
def no_progress_recording(monkeypatch):
    """check() run here never writes the reader's ~/.inside-neural-networks/progress.json (pytest
    started from a Jupyter terminal inherits JPY_SESSION_NAME); a test that wants a file names it."""
    monkeypatch.setenv("NN_PROGRESS_FILE", "off")


@pytest.fixture()
def ctx(browser):
    """A fresh context (empty local storage), offline: requests leaving 127.0.0.1 are aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light",
                                  service_workers="block", accept_downloads=True)
    context.set_default_timeout(60_000)
    context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    yield context
    context.close()


def open_page(context, url):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(f"uncaught JavaScript error: {err}"))
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"console error: {msg.text}"))
    page.on("dialog", lambda dialog: dialog.accept())  # Reset asks for confirmation
    page.goto(url, wait_until="load")
    page.wait_for_selector(".inn-progress")
    return page, errors


def bars(page) -> dict[str, tuple[int, int]]:
    """The sidebar's bar per part: {caption: (pages read, pages)}."""
    return {b["part"]: (int(b["read"]), int(b["total"])) for b in page.eval_on_selector_all(
        "nav.bd-docs-nav .inn-part", "bs => bs.map(b => ({part: b.dataset.part, read: b.dataset.read, "
        "total: b.dataset.total}))")}


def stored(page) -> dict:
    return page.evaluate("() => window.innProgress.load()")


def sidebar_link(page, doc):
    """The sidebar's link to `doc` (on `doc` itself the theme writes it as href="#")."""
    if page.url.split("#")[0].endswith(doc + ".html"):
        return page.locator('nav.bd-docs-nav a.reference.internal.current[href="#"]').first
    return page.locator(f'nav.bd-docs-nav a.reference.internal[href$="{doc.split("/")[-1]}.html"]').first


def badge(page, doc) -> str:
    """The visible "passed/total" after an exercise sheet in the sidebar."""
    shown = sidebar_link(page, doc).locator('.inn-sheet [aria-hidden="true"]')
    shown.wait_for()
    return shown.inner_text().strip()


def test_page_keys_are_labels(server, ctx):
    """A chapter's key is its first label (sec-neuron), an exercise sheet's its sheet name."""
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    assert page.evaluate("() => window.innProgress.key()") == "sec-neuron"
    page.goto(server.url + SHEET + ".html")
    page.wait_for_selector(".inn-progress")
    assert page.evaluate("() => window.innProgress.key()") == "sheet:01_neuron"
    assert not errors, errors


def test_mark_reload_persists(server, ctx):
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    before = bars(page)
    assert set(before) == {"Chapters", "Beyond the article", "Exercises", "Reference"}, before
    assert before["Chapters"] == (0, 10), before
    mark = page.locator(".inn-mark")
    state = page.locator(".inn-mark-state")
    assert mark.get_attribute("aria-pressed") == "false"
    assert state.get_attribute("aria-hidden") == "true" and state.inner_text() == ""
    mark.click()
    assert mark.get_attribute("aria-pressed") == "true"
    # a toggle button keeps its name (a screen reader says "Mark as read, pressed"); the eye sees a
    # tick beside it, hidden from screen readers so that the state is not announced twice
    assert mark.inner_text() == "Mark as read"
    assert page.get_by_role("button", name="Mark as read", exact=True, pressed=True).count() == 1
    assert state.inner_text() == "\u2713 Read"
    page.reload(wait_until="load")
    page.wait_for_selector(".inn-progress")
    assert page.locator(".inn-mark").get_attribute("aria-pressed") == "true"
    assert bars(page)["Chapters"] == (1, 10)
    assert sidebar_link(page, CHAPTER).locator(".inn-tick").count() == 1
    # another page: the tick and the bar are there, and this page is not marked
    page.goto(server.url + OTHER + ".html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    assert page.locator(".inn-mark").get_attribute("aria-pressed") == "false"
    assert bars(page)["Chapters"] == (1, 10)
    assert sidebar_link(page, CHAPTER).locator(".inn-tick").count() == 1
    assert sidebar_link(page, OTHER).locator(".inn-tick").count() == 0
    # the cover page offers to continue where the reader left off (the last page opened)
    page.goto(server.url + "index.html", wait_until="load")
    page.wait_for_selector(".inn-continue-link")
    assert page.locator(".inn-continue-link").get_attribute("href").endswith(OTHER + ".html")
    # unmark
    page.goto(server.url + CHAPTER + ".html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    page.locator(".inn-mark").click()
    assert bars(page)["Chapters"] == (0, 10)
    assert stored(page)["pages"] == {}
    assert page.get_by_role("button", name="Mark as read", exact=True, pressed=False).count() == 1
    assert page.locator(".inn-mark-state").inner_text() == ""
    assert not errors, errors


def test_export_reset_import_equal(server, ctx, tmp_path):
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    page.locator(".inn-mark").click()
    first = page.locator("section#check-yourself details.sd-dropdown").first  # its first answer
    first.locator("summary").click()
    page.wait_for_function("() => document.querySelector('section#check-yourself details.sd-dropdown')"
                           ".classList.contains('inn-answered')")
    page.goto(server.url + OTHER + ".html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    page.locator(".inn-mark").click()
    before = stored(page)
    assert set(before["pages"]) == {"sec-neuron", "sec-layers"}
    assert list(before["answered"]) == ["sec-neuron"] and list(before["answered"]["sec-neuron"]) == ["1"]
    with page.expect_download() as info:
        page.locator(".inn-export").click()
    exported = tmp_path / "progress.json"
    info.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert data["schema"] == "inside-neural-networks/progress" and data["version"] == 1
    assert data["pages"] == before["pages"] and data["answered"] == before["answered"]

    page.locator(".inn-reset").click()
    page.wait_for_function("() => Object.keys(window.innProgress.load().pages).length === 0")
    assert bars(page)["Chapters"] == (0, 10)
    assert page.evaluate(f"() => localStorage.getItem('{STORE}')") is None

    page.set_input_files(".inn-import-file", str(exported))
    page.wait_for_function("() => Object.keys(window.innProgress.load().pages).length === 2")
    after = stored(page)
    assert after == before, (before, after)
    assert bars(page)["Chapters"] == (2, 10)
    assert "Imported" in page.locator(".inn-status").inner_text()
    # the answer opened before the reset is shown as opened again
    page.goto(server.url + CHAPTER + ".html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    answers = page.locator("section#check-yourself details.sd-dropdown")
    assert page.locator(".inn-check-yourself").inner_text() == \
        f"Check yourself: 1 of {answers.count()} answers opened."
    assert answers.first.get_attribute("class").split().count("inn-answered") == 1
    assert page.locator("details.inn-answered").count() == 1
    assert not errors, errors


def test_import_rejects_a_foreign_file_and_says_why(server, ctx, tmp_path):
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"schema": "something-else", "version": 1, "pages": {"sec-neuron": {}}}))
    page.set_input_files(".inn-import-file", str(bad))
    page.wait_for_function("() => /Not imported/.test(document.querySelector('.inn-status').textContent)")
    message = page.locator(".inn-status").inner_text()
    assert "expected \"inside-neural-networks/progress\"" in message, message
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema": "inside-neural-networks/progress", "version": 99}))
    page.set_input_files(".inn-import-file", str(newer))
    page.wait_for_function("() => /version 99/.test(document.querySelector('.inn-status').textContent)")
    assert stored(page)["pages"] == {}
    assert not errors, errors


def test_unknown_key_in_storage_changes_no_total(server, ctx):
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    page.locator(".inn-mark").click()
    expected = bars(page)
    assert expected["Chapters"] == (1, 10)
    page.evaluate("""(store) => {
        const p = JSON.parse(localStorage.getItem(store));
        p.pages['sec-no-such-page'] = {read: '2026-01-01T00:00:00Z'};
        p.pages['sheet:99_missing'] = {read: '2026-01-01T00:00:00Z'};
        p.answered['sec-no-such-page'] = {'1': '2026-01-01T00:00:00Z'};
        p.exercises['99_missing'] = {questions: ['q1'],
                                     results: {q1: {passed: true, at: '2026-01-01T00:00:00Z'}}};
        localStorage.setItem(store, JSON.stringify(p));
    }""", STORE)
    for doc in (CHAPTER, OTHER, SHEET):
        page.goto(server.url + doc + ".html", wait_until="load")
        page.wait_for_selector(".inn-progress")
        page.wait_for_load_state("networkidle")  # the script may read other pages to find their keys
        assert bars(page) == expected, (doc, bars(page), expected)
    assert "sec-no-such-page" in stored(page)["pages"]  # kept (a page of another edition, say)
    assert not errors, errors


def run_check(check, question, code):
    ns = {"np": np, "check": check}
    exec(textwrap.dedent(code), ns)
    exec(f"result = check({question!r})", ns)
    return ns["result"]


def test_progress_file_from_check_imports(server, ctx, tmp_path, monkeypatch):
    """check() in Jupyter writes a progress file; the site's Import shows it on the sheet."""
    progress = tmp_path / "progress.json"
    monkeypatch.setenv("NN_PROGRESS_FILE", str(progress))
    check = student.checker("01_neuron")
    assert run_check(check, "q1", "def weighted_sum(x, w, b):\n    return x @ w + b").passed
    assert not run_check(check, "q2", "def sigmoid(z):\n    return -1 / (1 + np.exp(-z))").passed
    data = json.loads(progress.read_text())
    results = data["exercises"]["01_neuron"]["results"]
    assert {q: r["passed"] for q, r in results.items()} == {"q1": True, "q2": False}

    page, errors = open_page(ctx, server.url + CHAPTER + ".html")   # import from another page
    page.set_input_files(".inn-import-file", str(progress))
    page.wait_for_function("() => /Imported/.test(document.querySelector('.inn-status').textContent)")
    assert "1 exercise question(s) passed" in page.locator(".inn-status").inner_text()
    total = len(data["exercises"]["01_neuron"]["questions"])
    # the sheet's sidebar entry shows passed/total once the script knows the sheet's key
    assert badge(page, SHEET) == f"1/{total}"
    page.goto(server.url + SHEET + ".html", wait_until="load")
    page.wait_for_selector(".inn-progress")
    assert page.locator(".inn-exercises").inner_text().startswith(f"Exercises: 1 of {total} questions pass")
    assert page.locator(".inn-question.inn-passed").count() == 1
    assert "q1 passed" in page.locator(".inn-question.inn-passed").inner_text()
    assert page.locator(".inn-question.inn-failed").count() == 1
    assert badge(page, SHEET) == f"1/{total}"
    # what the script added (tick, badge, notes, the block) reads well in both themes
    page.locator(".inn-mark").click()
    assert sidebar_link(page, SHEET).locator(".inn-tick").count() == 1
    page.emulate_media(reduced_motion="reduce")
    page.add_script_tag(path=str(AXE_JS))
    for theme in ("light", "dark"):
        page.evaluate("(t) => { const d = document.documentElement.dataset; d.theme = d.mode = t; }", theme)
        page.wait_for_timeout(300)
        bad = [v for v in page.evaluate(AXE_VIOLATIONS) if v["impact"] in ("serious", "critical")]
        assert not bad, (theme, bad)
    assert not errors, errors


def test_nothing_breaks_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(server.url + CHAPTER + ".html", wait_until="load")
        assert response.status == 200
        assert "The neuron" in page.locator("article.bd-article h1").first.inner_text()
        assert page.locator(".inn-progress, .inn-part, .inn-mark").count() == 0
        assert "Mark as read" not in page.content()
        assert page.locator("nav.bd-docs-nav a.reference.internal").count() >= 30
        assert page.locator("details.sd-dropdown").count() >= 1  # the answers are still there
    finally:
        context.close()


def test_file_protocol_keeps_progress(browser):
    """Opened from the disk (file://), Chromium gives all file:// pages one local storage: a page
    marked read stays marked on every page. Other pages' keys cannot be read there (the browser
    refuses fetch() on file://), so the sidebar ticks the pages visited in this browser."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto((SITE / (CHAPTER + ".html")).as_uri(), wait_until="load")
        page.wait_for_selector(".inn-progress")
        page.locator(".inn-mark").click()
        page.goto((SITE / (OTHER + ".html")).as_uri(), wait_until="load")
        page.wait_for_selector(".inn-progress")
        assert "sec-neuron" in stored(page)["pages"]
        assert bars(page)["Chapters"] == (1, 10)
        assert sidebar_link(page, CHAPTER).locator(".inn-tick").count() == 1
    finally:
        context.close()


def test_another_language_edition_keeps_the_progress(server, ctx):
    """The same page served as a Chinese edition (<html lang="zh-CN">, under /zh/ one day) has the
    same key, so what was marked in one edition shows in the other; the texts are Chinese."""
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    page.locator(".inn-mark").click()
    page.close()
    def as_chinese(route):
        original = route.fetch()
        route.fulfill(response=original, body=original.text().replace('lang="en"', 'lang="zh-CN"', 1))

    ctx.route(server.url + OTHER + ".html", as_chinese)
    page, errors = open_page(ctx, server.url + OTHER + ".html")
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    assert page.locator(".inn-mark").inner_text() == "标记为已读"
    assert bars(page)["Chapters"] == (1, 10)
    assert sidebar_link(page, CHAPTER).locator(".inn-tick").count() == 1
    assert not errors, errors


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prototype_polluted(page) -> list[str]:
    """Names added to Object.prototype (what a "__proto__" key in a merged object would do)."""
    return page.evaluate("() => { const out = []; for (const k in {}) out.push(k); "
                         "return out.concat(['questions', 'results', 'read', '1'].filter(k => k in {})); }")


def test_hostile_import_keeps_only_what_fits_and_says_so(server, ctx, tmp_path):
    """A file anyone could hand a reader: a javascript: "continue" address dated later than the
    reader's last page (so that it would win the merge), "__proto__" keys at every level, HTML in
    keys and titles, times in the future or not times at all, wrong types. Only the entries that
    fit are imported, the status says what was left out, no prototype is polluted, and the cover
    still links the last page of this site that the reader opened."""
    now = datetime.now(UTC)
    t, soon = iso(now - timedelta(hours=1)), iso(now + timedelta(hours=1))
    hostile = {
        "schema": "inside-neural-networks/progress", "version": 1,
        "pages": {"__proto__": {"read": t}, "constructor": {"read": t}, "sec-layers": {"read": t},
                  "<img src=x onerror=window.pwned=1>": {"read": t},
                  "sec-future": {"read": "2999-01-01T00:00:00Z"},
                  "sec-words": {"read": "yesterday"}, "sec-number": {"read": 5}},
        "answered": {"__proto__": {"1": t}, "sec-neuron": {"__proto__": {"1": t}, "1": t, "0": t, "x": t}},
        "exercises": {"__proto__": {"questions": ["q1"], "results": {}},
                      "01_neuron": {"questions": ["q1", "q2", "<b>q3</b>", 5, "q1"],
                                    "results": {"__proto__": {"passed": True, "at": t},
                                                "q1": {"passed": True, "at": t},
                                                "q2": {"passed": "yes", "at": t}}}},
        "last": {"key": "sec-neuron", "path": "javascript:window.pwned=1//.html",
                 "title": "<img src=x onerror=window.pwned=1>", "at": soon},
    }
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    assert prototype_polluted(page) == []
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile))
    page.set_input_files(".inn-import-file", str(path))
    page.wait_for_function("() => /Imported/.test(document.querySelector('.inn-status').textContent)")
    message = page.locator(".inn-status").inner_text()
    assert "1 page(s) read, 1 exercise question(s) passed" in message, message
    assert "Left out" in message and 'pages["__proto__"]: a reserved name' in message, message
    assert prototype_polluted(page) == []
    data = stored(page)
    assert data["pages"] == {"sec-layers": {"read": t}}, data["pages"]
    assert data["answered"] == {"sec-neuron": {"1": t}}, data["answered"]
    assert data["exercises"] == {"01_neuron": {"questions": ["q1", "q2"],
                                               "results": {"q1": {"passed": True, "at": t}}}}
    assert data["last"]["path"] == CHAPTER + ".html"          # the page opened, not the file's
    # every entry left out is named ("where: why"), the five first in the status line
    left_out = page.evaluate("(text) => { const out = []; "
                             "window.innProgress.normalise(JSON.parse(text), out); return out; }",
                             path.read_text())
    # 6 pages, 4 answers, 5 of exercises (a sheet, 2 questions, 2 results), last.path; the
    # repeated "q1" in questions is merely dropped
    assert len(left_out) == 16, left_out
    assert "last.path: not a page of this site (e.g. chapters/02_neuron.html)" in left_out
    assert 'pages["sec-future"]: not an ISO 8601 UTC time between 2000 and now' in left_out
    assert "Left out 16 entries" in message, message
    # counts are bounded: 2000 pages, 200 questions of a sheet; the rest is left out and said so
    many = page.evaluate("""(t) => { const out = [], pages = {}, qs = [];
        for (let i = 0; i < 2001; i++) pages["sec-" + i] = {read: t};
        for (let i = 0; i < 201; i++) qs.push("q" + i);
        const p = window.innProgress.normalise({schema: window.innProgress.schema, version: 1, pages: pages,
                                                exercises: {s: {questions: qs, results: {}}}}, out);
        return [Object.keys(p.pages).length, p.exercises.s.questions.length, out]; }""", t)
    assert many == [2000, 200, ['pages["sec-2000"]: too many entries', 'exercises["s"].questions["q200"]: '
                                'too many entries']], many
    # the cover offers the last page of this site, as text, never the file's address or HTML
    page.goto(server.url + "index.html", wait_until="load")
    link = page.locator(".inn-continue-link")
    link.wait_for()
    assert link.get_attribute("href") == server.url + CHAPTER + ".html"
    assert page.locator(".inn-progress img").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert not errors, errors


PATHS = {
    "chapters/03_layers.html": True, "index.html": True, "exercises/01_neuron.html": True,
    "javascript:alert(document.domain)": False, "javascript:alert(1)//x.html": False,
    "https://evil.example/x.html": False, "//evil.example/x.html": False, "/chapters/03_layers.html": False,
    "../x.html": False, "chapters/../../x.html": False, "chapters//x.html": False, "chapters/./x.html": False,
    "data:text/html,x.html": False, "chapters/03_layers.html?x=.html": False,
    "chapters/03 layers.html": False,
    "chapters\\03_layers.html": False, "chapters/03_layers.htm": False, "": False, 5: False,
}


def test_continue_address_must_be_a_page_of_this_site(server, ctx):
    """last.path is read (import or storage) only as a relative address of this site's pages; and
    what storage or the page-key cache hold is checked again before it becomes the cover's link."""
    page, errors = open_page(ctx, server.url + "index.html")
    at = iso(datetime.now(UTC) - timedelta(minutes=5))
    kept = page.evaluate("""([paths, at]) => paths.map(p => window.innProgress.normalise(
        {schema: window.innProgress.schema, version: 1,
         last: {key: "sec-layers", path: p, title: "x", at: at}}).last !== null)""", [list(PATHS), at])
    assert dict(zip(PATHS, kept, strict=True)) == PATHS
    # what another script of this origin (or an older version) left in storage
    page.evaluate("""([store, map, at]) => {
        localStorage.setItem(store, JSON.stringify({schema: window.innProgress.schema, version: 1, pages: {},
            last: {key: "sec-layers", path: "https://evil.example/x.html", title: "x", at: at}}));
        localStorage.setItem(map, JSON.stringify({"javascript:alert(1)": "sec-neuron",
                                                  "https://evil.example/a.html": "sec-neuron"}));
    }""", [STORE, MAP, at])
    page.reload(wait_until="load")
    page.wait_for_selector(".inn-progress")
    assert page.locator(".inn-continue-link").count() == 0
    assert page.locator(".inn-continue").inner_text() == \
        "Your progress appears here once you have opened a chapter."
    page.evaluate("""([store, at]) => localStorage.setItem(store, JSON.stringify({
        schema: window.innProgress.schema, version: 1,
        last: {key: "sec-neuron", path: "chapters/03_layers.html", title: "x", at: at}}))""", [STORE, at])
    page.reload(wait_until="load")
    page.wait_for_selector(".inn-continue-link")
    hrefs = page.eval_on_selector_all("a.inn-continue-link", "as => as.map(a => a.href)")
    assert hrefs == [server.url + "chapters/03_layers.html"], hrefs
    assert not errors, errors


def test_import_refuses_a_file_too_large_unread(server, ctx, tmp_path):
    page, errors = open_page(ctx, server.url + CHAPTER + ".html")
    body = json.dumps({"schema": "inside-neural-networks/progress", "version": 1,
                       "pages": {"sec-layers": {"read": iso(datetime.now(UTC))}}})
    big = tmp_path / "big.json"
    big.write_text(body + " " * (MAX_FILE_BYTES + 1 - len(body)))
    assert big.stat().st_size == MAX_FILE_BYTES + 1
    page.set_input_files(".inn-import-file", str(big))
    page.wait_for_function("() => /Not imported/.test(document.querySelector('.inn-status').textContent)")
    message = page.locator(".inn-status").inner_text()
    assert (f"big.json is {MAX_FILE_BYTES + 1} bytes; a progress file is at most {MAX_FILE_BYTES} bytes"
            in message), message
    assert stored(page)["pages"] == {}
    small = tmp_path / "small.json"        # the same content, at the limit, is imported
    small.write_text(body + " " * (MAX_FILE_BYTES - len(body)))
    page.set_input_files(".inn-import-file", str(small))
    page.wait_for_function("() => /Imported/.test(document.querySelector('.inn-status').textContent)")
    assert list(stored(page)["pages"]) == ["sec-layers"]
    assert not errors, errors
