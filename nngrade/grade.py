"""Grading: sandboxed runs, comparison in this process, scores.

Only the graded answer cells of a submission are used: the grader runs the instructor's setup
code and then those cells in a sandbox (:mod:`nngrade.sandbox`, running :mod:`nngrade.runner`
with the file protocol of :mod:`nngrade.protocol`) and asks for the function's outputs on inputs
it chose (hidden ones drawn from a per-run secret seed). Scores are computed here, from files
read as untrusted input (:mod:`nngrade.codec`); each submission is graded inside a guard, so
whatever it does it gets a row, and every other submission is graded normally. The report and
gradebook are written by :mod:`nngrade.report`.
"""
from __future__ import annotations

import builtins
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import codec, executors, protocol, report, sandbox, shards, submission, verdicts
from .i18n import Text, safe_translator
from .late import LatePolicy
from .progress import Progress
from .results import Case, NotGraded, Submission, TestResult
from .sheet import Question, Sheet, Test, hidden_cases, load_sheet, reference
from .verdicts import Verdict

_MISSING = object()
_BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items()
                       if isinstance(v, type) and issubclass(v, BaseException)}


#: Runs that end with nothing at all in out/ (not one result, error or cell record), without a
#: timeout or the memory limit, are run once more: a batch of 1,000 under load showed rare such
#: runs of correct answers, which a rerun grades normally. A submission that really ends before
#: writing anything (os._exit at the top) ends the same way twice and keeps its "no result".
SILENT_RETRIES = 1


def _silent(run: sandbox.RunResult, out: Path) -> bool:
    """True when the run left out/ empty for no reason of its own (see SILENT_RETRIES)."""
    if run.timed_out or getattr(run, "oom_kills", 0) or out.is_symlink() or not out.is_dir():
        return False
    with os.scandir(out) as entries:
        return next(entries, None) is None


# --- grading ------------------------------------------------------------------------------------

def _could_not(what: str, exc: Exception) -> str:
    """The guard's note: the grader could not read or grade this submission, and why."""
    error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
    if what == "read":
        return Text("the grader could not read this submission ({error})", error=error)
    return Text("the grader could not grade this submission ({error})", error=error)


