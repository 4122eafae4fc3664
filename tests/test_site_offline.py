"""What a reader takes away from the website, and where its links lead (issue 16).

- Every chapter's first cell ends with the one-line install hint (tools/install_hint.py), which is
  idempotent and touches nothing else.
- No page of the built site links to a host the course does not configure in _config.yml
  (repository.url, launch_buttons, sphinx.config.nnsite_link_hosts); with no repository, there is
  no repository button and no launch button; a launch hub without a repository is a build error.
- A chapter downloaded with the page's download button (a file, not JSON in a tab) runs in a fresh
  virtual environment outside the repository, with nnlib installed from the wheel the site offers,
  and passes strict nbval there. The fresh environment gets numpy, numba, matplotlib, pytest and
  nbval from .venv through a folder of links that leaves out nnlib, nngrade and their editable
  install, so the only nnlib it can import is the wheel's (checked by nnlib.__file__).
- The offline copy (_build/inside-neural-networks.zip) holds every file of the site and, unpacked
  and served by a local server, shows the pages with maths and figures and requests nothing from
  another host.
- The PDF (`make pdf`; built here if missing or older than the site) has every page's title, a
  bookmark per page, page numbers and no raw TeX.

Like tests/test_site.py, the browser tests need `make book`'s site and Chromium: under `make test`
(NN_SITE_REQUIRED=1) they fail without them, run alone they are skipped, saying why.
"""

from __future__ import annotations

import concurrent.futures
import html.parser
import io
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml
from site_helpers import (
    BUILD_STAMP,
    CHROMIUM,
    CHROMIUM_ARGS,
    LOAD_ALL_IMAGES,
    ROOT,
    SITE,
    WAIT_FOR_MATHJAX,
    SiteServer,
    fail_or_skip,
    is_local,
    missing_prerequisites,
    toc_entries,
)

sys.path.insert(0, str(ROOT / "tools"))

import install_hint  # noqa: E402
import nnsite  # noqa: E402
import offline  # noqa: E402

ZIP = ROOT / "_build" / "inside-neural-networks.zip"
PDF = ROOT / "_build" / "inside-neural-networks.pdf"
# The chapter the download test runs in a fresh environment (its nbval run there takes ~20 s).
DOWNLOAD_CHAPTER = "chapters/02_neuron"


# --------------------------------------------------------------------------- install hint
def test_every_chapter_ends_its_first_cell_with_the_install_line():
    chapters = install_hint.chapters()
    assert len(chapters) >= 10, f"expected the course's chapters in {install_hint.CHAPTERS}, found {chapters}"
    line = install_hint.hint_line()
    assert install_hint.wheel_name() in line and "import nnlib" in line and "\n" not in line
    missing = [p.name for p in chapters if not install_hint.has_hint(p, line)]
    assert not missing, (
        f"chapters without the current install line in their first Markdown cell: {missing}; "
        "run: .venv/bin/python tools/install_hint.py"
    )


def test_install_hint_is_idempotent_and_changes_only_its_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("(sec-x)=\n# Title\n\nIntro.\n\n" + install_hint.LEAD + " old text"),
        nbformat.v4.new_code_cell("import nnlib"),
        nbformat.v4.new_markdown_cell("Later."),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="kept\n")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert not install_hint.has_hint(path)
    assert install_hint.apply(path) is True
    after = nbformat.read(path, as_version=4)
    assert after.cells[0].source == "(sec-x)=\n# Title\n\nIntro.\n\n" + install_hint.hint_line()
    assert after.cells[1] == nb.cells[1] and after.cells[2] == nb.cells[2]
    first_bytes = path.read_bytes()
    assert install_hint.apply(path) is False and path.read_bytes() == first_bytes
    assert install_hint.has_hint(path)
    assert install_hint.main(["--check", str(path)]) == 0


def test_wheel_name_follows_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Inside-Neural.Networks"\nversion = "2.3.4"\n'
    )
    assert (
        install_hint.wheel_name(tmp_path / "pyproject.toml")
        == "inside_neural_networks-2.3.4-py3-none-any.whl"
    )


# --------------------------------------------------------------------------- configuration
def site_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def theme_options(config: dict) -> dict:
    """The theme options jupyter-book derives from _config.yml (only what nnsite reads)."""
    return {
        "repository_url": (config.get("repository") or {}).get("url") or "",
        "launch_buttons": config.get("launch_buttons") or {},
    }


