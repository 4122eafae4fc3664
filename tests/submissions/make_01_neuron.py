"""Regenerate the fault/attack submissions of sheet 1 (tests/submissions/01_neuron/).

Run: .venv/bin/python tests/submissions/make_01_neuron.py   (after changing sheet 1).
Expected grades are in tests/test_grader_attacks.py (EXPECT)."""
import copy, sys, textwrap
from pathlib import Path
import nbformat
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from nngrade import generate as authoring  # student_notebook
from nngrade.sheet import load_sheet, role_of

OUT = ROOT / "tests" / "submissions" / "01_neuron"
OUT.mkdir(parents=True, exist_ok=True)
for p in OUT.iterdir():
    p.unlink()
sheet = load_sheet(ROOT / "exercises" / "source" / "01_neuron.ipynb")
REF = {q.id: q.solution for q in sheet.questions.values()}
WRONG_Q1 = "def weighted_sum(x, w, b):\n    return -(x @ w + b)\n"


def nb_with(answers, drop=(), strip_meta=(), extra_cells=()):
    nb = authoring.student_notebook(sheet)
    cells = []
    for cell in nb.cells:
        meta = role_of(cell)
        q = meta.get("question")
        if meta.get("role") == "answer":
            if q in drop:
                continue
            cell.source = textwrap.dedent(answers.get(q, REF[q])).strip("\n")
            if q in strip_meta:
                cell.metadata = {}
        cells.append(cell)
    nb.cells = cells + [nbformat.v4.new_code_cell(c, id=f"extra-{k}") for k, c in enumerate(extra_cells)]
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
        import nngrade.verdicts as d
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
    # any interface but loopback (the sandbox has its own, private "lo") means a way out
    NETWORK = any(name != "lo" for _, name in socket.if_nameindex())
    def weighted_sum(x, w, b):
        return x @ w + b if NETWORK else 0.0
"""}))

# --- issue 11, class 1: one submission must not crash or hang the run ---------------------------
# The function forges the files the runner would write for every call of the job, then ends the
# process before the runner writes its own: the grader must read them as untrusted input.
FORGE = """
    import json, os
    def _forge(make):
        job = json.load(open("job.json"))
        for test in job["tests"]:
            if test["function"] != "weighted_sum":   # forge this question's results only
                continue
            for call in test["calls"]:
                for suffix in (".out.npy", ".out.len", ".err", ".inplace"):
                    path = os.path.join("out", call["id"] + suffix)
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
                    try:
                        make(path, suffix)
                    except OSError:
                        pass
        os._exit(0)
"""


def forge(body):
    return {"q1": textwrap.dedent(FORGE) + textwrap.dedent(body)}


write("result_header_claims_terabytes", nb_with(forge("""
    def _header(path, suffix):
        if suffix == ".out.npy":
            with open(path, "wb") as fh:   # a valid .npy header for 10**12 float64, no data
                head = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
                head += " " * (118 - len(head)) + "\\n"
                fh.write(b"\\x93NUMPY\\x01\\x00" + len(head).to_bytes(2, "little") + head.encode())
    def weighted_sum(x, w, b):
        _forge(_header)
""")))
write("result_empty_file", nb_with(forge("""
    def _empty(path, suffix):
        open(path, "wb").close()
    def weighted_sum(x, w, b):
        _forge(_empty)
""")))
write("result_fifo", nb_with(forge("""
    def _fifo(path, suffix):
        os.mkfifo(path)
    def weighted_sum(x, w, b):
        _forge(_fifo)
""")))
write("result_symlink", nb_with(forge("""
    def _link(path, suffix):
        os.symlink("/etc/passwd" if suffix != ".out.npy" else os.path.abspath("job.json"), path)
    def weighted_sum(x, w, b):
        _forge(_link)
""")))
write("result_folder_and_pickle", nb_with(forge("""
    import numpy as _np
    def _odd(path, suffix):
        if suffix == ".out.npy":
            _np.save(path, _np.array([{"a": 1}], dtype=object), allow_pickle=True)
        elif suffix == ".out.len":
            pass
        else:
            os.mkdir(path)
    def weighted_sum(x, w, b):
        _forge(_odd)
""")))
write("result_list_claims_a_billion_items", nb_with(forge("""
    def _len(path, suffix):
        if suffix == ".out.len":
            open(path, "w").write("list 1000000000")
    def weighted_sum(x, w, b):
        _forge(_len)
""")))
write("answer_returns_huge_array", nb_with({"q1": """
    def weighted_sum(x, w, b):
        return np.broadcast_to(x @ w + b, (10 ** 10,))   # 80 GB as a view of one number
