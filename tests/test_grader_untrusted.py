"""Every byte a student controls is untrusted input (issue 11, classes 1 and 6): the submissions
folder (names, links, FIFOs, sub-folders), the notebook (size, nesting, types) and the files the
sandboxed run writes back (.npy headers, FIFOs, symlinks). Nothing may crash, block or overwrite;
each file gets a row under a unique id or is listed as not graded with the reason."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from grader_helpers import FAST, ROOT, sheet

from nngrade import codec, grade, protocol, submission
from nngrade.results import Submission

SUBMISSIONS = ROOT / "tests" / "submissions" / "01_neuron"


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with open(path) as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


# --- class 6: every file is graded under a unique id or listed with the reason ---------------------

def test_every_file_in_the_folder_is_graded_or_listed(tmp_path):
    folder = tmp_path / "subs"
    (folder / "carol").mkdir(parents=True)
    (folder / ".ipynb_checkpoints").mkdir()
    honest, wrong = SUBMISSIONS / "honest.ipynb", SUBMISSIONS / "exception.ipynb"
    shutil.copy(honest, folder / "Ana Lopez.ipynb")
    shutil.copy(wrong, folder / "Ana_Lopez.ipynb")
    shutil.copy(honest, folder / "bob.ipynb")
    shutil.copy(wrong, folder / "Bob.ipynb")                  # same id ignoring case
    (folder / "bob.txt").write_text("my answers are in the notebook\n")
    shutil.copy(honest, folder / "carol" / "01_neuron.ipynb")
    (folder / "carol" / "notes.md").write_text("notes\n")
    shutil.copy(honest, folder / ".hidden.ipynb")
    shutil.copy(honest, folder / ".ipynb_checkpoints" / "bob-checkpoint.ipynb")
    (folder / "link.ipynb").symlink_to(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    os.mkfifo(folder / "pipe.ipynb")
    for raw in (b"bad\xff.ipynb", b"bad\xfe.ipynb"):                # not UTF-8: two students
        shutil.copy(honest, os.path.join(os.fsencode(folder), raw))
    out = tmp_path / "out"
    start = time.monotonic()
    grader, subs = grade.grade_folder(sheet("01_neuron"), folder, out / "grades.csv",
                                          jobs=2, seed=3, limits=FAST)
    assert time.monotonic() - start < 120
    rows = rows_of(out / "grades.csv")
    with open(out / "grades.csv") as fh:
        bad = [r for r in csv.DictReader(fh) if r["file"] == "bad\ufffd.ipynb"]
    assert len(bad) == 2 and bad[0]["student"] != bad[1]["student"]
    assert [r["total"] for r in bad] == ["10", "10"]
    rows.pop("bad\ufffd.ipynb")
    assert set(rows) == {"Ana Lopez.ipynb", "Ana_Lopez.ipynb", "bob.ipynb", "Bob.ipynb",
                         "carol/01_neuron.ipynb"}
    totals = {f: r["total"] for f, r in rows.items()}
    assert totals == {"Ana Lopez.ipynb": "10", "Ana_Lopez.ipynb": "7", "bob.ipynb": "10",
                      "Bob.ipynb": "7", "carol/01_neuron.ipynb": "10"}
    ids = [r["student"] for r in rows.values()] + [r["student"] for r in bad]
    assert len({i.lower() for i in ids}) == len(ids) == 7
    assert rows["carol/01_neuron.ipynb"]["student"] == "carol-01_neuron"
    assert rows["Ana Lopez.ipynb"]["student"].startswith("Ana_Lopez-")
    feedback = sorted((out / "grades-feedback").iterdir())
    assert len(feedback) == 7                                   # nothing overwrote anything
    for f, r in rows.items():
        text = (out / "grades-feedback" / f"{r['student']}.md").read_text()
        assert f"File: {f}\n" in text and f"Total: {r['total']} / 10" in text
    with open(out / "grades-not-graded.csv") as fh:
        listed = {r["file"]: r["reason"] for r in csv.DictReader(fh)}
    assert listed == {e.file: e.reason for e in grader.not_graded}
    assert set(listed) == {"bob.txt", "carol/notes.md", ".hidden.ipynb", ".ipynb_checkpoints",
                           "link.ipynb", "pipe.ipynb"}
    assert "not a Jupyter notebook" in listed["bob.txt"]
    assert "dot" in listed[".hidden.ipynb"] and "dot" in listed[".ipynb_checkpoints"]
    assert "symbolic link" in listed["link.ipynb"]
    assert "not a regular file" in listed["pipe.ipynb"]


def test_student_ids_are_unique_and_stable():
    names = ["Ana Lopez.ipynb", "Ana_Lopez.ipynb", "x/y.ipynb", "x-y.ipynb", "plain.ipynb",
             "=cmd.ipynb", "ü.ipynb"]
    ids = submission.student_ids(names)
    assert ids == submission.student_ids(list(reversed(names)))
    assert len({v.lower() for v in ids.values()}) == len(names)
    assert ids["plain.ipynb"] == "plain"
    assert all(set(v) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
               for v in ids.values())


# --- class 1: the notebook: bounded parse ------------------------------------------------------------

def honest_json() -> dict:
    return json.loads((SUBMISSIONS / "honest.ipynb").read_text())


def big_notebooks(folder: Path) -> dict[str, str]:
    """Three 16 MB notebooks (huge output, huge untagged scratch cell, deeply nested JSON) and
    one with millions of tiny JSON objects; name -> what the grader must make of it."""
    folder.mkdir(exist_ok=True)
    nb = honest_json()
    nb["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                   "text": ["x" * (16 << 20)]}]
    (folder / "huge_output.ipynb").write_text(json.dumps(nb))
    nb = honest_json()
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": "x = " + "(" * 200_000 + "1" + ")" * 200_000 + "\n" +
                                  "y = [" + "1, " * 5_500_000 + "]\n"})
    (folder / "huge_scratch_cell.ipynb").write_text(json.dumps(nb))
    nb = honest_json()
    nb["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                   "text": ["x" * (15 << 20)]}]
    text = json.dumps(nb)
    deep = "[" * 500_000 + "]" * 500_000
    (folder / "deeply_nested.ipynb").write_text(text[:-1] + ', "extra": ' + deep + "}")
    nb = honest_json()
    nb["cells"][-1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                   "data": {"application/json": [{}] * 4_200_000}}]
    (folder / "tiny_objects.ipynb").write_text(json.dumps(nb))
    return {"huge_output": "10", "huge_scratch_cell": "10", "deeply_nested": "0", "tiny_objects": "0"}


def test_big_notebooks_are_cheap_to_read(tmp_path):
    """Reading the four notebooks (and finding their answer cells) in a fresh process: a few
    seconds and a few hundred MB at most, a clear reason for those refused."""
    expected = big_notebooks(tmp_path / "big")
    assert all((tmp_path / "big" / f"{n}.ipynb").stat().st_size > 15 << 20 for n in expected)
    script = f"""
