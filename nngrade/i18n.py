"""The grader's student-facing text in the learner's language, through gettext.

The English text in the code is the msgid; a language's translations live in
``locales/<lang>/LC_MESSAGES/nngrade.po`` at the repository root (edited by translators, checked
by ``tools/i18n.py check``) and are compiled by ``tools/i18n.py grader`` into
``nngrade/locale/<lang>/LC_MESSAGES/nngrade.mo``, which ships inside the package and is read here
with the standard library's :mod:`gettext` (no dependency at run time). A Chinese sheet asks for
its language explicitly: ``check = checker("01_neuron", lang="zh_CN")``.
The chapters' translated headings (for the re-read links) ship the same way, as
``nngrade/locale/<lang>/headings.json`` written by ``tools/i18n.py grader`` (see :func:`headings`).

Messages are marked with ``_("...")`` and filled with ``str.format`` and named fields, so that a
translation may put the fields in another order and ``msgfmt --check`` verifies it kept them all.
"""
from __future__ import annotations

import functools
import gettext
import json
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

DOMAIN = "nngrade"


def available() -> list[str]:
    """The languages with a compiled catalogue, besides English."""
    base = resources.files("nngrade").joinpath("locale")
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir()
                  if d.joinpath("LC_MESSAGES", f"{DOMAIN}.mo").is_file())


def translator(lang: str | None) -> Callable[[str], str]:
    """The function that translates a message into ``lang`` (``None`` or ``"en"``: English).

    Raises ValueError for a language without a compiled catalogue."""
    if lang in (None, "", "en"):
        return str
    if lang not in available():
        raise ValueError(f"no {lang!r} translation of nngrade's messages: expected "
                         f"nngrade/locale/{lang}/LC_MESSAGES/{DOMAIN}.mo (available: "
                         f"{', '.join(['en', *available()])})")
    localedir = str(resources.files("nngrade").joinpath("locale"))
    return gettext.translation(DOMAIN, localedir, languages=[lang]).gettext


#: A language code in a notebook's metadata is accepted only if it is this short and names a
#: compiled catalogue (metadata is the student's file: untrusted input).
MAX_LANG_CHARS = 16


