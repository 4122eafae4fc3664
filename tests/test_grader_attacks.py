"""Faults and attacks: every submission in tests/submissions/01_neuron/ is graded in one batch
by the real command line; none may crash the batch, affect another submission, or earn more
than its honest part. Sheet 1's maximum is 10 (q1 3, q2 3, q3 2, q4 2)."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grader_helpers import ROOT, sheet

from nngrade import grade, sandbox

SUBMISSIONS = ROOT / "tests" / "submissions" / "01_neuron"
NNGRADE = [sys.executable, "-m", "nngrade.cli"]
BG_MARK = "nngrade-bg-attack"

# name -> (total, exact?, {question: verdict kind that must appear}, text the feedback must contain)
EXPECT = {
    "honest": (10, True, {}, "Total: 10 / 10"),
    "answer_metadata_removed": (10, True, {}, "metadata was changed"),
    "background_process": (10, True, {}, ""),
    "empty": (0, True, {"q1": "missing"}, "empty file"),
    "invalid": (0, True, {"q1": "missing"}, "not a valid notebook"),
    "notes": (0, True, {"q1": "missing"}, "not a Jupyter notebook"),
    "exception": (7, True, {"q1": "exception"}, "raised ValueError: something went wrong"),
    "infinite_loop": (7, True, {"q1": "timeout"}, "infinite loop"),
    "infinite_loop_ignores_alarm": (8, True, {"q4": "timeout"}, "stopped after"),
    "memory_bomb": (8, True, {"q4": "exception|timeout"}, ""),
    "sys_exit": (7, True, {"q1": "exception"}, "SystemExit"),
    "sys_exit_cell": (8, True, {"q4": "missing"}, "renamed?"),
    "os_exit": (7, True, {"q1": "exception"}, "process ended"),
    "missing_cell": (8, True, {"q4": "missing"}, "no answer cell for q4"),
    "renamed_function": (8, True, {"q4": "missing"}, "renamed?"),
    "hardcoded_public": (7, True, {"q1": "values"}, ""),
    "monkeypatch_numpy": (7, True, {"q1": "sign"}, "sign flipped"),
    "patch_checker": (7, True, {"q1": "sign"}, "sign flipped"),
    "replace_builtins": (7, False, {}, ""),
    "write_files": (7, True, {"q1": "sign"}, ""),
    "read_reference": (7, True, {"q1": "values"}, ""),
    "print_fake_results": (0, True, {}, ""),
    "ipython_input_transformer": (7, True, {"q1": "missing"}, ""),
    "import_nnlib": (3, False, {"q2": "nnlib"}, "uses nnlib"),
    "import_nnlib_obfuscated": (3, False, {"q2": "exception"}, "not available to graded answers"),
    "network": (7, True, {"q1": "values"}, ""),
}
ROOT_ONLY = {"read_reference", "network", "write_files"}  # need namespaces + unprivileged uid


def bg_processes() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and BG_MARK in Path(f"/proc/{entry}/cmdline").read_text():
                pids.append(int(entry))
        except OSError:
            pass
    return pids


def run_cli(folder: Path, out: Path, *extra: str) -> tuple[dict, subprocess.CompletedProcess]:
    run = subprocess.run([*NNGRADE, "grade", str(folder), "-o", str(out / "grades.csv"),
                          "--sheet", "01_neuron", "--timeout", "8", "--call-timeout", "2",
                          "-j", "2", *extra], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    with open(out / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return rows, run


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("attacks")
    before = {p: p.exists() for p in (ROOT / "grades.csv", ROOT / "tests" / "FAKE_GRADEBOOK.csv")}
    rows, run = run_cli(SUBMISSIONS, out)
    return rows, out, run, before


def test_every_submission_has_a_row_and_feedback(graded):
    rows, out, run, _ = graded
    names = {grade.student_id(p) for p in SUBMISSIONS.iterdir()}
    assert set(rows) == names == set(EXPECT)
    assert list(next(iter(rows.values())).keys()) == ["student", "q1", "q2", "q3", "q4", "total", "note"]
    for name in names:
        assert (out / "grades-feedback" / f"{name}.md").is_file()


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_fault_or_attack(graded, name):
    rows, out, run, _ = graded
    total, exact, kinds, text = EXPECT[name]
    if name in ROOT_ONLY and sandbox.detect_mode() != "namespaces":
        pytest.skip("needs root with namespaces (see README: what 'limits' mode does not protect)")
    got = float(rows[name]["total"])
    assert (got == total) if exact else (got <= total), rows[name]
    feedback = (out / "grades-feedback" / f"{name}.md").read_text()
    assert text in feedback
    for q, kind in kinds.items():
        assert float(rows[name][q]) == 0
        assert kind_line(feedback, q, kind), feedback


def kind_line(feedback: str, q: str, kind: str) -> bool:
    """The question's section of the feedback shows the words of the expected verdict kind."""
    section = feedback.split(f"## {q}:", 1)[1].split("\n## ", 1)[0]
    words = {"missing": ("no answer cell", "not defined", "not a", "empty", "renamed"),
             "exception": ("raised", "process ended", "not available"),
             "timeout": ("infinite loop", "longer than", "stopped after"),
             "values": ("wrong values",), "sign": ("sign flipped",), "nnlib": ("uses nnlib",)}
    return any(w in section for k in kind.split("|") for w in words[k])


def test_no_background_process_survives(graded):
    assert bg_processes() == []


def test_fake_gradebooks_do_not_appear(graded):
    rows, out, run, before = graded
    for path, existed in before.items():
        assert path.exists() == existed, f"{path} was written by a submission"
    assert rows["write_files"]["q1"] == "0"
    assert sorted(p.name for p in out.iterdir()) == ["grades-feedback", "grades.csv"]


def test_hidden_seed_does_not_change_grades(tmp_path):
    """Same submissions, two secret seeds: identical grades (correct and deterministic wrong)."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("honest", "hardcoded_public", "monkeypatch_numpy", "exception"):
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", folder)
    limits = sandbox.Limits(timeout=8, call_timeout=2)
    books = []
    for seed in (1, 2):
        g, subs = grade.grade_folder(sheet("01_neuron"), folder, tmp_path / f"g{seed}.csv",
                                     jobs=2, seed=seed, limits=limits)
        books.append((tmp_path / f"g{seed}.csv").read_text())
    assert books[0] == books[1]


@pytest.mark.parametrize("mode", ["limits", "user"])
def test_weaker_isolation_modes(tmp_path, mode):
    """The fallbacks ('limits': not root; 'user': root without namespaces): limits, timeouts,
    process cleanup and the nnlib rule still hold."""
    if mode == "user" and (os.geteuid() != 0 or not sandbox.interpreter_public()):
        pytest.skip("'user' mode needs root and an interpreter other users can read")
    folder = tmp_path / "subs"
    folder.mkdir()
    names = ["honest", "exception", "infinite_loop", "os_exit", "background_process",
             "import_nnlib", "invalid", "memory_bomb"]
    for name in names:
        src = SUBMISSIONS / f"{name}.ipynb"
        shutil.copy(src, folder)
    rows, run = run_cli(folder, tmp_path, "--isolation", mode)
    assert mode != "limits" or "not root" in run.stderr
    for name in names:
        total, exact, _, _ = EXPECT[name]
        got = float(rows[name]["total"])
        assert (got == total) if exact else (got <= total), (name, rows[name])
    assert bg_processes() == []
