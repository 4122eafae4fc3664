"""The Chinese edition from one source: catalogues in, Chinese notebooks and site out.

The English pages (index.md, chapters/*.ipynb, exercises/*.ipynb, api/*.md) are the only source of
code, outputs and structure. Their prose is cut into *messages*, one per markdown block, and each
page's messages live in one gettext catalogue, ``locales/zh_CN/LC_MESSAGES/<page>.po`` (``<page>``
is the Sphinx docname, e.g. ``chapters/01_introduction``). The same catalogues then make

* the Chinese notebooks (``zh/<page>``): each markdown cell with its blocks replaced by their
  translations, every code cell and output kept as they are (exercise sheets are re-executed, since
  ``check()`` speaks Chinese there);
* the Chinese website (``_build/html/zh``), built by Jupyter Book from ``zh/`` without executing.

Why our own segmentation and not Sphinx's gettext builder (see locales/README.md): Sphinx cannot
apply a translation to a notebook (MyST-NB parses the translated text as a notebook and fails,
executablebooks/MyST-NB#587), its msgids join a paragraph's lines with a space (which puts a stray
space into Chinese source text), and its messages (one per table cell, one per display formula)
cannot be mapped back onto a markdown cell. One markdown block per message can.

Segmentation (a *block* is what MyST's own markdown-it parser reports at the top level):

* a paragraph: its text, lines joined by one space (re-wrapping the English changes no msgid);
* a heading: its text without the ``#`` marks;
* a list item: its text without the marker (``-``, ``1.``), continuation indent removed;
* a table, a block quote, a definition list: the block's source lines as they are;
* a directive whose body is prose (admonition, dropdown, note, important, ...): its title is one
  message and its body is segmented like a page; options (``:class: tip``) stay as they are;
* never translated: display maths, code fences and code directives, ``(label)=`` targets,
  comments, rules.

Commands (run from the repository root with the course's venv):

    python tools/i18n.py update [PAGE ...]   # English changed: refresh the catalogues (msgmerge)
    python tools/i18n.py check [PAGE ...]    # CI: untranslated, fuzzy, stale, msgfmt --check, markup
    python tools/i18n.py notebooks [PAGE ...] # write zh/<page> from the catalogues
    python tools/i18n.py site                 # notebooks + Jupyter Book build into _build/html/zh
    python tools/i18n.py stats                # messages and words per page
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polib
import yaml

ROOT = Path(__file__).resolve().parent.parent
LANG = "zh_CN"
LOCALES = ROOT / "locales" / LANG / "LC_MESSAGES"
ZH = ROOT / "zh"
SITE_OUT = ROOT / "_build" / "html" / "zh"
#: Directives whose body is markdown prose; the first group's argument is a title to translate.
TITLED = {"admonition", "dropdown", "sidebar", "topic", "tab-item", "card"}
PROSE = TITLED | {"note", "tip", "warning", "important", "caution", "attention", "hint", "danger",
                  "error", "seealso", "container", "margin", "tab-set", "div", "epigraph"}
#: Header fields msgfmt --check expects in a catalogue.
HEADER = {"PO-Revision-Date": "2026-11-30 12:00+0000",
          "Last-Translator": "Inside Neural Networks authors",
          "Language-Team": "Chinese (Simplified)"}
SKIP_TOKENS = {"myst_target", "math_block", "math_block_label", "amsmath", "hr", "myst_line_comment",
               "front_matter", "html_block"}


@dataclass
class Segment:
    """One message: lines ``start:end`` of a markdown text, rebuilt as ``first + text`` (first
    line) and ``rest + text`` (other lines) when translated."""

    start: int
    end: int
    msgid: str
    first: str = ""
    rest: str = ""
    keep_lines: bool = False  # table, quote: msgid keeps its line breaks
    where: str = ""


def _parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    ext = {"dollarmath", "amsmath", "colon_fence", "deflist", "substitution"}
    return create_md_parser(MdParserConfig(enable_extensions=ext), RendererHTML)


_MD = None


def md():
    global _MD
    if _MD is None:
        _MD = _parser()
    return _MD


def _trim(lines: list[str], start: int, end: int) -> int:
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def _join(lines: list[str]) -> str:
    return " ".join(s.strip() for s in lines if s.strip())


_FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:-]+)\}\s*(.*)$")


def segments(text: str, offset: int = 0) -> Iterator[Segment]:
    """The messages of a markdown text, in order (line numbers relative to ``offset``)."""
    lines = text.split("\n")
    tokens = md().parse(text)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.level != 0 or t.map is None or t.nesting == -1:
            i += 1
            continue
        s, e = t.map
        e = _trim(lines, s, e)
        if t.type == "heading_open":
            m = re.match(r"^(\s*#+\s+)(.*)$", lines[s])
            if m:
                yield Segment(offset + s, offset + s + 1, m.group(2).strip(), m.group(1), "")
        elif t.type == "paragraph_open":
            yield Segment(offset + s, offset + e, _join(lines[s:e]))
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            j = i + 1
            while j < len(tokens) and not (tokens[j].type == t.type.replace("open", "close")
                                           and tokens[j].level == 0):
                it = tokens[j]
                if it.type == "list_item_open" and it.level == 1 and it.map:
                    yield from _item(lines, it.map[0], _trim(lines, *it.map), offset)
                j += 1
            i = j
        elif t.type in ("table_open", "blockquote_open", "dl_open"):
            yield Segment(offset + s, offset + e, "\n".join(lines[s:e]), keep_lines=True)
        elif t.type in ("fence", "colon_fence"):
            yield from _directive(lines, s, e, offset)
        i += 1


def _item(lines: list[str], s: int, e: int, offset: int) -> Iterator[Segment]:
    m = re.match(r"^(\s*(?:[-*+]|\d+[.)])\s+)(.*)$", lines[s])
    if not m:
        return
    marker = m.group(1)
    body = [m.group(2)] + [ln[len(marker):] if ln.startswith(" " * len(marker)) else ln.lstrip()
                           for ln in lines[s + 1:e]]
    if any(not b.strip() for b in body) or any(re.match(r"^\s*(?:[-*+]|\d+[.)])\s", b)
                                               for b in body[1:]):
        # an item with several blocks: segment its body like a page, re-indented
        for seg in segments("\n".join(body)):
            seg.first = (marker if seg.start == 0 else " " * len(marker)) + seg.first
            seg.rest = " " * len(marker) + seg.rest
            seg.start += offset + s
            seg.end += offset + s
            yield seg
        return
    yield Segment(offset + s, offset + e, _join(body), marker, " " * len(marker))


def _directive(lines: list[str], s: int, e: int, offset: int) -> Iterator[Segment]:
    m = _FENCE.match(lines[s])
    if not m:
        return  # a code fence
    indent, fence, name, arg = m.groups()
    if name == "glossary":  # its own line syntax (terms, indented definitions): see _glossary
        yield from _glossary(lines, s, e, offset)
        return
    if name not in PROSE:
        return
    if arg and name in TITLED:
        yield Segment(offset + s, offset + s + 1, arg.strip(), f"{indent}{fence}{{{name}}} ", "")
    body_start = s + 1
    close = e - 1 if lines[e - 1].strip() == fence else e
    if body_start < close and lines[body_start].strip() == "---":  # YAML options block
        k = body_start + 1
        while k < close and lines[k].strip() != "---":
            k += 1
        body_start = k + 1
    while body_start < close and re.match(r"^\s*:[\w-]+:", lines[body_start]):
        body_start += 1
    yield from segments("\n".join(lines[body_start:close]), offset + body_start)


# -- pages ---------------------------------------------------------------------------------------

def all_pages() -> list[str]:
    """Every page of the book, as docnames, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for en in entries:
            out.append(en["file"])
            walk(en.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return out


def source_of(page: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{page}{suffix}").exists():
            return ROOT / f"{page}{suffix}"
    raise SystemExit(f"no source for page {page!r}: expected {page}.ipynb or {page}.md")


def markdown_blocks(page: str) -> list[tuple[int | None, str]]:
    """(cell index or None for a .md page, markdown text) of a page."""
    path = source_of(page)
    if path.suffix == ".md":
        return [(None, path.read_text())]
    nb = nbformat.read(path, as_version=4)
    return [(k, c.source) for k, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def page_segments(page: str) -> list[tuple[int | None, Segment]]:
    out = []
    path = source_of(page).relative_to(ROOT)
    for cell, text in markdown_blocks(page):
        for seg in segments(text):
            seg.where = f"{path}:{'' if cell is None else f'cell{cell}:'}{seg.start + 1}"
            out.append((cell, seg))
    return out


BOOK = "_book"  # the catalogue of the book's title and the table of contents' part captions


def book_strings() -> list[tuple[str, str]]:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return ([(cfg["title"], "_config.yml:title"), (cfg["author"], "_config.yml:author")]
            + [(p["caption"], "_toc.yml:caption") for p in toc["parts"]]
            + [("Search this book...", "Jupyter Book's search box (html_theme_options)"),
               (API_NOTE, "tools/i18n.py: a note under the title of every Chinese API page")])


#: Under the title of each Chinese API page (the English edition needs no such note): the entries
#: are the docstrings of nnlib's source, which are code and stay English in both editions.
API_NOTE = ("The entries of this page are the docstrings of nnlib's source code: like the code, "
            "they are in English in both editions.")


def pot(page: str) -> polib.POFile:
    po = polib.POFile(wrapwidth=100)
    po.metadata = {"Project-Id-Version": "Inside Neural Networks", "MIME-Version": "1.0",
                   "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit"}
    seen: dict[str, polib.POEntry] = {}
    found = (book_strings() if page == BOOK
             else [(seg.msgid, seg.where) for _, seg in page_segments(page)])
    for msgid, where in found:
        if msgid in seen:
            seen[msgid].occurrences.append((where, ""))
            continue
        entry = polib.POEntry(msgid=msgid, msgstr="", occurrences=[(where, "")])
        seen[msgid] = entry
        po.append(entry)
    return po


def catalogue(page: str) -> Path:
    return LOCALES / f"{page}.po"


def update(pages: list[str]) -> None:
    """Refresh each page's catalogue from the current English: new messages added empty, changed
    ones kept as fuzzy suggestions (msgmerge), removed ones made obsolete (#~)."""
    for page in pages:
        template = pot(page)
        po_path = catalogue(page)
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if not po_path.exists():
            template.metadata.update({"Language": LANG, "Plural-Forms": "nplurals=1; plural=0;",
                                      **HEADER})
            template.save(str(po_path))
            print(f"{po_path.relative_to(ROOT)}: created, {len(template)} messages")
            continue
        pot_path = ROOT / "_build" / "gettext" / f"{page}.pot"
        pot_path.parent.mkdir(parents=True, exist_ok=True)
        template.save(str(pot_path))
        if shutil.which("msgmerge"):
            subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none", "--previous", "--width=100",
                            str(po_path), str(pot_path)], check=True)
        else:  # polib: no fuzzy matching of changed messages, but new/obsolete are right
            po = polib.pofile(str(po_path), wrapwidth=100)
            po.merge(template)
            po.save()
        print(f"{po_path.relative_to(ROOT)}: updated, {len(template)} messages")


# -- checks --------------------------------------------------------------------------------------

_MATH = re.compile(r"(?<!\\)\$(?!\$)(.+?)(?<!\\)\$")
_ROLE = re.compile(r"\{(ref|doc|term|numref|eq)\}`([^`]*)`")
_CODE = re.compile(r"`([^`]+)`")
#: Chinese characters and full-width punctuation.
_CJK = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"


def markup_problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation lost or invented: the set of its inline maths, of its cross-reference
    targets and of its inline code must be the English one's (maths to the last sign; a term may
    be repeated or moved, as Chinese word order needs)."""
    problems = []

    def found(rx: re.Pattern, text: str, key) -> set:
        if rx is _CODE:
            text = _ROLE.sub("", _MATH.sub("", text))
        return {key(m) for m in rx.finditer(text)}

    for what, rx, key in (("maths", _MATH, lambda m: m.group(1).strip()),
                          ("reference", _ROLE, lambda m: (m.group(1), _target_key(*m.groups()))),
                          ("code", _CODE, lambda m: m.group(1))):
        a, b = found(rx, msgid, key), found(rx, msgstr, key)
        if a != b:
            problems.append(f"{what} differs from the English: missing {sorted(map(str, a - b))}, "
                            f"extra {sorted(map(str, b - a))}")
    for m in _MATH.finditer(msgstr):
        before, after = msgstr[:m.start()], msgstr[m.end():]
        if re.search(_CJK + " $", before) or re.match(" " + _CJK, after):
            problems.append(f"a space between Chinese text and the inline maths {m.group(0)} "
                            f"(the glossary's style: none)")
    if "|" in msgid.split("\n")[0] and msgid.count("\n") != msgstr.count("\n"):
        problems.append("table: the translation must keep the table's rows, one line each")
    return problems


def check(pages: list[str], require_complete: bool = True) -> list[str]:
    """Every problem of the catalogues of ``pages``, as lines; empty when all is well."""
    errors = []
    for page in pages:
        po_path = catalogue(page)
        rel = po_path.relative_to(ROOT) if po_path.is_relative_to(ROOT) else po_path
        if not po_path.exists():
            if require_complete:
                errors.append(f"{rel}: missing (run: python tools/i18n.py update {page})")
            continue
        if shutil.which("msgfmt"):
            errors += msgfmt_problems(po_path, rel)
        try:
            po = polib.pofile(str(po_path))
        except (OSError, ValueError) as exc:
            errors.append(f"{rel}: cannot be read: {exc}")
            continue
        current = {e.msgid for e in pot(page)}
        errors += entry_problems(rel, po, current, f"python tools/i18n.py update {page}",
                                 require_complete)
        errors += [f"{rel}:{e.linenum}: {p}: {e.msgid[:60]!r}" for e in po
                   if not e.obsolete and e.msgid in current and e.msgstr and "fuzzy" not in e.flags
                   for p in markup_problems(e.msgid, e.msgstr)]
    return errors


def entry_problems(rel: object, po: polib.POFile, current: set[str], command: str,
                   require_complete: bool) -> list[str]:
    """The message-level problems of a catalogue against the msgids its source has now
    (``current``): stale either way (``command`` refreshes it), fuzzy, untranslated."""
    live = {e.msgid: e for e in po if not e.obsolete}
    errors = [f"{rel}: stale: a message the source has and the catalogue lacks (run: {command}): "
              f"{m[:70]!r}" for m in sorted(current - live.keys())]
    errors += [f"{rel}: stale: the catalogue has a message the source no longer has (run: "
               f"{command}): {m[:70]!r}" for m in sorted(live.keys() - current)]
    for msgid, e in live.items():
        if msgid not in current:
            continue
        if "fuzzy" in e.flags:
            errors.append(f"{rel}:{e.linenum}: fuzzy (check the translation against the changed "
                          f"English, then remove the fuzzy flag): {msgid[:70]!r}")
        elif not e.msgstr and require_complete:
            errors.append(f"{rel}:{e.linenum}: untranslated: {msgid[:70]!r}")
    return errors


# -- measuring English left on a Chinese page ---------------------------------------------------

#: Four or more Latin words in a row, after maths, code and roles are removed: English prose.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,;:]+[A-Za-z][A-Za-z'-]*){3,}")


def prose_only(text: str) -> str:
    """Text with inline maths, inline code, roles, link targets and URLs removed."""
    text = _ROLE.sub(lambda m: re.sub(r"<[^>]*>$", "", m.group(2)) if "<" in m.group(2) else "",
                     text)
    text = _MATH.sub(" ", text)
    text = _CODE.sub(" ", text)
    return re.sub(r"\]\([^)]*\)|https?://\S+", " ", text)


def english_left(text: str) -> list[str]:
    """The English prose runs left in a markdown text, outside code, maths and directive options:
    what a Chinese page must not contain once its catalogue is complete."""
    found = []
    for seg in segments(text):
        found += ENGLISH_RUN.findall(prose_only(seg.msgid))
    return found


# -- the grader's messages ----------------------------------------------------------------------

GRADER_PO = LOCALES / "nngrade.po"
GRADER_MO = ROOT / "nngrade" / "locale" / LANG / "LC_MESSAGES" / "nngrade.mo"
#: The chapters' translated headings, shipped in the package for the re-read links (the chapter
#: catalogues are not in the wheel): read by nngrade.i18n.headings.
GRADER_HEADINGS = ROOT / "nngrade" / "locale" / LANG / "headings.json"


def grader_pot() -> polib.POFile:
    """The grader's messages: every ``_("...")`` and ``Text("...")`` in nngrade/*.py, extracted
    by xgettext (which flags ``{name}`` fields as python-brace-format, so msgfmt --check
    compares them), then the sheets' test names (:func:`grader_test_names`)."""
    if not shutil.which("xgettext"):
        raise SystemExit("xgettext not found: install GNU gettext (Debian: apt-get install gettext)")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "nngrade").glob("*.py"))
    r = subprocess.run(["xgettext", "--language=Python", "--keyword=_", "--keyword=Text",
                        "--from-code=UTF-8", "--add-location=file",  # a header: UTF-8 out
                        "--sort-by-file", "-o", "-", *files], cwd=ROOT, capture_output=True,
                       text=True, check=True)
    po = polib.pofile(r.stdout, wrapwidth=100)
    po.metadata = {}
    known = {(e.msgctxt, e.msgid): e for e in po}
    for name, where in grader_test_names().items():
        entry = known.get((None, name))
        if entry is None:
            entry = known[None, name] = polib.POEntry(msgid=name, msgstr="")
            po.append(entry)
        entry.comment = "\n".join(filter(None, [entry.comment, *where]))
        entry.flags = [f for f in entry.flags if f != "python-brace-format"] + (
            ["no-python-brace-format"] if "{" in name else [])
    return po


