"""`nngrade export`: the Canvas, Moodle, Gradescope and long audit formats, each checked against its
specification (nngrade/EXPORT.md cites them) with realistic rosters: names with commas, quotes and
non-ASCII letters, a byte-order-marked roster, students missing, extra submissions, duplicate keys
and bad input (a clear error, nothing written).

Fixtures in tests/data/export/: ``gradebook.csv`` (a gradebook with the late-penalty columns) and its
log ``gradebook.csv.log.jsonl`` (the shared schema, including a superseded record of a regrade),
Canvas and Moodle roster exports. The end-to-end tests grade real submissions of sheet 1
(tests/submissions/01_neuron/) with ``nngrade grade`` first.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nngrade import cli, export

DATA = Path(__file__).parent / "data" / "export"
ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions" / "01_neuron"
SHEET1_MAX = {"q1": 3.0, "q2": 3.0, "q3": 2.0, "q4": 2.0}     # exercises/source/01_neuron.ipynb


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of the fixtures (exports are written beside the gradebook)."""
    shutil.copytree(DATA, tmp_path / "data")
    return tmp_path / "data"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = cli.main(["export", *argv])
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def read_csv(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, strict=True))


def records(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], r)) for r in rows[1:]]


# --- Canvas ----------------------------------------------------------------------------------------

