"""The report: feedback for each student (Markdown), the CSV gradebook, the list of what was
not graded, all written atomically by the grader's process; and the plain form of a graded
submission (what a worker sends back) and of a log record (one line of ``<gradebook>.log.jsonl``,
from which the gradebook and the feedback can always be written again)."""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .generate import chapter_title, section_link
from .i18n import (
    available,
    heading,
    language_of,
    localized_link,
    pack,
    render,
    safe_translator,
    translate_test_name,
    unpack,
)
from .late import LatePolicy
from .results import NotGraded, Submission, TestResult
from .sheet import AuthoringError, Sheet
from .verdicts import Verdict


def chapter_name(chapter: str, lang: str | None = None) -> str:
    """How feedback names a chapter: "chapter 2" (Chinese "第 2 章") from the number that starts
    its file stem (``02_neuron``); a page without a number (the playground) by its title, in
    ``lang`` when translated; the file stem when its notebook has no title."""
    _ = safe_translator(lang)
    number = re.match(r"(\d+)_", chapter)
    if number:
        return _("chapter {number}").format(number=int(number.group(1)))
    try:
        return heading(chapter, chapter_title(chapter), lang)
    except AuthoringError:
        return chapter


def _reread(sheet: Sheet, qid: str, lang: str | None = None) -> str:
    q = sheet.questions[qid]
    _ = safe_translator(lang)
    chapter = chapter_name(q.chapter, lang)
    try:
        link = localized_link(q.chapter, q.section, section_link(q.chapter, q.section), lang)
    except AuthoringError:
        return _("- Re-read: {chapter}, section {section}").format(
            chapter=chapter, section=q.section)
    return _("- Re-read: {chapter}, section \"{title}\" (in Jupyter {notebook}; on the "
             "website {page})").format(chapter=chapter, **link)


def feedback(sheet: Sheet, sub: Submission, seed: int) -> str:
    """The feedback text for one student (Markdown), in the language of the submitted notebook
    (``sub.lang``: a known code, else English). Test names and verdicts are translated; the
    student's own text inside a verdict (an exception's message) is not."""
    lang = language_of(sub.lang)
    _ = safe_translator(lang)
    lines = [_("# Feedback on {sheet}: {student}").format(sheet=sheet.name, student=sub.student),
             "", _("File: {file}").format(file=sub.file or sub.path.name), "",
             _("Total: {total} / {points}").format(total=f"{sub.total:g}",
                                                   points=f"{sheet.points:g}"), ""]
    note = _("- Note: {note}")
    lines += [note.format(note=render(n, _)) for n in sub.notes] + ([""] if sub.notes else [])
    for q in sheet.questions.values():
        lines += [_("## {question}: {name}() -- {score} / {points}").format(
            question=q.id, name=q.function, score=f"{sub.scores[q.id]:g}",
            points=f"{q.points:g}"), ""]
        lines += [note.format(note=render(n, _)) for n in sub.question_notes.get(q.id, [])]
        for r in (r for r in sub.results if r.question == q.id):
            if r.public:
                what = _("public test")
            elif r.possible == 1:
                what = _("hidden test (1 point)")
            else:
                what = _("hidden test ({points} points)").format(points=f"{r.possible:g}")
            lines.append(_("- {what} \"{test}\": {verdict}").format(
                what=what, test=translate_test_name(r.test, _), verdict=r.verdict.text(_)))
        if sub.scores[q.id] < q.points:
            lines.append(_reread(sheet, q.id, lang))
        lines.append("")
    lines.append(footer(_).format(seed=seed))
    return "\n".join(lines) + "\n"


def footer(_: Callable[[str], str] = str) -> str:
    """The feedback file's last line (a template with ``{seed}``), in the language of ``_``."""
    return _("Hidden inputs came from this run's seed {seed}; a correct answer passes them "
             "whatever the seed.")


def footer_starts() -> tuple[str, ...]:
    """How the feedback's last line begins in every language (where a question's section of a
    feedback file ends: :func:`nngrade.export.feedback_sections`)."""
    return tuple(footer(safe_translator(lang)).split("{", 1)[0] for lang in ["en", *available()])


def _safe(s: str) -> str:
    """A spreadsheet never evaluates a cell of ours as a formula."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


LATE_COLUMNS = ["submitted_at", "late_days", "penalty", "final", "late_policy"]


def gradebook(sheet: Sheet, subs: list[Submission],
              late: dict[str, dict[str, Any]] | None = None) -> str:
    """The CSV gradebook: one row a student (id and file), one column a question, the total,
    a note. With ``late`` (student -> its log record), the late-penalty columns
    :data:`LATE_COLUMNS` come between the total and the note."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "file", *sheet.questions, "total", *(LATE_COLUMNS if late else []),
                "note"])
    for sub in sorted(subs, key=lambda s: s.student):
        extra = []
        if late:
            r = late.get(sub.student, {})
            extra = [r.get("submitted_at") or "", f"{r.get('late_days', 0)}",
                     f"{r.get('penalty', 0.0):g}", f"{r.get('final', sub.total):g}",
                     r.get("late_policy") or ""]
        w.writerow([_safe(sub.student), _safe(sub.file or sub.path.name),
                    *(f"{sub.scores.get(q, 0.0):g}" for q in sheet.questions),
                    f"{sub.total:g}", *extra, _safe("; ".join(sub.notes))[:300]])
    return buf.getvalue()


