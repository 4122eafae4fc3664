"""Browser tests of the built website: every page of _toc.yml in headless Chromium, offline.

Run by `make test` after `make book`'s build (under `make test` a missing site, browser or axe-core
fails these tests; run alone with pytest they are skipped). For every page: HTTP 200, no JavaScript
console error, maths typeset, every image loaded, every slider changes what it shows, no traceback
outside cells tagged raises-exception, every internal link resolves, no request leaves 127.0.0.1,
the reader's buttons (search, dark mode, download, launch (if configured), previous/next) are there, no critical
or serious axe-core violation in the light theme nor in the dark one, and in the dark theme every
figure sits on an opaque light background; a full-page screenshot goes to _build/screenshots/. Then: search finds a word
of a chapter, and the dark-mode toggle changes the colours.
"""
from __future__ import annotations

import html
import json
import re
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
import yaml
from site_helpers import (
    AXE_JS,
    AXE_VIOLATIONS,
    LOAD_ALL_IMAGES,
    PAGE_FACTS,
    ROOT,
    SHOTS,
    SITE,
    SLIDER_STATE,
    WAIT_FOR_MATHJAX,
    browser_fixture,  # noqa: F401 - fixture "browser"
    check_internal_link,
    host_of,
    is_local,
    open_page,
    prerequisites_fixture,  # noqa: F401 - fixture "prerequisites"
    server_fixture,  # noqa: F401 - fixture "server"
    toc_entries,
)

PAGES = toc_entries()
DOCS = [p["doc"] for p in PAGES]
VIEWPORT = {"width": 1280, "height": 900}


# --------------------------------------------------------------------------- fixtures
class Report:
    """What the whole run saw: printed at the end and written to _build/screenshots/report.json."""

    def __init__(self):
        self.hosts: Counter[str] = Counter()
        self.nonlocal_urls: list[str] = []
        self.axe: dict[str, dict[str, int]] = {}  # page -> theme -> violations of any impact
        self.pages: dict[str, dict] = {}
        self.started = time.perf_counter()

    def record(self, url: str) -> None:
        self.hosts[host_of(url)] += 1
        if not is_local(url):
            self.nonlocal_urls.append(url)


@pytest.fixture(scope="session")
def site_report(request):
    report = Report()
    yield report
    if not report.pages:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    elapsed = time.perf_counter() - report.started
    summary = {"pages_tested": len(report.pages), "seconds": round(elapsed, 1),
               "request_hosts": dict(report.hosts), "non_local_requests": report.nonlocal_urls,
               "axe_violations_by_theme": report.axe, "pages": report.pages}
    (SHOTS / "report.json").write_text(json.dumps(summary, indent=1))
    lines = [f"website: {len(report.pages)} pages tested in {elapsed:.1f} s; screenshots and "
             f"report.json in {SHOTS.relative_to(ROOT)}/",
             "website: request hosts seen: " + ", ".join(f"{h} ({n})" for h, n in report.hosts.most_common())]
    for theme in ("light", "dark"):
        impacts: Counter[str] = Counter()
        for per_theme in report.axe.values():
            impacts.update({k: v for k, v in per_theme.get(theme, {}).items()})
        checked = sum(1 for per_theme in report.axe.values() if theme in per_theme)
        lines.append(f"website: axe, {theme} theme, {checked} pages: " +
                     (", ".join(f"{n} {impact}" for impact, n in sorted(impacts.items())) or "no violation"))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture()
def context(browser, site_report):
    """A fresh browser context that records every request and blocks any that would leave
    127.0.0.1 (recorded, then aborted, so a CDN reference fails fast and visibly)."""
    ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", service_workers="block")
    ctx.set_default_timeout(60_000)  # chapter pages are 1-2 MB (precomputed frames); CI may be busy
    ctx.on("request", lambda req: site_report.record(req.url))
    ctx.on("websocket", lambda ws: site_report.record(ws.url))
    ctx.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    yield ctx
    ctx.close()




