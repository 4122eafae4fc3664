"""Result types of a grading run: the cases asked, each test's verdict, each submission's grade."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sheet import Test
from .verdicts import Verdict


@dataclass
class Case:
    """One call of the student's function: ``args`` chosen by the grader, ``expected`` computed
    by the reference in the grader's process. ``test_id`` names the test (one sandbox child)."""

    id: str
    test: Test
    test_id: str
    args: dict[str, Any]
    expected: Any


@dataclass
class TestResult:
    question: str
    test: str
    public: bool
    points: float
    possible: float
    verdict: Verdict


@dataclass
class Submission:
    """The grade of one submitted file (``file``: its path relative to the submissions folder)."""

    student: str
    path: Path
    file: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    results: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    question_notes: dict[str, list[str]] = field(default_factory=dict)
    cell_questions: list[str] = field(default_factory=list)
    cell_codes: list[str] = field(default_factory=list)
    lang: str | None = None   # the feedback's language (a known code, from the notebook), or English

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    def kinds(self, question: str) -> set[str]:
        return {r.verdict.kind for r in self.results if r.question == question}


@dataclass
class NotGraded:
    """An entry of the submissions folder that is not graded, and why."""

    file: str
    reason: str
