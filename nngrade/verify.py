"""Check a sheet end to end: the reference scores full marks, the stub scores 0, and every
declared wrong answer scores less than full with the declared feedback kind."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from . import generate, grade, results, sandbox
from .sheet import Sheet, load_sheet, role_of


@dataclass
class VerifyReport:
    ok: bool
    lines: list[str] = field(default_factory=list)
    subs: dict[str, results.Submission] = field(default_factory=dict)


def with_answers(sheet: Sheet, answers: dict[str, str]) -> Any:
    """The student notebook with the given answer code filled in (question -> code)."""
    nb = generate.student_notebook(sheet)
    for cell in nb.cells:
        meta = role_of(cell)
        if meta.get("role") == "answer" and meta["question"] in answers:
            cell.source = answers[meta["question"]]
    return nb


def variants(sheet: Sheet) -> dict[str, tuple[Any, str, str | None]]:
    """name -> (notebook, question or '', expected kind): reference, stub, wrong answers."""
    ref = {q.id: q.solution for q in sheet.questions.values()}
    out: dict[str, tuple[Any, str, str | None]] = {
        "reference": (with_answers(sheet, ref), "", None),
        "stub": (with_answers(sheet, {}), "", "not_implemented"),
    }
    for k, w in enumerate(sheet.wrong):
        out[f"wrong{k:02d}-{w.question}-{w.expect}"] = (
            with_answers(sheet, {**ref, w.question: w.code}), w.question, w.expect)
    return out


def verify_sheet(path: str | Path, *, limits: sandbox.Limits | None = None,
                 jobs: int | None = None, seed: int | None = None) -> VerifyReport:
    sheet = load_sheet(path)
    cases = variants(sheet)
    with tempfile.TemporaryDirectory(prefix="nngrade-verify-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for name, (nb, _, _) in cases.items():
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
        grader, subs, _ = grade.grade_folder(sheet, folder, Path(tmp) / "grades.csv",
                                          jobs=jobs, seed=seed, limits=limits)
    report = VerifyReport(True, subs={s.student: s for s in subs})
    full = sheet.points

    def expect(cond: bool, text: str) -> None:
        report.lines.append(("ok    " if cond else "FAILED ") + f"{sheet.name}: {text}")
        report.ok &= cond

    ref = report.subs["reference"]
    expect(ref.total == full, f"reference scores {ref.total:g} / {full:g}")
    stub = report.subs["stub"]
    kinds = set().union(*(stub.kinds(q) for q in sheet.questions))
    expect(stub.total == 0 and kinds == {"not_implemented"},
           f"stub scores {stub.total:g}, feedback kinds {sorted(kinds)}")
    for name, (_, qid, kind) in cases.items():
        if not name.startswith("wrong"):
            continue
        sub = report.subs[name]
        q = sheet.questions[qid]
        expect(sub.scores[qid] < q.points and kind in sub.kinds(qid),
               f"{name}: {qid} scores {sub.scores[qid]:g} / {q.points:g}, feedback kinds "
               f"{sorted(sub.kinds(qid))} (expected {kind!r})")
    return report
