"""Unit tests of nngrade: markers, verdicts, the student check, gradebook writing, module map."""
from __future__ import annotations

import textwrap

import nbformat
import numpy as np
import pytest
from grader_helpers import ROOT, sheet

from nngrade import generate, report, student, submission, verdicts
from nngrade import sheet as sheets
from nngrade.results import Submission
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


@pytest.fixture(autouse=True)
def no_progress_recording(monkeypatch):
    """The checks run here never write the reader's ~/.inside-neural-networks/progress.json, even
    when pytest inherits JPY_SESSION_NAME (started from a Jupyter terminal, say)."""
    monkeypatch.setenv(student.PROGRESS_ENV, "off")


def test_checks_here_record_no_progress(monkeypatch, tmp_path):
    monkeypatch.setenv("JPY_SESSION_NAME", "exercises/01_neuron.ipynb")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert student.progress_file() is None
    _, rep = run_check("q1", "def weighted_sum(x, w, b):\n    return x @ w + b")
    assert rep.passed and "not saved" not in repr(rep)
    assert list(tmp_path.iterdir()) == []


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
    sh = sheets.load_sheet(make_source(tmp_path))
    q = sh.questions["q1"]
    assert "raise NotImplementedError" in q.stub and "2 * x" not in q.stub
    assert q.secret == ["    return 2 * x"]
    nb = generate.student_notebook(sh)
    roles = [sheets.role_of(c).get("role") for c in nb.cells]
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
    with pytest.raises(sheets.AuthoringError, match=message) as info:
        sheets.load_sheet(make_source(tmp_path, answer=answer))
    assert "99_demo.ipynb cell 1" in str(info.value)


def test_markers_outside_answer_cells_and_missing_tests_are_refused(tmp_path):
    stray = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(sheets.AuthoringError, match="outside an answer cell"):
        sheets.load_sheet(make_source(tmp_path, extra=[stray]))
    with pytest.raises(sheets.AuthoringError, match="has no tests cell"):
        sheets.load_sheet(make_source(tmp_path, tests=None))
    wrong = nbformat.v4.new_code_cell("def f(x):\n    return x", metadata={
        "nngrade": {"role": "wrong", "question": "q1", "expect": "no-such-kind"}})
    with pytest.raises(sheets.AuthoringError, match="expect"):
        sheets.load_sheet(make_source(tmp_path, extra=[wrong]))
    with pytest.raises(sheets.AuthoringError, match="cases must be a positive integer"):
        sheets.load_sheet(make_source(tmp_path, tests=TESTS.replace("size=3)))", "size=3)), cases=0)")))


def test_out_of_date_is_detected():
    sh = sheets.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    assert generate.out_of_date(sh) == []
    sh.questions["q1"].stub += "\n# edited"
    assert any("cells differ" in p for p in generate.out_of_date(sh))
    sh = sheets.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    sh.questions["q1"].tests[0].args["b"] = 99.0
    assert any(".json differs" in p for p in generate.out_of_date(sh))
    sh = sheets.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
    sh.questions["q1"].tests[0].args["b"] = 0.1 * (1 + 1e-12)   # below the stated tolerance
    assert generate.out_of_date(sh) == []
    sh.questions["q1"].tests[0].args["b"] = 0.1 * (1 + 1e-8)    # above it
    assert any(".json differs" in p for p in generate.out_of_date(sh))


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
    assert verdicts.compare(expected, got).kind == kind


def test_diagnose_batch_factor_and_shape_errors():
    X = np.ones((4, 3))
    v = verdicts.compare(np.array([0.5, 1.5]), np.array([2.0, 6.0]), args={"X": X})
    assert v.kind == "batch" and "N = 4" in v.message
    assert verdicts.compare(np.float64(0.25), 1.0, args={"X": X}).kind == "batch"
    v = verdicts.compare(np.float64(0.25), 0.75, args={"X": X})
    assert v.kind == "values" and "factor" not in v.message  # one number: no factor guessing
    v = verdicts.exception("ValueError", "matmul: Input operand 1 has a mismatch in its core "
                                         "dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?)")
    assert v.kind == "transposed"
    assert verdicts.modified_inputs({"x": np.zeros(2)}, {"x": np.ones(2)}) == ["x"]


def run_check(question, code):
    ns = {"np": np, "check": checker("01_neuron")}
    exec(textwrap.dedent(code), ns)
    exec(f"result = check({question!r})", ns)
    return repr(ns["result"]), ns["result"]


