"""Workload 1: XOR, 2-4-1, tanh hidden, sigmoid output, mean squared error, full batch, plain
gradient descent, 10,000 epochs (the smallest network: measures per-epoch overhead), and the
stripped kernels of :mod:`bench.xor_limit` that bound it from below."""
from __future__ import annotations

from .common import environment, initial_params, worker_main
from .harness import compare


def run(smoke: bool, threads: int) -> dict:
    import nnlib
    X, Y = nnlib.datasets.xor()
    spec = {"sizes": [2, 4, 1], "hidden": "tanh", "output": "sigmoid", "loss": "mse", "lr": 0.5,
            "momentum": 0.0, "batch": 4, "epochs": 200 if smoke else 10_000}
    res = compare(spec, X, Y, initial_params(spec, seed=0), repeats=2 if smoke else 5,
                  names=("nnlib", "numpy", "torch"), gemm_floor=False)
    res["skipped"]["sklearn"] = ("MLPClassifier trains with log-loss, not the mean squared error "
                                 "of a sigmoid output")
    res["nnlib_epoch_us"] = res["contenders"]["nnlib"]["epoch_s"] * 1e6
    res["nnlib_cpu_epoch_us"] = res["contenders"]["nnlib"]["cpu_epoch_s"] * 1e6
    from .xor_limit import limits
    res["limit"] = limits(X, Y, res["spec"], repeats=2 if smoke else 5)
    res["environment"] = environment()
    return res


if __name__ == "__main__":
    worker_main(run, preload=("torch",))