def grader_mo_bytes(po: polib.POFile) -> bytes:
    tmp = ROOT / "_build" / "gettext" / "nngrade.mo"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    po.save_as_mofile(str(tmp))
    return tmp.read_bytes()


def grader_headings() -> dict[str, dict[str, str]]:
    """chapter file stem -> {English heading: its finished translation}, every heading of every
    page under chapters/ (a re-read link may name any of them; untranslated ones are left out:
    the link then stays English, as the generated notebook does)."""
    out: dict[str, dict[str, str]] = {}
    for page in all_pages():
        if not page.startswith("chapters/"):
            continue
        table = translations(page)
        out[page.split("/", 1)[1]] = {seg.msgid: table[seg.msgid] for _, seg in page_segments(page)
                                      if re.fullmatch(r"\s*#{1,6}\s+", seg.first)
                                      and seg.msgid in table}
    return out


def grader_headings_text() -> str:
    """:func:`grader_headings` as the JSON file's text (sorted, so a check compares it)."""
    return json.dumps(grader_headings(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def update_grader() -> None:
    """Refresh locales/zh_CN/LC_MESSAGES/nngrade.po from the code and compile the .mo that
    nngrade reads (only finished translations go into it)."""
    template = grader_pot()
    pot_path = ROOT / "_build" / "gettext" / "nngrade.pot"
    pot_path.parent.mkdir(parents=True, exist_ok=True)
    template.save(str(pot_path))
    if not GRADER_PO.exists():
        template.metadata = {"Project-Id-Version": "nngrade", "Language": LANG,
                             "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                             "Content-Transfer-Encoding": "8bit",
                             "Plural-Forms": "nplurals=1; plural=0;", **HEADER}
        template.save(str(GRADER_PO))
    else:
        subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none", "--previous", "--width=100",
                        str(GRADER_PO), str(pot_path)], check=True)
    GRADER_MO.parent.mkdir(parents=True, exist_ok=True)
    GRADER_MO.write_bytes(grader_mo_bytes(polib.pofile(str(GRADER_PO))))
    GRADER_HEADINGS.write_text(grader_headings_text(), encoding="utf-8")
    print(f"{GRADER_PO.relative_to(ROOT)} updated; {GRADER_MO.relative_to(ROOT)} compiled; "
          f"{GRADER_HEADINGS.relative_to(ROOT)} written")