def allowed_hosts(config: dict) -> set[str]:
    extra = ((config.get("sphinx") or {}).get("config") or {}).get("nnsite_link_hosts") or []
    return nnsite.configured_hosts(theme_options(config), extra)


class _FakeConfig:
    def __init__(self, options):
        self.html_theme_options = options


def test_launch_hub_without_repository_is_an_error_and_no_repository_means_no_button():
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="repository.url is empty"):
        nnsite._repository_and_launch(
            None,
            _FakeConfig({"repository_url": "", "launch_buttons": {"binderhub_url": "https://mybinder.org"}}),
        )
    options = {"repository_url": "", "launch_buttons": {"binderhub_url": ""}, "use_repository_button": True}
    nnsite._repository_and_launch(None, _FakeConfig(options))
    assert options["use_repository_button"] is False and options["use_edit_page_button"] is False
    options = {
        "repository_url": "https://github.com/o/r",
        "launch_buttons": {"colab_url": "https://colab.x.org"},
    }
    nnsite._repository_and_launch(None, _FakeConfig(options))
    assert options["use_repository_button"] is True
    assert nnsite.configured_hosts(options, ["ref.org"]) == {"github.com", "colab.x.org", "ref.org"}


class _Links(html.parser.HTMLParser):
    ATTRS = {"href", "src", "action", "poster", "data", "formaction", "srcset"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "class" and value:
                self.classes.extend(value.split())
            if key in self.ATTRS and value:
                candidates = (
                    [part.strip().split()[0] for part in value.split(",") if part.strip()]
                    if key == "srcset"
                    else [value.strip()]
                )
                self.urls.extend(candidates)


def test_no_link_leads_to_a_host_the_course_does_not_configure(prerequisites):
    config = site_config()
    allowed = allowed_hosts(config)
    repository = theme_options(config)["repository_url"]
    hubs = [k for k in nnsite.LAUNCH_KEYS if (config.get("launch_buttons") or {}).get(k)]
    pages = sorted(SITE.rglob("*.html"))
    assert len(pages) >= len(toc_entries()), f"only {len(pages)} HTML files in {SITE}"
    bad: dict[str, set[str]] = {}
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        rel = page.relative_to(SITE).as_posix()
        for url in parser.urls:
            parts = urlsplit(url)
            if parts.scheme in ("", "data", "blob", "javascript", "mailto") and not url.startswith("//"):
                continue
            if parts.hostname not in allowed:
                bad.setdefault(parts.hostname or url[:60], set()).add(rel)
        if not repository:
            assert "btn-source-repository-button" not in parser.classes, f"{rel} has a repository button"
        if not hubs:
            assert "dropdown-launch-buttons" not in parser.classes, f"{rel} has launch buttons"
    assert not bad, (
        "links to hosts the course does not configure (set repository.url / launch_buttons in _config.yml, "
        "or add a reference host to sphinx.config.nnsite_link_hosts): "
        + "; ".join(f"{host} on {len(where)} pages, e.g. {sorted(where)[0]}" for host, where in bad.items())
    )


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def prerequisites():
    missing = missing_prerequisites()
    if missing:
        message = "offline-copy tests cannot run: " + "; ".join(missing)
        fail_or_skip(message)


def in_thread(work):
    """work() in a thread of its own. Playwright's sync API runs once per thread, and the other
    browser tests (tests/test_site*.py) keep theirs open in the main thread for the session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def in_browser(work):
    """work(browser) with a headless Chromium of its own, in its own thread (see in_thread)."""

    def run_it():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                return work(browser)
            finally:
                browser.close()

    return in_thread(run_it)


def new_page(browser, requests: list[str]):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    return context, page


# --------------------------------------------------------------------------- downloads
def course_site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def dependency_folder(target: Path) -> Path:
    """Links to every entry of .venv's site-packages except the course's own packages, their
    editable install and .pth files (which would make the repository's nnlib importable)."""
    target.mkdir()
    own = re.compile(r"^(nnlib|nngrade|inside_neural_networks|__editable__)", re.IGNORECASE)
    for entry in course_site_packages().iterdir():
        if own.match(entry.name) or entry.suffix == ".pth" or entry.name == "__pycache__":
            continue
        (target / entry.name).symlink_to(entry)
    return target


def run(cmd: list, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONNOUSERSITE="1")
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_downloaded_chapter_runs_in_a_fresh_environment_with_the_sites_wheel(prerequisites, tmp_path):
    wheel_on_site = sorted((SITE / nnsite.WHEEL_URL_DIR).glob("*.whl"))
    assert [w.name for w in wheel_on_site] == [install_hint.wheel_name()], (
        f"the site should offer exactly the wheel {install_hint.wheel_name()}, it has {wheel_on_site}"
    )
    requests: list[str] = []
    saved: dict[str, Path] = {}

    def download(browser):
        context, page = new_page(browser, requests)
        page.goto(server.url + DOWNLOAD_CHAPTER + ".html", wait_until="load")
        for label, suffix in (("download-source-button", ".ipynb"), ("download-wheel-button", ".whl")):
            page.click(".dropdown-download-buttons button.dropdown-toggle")
            link = page.locator(f".dropdown-download-buttons a.btn-{label}")
            assert link.get_attribute("download") is not None, f"the {suffix} link has no download attribute"
            with page.expect_download(timeout=30_000) as info:
                link.click()
            download = info.value
            assert download.suggested_filename.endswith(suffix), download.suggested_filename
            saved[suffix] = tmp_path / download.suggested_filename
            download.save_as(saved[suffix])
        # chapter 1 links the wheel from its first cell too
        page.goto(server.url + "chapters/01_introduction.html", wait_until="load")
        hrefs = page.eval_on_selector_all("article a[href$='.whl']", "els => els.map(e => e.href)")
        assert server.url + f"{nnsite.WHEEL_URL_DIR}/{install_hint.wheel_name()}" in hrefs, hrefs
        context.close()

    with SiteServer(SITE) as server:
        in_browser(download)
    assert all(is_local(u) for u in requests), [u for u in requests if not is_local(u)][:5]
    notebook = saved[".ipynb"]
    assert notebook.name == Path(DOWNLOAD_CHAPTER).name + ".ipynb"
    # the site's copy of the chapter (the repository's notebook, stored executed), byte for byte
    assert notebook.read_bytes() == (SITE / "_sources" / (DOWNLOAD_CHAPTER + ".ipynb")).read_bytes()
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "the downloaded notebook is not executed"
    assert saved[".whl"].read_bytes() == wheel_on_site[0].read_bytes()
    assert saved[".whl"].name == install_hint.wheel_name()

    # a fresh environment outside the repository, offline
    work = tmp_path / "reader"
    work.mkdir()
    venv = work / "venv"
    started = time.perf_counter()
    base = getattr(sys, "_base_executable", sys.executable)
    made = run([base, "-m", "venv", venv], work, 120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, 60)
    deps = dependency_folder(work / "deps")
    (Path(purelib.stdout.strip()) / "course_dependencies.pth").write_text(f"{deps}\n")
    before = run([python, "-c", "import nnlib"], work, 60)
    assert before.returncode != 0 and "No module named 'nnlib'" in before.stderr, (
        "nnlib is importable in the fresh environment before the wheel is installed: " + before.stdout
    )
    pip = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            f"{saved['.whl']}[notebooks]",
        ],
        work,
        300,
    )
    assert pip.returncode == 0, f"pip install of the wheel failed offline:\n{pip.stdout}\n{pip.stderr}"
    where = run(
        [python, "-c", "import nnlib, nngrade; print(nnlib.__file__); print(nngrade.__file__)"], work, 120
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(venv.resolve()), (
            f"imported from {path}, not from the wheel"
        )
    # A learner's first call compiles nnlib's kernels (nothing is cached in a fresh environment)
    # and says so in one line on stderr; warmup() does all of it at once, as `make setup` does.
    # Afterwards the chapter's cells print exactly their stored outputs.
    warm = run([python, "-c", "import nnlib; nnlib.warmup()"], work, 600)
    assert warm.returncode == 0, warm.stderr
    assert "nnlib: compiling kernels for float64" in warm.stderr, (
        "a cold first call in a fresh environment should say that it compiles: " + warm.stderr
    )
    # strict nbval: every stored output must match the re-run in the fresh environment
    copy = work / notebook.name
    copy.write_bytes(notebook.read_bytes())
    test = run([python, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q", copy.name], work, 600)
    assert test.returncode == 0, (
        f"the downloaded chapter fails nbval in the fresh environment:\n{test.stdout[-4000:]}"
    )
    assert re.search(r"\b\d+ passed\b", test.stdout) and " failed" not in test.stdout, test.stdout[-2000:]
    print(
        f"\ndownloaded {DOWNLOAD_CHAPTER}: fresh environment + wheel + nbval in "
        f"{time.perf_counter() - started:.0f} s"
    )


# --------------------------------------------------------------------------- offline copy
def test_zip_reproducible_and_complete_on_a_small_site(tmp_path):
    site = tmp_path / "html"
    (site / "a" / "b").mkdir(parents=True)
    (site / "index.html").write_text("<p>hi</p>")
    (site / "a" / "b" / "x.js").write_text("1")
    first = offline.build_zip(site, tmp_path / "one.zip").read_bytes()
    os.utime(site / "a" / "b" / "x.js", (0, 0))
    second = offline.build_zip(site, tmp_path / "two.zip").read_bytes()
    assert first == second
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == [
        f"{offline.TOP}/a/b/x.js",
        f"{offline.TOP}/index.html",
    ]
    with pytest.raises(FileNotFoundError, match="make book"):
        offline.build_zip(tmp_path / "nothing", tmp_path / "three.zip")


def test_offline_copy_is_the_whole_site_and_works_from_a_local_server(prerequisites, tmp_path):
    assert ZIP.is_file(), f"no {ZIP.relative_to(ROOT)}: `make book` writes it"
    assert ZIP.stat().st_mtime >= BUILD_STAMP.stat().st_mtime, "the zip is older than the last site build"
    site_files = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if p.is_file())
    with zipfile.ZipFile(ZIP) as archive:
        names = sorted(n[len(offline.TOP) + 1 :] for n in archive.namelist())
        assert all(n.startswith(offline.TOP + "/") for n in archive.namelist())
        assert names == site_files, (
            f"zip and site differ: only in zip {sorted(set(names) - set(site_files))[:5]}, "
            f"only in site {sorted(set(site_files) - set(names))[:5]}"
        )
        archive.extractall(tmp_path)
    root = tmp_path / offline.TOP
    docs = [e["doc"] for e in toc_entries()]
    sample = [
        docs[0],
        DOWNLOAD_CHAPTER,
        "chapters/06_backprop",
        next(d for d in docs if d.startswith("api/")),
        next(d for d in docs if d.startswith("exercises/")),
    ]
    requests: list[str] = []

    def visit(browser):
        context, page = new_page(browser, requests)
        for doc in sample:
            response = page.goto(server.url + doc + ".html", wait_until="load")
            assert response is not None and response.status == 200, doc
            page.evaluate(WAIT_FOR_MATHJAX)
            images = page.evaluate(LOAD_ALL_IMAGES)
            assert all(i["ok"] for i in images), (
                f"{doc}: images not loaded {[i['src'] for i in images if not i['ok']]}"
            )
            raw = page.evaluate(
                "() => { const a = document.querySelector('article').cloneNode(true);"
                " a.querySelectorAll('pre, code, script, mjx-container').forEach(e => e.remove());"
                " return /\\$\\$|\\\\\\(|\\\\\\[/.test(a.textContent); }"
            )
            assert raw is False, f"{doc}: maths left untypeset in the offline copy"
        page.goto(server.url + "search.html?q=backpropagation", wait_until="load")
        page.wait_for_selector("#search-results li", timeout=30_000)
        context.close()

    with SiteServer(root) as server:
        in_browser(visit)
    outside = [u for u in requests if not is_local(u)]
    assert not outside, f"the offline copy requested other hosts: {outside[:5]}"
    assert len(requests) > 10 * len(sample)
    print(
        f"\noffline copy: {ZIP.stat().st_size / 1e6:.1f} MB, {len(names)} files, "
        f"{len(requests)} requests, all local"
    )


# --------------------------------------------------------------------------- PDF
RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|sum|partial|mathbf|begin|end|sigma|cdot|left|right)\b"
)