def test_student_check_explains_in_plain_words():
    text, rep = run_check("q1", "def weighted_sum(x, w, b):\n    raise NotImplementedError")
    assert "not implemented yet" in text and "hidden test" in text
    assert 'href="../chapters/02_neuron.html#sec-neuron-weighted-sum"' in rep._repr_html_()
    assert "../chapters/02_neuron.ipynb#Weighted-sum,-then-activation" in text
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
    sub = Submission("=HYPERLINK(1)", tmp_path / "x.ipynb", "-x.ipynb",
                     scores={q: 0.0 for q in sheet("01_neuron").questions})
    text = report.gradebook(sheet("01_neuron"), [sub])
    assert "\n'=HYPERLINK(1),'-x.ipynb," in text
    target = tmp_path / "grades.csv"
    report.atomic_write(target, text)
    assert target.read_text() == text and [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_ipython_syntax_is_translated_as_jupyter_does_and_cells_found_by_function_name():
    code, changed = submission.to_python("np.exp?\nx = (1\n     % 2)\n  \n%timeit x\n!ls\n")
    assert changed and "x = (1\n     % 2)" in code           # a continuation `%` is Python
    assert "run_line_magic('pinfo', 'np.exp')" in code and ".system('ls')" in code
    compile(code, "<cell>", "exec")
    code, changed = submission.to_python("%%time\ndef f(x):\n    return x\n")
    assert changed and code.startswith("\ndef f(x):")              # the body of %%time is the cell
    assert submission.to_python("x = 1\n") == ("x = 1\n", False)
    nb = generate.student_notebook(sheet("01_neuron"))
    for c in nb.cells:
        if sheets.role_of(c).get("role") == "answer":
            c.metadata = {}
    parsed = submission.Notebook([submission.Cell(c.cell_type, c.source) for c in nb.cells], None)
    cells, notes = submission.answer_cells(parsed, sheet("01_neuron"))
    assert [q for q, _ in cells] == ["q1", "q2", "q3", "q4"] and len(notes) == 4


def test_numerical_gradient_for_students():
    from nngrade import numerical_gradient
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda v: float(np.sum(v ** 3)), x.copy())
    assert np.allclose(g, 3 * x ** 2, rtol=1e-6)


def test_float32_results_get_a_precision_message_not_equal_looking_numbers():
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(6, 5)), rng.normal(size=5)
    expected = 1 / (1 + np.exp(-(X @ w + 0.3)))
    got = 1 / (1 + np.exp(-(X.astype(np.float32) @ w.astype(np.float32) + np.float32(0.3))))
    v = verdicts.compare(expected, got)
    assert not v.ok and v.kind == "type" and "float32" in v.message and "float64" in v.message
    v = verdicts.compare(expected, expected * (1 + 3e-7))           # float64, just outside rtol
    e, g = v.message.split("expected ")[1].rstrip(")").split(", got ")
    assert v.kind == "values" and e != g                            # printed with enough digits


def test_batch_factors_are_named_n_nk_or_k():
    rng = np.random.default_rng(2)
    A, Y = rng.uniform(size=(4, 3)), np.zeros((4, 3))
    ref = 2 * (A - Y) / A.size * A * (1 - A)
    assert "N·K = 4·3 = 12" in verdicts.compare(ref, 12 * ref, args=dict(A=A, Y=Y)).message
    v = verdicts.compare(ref, 3 * ref, args=dict(A=A, Y=Y))
    assert v.kind == "batch" and "K = 3 times too large" in v.message and "N = 4" in v.message
    # a weight matrix's dimension is not a batch size: dense_backward-like arguments
    X, W, delta = rng.normal(size=(7, 3)), rng.normal(size=(3, 5)), rng.normal(size=(7, 5))
    assert verdicts.batch_size(dict(A_prev=X, W=W, delta=delta)) == 7
    assert verdicts.batch_size(dict(X=X, W=W)) == 7
    db = delta.sum(axis=0)
    v = verdicts.compare(db, db / 7, args=dict(A_prev=X, W=W, delta=delta))
    assert v.kind == "batch" and "N = 7" in v.message
    v = verdicts.compare(db, db / 3, args=dict(A_prev=X, W=W, delta=delta))
    assert v.kind == "values" and "N = 3" not in v.message


