"""Reading submissions: every byte here is untrusted input.

* :func:`list_folder`: every entry of a submissions folder is either a notebook to grade under a
  unique student id, or listed as not graded with the reason (sub-folders are searched; dot
  files, symlinks, FIFOs, devices and other files are listed, never followed or opened).
* :func:`read_submission`: a bounded parse (size and the number of JSON containers checked
  before ``json.loads``, whose C parser stops deep nesting with a RecursionError; no schema
  validation; outputs never looked at) keeping only cell types, sources and the
  ``nngrade`` cell metadata, each type-checked.
* :func:`answer_cells`: the graded cells, with IPython syntax (magics, ``!`` commands, ``?``
  help) translated by IPython's own transformer, as Jupyter would run it.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .i18n import Text, language_of
from .sheet import Sheet

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_JSON_CONTAINERS = 1_000_000   # '{' + '[' bytes: bounds the objects json.loads may build
MAX_CODE_CHARS = 200_000          # all graded cells together
MAX_PARSED_CELL_CHARS = 100_000   # a cell larger than this is never parsed (ast) by the grader
MAX_FOLDER_ENTRIES = 100_000
MAX_FOLDER_DEPTH = 4
_NNLIB = re.compile(r"\bnnlib\b")


@dataclass
class Cell:
    type: str
    source: str
    role: str | None = None
    question: str | None = None


@dataclass
class Notebook:
    cells: list[Cell]
    sheet: str | None
    lang: str | None = None   # metadata.language if it is a known code (i18n.language_of)


@dataclass
class Entry:
    """One thing found in a submissions folder: a notebook to grade (``student`` set) or not
    (``reason`` set). ``name`` is its path relative to the folder."""

    path: Path
    name: str
    student: str | None = None
    reason: str | None = None
    key: str = ""       # the exact relative name (not UTF-8: surrogate escapes), for the id


class SubmissionError(ValueError):
    """A submitted file cannot be graded; the message is the plain reason shown to the student."""


# --- the folder ----------------------------------------------------------------------------------

def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:80].strip(".") or "unnamed"


def student_ids(names: list[str]) -> dict[str, str]:
    """A unique, file-name-safe id for each relative notebook path: its name without ``.ipynb``
    (``/`` becomes ``-``) when that is already safe and unique ignoring case; otherwise the safe
    form plus a short hash of the exact name (``Ana Lopez.ipynb`` -> ``Ana_Lopez-1f3a9c``), so
    two files never share an id, a feedback file or a gradebook row."""
    plain = {n: re.sub(r"\.ipynb$", "", n, flags=re.I).replace("/", "-") for n in names}
    safe = {n: _safe(p) for n, p in plain.items()}
    count: dict[str, int] = {}
    for s in safe.values():
        count[s.lower()] = count.get(s.lower(), 0) + 1
    ids = {}
    for n in names:
        s = safe[n]
        if s != plain[n] or count[s.lower()] > 1:
            s = f"{s}-{hashlib.sha256(n.encode('utf-8', 'surrogateescape')).hexdigest()[:6]}"
        ids[n] = s
    seen: set[str] = set()
    for n in sorted(names):  # hash prefixes could collide in theory: never reuse an id
        s, k = ids[n], 1
        while s.lower() in seen:
            k += 1
            s = f"{ids[n]}-{k}"
        ids[n] = s
        seen.add(s.lower())
    return ids


def list_folder(folder: Path) -> list[Entry]:
    """Every entry of ``folder`` (and its sub-folders), sorted by name: notebooks get a student
    id, everything else a reason why it is not graded. Never follows symlinks, never opens
    anything but directories."""
    entries: list[Entry] = []

    def walk(directory: Path, prefix: str, raw: str, depth: int) -> None:
        try:
            with os.scandir(directory) as it:
                found = []
                for e in it:
                    found.append(e)
                    if len(entries) + len(found) > MAX_FOLDER_ENTRIES:
                        break
        except OSError as exc:
            entries.append(Entry(directory, prefix or ".", reason=f"folder cannot be read ({exc.strerror})"))
            return
        for e in sorted(found, key=lambda e: e.name):
            # a name that is not UTF-8 is shown with its bad bytes replaced
            name = prefix + e.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            key = raw + e.name
            path = Path(e.path)
            try:
                mode = e.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                entries.append(Entry(path, name, reason=f"cannot be read ({exc.strerror})"))
                continue
            if e.name.startswith("."):
                what = "folder" if stat.S_ISDIR(mode) else "file"
                entries.append(Entry(path, name, reason=f"hidden {what} (its name starts with a dot)"))
            elif stat.S_ISLNK(mode):
                entries.append(Entry(path, name, reason="a symbolic link (submit the file itself)"))
            elif stat.S_ISDIR(mode):
                if depth >= MAX_FOLDER_DEPTH:
                    entries.append(Entry(path, name, reason="folder nested too deeply"))
                else:
                    walk(path, name + "/", key + "/", depth + 1)
            elif not stat.S_ISREG(mode):
                entries.append(Entry(path, name, reason="not a regular file (a FIFO, socket or device)"))
            elif not e.name.lower().endswith(".ipynb"):
                entries.append(Entry(path, name, reason="not a Jupyter notebook (.ipynb)"))
            else:
                entries.append(Entry(path, name, key=key))
        if len(entries) >= MAX_FOLDER_ENTRIES:
            entries.append(Entry(directory, prefix or ".", reason=f"more than {MAX_FOLDER_ENTRIES} "
                                 f"entries: the rest of this folder was not looked at"))

    walk(Path(folder), "", "", 0)
    ids = student_ids([e.key for e in entries if e.reason is None])
    for e in entries:
        if e.reason is None:
            e.student = ids[e.key]
    return entries


# --- one notebook --------------------------------------------------------------------------------

def read_bytes(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The content of a submitted file: a regular file (no symlink, FIFO or device; never
    blocks) of at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise SubmissionError(f"the file cannot be opened ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError("not a regular file")
        if info.st_size == 0:
            raise SubmissionError("empty file")
        if info.st_size > limit:
            raise SubmissionError(f"notebook larger than {limit >> 20} MB: clear its outputs "
                                  f"(Edit > Clear Outputs of All Cells), save and submit again")
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise SubmissionError(f"notebook larger than {limit >> 20} MB")
    if not raw:
        raise SubmissionError("empty file")
    return raw


def _text(source: Any) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


def read_submission(path: Path) -> Notebook:
    """Parse a submitted file as a notebook; raise SubmissionError with a plain reason otherwise."""
    path = Path(path)
    if path.suffix.lower() != ".ipynb":
        raise SubmissionError(f"not a Jupyter notebook ({path.name}): submit the .ipynb file")
    raw = read_bytes(path)
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_CONTAINERS:
        raise SubmissionError("not a valid notebook: too many JSON objects (huge outputs?): clear "
                              "the outputs, save and submit again")
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise SubmissionError(f"not a valid notebook: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:160]}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("not a valid notebook: no list of cells")
    meta = data.get("metadata")
    nn = meta.get("nngrade") if isinstance(meta, dict) else None
    sheet = nn.get("sheet") if isinstance(nn, dict) else None
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source", ""))
        ctype = cell.get("cell_type")
        if source is None or not isinstance(ctype, str):
            continue
        cmeta = cell.get("metadata")
        nn = cmeta.get("nngrade") if isinstance(cmeta, dict) else None
        role = nn.get("role") if isinstance(nn, dict) else None
        question = nn.get("question") if isinstance(nn, dict) else None
        cells.append(Cell(ctype, source, role if isinstance(role, str) else None,
                          question if isinstance(question, str) else None))
    return Notebook(cells, sheet if isinstance(sheet, str) else None,
                    language_of(meta.get("language") if isinstance(meta, dict) else None))


def defined_functions(code: str, candidates: set[str]) -> set[str]:
    """Which of ``candidates`` a cell defines at top level. Only cells that mention ``def name``
    and are at most MAX_PARSED_CELL_CHARS long are parsed: a huge or deeply nested scratch cell
    is never given to the parser."""
    if len(code) > MAX_PARSED_CELL_CHARS or "def" not in code:
        return set()
    mentioned = {n for n in candidates if re.search(rf"\bdef\s+{re.escape(n)}\b", code)}
    if not mentioned:
        return set()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in mentioned}


def to_python(code: str) -> tuple[str, bool]:
    """Translate IPython syntax (``%magic``, ``%%cell magic``, ``!cmd``, ``name?``) into Python
    calls of ``get_ipython()`` exactly as Jupyter does (IPython's own transformer: a ``%`` that
    continues an expression is left alone); the body of a ``%%capture`` or ``%%time`` cell is
    the cell. Returns the code and whether anything changed."""
    from IPython.core.inputtransformer2 import TransformerManager
    head, _, body = code.lstrip("\n").partition("\n")
    if re.fullmatch(r"%%(capture|time)\b.*", head.strip()):  # Jupyter runs the body as a cell
        return "\n" + to_python(body)[0], True   # the same line numbers
    try:
        out = TransformerManager().transform_cell(code)
    except Exception:  # leave it: the sandbox reports the syntax error
        return code, False
    changed = "get_ipython()" in out and "get_ipython()" not in code
    return (out if changed else code), changed


def answer_cells(nb: Notebook, sheet: Sheet) -> tuple[list[tuple[str, str]], list[str]]:
    """The graded cells of a submission as (question, Python code), in notebook order, and notes.

    A cell is graded if its metadata marks it as a sheet's answer cell; if a question has no such
    cell, a code cell defining that question's function at top level is used instead.
    """
    functions = {q.function: q.id for q in sheet.questions.values()}
    found: list[tuple[str, str, bool]] = []
    for cell in nb.cells:
        if cell.type != "code":
            continue
        if cell.role == "answer" and cell.question in sheet.questions:
            found.append((cell.question, cell.source, True))
        else:
            defined = defined_functions(cell.source, set(functions))
            if defined:
                found.append((functions[sorted(defined)[0]], cell.source, False))
    tagged = {qid for qid, _, is_tagged in found if is_tagged}
    cells, notes = [], []
    for qid, src, is_tagged in found:
        if is_tagged or qid not in tagged:
            code, changed = to_python(src) if len(src) <= MAX_CODE_CHARS else (src, False)
            cells.append((qid, code))
            if not is_tagged:
                notes.append(Text("{question}: answer cell found by its function name (its "
                                  "metadata was changed)", question=qid))
            if changed:
                notes.append(Text("{question}: the answer cell has IPython commands (`%magic`, "
                                  "`!command` or `name?`); they are skipped when grading (only "
                                  "`%%capture` and `%%time` cells run their body)", question=qid))
    return cells, notes


def uses_nnlib(code: str) -> bool:
    return bool(_NNLIB.search(code))
