"""Every exercise sheet, automatically (parametrized over exercises/source/*.ipynb):
generated files up to date, reference = full marks, stub = 0, each declared wrong answer < full
with its feedback, no solution code in anything students or the website see, strict nbval."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from grader_helpers import ROOT, SHEETS, html_text, normalize, sheet, verified

from nngrade import generate
from nngrade.sheet import role_of

pytestmark = pytest.mark.skipif(not SHEETS, reason="no source notebooks")


def wrong_cases():
    return [pytest.param(name, k, id=f"{name}-wrong{k:02d}-{w.question}-{w.expect}")
            for name in SHEETS for k, w in enumerate(sheet(name).wrong)]


@pytest.mark.parametrize("name", SHEETS)
def test_student_files_are_up_to_date(name):
    """Public data compared with a stated tolerance (generate.PUBLIC_RTOL / PUBLIC_ATOL), never
    byte for byte: see test_grader_feedback.py for a run under another summation order."""
    problems = generate.out_of_date(sheet(name))
    assert not problems, "\n".join(problems) + f"\nregenerate: .venv/bin/nngrade generate {name}"


@pytest.mark.parametrize("name", SHEETS)
def test_sheet_shape(name):
    sh = sheet(name)
    assert sh.questions and sh.points > 0
    assert sh.wrong, "declare a few typical wrong answers"
    nb = nbformat.read(str(ROOT / "exercises" / f"{name}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "{doc}`../chapters/" in text and "{ref}`sec-" in text, "lead-in must link its chapter"
    assert "Hint" in text, "give hints in dropdowns"


@pytest.mark.parametrize("name", SHEETS)
def test_reference_scores_full_marks(name):
    sub = verified(name).subs["reference"]
    bad = [f"{r.question} {r.test}: {r.verdict.message}" for r in sub.results if not r.verdict.ok]
    assert sub.total == sheet(name).points, bad


@pytest.mark.parametrize("name", SHEETS)
def test_stub_scores_zero(name):
    sub = verified(name).subs["stub"]
    assert sub.total == 0
    assert {r.verdict.kind for r in sub.results} == {"not_implemented"}


@pytest.mark.parametrize("name,k", wrong_cases())
def test_wrong_answer_scores_less_with_matching_feedback(name, k):
    w = sheet(name).wrong[k]
    sub = verified(name).subs[f"wrong{k:02d}-{w.question}-{w.expect}"]
    q = sheet(name).questions[w.question]
    assert sub.scores[w.question] < q.points
    assert w.expect in sub.kinds(w.question), [r.verdict.message for r in sub.results
                                               if r.question == w.question]


def _secrets(name):
    """Reference-solution blocks (between the markers) and hidden-test cells, normalized."""
    sh = sheet(name)
    blocks = [normalize(b) for q in sh.questions.values() for b in q.secret]
    tests = [normalize(c.source) for c in sh.nb.cells
             if role_of(c).get("role") in ("tests", "wrong")]
    return [b for b in blocks if b], [t for t in tests if t]


@pytest.mark.parametrize("name", SHEETS)
def test_no_solution_in_student_files(name):
    blocks, tests = _secrets(name)
    nb_text = normalize((ROOT / "exercises" / f"{name}.ipynb").read_text())
    nb = nbformat.read(str(ROOT / "exercises" / f"{name}.ipynb"), as_version=4)
    sources = normalize("\n".join(c.source for c in nb.cells))
    public = normalize((ROOT / "nngrade" / "public" / f"{name}.json").read_text())
    for b in blocks:
        assert b not in sources and b not in public, f"solution code leaked: {b!r}"
        assert normalize(json.dumps(b))[1:-1] not in nb_text
    for t in tests:
        assert t not in sources, "a tests/wrong cell leaked into the student notebook"


def _answer_cells(name):
    """Whole reference answer cells (signature + docstring + solution): only the source has them."""
    return [normalize(q.solution) for q in sheet(name).questions.values()]


def test_no_solution_in_built_site():
    """Scans _build/html when it exists (``make test`` builds the site first).

    A sheet's page (and its downloadable source) must not contain its solution blocks; no
    page may contain a whole reference answer cell or a tests/wrong-answer cell. (Chapters may
    of course teach the same formula as a solution line, e.g. the stable softmax.)"""
    site = ROOT / "_build" / "html"
    if not (site / "index.html").exists():
        pytest.skip("site not built (run `make book`); student files are checked above")
    assert not list(site.rglob("*exercises/source*")), "source notebooks were published"
    pages = {p: html_text(p.read_text(errors="replace")) for p in site.rglob("*.html")}
    raw = {p: normalize(p.read_text(errors="replace")) for p in site.rglob("_sources/**/*")
           if p.is_file()}
    for name in SHEETS:
        blocks, tests = _secrets(name)
        whole = _answer_cells(name)
        for page, text in pages.items():
            for b in whole + tests:
                assert b not in text, f"{name}: source notebook content in {page}: {b[:80]!r}"
            if "exercises" in page.parts and page.stem == name:  # (later sheets may give
                for b in blocks:                                # an earlier answer as setup)
                    assert b not in text, f"{name} solution code in {page}: {b!r}"
        for src, text in raw.items():
            if "exercises" in src.parts and src.name.startswith(name):
                for b in blocks:
                    assert b not in text and normalize(json.dumps(b))[1:-1] not in text, src


@pytest.fixture(scope="session")
def nbval_results(tmp_path_factory):
    """One strict nbval run over every student notebook; failures per notebook file."""
    report = tmp_path_factory.mktemp("nbval") / "junit.xml"
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider",
                          "-q", f"--junitxml={report}", *(f"exercises/{n}.ipynb" for n in SHEETS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    failures: dict[str, list[str]] = {n: [] for n in SHEETS}
    seen: set[str] = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        name = Path(case.get("file") or case.get("classname", "").replace(".", "/")).stem
        name = next((n for n in SHEETS if n in (case.get("classname", "") + (case.get("file") or ""))), name)
        seen.add(name)
        for bad in list(case.findall("failure")) + list(case.findall("error")):
            failures.setdefault(name, []).append((bad.get("message") or "")[:500])
    return failures, seen, run.stdout[-3000:]


@pytest.mark.parametrize("name", SHEETS)
def test_student_notebook_passes_strict_nbval(name, nbval_results):
    failures, seen, out = nbval_results
    assert name in seen, out
    assert not failures[name], failures[name]