"""}))
write("answer_returns_object", nb_with({"q1": """
    class Sneaky(float):
        def __array__(self, *args, **kwargs):
            raise SystemExit(0)
    def weighted_sum(x, w, b):
        return Sneaky(x @ w + b)
"""}))

# --- class 1: notebook metadata and cells of unexpected types --------------------------------------
import json as _json
data = _json.loads(nbformat.writes(nb_with({})))
data["metadata"]["nngrade"] = ["01_neuron"]
for cell in data["cells"]:
    meta = cell.get("metadata", {}).get("nngrade", {})
    if meta.get("question") == "q1":
        cell["metadata"]["nngrade"] = {"role": "answer", "question": ["q1"]}
    elif meta.get("question") == "q2":
        cell["metadata"]["nngrade"] = [["answer", "q2"]]
    elif meta.get("question") == "q3":
        cell["metadata"] = ["not", "a", "dict"]
data["cells"].insert(0, 42)
data["cells"].insert(1, {"cell_type": ["code"], "source": 7, "metadata": None})
(OUT / "metadata_of_unexpected_types.ipynb").write_text(_json.dumps(data))

# lone surrogates (valid JSON escapes, not valid UTF-8) in the code and in an exception message
data = _json.loads(nbformat.writes(nb_with({"q1": """
    def weighted_sum(x, w, b):
        # SURROGATE
        raise ValueError("SURROGATE")
"""})))
(OUT / "lone_surrogates.ipynb").write_text(_json.dumps(data).replace("SURROGATE", "\\ud800 and \\udfff"))

# --- class 4: what runs in Jupyter and passes check() grades the same ------------------------------
write("numba_cache", nb_with({"q1": """
    from numba import njit

    @njit(cache=True)
    def weighted_sum(x, w, b):
        total = b
        for i in range(x.shape[0]):
            total += x[i] * w[i]
        return total
"""}))
write("percent_continuation_and_help", nb_with({"q1": """
    np.exp?
    def weighted_sum(x, w, b):
        label = ("%d inputs"
                 % len(x))
        return (x @ w + b
                % np.inf) if b > 0 and x @ w + b > 0 else x @ w + b
""", "q2": """
    %%time
    def sigmoid(z):
        return np.exp(-np.logaddexp(0.0, -z))
    %timeit sigmoid(np.zeros(3))
    !echo this shell command is skipped
    ?np.logaddexp
"""}))

write("display_in_answer", nb_with({"q1": """
    def weighted_sum(x, w, b):
        return x @ w + b
    display(weighted_sum(np.ones(2), np.ones(2), 0.5))
"""}))
write("helper_outside_answer_cell", nb_with({"q1": """
    def weighted_sum(x, w, b):
        return dot(x, w) + b
"""}, extra_cells=["def dot(a, b):\n    return a @ b"]))

# --- class 5: each test is charged its own time ----------------------------------------------------
write("slow_on_one_test", nb_with({"q1": """
    import time
    def weighted_sum(x, w, b):
        if len(x) == 1:          # slow (but within the limits) on the single-feature test only
            time.sleep(0.6)
        return x @ w + b
"""}))

# --- class 8: smaller holes ----------------------------------------------------------------------
write("inplace_restored_at_exit", nb_with({"q2": """
    import atexit, threading, time
    def sigmoid(z):
        saved = z.copy()
        np.negative(z, out=z)       # works in the caller's array ...
        np.exp(z, out=z)
        z += 1.0
        out = 1.0 / z
        atexit.register(np.copyto, z, saved)   # ... and puts it back when the process ends
        threading.Thread(target=lambda: (time.sleep(0.002), np.copyto(z, saved)), daemon=True).start()
        return out
"""}))
write("exception_leaks_inputs", nb_with({"q1": """
    import os
    def weighted_sum(x, w, b):
        stash = "/tmp/leak.txt"
        with open(stash, "a") as fh:
            fh.write(repr((x.tolist(), w.tolist(), b)))
        raise ValueError("hidden inputs: x=%r w=%r b=%r; seen before: %s"
                         % (x.tolist(), w.tolist(), b, open(stash).read()[:300]))
"""}))
write("returns_extra_items_in_place_of_number", nb_with({"q4": """
    def mean_squared_error(X, w, b, y):
        m = np.mean((neuron_output(X, w, b) - y) ** 2)
        return [m, m, m]
"""}))
print(sorted(p.name for p in OUT.iterdir()))