def msgfmt_problems(path: Path, rel: object) -> list[str]:
    """``msgfmt --check`` of one catalogue (formats, headers, plural forms): its complaint, if any."""
    r = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)],
                       capture_output=True, text=True)
    return [f"{rel}: msgfmt --check failed: {r.stderr.strip()}"] if r.returncode else []


def derived_catalogue_problems(path: Path, template: polib.POFile, command: str,
                               require_complete: bool) -> tuple[polib.POFile | None, list[str]]:
    """The problems every catalogue derived from a template has (nngrade.po, code-strings.po):
    missing, ``msgfmt --check``, stale either way (``command`` refreshes it), fuzzy, untranslated.
    Returns the catalogue (None when missing) and the problems, one line each."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if not path.exists():
        return None, [f"{rel}: missing (run: {command})"]
    po = polib.pofile(str(path))
    errors = msgfmt_problems(path, rel) + entry_problems(rel, po, {e.msgid for e in template},
                                                         command, require_complete)
    return po, errors


def check_grader(require_complete: bool) -> list[str]:
    rel = GRADER_PO.relative_to(ROOT)
    po, errors = derived_catalogue_problems(GRADER_PO, grader_pot(), "python tools/i18n.py grader",
                                            require_complete)
    if po is None:
        return errors
    if not GRADER_MO.exists() or GRADER_MO.read_bytes() != grader_mo_bytes(po):
        errors.append(f"{GRADER_MO.relative_to(ROOT)}: not compiled from the current "
                      f"{rel} (run: python tools/i18n.py grader)")
    return errors + grader_headings_problems()


def grader_headings_problems() -> list[str]:
    """The shipped headings.json is missing or differs from the chapters' catalogues."""
    path = GRADER_HEADINGS
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if not path.exists():
        return [f"{rel}: missing (run: python tools/i18n.py grader)"]
    if path.read_text(encoding="utf-8") != grader_headings_text():
        return [f"{rel}: stale against the chapters' catalogues (run: python tools/i18n.py grader)"]
    return []


