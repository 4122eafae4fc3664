"""Grade submitted notebooks: sandboxed runs, comparison in this process, gradebook and feedback.

Only the graded answer cells of a submission are used: the grader runs the instructor's setup
code and then those cells in a sandbox (:mod:`nngrade.sandbox`), once per question, and asks for
the function's outputs on inputs it chose (hidden ones drawn from a per-run secret seed). Scores
are computed here, from .npy outputs only; this process alone writes the gradebook.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from . import authoring, data, diagnose, sandbox
from .authoring import Question, Sheet, Test
from .diagnose import Verdict

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_CODE_CHARS = 200_000
_NNLIB = re.compile(r"\bnnlib\b")


@dataclass
class Case:
    id: str
    test: Test
    args: dict[str, Any]
    expected: Any


@dataclass
class TestResult:
    question: str
    test: str
    public: bool
    points: float
    possible: float
    verdict: Verdict


@dataclass
class Submission:
    """The grade of one submitted file."""

    student: str
    path: Path
    scores: dict[str, float] = field(default_factory=dict)
    results: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    question_notes: dict[str, list[str]] = field(default_factory=dict)
    cell_questions: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    def kinds(self, question: str) -> set[str]:
        return {r.verdict.kind for r in self.results if r.question == question}


def student_id(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.stem)[:80] or "unnamed"


def strip_magics(code: str) -> str:
    """Replace IPython magics and shell escapes (not Python) by ``pass``."""
    lines = []
    for line in code.splitlines():
        text = line.lstrip()
        lines.append(line[: len(line) - len(text)] + "pass" if text[:1] in ("%", "!") else line)
    return "\n".join(lines)


def read_submission(path: Path) -> Any:
    """Parse a submitted file as a notebook; raise ValueError with a plain reason otherwise."""
    if path.suffix != ".ipynb":
        raise ValueError(f"not a Jupyter notebook ({path.name}): submit the .ipynb file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError("notebook larger than 20 MB")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception as exc:
        raise ValueError(f"not a valid notebook: {type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:160]}") from exc
    if not isinstance(nb.get("cells"), list):
        raise ValueError("not a valid notebook: no cells")
    return nb


def answer_cells(nb: Any, sheet: Sheet) -> tuple[list[tuple[str, str]], list[str]]:
    """The graded cells of a submission as (question, code), in notebook order, and notes.

    A cell is graded if its metadata marks it as a sheet's answer cell; if a question has no such
    cell, a code cell defining that question's function at top level is used instead.
    """
    functions = {q.function: q.id for q in sheet.questions.values()}
    found: list[tuple[int, str, str, bool]] = []
    for i, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        meta = cell.get("metadata", {}).get("nngrade", {})
        qid = meta.get("question") if isinstance(meta, dict) and meta.get("role") == "answer" else None
        if qid in sheet.questions:
            found.append((i, qid, src, True))
        else:
            defined = authoring.defined_functions(src) & set(functions)
            if defined:
                found.append((i, functions[sorted(defined)[0]], src, False))
    tagged = {qid for _, qid, _, is_tagged in found if is_tagged}
    cells, notes = [], []
    for _, qid, src, is_tagged in found:
        if is_tagged or qid not in tagged:
            cells.append((qid, strip_magics(src)))
            if not is_tagged:
                notes.append(f"{qid}: answer cell found by its function name (its metadata was changed)")
    return cells, notes


def _mask_dirs(sheet: Sheet, extra: list[Path]) -> list[str]:
    """Directories hidden from the sandbox (namespaces mode): the course project holding the
    sources (its venv, if inside, stays visible), git history, the libraries, inputs, outputs."""
    src = sheet.path.resolve().parent
    dirs = [src, *extra]
    for parent in src.parents:
        if (parent / ".git").exists() or (parent / "pyproject.toml").is_file():
            dirs.append(parent)
            break
    if src.name == "source" and src.parent.name == "exercises":
        dirs.append(src.parent.parent)
    for name in ("nnlib", "nngrade"):
        spec = importlib.util.find_spec(name)
        dirs += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    out = []
    for d in dirs:
        d = Path(d).resolve()
        if d.is_dir() and str(d) not in out:
            out.append(str(d))
    return out


class Grader:
    """Grades submissions of one sheet. Hidden inputs come from ``seed`` (secret by default)."""

    def __init__(self, sheet: Sheet | str | Path, *, seed: int | None = None,
                 limits: sandbox.Limits | None = None, mode: str | None = None,
                 mask: list[Path] | None = None) -> None:
        self.sheet = sheet if isinstance(sheet, Sheet) else authoring.load_sheet(sheet)
        self.seed = secrets.randbits(62) if seed is None else seed
        self.limits = limits or sandbox.Limits()
        self.mode = mode or sandbox.detect_mode()
        self.mask = _mask_dirs(self.sheet, list(mask or []))
        ref = authoring.reference(self.sheet)
        hidden = authoring.hidden_cases(self.sheet, self.seed)
        self.cases: dict[str, list[Case]] = {}
        for q in self.sheet.questions.values():
            rows: list[tuple[Test, dict[str, Any]]] = [(t, t.args) for t in q.tests if t.public]
            rows += [(t, args) for t, many in hidden[q.id] for args in many]
            order = np.random.default_rng([self.seed, 99]).permutation(len(rows))
            self.cases[q.id] = [Case(f"{q.id}-c{i:03d}", rows[k][0], rows[k][1],
                                     ref[q.function](**data.fresh(rows[k][1])))
                                for i, k in enumerate(order)]

    # -- one submission: one sandboxed run, one forked child per question ----------------------
    def _run_submission(self, questions: list[Question], cells: list[str]
                        ) -> tuple[dict[str, Verdict], dict[int, str]]:
        """Run the answer cells once in a fresh sandbox and every question's cases in it;
        return verdicts per case id and error texts per cell."""
        work = Path(tempfile.mkdtemp(prefix="nngrade-"))
        try:
            (work / "in").mkdir()
            job = {"setup": self.sheet.setup, "cells": cells,
                   "question_timeout": self.limits.timeout, "questions": [
                       {"id": q.id, "function": q.function, "calls": [
                           {"id": c.id, "args": {k: data.write_value(v, str(work / "in"),
                                                                     f"{c.id}.{k}")
                                                 for k, v in c.args.items()}}
                           for c in self.cases[q.id]]}
                       for q in questions]}
            run = sandbox.run(work, job, self.limits, self.mode, self.mask,
                              budget=self.limits.timeout * (len(questions) + 1))
            out = work / "out"
            if out.is_symlink():  # only possible without a private uid: read nothing
                out.unlink()
            out.mkdir(exist_ok=True)
            verdicts = {c.id: self._verdict(q, c, work / "out", run)
                        for q in questions for c in self.cases[q.id]}
            errors = {}
            for k in range(len(cells)):
                text = data.read_text(str(work / "out" / f"cell-{k}.err"))
                if text is not None:
                    errors[k] = " ".join(text.split())[:300]
            return verdicts, errors
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _read(self, out: Path, stem: str, like: Any) -> Any:
        if isinstance(like, (list, tuple)):
            return [self._read(out, f"{stem}.{k}", v) for k, v in enumerate(like)]
        return data.read_npy(str(out / f"{stem}.npy"))

    def _verdict(self, q: Question, case: Case, out: Path, run: sandbox.RunResult) -> Verdict:
        err = out / f"{case.id}.err"
        try:
            got = self._read(out, f"{case.id}.out", case.expected)
        except FileNotFoundError:
            stem = out / f"{case.id}.out"
            items = 0
            while Path(f"{stem}.{items}.npy").is_file() and items < 1000:
                items += 1
            if isinstance(case.expected, (list, tuple)) and Path(f"{stem}.npy").is_file():
                return Verdict(False, "type", f"returned one array, expected a list of "
                                              f"{len(case.expected)} arrays")
            if isinstance(case.expected, (list, tuple)) and items:
                return Verdict(False, "type", f"expected a list of {len(case.expected)} arrays, "
                                              f"got {items}")
            if items:
                return Verdict(False, "type", "returned a list or tuple, expected one array")
            text = data.read_text(str(err))
            if text is not None:
                kind, _, msg = text.partition(": ")
                if kind == "Timeout":
                    return Verdict(False, "timeout", msg)
                if kind == "NameError" and msg.startswith("function "):
                    return Verdict(False, "missing", f"{msg} by your answer cells (renamed?)")
                return diagnose.exception(kind[:60], msg)
            if (out / f"question-{q.id}.killed").is_file() or run.timed_out:
                return Verdict(False, "timeout", f"the run was stopped after "
                               f"{self.limits.timeout:g} s (an infinite loop?)")
            return Verdict(False, "exception", "no result: the process ended before this test "
                           "(sys.exit, os._exit, a crash, or the memory limit?)")
        except (ValueError, OSError) as exc:
            return Verdict(False, "type", f"the result could not be read as a numeric array ({exc})")
        verdict = diagnose.compare(case.expected, got, rtol=q.rtol, atol=q.atol, args=case.args)
        if verdict.ok:
            after = {}
            for name, value in case.args.items():
                if isinstance(value, (np.ndarray, list, tuple)):
                    try:
                        after[name] = self._read(out, f"{case.id}.arg.{name}", value)
                    except (OSError, ValueError):
                        after[name] = None
            changed = diagnose.modified_inputs(
                {k: v for k, v in case.args.items() if k in after}, after)
            if changed:
                verdict = diagnose.input_modified(changed)
        return verdict

    # -- whole submissions -----------------------------------------------------------------------
    def _score(self, sub: Submission, q: Question, verdicts: dict[str, Verdict] | None,
               blanket: Verdict | None) -> None:
        total = 0.0
        for t in q.tests:
            cases = [c for c in self.cases[q.id] if c.test is t]
            vs = [blanket] * len(cases) if blanket else [verdicts[c.id] for c in cases]
            bad = [(k, v) for k, v in enumerate(vs) if not v.ok]
            if bad and len(cases) > 1:
                k, v = bad[0]
                v = Verdict(False, v.kind, f"case {k + 1} of {len(cases)}: {v.message}")
            else:
                v = bad[0][1] if bad else diagnose.PASS
            earned = 0.0 if bad else t.points
            total += earned
            sub.results.append(TestResult(q.id, t.name, t.public, earned, t.points, v))
        sub.scores[q.id] = total

    def plan(self, path: Path) -> tuple[Submission, list[tuple[Question, list[str]]]]:
        """Read a submission; return it (with zero scores for what cannot run) and the runs to do."""
        sub = Submission(student_id(path), path)
        try:
            nb = read_submission(path)
        except (ValueError, OSError) as exc:
            sub.notes.append(str(exc))
            for q in self.sheet.questions.values():
                self._score(sub, q, None, Verdict(False, "missing", str(exc)))
            return sub, []
        cells, notes = answer_cells(nb, self.sheet)
        sub.notes += notes
        sub.cell_questions = [qid for qid, _ in cells]
        if sum(len(c) for _, c in cells) > MAX_CODE_CHARS:
            sub.notes.append("answer cells longer than 200,000 characters")
            for q in self.sheet.questions.values():
                self._score(sub, q, None, Verdict(False, "missing", "answer cells too long"))
            return sub, []
        runs = []
        for q in self.sheet.questions.values():
            own = [c for qid, c in cells if qid == q.id]
            if not own:
                self._score(sub, q, None, Verdict(False, "missing", f"no answer cell for {q.id} "
                            f"(deleted, or it no longer defines {q.function}())"))
            elif any(_NNLIB.search(c) for c in own):
                note = (f"{q.id}: the answer uses nnlib, the course's reference library; answers "
                        f"must be written by hand, so this question scores 0")
                sub.question_notes.setdefault(q.id, []).append(note)
                self._score(sub, q, None, Verdict(False, "nnlib", "uses nnlib (not allowed)"))
            else:
                runs.append((q, [c for _, c in cells]))
        return sub, runs

    def grade(self, paths: list[Path], jobs: int | None = None) -> list[Submission]:
        """Grade files in parallel (one sandboxed run per submission)."""
        planned = [self.plan(p) for p in paths]
        units = [(sub, runs) for sub, runs in planned if runs]
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            results = list(pool.map(lambda u: self._run_submission(
                [q for q, _ in u[1]], u[1][0][1]), units))
        for (sub, runs), (verdicts, errors) in zip(units, results):
            for q, _ in runs:
                self._score(sub, q, verdicts, None)
            for k, text in errors.items():
                owner = sub.cell_questions[k]
                note = f"running the answer cell of {owner} raised {text}"
                if note not in sub.question_notes.setdefault(owner, []):
                    sub.question_notes[owner].append(note)
        subs = [sub for sub, _ in planned]
        for sub in subs:
            order = list(self.sheet.questions)
            sub.results.sort(key=lambda r: order.index(r.question))
            sub.scores = {q: sub.scores[q] for q in order}
        return subs

    # -- output ----------------------------------------------------------------------------------
    def feedback(self, sub: Submission) -> str:
        """The feedback text for one student (Markdown)."""
        sh = self.sheet
        lines = [f"# Feedback on {sh.name}: {sub.student}", "",
                 f"Total: {sub.total:g} / {sh.points:g}", ""]
        lines += [f"- Note: {n}" for n in sub.notes] + ([""] if sub.notes else [])
        for q in sh.questions.values():
            lines += [f"## {q.id}: {q.function}() -- {sub.scores[q.id]:g} / {q.points:g}", ""]
            lines += [f"- Note: {n}" for n in sub.question_notes.get(q.id, [])]
            for r in (r for r in sub.results if r.question == q.id):
                what = ("public test" if r.public else
                        f"hidden test ({r.possible:g} point{'' if r.possible == 1 else 's'})")
                lines.append(f"- {what} \"{r.test}\": {r.verdict.message}")
            if sub.scores[q.id] < q.points:
                lines.append(f"- Re-read: chapter {q.chapter}, section {q.section} "
                             f"(../chapters/{q.chapter}.html#{q.section})")
            lines.append("")
        lines.append(f"Hidden inputs came from this run's seed {self.seed}; a correct answer "
                     f"passes them whatever the seed.")
        return "\n".join(lines) + "\n"

    def gradebook(self, subs: list[Submission]) -> str:
        """The CSV gradebook: one row a student, one column a question, the total, a note."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["student", *self.sheet.questions, "total", "note"])
        safe = lambda s: "'" + s if s[:1] in ("=", "+", "-", "@") else s
        for sub in sorted(subs, key=lambda s: s.student):
            w.writerow([safe(sub.student), *(f"{v:g}" for v in sub.scores.values()),
                        f"{sub.total:g}", safe("; ".join(sub.notes))[:300]])
        return buf.getvalue()


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and os.replace (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def submissions_in(folder: Path) -> list[Path]:
    """Every regular, non-hidden file directly in ``folder``."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink()
                  and not p.name.startswith("."))


def grade_folder(sheet: Sheet | str | Path, folder: Path, gradebook: Path,
                 feedback_dir: Path | None = None, *, jobs: int | None = None,
                 seed: int | None = None, limits: sandbox.Limits | None = None,
                 mode: str | None = None) -> tuple[Grader, list[Submission]]:
    """Grade every file in ``folder``; write the CSV gradebook and one feedback file each."""
    folder, gradebook = Path(folder).resolve(), Path(gradebook).resolve()
    feedback_dir = Path(feedback_dir or gradebook.with_name(gradebook.stem + "-feedback")).resolve()
    grader = Grader(sheet, seed=seed, limits=limits, mode=mode,
                    mask=[folder, feedback_dir, gradebook.parent])
    subs = grader.grade(submissions_in(folder), jobs=jobs)
    for sub in subs:
        atomic_write(feedback_dir / f"{sub.student}.md", grader.feedback(sub))
    atomic_write(gradebook, grader.gradebook(subs))
    return grader, subs