def _calls(code: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*\(", code) is not None


class Grader:
    """Grades submissions of one sheet. Hidden inputs come from ``seed`` (secret by default)."""

    def __init__(self, sheet: Sheet | str | Path, *, seed: int | None = None,
                 limits: sandbox.Limits | None = None, mode: str | None = None,
                 mask: list[Path] | None = None) -> None:
        self.sheet = sheet if isinstance(sheet, Sheet) else load_sheet(sheet)
        self.seed = secrets.randbits(62) if seed is None else seed
        self.limits = limits or sandbox.Limits()
        self.mode = mode or sandbox.detect_mode()
        self.mask = sandbox.mask_dirs(self.sheet.path.parent, list(mask or []))
        self.not_graded: list[NotGraded] = []
        self.failures: list[tuple[str, str]] = []   # (student, why) not graded: machinery failed
        self.missing: list[str] = []                # students of the run without a grade
        self.graded_now = 0
        self.where = "this process"
        ref = reference(self.sheet)
        hidden = hidden_cases(self.sheet, self.seed)
        self.cases: dict[str, list[Case]] = {}
        for q in self.sheet.questions.values():
            index = {id(t): k for k, t in enumerate(q.tests)}
            rows: list[tuple[Test, dict[str, Any]]] = [(t, t.args) for t in q.tests if t.public]
            rows += [(t, args) for t, many in hidden[q.id] for args in many]
            order = np.random.default_rng([self.seed, 99]).permutation(len(rows))
            self.cases[q.id] = [Case(f"{q.id}-c{i:03d}", rows[k][0], f"{q.id}-t{index[id(rows[k][0])]}",
                                     rows[k][1], ref[q.function](**codec.fresh(rows[k][1])))
                                for i, k in enumerate(order)]

    def tests(self, q: Question) -> list[tuple[str, Test, list[Case]]]:
        """(test id, test, its cases) for each test of a question, in the sheet's order."""
        out = []
        for k, t in enumerate(q.tests):
            out.append((f"{q.id}-t{k}", t, [c for c in self.cases[q.id] if c.test is t]))
        return out

    # -- one submission: one sandboxed run, one forked child per test ------------------------------
    def _run_submission(self, questions: list[Question], cells: list[str],
                        owners: list[str] | None = None
                        ) -> tuple[dict[str, Verdict], dict[int, Verdict]]:
        """Run the answer cells once in a fresh sandbox and every test's cases in it; return
        verdicts per case id and the error of each cell that raised."""
        work = Path(tempfile.mkdtemp(prefix="nngrade-"))
        try:
            inputs = work / protocol.IN
            inputs.mkdir()
            for k, code in enumerate(cells):
                (inputs / protocol.cell_file(k)).write_text(code, encoding="utf-8",
                                                           errors="replace")  # lone surrogates
            tests = []
            for q in questions:
                for test_id, _, cases in self.tests(q):
                    tests.append({"id": test_id, "function": q.function,
                                  "deadline": self.limits.timeout, "calls": [
                                      {"id": c.id, "args": {
                                          k: codec.write_value(v, str(inputs), f"{c.id}.{k}")
                                          for k, v in c.args.items()}} for c in cases]})
            job = {"setup": self.sheet.setup, "protocol": protocol.for_runner(), "tests": tests,
                   "cells": [protocol.cell_file(k) for k in range(len(cells))]}
            for attempt in range(1 + SILENT_RETRIES):
                if attempt:                       # a fresh out/ for the rerun
                    shutil.rmtree(work / protocol.OUT, ignore_errors=True)
                run = sandbox.run(work, job, self.limits, self.mode, self.mask,
                                  budget=self.limits.timeout * (len(tests) + 1))
                if not _silent(run, work / protocol.OUT):
                    break
            out = work / protocol.OUT
            if out.is_symlink():  # only possible without a private uid: read nothing
                out.unlink()
            if not out.is_dir():
                out = work / "no-output"
                out.mkdir()
            owners = owners or []
            results = {c.id: self._verdict(q, c, out, run, owners)
                       for q in questions for c in self.cases[q.id]}
            errors = {}
            for k in range(len(cells)):
                record = codec.read_json(str(out / protocol.cell_error_name(k)))
                if record is not None:
                    errors[k] = self._exception(record, owners)
            return results, errors
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _exception(self, record: dict[str, Any], owners: list[str]) -> Verdict:
        kind = record.get("type")
        if kind == "Timeout":
            return Verdict(False, "timeout", Text("took longer than {seconds} s of CPU time (an "
                                                  "infinite loop?)",
                                                  seconds=f"{self.limits.call_timeout:g}"))
        # a class name of the answer's own could carry data too: letters only, the usual forms
        if not (isinstance(kind, str) and (kind in _BUILTIN_EXCEPTIONS or re.fullmatch(
                r"[A-Z][A-Za-z]{0,40}(Error|Exception)", kind))):
            kind = Text("an exception of its own class")
        msg = record.get("message")
        line, cell = record.get("line"), record.get("cell")
        where = owners[cell] if isinstance(cell, int) and 0 <= cell < len(owners) else None
        return verdicts.exception(kind, msg if isinstance(msg, str) else "",
                                  line=line if isinstance(line, int) else None, where=where,
                                  hide_numbers=True)

    def _verdict(self, q: Question, case: Case, out: Path, run: sandbox.RunResult,
                 owners: list[str]) -> Verdict:
        try:
            got = codec.read_result(str(out), protocol.result_stem(case.id))
        except FileNotFoundError:
            got = _MISSING
        except (codec.BadResult, OSError) as exc:
            return Verdict(False, "type", Text("the result could not be read as numbers "
                                               "({error})", error=str(exc)))
        if got is _MISSING:
            record = codec.read_json(str(out / protocol.error_name(case.id)))
            if record is not None:
                kind, msg = record.get("type"), record.get("message")
                if kind == "NameError" and isinstance(msg, str) and msg.startswith("function "):
                    return Verdict(False, "missing", Text("function {name} is not defined by "
                                                          "your answer cells (renamed?)",
                                                          name=q.function))
                return self._exception(record, owners)
            if codec.read_text(str(out / protocol.killed_name(case.test_id))) is not None \
                    or run.timed_out:
                return Verdict(False, "timeout", Text("the test was stopped after {seconds} s "
                                                      "(an infinite loop?)",
                                                      seconds=f"{self.limits.timeout:g}"))
            return Verdict(False, "exception", Text("no result: the process ended before this "
                                                    "test (sys.exit, os._exit, a crash, or the "
                                                    "memory limit?)"))
        verdict = verdicts.compare(case.expected, got, rtol=q.rtol, atol=q.atol, args=case.args)
        if verdict.ok:
            text = codec.read_text(str(out / protocol.inplace_name(case.id)))
            changed = [n for n in (text or "").split() if n in case.args]
            if changed:
                verdict = verdicts.input_modified(changed)
        return verdict

    # -- whole submissions -----------------------------------------------------------------------
    def _score(self, sub: Submission, q: Question, results: dict[str, Verdict] | None,
               blanket: Verdict | None) -> None:
        total = 0.0
        sub.results = [r for r in sub.results if r.question != q.id]
        for _, t, cases in self.tests(q):
            vs = [blanket] * len(cases) if blanket else [results[c.id] for c in cases]
            bad = [(k, v) for k, v in enumerate(vs) if not v.ok]
            if bad and len(cases) > 1:
                k, v = bad[0]
                v = Verdict(False, v.kind, Text("case {k} of {n}: {message}", k=k + 1,
                                                n=len(cases), message=v.message))
            else:
                v = bad[0][1] if bad else verdicts.PASS
            earned = 0.0 if bad else t.points
            total += earned
            sub.results.append(TestResult(q.id, t.name, t.public, earned, t.points, v))
        sub.scores[q.id] = total

    def _fail(self, sub: Submission, reason: str) -> None:
        """The guard: this submission gets 0 and the reason; nothing else is affected."""
        sub.notes.append(reason)
        sub.results = []
        for q in self.sheet.questions.values():
            self._score(sub, q, None, Verdict(False, "exception", reason))

    def plan(self, sub: Submission) -> list[tuple[Question, list[str]]]:
        """Read a submission; score what cannot run (zero) and return the runs to do."""
        try:
            nb = submission.read_submission(sub.path)
            sub.lang = nb.lang
        except (submission.SubmissionError, OSError) as exc:
            sub.notes.append(str(exc))
            for q in self.sheet.questions.values():
                self._score(sub, q, None, Verdict(False, "missing", str(exc)))
            return []
        cells, notes = submission.answer_cells(nb, self.sheet)
        sub.notes += notes
        sub.cell_questions = [qid for qid, _ in cells]
        sub.cell_codes = [code for _, code in cells]
        if sum(len(c) for _, c in cells) > submission.MAX_CODE_CHARS:
            sub.notes.append(Text("answer cells longer than {limit} characters",
                                  limit=f"{submission.MAX_CODE_CHARS:,}"))
            for q in self.sheet.questions.values():
                self._score(sub, q, None, Verdict(False, "missing", Text("answer cells too long")))
            return []
        runs = []
        for q in self.sheet.questions.values():
            own = [c for qid, c in cells if qid == q.id]
            if not own:
                self._score(sub, q, None, Verdict(False, "missing", Text(
                    "no answer cell for {question} (deleted, or it no longer defines {name}())",
                    question=q.id, name=q.function)))
            elif any(submission.uses_nnlib(c) for c in own):
                note = Text("{question}: the answer uses nnlib, the course's reference library; "
                            "answers must be written by hand, so this question scores 0",
                            question=q.id)
                sub.question_notes.setdefault(q.id, []).append(note)
                self._score(sub, q, None, Verdict(False, "nnlib", Text("uses nnlib (not allowed)")))
            else:
                runs.append((q, [c for _, c in cells]))
        return runs

    def _grade_one(self, sub: Submission, runs: list[tuple[Question, list[str]]]) -> None:
        results, errors = self._run_submission([q for q, _ in runs], runs[0][1],
                                               sub.cell_questions)
        for q, _ in runs:
            self._score(sub, q, results, None)
        for k, v in errors.items():
            owner = sub.cell_questions[k]
            note = Text("running the answer cell of {question} {message}", question=owner,
                        message=v.message)
            if note not in sub.question_notes.setdefault(owner, []):
                sub.question_notes[owner].append(note)

    def _dependencies(self, sub: Submission) -> None:
        """A question whose code calls another question's function that failed gets a note
        naming that question: its own diagnosis may be hidden behind the other mistake."""
        qs = self.sheet.questions
        for q in qs.values():
            if sub.scores.get(q.id, 0) >= q.points:
                continue
            own = "\n".join(c for qid, c in zip(sub.cell_questions, sub.cell_codes) if qid == q.id)
            for other in qs.values():
                if other.id != q.id and sub.scores.get(other.id, 0) < other.points \
                        and _calls(own, other.function):
                    sub.question_notes.setdefault(q.id, []).append(Text(
                        "{question}: your {name}() calls {other}() from {other_question}, which "
                        "did not pass all its tests: fix {other_question} first; {question} may "
                        "pass once it does", question=q.id, name=q.function,
                        other=other.function, other_question=other.id))

    def grade(self, paths: list[Path] | list[submission.Entry], jobs: int | None = None
              ) -> list[Submission]:
        """Grade notebooks in parallel (one sandboxed run per submission), each in a guard."""
        entries = [p for p in paths if isinstance(p, submission.Entry)]
        if len(entries) != len(paths):
            ids = submission.student_ids([Path(p).name for p in paths])
            entries = [submission.Entry(Path(p), Path(p).name, ids[Path(p).name]) for p in paths]
        subs, units = [], []
        for e in entries:
            sub = Submission(e.student or "unnamed", e.path, e.name)
            subs.append(sub)
            try:
                runs = self.plan(sub)
            except Exception as exc:  # the guard: any failure costs this submission only
                self._fail(sub, _could_not("read", exc))
                continue
            if runs:
                units.append((sub, runs))

        def work(unit: tuple[Submission, list[tuple[Question, list[str]]]]) -> None:
            sub, runs = unit
            try:
                self._grade_one(sub, runs)
            except Exception as exc:  # the guard
                self._fail(sub, _could_not("grade", exc))

        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            list(pool.map(work, units))
        for sub in subs:
            self._finish(sub)
        return subs

    def _finish(self, sub: Submission, only: tuple[str, ...] | None = None,
                prior: dict[str, float] | None = None) -> None:
        """Notes on dependent questions, results in the sheet's order; with ``only``, keep only
        those questions (the others' ``prior`` scores are used for the notes)."""
        order = list(self.sheet.questions)
        if only is not None:
            for q in order:
                if q not in only:
                    sub.scores[q] = (prior or {}).get(q, 0.0)
        try:
            self._dependencies(sub)
        except Exception:  # noqa: BLE001 -- a note is never worth a crash
            pass
        sub.results.sort(key=lambda r: order.index(r.question))
        sub.scores = {q: sub.scores.get(q, 0.0) for q in order}
        if only is not None:
            sub.scores = {q: v for q, v in sub.scores.items() if q in only}
            sub.results = [r for r in sub.results if r.question in only]
            sub.question_notes = {q: v for q, v in sub.question_notes.items() if q in only}

    def grade_one(self, student: str, file: str, path: Path | None, *, error: str | None = None,
                  only: tuple[str, ...] | None = None, prior: dict[str, float] | None = None
                  ) -> Submission:
        """Grade one submission (its file at ``path``, or ``error``: why it could not be read)
        inside the guard, in this thread; ``only``: just these questions."""
        sub = Submission(student, path or Path(file), file)
        runs: list[tuple[Question, list[str]]] = []
        if path is None:   # the grader's process could not read it: zero, with the reason
            sub.notes.append(error or "the file could not be read")
            for q in self.sheet.questions.values():
                self._score(sub, q, None, Verdict(False, "missing", sub.notes[-1]))
        else:
            try:
                runs = self.plan(sub)
            except Exception as exc:  # the guard: any failure costs this submission only
                self._fail(sub, _could_not("read", exc))
        if only is not None:
            runs = [r for r in runs if r[0].id in only]
        if runs:
            try:
                self._grade_one(sub, runs)
            except Exception as exc:  # the guard
                self._fail(sub, _could_not("grade", exc))
        self._finish(sub, only, prior)
        sub.path = Path(file)
        return sub

    # -- output (see nngrade.report) ---------------------------------------------------------------
    def feedback(self, sub: Submission) -> str:
        return report.feedback(self.sheet, sub, self.seed)

    def gradebook(self, subs: list[Submission]) -> str:
        return report.gradebook(self.sheet, subs)


def student_id(path: Path) -> str:
    """The id of a notebook graded alone (in a folder, :func:`submission.student_ids` makes
    every id unique)."""
    return submission.student_ids([Path(path).name])[Path(path).name]


def submissions_in(folder: Path) -> list[Path]:
    """The notebooks of ``folder`` that are graded (see :func:`submission.list_folder`)."""
    return [e.path for e in submission.list_folder(Path(folder)) if e.reason is None]


class GradeError(ValueError):
    """Options of a grading run that cannot be followed (the message says why)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def grade_folder(sheet: Sheet | str | Path, folder: Path, gradebook: Path,
                 feedback_dir: Path | None = None, *, jobs: int | None = None,
                 seed: int | None = None, limits: sandbox.Limits | None = None,
                 mode: str | None = None, scheduler: str | None = None,
                 shard: tuple[int, int] | None = None, resume: bool = False,
                 students: list[str] | None = None, questions: list[str] | None = None,
                 late_policy: LatePolicy | None = None,
                 submitted_at: dict[str, datetime] | None = None,
                 progress: Progress | bool | None = None) -> tuple[Grader, list[Submission]]:
    """Grade the notebooks in ``folder`` (and its sub-folders); write the CSV gradebook, one
    feedback file per student and the list of entries not graded, with the reason (also in
    ``grader.not_graded``).

    Submissions are graded by a local process pool of ``jobs`` processes, or by the Dask cluster
    at ``scheduler`` (:mod:`nngrade.executors`). Each result is appended to the log
    ``<gradebook>.log.jsonl`` as it arrives (:mod:`nngrade.shards`); the gradebook is written
    from the log at the end: every student of the run's scope with a grade of this sheet
    version. ``shard=(I, N)``: only the students of shard I of N (and a manifest for
    ``nngrade merge``). ``resume``: skip the students the log already holds. ``students`` (ids or
    file names) and ``questions``: regrade just those; no other student's row changes.
    ``late_policy`` and ``submitted_at`` (student id or file name -> time): late penalties.
    Students not graded because the machinery failed are in ``grader.failures`` (rerun with
    ``resume``)."""
    folder, gradebook = Path(folder).resolve(), Path(gradebook).resolve()
    feedback_dir = Path(feedback_dir or gradebook.with_name(gradebook.stem + "-feedback")).resolve()
    sheet_path = (sheet.path if isinstance(sheet, Sheet) else Path(sheet)).resolve()
    seed_policy = "secret" if seed is None else "fixed"
    job = executors.Job(str(sheet_path), executors.sheet_hash(sheet_path),
                        secrets.randbits(62) if seed is None else seed,
                        limits or sandbox.Limits(), mode or sandbox.detect_mode(),
                        (str(folder), str(feedback_dir), str(gradebook.parent)))
    # the sheet here first, and the isolation too unless the workers of a cluster provide it
    grader = executors.grader_for(job, check=scheduler is None)
    sh = grader.sheet
    entries = submission.list_folder(folder)
    skipped = [NotGraded(e.name, e.reason) for e in entries if e.reason is not None]
    scope = shards.select([e for e in entries if e.reason is None], lambda e: e.student, shard)
    log_file = shards.log_path(gradebook)
    earlier = shards.latest([r for r in shards.read_log(log_file)[0]
                             if r.get("sheet_hash") == job.sheet_hash and r.get("sheet") == sh.name])
    if questions:
        unknown = [q for q in questions if q not in sh.questions]
        if unknown:
            raise GradeError(f"--question {', '.join(unknown)}: {sh.name} has the questions "
                             f"{', '.join(sh.questions)}")
    todo = scope
    if students:
        wanted = set(students)
        todo = [e for e in scope if e.student in wanted or e.name in wanted]
        found = {e.student for e in todo} | {e.name for e in todo}
        unknown = sorted(wanted - found)
        if unknown:
            raise GradeError(f"--student {', '.join(unknown)}: no such submission in {folder}"
                             + (f" (shard {shard[0]}/{shard[1]})" if shard else "")
                             + "; use the ids of the gradebook's student column or file names")
    elif resume:
        todo = [e for e in scope if e.student not in earlier]
    if shard is not None:
        report.atomic_write(shards.manifest_path(gradebook), json.dumps({
            "shard": shard[0], "shards": shard[1], "sheet": sh.name,
            "sheet_hash": job.sheet_hash, "seed_policy": seed_policy,
            "seed": job.seed if seed_policy == "fixed" else None,
            "late_policy": late_policy.describe() if late_policy else None,
            "students": sorted(e.student for e in entries if e.reason is None),
            "not_graded": [{"file": e.file, "reason": e.reason} for e in skipped]},
            indent=1) + "\n")
    times = submitted_at or {}
    only = tuple(q for q in sh.questions if q in questions) if questions else None

    def tasks() -> Iterator[executors.Task]:
        for e in todo:
            try:
                data, error = submission.read_bytes(e.path), None
            except submission.SubmissionError as exc:
                data, error = None, str(exc)
            prev = earlier.get(e.student)
            part = only if prev is not None else None   # no earlier grade: grade it all
            yield executors.Task(job, e.student, e.name, data, error, part,
                                 {q["question"]: q["score"] for q in prev["questions"]}
                                 if part and prev else None)

    bar = Progress(len(todo)) if progress is True else progress or None

    def done(task: executors.Task, result: dict[str, Any]) -> None:
        when = times.get(task.student, times.get(task.file))
        rec = report.record(sh, result, sheet_hash=job.sheet_hash, seed=job.seed,
                            seed_policy=seed_policy, graded_at=_now(),
                            previous=earlier.get(task.student) if task.only else None,
                            late=late_policy, submitted=when)
        sub = report.submission_of(rec)
        try:
            text = report.feedback(sh, sub, job.seed)
        except Exception as exc:  # the guard: a row and a feedback file whatever happens
            _ = safe_translator(sub.lang)
            text = "\n\n".join([
                _("# Feedback on {sheet}: {student}").format(sheet=sh.name, student=sub.student),
                _("Total: {total} / {points}").format(total=f"{sub.total:g}",
                                                      points=f"{sh.points:g}"),
                _("(the details could not be written: {error})").format(
                    error=type(exc).__name__)]) + "\n"
        report.atomic_write(feedback_dir / f"{sub.student}.md", text)
        log.append(rec)
        if bar is not None:
            bar.update(task.student, result.get("seconds"))

    with shards.Log(log_file) as log, executors.executor(jobs, scheduler) as (ex, slots, what):
        grader.where = what
        failures = executors.run(ex, slots, tasks(), done)
    if bar is not None:
        bar.finish()
    final = shards.latest([r for r in shards.read_log(log_file)[0]
                           if r.get("sheet_hash") == job.sheet_hash and r.get("sheet") == sh.name])
    rows = {e.student: final[e.student] for e in scope if e.student in final}
    subs = [report.submission_of(r) for r in rows.values()]
    late = rows if any(r.get("late_policy") for r in rows.values()) else None
    report.atomic_write(gradebook, report.gradebook(sh, subs, late))
    report.atomic_write(report.not_graded_path(gradebook), report.not_graded(skipped))
    grader.not_graded = skipped
    grader.failures = [(t.student, f"{type(exc).__name__}: {exc}") for t, exc in failures]
    grader.missing = [e.student for e in scope if e.student not in final]
    grader.graded_now = len(todo) - len(failures)
    return grader, subs
