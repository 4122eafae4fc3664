"""Captions set in code are translated (issue 18): locales/zh_CN/LC_MESSAGES/code-strings.po, the
code-caption functions of tools/i18n.py and the caption language of nnlib.viz.

Code stays English, but ``viz.explore(..., caption="...")`` and ``viz.animate(..., caption="...")``
are the figure's text alternative (the website image's ``alt``, the live image's tooltip, the
animation slider's label). The Chinese notebook carries the translated literal in its code and in
that cell's outputs, written as a run of its own code writes them.
"""
from __future__ import annotations

import ast
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import polib  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nnlib import viz  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import i18n  # noqa: E402

EN = "Output of one neuron's line as the weight changes"
ZH = "权重变化时单个神经元的直线"


def _draw(w):
    fig = Figure(figsize=(2, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, w])
    ax.set_title(f"w = {w}")
    return fig


def _caption_cells():
    """(page, cell index, English cell) of every code cell with a ``caption=`` in the book, found
    by a plain text search (independent of the ast-based extraction under test)."""
    out = []
    for page in i18n.all_pages():
        path = i18n.source_of(page)
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.read(path, as_version=4)
        out += [(page, k, c) for k, c in enumerate(nb.cells)
                if c.cell_type == "code" and re.search(r"\bcaption\s*=", c.source)]
    return out


def test_every_caption_set_in_code_is_a_message():
    cells = _caption_cells()
    expected = sum(len(re.findall(r"\bcaption\s*=", c.source)) for _, _, c in cells)
    found = i18n.code_strings()
    assert len(found) == expected >= 16        # 15 explorations and 1 animation today
    assert {(cs.page, cs.cell) for cs in found} == {(p, k) for p, k, _ in cells}
    po = polib.pofile(str(i18n.CODE_PO))
    assert {e.msgid for e in po if not e.obsolete} == {cs.value for cs in found}
    for cs in found:   # each page's cell is named in the message's references
        entry = po.find(cs.value)
        assert (cs.where, "") in entry.occurrences or (cs.where, None) in entry.occurrences, cs


def test_code_strings_catalogue_is_complete_current_and_chinese():
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is needed (apt-get install gettext)"
    assert i18n.check_code_strings() == []
    po = polib.pofile(str(i18n.CODE_PO))
    for e in po:
        assert viz.caption_language(e.msgid) == "en" and viz.caption_language(e.msgstr) == "zh", e.msgid
        # the numbers and symbols of the English caption are kept (2-3-1, 0.036, x = r u, -=, ...)
        for token in re.findall(r"\d[\d.-]*\d|\d|[-+]=|x = r u|max\(x·y, x \+ z\)", e.msgid):
            if token not in ("2000",) or "2000" in e.msgstr:
                assert token in e.msgstr or (token == "ten" and "10" in e.msgstr), (token, e.msgstr)


def test_check_finds_missing_stale_fuzzy_untranslated_and_english_captions(tmp_path, monkeypatch):
    po = polib.pofile(str(i18n.CODE_PO))
    entries = [e for e in po if not e.obsolete]
    untranslated, fuzzy, english, dropped = entries[0], entries[1], entries[2], entries[3]
    untranslated.msgstr = ""
    fuzzy.flags.append("fuzzy")
    english.msgstr = english.msgid
    po.remove(dropped)
    po.append(polib.POEntry(msgid="A caption no code has", msgstr="没有代码使用的图注"))
    target = tmp_path / "code-strings.po"
    po.save(str(target))
    monkeypatch.setattr(i18n, "CODE_PO", target)
    errors = "\n".join(i18n.check_code_strings())
    assert f"untranslated: {untranslated.msgid[:70]!r}" in errors
    assert f"fuzzy (check the translation against the changed English, then remove the fuzzy " \
           f"flag): {fuzzy.msgid[:70]!r}" in errors
    assert "must be one line of Chinese" in errors and repr(english.msgid[:70]) in errors
    assert f"a message the source has and the catalogue lacks (run: python tools/i18n.py update): " \
           f"{dropped.msgid[:70]!r}" in errors
    assert "the catalogue has a message the source no longer has" in errors and \
           "'A caption no code has'" in errors
    assert len(errors.splitlines()) == 5
    monkeypatch.setattr(i18n, "CODE_PO", tmp_path / "absent.po")
    assert i18n.check_code_strings() == [f"{tmp_path / 'absent.po'}: missing (run: python "
                                         "tools/i18n.py update)"]


