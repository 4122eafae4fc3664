"""Command line: ``nngrade generate``, ``nngrade grade``, ``nngrade merge``, ``nngrade verify``."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import executors, generate, grade, late, report, sandbox, shards, sheet, submission


def _sheets(names: list[str], source_dir: Path) -> list[Path]:
    if not names:
        return sheet.all_sources(source_dir)
    out = []
    for n in names:
        p = Path(n)
        out.append(p if p.suffix == ".ipynb" else source_dir / f"{n}.ipynb")
    return out


def cmd_generate(args: argparse.Namespace) -> int:
    status = 0
    for path in _sheets(args.sheets, Path(args.source_dir)):
        try:
            sh = sheet.load_sheet(path)
        except sheet.AuthoringError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.check:
            problems = generate.out_of_date(sh)
            for p in problems:
                print(f"out of date: {p}")
            status |= bool(problems)
            if not problems:
                print(f"{sh.name}: up to date")
        else:
            try:
                nb_path, json_path = generate.generate(sh, execute=not args.no_execute)
            except sheet.AuthoringError as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = 1
                continue
            print(f"{sh.name}: wrote {nb_path} and {json_path}")
    if args.check and status:
        print("run `nngrade generate` to regenerate", file=sys.stderr)
    return status


def _limits(args: argparse.Namespace) -> sandbox.Limits:
    return sandbox.Limits(timeout=args.timeout, call_timeout=min(args.timeout, args.call_timeout),
                          memory_mb=args.memory)


def _detect_sheet(folder: Path) -> str | None:
    names = set()
    for entry in submission.list_folder(folder):
        if entry.reason is None:
            try:
                names.add(submission.read_submission(entry.path).sheet)
            except (submission.SubmissionError, OSError):
                continue
    names.discard(None)
    return names.pop() if len(names) == 1 else None


def cmd_grade(args: argparse.Namespace) -> int:
    folder = Path(args.submissions)
    if not folder.is_dir():
        print(f"error: {folder} is not a folder", file=sys.stderr)
        return 2
    name = args.sheet or _detect_sheet(folder)
    if name is None:
        print("error: cannot tell which sheet these are: pass --sheet NN_name", file=sys.stderr)
        return 2
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    # The full sandbox, or a weaker one only when the instructor names it: never a silent fallback.
    try:
        if scheduler:   # checked on each worker (one that cannot provide it stops the run)
            mode = "namespaces" if args.isolation == "auto" else args.isolation
        elif args.isolation == "auto":
            mode = sandbox.detect_mode(require="namespaces")
        else:
            mode = args.isolation
            sandbox.check(mode)
    except sandbox.IsolationUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        best = sandbox.detect_mode()
        print(f"What {best!r} isolation would not protect:", file=sys.stderr)
        for line in sandbox.limitations(best):
            print(f"  - {line}", file=sys.stderr)
        return 2
    if scheduler:
        print(f"isolation: {mode}, required of every worker of {scheduler}", file=sys.stderr)
    else:
        print(sandbox.describe(mode), file=sys.stderr)   # "isolation: MODE (...)", what it protects
    if mode == "limits" and not scheduler:
        sandbox.become_subreaper()
    try:
        shard = shards.parse_shard(args.shard) if args.shard else None
        policy = times = None
        if args.late_policy or args.deadline or args.submitted_at:
            if not (args.late_policy and args.deadline and args.submitted_at):
                raise late.LateError("late penalties need --late-policy, --deadline and "
                                     "--submitted-at (a CSV of student,submitted_at) together")
            policy = late.LatePolicy.parse(args.late_policy, args.deadline)
            times = late.read_times(Path(args.submitted_at))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        grader, subs = grade.grade_folder(
            _sheets([name], Path(args.source_dir))[0], folder, Path(args.output),
            Path(args.feedback) if args.feedback else None, jobs=args.jobs, seed=args.seed,
            limits=_limits(args), mode=mode, scheduler=scheduler, shard=shard,
            resume=args.resume, students=args.student, questions=args.question,
            late_policy=policy, submitted_at=times,
            progress=not args.quiet)
    except (grade.GradeError, executors.ClusterUnavailable, executors.SheetMismatch,
            sandbox.IsolationUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for entry in grader.not_graded:
        print(f"not graded: {entry.file}: {entry.reason}", file=sys.stderr)
    if times is not None:
        ids = {s.student for s in subs} | {s.file for s in subs}
        for who in sorted(set(times) - ids):
            print(f"warning: {args.submitted_at}: {who} is not a submission of this run",
                  file=sys.stderr)
    if times is not None:
        untimed = [s.student for s in subs if s.student not in times and s.file not in times]
        if untimed:
            print(f"warning: {len(untimed)} student(s) have no time in {args.submitted_at}, so "
                  f"no late penalty: {', '.join(untimed[:10])}"
                  f"{', ...' if len(untimed) > 10 else ''}", file=sys.stderr)
    for who, why in grader.failures:
        print(f"not graded this run (the grading machinery failed): {who}: {why}",
              file=sys.stderr)
    print(f"graded {grader.graded_now} submission(s) of {grader.sheet.name} in "
          f"{time.monotonic() - start:.1f} s ({mode} isolation, {grader.where}); "
          f"gradebook {args.output} ({len(subs)} rows), maximum {grader.sheet.points:g} points")
    if grader.missing:
        print(f"error: {len(grader.missing)} student(s) have no grade yet "
              f"({', '.join(grader.missing[:10])}{', ...' if len(grader.missing) > 10 else ''}): "
              f"rerun with --resume", file=sys.stderr)
        return 1
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Join the parts of a sharded run into one gradebook, log and feedback folder."""
    try:
        merged = shards.merge([Path(p) for p in args.parts])
    except shards.MergeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    path = _sheets([merged.sheet], Path(args.source_dir))[0]
    found = executors.sheet_hash(path) if path.is_file() else None
    if found != merged.sheet_hash:
        print(f"error: the parts were graded with {merged.sheet} version {merged.sheet_hash}, "
              f"but {path} is {found or 'missing'}: merge with the course checkout the shards "
              f"used", file=sys.stderr)
        return 2
    sh = sheet.load_sheet(path)
    out = Path(args.output)
    feedback_dir = Path(args.feedback or out.with_name(out.stem + "-feedback"))
    records = list(merged.records.values())
    log = shards.log_path(out)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    report.atomic_write(log, text)
    subs = [report.submission_of(r) for r in records]
    for sub, rec in zip(subs, records):
        report.atomic_write(feedback_dir / f"{sub.student}.md",
                            report.feedback(sh, sub, rec["seed"]))
    lates = merged.records if any(r.get("late_policy") for r in records) else None
    report.atomic_write(out, report.gradebook(sh, subs, lates))
    report.atomic_write(report.not_graded_path(out), report.not_graded(
        [report.NotGraded(e["file"], e["reason"]) for e in merged.not_graded]))
    print(f"merged {len(args.parts)} part(s): {len(records)} student(s) of {merged.sheet}, "
          f"{merged.duplicates} duplicate(s) dropped; gradebook {out}")
    for who in merged.conflicts:
        print(f"warning: {who} was graded twice with different results; the later grade is "
              f"kept", file=sys.stderr)
    if merged.missing_shards:
        print(f"error: no part for shard(s) {', '.join(merged.missing_shards)}", file=sys.stderr)
    if merged.missing:
        print(f"error: {len(merged.missing)} student(s) graded by no part: "
              f"{', '.join(merged.missing)}", file=sys.stderr)
    return 1 if merged.missing or merged.missing_shards else 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Grade the reference, the stub and every declared wrong answer of each sheet."""
    from .verify import verify_sheet
    status = 0
    for path in _sheets(args.sheets, Path(args.source_dir)):
        try:
            report = verify_sheet(path, limits=_limits(args), jobs=args.jobs)
        except sheet.AuthoringError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        for line in report.lines:
            print(line)
        status |= not report.ok
    return status


def cmd_export(args: argparse.Namespace) -> int:
    """Write the gradebook in an LMS's import format (nngrade/EXPORT.md)."""
    import json
    import re

    from . import export
    from .export_gradescope import bundle
    warn = lambda m: print(f"warning: {m}", file=sys.stderr)
    try:
        if args.autograder:
            if args.format != "gradescope" or not args.sheet:
                raise export.ExportError("--autograder DIR goes with `export gradescope --sheet NAME`")
            files = bundle(Path(args.autograder), args.sheet, Path(args.source_dir),
                           visibility=args.visibility, test_visibility=args.test_visibility,
                           isolation=args.isolation)
            print(f"wrote the Gradescope autograder {args.autograder} ({len(files)} files): zip its "
                  f"contents (not the folder) and upload the zip")
            return 0
        if not args.gradebook:
            raise export.ExportError("no gradebook: expected `nngrade export FORMAT GRADEBOOK.csv`")
        gradebook = Path(args.gradebook)
        maxima = export.sheet_maxima(args.sheet, Path(args.source_dir)) if args.sheet else None
        feedback = Path(args.feedback) if args.feedback else gradebook.with_name(
            gradebook.stem + "-feedback")
        grades = export.load_grades(gradebook, log=Path(args.log) if args.log else None,
                                    maxima=maxima, feedback_dir=feedback if feedback.is_dir() else None,
                                    warn=warn)
        outputs: dict[Path, str] = {}
        if args.format == "long":
            out = Path(args.output or gradebook.with_name(gradebook.stem + "-long.csv"))
            outputs[out] = export.long_csv(grades)
        elif args.format == "gradescope":
            results = [export.gradescope_results(g, visibility=args.visibility,
                                                 test_visibility=args.test_visibility)
                       for g in grades]
            dump = lambda r: json.dumps(r, indent=2, ensure_ascii=False) + "\n"
            if len(grades) == 1 and not (args.output or "").endswith("/"):
                outputs[Path(args.output or "results.json")] = dump(results[0])
            else:
                folder = Path(args.output or gradebook.with_name(gradebook.stem + "-gradescope"))
                outputs.update({folder / f"{g.student}.json": dump(r) for g, r in zip(grades, results)})
        else:
            if not args.roster or not args.key:
                raise export.ExportError(f"`export {args.format}` needs --roster FILE.csv and --key "
                                         f"COLUMN (the roster column that names the student)")
            roster = export.read_roster(Path(args.roster), args.key)
            joined = export.join(roster, grades, export.submission_key(args.match, args.file_pattern))
            out = Path(args.output or gradebook.with_name(f"{gradebook.stem}-{args.format}.csv"))
            name = args.assignment or grades[0].sheet or args.sheet or gradebook.stem
            if args.format == "canvas":
                points = args.points_possible
                if points is None and not args.no_points_possible:
                    points = grades[0].max_total
                    if points is None:
                        warn("points possible unknown (no log, no --sheet): no Points Possible row")
                column = export.canvas_column(roster, name)
                if not re.search(r"\(\d+\)\s*$", column):
                    warn(f"the roster has no column {name!r} with a Canvas assignment id: Canvas "
                         f"will offer to create a new assignment {column!r} (pass --assignment "
                         f"'Name (id)' as in Canvas's export to update an existing one)")
                outputs[out] = export.canvas_csv(roster, joined, name, points_possible=points,
                                                 missing_as_zero=args.missing_as_zero)
            else:
                outputs[out] = export.moodle_csv(roster, joined, name, feedback=not args.no_feedback,
                                                 missing_as_zero=args.missing_as_zero)
            problems = export.unmatched(roster, joined)
            unmatched = Path(args.unmatched) if args.unmatched else export.unmatched_path(out)
            outputs[unmatched] = export._csv_text([export.UNMATCHED_COLUMNS, *(
                [export._guard(c) for c in row] for row in problems)])
            for row in problems:
                print(f"unmatched: {row[0]}: " + ", ".join(
                    f"{k}={v}" for k, v in zip(export.UNMATCHED_COLUMNS[1:], row[1:]) if v),
                    file=sys.stderr)
            print(f"{len(joined.matched)} of {len(roster.rows)} roster students matched; "
                  f"{len(problems)} listed in {unmatched}", file=sys.stderr)
        export.write_all(outputs)
    except export.ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in outputs:
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nngrade", description="The course's exercise grader.")
    ap.add_argument("--source-dir", default=str(sheet.SOURCE_DIR),
                    help="folder of source notebooks (default: exercises/source)")
    sub = ap.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate student notebooks from source notebooks")
    g.add_argument("sheets", nargs="*", help="sheet names like 01_neuron (default: all)")
    g.add_argument("--check", action="store_true", help="only report out-of-date files")
    g.add_argument("--no-execute", action="store_true", help="do not store outputs")
    g.set_defaults(func=cmd_generate)

    def run_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("-j", "--jobs", type=int, default=None, help="parallel runs (default: cores)")
        p.add_argument("--timeout", type=float, default=20.0,
                       help="seconds per test per submission (default 20)")
        p.add_argument("--call-timeout", type=float, default=5.0,
                       help="CPU seconds per call of the answer (default 5)")
        p.add_argument("--memory", type=int, default=1024, help="memory limit in MB (default 1024)")

    r = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    r.add_argument("submissions", help="folder with one submitted file per student")
    r.add_argument("-o", "--output", default="grades.csv", help="CSV gradebook (default grades.csv)")
    r.add_argument("--feedback", help="feedback folder (default: <gradebook>-feedback/)")
    r.add_argument("--sheet", help="sheet name, e.g. 01_neuron (default: from the notebooks)")
    r.add_argument("--seed", type=int, help="hidden-input seed (default: secret, random per run)")
    r.add_argument("--isolation", choices=["auto", *sandbox.MODES], default="auto",
                   help="auto (default): the full sandbox, or refuse; 'user' or 'limits' accept a "
                        "weaker one explicitly")
    r.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="grade on this Dask cluster (default: $DASK_SCHEDULER_ADDRESS, else a "
                        "local process pool of -j processes); needs pip install '.[cluster]'")
    r.add_argument("--shard", metavar="I/N", help="grade only shard I of N (0 <= I < N: students "
                   "sorted by id, every N-th from I); join the parts with nngrade merge")
    r.add_argument("--resume", action="store_true",
                   help="skip the students already graded in <gradebook>.log.jsonl")
    r.add_argument("--student", action="append", metavar="ID",
                   help="regrade only this student (id or file name; repeatable)")
    r.add_argument("--question", action="append", metavar="QN",
                   help="regrade only this question (repeatable); the others keep their grade")
    r.add_argument("--late-policy", metavar="per_day=P,cap=C,grace=G",
                   help="late penalty: P%% of the points per day late, at most C%%, none within "
                        "the grace period G (e.g. per_day=10,cap=50,grace=15m)")
    r.add_argument("--deadline", metavar="ISO-TIME", help="the deadline, with its time zone "
                   "(e.g. 2026-11-20T23:59:00+00:00)")
    r.add_argument("--submitted-at", metavar="CSV", help="the submission times: a CSV with "
                   "columns student,submitted_at (ISO 8601 with time zone), e.g. from the LMS")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    run_opts(r)
    r.set_defaults(func=cmd_grade)

    m = sub.add_parser("merge", help="join the gradebooks of a sharded run (grade --shard I/N)")
    m.add_argument("parts", nargs="+", help="the parts' gradebooks (or their .log.jsonl)")
    m.add_argument("-o", "--output", default="grades.csv", help="CSV gradebook (default grades.csv)")
    m.add_argument("--feedback", help="feedback folder (default: <gradebook>-feedback/)")
    m.set_defaults(func=cmd_merge)

    v = sub.add_parser("verify", help="check that reference, stub and wrong answers grade as declared")
    v.add_argument("sheets", nargs="*")
    run_opts(v)
    v.set_defaults(func=cmd_verify)

    e = sub.add_parser("export", help="write the gradebook for Canvas, Moodle, Gradescope or an audit")
    e.add_argument("format", choices=["canvas", "moodle", "gradescope", "long"])
    e.add_argument("gradebook", nargs="?", help="the CSV gradebook written by `nngrade grade`")
    e.add_argument("-o", "--output", help="output file (default: beside the gradebook)")
    e.add_argument("--log", help="per-question log (default: <gradebook>.log.jsonl if present)")
    e.add_argument("--feedback", help="feedback folder (default: <gradebook>-feedback/)")
    e.add_argument("--sheet", help="sheet name: question maxima from its source notebook")
    e.add_argument("--roster", help="roster CSV exported from the LMS (canvas, moodle)")
    e.add_argument("--key", help="roster column naming the student, e.g. 'SIS Login ID'")
    e.add_argument("--match", choices=["student", "file"], default="student",
                   help="compare --key with the grader's student id (default) or the file name")
    e.add_argument("--file-pattern", help="regex: the key is its first group in the file name")
    e.add_argument("--assignment", help="LMS grade column (Canvas: 'Name' or 'Name (id)')")
    e.add_argument("--points-possible", type=float, help="Canvas Points Possible (default: sheet)")
    e.add_argument("--no-points-possible", action="store_true", help="no Points Possible row")
    e.add_argument("--missing-as-zero", action="store_true",
                   help="roster students without a submission get 0 (default: left out)")
    e.add_argument("--no-feedback", action="store_true", help="Moodle: no feedback column")
    e.add_argument("--unmatched", help="list of unmatched students (default: <output>-unmatched.csv)")
    e.add_argument("--visibility", default="after_due_date",
                   choices=["hidden", "after_due_date", "after_published", "visible"],
                   help="Gradescope: when students see the result (default after_due_date)")
    e.add_argument("--test-visibility", default="after_due_date",
                   choices=["hidden", "after_due_date", "after_published", "visible"],
                   help="Gradescope: when students see each question's hidden-test result")
    e.add_argument("--autograder", help="Gradescope: write an autograder folder for --sheet")
    e.add_argument("--isolation", choices=list(sandbox.MODES),
                   help="Gradescope autograder: force a sandbox mode (default: strongest there)")
    e.set_defaults(func=cmd_export)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