# --------------------------------------------------------------------------- checks
def check_sliders(page, facts) -> list[str]:
    """Every slider must change what is shown: an nnviz-explore slider (nnlib.viz.explore) or a
    matplotlib to_jshtml player's frame slider. Any other slider, or an ipywidgets view (which
    cannot respond without a kernel), is a defect."""
    problems = []
    if facts["widgetViews"]:
        problems.append(f"{facts['widgetViews']} ipywidgets view(s) rendered: they cannot respond without "
                        "a kernel (use nnlib.viz.explore, whose text/html version the site shows)")
    sliders = page.locator("input[type=range]")
    for k, info in enumerate(facts["sliders"]):
        name = f"slider {k + 1} ({'viz.explore' if info['explore'] else 'animation' if info['animation'] else 'unknown'}" \
               f"{': ' + info['label'] if info['label'] else ''})"
        if not (info["explore"] or info["animation"]):
            problems.append(f"{name} is neither in a .nnviz-explore nor in a matplotlib .animation player")
            continue
        slider = sliders.nth(k)
        slider.scroll_into_view_if_needed()
        before = slider.evaluate(SLIDER_STATE)
        if before["imgCount"] == 0:
            problems.append(f"{name}: no <img> next to the slider")
            continue
        if before["min"] == before["max"]:
            problems.append(f"{name}: only one position (min == max == {before['min']})")
            continue
        slider.focus()
        page.keyboard.press("End" if before["value"] != before["max"] else "Home")
        page.wait_for_timeout(50)
        after = slider.evaluate(SLIDER_STATE)
        if after["value"] == before["value"]:
            problems.append(f"{name}: the slider did not move (value stays {before['value']})")
        elif after["imgs"] == before["imgs"]:
            problems.append(f"{name}: moving the slider from {before['value']} to {after['value']} "
                            "does not change the image")
        if info["explore"] and after["outputs"] == before["outputs"]:
            problems.append(f"{name}: the value shown next to the slider does not follow it")
        # put it back where it was, so the screenshot shows the page as a reader first sees it
        page.keyboard.press("Home" if before["value"] == before["min"] else "End")
        slider.evaluate("(inp, v) => { inp.value = v; inp.dispatchEvent(new Event('input')); }",
                        before["value"])
    return problems


