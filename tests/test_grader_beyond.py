"""Sheets 9 (automatic differentiation) and 10 (the training recipe), issue 13: the feedback on
each typical mistake names it, and the tests isolate it.

The generic tests (test_grader_sheets.py) already check every sheet: reference = full marks,
stub = 0, each declared wrong answer < full with its verdict kind. Here, for the mistakes the issue
lists (forgot to accumulate with +=, the input used where the formula has the output or the
reverse, wrong sign, dropout without its 1/(1-p) scale, keep and drop swapped, log10 instead of ln,
the ratio of gradients instead of updates...), the graded feedback must contain a phrase that names
the mistake in a line about a failed test, and the score must be the one the test design intends
(e.g. `=` instead of `+=` passes the trees, where every value is used once, and fails the graphs
with fan-out). The submissions are the ones `nngrade verify` grades (grader_helpers.verified,
graded once per session and shared with test_grader_sheets.py).
"""
from __future__ import annotations

import pytest
from grader_helpers import SHEETS, sheet, verified

from nngrade import report

# (sheet, question, a fragment of the wrong answer's first comment line, its score, a phrase of
# its feedback that names the mistake)
NAMED = [
    ("09_autodiff", "q1", "not swapped", 0, "multiply swaps"),
    ("09_autodiff", "q2", "tanh'(x) written as 1 - x**2", 0, "not 1 - x**2"),
    ("09_autodiff", "q2", "wrong sign", 0, "sign flipped"),
    ("09_autodiff", "q2", "forgot the chain rule", 1, "times grad_out (the chain rule)"),
    ("09_autodiff", "q3", "the output y = a**c where", 0, "from the input a"),
    ("09_autodiff", "q4", "the input z where", 0, "from p (not z"),
    ("09_autodiff", "q4", "only the terms j = k", 0, "not only p * (1 - p) * g"),
    ("09_autodiff", "q4", "wrong sign", 0, "sign flipped"),
    ("09_autodiff", "q4", "no shift before np.exp", 3, "subtract each row's largest logit"),
    ("09_autodiff", "q5", "forgot to accumulate: = instead of +=", 1, "grads[p] += ..., not ="),
    ("09_autodiff", "q5", "in topological order instead of its reverse", 0, "from the output back"),
    ("10_recipe", "q1", "a sum over the examples instead of a mean", 0,
     "off by a factor of the batch size"),
    ("10_recipe", "q1", "log10 instead of the natural logarithm", 0, "the natural logarithm"),
    ("10_recipe", "q1", "log of the probabilities", 2, "the log-softmax, not np.log(softmax(...))"),
    ("10_recipe", "q2", "log10 C instead of ln C", 0, "not log10 C"),
    ("10_recipe", "q2", "the probability 1/C", 0, "not 1/C"),
    ("10_recipe", "q3", "trains the caller's arrays in place", 0, "input array modified in place"),
    ("10_recipe", "q3", "always the correct gradient function", 2, "gradient 'sign'"),
    ("10_recipe", "q4", "the ratio of the gradient, not of the update", 0, "the update lr * g"),
    ("10_recipe", "q4", "the biases too", 0, "no biases"),
    ("10_recipe", "q5", "dropout without the 1 / (1 - p) scale", 1, "scaled by 1 / (1 - p)"),
    ("10_recipe", "q5", "keep and drop swapped", 1, "masks (1 = keep)"),
    ("10_recipe", "q5", "rescales at test time", 2, "nothing dropped and nothing scaled"),
    ("10_recipe", "q5", "zeroes the caller's array in place", 1, "input array modified in place"),
    ("10_recipe", "q6", "forgot the scale", 0, "its scale 1 / (1 - p)"),
    ("10_recipe", "q6", "keep and drop swapped", 0, "masks (1 = keep)"),
]

pytestmark = pytest.mark.skipif(not {"09_autodiff", "10_recipe"} <= set(SHEETS),
                                reason="sheets 9 and 10 are not in exercises/source")


def wrong_index(name: str, question: str, fragment: str) -> int:
    """The index of the one declared wrong answer of `question` whose first line has `fragment`."""
    found = [k for k, w in enumerate(sheet(name).wrong)
             if w.question == question and fragment in w.code.splitlines()[0]]
    assert len(found) == 1, f"{name} {question}: {len(found)} wrong answers match {fragment!r}"
    return found[0]


def failed_lines(name: str, k: int) -> list[str]:
    """The feedback lines about failed tests of the wrong answer's question, as graded."""
    w = sheet(name).wrong[k]
    sub = verified(name).subs[f"wrong{k:02d}-{w.question}-{w.expect}"]
    text = report.feedback(sheet(name), sub, seed=0)
    section = text.split(f"## {w.question}:", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines()
            if line.startswith("- ") and "test" in line and not line.endswith(": passed")]


@pytest.mark.parametrize("name,question,fragment,score,phrase", NAMED,
                         ids=[f"{n}-{q}-{f[:30]}" for n, q, f, _, _ in NAMED])
def test_feedback_names_the_mistake(name, question, fragment, score, phrase):
    k = wrong_index(name, question, fragment)
    w = sheet(name).wrong[k]
    sub = verified(name).subs[f"wrong{k:02d}-{w.question}-{w.expect}"]
    assert sub.scores[question] == score, failed_lines(name, k)
    lines = failed_lines(name, k)
    assert any(phrase in line for line in lines), lines


def test_every_listed_mistake_is_declared_once():
    """Each entry of NAMED is a different declared wrong answer."""
    keys = [(n, wrong_index(n, q, f)) for n, q, f, _, _ in NAMED]
    assert len(set(keys)) == len(keys)