def test_pdf_has_every_title_bookmarks_page_numbers_and_no_raw_tex(prerequisites, tmp_path):
    import pdf as pdf_tool
    from pypdf import PdfReader

    path = PDF
    if not PDF.is_file() or PDF.stat().st_mtime < BUILD_STAMP.stat().st_mtime:
        path = tmp_path / "course.pdf"
        in_thread(lambda: pdf_tool.build_pdf(SITE, path, CHROMIUM))
    reader = PdfReader(path)
    texts = [page.extract_text() or "" for page in reader.pages]
    flat = pdf_tool.squeeze(" ".join(texts))
    titles = [pdf_tool.page_parts(SITE, e["doc"])[0] for e in toc_entries()]
    missing = [t for t in titles if pdf_tool.squeeze(t) not in flat]
    assert not missing, f"page titles not in the PDF: {missing}"
    chapters = [t for t in titles if re.match(r"\d+\. ", t)]
    assert len(chapters) >= 11, chapters

    def flatten(items):
        for item in items:
            yield from flatten(item) if isinstance(item, list) else [item]

    bookmarks = list(flatten(reader.outline))
    marked = [b.title for b in bookmarks]
    assert [m for m in marked if m in titles] == titles, f"bookmarks {marked} do not list every page in order"
    # each page's bookmark leads to the sheet that starts with its title
    for bookmark in bookmarks:
        if bookmark.title in titles:
            sheet = pdf_tool.squeeze(texts[reader.get_destination_page_number(bookmark)])
            assert sheet.startswith(pdf_tool.squeeze(bookmark.title)), bookmark.title
    numbered = sum(bool(re.search(rf"\b{i + 1} / {len(texts)}\s*$", t.strip())) for i, t in enumerate(texts))
    assert numbered >= 0.9 * len(texts), f"only {numbered} of {len(texts)} pages end with 'n / {len(texts)}'"
    contents = texts[1] + texts[2]
    assert "Contents" in contents and " 000" not in contents
    # TeX is allowed only inside code (e.g. a matplotlib label r"$\\partial L$"): a line with TeX
    # must be (a piece of) a code block of the site
    code = pdf_tool.squeeze(" ".join(code_blocks(SITE / (e["doc"] + ".html")) for e in toc_entries()))
    raw = [
        line.strip()
        for text in texts
        for line in text.splitlines()
        if RAW_TEX.search(line) and pdf_tool.squeeze(line) not in code
    ]
    assert not raw, f"raw TeX outside code in the PDF text: {raw[:10]}"


