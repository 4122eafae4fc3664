"""The sheet model: a source notebook parsed into questions, tests and markers (trusted input).

A source notebook (``exercises/source/NN_name.ipynb``) marks its cells with cell metadata
``{"nngrade": {"role": ...}}``:

* ``setup``    instructor code run before the answers (student notebook, reference, sandbox);
* ``answer``   ``{"question": "q1"}``: the reference answer; the lines between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become a stub that raises NotImplementedError;
* ``tests``    ``{"question": "q1"}``: defines ``function``, ``chapter``, ``section`` and
  ``tests = [public(...), hidden(...)]`` (optionally ``rtol``, ``atol``); never shown to students;
* ``wrong``    ``{"question": "q1", "expect": "sign"}``: a typical wrong answer and the verdict
  kind (see :data:`nngrade.verdicts.KINDS`) it must produce; never shown to students;
* ``instructor``: notes left out of the student notebook.

Cells without a role are copied unchanged. See nngrade/AUTHORING.md for the full guide; the
student notebook and public data are made by :mod:`nngrade.generate`.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from .verdicts import KINDS

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
ROLES = {"setup", "answer", "tests", "wrong", "instructor"}
ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "exercises" / "source"
STUDENT_DIR = ROOT / "exercises"
PUBLIC_DIR = Path(__file__).resolve().parent / "public"


class AuthoringError(ValueError):
    """A source notebook is malformed; the message says where and how to fix it."""


@dataclass
class Test:
    """One test. Public tests have fixed arguments and no points (feedback only); hidden tests
    draw ``cases`` argument sets from a random generator and earn ``points`` if all cases pass."""

    name: str
    points: float
    public: bool
    args: dict[str, Any] | None = None
    make: Callable[[np.random.Generator], dict[str, Any]] | None = None
    cases: int = 1


def public(name: str, **args: Any) -> Test:
    """A public test: ``check`` shows it to the student; it earns no points."""
    return Test(name=name, points=0.0, public=True, args=args)


def hidden(name: str, points: float, make: Callable[[np.random.Generator], dict[str, Any]],
           cases: int = 5) -> Test:
    """A hidden test worth ``points``: ``make(rng)`` returns the arguments of one case."""
    if points <= 0:
        raise AuthoringError(f"hidden test {name!r}: points must be positive")
    if not isinstance(cases, int) or cases < 1:
        raise AuthoringError(f"hidden test {name!r}: cases must be a positive integer")
    return Test(name=name, points=float(points), public=False, make=make, cases=cases)


@dataclass
class Question:
    """A graded question: one function the student writes, and its tests."""

    id: str
    function: str
    chapter: str
    section: str
    tests: list[Test]
    solution: str
    stub: str
    secret: list[str] = field(default_factory=list)
    rtol: float = 1e-7
    atol: float = 1e-9

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)


@dataclass
class WrongAnswer:
    question: str
    expect: str
    code: str
    index: int


@dataclass
class Sheet:
    name: str
    path: Path
    nb: Any
    setup: str
    questions: dict[str, Question] = field(default_factory=dict)
    wrong: list[WrongAnswer] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions.values())


def role_of(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nngrade")
    return dict(meta) if isinstance(meta, dict) else {}


def split_markers(code: str, where: str, qid: str) -> tuple[str, str, list[str]]:
    """Return (solution, stub, secret blocks) for an answer cell; refuse unbalanced or nested
    markers. The secret blocks are the code between the markers (never shown to students)."""
    solution: list[str] = []
    secret: list[list[str]] = []
    stub: list[str] = []
    inside_since: int | None = None
    pairs = 0
    for n, line in enumerate(code.splitlines(), start=1):
        text = line.strip()
        if text.startswith("###") and ("BEGIN" in text or "END" in text) and text not in (BEGIN, END):
            raise AuthoringError(f"{where} line {n}: {text!r} looks like a marker but is not "
                                 f"exactly {BEGIN!r} or {END!r}")
        if text == BEGIN:
            if inside_since is not None:
                raise AuthoringError(f"{where} line {n}: {BEGIN!r} inside the solution opened at "
                                     f"line {inside_since} (markers cannot nest)")
            inside_since = n
            secret.append([])
            indent = line[: len(line) - len(line.lstrip())]
            stub += [f"{indent}# YOUR CODE HERE",
                     f'{indent}raise NotImplementedError("{qid}: replace this line with your answer")']
        elif text == END:
            if inside_since is None:
                raise AuthoringError(f"{where} line {n}: {END!r} without a {BEGIN!r} before it")
            if inside_since == n - 1:
                raise AuthoringError(f"{where} line {n}: empty solution between the markers")
            inside_since = None
            pairs += 1
        else:
            solution.append(line)
            if inside_since is None:
                stub.append(line)
            else:
                secret[-1].append(line)
    if inside_since is not None:
        raise AuthoringError(f"{where} line {inside_since}: {BEGIN!r} has no matching {END!r}")
    if pairs == 0:
        raise AuthoringError(f"{where}: an answer cell needs {BEGIN!r} ... {END!r} markers")
    return "\n".join(solution), "\n".join(stub), ["\n".join(b) for b in secret]


def defined_functions(code: str) -> set[str]:
    """Names of the functions a cell defines at top level (empty if it does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def load_sheet(path: str | Path) -> Sheet:
    """Read and validate a source notebook (runs its setup and tests cells, which are trusted)."""
    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise AuthoringError(f"{path}: not a readable notebook ({exc})") from exc
    sheet = Sheet(name=path.stem, path=path, nb=nb, setup="")
    answers: dict[str, tuple[str, str, list[str], int]] = {}
    tests_cells: dict[str, tuple[str, int]] = {}
    setup: list[str] = []
    for i, cell in enumerate(nb.cells):
        meta = role_of(cell)
        role = meta.get("role")
        where = f"{path.name} cell {i}"
        src = cell.source
        if role is None:
            if BEGIN in src or END in src:
                raise AuthoringError(f"{where}: solution markers outside an answer cell "
                                     f"(add metadata nngrade.role = 'answer')")
            continue
        if role not in ROLES:
            raise AuthoringError(f"{where}: unknown nngrade role {role!r} (one of {sorted(ROLES)})")
        if cell.cell_type != "code" and role != "instructor":
            raise AuthoringError(f"{where}: a {role!r} cell must be a code cell")
        qid = meta.get("question")
        if role in ("answer", "tests", "wrong") and not (isinstance(qid, str)
                                                         and re.fullmatch(r"q\d+", qid)):
            raise AuthoringError(f"{where}: {role} cell needs metadata nngrade.question like 'q1'")
        if role != "answer" and (BEGIN in src or END in src):
            raise AuthoringError(f"{where}: solution markers in a {role!r} cell")
        if role == "setup":
            setup.append(src)
        elif role == "answer":
            if qid in answers:
                raise AuthoringError(f"{where}: a second answer cell for {qid}")
            solution, stub, secret = split_markers(src, where, qid)
            for label, code in (("solution", solution), ("stub", stub)):
                try:
                    ast.parse(code)
                except SyntaxError as exc:
                    raise AuthoringError(f"{where}: the {label} is not valid Python: {exc}") from exc
            answers[qid] = (solution, stub, secret, i)
        elif role == "tests":
            if qid in tests_cells:
                raise AuthoringError(f"{where}: a second tests cell for {qid}")
            tests_cells[qid] = (src, i)
        elif role == "wrong":
            expect = meta.get("expect")
            if expect not in data_kinds():
                raise AuthoringError(f"{where}: wrong answer needs nngrade.expect, one of "
                                     f"{sorted(data_kinds())}")
            sheet.wrong.append(WrongAnswer(qid, expect, src, i))
    sheet.setup = "\n\n".join(setup)
    if not answers:
        raise AuthoringError(f"{path.name}: no answer cells")
    for qid in set(tests_cells) - set(answers):
        raise AuthoringError(f"{path.name}: tests for {qid} but no answer cell")
    for w in sheet.wrong:
        if w.question not in answers:
            raise AuthoringError(f"{path.name} cell {w.index}: wrong answer for unknown {w.question}")
    for qid, (_, _, _, i) in answers.items():
        if qid not in tests_cells:
            raise AuthoringError(f"{path.name} cell {i}: answer {qid} has no tests cell")
    # tests cells share one namespace, in notebook order (helpers defined once can be reused)
    shared = _run(sheet.setup, {}, f"{path.name} setup")
    shared.update(np=np, public=public, hidden=hidden)
    declared: dict[str, dict[str, Any]] = {}
    for qid, (src, j) in sorted(tests_cells.items(), key=lambda kv: kv[1][1]):
        for var in ("function", "chapter", "section", "tests", "rtol", "atol"):
            shared.pop(var, None)
        ns = _run(src, shared, f"{path.name} cell {j} (tests for {qid})")
        declared[qid] = {k: ns[k] for k in ("function", "chapter", "section", "tests", "rtol",
                                            "atol") if k in ns}
    for qid, (solution, stub, secret, i) in answers.items():
        src, j = tests_cells[qid]
        ns = declared[qid]
        for var in ("function", "chapter", "section", "tests"):
            if var not in ns:
                raise AuthoringError(f"{path.name} cell {j}: the tests cell must define {var!r}")
        tests = ns["tests"]
        if not any(t.public for t in tests) or not any(not t.public for t in tests):
            raise AuthoringError(f"{path.name} cell {j}: {qid} needs public and hidden tests")
        if len({(t.public, t.name) for t in tests}) != len(tests):
            raise AuthoringError(f"{path.name} cell {j}: test names must be unique "
                                 f"(among public tests, and among hidden tests)")
        if ns["function"] not in defined_functions(solution):
            raise AuthoringError(f"{path.name} cell {i}: the answer cell does not define "
                                 f"{ns['function']!r} at top level")
        for w in sheet.wrong:
            if w.question == qid and ns["function"] not in defined_functions(w.code):
                raise AuthoringError(f"{path.name} cell {w.index}: the wrong answer does not "
                                     f"define {ns['function']!r}")
        sheet.questions[qid] = Question(qid, ns["function"], ns["chapter"], ns["section"], tests,
                                        solution, stub, secret, float(ns.get("rtol", 1e-7)),
                                        float(ns.get("atol", 1e-9)))
    sheet.questions = dict(sorted(sheet.questions.items(), key=lambda kv: int(kv[0][1:])))
    return sheet


def data_kinds() -> set[str]:
    return set(KINDS) - {"pass"}


def _run(code: str, ns: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        exec(compile(code, f"<{where}>", "exec"), ns)
    except AuthoringError:
        raise
    except Exception as exc:
        raise AuthoringError(f"{where} raised {type(exc).__name__}: {exc}") from exc
    return ns


def reference(sheet: Sheet) -> dict[str, Any]:
    """A namespace with the setup and every reference answer defined (grader process only)."""
    ns: dict[str, Any] = {"__name__": "__nngrade_reference__"}
    _run(sheet.setup, ns, f"{sheet.name} setup")
    for q in sheet.questions.values():
        _run(q.solution, ns, f"{sheet.name} {q.id} solution")
    return ns


def hidden_cases(sheet: Sheet, seed: int) -> dict[str, list[tuple[Test, list[dict[str, Any]]]]]:
    """The hidden tests' arguments for one grading run, drawn from the run's secret seed."""
    out: dict[str, list[tuple[Test, list[dict[str, Any]]]]] = {}
    for qi, q in enumerate(sheet.questions.values()):
        rows = []
        for ti, t in enumerate(q.tests):
            if t.public:
                continue
            rng = np.random.default_rng([seed, qi, ti])
            rows.append((t, [t.make(rng) for _ in range(t.cases)]))
        out[q.id] = rows
    return out


def all_sources(source_dir: Path = SOURCE_DIR) -> list[Path]:
    return sorted(source_dir.glob("[0-9][0-9]_*.ipynb"))
