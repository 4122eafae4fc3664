"""check() records exercise progress in a local file the website's Import accepts (nngrade/student.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from nngrade import student

RIGHT_Q1 = "def weighted_sum(x, w, b):\n    return x @ w + b"
WRONG_Q1 = "def weighted_sum(x, w, b):\n    return -(x @ w + b)"


def run(question, code):
    ns = {"np": np, "check": student.checker("01_neuron")}
    exec(textwrap.dedent(code), ns)
    exec(f"result = check({question!r})", ns)
    return ns["result"]


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh home directory, no NN_PROGRESS_FILE, not in Jupyter."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NN_PROGRESS_FILE", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def test_in_jupyter_check_records_in_the_default_file(home, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "exercises/01_neuron.ipynb")
    assert run("q1", RIGHT_Q1).passed
    path = home / ".inside-neural-networks" / "progress.json"
    data = json.loads(path.read_text())
    assert data["schema"] == student.PROGRESS_SCHEMA == "inside-neural-networks/progress"
    assert data["version"] == student.PROGRESS_VERSION == 1
    entry = data["exercises"]["01_neuron"]
    assert entry["questions"] == list(student.load_public("01_neuron")["questions"])
    assert entry["results"]["q1"]["passed"] is True
    at = datetime.fromisoformat(entry["results"]["q1"]["at"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - at).total_seconds()) < 600
    # a later failure of the same question replaces the pass; other entries are kept
    data["pages"]["sec-neuron"] = {"read": "2026-01-01T00:00:00Z"}
    path.write_text(json.dumps(data))
    assert not run("q1", WRONG_Q1).passed
    again = json.loads(path.read_text())
    assert again["exercises"]["01_neuron"]["results"]["q1"]["passed"] is False
    assert again["pages"] == {"sec-neuron": {"read": "2026-01-01T00:00:00Z"}}


def test_headless_check_records_nothing(home):
    """The website build and nbval execute the sheets: nothing is written to the home directory."""
    assert run("q1", RIGHT_Q1).passed
    assert not (home / ".inside-neural-networks").exists()
    assert student.progress_file() is None


def test_environment_variable_names_the_file_or_turns_recording_off(home, monkeypatch):
    target = home / "elsewhere" / "mine.json"
    monkeypatch.setenv("NN_PROGRESS_FILE", str(target))
    run("q1", RIGHT_Q1)
    assert json.loads(target.read_text())["exercises"]["01_neuron"]["results"]["q1"]["passed"]
    monkeypatch.setenv("JPY_SESSION_NAME", "x")
    monkeypatch.setenv("NN_PROGRESS_FILE", "off")
    assert student.progress_file() is None
    run("q1", RIGHT_Q1)
    assert not (home / ".inside-neural-networks").exists()


def test_not_implemented_is_not_recorded(home, monkeypatch):
    monkeypatch.setenv("NN_PROGRESS_FILE", str(home / "p.json"))
    run("q1", "def weighted_sum(x, w, b):\n    raise NotImplementedError")
    assert not (home / "p.json").exists()


def test_a_directory_in_the_way_never_fails_the_check(home, monkeypatch):
    """Cannot be written whoever runs the test: the file's name is an existing directory."""
    (home / "p.json").mkdir()
    monkeypatch.setenv("NN_PROGRESS_FILE", str(home / "p.json"))
    rep = run("q1", RIGHT_Q1)
    assert rep.passed and "All public tests passed" in repr(rep)
    assert "Your progress was not saved" in repr(rep)


def test_a_foreign_file_is_not_overwritten(home, monkeypatch):
    path = home / "p.json"
    path.write_text('{"schema": "something else"}')
    monkeypatch.setenv("NN_PROGRESS_FILE", str(path))
    rep = run("q1", RIGHT_Q1)
    assert rep.passed and "is not a progress file" in repr(rep)
    assert path.read_text() == '{"schema": "something else"}'
    path.write_text(json.dumps({"schema": student.PROGRESS_SCHEMA, "version": 2}))
    assert "this nngrade reads versions 1 to 1" in repr(run("q1", RIGHT_Q1))
    path.write_text("{not json")
    assert "not saved" in repr(run("q1", RIGHT_Q1))
    assert path.read_text() == "{not json"
    assert not [p.name for p in home.iterdir() if p.name.startswith(".progress-")]  # no temp left


def test_concurrent_writers_lose_no_update(home, monkeypatch):
    """Two kernels checking at once each read, change and write the file. Reading is slowed here so
    that every writer reads while another is about to write: without the lock all but one of the
    overlapping updates would be lost; with it every result is in the file."""
    path = home / "p.json"
    real = student.read_progress

    def slow_read(p):
        data = real(p)
        time.sleep(0.02)
        return data

    monkeypatch.setattr(student, "read_progress", slow_read)
    questions = [f"q{j}" for j in range(4)]
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for q in questions:
                student.record_result(path, f"sheet{i}", questions, q, passed=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    data = json.loads(path.read_text())
    assert {s: sorted(e["results"]) for s, e in data["exercises"].items()} == \
        {f"sheet{i}": questions for i in range(6)}
    assert sorted(p.name for p in home.iterdir()) == [".p.json.lock", "p.json"]  # no temp left


WRITER = """
import sys
from pathlib import Path
from nngrade import student
path, i = Path(sys.argv[1]), int(sys.argv[2])
for j in range(25):
    student.record_result(path, f"sheet{i}", ["q1"], f"q{j}", passed=j % 2 == 0)
"""


def test_concurrent_processes_lose_no_update(home):
    """The same with real processes (the lock is the operating system's, across processes)."""
    path = home / "p.json"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(i)], env=env)
             for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    data = json.loads(path.read_text())
    for i in range(3):
        results = data["exercises"][f"sheet{i}"]["results"]
        assert sorted(results) == sorted(f"q{j}" for j in range(25)), (i, sorted(results))
        assert [results[f"q{j}"]["passed"] for j in range(25)] == [j % 2 == 0 for j in range(25)]


def test_a_lock_held_too_long_never_fails_the_check(home, monkeypatch):
    """Another kernel stuck while writing: check() waits LOCK_TIMEOUT seconds, then says the
    progress was not saved and why; the check's own verdict is unchanged."""
    path = home / "p.json"
    monkeypatch.setenv("NN_PROGRESS_FILE", str(path))
    monkeypatch.setattr(student, "LOCK_TIMEOUT", 0.3)
    with student.locked(path) as lock:
        assert lock == home / ".p.json.lock"
        start = time.monotonic()
        rep = run("q1", RIGHT_Q1)
        waited = time.monotonic() - start
    assert rep.passed and "All public tests passed" in repr(rep)
    assert "Your progress was not saved" in repr(rep) and "another check() has been writing it" in repr(rep)
    assert 0.3 <= waited < 5, waited
    assert not path.exists()
    assert run("q1", RIGHT_Q1).passed and path.exists()          # the lock released: recorded


def test_times_are_written_in_utc_with_z(home):
    """The website accepts only ISO 8601 UTC times ending in Z: a time given in another zone is
    converted."""
    path = home / "p.json"
    paris = timezone(timedelta(hours=1))
    student.record_result(path, "01_neuron", ["q1"], "q1", True,
                          now=datetime(2026, 11, 30, 12, 50, tzinfo=paris))
    result = json.loads(path.read_text())["exercises"]["01_neuron"]["results"]["q1"]
    assert result["at"] == "2026-11-30T11:50:00Z"