def code_blocks(page: Path) -> str:
    """The text of every <pre> block of a built page."""
    import html as html_module

    source = page.read_text(encoding="utf-8")
    blocks = re.findall(r"<pre\b[^>]*>(.*?)</pre>", source, flags=re.S)
    return "\n".join(html_module.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks)


def test_download_menu_offers_the_wheel_and_launch_menu_says_it_needs_the_network(tmp_path):
    class FakeApp:
        srcdir = str(tmp_path)

    (tmp_path / nnsite.WHEEL_DIR).mkdir(parents=True)
    wheel = tmp_path / nnsite.WHEEL_DIR / "inside_neural_networks-9.9-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    download = {"type": "group", "label": "download-buttons", "buttons": [{"type": "link"}, {"type": "js"}]}
    launch = {"type": "group", "label": "launch-buttons", "buttons": [{"type": "link", "text": "Binder"}]}
    context = {"header_buttons": [download, launch], "pathto": lambda name, resource: "../" + name}
    nnsite._download_and_launch_menus(FakeApp(), "chapters/x", "page.html", context, None)
    added = download["buttons"][1]
    assert added["url"] == "../downloads/" + wheel.name and added["label"] == "download-wheel-button"
    assert "network" in launch["tooltip"] and "offline" in launch["tooltip"]
    assert launch["buttons"][0]["text"] == "Binder (online)" and "network" in launch["buttons"][0]["tooltip"]
    assert added["text"] == "nnlib wheel" and "pip install " + wheel.name in added["tooltip"]

    class ChineseApp(FakeApp):  # the Chinese edition (Sphinx's language zh_CN): its own words
        config = type("Config", (), {"language": "zh_CN"})()

    download = {"type": "group", "label": "download-buttons", "buttons": [{"type": "link"}]}
    context["header_buttons"] = [download]
    nnsite._download_and_launch_menus(ChineseApp(), "chapters/x", "page.html", context, None)
    added = download["buttons"][0]
    assert added["text"] == "nnlib 安装包" and added["tooltip"].startswith("课程的库")
    assert added["tooltip"].endswith("pip install " + wheel.name)
    wheel.unlink()
    download = {"type": "group", "label": "download-buttons", "buttons": [{"type": "link"}]}
    context["header_buttons"] = [download]
    nnsite._download_and_launch_menus(FakeApp(), "chapters/x", "page.html", context, None)
    assert len(download["buttons"]) == 1, "no wheel built: no wheel button"