def run_axe(page, doc: str, site_report, theme: str = "light") -> list[str]:
    """axe-core on the page as it is: every critical or serious violation is a problem (moderate
    and minor ones are counted in report.json)."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(AXE_VIOLATIONS)
    counts = Counter()
    for v in result:
        counts[v["impact"] or "unknown"] += v["count"]
    site_report.axe.setdefault(doc, {})[theme] = dict(counts)
    return [f"axe {v['impact']} ({theme} theme): {v['id']} x{v['count']}: {v['help']} e.g. {v['nodes']}"
            for v in result if v["impact"] in ("critical", "serious")]


def set_theme(page, theme: str) -> None:
    """Switch the page to pydata-sphinx-theme's light or dark theme, as its toggle does. Colour
    transitions (the theme's buttons fade for 0.15 s) are turned off first, as for a reader who
    asks for reduced motion, so that axe sees the final colours."""
    page.emulate_media(reduced_motion="reduce")
    page.evaluate("""async (theme) => {
        document.documentElement.dataset.theme = theme;
        document.documentElement.dataset.mode = theme;
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    }""", theme)
    page.wait_for_timeout(300)


# In the dark theme every figure (an <img> of a notebook output, an nnviz-explore or an animation
# player) must be on an opaque light background: its own (an opaque PNG) or the page's CSS.
DARK_FIGURES = r"""
() => {
  const rgba = s => (s.match(/[\d.]+/g) || []).map(Number);
  const bad = [];
  document.querySelectorAll('article .cell_output img, article figure img').forEach(img => {
    const c = rgba(getComputedStyle(img).backgroundColor);
    const alpha = c.length === 4 ? c[3] : (c.length === 3 ? 1 : 0);
    const light = c.length >= 3 && Math.min(c[0], c[1], c[2]) >= 230;
    if (!(alpha === 1 && light)) {
      bad.push((img.alt || img.src).slice(0, 80) + ': background ' + getComputedStyle(img).backgroundColor);
    }
    const f = getComputedStyle(img).filter;
    if (f && f !== 'none') bad.push((img.alt || img.src).slice(0, 80) + ': colours changed by filter ' + f);
  });
  return bad;
}
"""


@pytest.mark.parametrize("index", range(len(PAGES)), ids=DOCS)
def test_page(index, server, context, site_report):
    entry = PAGES[index]
    doc = entry["doc"]
    url = server.url + doc + ".html"
    started = time.perf_counter()
    page, response, problems = open_page(context, url)
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"

    mathjax = page.evaluate(WAIT_FOR_MATHJAX)
    images = page.evaluate(LOAD_ALL_IMAGES)
    page.wait_for_timeout(100)  # let matplotlib players finish their setTimeout(0) set-up
    facts = page.evaluate(PAGE_FACTS)

    # maths
    for snippet in facts["rawMath"]:
        problems.append(f"maths not typeset (MathJax {mathjax}): ...{snippet}...")
    for err in facts["mathErrors"]:
        problems.append(f"MathJax error: {err}")
    # images
    for img in images:
        if not img["ok"]:
            problems.append(f"image not loaded: {img['src'] or '(no src)'} alt={img['alt']!r}")
    # tracebacks
    for tb in facts["tracebacks"]:
        problems.append("traceback outside a cell tagged raises-exception: " + tb.replace("\n", " | ")[:300])
    # internal links
    page_file = SITE / (doc + ".html")
    seen = set()
    for href in facts["links"]:
        if not href.startswith(server.url) or href in seen:
            continue
        seen.add(href)
        why = check_internal_link(href, server.url, set(facts["ids"]), page_file)
        if why:
            problems.append(f"broken internal link {href[len(server.url) - 1:]}: {why}")
    # reader's features
    if not facts["themeSwitch"]:
        problems.append("no dark-mode toggle (.theme-switch-button)")
    if not facts["searchButton"]:
        problems.append("no search button")
    # Notebook pages (not the markdown cover page) can be downloaded and launched.
    if (ROOT / (doc + ".ipynb")).is_file():
        if not any(h and h.endswith(".ipynb") for h in facts["downloads"]):
            problems.append("no download button for the notebook (.ipynb)")
        launch = " ".join(h or "" for h in facts["launch"])
        # Launch buttons only for the hubs _config.yml configures (none by default: a button to a
        # hub or repository that does not exist would lead the reader to an error page).
        hubs = yaml.safe_load((ROOT / "_config.yml").read_text()).get("launch_buttons") or {}
        for key, marker in (("binderhub_url", "/v2/"), ("colab_url", "/github/"),
                            ("jupyterhub_url", "/hub/user-redirect/")):
            if bool(hubs.get(key)) != (marker in launch):
                problems.append(f"launch button for {key}: configured {bool(hubs.get(key))}, "
                                f"shown {marker in launch}")
    expected_prev = server.url + DOCS[index - 1] + ".html" if index > 0 else None
    expected_next = server.url + DOCS[index + 1] + ".html" if index + 1 < len(DOCS) else None
    if (facts["prev"] or None) != expected_prev:
        problems.append(f"previous link is {facts['prev']}, expected {expected_prev}")
    if (facts["next"] or None) != expected_next:
        problems.append(f"next link is {facts['next']}, expected {expected_next}")
    if entry["numbered"] and not facts["sectionNumber"]:
        problems.append(f"chapter title {facts['h1']!r} has no chapter number")
    # The prose says "chapter 6" for chapters/06_backprop: the site's numbers must agree.
    prefix = re.match(r"chapters/(\d+)_", doc)
    if prefix and facts["sectionNumber"] and facts["sectionNumber"].strip(". ") != str(int(prefix.group(1))):
        problems.append(f"chapter {doc} is numbered {facts['sectionNumber']!r} on the site, "
                        f"but the prose calls it chapter {int(prefix.group(1))}")
    # the screenshot shows the page as a reader first sees it: top of the page, nothing focused
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    page.screenshot(path=str(SHOTS / (doc.replace("/", "__") + ".png")), full_page=True)
    # interactive explorations
    problems += check_sliders(page, facts)
    # accessibility
    problems += run_axe(page, doc, site_report, "light")
    set_theme(page, "dark")
    problems += [f"dark theme: figure {b}" for b in page.evaluate(DARK_FIGURES)]
    problems += run_axe(page, doc, site_report, "dark")
    site_report.pages[doc] = {"seconds": round(time.perf_counter() - started, 2), "mathjax": mathjax,
                              "images": len(images), "sliders": len(facts["sliders"]),
                              "links_checked": len(seen), "problems": len(problems)}
    page.close()
    assert not problems, f"{doc}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)


def test_search_finds_a_chapter_word(server, context):
    """Type a word of a chapter's title into the search box; the results list that chapter."""
    chapter = next((p["doc"] for p in PAGES if p["numbered"]), DOCS[0])
    page, response, problems = open_page(context, server.url + chapter + ".html")
    title = page.locator("article.bd-article section h1").first.inner_text()
    words = sorted(re.findall(r"[A-Za-z]{4,}", title), key=len, reverse=True)
    assert words, f"no word to search for in the title {title!r} of {chapter}"
    word = words[0]
    page.locator(".search-button-field, .search-button").locator("visible=true").first.click()
    box = page.locator("input[name=q]").locator("visible=true").first
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    page.wait_for_selector("#search-results ul.search li a, #search-results .search-summary", timeout=20000)
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0 "
                           "|| /did not match|no results|0 pages/i.test(document.body.innerText)", timeout=20000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)
    assert any(urlsplit(h).path.endswith(chapter + ".html") for h in hrefs), \
        f"searching {word!r} (from {chapter}) did not list {chapter}: {hrefs}"
    assert not problems, "\n".join(problems)


