"""The report: feedback for each student (Markdown), the CSV gradebook, the list of what was
not graded, all written atomically by the grader's process."""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from .generate import section_link
from .results import NotGraded, Submission
from .sheet import AuthoringError, Sheet


def _reread(sheet: Sheet, qid: str) -> str:
    q = sheet.questions[qid]
    try:
        link = section_link(q.chapter, q.section)
    except AuthoringError:
        return f"- Re-read: chapter {q.chapter}, section {q.section}"
    return (f"- Re-read: chapter {q.chapter}, section \"{link['title']}\" (in Jupyter "
            f"{link['notebook']}; on the website {link['page']})")


def feedback(sheet: Sheet, sub: Submission, seed: int) -> str:
    """The feedback text for one student (Markdown)."""
    lines = [f"# Feedback on {sheet.name}: {sub.student}", "",
             f"File: {sub.file or sub.path.name}", "",
             f"Total: {sub.total:g} / {sheet.points:g}", ""]
    lines += [f"- Note: {n}" for n in sub.notes] + ([""] if sub.notes else [])
    for q in sheet.questions.values():
        lines += [f"## {q.id}: {q.function}() -- {sub.scores[q.id]:g} / {q.points:g}", ""]
        lines += [f"- Note: {n}" for n in sub.question_notes.get(q.id, [])]
        for r in (r for r in sub.results if r.question == q.id):
            what = ("public test" if r.public else
                    f"hidden test ({r.possible:g} point{'' if r.possible == 1 else 's'})")
            lines.append(f"- {what} \"{r.test}\": {r.verdict.message}")
        if sub.scores[q.id] < q.points:
            lines.append(_reread(sheet, q.id))
        lines.append("")
    lines.append(f"Hidden inputs came from this run's seed {seed}; a correct answer "
                 f"passes them whatever the seed.")
    return "\n".join(lines) + "\n"


def _safe(s: str) -> str:
    """A spreadsheet never evaluates a cell of ours as a formula."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def gradebook(sheet: Sheet, subs: list[Submission]) -> str:
    """The CSV gradebook: one row a student (id and file), one column a question, the total,
    a note."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "file", *sheet.questions, "total", "note"])
    for sub in sorted(subs, key=lambda s: s.student):
        w.writerow([_safe(sub.student), _safe(sub.file or sub.path.name),
                    *(f"{sub.scores.get(q, 0.0):g}" for q in sheet.questions),
                    f"{sub.total:g}", _safe("; ".join(sub.notes))[:300]])
    return buf.getvalue()


def not_graded_path(gradebook_path: Path) -> Path:
    return gradebook_path.with_name(gradebook_path.stem + "-not-graded.csv")


def not_graded(entries: list[NotGraded]) -> str:
    """The CSV list of entries of the submissions folder that were not graded, with the reason."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "reason"])
    for e in sorted(entries, key=lambda e: e.file):
        w.writerow([_safe(e.file), e.reason])
    return buf.getvalue()


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and os.replace (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:  # lone surrogates
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
