"""Workload 3: MNIST-shaped random data, 60,000 x 784, 784-256-256-10, ReLU, softmax cross-entropy,
SGD with momentum 0.9, batch 128, one epoch (a network big enough for the matrix products to
dominate), and the fraction of the machine's GEMM peak reached.

The inputs are uniform on [0, 1); the labels come from a random linear "teacher",
argmax((x - 1/2) T), so there is something to learn in one epoch. The peak is the speed of a NumPy
matrix product of two 2048 x 2048 matrices in this process, at the same thread count, for float32
and for float64 (the best of 5 products before and 5 after the training runs). The main run
computes in float64 (its float64 fraction is the like-for-like one; its float32 one is at most
about 1/2 by construction); the ``float32`` run trains the same problem with every contender in
float32 (nnlib's ``MLP(..., dtype="float32")``), to be read against the float32 peak.
"""
from __future__ import annotations

import time

import numpy as np

from .common import environment, gemm_flops, initial_params, worker_main
from .harness import compare


def gemm_peak(dtype, n: int = 2048, repeats: int = 5, cpu: bool = False) -> float:
    """FLOP/s of ``A @ B`` for n x n matrices of ``dtype`` (best of ``repeats``: the machine's
    capability, not its load); ``cpu``: timed by the process's CPU time."""
    clock = time.process_time if cpu else time.perf_counter
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    C = A @ B
    best = np.inf
    for _ in range(repeats):
        t = clock()
        np.matmul(A, B, out=C)
        best = min(best, clock() - t)
    return 2.0 * n ** 3 / best


def run(smoke: bool, threads: int) -> dict:
    N = 2048 if smoke else 60_000
    rng = np.random.default_rng(0)
    X = rng.random((N, 784))
    T = rng.standard_normal((784, 10))
    Y = np.eye(10)[np.argmax((X - 0.5) @ T, axis=1)]
    spec = {"sizes": [784, 256, 256, 10], "hidden": "relu", "output": "softmax",
            "loss": "cross_entropy", "lr": 0.01, "momentum": 0.9, "batch": 128, "epochs": 1}
    n = 512 if smoke else 2048
    peak32, peak64 = gemm_peak(np.float32, n), gemm_peak(np.float64, n)
    cpu32, cpu64 = gemm_peak(np.float32, n, cpu=True), gemm_peak(np.float64, n, cpu=True)
    params0 = initial_params(spec, seed=0)
    res = compare(spec, X, Y, params0, repeats=2 if smoke else 5)
    spec32 = {**spec, "dtype": "float32"}
    res["float32"] = compare(spec32, X.astype(np.float32), Y.astype(np.float32), params0,
                             repeats=2 if smoke else 5, names=("nnlib", "numpy", "torch"))
    # measured again after the training runs; the best of both (the machine may be shared)
    peak32, peak64 = max(peak32, gemm_peak(np.float32, n)), max(peak64, gemm_peak(np.float64, n))
    cpu32 = max(cpu32, gemm_peak(np.float32, n, cpu=True))
    cpu64 = max(cpu64, gemm_peak(np.float64, n, cpu=True))
    flops = gemm_flops(spec["sizes"], N)
    for r in list(res["contenders"].values()) + list(res["float32"]["contenders"].values()):
        r["gflops"] = flops / r["time"]["median_s"] / 1e9
        r["peak_fraction_f32"] = r["gflops"] * 1e9 / peak32
        r["peak_fraction_f64"] = r["gflops"] * 1e9 / peak64
        # the same from the process's CPU time (on a shared machine, wall-clock time also counts
        # the time other programs held the core)
        r["peak_fraction_f32_cpu"] = flops / r["cpu_epoch_s"] / cpu32
        r["peak_fraction_f64_cpu"] = flops / r["cpu_epoch_s"] / cpu64
    res["gemm_flops_per_epoch"] = flops
    res["peak_gflops"] = {"float32": peak32 / 1e9, "float64": peak64 / 1e9, "n": n,
                          "float32_cpu": cpu32 / 1e9, "float64_cpu": cpu64 / 1e9}
    res["environment"] = environment()
    return res


if __name__ == "__main__":
    worker_main(run, preload=("torch", "sklearn.neural_network"))
