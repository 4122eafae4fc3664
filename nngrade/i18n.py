"""The grader's student-facing text in the learner's language, through gettext.

The English text in the code is the msgid; a language's translations live in
``locales/<lang>/LC_MESSAGES/nngrade.po`` at the repository root (edited by translators, checked
by ``tools/i18n.py check``) and are compiled by ``tools/i18n.py grader`` into
``nngrade/locale/<lang>/LC_MESSAGES/nngrade.mo``, which ships inside the package and is read here
with the standard library's :mod:`gettext` (no dependency at run time). A Chinese sheet asks for
its language explicitly: ``check = checker("01_neuron", lang="zh_CN")``.

Messages are marked with ``_("...")`` and filled with ``str.format`` and named fields, so that a
translation may put the fields in another order and ``msgfmt --check`` verifies it kept them all.
"""
from __future__ import annotations

import gettext
from collections.abc import Callable
from importlib import resources

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