# -- Chinese notebooks ---------------------------------------------------------------------------

def translations(page: str) -> dict[str, str]:
    """msgid -> msgstr of a page's finished translations (fuzzy and empty ones left out: the
    English shows instead, and ``check`` fails)."""
    path = catalogue(page)
    if not path.exists():
        return {}
    return {e.msgid: e.msgstr for e in polib.pofile(str(path))
            if e.msgstr and not e.obsolete and "fuzzy" not in e.flags}


def translate_text(text: str, table: dict[str, str]) -> str:
    lines = text.split("\n")
    for seg in sorted(segments(text), key=lambda s: s.start, reverse=True):
        new = table.get(seg.msgid)
        if new is None:
            continue
        out = new.split("\n")
        lines[seg.start:seg.end] = ([seg.first + out[0]] + [seg.rest + ln if ln else ln
                                                            for ln in out[1:]])
    return "\n".join(lines)


_CHECKER = re.compile(r"checker\((['\"][\w-]+['\"])\)")


def write_page(page: str) -> Path:
    """Write zh/<page> from the English page and its catalogue; return its path."""
    src = source_of(page)
    dst = ZH / src.relative_to(ROOT)
    dst.parent.mkdir(parents=True, exist_ok=True)
    table = translations(page)
    if src.suffix == ".md":
        text = translate_text(src.read_text(), table)
        note = translations(BOOK).get(API_NOTE)
        if page.startswith("api/") and page != "api/index" and note:
            title, sep, rest = text.partition("\n")   # the page's title is its first line
            text = f"{title}{sep}\n{note}\n{rest}"
        dst.write_text(text)
        return dst
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_text(cell.source, table)
        elif cell.cell_type == "code" and _CHECKER.search(cell.source):
            cell.source = _CHECKER.sub(rf'checker(\1, lang="{LANG}")', cell.source)
    nb.metadata["language"] = LANG  # nbformat allows extra metadata; read by nothing else
    nbformat.write(nb, dst)
    return dst