def test_the_check_command_reports_the_code_captions(tmp_path, monkeypatch, capsys):
    """`python tools/i18n.py check` (what CI runs) fails on a caption without a translation."""
    po = polib.pofile(str(i18n.CODE_PO))
    first = next(e for e in po if not e.obsolete)
    first.msgstr = ""
    target = tmp_path / "code-strings.po"
    po.save(str(target))
    monkeypatch.setattr(i18n, "CODE_PO", target)
    monkeypatch.setattr(i18n, "check", lambda pages, require_complete=True: [])   # pages: elsewhere
    monkeypatch.setattr(i18n, "check_grader", lambda require_complete: [])
    assert i18n.main(["check", "index"]) == 1
    assert f"untranslated: {first.msgid[:70]!r}" in capsys.readouterr().out
    monkeypatch.setattr(i18n, "CODE_PO", i18n.LOCALES / "code-strings.po")
    assert i18n.main(["check", "index"]) == 0


def test_a_caption_that_is_not_one_literal_is_refused_clearly():
    with pytest.raises(ValueError, match=r"chapters/x cell 3: caption= must be one string literal "
                                         r".*got \"f'w = \{w\}'\""):
        i18n.cell_code_strings('viz.explore(draw, w=[1], caption=f"w = {w}")', "chapters/x", 3)


def test_the_code_gets_the_translated_literal_and_nothing_else_changes():
    source = ('%matplotlib inline\nx = 1  # caption="not this one"\n'
              'viz.animate(fig, show, frames=3, interval=250,\n'
              '            caption="Two spirals: the decision regions "\n'
              '                    "over 2000 epochs")\nprint("done")')
    long = "双螺旋：训练 2000 个迭代周期的过程中，输入空间的决策区域，以及每个训练点在隐藏层中的激活值"
    new, pairs = i18n.translate_code_cell(source, {
        "Two spirals: the decision regions over 2000 epochs": long})
    assert pairs == [("Two spirals: the decision regions over 2000 epochs", long)]
    lines = new.split("\n")
    assert lines[:3] == source.split("\n")[:3] and lines[-1] == 'print("done")'
    assert all(len(ln) <= 110 for ln in lines)
    call = ast.parse(i18n._parsable(new)).body[1].value
    assert [kw.value.value for kw in call.keywords if kw.arg == "caption"] == [long]
    assert i18n.cell_code_strings(new)[0].value == long
    # untranslated captions and cells without one are left exactly as they were
    assert i18n.translate_code_cell(source, {}) == (source, [])
    # columns count characters, not UTF-8 bytes (ast's unit): a "·" before the end of the literal
    dot = 'viz.explore(d, x=[1], caption="f = max(x·y, x + z)")  # the graph'
    assert i18n.translate_code_cell(dot, {"f = max(x·y, x + z)": "计算图"})[0] == \
        'viz.explore(d, x=[1], caption="计算图")  # the graph'


def _normalise(page: str) -> str:
    """An animation player without its random element ids (matplotlib draws a uuid per player)."""
    return re.sub(r"[0-9a-f]{32}", "ID", page)


def test_relabelled_output_equals_a_run_with_the_translated_caption():
    en, zh = viz.explore(_draw, w=[0, 1], caption=EN), viz.explore(_draw, w=[0, 1], caption=ZH)
    assert f'alt="{html.escape(EN)}"' in en.to_html()
    assert viz.relabel(en.to_html(), EN, ZH) == zh.to_html() != en.to_html()
    assert viz.relabel(zh.to_html(), ZH, EN) == en.to_html()

    def player(caption):
        fig, ax = plt.subplots(figsize=(2, 2))
        (line,) = ax.plot([0, 1], [0, 1])
        return viz.animate(fig, lambda i: line.set_ydata([0, i]), frames=3, caption=caption).data

    raw_en, raw_zh = player(EN), player(ZH)
    p_en, p_zh = _normalise(raw_en), _normalise(raw_zh)
    assert _normalise(viz.relabel(raw_en, EN, ZH)) == p_zh
    assert _normalise(viz.relabel(raw_zh, ZH, EN)) == p_en
    assert f'aria-label="{html.escape(EN)}: frame"' in p_en and f'aria-label="{ZH}：帧"' in p_zh
    for english, chinese in viz.PLAYER_ZH.items():    # every control named in Chinese
        assert f'aria-label="{english}"' in p_en or f">{english}</label>" in p_en, english
        assert f'aria-label="{english}"' not in p_zh and f">{english}</label>" not in p_zh, english
        assert f'title="{chinese}" aria-label="{chinese}"' in p_zh or f">{chinese}</label>" in p_zh