import resource, sys, time
from nngrade import sheet, submission
sh = sheet.load_sheet({str(ROOT / 'exercises' / 'source' / '01_neuron.ipynb')!r})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
for name in {sorted(expected)!r}:
    try:
        nb = submission.read_submission({str(tmp_path / 'big')!r} + "/" + name + ".ipynb")
        cells, notes = submission.answer_cells(nb, sh)
        print(name, "cells", sorted(q for q, _ in cells))
    except submission.SubmissionError as exc:
        print(name, "refused", exc)
print("seconds", time.monotonic() - start)
print("peak_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    out = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert out["huge_output"] == out["huge_scratch_cell"] == "cells ['q1', 'q2', 'q3', 'q4']"
    assert out["deeply_nested"].startswith("refused not a valid notebook: RecursionError")
    assert out["tiny_objects"].startswith("refused not a valid notebook: too many JSON objects")
    assert float(out["seconds"]) < 10, out
    assert float(out["peak_mb"]) < 300, out


def test_metadata_of_unexpected_types_is_ignored(tmp_path):
    raw = {"cells": [1, None, "x", {"cell_type": 3, "source": "def weighted_sum(): pass"},
                     {"cell_type": "code", "source": ["a", 1]},
                     {"cell_type": "code", "metadata": {"nngrade": "answer"}, "source": "x = 1"},
                     {"cell_type": "code", "metadata": {"nngrade": {"role": ["answer"],
                                                                    "question": {"q": 1}}},
                      "source": "y = 2"}],
           "metadata": {"nngrade": 5}}
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(raw))
    nb = submission.read_submission(path)
    assert nb.sheet is None and [c.source for c in nb.cells] == ["x = 1", "y = 2"]
    assert all(c.role is None and c.question is None for c in nb.cells)
    for bad, reason in [(b"", "empty file"), (b"[]", "no list of cells"),
                        (b'{"cells": 5}', "no list of cells"), (b"\xff\xfe{", "not a valid notebook")]:
        path.write_bytes(bad)
        with pytest.raises(submission.SubmissionError, match=reason):
            submission.read_submission(path)