def test_canvas_import_file_follows_canvas_format(work: Path) -> None:
    code, _, err = run_cli("canvas", str(work / "gradebook.csv"), "--roster", str(work / "roster_canvas.csv"),
                           "--key", "SIS Login ID", "--assignment", "Sheet 1: the neuron",
                           "-o", str(work / "canvas.csv"))
    assert code == 0, err
    raw = (work / "canvas.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    assert raw.count(b"\r\n") == raw.count(b"\n"), "RFC 4180 line ends"
    rows = read_csv(work / "canvas.csv", "utf-8-sig")
    # the header Canvas expects, the assignment column named as in Canvas's export (with its id)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Sheet 1: the neuron (4711)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "8"]   # max_total of the log's sheet
    got = {r[1]: r for r in rows[2:]}
    # identity copied verbatim from the roster (commas, doubled quotes, non-ASCII survive), roster order
    assert [r[0] for r in rows[2:]] == ["Lopez, Ana", "Álvarez, José", 'O\'Brien, Zoë "Zo"', "张伟",
                                        "Dash, Minus"]
    assert got["1003"][:5] == ['O\'Brien, Zoë "Zo"', "1003", "S-1003", "zoe.obrien", "Section B, evening"]
    assert got["1001"][3] == " ANA.LOPEZ "       # matched ignoring case and spaces, copied as is
    # the grade is `final` (after the late penalty) where the gradebook has it
    assert {k: r[5] for k, r in got.items()} == {"1001": "5", "1002": "6.4", "1003": "7.5",
                                                 "1004": "0", "1005": "8"}
    assert all(len(r) == 6 for r in rows)
    # never guessed: the roster student without a submission, the test student (no login) and the
    # submission not on the roster are listed, not exported
    listed = records(read_csv(work / "canvas-unmatched.csv"))
    assert {(p["problem"], p["key"] or p["student"]) for p in listed} == {
        ("on the roster, no graded submission", "mo.absent"),
        ("on the roster without a SIS Login ID", ""),
        ("graded, not on the roster", "extra.student")}
    assert "extra.student" in err and "mo.absent" in err and "new assignment" not in err
    assert "1006" not in got and "1007" not in got


def test_canvas_missing_as_zero_and_no_points_row(work: Path) -> None:
    code, _, err = run_cli("canvas", str(work / "gradebook.csv"), "--roster", str(work / "roster_canvas.csv"),
                           "--key", "sis login id", "--assignment", "Sheet 1 (999)", "--missing-as-zero",
                           "--no-points-possible", "-o", str(work / "c.csv"))
    assert code == 0, err
    rows = read_csv(work / "c.csv", "utf-8-sig")
    assert rows[0][5] == "Sheet 1 (999)" and rows[1][0] != "Points Possible"
    values = {r[1]: r[5] for r in rows[1:]}
    assert values["1006"] == "0"          # asked for explicitly
    assert "1007" not in values            # no key: cannot be matched, never given a grade


def test_canvas_key_by_file_name_pattern(work: Path) -> None:
    """Canvas's "Download submissions" names files <name>_<user id>_<submission id>_<file>."""
    gb = work / "canvas_downloads.csv"
    gb.write_text("student,file,q1,total,note\n"
                  "lopezana_1001_77_sheet1,lopezana_1001_77_sheet1.ipynb,3,3,\n"
                  "alvarezjose_LATE_1002_78_sheet1,alvarezjose_LATE_1002_78_sheet1.ipynb,2,2,\n"
                  "stray,stray.ipynb,1,1,\n", encoding="utf-8")
    code, _, err = run_cli("canvas", str(gb), "--roster", str(work / "roster_canvas.csv"), "--key", "ID",
                           "--match", "file", "--file-pattern", r"_(\d+)_\d+_", "--assignment", "Sheet 1",
                           "--points-possible", "3", "-o", str(work / "c.csv"))
    assert code == 0, err
    assert "will offer to create a new assignment 'Sheet 1'" in err
    rows = read_csv(work / "c.csv", "utf-8-sig")
    assert rows[1] == ["Points Possible", "", "", "", "", "3"]
    assert {r[1]: r[5] for r in rows[2:]} == {"1001": "3", "1002": "2"}
    listed = records(read_csv(work / "c-unmatched.csv"))
    assert ("graded, its file name does not match --file-pattern", "stray") in \
        {(p["problem"], p["student"]) for p in listed}


def test_several_submissions_for_one_key_are_listed_not_exported(work: Path) -> None:
    gb = work / "two.csv"
    gb.write_text("student,file,q1,total,note\n"
                  "ana.lopez,ana.lopez.ipynb,3,3,\n"
                  "Ana_Lopez-1f3a9c,sub/ANA.LOPEZ.ipynb,1,1,\n", encoding="utf-8")
    code, _, err = run_cli("canvas", str(gb), "--roster", str(work / "roster_canvas.csv"),
                           "--key", "SIS Login ID", "--match", "file", "--assignment", "S1",
                           "-o", str(work / "c.csv"))
    assert code == 0, err
    rows = read_csv(work / "c.csv", "utf-8-sig")
    assert all(r[1] != "1001" for r in rows[1:]), "neither of two candidates is picked"
    listed = records(read_csv(work / "c-unmatched.csv"))
    several = [p for p in listed if p["problem"].startswith("several graded submissions")]
    assert sorted(p["file"] for p in several) == ["ana.lopez.ipynb", "sub/ANA.LOPEZ.ipynb"]


# --- Moodle ----------------------------------------------------------------------------------------

def test_moodle_import_file(work: Path) -> None:
    code, _, err = run_cli("moodle", str(work / "gradebook.csv"), "--roster", str(work / "roster_moodle.csv"),
                           "--key", "ID number", "--assignment", "Sheet 1", "-o", str(work / "m.csv"))
    assert code == 0, err
    raw = (work / "m.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(work / "m.csv")
    assert rows[0] == ["ID number", "First name", "Last name", "Sheet 1", "Feedback"]
    by_id = {r[0]: r for r in rows[1:]}
    # Moodle aborts the whole import on a user it cannot find: only roster students are in the file
    assert set(by_id) == {"ana.lopez", "jose.alvarez", "zoe.obrien", "zhang.wei"}
    assert by_id["zoe.obrien"][1:4] == ["Zoë", 'O\'Brien, "Zo"', "7.5"]
    assert by_id["zhang.wei"][1:3] == ["伟", "张"]
    assert by_id["jose.alvarez"][3] == "6.4"
    # feedback: per-question scores out of the maximum, what failed, the late penalty
    assert by_id["ana.lopez"][4] == "q1 3/3; q2 2/3 (batch); q3 0/2 (transposed); total 5/8"
    assert "late 2 day(s): -1.6, final 6.4" in by_id["jose.alvarez"][4]
    assert "note: empty file" in by_id["zhang.wei"][4]


def test_moodle_by_email_from_file_names(work: Path) -> None:
    """Student ids are file-name-safe (no '@'); --match file keeps the submitted name."""
    gb = work / "mail.csv"
    gb.write_text("student,file,q1,total,note\n"
                  "zoe.obrien_uni.example-ab12cd,zoe.obrien@uni.example.ipynb,2,2,\n", encoding="utf-8")
    code, _, err = run_cli("moodle", str(gb), "--roster", str(work / "roster_moodle.csv"),
                           "--key", "Email address", "--match", "file", "--no-feedback",
                           "-o", str(work / "m.csv"))
    assert code == 0, err
    assert read_csv(work / "m.csv") == [["Email address", "First name", "Last name", "mail"],
                                        ["zoe.obrien@uni.example", "Zoë", 'O\'Brien, "Zo"', "2"]]


# --- long audit CSV --------------------------------------------------------------------------------

def test_long_csv_has_one_row_per_student_and_question(work: Path) -> None:
    code, _, err = run_cli("long", str(work / "gradebook.csv"), "-o", str(work / "long.csv"))
    assert code == 0, err
    rows = records(read_csv(work / "long.csv"))
    assert list(rows[0]) == export.LONG_COLUMNS
    assert len(rows) == 6 * 3
    ana = {r["question"]: r for r in rows if r["student"] == "ana.lopez"}
    # the regrade's record (the log's last for ana) wins over the superseded one
    assert [(ana[q]["score"], ana[q]["max"], ana[q]["kinds"]) for q in ("q1", "q2", "q3")] == \
        [("3", "3", ""), ("2", "3", "batch"), ("0", "2", "transposed")]
    assert {r["seed"] for r in rows} == {"424242"} and {r["sheet_hash"] for r in rows} == {"sha256:3f1c0d9a"}
    jose = [r for r in rows if r["student"] == "jose.alvarez"][0]
    assert (jose["late_days"], jose["penalty"], jose["final"]) == ("2", "1.6", "6.4")
    assert jose["submitted_at"] == "2026-11-22T23:00:00+00:00"
    extra = {r["question"]: r["kinds"] for r in rows if r["student"] == "extra.student"}
    assert extra["q2"] == "sign;transposed"
    # a student id starting with '-' keeps the gradebook's formula guard
    assert {r["student"] for r in rows} >= {"'-dash"}


# --- Gradescope ------------------------------------------------------------------------------------

def check_gradescope_spec(results: dict) -> None:
    """The results.json contract of https://gradescope-autograders.readthedocs.io/en/latest/specs/"""
    assert set(results) <= {"score", "execution_time", "output", "visibility", "stdout_visibility",
                            "extra_data", "tests", "leaderboard", "output_format"}
    assert isinstance(results["score"], float)
    assert results["visibility"] in export.VISIBILITIES
    assert results["stdout_visibility"] in export.VISIBILITIES
    for t in results["tests"]:
        assert set(t) <= {"score", "max_score", "status", "name", "name_format", "number", "output",
                          "output_format", "tags", "visibility", "extra_data"}
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
        assert 0 <= t["score"] <= t["max_score"]
        assert t["visibility"] in export.VISIBILITIES and t["status"] in ("passed", "failed")
        assert isinstance(t["name"], str) and isinstance(t.get("output", ""), str)


def test_gradescope_results_per_submission(work: Path) -> None:
    out = work / "gs"
    code, _, err = run_cli("gradescope", str(work / "gradebook.csv"), "-o", f"{out}/")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{s}.json" for s in ("-dash", "ana.lopez", "extra.student", "jose.alvarez", "zhang.wei",
                              "zoe.obrien"))
    jose = json.loads((out / "jose.alvarez.json").read_text(encoding="utf-8"))
    check_gradescope_spec(jose)
    assert jose["score"] == pytest.approx(6.4, abs=1e-12)            # after the late penalty
    assert sum(t["score"] for t in jose["tests"]) == pytest.approx(8.0, abs=1e-12)
    assert [t["max_score"] for t in jose["tests"]] == [3.0, 3.0, 2.0]
    assert {t["visibility"] for t in jose["tests"]} == {"after_due_date"}   # hidden tests earn the points
    assert jose["stdout_visibility"] == "hidden" and "penalty 1.6" in jose["output"]
    ana = json.loads((out / "ana.lopez.json").read_text(encoding="utf-8"))
    assert [(t["name"], t["status"]) for t in ana["tests"]] == [("q1", "passed"), ("q2", "failed"),
                                                                ("q3", "failed")]


