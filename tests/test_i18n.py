"""The Chinese edition's pipeline (tools/i18n.py, locales/, nngrade's gettext catalogue).

Needs GNU gettext's msgfmt and xgettext (Debian: apt-get install gettext): without them the
catalogue checks cannot run, and that is a failure, not a skip.
"""
from __future__ import annotations

import csv
import re
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

TRANSLATED = ["index", "chapters/01_introduction", "exercises/01_neuron", "glossary"]


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def test_gettext_tools_installed():
    missing = [t for t in ("msgfmt", "msgmerge", "xgettext") if not shutil.which(t)]
    assert not missing, f"GNU gettext is needed for the catalogues: {missing} (apt-get install gettext)"


@pytest.mark.parametrize("page", [i18n.BOOK, *i18n.all_pages()])
def test_catalogue_is_complete_current_and_valid(page):
    """What CI enforces (also `tools/i18n.py check --all-pages` in make test), page by page: the
    catalogue exists, no untranslated, fuzzy or stale message, msgfmt --check passes, every
    translation keeps its English's maths, references and code."""
    problems = i18n.check([page])
    assert problems == [], f"{len(problems)} problem(s):\n" + "\n".join(problems[:10])


def test_grader_catalogue_is_complete_and_compiled():
    assert i18n.check_grader(require_complete=True) == []


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


SHEET_LINK = re.compile(r"练习\s*\{doc\}`(?:\.\./exercises/)?\d\d_\w+`")


@pytest.mark.parametrize("page", [i18n.BOOK, *i18n.all_pages()])
def test_no_sheet_link_after_the_word_exercise(page):
    """A {doc} link to a sheet without its own text shows the sheet's title, which starts with 练习:
    "练习 {doc}`07_debugging`" reads 练习 练习 7 on the page (the reviewer found 13)."""
    doubled = [msgstr[:70] for msgstr in i18n.translations(page).values()
               if SHEET_LINK.search(msgstr)]
    assert doubled == []
    assert SHEET_LINK.search("（练习 {doc}`05_backprop`）") and not SHEET_LINK.search(
        "{doc}`练习 2 <../exercises/02_activations>`")


@pytest.mark.parametrize("page", [i18n.BOOK, *i18n.all_pages()])
def test_no_translation_leaves_english_prose(page):
    """Every finished translation of every page (complete or not) is Chinese: no run of four
    Latin words outside maths, code, roles, italics and quotes (a sentence left in English, or
    pasted back; a paper's title may stay English)."""
    def titles_removed(text: str) -> str:  # a title quoted or in italics may stay English
        text = re.sub(r"(?<!\*)\*(?!\*)[^*]+(?<!\*)\*(?!\*)", " ", text)
        return re.sub(r"[“\"《][^”\"》]*[”\"》]", " ", text)

    left = {msgid[:60]: runs for msgid, msgstr in i18n.translations(page).items()
            if (runs := i18n.ENGLISH_RUN.findall(titles_removed(i18n.prose_only(msgstr))))}
    assert left == {}
    assert i18n.ENGLISH_RUN.findall(titles_removed("Loshchilov 和 Hutter 指出 this coupling makes "
                                                   "L2 weaker（“Decoupled Weight Decay Reg”）"))


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


def test_glossary_translation_keeps_sphinx_glossary_syntax():
    """The {glossary} directive is segmented line by line: every term line and every definition
    is a message, and the translated directive still has its terms in column 0 and definitions
    indented (what Sphinx's glossary reads); the label, fence and option lines are untouched."""
    text = i18n.source_of("glossary").read_text()
    segs = list(i18n.segments(text))
    body = text.split(":::{glossary}\n", 1)[1].split("\n:::", 1)[0].split("\n")
    terms = [ln for ln in body if ln.strip() and not ln[0].isspace()]
    assert len(terms) >= 40
    assert {t.strip() for t in terms} <= {s.msgid for s in segs}
    table = {seg.msgid: f"〔{k}〕" for k, seg in enumerate(segs)}
    out = i18n.translate_text(text, table)
    zh_body = out.split(":::{glossary}\n", 1)[1].split("\n:::", 1)[0].split("\n")

    def shape(lines: list[str]) -> str:  # blank, term, definition (a definition's lines as one)
        kinds = "".join("b" if not ln.strip() else "d" if ln[0].isspace() else "t" for ln in lines)
        return re.sub("d+", "d", kinds)

    assert shape(zh_body) == shape(body)
    assert all(not zh.strip() or re.fullmatch(r"(  )?〔\d+〕", zh) for zh in zh_body), zh_body
    assert out.startswith("(sec-glossary)=\n# 〔0〕\n")


def test_term_reference_is_checked_by_its_english():
    """A Chinese {term} reference names the Chinese glossary term, whose English is in the
    full-width parentheses: the check accepts it when that English is the English target, and
    catches a reference to another term."""
    en = "See {term}`local minima <local minimum>` and {term}`overfitting`."
    ok = "见{term}`局部最小值 <局部最小值（local minimum）>`和{term}`过拟合 <过拟合（overfitting）>`。"
    assert i18n.markup_problems(en, ok) == []
    wrong = "见{term}`局部最小值 <局部最小值（saddle point）>`和{term}`过拟合 <过拟合（overfitting）>`。"
    assert i18n.markup_problems(en, wrong)


def test_every_term_reference_resolves_in_both_glossaries():
    """Every {term} target of the pages that use them is a term of the English glossary, and each
    Chinese target a term of the Chinese one (the build would warn; this says which)."""
    def glossary_terms(text: str) -> set[str]:
        body = text.split(":::{glossary}\n", 1)[1].split("\n:::", 1)[0]
        return {ln.strip().lower() for ln in body.split("\n") if ln.strip() and not ln[0].isspace()}

    en_terms = glossary_terms(i18n.source_of("glossary").read_text())
    zh_terms = glossary_terms(i18n.translate_text(i18n.source_of("glossary").read_text(),
                                                  i18n.translations("glossary")))
    assert len(en_terms) == len(zh_terms) >= 40
    used = 0
    for page in ("index", "chapters/01_introduction"):
        zh = i18n.translations(page)
        for _, seg in i18n.page_segments(page):
            for m in re.finditer(r"\{term\}`([^`]*)`", seg.msgid):
                used += 1
                assert i18n._target_key("term", m.group(1)) in en_terms, (page, m.group(0))
            for m in re.finditer(r"\{term\}`([^`]*)`", zh.get(seg.msgid, "")):
                target = re.sub(r"^.*<(.*)>$", r"\1", m.group(1))
                assert target.lower() in zh_terms, (page, m.group(0))
    assert used >= 10


def test_no_figure_draws_chinese():
    """Figure text stays English (issue 18): no code cell that makes a figure has Chinese
    characters in its source, and no output of any notebook reports a missing glyph. (The only
    Chinese in code is the article's program, quoted in chapter 8 and sheet 7, which draws
    nothing.) So no figure can show missing-glyph boxes in either edition, and no CJK font is
    needed for matplotlib."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    quoted = 0
    for path in sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("exercises/*.ipynb")]):
        for k, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
                      or "<img" in str(o.get("data", {}).get("text/html", ""))]
            text = " ".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                            for o in cell.get("outputs", []))
            assert not re.search(r"Glyph \d+ .*missing", text), (path.name, k)
            if cjk.search(cell.source):
                quoted += 1
                assert not images, f"{path.name} cell {k} draws a figure from code with Chinese text"
    assert quoted >= 1  # the article's program: the check above did look at Chinese code

