"""nngrade on Gradescope: the autograder bundle (``nngrade export gradescope --autograder DIR``)
and the program its ``run_autograder`` runs in Gradescope's container.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
the uploaded zip holds ``setup.sh`` and ``run_autograder`` at its root; its contents are extracted
to ``/autograder/source``; the student's files are in ``/autograder/submission``; the autograder
must write ``/autograder/results/results.json``; the working directory is ``/autograder``.

In the container, :func:`run` grades the one submitted notebook with ``nngrade grade`` (the same
command and sandbox as on the instructor's machine, in the strongest isolation the container
allows, printed to the instructor's stdout and stored in ``extra_data``) and writes the results
with :func:`nngrade.export.gradescope_results`. A submission that is not exactly one notebook
gets 0 and a message saying what to submit; a failure of the grader itself writes no results
(Gradescope then reports the autograder as failed, rather than a grade that was never decided).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from . import export

PACKAGE = Path(__file__).resolve().parent
VENV = "/opt/nngrade-venv"

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission (working directory /autograder). Written by
# `nngrade export gradescope --autograder`; see nngrade/EXPORT.md.
set -euo pipefail
AUTOGRADER="${{AUTOGRADER:-/autograder}}"
PYTHON="${{NNGRADE_PYTHON:-{venv}/bin/python}}"
cd "$AUTOGRADER/source"
exec env PYTHONPATH="$AUTOGRADER/source" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
    "$PYTHON" -m nngrade.export_gradescope --root "$AUTOGRADER" --sheet {sheet} \\
    --visibility {visibility} --test-visibility {test_visibility}{isolation}
"""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image. nngrade needs Python >= 3.11:
# pick Gradescope's Ubuntu 24.04 base image (Python 3.12). bubblewrap lets nngrade try its full
# sandbox (new namespaces); where the container forbids them, nngrade uses a weaker mode and says so.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv bubblewrap
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nngrade needs Python >= 3.11")'
python3 -m venv {venv}
{venv}/bin/pip install --no-cache-dir {requirements}
chmod -R a+rX {venv}
"""


def _pins() -> list[str]:
    """The grader's own dependencies, pinned to the versions it was tested with here."""
    out = []
    for name in ("numpy", "nbformat"):
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(name)
    return out


def bundle(directory: Path, sheet_name: str, source_dir: Path, *, visibility: str = "after_due_date",
           test_visibility: str = "after_due_date", isolation: str | None = None) -> list[Path]:
    """Write an autograder folder to zip and upload as is: ``run_autograder``, ``setup.sh``, the
    ``nngrade`` package, the sheet's source notebook (with its solutions: it stays on
    Gradescope's side) and the chapters its feedback links to. Returns the files written."""
    from .sheet import AuthoringError, load_sheet
    for v in (visibility, test_visibility):
        if v not in export.VISIBILITIES:
            raise export.ExportError(f"visibility {v!r}: expected one of "
                                     f"{', '.join(export.VISIBILITIES)}")
    src = Path(sheet_name) if sheet_name.endswith(".ipynb") else Path(source_dir) / f"{sheet_name}.ipynb"
    try:
        sh = load_sheet(src)
    except (AuthoringError, OSError) as exc:
        raise export.ExportError(f"cannot read the sheet {src}: {exc}") from None
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise export.ExportError(f"{directory} is not empty: expected a new or empty folder for "
                                 f"the autograder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        shutil.copytree(PACKAGE, staging / "nngrade",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.md"))
        (staging / "exercises" / "source").mkdir(parents=True)
        shutil.copyfile(src, staging / "exercises" / "source" / f"{sh.name}.ipynb")
        chapters = PACKAGE.parent / "chapters"
        for ch in sorted({q.chapter for q in sh.questions.values()}):
            if (chapters / f"{ch}.ipynb").is_file():
                (staging / "chapters").mkdir(exist_ok=True)
                shutil.copyfile(chapters / f"{ch}.ipynb", staging / "chapters" / f"{ch}.ipynb")
        run = RUN_AUTOGRADER.format(venv=VENV, sheet=sh.name, visibility=visibility,
                                    test_visibility=test_visibility,
                                    isolation=f" --isolation {isolation}" if isolation else "")
        setup = SETUP_SH.format(venv=VENV, requirements=" ".join(_pins()))
        staging.chmod(0o755)
        for name, text in (("run_autograder", run), ("setup.sh", setup)):
            (staging / name).write_text(text, encoding="utf-8")
            (staging / name).chmod(0o755)
        if directory.exists():
            directory.rmdir()
        os.replace(staging, directory)
        return sorted(p for p in directory.rglob("*") if p.is_file())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _results(root: Path) -> Path:
    return root / "results" / "results.json"