def test_gradescope_one_results_json_and_visibility(work: Path) -> None:
    gb = work / "one.csv"
    gb.write_text("student,file,q1,q2,q3,q4,total,note\nhonest,honest.ipynb,3,3,2,1.5,9.5,\n",
                  encoding="utf-8")
    code, _, err = run_cli("gradescope", str(gb), "--sheet", "01_neuron", "--visibility", "visible",
                           "--test-visibility", "after_published", "-o", str(work / "results.json"))
    assert code == 0, err
    res = json.loads((work / "results.json").read_text(encoding="utf-8"))
    check_gradescope_spec(res)
    assert res["visibility"] == "visible" and {t["visibility"] for t in res["tests"]} == {"after_published"}
    assert {t["name"]: t["max_score"] for t in res["tests"]} == SHEET1_MAX   # from the sheet
    assert res["score"] == 9.5


def test_gradescope_needs_maxima(work: Path) -> None:
    gb = work / "nolog.csv"
    gb.write_text("student,file,q1,total,note\na,a.ipynb,1,1,\n", encoding="utf-8")
    code, _, err = run_cli("gradescope", str(gb), "-o", str(work / "r.json"))
    assert code == 2 and "maximum of q1 is unknown" in err and "--sheet" in err
    assert not (work / "r.json").exists()


