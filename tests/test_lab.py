"""The learner's path through a live exploration, in a real JupyterLab driven by headless Chromium.

A JupyterLab server (the `make lab` one: `jupyter lab` from .venv) is started on a free port with a
token and no browser, in a temporary directory holding a copy of chapter 1 (so nothing in the
repository is touched, not even by autosave), with HOME, the Jupyter config, data and runtime
directories pointed at that temporary directory and PYTHONPATH at this checkout (the kernel imports
this nnlib). Playwright opens the notebook in Debian's Chromium, runs every cell, types a weight
that the website's precomputed grid does not have into the exploration's slider, and checks that
the kernel drew a new figure for that value: the image changes, and the image's text alternative
(its title attribute: the caption and the figure's own title, for screen readers) and the values
line both say that value. A second test checks, without a browser, that the value is indeed not
one of the website's precomputed ones (read from the chapter's stored static output).

Offline: JupyterLab's update check and news are switched off and the browser aborts every request
that would leave 127.0.0.1. Under `make test` (NN_SITE_REQUIRED=1) a missing Chromium fails the
test; run alone with pytest it is skipped with the reason.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from site_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, fail_or_skip, is_local

CHAPTER = ROOT / "chapters" / "01_introduction.ipynb"
JUPYTER = Path(sys.executable).parent / "jupyter"
NEW_WEIGHT = "1.1"          # the website's grid has -3, -2.625, ..., 0.75, 1.125, ...: not 1.1 (asserted)
STARTUP_TIMEOUT_S = 90


def _static_grid(notebook: Path) -> dict[str, list[str]]:
    """The slider values of the first exploration's website version (its stored text/html output)."""
    import json
    import re

    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        for out in cell.get("outputs", []):
            page = out.get("data", {}).get("text/html", "")
            page = "".join(page) if isinstance(page, list) else page
            if 'class="nnviz-explore"' in page:
                found = re.search(r'<script type="application/json">(.*?)</script>', page, re.S)
                return json.loads(found.group(1))["labels"]
    raise AssertionError(f"{notebook.name} has no stored viz.explore output")


def test_the_new_weight_is_not_one_of_the_websites_values():
    grid = _static_grid(CHAPTER)
    assert list(grid) == ["w"], grid
    values = [float(v) for v in grid["w"]]
    assert len(values) >= 2 and min(values) < float(NEW_WEIGHT) < max(values), values
    assert all(abs(v - float(NEW_WEIGHT)) > 1e-9 for v in values), \
        f"w = {NEW_WEIGHT} is one of the website's values {values}: the live test would prove nothing"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing() -> list[str]:
    missing = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        missing.append(f"no Chromium at {CHROMIUM} (run `make browser`: apt-get install -y chromium)")
    if not JUPYTER.is_file():
        missing.append(f"no {JUPYTER} (run `make setup`)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("Playwright is not installed (run `make setup`)")
    return missing


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1: (base URL, token, its directory); stopped afterwards."""
    missing = _missing()
    if missing:
        message = "JupyterLab test cannot run: " + "; ".join(missing)
        fail_or_skip(message)
    home = tmp_path_factory.mktemp("lab")
    work = home / "work"
    work.mkdir()
    shutil.copy(CHAPTER, work / CHAPTER.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [str(JUPYTER), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--port-retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly",  # no PyPI look-ups
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
         f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start within {STARTUP_TIMEOUT_S} s "
                            f"(exit code {proc.poll()}):\n" + (home / "lab.log").read_text()[-3000:],
                            pytrace=False)
            time.sleep(0.5)
        yield url, token, work
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


STATE = """
() => {
  const box = document.querySelector('.nnviz-live');
  if (!box) return null;
  const img = box.querySelector('img.nnviz-image');
  const values = box.querySelector('.nnviz-status .nnviz-values');
  return {src: img ? img.src : '', values: values ? values.textContent : '',
          alt: img ? (img.getAttribute('alt') || img.getAttribute('title') || '') : '',
          readouts: Array.from(box.querySelectorAll('.widget-readout')).map(r => r.textContent.trim())};
}
"""


def test_a_live_slider_draws_a_value_the_website_does_not_have(lab):
    from playwright.sync_api import sync_playwright

    url, token, work = lab
    started = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            ctx.set_default_timeout(90_000)
            ctx.route(lambda u: not is_local(u), lambda route: route.abort("blockedbyclient"))
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(f"{url}lab/tree/{CHAPTER.name}?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel")
            page.evaluate("""async () => {
                const panel = window.jupyterapp.shell.currentWidget;
                await panel.sessionContext.ready;
                await window.jupyterapp.commands.execute('notebook:run-all-cells');
            }""")
            # the exploration's live view appears once its cell ran and the widget rendered
            shown = f"() => {{ const s = ({STATE})(); return s && s.src.startsWith('blob:') }}"
            page.wait_for_function(shown, timeout=120_000)
            before = page.evaluate(STATE)
            assert before["values"].startswith("w = "), before
            assert float(before["readouts"][0]) != float(NEW_WEIGHT), before["readouts"]

            # type the new weight into the slider's readout, as a learner can, and press Enter
            readout = page.locator(".nnviz-live .widget-readout").first
            readout.scroll_into_view_if_needed()
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(NEW_WEIGHT)
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => {{ const s = ({STATE})(); return s && s.values.startsWith('w = {NEW_WEIGHT}') }}",
                timeout=60_000)
            after = page.evaluate(STATE)
        finally:
            browser.close()
    elapsed = time.perf_counter() - started
    print(f"JupyterLab: chapter 1 run and the slider moved to w = {NEW_WEIGHT} in {elapsed:.1f} s")
    assert float(after["readouts"][0]) == float(NEW_WEIGHT), after["readouts"]
    assert after["src"] != before["src"], "the figure did not change"
    assert before["alt"].endswith(f"Figure: w = {before['readouts'][0]}") or before["alt"].endswith(
        f"Figure: w = {float(before['readouts'][0]):g}"), before["alt"]
    assert after["alt"].endswith(f". Figure: w = {NEW_WEIGHT}"), \
        f"the image's text alternative is {after['alt']!r}: it must end with the drawn figure's title"
    assert not errors, errors
