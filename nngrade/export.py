"""Grades where instructors need them: ``nngrade export FORMAT`` (see ``nngrade/EXPORT.md``).

Everything here reads only what the grader wrote (the trusted gradebook CSV, its per-question log
``<gradebook>.log.jsonl`` and its feedback files) and a roster the instructor exported from the
LMS; no file a student controls is opened. Formats:

* ``canvas``: Canvas gradebook import CSV (``Student, ID, SIS User ID, SIS Login ID, Section,
  <Assignment (id)>``, an optional ``Points Possible`` row, UTF-8 with a byte-order mark).
* ``moodle``: Moodle grade import CSV (the roster's identity column, name columns, the grade and a
  feedback column; UTF-8, comma-separated).
* ``gradescope``: Gradescope autograder ``results.json`` (one per submission).
* ``long``: one row per student and question, for audits.

Joining to the roster is exact (ignoring case and surrounding spaces) on a column the instructor
names; roster students without a submission, submissions not on the roster and keys matching
several submissions are listed (stderr and an ``-unmatched.csv`` file), never guessed. Bad input
raises :class:`ExportError` naming what was wrong and what was expected, before anything is
written; every output is written atomically.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("canvas", "moodle", "gradescope", "long")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's values
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_NAMES = ("First name", "Last name")
LONG_COLUMNS = ["student", "file", "question", "score", "max", "kinds", "feedback", "seed",
                "sheet", "sheet_hash", "submitted_at", "late_days", "penalty", "final", "graded_at"]
UNMATCHED_COLUMNS = ["problem", "key", "student", "file", "roster_line", "name"]
_QUESTION = re.compile(r"q\d+")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
MAX_INPUT_BYTES = 200 * 2**20      # a roster, gradebook or log larger than this is refused


class ExportError(ValueError):
    """The export cannot be made: the message says what was wrong and what was expected."""


# --- the grades ----------------------------------------------------------------------------------

@dataclass
class QuestionGrade:
    question: str
    score: float
    max: float | None = None
    kinds: list[str] = field(default_factory=list)
    feedback: str = ""
    seed: int | None = None      # of the run that graded this question (a regrade may differ)


@dataclass
class Grade:
    """One student's grade, from the gradebook row (and the log's record of the same run)."""

    student: str
    file: str
    questions: list[QuestionGrade]
    total: float
    note: str = ""
    max_total: float | None = None
    late_days: float | None = None
    penalty: float | None = None
    final: float | None = None
    seed: int | None = None
    sheet: str | None = None
    sheet_hash: str | None = None
    submitted_at: str | None = None
    graded_at: str | None = None

    @property
    def value(self) -> float:
        """The grade to hand to the LMS: ``final`` (after a late penalty) when the gradebook
        has it, else ``total``."""
        return self.total if self.final is None else self.final


def number(x: float) -> str:
    """A score as the LMS should read it: no exponent, at most 6 decimals, no trailing zeros,
    never ``-0``."""
    text = f"{round(x, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _unguard(text: str) -> str:
    """Undo the gradebook's formula guard (a ``'`` before a leading ``=+-@``): student ids and
    file names never start with ``'`` otherwise (:func:`nngrade.report._safe`)."""
    return text[1:] if text[:1] == "'" and text[1:2] in _FORMULA else text


def _guard(text: str) -> str:
    """A spreadsheet never evaluates a text cell of ours as a formula (audit files)."""
    return "'" + text if text[:1] in _FORMULA else text