def _write(root: Path, results: dict) -> None:
    export.atomic_write_bytes(_results(root), (json.dumps(results, indent=2, ensure_ascii=False)
                                               + "\n").encode("utf-8"))


def submitted_notebooks(folder: Path) -> list[Path]:
    """Regular ``.ipynb`` files in the submission folder (no symlinks, no hidden entries)."""
    from .submission import list_folder
    return [entry.path for entry in list_folder(folder) if entry.reason is None]


def run(root: Path, sheet_name: str, *, isolation: str | None = None,
        visibility: str = "after_due_date", test_visibility: str = "after_due_date",
        timeout: float = 20.0) -> int:
    """Grade ``root/submission``'s notebook and write ``root/results/results.json``."""
    from . import sandbox
    root = Path(root)
    source = root / "source"
    found = submitted_notebooks(root / "submission")
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        _write(root, {"score": 0.0, "visibility": "visible", "stdout_visibility": "hidden",
                      "output": f"Submit exactly one Jupyter notebook (.ipynb) for {sheet_name}: "
                                f"found {len(found)} ({names}). Nothing was graded.",
                      "tests": []})
        print(f"not graded: {len(found)} notebooks in the submission ({names})")
        return 0
    if os.geteuid() == 0:   # the solutions (source/) and results/ are root's alone
        (root / "results").mkdir(exist_ok=True)
        for p in (source, source / "exercises", root / "results"):
            if p.exists():
                p.chmod(stat.S_IRWXU)
    mode = isolation or sandbox.detect_mode()
    if isolation is None and mode == "limits":
        print("error: this container offers only the 'limits' sandbox (answers would run as the "
              "grader's own user and could read the solutions): run the autograder as root, or "
              "pass --isolation limits in run_autograder to accept it", file=sys.stderr)
        return 2
    why = "chosen in run_autograder" if isolation else "the strongest this container offers"
    print(f"nngrade: grading in the '{mode}' sandbox ({why})", flush=True)
    work = Path(tempfile.mkdtemp(prefix="nngrade-gradescope-"))
    try:
        subs = work / "submissions"
        subs.mkdir()
        shutil.copyfile(found[0], subs / "submission.ipynb")
        gradebook = work / "grades.csv"
        cmd = [sys.executable, "-m", "nngrade.cli", "--source-dir",
               str(source / "exercises" / "source"), "grade", str(subs), "-o", str(gradebook),
               "--sheet", sheet_name, "--isolation", mode, "--timeout", str(timeout)]
        proc = subprocess.run(cmd, cwd=source)
        if proc.returncode != 0 or not gradebook.is_file():
            print(f"error: nngrade grade failed (exit {proc.returncode}): no results written",
                  file=sys.stderr)
            return proc.returncode or 1
        grades = export.load_grades(
            gradebook, maxima=export.sheet_maxima(sheet_name, source / "exercises" / "source"),
            feedback_dir=work / "grades-feedback")
        results = export.gradescope_results(grades[0], visibility=visibility,
                                            test_visibility=test_visibility,
                                            extra={"isolation": mode, "file": found[0].name})
        _write(root, results)
        print(f"graded {found[0].name}: {export.number(grades[0].value)} points ({mode} isolation)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nngrade.export_gradescope",
                                 description="Grade a Gradescope submission (run by run_autograder).")
    ap.add_argument("--root", default="/autograder", help="Gradescope's folder (default /autograder)")
    ap.add_argument("--sheet", required=True, help="sheet name, e.g. 01_neuron")
    ap.add_argument("--isolation", help="sandbox mode (default: the strongest available)")
    ap.add_argument("--visibility", default="after_due_date", choices=export.VISIBILITIES)
    ap.add_argument("--test-visibility", default="after_due_date", choices=export.VISIBILITIES)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args(argv)
    try:
        return run(Path(args.root), args.sheet, isolation=args.isolation,
                   visibility=args.visibility, test_visibility=args.test_visibility,
                   timeout=args.timeout)
    except export.ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
