"""Unit tests of nngrade: markers, diagnosis, the student check, gradebook writing."""
from __future__ import annotations

import textwrap

import nbformat
import numpy as np
import pytest
from grader_helpers import ROOT, sheet

from nngrade import authoring, diagnose, grade
from nngrade.student import checker

SETUP = "import numpy as np"
ANSWER = '''
def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
'''
TESTS = '''
function, chapter, section = "f", "02_neuron", "sec-neuron"
tests = [public("one", x=np.array([1.0, 2.0])), hidden("rand", 1, lambda rng: dict(x=rng.normal(size=3)))]
'''


def make_source(tmp_path, answer=ANSWER, tests=TESTS, extra=()):
    cells = [nbformat.v4.new_code_cell(SETUP, metadata={"nngrade": {"role": "setup"}}),
             nbformat.v4.new_code_cell(textwrap.dedent(answer).strip(),
                                       metadata={"nngrade": {"role": "answer", "question": "q1"}})]
    if tests is not None:
        cells.append(nbformat.v4.new_code_cell(tests, metadata={"nngrade": {"role": "tests",
                                                                            "question": "q1"}}))
    cells += list(extra)
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "99_demo.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_minimal_source_generates_a_stub(tmp_path):
    sh = authoring.load_sheet(make_source(tmp_path))
    q = sh.questions["q1"]
    assert "raise NotImplementedError" in q.stub and "2 * x" not in q.stub
    assert q.secret == ["    return 2 * x"]
    nb = authoring.student_notebook(sh)
    roles = [authoring.role_of(c).get("role") for c in nb.cells]
    assert roles == ["setup", "checker", "answer", "check"]