def test_exception_messages_in_grader_feedback_hide_numbers():
    v = verdicts.exception("ValueError", "x=[0.25, -1.5e-3] index 7 in q1", line=4, where="q1",
                           hide_numbers=True)
    assert v.message == "raised ValueError (line 4 of your answer cell for q1): x=[…] index … in q1"
    assert "0.25" in verdicts.exception("ValueError", "x=[0.25]").message   # the student's own check


def test_check_points_at_an_earlier_question_that_fails():
    text, _ = run_check("q3", "def sigmoid(z):\n    return 1/(1+np.exp(z))\n"
                              "def neuron_output(X, w, b):\n    return sigmoid(X @ w + b)")
    assert "calls sigmoid() from q2, which fails its own public tests: fix q2 first" in text
    text, _ = run_check("q3", "def sigmoid(z):\n    return 1/(1+np.exp(-z))\n"
                              "def neuron_output(X, w, b):\n    return sigmoid(X @ w - b)")
    assert "FAIL" in text and "fix q2" not in text


def test_check_link_opens_the_chapter_notebook_in_jupyter(monkeypatch):
    _, rep = run_check("q1", "def weighted_sum(x, w, b):\n    return x @ w + b")
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "exercises" / "01_neuron.ipynb"))
    assert 'href="../chapters/02_neuron.ipynb#Weighted-sum,-then-activation"' in rep._repr_html_()
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert 'href="../chapters/02_neuron.html#sec-neuron-weighted-sum"' in rep._repr_html_()


def test_no_import_circles_between_nngrade_modules():
    """Each module's imports of sibling modules (``from . import x``, ``from .x import y``,
    also inside functions) form a graph without cycles."""
    import ast
    import graphlib

    graph = {}
    for path in (ROOT / "nngrade").glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module} if node.module else {a.name for a in node.names}
        graph[path.stem] = deps - {"__init__"}
    graph.pop("__init__")
    assert {"runner", "protocol", "codec", "verdicts", "sheet", "generate", "submission",
            "results", "grade", "report"} <= set(graph)
    assert graph["runner"] == set()            # runs alone in the sandbox
    assert not any(n in graph for n in ("authoring", "harness", "diagnose", "data"))
    graphlib.TopologicalSorter(graph).static_order()   # raises CycleError on a circle


def test_cli_refuses_a_weaker_sandbox_unless_asked(tmp_path, monkeypatch, capsys):
    from nngrade import cli, sandbox
    def only_limits(require=None):
        if require is not None:
            raise sandbox.IsolationUnavailable(
                "isolation 'namespaces' is not fully available here (best: 'limits'); ask for it "
                "explicitly, e.g. `nngrade grade --isolation limits ...`")
        return "limits"

    monkeypatch.setattr(sandbox, "detect_mode", only_limits)
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a.ipynb").write_text((ROOT / "tests" / "submissions" / "01_neuron" / "honest.ipynb")
                                    .read_text())
    code = cli.main(["grade", str(folder), "-o", str(tmp_path / "g.csv"), "--sheet", "01_neuron"])
    err = capsys.readouterr().err
    assert code == 2 and "--isolation limits" in err and "solutions" in err
    assert not (tmp_path / "g.csv").exists()


@pytest.mark.parametrize("name, total", [("honest", 10.0), ("os_exit", 7.0)])
def test_a_run_that_leaves_nothing_is_run_once_more(monkeypatch, name, total):
    """A sandboxed run that ends with an empty out/ (no result, no error record) and no timeout
    is rerun once: the first run here is made to fail silently, as rare runs did under load in a
    1,000-submission batch. A correct answer then gets its full marks; an answer that really
    exits before writing anything gets the same grade as without the retry."""
    from nngrade import grade, sandbox
    real, calls = sandbox.run, []

    def flaky(work, job, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            (work / "out").mkdir()
            return sandbox.RunResult(False, 1, 0.0)
        return real(work, job, *args, **kwargs)

    monkeypatch.setattr(sandbox, "run", flaky)
    grader = grade.Grader(sheet("01_neuron"), seed=1, limits=sandbox.Limits(timeout=10, call_timeout=3))
    path = ROOT / "tests" / "submissions" / "01_neuron" / f"{name}.ipynb"
    sub = grader.grade_one(name, path.name, path)
    assert sub.total == total
    assert len(calls) >= 2
