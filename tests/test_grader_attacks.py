"""Faults and attacks: every submission in tests/submissions/01_neuron/ is graded in one batch
by the real command line; none may crash or hang the batch, affect another submission, or earn
more than its honest part, and every honest one keeps full marks. Sheet 1's maximum is 10
(q1 3, q2 3, q3 2, q4 2). The submissions are made by tests/submissions/make_01_neuron.py."""
from __future__ import annotations

import csv
import os
import re
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
    "exception": (7, True, {"q1": "exception"},
                  "raised ValueError (line 2 of your answer cell for q1): something went wrong"),
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
    # issue 11, class 1: forged, blocking or huge result files, odd metadata: a row, no crash/hang
    "result_header_claims_terabytes": (7, True, {"q1": "type"}, "too large to be a result"),
    "result_empty_file": (7, True, {"q1": "type"}, "could not be read as numbers"),
    "result_fifo": (7, True, {"q1": "type"}, "not a regular file"),
    "result_symlink": (7, True, {"q1": "type"}, "cannot be opened"),
    "result_folder_and_pickle": (7, True, {"q1": "type"}, "expected numbers"),
    "result_list_claims_a_billion_items": (7, True, {"q1": "type"}, "malformed"),
    "answer_returns_huge_array": (7, True, {"q1": "exception"}, "too large to be a result"),
    "answer_returns_object": (7, True, {"q1": "exception"}, "returned a Sneaky"),
    "metadata_of_unexpected_types": (10, True, {}, "metadata was changed"),
    "lone_surrogates": (7, True, {"q1": "exception"}, "raised ValueError"),
    # class 4: what runs in Jupyter and passes check() grades the same
    "numba_cache": (10, True, {}, "Total: 10 / 10"),
    "percent_continuation_and_help": (10, True, {}, "they are skipped when grading"),
    "display_in_answer": (10, True, {}, "Total: 10 / 10"),
    "helper_outside_answer_cell": (7, True, {"q1": "exception"},
                                   "a name defined in another cell of your notebook"),
    # class 5: a slow test is charged its own time only
    "slow_on_one_test": (10, True, {}, "Total: 10 / 10"),
    # class 8: in-place modification undone later, extra items, leaked inputs
    "inplace_restored_at_exit": (7, True, {"q2": "input_modified"}, "modified in place"),
    "returns_extra_items_in_place_of_number": (8, True, {"q4": "shape"}, "expected (), got (3,)"),
    "exception_leaks_inputs": (7, True, {"q1": "exception"},
                               "raised ValueError (line 6 of your answer cell for q1)"),
}
HONEST = {name for name, (total, exact, _, _) in EXPECT.items() if total == 10 and exact}
NOT_GRADED = {"notes.txt": "not a Jupyter notebook"}
DRAINED = {"result_fifo", "result_symlink"}  # what the namespace sandbox drops from out/ (see below)
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
    if "--isolation" not in extra and sandbox.detect_mode() != "namespaces":
        extra = (*extra, "--isolation", sandbox.detect_mode())   # accept the weaker one explicitly
    run = subprocess.run([*NNGRADE, "grade", str(folder), "-o", str(out / "grades.csv"),
                          "--sheet", "01_neuron", "--timeout", "8", "--call-timeout", "2",
                          "-j", "2", *extra], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
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
    names = {p.stem for p in SUBMISSIONS.iterdir() if p.suffix == ".ipynb"}
    assert set(rows) == names == set(EXPECT)
    assert {r["file"] for r in rows.values()} == {f"{n}.ipynb" for n in names}
    assert list(next(iter(rows.values())).keys()) == ["student", "file", "q1", "q2", "q3", "q4",
                                                      "total", "note"]
    for name in names:
        assert (out / "grades-feedback" / f"{name}.md").is_file()
    with open(out / "grades-not-graded.csv") as fh:
        skipped = {r["file"]: r["reason"] for r in csv.DictReader(fh)}
    assert skipped.keys() == NOT_GRADED.keys()
    assert all(NOT_GRADED[f] in skipped[f] for f in skipped)
    assert all(f"not graded: {f}" in run.stderr for f in skipped)


def test_honest_submissions_keep_full_marks_in_a_batch_of_attacks(graded):
    rows, *_ = graded
    assert {"honest", "numba_cache", "slow_on_one_test", "percent_continuation_and_help"} <= HONEST
    assert {n: rows[n]["total"] for n in HONEST} == {n: "10" for n in HONEST}


def test_feedback_does_not_carry_hidden_inputs(graded):
    """The answer raises with its inputs (and those of earlier calls, stashed in /tmp) in the
    message: the feedback shows the exception and the line, the numbers masked."""
    rows, out, *_ = graded
    feedback = (out / "grades-feedback" / "exception_leaks_inputs.md").read_text()
    section = feedback.split("## q1:", 1)[1].split("\n## ", 1)[0]
    assert "hidden inputs: x=[…] w=[…] b=…" in section
    assert not re.search(r"\d\.\d", section), section


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_fault_or_attack(graded, name):
    rows, out, run, _ = graded
    total, exact, kinds, text = EXPECT[name]
    if name in ROOT_ONLY and sandbox.detect_mode() != "namespaces":
        pytest.skip("needs root with namespaces (see README: what 'limits' mode does not protect)")
    if name in DRAINED and sandbox.detect_mode() == "namespaces":
        # out/ is a tmpfs there, and only its regular files reach the grader: the forged FIFO or
        # link never does (the grader's own defence is tested in test_grader_untrusted.py)
        kinds, text = {"q1": "exception"}, "no result: the process ended before this test"
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
             "values": ("wrong values",), "sign": ("sign flipped",), "nnlib": ("uses nnlib",),
             "type": ("could not be read",), "input_modified": ("modified in place",),
             "shape": ("wrong shape",)}
    return any(w in section for k in kind.split("|") for w in words[k])


def test_no_background_process_survives(graded):
    assert bg_processes() == []


def test_fake_gradebooks_do_not_appear(graded):
    rows, out, run, before = graded
    for path, existed in before.items():
        assert path.exists() == existed, f"{path} was written by a submission"
    assert rows["write_files"]["q1"] == "0"
    assert sorted(p.name for p in out.iterdir()) == ["grades-feedback", "grades-not-graded.csv",
                                                     "grades.csv", "grades.csv.log.jsonl"]


def test_hidden_seed_does_not_change_grades(tmp_path):
    """Same submissions, two secret seeds: identical grades (correct and deterministic wrong)."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("honest", "hardcoded_public", "monkeypatch_numpy", "exception"):
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", folder)
    limits = sandbox.Limits(timeout=8, call_timeout=2)
    books = []
    for seed in (1, 2):
        grade.grade_folder(sheet("01_neuron"), folder, tmp_path / f"g{seed}.csv",
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
    assert f"{mode!r} isolation" in run.stderr or "isolation:" in run.stderr
    for name in names:
        total, exact, _, _ = EXPECT[name]
        got = float(rows[name]["total"])
        assert (got == total) if exact else (got <= total), (name, rows[name])
    assert bg_processes() == []
