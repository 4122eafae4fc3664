"""The chapters' stored outputs survive another floating-point summation order.

A reader's machine is not the one that stored the outputs. Another processor takes other SIMD
code paths in NumPy (with AVX-512 or without), and another BLAS kernel sums a matrix product in
another order, with or without fused multiply-adds. Either changes the last bits of computed
numbers, and a chapter that prints a number at a precision where those bits show fails strict
nbval on that machine (issue 10: a fresh clone on another processor).

This test brings such a machine here, by perturbing the summation order without touching
OpenBLAS's core type (the machine sets that):

* every nnlib matrix product goes through BLAS (blocked sums, fused multiply-adds) instead of
  nnlib's small-product loops: ``nnlib.kernels._SMALL = 0``, set in the notebook's kernel by an
  IPython startup file and compiled into a Numba cache of its own (the normal cache is never
  touched, so nothing perturbed leaks into other runs);
* NumPy's AVX-512 loops are switched off (``NPY_DISABLE_CPU_FEATURES``) when the processor has
  them, so exp, log, ... take the code paths of a processor without AVX-512.

It first proves the perturbation real: the same nnlib computations give numbers that differ in
their last bits between the two modes (and agree to 1e-12 relative). Then a chapter re-executed in
the perturbed mode must still pass strict nbval against its stored outputs. ``perturbed_env`` is
also what the survey of every notebook used (see the docstring of ``perturbed_env``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# A chapter with plenty of printed floating-point output that runs in about 25 s.
CHAPTERS = ["chapters/05_forward.ipynb", "chapters/playground.ipynb"]
STARTUP = "import nnlib.kernels as _kernels\n_kernels._SMALL = 0   # every product through BLAS\n"

# nnlib computations whose last bits the perturbation changes: a training run (compiled products)
# and 2000 binary cross-entropies of 10 values each (NumPy's log and log1p; here about 3% of them
# change in their last bit).
PROBE = r"""
import json, sys
import numpy as np
import nnlib
X, y = nnlib.datasets.xor()
net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
h = net.fit(X, y, loss="mse", lr=0.5, epochs=200)
rng = np.random.default_rng(0)
p, t = rng.uniform(0.01, 0.99, (2000, 10)), rng.integers(0, 2, (2000, 10)).astype(float)
json.dump({"compiled": net.params.tolist() + [h.loss[-1]],
           "numpy": [nnlib.losses.binary_cross_entropy(p[i], t[i]) for i in range(len(p))]},
          sys.stdout)
"""


def _avx512_features() -> list[str]:
    from numpy._core._multiarray_umath import __cpu_features__
    return [name for name, present in __cpu_features__.items()
            if present and (name.startswith("AVX512") or name == "X86_V4")]


def perturbed_env(tmp: Path) -> dict[str, str]:
    """The environment of the perturbed mode (for a notebook kernel: its IPython startup runs
    ``STARTUP``; a plain Python process runs ``STARTUP`` itself, see ``_probe``).

    The survey of every chapter and exercise sheet listed in the issue-10 report ran
    ``pytest --nbval`` over them with this environment.
    """
    startup = tmp / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-perturb.py").write_text(STARTUP)
    (tmp / "numba").mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               IPYTHONDIR=str(tmp / "ipython"), NUMBA_CACHE_DIR=str(tmp / "numba"))
    env.pop("NUMBA_DISABLE_JIT", None)
    env["NNLIB_QUIET_COMPILE"] = "1"     # the empty cache must not add a notice to the outputs
    features = _avx512_features()
    if features:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(features)
    return env


def _probe(env: dict[str, str], perturbed: bool) -> dict[str, list[float]]:
    code = (STARTUP if perturbed else "") + PROBE
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def perturbation(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("perturbed")
    env = perturbed_env(tmp)
    normal = dict(os.environ, PYTHONPATH=env["PYTHONPATH"])
    normal.pop("NUMBA_DISABLE_JIT", None)
    before, after = _probe(normal, perturbed=False), _probe(env, perturbed=True)
    return {"env": env, "before": before, "after": after}


def test_the_perturbation_changes_nnlibs_numbers_in_their_last_bits(perturbation):
    before, after = perturbation["before"], perturbation["after"]
    kinds = ["compiled"] + (["numpy"] if _avx512_features() else [])
    for kind in kinds:
        a, b = np.array(before[kind]), np.array(after[kind])
        assert not np.array_equal(a, b), f"the perturbation left every {kind} number unchanged"
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=kind)


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_chapter_passes_strict_nbval_under_another_summation_order(perturbation, notebook):
    res = subprocess.run([sys.executable, "-m", "pytest", "--nbval", notebook, "-q",
                          "-p", "no:cacheprovider", "--nbval-kernel-name", "python3"],
                         cwd=ROOT, env=perturbation["env"], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, (f"{notebook} fails strict nbval under another summation order:\n"
                                 + res.stdout[-6000:])


# --------------------------------------------------------------------------- the interpreter
@pytest.fixture
def makefile_copy(tmp_path: Path) -> Path:
    """The Makefile alone in an empty folder: no .venv, so make would create one."""
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    return tmp_path


@pytest.mark.parametrize("goal", ["book", "test"])
def test_make_stops_at_once_with_an_unsupported_python(makefile_copy, goal):
    fake = makefile_copy / "python3.10"              # answers like Python 3.10 to any script
    fake.write_text("#!/bin/sh\necho 3.10\n")
    fake.chmod(0o755)
    res = subprocess.run(["make", "--no-print-directory", goal, f"PYTHON={fake}"], cwd=makefile_copy,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert "needs Python 3.11, 3.12 or 3.13" in res.stderr and "is Python 3.10" in res.stderr
    assert f"make {goal} PYTHON=python3.11" in res.stderr
    assert sorted(p.name for p in makefile_copy.iterdir()) == ["Makefile", "python3.10"]  # no .venv


def test_make_accepts_this_python(makefile_copy):
    res = subprocess.run(["make", "--no-print-directory", "python-check", f"PYTHON={sys.executable}"],
                         cwd=makefile_copy, capture_output=True, text=True, timeout=60)
    assert sys.version_info[:2] in [(3, 11), (3, 12), (3, 13)]
    assert res.returncode == 0, res.stderr
    missing = subprocess.run(["make", "--no-print-directory", "python-check", "PYTHON=/nonexistent/python"],
                             cwd=makefile_copy, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "not a working Python" in missing.stderr
