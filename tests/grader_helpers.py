"""Shared helpers of the grader tests (tests/test_grader*.py)."""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from nngrade import sandbox, verify
from nngrade import sheet as sheets

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sheets.all_sources(ROOT / "exercises" / "source")
SHEETS = [p.stem for p in SOURCES]
FAST = sandbox.Limits(timeout=10, call_timeout=3)


@functools.cache
def sheet(name: str) -> sheets.Sheet:
    return sheets.load_sheet(ROOT / "exercises" / "source" / f"{name}.ipynb")


@functools.cache
def verified(name: str) -> verify.VerifyReport:
    """Grade the reference, the stub and every wrong answer of a sheet (once per session)."""
    return verify.verify_sheet(ROOT / "exercises" / "source" / f"{name}.ipynb", limits=FAST, jobs=2)


def normalize(text: str) -> str:
    return " ".join(text.split())


def html_text(raw: str) -> str:
    """The visible text of an HTML page (tags removed, entities decoded, whitespace collapsed)."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
    return normalize(html.unescape(re.sub(r"<[^>]+>", "", raw)))