# --- bad input: a clear error, nothing written -----------------------------------------------------

@pytest.mark.parametrize("roster, key, message", [
    ("roster_duplicate_keys.csv", "SIS Login ID",
     "'Ana.Lopez' on lines 2 and 3: expected each SIS Login ID once"),
    ("roster_canvas.csv", "Email", "has no column 'Email' (its columns: 'Student', 'ID'"),
    ("roster_latin1.csv", "SIS Login ID", "is not UTF-8 text"),
    ("roster_ragged.csv", "SIS Login ID", "line 2: 3 cells but the header has 2"),
    ("no_such_roster.csv", "SIS Login ID", "cannot read the roster"),
])
def test_bad_roster_is_refused_and_nothing_written(work: Path, roster: str, key: str, message: str) -> None:
    out = work / "canvas.csv"
    out.write_text("previous export\n", encoding="utf-8")
    code, stdout, err = run_cli("canvas", str(work / "gradebook.csv"), "--roster", str(work / roster),
                                "--key", key, "-o", str(out))
    assert code == 2
    assert message in err, err
    assert out.read_text(encoding="utf-8") == "previous export\n"
    assert not (work / "canvas-unmatched.csv").exists() and "wrote" not in stdout
    assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def test_bad_gradebook_and_log_are_refused(work: Path) -> None:
    bad = work / "bad.csv"
    bad.write_text("name,score\nana,3\n", encoding="utf-8")
    code, _, err = run_cli("long", str(bad), "-o", str(work / "l.csv"))
    assert code == 2 and "has no column student, total, q1..qN" in err
    bad.write_text("student,file,q1,total,note\nana,a.ipynb,three,3,\n", encoding="utf-8")
    code, _, err = run_cli("long", str(bad), "-o", str(work / "l.csv"))
    assert code == 2 and "line 2, column q1: 'three' is not a number" in err
    # a log from another run: the gradebook wins, and the mismatch is named
    lines = (work / "gradebook.csv.log.jsonl").read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace('"total": 5', '"total": 4')
    (work / "gradebook.csv.log.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run_cli("long", str(work / "gradebook.csv"), "-o", str(work / "l.csv"))
    assert code == 2 and "disagree for student 'ana.lopez' (total 5 in the gradebook, 4 in the log" in err
    assert not (work / "l.csv").exists()


def test_log_incomplete_last_line_is_skipped_with_a_warning(work: Path) -> None:
    log = work / "gradebook.csv.log.jsonl"
    log.write_text(log.read_text(encoding="utf-8") + '{"student": "ana.lopez", "questi',
                   encoding="utf-8")
    code, _, err = run_cli("long", str(work / "gradebook.csv"), "-o", str(work / "l.csv"))
    assert code == 0 and "incomplete last line" in err
    log.write_text('{"student": "ana.lopez"}\n', encoding="utf-8")
    code, _, err = run_cli("long", str(work / "gradebook.csv"), "-o", str(work / "l.csv"))
    assert code == 2 and "line 1: no key 'questions'" in err


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        export.atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_numbers_are_plain() -> None:
    assert [export.number(x) for x in (5.0, 6.4, -0.0, 1e-9, 1234567.0, 2.5000001)] == \
        ["5", "6.4", "0", "0", "1234567", "2.5"]


# --- end to end: a real grading run, then the exports ----------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sheet 1 graded for real: honest (10/10), exception (q1 fails), renamed_function (q4 missing)."""
    base = tmp_path_factory.mktemp("graded")
    subs = base / "subs"
    subs.mkdir()
    for name in ("honest", "exception", "renamed_function"):
        shutil.copyfile(SUBMISSIONS / f"{name}.ipynb", subs / f"{name}.ipynb")
    assert cli.main(["grade", str(subs), "-o", str(base / "grades.csv"), "--sheet", "01_neuron",
                     "--seed", "7", "-j", "2"]) == 0
    return base


def test_real_gradebook_to_canvas_and_gradescope(graded: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section\n"
                      '"Honest, Ada",1,,honest,A\n"Exception, Eve",2,,EXCEPTION,A\n', encoding="utf-8")
    book = records(read_csv(graded / "grades.csv"))
    totals = {r["student"]: r["total"] for r in book}
    code, _, err = run_cli("canvas", str(graded / "grades.csv"), "--roster", str(roster), "--key",
                           "SIS Login ID", "--sheet", "01_neuron", "--assignment", "Sheet 1",
                           "-o", str(tmp_path / "c.csv"))
    assert code == 0, err
    rows = read_csv(tmp_path / "c.csv", "utf-8-sig")
    assert rows[1][5] == "10"
    assert {r[3]: r[5] for r in rows[2:]} == {"honest": totals["honest"], "EXCEPTION": totals["exception"]}
    assert "renamed_function" in err
    code, _, err = run_cli("gradescope", str(graded / "grades.csv"), "--sheet", "01_neuron",
                           "-o", f"{tmp_path / 'gs'}/")
    assert code == 0, err
    for r in book:
        res = json.loads((tmp_path / "gs" / f"{r['student']}.json").read_text(encoding="utf-8"))
        check_gradescope_spec(res)
        assert {t["name"]: t["score"] for t in res["tests"]} == {q: float(r[q]) for q in SHEET1_MAX}
        failed = [t for t in res["tests"] if t["status"] == "failed"]
        assert all("Re-read" in t["output"] for t in failed)   # the feedback file's text
    exc = json.loads((tmp_path / "gs" / "exception.json").read_text(encoding="utf-8"))
    assert "raised ValueError" in exc["tests"][0]["output"]


def test_run_autograder_in_a_simulated_gradescope_container(tmp_path: Path) -> None:
    """The bundle as uploaded: run_autograder grades /autograder/submission and writes results."""
    root = tmp_path / "autograder"
    code, out, err = run_cli("gradescope", "--autograder", str(root / "source"), "--sheet", "01_neuron")
    assert code == 0, err
    source = root / "source"
    assert os.access(source / "run_autograder", os.X_OK) and (source / "setup.sh").is_file()
    assert (source / "exercises" / "source" / "01_neuron.ipynb").is_file()
    assert (source / "nngrade" / "export_gradescope.py").is_file()
    setup = (source / "setup.sh").read_text(encoding="utf-8")
    assert "numpy==" in setup and "nbformat==" in setup
    (root / "submission").mkdir()
    shutil.copyfile(SUBMISSIONS / "exception.ipynb", root / "submission" / "my notebook.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER=str(root), NNGRADE_PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    check_gradescope_spec(res)
    assert res["score"] == 7.0
    assert {t["name"]: t["score"] for t in res["tests"]} == {"q1": 0.0, "q2": 3.0, "q3": 2.0, "q4": 2.0}
    assert res["extra_data"]["isolation"] in ("namespaces", "user", "userns", "limits")
    assert res["extra_data"]["isolation"] in proc.stdout
    # not exactly one notebook: 0 and what to submit, visible at once
    shutil.copyfile(SUBMISSIONS / "honest.ipynb", root / "submission" / "second.ipynb")
    proc = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert res["score"] == 0.0 and "found 2" in res["output"] and res["tests"] == []


def test_autograder_folder_must_be_new(tmp_path: Path) -> None:
    (tmp_path / "ag").mkdir()
    (tmp_path / "ag" / "keep.txt").write_text("x", encoding="utf-8")
    code, _, err = run_cli("gradescope", "--autograder", str(tmp_path / "ag"), "--sheet", "01_neuron")
    assert code == 2 and "is not empty" in err
    assert [p.name for p in (tmp_path / "ag").iterdir()] == ["keep.txt"]


def test_a_regrade_of_one_question_is_merged_per_question(work: Path) -> None:
    """`--question q2` regrades append a record holding q2 alone: the export takes each question's
    newest entry (with its own seed), and still checks every score against the gradebook."""
    log = work / "gradebook.csv.log.jsonl"
    regrade = {"student": "zoe.obrien", "file": "zoe.obrien.ipynb", "sheet": "01_neuron",
               "sheet_hash": "sha256:3f1c0d9a", "seed": 99, "total": 6.5, "max_total": 8,
               "questions": [{"question": "q2", "score": 2, "max": 3, "kinds": ["sign"],
                              "feedback": "sign: see the feedback file"}],
               "submitted_at": None, "late_days": 0, "penalty": 0, "final": 6.5,
               "graded_at": "2026-11-30T09:00:00Z"}
    log.write_text(log.read_text(encoding="utf-8") + json.dumps(regrade) + "\n", encoding="utf-8")
    book = work / "gradebook.csv"
    old, new = ",2.5,3,2,7.5,0,0,7.5,", ",2.5,2,2,6.5,0,0,6.5,"
    book.write_text(book.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    code, _, err = run_cli("long", str(book), "-o", str(work / "l.csv"))
    assert code == 0, err
    zoe = {r["question"]: r for r in records(read_csv(work / "l.csv")) if r["student"] == "zoe.obrien"}
    assert [(zoe[q]["score"], zoe[q]["kinds"], zoe[q]["seed"]) for q in ("q1", "q2", "q3")] == \
        [("2.5", "shape", "424242"), ("2", "sign", "99"), ("2", "", "424242")]
    # the same regrade against the old gradebook row: the mismatch is named
    book.write_text(book.read_text(encoding="utf-8").replace(new, old), encoding="utf-8")
    code, _, err = run_cli("long", str(book), "-o", str(work / "l2.csv"))
    assert code == 2 and "q2: 3 in the gradebook, 2 in the log" in err