def test_the_live_widget_speaks_the_captions_language():
    en, zh = viz.explore(_draw, w=[0, 1], caption=EN), viz.explore(_draw, w=[0, 1], caption=ZH)
    assert (en.lang, zh.lang) == ("en", "zh")
    assert zh.alt("w = 1") == f"{ZH}。图：w = 1" and en.alt("w = 1") == f"{EN}. Figure: w = 1"
    assert "（绘制用时 12 ms）" in zh._status({"w": 1}, 12.3)
    assert "(drawn in 12 ms)" in en._status({"w": 1}, 12.3)

    def parts(e):
        box = e.widget()
        bar, _status, image = box.children
        (reset,) = [w for w in bar.children if type(w).__name__ == "Button"]
        return reset, image

    (r_en, i_en), (r_zh, i_zh) = parts(en), parts(zh)
    assert (r_en.description, r_zh.description) == ("Reset", "重置")
    assert i_zh.tooltip == zh.alt(zh._first_title) == f"{ZH}。图：w = 1"   # the middle value
    # the saved widget state of the English run, relabelled, is the state of the Chinese run
    state = {w.model_id: {"model_name": w._model_name, "state": w.get_state()} for w in (r_en, i_en)}
    assert viz.relabel_widget_state(state, EN, ZH) == 2
    assert state[r_en.model_id]["state"]["description"] == r_zh.description
    assert state[r_en.model_id]["state"]["tooltip"] == r_zh.tooltip
    assert state[i_en.model_id]["state"]["tooltip"] == i_zh.tooltip
    for e in (en, zh):
        e.live.stop()


def test_chinese_notebooks_carry_the_translated_captions(tmp_path, monkeypatch):
    """Every caption set in code: translated in the Chinese notebook's code, its outputs and its
    saved widget state, no English caption left; every other cell exactly the English one."""
    monkeypatch.setattr(i18n, "ZH", tmp_path)
    table = i18n.code_translations()
    cells = _caption_cells()
    for page in ("index", "api/viz"):      # markdown pages have no code cells: left as written
        dst = i18n.write_page(page)
        before = dst.read_text()
        assert i18n.translate_code_captions(dst) == 0 and dst.read_text() == before
    for page in sorted({p for p, _, _ in cells}):
        dst = i18n.write_page(page)
        assert i18n.translate_code_captions(dst) == sum(1 for cs in i18n.code_strings([page]))
        en_nb = nbformat.read(i18n.source_of(page), as_version=4)
        zh_nb = nbformat.read(dst, as_version=4)
        text = dst.read_text()
        for k, (a, b) in enumerate(zip(en_nb.cells, zh_nb.cells, strict=True)):
            if a.cell_type != "code":
                continue
            captions = [cs.value for cs in i18n.cell_code_strings(a.source)]
            if not captions:
                assert (a.source, a.outputs) == (b.source, b.outputs), (page, k)
                continue
            assert [cs.value for cs in i18n.cell_code_strings(b.source)] == [table[c] for c in captions]
            htmls = [o["data"]["text/html"] for o in b.outputs if "text/html" in o.get("data", {})]
            images = [m["state"].get("tooltip") for m in zh_nb.metadata.get("widgets", {}).get(
                i18n._WIDGET_STATE, {}).get("state", {}).values() if m.get("model_name") == "ImageModel"]
            for c in captions:
                # the English caption is nowhere in the notebook: code, outputs, widget state
                assert json.dumps(html.escape(c))[1:-1] not in text, (page, c)
                assert json.dumps(c)[1:-1] not in text, (page, c)
                # the figure's text alternative: the HTML image's alt (explorations, animations),
                # or the live image's tooltip in the saved widget state (the playground)
                assert (any(f'alt="{html.escape(table[c])}"' in h for h in htmls)
                        or table[c] in images), (page, c)
            for x, y in zip(a.outputs, b.outputs, strict=True):   # only the HTML changes
                assert {m: v for m, v in x.get("data", {}).items() if m != "text/html"} == \
                       {m: v for m, v in y.get("data", {}).items() if m != "text/html"}
        # no English word of a live widget is left in the saved state (Reset, the playground's labels)
        from nnlib import playground
        english = {viz.UI_TEXT["en"]["reset"], *(playground.LIVE_TEXT["en"][k] for k in (
            *playground._CONTROLS, *playground._BUTTONS) if k != "l2")}
        saved = zh_nb.metadata.get("widgets", {}).get(i18n._WIDGET_STATE, {}).get("state", {})
        assert not {m["state"].get("description") for m in saved.values()} & english, page


