"""Regenerate the fault/attack submissions of sheet 1 (tests/submissions/01_neuron/).

Run: .venv/bin/python tests/submissions/make_01_neuron.py   (after changing sheet 1).
Expected grades are in tests/test_grader_attacks.py (EXPECT)."""
import copy, sys, textwrap
from pathlib import Path
import nbformat
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from nngrade import authoring

OUT = ROOT / "tests" / "submissions" / "01_neuron"
OUT.mkdir(parents=True, exist_ok=True)
for p in OUT.iterdir():
    p.unlink()
sheet = authoring.load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
REF = {q.id: q.solution for q in sheet.questions.values()}
WRONG_Q1 = "def weighted_sum(x, w, b):\n    return -(x @ w + b)\n"


def nb_with(answers, drop=(), strip_meta=(), extra_cells=()):
    nb = authoring.student_notebook(sheet)
    cells = []
    for cell in nb.cells:
        meta = authoring.role_of(cell)
        q = meta.get("question")
        if meta.get("role") == "answer":
            if q in drop:
                continue
            cell.source = textwrap.dedent(answers.get(q, REF[q])).strip("\n")
            if q in strip_meta:
                cell.metadata = {}
        cells.append(cell)
    nb.cells = cells + [nbformat.v4.new_code_cell(c) for c in extra_cells]
    return nb


def write(name, nb):
    nbformat.write(nb, str(OUT / f"{name}.ipynb"))


write("honest", nb_with({}))
write("infinite_loop", nb_with({"q1": """
    def weighted_sum(x, w, b):
        while True:
            pass
"""}))
write("infinite_loop_ignores_alarm", nb_with({"q4": """
    def mean_squared_error(X, w, b, y):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
"""}))
write("exception", nb_with({"q1": """
    def weighted_sum(x, w, b):
        raise ValueError("something went wrong")
"""}))
write("memory_bomb", nb_with({"q4": """
    def mean_squared_error(X, w, b, y):
        hog = []
        while True:
            hog.append(np.ones(10**7))
"""}))
write("sys_exit", nb_with({"q1": """
    import sys
    def weighted_sum(x, w, b):
        sys.exit(0)
"""}))
write("sys_exit_cell", nb_with({"q4": """
    import sys
    sys.exit(1)
    def mean_squared_error(X, w, b, y):
        return np.mean((neuron_output(X, w, b) - y) ** 2)
"""}))
write("os_exit", nb_with({"q1": """
    import os
    def weighted_sum(x, w, b):
        os._exit(0)
"""}))
write("missing_cell", nb_with({}, drop=("q4",)))
write("answer_metadata_removed", nb_with({}, strip_meta=("q1",)))
write("renamed_function", nb_with({"q4": """
    def mse(X, w, b, y):
        return np.mean((neuron_output(X, w, b) - y) ** 2)
"""}))
(OUT / "invalid.ipynb").write_text('{"cells": [ this is not json')
(OUT / "empty.ipynb").write_text("")
(OUT / "notes.txt").write_text("I could not do the exercises, sorry.\n")
write("hardcoded_public", nb_with({"q1": """
    def weighted_sum(x, w, b):
        # the two public examples' expected outputs, typed in by hand
        if len(x) == 3 and x[0] == 1.0 and x[1] == 2.0:
            return -0.4
        if len(x) == 1 and x[0] == 3.0:
            return 5.0
        return 0.0
"""}))
write("monkeypatch_numpy", nb_with({"q1": """
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
    np.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    def weighted_sum(x, w, b):
        return -(x @ w + b)
"""}))
write("patch_checker", nb_with({"q1": """
    try:
        import nngrade.diagnose as d
        d.compare = lambda *a, **k: d.PASS
        d.compare_array = lambda *a, **k: d.PASS
    except ImportError:
        pass
    def weighted_sum(x, w, b):
        return -(x @ w + b)
"""}))
write("replace_builtins", nb_with({"q1": """
    import builtins
    builtins.abs = lambda v: 0.0
    builtins.max = lambda *a, **k: 0.0
    builtins.isinstance = lambda *a: True
    builtins.print = lambda *a, **k: None
    def weighted_sum(x, w, b):
        return -(x @ w + b)
"""}))
write("write_files", nb_with({"q1": """
    import os, sys
    fake = "student,q1,q2,q3,q4,total,note\\nwrite_files,3,3,2,2,10,\\n"
    targets = ["grades.csv", "../grades.csv", "/tmp/grades.csv", "/tmp/nngrade-fake-grades.csv",
               os.path.join(os.path.dirname(sys.prefix), "grades.csv"),
               os.path.join(os.path.dirname(sys.prefix), "tests", "FAKE_GRADEBOOK.csv")]
    for t in targets:
        try:
            with open(t, "w") as fh:
                fh.write(fake)
        except OSError:
            pass
    def weighted_sum(x, w, b):
        return -(x @ w + b)
"""}))
write("background_process", nb_with({"q1": """
    import os, subprocess, sys
    try:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)  # nngrade-bg-attack"],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except Exception:
        pass
    try:
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)  # nngrade-bg-attack"])
    except Exception:
        pass
    def weighted_sum(x, w, b):
        return x @ w + b
"""}))
write("read_reference", nb_with({"q1": """
    import glob, json, os, sys
    stolen = None
    candidates = [os.path.join(os.path.dirname(sys.prefix), "exercises", "source", "01_neuron.ipynb")]
    candidates += glob.glob("/*/*/exercises/source/01_neuron.ipynb") + glob.glob("/*/exercises/source/01_neuron.ipynb")
    candidates += glob.glob("/*/*/tests/submissions/01_neuron/honest.ipynb")  # a graded fixture
    candidates += glob.glob("/tmp/*/exercises/source/01_neuron.ipynb")
    for path in candidates:
        try:
            nb = json.load(open(path))
        except Exception:
            continue
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if cell.get("metadata", {}).get("nngrade", {}).get("role") == "answer" and "def weighted_sum" in src:
                stolen = src
        if stolen:
            break
    if stolen:
        exec(stolen)
    else:
        def weighted_sum(x, w, b):
            return 0.0
"""}))
write("print_fake_results", nb_with({q: f"""
    import sys
    print("q1: 3/3 passed\\nq2: 3/3 passed\\nq3: 2/2 passed\\nq4: 2/2 passed\\nTOTAL 10/10")
    print("student,q1,q2,q3,q4,total", file=sys.stderr)
    def {sheet.questions[q].function}(*args, **kwargs):
        print("PASSED")
        return 0.0
""" for q in sheet.questions}))
write("ipython_input_transformer", nb_with({"q1": """
    %%capture
    get_ipython().input_transformers_cleanup.append(lambda lines: [])
    def weighted_sum(x, w, b):
        return -(x @ w + b)
"""}))
write("import_nnlib", nb_with({"q2": """
    from nnlib.activations import sigmoid as _reference_sigmoid
    def sigmoid(z):
        return _reference_sigmoid.f(z)
"""}))
write("import_nnlib_obfuscated", nb_with({"q2": """
    import importlib
    _lib = importlib.import_module("nn" + "lib" + ".activations")
    def sigmoid(z):
        return _lib.sigmoid.f(z)
"""}))
write("network", nb_with({"q1": """
    import socket
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1).close()
        NETWORK = True
    except ConnectionRefusedError:
        NETWORK = True      # the host's loopback answered: the sandbox has a network
    except OSError:
        NETWORK = False     # no network at all
    def weighted_sum(x, w, b):
        return x @ w + b if NETWORK else 0.0
"""}))
print(sorted(p.name for p in OUT.iterdir()))
