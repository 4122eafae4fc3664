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

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
