"""The grader speaks the sheet's language (issue 18): a Chinese sheet grades exactly like the
English one, and its ``check()`` output and the instructor's feedback file are Chinese, through
the same gettext catalogue (``locales/zh_CN/LC_MESSAGES/nngrade.po``).

The Chinese copies are made by ``tools/i18n.py``'s own ``write_page`` (the path ``tools/i18n.py
notebooks`` takes): translated markdown (untranslated prose stays English), the checker line
with ``lang="zh_CN"`` and ``metadata.language = "zh_CN"``. Grading runs the real ``nngrade
grade`` in the sandbox, one run per sheet (a run grades one sheet). Needs GNU gettext's msgfmt
and xgettext (Debian: apt-get install gettext): without them this is a failure, not a skip.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import polib
import pytest

from nngrade import export, report, shards
from nngrade import i18n as ni18n
from nngrade.generate import chapter_title, jupyter_anchor, section_link
from nngrade.i18n import Text, language_of, localized_link, pack, render, translator, unpack
from nngrade.sheet import SOURCE_DIR, STUDENT_DIR, all_sources, load_sheet
from nngrade.verdicts import compare

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import i18n  # noqa: E402

SHEETS = [p.stem for p in all_sources()]
ZH = translator("zh_CN")
#: an English prose run: four or more words (the pipeline's own measure, tools/i18n.py)
ENGLISH = i18n.ENGLISH_RUN


def english_runs(text: str) -> list[str]:
    """English prose left in a text, outside code spans and links (paths, anchors)."""
    text = re.sub(r"`[^`]*`|\S*\.(?:ipynb|html)#\S*", " ", text)
    return ENGLISH.findall(text)


def chinese_copy(src: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Chinese notebook ``tools/i18n.py notebooks`` makes of the sheet at ``src`` (the
    student sheet, or the instructor's source sheet through the same function), written to
    ``out``."""
    page, source_of = f"exercises/{src.stem}", i18n.source_of
    with monkeypatch.context() as m:
        m.setattr(i18n, "ZH", out.parent / "zh-tree")
        m.setattr(i18n, "source_of", lambda p: src if p == page else source_of(p))
        made = i18n.write_page(page)
    out.write_bytes(made.read_bytes())
    return out


def set_language(path: Path, value: object) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["language"] = value
    nbformat.write(nb, path)


