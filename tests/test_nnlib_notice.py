"""The one-line compile notice (issue 14): printed once per dtype when a kernel is neither compiled
nor cached, never when the cache has it, and silenced by NNLIB_QUIET_COMPILE=1."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTICE = "nnlib: compiling kernels for {} (first use, a few seconds; cached afterwards)"
SCRIPT = ("import nnlib, numpy as np\n"
          "X = np.ones((3, 2))\n"
          "for dtype in {dtypes!r}:\n"
          "    net = nnlib.MLP([2, 3, 1], seed=0, dtype=dtype)\n"
          "    net.forward(X); net.forward(X); net.predict(X)\n")


def _run(cache: Path, dtypes: tuple[str, ...], quiet: bool = False) -> str:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_DISABLE_JIT", None)
    env.pop("NNLIB_QUIET_COMPILE", None)
    if quiet:
        env["NNLIB_QUIET_COMPILE"] = "1"
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(dtypes=dtypes)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing is compiled")
def test_notice_once_per_dtype_only_when_not_cached(tmp_path):
    cold = _run(tmp_path / "a", ("float64",))
    assert cold.count(NOTICE.format("float64")) == 1, cold
    assert _run(tmp_path / "a", ("float64",)) == ""              # cached now: silent
    both = _run(tmp_path / "a", ("float64", "float32"))          # float32 is new
    assert NOTICE.format("float32") in both and "float64" not in both, both
    assert _run(tmp_path / "b", ("float64",), quiet=True) == ""  # silenced


def test_no_notice_and_no_error_without_the_jit(tmp_path, monkeypatch, capsys):
    from nnlib import _notice
    monkeypatch.setattr(_notice, "_checked", set())
    monkeypatch.setattr(_notice, "_announced", set())
    _notice.before_first_call(lambda *a: None, "float64")     # a plain function: nothing to say
    assert capsys.readouterr().err == ""


def test_each_pattern_of_none_is_its_own_compile():
    """fit's kernel has variants ({SGD, Adam} x {no dropout, dropout}, chosen by None arguments):
    a cached SGD variant does not stand for the Adam one."""
    from types import SimpleNamespace

    import numpy as np
    from numba import types

    from nnlib import _notice
    arr = types.Array(types.float64, 1, "C")
    sgd_plain = (arr, types.none, types.none)
    fake = SimpleNamespace(signatures=[sgd_plain], _cache=SimpleNamespace(
        _cache_file=SimpleNamespace(_load_index=lambda: {})))
    state = np.zeros(3)
    assert _notice._has(fake, "float64", (None, None))
    assert not _notice._has(fake, "float64", (state, None))      # Adam: not compiled yet
    assert not _notice._has(fake, "float32", (None, None))
    fake.signatures.append((arr, arr, types.none))
    assert _notice._has(fake, "float64", (state, None))
    assert _notice._has(fake, "float64")                          # no variant asked: any will do
    # a tuple of True/None (kernels.variant) is matched element by element
    fake.signatures.append((arr, types.Tuple((types.boolean, types.none))))
    assert _notice._has(fake, "float64", ((True, None),))
    assert not _notice._has(fake, "float64", ((None, True),))
