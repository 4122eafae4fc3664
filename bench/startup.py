"""Workload 4: start-up costs, each measured in a new Python process.

``import_s``       ``import nnlib`` (Numba itself is imported lazily, on the first computation).
``cold_first_s``   the first ``fit`` (XOR, one epoch) with an empty compile cache: imports Numba and
                   compiles the whole training path (NUMBA_CACHE_DIR points at a fresh directory).
``cold_predict_s`` the first ``predict`` after that (compiles the forward-only entry point).
``warm_first_s``   the first ``fit`` in a new process whose cache that cold run filled (loads
                   the compiled code; includes importing Numba).
``warm_predict_s`` the first ``predict`` after it.
``*_cpu_s``         the CPU time of the same steps (less sensitive to a busy machine).
Medians over several processes (the cold figures over fewer: each needs a fresh cache directory).
In smoke mode the cold figures are None (not measured) and the warm ones use the current cache.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

from .common import environment, worker_main

PROBE = r"""
import json, time
c, t = time.process_time, time.perf_counter
c0, t0 = c(), t()
import nnlib
c1, t1 = c(), t()
X, y = nnlib.datasets.xor()
net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
c2, t2 = c(), t()
net.fit(X, y, loss="mse", lr=0.5, epochs=1)
c3, t3 = c(), t()
net.predict(X)
c4, t4 = c(), t()
print(json.dumps({"import_s": t1 - t0, "first_fit_s": t3 - t2, "first_predict_s": t4 - t3,
                  "import_cpu_s": c1 - c0, "first_fit_cpu_s": c3 - c2}))
"""


def probe(cache_dir: str | None) -> dict:
    """Run PROBE in a new process with NUMBA_CACHE_DIR=cache_dir (None: Numba's default)."""
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    env.pop("NUMBA_CACHE_DIR", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(smoke: bool, threads: int) -> dict:
    med = statistics.median
    if smoke:  # no cold compile (it takes seconds): import and first call from the current cache
        probe(os.environ.get("NUMBA_CACHE_DIR"))  # make sure that cache is filled
        warm = [probe(os.environ.get("NUMBA_CACHE_DIR")) for _ in range(2)]
        cold = []
    else:
        cold, warm = [], []
        for _ in range(3):
            with tempfile.TemporaryDirectory(prefix="nnlib-cache-") as d:
                cold.append(probe(d))
                for _ in range(5 if len(cold) == 1 else 0):
                    warm.append(probe(d))
    cold_or_none = (lambda key: med(r[key] for r in cold)) if cold else (lambda key: None)
    return {"import_s": med(r["import_s"] for r in cold + warm),
            "cold_first_s": cold_or_none("first_fit_s"),
            "cold_predict_s": cold_or_none("first_predict_s"),
            "warm_first_s": med(r["first_fit_s"] for r in warm),
            "warm_predict_s": med(r["first_predict_s"] for r in warm),
            "import_cpu_s": med(r["import_cpu_s"] for r in cold + warm),
            "cold_first_cpu_s": cold_or_none("first_fit_cpu_s"),
            "warm_first_cpu_s": med(r["first_fit_cpu_s"] for r in warm),
            "processes": {"cold": len(cold), "warm": len(warm)},
            "environment": environment()}


if __name__ == "__main__":
    worker_main(run)