def test_a_chinese_chapter_passes_strict_nbval(tmp_path, monkeypatch):
    """A re-run of the Chinese chapter 1 (translated captions in its code) gives its stored
    outputs (translated captions in them): strict nbval, like the English chapter."""
    monkeypatch.setattr(i18n, "ZH", tmp_path)
    dst = i18n.write_page("chapters/01_introduction")
    assert i18n.translate_code_captions(dst) == 1
    (caption,) = i18n.code_strings(["chapters/01_introduction"])
    zh = nbformat.read(dst, as_version=4).cells[caption.cell]
    assert f'alt="{html.escape(i18n.code_translations()[caption.value])}"' in \
        zh.outputs[0]["data"]["text/html"]
    # compiled kernels, as `make setup` leaves them (a cold first call says so on stderr)
    subprocess.run([sys.executable, "-c", "import nnlib; nnlib.warmup()"], check=True, timeout=900,
                   capture_output=True)
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q",
                          str(dst)], cwd=dst.parent, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]


def _tree(widget):
    """A widget and all its descendants, in order."""
    out = [widget]
    for child in getattr(widget, "children", ()):
        out += _tree(child)
    return out


def test_the_live_playground_speaks_its_captions_language():
    from nnlib import playground

    settings = playground.Settings(dataset="moons", n=40, hidden=(3,), lr=0.05)
    en = playground.Playground(settings, caption=EN)
    zh = playground.Playground(settings, caption=ZH)
    default = playground.Playground(settings)
    assert (en.lang, zh.lang, default.lang) == ("en", "zh", "en")
    assert default.caption == playground.LIVE_TEXT["en"]["caption"]
    with pytest.raises(TypeError, match="caption must be a str"):
        playground.Playground(settings, caption=3)
    en.widget(), zh.widget()
    for key in (*playground._CONTROLS, *playground._BUTTONS):
        assert en._ui[key].description == playground.LIVE_TEXT["en"][key]
        assert zh._ui[key].description == playground.LIVE_TEXT["zh"][key]
        assert viz.caption_language(zh._ui[key].description) == "zh" or key in ("l2",), key
    assert zh._ui["dataset"].options == (("XOR", "xor"), ("同心圆", "circles"), ("双月", "moons"),
                                         ("双螺旋", "spirals"))
    assert (en._ui["image"].tooltip, zh._ui["image"].tooltip) == (EN, ZH)
    assert en._ui["status"].value.startswith("2-3-1 tanh network on moons, adam lr=0.05, batch 10")
    assert zh._ui["status"].value.startswith("2-3-1 tanh 网络，双月数据，adam 学习率 0.05，批量大小 10")
    zh.step(2)
    en.step(2)
    assert "迭代周期 2：训练损失" in zh._ui["status"].value
    assert "epoch 2: training loss" in en._ui["status"].value
    # the saved widget state of the English run, relabelled, is the state of the Chinese run
    state = {w.model_id: {"model_name": w._model_name, "state": w.get_state()} for w in _tree(en.widget())}
    assert playground.relabel_widget_state(state, EN, ZH) == 13 + 4 + 1 + 1 + 1
    for a, b in zip(_tree(en.widget()), _tree(zh.widget()), strict=True):
        got, want = state[a.model_id]["state"], b.get_state()
        for key in ("description", "_options_labels", "tooltip", "value"):
            if key in want and not isinstance(want[key], bytes | memoryview):
                norm = [list(v) if isinstance(v, tuple) else v for v in (got[key], want[key])]
                assert norm[0] == norm[1], (key, got[key], want[key])


def test_the_status_line_relabels_both_ways_and_leaves_other_text_alone():
    from nnlib import playground

    run = playground.Run(playground.Settings(dataset="spirals", n=40, hidden=(2,), lr=0.05))
    run.train(1)
    en, zh = playground._status(run, "en"), playground._status(run, "zh")
    stop_en, stop_zh = playground.LIVE_TEXT["en"]["stopped"], playground.LIVE_TEXT["zh"]["stopped"]
    assert playground._relabel_status(en, "en", "zh") == zh
    assert playground._relabel_status(zh, "zh", "en") == en
    assert playground._relabel_status(en + stop_en, "en", "zh") == zh + stop_zh
    assert playground._relabel_status("not a status line", "en", "zh") == "not a status line"