# --- class 1: files written by the sandbox -----------------------------------------------------------

def test_result_files_are_read_bounded_and_never_block(tmp_path):
    out = str(tmp_path)
    good = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "good.npy", good)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(good))
    assert np.array_equal(codec.read_npy(f"{out}/good.npy"), good)
    assert np.array_equal(codec.read_npy(f"{out}/fortran.npy"), good)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (118 - len(header)) + "\n"
    (tmp_path / "terabytes.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                             + header.encode())
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "truncated.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:-8])
    np.save(tmp_path / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "strings.npy", np.array(["a", "b"]))
    with open(tmp_path / "sparse.npy", "wb") as fh:            # 64 MB, nothing written
        fh.truncate(64 << 20)
    os.mkfifo(tmp_path / "fifo.npy")
    os.mkdir(tmp_path / "folder.npy")
    (tmp_path / "link.npy").symlink_to(tmp_path / "good.npy")
    why = {"terabytes": "too large", "empty": "not a .npy file", "truncated": "announces",
           "object": "expected numbers", "strings": "expected numbers", "sparse": "larger than",
           "fifo": "not a regular file", "folder": "not a regular file", "link": "cannot be opened"}
    start = time.monotonic()
    for name, text in why.items():
        with pytest.raises(codec.BadResult, match=text):
            codec.read_npy(f"{out}/{name}.npy")
    with pytest.raises(FileNotFoundError):
        codec.read_npy(f"{out}/absent.npy")
    assert codec.read_text(f"{out}/fifo.npy") is None and codec.read_json(f"{out}/fifo.npy") is None
    assert time.monotonic() - start < 5                          # nothing blocked
    (tmp_path / "r.out.len").write_text("list 3")
    np.save(tmp_path / "r.out.0.npy", good)
    with pytest.raises(codec.BadResult, match="item 1 of the returned list is missing"):
        codec.read_result(out, "r.out")
    (tmp_path / "e.err").write_text('["not", "an", "object"]')
    assert codec.read_json(f"{out}/e.err") is None
    assert protocol.MAX_RESULT_BYTES < 64 << 20


# --- class 1: a guard around each submission ----------------------------------------------------------

def test_a_failure_while_grading_one_submission_costs_that_submission_only(tmp_path, monkeypatch):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("ana", "bob", "carol"):
        shutil.copy(SUBMISSIONS / "honest.ipynb", folder / f"{name}.ipynb")
    real_run, real_plan = grade.Grader._grade_one, grade.Grader.plan

    def run(self: grade.Grader, sub: Submission, runs: list) -> None:
        if sub.student == "bob":
            raise MemoryError("simulated")
        real_run(self, sub, runs)

    def plan(self: grade.Grader, sub: Submission) -> list:
        if sub.student == "carol":
            raise RecursionError("simulated")
        return real_plan(self, sub)

    monkeypatch.setattr(grade.Grader, "_grade_one", run)
    monkeypatch.setattr(grade.Grader, "plan", plan)
    grade.grade_folder(sheet("01_neuron"), folder, tmp_path / "g.csv", jobs=2, seed=1, limits=FAST)
    rows = rows_of(tmp_path / "g.csv")
    assert rows["ana.ipynb"]["total"] == "10"
    assert rows["bob.ipynb"]["total"] == "0" and "could not grade" in rows["bob.ipynb"]["note"]
    assert rows["carol.ipynb"]["total"] == "0" and "could not read" in rows["carol.ipynb"]["note"]
    assert "MemoryError" in (tmp_path / "g-feedback" / "bob.md").read_text()


def test_a_notebook_written_by_nbformat_round_trips(tmp_path):
    """The bounded reader keeps what nbformat writes: types, sources and the nngrade metadata."""
    nb = nbformat.read(str(SUBMISSIONS / "honest.ipynb"), as_version=4)
    parsed = submission.read_submission(SUBMISSIONS / "honest.ipynb")
    assert parsed.sheet == "01_neuron"
    assert [(c.type, c.source) for c in parsed.cells] == [(c.cell_type, c.source) for c in nb.cells]
    roles = [(c.role, c.question) for c in parsed.cells if c.role == "answer"]
    assert roles == [("answer", q) for q in ("q1", "q2", "q3", "q4")]