def grade(folder: Path, out: Path, sheet: str) -> dict[str, dict[str, str]]:
    r = subprocess.run([sys.executable, "-m", "nngrade.cli", "grade", str(folder), "-o",
                        str(out), "--sheet", sheet, "--seed", "1", "-q"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}


# -- the catalogue ------------------------------------------------------------------------------

def test_every_grader_message_is_translated_and_msgfmt_passes():
    po = polib.pofile(str(i18n.GRADER_PO))
    live = [e for e in po if not e.obsolete]
    assert len(live) > 150, len(live)   # code messages and every sheet's test names
    assert [e.msgid for e in live if not e.msgstr or "fuzzy" in e.flags] == []
    r = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(i18n.GRADER_PO)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert i18n.check_grader(require_complete=True) == []
    # every test name of every sheet, public and hidden, is a message
    ids = {e.msgid for e in live}
    names = {t.name for p in all_sources() for q in load_sheet(p).questions.values()
             for t in q.tests}
    assert names <= ids, sorted(names - ids)[:5]
    # every field of a brace-format message is checked by msgfmt: such messages are flagged
    flagged = [e for e in live if re.search(r"\{\w+\}", e.msgid)]
    assert flagged and all("python-brace-format" in e.flags for e in flagged
                           if e.msgid not in names)


# -- Text: English by default, translated on demand, packed for the log ----------------------------

def test_text_is_the_english_string_and_renders_in_chinese():
    v = compare(np.zeros(3), np.zeros((1, 3)))
    assert v.kind == "shape"
    assert v.message == ("wrong shape: expected (3,), got (1, 3) (the numbers are right: "
                         "reshape or drop the extra axis)")
    zh = v.text(ZH)
    assert zh.startswith("形状错误：应为 (3,)，实际为 (1, 3)"), zh
    assert english_runs(zh) == []
    nested = Text("case {k} of {n}: {message}", k=2, n=5, message=v.message)
    assert nested == f"case 2 of 5: {v.message}"
    assert render(nested, ZH) == f"第 2 组输入（共 5 组）：{zh}"
    assert render(nested, str) == nested


def test_packed_messages_survive_the_log_and_damage_falls_back_to_english():
    v = compare([np.ones(2)], [np.ones(2) * 2])
    packed = json.loads(json.dumps(pack(v.message)))
    back = unpack(packed, str(v.message))
    assert back == v.message and isinstance(back, Text)
    assert render(back, ZH) == v.text(ZH) and "第 0 项" in render(back, ZH)
    english = str(v.message)
    for damaged in ({"msgid": "{x.__class__}", "fields": {"x": "a"}}, {"msgid": 3},
                    {"msgid": "{a}", "fields": {}}, {"msgid": "{a}", "fields": {"a": [1]}},
                    ["x"], None, "something else"):
        assert unpack(damaged, english) == english and not isinstance(
            unpack(damaged, english), Text)
    deep: object = "x"
    for _ in range(50):
        deep = {"msgid": "{a}", "fields": {"a": deep}}
    assert unpack(deep, "x") == "x"


@pytest.mark.parametrize("value", ["x" * (1 << 20), ["zh_CN"], "../../etc", "../../etc/passwd",
                                   {"zh_CN": 1}, 7, None, True, "zh_CN\x00", "ZH_CN", ""])
def test_untrusted_language_metadata_means_english(value):
    assert language_of(value) is None


def test_known_language_metadata():
    assert language_of("zh_CN") == "zh_CN"


# -- the re-read link ---------------------------------------------------------------------------

def test_chinese_reread_link_opens_the_chinese_heading(tmp_path, monkeypatch):
    """Chapter 1 (translated): the Chinese title is the chapter catalogue's, and its anchor is
    the id JupyterLab gives a heading of the Chinese notebook ``tools/i18n.py`` generates. For
    every sheet's every question the Chinese link's anchor exists in the generated Chinese
    chapter (translated headings or, while a chapter's catalogue is incomplete, the English
    ones: the same catalogue makes both)."""
    monkeypatch.setattr(i18n, "ZH", tmp_path)

    def anchors(chapter: str) -> set[str]:
        nb = nbformat.read(i18n.write_page(f"chapters/{chapter}"), as_version=4)
        return {jupyter_anchor(m.group(1).strip()) for c in nb.cells if c.cell_type == "markdown"
                for m in re.finditer(r"^#{1,6}\s+(.+)$", c.source, re.M)}

    en = section_link("01_introduction", "sec-how-to-use")
    zh = localized_link("01_introduction", "sec-how-to-use", en, "zh_CN")
    assert zh["page"] == en["page"] == "../chapters/01_introduction.html#sec-how-to-use"
    assert zh["title"] != en["title"] and english_runs(zh["title"]) == []
    anchor = zh["notebook"].split("#", 1)[1]
    ch1 = anchors("01_introduction")
    assert anchor in ch1 and en["notebook"].split("#", 1)[1] not in ch1
    assert localized_link("01_introduction", "sec-how-to-use", en, None) == en

    seen: dict[str, set[str]] = {}
    for path in sorted((ROOT / "nngrade" / "public").glob("*.json")):
        for q in json.loads(path.read_text())["questions"].values():
            link = localized_link(q["chapter"], q["section"], q["link"], "zh_CN")
            if q["chapter"] not in seen:
                seen[q["chapter"]] = anchors(q["chapter"])
            assert link["notebook"].split("#", 1)[1] in seen[q["chapter"]], (path.stem, link)


def generated_anchors(chapter: str, zh_dir: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The ids JupyterLab gives the headings of the Chinese chapter ``tools/i18n.py`` writes."""
    with monkeypatch.context() as m:
        m.setattr(i18n, "ZH", zh_dir)
        nb = nbformat.read(i18n.write_page(f"chapters/{chapter}"), as_version=4)
    return {jupyter_anchor(h.group(1).strip()) for c in nb.cells if c.cell_type == "markdown"
            for h in re.finditer(r"^#{1,6}\s+(.+)$", c.source, re.M)}


WHEEL_CHECK = """
import json
import nngrade

def weighted_sum(x, w, b):
    return x @ w - b

report = nngrade.checker("01_neuron", lang="zh_CN")("q1")
print(json.dumps({"file": nngrade.__file__, "text": repr(report), "link": report.link}))
"""


def test_chinese_reread_link_from_the_installed_wheel(tmp_path, monkeypatch):
    """The course's wheel, built as the website builds it (tools/offline.py) and unpacked
    where no repository is (no locales/, no chapters/): a Chinese check() names chapter 2's
    heading in Chinese and links the anchor the generated Chinese chapter has."""
    import offline  # tools/ (on the path above)

    wheel = offline.build_wheel(tmp_path / "dist")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        assert "nngrade/locale/zh_CN/headings.json" in z.namelist()
        z.extractall(site)
    assert not (site / "locales").exists() and not (site / "chapters").exists()
    env = {**os.environ, "PYTHONPATH": str(site), "NN_PROGRESS_FILE": "off"}
    r = subprocess.run([sys.executable, "-c", WHEEL_CHECK], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(out["file"]).resolve().is_relative_to(site.resolve()), out["file"]
    english = section_link("02_neuron", "sec-neuron-weighted-sum")
    chinese = polib.pofile(str(i18n.catalogue("chapters/02_neuron"))).find(english["title"])
    assert chinese is not None and chinese.msgstr and chinese.msgstr != english["title"]
    assert out["link"]["title"] == chinese.msgstr
    assert f"重读：“{chinese.msgstr}”" in out["text"], out["text"]
    anchor = out["link"]["notebook"].split("#", 1)[1]
    assert anchor == jupyter_anchor(chinese.msgstr)
    assert anchor in generated_anchors("02_neuron", tmp_path / "zh", monkeypatch)
    assert english["notebook"].split("#", 1)[1] not in generated_anchors(
        "02_neuron", tmp_path / "zh", monkeypatch)


def test_missing_headings_file_means_english_headings(tmp_path, monkeypatch):
    """The explicit fallback: a language without headings.json keeps the English heading and
    link (which is what its notebook shows when the chapter is untranslated)."""
    en = section_link("02_neuron", "sec-neuron-weighted-sum")
    assert localized_link("02_neuron", "sec-neuron-weighted-sum", en, "zh_CN") != en
    monkeypatch.setattr(ni18n, "HEADINGS_DIR", tmp_path)
    assert ni18n.headings("zh_CN") == {}
    assert localized_link("02_neuron", "sec-neuron-weighted-sum", en, "zh_CN") == en
    damaged = tmp_path / "zh_CN" / ni18n.HEADINGS_FILE
    damaged.parent.mkdir()
    damaged.write_text('{"02_neuron": ["not", "a", "table"]}', encoding="utf-8")
    with pytest.warns(UserWarning, match="translated headings unreadable"):
        assert localized_link("02_neuron", "sec-neuron-weighted-sum", en, "zh_CN") == en


def test_stale_headings_file_fails_the_check(tmp_path, monkeypatch):
    """tools/i18n.py check fails when the shipped headings differ from the chapters' catalogues
    (a changed translation, a missing file) and passes on the file ``grader`` writes."""
    shipped = i18n.GRADER_HEADINGS.read_text(encoding="utf-8")
    copy = tmp_path / "headings.json"
    monkeypatch.setattr(i18n, "GRADER_HEADINGS", copy)
    copy.write_text(shipped, encoding="utf-8")
    assert i18n.grader_headings_problems() == []
    table = json.loads(shipped)
    title = section_link("02_neuron", "sec-neuron-weighted-sum")["title"]
    table["02_neuron"][title] += "（旧）"
    copy.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    problems = i18n.grader_headings_problems()
    assert len(problems) == 1 and "stale" in problems[0], problems
    assert problems[0] in i18n.check_grader(require_complete=True)
    copy.unlink()
    problems = i18n.grader_headings_problems()
    assert len(problems) == 1 and "missing" in problems[0], problems


def test_feedback_names_chapters_by_number_or_title():
    """Chapter 2 is "chapter 2" / "第 2 章"; the playground (no number) is named by its title,
    translated by its catalogue in Chinese."""
    assert report.chapter_name("02_neuron") == "chapter 2"
    assert report.chapter_name("02_neuron", "zh_CN") == "第 2 章"
    assert report.chapter_name("12_training_recipe", "zh_CN") == "第 12 章"
    title = chapter_title("playground")
    chinese = polib.pofile(str(i18n.catalogue("chapters/playground"))).find(title)
    assert chinese is not None and chinese.msgstr and chinese.msgstr != title
    assert report.chapter_name("playground") == title
    assert report.chapter_name("playground", "zh_CN") == chinese.msgstr


# -- check() in Chinese ---------------------------------------------------------------------------

def weighted_sum(x, w, b):
    """Wrong on purpose: the bias subtracted."""
    return x @ w - b


def sigmoid(z):
    """Right values, wrong shape: an extra axis."""
    return np.atleast_2d(1 / (1 + np.exp(-np.clip(z, -500, 500))))


def neuron_output(X, w, b):  # noqa: N803 -- the sheet's argument name
    return sigmoid(weighted_sum(X, w, b))


def fake_headings(tmp_path: Path, chapter: str, titles: dict[str, str]) -> Path:
    """A stand-in for the shipped headings (``<lang>/headings.json``): ``chapter``'s headings
    translated as ``titles``, no other chapter's; returns the folder for ni18n.HEADINGS_DIR."""
    path = tmp_path / "headings" / "zh_CN" / ni18n.HEADINGS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({chapter: titles}, ensure_ascii=False), encoding="utf-8")
    return path.parent.parent


def test_chinese_check_names_the_mistake_in_chinese(tmp_path, monkeypatch):
    """A wrong answer on sheet 1: the Chinese check() names the mistake (wrong values, wrong
    shape, the dependency) in Chinese, test names included, and no English prose line is left.
    Chapter 2's headings come from a stand-in headings file."""
    from nngrade import checker

    monkeypatch.setenv("NN_PROGRESS_FILE", "off")
    public = json.loads((ROOT / "nngrade" / "public" / "01_neuron.json").read_text())
    titles = {q["link"]["title"]: f"标题-{q['section']}" for q in public["questions"].values()}
    monkeypatch.setattr(ni18n, "HEADINGS_DIR", fake_headings(tmp_path, "02_neuron", titles))
    check_en, check_zh = checker("01_neuron"), checker("01_neuron", lang="zh_CN")
    outputs = {}
    for q in ("q1", "q2", "q3"):
        en, zh = check_en(q), check_zh(q)
        assert not en.passed and not zh.passed
        outputs[q] = text = repr(zh)
        assert [line for line in text.splitlines() if english_runs(line)] == [], text
        html = zh._repr_html_()
        assert "重读" in html and english_runs(re.sub(r"<[^>]+>", " ", html)) == []
        # the same number of lines as the English: nothing dropped, nothing added
        assert len(text.splitlines()) == len(repr(en).splitlines())
    assert "数值错误：最大误差为 0.2（应为 -0.9，实际为 -1.1）" in outputs["q1"]
    assert "失败 三个输入：" in outputs["q1"]
    assert "形状错误：应为 (3,)，实际为 (1, 3)" in outputs["q2"]
    assert "失败 几个数值：" in outputs["q2"] and "通过 二维数组" in outputs["q2"]
    assert "注意：neuron_output() 调用了 q1 的 weighted_sum()" in outputs["q3"]
    link = public["questions"]["q1"]["link"]
    assert "重读：“标题-sec-neuron-weighted-sum”" in outputs["q1"]
    assert "02_neuron.ipynb#标题-sec-neuron-weighted-sum" in outputs["q1"]
    assert link["page"] in outputs["q1"]


# -- grading: every sheet, Chinese copies, real sandboxed runs ----------------------------------------

WRONG_Q2 = """

_right_sigmoid = sigmoid


def sigmoid(z):
    return np.atleast_2d(_right_sigmoid(z))
"""

ATTACKS = {"attack-huge": "x" * (1 << 20), "attack-list": ["zh_CN"], "attack-path": "../../etc",
           "attack-object": {"zh_CN": "zh_CN"}, "attack-number": 12}


def test_sheet_one_feedback_is_chinese_and_untrusted_language_is_english(tmp_path, monkeypatch):
    """Sheet 1, one run: the English and the Chinese reference score alike; a Chinese wrong
    answer gets a Chinese feedback file (the log keeps English); references whose
    metadata.language is an attack value are graded normally, with English feedback."""
    subs = tmp_path / "subs"
    subs.mkdir()
    src = SOURCE_DIR / "01_neuron.ipynb"
    en_ref = subs / "en-reference.ipynb"
    en_ref.write_bytes(src.read_bytes())
    zh_ref = chinese_copy(src, subs / "zh-reference.ipynb", monkeypatch)
    zh_wrong = chinese_copy(src, subs / "zh-wrong.ipynb", monkeypatch)
    nb = nbformat.read(zh_wrong, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nngrade", {}).get("role") == "answer" and \
                cell.metadata["nngrade"].get("question") == "q2":
            cell.source += WRONG_Q2
    nbformat.write(nb, zh_wrong)
    for name, value in ATTACKS.items():
        path = subs / f"{name}.ipynb"
        path.write_bytes(zh_ref.read_bytes())
        set_language(path, value)
    assert nbformat.read(zh_ref, as_version=4).metadata["language"] == "zh_CN"
    book = tmp_path / "grades.csv"
    rows = grade(subs, book, "01_neuron")
    sheet = load_sheet(src)
    columns = [*sheet.questions, "total"]
    full = {q: f"{p.points:g}" for q, p in sheet.questions.items()} | {"total": f"{sheet.points:g}"}
    for student in ["en-reference", "zh-reference", *ATTACKS]:
        assert {c: rows[student][c] for c in columns} == full, student
    assert float(rows["zh-wrong"]["q2"]) < sheet.questions["q2"].points
    assert rows["zh-wrong"]["q1"] == full["q1"]
    # the gradebook's format is the LMS's: English column names, nothing translated
    assert list(rows["zh-wrong"]) == ["student", "file", *sheet.questions, "total", "note"]

    feedback = tmp_path / "grades-feedback"
    zh = (feedback / "zh-wrong.md").read_text(encoding="utf-8")
    assert zh.startswith("# 01_neuron 的反馈：zh-wrong\n")
    assert "形状错误：应为" in zh and "隐藏测试（" in zh and "公开测试“几个数值”" in zh
    assert "- 重读：第 2 章中的“" in zh and "02_neuron 中" not in zh
    assert "隐藏测试的输入由本次评分的随机种子 1 生成" in zh
    # English is left only where a chapter's catalogue has not translated a heading yet
    titles = [localized_link(q.chapter, q.section, section_link(q.chapter, q.section),
                             "zh_CN")["title"] for q in sheet.questions.values()]
    left = [line for line in zh.splitlines()
            if english_runs(re.sub("|".join(map(re.escape, titles)), "", line))]
    assert left == [], left
    # the LMS export finds each question's section in a Chinese feedback file too
    sections = export.feedback_sections(zh, sheet.questions)
    assert list(sections) == list(sheet.questions)
    assert "形状错误" in sections["q2"] and "形状错误" not in sections["q1"]
    assert "随机种子" not in sections["q4"] and sections["q4"].startswith("公开测试")
    for name in ["en-reference", *ATTACKS]:
        text = (feedback / f"{name}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# Feedback on 01_neuron: {name}\n") and "反馈" not in text
    # the log keeps English; the feedback is rendered from it again in Chinese (cmd_merge does
    # this), here with chapter 2's headings from a stand-in headings file: no English at all
    records = [json.loads(line) for line in shards.log_path(book).read_text(
        encoding="utf-8").splitlines()]
    rec = next(r for r in records if r["student"] == "zh-wrong")
    assert rec["lang"] == "zh_CN" and all(r.get("lang") is None for r in records
                                          if r["student"].startswith(("attack", "en-")))
    q2 = next(q for q in rec["questions"] if q["question"] == "q2")
    assert q2["feedback"].startswith("wrong shape: expected") or "wrong shape" in q2["feedback"]
    titles = {section_link("02_neuron", q.section)["title"]: f"标题-{q.section}"
              for q in sheet.questions.values()}
    monkeypatch.setattr(ni18n, "HEADINGS_DIR", fake_headings(tmp_path, "02_neuron", titles))
    again = report.feedback(sheet, report.submission_of(rec), rec["seed"])
    assert [line for line in again.splitlines() if english_runs(line)] == [], again
    label = sheet.questions["q2"].section
    assert f"“标题-{label}”" in again and f"02_neuron.ipynb#标题-{label}" in again


@pytest.mark.parametrize("name", SHEETS)
def test_chinese_sheet_grades_like_the_english(name, tmp_path, monkeypatch):
    """Every sheet: a Chinese copy of its reference scores exactly the English points, question
    by question; its unfilled Chinese copy scores 0; both feedback files are Chinese."""
    subs = tmp_path / "subs"
    subs.mkdir()
    chinese_copy(SOURCE_DIR / f"{name}.ipynb", subs / "reference.ipynb", monkeypatch)
    unfilled = chinese_copy(STUDENT_DIR / f"{name}.ipynb", subs / "unfilled.ipynb", monkeypatch)
    nb = nbformat.read(unfilled, as_version=4)
    assert nb.metadata["language"] == "zh_CN"
    assert any('lang="zh_CN"' in c.source for c in nb.cells if c.cell_type == "code")
    rows = grade(subs, tmp_path / "grades.csv", name)
    sheet = load_sheet(SOURCE_DIR / f"{name}.ipynb")
    assert {q: float(rows["reference"][q]) for q in sheet.questions} == \
        {q.id: q.points for q in sheet.questions.values()}
    assert float(rows["reference"]["total"]) == sheet.points > 0
    assert {q: float(rows["unfilled"][q]) for q in [*sheet.questions, "total"]} == \
        dict.fromkeys([*sheet.questions, "total"], 0.0)
    text = (tmp_path / "grades-feedback" / "unfilled.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {name} 的反馈：unfilled\n") and "尚未实现" in text
    assert "Feedback" not in text and "not implemented" not in text
