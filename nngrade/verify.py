"""Check a sheet end to end: the reference scores full marks, the stub scores 0, and every
declared wrong answer scores less than full with the declared feedback kind."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from . import codec, generate, grade, results, sandbox
from .sheet import Sheet, hidden_cases, load_sheet, reference, role_of
from .verdicts import compare


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
        grader, subs = grade.grade_folder(sheet, folder, Path(tmp) / "grades.csv",
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
    for problem in seed_dependence(sheet):
        expect(False, problem)
    for name, (_, qid, kind) in cases.items():
        if not name.startswith("wrong"):
            continue
        sub = report.subs[name]
        q = sheet.questions[qid]
        expect(sub.scores[qid] < q.points and kind in sub.kinds(qid),
               f"{name}: {qid} scores {sub.scores[qid]:g} / {q.points:g}, feedback kinds "
               f"{sorted(sub.kinds(qid))} (expected {kind!r})")
    return report


def seed_dependence(sheet: Sheet, seeds: range = range(8)) -> list[str]:
    """The declared wrong answers whose hidden-test outcome depends on the seed (empty: none).

    Runs in this process (source code is trusted): for each wrong answer and each seed, which
    hidden tests of its question pass. A grade must not depend on the secret seed, so each
    pattern must be the same for every seed; when it is not, the tests draw too few or too
    uniform cases (e.g. K = 1 outputs, where N and N*K agree)."""
    problems = []
    for k, w in enumerate(sheet.wrong):
        q = sheet.questions[w.question]
        ns = reference(sheet)
        ns["__reference__"] = reference(sheet)
        exec(compile(w.code, f"<{sheet.name} wrong answer {k}>", "exec"), ns)
        fn = ns[q.function]
        patterns = {}
        for seed in seeds:
            passed = []
            for t, cases in hidden_cases(sheet, seed)[q.id]:
                ok = True
                for args in cases:
                    expected = ns["__reference__"][q.function](**codec.fresh(args))
                    try:
                        with np.errstate(all="ignore"):   # a wrong answer's overflow is expected
                            got = fn(**codec.fresh(args))
                    except Exception:
                        ok = False
                        break
                    if not compare(expected, got, rtol=q.rtol, atol=q.atol, args=args).ok:
                        ok = False
                        break
                passed.append(f"{t.name}: {'pass' if ok else 'fail'}")
            patterns[seed] = tuple(passed)
        if len(set(patterns.values())) > 1:
            problems.append(f"wrong answer {k} ({w.question}, expect {w.expect!r}): the hidden "
                            f"tests it passes depend on the seed: {patterns}")
    return problems