def execute(path: Path) -> None:
    """Run a generated notebook in place (exercise sheets: their check() output is Chinese), in
    its own folder, as ``jupyter nbconvert --execute --inplace`` does; nbclient in this process
    (about 1 s a sheet instead of 5: no second Python starting nbconvert)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)


def notebooks(pages: list[str], run_sheets: bool = True) -> None:
    for page in pages:
        if page == BOOK:
            continue
        dst = write_page(page)
        translate_code_captions(dst)  # captions set in code: code-strings.po
        if run_sheets and page.startswith("exercises/"):
            execute(dst)
    # the Chinese book's configuration: the English one with Chinese settings and titles
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    book = translations("_book")
    cfg["title"] = book.get(cfg["title"], cfg["title"])
    cfg["author"] = book.get(cfg["author"], cfg["author"])  # the footer's 作者：...
    cfg["execute"]["execute_notebooks"] = "off"  # stored outputs: never executed a second time
    cfg["only_build_toc_files"] = True
    sph = cfg["sphinx"]
    sph["local_extensions"] = {"nnsite": "../tools/"}
    conf = sph["config"]
    # the vendored JavaScript, and the course's wheel (nnsite's download menu and the install note's
    # ../downloads/ link look for it under the source folder's _build/site-extra: copied below)
    conf["html_extra_path"] = ["../.vendor/site", "_build/site-extra"]
    conf["language"] = LANG  # Sphinx's and the theme's own strings in Chinese
    sph["recursive_update"] = True  # so that one theme option can be set without the others
    conf["html_theme_options"] = {"search_bar_text": book.get("Search this book...",
                                                               "Search this book...")}
    conf["html_search_language"] = "zh"
    # myst-nb's toggle of a folded cell (tags hide-input/-output/-cell) says what it does
    conf["nb_code_prompt_show"] = "显示代码单元内容"
    conf["nb_code_prompt_hide"] = "隐藏代码单元内容"
    conf["html_search_options"] = {"dict": str(ROOT / "locales" / LANG / "jieba-dict.txt")}
    (ZH / "_config.yml").write_text("# Generated by tools/i18n.py from ../_config.yml\n"
                                    + yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for part in toc["parts"]:
        part["caption"] = book.get(part["caption"], part["caption"])
    (ZH / "_toc.yml").write_text("# Generated by tools/i18n.py from ../_toc.yml\n"
                                 + yaml.safe_dump(toc, allow_unicode=True, sort_keys=False))
    for extra in ("chapters/data", "_static", "_build/site-extra"):
        if (ROOT / extra).exists():
            shutil.copytree(ROOT / extra, ZH / extra, dirs_exist_ok=True)
    (ZH / "_build" / "site-extra").mkdir(parents=True, exist_ok=True)  # before the first wheel


#: The Chinese build's warnings (Sphinx's "WARNING:"/"ERROR:" lines), one per line; empty when the
#: build is clean. tests/test_site_zh.py fails on any (a broken reference, an unknown {term}).
ZH_WARNINGS = ROOT / "_build" / "zh-warnings.txt"


def site() -> float:
    """Build the Chinese site into _build/html/zh from zh/ (no notebook executed); seconds.

    Not ``-W``: a page whose catalogue an author is still updating must not stop ``make book``.
    The warnings are printed, kept in ZH_WARNINGS, and fail ``make test`` there."""
    t0 = time.perf_counter()
    out = ROOT / "_build" / "zh"
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ZH), "--path-output",
           str(out), "-n", "--keep-going", "--all"]
    warnings = []
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if re.search(r"\b(WARNING|ERROR|CRITICAL):", plain):
                warnings.append(plain)
    ZH_WARNINGS.parent.mkdir(parents=True, exist_ok=True)
    ZH_WARNINGS.write_text("".join(w + "\n" for w in warnings))
    if proc.returncode:
        raise SystemExit(f"the Chinese build failed ({' '.join(cmd)})")
    if SITE_OUT.exists():
        shutil.rmtree(SITE_OUT)
    shutil.copytree(out / "_build" / "html", SITE_OUT)
    if warnings:
        print(f"The Chinese build gave {len(warnings)} warning(s) (in "
              f"{ZH_WARNINGS.relative_to(ROOT)}; make test fails on them):")
        print("\n".join(warnings[:20]))
    return time.perf_counter() - t0


def stats(pages: list[str]) -> list[tuple[str, int, int, int]]:
    """(page, messages, English words, translated messages) per page."""
    rows = []
    for page in pages:
        po = pot(page)
        words = sum(len(re.findall(r"[A-Za-z][A-Za-z'-]*", prose_only(e.msgid))) for e in po)
        rows.append((page, len(po), words, len(translations(page))))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["update", "check", "notebooks", "site", "stats",
                                            "grader"])
    ap.add_argument("pages", nargs="*", help="docnames (default: every page with a catalogue, "
                                             "or every page for update/stats)")
    ap.add_argument("--all-pages", action="store_true",
                    help="check: require a complete catalogue for every page of the book")
    a = ap.parse_args(argv)
    every = [BOOK, *all_pages()]
    translated = [p for p in every if catalogue(p).exists()]
    pages = a.pages or (every if a.command in ("update", "stats", "notebooks", "site")
                        or a.all_pages else translated)
    if a.command == "update":
        update(pages)
        update_code_strings()
    elif a.command == "grader":
        update_grader()
    elif a.command == "check":
        errors = check(pages) + check_grader(require_complete=True) + check_code_strings()
        for line in errors:
            print(line)
        print(f"{len(pages) + 1} catalogue(s) checked: {len(errors)} problem(s)")
        return 1 if errors else 0
    elif a.command == "notebooks":
        t0 = time.perf_counter()
        notebooks(pages)
        sheets = sum(p.startswith("exercises/") for p in pages)
        print(f"{sum(p != BOOK for p in pages)} Chinese page(s) written into {ZH.relative_to(ROOT)}/ "
              f"({sheets} sheet(s) run) in {time.perf_counter() - t0:.0f} s")
    elif a.command == "site":
        t0 = time.perf_counter()
        notebooks(pages)
        t1 = time.perf_counter()
        build = site()
        print(f"Chinese edition built in {t1 - t0 + build:.0f} s (notebooks into zh/: {t1 - t0:.0f} "
              f"s, the 10 sheets run; Jupyter Book, nothing executed: {build:.0f} s): "
              f"{SITE_OUT.relative_to(ROOT)}/index.html")
        left = check(pages)
        if left:
            print(f"Not yet translated or not current: {len(left)} message(s) "
                  f"(python tools/i18n.py check --all-pages lists them; make test fails on them)")
    elif a.command == "stats":
        total = [0, 0, 0]
        for page, n, words, done in stats([p for p in pages if p != BOOK]):
            print(f"{page:40s} {n:5d} messages {words:6d} words {done:5d} translated")
            total = [total[0] + n, total[1] + words, total[2] + done]
        print(f"{'total':40s} {total[0]:5d} messages {total[1]:6d} words {total[2]:5d} translated")
    return 0



# -- captions set in code (one catalogue: code-strings.po) ---------------------------------------
#
# Code stays English (issue 18), but a caption set in code is prose a reader meets: the text
# alternative of an exploration (``viz.explore(..., caption="...")``, the image's ``alt`` on the
# website and its tooltip in Jupyter) or of an animation (``viz.animate(..., caption="...")``). The
# literal of every ``caption=`` keyword in a code cell of a notebook page is one message of
# ``code-strings.po`` (its pages in reference comments). The Chinese notebook gets the translated
# literal in its code AND in that cell's stored outputs and saved widget state, written exactly as
# the code writes them (nnlib.viz.relabel, relabel_widget_state): its outputs equal a re-run of its
# own code, so strict nbval holds for it as for the English one, with no second execution.

CODE_PO = LOCALES / "code-strings.po"
#: Keyword arguments whose string literal is prose shown to the reader.
CODE_KEYWORDS = ("caption",)
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@dataclass
class CodeString:
    """One ``keyword="literal"`` of a code cell: the literal's value and where it is written
    (1-based lines and 0-based columns, in characters, of the cell's source)."""

    page: str
    cell: int
    keyword: str
    value: str
    line: int
    col: int
    end_line: int
    end_col: int

    @property
    def where(self) -> str:
        return f"{source_of(self.page).relative_to(ROOT)}:cell{self.cell}"


def _parsable(source: str) -> str:
    """A code cell's source with IPython's magics and shell lines turned into comments (same lines
    and columns), so that Python's ast can read it."""
    return "\n".join("#" + ln[1:] if ln.lstrip().startswith(("%", "!")) else ln
                     for ln in source.split("\n"))


def cell_code_strings(source: str, page: str = "", cell: int = 0) -> list[CodeString]:
    """The ``caption="..."`` literals (:data:`CODE_KEYWORDS`) of one code cell, in source order.
    A caption that is not one string literal (an f-string, a variable) cannot be translated from a
    catalogue: a ``ValueError`` says where it is and what is expected."""
    import ast

    try:
        tree = ast.parse(_parsable(source))
    except SyntaxError:
        return []
    lines = source.split("\n")

    def column(line: int, byte: int) -> int:  # ast counts columns in UTF-8 bytes
        return len(lines[line - 1].encode()[:byte].decode())

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg not in CODE_KEYWORDS:
                continue
            v = kw.value
            if not (isinstance(v, ast.Constant) and isinstance(v.value, str)):
                raise ValueError(f"{page} cell {cell}: {kw.arg}= must be one string literal (so that "
                                 f"it can be translated), got {ast.unparse(v)!r}")
            end = v.end_lineno or v.lineno
            found.append(CodeString(page, cell, kw.arg, v.value, v.lineno, column(v.lineno, v.col_offset),
                                    end, column(end, v.end_col_offset or 0)))
    return sorted(found, key=lambda c: (c.line, c.col))


def code_strings(pages: list[str] | None = None) -> list[CodeString]:
    """Every caption set in code in the notebook pages (default: every page of the book)."""
    out = []
    for page in pages if pages is not None else all_pages():
        path = source_of(page)
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.read(path, as_version=4)
        for k, c in enumerate(nb.cells):
            if c.cell_type == "code":
                out += cell_code_strings(c.source, page, k)
    return out


def code_pot() -> polib.POFile:
    """The template of code-strings.po: one message per distinct caption, its cells as references."""
    po = polib.POFile(wrapwidth=100)
    po.metadata = {"Project-Id-Version": "Inside Neural Networks (captions set in code)",
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit"}
    seen: dict[str, polib.POEntry] = {}
    for cs in code_strings():
        if cs.value in seen:
            seen[cs.value].occurrences.append((cs.where, ""))
            continue
        seen[cs.value] = polib.POEntry(
            msgid=cs.value, msgstr="", occurrences=[(cs.where, "")],
            comment=f"{cs.keyword}= in code: the figure's text alternative (alt text, tooltip); "
                    "one line, Chinese")
        po.append(seen[cs.value])
    return po


def update_code_strings() -> None:
    """Refresh code-strings.po from the captions in the notebooks' code (msgmerge, like a page)."""
    template = code_pot()
    if not CODE_PO.exists():
        template.metadata.update({"Language": LANG, "Plural-Forms": "nplurals=1; plural=0;", **HEADER})
        template.save(str(CODE_PO))
        print(f"{CODE_PO.relative_to(ROOT)}: created, {len(template)} messages")
        return
    pot_path = ROOT / "_build" / "gettext" / "code-strings.pot"
    pot_path.parent.mkdir(parents=True, exist_ok=True)
    template.save(str(pot_path))
    subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none", "--previous", "--width=100",
                    str(CODE_PO), str(pot_path)], check=True)
    print(f"{CODE_PO.relative_to(ROOT)}: updated, {len(template)} messages")


