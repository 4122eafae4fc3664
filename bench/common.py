"""Shared pieces of the benchmark workers: the problem spec, flat-parameter layout, the shuffle order,
an independent NumPy evaluation, timing and the environment report.

A *spec* is a dict: ``sizes`` (layer widths), ``hidden``, ``output`` (activation names), ``loss``
("mse" or "cross_entropy"), ``lr``, ``momentum``, ``batch`` (rows per step), ``epochs``.
Parameters travel between contenders as one flat float64 vector in nnlib's layout:
W_1 (n_0, n_1) row-major, b_1, W_2, b_2, ... (``Z = X @ W + b``).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np


# ----------------------------------------------------------------------------- parameters
def unflatten(flat: np.ndarray, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W_l, b_l)] as views into ``flat`` (nnlib's layout)."""
    out, o = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        out.append((flat[o:o + n_in * n_out].reshape(n_in, n_out),
                    flat[o + n_in * n_out:o + n_in * n_out + n_out]))
        o += n_in * n_out + n_out
    return out


def initial_params(spec: dict, seed: int = 0) -> np.ndarray:
    """The shared initial weights: those of ``nnlib.MLP(sizes, hidden, output, seed=seed)``."""
    import nnlib
    net = nnlib.MLP(spec["sizes"], hidden=spec["hidden"], output=spec["output"], seed=seed)
    return net.params.copy()


def shuffle_order(N: int, epochs: int, batch: int, seed: int) -> np.ndarray:
    """(epochs, N) int64 row orders, exactly those ``nnlib.fit(..., shuffle=True, seed=seed)`` uses
    (one ``Generator.permuted`` call over a tile of ``arange(N)``; no shuffle for a full batch)."""
    perms = np.tile(np.arange(N, dtype=np.int64), (epochs, 1))
    if batch < N:
        assert epochs * N <= 2_000_000, "nnlib draws the order in chunks beyond this size"
        perms = np.ascontiguousarray(np.random.default_rng(seed).permuted(perms, axis=1))
    return perms


# ----------------------------------------------------------------------------- evaluation
def _act(name: str, Z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(Z)
    if name == "sigmoid":
        return 0.5 * (np.tanh(0.5 * Z) + 1.0)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "identity":
        return Z
    raise ValueError(name)


def evaluate(flat: np.ndarray, spec: dict, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """(mean loss, accuracy) of the parameters ``flat`` on (X, one-hot or 0/1 Y), in plain NumPy,
    the same for every contender."""
    layers = unflatten(np.asarray(flat, dtype=np.float64), spec["sizes"])
    A = X
    for i, (W, b) in enumerate(layers):
        Z = A @ W + b
        A = _act(spec["hidden"], Z) if i < len(layers) - 1 else Z
    if spec["loss"] == "cross_entropy":
        m = A.max(axis=1, keepdims=True)
        logp = A - m - np.log(np.exp(A - m).sum(axis=1, keepdims=True))
        loss = float(-(Y * logp).sum() / X.shape[0])
        acc = float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))
    else:
        P = _act(spec["output"], A)
        loss = float(np.mean((P - Y) ** 2))
        acc = float(np.mean((P > 0.5) == (Y > 0.5)))
    return loss, acc


def gemm_flops(sizes: list[int], n: int) -> float:
    """Floating-point operations of the matrix products of one training pass over n rows:
    forward X W (2 n n_in n_out per layer), dW = A^T delta (same), dX = delta W^T (all but layer 1)."""
    f = 0.0
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        f += 2 * 2.0 * n * a * b + (2.0 * n * a * b if l > 0 else 0.0)
    return f