def test_dark_mode_toggle_changes_colours(server, context):
    """Click the theme switch until the page is dark: background and text colours change."""
    doc = DOCS[0]
    page, response, problems = open_page(context, server.url + doc + ".html")
    colours = """() => ({theme: document.documentElement.dataset.theme,
        bg: getComputedStyle(document.body).backgroundColor,
        fg: getComputedStyle(document.querySelector('article') || document.body).color})"""
    light = page.evaluate(colours)
    assert light["theme"] == "light", f"the page does not start light under a light colour scheme: {light}"
    switch = page.locator(".theme-switch-button").locator("visible=true").first
    dark = light
    for _ in range(3):  # light -> dark -> auto: at most a full cycle
        switch.click()
        page.wait_for_timeout(150)
        dark = page.evaluate(colours)
        if dark["theme"] == "dark":
            break
    assert dark["theme"] == "dark", f"the toggle never switched to dark: {dark}"
    assert dark["bg"] != light["bg"] and dark["fg"] != light["fg"], f"colours unchanged: {light} -> {dark}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / ("dark__" + doc.replace("/", "__") + ".png")), full_page=True)
    # the choice persists: every other page opens dark; keep dark screenshots of a few for review
    for other in [d for d in DOCS if d.startswith("chapters/")][1:3] + [d for d in DOCS if d.startswith("exercises/")][:1]:
        page.goto(server.url + other + ".html", wait_until="load")
        page.evaluate(WAIT_FOR_MATHJAX)
        assert page.evaluate(colours)["theme"] == "dark", f"{other} did not keep the dark theme"
        page.screenshot(path=str(SHOTS / ("dark__" + other.replace("/", "__") + ".png")), full_page=True)
    assert not problems, "\n".join(problems)