def check_code_strings(require_complete: bool = True) -> list[str]:
    """The problems of code-strings.po: missing, msgfmt --check, stale either way, fuzzy,
    untranslated, and a translation that is not one line of Chinese (viz chooses the words it puts
    around a caption by the caption's language, nnlib.viz.caption_language)."""
    from nnlib.viz import caption_language

    rel = CODE_PO.relative_to(ROOT) if CODE_PO.is_relative_to(ROOT) else CODE_PO
    template = code_pot()
    po, errors = derived_catalogue_problems(CODE_PO, template, "python tools/i18n.py update",
                                            require_complete)
    if po is None:
        return errors
    current = {e.msgid for e in template}
    for e in po:
        if e.obsolete or e.msgid not in current or "fuzzy" in e.flags or not e.msgstr:
            continue
        if "\n" in e.msgstr or caption_language(e.msgstr) != "zh":
            errors.append(f"{rel}:{e.linenum}: the translation must be one line of Chinese: "
                          f"{e.msgstr[:70]!r}")
    return errors


def code_translations() -> dict[str, str]:
    """English caption -> Chinese, the finished translations of code-strings.po."""
    if not CODE_PO.exists():
        return {}
    return {e.msgid: e.msgstr for e in polib.pofile(str(CODE_PO))
            if e.msgstr and not e.obsolete and "fuzzy" not in e.flags}