def gemm_only_epoch_s(sizes: list[int], N: int, batch: int, repeats: int,
                      dtype: str = "float64", cpu: bool = False) -> float:
    """Seconds per epoch of the matrix products alone (NumPy ``matmul(..., out=)``, the same shapes
    and count as one epoch of training, in ``dtype``), the best of ``repeats``: a floor under any
    implementation that calls BLAS. ``cpu``: CPU time of the process instead of wall-clock time
    (less disturbed by other programs on a busy machine)."""
    clock = time.process_time if cpu else time.perf_counter
    rng = np.random.default_rng(0)
    W = [rng.random((a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    A0 = rng.random((batch, sizes[0])).astype(dtype)
    Z = [np.empty((batch, b), dtype) for b in sizes[1:]]
    dW = [np.empty_like(w) for w in W]
    steps = -(-N // batch)
    times = []
    for _ in range(repeats):
        t = clock()
        for _ in range(steps):
            A = A0
            for l in range(len(W)):
                np.matmul(A, W[l], out=Z[l])
                A = Z[l]
            for l in range(len(W) - 1, -1, -1):
                np.matmul((Z[l - 1] if l else A0).T, Z[l], out=dW[l])
                if l:
                    np.matmul(Z[l], W[l].T, out=Z[l - 1])
        times.append(clock() - t)
    return min(times)


# ----------------------------------------------------------------------------- timing
def median_times(runs: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    """Time ``obj.run()`` of each contender ``repeats`` times, interleaved (round robin), so that a
    change of machine load hits every contender alike; ``obj.prepare()`` (reset to the initial
    weights) runs before each, untimed. Returns the lists of seconds per contender: wall-clock
    under ``name``, CPU time of the process under ``name + ":cpu"``."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for name in runs:
        times[name + ":cpu"] = []
    for _ in range(repeats):
        for name, obj in runs.items():
            obj.prepare()
            c, t = time.process_time(), time.perf_counter()
            obj.run()
            times[name].append(time.perf_counter() - t)
            times[name + ":cpu"].append(time.process_time() - c)
    return times


def summarise(seconds: list[float]) -> dict:
    return {"median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "repeats": len(seconds)}


# ----------------------------------------------------------------------------- environment
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR")


def blas_info() -> list[dict]:
    """The BLAS/OpenMP libraries loaded in this process (threadpoolctl), compactly."""
    from threadpoolctl import threadpool_info
    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer",
            "num_threads", "prefix")
    out = []
    for d in threadpool_info():
        row = {k: d.get(k) for k in keep if d.get(k) is not None}
        row["file"] = os.path.basename(d.get("filepath", ""))
        out.append(row)
    return out


def environment() -> dict:
    import numba
    import numpy
    import scipy
    env = {"python": platform.python_version(), "numpy": numpy.__version__,
           "numba": numba.__version__, "scipy": scipy.__version__,
           "machine": platform.machine(), "cpu": _cpu_name(), "cores": os.cpu_count(),
           "env": {k: os.environ.get(k) for k in THREAD_VARS if os.environ.get(k) is not None},
           "blas": blas_info()}
    for mod in ("torch", "sklearn"):
        m = sys.modules.get(mod)
        if m is not None:
            env[mod] = m.__version__
    return env


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def try_import_torch():
    """(torch module, None) or (None, reason it is skipped)."""
    try:
        import torch
    except ImportError as exc:
        return None, f"PyTorch not installed ({exc}); pip install torch==2.13.0 to add it"
    return torch, None


# ----------------------------------------------------------------------------- worker entry
def worker_main(run: Callable[[bool, int], dict], preload: tuple[str, ...] = ()) -> None:
    """``python -m bench.<workload> --out FILE [--smoke] [--threads N]``: run and write JSON.

    The driver also sets OMP/OPENBLAS/MKL_NUM_THREADS before the process starts; here the libraries
    are loaded first (``preload``, scipy's BLAS that Numba calls, torch) and then limited with
    threadpoolctl, which only reaches libraries already loaded."""
    import argparse
    import importlib
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    for name in ("scipy.linalg",) + tuple(preload):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if name == "torch":
            mod.set_num_threads(a.threads)
    from threadpoolctl import threadpool_limits
    limiter = threadpool_limits(limits=a.threads)
    result = run(a.smoke, a.threads)
    limiter.restore_original_limits()
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
