"""Command line: ``nngrade generate``, ``nngrade grade``, ``nngrade verify``."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import generate, grade, sandbox, sheet, submission


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
    # The full sandbox, or a weaker one only when the instructor names it: never a silent fallback.
    try:
        if args.isolation == "auto":
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
    print(f"isolation: {sandbox.describe(mode)}", file=sys.stderr)
    if mode == "limits":
        sandbox.become_subreaper()
    start = time.monotonic()
    grader, subs = grade.grade_folder(_sheets([name], Path(args.source_dir))[0], folder,
                                      Path(args.output), Path(args.feedback) if args.feedback else None,
                                      jobs=args.jobs, seed=args.seed, limits=_limits(args),
                                      mode=mode)
    for entry in grader.not_graded:
        print(f"not graded: {entry.file}: {entry.reason}", file=sys.stderr)
    print(f"graded {len(subs)} submission(s) of {grader.sheet.name} in "
          f"{time.monotonic() - start:.1f} s ({mode} isolation); "
          f"gradebook {args.output}, maximum {grader.sheet.points:g} points")
    return 0


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
    run_opts(r)
    r.set_defaults(func=cmd_grade)

    v = sub.add_parser("verify", help="check that reference, stub and wrong answers grade as declared")
    v.add_argument("sheets", nargs="*")
    run_opts(v)
    v.set_defaults(func=cmd_verify)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