BROKEN = {
    "begin without end": ("def f(x):\n    ### BEGIN SOLUTION\n    return x", "has no matching"),
    "end without begin": ("def f(x):\n    return x\n    ### END SOLUTION", "without a"),
    "nested": ("def f(x):\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return x\n"
               "    ### END SOLUTION\n    ### END SOLUTION", "cannot nest"),
    "typo": ("def f(x):\n    ### BEGIN SOLUTON\n    return x\n    ### END SOLUTION", "looks like a marker"),
    "no markers": ("def f(x):\n    return x", "needs"),
    "empty": ("def f(x):\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "empty solution"),
    "renamed": ("def g(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "does not define"),
    "syntax": ("def f(x):\n    ### BEGIN SOLUTION\n    return (x\n    ### END SOLUTION", "not valid Python"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_markers_are_refused_clearly(tmp_path, case):
    answer, message = BROKEN[case]
    with pytest.raises(authoring.AuthoringError, match=message) as info:
        authoring.load_sheet(make_source(tmp_path, answer=answer))
    assert "99_demo.ipynb cell 1" in str(info.value)


def test_markers_outside_answer_cells_and_missing_tests_are_refused(tmp_path):
    stray = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(authoring.AuthoringError, match="outside an answer cell"):
        authoring.load_sheet(make_source(tmp_path, extra=[stray]))
    with pytest.raises(authoring.AuthoringError, match="has no tests cell"):
        authoring.load_sheet(make_source(tmp_path, tests=None))
    wrong = nbformat.v4.new_code_cell("def f(x):\n    return x", metadata={
        "nngrade": {"role": "wrong", "question": "q1", "expect": "no-such-kind"}})
    with pytest.raises(authoring.AuthoringError, match="expect"):
        authoring.load_sheet(make_source(tmp_path, extra=[wrong]))


def test_out_of_date_is_detected():
    sh = authoring.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    assert authoring.out_of_date(sh) == []
    sh.questions["q1"].stub += "\n# edited"
    assert any("cells differ" in p for p in authoring.out_of_date(sh))
    sh = authoring.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    sh.questions["q1"].tests[0].args["b"] = 99.0
    assert any(".json differs" in p for p in authoring.out_of_date(sh))


@pytest.mark.parametrize("got,kind", [
    (np.ones((3, 2)), "shape"),
    (np.arange(6.0).reshape(2, 3), "pass"),
    (np.arange(6.0).reshape(2, 3).T, "transposed"),
    (-np.arange(6.0).reshape(2, 3), "sign"),
    (3 * np.arange(6.0).reshape(2, 3), "values"),
    (np.full((2, 3), np.nan), "nan"),
    ("text", "type"),
    (np.arange(6.0).reshape(2, 3) + [[0, 0, 0], [0, 0, 1]], "values"),
])
def test_diagnose_kinds(got, kind):
    expected = np.arange(6.0).reshape(2, 3)
    assert diagnose.compare(expected, got).kind == kind


def test_diagnose_batch_factor_and_shape_errors():
    X = np.ones((4, 3))
    v = diagnose.compare(np.array([0.5, 1.5]), np.array([2.0, 6.0]), args={"X": X})
    assert v.kind == "batch" and "N = 4" in v.message
    assert diagnose.compare(np.float64(0.25), 1.0, args={"X": X}).kind == "batch"
    v = diagnose.compare(np.float64(0.25), 0.75, args={"X": X})
    assert v.kind == "values" and "factor" not in v.message  # one number: no factor guessing
    v = diagnose.exception("ValueError", "matmul: Input operand 1 has a mismatch in its core "
                                         "dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?)")
    assert v.kind == "transposed"
    assert diagnose.modified_inputs({"x": np.zeros(2)}, {"x": np.ones(2)}) == ["x"]


def run_check(question, code):
    ns = {"np": np, "check": checker("01_neuron")}
    exec(textwrap.dedent(code), ns)
    exec(f"result = check({question!r})", ns)
    return repr(ns["result"]), ns["result"]


def test_student_check_explains_in_plain_words():
    text, rep = run_check("q1", "def weighted_sum(x, w, b):\n    raise NotImplementedError")
    assert "not implemented yet" in text and "hidden test" in text
    assert "../chapters/02_neuron.html#sec-neuron-weighted-sum" in rep._repr_html_()
    text, rep = run_check("q1", "def weighted_sum(x, w, b):\n    return x @ w + b")
    assert rep.passed and "All public tests passed" in text
    text, _ = run_check("q1", "def weighted_sum(x, w, b):\n    return -(x @ w + b)")
    assert "sign flipped" in text
    text, _ = run_check("q2", "def sigmoid(z):\n    return np.exp(z) / (1 + np.exp(z))")
    assert "NaN" in text
    text, _ = run_check("q2", "def sigmoid(z):\n    z *= -1\n    return 1 / (1 + np.exp(z))")
    assert "modified in place" in text
    text, _ = run_check("q3", "def sigmoid(z):\n    return 1/(1+np.exp(-z))\n"
                              "def neuron_output(X, w, b):\n    return sigmoid(w @ X + b)")
    assert "transposed" in text
    text, _ = run_check("q4", "def sigmoid(z):\n    return 1/(1+np.exp(-z))\n"
                              "def neuron_output(X, w, b):\n    return sigmoid(X @ w + b)\n"
                              "def mean_squared_error(X, w, b, y):\n"
                              "    return np.sum((neuron_output(X, w, b) - y) ** 2)")
    assert "batch size" in text
    text, _ = run_check("q1", "def weighted_sum_renamed(x, w, b):\n    return 0")
    assert "not found" in text


def test_gradebook_is_csv_safe_and_atomic(tmp_path):
    g = grade.Grader(sheet("01_neuron"), seed=1)
    sub = grade.Submission("=HYPERLINK(1)", tmp_path / "x.ipynb",
                           scores={q: 0.0 for q in g.sheet.questions})
    text = g.gradebook([sub])
    assert "\n'=HYPERLINK(1)," in text
    target = tmp_path / "grades.csv"
    grade.atomic_write(target, text)
    assert target.read_text() == text and [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_strip_magics_and_answer_cells_by_function_name():
    assert grade.strip_magics("%%capture\n  !ls\nx = 1") == "pass\n  pass\nx = 1"
    nb = authoring.student_notebook(sheet("01_neuron"))
    for c in nb.cells:
        if authoring.role_of(c).get("role") == "answer":
            c.metadata = {}
    cells, notes = grade.answer_cells(nb, sheet("01_neuron"))
    assert [q for q, _ in cells] == ["q1", "q2", "q3", "q4"] and len(notes) == 4


def test_numerical_gradient_for_students():
    from nngrade import numerical_gradient
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda v: float(np.sum(v ** 3)), x.copy())
    assert np.allclose(g, 3 * x ** 2, rtol=1e-6)