def language_of(value: object) -> str | None:
    """The feedback language a submitted notebook's ``metadata.language`` asks for: a known code
    (``"zh_CN"``), or None (English) for anything else: another type, an unknown or overlong
    string. Never raises."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LANG_CHARS:
        return None
    try:
        return value if value in available() else None
    except OSError:
        return None


def safe_translator(lang: str | None) -> Callable[[str], str]:
    """:func:`translator`, or English when ``lang`` has no catalogue (never raises)."""
    try:
        return translator(language_of(lang))
    except (ValueError, OSError):
        return str


class Text(str):
    """A message that remembers how it was made, so it can be said again in another language.

    ``Text("wrong shape: expected {expected}, got {got}", expected=..., got=...)`` *is* the
    English string (a ``str``: joins, f-strings, the gradebook and the log see English), and
    :func:`render` says it in a language: the template goes through the catalogue, then the
    fields are filled in (a field that is a ``Text`` is rendered too). Templates are marked for
    xgettext by the name ``Text`` itself (``tools/i18n.py grader`` extracts its first argument).
    Field values are str, int, float or Text (anything else is stored as its ``str``)."""

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, /, **fields: Any) -> Text:
        kept = {k: v if isinstance(v, (str, int, float)) else str(v) for k, v in fields.items()}
        obj = super().__new__(cls, template.format(**kept))
        obj.template, obj.fields = template, kept
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (process pools) with its structure
        return (_rebuild, (self.template, self.fields))


def _rebuild(template: str, fields: dict[str, Any]) -> Text:
    return Text(template, **fields)


def render(message: str, _: Callable[[str], str]) -> str:
    """``message`` in the language of ``_``: a :class:`Text` through the catalogue (nested ones
    too), a plain string as it is. A translation that cannot be filled (it should not: msgfmt
    --check compares the fields) falls back to the English."""
    if not isinstance(message, Text) or _ is str:
        return str(message)
    fields = {k: render(v, _) if isinstance(v, Text) else v for k, v in message.fields.items()}
    try:
        return _(message.template).format(**fields)
    except (KeyError, IndexError, ValueError, AttributeError):
        return str(message)


#: Limits on a packed message read back from a log (a log is ours, but a damaged one must not
#: make the feedback writer recurse or allocate without bound).
MAX_PACK_DEPTH = 6


def pack(message: str) -> Any:
    """A message as plain JSON data: a plain string stays a string, a :class:`Text` becomes
    ``{"msgid": template, "fields": {name: packed value}}``."""
    if not isinstance(message, Text):
        return str(message)
    return {"msgid": message.template,
            "fields": {k: pack(v) if isinstance(v, str) else v for k, v in message.fields.items()}}


def unpack(data: Any, english: str | None = None, depth: int = 0) -> str:
    """The message :func:`pack` made (a :class:`Text` again); ``english``, or the data as a
    string, when it is not a valid packed message or does not rebuild to ``english``."""
    fallback = english if isinstance(english, str) else (data if isinstance(data, str) else "")
    if isinstance(data, str):
        return data if english is None or data == english else fallback
    if not (isinstance(data, dict) and isinstance(data.get("msgid"), str)
            and isinstance(data.get("fields"), dict)) or depth > MAX_PACK_DEPTH:
        return fallback
    fields: dict[str, Any] = {}
    for k, v in data["fields"].items():
        if isinstance(v, (dict, str)):
            fields[k] = unpack(v, None, depth + 1)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            fields[k] = v
        else:
            return fallback
    try:
        text = Text(data["msgid"], **fields)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return fallback
    return text if english is None or text == english else fallback


#: The folder of the translated chapter headings, ``<lang>/headings.json`` (chapter file stem ->
#: {English heading: translated heading}): written by ``tools/i18n.py grader`` from the chapters'
#: catalogues (the catalogue that also makes the ``lang`` notebook) and shipped inside the
#: package, so a re-read link is translated where only the wheel is installed (the catalogues,
#: ``locales/`` at the repository root, are not in the wheel). ``tools/i18n.py check`` fails
#: when the file is stale against the catalogues.
HEADINGS_DIR = Path(str(resources.files("nngrade").joinpath("locale")))
HEADINGS_FILE = "headings.json"


@functools.lru_cache(maxsize=8)
def _read_headings(path: Path, mtime_ns: int) -> dict[str, dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(data, dict) and all(
            isinstance(ch, str) and isinstance(t, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in t.items())
            for ch, t in data.items())):
        raise ValueError(f"{path}: expected a JSON object chapter -> {{English heading: "
                         f"translated heading}}")
    return data


def headings(lang: str) -> dict[str, dict[str, str]]:
    """The translated chapter headings of ``lang`` (chapter file stem -> {English: translated}).

    Explicit fallback: a language that ships no ``headings.json`` has no translated headings
    (``{}``): its re-read links name and open the English headings. A damaged file is reported
    with a warning and treated the same (a student's ``check`` must still answer)."""
    path = HEADINGS_DIR / lang / HEADINGS_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    try:
        return _read_headings(path, mtime)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        warnings.warn(f"nngrade: translated headings unreadable, English headings used: {e}",
                      stacklevel=2)
        return {}


def heading(chapter: str, title: str, lang: str | None) -> str:
    """The heading ``title`` of ``chapters/<chapter>`` as the ``lang`` edition shows it: its
    finished translation in the chapter's catalogue (shipped as :data:`HEADINGS_FILE`), else
    the English (which is then what the ``lang`` notebook shows too)."""
    code = language_of(lang)
    if code is None:
        return title
    return headings(code).get(chapter, {}).get(title, title)


def localized_link(chapter: str, label: str, link: dict[str, str],
                   lang: str | None) -> dict[str, str]:
    """A re-read ``link`` (``title``, ``notebook``, ``page``: see
    :func:`nngrade.generate.section_link`) for the ``lang`` edition: the translated heading,
    and the notebook anchor JupyterLab gives that heading in the ``lang`` notebook. The website
    anchor is the section's label, the same in every edition."""
    title = heading(chapter, link["title"], lang)
    if title == link["title"]:
        return dict(link)
    from .generate import jupyter_anchor  # not at the top: generate imports this module
    base = link["notebook"].split("#", 1)[0]
    return {**link, "title": title, "notebook": f"{base}#{jupyter_anchor(title)}"}


def translate_test_name(name: str, _: Callable[[str], str]) -> str:
    """A sheet's test name in the language of ``_`` (the names are messages of the catalogue,
    extracted by ``tools/i18n.py grader``); an empty name stays empty (gettext would return the
    catalogue's header for it)."""
    return _(name) if name else name