def _read_text(path: Path, what: str, expected: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise ExportError(f"the {what} {path} is {size} bytes: expected at most "
                              f"{MAX_INPUT_BYTES} ({expected})")
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise ExportError(f"the {what} {path} is not UTF-8 text (byte {exc.start}): expected "
                          f"{expected}, saved as UTF-8 (in Excel: 'CSV UTF-8')") from None
    except IsADirectoryError:
        raise ExportError(f"the {what} {path} is a folder: expected a file ({expected})") from None
    except OSError as exc:
        raise ExportError(f"cannot read the {what} {path}: {exc.strerror or exc}; expected "
                          f"{expected}") from None


def _csv_rows(text: str, path: Path, what: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ExportError(f"the {what} {path} is not valid CSV ({exc})") from None


def _float(text: str, where: str, *, optional: bool = False) -> float | None:
    text = text.strip()
    if optional and text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ExportError(f"{where}: {text!r} is not a number (expected a finite number"
                          f"{' or an empty cell' if optional else ''})")
    return value


def read_gradebook(path: Path) -> list[Grade]:
    """The rows of a gradebook written by ``nngrade grade`` (columns read by name: ``student``,
    ``total`` and ``q1..qN`` required; ``file``, ``note``, ``late_days``, ``penalty``,
    ``final`` used when present)."""
    path = Path(path)
    expected = "the CSV gradebook written by `nngrade grade` (student,file,q1..qN,total,note)"
    rows = _csv_rows(_read_text(path, "gradebook", expected), path, "gradebook")
    if not rows:
        raise ExportError(f"the gradebook {path} is empty: expected {expected}")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("student", "total") if c not in header]
    questions = [h for h in header if _QUESTION.fullmatch(h)]
    if missing or not questions:
        what = ", ".join(missing + ([] if questions else ["q1..qN"]))
        raise ExportError(f"the gradebook {path} has no column {what} (its columns: "
                          f"{', '.join(header) or 'none'}): expected {expected}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ExportError(f"the gradebook {path} has the column(s) {', '.join(dupes)} twice: "
                          f"expected each column once")
    col = {h: k for k, h in enumerate(header)}
    grades: list[Grade] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ExportError(f"{path}, line {line}: {len(row)} cells, expected {len(header)} "
                              f"(one per column of the header)")
        cell = lambda name, row=row: row[col[name]] if name in col else ""
        student = _unguard(cell("student").strip())
        if not student:
            raise ExportError(f"{path}, line {line}: the student cell is empty (expected the "
                              f"student id the grader gave)")
        if student.casefold() in seen:
            raise ExportError(f"{path}: student {student!r} appears on lines "
                              f"{seen[student.casefold()]} and {line}: expected one row a student")
        seen[student.casefold()] = line
        where = f"{path}, line {line}"
        qs = [QuestionGrade(q, _float(cell(q), f"{where}, column {q}")) for q in questions]
        grades.append(Grade(
            student=student, file=_unguard(cell("file")), questions=qs,
            total=_float(cell("total"), f"{where}, column total"), note=cell("note"),
            late_days=_float(cell("late_days"), f"{where}, column late_days", optional=True),
            penalty=_float(cell("penalty"), f"{where}, column penalty", optional=True),
            final=_float(cell("final"), f"{where}, column final", optional=True)))
    if not grades:
        raise ExportError(f"the gradebook {path} has no student rows: expected at least one")
    return grades


def log_path(gradebook: Path) -> Path:
    """The per-question log beside a gradebook: ``<gradebook>.log.jsonl``."""
    return Path(str(gradebook) + ".log.jsonl")


def _check_type(value: Any, types: type | tuple[type, ...], where: str, expected: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, types):
        raise ExportError(f"{where}: {value!r} is not {expected}")
    return value


def read_log(path: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each student's records in the append-only log, merged: ``last`` (the newest record) and
    ``questions`` (each question's newest entry, with the seed of its run: a regrade of one
    question appends a newer record), and warnings (an incomplete last line, left by an
    interrupted run, is skipped and named)."""
    path = Path(path)
    expected = "the JSON Lines log written beside the gradebook (one object per graded student)"
    text = _read_text(path, "log", expected)
    lines = text.split("\n")
    records: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for number_, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number_}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            if number_ == len(lines) and not text.endswith("\n"):
                warnings.append(f"{where}: incomplete last line (an interrupted run?) skipped")
                continue
            raise ExportError(f"{where}: not JSON ({exc.msg}): expected {expected}") from None
        _check_type(rec, dict, where, "a JSON object")
        for key in ("student", "questions", "total"):
            if key not in rec:
                raise ExportError(f"{where}: no key {key!r}: expected the keys student, file, "
                                  f"sheet, sheet_hash, seed, questions, total, max_total, ...")
        _check_type(rec["student"], str, f"{where}, student", "a string")
        _check_type(rec["total"], (int, float), f"{where}, total", "a number")
        for k, q in enumerate(_check_type(rec["questions"], list, f"{where}, questions", "a list")):
            w = f"{where}, questions[{k}]"
            _check_type(q, dict, w, "an object with question, score, max, kinds, feedback")
            _check_type(q.get("question"), str, f"{w}.question", "a question id like 'q1'")
            _check_type(q.get("score"), (int, float), f"{w}.score", "a number")
            _check_type(q.get("max"), (int, float), f"{w}.max", "a number")
            kinds = _check_type(q.get("kinds", []), list, f"{w}.kinds", "a list of kinds")
            for kind in kinds:
                _check_type(kind, str, f"{w}.kinds", "a list of strings")
            _check_type(q.get("feedback", ""), str, f"{w}.feedback", "a string")
        for key, types in (("max_total", (int, float)), ("late_days", (int, float)),
                           ("penalty", (int, float)), ("final", (int, float)), ("seed", int),
                           ("file", str), ("sheet", str), ("sheet_hash", str),
                           ("submitted_at", str), ("graded_at", str)):
            if rec.get(key) is not None:
                _check_type(rec[key], types, f"{where}, {key}", f"a {types}")
        merged = records.setdefault(_unguard(rec["student"]).casefold(), {"questions": {}})
        merged["last"] = rec
        for q in rec["questions"]:
            merged["questions"][q["question"]] = {**q, "seed": rec.get("seed")}
    return records, warnings


def _close(a: float, b: float) -> bool:
    """The gradebook prints scores with 6 significant digits (``:g``)."""
    return abs(a - b) <= 1e-9 + 1e-5 * max(abs(a), abs(b))


def _join_log(grades: list[Grade], records: dict[str, dict[str, Any]], path: Path) -> None:
    for g in grades:
        merged = records.get(g.student.casefold())
        if merged is None:
            continue
        rec, by_q = merged["last"], merged["questions"]
        complete = {q["question"] for q in rec["questions"]} >= {q.question for q in g.questions}
        problems = [f"total {number(g.total)} in the gradebook, {number(rec['total'])} in the log"
                    ] if complete and not _close(g.total, rec["total"]) else []
        for q in g.questions:
            if q.question not in by_q:
                problems.append(f"{q.question} is not in the log")
            elif not _close(q.score, by_q[q.question]["score"]):
                problems.append(f"{q.question}: {number(q.score)} in the gradebook, "
                                f"{number(by_q[q.question]['score'])} in the log")
        if problems:
            raise ExportError(f"the log {path} and the gradebook disagree for student "
                              f"{g.student!r} ({'; '.join(problems)}): expected the log written "
                              f"by the run that wrote this gradebook (pass it with --log)")
        for q in g.questions:
            src = by_q[q.question]
            q.max, q.kinds, q.feedback = float(src["max"]), list(src.get("kinds", [])), \
                src.get("feedback", "")
            q.seed = src.get("seed")
        for key in ("max_total", "late_days", "penalty", "final"):
            if getattr(g, key) is None and rec.get(key) is not None:
                setattr(g, key, float(rec[key]))
        for key in ("seed", "sheet", "sheet_hash", "submitted_at", "graded_at"):
            setattr(g, key, rec.get(key))


def _fill_maxima(grades: list[Grade], maxima: dict[str, float] | None, source: str) -> None:
    """Give every question its maximum: from the log's records (they must agree) or ``maxima``
    (the sheet's points)."""
    known: dict[str, float] = {}
    for g in grades:
        for q in g.questions:
            if q.max is not None:
                if q.question in known and not _close(known[q.question], q.max):
                    raise ExportError(f"{q.question} is worth {number(known[q.question])} in one "
                                      f"log record and {number(q.max)} in student {g.student!r}'s: "
                                      f"expected one sheet version in one gradebook")
                known[q.question] = q.max
    if maxima:
        for qid, m in known.items():
            if qid in maxima and not _close(maxima[qid], m):
                raise ExportError(f"{qid} is worth {number(m)} in the log but {number(maxima[qid])} "
                                  f"in {source}: expected the sheet version that was graded")
        extra = sorted(set(q.question for q in grades[0].questions) - set(maxima))
        if extra:
            raise ExportError(f"the gradebook has question(s) {', '.join(extra)} that {source} "
                              f"does not have: expected the sheet that was graded")
        known = {**maxima, **known}
    for g in grades:
        for q in g.questions:
            if q.max is None and q.question in known:
                q.max = known[q.question]
        if g.max_total is None and all(q.max is not None for q in g.questions):
            g.max_total = sum(q.max for q in g.questions)  # type: ignore[misc]


def feedback_sections(text: str, questions: Iterable[str]) -> dict[str, str]:
    """The part of a feedback file (:func:`nngrade.report.feedback`) about each question: its
    lines from ``## qN: ...`` (``## qN：...`` in Chinese) to the next question's heading (text
    only; scores are never read from feedback files)."""
    from .report import footer_starts  # the feedback's last line, in every language
    ends = footer_starts()
    lines = text.splitlines()
    out: dict[str, str] = {}
    for qid in questions:
        start = next((k for k, line in enumerate(lines)
                      if re.match(rf"## {re.escape(qid)}[:：] ?", line)), None)
        if start is None:
            continue
        end = next((k for k in range(start + 1, len(lines))
                    if re.match(r"## q\d+[:：] ?", lines[k]) or lines[k].startswith(ends)),
                   len(lines))
        body = [line[2:] if line.startswith("- ") else line for line in lines[start + 1:end]]
        out[qid] = "\n".join(line for line in body if line.strip())
    return out


def load_grades(gradebook: Path, *, log: Path | None = None, maxima: dict[str, float] | None = None,
                maxima_source: str = "the sheet", feedback_dir: Path | None = None,
                warn: Callable[[str], None] | None = None) -> list[Grade]:
    """The gradebook's rows, joined to its log (default ``<gradebook>.log.jsonl`` when it
    exists) for per-question maxima, failure kinds and feedback, with maxima from ``maxima``
    where the log has none; with ``feedback_dir``, each question's feedback is its section of
    ``<student>.md`` (the full text the student reads: every test and the Re-read link), and the
    log's one-line summary only where that file or section is missing."""
    gradebook = Path(gradebook)
    grades = read_gradebook(gradebook)
    if log is None and log_path(gradebook).exists():
        log = log_path(gradebook)
    if log is not None:
        records, warnings = read_log(Path(log))
        for w in warnings:
            (warn or (lambda _m: None))(w)
        _join_log(grades, records, Path(log))
    _fill_maxima(grades, maxima, maxima_source)
    if feedback_dir is not None:
        for g in grades:
            md = Path(feedback_dir) / f"{g.student}.md"
            if not md.is_file():
                continue
            sections = feedback_sections(_read_text(md, "feedback file", "Markdown"),
                                         [q.question for q in g.questions])
            for q in g.questions:
                q.feedback = sections.get(q.question) or q.feedback
    return grades


def sheet_maxima(name: str, source_dir: Path) -> dict[str, float]:
    """Points of each question of a sheet, from its source notebook (trusted)."""
    from .sheet import AuthoringError, load_sheet
    p = Path(name)
    path = p if p.suffix == ".ipynb" else Path(source_dir) / f"{name}.ipynb"
    try:
        sh = load_sheet(path)
    except (AuthoringError, OSError) as exc:
        raise ExportError(f"cannot read the sheet {path}: {exc}") from None
    return {q.id: float(q.points) for q in sh.questions.values()}


# --- the roster and the join ---------------------------------------------------------------------

@dataclass
class Roster:
    """A roster exported from the LMS: its columns (as written), rows as dicts, the line of each
    row in the file, and the join column."""

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]
    lines: list[int]
    key: str

    def column(self, name: str) -> str | None:
        """The roster's own spelling of column ``name`` (ignoring case and spaces), or None."""
        want = _norm(name)
        return next((c for c in self.columns if _norm(c) == want), None)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_roster(path: Path, key: str) -> Roster:
    """Read a roster CSV (UTF-8, with or without a byte-order mark). ``key`` names the column
    holding the value that identifies a submission (compared ignoring case and surrounding
    spaces). Canvas's ``Points Possible`` row and blank rows are skipped; duplicate keys are
    refused."""
    path = Path(path)
    expected = "a CSV roster exported from the LMS, with a header row"
    rows = _csv_rows(_read_text(path, "roster", expected), path, "roster")
    if not rows or not any(c.strip() for c in rows[0]):
        raise ExportError(f"the roster {path} is empty: expected {expected}")
    columns = [c.strip() for c in rows[0]]
    normed = [_norm(c) for c in columns]
    dupes = sorted({c for c, n in zip(columns, normed) if c and normed.count(n) > 1})
    if dupes:
        raise ExportError(f"the roster {path} has the column(s) {', '.join(dupes)} twice: "
                          f"expected each column once")
    key_col = next((c for c in columns if _norm(c) == _norm(key)), None)
    if key_col is None:
        raise ExportError(f"the roster {path} has no column {key!r} (its columns: "
                          f"{', '.join(repr(c) for c in columns)}): expected --key to name one of them")
    out: list[dict[str, str]] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if row and row[0].strip() == "Points Possible":
            continue
        if len(row) > len(columns) and any(c.strip() for c in row[len(columns):]):
            raise ExportError(f"{path}, line {line}: {len(row)} cells but the header has "
                              f"{len(columns)}: expected one cell per column (a comma inside a "
                              f"name must be quoted)")
        rec = {c: (row[k] if k < len(row) else "") for k, c in enumerate(columns)}
        k_value = _norm(rec[key_col])
        if k_value:
            if k_value in seen:
                raise ExportError(f"the roster {path} has {key_col} {rec[key_col].strip()!r} on "
                                  f"lines {seen[k_value]} and {line}: expected each {key_col} once "
                                  f"(pick a column that is unique per student)")
            seen[k_value] = line
        out.append(rec)
        lines.append(line)
    return Roster(path, columns, out, lines, key_col)


@dataclass
class Join:
    matched: list[tuple[int, Grade]] = field(default_factory=list)   # (roster row index, grade)
    missing: list[int] = field(default_factory=list)                  # roster rows without grade
    no_key: list[int] = field(default_factory=list)                   # roster rows with empty key
    extra: list[tuple[Grade, str | None]] = field(default_factory=list)  # (grade, its key)
    ambiguous: list[tuple[str, list[Grade]]] = field(default_factory=list)


def submission_key(match: str, pattern: str | None = None) -> Callable[[Grade], str | None]:
    """How a graded submission names its student: ``student`` (the grader's id), ``file`` (the
    submitted file's name without folders and ``.ipynb``), or the first group (else the whole
    match) of ``pattern`` searched in that file name. None when the pattern does not match."""
    if match not in ("student", "file"):
        raise ExportError(f"--match {match!r}: expected 'student' or 'file'")
    rx = None
    if pattern is not None:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise ExportError(f"--file-pattern {pattern!r} is not a regular expression ({exc})") \
                from None

    def key(g: Grade) -> str | None:
        if match == "student" and rx is None:
            return g.student
        name = re.sub(r"\.ipynb$", "", (g.file or g.student).rsplit("/", 1)[-1], flags=re.I)
        if rx is None:
            return name
        m = rx.search(name)
        if m is None:
            return None
        return m.group(1) if rx.groups else m.group(0)
    return key


def join(roster: Roster, grades: list[Grade], key: Callable[[Grade], str | None]) -> Join:
    """Match grades to roster rows on the roster's key column; nothing is guessed."""
    j = Join()
    by_key: dict[str, list[Grade]] = {}
    for g in grades:
        k = key(g)
        if k is None or not _norm(k):
            j.extra.append((g, None))
        else:
            by_key.setdefault(_norm(k), []).append(g)
    used: set[str] = set()
    for idx, row in enumerate(roster.rows):
        k = _norm(row[roster.key])
        if not k:
            j.no_key.append(idx)
            continue
        found = by_key.get(k, [])
        if len(found) == 1:
            j.matched.append((idx, found[0]))
        elif len(found) > 1:
            j.ambiguous.append((row[roster.key].strip(), found))
        else:
            j.missing.append(idx)
        used.add(k)
    for k, gs in by_key.items():
        if k not in used:
            j.extra.extend((g, key(g)) for g in gs)
    return j


def _name(roster: Roster, idx: int) -> str:
    row = roster.rows[idx]
    for cols in (("Student",), ("Full name",), ("First name", "Last name"), ("Name",)):
        got = [roster.column(c) for c in cols]
        if all(got):
            return " ".join(row[c].strip() for c in got if c)
    return ""


def unmatched(roster: Roster, j: Join) -> list[list[str]]:
    """The rows of the ``-unmatched.csv`` list (UNMATCHED_COLUMNS)."""
    rows: list[list[str]] = []
    for idx in j.missing:
        rows.append(["on the roster, no graded submission", roster.rows[idx][roster.key].strip(),
                     "", "", str(roster.lines[idx]), _name(roster, idx)])
    for idx in j.no_key:
        rows.append([f"on the roster without a {roster.key}", "", "", "",
                     str(roster.lines[idx]), _name(roster, idx)])
    for g, k in j.extra:
        what = ("graded, not on the roster" if k is not None
                else "graded, its file name does not match --file-pattern")
        rows.append([what, k or "", g.student, g.file, "", ""])
    for k, gs in j.ambiguous:
        for g in gs:
            rows.append([f"several graded submissions for one {roster.key} (none exported)", k,
                         g.student, g.file, "", ""])
    return rows


# --- the formats ---------------------------------------------------------------------------------

def _csv_text(rows: Iterable[Iterable[str]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quotes where needed), via the csv module."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerows(rows)
    return buf.getvalue()


def canvas_column(roster: Roster, assignment: str) -> str:
    """The assignment column's header: the roster's own ``<assignment> (<id>)`` column when the
    roster (a Canvas gradebook export) has exactly one, so Canvas updates that assignment; else
    ``assignment`` as given (Canvas then offers to create a new assignment)."""
    if re.search(r"\(\d+\)\s*$", assignment):
        return assignment.strip()
    rx = re.compile(rf"{re.escape(assignment.strip())}\s*\(\d+\)\s*$", re.I)
    found = [c for c in roster.columns if rx.fullmatch(c)]
    return found[0] if len(found) == 1 else assignment.strip()


def canvas_csv(roster: Roster, j: Join, assignment: str, *, points_possible: float | None,
               missing_as_zero: bool = False) -> str:
    """Canvas gradebook import CSV: header ``Student, ID, SIS User ID, SIS Login ID, Section,
    <assignment>``, a ``Points Possible`` row when known, one row per matched roster student in
    roster order (values copied from the roster), the grade (``final`` else ``total``)."""
    if not any(roster.column(c) for c in ("ID", "SIS User ID", "SIS Login ID")):
        raise ExportError(f"the roster {roster.path} has none of the columns ID, SIS User ID, SIS "
                          f"Login ID (its columns: {', '.join(roster.columns)}): expected Canvas's "
                          f"gradebook export (Grades > Export), which Canvas matches students by")
    header = [*CANVAS_IDENTITY, canvas_column(roster, assignment)]
    rows: list[list[str]] = [header]
    if points_possible is not None:
        rows.append(["Points Possible", "", "", "", "", number(points_possible)])
    grade_of = dict(j.matched)
    for idx, row in enumerate(roster.rows):
        if idx in grade_of:
            value = number(grade_of[idx].value)
        elif missing_as_zero and idx in j.missing:
            value = "0"
        else:
            continue
        ident = [row[c] if (c := roster.column(name)) else "" for name in CANVAS_IDENTITY]
        rows.append([*ident, value])
    return "\ufeff" + _csv_text(rows)


def short_feedback(g: Grade) -> str:
    """One line for an LMS feedback column: each question's score, what failed, the penalty."""
    parts = []
    for q in g.questions:
        text = f"{q.question} {number(q.score)}" + (f"/{number(q.max)}" if q.max is not None else "")
        if q.kinds and (q.max is None or q.score < q.max):
            text += f" ({', '.join(sorted(set(q.kinds)))})"
        parts.append(text)
    out = "; ".join(parts)
    out += f"; total {number(g.total)}" + (f"/{number(g.max_total)}" if g.max_total is not None else "")
    if g.penalty:
        out += f"; late {number(g.late_days or 0)} day(s): -{number(g.penalty)}, final {number(g.value)}"
    if g.note:
        out += f"; note: {g.note}"
    return out


def moodle_csv(roster: Roster, j: Join, grade_column: str, *, feedback: bool = True,
               missing_as_zero: bool = False) -> str:
    """Moodle grade import CSV: the roster's key column (mapped to the user in Moodle's import
    dialog), its name columns when present, the grade, and a feedback column."""
    names = [c for n in MOODLE_NAMES if (c := roster.column(n)) and c != roster.key]
    header = [roster.key, *names, grade_column] + (["Feedback"] if feedback else [])
    rows: list[list[str]] = [header]
    grade_of = dict(j.matched)
    for idx, row in enumerate(roster.rows):
        g = grade_of.get(idx)
        if g is None and not (missing_as_zero and idx in j.missing):
            continue
        value = number(g.value) if g is not None else "0"
        text = short_feedback(g) if g is not None else "no graded submission"
        rows.append([row[roster.key].strip(), *(row[c] for c in names), value]
                    + ([text] if feedback else []))
    return _csv_text(rows)


def long_csv(grades: list[Grade]) -> str:
    """One row per student and question (LONG_COLUMNS), for audits."""
    rows: list[list[str]] = [LONG_COLUMNS]
    opt = lambda x: "" if x is None else (number(x) if isinstance(x, float) else str(x))
    for g in sorted(grades, key=lambda g: g.student):
        for q in g.questions:
            rows.append([_guard(g.student), _guard(g.file), q.question, number(q.score),
                         opt(q.max), ";".join(q.kinds), _guard(q.feedback),
                         opt(g.seed if q.seed is None else q.seed),
                         _guard(g.sheet or ""), g.sheet_hash or "", g.submitted_at or "",
                         opt(g.late_days), opt(g.penalty), opt(g.final), g.graded_at or ""])
    return _csv_text(rows)


def gradescope_results(g: Grade, *, visibility: str = "after_due_date",
                       test_visibility: str = "after_due_date",
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission: the top-level ``score`` (``final``
    else ``total``), one test per question (``score``, ``max_score``, ``status``, ``name``,
    ``output`` = the question's feedback, ``visibility``), ``stdout_visibility`` hidden (the
    grader's log is for the instructor)."""
    for v in (visibility, test_visibility):
        if v not in VISIBILITIES:
            raise ExportError(f"visibility {v!r}: expected one of {', '.join(VISIBILITIES)}")
    tests = []
    for q in g.questions:
        if q.max is None:
            raise ExportError(f"the maximum of {q.question} is unknown: pass the log (--log) or "
                              f"the sheet (--sheet NAME), expected for Gradescope's max_score")
        test: dict[str, Any] = {"name": q.question, "score": q.score, "max_score": q.max,
                                "status": "passed" if q.score >= q.max else "failed",
                                "visibility": test_visibility}
        if q.feedback or q.kinds:
            test["output"] = q.feedback or f"failed: {', '.join(q.kinds)}"
        tests.append(test)
    summary = [f"Total: {number(g.total)}" + (f" / {number(g.max_total)}" if g.max_total is not None
                                              else "")]
    if g.penalty:
        summary.append(f"Late by {number(g.late_days or 0)} day(s): penalty {number(g.penalty)}, "
                       f"final score {number(g.value)}")
    if g.note:
        summary.append(f"Note: {g.note}")
    data = {k: v for k, v in (("sheet", g.sheet), ("sheet_hash", g.sheet_hash),
                              ("graded_at", g.graded_at)) if v is not None}
    return {"score": g.value, "output": "\n".join(summary), "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {**data, **(extra or {})}}


# --- writing -------------------------------------------------------------------------------------

def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and os.replace: the
    file is either the old one or the whole new one, never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_all(outputs: dict[Path, str]) -> None:
    """Write every output (all built before the first is written), each atomically."""
    for path, text in outputs.items():
        atomic_write_bytes(path, text.encode("utf-8", "replace"))


def unmatched_path(output: Path) -> Path:
    return output.with_name(output.stem + "-unmatched.csv")
