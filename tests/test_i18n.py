"""The Chinese edition's pipeline (tools/i18n.py, locales/, nngrade's gettext catalogue).

Needs GNU gettext's msgfmt and xgettext (Debian: apt-get install gettext): without them the
catalogue checks cannot run, and that is a failure, not a skip.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import i18n  # noqa: E402

TRANSLATED = ["index", "chapters/01_introduction", "exercises/01_neuron"]


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def test_gettext_tools_installed():
    missing = [t for t in ("msgfmt", "msgmerge", "xgettext") if not shutil.which(t)]
    assert not missing, f"GNU gettext is needed for the catalogues: {missing} (apt-get install gettext)"


def test_catalogues_are_complete_current_and_valid():
    """What CI enforces: no untranslated, fuzzy or stale message; msgfmt --check passes; every
    translation keeps its English's maths, references and code; nngrade's .mo is current."""
    pages = [p for p in [i18n.BOOK, *i18n.all_pages()] if i18n.catalogue(p).exists()]
    assert set(TRANSLATED) <= set(pages)
    assert i18n.check(pages) + i18n.check_grader(require_complete=True) == []


def test_check_finds_untranslated_fuzzy_and_stale(tmp_path, monkeypatch):
    po = polib.pofile(str(i18n.catalogue("index")))
    entries = [e for e in po if not e.obsolete]
    entries[1].msgstr = ""
    entries[2].flags.append("fuzzy")
    entries[3].msgid = entries[3].msgid.replace("Chinese", "Japanese")
    target = tmp_path / "index.po"
    po.save(str(target))
    monkeypatch.setattr(i18n, "catalogue", lambda page: target)
    problems = "\n".join(i18n.check(["index"]))
    assert "untranslated" in problems
    assert "fuzzy" in problems
    assert problems.count("stale") == 2  # the English message it lacks, the one it has too many
    target.write_text(target.read_text().replace('msgstr ""', 'msgstr "\\q"', 1))  # bad escape
    assert "msgfmt --check failed" in "\n".join(i18n.check(["index"]))


def test_markup_check_catches_a_changed_sign_reference_or_code():
    en = "The step $w - \\eta g$ of `nnlib.sgd` ({ref}`sec-sgd`)."
    assert i18n.markup_problems(en, "步长$w - \\eta g$，见 `nnlib.sgd`（{ref}`sec-sgd`）。") == []
    assert i18n.markup_problems(en, "步长$w + \\eta g$，见 `nnlib.sgd`（{ref}`sec-sgd`）。")
    assert i18n.markup_problems(en, "步长$w - \\eta g$，见 `nnlib.sgd`（{ref}`sec-adam`）。")
    assert i18n.markup_problems(en, "步长$w - \\eta g$，见 `nnlib.adam`（{ref}`sec-sgd`）。")
    # the glossary's style: no space between Chinese text and inline maths
    assert i18n.markup_problems(en, "步长 $w - \\eta g$，见 `nnlib.sgd`（{ref}`sec-sgd`）。")


@pytest.mark.parametrize("page", i18n.all_pages())
def test_every_prose_block_is_a_message(page):
    """Translating every message of a page leaves no English prose run on it: the segmentation
    covers all prose (and nothing in code, maths or labels is touched)."""
    src = i18n.source_of(page)
    table = {e.msgid: f"〔{k}〕" for k, e in enumerate(i18n.pot(page))}
    for text in markdown_of(src):
        out = i18n.translate_text(text, table)
        assert i18n.english_left(out) == [], (page, i18n.english_left(out))
        # nothing that is not prose changed: labels, display maths and code fences survive
        for line in text.split("\n"):
            if line.startswith(("(sec-", "$$", "```python", "```bash", ":class:")):
                assert line in out.split("\n"), (page, line)


@pytest.mark.parametrize("page", TRANSLATED)
def test_translated_pages_have_no_english_prose(page):
    table = i18n.translations(page)
    left = [run for text in markdown_of(i18n.source_of(page))
            for run in i18n.english_left(i18n.translate_text(text, table))]
    assert left == []


def test_zh_notebook_keeps_code_and_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "ZH", tmp_path)
    out = i18n.write_page("chapters/01_introduction")
    en = nbformat.read(i18n.source_of("chapters/01_introduction"), as_version=4)
    zh = nbformat.read(out, as_version=4)
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells]
    for a, b in zip(en.cells, zh.cells, strict=True):
        if a.cell_type == "code":
            assert (a.source, a.outputs) == (b.source, b.outputs)
        else:
            assert a.source != b.source


def weighted_sum(x, w, b):
    """A right answer to sheet 1's q1 (check() looks it up among its caller's globals)."""
    return x @ w + b


def test_checker_speaks_the_sheets_language():
    from nngrade import checker
    from nngrade.i18n import translator

    en, zh = checker("01_neuron")("q1"), checker("01_neuron", lang="zh_CN")("q1")
    assert en.passed and zh.passed
    assert "public test(s)" in repr(en) and "公开测试" in repr(zh)
    assert "public test" not in repr(zh)
    assert "重读" in zh._repr_html_() and "Re-read" not in zh._repr_html_()
    with pytest.raises(ValueError, match="no 'xx' translation"):
        translator("xx")


def test_chinese_sheet_grades_like_the_english(tmp_path):
    """A Chinese copy of sheet 1's reference gets full marks, its unfilled Chinese copy 0."""
    table = i18n.translations("exercises/01_neuron")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, src in (("reference", ROOT / "exercises" / "source" / "01_neuron.ipynb"),
                      ("unfilled", ROOT / "exercises" / "01_neuron.ipynb")):
        nb = nbformat.read(src, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = i18n.translate_text(cell.source, table)
            else:
                cell.source = i18n._CHECKER.sub(r'checker(\1, lang="zh_CN")', cell.source)
        nbformat.write(nb, subs / f"{name}.ipynb")
    book = tmp_path / "grades.csv"
    subprocess.run([sys.executable, "-m", "nngrade.cli", "grade", str(subs), "-o", str(book),
                    "--seed", "1", "-q"], check=True, cwd=ROOT)
    totals = {r["student"]: float(r["total"]) for r in csv.DictReader(book.open())}
    assert totals == {"reference": 10.0, "unfilled": 0.0}
