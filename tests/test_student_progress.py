"""check() records exercise progress in a local file the website's Import accepts (nngrade/student.py)."""
from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

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