def python_literal(text: str, col: int, width: int = 44) -> str:
    """``text`` as a Python string literal that starts at column ``col``: one ``"..."``, or for a
    long text adjacent literals of at most ``width`` characters on lines indented to ``col``
    (inside a call's parentheses Python joins them)."""
    import ast
    import json

    chunks = [text[i:i + width] for i in range(0, len(text), width)] or [""]
    out = ("\n" + " " * col).join(json.dumps(c, ensure_ascii=False) for c in chunks)
    assert ast.literal_eval(f"({out})") == text, text
    return out


def translate_code_cell(source: str, table: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """A code cell's source with every caption literal that ``table`` translates replaced by its
    translation, and the (English, Chinese) pairs replaced."""
    lines = source.split("\n")
    pairs = []
    for cs in reversed(cell_code_strings(source)):
        new = table.get(cs.value)
        if new is None:
            continue
        head, tail = lines[cs.line - 1][:cs.col], lines[cs.end_line - 1][cs.end_col:]
        lines[cs.line - 1:cs.end_line] = (head + python_literal(new, cs.col) + tail).split("\n")
        pairs.append((cs.value, new))
    return "\n".join(lines), pairs[::-1]


def translate_code_captions(path: Path, table: dict[str, str] | None = None) -> int:
    """Put the Chinese captions into a generated notebook: in its code cells, in those cells'
    stored outputs (nnlib.viz.relabel) and in its saved widget state (explorations:
    nnlib.viz.relabel_widget_state; the live playground, whose widget speaks its caption's
    language: nnlib.playground.relabel_widget_state). Returns the number of captions replaced."""
    from nnlib import playground
    from nnlib.viz import relabel, relabel_widget_state

    if path.suffix != ".ipynb":  # a markdown page (the cover, the API pages): no code cells
        return 0
    table = code_translations() if table is None else table
    nb = nbformat.read(path, as_version=4)
    state = nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source, pairs = translate_code_cell(cell.source, table)
        for old, new in pairs:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if isinstance(data.get("text/html"), str):
                    data["text/html"] = relabel(data["text/html"], old, new)
            relabel_widget_state(state, old, new)
            playground.relabel_widget_state(state, old, new)
        count += len(pairs)
    if count:
        nbformat.write(nb, path)
    return count


# -- the grader's messages: the sheets' test names (added at the end: other functions above are
#    edited by others)

def grader_test_names() -> dict[str, list[str]]:
    """Every test name of every sheet (public ones, shown by ``check()``, and hidden ones, named
    in the instructor's feedback files) -> where it is used, for the translator's comment.
    Read from the source sheets and from the public data ``check()`` reads
    (``nngrade/public/*.json``), so a name in either is a message."""
    import json

    if str(ROOT) not in sys.path:  # this checkout's nngrade and sheets, not an installed copy's
        sys.path.insert(0, str(ROOT))
    from nngrade.sheet import PUBLIC_DIR, all_sources, load_sheet
    names: dict[str, list[str]] = {}

    def add(name: str, where: str) -> None:
        if where not in names.setdefault(name, []):
            names[name].append(where)

    for path in all_sources():
        sheet = load_sheet(path)
        for q in sheet.questions.values():
            for t in q.tests:
                add(t.name, f"test name: {sheet.name} {q.id} {q.function}() "
                            f"({'public' if t.public else 'hidden'})")
    for path in sorted(PUBLIC_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        for qid, q in data["questions"].items():
            for t in q["public"]:
                add(t["name"], f"test name: {data['sheet']} {qid} {q['function']}() (public)")
    return names


# -- the glossary page (glossary.md) --------------------------------------------------------------

def _glossary(lines: list[str], s: int, e: int, offset: int) -> Iterator[Segment]:
    """The messages of a ``{glossary}`` directive: each term line is one message, each definition
    (its indented lines up to a blank line) another, re-indented when translated. Sphinx reads the
    body line by line (a term starts in column 0, its definition is indented), which markdown-it
    cannot see, so the directive is segmented here rather than like a page."""
    m = _FENCE.match(lines[s])
    fence = m.group(2) if m else ":::"
    close = e - 1 if lines[e - 1].strip() == fence else e
    k = s + 1
    while k < close:
        line = lines[k]
        if not line.strip() or re.match(r"^:[\w-]+:", line):  # blank line, option (:sorted:)
            k += 1
        elif not line[0].isspace():
            yield Segment(offset + k, offset + k + 1, line.strip())
            k += 1
        else:
            indent = line[:len(line) - len(line.lstrip())]
            j = k
            while j < close and lines[j].strip() and lines[j][0].isspace():
                j += 1
            yield Segment(offset + k, offset + j, _join(lines[k:j]), indent, indent)
            k = j


def _target_key(role: str, text: str) -> str:
    """What a cross-reference must keep in translation: its target. A ``{term}`` target is the
    glossary term, which the Chinese glossary writes as ``反向传播（backpropagation）``: the key is
    the English in its closing full-width parentheses, so the reference must name the same
    English term (glossary.md)."""
    target = re.sub(r"^.*<(.*)>$", r"\1", text, flags=re.S)
    if role == "term":
        m = re.search(r"（([^（）]*)）$", target)
        return (m.group(1) if m else target).lower()
    return target


if __name__ == "__main__":
    sys.exit(main())