# -- plain forms: what crosses process and machine boundaries, and the log -----------------------

def plain(sub: Submission) -> dict[str, Any]:
    """A graded submission as plain data (str, float, bool, lists, dicts): scores, verdict kinds
    and feedback text only; nothing the student wrote (no code, no returned objects)."""
    return {"student": sub.student, "file": sub.file or sub.path.name,
            "scores": {q: float(v) for q, v in sub.scores.items()},
            "results": [[r.question, r.test, r.public, float(r.points), float(r.possible),
                         r.verdict.ok, r.verdict.kind, str(r.verdict.message),
                         pack(r.verdict.message)] for r in sub.results],
            "notes": [str(n) for n in sub.notes], "notes_msg": [pack(n) for n in sub.notes],
            "question_notes": {q: [str(n) for n in v] for q, v in sub.question_notes.items()},
            "question_notes_msg": {q: [pack(n) for n in v]
                                   for q, v in sub.question_notes.items()},
            "lang": language_of(sub.lang)}


def _messages(english: Any, packed: Any) -> list[str]:
    """Notes as :class:`~nngrade.i18n.Text` again where the packed forms rebuild the English
    ones exactly (a record without them, or a damaged one, keeps the English)."""
    english = [str(n) for n in english] if isinstance(english, list) else []
    if not isinstance(packed, list) or len(packed) != len(english):
        return english
    return [unpack(p, e) for e, p in zip(english, packed)]


def submission_of(record: dict[str, Any]) -> Submission:
    """A :class:`Submission` from a plain result or a log record (for the gradebook and the
    feedback text)."""
    sub = Submission(record["student"], Path(record["file"]), record["file"])
    sub.lang = language_of(record.get("lang"))
    if "questions" in record:   # a log record
        for q in record["questions"]:
            sub.scores[q["question"]] = float(q["score"])
            if q.get("notes"):
                sub.question_notes[q["question"]] = _messages(q["notes"], q.get("notes_msg"))
            for r in q.get("results", []):
                message = unpack(r.get("msg"), r["message"]) if "msg" in r else r["message"]
                sub.results.append(TestResult(q["question"], r["test"], r["public"], r["points"],
                                              r["possible"], Verdict(r["ok"], r["kind"],
                                                                     message)))
    else:
        sub.scores = dict(record["scores"])
        packed = record.get("question_notes_msg")
        sub.question_notes = {q: _messages(v, packed.get(q) if isinstance(packed, dict) else None)
                              for q, v in record["question_notes"].items()}
        sub.results = [TestResult(q, t, pub, pts, pos, Verdict(ok, kind, unpack(rest[0], msg)
                                                               if rest else msg))
                       for q, t, pub, pts, pos, ok, kind, msg, *rest in record["results"]]
    sub.notes = _messages(record.get("notes", []), record.get("notes_msg"))
    return sub


def _short(messages: list[str]) -> str:
    text = "; ".join(dict.fromkeys(messages))
    return text if len(text) <= 300 else text[:297] + "..."


def record(sheet: Sheet, result: dict[str, Any], *, sheet_hash: str, seed: int,
           seed_policy: str, graded_at: str, previous: dict[str, Any] | None = None,
           late: LatePolicy | None = None, submitted: datetime | None = None
           ) -> dict[str, Any]:
    """One log record (a JSON object) from a worker's plain result. Questions the result does
    not hold (a ``--question`` regrade) keep their entry of the ``previous`` record. With a late
    policy, ``submitted`` (the instructor's time for this student, None if not given) sets
    ``late_days``, ``penalty`` and ``final`` (see :mod:`nngrade.late`); else final = total."""
    sub = submission_of(result)
    old = {q["question"]: q for q in (previous or {}).get("questions", [])}
    questions = []
    for q in sheet.questions.values():
        if q.id not in sub.scores and q.id in old:
            questions.append(old[q.id])
            continue
        rs = [r for r in sub.results if r.question == q.id]
        bad = [r.verdict.message for r in rs if not r.verdict.ok]
        questions.append({
            "question": q.id, "score": sub.scores.get(q.id, 0.0), "max": float(q.points),
            "kinds": sorted({r.verdict.kind for r in rs if not r.verdict.ok}),
            "feedback": _short(bad) if bad else "all tests passed",
            "notes": [str(n) for n in sub.question_notes.get(q.id, [])],
            "notes_msg": [pack(n) for n in sub.question_notes.get(q.id, [])],
            "results": [{"test": r.test, "public": r.public, "points": r.points,
                         "possible": r.possible, "ok": r.verdict.ok, "kind": r.verdict.kind,
                         "message": str(r.verdict.message), "msg": pack(r.verdict.message)}
                        for r in rs]})
    total = round(sum(q["score"] for q in questions), 9)
    days, penalty, final = late.apply(total, submitted) if late else (0, 0.0, total)
    return {"student": sub.student, "file": sub.file, "sheet": sheet.name,
            "sheet_hash": sheet_hash, "seed": seed, "seed_policy": seed_policy,
            "questions": questions, "total": total, "max_total": float(sheet.points),
            "submitted_at": submitted.isoformat() if submitted else None, "late_days": days,
            "penalty": penalty, "final": final,
            "late_policy": late.describe() if late else None,
            "notes": [str(n) for n in sub.notes], "notes_msg": [pack(n) for n in sub.notes],
            "lang": sub.lang,
            "graded_at": graded_at,
            "seconds": result.get("seconds")}


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