def test_site_is_offline_and_has_no_solutions(prerequisites):
    """Static checks of the build output: local MathJax and widget JS, no CDN script, no solutions."""
    pages = sorted(SITE.rglob("*.html"))
    assert (SITE / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax is not bundled in the build"
    for rel in ("_vendor/requirejs/require.js", "_vendor/html-manager/embed-amd.js"):
        assert (SITE / rel).is_file(), f"{rel} missing from the build (run `make vendor`, then `make book`)"
    assert not (SITE / "_static" / "_vendor").exists(), "vendored JS must not be under _static/"
    assert not list((SITE / "_static").rglob("embed-amd.js")), "vendored JS must not be under _static/"
    script_src = re.compile(r"<script[^>]+src=\"(https?:)?//[^\"]+\"")
    link_css = re.compile(r"<link[^>]+rel=\"stylesheet\"[^>]+href=\"(https?:)?//[^\"]+\"")
    for file in pages:
        text = file.read_text(encoding="utf-8", errors="replace")
        rel = file.relative_to(SITE).as_posix()
        assert not script_src.search(text), f"{rel} loads a script from another host: {script_src.search(text).group(0)}"
        assert not link_css.search(text), f"{rel} loads a stylesheet from another host: {link_css.search(text).group(0)}"
        if rel.startswith("exercises/"):
            assert not re.search(r"BEGIN SOLUTION|END SOLUTION", text), f"{rel} shows a solution"
    assert not (SITE / "exercises" / "source").exists(), "exercises/source (with solutions) is in the site"
    assert not (SITE / "_sources" / "exercises" / "source").exists(), "exercises/source is downloadable"
    # The downloadable notebook of each sheet is the student version (unless the sheet changed
    # after the build), and no line of any reference solution appears in the site.
    for doc in DOCS:
        if doc.startswith("exercises/"):
            src = ROOT / (doc + ".ipynb")
            copy = SITE / "_sources" / (doc + ".ipynb")
            if src.is_file() and copy.is_file() and src.stat().st_mtime <= copy.stat().st_mtime:
                assert copy.read_bytes() == src.read_bytes(), f"the download of {doc} is not the student sheet"
    for source in sorted((ROOT / "exercises" / "source").glob("*.ipynb")):
        doc = "exercises/" + source.stem
        secret = solution_lines(source)
        shown = [SITE / (doc + ".html"), SITE / "_sources" / (doc + ".ipynb")]
        for file in shown:
            if not secret or not file.is_file():
                continue
            raw = file.read_text(encoding="utf-8", errors="replace")
            if file.suffix == ".ipynb":
                text = "\n".join("".join(c.get("source", "")) for c in json.loads(raw).get("cells", []))
            else:
                text = html.unescape(re.sub(r"<[^>]+>", "", raw))
            leaked = [line for line in secret if line in text]
            assert not leaked, f"{file.relative_to(SITE)} shows its reference solution: {leaked[:3]}"


def solution_lines(source) -> list[str]:
    """Distinctive lines of a source sheet's reference solutions (between ### BEGIN SOLUTION and
    ### END SOLUTION) that appear nowhere else in the sheet."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    secret, elsewhere = set(), set()
    for cell in nb.get("cells", []):
        inside = False
        for line in "".join(cell.get("source", "")).splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 25 and not line.strip().startswith("#"):
                secret.add(line.strip())
            else:
                elsewhere.add(line)
    given = "\n".join(elsewhere)  # e.g. a hint that quotes a line of the solution on purpose
    return sorted(line for line in secret if line not in given)

def test_slider_check_catches_a_dead_slider(browser):
    """The slider check itself: a viz.explore-like slider whose frames are all the same image is
    reported; one that switches images is not."""
    def explore(frames):
        return ('<div class="nnviz-explore"><label>w <input type="range" min="0" max="2" step="1" value="1">'
                '<output>1</output></label><img alt="f" src="%s"><script>(function(){'
                'var f=%s;var root=document.currentScript.parentElement;var i=root.querySelector("input");'
                'i.addEventListener("input",function(){root.querySelector("img").src=f[+i.value];'
                'root.querySelector("output").textContent=i.value;});})();</script></div>') % (frames[1], frames)
    dot = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw=="
    other = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="
    page = browser.new_page()
    try:
        for frames, dead in (([dot, dot, dot], True), ([other, dot, other], False)):
            page.set_content("<html><body>" + explore(frames) + "</body></html>")
            facts = page.evaluate(PAGE_FACTS)
            problems = check_sliders(page, facts)
            assert bool(problems) == dead, (frames, problems)
    finally:
        page.close()
